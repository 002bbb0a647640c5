//! Applying an assessment to a person: the stricter control wins, and the
//! tasks it calls for are open exactly once.

use bihuan_domain::policy::{Assessment, Policy, Reason};
use bihuan_domain::task::TaskKind;
use serde_json::json;
use sqlx::AnyConnection;

use super::monitoring::{colour_new_control, refresh_colour_on};
use crate::error::{Error, Result};
use crate::storage::repo;

pub struct Applied {
    /// The person's control after the change.
    pub control: Assessment,
    /// The control changed because the new assessment is stricter.
    pub raised: bool,
    pub status: String,
}

pub struct Change<'a> {
    pub person_id: i64,
    pub declaration_id: Option<i64>,
    pub grid: &'a str,
    pub assessment: &'a Assessment,
    /// Why this change happened, when it is not the declaration itself
    /// (a new risk-area listing, a correction).
    pub because: Option<Reason>,
    /// Open or update tasks even when the control did not change.
    pub always_dispatch: bool,
    pub actor: &'a str,
    pub now: i64,
}

pub fn parse_assessment(json: &str) -> Result<Assessment> {
    serde_json::from_str(json).map_err(|e| Error::Internal(format!("stored assessment: {e}")))
}

pub fn status_of(a: &Assessment) -> &'static str {
    if a.plan.is_empty() && a.verify_within_hours.is_none() {
        "registered"
    } else {
        "active"
    }
}

/// Categories that run on top of a person's own plan for a while and end by
/// an event, not by their plan: a positive pool (until the single re-test)
/// and the zones (until lifted). What they displace stays in force beneath
/// them and comes back when they end.
pub fn is_temporary(category: &str) -> bool {
    category == "pool_positive" || category.starts_with("zone_")
}

/// The assessments beneath a control; unreadable ones are logged and lost
/// (never fatal: the control on top still runs).
fn underlying_of(json: Option<&str>) -> Vec<Assessment> {
    json.and_then(|j| {
        serde_json::from_str(j)
            .map_err(|e| tracing::warn!(error = %e, "stored underlying plans unreadable"))
            .ok()
    })
    .unwrap_or_default()
}

/// Keeps every temporary measure beneath (each ends on its own) and, of the
/// person's own plans, only the strictest (they replace each other).
fn normalise(policy: &Policy, mut under: Vec<Assessment>) -> Option<String> {
    let own = under
        .iter()
        .filter(|a| !is_temporary(&a.category))
        .max_by(|x, y| x.strictness_cmp(y, policy))
        .cloned();
    under.retain(|a| is_temporary(&a.category));
    under.extend(own);
    (!under.is_empty()).then(|| serde_json::to_string(&under).expect("serialisable"))
}

pub async fn apply(c: &mut AnyConnection, policy: &Policy, ch: Change<'_>) -> Result<Applied> {
    let current = repo::control(c, ch.person_id).await?;
    let running = match &current {
        Some(k) if k.status != "released" => Some(parse_assessment(&k.assessment)?),
        _ => None,
    };
    let mut beneath = current
        .as_ref()
        .filter(|_| running.is_some())
        .map(|k| underlying_of(k.underlying.as_deref()))
        .unwrap_or_default();
    let stricter = running
        .as_ref()
        .is_none_or(|r| ch.assessment.strictness_cmp(r, policy) == std::cmp::Ordering::Greater);
    let raised = stricter && running.is_some();
    let control = if stricter {
        let a = ch.assessment;
        // A temporary measure keeps what it displaces in force beneath it.
        // A person's own stricter plan supersedes their other own plans, but
        // never a temporary measure: that ends only by its own event (a
        // re-test, the zone lifted), so it stays beneath to come back when
        // the plan on top ends first.
        if let Some(r) = &running {
            beneath.push(r.clone());
        }
        if !is_temporary(&a.category) {
            beneath.retain(|b| is_temporary(&b.category));
        }
        let underlying = normalise(policy, beneath);
        let status = status_of(a);
        repo::put_control(
            c,
            &repo::NewControl {
                person_id: ch.person_id,
                declaration_id: ch.declaration_id,
                category: &a.category,
                policy_version: &a.policy_version,
                release_on: a.plan.release_on.map(|d| d.to_string()),
                status,
                assessment: &serde_json::to_string(a).expect("serialisable"),
                underlying: underlying.as_deref(),
            },
            ch.now,
        )
        .await?;
        let mut reasons: Vec<&str> = ch.because.iter().map(|r| r.zh.as_str()).collect();
        reasons.extend(a.reasons.iter().map(|r| r.zh.as_str()));
        repo::insert_event(
            c,
            ch.now,
            ch.actor,
            Some(ch.person_id),
            None,
            if raised {
                "control_raised"
            } else {
                "control_set"
            },
            &json!({
                "category": a.category,
                "from": running.as_ref().map(|r| r.category.clone()),
                "policy_version": a.policy_version,
                "release_on": a.plan.release_on,
                "reasons": reasons,
            }),
        )
        .await?;
        // The feed shows the new measure at once (a 集中隔离 arrival, a
        // 封控区 resident: red), in this transaction.
        colour_new_control(c, ch.person_id, day_of(ch.now), ch.actor, ch.now).await?;
        a.clone()
    } else {
        let r = running.expect("not stricter implies a running control");
        // A plan arriving under a temporary measure is still in force
        // beneath it, to come back when the measure ends; a temporary
        // measure arriving under anything (a zone under a 集中隔离) is
        // recorded beneath too, to run when what is on top ends first.
        if is_temporary(&r.category) || is_temporary(&ch.assessment.category) {
            beneath.push(ch.assessment.clone());
            if !is_temporary(&r.category) {
                // Beneath an own plan only temporary measures are kept (the
                // own plan on top supersedes the person's other plans).
                beneath.retain(|b| is_temporary(&b.category));
            }
            repo::set_underlying(c, ch.person_id, normalise(policy, beneath).as_deref()).await?;
        }
        r
    };
    if stricter || ch.always_dispatch {
        let reason = ch
            .because
            .as_ref()
            .or(control.reasons.first())
            .map(|r| r.zh.clone())
            .unwrap_or_default();
        if let Some(hours) = control.verify_within_hours {
            dispatch(c, &ch, TaskKind::Verify, hours, &reason).await?;
        }
        if let Some(hours) = ch.assessment.fever_transfer_within_hours {
            let why = ch
                .assessment
                .reasons
                .last()
                .map(|r| r.zh.clone())
                .unwrap_or_default();
            dispatch(c, &ch, TaskKind::FeverTransfer, hours, &why).await?;
        }
    }
    Ok(Applied {
        status: status_of(&control).to_string(),
        control,
        raised,
    })
}

fn day_of(now: i64) -> bihuan_domain::Date {
    crate::clock::shanghai(chrono::DateTime::from_timestamp(now, 0).unwrap_or_default())
        .date_naive()
}

/// How a control ended.
pub enum Ended {
    /// Nothing was beneath it: the person is released.
    Released,
    /// The strictest plan still in force beneath it runs again.
    Restored(Assessment),
    /// The person's control is something else: the measure was only
    /// beneath it, and is gone from there.
    Beneath,
    /// The person had no such measure.
    Absent,
}

/// Ends the person's `category` measure (a negative single re-test, a
/// zone lifted, a confirmed release): never silently relaxed, so the
/// strictest plan still in force beneath it runs again (its event
/// `control_restored`), else the person is released (`control_released`,
/// with `detail`). The colour follows in the same transaction.
pub async fn end_control(
    c: &mut AnyConnection,
    policy: &Policy,
    person_id: i64,
    category: &str,
    detail: serde_json::Value,
    actor: &str,
    now: i64,
) -> Result<Ended> {
    let Some(k) = repo::control(c, person_id).await? else {
        return Ok(Ended::Absent);
    };
    let running = matches!(
        k.status.as_str(),
        "active" | "due_for_release" | "registered"
    );
    let mut beneath = underlying_of(k.underlying.as_deref());
    if !running {
        return Ok(Ended::Absent);
    }
    if k.category != category {
        let Some(i) = beneath.iter().position(|a| a.category == category) else {
            return Ok(Ended::Absent);
        };
        beneath.remove(i);
        repo::set_underlying(c, person_id, normalise(policy, beneath).as_deref()).await?;
        return Ok(Ended::Beneath);
    }
    let next = beneath
        .iter()
        .enumerate()
        .max_by(|(_, x), (_, y)| x.strictness_cmp(y, policy))
        .map(|(i, _)| i);
    let ended = match next {
        Some(i) => {
            let a = beneath.remove(i);
            let rest = normalise(policy, beneath);
            repo::put_control(
                c,
                &repo::NewControl {
                    person_id,
                    declaration_id: k.declaration_id,
                    category: &a.category,
                    policy_version: &a.policy_version,
                    release_on: a.plan.release_on.map(|d| d.to_string()),
                    status: status_of(&a),
                    assessment: &serde_json::to_string(&a).expect("serialisable"),
                    // Temporary measures still running stay beneath
                    // whatever comes back (`rest` holds at most one own plan,
                    // and none when `a` is the person's own).
                    underlying: rest.as_deref(),
                },
                now,
            )
            .await?;
            let mut detail = detail;
            detail["category"] = json!(category);
            detail["restored"] = json!(a.category);
            detail["release_on"] = json!(a.plan.release_on);
            repo::insert_event(
                c,
                now,
                actor,
                Some(person_id),
                None,
                "control_restored",
                &detail,
            )
            .await?;
            Ended::Restored(a)
        }
        None => {
            crate::storage::monitoring::set_control_status(c, person_id, "released", now).await?;
            let mut detail = detail;
            detail["category"] = json!(category);
            repo::insert_event(
                c,
                now,
                actor,
                Some(person_id),
                None,
                "control_released",
                &detail,
            )
            .await?;
            Ended::Released
        }
    };
    refresh_colour_on(c, person_id, day_of(now), actor, now).await?;
    Ok(ended)
}

/// One open task of a kind per person: a new reason joins the open task.
async fn dispatch(
    c: &mut AnyConnection,
    ch: &Change<'_>,
    kind: TaskKind,
    hours: u32,
    reason: &str,
) -> Result<()> {
    open_task(
        c,
        &NewTask {
            person_id: ch.person_id,
            kind,
            region: ch.grid,
            hours,
            reason,
            actor: ch.actor,
            now: ch.now,
        },
    )
    .await
    .map(|_| ())
}

pub struct NewTask<'a> {
    pub person_id: i64,
    pub kind: TaskKind,
    pub region: &'a str,
    pub hours: u32,
    pub reason: &'a str,
    pub actor: &'a str,
    pub now: i64,
}

/// Opens a task, or adds the reason to the person's open task of that kind
/// (bringing its deadline forward if sooner). Returns the task's id.
pub async fn open_task(c: &mut AnyConnection, t: &NewTask<'_>) -> Result<i64> {
    open_task_due(c, t, t.now + i64::from(t.hours) * 3600).await
}

/// [`open_task`] with a deadline given as a time (`t.hours` unused): a 协查
/// list's own deadline.
pub async fn open_task_due(c: &mut AnyConnection, t: &NewTask<'_>, due_at: i64) -> Result<i64> {
    let (task_id, event) = match repo::open_task(c, t.person_id, t.kind.as_str()).await? {
        Some(open) => {
            repo::attach_to_task(c, open.id, t.reason, due_at, t.now).await?;
            (open.id, "task_attached")
        }
        None => {
            let id = repo::insert_task(
                c,
                t.kind.as_str(),
                t.person_id,
                t.region,
                due_at,
                t.reason,
                t.now,
            )
            .await?;
            (id, "task_created")
        }
    };
    repo::insert_event(
        c,
        t.now,
        t.actor,
        Some(t.person_id),
        Some(task_id),
        event,
        &json!({"kind": t.kind.as_str(), "due_at": due_at, "reason": t.reason}),
    )
    .await?;
    Ok(task_id)
}
