//! The one binary: `bihuan serve`, `migrate`, `user add`, `import …`, `bench …`.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use bihuan::app::{self, Application};
use bihuan::clock::{Clock, SystemClock};
use bihuan::config::{Overrides, Settings};
use bihuan::error::Error;
use bihuan::usecases::auth::parse_new_user;
use bihuan::usecases::{Actor, Services};
use bihuan_domain::access::Role;
use bihuan_domain::regions::RegionCode;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bihuan",
    version,
    about = "闭环: arrivals, triage, grid verification, command"
)]
struct Cli {
    /// sqlite://PATH or postgres://… (also DATABASE_URL)
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web pages and the API.
    Serve {
        #[arg(long)]
        listen: Option<String>,
    },
    /// Create or update the database schema and load the regions.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens for machine clients (the health-code system).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import spreadsheets (.xlsx or .csv).
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Synthetic data for trying the system out.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// An online, consistent backup (SQLite: a checked copy of the file;
    /// PostgreSQL: pg_dump's custom format). The secret key is not in it.
    Backup {
        /// The file to write; it must not exist.
        to: PathBuf,
    },
    /// Restore a backup into the database (stop the server first).
    Restore {
        from: PathBuf,
        /// Overwrite an existing database.
        #[arg(long)]
        replace: bool,
    },
    /// 应急演练: run a scripted drill and print its after-action report.
    Drill {
        #[command(subcommand)]
        command: DrillCommand,
    },
    /// Measure throughput against a fresh database.
    Bench {
        #[command(subcommand)]
        command: bihuan::bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user bound to one region.
    Add {
        name: String,
        /// command, town, village or grid_worker
        #[arg(long)]
        role: String,
        /// The region code the user works in
        #[arg(long)]
        region: String,
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account: its sessions end and it cannot sign in.
    Disable { name: String },
    /// Enable a disabled account again.
    Enable { name: String },
    /// Set a user's password (ends their sessions, clears a lockout).
    Password {
        name: String,
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from standard input
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum DrillCommand {
    /// Inject the script's signals through the real intake paths, play the
    /// scripted front line on the drill's own clock, print the report, then
    /// purge every record the drill made (unless --keep).
    Run {
        /// A drill script (TOML); the seed's scenario when left out.
        #[arg(long)]
        script: Option<PathBuf>,
        /// Copies of each thread, for a drill at a city's scale.
        #[arg(long, default_value_t = 1)]
        copies: usize,
        /// Keep the drill's records (purge later with `bihuan drill purge`).
        #[arg(long)]
        keep: bool,
    },
    /// Remove every record of a drill; its report is kept.
    Purge { id: i64 },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// A resident roll of synthetic people with valid resident IDs, spread over the grids.
    Residents {
        #[arg(long, default_value_t = 970_000)]
        count: usize,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token; it is printed once.
    Add {
        name: String,
        /// health_codes (read the feed), lab_results or checkins (send batches)
        #[arg(long, default_value = "health_codes")]
        scope: String,
        /// Days until the token expires
        #[arg(long, default_value_t = bihuan::usecases::care::TOKEN_DAYS)]
        expires_days: i64,
    },
    /// Revoke a token at once.
    Revoke { name: String },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Replace the grids of the villages in FILE (columns village, grid, name).
    Grids { file: PathBuf },
    /// Add risk areas (columns county, township, subarea, level, since).
    RiskAreas { file: PathBuf },
}

/// A password from `--password` or standard input.
fn read_password(password: Option<String>, stdin: bool) -> anyhow::Result<String> {
    match (password, stdin) {
        (Some(p), _) => Ok(p),
        (None, true) => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            Ok(s.trim_end_matches(['\r', '\n']).to_string())
        }
        (None, false) => anyhow::bail!("give --password or --password-stdin"),
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    let settings = Settings::load(&Overrides {
        listen,
        database_url: cli.database_url.clone(),
    })?;
    match cli.command {
        Command::Serve { .. } => {
            let settings_city = settings.city_code.clone();
            let application = Application::build(settings).await?;
            let services = application.services().clone();
            println!("bihuan listening on http://{}", application.local_addr());
            print_first_login(&services, &settings_city).await?;
            application.run().await
        }
        Command::Migrate => {
            app::services(&settings, Arc::new(SystemClock)).await?;
            println!("database ready");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    name,
                    role,
                    region,
                    password,
                    password_stdin,
                },
        } => {
            let password = read_password(password, password_stdin)?;
            let user = parse_new_user(&name, &role, &region, &password).map_err(Error::from);
            let services = app::services(&settings, Arc::new(SystemClock)).await?;
            let id = services
                .add_user(user.map_err(report)?)
                .await
                .map_err(report)?;
            println!("user {name} added (id {id})");
            Ok(())
        }
        Command::User {
            command: UserCommand::Disable { name },
        } => {
            let services = app::services(&settings, Arc::new(SystemClock)).await?;
            services
                .set_user_disabled(&name, true)
                .await
                .map_err(report)?;
            println!("user {name} disabled; their sessions ended");
            Ok(())
        }
        Command::User {
            command: UserCommand::Enable { name },
        } => {
            let services = app::services(&settings, Arc::new(SystemClock)).await?;
            services
                .set_user_disabled(&name, false)
                .await
                .map_err(report)?;
            println!("user {name} enabled");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Password {
                    name,
                    password,
                    password_stdin,
                },
        } => {
            let password = read_password(password, password_stdin)?;
            let services = app::services(&settings, Arc::new(SystemClock)).await?;
            services
                .set_password(&name, &password)
                .await
                .map_err(report)?;
            println!("password of {name} set; their sessions ended");
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Add {
                    name,
                    scope,
                    expires_days,
                },
        } => {
            let services = app::services(&settings, Arc::new(SystemClock)).await?;
            let token = services
                .add_api_token_for(&name, &scope, expires_days)
                .await
                .map_err(report)?;
            println!(
                "token for {name} ({scope}, expires in {expires_days} days), shown once:\n{token}"
            );
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Revoke { name },
        } => {
            let services = app::services(&settings, Arc::new(SystemClock)).await?;
            services.revoke_api_token(&name).await.map_err(report)?;
            println!("token {name} revoked");
            Ok(())
        }
        Command::Import { command } => {
            let services = app::services(&settings, Arc::new(SystemClock)).await?;
            match command {
                ImportCommand::Grids { file } => {
                    let rows = bihuan::import::grid_rows(&std::fs::read(&file)?)?;
                    let r = services.import_grids(rows).await.map_err(report)?;
                    println!("{} villages, {} grids imported", r.villages, r.grids);
                }
                ImportCommand::RiskAreas { file } => {
                    let rows = bihuan::import::risk_area_rows(&std::fs::read(&file)?)?;
                    let actor = cli_actor(&services, &settings.city_code)?;
                    let r = services
                        .import_risk_areas(&actor, rows)
                        .await
                        .map_err(report)?;
                    for row in r.rows.iter().filter(|r| !r.errors.is_empty()) {
                        for e in &row.errors {
                            println!(
                                "row {}: {}: {} / {}",
                                row.row, e.field, e.message, e.message_en
                            );
                        }
                    }
                    println!(
                        "{} added, {} re-assessed, {} raised",
                        r.added, r.reassessed, r.raised
                    );
                }
            }
            Ok(())
        }
        Command::Demo {
            command: DemoCommand::Residents { count },
        } => {
            let services = app::services(&settings, Arc::new(SystemClock)).await?;
            let started = std::time::Instant::now();
            let n = services.demo_residents(count).await.map_err(report)?;
            println!(
                "{n} residents loaded in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Backup { to } => {
            let db = bihuan::storage::Db::connect(&settings.database_url).await?;
            let done = bihuan::backup::backup(&db, &settings.database_url, &to).await?;
            for (table, f) in &done.tables {
                println!("{table:<28} {:>10} rows", f.rows);
            }
            println!(
                "backup written: {} ({} bytes); keep the secret key apart from it",
                done.path.display(),
                done.bytes
            );
            Ok(())
        }
        Command::Restore { from, replace } => {
            bihuan::backup::restore(&from, &settings.database_url, replace).await?;
            // Brings an older backup's schema up to this version.
            bihuan::storage::Db::connect(&settings.database_url).await?;
            println!("restored {} into the database", from.display());
            Ok(())
        }
        Command::Drill {
            command:
                DrillCommand::Run {
                    script,
                    copies,
                    keep,
                },
        } => {
            let text = match script {
                Some(path) => std::fs::read_to_string(path)?,
                None => bihuan_domain::drill::SEED_SCRIPT.to_string(),
            };
            let script = bihuan_domain::drill::DrillScript::parse(&text)
                .map_err(|e| anyhow::anyhow!("drill script: {}", e.message_en))?;
            let script = bihuan::drill_run::scaled(&script, copies);
            // The drill's own clock: its scripted answers move it, not the
            // real one any server uses.
            let clock = Arc::new(bihuan::clock::ManualClock::new(SystemClock.now()));
            let services = app::services(&settings, clock.clone()).await?;
            let actor = cli_actor(&services, &settings.city_code)?;
            let outcome = bihuan::drill_run::run(&services, &clock, &actor, &script, keep)
                .await
                .map_err(report)?;
            bihuan::drill_run::print(&outcome);
            Ok(())
        }
        Command::Drill {
            command: DrillCommand::Purge { id },
        } => {
            let services = app::services(&settings, Arc::new(SystemClock)).await?;
            let actor = cli_actor(&services, &settings.city_code)?;
            services.end_drill(&actor, id, true).await.map_err(report)?;
            println!("drill {id} purged; its report is kept");
            Ok(())
        }
        Command::Bench { command } => bihuan::bench::run(command, &settings).await,
    }
}

/// The command line acts for the command (指挥部) of the configured city.
fn cli_actor(_: &Services, city: &str) -> anyhow::Result<Actor> {
    Ok(Actor {
        user_id: 0,
        username: "cli".into(),
        role: Role::Command,
        region: RegionCode::parse(city, "city_code").map_err(|e| anyhow::anyhow!(e.message_en))?,
        csrf: String::new(),
    })
}

/// Turns a use-case error into a readable message, one line per field.
fn report(e: Error) -> anyhow::Error {
    match e {
        Error::Invalid(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{}: {} / {}", e.field, e.message, e.message_en))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => anyhow::anyhow!("{other}"),
    }
}

/// On the very first start, makes the command's `admin` account with a
/// generated password and prints it once: there is no default password.
async fn print_first_login(services: &Services, city: &str) -> anyhow::Result<()> {
    if services.count_users().await? > 0 {
        return Ok(());
    }
    let password = bihuan::crypto::token(8);
    let user = parse_new_user("admin", "command", city, &password).map_err(Error::from);
    services
        .add_user(user.map_err(report)?)
        .await
        .map_err(report)?;
    println!(
        "First start: created the command account.\n  username: admin\n  password: {password}\n\
         Sign in at /login and keep this password safe; it is not shown again.\n\
         More accounts: bihuan user add NAME --role ROLE --region CODE --password-stdin"
    );
    Ok(())
}
