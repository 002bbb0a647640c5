//! Plans: a measure laid out on the calendar, counted from day 1.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseKind {
    CentralQuarantine,
    HomeQuarantine,
    HomeObservation,
    HealthMonitoring,
}

impl PhaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseKind::CentralQuarantine => "central_quarantine",
            PhaseKind::HomeQuarantine => "home_quarantine",
            PhaseKind::HomeObservation => "home_observation",
            PhaseKind::HealthMonitoring => "health_monitoring",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            PhaseKind::CentralQuarantine => "集中隔离",
            PhaseKind::HomeQuarantine => "居家隔离",
            PhaseKind::HomeObservation => "居家健康观察",
            PhaseKind::HealthMonitoring => "日常健康监测",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            PhaseKind::CentralQuarantine => "centralised quarantine",
            PhaseKind::HomeQuarantine => "home quarantine",
            PhaseKind::HomeObservation => "home health observation",
            PhaseKind::HealthMonitoring => "daily health monitoring",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    pub kind: PhaseKind,
    pub from: Date,
    pub to: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestDay {
    pub date: Date,
    /// Day number counted from day 1 (the exposure, entry or arrival day).
    pub day: i64,
    /// 双采双检: two samples on this day.
    pub double: bool,
}

/// What a person must do from arrival on. Derived, never hand-edited.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Plan {
    pub phases: Vec<Phase>,
    pub test_days: Vec<TestDay>,
    pub release_on: Option<Date>,
}

/// The shape of a plan as the policy states it, in days from day 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseSpec {
    pub kind: PhaseKind,
    pub days: u32,
}

pub struct PlanSpec<'a> {
    pub phases: &'a [PhaseSpec],
    pub test_days: &'a [u32],
    pub double_test_days: &'a [u32],
    /// Skip the added arrival-day test when a negative test within 48 hours was declared.
    pub negative_test_waives_arrival_test: bool,
}

impl Plan {
    /// Lays `spec` out from `day_one`, keeping only what lies on or after `arrival`.
    pub fn build(
        spec: &PlanSpec<'_>,
        day_one: Date,
        arrival: Date,
        has_negative_test: bool,
    ) -> Plan {
        let day = |n: u32| day_one + Duration::days(i64::from(n) - 1);
        let mut phases = Vec::new();
        let mut next = 1u32;
        for p in spec.phases {
            let (from, to) = (day(next), day(next + p.days - 1));
            next += p.days;
            if to >= arrival {
                phases.push(Phase {
                    kind: p.kind,
                    from: from.max(arrival),
                    to,
                });
            }
        }
        let last_test = spec.test_days.iter().max().map(|&n| day(n));
        let release_on = if spec.phases.is_empty() {
            last_test
        } else {
            Some(day(next - 1))
        };
        let mut test_days: Vec<TestDay> = spec
            .test_days
            .iter()
            .map(|&n| TestDay {
                date: day(n),
                day: i64::from(n),
                double: spec.double_test_days.contains(&n),
            })
            .filter(|t| t.date >= arrival)
            .collect();
        let running_on_arrival = release_on.is_some_and(|r| r >= arrival);
        let waived = spec.negative_test_waives_arrival_test && has_negative_test;
        if running_on_arrival && !waived {
            add_test(&mut test_days, arrival, day_one);
        }
        Plan {
            phases,
            test_days,
            release_on,
        }
    }

    /// Adds a test on the arrival day for a person with symptoms; a plan with
    /// nothing in it becomes that one test.
    pub fn with_symptom_test(mut self, arrival: Date, day_one: Date) -> Plan {
        add_test(&mut self.test_days, arrival, day_one);
        if self.release_on.is_none_or(|r| r < arrival) {
            self.release_on = Some(arrival);
        }
        self
    }

    /// The day everything in the plan is over, if the plan has anything in it.
    pub fn is_empty(&self) -> bool {
        self.phases.is_empty() && self.test_days.is_empty()
    }

    /// The phase that covers `date`, if any.
    pub fn phase_on(&self, date: Date) -> Option<&Phase> {
        self.phases.iter().find(|p| p.from <= date && date <= p.to)
    }
}

fn add_test(tests: &mut Vec<TestDay>, date: Date, day_one: Date) {
    if tests.iter().any(|t| t.date == date) {
        return;
    }
    tests.push(TestDay {
        date,
        day: (date - day_one).num_days() + 1,
        double: false,
    });
    tests.sort_by_key(|t| t.date);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    const FOURTEEN_SEVEN: &[PhaseSpec] = &[
        PhaseSpec {
            kind: PhaseKind::CentralQuarantine,
            days: 14,
        },
        PhaseSpec {
            kind: PhaseKind::HomeObservation,
            days: 7,
        },
    ];

    fn spec() -> PlanSpec<'static> {
        PlanSpec {
            phases: FOURTEEN_SEVEN,
            test_days: &[1, 3, 7, 14, 16, 21],
            double_test_days: &[14],
            negative_test_waives_arrival_test: false,
        }
    }

    #[test]
    fn day_one_is_counted_as_day_one() {
        let p = Plan::build(&spec(), d("2022-01-28"), d("2022-01-28"), false);
        assert_eq!(p.phases[0].from, d("2022-01-28"));
        assert_eq!(p.phases[0].to, d("2022-02-10"));
        assert_eq!(p.phases[1].from, d("2022-02-11"));
        assert_eq!(p.release_on, Some(d("2022-02-17")));
        assert_eq!(p.test_days.len(), 6);
        assert!(p.test_days[3].double);
    }

    #[test]
    fn a_late_arrival_skips_what_has_passed_and_tests_on_arrival() {
        let p = Plan::build(&spec(), d("2022-01-21"), d("2022-01-28"), false);
        assert_eq!(p.phases[0].from, d("2022-01-28"));
        assert_eq!(p.phases[0].to, d("2022-02-03"));
        let dates: Vec<_> = p.test_days.iter().map(|t| t.date.to_string()).collect();
        assert_eq!(
            dates,
            ["2022-01-28", "2022-02-03", "2022-02-05", "2022-02-10"]
        );
        assert_eq!(p.test_days[0].day, 8);
        assert_eq!(p.release_on, Some(d("2022-02-10")));
    }

    #[test]
    fn a_plan_over_before_arrival_adds_no_test() {
        let p = Plan::build(&spec(), d("2021-12-01"), d("2022-01-28"), false);
        assert!(p.is_empty());
        assert_eq!(p.release_on, Some(d("2021-12-21")));
    }

    #[test]
    fn symptoms_turn_an_empty_plan_into_one_test() {
        let empty = PlanSpec {
            phases: &[],
            test_days: &[],
            double_test_days: &[],
            negative_test_waives_arrival_test: false,
        };
        let p = Plan::build(&empty, d("2022-01-28"), d("2022-01-28"), false);
        assert!(p.is_empty());
        assert_eq!(p.release_on, None);
        let p = p.with_symptom_test(d("2022-01-28"), d("2022-01-28"));
        assert_eq!(p.test_days.len(), 1);
        assert_eq!(p.release_on, Some(d("2022-01-28")));
    }
}
