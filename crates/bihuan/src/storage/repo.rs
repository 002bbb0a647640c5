//! Every SQL statement of the system. Each function takes a connection, so it
//! runs inside whatever transaction the calling use case holds.

use bihuan_domain::regions::ManagedRegion;
use bihuan_domain::risk::{RiskArea, RiskLevel};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::error::{Error, Result};

fn date(s: &str) -> Result<bihuan_domain::Date> {
    s.parse()
        .map_err(|_| Error::Internal(format!("bad date in database: {s}")))
}

// ---------- regions ----------

#[derive(Debug, Clone, Serialize)]
pub struct RegionRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
}

fn region_row(r: &AnyRow) -> Result<RegionRow> {
    Ok(RegionRow {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        level: r.try_get("level")?,
        parent: r.try_get("parent")?,
    })
}

pub async fn count_regions(c: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) FROM regions")
        .fetch_one(c)
        .await?
        .try_get(0)?)
}

/// Inserts in chunks: one statement for many rows.
pub async fn insert_regions(c: &mut AnyConnection, regions: &[ManagedRegion]) -> Result<()> {
    for chunk in regions.chunks(200) {
        let mut sql = String::from("INSERT INTO regions (code, name, level, parent) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            let b = i * 4;
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
        }
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(r.code.as_str().to_string())
                .bind(r.name.clone())
                .bind(r.level.as_str())
                .bind(r.code.parent().map(|p| p.as_str().to_string()));
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}

pub async fn region(c: &mut AnyConnection, code: &str) -> Result<Option<RegionRow>> {
    sqlx::query("SELECT code, name, level, parent FROM regions WHERE code = $1")
        .bind(code)
        .fetch_optional(c)
        .await?
        .as_ref()
        .map(region_row)
        .transpose()
}

pub async fn children(c: &mut AnyConnection, code: &str) -> Result<Vec<RegionRow>> {
    sqlx::query("SELECT code, name, level, parent FROM regions WHERE parent = $1 ORDER BY code")
        .bind(code)
        .fetch_all(c)
        .await?
        .iter()
        .map(region_row)
        .collect()
}

pub async fn regions_at_level(c: &mut AnyConnection, level: &str) -> Result<Vec<RegionRow>> {
    sqlx::query("SELECT code, name, level, parent FROM regions WHERE level = $1 ORDER BY code")
        .bind(level)
        .fetch_all(c)
        .await?
        .iter()
        .map(region_row)
        .collect()
}

/// The grid a village's new arrivals go to: its first grid.
pub async fn first_grid(c: &mut AnyConnection, village: &str) -> Result<Option<String>> {
    Ok(sqlx::query(
        "SELECT code FROM regions WHERE parent = $1 AND level = 'grid' ORDER BY code LIMIT 1",
    )
    .bind(village)
    .fetch_optional(c)
    .await?
    .map(|r| r.get::<String, _>(0)))
}

pub async fn delete_grids_of(c: &mut AnyConnection, village: &str) -> Result<()> {
    sqlx::query("DELETE FROM regions WHERE parent = $1 AND level = 'grid'")
        .bind(village)
        .execute(c)
        .await?;
    Ok(())
}

// ---------- users and sessions ----------

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub region: String,
    pub failed_logins: i64,
    pub locked_until: i64,
    pub disabled: bool,
}

fn user_row(r: &AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get("role")?,
        region: r.try_get("region")?,
        failed_logins: r.try_get("failed_logins")?,
        locked_until: r.try_get("locked_until")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

const USER_COLS: &str = "u.id, u.username, u.password_hash, u.role, u.region, u.failed_logins, u.locked_until, u.disabled";

pub async fn insert_user(
    c: &mut AnyConnection,
    username: &str,
    hash: &str,
    role: &str,
    region: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO users (username, password_hash, role, region, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(username)
    .bind(hash)
    .bind(role)
    .bind(region)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn count_users(c: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) FROM users")
        .fetch_one(c)
        .await?
        .try_get(0)?)
}

pub async fn user_by_name(c: &mut AnyConnection, username: &str) -> Result<Option<UserRow>> {
    sqlx::query(&format!(
        "SELECT {USER_COLS} FROM users u WHERE u.username = $1"
    ))
    .bind(username)
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(user_row)
    .transpose()
}

/// Claims one login try before the password is checked: counts it as a
/// failure in one statement, unless the account is locked at `now` (then
/// `None`). The row stays locked until the transaction ends (PostgreSQL),
/// so parallel claims take turns and each sees the previous count.
pub async fn claim_login(c: &mut AnyConnection, user_id: i64, now: i64) -> Result<Option<i64>> {
    sqlx::query(
        "UPDATE users SET failed_logins = failed_logins + 1
         WHERE id = $1 AND locked_until <= $2
         RETURNING failed_logins",
    )
    .bind(user_id)
    .bind(now)
    .fetch_optional(c)
    .await?
    .map(|r| Ok(r.try_get(0)?))
    .transpose()
}

/// Sets the lock a claimed try leads to (0: none yet).
pub async fn lock_login(c: &mut AnyConnection, user_id: i64, locked_until: i64) -> Result<()> {
    sqlx::query("UPDATE users SET locked_until = $1 WHERE id = $2")
        .bind(locked_until)
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(())
}

/// Disables or enables an account; false when there is no such user.
pub async fn set_user_disabled(
    c: &mut AnyConnection,
    username: &str,
    disabled: bool,
) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2")
            .bind(i64::from(disabled))
            .bind(username)
            .execute(c)
            .await?
            .rows_affected()
            == 1,
    )
}

/// A new password hash; failures and any lock are cleared.
pub async fn set_password_hash(c: &mut AnyConnection, user_id: i64, hash: &str) -> Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = 0 WHERE id = $2",
    )
    .bind(hash)
    .bind(user_id)
    .execute(c)
    .await?;
    Ok(())
}

/// Ends every session of a user; returns how many there were.
pub async fn delete_sessions_of(c: &mut AnyConnection, user_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await?
        .rows_affected())
}

pub async fn record_login(
    c: &mut AnyConnection,
    user_id: i64,
    failed_logins: i64,
    locked_until: i64,
) -> Result<()> {
    sqlx::query("UPDATE users SET failed_logins = $1, locked_until = $2 WHERE id = $3")
        .bind(failed_logins)
        .bind(locked_until)
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn insert_session(
    c: &mut AnyConnection,
    token_hash: &str,
    user_id: i64,
    csrf: &str,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(csrf)
    .bind(expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// The session's user and CSRF token, if the session is still valid.
pub async fn session_user(
    c: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<(UserRow, String)>> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLS}, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await?;
    match row {
        Some(r) => Ok(Some((user_row(&r)?, r.try_get("csrf")?))),
        None => Ok(None),
    }
}

pub async fn delete_session(c: &mut AnyConnection, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

// ---------- persons ----------

#[derive(Debug, Clone)]
pub struct PersonRow {
    pub id: i64,
    pub doc_type: String,
    pub doc_enc: String,
    pub doc_masked: String,
    pub name: String,
    pub phone_enc: String,
    pub phone_masked: String,
    pub region: String,
    pub created_at: i64,
}

pub struct NewPerson<'a> {
    pub doc_type: &'a str,
    pub doc_lookup: &'a str,
    pub doc_enc: &'a str,
    pub doc_masked: &'a str,
    pub name: &'a str,
    pub phone_enc: &'a str,
    pub phone_masked: &'a str,
    pub region: &'a str,
}

/// One person per document: a second declaration finds the same row (and on
/// PostgreSQL locks it, so two declarations of one person take turns). The
/// identity on file (name, phone, region) is never overwritten here: a
/// change goes through the grid's verification (`apply_identity`).
pub async fn upsert_person(c: &mut AnyConnection, p: &NewPerson<'_>, now: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO persons (doc_type, doc_lookup, doc_enc, doc_masked, name, phone_enc,
                              phone_masked, region, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (doc_lookup) DO UPDATE SET updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(p.doc_type)
    .bind(p.doc_lookup)
    .bind(p.doc_enc)
    .bind(p.doc_masked)
    .bind(p.name)
    .bind(p.phone_enc)
    .bind(p.phone_masked)
    .bind(p.region)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// Sets the identity fields of a person: a change the grid confirmed, or a
/// phone filled in where none was on file.
pub async fn apply_identity(
    c: &mut AnyConnection,
    id: i64,
    name: &str,
    phone_enc: &str,
    phone_masked: &str,
    region: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE persons SET name = $1, phone_enc = $2, phone_masked = $3, region = $4,
                            updated_at = $5
         WHERE id = $6",
    )
    .bind(name)
    .bind(phone_enc)
    .bind(phone_masked)
    .bind(region)
    .bind(now)
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

/// A declaration's proposed identity change, waiting for the grid.
#[derive(Debug, Clone, Serialize)]
pub struct PendingIdentity {
    pub declaration_id: i64,
    pub received_at: i64,
    pub identity: String,
    pub name: String,
    #[serde(skip)]
    pub phone_enc: String,
    pub phone_masked: String,
    pub region: String,
    pub village: String,
    pub address: String,
}

/// The person's declarations whose identity change waits (pending, moved).
pub async fn pending_identities(
    c: &mut AnyConnection,
    person_id: i64,
) -> Result<Vec<PendingIdentity>> {
    sqlx::query(
        "SELECT id, received_at, identity, proposed_name, proposed_phone_enc,
                proposed_phone_masked, proposed_region, village, address
         FROM declarations
         WHERE person_id = $1 AND identity IN ('pending', 'moved')
         ORDER BY id",
    )
    .bind(person_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(PendingIdentity {
            declaration_id: r.try_get("id")?,
            received_at: r.try_get("received_at")?,
            identity: r.try_get("identity")?,
            name: r.try_get("proposed_name")?,
            phone_enc: r.try_get("proposed_phone_enc")?,
            phone_masked: r.try_get("proposed_phone_masked")?,
            region: r.try_get("proposed_region")?,
            village: r.try_get("village")?,
            address: r.try_get("address")?,
        })
    })
    .collect()
}

/// Answers a waiting identity change; false when it was not waiting.
pub async fn answer_identity(
    c: &mut AnyConnection,
    declaration_id: i64,
    person_id: i64,
    answer: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE declarations SET identity = $1
         WHERE id = $2 AND person_id = $3 AND identity IN ('pending', 'moved')",
    )
    .bind(answer)
    .bind(declaration_id)
    .bind(person_id)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// A person inside `scope` (a region code prefix), or `None`.
pub async fn person_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<PersonRow>> {
    let Some(r) = sqlx::query(
        "SELECT id, doc_type, doc_enc, doc_masked, name, phone_enc, phone_masked, region, created_at
         FROM persons WHERE id = $1 AND region LIKE $2",
    )
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(PersonRow {
        id: r.try_get("id")?,
        doc_type: r.try_get("doc_type")?,
        doc_enc: r.try_get("doc_enc")?,
        doc_masked: r.try_get("doc_masked")?,
        name: r.try_get("name")?,
        phone_enc: r.try_get("phone_enc")?,
        phone_masked: r.try_get("phone_masked")?,
        region: r.try_get("region")?,
        created_at: r.try_get("created_at")?,
    }))
}

/// Who a task card is about: the name, the masked phone, and where to find
/// them (the latest declared address, else the resident roll's).
#[derive(Debug, Clone)]
pub struct CardPersonRow {
    pub id: i64,
    pub name: String,
    pub phone_masked: String,
    pub village: Option<String>,
    pub address: Option<String>,
}

/// The people of a page of task cards, inside `scope`.
pub async fn card_people(
    c: &mut AnyConnection,
    ids: &[i64],
    scope: &str,
) -> Result<Vec<CardPersonRow>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    // Only a trusted declaration speaks for where the person is: a
    // stranger's pending one must not send the worker elsewhere.
    let latest = "FROM declarations d WHERE d.person_id = p.id \
                  AND d.identity IN ('new', 'same', 'moved', 'confirmed') \
                  ORDER BY d.received_at DESC, d.id DESC LIMIT 1";
    let sql = format!(
        "SELECT p.id, p.name, p.phone_masked, \
                (SELECT d.village {latest}) AS village, \
                COALESCE((SELECT NULLIF(d.address, '') {latest}), \
                         (SELECT r.address FROM residents r WHERE r.person_id = p.id)) AS address \
         FROM persons p WHERE p.region LIKE $1 AND p.id IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(format!("{scope}%"));
    for id in ids {
        q = q.bind(*id);
    }
    q.fetch_all(c)
        .await?
        .iter()
        .map(|r| {
            Ok(CardPersonRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                phone_masked: r.try_get("phone_masked")?,
                village: r.try_get("village")?,
                address: r.try_get("address")?,
            })
        })
        .collect()
}

pub async fn set_person_region(
    c: &mut AnyConnection,
    id: i64,
    region: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE persons SET region = $1, updated_at = $2 WHERE id = $3")
        .bind(region)
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

// ---------- declarations ----------

#[derive(Debug, Clone)]
pub struct DeclarationRow {
    pub id: i64,
    pub person_id: i64,
    pub receipt: String,
    pub received_at: i64,
    pub arrival_date: String,
    pub village: String,
    pub address: String,
    pub facts: String,
    pub category: String,
    pub assessment: String,
    /// new, same, moved, pending, confirmed or rejected: how the declared
    /// identity compared with the one on file (migration 0017).
    pub identity: String,
    /// The name as declared (the person's own may differ, see `identity`).
    pub name: String,
}

impl DeclarationRow {
    /// Its receipt may speak for the person on file: the declaration made
    /// them, matched their name and phone, or the grid confirmed it.
    pub fn trusted(&self) -> bool {
        matches!(
            self.identity.as_str(),
            "new" | "same" | "moved" | "confirmed"
        )
    }
}

pub const DECL_COLS: &str = "id, person_id, receipt, received_at, arrival_date, village, address, facts, category, assessment, identity, payload";

fn declaration_row(r: &AnyRow) -> Result<DeclarationRow> {
    Ok(DeclarationRow {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        receipt: r.try_get("receipt")?,
        received_at: r.try_get("received_at")?,
        arrival_date: r.try_get("arrival_date")?,
        village: r.try_get("village")?,
        address: r.try_get("address")?,
        facts: r.try_get("facts")?,
        category: r.try_get("category")?,
        assessment: r.try_get("assessment")?,
        identity: r.try_get("identity")?,
        name: {
            let payload: String = r.try_get("payload")?;
            serde_json::from_str::<serde_json::Value>(&payload)
                .ok()
                .and_then(|v| v["name"].as_str().map(str::to_string))
                .unwrap_or_default()
        },
    })
}

pub struct NewDeclaration<'a> {
    pub person_id: i64,
    pub receipt: &'a str,
    pub arrival_date: &'a str,
    pub village: &'a str,
    pub address: &'a str,
    pub counties: &'a str,
    pub payload: &'a str,
    pub facts: &'a str,
    pub category: &'a str,
    pub policy_version: &'a str,
    pub assessment: &'a str,
    pub identity: &'a str,
    pub proposed: Option<ProposedIdentity<'a>>,
}

/// What a declaration would change on the person, kept until the grid answers.
#[derive(Debug, Clone, Copy)]
pub struct ProposedIdentity<'a> {
    pub name: &'a str,
    pub phone_enc: &'a str,
    pub phone_masked: &'a str,
    pub region: &'a str,
}

pub async fn insert_declaration(
    c: &mut AnyConnection,
    d: &NewDeclaration<'_>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO declarations (person_id, receipt, received_at, arrival_date, village, address,
                                   counties, payload, facts, category, policy_version, assessment,
                                   identity, proposed_name, proposed_phone_enc,
                                   proposed_phone_masked, proposed_region)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         RETURNING id",
    )
    .bind(d.person_id)
    .bind(d.receipt)
    .bind(now)
    .bind(d.arrival_date)
    .bind(d.village)
    .bind(d.address)
    .bind(d.counties)
    .bind(d.payload)
    .bind(d.facts)
    .bind(d.category)
    .bind(d.policy_version)
    .bind(d.assessment)
    .bind(d.identity)
    .bind(d.proposed.map(|p| p.name))
    .bind(d.proposed.map(|p| p.phone_enc))
    .bind(d.proposed.map(|p| p.phone_masked))
    .bind(d.proposed.map(|p| p.region))
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn declaration_by_receipt(
    c: &mut AnyConnection,
    receipt: &str,
) -> Result<Option<DeclarationRow>> {
    sqlx::query(&format!(
        "SELECT {DECL_COLS} FROM declarations WHERE receipt = $1"
    ))
    .bind(receipt)
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(declaration_row)
    .transpose()
}

pub async fn declaration_by_id(c: &mut AnyConnection, id: i64) -> Result<Option<DeclarationRow>> {
    sqlx::query(&format!(
        "SELECT {DECL_COLS} FROM declarations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(declaration_row)
    .transpose()
}

pub async fn latest_declaration(
    c: &mut AnyConnection,
    person_id: i64,
) -> Result<Option<DeclarationRow>> {
    sqlx::query(&format!(
        "SELECT {DECL_COLS} FROM declarations WHERE person_id = $1 ORDER BY id DESC LIMIT 1"
    ))
    .bind(person_id)
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(declaration_row)
    .transpose()
}

/// Corrections replace the facts triage reads; the payload stays as received.
pub async fn update_declaration_facts(
    c: &mut AnyConnection,
    id: i64,
    facts: &str,
    counties: &str,
) -> Result<()> {
    sqlx::query("UPDATE declarations SET facts = $1, counties = $2 WHERE id = $3")
        .bind(facts)
        .bind(counties)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// Latest declarations of people a change in `county` may touch: arrived on or
/// after `from_date` (future arrivals included), or whose control is running.
/// Each comes with the person's current grid.
pub async fn reassessment_candidates(
    c: &mut AnyConnection,
    county: &str,
    from_date: &str,
) -> Result<Vec<(DeclarationRow, String)>> {
    sqlx::query(&format!(
        "SELECT {DECL_COLS}, (SELECT region FROM persons p WHERE p.id = d.person_id) AS grid
         FROM declarations d
         WHERE d.counties LIKE $1
           AND d.id = (SELECT MAX(id) FROM declarations x WHERE x.person_id = d.person_id
                       AND x.identity IN ('new', 'same', 'moved', 'confirmed'))
           AND (d.arrival_date >= $2 OR EXISTS (SELECT 1 FROM controls k
                WHERE k.person_id = d.person_id AND k.status = 'active'))
         ORDER BY d.id"
    ))
    .bind(format!("%,{county},%"))
    .bind(from_date)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((declaration_row(r)?, r.try_get("grid")?)))
    .collect()
}

// ---------- controls ----------

#[derive(Debug, Clone)]
pub struct ControlRow {
    pub person_id: i64,
    /// None for a control set by an event on someone who never declared.
    pub declaration_id: Option<i64>,
    pub category: String,
    pub status: String,
    pub assessment: String,
    pub updated_at: i64,
    /// JSON array of the assessments still in force beneath a temporary
    /// control (None: nothing beneath).
    pub underlying: Option<String>,
}

pub async fn control(c: &mut AnyConnection, person_id: i64) -> Result<Option<ControlRow>> {
    let Some(r) = sqlx::query(
        "SELECT person_id, declaration_id, category, status, assessment, updated_at, underlying
         FROM controls WHERE person_id = $1",
    )
    .bind(person_id)
    .fetch_optional(c)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(ControlRow {
        person_id: r.try_get("person_id")?,
        declaration_id: r.try_get("declaration_id")?,
        category: r.try_get("category")?,
        status: r.try_get("status")?,
        assessment: r.try_get("assessment")?,
        updated_at: r.try_get("updated_at")?,
        underlying: r.try_get("underlying")?,
    }))
}

pub struct NewControl<'a> {
    pub person_id: i64,
    pub declaration_id: Option<i64>,
    pub category: &'a str,
    pub policy_version: &'a str,
    pub release_on: Option<String>,
    pub status: &'a str,
    pub assessment: &'a str,
    /// See [`ControlRow::underlying`].
    pub underlying: Option<&'a str>,
}

/// Replaces the plans beneath a person's control.
pub async fn set_underlying(
    c: &mut AnyConnection,
    person_id: i64,
    underlying: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE controls SET underlying = $1 WHERE person_id = $2")
        .bind(underlying)
        .bind(person_id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn put_control(c: &mut AnyConnection, k: &NewControl<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO controls (person_id, declaration_id, category, policy_version, release_on,
                               status, assessment, updated_at, underlying)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (person_id) DO UPDATE SET declaration_id = excluded.declaration_id,
             category = excluded.category, policy_version = excluded.policy_version,
             release_on = excluded.release_on, status = excluded.status,
             assessment = excluded.assessment, updated_at = excluded.updated_at,
             underlying = excluded.underlying",
    )
    .bind(k.person_id)
    .bind(k.declaration_id)
    .bind(k.category)
    .bind(k.policy_version)
    .bind(k.release_on.clone())
    .bind(k.status)
    .bind(k.assessment)
    .bind(now)
    .bind(k.underlying)
    .execute(c)
    .await?;
    Ok(())
}

// ---------- tasks ----------

#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: i64,
    pub kind: String,
    pub state: String,
    /// None for work that belongs to the grid, not one person.
    pub person_id: Option<i64>,
    pub region: String,
    pub escalated_to: Option<String>,
    /// Who was on duty where it escalated to.
    pub escalated_duty: Option<String>,
    pub due_at: i64,
    pub reason: String,
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// A task of an announced drill (明演), shown as 演练; a blind drill's
    /// looks like any other.
    pub announced_drill: bool,
}

const TASK_COLS: &str = "id, kind, state, person_id, region, escalated_to, escalated_duty, due_at, reason, outcome, note, created_at, updated_at, \
     (SELECT announced FROM drills WHERE drills.id = tasks.drill_id) AS drill_announced";

fn task_row(r: &AnyRow) -> Result<TaskRow> {
    Ok(TaskRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        person_id: r.try_get("person_id")?,
        region: r.try_get("region")?,
        escalated_to: r.try_get("escalated_to")?,
        escalated_duty: r.try_get("escalated_duty")?,
        due_at: r.try_get("due_at")?,
        reason: r.try_get("reason")?,
        outcome: r.try_get("outcome")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        announced_drill: r.try_get::<Option<i64>, _>("drill_announced")? == Some(1),
    })
}

pub async fn insert_task(
    c: &mut AnyConnection,
    kind: &str,
    person_id: i64,
    region: &str,
    due_at: i64,
    reason: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        // A drill's person's task is the drill's (never on real boards).
        "INSERT INTO tasks (kind, state, person_id, region, due_at, reason, created_at, updated_at,
                            drill_id)
         VALUES ($1, 'dispatched', $2, $3, $4, $5, $6, $6,
                 (SELECT drill_id FROM persons WHERE id = $2)) RETURNING id",
    )
    .bind(kind)
    .bind(person_id)
    .bind(region)
    .bind(due_at)
    .bind(reason)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// The person's open (not yet closed) task of `kind`, if any.
pub async fn open_task(
    c: &mut AnyConnection,
    person_id: i64,
    kind: &str,
) -> Result<Option<TaskRow>> {
    sqlx::query(&format!(
        "SELECT {TASK_COLS} FROM tasks WHERE person_id = $1 AND kind = $2 AND state <> 'closed'
         ORDER BY id LIMIT 1"
    ))
    .bind(person_id)
    .bind(kind)
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(task_row)
    .transpose()
}

/// A new reason for an open task: appended, and the deadline brought forward
/// when the new one is sooner.
pub async fn attach_to_task(
    c: &mut AnyConnection,
    id: i64,
    reason: &str,
    due_at: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE tasks SET reason = reason || $1,
             due_at = CASE WHEN $2 < due_at THEN $2 ELSE due_at END, updated_at = $3
         WHERE id = $4",
    )
    .bind(format!("\n{reason}"))
    .bind(due_at)
    .bind(now)
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn task_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<TaskRow>> {
    sqlx::query(&format!(
        "SELECT {TASK_COLS} FROM tasks WHERE id = $1 AND region LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?
    .as_ref()
    .map(task_row)
    .transpose()
}

pub struct TaskUpdate<'a> {
    pub state: &'a str,
    pub region: &'a str,
    pub escalated_to: Option<&'a str>,
    pub due_at: i64,
    pub outcome: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// Writes the new state only if nobody changed the task meanwhile.
pub async fn update_task(
    c: &mut AnyConnection,
    id: i64,
    expected_state: &str,
    u: &TaskUpdate<'_>,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE tasks SET state = $1, region = $2, escalated_to = $3,
             escalated_at = CASE WHEN $3 IS NULL THEN NULL ELSE escalated_at END,
             escalated_duty = CASE WHEN $3 IS NULL THEN NULL ELSE escalated_duty END,
             due_at = $4, outcome = $5, note = $6, updated_at = $7
         WHERE id = $8 AND state = $9",
    )
    .bind(u.state)
    .bind(u.region)
    .bind(u.escalated_to)
    .bind(u.due_at)
    .bind(u.outcome)
    .bind(u.note)
    .bind(now)
    .bind(id)
    .bind(expected_state)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct TaskFilter<'a> {
    pub scope: &'a str,
    pub state: Option<&'a str>,
    pub escalated_to: Option<&'a str>,
    pub overdue_at: Option<i64>,
    /// The cursor: the last task of the previous page (0 for the first page).
    pub after_id: i64,
    pub limit: i64,
    /// The time overdue is judged at, for the order.
    pub now: i64,
}

/// `task::urgency_rank` in SQL over the `tasks` columns; `$n` is `now`.
fn urgency_rank_sql(n: usize) -> String {
    let urgent = bihuan_domain::task::URGENT_KINDS
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "(CASE WHEN state <> 'closed' AND kind IN ({urgent}) THEN 0 \
          WHEN state IN ('dispatched', 'acknowledged') AND due_at < ${n} THEN 1 ELSE 2 END)"
    )
}

/// Key-paginated task list inside a region, in the urgency order of
/// `task::urgency_key` (urgent kinds, overdue, deadline, id). The cursor is
/// the id of the previous page's last task: the page continues after that
/// task's key, computed at the same `now`.
pub async fn list_tasks(c: &mut AnyConnection, f: &TaskFilter<'_>) -> Result<Vec<TaskRow>> {
    let rank = urgency_rank_sql(3);
    let mut sql = format!(
        "SELECT {TASK_COLS} FROM tasks WHERE region LIKE $1 \
         AND ($2 = 0 OR ({rank}, due_at, id) > \
             (SELECT {rank}, due_at, id FROM tasks WHERE id = $2 AND region LIKE $1))"
    );
    let mut n = 3;
    if f.state.is_some() {
        n += 1;
        sql.push_str(&format!(" AND state = ${n}"));
    }
    if f.escalated_to.is_some() {
        n += 1;
        sql.push_str(&format!(" AND escalated_to = ${n}"));
    }
    if f.overdue_at.is_some() {
        n += 1;
        sql.push_str(&format!(
            " AND state IN ('dispatched', 'acknowledged') AND due_at < ${n}"
        ));
    }
    n += 1;
    sql.push_str(&format!(" ORDER BY {rank}, due_at, id LIMIT ${n}"));
    let mut q = sqlx::query(&sql)
        .bind(format!("{}%", f.scope))
        .bind(f.after_id)
        .bind(f.now);
    if let Some(s) = f.state {
        q = q.bind(s);
    }
    if let Some(e) = f.escalated_to {
        q = q.bind(e);
    }
    if let Some(t) = f.overdue_at {
        q = q.bind(t);
    }
    q.bind(f.limit)
        .fetch_all(c)
        .await?
        .iter()
        .map(task_row)
        .collect()
}

/// Escalates every overdue, unreported task one level up (codes shrink by
/// three digits per level), as two set-based statements: the events, then
/// the move. A task already escalated waits one more deadline span per level.
pub async fn escalate_overdue(c: &mut AnyConnection, now: i64) -> Result<u64> {
    const DUE: &str = "state IN ('dispatched', 'acknowledged')
          AND length(COALESCE(escalated_to, region)) > 6
          AND ((escalated_to IS NULL AND due_at < $1)
               OR (escalated_to IS NOT NULL AND escalated_at + (due_at - created_at) < $1))";
    const TARGET: &str =
        "substr(COALESCE(escalated_to, region), 1, length(COALESCE(escalated_to, region)) - 3)";
    sqlx::query(&format!(
        "INSERT INTO events (at, actor, person_id, task_id, kind, detail)
         SELECT $1, 'system', person_id, id, 'task_escalated',
                '{{\"to\":\"' || {TARGET} || '\"}}'
         FROM tasks WHERE {DUE}"
    ))
    .bind(now)
    .execute(&mut *c)
    .await?;
    let done = sqlx::query(&format!(
        // Whoever was on duty one level down is not on duty here; the
        // escalation sweep names the new level's.
        "UPDATE tasks SET escalated_to = {TARGET}, escalated_at = $1, escalated_duty = NULL,
                          updated_at = $1 WHERE {DUE}"
    ))
    .bind(now)
    .execute(c)
    .await?;
    Ok(done.rows_affected())
}

// ---------- events ----------

#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub person_id: Option<i64>,
    pub task_id: Option<i64>,
    pub kind: String,
    pub detail: serde_json::Value,
}

pub async fn insert_event(
    c: &mut AnyConnection,
    at: i64,
    actor: &str,
    person_id: Option<i64>,
    task_id: Option<i64>,
    kind: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    // The region the event is about, when its detail names one: what was
    // exported, where an instruction went.
    let region = detail
        .get("region")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    sqlx::query(
        "INSERT INTO events (at, actor, person_id, task_id, kind, detail, region)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(at)
    .bind(actor)
    .bind(person_id)
    .bind(task_id)
    .bind(kind)
    .bind(detail.to_string())
    .bind(region)
    .execute(c)
    .await?;
    Ok(())
}

/// A person's timeline: their own events and their tasks' events.
pub async fn person_events(c: &mut AnyConnection, person_id: i64) -> Result<Vec<EventRow>> {
    sqlx::query(
        "SELECT id, at, actor, person_id, task_id, kind, detail FROM events
         WHERE person_id = $1 ORDER BY id LIMIT 1000",
    )
    .bind(person_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        let detail: String = r.try_get("detail")?;
        Ok(EventRow {
            id: r.try_get("id")?,
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            person_id: r.try_get("person_id")?,
            task_id: r.try_get("task_id")?,
            kind: r.try_get("kind")?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        })
    })
    .collect()
}

// ---------- risk areas ----------

fn risk_area_row(r: &AnyRow) -> Result<RiskArea> {
    let level: String = r.try_get("level")?;
    let until: Option<String> = r.try_get("until")?;
    Ok(RiskArea {
        id: r.try_get("id")?,
        county: r.try_get("county")?,
        township: r.try_get("township")?,
        subarea: r.try_get("subarea")?,
        level: RiskLevel::parse(&level)
            .ok_or_else(|| Error::Internal(format!("bad level {level}")))?,
        since: date(&r.try_get::<String, _>("since")?)?,
        until: until.as_deref().map(date).transpose()?,
        listed_on: date(&r.try_get::<String, _>("listed_on")?)?,
    })
}

const AREA_COLS: &str = "id, county, township, subarea, level, since, until, listed_on";

pub async fn risk_areas(c: &mut AnyConnection) -> Result<Vec<RiskArea>> {
    sqlx::query(&format!("SELECT {AREA_COLS} FROM risk_areas ORDER BY id"))
        .fetch_all(c)
        .await?
        .iter()
        .map(risk_area_row)
        .collect()
}

/// The entries that may match presences in these counties.
pub async fn risk_areas_in(c: &mut AnyConnection, counties: &[&str]) -> Result<Vec<RiskArea>> {
    if counties.is_empty() {
        return Ok(vec![]);
    }
    let marks: Vec<String> = (1..=counties.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {AREA_COLS} FROM risk_areas WHERE county IN ({}) ORDER BY id",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for county in counties {
        q = q.bind(*county);
    }
    q.fetch_all(c).await?.iter().map(risk_area_row).collect()
}

pub async fn risk_area(c: &mut AnyConnection, id: i64) -> Result<Option<RiskArea>> {
    sqlx::query(&format!("SELECT {AREA_COLS} FROM risk_areas WHERE id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await?
        .as_ref()
        .map(risk_area_row)
        .transpose()
}

pub async fn insert_risk_area(
    c: &mut AnyConnection,
    a: &RiskArea,
    created_by: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO risk_areas (county, township, subarea, level, since, until, listed_on,
                                 created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8) RETURNING id",
    )
    .bind(a.county.clone())
    .bind(a.township.clone())
    .bind(a.subarea.clone())
    .bind(a.level.as_str())
    .bind(a.since.to_string())
    .bind(a.listed_on.to_string())
    .bind(created_by)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn set_risk_area_dates(
    c: &mut AnyConnection,
    id: i64,
    since: bihuan_domain::Date,
    until: Option<bihuan_domain::Date>,
) -> Result<()> {
    sqlx::query("UPDATE risk_areas SET since = $1, until = $2 WHERE id = $3")
        .bind(since.to_string())
        .bind(until.map(|d| d.to_string()))
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// People and tasks whose grid no longer exists (checked after a grid import).
pub async fn orphaned_records(c: &mut AnyConnection) -> Result<i64> {
    let persons: i64 =
        sqlx::query("SELECT COUNT(*) FROM persons WHERE region NOT IN (SELECT code FROM regions)")
            .fetch_one(&mut *c)
            .await?
            .try_get(0)?;
    let tasks: i64 =
        sqlx::query("SELECT COUNT(*) FROM tasks WHERE region NOT IN (SELECT code FROM regions)")
            .fetch_one(c)
            .await?
            .try_get(0)?;
    Ok(persons + tasks)
}

/// Today's declarations of people inside `scope`, by town and category.
/// Placed by the person's grid (a grid worker's scope is a grid code, which
/// no 12-digit village code starts with), as the boards place arrivals.
pub async fn declarations_by_town(
    c: &mut AnyConnection,
    scope: &str,
    since: i64,
) -> Result<Vec<(String, String, i64)>> {
    sqlx::query(
        "SELECT substr(p.region, 1, 9) AS town, d.category, COUNT(*)
         FROM declarations d JOIN persons p ON p.id = d.person_id
         WHERE d.received_at >= $1 AND p.region LIKE $2
         GROUP BY substr(p.region, 1, 9), d.category ORDER BY 1, 2",
    )
    .bind(since)
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

/// Tasks inside `scope` by state, and how many of them are overdue.
pub async fn tasks_by_state(
    c: &mut AnyConnection,
    scope: &str,
    now: i64,
) -> Result<Vec<(String, i64, i64)>> {
    sqlx::query(
        "SELECT state, COUNT(*),
                CAST(SUM(CASE WHEN state IN ('dispatched', 'acknowledged') AND due_at < $1
                              THEN 1 ELSE 0 END) AS BIGINT)
         FROM tasks WHERE region LIKE $2 GROUP BY state ORDER BY state",
    )
    .bind(now)
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

/// Overdue tasks inside `scope`, by town.
pub async fn overdue_by_town(
    c: &mut AnyConnection,
    scope: &str,
    now: i64,
) -> Result<Vec<(String, i64)>> {
    sqlx::query(
        "SELECT substr(region, 1, 9) AS town, COUNT(*) FROM tasks
         WHERE region LIKE $1 AND state IN ('dispatched', 'acknowledged') AND due_at < $2
         GROUP BY substr(region, 1, 9) ORDER BY 1",
    )
    .bind(format!("{scope}%"))
    .bind(now)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

pub async fn tasks_of_person(c: &mut AnyConnection, person_id: i64) -> Result<Vec<TaskRow>> {
    sqlx::query(&format!(
        "SELECT {TASK_COLS} FROM tasks WHERE person_id = $1 ORDER BY id"
    ))
    .bind(person_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(task_row)
    .collect()
}

/// PostgreSQL only: a transaction-scoped lock that one sweeping replica holds.
pub async fn try_sweep_lock(c: &mut AnyConnection) -> Result<bool> {
    const SWEEP_LOCK: i64 = 0x0073_7765_6570; // "sweep"
    let got: bool = sqlx::query("SELECT pg_try_advisory_xact_lock($1)")
        .bind(SWEEP_LOCK)
        .fetch_one(c)
        .await?
        .try_get(0)?;
    Ok(got)
}

/// Closes the person's open tasks of `kind` (all kinds when `None`) whose
/// reason has gone, with one event each saying why.
pub async fn close_open_tasks(
    c: &mut AnyConnection,
    person_id: i64,
    kind: Option<&str>,
    reason: &str,
    actor: &str,
    now: i64,
) -> Result<()> {
    // '' matches every kind, so one statement serves both.
    let kind = kind.unwrap_or("");
    sqlx::query(
        "INSERT INTO events (at, actor, person_id, task_id, kind, detail)
         SELECT $1, $2, person_id, id, 'task_close', $5 FROM tasks
         WHERE person_id = $3 AND ($4 = '' OR kind = $4) AND state <> 'closed'",
    )
    .bind(now)
    .bind(actor)
    .bind(person_id)
    .bind(kind)
    .bind(serde_json::json!({ "reason": reason }).to_string())
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "UPDATE tasks SET state = 'closed', outcome = 'done', updated_at = $1
         WHERE person_id = $2 AND ($3 = '' OR kind = $3) AND state <> 'closed'",
    )
    .bind(now)
    .bind(person_id)
    .bind(kind)
    .execute(c)
    .await?;
    Ok(())
}

/// Closes one task if it is still open, with an event saying why.
pub async fn close_open_task(
    c: &mut AnyConnection,
    task_id: i64,
    reason: &str,
    actor: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (at, actor, person_id, task_id, kind, detail)
         SELECT $1, $2, person_id, id, 'task_close', $4 FROM tasks
         WHERE id = $3 AND state <> 'closed'",
    )
    .bind(now)
    .bind(actor)
    .bind(task_id)
    .bind(serde_json::json!({ "reason": reason }).to_string())
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "UPDATE tasks SET state = 'closed', outcome = 'done', updated_at = $1
         WHERE id = $2 AND state <> 'closed'",
    )
    .bind(now)
    .bind(task_id)
    .execute(c)
    .await?;
    Ok(())
}

/// Open tasks follow a person who moves to another grid.
pub async fn move_open_tasks(
    c: &mut AnyConnection,
    person_id: i64,
    grid: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE tasks SET region = $1, escalated_to = NULL, escalated_at = NULL,
             escalated_duty = NULL, updated_at = $2
         WHERE person_id = $3 AND state <> 'closed'",
    )
    .bind(grid)
    .bind(now)
    .bind(person_id)
    .execute(c)
    .await?;
    Ok(())
}

/// A task for a whole grid (no one person), e.g. a round's 未检 list.
pub async fn insert_grid_task(
    c: &mut AnyConnection,
    kind: &str,
    region: &str,
    due_at: i64,
    reason: &str,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO tasks (kind, state, person_id, region, due_at, reason, created_at, updated_at)
         VALUES ($1, 'dispatched', NULL, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(kind)
    .bind(region)
    .bind(due_at)
    .bind(reason)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}
