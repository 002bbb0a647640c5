//! SQL for the resident roll and mass-testing rounds. Coverage is kept as
//! counters per (round, grid), bumped as people are sampled and results come
//! in, so the live page sums a few hundred rows instead of counting people.

use sqlx::{AnyConnection, Row};

use crate::error::Result;

/// One resident to load: a person known by a document's lookup key.
pub struct ResidentRow {
    pub doc_type: String,
    pub doc_lookup: String,
    pub doc_enc: String,
    pub doc_masked: String,
    pub name: String,
    pub phone_enc: String,
    pub phone_masked: String,
    pub grid: String,
    /// None keeps the address on file.
    pub address: Option<String>,
}

/// Loads residents in multi-row statements: new people are created, known
/// people keep their details, and everyone's residence grid is set. The
/// resident counts of every open round's grids this touched (new grids and
/// the grids people moved from) are recounted, so a round's 未检 count, its
/// list and its deadline tasks include residents added mid-round.
pub async fn load_residents(c: &mut AnyConnection, rows: &[ResidentRow], now: i64) -> Result<()> {
    let mut touched: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r.grid.clone()).collect();
    for chunk in rows.chunks(500) {
        let sql = format!(
            "SELECT DISTINCT r.grid FROM residents r JOIN persons p ON p.id = r.person_id
             WHERE p.doc_lookup IN ({})",
            (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q.bind(r.doc_lookup.clone());
        }
        for r in q.fetch_all(&mut *c).await? {
            touched.insert(r.try_get(0)?);
        }
    }
    load_resident_rows(c, rows, now).await?;
    recount_residents(c, &touched, now).await
}

/// Sets the resident count of `grids` in every round not yet ended whose
/// regions contain them (a row is added for a grid new to the round).
async fn recount_residents(
    c: &mut AnyConnection,
    grids: &std::collections::BTreeSet<String>,
    now: i64,
) -> Result<()> {
    let open: Vec<(i64, String)> =
        sqlx::query("SELECT id, regions FROM rounds WHERE ends_at >= $1")
            .bind(now)
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_>>()?;
    for (round_id, regions) in open {
        for grid in grids.iter().filter(|g| {
            regions
                .split(',')
                .any(|r| !r.is_empty() && g.starts_with(r))
        }) {
            sqlx::query(
                "INSERT INTO round_grids (round_id, grid, residents, sampled, results_in, positives)
                 VALUES ($1, $2, (SELECT COUNT(*) FROM residents WHERE grid = $2), 0, 0, 0)
                 ON CONFLICT (round_id, grid) DO UPDATE SET residents = excluded.residents",
            )
            .bind(round_id)
            .bind(grid.clone())
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(())
}

async fn load_resident_rows(c: &mut AnyConnection, rows: &[ResidentRow], now: i64) -> Result<()> {
    for chunk in rows.chunks(500) {
        let mut sql = String::from(
            "INSERT INTO persons (doc_type, doc_lookup, doc_enc, doc_masked, name, phone_enc,
             phone_masked, region, created_at, updated_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let b = i * 8;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, $1, $1)",
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9
            ));
        }
        sql.push_str(" ON CONFLICT (doc_lookup) DO NOTHING");
        let mut q = sqlx::query(&sql).bind(now);
        for r in chunk {
            q = q
                .bind(r.doc_type.clone())
                .bind(r.doc_lookup.clone())
                .bind(r.doc_enc.clone())
                .bind(r.doc_masked.clone())
                .bind(r.name.clone())
                .bind(r.phone_enc.clone())
                .bind(r.phone_masked.clone())
                .bind(r.grid.clone());
        }
        q.execute(&mut *c).await?;
        let mut sql = String::from(
            "INSERT INTO residents (person_id, grid, created_at, address)
             SELECT p.id, v.grid, $1, v.address FROM persons p JOIN (",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(" UNION ALL ");
            }
            sql.push_str(&format!(
                "SELECT ${} AS lookup, ${} AS grid, CAST(${} AS TEXT) AS address",
                i * 3 + 2,
                i * 3 + 3,
                i * 3 + 4
            ));
        }
        sql.push_str(
            ") v ON v.lookup = p.doc_lookup
             ON CONFLICT (person_id) DO UPDATE SET grid = excluded.grid,
                 address = COALESCE(excluded.address, residents.address)",
        );
        let mut q = sqlx::query(&sql).bind(now);
        for r in chunk {
            q = q
                .bind(r.doc_lookup.clone())
                .bind(r.grid.clone())
                .bind(r.address.clone());
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

/// The grid a resident is on the roll of.
pub async fn resident_grid(c: &mut AnyConnection, person_id: i64) -> Result<Option<String>> {
    sqlx::query("SELECT grid FROM residents WHERE person_id = $1")
        .bind(person_id)
        .fetch_optional(c)
        .await?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
}

pub async fn insert_round(
    c: &mut AnyConnection,
    name: &str,
    regions: &str,
    starts_at: i64,
    ends_at: i64,
    who: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO rounds (name, regions, starts_at, ends_at, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(name)
    .bind(regions)
    .bind(starts_at)
    .bind(ends_at)
    .bind(who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// Starts the counters of every grid with residents inside `region`.
pub async fn init_round_grids(c: &mut AnyConnection, round_id: i64, region: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO round_grids (round_id, grid, residents, sampled, results_in, positives)
         SELECT $1, grid, COUNT(*), 0, 0, 0 FROM residents WHERE grid LIKE $2 GROUP BY grid
         ON CONFLICT (round_id, grid) DO NOTHING",
    )
    .bind(round_id)
    .bind(format!("{region}%"))
    .execute(c)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RoundRow {
    pub id: i64,
    pub name: String,
    pub regions: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

fn round_row(r: &sqlx::any::AnyRow) -> Result<RoundRow> {
    Ok(RoundRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        regions: r.try_get(2)?,
        starts_at: r.try_get(3)?,
        ends_at: r.try_get(4)?,
    })
}

pub async fn round(c: &mut AnyConnection, id: i64) -> Result<Option<RoundRow>> {
    sqlx::query("SELECT id, name, regions, starts_at, ends_at FROM rounds WHERE id = $1")
        .bind(id)
        .fetch_optional(c)
        .await?
        .as_ref()
        .map(round_row)
        .transpose()
}

/// Counts a sample of a resident of `grid` once in every round open at
/// `now` whose regions contain the grid (a region contains the grid when the
/// grid's code starts with it: town, village or grid codes, or the city).
pub async fn mark_sampled_in_open_rounds(
    c: &mut AnyConnection,
    person_id: i64,
    grid: &str,
    now: i64,
) -> Result<()> {
    let counted: Vec<i64> = sqlx::query(
        "INSERT INTO round_people (round_id, person_id, grid, sampled_at)
         SELECT r.id, $1, $2, $3 FROM rounds r
         WHERE r.starts_at <= $3 AND r.ends_at >= $3
           AND (',' || r.regions || ',' LIKE '%,' || substr($2, 1, 6) || ',%'
             OR ',' || r.regions || ',' LIKE '%,' || substr($2, 1, 9) || ',%'
             OR ',' || r.regions || ',' LIKE '%,' || substr($2, 1, 12) || ',%'
             OR ',' || r.regions || ',' LIKE '%,' || $2 || ',%')
         ON CONFLICT (round_id, person_id) DO NOTHING RETURNING round_id",
    )
    .bind(person_id)
    .bind(grid)
    .bind(now)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect::<Result<_>>()?;
    for round_id in counted {
        sqlx::query(
            "UPDATE round_grids SET sampled = sampled + 1 WHERE round_id = $1 AND grid = $2",
        )
        .bind(round_id)
        .bind(grid)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// The first result of a sampled person, in every round waiting for it.
pub async fn mark_result(c: &mut AnyConnection, person_id: i64, positive: bool) -> Result<()> {
    let waiting: Vec<(i64, String)> = sqlx::query(
        "SELECT round_id, grid FROM round_people WHERE person_id = $1 AND result IS NULL",
    )
    .bind(person_id)
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect::<Result<_>>()?;
    for (round_id, grid) in waiting {
        sqlx::query("UPDATE round_people SET result = $1 WHERE round_id = $2 AND person_id = $3")
            .bind(if positive { "positive" } else { "negative" })
            .bind(round_id)
            .bind(person_id)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "UPDATE round_grids SET results_in = results_in + 1, positives = positives + $1
             WHERE round_id = $2 AND grid = $3",
        )
        .bind(i64::from(positive))
        .bind(round_id)
        .bind(grid)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first result of several people (a tube's members), in every round
/// waiting for it: one count per (round, grid) touched, then the people.
/// The people are listed by id, so each statement is a primary-key or index
/// lookup whatever the planner's statistics say.
pub async fn mark_results(c: &mut AnyConnection, people: &[i64], positive: bool) -> Result<()> {
    if people.is_empty() {
        return Ok(());
    }
    let list = placeholders(1, people.len());
    let sql = format!(
        "SELECT round_id, grid, COUNT(*) FROM round_people
         WHERE person_id IN ({list}) AND result IS NULL
         GROUP BY round_id, grid ORDER BY round_id, grid"
    );
    let mut q = sqlx::query_as::<_, (i64, String, i64)>(&sql);
    for p in people {
        q = q.bind(*p);
    }
    let waiting = q.fetch_all(&mut *c).await?;
    if waiting.is_empty() {
        return Ok(());
    }
    let list = placeholders(2, people.len());
    let sql = format!(
        "UPDATE round_people SET result = $1 WHERE person_id IN ({list}) AND result IS NULL"
    );
    let mut q = sqlx::query(&sql).bind(if positive { "positive" } else { "negative" });
    for p in people {
        q = q.bind(*p);
    }
    q.execute(&mut *c).await?;
    for (round_id, grid, n) in waiting {
        sqlx::query(
            "UPDATE round_grids SET results_in = results_in + $1, positives = positives + $2
             WHERE round_id = $3 AND grid = $4",
        )
        .bind(n)
        .bind(if positive { n } else { 0 })
        .bind(round_id)
        .bind(grid)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// Coverage inside `prefix`, summed by town, village or grid: (code,
/// residents, sampled, results in, positives).
pub async fn coverage(
    c: &mut AnyConnection,
    round_id: i64,
    prefix: &str,
    level: bihuan_domain::regions::RegionLevel,
) -> Result<Vec<(String, i64, i64, i64, i64)>> {
    // The length comes from the level, never from input.
    let len = level.code_len();
    sqlx::query(&format!(
        "SELECT substr(grid, 1, {len}), CAST(SUM(residents) AS BIGINT), CAST(SUM(sampled) AS BIGINT),
                CAST(SUM(results_in) AS BIGINT), CAST(SUM(positives) AS BIGINT)
         FROM round_grids WHERE round_id = $1 AND grid LIKE $2
         GROUP BY substr(grid, 1, {len}) ORDER BY 1"
    ))
    .bind(round_id)
    .bind(format!("{prefix}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?)))
    .collect()
}

/// Residents of a grid not yet sampled in a round: (person id, name, masked
/// document, masked phone).
/// 未检: (person, name, document masked, phone masked, phone sealed).
pub async fn untested(
    c: &mut AnyConnection,
    round_id: i64,
    grid: &str,
) -> Result<Vec<(i64, String, String, String, String)>> {
    sqlx::query(
        "SELECT p.id, p.name, p.doc_masked, p.phone_masked, p.phone_enc FROM residents r
         JOIN persons p ON p.id = r.person_id
         WHERE r.grid = $1 AND NOT EXISTS (
             SELECT 1 FROM round_people x WHERE x.round_id = $2 AND x.person_id = r.person_id)
         ORDER BY p.id",
    )
    .bind(grid)
    .bind(round_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        ))
    })
    .collect()
}

// ---------- zones ----------

pub async fn insert_zone(
    c: &mut AnyConnection,
    kind: &str,
    region: &str,
    starts_on: &str,
    who: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO zones (kind, region, starts_on, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(kind)
    .bind(region)
    .bind(starts_on)
    .bind(who)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// (kind, region, lifted_on) of a zone.
pub async fn zone(
    c: &mut AnyConnection,
    id: i64,
) -> Result<Option<(String, String, Option<String>)>> {
    sqlx::query("SELECT kind, region, lifted_on FROM zones WHERE id = $1")
        .bind(id)
        .fetch_optional(c)
        .await?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
}

pub async fn lift_zone(c: &mut AnyConnection, id: i64, on: &str) -> Result<()> {
    sqlx::query("UPDATE zones SET lifted_on = $1 WHERE id = $2")
        .bind(on)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// (person id, grid) of every resident inside `region`.
pub async fn residents_in(c: &mut AnyConnection, region: &str) -> Result<Vec<(i64, String)>> {
    sqlx::query("SELECT person_id, grid FROM residents WHERE grid LIKE $1 ORDER BY person_id")
        .bind(format!("{region}%"))
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Rounds whose window closed before `now`.
pub async fn ended_rounds(c: &mut AnyConnection, now: i64) -> Result<Vec<RoundRow>> {
    sqlx::query(
        "SELECT id, name, regions, starts_at, ends_at FROM rounds WHERE ends_at < $1 ORDER BY id",
    )
    .bind(now)
    .fetch_all(c)
    .await?
    .iter()
    .map(round_row)
    .collect()
}

/// (grid, untested) of a round's grids that still have someone untested.
pub async fn grids_with_untested(
    c: &mut AnyConnection,
    round_id: i64,
) -> Result<Vec<(String, i64)>> {
    sqlx::query(
        "SELECT grid, residents - sampled FROM round_grids
         WHERE round_id = $1 AND residents > sampled ORDER BY grid",
    )
    .bind(round_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

// ---------- lists for the pages ----------

/// The latest rounds, newest first.
pub async fn recent_rounds(c: &mut AnyConnection) -> Result<Vec<RoundRow>> {
    sqlx::query(
        "SELECT id, name, regions, starts_at, ends_at FROM rounds ORDER BY id DESC LIMIT 50",
    )
    .fetch_all(c)
    .await?
    .iter()
    .map(round_row)
    .collect()
}

/// One zone as the list shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZoneRow {
    pub id: i64,
    pub kind: String,
    pub region: String,
    /// The region's name, empty when it is not in the managed tree.
    pub region_name: String,
    pub starts_on: String,
    pub lifted_on: Option<String>,
}

/// The latest zones, newest first, with their regions' names.
pub async fn recent_zones(c: &mut AnyConnection) -> Result<Vec<ZoneRow>> {
    sqlx::query(
        "SELECT z.id, z.kind, z.region, COALESCE(r.name, ''), z.starts_on, z.lifted_on
         FROM zones z LEFT JOIN regions r ON r.code = z.region
         ORDER BY z.id DESC LIMIT 100",
    )
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(ZoneRow {
            id: r.try_get(0)?,
            kind: r.try_get(1)?,
            region: r.try_get(2)?,
            region_name: r.try_get(3)?,
            starts_on: r.try_get(4)?,
            lifted_on: r.try_get(5)?,
        })
    })
    .collect()
}
