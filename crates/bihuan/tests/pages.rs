//! The server-rendered pages, over HTTP: forms post urlencoded bodies, the
//! session is a cookie, and every logged-in form carries the CSRF token.

mod support;

use bihuan::usecases::auth::parse_new_user;
use serde_json::{Value, json};
use support::{TestApp, csrf_of, spawn, unique};

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
    // Back to the same list, saying what was done, at the card.
    assert_eq!(
        location(&r),
        format!("/tasks?state=dispatched&done=ack&task={id}#task-{id}")
    );
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
    assert_eq!(
        location(&r),
        format!("/tasks?done=report&task={id}#task-{id}")
    );
    assert_eq!(api_tasks(&app, &token).await[0]["state"], "reported");

    // Grid workers do not review.
    let r = post_form(
        &app,
        &format!("/tasks/{id}/close"),
        Some(&worker),
        &[("csrf", csrf.clone()), ("confirm", "1".into())],
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
        &[("csrf", csrf.clone()), ("confirm", "1".into())],
    )
    .await;
    assert_eq!(r.status(), 403, "another session's token is refused");
    let r = post_form(
        &app,
        &format!("/tasks/{id}/close"),
        Some(&village),
        &[("csrf", vcsrf.clone()), ("confirm", "1".into())],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(api_tasks(&app, &token).await[0]["state"], "closed");
    let r = post_form(
        &app,
        &format!("/tasks/{id}/reopen"),
        Some(&village),
        &[("csrf", vcsrf.clone()), ("reason", "再核一次".into())],
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

    let sure = [("csrf", csrf.clone()), ("confirm", "1".to_string())];
    let r = post_form(&app, &lift, Some(&cmd), &[("csrf", csrf.clone())]).await;
    assert_eq!(r.status(), 422, "lifting asks for the confirmation");
    let r = post_form(&app, &lift, Some(&cmd), &sure).await;
    assert_eq!(r.status(), 303);
    let r = post_form(&app, &lift, Some(&cmd), &sure).await;
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
    // The status page's forms have a budget of their own, apart from
    // declaring: the first passes the limit, the second is over it.
    for (path, limited) in [("check-in", false), ("help", true)] {
        let r = post_form(
            &app,
            &format!("/s/000000000000000000000000/{path}"),
            None,
            &[("temperature", "36.5".into()), ("kind", "other".into())],
        )
        .await;
        assert_eq!(r.status() == 429, limited, "{path}: {}", r.status());
    }
}

// ---------------------------------------------------------------------------
// 管控执行 on the pages: check-ins, 暖心服务, tests, release, transfers.

const GRID: &str = "330784001001001";

/// POLICY.md's example 1 (14+7, 西罗园 listed) declared through the API:
/// (receipt, person id).
async fn under_control(app: &TestApp, id_number: &str) -> (String, i64) {
    let mut d = support::declaration();
    d["id_number"] = json!(id_number);
    let (status, body) = app.declare(d).await;
    assert_eq!(status, 201, "{body}");
    (
        body["receipt"].as_str().unwrap().to_string(),
        body["person_id"].as_i64().unwrap(),
    )
}

async fn timeline_kinds(app: &TestApp, token: &str, person: i64) -> Vec<String> {
    let (_, p) = app.get(token, &format!("/api/v1/persons/{person}")).await;
    p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_person_checks_in_from_the_status_page() {
    let app = spawn().await;
    list_xiluoyuan(&app).await;
    let (receipt, person) = under_control(&app, &resident(11)).await;
    let page = format!("/s/{receipt}");
    let command = app.login_as("command", "330784").await;

    let (status, html) = get_page(&app, &page, None).await;
    assert_eq!(status, 200);
    assert!(html.contains("健康打卡"), "{html}");
    assert!(html.contains(&format!("action=\"/s/{receipt}/check-in\"")));
    assert!(html.contains("inputmode=\"decimal\""));
    assert!(html.contains("name=\"symptoms\" value=\"loss_of_smell_taste\""));
    assert!(!html.contains("今日已打卡"));

    // Not a temperature: the page again, the message by the field, nothing stored.
    let r = post_form(
        &app,
        &format!("{page}/check-in"),
        None,
        &[("temperature", "99".into()), ("symptoms", "fatigue".into())],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(html.contains("体温应为34.0到43.0之间的数字"), "{html}");
    assert!(html.contains("value=\"99\""), "the typed value is kept");
    assert!(
        html.contains("value=\"fatigue\" checked"),
        "so are the ticks"
    );
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(!html.contains("今日已打卡"));
    assert!(
        !timeline_kinds(&app, &command, person)
            .await
            .contains(&"checked_in".to_string()),
        "nothing stored"
    );

    // A normal temperature: back to the page, which confirms it.
    let r = post_form(
        &app,
        &format!("{page}/check-in"),
        None,
        &[("temperature", "36.5".into())],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{page}?checked=1#check-in"));
    let (_, html) = get_page(&app, &format!("{page}?checked=1"), None).await;
    assert!(html.contains("今日已打卡 36.5℃"), "{html}");
    assert!(!html.contains("class=\"alarm\""), "no alarm for 36.5");
    assert!(
        timeline_kinds(&app, &command, person)
            .await
            .contains(&"checked_in".to_string())
    );

    // A symptom: the alarm notice, and a fever-clinic task.
    let r = post_form(
        &app,
        &format!("{page}/check-in?lang=en"),
        None,
        &[("temperature", "36.8".into()), ("symptoms", "cough".into())],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        format!("{page}?checked=1&alarm=1&lang=en#check-in")
    );
    let (_, html) = get_page(&app, &format!("{page}?checked=1&alarm=1"), None).await;
    assert!(html.contains("今日已打卡 36.8℃"), "{html}");
    assert!(
        html.contains("<p class=\"alarm\" role=\"alert\">您的体温偏高或有症状"),
        "the alarm notice: {html}"
    );
    let (_, en) = get_page(&app, &format!("{page}?lang=en"), None).await;
    assert!(en.contains("Checked in today: 36.8 °C"), "{en}");
    assert!(en.contains("fever clinic"), "the alarm stays all day");
    let kinds: Vec<String> = api_tasks(&app, &command)
        .await
        .iter()
        .map(|t| t["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"fever_transfer".to_string()), "{kinds:?}");

    // Nobody under a measure: no check-in form, and a post is refused.
    let mut reg = support::declaration();
    reg["id_number"] = json!(resident(12));
    reg["origin"] = json!({"county": "330106", "departed_on": "2022-01-28"});
    let (_, reg) = app.declare(reg).await;
    let other = format!("/s/{}", reg["receipt"].as_str().unwrap());
    let (_, html) = get_page(&app, &other, None).await;
    assert!(!html.contains("/check-in\""), "{html}");
    assert!(!html.contains("暖心服务"));
    let r = post_form(
        &app,
        &format!("{other}/check-in"),
        None,
        &[("temperature", "36.5".into())],
    )
    .await;
    assert_eq!(r.status(), 409);
    let r = post_form(
        &app,
        "/s/000000000000000000000000/check-in",
        None,
        &[("temperature", "36.5".into())],
    )
    .await;
    assert_eq!(r.status(), 404);
    // The release notice is only for a released control.
    let (status, _) = get_page(&app, &format!("{page}/release"), None).await;
    assert_eq!(status, 404);
    let (status, _) = get_page(&app, &format!("{other}/release"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn help_is_asked_answered_and_rated_on_the_status_page() {
    let app = spawn().await;
    list_xiluoyuan(&app).await;
    let (receipt, _) = under_control(&app, &resident(21)).await;
    let page = format!("/s/{receipt}");

    let (_, html) = get_page(&app, &page, None).await;
    assert!(html.contains("暖心服务"));
    assert!(html.contains("<option value=\"groceries\">生活物资</option>"));
    assert!(html.contains("<option value=\"medical\">就医</option>"));

    // No kind: the page again with the message by the select.
    let r = post_form(
        &app,
        &format!("{page}/help"),
        None,
        &[("kind", "".into()), ("note", "牛奶".into())],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(html.contains("请选择求助类型"), "{html}");
    assert!(html.contains(">牛奶</textarea>"), "the note is kept");

    // Markup in the note is shown as text.
    let r = post_form(
        &app,
        &format!("{page}/help"),
        None,
        &[
            ("kind", "medicine".into()),
            ("note", "<script>x</script>".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{page}?help=1#help"));
    let (_, html) = get_page(&app, &format!("{page}?help=1"), None).await;
    assert!(html.contains("已收到您的求助"));
    assert!(html.contains("我的求助"));
    assert!(html.contains("药品"));
    assert!(html.contains("处理中"), "{html}");
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"), "{html}");
    assert!(!html.contains("<script>x"), "never the raw tag");
    assert!(!html.contains("/rate\""), "nothing to rate yet");

    // The command sees it waiting, by town.
    let cmd = sign_in(&app, "command", "330784").await;
    app.advance_hours(2);
    let (_, html) = get_page(&app, "/command", Some(&cmd)).await;
    assert!(html.contains("暖心服务待处理"), "{html}");
    assert!(
        html.contains(
            "<tr><td>东城街道</td><td class=\"num\">1</td><td class=\"num\">2小时0分钟</td></tr>"
        ),
        "{html}"
    );

    // The grid worker's list labels the kind and offers 已处理.
    let worker_page = sign_in(&app, "grid_worker", GRID).await;
    let worker = app.login_as("grid_worker", GRID).await;
    let help_task = api_tasks(&app, &worker)
        .await
        .into_iter()
        .find(|t| t["kind"] == "help")
        .expect("a help task");
    let id = help_task["id"].as_i64().unwrap();
    let (s, _) = app
        .post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    assert_eq!(s, 200);
    let (_, html) = get_page(&app, "/tasks", Some(&worker_page)).await;
    assert!(html.contains("<strong>暖心服务</strong>"), "{html}");
    let card = &html[html.find(&format!("id=\"task-{id}\"")).unwrap()..];
    assert!(
        card.contains("<option value=\"\">请选择</option><option value=\"done\">已处理</option>"),
        "{card}"
    );
    let (s, body) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "done", "note": "已送达"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");

    // Answered: the note shows, and it may be rated once.
    let (_, html) = get_page(&app, &page, None).await;
    assert!(html.contains("已答复"), "{html}");
    assert!(html.contains("已送达"));
    let (_, list) = app.get("", &format!("/api/v1/status/{receipt}/help")).await;
    let help_id = list[0]["id"].as_i64().unwrap();
    let rate = format!("{page}/help/{help_id}/rate");
    assert!(html.contains(&format!("action=\"{rate}\"")), "{html}");
    let r = post_form(&app, &rate, None, &[("rating", "9".into())]).await;
    assert_eq!(r.status(), 422);
    assert!(text_of(r).await.contains("评分为1到5"));
    let r = post_form(&app, &rate, None, &[("rating", "5".into())]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{page}?rated=1#help"));
    let (_, html) = get_page(&app, &format!("{page}?rated=1"), None).await;
    assert!(html.contains("感谢您的评价"));
    assert!(html.contains("您的评价：5/5"), "{html}");
    assert!(!html.contains(&format!("action=\"{rate}\"")), "rated once");
    let r = post_form(&app, &rate, None, &[("rating", "4".into())]).await;
    assert_eq!(r.status(), 409);
    assert!(text_of(r).await.contains("当前状态下不能这样操作"));

    // The timeline names the new events in Chinese.
    let person = help_task["person_id"].as_i64().unwrap();
    let (_, html) = get_page(&app, &format!("/persons/{person}"), Some(&cmd)).await;
    assert!(html.contains("暖心服务求助"), "{html}");
    assert!(html.contains("服务评价"));
    assert!(html.contains("5/5"));
    assert!(!html.contains("<script>x"));
}

#[tokio::test]
async fn due_tests_release_and_the_notice() {
    let app = spawn().await;
    let cmd_token = app.login_as("command", "330784").await;
    let (s, _) = app
        .post(
            &cmd_token,
            "/api/v1/risk-areas",
            json!({"county": "110106", "township": "110106003", "level": "medium", "since": "2022-01-15"}),
        )
        .await;
    assert_eq!(s, 201);
    // POLICY.md's example 2 (2+14): tests on 01-28, 01-29 and 02-09.
    let mut d = support::declaration();
    d["origin"] = json!({"county": "110106", "township": "110106001", "departed_on": "2022-01-27"});
    let (_, d) = app.declare(d).await;
    assert_eq!(d["assessment"]["category"], "risk_county");
    let receipt = d["receipt"].as_str().unwrap().to_string();
    let person = d["person_id"].as_i64().unwrap();
    let worker = sign_in(&app, "grid_worker", GRID).await;

    // 今日应检 lists the person, with a quick form; it is in the nav.
    let (status, html) = get_page(&app, "/due-tests", Some(&worker)).await;
    assert_eq!(status, 200);
    assert!(html.contains("href=\"/due-tests\""), "in the nav");
    assert!(
        html.contains(&format!("href=\"/persons/{person}\"")),
        "{html}"
    );
    assert!(html.contains("张三"));
    assert!(html.contains("第2天"), "the day of the plan: {html}");
    assert!(html.contains("待检"));
    let action = format!("action=\"/persons/{person}/tests\"");
    assert!(html.contains(&action));
    assert!(html.contains("<option value=\"negative\">阴性</option>"));
    let csrf = csrf_of(&html);
    let r = post_form(
        &app,
        &format!("/persons/{person}/tests"),
        Some(&worker),
        &[
            ("csrf", "nope".into()),
            ("result", "negative".into()),
            ("sampled_at", "".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_form(
        &app,
        &format!("/persons/{person}/tests"),
        Some(&worker),
        &[
            ("csrf", csrf.clone()),
            ("back", "/due-tests".into()),
            ("result", "negative".into()),
            ("sampled_at", "".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/due-tests?tested={person}"));
    let (_, html) = get_page(&app, &location(&r), Some(&worker)).await;
    assert!(html.contains("核酸结果已录入"));
    assert!(html.contains("已采样"), "{html}");
    assert!(!html.contains(&action), "done for today");
    // A bad result is named.
    let r = post_form(
        &app,
        &format!("/persons/{person}/tests"),
        Some(&worker),
        &[("csrf", csrf.clone()), ("result", "maybe".into())],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(text_of(r).await.contains("结果应为阴性、阳性或待出"));

    // The person page: colour, the forms, new events in words.
    let (_, html) = get_page(&app, &format!("/persons/{person}"), Some(&worker)).await;
    assert!(html.contains("hc-green\">绿码"), "{html}");
    assert!(html.contains(&format!("action=\"/persons/{person}/check-in\"")));
    assert!(html.contains(&action));
    assert!(html.contains(&format!("action=\"/persons/{person}/transfer\"")));
    assert!(
        !html.contains("/release\""),
        "not due, and not for a grid worker"
    );
    assert!(html.contains("录入核酸"));
    let r = post_form(
        &app,
        &format!("/persons/{person}/check-in"),
        Some(&worker),
        &[
            ("csrf", csrf.clone()),
            ("temperature", "38.1".into()),
            ("symptoms", "fever".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        format!("/persons/{person}?checked=38.1&alarm=1")
    );
    let (_, html) = get_page(&app, &location(&r), Some(&worker)).await;
    assert!(html.contains("已代为打卡 38.1℃"), "{html}");
    assert!(html.contains("已派发发热就诊转运任务"));
    assert!(html.contains("体温 38.1℃ · 发热"), "timeline detail");
    assert!(html.contains("<strong>录入核酸</strong>"), "timeline kind");
    assert!(html.contains("发热就诊转运"));

    // 02-10: 02-09 is tested, 01-29 is not. Releasing names the missing day.
    let day =
        |n: i64| chrono::NaiveDate::from_ymd_opt(2022, 1, 28).unwrap() + chrono::Duration::days(n);
    let at = |date: chrono::NaiveDate| {
        use chrono::TimeZone;
        let local = date.and_hms_opt(10, 0, 0).unwrap() - chrono::Duration::hours(8);
        app.clock.set(chrono::Utc.from_utc_datetime(&local));
    };
    at(day(12));
    let w = app.login_as("grid_worker", GRID).await;
    let (s, _) = app
        .post(
            &w,
            "/api/v1/tests",
            json!({"person_id": person, "sampled_at": "2022-02-09T09:00:00+08:00", "result": "negative"}),
        )
        .await;
    assert_eq!(s, 201);
    at(day(13));
    // Sessions do not last two weeks: sign in again.
    let village = sign_in(&app, "village", "330784001001").await;
    let worker = sign_in(&app, "grid_worker", GRID).await;
    let (_, html) = get_page(&app, &format!("/persons/{person}"), Some(&village)).await;
    let vcsrf = csrf_of(&html);
    let r = post_form(
        &app,
        &format!("/persons/{person}/release"),
        Some(&village),
        &[("csrf", vcsrf.clone()), ("confirm", "1".into())],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(html.contains("以下检测日尚无阴性结果：1月29日"), "{html}");

    // The missing test, through the person page's form with a time typed.
    let (_, html) = get_page(&app, &format!("/persons/{person}"), Some(&worker)).await;
    let csrf = csrf_of(&html);
    let r = post_form(
        &app,
        &format!("/persons/{person}/tests"),
        Some(&worker),
        &[
            ("csrf", csrf.clone()),
            ("back", format!("/persons/{person}")),
            ("result", "negative".into()),
            ("sampled_at", "2022-01-29T09:30".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/persons/{person}?tested={person}"));
    app.services.run_jobs().await.unwrap();

    // Due for release: the village confirms on the page.
    let (_, html) = get_page(&app, &format!("/persons/{person}"), Some(&village)).await;
    assert!(html.contains("待解除"), "{html}");
    let release = format!("action=\"/persons/{person}/release\"");
    assert!(html.contains(&release), "{html}");
    assert!(html.contains("确认解除管控"));
    let (_, html) = get_page(&app, &format!("/persons/{person}"), Some(&worker)).await;
    assert!(!html.contains(&release), "the grid worker does not release");
    let (status, _) = get_page(&app, &format!("/s/{receipt}/release"), None).await;
    assert_eq!(status, 404, "not yet released");
    let r = post_form(
        &app,
        &format!("/persons/{person}/release"),
        Some(&village),
        &[("csrf", vcsrf.clone()), ("confirm", "1".into())],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/persons/{person}?released=1"));
    let (_, html) = get_page(&app, &location(&r), Some(&village)).await;
    assert!(html.contains("已解除管控，解除通知已发送"));
    assert!(html.contains("已解除"));
    assert!(html.contains("<strong>解除管控</strong>"), "timeline");
    assert!(!html.contains(&release));
    assert!(!html.contains("/check-in\""), "nothing to check in to");

    // The person sees it, with the notice to print.
    let (_, html) = get_page(&app, &format!("/s/{receipt}"), None).await;
    assert!(html.contains("您的管控已解除"), "{html}");
    assert!(html.contains(&format!("href=\"/s/{receipt}/release\"")));
    assert!(!html.contains("/check-in\""), "no check-in after release");
    let (status, html) = get_page(&app, &format!("/s/{receipt}/release"), None).await;
    assert_eq!(status, 200);
    assert!(html.contains("解除管控告知书"));
    assert!(
        html.contains("经核查，你已按要求完成管控措施，自2月10日起解除管控。"),
        "{html}"
    );
    assert!(html.contains("张*"), "masked");
    assert!(!html.contains("张三"));
    assert!(html.contains("<th>人员类别</th><td>"), "{html}");
    assert!(html.contains("2022年2月10日"));
    assert!(html.contains("永康市新冠肺炎疫情防控工作指挥部"));
    assert!(html.contains("class=\"notice-page\""));
    assert!(html.contains("data-print"));
    let policy = app.services.policy().version.clone();
    assert!(html.contains(&policy), "the policy version");
    let (_, en) = get_page(&app, &format!("/s/{receipt}/release?lang=en"), None).await;
    assert!(en.contains("Notice of release from control"));
    assert!(
        en.contains("released from control from 10 Feb 2022"),
        "{en}"
    );
}

#[tokio::test]
async fn transfers_and_exports_from_the_pages() {
    let app = spawn().await;
    list_xiluoyuan(&app).await;
    let (_, a) = under_control(&app, &resident(31)).await;
    let (_, b) = under_control(&app, &resident(32)).await;
    let cmd = sign_in(&app, "command", "330784").await;
    let (_, html) = get_page(&app, &format!("/persons/{a}"), Some(&cmd)).await;
    let csrf = csrf_of(&html);
    assert!(html.contains("name=\"to\" data-switch-by"), "{html}");
    assert!(html.contains("data-local-picker data-root=\"330784\""));

    // Out of the city: a 协查 hand-over.
    let r = post_form(
        &app,
        &format!("/persons/{a}/transfer"),
        Some(&cmd),
        &[
            ("csrf", csrf.clone()),
            ("to", "out".into()),
            ("village", "".into()),
            ("county", "999999".into()),
            ("township", "".into()),
            ("address", "某地".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(text_of(r).await.contains("请选择有效的县(市、区)"));
    let r = post_form(
        &app,
        &format!("/persons/{a}/transfer"),
        Some(&cmd),
        &[
            ("csrf", csrf.clone()),
            ("to", "out".into()),
            ("village", "".into()),
            ("county", "110106".into()),
            ("township", "".into()),
            ("address", "北京市丰台区某路1号".into()),
            ("reason", "返回常住地".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/persons/{a}?transferred=1"));
    let (_, html) = get_page(&app, &location(&r), Some(&cmd)).await;
    assert!(html.contains("已转移"));
    assert!(html.contains("已转出本市（协查移交）"), "{html}");
    assert!(html.contains("<strong>市外协查移交</strong>"));
    assert!(html.contains("返回常住地"));
    assert!(!html.contains("/transfer\""), "transferred once");

    // Inside the city, to a village of another town: out of a village's view.
    let (_, town) = app.get("", "/api/v1/regions/330784002").await;
    let to = town["children"][0]["code"].as_str().unwrap().to_string();
    let village = sign_in(&app, "village", "330784001001").await;
    let (_, html) = get_page(&app, &format!("/persons/{b}"), Some(&village)).await;
    let vcsrf = csrf_of(&html);
    let r = post_form(
        &app,
        &format!("/persons/{b}/transfer"),
        Some(&village),
        &[
            ("csrf", vcsrf),
            ("to", "city".into()),
            ("village", to.clone()),
            ("county", "110106".into()),
            ("address", "新居1号".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/tasks");
    let (_, html) = get_page(&app, &format!("/persons/{b}"), Some(&cmd)).await;
    assert!(html.contains("<strong>转移</strong>"), "{html}");
    assert!(html.contains(&format!("{to}001")));
    let token = app.login_as("command", "330784").await;
    let kinds: Vec<String> = api_tasks(&app, &token)
        .await
        .iter()
        .map(|t| t["kind"].as_str().unwrap().to_string())
        .collect();
    assert!(kinds.contains(&"transfer_in".to_string()), "{kinds:?}");
    let (_, html) = get_page(&app, "/tasks", Some(&cmd)).await;
    assert!(html.contains("转入核查"), "the kind in words");

    // Downloads on the command page, with the session cookie.
    let (_, html) = get_page(&app, "/command", Some(&cmd)).await;
    assert!(
        html.contains("href=\"/exports/health-codes.xlsx\""),
        "{html}"
    );
    assert!(html.contains("href=\"/exports/handovers.xlsx\""));
    for path in ["/exports/health-codes.xlsx", "/exports/handovers.xlsx"] {
        let r = app
            .http
            .get(app.url(path))
            .header("cookie", &cmd)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("spreadsheetml"),
            "{path}"
        );
        assert_eq!(r.headers()["cache-control"], "no-store");
        let bytes = r.bytes().await.unwrap();
        assert!(bytes.starts_with(b"PK"), "{path}: an xlsx (zip) file");
    }
    let r = app
        .http
        .get(app.url("/exports/handovers.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "a session is needed");
    let townc = sign_in(&app, "town", "330784001").await;
    let (_, html) = get_page(&app, "/command", Some(&townc)).await;
    assert!(
        !html.contains("/exports/"),
        "a town has nothing to download"
    );
    let (status, _) = get_page(&app, "/exports/health-codes.xlsx", Some(&townc)).await;
    assert_eq!(status, 403);
}

// ---------------------------------------------------------------------------
// 核酸采样 and 采样点.

const SAMPLER_GRID: &str = "330784001001001";

/// The members of a tube, through the JSON API.
async fn api_tube(app: &TestApp, barcode: &str) -> Value {
    let token = app.login_as("command", "330784").await;
    let (status, body) = app.get(&token, &format!("/api/v1/tubes/{barcode}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Posts one scan to a tube's form.
async fn scan(
    app: &TestApp,
    cookie: &str,
    csrf: &str,
    barcode: &str,
    input: &str,
    name: &str,
) -> reqwest::Response {
    post_form(
        app,
        &format!("/sample/tubes/{barcode}/members"),
        Some(cookie),
        &[
            ("csrf", csrf.to_string()),
            ("scan", input.to_string()),
            ("id_type", "resident".into()),
            ("name", name.to_string()),
        ],
    )
    .await
}

/// Follows a 303 from a scan and returns the page it leads to.
async fn after(app: &TestApp, cookie: &str, r: reqwest::Response) -> String {
    assert_eq!(r.status(), 303, "{}", text_of(r).await);
    let (status, html) = get_page(app, &location(&r), Some(cookie)).await;
    assert_eq!(status, 200);
    html
}

#[tokio::test]
async fn a_sampler_fills_a_tube_by_scanning_and_seals_it() {
    let app = spawn().await;
    let (status, first) = app.declare(support::declaration()).await;
    assert_eq!(status, 201, "{first}");
    let receipt = first["receipt"].as_str().unwrap().to_string();
    let mut d = support::declaration();
    d["name"] = json!("李四");
    d["id_number"] = json!(support::resident_id(1));
    let (status, second) = app.declare(d).await;
    assert_eq!(status, 201, "{second}");
    let second = second["person_id"].as_i64().unwrap();

    let worker = sign_in(&app, "grid_worker", SAMPLER_GRID).await;
    let (status, html) = get_page(&app, "/sample", Some(&worker)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<a class=\"tab\" href=\"/sample\" aria-current=\"page\">采样</a>"),
        "one of the grid's tabs"
    );
    assert!(html.contains("autocapitalize=\"characters\""), "{html}");
    assert!(html.contains("<option value=\"10\" selected>10合1</option>"));
    assert!(html.contains("<option value=\"1\">单采</option>"));
    assert!(html.contains("<option value=\"mandatory\" selected>应检尽检</option>"));
    assert!(html.contains("<option value=\"\">其他/无</option>"));
    let csrf = csrf_of(&html);

    let open = |barcode: &str, size: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("barcode", barcode.to_string()),
            ("pool_size", size.to_string()),
            ("category", "mandatory".to_string()),
            ("site", String::new()),
        ]
    };
    let mut forged = open("YK3000001", "10");
    forged[0].1 = "forged".into();
    let r = post_form(&app, "/sample/tubes", Some(&worker), &forged).await;
    assert_eq!(r.status(), 403, "the form needs the session's token");
    let r = post_form(
        &app,
        "/sample/tubes",
        Some(&worker),
        &open("yk3000001", "10"),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/sample/tubes/YK3000001");
    let r = post_form(
        &app,
        "/sample/tubes",
        Some(&worker),
        &open("YK3000001", "10"),
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(html.contains("该条码已被使用"), "{html}");
    assert!(
        html.contains("href=\"/sample/tubes/YK3000001\""),
        "a way to that tube"
    );
    let r = post_form(
        &app,
        "/sample/tubes",
        Some(&worker),
        &open("YK3000009", "7"),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(text_of(r).await.contains("混采管规格"));

    let (status, html) = get_page(&app, "/sample/tubes/YK3000001", Some(&worker)).await;
    assert_eq!(status, 200);
    assert!(html.contains("已采 0/10"), "{html}");
    assert!(html.contains("id=\"scan\""));
    assert!(html.contains("autofocus"));

    // A 返永通 status URL as a phone's scanner reads it off the receipt.
    let r = scan(
        &app,
        &worker,
        &csrf,
        "YK3000001",
        &format!("http://yk.example/s/{receipt}"),
        "",
    )
    .await;
    let html = after(&app, &worker, r).await;
    assert!(html.contains("已加入：张* (1/10)"), "{html}");
    assert!(html.contains("已采 1/10"));
    // A person code.
    let r = scan(&app, &worker, &csrf, "YK3000001", &format!("P{second}"), "").await;
    let html = after(&app, &worker, r).await;
    assert!(html.contains("已加入：李* (2/10)"), "{html}");
    // A resident ID nobody declared, with a name: a new person.
    let r = scan(
        &app,
        &worker,
        &csrf,
        "YK3000001",
        &support::resident_id(2),
        "王五",
    )
    .await;
    let html = after(&app, &worker, r).await;
    assert!(html.contains("已加入：王* (3/10)"), "{html}");
    assert!(!html.contains("已满"), "three of ten");
    assert_eq!(api_tube(&app, "YK3000001").await["members"], 3);

    // The same person again (by the bare receipt this time): refused, 409,
    // the message by the input, which keeps the focus; nothing changes.
    let r = scan(&app, &worker, &csrf, "YK3000001", &receipt, "").await;
    assert_eq!(r.status(), 409);
    let html = text_of(r).await;
    assert!(html.contains("此人已在该试管中"), "{html}");
    assert!(html.contains("已采 3/10"), "the count is unchanged");
    let input = &html[html.find("id=\"scan\"").unwrap()..];
    let input = &input[..input.find('>').unwrap()];
    assert!(
        input.contains("autofocus") && input.contains("aria-invalid=\"true\""),
        "{input}"
    );
    assert!(input.contains(&format!("value=\"{receipt}\"")), "{input}");
    assert_eq!(api_tube(&app, "YK3000001").await["members"], 3);

    // What is none of the three is named as such; a bad check digit too.
    let r = scan(&app, &worker, &csrf, "YK3000001", "hello", "").await;
    assert_eq!(r.status(), 422);
    assert!(text_of(r).await.contains("无法识别"));
    let r = post_form(
        &app,
        "/sample/tubes/YK3000001/members?lang=en",
        Some(&worker),
        &[("csrf", csrf.clone()), ("scan", "hello".into())],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(
        html.contains("not recognised") && html.contains("Scan or type"),
        "{html}"
    );
    let r = scan(&app, &worker, &csrf, "YK3000001", "110105194912310021", "").await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    let r = scan(&app, &worker, &csrf, "YK3000001", "P999999", "").await;
    assert_eq!(r.status(), 422, "an unknown person code");
    let r = scan(&app, &worker, "forged", "YK3000001", "P1", "").await;
    assert_eq!(r.status(), 403);
    assert_eq!(api_tube(&app, "YK3000001").await["members"], 3);

    // 封管; a later scan is refused as sealed.
    let r = post_form(
        &app,
        "/sample/tubes/YK3000001/seal",
        Some(&worker),
        &[("csrf", "forged".into())],
    )
    .await;
    assert_eq!(r.status(), 403);
    // Without the confirmation box, nothing is sealed.
    let r = post_form(
        &app,
        "/sample/tubes/YK3000001/seal",
        Some(&worker),
        &[("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(api_tube(&app, "YK3000001").await["sealed"], false);
    let r = post_form(
        &app,
        "/sample/tubes/YK3000001/seal",
        Some(&worker),
        &[("csrf", csrf.clone()), ("confirm", "1".into())],
    )
    .await;
    let html = after(&app, &worker, r).await;
    assert!(html.contains("已封管"), "{html}");
    assert!(!html.contains("id=\"scan\""), "no scan form once sealed");
    let r = scan(
        &app,
        &worker,
        &csrf,
        "YK3000001",
        &support::resident_id(3),
        "",
    )
    .await;
    assert_eq!(r.status(), 409);
    let html = text_of(r).await;
    assert!(html.contains("试管已封管"), "{html}");
    let tube = api_tube(&app, "YK3000001").await;
    assert_eq!(
        (tube["members"].as_i64(), tube["sealed"].as_bool()),
        (Some(3), Some(true))
    );
    let r = post_form(
        &app,
        "/sample/tubes/YK3000001/seal",
        Some(&worker),
        &[("csrf", csrf.clone()), ("confirm", "1".into())],
    )
    .await;
    assert_eq!(r.status(), 409, "sealed once");

    // A single tube: full at one, and says so.
    let r = post_form(
        &app,
        "/sample/tubes",
        Some(&worker),
        &open("YK3000002", "1"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let r = post_form(
        &app,
        "/sample/tubes/YK3000002/seal",
        Some(&worker),
        &[("csrf", csrf.clone()), ("confirm", "1".into())],
    )
    .await;
    assert_eq!(r.status(), 409);
    assert!(text_of(r).await.contains("空管不能封管"));
    let r = scan(
        &app,
        &worker,
        &csrf,
        "YK3000002",
        &support::resident_id(4),
        "",
    )
    .await;
    let html = after(&app, &worker, r).await;
    assert!(html.contains("已满，请封管"), "{html}");
    assert!(html.contains("已采 1/1"));
    let r = scan(
        &app,
        &worker,
        &csrf,
        "YK3000002",
        &support::resident_id(5),
        "",
    )
    .await;
    assert_eq!(r.status(), 409);
    assert!(text_of(r).await.contains("试管已满"));

    // In English.
    let (status, html) = get_page(&app, "/sample/tubes/YK3000001?lang=en", Some(&worker)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("3/10 sampled") && html.contains("Sealed"),
        "{html}"
    );
    let (status, _) = get_page(&app, "/sample/tubes/NOSUCH01", Some(&worker)).await;
    assert_eq!(status, 404);
    let r = app.http.get(app.url("/sample")).send().await.unwrap();
    assert_eq!(r.status(), 303, "staff only");
}

#[tokio::test]
async fn a_town_adds_a_site_and_everyone_finds_it() {
    let app = spawn().await;
    let (status, html) = get_page(&app, "/sites", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("暂无采样点"));
    assert!(
        !html.contains("id=\"add-site\""),
        "no form without a session"
    );
    let (_, html) = get_page(&app, "/declare", None).await;
    assert!(
        html.contains("<a href=\"/sites\">核酸采样点</a>"),
        "linked from the public pages"
    );

    let town = sign_in(&app, "town", "330784001").await;
    let (status, html) = get_page(&app, "/sites", Some(&town)).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"add-site\""), "{html}");
    assert!(html.contains("<option value=\"330784001\">东城街道</option>"));
    assert!(html.contains("<option value=\"330784001001\">园丁社区</option>"));
    assert!(
        !html.contains("value=\"330784002001\""),
        "only the town's own villages"
    );
    let csrf = csrf_of(&html);

    let site = |name: &str, region: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_string()),
            ("region", region.to_string()),
            ("address", "园丁路2号".to_string()),
            ("hours", "08:00-20:00".to_string()),
            ("kind", "fangcang".to_string()),
            ("serves", "mandatory".to_string()),
            ("serves", "voluntary".to_string()),
        ]
    };
    let mut forged = site("x", "330784001001");
    forged[0].1 = "forged".into();
    let r = post_form(&app, "/sites", Some(&town), &forged).await;
    assert_eq!(r.status(), 403);
    let mut bad = site("外镇采样点", "330784002001");
    bad.retain(|(k, _)| *k != "serves");
    let r = post_form(&app, "/sites", Some(&town), &bad).await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(html.contains("请修改以下内容"), "{html}");
    assert!(html.contains("区域须为本辖区内"), "{html}");
    assert!(html.contains("请选择服务类别"));
    assert!(html.contains("value=\"外镇采样点\""), "typed values kept");

    let r = post_form(
        &app,
        "/sites",
        Some(&town),
        &site("<b>园丁</b>采样点", "330784001001"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let id: i64 = to
        .rsplit_once("#site-")
        .and_then(|(_, id)| id.parse().ok())
        .unwrap_or_else(|| panic!("{to}"));
    assert_eq!(to, format!("/sites?added={id}#site-{id}"));
    let (_, html) = get_page(&app, &to, Some(&town)).await;
    assert!(html.contains("已新增采样点"));

    // Anyone sees it under its town, escaped, with the sketch.
    let (status, html) = get_page(&app, "/sites", None).await;
    assert_eq!(status, 200);
    assert!(html.contains("&lt;b&gt;园丁&lt;/b&gt;采样点"), "{html}");
    assert!(!html.contains("<b>园丁"), "never the raw tag");
    let town_at = html
        .find("id=\"town-330784001\"")
        .expect("the town's section");
    let site_at = html.find(&format!("id=\"site-{id}\"")).expect("the site");
    assert!(town_at < site_at);
    assert!(html[town_at..site_at].contains("<h2>东城街道</h2>"));
    let card = &html[site_at..];
    let card = &card[..card.find("</li>").unwrap()];
    for want in [
        "方舱采样点",
        "08:00-20:00",
        "园丁路2号",
        "应检尽检、愿检尽检",
        "免费",
    ] {
        assert!(card.contains(want), "{want} in {card}");
    }
    assert!(card.contains(&format!("href=\"/sites/{id}/poster\"")));
    let sketch = &html[html.find("<svg class=\"sketch\"").expect("the sketch")..];
    let sketch = &sketch[..sketch.find("</svg>").unwrap()];
    assert_eq!(
        sketch.matches("<rect").count(),
        1,
        "one tile per town with sites"
    );
    assert!(sketch.contains("东城街道 (1)"));
    assert!(
        sketch.contains(&format!("href=\"#site-{id}\"")),
        "a dot per site"
    );
    assert_eq!(sketch.matches("<circle").count(), 1);
    assert!(sketch.contains("<title>&lt;b&gt;园丁&lt;/b&gt;采样点</title>"));

    // The command adds one in another town: two tiles.
    let cmd = sign_in(&app, "command", "330784").await;
    let (_, html) = get_page(&app, "/sites", Some(&cmd)).await;
    let cmd_csrf = csrf_of(&html);
    let mut other = site("江南采样点", "330784002001");
    other[0].1 = cmd_csrf;
    other.retain(|(k, _)| *k != "kind");
    other.push(("kind", "mobile".into()));
    other.push(("paid", "1".into()));
    let r = post_form(&app, "/sites", Some(&cmd), &other).await;
    assert_eq!(r.status(), 303);
    let (_, html) = get_page(&app, "/sites?lang=en", None).await;
    let sketch = &html[html.find("<svg class=\"sketch\"").unwrap()..];
    let sketch = &sketch[..sketch.find("</svg>").unwrap()];
    assert_eq!(sketch.matches("<rect").count(), 2);
    assert!(
        html.contains("Mobile site") && html.contains("Paid"),
        "{html}"
    );
    assert!(html.contains("Fangcang (cabin) site") && html.contains("Free"));
    assert!(html.contains("Mandatory, Voluntary"), "{html}");

    // The poster: name, address, hours and a QR code to the site's entry.
    let (status, html) = get_page(&app, &format!("/sites/{id}/poster"), None).await;
    assert_eq!(status, 200);
    assert!(html.contains("&lt;b&gt;园丁&lt;/b&gt;采样点"));
    assert!(!html.contains("<b>园丁"));
    assert!(html.contains("园丁路2号") && html.contains("08:00-20:00"));
    let qr = &html[html.find("class=\"qr\"").expect("a QR block")..];
    assert!(qr.starts_with("class=\"qr\"><svg"), "an inline SVG QR code");
    let url = format!(
        "{}/sites#site-{id}",
        app.settings.public_base_url.trim_end_matches('/')
    );
    assert!(html.contains(&format!("href=\"{url}\"")), "{html}");
    let (status, _) = get_page(&app, "/sites/99999/poster", None).await;
    assert_eq!(status, 404);

    // The sampler picks the site when opening a tube.
    let worker = sign_in(&app, "grid_worker", SAMPLER_GRID).await;
    let (_, html) = get_page(&app, "/sample", Some(&worker)).await;
    assert!(
        html.contains(
            "<option value=\"&lt;b&gt;园丁&lt;/b&gt;采样点\">&lt;b&gt;园丁&lt;/b&gt;采样点</option>"
        ),
        "{html}"
    );
    assert!(html.contains("<optgroup label=\"东城街道\">"));
    // A grid worker may not add sites: no form, and the post is refused.
    let (_, html) = get_page(&app, "/sites", Some(&worker)).await;
    assert!(!html.contains("id=\"add-site\""));
    let worker_csrf = csrf_of(&html);
    let mut mine = site("网格采样点", SAMPLER_GRID);
    mine[0].1 = worker_csrf;
    let r = post_form(&app, "/sites", Some(&worker), &mine).await;
    assert_eq!(r.status(), 403);
}

// ---------------------------------------------------------------------------
// 全员核酸, 三区 and 滚动检测.

const ROLL_G1: &str = "330784001001001";
const ROLL_G2: &str = "330784001002001";

/// A resident roll as it is pasted: three people in 园丁社区's grid, two in
/// the next village's, a bad number (row 6) and another town's grid (row 7).
fn pasted_roll() -> String {
    let mut csv = String::from("网格编码,身份证号,姓名,手机号码\r\n");
    for (n, grid) in [
        (1, ROLL_G1),
        (2, ROLL_G1),
        (3, ROLL_G1),
        (4, ROLL_G2),
        (5, ROLL_G2),
    ] {
        csv.push_str(&format!("{grid},{},居民{n},1390000000{n}\r\n", resident(n)));
    }
    csv.push_str(&format!("{ROLL_G2},110105194912310021,坏号,\r\n"));
    csv.push_str(&format!("330784002001001,{},外镇,\r\n", resident(9)));
    csv
}

/// Loads [`pasted_roll`] through the page as a town user; returns the report.
async fn import_roll(app: &TestApp, town: &str) -> String {
    let (status, html) = get_page(app, "/residents", Some(town)).await;
    assert_eq!(status, 200);
    let r = post_form(
        app,
        "/residents",
        Some(town),
        &[("csrf", csrf_of(&html)), ("csv", pasted_roll())],
    )
    .await;
    assert_eq!(r.status(), 200);
    text_of(r).await
}

/// The `<tr>` whose id is `r-{code}`.
fn table_row<'a>(html: &'a str, code: &str) -> &'a str {
    let at = html
        .find(&format!("<tr id=\"r-{code}\""))
        .unwrap_or_else(|| panic!("no row for {code} in {html}"));
    let row = &html[at..];
    &row[..row.find("</tr>").unwrap()]
}

/// The `href` of the first link whose target starts with `prefix`.
fn link_to(html: &str, prefix: &str) -> String {
    let at = html
        .find(&format!("href=\"{prefix}"))
        .unwrap_or_else(|| panic!("no link to {prefix} in {html}"))
        + 6;
    html[at..at + html[at..].find('"').unwrap()].replace("&amp;", "&")
}

#[tokio::test]
async fn a_round_is_followed_from_the_town_down_to_the_untested() {
    let app = spawn().await;
    let town = sign_in(&app, "town", "330784001").await;

    // The roll, pasted: good rows load, bad rows come back with reasons.
    let (status, html) = get_page(&app, "/residents", Some(&town)).await;
    assert_eq!(status, 200);
    assert!(html.contains("常住人口导入") && html.contains("<textarea"));
    let csrf = csrf_of(&html);
    let r = post_form(
        &app,
        "/residents",
        Some(&town),
        &[("csrf", "forged".into()), ("csv", pasted_roll())],
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_form(
        &app,
        "/residents",
        Some(&town),
        &[
            ("csrf", csrf.clone()),
            ("csv", "名字,号码\n张三,1\n".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422, "no grid column");
    let html = text_of(r).await;
    assert!(html.contains("无法读取粘贴的表格"), "{html}");
    assert!(html.contains("张三,1"), "the text is kept");
    let report = import_roll(&app, &town).await;
    assert!(report.contains("已导入 5 行，未导入 2 行"), "{report}");
    assert!(report.contains("第 6 行") && report.contains("第 7 行"));
    assert!(report.contains("证件号码："), "the column is named");
    assert!(report.contains("网格不在本辖区内"), "another town's grid");
    let worker = sign_in(&app, "grid_worker", ROLL_G1).await;
    let (status, _) = get_page(&app, "/residents", Some(&worker)).await;
    assert_eq!(status, 403, "grid workers do not load rolls");

    // The command creates the round on the page.
    let cmd = sign_in(&app, "command", "330784").await;
    let (status, html) = get_page(&app, "/rounds", Some(&cmd)).await;
    assert_eq!(status, 200);
    assert!(html.contains("暂无核酸轮次"));
    assert!(html.contains("id=\"add-round\""));
    assert!(
        html.contains("value=\"330784001\"> 东城街道</label>"),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"/rounds\">全员核酸</a>"),
        "in the nav"
    );
    let cmd_csrf = csrf_of(&html);
    let round = |csrf: &str, ends: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("name", "第一轮<b>全员</b>核酸".to_string()),
            ("regions", "330784001".to_string()),
            ("starts_at", "2022-01-28T08:00".to_string()),
            ("ends_at", ends.to_string()),
        ]
    };
    let r = post_form(
        &app,
        "/rounds",
        Some(&cmd),
        &round(&cmd_csrf, "2022-01-28T07:00"),
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(html.contains("结束时间须晚于开始时间"), "{html}");
    assert!(
        html.contains("value=\"2022-01-28T07:00\""),
        "typed values kept"
    );
    assert!(html.contains("value=\"330784001\" checked>"));
    let (_, town_html) = get_page(&app, "/rounds", Some(&town)).await;
    assert!(
        !town_html.contains("id=\"add-round\""),
        "the command's form"
    );
    let r = post_form(
        &app,
        "/rounds",
        Some(&town),
        &round(&csrf_of(&town_html), "2022-01-29T04:00"),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = post_form(
        &app,
        "/rounds",
        Some(&cmd),
        &round(&cmd_csrf, "2022-01-29T04:00"),
    )
    .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let id: i64 = to
        .strip_prefix("/rounds/")
        .and_then(|s| s.strip_suffix("?created=1"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{to}"));
    let (_, html) = get_page(&app, &to, Some(&cmd)).await;
    assert!(html.contains("已新建轮次"));
    assert!(
        html.contains("2022-01-28 08:00 – 2022-01-29 04:00"),
        "{html}"
    );
    assert!(html.contains("第一轮&lt;b&gt;全员&lt;/b&gt;核酸"));
    assert!(!html.contains("<b>全员"), "escaped");
    let (_, html) = get_page(&app, "/rounds", Some(&town)).await;
    assert!(html.contains(&format!("href=\"/rounds/{id}\"")), "{html}");
    assert!(html.contains("东城街道") && html.contains("进行中"));

    // Two residents of the first grid are sampled, through the JSON API.
    let sampler = app.login_as("grid_worker", ROLL_G1).await;
    let (s, _) = app
        .post(
            &sampler,
            "/api/v1/tubes",
            json!({"barcode": "RP0000001", "pool_size": 5, "category": "mandatory"}),
        )
        .await;
    assert_eq!(s, 201);
    for n in [1, 2] {
        let (s, body) = app
            .post(
                &sampler,
                "/api/v1/tubes/RP0000001/members",
                json!({"id_number": resident(n)}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }

    // The town sees its villages.
    let (status, html) = get_page(&app, &format!("/rounds/{id}"), Some(&town)).await;
    assert_eq!(status, 200);
    let v1 = table_row(&html, "330784001001");
    assert!(v1.contains("园丁社区"), "{v1}");
    assert!(
        v1.contains(
            "<td class=\"num\">3</td><td class=\"num\">2</td><td class=\"num\">0</td>\n<td class=\"num\">0</td>\n<td class=\"num\">1</td>"
        ),
        "residents, sampled, results, positives, 未检: {v1}"
    );
    assert!(v1.contains("66.6%") && v1.contains("<meter"), "{v1}");
    let v2 = table_row(&html, "330784001002");
    assert!(v2.contains("<td class=\"num\">2</td><td class=\"num\">0</td>"));
    assert!(v2.contains("0.0%"));
    let foot = &html[html.find("<tfoot>").expect("a total row")..];
    assert!(
        foot.contains("<td class=\"num\">5</td><td class=\"num\">2</td>") && foot.contains("40.0%"),
        "{foot}"
    );
    assert!(html.contains("class=\"tile warn\""), "66.6% is orange");
    assert!(html.contains("class=\"tile bad\""), "0% is red");
    assert!(html.contains("<strong aria-current=\"page\">东城街道</strong>"));

    // The command starts at the city and drills down: town, village, grid.
    let (_, html) = get_page(&app, &format!("/rounds/{id}"), Some(&cmd)).await;
    assert!(html.contains("<body class=\"wide\">"), "the command's desk");
    let town_row = table_row(&html, "330784001");
    assert!(town_row.contains("<td class=\"num\">5</td><td class=\"num\">2</td>"));
    let to_town = link_to(&html, &format!("/rounds/{id}?region=330784001"));
    let (_, html) = get_page(&app, &to_town, Some(&cmd)).await;
    let to_village = link_to(&html, &format!("/rounds/{id}?region=330784001001"));
    let (status, html) = get_page(&app, &to_village, Some(&cmd)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("东城街道</a> › <strong"),
        "the way back up: {html}"
    );
    let grid = table_row(&html, ROLL_G1);
    assert!(grid.contains("园丁社区第一网格"), "{grid}");
    let list = format!("/rounds/{id}/untested/{ROLL_G1}");
    assert!(
        grid.contains(&format!("<a href=\"{list}\" title=\"未检名单\">1</a>")),
        "the 未检 count links to the list: {grid}"
    );

    // The list: the one not sampled, masked, with a link to the person.
    let (status, html) = get_page(&app, &list, Some(&town)).await;
    assert_eq!(status, 200);
    assert!(html.contains("居民3"), "{html}");
    assert!(!html.contains("居民1") && !html.contains("居民2"));
    assert!(html.contains("********"), "masked");
    assert!(!html.contains(&resident(3)), "never the full number");
    assert!(html.contains("href=\"/persons/"));
    let csv_href = format!("{list}.csv");
    assert!(html.contains(&format!("href=\"{csv_href}\"")));
    let r = app
        .http
        .get(app.url(&csv_href))
        .header("cookie", &town)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let csv = r.text().await.unwrap();
    assert!(
        csv.starts_with("\u{feff}编号,姓名,证件号码,手机号码\n"),
        "{csv}"
    );
    assert!(csv.contains(",居民3,") && !csv.contains("居民1"), "{csv}");
    assert!(!csv.contains(&resident(3)), "masked in the file too");

    // The grid's own worker sees it on a phone; another grid's worker does not.
    let (status, html) = get_page(&app, &list, Some(&worker)).await;
    assert_eq!(status, 200);
    assert!(html.contains("居民3"));
    let (status, html) = get_page(&app, &format!("/rounds/{id}"), Some(&worker)).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("href=\"{list}\"")), "{html}");
    assert!(
        table_row(&html, ROLL_G1).contains("园丁社区第一网格"),
        "the worker's own grid, by name"
    );
    let other = sign_in(&app, "grid_worker", ROLL_G2).await;
    let (status, _) = get_page(&app, &list, Some(&other)).await;
    assert_eq!(status, 404);
    let (status, _) = get_page(&app, &csv_href, Some(&other)).await;
    assert_eq!(status, 404);
    let (status, _) = get_page(&app, &format!("/rounds/{id}?region=330784002"), Some(&town)).await;
    assert_eq!(status, 404, "another town");
    let (status, _) = get_page(&app, "/rounds/9999", Some(&town)).await;
    assert_eq!(status, 404);

    // In English.
    let (_, html) = get_page(&app, &format!("/rounds/{id}?lang=en"), Some(&town)).await;
    assert!(
        html.contains("Not tested") && html.contains("Coverage"),
        "{html}"
    );
    assert!(html.contains(&format!(
        "href=\"/rounds/{id}?region=330784001001&amp;lang=en\""
    )));

    // Live refresh: the page names the JSON its script polls, and after new
    // scans that JSON and a fresh page show the same figures, row by row.
    let sampler2 = app.login_as("grid_worker", ROLL_G2).await;
    let (s, _) = app
        .post(
            &sampler2,
            "/api/v1/tubes",
            json!({"barcode": "RP0000002", "pool_size": 5, "category": "mandatory"}),
        )
        .await;
    assert_eq!(s, 201);
    let (_, before) = get_page(&app, &format!("/rounds/{id}"), Some(&town)).await;
    let live = attr_of(&before, "data-live-coverage");
    assert_eq!(
        live,
        format!("/api/v1/rounds/{id}/coverage?region=330784001")
    );
    assert!(
        before.contains("<meta http-equiv=\"refresh\" content=\"30\">"),
        "without scripts the page reloads itself"
    );
    assert!(before.contains("<noscript>"));
    for n in [4, 5] {
        let (s, body) = app
            .post(
                &sampler2,
                "/api/v1/tubes/RP0000002/members",
                json!({"id_number": resident(n)}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    let r = app
        .http
        .get(app.url(&live))
        .header("cookie", &town)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the page's own session reads the JSON");
    let polled: serde_json::Value = r.json().await.unwrap();
    let (_, after) = get_page(&app, &format!("/rounds/{id}"), Some(&town)).await;
    let rows = polled["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{polled}");
    for (code, row) in rows
        .iter()
        .map(|r| (r["code"].as_str().unwrap().to_string(), r.clone()))
        .chain([("total".to_string(), polled["total"].clone())])
    {
        let shown = numbers_in(table_row(&after, &code));
        let json: Vec<i64> = [
            "residents",
            "sampled",
            "results_in",
            "positives",
            "untested",
        ]
        .iter()
        .map(|k| row[*k].as_i64().unwrap())
        .collect();
        assert_eq!(shown, json, "row {code}: page vs polled JSON");
    }
    assert_eq!(
        numbers_in(table_row(&after, "330784001002")),
        vec![2, 2, 0, 0, 0],
        "the new scans are in both"
    );
    assert_eq!(numbers_in(table_row(&before, "330784001002"))[1], 0);
}

/// The value of the first `name="…"` attribute in a page.
fn attr_of(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + name.len()
        + 2;
    html[at..at + html[at..].find('"').unwrap()].replace("&amp;", "&")
}

/// The figures of a coverage row: residents, sampled, results, positives, 未检.
fn numbers_in(row: &str) -> Vec<i64> {
    row.split("<td class=\"num")
        .skip(1)
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
            let digits: String = text
                .split('<')
                .map(|s| s.rsplit('>').next().unwrap_or(""))
                .collect::<String>()
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            digits
                .parse()
                .unwrap_or_else(|_| panic!("not a number: {cell}"))
        })
        .collect()
}

#[tokio::test]
async fn the_command_marks_and_lifts_a_zone_on_the_page() {
    let app = spawn().await;
    let town = sign_in(&app, "town", "330784001").await;
    import_roll(&app, &town).await;
    let cmd = sign_in(&app, "command", "330784").await;
    let (status, html) = get_page(&app, "/zones", Some(&cmd)).await;
    assert_eq!(status, 200);
    assert!(html.contains("暂无划定的区域"));
    assert!(html.contains("<optgroup label=\"东城街道\">"));
    assert!(html.contains("<option value=\"330784001001\">园丁社区</option>"));
    assert!(html.contains("<option value=\"sealed\" selected>封控区</option>"));
    assert!(html.contains("value=\"2022-01-28\""), "starts today");
    assert!(
        html.contains("<a href=\"/zones\">三区管控</a>"),
        "in the nav"
    );
    let csrf = csrf_of(&html);
    let zone = |csrf: &str, village: &str, grid: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("kind", "sealed".to_string()),
            ("village", village.to_string()),
            ("grid", grid.to_string()),
            ("starts_on", "2022-01-28".to_string()),
            ("confirm", "1".to_string()),
        ]
    };

    // A town may neither see nor mark zones.
    let (status, town_html) = get_page(&app, "/rounds", Some(&town)).await;
    assert_eq!(status, 200);
    assert!(
        !town_html.contains("href=\"/zones\""),
        "not in a town's nav"
    );
    let (status, _) = get_page(&app, "/zones", Some(&town)).await;
    assert_eq!(status, 403);
    let r = post_form(
        &app,
        "/zones",
        Some(&town),
        &zone(&csrf_of(&town_html), "330784001001", ""),
    )
    .await;
    assert_eq!(r.status(), 403);

    // A town's code is neither a village nor a grid.
    let r = post_form(&app, "/zones", Some(&cmd), &zone(&csrf, "", "330784001")).await;
    assert_eq!(r.status(), 422);
    let html = text_of(r).await;
    assert!(html.contains("请选择村(社区)或网格"), "{html}");
    assert!(
        html.contains("value=\"330784001\""),
        "the typed code is kept"
    );

    let r = post_form(&app, "/zones", Some(&cmd), &zone(&csrf, "330784001001", "")).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with("/zones?placed=3&kept=0#zone-"), "{to}");
    let (_, html) = get_page(&app, &to, Some(&cmd)).await;
    assert!(
        html.contains("已划定区域：3 人纳入管控，0 人保持原有更严格的管控措施。"),
        "{html}"
    );
    assert!(html.contains("<span class=\"zone zone-sealed\">封控区</span>"));
    assert!(html.contains("园丁社区 <span class=\"muted\">330784001001</span>"));
    let lift = link_action(&html, "/zones/");
    assert!(lift.ends_with("/lift"), "{lift}");

    // Three days of negative tests for one resident, then the zone is lifted.
    app.advance_hours(48);
    let cmd = sign_in(&app, "command", "330784").await;
    let (_, html) = get_page(&app, "/zones", Some(&cmd)).await;
    let csrf = csrf_of(&html);
    let person: i64 = sqlx::query(&format!(
        "SELECT person_id FROM residents WHERE grid = '{ROLL_G1}' ORDER BY person_id"
    ))
    .fetch_one(app.services.db.pool())
    .await
    .map(|r| sqlx::Row::get(&r, 0))
    .unwrap();
    let worker = app.login_as("grid_worker", ROLL_G1).await;
    for day in ["2022-01-28", "2022-01-29", "2022-01-30"] {
        let (s, body) = app
            .post(&worker, "/api/v1/tests", json!({"person_id": person, "sampled_at": format!("{day}T08:00:00+08:00"), "result": "negative"}))
            .await;
        assert_eq!(s, 201, "{body}");
    }
    let r = post_form(&app, &lift, Some(&cmd), &[("csrf", "forged".into())]).await;
    assert_eq!(r.status(), 403);
    let r = post_form(&app, &lift, Some(&cmd), &[("csrf", csrf.clone())]).await;
    assert_eq!(r.status(), 422, "lifting a zone asks for the confirmation");
    let r = post_form(
        &app,
        &lift,
        Some(&cmd),
        &[("csrf", csrf.clone()), ("confirm", "1".into())],
    )
    .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(to, "/zones?released=1&remaining=2");
    let (_, html) = get_page(&app, &to, Some(&cmd)).await;
    assert!(
        html.contains("已解除区域：1 人解除管控，2 人完成核酸检测后解除。"),
        "{html}"
    );
    assert!(html.contains("class=\"lifted\""), "shown as lifted");
    assert!(html.contains("2022年1月30日"), "the day it was lifted");
    assert!(
        !html.contains(&format!("action=\"{lift}\"")),
        "no second lift button"
    );
    let r = post_form(
        &app,
        &lift,
        Some(&cmd),
        &[("csrf", csrf.clone()), ("confirm", "1".into())],
    )
    .await;
    assert_eq!(r.status(), 409, "lifting twice");
    let (_, html) = get_page(&app, "/zones?released=1&remaining=2&lang=en", Some(&cmd)).await;
    assert!(
        html.contains("Zone lifted: 1 people released, 2 stay"),
        "{html}"
    );
    assert!(html.contains("Sealed zone"));
}

/// The `action` of the first form posting to a path starting with `prefix`.
fn link_action(html: &str, prefix: &str) -> String {
    let at = html
        .find(&format!("action=\"{prefix}"))
        .unwrap_or_else(|| panic!("no form posting to {prefix}"))
        + 8;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn a_roster_is_pasted_and_the_overdue_are_listed_by_employer() {
    let app = spawn().await;
    let town = sign_in(&app, "town", "330784001").await;
    let (status, html) = get_page(&app, "/rolling", Some(&town)).await;
    assert_eq!(status, 200);
    assert!(html.contains("暂无超期未检员工"));
    assert!(html.contains("id=\"import-roster\""));
    assert!(html.contains("<code>courier</code></td><td>快递外卖</td><td>每 3 天</td>"));
    let csrf = csrf_of(&html);
    // The industry by its code or by its name; an unknown one is refused.
    let roster = format!(
        "单位名称,网格编码,行业,身份证号,姓名,手机号码\n\
         <b>顺丰</b>永康营业部,{ROLL_G1},courier,{},快递甲,13900000011\n\
         <b>顺丰</b>永康营业部,{ROLL_G1},快递外卖,{},快递乙,\n\
         某单位,{ROLL_G1},astronaut,{},太空人,\n",
        resident(11),
        resident(12),
        resident(13)
    );
    let r = post_form(
        &app,
        "/rolling/import",
        Some(&town),
        &[("csrf", csrf.clone()), ("csv", roster.clone())],
    )
    .await;
    assert_eq!(r.status(), 200);
    let html = text_of(r).await;
    assert!(html.contains("已导入 2 行，未导入 1 行"), "{html}");
    assert!(html.contains("第 3 行") && html.contains("行业：行业不在重点行业目录中"));

    // The same roster copied from a spreadsheet (tabs) changes nothing.
    let r = post_form(
        &app,
        "/rolling/import",
        Some(&town),
        &[("csrf", csrf.clone()), ("csv", roster.replace(',', "\t"))],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(text_of(r).await.contains("已导入 2 行"));

    let worker = sign_in(&app, "grid_worker", ROLL_G1).await;
    let (status, html) = get_page(&app, "/rolling", Some(&worker)).await;
    assert_eq!(status, 200);
    assert!(
        !html.contains("id=\"import-roster\""),
        "not for a grid worker"
    );
    assert!(
        html.contains("<a href=\"/rolling\">滚动检测</a>"),
        "in the nav"
    );
    let at = html
        .find("class=\"card employer\"")
        .expect("an employer card");
    let card = &html[at..];
    let card = &card[..card.find("</section>").unwrap()];
    assert!(
        card.contains(
            "<h3>&lt;b&gt;顺丰&lt;/b&gt;永康营业部 <span class=\"badge\">快递外卖</span>"
        ),
        "{card}"
    );
    assert!(!html.contains("<b>顺丰"), "never the raw tag");
    assert!(
        card.contains("快递甲") && card.contains("快递乙"),
        "both under it"
    );
    assert!(card.contains("2 人"));
    assert!(card.contains("最近阴性：无记录"));
    assert!(card.contains("应检日期：2022年1月28日"), "{card}");
    assert!(!html.contains("太空人"));
    assert_eq!(html.matches("class=\"card employer\"").count(), 1);
    let r = post_form(
        &app,
        "/rolling/import",
        Some(&worker),
        &[("csrf", csrf_of(&html)), ("csv", roster)],
    )
    .await;
    assert_eq!(r.status(), 403);

    // One of them tested negative yesterday: only the other is left.
    let token = app.login_as("grid_worker", ROLL_G1).await;
    let (_, overdue) = app.get(&token, "/api/v1/rolling/overdue").await;
    let a = overdue
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "快递甲")
        .unwrap()["person_id"]
        .as_i64()
        .unwrap();
    let (s, _) = app
        .post(&token, "/api/v1/tests", json!({"person_id": a, "sampled_at": "2022-01-27T10:00:00+08:00", "result": "negative"}))
        .await;
    assert_eq!(s, 201);
    let (_, html) = get_page(&app, "/rolling?lang=en", Some(&worker)).await;
    assert!(
        !html.contains("快递甲") && html.contains("快递乙"),
        "{html}"
    );
    assert!(html.contains("couriers") && html.contains("1 person"));
}

/// 场所码 on the pages: a village registers, the town approves and prints
/// the poster, and a phone checks in — the second time with one tap.
#[tokio::test]
async fn venues_are_registered_approved_printed_and_scanned_on_a_phone() {
    let app = spawn().await;
    let village = sign_in(&app, "village", "330784001001").await;
    let (status, html) = get_page(&app, "/venues", Some(&village)).await;
    assert_eq!(status, 200);
    let csrf = csrf_of(&html);
    let bad = post_form(
        &app,
        "/venues",
        Some(&village),
        &[
            ("csrf", csrf.clone()),
            ("name", "".into()),
            ("kind", "supermarket".into()),
            ("region", "330784001001".into()),
            ("address", "园丁路8号".into()),
        ],
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(text_of(bad).await.contains("场所名称"));
    let r = post_form(
        &app,
        "/venues",
        Some(&village),
        &[
            ("csrf", csrf),
            ("name", "园丁超市".into()),
            ("kind", "supermarket".into()),
            ("region", "330784001001".into()),
            ("address", "园丁路8号".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = get_page(&app, &location(&r), Some(&village)).await;
    assert!(
        html.contains("已登记，待镇街审核") && html.contains("待审核"),
        "{html}"
    );
    assert!(!html.contains("审核通过"), "a village does not approve");

    let town = sign_in(&app, "town", "330784001").await;
    let (_, html) = get_page(&app, "/venues", Some(&town)).await;
    assert!(
        html.contains("· 东城街道 · 园丁社区</p>"),
        "the venue's village by name: {html}"
    );
    let at = html.find("/venues/").unwrap();
    let id: String = html[at + 8..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let r = post_form(
        &app,
        &format!("/venues/{id}/approve"),
        Some(&town),
        &[("csrf", csrf_of(&html))],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (status, poster) = get_page(&app, &format!("/venues/{id}/poster"), Some(&town)).await;
    assert_eq!(status, 200);
    assert!(
        poster.contains("<svg") && poster.contains(&format!("/v/V{id}-")),
        "{poster}"
    );
    let at = poster.find(&format!("/v/V{id}-")).unwrap() + 3;
    let code: String = poster[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .chain(std::iter::once('-'))
        .collect();
    let code = format!(
        "{code}{}",
        poster[at + code.len()..]
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect::<String>()
    );

    let (status, html) = get_page(&app, &format!("/v/{code}"), None).await;
    assert_eq!(status, 200);
    assert!(html.contains("首次登记"), "{html}");
    let r = post_form(
        &app,
        &format!("/v/{code}"),
        None,
        &[
            ("id_type", "resident".into()),
            ("id_number", "11010519491231002X".into()),
            ("name", "张三".into()),
            ("phone", "138".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let r = post_form(
        &app,
        &format!("/v/{code}"),
        None,
        &[
            ("id_type", "resident".into()),
            ("id_number", "11010519491231002X".into()),
            ("name", "张三".into()),
            ("phone", "13800138000".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 201);
    let set = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.starts_with("bh_visitor=") && set.contains("HttpOnly") && set.contains("Path=/v"),
        "{set}"
    );
    let html = text_of(r).await;
    assert!(
        html.contains("hc-green") && html.contains("绿码通行") && html.contains("张*"),
        "{html}"
    );
    let device = set.split(';').next().unwrap().to_string();
    let (_, html) = get_page(&app, &format!("/v/{code}"), Some(&device)).await;
    assert!(
        html.contains("一键登记进场") && !html.contains("id=\"id_number\""),
        "{html}"
    );
    let r = post_form(
        &app,
        &format!("/v/{code}"),
        Some(&device),
        &[("remembered", "1".into())],
    )
    .await;
    assert_eq!(r.status(), 201);
    assert!(text_of(r).await.contains("绿码通行"));
    let (status, _) = get_page(&app, "/v/V1-0000", None).await;
    assert_eq!(status, 404, "a forged code opens nothing");
}

/// 流调 on the pages: open a case by ID number, trace, see the evidence and
/// the chain, confirm a contact.
#[tokio::test]
async fn the_tracing_page_shows_evidence_and_the_chain_and_takes_decisions() {
    let app = spawn().await;
    let village = app.login_as("village", "330784001001").await;
    let town = app.login_as("town", "330784001").await;
    let (_, v) = app.post(&village, "/api/v1/venues", json!({"name": "园丁超市", "kind": "supermarket", "region": "330784001001", "address": "园丁路8号"})).await;
    let (_, v) = app
        .post(
            &town,
            &format!("/api/v1/venues/{}/approve", v["id"]),
            json!({}),
        )
        .await;
    let code = v["code"].as_str().unwrap();
    let token = app
        .services
        .add_api_token("闸机", "checkins")
        .await
        .unwrap();
    let (s, r) = app.post(&token, "/api/v1/checkins", json!([
        {"venue": code, "id_number": "11010519491231002X", "name": "张三", "at": "2022-01-27T10:00:00+08:00", "left_at": "2022-01-27T11:00:00+08:00"},
        {"venue": code, "id_number": support::resident_id(5), "name": "李四", "at": "2022-01-27T10:30:00+08:00", "left_at": "2022-01-27T10:50:00+08:00"}
    ])).await;
    assert_eq!(s, 201, "{r}");
    let command = sign_in(&app, "command", "330784").await;
    let (_, html) = get_page(&app, "/tracing", Some(&command)).await;
    let csrf = csrf_of(&html);
    let r = post_form(
        &app,
        "/tracing",
        Some(&command),
        &[
            ("csrf", csrf.clone()),
            ("id_number", "11010519491231002X".into()),
            ("start_date", "2022-01-27".into()),
            ("note", "".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let case = location(&r);
    let r = post_form(
        &app,
        &format!("{case}/trace"),
        Some(&command),
        &[("csrf", csrf.clone())],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (status, html) = get_page(&app, &case, Some(&command)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<svg")
            && html.contains("李*")
            && html.contains("园丁超市")
            && html.contains("重叠20分钟"),
        "{html}"
    );
    assert!(html.contains("密接") && html.contains("待研判"));
    // The hand-over county is picked by name (province, city, county), and
    // confirming asks for the box.
    assert!(
        html.contains("<details class=\"handover\"><summary>")
            && html.contains("data-picker")
            && !html.contains("placeholder=\"居住地县"),
        "{html}"
    );
    assert!(
        html.contains("name=\"confirm\" value=\"1\" required> 确认此判定（不可撤销）"),
        "{html}"
    );
    let at = html.find("/contacts/").unwrap() + 10;
    let person: String = html[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let r = post_form(
        &app,
        &format!("{case}/contacts/{person}"),
        Some(&command),
        &[
            ("csrf", csrf),
            ("decision", "confirm".into()),
            ("confirm", "1".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = get_page(&app, &case, Some(&command)).await;
    assert!(
        html.contains("cand-confirmed") && html.contains("node-confirmed"),
        "{html}"
    );
    let grid = sign_in(&app, "grid_worker", "330784001001001").await;
    assert_eq!(get_page(&app, &case, Some(&grid)).await.0, 403);
}

/// A multipart body of text fields and files.
fn multipart_body(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let b = "----bihuan-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (k, name, data) in files {
        body.extend(format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

/// 指令 on the pages: the town sends to its grid workers with an
/// attachment; a grid worker acknowledges and answers with a photo on the
/// phone; the town sees the rates; the duty roster flags uncovered regions.
#[tokio::test]
async fn an_instruction_is_sent_acknowledged_and_answered_on_the_pages() {
    let app = spawn().await;
    let town = sign_in(&app, "town", "330784001").await;
    let worker = sign_in(&app, "grid_worker", "330784001001001").await;
    let (_, html) = get_page(&app, "/instructions", Some(&town)).await;
    assert!(html.contains("下发指令"), "{html}");
    let csrf = csrf_of(&html);
    let post = |cookie: &str, path: &str, (ct, body): (String, Vec<u8>)| {
        app.http
            .post(app.url(path))
            .header("cookie", cookie)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = post(
        &town,
        "/instructions",
        multipart_body(
            &[
                ("csrf", &csrf),
                ("title", "排查"),
                ("body", "今晚完成"),
                ("due_at", "2022-01-28T21:00"),
                ("regions", "330784001"),
                ("roles", "grid_worker"),
            ],
            &[("attachments", "名单.csv", "a,b\n".as_bytes())],
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let page = location(&r);
    let bad = post(
        &town,
        "/instructions",
        multipart_body(
            &[
                ("csrf", &csrf),
                ("title", ""),
                ("body", "x"),
                ("due_at", "2022-01-28T21:00"),
                ("regions", "330784001"),
            ],
            &[],
        ),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 422);

    let (_, inbox) = get_page(&app, "/instructions", Some(&worker)).await;
    assert!(
        inbox.contains("排查") && inbox.contains("待签收") && !inbox.contains("下发指令"),
        "{inbox}"
    );
    let (status, html) = get_page(&app, &page, Some(&worker)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("今晚完成") && html.contains("名单.csv") && html.contains("id=\"ack\""),
        "{html}"
    );
    let wcsrf = csrf_of(&html);
    let r = post_form(
        &app,
        &format!("{page}/ack"),
        Some(&worker),
        &[("csrf", wcsrf.clone())],
    )
    .await;
    assert_eq!(r.status(), 303);
    // A file that is not a photo: refused, and the typed answer stays.
    let r = post(
        &worker,
        &format!("{page}/answers"),
        multipart_body(
            &[("csrf", &wcsrf), ("body", "已排查<全部>住户")],
            &[("photo", "a.exe", b"MZ")],
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("全部") && html.contains("住户</textarea>") && !html.contains("<全部>"),
        "the answer as typed, escaped: {html}"
    );
    let png = [0x89u8, b'P', b'N', b'G', 13, 10, 26, 10];
    let r = post(
        &worker,
        &format!("{page}/answers"),
        multipart_body(
            &[("csrf", &wcsrf), ("body", "已完成")],
            &[("photo", "现场.png", &png)],
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = get_page(&app, &page, Some(&worker)).await;
    assert!(
        html.contains("id=\"acked\"") && html.contains("已完成"),
        "{html}"
    );

    let (_, html) = get_page(&app, &page, Some(&town)).await;
    assert!(
        html.contains("http-equiv=\"refresh\""),
        "the sender's view refreshes itself"
    );
    assert!(
        html.contains("1 (100%)") && html.contains("查看照片"),
        "{html}"
    );
    let other = sign_in(&app, "grid_worker", "330784002001001").await;
    assert_eq!(get_page(&app, &page, Some(&other)).await.0, 404);

    let (_, html) = get_page(&app, "/duty", Some(&town)).await;
    assert!(
        html.contains("今日无人值班") && html.contains("id=\"uncovered\""),
        "{html}"
    );
    let r = post_form(
        &app,
        "/duty",
        Some(&town),
        &[
            ("csrf", csrf_of(&html)),
            ("region", "330784001".into()),
            ("on_date", "2022-01-28".into()),
            ("shift", "all".into()),
            ("name", "镇值班".into()),
            ("phone", "13700000009".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, html) = get_page(&app, "/duty", Some(&town)).await;
    assert!(
        html.contains("镇值班") && html.contains("13700000009"),
        "{html}"
    );
}

#[tokio::test]
async fn the_audit_page_searches_for_the_command_only() {
    let app = spawn().await;
    let command = sign_in(&app, "command", "330784").await;
    let (status, html) = get_page(&app, "/audit?action=login", Some(&command)).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("审计日志") && html.contains("<td>登录</td>"),
        "{html}"
    );
    let (status, html) = get_page(&app, "/audit?from=2022-02-30", Some(&command)).await;
    assert_eq!(status, 200);
    assert!(html.contains("role=\"alert\""), "{html}");
    let town = sign_in(&app, "town", "330784001").await;
    assert_eq!(get_page(&app, "/audit", Some(&town)).await.0, 403);
}

/// 值班 on the dashboard: a region with nobody on duty today is flagged.
#[tokio::test]
async fn the_dashboard_flags_regions_without_anyone_on_duty() {
    let app = spawn().await;
    let command = sign_in(&app, "command", "330784").await;
    let (_, region) = app.get("", "/api/v1/regions/330784001").await;
    let town = region["name"].as_str().unwrap().to_string();
    let flagged = |html: &str| {
        let at = html.find("id=\"no-duty\"").expect("a no-duty flag");
        let end = at + html[at..].find("</p>").unwrap();
        html[at..end].to_string()
    };
    let (status, html) = get_page(&app, "/dashboard/330784", Some(&command)).await;
    assert_eq!(status, 200);
    assert!(flagged(&html).contains(&town), "{}", flagged(&html));
    let token = app.login_as("command", "330784").await;
    let (s, _) = app
        .post(&token, "/api/v1/duty", json!({"region": "330784001", "on_date": "2022-01-28", "shift": "all", "name": "镇值班", "phone": "13700000003"}))
        .await;
    assert_eq!(s, 201);
    let (_, html) = get_page(&app, "/dashboard/330784", Some(&command)).await;
    assert!(!flagged(&html).contains(&town), "{}", flagged(&html));
}

/// Numbers as people type them: a decimal comma on the status page, full-width
/// digits and a unit through the API. Both store 37.5, and 37.5 ≥ 37.3 opens
/// the fever-clinic transfer a fever check-in opens.
#[tokio::test]
async fn typed_numbers_are_read_as_people_type_them() {
    let app = spawn().await;
    list_xiluoyuan(&app).await;
    let command = app.login_as("command", "330784").await;

    // "37,5" on the public status page.
    let (receipt, _) = under_control(&app, &resident(31)).await;
    let page = format!("/s/{receipt}");
    let r = post_form(
        &app,
        &format!("{page}/check-in"),
        None,
        &[("temperature", "37,5".into())],
    )
    .await;
    assert_eq!(r.status(), 303, "{}", text_of(r).await);
    assert_eq!(location(&r), format!("{page}?checked=1&alarm=1#check-in"));
    let (_, html) = get_page(&app, &page, None).await;
    assert!(html.contains("今日已打卡 37.5℃"), "{html}");

    // "３７．５度" through the API, by receipt and by a worker for a person.
    let (receipt2, _) = under_control(&app, &resident(32)).await;
    let (s, body) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt2}/check-ins"),
            json!({"temperature": "３７．５度"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["temperature"], json!("37.5"), "{body}");
    assert_eq!(body["alarm"], json!(true), "{body}");
    let (_, person3) = under_control(&app, &resident(33)).await;
    let worker = app.login_as("grid_worker", GRID).await;
    let (s, body) = app
        .post(
            &worker,
            &format!("/api/v1/persons/{person3}/check-ins"),
            json!({"temperature": " 36.5℃ "}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["temperature"], json!("36.5"), "{body}");
    assert_eq!(body["alarm"], json!(false), "{body}");

    let fevers = api_tasks(&app, &command)
        .await
        .iter()
        .filter(|t| t["kind"] == json!("fever_transfer"))
        .count();
    assert_eq!(fevers, 2, "one fever transfer per 37.5 check-in");

    // Still not a temperature: a thousands separator or words.
    let (s, _) = app
        .post(
            "",
            &format!("/api/v1/status/{receipt2}/check-ins"),
            json!({"temperature": "3,7,5"}),
        )
        .await;
    assert_eq!(s, 422);
}
