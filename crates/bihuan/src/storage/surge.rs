//! 预警: the counted sources of the surge job and the alerts table.
//!
//! A new counted source (fever-clinic visits) is one more [`SignalSource`]
//! variant with its two queries; the job loops over [`SignalSource::ALL`].

use sqlx::{AnyConnection, Row};

use crate::error::Result;

/// Seconds east of UTC of Asia/Shanghai: a day number is (at + this) / 86400.
const SHANGHAI: i64 = 8 * 3600;

/// A signal counted per township and day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalSource {
    /// 药店哨点: purchases, by the pharmacy's township.
    Pharmacy,
    /// 发热门诊: visits, by the clinic's township.
    FeverClinic,
}

impl SignalSource {
    pub const ALL: [SignalSource; 2] = [SignalSource::Pharmacy, SignalSource::FeverClinic];

    pub fn as_str(self) -> &'static str {
        match self {
            SignalSource::Pharmacy => "pharmacy",
            SignalSource::FeverClinic => "fever_clinic",
        }
    }

    pub fn parse(s: &str) -> Option<SignalSource> {
        SignalSource::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// (township, day number, count) of signals at $1 <= at < $2. A drill's
    /// people are no signal (they never make a surge).
    fn counts_sql(self) -> &'static str {
        match self {
            SignalSource::Pharmacy => {
                "SELECT SUBSTR(v.region, 1, 9), (p.at + 28800) / 86400, COUNT(*)
                 FROM pharmacy_purchases p JOIN venues v ON v.id = p.venue_id
                 WHERE p.at >= $1 AND p.at < $2 AND NOT EXISTS (SELECT 1 FROM persons d WHERE d.id = p.person_id AND d.drill_id IS NOT NULL)
                 GROUP BY SUBSTR(v.region, 1, 9), (p.at + 28800) / 86400"
            }
            SignalSource::FeverClinic => {
                "SELECT SUBSTR(v.region, 1, 9), (p.at + 28800) / 86400, COUNT(*)
                 FROM fever_clinic_visits p JOIN venues v ON v.id = p.venue_id
                 WHERE p.at >= $1 AND p.at < $2 AND NOT EXISTS (SELECT 1 FROM persons d WHERE d.id = p.person_id AND d.drill_id IS NOT NULL)
                 GROUP BY SUBSTR(v.region, 1, 9), (p.at + 28800) / 86400"
            }
        }
    }

    /// (township, first signal's time) of every township with any.
    fn first_sql(self) -> &'static str {
        match self {
            SignalSource::Pharmacy => {
                "SELECT SUBSTR(v.region, 1, 9), MIN(p.at)
                 FROM pharmacy_purchases p JOIN venues v ON v.id = p.venue_id
                 WHERE NOT EXISTS (SELECT 1 FROM persons d WHERE d.id = p.person_id AND d.drill_id IS NOT NULL)
                 GROUP BY SUBSTR(v.region, 1, 9)"
            }
            SignalSource::FeverClinic => {
                "SELECT SUBSTR(v.region, 1, 9), MIN(p.at)
                 FROM fever_clinic_visits p JOIN venues v ON v.id = p.venue_id
                 WHERE NOT EXISTS (SELECT 1 FROM persons d WHERE d.id = p.person_id AND d.drill_id IS NOT NULL)
                 GROUP BY SUBSTR(v.region, 1, 9)"
            }
        }
    }

    /// The persons behind the signals of township $1 at $2 <= at < $3.
    fn people_sql(self) -> &'static str {
        match self {
            SignalSource::Pharmacy => {
                "SELECT DISTINCT p.person_id
                 FROM pharmacy_purchases p JOIN venues v ON v.id = p.venue_id
                 WHERE SUBSTR(v.region, 1, 9) = $1 AND p.at >= $2 AND p.at < $3
                   AND NOT EXISTS (SELECT 1 FROM persons d WHERE d.id = p.person_id AND d.drill_id IS NOT NULL)
                 ORDER BY p.person_id"
            }
            SignalSource::FeverClinic => {
                "SELECT DISTINCT p.person_id
                 FROM fever_clinic_visits p JOIN venues v ON v.id = p.venue_id
                 WHERE SUBSTR(v.region, 1, 9) = $1 AND p.at >= $2 AND p.at < $3
                   AND NOT EXISTS (SELECT 1 FROM persons d WHERE d.id = p.person_id AND d.drill_id IS NOT NULL)
                 ORDER BY p.person_id"
            }
        }
    }
}

/// The day number (days since 1970-01-01 in Shanghai) of a time.
pub fn day_of(at: i64) -> i64 {
    (at + SHANGHAI).div_euclid(86400)
}

/// The first second of a day number.
pub fn day_start(day: i64) -> i64 {
    day * 86400 - SHANGHAI
}

/// Counts per (township, day number) of `source` over days `from..=to`.
pub async fn daily_counts(
    c: &mut AnyConnection,
    source: SignalSource,
    from: i64,
    to: i64,
) -> Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query(source.counts_sql())
        .bind(day_start(from))
        .bind(day_start(to + 1))
        .fetch_all(c)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}

/// The day number of each township's first signal of `source`.
pub async fn first_days(c: &mut AnyConnection, source: SignalSource) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(source.first_sql()).fetch_all(c).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, day_of(r.try_get::<i64, _>(1)?))))
        .collect()
}

/// The persons behind a township-day of `source`.
pub async fn people_of_day(
    c: &mut AnyConnection,
    source: SignalSource,
    township: &str,
    day: i64,
) -> Result<Vec<i64>> {
    let rows = sqlx::query(source.people_sql())
        .bind(township)
        .bind(day_start(day))
        .bind(day_start(day + 1))
        .fetch_all(c)
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

pub struct NewAlert<'a> {
    pub kind: &'a str,
    pub source: &'a str,
    pub township: &'a str,
    pub day: &'a str,
    pub count: i64,
    pub median_milli: i64,
    pub mad_milli: i64,
    pub p90_milli: i64,
    pub z_milli: i64,
    pub person_id: Option<i64>,
    pub purchase_id: Option<i64>,
    pub ack_due_at: i64,
}

/// Stores an open alert; None when that surge (source, township, day) is
/// already stored.
pub async fn insert_alert(
    c: &mut AnyConnection,
    a: &NewAlert<'_>,
    now: i64,
) -> Result<Option<i64>> {
    if a.kind == "surge" {
        let exists = sqlx::query(
            "SELECT id FROM alerts WHERE kind = 'surge' AND source = $1 AND township = $2 AND day = $3",
        )
        .bind(a.source)
        .bind(a.township)
        .bind(a.day)
        .fetch_optional(&mut *c)
        .await?;
        if exists.is_some() {
            return Ok(None);
        }
    }
    let id = sqlx::query(
        "INSERT INTO alerts (kind, source, township, region, day, count, median_milli, mad_milli,
             p90_milli, z_milli, person_id, purchase_id, state, ack_due_at, created_at, drill_id)
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $13,
                 (SELECT drill_id FROM persons WHERE id = $10)) RETURNING id",
    )
    .bind(a.kind)
    .bind(a.source)
    .bind(a.township)
    .bind(a.day)
    .bind(a.count)
    .bind(a.median_milli)
    .bind(a.mad_milli)
    .bind(a.p90_milli)
    .bind(a.z_milli)
    .bind(a.person_id)
    .bind(a.purchase_id)
    .bind(a.ack_due_at)
    .bind(now)
    .fetch_one(c)
    .await?
    .try_get(0)?;
    Ok(Some(id))
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    pub id: i64,
    pub kind: String,
    pub source: String,
    pub township: String,
    pub region: String,
    pub day: String,
    pub count: i64,
    pub median: f64,
    pub mad: f64,
    pub p90: f64,
    pub z: f64,
    pub person_id: Option<i64>,
    pub state: String,
    pub ack_due_at: i64,
    pub escalated_at: Option<i64>,
    pub acked_by: Option<String>,
    pub acked_at: Option<i64>,
    pub verdict: Option<String>,
    pub note: Option<String>,
    pub judged_by: Option<String>,
    pub judged_at: Option<i64>,
    pub created_at: i64,
    /// The drill it belongs to (演练), shown as such.
    pub drill_id: Option<i64>,
    /// Of an announced drill (明演): shown as 演练.
    pub announced_drill: bool,
}

const COLUMNS: &str = "id, kind, source, township, region, day, count, median_milli, mad_milli,
    p90_milli, z_milli, person_id, state, ack_due_at, escalated_at, acked_by, acked_at, verdict,
    note, judged_by, judged_at, created_at, drill_id,
    (SELECT announced FROM drills WHERE drills.id = alerts.drill_id)";

fn alert(r: &sqlx::any::AnyRow) -> Result<Alert> {
    let milli = |i: usize| -> Result<f64> { Ok(r.try_get::<i64, _>(i)? as f64 / 1000.0) };
    Ok(Alert {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        source: r.try_get(2)?,
        township: r.try_get(3)?,
        region: r.try_get(4)?,
        day: r.try_get(5)?,
        count: r.try_get(6)?,
        median: milli(7)?,
        mad: milli(8)?,
        p90: milli(9)?,
        z: milli(10)?,
        person_id: r.try_get(11)?,
        state: r.try_get(12)?,
        ack_due_at: r.try_get(13)?,
        escalated_at: r.try_get(14)?,
        acked_by: r.try_get(15)?,
        acked_at: r.try_get(16)?,
        verdict: r.try_get(17)?,
        note: r.try_get(18)?,
        judged_by: r.try_get(19)?,
        judged_at: r.try_get(20)?,
        created_at: r.try_get(21)?,
        drill_id: r.try_get(22)?,
        announced_drill: r.try_get::<Option<i64>, _>(23)? == Some(1),
    })
}

/// Alerts whose township lies in `scope`, newest first (at most 500).
pub async fn alerts_in(c: &mut AnyConnection, scope: &str) -> Result<Vec<Alert>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE township LIKE $1 ORDER BY id DESC LIMIT 500"
    ))
    .bind(format!("{scope}%"))
    .fetch_all(c)
    .await?;
    rows.iter().map(alert).collect()
}

/// One alert if its township lies in `scope`.
pub async fn alert_in(c: &mut AnyConnection, id: i64, scope: &str) -> Result<Option<Alert>> {
    let r = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE id = $1 AND township LIKE $2"
    ))
    .bind(id)
    .bind(format!("{scope}%"))
    .fetch_optional(c)
    .await?;
    r.as_ref().map(alert).transpose()
}

/// 签收: open → acked; whether it moved.
pub async fn ack(c: &mut AnyConnection, id: i64, by: &str, now: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE alerts SET state = 'acked', acked_by = $1, acked_at = $2
         WHERE id = $3 AND state = 'open'",
    )
    .bind(by)
    .bind(now)
    .bind(id)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// 研判: acked → false_alarm / suspected; whether it moved.
pub async fn judge(
    c: &mut AnyConnection,
    id: i64,
    verdict: &str,
    note: &str,
    by: &str,
    now: i64,
) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE alerts SET state = $1, verdict = $1, note = $2, judged_by = $3, judged_at = $4
         WHERE id = $5 AND state = 'acked'",
    )
    .bind(verdict)
    .bind(note)
    .bind(by)
    .bind(now)
    .bind(id)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}

/// Open alerts past their 签收 deadline and not yet escalated: (id, township).
pub async fn late_alerts(c: &mut AnyConnection, now: i64) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT id, township FROM alerts
         WHERE state = 'open' AND ack_due_at < $1 AND escalated_at IS NULL ORDER BY id",
    )
    .bind(now)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub async fn escalate(c: &mut AnyConnection, id: i64, to: &str, now: i64) -> Result<bool> {
    Ok(sqlx::query(
        "UPDATE alerts SET region = $1, escalated_at = $2
         WHERE id = $3 AND state = 'open' AND escalated_at IS NULL",
    )
    .bind(to)
    .bind(now)
    .bind(id)
    .execute(c)
    .await?
    .rows_affected()
        == 1)
}
