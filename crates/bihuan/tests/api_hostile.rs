//! Hostile input: every bad request gets a 4xx with a clear message, and
//! nothing is stored. No input gets a 500.

mod support;

use serde_json::{Value, json};
use sqlx::Row;
use support::{TestApp, declaration, spawn, spawn_with};

async fn stored(app: &TestApp) -> (i64, i64, i64) {
    let pool = app.services.db.pool();
    let count = |table: &'static str| async move {
        sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap()
            .get::<i64, _>(0)
    };
    (
        count("persons").await,
        count("declarations").await,
        count("tasks").await,
    )
}

async fn post_raw(app: &TestApp, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let r = app
        .http
        .post(app.url("/api/v1/declarations"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn with(path: &[&str], value: Value) -> Value {
    let mut body = declaration();
    let mut at = &mut body;
    for (i, key) in path.iter().enumerate() {
        if i + 1 == path.len() {
            at[*key] = value.clone();
        } else {
            at = &mut at[*key];
        }
    }
    body
}

fn fields(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn malformed_and_oversized_bodies() {
    let app = spawn().await;
    let (s, b) = post_raw(&app, "{\"name\": ").await;
    assert_eq!(s, 400, "{b}");
    assert!(b["message"].is_string() && b["message_en"].is_string());
    let (s, _) = post_raw(&app, "").await;
    assert_eq!(s, 400);
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(70 * 1024));
    let (s, _) = post_raw(&app, huge).await;
    assert_eq!(s, 413);
    let (s, _) = post_raw(&app, "[1,2,3]").await;
    assert_eq!(s, 422);
    assert_eq!(stored(&app).await, (0, 0, 0));
}

#[tokio::test]
async fn every_field_is_checked_with_messages_in_both_languages() {
    let app = spawn().await;
    let cases: Vec<(Value, &str)> = vec![
        (with(&["vaccine_doses"], json!("three")), "vaccine_doses"),
        (with(&["vaccine_doses"], json!(1e100)), "vaccine_doses"),
        (with(&["vaccine_doses"], json!(-1)), "vaccine_doses"),
        (with(&["name"], json!(123)), "name"),
        (with(&["itinerary"], json!("x")), "itinerary"),
        (with(&["surprise"], json!(1)), ""),
        (with(&["origin", "extra"], json!(1)), "origin"),
        (with(&["name"], json!("")), "name"),
        (with(&["name"], json!("x".repeat(10_000))), "name"),
        (with(&["name"], json!("张\u{0}三")), "name"),
        (
            with(&["id_number"], json!("110105194912310021")),
            "id_number",
        ),
        (
            with(&["id_number"], json!("110105194902300020")),
            "id_number",
        ),
        (
            with(&["id_number"], json!("110105209912310020")),
            "id_number",
        ),
        (with(&["id_number"], json!("' OR '1'='1")), "id_number"),
        (with(&["id_type"], json!("drivers_licence")), "id_type"),
        (with(&["phone"], json!("12345678901")), "phone"),
        (with(&["phone"], json!("<script>")), "phone"),
        (
            with(&["arrival", "date"], json!("2022-13-01")),
            "arrival.date",
        ),
        (
            with(&["arrival", "date"], json!("2022-02-30")),
            "arrival.date",
        ),
        (
            with(&["arrival", "date"], json!("2022-03-30")),
            "arrival.date",
        ),
        (
            with(&["arrival", "date"], json!("28/01/2022")),
            "arrival.date",
        ),
        (with(&["arrival", "mode"], json!("rocket")), "arrival.mode"),
        (
            with(&["arrival", "number"], json!("G1'; --")),
            "arrival.number",
        ),
        (
            with(&["origin", "county"], json!("110106; DROP TABLE persons")),
            "origin.county",
        ),
        (
            with(&["origin", "township"], json!("330784001")),
            "origin.township",
        ),
        (
            with(&["origin", "departed_on"], json!("2022-01-29")),
            "origin.departed_on",
        ),
        (
            with(&["destination", "village"], json!("330784001999")),
            "destination.village",
        ),
        (
            with(&["destination", "village"], json!("110106003001")),
            "destination.village",
        ),
        (
            with(&["destination", "village"], json!("<b>")),
            "destination.village",
        ),
        (
            with(&["destination", "address"], json!("")),
            "destination.address",
        ),
        (with(&["health_code"], json!("purple")), "health_code"),
        (
            with(&["symptoms"], json!(["fever", "headache"])),
            "symptoms.1",
        ),
        (
            with(&["negative_test_48h"], json!("2022-01-20")),
            "negative_test_48h",
        ),
        (
            with(
                &["abroad"],
                json!({"country": "usa", "entered_china_on": "2022-01-20"}),
            ),
            "abroad.country",
        ),
        (
            with(
                &["itinerary"],
                json!([{"county": "420106", "from": "2022-01-27", "to": "2022-01-26"}]),
            ),
            "itinerary.0.to",
        ),
        (
            with(
                &["itinerary"],
                json!([{"county": "420106", "from": "2022-01-27", "to": "2022-01-29"}]),
            ),
            "itinerary.0.to",
        ),
    ];
    for (body, field) in cases {
        let (s, e) = app.declare(body.clone()).await;
        assert_eq!(s, 422, "{field}: {e}");
        let named = fields(&e);
        assert!(
            named.iter().any(|f| f.starts_with(field)),
            "{field}: {named:?}"
        );
        for err in e["errors"].as_array().unwrap() {
            assert!(!err["message"].as_str().unwrap().is_empty());
            assert!(!err["message_en"].as_str().unwrap().is_empty());
            assert!(!err["code"].as_str().unwrap().is_empty());
        }
    }
    assert_eq!(stored(&app).await, (0, 0, 0));
}

#[tokio::test]
async fn sql_and_html_in_free_text_are_only_data() {
    let app = spawn().await;
    let mut body = declaration();
    body["name"] = json!("Robert'); DROP TABLE persons;--");
    body["destination"]["address"] = json!("<script>alert(1)</script>' OR 1=1 --");
    let (s, d) = app.declare(body).await;
    assert_eq!(s, 201, "{d}");
    let worker = app.login_as("grid_worker", "330784001001001").await;
    let (s, p) = app
        .get(&worker, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    assert_eq!(s, 200);
    assert_eq!(p["name"], "Robert'); DROP TABLE persons;--");
    assert_eq!(stored(&app).await.0, 1);
}

#[tokio::test]
async fn hostile_paths_and_queries_get_4xx() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    for path in [
        "/api/v1/persons/abc",
        "/api/v1/persons/99999999999999999999999",
        "/api/v1/persons/1%27%20OR%201=1",
        "/api/v1/tasks?state=bogus",
        "/api/v1/tasks?after=x",
        "/api/v1/regions/'%20OR%201=1",
        "/api/v1/divisions?parent=1",
        "/s/..%2F..%2Fetc%2Fpasswd",
    ] {
        let r = app
            .http
            .get(app.url(path))
            .bearer_auth(&command)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        assert!((400..500).contains(&s), "{path}: {s}");
    }
    let (s, list) = app
        .get(&command, "/api/v1/tasks?region=%27%20OR%201=1")
        .await;
    assert_eq!((s, list), (200, json!([])));
    for (path, body) in [
        ("/api/v1/tasks/1/report", json!({"outcome": 5})),
        (
            "/api/v1/risk-areas",
            json!({"county": ["110106"], "level": "high", "since": "2022-01-20"}),
        ),
        ("/api/v1/session", json!({"username": "x"})),
    ] {
        let (s, _) = app.post(&command, path, body).await;
        assert!((400..500).contains(&s), "{path}: {s}");
    }
}

#[tokio::test]
async fn the_public_form_is_rate_limited_per_address() {
    let app = spawn_with(|s| s.public_rate_limit = 3).await;
    let mut statuses = vec![];
    for n in 0..5 {
        let mut body = declaration();
        body["id_number"] = json!(support::resident_id(n));
        statuses.push(app.declare(body).await.0);
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
    assert_eq!(stored(&app).await.1, 3);
}
