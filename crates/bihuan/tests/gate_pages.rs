//! The gate pages (issue 13): a host reports a gathering on the public form
//! and reads only their own receipt, 宴会缓办 refuses plainly, the village
//! and then the town review it on their pages; a checkpoint worker records a
//! passage on the page and the destination grid takes a 转运 through its
//! steps; the warehouse board moves a batch one step per button; a town
//! records holders, batches, movements, results and environment samples on
//! the goods pages as the API would. Bad fields
//! come back per field and store nothing; another region's staff get 404.

mod support;

use serde_json::json;
use support::{TestApp, approved_venue, count, csrf_of, location, resident_id, spawn, spawn_with};

/// The event's village and town; the other town's village.
const VILLAGE: &str = "330784002001";
const TOWN: &str = "330784002";
const OTHER_TOWN: &str = "330784001";
/// 5 working days after the test clock's Friday 2022-01-28 (Spring Festival
/// in the shipped policy): the earliest date for a town-tier event.
const FIFTH_WORKING_DAY: &str = "2022-02-09";

fn report_form(headcount: &str, address: &str) -> Vec<(&'static str, String)> {
    vec![
        ("kind", "wedding".into()),
        ("date", FIFTH_WORKING_DAY.into()),
        ("village", VILLAGE.into()),
        ("address", address.into()),
        ("tables", "6".into()),
        ("headcount", headcount.into()),
        ("out_of_town", "2".into()),
        ("host_name", "李四".into()),
        ("host_phone", "13800000001".into()),
        ("cook_name", "王厨".into()),
        ("cook_phone", "13800000002".into()),
        ("cook_health_cert", "1".into()),
        ("health_pledge", "1".into()),
        (
            "guests",
            format!(
                "宾客一,{},13900000001\n宾客二，{}，13900000002，外地\n",
                resident_id(1),
                resident_id(2)
            ),
        ),
    ]
}

fn with(
    mut form: Vec<(&'static str, String)>,
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    form.retain(|(k, _)| *k != key);
    form.push((key, value.into()));
    form
}

async fn post_public(app: &TestApp, path: &str, form: &[(&str, String)]) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn get_public(app: &TestApp, path: &str) -> (u16, String) {
    let r = app.http.get(app.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Reports on the public form: the receipt path it redirects to.
async fn report(app: &TestApp, address: &str) -> String {
    let r = post_public(app, "/report-gathering", &report_form("60", address)).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let to = location(&r);
    assert!(to.starts_with("/g/"), "{to}");
    to.split('?').next().unwrap().to_string()
}

/// Posts a staff form with the CSRF token of `from`.
async fn press(
    app: &TestApp,
    cookie: &str,
    from: &str,
    action: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let (s, html) = app.page(from, cookie).await;
    assert_eq!(s, 200, "{from}: {html}");
    let mut form = vec![("csrf", csrf_of(&html))];
    form.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    app.post_page(action, cookie, &form).await
}

#[tokio::test]
async fn a_host_reports_on_the_form_and_stores_what_the_api_would() {
    let app = spawn().await;
    let (s, html) = get_public(&app, "/report-gathering").await;
    assert_eq!(s, 200);
    assert!(html.contains("name=\"headcount\""), "{html}");

    // Bad fields: each named by its field, nothing stored.
    let bad = with(
        with(report_form("many", "新华路8号"), "host_phone", "12"),
        "guests",
        "宾客一,110105194912310021,139",
    );
    let bad = with(bad, "kind", "");
    let r = post_public(&app, "/report-gathering", &bad).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for field in ["kind", "headcount", "host_phone"] {
        assert!(
            html.contains(&format!("<a href=\"#{field}\">")),
            "{field} named: {html}"
        );
    }
    assert!(html.contains("第1行"), "the guest line is named: {html}");
    assert!(html.contains("新华路8号"), "the form comes back as typed");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM gatherings").await, 0);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM gathering_guests").await,
        0
    );

    // A good form: what the API stores for the same report.
    let receipt = report(&app, "新华路8号文化礼堂").await;
    let (s, api) = app
        .post(
            "",
            "/api/v1/gatherings",
            json!({
                "kind": "wedding", "date": FIFTH_WORKING_DAY, "village": VILLAGE,
                "address": "新华路8号文化礼堂", "tables": 6, "headcount": 60, "out_of_town": 2,
                "host_name": "李四", "host_phone": "13800000001", "cook_name": "王厨",
                "cook_phone": "13800000002", "cook_health_cert": true, "health_pledge": true,
                "guests": [
                    {"name": "宾客一", "id_number": resident_id(1), "phone": "13900000001"},
                    {"name": "宾客二", "id_number": resident_id(2), "phone": "13900000002", "out_of_town": true}
                ]
            }),
        )
        .await;
    assert_eq!(s, 201, "{api}");
    let rows = sqlx::query(
        "SELECT kind, tier, state, event_date, village, headcount, out_of_town, tables_count, \
         host_phone_masked, cook_health_cert FROM gatherings ORDER BY id",
    )
    .fetch_all(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    use sqlx::Row;
    let as_text = |r: &sqlx::any::AnyRow| -> Vec<String> {
        (0..10)
            .map(|i| {
                r.try_get::<String, _>(i)
                    .or_else(|_| r.try_get::<i64, _>(i).map(|n| n.to_string()))
                    .unwrap_or_default()
            })
            .collect()
    };
    assert_eq!(as_text(&rows[0]), as_text(&rows[1]), "page = API");
    assert_eq!(as_text(&rows[0])[1], "town");
    let guests = |id: i64| {
        format!(
            "SELECT COUNT(*) FROM gathering_guests WHERE gathering_id = {id} AND out_of_town = 1"
        )
    };
    let first = count(&app, "SELECT MIN(id) FROM gatherings").await;
    assert_eq!(count(&app, &guests(first)).await, 1, "the 外地 mark kept");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM gathering_guests").await,
        4
    );

    // The receipt shows its state; the host reads only their own.
    let (s, html) = get_public(&app, &format!("{receipt}?new=1")).await;
    assert_eq!(s, 200);
    assert!(html.contains("待村社区审核"), "{html}");
    assert!(html.contains("新华路8号文化礼堂"));
    let other = report(&app, "胜利街3号礼堂").await;
    let (_, mine) = get_public(&app, &receipt).await;
    assert!(
        !mine.contains("胜利街3号礼堂"),
        "never another host's report"
    );
    let (_, theirs) = get_public(&app, &other).await;
    assert!(theirs.contains("胜利街3号礼堂") && !theirs.contains("新华路8号文化礼堂"));
    let (s, _) = get_public(&app, "/g/00000000000000000000000000000000").await;
    assert_eq!(s, 404);
    let (s, _) = get_public(&app, "/g/..%2Fgatherings").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn the_public_form_is_rate_limited_like_declaring() {
    let app = spawn_with(|s| s.public_rate_limit = 1).await;
    let r = post_public(
        &app,
        "/report-gathering",
        &with(report_form("60", "新华路8号"), "host_phone", "1"),
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post_public(&app, "/report-gathering", &report_form("60", "新华路8号")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM gatherings").await, 0);
    // The same budget as /declare: one address, one family.
    let r = post_public(&app, "/declare", &[("name", "张三".to_string())]).await;
    assert_eq!(r.status(), 429);
}

#[tokio::test]
async fn postponed_gatherings_are_refused_plainly_and_store_nothing() {
    let app = spawn().await;
    let command = app.sign_in_page("command", "330784").await;
    let town = app.sign_in_page("town", TOWN).await;
    // Only the city holds the switch.
    let r = press(
        &app,
        &town,
        "/gatherings",
        "/gatherings/pause",
        &[("paused", "1")],
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = press(
        &app,
        &command,
        "/gatherings",
        "/gatherings/pause",
        &[("paused", "1"), ("reason", "疫情防控需要")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (s, html) = get_public(&app, "/report-gathering").await;
    assert_eq!(s, 200);
    assert!(html.contains("全市暂停受理"), "{html}");
    assert!(html.contains("疫情防控需要"));
    assert!(
        !html.contains("name=\"headcount\""),
        "no form to fill in vain"
    );
    let r = post_public(&app, "/report-gathering", &report_form("60", "新华路8号")).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("全市暂停受理"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM gatherings").await, 0);
    // Lifted: the form is back.
    let r = press(
        &app,
        &command,
        "/gatherings",
        "/gatherings/pause",
        &[("paused", "0")],
    )
    .await;
    assert_eq!(r.status(), 303);
    report(&app, "新华路8号").await;
}

#[tokio::test]
async fn the_village_checks_and_the_town_approves_on_their_pages() {
    let app = spawn().await;
    let receipt = report(&app, "新华路8号文化礼堂").await;
    let id = count(&app, "SELECT id FROM gatherings").await;
    let village = app.sign_in_page("village", VILLAGE).await;
    let town = app.sign_in_page("town", TOWN).await;
    let other = app.sign_in_page("town", OTHER_TOWN).await;
    let page = format!("/gatherings/{id}");

    // Another town: not there at all.
    let (s, _) = app.page(&page, &other).await;
    assert_eq!(s, 404);
    let (_, list) = app.page("/gatherings", &other).await;
    assert!(!list.contains("新华路8号文化礼堂"));
    let r = press(&app, &other, "/gatherings", &format!("{page}/approve"), &[]).await;
    assert_eq!(r.status(), 404);

    // The town waits for the village: no button yet, and refused.
    let (_, html) = app.page(&page, &town).await;
    assert!(!html.contains(&format!("{page}/approve")), "{html}");
    let r = press(&app, &town, &page, &format!("{page}/approve"), &[]).await;
    assert_eq!(r.status(), 403);

    let (_, list) = app.page("/gatherings", &village).await;
    assert!(list.contains("待您审核"), "{list}");
    let r = press(&app, &village, &page, &format!("{page}/approve"), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = get_public(&app, &receipt).await;
    assert!(html.contains("村社区已审核"), "{html}");

    let (_, html) = app.page(&page, &town).await;
    assert!(html.contains(&format!("{page}/approve")), "{html}");
    assert!(html.contains("宾*"), "guests masked: {html}");
    let r = press(&app, &town, &page, &format!("{page}/approve"), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, html) = get_public(&app, &receipt).await;
    assert!(html.contains("已批准"), "{html}");
    let code: String = sqlx::Row::get(
        &sqlx::query("SELECT code FROM venues WHERE kind = 'gathering'")
            .fetch_one(app.services.db.pool())
            .await
            .unwrap(),
        0,
    );
    assert!(html.contains(&code), "the venue code on the receipt");
    // Cancelling cannot be undone: without the ticked box nothing changes.
    let r = press(&app, &town, &page, &format!("{page}/cancel"), &[]).await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM gatherings WHERE state = 'approved'"
        )
        .await,
        1
    );
    let r = press(
        &app,
        &town,
        &page,
        &format!("{page}/cancel"),
        &[("confirm", "1")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = get_public(&app, &receipt).await;
    assert!(html.contains("已取消"), "{html}");
    // An unknown step is no step.
    let r = press(&app, &town, &page, &format!("{page}/explode"), &[]).await;
    assert_eq!(r.status(), 404);
}

// ---------------------------------------------------------------------------
// 卡口

const CP_VILLAGE: &str = "330784002001";
const DEST: &str = "330784001001";
const DEST_GRID: &str = "330784001001001";

fn traveller_form(decision: &str) -> Vec<(&'static str, String)> {
    vec![
        ("travellers_0_name", "李四".into()),
        ("travellers_0_id_type", "resident".into()),
        ("travellers_0_id_number", resident_id(7)),
        ("travellers_0_phone", "13900000007".into()),
        ("travellers_0_origin_county", "110106".into()),
        ("travellers_0_origin_township", "110106003".into()),
        ("travellers_0_health_code", "green".into()),
        ("travellers_0_trip_star", "1".into()),
        ("travellers_0_destination_village", DEST.into()),
        ("travellers_0_destination_address", "园丁路2号".into()),
        ("travellers_0_decision", decision.into()),
    ]
}

async fn record_on_page(
    app: &TestApp,
    cookie: &str,
    cp: i64,
    plate: &str,
    rows: Vec<(&'static str, String)>,
) -> reqwest::Response {
    let (s, html) = app
        .page(&format!("/checkpoints?checkpoint={cp}"), cookie)
        .await;
    assert_eq!(s, 200, "{html}");
    // Staff without a checkpoint get no form: post one anyway.
    let passage_id = match html.find("name=\"passage_id\" value=\"") {
        Some(at) => {
            let at = at + 25;
            html[at..at + html[at..].find('"').unwrap()].to_string()
        }
        None => "forged-1".to_string(),
    };
    let mut form = vec![
        ("csrf", csrf_of(&html)),
        ("passage_id", passage_id),
        ("checkpoint", cp.to_string()),
        ("plate", plate.to_string()),
    ];
    form.extend(rows);
    app.post_page("/checkpoints/passages", cookie, &form).await
}

#[tokio::test]
async fn a_checkpoint_records_a_transfer_that_the_destination_grid_takes_step_by_step() {
    let app = spawn().await;
    let cp = approved_venue(&app, "checkpoint", CP_VILLAGE, "义东高速卡口").await;
    let worker = app.sign_in_page("village", CP_VILLAGE).await;
    let other = app.sign_in_page("village", DEST).await;

    // Bad fields: per field, per traveller row; nothing stored.
    let mut bad = traveller_form("fly");
    bad.retain(|(k, _)| !k.ends_with("phone"));
    bad.push(("travellers_0_phone", "12".into()));
    let r = record_on_page(&app, &worker, cp, "浙", bad).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for field in ["travellers_0_phone", "travellers_0_decision", "plate"] {
        let input = html.find(&format!("id=\"{field}\"")).expect(field);
        let rest = &html[input..];
        let own = &rest[..rest.find("</div>").unwrap()];
        assert!(
            own.contains("class=\"err\""),
            "{field} has its own message: {own}"
        );
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM checkpoint_passages").await,
        0
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM declarations").await, 0);

    // Staff of another area: the checkpoint is not theirs.
    let r = record_on_page(&app, &other, cp, "", traveller_form("pass")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM checkpoint_passages").await,
        0
    );

    // A good form: the passage, a declaration on behalf, the hand-over.
    let r = record_on_page(&app, &worker, cp, "浙G12345", traveller_form("transfer")).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert!(location(&r).contains("recorded=1"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM checkpoint_passages").await,
        1
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM checkpoint_travellers WHERE decision = 'transfer' AND on_behalf = 1").await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM declarations").await, 1);
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM checkpoint_transfers WHERE grid = '{DEST_GRID}' AND state = 'pending'")).await,
        1
    );
    // The day's list shows it, masked.
    let (_, html) = app.page("/checkpoints", &worker).await;
    assert!(html.contains("浙G12345") && html.contains("李*"), "{html}");
    assert!(!html.contains(&resident_id(7)), "documents masked");
    // Another day's list is another day's.
    let (_, html) = app.page("/checkpoints?date=2022-01-27", &worker).await;
    assert!(!html.contains("浙G12345"), "yesterday had no passage");
    let (s, _) = app.page("/checkpoints?date=2022-13-01", &worker).await;
    assert_eq!(s, 422);
    // The town downloads the day's sheet from its page's link.
    let town = app.sign_in_page("town", TOWN).await;
    let (_, html) = app.page("/checkpoints", &town).await;
    let link = "/api/v1/checkpoint-passages.xlsx?date=2022-01-28";
    assert!(html.contains(link), "{html}");
    let r = app
        .http
        .get(app.url(link))
        .header("cookie", &town)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"), "an xlsx");

    // The destination grid: one button per step, in order.
    let grid = app.sign_in_page("grid_worker", DEST_GRID).await;
    let stranger = app.sign_in_page("grid_worker", "330784001002001").await;
    let (_, html) = app.page("/transfers", &stranger).await;
    assert!(!html.contains("id=\"transfer-"), "not theirs: {html}");
    let id = count(&app, "SELECT id FROM checkpoint_transfers").await;
    let action = format!("/transfers/{id}/advance");
    let r = press(
        &app,
        &stranger,
        "/transfers",
        &action,
        &[("to", "dispatched")],
    )
    .await;
    assert_eq!(r.status(), 404);
    // No skipping 已派车.
    let r = press(&app, &grid, "/transfers", &action, &[("to", "picked_up")]).await;
    assert_eq!(r.status(), 422);
    for (to, shown) in [
        ("dispatched", "已派车"),
        ("picked_up", "已接到"),
        ("handed_over", "已交接"),
    ] {
        let (_, html) = app.page("/transfers", &grid).await;
        assert!(
            html.contains(&format!("name=\"to\" value=\"{to}\"")),
            "the one next step {to}: {html}"
        );
        let r = press(&app, &grid, "/transfers", &action, &[("to", to)]).await;
        assert_eq!(r.status(), 303);
        let state: String = sqlx::Row::get(
            &sqlx::query("SELECT state FROM checkpoint_transfers")
                .fetch_one(app.services.db.pool())
                .await
                .unwrap(),
            0,
        );
        assert_eq!(state, to, "{shown}");
    }
    let (_, html) = app.page("/transfers", &grid).await;
    assert!(!html.contains("name=\"to\""), "no step after 已交接");
    // 已接到 closed the pickup task.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM tasks WHERE kind = 'pickup' AND state = 'closed'"
        )
        .await,
        1
    );
}

// ---------------------------------------------------------------------------
// 人物同防

#[tokio::test]
async fn the_warehouse_board_moves_a_batch_one_step_per_button() {
    let app = spawn().await;
    let town = app.login_as("town", OTHER_TOWN).await;
    let (s, h) = app
        .post(
            &town,
            "/api/v1/goods/holders",
            json!({"name": "永康冷库", "grid": DEST_GRID, "kind": "cold_store"}),
        )
        .await;
    assert_eq!(s, 201, "{h}");
    let (s, b) = app
        .post(
            &town,
            "/api/v1/goods/batches",
            json!({"trace_code": "CC2022-0002", "product": "冷冻带鱼", "origin": "印度尼西亚",
                   "holder": h["id"], "quantity": 200,
                   "certificates": {"inspection": true, "disinfection": true}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let job = b["warehouse_job"].as_i64().unwrap();

    let staff = app.sign_in_page("town", OTHER_TOWN).await;
    let (s, html) = app.page("/goods", &staff).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("CC2022-0002") && html.contains("印度尼西亚"),
        "{html}"
    );
    let (s, _) = app.page("/goods/unfit", &staff).await;
    assert_eq!(s, 200);

    let stranger = app.sign_in_page("town", TOWN).await;
    let (_, html) = app.page("/goods/jobs", &stranger).await;
    assert!(!html.contains("CC2022-0002"));
    let action = format!("/goods/jobs/{job}/advance");
    let r = press(
        &app,
        &stranger,
        "/goods/jobs",
        &action,
        &[("to", "sampled")],
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = press(&app, &staff, "/goods/jobs", &action, &[("to", "coded")]).await;
    assert_eq!(r.status(), 409, "no skipping");
    let r = press(&app, &staff, "/goods/jobs", &action, &[("to", "nonsense")]).await;
    assert_eq!(r.status(), 422);
    for to in ["sampled", "disinfected", "coded", "released"] {
        let (_, html) = app.page("/goods/jobs", &staff).await;
        assert!(
            html.contains(&format!("name=\"to\" value=\"{to}\"")),
            "{to}: {html}"
        );
        let r = press(&app, &staff, "/goods/jobs", &action, &[("to", to)]).await;
        assert_eq!(r.status(), 303);
    }
    let state: String = sqlx::Row::get(
        &sqlx::query("SELECT state FROM warehouse_jobs")
            .fetch_one(app.services.db.pool())
            .await
            .unwrap(),
        0,
    );
    assert_eq!(state, "released");
}

/// The town's officer records on the goods pages what the API would store:
/// a holder, a batch with its certificates, a movement, a positive result
/// and its trace-back; an environment site and a sample. Bad fields come
/// back per field and store nothing; another town gets 404, a grid worker
/// 403.
#[tokio::test]
async fn a_town_records_goods_on_its_pages_and_a_positive_starts_the_trace_back() {
    let app = spawn().await;
    let staff = app.sign_in_page("town", OTHER_TOWN).await;
    let stranger = app.sign_in_page("town", TOWN).await;
    let worker = app.sign_in_page("grid_worker", DEST_GRID).await;
    let holders = "SELECT COUNT(*) FROM goods_holders";

    // Holders: bad fields first, in both languages.
    for (lang, word) in [("", "网格"), ("?lang=en", "grid")] {
        let r = press(
            &app,
            &staff,
            "/goods/new",
            &format!("/goods/holders{lang}"),
            &[("name", ""), ("grid", "99"), ("kind", "x")],
        )
        .await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("class=\"err\""), "{html}");
        assert!(html.contains(word), "{lang}: {html}");
    }
    assert_eq!(count(&app, holders).await, 0, "nothing stored");
    let mut ids = Vec::new();
    for (name, kind) in [("永康冷库", "cold_store"), ("城西农贸市场", "market")] {
        let r = press(
            &app,
            &staff,
            "/goods/new",
            "/goods/holders",
            &[("name", name), ("grid", DEST_GRID), ("kind", kind)],
        )
        .await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let to = location(&r);
        ids.push(to.rsplit('=').next().unwrap().to_string());
    }
    let (store, market) = (ids[0].clone(), ids[1].clone());
    // A stallholder at the market, for the trace-back's 协查 list.
    let api = app.login_as("town", OTHER_TOWN).await;
    let r = app
        .http
        .post(app.url("/api/v1/rosters/import"))
        .bearer_auth(&api)
        .body(format!(
            "单位名称,网格编码,行业,身份证号,姓名,手机号码\n城西农贸市场,{DEST_GRID},cold_chain,{},摊主甲,\n",
            resident_id(31)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // As the API: each holder's workers are a cold-chain employer's roster.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM employers WHERE industry = 'cold_chain'"
        )
        .await,
        2
    );
    let r = press(
        &app,
        &staff,
        "/goods/new",
        "/goods/holders",
        &[
            ("name", "永康冷库"),
            ("grid", DEST_GRID),
            ("kind", "cold_store"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422, "the same name twice");
    assert_eq!(count(&app, holders).await, 2);

    // A batch: bad fields store nothing.
    let batches = "SELECT COUNT(*) FROM goods_batches";
    let r = press(
        &app,
        &staff,
        "/goods/new",
        "/goods/batches",
        &[
            ("trace_code", "x"),
            ("product", ""),
            ("origin", "巴西"),
            ("holder", &store),
            ("quantity", "many"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("追溯码应为") && html.contains("数量应为"),
        "{html}"
    );
    assert!(html.contains("value=\"巴西\""), "kept what was typed");
    assert_eq!(count(&app, batches).await, 0);
    let batch_form = |holder: &str| {
        vec![
            ("trace_code", "CC2022-0101".to_string()),
            ("product", "冷冻牛肉".to_string()),
            ("origin", "巴西".to_string()),
            ("holder", holder.to_string()),
            ("quantity", "120".to_string()),
            ("inspection", "1".to_string()),
            ("disinfection", "1".to_string()),
        ]
    };
    // Another town's holder is not found.
    let (_, html) = app.page("/goods/new", &stranger).await;
    let form: Vec<(&str, String)> = std::iter::once(("csrf", csrf_of(&html)))
        .chain(batch_form(&store))
        .collect();
    let r = app.post_page("/goods/batches", &stranger, &form).await;
    assert_eq!(r.status(), 404);
    assert_eq!(count(&app, batches).await, 0);
    let (_, html) = app.page("/goods/new", &staff).await;
    let form: Vec<(&str, String)> = std::iter::once(("csrf", csrf_of(&html)))
        .chain(batch_form(&store))
        .collect();
    let r = app.post_page("/goods/batches", &staff, &form).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let page = location(&r);
    let batch = page
        .trim_start_matches("/goods/batches/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    // As the API: no 核酸 certificate books it into the warehouse.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM goods_batches WHERE inspection = 1 AND disinfection = 1 \
             AND nucleic_acid = 0 AND quantity = 120"
        )
        .await,
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM warehouse_jobs").await, 1);
    let (s, html) = app.page(&page, &staff).await;
    assert_eq!(s, 200);
    assert!(html.contains("CC2022-0101") && html.contains("批次已登记"));
    let path = format!("/goods/batches/{batch}");
    assert!(
        html.contains(&format!("href=\"{path}?lang=en\"")),
        "English is this batch: {html}"
    );
    let (s, _) = app.page(&path, &stranger).await;
    assert_eq!(s, 404, "another town's batch");

    // A movement to the market: bad fields store nothing.
    let moves = "SELECT COUNT(*) FROM goods_movements";
    let action = format!("{path}/movements");
    let r = press(
        &app,
        &staff,
        &path,
        &action,
        &[
            ("from", &store),
            ("to", &store),
            ("quantity", "0"),
            ("at", "x"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("收货单位不能与发货单位相同") && html.contains("时间格式"));
    let r = press(
        &app,
        &staff,
        &path,
        &action,
        &[("from", &store), ("to", "")],
    )
    .await;
    assert_eq!(r.status(), 422, "no receiver picked");
    assert!(r.text().await.unwrap().contains("请选择单位"));
    assert_eq!(count(&app, moves).await, 0);
    let good = [
        ("from", store.as_str()),
        ("to", market.as_str()),
        ("quantity", "120"),
        ("at", "2022-01-27T10:00"),
    ];
    let r = press(&app, &stranger, "/goods/new", &action, &good).await;
    assert_eq!(r.status(), 404);
    let r = press(&app, &worker, "/goods", &action, &good).await;
    assert_eq!(r.status(), 403, "a grid worker may not record");
    let r = press(&app, &staff, &path, &action, &good).await;
    assert_eq!(r.status(), 303);
    assert_eq!(count(&app, moves).await, 1);
    let (_, html) = app.page(&path, &staff).await;
    assert!(html.contains("2022-01-27 10:00"), "Shanghai time: {html}");

    // Positive: the trace-back seals the market and lists its workers.
    let action = format!("{path}/result");
    let r = press(&app, &staff, &path, &action, &[("result", "maybe")]).await;
    assert_eq!(r.status(), 422);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM trace_backs").await, 0);
    let r = press(&app, &staff, &path, &action, &[("result", "positive")]).await;
    assert_eq!(r.status(), 303);
    let trace = location(&r);
    assert!(trace.starts_with("/goods/trace-backs/"), "{trace}");
    let (s, html) = app.page(&trace, &staff).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("城西农贸市场") && html.contains("封存任务"),
        "{html}"
    );
    let list: i64 = sqlx::Row::get(
        &sqlx::query("SELECT assist_list_id FROM trace_backs")
            .fetch_one(app.services.db.pool())
            .await
            .unwrap(),
        0,
    );
    assert!(
        html.contains(&format!("href=\"/assist/{list}\"")),
        "the 协查 list of the market's stallholder: {html}"
    );
    let (s, html) = app.page(&format!("/assist/{list}"), &staff).await;
    assert_eq!(s, 200);
    assert!(html.contains("摊"), "{html}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM tasks WHERE kind = 'seal'").await,
        1
    );
    let (s, _) = app.page(&trace, &stranger).await;
    assert_eq!(s, 404);
    let (_, html) = app.page(&path, &staff).await;
    assert!(html.contains("已启动溯源") && !html.contains("name=\"result\""));

    // Environment sampling: the market as a site, due at once.
    let sites = "SELECT COUNT(*) FROM env_sites";
    let r = press(
        &app,
        &staff,
        "/goods/env",
        "/goods/env/sites",
        &[("name", ""), ("grid", "1"), ("kind", "")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(count(&app, sites).await, 0);
    let r = press(
        &app,
        &stranger,
        "/goods/env",
        "/goods/env/sites",
        &[("holder", &market)],
    )
    .await;
    assert_eq!(r.status(), 404);
    let r = press(
        &app,
        &staff,
        "/goods/env",
        "/goods/env/sites",
        &[("holder", &market)],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(count(&app, sites).await, 1);
    let (_, html) = app.page("/goods/env", &staff).await;
    let action = html
        .split("action=\"")
        .map(|a| a.split('"').next().unwrap())
        .find(|a| a.ends_with("/samples"))
        .unwrap_or_else(|| panic!("the market is due: {html}"))
        .to_string();
    let samples = "SELECT COUNT(*) FROM env_samples";
    let r = press(
        &app,
        &staff,
        "/goods/env",
        &action,
        &[("sampled_on", "2099-01-01"), ("result", "negative")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("采样日期应为今天或之前"));
    let r = press(
        &app,
        &stranger,
        "/goods/env",
        &action,
        &[("sampled_on", "2022-01-28"), ("result", "negative")],
    )
    .await;
    assert_eq!(r.status(), 404);
    assert_eq!(count(&app, samples).await, 0);
    let r = press(
        &app,
        &staff,
        "/goods/env",
        &action,
        &[("sampled_on", "2022-01-28"), ("result", "negative")],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(count(&app, samples).await, 1);
    let (_, html) = app.page("/goods/env", &staff).await;
    assert!(!html.contains(&action), "sampled today: no longer due");
}

// ---------------------------------------------------------------------------
// 不得层层加码

#[tokio::test]
async fn a_town_proposes_only_stricter_rules_and_the_city_decides() {
    let app = spawn().await;
    let town = app.sign_in_page("town", TOWN).await;
    let other = app.sign_in_page("town", OTHER_TOWN).await;
    let village = app.sign_in_page("village", VILLAGE).await;
    let command = app.sign_in_page("command", "330784").await;
    let (s, _) = app.page("/policy-overrides", &village).await;
    assert_eq!(s, 403);

    // Looser than the city (50): refused by field, nothing stored.
    let key = "gathering.self_managed_below";
    let r = press(
        &app,
        &town,
        "/policy-overrides",
        "/policy-overrides",
        &[("key", key), ("value", "80"), ("reason", "")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    let own = &html[html.find("id=\"value\"").unwrap()..];
    assert!(
        own[..own.find("</div>").unwrap()].contains("不得放宽"),
        "the value's own message: {html}"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM policy_overrides").await,
        0
    );

    let r = press(
        &app,
        &town,
        "/policy-overrides",
        "/policy-overrides",
        &[
            ("key", key),
            ("value", "30"),
            ("reason", "本镇近期聚集性疫情风险高"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let id = count(
        &app,
        "SELECT id FROM policy_overrides WHERE state = 'pending' AND value = 30",
    )
    .await;
    let (_, html) = app.page("/policy-overrides", &other).await;
    assert!(
        !html.contains("本镇近期聚集性疫情风险高"),
        "another town's proposal"
    );
    // Only the city decides.
    let decide = format!("/policy-overrides/{id}/approve");
    let r = press(&app, &town, "/policy-overrides", &decide, &[]).await;
    assert_eq!(r.status(), 403);
    let (_, html) = app.page("/policy-overrides", &command).await;
    assert!(html.contains(&decide), "{html}");
    let r = press(&app, &command, "/policy-overrides", &decide, &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM policy_overrides WHERE state = 'approved'"
        )
        .await,
        1
    );
    let r = press(
        &app,
        &command,
        "/policy-overrides",
        &format!("/policy-overrides/{id}/reject"),
        &[],
    )
    .await;
    assert_eq!(r.status(), 409, "decided once");
}
