//! 发热门诊: reported visits and the pharmacy referrals they answer.

use sqlx::{AnyConnection, Row};

use crate::error::Result;

pub struct NewVisit<'a> {
    pub client_id: &'a str,
    pub venue_id: i64,
    pub person_id: i64,
    pub doc_enc: &'a str,
    pub phone_enc: &'a str,
    pub temperature_tenths: i64,
    pub symptoms: &'a str,
    pub barcode: &'a str,
    pub sampled_at: i64,
    pub result: &'a str,
    pub recorded_by: &'a str,
}

pub async fn insert_visit(c: &mut AnyConnection, v: &NewVisit<'_>, at: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO fever_clinic_visits (client_id, venue_id, person_id, doc_enc, phone_enc,
             temperature_tenths, symptoms, barcode, sampled_at, result, transfers_closed,
             recorded_by, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12) RETURNING id",
    )
    .bind(super::venue_key(v.venue_id, v.client_id))
    .bind(v.venue_id)
    .bind(v.person_id)
    .bind(v.doc_enc)
    .bind(v.phone_enc)
    .bind(v.temperature_tenths)
    .bind(v.symptoms)
    .bind(v.barcode)
    .bind(v.sampled_at)
    .bind(v.result)
    .bind(v.recorded_by)
    .bind(at)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// A visit already stored under a clinic's id.
pub struct StoredVisit {
    pub id: i64,
    pub venue_id: i64,
    pub person_id: i64,
    pub barcode: String,
    pub sampled_at: i64,
    pub result: String,
    pub transfers_closed: i64,
}

pub async fn visit_by_client_id(
    c: &mut AnyConnection,
    venue_id: i64,
    client_id: &str,
) -> Result<Option<StoredVisit>> {
    let Some(r) = sqlx::query(
        "SELECT id, venue_id, person_id, barcode, sampled_at, result, transfers_closed
         FROM fever_clinic_visits WHERE client_id = $1",
    )
    .bind(super::venue_key(venue_id, client_id))
    .fetch_optional(c)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(StoredVisit {
        id: r.try_get(0)?,
        venue_id: r.try_get(1)?,
        person_id: r.try_get(2)?,
        barcode: r.try_get(3)?,
        sampled_at: r.try_get(4)?,
        result: r.try_get(5)?,
        transfers_closed: r.try_get(6)?,
    }))
}

/// Records a visit's final result and the test row that holds it.
pub async fn set_result(
    c: &mut AnyConnection,
    id: i64,
    result: &str,
    test_id: Option<i64>,
) -> Result<()> {
    sqlx::query("UPDATE fever_clinic_visits SET result = $1, test_id = $2 WHERE id = $3")
        .bind(result)
        .bind(test_id)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn set_transfers_closed(c: &mut AnyConnection, id: i64, n: i64) -> Result<()> {
    sqlx::query("UPDATE fever_clinic_visits SET transfers_closed = $1 WHERE id = $2")
        .bind(n)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// The person's febrile purchases not yet answered by a visit, made from
/// `since` up to `until`: (id, at).
pub async fn open_referrals(
    c: &mut AnyConnection,
    person_id: i64,
    since: i64,
    until: i64,
) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT id, at FROM pharmacy_purchases
         WHERE person_id = $1 AND fever_transfer = 1 AND matched_visit IS NULL
           AND at >= $2 AND at <= $3 ORDER BY id",
    )
    .bind(person_id)
    .bind(since)
    .bind(until)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

pub async fn set_matched_visit(c: &mut AnyConnection, purchase: i64, visit: i64) -> Result<()> {
    sqlx::query("UPDATE pharmacy_purchases SET matched_visit = $1 WHERE id = $2")
        .bind(visit)
        .bind(purchase)
        .execute(c)
        .await?;
    Ok(())
}

/// One visit as the clinic list shows it: the patient by the masked
/// identity on file.
pub struct VisitLine {
    pub id: i64,
    pub at: i64,
    pub venue: String,
    pub name: String,
    pub doc_masked: String,
    pub phone_masked: String,
    pub temperature_tenths: i64,
    pub symptoms: String,
    pub barcode: String,
    pub sampled_at: i64,
    pub result: String,
    pub transfers_closed: i64,
}

/// Visits at fever clinics inside `scope`, newest first, at most `limit`.
pub async fn visits_in(c: &mut AnyConnection, scope: &str, limit: i64) -> Result<Vec<VisitLine>> {
    let rows = sqlx::query(
        "SELECT fv.id, fv.at, v.name, p.name, p.doc_masked, p.phone_masked,
                fv.temperature_tenths, fv.symptoms, fv.barcode, fv.sampled_at, fv.result,
                fv.transfers_closed
         FROM fever_clinic_visits fv
         JOIN venues v ON v.id = fv.venue_id
         JOIN persons p ON p.id = fv.person_id
         WHERE v.region LIKE $1
         ORDER BY fv.at DESC, fv.id DESC LIMIT $2",
    )
    .bind(format!("{scope}%"))
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(VisitLine {
                id: r.try_get(0)?,
                at: r.try_get(1)?,
                venue: r.try_get(2)?,
                name: r.try_get(3)?,
                doc_masked: r.try_get(4)?,
                phone_masked: r.try_get(5)?,
                temperature_tenths: r.try_get(6)?,
                symptoms: r.try_get(7)?,
                barcode: r.try_get(8)?,
                sampled_at: r.try_get(9)?,
                result: r.try_get(10)?,
                transfers_closed: r.try_get(11)?,
            })
        })
        .collect()
}
