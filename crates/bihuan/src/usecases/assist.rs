//! 协查 lists pushed down from the province or other cities. A list is read
//! through a saved column mapping; every row is kept as received (encrypted),
//! matched to one person by document, and gets one verification task in its
//! grid, or an answer saying why not (bad data, a repeat, not here). The
//! task's outcome comes back onto the row, and the list goes back out in the
//! shape it came in, with three answer columns added.
//!
//! The right grid, in order: the person's residence (`residents`); else the
//! grid a declaration or control put them in (`persons.region` at grid
//! level); else the village an address column names; else none: "not in the
//! city", which the command may route to a grid by hand.

use std::collections::BTreeMap;

use bihuan_domain::assist::{
    self, Field, MAX_CELL, MAX_COLUMNS, MAX_ROWS, Mapping, RowState, VillageName,
};
use bihuan_domain::identity::{DocumentNumber, Phone};
use bihuan_domain::policy::{Reason, assign};
use bihuan_domain::regions::{RegionCode, RegionLevel};
use bihuan_domain::task::{Outcome, TaskKind, TaskState};
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::control::{self, Change, NewTask, open_task_due, parse_assessment};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::import::{Format, read_sheet};
use crate::storage::assist::{self as store, ListRow, NewList, NewRow, RowView};
use crate::storage::repo::{self, NewPerson, TaskRow};
use crate::storage::rounds as rounds_store;

/// The three columns an exported list gains.
pub const ANSWER_HEADERS: [&str; 3] = ["核查结果", "管控措施", "核查时间"];

/// A mapping as the API and the mapping page send it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingInput {
    pub name: String,
    /// Field name (`name`, `id_number`, …) → the header of its column.
    pub columns: BTreeMap<String, String>,
    /// The list's category label → policy category; the defaults (密接 →
    /// close_contact, 次密接 → secondary_contact) when absent.
    #[serde(default)]
    pub categories: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MappingView {
    pub id: i64,
    pub name: String,
    pub region: String,
    pub mapping: Mapping,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub id: i64,
    pub rows: usize,
    pub tasked: usize,
    pub duplicates: usize,
    pub earlier: usize,
    pub not_in_city: usize,
    /// (row number, counted from the first row under the header; errors).
    pub refused: Vec<(usize, Vec<FieldError>)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub rows: i64,
    pub invalid: i64,
    pub duplicates: i64,
    pub earlier: i64,
    pub not_in_city: i64,
    pub open: i64,
    pub verified: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListSummary {
    #[serde(flatten)]
    pub list: ListRow,
    pub progress: Progress,
}

/// One row as the list page and the API show it: the document masked.
#[derive(Debug, Clone, Serialize)]
pub struct RowOut {
    pub id: i64,
    pub row: i64,
    pub person_id: Option<i64>,
    pub name: String,
    pub id_number: String,
    pub category: Option<String>,
    pub state: String,
    pub state_zh: String,
    pub state_en: String,
    pub errors: Vec<serde_json::Value>,
    pub grid: Option<String>,
    pub task_id: Option<i64>,
    pub task_state: Option<String>,
    pub answer: Option<String>,
    pub outcome: Option<String>,
    pub measure: Option<String>,
    pub verified_at: Option<i64>,
    /// The row this one repeats: its number, and for an earlier list its
    /// id, name and date.
    pub same_row: Option<i64>,
    pub same_list_id: Option<i64>,
    pub same_list_name: Option<String>,
    pub same_list_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListDetail {
    pub list: ListRow,
    pub headers: Vec<String>,
    pub progress: Progress,
    pub rows: Vec<RowOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UploadView {
    pub id: i64,
    pub filename: String,
    pub headers: Vec<String>,
    pub rows: usize,
    pub guess: BTreeMap<Field, String>,
}

pub struct Exported {
    pub format: Format,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// One line of the file, parsed.
struct Parsed {
    row_no: usize,
    cells: Vec<String>,
    name: String,
    doc: Option<DocumentNumber>,
    doc_masked: String,
    phone: Option<Phone>,
    reason: String,
    label: String,
    category: Option<String>,
    due_at: Option<i64>,
    address: String,
    errors: Vec<FieldError>,
}

/// A file's header and data rows, checked against the limits.
struct Sheet {
    format: Format,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn file_error(code: &'static str, zh: String, en: String) -> Error {
    Error::Invalid(vec![FieldError::new("file", code, zh, en)])
}

/// Parses on the blocking pool within `import`'s bounds.
async fn read_file(bytes: &[u8]) -> Result<Sheet> {
    let sheet = crate::import::parse_off_thread(bytes.to_vec(), read_sheet).await?;
    let sheet = sheet.map_err(|e| {
        file_error(
            "file_type",
            "无法读取文件：只接受 .xlsx 表格或 UTF-8 编码的 .csv 文件".into(),
            format!("cannot read the file: send an .xlsx workbook or a UTF-8 .csv file ({e})"),
        )
    })?;
    sheet_from(sheet.format, sheet.cells)
}

fn sheet_from(format: Format, cells: Vec<Vec<String>>) -> Result<Sheet> {
    let mut lines = cells.into_iter();
    let mut headers: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|h| h.trim().to_string())
        .collect();
    while headers.last().is_some_and(String::is_empty) {
        headers.pop();
    }
    if headers.is_empty() {
        return Err(file_error(
            "empty",
            "文件第一行应为列名".into(),
            "the first line must hold the column names".into(),
        ));
    }
    if headers.len() > MAX_COLUMNS {
        return Err(file_error(
            "too_many_columns",
            format!("列数超过上限 {MAX_COLUMNS}"),
            format!("more than {MAX_COLUMNS} columns"),
        ));
    }
    let mut rows = Vec::new();
    for line in lines {
        if line.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(file_error(
                "too_many_rows",
                format!("一次最多导入 {MAX_ROWS} 行，请拆分文件"),
                format!("at most {MAX_ROWS} rows at once: split the file"),
            ));
        }
        if let Some(c) = line.iter().find(|c| c.chars().count() > MAX_CELL) {
            let _ = c;
            return Err(file_error(
                "cell_too_long",
                format!("第 {} 行有超过 {MAX_CELL} 个字符的单元格", rows.len() + 1),
                format!(
                    "row {} has a cell longer than {MAX_CELL} characters",
                    rows.len() + 1
                ),
            ));
        }
        rows.push(line);
    }
    if rows.is_empty() {
        return Err(file_error(
            "empty",
            "文件中没有数据行".into(),
            "the file has no rows under its header".into(),
        ));
    }
    // Every row as wide as the widest, so the answer columns line up.
    let width = rows
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .max(headers.len());
    headers.resize(width, String::new());
    for r in &mut rows {
        r.resize(width, String::new());
    }
    Ok(Sheet {
        format,
        headers,
        rows,
    })
}

/// A number that did not parse, shown with its middle starred.
fn rough_mask(raw: &str) -> String {
    let chars: Vec<char> = raw.trim().chars().collect();
    if chars.len() < 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 4))
}

/// Shanghai wall time to unix seconds.
fn shanghai_ts(t: chrono::NaiveDateTime) -> i64 {
    t.and_utc().timestamp() - 8 * 3600
}

fn parse_row(
    row_no: usize,
    cells: Vec<String>,
    cols: &assist::Columns,
    mapping: &Mapping,
    today: bihuan_domain::Date,
) -> Parsed {
    let mut e = FieldErrors::default();
    let get = |f: Field| cols.get(&cells, f).to_string();
    let raw_name = get(Field::Name);
    let name = e.take(validation::text("name", &raw_name, 50));
    let raw_number = get(Field::IdNumber);
    let doc = match assist::document_type(&get(Field::IdType)) {
        Some(kind) => e.take(DocumentNumber::parse(kind, &raw_number, "id_number", today)),
        None => {
            e.push(FieldError::new(
                "id_type",
                "id_type",
                "证件类型无效",
                "unknown document type",
            ));
            None
        }
    };
    let raw_phone = get(Field::Phone);
    let phone = if raw_phone.is_empty() {
        None
    } else {
        e.take(match &doc {
            Some(d) => Phone::parse_for(&raw_phone, "phone", d.kind()),
            None => Phone::parse(&raw_phone, "phone"),
        })
    };
    let optional = |e: &mut FieldErrors, f: Field, max: usize| {
        let v = get(f);
        if v.is_empty() {
            String::new()
        } else {
            e.take(validation::text(f.as_str(), &v, max))
                .unwrap_or_default()
        }
    };
    let reason = optional(&mut e, Field::Reason, 500);
    let label = optional(&mut e, Field::Category, 50);
    let address = optional(&mut e, Field::Address, 200);
    let due_at = e
        .take(assist::parse_deadline(&get(Field::Deadline), "deadline"))
        .flatten()
        .map(shanghai_ts);
    let category = mapping.category_for(&label).map(str::to_string);
    Parsed {
        row_no,
        name: name.unwrap_or_else(|| raw_name.chars().take(50).collect()),
        doc_masked: doc
            .as_ref()
            .map_or_else(|| rough_mask(&raw_number), DocumentNumber::masked),
        doc,
        phone,
        reason,
        label,
        category,
        due_at,
        address,
        errors: e.0,
        cells,
    }
}

fn errors_zh(errors: &Option<String>) -> Vec<serde_json::Value> {
    errors
        .as_deref()
        .and_then(|s| serde_json::from_str::<Vec<serde_json::Value>>(s).ok())
        .unwrap_or_default()
}

fn progress_of(counts: impl Iterator<Item = (String, i64)>) -> Progress {
    let mut p = Progress::default();
    for (state, n) in counts {
        p.rows += n;
        match RowState::parse(&state) {
            Some(RowState::Invalid) => p.invalid += n,
            Some(RowState::Duplicate) => p.duplicates += n,
            Some(RowState::Earlier) => p.earlier += n,
            Some(RowState::NotInCity) => p.not_in_city += n,
            Some(RowState::Tasked) => p.open += n,
            Some(RowState::Verified) => p.verified += n,
            None => {}
        }
    }
    p
}

fn row_out(r: &RowView) -> RowOut {
    let state = RowState::parse(&r.state).unwrap_or(RowState::Invalid);
    RowOut {
        id: r.id,
        row: r.row_no,
        person_id: r.person_id,
        name: r.name.clone(),
        id_number: r.doc_masked.clone(),
        category: r.category.clone(),
        state: r.state.clone(),
        state_zh: state.label_zh().into(),
        state_en: state.label_en().into(),
        errors: errors_zh(&r.errors),
        grid: r.grid.clone(),
        task_id: r.task_id,
        task_state: r.task_state.clone(),
        answer: r.answer.clone(),
        outcome: r.outcome.clone(),
        measure: r.measure.clone(),
        verified_at: r.verified_at,
        same_row: r.same_row_no,
        same_list_id: r.same_list_id,
        same_list_name: r.same_list_name.clone(),
        same_list_at: r.same_list_at,
    }
}

fn outcome_zh(code: Option<&str>) -> String {
    code.and_then(Outcome::parse).map_or_else(
        || code.unwrap_or_default().to_string(),
        |o| o.label_zh().into(),
    )
}

fn time_zh(ts: Option<i64>) -> String {
    ts.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| {
            crate::clock::shanghai(t)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// The three answer cells of a row, in Chinese (the list goes back upward).
fn answer_cells(r: &RowView) -> [String; 3] {
    match RowState::parse(&r.state) {
        Some(RowState::Invalid) => {
            let why: Vec<String> = errors_zh(&r.errors)
                .iter()
                .map(|e| {
                    let field = e["field"].as_str().and_then(Field::parse);
                    let msg = e["message"].as_str().unwrap_or_default();
                    match field {
                        Some(f) => format!("{}{msg}", f.label_zh()),
                        None => msg.to_string(),
                    }
                })
                .collect();
            [
                format!("数据有误，未下发：{}", why.join("；")),
                String::new(),
                String::new(),
            ]
        }
        Some(RowState::Duplicate) => [
            format!(
                "与本表第 {} 行重复，未重复下发",
                r.same_row_no.unwrap_or_default()
            ),
            String::new(),
            String::new(),
        ],
        Some(RowState::Earlier) => {
            let when = time_zh(r.same_list_at);
            let then = match r.same_state.as_deref() {
                Some("verified") => outcome_zh(r.same_outcome.as_deref()),
                _ => "核查中".into(),
            };
            [
                format!(
                    "已在「{}」（{}）协查：{then}",
                    r.same_list_name.clone().unwrap_or_default(),
                    when.get(..10).unwrap_or_default()
                ),
                r.same_measure.clone().unwrap_or_default(),
                time_zh(r.same_verified_at),
            ]
        }
        Some(RowState::NotInCity) => [
            r.answer.clone().unwrap_or_default(),
            String::new(),
            String::new(),
        ],
        Some(RowState::Tasked) => ["核查中".into(), String::new(), String::new()],
        Some(RowState::Verified) => [
            outcome_zh(r.outcome.as_deref()),
            r.measure.clone().unwrap_or_default(),
            time_zh(r.verified_at),
        ],
        None => Default::default(),
    }
}

/// The mapping a user sent, checked against the policy.
fn parse_mapping(svc: &Services, input: &MappingInput) -> Result<(String, Mapping)> {
    let mut e = FieldErrors::default();
    let name = e.take(validation::text("name", &input.name, 50));
    let mut columns = BTreeMap::new();
    for (k, header) in &input.columns {
        match Field::parse(k) {
            Some(f) if !header.trim().is_empty() => {
                columns.insert(f, header.trim().to_string());
            }
            Some(_) => {}
            None => e.push(FieldError::new(
                format!("columns.{k}"),
                "unknown_field",
                format!("没有字段 {k}"),
                format!("no field {k}"),
            )),
        }
    }
    let categories = match &input.categories {
        Some(m) => m
            .iter()
            .map(|(l, c)| (l.trim().to_string(), c.trim().to_string()))
            .collect(),
        None => assist::default_categories(),
    };
    let mapping = Mapping {
        columns,
        categories,
    };
    if let Err(errors) = mapping.check(|c| svc.policy.category(c).is_some()) {
        for x in errors {
            e.push(x);
        }
    }
    e.into_result(())?;
    Ok((name.expect("checked"), mapping))
}

fn may_handle(actor: &Actor) -> Result<()> {
    if actor.role.can_handle_assist_lists() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// What an import writes once its rows parsed.
struct Batch {
    list_name: String,
    filename: String,
    sheet: Sheet,
    mapping_name: String,
    mapping: Mapping,
    save_mapping: bool,
    upload_id: Option<i64>,
}

impl Services {
    /// Saves a named column mapping for the actor's region.
    pub async fn save_assist_mapping(&self, actor: &Actor, input: MappingInput) -> Result<i64> {
        may_handle(actor)?;
        let (name, mapping) = parse_mapping(self, &input)?;
        let (region, who, now) = (
            actor.scope().to_string(),
            actor.username.clone(),
            self.clock.timestamp(),
        );
        let json = serde_json::to_string(&mapping).expect("serialisable");
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let id = store::put_mapping(c, &region, &name, &json, &who, now).await?;
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "assist_mapping_saved",
                        &json!({"id": id, "name": name, "region": region}),
                    )
                    .await?;
                    Ok(id)
                })
            })
            .await
    }

    /// The mappings the actor may use (their region's and those above).
    pub async fn assist_mappings(&self, actor: &Actor) -> Result<Vec<MappingView>> {
        may_handle(actor)?;
        let mut c = self.db.pool().acquire().await?;
        store::mappings_for(&mut c, actor.scope())
            .await?
            .into_iter()
            .map(|m| {
                Ok(MappingView {
                    id: m.id,
                    name: m.name,
                    region: m.region,
                    mapping: serde_json::from_str(&m.mapping)
                        .map_err(|e| Error::Internal(format!("stored mapping: {e}")))?,
                })
            })
            .collect()
    }

    /// The saved mapping of that name; the nearest region's wins.
    async fn mapping_named(&self, actor: &Actor, name: &str) -> Result<Mapping> {
        let mut found = self.assist_mappings(actor).await?;
        found.sort_by_key(|m| std::cmp::Reverse(m.region.len()));
        found
            .into_iter()
            .find(|m| m.name == name.trim())
            .map(|m| m.mapping)
            .ok_or_else(|| {
                Error::field(
                    "mapping",
                    "unknown",
                    &format!("没有名为「{}」的列映射，请先保存映射", name.trim()),
                    &format!("no saved column mapping named “{}”", name.trim()),
                )
            })
    }

    /// Imports a list file with a saved mapping: every row is kept, good rows
    /// are matched and sent, bad ones reported with their row numbers.
    pub async fn import_assist_list(
        &self,
        actor: &Actor,
        list_name: &str,
        filename: &str,
        mapping_name: &str,
        bytes: &[u8],
    ) -> Result<ImportReport> {
        may_handle(actor)?;
        let mut e = FieldErrors::default();
        let list_name = e.take(validation::text("name", list_name, 100));
        let mapping = match self.mapping_named(actor, mapping_name).await {
            Ok(m) => Some(m),
            Err(Error::Invalid(x)) => {
                x.into_iter().for_each(|x| e.push(x));
                None
            }
            Err(other) => return Err(other),
        };
        let sheet = match read_file(bytes).await {
            Ok(s) => Some(s),
            Err(Error::Invalid(x)) => {
                x.into_iter().for_each(|x| e.push(x));
                None
            }
            Err(other) => return Err(other),
        };
        e.into_result(())?;
        let filename = clean_filename(filename, sheet.as_ref().expect("checked").format);
        self.import_batch(
            actor,
            Batch {
                list_name: list_name.expect("checked"),
                filename,
                sheet: sheet.expect("checked"),
                mapping_name: mapping_name.trim().to_string(),
                mapping: mapping.expect("checked"),
                save_mapping: false,
                upload_id: None,
            },
        )
        .await
    }

    /// The page's first step: keeps an uploaded file (encrypted) until its
    /// columns are mapped.
    pub async fn stage_assist_upload(
        &self,
        actor: &Actor,
        filename: &str,
        bytes: &[u8],
    ) -> Result<i64> {
        may_handle(actor)?;
        let sheet = read_file(bytes).await?;
        let filename = clean_filename(filename, sheet.format);
        let headers = serde_json::to_string(&sheet.headers).expect("serialisable");
        let cells = self
            .vault
            .encrypt(&serde_json::to_string(&sheet.rows).expect("serialisable"));
        let (region, who, now) = (
            actor.scope().to_string(),
            actor.username.clone(),
            self.clock.timestamp(),
        );
        let format = sheet.format.as_str();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    store::insert_upload(c, &region, &filename, format, &headers, &cells, &who, now)
                        .await
                })
            })
            .await
    }

    async fn upload_sheet(&self, actor: &Actor, id: i64) -> Result<(store::UploadRow, Sheet)> {
        may_handle(actor)?;
        let mut c = self.db.pool().acquire().await?;
        let u = store::upload_in(&mut c, id, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        let headers: Vec<String> = serde_json::from_str(&u.headers)
            .map_err(|e| Error::Internal(format!("stored headers: {e}")))?;
        let rows: Vec<Vec<String>> = self
            .vault
            .decrypt(&u.cells_enc)
            .and_then(|s| serde_json::from_str(&s).ok())
            .ok_or_else(|| Error::Internal("stored upload".into()))?;
        let format = Format::parse(&u.format).unwrap_or(Format::Csv);
        Ok((
            u,
            Sheet {
                format,
                headers,
                rows,
            },
        ))
    }

    /// A staged upload's headers and a first guess of their mapping.
    pub async fn assist_upload(&self, actor: &Actor, id: i64) -> Result<UploadView> {
        let (u, sheet) = self.upload_sheet(actor, id).await?;
        Ok(UploadView {
            id: u.id,
            filename: u.filename,
            guess: assist::guess(&sheet.headers),
            rows: sheet.rows.len(),
            headers: sheet.headers,
        })
    }

    /// The page's second step: saves the mapping and imports the staged file
    /// with it, in one transaction.
    pub async fn import_assist_upload(
        &self,
        actor: &Actor,
        id: i64,
        list_name: &str,
        input: MappingInput,
    ) -> Result<ImportReport> {
        may_handle(actor)?;
        let mut e = FieldErrors::default();
        let list_name = e.take(validation::text("list_name", list_name, 100));
        let parsed = match parse_mapping(self, &input) {
            Ok(m) => Some(m),
            Err(Error::Invalid(x)) => {
                x.into_iter().for_each(|x| e.push(x));
                None
            }
            Err(other) => return Err(other),
        };
        e.into_result(())?;
        let (mapping_name, mapping) = parsed.expect("checked");
        let (u, sheet) = self.upload_sheet(actor, id).await?;
        self.import_batch(
            actor,
            Batch {
                list_name: list_name.expect("checked"),
                filename: u.filename,
                sheet,
                mapping_name,
                mapping,
                save_mapping: true,
                upload_id: Some(u.id),
            },
        )
        .await
    }

    /// A 协查 list the system builds from rows it already holds (a
    /// gathering's guests when one of them turns positive), inside the
    /// caller's transaction and routed exactly as an imported file. Each
    /// row: name, document type, document number, phone.
    pub(crate) async fn system_assist_list(
        &self,
        c: &mut AnyConnection,
        scope: &RegionCode,
        list_name: &str,
        reason: &str,
        rows: Vec<[String; 4]>,
    ) -> Result<ImportReport> {
        const HEADERS: [&str; 5] = ["姓名", "证件类型", "证件号码", "手机号码", "协查原因"];
        let fields = [
            Field::Name,
            Field::IdType,
            Field::IdNumber,
            Field::Phone,
            Field::Reason,
        ];
        let mapping = Mapping {
            columns: fields
                .into_iter()
                .zip(HEADERS)
                .map(|(f, h)| (f, h.to_string()))
                .collect(),
            categories: Vec::new(),
        };
        let sheet = Sheet {
            format: Format::Xlsx,
            headers: HEADERS.map(str::to_string).to_vec(),
            rows: rows
                .into_iter()
                .map(|[a, b, c, d]| vec![a, b, c, d, reason.to_string()])
                .collect(),
        };
        let b = Batch {
            list_name: list_name.to_string(),
            filename: format!("{list_name}.xlsx"),
            sheet,
            mapping_name: "system".to_string(),
            mapping,
            save_mapping: false,
            upload_id: None,
        };
        let (parsed, lookups, first, enc) = self.prepare_batch(&b)?;
        let system = Actor {
            user_id: 0,
            username: "system".to_string(),
            role: bihuan_domain::access::Role::Command,
            region: scope.clone(),
            csrf: String::new(),
        };
        self.import_in(c, &system, b, parsed, lookups, first, enc)
            .await
    }

    #[allow(clippy::type_complexity)]
    fn prepare_batch(
        &self,
        b: &Batch,
    ) -> Result<(
        Vec<Parsed>,
        Vec<Option<String>>,
        Vec<Option<usize>>,
        Vec<String>,
    )> {
        let cols = b.mapping.locate(&b.sheet.headers).map_err(Error::Invalid)?;
        let today = self.clock.today();
        let mut parsed: Vec<Parsed> = Vec::with_capacity(b.sheet.rows.len());
        for (i, cells) in b.sheet.rows.iter().enumerate() {
            parsed.push(parse_row(i + 1, cells.clone(), &cols, &b.mapping, today));
        }
        let lookups: Vec<Option<String>> = parsed
            .iter()
            .map(|p| {
                p.doc
                    .as_ref()
                    .filter(|_| p.errors.is_empty())
                    .map(|d| self.vault.lookup(&d.lookup_key_material()))
            })
            .collect();
        let first = assist::first_of(&lookups);
        let enc: Vec<String> = parsed
            .iter()
            .map(|p| {
                self.vault
                    .encrypt(&serde_json::to_string(&p.cells).expect("serialisable"))
            })
            .collect();
        Ok((parsed, lookups, first, enc))
    }

    async fn import_batch(&self, actor: &Actor, b: Batch) -> Result<ImportReport> {
        let (parsed, lookups, first, enc) = self.prepare_batch(&b)?;
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    svc.import_in(c, &actor, b, parsed, lookups, first, enc)
                        .await
                })
            })
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn import_in(
        &self,
        c: &mut AnyConnection,
        actor: &Actor,
        b: Batch,
        parsed: Vec<Parsed>,
        lookups: Vec<Option<String>>,
        first: Vec<Option<usize>>,
        enc: Vec<String>,
    ) -> Result<ImportReport> {
        let now = self.clock.timestamp();
        let who = actor.username.as_str();
        let scope = actor.scope();
        let mapping_json = serde_json::to_string(&b.mapping).expect("serialisable");
        if b.save_mapping {
            store::put_mapping(c, scope, &b.mapping_name, &mapping_json, who, now).await?;
        }
        let list_id = store::insert_list(
            c,
            &NewList {
                region: scope,
                name: &b.list_name,
                filename: &b.filename,
                format: b.sheet.format.as_str(),
                headers: &serde_json::to_string(&b.sheet.headers).expect("serialisable"),
                mapping_name: &b.mapping_name,
                mapping: &mapping_json,
                who,
            },
            now,
        )
        .await?;
        let city = repo::region(c, &scope[..6.min(scope.len())])
            .await?
            .map(|r| r.name)
            .unwrap_or_default();
        let mut villages: Option<Vec<VillageName>> = None;
        let mut ids: Vec<i64> = Vec::with_capacity(parsed.len());
        let mut report = ImportReport {
            id: list_id,
            rows: parsed.len(),
            tasked: 0,
            duplicates: 0,
            earlier: 0,
            not_in_city: 0,
            refused: Vec::new(),
        };
        for (i, p) in parsed.iter().enumerate() {
            let mut row = NewRow {
                list_id,
                row_no: p.row_no as i64,
                cells_enc: &enc[i],
                name: &p.name,
                doc_masked: &p.doc_masked,
                person_id: None,
                category: (!p.label.is_empty()).then_some(p.label.as_str()),
                state: RowState::Invalid.as_str(),
                errors: None,
                same_as: None,
                grid: None,
                answer: None,
                task_id: None,
            };
            let errors_json;
            let answer;
            let grid_owned;
            match (&lookups[i], first[i]) {
                (None, _) => {
                    errors_json = serde_json::to_string(&p.errors).expect("serialisable");
                    row.errors = Some(&errors_json);
                    report.refused.push((p.row_no, p.errors.clone()));
                }
                (Some(_), Some(j)) => {
                    row.state = RowState::Duplicate.as_str();
                    row.same_as = Some(ids[j]);
                    report.duplicates += 1;
                }
                (Some(lookup), None) => {
                    let doc = p.doc.as_ref().expect("a lookup has a document");
                    let known = store::person_by_lookup(c, lookup).await?;
                    let earlier = match &known {
                        Some((id, _)) => store::sent_row_of(c, *id).await?,
                        None => None,
                    };
                    row.person_id = known.as_ref().map(|k| k.0);
                    if let Some(e) = earlier {
                        row.state = RowState::Earlier.as_str();
                        row.same_as = Some(e);
                        report.earlier += 1;
                    } else {
                        let mut grid = match &known {
                            Some((id, region)) => self.known_grid(c, *id, region).await?,
                            None => None,
                        };
                        if grid.is_none() && !p.address.is_empty() {
                            if villages.is_none() {
                                villages = Some(store::villages(c).await?);
                            }
                            let vs = villages.as_deref().unwrap_or_default();
                            if let Some(v) = assist::match_village(&p.address, vs) {
                                grid = repo::first_grid(c, v).await?;
                            }
                        }
                        let person_id = match &known {
                            Some((id, _)) => *id,
                            None => {
                                let phone = p.phone.as_ref();
                                store::insert_person(
                                    c,
                                    &NewPerson {
                                        doc_type: doc.kind().as_str(),
                                        doc_lookup: lookup,
                                        doc_enc: &self.vault.encrypt(doc.number()),
                                        doc_masked: &doc.masked(),
                                        name: &p.name,
                                        phone_enc: &self
                                            .vault
                                            .encrypt(phone.map(|x| x.as_str()).unwrap_or("")),
                                        phone_masked: &phone
                                            .map(|x| x.masked())
                                            .unwrap_or_default(),
                                        region: grid.as_deref().unwrap_or(scope),
                                    },
                                    now,
                                )
                                .await?
                            }
                        };
                        row.person_id = Some(person_id);
                        match grid {
                            Some(g) if g.starts_with(scope) => {
                                let task = self
                                    .send(c, person_id, &g, &b.list_name, p, who, now)
                                    .await?;
                                grid_owned = g;
                                row.grid = Some(&grid_owned);
                                row.task_id = Some(task);
                                row.state = RowState::Tasked.as_str();
                                report.tasked += 1;
                            }
                            Some(_) => {
                                answer = "不在本辖区，请转交所在镇街或由指挥部指派网格".to_string();
                                row.answer = Some(&answer);
                                row.state = RowState::NotInCity.as_str();
                                report.not_in_city += 1;
                            }
                            None => {
                                answer = format!("不在{city}（查无此人）");
                                row.answer = Some(&answer);
                                row.state = RowState::NotInCity.as_str();
                                report.not_in_city += 1;
                            }
                        }
                    }
                }
            }
            ids.push(store::insert_row(c, &row).await?);
        }
        if let Some(id) = b.upload_id {
            store::delete_uploads(c, id, now - 86_400).await?;
        }
        repo::insert_event(
            c,
            now,
            who,
            None,
            None,
            "assist_list_imported",
            &json!({
                "id": list_id, "name": b.list_name, "rows": report.rows,
                "tasked": report.tasked, "duplicates": report.duplicates,
                "earlier": report.earlier, "not_in_city": report.not_in_city,
                "refused": report.refused.len(),
            }),
        )
        .await?;
        Ok(report)
    }

    /// The grid a known person is verified in: where they live, else where a
    /// declaration or control placed them.
    async fn known_grid(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        region: &str,
    ) -> Result<Option<String>> {
        if let Some(g) = rounds_store::resident_grid(c, person_id).await? {
            return Ok(Some(g));
        }
        if region.len() == RegionLevel::Grid.code_len() && store::is_grid(c, region).await? {
            return Ok(Some(region.to_string()));
        }
        Ok(None)
    }

    /// Sends one row to a grid: the category's control where the list's
    /// category maps to one (stricter running controls kept), and one
    /// verification task (joining an open one), due by the row's deadline
    /// or the policy's.
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        grid: &str,
        list_name: &str,
        p: &Parsed,
        who: &str,
        now: i64,
    ) -> Result<i64> {
        let current = repo::person_in(c, person_id, "")
            .await?
            .ok_or(Error::NotFound)?;
        if current.region.len() != RegionLevel::Grid.code_len() {
            repo::set_person_region(c, person_id, grid, now).await?;
        }
        let why_zh = if p.reason.is_empty() {
            list_name.to_string()
        } else {
            format!("{list_name}（{}）", p.reason)
        };
        if let Some(category) = &p.category {
            let reason = Reason {
                zh: format!("协查：{why_zh}，{}", p.label),
                en: format!("assisted verification list {list_name}: {}", p.label),
            };
            let a = assign(&self.policy, category, self.clock.today(), reason)
                .ok_or_else(|| Error::Internal(format!("the policy lacks {category}")))?;
            let declaration_id = repo::latest_declaration(c, person_id).await?.map(|d| d.id);
            control::apply(
                c,
                &self.policy,
                Change {
                    person_id,
                    declaration_id,
                    grid,
                    assessment: &a,
                    because: None,
                    always_dispatch: false,
                    actor: who,
                    now,
                },
            )
            .await?;
        }
        let hours = self.policy.deadlines.assist_hours;
        let due_at = p.due_at.unwrap_or(now + i64::from(hours) * 3600);
        open_task_due(
            c,
            &NewTask {
                person_id,
                kind: TaskKind::Verify,
                region: grid,
                hours,
                reason: &format!("协查核查：{why_zh}"),
                actor: who,
                now,
            },
            due_at,
        )
        .await
    }

    /// Lists inside the actor's region, newest first, with their progress.
    pub async fn assist_lists(&self, actor: &Actor) -> Result<Vec<ListSummary>> {
        may_handle(actor)?;
        let mut c = self.db.pool().acquire().await?;
        let lists = store::lists_in(&mut c, actor.scope(), i64::MAX, 200).await?;
        let ids: Vec<i64> = lists.iter().map(|l| l.id).collect();
        let counts = store::state_counts(&mut c, &ids).await?;
        Ok(lists
            .into_iter()
            .map(|list| {
                let progress = progress_of(
                    counts
                        .iter()
                        .filter(|(id, _, _)| *id == list.id)
                        .map(|(_, s, n)| (s.clone(), *n)),
                );
                ListSummary { list, progress }
            })
            .collect())
    }

    /// One list with every row (documents masked).
    pub async fn assist_list(&self, actor: &Actor, id: i64) -> Result<ListDetail> {
        may_handle(actor)?;
        let mut c = self.db.pool().acquire().await?;
        let list = store::list_in(&mut c, id, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        let rows = store::rows_of(&mut c, id).await?;
        let progress = progress_of(rows.iter().map(|r| (r.state.clone(), 1)));
        Ok(ListDetail {
            headers: serde_json::from_str(&list.headers).unwrap_or_default(),
            list,
            progress,
            rows: rows.iter().map(row_out).collect(),
        })
    }

    /// The list back in the format and column order it came in, with the
    /// answer columns added. Full identity numbers as received: the export
    /// is for the sender, and is audited.
    pub async fn export_assist_list(&self, actor: &Actor, id: i64) -> Result<Exported> {
        may_handle(actor)?;
        let (list, rows) = {
            let mut c = self.db.pool().acquire().await?;
            let list = store::list_in(&mut c, id, actor.scope())
                .await?
                .ok_or(Error::NotFound)?;
            let rows = store::rows_of(&mut c, id).await?;
            (list, rows)
        };
        let mut headers: Vec<String> = serde_json::from_str(&list.headers)
            .map_err(|e| Error::Internal(format!("stored headers: {e}")))?;
        let width = headers.len();
        headers.extend(ANSWER_HEADERS.iter().map(|s| s.to_string()));
        let mut table = vec![headers];
        for r in &rows {
            let mut cells: Vec<String> = self
                .vault
                .decrypt(&r.cells_enc)
                .and_then(|s| serde_json::from_str(&s).ok())
                .ok_or_else(|| Error::Internal("stored row".into()))?;
            cells.resize(width, String::new());
            cells.extend(answer_cells(r));
            table.push(cells);
        }
        let format = Format::parse(&list.format).unwrap_or(Format::Xlsx);
        let mark = crate::export::Mark::By {
            who: &actor.username,
            at: self.clock.timestamp(),
        };
        let bytes = match format {
            Format::Xlsx => crate::export::xlsx("协查反馈", &table, mark)?,
            Format::Csv => {
                let mut b = "\u{feff}".as_bytes().to_vec();
                b.extend(crate::export::csv(&table, mark)?);
                b
            }
        };
        self.audit_export(
            actor,
            "assist_list_exported",
            json!({"id": id, "rows": rows.len()}),
        )
        .await?;
        let stem = list
            .filename
            .rsplit_once('.')
            .map_or(list.filename.as_str(), |(s, _)| s);
        Ok(Exported {
            format,
            filename: format!("{stem}-反馈.{}", format.as_str()),
            bytes,
        })
    }

    /// Routes a row that found no grid to one by hand: the row is sent as an
    /// import would have sent it.
    pub async fn route_assist_row(
        &self,
        actor: &Actor,
        list_id: i64,
        row_id: i64,
        grid: &str,
    ) -> Result<RowOut> {
        may_handle(actor)?;
        let code = RegionCode::parse(grid.trim(), "grid")?;
        if code.level() != RegionLevel::Grid || !code.as_str().starts_with(actor.scope()) {
            return Err(Error::field(
                "grid",
                "grid",
                "请填写本辖区内的15位网格编码",
                "a 15-digit grid code inside your region",
            ));
        }
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let list = store::list_in(c, list_id, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    let r = store::row_of(c, list_id, row_id)
                        .await?
                        .ok_or(Error::NotFound)?;
                    if r.state != RowState::NotInCity.as_str() {
                        return Err(Error::Refused {
                            code: "not_unrouted",
                            zh: "只有未找到网格的行可以指派",
                            en: "only a row without a grid can be routed",
                        });
                    }
                    if !store::is_grid(c, code.as_str()).await? {
                        return Err(Error::field(
                            "grid",
                            "unknown",
                            "网格不存在",
                            "no such grid",
                        ));
                    }
                    let person_id = r.person_id.ok_or(Error::NotFound)?;
                    let mapping: Mapping = serde_json::from_str(&list.mapping)
                        .map_err(|e| Error::Internal(format!("stored mapping: {e}")))?;
                    let cells: Vec<String> = svc
                        .vault
                        .decrypt(&r.cells_enc)
                        .and_then(|s| serde_json::from_str(&s).ok())
                        .ok_or_else(|| Error::Internal("stored row".into()))?;
                    let headers: Vec<String> = serde_json::from_str(&list.headers)
                        .map_err(|e| Error::Internal(format!("stored headers: {e}")))?;
                    let cols = mapping.locate(&headers).map_err(Error::Invalid)?;
                    let p = parse_row(r.row_no as usize, cells, &cols, &mapping, svc.clock.today());
                    let task = svc
                        .send(
                            c,
                            person_id,
                            code.as_str(),
                            &list.name,
                            &p,
                            &actor.username,
                            now,
                        )
                        .await?;
                    if !store::route_row(c, row_id, person_id, code.as_str(), task).await? {
                        return Err(Error::Conflict("the row changed meanwhile".into()));
                    }
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        Some(person_id),
                        Some(task),
                        "assist_row_routed",
                        &json!({"list": list_id, "row": r.row_no, "grid": code.as_str()}),
                    )
                    .await?;
                    let r = store::row_of(c, list_id, row_id)
                        .await?
                        .ok_or(Error::NotFound)?;
                    Ok(row_out(&r))
                })
            })
            .await
    }

    /// Called by the task flow inside its transaction: a closed task's rows
    /// take its outcome, the person's measure and the time; a reopened
    /// task's rows are open again.
    pub(crate) async fn assist_task_changed(
        &self,
        c: &mut AnyConnection,
        task: &TaskRow,
        now: i64,
    ) -> Result<()> {
        match TaskState::parse(&task.state) {
            Some(TaskState::Closed) => {
                let measure = match task.person_id {
                    Some(p) => match repo::control(c, p).await? {
                        Some(k) if matches!(k.status.as_str(), "active" | "due_for_release") => {
                            let a = parse_assessment(&k.assessment)?;
                            let label = self
                                .policy
                                .category(&a.category)
                                .map_or(a.category.clone(), |c| c.label_zh.clone());
                            format!("{label}：{}", a.measure)
                        }
                        _ => "无".to_string(),
                    },
                    None => "无".to_string(),
                };
                store::settle_rows(
                    c,
                    task.id,
                    task.outcome.as_deref().unwrap_or("done"),
                    &measure,
                    now,
                )
                .await?;
            }
            Some(TaskState::Dispatched) => {
                store::reopen_rows(c, task.id).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// A file name to answer with: the base name, no path or control
/// characters, ending in the format's extension.
fn clean_filename(raw: &str, format: Format) -> String {
    let base = raw
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';'))
        .take(100)
        .collect::<String>();
    let base = base.trim();
    if base.is_empty() {
        format!("协查名单.{}", format.as_str())
    } else {
        base.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn sheets_keep_their_width_and_refuse_what_is_not_a_list() {
        let s = sheet_from(
            Format::Csv,
            cells(&[
                &["姓名", "身份证号", ""],
                &["张三", "1", "x", "extra"],
                &["", ""],
            ]),
        )
        .unwrap();
        assert_eq!(s.headers.len(), 4, "as wide as the widest row");
        assert_eq!(s.rows.len(), 1, "blank lines dropped");
        let e = |r: Result<Sheet>| match r {
            Err(Error::Invalid(e)) => e[0].code,
            _ => "ok",
        };
        assert_eq!(e(sheet_from(Format::Csv, cells(&[&["姓名"]]))), "empty");
        assert_eq!(e(sheet_from(Format::Csv, vec![])), "empty");
        let mut many = cells(&[&["姓名"]]);
        many.extend((0..=MAX_ROWS).map(|i| vec![i.to_string()]));
        assert_eq!(e(sheet_from(Format::Csv, many)), "too_many_rows");
        let long = "字".repeat(MAX_CELL + 1);
        assert_eq!(
            e(sheet_from(Format::Csv, cells(&[&["姓名"], &[&long]]))),
            "cell_too_long"
        );
        let png = tokio::runtime::Runtime::new()
            .expect("a runtime")
            .block_on(read_file(b"\x89PNG\r\n\x1a\n\0\0\0"));
        assert_eq!(e(png), "file_type");
    }

    #[test]
    fn file_names_lose_paths_and_quotes() {
        assert_eq!(
            clean_filename("C:\\a\\b\\名单.xlsx", Format::Xlsx),
            "名单.xlsx"
        );
        assert_eq!(clean_filename("../x\".csv", Format::Csv), "x.csv");
        assert_eq!(clean_filename("", Format::Csv), "协查名单.csv");
        assert_eq!(rough_mask("33078419900101001"), "33*************01");
        assert_eq!(rough_mask("123"), "***");
    }
}

/// One person on a 协查 list built inside bihuan (not read from a file).
#[derive(Debug, Clone)]
pub struct Exposed {
    pub person_id: i64,
    /// Why this person is on the list: the place and how they were exposed.
    pub reason: String,
}

impl Services {
    /// A 协查 list of people already on file, made inside the caller's
    /// transaction: each is sent to their grid with a verification task due
    /// by `due_at`, or answered "not in the city" as a file's rows are. The
    /// list exports like an imported one (姓名, 证件号码, 事由).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn assist_list_of_known(
        &self,
        c: &mut AnyConnection,
        region: &str,
        list_name: &str,
        people: &[Exposed],
        due_at: i64,
        who: &str,
        now: i64,
    ) -> Result<i64> {
        let headers = ["姓名", "证件号码", "事由"];
        let mapping = Mapping {
            columns: [
                (Field::Name, headers[0].to_string()),
                (Field::IdNumber, headers[1].to_string()),
                (Field::Reason, headers[2].to_string()),
            ]
            .into_iter()
            .collect(),
            categories: Vec::new(),
        };
        let list_id = store::insert_list(
            c,
            &NewList {
                region,
                name: list_name,
                filename: &format!("{list_name}.xlsx"),
                format: Format::Xlsx.as_str(),
                headers: &serde_json::to_string(&headers).expect("serialisable"),
                mapping_name: "",
                mapping: &serde_json::to_string(&mapping).expect("serialisable"),
                who,
            },
            now,
        )
        .await?;
        let mut seen = std::collections::BTreeSet::new();
        let mut row_no = 0;
        for x in people {
            if !seen.insert(x.person_id) {
                continue;
            }
            row_no += 1;
            let p = repo::person_in(c, x.person_id, "")
                .await?
                .ok_or(Error::NotFound)?;
            let cells = vec![p.name.clone(), p.doc_masked.clone(), x.reason.clone()];
            let enc = self
                .vault
                .encrypt(&serde_json::to_string(&cells).expect("serialisable"));
            let parsed = Parsed {
                row_no,
                cells,
                name: p.name.clone(),
                doc: None,
                doc_masked: p.doc_masked.clone(),
                phone: None,
                reason: x.reason.clone(),
                label: String::new(),
                category: None,
                due_at: Some(due_at),
                address: String::new(),
                errors: Vec::new(),
            };
            let grid = self.known_grid(c, p.id, &p.region).await?;
            let answer = "不在本辖区，请转交所在镇街或由指挥部指派网格";
            let (state, task, grid) = match grid {
                Some(g) => {
                    let task = self.send(c, p.id, &g, list_name, &parsed, who, now).await?;
                    (RowState::Tasked, Some(task), Some(g))
                }
                None => (RowState::NotInCity, None, None),
            };
            store::insert_row(
                c,
                &NewRow {
                    list_id,
                    row_no: row_no as i64,
                    cells_enc: &enc,
                    name: &p.name,
                    doc_masked: &p.doc_masked,
                    person_id: Some(p.id),
                    category: None,
                    state: state.as_str(),
                    errors: None,
                    same_as: None,
                    grid: grid.as_deref(),
                    answer: task.is_none().then_some(answer),
                    task_id: task,
                },
            )
            .await?;
        }
        repo::insert_event(
            c,
            now,
            who,
            None,
            None,
            "assist_list_built",
            &json!({"id": list_id, "name": list_name, "rows": row_no}),
        )
        .await?;
        Ok(list_id)
    }
}
