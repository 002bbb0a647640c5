//! 发热门诊: a febrile pharmacy buyer is referred; a fever-clinic visit in
//! the window answers the referral and closes the transfer task, none in time
//! and the task escalates; a positive visit opens a tracing case and a
//! positive control; a repeated visit id is stored once (and records a
//! pending result later); wrong scope, another region and bad fields change
//! nothing.

mod support;

use serde_json::{Value, json};
use sqlx::Row;
use support::{TestApp, approved_venue, count, resident_id, spawn};

/// The village of the pharmacy and the clinic (new people land in GRID).
const VILLAGE: &str = "330784002001";
const GRID: &str = "330784002001001";

/// A registered, approved venue of `kind` in VILLAGE: its id.
async fn venue(app: &TestApp, kind: &str, name: &str) -> i64 {
    approved_venue(app, kind, VILLAGE, name).await
}

fn febrile_purchase(pharmacy: i64, n: u32) -> Value {
    json!({
        "pharmacy": pharmacy,
        "id_number": resident_id(n),
        "name": "李四",
        "phone": format!("139{:08}", n),
        "health_code": "green",
        "temperature": "38.1",
        "drugs": [{"class": "antipyretic", "name": "布洛芬", "qty": 1}]
    })
}

fn visit(clinic: i64, n: u32, visit_id: &str, result: &str) -> Value {
    json!({
        "visit_id": visit_id,
        "clinic": clinic,
        "id_number": resident_id(n),
        "name": "李四",
        "phone": format!("139{:08}", n),
        "temperature": "38.0",
        "symptoms": ["cough"],
        "test": {"barcode": format!("FC{n:06}"), "sampled_at": "2022-01-28T09:00:00+08:00", "result": result}
    })
}

/// (state, escalated_to) of the person's fever-transfer task.
async fn transfer_task(app: &TestApp, person: i64) -> (String, Option<String>) {
    let r = sqlx::query(
        "SELECT state, escalated_to FROM tasks WHERE person_id = $1 AND kind = 'fever_transfer'",
    )
    .bind(person)
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test]
async fn a_clinic_visit_answers_the_pharmacy_referral_and_closes_the_transfer() {
    let app = spawn().await;
    let pharmacy = venue(&app, "pharmacy", "康宁大药房").await;
    let clinic = venue(&app, "fever_clinic", "第一人民医院发热门诊").await;
    let pos = app.services.add_api_token("pos", "pharmacy").await.unwrap();
    let (s, r) = app
        .post(
            &pos,
            "/api/v1/pharmacy-purchases",
            febrile_purchase(pharmacy, 1),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["fever_transfer"], true);
    let person = r["person_id"].as_i64().unwrap();
    let due: i64 = sqlx::query("SELECT due_at - created_at FROM tasks WHERE person_id = $1")
        .bind(person)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(due, 24 * 3600, "the referral window is the task's deadline");
    assert_eq!(transfer_task(&app, person).await.0, "dispatched");

    app.advance_hours(5);
    let his = app
        .services
        .add_api_token("his", "fever_clinic")
        .await
        .unwrap();
    let (s, v) = app
        .post(
            &his,
            "/api/v1/fever-clinic-visits",
            visit(clinic, 1, "V-1", "pending"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["person_id"], person, "matched by document: {v}");
    assert_eq!(v["transfers_closed"], 1);
    assert_eq!(transfer_task(&app, person).await.0, "closed");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM pharmacy_purchases WHERE matched_visit IS NOT NULL"
        )
        .await,
        1
    );
    // Closed and stays closed: the sweep past the window escalates nothing.
    app.advance_hours(30);
    app.services.run_jobs().await.unwrap();
    assert_eq!(transfer_task(&app, person).await, ("closed".into(), None));

    // The negative result posted later to the same visit id: stored once as
    // a test, and a second repeat changes nothing.
    let (s, again) = app
        .post(
            &his,
            "/api/v1/fever-clinic-visits",
            visit(clinic, 1, "V-1", "negative"),
        )
        .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["id"], v["id"]);
    assert_eq!(again["result_recorded"], true);
    assert_eq!(again["result"], "negative");
    let (s, third) = app
        .post(
            &his,
            "/api/v1/fever-clinic-visits",
            visit(clinic, 1, "V-1", "negative"),
        )
        .await;
    assert_eq!(s, 200, "{third}");
    assert_eq!(third["result_recorded"], false);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM fever_clinic_visits").await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM test_results WHERE result = 'negative'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_referral_with_no_visit_in_the_window_escalates() {
    let app = spawn().await;
    let pharmacy = venue(&app, "pharmacy", "康宁大药房").await;
    let clinic = venue(&app, "fever_clinic", "第一人民医院发热门诊").await;
    let staff = app.login_as("village", VILLAGE).await;
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/pharmacy-purchases",
            febrile_purchase(pharmacy, 2),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let person = r["person_id"].as_i64().unwrap();
    app.advance_hours(23);
    app.services.run_jobs().await.unwrap();
    assert_eq!(
        transfer_task(&app, person).await,
        ("dispatched".into(), None),
        "still within the window"
    );
    app.advance_hours(2);
    app.services.run_jobs().await.unwrap();
    let (state, to) = transfer_task(&app, person).await;
    assert_eq!(state, "dispatched");
    assert_eq!(to.as_deref(), Some(&GRID[..GRID.len() - 3]), "one level up");
    // A visit after the window answers no referral and closes nothing.
    let staff = app.login_as("village", VILLAGE).await;
    let mut late = visit(clinic, 2, "V-2", "pending");
    late["test"]["sampled_at"] = json!("2022-01-29T10:00:00+08:00");
    let (s, v) = app.post(&staff, "/api/v1/fever-clinic-visits", late).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["transfers_closed"], 0);
    assert_eq!(transfer_task(&app, person).await.0, "dispatched");
}

#[tokio::test]
async fn a_positive_visit_opens_a_case_and_a_positive_control() {
    let app = spawn().await;
    let clinic = venue(&app, "fever_clinic", "第一人民医院发热门诊").await;
    let his = app
        .services
        .add_api_token("his", "fever_clinic")
        .await
        .unwrap();
    let (s, v) = app
        .post(
            &his,
            "/api/v1/fever-clinic-visits",
            visit(clinic, 3, "V-3", "positive"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let person = v["person_id"].as_i64().unwrap();
    let command = app.login_as("command", "330784").await;
    let (s, p) = app
        .get(&command, &format!("/api/v1/persons/{person}"))
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["region"], GRID, "{p}");
    assert_eq!(p["control"]["status"], "positive", "{p}");
    let (s, cases) = app.get(&command, "/api/v1/trace-cases").await;
    assert_eq!(s, 200, "{cases}");
    let mine: Vec<&Value> = cases
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["person_id"] == person)
        .collect();
    assert_eq!(mine.len(), 1, "{cases}");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM tasks WHERE kind = 'positive' AND state <> 'closed'"
        )
        .await,
        1
    );
    // The same visit again: no second case, no second test.
    let (s, again) = app
        .post(
            &his,
            "/api/v1/fever-clinic-visits",
            visit(clinic, 3, "V-3", "positive"),
        )
        .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM trace_cases").await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM test_results").await, 1);

    // A pending visit turned positive later takes the same path.
    let (s, v) = app
        .post(
            &his,
            "/api/v1/fever-clinic-visits",
            visit(clinic, 4, "V-4", "pending"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM trace_cases").await, 1);
    let (s, r) = app
        .post(
            &his,
            "/api/v1/fever-clinic-visits",
            visit(clinic, 4, "V-4", "positive"),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["result_recorded"], true);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM trace_cases").await, 2);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM controls WHERE status = 'positive'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn wrong_scope_other_region_and_bad_fields_change_nothing() {
    let app = spawn().await;
    let clinic = venue(&app, "fever_clinic", "第一人民医院发热门诊").await;
    let pharmacy = venue(&app, "pharmacy", "康宁大药房").await;
    // A pharmacy's token may not report visits: 403 before the body.
    let pos = app.services.add_api_token("pos", "pharmacy").await.unwrap();
    let (s, _) = app
        .post(
            &pos,
            "/api/v1/fever-clinic-visits",
            visit(clinic, 5, "V-5", "pending"),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = app
        .post(
            "",
            "/api/v1/fever-clinic-visits",
            visit(clinic, 5, "V-5", "pending"),
        )
        .await;
    assert_eq!(s, 401);
    // Staff of another town: the clinic is not theirs to see.
    let elsewhere = app.login_as("village", "330784001001").await;
    let (s, _) = app
        .post(
            &elsewhere,
            "/api/v1/fever-clinic-visits",
            visit(clinic, 5, "V-5", "pending"),
        )
        .await;
    assert_eq!(s, 404);
    // A pharmacy is not a fever clinic.
    let staff = app.login_as("village", VILLAGE).await;
    let (s, e) = app
        .post(
            &staff,
            "/api/v1/fever-clinic-visits",
            visit(pharmacy, 5, "V-5", "pending"),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    // Every field wrong: each named, in both languages.
    let mut bad = visit(clinic, 5, " ", "maybe");
    let mut bad_id = resident_id(5);
    let last = if bad_id.ends_with('0') { "1" } else { "0" };
    bad_id.replace_range(17.., last);
    bad["id_number"] = json!(bad_id);
    bad["name"] = json!("");
    bad["phone"] = json!("12");
    bad["temperature"] = json!("hot");
    bad["symptoms"] = json!(["sneezing"]);
    bad["test"]["barcode"] = json!("x");
    bad["test"]["sampled_at"] = json!("yesterday");
    let (s, e) = app.post(&staff, "/api/v1/fever-clinic-visits", bad).await;
    assert_eq!(s, 422, "{e}");
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "visit_id",
        "id_number",
        "name",
        "phone",
        "temperature",
        "test.barcode",
        "test.sampled_at",
        "test.result",
    ] {
        assert!(fields.contains(&f), "{f} missing: {e}");
    }
    for err in e["errors"].as_array().unwrap() {
        assert!(!err["message"].as_str().unwrap().is_empty(), "{err}");
        assert!(!err["message_en"].as_str().unwrap().is_empty(), "{err}");
    }
    // A sample in the future, unknown fields, garbage: refused.
    let mut future = visit(clinic, 5, "V-5", "pending");
    future["test"]["sampled_at"] = json!("2022-02-28T09:00:00+08:00");
    let (s, _) = app
        .post(&staff, "/api/v1/fever-clinic-visits", future)
        .await;
    assert_eq!(s, 422);
    let mut extra = visit(clinic, 5, "V-5", "pending");
    extra["admin"] = json!(true);
    let (s, _) = app.post(&staff, "/api/v1/fever-clinic-visits", extra).await;
    assert!((400..500).contains(&s), "{s}");
    let (s, _) = app
        .post(&staff, "/api/v1/fever-clinic-visits", json!("garbage"))
        .await;
    assert!((400..500).contains(&s), "{s}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM fever_clinic_visits").await,
        0
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM persons").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM test_results").await, 0);
    // The visit id is the clinic's own: another clinic's V-5 is its own
    // visit, not a repeat of this one (two systems may number alike).
    let (s, v) = app
        .post(
            &staff,
            "/api/v1/fever-clinic-visits",
            visit(clinic, 5, "V-5", "pending"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let other = venue(&app, "fever_clinic", "中医院发热门诊").await;
    let staff = app.login_as("village", VILLAGE).await;
    let (s, e) = app
        .post(
            &staff,
            "/api/v1/fever-clinic-visits",
            visit(other, 5, "V-5", "pending"),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    assert_ne!(e["id"], v["id"]);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM fever_clinic_visits").await,
        2
    );
}
