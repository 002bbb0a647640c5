//! 核酸检测: samplers open pooled tubes and scan people in; labs send results;
//! a positive pool puts every member under a temporary control and sends them
//! for a single re-test.

use bihuan_domain::Date;
use bihuan_domain::identity::{DocumentNumber, DocumentType, mask_name};
use bihuan_domain::monitoring::TestResult;
use bihuan_domain::policy::{Reason, assign, md_zh};
use bihuan_domain::task::TaskKind;
use bihuan_domain::testing::{
    LabResult, MemberOutcome, TubeRefusal, may_add, member_outcome, parse_barcode, parse_ct,
    parse_pool_size,
};
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::control::{self, Change, NewTask, open_task};
use super::{Actor, Services};
use crate::crypto;
use crate::error::{Error, Result};
use crate::storage::monitoring as monitoring_store;
use crate::storage::{repo, rounds as rounds_store, testing as store};

pub const CATEGORIES: [&str; 3] = ["mandatory", "periodic", "voluntary"];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenTubeInput {
    pub barcode: String,
    pub pool_size: i64,
    #[serde(default)]
    pub site: String,
    /// 应检尽检 mandatory, 定期抽检 periodic, 愿检尽检 voluntary.
    pub category: String,
}

/// Who goes into the tube: a 返永通 receipt, a person id, or an identity document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    #[serde(default)]
    pub receipt: Option<String>,
    #[serde(default)]
    pub person_id: Option<i64>,
    #[serde(default)]
    pub id_type: Option<String>,
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TubeView {
    pub barcode: String,
    pub pool_size: i64,
    pub members: i64,
    pub sealed: bool,
    pub result: Option<String>,
    /// Members of a positive pool still waiting for their single re-test.
    pub pending_retests: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Added {
    pub person_id: i64,
    pub name: String,
    pub members: i64,
    pub full: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabResultInput {
    pub barcode: String,
    pub result: String,
    #[serde(default)]
    pub ct: Option<String>,
    /// RFC 3339.
    pub tested_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResultRow {
    pub row: usize,
    pub barcode: String,
    /// applied, unchanged, or refused (with errors).
    pub status: &'static str,
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResultReport {
    pub rows: Vec<ResultRow>,
    pub applied: usize,
    pub unchanged: usize,
    pub refused: usize,
}

/// Who sends lab results: a signed-in user, or a lab's API token.
pub enum LabCaller {
    User(Actor),
    Token(String),
}

/// Tubes belong to the region they were opened in (the sampler's): only
/// users of that region or above see, fill or seal them.
fn in_scope(t: &store::TubeRow, actor: &Actor) -> bool {
    t.region.starts_with(actor.scope())
}

fn refusal(code: &'static str, zh: &str, en: &str) -> Error {
    Error::field("barcode", code, zh, en)
}

impl TubeView {
    fn of(t: &store::TubeRow, pending: Option<i64>) -> Self {
        TubeView {
            barcode: t.barcode.clone(),
            pool_size: t.pool_size,
            members: t.members,
            sealed: t.sealed_at.is_some(),
            result: t.result.clone(),
            pending_retests: pending,
        }
    }
}

impl Services {
    pub async fn open_tube(&self, actor: &Actor, input: OpenTubeInput) -> Result<TubeView> {
        let mut e = FieldErrors::default();
        let barcode = e.take(parse_barcode("barcode", &input.barcode));
        let pool = e.take(parse_pool_size("pool_size", input.pool_size));
        let site = if input.site.trim().is_empty() {
            String::new()
        } else {
            e.take(validation::text("site", &input.site, 100))
                .unwrap_or_default()
        };
        if !CATEGORIES.contains(&input.category.as_str()) {
            e.push(FieldError::new(
                "category",
                "category",
                "类别应为应检尽检、定期抽检或愿检尽检",
                "mandatory, periodic or voluntary",
            ));
        }
        let (Some(barcode), Some(pool)) = (barcode, pool) else {
            return Err(e.into());
        };
        e.into_result(())?;
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let tube = store::NewTube {
                        barcode: &barcode,
                        pool_size: i64::from(pool),
                        site: &site,
                        sampler: &actor.username,
                        region: actor.scope(),
                        category: &input.category,
                        sampled_on: &svc.clock.today().to_string(),
                    };
                    if store::insert_tube(c, &tube, now).await?.is_none() {
                        return Err(refusal(
                            "taken",
                            "该条码已被使用",
                            "this barcode is already used",
                        ));
                    }
                    let t = store::tube(c, &barcode).await?.ok_or(Error::NotFound)?;
                    Ok(TubeView::of(&t, None))
                })
            })
            .await
    }

    pub async fn add_to_tube(
        &self,
        actor: &Actor,
        barcode: &str,
        input: MemberInput,
    ) -> Result<Added> {
        let barcode = parse_barcode("barcode", barcode)?;
        let today = self.clock.today();
        // The document, parsed before the transaction.
        let document = match (&input.receipt, input.person_id, &input.id_number) {
            (Some(_), None, None) | (None, Some(_), None) => None,
            (None, None, Some(number)) => {
                let kind = DocumentType::parse(input.id_type.as_deref().unwrap_or("resident"))
                    .ok_or_else(|| {
                        Error::field(
                            "id_type",
                            "id_type",
                            "证件类型无效",
                            "unknown document type",
                        )
                    })?;
                Some(DocumentNumber::parse(kind, number, "id_number", today)?)
            }
            _ => {
                return Err(Error::field(
                    "person",
                    "one_of",
                    "请扫描返永通码、人员码或输入证件号之一",
                    "give one of receipt, person_id or id_number",
                ));
            }
        };
        let name = match input
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            Some(n) => validation::text("name", n, 50)?,
            None => String::new(),
        };
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let t = store::tube(c, &barcode)
                        .await?
                        .filter(|t| in_scope(t, &actor))
                        .ok_or_else(|| refusal("unknown", "没有这个试管条码", "no tube with this barcode"))?;
                    let person_id = svc.resolve_member(c, &actor, &input, document, &name, now).await?;
                    if !store::add_member(c, t.id, person_id, now).await? {
                        // Refused: say why, as the tube stood before.
                        let already = store::is_member(c, t.id, person_id).await?;
                        let members = u32::try_from(t.members).unwrap_or(u32::MAX);
                        let pool = u32::try_from(t.pool_size).unwrap_or(0);
                        let r = may_add(t.sealed_at.is_some(), members, pool, already).err().unwrap_or(TubeRefusal::Full);
                        let (code, zh, en) = r.message();
                        return Err(Error::Refused { code, zh, en });
                    }
                    let (name, home) = store::member_facts(c, person_id).await?.unwrap_or_default();
                    svc.count_sample(c, person_id, home.as_deref(), now).await?;
                    repo::insert_event(c, now, &actor.username, Some(person_id), None, "sampled", &json!({"barcode": barcode, "pool_size": t.pool_size, "category": t.category})).await?;
                    let shown = mask_name(&name);
                    Ok(Added { person_id, name: shown, members: t.members + 1, full: t.members + 1 >= t.pool_size })
                })
            })
            .await
    }

    /// The person a scan names; someone unknown is created from the document.
    async fn resolve_member(
        &self,
        c: &mut AnyConnection,
        actor: &Actor,
        input: &MemberInput,
        document: Option<DocumentNumber>,
        name: &str,
        now: i64,
    ) -> Result<i64> {
        if let Some(receipt) = &input.receipt {
            let r = receipt.trim().trim_start_matches("/s/");
            let d = repo::declaration_by_receipt(c, r).await?.ok_or_else(|| {
                Error::field("receipt", "unknown", "无效的返永通码", "unknown receipt")
            })?;
            if !d.trusted() {
                return Err(super::monitoring::IDENTITY_PENDING_REFUSAL);
            }
            return Ok(d.person_id);
        }
        if let Some(id) = input.person_id {
            // An internal id reaches only people in the sampler's region;
            // people from elsewhere are scanned by receipt or document.
            return repo::person_in(c, id, actor.scope())
                .await?
                .map(|p| p.id)
                .ok_or(Error::NotFound);
        }
        let doc = document.ok_or_else(|| Error::Internal("a document was parsed".into()))?;
        let lookup = self.vault.lookup(&doc.lookup_key_material());
        if let Some((id, _)) = store::person_by_document(c, &lookup).await? {
            return Ok(id);
        }
        let grid = store::first_grid_in(c, actor.scope())
            .await?
            .ok_or_else(|| Error::Conflict("the sampler's region has no grid".into()))?;
        repo::upsert_person(
            c,
            &repo::NewPerson {
                doc_type: doc.kind().as_str(),
                doc_lookup: &lookup,
                doc_enc: &self.vault.encrypt(doc.number()),
                doc_masked: &doc.masked(),
                name,
                phone_enc: &self.vault.encrypt(""),
                phone_masked: "",
                region: &grid,
            },
            now,
        )
        .await
    }

    pub async fn seal_tube(&self, actor: &Actor, barcode: &str) -> Result<TubeView> {
        let barcode = parse_barcode("barcode", barcode)?;
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let t = store::tube(c, &barcode)
                        .await?
                        .filter(|t| in_scope(t, &actor))
                        .ok_or(Error::NotFound)?;
                    if t.members == 0 {
                        return Err(Error::Refused {
                            code: "empty",
                            zh: "空管不能封管",
                            en: "an empty tube cannot be sealed",
                        });
                    }
                    if !store::seal(c, t.id, now).await? {
                        let (code, zh, en) = TubeRefusal::Sealed.message();
                        return Err(Error::Refused { code, zh, en });
                    }
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "tube_sealed",
                        &json!({"barcode": barcode, "members": t.members}),
                    )
                    .await?;
                    let t = store::tube(c, &barcode).await?.ok_or(Error::NotFound)?;
                    Ok(TubeView::of(&t, None))
                })
            })
            .await
    }

    /// A tube opened inside the caller's region (404 otherwise).
    pub async fn tube(&self, actor: &Actor, barcode: &str) -> Result<TubeView> {
        let barcode = parse_barcode("barcode", barcode)?;
        let mut c = self.db.pool().acquire().await?;
        let t = store::tube(&mut c, &barcode)
            .await?
            .filter(|t| in_scope(t, actor))
            .ok_or(Error::NotFound)?;
        let pending = if t.result.as_deref() == Some("positive") && t.pool_size > 1 {
            Some(store::pending_retests(&mut c, t.id).await?)
        } else {
            None
        };
        Ok(TubeView::of(&t, pending))
    }

    /// Who sends lab results: the command, or an API token of scope
    /// `lab_results`. Asked before an upload's body is read.
    pub async fn lab_source(&self, caller: &LabCaller) -> Result<String> {
        Ok(match caller {
            LabCaller::User(a) if a.role.can_manage_risk_areas() => a.username.clone(),
            LabCaller::User(_) => return Err(Error::Forbidden),
            LabCaller::Token(token) => {
                let mut c = self.db.pool().acquire().await?;
                match monitoring_store::api_token(
                    &mut c,
                    &crypto::sha256_hex(token),
                    self.clock.timestamp(),
                )
                .await?
                {
                    Some((name, scope)) if scope == "lab_results" => format!("token:{name}"),
                    _ => return Err(Error::Unauthorized),
                }
            }
        })
    }

    /// Takes a batch of results in one transaction. Bad rows are refused with
    /// their row numbers; good rows apply; a line seen before changes nothing.
    pub async fn ingest_lab_results(
        &self,
        caller: LabCaller,
        rows: Vec<LabResultInput>,
    ) -> Result<ResultReport> {
        let source = self.lab_source(&caller).await?;
        if rows.len() > 10_000 {
            return Err(Error::field(
                "rows",
                "too_many",
                "每批最多10000条",
                "at most 10,000 rows a batch",
            ));
        }
        let now = self.clock.now();
        let parsed: Vec<_> = rows
            .iter()
            .map(|r| parse_result(r, now.timestamp()))
            .collect();
        let svc = self.clone();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let mut report = ResultReport {
                        rows: vec![],
                        applied: 0,
                        unchanged: 0,
                        refused: 0,
                    };
                    for (i, p) in parsed.into_iter().enumerate() {
                        let row = i + 1;
                        let (barcode, result, ct, tested_at) = match p {
                            Ok(v) => v,
                            Err((barcode, errors)) => {
                                report.refused += 1;
                                report.rows.push(ResultRow {
                                    row,
                                    barcode,
                                    status: "refused",
                                    errors: errors.0,
                                });
                                continue;
                            }
                        };
                        let status = svc
                            .apply_result(
                                c,
                                &barcode,
                                result,
                                ct.as_deref(),
                                tested_at,
                                &source,
                                now,
                            )
                            .await;
                        let (status, errors) = match status {
                            Ok(true) => {
                                report.applied += 1;
                                ("applied", vec![])
                            }
                            Ok(false) => {
                                report.unchanged += 1;
                                ("unchanged", vec![])
                            }
                            Err(Error::Invalid(e)) => {
                                report.refused += 1;
                                ("refused", e)
                            }
                            Err(e) => return Err(e),
                        };
                        report.rows.push(ResultRow {
                            row,
                            barcode,
                            status,
                            errors,
                        });
                    }
                    Ok(report)
                })
            })
            .await
    }

    /// Applies one result line; false when it was seen before.
    #[allow(clippy::too_many_arguments)]
    async fn apply_result(
        &self,
        c: &mut AnyConnection,
        barcode: &str,
        result: LabResult,
        ct: Option<&str>,
        tested_at: i64,
        source: &str,
        now: i64,
    ) -> Result<bool> {
        let t = store::tube(c, barcode)
            .await?
            .ok_or_else(|| refusal("unknown", "没有这个试管条码", "no tube with this barcode"))?;
        if t.sealed_at.is_none() {
            return Err(refusal(
                "not_sealed",
                "试管尚未封管",
                "the tube is not sealed",
            ));
        }
        if !store::record_lab_result(c, barcode, result.as_str(), ct, tested_at, source, now)
            .await?
        {
            return Ok(false);
        }
        store::set_result(c, t.id, result.as_str(), ct, tested_at).await?;
        let sampled_on: Date = t
            .sampled_on
            .parse()
            .map_err(|_| Error::Internal("tube date".into()))?;
        let outcome = member_outcome(result, u32::try_from(t.pool_size).unwrap_or(0));
        let detail = json!({"barcode": barcode, "result": result.as_str(), "pool_size": t.pool_size, "ct": ct});
        if outcome == MemberOutcome::Negative {
            // Every member alike: a few statements for the whole tube.
            let people = store::member_ids(c, t.id).await?;
            store::member_events(c, t.id, now, source, "lab_result", &detail).await?;
            rounds_store::mark_results(c, &people, false).await?;
            store::member_tests(
                c,
                t.id,
                &t.sampled_on,
                t.opened_at,
                TestResult::Negative.as_str(),
                source,
                now,
            )
            .await?;
            if t.pool_size == 1 {
                for &person_id in &people {
                    self.clear_pool_positive(c, person_id, source, now).await?;
                }
            }
            let running = store::under_control(c, &people).await?;
            for &person_id in &running {
                self.refresh_colour(c, person_id, source, now).await?;
            }
            let others: Vec<i64> = people
                .into_iter()
                .filter(|p| !running.contains(p))
                .collect();
            store::make_green(c, &others, source, now).await?;
            return Ok(true);
        }
        for (person_id, grid) in store::members(c, t.id).await? {
            repo::insert_event(c, now, source, Some(person_id), None, "lab_result", &detail)
                .await?;
            // A positive pool is no one's result yet: the single re-test is.
            if !matches!(
                outcome,
                MemberOutcome::Resample | MemberOutcome::PoolPositive
            ) {
                self.count_result(c, person_id, result == LabResult::Positive)
                    .await?;
            }
            match outcome {
                MemberOutcome::Negative => {
                    monitoring_store::insert_test(
                        c,
                        person_id,
                        &t.sampled_on,
                        t.opened_at,
                        TestResult::Negative,
                        source,
                        now,
                    )
                    .await?;
                    if t.pool_size == 1 {
                        self.clear_pool_positive(c, person_id, source, now).await?;
                    }
                }
                MemberOutcome::Positive => {
                    monitoring_store::insert_test(
                        c,
                        person_id,
                        &t.sampled_on,
                        t.opened_at,
                        TestResult::Positive,
                        source,
                        now,
                    )
                    .await?;
                    repo::close_open_tasks(
                        c,
                        person_id,
                        Some(TaskKind::Resample.as_str()),
                        "resolved",
                        source,
                        now,
                    )
                    .await?;
                    self.mark_positive(c, person_id, &grid, sampled_on, source, now)
                        .await?;
                }
                MemberOutcome::PoolPositive => {
                    let why = Reason {
                        zh: format!("{}混采管 {} 阳性", md_zh(sampled_on), barcode),
                        en: format!("pooled tube {barcode} positive"),
                    };
                    let a = assign(&self.policy, "pool_positive", self.clock.today(), why)
                        .ok_or_else(|| Error::Internal("the policy lacks pool_positive".into()))?;
                    let declaration_id =
                        repo::latest_declaration(c, person_id).await?.map(|d| d.id);
                    control::apply(
                        c,
                        &self.policy,
                        Change {
                            person_id,
                            declaration_id,
                            grid: &grid,
                            assessment: &a,
                            because: None,
                            always_dispatch: false,
                            actor: source,
                            now,
                        },
                    )
                    .await?;
                    let reason = format!("混采管 {barcode} 阳性，请2小时内单采复核");
                    open_task(
                        c,
                        &NewTask {
                            person_id,
                            kind: TaskKind::Resample,
                            region: &grid,
                            hours: self.policy.deadlines.positive_hours,
                            reason: &reason,
                            actor: source,
                            now,
                        },
                    )
                    .await?;
                }
                MemberOutcome::Resample => {
                    let reason = format!("试管 {barcode} 样本无效，请重新采样");
                    open_task(
                        c,
                        &NewTask {
                            person_id,
                            kind: TaskKind::Resample,
                            region: &grid,
                            hours: self.policy.deadlines.test_missed_hours,
                            reason: &reason,
                            actor: source,
                            now,
                        },
                    )
                    .await?;
                }
            }
            self.refresh_colour(c, person_id, source, now).await?;
        }
        Ok(true)
    }

    /// A negative single re-test ends a pool_positive control.
    async fn clear_pool_positive(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        actor: &str,
        now: i64,
    ) -> Result<()> {
        repo::close_open_tasks(
            c,
            person_id,
            Some(TaskKind::Resample.as_str()),
            "resolved",
            actor,
            now,
        )
        .await?;
        // The plans beneath (a 落地检, a zone) run again: never relaxed.
        control::end_control(
            c,
            &self.policy,
            person_id,
            "pool_positive",
            json!({"reason": "单采复核阴性"}),
            actor,
            now,
        )
        .await
        .map(|_| ())
    }
}

type ParsedResult = (String, LabResult, Option<String>, i64);

fn parse_result(
    r: &LabResultInput,
    now: i64,
) -> std::result::Result<ParsedResult, (String, FieldErrors)> {
    let mut e = FieldErrors::default();
    let barcode = e.take(parse_barcode("barcode", &r.barcode));
    let result = LabResult::parse(&r.result);
    if result.is_none() {
        e.push(FieldError::new(
            "result",
            "result",
            "结果应为阴性、阳性或无效",
            "negative, positive or invalid",
        ));
    }
    let ct =
        r.ct.as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| e.take(parse_ct("ct", s)));
    let tested_at = match parse_tested_at(&r.tested_at) {
        Some(t) if t <= now + 300 => Some(t),
        _ => {
            e.push(FieldError::new(
                "tested_at",
                "datetime",
                "检测时间应为不晚于现在的北京时间，如 2022-01-28 09:30 或 2022-01-28T09:30:00+08:00",
                "an RFC 3339 time or a local (Asia/Shanghai) YYYY-MM-DD HH:MM[:SS], not in the future",
            ));
            None
        }
    };
    match (barcode, result, tested_at) {
        (Some(b), Some(res), Some(t)) if e.is_empty() => Ok((b, res, ct, t)),
        _ => Err((r.barcode.chars().take(40).collect(), e)),
    }
}

/// When a sample was tested: an RFC 3339 time, or a local date-time in
/// Asia/Shanghai as a spreadsheet cell comes out (`2022-01-28 09:30:00`,
/// `2022-01-28 09:30`, also with a `T`). Unix seconds.
fn parse_tested_at(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Some(t.timestamp());
    }
    let local = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(value, f).ok())?;
    Some(local.and_utc().timestamp() - 8 * 3600)
}
