//! 核酸检测: tube rules, a negative pool satisfying obligations, a positive
//! pool → temporary controls → single re-tests → one positive, nine released.

mod support;

use serde_json::{Value, json};
use sqlx::Row;
use support::{TestApp, count, declaration, resident_id, spawn};

const GRID: &str = "330784001001001";

async fn open(app: &TestApp, token: &str, barcode: &str, size: i64) -> (u16, Value) {
    app.post(token, "/api/v1/tubes", json!({"barcode": barcode, "pool_size": size, "category": "mandatory", "site": "园丁社区采样点"}))
        .await
}

async fn add_id(app: &TestApp, token: &str, barcode: &str, n: u32) -> (u16, Value) {
    app.post(
        token,
        &format!("/api/v1/tubes/{barcode}/members"),
        json!({"id_number": resident_id(n)}),
    )
    .await
}

async fn results(app: &TestApp, token: &str, rows: Value) -> Value {
    let (s, r) = app.post(token, "/api/v1/lab-results", rows).await;
    assert_eq!(s, 200, "{r}");
    r
}

#[tokio::test]
async fn tube_rules_refuse_clearly() {
    let app = spawn().await;
    let sampler = app.login_as("grid_worker", GRID).await;
    assert_eq!(open(&app, &sampler, "YK0000001", 3).await.0, 422);
    assert_eq!(open(&app, &sampler, "bad code!", 10).await.0, 422);
    assert_eq!(open(&app, &sampler, "YK0000001", 10).await.0, 201);
    let (s, e) = open(&app, &sampler, "yk0000001", 10).await;
    assert_eq!(
        (s, e["errors"][0]["code"].as_str()),
        (422, Some("taken")),
        "barcodes are unique"
    );
    let (s, e) = app
        .post(&sampler, "/api/v1/tubes/YK0000001/seal", json!({}))
        .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("empty")));
    for n in 0..10 {
        let (s, r) = add_id(&app, &sampler, "YK0000001", n).await;
        assert_eq!(s, 201, "{r}");
        assert_eq!(r["members"], n + 1);
        assert_eq!(r["full"], n == 9);
    }
    let (s, e) = add_id(&app, &sampler, "YK0000001", 10).await;
    assert_eq!((s, e["error"].as_str()), (409, Some("full")));
    assert_eq!(e["message"], "试管已满");
    assert_eq!(open(&app, &sampler, "YK0000002", 5).await.0, 201);
    add_id(&app, &sampler, "YK0000002", 0).await;
    let (s, e) = add_id(&app, &sampler, "YK0000002", 0).await;
    assert_eq!((s, e["error"].as_str()), (409, Some("duplicate")));
    let (s, _) = app
        .post(&sampler, "/api/v1/tubes/YK0000002/seal", json!({}))
        .await;
    assert_eq!(s, 200, "sealed early");
    let (s, e) = add_id(&app, &sampler, "YK0000002", 1).await;
    assert_eq!((s, e["error"].as_str()), (409, Some("sealed")));
    let (s, _) = app
        .post(&sampler, "/api/v1/tubes/YK0000002/seal", json!({}))
        .await;
    assert_eq!(s, 409);
    // Unknown people were created once each, from their documents.
    assert_eq!(count(&app, "SELECT COUNT(*) FROM persons").await, 10);
    // One of the three ways to name a person, and a real one.
    let (s, _) = app
        .post(&sampler, "/api/v1/tubes/YK0000001/members", json!({}))
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .post(
            &sampler,
            "/api/v1/tubes/YK0000001/members",
            json!({"id_number": "110105194912310021"}),
        )
        .await;
    assert_eq!(s, 422, "check digit");
    let (s, _) = app
        .post(
            &sampler,
            "/api/v1/tubes/NOSUCHTUBE/members",
            json!({"person_id": 1}),
        )
        .await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn a_negative_pool_satisfies_obligations() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    app.post(&command, "/api/v1/risk-areas", json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"})).await;
    let (_, d) = app.declare(declaration()).await;
    let person = d["person_id"].as_i64().unwrap();
    let sampler = app.login_as("grid_worker", GRID).await;
    let (_, due) = app.get(&sampler, "/api/v1/due-tests").await;
    assert_eq!(due[0]["state"], "due");
    open(&app, &sampler, "YK1000001", 10).await;
    let (s, r) = app
        .post(
            &sampler,
            "/api/v1/tubes/YK1000001/members",
            json!({"receipt": d["receipt"]}),
        )
        .await;
    assert_eq!((s, r["person_id"].as_i64()), (201, Some(person)), "{r}");
    for n in 1..5 {
        add_id(&app, &sampler, "YK1000001", n).await;
    }
    app.post(&sampler, "/api/v1/tubes/YK1000001/seal", json!({}))
        .await;
    let lab = app
        .services
        .add_api_token("field-lab", "lab_results")
        .await
        .unwrap();
    let seqs = |feed: &Value| -> Vec<i64> {
        feed.as_array()
            .unwrap()
            .iter()
            .map(|r| r["seq"].as_i64().unwrap())
            .collect()
    };
    let (_, feed) = app.get(&command, "/api/v1/health-codes?cursor=0").await;
    let cursor = seqs(&feed).into_iter().max().unwrap_or(0);
    let r = results(&app, &lab, json!([{"barcode": "YK1000001", "result": "negative", "ct": "", "tested_at": "2022-01-28T09:30:00+08:00"}])).await;
    assert_eq!(r["applied"], 1);
    // The four members without a control turn green in one statement, each
    // with its own place in the feed after the cursor.
    let (_, feed) = app
        .get(&command, &format!("/api/v1/health-codes?cursor={cursor}"))
        .await;
    let after = seqs(&feed);
    assert_eq!(after.len(), 4, "{feed}");
    // Taken together just before commit: consecutive, right after the cursor.
    assert_eq!(after, (cursor + 1..=cursor + 4).collect::<Vec<_>>());
    assert!(
        feed.as_array()
            .unwrap()
            .iter()
            .all(|r| r["colour"] == "green")
    );
    let (_, due) = app.get(&sampler, "/api/v1/due-tests").await;
    assert_eq!(
        due[0]["state"], "done",
        "the pool's negative counts as the person's test"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM test_results WHERE result = 'negative'"
        )
        .await,
        5
    );
    // The same line again changes nothing.
    let r = results(&app, &lab, json!([{"barcode": "YK1000001", "result": "negative", "tested_at": "2022-01-28T09:30:00+08:00"}])).await;
    assert_eq!(
        (r["applied"].as_i64(), r["unchanged"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM test_results").await, 5);
    // Grid workers do not post lab results; a wrong token is refused.
    assert_eq!(
        app.post(&sampler, "/api/v1/lab-results", json!([])).await.0,
        403
    );
    assert_eq!(
        app.post("wrong", "/api/v1/lab-results", json!([])).await.0,
        401
    );
}

#[tokio::test]
async fn a_positive_pool_puts_members_under_control_until_single_retests() {
    let app = spawn().await;
    let sampler = app.login_as("grid_worker", GRID).await;
    let lab = app
        .services
        .add_api_token("field-lab", "lab_results")
        .await
        .unwrap();
    // One member is already under a stricter control (risk_street).
    let command = app.login_as("command", "330784").await;
    app.post(&command, "/api/v1/risk-areas", json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"})).await;
    let (_, d) = app.declare(declaration()).await;
    let strict = d["person_id"].as_i64().unwrap();
    open(&app, &sampler, "YK2000001", 10).await;
    app.post(
        &sampler,
        "/api/v1/tubes/YK2000001/members",
        json!({"person_id": strict}),
    )
    .await;
    for n in 1..10 {
        add_id(&app, &sampler, "YK2000001", n).await;
    }
    app.post(&sampler, "/api/v1/tubes/YK2000001/seal", json!({}))
        .await;
    let r = results(
        &app,
        &lab,
        json!([
            {"barcode": "YK2000001", "result": "positive", "ct": "31.2", "tested_at": "2022-01-28T09:30:00+08:00"},
            {"barcode": "NOSUCH01", "result": "negative", "tested_at": "2022-01-28T09:30:00+08:00"},
            {"barcode": "YK2000001", "result": "maybe", "tested_at": "2022-01-28T09:30:00+08:00"}
        ]),
    )
    .await;
    assert_eq!(r["applied"], 1);
    assert_eq!(r["refused"], 2);
    assert_eq!(r["rows"][1]["row"], 2);
    assert_eq!(r["rows"][2]["errors"][0]["field"], "result");
    // Every member: a 2-hour single re-test task in their grid, and a control.
    let (_, tasks) = app.get(&sampler, "/api/v1/tasks?state=dispatched").await;
    let resample: Vec<&Value> = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "resample")
        .collect();
    assert_eq!(resample.len(), 10);
    assert!(
        resample
            .iter()
            .all(|t| t["due_at"] == "2022-01-28T12:00:00+08:00")
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM controls WHERE category = 'pool_positive' AND status = 'active'"
        )
        .await,
        9
    );
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{strict}"))
        .await;
    assert_eq!(
        p["control"]["category"], "risk_street",
        "the stricter plan is kept"
    );
    let (_, tube) = app.get(&sampler, "/api/v1/tubes/YK2000001").await;
    assert_eq!(tube["pending_retests"], 10);

    // Single re-tests: the first member positive, the other nine negative.
    let people: Vec<i64> = sqlx::query("SELECT person_id FROM tube_members m JOIN tubes t ON t.id = m.tube_id WHERE t.barcode = 'YK2000001' ORDER BY person_id")
        .fetch_all(app.services.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64, _>(0))
        .collect();
    let mut lines = vec![];
    for (i, person) in people.iter().enumerate() {
        let barcode = format!("YKS{:06}", i);
        open(&app, &sampler, &barcode, 1).await;
        app.post(
            &sampler,
            &format!("/api/v1/tubes/{barcode}/members"),
            json!({"person_id": person}),
        )
        .await;
        app.post(
            &sampler,
            &format!("/api/v1/tubes/{barcode}/seal"),
            json!({}),
        )
        .await;
        let result = if i == 1 { "positive" } else { "negative" };
        lines.push(
            json!({"barcode": barcode, "result": result, "tested_at": "2022-01-28T11:00:00+08:00"}),
        );
    }
    app.advance_hours(1);
    let r = results(&app, &lab, Value::Array(lines)).await;
    assert_eq!(r["applied"], 10);
    let positive = people[1];
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{positive}"))
        .await;
    assert_eq!(p["control"]["status"], "positive");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM controls WHERE category = 'pool_positive' AND status = 'released'"
        )
        .await,
        8
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM controls WHERE status = 'positive'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM tasks WHERE kind = 'resample' AND state <> 'closed'"
        )
        .await,
        0
    );
    let (_, tube) = app.get(&sampler, "/api/v1/tubes/YK2000001").await;
    assert_eq!(tube["pending_retests"], 0, "the pool is closed out");
    // Nine released from the pool's temporary control (8 pool_positive, and
    // the member whose stricter plan was kept never had one).
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{strict}"))
        .await;
    assert_eq!(p["control"]["category"], "risk_street");
}

#[tokio::test]
async fn result_files_import_row_by_row_and_idempotently() {
    let app = spawn().await;
    let sampler = app.login_as("grid_worker", GRID).await;
    open(&app, &sampler, "YK3000001", 5).await;
    add_id(&app, &sampler, "YK3000001", 1).await;
    app.post(&sampler, "/api/v1/tubes/YK3000001/seal", json!({}))
        .await;
    let command = app.login_as("command", "330784").await;
    let csv = "试管条码,检测结果,CT值,检测时间\nYK3000001,阴性,,2022-01-28T09:00:00+08:00\nYK3000001,阳性,99,2022-01-28T09:00:00+08:00\n";
    let post = || {
        app.http
            .post(app.url("/api/v1/lab-results/import"))
            .bearer_auth(&command)
            .body(csv)
            .send()
    };
    let r: Value = post().await.unwrap().json().await.unwrap();
    assert_eq!(
        (r["applied"].as_i64(), r["refused"].as_i64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["rows"][1]["row"], 2);
    assert_eq!(r["rows"][1]["errors"][0]["field"], "ct");
    let r: Value = post().await.unwrap().json().await.unwrap();
    assert_eq!(
        (r["applied"].as_i64(), r["unchanged"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM test_results").await, 1);
}

#[tokio::test]
async fn sampling_sites_are_listed_by_town() {
    let app = spawn().await;
    let town = app.login_as("town", "330784001").await;
    let site = json!({"name": "园丁社区采样点", "region": "330784001001", "address": "园丁路1号",
                      "hours": "08:00-20:00", "kind": "fixed", "serves": ["mandatory", "voluntary"]});
    let (s, r) = app.post(&town, "/api/v1/sites", site.clone()).await;
    assert_eq!(s, 201, "{r}");
    let mut elsewhere = site.clone();
    elsewhere["region"] = json!("330784002001");
    let (s, e) = app.post(&town, "/api/v1/sites", elsewhere).await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("region")),
        "outside the town"
    );
    let mut bad = site.clone();
    bad["kind"] = json!("tent");
    bad["serves"] = json!(["everything"]);
    let (s, e) = app.post(&town, "/api/v1/sites", bad).await;
    assert_eq!(s, 422);
    assert_eq!(e["errors"].as_array().unwrap().len(), 2);
    let worker = app.login_as("grid_worker", GRID).await;
    assert_eq!(app.post(&worker, "/api/v1/sites", site).await.0, 403);
    let (s, list) = app.get("", "/api/v1/sites").await;
    assert_eq!(s, 200);
    assert_eq!(list[0]["town"], "330784001");
    assert_eq!(list[0]["sites"][0]["name"], "园丁社区采样点");
    assert_eq!(list[0]["sites"][0]["serves"], "mandatory,voluntary");
}

#[tokio::test]
async fn a_negative_retest_gives_back_the_landing_test() {
    let app = spawn().await;
    // No risk area: an arrival from another province owes a 落地检 on days 1 and 4.
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["control"]["category"], "out_of_province");
    let person = d["person_id"].as_i64().unwrap();
    let command = app.login_as("command", "330784").await;
    let sampler = app.login_as("grid_worker", GRID).await;
    let lab = app
        .services
        .add_api_token("field-lab", "lab_results")
        .await
        .unwrap();
    open(&app, &sampler, "YK3000001", 5).await;
    app.post(
        &sampler,
        "/api/v1/tubes/YK3000001/members",
        json!({"person_id": person}),
    )
    .await;
    add_id(&app, &sampler, "YK3000001", 1).await;
    app.post(&sampler, "/api/v1/tubes/YK3000001/seal", json!({}))
        .await;
    results(&app, &lab, json!([{"barcode": "YK3000001", "result": "positive", "tested_at": "2022-01-28T09:30:00+08:00"}])).await;
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{person}"))
        .await;
    assert_eq!(p["control"]["category"], "pool_positive");

    // The single re-test is negative: the temporary control ends, and the
    // person's own plan runs again.
    open(&app, &sampler, "YKS300001", 1).await;
    app.post(
        &sampler,
        "/api/v1/tubes/YKS300001/members",
        json!({"person_id": person}),
    )
    .await;
    app.post(&sampler, "/api/v1/tubes/YKS300001/seal", json!({}))
        .await;
    app.advance_hours(1);
    results(&app, &lab, json!([{"barcode": "YKS300001", "result": "negative", "tested_at": "2022-01-28T10:30:00+08:00"}])).await;
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{person}"))
        .await;
    assert_eq!(p["control"]["category"], "out_of_province", "{p}");
    assert_eq!(p["control"]["status"], "active");
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM events WHERE kind = 'control_restored' AND person_id = {person}")
        )
        .await,
        1
    );
    // Day 4 (01-31): the landing test is still owed.
    app.advance_hours(71);
    let sampler = app.login_as("grid_worker", GRID).await;
    let (s, due) = app.get(&sampler, "/api/v1/due-tests").await;
    assert_eq!(s, 200);
    let line = due
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["person_id"] == person)
        .unwrap_or_else(|| panic!("the 落地检 is still owed: {due}"));
    assert_eq!(
        (line["day"].as_i64(), &line["state"]),
        (Some(4), &json!("due"))
    );
}

#[tokio::test]
async fn a_lab_sheet_with_excel_date_times_imports() {
    let app = spawn().await;
    let sampler = app.login_as("grid_worker", GRID).await;
    open(&app, &sampler, "YK5000001", 5).await;
    add_id(&app, &sampler, "YK5000001", 1).await;
    app.post(&sampler, "/api/v1/tubes/YK5000001/seal", json!({}))
        .await;
    let command = app.login_as("command", "330784").await;
    // 检测时间 as a real Excel date-time cell, as a lab's sheet has it.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["试管条码", "检测结果", "CT值", "检测时间"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "YK5000001").unwrap();
    ws.write_string(1, 1, "阴性").unwrap();
    let when = rust_xlsxwriter::ExcelDateTime::from_ymd(2022, 1, 28)
        .unwrap()
        .and_hms(9, 30, 0)
        .unwrap();
    let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    ws.write_datetime_with_format(1, 3, &when, &format).unwrap();
    let r = app
        .http
        .post(app.url("/api/v1/lab-results/import"))
        .bearer_auth(&command)
        .body(wb.save_to_buffer().unwrap())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let r: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        (r["applied"].as_i64(), r["refused"].as_i64()),
        (Some(1), Some(0)),
        "{r}"
    );
    // 09:30 in Asia/Shanghai: 01:30 UTC.
    assert_eq!(
        count(&app, "SELECT tested_at FROM lab_results").await,
        1_643_333_400
    );
    // Typed the same way in a CSV, with or without seconds: the same time.
    let csv = "试管条码,检测结果,CT值,检测时间\nYK5000001,阴性,,2022-01-28 09:30\nYK5000001,阳性,,2022-01-28 25:00\n";
    let r: Value = app
        .http
        .post(app.url("/api/v1/lab-results/import"))
        .bearer_auth(&command)
        .body(csv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (r["unchanged"].as_i64(), r["refused"].as_i64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(r["rows"][1]["errors"][0]["field"], "tested_at", "{r}");
}
