//! Plans run day by day (管控执行): a controllable clock walks through a whole
//! 14+7 plan and a whole 2+14 plan, checking each day's obligations, tasks,
//! colours and reminders, with a missed check-in, a missed test and a
//! positive result along the way. SQLite, and PostgreSQL when configured.

mod support;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use support::{TestApp, declaration, resident_id, spawn};

const GRID: &str = "330784001001001";
const VILLAGE: &str = "330784001001";

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 28).unwrap() + Duration::days(n)
}

/// Sets the clock to `hour`:00 in Asia/Shanghai on `date`.
fn at(app: &TestApp, date: NaiveDate, hour: u32) {
    let local = date.and_hms_opt(hour, 0, 0).unwrap() - Duration::hours(8);
    app.clock.set(Utc.from_utc_datetime(&local));
}

async fn colour(app: &TestApp, token: &str, person: i64) -> String {
    let (s, rows) = app.get(token, "/api/v1/health-codes?changed_since=0").await;
    assert_eq!(s, 200, "{rows}");
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["person_id"] == person)
        .map(|r| r["colour"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "green".into())
}

async fn open_tasks(app: &TestApp, token: &str, person: i64) -> Vec<String> {
    let (_, p) = app.get(token, &format!("/api/v1/persons/{person}")).await;
    p["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] != "closed")
        .map(|t| t["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn events(app: &TestApp, token: &str, person: i64, kind: &str) -> Vec<Value> {
    let (_, p) = app.get(token, &format!("/api/v1/persons/{person}")).await;
    p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

async fn check_in(app: &TestApp, receipt: &str, temperature: &str) -> (u16, Value) {
    app.post(
        "",
        &format!("/api/v1/status/{receipt}/check-ins"),
        json!({"temperature": temperature}),
    )
    .await
}

async fn test(app: &TestApp, token: &str, person: i64, date: NaiveDate, result: &str) -> Value {
    let (s, r) = app
        .post(
            token,
            "/api/v1/tests",
            json!({"person_id": person, "sampled_at": format!("{date}T09:00:00+08:00"), "result": result}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    r
}

#[tokio::test]
async fn a_14_7_plan_and_a_2_14_plan_day_by_day() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    app.post(
        &command,
        "/api/v1/risk-areas",
        json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"}),
    )
    .await;
    // A: example 1 (14+7). B: example 2 (2+14). C: 14+7, turns positive.
    let (_, a) = app.declare(declaration()).await;
    let mut b = declaration();
    b["id_number"] = json!(resident_id(2));
    b["origin"] = json!({"county": "110106", "township": "110106001", "departed_on": "2022-01-27"});
    let (_, b) = app.declare(b).await;
    let mut c = declaration();
    c["id_number"] = json!(resident_id(3));
    let (_, c) = app.declare(c).await;
    assert_eq!(a["assessment"]["category"], "risk_street");
    assert_eq!(b["assessment"]["category"], "risk_county");
    let (pa, pb, pc) = (
        a["person_id"].as_i64().unwrap(),
        b["person_id"].as_i64().unwrap(),
        c["person_id"].as_i64().unwrap(),
    );
    let (ra, rb, rc) = (
        a["receipt"].as_str().unwrap().to_string(),
        b["receipt"].as_str().unwrap().to_string(),
        c["receipt"].as_str().unwrap().to_string(),
    );
    let test_days_a = ["01-28", "02-01", "02-08", "02-10", "02-15"];
    let test_days_b = ["01-28", "01-29", "02-09"];

    for n in 0..=20 {
        let date = day(n);
        let md = date.format("%m-%d").to_string();
        at(&app, date, 10);
        let worker = app.login_as("grid_worker", GRID).await;
        let command = app.login_as("command", "330784").await;
        let jobs = app.services.run_jobs().await.unwrap();
        assert!(
            jobs.obligations.is_some(),
            "{md}: the day's obligations ran"
        );
        assert!(
            app.services.run_jobs().await.unwrap().obligations.is_none(),
            "once a day"
        );

        // 今日应检 lists who must be tested today.
        let (_, due) = app.get(&worker, "/api/v1/due-tests").await;
        let due: Vec<i64> = due
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["person_id"].as_i64().unwrap())
            .collect();
        assert_eq!(
            due.contains(&pa),
            test_days_a.contains(&md.as_str()),
            "{md}: A due"
        );
        assert_eq!(
            due.contains(&pb),
            test_days_b.contains(&md.as_str()),
            "{md}: B due"
        );
        assert!(
            !due.contains(&pc) || n == 0,
            "{md}: C stops after the positive"
        );

        // Check-ins: A misses 02-03. C reports a fever on day 0.
        if md != "02-03" && n <= 18 {
            assert_eq!(check_in(&app, &ra, "36.6").await.0, 201, "{md}");
        }
        if n <= 12 {
            assert_eq!(check_in(&app, &rb, "36.4").await.0, 201, "{md}");
        }
        if n == 0 {
            let (s, r) = check_in(&app, &rc, "37.3").await;
            assert_eq!((s, r["alarm"].as_bool()), (201, Some(true)));
            assert!(
                open_tasks(&app, &worker, pc)
                    .await
                    .contains(&"fever_transfer".to_string())
            );
            // C is positive: the plan stops and case management takes over.
            let r = test(&app, &worker, pc, date, "positive").await;
            assert_eq!(r["control_status"], "positive");
            assert_eq!(r["health_code"], "red");
            assert!(
                open_tasks(&app, &worker, pc)
                    .await
                    .contains(&"positive".to_string())
            );
        }
        // Tests: A misses 02-10.
        if test_days_a.contains(&md.as_str()) && md != "02-10" {
            test(&app, &worker, pa, date, "negative").await;
        }
        if test_days_b.contains(&md.as_str()) {
            test(&app, &worker, pb, date, "negative").await;
        }

        // Colours through the phases.
        // Red in quarantine, yellow in home observation; after the plan, the
        // missed 02-10 test no longer counts once 02-15's negative came in.
        let expect_a = match n {
            0..=11 => "red",
            12..=18 => "yellow",
            _ => "green",
        };
        assert_eq!(colour(&app, &command, pa).await, expect_a, "{md}: A");
        assert_eq!(colour(&app, &command, pb).await, "green", "{md}: B");
        assert_eq!(colour(&app, &command, pc).await, "red", "{md}: C");

        // Evening: the check-in sweep.
        at(&app, date, 21);
        let jobs = app.services.run_jobs().await.unwrap();
        let missed = jobs.missed_check_ins.expect("after 20:00 the sweep runs");
        assert_eq!(missed, usize::from(md == "02-03"), "{md}: missed check-ins");
        assert!(
            app.services
                .run_jobs()
                .await
                .unwrap()
                .missed_check_ins
                .is_none()
        );

        let a_tasks = open_tasks(&app, &worker, pa).await;
        assert_eq!(
            a_tasks.contains(&"check_in_missed".to_string()),
            n >= 6,
            "{md}: {a_tasks:?}"
        );
        assert_eq!(
            a_tasks.contains(&"test_missed".to_string()),
            n >= 14,
            "{md}: {a_tasks:?}"
        );
        let b_tasks = open_tasks(&app, &worker, pb).await;
        assert_eq!(
            b_tasks.contains(&"release".to_string()),
            n >= 13,
            "{md}: B {b_tasks:?}"
        );
    }

    // A: the release date (02-15) has passed, but 02-10 has no test.
    let village = app.login_as("village", VILLAGE).await;
    let (s, e) = app
        .post(
            &village,
            &format!("/api/v1/persons/{pa}/release"),
            json!({}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    assert!(
        e["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("2月10日"),
        "{e}"
    );
    // B was put up for release on 02-10 and is released now.
    let (s, k) = app
        .post(
            &village,
            &format!("/api/v1/persons/{pb}/release"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{k}");
    assert_eq!(k["status"], "released");
    let command = app.login_as("command", "330784").await;
    assert_eq!(colour(&app, &command, pb).await, "green");
    assert!(
        !open_tasks(&app, &village, pb)
            .await
            .contains(&"release".to_string())
    );
    let (s, _) = app
        .post(
            &village,
            &format!("/api/v1/persons/{pb}/release"),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "released once");

    // Reminders: every test day of A and B, A's missed check-in, B's release.
    app.services.run_jobs().await.unwrap();
    let sent = |kind: &'static str, list: Vec<Value>| {
        list.iter().filter(|e| e["detail"]["kind"] == kind).count()
    };
    let a_sent = events(&app, &command, pa, "notification_sent").await;
    assert_eq!(sent("test_due", a_sent.clone()), 5);
    assert_eq!(sent("check_in_missed", a_sent), 1);
    let b_sent = events(&app, &command, pb, "notification_sent").await;
    assert_eq!(sent("test_due", b_sent.clone()), 3);
    assert_eq!(sent("release", b_sent), 1);
    let c_sent = events(&app, &command, pc, "notification_sent").await;
    assert_eq!(
        c_sent.len(),
        1,
        "only the reminder sent before the positive result"
    );
}

#[tokio::test]
async fn check_ins_and_tests_are_validated() {
    let app = spawn().await;
    let (_, d) = app.declare(declaration()).await;
    let receipt = d["receipt"].as_str().unwrap();
    for bad in ["", "36.55", "hot", "50", "-1"] {
        let (s, e) = check_in(&app, receipt, bad).await;
        assert_eq!(s, 422, "{bad}: {e}");
        assert_eq!(e["errors"][0]["field"], "temperature");
    }
    let (s, _) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt}/check-ins"),
            json!({"temperature": "36.5", "symptoms": ["sneeze"]}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        check_in(&app, "000000000000000000000000", "36.5").await.0,
        404
    );
    // Registration only: no control to check in to.
    let mut reg = declaration();
    reg["id_number"] = json!(resident_id(9));
    reg["origin"] = json!({"county": "330106", "departed_on": "2022-01-28"});
    let (_, r) = app.declare(reg).await;
    assert_eq!(
        check_in(&app, r["receipt"].as_str().unwrap(), "36.5")
            .await
            .0,
        409
    );

    let worker = app.login_as("grid_worker", GRID).await;
    let person = d["person_id"].as_i64().unwrap();
    for (body, field) in [
        (
            json!({"person_id": person, "sampled_at": "yesterday", "result": "negative"}),
            "sampled_at",
        ),
        (
            json!({"person_id": person, "sampled_at": "2022-02-28T09:00:00+08:00", "result": "negative"}),
            "sampled_at",
        ),
        (
            json!({"person_id": person, "sampled_at": "2022-01-28T09:00:00+08:00", "result": "maybe"}),
            "result",
        ),
    ] {
        let (s, e) = app.post(&worker, "/api/v1/tests", body).await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["errors"][0]["field"], field);
    }
    let other = app.login_as("grid_worker", "330784002001001").await;
    let (s, _) = app
        .post(&other, "/api/v1/tests", json!({"person_id": person, "sampled_at": "2022-01-28T09:00:00+08:00", "result": "negative"}))
        .await;
    assert_eq!(s, 404, "another grid's person");
    let (s, _) = app
        .post(
            &other,
            &format!("/api/v1/persons/{person}/check-ins"),
            json!({"temperature": "36.5"}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, r) = app
        .post(
            &worker,
            &format!("/api/v1/persons/{person}/check-ins"),
            json!({"temperature": "38.1", "symptoms": ["cough"]}),
        )
        .await;
    assert_eq!((s, r["alarm"].as_bool()), (201, Some(true)));
}
