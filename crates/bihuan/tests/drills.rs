//! 应急演练: the seed's scenario run as a drill through the real intake
//! paths, the front line answering at known times, the after-action report's
//! times checked step by step; drill records kept out of the health-code
//! feed, the dashboards and SMS; the purge leaving no trace but the report.

mod support;

use bihuan::clock::Clock;
use bihuan::drill_run;
use bihuan_domain::drill::{DrillScript, SEED_SCRIPT, synthetic_resident_id};
use serde_json::{Value, json};
use support::{count, declaration, spawn, with_xiluoyuan};

const MIN: i64 = 60;
const HOUR: i64 = 3600;
const GRID: &str = "330784001001001";

fn thread<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["report"]["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["thread"] == name)
        .unwrap_or_else(|| panic!("no thread {name} in {report}"))
}

fn step<'a>(t: &'a Value, name: &str) -> &'a Value {
    t["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap()
}

fn summary<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["report"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap()
}

/// The open tasks of a person, as the grid worker's list shows them.
async fn tasks_of(app: &support::TestApp, token: &str, person: i64) -> Vec<i64> {
    let (s, tasks) = app.get(token, "/api/v1/tasks").await;
    assert_eq!(s, 200, "{tasks}");
    tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["person_id"] == person)
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_seed_scenario_as_a_drill_measures_each_step_and_purges_clean() {
    let app = spawn().await;
    let command = with_xiluoyuan(&app).await;
    let worker = app.login_as("grid_worker", GRID).await;
    // A real arrival from the same risk area, declared the same hour.
    let (s, real) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{real}");
    let t0 = app.clock.timestamp();

    // Only the command starts drills; a bad script stores nothing.
    let town = app.login_as("town", "330784001").await;
    let body = json!({ "script": SEED_SCRIPT });
    assert_eq!(app.post(&town, "/api/v1/drills", body.clone()).await.0, 403);
    let (s, bad) = app
        .post(
            &command,
            "/api/v1/drills",
            json!({"script": SEED_SCRIPT.replace("decision = \"transfer\"", "")}),
        )
        .await;
    assert_eq!(s, 422, "{bad}");
    assert_eq!(bad["errors"][0]["field"], "script", "{bad}");
    let outside = SEED_SCRIPT.replacen("330784001001", "330702001001", 1);
    let (s, _) = app
        .post(&command, "/api/v1/drills", json!({ "script": outside }))
        .await;
    assert_eq!(s, 422, "a village outside the command's city is refused");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM drills").await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM persons WHERE drill_id IS NOT NULL"
        )
        .await,
        0
    );

    let (s, started) = app.post(&command, "/api/v1/drills", body).await;
    assert_eq!(s, 201, "{started}");
    let id = started["id"].as_i64().unwrap();
    let person = |name: &str| {
        started["threads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["thread"] == name)
            .map(|t| {
                assert_eq!(t["injected"], true, "{t}");
                t["person_id"].as_i64().unwrap()
            })
            .unwrap()
    };
    let (returnee, pharmacy, station, cold) = (
        person("returnee"),
        person("pharmacy_fever"),
        person("station_red_code"),
        person("cold_chain"),
    );
    // Each path made what a real signal makes: a declaration, a purchase
    // with its transfer task, a passage with its pickup.
    // And the positive batch: the market sealed (a task of the drill), the
    // market's worker on a 协查 list with a task at their grid.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM tasks WHERE kind = 'seal' AND drill_id IS NOT NULL"
        )
        .await,
        1
    );
    let n = count(
        &app,
        &format!("SELECT COUNT(*) FROM tasks WHERE person_id = {cold}"),
    )
    .await;
    assert!(n >= 1, "the exposed worker was sent a task");
    for (table, who) in [
        ("declarations", returnee),
        ("pharmacy_purchases", pharmacy),
        ("checkpoint_travellers", station),
    ] {
        let n = count(
            &app,
            &format!("SELECT COUNT(*) FROM {table} WHERE person_id = {who}"),
        )
        .await;
        assert_eq!(n, 1, "{table}");
    }

    // The front line answers the returnee in time, the station late and
    // the pharmacy not at all.
    app.clock.advance(chrono::Duration::minutes(30));
    let returnee_tasks = tasks_of(&app, &worker, returnee).await;
    assert!(
        !returnee_tasks.is_empty(),
        "the drill's task reached the grid"
    );
    for t in &returnee_tasks {
        let (s, v) = app
            .post(&worker, &format!("/api/v1/tasks/{t}/ack"), json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
    }
    app.clock.advance(chrono::Duration::minutes(150)); // +3h
    for t in &returnee_tasks {
        let (s, v) = app
            .post(
                &worker,
                &format!("/api/v1/tasks/{t}/report"),
                json!({"outcome": "verified", "note": "演练"}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    for t in tasks_of(&app, &worker, station).await {
        let (s, v) = app
            .post(&worker, &format!("/api/v1/tasks/{t}/ack"), json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
    }
    app.advance_hours(3); // +6h
    let (s, v) = app
        .post(
            &worker,
            "/api/v1/tests",
            json!({"person_id": returnee, "sampled_at": "2022-01-28T16:00:00+08:00", "result": "negative"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    app.advance_hours(18); // +24h: sessions of a day ago have lapsed
    let village = app.login_as("village", "330784001001").await;
    let command = app.login_as("command", "330784").await;
    for t in &returnee_tasks {
        let (s, v) = app
            .post(&village, &format!("/api/v1/tasks/{t}/close"), json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
    }
    app.services.run_jobs().await.unwrap();

    let (s, report) = app
        .get(&command, &format!("/api/v1/drills/{id}/report"))
        .await;
    assert_eq!(s, 200, "{report}");
    let r = thread(&report, "returnee");
    assert_eq!(r["signal_at"], t0);
    let took = |t: &Value, name: &str| step(t, name)["took"].as_i64();
    assert_eq!(took(r, "acknowledged"), Some(30 * MIN));
    assert_eq!(took(r, "controlled"), Some(150 * MIN));
    assert_eq!(took(r, "tested"), Some(3 * HOUR));
    assert_eq!(took(r, "closed"), Some(18 * HOUR));
    assert_eq!(r["total"], 24 * HOUR);
    for s in ["acknowledged", "controlled", "tested", "closed"] {
        assert_eq!(step(r, s)["verdict"], "met", "{s}");
    }
    let st = thread(&report, "station_red_code");
    assert_eq!(took(st, "acknowledged"), Some(3 * HOUR));
    assert_eq!(step(st, "acknowledged")["verdict"], "missed");
    let ph = thread(&report, "pharmacy_fever");
    assert_eq!(step(ph, "acknowledged")["verdict"], "overdue");
    let ack = summary(&report, "acknowledged");
    assert_eq!(
        (
            ack["met"].as_i64(),
            ack["missed"].as_i64(),
            ack["overdue"].as_i64()
        ),
        (Some(1), Some(1), Some(2))
    );
    assert_eq!(report["report"]["bottleneck"], "acknowledged");

    // Never in the health-code feed, the dashboards or the SMS outbox.
    let feed_token = app
        .services
        .add_api_token("zj-health-code", "health_codes")
        .await
        .unwrap();
    let (s, feed) = app
        .get(&feed_token, "/api/v1/health-codes?changed_since=0")
        .await;
    assert_eq!(s, 200, "{feed}");
    let ids: Vec<&str> = feed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id_number"].as_str())
        .collect();
    assert!(
        ids.contains(&"11010519491231002X"),
        "the real arrival is fed: {feed}"
    );
    let synthetic: Vec<String> = (0..4)
        .map(|n| synthetic_resident_id("330784", n).unwrap())
        .collect();
    assert!(
        ids.iter().all(|i| !synthetic.iter().any(|s| s == i)),
        "no drill person is fed: {feed}"
    );
    let drill_codes = count(
        &app,
        "SELECT COUNT(*) FROM health_codes h JOIN persons p ON p.id = h.person_id
         WHERE p.drill_id IS NOT NULL",
    )
    .await;
    assert!(
        drill_codes > 0,
        "the drill's people do have colours, kept unfed"
    );
    let (s, board) = app.get(&command, "/api/v1/dashboard/330784001").await;
    assert_eq!(s, 200, "{board}");
    let tile = board["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "330784001001" && t["direct"] == false)
        .unwrap();
    assert_eq!(
        tile["figures"]["arrivals_14d"], 1,
        "only the real arrival: {tile}"
    );
    let all_declared = count(&app, "SELECT COUNT(*) FROM declarations").await;
    assert!(
        all_declared >= 3,
        "the drill's declarations exist: {all_declared}"
    );
    let real_open = count(
        &app,
        "SELECT COUNT(*) FROM tasks WHERE drill_id IS NULL AND state <> 'closed'
         AND region LIKE '330784001001%'",
    )
    .await;
    assert_eq!(
        tile["figures"]["tasks_open"].as_i64().unwrap_or(0),
        real_open
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM notifications n JOIN persons p ON p.id = n.person_id
             WHERE p.drill_id IS NOT NULL AND n.state <> 'drill'",
        )
        .await,
        0,
        "nothing is queued to a drill's person"
    );

    // Purge: nothing of the drill is left, the real arrival is, and the
    // report is kept as it was at the end.
    let (s, purged) = app
        .post(&command, &format!("/api/v1/drills/{id}/purge"), json!({}))
        .await;
    assert_eq!(s, 200, "{purged}");
    assert_eq!(purged["records"], json!([0, 0, 0]));
    assert_eq!(purged["report"], report["report"]);
    for sql in [
        "SELECT COUNT(*) FROM persons WHERE drill_id IS NOT NULL",
        "SELECT COUNT(*) FROM tasks WHERE drill_id IS NOT NULL",
        "SELECT COUNT(*) FROM venues WHERE name LIKE '【演练%'",
        "SELECT COUNT(*) FROM checkpoint_passages",
        "SELECT COUNT(*) FROM pharmacy_purchases",
    ] {
        assert_eq!(count(&app, sql).await, 0, "{sql}");
    }
    for sql in [
        "SELECT COUNT(*) FROM goods_holders",
        "SELECT COUNT(*) FROM goods_batches",
        "SELECT COUNT(*) FROM trace_backs",
        "SELECT COUNT(*) FROM employers WHERE name LIKE '【演练%'",
        "SELECT COUNT(*) FROM workers",
    ] {
        assert_eq!(count(&app, sql).await, 0, "{sql}");
    }
    for who in [returnee, pharmacy, station, cold] {
        let n = count(
            &app,
            &format!("SELECT COUNT(*) FROM events WHERE person_id = {who}"),
        )
        .await;
        assert_eq!(n, 0, "the drill's event log is gone");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM declarations").await, 1);
    let (s, kept) = app
        .get(&command, &format!("/api/v1/drills/{id}/report"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(kept["report"], report["report"]);
    assert_eq!(
        app.post(&command, &format!("/api/v1/drills/{id}/purge"), json!({}))
            .await
            .0,
        409,
        "purged once"
    );
    assert_eq!(
        app.get(&command, "/api/v1/drills/99999/report").await.0,
        404
    );
    let (s, list) = app.get(&command, "/api/v1/drills").await;
    assert_eq!(s, 200);
    assert_eq!(list[0]["id"], id);
    assert!(list[0]["purged_at"].is_i64());
}

#[tokio::test]
async fn drill_run_plays_the_scripted_front_line_and_reports_its_times() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let script = drill_run::scaled(&DrillScript::parse(SEED_SCRIPT).unwrap(), 2);
    assert_eq!(script.threads.len(), 8);
    let actor = bihuan::usecases::Actor {
        user_id: 0,
        username: "cli".into(),
        role: bihuan_domain::access::Role::Command,
        region: bihuan_domain::regions::RegionCode::parse("330784", "region").unwrap(),
        csrf: String::new(),
    };
    let out = drill_run::run(&app.services, &app.clock, &actor, &script, false)
        .await
        .unwrap();
    assert_eq!(out.errors, Vec::<String>::new());
    assert_eq!((out.threads, out.injected), (8, 8));
    assert_eq!(out.report.threads.len(), 8);
    // The returnee's scripted answers: ack 30, report 180, test 360, close 1440.
    let r = out
        .report
        .threads
        .iter()
        .find(|t| t.thread == "returnee#1")
        .unwrap();
    let took: Vec<Option<i64>> = r.steps.iter().map(|s| s.took).collect();
    assert_eq!(
        took,
        [
            Some(0),
            Some(30 * MIN),
            Some(150 * MIN),
            Some(180 * MIN),
            Some(1080 * MIN)
        ]
    );
    let ack = out
        .report
        .steps
        .iter()
        .find(|s| s.step == "acknowledged")
        .unwrap();
    assert_eq!((ack.met, ack.missed, ack.overdue), (8, 0, 0));
    assert_eq!(ack.worst, Some(60 * MIN));
    // The positive batch: signalled when it went in, the seal task taken
    // at 60, reported at 100, the worker tested at 600, all closed at 1440.
    let cold = out
        .report
        .threads
        .iter()
        .find(|t| t.thread == "cold_chain#1")
        .unwrap();
    let took: Vec<Option<i64>> = cold.steps.iter().map(|s| s.took).collect();
    assert_eq!(
        took,
        [
            Some(0),
            Some(60 * MIN),
            Some(40 * MIN),
            Some(500 * MIN),
            Some(840 * MIN)
        ]
    );
    // Purged: no drill person is left.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM persons WHERE drill_id IS NOT NULL"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn the_command_runs_a_drill_from_its_pages() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let command = app.sign_in_page("command", "330784").await;
    let town = app.sign_in_page("town", "330784001").await;
    assert_eq!(app.page("/drills", &town).await.0, 403);

    let (s, html) = app.page("/drills", &command).await;
    assert_eq!(s, 200);
    assert!(html.contains("station_red_code"), "the seed is filled in");
    let csrf = support::csrf_of(&html);

    // A typo names its line, keeps what was typed, stores nothing.
    let typo = SEED_SCRIPT.replace("kind = \"functional\"", "kind = \"functional\"\nkinds = 1");
    let r = app
        .post_page(
            "/drills",
            &command,
            &[("csrf", csrf.clone()), ("script", typo.clone())],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("第 6 行"), "{body}");
    assert!(body.contains("kinds = 1"), "what was typed is kept");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM drills").await, 0);

    let r = app
        .post_page(
            "/drills",
            &command,
            &[("csrf", csrf.clone()), ("script", SEED_SCRIPT.into())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = support::location(&r);
    let (s, report) = app.page(&to, &command).await;
    assert_eq!(s, 200, "{report}");
    for thread in ["returnee", "pharmacy_fever", "station_red_code"] {
        assert!(report.contains(thread), "{thread} in the report");
    }
    assert!(report.contains("签收") && report.contains("闭环"));
    assert!(report.contains("4 / "), "four drill people: {report}");

    // The front line sees an announced drill's tasks badged 演练; a blind
    // drill's look like any other.
    let worker = app.sign_in_page("grid_worker", GRID).await;
    let badges = |html: &str| html.matches("badge drill").count();
    let (_, tasks) = app.page("/tasks", &worker).await;
    let announced = badges(&tasks);
    assert!(announced > 0, "{tasks}");
    let cards = |html: &str| html.matches("<article class=\"task").count();
    let before = cards(&tasks);
    let api = app.login_as("command", "330784").await;
    let blind = SEED_SCRIPT.replace("announced = true", "announced = false");
    assert_eq!(
        app.post(&api, "/api/v1/drills", json!({ "script": blind }))
            .await
            .0,
        201
    );
    let (_, tasks) = app.page("/tasks", &worker).await;
    assert!(cards(&tasks) > before, "the blind drill's tasks are there");
    assert_eq!(badges(&tasks), announced, "and carry no badge");
    // The town's 预警: the febrile yellow-code buyer of each drill alerted;
    // only the announced drill's alert is badged.
    let (s, alerts) = app.page("/alerts", &town).await;
    assert_eq!(s, 200);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM alerts WHERE drill_id IS NOT NULL"
        )
        .await,
        2
    );
    assert_eq!(badges(&alerts), 1, "{alerts}");

    // Purging asks for the box first.
    let purge = format!("{to}/purge");
    let r = app
        .post_page(&purge, &command, &[("csrf", csrf.clone())])
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM persons WHERE drill_id IS NOT NULL"
        )
        .await,
        8
    );
    let r = app
        .post_page(&purge, &command, &[("csrf", csrf), ("confirm", "1".into())])
        .await;
    assert_eq!(r.status(), 303);
    let (_, after) = app.page(&to, &command).await;
    assert!(after.contains("已清除"), "{after}");
    assert!(after.contains("0 / 0 / 0"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM persons WHERE drill_id IS NOT NULL"
        )
        .await,
        4,
        "the blind drill's people stay"
    );
}
