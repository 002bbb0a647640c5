//! Starts a real server on a random port over a fresh database: SQLite by
//! default, PostgreSQL when `BIHUAN_TEST_POSTGRES` holds a server URL (each
//! test then gets a database of its own). The clock is manual and starts on
//! 2022-01-28 10:00 in Asia/Shanghai, the day of POLICY.md's examples.
#![allow(dead_code)]

pub mod browser;
pub mod sms;

use std::path::PathBuf;
use std::sync::Arc;

use bihuan::app::Application;
use bihuan::clock::ManualClock;
use bihuan::config::Settings;
use bihuan::usecases::Services;
use bihuan::usecases::auth::parse_new_user;
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

pub struct TestApp {
    pub base: String,
    pub settings: Settings,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub services: Services,
    dir: PathBuf,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", bihuan::crypto::token(6))
}

/// A fresh database URL for one test.
pub async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("BIHUAN_TEST_POSTGRES") {
        Ok(server) if !server.is_empty() => {
            let name = unique("bihuan_t_");
            let admin = format!("{}/postgres", server.trim_end_matches('/'));
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("PostgreSQL reachable at BIHUAN_TEST_POSTGRES");
            sqlx::Executor::execute(&mut c, format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create test database");
            format!("{}/{name}", server.trim_end_matches('/'))
        }
        _ => format!("sqlite://{}/bihuan.db", dir.display()),
    }
}

pub fn test_settings(dir: &std::path::Path, database_url: String) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        database_url,
        secret_key: Some("11".repeat(32)),
        key_file: dir.join("key"),
        public_rate_limit: 0,
        sweep_seconds: 0,
        // Figures counted on every request; tests/dashboard.rs turns the
        // snapshot on where it is the subject.
        dashboard_refresh_seconds: 0,
        ..Settings::default()
    }
}

/// The one number `sql` selects, read straight from the test's database.
pub async fn count(app: &TestApp, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}

/// A venue of `kind` registered by `village`'s staff and approved by its
/// town: its id.
pub async fn approved_venue(app: &TestApp, kind: &str, village: &str, name: &str) -> i64 {
    let staff = app.login_as("village", village).await;
    let town = app.login_as("town", &village[..9]).await;
    let (s, v) = app
        .post(
            &staff,
            "/api/v1/venues",
            json!({"name": name, "kind": kind, "region": village, "address": "人民路8号"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v) = app
        .post(&town, &format!("/api/v1/venues/{id}/approve"), json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    id
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = std::env::temp_dir().join(unique("bihuan-test-"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = fresh_database(&dir).await;
    let mut settings = test_settings(&dir, url);
    configure(&mut settings);
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2022, 1, 28, 2, 0, 0).unwrap(),
    ));
    start(settings, clock, dir).await
}

/// A second replica over the same database and clock as `app`.
pub async fn replica(app: &TestApp) -> TestApp {
    let dir = std::env::temp_dir().join(unique("bihuan-test-"));
    std::fs::create_dir_all(&dir).unwrap();
    start(app.settings.clone(), app.clock.clone(), dir).await
}

async fn start(settings: Settings, clock: Arc<ManualClock>, dir: PathBuf) -> TestApp {
    let kept = settings.clone();
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .expect("application starts");
    let base = format!("http://{}", app.local_addr());
    let services = app.services().clone();
    tokio::spawn(app.run());
    TestApp {
        base,
        settings: kept,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        clock,
        services,
        dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Adds a user and returns a bearer token for them.
    pub async fn login_as(&self, role: &str, region: &str) -> String {
        let name = unique("u");
        let password = "correct horse battery";
        self.services
            .add_user(parse_new_user(&name, role, region, password).unwrap())
            .await
            .unwrap();
        let r = self
            .http
            .post(self.url("/api/v1/session"))
            .json(&json!({"username": name, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let mut req = self.http.post(self.url(path)).json(&body);
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn declare(&self, body: Value) -> (u16, Value) {
        self.post("", "/api/v1/declarations", body).await
    }

    /// A user of `role` in `region`, signed in through the login page;
    /// returns the `cookie` header value.
    pub async fn sign_in_page(&self, role: &str, region: &str) -> String {
        let name = unique("s");
        let password = "correct horse battery";
        self.services
            .add_user(parse_new_user(&name, role, region, password).unwrap())
            .await
            .unwrap();
        let r = self
            .http
            .post(self.url("/login"))
            .form(&[("username", name.as_str()), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "signed in");
        let set = r.headers()["set-cookie"].to_str().unwrap();
        set.split(';').next().unwrap().to_string()
    }

    /// Posts a page's form with a session cookie; the answer as it came.
    pub async fn post_page(
        &self,
        path: &str,
        cookie: &str,
        form: &[(&str, String)],
    ) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A page as a signed-in user sees it: the status and the HTML.
    pub async fn page(&self, path: &str, cookie: &str) -> (u16, String) {
        let r = self
            .http
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Moves the manual clock forward.
    pub fn advance_hours(&self, hours: i64) {
        self.clock.advance(chrono::Duration::hours(hours));
    }
}

/// A declaration of POLICY.md's example 1: from 西罗园街道, left 01-26,
/// arriving 01-28 in 园丁社区 (330784001001).
pub fn declaration() -> Value {
    json!({
        "name": "张三",
        "id_type": "resident",
        "id_number": "11010519491231002X",
        "phone": "13800138000",
        "origin": {"county": "110106", "township": "110106003", "departed_on": "2022-01-26"},
        "arrival": {"date": "2022-01-28", "mode": "train", "number": "G1234"},
        "destination": {"village": "330784001001", "address": "园丁路1号"},
        "health_code": "green",
        "vaccine_doses": 3
    })
}

/// A valid resident ID for a given sequence number, with its check digit.
pub fn resident_id(n: u32) -> String {
    let body = format!("330784199001{:02}{:03}", 1 + (n / 1000) % 28, n % 1000);
    let body = &body[..17];
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// Lists 西罗园街道 (medium since 01-15), as in POLICY.md's examples, and
/// returns the command's session that listed it.
pub async fn with_xiluoyuan(app: &TestApp) -> String {
    let command = app.login_as("command", "330784").await;
    let (s, body) = app
        .post(
            &command,
            "/api/v1/risk-areas",
            json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    command
}

/// The CSRF token a page's forms carry.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

/// Where a redirect points.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}
