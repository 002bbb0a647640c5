//! 药店哨点: a pharmacy reports purchases; a febrile buyer gets a fever
//! transfer at their own grid, a buyer without a recent negative test owes
//! one within 72 h or the grid is sent, bad input stores nothing, and only
//! a `pharmacy` token or the pharmacy's own region may report.

mod support;

use serde_json::{Value, json};
use support::{TestApp, approved_venue, count, declaration, resident_id, spawn};

/// The pharmacy's village and grid (a buyer new to the system lands here).
const VILLAGE: &str = "330784002001";
const GRID: &str = "330784002001001";

/// A registered, approved pharmacy in VILLAGE: its id.
async fn pharmacy(app: &TestApp) -> i64 {
    approved_venue(app, "pharmacy", VILLAGE, "康宁大药房").await
}

fn purchase(pharmacy: i64, n: u32) -> Value {
    json!({
        "pharmacy": pharmacy,
        "id_number": resident_id(n),
        "name": "王五",
        "phone": format!("139{:08}", n),
        "health_code": "green",
        "drugs": [{"class": "antitussive", "name": "急支糖浆", "qty": 1}],
        "for_someone_else": false
    })
}

async fn tasks_of(app: &TestApp, token: &str, person: i64) -> Vec<Value> {
    let (s, tasks) = app.get(token, "/api/v1/tasks").await;
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
async fn a_febrile_buyer_on_file_gets_a_fever_transfer_at_their_own_grid() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    // 张三 lives in 园丁社区 (town 330784001), buys in another town.
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let token = app
        .services
        .add_api_token("pos-1", "pharmacy")
        .await
        .unwrap();
    let mut body = purchase(pharmacy, 0);
    body["id_number"] = json!("11010519491231002X");
    body["name"] = json!("冒名");
    body["phone"] = json!("13700000000");
    body["temperature"] = json!("37.8");
    body["drugs"] = json!([{"class": "antipyretic", "name": "布洛芬", "qty": 2}]);
    let (s, r) = app.post(&token, "/api/v1/pharmacy-purchases", body).await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["fever_transfer"], true);
    let person = r["person_id"].as_i64().unwrap();
    let command = app.login_as("command", "330784").await;
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{person}"))
        .await;
    let home = p["region"].as_str().unwrap_or_default().to_string();
    assert!(home.starts_with("330784001001"), "{p}");
    // Identity on file is never overwritten by a purchase.
    assert_eq!(p["name"], "张三", "{p}");
    let tasks = tasks_of(&app, &command, person).await;
    let fever: Vec<&Value> = tasks
        .iter()
        .filter(|t| t["kind"] == "fever_transfer")
        .collect();
    assert_eq!(fever.len(), 1, "{tasks:?}");
    assert_eq!(fever[0]["region"], home.as_str());
    assert!(fever[0]["reason"].as_str().unwrap().contains("康宁大药房"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'pharmacy_purchase'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_negative_test_a_day_ago_owes_nothing() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let staff = app.login_as("village", VILLAGE).await;
    let (s, r) = app
        .post(&staff, "/api/v1/pharmacy-purchases", purchase(pharmacy, 1))
        .await;
    assert_eq!(s, 201, "{r}");
    let person = r["person_id"].as_i64().unwrap();
    assert!(
        r["test_due_at"].is_number(),
        "a first purchase owes a test: {r}"
    );
    // A negative sample taken yesterday morning, then a second purchase.
    let (s, t) = app
        .post(
            &staff,
            "/api/v1/tests",
            json!({"person_id": person, "sampled_at": "2022-01-27T10:00:00+08:00", "result": "negative"}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let (s, r) = app
        .post(&staff, "/api/v1/pharmacy-purchases", purchase(pharmacy, 1))
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["test_due_at"], Value::Null, "{r}");
    assert_eq!(r["fever_transfer"], false);
}

#[tokio::test]
async fn a_buyer_who_never_tests_gets_a_home_visit_after_72_hours() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let staff = app.login_as("village", VILLAGE).await;
    let (s, r) = app
        .post(&staff, "/api/v1/pharmacy-purchases", purchase(pharmacy, 2))
        .await;
    assert_eq!(s, 201, "{r}");
    let person = r["person_id"].as_i64().unwrap();
    app.advance_hours(71);
    app.services.run_jobs().await.unwrap();
    // Sessions end within hours: sign in again after the clock moved.
    let staff = app.login_as("village", VILLAGE).await;
    assert!(
        tasks_of(&app, &staff, person).await.is_empty(),
        "not yet due"
    );
    app.advance_hours(2);
    let report = app.services.run_jobs().await.unwrap();
    let staff = app.login_as("village", VILLAGE).await;
    assert_eq!(report.pharmacy_overdue, Some(1));
    let tasks = tasks_of(&app, &staff, person).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["kind"], "verify");
    assert_eq!(tasks[0]["region"], GRID);
    assert!(
        tasks[0]["reason"]
            .as_str()
            .unwrap()
            .contains("药店购药未按时检测")
    );
    // Once: the next run finds nothing left to do.
    app.advance_hours(1);
    app.services.run_jobs().await.unwrap();
    let staff = app.login_as("village", VILLAGE).await;
    assert_eq!(tasks_of(&app, &staff, person).await.len(), 1);
}

#[tokio::test]
async fn a_test_taken_in_time_is_matched_and_no_one_is_sent() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let staff = app.login_as("village", VILLAGE).await;
    let (s, r) = app
        .post(&staff, "/api/v1/pharmacy-purchases", purchase(pharmacy, 3))
        .await;
    assert_eq!(s, 201, "{r}");
    let person = r["person_id"].as_i64().unwrap();
    app.advance_hours(24);
    let staff = app.login_as("village", VILLAGE).await;
    let (s, t) = app
        .post(
            &staff,
            "/api/v1/tests",
            json!({"person_id": person, "sampled_at": "2022-01-29T09:00:00+08:00", "result": "negative"}),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    app.advance_hours(49);
    app.services.run_jobs().await.unwrap();
    let staff = app.login_as("village", VILLAGE).await;
    assert!(tasks_of(&app, &staff, person).await.is_empty());
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM pharmacy_purchases WHERE matched_test IS NOT NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn bad_input_answers_per_field_and_stores_nothing() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let staff = app.login_as("village", VILLAGE).await;
    let mut body = purchase(pharmacy, 4);
    let mut bad_id = resident_id(4);
    let last = if bad_id.ends_with('0') { "1" } else { "0" };
    bad_id.replace_range(17.., last);
    body["id_number"] = json!(bad_id);
    body["phone"] = json!("12");
    body["health_code"] = json!("purple");
    body["temperature"] = json!("hot");
    body["drugs"] = json!([{"class": "vitamin", "name": "维C", "qty": 0}]);
    let (s, e) = app.post(&staff, "/api/v1/pharmacy-purchases", body).await;
    assert_eq!(s, 422, "{e}");
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "id_number",
            "phone",
            "health_code",
            "temperature",
            "drugs.0.class",
            "drugs.0.qty"
        ],
        "{e}"
    );
    for err in e["errors"].as_array().unwrap() {
        assert!(!err["message"].as_str().unwrap().is_empty(), "{err}");
        assert!(!err["message_en"].as_str().unwrap().is_empty(), "{err}");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        0
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM persons").await, 0);
}

#[tokio::test]
async fn only_a_pharmacy_token_or_the_pharmacys_region_may_report() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let checkins = app
        .services
        .add_api_token("gate", "checkins")
        .await
        .unwrap();
    let (s, _) = app
        .post(
            &checkins,
            "/api/v1/pharmacy-purchases",
            purchase(pharmacy, 5),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .post("", "/api/v1/pharmacy-purchases", purchase(pharmacy, 5))
        .await;
    assert_eq!(s, 401);
    let elsewhere = app.login_as("village", "330784001001").await;
    let (s, _) = app
        .post(
            &elsewhere,
            "/api/v1/pharmacy-purchases",
            purchase(pharmacy, 5),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        0
    );
    // The same purchase id twice is stored once.
    let pos = app.services.add_api_token("pos", "pharmacy").await.unwrap();
    let mut body = purchase(pharmacy, 5);
    body["purchase_id"] = json!("POS-0001");
    let (s, first) = app
        .post(&pos, "/api/v1/pharmacy-purchases", body.clone())
        .await;
    assert_eq!(s, 201, "{first}");
    let (s, again) = app.post(&pos, "/api/v1/pharmacy-purchases", body).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        1
    );
    // Sent twice at the same moment (a POS retrying): one is stored, and
    // both answers name it.
    let mut body = purchase(pharmacy, 6);
    body["purchase_id"] = json!("POS-0002");
    let (a, b) = tokio::join!(
        app.post(&pos, "/api/v1/pharmacy-purchases", body.clone()),
        app.post(&pos, "/api/v1/pharmacy-purchases", body)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 201], "{} {}", a.1, b.1);
    assert_eq!(a.1["id"], b.1["id"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        2
    );
    // Another pharmacy's till counts alike: its POS-0001 is its own.
    let other = approved_venue(&app, "pharmacy", VILLAGE, "仁和药店").await;
    let mut body = purchase(other, 7);
    body["purchase_id"] = json!("POS-0001");
    let (s, theirs) = app.post(&pos, "/api/v1/pharmacy-purchases", body).await;
    assert_eq!(s, 201, "{theirs}");
    assert_ne!(theirs["id"], first["id"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        3
    );
}

/// 不得层层加码: a town's shorter test deadline for buyers holds at its
/// pharmacies only once the city approved it.
#[tokio::test]
async fn a_towns_shorter_test_deadline_applies_only_once_the_city_approved_it() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let pos = app
        .services
        .add_api_token("pos-1", "pharmacy")
        .await
        .unwrap();
    let town = app.login_as("town", "330784002").await;
    let command = app.login_as("command", "330784").await;
    let now = app.services.clock.timestamp();
    let (s, o) = app
        .post(
            &town,
            "/api/v1/policy-overrides",
            json!({"key": "pharmacy.test_within_hours", "value": 48, "reason": "购药人数上升"}),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    // Proposed, not approved: the city's 72 h.
    let (s, v) = app
        .post(&pos, "/api/v1/pharmacy-purchases", purchase(pharmacy, 1))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["test_due_at"], now + 72 * 3600, "{v}");
    let id = o["id"].as_i64().unwrap();
    let (s, o) = app
        .post(
            &command,
            &format!("/api/v1/policy-overrides/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{o}");
    let (s, v) = app
        .post(&pos, "/api/v1/pharmacy-purchases", purchase(pharmacy, 2))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["test_due_at"], now + 48 * 3600, "{v}");
}
