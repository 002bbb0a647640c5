//! 预警: a township's pharmacy purchases against its own 28-day baseline
//! (a known spike alerts once, a flat month does not), a febrile red-code
//! buyer alerts at once, a late 签收 goes to the city, and a suspected event
//! sends 核查 tasks to the grids of the persons behind it. Another town's
//! alert is 404; a grid worker is refused.

mod support;

use bihuan::clock::Clock;
use serde_json::{Value, json};
use sqlx::Row;
use support::{TestApp, approved_venue, declaration, resident_id, spawn};

/// Town A (the spike) and its pharmacy's village and grid.
const TOWN_A: &str = "330784002";
const VILLAGE_A: &str = "330784002001";
const GRID_A: &str = "330784002001001";
/// Town B (flat purchases).
const TOWN_B: &str = "330784001";
const VILLAGE_B: &str = "330784001001";

/// A registered, approved pharmacy in `village`: its id.
async fn pharmacy(app: &TestApp, village: &str, name: &str) -> i64 {
    approved_venue(app, "pharmacy", village, name).await
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

async fn buy(app: &TestApp, token: &str, body: Value) -> Value {
    let (s, r) = app.post(token, "/api/v1/pharmacy-purchases", body).await;
    assert_eq!(s, 201, "{r}");
    r
}

async fn alerts(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, v) = app.get(token, "/api/v1/alerts").await;
    assert_eq!(s, 200, "{v}");
    v.as_array().unwrap().clone()
}

/// The tasks sent down by a 研判 (any region's), read from the database.
async fn judged_tasks(app: &TestApp) -> Vec<Value> {
    let rows = sqlx::query(
        "SELECT person_id, region, kind FROM tasks WHERE reason LIKE '%预警研判为疑似事件%' ORDER BY id",
    )
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            json!({"person_id": r.get::<i64, _>(0), "region": r.get::<String, _>(1),
                   "kind": r.get::<String, _>(2)})
        })
        .collect()
}

#[tokio::test]
async fn a_known_spike_alerts_once_a_flat_month_does_not_and_a_suspected_event_sends_tasks_down() {
    let app = spawn().await;
    // 张三 lives in 园丁社区 (town B) and will buy in town A on the spike day.
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let a = pharmacy(&app, VILLAGE_A, "康宁大药房").await;
    let b = pharmacy(&app, VILLAGE_B, "园丁药店").await;
    let pos = app.services.add_api_token("pos", "pharmacy").await.unwrap();
    let mut n = 0;
    // 28 days: two purchases a day in each town.
    for _ in 0..28 {
        for p in [a, a, b, b] {
            n += 1;
            buy(&app, &pos, purchase(p, n)).await;
        }
        app.advance_hours(24);
    }
    // The 29th day: twelve in town A (one of them 张三), two in town B.
    for i in 0..12 {
        n += 1;
        let mut body = purchase(a, n);
        if i == 0 {
            body["id_number"] = json!("11010519491231002X");
            body["phone"] = json!("13800138000");
        }
        buy(&app, &pos, body).await;
    }
    for _ in 0..2 {
        n += 1;
        buy(&app, &pos, purchase(b, n)).await;
    }
    // Not judged on the day itself: the job judges yesterday.
    app.services.run_jobs().await.unwrap();
    let command = app.login_as("command", "330784").await;
    assert!(alerts(&app, &command).await.is_empty());
    app.advance_hours(24);
    let report = app.services.run_jobs().await.unwrap();
    assert_eq!(report.surge, Some(1), "{report:?}");
    let command = app.login_as("command", "330784").await;
    let all = alerts(&app, &command).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let alert = &all[0];
    assert_eq!(alert["kind"], "surge");
    assert_eq!(alert["source"], "pharmacy");
    assert_eq!(alert["township"], TOWN_A);
    assert_eq!(alert["count"], 12);
    assert_eq!(alert["median"], 2.0);
    assert_eq!(alert["p90"], 2.0);
    assert_eq!(alert["z"], 10.0);
    assert_eq!(alert["state"], "open");
    let id = alert["id"].as_i64().unwrap();
    // Run again the same day: nothing new.
    app.advance_hours(1);
    let again = app.services.run_jobs().await.unwrap();
    assert_eq!(again.surge, Some(0), "{again:?}");
    assert_eq!(alerts(&app, &command).await.len(), 1);

    // Town B sees nothing and may not touch town A's alert.
    let town_b = app.login_as("town", TOWN_B).await;
    assert!(alerts(&app, &town_b).await.is_empty());
    let (s, _) = app
        .post(&town_b, &format!("/api/v1/alerts/{id}/ack"), json!({}))
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            &town_b,
            &format!("/api/v1/alerts/{id}/judge"),
            json!({"verdict": "suspected"}),
        )
        .await;
    assert_eq!(s, 404);

    // Town A: 研判 before 签收 is refused; 签收 once; then 疑似事件.
    let town_a = app.login_as("town", TOWN_A).await;
    let (s, r) = app
        .post(
            &town_a,
            &format!("/api/v1/alerts/{id}/judge"),
            json!({"verdict": "suspected"}),
        )
        .await;
    assert_eq!(s, 409, "{r}");
    let (s, r) = app
        .post(&town_a, &format!("/api/v1/alerts/{id}/ack"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["state"], "acked");
    let (s, _) = app
        .post(&town_a, &format!("/api/v1/alerts/{id}/ack"), json!({}))
        .await;
    assert_eq!(s, 409);
    let (s, r) = app
        .post(
            &town_a,
            &format!("/api/v1/alerts/{id}/judge"),
            json!({"verdict": "maybe", "note": "x".repeat(501)}),
        )
        .await;
    assert_eq!(s, 422, "{r}");
    let fields: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["verdict", "note"]);
    assert!(
        judged_tasks(&app).await.is_empty(),
        "a refused 研判 sends nothing"
    );
    let (s, r) = app
        .post(
            &town_a,
            &format!("/api/v1/alerts/{id}/judge"),
            json!({"verdict": "suspected", "note": "同日多人购止咳药"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["state"], "suspected");
    assert_eq!(r["tasks"].as_array().unwrap().len(), 12, "{r}");
    // Every buyer of the spike day: eleven new buyers at the pharmacy's
    // grid, 张三 at his own grid in town B; no buyer of another day.
    let tasks = judged_tasks(&app).await;
    assert_eq!(tasks.len(), 12, "{tasks:?}");
    let at_a = tasks.iter().filter(|t| t["region"] == GRID_A).count();
    let at_home: Vec<&Value> = tasks
        .iter()
        .filter(|t| t["region"].as_str().unwrap().starts_with(VILLAGE_B))
        .collect();
    assert_eq!((at_a, at_home.len()), (11, 1), "{tasks:?}");
    assert!(tasks.iter().all(|t| t["kind"] == "verify"));
}

#[tokio::test]
async fn a_febrile_red_code_buyer_alerts_at_once_and_a_late_ack_goes_to_the_city() {
    let app = spawn().await;
    let a = pharmacy(&app, VILLAGE_A, "康宁大药房").await;
    let pos = app.services.add_api_token("pos", "pharmacy").await.unwrap();
    // A febrile green-code buyer and a red-code buyer without fever: none.
    let mut green = purchase(a, 1);
    green["temperature"] = json!("38.2");
    buy(&app, &pos, green).await;
    let mut cold = purchase(a, 2);
    cold["health_code"] = json!("red");
    buy(&app, &pos, cold).await;
    let town_a = app.login_as("town", TOWN_A).await;
    assert!(alerts(&app, &town_a).await.is_empty());
    // A febrile red-code buyer: an alert before any job runs.
    let mut red = purchase(a, 3);
    red["health_code"] = json!("red");
    red["temperature"] = json!("38.5");
    let r = buy(&app, &pos, red).await;
    let person = r["person_id"].as_i64().unwrap();
    let all = alerts(&app, &town_a).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["kind"], "febrile_red_yellow");
    assert_eq!(all[0]["person_id"], person);
    assert_eq!(all[0]["region"], TOWN_A);
    let id = all[0]["id"].as_i64().unwrap();

    // A grid worker may not read alerts; garbage ids and bodies are 4xx.
    let worker = app.login_as("grid_worker", GRID_A).await;
    let (s, _) = app.get(&worker, "/api/v1/alerts").await;
    assert_eq!(s, 403);
    let (s, _) = app.post(&town_a, "/api/v1/alerts/abc/ack", json!({})).await;
    assert!((400..500).contains(&s), "{s}");
    let (s, _) = app
        .post(
            &town_a,
            &format!("/api/v1/alerts/{id}/judge"),
            json!({"verdict": "suspected", "extra": 1}),
        )
        .await;
    assert!((400..500).contains(&s), "{s}");

    // Within 2 h nothing moves; after, the alert goes to the city, once.
    app.advance_hours(1);
    app.services.run_jobs().await.unwrap();
    let town_a = app.login_as("town", TOWN_A).await;
    assert_eq!(alerts(&app, &town_a).await[0]["region"], TOWN_A);
    app.clock.advance(chrono::Duration::minutes(61));
    let report = app.services.run_jobs().await.unwrap();
    assert!(report.surge.unwrap_or(0) >= 1, "{report:?}");
    let command = app.login_as("command", "330784").await;
    let all = alerts(&app, &command).await;
    assert_eq!(all[0]["region"], "330784", "{all:?}");
    assert!(all[0]["escalated_at"].is_number());
    assert_eq!(all[0]["state"], "open");

    // The city 签收 and judges it a suspected event: the buyer's grid.
    let (s, r) = app
        .post(&command, &format!("/api/v1/alerts/{id}/ack"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = app
        .post(
            &command,
            &format!("/api/v1/alerts/{id}/judge"),
            json!({"verdict": "suspected"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let tasks = judged_tasks(&app).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["person_id"], person);
    assert_eq!(tasks[0]["region"], GRID_A);
}

#[tokio::test]
async fn a_false_alarm_sends_nothing() {
    let app = spawn().await;
    let a = pharmacy(&app, VILLAGE_A, "康宁大药房").await;
    let pos = app.services.add_api_token("pos", "pharmacy").await.unwrap();
    let mut yellow = purchase(a, 1);
    yellow["health_code"] = json!("yellow");
    yellow["symptoms"] = json!(["cough"]);
    buy(&app, &pos, yellow).await;
    let town_a = app.login_as("town", TOWN_A).await;
    let all = alerts(&app, &town_a).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let id = all[0]["id"].as_i64().unwrap();
    let (s, _) = app
        .post(&town_a, &format!("/api/v1/alerts/{id}/ack"), json!({}))
        .await;
    assert_eq!(s, 200);
    let (s, r) = app
        .post(
            &town_a,
            &format!("/api/v1/alerts/{id}/judge"),
            json!({"verdict": "false_alarm", "note": "家属代购"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["state"], "false_alarm");
    assert!(judged_tasks(&app).await.is_empty());
    let all = alerts(&app, &town_a).await;
    assert_eq!(all[0]["note"], "家属代购");
}

/// Fever-clinic visits are a source of their own: a clinic's flat month and
/// then a spike alerts once, as fever_clinic, and its 研判 task says so.
#[tokio::test]
async fn a_spike_of_fever_clinic_visits_alerts_as_its_own_source() {
    let app = spawn().await;
    let clinic = approved_venue(&app, "fever_clinic", VILLAGE_A, "第一人民医院发热门诊").await;
    let his = app
        .services
        .add_api_token("his", "fever_clinic")
        .await
        .unwrap();
    let mut n = 0u32;
    let mut visit = |app: &TestApp| {
        n += 1;
        let sampled = app
            .clock
            .now()
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .to_rfc3339();
        json!({
            "visit_id": format!("FV{n}"),
            "clinic": clinic,
            "id_number": resident_id(n),
            "name": "李四",
            "phone": format!("139{:08}", n),
            "temperature": "38.0",
            "symptoms": ["cough"],
            "test": {"barcode": format!("FC{n:06}"), "sampled_at": sampled, "result": "pending"}
        })
    };
    for _ in 0..28 {
        let body = visit(&app);
        let (s, r) = app.post(&his, "/api/v1/fever-clinic-visits", body).await;
        assert_eq!(s, 201, "{r}");
        app.advance_hours(24);
    }
    for _ in 0..9 {
        let body = visit(&app);
        let (s, r) = app.post(&his, "/api/v1/fever-clinic-visits", body).await;
        assert_eq!(s, 201, "{r}");
    }
    app.advance_hours(24);
    let report = app.services.run_jobs().await.unwrap();
    assert_eq!(report.surge, Some(1), "{report:?}");
    let command = app.login_as("command", "330784").await;
    let found = alerts(&app, &command).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["source"], "fever_clinic", "{found:?}");
    assert_eq!(found[0]["count"], 9, "{found:?}");
    let id = found[0]["id"].as_i64().unwrap();
    let town = app.login_as("town", TOWN_A).await;
    let (s, r) = app
        .post(&town, &format!("/api/v1/alerts/{id}/ack"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = app
        .post(
            &town,
            &format!("/api/v1/alerts/{id}/judge"),
            json!({"verdict": "suspected", "note": "发热门诊就诊人数骤增"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let reasons: Vec<String> =
        sqlx::query("SELECT reason FROM tasks WHERE reason LIKE '%预警研判为疑似事件%'")
            .fetch_all(app.services.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
    assert_eq!(reasons.len(), 9, "{reasons:?}");
    assert!(
        reasons.iter().all(|r| r.contains("发热门诊")),
        "{reasons:?}"
    );
}
