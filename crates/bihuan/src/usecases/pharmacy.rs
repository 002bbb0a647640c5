//! 药店哨点: a pharmacy reports a purchase of a listed drug class; a febrile
//! buyer is sent to a fever clinic, and a buyer without a recent negative
//! test owes one, which the periodic job matches or hands to the grid.

use bihuan_domain::gathering::apply_pharmacy_overrides;
use bihuan_domain::identity::{DocumentNumber, Phone};
use bihuan_domain::monitoring::parse_temperature;
use bihuan_domain::policy::{HealthCode, Symptom};
use bihuan_domain::sentinel::purchase_duty;
use bihuan_domain::task::TaskKind;
use bihuan_domain::validation::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::control::{NewTask, open_task};
use super::venues::parse_document;
use super::{Actor, Services};
use crate::crypto;
use crate::error::{Error, Result};
use crate::storage::{
    gathering as gathering_store, monitoring as monitoring_store, pharmacy as store, repo,
    testing as testing_store, venues as venue_store,
};

/// Why a grid visits a buyer who owed a test and took none.
pub const MISSED_TEST_REASON: &str = "药店购药未按时检测";

/// Who reports a purchase: a pharmacy's system by an API token of scope
/// `pharmacy`, or a staff member of the pharmacy's region.
#[derive(Debug, Clone)]
pub enum PurchaseSource {
    Token(String),
    Staff(Actor),
}

impl PurchaseSource {
    pub(crate) fn name(&self) -> String {
        match self {
            PurchaseSource::Token(n) => format!("token:{n}"),
            PurchaseSource::Staff(a) => a.username.clone(),
        }
    }
    pub(crate) fn scope(&self) -> &str {
        match self {
            PurchaseSource::Token(_) => "",
            PurchaseSource::Staff(a) => a.scope(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrugInput {
    pub class: String,
    #[serde(default)]
    pub name: String,
    pub qty: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurchaseInput {
    /// The client's own id of the purchase: a repeat answers the first.
    #[serde(default)]
    pub purchase_id: Option<String>,
    pub pharmacy: i64,
    #[serde(default)]
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub health_code: String,
    #[serde(default)]
    pub symptoms: Vec<String>,
    #[serde(default)]
    pub temperature: Option<String>,
    pub drugs: Vec<DrugInput>,
    #[serde(default)]
    pub for_someone_else: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PurchaseRecorded {
    pub id: i64,
    pub person_id: i64,
    pub fever_transfer: bool,
    pub test_due_at: Option<i64>,
    pub repeated: bool,
}

struct ValidPurchase {
    client_id: Option<String>,
    document: DocumentNumber,
    name: String,
    phone: Phone,
    health_code: HealthCode,
    symptoms: Vec<Symptom>,
    temperature: Option<u16>,
    drugs: serde_json::Value,
}

impl Services {
    /// Who `token` is for reporting purchases, checked before the body is
    /// read: a token of another scope is Forbidden, an unknown one must be
    /// a live staff session.
    pub async fn purchase_source(&self, token: &str) -> Result<PurchaseSource> {
        self.sentinel_source(token, "pharmacy").await
    }

    /// Who `token` is for a reporting site of `scope` (`pharmacy`,
    /// `fever_clinic`, `checkpoint`).
    pub(crate) async fn sentinel_source(&self, token: &str, scope: &str) -> Result<PurchaseSource> {
        let found = {
            let mut c = self.db.pool().acquire().await?;
            monitoring_store::api_token(&mut c, &crypto::sha256_hex(token), self.clock.timestamp())
                .await?
        };
        match found {
            Some((name, found)) if found == scope => Ok(PurchaseSource::Token(name)),
            Some(_) => Err(Error::Forbidden),
            None => Ok(PurchaseSource::Staff(self.session(token).await?)),
        }
    }

    fn valid_purchase(
        &self,
        input: &PurchaseInput,
    ) -> std::result::Result<ValidPurchase, FieldErrors> {
        let mut e = FieldErrors::default();
        let client_id = input
            .purchase_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if client_id.is_some_and(|s| s.chars().count() > 64) {
            e.push(FieldError::new(
                "purchase_id",
                "length",
                "购药单号最长64个字符",
                "at most 64 characters",
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
                "请填写购药人姓名（最长50字）",
                "the buyer's name (at most 50 characters)",
            ));
        }
        let phone = e.take(Phone::parse(&input.phone, "phone"));
        let health_code = HealthCode::parse(input.health_code.trim());
        if health_code.is_none() {
            e.push(FieldError::new(
                "health_code",
                "health_code",
                "健康码颜色应为绿、黄或红",
                "green, yellow or red",
            ));
        }
        let symptoms = super::monitoring::parse_symptoms(&mut e, &input.symptoms);
        let temperature = match input.temperature.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => e.take(parse_temperature("temperature", t)),
            _ => None,
        };
        if input.drugs.is_empty() || input.drugs.len() > 50 {
            e.push(FieldError::new(
                "drugs",
                "count",
                "请填写1至50种药品",
                "1 to 50 drugs",
            ));
        }
        let mut drugs = Vec::new();
        for (i, d) in input.drugs.iter().take(50).enumerate() {
            if self.policy.drug_class(d.class.trim()).is_none() {
                e.push(FieldError::new(
                    format!("drugs.{i}.class"),
                    "drug_class",
                    "药品类别应为退热、止咳、抗病毒或抗菌素",
                    "a fever reducer, cough medicine, antiviral or antibiotic",
                ));
            }
            if d.name.trim().chars().count() > 100 {
                e.push(FieldError::new(
                    format!("drugs.{i}.name"),
                    "length",
                    "药品名称最长100个字符",
                    "at most 100 characters",
                ));
            }
            if !(1..=999).contains(&d.qty) {
                e.push(FieldError::new(
                    format!("drugs.{i}.qty"),
                    "qty",
                    "数量应为1到999",
                    "a quantity from 1 to 999",
                ));
            }
            drugs.push(json!({"class": d.class.trim(), "name": d.name.trim(), "qty": d.qty}));
        }
        match (document, phone, health_code) {
            (Some(document), Some(phone), Some(health_code)) if e.is_empty() => Ok(ValidPurchase {
                client_id: client_id.map(str::to_string),
                document,
                name,
                phone,
                health_code,
                symptoms,
                temperature,
                drugs: serde_json::Value::Array(drugs),
            }),
            _ => Err(e),
        }
    }

    /// Stores a purchase and what it obliges, in one transaction: the buyer
    /// found by document (identity on file never overwritten) or created in
    /// the pharmacy's grid, a 发热就诊转运 task at the buyer's grid when
    /// febrile, and the test owed.
    pub async fn record_purchase(
        &self,
        by: &PurchaseSource,
        input: PurchaseInput,
    ) -> Result<PurchaseRecorded> {
        let v = self.valid_purchase(&input)?;
        let (svc, by) = (self.clone(), by.clone());
        let pharmacy = input.pharmacy;
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let actor = by.name();
                    let venue = venue_store::venue_in(c, pharmacy, by.scope())
                        .await?
                        .filter(|v| v.state == "approved")
                        .ok_or(Error::NotFound)?;
                    if venue.kind != "pharmacy" {
                        return Err(Error::field("pharmacy", "kind", "该场所不是药店", "this venue is not a pharmacy"));
                    }
                    // The same purchase sent twice at once: one after the other.
                    if let Some(id) = &v.client_id {
                        crate::storage::serialise_on(c, svc.db.backend(), &format!("purchase:{id}"))
                            .await?;
                    }
                    if let Some(id) = &v.client_id
                        && let Some(p) = store::purchase_by_client_id(c, venue.id, id).await?
                    {
                        return Ok(PurchaseRecorded {
                            id: p.id,
                            person_id: p.person_id,
                            fever_transfer: p.fever_transfer,
                            test_due_at: p.test_due_at,
                            repeated: true,
                        });
                    }
                    let (person_id, grid) = svc
                        .sentinel_person(c, &v.document, &v.name, &v.phone, &venue.region, &actor, "pharmacy", now)
                        .await?;
                    let last_negative = store::last_negative_before(c, person_id, now).await?;
                    // 不得层层加码: a town's rule only as the city approved it.
                    let town = venue.region.get(..9).unwrap_or(&venue.region);
                    let overrides = gathering_store::approved_overrides(c, town).await?;
                    let rule = apply_pharmacy_overrides(&svc.policy.pharmacy, &overrides);
                    let duty = purchase_duty(&rule, v.temperature, &v.symptoms, last_negative, now);
                    let symptoms: Vec<&str> = v.symptoms.iter().map(|s| s.as_str()).collect();
                    let id = store::insert_purchase(
                        c,
                        &store::NewPurchase {
                            client_id: v.client_id.as_deref(),
                            venue_id: venue.id,
                            person_id,
                            doc_enc: &svc.vault.encrypt(v.document.number()),
                            phone_enc: &svc.vault.encrypt(v.phone.as_str()),
                            health_code: v.health_code.as_str(),
                            symptoms: &serde_json::to_string(&symptoms).expect("serialisable"),
                            temperature_tenths: v.temperature.map(i64::from),
                            drugs: &v.drugs.to_string(),
                            for_someone_else: input.for_someone_else,
                            fever_transfer: duty.fever_transfer,
                            test_due_at: duty.test_due_at,
                            recorded_by: &actor,
                        },
                        now,
                    )
                    .await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor,
                        Some(person_id),
                        None,
                        "pharmacy_purchase",
                        &json!({"purchase": id, "venue": venue.id, "fever_transfer": duty.fever_transfer, "test_due_at": duty.test_due_at}),
                    )
                    .await?;
                    svc.purchase_alert(c, &venue.region, person_id, id, v.health_code.as_str(), duty.fever_transfer, now).await?;
                    if duty.fever_transfer {
                        let reason = format!("药店购药发热或有症状（{}）", venue.name);
                        open_task(
                            c,
                            &NewTask {
                                person_id,
                                kind: TaskKind::FeverTransfer,
                                region: &grid,
                                // Due when the referral window closes: the
                                // escalation sweep takes it up unanswered.
                                hours: svc.policy.pharmacy.referral_within_hours,
                                reason: &reason,
                                actor: &actor,
                                now,
                            },
                        )
                        .await?;
                    }
                    Ok(PurchaseRecorded { id, person_id, fever_transfer: duty.fever_transfer, test_due_at: duty.test_due_at, repeated: false })
                })
            })
            .await
    }

    /// A sentinel's person and their grid: someone on file as they are (a
    /// purchase or visit never rewrites a name or phone), else someone new
    /// in the first grid of the reporting venue's region.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn sentinel_person(
        &self,
        c: &mut AnyConnection,
        document: &DocumentNumber,
        name: &str,
        phone: &Phone,
        venue_region: &str,
        actor: &str,
        by: &str,
        now: i64,
    ) -> Result<(i64, String)> {
        let lookup = self.vault.lookup(&document.lookup_key_material());
        if let Some((id, _)) = testing_store::person_by_document(c, &lookup).await? {
            let p = repo::person_in(c, id, "").await?.ok_or(Error::NotFound)?;
            return Ok((id, p.region));
        }
        let grid = testing_store::first_grid_in(c, venue_region)
            .await?
            .ok_or_else(|| Error::Conflict("the venue's region has no grid".into()))?;
        let id = repo::upsert_person(
            c,
            &repo::NewPerson {
                doc_type: document.kind().as_str(),
                doc_lookup: &lookup,
                doc_enc: &self.vault.encrypt(document.number()),
                doc_masked: &document.masked(),
                name,
                phone_enc: &self.vault.encrypt(phone.as_str()),
                phone_masked: &phone.masked(),
                region: &grid,
            },
            now,
        )
        .await?;
        repo::insert_event(
            c,
            now,
            actor,
            Some(id),
            None,
            "person_created",
            &json!({ "by": by }),
        )
        .await?;
        Ok((id, grid))
    }

    /// Purchases whose test deadline passed: a test sampled since the
    /// purchase settles it; otherwise a 核查 task goes to the buyer's grid.
    /// Each row in its own savepoint; settled rows are never seen again.
    pub(crate) async fn pharmacy_tests_due(
        &self,
        c: &mut AnyConnection,
        now: i64,
    ) -> Result<usize> {
        let mut done = 0;
        for owed in store::owed_tests_due(c, now).await? {
            monitoring_store::row_begin(c).await?;
            let r = self.settle_owed_test(c, &owed, now).await;
            done += usize::from(
                monitoring_store::row_end(c, "pharmacy_tests", owed.id, r)
                    .await?
                    .unwrap_or(false),
            );
        }
        Ok(done)
    }

    /// Whether a task was opened.
    async fn settle_owed_test(
        &self,
        c: &mut AnyConnection,
        owed: &store::OwedTest,
        now: i64,
    ) -> Result<bool> {
        if let Some(test) =
            store::first_test_between(c, owed.person_id, owed.at, owed.test_due_at).await?
        {
            store::set_matched_test(c, owed.id, test).await?;
            repo::insert_event(
                c,
                now,
                "system",
                Some(owed.person_id),
                None,
                "pharmacy_test_matched",
                &json!({"purchase": owed.id, "test": test}),
            )
            .await?;
            return Ok(false);
        }
        let p = repo::person_in(c, owed.person_id, "")
            .await?
            .ok_or(Error::NotFound)?;
        open_task(
            c,
            &NewTask {
                person_id: owed.person_id,
                kind: TaskKind::Verify,
                region: &p.region,
                hours: self.policy.deadlines.test_missed_hours,
                reason: MISSED_TEST_REASON,
                actor: "system",
                now,
            },
        )
        .await?;
        store::set_followed_up(c, owed.id, now).await?;
        repo::insert_event(
            c,
            now,
            "system",
            Some(owed.person_id),
            None,
            "pharmacy_test_missed",
            &json!({"purchase": owed.id}),
        )
        .await?;
        Ok(true)
    }
}

/// The most purchases a recent list shows, and the rows one file may carry
/// (each row is its own transaction, as a typed purchase is).
pub const RECENT_LIMIT: i64 = 100;
pub const IMPORT_MAX_ROWS: usize = 2_000;

/// One row of an office's purchase file, cells as typed (one drug a row).
#[derive(Debug, Clone, Default)]
pub struct PurchaseFileRow {
    pub pharmacy: String,
    pub purchase_id: String,
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub health_code: String,
    pub temperature: String,
    pub symptoms: String,
    pub drug_class: String,
    pub drug_name: String,
    pub qty: String,
    pub for_someone_else: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PurchaseImportReport {
    pub loaded: usize,
    pub fever_transfers: usize,
    /// Rows whose purchase_id was already on file (answered, not stored again).
    pub repeated: usize,
    /// (row number under the header, errors).
    pub refused: Vec<(usize, Vec<FieldError>)>,
}

/// Who reads and imports a region's purchases: the village, town and
/// command staff (a grid is smaller than any pharmacy's village).
fn may_list(actor: &Actor) -> Result<()> {
    if actor.role.can_review() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Unix seconds of a Shanghai day's midnight.
pub(crate) fn day_start(day: bihuan_domain::Date) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
        .timestamp()
        - 8 * 3600
}

/// A cell as the words offices write: 是 / 有 / yes / 1 / true.
fn yes(cell: &str) -> bool {
    matches!(
        cell.trim().to_ascii_lowercase().as_str(),
        "是" | "有" | "yes" | "y" | "1" | "true"
    )
}

impl PurchaseFileRow {
    /// The wire form of the row, labels turned into the policy's names;
    /// what cannot be turned is passed on for the use case to refuse.
    fn input(self, pharmacy: i64, policy: &bihuan_domain::policy::Policy) -> PurchaseInput {
        let health_code = match self.health_code.trim() {
            "绿码" | "绿" => "green".to_string(),
            "黄码" | "黄" => "yellow".to_string(),
            "红码" | "红" => "red".to_string(),
            other => other.to_ascii_lowercase(),
        };
        let symptoms = self
            .symptoms
            .split([',', '，', '、', ';', '；', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "无")
            .map(|s| {
                Symptom::ALL
                    .into_iter()
                    .find(|x| x.label_zh() == s || x.label_en().eq_ignore_ascii_case(s))
                    .map_or_else(|| s.to_string(), |x| x.as_str().to_string())
            })
            .collect();
        // Offices write the document type as words (居民身份证, 护照).
        let typed = self.id_type.trim();
        let id_type = bihuan_domain::identity::DocumentType::ALL
            .into_iter()
            .find(|d| d.label_zh() == typed || d.label_en().eq_ignore_ascii_case(typed))
            .map(|d| d.as_str().to_string())
            .unwrap_or_else(|| match typed {
                "身份证" => "resident".to_string(),
                other => other.to_string(),
            });
        let typed = self.drug_class.trim();
        let class = policy
            .pharmacy
            .drug_classes
            .iter()
            .find(|d| d.label_zh == typed || d.label_en.eq_ignore_ascii_case(typed))
            .map_or_else(|| typed.to_string(), |d| d.name.clone());
        PurchaseInput {
            purchase_id: Some(self.purchase_id).filter(|s| !s.trim().is_empty()),
            pharmacy,
            id_type,
            id_number: self.id_number,
            name: self.name,
            phone: self.phone,
            health_code,
            symptoms,
            temperature: Some(self.temperature).filter(|s| !s.trim().is_empty()),
            drugs: vec![DrugInput {
                class,
                name: self.drug_name,
                // 0 is refused by the use case as out of range.
                qty: self.qty.trim().parse().unwrap_or(0),
            }],
            for_someone_else: yes(&self.for_someone_else),
        }
    }
}

/// A file row's errors named by its columns, not the wire form's paths.
fn file_fields(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut e| {
            let column = match e.field.rsplit('.').next().unwrap_or_default() {
                "class" if e.field.starts_with("drugs.") => Some("drug_class"),
                "name" if e.field.starts_with("drugs.") => Some("drug_name"),
                "qty" => Some("qty"),
                _ => None,
            };
            if let Some(c) = column {
                e.field = c.to_string();
            }
            e
        })
        .collect()
}

impl Services {
    /// The region's purchases: on `day` (Shanghai), else the latest.
    pub async fn purchases(
        &self,
        actor: &Actor,
        day: Option<bihuan_domain::Date>,
    ) -> Result<Vec<store::PurchaseLine>> {
        may_list(actor)?;
        let (from, to, limit) = match day {
            Some(d) => (day_start(d), day_start(d) + 86_400, 50_000),
            None => (0, i64::MAX, RECENT_LIMIT),
        };
        let mut c = self.db.pool().acquire().await?;
        let mut rows = store::purchases_in(&mut c, actor.scope(), from, to, limit).await?;
        for r in &mut rows {
            r.name = bihuan_domain::identity::mask_name(&r.name);
        }
        Ok(rows)
    }

    /// The approved pharmacies of the actor's region: (id, name).
    pub async fn pharmacies(&self, actor: &Actor) -> Result<Vec<(i64, String)>> {
        Ok(self
            .venues(actor)
            .await?
            .into_iter()
            .filter(|v| v.kind == "pharmacy" && v.state == "approved")
            .map(|v| (v.id, v.name))
            .collect())
    }

    /// A day's purchases of the region as .xlsx (masked identities, the
    /// watermark), the export audited.
    pub async fn purchases_xlsx(&self, actor: &Actor, day: Option<&str>) -> Result<Vec<u8>> {
        may_list(actor)?;
        let day = match day.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => bihuan_domain::validation::date("date", d)
                .map_err(|e| Error::from(FieldErrors(vec![e])))?,
            None => self.clock.today(),
        };
        let rows = self.purchases(actor, Some(day)).await?;
        let header = [
            "时间",
            "药店",
            "姓名",
            "证件号码",
            "手机号码",
            "健康码",
            "体温",
            "症状",
            "药品",
            "代购",
            "发热转运",
            "应检截止",
        ];
        let mut table = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
        let yes_no = |b: bool| if b { "是" } else { "否" }.to_string();
        for r in &rows {
            table.push(vec![
                crate::web::pages::shanghai_time(r.at),
                r.venue.clone(),
                r.name.clone(),
                r.doc_masked.clone(),
                r.phone_masked.clone(),
                match r.health_code.as_str() {
                    "green" => "绿码",
                    "yellow" => "黄码",
                    "red" => "红码",
                    other => other,
                }
                .to_string(),
                r.temperature_tenths
                    .map(|t| format!("{}.{}", t / 10, t % 10))
                    .unwrap_or_default(),
                self.symptom_words(&r.symptoms),
                self.drug_words(&r.drugs),
                yes_no(r.for_someone_else),
                yes_no(r.fever_transfer),
                r.test_due_at
                    .map(crate::web::pages::shanghai_time)
                    .unwrap_or_default(),
            ]);
        }
        let at = self
            .audit_export(
                actor,
                "pharmacy_purchases_exported",
                json!({"day": day.to_string(), "rows": rows.len()}),
            )
            .await?;
        crate::export::xlsx(
            "药店购药",
            &table,
            crate::export::Mark::By {
                who: &actor.username,
                at,
            },
        )
    }

    /// Stored symptoms (a JSON list of keys) in Chinese words.
    pub fn symptom_words(&self, stored: &str) -> String {
        serde_json::from_str::<Vec<String>>(stored)
            .unwrap_or_default()
            .iter()
            .map(|s| Symptom::parse(s).map_or(s.as_str(), |x| x.label_zh()))
            .collect::<Vec<_>>()
            .join("、")
    }

    /// Stored drugs (a JSON list) as "退热 布洛芬×2、止咳×1".
    pub fn drug_words(&self, stored: &str) -> String {
        serde_json::from_str::<Vec<serde_json::Value>>(stored)
            .unwrap_or_default()
            .iter()
            .map(|d| {
                let class = d["class"].as_str().unwrap_or_default();
                let label = self
                    .policy
                    .drug_class(class)
                    .map_or(class.to_string(), |c| c.label_zh.clone());
                let name = d["name"].as_str().unwrap_or_default();
                let sep = if name.is_empty() { "" } else { " " };
                format!("{label}{sep}{name}×{}", d["qty"].as_i64().unwrap_or(0))
            })
            .collect::<Vec<_>>()
            .join("、")
    }

    /// An office's file of purchases, each row recorded on its own as a
    /// typed purchase is (record_purchase, one transaction a row): good
    /// rows are stored, bad rows are refused with their row numbers and
    /// store nothing, like the other imports.
    pub async fn import_purchases(
        &self,
        actor: &Actor,
        rows: Vec<PurchaseFileRow>,
    ) -> Result<PurchaseImportReport> {
        may_list(actor)?;
        if rows.len() > IMPORT_MAX_ROWS {
            return Err(Error::field(
                "file",
                "rows",
                &format!("一个文件最多{IMPORT_MAX_ROWS}行"),
                &format!("at most {IMPORT_MAX_ROWS} rows a file"),
            ));
        }
        let pharmacies = self.pharmacies(actor).await?;
        let by = PurchaseSource::Staff(actor.clone());
        let mut report = PurchaseImportReport {
            loaded: 0,
            fever_transfers: 0,
            repeated: 0,
            refused: Vec::new(),
        };
        // A purchase of several drugs comes as several rows under one
        // purchase number: they are one purchase.
        let mut purchases: Vec<(usize, PurchaseInput)> = Vec::new();
        let mut by_number: std::collections::HashMap<(i64, String), usize> =
            std::collections::HashMap::new();
        for (i, r) in rows.into_iter().enumerate() {
            let typed = r.pharmacy.trim();
            let Some(&(pharmacy, _)) = pharmacies
                .iter()
                .find(|(id, name)| name == typed || id.to_string() == typed)
            else {
                report.refused.push((
                    i + 1,
                    vec![FieldError::new(
                        "pharmacy",
                        "unknown",
                        "本辖区无此已审核药店",
                        "no such approved pharmacy in your region",
                    )],
                ));
                continue;
            };
            let number = r.purchase_id.trim().to_string();
            let input = r.input(pharmacy, &self.policy);
            if !number.is_empty() {
                if let Some(&at) = by_number.get(&(pharmacy, number.clone())) {
                    purchases[at].1.drugs.extend(input.drugs);
                    continue;
                }
                by_number.insert((pharmacy, number), purchases.len());
            }
            purchases.push((i + 1, input));
        }
        for (row, input) in purchases {
            match self.record_purchase(&by, input).await {
                Ok(p) if p.repeated => report.repeated += 1,
                Ok(p) => {
                    report.loaded += 1;
                    report.fever_transfers += usize::from(p.fever_transfer);
                }
                Err(Error::Invalid(e)) => report.refused.push((row, file_fields(e))),
                Err(e) => return Err(e),
            }
        }
        report.refused.sort_by_key(|(row, _)| *row);
        Ok(report)
    }
}
