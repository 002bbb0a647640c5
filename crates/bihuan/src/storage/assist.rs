//! SQL for 协查 lists: saved mappings, uploads waiting for a mapping, lists
//! and their rows, and the lookups that route a row.

use bihuan_domain::assist::VillageName;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::error::Result;
use crate::storage::repo::NewPerson;

// ---------- mappings ----------

#[derive(Debug, Clone, Serialize)]
pub struct MappingRow {
    pub id: i64,
    pub region: String,
    pub name: String,
    /// JSON of `assist::Mapping`.
    pub mapping: String,
    pub updated_at: i64,
}

fn mapping_row(r: &AnyRow) -> Result<MappingRow> {
    Ok(MappingRow {
        id: r.try_get("id")?,
        region: r.try_get("region")?,
        name: r.try_get("name")?,
        mapping: r.try_get("mapping")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Saves a mapping under (region, name), replacing one of that name.
pub async fn put_mapping(
    c: &mut AnyConnection,
    region: &str,
    name: &str,
    mapping: &str,
    who: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO assist_mappings (region, name, mapping, updated_by, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (region, name) DO UPDATE SET mapping = excluded.mapping,
             updated_by = excluded.updated_by, updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(region)
    .bind(name)
    .bind(mapping)
    .bind(who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// The mappings a user of `scope` may use: their region's and those of the
/// regions above it.
pub async fn mappings_for(c: &mut AnyConnection, scope: &str) -> Result<Vec<MappingRow>> {
    sqlx::query(
        "SELECT id, region, name, mapping, updated_at FROM assist_mappings
         WHERE $1 LIKE region || '%' ORDER BY name",
    )
    .bind(scope)
    .fetch_all(c)
    .await?
    .iter()
    .map(mapping_row)
    .collect()
}

// ---------- uploads waiting for a mapping ----------

pub struct UploadRow {
    pub id: i64,
    pub region: String,
    pub filename: String,
    pub format: String,
    pub headers: String,
    pub cells_enc: String,
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_upload(
    c: &mut AnyConnection,
    region: &str,
    filename: &str,
    format: &str,
    headers: &str,
    cells_enc: &str,
    who: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO assist_uploads (region, filename, format, headers, cells_enc, created_by,
                                     created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(region)
    .bind(filename)
    .bind(format)
    .bind(headers)
    .bind(cells_enc)
    .bind(who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn upload_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<UploadRow>> {
    let Some(r) = sqlx::query(
        "SELECT id, region, filename, format, headers, cells_enc FROM assist_uploads
         WHERE id = $1 AND region LIKE $2",
    )
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(UploadRow {
        id: r.try_get("id")?,
        region: r.try_get("region")?,
        filename: r.try_get("filename")?,
        format: r.try_get("format")?,
        headers: r.try_get("headers")?,
        cells_enc: r.try_get("cells_enc")?,
    }))
}

/// Drops an upload once it became a list, and any older than `before`.
pub async fn delete_uploads(c: &mut AnyConnection, id: i64, before: i64) -> Result<()> {
    sqlx::query("DELETE FROM assist_uploads WHERE id = $1 OR created_at < $2")
        .bind(id)
        .bind(before)
        .execute(c)
        .await?;
    Ok(())
}

// ---------- lists ----------

pub struct NewList<'a> {
    pub region: &'a str,
    pub name: &'a str,
    pub filename: &'a str,
    pub format: &'a str,
    pub headers: &'a str,
    pub mapping_name: &'a str,
    pub mapping: &'a str,
    pub who: &'a str,
}

pub async fn insert_list(c: &mut AnyConnection, l: &NewList<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO assist_lists (region, name, filename, format, headers, mapping_name, mapping,
                                   created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(l.region)
    .bind(l.name)
    .bind(l.filename)
    .bind(l.format)
    .bind(l.headers)
    .bind(l.mapping_name)
    .bind(l.mapping)
    .bind(l.who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

#[derive(Debug, Clone, Serialize)]
pub struct ListRow {
    pub id: i64,
    pub region: String,
    pub name: String,
    pub filename: String,
    pub format: String,
    /// JSON array of the file's headers, in their order.
    #[serde(skip)]
    pub headers: String,
    pub mapping_name: String,
    #[serde(skip)]
    pub mapping: String,
    pub created_by: String,
    pub created_at: i64,
}

const LIST_COLS: &str =
    "id, region, name, filename, format, headers, mapping_name, mapping, created_by, created_at";

fn list_row(r: &AnyRow) -> Result<ListRow> {
    Ok(ListRow {
        id: r.try_get("id")?,
        region: r.try_get("region")?,
        name: r.try_get("name")?,
        filename: r.try_get("filename")?,
        format: r.try_get("format")?,
        headers: r.try_get("headers")?,
        mapping_name: r.try_get("mapping_name")?,
        mapping: r.try_get("mapping")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The newest lists inside `scope`, `before` an id (key pagination).
pub async fn lists_in(
    c: &mut AnyConnection,
    scope: &str,
    before: i64,
    limit: i64,
) -> Result<Vec<ListRow>> {
    sqlx::query(&format!(
        "SELECT {LIST_COLS} FROM assist_lists WHERE region LIKE $1 AND id < $2
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(format!("{scope}%"))
    .bind(before)
    .bind(limit)
    .fetch_all(c)
    .await?
    .iter()
    .map(list_row)
    .collect()
}

pub async fn list_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<ListRow>> {
    sqlx::query(&format!(
        "SELECT {LIST_COLS} FROM assist_lists WHERE id = $1 AND region LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(list_row)
    .transpose()
}

/// Rows per state of each of `ids`' lists: (list, state, count).
pub async fn state_counts(c: &mut AnyConnection, ids: &[i64]) -> Result<Vec<(i64, String, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT list_id, state, COUNT(*) AS n FROM assist_rows WHERE list_id IN ({})
         GROUP BY list_id, state",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    q.fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("list_id")?, r.try_get("state")?, r.try_get("n")?)))
        .collect()
}

// ---------- rows ----------

pub struct NewRow<'a> {
    pub list_id: i64,
    pub row_no: i64,
    pub cells_enc: &'a str,
    pub name: &'a str,
    pub doc_masked: &'a str,
    pub person_id: Option<i64>,
    pub category: Option<&'a str>,
    pub state: &'a str,
    pub errors: Option<&'a str>,
    pub same_as: Option<i64>,
    pub grid: Option<&'a str>,
    pub answer: Option<&'a str>,
    pub task_id: Option<i64>,
}

pub async fn insert_row(c: &mut AnyConnection, r: &NewRow<'_>) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO assist_rows (list_id, row_no, cells_enc, name, doc_masked, person_id,
                                  category, state, errors, same_as, grid, answer, task_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(r.list_id)
    .bind(r.row_no)
    .bind(r.cells_enc)
    .bind(r.name)
    .bind(r.doc_masked)
    .bind(r.person_id)
    .bind(r.category)
    .bind(r.state)
    .bind(r.errors)
    .bind(r.same_as)
    .bind(r.grid)
    .bind(r.answer)
    .bind(r.task_id)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// A row with the row it repeats (and that row's list) joined in.
#[derive(Debug, Clone)]
pub struct RowView {
    pub id: i64,
    pub list_id: i64,
    pub row_no: i64,
    pub cells_enc: String,
    pub name: String,
    pub doc_masked: String,
    pub person_id: Option<i64>,
    pub category: Option<String>,
    pub state: String,
    pub errors: Option<String>,
    pub grid: Option<String>,
    pub answer: Option<String>,
    pub task_id: Option<i64>,
    pub task_state: Option<String>,
    pub outcome: Option<String>,
    pub measure: Option<String>,
    pub verified_at: Option<i64>,
    pub same_as: Option<i64>,
    pub same_row_no: Option<i64>,
    pub same_list_id: Option<i64>,
    pub same_list_name: Option<String>,
    pub same_list_at: Option<i64>,
    pub same_state: Option<String>,
    pub same_outcome: Option<String>,
    pub same_measure: Option<String>,
    pub same_verified_at: Option<i64>,
}

const ROW_SELECT: &str = "SELECT r.id, r.list_id, r.row_no, r.cells_enc, r.name, r.doc_masked,
        r.person_id, r.category, r.state, r.errors, r.grid, r.answer, r.task_id,
        t.state AS task_state, r.outcome, r.measure, r.verified_at, r.same_as,
        s.row_no AS same_row_no, s.list_id AS same_list_id, sl.name AS same_list_name,
        sl.created_at AS same_list_at, s.state AS same_state, s.outcome AS same_outcome,
        s.measure AS same_measure, s.verified_at AS same_verified_at
    FROM assist_rows r
    LEFT JOIN tasks t ON t.id = r.task_id
    LEFT JOIN assist_rows s ON s.id = r.same_as
    LEFT JOIN assist_lists sl ON sl.id = s.list_id";

fn row_view(r: &AnyRow) -> Result<RowView> {
    Ok(RowView {
        id: r.try_get("id")?,
        list_id: r.try_get("list_id")?,
        row_no: r.try_get("row_no")?,
        cells_enc: r.try_get("cells_enc")?,
        name: r.try_get("name")?,
        doc_masked: r.try_get("doc_masked")?,
        person_id: r.try_get("person_id")?,
        category: r.try_get("category")?,
        state: r.try_get("state")?,
        errors: r.try_get("errors")?,
        grid: r.try_get("grid")?,
        answer: r.try_get("answer")?,
        task_id: r.try_get("task_id")?,
        task_state: r.try_get("task_state")?,
        outcome: r.try_get("outcome")?,
        measure: r.try_get("measure")?,
        verified_at: r.try_get("verified_at")?,
        same_as: r.try_get("same_as")?,
        same_row_no: r.try_get("same_row_no")?,
        same_list_id: r.try_get("same_list_id")?,
        same_list_name: r.try_get("same_list_name")?,
        same_list_at: r.try_get("same_list_at")?,
        same_state: r.try_get("same_state")?,
        same_outcome: r.try_get("same_outcome")?,
        same_measure: r.try_get("same_measure")?,
        same_verified_at: r.try_get("same_verified_at")?,
    })
}

/// Every row of a list, in the file's order.
pub async fn rows_of(c: &mut AnyConnection, list_id: i64) -> Result<Vec<RowView>> {
    sqlx::query(&format!(
        "{ROW_SELECT} WHERE r.list_id = $1 ORDER BY r.row_no"
    ))
    .bind(list_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(row_view)
    .collect()
}

pub async fn row_of(c: &mut AnyConnection, list_id: i64, id: i64) -> Result<Option<RowView>> {
    sqlx::query(&format!("{ROW_SELECT} WHERE r.list_id = $1 AND r.id = $2"))
        .bind(list_id)
        .bind(id)
        .fetch_optional(c)
        .await?
        .as_ref()
        .map(row_view)
        .transpose()
}

/// The first row that already sent this person to a grid, in any list.
pub async fn sent_row_of(c: &mut AnyConnection, person_id: i64) -> Result<Option<i64>> {
    Ok(sqlx::query(
        "SELECT id FROM assist_rows WHERE person_id = $1 AND state IN ('tasked', 'verified')
         ORDER BY id LIMIT 1",
    )
    .bind(person_id)
    .fetch_optional(c)
    .await?
    .map(|r| r.get::<i64, _>(0)))
}

/// A row found no grid and now has one, with its task.
pub async fn route_row(
    c: &mut AnyConnection,
    id: i64,
    person_id: i64,
    grid: &str,
    task_id: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE assist_rows SET state = 'tasked', person_id = $1, grid = $2, task_id = $3
         WHERE id = $4 AND state = 'not_in_city'",
    )
    .bind(person_id)
    .bind(grid)
    .bind(task_id)
    .bind(id)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The task closed: its rows take the outcome, the measure and the time.
pub async fn settle_rows(
    c: &mut AnyConnection,
    task_id: i64,
    outcome: &str,
    measure: &str,
    now: i64,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE assist_rows SET state = 'verified', outcome = $1, measure = $2, verified_at = $3
         WHERE task_id = $4 AND state = 'tasked'",
    )
    .bind(outcome)
    .bind(measure)
    .bind(now)
    .bind(task_id)
    .execute(c)
    .await?
    .rows_affected())
}

/// The task was sent back: its rows are open again.
pub async fn reopen_rows(c: &mut AnyConnection, task_id: i64) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE assist_rows SET state = 'tasked', outcome = NULL, measure = NULL,
             verified_at = NULL
         WHERE task_id = $1 AND state = 'verified'",
    )
    .bind(task_id)
    .execute(c)
    .await?
    .rows_affected())
}

// ---------- routing lookups ----------

/// The person holding a document's lookup key: (id, region).
pub async fn person_by_lookup(
    c: &mut AnyConnection,
    lookup: &str,
) -> Result<Option<(i64, String)>> {
    sqlx::query("SELECT id, region FROM persons WHERE doc_lookup = $1")
        .bind(lookup)
        .fetch_optional(c)
        .await?
        .map(|r| Ok((r.try_get("id")?, r.try_get("region")?)))
        .transpose()
}

/// A new person from a list; an existing one keeps their details.
pub async fn insert_person(c: &mut AnyConnection, p: &NewPerson<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO persons (doc_type, doc_lookup, doc_enc, doc_masked, name, phone_enc,
                              phone_masked, region, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (doc_lookup) DO UPDATE SET updated_at = persons.updated_at
         RETURNING id",
    )
    .bind(p.doc_type)
    .bind(p.doc_lookup)
    .bind(p.doc_enc)
    .bind(p.doc_masked)
    .bind(p.name)
    .bind(p.phone_enc)
    .bind(p.phone_masked)
    .bind(p.region)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// Whether a grid-level region exists.
pub async fn is_grid(c: &mut AnyConnection, code: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM regions WHERE code = $1 AND level = 'grid'")
            .bind(code)
            .fetch_optional(c)
            .await?
            .is_some(),
    )
}

/// Every village with its town's name, for matching addresses.
pub async fn villages(c: &mut AnyConnection) -> Result<Vec<VillageName>> {
    sqlx::query(
        "SELECT v.code, v.name, t.name AS town FROM regions v
         JOIN regions t ON t.code = v.parent WHERE v.level = 'village' ORDER BY v.code",
    )
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(VillageName {
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            town: r.try_get("town")?,
        })
    })
    .collect()
}
