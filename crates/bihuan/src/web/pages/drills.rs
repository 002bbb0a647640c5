//! 应急演练 for the command: the drills, a start form with the seed's
//! scenario filled in, and each drill's after-action report with end and
//! purge. The same use cases as /api/v1/drills.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bihuan_domain::drill::{AfterAction, SEED_SCRIPT, Verdict};
use serde::Deserialize;

use super::forms::FormErrors;
use super::{
    Base, Lang, OrPage, PageActor, PageResult, check_csrf, no_store, ok, render, see_other,
    shanghai_time, with_base,
};
use crate::error::Error;
use crate::storage::drill::DrillRow;
use crate::usecases::Actor;
use crate::usecases::drill::DrillReport;
use crate::web::AppState;

pub struct DrillItem {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub mode: &'static str,
    pub started_at: String,
    pub state: &'static str,
    pub href: String,
}

fn item(l: Lang, d: &DrillRow) -> DrillItem {
    let t = l.t();
    DrillItem {
        id: d.id,
        name: d.name.clone(),
        kind: match d.kind.as_str() {
            "tabletop" => t.dr_tabletop,
            "full_scale" => t.dr_full_scale,
            _ => t.dr_functional,
        }
        .to_string(),
        mode: if d.announced {
            t.dr_announced
        } else {
            t.dr_blind
        },
        started_at: shanghai_time(d.started_at),
        state: match (d.ended_at, d.purged_at) {
            (_, Some(_)) => t.dr_purged,
            (Some(_), None) => t.dr_ended,
            _ => t.dr_running,
        },
        href: l.link(&format!("/drills/{}", d.id)),
    }
}

#[derive(Template)]
#[template(path = "drills.html")]
struct DrillsPage {
    base: Base,
    drills: Vec<DrillItem>,
    csrf: String,
    action: String,
    script: String,
    errors: FormErrors,
}
with_base!(DrillsPage);

impl DrillsPage {
    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
}

async fn list_page(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    script: String,
    errors: FormErrors,
) -> Result<DrillsPage, super::PageError> {
    let rows = s.services.drills(actor).await.or_page(l)?;
    Ok(DrillsPage {
        base: Base::new(l, l.t().dr_title, "/drills").signed_in(actor),
        drills: rows.iter().map(|d| item(l, d)).collect(),
        csrf: actor.csrf.clone(),
        action: l.link("/drills"),
        script,
        errors,
    })
}

pub async fn drills(State(s): State<AppState>, actor: PageActor, l: Lang) -> PageResult {
    let page = list_page(
        &s,
        l,
        &actor,
        SEED_SCRIPT.to_string(),
        FormErrors::default(),
    )
    .await?;
    Ok(no_store(ok(&page)))
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    script: String,
}

pub async fn start(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Form(f): Form<StartForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    match s.services.start_drill(&actor, &f.script).await {
        Ok(started) => Ok(see_other(&l.link(&format!("/drills/{}", started.id)))),
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let page = list_page(&s, l, &actor, f.script, errors).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

pub struct StepItem {
    pub label: String,
    pub allowed: String,
    pub met: usize,
    pub missed: usize,
    pub pending: usize,
    pub overdue: usize,
    pub median: String,
    pub worst: String,
}

pub struct Cell {
    pub took: String,
    pub verdict: &'static str,
    pub label: &'static str,
}

pub struct ThreadItem {
    pub name: String,
    pub signal_at: String,
    pub cells: Vec<Cell>,
    pub total: String,
}

#[derive(Template)]
#[template(path = "drill.html")]
struct DrillPage {
    base: Base,
    d: DrillItem,
    running: bool,
    purged: bool,
    records: [i64; 3],
    steps: Vec<StepItem>,
    threads: Vec<ThreadItem>,
    bottleneck: Option<String>,
    csrf: String,
    end_action: String,
    purge_action: String,
}
with_base!(DrillPage);

/// "2小时30分" / "2 h 30 min".
fn span(l: Lang, seconds: Option<i64>) -> String {
    let t = l.t();
    match seconds {
        Some(s) => format!("{}{}{}{}", s / 3600, t.dr_h, s % 3600 / 60, t.dr_min),
        None => "—".into(),
    }
}

fn report_page(s: &AppState, l: Lang, actor: &Actor, r: DrillReport) -> DrillPage {
    let t = l.t();
    let rule = &s.services.policy.drill;
    let label = |step: &str| {
        rule.steps
            .iter()
            .find(|x| x.name == step)
            .map(|x| match l {
                Lang::Zh => x.label_zh.clone(),
                Lang::En => x.label_en.clone(),
            })
            .unwrap_or_else(|| step.to_string())
    };
    let AfterAction {
        threads,
        steps,
        bottleneck,
    } = r.report;
    DrillPage {
        base: Base::new(l, format!("{} #{}", t.dr_report, r.drill.id), "/drills").signed_in(actor),
        running: r.drill.ended_at.is_none(),
        purged: r.drill.purged_at.is_some(),
        d: item(l, &r.drill),
        records: r.records,
        steps: steps
            .iter()
            .map(|x| StepItem {
                label: label(&x.step),
                allowed: span(l, Some(x.allowed)),
                met: x.met,
                missed: x.missed,
                pending: x.pending,
                overdue: x.overdue,
                median: span(l, x.median),
                worst: span(l, x.worst),
            })
            .collect(),
        threads: threads
            .iter()
            .map(|th| ThreadItem {
                name: th.thread.clone(),
                signal_at: shanghai_time(th.signal_at),
                cells: th
                    .steps
                    .iter()
                    .skip(1)
                    .map(|x| Cell {
                        took: span(l, x.took),
                        verdict: match x.verdict {
                            Verdict::Met => "met",
                            Verdict::Missed => "missed",
                            Verdict::Pending => "pending",
                            Verdict::Overdue => "overdue",
                        },
                        label: match x.verdict {
                            Verdict::Met => t.dr_met,
                            Verdict::Missed => t.dr_missed,
                            Verdict::Pending => t.dr_pending,
                            Verdict::Overdue => t.dr_overdue,
                        },
                    })
                    .collect(),
                total: span(l, th.total),
            })
            .collect(),
        bottleneck: bottleneck.map(|b| label(&b)),
        csrf: actor.csrf.clone(),
        end_action: l.link(&format!("/drills/{}/end", r.drill.id)),
        purge_action: l.link(&format!("/drills/{}/purge", r.drill.id)),
    }
}

impl DrillPage {
    /// The step labels after the signal, as the threads' columns.
    fn columns(&self) -> Vec<&str> {
        self.steps
            .iter()
            .skip(1)
            .map(|s| s.label.as_str())
            .collect()
    }
}

pub async fn drill(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
) -> PageResult {
    let r = s.services.drill_report(&actor, id).await.or_page(l)?;
    Ok(no_store(ok(&report_page(&s, l, &actor, r))))
}

#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub async fn end(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<EndForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    s.services.end_drill(&actor, id, false).await.or_page(l)?;
    Ok(see_other(&l.link(&format!("/drills/{id}"))))
}

pub async fn purge(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<EndForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    super::staff::require_confirm(&f.confirm, l)?;
    s.services.end_drill(&actor, id, true).await.or_page(l)?;
    Ok(see_other(&l.link(&format!("/drills/{id}"))))
}
