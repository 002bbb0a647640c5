//! SQL for 找回回执: recovery codes and the counts their limits read.

use sqlx::{AnyConnection, Row};

use super::Backend;
use crate::error::Result;

/// Holds PostgreSQL's lock on one recovery key (a document's lookup, a
/// client) until the transaction ends, so the counts a limit reads cannot be
/// outrun by parallel requests. Take a document's lock before a client's,
/// never the other way round.
pub async fn serialise(c: &mut AnyConnection, backend: Backend, key: &str) -> Result<()> {
    super::serialise_on(c, backend, &format!("recovery:{key}")).await
}

pub struct NewRecoveryCode<'a> {
    pub ticket_hash: &'a str,
    pub doc_lookup: &'a str,
    pub client: &'a str,
    pub person_id: Option<i64>,
    pub code_hash: Option<&'a str>,
    pub expires_at: i64,
}

/// The new row's id.
pub async fn insert_code(c: &mut AnyConnection, r: &NewRecoveryCode<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO recovery_codes (ticket_hash, doc_lookup, client, person_id, code_hash,
                                     created_at, expires_at, tries)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0) RETURNING id",
    )
    .bind(r.ticket_hash)
    .bind(r.doc_lookup)
    .bind(r.client)
    .bind(r.person_id)
    .bind(r.code_hash)
    .bind(now)
    .bind(r.expires_at)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// Code requests since `since` for a document and for a client.
pub async fn requests_since(
    c: &mut AnyConnection,
    doc_lookup: &str,
    client: &str,
    since: i64,
) -> Result<(i64, i64)> {
    let by_doc: i64 = sqlx::query(
        "SELECT COUNT(*) FROM recovery_codes WHERE doc_lookup = $1 AND created_at >= $2",
    )
    .bind(doc_lookup)
    .bind(since)
    .fetch_one(&mut *c)
    .await?
    .try_get(0)?;
    let by_client: i64 =
        sqlx::query("SELECT COUNT(*) FROM recovery_codes WHERE client = $1 AND created_at >= $2")
            .bind(client)
            .bind(since)
            .fetch_one(&mut *c)
            .await?
            .try_get(0)?;
    Ok((by_doc, by_client))
}

pub struct CodeRow {
    pub id: i64,
    pub doc_lookup: String,
    pub person_id: Option<i64>,
    pub code_hash: Option<String>,
    pub expires_at: i64,
    pub tries: i64,
    pub used_at: Option<i64>,
}

pub async fn code_by_ticket(c: &mut AnyConnection, ticket_hash: &str) -> Result<Option<CodeRow>> {
    sqlx::query(
        "SELECT id, doc_lookup, person_id, code_hash, expires_at, tries, used_at
         FROM recovery_codes WHERE ticket_hash = $1",
    )
    .bind(ticket_hash)
    .fetch_optional(c)
    .await?
    .map(|r| {
        Ok(CodeRow {
            id: r.try_get("id")?,
            doc_lookup: r.try_get("doc_lookup")?,
            person_id: r.try_get("person_id")?,
            code_hash: r.try_get("code_hash")?,
            expires_at: r.try_get("expires_at")?,
            tries: r.try_get("tries")?,
            used_at: r.try_get("used_at")?,
        })
    })
    .transpose()
}

/// Claims one try on a code, right or wrong, in one statement; false when
/// the code has had `max` tries already.
pub async fn claim_try(c: &mut AnyConnection, id: i64, max: i64) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE recovery_codes SET tries = tries + 1 WHERE id = $1 AND tries < $2")
            .bind(id)
            .bind(max)
            .execute(c)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Tries on all of a document's codes made since `since`.
pub async fn tries_for_document(
    c: &mut AnyConnection,
    doc_lookup: &str,
    since: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "SELECT CAST(COALESCE(SUM(tries), 0) AS BIGINT) FROM recovery_codes WHERE doc_lookup = $1 AND created_at >= $2",
    )
    .bind(doc_lookup)
    .bind(since)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// Marks a code used; false when it already was (a second request raced it).
pub async fn use_code(c: &mut AnyConnection, id: i64, now: i64) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(c)
            .await?
            .rows_affected()
            == 1,
    )
}

/// The person's latest receipt that speaks for them (not one waiting for
/// the grid to confirm a differing identity).
pub async fn latest_trusted_receipt(
    c: &mut AnyConnection,
    person_id: i64,
) -> Result<Option<String>> {
    sqlx::query(
        "SELECT receipt FROM declarations
         WHERE person_id = $1 AND identity IN ('new', 'same', 'moved', 'confirmed')
         ORDER BY id DESC LIMIT 1",
    )
    .bind(person_id)
    .fetch_optional(c)
    .await?
    .map(|r| Ok(r.try_get(0)?))
    .transpose()
}
