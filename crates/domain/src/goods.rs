//! 人、物、环境同防: imported and cold-chain goods and the environment they
//! pass through. Pure: which batch must go to the supervised warehouse, the
//! warehouse job's states, when a site's environment sample is due, and who
//! lies downstream of a positive batch.

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::Date;

/// 人物同防 policy: the supervised warehouse's listed origins, environment
/// sampling intervals by site kind, and the trace-back deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoodsRule {
    /// Origins (country or region names, as entered) whose goods always go
    /// to the supervised warehouse, certificates or not.
    #[serde(default)]
    pub warehouse_origins: Vec<String>,
    /// Days between environment samples for site kinds not listed below.
    pub sample_every_days: u32,
    #[serde(default, rename = "sampling")]
    pub sampling: Vec<SamplingInterval>,
    /// Hours from a positive to sealing every downstream holder.
    pub trace_back_hours: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingInterval {
    pub kind: String,
    pub every_days: u32,
}

impl Default for GoodsRule {
    /// The Zhejiang defaults: markets weekly, other sites monthly, 2 hours.
    fn default() -> Self {
        GoodsRule {
            warehouse_origins: Vec::new(),
            sample_every_days: 30,
            sampling: vec![SamplingInterval {
                kind: "market".into(),
                every_days: 7,
            }],
            trace_back_hours: 2,
        }
    }
}

impl GoodsRule {
    /// Days between environment samples at a site of `kind`.
    pub fn every_days(&self, kind: &str) -> u32 {
        self.sampling
            .iter()
            .find(|s| s.kind == kind)
            .map_or(self.sample_every_days, |s| s.every_days)
    }

    /// The deadline of a trace-back started at `at` (seconds).
    pub fn trace_back_due(&self, at: i64) -> i64 {
        at + i64::from(self.trace_back_hours) * 3600
    }
}

/// The kinds of place that hold goods.
pub const HOLDER_KINDS: [(&str, &str, &str); 4] = [
    ("cold_store", "冷库", "cold store"),
    ("market", "农贸市场", "market"),
    ("supermarket", "商超", "supermarket"),
    ("restaurant", "餐饮", "restaurant"),
];

/// Environment sampling sites: the holder kinds and any other public place.
pub fn is_site_kind(kind: &str) -> bool {
    kind == "place" || HOLDER_KINDS.iter().any(|(k, _, _)| *k == kind)
}

pub fn is_holder_kind(kind: &str) -> bool {
    HOLDER_KINDS.iter().any(|(k, _, _)| *k == kind)
}

/// A batch's three certificates: 检疫, 核酸, 消杀.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Certificates {
    pub inspection: bool,
    pub nucleic_acid: bool,
    pub disinfection: bool,
}

impl Certificates {
    /// The names of the missing ones, in order.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (self.inspection, "inspection"),
            (self.nucleic_acid, "nucleic_acid"),
            (self.disinfection, "disinfection"),
        ]
        .into_iter()
        .filter(|(has, _)| !has)
        .map(|(_, n)| n)
        .collect()
    }
}

/// Whether a batch must go through the supervised warehouse: a missing
/// certificate, or an origin the policy lists.
pub fn needs_warehouse(rule: &GoodsRule, certs: Certificates, origin: &str) -> bool {
    !certs.missing().is_empty() || rule.warehouse_origins.iter().any(|o| o == origin.trim())
}

/// A trace code: 8 to 32 of A–Z, 0–9 and '-', starting with a letter or digit.
pub fn valid_trace_code(code: &str) -> bool {
    let n = code.len();
    (8..=32).contains(&n)
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
        && !code.starts_with('-')
}

/// 监管仓 job: 预约 → 采样 → 消杀 → 赋码 → 放行.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Booked,
    Sampled,
    Disinfected,
    Coded,
    Released,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Booked,
        JobState::Sampled,
        JobState::Disinfected,
        JobState::Coded,
        JobState::Released,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Booked => "booked",
            JobState::Sampled => "sampled",
            JobState::Disinfected => "disinfected",
            JobState::Coded => "coded",
            JobState::Released => "released",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|j| j.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            JobState::Booked => "预约",
            JobState::Sampled => "采样",
            JobState::Disinfected => "消杀",
            JobState::Coded => "赋码",
            JobState::Released => "放行",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            JobState::Booked => "Booked",
            JobState::Sampled => "Sampled",
            JobState::Disinfected => "Disinfected",
            JobState::Coded => "Coded",
            JobState::Released => "Released",
        }
    }

    /// The one state that may follow, if any.
    pub fn next(self) -> Option<JobState> {
        let i = JobState::ALL.iter().position(|s| *s == self)?;
        JobState::ALL.get(i + 1).copied()
    }
}

/// The move from `from` to `to`, allowed only one step forward: no skipping
/// 消杀, no going back.
pub fn job_transition(from: JobState, to: JobState) -> Option<JobState> {
    (from.next() == Some(to)).then_some(to)
}

/// Whether a sample is due on `on` at a site sampled last on `last` (or,
/// never sampled, since it was listed on `listed`): due from the day the
/// interval is up. A never-sampled site is due at once.
pub fn sample_due(every_days: u32, last: Option<Date>, on: Date) -> bool {
    match last {
        None => true,
        Some(l) => (on - l).num_days() >= i64::from(every_days),
    }
}

/// Every holder downstream of `start` by `movements` (from, to), followed
/// transitively; `start` itself only if the goods came back to it.
pub fn downstream(movements: &[(i64, i64)], start: &[i64]) -> BTreeSet<i64> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<i64> = start.iter().copied().collect();
    while let Some(h) = queue.pop_front() {
        for (_, to) in movements.iter().filter(|(f, _)| *f == h) {
            if seen.insert(*to) {
                queue.push_back(*to);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn the_shipped_policy_samples_markets_weekly_others_monthly_and_traces_in_2_hours() {
        let g = Policy::default_policy().goods;
        assert_eq!(g.every_days("market"), 7);
        assert_eq!(g.every_days("cold_store"), 30);
        assert_eq!(g.every_days("place"), 30);
        assert_eq!(g.trace_back_hours, 2);
        assert_eq!(g.trace_back_due(1000), 1000 + 7200);
        assert!(Policy::default_policy().industry("cold_chain").is_some());
    }

    #[test]
    fn a_missing_certificate_or_a_listed_origin_goes_to_the_warehouse() {
        let mut rule = GoodsRule::default();
        let all = Certificates {
            inspection: true,
            nucleic_acid: true,
            disinfection: true,
        };
        assert!(!needs_warehouse(&rule, all, "巴西"));
        let no_na = Certificates {
            nucleic_acid: false,
            ..all
        };
        assert!(needs_warehouse(&rule, no_na, "巴西"));
        assert_eq!(no_na.missing(), ["nucleic_acid"]);
        rule.warehouse_origins.push("巴西".into());
        assert!(needs_warehouse(&rule, all, " 巴西 "));
        assert!(!needs_warehouse(&rule, all, "新西兰"));
    }

    #[test]
    fn trace_codes_have_one_shape() {
        assert!(valid_trace_code("CC2022-0001"));
        assert!(valid_trace_code("ABCDEFGH"));
        assert!(!valid_trace_code("short"));
        assert!(!valid_trace_code("cc2022-0001"));
        assert!(!valid_trace_code("-CC20220001"));
        assert!(!valid_trace_code("CC 2022 0001"));
        assert!(!valid_trace_code(&"A".repeat(33)));
        assert!(!valid_trace_code("冷链批次00001"));
    }

    #[test]
    fn the_warehouse_job_moves_one_step_forward_only() {
        use JobState::*;
        let mut s = Booked;
        for to in [Sampled, Disinfected, Coded, Released] {
            assert_eq!(job_transition(s, to), Some(to));
            s = to;
        }
        assert_eq!(Released.next(), None);
        assert_eq!(
            job_transition(Booked, Disinfected),
            None,
            "no skipping 采样"
        );
        assert_eq!(job_transition(Coded, Sampled), None, "no going back");
        assert_eq!(job_transition(Booked, Booked), None);
        for j in JobState::ALL {
            assert_eq!(JobState::parse(j.as_str()), Some(j));
        }
        assert_eq!(JobState::parse("sealed"), None);
    }

    #[test]
    fn a_sample_is_due_when_the_interval_is_up() {
        assert!(sample_due(7, None, d("2022-01-27")));
        assert!(!sample_due(7, Some(d("2022-01-21")), d("2022-01-27")));
        assert!(sample_due(7, Some(d("2022-01-20")), d("2022-01-27")));
        assert!(!sample_due(30, Some(d("2022-01-20")), d("2022-02-18")));
        assert!(sample_due(30, Some(d("2022-01-20")), d("2022-02-19")));
    }

    #[test]
    fn downstream_follows_movements_transitively_and_skips_the_unrelated() {
        // 1 → 2 → 3, 1 → 4 → 2 (again), 5 → 6 unrelated.
        let m = [(1, 2), (2, 3), (1, 4), (4, 2), (5, 6)];
        let got: Vec<i64> = downstream(&m, &[1]).into_iter().collect();
        assert_eq!(got, [2, 3, 4]);
        assert!(downstream(&m, &[3]).is_empty());
        // A cycle ends.
        let cyc = [(1, 2), (2, 1)];
        let got: Vec<i64> = downstream(&cyc, &[1]).into_iter().collect();
        assert_eq!(got, [1, 2]);
    }
}
