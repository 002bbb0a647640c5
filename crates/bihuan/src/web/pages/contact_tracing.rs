//! 流调溯源 pages for the command and towns: the cases, one case's
//! candidates with their evidence and the team's decisions, and the chain
//! picture (case → 密接 → 次密接, edges named by venue) drawn as SVG here.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::forms::{FormErrors, Pairs};
use super::{
    Base, Lang, OrPage, PageActor, PageError, PageResult, check_csrf, no_store, ok, render,
    see_other, shanghai_time, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::tracing::{CandidateView, CaseView, DecisionInput, OpenCaseInput};
use crate::web::AppState;

pub struct CaseItem {
    pub id: i64,
    pub name: String,
    pub window: String,
    pub candidates: i64,
    pub confirmed: i64,
    pub href: String,
}

#[derive(Default)]
pub struct CaseForm {
    pub id_number: String,
    pub start_date: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "trace_cases.html")]
struct CasesPage {
    base: Base,
    cases: Vec<CaseItem>,
    csrf: String,
    action: String,
    f: CaseForm,
    errors: FormErrors,
}
with_base!(CasesPage);

impl CasesPage {
    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
}

fn window(from: i64, to: i64) -> String {
    format!("{} – {}", shanghai_time(from), shanghai_time(to))
}

async fn cases_page(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    f: CaseForm,
    errors: FormErrors,
) -> Result<CasesPage, PageError> {
    let cases = s.services.cases(actor).await.or_page(l)?;
    Ok(CasesPage {
        base: Base::new(l, l.t().tr_title, "/tracing").signed_in(actor),
        cases: cases
            .into_iter()
            .map(|k| CaseItem {
                href: l.link(&format!("/tracing/{}", k.id)),
                window: window(k.window_from, k.window_to),
                id: k.id,
                name: k.name,
                candidates: k.candidates,
                confirmed: k.confirmed,
            })
            .collect(),
        csrf: actor.csrf.clone(),
        action: l.link("/tracing"),
        f,
        errors,
    })
}

pub async fn cases(State(s): State<AppState>, l: Lang, PageActor(actor): PageActor) -> PageResult {
    let page = cases_page(&s, l, &actor, CaseForm::default(), FormErrors(vec![])).await?;
    Ok(no_store(ok(&page)))
}

pub async fn open_case(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let f = CaseForm {
        id_number: pairs.get("id_number"),
        start_date: pairs.get("start_date"),
        note: pairs.get("note"),
    };
    let input = OpenCaseInput {
        person_id: None,
        id_type: Some("resident".into()),
        id_number: Some(f.id_number.clone()),
        start_date: f.start_date.clone(),
        note: f.note.clone(),
    };
    match s.services.open_case(&actor, input).await {
        Ok(id) => Ok(see_other(&l.link(&format!("/tracing/{id}")))),
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let page = cases_page(&s, l, &actor, f, errors).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

/// One line of evidence as the table shows it.
pub struct EvidenceLine {
    pub text: String,
}

pub struct CandidateItem {
    pub person_id: i64,
    pub name: String,
    pub doc_masked: String,
    pub region: String,
    pub degree_label: &'static str,
    pub exposure: String,
    pub via: String,
    pub state: String,
    pub state_label: &'static str,
    pub evidence: Vec<EvidenceLine>,
    pub action: String,
    pub person_href: String,
    /// 移交外地: the county picked by name (province, city, county).
    pub handover: super::public::Picker,
}

#[derive(Template)]
#[template(path = "trace_case.html")]
struct CasePage {
    base: Base,
    case_name: String,
    note: String,
    window: String,
    trace_action: String,
    csrf: String,
    candidates: Vec<CandidateItem>,
    graph: Graph,
}
with_base!(CasePage);

fn state_label(l: Lang, state: &str) -> &'static str {
    let t = l.t();
    match state {
        "confirmed" => t.tr_state_confirmed,
        "struck" => t.tr_state_struck,
        "handed_over" => t.tr_state_handed_over,
        _ => t.tr_state_candidate,
    }
}

fn evidence_lines(l: Lang, k: &CandidateView, names: &dyn Fn(i64) -> String) -> Vec<EvidenceLine> {
    let t = l.t();
    k.evidence
        .iter()
        .map(|e| EvidenceLine {
            text: match e.kind {
                "venue" => format!(
                    "{} {}–{}（{}{}{}）← {}",
                    e.venue_name,
                    shanghai_time(e.from),
                    &shanghai_time(e.to)[11..],
                    t.tr_overlap,
                    e.minutes,
                    t.tr_minutes,
                    names(e.from_person)
                ),
                "household" => format!("{} ← {}", t.tr_household, names(e.from_person)),
                _ => format!(
                    "{} {} ← {}",
                    t.tr_tube,
                    shanghai_time(e.at),
                    names(e.from_person)
                ),
            },
        })
        .collect()
}

pub async fn case(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
) -> PageResult {
    let v = s.services.case_view(&actor, id).await.or_page(l)?;
    let names = super::staff::region_names(&s, l).await?;
    Ok(no_store(ok(&case_page(l, &actor, v, &names))))
}

fn case_page(
    l: Lang,
    actor: &Actor,
    v: CaseView,
    names: &std::collections::HashMap<String, String>,
) -> CasePage {
    let t = l.t();
    let name_of = |p: i64| {
        if p == v.person_id {
            v.name.clone()
        } else {
            v.candidates
                .iter()
                .find(|k| k.person_id == p)
                .map_or_else(|| format!("#{p}"), |k| k.name.clone())
        }
    };
    let candidates = v
        .candidates
        .iter()
        .map(|k| CandidateItem {
            person_id: k.person_id,
            name: k.name.clone(),
            doc_masked: k.doc_masked.clone(),
            region: super::staff::region_words(l, names, &k.region),
            handover: super::public::Picker::new(
                &format!("ho{}_", k.person_id),
                "",
                &Default::default(),
                &super::forms::FormErrors::default(),
            )
            .lazy(),
            degree_label: if k.degree == 1 {
                t.tr_degree1
            } else {
                t.tr_degree2
            },
            exposure: shanghai_time(k.exposure_at),
            via: k.via_person_id.map(&name_of).unwrap_or_default(),
            state: k.state.clone(),
            state_label: state_label(l, &k.state),
            evidence: evidence_lines(l, k, &name_of),
            action: l.link(&format!("/tracing/{}/contacts/{}", v.id, k.person_id)),
            person_href: l.link(&format!("/persons/{}", k.person_id)),
        })
        .collect();
    CasePage {
        base: Base::new(
            l,
            format!("{} · {}", t.tr_title, v.name),
            &format!("/tracing/{}", v.id),
        )
        .signed_in(actor),
        case_name: v.name.clone(),
        note: v.note.clone(),
        window: window(v.window_from, v.window_to),
        trace_action: l.link(&format!("/tracing/{}/trace", v.id)),
        csrf: actor.csrf.clone(),
        graph: Graph::of(&v, l),
        candidates,
    }
}

pub async fn trace(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    check_csrf(&actor, &Pairs(pairs).get("csrf"), l)?;
    s.services.trace_case(&actor, id).await.or_page(l)?;
    Ok(see_other(&format!(
        "{}#candidates",
        l.link(&format!("/tracing/{id}"))
    )))
}

pub async fn decide(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path((id, person)): Path<(i64, i64)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    // 确认, 排除 and the hand-over cannot be taken back, whatever the
    // decision's spelling: the box is needed before any of them.
    super::staff::require_confirm(&pairs.get("confirm"), l)?;
    let input = DecisionInput {
        decision: pairs.get("decision"),
        county: Some(pairs.get("county")).filter(|c| !c.trim().is_empty()),
        address: None,
    };
    s.services
        .decide_contact(&actor, id, person, input)
        .await
        .or_page(l)?;
    Ok(see_other(&format!(
        "{}#person-{person}",
        l.link(&format!("/tracing/{id}"))
    )))
}

// ---------------------------------------------------------------------------
// The chain picture.

pub struct Node {
    pub x: i64,
    pub y: i64,
    pub label: String,
    /// case, candidate, confirmed, struck, handed_over.
    pub class: String,
}

pub struct Edge {
    pub x1: i64,
    pub y1: i64,
    pub x2: i64,
    pub y2: i64,
    pub label: String,
    pub lx: i64,
    pub ly: i64,
}

pub struct Graph {
    pub width: i64,
    pub height: i64,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

const COLUMN_X: [i64; 3] = [60, 300, 540];
const ROW_H: i64 = 46;
const TOP: i64 = 30;

impl Graph {
    /// Three columns: the case, its close contacts, their contacts; each
    /// edge from the person traced from, named by the venue of its latest
    /// link (or 同住 / 同管).
    pub fn of(v: &CaseView, l: Lang) -> Graph {
        let t = l.t();
        let mut nodes = Vec::new();
        let mut pos = std::collections::HashMap::new();
        let rows = [1, 2].map(|d| v.candidates.iter().filter(|k| k.degree == d).count() as i64);
        let height = TOP * 2 + ROW_H * rows[0].max(rows[1]).max(1);
        let case_y = height / 2;
        pos.insert(v.person_id, (COLUMN_X[0], case_y));
        nodes.push(Node {
            x: COLUMN_X[0],
            y: case_y,
            label: v.name.clone(),
            class: "case".into(),
        });
        for degree in [1i64, 2] {
            let col = &v
                .candidates
                .iter()
                .filter(|k| k.degree == degree)
                .collect::<Vec<_>>();
            for (i, k) in col.iter().enumerate() {
                let (x, y) = (
                    COLUMN_X[degree as usize],
                    TOP + ROW_H / 2 + i as i64 * ROW_H,
                );
                pos.insert(k.person_id, (x, y));
                nodes.push(Node {
                    x,
                    y,
                    label: k.name.clone(),
                    class: k.state.clone(),
                });
            }
        }
        let edges = v
            .candidates
            .iter()
            .filter_map(|k| {
                let from = k.via_person_id?;
                let (x1, y1) = *pos.get(&from)?;
                let (x2, y2) = *pos.get(&k.person_id)?;
                let label = match k.evidence.last() {
                    Some(e) if e.kind == "venue" => e.venue_name.clone(),
                    Some(e) if e.kind == "household" => t.tr_household.into(),
                    Some(_) => t.tr_tube.into(),
                    None => String::new(),
                };
                Some(Edge {
                    x1: x1 + 14,
                    y1,
                    x2: x2 - 14,
                    y2,
                    lx: (x1 + x2) / 2,
                    ly: (y1 + y2) / 2 - 4,
                    label,
                })
            })
            .collect();
        Graph {
            width: COLUMN_X[2] + 100,
            height,
            nodes,
            edges,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usecases::tracing::EvidenceView;

    fn cand(person: i64, degree: i64, via: i64, venue: &str) -> CandidateView {
        CandidateView {
            person_id: person,
            name: format!("P{person}"),
            doc_masked: String::new(),
            region: String::new(),
            degree,
            via_person_id: Some(via),
            exposure_at: 0,
            state: "candidate".into(),
            evidence: vec![EvidenceView {
                kind: "venue",
                from_person: via,
                venue_id: Some(1),
                venue_name: venue.into(),
                from: 0,
                to: 0,
                minutes: 0,
                at: 0,
            }],
        }
    }

    #[test]
    fn the_chain_puts_each_degree_in_its_column_with_edges_from_the_person_traced_from() {
        let v = CaseView {
            id: 1,
            person_id: 9,
            name: "病例".into(),
            origin: "team".into(),
            note: String::new(),
            window_from: 0,
            window_to: 0,
            candidates: vec![
                cand(1, 1, 9, "超市"),
                cand(2, 1, 9, "饭店"),
                cand(3, 2, 1, "车站"),
            ],
        };
        let g = Graph::of(&v, Lang::Zh);
        assert_eq!(g.nodes.len(), 4);
        assert_eq!(g.nodes[0].class, "case");
        let x_of = |label: &str| g.nodes.iter().find(|n| n.label == label).unwrap().x;
        assert_eq!(
            (x_of("P1"), x_of("P2"), x_of("P3")),
            (COLUMN_X[1], COLUMN_X[1], COLUMN_X[2])
        );
        assert_eq!(g.edges.len(), 3);
        let station = g.edges.iter().find(|e| e.label == "车站").unwrap();
        assert_eq!(
            (station.x1, station.x2),
            (COLUMN_X[1] + 14, COLUMN_X[2] - 14),
            "from P1 to P3"
        );
        assert!(g.nodes.iter().all(|n| n.y > 0 && n.y < g.height));
        assert_eq!(g.height, TOP * 2 + 2 * ROW_H);
    }
}
