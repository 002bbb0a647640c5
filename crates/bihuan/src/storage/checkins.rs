//! SQL for check-ins (stays): the insert path, the reads that build and
//! catch up the in-memory stay index, and plain-SQL contact queries (the
//! benchmark's cross-check and a fallback without the index).

use std::fmt::Write as _;

use bihuan_domain::contacts::Stay;
use sqlx::{AnyConnection, Row};

use crate::error::Result;

/// One stay as it arrives. `t_out` is already the end of the stay
/// (`contacts::stay_end`); `left_given` says whether the visitor gave it.
#[derive(Debug, Clone)]
pub struct NewCheckin {
    pub venue_id: i64,
    pub person_id: i64,
    pub t_in: i64,
    pub t_out: i64,
    pub left_given: bool,
    pub helper_id: Option<i64>,
    pub source: String,
    pub created_at: i64,
}

/// Rows per INSERT statement: 9 parameters each stays well under both
/// backends' limits (SQLite 32766, PostgreSQL 65535).
const INSERT_CHUNK: usize = 1000;

/// Inserts `rows` with multi-row INSERTs; returns how many were inserted.
pub async fn insert_checkins(c: &mut AnyConnection, rows: &[NewCheckin]) -> Result<u64> {
    let mut n = 0;
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut sql = String::with_capacity(120 + chunk.len() * 48);
        sql.push_str(
            "INSERT INTO checkins (venue_id, person_id, t_in, t_out, left_given, helper_id, \
             source, created_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 8;
            if i > 0 {
                sql.push(',');
            }
            let _ = write!(
                sql,
                "(${},${},${},${},${},${},${},${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            );
        }
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.venue_id)
                .bind(r.person_id)
                .bind(r.t_in)
                .bind(r.t_out)
                .bind(i64::from(r.left_given))
                .bind(r.helper_id)
                .bind(r.source.as_str())
                .bind(r.created_at);
        }
        n += q.execute(&mut *c).await?.rows_affected();
    }
    Ok(n)
}

fn stay_row(r: &sqlx::any::AnyRow) -> Result<(i64, Stay)> {
    Ok((
        r.try_get(0)?,
        Stay {
            venue: r.try_get(1)?,
            person: r.try_get(2)?,
            t_in: r.try_get(3)?,
            t_out: r.try_get(4)?,
        },
    ))
}

/// Up to `limit` stays with `id > after`, in id order (keyset paging).
pub async fn stays_after(
    c: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Stay)>> {
    sqlx::query(
        "SELECT id, venue_id, person_id, t_in, t_out FROM checkins WHERE id > $1
         ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(c)
    .await?
    .iter()
    .map(stay_row)
    .collect()
}

/// The stays with these ids (those that exist).
pub async fn stays_by_ids(c: &mut AnyConnection, ids: &[i64]) -> Result<Vec<(i64, Stay)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let mut sql =
            String::from("SELECT id, venue_id, person_id, t_in, t_out FROM checkins WHERE id IN (");
        for i in 0..chunk.len() {
            let _ = write!(sql, "{}${}", if i > 0 { "," } else { "" }, i + 1);
        }
        sql.push(')');
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *c).await? {
            out.push(stay_row(&r)?);
        }
    }
    Ok(out)
}

/// The highest check-in id committed so far (0 when none).
pub async fn max_checkin_id(c: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COALESCE(MAX(id), 0) FROM checkins")
        .fetch_one(c)
        .await?
        .try_get(0)?)
}

/// The longest stay in seconds (0 when none): the backward bound of the
/// SQL contact queries. A full scan; compute it once, not per query.
pub async fn longest_stay(c: &mut AnyConnection) -> Result<i64> {
    Ok(
        sqlx::query("SELECT COALESCE(MAX(t_out - t_in), 0) FROM checkins")
            .fetch_one(c)
            .await?
            .try_get(0)?,
    )
}

/// Widening in seconds per venue kind (`venues.kind`), and for other kinds.
#[derive(Debug, Clone)]
pub struct WidenByKind {
    pub kinds: Vec<(String, i64)>,
    pub default: i64,
}

/// Venue contacts of `case` in plain SQL, by the rules of
/// `bihuan_domain::contacts::trace` restricted to venue evidence (household
/// and tube bonds are not stays): `(person, degree)` sorted, degree 2 only
/// with `secondary`. `longest` bounds the backward search on
/// `(venue_id, t_in)`: pass `longest_stay` or more.
pub async fn contacts_sql(
    c: &mut AnyConnection,
    case: i64,
    (from, to): (i64, i64),
    widen: &WidenByKind,
    longest: i64,
    secondary: bool,
) -> Result<Vec<(i64, u8)>> {
    // $1 case, $2 from, $3 to, $4 longest, $5 default widening, then kinds.
    let mut w = String::from("w(kind, secs) AS (VALUES ('', $5)");
    for i in 0..widen.kinds.len() {
        let _ = write!(w, ", (${}, ${})", 6 + 2 * i, 7 + 2 * i);
    }
    w.push(')');
    // A person's stays overlapping a window, as source intervals (widened,
    // clipped); then the stays at the same venue overlapping those.
    let sql = format!(
        "WITH {w},
        iv AS MATERIALIZED (
            SELECT c.venue_id,
                   CASE WHEN c.t_in - COALESCE(w.secs, $5) > $2
                        THEN c.t_in - COALESCE(w.secs, $5) ELSE $2 END AS lo,
                   CASE WHEN c.t_out + COALESCE(w.secs, $5) < $3
                        THEN c.t_out + COALESCE(w.secs, $5) ELSE $3 END AS hi
            FROM checkins c JOIN venues v ON v.id = c.venue_id LEFT JOIN w ON w.kind = v.kind
            WHERE c.person_id = $1 AND c.t_in < $3 AND c.t_out > $2 AND c.t_in < c.t_out
        ),
        d1 AS MATERIALIZED (
            SELECT b.person_id, MAX(CASE WHEN b.t_out < iv.hi THEN b.t_out ELSE iv.hi END) AS exp
            FROM iv JOIN checkins b ON b.venue_id = iv.venue_id AND b.t_in < iv.hi
                 AND b.t_in > iv.lo - $4 AND b.t_out > iv.lo
            WHERE iv.lo < iv.hi AND b.person_id <> $1 AND b.t_in < b.t_out
            GROUP BY b.person_id
        ){second}
        SELECT person_id, CAST(1 AS BIGINT) FROM d1{second_select}
        ORDER BY 2, 1",
        second = if secondary {
            ",
        iv2 AS MATERIALIZED (
            SELECT c.venue_id,
                   CASE WHEN c.t_in - COALESCE(w.secs, $5) > d1.exp
                        THEN c.t_in - COALESCE(w.secs, $5) ELSE d1.exp END AS lo,
                   CASE WHEN c.t_out + COALESCE(w.secs, $5) < $3
                        THEN c.t_out + COALESCE(w.secs, $5) ELSE $3 END AS hi
            FROM d1 JOIN checkins c ON c.person_id = d1.person_id
                 JOIN venues v ON v.id = c.venue_id LEFT JOIN w ON w.kind = v.kind
            WHERE c.t_in < $3 AND c.t_out > d1.exp AND c.t_in < c.t_out
        ),
        d2 AS (
            SELECT DISTINCT b.person_id
            FROM iv2 JOIN checkins b ON b.venue_id = iv2.venue_id AND b.t_in < iv2.hi
                 AND b.t_in > iv2.lo - $4 AND b.t_out > iv2.lo
            WHERE iv2.lo < iv2.hi AND b.person_id <> $1 AND b.t_in < b.t_out
              AND NOT EXISTS (SELECT 1 FROM d1 WHERE d1.person_id = b.person_id)
        )"
        } else {
            ""
        },
        second_select = if secondary {
            " UNION ALL SELECT person_id, CAST(2 AS BIGINT) FROM d2"
        } else {
            ""
        },
    );
    let mut q = sqlx::query(&sql)
        .bind(case)
        .bind(from)
        .bind(to)
        .bind(longest)
        .bind(widen.default);
    for (kind, secs) in &widen.kinds {
        q = q.bind(kind.as_str()).bind(*secs);
    }
    q.fetch_all(c)
        .await?
        .iter()
        .map(|r| {
            let degree: i64 = r.try_get(1)?;
            Ok((r.try_get(0)?, degree as u8))
        })
        .collect()
}

/// `(venue id, kind)` of the venues with `id > after`, for the widening.
pub async fn venue_kinds_after(c: &mut AnyConnection, after: i64) -> Result<Vec<(i64, String)>> {
    sqlx::query("SELECT id, kind FROM venues WHERE id > $1")
        .bind(after)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}
