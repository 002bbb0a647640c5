//! 药店哨点: reported purchases and the tests they owe.

use sqlx::{AnyConnection, Row};

use crate::error::Result;

pub struct NewPurchase<'a> {
    pub client_id: Option<&'a str>,
    pub venue_id: i64,
    pub person_id: i64,
    pub doc_enc: &'a str,
    pub phone_enc: &'a str,
    pub health_code: &'a str,
    pub symptoms: &'a str,
    pub temperature_tenths: Option<i64>,
    pub drugs: &'a str,
    pub for_someone_else: bool,
    pub fever_transfer: bool,
    pub test_due_at: Option<i64>,
    pub recorded_by: &'a str,
}

pub async fn insert_purchase(c: &mut AnyConnection, p: &NewPurchase<'_>, at: i64) -> Result<i64> {
    Ok(sqlx::query(
        "INSERT INTO pharmacy_purchases (client_id, venue_id, person_id, doc_enc, phone_enc,
             health_code, symptoms, temperature_tenths, drugs, for_someone_else, fever_transfer,
             test_due_at, recorded_by, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(p.client_id.map(|id| super::venue_key(p.venue_id, id)))
    .bind(p.venue_id)
    .bind(p.person_id)
    .bind(p.doc_enc)
    .bind(p.phone_enc)
    .bind(p.health_code)
    .bind(p.symptoms)
    .bind(p.temperature_tenths)
    .bind(p.drugs)
    .bind(i64::from(p.for_someone_else))
    .bind(i64::from(p.fever_transfer))
    .bind(p.test_due_at)
    .bind(p.recorded_by)
    .bind(at)
    .fetch_one(c)
    .await?
    .try_get(0)?)
}

/// A purchase already stored under a client's id.
pub struct StoredPurchase {
    pub id: i64,
    pub venue_id: i64,
    pub person_id: i64,
    pub fever_transfer: bool,
    pub test_due_at: Option<i64>,
}

pub async fn purchase_by_client_id(
    c: &mut AnyConnection,
    venue_id: i64,
    client_id: &str,
) -> Result<Option<StoredPurchase>> {
    let Some(r) = sqlx::query(
        "SELECT id, venue_id, person_id, fever_transfer, test_due_at
         FROM pharmacy_purchases WHERE client_id = $1",
    )
    .bind(super::venue_key(venue_id, client_id))
    .fetch_optional(c)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(StoredPurchase {
        id: r.try_get(0)?,
        venue_id: r.try_get(1)?,
        person_id: r.try_get(2)?,
        fever_transfer: r.try_get::<i64, _>(3)? != 0,
        test_due_at: r.try_get(4)?,
    }))
}

/// When the person's latest negative sample at or before `at` was taken.
pub async fn last_negative_before(
    c: &mut AnyConnection,
    person_id: i64,
    at: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query(
        "SELECT MAX(sampled_at) FROM test_results
         WHERE person_id = $1 AND result = 'negative' AND sampled_at <= $2",
    )
    .bind(person_id)
    .bind(at)
    .fetch_one(c)
    .await?
    .try_get::<Option<i64>, _>(0)?)
}

/// A purchase whose test deadline passed and is not yet settled.
pub struct OwedTest {
    pub id: i64,
    pub person_id: i64,
    pub at: i64,
    pub test_due_at: i64,
}

pub async fn owed_tests_due(c: &mut AnyConnection, now: i64) -> Result<Vec<OwedTest>> {
    let rows = sqlx::query(
        "SELECT id, person_id, at, test_due_at FROM pharmacy_purchases
         WHERE test_due_at <= $1 AND matched_test IS NULL AND followed_up_at IS NULL
         ORDER BY id",
    )
    .bind(now)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OwedTest {
                id: r.try_get(0)?,
                person_id: r.try_get(1)?,
                at: r.try_get(2)?,
                test_due_at: r.try_get(3)?,
            })
        })
        .collect()
}

/// The first test of the person sampled from `from` up to `until`.
pub async fn first_test_between(
    c: &mut AnyConnection,
    person_id: i64,
    from: i64,
    until: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query(
        "SELECT MIN(id) FROM test_results
         WHERE person_id = $1 AND sampled_at >= $2 AND sampled_at <= $3",
    )
    .bind(person_id)
    .bind(from)
    .bind(until)
    .fetch_one(c)
    .await?
    .try_get::<Option<i64>, _>(0)?)
}

pub async fn set_matched_test(c: &mut AnyConnection, id: i64, test_id: i64) -> Result<()> {
    sqlx::query("UPDATE pharmacy_purchases SET matched_test = $1 WHERE id = $2")
        .bind(test_id)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn set_followed_up(c: &mut AnyConnection, id: i64, at: i64) -> Result<()> {
    sqlx::query("UPDATE pharmacy_purchases SET followed_up_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// One purchase as a list or a day's file shows it: the buyer by the
/// masked identity on file.
pub struct PurchaseLine {
    pub id: i64,
    pub at: i64,
    pub venue: String,
    pub name: String,
    pub doc_masked: String,
    pub phone_masked: String,
    pub health_code: String,
    pub symptoms: String,
    pub temperature_tenths: Option<i64>,
    pub drugs: String,
    pub for_someone_else: bool,
    pub fever_transfer: bool,
    pub test_due_at: Option<i64>,
}

/// Purchases at pharmacies inside `scope` made from `from` until `to`,
/// newest first, at most `limit`.
pub async fn purchases_in(
    c: &mut AnyConnection,
    scope: &str,
    from: i64,
    to: i64,
    limit: i64,
) -> Result<Vec<PurchaseLine>> {
    let rows = sqlx::query(
        "SELECT pp.id, pp.at, v.name, p.name, p.doc_masked, p.phone_masked, pp.health_code,
                pp.symptoms, pp.temperature_tenths, pp.drugs, pp.for_someone_else,
                pp.fever_transfer, pp.test_due_at
         FROM pharmacy_purchases pp
         JOIN venues v ON v.id = pp.venue_id
         JOIN persons p ON p.id = pp.person_id
         WHERE v.region LIKE $1 AND pp.at >= $2 AND pp.at < $3
         ORDER BY pp.at DESC, pp.id DESC LIMIT $4",
    )
    .bind(format!("{scope}%"))
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PurchaseLine {
                id: r.try_get(0)?,
                at: r.try_get(1)?,
                venue: r.try_get(2)?,
                name: r.try_get(3)?,
                doc_masked: r.try_get(4)?,
                phone_masked: r.try_get(5)?,
                health_code: r.try_get(6)?,
                symptoms: r.try_get(7)?,
                temperature_tenths: r.try_get(8)?,
                drugs: r.try_get(9)?,
                for_someone_else: r.try_get::<i64, _>(10)? != 0,
                fever_transfer: r.try_get::<i64, _>(11)? != 0,
                test_due_at: r.try_get(12)?,
            })
        })
        .collect()
}
