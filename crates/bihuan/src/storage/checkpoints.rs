//! 卡口: passages, their travellers and the 转运 hand-overs.

use sqlx::{AnyConnection, Row};

use crate::error::Result;

pub async fn insert_passage(
    c: &mut AnyConnection,
    client_id: &str,
    venue_id: i64,
    region: &str,
    plate: Option<&str>,
    by: &str,
    at: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO checkpoint_passages (client_id, venue_id, region, plate, recorded_by, at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(super::venue_key(venue_id, client_id))
    .bind(venue_id)
    .bind(region)
    .bind(plate)
    .bind(by)
    .bind(at)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// A passage the checkpoint already stored under its own id.
pub async fn passage_by_client_id(
    c: &mut AnyConnection,
    venue_id: i64,
    client_id: &str,
) -> Result<Option<i64>> {
    sqlx::query("SELECT id FROM checkpoint_passages WHERE client_id = $1")
        .bind(super::venue_key(venue_id, client_id))
        .fetch_optional(c)
        .await?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
}

pub struct NewTraveller<'a> {
    pub passage_id: i64,
    pub person_id: i64,
    pub doc_enc: &'a str,
    pub phone_enc: &'a str,
    pub origin: &'a str,
    pub health_code: &'a str,
    pub trip_star: bool,
    pub negative_48h: bool,
    pub village: &'a str,
    pub address: &'a str,
    pub decision: &'a str,
    pub declaration_id: Option<i64>,
    pub on_behalf: bool,
}

pub async fn insert_traveller(c: &mut AnyConnection, t: &NewTraveller<'_>) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO checkpoint_travellers (passage_id, person_id, doc_enc, phone_enc, origin,
             health_code, trip_star, negative_48h, village, address, decision, declaration_id,
             on_behalf)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(t.passage_id)
    .bind(t.person_id)
    .bind(t.doc_enc)
    .bind(t.phone_enc)
    .bind(t.origin)
    .bind(t.health_code)
    .bind(i64::from(t.trip_star))
    .bind(i64::from(t.negative_48h))
    .bind(t.village)
    .bind(t.address)
    .bind(t.decision)
    .bind(t.declaration_id)
    .bind(i64::from(t.on_behalf))
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// One traveller of a stored passage, with their hand-over if any.
pub struct TravellerRow {
    pub id: i64,
    pub person_id: i64,
    pub decision: String,
    pub declaration_id: Option<i64>,
    pub on_behalf: bool,
    pub transfer_id: Option<i64>,
}

pub async fn travellers_of(c: &mut AnyConnection, passage_id: i64) -> Result<Vec<TravellerRow>> {
    sqlx::query(
        "SELECT t.id, t.person_id, t.decision, t.declaration_id, t.on_behalf, x.id
         FROM checkpoint_travellers t
         LEFT JOIN checkpoint_transfers x ON x.traveller_id = t.id
         WHERE t.passage_id = $1 ORDER BY t.id",
    )
    .bind(passage_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(TravellerRow {
            id: r.try_get(0)?,
            person_id: r.try_get(1)?,
            decision: r.try_get(2)?,
            declaration_id: r.try_get(3)?,
            on_behalf: r.try_get::<i64, _>(4)? != 0,
            transfer_id: r.try_get(5)?,
        })
    })
    .collect()
}

/// The person's latest declaration received at or after `since`.
pub async fn declaration_since(
    c: &mut AnyConnection,
    person_id: i64,
    since: i64,
) -> Result<Option<i64>> {
    let r = sqlx::query(
        "SELECT id FROM declarations WHERE person_id = $1 AND received_at >= $2
         ORDER BY received_at DESC, id DESC LIMIT 1",
    )
    .bind(person_id)
    .bind(since)
    .fetch_optional(c)
    .await?;
    Ok(match r {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

/// Persons whose masked phone is `masked`: the candidates whose encrypted
/// phone the caller compares.
pub async fn persons_by_masked_phone(
    c: &mut AnyConnection,
    masked: &str,
) -> Result<Vec<(i64, String)>> {
    sqlx::query("SELECT id, phone_enc FROM persons WHERE phone_masked = $1 ORDER BY id LIMIT 200")
        .bind(masked)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub struct NewTransfer<'a> {
    pub traveller_id: i64,
    pub person_id: i64,
    pub grid: &'a str,
    pub due_at: i64,
    pub task_id: i64,
    pub by: &'a str,
}

pub async fn insert_transfer(c: &mut AnyConnection, t: &NewTransfer<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO checkpoint_transfers (traveller_id, person_id, grid, state, due_at, task_id,
             created_at, updated_at, updated_by)
         VALUES ($1, $2, $3, 'pending', $4, $5, $6, $6, $7) RETURNING id",
    )
    .bind(t.traveller_id)
    .bind(t.person_id)
    .bind(t.grid)
    .bind(t.due_at)
    .bind(t.task_id)
    .bind(now)
    .bind(t.by)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// A hand-over as the destination grid sees it.
pub struct TransferRow {
    pub id: i64,
    pub person_id: i64,
    pub name: String,
    pub phone_masked: String,
    pub grid: String,
    pub state: String,
    pub due_at: i64,
    pub task_id: i64,
    pub checkpoint: String,
    pub plate: Option<String>,
    pub address: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const TRANSFER_COLUMNS: &str = "x.id, x.person_id, p.name, p.phone_masked, x.grid, x.state,
    x.due_at, x.task_id, v.name, s.plate, t.address, x.created_at, x.updated_at
    FROM checkpoint_transfers x
    JOIN persons p ON p.id = x.person_id
    JOIN checkpoint_travellers t ON t.id = x.traveller_id
    JOIN checkpoint_passages s ON s.id = t.passage_id
    JOIN venues v ON v.id = s.venue_id";

fn transfer_row(r: &sqlx::any::AnyRow) -> Result<TransferRow> {
    Ok(TransferRow {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        name: r.try_get(2)?,
        phone_masked: r.try_get(3)?,
        grid: r.try_get(4)?,
        state: r.try_get(5)?,
        due_at: r.try_get(6)?,
        task_id: r.try_get(7)?,
        checkpoint: r.try_get(8)?,
        plate: r.try_get(9)?,
        address: r.try_get(10)?,
        created_at: r.try_get(11)?,
        updated_at: r.try_get(12)?,
    })
}

/// A hand-over whose destination grid lies in `scope`.
pub async fn transfer_in(
    c: &mut AnyConnection,
    id: i64,
    scope: &str,
) -> Result<Option<TransferRow>> {
    sqlx::query(&format!(
        "SELECT {TRANSFER_COLUMNS} WHERE x.id = $1 AND x.grid LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(transfer_row)
    .transpose()
}

/// The hand-overs to grids in `scope`, open ones first, newest first.
pub async fn transfers_in(c: &mut AnyConnection, scope: &str) -> Result<Vec<TransferRow>> {
    sqlx::query(&format!(
        "SELECT {TRANSFER_COLUMNS} WHERE x.grid LIKE $1
         ORDER BY CASE WHEN x.state = 'handed_over' THEN 1 ELSE 0 END, x.created_at DESC, x.id DESC
         LIMIT 500"
    ))
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(transfer_row)
    .collect()
}

pub async fn set_transfer_state(
    c: &mut AnyConnection,
    id: i64,
    from: &str,
    to: &str,
    by: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE checkpoint_transfers SET state = $1, updated_by = $2, updated_at = $3
         WHERE id = $4 AND state = $5",
    )
    .bind(to)
    .bind(by)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One traveller of a day's passages, for the town's or city's sheet.
pub struct PassageLine {
    pub at: i64,
    pub checkpoint: String,
    pub plate: Option<String>,
    pub name: String,
    pub doc_masked: String,
    pub phone_masked: String,
    pub origin: String,
    pub health_code: String,
    pub trip_star: bool,
    pub negative_48h: bool,
    pub village: String,
    pub decision: String,
    pub on_behalf: bool,
    pub declaration_id: Option<i64>,
}

/// Travellers of passages at checkpoints in `scope` between two times.
pub async fn passage_lines(
    c: &mut AnyConnection,
    scope: &str,
    from: i64,
    to: i64,
) -> Result<Vec<PassageLine>> {
    sqlx::query(
        "SELECT s.at, v.name, s.plate, p.name, p.doc_masked, p.phone_masked, t.origin,
                t.health_code, t.trip_star, t.negative_48h, t.village, t.decision, t.on_behalf,
                t.declaration_id
         FROM checkpoint_travellers t
         JOIN checkpoint_passages s ON s.id = t.passage_id
         JOIN venues v ON v.id = s.venue_id
         JOIN persons p ON p.id = t.person_id
         WHERE s.region LIKE $1 AND s.at >= $2 AND s.at < $3
         ORDER BY s.at, t.id LIMIT 50000",
    )
    .bind(format!("{scope}%"))
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(PassageLine {
            at: r.try_get(0)?,
            checkpoint: r.try_get(1)?,
            plate: r.try_get(2)?,
            name: r.try_get(3)?,
            doc_masked: r.try_get(4)?,
            phone_masked: r.try_get(5)?,
            origin: r.try_get(6)?,
            health_code: r.try_get(7)?,
            trip_star: r.try_get::<i64, _>(8)? != 0,
            negative_48h: r.try_get::<i64, _>(9)? != 0,
            village: r.try_get(10)?,
            decision: r.try_get(11)?,
            on_behalf: r.try_get::<i64, _>(12)? != 0,
            declaration_id: r.try_get(13)?,
        })
    })
    .collect()
}
