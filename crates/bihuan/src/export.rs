//! Writing the spreadsheets government offices exchange.

use rust_xlsxwriter::{Format, Workbook};

use crate::error::{Error, Result};

/// Whose export this is. Every file a person downloads ends with a line
/// naming them and the time (水印), so a leaked sheet says where it came
/// from; a machine feed (parsed by another system, each read audited) says
/// so explicitly and carries none.
#[derive(Debug, Clone, Copy)]
pub enum Mark<'a> {
    By { who: &'a str, at: i64 },
    MachineFeed,
}

impl Mark<'_> {
    pub fn line(&self) -> Option<String> {
        let when = |at: i64| {
            chrono::DateTime::from_timestamp(at, 0)
                .map(|t| {
                    crate::clock::shanghai(t)
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default()
        };
        match self {
            Mark::By { who, at } => Some(format!(
                "导出人：{who}　导出时间：{}　仅限疫情防控工作使用",
                when(*at)
            )),
            Mark::MachineFeed => None,
        }
    }
}

fn marked(rows: &[Vec<String>], mark: Mark<'_>) -> Vec<Vec<String>> {
    let mut out = rows.to_vec();
    if let Some(line) = mark.line() {
        out.push(vec![line]);
    }
    out
}

/// One sheet, the first row bold; every cell text so codes keep their digits;
/// the watermark, if any, as the last row.
pub fn xlsx(sheet_name: &str, rows: &[Vec<String>], mark: Mark<'_>) -> Result<Vec<u8>> {
    let rows = marked(rows, mark);
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    let fail = |e: rust_xlsxwriter::XlsxError| Error::Internal(e.to_string());
    sheet.set_name(sheet_name).map_err(fail)?;
    let bold = Format::new().set_bold();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            if r == 0 {
                sheet
                    .write_string_with_format(r, c, cell, &bold)
                    .map_err(fail)?;
            } else {
                sheet.write_string(r, c, cell).map_err(fail)?;
            }
        }
    }
    wb.save_to_buffer().map_err(fail)
}

/// A cell as a spreadsheet may safely open it: text starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return would be read as a formula (CSV
/// injection: `=HYPERLINK(…)` from a public form), so it gets a leading `'`
/// (OWASP's advice), which Excel and WPS show as text.
pub fn neutralised(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// The same rows as CSV, every cell [`neutralised`]. Every CSV the server
/// answers goes through here.
pub fn csv(rows: &[Vec<String>], mark: Mark<'_>) -> Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for row in &marked(rows, mark) {
        w.write_record(row.iter().map(|c| neutralised(c).into_owned()))
            .map_err(|e| Error::Internal(e.to_string()))?;
    }
    w.into_inner().map_err(|e| Error::Internal(e.to_string()))
}

/// A cell of a workbook with several sheets: text, a number, or nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// Several sheets; each sheet's first row bold, the watermark (if any) as
/// the last row of each.
pub fn workbook(sheets: &[(&str, Vec<Vec<Cell>>)], mark: Mark<'_>) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let fail = |e: rust_xlsxwriter::XlsxError| Error::Internal(e.to_string());
    let bold = Format::new().set_bold();
    for (name, rows) in sheets {
        let sheet = wb.add_worksheet();
        sheet.set_name(*name).map_err(fail)?;
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match cell {
                    Cell::Text(s) if r == 0 => sheet
                        .write_string_with_format(r, c, s, &bold)
                        .map_err(fail)?,
                    Cell::Text(s) => sheet.write_string(r, c, s).map_err(fail)?,
                    Cell::Number(n) => sheet.write_number(r, c, *n).map_err(fail)?,
                    Cell::Empty => continue,
                };
            }
        }
        if let Some(line) = mark.line() {
            sheet
                .write_string(rows.len() as u32, 0, &line)
                .map_err(fail)?;
        }
    }
    wb.save_to_buffer().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_s_export_ends_with_who_and_when_and_a_feed_does_not() {
        let rows = vec![
            vec!["a".to_string(), "b".to_string()],
            vec!["1".into(), "2".into()],
        ];
        let by = Mark::By {
            who: "张三",
            at: 1_643_335_200,
        };
        let text = String::from_utf8(csv(&rows, by).unwrap()).unwrap();
        let last = text.lines().last().unwrap();
        assert_eq!(
            last,
            "导出人：张三　导出时间：2022-01-28 10:00　仅限疫情防控工作使用"
        );
        assert_eq!(text.lines().next(), Some("a,b"), "the header stays first");
        let feed = String::from_utf8(csv(&rows, Mark::MachineFeed).unwrap()).unwrap();
        assert_eq!(feed, "a,b\n1,2\n");
        assert!(!xlsx("s", &rows, by).unwrap().is_empty());
    }

    #[test]
    fn a_cell_that_would_be_a_formula_is_written_as_text() {
        let hostile = [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ];
        let rows = vec![
            vec!["name".to_string()],
            hostile.iter().map(|s| s.to_string()).collect(),
            vec!["张=三".into(), "a-b".into(), String::new(), "'x".into()],
        ];
        let text = String::from_utf8(csv(&rows, Mark::MachineFeed).unwrap()).unwrap();
        let mut r = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let read: Vec<Vec<String>> = r
            .records()
            .map(|x| x.unwrap().iter().map(String::from).collect())
            .collect();
        for (cell, original) in read[1].iter().zip(hostile) {
            assert_eq!(cell, &format!("'{original}"), "{original:?}");
        }
        assert_eq!(read[2], ["张=三", "a-b", "", "'x"], "others as they were");
        assert_eq!(read[0], ["name"]);
    }
}
