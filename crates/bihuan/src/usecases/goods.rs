//! 人、物、环境同防: goods holders (each a cold-chain employer whose workers
//! are a rolling-testing cohort), batches with their certificates and
//! movements, the supervised warehouse's jobs, environment sampling, and the
//! 2-hour trace-back a positive batch or sample starts: seal tasks on every
//! downstream holder and a 协查 list of the people exposed.

use bihuan_domain::Date;
use bihuan_domain::goods::{
    self, Certificates, JobState, downstream, is_holder_kind, is_site_kind, needs_warehouse,
    sample_due, valid_trace_code,
};
use bihuan_domain::task::TaskKind;
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::assist::Exposed;
use super::rounds::grid_field;
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::goods::{self as store, BatchRow, HolderRow, JobRow, SealRow, SiteRow};
use crate::storage::{repo, rolling as rolling_store, venues as venue_store};

/// The industry every holder's workers are rostered under.
pub const HOLDER_INDUSTRY: &str = "cold_chain";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolderInput {
    pub name: String,
    pub grid: String,
    pub kind: String,
    /// A check-in venue at the holder, whose visitors a trace-back lists.
    #[serde(default)]
    pub venue: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificatesInput {
    #[serde(default)]
    pub inspection: bool,
    #[serde(default)]
    pub nucleic_acid: bool,
    #[serde(default)]
    pub disinfection: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
    pub trace_code: String,
    pub product: String,
    pub origin: String,
    pub holder: i64,
    pub quantity: i64,
    #[serde(default)]
    pub certificates: CertificatesInput,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchRegistered {
    pub id: i64,
    pub warehouse_job: Option<i64>,
    pub missing: Vec<&'static str>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MovementInput {
    pub from: i64,
    pub to: i64,
    pub quantity: i64,
    /// RFC 3339; now when absent.
    #[serde(default)]
    pub at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    pub result: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub grid: String,
    #[serde(default)]
    pub kind: String,
    /// A holder as the site: its name, grid and kind are taken.
    #[serde(default)]
    pub holder: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleInput {
    pub sampled_on: String,
    pub result: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkerStatus {
    pub person_id: i64,
    pub name: String,
    pub last_negative: Option<String>,
    /// False when the rolling test is overdue: 不宜上岗.
    pub fit_for_work: bool,
    pub status_zh: &'static str,
    pub status_en: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct DueSite {
    pub site: SiteRow,
    pub every_days: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct SampleRecorded {
    pub id: i64,
    pub trace_back: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResultRecorded {
    pub trace_back: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TraceBackView {
    pub id: i64,
    pub batch_id: Option<i64>,
    pub sample_id: Option<i64>,
    pub due_at: i64,
    pub assist_list_id: Option<i64>,
    pub seals: Vec<SealRow>,
    pub chain: Vec<store::MovementRow>,
}

fn may_manage(actor: &Actor) -> Result<()> {
    if actor.role.can_review() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn result_field(e: &mut FieldErrors, raw: &str) -> Option<&'static str> {
    match raw.trim() {
        "negative" => Some("negative"),
        "positive" => Some("positive"),
        _ => {
            e.push(FieldError::new(
                "result",
                "result",
                "结果应为阴性或阳性",
                "negative or positive",
            ));
            None
        }
    }
}

fn positive_quantity(e: &mut FieldErrors, q: i64) -> bool {
    let ok = (1..=1_000_000_000).contains(&q);
    if !ok {
        e.push(FieldError::new(
            "quantity",
            "quantity",
            "数量应为1至10亿",
            "a quantity from 1 to 1,000,000,000",
        ));
    }
    ok
}

impl Services {
    /// Registers a holder in a grid of the actor's region, and the
    /// cold-chain employer its workers are rostered under.
    pub async fn create_holder(&self, actor: &Actor, input: HolderInput) -> Result<HolderRow> {
        may_manage(actor)?;
        let mut e = FieldErrors::default();
        let name = e.take(validation::text("name", &input.name, 100));
        let grid = grid_field(&mut e, &input.grid);
        if !is_holder_kind(input.kind.trim()) {
            e.push(FieldError::new(
                "kind",
                "kind",
                "类型应为冷库、农贸市场、商超或餐饮",
                "a cold store, market, supermarket or restaurant",
            ));
        }
        let (name, grid) = match (name, grid) {
            (Some(n), Some(g)) if e.is_empty() => (n, g),
            _ => return Err(e.into()),
        };
        if !grid.starts_with(actor.scope()) {
            return Err(Error::field(
                "grid",
                "scope",
                "网格不在本辖区",
                "the grid is outside your region",
            ));
        }
        let (svc, actor) = (self.clone(), actor.clone());
        let kind = input.kind.trim().to_string();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    if repo::region(c, &grid)
                        .await?
                        .is_none_or(|g| g.level != "grid")
                    {
                        return Err(Error::field(
                            "grid",
                            "unknown",
                            &format!("网格 {grid} 不存在"),
                            &format!("no grid {grid}"),
                        ));
                    }
                    if let Some(v) = input.venue
                        && venue_store::venue_in(c, v, actor.scope()).await?.is_none()
                    {
                        return Err(Error::field(
                            "venue",
                            "unknown",
                            "场所码不存在",
                            "no such venue",
                        ));
                    }
                    if store::holder_named(c, &name, &grid).await?.is_some() {
                        return Err(Error::field(
                            "name",
                            "taken",
                            "本网格已有同名单位",
                            "this grid already has a holder of that name",
                        ));
                    }
                    let employer =
                        rolling_store::upsert_employer(c, &name, &grid, HOLDER_INDUSTRY, now)
                            .await?;
                    let id = store::insert_holder(
                        c,
                        &store::NewHolder {
                            name: &name,
                            region: &grid,
                            kind: &kind,
                            employer_id: employer,
                            venue_id: input.venue,
                            who: &actor.username,
                        },
                        now,
                    )
                    .await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "goods_holder_created",
                        &json!({"holder": id, "kind": kind, "grid": grid}),
                    )
                    .await?;
                    store::holder_in(c, id, "").await?.ok_or(Error::NotFound)
                })
            })
            .await
    }

    pub async fn goods_holders(&self, actor: &Actor) -> Result<Vec<HolderRow>> {
        let mut c = self.db.pool().acquire().await?;
        store::holders(&mut c, actor.scope()).await
    }

    /// A holder's front-line workers and whether each may work: overdue for
    /// the rolling test (by the rolling programme's own rule) is 不宜上岗.
    pub async fn holder_workers(&self, actor: &Actor, id: i64) -> Result<Vec<WorkerStatus>> {
        let mut c = self.db.pool().acquire().await?;
        let h = store::holder_in(&mut c, id, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        let overdue: Vec<i64> = self
            .overdue_in(&mut c, &h.region, self.clock.today())
            .await?
            .into_iter()
            .filter(|o| o.employer_id == h.employer_id)
            .map(|o| o.person_id)
            .collect();
        Ok(rolling_store::roster(&mut c, &h.region)
            .await?
            .into_iter()
            .filter(|r| r.employer_id == h.employer_id)
            .map(|r| {
                let fit = !overdue.contains(&r.person_id);
                WorkerStatus {
                    person_id: r.person_id,
                    name: r.name,
                    last_negative: r.last_negative,
                    fit_for_work: fit,
                    status_zh: if fit { "可上岗" } else { "不宜上岗" },
                    status_en: if fit {
                        "fit for work"
                    } else {
                        "not fit for work"
                    },
                }
            })
            .collect())
    }

    fn valid_batch(
        &self,
        input: &BatchInput,
    ) -> std::result::Result<(String, String, String), FieldErrors> {
        let mut e = FieldErrors::default();
        let code = input.trace_code.trim().to_string();
        if !valid_trace_code(&code) {
            e.push(FieldError::new(
                "trace_code",
                "trace_code",
                "追溯码应为8至32位大写字母、数字或连字符",
                "8 to 32 capital letters, digits or hyphens",
            ));
        }
        let product = e.take(validation::text("product", &input.product, 100));
        let origin = e.take(validation::text("origin", &input.origin, 50));
        positive_quantity(&mut e, input.quantity);
        match (product, origin) {
            (Some(p), Some(o)) if e.is_empty() => Ok((code, p, o)),
            _ => Err(e),
        }
    }

    /// Registers a batch at a holder of the actor's region; one lacking a
    /// certificate, or from a listed origin, is booked into the supervised
    /// warehouse (预约).
    pub async fn register_batch(
        &self,
        actor: &Actor,
        input: BatchInput,
    ) -> Result<BatchRegistered> {
        may_manage(actor)?;
        let (code, product, origin) = self.valid_batch(&input)?;
        let certs = Certificates {
            inspection: input.certificates.inspection,
            nucleic_acid: input.certificates.nucleic_acid,
            disinfection: input.certificates.disinfection,
        };
        let warehouse = needs_warehouse(&self.policy.goods, certs, &origin);
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let holder = store::holder_in(c, input.holder, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    crate::storage::serialise_on(c, svc.db.backend(), &format!("batch:{code}"))
                        .await?;
                    if store::batch_by_code(c, &code).await?.is_some() {
                        return Err(Error::field(
                            "trace_code",
                            "taken",
                            "追溯码已登记",
                            "this trace code is already registered",
                        ));
                    }
                    let id = store::insert_batch(
                        c,
                        &store::NewBatch {
                            trace_code: &code,
                            product: &product,
                            origin: &origin,
                            holder_id: holder.id,
                            region: &holder.region,
                            inspection: certs.inspection,
                            nucleic_acid: certs.nucleic_acid,
                            disinfection: certs.disinfection,
                            quantity: input.quantity,
                            who: &actor.username,
                        },
                        now,
                    )
                    .await?;
                    let missing = certs.missing();
                    let job = if warehouse {
                        let reason = if missing.is_empty() {
                            format!("来源地{origin}列入监管名单")
                        } else {
                            format!("缺少证明：{}", missing_zh(&missing))
                        };
                        Some(
                            store::insert_job(c, id, &holder.region, &reason, &actor.username, now)
                                .await?,
                        )
                    } else {
                        None
                    };
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "goods_batch_registered",
                        &json!({"batch": id, "holder": holder.id, "warehouse_job": job}),
                    )
                    .await?;
                    Ok(BatchRegistered {
                        id,
                        warehouse_job: job,
                        missing,
                    })
                })
            })
            .await
    }

    pub async fn goods_batches(&self, actor: &Actor) -> Result<Vec<BatchRow>> {
        let mut c = self.db.pool().acquire().await?;
        store::batches(&mut c, actor.scope()).await
    }

    /// The batches in the actor's region, each with its movements between
    /// holders: the goods page.
    pub async fn goods_batches_with_movements(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(BatchRow, Vec<store::MovementRow>)>> {
        let mut c = self.db.pool().acquire().await?;
        let mut out = Vec::new();
        for b in store::batches(&mut c, actor.scope()).await? {
            let moves = store::movements_of(&mut c, b.id).await?;
            out.push((b, moves));
        }
        Ok(out)
    }

    /// One batch of the actor's region with its movements and the
    /// trace-back its positive started, if any: the batch's page.
    pub async fn goods_batch(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(BatchRow, Vec<store::MovementRow>, Option<i64>)> {
        let mut c = self.db.pool().acquire().await?;
        let b = store::batch_in(&mut c, id, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        let moves = store::movements_of(&mut c, b.id).await?;
        let trace_back = store::trace_back_of_batch(&mut c, b.id).await?;
        Ok((b, moves, trace_back))
    }

    /// Every holder's 不宜上岗 workers in the actor's region (rolling test
    /// overdue), by holder.
    pub async fn unfit_workers(&self, actor: &Actor) -> Result<Vec<(HolderRow, WorkerStatus)>> {
        let mut out = Vec::new();
        for h in self.goods_holders(actor).await? {
            for w in self.holder_workers(actor, h.id).await? {
                if !w.fit_for_work {
                    out.push((h.clone(), w));
                }
            }
        }
        Ok(out)
    }

    /// Records a movement of a batch between two holders of the actor's
    /// region.
    pub async fn record_movement(
        &self,
        actor: &Actor,
        batch: i64,
        input: MovementInput,
    ) -> Result<i64> {
        may_manage(actor)?;
        let mut e = FieldErrors::default();
        positive_quantity(&mut e, input.quantity);
        let at = match input.at.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => match chrono::DateTime::parse_from_rfc3339(t) {
                Ok(t) => Some(t.timestamp()),
                Err(_) => {
                    e.push(FieldError::new(
                        "at",
                        "time",
                        "时间格式应为 2022-01-27T10:00:00+08:00",
                        "a time like 2022-01-27T10:00:00+08:00",
                    ));
                    None
                }
            },
        };
        if input.from == input.to {
            e.push(FieldError::new(
                "to",
                "same",
                "收货单位不能与发货单位相同",
                "the receiver must differ from the sender",
            ));
        }
        e.into_result(())?;
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let b = store::batch_in(c, batch, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    for h in [input.from, input.to] {
                        store::holder_in(c, h, actor.scope())
                            .await?
                            .ok_or(Error::NotFound)?;
                    }
                    let id = store::insert_movement(
                        c,
                        b.id,
                        input.from,
                        input.to,
                        input.quantity,
                        at.unwrap_or(now),
                        &actor.username,
                        now,
                    )
                    .await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "goods_moved",
                        &json!({"batch": b.id, "from": input.from, "to": input.to, "quantity": input.quantity}),
                    )
                    .await?;
                    Ok(id)
                })
            })
            .await
    }

    pub async fn warehouse_jobs(&self, actor: &Actor) -> Result<Vec<JobRow>> {
        let mut c = self.db.pool().acquire().await?;
        store::jobs(&mut c, actor.scope()).await
    }

    /// Moves a warehouse job one step on (预约 → 采样 → 消杀 → 赋码 → 放行);
    /// any other move is a conflict.
    pub async fn advance_warehouse_job(&self, actor: &Actor, id: i64, to: &str) -> Result<JobRow> {
        may_manage(actor)?;
        let Some(to) = JobState::parse(to.trim()) else {
            return Err(Error::field(
                "to",
                "state",
                "状态应为采样、消杀、赋码或放行",
                "sampled, disinfected, coded or released",
            ));
        };
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let job = store::job_in(c, id, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    let from = JobState::parse(&job.state)
                        .ok_or_else(|| Error::Internal(format!("job state {}", job.state)))?;
                    if goods::job_transition(from, to).is_none()
                        || !store::set_job_state(
                            c,
                            id,
                            from.as_str(),
                            to.as_str(),
                            &actor.username,
                            now,
                        )
                        .await?
                    {
                        return Err(Error::Conflict(format!(
                            "a {} job cannot become {}",
                            from.as_str(),
                            to.as_str()
                        )));
                    }
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "warehouse_job_moved",
                        &json!({"job": id, "from": from.as_str(), "to": to.as_str()}),
                    )
                    .await?;
                    store::job_in(c, id, "").await?.ok_or(Error::NotFound)
                })
            })
            .await
    }

    /// Records a batch's test; a positive starts a trace-back (once).
    pub async fn record_batch_result(
        &self,
        actor: &Actor,
        batch: i64,
        input: ResultInput,
    ) -> Result<ResultRecorded> {
        may_manage(actor)?;
        let mut e = FieldErrors::default();
        let result = result_field(&mut e, &input.result);
        e.into_result(())?;
        let result = result.expect("checked");
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let b = store::batch_in(c, batch, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    // Two positives of one batch at once start one trace-back.
                    crate::storage::serialise_on(
                        c,
                        svc.db.backend(),
                        &format!("goods_batch_result:{}", b.id),
                    )
                    .await?;
                    if let Some(t) = store::trace_back_of_batch(c, b.id).await? {
                        return Ok(ResultRecorded {
                            trace_back: Some(t),
                        });
                    }
                    store::set_batch_result(c, b.id, result).await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "goods_batch_tested",
                        &json!({"batch": b.id, "result": result}),
                    )
                    .await?;
                    if result != "positive" {
                        return Ok(ResultRecorded { trace_back: None });
                    }
                    let movements: Vec<(i64, i64)> = store::movements_of(c, b.id)
                        .await?
                        .iter()
                        .map(|m| (m.from_holder, m.to_holder))
                        .collect();
                    let why = format!("冷链批次{}（{}）阳性", b.trace_code, b.product);
                    let t = svc
                        .trace_back(
                            c,
                            &actor,
                            Some(b.id),
                            None,
                            b.holder_id,
                            &movements,
                            &why,
                            now,
                        )
                        .await?;
                    Ok(ResultRecorded {
                        trace_back: Some(t),
                    })
                })
            })
            .await
    }

    /// Seal tasks on every holder downstream of `start`, each due by the
    /// policy's deadline, and a 协查 list of the exposed: the workers of
    /// `start` and of each downstream holder, and whoever checked in at
    /// their venues over the last window.
    #[allow(clippy::too_many_arguments)]
    async fn trace_back(
        &self,
        c: &mut AnyConnection,
        actor: &Actor,
        batch: Option<i64>,
        sample: Option<i64>,
        start: i64,
        movements: &[(i64, i64)],
        why: &str,
        now: i64,
    ) -> Result<i64> {
        let due = self.policy.goods.trace_back_due(now);
        let id = store::insert_trace_back(c, actor.scope(), batch, sample, due, now).await?;
        let down = downstream(movements, &[start]);
        let mut exposed = Vec::new();
        let mut chain = vec![start];
        chain.extend(down.iter().copied().filter(|h| *h != start));
        for h in &chain {
            let holder = store::holder_in(c, *h, "").await?.ok_or(Error::NotFound)?;
            if down.contains(h) {
                let reason = format!("封存：{why}，下游单位{}，2小时内完成", holder.name);
                let task = repo::insert_grid_task(
                    c,
                    TaskKind::Seal.as_str(),
                    &holder.region,
                    due,
                    &reason,
                    now,
                )
                .await?;
                repo::insert_event(
                    c,
                    now,
                    &actor.username,
                    None,
                    Some(task),
                    "task_created",
                    &json!({"kind": "seal", "trace_back": id, "holder": holder.id}),
                )
                .await?;
                store::insert_seal(c, id, holder.id, task).await?;
                // A drill's holder: its seal task is the drill's.
                crate::storage::drill::flag_holder_task(c, task, holder.id).await?;
            }
            for r in rolling_store::roster(c, &holder.region).await? {
                if r.employer_id == holder.employer_id {
                    exposed.push(Exposed {
                        person_id: r.person_id,
                        reason: format!("{why}，{}从业人员", holder.name),
                    });
                }
            }
            if let Some(v) = holder.venue_id {
                let window = i64::from(self.policy.window_days) * 86_400;
                for p in store::checked_in_at(c, v, now - window, now).await? {
                    exposed.push(Exposed {
                        person_id: p,
                        reason: format!("{why}，到访{}", holder.name),
                    });
                }
            }
        }
        if !exposed.is_empty() {
            let list = self
                .assist_list_of_known(
                    c,
                    actor.scope(),
                    &format!("溯源协查{id}：{why}"),
                    &exposed,
                    due,
                    &actor.username,
                    now,
                )
                .await?;
            store::set_trace_back_list(c, id, list).await?;
        }
        repo::insert_event(
            c,
            now,
            &actor.username,
            None,
            None,
            "trace_back_started",
            &json!({"trace_back": id, "batch": batch, "sample": sample, "sealed": down.len(), "exposed": exposed.len()}),
        )
        .await?;
        Ok(id)
    }

    pub async fn trace_back_view(&self, actor: &Actor, id: i64) -> Result<TraceBackView> {
        let mut c = self.db.pool().acquire().await?;
        let t = store::trace_back_in(&mut c, id, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        let chain = match t.batch_id {
            Some(b) => store::movements_of(&mut c, b).await?,
            None => Vec::new(),
        };
        Ok(TraceBackView {
            id: t.id,
            batch_id: t.batch_id,
            sample_id: t.sample_id,
            due_at: t.due_at,
            assist_list_id: t.assist_list_id,
            seals: store::seals_of(&mut c, t.id).await?,
            chain,
        })
    }

    /// A trace-back's chain as a watermarked workbook: the movements, and
    /// the holders to seal with their deadlines.
    pub async fn export_trace_back(&self, actor: &Actor, id: i64) -> Result<Vec<u8>> {
        let view = self.trace_back_view(actor, id).await?;
        let holders = {
            let mut c = self.db.pool().acquire().await?;
            store::holders(&mut c, "").await?
        };
        let name = |h: i64| {
            holders
                .iter()
                .find(|x| x.id == h)
                .map_or(h.to_string(), |x| x.name.clone())
        };
        let mut rows = vec![vec![
            "追溯码".to_string(),
            "发货单位".into(),
            "收货单位".into(),
            "数量".into(),
            "时间".into(),
        ]];
        for m in &view.chain {
            rows.push(vec![
                m.trace_code.clone(),
                name(m.from_holder),
                name(m.to_holder),
                m.quantity.to_string(),
                super::tasks::rfc3339(m.at),
            ]);
        }
        rows.push(Vec::new());
        rows.push(vec![
            "封存单位".into(),
            "网格".into(),
            "时限".into(),
            "状态".into(),
        ]);
        for s in &view.seals {
            rows.push(vec![
                s.holder.clone(),
                s.region.clone(),
                super::tasks::rfc3339(s.due_at),
                s.state.clone(),
            ]);
        }
        let at = self
            .audit_export(actor, "trace_back_exported", json!({"trace_back": id}))
            .await?;
        crate::export::xlsx(
            "溯源链",
            &rows,
            crate::export::Mark::By {
                who: &actor.username,
                at,
            },
        )
    }

    /// Registers an environment sampling site: a holder, or another place.
    pub async fn create_env_site(&self, actor: &Actor, input: SiteInput) -> Result<SiteRow> {
        may_manage(actor)?;
        let (svc, actor) = (self.clone(), actor.clone());
        let mut e = FieldErrors::default();
        let manual = if input.holder.is_none() {
            let name = e.take(validation::text("name", &input.name, 100));
            let grid = grid_field(&mut e, &input.grid);
            if !is_site_kind(input.kind.trim()) {
                e.push(FieldError::new(
                    "kind",
                    "kind",
                    "类型应为冷库、农贸市场、商超、餐饮或其他场所",
                    "a cold store, market, supermarket, restaurant or other place",
                ));
            }
            match (name, grid) {
                (Some(n), Some(g)) if e.is_empty() => {
                    if !g.starts_with(actor.scope()) {
                        return Err(Error::NotFound);
                    }
                    Some((n, g, input.kind.trim().to_string()))
                }
                _ => return Err(e.into()),
            }
        } else {
            None
        };
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let (name, grid, kind) = match (input.holder, manual) {
                        (Some(h), _) => {
                            let h = store::holder_in(c, h, actor.scope())
                                .await?
                                .ok_or(Error::NotFound)?;
                            (h.name, h.region, h.kind)
                        }
                        (None, Some(m)) => m,
                        (None, None) => unreachable!("checked above"),
                    };
                    if repo::region(c, &grid).await?.is_none() {
                        return Err(Error::field(
                            "grid",
                            "unknown",
                            "网格不存在",
                            "no such grid",
                        ));
                    }
                    let id = store::insert_site(
                        c,
                        &name,
                        &grid,
                        &kind,
                        input.holder,
                        &actor.username,
                        now,
                    )
                    .await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "env_site_created",
                        &json!({"site": id, "kind": kind}),
                    )
                    .await?;
                    store::site_in(c, id, "").await?.ok_or(Error::NotFound)
                })
            })
            .await
    }

    /// Sites of the actor's region due for an environment sample on `on`.
    pub async fn env_sampling_due(&self, actor: &Actor, on: Option<Date>) -> Result<Vec<DueSite>> {
        let on = on.unwrap_or_else(|| self.clock.today());
        let mut c = self.db.pool().acquire().await?;
        Ok(store::sites(&mut c, actor.scope())
            .await?
            .into_iter()
            .filter_map(|s| {
                let every = self.policy.goods.every_days(&s.kind);
                let last = s.last_sampled_on.as_deref().and_then(|d| d.parse().ok());
                sample_due(every, last, on).then_some(DueSite {
                    site: s,
                    every_days: every,
                })
            })
            .collect())
    }

    /// Records an environment sample; a positive at a holder starts a
    /// trace-back from that holder along every batch that passed through it.
    pub async fn record_env_sample(
        &self,
        actor: &Actor,
        site: i64,
        input: SampleInput,
    ) -> Result<SampleRecorded> {
        may_manage(actor)?;
        let mut e = FieldErrors::default();
        let result = result_field(&mut e, &input.result);
        let on = match input.sampled_on.trim().parse::<Date>() {
            Ok(d) if d <= self.clock.today() => Some(d),
            _ => {
                e.push(FieldError::new(
                    "sampled_on",
                    "date",
                    "采样日期应为今天或之前，如 2022-01-27",
                    "a date no later than today, like 2022-01-27",
                ));
                None
            }
        };
        e.into_result(())?;
        let (result, on) = (result.expect("checked"), on.expect("checked"));
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let s = store::site_in(c, site, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    let id = store::insert_sample(
                        c,
                        s.id,
                        &on.to_string(),
                        result,
                        &actor.username,
                        now,
                    )
                    .await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        None,
                        None,
                        "env_sampled",
                        &json!({"site": s.id, "sample": id, "result": result}),
                    )
                    .await?;
                    let trace_back = match (result, s.holder_id) {
                        ("positive", Some(h)) => {
                            let movements: Vec<(i64, i64)> = store::movements_through(c, h)
                                .await?
                                .iter()
                                .map(|m| (m.from_holder, m.to_holder))
                                .collect();
                            let why = format!("{}环境样本阳性", s.name);
                            Some(
                                svc.trace_back(c, &actor, None, Some(id), h, &movements, &why, now)
                                    .await?,
                            )
                        }
                        _ => None,
                    };
                    Ok(SampleRecorded { id, trace_back })
                })
            })
            .await
    }
}

/// One row of an office's batch file, as read.
#[derive(Debug, Clone, Default)]
pub struct BatchFileRow {
    pub trace_code: String,
    pub product: String,
    pub origin: String,
    /// The holder's name, in `grid`.
    pub holder: String,
    pub grid: String,
    pub quantity: String,
    pub inspection: String,
    pub nucleic_acid: String,
    pub disinfection: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchImportReport {
    pub loaded: usize,
    pub warehouse_jobs: usize,
    /// (row number under the header, errors).
    pub refused: Vec<(usize, Vec<FieldError>)>,
}

/// A certificate cell: 是/有/yes/1/true hold it; anything else does not.
fn held(cell: &str) -> bool {
    matches!(
        cell.trim().to_ascii_lowercase().as_str(),
        "是" | "有" | "yes" | "y" | "1" | "true"
    )
}

impl Services {
    /// Registers the batches of an office's file, each row on its own: good
    /// rows load (and book the warehouse as a typed batch would), bad rows
    /// are refused with their row numbers and store nothing.
    pub async fn import_batches(
        &self,
        actor: &Actor,
        rows: Vec<BatchFileRow>,
    ) -> Result<BatchImportReport> {
        may_manage(actor)?;
        let mut report = BatchImportReport {
            loaded: 0,
            warehouse_jobs: 0,
            refused: Vec::new(),
        };
        let holders = self.goods_holders(actor).await?;
        for (i, r) in rows.into_iter().enumerate() {
            let holder = holders
                .iter()
                .find(|h| h.name == r.holder.trim() && h.region == r.grid.trim());
            let quantity = r.quantity.trim().parse::<i64>().ok();
            let (Some(h), Some(quantity)) = (holder, quantity) else {
                let mut e = Vec::new();
                if holder.is_none() {
                    e.push(FieldError::new(
                        "holder",
                        "unknown",
                        "本辖区该网格无此持有单位",
                        "no such holder in that grid of your region",
                    ));
                }
                if quantity.is_none() {
                    e.push(FieldError::new(
                        "quantity",
                        "quantity",
                        "数量应为整数",
                        "a whole number",
                    ));
                }
                report.refused.push((i + 1, e));
                continue;
            };
            let input = BatchInput {
                trace_code: r.trace_code,
                product: r.product,
                origin: r.origin,
                holder: h.id,
                quantity,
                certificates: CertificatesInput {
                    inspection: held(&r.inspection),
                    nucleic_acid: held(&r.nucleic_acid),
                    disinfection: held(&r.disinfection),
                },
            };
            match self.register_batch(actor, input).await {
                Ok(b) => {
                    report.loaded += 1;
                    report.warehouse_jobs += usize::from(b.warehouse_job.is_some());
                }
                Err(Error::Invalid(x)) => report.refused.push((i + 1, x)),
                Err(other) => return Err(other),
            }
        }
        Ok(report)
    }
}

fn missing_zh(missing: &[&str]) -> String {
    missing
        .iter()
        .map(|m| match *m {
            "inspection" => "检疫证明",
            "nucleic_acid" => "核酸检测证明",
            _ => "消杀证明",
        })
        .collect::<Vec<_>>()
        .join("、")
}
