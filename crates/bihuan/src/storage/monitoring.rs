//! SQL for running controls: check-ins, test results, reminders, help,
//! hand-overs, the health-code feed, API tokens and job claims.

use std::collections::HashSet;

use bihuan_domain::monitoring::{TestRecord, TestResult};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::error::{Error, Result};

fn date(s: &str) -> Result<bihuan_domain::Date> {
    s.parse()
        .map_err(|_| Error::Internal(format!("bad date in database: {s}")))
}

// ---------- check-ins ----------

pub struct NewCheckIn<'a> {
    pub person_id: i64,
    pub on_date: &'a str,
    pub temperature: i64,
    pub symptoms: &'a str,
    pub source: &'a str,
    pub actor: &'a str,
}

pub async fn insert_check_in(c: &mut AnyConnection, k: &NewCheckIn<'_>, at: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO check_ins (person_id, on_date, temperature, symptoms, source, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(k.person_id)
    .bind(k.on_date)
    .bind(k.temperature)
    .bind(k.symptoms)
    .bind(k.source)
    .bind(k.actor)
    .bind(at)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// Everyone who checked in on `date`.
pub async fn checked_in_on(c: &mut AnyConnection, date: &str) -> Result<HashSet<i64>> {
    sqlx::query("SELECT DISTINCT person_id FROM check_ins WHERE on_date = $1")
        .bind(date)
        .fetch_all(c)
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckInRow {
    pub on_date: String,
    pub temperature: i64,
    pub symptoms: String,
    pub source: String,
    pub at: i64,
}

pub async fn check_ins_of(c: &mut AnyConnection, person_id: i64) -> Result<Vec<CheckInRow>> {
    sqlx::query(
        "SELECT on_date, temperature, symptoms, source, at FROM check_ins
         WHERE person_id = $1 ORDER BY id",
    )
    .bind(person_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(CheckInRow {
            on_date: r.try_get(0)?,
            temperature: r.try_get(1)?,
            symptoms: r.try_get(2)?,
            source: r.try_get(3)?,
            at: r.try_get(4)?,
        })
    })
    .collect()
}

// ---------- test results ----------

pub async fn insert_test(
    c: &mut AnyConnection,
    person_id: i64,
    sampled_on: &str,
    sampled_at: i64,
    result: TestResult,
    actor: &str,
    at: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO test_results (person_id, sampled_on, sampled_at, result, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(person_id)
    .bind(sampled_on)
    .bind(sampled_at)
    .bind(result.as_str())
    .bind(actor)
    .bind(at)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// A stored test result; None (logged) for a row that cannot be read, so one
/// bad row never stops a job or a list.
pub(crate) fn test_record(r: &sqlx::any::AnyRow) -> Option<TestRecord> {
    let read = || -> Result<TestRecord> {
        let result: String = r.try_get("result")?;
        Ok(TestRecord {
            sampled_on: date(&r.try_get::<String, _>("sampled_on")?)?,
            result: TestResult::parse(&result)
                .ok_or_else(|| Error::Internal(format!("test result {result}")))?,
        })
    };
    read()
        .map_err(|e| {
            let person = r.try_get::<i64, _>("person_id").ok();
            tracing::warn!(error = %e, ?person, "test result skipped: unreadable row");
        })
        .ok()
}

pub async fn tests_of(c: &mut AnyConnection, person_id: i64) -> Result<Vec<TestRecord>> {
    Ok(sqlx::query(
        "SELECT person_id, sampled_on, result FROM test_results WHERE person_id = $1 ORDER BY id",
    )
    .bind(person_id)
    .fetch_all(c)
    .await?
    .iter()
    .filter_map(test_record)
    .collect())
}

/// Test records of everyone whose control runs, keyed by person.
pub async fn tests_of_running(
    c: &mut AnyConnection,
) -> Result<std::collections::HashMap<i64, Vec<TestRecord>>> {
    let mut out: std::collections::HashMap<i64, Vec<TestRecord>> = Default::default();
    for r in sqlx::query(
        "SELECT t.person_id, t.sampled_on, t.result FROM test_results t
         JOIN controls k ON k.person_id = t.person_id
         WHERE k.status IN ('active', 'due_for_release') ORDER BY t.id",
    )
    .fetch_all(c)
    .await?
    {
        if let Some(t) = test_record(&r) {
            out.entry(r.try_get("person_id")?).or_default().push(t);
        }
    }
    Ok(out)
}

// ---------- running controls ----------

pub struct RunningControl {
    pub person_id: i64,
    pub status: String,
    pub assessment: String,
    pub grid: String,
    pub phone_enc: String,
    pub name: String,
    /// The latest declaration's receipt; None for someone who never
    /// declared (a zone resident, a pool member, a traced contact).
    pub receipt: Option<String>,
}

/// Everyone whose plan runs. A row that cannot be read is logged and left
/// out, so one bad row never stops the jobs or the lists for everyone else.
pub async fn running_controls(c: &mut AnyConnection) -> Result<Vec<RunningControl>> {
    let rows = sqlx::query(
        "SELECT k.person_id, k.status, k.assessment, p.region, p.phone_enc, p.name,
                (SELECT d.receipt FROM declarations d WHERE d.person_id = k.person_id
                 ORDER BY d.id DESC LIMIT 1)
         FROM controls k JOIN persons p ON p.id = k.person_id
         WHERE k.status IN ('active', 'due_for_release') ORDER BY k.person_id",
    )
    .fetch_all(c)
    .await?;
    let read = |r: &sqlx::any::AnyRow| -> Result<RunningControl> {
        Ok(RunningControl {
            person_id: r.try_get(0)?,
            status: r.try_get(1)?,
            assessment: r.try_get(2)?,
            grid: r.try_get(3)?,
            phone_enc: r.try_get(4)?,
            name: r.try_get(5)?,
            receipt: r.try_get(6)?,
        })
    };
    Ok(rows
        .iter()
        .filter_map(|r| match read(r) {
            Ok(k) => Some(k),
            Err(e) => {
                let person = r.try_get::<i64, _>(0).ok();
                tracing::warn!(error = %e, ?person, "running control skipped: unreadable row");
                None
            }
        })
        .collect())
}

// ---------- one row of a job ----------

/// Starts one row of a job inside the job's transaction: a row that fails
/// is rolled back alone by [`row_end`], and the job goes on with the next.
pub async fn row_begin(c: &mut AnyConnection) -> Result<()> {
    sqlx::query("SAVEPOINT job_row").execute(c).await?;
    Ok(())
}

/// Ends a row begun with [`row_begin`]: keeps its work, or rolls it back and
/// logs why. Returns whether the row succeeded.
pub async fn row_end<T>(
    c: &mut AnyConnection,
    job: &str,
    row: i64,
    outcome: Result<T>,
) -> Result<Option<T>> {
    let kept = match outcome {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(job, row, error = %e, "job row skipped");
            sqlx::query("ROLLBACK TO SAVEPOINT job_row")
                .execute(&mut *c)
                .await?;
            None
        }
    };
    sqlx::query("RELEASE SAVEPOINT job_row").execute(c).await?;
    Ok(kept)
}

pub async fn set_control_status(
    c: &mut AnyConnection,
    person_id: i64,
    status: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE controls SET status = $1, updated_at = $2 WHERE person_id = $3")
        .bind(status)
        .bind(now)
        .bind(person_id)
        .execute(c)
        .await?;
    Ok(())
}

// ---------- notifications (an outbox) ----------

/// Queues a message once per `dedup_key`; false when it was queued before.
pub async fn queue_notification(
    c: &mut AnyConnection,
    person_id: i64,
    dedup_key: &str,
    kind: &str,
    body: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        // A drill's person is never sent anything: kept as 'drill', unsent.
        "INSERT INTO notifications (person_id, dedup_key, kind, body, state, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4,
                 CASE WHEN (SELECT drill_id FROM persons WHERE id = $1) IS NULL
                      THEN 'queued' ELSE 'drill' END,
                 $5, $5)
         ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(person_id)
    .bind(dedup_key)
    .bind(kind)
    .bind(body)
    .bind(now)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, Clone)]
pub struct NotificationRow {
    pub id: i64,
    pub person_id: i64,
    pub kind: String,
    pub body: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub phone_enc: String,
}

pub async fn due_notifications(
    c: &mut AnyConnection,
    now: i64,
    limit: i64,
) -> Result<Vec<NotificationRow>> {
    sqlx::query(
        "SELECT n.id, n.person_id, n.kind, n.body, n.attempts, n.next_attempt_at, p.phone_enc
         FROM notifications n JOIN persons p ON p.id = n.person_id
         WHERE n.state = 'queued' AND n.next_attempt_at <= $1 ORDER BY n.id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(NotificationRow {
            id: r.try_get(0)?,
            person_id: r.try_get(1)?,
            kind: r.try_get(2)?,
            body: r.try_get(3)?,
            attempts: r.try_get(4)?,
            next_attempt_at: r.try_get(5)?,
            phone_enc: r.try_get(6)?,
        })
    })
    .collect()
}

/// Takes a lease on a queued message: whoever moves `next_attempt_at` from
/// the value it read owns this attempt; a crashed sender's lease runs out.
pub async fn lease_notification(
    c: &mut AnyConnection,
    id: i64,
    seen_next_attempt_at: i64,
    lease_until: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE notifications SET next_attempt_at = $1, attempts = attempts + 1
         WHERE id = $2 AND state = 'queued' AND next_attempt_at = $3",
    )
    .bind(lease_until)
    .bind(id)
    .bind(seen_next_attempt_at)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a queued message aside for good (its recipient cannot be reached);
/// false when someone else moved it meanwhile.
pub async fn give_up_notification(
    c: &mut AnyConnection,
    id: i64,
    seen_next_attempt_at: i64,
    error: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE notifications SET state = 'undeliverable', last_error = $1
         WHERE id = $2 AND state = 'queued' AND next_attempt_at = $3",
    )
    .bind(error)
    .bind(id)
    .bind(seen_next_attempt_at)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn finish_notification(
    c: &mut AnyConnection,
    id: i64,
    sent_at: Option<i64>,
    retry_at: i64,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE notifications SET state = CASE WHEN $1 IS NULL THEN 'queued' ELSE 'sent' END,
             sent_at = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4",
    )
    .bind(sent_at)
    .bind(retry_at)
    .bind(error)
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct NotificationView {
    pub id: i64,
    pub kind: String,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
}

pub async fn notifications_of(
    c: &mut AnyConnection,
    person_id: i64,
) -> Result<Vec<NotificationView>> {
    sqlx::query(
        "SELECT id, kind, body, state, attempts, last_error, sent_at FROM notifications
         WHERE person_id = $1 ORDER BY id",
    )
    .bind(person_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(NotificationView {
            id: r.try_get(0)?,
            kind: r.try_get(1)?,
            body: r.try_get(2)?,
            state: r.try_get(3)?,
            attempts: r.try_get(4)?,
            last_error: r.try_get(5)?,
            sent_at: r.try_get(6)?,
        })
    })
    .collect()
}

// ---------- help requests ----------

pub async fn insert_help(
    c: &mut AnyConnection,
    person_id: i64,
    kind: &str,
    note: &str,
    task_id: i64,
    now: i64,
) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO help_requests (person_id, kind, note, task_id, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(person_id)
    .bind(kind)
    .bind(note)
    .bind(task_id)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

#[derive(Debug, Clone, Serialize)]
pub struct HelpRow {
    pub id: i64,
    pub kind: String,
    pub note: String,
    pub task_state: String,
    pub answer: Option<String>,
    pub rating: Option<i64>,
    pub created_at: i64,
}

pub async fn help_of(c: &mut AnyConnection, person_id: i64) -> Result<Vec<HelpRow>> {
    sqlx::query(
        "SELECT h.id, h.kind, h.note, t.state, t.note, h.rating, h.created_at
         FROM help_requests h JOIN tasks t ON t.id = h.task_id
         WHERE h.person_id = $1 ORDER BY h.id",
    )
    .bind(person_id)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(HelpRow {
            id: r.try_get(0)?,
            kind: r.try_get(1)?,
            note: r.try_get(2)?,
            task_state: r.try_get(3)?,
            answer: r.try_get(4)?,
            rating: r.try_get(5)?,
            created_at: r.try_get(6)?,
        })
    })
    .collect()
}

/// Rates an answered request once.
pub async fn rate_help(
    c: &mut AnyConnection,
    id: i64,
    person_id: i64,
    rating: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE help_requests SET rating = $1
         WHERE id = $2 AND person_id = $3 AND rating IS NULL
           AND task_id IN (SELECT id FROM tasks WHERE state IN ('reported', 'closed'))",
    )
    .bind(rating)
    .bind(id)
    .bind(person_id)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Open help requests inside `scope` by town: (town, open, oldest created_at).
pub async fn open_help_by_town(
    c: &mut AnyConnection,
    scope: &str,
) -> Result<Vec<(String, i64, i64)>> {
    sqlx::query(
        "SELECT substr(t.region, 1, 9), COUNT(*), MIN(h.created_at)
         FROM help_requests h JOIN tasks t ON t.id = h.task_id
         WHERE t.region LIKE $1 AND t.state IN ('dispatched', 'acknowledged')
         GROUP BY substr(t.region, 1, 9) ORDER BY 1",
    )
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
    .collect()
}

// ---------- hand-overs (协查) ----------

pub struct NewHandover<'a> {
    pub person_id: i64,
    pub to_county: &'a str,
    pub to_township: Option<&'a str>,
    pub address: &'a str,
    pub reason: &'a str,
    pub control: &'a str,
    pub actor: &'a str,
}

pub async fn insert_handover(c: &mut AnyConnection, h: &NewHandover<'_>, at: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO handovers (person_id, to_county, to_township, address, reason, control, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(h.person_id)
    .bind(h.to_county)
    .bind(h.to_township)
    .bind(h.address)
    .bind(h.reason)
    .bind(h.control)
    .bind(h.actor)
    .bind(at)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

pub struct HandoverRow {
    pub id: i64,
    pub name: String,
    pub doc_type: String,
    pub doc_enc: String,
    pub phone_enc: String,
    pub to_county: String,
    pub to_township: Option<String>,
    pub address: String,
    pub reason: String,
    pub control: String,
    pub at: i64,
}

/// Hand-overs of people last in `scope`, oldest first.
pub async fn handovers_in(c: &mut AnyConnection, scope: &str) -> Result<Vec<HandoverRow>> {
    sqlx::query(
        "SELECT h.id, p.name, p.doc_type, p.doc_enc, p.phone_enc, h.to_county, h.to_township,
                h.address, h.reason, h.control, h.at
         FROM handovers h JOIN persons p ON p.id = h.person_id
         WHERE p.region LIKE $1 ORDER BY h.id",
    )
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(HandoverRow {
            id: r.try_get(0)?,
            name: r.try_get(1)?,
            doc_type: r.try_get(2)?,
            doc_enc: r.try_get(3)?,
            phone_enc: r.try_get(4)?,
            to_county: r.try_get(5)?,
            to_township: r.try_get(6)?,
            address: r.try_get(7)?,
            reason: r.try_get(8)?,
            control: r.try_get(9)?,
            at: r.try_get(10)?,
        })
    })
    .collect()
}

// ---------- health codes ----------

tokio::task_local! {
    /// Set inside [`deferring_seqs`]: colour changes are written with seq 0
    /// and numbered by [`stamp_health_code_seqs`] just before commit.
    static DEFERRED: std::cell::Cell<bool>;
}

/// Runs `work` (a whole unit of work) with its feed numbers deferred:
/// every colour it changes is written with seq 0 (a placeholder no reader
/// sees: it is never committed), and the second value says whether any was.
/// The caller then numbers them with [`stamp_health_code_seqs`] in the same
/// transaction, so the counter row is locked only from then to the commit,
/// not for the whole of a city-wide job.
pub async fn deferring_seqs<F: std::future::Future>(work: F) -> (F::Output, bool) {
    DEFERRED
        .scope(std::cell::Cell::new(false), async move {
            let out = work.await;
            (out, DEFERRED.with(std::cell::Cell::get))
        })
        .await
}

/// Whether feed numbers are deferred here (and notes that one is owed).
pub(crate) fn defer_seq() -> bool {
    DEFERRED.try_with(|d| d.set(true)).is_ok()
}

/// Numbers this transaction's deferred colour changes (seq 0): takes as
/// many consecutive feed numbers at once and stamps them in person order.
/// Rows rolled back since (a job row that failed) are no longer 0 and take
/// no number, so the feed has no gaps.
pub async fn stamp_health_code_seqs(c: &mut AnyConnection) -> Result<u64> {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM health_codes WHERE seq = 0")
        .fetch_one(&mut *c)
        .await?
        .try_get(0)?;
    if n == 0 {
        return Ok(0);
    }
    let first = take_health_code_seqs(c, n).await?;
    Ok(sqlx::query(
        "UPDATE health_codes SET seq = r.n FROM (
             SELECT person_id, $1 + ROW_NUMBER() OVER (ORDER BY person_id) - 1 AS n
             FROM health_codes WHERE seq = 0
         ) AS r WHERE r.person_id = health_codes.person_id",
    )
    .bind(first)
    .execute(c)
    .await?
    .rows_affected())
}

/// Stores the colour when it changed; true when it did. A change takes the
/// next feed sequence number (the counter row stays locked until this
/// transaction ends, so numbers commit in order), or, inside
/// [`deferring_seqs`] (every [`super::Db::write`]), seq 0 to be numbered
/// just before commit.
pub async fn put_health_code(
    c: &mut AnyConnection,
    person_id: i64,
    colour: &str,
    now: i64,
) -> Result<bool> {
    let current: Option<String> =
        sqlx::query("SELECT colour FROM health_codes WHERE person_id = $1")
            .bind(person_id)
            .fetch_optional(&mut *c)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    if current.as_deref() == Some(colour) {
        return Ok(false);
    }
    let seq = if defer_seq() {
        0
    } else {
        take_health_code_seqs(c, 1).await?
    };
    sqlx::query(
        "INSERT INTO health_codes (person_id, colour, changed_at, seq) VALUES ($1, $2, $3, $4)
         ON CONFLICT (person_id) DO UPDATE SET colour = excluded.colour,
             changed_at = excluded.changed_at, seq = excluded.seq",
    )
    .bind(person_id)
    .bind(colour)
    .bind(now)
    .bind(seq)
    .execute(c)
    .await?;
    Ok(true)
}

/// Takes `n` consecutive feed sequence numbers; returns the first. Every
/// write to `health_codes` stamps its rows with numbers taken here, in the
/// same transaction (the counter row stays locked until it ends): at once,
/// or deferred to [`stamp_health_code_seqs`] just before commit.
pub async fn take_health_code_seqs(c: &mut AnyConnection, n: i64) -> Result<i64> {
    let last: i64 = sqlx::query(
        "UPDATE counters SET value = value + $1 WHERE name = 'health_codes' RETURNING value",
    )
    .bind(n)
    .fetch_one(&mut *c)
    .await?
    .try_get(0)?;
    Ok(last - n + 1)
}

pub struct HealthCodeRow {
    pub person_id: i64,
    pub doc_type: String,
    pub doc_enc: String,
    pub colour: String,
    pub changed_at: i64,
    pub seq: i64,
}

/// Where a feed read starts.
#[derive(Debug, Clone, Copy)]
pub enum FeedFrom {
    /// Changes with a sequence number above this one, in sequence order.
    Cursor(i64),
    /// Changes stamped after these unix seconds (the old parameter: a
    /// change in the second a reader last saw can be missed).
    Since(i64),
}

/// Colours changed after `from`, at most `limit`.
pub async fn health_codes_since(
    c: &mut AnyConnection,
    from: FeedFrom,
    limit: i64,
) -> Result<Vec<HealthCodeRow>> {
    let (cond, order, after) = match from {
        FeedFrom::Cursor(n) => ("h.seq > $1", "h.seq", n),
        FeedFrom::Since(t) => ("h.changed_at > $1", "h.changed_at, h.person_id", t),
    };
    sqlx::query(&format!(
        "SELECT h.person_id, p.doc_type, p.doc_enc, h.colour, h.changed_at, h.seq
         FROM health_codes h JOIN persons p ON p.id = h.person_id
         WHERE {cond} AND p.drill_id IS NULL ORDER BY {order} LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(c)
    .await?
    .iter()
    .map(|r| {
        Ok(HealthCodeRow {
            person_id: r.try_get(0)?,
            doc_type: r.try_get(1)?,
            doc_enc: r.try_get(2)?,
            colour: r.try_get(3)?,
            changed_at: r.try_get(4)?,
            seq: r.try_get(5)?,
        })
    })
    .collect()
}

pub async fn health_code_of(c: &mut AnyConnection, person_id: i64) -> Result<Option<String>> {
    sqlx::query("SELECT colour FROM health_codes WHERE person_id = $1")
        .bind(person_id)
        .fetch_optional(c)
        .await?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
}

// ---------- API tokens and job claims ----------

pub async fn insert_api_token(
    c: &mut AnyConnection,
    token_hash: &str,
    name: &str,
    scope: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_tokens (token_hash, name, scope, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(name)
    .bind(scope)
    .bind(now)
    .bind(expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// (name, scope) of an API token that is neither revoked nor expired at `now`.
pub async fn api_token(
    c: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<(String, String)>> {
    sqlx::query(
        "SELECT name, scope FROM api_tokens
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await?
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .transpose()
}

/// Whether a token of that name exists (live, expired or revoked).
pub async fn api_token_named(c: &mut AnyConnection, name: &str) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM api_tokens WHERE name = $1")
        .bind(name)
        .fetch_optional(c)
        .await?
        .is_some())
}

/// Revokes the token of that name; false when none is live.
pub async fn revoke_api_token(c: &mut AnyConnection, name: &str, now: i64) -> Result<bool> {
    Ok(
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(name)
            .execute(c)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Whether `job` has been claimed for `period` already.
pub async fn job_claimed(c: &mut AnyConnection, job: &str, period: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM job_runs WHERE job = $1 AND period = $2")
            .bind(job)
            .bind(period)
            .fetch_optional(c)
            .await?
            .is_some(),
    )
}

/// Claims one run of `job` for `period`. Exactly one caller, on any replica,
/// gets true; the claim commits with the job's work or not at all.
pub async fn claim_job(c: &mut AnyConnection, job: &str, period: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO job_runs (job, period, started_at) VALUES ($1, $2, $3)
         ON CONFLICT (job, period) DO NOTHING",
    )
    .bind(job)
    .bind(period)
    .bind(now)
    .execute(c)
    .await?;
    Ok(done.rows_affected() == 1)
}
