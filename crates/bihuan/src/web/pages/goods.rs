//! 人物同防 pages: the batches of the area (trace code, origin, certificates,
//! movements between holders), the supervised warehouse's job board (预约 →
//! 采样 → 消杀 → 赋码 → 放行, one button per step) and the cold-chain
//! cohort's 不宜上岗 list. Same use cases as /api/v1/goods.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Form, Router};
use bihuan_domain::goods::JobState;
use serde::Deserialize;

use super::forms::Pairs;
use super::{
    Base, Lang, OrPage, PageActor, PageResult, check_csrf, no_store, ok, see_other, with_base,
};
use crate::web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/goods", get(batches))
        .route("/goods/jobs", get(jobs))
        .route("/goods/jobs/{id}/advance", post(advance))
        .route("/goods/unfit", get(unfit))
}

pub struct MoveItem {
    pub from: String,
    pub to: String,
    pub quantity: i64,
    pub at: String,
}

pub struct BatchItem {
    pub id: i64,
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
        .map(|(b, moves)| BatchItem {
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
        })
        .collect();
    let page = BatchesPage {
        base: Base::new(l, t.gd_title, "/goods").signed_in(&actor),
        items,
        jobs_href: l.link("/goods/jobs"),
        unfit_href: l.link("/goods/unfit"),
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
