//! 指挥部看板 and 日报: set-based counts per sub-region, the lists behind
//! them, the daily snapshot of figures and the kept reports.
//!
//! Every figure is one [`Metric`]: a FROM, the column that places a row in a
//! region, and a WHERE. The count (`GROUP BY substr(region, 1, n)`) and the
//! list use the same text, so a number always equals the length of its list.

use std::collections::HashMap;

use bihuan_domain::monitoring::TestRecord;
use sqlx::{AnyConnection, Row};

use crate::error::{Error, Result};

/// The time points a metric's WHERE may name, as `?now`, `?today`, `?from14`
/// and `?closure_from` (unix seconds), and `?day` (today's civil date).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub now: i64,
    pub today: i64,
    pub from14: i64,
    pub closure_from: i64,
    pub day: bihuan_domain::Date,
}

impl Window {
    fn value(&self, token: &str) -> i64 {
        match token {
            "now" => self.now,
            "today" => self.today,
            "from14" => self.from14,
            _ => self.closure_from,
        }
    }
}

/// One figure's SQL.
pub struct Metric {
    pub key: &'static str,
    /// Counting reads this; the list reads `list_from` (with the names).
    pub count_from: &'static str,
    pub list_from: &'static str,
    pub region: &'static str,
    pub filter: &'static str,
    /// The WHERE that leaves a drill's records out: no real figure counts
    /// them (and so neither does the 日报, made from these).
    pub real: &'static str,
    /// The column broken down by (a category), when the tile shows it.
    pub category: Option<&'static str>,
    /// id, person_id, name, doc_masked, region, what, state, at
    pub list_columns: &'static str,
    pub order: &'static str,
}

const DECL_FROM: &str = "declarations d JOIN persons p ON p.id = d.person_id";
const DECL_COLS: &str =
    "d.id, p.id, p.name, p.doc_masked, p.region, d.category, d.arrival_date, d.received_at";
const CTRL_FROM: &str = "controls k JOIN persons p ON p.id = k.person_id";
const CTRL_COLS: &str =
    "p.id, p.id, p.name, p.doc_masked, p.region, k.category, k.status, k.updated_at";
const TASK_LIST_FROM: &str = "tasks t LEFT JOIN persons p ON p.id = t.person_id";
const TASK_COLS: &str = "t.id, t.person_id, COALESCE(p.name, ''), COALESCE(p.doc_masked, ''), \
     t.region, t.kind, t.state, t.due_at";
const OPEN: &str = "t.state IN ('dispatched', 'acknowledged', 'reported')";

pub const METRICS: &[Metric] = &[
    // Declarations received today (the date they came in), and declarations
    // of people arriving today (the date they give): both, labelled.
    Metric {
        key: "arriving_today",
        count_from: DECL_FROM,
        list_from: DECL_FROM,
        region: "p.region",
        filter: "d.arrival_date = ?day",
        real: "p.drill_id IS NULL",
        category: Some("d.category"),
        list_columns: DECL_COLS,
        order: "d.id",
    },
    Metric {
        key: "arrivals_today",
        count_from: DECL_FROM,
        list_from: DECL_FROM,
        region: "p.region",
        filter: "d.received_at >= ?today",
        real: "p.drill_id IS NULL",
        category: Some("d.category"),
        list_columns: DECL_COLS,
        order: "d.id",
    },
    Metric {
        key: "arrivals_14d",
        count_from: DECL_FROM,
        list_from: DECL_FROM,
        region: "p.region",
        filter: "d.received_at >= ?from14",
        real: "p.drill_id IS NULL",
        category: Some("d.category"),
        list_columns: DECL_COLS,
        order: "d.id",
    },
    Metric {
        key: "under_control",
        count_from: CTRL_FROM,
        list_from: CTRL_FROM,
        region: "p.region",
        filter: "k.status IN ('active', 'due_for_release')",
        real: "p.drill_id IS NULL",
        category: Some("k.category"),
        list_columns: CTRL_COLS,
        order: "p.id",
    },
    Metric {
        key: "positives",
        count_from: CTRL_FROM,
        list_from: CTRL_FROM,
        region: "p.region",
        filter: "k.status = 'positive'",
        real: "p.drill_id IS NULL",
        category: None,
        list_columns: CTRL_COLS,
        order: "p.id",
    },
    Metric {
        key: "tasks_open",
        count_from: "tasks t",
        list_from: TASK_LIST_FROM,
        region: "t.region",
        filter: OPEN,
        real: "t.drill_id IS NULL",
        category: None,
        list_columns: TASK_COLS,
        order: "t.due_at, t.id",
    },
    Metric {
        key: "tasks_overdue",
        count_from: "tasks t",
        list_from: TASK_LIST_FROM,
        region: "t.region",
        // domain::task::is_overdue
        filter: "t.state IN ('dispatched', 'acknowledged') AND t.due_at < ?now",
        real: "t.drill_id IS NULL",
        category: None,
        list_columns: TASK_COLS,
        order: "t.due_at, t.id",
    },
    Metric {
        key: "tasks_escalated",
        count_from: "tasks t",
        list_from: TASK_LIST_FROM,
        region: "t.region",
        filter: "t.state IN ('dispatched', 'acknowledged', 'reported') \
                 AND t.escalated_to IS NOT NULL",
        real: "t.drill_id IS NULL",
        category: None,
        list_columns: TASK_COLS,
        order: "t.due_at, t.id",
    },
    Metric {
        key: "tasks_due",
        count_from: "tasks t",
        list_from: TASK_LIST_FROM,
        region: "t.region",
        filter: "t.due_at >= ?closure_from AND t.due_at <= ?now",
        real: "t.drill_id IS NULL",
        category: None,
        list_columns: TASK_COLS,
        order: "t.due_at, t.id",
    },
    Metric {
        key: "tasks_closed_in_time",
        count_from: "tasks t",
        list_from: TASK_LIST_FROM,
        region: "t.region",
        // A closed task's updated_at is when it was closed.
        filter: "t.due_at >= ?closure_from AND t.due_at <= ?now \
                 AND t.state = 'closed' AND t.updated_at <= t.due_at",
        real: "t.drill_id IS NULL",
        category: None,
        list_columns: TASK_COLS,
        order: "t.due_at, t.id",
    },
    Metric {
        key: "help_waiting",
        count_from: "help_requests h JOIN tasks t ON t.id = h.task_id",
        list_from: "help_requests h JOIN tasks t ON t.id = h.task_id \
                    JOIN persons p ON p.id = h.person_id",
        region: "t.region",
        // As the 暖心服务 queue counts them (monitoring::open_help_by_town).
        filter: "t.state IN ('dispatched', 'acknowledged')",
        real: "t.drill_id IS NULL",
        category: None,
        list_columns: "h.id, h.person_id, p.name, p.doc_masked, t.region, h.kind, t.state, \
                       h.created_at",
        order: "h.id",
    },
];

pub fn metric(key: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.key == key)
}

/// Replaces `?token`s with `$n` from `first` on; returns the SQL and binds.
fn placeholders(sql: &str, w: &Window, first: usize) -> (String, Vec<i64>) {
    let mut out = String::with_capacity(sql.len());
    let mut binds = Vec::new();
    let mut rest = sql;
    while let Some(i) = rest.find('?') {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 1..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if &tail[..end] == "day" {
            // A date the server formats (YYYY-MM-DD), never input: inline.
            out.push_str(&format!("'{}'", w.day.format("%Y-%m-%d")));
        } else {
            binds.push(w.value(&tail[..end]));
            out.push_str(&format!("${}", first + binds.len() - 1));
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    (out, binds)
}

/// (group, category or "", count) per sub-region: the region column cut to
/// `depth` characters, within `scope`.
pub async fn counts(
    c: &mut AnyConnection,
    m: &Metric,
    scope: &str,
    depth: usize,
    w: &Window,
) -> Result<Vec<(String, String, i64)>> {
    let (filter, binds) = placeholders(m.filter, w, 2);
    let (cat, group_cat) = match m.category {
        Some(col) => (col, format!(", {col}")),
        None => ("''", String::new()),
    };
    let sql = format!(
        "SELECT substr({r}, 1, {depth}) AS g, {cat} AS cat, COUNT(*) AS n FROM {from}
         WHERE {r} LIKE $1 AND {real} AND {filter} GROUP BY substr({r}, 1, {depth}){group_cat}",
        r = m.region,
        real = m.real,
        from = m.count_from,
    );
    let mut q = sqlx::query(&sql).bind(format!("{scope}%"));
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// Several metrics over the same FROM and region column, without
/// categories, in one scan: `SUM(CASE WHEN <filter> ...)` per metric over
/// the rows any of them keeps. The filters are the metrics' own text.
/// Returns (group, metric key, count) for non-zero counts.
pub async fn counts_together(
    c: &mut AnyConnection,
    ms: &[&Metric],
    scope: &str,
    depth: usize,
    w: &Window,
) -> Result<Vec<(String, &'static str, i64)>> {
    let Some(first) = ms.first() else {
        return Ok(Vec::new());
    };
    let sums: Vec<String> = ms
        .iter()
        .map(|m| format!("SUM(CASE WHEN {} THEN 1 ELSE 0 END)", m.filter))
        .collect();
    let any: Vec<String> = ms.iter().map(|m| format!("({})", m.filter)).collect();
    let text = format!(
        "SELECT substr({r}, 1, {depth}), {sums} FROM {from}
         WHERE {r} LIKE $1 AND {real} AND ({any}) GROUP BY substr({r}, 1, {depth})",
        r = first.region,
        real = first.real,
        from = first.count_from,
        sums = sums.join(", "),
        any = any.join(" OR "),
    );
    let (sql, binds) = placeholders(&text, w, 2);
    let mut q = sqlx::query(&sql).bind(format!("{scope}%"));
    for b in binds {
        q = q.bind(b);
    }
    let mut out = Vec::new();
    for r in q.fetch_all(c).await? {
        let g: String = r.try_get(0)?;
        for (i, m) in ms.iter().enumerate() {
            let n: i64 = r.try_get::<Option<i64>, _>(i + 1)?.unwrap_or(0);
            if n > 0 {
                out.push((g.clone(), m.key, n));
            }
        }
    }
    Ok(out)
}

/// One row of a list behind a number.
#[derive(Debug, Clone)]
pub struct ListRow {
    pub id: i64,
    pub person_id: Option<i64>,
    pub name: String,
    pub doc_masked: String,
    pub region: String,
    pub what: String,
    pub state: String,
    pub at: i64,
}

/// The rows behind `m` within `scope` (optionally one category), at most `limit`.
pub async fn list(
    c: &mut AnyConnection,
    m: &Metric,
    scope: &str,
    category: Option<&str>,
    w: &Window,
    limit: i64,
) -> Result<Vec<ListRow>> {
    let (filter, binds) = placeholders(m.filter, w, 3);
    let by_cat = match (m.category, category) {
        (Some(col), Some(_)) => format!(" AND {col} = $2"),
        (None, Some(_)) => return Err(Error::NotFound),
        _ => " AND $2 = $2".to_string(),
    };
    let sql = format!(
        "SELECT {cols} FROM {from} WHERE {r} LIKE $1{by_cat} AND {real} AND {filter}
         ORDER BY {order} LIMIT {limit}",
        real = m.real,
        cols = m.list_columns,
        from = m.list_from,
        r = m.region,
        order = m.order,
    );
    let mut q = sqlx::query(&sql)
        .bind(format!("{scope}%"))
        .bind(category.unwrap_or("").to_string());
    for b in binds {
        q = q.bind(b);
    }
    q.fetch_all(c)
        .await?
        .iter()
        .map(|r| {
            Ok(ListRow {
                id: r.try_get(0)?,
                person_id: r.try_get(1)?,
                name: r.try_get(2)?,
                doc_masked: r.try_get(3)?,
                region: r.try_get(4)?,
                what: r.try_get(5)?,
                state: r.try_get(6)?,
                at: r.try_get(7)?,
            })
        })
        .collect()
}

// ---------- today's tests (the monitoring rules run over these) ----------

/// What changes today's test obligations: running controls, people moving,
/// and test results since `from`. (controls, their latest change, people's
/// latest change, results since `from`, their highest id.)
pub async fn tests_fingerprint(c: &mut AnyConnection, from: &str) -> Result<[i64; 5]> {
    let k = sqlx::query("SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM controls")
        .fetch_one(&mut *c)
        .await?;
    let p = sqlx::query("SELECT COALESCE(MAX(updated_at), 0) FROM persons")
        .fetch_one(&mut *c)
        .await?;
    // The count too: on PostgreSQL a lower id can commit after a higher one.
    let t = sqlx::query(
        "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM test_results WHERE sampled_on >= $1",
    )
    .bind(from)
    .fetch_one(&mut *c)
    .await?;
    Ok([
        k.try_get(0)?,
        k.try_get(1)?,
        p.try_get(0)?,
        t.try_get(0)?,
        t.try_get(1)?,
    ])
}

pub struct Running {
    pub person_id: i64,
    pub grid: String,
    pub name: String,
    pub doc_masked: String,
    /// When the control last changed: its plan is re-read only then.
    pub updated_at: i64,
}

/// Everyone whose plan runs (as `monitoring::running_controls` picks them),
/// without the plans themselves.
pub async fn running(c: &mut AnyConnection) -> Result<Vec<Running>> {
    sqlx::query(
        "SELECT k.person_id, p.region, p.name, p.doc_masked, k.updated_at
         FROM controls k JOIN persons p ON p.id = k.person_id
         WHERE k.status IN ('active', 'due_for_release') AND p.drill_id IS NULL",
    )
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(Running {
            person_id: r.try_get(0)?,
            grid: r.try_get(1)?,
            name: r.try_get(2)?,
            doc_masked: r.try_get(3)?,
            updated_at: r.try_get(4)?,
        })
    })
    .collect()
}

/// The stored assessments (with their plans) of these people's controls.
pub async fn assessments(c: &mut AnyConnection, people: &[i64]) -> Result<Vec<(i64, String)>> {
    let mut out = Vec::with_capacity(people.len());
    for chunk in people.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT person_id, assessment FROM controls WHERE person_id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *c).await? {
            out.push((r.try_get(0)?, r.try_get(1)?));
        }
    }
    Ok(out)
}

/// Test records sampled on `from` or later, by person.
pub async fn tests_since(
    c: &mut AnyConnection,
    from: &str,
) -> Result<HashMap<i64, Vec<TestRecord>>> {
    let mut out: HashMap<i64, Vec<TestRecord>> = HashMap::new();
    for r in sqlx::query(
        "SELECT person_id, sampled_on, result FROM test_results WHERE sampled_on >= $1 ORDER BY id",
    )
    .bind(from)
    .fetch_all(c)
    .await?
    {
        if let Some(t) = crate::storage::monitoring::test_record(&r) {
            out.entry(r.try_get(0)?).or_default().push(t);
        }
    }
    Ok(out)
}

// ---------- the daily snapshot ----------

/// Replaces `on_date`'s figures with `rows` (region, figure, value).
pub async fn put_figures(
    c: &mut AnyConnection,
    on_date: &str,
    rows: &[(String, String, i64)],
) -> Result<()> {
    sqlx::query("DELETE FROM daily_figures WHERE on_date = $1")
        .bind(on_date)
        .execute(&mut *c)
        .await?;
    for chunk in rows.chunks(200) {
        let mut sql =
            String::from("INSERT INTO daily_figures (on_date, region, figure, value) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            let b = i * 4;
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
        }
        let mut q = sqlx::query(&sql);
        for (region, figure, value) in chunk {
            q = q
                .bind(on_date)
                .bind(region.clone())
                .bind(figure.clone())
                .bind(*value);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// The newest day before `day` with a snapshot.
pub async fn latest_figures_before(c: &mut AnyConnection, day: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query("SELECT MAX(on_date) FROM daily_figures WHERE on_date < $1")
            .bind(day)
            .fetch_one(c)
            .await?
            .try_get(0)?,
    )
}

/// (date, group, figure, sum) from `from` on, within `scope`, the region cut
/// to `depth` characters.
pub async fn figures_since(
    c: &mut AnyConnection,
    scope: &str,
    depth: usize,
    from: &str,
    until: &str,
) -> Result<Vec<(String, String, String, i64)>> {
    sqlx::query(&format!(
        "SELECT on_date, substr(region, 1, {depth}), figure, CAST(SUM(value) AS BIGINT) FROM daily_figures
         WHERE on_date >= $1 AND on_date <= $2 AND region LIKE $3
         GROUP BY on_date, substr(region, 1, {depth}), figure"
    ))
    .bind(from)
    .bind(until)
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
    .collect()
}

// ---------- kept reports ----------

pub struct ReportRow {
    pub id: i64,
    pub on_date: String,
    pub origin: String,
    pub created_by: String,
    pub created_at: i64,
    pub body: String,
}

pub async fn insert_report(
    c: &mut AnyConnection,
    on_date: &str,
    origin: &str,
    created_by: &str,
    created_at: i64,
    body: &str,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO daily_reports (on_date, origin, created_by, created_at, body)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(on_date)
    .bind(origin)
    .bind(created_by)
    .bind(created_at)
    .bind(body)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

fn report_row(r: &sqlx::any::AnyRow) -> Result<ReportRow> {
    Ok(ReportRow {
        id: r.try_get(0)?,
        on_date: r.try_get(1)?,
        origin: r.try_get(2)?,
        created_by: r.try_get(3)?,
        created_at: r.try_get(4)?,
        body: r.try_get(5)?,
    })
}

/// The kept reports, newest first, without their bodies.
pub async fn reports(c: &mut AnyConnection, limit: i64) -> Result<Vec<ReportRow>> {
    sqlx::query(&format!(
        "SELECT id, on_date, origin, created_by, created_at, '' FROM daily_reports
         ORDER BY on_date DESC, id DESC LIMIT {limit}"
    ))
    .fetch_all(c)
    .await?
    .iter()
    .map(report_row)
    .collect()
}

pub async fn report(c: &mut AnyConnection, id: i64) -> Result<Option<ReportRow>> {
    sqlx::query(
        "SELECT id, on_date, origin, created_by, created_at, body FROM daily_reports
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(report_row)
    .transpose()
}

/// (code, name) of the regions within `scope`.
pub async fn region_names(c: &mut AnyConnection, scope: &str) -> Result<Vec<(String, String)>> {
    sqlx::query("SELECT code, name FROM regions WHERE code LIKE $1")
        .bind(format!("{scope}%"))
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_become_numbered_placeholders() {
        let w = Window {
            now: 4,
            today: 3,
            from14: 2,
            closure_from: 1,
            day: "2022-01-28".parse().unwrap(),
        };
        let (sql, binds) = placeholders("a >= ?closure_from AND a <= ?now AND b < ?now", &w, 3);
        assert_eq!(sql, "a >= $3 AND a <= $4 AND b < $5");
        assert_eq!(binds, vec![1, 4, 4]);
        let (sql, binds) = placeholders("d = ?day AND a >= ?today", &w, 2);
        assert_eq!(sql, "d = '2022-01-28' AND a >= $2");
        assert_eq!(binds, vec![3]);
    }
}
