//! Read models: what a user sees. Reads never change state, except that an
//! unmasked view of personal data is itself recorded.

use bihuan_domain::identity::mask_name;
use bihuan_domain::policy::{Assessment, Policy};
use bihuan_domain::regions::RegionLevel;
use serde::Serialize;
use serde_json::json;

use super::control::{parse_assessment, status_of};
use super::declare::ControlView;
use super::tasks::{TaskView, view};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::repo::{self, EventRow, TaskFilter};

#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub id: i64,
    pub name: String,
    pub id_type: String,
    pub id_number: String,
    pub phone: String,
    pub region: String,
    pub unmasked: bool,
    pub control: Option<ControlView>,
    pub tasks: Vec<TaskView>,
    pub timeline: Vec<EventRow>,
}

/// What the person sees on their status page: no login, masked name only.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub receipt: String,
    pub name: String,
    pub arrival_date: String,
    pub assessment: Assessment,
    pub control: Option<ControlView>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Overview {
    /// (town code, town name, category, count) for declarations received today.
    pub declarations_today: Vec<(String, String, String, i64)>,
    /// (state, count, overdue).
    pub tasks_by_state: Vec<(String, i64, i64)>,
    /// (town code, town name, overdue count).
    pub overdue_by_town: Vec<(String, String, i64)>,
}

pub struct TaskQuery {
    pub state: Option<String>,
    pub region: Option<String>,
    pub escalated: bool,
    pub overdue: bool,
    pub after: i64,
    pub limit: i64,
}

impl Services {
    /// A person in the actor's region. Identity number and phone are masked
    /// unless `unmask` is asked for by a role that may, and then it is audited.
    pub async fn person(&self, actor: &Actor, id: i64, unmask: bool) -> Result<PersonView> {
        if unmask && !actor.role.can_unmask() {
            return Err(Error::Forbidden);
        }
        let now = self.clock.timestamp();
        let p = {
            let mut c = self.db.pool().acquire().await?;
            repo::person_in(&mut c, id, actor.scope())
                .await?
                .ok_or(Error::NotFound)?
        };
        let (id_number, phone) = if unmask {
            let who = actor.username.clone();
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        repo::insert_event(c, now, &who, Some(id), None, "unmasked", &json!({}))
                            .await
                    })
                })
                .await?;
            (
                self.vault.decrypt(&p.doc_enc).unwrap_or_default(),
                self.vault.decrypt(&p.phone_enc).unwrap_or_default(),
            )
        } else {
            (p.doc_masked.clone(), p.phone_masked.clone())
        };
        let mut c = self.db.pool().acquire().await?;
        let control = match repo::control(&mut c, id).await? {
            Some(k) => Some(ControlView::new(
                &parse_assessment(&k.assessment)?,
                &k.status,
            )),
            None => None,
        };
        let tasks = repo::tasks_of_person(&mut c, id)
            .await?
            .iter()
            .map(|t| view(t, now))
            .collect();
        Ok(PersonView {
            id,
            name: p.name,
            id_type: p.doc_type,
            id_number,
            phone,
            region: p.region,
            unmasked: unmask,
            control,
            tasks,
            timeline: repo::person_events(&mut c, id).await?,
        })
    }

    pub async fn status(&self, receipt: &str) -> Result<StatusView> {
        if receipt.len() != 24 || !receipt.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::NotFound);
        }
        let mut c = self.db.pool().acquire().await?;
        let d = repo::declaration_by_receipt(&mut c, receipt)
            .await?
            .ok_or(Error::NotFound)?;
        let name = repo::person_in(&mut c, d.person_id, "")
            .await?
            .map(|p| mask_name(&p.name))
            .unwrap_or_default();
        let control = match repo::control(&mut c, d.person_id).await? {
            Some(k) => {
                let a = parse_assessment(&k.assessment)?;
                Some(ControlView::new(&a, status_of(&a)))
            }
            None => None,
        };
        Ok(StatusView {
            receipt: d.receipt,
            name,
            arrival_date: d.arrival_date,
            assessment: parse_assessment(&d.assessment)?,
            control,
        })
    }

    pub async fn tasks(&self, actor: &Actor, q: TaskQuery) -> Result<Vec<TaskView>> {
        let scope = match &q.region {
            // A narrower region inside the actor's own; anything else sees nothing.
            Some(r) if r.starts_with(actor.scope()) && r.bytes().all(|b| b.is_ascii_digit()) => {
                r.clone()
            }
            Some(_) => return Ok(vec![]),
            None => actor.scope().to_string(),
        };
        if let Some(s) = &q.state
            && bihuan_domain::task::TaskState::parse(s).is_none()
        {
            return Err(Error::field(
                "state",
                "state",
                "任务状态无效",
                "unknown task state",
            ));
        }
        let now = self.clock.timestamp();
        let mut c = self.db.pool().acquire().await?;
        let rows = repo::list_tasks(
            &mut c,
            &TaskFilter {
                scope: &scope,
                state: q.state.as_deref(),
                escalated_to: q.escalated.then_some(actor.scope()),
                overdue_at: q.overdue.then_some(now),
                after_id: q.after,
                limit: q.limit.clamp(1, 500),
            },
        )
        .await?;
        Ok(rows.iter().map(|t| view(t, now)).collect())
    }

    pub async fn overview(&self, actor: &Actor) -> Result<Overview> {
        let now = self.clock.now();
        let midnight = crate::clock::shanghai(now)
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp()
            - 8 * 3600;
        let mut c = self.db.pool().acquire().await?;
        let towns = repo::regions_at_level(&mut c, RegionLevel::Town.as_str()).await?;
        let town_name = |code: &str| {
            towns
                .iter()
                .find(|t| t.code == code)
                .map(|t| t.name.clone())
                .unwrap_or_else(|| code.to_string())
        };
        let scope = actor.scope();
        Ok(Overview {
            declarations_today: repo::declarations_by_town(&mut c, scope, midnight)
                .await?
                .into_iter()
                .map(|(t, cat, n)| (town_name(&t), t, cat, n))
                .map(|(name, t, cat, n)| (t, name, cat, n))
                .collect(),
            tasks_by_state: repo::tasks_by_state(&mut c, scope, now.timestamp()).await?,
            overdue_by_town: repo::overdue_by_town(&mut c, scope, now.timestamp())
                .await?
                .into_iter()
                .map(|(t, n)| (t.clone(), town_name(&t), n))
                .collect(),
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}
