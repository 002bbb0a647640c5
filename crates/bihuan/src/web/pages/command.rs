//! 指令 and 值班 pages: a recipient's inbox, 签收 and 反馈 on the phone; the
//! sender's compose form and live receipt rates; the duty roster.

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;

use super::forms::{FormErrors, Pairs, shanghai_input};
use super::{
    Base, Lang, OrPage, PageActor, PageError, PageResult, check_csrf, no_store, ok, render,
    see_other, shanghai_time, with_base,
};
use crate::error::Error;
use crate::usecases::Actor;
use crate::usecases::command::{AnswerInput, AttachmentInput, DutyInput, InstructionInput};
use crate::web::{AppState, multipart};
use bihuan_domain::access::Role;

fn content_type_of(filename: &str) -> &'static str {
    let ext = filename
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "csv" => "text/csv",
        "txt" => "text/plain",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

fn file_input(p: &multipart::Part) -> AttachmentInput {
    let name = p.filename.clone().unwrap_or_default();
    AttachmentInput {
        content_type: content_type_of(&name).into(),
        name,
        data: base64::engine::general_purpose::STANDARD.encode(&p.data),
    }
}

fn parts_of(headers: &HeaderMap, body: &Bytes) -> Vec<multipart::Part> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    multipart::boundary(ct)
        .and_then(|b| multipart::parse(body, &b))
        .unwrap_or_default()
}

pub struct InboxLine {
    pub href: String,
    pub title: String,
    pub due: String,
    pub state: &'static str,
    pub done: bool,
}

pub struct SentLine {
    pub href: String,
    pub title: String,
    pub due: String,
}

impl SentLine {
    fn of(l: Lang, i: crate::storage::command::InstructionRow) -> SentLine {
        SentLine {
            href: l.link(&format!("/instructions/{}", i.id)),
            title: i.title,
            due: shanghai_time(i.due_at),
        }
    }
}

#[derive(Default)]
pub struct ComposeForm {
    pub title: String,
    pub body: String,
    pub due_at: String,
    pub regions: Vec<String>,
    pub roles: Vec<String>,
}

#[derive(Template)]
#[template(path = "instructions.html")]
struct InstructionsPage {
    base: Base,
    inbox: Vec<InboxLine>,
    sent: Vec<SentLine>,
    /// Sent from above to recipients in the viewer's region.
    reaching: Vec<SentLine>,
    /// Unread receipts escalated to the viewer's region: (link, title, who, on duty).
    escalated: Vec<(String, String, String, String)>,
    may_send: bool,
    csrf: String,
    action: String,
    f: ComposeForm,
    errors: FormErrors,
    /// 接收区域: 全市 / 全镇 / villages by name (issue 12).
    regions: Option<super::forms::RegionTree>,
    roles: Vec<(&'static str, &'static str)>,
}
with_base!(InstructionsPage);

impl InstructionsPage {
    fn has_role(&self, r: &str) -> bool {
        self.f.roles.iter().any(|x| x == r)
    }
}

async fn instructions_page(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    f: ComposeForm,
    errors: FormErrors,
) -> Result<InstructionsPage, PageError> {
    let t = l.t();
    let inbox = s.services.inbox(actor).await.or_page(l)?;
    let may_send = matches!(
        actor.role,
        bihuan_domain::access::Role::Command | bihuan_domain::access::Role::Town
    );
    let sent = if may_send {
        s.services.sent_instructions(actor).await.or_page(l)?
    } else {
        vec![]
    };
    let reaching = s.services.instructions_reaching(actor).await.or_page(l)?;
    let escalated = if actor.role == bihuan_domain::access::Role::GridWorker {
        Vec::new()
    } else {
        s.services.instruction_escalations(actor).await.or_page(l)?
    };
    let regions = if may_send {
        Some(region_tree(s, l, actor, "regions", "checkbox", f.regions.clone()).await?)
    } else {
        None
    };
    Ok(InstructionsPage {
        base: Base::new(l, t.in_title, "/instructions").signed_in(actor),
        inbox: inbox
            .into_iter()
            .map(|i| InboxLine {
                href: l.link(&format!("/instructions/{}", i.instruction.id)),
                title: i.instruction.title,
                due: shanghai_time(i.instruction.due_at),
                state: if i.answered_at.is_some() {
                    t.in_answered
                } else if i.acked_at.is_some() {
                    t.in_acked
                } else {
                    t.in_unread
                },
                done: i.answered_at.is_some(),
            })
            .collect(),
        sent: sent.into_iter().map(|i| SentLine::of(l, i)).collect(),
        reaching: reaching.into_iter().map(|i| SentLine::of(l, i)).collect(),
        escalated: escalated
            .into_iter()
            .map(|e| {
                (
                    l.link(&format!("/instructions/{}", e.instruction)),
                    e.title,
                    e.username,
                    e.duty.unwrap_or_default(),
                )
            })
            .collect(),
        may_send,
        csrf: actor.csrf.clone(),
        action: l.link("/instructions"),
        f,
        errors,
        regions,
        roles: vec![
            ("town", t.role_town),
            ("village", t.role_village),
            ("grid_worker", t.role_grid_worker),
        ],
    })
}

pub async fn instructions(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
) -> PageResult {
    let page = instructions_page(&s, l, &actor, ComposeForm::default(), FormErrors(vec![])).await?;
    Ok(no_store(ok(&page)))
}

pub async fn send(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    headers: HeaderMap,
    req: axum::extract::Request,
) -> PageResult {
    // Only the command and towns send: others are refused before the body is read.
    if !matches!(actor.role, Role::Command | Role::Town) {
        return Err(Error::Forbidden).or_page(l);
    }
    let body = match crate::web::api::upload_body(req, &s).await {
        Ok(b) => b,
        Err(r) => return Ok(r),
    };
    let parts = parts_of(&headers, &body);
    check_csrf(&actor, &multipart::text(&parts, "csrf"), l)?;
    let all = |name: &str| -> Vec<String> {
        parts
            .iter()
            .filter(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let f = ComposeForm {
        title: multipart::text(&parts, "title"),
        body: multipart::text(&parts, "body"),
        due_at: multipart::text(&parts, "due_at"),
        regions: all("regions"),
        roles: all("roles"),
    };
    let input = InstructionInput {
        title: f.title.clone(),
        body: f.body.clone(),
        due_at: shanghai_input(&f.due_at),
        regions: f.regions.clone(),
        roles: f.roles.clone(),
        attachments: parts
            .iter()
            .filter(|p| p.name == "attachments" && !p.data.is_empty())
            .map(file_input)
            .collect(),
        corrects: multipart::text(&parts, "corrects").parse().ok(),
    };
    match s.services.send_instruction(&actor, input).await {
        Ok(r) => Ok(see_other(&l.link(&format!("/instructions/{}", r["id"])))),
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let page = instructions_page(&s, l, &actor, f, errors).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

pub struct RateLine {
    pub name: String,
    pub recipients: u32,
    pub acknowledged: u32,
    pub answered: u32,
    pub ack_percent: u32,
    pub answer_percent: u32,
}

pub struct AnswerLine {
    pub who: String,
    pub at: String,
    pub body: String,
    pub photo_href: Option<String>,
    pub correction: bool,
}

#[derive(Template)]
#[template(path = "instruction.html")]
struct InstructionPage {
    base: Base,
    title: String,
    body: String,
    due: String,
    sender: String,
    attachments: Vec<(String, String)>,
    recipient: bool,
    acked: bool,
    ack_action: String,
    answer_action: String,
    csrf: String,
    oversees: bool,
    total: Option<RateLine>,
    rates: Vec<RateLine>,
    missing: Vec<(String, String, Option<String>)>,
    unanswered: Vec<(String, String)>,
    answers: Vec<AnswerLine>,
    corrected_by: Vec<(String, i64)>,
    error: Option<String>,
    /// The answer as typed, when it came back with an error.
    draft: String,
}
with_base!(InstructionPage);

async fn instruction_page(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    id: i64,
    error: Option<String>,
    draft: String,
) -> Result<InstructionPage, PageError> {
    let v = s.services.instruction_view(actor, id).await.or_page(l)?;
    let rate = |name: String, r: &crate::usecases::command::RegionRates| RateLine {
        name,
        recipients: r.rates.recipients,
        acknowledged: r.rates.acknowledged,
        answered: r.rates.answered,
        ack_percent: r.ack_percent,
        answer_percent: r.answer_percent,
    };
    let i = &v.instruction;
    Ok(InstructionPage {
        base: Base::new(l, i.title.clone(), &format!("/instructions/{id}")).signed_in(actor),
        title: i.title.clone(),
        body: i.body.clone(),
        due: shanghai_time(i.due_at),
        sender: i.sender.clone(),
        attachments: v
            .attachments
            .iter()
            .map(|(file, name, _)| {
                (
                    l.link(&format!("/instructions/{id}/attachments/{file}")),
                    name.clone(),
                )
            })
            .collect(),
        recipient: v.mine.is_some(),
        acked: v
            .mine
            .as_ref()
            .is_some_and(|m| m.acked_at.is_some() || m.answered_at.is_some()),
        ack_action: l.link(&format!("/instructions/{id}/ack")),
        answer_action: l.link(&format!("/instructions/{id}/answers")),
        csrf: actor.csrf.clone(),
        oversees: v.total.is_some(),
        total: v.total.as_ref().map(|r| rate(l.t().in_total.into(), r)),
        rates: v
            .rates
            .iter()
            .map(|r| {
                rate(
                    if r.name.is_empty() {
                        r.region.clone()
                    } else {
                        r.name.clone()
                    },
                    r,
                )
            })
            .collect(),
        missing: v
            .missing
            .iter()
            .map(|m| {
                (
                    m.username.clone(),
                    l.region_code(&m.region),
                    m.escalated_duty.clone(),
                )
            })
            .collect(),
        unanswered: v
            .unanswered
            .iter()
            .map(|m| (m.username.clone(), l.region_code(&m.region)))
            .collect(),
        answers: v
            .answers
            .iter()
            .map(|a| AnswerLine {
                who: a.username.clone(),
                at: shanghai_time(a.created_at),
                body: a.body.clone(),
                photo_href: a
                    .has_photo
                    .then(|| l.link(&format!("/instructions/{id}/answers/{}/photo", a.id))),
                correction: a.corrects.is_some(),
            })
            .collect(),
        corrected_by: v
            .corrected_by
            .iter()
            .map(|c| (l.link(&format!("/instructions/{c}")), *c))
            .collect(),
        error,
        draft,
    })
}

pub async fn instruction(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
) -> PageResult {
    let page = instruction_page(&s, l, &actor, id, None, String::new()).await?;
    Ok(no_store(ok(&page)))
}

pub async fn ack(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    check_csrf(&actor, &Pairs(pairs).get("csrf"), l)?;
    s.services
        .acknowledge_instruction(&actor, id)
        .await
        .or_page(l)?;
    Ok(see_other(&l.link(&format!("/instructions/{id}"))))
}

pub async fn answer(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path(id): Path<i64>,
    req: axum::extract::Request,
) -> PageResult {
    // Only a recipient may answer: checked before the body (a photo, up
    // to the route's limit) is read.
    s.services.check_recipient(&actor, id).await.or_page(l)?;
    let headers = req.headers().clone();
    let body = match <Bytes as axum::extract::FromRequest<AppState>>::from_request(req, &s).await {
        Ok(b) => b,
        Err(refused) => return Ok(axum::response::IntoResponse::into_response(refused)),
    };
    let parts = parts_of(&headers, &body);
    check_csrf(&actor, &multipart::text(&parts, "csrf"), l)?;
    let draft = multipart::text(&parts, "body");
    let input = AnswerInput {
        body: draft.clone(),
        photo: parts
            .iter()
            .find(|p| p.name == "photo" && !p.data.is_empty())
            .map(file_input),
        corrects: None,
    };
    match s.services.answer_instruction(&actor, id, input).await {
        Ok(_) => Ok(see_other(&l.link(&format!("/instructions/{id}")))),
        Err(Error::Invalid(errors)) => {
            let message = errors
                .iter()
                .map(|e| l.field_message(e).to_string())
                .collect::<Vec<_>>()
                .join("；");
            // The typed 反馈 stays; only the photo has to be picked again.
            let page = instruction_page(&s, l, &actor, id, Some(message), draft).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

pub async fn attachment(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path((id, f)): Path<(i64, i64)>,
) -> PageResult {
    let (name, ct, data) = s
        .services
        .instruction_attachment(&actor, id, f)
        .await
        .or_page(l)?;
    Ok(crate::web::download(&ct, "file", Some(&name), data))
}

pub async fn photo(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Path((id, a)): Path<(i64, i64)>,
) -> PageResult {
    let (ct, data) = s.services.answer_photo(&actor, id, a).await.or_page(l)?;
    Ok(crate::web::download(&ct, "photo", None, data))
}

/// The user's regions as a tree of names (全市, 全镇, villages).
async fn region_tree(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    name: &'static str,
    kind: &'static str,
    chosen: Vec<String>,
) -> Result<super::forms::RegionTree, PageError> {
    let scope = actor.scope();
    let city_name = if scope.len() <= 6 {
        s.services.region(scope).await.or_page(l)?.name
    } else {
        String::new()
    };
    let towns = s.services.villages_by_town().await.or_page(l)?;
    Ok(super::forms::RegionTree::new(
        name, kind, scope, &city_name, towns, true, chosen,
    ))
}

// ---------------------------------------------------------------------------
// 值班值守.

#[derive(Template)]
#[template(path = "duty.html")]
struct DutyPage {
    base: Base,
    rows: Vec<(String, String, &'static str, String, String)>,
    uncovered: Vec<String>,
    csrf: String,
    action: String,
    errors: FormErrors,
    f: DutyInput,
    shifts: Vec<(&'static str, &'static str)>,
    /// 值班区域 by name: one of the user's regions.
    regions: super::forms::RegionTree,
}
with_base!(DutyPage);

async fn duty_page(
    s: &AppState,
    l: Lang,
    actor: &Actor,
    f: DutyInput,
    errors: FormErrors,
) -> Result<DutyPage, PageError> {
    use bihuan_domain::duty::Shift;
    let rows = s.services.duty_roster(actor).await.or_page(l)?;
    let uncovered = s.services.regions_without_duty(actor).await.or_page(l)?;
    let shift_label = |x: &str| Shift::parse(x).map_or("", |s| l.pick(s.label_zh(), s.label_en()));
    let regions = region_tree(s, l, actor, "region", "radio", vec![f.region.clone()]).await?;
    Ok(DutyPage {
        base: Base::new(l, l.t().du_title, "/duty").signed_in(actor),
        rows: rows
            .into_iter()
            .map(|d| {
                (
                    d.on_date.clone(),
                    regions.name_of(&d.region),
                    shift_label(&d.shift),
                    d.name,
                    d.phone,
                )
            })
            .collect(),
        uncovered: uncovered.into_iter().map(|r| r.name).collect(),
        csrf: actor.csrf.clone(),
        action: l.link("/duty"),
        errors,
        f,
        shifts: [Shift::Day, Shift::Night, Shift::All]
            .into_iter()
            .map(|s| (s.as_str(), l.pick(s.label_zh(), s.label_en())))
            .collect(),
        regions,
    })
}

pub async fn duty(State(s): State<AppState>, l: Lang, PageActor(actor): PageActor) -> PageResult {
    let f = DutyInput {
        region: actor.scope().to_string(),
        on_date: s.services.clock.today().to_string(),
        ..DutyInput::default()
    };
    let page = duty_page(&s, l, &actor, f, FormErrors(vec![])).await?;
    Ok(no_store(ok(&page)))
}

pub async fn add_duty(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let p = Pairs(pairs);
    check_csrf(&actor, &p.get("csrf"), l)?;
    let f = DutyInput {
        region: p.get("region"),
        on_date: p.get("on_date"),
        shift: p.get("shift"),
        name: p.get("name"),
        phone: p.get("phone"),
    };
    match s.services.add_duty(&actor, f.clone()).await {
        Ok(_) => Ok(see_other(&l.link("/duty"))),
        Err(Error::Invalid(errors)) => {
            let errors = FormErrors::of(&errors, l, &[]);
            let page = duty_page(&s, l, &actor, f, errors).await?;
            Ok(no_store(render(StatusCode::UNPROCESSABLE_ENTITY, &page)))
        }
        Err(e) => Err(e).or_page(l),
    }
}

// ---------------------------------------------------------------------------
// 审计.

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    base: Base,
    /// The actions to search by, in words: (code, words, chosen).
    actions: Vec<(String, String, bool)>,
    q: crate::usecases::command::AuditQuery,
    rows: Vec<AuditLine>,
    errors: Vec<String>,
    more_href: Option<String>,
}
with_base!(AuditPage);

/// One audit record as the page shows it.
struct AuditLine {
    id: i64,
    at: String,
    who: String,
    action: String,
    person: String,
    detail: Vec<super::i18n::DetailPart>,
    raw: String,
}

impl AuditPage {
    fn v(&self, field: &str) -> String {
        let q = &self.q;
        match field {
            "person" => q.person.clone(),
            "user" => q.user.clone(),
            "region" => q.region.clone(),
            "action" => q.action.clone(),
            "from" => q.from.clone(),
            _ => q.to.clone(),
        }
        .unwrap_or_default()
    }
}

/// The actions the audit search offers by name (what people ask about most).
const AUDIT_ACTIONS: &[&str] = &[
    "login",
    "login_failed",
    "unmasked",
    "dashboard_exported",
    "untested_exported",
    "handovers_exported",
    "health_codes_read",
    "daily_report_exported",
    "daily_report_printed",
    "assist_list_exported",
    "instruction_sent",
    "user_added",
    "password_set",
    "audit_searched",
];

pub async fn audit(
    State(s): State<AppState>,
    l: Lang,
    PageActor(actor): PageActor,
    axum::extract::Query(q): axum::extract::Query<crate::usecases::command::AuditQuery>,
) -> PageResult {
    let policy = s.services.policy();
    let (rows, errors) = match s.services.audit(&actor, &q).await {
        Ok(rows) => (rows, vec![]),
        Err(Error::Invalid(errors)) => (
            vec![],
            errors
                .iter()
                .map(|e| format!("{}{}{}", e.field, l.t().colon, l.field_message(e)))
                .collect(),
        ),
        Err(e) => return Err(e).or_page(l),
    };
    let more_href = (rows.len() as i64 == crate::usecases::command::AUDIT_PAGE)
        .then(|| rows.last().map(|r| r.id))
        .flatten()
        .map(|last| {
            let enc = |v: &Option<String>| super::percent_encode(v.as_deref().unwrap_or(""));
            l.link(&format!(
                "/audit?person={}&user={}&region={}&action={}&from={}&to={}&before={last}",
                enc(&q.person),
                enc(&q.user),
                enc(&q.region),
                enc(&q.action),
                enc(&q.from),
                enc(&q.to)
            ))
        });
    let chosen = q.action.clone().unwrap_or_default();
    let mut actions: Vec<(String, String, bool)> = AUDIT_ACTIONS
        .iter()
        .map(|k| (k.to_string(), l.audit_action(k), *k == chosen))
        .collect();
    if !chosen.is_empty() && !AUDIT_ACTIONS.contains(&chosen.as_str()) {
        actions.push((chosen.clone(), l.audit_action(&chosen), true));
    }
    let page = AuditPage {
        base: Base::new(l, l.t().au_title, "/audit").signed_in(&actor),
        actions,
        rows: rows
            .into_iter()
            .map(|r| AuditLine {
                id: r.id,
                at: shanghai_time(r.at),
                who: l.actor(&r.actor),
                action: l.audit_action(&r.kind),
                person: r.person_id.map(|p| p.to_string()).unwrap_or_default(),
                detail: l.audit_detail(&r.detail, &|c| l.category_label(policy.category(c), c)),
                raw: format!("{} {}", r.kind, r.detail),
            })
            .collect(),
        q,
        errors,
        more_href,
    };
    Ok(no_store(ok(&page)))
}
