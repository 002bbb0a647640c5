//! 常住人口 and 全员核酸: the roll, a round's live coverage kept by counters,
//! and the 未检 list of each grid.

mod support;

use serde_json::{Value, json};
use support::{TestApp, resident_id, spawn};

const G1: &str = "330784001001001";
const G2: &str = "330784001002001";

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

fn roll() -> String {
    let mut csv = String::from("网格编码,身份证号,姓名,手机号码\n");
    for (n, grid) in [(1, G1), (2, G1), (3, G1), (4, G2), (5, G2)] {
        csv.push_str(&format!(
            "{grid},{},居民{n},1390000000{n}\n",
            resident_id(n)
        ));
    }
    csv.push_str(&format!("{G2},110105194912310021,坏号,\n"));
    csv.push_str(&format!("330784002001001,{},外镇,\n", resident_id(9)));
    csv
}

#[tokio::test]
async fn a_round_counts_coverage_as_people_are_sampled() {
    let app = spawn().await;
    let town = app.login_as("town", "330784001").await;
    let (s, r) = upload(&app, &town, "/api/v1/residents/import", roll()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["loaded"], 5);
    assert_eq!(r["refused"][0][0], 6, "row numbers");
    assert_eq!(r["refused"][0][1][0]["field"], "id_number");
    assert_eq!(
        r["refused"][1][1][0]["code"], "scope",
        "another town's grid"
    );
    let (_, r) = upload(&app, &town, "/api/v1/residents/import", roll()).await;
    assert_eq!(r["loaded"], 5, "the same roll again");

    let command = app.login_as("command", "330784").await;
    let round = json!({"name": "第一轮全员核酸", "regions": ["330784001"],
                       "starts_at": "2022-01-28T08:00:00+08:00", "ends_at": "2022-01-29T04:00:00+08:00"});
    assert_eq!(
        app.post(&town, "/api/v1/rounds", round.clone()).await.0,
        403
    );
    // Regions outside the city, or unknown in it, are refused field by field.
    let (s, e) = app
        .post(
            &command,
            "/api/v1/rounds",
            json!({"name": "越界", "regions": ["330784001", "110106", "330784999"],
                   "starts_at": "2022-01-28T08:00:00+08:00", "ends_at": "2022-01-29T04:00:00+08:00"}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let fields: Vec<(&str, &str)> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["field"].as_str().unwrap(), x["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [("regions.1", "scope"), ("regions.2", "unknown")],
        "{e}"
    );
    let (s, r) = app.post(&command, "/api/v1/rounds", round).await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    assert_eq!(
        sqlx::query("SELECT COUNT(*) FROM rounds")
            .fetch_one(app.services.db.pool())
            .await
            .map(|r| sqlx::Row::get::<i64, _>(&r, 0))
            .unwrap(),
        1,
        "the refused round stored nothing"
    );
    let (_, c) = app
        .get(&command, &format!("/api/v1/rounds/{id}/coverage"))
        .await;
    assert_eq!(c["total"]["residents"], 5, "the roll was counted once");
    assert_eq!(c["rows"][0]["code"], "330784001");
    assert_eq!(c["rows"][0]["name"], "东城街道");

    // Two residents of G1 and one visitor in a 5-in-1 tube; one of them again elsewhere.
    let sampler = app.login_as("grid_worker", G1).await;
    app.post(
        &sampler,
        "/api/v1/tubes",
        json!({"barcode": "RD0000001", "pool_size": 5, "category": "mandatory"}),
    )
    .await;
    for n in [1, 2, 50] {
        let (s, _) = app
            .post(
                &sampler,
                "/api/v1/tubes/RD0000001/members",
                json!({"id_number": resident_id(n)}),
            )
            .await;
        assert_eq!(s, 201);
    }
    app.post(
        &sampler,
        "/api/v1/tubes",
        json!({"barcode": "RD0000002", "pool_size": 1, "category": "mandatory"}),
    )
    .await;
    app.post(
        &sampler,
        "/api/v1/tubes/RD0000002/members",
        json!({"id_number": resident_id(1)}),
    )
    .await;
    let (_, c) = app
        .get(&town, &format!("/api/v1/rounds/{id}/coverage"))
        .await;
    let v1 = &c["rows"][0];
    assert_eq!(
        (
            v1["code"].as_str(),
            v1["sampled"].as_i64(),
            v1["untested"].as_i64()
        ),
        (Some("330784001001"), Some(2), Some(1))
    );
    assert_eq!(c["rows"][1]["sampled"], 0);

    let (s, list) = app
        .get(&sampler, &format!("/api/v1/rounds/{id}/untested/{G1}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "居民3");
    assert!(
        list[0]["id_number"].as_str().unwrap().contains("********"),
        "masked"
    );
    let csv = app
        .http
        .get(app.url(&format!("/api/v1/rounds/{id}/untested/{G1}?format=csv")))
        .bearer_auth(&sampler)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.starts_with("编号,姓名,证件号码,手机号码\n") && csv.contains("居民3"),
        "{csv}"
    );
    let exported: Vec<(String, Option<String>)> =
        sqlx::query("SELECT kind, region FROM events WHERE kind LIKE 'untested%' ORDER BY id")
            .fetch_all(app.services.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (sqlx::Row::get(r, 0), sqlx::Row::get(r, 1)))
            .collect();
    assert_eq!(
        exported,
        [("untested_exported".to_string(), Some(G1.to_string()))],
        "the file is audited, the JSON view is not an export"
    );
    assert_eq!(
        app.get(&sampler, &format!("/api/v1/rounds/{id}/untested/{G2}"))
            .await
            .0,
        404,
        "another grid"
    );
    assert_eq!(
        app.get(
            &sampler,
            &format!("/api/v1/rounds/{id}/coverage?region=330784002")
        )
        .await
        .0,
        404
    );

    // Results come in: the pool negative, the single tube positive.
    app.post(&sampler, "/api/v1/tubes/RD0000001/seal", json!({}))
        .await;
    app.post(&sampler, "/api/v1/tubes/RD0000002/seal", json!({}))
        .await;
    let (s, r) = app
        .post(&command, "/api/v1/lab-results", json!([
            {"barcode": "RD0000001", "result": "negative", "tested_at": "2022-01-28T09:50:00+08:00"},
            {"barcode": "RD0000002", "result": "positive", "tested_at": "2022-01-28T09:55:00+08:00"}
        ]))
        .await;
    assert_eq!((s, r["applied"].as_i64()), (200, Some(2)), "{r}");
    let (_, c) = app
        .get(
            &command,
            &format!("/api/v1/rounds/{id}/coverage?region=330784001001"),
        )
        .await;
    assert_eq!(c["rows"][0]["code"], G1);
    assert_eq!(
        c["rows"][0]["results_in"], 2,
        "each person's first result counts once"
    );
    assert_eq!(c["total"]["sampled"], 2);
}

#[tokio::test]
async fn a_zone_puts_its_residents_under_measure_until_lifted() {
    let app = spawn().await;
    let town = app.login_as("town", "330784001").await;
    upload(&app, &town, "/api/v1/residents/import", roll()).await;
    let command = app.login_as("command", "330784").await;
    // One resident of G1 already runs a stricter plan (risk_street).
    app.post(&command, "/api/v1/risk-areas", json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"})).await;
    let mut d = support::declaration();
    d["id_number"] = json!(resident_id(3));
    // As on the roll: a declaration that does not match acts only once the
    // grid confirms it.
    d["name"] = json!("居民3");
    d["phone"] = json!("13900000003");
    let (_, d) = app.declare(d).await;
    assert_eq!(d["identity_pending"], false, "{d}");
    assert_eq!(d["control"]["category"], "risk_street");

    let zone = json!({"kind": "sealed", "region": "330784001001", "starts_on": "2022-01-28"});
    assert_eq!(app.post(&town, "/api/v1/zones", zone.clone()).await.0, 403);
    let (s, e) = app
        .post(
            &command,
            "/api/v1/zones",
            json!({"kind": "sealed", "region": "330784001", "starts_on": "2022-01-28"}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("region")),
        "villages or grids only"
    );
    let (s, z) = app.post(&command, "/api/v1/zones", zone).await;
    assert_eq!(s, 201, "{z}");
    assert_eq!(
        (z["placed"].as_i64(), z["kept"].as_i64()),
        (Some(2), Some(1))
    );
    let people: Vec<i64> = sqlx::query(
        "SELECT person_id FROM residents WHERE grid = '330784001001001' ORDER BY person_id",
    )
    .fetch_all(app.services.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| sqlx::Row::get::<i64, _>(r, 0))
    .collect();
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{}", people[0]))
        .await;
    assert_eq!(p["control"]["category"], "zone_sealed");
    assert_eq!(
        p["control"]["plan"]["test_days"].as_array().unwrap().len(),
        7,
        "daily tests"
    );
    assert!(
        p["control"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("封控区")
    );
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    assert_eq!(
        p["control"]["category"], "risk_street",
        "the stricter plan is kept"
    );

    // Three days of tests for the first resident only, then the zone is lifted.
    app.advance_hours(48);
    let command = app.login_as("command", "330784").await;
    let worker = app.login_as("grid_worker", G1).await;
    for day in ["2022-01-28", "2022-01-29", "2022-01-30"] {
        let (s, r) = app
            .post(&worker, "/api/v1/tests", json!({"person_id": people[0], "sampled_at": format!("{day}T08:00:00+08:00"), "result": "negative"}))
            .await;
        assert_eq!(s, 201, "{r}");
    }
    let (s, l) = app
        .post(
            &command,
            &format!("/api/v1/zones/{}/lift", z["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(
        (l["released"].as_i64(), l["remaining"].as_i64()),
        (Some(1), Some(1))
    );
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{}", people[0]))
        .await;
    assert_eq!(p["control"]["status"], "released");
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{}", people[1]))
        .await;
    assert_eq!(
        p["control"]["status"], "active",
        "owes tests: stays until done"
    );
    let (s, _) = app
        .post(
            &command,
            &format!("/api/v1/zones/{}/lift", z["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn a_rolling_programme_finds_the_overdue_worker() {
    let app = spawn().await;
    let town = app.login_as("town", "330784001").await;
    let csv = format!(
        "单位名称,网格编码,行业,身份证号,姓名,手机号码\n顺丰永康营业部,{G1},courier,{},快递甲,13900000011\n顺丰永康营业部,{G1},courier,{},快递乙,\n某单位,{G1},astronaut,{},太空人,\n",
        resident_id(11),
        resident_id(12),
        resident_id(13)
    );
    let (s, r) = upload(&app, &town, "/api/v1/rosters/import", csv.clone()).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["loaded"], 2);
    assert_eq!(
        (
            r["refused"][0][0].as_i64(),
            r["refused"][0][1][0]["field"].as_str()
        ),
        (Some(3), Some("industry"))
    );
    upload(&app, &town, "/api/v1/rosters/import", csv).await;

    // 快递甲 was tested yesterday; 快递乙 never.
    let worker = app.login_as("grid_worker", G1).await;
    let (_, overdue) = app.get(&worker, "/api/v1/rolling/overdue").await;
    let first = overdue.as_array().unwrap();
    assert_eq!(first.len(), 2, "nobody tested yet");
    let a = first.iter().find(|o| o["name"] == "快递甲").unwrap()["person_id"]
        .as_i64()
        .unwrap();
    let (s, _) = app
        .post(&worker, "/api/v1/tests", json!({"person_id": a, "sampled_at": "2022-01-27T10:00:00+08:00", "result": "negative"}))
        .await;
    assert_eq!(s, 201);
    let (_, overdue) = app.get(&worker, "/api/v1/rolling/overdue").await;
    let names: Vec<&str> = overdue
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["快递乙"]);
    assert_eq!(overdue[0]["employer"], "顺丰永康营业部");

    let jobs = app.services.run_jobs().await.unwrap();
    assert_eq!(jobs.rolling_overdue, Some(1));
    let (_, tasks) = app.get(&worker, "/api/v1/tasks").await;
    let rolling: Vec<&Value> = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "rolling_overdue")
        .collect();
    assert_eq!(rolling.len(), 1);
    assert!(
        rolling[0]["reason"]
            .as_str()
            .unwrap()
            .contains("顺丰永康营业部")
    );
    assert_eq!(
        app.services.run_jobs().await.unwrap().rolling_overdue,
        None,
        "once a day"
    );

    // Every 3 days: on 01-30 the one tested on 01-27 is due again.
    app.advance_hours(48);
    let worker = app.login_as("grid_worker", G1).await;
    let (_, overdue) = app.get(&worker, "/api/v1/rolling/overdue").await;
    assert_eq!(overdue.as_array().unwrap().len(), 2);
    let other = app.login_as("grid_worker", "330784002001001").await;
    let (_, none) = app.get(&other, "/api/v1/rolling/overdue").await;
    assert_eq!(none, json!([]), "another grid's employers are not listed");
}

#[tokio::test]
async fn at_the_deadline_each_grid_gets_one_task_with_its_untested() {
    let app = spawn().await;
    let town = app.login_as("town", "330784001").await;
    upload(&app, &town, "/api/v1/residents/import", roll()).await;
    let command = app.login_as("command", "330784").await;
    let (_, r) = app
        .post(
            &command,
            "/api/v1/rounds",
            json!({"name": "第二轮", "regions": ["330784001"],
               "starts_at": "2022-01-28T08:00:00+08:00", "ends_at": "2022-01-28T20:00:00+08:00"}),
        )
        .await;
    let id = r["id"].as_i64().unwrap();
    let sampler = app.login_as("grid_worker", G1).await;
    app.post(
        &sampler,
        "/api/v1/tubes",
        json!({"barcode": "DL0000001", "pool_size": 10, "category": "mandatory"}),
    )
    .await;
    for n in [1, 2, 3] {
        app.post(
            &sampler,
            "/api/v1/tubes/DL0000001/members",
            json!({"id_number": resident_id(n)}),
        )
        .await;
    }
    assert_eq!(
        app.services.run_jobs().await.unwrap().round_deadlines,
        0,
        "still open"
    );
    app.advance_hours(11);
    let jobs = app.services.run_jobs().await.unwrap();
    assert_eq!(
        jobs.round_deadlines, 1,
        "G1 is complete; only G2 has untested residents"
    );
    assert_eq!(
        app.services.run_jobs().await.unwrap().round_deadlines,
        0,
        "once per round"
    );
    let g2 = app.login_as("grid_worker", G2).await;
    let (_, tasks) = app.get(&g2, "/api/v1/tasks").await;
    assert_eq!(tasks.as_array().unwrap().len(), 1);
    assert_eq!(tasks[0]["kind"], "untested");
    assert_eq!(tasks[0]["person_id"], Value::Null);
    let reason = tasks[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("未检2人") && reason.contains(&format!("/rounds/{id}/untested/{G2}")),
        "{reason}"
    );
    // The grid works it like any task.
    let t = tasks[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.post(&g2, &format!("/api/v1/tasks/{t}/ack"), json!({}))
            .await
            .0,
        200
    );
    let (s, _) = app
        .post(
            &g2,
            &format!("/api/v1/tasks/{t}/report"),
            json!({"outcome": "done", "note": "已通知补检"}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, sampled) = app.get(&g2, "/api/v1/tasks").await;
    assert_eq!(sampled[0]["state"], "reported");
    assert!(
        app.get(&sampler, "/api/v1/tasks")
            .await
            .1
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["kind"] != "untested")
    );
}

#[tokio::test]
async fn a_sealed_zone_is_red_at_once_and_lifting_it_gives_back_the_landing_test() {
    let app = spawn().await;
    let town = app.login_as("town", "330784001").await;
    upload(&app, &town, "/api/v1/residents/import", roll()).await;
    let command = app.login_as("command", "330784").await;
    // Resident 1 arrived from another province today: a 落地检 (days 1 and 4).
    let mut d = support::declaration();
    d["id_number"] = json!(resident_id(1));
    // As on the roll: a declaration that does not match acts only once the
    // grid confirms it.
    d["name"] = json!("居民1");
    d["phone"] = json!("13900000001");
    let (_, d) = app.declare(d).await;
    assert_eq!(d["identity_pending"], false, "{d}");
    assert_eq!(d["control"]["category"], "out_of_province");
    let person = d["person_id"].as_i64().unwrap();
    let (_, feed) = app.get(&command, "/api/v1/health-codes?cursor=0").await;
    let cursor = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_i64().unwrap())
        .max()
        .unwrap_or(0);

    let zone = json!({"kind": "sealed", "region": "330784001001", "starts_on": "2022-01-28"});
    let (s, z) = app.post(&command, "/api/v1/zones", zone).await;
    assert_eq!(s, 201, "{z}");
    // Red in the feed at once, without waiting for the daily sweep.
    let (_, feed) = app
        .get(&command, &format!("/api/v1/health-codes?cursor={cursor}"))
        .await;
    let red: Vec<i64> = feed
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["colour"] == "red")
        .map(|r| r["person_id"].as_i64().unwrap())
        .collect();
    assert_eq!(red.len(), 3, "the village's three residents: {feed}");
    assert!(red.contains(&person));

    // Day 1 tested negative; the zone is lifted the same day.
    let worker = app.login_as("grid_worker", G1).await;
    let (s, r) = app
        .post(&worker, "/api/v1/tests", json!({"person_id": person, "sampled_at": "2022-01-28T08:00:00+08:00", "result": "negative"}))
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, l) = app
        .post(
            &command,
            &format!("/api/v1/zones/{}/lift", z["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["released"], 1);
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{person}"))
        .await;
    assert_eq!(
        (&p["control"]["category"], &p["control"]["status"]),
        (&json!("out_of_province"), &json!("active")),
        "the person's own plan runs again: {p}"
    );
    // Day 4 (01-31): the landing test is still owed.
    app.advance_hours(72);
    let worker = app.login_as("grid_worker", G1).await;
    let (_, due) = app.get(&worker, "/api/v1/due-tests").await;
    assert!(
        due.as_array()
            .unwrap()
            .iter()
            .any(|t| t["person_id"] == person && t["day"] == 4),
        "{due}"
    );
}

#[tokio::test]
async fn a_resident_added_mid_round_is_counted_listed_and_tasked() {
    let app = spawn().await;
    let town = app.login_as("town", "330784001").await;
    upload(&app, &town, "/api/v1/residents/import", roll()).await;
    let command = app.login_as("command", "330784").await;
    let (_, r) = app
        .post(
            &command,
            "/api/v1/rounds",
            json!({"name": "第三轮", "regions": ["330784001001"],
               "starts_at": "2022-01-28T08:00:00+08:00", "ends_at": "2022-01-28T20:00:00+08:00"}),
        )
        .await;
    let id = r["id"].as_i64().unwrap();
    // G1's three residents are all sampled.
    let sampler = app.login_as("grid_worker", G1).await;
    app.post(
        &sampler,
        "/api/v1/tubes",
        json!({"barcode": "MR0000001", "pool_size": 10, "category": "mandatory"}),
    )
    .await;
    for n in [1, 2, 3] {
        app.post(
            &sampler,
            "/api/v1/tubes/MR0000001/members",
            json!({"id_number": resident_id(n)}),
        )
        .await;
    }
    // Mid-round, one more resident of G1 is put on the roll (and one of G2,
    // another village's grid, outside this round).
    let more = format!(
        "网格编码,身份证号,姓名\n{G1},{},新居民\n{G2},{},新居民二\n",
        resident_id(60),
        resident_id(61)
    );
    let (s, r) = upload(&app, &town, "/api/v1/residents/import", more).await;
    assert_eq!((s, r["loaded"].as_i64()), (200, Some(2)), "{r}");
    let (_, c) = app
        .get(
            &command,
            &format!("/api/v1/rounds/{id}/coverage?region=330784001001"),
        )
        .await;
    let g1 = c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == G1)
        .unwrap_or_else(|| panic!("{c}"));
    assert_eq!(
        (g1["residents"].as_i64(), g1["untested"].as_i64()),
        (Some(4), Some(1)),
        "{c}"
    );
    let (_, list) = app
        .get(&sampler, &format!("/api/v1/rounds/{id}/untested/{G1}"))
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "count and list agree");
    assert_eq!(list[0]["name"], "新居民");

    // At the deadline G1 gets its task too.
    app.advance_hours(11);
    assert_eq!(app.services.run_jobs().await.unwrap().round_deadlines, 1);
    let sampler = app.login_as("grid_worker", G1).await;
    let (_, tasks) = app.get(&sampler, "/api/v1/tasks").await;
    let untested: Vec<&Value> = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "untested")
        .collect();
    assert_eq!(untested.len(), 1, "{tasks}");
    assert!(untested[0]["reason"].as_str().unwrap().contains("未检1人"));
}

/// A person's own plan and a zone, in either order and ended in either
/// order: the zone is never lost beneath the stricter plan. When the plan is
/// released first the person falls back to the still sealed zone; lifting
/// the zone then releases them. Lifted first, the zone leaves the plan alone.
#[tokio::test]
async fn a_zone_beneath_a_stricter_plan_outlives_the_plan() {
    let app = spawn().await;
    let town = app.login_as("town", "330784001").await;
    upload(&app, &town, "/api/v1/residents/import", roll()).await;
    let command = app.login_as("command", "330784").await;
    app.post(&command, "/api/v1/risk-areas", json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"})).await;
    let declare = |n: u32| {
        let mut d = support::declaration();
        d["id_number"] = json!(resident_id(n));
        d["name"] = json!(format!("居民{n}"));
        d["phone"] = json!(format!("1390000000{n}"));
        d
    };
    // Residents 2 and 3 run their own stricter plan when the zone comes.
    let mut people = Vec::new();
    for n in [2, 3] {
        let (s, d) = app.declare(declare(n)).await;
        assert_eq!(s, 201, "{d}");
        assert_eq!(d["control"]["category"], "risk_street");
        people.push(d["person_id"].as_i64().unwrap());
    }
    let (r2, r3) = (people[0], people[1]);
    let (_, feed) = app.get(&command, "/api/v1/health-codes?cursor=0").await;
    let cursor = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_i64().unwrap())
        .max()
        .unwrap_or(0);
    let zone = json!({"kind": "sealed", "region": "330784001001", "starts_on": "2022-01-28"});
    let (s, z) = app.post(&command, "/api/v1/zones", zone).await;
    assert_eq!(s, 201, "{z}");
    assert_eq!(
        (z["placed"].as_i64(), z["kept"].as_i64()),
        (Some(1), Some(2))
    );
    // Resident 1 was placed under the zone; then declares the stricter plan.
    let (s, d) = app.declare(declare(1)).await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["control"]["category"], "risk_street");
    let r1 = d["person_id"].as_i64().unwrap();
    // The zone marking's one colour change took the next number in the feed.
    let (_, feed) = app
        .get(&command, &format!("/api/v1/health-codes?cursor={cursor}"))
        .await;
    assert_eq!(feed[0]["seq"].as_i64(), Some(cursor + 1), "{feed}");

    // Every one of the three keeps the zone beneath their own plan.
    for p in [r1, r2, r3] {
        let beneath: Option<String> =
            sqlx::query("SELECT underlying FROM controls WHERE person_id = $1")
                .bind(p)
                .fetch_one(app.services.db.pool())
                .await
                .map(|r| sqlx::Row::get(&r, 0))
                .unwrap();
        assert!(
            beneath
                .as_deref()
                .is_some_and(|b| b.contains("zone_sealed")),
            "{p}: {beneath:?}"
        );
    }

    // Past the plan's release date, every day tested negative.
    let (_, p) = app.get(&command, &format!("/api/v1/persons/{r1}")).await;
    let release_on: chrono::NaiveDate = p["control"]["plan"]["release_on"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let start = chrono::NaiveDate::from_ymd_opt(2022, 1, 28).unwrap();
    let days = (release_on - start).num_days();
    app.advance_hours(24 * (days + 1));
    let worker = app.login_as("grid_worker", G1).await;
    for n in 0..=days {
        let day = start + chrono::Duration::days(n);
        for p in [r1, r2, r3] {
            let (s, r) = app
                .post(&worker, "/api/v1/tests", json!({"person_id": p, "sampled_at": format!("{day}T08:00:00+08:00"), "result": "negative"}))
                .await;
            assert_eq!(s, 201, "{r}");
        }
    }
    let village = app.login_as("village", "330784001001").await;
    let command = app.login_as("command", "330784").await;
    // Plan released first: 1 and 2 fall back to the zone, still sealed.
    for p in [r1, r2] {
        let (s, k) = app
            .post(&village, &format!("/api/v1/persons/{p}/release"), json!({}))
            .await;
        assert_eq!(s, 200, "{k}");
        assert_eq!(
            (&k["category"], &k["status"]),
            (&json!("zone_sealed"), &json!("active")),
            "{k}"
        );
        let (_, v) = app.get(&command, &format!("/api/v1/persons/{p}")).await;
        assert_eq!(
            (&v["control"]["category"], &v["control"]["status"]),
            (&json!("zone_sealed"), &json!("active")),
            "{v}"
        );
    }
    // The zone is lifted: 1 and 2 are released; for 3 it was only beneath.
    let (s, l) = app
        .post(
            &command,
            &format!("/api/v1/zones/{}/lift", z["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(
        (l["released"].as_i64(), l["remaining"].as_i64()),
        (Some(2), Some(0)),
        "{l}"
    );
    for p in [r1, r2] {
        let (_, v) = app.get(&command, &format!("/api/v1/persons/{p}")).await;
        assert_eq!(v["control"]["status"], "released", "{v}");
    }
    let (_, v) = app.get(&command, &format!("/api/v1/persons/{r3}")).await;
    assert_eq!(
        (&v["control"]["category"], &v["control"]["status"]),
        (&json!("risk_street"), &json!("active")),
        "{v}"
    );
    // Zone lifted first: 3's release ends everything.
    let (s, k) = app
        .post(
            &village,
            &format!("/api/v1/persons/{r3}/release"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{k}");
    assert_eq!(k["status"], "released", "{k}");
}
