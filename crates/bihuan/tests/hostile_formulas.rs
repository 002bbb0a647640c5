//! Formula cells (CSV injection): text a stranger typed, or a list file
//! carried, comes out of every CSV export as text a spreadsheet will not
//! run: a cell starting with = + - @ tab or CR gets a leading `'`.

mod support;

use serde_json::{Value, json};
use support::{TestApp, declaration, resident_id, spawn};

const G1: &str = "330784001001001";
const FORMULA: &str = "=HYPERLINK(\"http://x\",\"y\")";

async fn send(app: &TestApp, token: &str, path: &str, ct: &str, body: String) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The body of a GET, with the session as a bearer token (API) or the
/// session cookie (pages).
async fn download(app: &TestApp, token: &str, path: &str, page: bool) -> (u16, String) {
    let req = app.http.get(app.url(path));
    let req = if page {
        req.header("cookie", format!("bihuan_session={token}"))
    } else {
        req.bearer_auth(token)
    };
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

fn cells(csv_text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv_text.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

/// No cell of the file starts with a formula character.
fn assert_inert(rows: &[Vec<String>]) {
    for row in rows {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a live formula cell {cell:?} in {rows:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_name_typed_as_a_formula_leaves_the_untested_csv_as_text() {
    let app = spawn().await;
    let mut d = declaration();
    d["id_number"] = json!(resident_id(1));
    d["name"] = json!(FORMULA);
    let (s, r) = app.declare(d).await;
    assert_eq!(s, 201, "the form takes any name: {r}");

    let town = app.login_as("town", "330784001").await;
    let roll = format!("网格编码,身份证号,姓名\n{G1},{},居民一\n", resident_id(1));
    let (s, r) = send(&app, &town, "/api/v1/residents/import", "text/csv", roll).await;
    assert_eq!(s, 200, "{r}");
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
    for (path, page) in [
        (
            format!("/api/v1/rounds/{round}/untested/{G1}?format=csv"),
            false,
        ),
        (format!("/rounds/{round}/untested/{G1}.csv"), true),
    ] {
        let (s, text) = download(&app, &worker, &path, page).await;
        assert_eq!(s, 200, "{path}: {text}");
        let rows = cells(&text);
        let named: Vec<&Vec<String>> = rows
            .iter()
            .filter(|r| r.iter().any(|c| c.contains("HYPERLINK")))
            .collect();
        assert_eq!(named.len(), 1, "{path}: {rows:?}");
        assert!(
            named[0].contains(&format!("'{FORMULA}")),
            "{path}: the name kept, as text: {rows:?}"
        );
        assert_inert(&rows);
    }
}

#[tokio::test]
async fn a_list_cell_carrying_a_formula_is_exported_as_text() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let (s, r) = app
        .post(
            &command,
            "/api/v1/assist-mappings",
            json!({"name": "简表", "columns": {
                "name": "人员姓名", "id_number": "身份证号码", "address": "现住址"}}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let list = format!(
        "人员姓名,身份证号码,现住址\n\"{}\",{},@SUM(A1)\n-1+2,{},+东城\n",
        FORMULA.replace('"', "\"\""),
        resident_id(1),
        resident_id(2),
    );
    let (s, r) = send(
        &app,
        &command,
        "/api/v1/assist-lists?name=f&mapping=%E7%AE%80%E8%A1%A8&filename=f.csv",
        "text/csv",
        list,
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_i64().unwrap();
    for (path, page) in [
        (format!("/api/v1/assist-lists/{id}/export"), false),
        (format!("/assist/{id}/export"), true),
    ] {
        let (s, text) = download(&app, &command, &path, page).await;
        assert_eq!(s, 200, "{path}: {text}");
        let rows = cells(&text);
        assert_eq!(rows[1][0], format!("'{FORMULA}"), "{path}: {rows:?}");
        assert_eq!(rows[1][2], "'@SUM(A1)");
        assert_eq!(
            (rows[2][0].as_str(), rows[2][2].as_str()),
            ("'-1+2", "'+东城")
        );
        assert_inert(&rows);
    }
}
