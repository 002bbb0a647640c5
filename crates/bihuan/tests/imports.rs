//! Real .xlsx and .csv files in, row-by-row reports out; repeating an import
//! changes nothing.

mod support;

use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};
use support::{declaration, spawn};

fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            // Codes typed by hand into Excel arrive as numbers.
            if !cell.is_empty() && cell.bytes().all(|b| b.is_ascii_digit()) && cell.len() < 15 {
                sheet
                    .write_number(r as u32, c as u16, cell.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                sheet.write_string(r as u32, c as u16, *cell).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn risk_areas_from_an_xlsx_file_reassess_once() {
    let app = spawn().await;
    let mut body = declaration();
    body["origin"] =
        json!({"county": "110106", "township": "110106001", "departed_on": "2022-01-27"});
    let (_, d) = app.declare(body).await;
    assert_eq!(d["assessment"]["category"], "out_of_province");
    let command = app.login_as("command", "330784").await;
    let file = xlsx(&[
        &["县区编码", "乡镇街道编码", "小区", "风险等级", "起始日期"],
        &["110106", "110106003", "", "中", "2022-01-15"],
        &["110106", "110106001", "某小区", "高风险", "2022-01-20"],
        &["999999", "", "", "中", "2022-01-20"],
        &["420106", "", "", "低", "2022-02-30"],
    ]);
    let post = |bytes: Vec<u8>| {
        app.http
            .post(app.url("/api/v1/risk-areas/import"))
            .bearer_auth(&command)
            .body(bytes)
            .send()
    };
    let r = post(file.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["added"], 2);
    assert_eq!(report["raised"], 1);
    let rows = report["rows"].as_array().unwrap();
    assert!(rows[0]["errors"].as_array().unwrap().is_empty());
    assert_eq!(rows[2]["errors"][0]["field"], "county");
    let bad: Vec<&str> = rows[3]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(bad, ["level", "since"]);
    let (_, p) = app
        .get(&command, &format!("/api/v1/persons/{}", d["person_id"]))
        .await;
    assert_eq!(p["control"]["category"], "risk_street");

    // The same file again adds nothing and raises nobody.
    let again: Value = post(file).await.unwrap().json().await.unwrap();
    assert_eq!(
        (again["added"].as_i64(), again["raised"].as_i64()),
        (Some(0), Some(0))
    );
    let (_, list) = app.get(&command, "/api/v1/risk-areas").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["subarea"], "某小区");
    assert_eq!(list[1]["level"], "high");

    // CSV works too; a file that is not a table is refused whole.
    let csv = "county,township,level,since\n420106,,high,2022-01-25\n";
    let r: Value = post(csv.as_bytes().to_vec())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["added"], 1);
    let r = post(b"\x00\x01garbage".to_vec()).await.unwrap();
    assert_eq!(r.status(), 422);
    // Only the command imports.
    let town = app.login_as("town", "330784001").await;
    let r = app
        .http
        .post(app.url("/api/v1/risk-areas/import"))
        .bearer_auth(&town)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn grids_are_replaced_from_a_file() {
    let app = spawn().await;
    let file = xlsx(&[
        &["村社区编码", "网格编码", "网格名称"],
        &["330784001001", "330784001001001", "园丁一网格"],
        &["330784001001", "330784001001002", "园丁二网格"],
        &["330784001002", "330784001002005", "卫星五网格"],
    ]);
    let rows = bihuan::import::grid_rows(&file).unwrap();
    let report = app.services.import_grids(rows.clone()).await.unwrap();
    assert_eq!((report.villages, report.grids), (2, 3));
    let (_, v) = app.get("", "/api/v1/regions/330784001001").await;
    let names: Vec<&str> = v["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["园丁一网格", "园丁二网格"]);
    let (_, v) = app.get("", "/api/v1/regions/330784001002").await;
    assert_eq!(v["children"][0]["code"], "330784001002005");
    // Repeating the import gives the same tree.
    app.services.import_grids(rows).await.unwrap();
    let (_, again) = app.get("", "/api/v1/regions/330784001002").await;
    assert_eq!(again["children"].as_array().unwrap().len(), 1);

    // A grid outside its village, or an unknown village, refuses the whole file.
    let bad = "village,grid,name\n330784001001,330784002001001,错位\n330784999999,330784999999001,无此村\n";
    let e = app
        .services
        .import_grids(bihuan::import::grid_rows(bad.as_bytes()).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, bihuan::error::Error::Invalid(_)), "{e}");
    let (_, v) = app.get("", "/api/v1/regions/330784001001").await;
    assert_eq!(v["children"].as_array().unwrap().len(), 2, "unchanged");

    // A grid that still holds people cannot be removed.
    let (s, _) = app.declare(declaration()).await;
    assert_eq!(s, 201);
    let drop_first = "village,grid,name\n330784001001,330784001001009,新网格\n";
    let e = app
        .services
        .import_grids(bihuan::import::grid_rows(drop_first.as_bytes()).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, bihuan::error::Error::Conflict(_)), "{e}");
}

#[tokio::test]
async fn a_risk_area_since_with_a_time_of_day_is_cut_to_the_date() {
    let app = spawn().await;
    let command = app.login_as("command", "330784").await;
    let csv = "县区编码,风险等级,起始日期\n110106,高,2022-01-20 00:00:00\n420106,中,2022-01-18T08:30\n110106,中,2022-01-18 nope\n";
    let r = app
        .http
        .post(app.url("/api/v1/risk-areas/import"))
        .bearer_auth(&command)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["added"], 2, "{report}");
    assert_eq!(report["rows"][2]["errors"][0]["field"], "since", "{report}");
    let (_, areas) = app.get(&command, "/api/v1/risk-areas").await;
    let mut since: Vec<&str> = areas
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["since"].as_str().unwrap())
        .collect();
    since.sort();
    assert_eq!(since, ["2022-01-18", "2022-01-20"], "{areas}");
}
