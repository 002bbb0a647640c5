//! The grid worker's screens without a browser (issue 12): each card says who
//! and where, calling unmasks the phone and records it, every action says
//! what it did and comes back to the card, irreversible actions change
//! nothing until their box is ticked, and errors name fields in Chinese with
//! the staff navigation kept. Runs on SQLite, and on PostgreSQL when
//! BIHUAN_TEST_POSTGRES is set.

mod support;

use serde_json::{Value, json};
use support::{TestApp, csrf_of, declaration, location, spawn, with_xiluoyuan};

const VILLAGE: &str = "330784001001";
const GRID: &str = "330784001001001";

async fn api_tasks(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, body) = app.get(token, "/api/v1/tasks").await;
    assert_eq!(s, 200, "{body}");
    body.as_array().unwrap().clone()
}

/// The staff navigation: one row of tabs and 更多.
fn has_staff_nav(html: &str) -> bool {
    html.contains("class=\"tabs-main\"") && html.contains("<summary>更多</summary>")
}

/// One declared arrival with a verify task, acknowledged and reported.
async fn reported_task(app: &TestApp) -> (i64, i64) {
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let worker = app.login_as("grid_worker", GRID).await;
    let id = api_tasks(app, &worker).await[0]["id"].as_i64().unwrap();
    let (s, _) = app
        .post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
        .await;
    assert_eq!(s, 200);
    let (s, t) = app
        .post(
            &worker,
            &format!("/api/v1/tasks/{id}/report"),
            json!({"outcome": "verified"}),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    (id, d["person_id"].as_i64().unwrap())
}

#[tokio::test]
async fn a_card_shows_who_and_where_and_calling_is_recorded() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let person = d["person_id"].as_i64().unwrap();
    let worker = app.sign_in_page("grid_worker", GRID).await;
    let (_, html) = app.page("/tasks", &worker).await;
    let card = &html[html.find("<article class=\"task").expect("a card")..];
    let card = &card[..card.find("</article>").unwrap()];
    let name = declaration()["name"].as_str().unwrap().to_string();
    let address = declaration()["destination"]["address"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(card.contains(&format!("<strong>{name}</strong>")), "{card}");
    assert!(card.contains(&format!("地址：{address}")), "{card}");
    assert!(card.contains("138****8000"), "the phone, masked: {card}");
    assert!(!card.contains("13800138000"), "never in full: {card}");
    assert!(
        card.contains("<details class=\"why\"><summary>派发依据</summary>"),
        "the reason folds away: {card}"
    );
    let call = format!("action=\"/persons/{person}/call\"");
    assert!(card.contains(&call), "{card}");

    // Tapping 拨打 shows the number to call, and the view is recorded.
    let r = app
        .post_page(
            &format!("/persons/{person}/call"),
            &worker,
            &[
                ("csrf", csrf_of(&html)),
                ("back", "/tasks".into()),
                ("task", "1".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("href=\"tel:13800138000\""), "{page}");
    assert!(page.contains("href=\"/tasks#task-1\""), "back to the card");
    let token = app.login_as("command", "330784").await;
    let (_, p) = app.get(&token, &format!("/api/v1/persons/{person}")).await;
    let seen: Vec<&Value> = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "unmasked")
        .collect();
    assert_eq!(seen.len(), 1, "{p}");
    assert_eq!(seen[0]["detail"]["field"], "phone", "{p}");

    // The person page says so in words.
    let (_, html) = app.page(&format!("/persons/{person}"), &worker).await;
    assert!(html.contains("查看完整手机号"), "{html}");
    let timeline = &html[html.find("<ol class=\"timeline\">").expect("a timeline")..];
    let timeline = &timeline[..timeline.find("</ol>").unwrap()];
    for words in ["申报", "派发任务", "查看完整手机号", "用于拨打电话"] {
        assert!(timeline.contains(words), "{words} in {timeline}");
    }
    for raw in ["task_", "unmasked", "declared", "{\"", "phone\""] {
        assert!(!timeline.contains(raw), "{raw} in {timeline}");
    }

    // A forged token reveals nothing, a town may not unmask.
    let r = app
        .post_page(
            &format!("/persons/{person}/call"),
            &worker,
            &[("csrf", "forged".into())],
        )
        .await;
    assert_eq!(r.status(), 403);
    let town = app.sign_in_page("town", "330784001").await;
    let (_, html) = app.page("/tasks", &town).await;
    assert!(!html.contains("/call\""), "no call button for a town");
    assert!(html.contains("138****8000"), "the mask only");
}

#[tokio::test]
async fn each_action_says_what_it_did_and_comes_back_to_the_card() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let worker = app.sign_in_page("grid_worker", GRID).await;
    let (_, html) = app.page("/tasks?state=dispatched", &worker).await;
    let id = {
        let at = html.find("id=\"task-").unwrap() + 9;
        html[at..at + html[at..].find('"').unwrap()]
            .parse::<i64>()
            .unwrap()
    };
    let csrf = csrf_of(&html);
    assert!(
        html.contains("name=\"back\" value=\"/tasks?state=dispatched\""),
        "{html}"
    );
    let r = app
        .post_page(
            &format!("/tasks/{id}/ack"),
            &worker,
            &[
                ("csrf", csrf.clone()),
                ("back", "/tasks?state=dispatched".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(
        to,
        format!("/tasks?state=dispatched&done=ack&task={id}#task-{id}")
    );
    let (_, html) = app.page(&to, &worker).await;
    assert!(
        html.contains(&format!(
            "<p class=\"success flash\" role=\"status\">已签收 · 任务 #{id}</p>"
        )),
        "{html}"
    );
    // The same filter; the next action's `back` drops the old message.
    assert!(html.contains("aria-current=\"page\">待签收"), "{html}");

    let r = app
        .post_page(
            &format!("/tasks/{id}/report"),
            &worker,
            &[
                ("csrf", csrf.clone()),
                ("outcome", "verified".into()),
                ("back", "/tasks?done=ack&task=9".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(to, format!("/tasks?done=report&task={id}#task-{id}"));
    let (_, html) = app.page(&to, &worker).await;
    assert!(html.contains(&format!("已反馈 · 任务 #{id}")), "{html}");

    // In English too, with the language kept before the anchor.
    let village = app.sign_in_page("village", VILLAGE).await;
    let (_, html) = app.page("/tasks?state=reported&lang=en", &village).await;
    let vcsrf = csrf_of(&html);
    let r = app
        .post_page(
            &format!("/tasks/{id}/reopen?lang=en"),
            &village,
            &[
                ("csrf", vcsrf),
                ("reason", "门牌号不对".into()),
                ("back", "/tasks?state=reported&lang=en".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert_eq!(
        to,
        format!("/tasks?state=reported&lang=en&done=reopen&task={id}#task-{id}")
    );
    let (_, html) = app.page(&to, &village).await;
    assert!(
        html.contains(&format!("Returned for rework · task #{id}")),
        "{html}"
    );
}

#[tokio::test]
async fn irreversible_actions_change_nothing_without_the_confirmation() {
    let app = spawn().await;
    let command_token = with_xiluoyuan(&app).await;
    let (id, person) = reported_task(&app).await;
    let worker = app.login_as("grid_worker", GRID).await;

    // 办结: the form asks for the box; a post without it changes nothing.
    let village = app.sign_in_page("village", VILLAGE).await;
    let (_, html) = app.page("/tasks?state=reported", &village).await;
    assert!(
        html.contains(&format!(
            "action=\"/tasks/{id}/close\" class=\"confirm-form\""
        )),
        "{html}"
    );
    assert!(
        html.contains(
            "<input type=\"checkbox\" name=\"confirm\" value=\"1\" required> 确认办结（不可撤销）"
        ),
        "{html}"
    );
    let vcsrf = csrf_of(&html);
    for confirm in ["", "0"] {
        let r = app
            .post_page(
                &format!("/tasks/{id}/close"),
                &village,
                &[("csrf", vcsrf.clone()), ("confirm", confirm.into())],
            )
            .await;
        assert_eq!(r.status(), 422);
        let text = r.text().await.unwrap();
        assert!(
            text.contains("确认：此操作不可撤销：请勾选确认后再提交。未作任何更改。"),
            "{text}"
        );
        assert!(has_staff_nav(&text), "the error keeps the navigation");
    }
    assert_eq!(api_tasks(&app, &worker).await[0]["state"], "reported");
    let r = app
        .post_page(
            &format!("/tasks/{id}/close"),
            &village,
            &[
                ("csrf", vcsrf.clone()),
                ("confirm", "1".into()),
                ("back", "/tasks?state=reported".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(api_tasks(&app, &worker).await[0]["state"], "closed");
    let (_, html) = app.page(&location(&r), &village).await;
    assert!(html.contains(&format!("已办结 · 任务 #{id}")), "{html}");

    // 解除管控: the same guard (before anything is looked at).
    let r = app
        .post_page(
            &format!("/persons/{person}/release"),
            &village,
            &[("csrf", vcsrf.clone())],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请勾选确认"));

    // 解除 a risk area.
    let cmd = app.sign_in_page("command", "330784").await;
    let (_, html) = app.page("/risk-areas", &cmd).await;
    let ccsrf = csrf_of(&html);
    let at = html.find("action=\"/risk-areas/").expect("a lift form") + 8;
    let lift = html[at..at + html[at..].find('"').unwrap()].to_string();
    assert!(
        html.contains("name=\"confirm\" value=\"1\" required> 确认解除（不可撤销）"),
        "{html}"
    );
    let r = app.post_page(&lift, &cmd, &[("csrf", ccsrf.clone())]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("未作任何更改"));
    let (_, areas) = app.get(&command_token, "/api/v1/risk-areas").await;
    assert!(
        areas.to_string().contains("110106003") && !areas.to_string().contains("\"until\":\"20"),
        "still listed: {areas}"
    );
    let (_, html) = app.page("/risk-areas", &cmd).await;
    assert!(
        html.contains(&format!("action=\"{lift}\"")),
        "still liftable"
    );

    // 封管 (mark a zone).
    let (_, html) = app.page("/zones", &cmd).await;
    assert!(
        html.contains("name=\"confirm\" value=\"1\" required> 确认封管（不可撤销）"),
        "{html}"
    );
    let zone = |confirm: &str| {
        vec![
            ("csrf", ccsrf.clone()),
            ("kind", "sealed".to_string()),
            ("village", VILLAGE.to_string()),
            ("grid", String::new()),
            ("starts_on", "2022-01-28".to_string()),
            ("confirm", confirm.to_string()),
        ]
    };
    let r = app.post_page("/zones", &cmd, &zone("")).await;
    assert_eq!(r.status(), 422);
    let (_, html) = app.page("/zones", &cmd).await;
    assert!(!html.contains("id=\"zone-"), "no zone marked: {html}");
    let r = app.post_page("/zones", &cmd, &zone("1")).await;
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn staff_errors_name_fields_in_chinese_and_keep_the_navigation() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let worker = app.sign_in_page("grid_worker", GRID).await;
    let (_, html) = app.page("/tasks", &worker).await;
    let csrf = csrf_of(&html);
    let at = html.find("id=\"task-").unwrap() + 9;
    let id: i64 = html[at..at + html[at..].find('"').unwrap()]
        .parse()
        .unwrap();
    let r = app
        .post_page(
            &format!("/tasks/{id}/ack"),
            &worker,
            &[("csrf", csrf.clone())],
        )
        .await;
    assert_eq!(r.status(), 303);

    // 反馈 "moved" to a village that is not one: 村(社区), not `village`.
    let r = app
        .post_page(
            &format!("/tasks/{id}/report"),
            &worker,
            &[
                ("csrf", csrf.clone()),
                ("outcome", "moved".into()),
                ("village", "330784999999".into()),
                ("address", String::new()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("<li>村(社区)："), "{html}");
    assert!(has_staff_nav(&html), "{html}");
    for key in [
        "village：",
        "address：",
        ">village",
        ">address",
        "due_at",
        "roles",
    ] {
        assert!(!html.contains(key), "{key} in {html}");
    }

    // An error page (a conflict, a missing person) keeps the navigation.
    let r = app
        .post_page(
            &format!("/tasks/{id}/ack"),
            &worker,
            &[("csrf", csrf.clone())],
        )
        .await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(has_staff_nav(&html), "{html}");
    assert!(
        html.contains("href=\"/tasks\" data-back"),
        "back to the tasks: {html}"
    );
    let (status, html) = app.page("/persons/999999", &worker).await;
    assert_eq!(status, 404);
    assert!(has_staff_nav(&html), "{html}");
    // Signed out, the public error page as before.
    let r = app.http.get(app.url("/s/zzz")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(!has_staff_nav(&r.text().await.unwrap()));

    // 退回 without a reason: the field by its Chinese name.
    let village = app.sign_in_page("village", VILLAGE).await;
    let (_, html) = app.page("/tasks", &village).await;
    let r = app
        .post_page(
            &format!("/tasks/{id}/reopen"),
            &village,
            &[("csrf", csrf_of(&html)), ("reason", String::new())],
        )
        .await;
    let status = r.status();
    let html = r.text().await.unwrap();
    assert!(matches!(status.as_u16(), 409 | 422), "{status}: {html}");
    assert!(
        !html.contains("reason:") && !html.contains("reason："),
        "{html}"
    );
    assert!(has_staff_nav(&html), "{html}");
    // The same in English names the field in English words, not keys.
    let r = app
        .post_page(
            &format!("/tasks/{id}/close?lang=en"),
            &village,
            &[("csrf", csrf_of(&html))],
        )
        .await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Confirmation: This cannot be undone"),
        "{html}"
    );
    assert!(html.contains("<summary>More</summary>"), "{html}");

    // The API's Chinese messages carry no English field keys either.
    let (s, e) = app
        .post(
            &app.login_as("village", VILLAGE).await,
            &format!("/api/v1/tasks/{id}/reopen"),
            json!({"reason": ""}),
        )
        .await;
    assert!(s == 422 || s == 409, "{e}");
    for f in e["errors"].as_array().into_iter().flatten() {
        let zh = f["message"].as_str().unwrap_or_default();
        assert!(!zh.bytes().any(|b| b.is_ascii_alphabetic()), "{zh}");
    }
}

#[tokio::test]
async fn the_navigation_is_one_row_of_tabs_and_more() {
    let app = spawn().await;
    let worker = app.sign_in_page("grid_worker", GRID).await;
    let (_, html) = app.page("/due-tests", &worker).await;
    let nav = &html[html.find("<nav class=\"tabs-main\">").unwrap()..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    let tabs: Vec<&str> = nav
        .split("<a class=\"tab\" href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(tabs, ["/tasks", "/due-tests", "/sample"], "{nav}");
    assert!(
        nav.contains("<a class=\"tab\" href=\"/due-tests\" aria-current=\"page\">应检</a>"),
        "{nav}"
    );
    let more = &nav[nav.find("<summary>更多</summary>").expect("更多")..];
    for l in ["/rounds", "/risk-areas", "/password", "/logout"] {
        assert!(more.contains(l), "{l} under 更多: {more}");
    }
    assert!(!more.contains("href=\"/zones\""), "not for a grid worker");
    let cmd = app.sign_in_page("command", "330784").await;
    let (_, html) = app.page("/tasks", &cmd).await;
    assert!(
        html.contains("<a class=\"tab\" href=\"/command\">总览</a>"),
        "{html}"
    );
    assert!(html.contains("<a href=\"/zones\">三区管控</a>"), "{html}");
}

#[tokio::test]
async fn regions_are_picked_by_name_from_the_users_tree() {
    let app = spawn().await;
    let cmd = app.sign_in_page("command", "330784").await;
    let (_, html) = app.page("/instructions", &cmd).await;
    assert!(
        !html.contains("<select id=\"regions\"") && !html.contains("multiple size="),
        "no Ctrl-click list of codes: {html}"
    );
    assert!(
        html.contains("<input type=\"checkbox\" name=\"regions\" value=\"330784\"> 全市（永康市）"),
        "{html}"
    );
    assert!(
        html.contains("<details class=\"town-branch\"><summary>东城街道</summary>"),
        "{html}"
    );
    assert!(
        html.contains(
            "<input type=\"checkbox\" name=\"regions\" value=\"330784001\"> 全镇（东城街道）"
        ),
        "{html}"
    );
    assert!(
        html.contains("<input type=\"checkbox\" name=\"regions\" value=\"330784001001\"> 园丁社区"),
        "{html}"
    );

    // 封管 a grid: picked by name, not typed as a 15-digit code.
    let (_, html) = app.page("/zones", &cmd).await;
    assert!(
        html.contains("<option value=\"330784001001001\">园丁社区第一网格</option>"),
        "{html}"
    );
    assert!(!html.contains("pattern=\"[0-9]{15}\""), "{html}");

    // A town's 值班 form: its own town and villages, one of them, by name.
    let town = app.sign_in_page("town", "330784001").await;
    let (_, html) = app.page("/duty", &town).await;
    assert!(!html.contains("全市"), "not the city: {html}");
    assert!(
        html.contains(
            "<input type=\"radio\" name=\"region\" value=\"330784001\" checked> 全镇（东城街道）"
        ),
        "{html}"
    );
    assert!(!html.contains("value=\"330784002\""), "not another town");
    let r = app
        .post_page(
            "/duty",
            &town,
            &[
                ("csrf", csrf_of(&html)),
                ("region", "330784001001".into()),
                ("on_date", "2022-01-28".into()),
                ("shift", "all".into()),
                ("name", "周值班".into()),
                ("phone", "13800000001".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = app.page("/duty", &town).await;
    assert!(
        html.contains("<td>东城街道 · 园丁社区</td>"),
        "the roster names the village: {html}"
    );
}

#[tokio::test]
async fn the_help_answer_says_the_person_will_read_it() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let receipt = d["receipt"].as_str().unwrap();
    let r = app
        .http
        .post(app.url(&format!("/s/{receipt}/help")))
        .form(&[("kind", "other"), ("note", "需要买菜")])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let worker = app.login_as("grid_worker", GRID).await;
    for t in api_tasks(&app, &worker).await {
        let id = t["id"].as_i64().unwrap();
        let (s, _) = app
            .post(&worker, &format!("/api/v1/tasks/{id}/ack"), json!({}))
            .await;
        assert_eq!(s, 200);
    }
    let cookie = app.sign_in_page("grid_worker", GRID).await;
    let (_, html) = app.page("/tasks", &cookie).await;
    let says = "对方可见：此内容将作为答复显示在其回执页";
    assert_eq!(
        html.matches(says).count(),
        1,
        "on the help task only: {html}"
    );
    let help = &html[..html.find(says).unwrap()];
    let card = &help[help.rfind("<article").unwrap()..];
    assert!(card.contains("暖心服务"), "{card}");
}
