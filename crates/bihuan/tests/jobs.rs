//! Background jobs: each period runs once however many replicas there are,
//! running a job twice creates nothing twice, and reminders queued while the
//! SMS webhook is down are delivered once it is back, exactly once each.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::StatusCode;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use support::{TestApp, count, declaration, replica, resident_id, spawn, spawn_with};

fn at(app: &TestApp, date: NaiveDate, hour: u32) {
    let local = date.and_hms_opt(hour, 0, 0).unwrap() - Duration::hours(8);
    app.clock.set(Utc.from_utc_datetime(&local));
}

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 28).unwrap() + Duration::days(n)
}

async fn declare_many(app: &TestApp, n: u32) {
    let command = app.login_as("command", "330784").await;
    app.post(
        &command,
        "/api/v1/risk-areas",
        json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"}),
    )
    .await;
    for i in 0..n {
        let mut d = declaration();
        d["id_number"] = json!(resident_id(100 + i));
        assert_eq!(app.declare(d).await.0, 201);
    }
}

#[tokio::test]
async fn two_replicas_run_each_job_once_per_period() {
    let a = spawn().await;
    let b = replica(&a).await;
    declare_many(&a, 5).await;
    for n in 0..5 {
        for hour in [10, 21] {
            at(&a, day(n), hour);
            let (ra, rb) = tokio::join!(a.services.run_jobs(), b.services.run_jobs());
            let (ra, rb) = (ra.unwrap(), rb.unwrap());
            assert_eq!(
                u8::from(ra.escalated.is_some()) + u8::from(rb.escalated.is_some()),
                1,
                "day {n} {hour}h: escalation ran once"
            );
            assert_eq!(
                u8::from(ra.obligations.is_some()) + u8::from(rb.obligations.is_some()),
                u8::from(hour == 10),
                "day {n} {hour}h: obligations ran once a day"
            );
            assert_eq!(
                u8::from(ra.missed_check_ins.is_some()) + u8::from(rb.missed_check_ins.is_some()),
                u8::from(hour == 21),
                "day {n} {hour}h: the check-in sweep ran once"
            );
        }
    }
    // Nobody checked in: one missed-check-in task per person, not one per run.
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM tasks WHERE kind = 'check_in_missed'"
        )
        .await,
        5
    );
    // Each person's reminders were queued and sent once per test day (01-28, 02-01).
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM notifications WHERE kind = 'test_due'"
        )
        .await,
        10
    );
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM events WHERE kind = 'notification_sent'"
        )
        .await,
        10 + 5 * 5,
        "test reminders and five days of missed check-ins, each sent once"
    );
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM job_runs WHERE job = 'obligations'"
        )
        .await,
        5
    );
}

#[tokio::test]
async fn running_a_sweep_again_creates_nothing_twice() {
    let app = spawn().await;
    declare_many(&app, 2).await;
    at(&app, day(0), 21);
    app.services.run_jobs().await.unwrap();
    let tasks = count(&app, "SELECT COUNT(*) FROM tasks").await;
    let events = count(&app, "SELECT COUNT(*) FROM events").await;
    // A new period for escalation only: nothing else is due again.
    app.clock.advance(Duration::minutes(1));
    let again = app.services.run_jobs().await.unwrap();
    assert!(again.obligations.is_none() && again.missed_check_ins.is_none());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM tasks").await, tasks);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM events").await, events);
}

/// A webhook that answers 503 while `down`, and records what it accepted.
async fn webhook() -> (String, Arc<AtomicBool>, Arc<Mutex<Vec<i64>>>) {
    let down = Arc::new(AtomicBool::new(true));
    let got = Arc::new(Mutex::new(Vec::new()));
    let (d, g) = (down.clone(), got.clone());
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |Json(m): Json<Value>| {
            let (d, g) = (d.clone(), g.clone());
            async move {
                if d.load(Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                assert!(
                    m["to"].as_str().unwrap().len() == 11,
                    "the full phone number"
                );
                g.lock().unwrap().push(m["id"].as_i64().unwrap());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, down, got)
}

#[tokio::test]
async fn reminders_wait_for_the_webhook_and_arrive_once() {
    let (url, down, got) = webhook().await;
    let app = spawn_with(|s| s.notify_webhook_url = Some(url)).await;
    declare_many(&app, 3).await;
    at(&app, day(0), 10);
    let r = app.services.run_jobs().await.unwrap();
    assert_eq!(r.delivered, 0, "the webhook is down");
    // Retries back off: 30 s, then 60 s.
    app.clock.advance(Duration::seconds(29));
    assert_eq!(app.services.deliver_notifications().await.unwrap(), 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'notification_failed'"
        )
        .await,
        3
    );
    app.clock.advance(Duration::seconds(2));
    assert_eq!(app.services.deliver_notifications().await.unwrap(), 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'notification_failed'"
        )
        .await,
        6
    );

    down.store(false, Ordering::SeqCst);
    app.clock.advance(Duration::seconds(30));
    assert_eq!(
        app.services.deliver_notifications().await.unwrap(),
        0,
        "still backing off"
    );
    app.clock.advance(Duration::seconds(31));
    assert_eq!(app.services.deliver_notifications().await.unwrap(), 3);
    app.clock.advance(Duration::hours(2));
    assert_eq!(app.services.deliver_notifications().await.unwrap(), 0);
    let mut ids = got.lock().unwrap().clone();
    ids.sort_unstable();
    assert_eq!(ids.len(), 3);
    ids.dedup();
    assert_eq!(ids.len(), 3, "each exactly once");

    // The retries are on the person's timeline.
    let command = app.login_as("command", "330784").await;
    let person: i64 = count(&app, "SELECT MIN(person_id) FROM notifications").await;
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{person}"))
        .await;
    let kinds: Vec<&str> = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .filter(|k| k.starts_with("notification"))
        .collect();
    assert_eq!(
        kinds,
        [
            "notification_failed",
            "notification_failed",
            "notification_sent"
        ]
    );
    let sent = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "notification_sent")
        .unwrap();
    assert_eq!(sent["detail"]["attempts"], 3);
}

/// A job's colour changes take their feed numbers together, just before it
/// commits: consecutive, right after what the feed had, and none taken and
/// left unused.
#[tokio::test]
async fn a_jobs_colour_changes_take_consecutive_feed_numbers() {
    let app = spawn().await;
    declare_many(&app, 4).await;
    let command = app.login_as("command", "330784").await;
    let seqs = |feed: &Value| -> Vec<i64> {
        feed.as_array()
            .unwrap()
            .iter()
            .map(|r| r["seq"].as_i64().unwrap())
            .collect()
    };
    let (_, feed) = app.get(&command, "/api/v1/health-codes?cursor=0").await;
    assert_eq!(seqs(&feed), [1, 2, 3, 4], "red on arrival: {feed}");
    // Home observation: the daily sweep turns all four yellow.
    at(&app, day(14), 9);
    let r = app.services.run_jobs().await.unwrap();
    assert_eq!(r.obligations, Some(4));
    let command = app.login_as("command", "330784").await;
    let (_, feed) = app.get(&command, "/api/v1/health-codes?cursor=4").await;
    assert_eq!(seqs(&feed), [5, 6, 7, 8], "{feed}");
    assert!(
        feed.as_array()
            .unwrap()
            .iter()
            .all(|r| r["colour"] == "yellow")
    );
    assert_eq!(
        count(
            &app,
            "SELECT value FROM counters WHERE name = 'health_codes'"
        )
        .await,
        8
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM health_codes WHERE seq = 0").await,
        0,
        "no placeholder is ever committed"
    );
}
