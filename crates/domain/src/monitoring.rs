//! What a running plan asks of a person each day, the colour their health
//! code must carry, and when they may be released. Pure: every answer is a
//! function of the plan, the date and what has been recorded.

use serde::{Deserialize, Serialize};

use crate::Date;
use crate::plan::{PhaseKind, Plan};
use crate::policy::{HealthCode, Symptom};
use crate::validation::FieldError;

/// 37.3 °C, in tenths of a degree: at or above it a check-in raises an alarm.
pub const FEVER_TENTHS: u16 = 373;

/// Parses a body temperature like `36.5` into tenths of a degree (34.0–43.0).
/// Accepts what people type: `37,5`, `36.5度`, `36.5℃`, `３６．５`
/// (see [`crate::validation::number_text`]).
pub fn parse_temperature(field: &str, raw: &str) -> Result<u16, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            "temperature",
            "体温应为34.0到43.0之间的数字，如 36.5",
            "a temperature between 34.0 and 43.0, e.g. 36.5",
        )
    };
    let normal = crate::validation::number_text(raw);
    let raw = normal.as_str();
    let (whole, tenth) = match raw.split_once('.') {
        Some((w, t)) if t.len() == 1 => (w, t),
        Some(_) => return Err(bad()),
        None => (raw, "0"),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 2 {
        return Err(bad());
    }
    let tenth: u16 = tenth.parse().map_err(|_| bad())?;
    let t = whole.parse::<u16>().map_err(|_| bad())? * 10 + tenth;
    if (340..=430).contains(&t) {
        Ok(t)
    } else {
        Err(bad())
    }
}

/// A check-in calls for a fever-clinic transfer when the temperature reaches
/// 37.3 °C or any symptom is reported.
pub fn check_in_alarm(temperature_tenths: u16, symptoms: &[Symptom]) -> bool {
    temperature_tenths >= FEVER_TENTHS || !symptoms.is_empty()
}

/// Something the person must do on a given day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Obligation {
    /// 健康打卡: temperature and symptoms, every day of every phase.
    CheckIn { date: Date },
    /// 应检: a test on a plan's test day.
    Test { date: Date, day: i64, double: bool },
}

/// The obligations of `plan` that fall on `date`.
pub fn obligations_on(plan: &Plan, date: Date) -> Vec<Obligation> {
    let mut out = Vec::new();
    if plan.phase_on(date).is_some() {
        out.push(Obligation::CheckIn { date });
    }
    out.extend(
        plan.test_days
            .iter()
            .filter(|t| t.date == date)
            .map(|t| Obligation::Test {
                date,
                day: t.day,
                double: t.double,
            }),
    );
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestResult {
    Negative,
    Positive,
    Pending,
}

impl TestResult {
    pub fn as_str(self) -> &'static str {
        match self {
            TestResult::Negative => "negative",
            TestResult::Positive => "positive",
            TestResult::Pending => "pending",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "negative" => Some(TestResult::Negative),
            "positive" => Some(TestResult::Positive),
            "pending" => Some(TestResult::Pending),
            _ => None,
        }
    }
}

/// A test taken: the civil date it was sampled on and its result so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestRecord {
    pub sampled_on: Date,
    pub result: TestResult,
}

/// The state of one scheduled test day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestState {
    /// Today or later, not yet taken.
    Due,
    /// Taken on the day (result pending or negative).
    Done,
    /// The day has passed without a test.
    Missed,
    Positive,
}

/// The state of the test scheduled on `date`, as seen on `today`.
pub fn test_state(date: Date, records: &[TestRecord], today: Date) -> TestState {
    let taken: Vec<_> = records.iter().filter(|r| r.sampled_on == date).collect();
    if taken.iter().any(|r| r.result == TestResult::Positive) {
        TestState::Positive
    } else if !taken.is_empty() {
        TestState::Done
    } else if date < today {
        TestState::Missed
    } else {
        TestState::Due
    }
}

/// A missed test stays outstanding until a negative test after it.
pub fn missed_test_outstanding(plan: &Plan, records: &[TestRecord], today: Date) -> bool {
    plan.test_days
        .iter()
        .filter(|t| test_state(t.date, records, today) == TestState::Missed)
        .any(|t| {
            !records
                .iter()
                .any(|r| r.sampled_on > t.date && r.result == TestResult::Negative)
        })
}

/// The colour a person under `plan` must carry on `today` (赋码): red in
/// quarantine, yellow in home observation or while a missed test is
/// outstanding, green otherwise. A positive result is red.
pub fn health_code(plan: &Plan, records: &[TestRecord], today: Date) -> HealthCode {
    if records.iter().any(|r| r.result == TestResult::Positive) {
        return HealthCode::Red;
    }
    match plan.phase_on(today).map(|p| p.kind) {
        Some(PhaseKind::CentralQuarantine | PhaseKind::HomeQuarantine) => HealthCode::Red,
        Some(PhaseKind::HomeObservation) => HealthCode::Yellow,
        _ if missed_test_outstanding(plan, records, today) => HealthCode::Yellow,
        _ => HealthCode::Green,
    }
}

/// Whether a control may be released on `today`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Release {
    /// The release date has not passed.
    NotYet,
    /// The release date has passed and every scheduled test is negative.
    Due,
    /// The release date has passed but these test days lack a negative result.
    Blocked { missing: Vec<Date> },
    /// A positive result stopped the plan: case management takes over.
    Positive,
}

pub fn release(plan: &Plan, records: &[TestRecord], today: Date) -> Release {
    if records.iter().any(|r| r.result == TestResult::Positive) {
        return Release::Positive;
    }
    match plan.release_on {
        Some(r) if r < today => {}
        _ => return Release::NotYet,
    }
    let missing: Vec<Date> = plan
        .test_days
        .iter()
        .map(|t| t.date)
        .filter(|d| {
            !records
                .iter()
                .any(|r| r.sampled_on == *d && r.result == TestResult::Negative)
        })
        .collect();
    if missing.is_empty() {
        Release::Due
    } else {
        Release::Blocked { missing }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Phase, TestDay};

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// POLICY.md example 1: 集中隔离 01-28…02-08, 居家健康观察 02-09…02-15.
    fn example_1() -> Plan {
        let t = |date: &str, day, double| TestDay {
            date: d(date),
            day,
            double,
        };
        Plan {
            phases: vec![
                Phase {
                    kind: PhaseKind::CentralQuarantine,
                    from: d("2022-01-28"),
                    to: d("2022-02-08"),
                },
                Phase {
                    kind: PhaseKind::HomeObservation,
                    from: d("2022-02-09"),
                    to: d("2022-02-15"),
                },
            ],
            test_days: vec![
                t("2022-01-28", 3, false),
                t("2022-02-01", 7, false),
                t("2022-02-08", 14, true),
                t("2022-02-10", 16, false),
                t("2022-02-15", 21, false),
            ],
            release_on: Some(d("2022-02-15")),
        }
    }

    fn negative(on: &str) -> TestRecord {
        TestRecord {
            sampled_on: d(on),
            result: TestResult::Negative,
        }
    }

    #[test]
    fn temperature_boundary_is_37_3() {
        assert_eq!(parse_temperature("t", "37.2"), Ok(372));
        assert!(!check_in_alarm(372, &[]));
        assert!(check_in_alarm(373, &[]));
        assert!(check_in_alarm(365, &[Symptom::Cough]));
        assert_eq!(parse_temperature("t", "37"), Ok(370));
        for typed in [
            "37,5",
            "37.5度",
            "37.5℃",
            " 37.5 ",
            "３７．５",
            "３７．５度",
            "37，5",
        ] {
            assert_eq!(parse_temperature("t", typed), Ok(375), "{typed}");
        }
        for bad in [
            "", "37.25", "abc", "99.0", "-36.5", "3 7.0", "1e2", "33.9", "43.1",
        ] {
            assert!(parse_temperature("t", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_phase_day_has_a_check_in_and_test_days_a_test() {
        let p = example_1();
        let days: Vec<Date> = d("2022-01-27")
            .iter_days()
            .take_while(|x| *x <= d("2022-02-16"))
            .collect();
        let check_ins = days
            .iter()
            .filter(|x| {
                obligations_on(&p, **x)
                    .iter()
                    .any(|o| matches!(o, Obligation::CheckIn { .. }))
            })
            .count();
        assert_eq!(check_ins, 19, "01-28 to 02-15");
        assert!(obligations_on(&p, d("2022-01-27")).is_empty());
        assert!(obligations_on(&p, d("2022-02-16")).is_empty());
        assert_eq!(
            obligations_on(&p, d("2022-02-08")),
            [
                Obligation::CheckIn {
                    date: d("2022-02-08")
                },
                Obligation::Test {
                    date: d("2022-02-08"),
                    day: 14,
                    double: true
                }
            ]
        );
    }

    #[test]
    fn colour_follows_the_phases() {
        let p = example_1();
        assert_eq!(health_code(&p, &[], d("2022-01-28")), HealthCode::Red);
        assert_eq!(
            health_code(&p, &[negative("2022-01-28")], d("2022-02-08")),
            HealthCode::Red
        );
        let all_done: Vec<_> = ["2022-01-28", "2022-02-01", "2022-02-08", "2022-02-10"]
            .into_iter()
            .map(negative)
            .collect();
        assert_eq!(
            health_code(&p, &all_done, d("2022-02-09")),
            HealthCode::Yellow
        );
        assert_eq!(
            health_code(&p, &all_done, d("2022-02-15")),
            HealthCode::Yellow
        );
        assert_eq!(
            health_code(&p, &all_done, d("2022-02-16")),
            HealthCode::Yellow,
            "the 02-15 test was missed"
        );
        let mut finished = all_done;
        finished.push(negative("2022-02-15"));
        assert_eq!(
            health_code(&p, &finished, d("2022-02-16")),
            HealthCode::Green
        );
    }

    #[test]
    fn a_missed_test_is_yellow_until_the_next_negative() {
        let p = Plan {
            phases: vec![Phase {
                kind: PhaseKind::HealthMonitoring,
                from: d("2022-01-28"),
                to: d("2022-02-09"),
            }],
            test_days: vec![
                TestDay {
                    date: d("2022-01-28"),
                    day: 2,
                    double: false,
                },
                TestDay {
                    date: d("2022-01-29"),
                    day: 3,
                    double: false,
                },
            ],
            release_on: Some(d("2022-02-09")),
        };
        let on_time = [negative("2022-01-28")];
        assert_eq!(
            health_code(&p, &on_time, d("2022-01-29")),
            HealthCode::Green
        );
        assert_eq!(
            test_state(d("2022-01-29"), &on_time, d("2022-01-29")),
            TestState::Due
        );
        assert_eq!(
            test_state(d("2022-01-29"), &on_time, d("2022-01-30")),
            TestState::Missed
        );
        assert_eq!(
            health_code(&p, &on_time, d("2022-01-30")),
            HealthCode::Yellow
        );
        let caught_up = [negative("2022-01-28"), negative("2022-01-31")];
        assert_eq!(
            health_code(&p, &caught_up, d("2022-01-31")),
            HealthCode::Green
        );
        let positive = [TestRecord {
            sampled_on: d("2022-01-28"),
            result: TestResult::Positive,
        }];
        assert_eq!(health_code(&p, &positive, d("2022-02-20")), HealthCode::Red);
    }

    #[test]
    fn release_needs_the_date_passed_and_every_test_negative() {
        let p = example_1();
        let all: Vec<_> = p
            .test_days
            .iter()
            .map(|t| negative(&t.date.to_string()))
            .collect();
        assert_eq!(release(&p, &all, d("2022-02-15")), Release::NotYet);
        assert_eq!(release(&p, &all, d("2022-02-16")), Release::Due);
        let mut some = all.clone();
        some.remove(2);
        some[0].result = TestResult::Pending;
        assert_eq!(
            release(&p, &some, d("2022-02-16")),
            Release::Blocked {
                missing: vec![d("2022-01-28"), d("2022-02-08")]
            }
        );
        let mut pos = all;
        pos[1].result = TestResult::Positive;
        assert_eq!(release(&p, &pos, d("2022-02-01")), Release::Positive);
    }

    /// The obligation calendar of every category, on POLICY.md's dates.
    #[test]
    fn the_calendar_of_every_category() {
        use crate::policy::{Abroad, Facts, Place, Policy, triage};
        use crate::risk::{RiskArea, RiskLevel};
        let policy = Policy::default_policy();
        let areas = [RiskArea {
            id: 1,
            county: "110106".into(),
            township: Some("110106003".into()),
            subarea: None,
            level: RiskLevel::Medium,
            since: d("2022-01-15"),
            until: None,
            listed_on: d("2022-01-15"),
        }];
        let base = Facts {
            arrival: d("2022-01-28"),
            origin: Place {
                county: "330106".into(),
                township: None,
            },
            departed_on: d("2022-01-28"),
            itinerary: vec![],
            abroad: None,
            health_code: HealthCode::Green,
            symptoms: vec![],
            negative_test_48h: None,
        };
        let from = |township: &str, left: &str| Facts {
            origin: Place {
                county: township[..6].into(),
                township: Some(township.into()),
            },
            departed_on: d(left),
            ..base.clone()
        };
        let cases: Vec<(Facts, &str, &str, &str, Vec<&str>)> = vec![
            (
                Facts {
                    abroad: Some(Abroad {
                        country: "US".into(),
                        entered_china_on: d("2022-01-20"),
                    }),
                    ..base.clone()
                },
                "inbound",
                "2022-01-28",
                "2022-02-16",
                vec!["01-28", "02-02", "02-04", "02-09", "02-16"],
            ),
            (
                Facts {
                    health_code: HealthCode::Red,
                    ..base.clone()
                },
                "red_code",
                "2022-01-28",
                "2022-02-17",
                vec!["01-28", "01-30", "02-03", "02-10", "02-12", "02-17"],
            ),
            (
                from("110106003", "2022-01-26"),
                "risk_street",
                "2022-01-28",
                "2022-02-15",
                vec!["01-28", "02-01", "02-08", "02-10", "02-15"],
            ),
            (
                Facts {
                    health_code: HealthCode::Yellow,
                    ..base.clone()
                },
                "yellow_code",
                "2022-01-28",
                "2022-02-03",
                vec!["01-28", "01-30", "02-03"],
            ),
            (
                from("110106001", "2022-01-27"),
                "risk_county",
                "2022-01-28",
                "2022-02-09",
                vec!["01-28", "01-29", "02-09"],
            ),
            (
                from("110106001", "2022-01-14"),
                "out_of_province",
                "",
                "",
                vec!["01-28", "01-31"],
            ),
            (base.clone(), "in_province", "", "", vec![]),
        ];
        for (facts, category, first, last, tests) in cases {
            let plan = triage(&policy, &areas, &facts).plan;
            let mut check_ins = vec![];
            let mut test_dates = vec![];
            for day in d("2022-01-20").iter_days().take(40) {
                for o in obligations_on(&plan, day) {
                    match o {
                        Obligation::CheckIn { date } => check_ins.push(date),
                        Obligation::Test { date, .. } => {
                            test_dates.push(date.format("%m-%d").to_string())
                        }
                    }
                }
            }
            assert_eq!(test_dates, tests, "{category}");
            if first.is_empty() {
                assert!(check_ins.is_empty(), "{category}: no phases, no check-ins");
            } else {
                let expected: Vec<Date> =
                    d(first).iter_days().take_while(|x| *x <= d(last)).collect();
                assert_eq!(
                    check_ins, expected,
                    "{category}: a check-in every phase day"
                );
            }
        }
    }
}
