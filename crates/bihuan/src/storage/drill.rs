//! 应急演练: the drills, their threads and synthetic people, the event log a
//! report reads, and the purge that removes every record a drill made.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::Backend;
use super::repo::NewPerson;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct DrillRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub announced: bool,
    pub region: String,
    #[serde(skip)]
    pub script: String,
    pub started_by: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub purged_at: Option<i64>,
    #[serde(skip)]
    pub report: Option<String>,
}

const COLS: &str = "id, name, kind, announced, region, script, started_by, started_at, ended_at, \
                    purged_at, report";

fn drill_row(r: &sqlx::any::AnyRow) -> Result<DrillRow> {
    Ok(DrillRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        announced: r.try_get::<i64, _>("announced")? != 0,
        region: r.try_get("region")?,
        script: r.try_get("script")?,
        started_by: r.try_get("started_by")?,
        started_at: r.try_get("started_at")?,
        ended_at: r.try_get("ended_at")?,
        purged_at: r.try_get("purged_at")?,
        report: r.try_get("report")?,
    })
}

pub struct NewDrill<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub announced: bool,
    pub region: &'a str,
    pub script: &'a str,
    pub started_by: &'a str,
}

pub async fn insert_drill(c: &mut AnyConnection, d: &NewDrill<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO drills (name, kind, announced, region, script, started_by, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(d.name)
    .bind(d.kind)
    .bind(i64::from(d.announced))
    .bind(d.region)
    .bind(d.script)
    .bind(d.started_by)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// The drill if it lies within `scope`.
pub async fn drill_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<DrillRow>> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM drills WHERE id = $1 AND region LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .map(|r| drill_row(&r))
    .transpose()
}

/// The drills within `scope`, newest first.
pub async fn drills_in(c: &mut AnyConnection, scope: &str) -> Result<Vec<DrillRow>> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM drills WHERE region LIKE $1 ORDER BY id DESC LIMIT 200"
    ))
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(drill_row)
    .collect()
}

pub async fn finish(
    c: &mut AnyConnection,
    id: i64,
    report: &str,
    now: i64,
    purged: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE drills SET ended_at = COALESCE(ended_at, $1), report = $2,
                           purged_at = CASE WHEN $3 = 1 THEN $1 ELSE purged_at END
         WHERE id = $4",
    )
    .bind(now)
    .bind(report)
    .bind(i64::from(purged))
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

/// A synthetic person of the drill, made before anything is injected so
/// that the real intake paths find them flagged. A Conflict when the
/// document belongs to someone already on file.
pub async fn register_person(
    c: &mut AnyConnection,
    drill: i64,
    p: &NewPerson<'_>,
    now: i64,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO persons (doc_type, doc_lookup, doc_enc, doc_masked, name, phone_enc,
                              phone_masked, region, created_at, updated_at, drill_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)
         ON CONFLICT (doc_lookup) DO NOTHING RETURNING id",
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
    .bind(drill)
    .fetch_optional(c)
    .await?;
    match row {
        Some(r) => Ok(r.try_get(0)?),
        None => Err(Error::Conflict(format!(
            "a synthetic document {} is already on file",
            p.doc_masked
        ))),
    }
}

pub async fn insert_thread(
    c: &mut AnyConnection,
    drill: i64,
    thread: &str,
    person_id: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO drill_threads (drill_id, thread, person_id) VALUES ($1, $2, $3)")
        .bind(drill)
        .bind(thread)
        .bind(person_id)
        .execute(c)
        .await?;
    Ok(())
}

/// Threads of every drill ever started (numbers for synthetic people).
pub async fn thread_count(c: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) FROM drill_threads")
        .fetch_one(c)
        .await?
        .try_get(0)?)
}

pub async fn mark_injected(c: &mut AnyConnection, drill: i64, thread: &str, at: i64) -> Result<()> {
    sqlx::query("UPDATE drill_threads SET injected_at = $1 WHERE drill_id = $2 AND thread = $3")
        .bind(at)
        .bind(drill)
        .bind(thread)
        .execute(c)
        .await?;
    Ok(())
}

/// (thread, person, injected at) of the drill, in the script's order.
pub async fn threads(c: &mut AnyConnection, drill: i64) -> Result<Vec<(String, i64, Option<i64>)>> {
    sqlx::query(
        "SELECT thread, person_id, injected_at FROM drill_threads WHERE drill_id = $1 ORDER BY id",
    )
    .bind(drill)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

/// A record the drill made that hangs on no person (a venue, a passage, a
/// goods holder), and the thread it belongs to: the purge starts from it
/// too, and a holder's seal tasks are its thread's.
pub async fn add_root(
    c: &mut AnyConnection,
    drill: i64,
    thread: &str,
    table: &str,
    row_id: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO drill_roots (drill_id, thread, tbl, row_id) VALUES ($1, $2, $3, $4)")
        .bind(drill)
        .bind(thread)
        .bind(table)
        .bind(row_id)
        .execute(c)
        .await?;
    Ok(())
}

/// The drill a goods holder belongs to, if any: its seal tasks are then
/// the drill's from their first write.
pub async fn flag_holder_task(c: &mut AnyConnection, task: i64, holder: i64) -> Result<()> {
    sqlx::query(
        "UPDATE tasks SET drill_id = (SELECT MIN(drill_id) FROM drill_roots
                                      WHERE tbl = 'goods_holders' AND row_id = $2)
         WHERE id = $1",
    )
    .bind(task)
    .bind(holder)
    .execute(c)
    .await?;
    Ok(())
}

/// A thread's records that name no person are its goods holders' seal
/// tasks: this joins them in (`r` the root, `s` the seal), for queries that
/// take the person's side and these.
const SEALS_OF_ROOTS: &str = "drill_roots r JOIN trace_back_seals s
     ON r.tbl = 'goods_holders' AND s.holder_id = r.row_id";

/// The event log of each thread's person: (kind, at) by thread.
pub async fn thread_events(
    c: &mut AnyConnection,
    drill: i64,
) -> Result<BTreeMap<String, Vec<(String, i64)>>> {
    let mut out: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
    // The person's events, and those of the thread's seal tasks (which
    // name no person, so nothing is counted twice).
    for r in sqlx::query(&format!(
        "SELECT t.thread, e.kind, e.at, e.id FROM drill_threads t
         JOIN events e ON e.person_id = t.person_id
         WHERE t.drill_id = $1
         UNION ALL
         SELECT r.thread, e.kind, e.at, e.id FROM {SEALS_OF_ROOTS}
         JOIN events e ON e.task_id = s.task_id
         WHERE r.drill_id = $1
         ORDER BY 4"
    ))
    .bind(drill)
    .fetch_all(c)
    .await?
    {
        out.entry(r.try_get(0)?)
            .or_default()
            .push((r.try_get(1)?, r.try_get(2)?));
    }
    Ok(out)
}

/// The tasks of a thread in `state`, oldest first.
pub async fn tasks_of(
    c: &mut AnyConnection,
    drill: i64,
    thread: &str,
    state: &str,
) -> Result<Vec<i64>> {
    sqlx::query(&format!(
        "SELECT k.id FROM drill_threads t JOIN tasks k ON k.person_id = t.person_id
         WHERE t.drill_id = $1 AND t.thread = $2 AND k.state = $3
         UNION
         SELECT k.id FROM {SEALS_OF_ROOTS} JOIN tasks k ON k.id = s.task_id
         WHERE r.drill_id = $1 AND r.thread = $2 AND k.state = $3
         ORDER BY 1"
    ))
    .bind(drill)
    .bind(thread)
    .bind(state)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

/// The threads whose person still has a task not closed.
pub async fn threads_open(c: &mut AnyConnection, drill: i64) -> Result<BTreeSet<String>> {
    sqlx::query(&format!(
        "SELECT t.thread FROM drill_threads t JOIN tasks k ON k.person_id = t.person_id
         WHERE t.drill_id = $1 AND k.state <> 'closed'
         UNION
         SELECT r.thread FROM {SEALS_OF_ROOTS} JOIN tasks k ON k.id = s.task_id
         WHERE r.drill_id = $1 AND k.state <> 'closed'"
    ))
    .bind(drill)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

/// How many records the drill has: people, tasks, alerts.
pub async fn record_counts(c: &mut AnyConnection, drill: i64) -> Result<[i64; 3]> {
    let mut out = [0; 3];
    for (i, table) in ["persons", "tasks", "alerts"].iter().enumerate() {
        out[i] = sqlx::query(&format!("SELECT COUNT(*) FROM {table} WHERE drill_id = $1"))
            .bind(drill)
            .fetch_one(&mut *c)
            .await?
            .try_get(0)?;
    }
    Ok(out)
}

// ---------- the purge ----------

/// Which columns point at which table, read from the database's own
/// catalogue, so a table added later is purged without touching this code.
/// A column named `person_id` or `task_id` counts as pointing at persons or
/// tasks even without a declared key (the event log).
struct Catalogue {
    /// parent table → (child table, column)
    refs: BTreeMap<String, Vec<(String, String)>>,
    /// Tables with an `id` column, whose children can be followed.
    with_id: BTreeSet<String>,
}

async fn catalogue(c: &mut AnyConnection, backend: Backend) -> Result<Catalogue> {
    let (fk_sql, col_sql) = match backend {
        Backend::Sqlite => (
            "SELECT m.name, p.\"from\", p.\"table\"
             FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS p
             WHERE m.type = 'table'",
            "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p
             WHERE m.type = 'table'",
        ),
        Backend::Postgres => (
            "SELECT cl.relname::text, a.attname::text, rf.relname::text
             FROM pg_constraint co
             JOIN pg_class cl ON cl.oid = co.conrelid
             JOIN pg_class rf ON rf.oid = co.confrelid
             JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1]
             WHERE co.contype = 'f' AND cl.relnamespace = current_schema()::regnamespace",
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema()",
        ),
    };
    let mut refs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in sqlx::query(fk_sql).fetch_all(&mut *c).await? {
        let (child, col, parent): (String, String, String) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        refs.entry(parent).or_default().push((child, col));
    }
    let mut with_id = BTreeSet::new();
    for r in sqlx::query(col_sql).fetch_all(&mut *c).await? {
        let (table, col): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        let parent = match col.as_str() {
            "id" => {
                with_id.insert(table);
                continue;
            }
            "person_id" => "persons",
            "task_id" => "tasks",
            _ => continue,
        };
        let list = refs.entry(parent.to_string()).or_default();
        if table != parent && !list.iter().any(|(t, c)| *t == table && *c == col) {
            list.push((table, col));
        }
    }
    Ok(Catalogue { refs, with_id })
}

/// Deletes rows `ids` of `table` and, first, every row that points at them,
/// to any depth.
fn purge_rows<'a>(
    c: &'a mut AnyConnection,
    cat: &'a Catalogue,
    table: &'a str,
    ids: Vec<i64>,
    depth: usize,
) -> futures_util::future::BoxFuture<'a, Result<u64>> {
    Box::pin(async move {
        if ids.is_empty() {
            return Ok(0);
        }
        if depth > 16 {
            return Err(Error::Conflict(format!("purge: {table} nests too deep")));
        }
        let mut gone = 0;
        for chunk in ids.chunks(500) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            for (child, col) in cat.refs.get(table).into_iter().flatten() {
                // The drill's own bookkeeping outlives its records.
                if child.starts_with("drill") {
                    continue;
                }
                if cat.with_id.contains(child) {
                    let child_ids: Vec<i64> =
                        sqlx::query(&format!("SELECT id FROM {child} WHERE {col} IN ({list})"))
                            .fetch_all(&mut *c)
                            .await?
                            .iter()
                            .map(|r| r.try_get(0))
                            .collect::<std::result::Result<_, _>>()?;
                    gone += purge_rows(&mut *c, cat, child, child_ids, depth + 1).await?;
                } else {
                    gone += sqlx::query(&format!("DELETE FROM {child} WHERE {col} IN ({list})"))
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                }
            }
            gone += sqlx::query(&format!("DELETE FROM {table} WHERE id IN ({list})"))
                .execute(&mut *c)
                .await?
                .rows_affected();
        }
        Ok(gone)
    })
}

async fn ids(c: &mut AnyConnection, sql: &str, drill: i64) -> Result<Vec<i64>> {
    sqlx::query(sql)
        .bind(drill)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// Removes every record of the drill: its alerts, tasks, the records with
/// no person it noted, its people and all that hangs on them. Returns the
/// number of rows deleted. The drill's own row, threads and report stay.
pub async fn purge(c: &mut AnyConnection, backend: Backend, drill: i64) -> Result<u64> {
    let cat = catalogue(c, backend).await?;
    let mut gone = 0;
    let alerts = ids(c, "SELECT id FROM alerts WHERE drill_id = $1", drill).await?;
    gone += purge_rows(c, &cat, "alerts", alerts, 0).await?;
    let tasks = ids(c, "SELECT id FROM tasks WHERE drill_id = $1", drill).await?;
    gone += purge_rows(c, &cat, "tasks", tasks, 0).await?;
    let roots: Vec<(String, i64)> =
        sqlx::query("SELECT tbl, row_id FROM drill_roots WHERE drill_id = $1 ORDER BY row_id")
            .bind(drill)
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_>>()?;
    let persons = ids(c, "SELECT id FROM persons WHERE drill_id = $1", drill).await?;
    // People first: a root (a venue) may be what their records point at.
    gone += purge_rows(c, &cat, "persons", persons, 0).await?;
    for (table, id) in roots {
        if !cat.with_id.contains(&table) {
            return Err(Error::Conflict(format!("purge: unknown table {table}")));
        }
        gone += purge_rows(c, &cat, &table, vec![id], 0).await?;
    }
    Ok(gone)
}
