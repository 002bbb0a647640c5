//! Cross-region ids: town B's objects of every kind, then town A's users
//! (town, village, grid worker) on every route that takes an id or a region
//! code, API and pages, GET and POST, with B's ids and with ids that do not
//! exist, are negative, huge or not numbers at all. Every answer is a 4xx
//! (never a 5xx, never a 2xx/3xx), no body shows B's data, and nothing in
//! the database changed.
//!
//! The corpus is a table ([`probes`]): add a row for a new route.

mod support;

use std::collections::BTreeMap;

use base64::Engine;
use chrono::TimeZone;
use chrono::Utc;
use serde_json::{Value, json};
use sqlx::Row;
use support::{TestApp, declaration, resident_id, spawn};

const TOWN_A: &str = "330784001";
const VILLAGE_A: &str = "330784001001";
const GRID_A: &str = "330784001001001";
const TOWN_B: &str = "330784002";
const VILLAGE_B: &str = "330784002001";
const GRID_B: &str = "330784002001001";
/// Every name town B gives its objects carries this, so a body that shows
/// it leaked B's data.
const SECRET: &str = "乙秘密";

/// The ids of town B's objects.
#[derive(Debug, Default)]
struct B {
    person: i64,
    person_doc_masked: String,
    receipt: String,
    task: i64,
    risk_area: i64,
    round: i64,
    /// A round over both towns.
    round_ab: i64,
    zone: i64,
    venue: i64,
    /// An approved pharmacy (药店哨点).
    pharmacy: i64,
    case: i64,
    list: i64,
    row: i64,
    upload: i64,
    instruction: i64,
    attachment: i64,
    answer: i64,
    help: i64,
    help_task: i64,
    tube: String,
    site: i64,
    report: i64,
    // More objects of the same kinds, so that each row run by B's own users
    // finds its object in the state it needs (the owner pass writes).
    /// Moved by the transfer rows: API, page.
    movers: [i64; 2],
    /// Past their plan's end with every test negative: API, page.
    releasable: [i64; 2],
    /// The page's release row's person's receipt (for `/s/{receipt}/release`).
    released_receipt: String,
    /// A person without a case, for opening one.
    uncased: i64,
    /// A second risk area and zone, for the page's lift rows.
    risk_area2: i64,
    zone2: i64,
    /// The page's tube.
    tube2: String,
    /// Pending venues: API approve, API reject, page approve, page reject.
    pending: [i64; 4],
    /// The approved venue's code (`/v/{code}`, visits).
    venue_code: String,
    /// Candidates of `case`, one per decision row.
    contacts: [i64; 4],
    /// Unrouted rows of `list`, one per route row.
    rows: [i64; 4],
    /// A second help request and its task, for the page rows.
    help2: i64,
    help_task2: i64,
    /// gate pages: a reported gathering and its receipt, a 转运 hand-over to
    /// GRID_B, a warehouse job.
    gathering: i64,
    gathering_receipt: String,
    transfer: i64,
    job: i64,
    /// goods recording pages: B's cold store and market, the warehouse
    /// job's batch, a trace-back (another batch, moved and positive), the
    /// market as a sampling site.
    holders: [i64; 2],
    goods_batch: i64,
    trace_back: i64,
    env_site: i64,
    /// A town B proposal of a stricter rule.
    proposal: i64,
    /// The users who made all this (an instruction goes to its recipients
    /// of the moment).
    command: String,
    town: String,
    worker: String,
}

async fn send(app: &TestApp, token: &str, path: &str, ct: &str, body: Vec<u8>) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let b = "----bihuanHostileBoundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, data)) = file {
        body.extend(
            format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend(data);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

fn ok(s: u16, v: &Value, what: &str) {
    assert!((200..300).contains(&s), "{what}: {s} {v}");
}

/// Town B's objects of every kind, made by its own users (and the city).
async fn town_b(app: &TestApp) -> B {
    let mut b = B::default();
    // Two people whose plan (14+7 days) has ended, every test negative: back
    // to 01-06, declared from a risk area, tested on every day since, then
    // 01-28 again.
    let day = |d: u32| Utc.with_ymd_and_hms(2022, 1, d, 2, 0, 0).unwrap();
    app.clock.set(day(6));
    let command = app.login_as("command", "330784").await;
    let (s, r) = app
        .post(
            &command,
            "/api/v1/risk-areas",
            json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-01"}),
        )
        .await;
    ok(s, &r, "risk area");
    b.risk_area = r["id"].as_i64().unwrap();
    for k in 0..2 {
        let mut d = declaration();
        d["id_number"] = json!(resident_id(790 + k as u32));
        d["name"] = json!(format!("{SECRET}解"));
        d["origin"]["departed_on"] = json!("2022-01-05");
        d["arrival"]["date"] = json!("2022-01-06");
        d["destination"]["village"] = json!(VILLAGE_B);
        let (s, r) = app.declare(d).await;
        ok(s, &r, "declaration to release");
        b.releasable[k] = r["person_id"].as_i64().unwrap();
        b.released_receipt = r["receipt"].as_str().unwrap().to_string();
    }
    for d in 5..28 {
        app.clock.set(day(d.max(6)));
        let command = app.login_as("command", "330784").await;
        for p in b.releasable {
            let (s, r) = app
                .post(
                    &command,
                    "/api/v1/tests",
                    json!({"person_id": p, "sampled_at": format!("2022-01-{d:02}T09:00:00+08:00"), "result": "negative"}),
                )
                .await;
            ok(s, &r, "negative test");
        }
    }
    app.clock.set(day(28));
    app.services.run_jobs().await.unwrap();
    let command = app.login_as("command", "330784").await;
    let town = app.login_as("town", TOWN_B).await;
    let worker = app.login_as("grid_worker", GRID_B).await;
    let (s, r) = app
        .post(
            &command,
            "/api/v1/risk-areas",
            json!({"county": "110106", "township": "110106001", "level": "medium", "since": "2022-01-15"}),
        )
        .await;
    ok(s, &r, "second risk area");
    b.risk_area2 = r["id"].as_i64().unwrap();

    let mut d = declaration();
    d["id_number"] = json!(resident_id(777));
    d["name"] = json!(format!("{SECRET}人"));
    d["destination"]["village"] = json!(VILLAGE_B);
    let (s, r) = app.declare(d).await;
    ok(s, &r, "declaration");
    b.person = r["person_id"].as_i64().unwrap();
    b.receipt = r["receipt"].as_str().unwrap().to_string();
    let (s, p) = app
        .get(&town, &format!("/api/v1/persons/{}", b.person))
        .await;
    ok(s, &p, "person");
    b.person_doc_masked = p["id_number"].as_str().unwrap().to_string();
    let (s, tasks) = app.get(&town, "/api/v1/tasks").await;
    ok(s, &tasks, "tasks");
    b.task = tasks[0]["id"].as_i64().expect("a task in town B");

    let roll = format!(
        "网格编码,身份证号,姓名\n{GRID_B},{},{SECRET}人\n",
        resident_id(777)
    );
    let (s, r) = send(
        app,
        &town,
        "/api/v1/residents/import",
        "text/csv",
        roll.into(),
    )
    .await;
    ok(s, &r, "roll");
    let (s, r) = app
        .post(
            &command,
            "/api/v1/rounds",
            json!({"name": "乙镇第一轮", "regions": [TOWN_B],
                   "starts_at": "2022-01-28T08:00:00+08:00", "ends_at": "2022-01-29T04:00:00+08:00"}),
        )
        .await;
    ok(s, &r, "round");
    b.round = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            &command,
            "/api/v1/rounds",
            json!({"name": "两镇第一轮", "regions": [TOWN_A, TOWN_B],
                   "starts_at": "2022-01-28T08:00:00+08:00", "ends_at": "2022-01-29T04:00:00+08:00"}),
        )
        .await;
    ok(s, &r, "round over both towns");
    b.round_ab = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            &command,
            "/api/v1/zones",
            json!({"kind": "controlled", "region": VILLAGE_B, "starts_on": "2022-01-28"}),
        )
        .await;
    ok(s, &r, "zone");
    b.zone = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            &command,
            "/api/v1/zones",
            json!({"kind": "sealed", "region": VILLAGE_B, "starts_on": "2022-01-28"}),
        )
        .await;
    ok(s, &r, "second zone");
    b.zone2 = r["id"].as_i64().unwrap();

    let (s, r) = app
        .post(
            &town,
            "/api/v1/venues",
            json!({"name": format!("{SECRET}超市"), "kind": "supermarket", "region": VILLAGE_B, "address": "乙路1号"}),
        )
        .await;
    ok(s, &r, "venue");
    b.venue = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            &town,
            &format!("/api/v1/venues/{}/approve", b.venue),
            json!({}),
        )
        .await;
    ok(s, &r, "venue approved");
    b.venue_code = r["code"]
        .as_str()
        .unwrap_or_else(|| panic!("a venue code: {r}"))
        .to_string();
    let (s, r) = app
        .post(
            &town,
            "/api/v1/venues",
            json!({"name": format!("{SECRET}药房"), "kind": "pharmacy", "region": VILLAGE_B, "address": "乙路2号"}),
        )
        .await;
    ok(s, &r, "pharmacy");
    b.pharmacy = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            &town,
            &format!("/api/v1/venues/{}/approve", b.pharmacy),
            json!({}),
        )
        .await;
    ok(s, &r, "pharmacy approved");
    for k in 0..4 {
        let (s, r) = app
            .post(
                &town,
                "/api/v1/venues",
                json!({"name": format!("{SECRET}店{k}"), "kind": "supermarket", "region": VILLAGE_B, "address": "乙路3号"}),
            )
            .await;
        ok(s, &r, "pending venue");
        b.pending[k] = r["id"].as_i64().unwrap();
    }
    // B's person and four others in the venue at once: four candidates.
    for n in [777, 784, 785, 786, 787] {
        let (s, r) = app
            .post(
                "",
                &format!("/api/v1/venue-codes/{}/visits", b.venue_code),
                json!({"name": format!("{SECRET}人"), "id_type": "resident", "id_number": resident_id(n), "phone": "13800138000"}),
            )
            .await;
        ok(s, &r, "visit");
    }
    app.advance_hours(1);
    let mut people = vec![];
    for n in [781, 782, 783] {
        let mut d = declaration();
        d["id_number"] = json!(resident_id(n));
        d["name"] = json!(format!("{SECRET}人"));
        d["destination"]["village"] = json!(VILLAGE_B);
        let (s, r) = app.declare(d).await;
        ok(s, &r, "more declarations");
        people.push(r["person_id"].as_i64().unwrap());
    }
    b.movers = [people[0], people[1]];
    b.uncased = people[2];

    let (s, r) = app
        .post(
            &command,
            "/api/v1/trace-cases",
            json!({"person_id": b.person, "start_date": "2022-01-27", "note": format!("{SECRET}流调")}),
        )
        .await;
    ok(s, &r, "trace case");
    b.case = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            &command,
            &format!("/api/v1/trace-cases/{}/trace", b.case),
            json!({}),
        )
        .await;
    ok(s, &r, "traced");
    for (k, cand) in r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .take(4)
    {
        b.contacts[k] = cand["person_id"].as_i64().unwrap();
    }
    assert!(b.contacts[3] > 0, "four candidates: {r}");

    let (s, r) = app
        .post(
            &town,
            "/api/v1/assist-mappings",
            json!({"name": "乙镇简表", "columns": {"name": "姓名", "id_number": "身份证号"}}),
        )
        .await;
    ok(s, &r, "mapping");
    let list = format!(
        "姓名,身份证号\n{SECRET}人,{}\n{SECRET}二,{}\n{SECRET}三,{}\n{SECRET}四,{}\n{SECRET}五,{}\n",
        resident_id(777),
        resident_id(778),
        resident_id(795),
        resident_id(796),
        resident_id(797)
    );
    let (s, r) = send(
        app,
        &town,
        &format!(
            "/api/v1/assist-lists?name={0}&mapping={1}&filename=b.csv",
            "%E4%B9%99%E7%A7%98%E5%AF%86%E5%90%8D%E5%8D%95", // 乙秘密名单
            "%E4%B9%99%E9%95%87%E7%AE%80%E8%A1%A8"           // 乙镇简表
        ),
        "text/csv",
        list.clone().into(),
    )
    .await;
    ok(s, &r, "assist list");
    b.list = r["id"].as_i64().unwrap();
    let (_, l) = app
        .get(&town, &format!("/api/v1/assist-lists/{}", b.list))
        .await;
    b.row = l["rows"][1]["id"].as_i64().expect("a list row");
    for k in 0..4 {
        b.rows[k] = l["rows"][k + 1]["id"].as_i64().expect("a list row");
    }
    // A staged upload (the page's first step).
    let csrf = app.services.session(&town).await.unwrap().csrf;
    let (ct, body) = multipart(&[("csrf", &csrf)], Some(("乙秘密.csv", list.as_bytes())));
    let r = app
        .http
        .post(app.url("/assist"))
        .header("cookie", format!("bihuan_session={town}"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let to = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    b.upload = to
        .trim_start_matches("/assist/uploads/")
        .split(['?', '/'])
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a staged upload: {} {to}", r.status()));

    let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\n0000");
    let (s, r) = app
        .post(
            &town,
            "/api/v1/instructions",
            json!({"title": format!("{SECRET}指令"), "body": "乙镇排查", "due_at": "2022-01-28T21:00:00+08:00",
                   "regions": [TOWN_B], "roles": ["grid_worker"],
                   "attachments": [{"name": "乙秘密.pdf", "content_type": "application/pdf", "data": png}]}),
        )
        .await;
    ok(s, &r, "instruction");
    b.instruction = r["id"].as_i64().unwrap();
    let (_, v) = app
        .get(&town, &format!("/api/v1/instructions/{}", b.instruction))
        .await;
    b.attachment = v["attachments"][0][0]
        .as_i64()
        .unwrap_or_else(|| panic!("an attachment: {v}"));
    let (s, r) = app
        .post(
            &worker,
            &format!("/api/v1/instructions/{}/answers", b.instruction),
            json!({"body": format!("{SECRET}反馈"), "photo": {"name": "p.png", "content_type": "image/png", "data": png}}),
        )
        .await;
    ok(s, &r, "answer");
    b.answer = r["id"].as_i64().unwrap();

    let (s, r) = app
        .post(
            "",
            &format!("/api/v1/status/{}/help", b.receipt),
            json!({"kind": "medicine", "note": format!("{SECRET}求助")}),
        )
        .await;
    ok(s, &r, "help");
    b.help = r["id"].as_i64().unwrap();
    let (_, tasks) = app.get(&town, "/api/v1/tasks").await;
    b.help_task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "help")
        .and_then(|t| t["id"].as_i64())
        .unwrap_or_else(|| panic!("a help task: {tasks}"));
    let (s, r) = app
        .post(
            "",
            &format!("/api/v1/status/{}/help", b.receipt),
            json!({"kind": "other", "note": format!("{SECRET}求助二")}),
        )
        .await;
    ok(s, &r, "second help");
    b.help2 = r["id"].as_i64().unwrap();
    let (_, tasks) = app.get(&town, "/api/v1/tasks").await;
    b.help_task2 = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "help" && t["id"].as_i64() != Some(b.help_task))
        .and_then(|t| t["id"].as_i64())
        .unwrap_or_else(|| panic!("a second help task: {tasks}"));

    // A second person, handed over out of the city (协查 hand-over export).
    let mut d = declaration();
    d["id_number"] = json!(resident_id(776));
    d["name"] = json!(format!("{SECRET}二"));
    d["destination"]["village"] = json!(VILLAGE_B);
    let (s, r) = app.declare(d).await;
    ok(s, &r, "second declaration");
    let (s, r) = app
        .post(
            &town,
            &format!("/api/v1/persons/{}/transfer", r["person_id"]),
            json!({"county": "110106", "township": "110106003", "address": "乙秘密去处", "reason": "返京"}),
        )
        .await;
    ok(s, &r, "hand-over");
    // The leak check reads workbooks: B's own export shows B's hand-over.
    let r = app
        .http
        .get(app.url("/api/v1/handovers.xlsx"))
        .bearer_auth(app.login_as("village", VILLAGE_B).await)
        .send()
        .await
        .unwrap();
    let text = text_of(&r.bytes().await.unwrap());
    assert!(text.contains("乙秘密去处"), "{text}");

    let roster = format!(
        "单位名称,网格编码,行业,身份证号,姓名,手机号码\n{SECRET}单位,{GRID_B},courier,{},{SECRET}工,13900000011\n",
        resident_id(779)
    );
    let (s, r) = send(
        app,
        &town,
        "/api/v1/rosters/import",
        "text/csv",
        roster.into(),
    )
    .await;
    ok(s, &r, "roster");

    b.tube = "YB0000001".into();
    let (s, r) = app
        .post(
            &worker,
            "/api/v1/tubes",
            json!({"barcode": b.tube, "pool_size": 5, "category": "mandatory"}),
        )
        .await;
    ok(s, &r, "tube");
    let (s, r) = app
        .post(
            &worker,
            &format!("/api/v1/tubes/{}/members", b.tube),
            json!({"id_number": resident_id(777)}),
        )
        .await;
    ok(s, &r, "tube member");
    b.tube2 = "YB0000002".into();
    let (s, r) = app
        .post(
            &worker,
            "/api/v1/tubes",
            json!({"barcode": b.tube2, "pool_size": 5, "category": "mandatory"}),
        )
        .await;
    ok(s, &r, "second tube");

    let (s, r) = app
        .post(
            &town,
            "/api/v1/sites",
            json!({"name": "乙镇采样点", "region": VILLAGE_B, "address": "乙路2号",
                   "hours": "08:00-20:00", "kind": "fixed", "serves": ["mandatory"]}),
        )
        .await;
    ok(s, &r, "site");
    b.site = r["id"].as_i64().unwrap();

    let (s, r) = app
        .post(
            &town,
            "/api/v1/duty",
            json!({"region": TOWN_B, "on_date": "2022-01-28", "shift": "day", "name": format!("{SECRET}值班"), "phone": "13700000001"}),
        )
        .await;
    ok(s, &r, "duty");
    let (s, r) = app.post(&command, "/api/v1/daily-reports", json!({})).await;
    ok(s, &r, "daily report");
    b.report = r["id"].as_i64().unwrap();
    gate_objects(app, &mut b, &town).await;
    (b.command, b.town, b.worker) = (command, town, worker);
    b
}

/// Town B's gathering, 转运 hand-over and warehouse job (the gate pages).
async fn gate_objects(app: &TestApp, b: &mut B, town: &str) {
    let (s, r) = app
        .post(
            "",
            "/api/v1/gatherings",
            json!({"kind": "wedding", "date": "2022-02-09", "village": VILLAGE_B,
                   "address": format!("{SECRET}礼堂"), "tables": 6, "headcount": 60, "out_of_town": 0,
                   "host_name": format!("{SECRET}主"), "host_phone": "13800000001",
                   "cook_name": "厨", "cook_phone": "13800000002", "cook_health_cert": true,
                   "health_pledge": true,
                   "guests": [{"name": format!("{SECRET}客"), "id_number": resident_id(781)}]}),
        )
        .await;
    ok(s, &r, "gathering");
    b.gathering = r["id"].as_i64().unwrap();
    b.gathering_receipt = r["receipt"].as_str().unwrap().to_string();
    let cp = support::approved_venue(app, "checkpoint", VILLAGE_B, &format!("{SECRET}卡口")).await;
    let staff = app.login_as("village", VILLAGE_B).await;
    let (s, r) = app
        .post(
            &staff,
            "/api/v1/checkpoint-passages",
            json!({"passage_id": "b-1", "checkpoint": cp, "travellers": [{
                "id_number": resident_id(782), "name": format!("{SECRET}转"), "phone": "13900000782",
                "origin": {"county": "110106"}, "health_code": "green",
                "destination": {"village": VILLAGE_B, "address": format!("{SECRET}路")},
                "decision": "transfer"}]}),
        )
        .await;
    ok(s, &r, "passage");
    b.transfer = r["travellers"][0]["transfer_id"].as_i64().unwrap();
    let (s, h) = app
        .post(
            town,
            "/api/v1/goods/holders",
            json!({"name": format!("{SECRET}冷库"), "grid": GRID_B, "kind": "cold_store"}),
        )
        .await;
    ok(s, &h, "holder");
    let (s, r) = app
        .post(
            town,
            "/api/v1/goods/batches",
            json!({"trace_code": "YB-SECRET-01", "product": format!("{SECRET}鱼"), "origin": "印度尼西亚",
                   "holder": h["id"], "quantity": 10, "certificates": {"inspection": true}}),
        )
        .await;
    ok(s, &r, "batch");
    b.job = r["warehouse_job"].as_i64().unwrap();
    b.goods_batch = r["id"].as_i64().unwrap();
    let (s, m) = app
        .post(
            town,
            "/api/v1/goods/holders",
            json!({"name": format!("{SECRET}市场"), "grid": GRID_B, "kind": "market"}),
        )
        .await;
    ok(s, &m, "market");
    b.holders = [h["id"].as_i64().unwrap(), m["id"].as_i64().unwrap()];
    let (s, r) = app
        .post(
            town,
            "/api/v1/goods/batches",
            json!({"trace_code": "YB-SECRET-02", "product": format!("{SECRET}肉"), "origin": "巴西",
                   "holder": h["id"], "quantity": 10,
                   "certificates": {"inspection": true, "nucleic_acid": true, "disinfection": true}}),
        )
        .await;
    ok(s, &r, "batch");
    let traced = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            town,
            &format!("/api/v1/goods/batches/{traced}/movements"),
            json!({"from": b.holders[0], "to": b.holders[1], "quantity": 10}),
        )
        .await;
    ok(s, &r, "movement");
    let (s, r) = app
        .post(
            town,
            &format!("/api/v1/goods/batches/{traced}/result"),
            json!({"result": "positive"}),
        )
        .await;
    ok(s, &r, "positive");
    b.trace_back = r["trace_back"].as_i64().unwrap();
    let (s, r) = app
        .post(
            town,
            "/api/v1/goods/env-sites",
            json!({"holder": b.holders[1]}),
        )
        .await;
    ok(s, &r, "site");
    b.env_site = r["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            town,
            "/api/v1/policy-overrides",
            json!({"key": "gathering.notice_working_days", "value": 7, "reason": format!("{SECRET}理由")}),
        )
        .await;
    ok(s, &r, "proposal");
    b.proposal = r["id"].as_i64().unwrap();
}

// ---------------------------------------------------------------------------
// The table.

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    /// A numeric id: B's, then 0, negative, huge, overflowing, not a number.
    Id,
    /// A region code: B's town / village / grid, the city, then junk.
    Region,
    /// A receipt or code: junk only (a receipt is a capability; ident owns
    /// what a receipt page shows).
    Token,
}

#[derive(Clone, Debug)]
enum Body {
    None,
    Json(String),
    /// Form pairs; the probing user's CSRF token is added.
    Form(Vec<(&'static str, String)>),
    Csv(String),
    /// multipart/form-data fields; the CSRF token is added.
    Multipart(Vec<(&'static str, String)>),
}

#[derive(Clone, Debug)]
struct Probe {
    method: &'static str,
    /// A page (session cookie, CSRF token in forms) or the API (bearer).
    page: bool,
    /// `{id}` is replaced by each variant, in the path and the body.
    path: String,
    body: Body,
    kind: Kind,
    /// B's value for `{id}`.
    b: String,
    /// Statuses accepted for B's own ids besides 403 / 404 / 422 (a
    /// spreadsheet import answers 200 with every row refused).
    also: &'static [u16],
    /// Who runs the row in the owner pass, which must then succeed.
    owner: Owner,
    /// The owner pass's `{id}`, where it is not `b` (a real receipt or
    /// code where town A only gets junk ones).
    own: Option<String>,
}

/// B's user who owns a row.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Owner {
    Command,
    Town,
    Worker,
    /// A public route: no session at all.
    Anyone,
}

fn row(method: &'static str, page: bool, path: &str, kind: Kind, b: impl ToString) -> Probe {
    Probe {
        method,
        page,
        path: path.to_string(),
        body: if method == "GET" {
            Body::None
        } else if page {
            Body::Form(vec![])
        } else {
            Body::Json("{}".into())
        },
        kind,
        b: b.to_string(),
        also: &[],
        owner: Owner::Command,
        own: None,
    }
}

impl Probe {
    fn json(mut self, body: &str) -> Self {
        self.body = Body::Json(body.to_string());
        self
    }
    fn form(mut self, pairs: &[(&'static str, &str)]) -> Self {
        self.body = Body::Form(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect());
        self
    }
    fn multipart(mut self, pairs: &[(&'static str, &str)]) -> Self {
        self.body = Body::Multipart(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect());
        self
    }
    fn csv(mut self, text: String) -> Self {
        self.body = Body::Csv(text);
        self
    }
    fn also(mut self, statuses: &'static [u16]) -> Self {
        self.also = statuses;
        self
    }
    fn by(mut self, owner: Owner) -> Self {
        self.owner = owner;
        self
    }
    fn own(mut self, id: impl ToString) -> Self {
        self.own = Some(id.to_string());
        self
    }
}

fn probes(b: &B) -> Vec<Probe> {
    use Kind::*;
    use Owner::*;
    let (p, t, c, l, i) = (b.person, b.task, b.case, b.list, b.instruction);
    let (k, r) = (b.contacts, b.rows);
    let at = "2022-01-28T09:00:00+08:00";
    // `.by(..)`: B's user who owns the row (the command where not said).
    // In paths and bodies, `{grid}` is the probing user's own grid and
    // `{receipt}` the receipt they hold (town A's users: a junk one).
    let v = vec![
        // ---- API: persons and tasks
        row("GET", false, "/api/v1/persons/{id}", Id, p).by(Town),
        row("GET", false, "/api/v1/persons/{id}?unmask=true", Id, p).by(Worker),
        row("POST", false, "/api/v1/persons/{id}/check-ins", Id, p).json(r#"{"temperature": "36.5"}"#).by(Worker),
        row("POST", false, "/api/v1/persons/{id}/release", Id, b.releasable[0]).by(Town),
        row("POST", false, "/api/v1/persons/{id}/transfer", Id, b.movers[0])
            .json(&format!(r#"{{"village": "{VILLAGE_A}", "address": "甲路1号", "reason": "投亲"}}"#))
            .by(Town),
        row("POST", false, "/api/v1/tests", Id, p)
            .json(&format!(r#"{{"person_id": {{id}}, "sampled_at": "{at}", "result": "negative"}}"#))
            .by(Worker),
        row("POST", false, "/api/v1/tasks/{id}/ack", Id, t).by(Worker),
        row("POST", false, "/api/v1/tasks/{id}/report", Id, t).json(r#"{"outcome": "verified", "note": "x"}"#).by(Worker),
        row("POST", false, "/api/v1/tasks/{id}/close", Id, t).by(Town),
        row("POST", false, "/api/v1/tasks/{id}/reopen", Id, t).json(r#"{"reason": "x"}"#).by(Town),
        row("POST", false, "/api/v1/tasks/{id}/ack", Id, b.help_task).by(Worker),
        row("POST", false, "/api/v1/tasks/{id}/report", Id, b.help_task)
            .json(r#"{"outcome": "done", "note": "x"}"#)
            .by(Worker),
        row("POST", false, "/api/v1/risk-areas/{id}/lift", Id, b.risk_area),
        row("PATCH", false, "/api/v1/risk-areas/{id}", Id, b.risk_area).json(r#"{"since": "2021-12-25"}"#),
        // ---- API: rounds, zones, residents, rosters, sites
        row("GET", false, "/api/v1/rounds/{id}/coverage", Id, b.round).by(Town),
        row("GET", false, &format!("/api/v1/rounds/{}/untested/{{id}}", b.round), Region, GRID_B).by(Worker),
        row("GET", false, &format!("/api/v1/rounds/{}/untested/{{id}}?format=csv", b.round), Region, GRID_B).by(Worker),
        row("GET", false, &format!("/api/v1/rounds/{{id}}/untested/{GRID_B}"), Id, b.round).by(Worker),
        row("GET", false, &format!("/api/v1/rounds/{}/coverage?region={{id}}", b.round_ab), Region, TOWN_B).by(Town),
        row("GET", false, &format!("/api/v1/rounds/{}/untested/{{id}}", b.round_ab), Region, GRID_B).by(Worker),
        row("GET", false, "/api/v1/tasks?region={id}", Region, TOWN_B).also(&[200]).by(Town),
        row("POST", false, "/api/v1/zones/{id}/lift", Id, b.zone),
        row("POST", false, "/api/v1/zones", Region, VILLAGE_B)
            .json(r#"{"kind": "sealed", "region": "{id}", "starts_on": "2022-01-28"}"#),
        row("POST", false, "/api/v1/rounds", Region, TOWN_B)
            .json(&format!(r#"{{"name": "x", "regions": ["{{id}}"], "starts_at": "{at}", "ends_at": "2022-01-29T04:00:00+08:00"}}"#)),
        row("POST", false, "/api/v1/residents/import", Region, GRID_B)
            .csv(format!("网格编码,身份证号,姓名\n{{id}},{},甲\n", resident_id(801)))
            .also(&[200])
            .by(Town),
        row("POST", false, "/api/v1/rosters/import", Region, GRID_B)
            .csv(format!("单位名称,网格编码,行业,身份证号,姓名\n甲单位,{{id}},courier,{},甲\n", resident_id(802)))
            .also(&[200])
            .by(Town),
        row("POST", false, "/api/v1/sites", Region, VILLAGE_B)
            .json(
                r#"{"name": "甲点", "region": "{id}", "address": "x", "hours": "08:00-20:00", "kind": "fixed", "serves": ["mandatory"]}"#,
            )
            .by(Town),
        // The division directory is the same for everyone: junk codes only.
        row("GET", false, "/api/v1/regions/{id}", Token, "x").own(TOWN_B).by(Town),
        // ---- API: tubes (ident)
        row("GET", false, "/api/v1/tubes/{id}", Token, &b.tube).by(Worker),
        row("POST", false, "/api/v1/tubes/{id}/members", Token, &b.tube)
            .json(&format!(r#"{{"id_number": "{}"}}"#, resident_id(803)))
            .by(Worker),
        row("POST", false, "/api/v1/tubes/{id}/seal", Token, &b.tube).by(Worker),
        // ---- API: venues, tracing
        row("POST", false, "/api/v1/venues/{id}/approve", Id, b.pending[0]).by(Town),
        row("POST", false, "/api/v1/venues/{id}/reject", Id, b.pending[1]).by(Town),
        row("POST", false, "/api/v1/venues", Region, VILLAGE_B)
            .json(r#"{"name": "甲店", "kind": "supermarket", "region": "{id}", "address": "x"}"#)
            .by(Town),
        row("POST", false, "/api/v1/pharmacy-purchases", Id, b.pharmacy)
            .json(&format!(
                r#"{{"pharmacy": {{id}}, "id_number": "{}", "name": "x", "phone": "13800138000", "health_code": "green", "drugs": [{{"class": "antiviral", "qty": 1}}]}}"#,
                resident_id(790)
            ))
            .by(Town),
        // A venue's code is public (on its poster): junk codes only.
        row("POST", false, "/api/v1/venue-codes/{id}/visits", Token, "x")
            .json(&format!(r#"{{"name": "甲", "id_type": "resident", "id_number": "{}", "phone": "13800000000"}}"#, resident_id(804)))
            .own(&b.venue_code)
            .by(Anyone),
        row("GET", false, "/api/v1/trace-cases/{id}", Id, c),
        row("POST", false, "/api/v1/trace-cases/{id}/trace", Id, c),
        row("POST", false, &format!("/api/v1/trace-cases/{{id}}/contacts/{}/decision", k[0]), Id, c)
            .json(r#"{"decision": "confirm"}"#),
        row("POST", false, &format!("/api/v1/trace-cases/{c}/contacts/{{id}}/decision"), Id, k[1])
            .json(r#"{"decision": "strike"}"#),
        row("POST", false, "/api/v1/trace-cases", Id, b.uncased)
            .json(r#"{"person_id": {id}, "start_date": "2022-01-27"}"#),
        // ---- API: 指挥部
        row("GET", false, "/api/v1/instructions/{id}", Id, i).by(Town),
        row("POST", false, "/api/v1/instructions/{id}/ack", Id, i).by(Worker),
        row("POST", false, "/api/v1/instructions/{id}/answers", Id, i).json(r#"{"body": "甲反馈"}"#).by(Worker),
        row("GET", false, &format!("/api/v1/instructions/{{id}}/attachments/{}", b.attachment), Id, i).by(Town),
        row("GET", false, &format!("/api/v1/instructions/{i}/attachments/{{id}}"), Id, b.attachment).by(Town),
        row("GET", false, &format!("/api/v1/instructions/{{id}}/answers/{}/photo", b.answer), Id, i).by(Town),
        row("GET", false, &format!("/api/v1/instructions/{i}/answers/{{id}}/photo"), Id, b.answer).by(Town),
        row("POST", false, "/api/v1/instructions", Region, TOWN_B)
            .json(
                r#"{"title": "t", "body": "b", "due_at": "2022-01-28T21:00:00+08:00", "regions": ["{id}"], "roles": ["grid_worker"]}"#,
            )
            .by(Town),
        row("POST", false, "/api/v1/duty", Region, TOWN_B)
            .json(r#"{"region": "{id}", "on_date": "2022-01-29", "shift": "day", "name": "甲", "phone": "13700000002"}"#)
            .by(Town),
        // ---- API: 协查 (each user routes to a grid of their own)
        row("GET", false, "/api/v1/assist-lists/{id}", Id, l).by(Town),
        row("GET", false, "/api/v1/assist-lists/{id}/export", Id, l).by(Town),
        row("POST", false, &format!("/api/v1/assist-lists/{{id}}/rows/{}/route", r[0]), Id, l)
            .json(r#"{"grid": "{grid}"}"#)
            .by(Town),
        row("POST", false, &format!("/api/v1/assist-lists/{l}/rows/{{id}}/route"), Id, r[1])
            .json(r#"{"grid": "{grid}"}"#)
            .by(Town),
        // ---- API: dashboards, reports
        row("GET", false, "/api/v1/dashboard/{id}", Region, TOWN_B).by(Town),
        row("GET", false, "/api/v1/dashboard/{id}/live", Region, TOWN_B).by(Town),
        row("GET", false, "/api/v1/dashboard/{id}/lists/under_control", Region, TOWN_B).by(Town),
        row("GET", false, "/api/v1/dashboard/{id}/lists/tasks_open/xlsx", Region, TOWN_B).by(Town),
        // Town A's own dashboard, junk list names (the command's, a real one).
        row("GET", false, &format!("/api/v1/dashboard/{TOWN_A}/lists/{{id}}"), Token, "x").own("under_control"),
        row("GET", false, "/api/v1/daily-reports/{id}", Id, b.report),
        row("GET", false, "/api/v1/daily-reports/{id}/xlsx", Id, b.report),
        // ---- API: receipts. A receipt is the declarant's capability: whoever
        // holds it may use it (what it shows is ident's). Town A's users get
        // junk ones; the owner pass, B's real one.
        row("GET", false, "/api/v1/status/{id}/help", Token, "x").own(&b.receipt).by(Anyone),
        row("POST", false, "/api/v1/status/{id}/check-ins", Token, "x")
            .json(r#"{"temperature": "36.5"}"#)
            .own(&b.receipt)
            .by(Anyone),
        row("POST", false, "/api/v1/status/{id}/help", Token, "x")
            .json(r#"{"kind": "other"}"#)
            .own(&b.receipt)
            .by(Anyone),
        row("POST", false, "/api/v1/status/{receipt}/help/{id}/rating", Id, b.help)
            .json(r#"{"rating": 5}"#)
            .by(Anyone),
        // ---- pages: persons and tasks
        row("GET", true, "/persons/{id}", Id, p).by(Town),
        row("GET", true, "/persons/{id}?unmask=1", Id, p).by(Worker),
        row("GET", true, "/due-tests?tested={id}", Id, p).also(&[200]).by(Worker),
        row("POST", true, "/persons/{id}/check-in", Id, p).form(&[("temperature", "36.5")]).by(Worker),
        row("POST", true, "/persons/{id}/tests", Id, p)
            .form(&[("result", "negative"), ("sampled_at", "2022-01-28T09:00")])
            .by(Worker),
        row("POST", true, "/persons/{id}/release", Id, b.releasable[1]).form(&[("confirm", "1")]).by(Town),
        row("POST", true, "/persons/{id}/call", Id, p).by(Worker),
        row("POST", true, "/persons/{id}/transfer", Id, b.movers[1])
            .form(&[("to", "city"), ("village", VILLAGE_A), ("address", "甲路1号"), ("reason", "投亲")])
            .by(Town),
        row("POST", true, "/tasks/{id}/ack", Id, t).by(Worker),
        row("POST", true, "/tasks/{id}/report", Id, t).form(&[("outcome", "verified"), ("note", "x")]).by(Worker),
        row("POST", true, "/tasks/{id}/close", Id, t).form(&[("confirm", "1")]).by(Town),
        row("POST", true, "/tasks/{id}/reopen", Id, t).form(&[("reason", "x")]).by(Town),
        row("POST", true, "/tasks/{id}/ack", Id, b.help_task2).by(Worker),
        row("POST", true, "/tasks/{id}/report", Id, b.help_task2)
            .form(&[("outcome", "done"), ("note", "x")])
            .by(Worker),
        row("POST", true, "/risk-areas/{id}/lift", Id, b.risk_area2).form(&[("confirm", "1")]),
        // ---- pages: rounds, zones, sites
        row("GET", true, "/rounds/{id}", Id, b.round).by(Town),
        row("GET", true, &format!("/rounds/{}/untested/{{id}}", b.round), Region, GRID_B).by(Worker),
        row("GET", true, &format!("/rounds/{}/untested/{{id}}.csv", b.round), Region, GRID_B).by(Worker),
        row("GET", true, &format!("/rounds/{}?region={{id}}", b.round_ab), Region, TOWN_B).by(Town),
        row("GET", true, &format!("/rounds/{}/untested/{{id}}", b.round_ab), Region, GRID_B).by(Worker),
        row("POST", true, "/zones/{id}/lift", Id, b.zone2).form(&[("confirm", "1")]),
        row("POST", true, "/zones", Region, VILLAGE_B)
            .form(&[("kind", "sealed"), ("village", "{id}"), ("starts_on", "2022-01-28"), ("confirm", "1")]),
        row("POST", true, "/sites", Region, VILLAGE_B)
            .form(&[
                ("name", "甲点"),
                ("region", "{id}"),
                ("address", "x"),
                ("hours", "08:00-20:00"),
                ("kind", "fixed"),
                ("serves", "mandatory"),
            ])
            .by(Town),
        // A site's poster is public: junk ids only.
        row("GET", true, "/sites/{id}/poster", Id, "999999").own(b.site).by(Anyone),
        // ---- pages: tubes (ident)
        row("GET", true, "/sample/tubes/{id}", Token, &b.tube2).by(Worker),
        row("POST", true, "/sample/tubes/{id}/members", Token, &b.tube2)
            .form(&[("scan", &resident_id(805)), ("id_type", "resident"), ("name", "甲")])
            .by(Worker),
        row("POST", true, "/sample/tubes/{id}/seal", Token, &b.tube2)
            .form(&[("confirm", "1")])
            .by(Worker),
        // ---- pages: venues, tracing
        row("POST", true, "/venues/{id}/approve", Id, b.pending[2]).by(Town),
        row("POST", true, "/venues/{id}/reject", Id, b.pending[3]).by(Town),
        row("GET", true, "/venues/{id}/poster", Id, b.venue).by(Town),
        row("POST", true, "/venues", Region, VILLAGE_B)
            .form(&[("name", "甲店"), ("kind", "supermarket"), ("region", "{id}"), ("address", "x")])
            .by(Town),
        row("GET", true, "/v/{id}", Token, "x").own(&b.venue_code).by(Anyone),
        row("GET", true, "/tracing/{id}", Id, c),
        row("POST", true, "/tracing/{id}/trace", Id, c),
        row("POST", true, &format!("/tracing/{{id}}/contacts/{}", k[2]), Id, c).form(&[("decision", "confirm"), ("confirm", "1")]),
        row("POST", true, &format!("/tracing/{c}/contacts/{{id}}"), Id, k[3]).form(&[("decision", "strike"), ("confirm", "1")]),
        // ---- pages: 指挥部
        row("GET", true, "/instructions/{id}", Id, i).by(Town),
        row("POST", true, "/instructions/{id}/ack", Id, i).by(Worker),
        row("POST", true, "/instructions/{id}/answers", Id, i).multipart(&[("body", "甲反馈")]).by(Worker),
        row("GET", true, &format!("/instructions/{{id}}/attachments/{}", b.attachment), Id, i).by(Town),
        row("GET", true, &format!("/instructions/{i}/attachments/{{id}}"), Id, b.attachment).by(Town),
        row("GET", true, &format!("/instructions/{{id}}/answers/{}/photo", b.answer), Id, i).by(Town),
        row("GET", true, &format!("/instructions/{i}/answers/{{id}}/photo"), Id, b.answer).by(Town),
        row("POST", true, "/duty", Region, TOWN_B)
            .form(&[
                ("region", "{id}"),
                ("on_date", "2022-01-30"),
                ("shift", "day"),
                ("name", "甲"),
                ("phone", "13700000002"),
            ])
            .by(Town),
        // ---- pages: 协查
        row("GET", true, "/assist/uploads/{id}", Id, b.upload).by(Town),
        row("POST", true, "/assist/uploads/{id}", Id, b.upload)
            .form(&[("list_name", "甲"), ("mapping_name", "甲表"), ("col_name", "姓名"), ("col_id_number", "身份证号")])
            .by(Town),
        row("GET", true, "/assist/{id}", Id, l).by(Town),
        row("GET", true, "/assist/{id}/export", Id, l).by(Town),
        row("POST", true, &format!("/assist/{{id}}/rows/{}/route", r[2]), Id, l)
            .form(&[("grid", "{grid}")])
            .by(Town),
        row("POST", true, &format!("/assist/{l}/rows/{{id}}/route"), Id, r[3])
            .form(&[("grid", "{grid}")])
            .by(Town),
        // ---- pages: dashboards, reports
        row("GET", true, "/dashboard/{id}", Region, TOWN_B).by(Town),
        row("GET", true, "/dashboard/{id}/list/under_control", Region, TOWN_B).by(Town),
        row("GET", true, &format!("/dashboard/{TOWN_A}/list/{{id}}"), Token, "x").own("under_control"),
        row("GET", true, "/reports/{id}", Id, b.report),
        // ---- pages: receipts (junk ones for town A, as above)
        row("GET", true, "/s/{id}", Token, "x").own(&b.receipt).by(Anyone),
        row("GET", true, "/s/{id}/release", Token, "x").own(&b.released_receipt).by(Anyone),
        row("POST", true, "/s/{id}/check-in", Token, "x")
            .form(&[("temperature", "36.5")])
            .own(&b.receipt)
            .by(Anyone),
        row("POST", true, "/s/{id}/help", Token, "x")
            .form(&[("kind", "other")])
            .own(&b.receipt)
            .by(Anyone),
        row("POST", true, "/s/{receipt}/help/{id}/rate", Id, b.help2).form(&[("rating", "5")]).by(Anyone),
        // ---- gate pages
        row("GET", true, "/gatherings/{id}", Id, b.gathering).by(Town),
        row("POST", true, "/gatherings/{id}/cancel", Id, b.gathering)
            .form(&[("confirm", "1")])
            .by(Town),
        row("GET", true, "/g/{id}", Token, "x").own(&b.gathering_receipt).by(Anyone),
        row("POST", true, "/transfers/{id}/advance", Id, b.transfer)
            .form(&[("to", "dispatched")])
            .by(Worker),
        row("POST", true, "/goods/jobs/{id}/advance", Id, b.job)
            .form(&[("to", "sampled")])
            .by(Town),
        // goods recording pages
        row("POST", true, "/goods/holders", Region, GRID_B)
            .form(&[("name", "甲冷库"), ("grid", "{id}"), ("kind", "cold_store")])
            .by(Town),
        row("POST", true, "/goods/batches", Id, b.holders[0])
            .form(&[
                ("trace_code", "YA-00001"),
                ("product", "甲鱼"),
                ("origin", "巴西"),
                ("holder", "{id}"),
                ("quantity", "1"),
            ])
            .by(Town),
        row("GET", true, "/goods/batches/{id}", Id, b.goods_batch).by(Town),
        row("POST", true, "/goods/batches/{id}/movements", Id, b.goods_batch)
            .form(&[("from", &b.holders[0].to_string()), ("to", &b.holders[1].to_string()), ("quantity", "1")])
            .by(Town),
        row("POST", true, &format!("/goods/batches/{}/movements", b.goods_batch), Id, b.holders[1])
            .form(&[("from", &b.holders[0].to_string()), ("to", "{id}"), ("quantity", "1")])
            .by(Town),
        row("POST", true, "/goods/batches/{id}/result", Id, b.goods_batch)
            .form(&[("result", "negative")])
            .by(Town),
        row("GET", true, "/goods/trace-backs/{id}", Id, b.trace_back).by(Town),
        row("POST", true, "/goods/env/sites", Id, b.holders[0])
            .form(&[("holder", "{id}")])
            .by(Town),
        row("POST", true, "/goods/env/sites", Region, GRID_B)
            .form(&[("name", "甲点"), ("grid", "{id}"), ("kind", "place")])
            .by(Town),
        row("POST", true, "/goods/env/sites/{id}/samples", Id, b.env_site)
            .form(&[("sampled_on", "2022-01-28"), ("result", "negative")])
            .by(Town),
        row("POST", true, "/policy-overrides/{id}/approve", Id, b.proposal),
    ];
    v
}

/// Listings without ids: each of A's users may see them, none shows B's data.
const LISTS: &[(&str, bool)] = &[
    ("/api/v1/tasks", false),
    ("/api/v1/overview", false),
    ("/api/v1/due-tests", false),
    ("/api/v1/help-requests/waiting", false),
    ("/api/v1/rolling/overdue", false),
    ("/api/v1/venues", false),
    ("/api/v1/trace-cases", false),
    ("/api/v1/instructions", false),
    ("/api/v1/instructions/escalated", false),
    ("/api/v1/assist-lists", false),
    ("/api/v1/duty", false),
    ("/api/v1/duty/uncovered", false),
    ("/api/v1/daily-reports", false),
    ("/api/v1/handovers.xlsx", false),
    ("/api/v1/health-codes", false),
    ("/api/v1/health-codes?format=csv", false),
    ("/api/v1/health-codes?format=xlsx", false),
    ("/exports/handovers.xlsx", true),
    ("/exports/health-codes.xlsx", true),
    ("/tasks", true),
    ("/due-tests", true),
    ("/command", true),
    ("/venues", true),
    ("/tracing", true),
    ("/assist", true),
    ("/instructions", true),
    ("/duty", true),
    ("/rolling", true),
    ("/zones", true),
    ("/rounds", true),
    ("/reports", true),
    ("/sample", true),
    ("/dashboard", true),
    ("/gatherings", true),
    ("/checkpoints", true),
    ("/transfers", true),
    ("/goods", true),
    ("/goods/jobs", true),
    ("/goods/unfit", true),
    ("/goods/new", true),
    ("/goods/env", true),
    ("/policy-overrides", true),
];

/// The values each kind of `{id}` takes: (value, is it B's own).
fn variants(kind: Kind, b: &str) -> Vec<(String, bool)> {
    let mut v = match kind {
        Kind::Id => vec![(b.to_string(), true)],
        Kind::Region => vec![
            (b.to_string(), true),
            (TOWN_B.into(), true),
            (VILLAGE_B.into(), true),
            (GRID_B.into(), true),
            ("330784".into(), true),
            ("33078400".into(), false),
            ("330784009999999".into(), false),
            ("110106".into(), false),
        ],
        Kind::Token => vec![],
    };
    v.dedup();
    let junk = [
        "0",
        "-1",
        "999999999",
        "9223372036854775807",
        "99999999999999999999",
        "abc",
        "1.5",
        "%20",
        "%E4%B9%99",
        "%00",
    ];
    v.extend(junk.iter().map(|s| (s.to_string(), false)));
    if kind == Kind::Token && b != "x" {
        v.push((b.to_string(), true));
    }
    v
}

/// Every table but the session bookkeeping, each as its sorted rows.
async fn snapshot(app: &TestApp) -> BTreeMap<String, Vec<String>> {
    let pool = app.services.db.pool();
    let postgres = std::env::var("BIHUAN_TEST_POSTGRES").is_ok_and(|s| !s.is_empty());
    let q = if postgres {
        "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = current_schema()"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    };
    let tables: Vec<String> = sqlx::query(q)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .filter(|t| !["sessions", "users", "job_runs"].contains(&t.as_str()))
        .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let rows = sqlx::query(&format!("SELECT * FROM {t}"))
            .fetch_all(pool)
            .await
            .unwrap();
        let mut lines: Vec<String> = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
                            format!("{v:?}")
                        } else if let Ok(v) = r.try_get::<Option<String>, _>(i) {
                            format!("{v:?}")
                        } else if let Ok(v) = r.try_get::<Option<f64>, _>(i) {
                            format!("{v:?}")
                        } else if let Ok(v) = r.try_get::<Option<Vec<u8>>, _>(i) {
                            format!("{v:?}")
                        } else if let Ok(v) = r.try_get::<Option<bool>, _>(i) {
                            format!("{v:?}")
                        } else {
                            "?".into()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        lines.sort();
        out.insert(t, lines);
    }
    out
}

fn changed(a: &BTreeMap<String, Vec<String>>, b: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    a.iter()
        .filter(|(t, rows)| b.get(*t) != Some(rows))
        .map(|(t, rows)| {
            let after = &b[t];
            let new: Vec<&String> = after.iter().filter(|r| !rows.contains(r)).collect();
            let gone: Vec<&String> = rows.iter().filter(|r| !after.contains(r)).collect();
            format!("{t}: +{new:?} -{gone:?}")
        })
        .collect()
}

struct User {
    label: &'static str,
    /// Empty: no session (a public route).
    token: String,
    csrf: String,
    /// What `{grid}` and `{receipt}` stand for in this user's requests.
    grid: &'static str,
    receipt: String,
}

async fn users(app: &TestApp) -> Vec<User> {
    let mut out = vec![];
    for (label, role, region) in [
        ("town A", "town", TOWN_A),
        ("village A", "village", VILLAGE_A),
        ("grid worker A", "grid_worker", GRID_A),
    ] {
        let token = app.login_as(role, region).await;
        let csrf = app.services.session(&token).await.unwrap().csrf;
        out.push(User {
            label,
            token,
            csrf,
            grid: GRID_A,
            receipt: "x".into(),
        });
    }
    out
}

async fn request(app: &TestApp, u: &User, p: &Probe, id: &str) -> (u16, String) {
    let mine = |t: &str| t.replace("{grid}", u.grid).replace("{receipt}", &u.receipt);
    let path = mine(&p.path).replace("{id}", id);
    let method = reqwest::Method::from_bytes(p.method.as_bytes()).unwrap();
    let mut req = app.http.request(method, app.url(&path));
    req = if u.token.is_empty() {
        req
    } else if p.page {
        req.header("cookie", format!("bihuan_session={}", u.token))
    } else {
        req.bearer_auth(&u.token)
    };
    // In a body, a numeric id goes in as it is; anything else as text.
    let in_json = if id.parse::<i64>().is_ok() {
        id.to_string()
    } else {
        Value::String(id.to_string()).to_string()
    };
    req = match &p.body {
        Body::None => req,
        Body::Json(t) => req.header("content-type", "application/json").body(
            mine(t)
                .replace("\"{id}\"", &Value::String(id.into()).to_string())
                .replace("{id}", &in_json),
        ),
        Body::Form(pairs) => {
            let mut f: Vec<(&str, String)> = vec![("csrf", u.csrf.clone())];
            f.extend(pairs.iter().map(|(k, v)| (*k, mine(v).replace("{id}", id))));
            req.form(&f)
        }
        Body::Csv(t) => req
            .header("content-type", "text/csv")
            .body(mine(t).replace("{id}", id)),
        Body::Multipart(pairs) => {
            let mut f: Vec<(&str, String)> = vec![("csrf", u.csrf.clone())];
            f.extend(pairs.iter().map(|(k, v)| (*k, mine(v).replace("{id}", id))));
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (ct, body) = multipart(&f, None);
            req.header("content-type", ct).body(body)
        }
    };
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    if r.status().is_redirection() {
        // Where it leads is the answer (a sign-in page is no success).
        let to = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap_or(""));
        return (s, format!("-> {}", to.unwrap_or("")));
    }
    let bytes = r.bytes().await.unwrap();
    (s, text_of(&bytes))
}

/// A body as text; a workbook as the text of all its cells.
fn text_of(bytes: &[u8]) -> String {
    use calamine::Reader;
    if !bytes.starts_with(b"PK") {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a workbook");
    let mut out = String::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).unwrap();
        for row in range.rows() {
            for c in row {
                out.push_str(&c.to_string());
                out.push('\t');
            }
            out.push('\n');
        }
    }
    out
}

/// Runs every probe and listing, and returns what went wrong.
async fn run() -> Vec<String> {
    let app = spawn().await;
    let b = town_b(&app).await;
    assert!(!b.person_doc_masked.is_empty(), "B's masked number");
    let users = users(&app).await;
    let leaks = |body: &str| body.contains(SECRET) || body.contains(&b.person_doc_masked);
    let mut failures = vec![];
    let mut before = snapshot(&app).await;
    for p in probes(&b).iter() {
        for u in &users {
            for (id, own) in variants(p.kind, &p.b) {
                if id == "%20" && p.path.contains("={id}") {
                    continue; // a blank query filter means the viewer's own
                }
                let (s, body) = request(&app, u, p, &id).await;
                let what = format!(
                    "{} {} {} as {}",
                    p.method,
                    p.path.replace("{id}", &id),
                    if own { "(B's)" } else { "(junk)" },
                    u.label
                );
                let fine = matches!(s, 403 | 404 | 422)
                    || (!own && matches!(s, 400 | 405))
                    || p.also.contains(&s);
                if !fine {
                    failures.push(format!(
                        "{what}: status {s}: {}",
                        &body[..body.len().min(300)]
                    ));
                }
                if leaks(&body) {
                    failures.push(format!("{what}: {s} shows B's data"));
                }
                let after = snapshot(&app).await;
                let diff = changed(&before, &after);
                if !diff.is_empty() {
                    failures.push(format!("{what}: {s} changed {diff:?}"));
                }
                before = after;
            }
        }
    }
    {
        for (path, page) in LISTS {
            let p = row("GET", *page, path, Kind::Token, "");
            for u in &users {
                let (s, body) = request(&app, u, &p, "").await;
                if s >= 500 {
                    failures.push(format!("GET {path} as {}: status {s}", u.label));
                }
                if leaks(&body) {
                    failures.push(format!("GET {path} as {}: {s} shows B's data", u.label));
                }
            }
        }
        // Exports write their audit event, and nothing else.
        let (mut before, mut after) = (before, snapshot(&app).await);
        before.remove("events");
        after.remove("events");
        let diff = changed(&before, &after);
        if !diff.is_empty() {
            failures.push(format!("the listings changed {diff:?}"));
        }
    }
    failures
}

#[tokio::test]
async fn town_a_cannot_reach_town_b_through_any_id() {
    let failures = run().await;
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A body's text without its markup, shortened.
fn gist(body: &str) -> String {
    let text = match body.find("<main") {
        Some(at) => &body[at..],
        None => body,
    };
    let mut out = String::new();
    let mut tag = false;
    for ch in text.chars() {
        match ch {
            '<' => tag = true,
            '>' => {
                tag = false;
                out.push(' ');
            }
            _ if !tag => out.push(ch),
            _ => {}
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(240)
        .collect()
}

/// The same rows, each run once by its owner (B's town, grid worker or the
/// command, or no one for a public route) with B's own id, on an app of its
/// own (these writes change state): each answers 2xx/3xx, so every refusal
/// town A's users got came from the scope check, not from a wrong body or
/// state. (No route refuses its owner: every row has one who gets through.)
#[tokio::test]
async fn town_b_users_get_through_every_row() {
    let app = spawn().await;
    let b = town_b(&app).await;
    let mut us = BTreeMap::new();
    for (owner, label, token) in [
        (Owner::Command, "command", &b.command),
        (Owner::Town, "town B", &b.town),
        (Owner::Worker, "grid worker B", &b.worker),
        (Owner::Anyone, "anyone", &String::new()),
    ] {
        let csrf = if token.is_empty() {
            String::new()
        } else {
            app.services.session(token).await.unwrap().csrf
        };
        let u = User {
            label,
            token: token.clone(),
            csrf,
            grid: GRID_B,
            receipt: b.receipt.clone(),
        };
        us.insert(format!("{owner:?}"), u);
    }
    let mut failures = vec![];
    for p in probes(&b) {
        let u = &us[&format!("{:?}", p.owner)];
        let id = p.own.clone().unwrap_or_else(|| p.b.clone());
        let (s, body) = request(&app, u, &p, &id).await;
        if !(200..400).contains(&s) || body.contains("/login") {
            failures.push(format!(
                "{} {} as {}: status {s}: {}",
                p.method,
                p.path.replace("{id}", &id),
                u.label,
                gist(&body)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
