//! 重点行业滚动检测: employers' rosters of key-industry workers, each worker's
//! compliance derived from their tests, and the overdue told to the employer's
//! grid and to the workers themselves.

use bihuan_domain::Date;
use bihuan_domain::identity::{DocumentNumber, Phone, mask_name};
use bihuan_domain::policy::md_zh;
use bihuan_domain::task::TaskKind;
use bihuan_domain::validation::{self, FieldError, FieldErrors};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::control::{NewTask, open_task};
use super::rounds::{grid_field, person_fields, split_rows};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::notify;
use crate::storage::monitoring as monitoring_store;
use crate::storage::{repo, rolling as store, testing as testing_store};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterInput {
    pub employer: String,
    /// The employer's grid.
    pub grid: String,
    pub industry: String,
    #[serde(default)]
    pub id_type: Option<String>,
    pub id_number: String,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RosterReport {
    pub loaded: usize,
    pub refused: Vec<(usize, Vec<FieldError>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overdue {
    pub employer_id: i64,
    pub employer: String,
    pub grid: String,
    pub industry: String,
    pub person_id: i64,
    pub name: String,
    pub last_negative: Option<String>,
    /// The day the next test was due.
    pub due_on: Date,
}

struct ValidRow {
    employer: String,
    grid: String,
    industry: String,
    document: DocumentNumber,
    name: String,
    phone: Option<Phone>,
}

impl Services {
    fn roster_row(
        &self,
        r: &RosterInput,
        today: Date,
    ) -> std::result::Result<ValidRow, FieldErrors> {
        let mut e = FieldErrors::default();
        let employer = e.take(validation::text("employer", &r.employer, 100));
        let grid = grid_field(&mut e, &r.grid);
        if self.policy.industry(&r.industry).is_none() {
            e.push(FieldError::new(
                "industry",
                "industry",
                "行业不在重点行业目录中",
                "not a key industry of the policy",
            ));
        }
        let person = person_fields(
            &mut e,
            r.id_type.as_deref(),
            &r.id_number,
            &r.name,
            r.phone.as_deref(),
            today,
        );
        match (employer, grid, person) {
            (Some(employer), Some(grid), Some(p)) if e.is_empty() => Ok(ValidRow {
                employer,
                grid,
                industry: r.industry.clone(),
                document: p.document,
                name: p.name,
                phone: p.phone,
            }),
            _ => Err(e),
        }
    }

    /// Loads employers' rosters: good rows load, bad rows are refused with
    /// their row numbers; loading again changes nothing.
    pub async fn import_roster(
        &self,
        actor: &Actor,
        rows: Vec<RosterInput>,
    ) -> Result<RosterReport> {
        if !actor.role.can_review() {
            return Err(Error::Forbidden);
        }
        let today = self.clock.today();
        let parsed = rows.iter().map(|r| self.roster_row(r, today)).collect();
        let (good, refused) = split_rows(parsed, actor.scope(), |v: &ValidRow| &v.grid);
        let loaded = good.len();
        // Every row refused: nothing to load and nothing to record.
        if loaded == 0 {
            return Ok(RosterReport { loaded, refused });
        }
        let (svc, who) = (self.clone(), actor.username.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    for v in &good {
                        if repo::region(c, &v.grid)
                            .await?
                            .is_none_or(|g| g.level != "grid")
                        {
                            return Err(Error::field(
                                "grid",
                                "unknown",
                                &format!("网格 {} 不存在", v.grid),
                                &format!("no grid {}", v.grid),
                            ));
                        }
                        let employer =
                            store::upsert_employer(c, &v.employer, &v.grid, &v.industry, now)
                                .await?;
                        let person = svc.person_for(c, v, now).await?;
                        store::add_worker(c, employer, person, now).await?;
                    }
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "roster_loaded",
                        &json!({"rows": good.len()}),
                    )
                    .await?;
                    Ok(())
                })
            })
            .await?;
        Ok(RosterReport { loaded, refused })
    }

    async fn person_for(&self, c: &mut AnyConnection, v: &ValidRow, now: i64) -> Result<i64> {
        let lookup = self.vault.lookup(&v.document.lookup_key_material());
        if let Some((id, _)) = testing_store::person_by_document(c, &lookup).await? {
            return Ok(id);
        }
        repo::upsert_person(
            c,
            &repo::NewPerson {
                doc_type: v.document.kind().as_str(),
                doc_lookup: &lookup,
                doc_enc: &self.vault.encrypt(v.document.number()),
                doc_masked: &v.document.masked(),
                name: &v.name,
                phone_enc: &self
                    .vault
                    .encrypt(v.phone.as_ref().map(|p| p.as_str()).unwrap_or("")),
                phone_masked: &v.phone.as_ref().map(|p| p.masked()).unwrap_or_default(),
                region: &v.grid,
            },
            now,
        )
        .await
    }

    /// Workers inside `scope` whose next test is overdue on `today`: no
    /// negative test within their industry's interval.
    pub(crate) async fn overdue_in(
        &self,
        c: &mut AnyConnection,
        scope: &str,
        today: Date,
    ) -> Result<Vec<Overdue>> {
        let mut out = Vec::new();
        for r in store::roster(c, scope).await? {
            let Some(industry) = self.policy.industry(&r.industry) else {
                continue;
            };
            let every = Duration::days(i64::from(industry.every_days));
            let start = r
                .last_negative
                .as_deref()
                .and_then(|d| d.parse::<Date>().ok())
                .unwrap_or_else(|| {
                    crate::clock::shanghai(
                        chrono::DateTime::from_timestamp(r.enrolled_at, 0).unwrap_or_default(),
                    )
                    .date_naive()
                        - every
                });
            let due_on = start + every;
            if due_on <= today {
                out.push(Overdue {
                    employer_id: r.employer_id,
                    employer: r.employer,
                    grid: r.grid,
                    industry: r.industry,
                    person_id: r.person_id,
                    name: r.name,
                    last_negative: r.last_negative,
                    due_on,
                });
            }
        }
        Ok(out)
    }

    /// The overdue list of the actor's region, by employer.
    pub async fn rolling_overdue(&self, actor: &Actor) -> Result<Vec<Overdue>> {
        let mut c = self.db.pool().acquire().await?;
        self.overdue_in(&mut c, actor.scope(), self.clock.today())
            .await
    }

    /// The daily rolling-programme sweep: a task to the employer's grid and a
    /// reminder to each overdue worker. Runs inside `run_jobs`' claim.
    pub(crate) async fn rolling_sweep(
        &self,
        c: &mut AnyConnection,
        today: Date,
        now: i64,
    ) -> Result<usize> {
        let overdue = self.overdue_in(c, "", today).await?;
        let mut done = 0;
        for o in &overdue {
            monitoring_store::row_begin(c).await?;
            let r = self.remind_overdue(c, o, today, now).await;
            done += usize::from(
                monitoring_store::row_end(c, "rolling", o.person_id, r)
                    .await?
                    .is_some(),
            );
        }
        Ok(done)
    }

    async fn remind_overdue(
        &self,
        c: &mut AnyConnection,
        o: &Overdue,
        today: Date,
        now: i64,
    ) -> Result<()> {
        let label = self
            .policy
            .industry(&o.industry)
            .map(|i| i.label_zh.clone())
            .unwrap_or_default();
        let reason = format!(
            "{}（{}）员工滚动核酸超期，应于{}前检测",
            o.employer,
            label,
            md_zh(o.due_on)
        );
        open_task(
            c,
            &NewTask {
                person_id: o.person_id,
                kind: TaskKind::RollingOverdue,
                region: &o.grid,
                hours: self.policy.deadlines.test_missed_hours,
                reason: &reason,
                actor: "system",
                now,
            },
        )
        .await?;
        let body = notify::render(
            "rolling_due",
            &[("name", &mask_name(&o.name)), ("employer", &o.employer)],
        );
        monitoring_store::queue_notification(
            c,
            o.person_id,
            &format!("rolling_due:{}:{today}", o.person_id),
            "rolling_due",
            &body,
            now,
        )
        .await?;
        Ok(())
    }
}
