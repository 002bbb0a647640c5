//! 流调溯源: venue approval, check-ins with each banner colour, scanner
//! batches, a case, its candidates with evidence, and the team's decisions
//! bringing people into the loop (or handing them over).

mod support;

use serde_json::{Value, json};
use sqlx::Row;
use support::{TestApp, count, declaration, resident_id, spawn};

const VILLAGE: &str = "330784001001";
const GRID: &str = "330784001001001";

/// A village registers, the town approves: returns the venue's code.
async fn approved_venue(
    app: &TestApp,
    village: &str,
    town: &str,
    name: &str,
    kind: &str,
) -> String {
    let (s, v) = app
        .post(
            village,
            "/api/v1/venues",
            json!({"name": name, "kind": kind, "region": VILLAGE, "address": "园丁路8号"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post(
            town,
            &format!("/api/v1/venues/{}/approve", v["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["code"].as_str().unwrap().to_string()
}

async fn visit(app: &TestApp, code: &str, body: Value) -> (u16, Value) {
    app.post("", &format!("/api/v1/venue-codes/{code}/visits"), body)
        .await
}

#[tokio::test]
async fn a_venue_is_approved_by_its_town_once() {
    let app = spawn().await;
    let village = app.login_as("village", VILLAGE).await;
    let grid = app.login_as("grid_worker", GRID).await;
    let other_town = app.login_as("town", "330784002").await;
    let town = app.login_as("town", "330784001").await;
    let (s, e) = app
        .post(
            &village,
            "/api/v1/venues",
            json!({"name": "", "kind": "casino", "region": "330784002001", "address": "x"}),
        )
        .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "kind", "region"], "{e}");
    assert!(
        e["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("场所类型")
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM venues").await,
        0,
        "nothing half-written"
    );
    let (s, v) = app
        .post(&village, "/api/v1/venues", json!({"name": "园丁超市", "kind": "supermarket", "region": VILLAGE, "address": "园丁路8号"}))
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "pending");
    let code = v["code"].as_str().unwrap().to_string();
    let id = v["id"].as_i64().unwrap();
    // Not yet approved: the code opens nothing.
    let me = json!({"id_number": resident_id(1), "name": "李四", "phone": "13900000001"});
    assert_eq!(visit(&app, &code, me.clone()).await.0, 404);
    assert_eq!(
        app.post(&grid, &format!("/api/v1/venues/{id}/approve"), json!({}))
            .await
            .0,
        403
    );
    assert_eq!(
        app.post(
            &other_town,
            &format!("/api/v1/venues/{id}/approve"),
            json!({})
        )
        .await
        .0,
        404
    );
    let (s, v) = app
        .post(&town, &format!("/api/v1/venues/{id}/approve"), json!({}))
        .await;
    assert_eq!((s, v["state"].as_str()), (200, Some("approved")));
    let (s, e) = app
        .post(&town, &format!("/api/v1/venues/{id}/reject"), json!({}))
        .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("decided")));
    assert_eq!(visit(&app, &code, me).await.0, 201);
    // A forged signature is no code at all.
    let forged = format!("{}0", &code[..code.len() - 1]);
    let forged = if forged == code {
        format!("{}1", &code[..code.len() - 1])
    } else {
        forged
    };
    let me = json!({"id_number": resident_id(1), "name": "李四", "phone": "13900000001"});
    assert_eq!(visit(&app, &forged, me).await.0, 404);
}

#[tokio::test]
async fn check_ins_show_green_yellow_and_red_and_helpers_scan_for_others() {
    let app = spawn().await;
    let village = app.login_as("village", VILLAGE).await;
    let town = app.login_as("town", "330784001").await;
    let code = approved_venue(&app, &village, &town, "园丁超市", "supermarket").await;

    // Green: first time with document and phone; then one tap from the device.
    let (s, v) = visit(
        &app,
        &code,
        json!({"id_number": resident_id(7), "name": "王五", "phone": "13900000007"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (v["colour"].as_str(), v["banner_zh"].as_str()),
        (Some("green"), Some("绿码通行"))
    );
    assert_eq!(v["person_name"], "王*");
    let device = v["device"].as_str().unwrap().to_string();
    let (s, again) = visit(&app, &code, json!({"device": device})).await;
    assert_eq!((s, again["colour"].as_str()), (201, Some("green")));
    // The same document with another phone is not them: the neutral refusal
    // (which field differs is not said).
    let (s, e) = visit(
        &app,
        &code,
        json!({"id_number": resident_id(7), "name": "王五", "phone": "13900000008"}),
    )
    .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("visitor_refused")));

    // Yellow and red: people under home observation and quarantine.
    let mut yellow = declaration();
    yellow["id_number"] = json!(resident_id(8));
    yellow["phone"] = json!("13900000009");
    yellow["health_code"] = json!("yellow");
    assert_eq!(app.declare(yellow).await.0, 201);
    let (_, y) = visit(
        &app,
        &code,
        json!({"id_number": resident_id(8), "name": "张三", "phone": "13900000009"}),
    )
    .await;
    assert_eq!(
        (y["colour"].as_str(), y["banner_zh"].as_str()),
        (Some("yellow"), Some("黄码限制"))
    );
    let mut red = declaration();
    red["id_number"] = json!(resident_id(9));
    red["phone"] = json!("13900000010");
    red["health_code"] = json!("red");
    assert_eq!(app.declare(red).await.0, 201);
    let (_, r) = visit(
        &app,
        &code,
        json!({"id_number": resident_id(9), "name": "张三", "phone": "13900000010"}),
    )
    .await;
    assert_eq!(
        (
            r["colour"].as_str(),
            r["entry"].as_str(),
            r["banner_zh"].as_str()
        ),
        (Some("red"), Some("refused"), Some("红码禁止"))
    );

    // 代扫: the green visitor checks in a child on file, by full name; the
    // stay is the child's.
    let mut child = declaration();
    child["id_number"] = json!(resident_id(10));
    child["name"] = json!("王小五");
    child["phone"] = json!("13900000011");
    assert_eq!(app.declare(child).await.0, 201);
    let (s, k) = visit(&app, &code, json!({"device": device, "for_other": {"id_type": "resident", "id_number": resident_id(10), "name": "王小五"}})).await;
    assert_eq!(s, 201, "{k}");
    assert_eq!(
        (k["for_other"].as_bool(), k["person_name"].as_str()),
        (Some(true), Some("王**"))
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM checkins WHERE helper_id IS NOT NULL"
        )
        .await,
        1
    );
    // Stays without a leaving time last the supermarket's typical hour.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM checkins WHERE t_out - t_in = 3600 AND left_given = 0"
        )
        .await,
        5
    );
    // A bad child's ID stores nothing.
    let before = count(&app, "SELECT COUNT(*) FROM checkins").await;
    let (s, e) = visit(&app, &code, json!({"device": device, "for_other": {"id_type": "resident", "id_number": "330784199001010000", "name": "x"}})).await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("for_other.id_number"))
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM checkins").await, before);
}

#[tokio::test]
async fn scanner_batches_are_checked_whole() {
    let app = spawn().await;
    let village = app.login_as("village", VILLAGE).await;
    let town = app.login_as("town", "330784001").await;
    let code = approved_venue(&app, &village, &town, "人民医院", "medical").await;
    let token = app
        .services
        .add_api_token("闸机", "checkins")
        .await
        .unwrap();
    let lab = app
        .services
        .add_api_token("检验所", "lab_results")
        .await
        .unwrap();
    let good = json!({"venue": code, "id_type": "resident", "id_number": resident_id(20), "name": "赵六", "at": "2022-01-28T08:00:00+08:00"});
    assert_eq!(
        app.post(&lab, "/api/v1/checkins", json!([good])).await.0,
        401,
        "a token of another scope"
    );
    let (s, e) = app
        .post(&token, "/api/v1/checkins", json!([
            good,
            {"venue": code, "id_number": resident_id(21), "at": "yesterday"},
            {"venue": "V999-abc", "person": 1, "at": "2022-01-28T08:00:00+08:00", "left_at": "2022-01-28T07:00:00+08:00"},
            {"venue": code, "at": "2022-01-28T08:00:00+08:00"}
        ]))
        .await;
    assert_eq!(s, 422, "{e}");
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["[1].at", "[2].left_at", "[3].person"]);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM checkins").await, 0);
    let (s, r) = app
        .post(&token, "/api/v1/checkins", json!([
            good,
            {"venue": code, "id_number": resident_id(21), "at": "2022-01-28T08:10:00+08:00", "left_at": "2022-01-28T08:40:00+08:00"}
        ]))
        .await;
    assert_eq!(
        (s, r["stored"].as_i64(), r["new_persons"].as_i64()),
        (201, Some(2), Some(2)),
        "{r}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM checkins WHERE left_given = 1 AND t_out - t_in = 1800"
        )
        .await,
        1
    );
    // An unknown (well-formed) venue code refuses the whole batch.
    let (s, e) = app
        .post(&token, "/api/v1/checkins", json!([{"venue": "V999-abcdef", "id_number": resident_id(22), "at": "2022-01-28T08:00:00+08:00"}]))
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("[0].venue"))
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM checkins").await, 2);
}

/// Stays on 27 January: the case at the supermarket 10:00–11:00 and the
/// restaurant 18:00–19:00; A overlaps at the supermarket by the 30-minute
/// widening, B arrives as A's widened stay ends (touching: no contact), C
/// meets A later at the restaurant (次密接), D shared the case's tube.
#[tokio::test]
async fn a_case_traces_contacts_and_the_team_brings_them_into_the_loop() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let village = app.login_as("village", VILLAGE).await;
    let town = app.login_as("town", "330784001").await;
    let market = approved_venue(&app, &village, &town, "园丁超市", "supermarket").await;
    let bar = approved_venue(&app, &village, &town, "园丁饭店", "restaurant").await;
    let token = app
        .services
        .add_api_token("闸机", "checkins")
        .await
        .unwrap();
    let stay = |venue: &str, n: u32, from: &str, to: &str| {
        json!({"venue": venue, "id_number": resident_id(n), "name": format!("人员{n}"),
               "at": format!("2022-01-27T{from}:00+08:00"), "left_at": format!("2022-01-27T{to}:00+08:00")})
    };
    let (case_n, a, b, c, d) = (100, 101, 102, 103, 104);
    let (s, r) = app
        .post(
            &token,
            "/api/v1/checkins",
            json!([
                stay(&market, case_n, "10:00", "11:00"),
                stay(&market, a, "11:20", "11:50"),
                stay(&market, b, "12:20", "12:40"),
                stay(&bar, a, "13:00", "14:00"),
                stay(&bar, c, "13:30", "13:45"),
                stay(&bar, case_n, "18:00", "19:00"),
            ]),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    // D was pooled with the case in a tube on the 27th.
    let sampler = app.login_as("grid_worker", GRID).await;
    app.clock.set("2022-01-27T02:00:00Z".parse().unwrap());
    let (s, r) = app.post(&sampler, "/api/v1/tubes", json!({"barcode": "YK7000001", "pool_size": 5, "category": "mandatory", "site": "园丁"})).await;
    assert_eq!(s, 201, "{r}");
    for n in [case_n, d] {
        let (s, r) = app
            .post(
                &sampler,
                "/api/v1/tubes/YK7000001/members",
                json!({"id_number": resident_id(n)}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
    }
    app.clock.set("2022-01-28T02:00:00Z".parse().unwrap());
    let id_of = |n: u32| {
        let app = &app;
        async move {
            let lookup = app
                .services
                .vault
                .lookup(&format!("resident:{}", resident_id(n)));
            sqlx::query("SELECT id FROM persons WHERE doc_lookup = $1")
                .bind(lookup)
                .fetch_one(app.services.db.pool())
                .await
                .unwrap()
                .get::<i64, _>(0)
        }
    };
    let (pc, pa, pb, pcc, pd) = (
        id_of(case_n).await,
        id_of(a).await,
        id_of(b).await,
        id_of(c).await,
        id_of(d).await,
    );

    // Bad input opens nothing; a grid worker may not trace.
    assert_eq!(
        app.post(
            &sampler,
            "/api/v1/trace-cases",
            json!({"person_id": pc, "start_date": "2022-01-27"})
        )
        .await
        .0,
        403
    );
    let (s, e) = app
        .post(
            &command,
            "/api/v1/trace-cases",
            json!({"person_id": pc, "start_date": "2022-02-30"}),
        )
        .await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("start_date"))
    );
    let (s, k) = app
        .post(
            &command,
            "/api/v1/trace-cases",
            json!({"person_id": pc, "start_date": "2022-01-27", "note": "首例"}),
        )
        .await;
    assert_eq!(s, 201, "{k}");
    let case_id = k["id"].as_i64().unwrap();
    let (s, e) = app
        .post(
            &command,
            "/api/v1/trace-cases",
            json!({"person_id": pc, "start_date": "2022-01-27"}),
        )
        .await;
    assert_eq!((s, e["error"].as_str()), (409, Some("case_exists")));

    let (s, v) = app
        .post(
            &command,
            &format!("/api/v1/trace-cases/{case_id}/trace"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let found: Vec<(i64, i64)> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["person_id"].as_i64().unwrap(),
                k["degree"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![(pa, 1), (pd, 1), (pcc, 2)];
    expected.sort_by_key(|x| (x.1, x.0));
    assert_eq!(
        found, expected,
        "B only touched A's widened stay; the case is not its own contact"
    );
    assert!(!found.iter().any(|f| f.0 == pb || f.0 == pc));
    let cand = |p: i64| {
        v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["person_id"] == p)
            .unwrap()
            .clone()
    };
    let ea = &cand(pa)["evidence"][0];
    assert_eq!(
        (
            ea["kind"].as_str(),
            ea["venue_name"].as_str(),
            ea["minutes"].as_i64()
        ),
        (Some("venue"), Some("园丁超市"), Some(10)),
        "11:20–11:30 inside the widening"
    );
    assert_eq!(cand(pd)["evidence"][0]["kind"], "tube");
    assert_eq!(cand(pcc)["via_person_id"], pa);
    assert_eq!(cand(pcc)["evidence"][0]["venue_name"], "园丁饭店");

    // Decisions: A confirmed (密接, task to the grid), D struck, C handed over.
    let decide = |p: i64, body: Value| {
        let (app, command) = (&app, &command);
        async move {
            app.post(
                command,
                &format!("/api/v1/trace-cases/{case_id}/contacts/{p}/decision"),
                body,
            )
            .await
        }
    };
    let (s, e) = decide(pa, json!({"decision": "maybe"})).await;
    assert_eq!(
        (s, e["errors"][0]["field"].as_str()),
        (422, Some("decision"))
    );
    let (s, r) = decide(pa, json!({"decision": "confirm"})).await;
    assert_eq!(
        (s, r["category"].as_str()),
        (200, Some("close_contact")),
        "{r}"
    );
    let (s, e) = decide(pa, json!({"decision": "strike"})).await;
    assert_eq!((s, e["error"].as_str()), (409, Some("decided")));
    assert_eq!(decide(pd, json!({"decision": "strike"})).await.0, 200);
    let (s, e) = decide(pcc, json!({"decision": "hand_over", "county": "999999"})).await;
    assert_eq!((s, e["errors"][0]["field"].as_str()), (422, Some("county")));
    let (s, r) = decide(
        pcc,
        json!({"decision": "hand_over", "county": "110106", "address": "北京市丰台区某小区"}),
    )
    .await;
    assert_eq!((s, r["state"].as_str()), (200, Some("handed_over")), "{r}");

    let (_, person) = app.get(&command, &format!("/api/v1/persons/{pa}")).await;
    assert_eq!(person["control"]["category"], "close_contact", "{person}");
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM tasks WHERE person_id = {pa} AND kind = 'verify' AND state = 'dispatched' AND region = '{GRID}'")).await, 1);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM controls WHERE person_id = {pd}")
        )
        .await,
        0,
        "struck: no control"
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM handovers WHERE person_id = {pcc} AND to_county = '110106'"
            )
        )
        .await,
        1
    );
    assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM controls WHERE person_id = {pcc} AND category = 'secondary_contact' AND status = 'transferred_out'")).await, 1);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM tasks WHERE person_id = {pcc} AND state <> 'closed'")
        )
        .await,
        0
    );

    // A later stay adds a candidate and keeps every decision.
    let (s, _) = app
        .post(
            &token,
            "/api/v1/checkins",
            json!([stay(&bar, 105, "18:30", "20:00")]),
        )
        .await;
    assert_eq!(s, 201);
    let (_, v) = app
        .post(
            &command,
            &format!("/api/v1/trace-cases/{case_id}/trace"),
            json!({}),
        )
        .await;
    let states: Vec<(i64, String)> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["person_id"].as_i64().unwrap(),
                k["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pe = id_of(105).await;
    assert!(
        states.contains(&(pa, "confirmed".into()))
            && states.contains(&(pd, "struck".into()))
            && states.contains(&(pcc, "handed_over".into()))
    );
    assert!(states.contains(&(pe, "candidate".into())), "{states:?}");
    // The list of cases counts candidates and those brought in.
    let (_, cases) = app.get(&command, "/api/v1/trace-cases").await;
    assert_eq!(
        (
            cases[0]["candidates"].as_i64(),
            cases[0]["confirmed"].as_i64()
        ),
        (Some(4), Some(2)),
        "{cases}"
    );
    // Another town cannot see the case.
    let other = app.login_as("town", "330784002").await;
    assert_eq!(
        app.get(&other, &format!("/api/v1/trace-cases/{case_id}"))
            .await
            .0,
        404
    );
}

/// A single tube testing positive is a confirmed case: tracing starts by
/// itself, from four days before the sample's day.
#[tokio::test]
async fn a_positive_single_test_opens_a_case() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let sampler = app.login_as("grid_worker", GRID).await;
    let (s, r) = app.post(&sampler, "/api/v1/tubes", json!({"barcode": "YK8000001", "pool_size": 1, "category": "mandatory", "site": "园丁"})).await;
    assert_eq!(s, 201, "{r}");
    let (s, r) = app
        .post(
            &sampler,
            "/api/v1/tubes/YK8000001/members",
            json!({"id_number": resident_id(300)}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        app.post(&sampler, "/api/v1/tubes/YK8000001/seal", json!({}))
            .await
            .0,
        200
    );
    assert_eq!(app.get(&command, "/api/v1/trace-cases").await.1, json!([]));
    let (s, r) = app
        .post(&command, "/api/v1/lab-results", json!([{"barcode": "YK8000001", "result": "positive", "ct": "28", "tested_at": "2022-01-28T09:30:00+08:00"}]))
        .await;
    assert_eq!(s, 200, "{r}");
    let (_, cases) = app.get(&command, "/api/v1/trace-cases").await;
    assert_eq!(cases.as_array().unwrap().len(), 1, "{cases} after {r}");
    assert_eq!(cases[0]["origin"], "positive");
    let (_, p) = app
        .get(
            &command,
            &format!("/api/v1/persons/{}", cases[0]["person_id"]),
        )
        .await;
    assert_eq!(p["tasks"][0]["kind"], "positive", "{p}");
    let colour: String = sqlx::query("SELECT colour FROM health_codes WHERE person_id = $1")
        .bind(cases[0]["person_id"].as_i64().unwrap())
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        colour, "red",
        "a positive without a control is red, not green"
    );
    // 2022-01-24 00:00 in Shanghai: four days before the 28th.
    assert_eq!(cases[0]["window_from"], 1_642_953_600);
}

#[tokio::test]
async fn residents_at_one_address_are_household_contacts() {
    let app = spawn().await;
    let town = app.login_as("town", "330784001").await;
    let grid = "330784001001001";
    let roll = format!(
        "网格编码,身份证号,姓名,住址\n{grid},{},户主,园丁路1号 \n{grid},{},家人, 园丁路1号\n{grid},{},邻居,园丁路2号\n",
        resident_id(71),
        resident_id(72),
        resident_id(73)
    );
    let r = app
        .http
        .post(app.url("/api/v1/residents/import"))
        .bearer_auth(&town)
        .body(roll)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let people: Vec<i64> = sqlx::query("SELECT person_id FROM residents ORDER BY person_id")
        .fetch_all(app.services.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| sqlx::Row::get::<i64, _>(r, 0))
        .collect();
    assert_eq!(people.len(), 3);
    let command = app.login_as("command", "330784").await;
    let (s, k) = app
        .post(
            &command,
            "/api/v1/trace-cases",
            json!({"person_id": people[0], "start_date": "2022-01-27"}),
        )
        .await;
    assert_eq!(s, 201, "{k}");
    let (s, v) = app
        .post(
            &command,
            &format!("/api/v1/trace-cases/{}/trace", k["id"]),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let found: Vec<(i64, String)> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["person_id"].as_i64().unwrap(),
                c["evidence"][0]["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(found, [(people[1], "household".to_string())], "{v}");
}
