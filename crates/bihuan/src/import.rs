//! Reading the spreadsheets government offices exchange: .xlsx and .csv, with
//! a header row whose names may be English or Chinese. Bytes in, rows out:
//! the CLI reads files, the API takes request bodies.
//!
//! Every file is read within bounds (the constants below) before anything
//! is built from it: an .xlsx is a zip whose entries are inflated through a
//! byte cap (declared sizes may lie), and its cells are streamed, so a sheet
//! with one cell at A1 and one at XFD1048576 is refused instead of becoming a
//! rows × columns grid. Requests parse through [`parse_off_thread`]: on the
//! blocking pool, a few at a time.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::time::Duration;

use calamine::{DataRef, Reader, Xlsx};

use crate::error::Error;

/// Inflated bytes of all an .xlsx's zip entries together.
pub const MAX_UNZIPPED_BYTES: u64 = 64 * 1024 * 1024;
/// Entries in an .xlsx's zip.
pub const MAX_ZIP_ENTRIES: usize = 1_000;
/// Rows of a sheet (the header row included).
pub const MAX_SHEET_ROWS: usize = 100_000;
/// Columns of a sheet.
pub const MAX_SHEET_COLUMNS: usize = 200;
/// Cells of the grid a sheet becomes (last used row × last used column).
pub const MAX_SHEET_CELLS: usize = 2_000_000;
/// Characters of one cell (Excel's own limit).
pub const MAX_CELL_CHARS: usize = 32_767;
/// Files parsed at the same time; more wait up to [`PARSE_WAIT`], then 503.
pub const PARSE_PERMITS: usize = 2;
pub const PARSE_WAIT: Duration = Duration::from_secs(10);

static PARSERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(PARSE_PERMITS);

/// Runs `parse` over an upload's bytes on the blocking pool, at most
/// [`PARSE_PERMITS`] at a time. The outer error is the server's (busy: 503);
/// the inner one is the file's, for the caller to word.
pub async fn parse_off_thread<B, T, F>(bytes: B, parse: F) -> Result<anyhow::Result<T>, Error>
where
    B: AsRef<[u8]> + Send + 'static,
    T: Send + 'static,
    F: FnOnce(&[u8]) -> anyhow::Result<T> + Send + 'static,
{
    run_permitted(&PARSERS, PARSE_WAIT, move || parse(bytes.as_ref()))
        .await?
        .map_err(|e| Error::Internal(format!("parsing a file: {e}")))
}

/// Runs `job` on the blocking pool under one of `permits`, waiting for it
/// at most `wait` (then [`Error::Busy`]). The permit moves into the job:
/// it is held until the job ends, even when the request that started it is
/// cancelled (a client gone, a timeout) — dropping the future cannot start
/// more jobs than there are permits.
pub async fn run_permitted<T, F>(
    permits: &'static tokio::sync::Semaphore,
    wait: Duration,
    job: F,
) -> Result<Result<T, tokio::task::JoinError>, Error>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let permit = match tokio::time::timeout(wait, permits.acquire()).await {
        Ok(Ok(p)) => p,
        _ => return Err(Error::Busy),
    };
    Ok(tokio::task::spawn_blocking(move || {
        let _permit = permit;
        job()
    })
    .await)
}

/// The same, for the request handlers that turn a file into rows: a file
/// that cannot be read is a 422 on the `file` field.
pub async fn rows_off_thread<B, T, F>(bytes: B, parse: F) -> Result<T, Error>
where
    B: AsRef<[u8]> + Send + 'static,
    T: Send + 'static,
    F: FnOnce(&[u8]) -> anyhow::Result<T> + Send + 'static,
{
    parse_off_thread(bytes, parse)
        .await?
        .map_err(|e| Error::field("file", "file", "无法读取表格文件", &e.to_string()))
}

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
#[derive(Debug)]
pub struct Sheet {
    pub format: Format,
    pub cells: Vec<Vec<String>>,
}

/// A spreadsheet's cells: .xlsx, or UTF-8 CSV, within the limits above.
/// Anything else (an old .xls, an image, a PDF, a Word file) is an error.
pub fn read_sheet(bytes: &[u8]) -> anyhow::Result<Sheet> {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        anyhow::bail!("an old .xls workbook: save it as .xlsx");
    }
    if bytes.starts_with(b"PK") {
        return Ok(Sheet {
            format: Format::Xlsx,
            cells: read_xlsx(bytes)?,
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
    let mut cells = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        anyhow::ensure!(
            cells.len() < MAX_SHEET_ROWS,
            "more than {MAX_SHEET_ROWS} rows"
        );
        anyhow::ensure!(
            rec.len() <= MAX_SHEET_COLUMNS,
            "more than {MAX_SHEET_COLUMNS} columns"
        );
        let row: Vec<String> = rec.iter().map(str::to_string).collect();
        for c in &row {
            check_cell(c)?;
        }
        cells.push(row);
    }
    Ok(Sheet {
        format: Format::Csv,
        cells,
    })
}

fn check_cell(c: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        c.len() <= MAX_CELL_CHARS * 4 && c.chars().count() <= MAX_CELL_CHARS,
        "a cell longer than {MAX_CELL_CHARS} characters"
    );
    anyhow::ensure!(!c.contains('\0'), "a cell holds a NUL character");
    Ok(())
}

/// Inflates every entry of the zip through a cap, counting what actually
/// comes out (a zip's declared sizes may lie).
fn check_zip(bytes: &[u8]) -> anyhow::Result<()> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))?;
    anyhow::ensure!(
        zip.len() <= MAX_ZIP_ENTRIES,
        "more than {MAX_ZIP_ENTRIES} parts in the workbook"
    );
    let mut left = MAX_UNZIPPED_BYTES;
    for i in 0..zip.len() {
        let entry = zip.by_index(i)?;
        let read = std::io::copy(&mut entry.take(left + 1), &mut std::io::sink())?;
        anyhow::ensure!(
            read <= left,
            "the workbook inflates past {} MB",
            MAX_UNZIPPED_BYTES / 1024 / 1024
        );
        left -= read;
    }
    Ok(())
}

/// The first sheet's cells, streamed: each cell's position is checked
/// before the grid exists, and the grid is only as large as the cells used.
fn read_xlsx(bytes: &[u8]) -> anyhow::Result<Vec<Vec<String>>> {
    check_zip(bytes)?;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes))?;
    let name = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the workbook has no sheet"))?;
    let mut reader = wb.worksheet_cells_reader(&name)?;
    let mut used: Vec<((usize, usize), String)> = Vec::new();
    // The grid starts at the first used row and column, as a range would.
    let (mut first, mut end) = ((usize::MAX, usize::MAX), (0usize, 0usize));
    while let Some(cell) = reader.next_cell()? {
        let (r, c) = cell.get_position();
        let (r, c) = (r as usize, c as usize);
        anyhow::ensure!(r < MAX_SHEET_ROWS, "more than {MAX_SHEET_ROWS} rows");
        anyhow::ensure!(
            c < MAX_SHEET_COLUMNS,
            "more than {MAX_SHEET_COLUMNS} columns"
        );
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        check_cell(&text)?;
        first = (first.0.min(r), first.1.min(c));
        end = (end.0.max(r + 1), end.1.max(c + 1));
        anyhow::ensure!(
            (end.0 - first.0).saturating_mul(end.1 - first.1) <= MAX_SHEET_CELLS,
            "more than {MAX_SHEET_CELLS} cells"
        );
        used.push(((r, c), text));
    }
    if used.is_empty() {
        return Ok(Vec::new());
    }
    let mut grid = vec![vec![String::new(); end.1 - first.1]; end.0 - first.0];
    for ((r, c), text) in used {
        grid[r - first.0][c - first.1] = text;
    }
    Ok(grid)
}

/// Codes typed into Excel come back as numbers; dates as serial days.
fn cell_text(c: &DataRef) -> String {
    match c {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Bool(b) => b.to_string(),
        // A date stays a date; a date-time keeps its time of day (a 协查
        // deadline typed as 2022-01-29 18:00), to the nearest second.
        DataRef::DateTime(d) => d
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
        DataRef::DateTimeIso(s) => {
            let s = s.replace('T', " ");
            match s.get(10..) {
                Some(time) if !time.trim().is_empty() && time.trim() != "00:00:00" => {
                    s.chars().take(19).collect()
                }
                _ => s.chars().take(10).collect(),
            }
        }
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
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

/// Columns of a goods-batch file (人物同防), in English or Chinese.
pub const BATCH_COLUMNS: &[(&str, &str)] = &[
    ("trace_code", "trace_code"),
    ("追溯码", "trace_code"),
    ("product", "product"),
    ("品名", "product"),
    ("origin", "origin"),
    ("来源地", "origin"),
    ("holder", "holder"),
    ("持有单位", "holder"),
    ("grid", "grid"),
    ("网格编码", "grid"),
    ("quantity", "quantity"),
    ("数量", "quantity"),
    ("inspection", "inspection"),
    ("检疫证明", "inspection"),
    ("nucleic_acid", "nucleic_acid"),
    ("核酸证明", "nucleic_acid"),
    ("disinfection", "disinfection"),
    ("消杀证明", "disinfection"),
];

pub fn batch_rows(bytes: &[u8]) -> anyhow::Result<Vec<crate::usecases::goods::BatchFileRow>> {
    let t = read_table(
        bytes,
        BATCH_COLUMNS,
        &[
            "trace_code",
            "product",
            "origin",
            "holder",
            "grid",
            "quantity",
        ],
    )?;
    Ok(t.rows
        .into_iter()
        .map(|mut r| {
            let mut take = |k: &str| r.remove(k).unwrap_or_default();
            crate::usecases::goods::BatchFileRow {
                trace_code: take("trace_code"),
                product: take("product"),
                origin: take("origin"),
                holder: take("holder"),
                grid: take("grid"),
                quantity: take("quantity"),
                inspection: take("inspection"),
                nucleic_acid: take("nucleic_acid"),
                disinfection: take("disinfection"),
            }
        })
        .collect())
}

/// Columns of a pharmacy purchase file (药店哨点), one drug a row.
pub const PURCHASE_COLUMNS: &[(&str, &str)] = &[
    ("pharmacy", "pharmacy"),
    ("药店", "pharmacy"),
    ("药店名称", "pharmacy"),
    ("purchase_id", "purchase_id"),
    ("购药单号", "purchase_id"),
    ("id_type", "id_type"),
    ("证件类型", "id_type"),
    ("id_number", "id_number"),
    ("证件号码", "id_number"),
    ("身份证号", "id_number"),
    ("name", "name"),
    ("姓名", "name"),
    ("phone", "phone"),
    ("手机号码", "phone"),
    ("health_code", "health_code"),
    ("健康码", "health_code"),
    ("temperature", "temperature"),
    ("体温", "temperature"),
    ("symptoms", "symptoms"),
    ("症状", "symptoms"),
    ("drug_class", "drug_class"),
    ("药品类别", "drug_class"),
    ("drug_name", "drug_name"),
    ("药品名称", "drug_name"),
    ("qty", "qty"),
    ("数量", "qty"),
    ("for_someone_else", "for_someone_else"),
    ("代购", "for_someone_else"),
];

pub fn purchase_rows(
    bytes: &[u8],
) -> anyhow::Result<Vec<crate::usecases::pharmacy::PurchaseFileRow>> {
    let t = read_table(
        bytes,
        PURCHASE_COLUMNS,
        &[
            "pharmacy",
            "id_number",
            "name",
            "phone",
            "health_code",
            "drug_class",
            "qty",
        ],
    )?;
    Ok(t.rows
        .into_iter()
        .map(|mut r| {
            let mut take = |k: &str| r.remove(k).unwrap_or_default();
            crate::usecases::pharmacy::PurchaseFileRow {
                pharmacy: take("pharmacy"),
                purchase_id: take("purchase_id"),
                id_type: take("id_type"),
                id_number: take("id_number"),
                name: take("name"),
                phone: take("phone"),
                health_code: take("health_code"),
                temperature: take("temperature"),
                symptoms: take("symptoms"),
                drug_class: take("drug_class"),
                drug_name: take("drug_name"),
                qty: take("qty"),
                for_someone_else: take("for_someone_else"),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xlsx(cells: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (r, c, v) in cells {
            ws.write_string(*r, *c, *v).unwrap();
        }
        wb.save_to_buffer().unwrap()
    }

    #[tokio::test]
    async fn a_cancelled_request_keeps_its_permit_until_the_job_ends() {
        static ONE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
        let (started, is_started) = tokio::sync::oneshot::channel::<()>();
        let (finish, may_finish) = std::sync::mpsc::channel::<()>();
        let request = tokio::spawn(run_permitted(&ONE, PARSE_WAIT, move || {
            started.send(()).unwrap();
            may_finish.recv().unwrap();
        }));
        is_started.await.unwrap();
        // The client goes away: the request's future is dropped.
        request.abort();
        assert!(request.await.unwrap_err().is_cancelled());
        // The job still runs, so its permit is still taken.
        assert_eq!(ONE.available_permits(), 0);
        assert!(ONE.try_acquire().is_err());
        // Once it ends, the permit comes back.
        finish.send(()).unwrap();
        drop(ONE.acquire().await.unwrap());
        assert_eq!(ONE.available_permits(), 1);
    }

    #[test]
    fn a_sheet_is_read_from_its_first_used_cell() {
        let s = read_sheet(&xlsx(&[(1, 1, "a"), (1, 2, "b"), (3, 1, "1")])).unwrap();
        assert_eq!(s.format, Format::Xlsx);
        assert_eq!(
            s.cells,
            vec![
                vec!["a".to_string(), "b".into()],
                vec![String::new(), String::new()],
                vec!["1".into(), String::new()],
            ]
        );
    }

    #[test]
    fn sparse_and_oversized_sheets_are_refused_before_a_grid_exists() {
        assert!(read_sheet(&xlsx(&[(0, 0, "a"), (1_048_575, 16_383, "b")])).is_err());
        let far = read_sheet(&xlsx(&[(0, 0, "a"), (0, 16_383, "b")]));
        assert!(far.unwrap_err().to_string().contains("columns"));
        let deep = read_sheet(&xlsx(&[(0, 0, "a"), (MAX_SHEET_ROWS as u32, 0, "b")]));
        assert!(deep.unwrap_err().to_string().contains("rows"));
        let big = (MAX_SHEET_CELLS / (MAX_SHEET_COLUMNS - 1) + 1) as u32;
        let area = read_sheet(&xlsx(&[
            (0, 0, "a"),
            (big, (MAX_SHEET_COLUMNS - 1) as u16, "b"),
        ]));
        assert!(area.unwrap_err().to_string().contains("cells"));
        assert!(
            read_sheet(&[0xD0, 0xCF, 0x11, 0xE0, 0, 0]).is_err(),
            "old .xls"
        );
    }

    #[test]
    fn a_workbook_that_inflates_past_the_cap_is_refused() {
        use std::io::Write;
        let plain = xlsx(&[(0, 0, "a")]);
        assert!(read_sheet(&plain).is_ok());
        let mut src = zip::ZipArchive::new(Cursor::new(plain)).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..src.len() {
            out.raw_copy_file(src.by_index(i).unwrap()).unwrap();
        }
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        out.start_file("xl/media/pad.bin", opts).unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..=MAX_UNZIPPED_BYTES / (1024 * 1024) {
            out.write_all(&zeros).unwrap();
        }
        let bomb = out.finish().unwrap().into_inner();
        assert!(bomb.len() < 1024 * 1024);
        let e = read_sheet(&bomb).unwrap_err().to_string();
        assert!(e.contains("inflates"), "{e}");
    }

    #[test]
    fn csv_rows_columns_and_cells_are_bounded() {
        let wide = format!("a{}\n", ",".repeat(MAX_SHEET_COLUMNS));
        assert!(
            read_sheet(wide.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("columns")
        );
        let long = format!("a\n{}\n", "x".repeat(MAX_CELL_CHARS + 1));
        assert!(
            read_sheet(long.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("cell")
        );
        let deep = "a\n".repeat(MAX_SHEET_ROWS + 1);
        assert!(
            read_sheet(deep.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("rows")
        );
        let ok = read_sheet("\u{feff}a,b\n1,2\n".as_bytes()).unwrap();
        assert_eq!(ok.format, Format::Csv);
        assert_eq!(ok.cells.len(), 2);
    }
}
