//! The staff pages: sign-in, tasks, persons, the command's overview and the
//! risk-area list. Every form post carries the session's CSRF token.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bihuan_domain::access::Role;
use bihuan_domain::policy::{HealthCode, area_name};
use bihuan_domain::task::{Outcome, TaskState};
use serde::Deserialize;

use super::forms::{FormErrors, Pairs, ReportForm, RiskAreaForm, risk_area_rows};
use super::public::{Picker, PlanView};
use super::{
    Base, Failure, Here, Lang, OrPage, PageActor, PageError, PageResult, SessionToken, check_csrf,
    ok, render, safe_next, see_other, shanghai_rfc3339, shanghai_time, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::auth::LoginInput;
use crate::usecases::declare::ControlView;
use crate::usecases::risk_areas::ImportReport;
use crate::usecases::tasks::TaskView;
use crate::usecases::views::TaskQuery;
use crate::web::AppState;
use crate::web::extract::SESSION_COOKIE;

// ---------------------------------------------------------------------------
// Sign-in and sign-out.

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    base: Base,
    action: String,
    next: String,
    username: String,
    error: Option<&'static str>,
}
with_base!(LoginPage);

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

pub async fn login_form(l: Lang, Query(q): Query<NextQuery>) -> Response {
    let t = l.t();
    ok(&LoginPage {
        base: Base::new(l, t.login_title, "/login"),
        action: l.link("/login"),
        next: safe_next(&q.next, "/tasks"),
        username: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

fn session_cookie(value: &str, secure: bool, clear: bool) -> HeaderValue {
    let mut c = format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/");
    if clear {
        c.push_str("; Max-Age=0");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie is ASCII")
}

pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    l: Lang,
    Form(f): Form<LoginForm>,
) -> PageResult {
    if !s.limiter.allow(addr.ip(), s.services.clock.timestamp()) {
        return Err(PageError {
            lang: l,
            failure: Failure::RateLimited,
        });
    }
    let t = l.t();
    let next = safe_next(&f.next, "/tasks");
    let input = LoginInput {
        username: f.username.trim().to_string(),
        password: f.password,
    };
    let failed = |status, error| {
        render(
            status,
            &LoginPage {
                base: Base::new(l, t.login_title, "/login"),
                action: l.link("/login"),
                next: next.clone(),
                username: f.username.clone(),
                error: Some(error),
            },
        )
    };
    match s.services.login(input).await {
        Ok(session) => {
            let secure = s.settings.public_base_url.starts_with("https://");
            let to = if next.contains("lang=") {
                next.clone()
            } else {
                l.link(&next)
            };
            let mut r = see_other(&to);
            r.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(&session.token, secure, false),
            );
            Ok(r)
        }
        Err(Error::Unauthorized) => Ok(failed(StatusCode::UNAUTHORIZED, t.login_wrong)),
        Err(Error::Locked) => Ok(failed(StatusCode::TOO_MANY_REQUESTS, t.login_locked)),
        Err(e) => Err(e).or_page(l),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
}

pub async fn logout(
    State(s): State<AppState>,
    actor: PageActor,
    SessionToken(token): SessionToken,
    l: Lang,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    if let Some(token) = token {
        s.services.logout(&token).await.or_page(l)?;
    }
    let secure = s.settings.public_base_url.starts_with("https://");
    let mut r = see_other(&l.link("/login"));
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie("", secure, true));
    Ok(r)
}

// ---------------------------------------------------------------------------
// Tasks.

/// One task as a card, with the actions its state and the user's role allow.
pub struct TaskCard {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub state_label: String,
    pub reason: String,
    pub due: String,
    pub overdue: bool,
    pub person_href: String,
    pub escalated_to: Option<String>,
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub can_ack: bool,
    pub can_close: bool,
    pub can_reopen: bool,
    pub report: Option<ReportView>,
    pub csrf: String,
    pub back: String,
    pub action: String,
}

/// The 反馈 form of one task.
pub struct ReportView {
    pub task_id: i64,
    pub action: String,
    pub csrf: String,
    pub back: String,
    pub f: ReportForm,
    pub errors: FormErrors,
    pub origin: Picker,
    pub outcomes: Vec<(&'static str, String)>,
    pub codes: Vec<(&'static str, &'static str)>,
    /// The city whose towns and villages the "moved" picker offers.
    pub city: String,
}

impl ReportView {
    fn new(
        l: Lang,
        actor: &Actor,
        task_id: i64,
        back: &str,
        city: &str,
        f: ReportForm,
        errors: FormErrors,
    ) -> ReportView {
        let t = l.t();
        ReportView {
            task_id,
            action: l.link(&format!("/tasks/{task_id}/report")),
            csrf: actor.csrf.clone(),
            back: back.to_string(),
            origin: Picker::new(
                &format!("t{task_id}_origin_"),
                "origin_",
                &f.origin,
                &errors,
            )
            .lazy(),
            outcomes: [
                Outcome::Verified,
                Outcome::NotFound,
                Outcome::Refused,
                Outcome::Moved,
                Outcome::Corrected,
            ]
            .into_iter()
            .map(|o| (o.as_str(), l.outcome(o.as_str())))
            .collect(),
            codes: [
                (HealthCode::Green, t.code_green),
                (HealthCode::Yellow, t.code_yellow),
                (HealthCode::Red, t.code_red),
            ]
            .into_iter()
            .map(|(c, label)| (c.as_str(), label))
            .collect(),
            city: city.to_string(),
            f,
            errors,
        }
    }

    pub fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
}

fn task_card(l: Lang, actor: &Actor, v: &TaskView, back: &str, city: &str) -> TaskCard {
    let state = TaskState::parse(&v.state);
    let review = actor.role.can_review();
    TaskCard {
        id: v.id,
        kind: l.task_kind(&v.kind),
        state_label: l.task_state(&v.state),
        reason: v.reason.clone(),
        due: shanghai_rfc3339(&v.due_at),
        overdue: v.overdue,
        person_href: l.link(&format!("/persons/{}", v.person_id)),
        escalated_to: v.escalated_to.as_deref().map(|r| l.region_code(r)),
        outcome: v.outcome.as_deref().map(|o| l.outcome(o)),
        note: v.note.clone().filter(|n| !n.is_empty()),
        can_ack: state == Some(TaskState::Dispatched),
        can_close: review && state == Some(TaskState::Reported),
        can_reopen: review && matches!(state, Some(TaskState::Reported | TaskState::Closed)),
        report: (state == Some(TaskState::Acknowledged)).then(|| {
            ReportView::new(
                l,
                actor,
                v.id,
                back,
                city,
                ReportForm::default(),
                FormErrors::default(),
            )
        }),
        csrf: actor.csrf.clone(),
        back: back.to_string(),
        action: format!("/tasks/{}", v.id),
        state: v.state.clone(),
    }
}

pub struct Tab {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    base: Base,
    heading: &'static str,
    tabs: Vec<Tab>,
    cards: Vec<TaskCard>,
    next_page: Option<String>,
    first_page: Option<String>,
}
with_base!(TasksPage);

#[derive(Deserialize)]
pub struct TasksQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    escalated: String,
    #[serde(default)]
    after: String,
}

const PAGE_SIZE: i64 = 50;

pub async fn tasks(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Here(here): Here,
    Query(q): Query<TasksQuery>,
) -> PageResult {
    let escalated = !q.escalated.is_empty() && actor.role != Role::GridWorker;
    let state = Some(q.state.clone()).filter(|s| !s.is_empty() && !escalated);
    let after = q.after.parse::<i64>().unwrap_or(0).max(0);
    let views = s
        .services
        .tasks(
            &actor,
            TaskQuery {
                state: state.clone(),
                region: None,
                escalated,
                overdue: false,
                after,
                limit: PAGE_SIZE,
            },
        )
        .await
        .or_page(l)?;
    let t = l.t();
    let mut tabs = vec![Tab {
        label: t.tab_all,
        href: l.link("/tasks"),
        current: state.is_none() && !escalated,
    }];
    for st in [
        TaskState::Dispatched,
        TaskState::Acknowledged,
        TaskState::Reported,
        TaskState::Closed,
    ] {
        tabs.push(Tab {
            label: if l.is_en() {
                st.label_en()
            } else {
                st.label_zh()
            },
            href: l.link(&format!("/tasks?state={}", st.as_str())),
            current: state.as_deref() == Some(st.as_str()),
        });
    }
    if actor.role != Role::GridWorker {
        tabs.push(Tab {
            label: t.tab_escalated,
            href: l.link("/tasks?escalated=1"),
            current: escalated,
        });
    }
    let filter = match (&state, escalated) {
        (_, true) => "escalated=1".to_string(),
        (Some(st), _) => format!("state={st}"),
        (None, _) => String::new(),
    };
    let page_link = |after: i64| {
        let mut q = filter.clone();
        if after > 0 {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(&format!("after={after}"));
        }
        l.link(&if q.is_empty() {
            "/tasks".to_string()
        } else {
            format!("/tasks?{q}")
        })
    };
    let next_page = (views.len() as i64 == PAGE_SIZE)
        .then(|| views.last().map(|v| page_link(v.id)))
        .flatten();
    let city = &s.settings.city_code;
    let heading = super::tasks_label(t, actor.role);
    let page = TasksPage {
        base: Base::new(l, heading, &here).signed_in(&actor),
        heading,
        tabs,
        cards: views
            .iter()
            .map(|v| task_card(l, &actor, v, &here, city))
            .collect(),
        next_page,
        first_page: (after > 0).then(|| page_link(0)),
    };
    Ok(ok(&page))
}

/// Where an action goes back to: the form's `back` path, or the task list.
fn back_to(l: Lang, back: &str) -> String {
    let b = safe_next(back, "/tasks");
    if b.contains("lang=") { b } else { l.link(&b) }
}

pub async fn ack(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    s.services.acknowledge_task(&actor, id).await.or_page(l)?;
    Ok(see_other(&back_to(l, &f.back)))
}

pub async fn close(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    s.services.close_task(&actor, id).await.or_page(l)?;
    Ok(see_other(&back_to(l, &f.back)))
}

pub async fn reopen(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    s.services.reopen_task(&actor, id).await.or_page(l)?;
    Ok(see_other(&back_to(l, &f.back)))
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    base: Base,
    r: ReportView,
    back_href: String,
}
with_base!(ReportPage);

pub async fn report(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let back = pairs.get("back");
    let form = ReportForm::from_pairs(&pairs);
    match s.services.report_task(&actor, id, form.to_input()).await {
        Ok(_) => Ok(see_other(&back_to(l, &back))),
        Err(Error::Invalid(errors)) => {
            let t = l.t();
            let errors = FormErrors::of(&errors, l, &[]);
            let back = safe_next(&back, "/tasks");
            let r = ReportView::new(l, &actor, id, &back, &s.settings.city_code, form, errors);
            let page = ReportPage {
                base: Base::new(l, t.t_report, &format!("/tasks/{id}/report")).signed_in(&actor),
                back_href: back_to(l, &back),
                r,
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// GET /persons/{id}

pub struct ControlCard {
    pub category: String,
    pub measure: String,
    pub status: String,
    pub plan: PlanView,
    pub reasons: Vec<String>,
}

pub struct EventView {
    pub at: String,
    pub actor: String,
    pub kind: String,
    pub details: Vec<String>,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    base: Base,
    id: i64,
    name: String,
    id_type: String,
    id_number: String,
    phone: String,
    region: String,
    unmasked: bool,
    unmask_href: Option<String>,
    destination: Option<crate::usecases::views::Destination>,
    arrival: String,
    control: Option<ControlCard>,
    cards: Vec<TaskCard>,
    timeline: Vec<EventView>,
}
with_base!(PersonPage);

#[derive(Deserialize)]
pub struct PersonQuery {
    #[serde(default)]
    unmask: String,
}

fn control_card(l: Lang, s: &AppState, c: &ControlView) -> ControlCard {
    let cat = s.services.policy().category(&c.category);
    ControlCard {
        category: l.category_label(cat, &c.category),
        measure: cat.map(|c| l.measure(c)).unwrap_or_default(),
        status: l.control_status(&c.status),
        plan: PlanView::of(l, &c.plan),
        reasons: c.reasons.clone(),
    }
}

/// The parts of an event's detail worth a line on the timeline.
fn event_details(l: Lang, kind: &str, d: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let text = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_string);
    if let Some(rs) = d.get("reasons").and_then(|v| v.as_array()) {
        out.extend(rs.iter().filter_map(|r| r.as_str().map(str::to_string)));
    }
    match kind {
        "task_created" | "task_attached" => out.extend(text("reason")),
        "task_report" => {
            out.extend(text("outcome").map(|o| l.outcome(&o)));
            out.extend(text("note").filter(|n| !n.is_empty()));
        }
        "task_escalated" => out.extend(text("to").map(|r| l.region_code(&r))),
        _ => {}
    }
    out
}

pub async fn person(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Here(here): Here,
    Path(id): Path<i64>,
    Query(q): Query<PersonQuery>,
) -> PageResult {
    let unmask = q.unmask == "1" || q.unmask == "true";
    let d = s
        .services
        .person_detail(&actor, id, unmask)
        .await
        .or_page(l)?;
    let p = d.person;
    let t = l.t();
    let back = format!("/persons/{id}");
    let city = &s.settings.city_code;
    let page = PersonPage {
        base: Base::new(l, t.person_title, &here).signed_in(&actor),
        id,
        name: p.name,
        id_type: l.doc_type(&p.id_type),
        id_number: p.id_number,
        phone: p.phone,
        region: p.region,
        unmasked: p.unmasked,
        unmask_href: (actor.role.can_unmask() && !p.unmasked)
            .then(|| l.link(&format!("/persons/{id}?unmask=1"))),
        arrival: d
            .destination
            .as_ref()
            .map(|d| l.date_str(&d.arrival_date))
            .unwrap_or_default(),
        destination: d.destination,
        control: p.control.as_ref().map(|c| control_card(l, &s, c)),
        cards: p
            .tasks
            .iter()
            .map(|v| task_card(l, &actor, v, &back, city))
            .collect(),
        timeline: p
            .timeline
            .iter()
            .map(|e| EventView {
                at: shanghai_time(e.at),
                actor: e.actor.clone(),
                kind: l.event_kind(&e.kind),
                details: event_details(l, &e.kind, &e.detail),
            })
            .collect(),
    };
    let mut r = ok(&page);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

// ---------------------------------------------------------------------------
// GET /command

pub struct TownRow {
    pub name: String,
    pub counts: Vec<i64>,
    pub total: i64,
}

pub struct StateRow {
    pub label: String,
    pub count: i64,
    pub overdue: i64,
    /// The bar, in the chart's 0..300 units.
    pub width: i64,
    pub y: i64,
}

pub struct Tile {
    pub name: String,
    pub overdue: i64,
    pub class: &'static str,
}

#[derive(Template)]
#[template(path = "command.html")]
struct CommandPage {
    base: Base,
    categories: Vec<String>,
    rows: Vec<TownRow>,
    totals: Vec<i64>,
    total: i64,
    states: Vec<StateRow>,
    chart_height: i64,
    overdue: Vec<(String, i64)>,
    tiles: Vec<Tile>,
}
with_base!(CommandPage);

pub async fn command(State(s): State<AppState>, actor: PageActor, l: Lang) -> PageResult {
    let board = s.services.command_board(&actor).await.or_page(l)?;
    let o = board.overview;
    let t = l.t();
    let policy = s.services.policy();
    // Columns: the policy's categories that occur today, most severe first.
    let cats: Vec<&str> = policy
        .categories
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| o.declarations_today.iter().any(|d| d.2 == *c))
        .collect();
    let mut towns: Vec<(String, String)> = Vec::new();
    for (code, name, _, _) in &o.declarations_today {
        if !towns.iter().any(|(c, _)| c == code) {
            towns.push((code.clone(), name.clone()));
        }
    }
    towns.sort();
    let rows: Vec<TownRow> = towns
        .iter()
        .map(|(code, name)| {
            let counts: Vec<i64> = cats
                .iter()
                .map(|cat| {
                    o.declarations_today
                        .iter()
                        .filter(|d| &d.0 == code && d.2 == *cat)
                        .map(|d| d.3)
                        .sum()
                })
                .collect();
            TownRow {
                name: name.clone(),
                total: counts.iter().sum(),
                counts,
            }
        })
        .collect();
    let totals: Vec<i64> = (0..cats.len())
        .map(|i| rows.iter().map(|r| r.counts[i]).sum())
        .collect();
    let order = ["dispatched", "acknowledged", "reported", "closed"];
    let max = o
        .tasks_by_state
        .iter()
        .map(|x| x.1)
        .max()
        .unwrap_or(0)
        .max(1);
    let states: Vec<StateRow> = order
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let (count, overdue) = o
                .tasks_by_state
                .iter()
                .find(|x| x.0 == *st)
                .map_or((0, 0), |x| (x.1, x.2));
            StateRow {
                label: l.task_state(st),
                count,
                overdue,
                width: count * 300 / max,
                y: i as i64 * 30,
            }
        })
        .collect();
    let overdue_of = |code: &str| {
        o.overdue_by_town
            .iter()
            .find(|x| x.0 == code)
            .map_or(0, |x| x.2)
    };
    let tiles = board
        .towns
        .iter()
        .map(|town| {
            let n = overdue_of(&town.code);
            Tile {
                name: town.name.clone(),
                overdue: n,
                class: match n {
                    0 => "ok",
                    1..=2 => "warn",
                    _ => "bad",
                },
            }
        })
        .collect();
    let page = CommandPage {
        base: Base::new(l, t.command_title, "/command").signed_in(&actor),
        categories: cats
            .iter()
            .map(|c| l.category_label(policy.category(c), c))
            .collect(),
        total: totals.iter().sum(),
        rows,
        totals,
        chart_height: states.len() as i64 * 30,
        states,
        overdue: o
            .overdue_by_town
            .iter()
            .map(|(_, name, n)| (name.clone(), *n))
            .collect(),
        tiles,
    };
    Ok(ok(&page))
}

// ---------------------------------------------------------------------------
// Risk areas.

pub struct AreaRow {
    pub id: i64,
    pub name: String,
    pub level: &'static str,
    pub high: bool,
    pub since: String,
    pub until: Option<String>,
}

#[derive(Template)]
#[template(path = "risk_areas.html")]
struct RiskAreasPage {
    base: Base,
    areas: Vec<AreaRow>,
    is_command: bool,
    csrf: String,
    add_action: String,
    import_action: String,
    f: RiskAreaForm,
    picker: Picker,
    errors: FormErrors,
    flash: Option<String>,
    csv: String,
    csv_error: Option<String>,
}
with_base!(RiskAreasPage);

impl RiskAreasPage {
    #[allow(clippy::too_many_arguments)]
    fn new(
        l: Lang,
        actor: &Actor,
        areas: Vec<bihuan_domain::risk::RiskArea>,
        f: RiskAreaForm,
        errors: FormErrors,
        flash: Option<String>,
        csv: String,
        csv_error: Option<String>,
    ) -> Self {
        let t = l.t();
        let picker = Picker::new("area_", "", &f.place, &errors).required();
        RiskAreasPage {
            base: Base::new(l, t.risk_title, "/risk-areas").signed_in(actor),
            areas: areas
                .iter()
                .rev()
                .map(|a| AreaRow {
                    id: a.id,
                    name: area_name(a),
                    level: l.risk_level(a.level),
                    high: a.level == bihuan_domain::risk::RiskLevel::High,
                    since: l.date(a.since),
                    until: a.until.map(|d| l.date(d)),
                })
                .collect(),
            is_command: actor.role.can_manage_risk_areas(),
            csrf: actor.csrf.clone(),
            add_action: l.link("/risk-areas"),
            import_action: l.link("/risk-areas/import"),
            f,
            picker,
            errors,
            flash,
            csv,
            csv_error,
        }
    }

    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }

    fn lift_action(&self, id: &i64) -> String {
        self.l.link(&format!("/risk-areas/{id}/lift"))
    }
}

#[derive(Deserialize)]
pub struct RiskQuery {
    reassessed: Option<usize>,
    raised: Option<usize>,
    lifted: Option<i64>,
}

pub async fn risk_areas(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Query(q): Query<RiskQuery>,
) -> PageResult {
    let areas = s.services.list_risk_areas().await.or_page(l)?;
    let flash = match (q.reassessed, q.raised, q.lifted) {
        (Some(a), Some(b), _) => Some(l.published(a, b)),
        (_, _, Some(id)) => Some(l.lifted(id)),
        _ => None,
    };
    Ok(ok(&RiskAreasPage::new(
        l,
        &actor,
        areas,
        RiskAreaForm {
            level: "medium".into(),
            ..Default::default()
        },
        FormErrors::default(),
        flash,
        String::new(),
        None,
    )))
}

pub async fn add_risk_area(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let form = RiskAreaForm::from_pairs(&pairs);
    match s.services.add_risk_area(&actor, form.to_input()).await {
        Ok(p) => Ok(see_other(&l.link(&format!(
            "/risk-areas?reassessed={}&raised={}",
            p.reassessed, p.raised
        )))),
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let areas = s.services.list_risk_areas().await.or_page(l)?;
            let page =
                RiskAreasPage::new(l, &actor, areas, form, errors, None, String::new(), None);
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e).or_page(l),
    }
}

pub async fn lift_risk_area(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    s.services.lift_risk_area(&actor, id).await.or_page(l)?;
    Ok(see_other(&l.link(&format!("/risk-areas?lifted={id}"))))
}

#[derive(Template)]
#[template(path = "import_report.html")]
struct ImportPage {
    base: Base,
    summary: String,
    rows: Vec<ImportRowView>,
    back_href: String,
}
with_base!(ImportPage);

pub struct ImportRowView {
    pub row: usize,
    pub id: Option<i64>,
    pub errors: Vec<String>,
}

fn import_page(l: Lang, actor: &Actor, r: ImportReport) -> ImportPage {
    let t = l.t();
    ImportPage {
        base: Base::new(l, t.r_import_title, "/risk-areas").signed_in(actor),
        summary: l.imported(r.added, r.reassessed, r.raised),
        rows: r
            .rows
            .into_iter()
            .map(|row| ImportRowView {
                row: row.row,
                id: row.id,
                errors: row
                    .errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, l.field_message(e)))
                    .collect(),
            })
            .collect(),
        back_href: l.link("/risk-areas"),
    }
}

#[derive(Deserialize)]
pub struct ImportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    csv: String,
}

pub async fn import_risk_areas(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Form(f): Form<ImportForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    if !actor.role.can_manage_risk_areas() {
        return Err(Error::Forbidden).or_page(l);
    }
    let rows = match risk_area_rows(&f.csv) {
        Ok(rows) => rows,
        Err(e) => {
            // The text could not be read as a table: show it again.
            let areas = s.services.list_risk_areas().await.or_page(l)?;
            let msg = format!("{}: {}", l.t().r_csv, l.field_message(&e));
            let page = RiskAreasPage::new(
                l,
                &actor,
                areas,
                RiskAreaForm::default(),
                FormErrors::default(),
                None,
                f.csv,
                Some(msg),
            );
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let report = s
        .services
        .import_risk_areas(&actor, rows)
        .await
        .or_page(l)?;
    Ok(ok(&import_page(l, &actor, report)))
}
