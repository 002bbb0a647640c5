//! 指挥部看板 and 日报 over real HTTP: a seeded day of activity in two towns,
//! every dashboard number against the length of the list behind it (city,
//! town, village), the region scope, the list export, and the daily report
//! made by the job on two consecutive days, read back cell by cell.

mod support;

use bihuan::clock::Clock;
use calamine::{Data, Reader, Xlsx};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use support::{TestApp, declaration, resident_id, spawn, spawn_with};

const TOWN_A: &str = "330784001";
const TOWN_B: &str = "330784002";
const VILLAGE_A: &str = "330784001001";
const VILLAGE_B: &str = "330784002001";

/// Every figure a tile shows; categories are added from the dashboard.
const KEYS: &[&str] = &[
    "arriving_today",
    "arrivals_today",
    "arrivals_14d",
    "under_control",
    "positives",
    "tests_due",
    "tests_done",
    "tests_missed",
    "tests_yesterday",
    "tasks_open",
    "tasks_overdue",
    "tasks_escalated",
    "tasks_due",
    "tasks_closed_in_time",
    "help_waiting",
];

fn at(app: &TestApp, date: NaiveDate, hour: u32) {
    let local = date.and_hms_opt(hour, 0, 0).unwrap() - Duration::hours(8);
    app.clock.set(Utc.from_utc_datetime(&local));
}

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 28).unwrap() + Duration::days(n)
}

fn arrival(n: u32, village: &str, origin: Value, departed: &str) -> Value {
    let mut d = declaration();
    d["id_number"] = json!(resident_id(n));
    d["name"] = json!(format!("王{n}号"));
    d["destination"]["village"] = json!(village);
    let mut o = origin;
    o["departed_on"] = json!(departed);
    d["origin"] = o;
    d
}

async fn get_bytes(app: &TestApp, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// A sheet's rows without its last line, the watermark, which it checks.
fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range(name).unwrap();
    let mut rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    let mark = rows.pop().expect("a watermark line");
    assert!(
        text(&mark[0]).starts_with("导出人："),
        "{name} ends with who exported it: {mark:?}"
    );
    rows
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// For every tile of `region`'s dashboard and its total: each number equals
/// the length of its list. Returns how many non-zero numbers were checked.
async fn numbers_equal_lists(app: &TestApp, token: &str, region: &str) -> usize {
    let (s, d) = app.get(token, &format!("/api/v1/dashboard/{region}")).await;
    assert_eq!(s, 200, "{d}");
    let mut keys: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
    for c in d["categories"].as_array().unwrap() {
        for m in [
            "arriving_today",
            "arrivals_today",
            "arrivals_14d",
            "under_control",
        ] {
            keys.push(format!("{m}:{}", c.as_str().unwrap()));
        }
    }
    let mut tiles: Vec<Value> = d["tiles"].as_array().unwrap().clone();
    tiles.push(d["total"].clone());
    let mut nonzero = 0;
    for tile in &tiles {
        let code = tile["code"].as_str().unwrap();
        let direct = u8::from(tile["direct"].as_bool().unwrap());
        for key in &keys {
            let n = tile["figures"][key.as_str()].as_i64().unwrap_or(0);
            let (metric, cat) = key.split_once(':').unwrap_or((key, ""));
            let path =
                format!("/api/v1/dashboard/{code}/lists/{metric}?direct={direct}&category={cat}");
            let (s, l) = app.get(token, &path).await;
            assert_eq!(s, 200, "{path}: {l}");
            assert_eq!(l["total"].as_i64().unwrap(), n, "{code} {key}");
            assert_eq!(l["rows"].as_array().unwrap().len() as i64, n, "{path}");
            if n > 0 {
                nonzero += 1;
            }
        }
    }
    nonzero
}

/// The dashboard's tile of `code`, figures by key.
fn tile<'a>(d: &'a Value, code: &str) -> &'a Value {
    d["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == code && t["direct"] == false)
        .unwrap_or_else(|| panic!("no tile {code}"))
}

fn fig(t: &Value, key: &str) -> i64 {
    t["figures"][key].as_i64().unwrap_or(0)
}

async fn tasks_of(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, t) = app.get(token, "/api/v1/tasks").await;
    assert_eq!(s, 200, "{t}");
    t.as_array().unwrap().clone()
}

/// A day of activity in two towns; returns the command's token.
async fn seed(app: &TestApp) -> String {
    let command = app.login_as("command", "330784").await;
    let (s, _) = app
        .post(
            &command,
            "/api/v1/risk-areas",
            json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"}),
        )
        .await;
    assert_eq!(s, 201);
    let street = json!({"county": "110106", "township": "110106003"});
    let mut receipts = Vec::new();
    for (n, village, origin, departed) in [
        (1, VILLAGE_A, street.clone(), "2022-01-26"),
        (2, VILLAGE_A, street.clone(), "2022-01-27"),
        (3, VILLAGE_A, json!({"county": "110105"}), "2022-01-27"),
        (4, VILLAGE_B, street.clone(), "2022-01-27"),
        (5, VILLAGE_B, json!({"county": "440106"}), "2022-01-27"),
        (6, VILLAGE_B, street.clone(), "2022-01-27"),
    ] {
        let (s, d) = app.declare(arrival(n, village, origin, departed)).await;
        assert_eq!(s, 201, "{d}");
        receipts.push((
            d["person_id"].as_i64().unwrap(),
            d["receipt"].as_str().unwrap().to_string(),
        ));
    }
    // Person 1 is tested today; person 4 is positive; person 2 asks for help.
    for (person, result) in [(receipts[0].0, "negative"), (receipts[3].0, "positive")] {
        let (s, r) = app
            .post(
                &command,
                "/api/v1/tests",
                json!({"person_id": person, "sampled_at": "2022-01-28T09:30:00+08:00", "result": result}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
    }
    let (s, r) = app
        .post(
            "",
            &format!("/api/v1/status/{}/help", receipts[1].1),
            json!({"kind": "medicine", "note": "降压药"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    // Town A works its first task to the end; the second is only acknowledged.
    let tasks = tasks_of(app, &command).await;
    let of = |p: i64| {
        tasks
            .iter()
            .find(|t| t["person_id"] == p && t["kind"] == "verify")
            .unwrap_or_else(|| panic!("a verify task for {p}: {tasks:?}"))
            .clone()
    };
    let (t1, t2) = (of(receipts[0].0), of(receipts[1].0));
    let worker = app
        .login_as("grid_worker", t1["region"].as_str().unwrap())
        .await;
    let village = app.login_as("village", VILLAGE_A).await;
    for (who, t, action, body) in [
        (&worker, &t1, "ack", json!({})),
        (
            &worker,
            &t1,
            "report",
            json!({"outcome": "verified", "note": "已核实"}),
        ),
        (&village, &t1, "close", json!({})),
        (&worker, &t2, "ack", json!({})),
    ] {
        let (s, r) = app
            .post(who, &format!("/api/v1/tasks/{}/{action}", t["id"]), body)
            .await;
        assert_eq!(s, 200, "{action}: {r}");
    }
    command
}

#[tokio::test]
async fn every_number_equals_its_list_and_the_daily_report_compares_days() {
    let app = spawn().await;
    seed(&app).await;

    // Day 0, 22:00: the job makes the day's report, once.
    at(&app, day(0), 22);
    let r = app.services.run_jobs().await.unwrap();
    let first = r.daily_report.expect("the report is due at 22:00");
    assert!(
        app.services
            .run_jobs()
            .await
            .unwrap()
            .daily_report
            .is_none()
    );
    // Sessions last hours; sign in again whenever the clock jumps.
    let command = app.login_as("command", "330784").await;
    let (s, d0) = app.get(&command, "/api/v1/dashboard/330784").await;
    assert_eq!(s, 200, "{d0}");
    assert_eq!(fig(tile(&d0, TOWN_A), "arrivals_today"), 3);
    assert_eq!(fig(tile(&d0, TOWN_B), "arrivals_today"), 3);

    // Day 1: deadlines pass, work escalates, yesterday's tests are missed.
    at(&app, day(1), 12);
    app.services.run_jobs().await.unwrap();
    let command = app.login_as("command", "330784").await;
    let (_, d1) = app.get(&command, "/api/v1/dashboard/330784").await;
    let (a, b) = (tile(&d1, TOWN_A), tile(&d1, TOWN_B));
    assert_eq!(fig(a, "arrivals_today"), 0);
    assert_eq!(fig(a, "arrivals_14d"), 3);
    assert_eq!(fig(b, "positives"), 1, "{b}");
    assert_eq!(fig(a, "help_waiting"), 1);
    assert_eq!(fig(a, "tasks_closed_in_time"), 1);
    assert!(fig(a, "tasks_due") > 1, "{a}");
    assert!(fig(b, "tasks_overdue") >= 1, "{b}");
    assert!(fig(b, "tasks_escalated") >= 1, "{b}");
    assert!(fig(a, "tests_yesterday") >= 1, "{a}");
    assert!(fig(a, "tests_missed") >= 1, "{a}");
    assert_eq!(
        a["lag"], "far_behind",
        "help waiting and a low closure rate: {a}"
    );
    let cats: Vec<&str> = d1["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(cats.len() >= 2, "several categories: {cats:?}");
    assert_eq!(d1["trend"].as_array().unwrap().len(), 30);
    assert!(d1["trend"][28]["figures"].is_object(), "day 0's snapshot");
    assert!(d1["trend"][27]["figures"].is_null());

    // The core: each number equals the length of its list.
    let checked = numbers_equal_lists(&app, &command, "330784").await;
    assert!(checked >= 20, "only {checked} non-zero numbers");
    let town = app.login_as("town", TOWN_A).await;
    assert!(numbers_equal_lists(&app, &town, TOWN_A).await >= 10);
    assert!(numbers_equal_lists(&app, &town, VILLAGE_A).await >= 10);

    // Scope: a town sees its own dashboard, never the other town's or the city's.
    for path in [
        format!("/api/v1/dashboard/{TOWN_B}"),
        "/api/v1/dashboard/330784".to_string(),
        format!("/api/v1/dashboard/{VILLAGE_B}/lists/tasks_open"),
        format!("/api/v1/dashboard/{TOWN_B}/lists/tasks_open/xlsx"),
    ] {
        assert_eq!(app.get(&town, &path).await.0, 404, "{path}");
    }
    let worker = app.login_as("grid_worker", "330784001001001").await;
    assert_eq!(
        app.get(&worker, "/api/v1/dashboard/330784001001").await.0,
        403
    );
    assert_eq!(app.get(&town, "/api/v1/daily-reports").await.0, 403);

    // The list exported: the same rows, names and documents masked, audited.
    let (_, list) = app
        .get(
            &town,
            &format!("/api/v1/dashboard/{TOWN_A}/lists/under_control"),
        )
        .await;
    let (s, bytes) = get_bytes(
        &app,
        &town,
        &format!("/api/v1/dashboard/{TOWN_A}/lists/under_control/xlsx"),
    )
    .await;
    assert_eq!(s, 200);
    let rows = sheet(&bytes, "看板清单");
    assert_eq!(rows.len() as i64, list["total"].as_i64().unwrap() + 1);
    assert_eq!(text(&rows[0][1]), "姓名");
    for r in &rows[1..] {
        assert!(text(&r[1]).contains('*'), "masked name: {r:?}");
        assert!(text(&r[2]).contains("****"), "masked number: {r:?}");
        assert!(text(&r[3]).starts_with(TOWN_A));
    }
    let exported: i64 =
        sqlx::query("SELECT COUNT(*) FROM events WHERE kind = 'dashboard_exported'")
            .fetch_one(app.services.db.pool())
            .await
            .unwrap()
            .get(0);
    assert_eq!(exported, 1);

    // Day 1, 22:00: the second report, compared with day 0's.
    at(&app, day(1), 22);
    let second = app.services.run_jobs().await.unwrap().daily_report.unwrap();
    let command = app.login_as("command", "330784").await;
    let (_, d1) = app.get(&command, "/api/v1/dashboard/330784").await;
    let (_, list) = app.get(&command, "/api/v1/daily-reports").await;
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![second, first], "past reports, newest first");
    let (s, bytes) = get_bytes(
        &app,
        &command,
        &format!("/api/v1/daily-reports/{second}/xlsx"),
    )
    .await;
    assert_eq!(s, 200);
    let rows = sheet(&bytes, "日报");
    assert_eq!(text(&rows[0][0]), "永康市疫情防控日报 2022-01-29");
    let head: Vec<String> = rows[1].iter().map(text).collect();
    let col = |zh: &str| head.iter().position(|h| h == zh).unwrap();
    assert_eq!(head[0], "镇街");
    assert_eq!(head[col("超时任务") + 1], "较昨日");
    let figures = [
        ("今日抵达（到达日期）", "arriving_today"),
        ("今日报备（收到日期）", "arrivals_today"),
        ("14天来返", "arrivals_14d"),
        ("在管人数", "under_control"),
        ("阳性", "positives"),
        ("今日应检", "tests_due"),
        ("今日已检", "tests_done"),
        ("漏检", "tests_missed"),
        ("未办结任务", "tasks_open"),
        ("超时任务", "tasks_overdue"),
        ("已上报任务", "tasks_escalated"),
        ("待办求助", "help_waiting"),
    ];
    let mut changed = 0;
    for code in [TOWN_A, TOWN_B] {
        let row = rows
            .iter()
            .find(|r| r.len() > 1 && text(&r[1]) == code)
            .unwrap_or_else(|| panic!("a row for {code}"));
        assert_eq!(text(&row[0]), tile(&d1, code)["name"].as_str().unwrap());
        for (zh, key) in figures {
            let (today, before) = (fig(tile(&d1, code), key), fig(tile(&d0, code), key));
            let c = col(zh);
            assert_eq!(row[c], Data::Float(today as f64), "{code} {zh}");
            assert_eq!(
                row[c + 1],
                Data::Float((today - before) as f64),
                "{code} {zh} 较昨日"
            );
            if today != before {
                changed += 1;
            }
        }
        let rate = |d: &Value| {
            let t = tile(d, code);
            let due = fig(t, "tasks_due");
            (due > 0)
                .then(|| ((fig(t, "tasks_closed_in_time") * 1000 + due / 2) / due) as f64 / 10.0)
        };
        let c = col("闭环率%");
        match rate(&d1) {
            Some(r) => assert_eq!(row[c], Data::Float(r), "{code} 闭环率"),
            None => assert_eq!(row[c], Data::Empty),
        }
    }
    assert!(changed >= 3, "the change since yesterday shows: {changed}");
    let total = rows.last().unwrap();
    assert_eq!(text(&total[0]), "合计");
    let overdue = sheet(&bytes, "超时任务");
    let town_b_name = tile(&d1, TOWN_B)["name"].as_str().unwrap().to_string();
    assert_eq!(
        overdue
            .iter()
            .skip(1)
            .filter(|r| text(&r[0]) == town_b_name)
            .count() as i64,
        fig(tile(&d1, TOWN_B), "tasks_overdue")
    );
    assert_eq!(
        sheet(&bytes, "未反馈指令").len(),
        1,
        "a header, for instructions"
    );
    // Each town's overdue tasks stand together, as the report lists them per town.
    let mut towns_seen: Vec<String> = Vec::new();
    for r in overdue.iter().skip(1) {
        let t = text(&r[0]);
        if towns_seen.last() != Some(&t) {
            assert!(!towns_seen.contains(&t), "{t} appears in two blocks");
            towns_seen.push(t);
        }
    }

    // The printable page and the list of past reports, as pages.
    let cookie = format!("bihuan_session={command}");
    for path in [format!("/reports/{second}"), "/reports".to_string()] {
        let r = app
            .http
            .get(app.url(&path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains("2022-01-29"), "{path}");
        if path == "/reports" {
            assert!(html.contains(&format!("/reports/{first}")));
        } else {
            assert!(html.contains(&town_b_name));
            assert!(
                html.contains("id=\"watermark\"") && html.contains("打印人："),
                "the printout names who printed it"
            );
        }
    }
    let printed: i64 =
        sqlx::query("SELECT COUNT(*) FROM events WHERE kind = 'daily_report_printed'")
            .fetch_one(app.services.db.pool())
            .await
            .unwrap()
            .get(0);
    assert_eq!(printed, 1, "printing is audited");
    // The dashboard pages render for the city and a town.
    for path in [
        "/dashboard/330784".to_string(),
        format!("/dashboard/{TOWN_A}"),
    ] {
        let r = app
            .http
            .get(app.url(&path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains("<svg"), "{path}: charts");
        assert!(
            html.contains("http-equiv=\"refresh\""),
            "{path}: noscript refresh"
        );
    }
}

#[tokio::test]
async fn the_command_makes_a_report_on_demand() {
    let app = spawn().await;
    let command = seed(&app).await;
    let (s, r) = app.post(&command, "/api/v1/daily-reports", json!({})).await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    let (_, rep) = app
        .get(&command, &format!("/api/v1/daily-reports/{id}"))
        .await;
    assert_eq!(rep["body"]["origin"], "manual");
    assert_eq!(rep["body"]["total"]["today"]["arrivals_today"], 6);
    assert!(
        rep["body"]["total"]["yesterday"].is_null(),
        "no snapshot yesterday"
    );
    assert!(rep["body"]["unanswered_instructions"].is_array());
    let town = app.login_as("town", TOWN_A).await;
    assert_eq!(
        app.post(&town, "/api/v1/daily-reports", json!({})).await.0,
        403
    );
}

#[tokio::test]
async fn the_boards_show_a_snapshot_at_most_two_refresh_periods_old() {
    let app = spawn_with(|s| s.dashboard_refresh_seconds = 60).await;
    let command = seed(&app).await;
    let arrivals = |d: &Value| fig(&d["total"], "arrivals_today");
    let board = "/api/v1/dashboard/330784";
    let (_, d) = app.get(&command, board).await;
    let taken = d["at"].as_i64().unwrap();
    assert_eq!(taken, app.clock.now().timestamp());
    assert_eq!(arrivals(&d), 6);

    // A new arrival: the boards keep the snapshot, the list is live.
    let (s, _) = app
        .declare(arrival(
            7,
            VILLAGE_A,
            json!({"county": "110105"}),
            "2022-01-27",
        ))
        .await;
    assert_eq!(s, 201);
    app.clock.advance(Duration::seconds(30));
    let (_, d) = app.get(&command, board).await;
    assert_eq!((arrivals(&d), d["at"].as_i64().unwrap()), (6, taken));
    let (_, l) = app
        .get(&command, "/api/v1/dashboard/330784/lists/arrivals_today")
        .await;
    assert_eq!(l["total"], 7);

    // The refresher's tick recounts while someone watches.
    assert!(app.services.refresh_dashboards().await.unwrap());
    let (_, d) = app.get(&command, &format!("{board}/live")).await;
    assert_eq!(arrivals(&d), 7);
    assert_eq!(d["at"].as_i64().unwrap(), taken + 30);

    // Without the refresher, a request past two periods recounts itself.
    let (s, _) = app
        .declare(arrival(
            8,
            VILLAGE_B,
            json!({"county": "110105"}),
            "2022-01-27",
        ))
        .await;
    assert_eq!(s, 201);
    app.clock.advance(Duration::seconds(121));
    let command = app.login_as("command", "330784").await;
    let (_, d) = app.get(&command, board).await;
    assert_eq!(arrivals(&d), 8);
    assert_eq!(fig(tile(&d, TOWN_B), "arrivals_today"), 4);

    // A new day never shows yesterday's "today", however young the snapshot.
    at(&app, day(0), 23);
    app.clock
        .advance(Duration::minutes(59) + Duration::seconds(50));
    let command = app.login_as("command", "330784").await;
    let (_, d) = app.get(&command, board).await;
    assert_eq!(arrivals(&d), 8);
    app.clock.advance(Duration::seconds(20));
    let (_, d) = app.get(&command, board).await;
    assert_eq!(arrivals(&d), 0, "a new day");
    assert_eq!(fig(&d["total"], "arrivals_14d"), 8);

    // Nobody watching: the refresher rests.
    app.clock.advance(Duration::seconds(121));
    assert!(!app.services.refresh_dashboards().await.unwrap());
}

/// The rows of `town`'s 今日应检 list.
async fn tests_due(app: &TestApp, token: &str, town: &str) -> Vec<Value> {
    let (s, l) = app
        .get(token, &format!("/api/v1/dashboard/{town}/lists/tests_due"))
        .await;
    assert_eq!(s, 200, "{l}");
    l["rows"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_move_in_the_same_second_reaches_the_tests_figures() {
    let app = spawn().await;
    let command = seed(&app).await;
    // The clock stands still: the move below carries the same second as
    // everything before it, so only a careful cache notices it.
    let in_a = tests_due(&app, &command, TOWN_A).await;
    let tasks = tasks_of(&app, &command).await;
    let (person, task) = in_a
        .iter()
        .find_map(|r| {
            tasks
                .iter()
                .find(|t| t["person_id"] == r["person_id"] && t["state"] != "closed")
                .map(|t| (r["person_id"].as_i64().unwrap(), t.clone()))
        })
        .expect("someone in town A with a test due today and an open task");
    let worker = app
        .login_as("grid_worker", task["region"].as_str().unwrap())
        .await;
    if task["state"] == "dispatched" {
        let (s, r) = app
            .post(
                &worker,
                &format!("/api/v1/tasks/{}/ack", task["id"]),
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
    }
    let (s, r) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{}/report", task["id"]),
            json!({"outcome": "moved", "note": "已搬家", "village": VILLAGE_B, "address": "新址2号"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let moved_to = |rows: &[Value]| {
        rows.iter()
            .find(|r| r["person_id"] == person)
            .map(|r| r["region"].as_str().unwrap().to_string())
    };
    assert_eq!(
        moved_to(&tests_due(&app, &command, TOWN_A).await),
        None,
        "no longer in town A"
    );
    let in_b = moved_to(&tests_due(&app, &command, TOWN_B).await).expect("now due in town B");
    assert!(in_b.starts_with(VILLAGE_B), "{in_b}");
}

#[tokio::test]
async fn a_changed_plan_is_read_again_and_an_unchanged_one_is_kept() {
    let app = spawn().await;
    let command = seed(&app).await;
    let ids = |rows: Vec<Value>| -> Vec<i64> {
        rows.iter()
            .map(|r| r["person_id"].as_i64().unwrap())
            .collect()
    };
    let before = ids(tests_due(&app, &command, TOWN_A).await);
    assert!(before.len() >= 2, "{before:?}");
    let (changed, kept) = (before[0], before[1]);
    // Plans read in the second they were written are read again once
    // (they might have changed within it); after that they are kept.
    app.clock.advance(Duration::seconds(60));
    assert_eq!(ids(tests_due(&app, &command, TOWN_A).await), before);
    // A minute on, one control's plan changes (today is no longer a test
    // day), stamped with the time of the change as every write does.
    app.clock.advance(Duration::seconds(60));
    let db = app.services.db.pool();
    let stored: String = sqlx::query("SELECT assessment FROM controls WHERE person_id = $1")
        .bind(changed)
        .fetch_one(db)
        .await
        .unwrap()
        .get(0);
    let mut plan: Value = serde_json::from_str(&stored).unwrap();
    plan["plan"]["test_days"]
        .as_array_mut()
        .unwrap()
        .retain(|d| d["date"] != "2022-01-28");
    sqlx::query("UPDATE controls SET assessment = $1, updated_at = $2 WHERE person_id = $3")
        .bind(plan.to_string())
        .bind(app.clock.now().timestamp())
        .bind(changed)
        .execute(db)
        .await
        .unwrap();
    app.clock.advance(Duration::seconds(60));
    let parsed = app.services.dashboard_plans_parsed();
    let after = ids(tests_due(&app, &command, TOWN_A).await);
    assert_eq!(
        app.services.dashboard_plans_parsed() - parsed,
        1,
        "only the changed plan is parsed again"
    );
    assert!(!after.contains(&changed), "the new plan is read: {after:?}");
    assert!(after.contains(&kept), "{after:?}");
    assert_eq!(after.len(), before.len() - 1);
}

#[tokio::test]
async fn arrivals_by_arrival_date_and_by_received_date_are_both_shown() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let origin = json!({"county": "110106", "township": "110106003"});
    // Both declared on 01-28: one arrives that day, one the next.
    let mut a = arrival(1, VILLAGE_A, origin.clone(), "2022-01-26");
    a["arrival"]["date"] = json!("2022-01-28");
    let mut b = arrival(2, VILLAGE_A, origin, "2022-01-26");
    b["arrival"]["date"] = json!("2022-01-29");
    for d in [a, b] {
        let (s, r) = app.declare(d).await;
        assert_eq!(s, 201, "{r}");
    }
    let (_, d) = app.get(&command, "/api/v1/dashboard/330784").await;
    assert_eq!(fig(&d["total"], "arrivals_today"), 2, "received today");
    assert_eq!(fig(&d["total"], "arriving_today"), 1, "arriving today");
    assert!(numbers_equal_lists(&app, &command, "330784").await > 0);
    // The grid worker's 今日报备 names their own grid's declarations.
    let worker = app.login_as("grid_worker", "330784001001001").await;
    let (s, o) = app.get(&worker, "/api/v1/overview").await;
    assert_eq!(s, 200, "{o}");
    let today: i64 = o["declarations_today"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[3].as_i64().unwrap())
        .sum();
    assert_eq!(today, 2, "{o}");

    at(&app, day(1), 10);
    let command = app.login_as("command", "330784").await;
    let (_, d) = app.get(&command, "/api/v1/dashboard/330784").await;
    assert_eq!(fig(&d["total"], "arrivals_today"), 0);
    assert_eq!(
        fig(&d["total"], "arriving_today"),
        1,
        "the second arrives today"
    );
    assert!(numbers_equal_lists(&app, &command, "330784").await > 0);
}
