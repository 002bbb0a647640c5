//! 预警: the daily surge job (each township's signals against its own
//! baseline), the at-once alert of a febrile red- or yellow-code buyer, and
//! the town's handling: 签收 within the policy's hours (else the city is
//! told), then 研判; a suspected event sends 核查 tasks to the grids of the
//! persons behind it.

use bihuan_domain::Date;
use bihuan_domain::access::Role;
use bihuan_domain::duty;
use bihuan_domain::surge::{check, febrile_alerts};
use bihuan_domain::task::TaskKind;
use bihuan_domain::validation::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;
use std::collections::HashMap;

use super::control::{NewTask, open_task};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::storage::surge::{self as store, Alert, NewAlert, SignalSource};
use crate::storage::{monitoring as jobs, repo};

pub const KIND_SURGE: &str = "surge";
pub const KIND_FEBRILE: &str = "febrile_red_yellow";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeInput {
    pub verdict: String,
    #[serde(default)]
    pub note: String,
}

/// A person behind an alert, masked.
#[derive(Debug, Clone, Serialize)]
pub struct AlertPerson {
    pub id: i64,
    pub name: String,
    pub doc_masked: String,
    pub phone_masked: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    pub id: i64,
    pub state: String,
    /// 核查 tasks opened (or attached to) by a suspected event.
    pub tasks: Vec<i64>,
}

fn may_handle(actor: &Actor) -> Result<()> {
    if matches!(actor.role, Role::Command | Role::Town) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn epoch() -> Date {
    Date::from_ymd_opt(1970, 1, 1).expect("a date")
}

fn date_of(day: i64) -> Date {
    epoch() + chrono::Days::new(u64::try_from(day).unwrap_or(0))
}

fn milli(x: f64) -> i64 {
    (x * 1000.0).round() as i64
}

impl Services {
    /// The run_jobs block: once a day, judge yesterday's counts of every
    /// source; every minute, send late 签收 up. Returns alerts opened plus
    /// alerts escalated.
    pub(crate) async fn surge_jobs(
        &self,
        c: &mut AnyConnection,
        today: Date,
        minute: &str,
        now: i64,
    ) -> Result<Option<usize>> {
        let mut done = None;
        if jobs::claim_job(c, "surge", &today.to_string(), now).await? {
            let day = (today - epoch()).num_days() - 1;
            let mut n = 0;
            for source in SignalSource::ALL {
                n += self.surge_day(c, source, day, now).await?;
            }
            done = Some(n);
        }
        if jobs::claim_job(c, "alert_escalate", minute, now).await? {
            let n = self.escalate_alerts(c, now).await?;
            done = Some(done.unwrap_or(0) + n);
        }
        Ok(done)
    }

    /// Judges `day` (a day number) of one source in every township that
    /// had any; opens an alert for each surge.
    async fn surge_day(
        &self,
        c: &mut AnyConnection,
        source: SignalSource,
        day: i64,
        now: i64,
    ) -> Result<usize> {
        let rule = &self.policy.surge;
        let from = day - i64::from(rule.baseline_days);
        let mut counts: HashMap<(String, i64), i64> = HashMap::new();
        for (township, d, n) in store::daily_counts(c, source, from, day).await? {
            counts.insert((township, d), n);
        }
        let first: HashMap<String, i64> = store::first_days(c, source).await?.into_iter().collect();
        let mut townships: Vec<&String> = counts
            .keys()
            .filter(|(_, d)| *d == day)
            .map(|(t, _)| t)
            .collect();
        townships.sort();
        let mut opened = 0;
        for township in townships {
            let start = from.max(first.get(township).copied().unwrap_or(day));
            let history: Vec<u32> = (start..day)
                .map(|d| count_u32(counts.get(&(township.clone(), d)).copied()))
                .collect();
            let today = count_u32(counts.get(&(township.clone(), day)).copied());
            let verdict = check(rule, &history, today);
            if !verdict.alert {
                continue;
            }
            // One township's alert under its own savepoint: a bad row is
            // logged and the others are still judged.
            jobs::row_begin(c).await?;
            let r = self
                .open_surge(c, source, township, day, today, &verdict, now)
                .await;
            let row = township.parse::<i64>().unwrap_or(-1);
            if jobs::row_end(c, "surge", row, r).await? == Some(true) {
                opened += 1;
            }
        }
        Ok(opened)
    }

    /// Opens the surge alert of one township-day (once); true when new.
    #[allow(clippy::too_many_arguments)]
    async fn open_surge(
        &self,
        c: &mut AnyConnection,
        source: SignalSource,
        township: &str,
        day: i64,
        today: u32,
        verdict: &bihuan_domain::surge::SurgeCheck,
        now: i64,
    ) -> Result<bool> {
        let rule = &self.policy.surge;
        let date = date_of(day).to_string();
        let id = store::insert_alert(
            c,
            &NewAlert {
                kind: KIND_SURGE,
                source: source.as_str(),
                township,
                day: &date,
                count: i64::from(today),
                median_milli: milli(verdict.median),
                mad_milli: milli(verdict.mad),
                p90_milli: milli(verdict.p90),
                z_milli: milli(verdict.z),
                person_id: None,
                purchase_id: None,
                ack_due_at: now + i64::from(rule.ack_hours) * 3600,
            },
            now,
        )
        .await?;
        let Some(id) = id else { return Ok(false) };
        repo::insert_event(
            c,
            now,
            "system",
            None,
            None,
            "alert_opened",
            &json!({"alert": id, "kind": KIND_SURGE, "source": source.as_str(),
                    "region": township, "day": date, "count": today}),
        )
        .await?;
        Ok(true)
    }

    /// A purchase's at-once alert: a febrile (fever-transfer) buyer with a
    /// policy colour opens a 预警 for the pharmacy's township. Called inside
    /// record_purchase's transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn purchase_alert(
        &self,
        c: &mut AnyConnection,
        pharmacy_region: &str,
        person_id: i64,
        purchase_id: i64,
        health_code: &str,
        febrile: bool,
        now: i64,
    ) -> Result<()> {
        let rule = &self.policy.surge;
        if !febrile_alerts(rule, febrile, health_code) {
            return Ok(());
        }
        let township = pharmacy_region.get(..9).unwrap_or(pharmacy_region);
        let date =
            crate::clock::shanghai(chrono::DateTime::from_timestamp(now, 0).unwrap_or_default())
                .date_naive()
                .to_string();
        let id = store::insert_alert(
            c,
            &NewAlert {
                kind: KIND_FEBRILE,
                source: SignalSource::Pharmacy.as_str(),
                township,
                day: &date,
                count: 1,
                median_milli: 0,
                mad_milli: 0,
                p90_milli: 0,
                z_milli: 0,
                person_id: Some(person_id),
                purchase_id: Some(purchase_id),
                ack_due_at: now + i64::from(rule.ack_hours) * 3600,
            },
            now,
        )
        .await?;
        repo::insert_event(
            c,
            now,
            "system",
            Some(person_id),
            None,
            "alert_opened",
            &json!({"alert": id, "kind": KIND_FEBRILE, "purchase": purchase_id,
                    "region": township, "health_code": health_code}),
        )
        .await?;
        Ok(())
    }

    /// Open alerts past their 签收 deadline go to the city, each once.
    async fn escalate_alerts(&self, c: &mut AnyConnection, now: i64) -> Result<usize> {
        let mut n = 0;
        for (id, township) in store::late_alerts(c, now).await? {
            let Some(to) = duty::escalation_target(&township) else {
                continue;
            };
            jobs::row_begin(c).await?;
            let r: Result<bool> = async {
                if !store::escalate(c, id, to, now).await? {
                    return Ok(false);
                }
                repo::insert_event(
                    c,
                    now,
                    "system",
                    None,
                    None,
                    "alert_escalated",
                    &json!({"alert": id, "from": township, "to": to, "region": to}),
                )
                .await?;
                Ok(true)
            }
            .await;
            n += usize::from(
                jobs::row_end(c, "alert_escalate", id, r)
                    .await?
                    .unwrap_or(false),
            );
        }
        Ok(n)
    }

    /// 预警 of the actor's region, newest first.
    pub async fn alerts(&self, actor: &Actor) -> Result<Vec<Alert>> {
        may_handle(actor)?;
        let mut c = self.db.pool().acquire().await?;
        store::alerts_in(&mut c, actor.scope()).await
    }

    /// 签收: the town (or the city) takes the alert.
    pub async fn ack_alert(&self, actor: &Actor, id: i64) -> Result<Alert> {
        may_handle(actor)?;
        let (svc, who, scope) = (
            self.clone(),
            actor.username.clone(),
            actor.scope().to_string(),
        );
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    store::alert_in(c, id, &scope)
                        .await?
                        .ok_or(Error::NotFound)?;
                    if !store::ack(c, id, &who, now).await? {
                        return Err(Error::Conflict("the alert is already acknowledged".into()));
                    }
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "alert_acked",
                        &json!({"alert": id}),
                    )
                    .await?;
                    store::alert_in(c, id, &scope).await?.ok_or(Error::NotFound)
                })
            })
            .await
    }

    /// 研判: 误报 closes the alert; 疑似事件 sends a 核查 task to the grid
    /// of each person behind it.
    pub async fn judge_alert(&self, actor: &Actor, id: i64, input: JudgeInput) -> Result<Judged> {
        may_handle(actor)?;
        let mut e = FieldErrors::default();
        let verdict = input.verdict.trim().to_string();
        if !matches!(verdict.as_str(), "false_alarm" | "suspected") {
            e.push(FieldError::new(
                "verdict",
                "verdict",
                "研判结论应为误报或疑似事件",
                "a false alarm or a suspected event",
            ));
        }
        let note = input.note.trim().to_string();
        if note.chars().count() > 500 {
            e.push(FieldError::new(
                "note",
                "length",
                "说明最长500字",
                "at most 500 characters",
            ));
        }
        if !e.is_empty() {
            return Err(e.into());
        }
        let (svc, who, scope) = (
            self.clone(),
            actor.username.clone(),
            actor.scope().to_string(),
        );
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let alert = store::alert_in(c, id, &scope)
                        .await?
                        .ok_or(Error::NotFound)?;
                    if !store::judge(c, id, &verdict, &note, &who, now).await? {
                        return Err(Error::Conflict(
                            "the alert must be acknowledged first".into(),
                        ));
                    }
                    let mut tasks = Vec::new();
                    if verdict == "suspected" {
                        for person in svc.people_behind(c, &alert).await? {
                            let p = repo::person_in(c, person, "")
                                .await?
                                .ok_or(Error::NotFound)?;
                            let reason = match alert.kind.as_str() {
                                KIND_FEBRILE => {
                                    "预警研判为疑似事件：发热红黄码购药人核查".to_string()
                                }
                                _ if alert.source == "fever_clinic" => {
                                    format!("预警研判为疑似事件：{}发热门诊就诊激增核查", alert.day)
                                }
                                _ => format!("预警研判为疑似事件：{}药店购药激增核查", alert.day),
                            };
                            tasks.push(
                                open_task(
                                    c,
                                    &NewTask {
                                        person_id: person,
                                        kind: TaskKind::Verify,
                                        region: &p.region,
                                        hours: svc.policy.surge.task_hours,
                                        reason: &reason,
                                        actor: &who,
                                        now,
                                    },
                                )
                                .await?,
                            );
                        }
                    }
                    repo::insert_event(
                        c,
                        now,
                        &who,
                        None,
                        None,
                        "alert_judged",
                        &json!({"alert": id, "verdict": verdict, "tasks": tasks.len()}),
                    )
                    .await?;
                    Ok(Judged {
                        id,
                        state: verdict,
                        tasks,
                    })
                })
            })
            .await
    }

    /// The persons behind an alert as a list shows them (masked name,
    /// document and phone), at most `limit`; another region's alert is 404.
    pub async fn alert_people(
        &self,
        actor: &Actor,
        id: i64,
        limit: usize,
    ) -> Result<Vec<AlertPerson>> {
        may_handle(actor)?;
        let mut c = self.db.pool().acquire().await?;
        let alert = store::alert_in(&mut c, id, actor.scope())
            .await?
            .ok_or(Error::NotFound)?;
        let mut out = Vec::new();
        for person in self
            .people_behind(&mut c, &alert)
            .await?
            .into_iter()
            .take(limit)
        {
            if let Some(p) = repo::person_in(&mut c, person, "").await? {
                out.push(AlertPerson {
                    id: p.id,
                    name: bihuan_domain::identity::mask_name(&p.name),
                    doc_masked: p.doc_masked,
                    phone_masked: p.phone_masked,
                });
            }
        }
        Ok(out)
    }

    /// The persons behind an alert: its buyer, or every person behind the
    /// township-day of its source.
    async fn people_behind(&self, c: &mut AnyConnection, alert: &Alert) -> Result<Vec<i64>> {
        if let Some(p) = alert.person_id {
            return Ok(vec![p]);
        }
        let (Some(source), Ok(date)) = (
            SignalSource::parse(&alert.source),
            Date::parse_from_str(&alert.day, "%Y-%m-%d"),
        ) else {
            return Ok(Vec::new());
        };
        store::people_of_day(c, source, &alert.township, (date - epoch()).num_days()).await
    }
}

fn count_u32(n: Option<i64>) -> u32 {
    u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX)
}
