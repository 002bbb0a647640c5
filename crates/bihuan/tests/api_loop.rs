//! The whole loop through the HTTP API: declare → task → 签收 → 反馈 → 办结,
//! overdue escalation, re-triage after a new risk area, moved, corrected,
//! dedup by document, and region isolation. Runs on SQLite, and on
//! PostgreSQL when BIHUAN_TEST_POSTGRES is set.

mod support;

use serde_json::{Value, json};
use support::{TestApp, declaration, spawn, with_xiluoyuan};

const CITY: &str = "330784";
const TOWN: &str = "330784001";
const VILLAGE: &str = "330784001001";
const GRID: &str = "330784001001001";
const OTHER_VILLAGE: &str = "330784002001";
const OTHER_GRID: &str = "330784002001001";

async fn tasks(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (s, body) = app.get(token, &format!("/api/v1/tasks{query}")).await;
    assert_eq!(s, 200, "{body}");
    body.as_array().unwrap().clone()
}

fn dates(plan: &Value, key: &str) -> Vec<String> {
    plan[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["date"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn declaration_to_closed_task() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["assessment"]["category"], "risk_street");
    assert_eq!(d["assessment"]["policy_version"], "zj-2022-01-27");
    assert_eq!(d["assessment"]["plan"]["release_on"], "2022-02-15");
    assert_eq!(
        dates(&d["assessment"]["plan"], "test_days"),
        [
            "2022-01-28",
            "2022-02-01",
            "2022-02-08",
            "2022-02-10",
            "2022-02-15"
        ]
    );
    assert_eq!(d["control"]["category"], "risk_street");
    assert!(d["status_url"].as_str().unwrap().starts_with("/s/"));
    let reason = d["assessment"]["reasons"][0]["zh"].as_str().unwrap();
    assert!(reason.contains("西罗园街道"), "{reason}");

    let worker = app.login_as("grid_worker", GRID).await;
    let list = tasks(&app, &worker, "").await;
    assert_eq!(list.len(), 1);
    let task = &list[0];
    assert_eq!(task["kind"], "verify");
    assert_eq!(task["state"], "dispatched");
    assert_eq!(task["region"], GRID);
    assert_eq!(task["person_id"], d["person_id"]);
    // 2 hours from 10:00 Shanghai.
    assert_eq!(task["due_at"], "2022-01-28T12:00:00+08:00");
    let id = task["id"].as_i64().unwrap();

    // Report before acknowledging is illegal.
    let (s, _) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified", "note": ""}),
        )
        .await;
    assert_eq!(s, 409);
    let (s, t) = app
        .post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    assert_eq!((s, t["state"].as_str()), (200, Some("acknowledged")));
    let (s, t) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified", "note": "已转运至集中隔离点"}),
        )
        .await;
    assert_eq!((s, t["state"].as_str()), (200, Some("reported")), "{t}");
    assert_eq!(t["outcome"], "verified");

    // A grid worker does not close; the village does.
    let (s, _) = app
        .post(&worker, &format!("/api/v1/tasks/{id}/close"), json!({}))
        .await;
    assert_eq!(s, 403);
    let village = app.login_as("village", VILLAGE).await;
    let (s, t) = app
        .post(&village, &format!("/api/v1/tasks/{id}/close"), json!({}))
        .await;
    assert_eq!((s, t["state"].as_str()), (200, Some("closed")));
    let (s, _) = app
        .post(&village, &format!("/api/v1/tasks/{id}/close"), json!({}))
        .await;
    assert_eq!(s, 409, "closing twice is illegal");
    // Reopen sends it back to the grid, with a reason.
    let (s, t) = app
        .post(
            &village,
            &format!("/api/v1/tasks/{id}/reopen"),
            json!({"reason": "地址未核实"}),
        )
        .await;
    assert_eq!((s, t["state"].as_str()), (200, Some("dispatched")));

    let (s, p) = app
        .get(&village, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    assert_eq!(s, 200, "{p}");
    let kinds: Vec<&str> = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "declared",
            "control_set",
            // The colour follows the new control in the same transaction.
            "health_code_changed",
            "task_created",
            "task_ack",
            "task_report",
            "task_close",
            "task_reopen"
        ]
    );
    assert!(
        p["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["at"].as_i64().unwrap() > 0)
    );
    assert_eq!(p["id_number"], "110105********002X");
    assert_eq!(p["phone"], "138****8000");
}

#[tokio::test]
async fn registration_only_gets_no_task_and_symptoms_get_an_urgent_one() {
    let app = spawn().await;
    let mut body = declaration();
    body["origin"] = json!({"county": "330106", "township": null, "departed_on": "2022-01-28"});
    let (s, d) = app.declare(body.clone()).await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["assessment"]["category"], "in_province");
    let worker = app.login_as("grid_worker", GRID).await;
    assert!(tasks(&app, &worker, "").await.is_empty());

    body["id_number"] = json!(support::resident_id(7));
    body["symptoms"] = json!(["fever", "cough"]);
    let (s, d) = app.declare(body).await;
    assert_eq!(s, 201, "{d}");
    let list = tasks(&app, &worker, "").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["kind"], "fever_transfer");
    assert_eq!(list[0]["due_at"], "2022-01-28T12:00:00+08:00");
    assert_eq!(dates(&d["assessment"]["plan"], "test_days"), ["2022-01-28"]);
}

#[tokio::test]
async fn overdue_tasks_climb_one_level_at_a_time() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (s, _) = app.declare(declaration()).await;
    assert_eq!(s, 201);
    let village = app.login_as("village", VILLAGE).await;
    let town = app.login_as("town", TOWN).await;

    assert_eq!(
        app.services.sweep_overdue().await.unwrap(),
        0,
        "not due yet"
    );
    app.advance_hours(3);
    assert_eq!(app.services.sweep_overdue().await.unwrap(), 1);
    assert_eq!(app.services.sweep_overdue().await.unwrap(), 0, "idempotent");
    let escalated = tasks(&app, &village, "?escalated=true").await;
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0]["escalated_to"], VILLAGE);
    assert_eq!(escalated[0]["overdue"], true);
    assert!(tasks(&app, &town, "?escalated=true").await.is_empty());
    let overdue = tasks(&app, &town, "?overdue=true").await;
    assert_eq!(overdue.len(), 1, "the town sees its overdue work");

    // One more deadline span (2 h) at the village, then the town.
    app.advance_hours(2);
    assert_eq!(app.services.sweep_overdue().await.unwrap(), 0);
    app.advance_hours(1);
    assert_eq!(app.services.sweep_overdue().await.unwrap(), 1);
    assert_eq!(tasks(&app, &town, "?escalated=true").await.len(), 1);
    let command = app.login_as("command", CITY).await;
    let (s, o) = app.get(&command, "/api/v1/overview").await;
    assert_eq!(s, 200);
    assert_eq!(o["overdue_by_town"][0][0], TOWN);
    assert_eq!(o["overdue_by_town"][0][2], 1);

    // Acknowledging does not stop the clock; reporting does.
    let worker = app.login_as("grid_worker", GRID).await;
    let id = escalated[0]["id"].as_i64().unwrap();
    app.post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    app.post(
        &worker,
        &format!("/api/v1/tasks/{id}/report"),
        json!({"outcome": "not_found"}),
    )
    .await;
    app.advance_hours(24);
    assert_eq!(app.services.sweep_overdue().await.unwrap(), 0);
}

#[tokio::test]
async fn a_new_risk_area_raises_people_it_touches() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    // Example 2: from 右安门街道 (same county), left 01-27.
    let mut body = declaration();
    body["origin"] =
        json!({"county": "110106", "township": "110106001", "departed_on": "2022-01-27"});
    let (s, d) = app.declare(body).await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["assessment"]["category"], "risk_county");
    assert_eq!(
        dates(&d["assessment"]["plan"], "test_days"),
        ["2022-01-28", "2022-01-29", "2022-02-09"]
    );
    // Someone from elsewhere is not touched.
    let mut other = declaration();
    other["id_number"] = json!(support::resident_id(1));
    other["origin"] = json!({"county": "420106", "township": null, "departed_on": "2022-01-27"});
    assert_eq!(app.declare(other).await.0, 201);

    // The first verification is done and closed.
    let worker = app.login_as("grid_worker", GRID).await;
    let village = app.login_as("village", VILLAGE).await;
    let first = tasks(&app, &worker, "").await;
    let first: Vec<i64> = first.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    for id in &first {
        app.post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
            .await;
        app.post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified"}),
        )
        .await;
        app.post(&village, &format!("/api/v1/tasks/{id}/close"), json!({}))
            .await;
    }

    // Example 8: on 01-29 the command lists 右安门街道 as medium since 01-20.
    // (A day later the sessions of yesterday have expired: sign in again.)
    app.advance_hours(24);
    let command = app.login_as("command", CITY).await;
    let worker = app.login_as("grid_worker", GRID).await;
    let (s, r) = app
        .post(
            &command,
            "/api/v1/risk-areas",
            json!({"county": "110106", "township": "110106001", "level": "medium", "since": "2022-01-20"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["reassessed"], 1);
    assert_eq!(r["raised"], 1);

    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    let control = &p["control"];
    assert_eq!(control["category"], "risk_street");
    assert_eq!(control["plan"]["release_on"], "2022-02-16");
    assert_eq!(
        dates(&control["plan"], "test_days"),
        [
            "2022-01-28",
            "2022-01-29",
            "2022-02-02",
            "2022-02-09",
            "2022-02-11",
            "2022-02-16"
        ]
    );
    let open = tasks(&app, &worker, "?state=dispatched").await;
    assert_eq!(open.len(), 1, "a new verification task");
    assert!(!first.contains(&open[0]["id"].as_i64().unwrap()));
    let reason = open[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("1月29日新增") && reason.contains("右安门街道"),
        "{reason}"
    );
    assert_eq!(open[0]["due_at"], "2022-01-29T12:00:00+08:00");
    let raised = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "control_raised")
        .expect("a control_raised event");
    assert_eq!(raised["detail"]["from"], "risk_county");

    // Publishing again (moving since earlier) raises nobody twice.
    let area = r["id"].as_i64().unwrap();
    let (s, r) = app
        .patch(
            &command,
            &format!("/api/v1/risk-areas/{area}"),
            json!({"since": "2022-01-18"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["raised"], 0);
    let (s, _) = app
        .patch(
            &command,
            &format!("/api/v1/risk-areas/{area}"),
            json!({"since": "2022-01-25"}),
        )
        .await;
    assert_eq!(s, 422, "since may only move earlier");

    // Lifting relaxes nobody.
    let (s, _) = app
        .post(
            &command,
            &format!("/api/v1/risk-areas/{area}/lift"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    assert_eq!(p["control"]["category"], "risk_street");
    let (_, list) = app.get(&command, "/api/v1/risk-areas").await;
    assert_eq!(list[1]["until"], "2022-01-29");
    let (s, _) = app
        .post(
            &command,
            &format!("/api/v1/risk-areas/{area}/lift"),
            json!({}),
        )
        .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn moved_sends_the_task_to_the_new_village() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (_, d) = app.declare(declaration()).await;
    let worker = app.login_as("grid_worker", GRID).await;
    let other = app.login_as("grid_worker", OTHER_GRID).await;
    let id = tasks(&app, &worker, "").await[0]["id"].as_i64().unwrap();
    app.post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    let (s, e) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "moved", "note": "已搬家"}),
        )
        .await;
    assert_eq!(s, 422, "moved needs a village and address: {e}");
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["village", "address"]);
    let (s, t) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "moved", "note": "已搬家", "village": OTHER_VILLAGE, "address": "新址2号"}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["id"], id);
    assert_eq!(t["state"], "dispatched");
    assert_eq!(t["region"], OTHER_GRID);
    assert!(tasks(&app, &worker, "").await.is_empty());
    let (s, _) = app
        .post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    assert_eq!(s, 404, "the old grid no longer sees it");
    assert_eq!(tasks(&app, &other, "").await[0]["id"], id);
    let (s, p) = app
        .get(&other, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    assert_eq!(s, 200);
    let kinds: Vec<&str> = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.ends_with(&["task_ack", "task_report"]),
        "history kept: {kinds:?}"
    );
}

#[tokio::test]
async fn corrected_facts_are_triaged_again_and_the_stricter_kept() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let mut body = declaration();
    body["origin"] =
        json!({"county": "110106", "township": "110106001", "departed_on": "2022-01-27"});
    let (_, d) = app.declare(body).await;
    assert_eq!(d["assessment"]["category"], "risk_county");
    let worker = app.login_as("grid_worker", GRID).await;
    let id = tasks(&app, &worker, "").await[0]["id"].as_i64().unwrap();
    app.post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    let (s, e) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "corrected", "corrections": {"origin": {"county": "110106", "township": "999", "departed_on": "2022-01-26"}}}),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(e["errors"][0]["field"], "corrections.origin.township");
    // The real township visited was 西罗园街道.
    let (s, t) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "corrected", "note": "实为西罗园街道",
                   "corrections": {"origin": {"county": "110106", "township": "110106003", "departed_on": "2022-01-26"}}}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let (_, p) = app
        .get(&worker, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    assert_eq!(p["control"]["category"], "risk_street");
    assert_eq!(p["control"]["plan"]["release_on"], "2022-02-15");
    // A correction towards something milder keeps the stricter control.
    let village = app.login_as("village", VILLAGE).await;
    app.post(
        &village,
        &format!("/api/v1/tasks/{id}/reopen"),
        json!({"reason": "再核一次"}),
    )
    .await;
    app.post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    let (s, _) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "corrected", "corrections": {"origin": {"county": "330106", "departed_on": "2022-01-26"}}}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, p) = app
        .get(&worker, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    assert_eq!(
        p["control"]["category"], "risk_street",
        "never relaxed silently"
    );
}

#[tokio::test]
async fn one_person_per_document_and_one_open_verification() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (_, first) = app.declare(declaration()).await;
    let mut again = declaration();
    again["id_number"] = json!("11010519491231002x");
    again["phone"] = json!("+86 139-0013-9000");
    again["origin"] = json!({"county": "420106", "township": null, "departed_on": "2022-01-27"});
    let (s, second) = app.declare(again).await;
    assert_eq!(s, 201, "{second}");
    assert_eq!(first["person_id"], second["person_id"]);
    assert_ne!(first["declaration_id"], second["declaration_id"]);
    assert_eq!(second["assessment"]["category"], "out_of_province");
    assert_eq!(
        second["control"]["status"], "identity_pending",
        "another phone: the receipt speaks only of its own declaration"
    );
    let worker = app.login_as("grid_worker", GRID).await;
    let list = tasks(&app, &worker, "").await;
    assert_eq!(list.len(), 1, "the second declaration joins the open task");
    let reason = list[0]["reason"].as_str().unwrap();
    assert!(reason.contains("信息变更待核实"), "{reason}");
    let (_, p) = app
        .get(&worker, &format!("/api/v1/persons/{}", first["person_id"]))
        .await;
    assert_eq!(
        p["phone"], "138****8000",
        "the phone on file waits for the grid"
    );
    assert_eq!(p["identity_changes"][0]["phone_masked"], "139****9000");
    let id = list[0]["id"].as_i64().unwrap();
    app.post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    let (s, t) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified", "identity": {
                "declaration_id": second["declaration_id"], "confirm": true}}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    let (_, p) = app
        .get(&worker, &format!("/api/v1/persons/{}", first["person_id"]))
        .await;
    assert_eq!(
        p["phone"], "139****9000",
        "confirmed, the newer phone is kept"
    );
}

#[tokio::test]
async fn users_see_only_their_own_region() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (_, d) = app.declare(declaration()).await;
    let person = d["person_id"].as_i64().unwrap();
    let worker = app.login_as("grid_worker", GRID).await;
    let id = tasks(&app, &worker, "").await[0]["id"].as_i64().unwrap();
    for (role, region) in [
        ("grid_worker", OTHER_GRID),
        ("village", OTHER_VILLAGE),
        ("town", "330784002"),
    ] {
        let other = app.login_as(role, region).await;
        assert!(tasks(&app, &other, "").await.is_empty(), "{role}");
        assert!(
            tasks(&app, &other, &format!("?region={GRID}"))
                .await
                .is_empty(),
            "{role}"
        );
        assert_eq!(
            app.get(&other, &format!("/api/v1/persons/{person}"))
                .await
                .0,
            404,
            "{role}"
        );
        for action in ["ack", "close", "reopen"] {
            let (s, _) = app
                .post(&other, &format!("/api/v1/tasks/{id}/{action}"), json!({}))
                .await;
            assert!(s == 404 || s == 403, "{role} {action}: {s}");
        }
        let (s, _) = app
            .post(
                &other,
                &format!("/api/v1/tasks/{id}/report"),
                json!({"outcome": "verified"}),
            )
            .await;
        assert_eq!(s, 404, "{role}");
    }
    // The task is untouched.
    assert_eq!(tasks(&app, &worker, "").await[0]["state"], "dispatched");
    // No session, no data.
    assert_eq!(app.get("", "/api/v1/tasks").await.0, 401);
    assert_eq!(
        app.get("nonsense", &format!("/api/v1/persons/{person}"))
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn unmasking_is_for_some_roles_and_always_audited() {
    let app = spawn().await;
    let (_, d) = app.declare(declaration()).await;
    let person = d["person_id"].as_i64().unwrap();
    let town = app.login_as("town", TOWN).await;
    assert_eq!(
        app.get(&town, &format!("/api/v1/persons/{person}?unmask=true"))
            .await
            .0,
        403
    );
    let (s, p) = app.get(&town, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(s, 200);
    assert_eq!(p["id_number"], "110105********002X");
    let worker = app.login_as("grid_worker", GRID).await;
    let (s, p) = app
        .get(&worker, &format!("/api/v1/persons/{person}?unmask=true"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(p["id_number"], "11010519491231002X");
    assert_eq!(p["phone"], "13800138000");
    let (_, p) = app.get(&town, &format!("/api/v1/persons/{person}")).await;
    let audit: Vec<&Value> = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "unmasked")
        .collect();
    assert_eq!(audit.len(), 1);
    assert!(audit[0]["actor"].as_str().unwrap().starts_with('u'));
}

#[tokio::test]
async fn only_the_command_publishes_risk_areas() {
    let app = spawn().await;
    let town = app.login_as("town", TOWN).await;
    let (s, _) = app
        .post(
            &town,
            "/api/v1/risk-areas",
            json!({"county": "110106", "level": "high", "since": "2022-01-20"}),
        )
        .await;
    assert_eq!(s, 403);
    let command = app.login_as("command", CITY).await;
    for (body, field) in [
        (
            json!({"county": "110106", "level": "high", "since": "2022-01-29"}),
            "since",
        ),
        (
            json!({"county": "110106", "level": "high", "since": "2021-11-20"}),
            "since",
        ),
        (
            json!({"county": "999999", "level": "high", "since": "2022-01-20"}),
            "county",
        ),
        (
            json!({"county": "110106", "township": "120101001", "level": "high", "since": "2022-01-20"}),
            "township",
        ),
        (
            json!({"county": "110106", "level": "low", "since": "2022-01-20"}),
            "level",
        ),
    ] {
        let (s, e) = app.post(&command, "/api/v1/risk-areas", body).await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["errors"][0]["field"], field);
    }
    let (_, list) = app.get(&command, "/api/v1/risk-areas").await;
    assert_eq!(list.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn sessions_lock_out_after_repeated_failures() {
    let app = spawn().await;
    app.login_as("command", CITY).await;
    app.services
        .add_user(
            bihuan::usecases::auth::parse_new_user("wang", "town", TOWN, "a long password")
                .unwrap(),
        )
        .await
        .unwrap();
    for _ in 0..5 {
        let (s, _) = app
            .post(
                "",
                "/api/v1/session",
                json!({"username": "wang", "password": "wrong one!"}),
            )
            .await;
        assert_eq!(s, 401);
    }
    let (s, _) = app
        .post(
            "",
            "/api/v1/session",
            json!({"username": "wang", "password": "a long password"}),
        )
        .await;
    assert_eq!(s, 429, "locked even with the right password");
    app.advance_hours(1);
    let (s, b) = app
        .post(
            "",
            "/api/v1/session",
            json!({"username": "wang", "password": "a long password"}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = app
        .post(
            "",
            "/api/v1/session",
            json!({"username": "nobody", "password": "whatever"}),
        )
        .await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn public_reference_endpoints() {
    let app = spawn().await;
    let (s, h) = app.get("", "/healthz").await;
    assert_eq!((s, h["database"].as_str()), (200, Some("ok")));
    let (s, p) = app.get("", "/api/v1/policy").await;
    assert_eq!(s, 200);
    assert_eq!(p["version"], "zj-2022-01-27");
    assert_eq!(p["categories"].as_array().unwrap().len(), 13);
    assert!(
        p["venue_types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "supermarket")
    );
    assert_eq!(p["tracing"]["days_before"], 4);
    let (s, r) = app.get("", &format!("/api/v1/regions/{CITY}")).await;
    assert_eq!(s, 200);
    assert_eq!(r["level"], "city");
    assert_eq!(
        r["children"].as_array().unwrap().len(),
        15,
        "14 towns and the zone"
    );
    let (s, r) = app.get("", &format!("/api/v1/regions/{VILLAGE}")).await;
    assert_eq!((s, r["children"][0]["code"].as_str()), (200, Some(GRID)));
    assert_eq!(app.get("", "/api/v1/regions/110106").await.0, 404);
    assert_eq!(app.get("", "/api/v1/regions/abc").await.0, 422);
    let (s, towns) = app.get("", "/api/v1/divisions?parent=110106").await;
    assert_eq!(s, 200);
    assert!(
        towns
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "西罗园街道")
    );
}
