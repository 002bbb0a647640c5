//! The arrival's journey on a 390×844 phone, in headless Chromium: declare
//! (with the 途经地 and 境外 sections open), read the receipt (the answer
//! first: measure, next step, next test day, the health-code block with its
//! QR code; the check-in form after them), check in at 37.5 °C typed the way
//! people type it, then lose the receipt and get it back by document number,
//! phone and the code texted through the Notifier.
//!
//! Every screen: nothing scrolls sideways, tap targets are at least 44 px.
//! Screenshots are kept under target/screenshots/the_arrival_on_a_phone/.

mod support;

use std::path::Path;
use std::time::Duration;

use fantoccini::{Client, Locator};
use support::TestApp;
use support::browser::{
    Result, Screen, body_text, check_screen, connect, in_first_screen, pick, screenshot, set_date,
    start_driver, type_into, value,
};
use support::sms::{Inbox, spawn_with_inbox};

const DOC: &str = "11010519491231002X";
const PHONE: &str = "13800138000";

/// The top and bottom of an element, in page pixels.
async fn span(c: &Client, css: &str) -> Result<(f64, f64)> {
    let e = c.find(Locator::Css(css)).await?;
    let v = c
        .execute(
            "const r = arguments[0].getBoundingClientRect();\
             return [r.top + window.scrollY, r.bottom + window.scrollY];",
            vec![serde_json::to_value(&e)?],
        )
        .await?;
    Ok((v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0)))
}

async fn open_fold(c: &Client, n: usize) -> Result<()> {
    let folds = c.find_all(Locator::Css("details.fold > summary")).await?;
    folds
        .get(n)
        .ok_or_else(|| format!("no fold {n}"))?
        .click()
        .await?;
    Ok(())
}

async fn declare(c: &Client, app: &TestApp, dir: &Path) -> Result<String> {
    c.goto(&app.url("/declare")).await?;
    check_screen(c).await?;
    let link = c.find(Locator::Css("a[href='/s/recover']")).await?;
    assert!(
        link.text().await?.contains("找回"),
        "the form offers a way back to a lost receipt"
    );
    type_into(c, "#name", "张三").await?;
    type_into(c, "#id_number", DOC).await?;
    type_into(c, "#phone", PHONE).await?;
    pick(c, "originl0", "北京市").await?;
    pick(c, "originl1", "市辖区").await?;
    pick(c, "originl2", "丰台区").await?;
    pick(c, "originl3", "西罗园街道").await?;
    set_date(c, "origin_departed_on", "2022-01-26").await?;

    // 途经地 and 境外 open: still nothing sideways on a 390 px phone.
    open_fold(c, 0).await?;
    let stop = c.find(Locator::Css("#itinerary_0_from")).await?;
    assert!(stop.is_displayed().await?, "the itinerary opened");
    // The longest township name in the divisions: its select must still fit.
    pick(c, "itinerary_0_l0", "内蒙古自治区").await?;
    pick(c, "itinerary_0_l1", "赤峰市").await?;
    pick(c, "itinerary_0_l2", "巴林右旗").await?;
    pick(
        c,
        "itinerary_0_l3",
        "内蒙古赤峰冶金化工开发区管理委员会巴林右旗产业园",
    )
    .await?;
    set_date(c, "itinerary_0_from", "2022-01-25").await?;
    set_date(c, "itinerary_0_to", "2022-01-26").await?;
    check_screen(c).await?;
    screenshot(c, dir, "declare-itinerary.png").await?;
    open_fold(c, 1).await?;
    // 境外: by name, the code stored.
    let country = c.find(Locator::Id("abroad_country")).await?;
    country.clone().select_by_label("日本").await?;
    assert_eq!(value(c, "#abroad_country").await?, "JP");
    check_screen(c).await?;
    screenshot(c, dir, "declare-abroad.png").await?;
    // Not this traveller, after all.
    country.select_by_value("").await?;

    set_date(c, "arrival_date", "2022-01-28").await?;
    c.find(Locator::Id("arrival_mode"))
        .await?
        .select_by_label("火车")
        .await?;
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
    c.find(Locator::Css("form.declare button[type=submit]"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#verdict"))
        .await
        .map_err(|e| format!("no receipt page: {e}"))?;
    let receipt = c.find(Locator::Css(".receipt-code")).await?.text().await?;
    assert_eq!(c.current_url().await?.path(), format!("/s/{receipt}"));
    Ok(receipt)
}

/// The receipt leads with the answer; the check-in form comes after it.
async fn read_the_receipt(c: &Client, dir: &Path) -> Result<()> {
    for css in [
        "#verdict .verdict-measure",
        "#verdict .verdict-next",
        "#next-test",
        "#health-code",
        "#health-code .code-qr svg",
    ] {
        in_first_screen(c, css).await?;
    }
    let measure = c
        .find(Locator::Css("#verdict .verdict-measure"))
        .await?
        .text()
        .await?;
    assert!(measure.starts_with("14天集中隔离"), "{measure}");
    let next = c
        .find(Locator::Css("#verdict .verdict-next"))
        .await?
        .text()
        .await?;
    assert!(next.contains("集中隔离"), "{next}");
    let test = c.find(Locator::Id("next-test")).await?.text().await?;
    assert!(
        test.contains("下次核酸检测") && test.contains("2022年1月28日") && test.contains("第3天"),
        "the next test is today, day 3: {test}"
    );

    // The colour: a large block in the colour, its name in words, the QR code.
    let block = c.find(Locator::Id("health-code")).await?;
    let colour = c
        .find(Locator::Css("#health-code .code-colour"))
        .await?
        .text()
        .await?;
    let class = block.attr("class").await?.unwrap_or_default();
    let expected = match colour.as_str() {
        "绿码" => "code-block-green",
        "黄码" => "code-block-yellow",
        "红码" => "code-block-red",
        other => return Err(format!("no colour named: {other}").into()),
    };
    assert!(class.contains(expected), "{colour} in {class}");
    let background = c
        .execute(
            "return getComputedStyle(arguments[0]).backgroundColor",
            vec![serde_json::to_value(&block)?],
        )
        .await?;
    assert_ne!(
        background.as_str(),
        Some("rgba(0, 0, 0, 0)"),
        "the block is filled with the colour"
    );
    let (_, _, w, h) = block.rectangle().await?;
    assert!(w > 340.0 && h > 140.0, "a large block: {w}×{h}");
    let (_, _, qw, qh) = c
        .find(Locator::Css("#health-code .code-qr svg"))
        .await?
        .rectangle()
        .await?;
    assert!(
        qw >= 120.0 && (qw - qh).abs() < 1.0,
        "a scannable QR: {qw}×{qh}"
    );

    // The check-in form after the answer.
    let (_, answer_end) = span(c, "#health-code").await?;
    let (_, verdict_end) = span(c, "#verdict").await?;
    let (form_top, _) = span(c, "form.check-in-form").await?;
    assert!(
        form_top > answer_end && form_top > verdict_end,
        "the check-in form ({form_top}) comes after the answer ({verdict_end}, {answer_end})"
    );
    check_screen(c).await?;
    screenshot(c, dir, "receipt.png").await?;
    Ok(())
}

async fn check_in(c: &Client, dir: &Path) -> Result<()> {
    // Typed as on a phone with a European keyboard.
    type_into(c, "#temperature", "37,5").await?;
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
    let text = done.text().await?;
    assert!(text.contains("37.5℃"), "{text}");
    let alarm = c.find(Locator::Css("#check-in .alarm")).await?;
    assert!(
        alarm.text().await?.contains("发热门诊"),
        "37.5 °C calls for the fever clinic"
    );
    check_screen(c).await?;
    screenshot(c, dir, "checked-in.png").await?;
    Ok(())
}

async fn recover(
    c: &Client,
    app: &TestApp,
    inbox: &Inbox,
    receipt: &str,
    dir: &Path,
) -> Result<()> {
    // A lost screenshot: start from the form, as a new visitor would.
    c.goto(&app.url("/declare")).await?;
    c.find(Locator::Css("a[href='/s/recover']"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form.recover"))
        .await?;
    in_first_screen(c, "form.recover button[type=submit]").await?;
    check_screen(c).await?;
    screenshot(c, dir, "recover.png").await?;
    c.find(Locator::Id("id_type"))
        .await?
        .select_by_label("居民身份证")
        .await?;
    type_into(c, "#id_number", DOC).await?;
    type_into(c, "#phone", PHONE).await?;
    c.find(Locator::Css("form.recover button[type=submit]"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("code"))
        .await
        .map_err(|e| format!("no code form: {e}"))?;
    let said = c.find(Locator::Id("sent")).await?.text().await?;
    assert!(said.contains("验证码已发送"), "{said}");
    check_screen(c).await?;
    screenshot(c, dir, "recover-code.png").await?;
    let code = inbox
        .code(PHONE, 1)
        .await
        .ok_or("no code texted to the phone")?;
    type_into(c, "#code", &code).await?;
    c.find(Locator::Css("form.recover-code button[type=submit]"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#verdict"))
        .await
        .map_err(|e| format!("the code did not open the receipt: {e}"))?;
    assert_eq!(c.current_url().await?.path(), format!("/s/{receipt}"));
    let text = body_text(c).await?;
    assert!(
        text.contains("今日已打卡 37.5℃"),
        "the same receipt: {text}"
    );
    check_screen(c).await?;
    screenshot(c, dir, "recovered.png").await?;
    Ok(())
}

async fn journey(c: &Client, app: &TestApp, inbox: &Inbox, dir: &Path) -> Result<()> {
    let receipt = declare(c, app, dir).await?;
    read_the_receipt(c, dir).await?;
    check_in(c, dir).await?;
    recover(c, app, inbox, &receipt, dir).await?;

    // The same receipt in English leads the same way and fits too.
    c.goto(&app.url(&format!("/s/{receipt}?lang=en"))).await?;
    for css in ["#verdict .verdict-measure", "#next-test", "#health-code"] {
        in_first_screen(c, css).await?;
    }
    let test = c.find(Locator::Id("next-test")).await?.text().await?;
    assert!(
        test.contains("Next test") && test.contains("28 Jan 2022"),
        "{test}"
    );
    let colour = c
        .find(Locator::Css("#health-code .code-colour"))
        .await?
        .text()
        .await?;
    assert!(
        ["Green", "Yellow", "Red"].contains(&colour.as_str()),
        "{colour}"
    );
    check_screen(c).await?;
    screenshot(c, dir, "receipt-en.png").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_arrival_on_a_phone() {
    let driver = start_driver("the_arrival_on_a_phone").await;
    let (app, inbox) = spawn_with_inbox().await;
    support::with_xiluoyuan(&app).await;
    let client = connect(&driver, Screen::Phone).await;
    let outcome = journey(&client, &app, &inbox, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

/// Someone whose measure has ended: the receipt says so first, and the
/// printable release notice fits the phone too.
async fn read_the_release(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    use chrono::{TimeZone, Utc};
    let day = |d: u32| Utc.with_ymd_and_hms(2022, 1, d, 2, 0, 0).unwrap();
    app.clock.set(day(6));
    let mut d = support::declaration();
    d["origin"]["departed_on"] = "2022-01-05".into();
    d["arrival"]["date"] = "2022-01-06".into();
    let (s, r) = app.declare(d).await;
    assert_eq!(s, 201, "{r}");
    let person = r["person_id"].as_i64().unwrap();
    let receipt = r["receipt"].as_str().unwrap().to_string();
    for d in 6..28 {
        app.clock.set(day(d));
        let command = app.login_as("command", "330784").await;
        let (s, r) = app
            .post(
                &command,
                "/api/v1/tests",
                serde_json::json!({"person_id": person, "sampled_at": format!("2022-01-{d:02}T09:00:00+08:00"), "result": "negative"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
    }
    app.clock.set(day(28));
    app.services.run_jobs().await?;
    let town = app.login_as("town", "330784001").await;
    let (s, r) = app
        .post(
            &town,
            &format!("/api/v1/persons/{person}/release"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, 200, "{r}");

    c.goto(&app.url(&format!("/s/{receipt}"))).await?;
    in_first_screen(c, "#verdict").await?;
    in_first_screen(c, ".released a.button").await?;
    let next = c.find(Locator::Id("verdict")).await?.text().await?;
    assert!(next.contains("已解除"), "{next}");
    assert!(
        c.find(Locator::Id("next-test")).await.is_err(),
        "no next test once released"
    );
    check_screen(c).await?;
    screenshot(c, dir, "released.png").await?;
    c.find(Locator::Css(".released a.button"))
        .await?
        .click()
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("article.notice"))
        .await?;
    assert_eq!(
        c.current_url().await?.path(),
        format!("/s/{receipt}/release")
    );
    let text = body_text(c).await?;
    assert!(text.contains("解除"), "{text}");
    check_screen(c).await?;
    screenshot(c, dir, "release-notice.png").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_arrival_on_a_phone() {
    let driver = start_driver("a_released_arrival_on_a_phone").await;
    let app = support::spawn().await;
    let command = app.login_as("command", "330784").await;
    let (s, r) = app
        .post(
            &command,
            "/api/v1/risk-areas",
            serde_json::json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-01"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let client = connect(&driver, Screen::Phone).await;
    let outcome = read_the_release(&client, &app, &driver.shots).await;
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
