//! 协查 lists end to end: a province list as a real .xlsx read through a
//! saved mapping with Chinese headers in their own order; rows matched,
//! created, refused, repeated and answered; the task loop closing them; the
//! answers exported in the shape the list came in; a second list that
//! repeats verified people; hostile files refused with nothing written.

mod support;

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};
use support::{TestApp, csrf_of, resident_id, spawn};

const G1: &str = "330784001001001";
const G2: &str = "330784001002001";
const G5: &str = "330784001005001";

/// The province's column order, not ours.
const HEADERS: [&str; 9] = [
    "序号",
    "人员类别",
    "身份证号码",
    "人员姓名",
    "联系电话",
    "现住址",
    "协查事由",
    "反馈时限",
    "证件类型",
];

fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, cell).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

fn read_xlsx(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| s.to_string()).collect()
}

/// A multipart/form-data body with the list file and its fields.
fn multipart(name: &str, mapping: &str, filename: &str, file: &[u8]) -> (String, Vec<u8>) {
    let b = "----bihuanTestBoundary";
    let mut body = Vec::new();
    for (k, v) in [("name", name), ("mapping", mapping)] {
        body.extend(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend(
        format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend(file);
    body.extend(format!("\r\n--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

async fn send(
    app: &TestApp,
    token: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let r = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn download(app: &TestApp, token: &str, path: &str) -> (u16, String, Vec<u8>) {
    let r = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (s, ct, r.bytes().await.unwrap().to_vec())
}

async fn lists(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, l) = app.get(token, "/api/v1/assist-lists").await;
    assert_eq!(s, 200, "{l}");
    l.as_array().unwrap().clone()
}

async fn verify_task(app: &TestApp, worker: &str, village: &str, task: i64) {
    let (s, r) = app
        .post(worker, &format!("/api/v1/tasks/{task}/ack"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = app
        .post(
            worker,
            &format!("/api/v1/tasks/{task}/report"),
            json!({"outcome": "verified", "note": "已电话联系并上门"}),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = app
        .post(village, &format!("/api/v1/tasks/{task}/close"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
}

async fn task_count(app: &TestApp, token: &str, person: i64) -> usize {
    let (s, p) = app.get(token, &format!("/api/v1/persons/{person}")).await;
    assert_eq!(s, 200, "{p}");
    p["tasks"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_province_list_is_matched_sent_verified_and_answered_in_its_own_shape() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;

    // A known resident of G1.
    let r = app
        .http
        .post(app.url("/api/v1/residents/import"))
        .bearer_auth(&command)
        .body(format!(
            "网格编码,身份证号,姓名\n{G1},{},王五\n",
            resident_id(1)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The mapping: Chinese headers, saved once under a name.
    let (s, r) = app
        .post(
            &command,
            "/api/v1/assist-mappings",
            json!({"name": "省协查模板", "columns": {
                "name": "人员姓名", "id_number": "身份证号码", "id_type": "证件类型",
                "phone": "联系电话", "reason": "协查事由", "category": "人员类别",
                "deadline": "反馈时限", "address": "现住址"}}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (_, m) = app.get(&command, "/api/v1/assist-mappings").await;
    assert_eq!(m[0]["mapping"]["columns"]["id_number"], "身份证号码");
    assert_eq!(m[0]["mapping"]["categories"][0][1], "close_contact");

    let mut bad = resident_id(3);
    bad.replace_range(17.., if bad.ends_with('1') { "2" } else { "1" });
    let mut rows = vec![row(&HEADERS)];
    rows.push(row(&[
        "1",
        "时空伴随",
        &resident_id(1),
        "王五",
        "13900000001",
        "",
        "1月20日到过某市场",
        "2022-01-29 18:00",
        "",
    ]));
    rows.push(row(&[
        "2",
        "密接",
        &resident_id(2),
        "李四",
        "13900000002",
        "东城街道卫星社区8幢",
        "与病例同乘",
        "",
        "居民身份证",
    ]));
    rows.push(row(&["3", "密接", &bad, "赵六", "", "", "", "", ""]));
    rows.push(row(&[
        "4",
        "时空伴随",
        &resident_id(1),
        "王五",
        "",
        "",
        "",
        "",
        "",
    ]));
    rows.push(row(&[
        "5",
        "次密接",
        &resident_id(4),
        "钱七",
        "",
        "北京市朝阳区",
        "",
        "",
        "",
    ]));
    let file = xlsx(&rows);
    let (ct, body) = multipart("省协查第1批", "省协查模板", "省协查第1批.xlsx", &file);
    let (s, report) = send(&app, &command, "/api/v1/assist-lists", &ct, body).await;
    assert_eq!(s, 201, "{report}");
    assert_eq!(report["rows"], 5);
    assert_eq!(report["tasked"], 2);
    assert_eq!(report["duplicates"], 1);
    assert_eq!(report["not_in_city"], 1);
    assert_eq!(report["refused"][0][0], 3, "refused with its row number");
    assert_eq!(report["refused"][0][1][0]["field"], "id_number");
    assert_eq!(report["refused"][0][1][0]["code"], "check_digit");
    let list_id = report["id"].as_i64().unwrap();

    let (s, detail) = app
        .get(&command, &format!("/api/v1/assist-lists/{list_id}"))
        .await;
    assert_eq!(s, 200, "{detail}");
    let rows_out = detail["rows"].as_array().unwrap().clone();
    let states: Vec<&str> = rows_out
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["tasked", "tasked", "invalid", "duplicate", "not_in_city"]
    );
    // The known resident: a task in their grid, by the list's deadline.
    assert_eq!(rows_out[0]["grid"], G1);
    assert!(rows_out[0]["id_number"].as_str().unwrap().contains("****"));
    let (_, tasks) = app.get(&command, "/api/v1/tasks").await;
    let t1 = rows_out[0]["task_id"].as_i64().unwrap();
    let task1 = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == t1)
        .unwrap()
        .clone();
    assert_eq!(task1["due_at"], "2022-01-29T18:00:00+08:00");
    assert_eq!(task1["kind"], "verify");
    assert!(task1["reason"].as_str().unwrap().contains("省协查第1批"));
    // A new person, placed by the address's village, under 密接's control.
    assert_eq!(rows_out[1]["grid"], G2);
    let p2 = rows_out[1]["person_id"].as_i64().unwrap();
    let (_, person2) = app.get(&command, &format!("/api/v1/persons/{p2}")).await;
    assert_eq!(person2["name"], "李四");
    assert_eq!(person2["region"], G2);
    assert_eq!(person2["control"]["category"], "close_contact");
    assert_eq!(
        person2["tasks"].as_array().unwrap().len(),
        1,
        "the control's verification and the list's are one task"
    );
    // The duplicate points at the first row and is not sent.
    assert_eq!(rows_out[3]["same_row"], 1);
    assert!(rows_out[3]["task_id"].is_null());
    // Not in the city: the answer, no task.
    assert_eq!(rows_out[4]["answer"], "不在永康市（查无此人）");
    assert!(rows_out[4]["task_id"].is_null());

    // The command routes the unplaced row by hand.
    let r5 = rows_out[4]["id"].as_i64().unwrap();
    let (s, routed) = app
        .post(
            &command,
            &format!("/api/v1/assist-lists/{list_id}/rows/{r5}/route"),
            json!({"grid": G5}),
        )
        .await;
    assert_eq!(s, 200, "{routed}");
    assert_eq!(routed["state"], "tasked");
    assert_eq!(routed["grid"], G5);
    let p5 = routed["person_id"].as_i64().unwrap();
    let (_, person5) = app.get(&command, &format!("/api/v1/persons/{p5}")).await;
    assert_eq!(person5["control"]["category"], "secondary_contact");
    let (s, _) = app
        .post(
            &command,
            &format!("/api/v1/assist-lists/{list_id}/rows/{r5}/route"),
            json!({"grid": G5}),
        )
        .await;
    assert_eq!(s, 409, "routed once");

    // Verification through the task loop.
    let w1 = app.login_as("grid_worker", G1).await;
    let v1 = app.login_as("village", "330784001001").await;
    verify_task(&app, &w1, &v1, t1).await;
    let w2 = app.login_as("grid_worker", G2).await;
    let v2 = app.login_as("village", "330784001002").await;
    verify_task(&app, &w2, &v2, rows_out[1]["task_id"].as_i64().unwrap()).await;

    let (_, detail) = app
        .get(&command, &format!("/api/v1/assist-lists/{list_id}"))
        .await;
    let r1 = &detail["rows"][0];
    assert_eq!(r1["state"], "verified");
    assert_eq!(r1["outcome"], "verified");
    assert_eq!(r1["measure"], "无");
    assert_eq!(detail["rows"][1]["measure"], "密切接触者：14+7");
    assert_eq!(detail["progress"]["verified"], 2);
    assert_eq!(detail["progress"]["open"], 1);
    let summary = lists(&app, &command).await;
    assert_eq!(summary[0]["progress"]["rows"], 5);
    assert_eq!(summary[0]["progress"]["duplicates"], 1);
    assert_eq!(summary[0]["progress"]["invalid"], 1);

    // Export: the same format and column order, three answer columns added,
    // full numbers as received; the export is audited.
    let (s, ct, bytes) = download(
        &app,
        &command,
        &format!("/api/v1/assist-lists/{list_id}/export"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(ct.contains("spreadsheetml"), "{ct}");
    let back = read_xlsx(&bytes);
    let mut expected = row(&HEADERS);
    expected.extend(row(&["核查结果", "管控措施", "核查时间"]));
    assert_eq!(back[0], expected);
    assert_eq!(back.len(), 7, "five rows and the watermark");
    assert!(
        back[6][0].starts_with("导出人：") && back[6][0].contains("2022-01-28 10:00"),
        "the last line names who exported and when: {:?}",
        back[6]
    );
    assert_eq!(&back[1][..9], &rows[1][..], "cells as received");
    assert_eq!(back[1][9], "已核实，措施已落实");
    assert_eq!(back[1][10], "无");
    assert_eq!(back[1][11], "2022-01-28 10:00");
    assert_eq!(back[2][2], resident_id(2), "full number for the sender");
    assert_eq!(back[2][10], "密切接触者：14+7");
    assert!(back[3][9].starts_with("数据有误"), "{}", back[3][9]);
    assert!(back[3][9].contains("证件号码"), "{}", back[3][9]);
    assert!(back[4][9].contains("第 1 行重复"), "{}", back[4][9]);
    assert_eq!(back[5][9], "核查中");
    let (_, timeline) = app.get(&command, &format!("/api/v1/persons/{p2}")).await;
    assert!(timeline["timeline"].as_array().is_some());

    // A second list (CSV this time) repeats two people already sent: shown
    // with the earlier list, and no second task.
    let before = (
        task_count(&app, &command, p2).await,
        task_count(&app, &command, rows_out[0]["person_id"].as_i64().unwrap()).await,
    );
    let (s, r) = app
        .post(
            &command,
            "/api/v1/assist-mappings",
            json!({"name": "市协查简表", "columns": {
                "name": "人员姓名", "id_number": "身份证号码", "category": "人员类别"}}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let csv = format!(
        "人员姓名,身份证号码,人员类别\n王五,{},时空伴随\n李四,{},密接\n孙八,{},\n",
        resident_id(1),
        resident_id(2),
        resident_id(6)
    );
    let (s, second) = send(
        &app,
        &command,
        &format!(
            "/api/v1/assist-lists?name={}&mapping={}&filename=second.csv",
            support_encode("市协查第2批"),
            support_encode("市协查简表")
        ),
        "text/csv",
        csv.clone().into_bytes(),
    )
    .await;
    assert_eq!(s, 201, "{second}");
    assert_eq!(second["earlier"], 2);
    assert_eq!(second["not_in_city"], 1);
    assert_eq!(second["tasked"], 0);
    let after = (
        task_count(&app, &command, p2).await,
        task_count(&app, &command, rows_out[0]["person_id"].as_i64().unwrap()).await,
    );
    assert_eq!(before, after, "never sent twice");
    let second_id = second["id"].as_i64().unwrap();
    let (_, d2) = app
        .get(&command, &format!("/api/v1/assist-lists/{second_id}"))
        .await;
    assert_eq!(d2["rows"][0]["state"], "earlier");
    assert_eq!(d2["rows"][0]["same_list_name"], "省协查第1批");
    assert_eq!(d2["rows"][0]["same_list_id"], list_id);
    let (s, ct, bytes) = download(
        &app,
        &command,
        &format!("/api/v1/assist-lists/{second_id}/export"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    let text = String::from_utf8(bytes).unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next().unwrap(),
        "人员姓名,身份证号码,人员类别,核查结果,管控措施,核查时间"
    );
    let first = lines.next().unwrap();
    assert!(
        first.starts_with(&format!("王五,{},时空伴随,", resident_id(1))),
        "{first}"
    );
    assert!(first.contains("已在「省协查第1批」（2022-01-28）协查：已核实，措施已落实"));

    // Scope and roles: another town sees nothing; villages may not import.
    let other_town = app.login_as("town", "330784002").await;
    let (s, _) = app
        .get(&other_town, &format!("/api/v1/assist-lists/{list_id}"))
        .await;
    assert_eq!(s, 404);
    let (s, _, _) = download(
        &app,
        &other_town,
        &format!("/api/v1/assist-lists/{list_id}/export"),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = send(
        &app,
        &v1,
        "/api/v1/assist-lists?name=x&mapping=省协查模板",
        "text/csv",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(s, 403);
}

fn support_encode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn hostile_lists_are_refused_whole_with_reasons_and_nothing_written() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let (s, r) = app
        .post(
            &command,
            "/api/v1/assist-mappings",
            json!({"name": "模板", "columns": {"name": "姓名", "id_number": "身份证号"}}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let path = format!(
        "/api/v1/assist-lists?name={}&mapping={}",
        support_encode("坏文件"),
        support_encode("模板")
    );
    let field_error = |v: &Value| -> (String, String, String, String) {
        let e = &v["errors"][0];
        (
            e["field"].as_str().unwrap_or_default().to_string(),
            e["code"].as_str().unwrap_or_default().to_string(),
            e["message"].as_str().unwrap_or_default().to_string(),
            e["message_en"].as_str().unwrap_or_default().to_string(),
        )
    };

    // Not a spreadsheet.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec();
    let (s, r) = send(&app, &command, &path, "image/png", png).await;
    assert_eq!(s, 422, "{r}");
    let (field, code, zh, en) = field_error(&r);
    assert_eq!((field.as_str(), code.as_str()), ("file", "file_type"));
    assert!(zh.contains(".xlsx") && en.contains(".xlsx"), "{zh} / {en}");

    // A zip that is no workbook.
    let (s, r) = send(
        &app,
        &command,
        &path,
        "application/zip",
        b"PK\x03\x04garbage".to_vec(),
    )
    .await;
    assert_eq!(s, 422, "{r}");
    assert_eq!(field_error(&r).1, "file_type");

    // Over the row limit.
    let mut csv = String::from("姓名,身份证号\n");
    for n in 0..10_001 {
        csv.push_str(&format!("人{n},{}\n", resident_id(n)));
    }
    let (s, r) = send(&app, &command, &path, "text/csv", csv.into_bytes()).await;
    assert_eq!(s, 422, "{r}");
    let (field, code, zh, en) = field_error(&r);
    assert_eq!((field.as_str(), code.as_str()), ("file", "too_many_rows"));
    assert!(zh.contains("10000") && en.contains("10000"));

    // A mapped column the file lacks, named per field in both languages.
    let file = xlsx(&[row(&["姓名", "证件号"]), row(&["张三", &resident_id(1)])]);
    let (s, r) = send(&app, &command, &path, "application/octet-stream", file).await;
    assert_eq!(s, 422, "{r}");
    let (field, code, zh, en) = field_error(&r);
    assert_eq!(
        (field.as_str(), code.as_str()),
        ("columns.id_number", "missing_column")
    );
    assert!(
        zh.contains("身份证号") && en.contains("身份证号"),
        "{zh} / {en}"
    );

    // No such mapping, and no list name: both said at once.
    let file = xlsx(&[row(&["姓名", "身份证号"]), row(&["张三", &resident_id(1)])]);
    let (s, r) = send(
        &app,
        &command,
        "/api/v1/assist-lists?mapping=nope",
        "application/octet-stream",
        file,
    )
    .await;
    assert_eq!(s, 422, "{r}");
    let fields: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "mapping"]);

    // A bad mapping: unknown field, a policy category that does not exist.
    let (s, r) = app
        .post(
            &command,
            "/api/v1/assist-mappings",
            json!({"name": "坏", "columns": {"name": "姓名", "nickname": "x"},
                   "categories": {"密接": "quarantine_hotel"}}),
        )
        .await;
    assert_eq!(s, 422, "{r}");
    let fields: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"columns.nickname"), "{fields:?}");
    assert!(fields.contains(&"columns.id_number"), "{fields:?}");
    assert!(fields.contains(&"categories.0.category"), "{fields:?}");

    // Past the body limit.
    let (s, _) = send(
        &app,
        &command,
        &path,
        "text/csv",
        vec![b'a'; 5 * 1024 * 1024],
    )
    .await;
    assert_eq!(s, 413);

    assert!(lists(&app, &command).await.is_empty(), "nothing written");
    let (_, m) = app.get(&command, "/api/v1/assist-mappings").await;
    assert_eq!(m.as_array().unwrap().len(), 1, "the bad mapping not saved");
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = app
        .http
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn with_csrf(csrf: &str, ct_body: (String, Vec<u8>)) -> (String, Vec<u8>) {
    let (ct, body) = ct_body;
    let b = ct.split("boundary=").nth(1).unwrap().to_string();
    let mut out =
        format!("--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .into_bytes();
    out.extend(body);
    (ct, out)
}

#[tokio::test]
async fn the_pages_upload_map_show_and_export_a_list() {
    let app = spawn().await;
    let town = app.sign_in_page("town", "330784001").await;
    let (s, html) = page(&app, &town, "/assist").await;
    assert_eq!(s, 200);
    assert!(html.contains("导入协查名单") && html.contains("multipart/form-data"));
    assert!(html.contains("href=\"/assist\""), "the nav links the page");
    let csrf = csrf_of(&html);

    // A file that is no spreadsheet comes back with the reason.
    let (ct, body) = with_csrf(
        &csrf,
        multipart("坏", "", "a.png", b"\x89PNG\r\n\x1a\n\0\0"),
    );
    let r = app
        .http
        .post(app.url("/assist"))
        .header("cookie", &town)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains(".xlsx"));

    // A new mapping: the file waits, the headers become the choices.
    let file = xlsx(&[
        row(&["序号", "公民身份号码", "姓名", "类别", "地址"]),
        row(&["1", &resident_id(7), "周九", "密接", "东城街道园丁社区"]),
        row(&["2", &resident_id(8), "吴十", "", "西城街道某村"]),
    ]);
    let (ct, body) = with_csrf(&csrf, multipart("镇协查1", "", "镇协查1.xlsx", &file));
    let r = app
        .http
        .post(app.url("/assist"))
        .header("cookie", &town)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/assist/uploads/"), "{to}");
    let (s, html) = page(&app, &town, &to).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("<option value=\"公民身份号码\" translate=\"no\" selected>"),
        "guessed"
    );
    assert!(html.contains("密接=close_contact"));
    let action = to.split('?').next().unwrap().to_string();
    let r = app
        .http
        .post(app.url(&action))
        .header("cookie", &town)
        .form(&[
            ("csrf", csrf.as_str()),
            ("list_name", "镇协查1"),
            ("mapping_name", "镇模板"),
            ("col_name", "姓名"),
            ("col_id_number", "公民身份号码"),
            ("col_category", "类别"),
            ("col_address", "地址"),
            ("categories", "密接=close_contact\n次密接=secondary_contact"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let list = r.headers()["location"].to_str().unwrap().to_string();
    let (s, html) = page(&app, &town, &list).await;
    assert_eq!(s, 200);
    assert!(html.contains("周九") && html.contains("核查中"), "{html}");
    assert!(html.contains("不在永康市（查无此人）"));
    assert!(
        html.contains("name=\"grid\""),
        "a route form for the unplaced row"
    );
    let (_, en) = page(&app, &town, &format!("{list}?lang=en")).await;
    assert!(en.contains("being verified") && en.contains("Export the answers"));
    let (s, html) = page(&app, &town, "/assist").await;
    assert_eq!(s, 200);
    assert!(html.contains("镇协查1"));
    let r = app
        .http
        .get(app.url(&format!("{list}/export")))
        .header("cookie", &town)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let back = read_xlsx(&r.bytes().await.unwrap());
    assert_eq!(back[0][5], "核查结果");
    assert_eq!(back[2][5], "不在永康市（查无此人）");

    // The saved mapping is offered on the next upload.
    let (_, html) = page(&app, &town, "/assist").await;
    assert!(html.contains("<option value=\"镇模板\">"));
    // Villages do not handle lists.
    let village = app.sign_in_page("village", "330784001001").await;
    let (s, _) = page(&app, &village, "/assist").await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn a_deadline_typed_as_an_excel_date_time_keeps_its_time_of_day() {
    use rust_xlsxwriter::{ExcelDateTime, Format};
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let r = app
        .http
        .post(app.url("/api/v1/residents/import"))
        .bearer_auth(&command)
        .body(format!(
            "网格编码,身份证号,姓名\n{G1},{},王五\n",
            resident_id(1)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, r) = app
        .post(
            &command,
            "/api/v1/assist-mappings",
            json!({"name": "时限模板", "columns": {
                "name": "人员姓名", "id_number": "身份证号码", "deadline": "反馈时限"}}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["人员姓名", "身份证号码", "反馈时限"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "王五").unwrap();
    ws.write_string(1, 1, resident_id(1)).unwrap();
    let due = ExcelDateTime::from_ymd(2022, 1, 29)
        .unwrap()
        .and_hms(18, 0, 0)
        .unwrap();
    ws.write_datetime_with_format(1, 2, &due, &Format::new().set_num_format("yyyy/m/d h:mm"))
        .unwrap();
    let file = wb.save_to_buffer().unwrap();
    let (ct, body) = multipart("时限", "时限模板", "时限.xlsx", &file);
    let (s, report) = send(&app, &command, "/api/v1/assist-lists", &ct, body).await;
    assert_eq!(s, 201, "{report}");
    assert_eq!(report["tasked"], 1, "{report}");
    let (_, tasks) = app.get(&command, "/api/v1/tasks").await;
    let verify = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "verify")
        .unwrap_or_else(|| panic!("{tasks}"));
    assert_eq!(
        verify["due_at"], "2022-01-29T18:00:00+08:00",
        "not the end of the day"
    );
}
