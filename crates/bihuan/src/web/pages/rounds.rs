//! 全员核酸: the rounds, one round's live coverage from the user's region down
//! to each grid, each grid's 未检 list (and its CSV), and the 常住人口 import
//! the coverage counts against. Tables for the command's desk; the grid
//! worker's 未检 list is cards that fit a phone.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bihuan_domain::regions::{RegionCode, RegionLevel};
use bihuan_domain::validation::FieldError;
use serde::Deserialize;

use super::forms::{FormErrors, Pairs, RoundForm, pasted_table};
use super::{
    Base, Here, Lang, OrPage, PageActor, PageResult, check_csrf, no_store, ok, render, see_other,
    shanghai_time, with_base,
};
use crate::error::Error;
use crate::storage::rounds::RoundRow;
use crate::usecases::Actor;
use crate::usecases::rounds::CoverageRow;
use crate::usecases::views::{RoundsPageView, TownVillages};
use crate::web::AppState;

/// Regions a round lists by name before it says how many more there are.
const REGIONS_SHOWN: usize = 8;

/// Coverage at or above this (in tenths of a percent) is green; at or above
/// `WARN_AT` orange; below it red.
const OK_AT: i64 = 900;
const WARN_AT: i64 = 600;

// ---------------------------------------------------------------------------
// GET /rounds, POST /rounds

pub struct RoundItem {
    pub name: String,
    pub window: String,
    pub regions: String,
    /// upcoming, open or ended.
    pub state: &'static str,
    pub state_label: &'static str,
    pub href: String,
}

/// The 新建轮次 form, for the command.
pub struct AddRound {
    pub lang: Lang,
    pub action: String,
    pub csrf: String,
    pub f: RoundForm,
    pub errors: FormErrors,
    pub towns: Vec<(String, String)>,
}

impl AddRound {
    pub fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }

    pub fn label(&self, key: &str) -> String {
        let t = self.lang.t();
        match key {
            "name" => t.rd_name,
            "regions" => t.rd_towns,
            "starts_at" => t.rd_starts,
            "ends_at" => t.rd_ends,
            other => self.lang.field_label(other),
        }
        .to_string()
    }
}

#[derive(Template)]
#[template(path = "rounds.html")]
struct RoundsPage {
    base: Base,
    rounds: Vec<RoundItem>,
    add: Option<AddRound>,
    residents_href: Option<String>,
}
with_base!(RoundsPage);

fn window(r: &RoundRow) -> String {
    format!(
        "{} – {}",
        shanghai_time(r.starts_at),
        shanghai_time(r.ends_at)
    )
}

fn round_state(l: Lang, r: &RoundRow, now: i64) -> (&'static str, &'static str) {
    let t = l.t();
    if now < r.starts_at {
        ("upcoming", t.rd_upcoming)
    } else if now > r.ends_at {
        ("ended", t.rd_ended)
    } else {
        ("open", t.rd_open)
    }
}

/// Every town's and village's name by code.
fn names(towns: &[TownVillages]) -> HashMap<&str, &str> {
    let mut m = HashMap::new();
    for t in towns {
        m.insert(t.code.as_str(), t.name.as_str());
        for v in &t.villages {
            m.insert(v.code.as_str(), v.name.as_str());
        }
    }
    m
}

fn region_list(l: Lang, codes: &str, names: &HashMap<&str, &str>) -> String {
    let codes: Vec<&str> = codes.split(',').filter(|c| !c.is_empty()).collect();
    let shown: Vec<&str> = codes
        .iter()
        .take(REGIONS_SHOWN)
        .map(|c| names.get(c).copied().unwrap_or(c))
        .collect();
    let more = codes.len().saturating_sub(REGIONS_SHOWN);
    let mut s = shown.join(l.t().list_sep);
    if more > 0 {
        s.push_str(&format!(" … (+{more})"));
    }
    s
}

impl RoundsPage {
    fn new(
        l: Lang,
        actor: &Actor,
        v: RoundsPageView,
        now: i64,
        f: RoundForm,
        errors: FormErrors,
    ) -> Self {
        let t = l.t();
        let by_code = names(&v.towns);
        let rounds = v
            .rounds
            .iter()
            .map(|r| {
                let (state, state_label) = round_state(l, r, now);
                RoundItem {
                    name: r.name.clone(),
                    window: window(r),
                    regions: region_list(l, &r.regions, &by_code),
                    state,
                    state_label,
                    href: l.link(&format!("/rounds/{}", r.id)),
                }
            })
            .collect();
        let add = actor.role.can_manage_risk_areas().then(|| AddRound {
            lang: l,
            action: l.link("/rounds"),
            csrf: actor.csrf.clone(),
            f,
            errors,
            towns: v
                .towns
                .iter()
                .map(|t| (t.code.clone(), t.name.clone()))
                .collect(),
        });
        RoundsPage {
            base: Base::new(l, t.rd_title, "/rounds").signed_in(actor),
            rounds,
            add,
            residents_href: actor.role.can_review().then(|| l.link("/residents")),
        }
    }
}

/// `datetime-local` values: now, and a day later.
fn default_window(now: i64) -> (String, String) {
    let at = |ts: i64| {
        chrono::DateTime::from_timestamp(ts, 0)
            .map(|t| {
                crate::clock::shanghai(t)
                    .format("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    };
    (at(now), at(now + 24 * 3600))
}

pub async fn rounds(State(s): State<AppState>, actor: PageActor, l: Lang) -> PageResult {
    let v = s.services.rounds_page(&actor).await.or_page(l)?;
    let now = s.services.clock.timestamp();
    let (starts_at, ends_at) = default_window(now);
    let f = RoundForm {
        starts_at,
        ends_at,
        ..Default::default()
    };
    let page = RoundsPage::new(l, &actor, v, now, f, FormErrors::default());
    Ok(no_store(ok(&page)))
}

pub async fn create_round(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let form = RoundForm::from_pairs(&pairs);
    match s.services.create_round(&actor, form.to_input()).await {
        Ok(id) => Ok(see_other(&l.link(&format!("/rounds/{id}?created=1")))),
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let v = s.services.rounds_page(&actor).await.or_page(l)?;
            let now = s.services.clock.timestamp();
            let page = RoundsPage::new(l, &actor, v, now, form, errors);
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// GET /rounds/{id}

/// One row of the coverage table (and its tile).
pub struct CoverageLine {
    pub code: String,
    pub name: String,
    pub residents: i64,
    pub sampled: i64,
    pub results_in: i64,
    pub positives: i64,
    pub untested: i64,
    pub percent: String,
    /// The `<meter>`'s value, 0 to 100.
    pub meter: String,
    /// ok, warn, bad, or none when nobody is on the roll.
    pub class: &'static str,
    /// One level down, or the 未检 list of a grid.
    pub href: Option<String>,
}

fn line(l: Lang, r: &CoverageRow, href: Option<String>) -> CoverageLine {
    let tenths = (r.residents > 0).then(|| r.sampled * 1000 / r.residents);
    CoverageLine {
        code: r.code.clone(),
        name: if r.name.is_empty() {
            r.code.clone()
        } else {
            r.name.clone()
        },
        residents: r.residents,
        sampled: r.sampled,
        results_in: r.results_in,
        positives: r.positives,
        untested: r.untested,
        percent: l.percent(tenths),
        meter: tenths.map_or_else(
            || "0".into(),
            |t| {
                let t = t.clamp(0, 1000);
                format!("{}.{}", t / 10, t % 10)
            },
        ),
        class: match tenths {
            None => "none",
            Some(t) if t >= OK_AT => "ok",
            Some(t) if t >= WARN_AT => "warn",
            Some(_) => "bad",
        },
        href,
    }
}

pub struct Crumb {
    pub name: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "round.html")]
struct RoundPage {
    base: Base,
    name: String,
    window: String,
    state: &'static str,
    state_label: &'static str,
    created: bool,
    trail: Vec<Crumb>,
    here: String,
    /// What the rows are: 镇街, 村社区 or 网格.
    level: &'static str,
    /// The rows are grids: their 未检 counts link to the lists.
    grids: bool,
    rows: Vec<CoverageLine>,
    total: CoverageLine,
    rounds_href: String,
    /// The JSON the page polls to refresh its figures (`static/app.js`).
    live_href: String,
    /// Seconds between polls.
    live_every: u32,
    ok_at: i64,
    warn_at: i64,
}
with_base!(RoundPage);

#[derive(Deserialize)]
pub struct RoundQuery {
    #[serde(default)]
    region: String,
    #[serde(default)]
    created: Option<String>,
}

pub async fn round(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Here(here): Here,
    Path(id): Path<i64>,
    Query(q): Query<RoundQuery>,
) -> PageResult {
    let region = Some(q.region.trim()).filter(|r| !r.is_empty());
    let v = s.services.round_page(&actor, id, region).await.or_page(l)?;
    let c = v.coverage;
    let below = match RegionCode::parse(&c.region, "region").map(|r| r.level()) {
        Ok(RegionLevel::City) => RegionLevel::Town,
        Ok(RegionLevel::Town) => RegionLevel::Village,
        _ => RegionLevel::Grid,
    };
    let grids = below == RegionLevel::Grid;
    let own = actor.scope().to_string();
    let region_href = |code: &str| {
        if code == own {
            l.link(&format!("/rounds/{id}"))
        } else {
            l.link(&format!("/rounds/{id}?region={code}"))
        }
    };
    let rows = c
        .rows
        .iter()
        .map(|r| {
            // A grid's own row is named by its total (a grid has no children).
            let mut r = r.clone();
            if r.name.is_empty() && r.code == c.region {
                r.name.clone_from(&c.total.name);
            }
            let href = if grids {
                Some(l.link(&format!("/rounds/{id}/untested/{}", r.code)))
            } else {
                Some(region_href(&r.code))
            };
            line(l, &r, href)
        })
        .collect();
    let (state, state_label) = round_state(l, &c.round, s.services.clock.timestamp());
    let page = RoundPage {
        base: Base::new(l, c.round.name.clone(), &here).signed_in(&actor),
        name: c.round.name.clone(),
        window: window(&c.round),
        state,
        state_label,
        created: q.created.is_some(),
        trail: v
            .trail
            .iter()
            .map(|(code, name)| Crumb {
                name: if name.is_empty() {
                    code.clone()
                } else {
                    name.clone()
                },
                href: region_href(code),
            })
            .collect(),
        here: if c.total.name.is_empty() {
            c.region.clone()
        } else {
            c.total.name.clone()
        },
        level: if l.is_en() {
            below.label_en()
        } else {
            below.label_zh()
        },
        grids,
        rows,
        total: line(l, &c.total, None),
        rounds_href: l.link("/rounds"),
        live_href: format!("/api/v1/rounds/{id}/coverage?region={}", c.region),
        live_every: 5,
        ok_at: OK_AT,
        warn_at: WARN_AT,
    };
    // Live figures: never from a cache.
    Ok(no_store(ok(&page)))
}

// ---------------------------------------------------------------------------
// GET /rounds/{id}/untested/{grid} and …/{grid}.csv

pub struct UntestedItem {
    pub href: String,
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

#[derive(Template)]
#[template(path = "untested.html")]
struct UntestedPage {
    base: Base,
    round_name: String,
    grid_name: String,
    grid: String,
    count: String,
    rows: Vec<UntestedItem>,
    csv_href: String,
    back_href: String,
}
with_base!(UntestedPage);

pub async fn untested(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Here(here): Here,
    Path((id, grid)): Path<(i64, String)>,
) -> PageResult {
    if let Some(grid) = grid.strip_suffix(".csv") {
        return untested_csv(&s, &actor, l, id, grid).await;
    }
    let v = s
        .services
        .untested_page(&actor, id, &grid)
        .await
        .or_page(l)?;
    let t = l.t();
    // Back to the village's grids, or to the user's own view when that is
    // the grid itself.
    let village = &v.grid[..RegionLevel::Village.code_len()];
    let back_href = if actor.scope().len() <= village.len() && actor.scope() != village {
        l.link(&format!("/rounds/{id}?region={village}"))
    } else {
        l.link(&format!("/rounds/{id}"))
    };
    let page = UntestedPage {
        base: Base::new(l, t.ut_title, &here).signed_in(&actor),
        round_name: v.round.name.clone(),
        grid_name: if v.grid_name.is_empty() {
            v.grid.clone()
        } else {
            v.grid_name.clone()
        },
        count: l.people(v.rows.len() as i64),
        rows: v
            .rows
            .into_iter()
            .map(|r| UntestedItem {
                href: l.link(&format!("/persons/{}", r.person_id)),
                name: r.name,
                id_number: r.id_number,
                phone: r.phone,
            })
            .collect(),
        csv_href: format!("/rounds/{id}/untested/{}.csv", v.grid),
        grid: v.grid,
        back_href,
    };
    Ok(no_store(ok(&page)))
}

/// The same list as a CSV file for calling (UTF-8 with a byte-order mark, so
/// Excel and WPS read the names; phones in full, audited): the columns of the
/// JSON API's `?format=csv`.
async fn untested_csv(s: &AppState, actor: &Actor, l: Lang, id: i64, grid: &str) -> PageResult {
    let rows = s
        .services
        .untested_export(actor, id, grid)
        .await
        .or_page(l)?;
    let table = crate::usecases::Services::untested_table(&rows);
    let mut body = "\u{feff}".as_bytes().to_vec();
    let mark = crate::export::Mark::By {
        who: &actor.username,
        at: s.services.clock.timestamp(),
    };
    body.extend(crate::export::csv(&table, mark).or_page(l)?);
    Ok(crate::web::download(
        "text/csv; charset=utf-8",
        &format!("untested-{id}-{grid}.csv"),
        None,
        body,
    ))
}

// ---------------------------------------------------------------------------
// GET /residents, POST /residents: the 常住人口 import.

#[derive(Template)]
#[template(path = "residents.html")]
struct ResidentsPage {
    base: Base,
    action: String,
    csrf: String,
    csv: String,
    errors: Vec<String>,
}
with_base!(ResidentsPage);

fn residents_page(l: Lang, actor: &Actor, csv: String, errors: Vec<String>) -> ResidentsPage {
    ResidentsPage {
        base: Base::new(l, l.t().rs_title, "/residents").signed_in(actor),
        action: l.link("/residents"),
        csrf: actor.csrf.clone(),
        csv,
        errors,
    }
}

pub async fn residents(actor: PageActor, l: Lang) -> PageResult {
    if !actor.role.can_review() {
        return Err(Error::Forbidden).or_page(l);
    }
    Ok(no_store(ok(&residents_page(
        l,
        &actor,
        String::new(),
        Vec::new(),
    ))))
}

#[derive(Deserialize)]
pub struct PasteForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub csv: String,
}

/// Why pasted text is not a table, in the page's language.
pub fn unreadable(l: Lang, why: &str) -> String {
    format!("{}{}{why}", l.t().im_unreadable, l.t().colon)
}

/// A field's messages with the column's name, for an import's row or a
/// refused whole import.
pub fn field_lines(l: Lang, errors: &[FieldError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let t = l.t();
            let column = match e.field.as_str() {
                "grid" => t.col_grid,
                "employer" => t.col_employer,
                "industry" => t.col_industry,
                "id_type" => t.p_id_type,
                "id_number" => t.p_id_number,
                "name" => t.s_name,
                "phone" => t.p_phone,
                other => l.field_label(other),
            };
            if column.is_empty() {
                l.field_message(e).to_string()
            } else {
                format!("{column}{}{}", t.colon, l.field_message(e))
            }
        })
        .collect()
}

/// A form's fields, read only once the caller may send them: each handler
/// checks the role from the request's head first, then reads the body
/// (within the route's limit). A body that is not the form is answered as
/// axum's `Form` would.
pub(super) async fn read_form<T: serde::de::DeserializeOwned>(
    req: Request,
    s: &AppState,
) -> Result<T, Response> {
    Form::<T>::from_request(req, s)
        .await
        .map(|Form(f)| f)
        .map_err(IntoResponse::into_response)
}

pub async fn import_residents(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    req: Request,
) -> PageResult {
    // Refused before the text is read: the form is not theirs.
    if !actor.role.can_review() {
        return Err(Error::Forbidden).or_page(l);
    }
    let f: PasteForm = match read_form(req, &s).await {
        Ok(f) => f,
        Err(refused) => return Ok(refused),
    };
    check_csrf(&actor, &f.csrf, l)?;
    let again = |errors: Vec<String>| {
        let page = residents_page(l, &actor, f.csv.clone(), errors);
        Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
    };
    let parsed =
        crate::import::parse_off_thread(pasted_table(&f.csv), crate::import::resident_rows)
            .await
            .or_page(l)?;
    let rows = match parsed {
        Ok(rows) if rows.is_empty() => return again(vec![unreadable(l, l.t().im_no_rows)]),
        Ok(rows) => rows,
        Err(e) => return again(vec![unreadable(l, &e.to_string())]),
    };
    match s.services.import_residents(&actor, rows).await {
        Ok(r) => Ok(no_store(ok(&report_page(
            l,
            &actor,
            l.t().rs_title,
            r.loaded,
            &r.refused,
            "/residents",
        )))),
        // A grid that is not in the tree refuses the whole roll.
        Err(Error::Invalid(errors)) => again(field_lines(l, &errors)),
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// The report of an import (the resident roll, a roster).

pub struct RefusedRow {
    pub row: String,
    pub errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "roll_report.html")]
pub struct ReportPage {
    base: Base,
    heading: &'static str,
    summary: String,
    refused: Vec<RefusedRow>,
    again_href: String,
}
with_base!(ReportPage);

/// `refused`: (row number, why) of each row not loaded.
pub fn report_page(
    l: Lang,
    actor: &Actor,
    heading: &'static str,
    loaded: usize,
    refused: &[(usize, Vec<FieldError>)],
    again: &str,
) -> ReportPage {
    let t = l.t();
    ReportPage {
        base: Base::new(l, t.im_title, again).signed_in(actor),
        heading,
        summary: l.roll_loaded(loaded, refused.len()),
        refused: refused
            .iter()
            .map(|(row, errors)| RefusedRow {
                row: l.row_n(*row),
                errors: field_lines(l, errors),
            })
            .collect(),
        again_href: l.link(again),
    }
}
