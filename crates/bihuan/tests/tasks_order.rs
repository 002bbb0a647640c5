//! 我的任务 as the grid worker needs it (issue 12): urgent kinds first and
//! marked, then overdue, then by deadline, on the page and in the API; 今日应检
//! never records a result by default; 退回重办 needs a reason. Runs on SQLite,
//! and on PostgreSQL when BIHUAN_TEST_POSTGRES is set.

mod support;

use serde_json::{Value, json};
use support::{TestApp, csrf_of, declaration, spawn, with_xiluoyuan};

const VILLAGE: &str = "330784001001";
const GRID: &str = "330784001001001";

async fn get_page(app: &TestApp, path: &str, cookie: &str) -> String {
    let (status, html) = app.page(path, cookie).await;
    assert_eq!(status, 200);
    html
}

async fn api_tasks(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, body) = app.get(token, "/api/v1/tasks").await;
    assert_eq!(s, 200, "{body}");
    body.as_array().unwrap().clone()
}

/// Where each task's card starts on the page.
fn card_at(html: &str, id: i64) -> usize {
    html.find(&format!("id=\"task-{id}\""))
        .unwrap_or_else(|| panic!("card {id} in {html}"))
}

#[tokio::test]
async fn the_fever_transfer_comes_first_then_the_overdue_task() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    // A verify task, created first; its deadline passes.
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    app.advance_hours(3);
    // A second verify task, not yet due.
    let mut body = declaration();
    body["id_number"] = json!(support::resident_id(11));
    body["name"] = json!("李四");
    let (s, d) = app.declare(body).await;
    assert_eq!(s, 201, "{d}");
    // Then a fever transfer (symptoms, from inside the province).
    let mut body = declaration();
    body["id_number"] = json!(support::resident_id(12));
    body["name"] = json!("王五");
    body["origin"] = json!({"county": "330106", "township": null, "departed_on": "2022-01-28"});
    body["symptoms"] = json!(["fever"]);
    let (s, d) = app.declare(body).await;
    assert_eq!(s, 201, "{d}");

    let worker = app.login_as("grid_worker", GRID).await;
    let list = api_tasks(&app, &worker).await;
    let seen: Vec<(&str, bool, bool)> = list
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap(),
                t["urgent"].as_bool().unwrap(),
                t["overdue"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("fever_transfer", true, false),
            ("verify", false, true),
            ("verify", false, false),
        ],
        "{list:?}"
    );
    let ids: Vec<i64> = list.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert!(
        ids[0] > ids[2] && ids[2] > ids[1],
        "not in id order: {ids:?}"
    );

    // The page shows the same order, the fever transfer marked urgent.
    let cookie = app.sign_in_page("grid_worker", GRID).await;
    let html = get_page(&app, "/tasks", &cookie).await;
    let at: Vec<usize> = ids.iter().map(|&id| card_at(&html, id)).collect();
    assert!(at[0] < at[1] && at[1] < at[2], "{at:?}");
    let first = &html[at[0]..at[1]];
    assert!(first.contains("发热就诊转运"), "{first}");
    assert!(
        html.contains(&format!(
            "<article class=\"task urgent\" id=\"task-{}\"",
            ids[0]
        )),
        "{html}"
    );
    assert!(first.contains("紧急"), "{first}");
    assert!(
        !html[at[1]..].contains("task urgent"),
        "only the one is urgent"
    );

    // Paging one task at a time walks the same order.
    let mut after = 0;
    let mut paged = vec![];
    loop {
        let (s, page) = app
            .get(&worker, &format!("/api/v1/tasks?limit=1&after={after}"))
            .await;
        assert_eq!(s, 200, "{page}");
        let Some(t) = page.as_array().unwrap().first() else {
            break;
        };
        after = t["id"].as_i64().unwrap();
        paged.push(after);
    }
    assert_eq!(paged, ids);
}

#[tokio::test]
async fn the_result_select_starts_empty_and_an_empty_result_stores_nothing() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let mut d = declaration();
    d["origin"] = json!({"county": "110106", "township": "110106001", "departed_on": "2022-01-27"});
    let (s, d) = app.declare(d).await;
    assert_eq!(s, 201, "{d}");
    let person = d["person_id"].as_i64().unwrap();
    let cookie = app.sign_in_page("grid_worker", GRID).await;
    let html = get_page(&app, "/due-tests", &cookie).await;
    let select = format!(
        "<select id=\"result{person}\" name=\"result\" required>\n<option value=\"\" selected>请选择</option>"
    );
    assert!(html.contains(&select), "{html}");
    // The person page's form, too.
    let page = get_page(&app, &format!("/persons/{person}"), &cookie).await;
    assert!(
        page.contains("name=\"result\" required>\n<option value=\"\" selected>请选择</option>"),
        "{page}"
    );

    let r = app
        .post_page(
            &format!("/persons/{person}/tests"),
            &cookie,
            &[
                ("csrf", csrf_of(&html)),
                ("back", "/due-tests".into()),
                ("result", String::new()),
                ("sampled_at", String::new()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let text = r.text().await.unwrap();
    assert!(text.contains("结果应为阴性、阳性或待出"), "{text}");
    let after = get_page(&app, "/due-tests", &cookie).await;
    assert!(after.contains("待检"), "still due: {after}");
    assert!(after.contains(&select), "the form is still offered");
    let worker = app.login_as("grid_worker", GRID).await;
    let (_, p) = app.get(&worker, &format!("/api/v1/persons/{person}")).await;
    assert!(
        !p["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"].as_str().unwrap().contains("test")),
        "no test stored: {p}"
    );
}

#[tokio::test]
async fn returning_work_needs_a_reason() {
    let app = spawn().await;
    with_xiluoyuan(&app).await;
    let (s, d) = app.declare(declaration()).await;
    assert_eq!(s, 201, "{d}");
    let worker = app.login_as("grid_worker", GRID).await;
    let id = api_tasks(&app, &worker).await[0]["id"].as_i64().unwrap();
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

    let village = app.login_as("village", VILLAGE).await;
    for body in [json!({}), json!({"reason": "   "})] {
        let (s, e) = app
            .post(&village, &format!("/api/v1/tasks/{id}/reopen"), body)
            .await;
        assert_eq!(s, 422, "{e}");
        assert!(e.to_string().contains("reason"), "{e}");
        assert!(e.to_string().contains("请填写退回原因"), "{e}");
    }
    assert_eq!(api_tasks(&app, &worker).await[0]["state"], "reported");

    // The page: the form asks for the reason; an empty one changes nothing.
    let cookie = app.sign_in_page("village", VILLAGE).await;
    let html = get_page(&app, "/tasks", &cookie).await;
    assert!(html.contains("name=\"reason\" required"), "{html}");
    let r = app
        .post_page(
            &format!("/tasks/{id}/reopen"),
            &cookie,
            &[("csrf", csrf_of(&html)), ("reason", String::new())],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请填写退回原因"));
    assert_eq!(api_tasks(&app, &worker).await[0]["state"], "reported");

    let r = app
        .post_page(
            &format!("/tasks/{id}/reopen"),
            &cookie,
            &[("csrf", csrf_of(&html)), ("reason", "门牌号不对".into())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(api_tasks(&app, &worker).await[0]["state"], "dispatched");
    let (_, p) = app
        .get(&village, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    let reopened = p["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "task_reopen")
        .cloned()
        .unwrap_or_default();
    assert!(reopened.to_string().contains("门牌号不对"), "{p}");
}
