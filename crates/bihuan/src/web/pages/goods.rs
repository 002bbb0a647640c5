//! 人物同防 pages: the batches of the area (trace code, origin, certificates,
//! movements between holders), the supervised warehouse's job board (预约 →
//! 采样 → 消杀 → 赋码 → 放行, one button per step) and the cold-chain
//! cohort's 不宜上岗 list. Same use cases as /api/v1/goods.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form, Router};
use bihuan_domain::goods::JobState;
use serde::Deserialize;

use super::forms::{FormErrors, Pairs};
use super::{
    Base, Lang, OrPage, PageActor, PageError, PageResult, check_csrf, no_store, ok, render,
    see_other, with_base,
};
use crate::error::Error;
use crate::storage::goods::{BatchRow, MovementRow};
use crate::usecases::Actor;
use crate::usecases::goods::{
    BatchInput, CertificatesInput, HolderInput, MovementInput, ResultInput, SampleInput, SiteInput,
};
use crate::web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/goods", get(batches))
        .route("/goods/jobs", get(jobs))
        .route("/goods/jobs/{id}/advance", post(advance))
        .route("/goods/unfit", get(unfit))
        .route("/goods/new", get(new_page))
        .route("/goods/holders", post(create_holder))
        .route("/goods/batches", post(register_batch))
        .route("/goods/batches/{id}", get(batch_page))
        .route("/goods/batches/{id}/movements", post(record_movement))
        .route("/goods/batches/{id}/result", post(record_result))
        .route("/goods/trace-backs/{id}", get(trace_back_page))
        .route("/goods/env", get(env_page))
        .route("/goods/env/sites", post(create_site))
        .route("/goods/env/sites/{id}/samples", post(record_sample))
}

pub struct MoveItem {
    pub from: String,
    pub to: String,
    pub quantity: i64,
    pub at: String,
}

pub struct BatchItem {
    pub id: i64,
    pub href: String,
    pub trace_code: String,
    pub product: String,
    pub origin: String,
    pub holder: String,
    pub quantity: i64,
    pub inspection: bool,
    pub nucleic_acid: bool,
    pub disinfection: bool,
    pub result: Option<&'static str>,
    pub positive: bool,
    pub moves: Vec<MoveItem>,
}

#[derive(Template)]
#[template(path = "goods.html")]
struct BatchesPage {
    base: Base,
    items: Vec<BatchItem>,
    jobs_href: String,
    unfit_href: String,
    new_href: String,
    env_href: String,
    may_record: bool,
}
with_base!(BatchesPage);

pub async fn batches(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
) -> PageResult {
    let t = l.t();
    let holders: HashMap<i64, String> = s
        .services
        .goods_holders(&actor)
        .await
        .or_page(l)?
        .into_iter()
        .map(|h| (h.id, h.name))
        .collect();
    let name = |id: i64| {
        holders
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    };
    let items = s
        .services
        .goods_batches_with_movements(&actor)
        .await
        .or_page(l)?
        .into_iter()
        .map(|(b, moves)| batch_item(l, b, moves, &name))
        .collect();
    let page = BatchesPage {
        base: Base::new(l, t.gd_title, "/goods").signed_in(&actor),
        items,
        jobs_href: l.link("/goods/jobs"),
        unfit_href: l.link("/goods/unfit"),
        new_href: l.link("/goods/new"),
        env_href: l.link("/goods/env"),
        may_record: actor.role.can_review(),
    };
    Ok(no_store(ok(&page)))
}

pub struct JobItem {
    pub id: i64,
    pub trace_code: String,
    pub product: String,
    pub reason: String,
    pub state: String,
    pub state_label: &'static str,
    /// The steps, each marked done or not, for the progress line.
    pub steps: Vec<(&'static str, bool)>,
    pub next: Option<(String, &'static str)>,
    pub action: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "goods_jobs.html")]
struct JobsPage {
    base: Base,
    items: Vec<JobItem>,
    csrf: String,
    may_move: bool,
    flash: Option<&'static str>,
    back: String,
}
with_base!(JobsPage);

#[derive(Deserialize, Default)]
pub struct JobsQuery {
    #[serde(default)]
    done: Option<i64>,
}

pub async fn jobs(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<JobsQuery>,
) -> PageResult {
    let t = l.t();
    let label = |j: JobState| l.pick(j.label_zh(), j.label_en());
    let items = s
        .services
        .warehouse_jobs(&actor)
        .await
        .or_page(l)?
        .into_iter()
        .map(|j| {
            let state = JobState::parse(&j.state).unwrap_or(JobState::Booked);
            let at = JobState::ALL.iter().position(|x| *x == state).unwrap_or(0);
            JobItem {
                id: j.id,
                trace_code: j.trace_code,
                product: j.product,
                reason: j.reason,
                state_label: label(state),
                steps: JobState::ALL
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (label(*x), i <= at))
                    .collect(),
                next: state.next().map(|n| (n.as_str().to_string(), label(n))),
                action: l.link(&format!("/goods/jobs/{}/advance", j.id)),
                updated: super::shanghai_time(j.updated_at),
                state: j.state,
            }
        })
        .collect();
    let page = JobsPage {
        base: Base::new(l, t.gd_jobs_title, "/goods/jobs").signed_in(&actor),
        items,
        csrf: actor.csrf.clone(),
        may_move: actor.role.can_review(),
        flash: q.done.map(|_| t.gd_step_done),
        back: l.link("/goods"),
    };
    Ok(no_store(ok(&page)))
}

pub async fn advance(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    s.services
        .advance_warehouse_job(&actor, id, &pairs.get("to"))
        .await
        .or_page(l)?;
    Ok(see_other(&format!(
        "{}#job-{id}",
        l.link(&format!("/goods/jobs?done={id}"))
    )))
}

pub struct UnfitItem {
    pub holder: String,
    pub name: String,
    pub last_negative: String,
}

#[derive(Template)]
#[template(path = "goods_unfit.html")]
struct UnfitPage {
    base: Base,
    items: Vec<UnfitItem>,
    back: String,
}
with_base!(UnfitPage);

pub async fn unfit(State(s): State<AppState>, l: Lang, PageActor(actor): PageActor) -> PageResult {
    let t = l.t();
    let items = s
        .services
        .unfit_workers(&actor)
        .await
        .or_page(l)?
        .into_iter()
        .map(|(h, w)| UnfitItem {
            holder: h.name,
            name: bihuan_domain::identity::mask_name(&w.name),
            last_negative: w.last_negative.unwrap_or_else(|| t.gd_never.to_string()),
        })
        .collect();
    let page = UnfitPage {
        base: Base::new(l, t.gd_unfit_title, "/goods/unfit").signed_in(&actor),
        items,
        back: l.link("/goods"),
    };
    Ok(no_store(ok(&page)))
}

// ---------------------------------------------------------------------------
// Recording on a phone: holders, batches, movements, test results and
// environment samples, through the same use cases as /api/v1/goods.

/// The kinds a holder (and a sampling site, with 其他场所) may be.
fn kind_choices(l: Lang, with_place: bool) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<_> = bihuan_domain::goods::HOLDER_KINDS
        .iter()
        .map(|(k, zh, en)| (*k, l.pick(zh, en)))
        .collect();
    if with_place {
        out.push(("place", l.t().gr_kind_place));
    }
    out
}

fn kind_label(l: Lang, kind: &str) -> &'static str {
    kind_choices(l, true)
        .into_iter()
        .find(|(k, _)| *k == kind)
        .map_or("", |(_, label)| label)
}

/// A use case's field errors as the form shows them; anything else as the
/// error page.
fn shown(e: Error, l: Lang) -> Result<FormErrors, PageError> {
    match e {
        Error::Invalid(errors) => Ok(FormErrors::of(&errors, l, &[])),
        e => Err(e).or_page(l),
    }
}

/// Errors no field of the form shows.
fn loose(l: Lang, errors: &FormErrors, fields: &[&str]) -> Vec<String> {
    errors
        .0
        .iter()
        .filter(|e| !fields.contains(&e.key.as_str()))
        .map(|e| format!("{}{}{}", l.field_label(&e.key), l.t().colon, e.message))
        .collect()
}

/// A holder picked from a select: an empty pick is a field error (the
/// select's `required` stops it in a browser), anything else goes to the use
/// case, which answers another region's or a made-up id as not found.
fn picked(e: &mut Vec<bihuan_domain::validation::FieldError>, field: &str, raw: &str) -> i64 {
    let raw = raw.trim();
    if raw.is_empty() {
        e.push(bihuan_domain::validation::FieldError::new(
            field,
            "required",
            "请选择单位",
            "choose a holder",
        ));
    }
    raw.parse().unwrap_or(0)
}

fn refuse_unless_manager(actor: &Actor, l: Lang) -> Result<(), PageError> {
    if actor.role.can_review() {
        Ok(())
    } else {
        Err(Error::Forbidden).or_page(l)
    }
}

#[derive(Default)]
pub struct HolderForm {
    pub name: String,
    pub grid: String,
    pub kind: String,
}

#[derive(Default)]
pub struct BatchForm {
    pub trace_code: String,
    pub product: String,
    pub origin: String,
    pub holder: String,
    pub quantity: String,
    pub inspection: bool,
    pub nucleic_acid: bool,
    pub disinfection: bool,
}

#[derive(Template)]
#[template(path = "goods_new.html")]
struct NewPage {
    base: Base,
    csrf: String,
    back: String,
    holder_action: String,
    batch_action: String,
    flash: Option<&'static str>,
    kinds: Vec<(&'static str, &'static str)>,
    holders: Vec<(String, String)>,
    hf: HolderForm,
    he: FormErrors,
    bf: BatchForm,
    be: FormErrors,
}
with_base!(NewPage);

impl NewPage {
    fn herr(&self, key: &str) -> Option<String> {
        self.he.get(key)
    }
    fn berr(&self, key: &str) -> Option<String> {
        self.be.get(key)
    }
    fn holder_loose(&self) -> Vec<String> {
        loose(self.l, &self.he, &["name", "grid", "kind"])
    }
    fn batch_loose(&self) -> Vec<String> {
        loose(
            self.l,
            &self.be,
            &["trace_code", "product", "origin", "holder", "quantity"],
        )
    }
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    holder: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
async fn new_page_of(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    hf: HolderForm,
    he: FormErrors,
    bf: BatchForm,
    be: FormErrors,
    flash: Option<&'static str>,
) -> Result<NewPage, PageError> {
    let t = l.t();
    let holders = s
        .services
        .goods_holders(actor)
        .await
        .or_page(l)?
        .into_iter()
        .map(|h| {
            let label = format!("{}（{}）", h.name, kind_label(l, &h.kind));
            (h.id.to_string(), label)
        })
        .collect();
    Ok(NewPage {
        base: Base::new(l, t.gr_new_title, "/goods/new").signed_in(actor),
        csrf: actor.csrf.clone(),
        back: l.link("/goods"),
        holder_action: l.link("/goods/holders"),
        batch_action: l.link("/goods/batches"),
        flash,
        kinds: kind_choices(l, false),
        holders,
        hf,
        he,
        bf,
        be,
    })
}

pub async fn new_page(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<NewQuery>,
) -> PageResult {
    refuse_unless_manager(&actor, l)?;
    let bf = BatchForm {
        holder: q.holder.map(|h| h.to_string()).unwrap_or_default(),
        ..BatchForm::default()
    };
    let flash = q.holder.map(|_| l.t().gr_holder_added);
    let page = new_page_of(
        &s,
        l,
        &actor,
        HolderForm::default(),
        FormErrors::default(),
        bf,
        FormErrors::default(),
        flash,
    )
    .await?;
    Ok(no_store(ok(&page)))
}

pub async fn create_holder(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    refuse_unless_manager(&actor, l)?;
    let hf = HolderForm {
        name: pairs.get("name"),
        grid: pairs.get("grid"),
        kind: pairs.get("kind"),
    };
    let input = HolderInput {
        name: hf.name.clone(),
        grid: hf.grid.clone(),
        kind: hf.kind.clone(),
        venue: None,
    };
    match s.services.create_holder(&actor, input).await {
        Ok(h) => Ok(see_other(&l.link(&format!("/goods/new?holder={}", h.id)))),
        Err(e) => {
            let he = shown(e, l)?;
            let page = new_page_of(
                &s,
                l,
                &actor,
                hf,
                he,
                BatchForm::default(),
                FormErrors::default(),
                None,
            )
            .await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
    }
}

pub async fn register_batch(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    refuse_unless_manager(&actor, l)?;
    let bf = BatchForm {
        trace_code: pairs.get("trace_code"),
        product: pairs.get("product"),
        origin: pairs.get("origin"),
        holder: pairs.get("holder"),
        quantity: pairs.get("quantity"),
        inspection: pairs.get("inspection") == "1",
        nucleic_acid: pairs.get("nucleic_acid") == "1",
        disinfection: pairs.get("disinfection") == "1",
    };
    let mut empty = Vec::new();
    let input = BatchInput {
        trace_code: bf.trace_code.clone(),
        product: bf.product.clone(),
        origin: bf.origin.clone(),
        holder: picked(&mut empty, "holder", &bf.holder),
        // Not a number: out of range, which the use case words per field.
        quantity: bf.quantity.trim().parse().unwrap_or(0),
        certificates: CertificatesInput {
            inspection: bf.inspection,
            nucleic_acid: bf.nucleic_acid,
            disinfection: bf.disinfection,
        },
    };
    let done = if empty.is_empty() {
        s.services.register_batch(&actor, input).await
    } else {
        Err(Error::Invalid(empty))
    };
    match done {
        Ok(b) => Ok(see_other(
            &l.link(&format!("/goods/batches/{}?done=registered", b.id)),
        )),
        Err(e) => {
            let be = shown(e, l)?;
            let page = new_page_of(
                &s,
                l,
                &actor,
                HolderForm::default(),
                FormErrors::default(),
                bf,
                be,
                None,
            )
            .await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
    }
}

#[derive(Default)]
pub struct MoveForm {
    pub from: String,
    pub to: String,
    pub quantity: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "goods_batch.html")]
struct BatchPage {
    base: Base,
    b: BatchItem,
    csrf: String,
    back: String,
    may_record: bool,
    flash: Option<&'static str>,
    holders: Vec<(String, String)>,
    move_action: String,
    result_action: String,
    trace_back_href: Option<String>,
    mf: MoveForm,
    me: FormErrors,
    re: FormErrors,
}
with_base!(BatchPage);

impl BatchPage {
    fn merr(&self, key: &str) -> Option<String> {
        self.me.get(key)
    }
    fn move_loose(&self) -> Vec<String> {
        loose(self.l, &self.me, &["from", "to", "quantity", "at"])
    }
    fn result_errors(&self) -> Vec<String> {
        loose(self.l, &self.re, &[])
    }
}

#[derive(Deserialize, Default)]
pub struct BatchQuery {
    #[serde(default)]
    done: Option<String>,
}

/// A batch as the list and its own page show it, holders by name.
fn batch_item(
    l: Lang,
    b: BatchRow,
    moves: Vec<MovementRow>,
    name: &dyn Fn(i64) -> String,
) -> BatchItem {
    let t = l.t();
    BatchItem {
        href: l.link(&format!("/goods/batches/{}", b.id)),
        id: b.id,
        holder: name(b.holder_id),
        trace_code: b.trace_code,
        product: b.product,
        origin: b.origin,
        quantity: b.quantity,
        inspection: b.inspection,
        nucleic_acid: b.nucleic_acid,
        disinfection: b.disinfection,
        positive: b.result.as_deref() == Some("positive"),
        result: b.result.as_deref().map(|r| match r {
            "positive" => t.gd_positive,
            _ => t.gd_negative,
        }),
        moves: moves
            .into_iter()
            .map(|m| MoveItem {
                from: name(m.from_holder),
                to: name(m.to_holder),
                quantity: m.quantity,
                at: super::shanghai_time(m.at),
            })
            .collect(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn batch_page_of(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    id: i64,
    mf: Option<MoveForm>,
    me: FormErrors,
    re: FormErrors,
    done: Option<&str>,
) -> Result<BatchPage, PageError> {
    let t = l.t();
    let (b, moves, trace_back) = s.services.goods_batch(actor, id).await.or_page(l)?;
    let all = s.services.goods_holders(actor).await.or_page(l)?;
    let names: HashMap<i64, String> = all.iter().map(|h| (h.id, h.name.clone())).collect();
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    // The batch is where its last movement took it.
    let here = moves.last().map_or(b.holder_id, |m| m.to_holder);
    let mf = mf.unwrap_or_else(|| MoveForm {
        from: here.to_string(),
        quantity: b.quantity.to_string(),
        ..MoveForm::default()
    });
    let item = batch_item(l, b, moves, &name);
    Ok(BatchPage {
        base: Base::new(l, t.gr_batch_title, &format!("/goods/batches/{id}")).signed_in(actor),
        b: item,
        csrf: actor.csrf.clone(),
        back: l.link("/goods"),
        may_record: actor.role.can_review(),
        flash: match done {
            Some("registered") => Some(t.gr_registered),
            Some("moved") => Some(t.gr_moved),
            Some("tested") => Some(t.gr_tested),
            _ => None,
        },
        holders: all
            .into_iter()
            .map(|h| {
                let label = format!("{}（{}）", h.name, kind_label(l, &h.kind));
                (h.id.to_string(), label)
            })
            .collect(),
        move_action: l.link(&format!("/goods/batches/{id}/movements")),
        result_action: l.link(&format!("/goods/batches/{id}/result")),
        trace_back_href: trace_back.map(|tb| l.link(&format!("/goods/trace-backs/{tb}"))),
        mf,
        me,
        re,
    })
}

pub async fn batch_page(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Query(q): Query<BatchQuery>,
) -> PageResult {
    let page = batch_page_of(
        &s,
        l,
        &actor,
        id,
        None,
        FormErrors::default(),
        FormErrors::default(),
        q.done.as_deref(),
    )
    .await?;
    Ok(no_store(ok(&page)))
}

/// A phone's `datetime-local` (Shanghai time, no zone) as RFC 3339; anything
/// else is passed on for the use case to refuse.
fn local_time(raw: &str) -> Option<String> {
    let raw = raw.trim();
    match raw.len() {
        0 => None,
        16 if raw.as_bytes()[10] == b'T' => Some(format!("{raw}:00+08:00")),
        19 if raw.as_bytes()[10] == b'T' => Some(format!("{raw}+08:00")),
        _ => Some(raw.to_string()),
    }
}

pub async fn record_movement(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    refuse_unless_manager(&actor, l)?;
    let mf = MoveForm {
        from: pairs.get("from"),
        to: pairs.get("to"),
        quantity: pairs.get("quantity"),
        at: pairs.get("at"),
    };
    let mut empty = Vec::new();
    let input = MovementInput {
        from: picked(&mut empty, "from", &mf.from),
        to: picked(&mut empty, "to", &mf.to),
        quantity: mf.quantity.trim().parse().unwrap_or(0),
        at: local_time(&mf.at),
    };
    let done = if empty.is_empty() {
        s.services.record_movement(&actor, id, input).await
    } else {
        Err(Error::Invalid(empty))
    };
    match done {
        Ok(_) => Ok(see_other(&format!(
            "{}#moves",
            l.link(&format!("/goods/batches/{id}?done=moved"))
        ))),
        Err(e) => {
            let me = shown(e, l)?;
            let page =
                batch_page_of(&s, l, &actor, id, Some(mf), me, FormErrors::default(), None).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
    }
}

pub async fn record_result(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    refuse_unless_manager(&actor, l)?;
    let input = ResultInput {
        result: pairs.get("result"),
    };
    match s.services.record_batch_result(&actor, id, input).await {
        Ok(r) => Ok(see_other(&match r.trace_back {
            Some(tb) => l.link(&format!("/goods/trace-backs/{tb}?started=1")),
            None => l.link(&format!("/goods/batches/{id}?done=tested")),
        })),
        Err(e) => {
            let re = shown(e, l)?;
            let page =
                batch_page_of(&s, l, &actor, id, None, FormErrors::default(), re, None).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
    }
}

pub struct SealItem {
    pub holder: String,
    pub kind: &'static str,
    pub grid: String,
    pub due: String,
    pub state: &'static str,
    pub open: bool,
}

#[derive(Template)]
#[template(path = "goods_trace_back.html")]
struct TraceBackPage {
    base: Base,
    id: i64,
    started: bool,
    due: String,
    cause: String,
    cause_href: Option<String>,
    seals: Vec<SealItem>,
    chain: Vec<MoveItem>,
    list_href: Option<String>,
    export_href: String,
}
with_base!(TraceBackPage);

#[derive(Deserialize, Default)]
pub struct TraceBackQuery {
    #[serde(default)]
    started: Option<i64>,
}

pub async fn trace_back_page(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Query(q): Query<TraceBackQuery>,
) -> PageResult {
    let t = l.t();
    let v = s.services.trace_back_view(&actor, id).await.or_page(l)?;
    let names: HashMap<i64, String> = s
        .services
        .goods_holders(&actor)
        .await
        .or_page(l)?
        .into_iter()
        .map(|h| (h.id, h.name))
        .collect();
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    let regions = super::staff::region_names(&s, l).await?;
    let cause = match (v.batch_id, v.chain.first()) {
        (Some(_), Some(m)) => m.trace_code.clone(),
        (Some(b), None) => format!("#{b}"),
        (None, _) => t.gr_env_cause.to_string(),
    };
    let page = TraceBackPage {
        base: Base::new(l, t.gr_trace_title, &format!("/goods/trace-backs/{id}")).signed_in(&actor),
        id: v.id,
        started: q.started.is_some(),
        due: super::shanghai_time(v.due_at),
        cause,
        cause_href: v.batch_id.map(|b| l.link(&format!("/goods/batches/{b}"))),
        seals: v
            .seals
            .into_iter()
            .map(|x| {
                let state = bihuan_domain::task::TaskState::parse(&x.state);
                SealItem {
                    holder: x.holder,
                    kind: kind_label(l, &x.kind),
                    grid: super::staff::region_words(l, &regions, &x.region),
                    due: super::shanghai_time(x.due_at),
                    state: state.map_or("", |st| l.pick(st.label_zh(), st.label_en())),
                    open: x.state != "closed",
                }
            })
            .collect(),
        chain: v
            .chain
            .into_iter()
            .map(|m| MoveItem {
                from: name(m.from_holder),
                to: name(m.to_holder),
                quantity: m.quantity,
                at: super::shanghai_time(m.at),
            })
            .collect(),
        list_href: v.assist_list_id.map(|a| l.link(&format!("/assist/{a}"))),
        export_href: format!("/api/v1/goods/trace-backs/{}/export", v.id),
    };
    Ok(no_store(ok(&page)))
}

// ---------------------------------------------------------------------------
// Environment sampling.

#[derive(Default)]
pub struct SiteForm {
    pub holder: String,
    pub name: String,
    pub grid: String,
    pub kind: String,
}

#[derive(Default)]
pub struct SampleForm {
    pub sampled_on: String,
    pub result: String,
}

pub struct DueItem {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub grid: String,
    pub last: String,
    pub every_days: u32,
    pub action: String,
}

#[derive(Template)]
#[template(path = "goods_env.html")]
struct EnvPage {
    base: Base,
    csrf: String,
    back: String,
    may_record: bool,
    flash: Option<&'static str>,
    trace_back_href: Option<String>,
    today: String,
    due: Vec<DueItem>,
    /// The site whose sample form came back with errors, its values and errors.
    sample: Option<(i64, SampleForm, FormErrors)>,
    site_action: String,
    kinds: Vec<(&'static str, &'static str)>,
    holders: Vec<(String, String)>,
    sf: SiteForm,
    se: FormErrors,
}
with_base!(EnvPage);

impl EnvPage {
    fn serr(&self, key: &str) -> Option<String> {
        self.se.get(key)
    }
    fn site_loose(&self) -> Vec<String> {
        loose(self.l, &self.se, &["holder", "name", "grid", "kind"])
    }
    /// The sample form's errors for `site`, by field.
    fn sample_err(&self, site: &i64, key: &str) -> Option<String> {
        match &self.sample {
            Some((id, _, e)) if id == site => e.get(key),
            _ => None,
        }
    }
    fn sample_loose(&self, site: &i64) -> Vec<String> {
        match &self.sample {
            Some((id, _, e)) if id == site => loose(self.l, e, &["sampled_on", "result"]),
            _ => Vec::new(),
        }
    }
    fn sample_day(&self, site: &i64) -> String {
        match &self.sample {
            Some((id, f, _)) if id == site => f.sampled_on.clone(),
            _ => self.today.clone(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct EnvQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    trace_back: Option<i64>,
}

async fn env_page_of(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    sample: Option<(i64, SampleForm, FormErrors)>,
    sf: SiteForm,
    se: FormErrors,
    q: &EnvQuery,
) -> Result<EnvPage, PageError> {
    let t = l.t();
    let regions = super::staff::region_names(s, l).await?;
    let due = s
        .services
        .env_sampling_due(actor, None)
        .await
        .or_page(l)?
        .into_iter()
        .map(|d| DueItem {
            id: d.site.id,
            kind: kind_label(l, &d.site.kind),
            grid: super::staff::region_words(l, &regions, &d.site.region),
            last: d
                .site
                .last_sampled_on
                .unwrap_or_else(|| t.gd_never.to_string()),
            every_days: d.every_days,
            action: l.link(&format!("/goods/env/sites/{}/samples", d.site.id)),
            name: d.site.name,
        })
        .collect();
    let holders = s
        .services
        .goods_holders(actor)
        .await
        .or_page(l)?
        .into_iter()
        .map(|h| {
            let label = format!("{}（{}）", h.name, kind_label(l, &h.kind));
            (h.id.to_string(), label)
        })
        .collect();
    Ok(EnvPage {
        base: Base::new(l, t.gr_env_title, "/goods/env").signed_in(actor),
        csrf: actor.csrf.clone(),
        back: l.link("/goods"),
        may_record: actor.role.can_review(),
        flash: match q.done.as_deref() {
            Some("site") => Some(t.gr_site_added),
            Some("sampled") => Some(t.gr_sampled),
            _ => None,
        },
        trace_back_href: q
            .trace_back
            .map(|tb| l.link(&format!("/goods/trace-backs/{tb}"))),
        today: s.services.clock.today().to_string(),
        due,
        sample,
        site_action: l.link("/goods/env/sites"),
        kinds: kind_choices(l, true),
        holders,
        sf,
        se,
    })
}

pub async fn env_page(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<EnvQuery>,
) -> PageResult {
    let page = env_page_of(
        &s,
        l,
        &actor,
        None,
        SiteForm::default(),
        FormErrors::default(),
        &q,
    )
    .await?;
    Ok(no_store(ok(&page)))
}

pub async fn create_site(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    refuse_unless_manager(&actor, l)?;
    let sf = SiteForm {
        holder: pairs.get("holder"),
        name: pairs.get("name"),
        grid: pairs.get("grid"),
        kind: pairs.get("kind"),
    };
    let holder = match sf.holder.trim() {
        "" => None,
        // Not a number: no holder, which answers as not found.
        h => Some(h.parse().unwrap_or(0)),
    };
    let input = SiteInput {
        name: sf.name.clone(),
        grid: sf.grid.clone(),
        kind: sf.kind.clone(),
        holder,
    };
    match s.services.create_env_site(&actor, input).await {
        Ok(site) => Ok(see_other(&format!(
            "{}#site-{}",
            l.link("/goods/env?done=site"),
            site.id
        ))),
        Err(e) => {
            let se = shown(e, l)?;
            let q = EnvQuery::default();
            let page = env_page_of(&s, l, &actor, None, sf, se, &q).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
    }
}

pub async fn record_sample(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    refuse_unless_manager(&actor, l)?;
    let f = SampleForm {
        sampled_on: pairs.get("sampled_on"),
        result: pairs.get("result"),
    };
    let input = SampleInput {
        sampled_on: f.sampled_on.clone(),
        result: f.result.clone(),
    };
    match s.services.record_env_sample(&actor, id, input).await {
        Ok(r) => Ok(see_other(&l.link(&match r.trace_back {
            Some(tb) => format!("/goods/env?done=sampled&trace_back={tb}"),
            None => "/goods/env?done=sampled".to_string(),
        }))),
        Err(e) => {
            let errors = shown(e, l)?;
            let q = EnvQuery::default();
            let page = env_page_of(
                &s,
                l,
                &actor,
                Some((id, f, errors)),
                SiteForm::default(),
                FormErrors::default(),
                &q,
            )
            .await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
    }
}
