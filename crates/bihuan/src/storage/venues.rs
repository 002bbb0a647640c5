//! Venues (场所) and the check-ins made by scanning their codes.

use sqlx::{AnyConnection, Row};

use crate::error::Result;

#[derive(Debug, Clone, serde::Serialize)]
pub struct VenueRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub region: String,
    pub address: String,
    pub state: String,
    pub created_by: String,
    pub created_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
}

const VENUE_COLUMNS: &str =
    "id, code, name, kind, region, address, state, created_by, created_at, decided_by, decided_at";

fn venue_row(r: &sqlx::any::AnyRow) -> Result<VenueRow> {
    Ok(VenueRow {
        id: r.try_get(0)?,
        code: r.try_get(1)?,
        name: r.try_get(2)?,
        kind: r.try_get(3)?,
        region: r.try_get(4)?,
        address: r.try_get(5)?,
        state: r.try_get(6)?,
        created_by: r.try_get(7)?,
        created_at: r.try_get(8)?,
        decided_by: r.try_get(9)?,
        decided_at: r.try_get(10)?,
    })
}

pub struct NewVenue<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub region: &'a str,
    pub address: &'a str,
    pub created_by: &'a str,
}

/// Inserts a pending venue with a placeholder code; the caller signs the id
/// and sets the real code in the same transaction.
pub async fn insert_venue(c: &mut AnyConnection, v: &NewVenue<'_>, now: i64) -> Result<i64> {
    let placeholder = format!("pending-{}", crate::crypto::token(12));
    Ok(sqlx::query(
        "INSERT INTO venues (code, name, kind, region, address, state, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING id",
    )
    .bind(placeholder)
    .bind(v.name)
    .bind(v.kind)
    .bind(v.region)
    .bind(v.address)
    .bind(v.created_by)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn set_venue_code(c: &mut AnyConnection, id: i64, code: &str) -> Result<()> {
    sqlx::query("UPDATE venues SET code = $1 WHERE id = $2")
        .bind(code)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// A venue inside `scope` (a region prefix; "" for any).
pub async fn venue_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<VenueRow>> {
    sqlx::query(&format!(
        "SELECT {VENUE_COLUMNS} FROM venues WHERE id = $1 AND region LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .map(|r| venue_row(&r))
    .transpose()
}

/// Venues inside `scope`, pending first, newest first.
pub async fn venues_in(c: &mut AnyConnection, scope: &str, limit: i64) -> Result<Vec<VenueRow>> {
    sqlx::query(&format!(
        "SELECT {VENUE_COLUMNS} FROM venues WHERE region LIKE $1
         ORDER BY CASE state WHEN 'pending' THEN 0 ELSE 1 END, id DESC LIMIT $2"
    ))
    .bind(format!("{scope}%"))
    .bind(limit)
    .fetch_all(c)
    .await?
    .iter()
    .map(venue_row)
    .collect()
}

/// Moves a venue from `from` to `to`; false when it was not in `from`.
pub async fn decide_venue(
    c: &mut AnyConnection,
    id: i64,
    from: &str,
    to: &str,
    who: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE venues SET state = $1, decided_by = $2, decided_at = $3
         WHERE id = $4 AND state = $5",
    )
    .bind(to)
    .bind(who)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// An approved venue's (code, kind).
pub async fn approved_venue(c: &mut AnyConnection, id: i64) -> Result<Option<(String, String)>> {
    sqlx::query("SELECT code, kind FROM venues WHERE id = $1 AND state = 'approved'")
        .bind(id)
        .fetch_optional(c)
        .await?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
}

/// A person's stays with the venue's name, newest first.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StayRow {
    pub venue_id: i64,
    pub venue_name: String,
    pub t_in: i64,
    pub t_out: i64,
}

pub async fn stays_of(c: &mut AnyConnection, person_id: i64, limit: i64) -> Result<Vec<StayRow>> {
    sqlx::query(
        "SELECT k.venue_id, v.name, k.t_in, k.t_out FROM checkins k
         JOIN venues v ON v.id = k.venue_id
         WHERE k.person_id = $1 ORDER BY k.t_in DESC LIMIT $2",
    )
    .bind(person_id)
    .bind(limit)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(StayRow {
            venue_id: r.try_get(0)?,
            venue_name: r.try_get(1)?,
            t_in: r.try_get(2)?,
            t_out: r.try_get(3)?,
        })
    })
    .collect()
}

/// Names and kinds of venues by id, for showing evidence.
pub async fn venue_names(c: &mut AnyConnection, ids: &[i64]) -> Result<Vec<(i64, String, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(200) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let rows = sqlx::query(&format!(
            "SELECT id, name, kind FROM venues WHERE id IN ({list})"
        ))
        .fetch_all(&mut *c)
        .await?;
        for r in rows {
            out.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
        }
    }
    Ok(out)
}
