//! The staff pages: sign-in, tasks, persons, the command's overview and the
//! risk-area list. Every form post carries the session's CSRF token.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bihuan_domain::access::Role;
use bihuan_domain::monitoring::TestState;
use bihuan_domain::policy::{HealthCode, Symptom, area_name};
use bihuan_domain::task::{Outcome, TaskKind, TaskState};
use serde::Deserialize;

use super::forms::{
    CheckInForm, FormErrors, Pairs, ReportForm, RiskAreaForm, TestForm, TransferForm,
    risk_area_rows,
};
use super::public::{Picker, PlanView};
use super::{
    Base, Failure, Here, Lang, OrPage, PageActor, PageError, PageResult, SessionToken, check_csrf,
    no_store, ok, render, safe_next, see_other, shanghai_rfc3339, shanghai_time, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::auth::LoginInput;
use crate::usecases::care::FeedCaller;
use crate::usecases::declare::ControlView;
use crate::usecases::risk_areas::ImportReport;
use crate::usecases::tasks::{ReopenInput, TaskView};
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
    /// After a password change: every session ended.
    notice: Option<&'static str>,
}
with_base!(LoginPage);

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    changed: Option<String>,
}

pub async fn login_form(l: Lang, Query(q): Query<NextQuery>) -> Response {
    let t = l.t();
    ok(&LoginPage {
        base: Base::new(l, t.login_title, "/login"),
        action: l.link("/login"),
        next: safe_next(&q.next, "/tasks"),
        username: String::new(),
        error: None,
        notice: q.changed.is_some().then_some(t.pw_done),
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
    if !s.allowed(crate::web::ratelimit::Family::Login, addr) {
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
                notice: None,
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
    /// The ticked box of an irreversible action (办结, 解除管控, 解除).
    #[serde(default)]
    confirm: String,
    /// 拨打 from a card: the card to come back to.
    #[serde(default)]
    task: String,
}

#[derive(Deserialize)]
pub struct ReopenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    reason: String,
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
// Changing one's own password.

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    base: Base,
    action: String,
    csrf: String,
    errors: Vec<String>,
}
with_base!(PasswordPage);

pub async fn password_form(actor: PageActor, l: Lang) -> Response {
    let t = l.t();
    no_store(ok(&PasswordPage {
        base: Base::new(l, t.pw_title, "/password").signed_in(&actor),
        action: l.link("/password"),
        csrf: actor.csrf.clone(),
        errors: vec![],
    }))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    old_password: String,
    #[serde(default)]
    new_password: String,
}

/// On success every session ends (this one too): back to the sign-in page.
pub async fn change_password(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    let t = l.t();
    let input = crate::usecases::auth::PasswordChange {
        old_password: f.old_password,
        new_password: f.new_password,
    };
    let again = |status, errors: Vec<String>| {
        no_store(render(
            status,
            &PasswordPage {
                base: Base::new(l, t.pw_title, "/password").signed_in(&actor),
                action: l.link("/password"),
                csrf: actor.csrf.clone(),
                errors,
            },
        ))
    };
    match s.services.change_password(&actor, input).await {
        Ok(()) => {
            let secure = s.settings.public_base_url.starts_with("https://");
            let mut r = see_other(&l.link("/login?changed=1"));
            r.headers_mut()
                .insert(header::SET_COOKIE, session_cookie("", secure, true));
            Ok(r)
        }
        Err(Error::Invalid(errors)) => Ok(again(
            StatusCode::UNPROCESSABLE_ENTITY,
            errors
                .into_iter()
                .map(|e| if l.is_en() { e.message_en } else { e.message })
                .collect(),
        )),
        Err(Error::Locked) => Ok(again(
            StatusCode::TOO_MANY_REQUESTS,
            vec![t.login_locked.to_string()],
        )),
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// Tasks.

/// One task as a card, with the actions its state and the user's role allow.
pub struct TaskCard {
    pub id: i64,
    /// Of an announced drill: badged 演练.
    pub drill: bool,
    pub kind: String,
    pub state: String,
    pub state_label: String,
    pub reason: String,
    pub due: String,
    pub overdue: bool,
    /// An open task of an urgent kind: first in the list, in red.
    pub urgent: bool,
    pub person_href: String,
    pub escalated_to: Option<String>,
    pub escalated_duty: Option<String>,
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub can_ack: bool,
    pub can_close: bool,
    pub can_reopen: bool,
    pub report: Option<ReportView>,
    pub csrf: String,
    pub back: String,
    pub action: String,
    /// Who and where: the person's name, address and a masked phone.
    pub who: Option<CardWho>,
}

/// The person a card is about, as the worker at the door needs them.
pub struct CardWho {
    pub name: String,
    pub address: String,
    pub phone_masked: String,
    /// 拨打: reveals the full number, audited; None for roles that see masks.
    pub call_action: Option<String>,
}

/// The people of a list of task cards, by person id.
type CardPeople = std::collections::HashMap<i64, crate::storage::repo::CardPersonRow>;

async fn card_people(
    s: &AppState,
    actor: &Actor,
    views: &[TaskView],
    l: Lang,
) -> Result<CardPeople, PageError> {
    let ids: Vec<i64> = views.iter().filter_map(|v| v.person_id).collect();
    s.services.card_people(actor, &ids).await.or_page(l)
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
    pub moved_label: String,
    pub codes: Vec<(&'static str, &'static str)>,
    /// The city whose towns and villages the "moved" picker offers.
    pub city: String,
    /// 信息变更待核实: (declaration id, what it would change), answered
    /// with the report (a verification task on the person page).
    pub identity_changes: Vec<(i64, String)>,
    /// 暖心服务: the note is the answer the person reads on their receipt.
    pub person_sees: bool,
}

/// The outcomes a report offers: a verification's findings, and for other
/// work (help, reminders, release) 已处理 first. `None`: all of them.
fn outcomes(l: Lang, kind: Option<&str>) -> Vec<(&'static str, String)> {
    let mut list = vec![
        Outcome::Verified,
        Outcome::NotFound,
        Outcome::Refused,
        Outcome::Moved,
        Outcome::Corrected,
    ];
    match kind.map(TaskKind::parse) {
        Some(Some(TaskKind::Verify)) => {}
        Some(_) => list.insert(0, Outcome::Done),
        None => list.push(Outcome::Done),
    }
    list.into_iter()
        .map(|o| (o.as_str(), l.outcome(o.as_str())))
        .collect()
}

impl ReportView {
    /// `kind`: the task's kind, when known.
    #[allow(clippy::too_many_arguments)]
    fn new(
        l: Lang,
        actor: &Actor,
        task_id: i64,
        kind: Option<&str>,
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
            outcomes: outcomes(l, kind),
            moved_label: l.outcome(Outcome::Moved.as_str()),
            codes: [
                (HealthCode::Green, t.code_green),
                (HealthCode::Yellow, t.code_yellow),
                (HealthCode::Red, t.code_red),
            ]
            .into_iter()
            .map(|(c, label)| (c.as_str(), label))
            .collect(),
            city: city.to_string(),
            identity_changes: Vec::new(),
            person_sees: kind.and_then(TaskKind::parse) == Some(TaskKind::Help),
            f,
            errors,
        }
    }

    pub fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
}

/// Each waiting identity change in words: the declared name, phone and grid.
fn identity_changes(
    l: Lang,
    changes: &[crate::storage::repo::PendingIdentity],
) -> Vec<(i64, String)> {
    let t = l.t();
    changes
        .iter()
        .map(|c| {
            (
                c.declaration_id,
                format!(
                    "{} {} · {} {} · {} {} · {}",
                    t.s_name,
                    c.name,
                    t.f_phone,
                    c.phone_masked,
                    t.t_id_region,
                    l.region_code(&c.region),
                    shanghai_time(c.received_at)
                ),
            )
        })
        .collect()
}

fn task_card(
    l: Lang,
    actor: &Actor,
    v: &TaskView,
    back: &str,
    city: &str,
    people: &CardPeople,
) -> TaskCard {
    let state = TaskState::parse(&v.state);
    let review = actor.role.can_review();
    let who = v.person_id.and_then(|p| people.get(&p)).map(|p| CardWho {
        name: p.name.clone(),
        address: match (&p.village, &p.address) {
            (_, Some(a)) if !a.is_empty() => a.clone(),
            _ => l.t().g_no_address.to_string(),
        },
        phone_masked: p.phone_masked.clone(),
        call_action: actor
            .role
            .can_unmask()
            .then(|| l.link(&format!("/persons/{}/call", p.id))),
    });
    TaskCard {
        who,
        id: v.id,
        kind: l.task_kind(&v.kind),
        state_label: l.task_state(&v.state),
        reason: v.reason.clone(),
        due: shanghai_rfc3339(&v.due_at),
        overdue: v.overdue,
        urgent: v.urgent,
        drill: v.drill,
        // Empty for work that belongs to the whole grid.
        person_href: v
            .person_id
            .map(|p| l.link(&format!("/persons/{p}")))
            .unwrap_or_default(),
        escalated_to: v.escalated_to.as_deref().map(|r| l.region_code(r)),
        escalated_duty: v.escalated_duty.clone(),
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
                Some(&v.kind),
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
    /// What the last action did (已签收 · 任务 #12).
    flash: Option<String>,
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
    /// After an action: which one, on which task.
    #[serde(default)]
    done: String,
    #[serde(default)]
    task: Option<i64>,
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
    let people = card_people(&s, &actor, &views, l).await?;
    let back = without_done(&here);
    let page = TasksPage {
        base: Base::new(l, heading, &here).signed_in(&actor),
        heading,
        flash: q.task.and_then(|id| done_message(l, &q.done, id)),
        tabs,
        cards: views
            .iter()
            .map(|v| task_card(l, &actor, v, &back, city, &people))
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

/// A page's path and query without a previous action's `done`/`task`.
fn without_done(path: &str) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let kept: Vec<&str> = q
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("done=") && !kv.starts_with("task="))
        .collect();
    if kept.is_empty() {
        p.to_string()
    } else {
        format!("{p}?{}", kept.join("&"))
    }
}

/// After an action on a task: back to the same list (filter and page kept),
/// saying what was done, scrolled to the card.
fn after_action(l: Lang, back: &str, done: &str, id: i64) -> String {
    let b = without_done(&safe_next(back, "/tasks"));
    let b = b.split('#').next().unwrap_or_default().to_string();
    let sep = if b.contains('?') { '&' } else { '?' };
    let with = format!("{b}{sep}done={done}&task={id}");
    let with = if with.contains("lang=") {
        with
    } else {
        l.link(&with)
    };
    format!("{with}#task-{id}")
}

/// The confirmation shown after an action, or None for an unknown one.
fn done_message(l: Lang, done: &str, id: i64) -> Option<String> {
    let t = l.t();
    let what = match done {
        "ack" => t.g_done_ack,
        "report" => t.g_done_report,
        "close" => t.g_done_close,
        "reopen" => t.g_done_reopen,
        _ => return None,
    };
    Some(format!("{what} · {} #{id}", t.g_task_no))
}

/// The city's towns and villages by code, for words instead of codes.
pub(super) async fn region_names(
    s: &AppState,
    l: Lang,
) -> Result<std::collections::HashMap<String, String>, PageError> {
    let mut names = std::collections::HashMap::new();
    for t in s.services.villages_by_town().await.or_page(l)? {
        for v in t.villages {
            names.insert(v.code, format!("{} · {}", t.name, v.name));
        }
        names.insert(t.code, t.name);
    }
    Ok(names)
}

/// An irreversible action goes ahead only with its box ticked; without it,
/// nothing changes and the page says why (JS `confirm()` is only a courtesy).
pub fn require_confirm(confirm: &str, l: Lang) -> Result<(), PageError> {
    if confirm == "1" || confirm == "on" || confirm == "yes" {
        return Ok(());
    }
    let zh = super::i18n::ZH.g_confirm_needed;
    let en = super::i18n::EN.g_confirm_needed;
    Err(Error::field("confirm", "confirm", zh, en)).or_page(l)
}

/// POST /persons/{id}/call: 拨打. Shows the full number to tap, and records
/// that it was seen (`unmasked`).
pub async fn call(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    let (name, phone) = s.services.phone_to_call(&actor, id).await.or_page(l)?;
    let t = l.t();
    let back = safe_next(&f.back, "/tasks");
    let page = CallPage {
        base: Base::new(l, t.g_call_title, &format!("/persons/{id}")).signed_in(&actor),
        name,
        phone,
        back_href: match f.task.parse::<i64>() {
            Ok(task) => format!("{}#task-{task}", back_to(l, &without_done(&back))),
            Err(_) => back_to(l, &back),
        },
    };
    Ok(no_store(ok(&page)))
}

#[derive(Template)]
#[template(path = "call.html")]
struct CallPage {
    base: Base,
    name: String,
    phone: String,
    back_href: String,
}
with_base!(CallPage);

pub async fn ack(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    s.services.acknowledge_task(&actor, id).await.or_page(l)?;
    Ok(see_other(&after_action(l, &f.back, "ack", id)))
}

pub async fn close(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    require_confirm(&f.confirm, l)?;
    s.services.close_task(&actor, id).await.or_page(l)?;
    Ok(see_other(&after_action(l, &f.back, "close", id)))
}

pub async fn reopen(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<ReopenForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    s.services
        .reopen_task(&actor, id, ReopenInput { reason: f.reason })
        .await
        .or_page(l)?;
    Ok(see_other(&after_action(l, &f.back, "reopen", id)))
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
        Ok(_) => Ok(see_other(&after_action(l, &back, "report", id))),
        Err(Error::Invalid(errors)) => {
            let t = l.t();
            let errors = FormErrors::of(&errors, l, &[]);
            let back = safe_next(&back, "/tasks");
            let city = &s.settings.city_code;
            let r = ReportView::new(l, &actor, id, None, &back, city, form, errors);
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
    /// (text, kept as recorded rather than worded by the page).
    pub details: Vec<(String, bool)>,
}

/// The 转移 form of the person page.
pub struct TransferView {
    pub action: String,
    /// Out of the city: the national picker (loaded when opened).
    pub picker: Picker,
    /// Inside the city: the town → village picker's root.
    pub city: String,
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
    /// The health-code colour (green, yellow, red) and its label.
    code: String,
    code_label: String,
    flash: Vec<String>,
    alarm: bool,
    csrf: String,
    back: String,
    /// 代为打卡, for the grid worker while the control runs.
    check_in_action: Option<String>,
    symptoms: Vec<(&'static str, &'static str)>,
    /// 录入核酸, while the control runs.
    test_action: Option<String>,
    results: Vec<(&'static str, String)>,
    /// 确认解除管控, for the levels above the grid once due.
    release_action: Option<String>,
    transfer: Option<TransferView>,
    cards: Vec<TaskCard>,
    timeline: Vec<EventView>,
}
with_base!(PersonPage);

#[derive(Deserialize)]
pub struct PersonQuery {
    #[serde(default)]
    unmask: String,
    /// After 代为打卡: the temperature recorded.
    #[serde(default)]
    checked: Option<String>,
    #[serde(default)]
    alarm: Option<String>,
    #[serde(default)]
    tested: Option<String>,
    #[serde(default)]
    released: Option<String>,
    #[serde(default)]
    transferred: Option<String>,
    #[serde(default)]
    done: String,
    #[serde(default)]
    task: Option<i64>,
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

/// A region in words: its name from the city's tree (a grid by its village),
/// else the level and code.
pub(super) fn region_words(
    l: Lang,
    names: &std::collections::HashMap<String, String>,
    code: &str,
) -> String {
    if let Some(n) = names.get(code) {
        return n.clone();
    }
    match names.get(code.get(..12).unwrap_or_default()) {
        Some(v) if code.len() == 15 => format!("{v} · {}", l.region_code(code)),
        _ => l.region_code(code),
    }
}

/// The parts of an event's detail worth a line on the timeline, in words.
fn event_details(
    l: Lang,
    names: &std::collections::HashMap<String, String>,
    kind: &str,
    d: &serde_json::Value,
) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    // Text kept as typed or worded (reasons, notes, addresses): shown as
    // recorded, in whatever language that was.
    let mut kept = Vec::new();
    let text = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_string);
    if let Some(rs) = d.get("reasons").and_then(|v| v.as_array()) {
        kept.extend(rs.iter().filter_map(|r| r.as_str().map(str::to_string)));
    }
    match kind {
        "task_created" | "task_attached" => kept.extend(text("reason")),
        "task_report" => {
            out.extend(text("outcome").map(|o| l.outcome(&o)));
            kept.extend(text("note").filter(|n| !n.is_empty()));
        }
        "task_escalated" => out.extend(text("to").map(|r| region_words(l, names, &r))),
        "checked_in" => {
            let symptoms: Vec<&str> = d
                .get("symptoms")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str())
                .filter_map(Symptom::parse)
                .map(|s| l.symptom(s))
                .collect();
            let t = text("temperature").unwrap_or_default();
            let mut line = l.celsius(l.t().ci_temp, &t);
            if !symptoms.is_empty() {
                line.push_str(&format!(" · {}", symptoms.join("、")));
            }
            out.push(line);
        }
        "test_recorded" => out.push(format!(
            "{} · {}",
            text("sampled_on")
                .map(|d| l.date_str(&d))
                .unwrap_or_default(),
            text("result")
                .map(|r| l.test_result(&r))
                .unwrap_or_default()
        )),
        "control_positive" => out.extend(text("sampled_on").map(|d| l.date_str(&d))),
        "health_code_changed" => out.extend(text("colour").map(|c| l.health_code(&c))),
        "help_requested" => {
            out.extend(text("kind").map(|k| l.help_kind(&k)));
            kept.extend(text("note").filter(|n| !n.is_empty()));
        }
        "help_rated" => out.extend(
            d.get("rating")
                .and_then(|r| r.as_i64())
                .map(|r| format!("{r}/5")),
        ),
        "contact_confirmed" | "contact_struck" | "traced" => out.extend(
            d.get("case")
                .and_then(|c| c.as_i64())
                .map(|c| format!("{} #{c}", l.t().nav_tracing)),
        ),
        "unmasked" if text("field").as_deref() == Some("phone") => {
            out.push(l.t().g_unmasked_call.to_string())
        }
        "transferred" => {
            out.extend(text("to").map(|r| region_words(l, names, &r)));
            kept.extend(text("address"));
            kept.extend(text("reason").filter(|n| !n.is_empty()));
        }
        "handed_over" => {
            kept.extend(text("to"));
            // 协查 hand-over from 流调: the county by name.
            out.extend(
                text("county")
                    .map(|c| bihuan_domain::regions::Divisions::get().place_name(&c, None)),
            );
            kept.extend(text("address"));
            kept.extend(text("reason").filter(|n| !n.is_empty()));
        }
        _ => {}
    }
    out.into_iter()
        .map(|w| (w, false))
        .chain(kept.into_iter().map(|k| (k, true)))
        .collect()
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
    let v = s
        .services
        .person_page(&actor, id, unmask)
        .await
        .or_page(l)?;
    let d = v.detail;
    let p = d.person;
    let t = l.t();
    let back = format!("/persons/{id}");
    let city = &s.settings.city_code;
    let status = p.control.as_ref().map(|c| c.status.as_str());
    let running = matches!(status, Some("active" | "due_for_release"));
    let mut flash = Vec::new();
    if let Some(temp) = &q.checked {
        flash.push(l.celsius(t.p_checked, temp));
    }
    if q.tested.is_some() {
        flash.push(t.p_tested.to_string());
    }
    if q.released.is_some() {
        flash.push(t.p_released.to_string());
    }
    if q.transferred.is_some() {
        flash.push(t.p_transferred.to_string());
    }
    flash.extend(q.task.and_then(|task| done_message(l, &q.done, task)));
    let people = card_people(&s, &actor, &p.tasks, l).await?;
    let names = region_names(&s, l).await?;
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
        code_label: l.health_code(&v.health_code),
        code: v.health_code,
        flash,
        alarm: q.alarm.is_some(),
        csrf: actor.csrf.clone(),
        back: back.clone(),
        check_in_action: (running && actor.role == Role::GridWorker)
            .then(|| l.link(&format!("/persons/{id}/check-in"))),
        symptoms: Symptom::ALL
            .into_iter()
            .map(|s| (s.as_str(), l.symptom(s)))
            .collect(),
        test_action: running.then(|| l.link(&format!("/persons/{id}/tests"))),
        results: test_results(l),
        release_action: (actor.role.can_review() && status == Some("due_for_release"))
            .then(|| l.link(&format!("/persons/{id}/release"))),
        transfer: status
            .filter(|st| !matches!(*st, "transferred_out" | "released"))
            .map(|_| TransferView {
                action: l.link(&format!("/persons/{id}/transfer")),
                picker: Picker::new("tr_", "", &Default::default(), &FormErrors::default()).lazy(),
                city: city.clone(),
            }),
        cards: p
            .tasks
            .iter()
            .map(|v| {
                let mut card = task_card(l, &actor, v, &back, city, &people);
                if let Some(r) = card.report.as_mut().filter(|_| v.kind == "verify") {
                    r.identity_changes = identity_changes(l, &p.identity_changes);
                }
                card
            })
            .collect(),
        timeline: p
            .timeline
            .iter()
            .map(|e| EventView {
                at: shanghai_time(e.at),
                actor: l.actor(&e.actor),
                kind: match e.detail.get("field").and_then(|f| f.as_str()) {
                    Some("phone") if e.kind == "unmasked" => t.g_unmasked_phone.to_string(),
                    _ => l.event_kind(&e.kind),
                },
                details: event_details(l, &names, &e.kind, &e.detail),
            })
            .collect(),
    };
    let mut r = ok(&page);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

fn test_results(l: Lang) -> Vec<(&'static str, String)> {
    ["negative", "positive", "pending"]
        .into_iter()
        .map(|r| (r, l.test_result(r)))
        .collect()
}

/// POST /persons/{id}/check-in: 代为打卡.
pub async fn check_in_for(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let form = CheckInForm::from_pairs(&pairs);
    let c = s
        .services
        .check_in_for(&actor, id, form.to_input())
        .await
        .or_page(l)?;
    let alarm = if c.alarm { "&alarm=1" } else { "" };
    Ok(see_other(&l.link(&format!(
        "/persons/{id}?checked={}{alarm}",
        c.temperature
    ))))
}

/// POST /persons/{id}/tests: 录入核酸, from the person page or 今日应检.
pub async fn record_test(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let now = crate::clock::shanghai(s.services.clock.now()).to_rfc3339();
    let input = TestForm::from_pairs(&pairs).to_input(id, &now);
    s.services.record_test(&actor, input).await.or_page(l)?;
    let back = safe_next(&pairs.get("back"), &format!("/persons/{id}"));
    let (path, query) = back.split_once('?').unwrap_or((&back, ""));
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("tested="))
        .collect();
    let tested = format!("tested={id}");
    kept.push(&tested);
    Ok(see_other(&back_to(
        l,
        &format!("{path}?{}", kept.join("&")),
    )))
}

/// POST /persons/{id}/release: 确认解除管控.
pub async fn release(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    check_csrf(&actor, &f.csrf, l)?;
    require_confirm(&f.confirm, l)?;
    s.services.confirm_release(&actor, id).await.or_page(l)?;
    Ok(see_other(&l.link(&format!("/persons/{id}?released=1"))))
}

/// POST /persons/{id}/transfer: 转移, inside the city or out of it.
pub async fn transfer(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let form = TransferForm::from_pairs(&pairs);
    let r = s
        .services
        .transfer(&actor, id, form.to_input())
        .await
        .or_page(l)?;
    // Moved to a grid outside the actor's region: the person is gone from view.
    let still_mine = r
        .get("grid")
        .and_then(|g| g.as_str())
        .is_none_or(|g| g.starts_with(actor.scope()));
    let to = if still_mine {
        format!("/persons/{id}?transferred=1")
    } else {
        "/tasks".to_string()
    };
    Ok(see_other(&l.link(&to)))
}

// ---------------------------------------------------------------------------
// GET /due-tests: 今日应检.

pub struct DueRow {
    pub person_id: i64,
    pub name: String,
    pub href: String,
    pub day: String,
    pub double: bool,
    pub state: &'static str,
    pub state_label: &'static str,
    /// The 录入核酸 form, while nothing is recorded today.
    pub action: Option<String>,
    pub just_recorded: bool,
}

#[derive(Template)]
#[template(path = "due_tests.html")]
struct DueTestsPage {
    base: Base,
    today: String,
    rows: Vec<DueRow>,
    results: Vec<(&'static str, String)>,
    csrf: String,
    recorded: bool,
}
with_base!(DueTestsPage);

#[derive(Deserialize)]
pub struct DueQuery {
    #[serde(default)]
    tested: Option<i64>,
}

pub async fn due_tests(
    State(s): State<AppState>,
    actor: PageActor,
    l: Lang,
    Query(q): Query<DueQuery>,
) -> PageResult {
    let rows = s.services.due_tests(&actor).await.or_page(l)?;
    let t = l.t();
    let page = DueTestsPage {
        base: Base::new(l, t.nav_due, "/due-tests").signed_in(&actor),
        today: l.date(s.services.clock.today()),
        rows: rows
            .into_iter()
            .map(|r| DueRow {
                href: l.link(&format!("/persons/{}", r.person_id)),
                day: l.day_n(r.day),
                double: r.double,
                state: match r.state {
                    TestState::Due => "due",
                    TestState::Done => "done",
                    TestState::Missed => "missed",
                    TestState::Positive => "positive",
                },
                state_label: l.test_state(r.state),
                action: matches!(r.state, TestState::Due | TestState::Missed)
                    .then(|| l.link(&format!("/persons/{}/tests", r.person_id))),
                just_recorded: q.tested == Some(r.person_id),
                person_id: r.person_id,
                name: r.name,
            })
            .collect(),
        results: test_results(l),
        csrf: actor.csrf.clone(),
        recorded: q.tested.is_some(),
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
    /// Open 暖心服务 requests: (town, open, longest wait).
    help: Vec<(String, i64, String)>,
    codes_href: Option<String>,
    handovers_href: Option<String>,
}
with_base!(CommandPage);

pub async fn command(State(s): State<AppState>, actor: PageActor, l: Lang) -> PageResult {
    let v = s.services.command_page(&actor).await.or_page(l)?;
    let board = v.board;
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
        help: v
            .help
            .into_iter()
            .map(|h| {
                let name = if h.town_name.is_empty() {
                    h.town
                } else {
                    h.town_name
                };
                (name, h.open, l.minutes(h.longest_wait_minutes))
            })
            .collect(),
        codes_href: actor
            .role
            .can_manage_risk_areas()
            .then(|| "/exports/health-codes.xlsx".to_string()),
        handovers_href: actor
            .role
            .can_unmask()
            .then(|| "/exports/handovers.xlsx".to_string()),
    };
    Ok(ok(&page))
}

/// GET /exports/health-codes.xlsx: the 赋码 feed as the command downloads it,
/// for people: Chinese headers, words and local times. (The API's
/// `?format=csv|xlsx` is the machines' feed and keeps its stable keys.)
pub async fn health_codes_xlsx(State(s): State<AppState>, actor: PageActor, l: Lang) -> PageResult {
    let who = actor.username.clone();
    let feed = s
        .services
        .health_code_feed(
            FeedCaller::User(actor.0),
            crate::storage::monitoring::FeedFrom::Cursor(0),
            "xlsx",
        )
        .await
        .or_page(l)?;
    let mut table = vec![
        [
            "人员编号",
            "证件类型",
            "证件号码",
            "赋码颜色",
            "变更时间",
            "序号",
        ]
        .map(String::from)
        .to_vec(),
    ];
    table.extend(feed.rows.iter().map(|r| {
        vec![
            r.person_id.to_string(),
            bihuan_domain::identity::DocumentType::parse(&r.id_type)
                .map_or(r.id_type.clone(), |d| d.label_zh().to_string()),
            r.id_number.clone(),
            match r.colour.as_str() {
                "green" => "绿码".to_string(),
                "yellow" => "黄码".to_string(),
                "red" => "红码".to_string(),
                other => other.to_string(),
            },
            shanghai_time(r.changed_at),
            r.seq.to_string(),
        ]
    }));
    let mark = crate::export::Mark::By {
        who: &who,
        at: s.services.clock.timestamp(),
    };
    let bytes = crate::export::xlsx("赋码", &table, mark).or_page(l)?;
    Ok(crate::web::api::xlsx_response(bytes, "health-codes.xlsx"))
}

/// GET /exports/handovers.xlsx: the 协查 hand-over list.
pub async fn handovers_xlsx(State(s): State<AppState>, actor: PageActor, l: Lang) -> PageResult {
    let bytes = s.services.handovers_xlsx(&actor).await.or_page(l)?;
    Ok(crate::web::api::xlsx_response(bytes, "handovers.xlsx"))
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
    require_confirm(&f.confirm, l)?;
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
    req: axum::extract::Request,
) -> PageResult {
    // Refused before the text is read: the form is not theirs.
    if !actor.role.can_manage_risk_areas() {
        return Err(Error::Forbidden).or_page(l);
    }
    let f: ImportForm = match super::rounds::read_form(req, &s).await {
        Ok(f) => f,
        Err(refused) => return Ok(refused),
    };
    check_csrf(&actor, &f.csrf, l)?;
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
