//! The server-rendered pages over the same use cases as the JSON API.
//!
//! Each handler parses its form, authorises, calls one `Services` method and
//! renders an askama template (escaped by default). Chinese by default,
//! English with `?lang=en`, which every link and form action carries on.
//! The pages work without JavaScript; /static/app.js only adds the cascading
//! region pickers, keeps a half-filled 返永通 form in the browser and selects
//! a refused scan so the next one replaces it.

mod assist;
mod charts;
mod checkpoints;
mod command;
mod contact_tracing;
mod dashboard;
mod drills;
mod forms;
mod gatherings;
mod goods;
pub mod i18n;
mod public;
mod rolling;
pub mod romanize;
mod rounds;
mod sampling;
mod sentinel;
mod sites;
mod staff;
mod venues;
mod zones;

use std::ops::Deref;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use bihuan_domain::access::Role;

use super::error::status_of;
use super::extract::{SESSION_COOKIE, cookie};
use super::{AppState, IMPORT_LIMIT};
use crate::error::Error;
use crate::usecases::Actor;
pub use i18n::{Lang, T};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(public::index))
        .route("/declare", get(public::declare_form).post(public::declare))
        .route(
            "/s/recover",
            get(public::recover_form).post(public::recover_send),
        )
        .route("/s/recover/code", post(public::recover_code))
        .route("/s/{receipt}", get(public::status))
        .route("/s/{receipt}/check-in", post(public::check_in))
        .route("/s/{receipt}/help", post(public::request_help))
        .route("/s/{receipt}/help/{id}/rate", post(public::rate_help))
        .route("/s/{receipt}/release", get(public::release_notice))
        .route("/poster", get(public::poster))
        .route("/login", get(staff::login_form).post(staff::login))
        .route("/logout", post(staff::logout))
        .route(
            "/password",
            get(staff::password_form).post(staff::change_password),
        )
        .route("/tasks", get(staff::tasks))
        .route("/tasks/{id}/ack", post(staff::ack))
        .route("/tasks/{id}/report", post(staff::report))
        .route("/tasks/{id}/close", post(staff::close))
        .route("/tasks/{id}/reopen", post(staff::reopen))
        .route("/persons/{id}", get(staff::person))
        .route("/persons/{id}/check-in", post(staff::check_in_for))
        .route("/persons/{id}/tests", post(staff::record_test))
        .route("/persons/{id}/release", post(staff::release))
        .route("/persons/{id}/transfer", post(staff::transfer))
        .route("/persons/{id}/call", post(staff::call))
        .route("/due-tests", get(staff::due_tests))
        .route("/command", get(staff::command))
        .route("/exports/health-codes.xlsx", get(staff::health_codes_xlsx))
        .route("/exports/handovers.xlsx", get(staff::handovers_xlsx))
        .route(
            "/risk-areas",
            get(staff::risk_areas).post(staff::add_risk_area),
        )
        .route("/risk-areas/{id}/lift", post(staff::lift_risk_area))
        .route("/risk-areas/import", post(staff::import_risk_areas))
        .route("/sample", get(sampling::sample))
        .route("/sample/tubes", post(sampling::open_tube))
        .route("/sample/tubes/{barcode}", get(sampling::tube))
        .route(
            "/sample/tubes/{barcode}/members",
            post(sampling::add_member),
        )
        .route("/sample/tubes/{barcode}/seal", post(sampling::seal))
        .route("/sites", get(sites::sites).post(sites::add_site))
        .route("/rounds", get(rounds::rounds).post(rounds::create_round))
        .route("/rounds/{id}", get(rounds::round))
        // `{grid}` or `{grid}.csv`, the list as a download.
        .route("/rounds/{id}/untested/{grid}", get(rounds::untested))
        .route(
            "/residents",
            get(rounds::residents)
                .post(rounds::import_residents)
                .layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/zones", get(zones::zones).post(zones::mark_zone))
        .route("/zones/{id}/lift", post(zones::lift_zone))
        .route("/rolling", get(rolling::rolling))
        .route(
            "/rolling/import",
            post(rolling::import_roster).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/sites/{id}/poster", get(sites::poster))
        .route(
            "/instructions",
            get(command::instructions)
                .post(command::send)
                .layer(DefaultBodyLimit::max(16 * 1024 * 1024)),
        )
        .route("/instructions/{id}", get(command::instruction))
        .route("/instructions/{id}/ack", post(command::ack))
        .route(
            "/instructions/{id}/answers",
            post(command::answer).layer(DefaultBodyLimit::max(4 * 1024 * 1024)),
        )
        .route(
            "/instructions/{id}/attachments/{file}",
            get(command::attachment),
        )
        .route(
            "/instructions/{id}/answers/{answer}/photo",
            get(command::photo),
        )
        .route("/duty", get(command::duty).post(command::add_duty))
        .route("/audit", get(command::audit))
        .route("/drills", get(drills::drills).post(drills::start))
        .route("/drills/{id}", get(drills::drill))
        .route("/drills/{id}/end", post(drills::end))
        .route("/drills/{id}/purge", post(drills::purge))
        .route("/venues", get(venues::venues).post(venues::register))
        .route("/venues/{id}/approve", post(venues::approve))
        .route("/venues/{id}/reject", post(venues::reject))
        .route("/venues/{id}/poster", get(venues::poster))
        .route("/v/{code}", get(venues::visit_form).post(venues::visit))
        .route(
            "/tracing",
            get(contact_tracing::cases).post(contact_tracing::open_case),
        )
        .route("/tracing/{id}", get(contact_tracing::case))
        .route("/tracing/{id}/trace", post(contact_tracing::trace))
        .route(
            "/tracing/{id}/contacts/{person}",
            post(contact_tracing::decide),
        )
        .route(
            "/assist",
            get(assist::lists)
                .post(assist::upload)
                .layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route(
            "/assist/uploads/{id}",
            get(assist::mapping_form).post(assist::import_upload),
        )
        .route("/assist/{id}", get(assist::list))
        .route("/assist/{id}/export", get(assist::export))
        .route("/assist/{id}/rows/{row}/route", post(assist::route))
        .route("/dashboard", get(dashboard::home))
        .route("/dashboard/{region}", get(dashboard::dashboard))
        .route("/dashboard/{region}/list/{metric}", get(dashboard::list))
        .route("/reports", get(dashboard::reports).post(dashboard::make))
        .route("/reports/{id}", get(dashboard::report))
        .route("/static/app.css", get(app_css))
        .route("/static/app.js", get(app_js))
        .merge(sentinel::routes())
        .merge(gatherings::routes())
        .merge(checkpoints::routes())
        .merge(goods::routes())
}

// ---------------------------------------------------------------------------
// Static files, compiled in.

const APP_CSS: &str = include_str!("../../../static/app.css");
const APP_JS: &str = include_str!("../../../static/app.js");

/// A strong validator for a compiled-in file: FNV-1a of its bytes, computed
/// at compile time, so it changes exactly when the file does.
const fn etag_of(body: &str) -> u64 {
    let bytes = body.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const APP_CSS_TAG: u64 = etag_of(APP_CSS);
const APP_JS_TAG: u64 = etag_of(APP_JS);

/// Whether an If-None-Match header names this ETag (or `*`). Compressed
/// answers may come back with a `-gzip`-style suffix or a weak prefix;
/// both still name the same file.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    let bare = etag.trim_matches('"');
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|t| t == "*" || t == bare || t.strip_prefix(bare).is_some_and(|r| r.starts_with('-')))
}

fn asset(
    headers: &HeaderMap,
    content_type: &'static str,
    tag: u64,
    body: &'static str,
) -> Response {
    let etag = format!("\"{tag:016x}\"");
    let cache = (header::CACHE_CONTROL, "public, max-age=3600".to_string());
    if matches_etag(headers, &etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), cache]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            cache,
            (header::ETAG, etag),
        ],
        body,
    )
        .into_response()
}

async fn app_css(headers: HeaderMap) -> Response {
    asset(&headers, "text/css; charset=utf-8", APP_CSS_TAG, APP_CSS)
}

async fn app_js(headers: HeaderMap) -> Response {
    asset(
        &headers,
        "text/javascript; charset=utf-8",
        APP_JS_TAG,
        APP_JS,
    )
}

// ---------------------------------------------------------------------------
// The layout every page shares.

/// What the layout needs: the strings, the language, the signed-in user.
pub struct Base {
    pub t: &'static T,
    pub l: Lang,
    pub title: String,
    pub nav: Option<Nav>,
    /// The same page in the other language.
    pub switch_href: String,
    /// The page's own path and query.
    path: String,
}

pub struct Nav {
    pub username: String,
    pub role: &'static str,
    pub tasks_label: &'static str,
    pub csrf: String,
    /// The command: the 三区 page.
    pub is_command: bool,
    /// The command and towns: 流调.
    pub may_trace: bool,
    /// The command and towns: 协查 lists.
    pub is_assist: bool,
    /// One row of large tabs for the work of the day (任务 / 应检 / 采样 for
    /// the grid); everything else under 更多.
    pub tabs: Vec<NavLink>,
    pub more: Vec<NavLink>,
    /// The tab of the page shown, by href.
    pub current: String,
}

pub struct NavLink {
    pub label: &'static str,
    pub href: String,
}

/// The navigation a role needs, split into the tabs and 更多.
fn nav_links(l: Lang, role: Role, may_trace: bool) -> (Vec<NavLink>, Vec<NavLink>) {
    let t = l.t();
    let link = |label: &'static str, path: &str| NavLink {
        label,
        href: l.link(path),
    };
    let is_command = role.can_manage_risk_areas();
    let tabs_first = match role {
        Role::GridWorker | Role::Village => vec![
            link(t.g_tab_tasks, "/tasks"),
            link(t.g_tab_due, "/due-tests"),
            link(t.g_tab_sample, "/sample"),
        ],
        _ => vec![
            link(t.g_tab_tasks, "/tasks"),
            link(t.g_tab_overview, "/command"),
            link(t.g_tab_due, "/due-tests"),
        ],
    };
    let shown: Vec<String> = tabs_first.iter().map(|n| n.href.clone()).collect();
    let mut more = vec![
        link(tasks_label(t, role), "/tasks"),
        link(t.nav_due, "/due-tests"),
        link(t.nav_sample, "/sample"),
        link(t.nav_rounds, "/rounds"),
        link(t.nav_rolling, "/rolling"),
        link(t.nav_command, "/command"),
    ];
    if may_trace {
        more.push(link(t.nav_dashboard, "/dashboard"));
    }
    if is_command {
        more.push(link(t.nav_reports, "/reports"));
    }
    more.push(link(t.nav_risk, "/risk-areas"));
    more.push(link(t.nav_instructions, "/instructions"));
    more.push(link(t.nav_venues, "/venues"));
    if may_trace {
        more.push(link(t.nav_tracing, "/tracing"));
        more.push(link(t.nav_duty, "/duty"));
    }
    if is_command {
        more.push(link(t.nav_zones, "/zones"));
        more.push(link(t.nav_drills, "/drills"));
        more.push(link(t.nav_audit, "/audit"));
    }
    if role.can_handle_assist_lists() {
        more.push(link(t.as_nav, "/assist"));
    }
    // 哨点: the staff of a pharmacy's or clinic's region; 预警: towns and the city.
    if role.can_review() {
        more.push(link(t.nav_pharmacy, "/pharmacy"));
        more.push(link(t.nav_fever, "/fever-clinic"));
    }
    if matches!(role, Role::Town | Role::Command) {
        more.push(link(t.nav_alerts, "/alerts"));
    }
    // gate pages: who may use them (grid workers review no gathering)
    if role != Role::GridWorker {
        more.push(link(t.nav_gatherings, "/gatherings"));
        more.push(link(t.nav_checkpoints, "/checkpoints"));
        more.push(link(t.nav_goods, "/goods"));
    }
    if matches!(role, Role::Command | Role::Town) {
        more.push(link(t.nav_overrides, "/policy-overrides"));
    }
    more.push(link(t.nav_transfers, "/transfers"));
    more.push(link(t.pw_title, "/password"));
    more.retain(|n| !shown.contains(&n.href));
    (tabs_first, more)
}

impl Base {
    pub fn new(l: Lang, title: impl Into<String>, path: &str) -> Base {
        Base {
            t: l.t(),
            l,
            title: title.into(),
            nav: None,
            switch_href: switch_href(l, path),
            path: path.to_string(),
        }
    }

    pub fn signed_in(mut self, actor: &Actor) -> Base {
        let t = self.t;
        let may_trace = actor.role.can_review() && actor.region.as_str().len() <= 9;
        let (tabs, more) = nav_links(self.l, actor.role, may_trace);
        let here = self.l.link(self.path.split('?').next().unwrap_or_default());
        self.nav = Some(Nav {
            tabs,
            more,
            current: here,
            username: actor.username.clone(),
            role: self.l.role(actor.role),
            tasks_label: tasks_label(t, actor.role),
            csrf: actor.csrf.clone(),
            is_command: actor.role.can_manage_risk_areas(),
            may_trace,
            is_assist: actor.role.can_handle_assist_lists(),
        });
        self
    }

    /// The pages the command reads at a desk: the `wide` layout.
    pub fn wide(&self) -> bool {
        self.nav.as_ref().is_some_and(|n| n.is_command)
    }
}

pub fn tasks_label(t: &'static T, role: Role) -> &'static str {
    match role {
        Role::GridWorker => t.nav_tasks,
        _ => t.nav_queue,
    }
}

/// `path` (with its query) with `lang` removed, then set to the other language.
fn switch_href(l: Lang, path: &str) -> String {
    let (p, q) = path.split_once('?').unwrap_or((path, ""));
    let kept: Vec<&str> = q
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
        .collect();
    let other = if l.is_en() { Lang::Zh } else { Lang::En };
    let base = if kept.is_empty() {
        p.to_string()
    } else {
        format!("{p}?{}", kept.join("&"))
    };
    other.link(&base)
}

/// Lets templates write `t.key` and `l.method()` for the page's `base`.
macro_rules! with_base {
    ($($page:ty),* $(,)?) => {$(
        impl std::ops::Deref for $page {
            type Target = $crate::web::pages::Base;
            fn deref(&self) -> &$crate::web::pages::Base {
                &self.base
            }
        }
    )*};
}
pub(crate) use with_base;

/// Renders a template as an HTML response with a status.
pub fn render<P: Template>(status: StatusCode, page: &P) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

pub fn ok<P: Template>(page: &P) -> Response {
    render(StatusCode::OK, page)
}

/// 303 See Other: where a form post goes next.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

// ---------------------------------------------------------------------------
// Errors as pages.

/// Why a page could not be shown.
pub enum Failure {
    Use(Error),
    /// The form's CSRF token is not the session's.
    Csrf,
    RateLimited,
}

pub struct PageError {
    pub lang: Lang,
    pub failure: Failure,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    base: Base,
    messages: Vec<String>,
    back: String,
}
with_base!(ErrorPage);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let l = self.lang;
        let t = l.t();
        let (status, messages) = match &self.failure {
            Failure::Csrf => (StatusCode::FORBIDDEN, vec![t.e_csrf.to_string()]),
            Failure::RateLimited => (StatusCode::TOO_MANY_REQUESTS, vec![t.rate_limited.into()]),
            Failure::Use(e) => {
                let m: Vec<String> = match e {
                    Error::Invalid(fields) => std::iter::once(t.e_invalid.to_string())
                        .chain(fields.iter().map(|f| {
                            // The field as the user reads it, never its key.
                            let label = l.field_label(&f.field);
                            let name = if label.is_empty() {
                                String::new()
                            } else {
                                format!("{label}{}", t.colon)
                            };
                            format!("{name}{}", l.field_message(f))
                        }))
                        .collect(),
                    Error::NotFound => vec![t.e_not_found.into()],
                    Error::Conflict(_) => vec![t.e_conflict.into()],
                    Error::Refused { zh, en, .. } => {
                        vec![if l == Lang::En { en } else { zh }.to_string()]
                    }
                    Error::Forbidden => vec![t.e_forbidden.into()],
                    Error::Unauthorized => vec![t.e_unauthorized.into()],
                    Error::Locked => vec![t.e_locked.into()],
                    Error::Busy => vec![
                        if l == Lang::En {
                            "The server is busy; try again shortly."
                        } else {
                            "服务器繁忙，请稍后再试。"
                        }
                        .into(),
                    ],
                    Error::Database(_) | Error::Internal(_) => {
                        tracing::error!(error = %e, "page failed");
                        vec![t.e_internal.into()]
                    }
                };
                (status_of(e), m)
            }
        };
        let page = ErrorPage {
            base: Base::new(l, t.error_title, "/"),
            messages: messages.clone(),
            back: l.link("/declare"),
        };
        let mut r = render(status, &page);
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r.extensions_mut().insert(ErrorShown { lang: l, messages });
        r
    }
}

/// What an error page said, kept on the response so that
/// `staff_nav_on_errors` can draw it again with the user's navigation.
#[derive(Clone)]
struct ErrorShown {
    lang: Lang,
    messages: Vec<String>,
}

/// An error page is drawn where the user is not known (an extractor,
/// `or_page`): for a signed-in user it is drawn again with the staff
/// navigation and a way back to the tasks, never a dead end.
pub async fn staff_nav_on_errors(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let token = cookie(&parts, SESSION_COOKIE);
    let here = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let mut r = next
        .run(axum::extract::Request::from_parts(parts, body))
        .await;
    let Some(shown) = r.extensions_mut().remove::<ErrorShown>() else {
        return r;
    };
    let Some(token) = token else { return r };
    let Ok(actor) = s.services.session(&token).await else {
        return r;
    };
    let l = shown.lang;
    let page = ErrorPage {
        base: Base::new(l, l.t().error_title, &here).signed_in(&actor),
        messages: shown.messages,
        back: l.link("/tasks"),
    };
    let mut again = render(r.status(), &page);
    again
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    again
}

/// `result.or_page(lang)?` turns a use-case error into an error page.
pub trait OrPage<V> {
    fn or_page(self, lang: Lang) -> Result<V, PageError>;
}

impl<V> OrPage<V> for Result<V, Error> {
    fn or_page(self, lang: Lang) -> Result<V, PageError> {
        self.map_err(|e| PageError {
            lang,
            failure: Failure::Use(e),
        })
    }
}

pub type PageResult = Result<Response, PageError>;

// ---------------------------------------------------------------------------
// Extractors.

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::from_query(parts.uri.query()))
    }
}

/// The request's path and query, for links back to the same page.
pub struct Here(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Here {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Here(parts.uri.path_and_query().map_or_else(
            || parts.uri.path().to_string(),
            |p| p.as_str().to_string(),
        )))
    }
}

/// A signed-in user for the pages: without a valid session cookie the
/// browser is sent to /login, and back here afterwards.
pub struct PageActor(pub Actor);

impl Deref for PageActor {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.0
    }
}

impl FromRequestParts<AppState> for PageActor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = Lang::from_query(parts.uri.query());
        if let Some(token) = cookie(parts, SESSION_COOKIE) {
            match state.services.session(&token).await {
                Ok(actor) => return Ok(PageActor(actor)),
                Err(Error::Unauthorized) => {}
                Err(e) => {
                    return Err(PageError {
                        lang,
                        failure: Failure::Use(e),
                    }
                    .into_response());
                }
            }
        }
        // After a form post, come back to the page the form was on.
        let next = if parts.method == axum::http::Method::GET {
            parts
                .uri
                .path_and_query()
                .map_or("/tasks", |p| p.as_str())
                .to_string()
        } else {
            "/tasks".to_string()
        };
        let to = lang.link(&format!("/login?next={}", percent_encode(&next)));
        Err(see_other(&to))
    }
}

/// The signed-in user when there is one, for public pages that show more to
/// staff: no session (or an expired one) is simply `None`.
pub struct MaybeActor(pub Option<Actor>);

impl FromRequestParts<AppState> for MaybeActor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Ok(MaybeActor(None));
        };
        match state.services.session(&token).await {
            Ok(actor) => Ok(MaybeActor(Some(actor))),
            Err(Error::Unauthorized) => Ok(MaybeActor(None)),
            Err(e) => Err(PageError {
                lang: Lang::from_query(parts.uri.query()),
                failure: Failure::Use(e),
            }
            .into_response()),
        }
    }
}

/// The session token from the cookie, for logout.
pub struct SessionToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SessionToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(SessionToken(cookie(parts, SESSION_COOKIE)))
    }
}

/// Checks a form's CSRF token against the session's, in constant time.
pub fn check_csrf(actor: &Actor, sent: &str, lang: Lang) -> Result<(), PageError> {
    let a = actor.csrf.as_bytes();
    let b = sent.as_bytes();
    let same = a.len() == b.len() && !a.is_empty() && {
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    };
    if same {
        Ok(())
    } else {
        Err(PageError {
            lang,
            failure: Failure::Csrf,
        })
    }
}

/// A local path to return to: one leading `/`, never `//` or `/\`
/// (which browsers read as another host), no control characters.
pub fn safe_next(next: &str, fallback: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if ok {
        next.to_string()
    } else {
        fallback.to_string()
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A QR code of `text` as an inline `<svg>` (no XML declaration), at least
/// 240 px square: what the printed posters carry.
pub fn qr_svg(text: &str) -> Result<String, Error> {
    let svg = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| Error::Internal(format!("qr: {e}")))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .build();
    Ok(svg
        .find("<svg")
        .map_or(svg.as_str(), |i| &svg[i..])
        .to_string())
}

/// Private and changing (a form with the session's token, a tube being
/// filled): never from a shared cache.
pub fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// "2022-01-28 12:00" in Asia/Shanghai, from unix seconds.
pub fn shanghai_time(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| {
            crate::clock::shanghai(t)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// The same for an RFC 3339 time (as the task views carry).
pub fn shanghai_rfc3339(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| shanghai_time(t.timestamp()))
        .unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next("/tasks?state=closed", "/x"),
            "/tasks?state=closed"
        );
        assert_eq!(safe_next("//evil.example/", "/x"), "/x");
        assert_eq!(safe_next("/\\evil.example/", "/x"), "/x");
        assert_eq!(safe_next("https://evil.example/", "/x"), "/x");
        assert_eq!(safe_next("/a\nb", "/x"), "/x");
        assert_eq!(safe_next("", "/x"), "/x");
    }

    #[test]
    fn language_links_keep_the_rest_of_the_query() {
        assert_eq!(
            switch_href(Lang::Zh, "/tasks?state=closed"),
            "/tasks?state=closed&lang=en"
        );
        assert_eq!(
            switch_href(Lang::En, "/tasks?lang=en&state=closed"),
            "/tasks?state=closed"
        );
        assert_eq!(switch_href(Lang::En, "/declare?lang=en"), "/declare");
        assert_eq!(Lang::from_query(Some("a=1&lang=en")), Lang::En);
        assert_eq!(Lang::from_query(Some("lang=english")), Lang::Zh);
        assert_eq!(percent_encode("/tasks?a=1&b"), "%2Ftasks%3Fa%3D1%26b");
    }

    #[test]
    fn times_are_shown_in_shanghai() {
        assert_eq!(shanghai_time(1_643_335_200), "2022-01-28 10:00");
        assert_eq!(
            shanghai_rfc3339("2022-01-28T12:00:00+08:00"),
            "2022-01-28 12:00"
        );
    }
}
