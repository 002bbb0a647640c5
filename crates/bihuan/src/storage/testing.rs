//! SQL for pooled tubes, their members and lab results.

use sqlx::{AnyConnection, Row};

use crate::error::Result;

#[derive(Debug, Clone)]
pub struct TubeRow {
    pub id: i64,
    pub barcode: String,
    pub pool_size: i64,
    pub members: i64,
    pub site: String,
    pub region: String,
    pub category: String,
    pub opened_at: i64,
    pub sampled_on: String,
    pub sealed_at: Option<i64>,
    pub result: Option<String>,
}

pub struct NewTube<'a> {
    pub barcode: &'a str,
    pub pool_size: i64,
    pub site: &'a str,
    pub sampler: &'a str,
    pub region: &'a str,
    pub category: &'a str,
    pub sampled_on: &'a str,
}

/// None when the barcode is taken.
pub async fn insert_tube(c: &mut AnyConnection, t: &NewTube<'_>, now: i64) -> Result<Option<i64>> {
    Ok(sqlx::query(
        "INSERT INTO tubes (barcode, pool_size, site, sampler, region, category, opened_at, sampled_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (barcode) DO NOTHING RETURNING id",
    )
    .bind(t.barcode)
    .bind(t.pool_size)
    .bind(t.site)
    .bind(t.sampler)
    .bind(t.region)
    .bind(t.category)
    .bind(now)
    .bind(t.sampled_on)
    .fetch_optional(c)
    .await?
    .map(|r| r.get::<i64, _>(0)))
}

pub async fn tube(c: &mut AnyConnection, barcode: &str) -> Result<Option<TubeRow>> {
    let Some(r) = sqlx::query(
        "SELECT id, barcode, pool_size, members, site, region, category, opened_at, sampled_on,
                sealed_at, result FROM tubes WHERE barcode = $1",
    )
    .bind(barcode)
    .fetch_optional(c)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(TubeRow {
        id: r.try_get(0)?,
        barcode: r.try_get(1)?,
        pool_size: r.try_get(2)?,
        members: r.try_get(3)?,
        site: r.try_get(4)?,
        region: r.try_get(5)?,
        category: r.try_get(6)?,
        opened_at: r.try_get(7)?,
        sampled_on: r.try_get(8)?,
        sealed_at: r.try_get(9)?,
        result: r.try_get(10)?,
    }))
}

pub async fn is_member(c: &mut AnyConnection, tube_id: i64, person_id: i64) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM tube_members WHERE tube_id = $1 AND person_id = $2")
            .bind(tube_id)
            .bind(person_id)
            .fetch_optional(c)
            .await?
            .is_some(),
    )
}

/// Adds a member if the tube is open, has room and does not hold them yet;
/// false otherwise, and then the caller must refuse (roll back). The guard
/// holds even when two samplers scan into one tube at once.
pub async fn add_member(
    c: &mut AnyConnection,
    tube_id: i64,
    person_id: i64,
    now: i64,
) -> Result<bool> {
    let room = sqlx::query(
        "UPDATE tubes SET members = members + 1
         WHERE id = $1 AND members < pool_size AND sealed_at IS NULL",
    )
    .bind(tube_id)
    .execute(&mut *c)
    .await?;
    if room.rows_affected() != 1 {
        return Ok(false);
    }
    // Someone already in the tube adds no row: the caller refuses, and its
    // rollback takes the count back.
    Ok(sqlx::query(
        "INSERT INTO tube_members (tube_id, person_id, added_at) VALUES ($1, $2, $3)
         ON CONFLICT (tube_id, person_id) DO NOTHING",
    )
    .bind(tube_id)
    .bind(person_id)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

pub async fn seal(c: &mut AnyConnection, tube_id: i64, now: i64) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE tubes SET sealed_at = $1 WHERE id = $2 AND sealed_at IS NULL")
            .bind(now)
            .bind(tube_id)
            .execute(c)
            .await?
            .rows_affected()
            == 1,
    )
}

/// (person id, the person's grid) of everyone in a tube.
pub async fn members(c: &mut AnyConnection, tube_id: i64) -> Result<Vec<(i64, String)>> {
    sqlx::query(
        "SELECT m.person_id, p.region FROM tube_members m JOIN persons p ON p.id = m.person_id
         WHERE m.tube_id = $1 ORDER BY m.added_at, m.person_id",
    )
    .bind(tube_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

/// A person's name and home grid on the resident roll, if any.
pub async fn member_facts(
    c: &mut AnyConnection,
    person_id: i64,
) -> Result<Option<(String, Option<String>)>> {
    sqlx::query(
        "SELECT p.name, r.grid FROM persons p LEFT JOIN residents r ON r.person_id = p.id
         WHERE p.id = $1",
    )
    .bind(person_id)
    .fetch_optional(c)
    .await?
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .transpose()
}

/// Stores a result line as received; false when the same line came before.
pub async fn record_lab_result(
    c: &mut AnyConnection,
    barcode: &str,
    result: &str,
    ct: Option<&str>,
    tested_at: i64,
    source: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO lab_results (barcode, result, ct, tested_at, source, received_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (barcode, result, tested_at) DO NOTHING",
    )
    .bind(barcode)
    .bind(result)
    .bind(ct)
    .bind(tested_at)
    .bind(source)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

pub async fn set_result(
    c: &mut AnyConnection,
    tube_id: i64,
    result: &str,
    ct: Option<&str>,
    tested_at: i64,
) -> Result<()> {
    sqlx::query("UPDATE tubes SET result = $1, ct = $2, tested_at = $3 WHERE id = $4")
        .bind(result)
        .bind(ct)
        .bind(tested_at)
        .bind(tube_id)
        .execute(c)
        .await?;
    Ok(())
}

/// Members of a positive pool still without a single-tube result after it.
pub async fn pending_retests(c: &mut AnyConnection, tube_id: i64) -> Result<i64> {
    Ok(sqlx::query(
        "SELECT COUNT(*) FROM tube_members m JOIN tubes t ON t.id = m.tube_id
         WHERE m.tube_id = $1 AND NOT EXISTS (
             SELECT 1 FROM tube_members m2 JOIN tubes s ON s.id = m2.tube_id
             WHERE m2.person_id = m.person_id AND s.pool_size = 1 AND s.result IS NOT NULL
               AND s.opened_at >= t.opened_at AND s.id <> t.id)",
    )
    .bind(tube_id)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// A person known by document, or a new one made from the document alone.
pub async fn person_by_document(
    c: &mut AnyConnection,
    lookup: &str,
) -> Result<Option<(i64, String)>> {
    sqlx::query("SELECT id, region FROM persons WHERE doc_lookup = $1")
        .bind(lookup)
        .fetch_optional(c)
        .await?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
}

/// The first grid inside a region (the region itself when it is a grid).
pub async fn first_grid_in(c: &mut AnyConnection, region: &str) -> Result<Option<String>> {
    sqlx::query(
        "SELECT code FROM regions WHERE level = 'grid' AND code LIKE $1 ORDER BY code LIMIT 1",
    )
    .bind(format!("{region}%"))
    .fetch_optional(c)
    .await?
    .map(|r| Ok(r.try_get(0)?))
    .transpose()
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SiteRow {
    pub id: i64,
    pub name: String,
    pub region: String,
    pub address: String,
    pub hours: String,
    pub kind: String,
    pub serves: String,
    pub paid: bool,
}

pub struct NewSite<'a> {
    pub name: &'a str,
    pub region: &'a str,
    pub address: &'a str,
    pub hours: &'a str,
    pub kind: &'a str,
    pub serves: &'a str,
    pub paid: bool,
}

pub async fn insert_site(c: &mut AnyConnection, s: &NewSite<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO sites (name, region, address, hours, kind, serves, paid, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(s.name)
    .bind(s.region)
    .bind(s.address)
    .bind(s.hours)
    .bind(s.kind)
    .bind(s.serves)
    .bind(i64::from(s.paid))
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

fn site_row(r: &sqlx::any::AnyRow) -> Result<SiteRow> {
    Ok(SiteRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        region: r.try_get(2)?,
        address: r.try_get(3)?,
        hours: r.try_get(4)?,
        kind: r.try_get(5)?,
        serves: r.try_get(6)?,
        paid: r.try_get::<i64, _>(7)? != 0,
    })
}

/// Every site, ordered by region so towns group together.
pub async fn sites(c: &mut AnyConnection) -> Result<Vec<SiteRow>> {
    sqlx::query(
        "SELECT id, name, region, address, hours, kind, serves, paid FROM sites ORDER BY region, id",
    )
    .fetch_all(c)
    .await?
    .iter()
    .map(site_row)
    .collect()
}

pub async fn site(c: &mut AnyConnection, id: i64) -> Result<Option<SiteRow>> {
    sqlx::query(
        "SELECT id, name, region, address, hours, kind, serves, paid FROM sites WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(site_row)
    .transpose()
}

// ---------- a tube's members at once ----------
//
// A negative pool touches every member the same way, so its bookkeeping is a
// few statements per tube rather than several per member.

/// One event of `kind` for every member of a tube, in scan order.
pub async fn member_events(
    c: &mut AnyConnection,
    tube_id: i64,
    at: i64,
    actor: &str,
    kind: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (at, actor, person_id, kind, detail)
         SELECT $1, $2, m.person_id, $3, $4 FROM tube_members m
         WHERE m.tube_id = $5 ORDER BY m.added_at, m.person_id",
    )
    .bind(at)
    .bind(actor)
    .bind(kind)
    .bind(detail.to_string())
    .bind(tube_id)
    .execute(c)
    .await?;
    Ok(())
}

/// One test record for every member of a tube.
#[allow(clippy::too_many_arguments)]
pub async fn member_tests(
    c: &mut AnyConnection,
    tube_id: i64,
    sampled_on: &str,
    sampled_at: i64,
    result: &str,
    actor: &str,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO test_results (person_id, sampled_on, sampled_at, result, actor, at)
         SELECT m.person_id, $1, $2, $3, $4, $5 FROM tube_members m
         WHERE m.tube_id = $6 ORDER BY m.added_at, m.person_id",
    )
    .bind(sampled_on)
    .bind(sampled_at)
    .bind(result)
    .bind(actor)
    .bind(at)
    .bind(tube_id)
    .execute(c)
    .await?;
    Ok(())
}

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The people of a tube, in scan order.
pub async fn member_ids(c: &mut AnyConnection, tube_id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_as::<_, (i64,)>(
        "SELECT person_id FROM tube_members WHERE tube_id = $1 ORDER BY added_at, person_id",
    )
    .bind(tube_id)
    .fetch_all(c)
    .await?
    .into_iter()
    .map(|(id,)| id)
    .collect())
}

/// Of `people`, those whose control runs (or who are positive): their
/// health-code colour depends on their plan and is derived one by one.
pub async fn under_control(c: &mut AnyConnection, people: &[i64]) -> Result<Vec<i64>> {
    if people.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT person_id FROM controls WHERE person_id IN ({})
         AND status IN ('active', 'due_for_release', 'positive')",
        placeholders(1, people.len())
    );
    let mut q = sqlx::query_as::<_, (i64,)>(&sql);
    for p in people {
        q = q.bind(*p);
    }
    Ok(q.fetch_all(c).await?.into_iter().map(|(id,)| id).collect())
}

/// Turns green those of `people` whose stored colour is not green yet, with
/// a `health_code_changed` event for each of them (in the order given).
pub async fn make_green(
    c: &mut AnyConnection,
    people: &[i64],
    actor: &str,
    now: i64,
) -> Result<()> {
    if people.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT person_id FROM health_codes WHERE person_id IN ({}) AND colour = 'green'",
        placeholders(1, people.len())
    );
    let mut q = sqlx::query_as::<_, (i64,)>(&sql);
    for p in people {
        q = q.bind(*p);
    }
    let green: std::collections::HashSet<i64> = q
        .fetch_all(&mut *c)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect();
    let changing: Vec<i64> = people
        .iter()
        .copied()
        .filter(|p| !green.contains(p))
        .collect();
    if changing.is_empty() {
        return Ok(());
    }
    // $1 at, $2 actor, $3 detail, then the people.
    let rows = (0..changing.len())
        .map(|i| format!("($1, $2, ${}, 'health_code_changed', $3)", i + 4))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("INSERT INTO events (at, actor, person_id, kind, detail) VALUES {rows}");
    let mut q = sqlx::query(&sql)
        .bind(now)
        .bind(actor)
        .bind(serde_json::json!({"colour": "green"}).to_string());
    for p in &changing {
        q = q.bind(*p);
    }
    q.execute(&mut *c).await?;
    // Each change takes its feed sequence number, in the order given (or
    // seq 0, numbered just before commit, when deferred).
    let first = if crate::storage::monitoring::defer_seq() {
        None
    } else {
        Some(
            crate::storage::monitoring::take_health_code_seqs(
                &mut *c,
                i64::try_from(changing.len()).unwrap_or(i64::MAX),
            )
            .await?,
        )
    };
    let rows = (0..changing.len())
        .map(|i| format!("(${}, 'green', $1, ${})", 2 * i + 2, 2 * i + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO health_codes (person_id, colour, changed_at, seq) VALUES {rows}
         ON CONFLICT (person_id) DO UPDATE SET colour = excluded.colour,
             changed_at = excluded.changed_at, seq = excluded.seq"
    );
    let mut q = sqlx::query(&sql).bind(now);
    for (i, p) in changing.iter().enumerate() {
        q = q.bind(*p).bind(first.map_or(0, |f| f + i as i64));
    }
    q.execute(c).await?;
    Ok(())
}
