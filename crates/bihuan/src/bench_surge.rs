//! `bihuan bench surge`: what a public flood does to the service.
//!
//! In one run, against a fresh database: (1) the public capacity, with
//! `--clients` closed-loop clients posting declarations for `--seconds`;
//! (2) a signed-in worker's task list, timed alone; (3) a flood of
//! declarations offered open-loop at `--factor` times the capacity for
//! `--seconds`, with the worker's task list timed again meanwhile. It prints
//! the public goodput, the share answered 503, every other failure (there
//! should be none), and the worker's p99 in the flood against alone.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};
use sqlx::Row;

use crate::app::Application;
use crate::bench::{Scratch, bench_settings, bodies, ms, percentile};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;

#[derive(Args, Debug, Clone)]
pub struct SurgeArgs {
    /// Closed-loop clients that measure the capacity.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Seconds of each phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// The flood, as a multiple of the measured capacity.
    #[arg(long, default_value_t = 10.0)]
    pub factor: f64,
    /// Requests of the flood in flight at most (client memory).
    #[arg(long, default_value_t = 4000)]
    pub max_in_flight: usize,
    /// Where the SQLite database lives (default: the temporary folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Default, Debug)]
struct Tally {
    created: AtomicUsize,
    shed: AtomicUsize,
    other: AtomicUsize,
    /// Offers the client could not make: max_in_flight reached.
    not_sent: AtomicUsize,
    first_other: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn note(&self, outcome: Result<u16, String>) {
        match outcome {
            Ok(201) => {
                self.created.fetch_add(1, Ordering::Relaxed);
            }
            Ok(503) => {
                self.shed.fetch_add(1, Ordering::Relaxed);
            }
            other => {
                self.other.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_other.lock().unwrap_or_else(|e| e.into_inner());
                if first.len() < 5 {
                    first.push(format!("{other:?}"));
                }
            }
        }
    }
}

pub async fn run(args: SurgeArgs, settings: &Settings) -> anyhow::Result<()> {
    let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir)?;
    let (scratch, url) = Scratch::create(&settings.database_url, &dir).await?;
    let probe = scratch.probe_dir(&dir);
    let out = run_on(&args, &url, probe).await;
    let removed = scratch.remove().await;
    out?;
    removed
}

async fn run_on(args: &SurgeArgs, url: &str, probe: PathBuf) -> anyhow::Result<()> {
    let mut s = bench_settings(url, &probe);
    // The shedding under test, at the shipped limits.
    let shipped = Settings::default();
    s.public_concurrency = shipped.public_concurrency;
    s.staff_concurrency = shipped.staff_concurrency;
    let app = Application::build(s.clone()).await?;
    let base = format!("http://{}", app.local_addr());
    let services = app.services().clone();
    let server = tokio::spawn(app.run());
    let today = SystemClock.today();
    let villages: Vec<String> =
        sqlx::query("SELECT DISTINCT parent FROM regions WHERE level = 'grid' ORDER BY parent")
            .fetch_all(services.db.pool())
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
    anyhow::ensure!(!villages.is_empty(), "no village with a grid");

    // The worker: a town user's task list, on a client of its own.
    let password = "bench horse battery staple";
    let user = crate::usecases::auth::parse_new_user(
        "bench-town",
        "town",
        &format!("{}001", s.city_code),
        password,
    )
    .map_err(|e| anyhow::anyhow!("the bench user: {e:?}"))?;
    services
        .add_user(user)
        .await
        .map_err(|e| anyhow::anyhow!("adding the bench user: {e}"))?;
    let staff_http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let r: Value = staff_http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "bench-town", "password": password}))
        .send()
        .await?
        .json()
        .await?;
    let token = r["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no token: {r}"))?
        .to_string();

    let declare = format!("{base}/api/v1/declarations");
    let next = Arc::new(AtomicUsize::new(0));
    let phase = Duration::from_secs(args.seconds.max(1));

    // 1. Capacity, closed loop.
    let public_http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let capacity_tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..args.clients.max(1) {
        let (http, url, next, tally, villages) = (
            public_http.clone(),
            declare.clone(),
            next.clone(),
            capacity_tally.clone(),
            villages.clone(),
        );
        clients.push(tokio::spawn(async move {
            while started.elapsed() < phase {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let body = bodies(n, 1, today, &villages).remove(0);
                tally.note(post(&http, &url, body).await);
            }
        }));
    }
    for c in clients {
        c.await?;
    }
    let capacity_secs = started.elapsed().as_secs_f64();
    let capacity = capacity_tally.created.load(Ordering::Relaxed) as f64 / capacity_secs;
    anyhow::ensure!(capacity > 0.0, "no declaration was accepted");

    // 2. The worker alone.
    let alone = time_staff(&staff_http, &base, &token, phase).await?;

    // 3. The flood, open loop, with the worker timed meanwhile.
    let offered_rate = capacity * args.factor;
    let flood_tally = Arc::new(Tally::default());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let flood_http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let worker = {
        let (http, base, token) = (staff_http.clone(), base.clone(), token.clone());
        tokio::spawn(async move { time_staff(&http, &base, &token, phase).await })
    };
    let started = Instant::now();
    let tick = Duration::from_millis(10);
    let mut offered = 0usize;
    let mut flights = Vec::new();
    while started.elapsed() < phase {
        let due = (started.elapsed().as_secs_f64() * offered_rate) as usize;
        while offered < due {
            offered += 1;
            if in_flight.load(Ordering::Relaxed) >= args.max_in_flight {
                flood_tally.not_sent.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            in_flight.fetch_add(1, Ordering::Relaxed);
            let n = next.fetch_add(1, Ordering::Relaxed);
            let body = bodies(n, 1, today, &villages).remove(0);
            let (http, url, tally, in_flight) = (
                flood_http.clone(),
                declare.clone(),
                flood_tally.clone(),
                in_flight.clone(),
            );
            flights.push(tokio::spawn(async move {
                tally.note(post(&http, &url, body).await);
                in_flight.fetch_sub(1, Ordering::Relaxed);
            }));
        }
        tokio::time::sleep(tick).await;
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let during = worker.await??;
    for f in flights {
        f.await?;
    }
    let drained_secs = started.elapsed().as_secs_f64();
    server.abort();
    let _ = server.await;
    services.db.pool().close().await;

    let created = flood_tally.created.load(Ordering::Relaxed);
    let shed = flood_tally.shed.load(Ordering::Relaxed);
    let other = flood_tally.other.load(Ordering::Relaxed);
    let not_sent = flood_tally.not_sent.load(Ordering::Relaxed);
    let answered = (created + shed + other).max(1);
    println!(
        "backend {}  capacity {:.0} decl/s ({} clients, {:.1}s; shed {} other {})",
        if url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
        capacity,
        args.clients,
        capacity_secs,
        capacity_tally.shed.load(Ordering::Relaxed),
        capacity_tally.other.load(Ordering::Relaxed),
    );
    println!(
        "flood: offered {:.0}/s ({:.1}x capacity) for {:.1}s: {} sent, {} not sent (client cap)",
        offered as f64 / flood_secs,
        offered as f64 / flood_secs / capacity,
        flood_secs,
        offered - not_sent,
        not_sent
    );
    println!(
        "  public goodput {:.0} decl/s ({:.2}x capacity; all answered in {:.1}s)  503 share {:.1}%  other failures {}",
        created as f64 / drained_secs,
        created as f64 / drained_secs / capacity,
        drained_secs,
        100.0 * shed as f64 / answered as f64,
        other
    );
    println!(
        "  worker's task list: alone p50 {} p99 {} ({} calls); in the flood p50 {} p99 {} ({} calls); p99 ratio {:.2}",
        ms(alone.p50),
        ms(alone.p99),
        alone.calls,
        ms(during.p50),
        ms(during.p99),
        during.calls,
        during.p99.as_secs_f64() / alone.p99.as_secs_f64().max(1e-9)
    );
    for e in flood_tally
        .first_other
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        println!("  failure: {e}");
    }
    if other > 0 || during.errors > 0 {
        anyhow::bail!(
            "{other} public answers other than 201/503, {} failed staff calls",
            during.errors
        );
    }
    Ok(())
}

struct StaffTimes {
    calls: usize,
    errors: usize,
    p50: Duration,
    p99: Duration,
}

/// The worker's task list, one call after another, for `phase`.
async fn time_staff(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    phase: Duration,
) -> anyhow::Result<StaffTimes> {
    let started = Instant::now();
    let mut took = Vec::new();
    let mut errors = 0;
    while started.elapsed() < phase {
        let t = Instant::now();
        let ok = http
            .get(format!("{base}/api/v1/tasks"))
            .bearer_auth(token)
            .send()
            .await
            .map(|r| r.status() == reqwest::StatusCode::OK);
        match ok {
            Ok(true) => took.push(t.elapsed()),
            _ => errors += 1,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    took.sort_unstable();
    Ok(StaffTimes {
        calls: took.len(),
        errors,
        p50: percentile(&took, 0.5),
        p99: percentile(&took, 0.99),
    })
}

async fn post(http: &reqwest::Client, url: &str, body: Vec<u8>) -> Result<u16, String> {
    let r = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = r.status().as_u16();
    r.bytes().await.map_err(|e| format!("body: {e}"))?;
    Ok(status)
}
