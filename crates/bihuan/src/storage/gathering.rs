//! 集聚性活动报备: reports, their guests, the 宴会缓办 switch and towns'
//! tightened rules.

use sqlx::{AnyConnection, Row};

use crate::error::Result;

pub struct NewGathering<'a> {
    pub receipt: &'a str,
    pub kind: &'a str,
    pub tier: &'a str,
    pub state: &'a str,
    pub event_date: &'a str,
    pub village: &'a str,
    pub address: &'a str,
    pub tables: i64,
    pub headcount: i64,
    pub out_of_town: i64,
    pub host_name: &'a str,
    pub host_phone_enc: &'a str,
    pub host_phone_masked: &'a str,
    pub cook_name: &'a str,
    pub cook_phone_enc: &'a str,
    pub cook_phone_masked: &'a str,
    pub cook_health_cert: bool,
}

pub async fn insert_gathering(
    c: &mut AnyConnection,
    g: &NewGathering<'_>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO gatherings (receipt, kind, tier, state, event_date, village, address,
             tables_count, headcount, out_of_town, host_name, host_phone_enc, host_phone_masked,
             cook_name, cook_phone_enc, cook_phone_masked, cook_health_cert, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)
         RETURNING id",
    )
    .bind(g.receipt)
    .bind(g.kind)
    .bind(g.tier)
    .bind(g.state)
    .bind(g.event_date)
    .bind(g.village)
    .bind(g.address)
    .bind(g.tables)
    .bind(g.headcount)
    .bind(g.out_of_town)
    .bind(g.host_name)
    .bind(g.host_phone_enc)
    .bind(g.host_phone_masked)
    .bind(g.cook_name)
    .bind(g.cook_phone_enc)
    .bind(g.cook_phone_masked)
    .bind(i64::from(g.cook_health_cert))
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub struct NewGuest<'a> {
    pub gathering_id: i64,
    pub row_no: i64,
    pub name: &'a str,
    pub doc_type: &'a str,
    pub doc_lookup: &'a str,
    pub doc_enc: &'a str,
    pub doc_masked: &'a str,
    pub phone_enc: &'a str,
    pub phone_masked: &'a str,
    pub out_of_town: bool,
}

pub async fn insert_guest(c: &mut AnyConnection, g: &NewGuest<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO gathering_guests (gathering_id, row_no, name, doc_type, doc_lookup, doc_enc,
             doc_masked, phone_enc, phone_masked, out_of_town)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(g.gathering_id)
    .bind(g.row_no)
    .bind(g.name)
    .bind(g.doc_type)
    .bind(g.doc_lookup)
    .bind(g.doc_enc)
    .bind(g.doc_masked)
    .bind(g.phone_enc)
    .bind(g.phone_masked)
    .bind(i64::from(g.out_of_town))
    .execute(c)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GatheringRow {
    pub id: i64,
    #[serde(skip)]
    pub receipt: String,
    pub kind: String,
    pub tier: String,
    pub state: String,
    pub event_date: String,
    pub village: String,
    pub address: String,
    pub tables: i64,
    pub headcount: i64,
    pub out_of_town: i64,
    pub host_name: String,
    pub host_phone_masked: String,
    pub cook_name: String,
    pub cook_phone_masked: String,
    pub cook_health_cert: bool,
    pub venue_id: Option<i64>,
    pub assist_list_id: Option<i64>,
    pub decided_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, receipt, kind, tier, state, event_date, village, address, tables_count,
    headcount, out_of_town, host_name, host_phone_masked, cook_name, cook_phone_masked,
    cook_health_cert, venue_id, assist_list_id, decided_by, created_at, updated_at";

fn row(r: &sqlx::any::AnyRow) -> Result<GatheringRow> {
    Ok(GatheringRow {
        id: r.try_get(0)?,
        receipt: r.try_get(1)?,
        kind: r.try_get(2)?,
        tier: r.try_get(3)?,
        state: r.try_get(4)?,
        event_date: r.try_get(5)?,
        village: r.try_get(6)?,
        address: r.try_get(7)?,
        tables: r.try_get(8)?,
        headcount: r.try_get(9)?,
        out_of_town: r.try_get(10)?,
        host_name: r.try_get(11)?,
        host_phone_masked: r.try_get(12)?,
        cook_name: r.try_get(13)?,
        cook_phone_masked: r.try_get(14)?,
        cook_health_cert: r.try_get::<i64, _>(15)? != 0,
        venue_id: r.try_get(16)?,
        assist_list_id: r.try_get(17)?,
        decided_by: r.try_get(18)?,
        created_at: r.try_get(19)?,
        updated_at: r.try_get(20)?,
    })
}

/// A report inside `scope` (a region prefix; "" for any).
pub async fn gathering_in(
    c: &mut AnyConnection,
    id: i64,
    scope: &str,
) -> Result<Option<GatheringRow>> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM gatherings WHERE id = $1 AND village LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .map(|r| row(&r))
    .transpose()
}

pub async fn gathering_by_receipt(
    c: &mut AnyConnection,
    receipt: &str,
) -> Result<Option<GatheringRow>> {
    sqlx::query(&format!("SELECT {COLS} FROM gatherings WHERE receipt = $1"))
        .bind(receipt)
        .fetch_optional(c)
        .await?
        .map(|r| row(&r))
        .transpose()
}

/// Reports inside `scope`, newest first.
pub async fn gatherings_in(
    c: &mut AnyConnection,
    scope: &str,
    limit: i64,
) -> Result<Vec<GatheringRow>> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM gatherings WHERE village LIKE $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(format!("{scope}%"))
    .bind(limit)
    .fetch_all(c)
    .await?
    .iter()
    .map(row)
    .collect()
}

/// Moves a report from `from` to `to`; false when it was not in `from`.
pub async fn set_state(
    c: &mut AnyConnection,
    id: i64,
    from: &str,
    to: &str,
    who: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE gatherings SET state = $1, decided_by = $2, updated_at = $3
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

pub async fn set_venue(c: &mut AnyConnection, id: i64, venue_id: i64) -> Result<()> {
    sqlx::query("UPDATE gatherings SET venue_id = $1 WHERE id = $2")
        .bind(venue_id)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// Records the 协查 list once; false when another positive made it first.
pub async fn set_assist_list(c: &mut AnyConnection, id: i64, list_id: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE gatherings SET assist_list_id = $1 WHERE id = $2 AND assist_list_id IS NULL",
    )
    .bind(list_id)
    .bind(id)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GuestRow {
    pub row_no: i64,
    pub name: String,
    pub doc_type: String,
    #[serde(skip)]
    pub doc_lookup: String,
    #[serde(skip)]
    pub doc_enc: String,
    pub doc_masked: String,
    #[serde(skip)]
    pub phone_enc: String,
    pub phone_masked: String,
    pub out_of_town: bool,
}

pub async fn guests_of(c: &mut AnyConnection, gathering_id: i64) -> Result<Vec<GuestRow>> {
    sqlx::query(
        "SELECT row_no, name, doc_type, doc_lookup, doc_enc, doc_masked, phone_enc, phone_masked,
                out_of_town
         FROM gathering_guests WHERE gathering_id = $1 ORDER BY row_no",
    )
    .bind(gathering_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(GuestRow {
            row_no: r.try_get(0)?,
            name: r.try_get(1)?,
            doc_type: r.try_get(2)?,
            doc_lookup: r.try_get(3)?,
            doc_enc: r.try_get(4)?,
            doc_masked: r.try_get(5)?,
            phone_enc: r.try_get(6)?,
            phone_masked: r.try_get(7)?,
            out_of_town: r.try_get::<i64, _>(8)? != 0,
        })
    })
    .collect()
}

/// Held events (approved, ongoing or ended) from `since` to `until` (date
/// strings: an event still to come exposed no one) with a guest of this
/// lookup key and no 协查 list yet.
pub async fn held_with_guest(
    c: &mut AnyConnection,
    doc_lookup: &str,
    since: &str,
    until: &str,
) -> Result<Vec<GatheringRow>> {
    sqlx::query(&format!(
        "SELECT {COLS} FROM gatherings WHERE assist_list_id IS NULL
           AND event_date >= $1 AND event_date <= $3
           AND state IN ('approved', 'ongoing', 'ended')
           AND id IN (SELECT gathering_id FROM gathering_guests WHERE doc_lookup = $2)
         ORDER BY id"
    ))
    .bind(since)
    .bind(doc_lookup)
    .bind(until)
    .fetch_all(c)
    .await?
    .iter()
    .map(row)
    .collect()
}

pub async fn person_lookup(c: &mut AnyConnection, person_id: i64) -> Result<Option<String>> {
    sqlx::query("SELECT doc_lookup FROM persons WHERE id = $1")
        .bind(person_id)
        .fetch_optional(c)
        .await?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
}

// ---------- 宴会缓办 ----------

#[derive(Debug, Clone, serde::Serialize)]
pub struct PauseRow {
    pub paused: bool,
    pub reason: String,
    pub set_by: String,
    pub set_at: i64,
}

pub async fn insert_pause(
    c: &mut AnyConnection,
    city: &str,
    paused: bool,
    reason: &str,
    who: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO gathering_pauses (city, paused, reason, set_by, set_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(city)
    .bind(i64::from(paused))
    .bind(reason)
    .bind(who)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

/// The switch in force for a city: its newest change.
pub async fn pause_of(c: &mut AnyConnection, city: &str) -> Result<Option<PauseRow>> {
    sqlx::query(
        "SELECT paused, reason, set_by, set_at FROM gathering_pauses WHERE city = $1
         ORDER BY id DESC LIMIT 1",
    )
    .bind(city)
    .fetch_optional(c)
    .await?
    .map(|r| {
        Ok(PauseRow {
            paused: r.try_get::<i64, _>(0)? != 0,
            reason: r.try_get(1)?,
            set_by: r.try_get(2)?,
            set_at: r.try_get(3)?,
        })
    })
    .transpose()
}

// ---------- tightened rules ----------

#[derive(Debug, Clone, serde::Serialize)]
pub struct OverrideRow {
    pub id: i64,
    pub town: String,
    pub key: String,
    pub value: i64,
    pub reason: String,
    pub state: String,
    pub proposed_by: String,
    pub proposed_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
}

const OVERRIDE_COLS: &str =
    "id, town, rule_key, value, reason, state, proposed_by, proposed_at, decided_by, decided_at";

fn override_row(r: &sqlx::any::AnyRow) -> Result<OverrideRow> {
    Ok(OverrideRow {
        id: r.try_get(0)?,
        town: r.try_get(1)?,
        key: r.try_get(2)?,
        value: r.try_get(3)?,
        reason: r.try_get(4)?,
        state: r.try_get(5)?,
        proposed_by: r.try_get(6)?,
        proposed_at: r.try_get(7)?,
        decided_by: r.try_get(8)?,
        decided_at: r.try_get(9)?,
    })
}

pub async fn insert_override(
    c: &mut AnyConnection,
    town: &str,
    key: &str,
    value: i64,
    reason: &str,
    who: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO policy_overrides (town, rule_key, value, reason, state, proposed_by, proposed_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING id",
    )
    .bind(town)
    .bind(key)
    .bind(value)
    .bind(reason)
    .bind(who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn override_in(
    c: &mut AnyConnection,
    id: i64,
    scope: &str,
) -> Result<Option<OverrideRow>> {
    sqlx::query(&format!(
        "SELECT {OVERRIDE_COLS} FROM policy_overrides WHERE id = $1 AND town LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .map(|r| override_row(&r))
    .transpose()
}

pub async fn overrides_in(c: &mut AnyConnection, scope: &str) -> Result<Vec<OverrideRow>> {
    sqlx::query(&format!(
        "SELECT {OVERRIDE_COLS} FROM policy_overrides WHERE town LIKE $1 ORDER BY id DESC LIMIT 200"
    ))
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(override_row)
    .collect()
}

/// Decides a pending override; false when it was decided already.
pub async fn decide_override(
    c: &mut AnyConnection,
    id: i64,
    to: &str,
    who: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE policy_overrides SET state = $1, decided_by = $2, decided_at = $3
         WHERE id = $4 AND state = 'pending'",
    )
    .bind(to)
    .bind(who)
    .bind(now)
    .bind(id)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// A town's approved overrides in force: per key the newest approval.
pub async fn approved_overrides(c: &mut AnyConnection, town: &str) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT rule_key, value FROM policy_overrides WHERE town = $1 AND state = 'approved'
         ORDER BY decided_at, id",
    )
    .bind(town)
    .fetch_all(c)
    .await?;
    let mut out: Vec<(String, i64)> = Vec::new();
    for r in rows {
        let (k, v): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
        out.retain(|(x, _)| *x != k);
        out.push((k, v));
    }
    Ok(out)
}
