//! Reading the spreadsheets government offices exchange: .xlsx and .csv, with
//! a header row whose names may be English or Chinese.

use std::collections::HashMap;
use std::path::Path;

use calamine::{Data, Reader, open_workbook_auto};

/// Rows as maps from the canonical column name to the cell's text.
pub struct Table {
    pub rows: Vec<HashMap<String, String>>,
}

/// Reads the first sheet of an .xlsx/.xls/.ods file, or a UTF-8 CSV file.
/// `aliases` maps each accepted header (lower-cased) to its canonical name;
/// every name in `required` must be among the headers.
pub fn read_table(
    path: &Path,
    aliases: &[(&str, &str)],
    required: &[&str],
) -> anyhow::Result<Table> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let grid: Vec<Vec<String>> = if ext == "csv" {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(path)?;
        r.records()
            .map(|rec| {
                Ok(rec?
                    .iter()
                    .map(|s| s.trim_start_matches('\u{feff}').to_string())
                    .collect())
            })
            .collect::<anyhow::Result<_>>()?
    } else {
        let mut wb = open_workbook_auto(path)?;
        let range = wb
            .worksheet_range_at(0)
            .ok_or_else(|| anyhow::anyhow!("the workbook has no sheet"))??;
        range
            .rows()
            .map(|row| row.iter().map(cell_text).collect())
            .collect()
    };
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

/// Codes typed into Excel come back as numbers; dates as serial days.
fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d
            .as_datetime()
            .map(|t| t.date().to_string())
            .unwrap_or_default(),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
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

pub fn grid_rows(path: &Path) -> anyhow::Result<Vec<crate::usecases::regions::GridRow>> {
    let t = read_table(path, GRID_COLUMNS, &["village", "grid", "name"])?;
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
    path: &Path,
) -> anyhow::Result<Vec<crate::usecases::risk_areas::RiskAreaInput>> {
    let t = read_table(path, RISK_AREA_COLUMNS, &["county", "level", "since"])?;
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
