//! SQL for key-industry employers, their rosters, and each worker's last test.

use sqlx::{AnyConnection, Row};

use crate::error::Result;

pub async fn upsert_employer(
    c: &mut AnyConnection,
    name: &str,
    grid: &str,
    industry: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO employers (name, grid, industry, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name, grid) DO UPDATE SET industry = excluded.industry RETURNING id",
    )
    .bind(name)
    .bind(grid)
    .bind(industry)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn add_worker(
    c: &mut AnyConnection,
    employer_id: i64,
    person_id: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO workers (employer_id, person_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (employer_id, person_id) DO NOTHING",
    )
    .bind(employer_id)
    .bind(person_id)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct RosterRow {
    pub employer_id: i64,
    pub employer: String,
    pub grid: String,
    pub industry: String,
    pub person_id: i64,
    pub name: String,
    pub enrolled_at: i64,
    /// The last day with a negative test, if any.
    pub last_negative: Option<String>,
}

/// Every worker of employers inside `scope`, with their last negative test.
pub async fn roster(c: &mut AnyConnection, scope: &str) -> Result<Vec<RosterRow>> {
    sqlx::query(
        "SELECT e.id, e.name, e.grid, e.industry, p.id, p.name, w.created_at,
                (SELECT MAX(t.sampled_on) FROM test_results t
                 WHERE t.person_id = p.id AND t.result = 'negative')
         FROM employers e JOIN workers w ON w.employer_id = e.id
         JOIN persons p ON p.id = w.person_id
         WHERE e.grid LIKE $1 ORDER BY e.id, p.id",
    )
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(RosterRow {
            employer_id: r.try_get(0)?,
            employer: r.try_get(1)?,
            grid: r.try_get(2)?,
            industry: r.try_get(3)?,
            person_id: r.try_get(4)?,
            name: r.try_get(5)?,
            enrolled_at: r.try_get(6)?,
            last_negative: r.try_get(7)?,
        })
    })
    .collect()
}
