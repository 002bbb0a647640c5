//! `bihuan bench …`: throughput measured against a fresh database.
//!
//! `bench intake` starts a server in this process on a loopback port over a
//! database made for the run (a new SQLite file in a temporary folder, or a
//! new database on the PostgreSQL server that `--database-url` names, dropped
//! afterwards), posts distinct declarations from many keep-alive clients, and
//! prints throughput and latency next to the disk's own fsync rate measured
//! in the same run: declarations per fsync above 1 is group commit at work.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bihuan_domain::access::Role;
use bihuan_domain::regions::RegionCode;
use chrono::Duration as Days;
use clap::Subcommand;
use serde_json::json;
use sqlx::{Connection, Executor, Row};

use crate::app::Application;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::storage::Backend;
use crate::usecases::Actor;
use crate::usecases::risk_areas::RiskAreaInput;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Post declarations over HTTP from many concurrent clients.
    ///
    /// SQLite by default (a new file under --dir); PostgreSQL when
    /// --database-url is postgres://…, on a new database dropped afterwards.
    Intake {
        /// Concurrent HTTP clients, each on its own keep-alive connection.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Declarations measured (each a distinct person).
        #[arg(long, default_value_t = 20000)]
        requests: usize,
        /// Declarations posted first and not measured.
        #[arg(long, default_value_t = 1000)]
        warmup: usize,
        /// Write+fdatasync rounds of the disk baseline.
        #[arg(long, default_value_t = 2000)]
        fsyncs: usize,
        /// Where the SQLite database and the fsync probe live (default: the
        /// system's temporary folder).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub async fn run(cmd: BenchCommand, settings: &Settings) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Intake {
            clients,
            requests,
            warmup,
            fsyncs,
            dir,
        } => {
            let opts = IntakeOptions {
                clients: clients.max(1),
                requests,
                warmup,
                fsyncs,
                dir: dir.unwrap_or_else(std::env::temp_dir),
                database_url: settings.database_url.clone(),
            };
            let report = intake(&opts).await?;
            report.print();
            if report.errors > 0 {
                anyhow::bail!("{} of {} requests failed", report.errors, report.requests);
            }
            Ok(())
        }
    }
}

pub struct IntakeOptions {
    pub clients: usize,
    pub requests: usize,
    pub warmup: usize,
    pub fsyncs: usize,
    pub dir: PathBuf,
    /// Only its kind (and, for PostgreSQL, its server) is used.
    pub database_url: String,
}

pub struct IntakeReport {
    pub backend: &'static str,
    pub clients: usize,
    pub requests: usize,
    pub ok: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub fsyncs_per_s: f64,
    /// Cache flushes the disk completed while the requests ran (Linux block
    /// statistics; every commit's fsync shows up here as at least one).
    pub disk_flushes: Option<u64>,
    pub categories: Vec<(String, usize)>,
    pub first_errors: Vec<String>,
}

impl IntakeReport {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn print(&self) {
        let rate = self.per_second();
        println!(
            "backend {}  clients {}  requests {}  decl/s {:.0}  p50 {}  p99 {}  max {}  \
             errors {}  fsync/s {:.0}  decl per fsync {:.2}",
            self.backend,
            self.clients,
            self.requests,
            rate,
            ms(self.p50),
            ms(self.p99),
            ms(self.max),
            self.errors,
            self.fsyncs_per_s,
            rate / self.fsyncs_per_s.max(1e-9)
        );
        println!(
            "  {} answered 201 in {:.2}s; fsync/s is write+fdatasync of a small file in the \
             same folder, measured just before",
            self.ok,
            self.elapsed.as_secs_f64()
        );
        if let Some(f) = self.disk_flushes {
            println!(
                "  disk flushes while posting {}  ({:.2} declarations per flush; whole device, \
                 checkpoints included)",
                f,
                self.ok as f64 / f.max(1) as f64
            );
        }
        let mix: Vec<String> = self
            .categories
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        println!("  categories: {}", mix.join(", "));
        for e in &self.first_errors {
            println!("  error: {e}");
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}ms", d.as_secs_f64() * 1000.0)
}

/// A fresh database for one run, removed when the run ends.
enum Scratch {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

impl Scratch {
    async fn create(opts: &IntakeOptions) -> anyhow::Result<(Scratch, String)> {
        let tag = crate::crypto::token(6);
        if opts.database_url.starts_with("postgres://")
            || opts.database_url.starts_with("postgresql://")
        {
            let name = format!("bihuan_bench_{tag}");
            let mut admin = sqlx::PgConnection::connect(&opts.database_url).await?;
            admin
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await?;
            admin.close().await?;
            let url = with_database(&opts.database_url, &name)?;
            Ok((
                Scratch::Postgres {
                    admin_url: opts.database_url.clone(),
                    name,
                },
                url,
            ))
        } else {
            let dir = opts.dir.join(format!("bihuan-bench-{tag}"));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}", dir.join("bench.db").display());
            Ok((Scratch::Sqlite { dir }, url))
        }
    }

    fn probe_dir(&self, opts: &IntakeOptions) -> PathBuf {
        match self {
            Scratch::Sqlite { dir } => dir.clone(),
            Scratch::Postgres { .. } => opts.dir.clone(),
        }
    }

    async fn remove(self) -> anyhow::Result<()> {
        match self {
            Scratch::Sqlite { dir } => Ok(std::fs::remove_dir_all(dir)?),
            Scratch::Postgres { admin_url, name } => {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                admin.close().await?;
                Ok(())
            }
        }
    }
}

/// `postgres://user@host:5432/db?x=y` with `db` replaced by `name`.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let scheme_end = url
        .find("://")
        .ok_or_else(|| anyhow::anyhow!("not a URL: {url}"))?
        + 3;
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    Ok(format!("{}/{name}{query}", &base[..authority_end]))
}

pub async fn intake(opts: &IntakeOptions) -> anyhow::Result<IntakeReport> {
    std::fs::create_dir_all(&opts.dir)?;
    let (scratch, url) = Scratch::create(opts).await?;
    let probe = scratch.probe_dir(opts);
    let out = intake_on(opts, &url, &probe).await;
    let removed = scratch.remove().await;
    let report = out?;
    removed?;
    Ok(report)
}

async fn intake_on(opts: &IntakeOptions, url: &str, probe: &Path) -> anyhow::Result<IntakeReport> {
    // The disk first, while nothing else writes.
    let fsyncs_per_s = fsync_rate(probe, opts.fsyncs).await?;

    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: url.to_string(),
        secret_key: Some("5a".repeat(32)),
        key_file: probe.join("bench.key"),
        public_rate_limit: 0,
        ..Settings::default()
    };
    let app = Application::build(settings).await?;
    let base = format!("http://{}", app.local_addr());
    let services = app.services().clone();
    let backend = match services.db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let server = tokio::spawn(app.run());

    // One listed street, so that a share of arrivals is risk_street.
    let today = SystemClock.today();
    let command = Actor {
        user_id: 0,
        username: "bench".into(),
        role: Role::Command,
        region: RegionCode::parse(&Settings::default().city_code, "city")
            .map_err(|e| anyhow::anyhow!(e.message_en))?,
        csrf: String::new(),
    };
    services
        .add_risk_area(
            &command,
            RiskAreaInput {
                county: "110106".into(),
                township: Some("110106003".into()),
                subarea: None,
                level: "medium".into(),
                since: (today - Days::days(10)).to_string(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("adding the risk area: {e}"))?;
    let villages: Vec<String> =
        sqlx::query("SELECT DISTINCT parent FROM regions WHERE level = 'grid' ORDER BY parent")
            .fetch_all(services.db.pool())
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
    anyhow::ensure!(!villages.is_empty(), "no village with a grid");

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.clients)
        .timeout(Duration::from_secs(60))
        .build()?;
    let url = format!("{base}/api/v1/declarations");

    if opts.warmup > 0 {
        let bodies = Arc::new(bodies(0, opts.warmup, today, &villages));
        fire(&http, &url, bodies, opts.clients).await;
    }

    let bodies = Arc::new(bodies(opts.warmup, opts.requests, today, &villages));
    let flushes_before = disk_flushes(probe);
    let started = Instant::now();
    let results = fire(&http, &url, bodies, opts.clients).await;
    let elapsed = started.elapsed();
    let flushes_after = disk_flushes(probe);

    server.abort();
    let _ = server.await;
    services.db.pool().close().await;

    let mut latencies: Vec<Duration> = Vec::with_capacity(results.len());
    let mut categories: Vec<(String, usize)> = Vec::new();
    let mut first_errors = Vec::new();
    let mut errors = 0;
    for r in results {
        match r {
            Ok((took, category)) => {
                latencies.push(took);
                match categories.iter_mut().find(|(c, _)| *c == category) {
                    Some((_, n)) => *n += 1,
                    None => categories.push((category, 1)),
                }
            }
            Err(e) => {
                errors += 1;
                if first_errors.len() < 5 {
                    first_errors.push(e);
                }
            }
        }
    }
    latencies.sort_unstable();
    categories.sort_by_key(|c| std::cmp::Reverse(c.1));
    let pct = |p: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i]
    };
    Ok(IntakeReport {
        backend,
        clients: opts.clients,
        requests: opts.requests,
        ok: latencies.len(),
        errors,
        elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
        max: latencies.last().copied().unwrap_or_default(),
        fsyncs_per_s,
        disk_flushes: flushes_before
            .zip(flushes_after)
            .map(|(b, a)| a.saturating_sub(b)),
        categories,
        first_errors,
    })
}

type Outcome = Result<(Duration, String), String>;

/// Posts every body once, from `clients` tasks sharing one keep-alive pool.
async fn fire(
    http: &reqwest::Client,
    url: &str,
    bodies: Arc<Vec<Vec<u8>>>,
    clients: usize,
) -> Vec<Outcome> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (http, url, bodies, next) =
            (http.clone(), url.to_string(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                out.push(post(&http, &url, body.clone()).await);
            }
            out
        }));
    }
    let mut all = Vec::with_capacity(bodies.len());
    for t in tasks {
        match t.await {
            Ok(out) => all.extend(out),
            Err(e) => all.push(Err(format!("client task: {e}"))),
        }
    }
    all
}

async fn post(http: &reqwest::Client, url: &str, body: Vec<u8>) -> Outcome {
    let started = Instant::now();
    let r = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = r.status();
    let text = r.bytes().await.map_err(|e| format!("body: {e}"))?;
    let took = started.elapsed();
    if status != reqwest::StatusCode::CREATED {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&text)));
    }
    Ok((took, category_of(&text)))
}

/// The first `"category":"…"` of an answer: the assessment's.
fn category_of(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    const KEY: &str = "\"category\":\"";
    s.find(KEY)
        .and_then(|i| {
            let rest = &s[i + KEY.len()..];
            rest.find('"').map(|j| rest[..j].to_string())
        })
        .unwrap_or_else(|| "?".into())
}

/// Declarations numbered `from..from+count`, each by a different person:
/// half from inside the province, four in ten from another province, one in
/// ten from the listed street; arriving today, having left yesterday.
pub fn bodies(
    from: usize,
    count: usize,
    today: bihuan_domain::Date,
    villages: &[String],
) -> Vec<Vec<u8>> {
    let arrival = today.to_string();
    let departed = (today - Days::days(1)).to_string();
    (from..from + count)
        .map(|n| {
            let origin = match n % 10 {
                0 => json!({"county": "110106", "township": "110106003", "departed_on": departed}),
                1..=4 => json!({"county": "110105", "departed_on": departed}),
                _ => json!({"county": "330102", "departed_on": departed}),
            };
            let body = json!({
                "name": "张三",
                "id_type": "resident",
                "id_number": resident_id(n as u64),
                "phone": format!("138{:08}", n % 100_000_000),
                "origin": origin,
                "arrival": {"date": arrival, "mode": "train", "number": "G1234"},
                "destination": {"village": villages[n % villages.len()], "address": "园丁路1号"},
                "health_code": "green",
                "vaccine_doses": 3
            });
            serde_json::to_vec(&body).expect("serialisable")
        })
        .collect()
}

/// A valid resident ID for sequence number `n`, distinct for every `n` below
/// 18 million: born `n / 1000` days after 1950-01-01, sequence `n % 1000`.
pub fn resident_id(n: u64) -> String {
    let epoch = bihuan_domain::Date::from_ymd_opt(1950, 1, 1).expect("valid date");
    let birth = epoch + Days::days((n / 1000) as i64);
    let body = format!("330784{}{:03}", birth.format("%Y%m%d"), n % 1000);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// Write-then-fdatasync rounds per second on a small file in `dir`.
pub async fn fsync_rate(dir: &Path, rounds: usize) -> anyhow::Result<f64> {
    let path = dir.join("fsync-probe");
    let rounds = rounds.max(1);
    tokio::task::spawn_blocking(move || -> anyhow::Result<f64> {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::create(&path)?;
        let block = [0x5au8; 512];
        f.write_all(&block)?;
        f.sync_all()?;
        let started = Instant::now();
        for _ in 0..rounds {
            f.seek(SeekFrom::Start(0))?;
            f.write_all(&block)?;
            f.sync_data()?;
        }
        let rate = rounds as f64 / started.elapsed().as_secs_f64();
        drop(f);
        let _ = std::fs::remove_file(&path);
        Ok(rate)
    })
    .await?
}

/// Flushes completed by the block device holding `dir` (Linux only).
fn disk_flushes(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(dir).ok()?.dev();
    // Linux's encoding of dev_t.
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let stat = std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/stat")).ok()?;
    // Field 15 (0-based) is "flush requests completed".
    stat.split_whitespace().nth(15)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_ids_are_valid_and_distinct() {
        let today = bihuan_domain::Date::from_ymd_opt(2022, 1, 28).unwrap();
        let mut seen = std::collections::HashSet::new();
        for n in [0u64, 1, 999, 1000, 123_456, 9_999_999] {
            let id = resident_id(n);
            bihuan_domain::identity::DocumentNumber::parse(
                bihuan_domain::identity::DocumentType::Resident,
                &id,
                "id",
                today,
            )
            .unwrap_or_else(|e| panic!("{id}: {}", e.message_en));
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x").unwrap(),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x").unwrap(),
            "postgres://h:5432/x"
        );
    }
}
