//! 流调: tracing cases, their candidate contacts, and the household and tube
//! bonds the tracing engine asks for.

use sqlx::{AnyConnection, Row};

use crate::error::Result;

#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseRow {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub person_region: String,
    pub origin: String,
    pub window_from: i64,
    pub window_to: i64,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
}

const CASE_SELECT: &str =
    "SELECT k.id, k.person_id, p.name, p.region, k.origin, k.window_from, k.window_to,
        k.note, k.created_by, k.created_at
     FROM trace_cases k JOIN persons p ON p.id = k.person_id";

fn case_row(r: &sqlx::any::AnyRow) -> Result<CaseRow> {
    Ok(CaseRow {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        person_name: r.try_get(2)?,
        person_region: r.try_get(3)?,
        origin: r.try_get(4)?,
        window_from: r.try_get(5)?,
        window_to: r.try_get(6)?,
        note: r.try_get(7)?,
        created_by: r.try_get(8)?,
        created_at: r.try_get(9)?,
    })
}

pub struct NewCase<'a> {
    pub person_id: i64,
    pub origin: &'a str,
    pub window_from: i64,
    pub window_to: i64,
    pub note: &'a str,
    pub created_by: &'a str,
}

/// Opens a case; None when the person has one already.
pub async fn insert_case(c: &mut AnyConnection, k: &NewCase<'_>, now: i64) -> Result<Option<i64>> {
    sqlx::query(
        "INSERT INTO trace_cases (person_id, origin, window_from, window_to, note, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (person_id) DO NOTHING RETURNING id",
    )
    .bind(k.person_id)
    .bind(k.origin)
    .bind(k.window_from)
    .bind(k.window_to)
    .bind(k.note)
    .bind(k.created_by)
    .bind(now)
    .fetch_optional(c)
    .await?
    .map(|r| Ok(r.try_get(0)?))
    .transpose()
}

/// The window runs to the last trace: a case stays infectious until isolated.
pub async fn extend_case(c: &mut AnyConnection, id: i64, window_to: i64) -> Result<()> {
    sqlx::query("UPDATE trace_cases SET window_to = $1 WHERE id = $2 AND window_to < $1")
        .bind(window_to)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// A case whose person lives inside `scope`.
pub async fn case_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<CaseRow>> {
    sqlx::query(&format!(
        "{CASE_SELECT} WHERE k.id = $1 AND p.region LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .map(|r| case_row(&r))
    .transpose()
}

pub async fn case_of_person(c: &mut AnyConnection, person_id: i64) -> Result<Option<i64>> {
    sqlx::query("SELECT id FROM trace_cases WHERE person_id = $1")
        .bind(person_id)
        .fetch_optional(c)
        .await?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
}

/// Cases inside `scope`, newest first, with their candidate counts
/// (candidates, confirmed or handed over), in one query.
pub async fn cases_in(c: &mut AnyConnection, scope: &str) -> Result<Vec<(CaseRow, i64, i64)>> {
    sqlx::query(
        "SELECT k.id, k.person_id, p.name, p.region, k.origin, k.window_from, k.window_to,
                k.note, k.created_by, k.created_at, COUNT(t.person_id),
                COALESCE(SUM(CASE WHEN t.state IN ('confirmed', 'handed_over') THEN 1 ELSE 0 END), 0)
         FROM trace_cases k JOIN persons p ON p.id = k.person_id
         LEFT JOIN trace_candidates t ON t.case_id = k.id
         WHERE p.region LIKE $1
         GROUP BY k.id, k.person_id, p.name, p.region, k.origin, k.window_from, k.window_to,
                  k.note, k.created_by, k.created_at
         ORDER BY k.id DESC LIMIT 200",
    )
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((case_row(r)?, r.try_get(10)?, r.try_get(11)?)))
    .collect()
}

pub struct NewCandidate<'a> {
    pub person_id: i64,
    pub degree: i64,
    pub via_person_id: i64,
    pub exposure_at: i64,
    pub evidence: &'a str,
}

/// Adds a candidate, or refreshes the evidence of one not yet decided.
/// Decided candidates keep what was decided. True when it is new.
pub async fn upsert_candidate(
    c: &mut AnyConnection,
    case_id: i64,
    k: &NewCandidate<'_>,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE trace_candidates SET degree = $1, via_person_id = $2, exposure_at = $3, evidence = $4
         WHERE case_id = $5 AND person_id = $6 AND state = 'candidate'",
    )
    .bind(k.degree)
    .bind(k.via_person_id)
    .bind(k.exposure_at)
    .bind(k.evidence)
    .bind(case_id)
    .bind(k.person_id)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if updated > 0 {
        return Ok(false);
    }
    Ok(sqlx::query(
        "INSERT INTO trace_candidates (case_id, person_id, degree, via_person_id, exposure_at, evidence, state)
         VALUES ($1, $2, $3, $4, $5, $6, 'candidate') ON CONFLICT (case_id, person_id) DO NOTHING",
    )
    .bind(case_id)
    .bind(k.person_id)
    .bind(k.degree)
    .bind(k.via_person_id)
    .bind(k.exposure_at)
    .bind(k.evidence)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CandidateRow {
    pub person_id: i64,
    pub name: String,
    pub doc_masked: String,
    pub region: String,
    pub degree: i64,
    pub via_person_id: Option<i64>,
    pub exposure_at: i64,
    pub evidence: String,
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
}

pub async fn candidates(c: &mut AnyConnection, case_id: i64) -> Result<Vec<CandidateRow>> {
    sqlx::query(
        "SELECT t.person_id, p.name, p.doc_masked, p.region, t.degree, t.via_person_id,
                t.exposure_at, t.evidence, t.state, t.decided_by, t.decided_at
         FROM trace_candidates t JOIN persons p ON p.id = t.person_id
         WHERE t.case_id = $1 ORDER BY t.degree, t.person_id",
    )
    .bind(case_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(CandidateRow {
            person_id: r.try_get(0)?,
            name: r.try_get(1)?,
            doc_masked: r.try_get(2)?,
            region: r.try_get(3)?,
            degree: r.try_get(4)?,
            via_person_id: r.try_get(5)?,
            exposure_at: r.try_get(6)?,
            evidence: r.try_get(7)?,
            state: r.try_get(8)?,
            decided_by: r.try_get(9)?,
            decided_at: r.try_get(10)?,
        })
    })
    .collect()
}

/// Moves an undecided candidate to `state`; false when there is none.
pub async fn decide_candidate(
    c: &mut AnyConnection,
    case_id: i64,
    person_id: i64,
    state: &str,
    who: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE trace_candidates SET state = $1, decided_by = $2, decided_at = $3
         WHERE case_id = $4 AND person_id = $5 AND state = 'candidate'",
    )
    .bind(state)
    .bind(who)
    .bind(now)
    .bind(case_id)
    .bind(person_id)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// The people sharing `person`'s address (same resident address in the same
/// village), the person included.
pub async fn household(c: &mut AnyConnection, person_id: i64) -> Result<Vec<i64>> {
    sqlx::query(
        "SELECT o.person_id FROM residents me
         JOIN residents o ON o.address = me.address
             AND substr(o.grid, 1, 12) = substr(me.grid, 1, 12)
         WHERE me.person_id = $1 AND me.address IS NOT NULL AND me.address <> ''",
    )
    .bind(person_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

/// `(person, tube, opened_at)` for everyone pooled with `person` in a tube
/// opened in `[from, to]`.
pub async fn tube_mates(
    c: &mut AnyConnection,
    person_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64, i64)>> {
    sqlx::query(
        "SELECT o.person_id, t.id, t.opened_at FROM tube_members me
         JOIN tubes t ON t.id = me.tube_id
         JOIN tube_members o ON o.tube_id = me.tube_id
         WHERE me.person_id = $1 AND t.opened_at >= $2 AND t.opened_at <= $3",
    )
    .bind(person_id)
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}
