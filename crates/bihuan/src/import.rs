//! Reading the spreadsheets government offices exchange: .xlsx and .csv, with
//! a header row whose names may be English or Chinese. Bytes in, rows out:
//! the CLI reads files, the API takes request bodies.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader, open_workbook_auto_from_rs};

/// Rows as maps from the canonical column name to the cell's text.
pub struct Table {
    pub rows: Vec<HashMap<String, String>>,
}

/// A spreadsheet file's bytes: .xlsx (a zip, starting `PK`), .xls/.ods, or
/// else UTF-8 CSV.
pub fn read_table(
    bytes: &[u8],
    aliases: &[(&str, &str)],
    required: &[&str],
) -> anyhow::Result<Table> {
    let grid = read_sheet(bytes)?.cells;
    let mut lines = grid.into_iter();
    let header: Vec<Option<String>> = lines
        .next()
        .unwrap_or_default()
        .iter()
        .map(|h| {
            let h = h.trim().to_lowercase();
            aliases
                .iter()
                .find(|(alias, _)| *alias == h)
                .map(|(_, canonical)| canonical.to_string())
        })
        .collect();
    for canonical in required {
        if !header.iter().flatten().any(|h| h == canonical) {
            anyhow::bail!("missing column {canonical}");
        }
    }
    let rows = lines
        .filter(|l| l.iter().any(|c| !c.trim().is_empty()))
        .map(|l| {
            header
                .iter()
                .zip(l)
                .filter_map(|(h, v)| h.as_ref().map(|h| (h.clone(), v.trim().to_string())))
                .collect()
        })
        .collect();
    Ok(Table { rows })
}

/// A file's format as received, so an answer can go back in the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "xlsx" => Some(Format::Xlsx),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// The first sheet's cells as text, the header row included.
pub struct Sheet {
    pub format: Format,
    pub cells: Vec<Vec<String>>,
}

/// A spreadsheet's cells: .xlsx (and .xls/.ods, answered as .xlsx), or
/// UTF-8 CSV. Anything else (an image, a PDF, a Word file) is an error.
pub fn read_sheet(bytes: &[u8]) -> anyhow::Result<Sheet> {
    let is_workbook = bytes.starts_with(b"PK") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
    if is_workbook {
        let mut wb = open_workbook_auto_from_rs(Cursor::new(bytes))?;
        let range = wb
            .worksheet_range_at(0)
            .ok_or_else(|| anyhow::anyhow!("the workbook has no sheet"))??;
        let cells = range
            .rows()
            .map(|row| row.iter().map(cell_text).collect())
            .collect();
        return Ok(Sheet {
            format: Format::Xlsx,
            cells,
        });
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| anyhow::anyhow!("a CSV file must be UTF-8"))?;
    if text.contains('\0') {
        anyhow::bail!("not a spreadsheet or CSV file");
    }
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let cells = r
        .records()
        .map(|rec| Ok(rec?.iter().map(str::to_string).collect()))
        .collect::<anyhow::Result<_>>()?;
    Ok(Sheet {
        format: Format::Csv,
        cells,
    })
}

/// Codes typed into Excel come back as numbers; dates as serial days.
fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        // A date stays a date; a date-time keeps its time of day (a 协查
        // deadline typed as 2022-01-29 18:00), to the nearest second.
        Data::DateTime(d) => d
            .as_datetime()
            .map(|t| {
                let ms = t.and_utc().timestamp_millis() + 500;
                chrono::DateTime::from_timestamp(ms.div_euclid(1000), 0)
                    .map(|t| t.naive_utc())
                    .unwrap_or(t)
            })
            .map(|t| {
                if t.time() == chrono::NaiveTime::MIN {
                    t.date().to_string()
                } else {
                    t.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            })
            .unwrap_or_default(),
        Data::DateTimeIso(s) => {
            let s = s.replace('T', " ");
            match s.get(10..) {
                Some(time) if !time.trim().is_empty() && time.trim() != "00:00:00" => {
                    s.chars().take(19).collect()
                }
                _ => s.chars().take(10).collect(),
            }
        }
        other => other.to_string(),
    }
}

pub const GRID_COLUMNS: &[(&str, &str)] = &[
    ("village", "village"),
    ("村社区编码", "village"),
    ("grid", "grid"),
    ("网格编码", "grid"),
    ("name", "name"),
    ("网格名称", "name"),
];

pub const RISK_AREA_COLUMNS: &[(&str, &str)] = &[
    ("county", "county"),
    ("县区编码", "county"),
    ("township", "township"),
    ("乡镇街道编码", "township"),
    ("subarea", "subarea"),
    ("小区", "subarea"),
    ("level", "level"),
    ("风险等级", "level"),
    ("since", "since"),
    ("起始日期", "since"),
];

pub fn grid_rows(bytes: &[u8]) -> anyhow::Result<Vec<crate::usecases::regions::GridRow>> {
    let t = read_table(bytes, GRID_COLUMNS, &["village", "grid", "name"])?;
    Ok(t.rows
        .into_iter()
        .map(|mut r| crate::usecases::regions::GridRow {
            village: r.remove("village").unwrap_or_default(),
            grid: r.remove("grid").unwrap_or_default(),
            name: r.remove("name").unwrap_or_default(),
        })
        .collect())
}

pub fn risk_area_rows(
    bytes: &[u8],
) -> anyhow::Result<Vec<crate::usecases::risk_areas::RiskAreaInput>> {
    let t = read_table(bytes, RISK_AREA_COLUMNS, &["county", "level", "since"])?;
    Ok(t.rows
        .into_iter()
        .map(|mut r| {
            let level = r.remove("level").unwrap_or_default();
            crate::usecases::risk_areas::RiskAreaInput {
                county: r.remove("county").unwrap_or_default(),
                township: r.remove("township").filter(|s| !s.is_empty()),
                subarea: r.remove("subarea").filter(|s| !s.is_empty()),
                level: match level.as_str() {
                    "高" | "高风险" => "high".into(),
                    "中" | "中风险" => "medium".into(),
                    other => other.to_lowercase(),
                },
                since: r.remove("since").unwrap_or_default(),
            }
        })
        .collect())
}

pub const LAB_RESULT_COLUMNS: &[(&str, &str)] = &[
    ("barcode", "barcode"),
    ("条码", "barcode"),
    ("试管条码", "barcode"),
    ("result", "result"),
    ("结果", "result"),
    ("检测结果", "result"),
    ("ct", "ct"),
    ("ct值", "ct"),
    ("tested_at", "tested_at"),
    ("检测时间", "tested_at"),
];

/// Lab result rows; 阴性/阳性/无效 are accepted for the result.
pub fn lab_result_rows(
    bytes: &[u8],
) -> anyhow::Result<Vec<crate::usecases::testing::LabResultInput>> {
    let t = read_table(
        bytes,
        LAB_RESULT_COLUMNS,
        &["barcode", "result", "tested_at"],
    )?;
    Ok(t.rows
        .into_iter()
        .map(|mut r| {
            let result = r.remove("result").unwrap_or_default();
            crate::usecases::testing::LabResultInput {
                barcode: r.remove("barcode").unwrap_or_default(),
                result: match result.as_str() {
                    "阴性" => "negative".into(),
                    "阳性" => "positive".into(),
                    "无效" => "invalid".into(),
                    other => other.to_lowercase(),
                },
                ct: r.remove("ct").filter(|s| !s.is_empty()),
                tested_at: r.remove("tested_at").unwrap_or_default(),
            }
        })
        .collect())
}

pub const RESIDENT_COLUMNS: &[(&str, &str)] = &[
    ("grid", "grid"),
    ("网格编码", "grid"),
    ("id_type", "id_type"),
    ("证件类型", "id_type"),
    ("id_number", "id_number"),
    ("证件号码", "id_number"),
    ("身份证号", "id_number"),
    ("name", "name"),
    ("姓名", "name"),
    ("phone", "phone"),
    ("手机号码", "phone"),
    ("address", "address"),
    ("住址", "address"),
    ("地址", "address"),
    ("家庭住址", "address"),
];

pub fn resident_rows(bytes: &[u8]) -> anyhow::Result<Vec<crate::usecases::rounds::ResidentInput>> {
    let t = read_table(bytes, RESIDENT_COLUMNS, &["grid", "id_number", "name"])?;
    Ok(t.rows
        .into_iter()
        .map(|mut r| crate::usecases::rounds::ResidentInput {
            grid: r.remove("grid").unwrap_or_default(),
            id_type: r.remove("id_type").filter(|s| !s.is_empty()),
            id_number: r.remove("id_number").unwrap_or_default(),
            name: r.remove("name").unwrap_or_default(),
            phone: r.remove("phone").filter(|s| !s.is_empty()),
            address: r.remove("address").filter(|s| !s.is_empty()),
        })
        .collect())
}

pub const ROSTER_COLUMNS: &[(&str, &str)] = &[
    ("employer", "employer"),
    ("单位名称", "employer"),
    ("grid", "grid"),
    ("网格编码", "grid"),
    ("industry", "industry"),
    ("行业", "industry"),
    ("id_type", "id_type"),
    ("证件类型", "id_type"),
    ("id_number", "id_number"),
    ("证件号码", "id_number"),
    ("身份证号", "id_number"),
    ("name", "name"),
    ("姓名", "name"),
    ("phone", "phone"),
    ("手机号码", "phone"),
];

pub fn roster_rows(bytes: &[u8]) -> anyhow::Result<Vec<crate::usecases::rolling::RosterInput>> {
    let t = read_table(
        bytes,
        ROSTER_COLUMNS,
        &["employer", "grid", "industry", "id_number", "name"],
    )?;
    Ok(t.rows
        .into_iter()
        .map(|mut r| crate::usecases::rolling::RosterInput {
            employer: r.remove("employer").unwrap_or_default(),
            grid: r.remove("grid").unwrap_or_default(),
            industry: r.remove("industry").unwrap_or_default(),
            id_type: r.remove("id_type").filter(|s| !s.is_empty()),
            id_number: r.remove("id_number").unwrap_or_default(),
            name: r.remove("name").unwrap_or_default(),
            phone: r.remove("phone").filter(|s| !s.is_empty()),
        })
        .collect())
}
