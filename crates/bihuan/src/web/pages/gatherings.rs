//! 集聚性活动报备 pages: the host's public report form and receipt (no
//! login, rate-limited like /declare), and the staff review: village, then
//! town or city by tier, and the city's 宴会缓办 switch. Every form calls the
//! same use case as /api/v1/gatherings.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Form, Router};
use bihuan_domain::access::Role;
use bihuan_domain::gathering::{GatheringState, Reviewer, Step, Tier};
use bihuan_domain::validation::FieldError;
use serde::Deserialize;

use super::forms::{FormErrors, Pairs, ShownError};
use super::{
    Base, Failure, Lang, OrPage, PageActor, PageError, PageResult, check_csrf, no_store, ok,
    qr_svg, render, see_other, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::gathering::{GatheringInput, GuestInput, OverrideInput, PauseInput};
use crate::web::AppState;
use crate::web::ratelimit::Family;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/report-gathering", get(report_form).post(report))
        .route("/g/{receipt}", get(receipt))
        .route("/gatherings", get(review_list))
        .route("/gatherings/pause", post(set_pause))
        .route("/gatherings/{id}", get(review_one))
        .route("/gatherings/{id}/{step}", post(step))
        .route("/policy-overrides", get(overrides).post(propose))
        .route("/policy-overrides/{id}/{decision}", post(decide))
}

pub fn kind_label(l: Lang, kind: &str) -> &'static str {
    let t = l.t();
    match kind {
        "banquet" => t.gt_kind_banquet,
        "wedding" => t.gt_kind_wedding,
        "funeral" => t.gt_kind_funeral,
        _ => t.gt_kind_other,
    }
}

pub fn state_label(l: Lang, state: &str) -> &'static str {
    let t = l.t();
    match GatheringState::parse(state) {
        Some(GatheringState::Submitted) => t.gt_st_submitted,
        Some(GatheringState::VillageChecked) => t.gt_st_village_checked,
        Some(GatheringState::Approved) => t.gt_st_approved,
        Some(GatheringState::Ongoing) => t.gt_st_ongoing,
        Some(GatheringState::Ended) => t.gt_st_ended,
        Some(GatheringState::Rejected) => t.gt_st_rejected,
        _ => t.gt_st_cancelled,
    }
}

fn tier_label(l: Lang, tier: &str) -> &'static str {
    let t = l.t();
    match tier {
        "self_managed" => t.gt_tier_self,
        "town" => t.gt_tier_town,
        _ => t.gt_tier_city,
    }
}

// ---------------------------------------------------------------------------
// The public form.

#[derive(Default)]
pub struct ReportForm {
    pub kind: String,
    pub date: String,
    pub village: String,
    pub address: String,
    pub tables: String,
    pub headcount: String,
    pub out_of_town: String,
    pub host_name: String,
    pub host_phone: String,
    pub cook_name: String,
    pub cook_phone: String,
    pub cook_health_cert: bool,
    pub health_pledge: bool,
    pub guests: String,
}

/// A count as typed; anything not a number is -1, which the use case
/// refuses with its own per-field message.
fn number(s: &str) -> i64 {
    let s = s.trim();
    if s.is_empty() {
        return 0;
    }
    s.parse().unwrap_or(-1)
}

/// The guest list, one guest a line: 姓名,证件号码[,手机号码][,外地]
/// (commas or tabs, full-width commas too, as pasted from a sheet).
fn guest_lines(text: &str) -> Vec<GuestInput> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split([',', '，', '\t']).map(str::trim).collect();
            let cell = |i: usize| cells.get(i).copied().unwrap_or_default().to_string();
            GuestInput {
                id_type: String::new(),
                name: cell(0),
                id_number: cell(1),
                phone: cell(2),
                out_of_town: matches!(cell(3).as_str(), "外地" | "是" | "1" | "out" | "yes"),
            }
        })
        .collect()
}

impl ReportForm {
    fn from_pairs(p: &Pairs) -> Self {
        ReportForm {
            kind: p.get("kind"),
            date: p.get("date"),
            village: p.get("village"),
            address: p.get("address"),
            tables: p.get("tables"),
            headcount: p.get("headcount"),
            out_of_town: p.get("out_of_town"),
            host_name: p.get("host_name"),
            host_phone: p.get("host_phone"),
            cook_name: p.get("cook_name"),
            cook_phone: p.get("cook_phone"),
            cook_health_cert: p.get("cook_health_cert") == "1",
            health_pledge: p.get("health_pledge") == "1",
            guests: p.get("guests"),
        }
    }

    fn to_input(&self) -> GatheringInput {
        GatheringInput {
            kind: self.kind.clone(),
            date: self.date.clone(),
            village: self.village.clone(),
            address: self.address.clone(),
            tables: number(&self.tables),
            headcount: number(&self.headcount),
            out_of_town: number(&self.out_of_town),
            host_name: self.host_name.clone(),
            host_phone: self.host_phone.clone(),
            cook_name: self.cook_name.clone(),
            cook_phone: self.cook_phone.clone(),
            cook_health_cert: self.cook_health_cert,
            health_pledge: self.health_pledge,
            guests: guest_lines(&self.guests),
        }
    }
}

/// The use case's errors by form field; a guest's error names its line.
fn report_errors(errors: &[FieldError], l: Lang) -> FormErrors {
    let t = l.t();
    FormErrors(
        errors
            .iter()
            .map(|e| {
                let parts: Vec<&str> = e.field.split('.').collect();
                match parts.as_slice() {
                    ["guests", i, field, ..] => {
                        let line = i.parse::<usize>().map_or(0, |i| i + 1);
                        ShownError {
                            key: "guests".into(),
                            message: format!(
                                "{}{line}{} {}{}{}",
                                t.gt_line_before,
                                t.gt_line_after,
                                guest_field(l, field),
                                t.colon,
                                l.field_message(e)
                            ),
                        }
                    }
                    _ => ShownError {
                        key: e.field.replace('.', "_"),
                        message: l.field_message(e).to_string(),
                    },
                }
            })
            .collect(),
    )
}

fn guest_field(l: Lang, field: &str) -> &'static str {
    let t = l.t();
    match field {
        "name" => t.f_name,
        "phone" => t.f_phone,
        _ => t.f_id_number,
    }
}

pub struct VillageGroup {
    pub name: String,
    pub villages: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "gathering_form.html")]
struct ReportPage {
    base: Base,
    action: String,
    f: ReportForm,
    errors: FormErrors,
    kinds: Vec<(&'static str, &'static str)>,
    towns: Vec<VillageGroup>,
    max_guests: u32,
}
with_base!(ReportPage);

impl ReportPage {
    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
    fn label(&self, key: &str) -> String {
        field_label(self.base.l, key).to_string()
    }
}

/// A report field as the host reads it.
fn field_label(l: Lang, key: &str) -> &'static str {
    let t = l.t();
    match key {
        "kind" => t.gt_kind,
        "date" => t.gt_date,
        "village" => t.gt_village,
        "address" => t.gt_address,
        "tables" => t.gt_tables,
        "headcount" => t.gt_headcount,
        "out_of_town" => t.gt_out_of_town,
        "host_name" => t.gt_host_name,
        "host_phone" => t.gt_host_phone,
        "cook_name" => t.gt_cook_name,
        "cook_phone" => t.gt_cook_phone,
        "health_pledge" => t.gt_pledge_label,
        "guests" => t.gt_guests,
        other => l.field_label(other),
    }
}

#[derive(Template)]
#[template(path = "gathering_paused.html")]
struct PausedPage {
    base: Base,
    reason: String,
    declare_href: String,
}
with_base!(PausedPage);

async fn report_page(
    s: &AppState,
    l: Lang,
    f: ReportForm,
    errors: FormErrors,
) -> Result<ReportPage, PageError> {
    let towns = s.services.villages_by_town().await.or_page(l)?;
    Ok(ReportPage {
        base: Base::new(l, l.t().gt_form_title, "/report-gathering"),
        action: l.link("/report-gathering"),
        f,
        errors,
        kinds: bihuan_domain::gathering::GatheringKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), kind_label(l, k.as_str())))
            .collect(),
        towns: towns
            .into_iter()
            .map(|g| VillageGroup {
                name: g.name,
                villages: g.villages.into_iter().map(|v| (v.code, v.name)).collect(),
            })
            .filter(|g| !g.villages.is_empty())
            .collect(),
        max_guests: s.services.policy.gathering.max_guests,
    })
}

/// The refusal while the city's 宴会缓办 is on: said plainly, not as a
/// form error.
fn paused_page(l: Lang, reason: String) -> PausedPage {
    PausedPage {
        base: Base::new(l, l.t().gt_paused_title, "/report-gathering"),
        reason,
        declare_href: l.link("/declare"),
    }
}

/// The city the public form serves: the towns' common prefix.
async fn city_of_tree(s: &AppState, l: Lang) -> Result<Option<String>, PageError> {
    let towns = s.services.villages_by_town().await.or_page(l)?;
    Ok(towns
        .first()
        .map(|t| t.code[..6.min(t.code.len())].to_string()))
}

pub async fn report_form(State(s): State<AppState>, l: Lang) -> PageResult {
    if let Some(city) = city_of_tree(&s, l).await?
        && let Some(p) = s.services.public_gathering_pause(&city).await.or_page(l)?
    {
        return Ok(no_store(render(StatusCode::OK, &paused_page(l, p.reason))));
    }
    let page = report_page(&s, l, ReportForm::default(), FormErrors::default()).await?;
    Ok(no_store(ok(&page)))
}

pub async fn report(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    l: Lang,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    if !s.allowed(Family::Declare, addr) {
        return Err(PageError {
            lang: l,
            failure: Failure::RateLimited,
        });
    }
    let f = ReportForm::from_pairs(&Pairs(pairs));
    match s.services.report_gathering(f.to_input()).await {
        Ok(r) => Ok(see_other(&l.link(&format!("/g/{}?new=1", r.receipt)))),
        Err(Error::Invalid(errors)) => {
            let errors = report_errors(&errors, l);
            let page = report_page(&s, l, f, errors).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(Error::Refused {
            code: "gatherings_paused",
            ..
        }) => Ok(no_store(render(
            StatusCode::CONFLICT,
            &paused_page(l, String::new()),
        ))),
        Err(e) => Err(e).or_page(l),
    }
}

#[derive(Template)]
#[template(path = "gathering_receipt.html")]
struct ReceiptPage {
    base: Base,
    fresh: bool,
    kind: &'static str,
    tier: &'static str,
    state: String,
    state_label: &'static str,
    date: String,
    address: String,
    headcount: i64,
    venue_code: Option<String>,
    visit_url: String,
    qr: String,
}
with_base!(ReceiptPage);

#[derive(Deserialize, Default)]
pub struct ReceiptQuery {
    #[serde(default)]
    new: Option<u8>,
}

pub async fn receipt(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    l: Lang,
    Path(receipt): Path<String>,
    Query(q): Query<ReceiptQuery>,
) -> PageResult {
    if !s.allowed(Family::Status, addr) {
        return Err(PageError {
            lang: l,
            failure: Failure::RateLimited,
        });
    }
    let g = s.services.gathering_by_receipt(&receipt).await.or_page(l)?;
    let visit_url = g.venue_code.as_ref().map_or(String::new(), |c| {
        format!("{}/v/{c}", s.settings.public_base_url.trim_end_matches('/'))
    });
    let qr = if visit_url.is_empty() {
        String::new()
    } else {
        qr_svg(&visit_url).or_page(l)?
    };
    let page = ReceiptPage {
        base: Base::new(l, l.t().gt_receipt_title, &format!("/g/{receipt}")),
        fresh: q.new.is_some(),
        kind: kind_label(l, &g.kind),
        tier: tier_label(l, &g.tier),
        state_label: state_label(l, &g.state),
        state: g.state,
        date: g.event_date,
        address: g.address,
        headcount: g.headcount,
        venue_code: g.venue_code,
        visit_url,
        qr,
    };
    Ok(no_store(ok(&page)))
}

// ---------------------------------------------------------------------------
// Staff review.

pub struct GatheringItem {
    pub id: i64,
    pub href: String,
    pub kind: &'static str,
    pub tier: &'static str,
    pub state: String,
    pub state_label: &'static str,
    pub date: String,
    pub village: String,
    pub address: String,
    pub headcount: i64,
    pub host: String,
    /// Waiting for this user's decision.
    pub yours: bool,
}

#[derive(Template)]
#[template(path = "gatherings.html")]
struct ReviewListPage {
    base: Base,
    items: Vec<GatheringItem>,
    is_command: bool,
    paused: bool,
    pause_reason: String,
    pause_action: String,
    csrf: String,
    flash: Option<&'static str>,
}
with_base!(ReviewListPage);

/// Whether `actor` takes the review step waiting on a report.
fn reviews(actor: &Actor, state: &str, tier: &str) -> bool {
    let (Some(state), Some(tier)) = (GatheringState::parse(state), Tier::parse(tier)) else {
        return false;
    };
    match state.reviewer(tier) {
        Some(Reviewer::Village) => actor.role == Role::Village,
        Some(Reviewer::Town) => actor.role == Role::Town,
        Some(Reviewer::City) => actor.role == Role::Command,
        None => false,
    }
}

#[derive(Deserialize, Default)]
pub struct ReviewQuery {
    #[serde(default)]
    done: Option<String>,
}

pub async fn review_list(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<ReviewQuery>,
) -> PageResult {
    let t = l.t();
    let rows = s.services.gatherings(&actor).await.or_page(l)?;
    let names = super::staff::region_names(&s, l).await?;
    let mut items: Vec<GatheringItem> = rows
        .into_iter()
        .map(|g| GatheringItem {
            href: l.link(&format!("/gatherings/{}", g.id)),
            kind: kind_label(l, &g.kind),
            tier: tier_label(l, &g.tier),
            state_label: state_label(l, &g.state),
            yours: reviews(&actor, &g.state, &g.tier),
            village: super::staff::region_words(l, &names, &g.village),
            id: g.id,
            state: g.state,
            date: g.event_date,
            address: g.address,
            headcount: g.headcount,
            host: g.host_name,
        })
        .collect();
    // What waits for this user first, then by date.
    items.sort_by(|a, b| b.yours.cmp(&a.yours).then(a.date.cmp(&b.date)));
    let is_command = actor.role == Role::Command;
    let pause = if is_command {
        s.services.gathering_pause(&actor).await.or_page(l)?
    } else {
        None
    };
    let page = ReviewListPage {
        base: Base::new(l, t.gt_review_title, "/gatherings").signed_in(&actor),
        items,
        is_command,
        paused: pause.as_ref().is_some_and(|p| p.paused),
        pause_reason: pause.map(|p| p.reason).unwrap_or_default(),
        pause_action: l.link("/gatherings/pause"),
        csrf: actor.csrf.clone(),
        flash: q.done.map(|_| t.gt_done),
    };
    Ok(no_store(ok(&page)))
}

pub async fn set_pause(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let input = PauseInput {
        paused: pairs.get("paused") == "1",
        reason: pairs.get("reason"),
    };
    s.services
        .set_gathering_pause(&actor, input)
        .await
        .or_page(l)?;
    Ok(see_other(&l.link("/gatherings?done=pause")))
}

pub struct GuestItem {
    pub row: i64,
    pub name: String,
    pub doc: String,
    pub phone: String,
    pub out_of_town: bool,
}

pub struct StepButton {
    pub action: String,
    pub label: &'static str,
    pub primary: bool,
    /// Irreversible (驳回, 取消): the box to tick first.
    pub confirm: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "gathering.html")]
struct ReviewPage {
    base: Base,
    g: GatheringItem,
    tables: i64,
    out_of_town: i64,
    host_phone: String,
    cook: String,
    cook_phone: String,
    cook_cert: bool,
    venue_code: Option<String>,
    guests: Vec<GuestItem>,
    steps: Vec<StepButton>,
    csrf: String,
    back: String,
    flash: Option<&'static str>,
}
with_base!(ReviewPage);

fn step_of(name: &str) -> Option<Step> {
    Some(match name {
        "approve" => Step::Approve,
        "reject" => Step::Reject,
        "start" => Step::Start,
        "finish" => Step::Finish,
        "cancel" => Step::Cancel,
        _ => return None,
    })
}

/// The buttons this user may press on a report in its state.
fn steps_for(l: Lang, actor: &Actor, id: i64, state: &str, tier: &str) -> Vec<StepButton> {
    let t = l.t();
    let (Some(st), Some(ti)) = (GatheringState::parse(state), Tier::parse(tier)) else {
        return Vec::new();
    };
    let reviewer = reviews(actor, state, tier);
    let runs = matches!(actor.role, Role::Village | Role::Town);
    [
        ("approve", Step::Approve, t.gt_approve, reviewer, true),
        ("reject", Step::Reject, t.gt_reject, reviewer, false),
        ("start", Step::Start, t.gt_start, runs, true),
        ("finish", Step::Finish, t.gt_finish, runs, true),
        ("cancel", Step::Cancel, t.gt_cancel, runs, false),
    ]
    .into_iter()
    .filter(|(_, step, _, may, _)| *may && st.next(ti, *step).is_some())
    .map(|(name, step, label, _, primary)| StepButton {
        action: l.link(&format!("/gatherings/{id}/{name}")),
        label,
        primary,
        confirm: match step {
            Step::Reject => Some(t.gt_confirm_reject),
            Step::Cancel => Some(t.gt_confirm_cancel),
            _ => None,
        },
    })
    .collect()
}

pub async fn review_one(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Query(q): Query<ReviewQuery>,
) -> PageResult {
    let d = s.services.gathering(&actor, id).await.or_page(l)?;
    let names = super::staff::region_names(&s, l).await?;
    let g = d.gathering;
    let steps = steps_for(l, &actor, g.id, &g.state, &g.tier);
    let page = ReviewPage {
        base: Base::new(l, l.t().gt_review_title, &format!("/gatherings/{id}")).signed_in(&actor),
        tables: g.tables,
        out_of_town: g.out_of_town,
        host_phone: g.host_phone_masked.clone(),
        cook: g.cook_name.clone(),
        cook_phone: g.cook_phone_masked.clone(),
        cook_cert: g.cook_health_cert,
        venue_code: d.venue_code,
        guests: d
            .guests
            .into_iter()
            .map(|x| GuestItem {
                row: x.row_no,
                name: bihuan_domain::identity::mask_name(&x.name),
                doc: x.doc_masked,
                phone: x.phone_masked,
                out_of_town: x.out_of_town,
            })
            .collect(),
        steps,
        csrf: actor.csrf.clone(),
        back: l.link("/gatherings"),
        flash: q.done.map(|_| l.t().gt_done),
        g: GatheringItem {
            href: l.link(&format!("/gatherings/{}", g.id)),
            kind: kind_label(l, &g.kind),
            tier: tier_label(l, &g.tier),
            state_label: state_label(l, &g.state),
            yours: reviews(&actor, &g.state, &g.tier),
            village: super::staff::region_words(l, &names, &g.village),
            id: g.id,
            state: g.state,
            date: g.event_date,
            address: g.address,
            headcount: g.headcount,
            host: g.host_name,
        },
    };
    Ok(no_store(ok(&page)))
}

pub async fn step(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path((id, name)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let step = step_of(&name).ok_or(Error::NotFound).or_page(l)?;
    // 驳回 and 取消 cannot be undone: the ticked box first.
    if matches!(step, Step::Reject | Step::Cancel) {
        super::staff::require_confirm(&pairs.get("confirm"), l)?;
    }
    s.services
        .gathering_step(&actor, id, step)
        .await
        .or_page(l)?;
    Ok(see_other(&format!(
        "{}#gathering-{id}",
        l.link(&format!("/gatherings/{id}?done={name}"))
    )))
}

// ---------------------------------------------------------------------------
// 不得层层加码: a town proposes a stricter rule, the city decides.

pub struct RuleChoice {
    pub key: String,
    pub label: String,
    pub base: i64,
    pub stricter: &'static str,
}

pub struct OverrideItem {
    pub id: i64,
    pub town: String,
    pub rule: String,
    pub base: String,
    pub value: i64,
    pub reason: String,
    pub state: String,
    pub state_label: &'static str,
    pub proposed: String,
    pub approve_action: String,
    pub reject_action: String,
}

#[derive(Default)]
pub struct OverrideForm {
    pub key: String,
    pub value: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "policy_overrides.html")]
struct OverridesPage {
    base: Base,
    items: Vec<OverrideItem>,
    rules: Vec<RuleChoice>,
    may_propose: bool,
    may_decide: bool,
    f: OverrideForm,
    errors: FormErrors,
    action: String,
    csrf: String,
    flash: Option<&'static str>,
}
with_base!(OverridesPage);

impl OverridesPage {
    fn err(&self, key: &str) -> Option<String> {
        self.errors.get(key)
    }
}

fn override_state(l: Lang, state: &str) -> &'static str {
    let t = l.t();
    match state {
        "approved" => t.po_approved,
        "rejected" => t.po_rejected,
        _ => t.po_pending,
    }
}

async fn overrides_page(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    f: OverrideForm,
    errors: FormErrors,
    flash: Option<&'static str>,
) -> Result<OverridesPage, PageError> {
    let t = l.t();
    let rows = s.services.policy_overrides(actor).await.or_page(l)?;
    let names = super::staff::region_names(s, l).await?;
    let policy = &s.services.policy;
    let rule = |key: &str| {
        policy
            .gathering
            .tightenable
            .iter()
            .find(|r| r.key == key)
            .map_or_else(
                || key.to_string(),
                |r| l.pick_owned(&r.label_zh, &r.label_en),
            )
    };
    let items = rows
        .into_iter()
        .map(|o| OverrideItem {
            town: super::staff::region_words(l, &names, &o.town),
            rule: rule(&o.key),
            base: bihuan_domain::gathering::base_value(policy, &o.key)
                .map_or_else(String::new, |b| b.to_string()),
            state_label: override_state(l, &o.state),
            proposed: super::shanghai_time(o.proposed_at),
            approve_action: l.link(&format!("/policy-overrides/{}/approve", o.id)),
            reject_action: l.link(&format!("/policy-overrides/{}/reject", o.id)),
            id: o.id,
            value: o.value,
            reason: o.reason,
            state: o.state,
        })
        .collect();
    let rules = policy
        .gathering
        .tightenable
        .iter()
        .filter_map(|r| {
            Some(RuleChoice {
                base: bihuan_domain::gathering::base_value(policy, &r.key)?,
                stricter: match r.stricter {
                    bihuan_domain::gathering::Stricter::Lower => t.po_lower,
                    bihuan_domain::gathering::Stricter::Higher => t.po_higher,
                },
                key: r.key.clone(),
                label: l.pick_owned(&r.label_zh, &r.label_en),
            })
        })
        .collect();
    Ok(OverridesPage {
        base: Base::new(l, t.po_title, "/policy-overrides").signed_in(actor),
        items,
        rules,
        may_propose: actor.role == Role::Town,
        may_decide: actor.role == Role::Command,
        f,
        errors,
        action: l.link("/policy-overrides"),
        csrf: actor.csrf.clone(),
        flash,
    })
}

#[derive(Deserialize, Default)]
pub struct OverridesQuery {
    #[serde(default)]
    done: Option<String>,
}

pub async fn overrides(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Query(q): Query<OverridesQuery>,
) -> PageResult {
    let flash = q.done.map(|_| l.t().gt_done);
    let page = overrides_page(
        &s,
        l,
        &actor,
        OverrideForm::default(),
        FormErrors::default(),
        flash,
    )
    .await?;
    Ok(no_store(ok(&page)))
}

pub async fn propose(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let f = OverrideForm {
        key: pairs.get("key"),
        value: pairs.get("value"),
        reason: pairs.get("reason"),
    };
    let input = OverrideInput {
        key: f.key.clone(),
        // Not a number: 0, which is never stricter and is refused by field.
        value: f.value.trim().parse().unwrap_or(0),
        reason: f.reason.clone(),
    };
    match s.services.propose_override(&actor, input).await {
        Ok(_) => Ok(see_other(&l.link("/policy-overrides?done=proposed"))),
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let page = overrides_page(&s, l, &actor, f, errors, None).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

pub async fn decide(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path((id, decision)): Path<(i64, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let pairs = Pairs(pairs);
    check_csrf(&actor, &pairs.get("csrf"), l)?;
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(Error::NotFound).or_page(l),
    };
    s.services
        .decide_override(&actor, id, approve)
        .await
        .or_page(l)?;
    Ok(see_other(&format!(
        "{}#override-{id}",
        l.link("/policy-overrides?done=decided")
    )))
}
