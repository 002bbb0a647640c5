//! Killing the server with SIGKILL while it takes declarations loses none
//! that it answered 201: an answer goes out only after its commit.
//!
//! The real binary serves a fresh database (SQLite; PostgreSQL when
//! `BIHUAN_TEST_POSTGRES` names a server) to 16 clients posting in a loop; it
//! is killed mid-stream, restarted on the same database, and every receipt
//! answered 201 is then looked up in the database itself.
//!
//! What a SIGKILL can show is the order (answer after commit); a lost fsync
//! needs a power cut, which no process-level test can make.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bihuan::clock::{Clock, SystemClock};
use serde_json::Value;
use sqlx::Row;

const CLIENTS: usize = 16;
/// A round kills the server once this many are acknowledged (and after
/// `MIN_RUN`), or after `MAX_RUN` whatever the count.
const ACKED_BEFORE_KILL: usize = 300;
const MIN_RUN: Duration = Duration::from_millis(1000);
const MAX_RUN: Duration = Duration::from_secs(20);
/// Rounds tried until one kills the server with requests in flight.
const MAX_ROUNDS: usize = 5;
const VILLAGES: [&str; 2] = ["330784001001", "330784002001"];

/// The child process; killed (SIGKILL) when dropped, so a failing test
/// leaves no server behind.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `bihuan serve` on a free port over `url`, once `/healthz` answers ok.
async fn start(dir: &Path, url: &str, name: &str, http: &reqwest::Client) -> Server {
    let listen = format!("127.0.0.1:{}", free_port());
    let log =
        |ext: &str| std::fs::File::create(dir.join(format!("{name}.{ext}"))).expect("log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bihuan"));
    for (key, _) in std::env::vars() {
        if key.starts_with("BIHUAN_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    let child = cmd
        .args(["serve", "--listen", &listen, "--database-url", url])
        .current_dir(dir)
        .env("BIHUAN_PUBLIC_RATE_LIMIT", "0")
        .env("BIHUAN_SECRET_KEY", "3c".repeat(32))
        .env("BIHUAN_KEY_FILE", dir.join("bihuan.key"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log("out"))
        .stderr(log("err"))
        .spawn()
        .expect("bihuan starts");
    let mut server = Server {
        child,
        base: format!("http://{listen}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.child.try_wait().expect("child status") {
            let err = std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap_or_default();
            panic!("{name}: bihuan exited ({status}) before it was healthy:\n{err}");
        }
        let health = http
            .get(format!("{}/healthz", server.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if let Ok(r) = health {
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            if status == 200 && body["status"] == "ok" {
                return server;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{name}: /healthz not ok within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Debug, Clone)]
struct Acked {
    declaration_id: i64,
    person_id: i64,
    receipt: String,
}

#[derive(Default)]
struct Round {
    acked: Vec<Acked>,
    /// Requests started and not yet answered when the kill was sent.
    in_flight_at_kill: usize,
    /// Requests that failed because the server died under them.
    cut: usize,
}

/// Posts from `CLIENTS` loops until enough are acknowledged, then kills the
/// server while the loops' last requests are still in flight.
async fn fire_and_kill(
    server: &mut Server,
    http: &reqwest::Client,
    next: &Arc<AtomicUsize>,
) -> Round {
    let today = SystemClock.today();
    let villages: Vec<String> = VILLAGES.iter().map(|v| v.to_string()).collect();
    let url = format!("{}/api/v1/declarations", server.base);
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let cut = Arc::new(AtomicUsize::new(0));
    // Answers other than 201, and failures before the kill: a broken test.
    let unexpected = Arc::new(Mutex::new(Vec::<String>::new()));

    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (http, url, villages) = (http.clone(), url.clone(), villages.clone());
        let (next, stop, killed, in_flight, acked, cut, unexpected) = (
            next.clone(),
            stop.clone(),
            killed.clone(),
            in_flight.clone(),
            acked.clone(),
            cut.clone(),
            unexpected.clone(),
        );
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let n = next.fetch_add(1, Ordering::SeqCst);
                let body = bihuan::bench::bodies(n, 1, today, &villages).remove(0);
                in_flight.fetch_add(1, Ordering::SeqCst);
                let answer = async {
                    let r = http
                        .post(&url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body)
                        .send()
                        .await?;
                    let status = r.status();
                    let text = r.text().await?;
                    Ok::<_, reqwest::Error>((status, text))
                }
                .await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                match answer {
                    Ok((status, text)) if status == reqwest::StatusCode::CREATED => {
                        let v: Value = serde_json::from_str(&text).expect("201 carries JSON");
                        acked.lock().unwrap().push(Acked {
                            declaration_id: v["declaration_id"].as_i64().expect("declaration_id"),
                            person_id: v["person_id"].as_i64().expect("person_id"),
                            receipt: v["receipt"].as_str().expect("receipt").to_string(),
                        });
                    }
                    Ok((status, text)) => {
                        unexpected.lock().unwrap().push(format!("{status}: {text}"));
                        break;
                    }
                    Err(_) if killed.load(Ordering::SeqCst) => {
                        cut.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    Err(e) => {
                        unexpected
                            .lock()
                            .unwrap()
                            .push(format!("before the kill: {e}"));
                        break;
                    }
                }
            }
        }));
    }

    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let n = acked.lock().unwrap().len();
        let ran = started.elapsed();
        if (n >= ACKED_BEFORE_KILL && ran >= MIN_RUN)
            || ran >= MAX_RUN
            || clients.iter().all(|c| c.is_finished())
        {
            break;
        }
    }
    // No request starts from here on; those already sent are in flight.
    stop.store(true, Ordering::SeqCst);
    let in_flight_at_kill = in_flight.load(Ordering::SeqCst);
    killed.store(true, Ordering::SeqCst);
    server.child.kill().expect("SIGKILL the server");
    server.child.wait().expect("reap the server");
    for c in clients {
        c.await.expect("client loop");
    }
    let unexpected = unexpected.lock().unwrap().clone();
    assert!(
        unexpected.is_empty(),
        "answers other than 201 or failures before the kill: {unexpected:?}"
    );
    let acked = acked.lock().unwrap().clone();
    Round {
        acked,
        in_flight_at_kill,
        cut: cut.load(Ordering::SeqCst),
    }
}

/// Every declaration and person in the database, by receipt and by id.
async fn stored(url: &str) -> (HashMap<String, (i64, i64)>, HashSet<i64>) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .expect("open the database directly");
    let declarations = sqlx::query("SELECT receipt, id, person_id FROM declarations")
        .fetch_all(&pool)
        .await
        .expect("read declarations")
        .iter()
        .map(|r| {
            (
                r.get::<String, _>(0),
                (r.get::<i64, _>(1), r.get::<i64, _>(2)),
            )
        })
        .collect();
    let persons = sqlx::query("SELECT id FROM persons")
        .fetch_all(&pool)
        .await
        .expect("read persons")
        .iter()
        .map(|r| r.get::<i64, _>(0))
        .collect();
    pool.close().await;
    (declarations, persons)
}

/// `BIHUAN_TEST_POSTGRES`'s server, when the test runs on PostgreSQL.
fn postgres_server() -> Option<String> {
    std::env::var("BIHUAN_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('/').to_string())
}

async fn drop_database(server: &str, url: &str) {
    let name = url.rsplit('/').next().expect("database name");
    let admin = format!("{server}/postgres");
    let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("PostgreSQL reachable");
    sqlx::Executor::execute(
        &mut c,
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
    )
    .await
    .expect("drop the test database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_loses_no_acknowledged_declaration() {
    let dir: PathBuf = std::env::temp_dir().join(support::unique("bihuan-durability-"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = support::fresh_database(&dir).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));

    let mut acked: Vec<Acked> = Vec::new();
    let mut proved = false;
    let mut rounds = 0;
    while !proved && rounds < MAX_ROUNDS {
        rounds += 1;
        let mut server = start(&dir, &url, &format!("run{rounds}"), &http).await;
        let round = fire_and_kill(&mut server, &http, &next).await;
        eprintln!(
            "round {rounds}: {} acknowledged, {} in flight at the kill, {} cut by it",
            round.acked.len(),
            round.in_flight_at_kill,
            round.cut
        );
        proved = !round.acked.is_empty() && round.in_flight_at_kill > 0 && round.cut > 0;
        acked.extend(round.acked);
    }
    assert!(
        proved,
        "no round killed the server with acknowledged declarations and requests in \
         flight; logs in {}",
        dir.display()
    );

    // The server comes back on the same database and takes declarations.
    let server = start(&dir, &url, "restart", &http).await;
    let today = SystemClock.today();
    let villages: Vec<String> = VILLAGES.iter().map(|v| v.to_string()).collect();
    let body =
        bihuan::bench::bodies(next.fetch_add(1, Ordering::SeqCst), 1, today, &villages).remove(0);
    let r = http
        .post(format!("{}/api/v1/declarations", server.base))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .expect("post after restart");
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());

    let (declarations, persons) = stored(&url).await;
    let mut lost = Vec::new();
    for a in &acked {
        match declarations.get(&a.receipt) {
            Some(&(id, person)) if id == a.declaration_id && person == a.person_id => {}
            Some(&(id, person)) => lost.push(format!(
                "{}: answered as declaration {} of person {}, stored as {id} of {person}",
                a.receipt, a.declaration_id, a.person_id
            )),
            None => lost.push(format!(
                "{}: declaration {} missing",
                a.receipt, a.declaration_id
            )),
        }
        if !persons.contains(&a.person_id) {
            lost.push(format!("{}: person {} missing", a.receipt, a.person_id));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged declarations lost after SIGKILL (logs in {}):\n{}",
        lost.len(),
        acked.len(),
        dir.display(),
        lost.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    eprintln!(
        "{} acknowledged over {rounds} kill(s), all stored ({} declarations in the database)",
        acked.len(),
        declarations.len()
    );

    drop(server);
    if let Some(pg) = postgres_server() {
        drop_database(&pg, &url).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
