//! Applying an assessment to a person: the stricter control wins, and the
//! tasks it calls for are open exactly once.

use bihuan_domain::policy::{Assessment, Policy, Reason};
use bihuan_domain::task::TaskKind;
use serde_json::json;
use sqlx::AnyConnection;

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

pub async fn apply(c: &mut AnyConnection, policy: &Policy, ch: Change<'_>) -> Result<Applied> {
    let current = repo::control(c, ch.person_id).await?;
    let running = match &current {
        Some(k) if k.status != "released" => Some(parse_assessment(&k.assessment)?),
        _ => None,
    };
    let stricter = running
        .as_ref()
        .is_none_or(|r| ch.assessment.strictness_cmp(r, policy) == std::cmp::Ordering::Greater);
    let raised = stricter && running.is_some();
    let control = if stricter {
        let a = ch.assessment;
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
        a.clone()
    } else {
        running.expect("not stricter implies a running control")
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
