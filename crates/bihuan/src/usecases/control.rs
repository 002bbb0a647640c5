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
    pub declaration_id: i64,
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
    let due_at = ch.now + i64::from(hours) * 3600;
    let (task_id, event) = match repo::open_task(c, ch.person_id, kind.as_str()).await? {
        Some(t) => {
            repo::attach_to_task(c, t.id, reason, due_at, ch.now).await?;
            (t.id, "task_attached")
        }
        None => {
            let id = repo::insert_task(
                c,
                kind.as_str(),
                ch.person_id,
                ch.grid,
                due_at,
                reason,
                ch.now,
            )
            .await?;
            (id, "task_created")
        }
    };
    repo::insert_event(
        c,
        ch.now,
        ch.actor,
        Some(ch.person_id),
        Some(task_id),
        event,
        &json!({"kind": kind.as_str(), "due_at": due_at, "reason": reason}),
    )
    .await
}
