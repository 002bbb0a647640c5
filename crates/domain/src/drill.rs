//! 应急演练: the kinds of drill and the after-action report. Pure: the
//! milestones read from the event log in, each step's time against its
//! deadline out, in the manner of 7-1-7 (each interval measured from the
//! milestone before it, each with its own target).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// How much of the system a drill exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillKind {
    /// 桌面推演: talked through; injects nothing.
    Tabletop,
    /// 功能演练: injects through the real intake paths.
    Functional,
    /// 实战演练: injects, and the front line acts in the field.
    FullScale,
}

impl DrillKind {
    pub fn parse(s: &str) -> Option<DrillKind> {
        match s {
            "tabletop" => Some(DrillKind::Tabletop),
            "functional" => Some(DrillKind::Functional),
            "full_scale" => Some(DrillKind::FullScale),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DrillKind::Tabletop => "tabletop",
            DrillKind::Functional => "functional",
            DrillKind::FullScale => "full_scale",
        }
    }
    /// Whether the drill puts synthetic records through the intake paths.
    pub fn injects(self) -> bool {
        self != DrillKind::Tabletop
    }
}

/// One milestone of the loop a signal must pass, with its deadline counted
/// from the milestone before it (policy data, `[[drill.step]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRule {
    pub name: String,
    pub label_zh: String,
    pub label_en: String,
    /// Minutes allowed since the step before; 0 for the first (the signal).
    pub within_minutes: u32,
    /// The event kinds of the log that reach this step (the earliest one).
    #[serde(default)]
    pub events: Vec<String>,
    /// Reached at the latest such event, and only once nothing of the
    /// thread's person is left open (闭环: every task closed).
    #[serde(default)]
    pub last: bool,
}

/// `[drill]`: the milestones in order, the first being the signal itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillRule {
    #[serde(rename = "step")]
    pub steps: Vec<StepRule>,
}

impl Default for DrillRule {
    /// signal → 签收 2 h → 管控 24 h → 检测 24 h → 闭环 7 days.
    fn default() -> Self {
        let step = |name: &str, zh: &str, en: &str, minutes: u32, events: &[&str]| StepRule {
            name: name.into(),
            label_zh: zh.into(),
            label_en: en.into(),
            within_minutes: minutes,
            events: events.iter().map(|e| e.to_string()).collect(),
            last: name == "closed",
        };
        DrillRule {
            steps: vec![
                step("signal", "发现信号", "signal", 0, SIGNAL_EVENTS),
                step("acknowledged", "签收", "acknowledged", 120, &["task_ack"]),
                step(
                    "controlled",
                    "管控",
                    "under control",
                    24 * 60,
                    &["task_report"],
                ),
                step(
                    "tested",
                    "检测",
                    "tested",
                    24 * 60,
                    &["test_recorded", "lab_result"],
                ),
                step(
                    "closed",
                    "闭环",
                    "loop closed",
                    7 * 24 * 60,
                    &["task_close"],
                ),
            ],
        }
    }
}

impl DrillRule {
    pub fn check(&self) -> Result<(), String> {
        match self.steps.first() {
            None => return Err("[drill] needs at least the signal step".into()),
            Some(s) if s.within_minutes != 0 => {
                return Err("[drill] the first step is the signal: within_minutes = 0".into());
            }
            Some(s) if s.events.is_empty() => {
                return Err("[drill] the signal step needs the events that start a thread".into());
            }
            _ => {}
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.steps {
            if !seen.insert(s.name.as_str()) {
                return Err(format!("[drill] step {} named twice", s.name));
            }
            if s.within_minutes == 0 && !std::ptr::eq(s, &self.steps[0]) {
                return Err(format!(
                    "[drill] step {}: within_minutes must be > 0",
                    s.name
                ));
            }
        }
        Ok(())
    }
}

/// The events by which a signal enters: a declaration, a purchase at a
/// pharmacy, a passage at a checkpoint, a fever-clinic visit.
const SIGNAL_EVENTS: &[&str] = &[
    "declared",
    "pharmacy_purchase",
    "checkpoint_passage",
    "fever_clinic_visit",
];

/// One thread's milestones from its event log (kind, at), in the order of
/// `rule`: each step at its earliest event no earlier than the signal, a
/// `last` step at its latest event and only when `open` is false. The
/// signal is the earliest signal event, else `injected` (a signal that
/// names no person, as a positive batch, is known by when it went in).
pub fn milestones_of(
    rule: &DrillRule,
    thread: &str,
    events: &[(String, i64)],
    open: bool,
    injected: Option<i64>,
) -> Vec<Milestone> {
    let signal = rule
        .steps
        .first()
        .and_then(|s| {
            events
                .iter()
                .filter(|(k, _)| s.events.contains(k))
                .map(|(_, at)| *at)
                .min()
        })
        .or(injected);
    let Some(signal) = signal else {
        return Vec::new();
    };
    let mut out = vec![Milestone {
        thread: thread.into(),
        step: rule.steps[0].name.clone(),
        at: signal,
    }];
    for s in rule.steps.iter().skip(1) {
        if s.last && open {
            continue;
        }
        let hits = events
            .iter()
            .filter(|(k, at)| *at >= signal && s.events.contains(k))
            .map(|(_, at)| *at);
        let at = if s.last { hits.max() } else { hits.min() };
        if let Some(at) = at {
            out.push(Milestone {
                thread: thread.into(),
                step: s.name.clone(),
                at,
            });
        }
    }
    out
}

/// How a thread's signal enters the system: through which real intake path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalPath {
    /// A 返永通 declaration.
    Declaration,
    /// A purchase at a pharmacy (药店哨点).
    Pharmacy,
    /// A passage at a checkpoint (卡口).
    Checkpoint,
    /// A cold-chain batch found positive (人物同防): the batch moves from a
    /// cold store to a market, whose worker is the thread's person.
    ColdChain,
}

/// When the scripted front line answers, in minutes after the signal
/// (`bihuan drill run` plays them; a live drill leaves them to people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Responses {
    pub ack: Option<u32>,
    pub report: Option<u32>,
    pub test: Option<u32>,
    pub close: Option<u32>,
}

/// One injected signal of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreadScript {
    pub name: String,
    pub signal: SignalPath,
    /// The village the synthetic person lives in (their grid is its first).
    pub village: String,
    /// Where they come from: a county, and a township when it matters.
    #[serde(default)]
    pub origin_county: Option<String>,
    #[serde(default)]
    pub origin_township: Option<String>,
    #[serde(default = "green")]
    pub health_code: String,
    #[serde(default)]
    pub symptoms: Vec<String>,
    /// At a checkpoint: what the checkpoint decides.
    #[serde(default)]
    pub decision: Option<crate::checkpoint::Decision>,
    #[serde(default)]
    pub respond: Responses,
}

fn green() -> String {
    "green".into()
}

/// A drill's scenario: what is injected, and how the scripted front line
/// answers. Data (TOML), so a city writes its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillScript {
    pub name: String,
    pub kind: DrillKind,
    /// 明演 (true) or 盲演 (false): a blind drill is not announced to the
    /// front line, whose task cards show it only as an ordinary task.
    #[serde(default = "yes")]
    pub announced: bool,
    #[serde(rename = "thread", default)]
    pub threads: Vec<ThreadScript>,
}

fn yes() -> bool {
    true
}

/// The seed's scenario: a returnee from a listed area, a febrile buyer
/// with a yellow code at a pharmacy, a red code at a station exit, a
/// positive cold-chain batch.
pub const SEED_SCRIPT: &str = include_str!("drill_seed.toml");

impl DrillScript {
    /// The script, or why not: a `script` field error in both languages,
    /// naming the line for a TOML mistake.
    pub fn parse(text: &str) -> Result<DrillScript, FieldError> {
        let s: DrillScript = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|r| {
                let upto = r.start.min(text.len());
                text.as_bytes()[..upto]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1
            });
            let detail = e.message().trim().to_string();
            match line {
                Some(n) => script_error(
                    format!("演练脚本第 {n} 行有误，请对照示例修改"),
                    format!("line {n}: {detail}"),
                ),
                None => script_error("演练脚本格式有误".into(), detail),
            }
        })?;
        s.check()?;
        Ok(s)
    }

    pub fn check(&self) -> Result<(), FieldError> {
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(script_error(
                "name 应为 1 至 100 个字".into(),
                "name: 1 to 100 characters".into(),
            ));
        }
        if self.kind.injects() && self.threads.is_empty() {
            return Err(script_error(
                "需要注入的演练至少要有一个 [[thread]]".into(),
                "a drill that injects needs at least one [[thread]]".into(),
            ));
        }
        if self.threads.len() > MAX_THREADS {
            return Err(script_error(
                format!("线索最多 {MAX_THREADS} 条"),
                format!("at most {MAX_THREADS} threads"),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in &self.threads {
            let at = |zh: &str, en: &str| {
                script_error(
                    format!("线索 {}：{zh}", t.name),
                    format!("thread {}: {en}", t.name),
                )
            };
            if t.name.is_empty() || t.name.chars().count() > 60 || !seen.insert(t.name.as_str()) {
                return Err(at(
                    "名称应为 1 至 60 个字，且不重复",
                    "a name of 1 to 60 characters, used once",
                ));
            }
            if t.village.len() != 12 || !t.village.bytes().all(|b| b.is_ascii_digit()) {
                return Err(at(
                    "village 应为 12 位村社区代码",
                    "village: a 12-digit village code",
                ));
            }
            if t.signal == SignalPath::Checkpoint && t.decision.is_none() {
                return Err(at(
                    "卡口线索需要处置决定 decision",
                    "a checkpoint thread needs its decision",
                ));
            }
            if matches!(t.signal, SignalPath::Declaration | SignalPath::Checkpoint)
                && t.origin_county.is_none()
            {
                return Err(at(
                    "需要来源地 origin_county",
                    "origin_county: where the traveller comes from",
                ));
            }
        }
        Ok(())
    }
}

fn script_error(zh: String, en: String) -> FieldError {
    FieldError::new("script", "invalid", zh, en)
}

/// The most threads one drill injects (a city-scale drill is a few thousand
/// people at most; more is a load test, not a drill).
pub const MAX_THREADS: usize = 20_000;

/// The synthetic resident ID of a drill's `n`th person: born on a day of
/// 1900 (no one alive), in `region6`, so it never names a real resident.
pub fn synthetic_resident_id(region6: &str, n: u32) -> Option<String> {
    let day = chrono::NaiveDate::from_ymd_opt(1900, 1, 1)?
        + chrono::Duration::days(i64::from(n / 1000 % 365));
    crate::identity::resident_with_check(&format!(
        "{region6}{}{:03}",
        day.format("%Y%m%d"),
        n % 1000
    ))
}

/// The synthetic mobile number of a drill's `n`th person.
pub fn synthetic_phone(n: u32) -> String {
    format!("1990{:07}", n % 10_000_000)
}

/// A milestone reached: which thread of the scenario (one injected signal),
/// which step, and when (seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    pub thread: String,
    pub step: String,
    pub at: i64,
}

/// How one step of one thread went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    Missed,
    /// Not reached by the report's time, and its deadline not yet past.
    Pending,
    /// Not reached, and its deadline past.
    Overdue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTiming {
    pub step: String,
    pub at: Option<i64>,
    /// Seconds since the milestone before it (the last one reached).
    pub took: Option<i64>,
    pub allowed: i64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadReport {
    pub thread: String,
    pub signal_at: i64,
    pub steps: Vec<StepTiming>,
    /// Signal to the last step, when every step was reached.
    pub total: Option<i64>,
}

/// Per step over all threads: how many met, missed or are still open, and
/// the median and worst time taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSummary {
    pub step: String,
    pub allowed: i64,
    pub met: usize,
    pub missed: usize,
    pub pending: usize,
    pub overdue: usize,
    pub median: Option<i64>,
    pub worst: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfterAction {
    pub threads: Vec<ThreadReport>,
    pub steps: Vec<StepSummary>,
    /// The step with the most misses and overdue threads, if any missed.
    pub bottleneck: Option<String>,
}

/// The after-action report at `now`. A thread starts at its signal
/// milestone; threads without one are left out (nothing to measure from).
/// Each step counts its earliest milestone; milestones of unknown steps are
/// ignored. A step reached is measured from the latest step before it that
/// was reached, so one skipped step does not hide the next one's delay.
pub fn after_action(rule: &DrillRule, milestones: &[Milestone], now: i64) -> AfterAction {
    let index: BTreeMap<&str, usize> = rule
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let mut by_thread: BTreeMap<&str, Vec<Option<i64>>> = BTreeMap::new();
    for m in milestones {
        let Some(&i) = index.get(m.step.as_str()) else {
            continue;
        };
        let slots = by_thread
            .entry(m.thread.as_str())
            .or_insert_with(|| vec![None; rule.steps.len()]);
        slots[i] = Some(slots[i].map_or(m.at, |t: i64| t.min(m.at)));
    }
    let mut threads = Vec::new();
    for (thread, slots) in by_thread {
        let Some(signal_at) = slots[0] else { continue };
        let mut last = signal_at;
        let mut steps = Vec::with_capacity(slots.len());
        for (rule_step, at) in rule.steps.iter().zip(&slots) {
            let allowed = i64::from(rule_step.within_minutes) * 60;
            let (took, verdict) = match at {
                Some(at) => {
                    let took = (at - last).max(0);
                    last = last.max(*at);
                    (
                        Some(took),
                        if took <= allowed {
                            Verdict::Met
                        } else {
                            Verdict::Missed
                        },
                    )
                }
                None if now - last > allowed => (None, Verdict::Overdue),
                None => (None, Verdict::Pending),
            };
            steps.push(StepTiming {
                step: rule_step.name.clone(),
                at: *at,
                took,
                allowed,
                verdict,
            });
        }
        let total = slots.iter().all(Option::is_some).then(|| last - signal_at);
        threads.push(ThreadReport {
            thread: thread.to_string(),
            signal_at,
            steps,
            total,
        });
    }
    let steps: Vec<StepSummary> = rule
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let of = |v: Verdict| threads.iter().filter(|t| t.steps[i].verdict == v).count();
            let mut took: Vec<i64> = threads.iter().filter_map(|t| t.steps[i].took).collect();
            took.sort_unstable();
            StepSummary {
                step: s.name.clone(),
                allowed: i64::from(s.within_minutes) * 60,
                met: of(Verdict::Met),
                missed: of(Verdict::Missed),
                pending: of(Verdict::Pending),
                overdue: of(Verdict::Overdue),
                median: (!took.is_empty()).then(|| took[(took.len() - 1) / 2]),
                worst: took.last().copied(),
            }
        })
        .collect();
    let bottleneck = steps
        .iter()
        .filter(|s| s.missed + s.overdue > 0)
        .max_by_key(|s| {
            (
                s.missed + s.overdue,
                std::cmp::Reverse(index[s.step.as_str()]),
            )
        })
        .map(|s| s.step.clone());
    AfterAction {
        threads,
        steps,
        bottleneck,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_643_335_200;
    const MIN: i64 = 60;
    const HOUR: i64 = 3600;

    fn m(thread: &str, step: &str, at: i64) -> Milestone {
        Milestone {
            thread: thread.into(),
            step: step.into(),
            at,
        }
    }

    fn verdicts(t: &ThreadReport) -> Vec<Verdict> {
        t.steps.iter().map(|s| s.verdict).collect()
    }

    #[test]
    fn the_default_rule_is_signal_then_ack_in_2h_then_24h_24h_7d() {
        let r = DrillRule::default();
        r.check().unwrap();
        let minutes: Vec<u32> = r.steps.iter().map(|s| s.within_minutes).collect();
        assert_eq!(minutes, [0, 120, 1440, 1440, 10080]);
    }

    #[test]
    fn each_step_is_measured_from_the_one_before() {
        let r = DrillRule::default();
        let report = after_action(
            &r,
            &[
                m("a", "signal", T0),
                m("a", "acknowledged", T0 + 90 * MIN),
                m("a", "controlled", T0 + 90 * MIN + 25 * HOUR),
                m("a", "tested", T0 + 90 * MIN + 26 * HOUR),
                m("a", "closed", T0 + 5 * 24 * HOUR),
            ],
            T0 + 10 * 24 * HOUR,
        );
        let a = &report.threads[0];
        assert_eq!(
            verdicts(a),
            [
                Verdict::Met,
                Verdict::Met,
                Verdict::Missed,
                Verdict::Met,
                Verdict::Met
            ]
        );
        assert_eq!(a.steps[1].took, Some(90 * MIN));
        assert_eq!(a.steps[2].took, Some(25 * HOUR));
        assert_eq!(a.steps[3].took, Some(HOUR));
        assert_eq!(a.total, Some(5 * 24 * HOUR));
        assert_eq!(report.bottleneck.as_deref(), Some("controlled"));
    }

    #[test]
    fn an_ack_exactly_on_the_deadline_is_met_one_second_later_missed() {
        let r = DrillRule::default();
        let on = after_action(
            &r,
            &[m("a", "signal", T0), m("a", "acknowledged", T0 + 2 * HOUR)],
            T0 + 3 * HOUR,
        );
        assert_eq!(on.threads[0].steps[1].verdict, Verdict::Met);
        let late = after_action(
            &r,
            &[
                m("a", "signal", T0),
                m("a", "acknowledged", T0 + 2 * HOUR + 1),
            ],
            T0 + 3 * HOUR,
        );
        assert_eq!(late.threads[0].steps[1].verdict, Verdict::Missed);
    }

    #[test]
    fn steps_not_reached_are_pending_until_their_deadline_then_overdue() {
        let r = DrillRule::default();
        let ms = [m("a", "signal", T0)];
        let early = after_action(&r, &ms, T0 + HOUR);
        assert_eq!(early.threads[0].steps[1].verdict, Verdict::Pending);
        assert_eq!(early.bottleneck, None);
        let late = after_action(&r, &ms, T0 + 3 * HOUR);
        assert_eq!(late.threads[0].steps[1].verdict, Verdict::Overdue);
        assert_eq!(late.threads[0].total, None);
        assert_eq!(late.bottleneck.as_deref(), Some("acknowledged"));
    }

    #[test]
    fn a_skipped_step_does_not_hide_the_next_ones_delay() {
        // Control applied at triage, before anyone signed: 签收 is then
        // measured from the signal, control from the signal too.
        let r = DrillRule::default();
        let report = after_action(
            &r,
            &[
                m("a", "signal", T0),
                m("a", "controlled", T0 + 10 * MIN),
                m("a", "acknowledged", T0 + 3 * HOUR),
            ],
            T0 + 4 * HOUR,
        );
        let a = &report.threads[0];
        assert_eq!(a.steps[1].took, Some(3 * HOUR));
        assert_eq!(a.steps[1].verdict, Verdict::Missed);
        // Measured from the latest before it, never negative.
        assert_eq!(a.steps[2].took, Some(0));
        assert_eq!(a.steps[2].verdict, Verdict::Met);
        // 检测 has had 1 h since the ack: pending.
        assert_eq!(a.steps[3].verdict, Verdict::Pending);
    }

    #[test]
    fn the_earliest_milestone_of_a_step_counts_and_strangers_are_ignored() {
        let r = DrillRule::default();
        let report = after_action(
            &r,
            &[
                m("a", "signal", T0),
                m("a", "acknowledged", T0 + 3 * HOUR),
                m("a", "acknowledged", T0 + HOUR),
                m("a", "coffee", T0 + MIN),
                m("orphan", "acknowledged", T0),
            ],
            T0 + 2 * HOUR,
        );
        assert_eq!(
            report.threads.len(),
            1,
            "a thread without a signal is left out"
        );
        assert_eq!(report.threads[0].steps[1].took, Some(HOUR));
    }

    #[test]
    fn the_summary_counts_each_step_over_threads_with_median_and_worst() {
        let r = DrillRule::default();
        let report = after_action(
            &r,
            &[
                m("a", "signal", T0),
                m("a", "acknowledged", T0 + 30 * MIN),
                m("b", "signal", T0),
                m("b", "acknowledged", T0 + 60 * MIN),
                m("c", "signal", T0),
                m("c", "acknowledged", T0 + 150 * MIN),
                m("d", "signal", T0 + 5 * HOUR),
            ],
            T0 + 6 * HOUR,
        );
        let ack = &report.steps[1];
        assert_eq!(
            (ack.met, ack.missed, ack.pending, ack.overdue),
            (2, 1, 1, 0)
        );
        assert_eq!(ack.median, Some(60 * MIN));
        assert_eq!(ack.worst, Some(150 * MIN));
        assert_eq!(report.steps[0].met, 4);
    }

    #[test]
    fn a_rule_must_start_with_the_signal_and_name_each_step_once() {
        let mut r = DrillRule::default();
        r.steps[0].within_minutes = 5;
        assert!(r.check().is_err());
        let mut r = DrillRule::default();
        r.steps[2].name = "acknowledged".into();
        assert!(r.check().is_err());
        let mut r = DrillRule::default();
        r.steps[3].within_minutes = 0;
        assert!(r.check().is_err());
        assert!(DrillRule { steps: vec![] }.check().is_err());
    }

    #[test]
    fn the_shipped_policy_states_the_default_steps() {
        let p = crate::policy::Policy::default_policy();
        assert_eq!(p.drill, DrillRule::default());
    }

    #[test]
    fn kinds_parse_and_only_tabletop_injects_nothing() {
        for k in [
            DrillKind::Tabletop,
            DrillKind::Functional,
            DrillKind::FullScale,
        ] {
            assert_eq!(DrillKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(DrillKind::parse("FULL"), None);
        assert!(!DrillKind::Tabletop.injects() && DrillKind::FullScale.injects());
    }

    fn ev(list: &[(&str, i64)]) -> Vec<(String, i64)> {
        list.iter().map(|(k, at)| (k.to_string(), *at)).collect()
    }

    #[test]
    fn milestones_come_from_the_event_log_earliest_first_closure_latest() {
        let r = DrillRule::default();
        let log = ev(&[
            ("person_created", T0 - HOUR),
            ("declared", T0),
            ("task_created", T0),
            ("task_ack", T0 + 30 * MIN),
            ("task_ack", T0 + 40 * MIN),
            ("task_report", T0 + 3 * HOUR),
            ("test_recorded", T0 - 10 * HOUR),
            ("lab_result", T0 + 6 * HOUR),
            ("task_close", T0 + 5 * HOUR),
            ("task_close", T0 + 24 * HOUR),
        ]);
        let got: Vec<(String, i64)> = milestones_of(&r, "a", &log, false, None)
            .into_iter()
            .map(|m| (m.step, m.at - T0))
            .collect();
        assert_eq!(
            got,
            [
                ("signal".to_string(), 0),
                ("acknowledged".to_string(), 30 * MIN),
                ("controlled".to_string(), 3 * HOUR),
                // A test before the signal is not this thread's.
                ("tested".to_string(), 6 * HOUR),
                // 闭环 is the last task closed.
                ("closed".to_string(), 24 * HOUR),
            ]
        );
        let open = milestones_of(&r, "a", &log, true, None);
        assert!(
            open.iter().all(|m| m.step != "closed"),
            "not closed while a task is open"
        );
        assert!(milestones_of(&r, "a", &ev(&[("task_ack", T0)]), false, None).is_empty());
        // No signal event (a positive batch): the injection is the signal.
        let batch = milestones_of(&r, "b", &ev(&[("task_ack", T0 + HOUR)]), false, Some(T0));
        assert_eq!(
            batch
                .iter()
                .map(|m| (m.step.as_str(), m.at))
                .collect::<Vec<_>>(),
            [("signal", T0), ("acknowledged", T0 + HOUR)]
        );
    }

    #[test]
    fn the_seed_script_parses_and_bad_scripts_say_why() {
        let s = DrillScript::parse(SEED_SCRIPT).unwrap();
        assert_eq!(s.kind, DrillKind::Functional);
        let paths: Vec<SignalPath> = s.threads.iter().map(|t| t.signal).collect();
        assert_eq!(
            paths,
            [
                SignalPath::Declaration,
                SignalPath::Pharmacy,
                SignalPath::Checkpoint,
                SignalPath::ColdChain
            ]
        );
        assert_eq!(
            s.threads[2].decision,
            Some(crate::checkpoint::Decision::Transfer)
        );
        let twice = SEED_SCRIPT.replace("name = \"station_red_code\"", "name = \"returnee\"");
        assert!(
            DrillScript::parse(&twice)
                .unwrap_err()
                .message_en
                .contains("used once")
        );
        let no_decision = SEED_SCRIPT.replace("decision = \"transfer\"", "");
        assert!(
            DrillScript::parse(&no_decision)
                .unwrap_err()
                .message
                .contains("decision")
        );
        let village = SEED_SCRIPT.replacen("330784001001", "3307", 1);
        assert!(
            DrillScript::parse(&village)
                .unwrap_err()
                .message_en
                .contains("village")
        );
        let typo = SEED_SCRIPT.replace("kind = \"functional\"", "kind = \"functional\"\nkinds = 1");
        let e = DrillScript::parse(&typo).unwrap_err();
        assert_eq!(e.field, "script");
        assert!(e.message.contains("第 6 行"), "{}", e.message);
        assert!(DrillScript::parse("name = \"x\"\nkind = \"functional\"").is_err());
        assert!(DrillScript::parse("name = \"x\"\nkind = \"tabletop\"").is_ok());
        assert!(DrillScript::parse("name = \"x\"\nkind = \"live\"").is_err());
    }

    #[test]
    fn synthetic_ids_are_valid_distinct_and_born_in_1900() {
        let mut seen = std::collections::BTreeSet::new();
        for n in [0, 1, 999, 1000, 1001, 19_999] {
            let id = synthetic_resident_id("330784", n).unwrap();
            let today = crate::Date::from_ymd_opt(2022, 1, 28).unwrap();
            let parsed = crate::identity::DocumentNumber::parse(
                crate::identity::DocumentType::Resident,
                &id,
                "id_number",
                today,
            );
            assert!(parsed.is_ok(), "{id}");
            assert_eq!(&id[6..10], "1900");
            assert!(seen.insert(id));
        }
        assert_eq!(synthetic_phone(7), "19900000007");
        assert!(synthetic_resident_id("33078", 1).is_none());
    }
}
