//! The server-rendered pages, over HTTP: forms post urlencoded bodies, the
//! session is a cookie, and every logged-in form carries the CSRF token.

mod support;

use bihuan::usecases::auth::parse_new_user;
use serde_json::{Value, json};
use support::{TestApp, spawn, unique};

const PASSWORD: &str = "correct horse battery";

/// POLICY.md's example 1 as the form posts it: from 西罗园街道, left 01-26,
/// arriving 01-28 in 园丁社区; the empty rows are as a browser sends them.
fn form() -> Vec<(&'static str, String)> {
    let mut f: Vec<(&str, String)> = vec![
        ("name", "张三".into()),
        ("id_type", "resident".into()),
        ("id_number", "11010519491231002X".into()),
        ("phone", "13800138000".into()),
        ("origin_county", "110106".into()),
        ("origin_township", "110106003".into()),
        ("origin_departed_on", "2022-01-26".into()),
        ("abroad_country", "".into()),
        ("abroad_entered_china_on", "".into()),
        ("arrival_date", "2022-01-28".into()),
        ("arrival_mode", "train".into()),
        ("arrival_number", "G1234".into()),
        ("destination_village", "330784001001".into()),
        ("destination_address", "园丁路1号".into()),
        ("health_code", "green".into()),
        ("vaccine_doses", "3".into()),
        ("negative_test_48h", "".into()),
    ];
    for name in [
        "itinerary_0_county",
        "itinerary_0_township",
        "itinerary_0_from",
        "itinerary_0_to",
        "itinerary_1_county",
        "itinerary_2_to",
    ] {
        f.push((name, String::new()));
    }
    f
}

fn with(
    mut f: Vec<(&'static str, String)>,
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    f.retain(|(k, _)| *k != name);
    f.push((name, value.to_string()));
    f
}

/// Lists 西罗园街道 (medium risk since 01-15) through the API, as the command.
async fn list_xiluoyuan(app: &TestApp) {
    let token = app.login_as("command", "330784").await;
    let (status, body) = app
        .post(
            &token,
            "/api/v1/risk-areas",
            json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn post_form(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, String)],
) -> reqwest::Response {
    let mut req = app.http.post(app.url(path)).form(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

async fn get_page(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut req = app.http.get(app.url(path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    (
        r.status().as_u16(),
        named_entities(&r.text().await.unwrap()),
    )
}

/// askama escapes `<` as `&#60;`; the tests read it as `&lt;` (the same
/// character reference, spelled by name).
fn named_entities(html: &str) -> String {
    html.replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;")
        .replace("&#38;", "&amp;")
        .replace("&#34;", "&quot;")
        .replace("&#39;", "&apos;")
}

async fn text_of(r: reqwest::Response) -> String {
    named_entities(&r.text().await.unwrap())
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_string()
}

/// Declares through the form and returns the receipt page's path.
async fn declare_by_form(app: &TestApp, form: &[(&str, String)]) -> String {
    let r = post_form(app, "/declare", None, form).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let to = location(&r);
    assert!(to.starts_with("/s/") && to.ends_with("?new=1"), "{to}");
    to
}

/// A user of `role` in `region`, signed in through the login form; returns
/// the `cookie` header value.
async fn sign_in(app: &TestApp, role: &str, region: &str) -> String {
    let name = unique("p");
    app.services
        .add_user(parse_new_user(&name, role, region, PASSWORD).unwrap())
        .await
        .unwrap();
    let r = post_form(
        app,
        "/login",
        None,
        &[
            ("username", name),
            ("password", PASSWORD.into()),
            ("next", "/tasks".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/tasks");
    let set = r
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    assert!(set.starts_with("bihuan_session="), "{set}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attr), "{attr} missing from {set}");
    }
    set.split(';').next().unwrap().to_string()
}

/// The CSRF token the page's forms carry.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

async fn api_tasks(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = app.get(token, "/api/v1/tasks").await;
    assert_eq!(status, 200);
    body.as_array().unwrap().clone()
}

#[tokio::test]
async fn the_form_declares_and_the_receipt_says_what_to_do() {
    let app = spawn().await;
    list_xiluoyuan(&app).await;

    let (status, html) = get_page(&app, "/declare", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("返永通"));
    assert!(html.contains("<option value=\"330784001001\">园丁社区</option>"));
    assert!(
        html.contains("<optgroup label=\"西城街道\">"),
        "villages grouped by town"
    );
    assert!(html.contains("name=\"origin_county\""), "no-JS code inputs");
    assert!(
        html.len() < 64 * 1024,
        "the form stays small: {} bytes",
        html.len()
    );

    let receipt = declare_by_form(&app, &form()).await;
    let (status, html) = get_page(&app, &receipt, None).await;
    assert_eq!(status, 200);
    let code = receipt.trim_start_matches("/s/").trim_end_matches("?new=1");
    assert!(html.contains(code), "shows the receipt code");
    assert!(html.contains("报备成功"));
    assert!(html.contains("收藏本页"), "tells the person to bookmark it");
    assert!(
        html.contains("中高风险地区所在乡镇(街道)"),
        "category in words"
    );
    assert!(html.contains("集中隔离"));
    assert!(
        html.contains("2月15日"),
        "the release date, 21 days from 01-26"
    );
    assert!(html.contains("双采"));
    assert!(html.contains("网格员"), "what to do next");
    assert!(html.contains("张*"), "the name is masked");
    assert!(!html.contains("张三"));

    let (_, en) = get_page(&app, &format!("{receipt}&lang=en"), None).await;
    assert!(en.contains("township/street of a medium- or high-risk area"));
    assert!(en.contains("centralised quarantine"));
    assert!(en.contains("15 Feb 2022"));
    assert!(en.contains("lang=\"en\""));

    // The language is kept across the post-redirect.
    let r = post_form(
        &app,
        "/declare?lang=en",
        None,
        &with(form(), "id_number", resident(7).as_str()),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).ends_with("?new=1&lang=en"), "{}", location(&r));
}

fn resident(n: u32) -> String {
    support::resident_id(n)
}

#[tokio::test]
async fn hostile_text_is_escaped_and_a_bad_form_comes_back_filled_in() {
    let app = spawn().await;
    let bad = with(
        with(form(), "name", "<script>alert(1)</script>"),
        "id_number",
        "110105194912310021",
    );
    let r = post_form(&app, "/declare", None, &bad).await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "never the raw tag");
    assert!(html.contains("请修改以下内容"));
    assert!(
        html.contains("href=\"#id_number\""),
        "the list names the field"
    );
    assert!(
        html.contains("value=\"13800138000\""),
        "the other values are kept"
    );
    assert!(html.contains("value=\"110106003\""));
    assert!(html.contains("<option value=\"330784001001\" selected>"));
    assert!(
        !html.contains("data-fresh"),
        "a draft must not overwrite the typed values"
    );

    // A bad stop row is named by its row on the form, not its index.
    let r = post_form(
        &app,
        "/declare?lang=en",
        None,
        &with(
            with(
                with(form(), "itinerary_2_county", "420106"),
                "itinerary_2_from",
                "2022-01-20",
            ),
            "itinerary_2_to",
            "2022-01-10",
        ),
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(html.contains("href=\"#itinerary_2_to\""), "{html}");
    assert!(html.contains("Stop 3"));

    // Valid, with markup in the name and address.
    let cmd = sign_in(&app, "command", "330784").await;
    let receipt = declare_by_form(
        &app,
        &with(
            with(form(), "name", "<b>x</b>"),
            "destination_address",
            "<b>x</b>路",
        ),
    )
    .await;
    let (status, html) = get_page(&app, &receipt, None).await;
    assert_eq!(status, 200);
    assert!(html.contains("&lt;*******"), "masked, escaped");
    assert!(!html.contains("<b>x"));

    let token = app.login_as("command", "330784").await;
    let person = api_tasks(&app, &token).await[0]["person_id"]
        .as_i64()
        .unwrap();
    let (status, html) = get_page(&app, &format!("/persons/{person}"), Some(&cmd)).await;
    assert_eq!(status, 200);
    assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"), "{html}");
    assert!(html.contains("&lt;b&gt;x&lt;/b&gt;路"), "the address too");
    assert!(!html.contains("<b>x"));
    assert!(html.contains("申报"), "timeline in words");
    assert!(html.contains("派发任务"));
}

#[tokio::test]
async fn task_forms_need_the_session_csrf_token() {
    let app = spawn().await;
    app.declare(support::declaration()).await;
    let worker = sign_in(&app, "grid_worker", "330784001001001").await;
    let token = app.login_as("command", "330784").await;
    let task = &api_tasks(&app, &token).await[0];
    let id = task["id"].as_i64().unwrap();
    assert_eq!(task["state"], "dispatched");

    let (status, html) = get_page(&app, "/tasks", Some(&worker)).await;
    assert_eq!(status, 200);
    assert!(html.contains("我的任务"));
    assert!(html.contains("核查"));
    assert!(html.contains(&format!("action=\"/tasks/{id}/ack\"")));
    let csrf = csrf_of(&html);

    // Wrong or missing token: 403, nothing changes.
    for bad in [
        "",
        "0123456789abcdef0123456789abcdef",
        &csrf[..csrf.len() - 1],
    ] {
        let r = post_form(
            &app,
            &format!("/tasks/{id}/ack"),
            Some(&worker),
            &[("csrf", bad.to_string())],
        )
        .await;
        assert_eq!(r.status(), 403, "csrf {bad:?}");
    }
    assert_eq!(api_tasks(&app, &token).await[0]["state"], "dispatched");

    // The right token: the task moves on, and the browser goes back.
    let r = post_form(
        &app,
        &format!("/tasks/{id}/ack"),
        Some(&worker),
        &[
            ("csrf", csrf.clone()),
            ("back", "/tasks?state=dispatched".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/tasks?state=dispatched");
    assert_eq!(api_tasks(&app, &token).await[0]["state"], "acknowledged");

    // Acknowledging twice is a conflict page.
    let r = post_form(
        &app,
        &format!("/tasks/{id}/ack"),
        Some(&worker),
        &[("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(r.status(), 409);

    // A report that misses the new village comes back with its values.
    let r = post_form(
        &app,
        &format!("/tasks/{id}/report"),
        Some(&worker),
        &[
            ("csrf", csrf.clone()),
            ("outcome", "moved".into()),
            ("note", "<i>搬走了</i>".into()),
            ("village", "".into()),
            ("address", "新地址".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(
        html.contains("&lt;i&gt;搬走了&lt;/i&gt;</textarea>"),
        "{html}"
    );
    assert!(html.contains("value=\"新地址\""));
    assert!(html.contains("<option value=\"moved\" selected>"));
    assert_eq!(api_tasks(&app, &token).await[0]["state"], "acknowledged");

    // An off-site `back` is ignored.
    let r = post_form(
        &app,
        &format!("/tasks/{id}/report"),
        Some(&worker),
        &[
            ("csrf", csrf.clone()),
            ("outcome", "verified".into()),
            ("note", "已落实".into()),
            ("back", "//evil.example/".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/tasks");
    assert_eq!(api_tasks(&app, &token).await[0]["state"], "reported");

    // Grid workers do not review.
    let r = post_form(
        &app,
        &format!("/tasks/{id}/close"),
        Some(&worker),
        &[("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(r.status(), 403);

    // The village reviews it from its queue.
    let village = sign_in(&app, "village", "330784001001").await;
    let (_, html) = get_page(&app, "/tasks?state=reported", Some(&village)).await;
    assert!(html.contains("审核队列"));
    assert!(html.contains("已落实"));
    let vcsrf = csrf_of(&html);
    assert_ne!(vcsrf, csrf, "each session has its own token");
    let r = post_form(
        &app,
        &format!("/tasks/{id}/close"),
        Some(&village),
        &[("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(r.status(), 403, "another session's token is refused");
    let r = post_form(
        &app,
        &format!("/tasks/{id}/close"),
        Some(&village),
        &[("csrf", vcsrf.clone())],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(api_tasks(&app, &token).await[0]["state"], "closed");
    let r = post_form(
        &app,
        &format!("/tasks/{id}/reopen"),
        Some(&village),
        &[("csrf", vcsrf.clone())],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(api_tasks(&app, &token).await[0]["state"], "dispatched");

    // Signing out ends the session.
    let r = post_form(&app, "/logout", Some(&village), &[("csrf", vcsrf)]).await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = get_page(&app, "/tasks", Some(&village)).await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn pages_for_staff_need_a_session() {
    let app = spawn().await;
    let r = app
        .http
        .get(app.url("/tasks?state=closed"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login?next=%2Ftasks%3Fstate%3Dclosed");
    for path in ["/command", "/risk-areas", "/persons/1"] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert!(location(&r).starts_with("/login?next="), "{path}");
    }
    let r = app
        .http
        .get(app.url("/tasks?lang=en"))
        .header("cookie", "bihuan_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).ends_with("&lang=en"), "the language follows");

    let (status, html) = get_page(&app, "/login?next=//evil.example/", None).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("name=\"next\" value=\"/tasks\""),
        "only local paths"
    );

    let r = post_form(
        &app,
        "/login",
        None,
        &[
            ("username", "nobody".into()),
            ("password", "wrong password".into()),
            ("next", "/command".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    let html = text_of(r).await;
    assert!(html.contains("用户名或密码错误"));
    assert!(html.contains("value=\"nobody\""));

    let r = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/declare");
}

#[tokio::test]
async fn the_command_publishes_risk_areas_and_sees_the_overview() {
    let app = spawn().await;
    let cmd = sign_in(&app, "command", "330784").await;
    app.declare(support::declaration()).await;

    let (status, html) = get_page(&app, "/risk-areas", Some(&cmd)).await;
    assert_eq!(status, 200);
    assert!(html.contains("暂无风险地区"));
    let csrf = csrf_of(&html);

    let area = |csrf: &str, since: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("county", "110106".to_string()),
            ("township", "110106003".to_string()),
            ("subarea", "".to_string()),
            ("level", "medium".to_string()),
            ("since", since.to_string()),
        ]
    };
    let r = post_form(&app, "/risk-areas", Some(&cmd), &area("nope", "2022-01-15")).await;
    assert_eq!(r.status(), 403);
    let r = post_form(&app, "/risk-areas", Some(&cmd), &area(&csrf, "2021-01-15")).await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(
        html.contains("value=\"2021-01-15\""),
        "the form keeps its values"
    );
    assert!(html.contains("起始日期不能晚于今天"));

    let r = post_form(&app, "/risk-areas", Some(&cmd), &area(&csrf, "2022-01-15")).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let (_, html) = get_page(&app, &to, Some(&cmd)).await;
    assert!(html.contains("已重新研判 1 人，升级 1 人"), "{to}: {html}");
    assert!(html.contains("北京市丰台区 西罗园街道"));
    assert!(html.contains("中风险"));
    let at = html.find("action=\"/risk-areas/").expect("a lift button") + 8;
    let lift = html[at..at + html[at..].find('"').unwrap()].to_string();
    assert!(lift.ends_with("/lift"), "{lift}");

    let csv =
        "county,township,subarea,level,since\n420106,,,high,2022-01-20\n999999,,,high,2022-01-20\n";
    let r = post_form(
        &app,
        "/risk-areas/import",
        Some(&cmd),
        &[("csrf", csrf.clone()), ("csv", csv.into())],
    )
    .await;
    assert_eq!(r.status(), 200);
    let html = text_of(r).await;
    assert!(html.contains("新增 1 条"), "{html}");
    assert!(
        html.contains("请选择有效的县(市、区)"),
        "row 2 is refused with its reason"
    );
    let r = post_form(
        &app,
        "/risk-areas/import",
        Some(&cmd),
        &[("csrf", csrf.clone()), ("csv", "a,b\n1,2".into())],
    )
    .await;
    assert_eq!(r.status(), 422);

    let r = post_form(&app, &lift, Some(&cmd), &[("csrf", csrf.clone())]).await;
    assert_eq!(r.status(), 303);
    let r = post_form(&app, &lift, Some(&cmd), &[("csrf", csrf.clone())]).await;
    assert_eq!(r.status(), 409, "lifting twice conflicts");

    let (status, html) = get_page(&app, "/command", Some(&cmd)).await;
    assert_eq!(status, 200);
    assert!(html.contains("指挥部总览"));
    assert!(
        html.contains("<tr><th>东城街道</th><td class=\"num\">1</td>"),
        "today's declarations by town and category: {html}"
    );
    assert!(html.contains("<svg class=\"chart\""));
    assert!(html.contains("class=\"tile ok\""));

    // A town sees masks only, and may not ask for more.
    let town = sign_in(&app, "town", "330784001").await;
    let (_, html) = get_page(&app, "/risk-areas", Some(&town)).await;
    assert!(
        !html.contains("/risk-areas/import"),
        "no publishing forms for a town"
    );
    let token = app.login_as("command", "330784").await;
    let person = api_tasks(&app, &token).await[0]["person_id"]
        .as_i64()
        .unwrap();
    let (status, html) = get_page(&app, &format!("/persons/{person}"), Some(&town)).await;
    assert_eq!(status, 200);
    assert!(!html.contains("unmask=1"));
    let (status, _) = get_page(&app, &format!("/persons/{person}?unmask=1"), Some(&town)).await;
    assert_eq!(status, 403);
    let (status, html) = get_page(&app, &format!("/persons/{person}?unmask=1"), Some(&cmd)).await;
    assert_eq!(status, 200);
    assert!(html.contains("11010519491231002X"));
    assert!(
        html.contains("查看完整证件号"),
        "the view is on the timeline"
    );
}

#[tokio::test]
async fn the_poster_and_the_static_files() {
    let app = spawn().await;
    let (status, html) = get_page(&app, "/poster", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("来永返永人员报备"));
    assert!(html.contains("<svg"));
    assert!(!html.contains("<?xml"));
    assert!(html.contains("http://127.0.0.1:8080/declare"));
    assert!(!html.contains("<script>"), "no inline scripts (CSP)");
    let r = app
        .http
        .get(app.url("/static/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let r = app
        .http
        .get(app.url("/static/app.css"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let (status, html) = get_page(&app, "/s/000000000000000000000000", None).await;
    assert_eq!(status, 404);
    assert!(html.contains("没有找到"));
}

#[tokio::test]
async fn the_public_form_is_rate_limited() {
    let app = support::spawn_with(|s| s.public_rate_limit = 1).await;
    let r = post_form(&app, "/declare", None, &with(form(), "phone", "1")).await;
    assert_eq!(r.status(), 422);
    let r = post_form(&app, "/declare", None, &form()).await;
    assert_eq!(r.status(), 429);
    assert!(text_of(r).await.contains("提交过于频繁"));
}
