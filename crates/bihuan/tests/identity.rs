//! Who a person is, and who may speak for them: a declaration never
//! overwrites the identity on file (the grid verifies a change first), a
//! receipt shows only its own declaration, 代扫 needs the full name, tubes
//! stay inside the sampler's region, logins are counted atomically, and
//! accounts and tokens can be disabled, revoked and expire. Runs on SQLite,
//! and on PostgreSQL when BIHUAN_TEST_POSTGRES is set.

mod support;

use serde_json::{Value, json};
use support::{TestApp, declaration, spawn};

const CITY: &str = "330784";
const GRID: &str = "330784001001001";
const OTHER_VILLAGE: &str = "330784002001";
const OTHER_GRID: &str = "330784002001001";

async fn with_xiluoyuan(app: &TestApp) {
    let command = app.login_as("command", CITY).await;
    let (s, body) = app
        .post(
            &command,
            "/api/v1/risk-areas",
            json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.http.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Someone who knows 张三's ID number declares with their own name, phone
/// and another village.
fn impostor() -> Value {
    let mut d = declaration();
    d["name"] = json!("李四");
    d["phone"] = json!("13911112222");
    d["origin"] = json!({"county": "420106", "township": null, "departed_on": "2022-01-27"});
    d["destination"] = json!({"village": OTHER_VILLAGE, "address": "别处9号"});
    d
}

#[tokio::test]
async fn an_id_number_alone_does_not_take_over_a_person() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (s, victim) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{victim}");
    let person = victim["person_id"].as_i64().unwrap();
    let (s, attacker) = app.declare(impostor()).await;
    assert_eq!(s, 201, "the signal is stored and triaged: {attacker}");
    assert_eq!(attacker["person_id"], person);
    assert_eq!(attacker["assessment"]["category"], "out_of_province");
    assert_eq!(attacker["identity_pending"], true);
    assert_eq!(
        attacker["control"]["category"], "out_of_province",
        "the answer speaks of this declaration, not of the running control"
    );

    // Nothing on file changed: the right grid keeps the person, the
    // declared one cannot see them.
    let worker = app.login_as("grid_worker", GRID).await;
    let (s, p) = app.get(&worker, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["name"], "张三");
    assert_eq!(p["phone"], "138****8000");
    assert_eq!(p["region"], GRID);
    assert_eq!(p["control"]["category"], "risk_street");
    let change = &p["identity_changes"][0];
    assert_eq!(change["name"], "李四");
    assert_eq!(change["phone_masked"], "139****2222");
    assert_eq!(change["region"], OTHER_GRID);
    let other = app.login_as("grid_worker", OTHER_GRID).await;
    assert_eq!(
        app.get(&other, &format!("/api/v1/persons/{person}"))
            .await
            .0,
        404
    );
    // The verification task at the grid on file says what to verify.
    let (_, list) = app.get(&worker, "/api/v1/tasks").await;
    let task = &list.as_array().unwrap()[0];
    assert_eq!(task["kind"], "verify");
    assert_eq!(task["region"], GRID);
    let reason = task["reason"].as_str().unwrap();
    assert!(
        reason.contains("信息变更待核实") && reason.contains(OTHER_VILLAGE),
        "{reason}"
    );

    // The attacker's receipt shows no victim: not their name, control,
    // earlier travel; no check-in or help by it.
    let receipt = attacker["receipt"].as_str().unwrap();
    let (s, html) = page(&app, &format!("/s/{receipt}")).await;
    assert_eq!(s, 200);
    assert!(!html.contains("西罗园"), "earlier travel leaks");
    assert!(!html.contains("张*"), "the name on file leaks");
    assert!(html.contains("李*"));
    assert!(html.contains("已转所在网格核实"));
    assert!(!html.contains("id=\"check-in\""));
    let (s, e) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt}/check-ins"),
            json!({"temperature": "36.5"}),
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("identity_pending")));
    let (s, _) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt}/help"),
            json!({"kind": "groceries"}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        app.get("", &format!("/api/v1/status/{receipt}/help"))
            .await
            .0,
        409
    );
    // The victim's own receipt still works, and shows their own reasons.
    let own = victim["receipt"].as_str().unwrap();
    let (_, html) = page(&app, &format!("/s/{own}")).await;
    assert!(html.contains("西罗园"));
    let (s, _) = app
        .post(
            "",
            &format!("/api/v1/status/{own}/check-ins"),
            json!({"temperature": "36.5"}),
        )
        .await;
    assert_eq!(s, 201);

    // The grid confirms (say the person really changed name and phone):
    // the change applies, and the receipt may now speak for the person.
    let id = task["id"].as_i64().unwrap();
    app.post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    let (s, t) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified", "identity": {
                "declaration_id": attacker["declaration_id"], "confirm": true}}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let (s, p) = app.get(&other, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["name"], "李四");
    assert_eq!(p["phone"], "139****2222");
    assert!(p["identity_changes"].as_array().unwrap().is_empty());
    let (_, html) = page(&app, &format!("/s/{receipt}")).await;
    assert!(!html.contains("已转所在网格核实"));
    assert!(
        !html.contains("西罗园"),
        "still no other declaration's travel"
    );
    // Answered once only.
    let (s, _) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified", "identity": {
                "declaration_id": attacker["declaration_id"], "confirm": false}}),
        )
        .await;
    assert_ne!(s, 200);
}

#[tokio::test]
async fn a_rejected_change_leaves_the_person_as_on_file() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (_, victim) = app.declare(declaration()).await;
    let person = victim["person_id"].as_i64().unwrap();
    let (_, attacker) = app.declare(impostor()).await;
    let worker = app.login_as("grid_worker", GRID).await;
    let (_, list) = app.get(&worker, "/api/v1/tasks").await;
    let id = list[0]["id"].as_i64().unwrap();
    app.post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    let (s, t) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified", "note": "本人未变更", "identity": {
                "declaration_id": attacker["declaration_id"], "confirm": false}}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let (_, p) = app.get(&worker, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(
        (p["name"].as_str(), p["region"].as_str()),
        (Some("张三"), Some(GRID))
    );
    let receipt = attacker["receipt"].as_str().unwrap();
    let (s, _) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt}/check-ins"),
            json!({"temperature": "36.5"}),
        )
        .await;
    assert_eq!(s, 409, "a rejected receipt never speaks for the person");
}

/// 100 tries at once, as a burst: the statuses in order of the answers.
async fn burst(app: &TestApp, username: &str) -> Vec<u16> {
    let mut all = Vec::new();
    for _ in 0..100 {
        let (http, url, name) = (
            app.http.clone(),
            app.url("/api/v1/session"),
            username.to_string(),
        );
        all.push(tokio::spawn(async move {
            http.post(url)
                .json(&json!({"username": name, "password": "wrong one!"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for h in all {
        statuses.push(h.await.unwrap());
    }
    statuses.sort_unstable();
    statuses
}

#[tokio::test]
async fn parallel_logins_cannot_outrun_the_lockout() {
    let app = spawn().await;
    app.services
        .add_user(
            bihuan::usecases::auth::parse_new_user("wang", "town", "330784001", "a long password")
                .unwrap(),
        )
        .await
        .unwrap();
    let before = app.services.logins.password_checks();
    let known = burst(&app, "wang").await;
    let checks = app.services.logins.password_checks() - before;
    assert!(checks <= 5, "{checks} password checks for 100 tries");
    assert_eq!(known.iter().filter(|s| **s == 401).count(), 5, "{known:?}");
    assert!(known.iter().all(|s| *s == 401 || *s == 429), "{known:?}");
    // An unknown name answers exactly alike: it does not tell who exists.
    let unknown = burst(&app, "nobody").await;
    assert_eq!(known, unknown);
    // The right password is refused while locked, and works afterwards.
    let (s, _) = app
        .post(
            "",
            "/api/v1/session",
            json!({"username": "wang", "password": "a long password"}),
        )
        .await;
    assert_eq!(s, 429);
    app.advance_hours(2);
    let (s, b) = app
        .post(
            "",
            "/api/v1/session",
            json!({"username": "wang", "password": "a long password"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn the_session_api_is_rate_limited() {
    let app = support::spawn_with(|s| s.public_rate_limit = 3).await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let (s, _) = app
            .post(
                "",
                "/api/v1/session",
                json!({"username": format!("n{i}"), "password": "whatever!"}),
            )
            .await;
        statuses.push(s);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}
