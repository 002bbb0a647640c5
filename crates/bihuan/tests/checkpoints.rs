//! 卡口: a checkpoint records passages; a declared arrival is matched by
//! document or phone, an undeclared one is declared on their behalf through
//! the real path (triaged as usual) and verified at the destination grid, a
//! 转运 is handed over to that grid and escalates when not picked up in
//! time, repeats are idempotent, and outsiders are refused with no change.

mod support;

use serde_json::{Value, json};
use sqlx::Row;
use support::{TestApp, approved_venue, count, declaration, resident_id, spawn, with_xiluoyuan};

/// The checkpoint's village (another town than the travellers' destination).
const VILLAGE: &str = "330784002001";
/// Where the travellers are going: 园丁社区, town 330784001.
const DEST: &str = "330784001001";

/// A registered, approved checkpoint in VILLAGE: its id.
async fn checkpoint(app: &TestApp) -> i64 {
    approved_venue(app, "checkpoint", VILLAGE, "义东高速卡口").await
}

fn traveller(n: u32, decision: &str) -> Value {
    json!({
        "id_number": resident_id(n),
        "name": "李四",
        "phone": format!("139{:08}", n),
        "origin": {"county": "110106", "township": "110106003"},
        "health_code": "green",
        "trip_star": true,
        "negative_48h": false,
        "destination": {"village": DEST, "address": "园丁路2号"},
        "decision": decision
    })
}

fn passage(id: &str, checkpoint: i64, travellers: Vec<Value>) -> Value {
    json!({"passage_id": id, "checkpoint": checkpoint, "travellers": travellers})
}

async fn tasks_of(app: &TestApp, person: i64) -> Vec<Value> {
    let command = app.login_as("command", "330784").await;
    let (s, tasks) = app.get(&command, "/api/v1/tasks").await;
    assert_eq!(s, 200, "{tasks}");
    tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["person_id"] == person)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_declared_arrival_is_matched_by_document_or_phone() {
    let app = spawn().await;
    let cp = checkpoint(&app).await;
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let declared = d["declaration_id"].as_i64().unwrap();
    let person = d["person_id"].as_i64().unwrap();
    let staff = app.login_as("village", VILLAGE).await;
    // By document.
    let mut t = traveller(1, "pass");
    t["id_number"] = json!("11010519491231002X");
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            passage("p-1", cp, vec![t]),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["travellers"][0]["declaration_id"], declared, "{r}");
    assert_eq!(r["travellers"][0]["person_id"], person);
    assert_eq!(r["travellers"][0]["on_behalf"], false);
    // By phone, the document unknown here.
    let mut t = traveller(2, "sample_then_pass");
    t["phone"] = json!("13800138000");
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            passage("p-2", cp, vec![t]),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["travellers"][0]["declaration_id"], declared, "{r}");
    assert_eq!(r["travellers"][0]["on_behalf"], false);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM declarations").await, 1);
    // Past the window the declaration no longer matches: declared anew.
    app.advance_hours(73);
    let staff = app.login_as("village", VILLAGE).await;
    let mut t = traveller(3, "pass");
    t["id_number"] = json!("11010519491231002X");
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            passage("p-3", cp, vec![t]),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["travellers"][0]["on_behalf"], true, "{r}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM declarations").await, 2);
}

#[tokio::test]
async fn a_document_on_file_is_never_matched_to_a_relatives_declaration_by_phone() {
    let app = spawn().await;
    let cp = checkpoint(&app).await;
    let staff = app.login_as("village", VILLAGE).await;
    // The relative is turned back once: on file, never declared.
    let mut relative = traveller(5, "turned_back");
    relative["phone"] = json!("13800138000");
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            passage("p-1", cp, vec![relative.clone()]),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let relative_id = r["travellers"][0]["person_id"].as_i64().unwrap();
    // 张三 declares with the same phone.
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    assert_ne!(d["person_id"], relative_id);
    // The relative comes again: their own record, declared on their behalf.
    relative["decision"] = json!("pass");
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            passage("p-2", cp, vec![relative]),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["travellers"][0]["person_id"], relative_id, "{r}");
    assert_eq!(r["travellers"][0]["on_behalf"], true, "{r}");
    assert_ne!(r["travellers"][0]["declaration_id"], d["declaration_id"]);
}

#[tokio::test]
async fn an_undeclared_arrival_is_declared_on_behalf_triaged_and_verified() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let cp = checkpoint(&app).await;
    let token = app
        .services
        .add_api_token("gate-1", "checkpoint")
        .await
        .unwrap();
    let mut body = passage("car-1", cp, vec![traveller(7, "sample_and_observe")]);
    body["plate"] = json!("浙g·12345");
    let (s, r) = app.post(&token, "/api/v1/checkpoint-passages", body).await;
    assert_eq!(s, 201, "{r}");
    let t = &r["travellers"][0];
    assert_eq!(t["on_behalf"], true, "{r}");
    let declaration = t["declaration_id"].as_i64().unwrap();
    let person = t["person_id"].as_i64().unwrap();
    // Triaged as a declaration from 西罗园街道 is: the medium-risk street's measure.
    let row = sqlx::query("SELECT category, village FROM declarations WHERE id = $1")
        .bind(declaration)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "risk_street");
    assert_eq!(row.get::<String, _>(1), DEST);
    let (s, direct) = app
        .declare(json!({
            "name": "对照", "id_type": "resident", "id_number": resident_id(8),
            "phone": "13900000008",
            "origin": {"county": "110106", "township": "110106003", "departed_on": "2022-01-28"},
            "arrival": {"date": "2022-01-28", "mode": "car"},
            "destination": {"village": DEST, "address": "园丁路3号"},
            "health_code": "green", "vaccine_doses": 0
        }))
        .await;
    assert_eq!(s, 201, "{direct}");
    assert_eq!(direct["assessment"]["category"], "risk_street");
    // Marked as made by the checkpoint, and a 核查 at the destination grid.
    let by: String =
        sqlx::query("SELECT actor FROM events WHERE kind = 'declared' AND person_id = $1")
            .bind(person)
            .fetch_one(app.services.db.pool())
            .await
            .unwrap()
            .get(0);
    assert!(by.starts_with(&format!("checkpoint:{cp}:")), "{by}");
    let tasks = tasks_of(&app, person).await;
    let verify: Vec<&Value> = tasks.iter().filter(|t| t["kind"] == "verify").collect();
    assert_eq!(verify.len(), 1, "{tasks:?}");
    assert!(verify[0]["region"].as_str().unwrap().starts_with(DEST));
    assert!(
        verify[0]["reason"]
            .as_str()
            .unwrap()
            .contains("卡口代申报核查"),
        "{tasks:?}"
    );
    let plate: Option<String> = sqlx::query("SELECT plate FROM checkpoint_passages")
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(plate.as_deref(), Some("浙G12345"));
}

#[tokio::test]
async fn a_transfer_goes_through_every_state_and_closes_its_pickup_task() {
    let app = spawn().await;
    let cp = checkpoint(&app).await;
    let staff = app.login_as("village", VILLAGE).await;
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            passage("t-1", cp, vec![traveller(11, "transfer")]),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let transfer = r["travellers"][0]["transfer_id"].as_i64().unwrap();
    let person = r["travellers"][0]["person_id"].as_i64().unwrap();
    let town = app.login_as("town", "330784001").await;
    let (s, list) = app.get(&town, "/api/v1/transfers-out").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let grid = list[0]["grid"].as_str().unwrap().to_string();
    assert!(grid.starts_with(DEST));
    assert_eq!(list[0]["state"], "pending");
    let worker = app.login_as("grid_worker", &grid).await;
    let pickup = |tasks: &[Value]| {
        tasks
            .iter()
            .filter(|t| t["kind"] == "pickup")
            .map(|t| t["state"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(pickup(&tasks_of(&app, person).await), ["dispatched"]);
    // Skipping a state is refused and changes nothing.
    let path = format!("/api/v1/transfers-out/{transfer}/advance");
    let (s, e) = app.post(&worker, &path, json!({"to": "picked_up"})).await;
    assert_eq!(s, 422, "{e}");
    for (to, by) in [
        ("dispatched", &worker),
        ("picked_up", &worker),
        ("handed_over", &town),
    ] {
        let (s, v) = app.post(by, &path, json!({"to": to})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["state"], to);
    }
    let (s, e) = app.post(&worker, &path, json!({"to": "pending"})).await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(pickup(&tasks_of(&app, person).await), ["closed"]);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'checkpoint_transfer'"
        )
        .await,
        4
    );
    // Picked up in time: the sweep escalates nothing.
    app.advance_hours(3);
    app.services.run_jobs().await.unwrap();
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM tasks WHERE kind = 'pickup' AND escalated_to IS NOT NULL"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn an_overdue_pickup_escalates() {
    let app = spawn().await;
    let cp = checkpoint(&app).await;
    let staff = app.login_as("village", VILLAGE).await;
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            passage("t-2", cp, vec![traveller(12, "transfer")]),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    // Within the two hours nothing escalates.
    app.advance_hours(1);
    app.services.run_jobs().await.unwrap();
    let escalated = "SELECT COUNT(*) FROM tasks WHERE kind = 'pickup' AND escalated_to IS NOT NULL";
    assert_eq!(count(&app, escalated).await, 0);
    app.advance_hours(2);
    app.services.run_jobs().await.unwrap();
    assert_eq!(count(&app, escalated).await, 1);
    let town = app.login_as("town", "330784001").await;
    let (_, list) = app.get(&town, "/api/v1/transfers-out").await;
    assert_eq!(list[0]["overdue"], true, "{list}");
}

#[tokio::test]
async fn a_repeated_passage_is_stored_once() {
    let app = spawn().await;
    let cp = checkpoint(&app).await;
    let staff = app.login_as("village", VILLAGE).await;
    let body = passage(
        "dup-1",
        cp,
        vec![traveller(21, "transfer"), traveller(22, "pass")],
    );
    let (s, first) = app
        .post(&staff, "/api/v1/checkpoint-passages", body.clone())
        .await;
    assert_eq!(s, 201, "{first}");
    let (s, again) = app
        .post(&staff, "/api/v1/checkpoint-passages", body.clone())
        .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["repeated"], true);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["travellers"], first["travellers"]);
    // Sent twice at once.
    let body = passage("dup-2", cp, vec![traveller(23, "pass")]);
    let (a, b) = tokio::join!(
        app.post(&staff, "/api/v1/checkpoint-passages", body.clone()),
        app.post(&staff, "/api/v1/checkpoint-passages", body.clone()),
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [200, 201], "{a:?} {b:?}");
    assert_eq!(a.1["id"], b.1["id"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM checkpoint_passages").await,
        2
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM checkpoint_travellers").await,
        3
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM checkpoint_transfers").await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM declarations").await, 3);
    // Another checkpoint's tablet counts alike: its dup-1 is its own.
    let other = approved_venue(&app, "checkpoint", VILLAGE, "永康南站出口").await;
    let (s, theirs) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            passage("dup-1", other, vec![traveller(24, "pass")]),
        )
        .await;
    assert_eq!(s, 201, "{theirs}");
    assert_ne!(theirs["id"], first["id"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM checkpoint_passages").await,
        3
    );
}

#[tokio::test]
async fn outsiders_and_bad_input_change_nothing() {
    let app = spawn().await;
    let cp = checkpoint(&app).await;
    let staff = app.login_as("village", VILLAGE).await;
    let stored =
        "SELECT (SELECT COUNT(*) FROM checkpoint_passages) + (SELECT COUNT(*) FROM persons)
                  + (SELECT COUNT(*) FROM declarations) + (SELECT COUNT(*) FROM tasks)";
    let before = count(&app, stored).await;
    // A token of another scope: refused before the body is read.
    let pharmacy = app
        .services
        .add_api_token("pos-1", "pharmacy")
        .await
        .unwrap();
    let (s, _) = app
        .post(
            &pharmacy,
            "/api/v1/checkpoint-passages",
            passage("h-1", cp, vec![traveller(31, "pass")]),
        )
        .await;
    assert_eq!(s, 403);
    // Staff of another region do not see the checkpoint.
    let other = app.login_as("village", DEST).await;
    let (s, _) = app
        .post(
            &other,
            "/api/v1/checkpoint-passages",
            passage("h-2", cp, vec![traveller(32, "pass")]),
        )
        .await;
    assert_eq!(s, 404);
    // A bad document (check digit), a bad plate and an unknown decision:
    // each named, nothing stored.
    let mut t = traveller(33, "wave_through");
    let mut id = resident_id(33);
    let last = if id.ends_with('1') { '2' } else { '1' };
    id.pop();
    id.push(last);
    t["id_number"] = json!(id);
    let mut body = passage("h-3", cp, vec![traveller(34, "pass"), t]);
    body["plate"] = json!("ABC");
    let (s, e) = app.post(&staff, "/api/v1/checkpoint-passages", body).await;
    assert_eq!(s, 422, "{e}");
    let text = e.to_string();
    for field in ["travellers.1.id_number", "travellers.1.decision", "plate"] {
        assert!(text.contains(field), "{field}: {e}");
    }
    // Garbage and an unknown field.
    let r = app
        .http
        .post(app.url("/api/v1/checkpoint-passages"))
        .bearer_auth(&staff)
        .header("content-type", "application/json")
        .body("{\"passage_id\": ")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let mut body = passage("h-4", cp, vec![traveller(35, "pass")]);
    body["extra"] = json!(1);
    let (s, _) = app.post(&staff, "/api/v1/checkpoint-passages", body).await;
    assert!((400..500).contains(&s), "{s}");
    assert_eq!(count(&app, stored).await, before);
    // Another region's hand-over is not found, and stays as it was.
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            passage("h-5", cp, vec![traveller(36, "transfer")]),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let transfer = r["travellers"][0]["transfer_id"].as_i64().unwrap();
    let elsewhere = app.login_as("town", "330784002").await;
    let (s, _) = app
        .post(
            &elsewhere,
            &format!("/api/v1/transfers-out/{transfer}/advance"),
            json!({"to": "dispatched"}),
        )
        .await;
    assert_eq!(s, 404);
    let (_, list) = app.get(&elsewhere, "/api/v1/transfers-out").await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM checkpoint_transfers WHERE state = 'pending'"
        )
        .await,
        1
    );
    // The day's sheet is for the town or the city.
    let (s, _) = app.get(&staff, "/api/v1/checkpoint-passages.xlsx").await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn the_town_downloads_a_days_passages() {
    let app = spawn().await;
    let cp = checkpoint(&app).await;
    let staff = app.login_as("village", VILLAGE).await;
    let (s, _) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            passage("x-1", cp, vec![traveller(41, "turned_back")]),
        )
        .await;
    assert_eq!(s, 201);
    let town = app.login_as("town", "330784002").await;
    let r = app
        .http
        .get(app.url("/api/v1/checkpoint-passages.xlsx?date=2022-01-28"))
        .bearer_auth(&town)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx file");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'checkpoint_passages_exported'"
        )
        .await,
        1
    );
}
