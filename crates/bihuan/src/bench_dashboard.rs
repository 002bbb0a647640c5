//! `bihuan bench dashboard`: the 指挥部 dashboards over HTTP on a seeded city.
//!
//! Seeds the demo roll (970,000 residents by default), a few hundred real
//! declarations (for real plans), then in bulk SQL: 50,000 running controls
//! copying those plans, 200,000 tasks in every state, 20,000 declarations
//! over 14 days and today's tests. Then times the city and a town dashboard
//! (JSON and the HTML page) and the live endpoint. SQLite by default (a new
//! file under --dir); PostgreSQL when --database-url is postgres://…, on a
//! new database dropped afterwards.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};
use sqlx::Row;

use crate::app::Application;
use crate::bench::{Scratch, bench_settings, bodies};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::storage::Backend;
use bihuan_domain::dashboard as rules;

#[derive(Args, Debug)]
pub struct DashboardArgs {
    #[arg(long, default_value_t = 970_000)]
    pub residents: usize,
    #[arg(long, default_value_t = 50_000)]
    pub controls: usize,
    #[arg(long, default_value_t = 200_000)]
    pub tasks: usize,
    /// Declarations spread over the last 14 days.
    #[arg(long, default_value_t = 20_000)]
    pub declarations: usize,
    /// Timed requests per page.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
    /// Pause between a page's requests, so the timing spans several
    /// refreshes of the figures, as a watching board's polls do.
    #[arg(long, default_value_t = 400)]
    pub pause_ms: u64,
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the seeded database and print where it is.
    #[arg(long)]
    pub keep: bool,
}

pub async fn run(args: DashboardArgs, settings: &Settings) -> anyhow::Result<()> {
    let dir = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir)?;
    let (scratch, url) = Scratch::create(&settings.database_url, &dir).await?;
    let probe = scratch.probe_dir(&dir);
    let out = run_on(&args, &url, &probe).await;
    if args.keep {
        println!("  kept: {url}");
        return out;
    }
    let removed = scratch.remove().await;
    out?;
    removed
}

struct Timing {
    name: String,
    first: Duration,
    p50: Duration,
    p95: Duration,
    max: Duration,
    /// The oldest figures served, in seconds.
    oldest: Option<i64>,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn time(
    http: &reqwest::Client,
    name: &str,
    url: &str,
    auth: &[(&str, String)],
    args: &DashboardArgs,
) -> anyhow::Result<Timing> {
    let mut v = Vec::new();
    let mut oldest = None;
    for round in 0..args.rounds.max(1) + 1 {
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
        }
        let mut req = http.get(url);
        for (k, val) in auth {
            req = req.header(*k, val);
        }
        let started = Instant::now();
        let r = req.send().await?;
        let status = r.status();
        let body = r.bytes().await?;
        v.push(started.elapsed());
        anyhow::ensure!(status.is_success(), "{url}: {status}");
        anyhow::ensure!(!body.is_empty(), "{url}: empty");
        // How old the figures were when served (JSON answers carry `at`).
        if let Some(at) = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|b| b["at"].as_i64())
        {
            let age = SystemClock.timestamp() - at;
            oldest = Some(oldest.map_or(age, |o: i64| o.max(age)));
        }
    }
    let first = v.remove(0);
    v.sort();
    let pick = |p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
    Ok(Timing {
        name: name.to_string(),
        first,
        p50: pick(0.5),
        p95: pick(0.95),
        max: *v.last().expect("a round"),
        oldest,
    })
}

async fn run_on(args: &DashboardArgs, url: &str, probe: &Path) -> anyhow::Result<()> {
    // The periodic jobs stay off: their sweeps over the seeded rows would
    // run during the timing; the daily report is timed on its own.
    let mut settings = bench_settings(url, probe);
    settings.sweep_seconds = 0;
    let app = Application::build(settings).await?;
    let base = format!("http://{}", app.local_addr());
    let services = app.services().clone();
    let backend = match services.db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let server = tokio::spawn(app.run());
    let out = measure(args, &base, &services, backend).await;
    server.abort();
    let _ = server.await;
    services.db.pool().close().await;
    out
}

async fn exec(db: &sqlx::AnyPool, sql: &str, binds: &[Value]) -> anyhow::Result<u64> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            Value::String(s) => q.bind(s.clone()),
            other => q.bind(other.as_i64().unwrap_or(0)),
        };
    }
    Ok(q.execute(db).await?.rows_affected())
}

async fn measure(
    args: &DashboardArgs,
    base: &str,
    services: &crate::usecases::Services,
    backend: &'static str,
) -> anyhow::Result<()> {
    let db = services.db.pool();
    let city = Settings::default().city_code;
    let today = SystemClock.today();
    let now = SystemClock.timestamp();
    let midnight = now - (now + 8 * 3600).rem_euclid(86_400);

    // 1. The roll, and real plans from real declarations.
    let started = Instant::now();
    services
        .demo_residents(args.residents)
        .await
        .map_err(|e| anyhow::anyhow!("loading the demo roll: {e}"))?;
    let roll = started.elapsed();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    let command_actor = crate::usecases::Actor {
        user_id: 0,
        username: "bench".into(),
        role: bihuan_domain::access::Role::Command,
        region: bihuan_domain::regions::RegionCode::parse(&city, "city")
            .map_err(|e| anyhow::anyhow!(e.message_en))?,
        csrf: String::new(),
    };
    services
        .add_risk_area(
            &command_actor,
            crate::usecases::risk_areas::RiskAreaInput {
                county: "110106".into(),
                township: Some("110106003".into()),
                subarea: None,
                level: "medium".into(),
                since: (today - chrono::Days::new(10)).to_string(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("adding the risk area: {e}"))?;
    let villages: Vec<String> =
        sqlx::query("SELECT DISTINCT parent FROM regions WHERE level = 'grid' ORDER BY parent")
            .fetch_all(db)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
    for body in bodies(5_000_000, 300, today, &villages) {
        let r = http
            .post(format!("{base}/api/v1/declarations"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "declaring: {}", r.status());
    }
    let templates: Vec<(String, String)> = sqlx::query(
        "SELECT category, assessment FROM controls WHERE status = 'active' ORDER BY person_id",
    )
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
    .collect();
    anyhow::ensure!(templates.len() >= 3, "no plans to copy");
    let picks: Vec<&(String, String)> = {
        let mut seen: Vec<&(String, String)> = Vec::new();
        for t in &templates {
            if !seen.iter().any(|s| s.0 == t.0) {
                seen.push(t);
            }
        }
        while seen.len() < 3 {
            seen.push(&templates[seen.len()]);
        }
        seen.into_iter().take(3).collect()
    };

    // 2. Bulk rows, set-based.
    let started = Instant::now();
    let controls = exec(
        db,
        &format!(
            "INSERT INTO controls (person_id, declaration_id, category, policy_version, release_on,
                                   status, assessment, updated_at)
             SELECT p.id, NULL,
                    CASE p.id % 3 WHEN 0 THEN $1 WHEN 1 THEN $2 ELSE $3 END, 'bench', NULL,
                    CASE WHEN p.id % 50 = 0 THEN 'positive' ELSE 'active' END,
                    CASE p.id % 3 WHEN 0 THEN $4 WHEN 1 THEN $5 ELSE $6 END, $7
             FROM persons p
             WHERE p.id % 19 = 0 AND NOT EXISTS (SELECT 1 FROM controls k WHERE k.person_id = p.id)
             ORDER BY p.id LIMIT {}",
            args.controls
        ),
        &[
            json!(picks[0].0),
            json!(picks[1].0),
            json!(picks[2].0),
            json!(picks[0].1),
            json!(picks[1].1),
            json!(picks[2].1),
            json!(now),
        ],
    )
    .await?;
    let tasks = exec(
        db,
        &format!(
            "INSERT INTO tasks (kind, state, person_id, region, escalated_to, escalated_at, due_at,
                                reason, outcome, note, created_at, updated_at)
             SELECT CASE id % 3 WHEN 0 THEN 'verify' WHEN 1 THEN 'test_missed' ELSE 'check_in_missed' END,
                    CASE id % 5 WHEN 0 THEN 'dispatched' WHEN 1 THEN 'acknowledged'
                                WHEN 2 THEN 'reported' ELSE 'closed' END,
                    id, region,
                    CASE WHEN id % 17 = 0 THEN substr(region, 1, 12) ELSE NULL END,
                    CASE WHEN id % 17 = 0 THEN $1 ELSE NULL END,
                    $1 - (id % 240) * 3600 + 86400, 'bench', NULL, NULL,
                    $1 - 14 * 86400, $1 - (id % 200) * 3600
             FROM persons WHERE id % 4 = 1 ORDER BY id LIMIT {}",
            args.tasks
        ),
        &[json!(now)],
    )
    .await?;
    let declarations = exec(
        db,
        &format!(
            "INSERT INTO declarations (person_id, receipt, received_at, arrival_date, village, address,
                                       counties, payload, facts, category, policy_version, assessment)
             SELECT id, 'bench' || CAST(id AS TEXT), $1 - (id % 14) * 86400 - (id % 80) * 60, $2,
                    substr(region, 1, 12), '', '', '{{}}', '{{}}',
                    CASE id % 4 WHEN 0 THEN 'risk_street' WHEN 1 THEN 'out_of_province'
                                WHEN 2 THEN 'in_province' ELSE 'risk_county' END,
                    'bench', '{{}}'
             FROM persons WHERE id % 47 = 3 ORDER BY id LIMIT {}",
            args.declarations
        ),
        &[json!(now), json!(today.to_string())],
    )
    .await?;
    let tests = exec(
        db,
        "INSERT INTO test_results (person_id, sampled_on, sampled_at, result, actor, at)
         SELECT person_id, $1, $2, 'negative', 'bench', $2 FROM controls
         WHERE person_id % 2 = 0 AND status = 'active'",
        &[json!(today.to_string()), json!(midnight + 3600)],
    )
    .await?;
    // 29 past days of daily snapshots, as a month-old installation has:
    // today's figures per village, scaled down day by day.
    services
        .make_daily_report(&command_actor)
        .await
        .map_err(|e| anyhow::anyhow!("the first daily report: {e}"))?;
    for back in 1..rules::TREND_DAYS {
        exec(
            db,
            "INSERT INTO daily_figures (on_date, region, figure, value)
             SELECT $1, region, figure, value * $2 / 30 FROM daily_figures WHERE on_date = $3",
            &[
                json!((today - chrono::Days::new(back as u64)).to_string()),
                json!(30 - back),
                json!(today.to_string()),
            ],
        )
        .await?;
    }
    let history: i64 = sqlx::query("SELECT COUNT(*) FROM daily_figures")
        .fetch_one(db)
        .await?
        .get(0);
    exec(db, "ANALYZE", &[]).await?;
    if backend == "sqlite" {
        // As a running server's WAL would be after the bulk load.
        exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", &[]).await?;
    }
    let seeded = started.elapsed();

    // 3. Sign in, then time the pages.
    let password = "bench horse battery staple";
    for (name, role, region) in [
        ("bench-command", "command", city.clone()),
        ("bench-town", "town", format!("{city}001")),
    ] {
        let user = crate::usecases::auth::parse_new_user(name, role, &region, password)
            .map_err(|e| anyhow::anyhow!("the bench user: {e:?}"))?;
        services
            .add_user(user)
            .await
            .map_err(|e| anyhow::anyhow!("adding the bench user: {e}"))?;
    }
    let mut tokens = Vec::new();
    for name in ["bench-command", "bench-town"] {
        let r: Value = http
            .post(format!("{base}/api/v1/session"))
            .json(&json!({"username": name, "password": password}))
            .send()
            .await?
            .json()
            .await?;
        tokens.push(
            r["token"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("no token: {r}"))?
                .to_string(),
        );
    }
    let town = format!("{city}001");
    let bearer = |t: &str| vec![("authorization", format!("Bearer {t}"))];
    let cookie = |t: &str| vec![("cookie", format!("bihuan_session={t}"))];
    let (c, t) = (&tokens[0], &tokens[1]);
    let mut timings = Vec::new();
    for (name, path, auth) in [
        (
            "city dashboard page (HTML)",
            format!("/dashboard/{city}"),
            cookie(c),
        ),
        (
            "city dashboard (JSON)",
            format!("/api/v1/dashboard/{city}"),
            bearer(c),
        ),
        (
            "city live refresh (JSON)",
            format!("/api/v1/dashboard/{city}/live"),
            bearer(c),
        ),
        (
            "town dashboard page (HTML)",
            format!("/dashboard/{town}"),
            cookie(t),
        ),
        (
            "town live refresh (JSON)",
            format!("/api/v1/dashboard/{town}/live"),
            bearer(t),
        ),
    ] {
        timings.push(time(&http, name, &format!("{base}{path}"), &auth, args).await?);
    }
    // The baseline, in the same run: every figure counted directly, which
    // is what each request cost before the snapshot (and what a refresh
    // costs now).
    let mut counts = [Vec::new(), Vec::new()];
    for _ in 0..5 {
        for (cold, v) in [false, true].into_iter().zip(counts.iter_mut()) {
            let started = Instant::now();
            services
                .figures_direct(cold)
                .await
                .map_err(|e| anyhow::anyhow!("counting the figures: {e}"))?;
            v.push(started.elapsed());
        }
    }
    let [mut direct, mut cold] = counts;
    direct.sort();
    cold.sort();
    let baseline = direct[direct.len() / 2];
    let cold = cold[cold.len() / 2];
    let (_, city_view): (u16, Value) = {
        let r = http
            .get(format!("{base}/api/v1/dashboard/{city}"))
            .bearer_auth(c)
            .send()
            .await?;
        (r.status().as_u16(), r.json().await?)
    };
    let total = &city_view["total"]["figures"];
    let report_started = Instant::now();
    let id = services
        .make_daily_report(&command_actor)
        .await
        .map_err(|e| anyhow::anyhow!("the daily report: {e}"))?;
    let report = report_started.elapsed();

    println!("bench dashboard · {backend}");
    println!(
        "  seeded: {} residents ({:.1} s), {controls} controls, {tasks} tasks, {declarations} declarations, {tests} tests today ({:.1} s)",
        args.residents,
        roll.as_secs_f64(),
        seeded.as_secs_f64()
    );
    println!(
        "  trend history: {history} daily figure rows over {} days",
        rules::TREND_DAYS
    );
    println!(
        "  city figures: under control {}, positives {}, open tasks {}, overdue {}, tests due {}, arrivals 14 d {}",
        total["under_control"],
        total["positives"],
        total["tasks_open"],
        total["tasks_overdue"],
        total["tests_due"],
        total["arrivals_14d"]
    );
    println!(
        "  {:<30} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "request", "first", "p50", "p95", "max", "oldest data"
    );
    for t in &timings {
        println!(
            "  {:<30} {:>10} {:>10} {:>10} {:>10} {:>12}",
            t.name,
            ms(t.first),
            ms(t.p50),
            ms(t.p95),
            ms(t.max),
            t.oldest.map_or("-".to_string(), |s| format!("{s} s"))
        );
    }
    println!(
        "  baseline: every figure counted directly, p50 of 5: {} (what a refresh costs, every {} s while watched); {} when the tests' inputs changed too",
        ms(baseline),
        bench_settings("", Path::new(".")).dashboard_refresh_seconds,
        ms(cold)
    );
    for t in &timings {
        println!(
            "  ratio {:<30} p50 / baseline = {:.3}",
            t.name,
            t.p50.as_secs_f64() / baseline.as_secs_f64()
        );
    }
    println!("  daily report #{id} made in {}", ms(report));
    Ok(())
}
