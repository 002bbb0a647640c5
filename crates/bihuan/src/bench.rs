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
    /// A mass-testing round over HTTP: scans into pooled tubes, lab results,
    /// and the live coverage page against counting from scratch.
    ///
    /// Loads a synthetic roll, opens one round over the city, scans
    /// --sampled residents into tubes from concurrent clients, posts every
    /// tube's result in batches (0.1 % of pools positive), then times the
    /// coverage page. SQLite by default; PostgreSQL as for `intake`.
    Testing {
        /// Residents on the synthetic roll (`bihuan demo residents`).
        #[arg(long, default_value_t = 970_000)]
        residents: usize,
        /// Residents scanned into tubes (the first ones of the roll).
        #[arg(long, default_value_t = 900_000)]
        sampled: usize,
        /// People per tube (1, 5, 10 or 20).
        #[arg(long, default_value_t = 10)]
        pool: usize,
        /// Concurrent HTTP clients, each scanning into its own tubes.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Lab result lines per POST (at most 10,000).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Where the SQLite database lives (default: the system's temporary
        /// folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The PostgreSQL server of the baseline: on a SQLite run the roll
        /// and the round's people are copied into a scratch database there
        /// (dropped afterwards) and the untested-per-grid query is timed on
        /// it; on a PostgreSQL run the run's own database is used.
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        baseline_postgres: String,
    },
    /// 流调: check-ins for a city, the stay index against plain SQL on
    /// PostgreSQL (--database-url postgres://…). See bench_tracing.rs.
    Tracing {
        #[arg(long, default_value_t = 1_000_000)]
        persons: i64,
        #[arg(long, default_value_t = 20_000)]
        venues: i64,
        #[arg(long, default_value_t = 14)]
        days: i64,
        /// Stays per person per day.
        #[arg(long, default_value_t = 1.0)]
        per_day: f64,
        /// Share of visits to the busiest 1 % of venues (0: uniform).
        #[arg(long, default_value_t = 0.0)]
        hot: f64,
        /// Check-ins inserted through the real insert path, timed.
        #[arg(long, default_value_t = 500_000)]
        ingest: usize,
        #[arg(long, default_value_t = 1000)]
        ingest_batch: usize,
        #[arg(long, default_value_t = 4)]
        ingest_tasks: usize,
        #[arg(long, default_value_t = 1000)]
        cases: usize,
        /// Reuse a database kept by an earlier run (--keep).
        #[arg(long)]
        reuse: Option<String>,
        #[arg(long)]
        keep: bool,
    },
    /// The 指挥部 dashboards over HTTP on a seeded city (see bench_dashboard.rs).
    Dashboard(crate::bench_dashboard::DashboardArgs),
    /// A public flood at 10x the measured capacity: goodput, 503 share and
    /// a worker's p99 against alone (see bench_surge.rs).
    Surge(crate::bench_surge::SurgeArgs),
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
        BenchCommand::Testing {
            residents,
            sampled,
            pool,
            clients,
            batch,
            dir,
            baseline_postgres,
        } => {
            let opts = TestingOptions {
                residents,
                sampled: sampled.min(residents),
                pool,
                clients: clients.max(1),
                batch: batch.clamp(1, 10_000),
                dir: dir.unwrap_or_else(std::env::temp_dir),
                database_url: settings.database_url.clone(),
                baseline_postgres,
            };
            let report = testing(&opts).await?;
            report.print();
            report.verdict()
        }
        BenchCommand::Tracing {
            persons,
            venues,
            days,
            per_day,
            hot,
            ingest,
            ingest_batch,
            ingest_tasks,
            cases,
            reuse,
            keep,
        } => {
            crate::bench_tracing::run(crate::bench_tracing::TracingOptions {
                persons,
                venues,
                days,
                per_day,
                hot,
                ingest,
                ingest_batch,
                ingest_tasks,
                cases,
                database_url: settings.database_url.clone(),
                reuse,
                keep,
            })
            .await
        }
        BenchCommand::Dashboard(args) => crate::bench_dashboard::run(args, settings).await,
        BenchCommand::Surge(args) => crate::bench_surge::run(args, settings).await,
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

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1}ms", d.as_secs_f64() * 1000.0)
}

/// The `p` quantile (0..=1) of sorted durations; zero when there are none.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// The settings of an in-process server on a loopback port over `url`.
pub(crate) fn bench_settings(url: &str, probe: &Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        database_url: url.to_string(),
        secret_key: Some("5a".repeat(32)),
        key_file: probe.join("bench.key"),
        public_rate_limit: 0,
        // Capacity benches measure the service, not its shedding; the surge
        // bench puts the shipped limits back.
        public_concurrency: 0,
        ..Settings::default()
    }
}

/// A fresh database for one run, removed when the run ends.
pub(crate) enum Scratch {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, name: String },
}

impl Scratch {
    /// A new SQLite file under `dir`, or a new database on the PostgreSQL
    /// server `database_url` names.
    pub(crate) async fn create(
        database_url: &str,
        dir: &Path,
    ) -> anyhow::Result<(Scratch, String)> {
        let tag = crate::crypto::token(6);
        if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
            let name = format!("bihuan_bench_{tag}");
            let mut admin = sqlx::PgConnection::connect(database_url).await?;
            admin
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await?;
            admin.close().await?;
            let url = with_database(database_url, &name)?;
            Ok((
                Scratch::Postgres {
                    admin_url: database_url.to_string(),
                    name,
                },
                url,
            ))
        } else {
            let dir = dir.join(format!("bihuan-bench-{tag}"));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}", dir.join("bench.db").display());
            Ok((Scratch::Sqlite { dir }, url))
        }
    }

    /// Where the run's own files go: the SQLite folder, or `dir`.
    pub(crate) fn probe_dir(&self, dir: &Path) -> PathBuf {
        match self {
            Scratch::Sqlite { dir } => dir.clone(),
            Scratch::Postgres { .. } => dir.to_path_buf(),
        }
    }

    pub(crate) async fn remove(self) -> anyhow::Result<()> {
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
    let (scratch, url) = Scratch::create(&opts.database_url, &opts.dir).await?;
    let probe = scratch.probe_dir(&opts.dir);
    let out = intake_on(opts, &url, &probe).await;
    let removed = scratch.remove().await;
    let report = out?;
    removed?;
    Ok(report)
}

async fn intake_on(opts: &IntakeOptions, url: &str, probe: &Path) -> anyhow::Result<IntakeReport> {
    // The disk first, while nothing else writes.
    let fsyncs_per_s = fsync_rate(probe, opts.fsyncs).await?;

    let app = Application::build(bench_settings(url, probe)).await?;
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
    let pct = |p: f64| percentile(&latencies, p);
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

// ---------- bench testing ----------

pub struct TestingOptions {
    pub residents: usize,
    pub sampled: usize,
    pub pool: usize,
    pub clients: usize,
    pub batch: usize,
    pub dir: PathBuf,
    /// Only its kind (and, for PostgreSQL, its server) is used.
    pub database_url: String,
    /// The server of the baseline on a SQLite run.
    pub baseline_postgres: String,
}

/// Requests of one phase: how many answered as expected, how long the phase
/// took, and the latency of each answered request.
#[derive(Default)]
pub struct Phase {
    pub ok: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Phase {
    fn of(mut latencies: Vec<Duration>, errors: usize, elapsed: Duration) -> Self {
        latencies.sort_unstable();
        Phase {
            ok: latencies.len(),
            errors,
            elapsed,
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }
}

pub struct TestingReport {
    pub backend: &'static str,
    pub residents: usize,
    pub sampled: usize,
    pub pool: usize,
    pub clients: usize,
    pub batch: usize,
    /// `demo_residents`.
    pub roll: Duration,
    /// `POST /api/v1/rounds` over the whole city.
    pub round: Duration,
    pub tubes: usize,
    /// Person scans (the first one, the check of the IDs, not included).
    pub scans: Phase,
    /// Lab batches (latencies of those answered); `lines` result lines
    /// posted, `applied` of them confirmed applied by an answer.
    pub results: Phase,
    pub lines: usize,
    pub applied: usize,
    pub positive_pools: usize,
    /// Members of positive pools, and those of them with an open resample
    /// task right after their batch returned.
    pub pool_members: i64,
    pub with_resample: i64,
    /// The longest time from a batch's answer until its positive pools'
    /// re-sampling tasks had all been found.
    pub resample_check: Duration,
    pub coverage_city: Duration,
    pub coverage_town: Duration,
    /// The untested-per-grid query on the run's own database.
    pub baseline: Duration,
    pub baseline_grids: usize,
    pub baseline_untested: i64,
    /// The same query on PostgreSQL (the run's database, or a copy of the
    /// roll and the round's people): what the coverage page is held to.
    pub pg_baseline: Duration,
    pub pg_baseline_untested: i64,
    /// Copying the rows into the scratch PostgreSQL database (SQLite runs).
    pub pg_copy: Option<(usize, Duration)>,
    /// The city total as the coverage page last showed it.
    pub coverage_total: serde_json::Value,
    pub first_errors: Vec<String>,
}

/// The town timed besides the whole city.
const TOWN: &str = "330784001";

impl TestingReport {
    pub fn print(&self) {
        let rate = |n: usize, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
        println!(
            "bench testing  backend {}  residents {}  sampled {}  pool {}-in-1  clients {}  \
             batch {}",
            self.backend, self.residents, self.sampled, self.pool, self.clients, self.batch
        );
        println!(
            "  {:<34} {:>9} {:>9} {:>10} {:>9} {:>9} {:>9} {:>6}",
            "phase", "count", "seconds", "per s", "p50", "p99", "max", "errors"
        );
        println!(
            "  {:<34} {:>9} {:>9.2} {:>10.0} {:>9} {:>9} {:>9} {:>6}",
            "roll (demo_residents)",
            self.residents,
            self.roll.as_secs_f64(),
            rate(self.residents, self.roll),
            "-",
            "-",
            "-",
            0
        );
        println!(
            "  {:<34} {:>9} {:>9.2} {:>10} {:>9} {:>9} {:>9} {:>6}",
            "create round (API, whole city)",
            1,
            self.round.as_secs_f64(),
            "-",
            "-",
            "-",
            "-",
            0
        );
        println!(
            "  {:<34} {:>9} {:>9.2} {:>10.0} {:>9} {:>9} {:>9} {:>6}",
            format!("person scans ({} tubes)", self.tubes),
            self.scans.ok,
            self.scans.elapsed.as_secs_f64(),
            rate(self.scans.ok, self.scans.elapsed),
            ms(self.scans.p50),
            ms(self.scans.p99),
            ms(self.scans.max),
            self.scans.errors
        );
        println!(
            "  {:<34} {:>9} {:>9.2} {:>10.0} {:>9} {:>9} {:>9} {:>6}",
            format!(
                "lab lines applied ({} batches)",
                self.results.ok + self.results.errors
            ),
            self.applied,
            self.results.elapsed.as_secs_f64(),
            rate(self.applied, self.results.elapsed),
            ms(self.results.p50),
            ms(self.results.p99),
            ms(self.results.max),
            self.results.errors
        );
        println!(
            "  {:<34} {:>9} {:>9} {:>10} {:>9}",
            "coverage city (API, median of 20)",
            "",
            "",
            "",
            ms(self.coverage_city)
        );
        println!(
            "  {:<34} {:>9} {:>9} {:>10} {:>9}",
            format!("coverage town {TOWN} (median 20)"),
            "",
            "",
            "",
            ms(self.coverage_town)
        );
        println!(
            "  {:<34} {:>9} {:>9} {:>10} {:>9}",
            format!("untested/grid SQL on {} (med 5)", self.backend),
            self.baseline_grids,
            "",
            "",
            ms(self.baseline)
        );
        println!(
            "  {:<34} {:>9} {:>9} {:>10} {:>9}",
            "BASELINE untested/grid on postgres",
            self.baseline_grids,
            "",
            "",
            ms(self.pg_baseline)
        );
        if let Some((rows, took)) = self.pg_copy {
            println!(
                "  (baseline database: {rows} rows of residents and round_people copied to a \
                 scratch PostgreSQL database in {:.1} s, indexed as in the schema, ANALYZEd)",
                took.as_secs_f64()
            );
        }
        let ratio = |d: Duration| d.as_secs_f64() / self.pg_baseline.as_secs_f64().max(1e-9);
        println!(
            "  coverage / baseline: city {:.3}, town {:.3}  (wanted < 0.1: {})",
            ratio(self.coverage_city),
            ratio(self.coverage_town),
            if ratio(self.coverage_city) < 0.1 && ratio(self.coverage_town) < 0.1 {
                "yes"
            } else {
                "NO"
            }
        );
        println!(
            "  positive pools {}: {} members, {} with an open resample task, all found at \
             most {} after their batch's answer (wanted < 1 s: {})",
            self.positive_pools,
            self.pool_members,
            self.with_resample,
            ms(self.resample_check),
            if self.with_resample == self.pool_members
                && self.resample_check < Duration::from_secs(1)
            {
                "yes"
            } else {
                "NO"
            }
        );
        let t = &self.coverage_total;
        println!(
            "  coverage total: residents {} sampled {} results_in {} positives {} untested {}; \
             baseline untested {}",
            t["residents"],
            t["sampled"],
            t["results_in"],
            t["positives"],
            t["untested"],
            self.baseline_untested
        );
        println!(
            "  scans: p50/p99 per POST /tubes/{{barcode}}/members; seconds include opening and \
             sealing tubes. Lab lines: latency per answered batch, one lab posting batches \
             in turn; errors are failed batches."
        );
        for e in &self.first_errors {
            println!("  error: {e}");
        }
    }

    /// An error when anything went wrong or did not add up.
    pub fn verdict(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.scans.errors == 0 && self.results.errors == 0,
            "{} scans and {} lab batches failed",
            self.scans.errors,
            self.results.errors
        );
        anyhow::ensure!(
            self.applied == self.lines,
            "{} of {} lab lines were not confirmed applied",
            self.lines - self.applied,
            self.lines
        );
        anyhow::ensure!(
            self.resample_check < Duration::from_secs(1),
            "re-sampling tasks were checked {} after their batch",
            ms(self.resample_check)
        );
        anyhow::ensure!(
            self.pg_baseline_untested == self.baseline_untested,
            "the PostgreSQL baseline counts {} untested, the run's database {}",
            self.pg_baseline_untested,
            self.baseline_untested
        );
        anyhow::ensure!(
            self.with_resample == self.pool_members,
            "{} of {} members of positive pools had no open resample task",
            self.pool_members - self.with_resample,
            self.pool_members
        );
        let t = &self.coverage_total;
        anyhow::ensure!(
            t["sampled"].as_u64() == Some(self.sampled as u64)
                // Members of positive pools await their single re-test.
                && t["results_in"].as_u64() == Some(self.sampled as u64 - self.pool_members as u64)
                && t["untested"].as_i64() == Some(self.baseline_untested),
            "coverage {t} does not add up (sampled {}, baseline untested {})",
            self.sampled,
            self.baseline_untested
        );
        Ok(())
    }
}

pub async fn testing(opts: &TestingOptions) -> anyhow::Result<TestingReport> {
    anyhow::ensure!(opts.sampled > 0, "--sampled must be at least 1");
    std::fs::create_dir_all(&opts.dir)?;
    let (scratch, url) = Scratch::create(&opts.database_url, &opts.dir).await?;
    let probe = scratch.probe_dir(&opts.dir);
    let out = testing_on(opts, &url, &probe).await;
    let removed = scratch.remove().await;
    let report = out?;
    removed?;
    Ok(report)
}

/// The ID number of demo resident `i`. MUST match `usecases::rounds::demo_id`
/// (private there); `testing_on` checks that the first one scans as a
/// resident of the roll rather than as a newcomer.
fn demo_id(i: usize) -> String {
    let year = 1950 + (i / 1000) % 50;
    let month = 1 + (i / 50_000) % 12;
    let day = 1 + (i / 600_000 + i) % 28;
    let body = format!("330784{year:04}{month:02}{day:02}{:03}", i % 1000);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

fn tube_code(k: usize) -> String {
    format!("BENCH{k:08}")
}

/// 0.1 % of pools are positive (the 501st of every thousand).
fn positive_pool(k: usize) -> bool {
    k % 1000 == 500
}

/// Sends a request: its time and JSON answer when the status is `expect`.
async fn call(
    req: reqwest::RequestBuilder,
    expect: reqwest::StatusCode,
) -> Result<(Duration, serde_json::Value), String> {
    let started = Instant::now();
    let r = req.send().await.map_err(|e| format!("transport: {e}"))?;
    let status = r.status();
    let body = r.bytes().await.map_err(|e| format!("body: {e}"))?;
    let took = started.elapsed();
    if status != expect {
        let text = String::from_utf8_lossy(&body);
        return Err(format!(
            "{status}: {}",
            text.chars().take(300).collect::<String>()
        ));
    }
    Ok((took, serde_json::from_slice(&body).unwrap_or_default()))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    percentile(&v, 0.5)
}

async fn testing_on(
    opts: &TestingOptions,
    url: &str,
    probe: &Path,
) -> anyhow::Result<TestingReport> {
    let app = Application::build(bench_settings(url, probe)).await?;
    let base = format!("http://{}", app.local_addr());
    let services = app.services().clone();
    let backend = match services.db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let server = tokio::spawn(app.run());
    let out = testing_with(opts, &base, url, &services, backend).await;
    server.abort();
    let _ = server.await;
    services.db.pool().close().await;
    out
}

async fn testing_with(
    opts: &TestingOptions,
    base: &str,
    url: &str,
    services: &crate::usecases::Services,
    backend: &'static str,
) -> anyhow::Result<TestingReport> {
    use reqwest::StatusCode;
    let db = services.db.pool();
    let city = Settings::default().city_code;

    // 1. The roll and a round over the city, opened by a command user.
    let started = Instant::now();
    services
        .demo_residents(opts.residents)
        .await
        .map_err(|e| anyhow::anyhow!("loading the demo roll: {e}"))?;
    let roll = started.elapsed();

    let password = "bench horse battery staple";
    let user = crate::usecases::auth::parse_new_user("bench-command", "command", &city, password)
        .map_err(|e| anyhow::anyhow!("the bench user: {e:?}"))?;
    services
        .add_user(user)
        .await
        .map_err(|e| anyhow::anyhow!("adding the bench user: {e}"))?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.clients)
        .timeout(Duration::from_secs(120))
        .build()?;
    let (_, session) = call(
        http.post(format!("{base}/api/v1/session"))
            .json(&json!({"username": "bench-command", "password": password})),
        StatusCode::OK,
    )
    .await
    .map_err(|e| anyhow::anyhow!("signing in: {e}"))?;
    let command = session["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token in {session}"))?
        .to_string();
    let now = chrono::Utc::now();
    let (round, created) = call(
        http.post(format!("{base}/api/v1/rounds"))
            .bearer_auth(&command)
            .json(&json!({
                "name": "基准全员核酸",
                "regions": [city],
                "starts_at": (now - chrono::TimeDelta::hours(1)).to_rfc3339(),
                "ends_at": (now + chrono::TimeDelta::hours(24)).to_rfc3339(),
            })),
        StatusCode::CREATED,
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the round: {e}"))?;
    let round_id = created["id"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no round id in {created}"))?;

    // 2. Scans. Tube k holds residents k*pool .. (k+1)*pool; client c owns
    // tubes c, c+clients, … The first scan, made alone, checks the IDs.
    let (pool, sampled) = (opts.pool, opts.sampled);
    let tubes = sampled.div_ceil(pool);
    let open_url = format!("{base}/api/v1/tubes");
    let open_body = move |k: usize| json!({"barcode": tube_code(k), "pool_size": pool, "category": "mandatory", "site": "基准采样点"});
    call(
        http.post(&open_url)
            .bearer_auth(&command)
            .json(&open_body(0)),
        StatusCode::CREATED,
    )
    .await
    .map_err(|e| anyhow::anyhow!("opening the first tube: {e}"))?;
    let (_, first) = call(
        http.post(format!("{base}/api/v1/tubes/{}/members", tube_code(0)))
            .bearer_auth(&command)
            .json(&json!({"id_number": demo_id(0)})),
        StatusCode::CREATED,
    )
    .await
    .map_err(|e| anyhow::anyhow!("scanning demo resident 0 ({}): {e}", demo_id(0)))?;
    let person = first["person_id"].as_i64().unwrap_or(-1);
    let on_roll: i64 = sqlx::query("SELECT COUNT(*) FROM residents WHERE person_id = $1")
        .bind(person)
        .fetch_one(db)
        .await?
        .get(0);
    anyhow::ensure!(
        on_roll == 1,
        "{} scanned as a newcomer: bench::demo_id no longer matches rounds::demo_id",
        demo_id(0)
    );

    let clients = opts.clients.min(tubes);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let (http, base, command, open_url) = (
            http.clone(),
            base.to_string(),
            command.clone(),
            open_url.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            for k in (c..tubes).step_by(clients) {
                let code = tube_code(k);
                if k != 0
                    && let Err(e) = call(
                        http.post(&open_url)
                            .bearer_auth(&command)
                            .json(&open_body(k)),
                        StatusCode::CREATED,
                    )
                    .await
                {
                    errors.push(format!("opening {code}: {e}"));
                    continue;
                }
                let scan_url = format!("{base}/api/v1/tubes/{code}/members");
                let from = k * pool + usize::from(k == 0);
                for i in from..((k + 1) * pool).min(sampled) {
                    match call(
                        http.post(&scan_url)
                            .bearer_auth(&command)
                            .json(&json!({"id_number": demo_id(i)})),
                        StatusCode::CREATED,
                    )
                    .await
                    {
                        Ok((took, _)) => latencies.push(took),
                        Err(e) => errors.push(format!("scanning {i} into {code}: {e}")),
                    }
                }
                if let Err(e) = call(
                    http.post(format!("{base}/api/v1/tubes/{code}/seal"))
                        .bearer_auth(&command)
                        .json(&json!({})),
                    StatusCode::OK,
                )
                .await
                {
                    errors.push(format!("sealing {code}: {e}"));
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(sampled);
    let mut first_errors = Vec::new();
    let mut scan_errors = 0;
    for t in tasks {
        let (lat, errs) = t.await?;
        latencies.extend(lat);
        scan_errors += errs.len();
        let room = 5usize.saturating_sub(first_errors.len());
        first_errors.extend(errs.into_iter().take(room));
    }
    let scans = Phase::of(latencies, scan_errors, started.elapsed());

    // 3. Results, one lab posting batch after batch.
    let lab = services
        .add_api_token("bench-lab", "lab_results")
        .await
        .map_err(|e| anyhow::anyhow!("the lab token: {e}"))?;
    let tested_at = (chrono::Utc::now() - chrono::TimeDelta::minutes(1)).to_rfc3339();
    let results_url = format!("{base}/api/v1/lab-results");
    let all: Vec<usize> = (0..tubes).collect();
    let mut latencies = Vec::new();
    let mut result_errors = 0;
    let (mut positive_pools, mut pool_members, mut with_resample) = (0, 0i64, 0i64);
    let mut posting = Duration::ZERO;
    let mut resample_check = Duration::ZERO;
    let mut applied = 0;
    for chunk in all.chunks(opts.batch) {
        let lines: Vec<serde_json::Value> = chunk
            .iter()
            .map(|&k| {
                let (result, ct) = if positive_pool(k) {
                    ("positive", "28.5")
                } else {
                    ("negative", "")
                };
                json!({"barcode": tube_code(k), "result": result, "ct": ct, "tested_at": tested_at})
            })
            .collect();
        let sent = Instant::now();
        let answer = call(
            http.post(&results_url).bearer_auth(&lab).json(&lines),
            StatusCode::OK,
        )
        .await;
        // Failed batches count too: a timed-out batch took its time.
        posting += sent.elapsed();
        let answered = Instant::now();
        let problem = match answer {
            Ok((took, r)) => {
                let n = r["applied"].as_u64().unwrap_or(0) as usize;
                applied += n;
                latencies.push(took);
                (n != chunk.len()).then(|| {
                    let r = r.to_string();
                    format!(
                        "not all applied: {}",
                        r.chars().take(300).collect::<String>()
                    )
                })
            }
            Err(e) => Some(e),
        };
        if let Some(e) = problem {
            result_errors += 1;
            if first_errors.len() < 5 {
                first_errors.push(format!("lab batch from {}: {e}", tube_code(chunk[0])));
            }
        }
        for &k in chunk.iter().filter(|&&k| positive_pool(k)) {
            positive_pools += 1;
            let row = sqlx::query(
                "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN EXISTS (
                     SELECT 1 FROM tasks x WHERE x.person_id = m.person_id
                     AND x.kind = 'resample' AND x.state <> 'closed') THEN 1 ELSE 0 END), 0)
                     AS BIGINT)
                 FROM tube_members m JOIN tubes t ON t.id = m.tube_id WHERE t.barcode = $1",
            )
            .bind(tube_code(k))
            .fetch_one(db)
            .await?;
            pool_members += row.get::<i64, _>(0);
            with_resample += row.get::<i64, _>(1);
            resample_check = resample_check.max(answered.elapsed());
        }
    }
    let results = Phase::of(latencies, result_errors, posting);

    // 4. Coverage, against counting the untested from scratch.
    let coverage_url = format!("{base}/api/v1/rounds/{round_id}/coverage");
    let mut coverage_total = serde_json::Value::Null;
    let mut city_times = Vec::new();
    let mut town_times = Vec::new();
    for _ in 0..20 {
        let (took, c) = call(
            http.get(&coverage_url).bearer_auth(&command),
            StatusCode::OK,
        )
        .await
        .map_err(|e| anyhow::anyhow!("city coverage: {e}"))?;
        city_times.push(took);
        coverage_total = c["total"].clone();
    }
    for _ in 0..20 {
        let (took, _) = call(
            http.get(format!("{coverage_url}?region={TOWN}"))
                .bearer_auth(&command),
            StatusCode::OK,
        )
        .await
        .map_err(|e| anyhow::anyhow!("town coverage: {e}"))?;
        town_times.push(took);
    }
    let mut baseline_times = Vec::new();
    let (mut baseline_grids, mut baseline_untested) = (0, 0);
    for _ in 0..5 {
        let started = Instant::now();
        let rows = sqlx::query(
            "SELECT r.grid, COUNT(*) FROM residents r WHERE NOT EXISTS (
                 SELECT 1 FROM round_people x WHERE x.round_id = $1 AND x.person_id = r.person_id)
             GROUP BY r.grid",
        )
        .bind(round_id)
        .fetch_all(db)
        .await?;
        baseline_times.push(started.elapsed());
        baseline_grids = rows.len();
        baseline_untested = rows.iter().map(|r| r.get::<i64, _>(1)).sum();
    }
    let (pg_baseline, pg_baseline_untested, pg_copy) = match backend {
        "postgres" => {
            let mut pg = sqlx::PgConnection::connect(url).await?;
            let (took, untested) = pg_untested(&mut pg, round_id).await?;
            pg.close().await?;
            (took, untested, None)
        }
        _ => {
            let (scratch, pg_url) = Scratch::create(&opts.baseline_postgres, &opts.dir).await?;
            let out = copy_and_time(db, &pg_url, round_id).await;
            scratch.remove().await?;
            let (took, untested, copied) = out?;
            (took, untested, Some(copied))
        }
    };

    Ok(TestingReport {
        backend,
        residents: opts.residents,
        sampled,
        pool,
        clients: opts.clients,
        batch: opts.batch,
        roll,
        round,
        tubes,
        scans,
        results,
        lines: tubes,
        applied,
        positive_pools,
        pool_members,
        with_resample,
        coverage_city: median(city_times),
        coverage_town: median(town_times),
        baseline: median(baseline_times),
        baseline_grids,
        baseline_untested,
        pg_baseline,
        pg_baseline_untested,
        pg_copy,
        resample_check,
        coverage_total,
        first_errors,
    })
}

/// The untested-per-grid query on PostgreSQL, after ANALYZE: the median of
/// five runs and the untested count.
async fn pg_untested(
    pg: &mut sqlx::PgConnection,
    round_id: i64,
) -> anyhow::Result<(Duration, i64)> {
    pg.execute("ANALYZE residents").await?;
    pg.execute("ANALYZE round_people").await?;
    let mut times = Vec::new();
    let mut untested = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let rows = sqlx::query(
            "SELECT r.grid, COUNT(*) FROM residents r WHERE NOT EXISTS (
                 SELECT 1 FROM round_people x WHERE x.round_id = $1 AND x.person_id = r.person_id)
             GROUP BY r.grid",
        )
        .bind(round_id)
        .fetch_all(&mut *pg)
        .await?;
        times.push(started.elapsed());
        untested = rows.iter().map(|r| r.get::<i64, _>(1)).sum();
    }
    Ok((median(times), untested))
}

/// Copies the roll and the round's people from the run's database into the
/// PostgreSQL database `pg_url` (tables and indexes as in the schema), then
/// times the untested-per-grid query there.
async fn copy_and_time(
    db: &sqlx::AnyPool,
    pg_url: &str,
    round_id: i64,
) -> anyhow::Result<(Duration, i64, (usize, Duration))> {
    let started = Instant::now();
    let mut pg = sqlx::PgConnection::connect(pg_url).await?;
    pg.execute(
        "CREATE TABLE residents (person_id BIGINT PRIMARY KEY, grid TEXT NOT NULL,
             created_at BIGINT NOT NULL)",
    )
    .await?;
    pg.execute(
        "CREATE TABLE round_people (round_id BIGINT NOT NULL, person_id BIGINT NOT NULL,
             grid TEXT NOT NULL, sampled_at BIGINT NOT NULL, result TEXT,
             PRIMARY KEY (round_id, person_id))",
    )
    .await?;
    let mut copied = 0;
    let mut after = i64::MIN;
    loop {
        let rows = sqlx::query(
            "SELECT person_id, grid, created_at FROM residents WHERE person_id > $1
             ORDER BY person_id LIMIT 50000",
        )
        .bind(after)
        .fetch_all(db)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.get(0);
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let grids: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
        let at: Vec<i64> = rows.iter().map(|r| r.get(2)).collect();
        sqlx::query(
            "INSERT INTO residents (person_id, grid, created_at)
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[])",
        )
        .bind(ids)
        .bind(grids)
        .bind(at)
        .execute(&mut pg)
        .await?;
        copied += rows.len();
    }
    let mut after = i64::MIN;
    loop {
        let rows = sqlx::query(
            "SELECT person_id, grid, sampled_at, result FROM round_people
             WHERE round_id = $1 AND person_id > $2 ORDER BY person_id LIMIT 50000",
        )
        .bind(round_id)
        .bind(after)
        .fetch_all(db)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.get(0);
        let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let grids: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
        let at: Vec<i64> = rows.iter().map(|r| r.get(2)).collect();
        let results: Vec<Option<String>> = rows.iter().map(|r| r.get(3)).collect();
        sqlx::query(
            "INSERT INTO round_people (round_id, person_id, grid, sampled_at, result)
             SELECT $1, * FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::BIGINT[], $5::TEXT[])",
        )
        .bind(round_id)
        .bind(ids)
        .bind(grids)
        .bind(at)
        .bind(results)
        .execute(&mut pg)
        .await?;
        copied += rows.len();
    }
    pg.execute("CREATE INDEX residents_grid ON residents (grid)")
        .await?;
    pg.execute("CREATE INDEX round_people_person ON round_people (person_id)")
        .await?;
    let copy = started.elapsed();
    let (took, untested) = pg_untested(&mut pg, round_id).await?;
    pg.close().await?;
    Ok((took, untested, (copied, copy)))
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
    fn demo_ids_are_valid_and_distinct() {
        // The same sample as `usecases::rounds`' own test of `demo_id`.
        let today = bihuan_domain::Date::from_ymd_opt(2022, 1, 28).unwrap();
        let mut seen = std::collections::HashSet::new();
        for i in (0..970_000).step_by(997) {
            let id = demo_id(i);
            bihuan_domain::identity::DocumentNumber::parse(
                bihuan_domain::identity::DocumentType::Resident,
                &id,
                "id",
                today,
            )
            .unwrap_or_else(|e| panic!("{id}: {}", e.message_en));
            assert!(seen.insert(id));
        }
        assert_eq!(demo_id(0), "330784195001010003");
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
