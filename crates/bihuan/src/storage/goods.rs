//! SQL for 人物同防: goods holders, batches and their movements, the
//! supervised warehouse's jobs, environment sites and samples, and
//! trace-backs with their seals.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::error::Result;

#[derive(Debug, Clone, Serialize)]
pub struct HolderRow {
    pub id: i64,
    pub name: String,
    pub region: String,
    pub kind: String,
    pub employer_id: i64,
    pub venue_id: Option<i64>,
}

const HOLDER_COLS: &str = "id, name, region, kind, employer_id, venue_id";

fn holder_row(r: &AnyRow) -> Result<HolderRow> {
    Ok(HolderRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        region: r.try_get(2)?,
        kind: r.try_get(3)?,
        employer_id: r.try_get(4)?,
        venue_id: r.try_get(5)?,
    })
}

pub struct NewHolder<'a> {
    pub name: &'a str,
    pub region: &'a str,
    pub kind: &'a str,
    pub employer_id: i64,
    pub venue_id: Option<i64>,
    pub who: &'a str,
}

pub async fn insert_holder(c: &mut AnyConnection, h: &NewHolder<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO goods_holders (name, region, kind, employer_id, venue_id, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(h.name)
    .bind(h.region)
    .bind(h.kind)
    .bind(h.employer_id)
    .bind(h.venue_id)
    .bind(h.who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn holder_named(c: &mut AnyConnection, name: &str, region: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query("SELECT id FROM goods_holders WHERE name = $1 AND region = $2")
            .bind(name)
            .bind(region)
            .fetch_optional(c)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?,
    )
}

/// A holder inside `scope`.
pub async fn holder_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<HolderRow>> {
    sqlx::query(&format!(
        "SELECT {HOLDER_COLS} FROM goods_holders WHERE id = $1 AND region LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(holder_row)
    .transpose()
}

pub async fn holders(c: &mut AnyConnection, scope: &str) -> Result<Vec<HolderRow>> {
    sqlx::query(&format!(
        "SELECT {HOLDER_COLS} FROM goods_holders WHERE region LIKE $1 ORDER BY id LIMIT 2000"
    ))
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(holder_row)
    .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchRow {
    pub id: i64,
    pub trace_code: String,
    pub product: String,
    pub origin: String,
    pub holder_id: i64,
    pub region: String,
    pub inspection: bool,
    pub nucleic_acid: bool,
    pub disinfection: bool,
    pub quantity: i64,
    pub result: Option<String>,
    pub created_at: i64,
}

const BATCH_COLS: &str = "id, trace_code, product, origin, holder_id, region, inspection, \
     nucleic_acid, disinfection, quantity, result, created_at";

fn batch_row(r: &AnyRow) -> Result<BatchRow> {
    Ok(BatchRow {
        id: r.try_get(0)?,
        trace_code: r.try_get(1)?,
        product: r.try_get(2)?,
        origin: r.try_get(3)?,
        holder_id: r.try_get(4)?,
        region: r.try_get(5)?,
        inspection: r.try_get::<i64, _>(6)? != 0,
        nucleic_acid: r.try_get::<i64, _>(7)? != 0,
        disinfection: r.try_get::<i64, _>(8)? != 0,
        quantity: r.try_get(9)?,
        result: r.try_get(10)?,
        created_at: r.try_get(11)?,
    })
}

pub struct NewBatch<'a> {
    pub trace_code: &'a str,
    pub product: &'a str,
    pub origin: &'a str,
    pub holder_id: i64,
    pub region: &'a str,
    pub inspection: bool,
    pub nucleic_acid: bool,
    pub disinfection: bool,
    pub quantity: i64,
    pub who: &'a str,
}

pub async fn insert_batch(c: &mut AnyConnection, b: &NewBatch<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO goods_batches (trace_code, product, origin, holder_id, region, inspection,
                                    nucleic_acid, disinfection, quantity, result, created_by,
                                    created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $11) RETURNING id",
    )
    .bind(b.trace_code)
    .bind(b.product)
    .bind(b.origin)
    .bind(b.holder_id)
    .bind(b.region)
    .bind(i64::from(b.inspection))
    .bind(i64::from(b.nucleic_acid))
    .bind(i64::from(b.disinfection))
    .bind(b.quantity)
    .bind(b.who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn batch_by_code(c: &mut AnyConnection, code: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query("SELECT id FROM goods_batches WHERE trace_code = $1")
            .bind(code)
            .fetch_optional(c)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?,
    )
}

pub async fn batch_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<BatchRow>> {
    sqlx::query(&format!(
        "SELECT {BATCH_COLS} FROM goods_batches WHERE id = $1 AND region LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(batch_row)
    .transpose()
}

pub async fn batches(c: &mut AnyConnection, scope: &str) -> Result<Vec<BatchRow>> {
    sqlx::query(&format!(
        "SELECT {BATCH_COLS} FROM goods_batches WHERE region LIKE $1 ORDER BY id DESC LIMIT 500"
    ))
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(batch_row)
    .collect()
}

pub async fn set_batch_result(c: &mut AnyConnection, id: i64, result: &str) -> Result<()> {
    sqlx::query("UPDATE goods_batches SET result = $1 WHERE id = $2")
        .bind(result)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_movement(
    c: &mut AnyConnection,
    batch_id: i64,
    from: i64,
    to: i64,
    quantity: i64,
    at: i64,
    who: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO goods_movements (batch_id, from_holder, to_holder, quantity, at, created_by,
                                      created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(batch_id)
    .bind(from)
    .bind(to)
    .bind(quantity)
    .bind(at)
    .bind(who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

#[derive(Debug, Clone, Serialize)]
pub struct MovementRow {
    pub batch_id: i64,
    pub trace_code: String,
    pub from_holder: i64,
    pub to_holder: i64,
    pub quantity: i64,
    pub at: i64,
}

fn movement_row(r: &AnyRow) -> Result<MovementRow> {
    Ok(MovementRow {
        batch_id: r.try_get(0)?,
        trace_code: r.try_get(1)?,
        from_holder: r.try_get(2)?,
        to_holder: r.try_get(3)?,
        quantity: r.try_get(4)?,
        at: r.try_get(5)?,
    })
}

const MOVEMENT_SELECT: &str = "SELECT m.batch_id, b.trace_code, m.from_holder, m.to_holder, \
     m.quantity, m.at FROM goods_movements m JOIN goods_batches b ON b.id = m.batch_id";

pub async fn movements_of(c: &mut AnyConnection, batch_id: i64) -> Result<Vec<MovementRow>> {
    sqlx::query(&format!(
        "{MOVEMENT_SELECT} WHERE m.batch_id = $1 ORDER BY m.at, m.id"
    ))
    .bind(batch_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(movement_row)
    .collect()
}

/// The movements of every batch that was ever at `holder`.
pub async fn movements_through(c: &mut AnyConnection, holder: i64) -> Result<Vec<MovementRow>> {
    sqlx::query(&format!(
        "{MOVEMENT_SELECT} WHERE m.batch_id IN
            (SELECT id FROM goods_batches WHERE holder_id = $1
             UNION SELECT batch_id FROM goods_movements WHERE to_holder = $1)
         ORDER BY m.at, m.id"
    ))
    .bind(holder)
    .fetch_all(c)
    .await?
    .iter()
    .map(movement_row)
    .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct JobRow {
    pub id: i64,
    pub batch_id: i64,
    pub trace_code: String,
    pub product: String,
    pub region: String,
    pub state: String,
    pub reason: String,
    pub updated_at: i64,
}

const JOB_SELECT: &str = "SELECT j.id, j.batch_id, b.trace_code, b.product, j.region, j.state, \
     j.reason, j.updated_at FROM warehouse_jobs j JOIN goods_batches b ON b.id = j.batch_id";

fn job_row(r: &AnyRow) -> Result<JobRow> {
    Ok(JobRow {
        id: r.try_get(0)?,
        batch_id: r.try_get(1)?,
        trace_code: r.try_get(2)?,
        product: r.try_get(3)?,
        region: r.try_get(4)?,
        state: r.try_get(5)?,
        reason: r.try_get(6)?,
        updated_at: r.try_get(7)?,
    })
}

pub async fn insert_job(
    c: &mut AnyConnection,
    batch_id: i64,
    region: &str,
    reason: &str,
    who: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO warehouse_jobs (batch_id, region, state, reason, updated_by, updated_at,
                                     created_at)
         VALUES ($1, $2, 'booked', $3, $4, $5, $5) RETURNING id",
    )
    .bind(batch_id)
    .bind(region)
    .bind(reason)
    .bind(who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn jobs(c: &mut AnyConnection, scope: &str) -> Result<Vec<JobRow>> {
    sqlx::query(&format!(
        "{JOB_SELECT} WHERE j.region LIKE $1 ORDER BY j.id DESC LIMIT 500"
    ))
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(job_row)
    .collect()
}

pub async fn job_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<JobRow>> {
    sqlx::query(&format!(
        "{JOB_SELECT} WHERE j.id = $1 AND j.region LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(job_row)
    .transpose()
}

/// Moves a job from `from` to `to`; false when another writer moved it first.
pub async fn set_job_state(
    c: &mut AnyConnection,
    id: i64,
    from: &str,
    to: &str,
    who: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE warehouse_jobs SET state = $1, updated_by = $2, updated_at = $3
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

#[derive(Debug, Clone, Serialize)]
pub struct SiteRow {
    pub id: i64,
    pub name: String,
    pub region: String,
    pub kind: String,
    pub holder_id: Option<i64>,
    pub created_at: i64,
    /// The day of the last sample, if any.
    pub last_sampled_on: Option<String>,
}

const SITE_SELECT: &str = "SELECT s.id, s.name, s.region, s.kind, s.holder_id, s.created_at, \
     (SELECT MAX(x.sampled_on) FROM env_samples x WHERE x.site_id = s.id) FROM env_sites s";

fn site_row(r: &AnyRow) -> Result<SiteRow> {
    Ok(SiteRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        region: r.try_get(2)?,
        kind: r.try_get(3)?,
        holder_id: r.try_get(4)?,
        created_at: r.try_get(5)?,
        last_sampled_on: r.try_get(6)?,
    })
}

pub async fn insert_site(
    c: &mut AnyConnection,
    name: &str,
    region: &str,
    kind: &str,
    holder_id: Option<i64>,
    who: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO env_sites (name, region, kind, holder_id, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(name)
    .bind(region)
    .bind(kind)
    .bind(holder_id)
    .bind(who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn sites(c: &mut AnyConnection, scope: &str) -> Result<Vec<SiteRow>> {
    sqlx::query(&format!(
        "{SITE_SELECT} WHERE s.region LIKE $1 ORDER BY s.id LIMIT 2000"
    ))
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(site_row)
    .collect()
}

pub async fn site_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<SiteRow>> {
    sqlx::query(&format!(
        "{SITE_SELECT} WHERE s.id = $1 AND s.region LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(site_row)
    .transpose()
}

pub async fn insert_sample(
    c: &mut AnyConnection,
    site_id: i64,
    sampled_on: &str,
    result: &str,
    who: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO env_samples (site_id, sampled_on, result, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(site_id)
    .bind(sampled_on)
    .bind(result)
    .bind(who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn insert_trace_back(
    c: &mut AnyConnection,
    region: &str,
    batch_id: Option<i64>,
    sample_id: Option<i64>,
    due_at: i64,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO trace_backs (region, batch_id, sample_id, due_at, assist_list_id, created_at)
         VALUES ($1, $2, $3, $4, NULL, $5) RETURNING id",
    )
    .bind(region)
    .bind(batch_id)
    .bind(sample_id)
    .bind(due_at)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn set_trace_back_list(c: &mut AnyConnection, id: i64, list: i64) -> Result<()> {
    sqlx::query("UPDATE trace_backs SET assist_list_id = $1 WHERE id = $2")
        .bind(list)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn insert_seal(
    c: &mut AnyConnection,
    trace_back: i64,
    holder: i64,
    task: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO trace_back_seals (trace_back_id, holder_id, task_id) VALUES ($1, $2, $3)",
    )
    .bind(trace_back)
    .bind(holder)
    .bind(task)
    .execute(c)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct TraceBackRow {
    pub id: i64,
    pub region: String,
    pub batch_id: Option<i64>,
    pub sample_id: Option<i64>,
    pub due_at: i64,
    pub assist_list_id: Option<i64>,
    pub created_at: i64,
}

pub async fn trace_back_in(
    c: &mut AnyConnection,
    id: i64,
    scope: &str,
) -> Result<Option<TraceBackRow>> {
    sqlx::query(
        "SELECT id, region, batch_id, sample_id, due_at, assist_list_id, created_at
         FROM trace_backs WHERE id = $1 AND region LIKE $2",
    )
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .map(|r| {
        Ok(TraceBackRow {
            id: r.try_get(0)?,
            region: r.try_get(1)?,
            batch_id: r.try_get(2)?,
            sample_id: r.try_get(3)?,
            due_at: r.try_get(4)?,
            assist_list_id: r.try_get(5)?,
            created_at: r.try_get(6)?,
        })
    })
    .transpose()
}

pub async fn trace_back_of_batch(c: &mut AnyConnection, batch: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query("SELECT MIN(id) FROM trace_backs WHERE batch_id = $1")
            .bind(batch)
            .fetch_one(c)
            .await?
            .try_get(0)?,
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct SealRow {
    pub holder_id: i64,
    pub holder: String,
    pub region: String,
    pub kind: String,
    pub task_id: i64,
    pub due_at: i64,
    pub state: String,
}

pub async fn seals_of(c: &mut AnyConnection, trace_back: i64) -> Result<Vec<SealRow>> {
    sqlx::query(
        "SELECT h.id, h.name, h.region, h.kind, t.id, t.due_at, t.state
         FROM trace_back_seals s JOIN goods_holders h ON h.id = s.holder_id
         JOIN tasks t ON t.id = s.task_id
         WHERE s.trace_back_id = $1 ORDER BY h.id",
    )
    .bind(trace_back)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(SealRow {
            holder_id: r.try_get(0)?,
            holder: r.try_get(1)?,
            region: r.try_get(2)?,
            kind: r.try_get(3)?,
            task_id: r.try_get(4)?,
            due_at: r.try_get(5)?,
            state: r.try_get(6)?,
        })
    })
    .collect()
}

/// People who checked in at `venue` between `from` and `to` (seconds).
pub async fn checked_in_at(
    c: &mut AnyConnection,
    venue: i64,
    from: i64,
    to: i64,
) -> Result<Vec<i64>> {
    sqlx::query(
        "SELECT DISTINCT person_id FROM checkins
         WHERE venue_id = $1 AND t_out >= $2 AND t_in <= $3 ORDER BY person_id",
    )
    .bind(venue)
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}
