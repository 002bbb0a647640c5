//! Writing the spreadsheets government offices exchange.

use rust_xlsxwriter::{Format, Workbook};

use crate::error::{Error, Result};

/// One sheet, the first row bold; every cell text so codes keep their digits.
pub fn xlsx(sheet_name: &str, rows: &[Vec<String>]) -> Result<Vec<u8>> {
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

/// The same rows as CSV.
pub fn csv(rows: &[Vec<String>]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(row)
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

/// Several sheets; each sheet's first row bold.
pub fn workbook(sheets: &[(&str, Vec<Vec<Cell>>)]) -> Result<Vec<u8>> {
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
    }
    wb.save_to_buffer().map_err(fail)
}
