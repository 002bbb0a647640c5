//! The public pages: the 返永通 form, the receipt, the poster. No session.

use std::net::SocketAddr;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use bihuan_domain::plan::{PhaseKind, Plan};
use bihuan_domain::policy::{HealthCode, Symptom};
use bihuan_domain::regions::{Division, Divisions};
use serde::Deserialize;

use bihuan_domain::validation::FieldError;

use super::forms::{CheckInForm, DeclareForm, FormErrors, HelpForm, Pairs, PlaceForm};
use super::{
    Base, Failure, Lang, OrPage, PageError, PageResult, no_store, ok, render, see_other,
    shanghai_time, with_base,
};
use crate::error::Error;
use crate::usecases::care::{HELP_KINDS, RatingInput};
use crate::usecases::declare::TRANSPORT_MODES;
use crate::usecases::recovery::RecoveryRequest;
use crate::usecases::views::{StatusPageView, TodayCheckIn, TownVillages};
use crate::web::AppState;

// ---------------------------------------------------------------------------
// Shared view pieces (also used by the staff pages).

/// A cascading county/township picker over the national divisions. Without
/// JavaScript it is two code inputs; app.js turns it into four selects.
pub struct Picker {
    /// Prefix for element ids, unique on the page.
    pub id: String,
    pub county_name: String,
    pub township_name: String,
    pub county: String,
    pub township: String,
    pub required: bool,
    /// The provinces rendered by the server; empty when app.js loads them
    /// (pickers repeated in lists, to keep the page small).
    pub provinces: &'static [Division],
    pub county_err: Option<String>,
    pub township_err: Option<String>,
}

impl Picker {
    pub fn new(id: &str, prefix: &str, place: &PlaceForm, errors: &FormErrors) -> Picker {
        let county_name = format!("{prefix}county");
        let township_name = format!("{prefix}township");
        Picker {
            id: id.to_string(),
            county: place.county.clone(),
            township: place.township.clone(),
            required: false,
            provinces: Divisions::get().provinces(),
            county_err: errors.get(&county_name),
            township_err: errors.get(&township_name),
            county_name,
            township_name,
        }
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn lazy(mut self) -> Self {
        self.provinces = &[];
        self
    }

    /// Whether a province option is the one the county lies in.
    pub fn has_province(&self, code: &str) -> bool {
        self.county.len() >= 2 && self.county.starts_with(code)
    }
}

pub struct PhaseView {
    pub label: &'static str,
    pub span: String,
}

pub struct TestView {
    pub date: String,
    pub day: String,
    pub double: bool,
}

pub struct PlanView {
    pub phases: Vec<PhaseView>,
    pub tests: Vec<TestView>,
    pub release: Option<String>,
}

impl PlanView {
    pub fn of(l: Lang, p: &Plan) -> PlanView {
        PlanView {
            phases: p
                .phases
                .iter()
                .map(|ph| PhaseView {
                    label: l.phase(ph.kind),
                    span: l.span(ph.from, ph.to),
                })
                .collect(),
            tests: p
                .test_days
                .iter()
                .map(|d| TestView {
                    date: l.date(d.date),
                    day: l.day_n(d.day),
                    double: d.double,
                })
                .collect(),
            release: p.release_on.map(|d| l.date(d)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.phases.is_empty() && self.tests.is_empty()
    }
}

// ---------------------------------------------------------------------------
// GET / and the 返永通 form.

pub async fn index(l: Lang) -> Response {
    see_other(&l.link("/declare"))
}

/// One row of 途经地 on the form.
struct StopRow {
    title: String,
    picker: Picker,
    from_name: String,
    to_name: String,
    from: String,
    to: String,
    from_err: Option<String>,
    to_err: Option<String>,
}

#[derive(Template)]
#[template(path = "declare.html")]
struct DeclarePage {
    base: Base,
    action: String,
    f: DeclareForm,
    errors: FormErrors,
    /// Nothing typed yet: app.js may restore a saved draft.
    fresh: bool,
    origin: Picker,
    stops: Vec<StopRow>,
    towns: Vec<TownVillages>,
    modes: Vec<(&'static str, &'static str)>,
    codes: Vec<(&'static str, &'static str)>,
    doc_types: Vec<(&'static str, String)>,
    symptoms: Vec<(&'static str, &'static str)>,
    /// 境外 countries by name: the frequent ones, then all.
    countries_frequent: Vec<(&'static str, String)>,
    countries_all: Vec<(&'static str, String)>,
}
with_base!(DeclarePage);

impl DeclarePage {
    fn new(l: Lang, f: DeclareForm, errors: FormErrors, towns: Vec<TownVillages>) -> Self {
        let t = l.t();
        let origin = Picker::new("origin", "origin_", &f.origin, &errors).required();
        let stops = f
            .stops
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let p = format!("itinerary_{i}_");
                StopRow {
                    title: l.stop_n(i + 1),
                    picker: Picker::new(&p, &p, &s.place, &errors),
                    from_name: format!("{p}from"),
                    to_name: format!("{p}to"),
                    from: s.from.clone(),
                    to: s.to.clone(),
                    from_err: errors.get(&format!("{p}from")),
                    to_err: errors.get(&format!("{p}to")),
                }
            })
            .collect();
        let mode_label = |m: &str| match m {
            "train" => t.mode_train,
            "flight" => t.mode_flight,
            "car" => t.mode_car,
            "bus" => t.mode_bus,
            _ => t.mode_other,
        };
        let (countries_frequent, countries_all) = l.countries();
        DeclarePage {
            countries_frequent,
            countries_all,
            base: Base::new(l, t.declare_title, "/declare"),
            action: l.link("/declare"),
            fresh: errors.is_empty(),
            origin,
            stops,
            towns,
            modes: TRANSPORT_MODES
                .iter()
                .map(|m| (*m, mode_label(m)))
                .collect(),
            codes: [
                (HealthCode::Green, t.code_green),
                (HealthCode::Yellow, t.code_yellow),
                (HealthCode::Red, t.code_red),
            ]
            .into_iter()
            .map(|(c, label)| (c.as_str(), label))
            .collect(),
            doc_types: bihuan_domain::identity::DocumentType::ALL
                .into_iter()
                .map(|d| (d.as_str(), l.doc_type(d.as_str())))
                .collect(),
            symptoms: Symptom::ALL
                .into_iter()
                .map(|s| (s.as_str(), l.symptom(s)))
                .collect(),
            f,
            errors,
        }
    }

    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }

    fn stops_open(&self) -> bool {
        self.f.stops.iter().any(|s| !s.is_empty())
            || self.errors.0.iter().any(|e| e.key.starts_with("itinerary"))
    }

    fn abroad_open(&self) -> bool {
        !(self.f.abroad_country.is_empty() && self.f.abroad_entered.is_empty())
            || self.errors.0.iter().any(|e| e.key.starts_with("abroad"))
    }

    fn has_symptom(&self, s: &str) -> bool {
        self.f.symptoms.iter().any(|x| x == s)
    }

    /// The label of a field named in an error, for the list at the top.
    fn label(&self, key: &str) -> String {
        let t = self.t;
        if let Some(rest) = key.strip_prefix("itinerary_") {
            let (row, field) = rest.split_once('_').unwrap_or((rest, ""));
            let n = row.parse::<usize>().map_or(1, |r| r + 1);
            return format!("{} {}", self.l.stop_n(n), self.label(field));
        }
        match key {
            "name" => t.f_name,
            "id_type" => t.f_id_type,
            "id_number" => t.f_id_number,
            "phone" => t.f_phone,
            "origin_county" | "county" => t.f_county,
            "origin_township" | "township" => t.f_township,
            "origin_departed_on" => t.f_departed_on,
            "from" => t.f_from,
            "to" => t.f_to,
            "abroad_country" => t.f_country,
            "abroad_entered_china_on" => t.f_entered,
            "arrival_date" => t.f_arrival_date,
            "arrival_mode" => t.f_mode,
            "arrival_number" => t.f_number,
            "destination_village" => t.f_village,
            "destination_address" => t.f_address,
            "health_code" => t.f_health_code,
            "vaccine_doses" => t.f_doses,
            "negative_test_48h" => t.f_negative,
            "symptoms" => t.f_symptoms,
            other => other,
        }
        .to_string()
    }
}

pub async fn declare_form(State(s): State<AppState>, l: Lang) -> PageResult {
    let towns = s.services.villages_by_town().await.or_page(l)?;
    Ok(ok(&DeclarePage::new(
        l,
        DeclareForm::blank(),
        FormErrors::default(),
        towns,
    )))
}

pub async fn declare(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    l: Lang,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    if !s.allowed(crate::web::ratelimit::Family::Declare, addr) {
        return Err(PageError {
            lang: l,
            failure: Failure::RateLimited,
        });
    }
    let form = DeclareForm::from_pairs(&Pairs(pairs));
    let (input, stop_rows) = form.to_input();
    match s.services.declare(input).await {
        Ok(d) => Ok(see_other(&l.link(&format!("/s/{}?new=1", d.receipt)))),
        Err(Error::Invalid(errors)) => {
            // Show the form again as typed, each message by its field.
            let errors = FormErrors::of(&errors, l, &stop_rows);
            let towns = s.services.villages_by_town().await.or_page(l)?;
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &DeclarePage::new(l, form, errors, towns),
            ))
        }
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// GET /s/{receipt}: the receipt and status page; while the control runs, the
// daily check-in and 暖心服务 forms.

/// One 暖心服务 request as the person sees it.
pub struct HelpView {
    pub id: i64,
    pub kind: String,
    pub note: String,
    pub created: String,
    pub answered: bool,
    pub answer: Option<String>,
    pub rating: Option<i64>,
    /// The rating form's action, while it may still be rated.
    pub rate_action: Option<String>,
}

/// What the page says after a redirect. (`?checked=1` needs nothing: today's
/// check-in is read from the database, so it shows on every visit.)
#[derive(Deserialize, Default)]
pub struct StatusQuery {
    #[serde(default)]
    new: Option<String>,
    #[serde(default)]
    alarm: Option<String>,
    #[serde(default)]
    help: Option<String>,
    #[serde(default)]
    rated: Option<String>,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    base: Base,
    receipt: String,
    q: StatusQuery,
    name: String,
    arrival: String,
    category: String,
    /// The category at declaration, when the control has since been raised.
    declared_as: Option<String>,
    measure: String,
    status: Option<String>,
    plan: PlanView,
    reasons: Vec<String>,
    next: Vec<&'static str>,
    /// The control runs: check-ins and help requests are open.
    running: bool,
    /// The release notice, once released.
    release_href: Option<String>,
    checked: Option<TodayCheckIn>,
    check_in_action: String,
    ci: CheckInForm,
    symptoms: Vec<(&'static str, &'static str)>,
    help_action: String,
    hf: HelpForm,
    help_kinds: Vec<(&'static str, String)>,
    help: Vec<HelpView>,
    errors: FormErrors,
    /// The declared identity waits for the grid: this declaration only.
    identity_pending: bool,
    /// The derived health-code colour (green, yellow, red) and its label;
    /// none while the identity waits for the grid.
    colour: Option<(&'static str, &'static str)>,
    /// A QR code of this receipt's address, inside the colour block.
    qr: String,
    /// The next test day from today on: date and day number.
    next_test: Option<TestView>,
    recover_href: String,
}
with_base!(StatusPage);

impl StatusPage {
    fn new(
        l: Lang,
        s: &AppState,
        p: StatusPageView,
        q: StatusQuery,
        ci: CheckInForm,
        hf: HelpForm,
        errors: FormErrors,
    ) -> StatusPage {
        let v = p.view;
        let identity_pending = v.identity_pending;
        let t = l.t();
        let colour = p
            .health_code
            .as_deref()
            .and_then(HealthCode::parse)
            .map(|c| match c {
                HealthCode::Green => ("green", t.code_green),
                HealthCode::Yellow => ("yellow", t.code_yellow),
                HealthCode::Red => ("red", t.code_red),
            });
        let today = p.today;
        let policy = s.services.policy();
        let (category, plan, status, extra_reasons) = match &v.control {
            Some(c) => (
                c.category.as_str(),
                &c.plan,
                Some(c.status.as_str()),
                c.reasons.clone(),
            ),
            None => (
                v.assessment.category.as_str(),
                &v.assessment.plan,
                None,
                vec![],
            ),
        };
        let running = matches!(status, Some("active" | "due_for_release"));
        let released = status == Some("released");
        let cat = policy.category(category);
        let raised = category != v.assessment.category;
        let mut reasons: Vec<String> = v
            .assessment
            .reasons
            .iter()
            .map(|r| {
                if l.is_en() {
                    r.en.clone()
                } else {
                    r.zh.clone()
                }
            })
            .collect();
        if raised {
            // The raised control's reasons are kept in Chinese only.
            reasons.extend(extra_reasons);
        }
        let mut next = vec![match plan.phases.first().map(|p| p.kind) {
            _ if released => t.s_released,
            Some(PhaseKind::CentralQuarantine) => t.next_central,
            Some(PhaseKind::HomeQuarantine | PhaseKind::HomeObservation) => t.next_home,
            Some(PhaseKind::HealthMonitoring) => t.next_monitor,
            None if !plan.test_days.is_empty() => t.next_tests,
            None => t.next_none,
        }];
        if v.assessment.fever_transfer_within_hours.is_some() && !released {
            next.insert(0, t.next_fever);
        }
        if raised && !released {
            next.insert(0, t.s_raised);
        }
        let next_test = plan
            .test_days
            .iter()
            .find(|d| d.date >= today)
            .filter(|_| !released)
            .map(|d| TestView {
                date: l.date(d.date),
                day: l.day_n(d.day),
                double: d.double,
            });
        let receipt = v.receipt;
        let receipt_url = format!(
            "{}/s/{receipt}",
            s.settings.public_base_url.trim_end_matches('/')
        );
        // A receipt code always encodes; an empty block is the fallback.
        let qr = super::qr_svg(&receipt_url).unwrap_or_default();
        let help = p
            .help
            .into_iter()
            .rev()
            .map(|h| {
                let answered = matches!(h.task_state.as_str(), "reported" | "closed");
                HelpView {
                    id: h.id,
                    kind: l.help_kind(&h.kind),
                    note: h.note,
                    created: shanghai_time(h.created_at),
                    answered,
                    answer: h.answer.filter(|a| answered && !a.is_empty()),
                    rating: h.rating,
                    rate_action: (answered && h.rating.is_none())
                        .then(|| l.link(&format!("/s/{receipt}/help/{}/rate", h.id))),
                }
            })
            .collect();
        StatusPage {
            base: Base::new(l, t.status_title, &format!("/s/{receipt}")),
            q,
            name: v.name,
            arrival: l.date_str(&v.arrival_date),
            category: l.category_label(cat, category),
            declared_as: raised.then(|| {
                l.category_label(
                    policy.category(&v.assessment.category),
                    &v.assessment.category,
                )
            }),
            measure: cat.map(|c| l.measure(c)).unwrap_or_default(),
            status: status.map(|st| l.control_status(st)),
            plan: PlanView::of(l, plan),
            reasons,
            next,
            running,
            release_href: released.then(|| l.link(&format!("/s/{receipt}/release"))),
            checked: p.checked_in_today,
            check_in_action: l.link(&format!("/s/{receipt}/check-in")),
            ci,
            symptoms: Symptom::ALL
                .into_iter()
                .map(|s| (s.as_str(), l.symptom(s)))
                .collect(),
            help_action: l.link(&format!("/s/{receipt}/help")),
            hf,
            help_kinds: HELP_KINDS.iter().map(|k| (k.0, l.help_kind(k.0))).collect(),
            help,
            errors,
            identity_pending,
            colour,
            qr,
            next_test,
            recover_href: l.link("/s/recover"),
            receipt,
        }
    }

    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }

    /// The fever notice: just after an alarming check-in, or all day after it.
    fn alarm(&self) -> bool {
        self.q.alarm.is_some() || self.checked.as_ref().is_some_and(|c| c.alarm)
    }

    /// The check-in form stays open until today's check-in is in, or when
    /// it came back with a mistake.
    fn check_in_open(&self) -> bool {
        self.checked.is_none() || !self.errors.is_empty()
    }
}

/// Personal, and it changes: never from a shared cache.
fn private(mut r: Response) -> Response {
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, no-cache"),
    );
    r
}

pub async fn status(
    State(s): State<AppState>,
    l: Lang,
    Path(receipt): Path<String>,
    Query(q): Query<StatusQuery>,
) -> PageResult {
    let v = s.services.status_page(&receipt).await.or_page(l)?;
    let page = StatusPage::new(
        l,
        &s,
        v,
        q,
        CheckInForm::default(),
        HelpForm::default(),
        FormErrors::default(),
    );
    Ok(private(ok(&page)))
}

fn limited(s: &AppState, addr: SocketAddr, l: Lang) -> Result<(), PageError> {
    if s.allowed(crate::web::ratelimit::Family::Status, addr) {
        Ok(())
    } else {
        Err(PageError {
            lang: l,
            failure: Failure::RateLimited,
        })
    }
}

/// A form on the status page came back with mistakes: the page again, as typed.
async fn status_again(
    s: &AppState,
    l: Lang,
    receipt: &str,
    ci: CheckInForm,
    hf: HelpForm,
    errors: &[FieldError],
) -> PageResult {
    let errors = FormErrors::of(errors, l, &[]);
    let v = s.services.status_page(receipt).await.or_page(l)?;
    let page = StatusPage::new(l, s, v, StatusQuery::default(), ci, hf, errors);
    Ok(private(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
}

/// POST /s/{receipt}/check-in: 健康打卡.
pub async fn check_in(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    l: Lang,
    Path(receipt): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    limited(&s, addr, l)?;
    let form = CheckInForm::from_pairs(&Pairs(pairs));
    match s
        .services
        .check_in_by_receipt(&receipt, form.to_input())
        .await
    {
        Ok(c) => {
            let alarm = if c.alarm { "&alarm=1" } else { "" };
            let to = l.link(&format!("/s/{receipt}?checked=1{alarm}"));
            Ok(see_other(&format!("{to}#check-in")))
        }
        Err(Error::Invalid(errors)) => {
            status_again(&s, l, &receipt, form, HelpForm::default(), &errors).await
        }
        Err(e) => Err(e).or_page(l),
    }
}

/// POST /s/{receipt}/help: a 暖心服务 request.
pub async fn request_help(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    l: Lang,
    Path(receipt): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    limited(&s, addr, l)?;
    let form = HelpForm::from_pairs(&Pairs(pairs));
    match s.services.request_help(&receipt, form.to_input()).await {
        Ok(_) => {
            let to = l.link(&format!("/s/{receipt}?help=1"));
            Ok(see_other(&format!("{to}#help")))
        }
        Err(Error::Invalid(errors)) => {
            status_again(&s, l, &receipt, CheckInForm::default(), form, &errors).await
        }
        Err(e) => Err(e).or_page(l),
    }
}

#[derive(Deserialize)]
pub struct RatingForm {
    #[serde(default)]
    rating: String,
}

/// POST /s/{receipt}/help/{id}/rate: 1 to 5, once.
pub async fn rate_help(
    State(s): State<AppState>,
    l: Lang,
    Path((receipt, id)): Path<(String, i64)>,
    Form(f): Form<RatingForm>,
) -> PageResult {
    // Not a number: out of range on purpose, so the use case names the field.
    let rating = f.rating.trim().parse().unwrap_or(0);
    s.services
        .rate_help(&receipt, id, RatingInput { rating })
        .await
        .or_page(l)?;
    let to = l.link(&format!("/s/{receipt}?rated=1"));
    Ok(see_other(&format!("{to}#help")))
}

// ---------------------------------------------------------------------------
// GET /s/{receipt}/release: the printable 解除管控告知书.

#[derive(Template)]
#[template(path = "release.html")]
struct ReleasePage {
    base: Base,
    receipt: String,
    name: String,
    category: String,
    measure: String,
    plan: PlanView,
    released_on: String,
    sentence: String,
    policy_version: String,
    back_href: String,
}
with_base!(ReleasePage);

pub async fn release_notice(
    State(s): State<AppState>,
    l: Lang,
    Path(receipt): Path<String>,
) -> PageResult {
    let p = s.services.status_page(&receipt).await.or_page(l)?;
    let v = p.view;
    let (Some(c), Some(since)) = (v.control.as_ref(), p.status_since) else {
        return Err(Error::NotFound).or_page(l);
    };
    if c.status != "released" {
        return Err(Error::NotFound).or_page(l);
    }
    let t = l.t();
    let day = chrono::DateTime::from_timestamp(since, 0)
        .map(|at| crate::clock::shanghai(at).date_naive())
        .unwrap_or_default();
    let cat = s.services.policy().category(&c.category);
    let page = ReleasePage {
        base: Base::new(l, t.rn_title, &format!("/s/{receipt}/release")),
        name: v.name,
        category: l.category_label(cat, &c.category),
        measure: cat.map(|x| l.measure(x)).unwrap_or_default(),
        plan: PlanView::of(l, &c.plan),
        released_on: l.date(day),
        sentence: l.released_from(day),
        policy_version: c.policy_version.clone(),
        back_href: l.link(&format!("/s/{receipt}")),
        receipt,
    };
    Ok(private(ok(&page)))
}

// ---------------------------------------------------------------------------
// GET /poster: the printable QR poster.

#[derive(Template)]
#[template(path = "poster.html")]
struct PosterPage {
    base: Base,
    url: String,
    qr: String,
}
with_base!(PosterPage);

pub async fn poster(State(s): State<AppState>, l: Lang) -> PageResult {
    let url = format!(
        "{}/declare",
        s.settings.public_base_url.trim_end_matches('/')
    );
    let qr = super::qr_svg(&url).or_page(l)?;
    let t = l.t();
    Ok(ok(&PosterPage {
        base: Base::new(l, t.poster_title, "/poster"),
        url,
        qr,
    }))
}

// ---------------------------------------------------------------------------
// GET/POST /s/recover: 找回回执 by document number, phone and an SMS code.

#[derive(Template)]
#[template(path = "recover.html")]
struct RecoverPage {
    base: Base,
    send_action: String,
    code_action: String,
    again_href: String,
    doc_types: Vec<(&'static str, String)>,
    id_type: String,
    id_number: String,
    phone: String,
    /// Set once a code was asked for: the second step.
    ticket: Option<String>,
    /// A refusal (wrong code, too many tries), in the page's language.
    refusal: Option<String>,
    errors: FormErrors,
}
with_base!(RecoverPage);

impl RecoverPage {
    fn new(l: Lang) -> RecoverPage {
        RecoverPage {
            base: Base::new(l, l.t().rc_title, "/s/recover"),
            send_action: l.link("/s/recover"),
            code_action: l.link("/s/recover/code"),
            again_href: l.link("/s/recover"),
            doc_types: bihuan_domain::identity::DocumentType::ALL
                .into_iter()
                .map(|d| (d.as_str(), l.doc_type(d.as_str())))
                .collect(),
            id_type: String::new(),
            id_number: String::new(),
            phone: String::new(),
            ticket: None,
            refusal: None,
            errors: FormErrors::default(),
        }
    }

    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
}

fn recover_limited(s: &AppState, addr: SocketAddr, l: Lang) -> Result<(), PageError> {
    if s.allowed(crate::web::ratelimit::Family::Recover, addr) {
        Ok(())
    } else {
        Err(PageError {
            lang: l,
            failure: Failure::RateLimited,
        })
    }
}

fn refusal_text(l: Lang, e: &Error) -> Option<String> {
    match e {
        Error::Refused { zh, en, .. } => Some(if l.is_en() { en } else { zh }.to_string()),
        _ => None,
    }
}

pub async fn recover_form(l: Lang) -> Response {
    no_store(ok(&RecoverPage::new(l)))
}

/// Step 1: the same answer whether or not the document and phone match.
pub async fn recover_send(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    l: Lang,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    recover_limited(&s, addr, l)?;
    let pairs = Pairs(pairs);
    let mut page = RecoverPage::new(l);
    page.id_type = pairs.get("id_type");
    page.id_number = pairs.get("id_number");
    page.phone = pairs.get("phone");
    let input = RecoveryRequest {
        id_type: page.id_type.clone(),
        id_number: page.id_number.clone(),
        phone: page.phone.clone(),
    };
    let client = crate::web::ratelimit::client_key(addr.ip()).to_string();
    match s.services.request_recovery(input, client).await {
        Ok(ticket) => {
            page.ticket = Some(ticket.0);
            // Nothing typed is shown back: the next screen is only the code.
            page.id_number.clear();
            page.phone.clear();
            Ok(no_store(ok(&page)))
        }
        Err(Error::Invalid(errors)) => {
            page.errors = FormErrors::of(&errors, l, &[]);
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => match refusal_text(l, &e) {
            Some(text) => {
                page.refusal = Some(text);
                Ok(no_store(render(StatusCode::TOO_MANY_REQUESTS, &page)))
            }
            None => Err(e).or_page(l),
        },
    }
}

/// Step 2: a right code opens the latest receipt.
pub async fn recover_code(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    l: Lang,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    recover_limited(&s, addr, l)?;
    let pairs = Pairs(pairs);
    let ticket = pairs.get("ticket");
    match s
        .services
        .use_recovery_code(&ticket, &pairs.get("code"))
        .await
    {
        Ok(receipt) => Ok(see_other(&l.link(&format!("/s/{receipt}")))),
        Err(e) => match refusal_text(l, &e) {
            Some(text) => {
                let mut page = RecoverPage::new(l);
                page.ticket = Some(ticket);
                page.refusal = Some(text);
                Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
            }
            None => Err(e).or_page(l),
        },
    }
}
