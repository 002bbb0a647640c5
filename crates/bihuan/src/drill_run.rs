//! `bihuan drill run`: a whole scripted drill from the command line. The
//! script's signals go in through the real intake paths; then the scripted
//! front line answers (签收, 上报, 检测, 办结) at the script's minutes, on a
//! clock that moves only for the drill; then the after-action report is
//! printed and, unless kept, every record of the drill is purged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bihuan_domain::drill::{AfterAction, DrillScript};
use chrono::SecondsFormat;

use crate::clock::{Clock, ManualClock};
use crate::error::{Error, Result};
use crate::usecases::monitoring::TestInput;
use crate::usecases::tasks::ReportInput;
use crate::usecases::{Actor, Services};

/// What a run did and how long each part took.
pub struct RunOutcome {
    pub drill: i64,
    pub threads: usize,
    pub injected: usize,
    pub actions: usize,
    pub inject_time: Duration,
    pub respond_time: Duration,
    pub report_time: Duration,
    pub purge_time: Option<Duration>,
    pub report: AfterAction,
    /// Every failure, one line each (a thread refused, an action refused).
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Ack,
    Report,
    Test,
    Close,
}

/// `copies` of each thread (named `name#k` past the first), for a drill at
/// a city's scale.
pub fn scaled(script: &DrillScript, copies: usize) -> DrillScript {
    let mut s = script.clone();
    s.threads = (0..copies.max(1))
        .flat_map(|k| {
            script.threads.iter().map(move |t| {
                let mut t = t.clone();
                if k > 0 {
                    t.name = format!("{}#{k}", t.name);
                }
                t
            })
        })
        .collect();
    s
}

/// Runs `script` as `actor` on `services`, whose clock is `clock`. The
/// clock starts where it stands and is moved to each scripted answer.
pub async fn run(
    services: &Services,
    clock: &Arc<ManualClock>,
    actor: &Actor,
    script: &DrillScript,
    keep: bool,
) -> Result<RunOutcome> {
    let text = toml::to_string(script).map_err(|e| Error::Internal(e.to_string()))?;
    let t0 = clock.now();
    let started = Instant::now();
    let drill = services.start_drill(actor, &text).await?;
    let inject_time = started.elapsed();
    let mut errors: Vec<String> = drill
        .threads
        .iter()
        .filter_map(|t| t.error.as_ref().map(|e| format!("{}: {e}", t.thread)))
        .collect();

    let mut plan = Vec::new();
    for (t, s) in drill.threads.iter().zip(&script.threads) {
        if !t.injected {
            continue;
        }
        let r = s.respond;
        for (minutes, action) in [
            (r.ack, Action::Ack),
            (r.report, Action::Report),
            (r.test, Action::Test),
            (r.close, Action::Close),
        ] {
            if let Some(m) = minutes {
                plan.push((m, action, t.person_id, t.thread.clone()));
            }
        }
    }
    plan.sort();
    let started = Instant::now();
    for (minutes, action, person, thread) in &plan {
        clock.set(t0 + chrono::Duration::minutes(i64::from(*minutes)));
        if let Err(e) = answer(services, actor, drill.id, *action, *person, thread).await {
            errors.push(format!("{thread} {action:?}: {e}"));
        }
    }
    let respond_time = started.elapsed();

    let started = Instant::now();
    let report = services.drill_report(actor, drill.id).await?.report;
    let report_time = started.elapsed();
    let purge_time = if keep {
        None
    } else {
        let started = Instant::now();
        services.end_drill(actor, drill.id, true).await?;
        Some(started.elapsed())
    };
    Ok(RunOutcome {
        drill: drill.id,
        threads: drill.threads.len(),
        injected: drill.threads.iter().filter(|t| t.injected).count(),
        actions: plan.len(),
        inject_time,
        respond_time,
        report_time,
        purge_time,
        report,
        errors,
    })
}

/// One scripted answer of the front line, through the real use cases.
async fn answer(
    services: &Services,
    actor: &Actor,
    drill: i64,
    action: Action,
    person: i64,
    thread: &str,
) -> Result<()> {
    if action == Action::Test {
        let at = services
            .clock
            .now()
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset"));
        services
            .record_test(
                actor,
                TestInput {
                    person_id: person,
                    sampled_at: at.to_rfc3339_opts(SecondsFormat::Secs, false),
                    result: "negative".into(),
                },
            )
            .await?;
        return Ok(());
    }
    let from = match action {
        Action::Ack => "dispatched",
        Action::Report => "acknowledged",
        _ => "reported",
    };
    for task in services.drill_tasks(actor, drill, thread, from).await? {
        match action {
            Action::Ack => services.acknowledge_task(actor, task).await.map(|_| ())?,
            Action::Report => services
                .report_task(
                    actor,
                    task,
                    ReportInput {
                        outcome: "verified".into(),
                        note: "演练".into(),
                        ..Default::default()
                    },
                )
                .await
                .map(|_| ())?,
            _ => services.close_task(actor, task).await.map(|_| ())?,
        }
    }
    Ok(())
}

/// The report as a table, one line per step then the bottleneck.
pub fn print(outcome: &RunOutcome) {
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let per_sec = |n: usize, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "drill {}: {} of {} threads injected in {} ({:.0}/s)",
        outcome.drill,
        outcome.injected,
        outcome.threads,
        secs(outcome.inject_time),
        per_sec(outcome.injected, outcome.inject_time)
    );
    println!(
        "  front line: {} scripted answers in {} ({:.0}/s)",
        outcome.actions,
        secs(outcome.respond_time),
        per_sec(outcome.actions, outcome.respond_time)
    );
    println!("  after-action report in {}", secs(outcome.report_time));
    match outcome.purge_time {
        Some(d) => println!("  purged in {}", secs(d)),
        None => println!("  kept (purge with the API or `bihuan drill purge`)"),
    }
    let hm = |s: Option<i64>| match s {
        Some(s) => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        None => "-".into(),
    };
    println!(
        "  {:<14} {:>8} {:>6} {:>6} {:>7} {:>7} {:>8} {:>8}",
        "step", "allowed", "met", "missed", "pending", "overdue", "median", "worst"
    );
    for s in &outcome.report.steps {
        println!(
            "  {:<14} {:>8} {:>6} {:>6} {:>7} {:>7} {:>8} {:>8}",
            s.step,
            hm(Some(s.allowed)),
            s.met,
            s.missed,
            s.pending,
            s.overdue,
            hm(s.median),
            hm(s.worst)
        );
    }
    println!(
        "  bottleneck: {}",
        outcome.report.bottleneck.as_deref().unwrap_or("none")
    );
    for e in outcome.errors.iter().take(20) {
        println!("  error: {e}");
    }
    if outcome.errors.len() > 20 {
        println!("  … {} more errors", outcome.errors.len() - 20);
    }
}
