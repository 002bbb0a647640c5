//! 找回回执: a person who lost their receipt gets back to it with their
//! document number, phone and a code texted through the Notifier; nobody
//! learns from the answers whether a document is on file, and the code is
//! short-lived, single-use and hard to guess. Also: visitors from abroad and
//! 港澳台 declare with international numbers; resident ID holders cannot.

mod support;

use bihuan::clock::Clock;
use chrono::Duration;
use serde_json::Value;
use sqlx::Row;
use support::sms::{Inbox, spawn_with_inbox};
use support::{TestApp, declaration};

const DOC: &str = "11010519491231002X";
const PHONE: &str = "13800138000";

async fn declared(app: &TestApp) -> String {
    let (s, body) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{body}");
    body["receipt"].as_str().unwrap().to_string()
}

async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let r = app
        .http
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

/// Asks for a code; the page's status, its text without the ticket, and the ticket.
async fn ask(app: &TestApp, id_type: &str, doc: &str, phone: &str) -> (u16, String, String) {
    let (s, _, page) = post_form(
        app,
        "/s/recover",
        &[("id_type", id_type), ("id_number", doc), ("phone", phone)],
    )
    .await;
    let ticket = page
        .split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    let page = if ticket.is_empty() {
        page
    } else {
        page.replace(&ticket, "TICKET")
    };
    (s, page, ticket)
}

async fn try_code(app: &TestApp, ticket: &str, code: &str) -> (u16, String, String) {
    post_form(
        app,
        "/s/recover/code",
        &[("ticket", ticket), ("code", code)],
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

fn codes_to(inbox: &Inbox, phone: &str) -> usize {
    inbox.to(phone, "recovery_code").len()
}

#[tokio::test]
async fn a_texted_code_leads_back_to_the_latest_receipt_once() {
    let (app, inbox) = spawn_with_inbox().await;
    let receipt = declared(&app).await;

    let (s, page) = {
        let (s, _, page) = post_form(&app, "/s/recover", &[]).await;
        (s, page)
    };
    assert_eq!(s, 422, "blank fields are named: {page}");
    assert!(page.contains("请填写手机号码"), "{page}");

    // The document typed in lower case and the phone with spaces still match.
    let (s, page, ticket) = ask(&app, "resident", &DOC.to_lowercase(), "138 0013 8000").await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("验证码已发送"), "{page}");
    assert_eq!(ticket.len(), 32);
    let code = inbox
        .code(PHONE, 1)
        .await
        .expect("a code texted to the phone");
    let sms = inbox.to(PHONE, "recovery_code").pop().unwrap();
    assert!(sms["body"].as_str().unwrap().contains("10分钟"), "{sms}");

    // The code is stored only as a keyed hash; no row or event holds it.
    let stored: Vec<String> = sqlx::query("SELECT code_hash FROM recovery_codes")
        .fetch_all(app.services.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&code) && stored[0].len() == 64);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM events WHERE detail LIKE '%{code}%'")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'recovery_code_sent'"
        )
        .await,
        1
    );

    // A wrong code first: refused, the ticket still usable.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, _, page) = try_code(&app, &ticket, wrong).await;
    assert_eq!(s, 422);
    assert!(page.contains("验证码不正确或已失效"), "{page}");
    assert!(page.contains(&ticket), "the code form again");

    // The right one, typed in full-width digits, opens the receipt.
    let full_width: String = code
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    let (s, location, _) = try_code(&app, &ticket, &full_width).await;
    assert_eq!(
        (s, location.as_str()),
        (303, format!("/s/{receipt}").as_str())
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'recovery_code_used'"
        )
        .await,
        1
    );

    // Single use.
    let (s, _, page) = try_code(&app, &ticket, &code).await;
    assert_eq!(s, 422, "a used code is refused");
    assert!(page.contains("验证码不正确或已失效"), "{page}");

    // In English too.
    let (s, _, ticket) = {
        let (s, page, t) = ask(&app, "resident", DOC, PHONE).await;
        (s, page, t)
    };
    assert_eq!(s, 200);
    let (s, _, page) = try_code_en(&app, &ticket, "12345").await;
    assert_eq!(s, 422);
    assert!(
        page.contains("the code is wrong or no longer valid"),
        "{page}"
    );
}

async fn try_code_en(app: &TestApp, ticket: &str, code: &str) -> (u16, String, String) {
    post_form(
        app,
        "/s/recover/code?lang=en",
        &[("ticket", ticket), ("code", code)],
    )
    .await
}

#[tokio::test]
async fn the_answer_is_the_same_whether_or_not_the_details_match() {
    let (app, inbox) = spawn_with_inbox().await;
    declared(&app).await;

    let (s1, matched, _) = ask(&app, "resident", DOC, PHONE).await;
    let (s2, wrong_phone, wrong_ticket) = ask(&app, "resident", DOC, "13900139000").await;
    let (s3, unknown_doc, _) = ask(&app, "resident", &support::resident_id(7), PHONE).await;
    assert_eq!((s1, s2, s3), (200, 200, 200));
    assert_eq!(matched, wrong_phone, "a wrong phone reads like a right one");
    assert_eq!(matched, unknown_doc, "an unknown document too");
    assert!(inbox.code(PHONE, 1).await.is_some());
    assert_eq!(codes_to(&inbox, PHONE), 1, "only the match got a code");
    assert!(inbox.to("13900139000", "recovery_code").is_empty());

    // No code can open a ticket that matched no one.
    for guess in ["000000", "123456", "999999"] {
        let (s, _, page) = try_code(&app, &wrong_ticket, guess).await;
        assert_eq!(s, 422, "{page}");
    }
    let (s, _, _) = try_code(&app, &"ab".repeat(16), "123456").await;
    assert_eq!(s, 422, "an unknown ticket is refused alike");
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let (app, inbox) = spawn_with_inbox().await;
    declared(&app).await;
    let (_, _, ticket) = ask(&app, "resident", DOC, PHONE).await;
    let code = inbox.code(PHONE, 1).await.unwrap();
    app.clock.advance(Duration::minutes(11));
    let (s, _, page) = try_code(&app, &ticket, &code).await;
    assert_eq!(s, 422, "an expired code is refused");
    assert!(page.contains("验证码不正确或已失效"), "{page}");
}

#[tokio::test]
async fn tries_are_few_per_code_per_document_and_per_client() {
    let (app, inbox) = spawn_with_inbox().await;
    declared(&app).await;

    // Per code: five tries, then even the right code is refused.
    let (_, _, ticket) = ask(&app, "resident", DOC, PHONE).await;
    let code = inbox.code(PHONE, 1).await.unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(try_code(&app, &ticket, wrong).await.0, 422);
    }
    let (s, _, page) = try_code(&app, &ticket, &code).await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("尝试次数过多"), "{page}");

    // Per document: three requests an hour, matched or not.
    assert_eq!(ask(&app, "resident", DOC, "13900139000").await.0, 200);
    assert_eq!(ask(&app, "resident", DOC, PHONE).await.0, 200);
    let (s, page, _) = ask(&app, "resident", DOC, PHONE).await;
    assert_eq!(s, 429, "{page}");
    assert!(page.contains("尝试次数过多"), "{page}");
    assert!(inbox.code(PHONE, 2).await.is_some());
    assert_eq!(codes_to(&inbox, PHONE), 2, "no code past the limit");

    // Per client: ten requests an hour over any documents.
    app.clock.advance(Duration::minutes(61));
    for n in 0..10 {
        let (s, _, _) = ask(&app, "resident", &support::resident_id(100 + n), PHONE).await;
        assert_eq!(s, 200, "request {n}");
    }
    let (s, page, _) = ask(&app, "resident", DOC, PHONE).await;
    assert_eq!(s, 429, "the eleventh from one client: {page}");

    // An hour on, the person may ask again.
    app.clock.advance(Duration::minutes(61));
    let (_, _, ticket) = ask(&app, "resident", DOC, PHONE).await;
    let code = inbox.code(PHONE, 3).await.unwrap();
    assert_eq!(try_code(&app, &ticket, &code).await.0, 303);
}

/// Parallel requests and tries cannot pass the limits together: each count
/// is read under the document's lock, and a code's try is claimed in one
/// statement (PostgreSQL runs these side by side; SQLite one by one).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_requests_and_tries_cannot_outrun_the_limits() {
    let (app, inbox) = spawn_with_inbox().await;
    declared(&app).await;
    let (_, _, ticket) = ask(&app, "resident", DOC, PHONE).await;
    let code = inbox.code(PHONE, 1).await.unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let tries = (0..20).map(|_| try_code(&app, &ticket, wrong));
    let answers = futures_util::future::join_all(tries).await;
    let busy = answers
        .iter()
        .filter(|(_, _, page)| page.contains("尝试次数过多"))
        .count();
    assert!(
        busy >= 15,
        "at most five tries were judged: {busy} refused as busy"
    );
    let claimed = count(
        &app,
        "SELECT CAST(MAX(tries) AS BIGINT) FROM recovery_codes",
    )
    .await;
    assert_eq!(claimed, 5, "a code's tries stop at five");

    app.clock.advance(Duration::minutes(61));
    let asks = (0..10).map(|n| {
        let phone = if n == 0 { PHONE } else { "13900139000" };
        ask(&app, "resident", DOC, phone)
    });
    futures_util::future::join_all(asks).await;
    let since = app.clock.timestamp() - 60;
    let made = count(
        &app,
        &format!("SELECT COUNT(*) FROM recovery_codes WHERE created_at >= {since}"),
    )
    .await;
    assert_eq!(
        made, 3,
        "three requests an hour per document, however parallel"
    );
}

#[tokio::test]
async fn tries_on_one_document_are_capped_across_its_codes() {
    let (app, inbox) = spawn_with_inbox().await;
    declared(&app).await;
    let (_, _, first) = ask(&app, "resident", DOC, PHONE).await;
    let (_, _, second) = ask(&app, "resident", DOC, PHONE).await;
    for ticket in [&first, &first, &first, &first, &first] {
        assert_eq!(try_code(&app, ticket, "abcdef").await.0, 422);
    }
    for _ in 0..5 {
        assert_eq!(try_code(&app, &second, "abcdef").await.0, 422);
    }
    // Both codes had tries left alone, but the document has had ten.
    let (_, _, third) = ask(&app, "resident", DOC, PHONE).await;
    let code3 = inbox.code(PHONE, 3).await.unwrap();
    let (s, _, page) = try_code(&app, &third, &code3).await;
    assert_eq!(s, 422);
    assert!(page.contains("尝试次数过多"), "{page}");
}

fn visitor(id_type: &str, id_number: &str, phone: &str) -> Value {
    let mut d = declaration();
    d["id_type"] = id_type.into();
    d["id_number"] = id_number.into();
    d["phone"] = phone.into();
    d["name"] = "Jane Doe".into();
    d
}

#[tokio::test]
async fn visitors_declare_with_international_phones_resident_ids_cannot() {
    let (app, inbox) = spawn_with_inbox().await;
    let (s, body) = app
        .declare(visitor("passport", "E12345678", "+1 (415) 555-0123"))
        .await;
    assert_eq!(s, 201, "a passport with a US number: {body}");
    let (s, body) = app
        .declare(visitor("hk_macau_permit", "H12345678", "+852 9123 4567"))
        .await;
    assert_eq!(s, 201, "a 回乡证 with a Hong Kong number: {body}");
    let masked: Vec<String> = sqlx::query("SELECT phone_masked FROM persons ORDER BY id")
        .fetch_all(app.services.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
    assert_eq!(masked, ["+141****0123", "+852****4567"]);

    let (s, e) = app.declare(visitor("resident", DOC, "+85291234567")).await;
    assert_eq!(s, 422, "{e}");
    let err = &e["errors"][0];
    assert_eq!(err["field"], "phone", "{e}");
    assert_eq!(err["code"], "phone_mainland", "{e}");
    assert!(
        err["message"].as_str().unwrap().contains("居民身份证"),
        "{e}"
    );
    assert!(
        err["message_en"].as_str().unwrap().contains("resident ID"),
        "{e}"
    );

    // On the page, the message stands by the phone field, in each language.
    let form = |lang: &str| {
        let path = format!("/declare{lang}");
        let app = &app;
        async move {
            let r = app
                .http
                .post(app.url(&path))
                .form(&[
                    ("name", "张三"),
                    ("id_type", "resident"),
                    ("id_number", DOC),
                    ("phone", "+85291234567"),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, zh) = form("").await;
    assert_eq!(s, 422);
    assert!(
        zh.contains("持居民身份证报备请填写11位中国大陆手机号码"),
        "{zh}"
    );
    let (_, en) = form("?lang=en").await;
    assert!(
        en.contains("with a resident ID card, enter an 11-digit mainland China mobile number"),
        "{en}"
    );

    // The visitor recovers their receipt on their international number.
    let (s, _, ticket) = ask(&app, "passport", "E12345678", "+14155550123").await;
    assert_eq!(s, 200);
    let code = inbox.code("+14155550123", 1).await.expect("texted abroad");
    let (s, location, _) = try_code(&app, &ticket, &code).await;
    assert_eq!(s, 303);
    assert!(location.starts_with("/s/"), "{location}");
}

#[tokio::test]
async fn countries_are_picked_by_name_and_english_places_read_in_pinyin() {
    let app = support::spawn().await;
    let page = |path: &'static str| {
        let app = &app;
        async move {
            app.http
                .get(app.url(path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let zh = page("/declare").await;
    assert!(
        zh.contains(r#"<option value="JP">日本</option>"#),
        "by name"
    );
    assert!(zh.contains(r#"<option value="HK">中国香港</option>"#));
    assert!(!zh.contains("Yuanding"), "no pinyin in Chinese pages");
    let en = page("/declare?lang=en").await;
    assert!(en.contains(r#"<option value="JP">Japan</option>"#), "{en}");
    assert!(
        en.contains("园丁社区 Yuanding Shequ"),
        "villages in pinyin too"
    );
    assert!(en.contains("北京市 Beijing Shi"), "provinces too");
    let (_, towns) = {
        let r = app
            .http
            .get(app.url("/api/v1/divisions?parent=1101&lang=en"))
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert!(
        towns
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "丰台区 Fengtai Qu"),
        "{towns}"
    );

    // Over the API a name or the code is accepted; the code is stored.
    let mut d = declaration();
    d["abroad"] = serde_json::json!({"country": "日本", "entered_china_on": "2022-01-20"});
    let (s, body) = app.declare(d).await;
    assert_eq!(s, 201, "{body}");
    let facts: String = sqlx::query("SELECT facts FROM declarations")
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(facts.contains(r#""JP""#), "{facts}");
    let receipt = body["receipt"].as_str().unwrap();
    let zh = page_of(&app, format!("/s/{receipt}")).await;
    assert!(
        zh.contains("从境外（日本）入境"),
        "the reason names the country: {zh}"
    );
    let en = page_of(&app, format!("/s/{receipt}?lang=en")).await;
    assert!(en.contains("from abroad (Japan)"), "{en}");
    let mut d = declaration();
    d["id_number"] = support::resident_id(3).into();
    d["abroad"] = serde_json::json!({"country": "ZZ", "entered_china_on": "2022-01-20"});
    let (s, e) = app.declare(d).await;
    assert_eq!(s, 422);
    assert_eq!(e["errors"][0]["field"], "abroad.country", "{e}");
}

async fn page_of(app: &TestApp, path: String) -> String {
    app.http
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
