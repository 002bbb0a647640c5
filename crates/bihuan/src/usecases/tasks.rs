//! The task loop: 签收, 反馈, 办结, 退回; and the sweep that escalates what is overdue.

use bihuan_domain::policy::{Facts, Reason, triage};
use bihuan_domain::regions::{RegionCode, RegionLevel};
use bihuan_domain::task::{Outcome, TaskAction, TaskKind, TaskState, transition};
use bihuan_domain::validation::{self, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::control::{self, Change};
use super::declare;
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::repo::{self, TaskRow, TaskUpdate};

/// 退回重办: why the work goes back (required, at most 500 characters).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenInput {
    #[serde(default)]
    pub reason: String,
}

/// The longest 退回原因 kept, in characters.
pub const REOPEN_REASON_MAX: usize = 500;

fn reopen_reason(input: &ReopenInput) -> Result<String> {
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(Error::field(
            "reason",
            "required",
            "请填写退回原因",
            "say why the task goes back",
        ));
    }
    if reason.chars().count() > REOPEN_REASON_MAX {
        return Err(Error::field(
            "reason",
            "too_long",
            "退回原因不超过500字",
            "at most 500 characters",
        ));
    }
    Ok(reason.to_string())
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    pub outcome: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub village: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub corrections: Option<Corrections>,
    /// The worker's answer to a declared identity change (信息变更待核实).
    #[serde(default)]
    pub identity: Option<IdentityAnswer>,
}

/// Confirms or rejects one declaration's waiting identity change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityAnswer {
    pub declaration_id: i64,
    pub confirm: bool,
}

/// The declaration's own fields a worker may correct.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Corrections {
    pub origin: Option<declare::OriginInput>,
    pub itinerary: Option<Vec<declare::StopInput>>,
    pub abroad: Option<declare::AbroadInput>,
    pub health_code: Option<String>,
    pub symptoms: Option<Vec<String>>,
    pub negative_test_48h: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub person_id: Option<i64>,
    pub region: String,
    pub escalated_to: Option<String>,
    /// Who was on duty where it escalated to (值班).
    pub escalated_duty: Option<String>,
    pub due_at: String,
    pub overdue: bool,
    /// An open task of an urgent kind (`task::URGENT_KINDS`): first, in red.
    pub urgent: bool,
    pub reason: String,
    pub outcome: Option<String>,
    pub note: Option<String>,
    /// Of an announced drill (演练).
    pub drill: bool,
}

pub fn view(t: &TaskRow, now: i64) -> TaskView {
    let state = TaskState::parse(&t.state).unwrap_or(TaskState::Dispatched);
    TaskView {
        id: t.id,
        kind: t.kind.clone(),
        state: t.state.clone(),
        person_id: t.person_id,
        region: t.region.clone(),
        escalated_to: t.escalated_to.clone(),
        escalated_duty: t.escalated_duty.clone(),
        due_at: rfc3339(t.due_at),
        overdue: bihuan_domain::task::is_overdue(state, t.due_at, now),
        urgent: TaskKind::parse(&t.kind).is_some_and(|k| bihuan_domain::task::is_urgent(k, state)),
        reason: t.reason.clone(),
        outcome: t.outcome.clone(),
        note: t.note.clone(),
        drill: t.announced_drill,
    }
}

pub fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| crate::clock::shanghai(t).to_rfc3339())
        .unwrap_or_default()
}

/// A report, parsed: the outcome, and what `moved` and `corrected` need.
struct ValidReport {
    outcome: Outcome,
    note: String,
    moved_to: Option<(RegionCode, String)>,
    corrections: Option<Corrections>,
    identity: Option<IdentityAnswer>,
}

fn parse_report(r: &ReportInput) -> std::result::Result<ValidReport, FieldErrors> {
    let mut e = FieldErrors::default();
    let outcome = Outcome::parse(&r.outcome);
    if outcome.is_none() {
        e.push(validation::FieldError::new(
            "outcome",
            "outcome",
            "核查结果无效",
            "verified, not_found, refused, moved or corrected",
        ));
    }
    let note = if r.note.trim().is_empty() {
        String::new()
    } else {
        e.take(validation::text("note", &r.note, 500))
            .unwrap_or_default()
    };
    let mut moved_to = None;
    if outcome == Some(Outcome::Moved) {
        let village = e.take(RegionCode::parse(
            r.village.as_deref().unwrap_or_default(),
            "village",
        ));
        let address = e.take(validation::text(
            "address",
            r.address.as_deref().unwrap_or_default(),
            200,
        ));
        match (village, address) {
            (Some(v), Some(a)) if v.level() == RegionLevel::Village => moved_to = Some((v, a)),
            (Some(_), _) => e.push(validation::FieldError::new(
                "village",
                "village",
                "请选择村(社区)",
                "choose a village or community",
            )),
            _ => {}
        }
    }
    if outcome == Some(Outcome::Corrected) && r.corrections.is_none() {
        e.push(validation::FieldError::new(
            "corrections",
            "required",
            "请填写更正的内容",
            "say what was corrected",
        ));
    }
    e.into_result(())?;
    Ok(ValidReport {
        outcome: outcome.expect("checked"),
        note,
        moved_to,
        corrections: r.corrections.clone(),
        identity: r.identity.clone(),
    })
}

impl Services {
    pub async fn acknowledge_task(&self, actor: &Actor, id: i64) -> Result<TaskView> {
        self.act(actor, id, TaskAction::Acknowledge, None, None)
            .await
    }

    pub async fn close_task(&self, actor: &Actor, id: i64) -> Result<TaskView> {
        self.act(actor, id, TaskAction::Close, None, None).await
    }

    /// 退回重办, with a reason; without one nothing changes (422 on `reason`,
    /// after the task is found in the actor's region).
    pub async fn reopen_task(
        &self,
        actor: &Actor,
        id: i64,
        input: ReopenInput,
    ) -> Result<TaskView> {
        let reason = reopen_reason(&input);
        self.act(actor, id, TaskAction::Reopen, None, Some(reason))
            .await
    }

    pub async fn report_task(
        &self,
        actor: &Actor,
        id: i64,
        input: ReportInput,
    ) -> Result<TaskView> {
        let report = parse_report(&input)?;
        self.act(actor, id, TaskAction::Report, Some(report), None)
            .await
    }

    async fn act(
        &self,
        actor: &Actor,
        id: i64,
        action: TaskAction,
        report: Option<ValidReport>,
        reason: Option<Result<String>>,
    ) -> Result<TaskView> {
        if matches!(action, TaskAction::Close | TaskAction::Reopen) && !actor.role.can_review() {
            return Err(Error::Forbidden);
        }
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move { svc.act_in(c, &actor, id, action, report, reason).await })
            })
            .await
    }

    async fn act_in(
        &self,
        c: &mut AnyConnection,
        actor: &Actor,
        id: i64,
        action: TaskAction,
        report: Option<ValidReport>,
        reason: Option<Result<String>>,
    ) -> Result<TaskView> {
        let now = self.clock.timestamp();
        let task = repo::task_in(c, id, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        // A task outside the region stays 404; only then is the reason judged.
        let reason = reason.transpose()?;
        let from = TaskState::parse(&task.state)
            .ok_or_else(|| Error::Internal(format!("task state {}", task.state)))?;
        let mut to = transition(from, action).ok_or_else(|| {
            Error::Conflict(format!(
                "cannot {} a task that is {}",
                action.as_str(),
                from.as_str()
            ))
        })?;
        let window = task.due_at - task.created_at;
        let mut update = TaskUpdate {
            state: to.as_str(),
            region: &task.region,
            escalated_to: task.escalated_to.as_deref(),
            due_at: task.due_at,
            outcome: task.outcome.as_deref(),
            note: task.note.as_deref(),
        };
        let mut detail = json!({"from": from.as_str(), "to": to.as_str()});
        let new_grid;
        if action == TaskAction::Reopen {
            update.escalated_to = None;
            update.due_at = now + window;
        }
        if let Some(r) = &reason {
            detail["reason"] = json!(r);
        }
        if let Some(r) = &report {
            update.outcome = Some(r.outcome.as_str());
            update.note = Some(&r.note);
            detail["outcome"] = json!(r.outcome.as_str());
            detail["note"] = json!(r.note);
            if let Some((village, address)) = &r.moved_to {
                // The task follows the person to the new village's grid.
                new_grid = repo::first_grid(c, village.as_str())
                    .await?
                    .ok_or_else(|| {
                        Error::field(
                            "village",
                            "village",
                            "该村(社区)不在本市管辖范围内",
                            "not a village managed here",
                        )
                    })?;
                to = TaskState::Dispatched;
                update.state = to.as_str();
                update.region = &new_grid;
                update.escalated_to = None;
                update.due_at = now + window;
                if let Some(person) = task.person_id {
                    repo::set_person_region(c, person, &new_grid, now).await?;
                }
                detail["to"] = json!(to.as_str());
                detail["moved_to"] =
                    json!({"grid": new_grid, "village": village.as_str(), "address": address});
            }
        }
        if !repo::update_task(c, id, &task.state, &update, now).await? {
            return Err(Error::Conflict("the task changed meanwhile".into()));
        }
        repo::insert_event(
            c,
            now,
            &actor.username,
            task.person_id,
            Some(id),
            &format!("task_{}", action.as_str()),
            &detail,
        )
        .await?;
        if let Some(answer) = report.as_ref().and_then(|r| r.identity.as_ref()) {
            self.answer_identity(c, actor, &task, answer, now).await?;
        }
        if let Some(ValidReport {
            corrections: Some(corr),
            outcome: Outcome::Corrected,
            ..
        }) = &report
        {
            self.correct(c, actor, &task, corr, now).await?;
        }
        let task = repo::task_in(c, id, "").await?.ok_or(Error::NotFound)?;
        if matches!(action, TaskAction::Close | TaskAction::Reopen) {
            // 协查 rows answered by this task take (or lose) its outcome.
            self.assist_task_changed(c, &task, now).await?;
        }
        Ok(view(&task, now))
    }

    /// The grid's answer to a declared identity change: confirmed, the
    /// declared name, phone and grid become the person's; rejected, nothing
    /// on file changes. Either way the declaration stops waiting.
    async fn answer_identity(
        &self,
        c: &mut AnyConnection,
        actor: &Actor,
        task: &TaskRow,
        answer: &IdentityAnswer,
        now: i64,
    ) -> Result<()> {
        let not_waiting = || {
            Error::field(
                "identity.declaration_id",
                "not_pending",
                "该申报没有待核实的信息变更",
                "that declaration has no identity change waiting",
            )
        };
        let person_id = task.person_id.ok_or_else(not_waiting)?;
        let pending = repo::pending_identities(c, person_id)
            .await?
            .into_iter()
            .find(|p| p.declaration_id == answer.declaration_id)
            .ok_or_else(not_waiting)?;
        if answer.confirm {
            repo::apply_identity(
                c,
                person_id,
                &pending.name,
                &pending.phone_enc,
                &pending.phone_masked,
                &pending.region,
                now,
            )
            .await?;
        }
        let state = if answer.confirm {
            "confirmed"
        } else {
            "rejected"
        };
        if !repo::answer_identity(c, pending.declaration_id, person_id, state).await? {
            return Err(not_waiting());
        }
        if answer.confirm && pending.identity == "pending" {
            // Its assessment was held while the identity waited.
            self.apply_held(c, pending.declaration_id, &actor.username, now)
                .await?;
        }
        repo::insert_event(
            c,
            now,
            &actor.username,
            Some(person_id),
            Some(task.id),
            &format!("identity_{state}"),
            &json!({
                "declaration_id": pending.declaration_id,
                "name": bihuan_domain::identity::mask_name(&pending.name),
                "phone": pending.phone_masked,
                "region": pending.region,
            }),
        )
        .await?;
        Ok(())
    }

    /// Re-runs triage on corrected facts; the stricter control is kept.
    async fn correct(
        &self,
        c: &mut AnyConnection,
        actor: &Actor,
        task: &TaskRow,
        corr: &Corrections,
        now: i64,
    ) -> Result<()> {
        let person_id = task.person_id.ok_or_else(|| {
            Error::field(
                "outcome",
                "outcome",
                "此任务不针对个人，不能更正申报",
                "this task is not about one person",
            )
        })?;
        let decl = repo::latest_declaration(c, person_id)
            .await?
            .ok_or(Error::NotFound)?;
        let facts: Facts = serde_json::from_str(&decl.facts)
            .map_err(|e| Error::Internal(format!("stored facts: {e}")))?;
        let current = StoredFacts::of(&facts);
        let origin = corr.origin.clone().unwrap_or(current.origin);
        let itinerary = corr.itinerary.clone().unwrap_or(current.itinerary);
        let abroad = corr.abroad.clone().or(current.abroad);
        let health_code = corr.health_code.clone().unwrap_or(current.health_code);
        let negative = corr.negative_test_48h.clone().or(current.negative_test_48h);
        let symptoms = corr.symptoms.clone().unwrap_or(current.symptoms);
        let mut errors = FieldErrors::default();
        let corrected = declare::parse_facts(
            &mut errors,
            &declare::FactsInput {
                origin: &origin,
                itinerary: &itinerary,
                abroad: abroad.as_ref(),
                health_code: &health_code,
                negative_test_48h: negative.as_deref(),
                symptoms: &symptoms,
            },
            Some(facts.arrival),
        );
        let valid = match corrected {
            Some(f) if errors.is_empty() => f,
            _ => {
                return Err(Error::Invalid(
                    errors
                        .0
                        .into_iter()
                        .map(|f| f.under("corrections"))
                        .collect(),
                ));
            }
        };
        let counties = declare::counties_key(&valid);
        repo::update_declaration_facts(
            c,
            decl.id,
            &serde_json::to_string(&valid).expect("serialisable"),
            &counties,
        )
        .await?;
        let areas = repo::risk_areas(c).await?;
        let assessment = triage(&self.policy, &areas, &valid);
        repo::insert_event(
            c,
            now,
            &actor.username,
            Some(person_id),
            Some(task.id),
            "facts_corrected",
            &json!({"declaration_id": decl.id, "before": facts, "after": valid,
                    "category": assessment.category}),
        )
        .await?;
        control::apply(
            c,
            &self.policy,
            Change {
                person_id,
                declaration_id: Some(decl.id),
                grid: &task.region,
                assessment: &assessment,
                because: Some(Reason {
                    zh: format!("{} 更正申报信息", actor.username),
                    en: format!("facts corrected by {}", actor.username),
                }),
                always_dispatch: false,
                actor: &actor.username,
                now,
            },
        )
        .await?;
        Ok(())
    }

    /// Escalates overdue tasks one level up. Safe to run any number of times.
    pub async fn sweep_overdue(&self) -> Result<u64> {
        let now = self.clock.timestamp();
        let postgres = self.db.backend() == crate::storage::Backend::Postgres;
        self.db
            .write(move |c| {
                Box::pin(async move {
                    // One replica at a time; the others find the lock taken and skip.
                    if postgres && !repo::try_sweep_lock(c).await? {
                        return Ok(0);
                    }
                    repo::escalate_overdue(c, now).await
                })
            })
            .await
    }
}

/// Stored facts in their wire form, so a correction merges field by field
/// and passes through the declaration's own parser.
struct StoredFacts {
    origin: declare::OriginInput,
    itinerary: Vec<declare::StopInput>,
    abroad: Option<declare::AbroadInput>,
    health_code: String,
    negative_test_48h: Option<String>,
    symptoms: Vec<String>,
}

impl StoredFacts {
    fn of(f: &Facts) -> Self {
        StoredFacts {
            origin: declare::OriginInput {
                county: f.origin.county.clone(),
                township: f.origin.township.clone(),
                departed_on: f.departed_on.to_string(),
            },
            itinerary: f
                .itinerary
                .iter()
                .map(|s| declare::StopInput {
                    county: s.place.county.clone(),
                    township: s.place.township.clone(),
                    from: s.from.to_string(),
                    to: s.to.to_string(),
                })
                .collect(),
            abroad: f.abroad.as_ref().map(|a| declare::AbroadInput {
                country: a.country.clone(),
                entered_china_on: a.entered_china_on.to_string(),
            }),
            health_code: f.health_code.as_str().into(),
            negative_test_48h: f.negative_test_48h.map(|d| d.to_string()),
            symptoms: f.symptoms.iter().map(|s| s.as_str().to_string()).collect(),
        }
    }
}
