//! 人、物、环境同防: a batch lacking a certificate goes through the
//! supervised warehouse step by step; a positive batch seals exactly its
//! downstream holders within 2 hours and lists the exposed workers for 协查;
//! markets are sampled weekly, other sites monthly; a holder's overdue
//! worker is 不宜上岗 and tasked by the rolling programme; and another
//! region, a bad trace code or garbage change nothing.

mod support;

use serde_json::{Value, json};
use support::{TestApp, count, resident_id, spawn};

const TOWN: &str = "330784001";
const G1: &str = "330784001001001";
const G2: &str = "330784001002001";
/// The test clock's start, 2022-01-28 10:00 in Shanghai.
const NOW: i64 = 1_643_335_200;

async fn holder(app: &TestApp, token: &str, name: &str, grid: &str, kind: &str) -> i64 {
    let (s, h) = app
        .post(
            token,
            "/api/v1/goods/holders",
            json!({"name": name, "grid": grid, "kind": kind}),
        )
        .await;
    assert_eq!(s, 201, "{h}");
    assert_eq!(h["region"], grid);
    h["id"].as_i64().unwrap()
}

async fn upload(app: &TestApp, token: &str, path: &str, body: String) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Rosters one cold-chain worker per (holder name, grid, resident number).
async fn roster(app: &TestApp, token: &str, rows: &[(&str, &str, u32, &str)]) {
    let mut csv = "单位名称,网格编码,行业,身份证号,姓名,手机号码\n".to_string();
    for (employer, grid, n, name) in rows {
        csv.push_str(&format!(
            "{employer},{grid},cold_chain,{},{name},\n",
            resident_id(*n)
        ));
    }
    let (s, r) = upload(app, token, "/api/v1/rosters/import", csv).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["loaded"], rows.len(), "{r}");
}

fn batch(code: &str, holder: i64, certs: Value) -> Value {
    json!({
        "trace_code": code, "product": "冷冻带鱼", "origin": "印度尼西亚",
        "holder": holder, "quantity": 200, "certificates": certs
    })
}

const ALL_CERTS: fn() -> Value =
    || json!({"inspection": true, "nucleic_acid": true, "disinfection": true});

#[tokio::test]
async fn a_batch_without_a_certificate_goes_through_the_warehouse_in_order() {
    let app = spawn().await;
    let town = app.login_as("town", TOWN).await;
    let store = holder(&app, &town, "永康冷库", G1, "cold_store").await;

    let (s, ok) = app
        .post(
            &town,
            "/api/v1/goods/batches",
            batch("CC2022-0001", store, ALL_CERTS()),
        )
        .await;
    assert_eq!(s, 201, "{ok}");
    assert_eq!(ok["warehouse_job"], Value::Null, "all three certificates");

    let (s, b) = app
        .post(
            &town,
            "/api/v1/goods/batches",
            batch(
                "CC2022-0002",
                store,
                json!({"inspection": true, "disinfection": true}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["missing"], json!(["nucleic_acid"]));
    let job = b["warehouse_job"]
        .as_i64()
        .expect("booked into the warehouse");

    let (_, jobs) = app.get(&town, "/api/v1/goods/warehouse-jobs").await;
    assert_eq!(jobs.as_array().unwrap().len(), 1, "{jobs}");
    assert_eq!(jobs[0]["state"], "booked");
    assert!(jobs[0]["reason"].as_str().unwrap().contains("核酸"));

    let path = format!("/api/v1/goods/warehouse-jobs/{job}/state");
    let (s, _) = app.post(&town, &path, json!({"to": "disinfected"})).await;
    assert_eq!(s, 409, "采样 cannot be skipped");
    for to in ["sampled", "disinfected", "coded", "released"] {
        let (s, j) = app.post(&town, &path, json!({"to": to})).await;
        assert_eq!(s, 200, "{to}: {j}");
        assert_eq!(j["state"], to);
    }
    let (s, _) = app.post(&town, &path, json!({"to": "sampled"})).await;
    assert_eq!(s, 409, "no going back after 放行");
    let (s, _) = app.post(&town, &path, json!({"to": "sealed"})).await;
    assert_eq!(s, 422);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'warehouse_job_moved'"
        )
        .await,
        4
    );
}

#[tokio::test]
async fn a_positive_batch_seals_its_downstream_holders_within_two_hours() {
    let app = spawn().await;
    let town = app.login_as("town", TOWN).await;
    let a = holder(&app, &town, "永康冷库", G1, "cold_store").await;
    let b = holder(&app, &town, "城西农贸市场", G1, "market").await;
    let c = holder(&app, &town, "老街饭店", G2, "restaurant").await;
    let d = holder(&app, &town, "无关超市", G2, "supermarket").await;
    roster(
        &app,
        &town,
        &[
            ("城西农贸市场", G1, 31, "摊主甲"),
            ("老街饭店", G2, 32, "厨师乙"),
            ("无关超市", G2, 33, "收银丙"),
        ],
    )
    .await;

    let (s, r) = app
        .post(
            &town,
            "/api/v1/goods/batches",
            batch("CC2022-0100", a, ALL_CERTS()),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    // Another batch went to the unrelated supermarket.
    let (_, other) = app
        .post(
            &town,
            "/api/v1/goods/batches",
            batch("CC2022-0101", a, ALL_CERTS()),
        )
        .await;
    for (batch_id, from, to) in [
        (id, a, b),
        (id, b, c),
        (other["id"].as_i64().unwrap(), a, d),
    ] {
        let (s, m) = app
            .post(
                &town,
                &format!("/api/v1/goods/batches/{batch_id}/movements"),
                json!({"from": from, "to": to, "quantity": 50, "at": "2022-01-27T09:00:00+08:00"}),
            )
            .await;
        assert_eq!(s, 201, "{m}");
    }

    let (s, r) = app
        .post(
            &town,
            &format!("/api/v1/goods/batches/{id}/result"),
            json!({"result": "positive"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let t = r["trace_back"].as_i64().expect("a trace-back");

    let (s, view) = app
        .get(&town, &format!("/api/v1/goods/trace-backs/{t}"))
        .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["due_at"], NOW + 2 * 3600);
    let sealed: Vec<i64> = view["seals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["holder_id"].as_i64().unwrap())
        .collect();
    assert_eq!(sealed, [b, c], "the two downstream holders, not {a} or {d}");
    for seal in view["seals"].as_array().unwrap() {
        assert_eq!(seal["due_at"], NOW + 2 * 3600);
        assert_eq!(seal["state"], "dispatched");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM tasks WHERE kind = 'seal'").await,
        2
    );
    // The seal task reaches the restaurant's own grid.
    let worker = app.login_as("grid_worker", G2).await;
    let (_, tasks) = app.get(&worker, "/api/v1/tasks").await;
    let seals: Vec<&Value> = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "seal")
        .collect();
    assert_eq!(seals.len(), 1, "{tasks}");
    assert!(seals[0]["reason"].as_str().unwrap().contains("老街饭店"));

    // 协查: the workers of the market and the restaurant, not the supermarket's.
    let list = view["assist_list_id"].as_i64().expect("a 协查 list");
    let (s, detail) = app
        .get(&town, &format!("/api/v1/assist-lists/{list}"))
        .await;
    assert_eq!(s, 200, "{detail}");
    let mut names: Vec<&str> = detail["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["厨师乙", "摊主甲"]);
    assert!(
        detail["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "tasked")
    );

    // The chain as a workbook.
    let r = app
        .http
        .get(app.url(&format!("/api/v1/goods/trace-backs/{t}/export")))
        .bearer_auth(&town)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));

    // A repeated positive starts nothing new.
    let (s, again) = app
        .post(
            &town,
            &format!("/api/v1/goods/batches/{id}/result"),
            json!({"result": "positive"}),
        )
        .await;
    assert_eq!((s, again["trace_back"].as_i64()), (200, Some(t)));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM tasks WHERE kind = 'seal'").await,
        2
    );
    // Two labs report the other batch positive at the same moment: one
    // trace-back, named by both answers.
    let path = format!("/api/v1/goods/batches/{}/result", other["id"]);
    let (x, y) = tokio::join!(
        app.post(&town, &path, json!({"result": "positive"})),
        app.post(&town, &path, json!({"result": "positive"})),
    );
    assert_eq!((x.0, y.0), (200, 200), "{} {}", x.1, y.1);
    assert_eq!(x.1["trace_back"], y.1["trace_back"]);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM trace_backs").await, 2);
}

#[tokio::test]
async fn markets_are_sampled_weekly_and_other_sites_monthly() {
    let app = spawn().await;
    let town = app.login_as("town", TOWN).await;
    let market = holder(&app, &town, "城西农贸市场", G1, "market").await;
    let (s, m) = app
        .post(&town, "/api/v1/goods/env-sites", json!({"holder": market}))
        .await;
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["kind"], "market");
    let (s, p) = app
        .post(
            &town,
            "/api/v1/goods/env-sites",
            json!({"name": "汽车站候车厅", "grid": G2, "kind": "place"}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let due = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["site"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, d) = app.get(&town, "/api/v1/goods/env-sites/due").await;
    assert_eq!(due(&d).len(), 2, "never sampled: both due");
    for site in [&m, &p] {
        let (s, r) = app
            .post(
                &town,
                &format!("/api/v1/goods/env-sites/{}/samples", site["id"]),
                json!({"sampled_on": "2022-01-28", "result": "negative"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        assert_eq!(r["trace_back"], Value::Null);
    }
    for (on, want) in [
        ("2022-01-28", vec![]),
        ("2022-02-03", vec![]),
        ("2022-02-04", vec!["城西农贸市场"]),
        ("2022-02-26", vec!["城西农贸市场"]),
        ("2022-02-27", vec!["城西农贸市场", "汽车站候车厅"]),
    ] {
        let (s, d) = app
            .get(&town, &format!("/api/v1/goods/env-sites/due?on={on}"))
            .await;
        assert_eq!(s, 200, "{d}");
        assert_eq!(due(&d), want, "on {on}");
    }
    // A sample from the future, or a result that is neither, is refused.
    let (s, r) = app
        .post(
            &town,
            &format!("/api/v1/goods/env-sites/{}/samples", m["id"]),
            json!({"sampled_on": "2022-02-01", "result": "maybe"}),
        )
        .await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM env_samples").await, 2);
}

#[tokio::test]
async fn an_overdue_cold_chain_worker_is_not_fit_for_work_and_tasked() {
    let app = spawn().await;
    let town = app.login_as("town", TOWN).await;
    let store = holder(&app, &town, "永康冷库", G1, "cold_store").await;
    roster(
        &app,
        &town,
        &[
            ("永康冷库", G1, 41, "搬运甲"),
            ("永康冷库", G1, 42, "搬运乙"),
        ],
    )
    .await;
    let path = format!("/api/v1/goods/holders/{store}/workers");
    let (s, w) = app.get(&town, &path).await;
    assert_eq!(s, 200, "{w}");
    let first = w.as_array().unwrap();
    assert_eq!(first.len(), 2);
    assert!(
        first.iter().all(|x| x["status_zh"] == "不宜上岗"),
        "never tested: {w}"
    );
    let a = first.iter().find(|x| x["name"] == "搬运甲").unwrap()["person_id"]
        .as_i64()
        .unwrap();
    let worker = app.login_as("grid_worker", G1).await;
    let (s, _) = app
        .post(
            &worker,
            "/api/v1/tests",
            json!({"person_id": a, "sampled_at": "2022-01-28T08:00:00+08:00", "result": "negative"}),
        )
        .await;
    assert_eq!(s, 201);
    let (_, w) = app.get(&town, &path).await;
    let status = |name: &str| {
        w.as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap()["fit_for_work"]
            .as_bool()
            .unwrap()
    };
    assert!(status("搬运甲"), "tested today");
    assert!(!status("搬运乙"), "不宜上岗");

    let jobs = app.services.run_jobs().await.unwrap();
    assert_eq!(jobs.rolling_overdue, Some(1));
    let (_, tasks) = app.get(&worker, "/api/v1/tasks").await;
    let rolling: Vec<&Value> = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "rolling_overdue")
        .collect();
    assert_eq!(rolling.len(), 1, "{tasks}");
    assert!(rolling[0]["reason"].as_str().unwrap().contains("永康冷库"));
    assert!(rolling[0]["reason"].as_str().unwrap().contains("进口冷链"));
}

#[tokio::test]
async fn another_region_a_bad_trace_code_or_garbage_change_nothing() {
    let app = spawn().await;
    let town = app.login_as("town", TOWN).await;
    let store = holder(&app, &town, "永康冷库", G1, "cold_store").await;
    let (_, b) = app
        .post(
            &town,
            "/api/v1/goods/batches",
            batch("CC2022-0200", store, json!({})),
        )
        .await;
    let (batch_id, job) = (
        b["id"].as_i64().unwrap(),
        b["warehouse_job"].as_i64().unwrap(),
    );
    let before = count(&app, "SELECT COUNT(*) FROM goods_batches").await;

    // Another town sees none of it.
    let other = app.login_as("town", "330784002").await;
    for path in [
        format!("/api/v1/goods/holders/{store}/workers"),
        "/api/v1/goods/trace-backs/1".to_string(),
    ] {
        let (s, _) = app.get(&other, &path).await;
        assert_eq!(s, 404, "{path}");
    }
    let (_, list) = app.get(&other, "/api/v1/goods/holders").await;
    assert_eq!(list, json!([]));
    let (s, _) = app
        .post(
            &other,
            "/api/v1/goods/batches",
            batch("CC2022-0201", store, ALL_CERTS()),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            &other,
            &format!("/api/v1/goods/warehouse-jobs/{job}/state"),
            json!({"to": "sampled"}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            &other,
            &format!("/api/v1/goods/batches/{batch_id}/result"),
            json!({"result": "positive"}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .post(
            &other,
            "/api/v1/goods/holders",
            json!({"name": "越界冷库", "grid": G1, "kind": "cold_store"}),
        )
        .await;
    assert_eq!(s, 422, "a grid outside the user's town");

    // Bad trace codes, a repeated one, and garbage.
    for code in ["cc2022-0001", "SHORT", "冷链批次00000001", "CC2022-0200"] {
        let (s, r) = app
            .post(
                &town,
                "/api/v1/goods/batches",
                batch(code, store, ALL_CERTS()),
            )
            .await;
        assert_eq!(s, 422, "{code}: {r}");
        assert_eq!(r["errors"][0]["field"], "trace_code", "{r}");
    }
    let (s, r) = app
        .post(
            &town,
            "/api/v1/goods/batches",
            json!({"trace_code": "CC2022-0300", "product": "", "origin": "巴西", "holder": store, "quantity": 0}),
        )
        .await;
    assert_eq!(s, 422, "{r}");
    let fields: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["product", "quantity"]);
    let r = app
        .http
        .post(app.url("/api/v1/goods/batches"))
        .bearer_auth(&town)
        .header("content-type", "application/json")
        .body("{\"trace_code\": [")
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 400 | 422));
    let (s, _) = app
        .post(
            &town,
            &format!("/api/v1/goods/batches/{batch_id}/movements"),
            json!({"from": store, "to": store, "quantity": 1}),
        )
        .await;
    assert_eq!(s, 422, "a batch moves between two holders");
    // A grid worker may look but not register.
    let worker = app.login_as("grid_worker", G1).await;
    let (s, _) = app
        .post(
            &worker,
            "/api/v1/goods/batches",
            batch("CC2022-0400", store, ALL_CERTS()),
        )
        .await;
    assert_eq!(s, 403);

    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM goods_batches").await,
        before
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM goods_movements").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM trace_backs").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM goods_holders").await, 1);
}

#[tokio::test]
async fn an_office_file_of_batches_loads_row_by_row() {
    let app = spawn().await;
    let town = app.login_as("town", TOWN).await;
    holder(&app, &town, "永康冷库", G1, "cold_store").await;
    let csv = format!(
        "追溯码,品名,来源地,持有单位,网格编码,数量,检疫证明,核酸证明,消杀证明\n\
         CC2022-0500,冷冻虾仁,厄瓜多尔,永康冷库,{G1},100,是,是,是\n\
         CC2022-0501,冷冻牛肉,巴西,永康冷库,{G1},80,是,否,是\n\
         bad,冷冻鸡爪,美国,永康冷库,{G1},10,是,是,是\n\
         CC2022-0503,冷冻鱼,挪威,无此冷库,{G1},10,是,是,是\n"
    );
    let (s, r) = upload(&app, &town, "/api/v1/goods/batches/import", csv).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["loaded"].as_i64(), r["warehouse_jobs"].as_i64()),
        (Some(2), Some(1)),
        "{r}"
    );
    let refused: Vec<(i64, &str)> = r["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x[0].as_i64().unwrap(), x[1][0]["field"].as_str().unwrap()))
        .collect();
    assert_eq!(refused, [(3, "trace_code"), (4, "holder")]);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM goods_batches").await, 2);
    let worker = app.login_as("grid_worker", G1).await;
    let (s, _) = upload(&app, &worker, "/api/v1/goods/batches/import", "x".into()).await;
    assert_eq!(s, 403);
}
