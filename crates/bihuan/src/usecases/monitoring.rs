//! 管控执行: a running control's days. Check-ins and tests come in; the daily
//! jobs turn what was missed into tasks, queue reminders, derive the health
//! code and find who is due for release.

use bihuan_domain::Date;
use bihuan_domain::identity::{Phone, mask_name};
use bihuan_domain::monitoring::{
    self, Release, TestRecord, TestResult, TestState, check_in_alarm, parse_temperature,
};
use bihuan_domain::plan::Plan;
use bihuan_domain::policy::{HealthCode, Symptom, md_zh};
use bihuan_domain::task::TaskKind;
use bihuan_domain::validation::{FieldError, FieldErrors};
use chrono::Timelike;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use super::control::{NewTask, open_task, parse_assessment};
use super::{Actor, Services};
use crate::error::{Error, Result};
use crate::notify::{self, Message};
use crate::storage::monitoring as store;
use crate::storage::repo;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckInInput {
    /// Degrees Celsius, e.g. "36.5".
    pub temperature: String,
    #[serde(default)]
    pub symptoms: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckedIn {
    pub date: Date,
    pub temperature: String,
    /// A fever-clinic transfer was dispatched.
    pub alarm: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestInput {
    pub person_id: i64,
    /// RFC 3339, e.g. "2022-01-29T09:30:00+08:00".
    pub sampled_at: String,
    pub result: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestRecorded {
    pub test_id: i64,
    pub sampled_on: Date,
    pub health_code: &'static str,
    pub control_status: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct JobReport {
    pub escalated: Option<u64>,
    pub obligations: Option<usize>,
    pub missed_check_ins: Option<usize>,
    pub rolling_overdue: Option<usize>,
    /// Tests owed after pharmacy purchases that passed their deadline
    /// unmet: a 核查 task each.
    pub pharmacy_overdue: Option<usize>,
    /// 预警 opened by the daily surge job plus alerts sent up for a late 签收.
    pub surge: Option<usize>,
    /// Grid tasks opened for rounds that closed.
    pub round_deadlines: usize,
    pub delivered: usize,
    /// The 日报 made by this run, if it was due and this replica claimed it.
    pub daily_report: Option<i64>,
    /// Jobs that failed this run (logged); the others ran.
    pub failed: Vec<&'static str>,
}

/// One line of a grid's 今日应检 list.
#[derive(Debug, Clone, Serialize)]
pub struct DueTest {
    pub person_id: i64,
    pub name: String,
    pub day: i64,
    pub double: bool,
    pub state: TestState,
}

/// Symptoms as sent (each once; an unknown one is an error at its index).
pub(crate) fn parse_symptoms(e: &mut FieldErrors, raw: &[String]) -> Vec<Symptom> {
    let mut symptoms = Vec::new();
    for (i, s) in raw.iter().take(Symptom::ALL.len() + 1).enumerate() {
        match Symptom::parse(s) {
            Some(x) if !symptoms.contains(&x) => symptoms.push(x),
            Some(_) => {}
            None => e.push(FieldError::new(
                format!("symptoms.{i}"),
                "symptom",
                "症状无效",
                "unknown symptom",
            )),
        }
    }
    symptoms
}

fn parse_check_in(input: &CheckInInput) -> std::result::Result<(u16, Vec<Symptom>), FieldErrors> {
    let mut e = FieldErrors::default();
    let t = e.take(parse_temperature("temperature", &input.temperature));
    let symptoms = parse_symptoms(&mut e, &input.symptoms);
    match t {
        Some(t) if e.is_empty() => Ok((t, symptoms)),
        _ => Err(e),
    }
}

/// Derives and stores a person's health-code colour as of `today`, in the
/// caller's transaction; returns it.
pub(crate) async fn refresh_colour_on(
    c: &mut AnyConnection,
    person_id: i64,
    today: Date,
    actor: &str,
    now: i64,
) -> Result<HealthCode> {
    let colour = derive_colour(c, person_id, today).await?;
    store_colour(c, person_id, colour, actor, now).await?;
    Ok(colour)
}

/// The colour of a person whose control was just set: stored at once (the
/// feed shows a new measure in the same transaction), except green for
/// someone with no colour yet, which is what having none means; so the
/// common registration takes no feed number (nor its lock).
pub(crate) async fn colour_new_control(
    c: &mut AnyConnection,
    person_id: i64,
    today: Date,
    actor: &str,
    now: i64,
) -> Result<()> {
    let colour = derive_colour(c, person_id, today).await?;
    if colour != HealthCode::Green || store::health_code_of(c, person_id).await?.is_some() {
        store_colour(c, person_id, colour, actor, now).await?;
    }
    Ok(())
}

async fn derive_colour(c: &mut AnyConnection, person_id: i64, today: Date) -> Result<HealthCode> {
    let records = store::tests_of(c, person_id).await?;
    Ok(match repo::control(c, person_id).await? {
        Some(k) if k.status == "positive" => HealthCode::Red,
        Some(k) if matches!(k.status.as_str(), "active" | "due_for_release") => {
            monitoring::health_code(&parse_assessment(&k.assessment)?.plan, &records, today)
        }
        // A positive test without a running control (someone sampled
        // in a round) is still red.
        _ if records.iter().any(|r| r.result == TestResult::Positive) => HealthCode::Red,
        _ => HealthCode::Green,
    })
}

async fn store_colour(
    c: &mut AnyConnection,
    person_id: i64,
    colour: HealthCode,
    actor: &str,
    now: i64,
) -> Result<()> {
    if store::put_health_code(c, person_id, colour.as_str(), now).await? {
        repo::insert_event(
            c,
            now,
            actor,
            Some(person_id),
            None,
            "health_code_changed",
            &json!({"colour": colour.as_str()}),
        )
        .await?;
    }
    Ok(())
}

fn tenths(t: u16) -> String {
    format!("{}.{}", t / 10, t % 10)
}

/// Check-ins, help requests and tube scans by a receipt whose declared name
/// or phone did not match the identity on file, before the grid confirmed it.
pub const IDENTITY_PENDING_REFUSAL: Error = Error::Refused {
    code: "identity_pending",
    zh: "申报信息与登记信息不一致，正等待网格核实；核实前不能用此回执打卡、求助或采样登记，请联系所在村(社区)",
    en: "the declared identity differs from the one on file and awaits the grid's verification; until then this receipt cannot check in, ask for help or register a sample",
};

impl Services {
    /// A person checks in from their status page (no login: the receipt is the key).
    pub async fn check_in_by_receipt(
        &self,
        receipt: &str,
        input: CheckInInput,
    ) -> Result<CheckedIn> {
        let (t, symptoms) = parse_check_in(&input)?;
        let person_id = self.person_of_receipt(receipt).await?;
        let svc = self.clone();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    svc.check_in_in(c, person_id, t, &symptoms, "self", "public")
                        .await
                })
            })
            .await
    }

    /// A worker records a check-in for a person in their region.
    pub async fn check_in_for(
        &self,
        actor: &Actor,
        person_id: i64,
        input: CheckInInput,
    ) -> Result<CheckedIn> {
        let (t, symptoms) = parse_check_in(&input)?;
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    repo::person_in(c, person_id, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    svc.check_in_in(c, person_id, t, &symptoms, "worker", &actor.username)
                        .await
                })
            })
            .await
    }

    /// The person a receipt speaks for. A receipt whose declared identity
    /// waits for the grid's verification is refused: check-ins, help and
    /// tubes by it would act for whoever is on file.
    pub(crate) async fn person_of_receipt(&self, receipt: &str) -> Result<i64> {
        if receipt.len() != 24 || !receipt.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::NotFound);
        }
        let mut c = self.db.pool().acquire().await?;
        let d = repo::declaration_by_receipt(&mut c, receipt)
            .await?
            .ok_or(Error::NotFound)?;
        if !d.trusted() {
            return Err(IDENTITY_PENDING_REFUSAL);
        }
        Ok(d.person_id)
    }

    async fn check_in_in(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        t: u16,
        symptoms: &[Symptom],
        source: &str,
        actor: &str,
    ) -> Result<CheckedIn> {
        let now = self.clock.timestamp();
        let today = self.clock.today();
        let control = repo::control(c, person_id).await?.ok_or(Error::NotFound)?;
        if !matches!(control.status.as_str(), "active" | "due_for_release") {
            return Err(Error::Conflict(
                "no running control: no check-in needed".into(),
            ));
        }
        let names: Vec<&str> = symptoms.iter().map(|s| s.as_str()).collect();
        store::insert_check_in(
            c,
            &store::NewCheckIn {
                person_id,
                on_date: &today.to_string(),
                temperature: i64::from(t),
                symptoms: &names.join(","),
                source,
                actor,
            },
            now,
        )
        .await?;
        repo::insert_event(
            c,
            now,
            actor,
            Some(person_id),
            None,
            "checked_in",
            &json!({"date": today, "temperature": tenths(t), "symptoms": names, "source": source}),
        )
        .await?;
        let alarm = check_in_alarm(t, symptoms);
        if alarm {
            let grid = repo::person_in(c, person_id, "")
                .await?
                .ok_or(Error::NotFound)?
                .region;
            let zh: Vec<&str> = symptoms.iter().map(|s| s.label_zh()).collect();
            let reason = format!(
                "{}健康打卡：体温{}℃{}",
                md_zh(today),
                tenths(t),
                if zh.is_empty() {
                    String::new()
                } else {
                    format!("，{}", zh.join("、"))
                }
            );
            open_task(
                c,
                &NewTask {
                    person_id,
                    kind: TaskKind::FeverTransfer,
                    region: &grid,
                    hours: self.policy.symptoms.task_hours,
                    reason: &reason,
                    actor,
                    now,
                },
            )
            .await?;
        }
        Ok(CheckedIn {
            date: today,
            temperature: tenths(t),
            alarm,
        })
    }

    /// Records a test taken by a worker (the testing issue feeds this from
    /// samples later). A positive result stops the plan.
    pub async fn record_test(&self, actor: &Actor, input: TestInput) -> Result<TestRecorded> {
        let mut e = FieldErrors::default();
        let sampled_at = chrono::DateTime::parse_from_rfc3339(&input.sampled_at)
            .map_err(|_| {
                e.push(FieldError::new(
                    "sampled_at",
                    "datetime",
                    "采样时间格式应为 2022-01-29T09:30:00+08:00",
                    "an RFC 3339 time such as 2022-01-29T09:30:00+08:00",
                ))
            })
            .ok();
        let result = TestResult::parse(&input.result);
        if result.is_none() {
            e.push(FieldError::new(
                "result",
                "result",
                "结果应为阴性、阳性或待出",
                "negative, positive or pending",
            ));
        }
        let now = self.clock.now();
        if sampled_at.is_some_and(|s| s.timestamp() > now.timestamp() + 300) {
            e.push(FieldError::new(
                "sampled_at",
                "future",
                "采样时间不能在将来",
                "cannot be in the future",
            ));
        }
        let (Some(sampled_at), Some(result)) = (sampled_at, result) else {
            return Err(e.into());
        };
        e.into_result(())?;
        let sampled_on = crate::clock::shanghai(sampled_at.to_utc()).date_naive();
        let (svc, actor) = (self.clone(), actor.clone());
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let now = svc.clock.timestamp();
                    let p = repo::person_in(c, input.person_id, actor.scope())
                        .await?
                        .ok_or(Error::NotFound)?;
                    let test_id = store::insert_test(
                        c,
                        p.id,
                        &sampled_on.to_string(),
                        sampled_at.timestamp(),
                        result,
                        &actor.username,
                        now,
                    )
                    .await?;
                    repo::insert_event(
                        c,
                        now,
                        &actor.username,
                        Some(p.id),
                        None,
                        "test_recorded",
                        &json!({"sampled_on": sampled_on, "result": result.as_str()}),
                    )
                    .await?;
                    let mut status = repo::control(c, p.id)
                        .await?
                        .map(|k| k.status)
                        .unwrap_or_else(|| "none".into());
                    if result == TestResult::Positive && status != "positive" {
                        svc.mark_positive(c, p.id, &p.region, sampled_on, &actor.username, now)
                            .await?;
                        status = "positive".into();
                    }
                    let colour = svc.refresh_colour(c, p.id, &actor.username, now).await?;
                    Ok(TestRecorded {
                        test_id,
                        sampled_on,
                        health_code: colour.as_str(),
                        control_status: status,
                    })
                })
            })
            .await
    }

    /// A positive result: the plan stops, case management takes over.
    pub(crate) async fn mark_positive(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        grid: &str,
        sampled_on: Date,
        actor: &str,
        now: i64,
    ) -> Result<()> {
        store::set_control_status(c, person_id, "positive", now).await?;
        repo::insert_event(
            c,
            now,
            actor,
            Some(person_id),
            None,
            "control_positive",
            &json!({"sampled_on": sampled_on}),
        )
        .await?;
        // A confirmed case: 流调 starts from the positive sample's day.
        self.open_case_in(c, person_id, "positive", sampled_on, "", actor, now)
            .await?;
        open_task(
            c,
            &NewTask {
                person_id,
                kind: TaskKind::Positive,
                region: grid,
                hours: self.policy.deadlines.positive_hours,
                reason: &format!("{}采样核酸阳性，转病例管理", md_zh(sampled_on)),
                actor,
                now,
            },
        )
        .await?;
        Ok(())
    }

    /// Derives and stores a person's health-code colour; returns it.
    pub(crate) async fn refresh_colour(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        actor: &str,
        now: i64,
    ) -> Result<HealthCode> {
        refresh_colour_on(c, person_id, self.clock.today(), actor, now).await
    }

    async fn store_colour(
        &self,
        c: &mut AnyConnection,
        person_id: i64,
        colour: HealthCode,
        actor: &str,
        now: i64,
    ) -> Result<()> {
        store_colour(c, person_id, colour, actor, now).await
    }

    /// Runs every periodic job that is due now. Each (job, period) runs once
    /// across all replicas: the claim commits with the job's work. Each job
    /// runs on its own: one that fails is logged (and named in the report's
    /// `failed`) and the others still run; inside a job, a row that fails is
    /// logged and skipped (`store::row_begin` / `row_end`).
    pub async fn run_jobs(&self) -> Result<JobReport> {
        let now = self.clock.now();
        let local = crate::clock::shanghai(now);
        let today = local.date_naive();
        let minute = local.format("%Y-%m-%dT%H:%M").to_string();
        let pharmacy_minute = minute.clone();
        let mut report = JobReport::default();
        let mut failed = Vec::new();
        fn kept<T>(failed: &mut Vec<&'static str>, job: &'static str, r: Result<T>) -> Option<T> {
            match r {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!(job, error = %e, "job failed");
                    failed.push(job);
                    None
                }
            }
        }
        let svc = self.clone();
        report.escalated = kept(
            &mut failed,
            "escalate",
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        if !store::claim_job(c, "escalate", &minute, now.timestamp()).await? {
                            return Ok(None);
                        }
                        Ok(Some(svc.escalate_all(c, now.timestamp()).await?))
                    })
                })
                .await,
        )
        .flatten();
        let svc = self.clone();
        report.obligations = kept(
            &mut failed,
            "obligations",
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        if !store::claim_job(c, "obligations", &today.to_string(), now.timestamp())
                            .await?
                        {
                            return Ok(None);
                        }
                        Ok(Some(
                            svc.daily_obligations(c, today, now.timestamp()).await?,
                        ))
                    })
                })
                .await,
        )
        .flatten();
        if local.hour() >= self.policy.deadlines.check_in_by_hour {
            let svc = self.clone();
            report.missed_check_ins = kept(
                &mut failed,
                "check_ins",
                self.db
                    .write(move |c| {
                        Box::pin(async move {
                            if !store::claim_job(
                                c,
                                "check_ins",
                                &today.to_string(),
                                now.timestamp(),
                            )
                            .await?
                            {
                                return Ok(None);
                            }
                            Ok(Some(svc.missed_check_ins(c, today, now.timestamp()).await?))
                        })
                    })
                    .await,
            )
            .flatten();
        }
        let svc = self.clone();
        report.rolling_overdue = kept(
            &mut failed,
            "rolling",
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        if !store::claim_job(c, "rolling", &today.to_string(), now.timestamp())
                            .await?
                        {
                            return Ok(None);
                        }
                        Ok(Some(svc.rolling_sweep(c, today, now.timestamp()).await?))
                    })
                })
                .await,
        )
        .flatten();
        let svc = self.clone();
        report.pharmacy_overdue = kept(
            &mut failed,
            "pharmacy_tests",
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        if !store::claim_job(c, "pharmacy_tests", &pharmacy_minute, now.timestamp())
                            .await?
                        {
                            return Ok(None);
                        }
                        Ok(Some(svc.pharmacy_tests_due(c, now.timestamp()).await?))
                    })
                })
                .await,
        )
        .flatten();
        let svc = self.clone();
        let surge_minute = local.format("%Y-%m-%dT%H:%M").to_string();
        report.surge = kept(
            &mut failed,
            "surge",
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        svc.surge_jobs(c, today, &surge_minute, now.timestamp())
                            .await
                    })
                })
                .await,
        )
        .flatten();
        let svc = self.clone();
        report.round_deadlines = kept(
            &mut failed,
            "round_deadlines",
            self.db
                .write(move |c| {
                    Box::pin(async move { svc.round_deadlines(c, now.timestamp()).await })
                })
                .await,
        )
        .unwrap_or_default();
        report.daily_report =
            kept(&mut failed, "daily_report", self.daily_report_job().await).flatten();
        report.delivered =
            kept(&mut failed, "deliver", self.deliver_notifications().await).unwrap_or_default();
        report.failed = failed;
        Ok(report)
    }

    /// Yesterday's missed tests become tasks, today's tests get a reminder,
    /// colours are derived, and finished plans are put up for release.
    async fn daily_obligations(
        &self,
        c: &mut AnyConnection,
        today: Date,
        now: i64,
    ) -> Result<usize> {
        let running = store::running_controls(c).await?;
        let mut tests = store::tests_of_running(c).await?;
        let mut done = 0;
        for k in &running {
            let records: Vec<TestRecord> = tests.remove(&k.person_id).unwrap_or_default();
            store::row_begin(c).await?;
            let r = self.obligations_of(c, k, &records, today, now).await;
            done += usize::from(
                store::row_end(c, "obligations", k.person_id, r)
                    .await?
                    .is_some(),
            );
        }
        Ok(done)
    }

    async fn obligations_of(
        &self,
        c: &mut AnyConnection,
        k: &store::RunningControl,
        records: &[TestRecord],
        today: Date,
        now: i64,
    ) -> Result<()> {
        let yesterday = today.pred_opt().expect("a day before");
        let d = &self.policy.deadlines;
        let plan = parse_assessment(&k.assessment)?.plan;
        for t in plan.test_days.iter().filter(|t| t.date == yesterday) {
            if monitoring::test_state(t.date, records, today) == TestState::Missed {
                let reason = format!("{}（第{}天）应检未检", md_zh(t.date), t.day);
                open_task(
                    c,
                    &NewTask {
                        person_id: k.person_id,
                        kind: TaskKind::TestMissed,
                        region: &k.grid,
                        hours: d.test_missed_hours,
                        reason: &reason,
                        actor: "system",
                        now,
                    },
                )
                .await?;
            }
        }
        for t in plan.test_days.iter().filter(|t| t.date == today) {
            let body = notify::render(
                "test_due",
                &[
                    ("name", &mask_name(&k.name)),
                    ("date", &md_zh(today)),
                    ("day", &t.day.to_string()),
                ],
            );
            store::queue_notification(
                c,
                k.person_id,
                &format!("test_due:{}:{today}", k.person_id),
                "test_due",
                &body,
                now,
            )
            .await?;
        }
        if k.status == "active" && monitoring::release(&plan, records, today) == Release::Due {
            store::set_control_status(c, k.person_id, "due_for_release", now).await?;
            let village = &k.grid[..k.grid.len().min(12)];
            let reason = format!(
                "解除日期{}已过，核酸检测均为阴性，请确认解除管控",
                plan.release_on.map(md_zh).unwrap_or_default()
            );
            open_task(
                c,
                &NewTask {
                    person_id: k.person_id,
                    kind: TaskKind::Release,
                    region: village,
                    hours: d.release_hours,
                    reason: &reason,
                    actor: "system",
                    now,
                },
            )
            .await?;
        }
        let colour = monitoring::health_code(&plan, records, today);
        self.store_colour(c, k.person_id, colour, "system", now)
            .await
    }

    /// After the check-in hour: everyone in a phase today without a check-in.
    async fn missed_check_ins(
        &self,
        c: &mut AnyConnection,
        today: Date,
        now: i64,
    ) -> Result<usize> {
        let running = store::running_controls(c).await?;
        let done = store::checked_in_on(c, &today.to_string()).await?;
        let mut missed = 0;
        for k in running.iter().filter(|k| !done.contains(&k.person_id)) {
            store::row_begin(c).await?;
            let r = self.missed_check_in_of(c, k, today, now).await;
            if store::row_end(c, "check_ins", k.person_id, r).await? == Some(true) {
                missed += 1;
            }
        }
        Ok(missed)
    }

    /// Whether `k` missed today's check-in (then a task, and a reminder
    /// with a link to their status page if they have one).
    async fn missed_check_in_of(
        &self,
        c: &mut AnyConnection,
        k: &store::RunningControl,
        today: Date,
        now: i64,
    ) -> Result<bool> {
        let plan: Plan = parse_assessment(&k.assessment)?.plan;
        if plan.phase_on(today).is_none() {
            return Ok(false);
        }
        let reason = format!("{}未健康打卡", md_zh(today));
        open_task(
            c,
            &NewTask {
                person_id: k.person_id,
                kind: TaskKind::CheckInMissed,
                region: &k.grid,
                hours: self.policy.deadlines.check_in_missed_hours,
                reason: &reason,
                actor: "system",
                now,
            },
        )
        .await?;
        // Someone who never declared has no status page to check in on:
        // the grid's task is their reminder.
        if let Some(receipt) = &k.receipt {
            let body = notify::render(
                "check_in_missed",
                &[
                    ("name", &mask_name(&k.name)),
                    ("date", &md_zh(today)),
                    ("link", &format!("/s/{receipt}")),
                ],
            );
            store::queue_notification(
                c,
                k.person_id,
                &format!("check_in_missed:{}:{today}", k.person_id),
                "check_in_missed",
                &body,
                now,
            )
            .await?;
        }
        Ok(true)
    }

    /// Hands due messages to the notifier, one lease per attempt, and records
    /// each outcome on the person's timeline. Returns how many were delivered.
    /// A message whose recipient has no usable phone is set aside as
    /// `undeliverable` (with an event) instead of being sent or retried; a
    /// message that cannot be recorded is logged and the others still go.
    pub async fn deliver_notifications(&self) -> Result<usize> {
        let now = self.clock.timestamp();
        let due = {
            let mut c = self.db.pool().acquire().await?;
            store::due_notifications(&mut c, now, 200).await?
        };
        let mut delivered = 0;
        for n in due {
            let id = n.id;
            match self.deliver_one(n, now).await {
                Ok(sent) => delivered += usize::from(sent),
                Err(e) => tracing::warn!(notification = id, error = %e, "delivery skipped"),
            }
        }
        Ok(delivered)
    }

    async fn deliver_one(&self, n: store::NotificationRow, now: i64) -> Result<bool> {
        let (id, seen) = (n.id, n.next_attempt_at);
        let phone = self
            .vault
            .decrypt(&n.phone_enc)
            .and_then(|p| Phone::parse(&p, "phone").ok());
        let Some(phone) = phone else {
            self.db
                .write(move |c| {
                    Box::pin(async move {
                        if store::give_up_notification(c, id, seen, "no usable phone").await? {
                            repo::insert_event(
                                c,
                                now,
                                "system",
                                Some(n.person_id),
                                None,
                                "notification_undeliverable",
                                &json!({"id": id, "kind": n.kind, "error": "no usable phone"}),
                            )
                            .await?;
                        }
                        Ok(())
                    })
                })
                .await?;
            return Ok(false);
        };
        let leased = self
            .db
            .write(move |c| {
                Box::pin(async move { store::lease_notification(c, id, seen, now + 300).await })
            })
            .await?;
        if !leased {
            return Ok(false);
        }
        let sent = self
            .notifier
            .send(&Message {
                id: n.id,
                phone: phone.as_str(),
                kind: &n.kind,
                body: &n.body,
            })
            .await;
        let attempt = n.attempts + 1;
        let ok = sent.is_ok();
        self.db
            .write(move |c| {
                Box::pin(async move {
                    let (kind, detail, sent_at, retry_at, error) = match &sent {
                        Ok(()) => ("notification_sent", json!({"id": id, "kind": n.kind, "attempts": attempt}), Some(now), now, None),
                        Err(e) => {
                            let retry = now + notify::backoff(attempt);
                            ("notification_failed", json!({"id": id, "kind": n.kind, "attempt": attempt, "error": e, "retry_at": retry}), None, retry, Some(e.as_str()))
                        }
                    };
                    store::finish_notification(c, id, sent_at, retry_at, error).await?;
                    repo::insert_event(c, now, "system", Some(n.person_id), None, kind, &detail).await
                })
            })
            .await?;
        Ok(ok)
    }

    /// 今日应检: who in the actor's region must be tested today, and how it
    /// stands. A control whose plan cannot be read is logged and left out.
    pub async fn due_tests(&self, actor: &Actor) -> Result<Vec<DueTest>> {
        let today = self.clock.today();
        let mut c = self.db.pool().acquire().await?;
        let running = store::running_controls(&mut c).await?;
        let mut out = Vec::new();
        for k in running.iter().filter(|k| k.grid.starts_with(actor.scope())) {
            let plan = match parse_assessment(&k.assessment) {
                Ok(a) => a.plan,
                Err(e) => {
                    tracing::warn!(person = k.person_id, error = %e, "due test skipped");
                    continue;
                }
            };
            let Some(t) = plan.test_days.iter().find(|t| t.date == today) else {
                continue;
            };
            let records = store::tests_of(&mut c, k.person_id).await?;
            out.push(DueTest {
                person_id: k.person_id,
                name: k.name.clone(),
                day: t.day,
                double: t.double,
                state: monitoring::test_state(today, &records, today),
            });
        }
        Ok(out)
    }
}
