//! 哨点 pages: a village records a pharmacy purchase and a fever-clinic
//! visit on its phone page and stores exactly what the API would; bad
//! fields answer per field and store nothing; another region's staff get
//! 404 and roles without the page 403; a day's purchases come out as a
//! masked .xlsx and an office's file goes in row by row; the town signs for
//! and judges an alert with the page's forms.

mod support;

use serde_json::json;
use sqlx::Row;
use support::{TestApp, approved_venue, count, csrf_of, location, resident_id, spawn};

const VILLAGE: &str = "330784002001";
const OTHER_VILLAGE: &str = "330784001001";

async fn pharmacy(app: &TestApp) -> i64 {
    approved_venue(app, "pharmacy", VILLAGE, "康宁大药房").await
}

/// The purchase form as a clerk fills it: a febrile red-code buyer.
fn purchase_form(
    csrf: &str,
    pharmacy: i64,
    n: u32,
    purchase_id: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("csrf", csrf.to_string()),
        ("purchase_id", purchase_id.to_string()),
        ("pharmacy", pharmacy.to_string()),
        ("id_type", "resident".into()),
        ("id_number", resident_id(n)),
        ("name", "王五".into()),
        ("phone", format!("139{n:08}")),
        ("health_code", "red".into()),
        ("temperature", "38.1".into()),
        ("symptoms", "fever".into()),
        ("symptoms", "cough".into()),
        ("drugs_0_class", "antipyretic".into()),
        ("drugs_0_name", "布洛芬".into()),
        ("drugs_0_qty", "2".into()),
        ("drugs_1_class", "".into()),
        ("drugs_1_name", "".into()),
        ("drugs_1_qty", "".into()),
        ("drugs_2_class", "antitussive".into()),
        ("drugs_2_name", "".into()),
        ("drugs_2_qty", "1".into()),
        ("for_someone_else", "1".into()),
    ]
}

/// What a stored purchase says, beyond who it is and its ids.
async fn stored(app: &TestApp, id: i64) -> Vec<String> {
    let row = sqlx::query(
        "SELECT health_code, symptoms, temperature_tenths, drugs, for_someone_else,
                fever_transfer, test_due_at, venue_id
         FROM pharmacy_purchases WHERE id = $1",
    )
    .bind(id)
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    vec![
        row.get::<String, _>(0),
        row.get::<String, _>(1),
        format!("{:?}", row.get::<Option<i64>, _>(2)),
        row.get::<String, _>(3),
        row.get::<i64, _>(4).to_string(),
        row.get::<i64, _>(5).to_string(),
        format!("{:?}", row.get::<Option<i64>, _>(6)),
        row.get::<i64, _>(7).to_string(),
    ]
}

async fn page_of(app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    app.page(path, cookie).await
}

#[tokio::test]
async fn a_purchase_recorded_on_the_page_stores_what_the_api_would() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let clerk = app.sign_in_page("village", VILLAGE).await;
    let (s, html) = page_of(&app, "/pharmacy", &clerk).await;
    assert_eq!(s, 200);
    assert!(html.contains("康宁大药房"), "the pharmacy is offered");
    assert!(html.contains("name=\"purchase_id\""));
    let csrf = csrf_of(&html);

    let r = app
        .post_page(
            "/pharmacy",
            &clerk,
            &purchase_form(&csrf, pharmacy, 1, "page-1"),
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with("/pharmacy?recorded="), "{to}");
    let page_id: i64 = count(&app, "SELECT MAX(id) FROM pharmacy_purchases").await;

    // The same purchase through the API, for another buyer.
    let api = app.login_as("village", VILLAGE).await;
    let (s, v) = app
        .post(
            &api,
            "/api/v1/pharmacy-purchases",
            json!({"purchase_id": "api-1", "pharmacy": pharmacy, "id_type": "resident",
                   "id_number": resident_id(2), "name": "王五", "phone": "13900000002",
                   "health_code": "red", "temperature": "38.1", "symptoms": ["fever", "cough"],
                   "drugs": [{"class": "antipyretic", "name": "布洛芬", "qty": 2},
                             {"class": "antitussive", "name": "", "qty": 1}],
                   "for_someone_else": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let api_id = v["id"].as_i64().unwrap();
    assert_eq!(stored(&app, page_id).await, stored(&app, api_id).await);
    // Both buyers got the fever transfer and the 预警 the API gives.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM tasks WHERE kind = 'fever_transfer'"
        )
        .await,
        2
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM alerts").await, 2);

    // A second tap of the same form stores nothing more.
    let r = app
        .post_page(
            "/pharmacy",
            &clerk,
            &purchase_form(&csrf, pharmacy, 1, "page-1"),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        2
    );

    // The list shows the buyers masked, never the document.
    let (_, html) = page_of(&app, &to, &clerk).await;
    assert!(html.contains("王*"), "masked name");
    assert!(!html.contains(&resident_id(1)), "no full document");
    assert!(html.contains("发热就诊转运"));
    assert!(html.contains(&format!("id=\"purchase-{page_id}\"")));
}

#[tokio::test]
async fn bad_purchase_fields_answer_per_field_and_store_nothing() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let clerk = app.sign_in_page("village", VILLAGE).await;
    let (_, html) = page_of(&app, "/pharmacy", &clerk).await;
    let csrf = csrf_of(&html);
    let persons = count(&app, "SELECT COUNT(*) FROM persons").await;
    let mut form = purchase_form(&csrf, pharmacy, 3, "page-3");
    for (k, v) in &mut form {
        match *k {
            "phone" => *v = "12".into(),
            "temperature" => *v = "hot".into(),
            "drugs_2_qty" => *v = "0".into(),
            "drugs_0_class" => *v = "candy".into(),
            _ => {}
        }
    }
    let r = app.post_page("/pharmacy?lang=en", &clerk, &form).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    // Each error sits under its own field, the drug rows where they were typed.
    for id in ["phone", "temperature"] {
        assert!(
            html.contains(&format!("id=\"{id}\"")) && html.contains("aria-invalid"),
            "{id}"
        );
    }
    assert!(html.contains("a quantity from 1 to 999"), "qty of row 3");
    assert!(html.contains("Drug 3 Quantity"), "named by its row: {html}");
    assert!(html.contains("Drug 1 Class"), "the class of row 1");
    // What was typed stays.
    assert!(html.contains("value=\"王五\""));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        0
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM persons").await, persons);

    // No pharmacy chosen and no drug: both said, nothing stored.
    let form: Vec<(&str, String)> = vec![
        ("csrf", csrf.clone()),
        ("id_number", resident_id(3)),
        ("name", "王五".into()),
        ("phone", "13900000003".into()),
        ("health_code", "green".into()),
    ];
    let r = app.post_page("/pharmacy", &clerk, &form).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("请选择药店"), "{html}");
    assert!(html.contains("请填写1至50种药品"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        0
    );
}

#[tokio::test]
async fn another_region_gets_404_and_roles_without_the_page_403() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let clinic = approved_venue(&app, "fever_clinic", VILLAGE, "一院发热门诊").await;
    let stranger = app.sign_in_page("village", OTHER_VILLAGE).await;
    let (s, html) = page_of(&app, "/pharmacy", &stranger).await;
    assert_eq!(s, 200);
    assert!(
        !html.contains("康宁大药房"),
        "not offered to another village"
    );
    let csrf = csrf_of(&html);
    let r = app
        .post_page(
            "/pharmacy",
            &stranger,
            &purchase_form(&csrf, pharmacy, 4, "x-4"),
        )
        .await;
    assert_eq!(r.status(), 404);
    let visit: Vec<(&str, String)> = vec![
        ("csrf", csrf.clone()),
        ("clinic", clinic.to_string()),
        ("visit_id", "V-4".into()),
        ("id_number", resident_id(4)),
        ("name", "王五".into()),
        ("phone", "13900000004".into()),
        ("temperature", "38.0".into()),
        ("test_barcode", "FC0000004".into()),
        ("test_sampled_at", "2022-01-28T09:00".into()),
        ("test_result", "pending".into()),
    ];
    let r = app.post_page("/fever-clinic", &stranger, &visit).await;
    assert_eq!(r.status(), 404);

    let worker = app
        .sign_in_page("grid_worker", &format!("{VILLAGE}001"))
        .await;
    for path in ["/pharmacy", "/fever-clinic", "/alerts"] {
        assert_eq!(page_of(&app, path, &worker).await.0, 403, "{path}");
    }
    let (_, html) = page_of(&app, "/tasks", &worker).await;
    let worker_csrf = csrf_of(&html);
    let r = app
        .post_page(
            "/pharmacy",
            &worker,
            &purchase_form(&worker_csrf, pharmacy, 5, "x-5"),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(
        !html.contains("href=\"/pharmacy\""),
        "not in a grid's navigation"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        0
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM fever_clinic_visits").await,
        0
    );

    // An alert of town 330784002 is another town's 404.
    let clerk = app.login_as("village", VILLAGE).await;
    let (s, v) = app
        .post(
            &clerk,
            "/api/v1/pharmacy-purchases",
            json!({"pharmacy": pharmacy, "id_number": resident_id(6), "name": "王五",
                   "phone": "13900000006", "health_code": "yellow", "temperature": "38.5",
                   "drugs": [{"class": "antipyretic", "qty": 1}]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let alert = count(&app, "SELECT MAX(id) FROM alerts").await;
    let other_town = app.sign_in_page("town", "330784001").await;
    let (s, html) = page_of(&app, "/alerts", &other_town).await;
    assert_eq!(s, 200);
    assert!(!html.contains(&format!("alert-{alert}\"")));
    let csrf = csrf_of(&html);
    let r = app
        .post_page(
            &format!("/alerts/{alert}/ack"),
            &other_town,
            &[("csrf", csrf.clone())],
        )
        .await;
    assert_eq!(r.status(), 404);
    let village_page = app.sign_in_page("village", VILLAGE).await;
    let (_, html) = page_of(&app, "/tasks", &village_page).await;
    let r = app
        .post_page(
            &format!("/alerts/{alert}/ack"),
            &village_page,
            &[("csrf", csrf_of(&html))],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM alerts WHERE state = 'open'").await,
        1
    );
}

#[tokio::test]
async fn a_visit_recorded_on_the_page_answers_the_referral() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let clinic = approved_venue(&app, "fever_clinic", VILLAGE, "一院发热门诊").await;
    let clerk = app.sign_in_page("village", VILLAGE).await;
    let (_, html) = page_of(&app, "/pharmacy", &clerk).await;
    let csrf = csrf_of(&html);
    let r = app
        .post_page(
            "/pharmacy",
            &clerk,
            &purchase_form(&csrf, pharmacy, 7, "p-7"),
        )
        .await;
    assert_eq!(r.status(), 303);
    let (s, html) = page_of(&app, "/fever-clinic", &clerk).await;
    assert_eq!(s, 200);
    assert!(html.contains("一院发热门诊"));
    // Bad fields: each said, nothing stored.
    let mut visit: Vec<(&str, String)> = vec![
        ("csrf", csrf.clone()),
        ("clinic", clinic.to_string()),
        ("visit_id", "V-7".into()),
        ("id_number", resident_id(7)),
        ("name", "王五".into()),
        ("phone", "13900000007".into()),
        ("temperature", "hot".into()),
        ("symptoms", "fever".into()),
        ("test_barcode", "!".into()),
        ("test_sampled_at", "".into()),
        ("test_result", "".into()),
    ];
    let r = app.post_page("/fever-clinic", &clerk, &visit).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for id in [
        "temperature",
        "test_barcode",
        "test_sampled_at",
        "test_result",
    ] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "{id} is on the form again"
        );
    }
    assert!(html.contains("结果应为待出、阴性或阳性"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM fever_clinic_visits").await,
        0
    );

    for (k, v) in &mut visit {
        match *k {
            "temperature" => *v = "38.3".into(),
            "test_barcode" => *v = "FC0000007".into(),
            "test_sampled_at" => *v = "2022-01-28T09:40".into(),
            "test_result" => *v = "negative".into(),
            _ => {}
        }
    }
    let r = app.post_page("/fever-clinic", &clerk, &visit).await;
    assert_eq!(r.status(), 303);
    let row = sqlx::query(
        "SELECT result, sampled_at, transfers_closed, temperature_tenths FROM fever_clinic_visits",
    )
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>(0), "negative");
    // 09:40 Beijing time as typed in the phone's box.
    assert_eq!(row.get::<i64, _>(1), 1_643_334_000);
    assert_eq!(row.get::<i64, _>(2), 1, "the pharmacy referral answered");
    assert_eq!(row.get::<i64, _>(3), 383);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM tasks WHERE kind = 'fever_transfer' AND state = 'closed'"
        )
        .await,
        1
    );
    let (_, html) = page_of(&app, &location(&r), &clerk).await;
    assert!(html.contains("王*") && !html.contains(&resident_id(7)));

    // The same visit through the API, for another patient: the same record.
    let api = app.login_as("village", VILLAGE).await;
    let (s, v) = app
        .post(
            &api,
            "/api/v1/fever-clinic-visits",
            json!({"visit_id": "V-8", "clinic": clinic, "id_number": resident_id(9), "name": "王五",
                   "phone": "13900000009", "temperature": "38.3", "symptoms": ["fever"],
                   "test": {"barcode": "FC0000009", "sampled_at": "2022-01-28T09:40:00+08:00",
                            "result": "negative"}}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let same = "SELECT venue_id, temperature_tenths, symptoms, sampled_at, result,
                       CASE WHEN test_id IS NULL THEN 0 ELSE 1 END
                FROM fever_clinic_visits ORDER BY id";
    let rows = sqlx::query(same)
        .fetch_all(app.services.db.pool())
        .await
        .unwrap();
    let shown = |r: &sqlx::any::AnyRow| {
        format!(
            "{} {} {} {} {} {}",
            r.get::<i64, _>(0),
            r.get::<i64, _>(1),
            r.get::<String, _>(2),
            r.get::<i64, _>(3),
            r.get::<String, _>(4),
            r.get::<i64, _>(5)
        )
    };
    assert_eq!(shown(&rows[0]), shown(&rows[1]));
}

#[tokio::test]
async fn the_town_signs_for_and_judges_an_alert_on_the_page() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let clerk = app.sign_in_page("village", VILLAGE).await;
    let (_, html) = page_of(&app, "/pharmacy", &clerk).await;
    let r = app
        .post_page(
            "/pharmacy",
            &clerk,
            &purchase_form(&csrf_of(&html), pharmacy, 8, "p-8"),
        )
        .await;
    assert_eq!(r.status(), 303);
    let town = app.sign_in_page("town", &VILLAGE[..9]).await;
    let (s, html) = page_of(&app, "/alerts", &town).await;
    assert_eq!(s, 200);
    let alert = count(&app, "SELECT MAX(id) FROM alerts").await;
    assert!(html.contains(&format!("id=\"alert-{alert}\"")));
    assert!(html.contains("发热红黄码购药"));
    assert!(html.contains("王*"), "the buyer, masked");
    assert!(!html.contains(&resident_id(8)));
    assert!(
        html.contains("href=\"/alerts\""),
        "in the town's navigation"
    );
    let csrf = csrf_of(&html);

    // 研判 before 签收 is refused and changes nothing.
    let judge = format!("/alerts/{alert}/judge");
    let r = app
        .post_page(
            &judge,
            &town,
            &[("csrf", csrf.clone()), ("verdict", "suspected".into())],
        )
        .await;
    assert_eq!(r.status(), 409);
    let r = app
        .post_page(
            &format!("/alerts/{alert}/ack"),
            &town,
            &[("csrf", csrf.clone())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("done=ack"));
    let (_, html) = page_of(&app, "/alerts", &town).await;
    assert!(html.contains(&format!("id=\"suspected-{alert}\"")));

    // No verdict: said under the form, nothing stored.
    let r = app
        .post_page(
            &judge,
            &town,
            &[("csrf", csrf.clone()), ("note", "核实中".into())],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("研判结论应为误报或疑似事件"));
    assert!(html.contains("核实中"), "the note typed stays");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM alerts WHERE state = 'acked'").await,
        1
    );
    let verify = "SELECT COUNT(*) FROM tasks WHERE kind = 'verify'";
    let before = count(&app, verify).await;
    let r = app
        .post_page(
            &judge,
            &town,
            &[
                ("csrf", csrf.clone()),
                ("verdict", "suspected".into()),
                ("note", "同日多例".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM alerts WHERE state = 'suspected'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, verify).await,
        before + 1,
        "a 核查 task for the buyer"
    );
    let (_, html) = page_of(&app, "/alerts", &town).await;
    assert!(html.contains("同日多例"));
}

/// A multipart/form-data body with the CSRF token and the file.
fn upload(csrf: &str, file: &[u8]) -> (String, Vec<u8>) {
    let b = "----bihuanSentinelBoundary";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"purchases.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend(file);
    body.extend(format!("\r\n--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn an_office_file_loads_its_good_rows_and_the_day_comes_out_masked() {
    let app = spawn().await;
    pharmacy(&app).await;
    let clerk = app.sign_in_page("village", VILLAGE).await;
    let (_, html) = page_of(&app, "/pharmacy", &clerk).await;
    let csrf = csrf_of(&html);
    let row = |cells: &[&str]| cells.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let file = xlsx(&[
        row(&[
            "药店",
            "购药单号",
            "证件类型",
            "证件号码",
            "姓名",
            "手机号码",
            "健康码",
            "体温",
            "症状",
            "药品类别",
            "药品名称",
            "数量",
            "代购",
        ]),
        row(&[
            "康宁大药房",
            "F-1",
            "居民身份证",
            &resident_id(11),
            "赵六",
            "13900000011",
            "绿码",
            "",
            "",
            "止咳",
            "急支糖浆",
            "1",
            "否",
        ]),
        row(&[
            "康宁大药房",
            "F-2",
            "身份证",
            &resident_id(12),
            "钱七",
            "13900000012",
            "黄码",
            "38.2",
            "发热、咳嗽",
            "退热",
            "布洛芬",
            "2",
            "是",
        ]),
        // The same purchase's second drug, on a row of its own.
        row(&[
            "康宁大药房",
            "F-2",
            "身份证",
            &resident_id(12),
            "钱七",
            "13900000012",
            "黄码",
            "38.2",
            "发热、咳嗽",
            "止咳",
            "急支糖浆",
            "1",
            "是",
        ]),
        row(&[
            "康宁大药房",
            "F-3",
            "",
            &resident_id(13),
            "孙八",
            "12",
            "紫码",
            "",
            "",
            "糖果",
            "",
            "0",
            "",
        ]),
        row(&[
            "别家药房",
            "F-4",
            "",
            &resident_id(14),
            "周九",
            "13900000014",
            "绿码",
            "",
            "",
            "退热",
            "",
            "1",
            "",
        ]),
    ]);
    let (ct, body) = upload(&csrf, &file);
    let r = app
        .http
        .post(app.url("/pharmacy/import"))
        .header("cookie", &clerk)
        .header("content-type", ct.clone())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("已登记2条购药（其中1条需发热就诊转运）"),
        "{html}"
    );
    // Row numbers under the header, each reason by its column.
    assert!(
        html.contains("第 4 行") && html.contains("第 5 行"),
        "{html}"
    );
    assert!(html.contains("数量"), "qty named");
    assert!(html.contains("本辖区无此已审核药店"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        2
    );
    let row2 = sqlx::query(
        "SELECT symptoms, drugs, for_someone_else FROM pharmacy_purchases WHERE client_id LIKE '%:F-2'",
    )
    .fetch_one(app.services.db.pool())
    .await
    .unwrap();
    assert_eq!(row2.get::<String, _>(0), r#"["fever","cough"]"#);
    let drugs = row2.get::<String, _>(1);
    assert!(
        drugs.contains("antipyretic") && drugs.contains("antitussive"),
        "both rows' drugs in one purchase: {drugs}"
    );
    assert_eq!(row2.get::<i64, _>(2), 1);

    // The same file again: nothing stored twice.
    let (_, body) = upload(&csrf, &file);
    let r = app
        .http
        .post(app.url("/pharmacy/import"))
        .header("cookie", &clerk)
        .header("content-type", ct.clone())
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM pharmacy_purchases").await,
        2
    );

    // A grid worker is refused before the file is read.
    let worker = app
        .sign_in_page("grid_worker", &format!("{VILLAGE}001"))
        .await;
    let (_, body) = upload("x", &file);
    let r = app
        .http
        .post(app.url("/pharmacy/import"))
        .header("cookie", &worker)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The day's file: masked, watermarked, another day empty.
    let r = app
        .http
        .get(app.url("/pharmacy/purchases.xlsx?date=2022-01-28"))
        .header("cookie", &clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let sheet = bihuan::import::read_sheet(&bytes).unwrap().cells;
    assert_eq!(sheet[0][0], "时间");
    let text: String = sheet
        .iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("|");
    assert!(text.contains("钱*") && text.contains("赵*"), "{text}");
    assert!(!text.contains(&resident_id(12)), "no full document");
    assert!(text.contains("导出人"), "watermark");
    assert_eq!(sheet.len(), 1 + 2 + 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM events WHERE kind = 'pharmacy_purchases_exported'"
        )
        .await,
        1
    );
    let r = app
        .http
        .get(app.url("/pharmacy/purchases.xlsx?date=2022-02-30"))
        .header("cookie", &clerk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn a_surge_alert_shows_its_figures_and_the_buyers_behind_it_masked() {
    let app = spawn().await;
    let pharmacy = pharmacy(&app).await;
    let pos = app.services.add_api_token("pos", "pharmacy").await.unwrap();
    let buy = |n: u32| {
        json!({"pharmacy": pharmacy, "id_number": resident_id(n), "name": "吴十",
               "phone": format!("139{n:08}"), "health_code": "green",
               "drugs": [{"class": "antitussive", "qty": 1}]})
    };
    let mut n = 100;
    // Two purchases a day for 28 days, then twelve.
    for _ in 0..28 {
        for _ in 0..2 {
            n += 1;
            assert_eq!(
                app.post(&pos, "/api/v1/pharmacy-purchases", buy(n)).await.0,
                201
            );
        }
        app.advance_hours(24);
    }
    let first_of_spike = n + 1;
    for _ in 0..12 {
        n += 1;
        assert_eq!(
            app.post(&pos, "/api/v1/pharmacy-purchases", buy(n)).await.0,
            201
        );
    }
    app.advance_hours(24);
    let report = app.services.run_jobs().await.unwrap();
    assert_eq!(report.surge, Some(1), "{report:?}");

    let town = app.sign_in_page("town", &VILLAGE[..9]).await;
    let (s, html) = page_of(&app, "/alerts", &town).await;
    assert_eq!(s, 200);
    assert!(html.contains("药店购药激增"), "{html}");
    assert!(
        html.contains("当日12例，基线P90为2.0，稳健z值10.0"),
        "{html}"
    );
    // The twelve buyers of the day, masked; none of the days before.
    assert_eq!(html.matches("吴*").count(), 12, "{html}");
    assert!(!html.contains(&resident_id(first_of_spike)));
    let (_, html) = page_of(&app, "/alerts?lang=en", &town).await;
    assert!(html.contains("Pharmacy purchases surge"));
    assert!(html.contains("12 that day; baseline P90 2.0, robust z 10.0"));
}
