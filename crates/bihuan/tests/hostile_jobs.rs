//! Job robustness: a malformed row of each kind the periodic jobs read is
//! planted next to good ones, and every job still runs, its work on the good
//! rows still happens, and 今日应检 still answers.
//!
//! The rows: a control with no declaration (a zone resident, a pool member,
//! a traced contact), a control whose stored plan is not JSON, a reminder to
//! someone whose phone cannot be read, a key-industry worker of an unknown
//! industry with a test date that is not a date, and an ended round with
//! odd regions and counters.

mod support;

use bihuan::clock::Clock;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;
use sqlx::Row;
use support::{TestApp, count, declaration, spawn};

fn at(app: &TestApp, date: NaiveDate, hour: u32) {
    let local = date.and_hms_opt(hour, 0, 0).unwrap() - Duration::hours(8);
    app.clock.set(Utc.from_utc_datetime(&local));
}

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 28).unwrap() + Duration::days(n)
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(app.services.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A copy of person `from` under another lookup key (and maybe another
/// phone); returns the new id.
async fn copy_person(app: &TestApp, from: i64, key: &str, phone_enc: Option<&str>) -> i64 {
    let phone = phone_enc.map_or("phone_enc".to_string(), |p| format!("'{p}'"));
    sqlx::query(&format!(
        "INSERT INTO persons (doc_type, doc_lookup, doc_enc, doc_masked, name, phone_enc,
             phone_masked, region, created_at, updated_at)
         SELECT doc_type, '{key}', doc_enc, doc_masked, '{key}', {phone}, phone_masked, region,
             created_at, updated_at FROM persons WHERE id = {from} RETURNING id"
    ))
    .fetch_one(app.services.db.pool())
    .await
    .unwrap()
    .get::<i64, _>(0)
}

/// Gives `to` a copy of `from`'s control, with no declaration, and the
/// stored assessment replaced when `assessment` is given.
async fn copy_control(app: &TestApp, from: i64, to: i64, assessment: Option<&str>) {
    let a = assessment.map_or("assessment".to_string(), |a| format!("'{a}'"));
    exec(
        app,
        &format!(
            "INSERT INTO controls (person_id, declaration_id, category, policy_version,
                 release_on, status, assessment, updated_at)
             SELECT {to}, NULL, category, policy_version, release_on, status, {a}, updated_at
             FROM controls WHERE person_id = {from}"
        ),
    )
    .await;
}

#[tokio::test]
async fn every_job_runs_past_malformed_rows() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let grid = app.login_as("grid_worker", "330784001001001").await;
    // A: declared, under 14+7 (a street with a medium-risk area).
    app.post(
        &command,
        "/api/v1/risk-areas",
        json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"}),
    )
    .await;
    assert_eq!(app.declare(declaration()).await.0, 201);
    let a = count(&app, "SELECT MIN(person_id) FROM controls").await;

    // B: the same plan, but never declared (a zone resident from the roll).
    let b = copy_person(&app, a, "undeclared", None).await;
    copy_control(&app, a, b, None).await;
    // C: a control whose stored plan cannot be read.
    let c = copy_person(&app, a, "unreadable", None).await;
    copy_control(&app, a, c, Some("{\"plan\": 42")).await;
    // D: a queued reminder to a phone that cannot be decrypted.
    let d = copy_person(&app, a, "no-phone", Some("garbage")).await;
    let now = app.clock.now().timestamp();
    exec(
        &app,
        &format!(
            "INSERT INTO notifications (person_id, dedup_key, kind, body, state, next_attempt_at, created_at)
             VALUES ({d}, 'planted', 'test_due', 'x', 'queued', {now}, {now})"
        ),
    )
    .await;
    // Key-industry workers: A at a hospital (overdue), D at an employer of
    // an industry the policy does not know; D's last test date is not a date.
    exec(
        &app,
        &format!(
            "INSERT INTO employers (name, grid, industry, created_at) VALUES
                 ('医院', '330784001001001', 'medical', {now}),
                 ('??', '', 'no_such_industry', {now})"
        ),
    )
    .await;
    exec(
        &app,
        &format!(
            "INSERT INTO workers (employer_id, person_id, created_at)
             SELECT id, CASE WHEN industry = 'medical' THEN {a} ELSE {d} END, {now} - 86400 * 3
             FROM employers"
        ),
    )
    .await;
    exec(
        &app,
        &format!(
            "INSERT INTO test_results (person_id, sampled_on, sampled_at, result, actor, at)
             VALUES ({d}, 'not a date', 0, 'negative', 'x', {now})"
        ),
    )
    .await;
    // Two ended rounds: a good one with an untested grid, and one with
    // regions and counters that make no sense.
    exec(
        &app,
        &format!(
            "INSERT INTO rounds (name, regions, starts_at, ends_at, created_by, created_at) VALUES
                 ('第一轮', '330784001001', {now}, {now} + 3600, 'x', {now}),
                 ('', '', {now} + 3600, {now}, 'x', {now})"
        ),
    )
    .await;
    exec(
        &app,
        "INSERT INTO round_grids (round_id, grid, residents, sampled, results_in, positives)
         SELECT id, CASE WHEN name = '' THEN '' ELSE '330784001001001' END,
                CASE WHEN name = '' THEN -5 ELSE 2 END, 0, 0, 0 FROM rounds",
    )
    .await;

    // Without the fix, the running-controls query failed on B (no receipt)
    // and every job after it was lost.
    let (s, due) = app.get(&grid, "/api/v1/due-tests").await;
    assert_eq!(s, 200, "{due}");
    let due: Vec<i64> = due
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["person_id"].as_i64().unwrap())
        .collect();
    assert_eq!(due, [a, b], "C's unreadable plan is left out, not fatal");

    // The next evening: every job is due, the 日报 too.
    at(&app, day(1), 22);
    let r = app.services.run_jobs().await.unwrap();
    assert!(r.failed.is_empty(), "no job failed: {:?}", r.failed);
    assert!(r.escalated.is_some());
    assert_eq!(r.obligations, Some(2), "A and B; C skipped");
    assert_eq!(r.missed_check_ins, Some(2), "A and B; C skipped");
    assert_eq!(r.rolling_overdue, Some(1), "A; D's industry is unknown");
    assert_eq!(r.round_deadlines, 1, "the good round's grid");
    assert!(r.daily_report.is_some(), "the 日报 was made");
    assert!(r.delivered >= 1, "A's reminders went out");

    let tasks = |kind: &str| {
        format!("SELECT COUNT(*) FROM tasks WHERE kind = '{kind}' AND person_id IN ({a}, {b})")
    };
    assert_eq!(count(&app, &tasks("test_missed")).await, 2);
    assert_eq!(count(&app, &tasks("check_in_missed")).await, 2);
    assert_eq!(count(&app, &tasks("rolling_overdue")).await, 1);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM tasks WHERE person_id = {c}")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM tasks WHERE kind = 'untested' AND region = '330784001001001'"
        )
        .await,
        1
    );
    // B has no status page: no reminder with a dead link, the grid's task instead.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM notifications WHERE person_id = {b} AND kind = 'check_in_missed'"
            )
        )
        .await,
        0
    );
    // The reminder nobody can receive is set aside once, with an event.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM notifications WHERE dedup_key = 'planted' AND state = 'undeliverable'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM events WHERE kind = 'notification_undeliverable' AND person_id = {d}"
            )
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM events WHERE kind = 'notification_sent' AND person_id = {a}"
            )
        )
        .await,
        count(
            &app,
            &format!("SELECT COUNT(*) FROM notifications WHERE person_id = {a}")
        )
        .await,
    );
    // A's colour was derived by the sweep (red: in quarantine).
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM health_codes WHERE person_id = {a} AND colour = 'red'")
        )
        .await,
        1
    );
    // Sessions of yesterday have run out: sign in again.
    let grid = app.login_as("grid_worker", "330784001001001").await;
    let command = app.login_as("command", "330784").await;
    let (s, _) = app.get(&grid, "/api/v1/due-tests").await;
    assert_eq!(s, 200);
    let (s, _) = app.get(&command, "/api/v1/dashboard/330784").await;
    assert_eq!(s, 200, "the board counts past C's plan");
}

/// The per-minute escalation runs past receipts it cannot escalate: one the
/// database refuses to update and one whose stored region is not a code
/// (whose parent region cannot be cut off it). The good receipt after them
/// still escalates, and the job does not fail.
#[tokio::test]
async fn escalation_runs_past_receipts_it_cannot_escalate() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    for _ in 0..3 {
        app.login_as("grid_worker", "330784001001001").await;
    }
    let (s, i) = app
        .post(&command, "/api/v1/instructions", json!({"title": "核查", "body": "请核查", "due_at": "2022-01-28T10:30:00+08:00", "regions": ["330784001001"], "roles": ["grid_worker"]}))
        .await;
    assert_eq!(s, 201, "{i}");
    let users: Vec<i64> =
        sqlx::query("SELECT user_id FROM instruction_recipients ORDER BY user_id")
            .fetch_all(app.services.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<i64, _>(0))
            .collect();
    assert_eq!(users.len(), 3);
    let (refused, odd, good) = (users[0], users[1], users[2]);
    // The first: the database refuses its update.
    if app.services.db.backend() == bihuan::storage::Backend::Postgres {
        exec(
            &app,
            "CREATE FUNCTION planted_refusal() RETURNS trigger AS $$
             BEGIN RAISE EXCEPTION 'planted refusal'; END $$ LANGUAGE plpgsql",
        )
        .await;
        exec(
            &app,
            &format!(
                "CREATE TRIGGER planted BEFORE UPDATE ON instruction_recipients FOR EACH ROW
                 WHEN (OLD.user_id = {refused}) EXECUTE FUNCTION planted_refusal()"
            ),
        )
        .await;
    } else {
        exec(
            &app,
            &format!(
                "CREATE TRIGGER planted BEFORE UPDATE ON instruction_recipients
                 WHEN OLD.user_id = {refused} BEGIN SELECT RAISE(ABORT, 'planted refusal'); END"
            ),
        )
        .await;
    }
    // The second: a region that is not a code, cut mid-character.
    exec(
        &app,
        &format!(
            "UPDATE instruction_recipients SET region = '3307840010一1' WHERE user_id = {odd}"
        ),
    )
    .await;

    app.advance_hours(1);
    let r = app.services.run_jobs().await.unwrap();
    assert!(r.failed.is_empty(), "no job failed: {:?}", r.failed);
    assert_eq!(r.escalated, Some(1), "the good receipt");
    let escalated = |user: i64| {
        format!(
            "SELECT COUNT(*) FROM instruction_recipients
             WHERE user_id = {user} AND escalated_to = '330784001001'"
        )
    };
    assert_eq!(count(&app, &escalated(good)).await, 1);
    assert_eq!(count(&app, &escalated(refused)).await, 0);
    assert_eq!(count(&app, &escalated(odd)).await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'instruction_escalated'"
        )
        .await,
        1,
        "only the good receipt's"
    );
}
