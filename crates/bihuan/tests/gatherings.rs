//! 集聚性活动报备: each tier walks its own path through the states, town and
//! city tiers need 5 working days' notice (holidays are data), 宴会缓办
//! refuses new reports, approval gives a venue code guests check in with, a
//! positive guest puts the other guests on a 协查 list, and a town tightens
//! a rule only with the city's approval. Hostile input stores nothing.

mod support;

use serde_json::{Value, json};
use support::{TestApp, count, declaration, resident_id, spawn};

const VILLAGE: &str = "330784002001";
const TOWN: &str = "330784002";
const OTHER_VILLAGE: &str = "330784001001";
/// The test clock's day (Friday 2022-01-28); with the Spring Festival in
/// the shipped policy (01-29/30 worked, 01-31..02-06 off) the 5th working
/// day after it is 02-09.
const TODAY: &str = "2022-01-28";
const FIFTH_WORKING_DAY: &str = "2022-02-09";

fn guest(n: u32) -> Value {
    json!({"id_number": resident_id(n), "name": format!("宾客{n}"), "phone": format!("139{:08}", n)})
}

fn report(headcount: i64, date: &str, village: &str) -> Value {
    json!({
        "kind": "wedding",
        "date": date,
        "village": village,
        "address": "新华路8号文化礼堂",
        "tables": headcount / 10 + 1,
        "headcount": headcount,
        "out_of_town": 2,
        "host_name": "李四",
        "host_phone": "13800000001",
        "cook_name": "王厨",
        "cook_phone": "13800000002",
        "cook_health_cert": true,
        "health_pledge": true,
        "guests": [guest(1), guest(2)]
    })
}

async fn submit(app: &TestApp, body: Value) -> (u16, Value) {
    app.post("", "/api/v1/gatherings", body).await
}

async fn step(app: &TestApp, token: &str, id: i64, what: &str) -> (u16, Value) {
    app.post(token, &format!("/api/v1/gatherings/{id}/{what}"), json!({}))
        .await
}

async fn receipt_state(app: &TestApp, receipt: &Value) -> Value {
    let r = app
        .http
        .get(app.url(&format!(
            "/api/v1/gathering-receipts/{}",
            receipt.as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_self_managed_event_is_filed_with_the_village_and_runs_to_its_end() {
    let app = spawn().await;
    let (s, r) = submit(&app, report(30, TODAY, VILLAGE)).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["tier"], "self_managed");
    assert_eq!(r["state"], "submitted");
    let id = r["id"].as_i64().unwrap();
    let village = app.login_as("village", VILLAGE).await;
    let town = app.login_as("town", TOWN).await;
    // Nothing waits for the town on a self-managed event.
    assert_eq!(step(&app, &town, id, "approve").await.0, 403);
    let (s, g) = step(&app, &village, id, "approve").await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["state"], "approved");
    let seen = receipt_state(&app, &r["receipt"]).await;
    assert_eq!(seen["state"], "approved");
    assert!(
        seen["venue_code"].as_str().unwrap().starts_with('V'),
        "{seen}"
    );
    assert_eq!(step(&app, &village, id, "finish").await.0, 409);
    assert_eq!(
        step(&app, &village, id, "start").await.1["state"],
        "ongoing"
    );
    assert_eq!(step(&app, &village, id, "finish").await.1["state"], "ended");
    assert_eq!(
        receipt_state(&app, &r["receipt"]).await["state_zh"],
        "已结束"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'gathering_step'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn a_town_tier_event_needs_five_working_days_then_village_and_town() {
    let app = spawn().await;
    let (s, r) = submit(&app, report(120, "2022-02-08", VILLAGE)).await;
    assert_eq!(s, 422, "{r}");
    assert!(r.to_string().contains("2022-02-09"), "{r}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM gatherings").await, 0);
    let (s, r) = submit(&app, report(120, FIFTH_WORKING_DAY, VILLAGE)).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["tier"], "town");
    let id = r["id"].as_i64().unwrap();
    let village = app.login_as("village", VILLAGE).await;
    let town = app.login_as("town", TOWN).await;
    let command = app.login_as("command", "330784").await;
    assert_eq!(step(&app, &town, id, "approve").await.0, 403);
    assert_eq!(
        step(&app, &village, id, "approve").await.1["state"],
        "village_checked"
    );
    assert_eq!(
        receipt_state(&app, &r["receipt"]).await["state"],
        "village_checked"
    );
    assert_eq!(step(&app, &village, id, "approve").await.0, 403);
    assert_eq!(step(&app, &command, id, "approve").await.0, 403);
    let (s, g) = step(&app, &town, id, "approve").await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["state"], "approved");
    assert!(g["venue_id"].as_i64().is_some());
}

#[tokio::test]
async fn a_city_tier_event_is_approved_by_the_city_and_guests_check_in_by_its_code() {
    let app = spawn().await;
    let (s, r) = submit(&app, report(250, FIFTH_WORKING_DAY, VILLAGE)).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["tier"], "city");
    let id = r["id"].as_i64().unwrap();
    let village = app.login_as("village", VILLAGE).await;
    let town = app.login_as("town", TOWN).await;
    let command = app.login_as("command", "330784").await;
    assert!(receipt_state(&app, &r["receipt"]).await["venue_code"].is_null());
    assert_eq!(step(&app, &village, id, "approve").await.0, 200);
    assert_eq!(step(&app, &town, id, "approve").await.0, 403);
    let (s, g) = step(&app, &command, id, "approve").await;
    assert_eq!(s, 200, "{g}");
    let (s, detail) = app.get(&village, &format!("/api/v1/gatherings/{id}")).await;
    assert_eq!(s, 200, "{detail}");
    let code = detail["venue_code"].as_str().unwrap().to_string();
    assert_eq!(detail["guests"].as_array().unwrap().len(), 2);
    // Guests' documents never leave unmasked.
    assert!(!detail.to_string().contains(&resident_id(1)), "{detail}");
    // The real public check-in path takes the code.
    let (s, v) = app
        .post(
            "",
            &format!("/api/v1/venue-codes/{code}/visits"),
            json!({"id_number": resident_id(1), "name": "宾客1", "phone": "13900000001"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(v["venue"].as_str().unwrap().contains("李四家婚礼"), "{v}");
    let venue = g["venue_id"].as_i64().unwrap();
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM venues WHERE id = {venue} AND kind = 'gathering' AND state = 'approved'")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn banquets_postponed_refuses_new_reports_until_lifted() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let town = app.login_as("town", TOWN).await;
    assert_eq!(
        app.post(&town, "/api/v1/gathering-pause", json!({"paused": true}))
            .await
            .0,
        403
    );
    let (s, p) = app
        .post(
            &command,
            "/api/v1/gathering-pause",
            json!({"paused": true, "reason": "本土疫情"}),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["paused"], true);
    assert!(p["set_by"].as_str().is_some_and(|x| !x.is_empty()));
    let (s, r) = submit(&app, report(30, TODAY, VILLAGE)).await;
    assert_eq!(s, 409, "{r}");
    let text = r.to_string();
    assert!(
        text.contains("宴会缓办") && text.contains("postponed"),
        "{r}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM gatherings").await, 0);
    app.post(
        &command,
        "/api/v1/gathering-pause",
        json!({"paused": false}),
    )
    .await;
    assert_eq!(submit(&app, report(30, TODAY, VILLAGE)).await.0, 201);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'gathering_pause'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn a_positive_guest_puts_the_other_guests_on_a_assist_list() {
    let app = spawn().await;
    // 张三 (on file by declaration) and a second declared guest.
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let mut other = declaration();
    other["id_number"] = json!(resident_id(7));
    other["name"] = json!("赵六");
    other["phone"] = json!("13900000007");
    let (s, d) = app.declare(other).await;
    assert_eq!(s, 201, "{d}");
    let mut body = report(30, TODAY, VILLAGE);
    body["guests"] = json!([
        {"id_number": "11010519491231002X", "name": "张三", "phone": "13800138000"},
        {"id_number": resident_id(7), "name": "赵六", "phone": "13900000007"},
        guest(1),
    ]);
    let (s, r) = submit(&app, body).await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    let village = app.login_as("village", VILLAGE).await;
    assert_eq!(step(&app, &village, id, "approve").await.0, 200);
    // A wedding still to come, 张三 invited: it exposed no one yet.
    let mut later = report(30, FIFTH_WORKING_DAY, VILLAGE);
    later["guests"] = json!([
        {"id_number": "11010519491231002X", "name": "张三", "phone": "13800138000"},
        guest(2),
    ]);
    let (s, r) = submit(&app, later).await;
    assert_eq!(s, 201, "{r}");
    let later = r["id"].as_i64().unwrap();
    assert_eq!(step(&app, &village, later, "approve").await.0, 200);
    let command = app.login_as("command", "330784").await;
    let (s, c) = app
        .post(
            &command,
            "/api/v1/trace-cases",
            json!({"id_type": "resident", "id_number": "11010519491231002X", "start_date": TODAY}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let (_, detail) = app.get(&command, &format!("/api/v1/gatherings/{id}")).await;
    let list = detail["assist_list_id"].as_i64().expect("a 协查 list");
    let (s, l) = app
        .get(&command, &format!("/api/v1/assist-lists/{list}"))
        .await;
    assert_eq!(s, 200, "{l}");
    let rows = l["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["赵六", "宾客1"], "the positive guest is not on it");
    assert_eq!(rows[0]["state"], "tasked", "{l}");
    let (_, detail) = app
        .get(&command, &format!("/api/v1/gatherings/{later}"))
        .await;
    assert!(detail["assist_list_id"].is_null(), "{detail}");
    // A second case does not make a second list.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM assist_lists").await, 1);
}

#[tokio::test]
async fn a_town_tightens_only_stricter_and_only_once_the_city_approves() {
    let app = spawn().await;
    let town = app.login_as("town", TOWN).await;
    let command = app.login_as("command", "330784").await;
    let propose =
        |key: &str, value: i64| json!({"key": key, "value": value, "reason": "近期宴席聚集多"});
    let (s, r) = app
        .post(
            &town,
            "/api/v1/policy-overrides",
            propose("gathering.self_managed_below", 80),
        )
        .await;
    assert_eq!(s, 422, "looser is refused: {r}");
    let (s, r) = app
        .post(&town, "/api/v1/policy-overrides", propose("window_days", 7))
        .await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(
        app.post(
            &command,
            "/api/v1/policy-overrides",
            propose("gathering.self_managed_below", 30)
        )
        .await
        .0,
        403
    );
    let (s, o) = app
        .post(
            &town,
            "/api/v1/policy-overrides",
            propose("gathering.self_managed_below", 30),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["state"], "pending");
    let oid = o["id"].as_i64().unwrap();
    // Pending: no effect.
    let (_, r) = submit(&app, report(40, TODAY, VILLAGE)).await;
    assert_eq!(r["tier"], "self_managed", "{r}");
    assert_eq!(
        app.post(
            &town,
            &format!("/api/v1/policy-overrides/{oid}/approve"),
            json!({})
        )
        .await
        .0,
        403
    );
    let (s, o) = app
        .post(
            &command,
            &format!("/api/v1/policy-overrides/{oid}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["state"], "approved");
    assert!(o["decided_by"].as_str().is_some());
    // Approved: 40 guests now need the town (and its notice) in this town...
    let (s, r) = submit(&app, report(40, TODAY, VILLAGE)).await;
    assert_eq!(s, 422, "{r}");
    let (_, r) = submit(&app, report(40, FIFTH_WORKING_DAY, VILLAGE)).await;
    assert_eq!(r["tier"], "town", "{r}");
    // ...and nowhere else.
    let (_, r) = submit(&app, report(40, TODAY, OTHER_VILLAGE)).await;
    assert_eq!(r["tier"], "self_managed", "{r}");
    assert_eq!(
        app.post(
            &command,
            &format!("/api/v1/policy-overrides/{oid}/reject"),
            json!({})
        )
        .await
        .0,
        409
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind LIKE 'policy_override_%'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn hostile_reports_and_reviews_change_nothing() {
    let app = spawn().await;
    let (s, r) = submit(&app, report(30, TODAY, VILLAGE)).await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    // Another region's staff: 404 on read and on every step.
    let stranger = app.login_as("village", OTHER_VILLAGE).await;
    assert_eq!(
        app.get(&stranger, &format!("/api/v1/gatherings/{id}"))
            .await
            .0,
        404
    );
    assert_eq!(step(&app, &stranger, id, "approve").await.0, 404);
    let other_town = app.login_as("town", "330784001").await;
    assert_eq!(step(&app, &other_town, id, "cancel").await.0, 404);
    let grid = app.login_as("grid_worker", "330784002001001").await;
    assert_eq!(app.get(&grid, "/api/v1/gatherings").await.0, 403);
    let (_, listed) = app.get(&stranger, "/api/v1/gatherings").await;
    assert_eq!(listed.as_array().unwrap().len(), 0);
    // Oversize guest list, a bad document, no pledge, garbage: nothing stored.
    let mut big = report(30, TODAY, VILLAGE);
    big["guests"] = Value::Array((0..501).map(guest).collect());
    let (s, r) = submit(&app, big).await;
    assert!(s == 413 || s == 422, "{s} {r}");
    let mut bad = report(30, TODAY, VILLAGE);
    let good = resident_id(2);
    let flipped = if good.ends_with('1') { "2" } else { "1" };
    bad["guests"][1]["id_number"] = json!(format!("{}{flipped}", &good[..17]));
    let (s, r) = submit(&app, bad).await;
    assert_eq!(s, 422, "{r}");
    assert!(r.to_string().contains("guests.1.id_number"), "{r}");
    let mut unpledged = report(30, TODAY, VILLAGE);
    unpledged["health_pledge"] = json!(false);
    assert_eq!(submit(&app, unpledged).await.0, 422);
    let mut grid_level = report(30, TODAY, "330784002001001");
    grid_level["kind"] = json!("party");
    assert_eq!(submit(&app, grid_level).await.0, 422);
    let r = app
        .http
        .post(app.url("/api/v1/gatherings"))
        .header("content-type", "application/json")
        .body("{\"kind\": ")
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 400 | 422), "{}", r.status());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM gatherings").await, 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM gathering_guests").await,
        2
    );
    let r = app
        .http
        .get(app.url("/api/v1/gathering-receipts/not-a-receipt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
