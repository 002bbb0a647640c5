//! 卡口 pages: a checkpoint worker records a passage (a walker, or a plate
//! with its travellers) through the same `record_passage` as the API; the
//! day's passages with the xlsx link; and the destination's 转运 hand-over
//! board, one button per step (待接收 → 已派车 → 已接到 → 已交接).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form, Router};
use bihuan_domain::access::Role;
use bihuan_domain::checkpoint::{Decision, HandoverState};
use serde::Deserialize;

use super::forms::{FormErrors, Pairs};
use super::{
    Base, Lang, OrPage, PageActor, PageError, PageResult, check_csrf, no_store, ok, render,
    see_other, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::checkpoints::{AdvanceInput, OriginInput, PassageInput, TravellerInput};
use crate::usecases::declare::DestinationInput;
use crate::usecases::pharmacy::PurchaseSource;
use crate::web::AppState;

/// Traveller rows the form offers (a car's occupants; empty rows are skipped).
pub const TRAVELLER_ROWS: usize = 3;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/checkpoints", get(checkpoint_page))
        .route("/checkpoints/passages", post(record))
        .route("/transfers", get(transfers))
        .route("/transfers/{id}/advance", post(advance))
}

#[derive(Default, Clone)]
pub struct TravellerRow {
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub county: String,
    pub township: String,
    pub country: String,
    pub health_code: String,
    pub trip_star: bool,
    pub negative_48h: bool,
    pub village: String,
    pub address: String,
    pub decision: String,
}

impl TravellerRow {
    fn is_empty(&self) -> bool {
        [
            &self.id_number,
            &self.name,
            &self.phone,
            &self.county,
            &self.village,
            &self.address,
            &self.decision,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }
}

#[derive(Default)]
pub struct PassageForm {
    pub passage_id: String,
    pub checkpoint: String,
    pub plate: String,
    pub rows: Vec<TravellerRow>,
}

impl PassageForm {
    fn blank(checkpoint: Option<i64>) -> Self {
        PassageForm {
            passage_id: crate::crypto::token(12),
            checkpoint: checkpoint.map(|c| c.to_string()).unwrap_or_default(),
            plate: String::new(),
            rows: vec![TravellerRow::default(); TRAVELLER_ROWS],
        }
    }

    fn from_pairs(p: &Pairs) -> Self {
        let rows = (0..TRAVELLER_ROWS)
            .map(|i| {
                let g = |k: &str| p.get(&format!("travellers_{i}_{k}"));
                TravellerRow {
                    id_type: g("id_type"),
                    id_number: g("id_number"),
                    name: g("name"),
                    phone: g("phone"),
                    county: g("origin_county"),
                    township: g("origin_township"),
                    country: g("origin_country"),
                    health_code: g("health_code"),
                    trip_star: g("trip_star") == "1",
                    negative_48h: g("negative_48h") == "1",
                    village: g("destination_village"),
                    address: g("destination_address"),
                    decision: g("decision"),
                }
            })
            .collect();
        PassageForm {
            passage_id: p.get("passage_id"),
            checkpoint: p.get("checkpoint"),
            plate: p.get("plate"),
            rows,
        }
    }

    /// The use case's input; `rows` maps each traveller back to its form row.
    fn to_input(&self) -> (PassageInput, Vec<usize>) {
        let opt = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_string())
        };
        let mut rows = Vec::new();
        let travellers = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_empty())
            .map(|(i, r)| {
                rows.push(i);
                TravellerInput {
                    id_type: r.id_type.clone(),
                    id_number: r.id_number.clone(),
                    name: r.name.clone(),
                    phone: r.phone.clone(),
                    origin: OriginInput {
                        county: r.county.clone(),
                        township: opt(&r.township),
                        country: opt(&r.country),
                    },
                    health_code: r.health_code.clone(),
                    trip_star: r.trip_star,
                    negative_48h: r.negative_48h,
                    destination: DestinationInput {
                        village: r.village.clone(),
                        address: r.address.clone(),
                    },
                    decision: r.decision.clone(),
                }
            })
            .collect();
        (
            PassageInput {
                passage_id: self.passage_id.clone(),
                // Not a number: no checkpoint, which answers as unknown.
                checkpoint: self.checkpoint.trim().parse().unwrap_or(0),
                plate: opt(&self.plate),
                travellers,
            },
            rows,
        )
    }
}

/// `travellers.{i}.x.y` as the form's `travellers_{row}_x_y`.
fn html_key(field: &str, rows: &[usize]) -> String {
    let parts: Vec<&str> = field.split('.').collect();
    match parts.as_slice() {
        ["travellers", i, rest @ ..] if !rest.is_empty() => {
            let row = i
                .parse::<usize>()
                .ok()
                .and_then(|i| rows.get(i).copied())
                .unwrap_or(0);
            format!("travellers_{row}_{}", rest.join("_"))
        }
        _ => parts.join("_"),
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

pub struct LineItem {
    pub time: String,
    pub checkpoint: String,
    pub plate: String,
    pub name: String,
    pub doc: String,
    pub origin: String,
    pub destination: String,
    pub decision: &'static str,
    pub declared: &'static str,
}

#[derive(Template)]
#[template(path = "checkpoint.html")]
struct CheckpointPage {
    base: Base,
    flash: Option<String>,
    checkpoints: Vec<Choice>,
    f: PassageForm,
    errors: FormErrors,
    action: String,
    csrf: String,
    doc_types: Vec<(&'static str, &'static str)>,
    codes: Vec<(&'static str, &'static str)>,
    decisions: Vec<(&'static str, &'static str)>,
    villages: Vec<(String, String)>,
    day: String,
    lines: Vec<LineItem>,
    xlsx_href: Option<String>,
}
with_base!(CheckpointPage);

impl CheckpointPage {
    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
    fn row_err(&self, i: impl std::fmt::Display, key: &str) -> Option<String> {
        self.errors.get(&format!("travellers_{i}_{key}"))
    }
    /// Errors not shown by a field of their own.
    fn loose(&self) -> Vec<String> {
        let shown = [
            "passage_id",
            "checkpoint",
            "plate",
            "travellers",
            "id_type",
            "id_number",
            "name",
            "phone",
            "origin_county",
            "origin_township",
            "origin_country",
            "health_code",
            "destination_village",
            "destination_address",
            "decision",
        ];
        self.errors
            .0
            .iter()
            .filter(|e| {
                let k = e.key.as_str();
                let bare = k
                    .strip_prefix("travellers_")
                    .and_then(|r| r.split_once('_'))
                    .map_or(k, |(_, rest)| rest);
                !shown.contains(&bare) && !shown.contains(&k)
            })
            .map(|e| {
                format!(
                    "{}{}{}",
                    self.l.field_label(&e.key),
                    self.t.colon,
                    e.message
                )
            })
            .collect()
    }
}

fn decision_label(l: Lang, d: &str) -> &'static str {
    Decision::parse(d).map_or("", |d| l.pick(d.label_zh(), d.label_en()))
}

#[derive(Deserialize, Default)]
pub struct CheckpointQuery {
    #[serde(default)]
    checkpoint: Option<i64>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    recorded: Option<usize>,
}

async fn checkpoint_page_of(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    f: PassageForm,
    errors: FormErrors,
    q: &CheckpointQuery,
) -> Result<CheckpointPage, PageError> {
    let t = l.t();
    let cps = s.services.checkpoints(actor).await.or_page(l)?;
    let day = match q.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => bihuan_domain::validation::date("date", d)
            .map_err(|e| Error::from(bihuan_domain::validation::FieldErrors(vec![e])))
            .or_page(l)?,
        None => s.services.clock.today(),
    };
    let names = super::staff::region_names(s, l).await?;
    let lines = s
        .services
        .passages_of_day(actor, day)
        .await
        .or_page(l)?
        .into_iter()
        .map(|r| LineItem {
            time: super::shanghai_time(r.at),
            checkpoint: r.checkpoint,
            plate: r.plate.unwrap_or_default(),
            name: bihuan_domain::identity::mask_name(&r.name),
            doc: r.doc_masked,
            origin: r.origin,
            destination: super::staff::region_words(l, &names, &r.village),
            decision: decision_label(l, &r.decision),
            declared: match (r.declaration_id, r.on_behalf) {
                (Some(_), true) => t.cp_on_behalf,
                (Some(_), false) => t.cp_declared,
                (None, _) => t.cp_undeclared,
            },
        })
        .collect();
    let towns = s.services.villages_by_town().await.or_page(l)?;
    let villages = towns
        .into_iter()
        .flat_map(|g| {
            let town = g.name;
            g.villages
                .into_iter()
                .map(move |v| (v.code, format!("{town} · {}", v.name)))
        })
        .collect();
    use bihuan_domain::identity::DocumentType as D;
    Ok(CheckpointPage {
        base: Base::new(l, t.cp_title, "/checkpoints").signed_in(actor),
        flash: q.recorded.map(|n| format!("{}{n}", t.cp_recorded)),
        checkpoints: cps
            .into_iter()
            .filter(|v| v.state == "approved")
            .map(|v| Choice {
                value: v.id.to_string(),
                label: v.name,
            })
            .collect(),
        f,
        errors,
        action: l.link("/checkpoints/passages"),
        csrf: actor.csrf.clone(),
        doc_types: D::ALL
            .into_iter()
            .map(|d| (d.as_str(), l.pick(d.label_zh(), d.label_en())))
            .collect(),
        codes: vec![
            ("green", t.cp_code_green),
            ("yellow", t.cp_code_yellow),
            ("red", t.cp_code_red),
        ],
        decisions: Decision::ALL
            .into_iter()
            .map(|d| (d.as_str(), l.pick(d.label_zh(), d.label_en())))
            .collect(),
        villages,
        xlsx_href: matches!(actor.role, Role::Town | Role::Command)
            .then(|| format!("/api/v1/checkpoint-passages.xlsx?date={day}")),
        day: day.to_string(),
        lines,
    })
}

pub async fn checkpoint_page(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<CheckpointQuery>,
) -> PageResult {
    let page = checkpoint_page_of(
        &s,
        l,
        &actor,
        PassageForm::blank(q.checkpoint),
        FormErrors::default(),
        &q,
    )
    .await?;
    Ok(no_store(ok(&page)))
}

pub async fn record(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let f = PassageForm::from_pairs(&pairs);
    let (input, rows) = f.to_input();
    let checkpoint = input.checkpoint;
    match s
        .services
        .record_passage(&PurchaseSource::Staff(actor.clone()), input)
        .await
    {
        Ok(r) => Ok(see_other(&l.link(&format!(
            "/checkpoints?checkpoint={checkpoint}&recorded={}",
            r.travellers.len()
        )))),
        Err(Error::Invalid(errors)) => {
            let shown = FormErrors(
                FormErrors::of(&errors, l, &[])
                    .0
                    .into_iter()
                    .zip(&errors)
                    .map(|(mut e, fe)| {
                        e.key = html_key(&fe.field, &rows);
                        e
                    })
                    .collect(),
            );
            let q = CheckpointQuery::default();
            let page = checkpoint_page_of(&s, l, &actor, f, shown, &q).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// The 转运 hand-over board.

pub struct TransferItem {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub grid: String,
    pub state: String,
    pub state_label: &'static str,
    pub next_label: Option<&'static str>,
    pub next: String,
    pub action: String,
    pub due: String,
    pub overdue: bool,
    pub checkpoint: String,
    pub plate: String,
    pub address: String,
}

#[derive(Template)]
#[template(path = "transfers.html")]
struct TransfersPage {
    base: Base,
    items: Vec<TransferItem>,
    csrf: String,
    flash: Option<&'static str>,
}
with_base!(TransfersPage);

/// The button that takes a hand-over to `to`, in the worker's words.
fn step_label(l: Lang, to: HandoverState) -> &'static str {
    let t = l.t();
    match to {
        HandoverState::Dispatched => t.cp_do_dispatch,
        HandoverState::PickedUp => t.cp_do_pick_up,
        HandoverState::HandedOver => t.cp_do_hand_over,
        HandoverState::Pending => "",
    }
}

#[derive(Deserialize, Default)]
pub struct TransfersQuery {
    #[serde(default)]
    done: Option<i64>,
}

pub async fn transfers(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<TransfersQuery>,
) -> PageResult {
    let t = l.t();
    let names = super::staff::region_names(&s, l).await?;
    let items = s
        .services
        .transfers_out(&actor)
        .await
        .or_page(l)?
        .into_iter()
        .map(|v| {
            let state = HandoverState::parse(&v.state).unwrap_or(HandoverState::Pending);
            let next = state.next();
            TransferItem {
                id: v.id,
                name: v.name,
                phone: v.phone,
                grid: super::staff::region_words(l, &names, &v.grid),
                state_label: l.pick(v.state_zh, v.state_en),
                state: v.state,
                next_label: next.map(|n| step_label(l, n)),
                next: next.map(|n| n.as_str().to_string()).unwrap_or_default(),
                action: l.link(&format!("/transfers/{}/advance", v.id)),
                due: super::shanghai_time(v.due_at),
                overdue: v.overdue,
                checkpoint: v.checkpoint,
                plate: v.plate.unwrap_or_default(),
                address: v.address,
            }
        })
        .collect();
    let page = TransfersPage {
        base: Base::new(l, t.cp_transfers_title, "/transfers").signed_in(&actor),
        items,
        csrf: actor.csrf.clone(),
        flash: q.done.map(|_| t.cp_step_done),
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
        .advance_transfer(
            &actor,
            id,
            AdvanceInput {
                to: pairs.get("to"),
            },
        )
        .await
        .or_page(l)?;
    Ok(see_other(&format!(
        "{}#transfer-{id}",
        l.link(&format!("/transfers?done={id}"))
    )))
}
