//! 发热门诊: a fever clinic reports each visit with its test. A visit
//! answers the person's pharmacy referrals (发热就诊转运) made within the
//! policy's window; a positive result takes the existing positive path.

use bihuan_domain::identity::{DocumentNumber, Phone};
use bihuan_domain::monitoring::{TestResult, parse_temperature};
use bihuan_domain::policy::{Reason, Symptom, assign};
use bihuan_domain::sentinel::referral_matches;
use bihuan_domain::task::TaskKind;
use bihuan_domain::testing::parse_barcode;
use bihuan_domain::validation::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::Services;
use super::control::{self, Change};
use super::pharmacy::PurchaseSource;
use super::venues::parse_document;
use crate::error::{Error, Result};
use crate::storage::{fever as store, monitoring as monitoring_store, repo, venues as venue_store};

/// Who reports a visit: a clinic's system by an API token of scope
/// `fever_clinic`, or a staff member of the clinic's region.
pub type VisitSource = PurchaseSource;

/// Why a fever-transfer task closed.
pub const VISITED_REASON: &str = "已到发热门诊就诊";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisitTestInput {
    pub barcode: String,
    /// RFC 3339, e.g. 2022-01-28T10:00:00+08:00.
    pub sampled_at: String,
    /// pending, negative or positive; a later post of the same visit_id
    /// with the final result records it.
    pub result: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeverVisitInput {
    /// The clinic's own id of the visit: a repeat answers the first.
    pub visit_id: String,
    pub clinic: i64,
    #[serde(default)]
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub temperature: String,
    #[serde(default)]
    pub symptoms: Vec<String>,
    pub test: VisitTestInput,
}

#[derive(Debug, Clone, Serialize)]
pub struct VisitRecorded {
    pub id: i64,
    pub person_id: i64,
    pub result: String,
    /// Pharmacy referrals this visit answered.
    pub transfers_closed: i64,
    /// True when the visit_id was seen before.
    pub repeated: bool,
    /// True when this post turned a pending result final.
    pub result_recorded: bool,
}

#[derive(Clone)]
struct ValidVisit {
    client_id: String,
    document: DocumentNumber,
    name: String,
    phone: Phone,
    temperature: u16,
    symptoms: Vec<Symptom>,
    barcode: String,
    sampled_at: i64,
    result: TestResult,
}

impl Services {
    /// Who `token` is for reporting visits, checked before the body is read.
    pub async fn visit_source(&self, token: &str) -> Result<VisitSource> {
        self.sentinel_source(token, "fever_clinic").await
    }

    fn valid_visit(&self, input: &FeverVisitInput) -> std::result::Result<ValidVisit, FieldErrors> {
        let mut e = FieldErrors::default();
        let client_id = input.visit_id.trim();
        if client_id.is_empty() || client_id.chars().count() > 64 {
            e.push(FieldError::new(
                "visit_id",
                "length",
                "请填写就诊号（最长64个字符）",
                "the visit id (at most 64 characters)",
            ));
        }
        let document = parse_document(
            &mut e,
            "",
            &input.id_type,
            &input.id_number,
            self.clock.today(),
        );
        let name = input.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 50 {
            e.push(FieldError::new(
                "name",
                "required",
                "请填写就诊人姓名（最长50字）",
                "the patient's name (at most 50 characters)",
            ));
        }
        let phone = e.take(Phone::parse(&input.phone, "phone"));
        let temperature = e.take(parse_temperature("temperature", input.temperature.trim()));
        let symptoms = super::monitoring::parse_symptoms(&mut e, &input.symptoms);
        let barcode = e.take(parse_barcode("test.barcode", &input.test.barcode));
        let now = self.clock.timestamp();
        let sampled_at = match chrono::DateTime::parse_from_rfc3339(input.test.sampled_at.trim()) {
            Ok(t) if t.timestamp() <= now + 300 => Some(t.timestamp()),
            Ok(_) => {
                e.push(FieldError::new(
                    "test.sampled_at",
                    "future",
                    "采样时间不能在将来",
                    "cannot be in the future",
                ));
                None
            }
            Err(_) => {
                e.push(FieldError::new(
                    "test.sampled_at",
                    "datetime",
                    "采样时间格式应为 2022-01-29T09:30:00+08:00",
                    "an RFC 3339 time such as 2022-01-29T09:30:00+08:00",
                ));
                None
            }
        };
        let result = TestResult::parse(input.test.result.trim());
        if result.is_none() {
            e.push(FieldError::new(
                "test.result",
                "result",
                "结果应为待出、阴性或阳性",
                "pending, negative or positive",
            ));
        }
        match (document, phone, temperature, barcode, sampled_at, result) {
            (
                Some(document),
                Some(phone),
                Some(temperature),
                Some(barcode),
                Some(sampled_at),
                Some(result),
            ) if e.is_empty() => Ok(ValidVisit {
                client_id: client_id.to_string(),
                document,
                name,
                phone,
                temperature,
                symptoms,
                barcode,
                sampled_at,
                result,
            }),
            _ => Err(e),
        }
    }

    /// Stores a visit, in one transaction: the person found by document or
    /// created in the clinic's grid; their pharmacy referrals in the window
    /// answered and the fever-transfer task closed; a final result stored
    /// as a test (a positive opens a case and a positive control). A repeat
    /// of the visit_id answers the first, recording a result that was
    /// pending then.
    pub async fn record_fever_visit(
        &self,
        by: &VisitSource,
        input: FeverVisitInput,
    ) -> Result<VisitRecorded> {
        let v = self.valid_visit(&input)?;
        let (svc, by) = (self.clone(), by.clone());
        let clinic = input.clinic;
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let actor = by.name();
                    let venue = venue_store::venue_in(c, clinic, by.scope())
                        .await?
                        .filter(|v| v.state == "approved")
                        .ok_or(Error::NotFound)?;
                    if venue.kind != "fever_clinic" {
                        return Err(Error::field(
                            "clinic",
                            "kind",
                            "该场所不是发热门诊",
                            "this venue is not a fever clinic",
                        ));
                    }
                    crate::storage::serialise_on(
                        c,
                        svc.db.backend(),
                        &format!("fever_visit:{}", v.client_id),
                    )
                    .await?;
                    if let Some(old) = store::visit_by_client_id(c, venue.id, &v.client_id).await? {
                        return svc.repeat_visit(c, &old, &v, &actor, now).await;
                    }
                    let (person_id, grid) = svc
                        .sentinel_person(c, &v.document, &v.name, &v.phone, &venue.region, &actor, "fever_clinic", now)
                        .await?;
                    let symptoms: Vec<&str> = v.symptoms.iter().map(|s| s.as_str()).collect();
                    let id = store::insert_visit(
                        c,
                        &store::NewVisit {
                            client_id: &v.client_id,
                            venue_id: venue.id,
                            person_id,
                            doc_enc: &svc.vault.encrypt(v.document.number()),
                            phone_enc: &svc.vault.encrypt(v.phone.as_str()),
                            temperature_tenths: i64::from(v.temperature),
                            symptoms: &serde_json::to_string(&symptoms).expect("serialisable"),
                            barcode: &v.barcode,
                            sampled_at: v.sampled_at,
                            result: v.result.as_str(),
                            recorded_by: &actor,
                        },
                        now,
                    )
                    .await?;
                    let closed = svc.answer_referrals(c, id, person_id, &actor, now).await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor,
                        Some(person_id),
                        None,
                        "fever_clinic_visit",
                        &json!({"visit": id, "venue": venue.id, "result": v.result.as_str(), "transfers_closed": closed}),
                    )
                    .await?;
                    if v.result != TestResult::Pending {
                        svc.visit_result(c, id, person_id, &grid, &v, &actor, now).await?;
                    }
                    Ok(VisitRecorded {
                        id,
                        person_id,
                        result: v.result.as_str().into(),
                        transfers_closed: closed,
                        repeated: false,
                        result_recorded: v.result != TestResult::Pending,
                    })
                })
            })
            .await
    }

    /// A visit_id seen before: the stored visit, with its result recorded
    /// now when it was pending and this post brings the final one.
    async fn repeat_visit(
        &self,
        c: &mut AnyConnection,
        old: &store::StoredVisit,
        v: &ValidVisit,
        actor: &str,
        now: i64,
    ) -> Result<VisitRecorded> {
        let mut answer = VisitRecorded {
            id: old.id,
            person_id: old.person_id,
            result: old.result.clone(),
            transfers_closed: old.transfers_closed,
            repeated: true,
            result_recorded: false,
        };
        if old.result == TestResult::Pending.as_str() && v.result != TestResult::Pending {
            if v.barcode != old.barcode {
                return Err(Error::field(
                    "test.barcode",
                    "mismatch",
                    "条码与该次就诊登记的不一致",
                    "not the barcode this visit was registered with",
                ));
            }
            let p = repo::person_in(c, old.person_id, "")
                .await?
                .ok_or(Error::NotFound)?;
            let v = ValidVisit {
                sampled_at: old.sampled_at,
                ..v.clone()
            };
            self.visit_result(c, old.id, old.person_id, &p.region, &v, actor, now)
                .await?;
            answer.result = v.result.as_str().into();
            answer.result_recorded = true;
        }
        Ok(answer)
    }

    /// Answers the person's febrile purchases within the referral window
    /// before this visit and closes their fever-transfer task; how many.
    async fn answer_referrals(
        &self,
        c: &mut AnyConnection,
        visit: i64,
        person_id: i64,
        actor: &str,
        now: i64,
    ) -> Result<i64> {
        let rule = &self.policy.pharmacy;
        let since = now - i64::from(rule.referral_within_hours) * 3600;
        let mut n = 0;
        for (purchase, at) in store::open_referrals(c, person_id, since, now).await? {
            if referral_matches(rule, at, now) {
                store::set_matched_visit(c, purchase, visit).await?;
                n += 1;
            }
        }
        if n > 0 {
            repo::close_open_tasks(
                c,
                person_id,
                Some(TaskKind::FeverTransfer.as_str()),
                VISITED_REASON,
                actor,
                now,
            )
            .await?;
            store::set_transfers_closed(c, visit, n).await?;
        }
        Ok(n)
    }

    /// Stores a visit's final result as the person's test; a positive takes
    /// the existing positive path (case, positive task, positive control).
    #[allow(clippy::too_many_arguments)]
    async fn visit_result(
        &self,
        c: &mut AnyConnection,
        visit: i64,
        person_id: i64,
        grid: &str,
        v: &ValidVisit,
        actor: &str,
        now: i64,
    ) -> Result<()> {
        let sampled_on = crate::clock::shanghai(
            chrono::DateTime::from_timestamp(v.sampled_at, 0)
                .ok_or_else(|| Error::Internal("sample time".into()))?,
        )
        .date_naive();
        let test_id = monitoring_store::insert_test(
            c,
            person_id,
            &sampled_on.to_string(),
            v.sampled_at,
            v.result,
            actor,
            now,
        )
        .await?;
        store::set_result(c, visit, v.result.as_str(), Some(test_id)).await?;
        repo::insert_event(
            c,
            now,
            actor,
            Some(person_id),
            None,
            "test_recorded",
            &json!({"sampled_on": sampled_on, "result": v.result.as_str(), "fever_clinic_visit": visit}),
        )
        .await?;
        let control = repo::control(c, person_id).await?;
        if v.result == TestResult::Positive
            && control.as_ref().is_none_or(|k| k.status != "positive")
        {
            if control.as_ref().is_none_or(|k| k.status == "released") {
                // Someone under no plan gets the temporary one a positive
                // pool gives, which the positive path then marks positive.
                let why = Reason {
                    zh: "发热门诊核酸阳性".into(),
                    en: "positive at a fever clinic".into(),
                };
                let a = assign(&self.policy, "pool_positive", self.clock.today(), why)
                    .ok_or_else(|| Error::Internal("the policy lacks pool_positive".into()))?;
                let declaration_id = repo::latest_declaration(c, person_id).await?.map(|d| d.id);
                control::apply(
                    c,
                    &self.policy,
                    Change {
                        person_id,
                        declaration_id,
                        grid,
                        assessment: &a,
                        because: None,
                        always_dispatch: false,
                        actor,
                        now,
                    },
                )
                .await?;
            }
            self.mark_positive(c, person_id, grid, sampled_on, actor, now)
                .await?;
        }
        self.refresh_colour(c, person_id, actor, now).await?;
        Ok(())
    }
}

impl Services {
    /// The region's latest fever-clinic visits (at most 100), patients by
    /// their masked identity; village, town and command staff.
    pub async fn fever_visits(&self, actor: &super::Actor) -> Result<Vec<store::VisitLine>> {
        if !actor.role.can_review() {
            return Err(Error::Forbidden);
        }
        let mut c = self.db.pool().acquire().await?;
        let mut rows = store::visits_in(&mut c, actor.scope(), 100).await?;
        for r in &mut rows {
            r.name = bihuan_domain::identity::mask_name(&r.name);
        }
        Ok(rows)
    }

    /// The approved fever clinics of the actor's region: (id, name).
    pub async fn fever_clinics(&self, actor: &super::Actor) -> Result<Vec<(i64, String)>> {
        Ok(self
            .venues(actor)
            .await?
            .into_iter()
            .filter(|v| v.kind == "fever_clinic" && v.state == "approved")
            .map(|v| (v.id, v.name))
            .collect())
    }
}
