//! 暖心服务 help requests, transfers inside and out of the city, and the
//! health-code feed for the provincial system.

mod support;

use calamine::{Data, Reader, Xlsx};
use serde_json::{Value, json};
use support::{TestApp, declaration, resident_id, spawn};

const GRID: &str = "330784001001001";

async fn with_person(app: &TestApp) -> (i64, String) {
    let command = app.login_as("command", "330784").await;
    app.post(
        &command,
        "/api/v1/risk-areas",
        json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"}),
    )
    .await;
    let (_, d) = app.declare(declaration()).await;
    (
        d["person_id"].as_i64().unwrap(),
        d["receipt"].as_str().unwrap().to_string(),
    )
}

fn sheet(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_help_request_is_answered_and_rated() {
    let app = spawn().await;
    let (_, receipt) = with_person(&app).await;
    let help = format!("/api/v1/status/{receipt}/help");
    let (s, e) = app.post("", &help, json!({"kind": "pizza"})).await;
    assert_eq!((s, e["errors"][0]["field"].as_str()), (422, Some("kind")));
    let (s, r) = app
        .post("", &help, json!({"kind": "medicine", "note": "降压药"}))
        .await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    let (s, _) = app.post("", &help, json!({"kind": "groceries"})).await;
    assert_eq!(s, 201);

    let worker = app.login_as("grid_worker", GRID).await;
    let (_, tasks) = app.get(&worker, "/api/v1/tasks?state=dispatched").await;
    let help_tasks: Vec<&Value> = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "help")
        .collect();
    assert_eq!(help_tasks.len(), 2, "each request is its own task");
    assert!(
        help_tasks[0]["reason"]
            .as_str()
            .unwrap()
            .contains("药品（降压药）")
    );

    // The command sees what waits, and for how long.
    app.advance_hours(1);
    let command = app.login_as("command", "330784").await;
    let (_, waiting) = app.get(&command, "/api/v1/help-requests/waiting").await;
    assert_eq!(waiting[0]["town"], "330784001");
    assert_eq!(waiting[0]["open"], 2);
    assert_eq!(waiting[0]["longest_wait_minutes"], 60);

    let rate = format!("/api/v1/status/{receipt}/help/{id}/rating");
    assert_eq!(
        app.post("", &rate, json!({"rating": 5})).await.0,
        409,
        "not answered yet"
    );
    let task = help_tasks[0]["id"].as_i64().unwrap();
    app.post(&worker, &format!("/api/v1/tasks/{task}/ack"), json!({}))
        .await;
    let (s, _) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{task}/report"),
            json!({"outcome": "done", "note": "已送达"}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, mine) = app.get("", &help).await;
    assert_eq!(mine[0]["task_state"], "reported");
    assert_eq!(mine[0]["answer"], "已送达");
    assert_eq!(mine[1]["task_state"], "dispatched");
    assert_eq!(app.post("", &rate, json!({"rating": 9})).await.0, 422);
    assert_eq!(app.post("", &rate, json!({"rating": 5})).await.0, 200);
    assert_eq!(
        app.post("", &rate, json!({"rating": 4})).await.0,
        409,
        "rated once"
    );
    let (_, mine) = app.get("", &help).await;
    assert_eq!(mine[0]["rating"], 5);
    let (_, waiting) = app.get(&command, "/api/v1/help-requests/waiting").await;
    assert_eq!(waiting[0]["open"], 1);

    // Only people under a measure ask for help this way.
    let mut reg = declaration();
    reg["id_number"] = json!(resident_id(5));
    reg["origin"] = json!({"county": "330106", "departed_on": "2022-01-28"});
    let (_, r) = app.declare(reg).await;
    let (s, _) = app
        .post(
            "",
            &format!("/api/v1/status/{}/help", r["receipt"].as_str().unwrap()),
            json!({"kind": "other"}),
        )
        .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn a_transfer_inside_the_city_moves_plan_history_and_tasks() {
    let app = spawn().await;
    let (person, _) = with_person(&app).await;
    let village = app.login_as("village", "330784001001").await;
    let (s, e) = app
        .post(
            &village,
            &format!("/api/v1/persons/{person}/transfer"),
            json!({"address": "x"}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("village"))
    );
    let (s, r) = app
        .post(
            &village,
            &format!("/api/v1/persons/{person}/transfer"),
            json!({"village": "330784002001", "address": "新址3号", "reason": "投亲"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["grid"], "330784002001001");
    assert_eq!(
        app.get(&village, &format!("/api/v1/persons/{person}"))
            .await
            .0,
        404,
        "no longer ours"
    );
    let other = app.login_as("grid_worker", "330784002001001").await;
    let (s, p) = app.get(&other, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(s, 200);
    assert_eq!(
        p["control"]["category"], "risk_street",
        "the plan comes along"
    );
    let kinds: Vec<&str> = p["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["verify", "transfer_in"]);
    assert!(
        p["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["region"] == "330784002001001")
    );
    assert!(
        p["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "declared"),
        "history kept"
    );
}

#[tokio::test]
async fn moving_out_of_the_city_hands_over_and_exports() {
    let app = spawn().await;
    let (person, _) = with_person(&app).await;
    let worker = app.login_as("grid_worker", GRID).await;
    let (s, r) = app
        .post(
            &worker,
            &format!("/api/v1/persons/{person}/transfer"),
            json!({"county": "110106", "township": "110106003", "address": "西罗园某小区", "reason": "返京"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (_, p) = app.get(&worker, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(p["control"]["status"], "transferred_out");
    assert!(
        p["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["state"] == "closed")
    );

    let town = app.login_as("town", "330784001").await;
    let r = app
        .http
        .get(app.url("/api/v1/handovers.xlsx"))
        .bearer_auth(&town)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "towns see masks only");
    let village = app.login_as("village", "330784001001").await;
    let r = app
        .http
        .get(app.url("/api/v1/handovers.xlsx"))
        .bearer_auth(&village)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rows = sheet(&r.bytes().await.unwrap());
    assert_eq!(rows[0][3], "证件号码");
    assert_eq!(rows[1][3], "11010519491231002X");
    assert_eq!(rows[1][5], "北京市丰台区 西罗园街道");
    assert_eq!(rows[1][7], "中高风险地区所在乡镇(街道)");
    assert_eq!(rows[1][8], "2022-02-15");
}

#[tokio::test]
async fn the_health_code_feed_serves_the_command_and_token_holders() {
    let app = spawn().await;
    let (person, _) = with_person(&app).await;
    app.services.run_jobs().await.unwrap();
    let token = app
        .services
        .add_api_token("zj-health-code", "health_codes")
        .await
        .unwrap();
    let (s, rows) = app
        .get(&token, "/api/v1/health-codes?changed_since=0")
        .await;
    assert_eq!(s, 200, "{rows}");
    assert_eq!(rows[0]["person_id"], person);
    assert_eq!(rows[0]["id_number"], "11010519491231002X");
    assert_eq!(rows[0]["colour"], "red");
    let since = rows[0]["changed_at"].as_i64().unwrap();
    let (_, none) = app
        .get(
            &token,
            &format!("/api/v1/health-codes?changed_since={since}"),
        )
        .await;
    assert_eq!(none, json!([]), "only what changed after");
    assert_eq!(app.get("not-a-token", "/api/v1/health-codes").await.0, 401);
    let town = app.login_as("town", "330784001").await;
    assert_eq!(app.get(&town, "/api/v1/health-codes").await.0, 403);
    let command = app.login_as("command", "330784").await;
    let r = app
        .http
        .get(app.url("/api/v1/health-codes?format=csv"))
        .bearer_auth(&command)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        text.starts_with("person_id,id_type,id_number,colour,changed_at,seq\n"),
        "{text}"
    );
    assert!(text.contains(",11010519491231002X,red,"), "{text}");
    // A person's download names them, like every other export.
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("导出人："),
        "{text}"
    );
    let r = app
        .http
        .get(app.url("/api/v1/health-codes?format=xlsx"))
        .bearer_auth(&command)
        .send()
        .await
        .unwrap();
    let rows = sheet(&r.bytes().await.unwrap());
    assert_eq!(rows[1][3], "red");
    assert!(rows.last().unwrap()[0].starts_with("导出人："), "{rows:?}");
    assert_eq!(
        app.get(&command, "/api/v1/health-codes?format=pdf").await.0,
        422
    );
    // Every read is audited.
    let reads = sqlx::query("SELECT COUNT(*) FROM events WHERE kind = 'health_codes_read'")
        .fetch_one(app.services.db.pool())
        .await
        .map(|r| sqlx::Row::get::<i64, _>(&r, 0))
        .unwrap();
    assert_eq!(reads, 4);
}

#[tokio::test]
async fn a_new_measure_is_red_at_once_and_the_cursor_misses_no_change_in_the_same_second() {
    let app = spawn().await;
    let token = app
        .services
        .add_api_token("zj-health-code", "health_codes")
        .await
        .unwrap();
    let (s, rows) = app.get(&token, "/api/v1/health-codes?cursor=0").await;
    assert_eq!((s, rows), (200, json!([])));
    // A 集中隔离 arrival: red in the feed with no sweep run.
    let (first, _) = with_person(&app).await;
    let (_, rows) = app.get(&token, "/api/v1/health-codes?cursor=0").await;
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["person_id"], first);
    assert_eq!(rows[0]["colour"], "red");
    let cursor = rows[0]["seq"].as_i64().unwrap();
    let stamp = rows[0]["changed_at"].as_i64().unwrap();

    // A second arrival in the same second (the clock stands still).
    let mut d = declaration();
    d["id_number"] = json!(resident_id(7));
    let (s, d) = app.declare(d).await;
    assert_eq!(s, 201, "{d}");
    let second = d["person_id"].as_i64().unwrap();
    let (_, rows) = app
        .get(&token, &format!("/api/v1/health-codes?cursor={cursor}"))
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["person_id"], second);
    assert_eq!(rows[0]["colour"], "red");
    assert_eq!(rows[0]["changed_at"], stamp, "stamped in the same second");
    assert!(rows[0]["seq"].as_i64().unwrap() > cursor);
    // Seconds cannot tell them apart: the old parameter still answers as
    // it did (and would have lost the second change).
    let (_, old) = app
        .get(
            &token,
            &format!("/api/v1/health-codes?changed_since={stamp}"),
        )
        .await;
    assert_eq!(old, json!([]));
    let (_, all) = app
        .get(
            &token,
            &format!("/api/v1/health-codes?changed_since={}", stamp - 1),
        )
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    // Nothing after the last seq.
    let last = rows[0]["seq"].as_i64().unwrap();
    let (_, none) = app
        .get(&token, &format!("/api/v1/health-codes?cursor={last}"))
        .await;
    assert_eq!(none, json!([]));
}
