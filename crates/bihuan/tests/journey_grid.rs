//! The grid worker and the village on a phone (issue 12), in headless
//! Chromium at 390×844: (a) a worker works a mixed list — the fever transfer
//! first, with who, where and a phone to call — calls (the unmask is
//! recorded), acknowledges and reports, sees each confirmation while the
//! list keeps its place, then records a test on 今日应检; (b) a village closes
//! one task (asked to confirm) and returns another with a reason. Every
//! screen fits the phone with thumb-sized targets; screenshots are kept under
//! target/screenshots/<journey>/.

mod support;

use std::path::Path;
use std::time::Duration;

use bihuan::usecases::auth::parse_new_user;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};
use support::TestApp;
use support::browser::{
    Result, Screen, check_screen, connect, in_first_screen, screenshot, start_driver, type_into,
};

const GRID: &str = "330784001001001";
const VILLAGE: &str = "330784001001";
const PASSWORD: &str = "correct horse battery";

async fn sign_in(c: &Client, app: &TestApp, user: &str, to: &str) -> Result<()> {
    c.goto(&app.url(to)).await?;
    type_into(c, "#username", user).await?;
    type_into(c, "#password", PASSWORD).await?;
    c.find(Locator::Css("form button")).await?.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("nav.tabs-main"))
        .await?;
    Ok(())
}

async fn add_user(app: &TestApp, name: &str, role: &str, region: &str) {
    app.services
        .add_user(parse_new_user(name, role, region, PASSWORD).unwrap())
        .await
        .unwrap();
}

/// Whether the element's top edge is inside the window now (no scrolling).
async fn in_view(c: &Client, css: &str) -> Result<bool> {
    let e = c.find(Locator::Css(css)).await?;
    let v = c
        .execute(
            "const r = arguments[0].getBoundingClientRect();\
             return r.top >= 0 && r.top < window.innerHeight && r.height > 0;",
            vec![serde_json::to_value(&e)?],
        )
        .await?;
    Ok(v.as_bool().unwrap_or(false))
}

/// Waits for the confirmation `want` (the page before may show another).
async fn confirmed(c: &Client, want: &str) -> Result<()> {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(&format!(
            "//p[contains(@class,'flash') and normalize-space(.)='{want}']"
        )))
        .await
        .map_err(|e| format!("no confirmation {want:?}: {e}"))?;
    Ok(())
}

async fn tasks_of(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, body) = app.get(token, "/api/v1/tasks").await;
    assert_eq!(s, 200, "{body}");
    body.as_array().unwrap().clone()
}

/// Two arrivals to verify (one with a test due today), then a fever case.
async fn a_mixed_list(app: &TestApp) -> (i64, i64) {
    let mut due = support::declaration();
    due["origin"] =
        json!({"county": "110106", "township": "110106001", "departed_on": "2022-01-27"});
    let (s, d) = app.declare(due).await;
    assert_eq!(s, 201, "{d}");
    let due_person = d["person_id"].as_i64().unwrap();
    let mut other = support::declaration();
    other["id_number"] = json!(support::resident_id(21));
    other["name"] = json!("李四");
    other["phone"] = json!("13900139000");
    other["destination"]["address"] = json!("园丁路2号");
    let (s, d) = app.declare(other).await;
    assert_eq!(s, 201, "{d}");
    let mut fever = support::declaration();
    fever["id_number"] = json!(support::resident_id(22));
    fever["name"] = json!("王五");
    fever["phone"] = json!("13700137000");
    fever["destination"]["address"] = json!("园丁路3号");
    fever["origin"] = json!({"county": "330106", "township": null, "departed_on": "2022-01-28"});
    fever["symptoms"] = json!(["fever"]);
    let (s, d) = app.declare(fever).await;
    assert_eq!(s, 201, "{d}");
    (due_person, d["person_id"].as_i64().unwrap())
}

async fn work_a_mixed_list(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    let (due_person, fever_person) = a_mixed_list(app).await;
    let api = app.login_as("grid_worker", GRID).await;
    let list = tasks_of(app, &api).await;
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(list[0]["kind"], "fever_transfer", "{list:?}");
    let fever = list[0]["id"].as_i64().unwrap();
    let card = format!("#task-{fever}");

    sign_in(c, app, "li", "/tasks").await?;
    assert_eq!(c.current_url().await?.path(), "/tasks");
    // The urgent task is the first card, on the first screen, with who and where.
    let first = c.find(Locator::Css("article.task")).await?;
    assert_eq!(first.attr("id").await?.as_deref(), Some(&card[1..]));
    let text = first.text().await?;
    for want in [
        "紧急",
        "发热就诊转运",
        "王五",
        "园丁路3号",
        "137****7000",
        "拨打",
    ] {
        assert!(text.contains(want), "{want} on the first card: {text}");
    }
    assert!(!text.contains("13700137000"), "masked until tapped: {text}");
    in_first_screen(c, &format!("{card}.urgent")).await?;
    in_first_screen(c, &format!("{card} .who-name")).await?;
    in_first_screen(c, &format!("{card} .call-btn")).await?;
    let why = c.find(Locator::Css(&format!("{card} details.why"))).await?;
    assert!(why.attr("open").await?.is_none(), "the reason folds away");
    check_screen(c).await?;
    screenshot(c, dir, "1-tasks.png").await?;

    // 更多 holds the rest of the navigation, also thumb-sized.
    c.find(Locator::Css("details.more > summary"))
        .await?
        .click()
        .await?;
    let menu = c.find(Locator::Css(".more-menu")).await?.text().await?;
    assert!(menu.contains("全员核酸") && menu.contains("退出"), "{menu}");
    check_screen(c).await?;
    screenshot(c, dir, "2-more.png").await?;
    c.find(Locator::Css("details.more > summary"))
        .await?
        .click()
        .await?;

    // Tap to call: the full number, and the view recorded.
    c.find(Locator::Css(&format!("{card} .call-btn")))
        .await?
        .click()
        .await?;
    let tel = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("a.call-now"))
        .await?;
    assert_eq!(tel.attr("href").await?.as_deref(), Some("tel:13700137000"));
    check_screen(c).await?;
    screenshot(c, dir, "3-call.png").await?;
    let cmd = app.login_as("command", "330784").await;
    let (_, p) = app
        .get(&cmd, &format!("/api/v1/persons/{fever_person}"))
        .await;
    let unmasked: Vec<&Value> = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "unmasked")
        .collect();
    assert_eq!(unmasked.len(), 1, "{p}");
    assert_eq!(unmasked[0]["actor"], "li");
    assert_eq!(unmasked[0]["detail"]["field"], "phone");
    c.find(Locator::LinkText("返回任务")).await?.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&card))
        .await?;
    assert_eq!(c.current_url().await?.fragment(), Some(&card[1..]));

    // 签收: the confirmation, and the card still in sight.
    c.find(Locator::Css(&format!(
        "{card} form[action='/tasks/{fever}/ack'] button"
    )))
    .await?
    .click()
    .await?;
    confirmed(c, &format!("已签收 · 任务 #{fever}")).await?;
    let url = c.current_url().await?;
    assert_eq!(url.path(), "/tasks");
    assert_eq!(url.fragment(), Some(&card[1..]));
    assert!(in_view(c, "p.flash").await?, "the confirmation is in sight");
    assert!(in_view(c, &card).await?, "the card is in sight");
    check_screen(c).await?;
    screenshot(c, dir, "4-acknowledged.png").await?;

    // 反馈: 已处理 (taken to the fever clinic).
    c.find(Locator::Css(&format!("{card} details.report-fold summary")))
        .await?
        .click()
        .await?;
    c.find(Locator::Id(&format!("t{fever}outcome")))
        .await?
        .select_by_value("done")
        .await?;
    type_into(c, &format!("#t{fever}note"), "已送发热门诊").await?;
    check_screen(c).await?;
    screenshot(c, dir, "5-report.png").await?;
    c.find(Locator::Css(&format!("{card} form.report button")))
        .await?
        .click()
        .await?;
    confirmed(c, &format!("已反馈 · 任务 #{fever}")).await?;
    assert!(in_view(c, "p.flash").await?);
    assert!(in_view(c, &card).await?, "back at the card");
    let text = c.find(Locator::Css(&card)).await?.text().await?;
    assert!(
        text.contains("已反馈") && text.contains("已送发热门诊"),
        "{text}"
    );
    check_screen(c).await?;
    screenshot(c, dir, "6-reported.png").await?;
    let after = tasks_of(app, &api).await;
    assert_eq!(
        after.iter().find(|t| t["id"] == fever).unwrap()["state"],
        "reported"
    );

    // 今日应检, from the tabs: the result starts empty; a negative recorded.
    c.find(Locator::Css("nav.tabs-main a.tab[href='/due-tests']"))
        .await?
        .click()
        .await?;
    let select = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(&format!("result{due_person}")))
        .await?;
    assert_eq!(select.prop("value").await?.as_deref(), Some(""));
    check_screen(c).await?;
    screenshot(c, dir, "7-due.png").await?;
    select.select_by_value("negative").await?;
    c.find(Locator::Css(&format!("#due-{due_person} form button")))
        .await?
        .click()
        .await?;
    let done = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("p.success"))
        .await?;
    assert!(done.text().await?.contains("核酸结果已录入"));
    let row = c
        .find(Locator::Css(&format!("#due-{due_person}")))
        .await?
        .text()
        .await?;
    assert!(row.contains("已采样"), "{row}");
    check_screen(c).await?;
    screenshot(c, dir, "8-tested.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_worker_works_a_mixed_list_on_a_phone() {
    let driver = start_driver("a_grid_worker_works_a_mixed_list_on_a_phone").await;
    let app = support::spawn().await;
    support::with_xiluoyuan(&app).await;
    add_user(&app, "li", "grid_worker", GRID).await;
    let client = connect(&driver, Screen::Phone).await;
    let outcome = work_a_mixed_list(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// Two declared arrivals, each verified and reported by the grid.
async fn two_reported_tasks(app: &TestApp) -> (i64, i64) {
    let (s, d) = app.declare(support::declaration()).await;
    assert_eq!(s, 201, "{d}");
    let mut other = support::declaration();
    other["id_number"] = json!(support::resident_id(31));
    other["name"] = json!("赵六");
    let (s, d) = app.declare(other).await;
    assert_eq!(s, 201, "{d}");
    let worker = app.login_as("grid_worker", GRID).await;
    let mut ids = vec![];
    for t in tasks_of(app, &worker).await {
        let id = t["id"].as_i64().unwrap();
        let (s, _) = app
            .post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
            .await;
        assert_eq!(s, 200);
        let (s, b) = app
            .post(
                &worker,
                &format!("/api/v1/tasks/{id}/report"),
                json!({"outcome": "verified", "note": "已核实"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        ids.push(id);
    }
    assert_eq!(ids.len(), 2);
    (ids[0], ids[1])
}

async fn close_and_return_work(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    let (close, reopen) = two_reported_tasks(app).await;
    let api = app.login_as("village", VILLAGE).await;
    sign_in(c, app, "zhou", "/tasks?state=reported").await?;
    let text = c.find(Locator::Css("main")).await?.text().await?;
    assert!(
        text.contains("审核队列") && text.contains("已核实"),
        "{text}"
    );
    in_first_screen(c, &format!("#task-{close}")).await?;
    check_screen(c).await?;
    screenshot(c, dir, "1-queue.png").await?;

    // 办结 without ticking the box: the browser holds the form, nothing changes.
    let card = format!("#task-{close}");
    c.find(Locator::Css(&format!("{card} form.confirm-form button")))
        .await?
        .click()
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        c.current_url()
            .await?
            .query()
            .is_some_and(|q| !q.contains("done="))
    );
    let state = |list: Vec<Value>, id: i64| {
        list.iter().find(|t| t["id"] == id).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(state(tasks_of(app, &api).await, close), "reported");
    let confirm = c
        .find(Locator::Css(&format!("{card} label.confirm")))
        .await?;
    assert!(confirm.text().await?.contains("确认办结（不可撤销）"));
    confirm.click().await?;
    check_screen(c).await?;
    screenshot(c, dir, "2-confirm.png").await?;
    c.find(Locator::Css(&format!("{card} form.confirm-form button")))
        .await?
        .click()
        .await?;
    confirmed(c, &format!("已办结 · 任务 #{close}")).await?;
    let url = c.current_url().await?;
    assert!(
        url.query()
            .unwrap_or_default()
            .starts_with("state=reported&done=close"),
        "{url}"
    );
    assert_eq!(state(tasks_of(app, &api).await, close), "closed");
    assert!(in_view(c, "p.flash").await?);
    check_screen(c).await?;
    screenshot(c, dir, "3-closed.png").await?;

    // 退回 the other, with a reason.
    let card = format!("#task-{reopen}");
    type_into(c, &format!("#reopen-reason-{reopen}"), "门牌号不对，请再核").await?;
    c.find(Locator::Css(&format!("{card} form.reopen button")))
        .await?
        .click()
        .await?;
    confirmed(c, &format!("已退回重办 · 任务 #{reopen}")).await?;
    assert_eq!(state(tasks_of(app, &api).await, reopen), "dispatched");
    assert!(in_view(c, "p.flash").await?);
    check_screen(c).await?;
    screenshot(c, dir, "4-returned.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_village_closes_and_returns_work_on_a_phone() {
    let driver = start_driver("a_village_closes_and_returns_work_on_a_phone").await;
    let app = support::spawn().await;
    support::with_xiluoyuan(&app).await;
    add_user(&app, "zhou", "village", VILLAGE).await;
    let client = connect(&driver, Screen::Phone).await;
    let outcome = close_and_return_work(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
