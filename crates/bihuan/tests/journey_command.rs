//! The command's journey (issue 12): on a laptop and on a phone the 指挥部
//! opens the city board, reads the headline strip on the first screen (each
//! figure against yesterday), finds the colour legend and the worst town
//! first, drills from a headline figure to its list and exports it: the
//! file opens with Chinese headers and local times. On the wall display
//! (`?screen=1`) the whole board fits 1920×1080 without scrolling.
//! Screenshots are kept under target/screenshots/journey_command/.

mod support;

use std::path::Path;
use std::time::Duration;

use bihuan::usecases::auth::parse_new_user;
use calamine::{Data, Reader, Xlsx};
use fantoccini::{Client, Locator};
use serde_json::json;
use support::TestApp;
use support::browser::{
    Result, Screen, check_screen, connect, in_first_screen, no_scroll_at_all, screenshot,
    start_driver, type_into,
};

const USER: &str = "zhihui";
const PASSWORD: &str = "correct horse battery";
/// The town made to lag: a help request waits there (amber), nothing else
/// lags anywhere, so it must lead the tiles although its code is not first.
const LAGGING_TOWN: &str = "330784002";

async fn seed(app: &TestApp) {
    support::with_xiluoyuan(app).await;
    for (n, village) in [
        (61, "330784001001"),
        (62, "330784001002"),
        (63, "330784002001"),
    ] {
        let mut d = support::declaration();
        d["id_number"] = json!(support::resident_id(n));
        d["name"] = json!(format!("王{n}"));
        d["destination"]["village"] = json!(village);
        let (s, r) = app.declare(d).await;
        assert_eq!(s, 201, "{r}");
        if village.starts_with(LAGGING_TOWN) {
            let (s, r) = app
                .post(
                    "",
                    &format!("/api/v1/status/{}/help", r["receipt"].as_str().unwrap()),
                    json!({"kind": "medicine", "note": "降压药"}),
                )
                .await;
            assert_eq!(s, 201, "{r}");
        }
    }
    app.services
        .add_user(parse_new_user(USER, "command", "330784", PASSWORD).unwrap())
        .await
        .unwrap();
}

async fn sign_in_if_asked(c: &Client) -> Result<()> {
    if c.current_url().await?.path() == "/login" {
        type_into(c, "#username", USER).await?;
        type_into(c, "#password", PASSWORD).await?;
        c.find(Locator::Css("form button")).await?.click().await?;
    }
    Ok(())
}

fn cell(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// `YYYY-MM-DD HH:MM`, as an office writes a time.
fn office_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 16
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

async fn drill_and_export(c: &Client, app: &TestApp, dir: &Path, name: &str) -> Result<()> {
    c.goto(&app.url("/dashboard/330784")).await?;
    sign_in_if_asked(c).await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("headline"))
        .await?;

    // First screen: the headline strip, each figure labelled and compared
    // with yesterday (no report was made yesterday: it says so).
    in_first_screen(c, "#headline").await?;
    let strip = c.find(Locator::Id("headline")).await?.text().await?;
    for word in [
        "今日抵达",
        "今日报备",
        "在管",
        "今日应检",
        "今日已检",
        "漏检",
        "超时任务",
        "闭环率",
        "阳性",
        "较昨日",
    ] {
        assert!(
            strip.contains(word),
            "{name}: the strip lacks {word}: {strip}"
        );
    }
    // The legend explains the colours before any coloured tile.
    let legend = c.find(Locator::Id("legend")).await?;
    assert!(legend.is_displayed().await?, "{name}: legend shown");
    let legend_text = legend.text().await?;
    for word in ["正常", "落后", "严重落后"] {
        assert!(legend_text.contains(word), "{name}: {legend_text}");
    }
    let above: bool = c
        .execute(
            "return document.getElementById('legend').getBoundingClientRect().bottom <=\
             document.querySelector('.board .dtile').getBoundingClientRect().top &&\
             document.getElementById('legend').getBoundingClientRect().bottom <=\
             document.getElementById('townmap').getBoundingClientRect().top;",
            vec![],
        )
        .await?
        .as_bool()
        .unwrap_or(false);
    assert!(above, "{name}: the legend comes before the map and tiles");
    if matches!(name, "laptop") {
        in_first_screen(c, "#legend").await?;
    }
    // The worst town first, amber.
    let first = c.find(Locator::Css(".board .dtile")).await?;
    assert_eq!(
        first.attr("id").await?.as_deref(),
        Some(format!("tile-{LAGGING_TOWN}").as_str()),
        "{name}: the lagging town leads"
    );
    assert!(
        first
            .attr("class")
            .await?
            .unwrap_or_default()
            .contains("lag-behind"),
        "{name}: it is amber"
    );
    // The map: one cell per town, the lagging one amber, linking to its board.
    let cells = c.find_all(Locator::Css("#townmap a.cell")).await?;
    assert!(cells.len() > 2, "{name}: a cell per town");
    let lagging = c
        .find(Locator::Css(&format!(
            "#townmap a.cell[href='/dashboard/{LAGGING_TOWN}']"
        )))
        .await?;
    assert!(
        lagging
            .attr("class")
            .await?
            .unwrap_or_default()
            .contains("lag-behind"),
        "{name}: the map colours the lagging town"
    );
    check_screen(c).await?;
    screenshot(c, dir, &format!("{name}-1-board.png")).await?;

    // Drill: 今日报备 → its list, as many rows as the figure says.
    let figure = c.find(Locator::Css("[data-h='arrivals_today']")).await?;
    let shown: usize = figure
        .find(Locator::Css(".hl-n"))
        .await?
        .text()
        .await?
        .trim()
        .parse()?;
    assert_eq!(shown, 3, "{name}: three declared today");
    figure.click().await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("table.list"))
        .await?;
    assert_eq!(
        c.current_url().await?.path(),
        "/dashboard/330784/list/arrivals_today"
    );
    let heading = c.find(Locator::Css("h1")).await?.text().await?;
    assert!(heading.contains("今日报备"), "{name}: {heading}");
    let rows = c.find_all(Locator::Css("table.list tbody tr")).await?;
    assert_eq!(rows.len(), shown, "{name}: the list behind the figure");
    in_first_screen(c, "table.list").await?;
    check_screen(c).await?;
    screenshot(c, dir, &format!("{name}-2-list.png")).await?;

    // Export, with the browser's own session.
    let href = c
        .find(Locator::Css("a[download]"))
        .await?
        .attr("href")
        .await?
        .ok_or("an export link")?;
    let session = c.get_named_cookie("bihuan_session").await?;
    let r = app
        .http
        .get(app.url(&href))
        .header("cookie", format!("bihuan_session={}", session.value()))
        .send()
        .await?;
    assert_eq!(r.status().as_u16(), 200, "{name}: {href}");
    let bytes = r.bytes().await?.to_vec();
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))?;
    let range = wb.worksheet_range("看板清单")?;
    let sheet: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(cell).collect()).collect();
    assert_eq!(
        sheet[0],
        [
            "编号",
            "姓名",
            "证件号码",
            "地区编码",
            "地区",
            "事项",
            "状态",
            "时间"
        ],
        "{name}: Chinese headers first"
    );
    assert_eq!(sheet.len(), shown + 2, "{name}: header, rows, watermark");
    for row in &sheet[1..=shown] {
        assert!(
            office_time(&row[7]),
            "{name}: time as an office writes it: {row:?}"
        );
        assert!(row[7].starts_with("2022-01-28 "), "{name}: {row:?}");
    }
    Ok(())
}

async fn watch_the_wall(c: &Client, app: &TestApp, dir: &Path) -> Result<()> {
    c.goto(&app.url("/dashboard/330784?screen=1")).await?;
    sign_in_if_asked(c).await?;
    if c.current_url().await?.query() != Some("screen=1") {
        c.goto(&app.url("/dashboard/330784?screen=1")).await?;
    }
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("headline"))
        .await?;
    // No staff chrome; everything on one screen.
    assert!(
        !c.find(Locator::Css("header.top"))
            .await?
            .is_displayed()
            .await?,
        "the wall shows no navigation"
    );
    no_scroll_at_all(c).await?;
    for css in [
        "#headline",
        "#legend",
        "#townmap",
        ".board .dtile",
        ".charts",
    ] {
        in_first_screen(c, css).await?;
    }
    // The last tile (the total) is wholly on the screen too.
    let fits: bool = c
        .execute(
            "const t = document.querySelectorAll('.board .dtile');\
             const last = t[t.length - 1].getBoundingClientRect();\
             const charts = document.querySelector('.charts').getBoundingClientRect();\
             return last.bottom <= window.innerHeight && charts.bottom <= window.innerHeight;",
            vec![],
        )
        .await?
        .as_bool()
        .unwrap_or(false);
    assert!(fits, "every tile and the charts fit the wall");
    let size: f64 = c
        .execute(
            "return parseFloat(getComputedStyle(document.querySelector('.hl-n')).fontSize);",
            vec![],
        )
        .await?
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        size >= 40.0,
        "headline figures readable across a room: {size}px"
    );
    screenshot(c, dir, "wall.png").await?;

    // It keeps refreshing: a new declaration shows without reloading.
    let before: i64 = c
        .find(Locator::Css("[data-h='arrivals_today'] .hl-n"))
        .await?
        .text()
        .await?
        .parse()?;
    let mut d = support::declaration();
    d["id_number"] = json!(support::resident_id(77));
    assert_eq!(app.declare(d).await.0, 201);
    let mut after = before;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = c
            .find(Locator::Css("[data-h='arrivals_today'] .hl-n"))
            .await?
            .text()
            .await?
            .parse()?;
        if after != before {
            break;
        }
    }
    assert_eq!(after, before + 1, "the wall refreshed by itself");
    no_scroll_at_all(c).await?;

    // A town's wall, with a tile per village, fits as well.
    c.goto(&app.url(&format!("/dashboard/{LAGGING_TOWN}?screen=1")))
        .await?;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("headline"))
        .await?;
    screenshot(c, dir, "wall-town.png").await?;
    no_scroll_at_all(c).await?;
    in_first_screen(c, "#townmap").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_drills_from_a_headline_to_its_list_and_exports_it() {
    let driver = start_driver("journey_command").await;
    let app = support::spawn().await;
    seed(&app).await;
    let mut failures = Vec::new();
    for (screen, name) in [(Screen::Laptop, "laptop"), (Screen::Phone, "phone")] {
        let client = connect(&driver, screen).await;
        if let Err(e) = drill_and_export(&client, &app, &driver.shots, name).await {
            failures.push(format!("{name}: {e}"));
        }
        let _ = client.close().await;
    }
    let client = connect(&driver, Screen::Wall).await;
    if let Err(e) = watch_the_wall(&client, &app, &driver.shots).await {
        failures.push(format!("wall: {e}"));
    }
    let _ = client.close().await;
    drop(driver);
    assert!(failures.is_empty(), "{failures:#?}");
}
