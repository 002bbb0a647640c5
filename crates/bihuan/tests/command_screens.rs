//! The command's screens as an office reads them (issue 12): the headline
//! strip compares each figure with yesterday's snapshot, exports carry
//! Chinese headers and local times, and the 未检 list for calling gives the
//! phone in full, audited.

mod support;

use calamine::{Data, Reader, Xlsx};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use support::{TestApp, declaration, resident_id, spawn};

const G1: &str = "330784001001001";

fn at(app: &TestApp, date: NaiveDate, hour: u32) {
    let local = date.and_hms_opt(hour, 0, 0).unwrap() - Duration::hours(8);
    app.clock.set(Utc.from_utc_datetime(&local));
}

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 28).unwrap() + Duration::days(n)
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = app
        .http
        .get(app.url(path))
        .header("cookie", format!("bihuan_session={token}"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

fn cell(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range(name).unwrap();
    range.rows().map(|r| r.iter().map(cell).collect()).collect()
}

/// `YYYY-MM-DD HH:MM`.
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

/// The headline figure `key` as shown: (value, change since yesterday).
fn headline(html: &str, key: &str) -> (String, String) {
    let from = html
        .find(&format!("data-h=\"{key}\""))
        .unwrap_or_else(|| panic!("a headline figure {key}"));
    let item = &html[from..from + html[from..].find("</a>").unwrap()];
    let between = |open: &str| {
        let at = item
            .find(open)
            .unwrap_or_else(|| panic!("{open} in {item}"))
            + open.len();
        item[at..at + item[at..].find('<').unwrap()].to_string()
    };
    (between("class=\"hl-n\">"), between("class=\"chg\">"))
}

fn arrival(n: u32, village: &str, arriving: &str) -> Value {
    let mut d = declaration();
    d["id_number"] = json!(resident_id(n));
    d["name"] = json!(format!("王{n}"));
    d["destination"]["village"] = json!(village);
    d["arrival"]["date"] = json!(arriving);
    d["origin"]["departed_on"] = json!("2022-01-27");
    d
}

#[tokio::test]
async fn the_headline_strip_shows_the_change_since_yesterday() {
    let app = spawn().await;
    let command = support::with_xiluoyuan(&app).await;
    // Day 0: two arrivals; the evening report keeps the day's figures.
    for n in [1, 2] {
        let (s, r) = app.declare(arrival(n, "330784001001", "2022-01-28")).await;
        assert_eq!(s, 201, "{r}");
    }
    let (_, page) = get(&app, &command, "/dashboard/330784").await;
    let html = String::from_utf8(page).unwrap();
    assert_eq!(
        headline(&html, "arrivals_today"),
        ("2".into(), "昨日无数据".into()),
        "no report yesterday: it says so rather than guessing"
    );
    at(&app, day(0), 22);
    let report = app.services.run_jobs().await.unwrap().daily_report;
    let report = report.expect("the day's report");
    let command = app.login_as("command", "330784").await;
    let (_, kept) = app
        .get(&command, &format!("/api/v1/daily-reports/{report}"))
        .await;
    let yesterday = kept["body"]["total"]["today"].clone();
    assert_eq!(yesterday["arrivals_today"], 2, "{kept}");

    // The printed 日报: A4 landscape, every table headed in words.
    let (s, page) = get(&app, &command, &format!("/reports/{report}")).await;
    assert_eq!(s, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("class=\"wide report-page\""), "{page}");
    assert!(page.contains("<th>今日</th><th class=\"muted\">较昨日</th>"));
    assert!(!page.contains("<th></th>"), "no blank column headers");
    let (_, css) = get(&app, &command, "/static/app.css").await;
    let css = String::from_utf8(css).unwrap();
    assert!(
        css.contains("@page daily{size:A4 landscape")
            && css.contains(".report-page main{page:daily"),
        "the report prints on landscape A4"
    );

    // Day 1: three more arrive; the strip compares with day 0's snapshot.
    at(&app, day(1), 10);
    for n in [3, 4, 5] {
        let (s, r) = app.declare(arrival(n, "330784002001", "2022-01-29")).await;
        assert_eq!(s, 201, "{r}");
    }
    let command = app.login_as("command", "330784").await;
    let (s, page) = get(&app, &command, "/dashboard/330784").await;
    assert_eq!(s, 200);
    let html = String::from_utf8(page).unwrap();
    assert_eq!(headline(&html, "arrivals_today"), ("3".into(), "▲1".into()));
    assert_eq!(headline(&html, "arriving_today"), ("3".into(), "▲1".into()));
    // Every figure against the API's today and the kept snapshot.
    let (_, board) = app.get(&command, "/api/v1/dashboard/330784").await;
    let today = &board["total"]["figures"];
    let fig = |v: &Value, k: &str| v[k].as_i64().unwrap_or(0);
    let mut seen_up = 0;
    for key in [
        "arriving_today",
        "arrivals_today",
        "under_control",
        "tests_due",
        "tests_done",
        "tests_missed",
        "tasks_overdue",
        "positives",
    ] {
        let (value, change) = headline(&html, key);
        let (now, before) = (fig(today, key), fig(&yesterday, key));
        assert_eq!(value, now.to_string(), "{key}");
        let want = match now - before {
            0 => "±0".to_string(),
            d if d > 0 => format!("▲{d}"),
            d => format!("▼{}", -d),
        };
        assert_eq!(change, want, "{key}: {now} today, {before} yesterday");
        seen_up += usize::from(now > before);
    }
    assert!(seen_up >= 3, "arrivals and people under measures rose");
    assert_eq!(headline(&html, "positives").1, "±0");
    // Each figure links to its list.
    assert!(html.contains("href=\"/dashboard/330784/list/arrivals_today\""));
    assert!(html.contains("href=\"/dashboard/330784/list/tasks_overdue\""));
    // In English too.
    let (_, page) = get(&app, &command, "/dashboard/330784?lang=en").await;
    let html = String::from_utf8(page).unwrap();
    assert!(html.contains("vs yesterday"), "labelled in English");
    assert_eq!(headline(&html, "arrivals_today").1, "▲1");
}

#[tokio::test]
async fn exports_carry_chinese_headers_and_local_times() {
    let app = spawn().await;
    let command = support::with_xiluoyuan(&app).await;
    for n in [1, 2] {
        let (s, r) = app.declare(arrival(n, "330784001001", "2022-01-28")).await;
        assert_eq!(s, 201, "{r}");
    }
    // A board's list.
    let (s, bytes) = get(
        &app,
        &command,
        "/api/v1/dashboard/330784/lists/arrivals_today/xlsx",
    )
    .await;
    assert_eq!(s, 200);
    let rows = sheet(&bytes, "看板清单");
    assert_eq!(
        rows[0],
        [
            "编号",
            "姓名",
            "证件号码",
            "地区编码",
            "地区",
            "事项",
            "状态",
            "时间"
        ]
    );
    assert_eq!(rows.len(), 4, "header, two rows, watermark: {rows:?}");
    for r in &rows[1..3] {
        assert!(office_time(&r[7]), "{r:?}");
        assert_eq!(&r[7][..10], "2022-01-28");
    }
    // The 赋码 list as the command downloads it: words and local times.
    let (s, bytes) = get(&app, &command, "/exports/health-codes.xlsx").await;
    assert_eq!(s, 200);
    let rows = sheet(&bytes, "赋码");
    assert_eq!(
        rows[0],
        [
            "人员编号",
            "证件类型",
            "证件号码",
            "赋码颜色",
            "变更时间",
            "序号"
        ]
    );
    assert!(rows.len() >= 4, "{rows:?}");
    for r in &rows[1..rows.len() - 1] {
        assert_eq!(r[1], "居民身份证", "{r:?}");
        assert!(["绿码", "黄码", "红码"].contains(&r[3].as_str()), "{r:?}");
        assert!(office_time(&r[4]), "{r:?}");
    }
    // The machines' feed keeps its keys.
    let r = app
        .http
        .get(app.url("/api/v1/health-codes?format=csv"))
        .bearer_auth(&command)
        .send()
        .await
        .unwrap();
    assert!(
        r.text()
            .await
            .unwrap()
            .starts_with("person_id,id_type,id_number,colour,changed_at,seq"),
        "stable keys for machines"
    );
    // The hand-over list.
    let (s, bytes) = get(&app, &command, "/exports/handovers.xlsx").await;
    assert_eq!(s, 200);
    assert_eq!(sheet(&bytes, "协查移交")[0][0], "编号");
}

#[tokio::test]
async fn the_untested_list_for_calling_gives_phones_in_full_and_is_audited() {
    let app = spawn().await;
    let mut d = declaration();
    d["id_number"] = json!(resident_id(1));
    d["name"] = json!("居民一");
    let (s, r) = app.declare(d).await;
    assert_eq!(s, 201, "{r}");
    let town = app.login_as("town", "330784001").await;
    let roll = format!("网格编码,身份证号,姓名\n{G1},{},居民一\n", resident_id(1));
    let r = app
        .http
        .post(app.url("/api/v1/residents/import"))
        .bearer_auth(&town)
        .header("content-type", "text/csv")
        .body(roll)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let command = app.login_as("command", "330784").await;
    let (s, r) = app
        .post(
            &command,
            "/api/v1/rounds",
            json!({"name": "第一轮", "regions": ["330784001"],
                   "starts_at": "2022-01-28T08:00:00+08:00",
                   "ends_at": "2022-01-29T04:00:00+08:00"}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let round = r["id"].as_i64().unwrap();

    let worker = app.login_as("grid_worker", G1).await;
    // The page shows the phone masked; the file for calling has it in full.
    let (s, page) = get(&app, &worker, &format!("/rounds/{round}/untested/{G1}")).await;
    assert_eq!(s, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(!page.contains("13800138000"), "masked on screen");
    let (s, file) = get(&app, &worker, &format!("/rounds/{round}/untested/{G1}.csv")).await;
    assert_eq!(s, 200);
    let file = String::from_utf8(file).unwrap();
    let mut lines = file.trim_start_matches('\u{feff}').lines();
    assert_eq!(lines.next(), Some("编号,姓名,证件号码,手机号码"));
    let row = lines.next().unwrap();
    assert!(
        row.contains(",居民一,") && row.ends_with(",13800138000"),
        "{row}"
    );
    assert!(
        !row.contains(&resident_id(1)),
        "the document stays masked: {row}"
    );

    let events: Vec<(String, String, String)> = sqlx::query(
        "SELECT kind, actor, detail FROM events WHERE kind LIKE 'untested%' ORDER BY id",
    )
    .fetch_all(app.services.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let detail: Value = serde_json::from_str(&events[0].2).unwrap();
    assert_eq!(events[0].0, "untested_exported");
    assert_eq!(detail["unmasked"], json!(["phone"]), "{detail}");
    assert_eq!(detail["rows"], 1);

    // The audit says it in words.
    let (s, page) = get(&app, &command, "/audit?action=untested_exported").await;
    assert_eq!(s, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("<option value=\"untested_exported\" selected>导出未检名单</option>"),
        "the action searched for, by name"
    );
    let row = &page[page.find("<tbody>").unwrap()..];
    let words = row.split("<details").next().unwrap();
    assert!(
        words.contains("<td>导出未检名单</td>")
            && words.contains(&format!("地区：{G1}"))
            && words.contains("完整显示：手机号码")
            && words.contains("行数：1"),
        "{row}"
    );
    assert!(
        !words.contains('{'),
        "no JSON outside the raw record: {words}"
    );
    let (_, page) = get(&app, &command, "/audit?action=untested_exported&lang=en").await;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("untested list exported") && page.contains("shown in full: phone"));

    // A town may not unmask: its file keeps the phone masked, and says so.
    let (s, file) = get(&app, &town, &format!("/rounds/{round}/untested/{G1}.csv")).await;
    assert_eq!(s, 200);
    let file = String::from_utf8(file).unwrap();
    assert!(!file.contains("13800138000"), "{file}");
}
