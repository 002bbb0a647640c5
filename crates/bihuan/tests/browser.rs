//! A real headless Chromium, sized and scaled like a phone, fills the 返永通
//! form as a person would: the cascading region picker, the village, the
//! dates; it leaves and comes back half-way (the draft must survive), submits
//! and reads the receipt. A grid worker then signs in on a phone, takes the
//! task and reports that the person moved, picking the new village.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian: `apt-get install
//! chromium chromium-driver`). Without them the test fails, on purpose: CI
//! installs them. Screenshots are kept under target/screenshots/.

mod support;

use std::path::Path;
use std::time::Duration;

use bihuan::usecases::auth::parse_new_user;
use fantoccini::{Client, Locator};
use serde_json::json;
use support::TestApp;
use support::browser::{
    Result, Screen, body_text, check_screen, connect, fits_the_phone, in_first_screen, pick,
    screenshot, set_date, start_driver, type_into, value,
};

async fn declare_like_a_person(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    c.goto(&app.url("/declare")).await?;
    assert!(c.title().await?.contains("返永通"));
    let js: bool = c
        .execute(
            "return document.documentElement.classList.contains('js')",
            vec![],
        )
        .await?
        .as_bool()
        .unwrap_or(false);
    assert!(js, "app.js ran (no CSP violation)");

    type_into(c, "#name", "张三").await?;
    type_into(c, "#id_number", "11010519491231002X").await?;
    type_into(c, "#phone", "13800138000").await?;

    // Where from: the cascade, as on a phone.
    pick(c, "originl0", "北京市").await?;
    pick(c, "originl1", "市辖区").await?;
    pick(c, "originl2", "丰台区").await?;
    pick(c, "originl3", "西罗园街道").await?;
    assert_eq!(value(c, "#origin_county").await?, "110106");
    assert_eq!(value(c, "#origin_township").await?, "110106003");
    let township = c.find(Locator::Id("originl3")).await?;
    assert!(
        township.attr("required").await?.is_some(),
        "a county with a listed risk area asks for the township"
    );
    assert!(
        !c.find(Locator::Css("#origin_county"))
            .await?
            .is_displayed()
            .await?,
        "with JavaScript the code inputs give way to the selects"
    );
    set_date(c, "origin_departed_on", "2022-01-26").await?;
    screenshot(c, dir, "origin.png").await?;

    // Leave half-way and come back: the draft is still there.
    tokio::time::sleep(Duration::from_millis(600)).await;
    c.goto(&app.url("/poster")).await?;
    let (_, _, w, h) = c.find(Locator::Css(".qr svg")).await?.rectangle().await?;
    assert!(
        w >= 200.0 && (w - h).abs() < 1.0,
        "the poster's QR code is square and big enough to scan: {w}x{h}"
    );
    screenshot(c, dir, "poster.png").await?;
    c.goto(&app.url("/declare")).await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//select[@id='originl3']/option[@value='110106003']",
        ))
        .await?;
    assert_eq!(value(c, "#name").await?, "张三", "the draft came back");
    assert_eq!(value(c, "#phone").await?, "13800138000");
    assert_eq!(value(c, "#origin_departed_on").await?, "2022-01-26");
    assert_eq!(value(c, "#originl3").await?, "110106003", "the cascade too");
    assert_eq!(
        value(c, "#id_number").await?,
        "",
        "the document number is never kept on the device"
    );
    type_into(c, "#id_number", "11010519491231002X").await?;

    // Arrival and destination.
    set_date(c, "arrival_date", "2022-01-28").await?;
    c.find(Locator::Id("arrival_mode"))
        .await?
        .select_by_label("火车")
        .await?;
    type_into(c, "#arrival_number", "G1234").await?;
    c.find(Locator::Id("destination_village"))
        .await?
        .select_by_label("园丁社区")
        .await?;
    type_into(c, "#destination_address", "园丁路1号").await?;
    c.find(Locator::Css("input[name=health_code][value=green]"))
        .await?
        .click()
        .await?;
    type_into(c, "#vaccine_doses", "3").await?;

    let fits: bool = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await?
        .as_bool()
        .unwrap_or(false);
    assert!(
        fits,
        "the form fits a 390px-wide phone without sideways scrolling"
    );
    screenshot(c, dir, "declare.png").await?;

    c.find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".receipt-code"))
        .await
        .map_err(|e| format!("no receipt page: {e}"))?;
    let url = c.current_url().await?;
    assert!(url.path().starts_with("/s/"), "{url}");
    let text = c.find(Locator::Css("main")).await?.text().await?;
    assert!(text.contains("报备成功"), "{text}");
    assert!(text.contains("中高风险地区所在乡镇(街道)"), "{text}");
    assert!(text.contains("集中隔离"), "{text}");
    assert!(text.contains("2022年2月15日"), "release date: {text}");
    let receipt = c.find(Locator::Css(".receipt-code")).await?.text().await?;
    assert_eq!(url.path(), format!("/s/{receipt}"));
    let fits: bool = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await?
        .as_bool()
        .unwrap_or(false);
    assert!(fits, "the receipt fits the phone");
    let draft = c
        .execute(
            "return localStorage.getItem('bihuan-draft-declare')",
            vec![],
        )
        .await?;
    assert!(draft.is_null(), "the draft is gone once declared: {draft}");
    screenshot(c, dir, "receipt.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_declares_on_a_phone() {
    let driver = start_driver("a_person_declares_on_a_phone").await;
    let app = support::spawn().await;
    support::with_xiluoyuan(&app).await;
    let client = connect(&driver, Screen::Phone).await;
    let outcome = declare_like_a_person(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

async fn work_the_task_like_a_grid_worker(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    let token = app.login_as("command", "330784").await;
    let (status, body) = app.get(&token, "/api/v1/tasks").await;
    assert_eq!(status, 200);
    let id = body[0]["id"].as_i64().expect("a task");

    // Signing in comes back to the task list.
    c.goto(&app.url("/tasks")).await?;
    assert_eq!(c.current_url().await?.path(), "/login");
    type_into(c, "#username", "wang").await?;
    type_into(c, "#password", "correct horse battery").await?;
    c.find(Locator::Css("form button")).await?.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(&format!("task-{id}")))
        .await?;
    assert_eq!(c.current_url().await?.path(), "/tasks");
    let text = c.find(Locator::Css("main")).await?.text().await?;
    assert!(text.contains("我的任务") && text.contains("核查"), "{text}");

    // 签收, then 反馈: the person has moved to another village.
    c.find(Locator::Css(&format!(
        "form[action='/tasks/{id}/ack'] button"
    )))
    .await?
    .click()
    .await?;
    let summary = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&format!(
            "#task-{id} details.report-fold summary"
        )))
        .await?;
    summary.click().await?;
    c.find(Locator::Id(&format!("t{id}outcome")))
        .await?
        .select_by_value("moved")
        .await?;
    let moved = c
        .find(Locator::Css(&format!(
            "#task-{id} fieldset[data-when=moved]"
        )))
        .await?;
    assert!(
        moved.is_displayed().await?,
        "choosing 'moved' shows its part"
    );
    let corrected = c
        .find(Locator::Css(&format!(
            "#task-{id} fieldset[data-when=corrected]"
        )))
        .await?;
    assert!(!corrected.is_displayed().await?, "and hides the others");
    pick(c, &format!("t{id}town"), "西城街道").await?;
    let village = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(&format!(
            "//select[@id='t{id}vsel']/option[@value!=''][1]"
        )))
        .await?;
    let code = village.prop("value").await?.unwrap_or_default();
    village.click().await?;
    assert_eq!(value(c, &format!("#t{id}village")).await?, code);
    assert!(code.starts_with("330784002") && code.len() == 12, "{code}");
    type_into(c, &format!("#t{id}address"), "新居1号").await?;
    let fits: bool = c
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await?
        .as_bool()
        .unwrap_or(false);
    assert!(fits, "the task list fits the phone");
    screenshot(c, dir, "tasks.png").await?;
    c.find(Locator::Css(&format!("#task-{id} form.report button")))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//p[contains(., '暂无任务')]"))
        .await
        .map_err(|e| format!("the moved task should leave this grid's list: {e}"))?;
    let (_, body) = app.get(&token, "/api/v1/tasks").await;
    assert_eq!(body[0]["state"], "dispatched", "{body}");
    assert_eq!(body[0]["region"], format!("{code}001"), "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_worker_reports_on_a_phone() {
    let driver = start_driver("a_grid_worker_reports_on_a_phone").await;
    let app = support::spawn().await;
    let (status, _) = app.declare(support::declaration()).await;
    assert_eq!(status, 201);
    app.services
        .add_user(
            parse_new_user(
                "wang",
                "grid_worker",
                "330784001001001",
                "correct horse battery",
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let client = connect(&driver, Screen::Phone).await;
    let outcome = work_the_task_like_a_grid_worker(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

async fn check_in_and_ask_for_help(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    let (status, d) = app.declare(support::declaration()).await;
    assert_eq!(status, 201, "{d}");
    let receipt = d["receipt"].as_str().expect("a receipt");
    c.goto(&app.url(&format!("/s/{receipt}"))).await?;
    let text = c.find(Locator::Css("main")).await?.text().await?;
    assert!(
        text.contains("健康打卡") && text.contains("暖心服务"),
        "{text}"
    );
    let temperature = c.find(Locator::Id("temperature")).await?;
    assert_eq!(
        temperature.attr("inputmode").await?.as_deref(),
        Some("decimal"),
        "a number keyboard with a decimal point"
    );
    assert!(fits_the_phone(c).await?, "the status page fits the phone");
    screenshot(c, dir, "status.png").await?;

    // 健康打卡: 36.8 and a cough.
    type_into(c, "#temperature", "36.8").await?;
    c.find(Locator::Css("input[name=symptoms][value=cough]"))
        .await?
        .click()
        .await?;
    c.find(Locator::Css("form.check-in-form button[type=submit]"))
        .await?
        .click()
        .await?;
    let done = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#check-in .success"))
        .await
        .map_err(|e| format!("no check-in confirmation: {e}"))?;
    assert!(done.text().await?.contains("今日已打卡 36.8℃"));
    let alarm = c.find(Locator::Css("#check-in .alarm")).await?;
    assert!(alarm.is_displayed().await?);
    assert!(
        alarm.text().await?.contains("发热门诊"),
        "a cough calls for the fever clinic"
    );
    assert!(
        !c.find(Locator::Css("form.check-in-form"))
            .await?
            .is_displayed()
            .await?,
        "checked in: the form folds away"
    );
    assert!(fits_the_phone(c).await?, "the confirmation fits the phone");
    screenshot(c, dir, "checked-in.png").await?;

    // 暖心服务: medicine, with a note.
    c.find(Locator::Id("kind"))
        .await?
        .select_by_label("药品")
        .await?;
    type_into(c, "#note", "降压药，每日一片").await?;
    c.find(Locator::Css("form.help-form button[type=submit]"))
        .await?
        .click()
        .await?;
    let item = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".help-item"))
        .await
        .map_err(|e| format!("the request is not listed: {e}"))?;
    let text = item.text().await?;
    assert!(text.contains("药品"), "{text}");
    assert!(text.contains("处理中"), "{text}");
    assert!(text.contains("降压药，每日一片"), "{text}");
    let main = c.find(Locator::Css("main")).await?.text().await?;
    assert!(main.contains("已收到您的求助"), "{main}");
    assert!(fits_the_phone(c).await?, "the help list fits the phone");
    screenshot(c, dir, "help.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_checks_in_and_asks_for_help_on_a_phone() {
    let driver = start_driver("a_person_checks_in_and_asks_for_help_on_a_phone").await;
    let app = support::spawn().await;
    support::with_xiluoyuan(&app).await;
    let client = connect(&driver, Screen::Phone).await;
    let outcome = check_in_and_ask_for_help(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// The WebDriver code of the Enter key: what a barcode scanner sends last.
const ENTER: &str = "\u{E007}";

async fn active_id(c: &Client) -> Result<String> {
    Ok(c.execute(
        "return document.activeElement && document.activeElement.id",
        vec![],
    )
    .await?
    .as_str()
    .unwrap_or_default()
    .to_string())
}

async fn fill_a_tube_like_a_sampler(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    // Signing in comes back to the sampler's page.
    c.goto(&app.url("/sample")).await?;
    assert_eq!(c.current_url().await?.path(), "/login");
    type_into(c, "#username", "li").await?;
    type_into(c, "#password", "correct horse battery").await?;
    c.find(Locator::Css("form button")).await?.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("barcode"))
        .await?;
    assert_eq!(c.current_url().await?.path(), "/sample");
    assert_eq!(
        active_id(c).await?,
        "barcode",
        "ready for the tube's barcode"
    );
    assert_eq!(value(c, "#pool_size").await?, "10", "10合1 by default");
    assert!(
        fits_the_phone(c).await?,
        "the sampler's page fits the phone"
    );
    screenshot(c, dir, "sample.png").await?;

    // 开管: a 10-in-1 tube, scanned in with Enter like a barcode gun.
    let barcode = c.find(Locator::Id("barcode")).await?;
    barcode.send_keys(&format!("yk4000001{ENTER}")).await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("scan"))
        .await
        .map_err(|e| format!("no tube page: {e}"))?;
    assert_eq!(c.current_url().await?.path(), "/sample/tubes/YK4000001");
    let text = c.find(Locator::Css("main")).await?.text().await?;
    assert!(text.contains("已采 0/10"), "{text}");

    // Ten people by their resident IDs, typed into the one input.
    for n in 1..=10u32 {
        assert_eq!(active_id(c).await?, "scan", "the scan input has the focus");
        let id = support::resident_id(500 + n);
        c.find(Locator::Id("scan"))
            .await?
            .send_keys(&format!("{id}{ENTER}"))
            .await?;
        let flash = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&format!(
                "//p[contains(@class, 'added') and contains(., '({n}/10)')]"
            )))
            .await
            .map_err(|e| format!("person {n} was not added: {e}"))?;
        assert!(flash.text().await?.starts_with("已加入"));
        if n == 1 {
            screenshot(c, dir, "tube-1.png").await?;
        }
    }
    let text = c.find(Locator::Css("main")).await?.text().await?;
    assert!(text.contains("已采 10/10"), "{text}");
    let full = c.find(Locator::Css(".full-note")).await?;
    assert!(full.is_displayed().await?);
    assert!(full.text().await?.contains("已满"), "full, and says so");
    assert_eq!(
        active_id(c).await?,
        "",
        "the focus moved off the scan input"
    );
    assert!(fits_the_phone(c).await?, "the full tube fits the phone");
    screenshot(c, dir, "tube-full.png").await?;

    // 封管, once the box says so.
    c.find(Locator::Css(".seal-form input[name=confirm]"))
        .await?
        .click()
        .await?;
    c.find(Locator::Css(".seal-form button"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".is-sealed"))
        .await
        .map_err(|e| format!("the tube did not show sealed: {e}"))?;
    let text = c.find(Locator::Css("main")).await?.text().await?;
    assert!(
        text.contains("已封管") && text.contains("已采 10/10"),
        "{text}"
    );
    assert!(
        c.find(Locator::Id("scan")).await.is_err(),
        "no more scanning once sealed"
    );
    assert!(fits_the_phone(c).await?, "the sealed tube fits the phone");
    screenshot(c, dir, "tube-sealed.png").await?;

    // What the lab and the command see.
    let token = app.login_as("command", "330784").await;
    let (status, tube) = app.get(&token, "/api/v1/tubes/YK4000001").await;
    assert_eq!(status, 200, "{tube}");
    assert_eq!(tube["members"], 10, "{tube}");
    assert_eq!(tube["sealed"], true, "{tube}");

    // The public list of sites with its sketch fits the phone too.
    let (status, body) = app
        .post(
            &token,
            "/api/v1/sites",
            json!({"name": "园丁社区采样点", "region": "330784001001", "address": "园丁路2号",
                   "hours": "08:00-20:00", "kind": "fixed", "serves": ["mandatory", "voluntary"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    c.goto(&app.url("/sites")).await?;
    let sketch = c.find(Locator::Css("svg.sketch")).await?;
    let (_, _, w, _) = sketch.rectangle().await?;
    assert!(
        w > 100.0 && w <= 390.0,
        "the sketch is drawn within the phone: {w}"
    );
    assert!(fits_the_phone(c).await?, "the sites page fits the phone");
    screenshot(c, dir, "sites.png").await?;
    c.find(Locator::Css(".site a[href$='/poster']"))
        .await?
        .click()
        .await?;
    let qr = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".qr svg"))
        .await?;
    let (_, _, w, h) = qr.rectangle().await?;
    assert!(
        w >= 200.0 && (w - h).abs() < 1.0,
        "the site poster's QR code is square and big enough to scan: {w}x{h}"
    );
    assert!(fits_the_phone(c).await?, "the site poster fits the phone");
    screenshot(c, dir, "site-poster.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sampler_fills_and_seals_a_tube_on_a_phone() {
    let driver = start_driver("a_sampler_fills_and_seals_a_tube_on_a_phone").await;
    let app = support::spawn().await;
    app.services
        .add_user(
            parse_new_user(
                "li",
                "grid_worker",
                "330784001001001",
                "correct horse battery",
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let client = connect(&driver, Screen::Phone).await;
    let outcome = fill_a_tube_like_a_sampler(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// A grid worker follows a 全员核酸 round on a phone: the coverage of their
/// grid, its 未检 list, and the employers with overdue workers.
async fn follow_a_round_like_a_grid_worker(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    const GRID: &str = "330784001001001";
    let town = app.login_as("town", "330784001").await;
    let upload = |path: &'static str, body: String| {
        app.http
            .post(app.url(path))
            .bearer_auth(&town)
            .body(body)
            .send()
    };
    let mut roll = String::from("网格编码,身份证号,姓名,手机号码\n");
    for n in 1..=3u32 {
        roll.push_str(&format!(
            "{GRID},{},居民{n},1390000000{n}\n",
            support::resident_id(700 + n)
        ));
    }
    assert_eq!(
        upload("/api/v1/residents/import", roll).await?.status(),
        200
    );
    let roster = format!(
        "单位名称,网格编码,行业,身份证号,姓名\n永康市某某快递有限公司城东营业部,{GRID},courier,{},快递员甲\n",
        support::resident_id(710)
    );
    assert_eq!(
        upload("/api/v1/rosters/import", roster).await?.status(),
        200
    );
    let command = app.login_as("command", "330784").await;
    let (status, round) = app
        .post(
            &command,
            "/api/v1/rounds",
            json!({"name": "第一轮全员核酸", "regions": ["330784001"],
                   "starts_at": "2022-01-28T08:00:00+08:00", "ends_at": "2022-01-29T04:00:00+08:00"}),
        )
        .await;
    assert_eq!(status, 201, "{round}");
    let id = round["id"].as_i64().expect("a round");

    // Signing in comes back to the round: the worker's own grid.
    c.goto(&app.url(&format!("/rounds/{id}"))).await?;
    assert_eq!(c.current_url().await?.path(), "/login");
    type_into(c, "#username", "zhao").await?;
    type_into(c, "#password", "correct horse battery").await?;
    c.find(Locator::Css("form button")).await?.click().await?;
    let row = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(&format!("r-{GRID}")))
        .await?;
    let text = row.text().await?;
    assert!(
        text.contains("园丁社区第一网格") && text.contains("0.0%"),
        "the worker's grid, nobody sampled yet: {text}"
    );
    assert!(fits_the_phone(c).await?, "the coverage fits the phone");
    screenshot(c, dir, "round.png").await?;

    // A scan elsewhere shows up on the open page without a reload: its
    // script polls the coverage JSON every few seconds.
    c.execute("window.__notReloaded = true; return true;", vec![])
        .await?;
    let sampler = app.login_as("grid_worker", GRID).await;
    let (s, _) = app
        .post(
            &sampler,
            "/api/v1/tubes",
            json!({"barcode": "BR0000009", "pool_size": 5, "category": "mandatory"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, body) = app
        .post(
            &sampler,
            "/api/v1/tubes/BR0000009/members",
            json!({"id_number": support::resident_id(701)}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let mut text = String::new();
    // Polls come every 5 s; a minute without the new figure is a failure.
    for _ in 0..120 {
        text = c
            .find(Locator::Id(&format!("r-{GRID}")))
            .await?
            .text()
            .await?;
        if text.contains("33.3%") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(text.contains("33.3%"), "one of three sampled, live: {text}");
    let kept = c
        .execute("return window.__notReloaded === true;", vec![])
        .await?;
    assert_eq!(kept, json!(true), "the page was not reloaded");
    let total = c.find(Locator::Id("r-total")).await?.text().await?;
    assert!(total.contains("33.3%"), "the total too: {total}");

    // The 未检 list, one tap away.
    c.find(Locator::Css(&format!("#r-{GRID} th a")))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".untested-list"))
        .await?;
    assert_eq!(
        c.current_url().await?.path(),
        format!("/rounds/{id}/untested/{GRID}")
    );
    let text = c.find(Locator::Css("main")).await?.text().await?;
    assert!(
        !text.contains("居民1") && text.contains("居民3") && text.contains("2 人"),
        "{text}"
    );
    assert!(fits_the_phone(c).await?, "the 未检 list fits the phone");
    screenshot(c, dir, "untested.png").await?;

    // The employers with overdue workers, under 更多.
    c.find(Locator::Css("details.more > summary"))
        .await?
        .click()
        .await?;
    c.find(Locator::Css(".more-menu a[href='/rolling']"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".employer"))
        .await?;
    let text = c.find(Locator::Css("main")).await?.text().await?;
    assert!(
        text.contains("永康市某某快递有限公司城东营业部") && text.contains("快递员甲"),
        "{text}"
    );
    assert!(fits_the_phone(c).await?, "the overdue list fits the phone");
    screenshot(c, dir, "rolling.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_worker_follows_a_round_on_a_phone() {
    let driver = start_driver("a_grid_worker_follows_a_round_on_a_phone").await;
    let app = support::spawn().await;
    app.services
        .add_user(
            parse_new_user(
                "zhao",
                "grid_worker",
                "330784001001001",
                "correct horse battery",
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let client = connect(&driver, Screen::Phone).await;
    let outcome = follow_a_round_like_a_grid_worker(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

async fn scan_a_venue_code(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    let village = app.login_as("village", "330784001001").await;
    let town = app.login_as("town", "330784001").await;
    let (_, v) = app
        .post(&village, "/api/v1/venues", json!({"name": "园丁超市", "kind": "supermarket", "region": "330784001001", "address": "园丁路8号"}))
        .await;
    let (_, v) = app
        .post(
            &town,
            &format!("/api/v1/venues/{}/approve", v["id"]),
            json!({}),
        )
        .await;
    let code = v["code"].as_str().expect("a venue code").to_string();
    let mut red = support::declaration();
    red["id_number"] = json!(support::resident_id(41));
    red["phone"] = json!("13900000041");
    red["health_code"] = json!("red");
    assert_eq!(app.declare(red).await.0, 201);

    // First time: who you are; then the big banner the staff can read.
    c.goto(&app.url(&format!("/v/{code}"))).await?;
    assert!(fits_the_phone(c).await?, "the check-in form fits the phone");
    type_into(c, "#id_number", "11010519491231002X").await?;
    type_into(c, "#name", "张三").await?;
    type_into(c, "#phone", "13800138000").await?;
    c.find(Locator::Id("check-in")).await?.click().await?;
    let banner = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("banner"))
        .await
        .map_err(|e| format!("no banner: {e}"))?;
    assert!(banner.text().await?.contains("绿码通行"));
    assert!(
        banner
            .attr("class")
            .await?
            .unwrap_or_default()
            .contains("hc-green")
    );
    let (_, _, w, h) = banner.rectangle().await?;
    assert!(
        w > 300.0 && h > 120.0,
        "large enough to read from a distance: {w}×{h}"
    );
    assert!(fits_the_phone(c).await?, "the banner fits the phone");
    screenshot(c, dir, "venue-green.png").await?;

    // The phone remembers: one tap.
    c.goto(&app.url(&format!("/v/{code}"))).await?;
    let button = c.find(Locator::Id("check-in")).await?;
    assert_eq!(button.text().await?, "一键登记进场");
    assert!(
        c.find(Locator::Id("id_number")).await.is_err(),
        "no form the second time"
    );
    button.click().await?;
    let banner = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("banner"))
        .await
        .map_err(|e| format!("no banner after one tap: {e}"))?;
    assert!(banner.text().await?.contains("绿码通行"));

    // Someone else on this phone: a red code is refused entry.
    c.goto(&app.url(&format!("/v/{code}?forget=1"))).await?;
    type_into(c, "#id_number", &support::resident_id(41)).await?;
    type_into(c, "#name", "张三").await?;
    type_into(c, "#phone", "13900000041").await?;
    c.find(Locator::Id("check-in")).await?.click().await?;
    let banner = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#banner.hc-red"))
        .await
        .map_err(|e| format!("no red banner: {e}"))?;
    assert!(banner.text().await?.contains("红码禁止"));
    screenshot(c, dir, "venue-red.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_scans_a_venue_code_on_a_phone() {
    let driver = start_driver("a_visitor_scans_a_venue_code_on_a_phone").await;
    let app = support::spawn().await;
    let client = connect(&driver, Screen::Phone).await;
    let outcome = scan_a_venue_code(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

async fn watch_the_dashboards_like_the_command(
    c: &Client,
    app: &TestApp,
    dir: &Path,
) -> Result<()> {
    let command = app.login_as("command", "330784").await;
    c.goto(&app.url("/dashboard/330784")).await?;
    type_into(c, "#username", "zhihui").await?;
    type_into(c, "#password", "correct horse battery").await?;
    c.find(Locator::Css("form button")).await?.click().await?;
    for (region, name) in [("330784", "city"), ("330784001", "town")] {
        if c.current_url().await?.path() != format!("/dashboard/{region}") {
            c.goto(&app.url(&format!("/dashboard/{region}"))).await?;
        }
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id(&format!("tile-{region}")))
            .await?;
        // Every tile the dashboard has is on the page, with its numbers.
        let (_, d) = app
            .get(&command, &format!("/api/v1/dashboard/{region}"))
            .await;
        let mut ids: Vec<String> = vec![region.to_string()];
        for t in d["tiles"].as_array().unwrap() {
            let code = t["code"].as_str().unwrap();
            ids.push(if t["direct"] == true {
                format!("{code}-d")
            } else {
                code.to_string()
            });
        }
        assert!(ids.len() > 2, "{region}: tiles {ids:?}");
        let shown = c.find_all(Locator::Css("section.dtile")).await?;
        assert_eq!(shown.len(), ids.len(), "{region}: one section per tile");
        for id in &ids {
            let tile = c.find(Locator::Id(&format!("tile-{id}"))).await?;
            let text = tile.text().await?;
            for word in [
                "来返人员",
                "在管人员",
                "今日核酸",
                "任务",
                "闭环率",
                "待办求助",
                "阳性",
            ] {
                assert!(
                    text.contains(word),
                    "{region} tile {id} lacks {word}: {text}"
                );
            }
        }
        for t in d["tiles"].as_array().unwrap() {
            let text = c.find(Locator::Css("main")).await?.text().await?;
            assert!(text.contains(t["name"].as_str().unwrap()), "{region}");
        }
        assert_eq!(c.find_all(Locator::Css(".chart svg")).await?.len(), 5);
        assert!(fits_the_phone(c).await?, "{region}: fits 390 px");
        screenshot(c, dir, &format!("dashboard-{name}.png")).await?;
    }

    // Live: a new arrival shows up without reloading.
    let before = c
        .find(Locator::Css("[data-n='330784001|arrivals_today']"))
        .await?
        .text()
        .await?;
    let mut d = support::declaration();
    d["id_number"] = json!(support::resident_id(77));
    assert_eq!(app.declare(d).await.0, 201);
    let mut after = before.clone();
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = c
            .find(Locator::Css("[data-n='330784001|arrivals_today']"))
            .await?
            .text()
            .await?;
        if after != before {
            break;
        }
    }
    assert_eq!(
        after.parse::<i64>()?,
        before.parse::<i64>()? + 1,
        "the number refreshed by itself"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_watches_the_city_and_a_town_dashboard() {
    let driver = start_driver("the_command_watches_the_city_and_a_town_dashboard").await;
    let app = support::spawn().await;
    support::with_xiluoyuan(&app).await;
    for (n, village) in [
        (61, "330784001001"),
        (62, "330784001002"),
        (63, "330784002001"),
    ] {
        let mut d = support::declaration();
        d["id_number"] = json!(support::resident_id(n));
        d["destination"]["village"] = json!(village);
        assert_eq!(app.declare(d).await.0, 201);
    }
    app.services
        .add_user(parse_new_user("zhihui", "command", "330784", "correct horse battery").unwrap())
        .await
        .unwrap();
    let client = connect(&driver, Screen::Phone).await;
    let outcome = watch_the_dashboards_like_the_command(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

async fn answer_an_instruction_like_a_grid_worker(
    c: &Client,
    app: &TestApp,
    dir: &Path,
    id: i64,
) -> Result<()> {
    // A photo from the phone's camera, as a file the picker hands over.
    let png: Vec<u8> = [0x89u8, b'P', b'N', b'G', 13, 10, 26, 10]
        .into_iter()
        .chain(b"a photo of the lane".iter().copied())
        .collect();
    let photo = dir.join("现场.png");
    std::fs::write(&photo, &png)?;

    c.goto(&app.url("/instructions")).await?;
    assert_eq!(c.current_url().await?.path(), "/login");
    type_into(c, "#username", "wang").await?;
    type_into(c, "#password", "correct horse battery").await?;
    c.find(Locator::Css("form button")).await?.click().await?;
    let link = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//a[contains(., '重点人员排查')]"))
        .await?;
    assert!(fits_the_phone(c).await?, "the inbox fits the phone");
    link.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("ack"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("acked"))
        .await?;
    type_into(c, "#answer-body", "已排查12户，无异常").await?;
    c.find(Locator::Id("photo"))
        .await?
        .send_keys(&photo.display().to_string())
        .await?;
    assert!(fits_the_phone(c).await?, "the answer form fits the phone");
    screenshot(c, dir, "instruction.png").await?;
    c.find(Locator::Css("#answer button[type=submit]"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//ul[@class='answers']/li[contains(., '已排查12户')]",
        ))
        .await
        .map_err(|e| format!("the answer should be listed: {e}"))?;

    // The sender sees it counted, and the photo is the one that was picked.
    let town = app.login_as("town", "330784001").await;
    let (_, v) = app.get(&town, &format!("/api/v1/instructions/{id}")).await;
    assert_eq!(
        (
            v["total"]["recipients"].as_i64(),
            v["total"]["acknowledged"].as_i64(),
            v["total"]["answered"].as_i64()
        ),
        (Some(2), Some(1), Some(1)),
        "{v}"
    );
    let answer = &v["answers"][0];
    assert_eq!(answer["has_photo"], true, "{v}");
    let stored = app
        .http
        .get(app.url(&format!(
            "/api/v1/instructions/{id}/answers/{}/photo",
            answer["id"]
        )))
        .bearer_auth(&town)
        .send()
        .await?
        .bytes()
        .await?;
    assert_eq!(stored.as_ref(), png.as_slice());

    // A camera-sized photo: the page shrinks it before sending, and the
    // answer arrives with it (the server takes 2 MB at most).
    c.delete_all_cookies().await?;
    c.goto(&app.url("/instructions")).await?;
    type_into(c, "#username", "li").await?;
    type_into(c, "#password", "correct horse battery").await?;
    c.find(Locator::Css("form button")).await?.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//a[contains(., '重点人员排查')]"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("photo"))
        .await?;
    type_into(c, "#answer-body", "已排查，附现场照片").await?;
    let picked = c
        .execute_async(
            r#"var done = arguments[arguments.length - 1];
            var w = 2400, h = 1800, c = document.createElement('canvas');
            c.width = w; c.height = h;
            var g = c.getContext('2d'), d = g.createImageData(w, h);
            for (var y = 0; y < h; y++) for (var x = 0; x < w; x++) {
              var i = (y * w + x) * 4, n = (Math.random() * 24) | 0;
              d.data[i] = (x * 255 / w + n) | 0; d.data[i + 1] = (y * 255 / h + n) | 0;
              d.data[i + 2] = 128 + n; d.data[i + 3] = 255;
            }
            g.putImageData(d, 0, 0);
            c.toBlob(function (b) {
              var input = document.getElementById('photo');
              var dt = new DataTransfer();
              dt.items.add(new File([b], 'IMG_0001.JPG', { type: 'image/jpeg' }));
              input.files = dt.files;
              input.dispatchEvent(new Event('change', { bubbles: true }));
              // 反馈 tapped at once, while the photo is still being shrunk.
              var busy = input.hasAttribute('data-downscaling');
              document.querySelector('#answer button[type=submit]').click();
              done([b.size, busy]);
            }, 'image/jpeg', 1.0);"#,
            vec![],
        )
        .await?;
    assert!(
        picked[0].as_u64().unwrap_or(0) > 1024 * 1024,
        "a camera-sized photo: {picked}"
    );
    assert_eq!(picked[1], true, "sent while shrinking: {picked}");
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//ul[@class='answers']/li[contains(., '附现场照片')]",
        ))
        .await
        .map_err(|e| format!("the answer with the big photo should be listed: {e}"))?;
    let (_, v) = app.get(&town, &format!("/api/v1/instructions/{id}")).await;
    assert_eq!(v["total"]["answered"], 2, "{v}");
    let second = &v["answers"][1];
    let stored = app
        .http
        .get(app.url(&format!(
            "/api/v1/instructions/{id}/answers/{}/photo",
            second["id"]
        )))
        .bearer_auth(&town)
        .send()
        .await?
        .bytes()
        .await?;
    assert!(
        stored.len() < 1024 * 1024,
        "the form waited for the shrunk photo: {} bytes",
        stored.len()
    );
    assert!(stored.starts_with(&[0xff, 0xd8, 0xff]), "a JPEG");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_worker_acknowledges_and_answers_an_instruction_on_a_phone() {
    let driver =
        start_driver("a_grid_worker_acknowledges_and_answers_an_instruction_on_a_phone").await;
    let app = support::spawn().await;
    for (name, grid) in [("wang", "330784001001001"), ("li", "330784001002001")] {
        app.services
            .add_user(parse_new_user(name, "grid_worker", grid, "correct horse battery").unwrap())
            .await
            .unwrap();
    }
    let town = app.login_as("town", "330784001").await;
    let (s, r) = app
        .post(
            &town,
            "/api/v1/instructions",
            json!({"title": "今晚重点人员排查", "body": "请逐户排查14天内来返人员。",
                   "due_at": "2022-01-28T21:00:00+08:00", "regions": ["330784001"],
                   "roles": ["grid_worker"]}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    let client = connect(&driver, Screen::Phone).await;
    let outcome = answer_an_instruction_like_a_grid_worker(&client, &app, &driver.shots, id).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// Signs in on the login page a protected page sent the phone to.
async fn sign_in_on_the_phone(c: &Client, app: &TestApp, path: &str, user: &str) -> Result<()> {
    c.delete_all_cookies().await?;
    c.goto(&app.url(path)).await?;
    assert_eq!(c.current_url().await?.path(), "/login");
    type_into(c, "#username", user).await?;
    type_into(c, "#password", "correct horse battery").await?;
    c.find(Locator::Css("form button")).await?.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_url(&url::Url::parse(&app.url(path))?)
        .await?;
    Ok(())
}

async fn report_a_febrile_purchase_and_judge_its_alert(
    c: &Client,
    app: &TestApp,
    dir: &Path,
) -> Result<()> {
    // The pharmacy clerk (its village's staff) records a febrile buyer.
    sign_in_on_the_phone(c, app, "/pharmacy", "clerk").await?;
    // A phone's screen: no sideways scroll, thumb-sized taps, the buyer first.
    check_screen(c).await?;
    in_first_screen(c, "#id_number").await?;
    screenshot(c, dir, "pharmacy-form.png").await?;
    type_into(c, "#id_number", &support::resident_id(51)).await?;
    type_into(c, "#name", "陈发热").await?;
    type_into(c, "#phone", "13900000051").await?;
    pick(c, "health_code", "黄码").await?;
    type_into(c, "#temperature", "38.4").await?;
    c.find(Locator::Css("input[name=symptoms][value=fever]"))
        .await?
        .click()
        .await?;
    pick(c, "drugs_0_class", "退热").await?;
    type_into(c, "#drugs_0_name", "布洛芬").await?;
    type_into(c, "#drugs_0_qty", "1").await?;
    c.find(Locator::Id("record")).await?.click().await?;
    let flash = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("flash"))
        .await
        .map_err(|e| format!("not recorded: {e}"))?;
    assert!(
        flash.text().await?.contains("发热就诊转运"),
        "a transfer was opened"
    );
    let list = c.find(Locator::Id("purchases")).await?.text().await?;
    assert!(list.contains("陈**"), "the buyer masked: {list}");
    check_screen(c).await?;
    screenshot(c, dir, "pharmacy-recorded.png").await?;

    // The town signs for the alert, then judges it a suspected event.
    sign_in_on_the_phone(c, app, "/alerts", "zhen").await?;
    let ack = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("button[id^=ack-]"))
        .await?;
    let card = c.find(Locator::Css("li.alert")).await?.text().await?;
    assert!(
        card.contains("发热红黄码购药") && card.contains("陈**"),
        "{card}"
    );
    check_screen(c).await?;
    in_first_screen(c, "button[id^=ack-]").await?;
    screenshot(c, dir, "alert-open.png").await?;
    ack.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("button[id^=suspected-]"))
        .await?;
    assert!(body_text(c).await?.contains("已签收"));
    check_screen(c).await?;
    screenshot(c, dir, "alert-acked.png").await?;
    type_into(c, "textarea[name=note]", "购药人已联系，安排转运").await?;
    c.find(Locator::Css("button[id^=suspected-]"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("li.alert-suspected"))
        .await
        .map_err(|e| format!("not judged: {e}"))?;
    assert!(body_text(c).await?.contains("购药人已联系"));
    check_screen(c).await?;
    screenshot(c, dir, "alert-judged.png").await?;

    // The buyer reaches the fever clinic: its staff record the visit on
    // their phone page, and the pharmacy's referral closes.
    sign_in_on_the_phone(c, app, "/fever-clinic", "clerk").await?;
    check_screen(c).await?;
    in_first_screen(c, "#visit_id").await?;
    type_into(c, "#visit_id", "FC-0001").await?;
    type_into(c, "#id_number", &support::resident_id(51)).await?;
    type_into(c, "#name", "陈发热").await?;
    type_into(c, "#phone", "13900000051").await?;
    type_into(c, "#temperature", "38.2").await?;
    type_into(c, "#test_barcode", "FC20220128001").await?;
    pick(c, "test_result", "待出").await?;
    c.find(Locator::Id("record")).await?.click().await?;
    let flash = match c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("flash"))
        .await
    {
        Ok(f) => f,
        Err(e) => return Err(format!("visit not recorded: {e}: {}", body_text(c).await?).into()),
    };
    assert!(flash.text().await?.contains("已登记就诊"));
    let open_referrals = support::count(
        app,
        "SELECT COUNT(*) FROM tasks WHERE kind = 'fever_transfer' AND state <> 'closed'",
    )
    .await;
    assert_eq!(
        open_referrals, 0,
        "the visit closed the pharmacy's referral"
    );
    check_screen(c).await?;
    screenshot(c, dir, "fever-visit-recorded.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pharmacy_clerk_reports_and_the_town_judges_the_alert_on_a_phone() {
    let driver =
        start_driver("a_pharmacy_clerk_reports_and_the_town_judges_the_alert_on_a_phone").await;
    let app = support::spawn().await;
    support::approved_venue(&app, "pharmacy", "330784002001", "康宁大药房").await;
    support::approved_venue(&app, "fever_clinic", "330784002001", "第一人民医院发热门诊").await;
    for (name, role, region) in [
        ("clerk", "village", "330784002001"),
        ("zhen", "town", "330784002"),
    ] {
        app.services
            .add_user(parse_new_user(name, role, region, "correct horse battery").unwrap())
            .await
            .unwrap();
    }
    let client = connect(&driver, Screen::Phone).await;
    let outcome = report_a_febrile_purchase_and_judge_its_alert(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// Signs in on the login page (a previous session's cookie is replaced).
async fn sign_in_as(c: &Client, app: &TestApp, name: &str, next: &str) -> Result<()> {
    c.goto(&app.url(&format!("/login?next={}", next.replace('/', "%2F"))))
        .await?;
    type_into(c, "#username", name).await?;
    type_into(c, "#password", "correct horse battery").await?;
    c.find(Locator::Css("main form button"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("nav.tabs-main"))
        .await
        .map_err(|e| format!("{name} not signed in: {e}"))?;
    assert_eq!(c.current_url().await?.path(), next);
    Ok(())
}

async fn report_and_pass_the_gates(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    for (name, role, region) in [
        ("xu", "town", "330784002"),
        ("kakou", "village", "330784002001"),
        ("zhou", "grid_worker", "330784001001001"),
    ] {
        app.services
            .add_user(parse_new_user(name, role, region, "correct horse battery").unwrap())
            .await
            .unwrap();
    }

    // A host reports a 60-guest wedding on the public form.
    c.goto(&app.url("/report-gathering")).await?;
    assert!(fits_the_phone(c).await?, "the report form fits the phone");
    c.find(Locator::Id("kind"))
        .await?
        .select_by_value("wedding")
        .await?;
    set_date(c, "date", "2022-02-09").await?;
    c.find(Locator::Id("village"))
        .await?
        .select_by_value("330784002001")
        .await?;
    type_into(c, "#address", "新华路8号文化礼堂").await?;
    type_into(c, "#tables", "6").await?;
    type_into(c, "#headcount", "60").await?;
    type_into(c, "#out_of_town", "2").await?;
    type_into(c, "#host_name", "李四").await?;
    type_into(c, "#host_phone", "13800000001").await?;
    type_into(c, "#cook_name", "王厨").await?;
    type_into(c, "#cook_phone", "13800000002").await?;
    c.find(Locator::Id("cook_health_cert"))
        .await?
        .click()
        .await?;
    type_into(
        c,
        "#guests",
        &format!(
            "宾客一,{},13900000001\n宾客二,{},13900000002,外地",
            support::resident_id(1),
            support::resident_id(2)
        ),
    )
    .await?;
    c.find(Locator::Id("health_pledge")).await?.click().await?;
    screenshot(c, dir, "gathering-form.png").await?;
    c.find(Locator::Css("form.gathering-report button[type=submit]"))
        .await?
        .click()
        .await?;
    let state = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("gathering-state"))
        .await
        .map_err(|e| format!("no receipt: {e}"))?;
    assert!(state.text().await?.contains("待村社区审核"));
    let receipt = c.current_url().await?;
    assert!(fits_the_phone(c).await?, "the receipt fits the phone");
    screenshot(c, dir, "gathering-receipt.png").await?;

    // The village has checked it (its API); the town approves on its page.
    let village = app.login_as("village", "330784002001").await;
    let (s, _) = app
        .post(&village, "/api/v1/gatherings/1/approve", json!({}))
        .await;
    assert_eq!(s, 200);
    sign_in_as(c, app, "xu", "/gatherings").await?;
    let text = c.find(Locator::Css("main")).await?.text().await?;
    assert!(text.contains("待您审核"), "{text}");
    screenshot(c, dir, "gathering-review-list.png").await?;
    c.find(Locator::Css("#gathering-1 h3 a"))
        .await?
        .click()
        .await?;
    let approve = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form[action='/gatherings/1/approve'] button"))
        .await?;
    assert!(fits_the_phone(c).await?, "the review page fits the phone");
    screenshot(c, dir, "gathering-review.png").await?;
    approve.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//span[contains(@class,'state') and .='已批准']",
        ))
        .await
        .map_err(|e| format!("not approved: {e}"))?;
    screenshot(c, dir, "gathering-approved.png").await?;
    c.goto(receipt.as_str()).await?;
    c.find(Locator::Id("venue-code")).await?;
    screenshot(c, dir, "gathering-receipt-code.png").await?;

    // A checkpoint worker records a 转运 on the checkpoint page.
    support::approved_venue(app, "checkpoint", "330784002001", "义东高速卡口").await;
    sign_in_as(c, app, "kakou", "/checkpoints").await?;
    type_into(c, "#plate", "浙G12345").await?;
    type_into(c, "#travellers_0_name", "赵六").await?;
    type_into(c, "#travellers_0_id_number", &support::resident_id(9)).await?;
    type_into(c, "#travellers_0_phone", "13900000009").await?;
    type_into(c, "#travellers_0_origin_county", "110106").await?;
    c.find(Locator::Id("travellers_0_health_code"))
        .await?
        .select_by_value("green")
        .await?;
    c.find(Locator::Id("travellers_0_destination_village"))
        .await?
        .select_by_value("330784001001")
        .await?;
    type_into(c, "#travellers_0_destination_address", "园丁路2号").await?;
    c.find(Locator::Id("travellers_0_decision"))
        .await?
        .select_by_value("transfer")
        .await?;
    assert!(fits_the_phone(c).await?, "the passage form fits the phone");
    screenshot(c, dir, "checkpoint-form.png").await?;
    c.find(Locator::Css("form.passage button[type=submit]"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//p[contains(@class,'success')]"))
        .await
        .map_err(|e| format!("not recorded: {e}"))?;
    let list = c.find(Locator::Id("passages")).await?.text().await?;
    assert!(list.contains("浙G12345") && list.contains("转运"), "{list}");
    c.execute(
        "document.getElementById('passages').scrollIntoView()",
        vec![],
    )
    .await?;
    assert!(fits_the_phone(c).await?, "the day's list fits the phone");
    screenshot(c, dir, "checkpoint-recorded.png").await?;

    // The destination grid takes the hand-over through its steps.
    sign_in_as(c, app, "zhou", "/transfers").await?;
    for (button, shown, shot) in [
        ("已派车", "已派车", "transfer-dispatched.png"),
        ("已接到", "已接到", "transfer-picked-up.png"),
        ("已交接", "已交接", "transfer-handed-over.png"),
    ] {
        c.find(Locator::XPath(&format!(
            "//li[contains(@class,'transfer')]//button[.='{button}']"
        )))
        .await?
        .click()
        .await?;
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&format!(
                "//li[contains(@class,'transfer')]//span[contains(@class,'state') and .='{shown}']"
            )))
            .await
            .map_err(|e| format!("not {shown}: {e}"))?;
        assert!(fits_the_phone(c).await?, "the board fits the phone");
        screenshot(c, dir, shot).await?;
    }
    assert!(
        c.find(Locator::Css("li.transfer form")).await.is_err(),
        "no step after 已交接"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wedding_is_reported_and_approved_and_a_transfer_is_handed_over_on_phones() {
    let driver = start_driver("gate_pages").await;
    let app = support::spawn().await;
    let client = connect(&driver, Screen::Phone).await;
    let outcome = report_and_pass_the_gates(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// 应急演练 on the command's phone: start the seed's scenario from the page,
/// read the after-action report, purge the drill.
async fn run_a_drill_from_the_phone(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    sign_in_on_the_phone(c, app, "/drills", "zhihui").await?;
    check_screen(c).await?;
    let script = value(c, "#script").await?;
    assert!(
        script.contains("cold_chain"),
        "the seed's scenario is filled in"
    );
    screenshot(c, dir, "drills.png").await?;
    c.find(Locator::Css("#start-drill button[type=submit]"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("bottleneck"))
        .await
        .map_err(|e| format!("no report: {e}"))?;
    let text = body_text(c).await?;
    for thread in [
        "returnee",
        "pharmacy_fever",
        "station_red_code",
        "cold_chain",
    ] {
        assert!(text.contains(thread), "{thread} in the report");
    }
    assert!(text.contains("进行中"));
    check_screen(c).await?;
    screenshot(c, dir, "drill-report.png").await?;
    c.find(Locator::Css("input[name=confirm]"))
        .await?
        .click()
        .await?;
    let purge = c
        .find(Locator::XPath("//button[contains(., '清除演练数据')]"))
        .await?;
    purge.click().await?;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath("//strong[contains(., '已清除')]"))
        .await
        .map_err(|e| format!("not purged: {e}"))?;
    let left = support::count(
        app,
        "SELECT COUNT(*) FROM persons WHERE drill_id IS NOT NULL",
    )
    .await;
    assert_eq!(left, 0, "the drill's people are gone");
    check_screen(c).await?;
    screenshot(c, dir, "drill-purged.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_runs_a_drill_on_a_phone() {
    let driver = start_driver("the_command_runs_a_drill_on_a_phone").await;
    let app = support::spawn().await;
    app.services
        .add_user(parse_new_user("zhihui", "command", "330784", "correct horse battery").unwrap())
        .await
        .unwrap();
    let client = connect(&driver, Screen::Phone).await;
    let outcome = run_a_drill_from_the_phone(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// A town officer on a phone registers a cold store and a market, a batch
/// at the cold store, moves it to the market and records it positive: the
/// trace-back shows the market's seal task and its deadline.
async fn trace_a_positive_batch(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    app.services
        .add_user(parse_new_user("gong", "town", "330784001", "correct horse battery").unwrap())
        .await
        .unwrap();
    sign_in_as(c, app, "gong", "/goods").await?;
    c.find(Locator::Id("new-batch")).await?.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("register-holder"))
        .await?;
    check_screen(c).await?;
    screenshot(c, dir, "goods-new.png").await?;
    for (name, kind) in [("永康冷库", "cold_store"), ("城西农贸市场", "market")] {
        type_into(c, "#name", name).await?;
        c.find(Locator::Id("kind"))
            .await?
            .select_by_value(kind)
            .await?;
        type_into(c, "#grid", "330784001001001").await?;
        c.find(Locator::Id("add-holder")).await?.click().await?;
        // The page after the redirect offers the new holder for a batch.
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&format!(
                "//select[@id='holder']/option[contains(., '{name}')]"
            )))
            .await
            .map_err(|e| format!("{name} not registered: {e}"))?;
    }

    // The batch, with two of its three certificates.
    type_into(c, "#trace_code", "CC2022-0101").await?;
    type_into(c, "#product", "冷冻牛肉").await?;
    type_into(c, "#origin", "巴西").await?;
    pick(c, "holder", "永康冷库（冷库）").await?;
    type_into(c, "#quantity", "120").await?;
    c.find(Locator::Id("inspection")).await?.click().await?;
    c.find(Locator::Id("disinfection")).await?.click().await?;
    check_screen(c).await?;
    screenshot(c, dir, "goods-batch-form.png").await?;
    c.find(Locator::Id("register")).await?.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//p[@id='flash' and contains(., '批次已登记')]",
        ))
        .await
        .map_err(|e| format!("batch not registered: {e}"))?;
    assert!(c.current_url().await?.path().starts_with("/goods/batches/"));
    check_screen(c).await?;
    screenshot(c, dir, "goods-batch.png").await?;

    // Moved on to the market.
    pick(c, "to", "城西农贸市场（农贸市场）").await?;
    c.find(Locator::Id("move")).await?.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//p[@id='flash' and contains(., '流向已记录')]",
        ))
        .await
        .map_err(|e| format!("not moved: {e}"))?;
    let moves = c.find(Locator::Css("ul.moves")).await?.text().await?;
    assert!(
        moves.contains("永康冷库 → 城西农贸市场") && moves.contains("120"),
        "{moves}"
    );
    check_screen(c).await?;
    screenshot(c, dir, "goods-moved.png").await?;

    // A stallholder works at the market (the rolling roster, by the API).
    let api = app.login_as("town", "330784001").await;
    let r = app
        .http
        .post(app.url("/api/v1/rosters/import"))
        .bearer_auth(&api)
        .body(format!(
            "单位名称,网格编码,行业,身份证号,姓名,手机号码\n城西农贸市场,330784001001001,cold_chain,{},摊主甲,\n",
            support::resident_id(31)
        ))
        .send()
        .await?;
    assert_eq!(r.status(), 200);

    // Positive: the trace-back seals the market within 2 hours.
    c.find(Locator::Id("positive")).await?.click().await?;
    let seals = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("seals"))
        .await
        .map_err(|e| format!("no trace-back: {e}"))?;
    let text = seals.text().await?;
    assert!(
        text.contains("城西农贸市场"),
        "the market is sealed: {text}"
    );
    assert!(
        !text.contains("永康冷库"),
        "the start is not sealed: {text}"
    );
    let summary = c.find(Locator::Id("summary")).await?.text().await?;
    assert!(
        summary.contains("CC2022-0101") && summary.contains("时限"),
        "{summary}"
    );
    assert!(body_text(c).await?.contains("已启动溯源"));
    check_screen(c).await?;
    screenshot(c, dir, "goods-trace-back.png").await?;
    let trace_back = c.current_url().await?;
    // The 协查 list holds the market's stallholder.
    c.find(Locator::Id("assist-list")).await?.click().await?;
    let h1 = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//h1[contains(., '溯源协查')]"))
        .await
        .map_err(|e| format!("no 协查 list: {e}"))?;
    assert!(h1.text().await?.contains("CC2022-0101"));
    let text = body_text(c).await?;
    assert!(text.contains("溯源协查") && text.contains("摊"), "{text}");
    assert!(fits_the_phone(c).await?, "the 协查 list fits the phone");
    screenshot(c, dir, "goods-assist-list.png").await?;
    c.goto(trace_back.as_str()).await?;
    // The batch page now points at the trace-back instead of the buttons.
    c.find(Locator::Css("#summary a code"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#trace-back a"))
        .await?;
    assert!(c.find(Locator::Id("positive")).await.is_err());
    check_screen(c).await?;
    screenshot(c, dir, "goods-batch-positive.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_town_officer_traces_a_positive_batch_on_a_phone() {
    let driver = start_driver("goods_pages").await;
    let app = support::spawn().await;
    let client = connect(&driver, Screen::Phone).await;
    let outcome = trace_a_positive_batch(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
