//! 指挥部: the duty roster and instructions with their receipts and answers.

use sqlx::{AnyConnection, Row};

use crate::error::Result;

// ---------- duty roster ----------

#[derive(Debug, Clone, serde::Serialize)]
pub struct DutyRow {
    pub id: i64,
    pub region: String,
    pub on_date: String,
    pub shift: String,
    pub name: String,
    pub phone_masked: String,
    /// The work phone in full, opened by the use case from `phone_enc`:
    /// the roster exists so that staff can call whoever is on duty.
    pub phone: String,
    #[serde(skip)]
    pub phone_enc: String,
}

pub struct NewDuty<'a> {
    pub region: &'a str,
    pub on_date: &'a str,
    pub shift: &'a str,
    pub name: &'a str,
    pub phone_enc: &'a str,
    pub phone_masked: &'a str,
    pub created_by: &'a str,
}

/// Adds a roster entry; false when the same person is on that shift already.
pub async fn insert_duty(c: &mut AnyConnection, d: &NewDuty<'_>, now: i64) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO duty_roster (region, on_date, shift, name, phone_enc, phone_masked, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (region, on_date, shift, name) DO NOTHING",
    )
    .bind(d.region)
    .bind(d.on_date)
    .bind(d.shift)
    .bind(d.name)
    .bind(d.phone_enc)
    .bind(d.phone_masked)
    .bind(d.created_by)
    .bind(now)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

fn duty_row(r: &sqlx::any::AnyRow) -> Result<DutyRow> {
    Ok(DutyRow {
        id: r.try_get(0)?,
        region: r.try_get(1)?,
        on_date: r.try_get(2)?,
        shift: r.try_get(3)?,
        name: r.try_get(4)?,
        phone_masked: r.try_get(5)?,
        phone: String::new(),
        phone_enc: r.try_get(6)?,
    })
}

/// Roster entries inside `scope` from `from` (a date) on.
pub async fn duties_in(c: &mut AnyConnection, scope: &str, from: &str) -> Result<Vec<DutyRow>> {
    sqlx::query(
        "SELECT id, region, on_date, shift, name, phone_masked, phone_enc FROM duty_roster
         WHERE region LIKE $1 AND on_date >= $2 ORDER BY on_date, region, shift, name LIMIT 1000",
    )
    .bind(format!("{scope}%"))
    .bind(from)
    .fetch_all(c)
    .await?
    .iter()
    .map(duty_row)
    .collect()
}

/// Who is on one region's roster for (date, shift).
pub async fn duty_of(
    c: &mut AnyConnection,
    region: &str,
    on_date: &str,
    shift: &str,
) -> Result<Vec<DutyRow>> {
    sqlx::query(
        "SELECT id, region, on_date, shift, name, phone_masked, phone_enc FROM duty_roster
         WHERE region = $1 AND on_date = $2 AND shift = $3 ORDER BY id",
    )
    .bind(region)
    .bind(on_date)
    .bind(shift)
    .fetch_all(c)
    .await?
    .iter()
    .map(duty_row)
    .collect()
}

/// The instructions that correct `id`, oldest first.
pub async fn corrections_of(c: &mut AnyConnection, id: i64) -> Result<Vec<i64>> {
    sqlx::query("SELECT id FROM instructions WHERE corrects = $1 ORDER BY id")
        .bind(id)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// Regions (codes) at or under `scope` with someone on the roster on `date`.
pub async fn regions_on_duty(
    c: &mut AnyConnection,
    scope: &str,
    date: &str,
) -> Result<Vec<String>> {
    sqlx::query("SELECT DISTINCT region FROM duty_roster WHERE region LIKE $1 AND on_date = $2")
        .bind(format!("{scope}%"))
        .bind(date)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// Tasks escalated at `at`, by the region they went to.
pub async fn escalated_task_targets(c: &mut AnyConnection, at: i64) -> Result<Vec<String>> {
    sqlx::query("SELECT DISTINCT escalated_to FROM tasks WHERE escalated_at = $1 AND escalated_to IS NOT NULL")
        .bind(at)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

pub async fn set_task_duty(
    c: &mut AnyConnection,
    at: i64,
    region: &str,
    duty: &str,
) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE tasks SET escalated_duty = $1 WHERE escalated_at = $2 AND escalated_to = $3",
    )
    .bind(duty)
    .bind(at)
    .bind(region)
    .execute(c)
    .await?
    .rows_affected())
}

// ---------- instructions ----------

pub struct NewInstruction<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub sender: &'a str,
    pub sender_region: &'a str,
    pub regions: &'a str,
    pub roles: &'a str,
    pub due_at: i64,
    pub corrects: Option<i64>,
}

pub async fn insert_instruction(
    c: &mut AnyConnection,
    i: &NewInstruction<'_>,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO instructions (title, body, sender, sender_region, regions, roles, due_at, corrects, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(i.title)
    .bind(i.body)
    .bind(i.sender)
    .bind(i.sender_region)
    .bind(i.regions)
    .bind(i.roles)
    .bind(i.due_at)
    .bind(i.corrects)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub async fn insert_attachment(
    c: &mut AnyConnection,
    instruction_id: i64,
    name: &str,
    content_type: &str,
    data: &[u8],
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO instruction_attachments (instruction_id, name, content_type, data)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(instruction_id)
    .bind(name)
    .bind(content_type)
    .bind(data.to_vec())
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// Makes every user of `roles` under each of `regions` a recipient; returns
/// how many.
pub async fn add_recipients(
    c: &mut AnyConnection,
    instruction_id: i64,
    regions: &[String],
    roles: &[String],
) -> Result<u64> {
    let mut n = 0;
    for region in regions {
        for role in roles {
            n += sqlx::query(
                "INSERT INTO instruction_recipients (instruction_id, user_id, username, region, role)
                 SELECT $1, id, username, region, role FROM users WHERE region LIKE $2 AND role = $3
                 ON CONFLICT (instruction_id, user_id) DO NOTHING",
            )
            .bind(instruction_id)
            .bind(format!("{region}%"))
            .bind(role)
            .execute(&mut *c)
            .await?
            .rows_affected();
        }
    }
    Ok(n)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct InstructionRow {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub sender: String,
    pub sender_region: String,
    pub regions: String,
    pub roles: String,
    pub due_at: i64,
    pub corrects: Option<i64>,
    pub created_at: i64,
}

const INSTRUCTION_COLUMNS: &str = "i.id, i.title, i.body, i.sender, i.sender_region, i.regions, i.roles, i.due_at, i.corrects, i.created_at";

fn instruction_row(r: &sqlx::any::AnyRow) -> Result<InstructionRow> {
    Ok(InstructionRow {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        body: r.try_get(2)?,
        sender: r.try_get(3)?,
        sender_region: r.try_get(4)?,
        regions: r.try_get(5)?,
        roles: r.try_get(6)?,
        due_at: r.try_get(7)?,
        corrects: r.try_get(8)?,
        created_at: r.try_get(9)?,
    })
}

pub async fn instruction(c: &mut AnyConnection, id: i64) -> Result<Option<InstructionRow>> {
    sqlx::query(&format!(
        "SELECT {INSTRUCTION_COLUMNS} FROM instructions i WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(c)
    .await?
    .map(|r| instruction_row(&r))
    .transpose()
}

/// Instructions sent from inside `scope`, newest first.
pub async fn sent_in(c: &mut AnyConnection, scope: &str) -> Result<Vec<InstructionRow>> {
    instructions_where(c, "i.sender_region LIKE $1", scope, 200).await
}

/// Instructions sent from outside `scope` with recipients inside it.
pub async fn reaching(c: &mut AnyConnection, scope: &str) -> Result<Vec<InstructionRow>> {
    let filter = "i.sender_region NOT LIKE $1 AND EXISTS (SELECT 1 FROM instruction_recipients r
                  WHERE r.instruction_id = i.id AND r.region LIKE $1)";
    instructions_where(c, filter, scope, 100).await
}

/// Instructions matching `filter` ($1 is `scope%`), newest first.
async fn instructions_where(
    c: &mut AnyConnection,
    filter: &str,
    scope: &str,
    limit: i64,
) -> Result<Vec<InstructionRow>> {
    sqlx::query(&format!(
        "SELECT {INSTRUCTION_COLUMNS} FROM instructions i WHERE {filter}
         ORDER BY i.id DESC LIMIT {limit}"
    ))
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(instruction_row)
    .collect()
}

/// A user's instructions with their own receipt: (instruction, acked_at, answered_at).
pub async fn inbox(
    c: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<(InstructionRow, Option<i64>, Option<i64>)>> {
    sqlx::query(&format!(
        "SELECT {INSTRUCTION_COLUMNS}, r.acked_at, r.answered_at FROM instructions i
         JOIN instruction_recipients r ON r.instruction_id = i.id
         WHERE r.user_id = $1 ORDER BY i.id DESC LIMIT 200"
    ))
    .bind(user_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((instruction_row(r)?, r.try_get(10)?, r.try_get(11)?)))
    .collect()
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RecipientRow {
    pub user_id: i64,
    pub username: String,
    pub region: String,
    pub role: String,
    pub acked_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub escalated_to: Option<String>,
    pub escalated_duty: Option<String>,
}

pub async fn recipients(c: &mut AnyConnection, instruction_id: i64) -> Result<Vec<RecipientRow>> {
    sqlx::query(
        "SELECT user_id, username, region, role, acked_at, answered_at, escalated_to, escalated_duty
         FROM instruction_recipients WHERE instruction_id = $1 ORDER BY region, username",
    )
    .bind(instruction_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(RecipientRow {
            user_id: r.try_get(0)?,
            username: r.try_get(1)?,
            region: r.try_get(2)?,
            role: r.try_get(3)?,
            acked_at: r.try_get(4)?,
            answered_at: r.try_get(5)?,
            escalated_to: r.try_get(6)?,
            escalated_duty: r.try_get(7)?,
        })
    })
    .collect()
}

/// Marks the receipt; false when already acknowledged or not a recipient.
pub async fn acknowledge(
    c: &mut AnyConnection,
    instruction_id: i64,
    user_id: i64,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE instruction_recipients SET acked_at = $1
         WHERE instruction_id = $2 AND user_id = $3 AND acked_at IS NULL",
    )
    .bind(now)
    .bind(instruction_id)
    .bind(user_id)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

pub async fn is_recipient(
    c: &mut AnyConnection,
    instruction_id: i64,
    user_id: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 FROM instruction_recipients WHERE instruction_id = $1 AND user_id = $2",
    )
    .bind(instruction_id)
    .bind(user_id)
    .fetch_optional(c)
    .await?
    .is_some())
}

pub struct NewAnswer<'a> {
    pub instruction_id: i64,
    pub user_id: i64,
    pub username: &'a str,
    pub body: &'a str,
    pub photo: Option<(&'a [u8], &'a str)>,
    pub corrects: Option<i64>,
}

/// An answer (反馈); it also counts as the receipt.
pub async fn insert_answer(c: &mut AnyConnection, a: &NewAnswer<'_>, now: i64) -> Result<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO instruction_answers (instruction_id, user_id, username, body, photo, photo_type, corrects, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(a.instruction_id)
    .bind(a.user_id)
    .bind(a.username)
    .bind(a.body)
    .bind(a.photo.map(|p| p.0.to_vec()))
    .bind(a.photo.map(|p| p.1.to_string()))
    .bind(a.corrects)
    .bind(now)
    .fetch_one(&mut *c)
    .await?
    .try_get(0)?;
    sqlx::query(
        "UPDATE instruction_recipients SET answered_at = COALESCE(answered_at, $1),
             acked_at = COALESCE(acked_at, $1)
         WHERE instruction_id = $2 AND user_id = $3",
    )
    .bind(now)
    .bind(a.instruction_id)
    .bind(a.user_id)
    .execute(c)
    .await?;
    Ok(id)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AnswerRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub body: String,
    pub has_photo: bool,
    pub corrects: Option<i64>,
    pub created_at: i64,
}

pub async fn answers(c: &mut AnyConnection, instruction_id: i64) -> Result<Vec<AnswerRow>> {
    sqlx::query(
        "SELECT id, user_id, username, body, CASE WHEN photo IS NULL THEN 0 ELSE 1 END, corrects, created_at
         FROM instruction_answers WHERE instruction_id = $1 ORDER BY id",
    )
    .bind(instruction_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(AnswerRow {
            id: r.try_get(0)?,
            user_id: r.try_get(1)?,
            username: r.try_get(2)?,
            body: r.try_get(3)?,
            has_photo: r.try_get::<i64, _>(4)? == 1,
            corrects: r.try_get(5)?,
            created_at: r.try_get(6)?,
        })
    })
    .collect()
}

pub async fn answer_owner(c: &mut AnyConnection, answer_id: i64) -> Result<Option<(i64, i64)>> {
    sqlx::query("SELECT instruction_id, user_id FROM instruction_answers WHERE id = $1")
        .bind(answer_id)
        .fetch_optional(c)
        .await?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
}

/// (id, name, content_type, size) of an instruction's attachments.
pub async fn attachments(
    c: &mut AnyConnection,
    instruction_id: i64,
) -> Result<Vec<(i64, String, String)>> {
    sqlx::query("SELECT id, name, content_type FROM instruction_attachments WHERE instruction_id = $1 ORDER BY id")
        .bind(instruction_id)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

pub async fn attachment(
    c: &mut AnyConnection,
    instruction_id: i64,
    id: i64,
) -> Result<Option<(String, String, Vec<u8>)>> {
    sqlx::query(
        "SELECT name, content_type, data FROM instruction_attachments WHERE instruction_id = $1 AND id = $2",
    )
    .bind(instruction_id)
    .bind(id)
    .fetch_optional(c)
    .await?
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .transpose()
}

pub async fn answer_photo(
    c: &mut AnyConnection,
    instruction_id: i64,
    id: i64,
) -> Result<Option<(String, Vec<u8>)>> {
    sqlx::query(
        "SELECT photo_type, photo FROM instruction_answers
         WHERE instruction_id = $1 AND id = $2 AND photo IS NOT NULL",
    )
    .bind(instruction_id)
    .bind(id)
    .fetch_optional(c)
    .await?
    .map(|r| {
        Ok((
            r.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
            r.try_get(1)?,
        ))
    })
    .transpose()
}

/// Recipients past the deadline without a receipt and not yet escalated:
/// (instruction, user, region).
pub async fn overdue_receipts(c: &mut AnyConnection, now: i64) -> Result<Vec<(i64, i64, String)>> {
    sqlx::query(
        "SELECT r.instruction_id, r.user_id, r.region FROM instruction_recipients r
         JOIN instructions i ON i.id = r.instruction_id
         WHERE r.acked_at IS NULL AND r.escalated_at IS NULL AND i.due_at < $1
           AND NOT EXISTS (SELECT 1 FROM instructions j WHERE j.corrects = i.id)
         ORDER BY r.instruction_id, r.user_id LIMIT 5000",
    )
    .bind(now)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

pub async fn escalate_receipt(
    c: &mut AnyConnection,
    instruction_id: i64,
    user_id: i64,
    to: &str,
    duty: Option<&str>,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE instruction_recipients SET escalated_to = $1, escalated_at = $2, escalated_duty = $3
         WHERE instruction_id = $4 AND user_id = $5 AND escalated_at IS NULL AND acked_at IS NULL",
    )
    .bind(to)
    .bind(now)
    .bind(duty)
    .bind(instruction_id)
    .bind(user_id)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// Escalated receipts that reached `scope` (for the region leaders' list).
pub async fn escalations_in(
    c: &mut AnyConnection,
    scope: &str,
) -> Result<Vec<(i64, String, String, String, Option<String>)>> {
    sqlx::query(
        "SELECT r.instruction_id, i.title, r.username, r.escalated_to, r.escalated_duty
         FROM instruction_recipients r JOIN instructions i ON i.id = r.instruction_id
         WHERE r.escalated_to LIKE $1 AND r.acked_at IS NULL ORDER BY r.escalated_at DESC LIMIT 500",
    )
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?)))
    .collect()
}

// ---------- audit ----------

/// What the command searches the event log by; empty fields match all.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub person_id: Option<i64>,
    pub actor: Option<String>,
    pub region: Option<String>,
    pub kind: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub before_id: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub person_id: Option<i64>,
    pub task_id: Option<i64>,
    pub kind: String,
    pub detail: serde_json::Value,
    /// The person's region, or else the acting user's.
    pub region: Option<String>,
}

/// Events matching `f`, newest first, at most `limit`.
pub async fn search_events(
    c: &mut AnyConnection,
    f: &EventFilter,
    limit: i64,
) -> Result<Vec<AuditRow>> {
    let mut sql = String::from(
        "SELECT e.id, e.at, e.actor, e.person_id, e.task_id, e.kind, e.detail,
                COALESCE(e.region, p.region, u.region)
         FROM events e LEFT JOIN persons p ON p.id = e.person_id
         LEFT JOIN users u ON u.username = e.actor WHERE 1 = 1",
    );
    let mut n = 0;
    let mut next = |sql: &mut String, clause: &str| {
        n += 1;
        sql.push_str(&clause.replace('?', &format!("${n}")));
    };
    if f.person_id.is_some() {
        next(&mut sql, " AND e.person_id = ?");
    }
    if f.actor.is_some() {
        next(&mut sql, " AND e.actor = ?");
    }
    if f.region.is_some() {
        next(
            &mut sql,
            " AND COALESCE(e.region, p.region, u.region) LIKE ?",
        );
    }
    if f.kind.is_some() {
        next(&mut sql, " AND e.kind = ?");
    }
    if f.from.is_some() {
        next(&mut sql, " AND e.at >= ?");
    }
    if f.to.is_some() {
        next(&mut sql, " AND e.at < ?");
    }
    if f.before_id.is_some() {
        next(&mut sql, " AND e.id < ?");
    }
    next(&mut sql, " ORDER BY e.id DESC LIMIT ?");
    let mut q = sqlx::query(&sql);
    if let Some(v) = f.person_id {
        q = q.bind(v);
    }
    if let Some(v) = &f.actor {
        q = q.bind(v.clone());
    }
    if let Some(v) = &f.region {
        q = q.bind(format!("{v}%"));
    }
    if let Some(v) = &f.kind {
        q = q.bind(v.clone());
    }
    if let Some(v) = f.from {
        q = q.bind(v);
    }
    if let Some(v) = f.to {
        q = q.bind(v);
    }
    if let Some(v) = f.before_id {
        q = q.bind(v);
    }
    q.bind(limit)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| {
            let detail: String = r.try_get(6)?;
            Ok(AuditRow {
                id: r.try_get(0)?,
                at: r.try_get(1)?,
                actor: r.try_get(2)?,
                person_id: r.try_get(3)?,
                task_id: r.try_get(4)?,
                kind: r.try_get(5)?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                region: r.try_get(7)?,
            })
        })
        .collect()
}

/// Receipts without an answer on instructions whose deadline passed in
/// `[from, now)` and that no correction has replaced: (recipient region,
/// instruction title, username, due_at).
pub async fn unanswered_between(
    c: &mut AnyConnection,
    from: i64,
    now: i64,
) -> Result<Vec<(String, String, String, i64)>> {
    sqlx::query(
        "SELECT r.region, i.title, r.username, i.due_at FROM instruction_recipients r
         JOIN instructions i ON i.id = r.instruction_id
         WHERE r.answered_at IS NULL AND i.due_at >= $2 AND i.due_at < $1
           AND NOT EXISTS (SELECT 1 FROM instructions j WHERE j.corrects = i.id)
         ORDER BY r.region, i.id, r.username",
    )
    .bind(now)
    .bind(from)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
    .collect()
}
