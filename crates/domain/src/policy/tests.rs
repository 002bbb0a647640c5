//! POLICY.md's worked examples and the boundaries between categories.

use super::*;
use crate::risk::RiskLevel;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn place(county: &str, township: Option<&str>) -> Place {
    Place {
        county: county.into(),
        township: township.map(Into::into),
    }
}

/// Arrives in Yongkang on 2022-01-28 from 杭州 (in the province), green code.
fn base() -> Facts {
    Facts {
        arrival: d("2022-01-28"),
        origin: place("330106", None),
        departed_on: d("2022-01-28"),
        itinerary: vec![],
        abroad: None,
        health_code: HealthCode::Green,
        symptoms: vec![],
        negative_test_48h: None,
    }
}

fn from(township: &str, left: &str) -> Facts {
    Facts {
        origin: place(&township[..6], Some(township)),
        departed_on: d(left),
        ..base()
    }
}

fn area(id: i64, township: Option<&str>, since: &str, until: Option<&str>) -> RiskArea {
    RiskArea {
        id,
        county: "110106".into(),
        township: township.map(Into::into),
        subarea: None,
        level: RiskLevel::Medium,
        since: d(since),
        until: until.map(d),
        listed_on: d(since),
    }
}

/// The list of the worked examples: 西罗园街道, medium since 01-15.
fn list() -> Vec<RiskArea> {
    vec![area(1, Some("110106003"), "2022-01-15", None)]
}

fn run(facts: &Facts) -> Assessment {
    triage(&Policy::default_policy(), &list(), facts)
}

fn phases(a: &Assessment) -> Vec<(&'static str, String, String)> {
    a.plan
        .phases
        .iter()
        .map(|p| (p.kind.label_zh(), p.from.to_string(), p.to.to_string()))
        .collect()
}

fn tests(a: &Assessment) -> Vec<String> {
    a.plan
        .test_days
        .iter()
        .map(|t| {
            let mut s = t.date.format("%m-%d").to_string();
            if t.double {
                s.push('*');
            }
            s
        })
        .collect()
}

#[test]
fn shipped_policy_parses_in_severity_order() {
    let p = Policy::default_policy();
    let names: Vec<_> = p.categories.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "inbound",
            "red_code",
            "close_contact",
            "risk_street",
            "secondary_contact",
            "zone_sealed",
            "pool_positive",
            "zone_controlled",
            "yellow_code",
            "risk_county",
            "zone_precaution",
            "out_of_province",
            "in_province"
        ]
    );
    assert_eq!(p.version, "zj-2022-01-27");
}

#[test]
fn example_1_risk_street() {
    let a = run(&from("110106003", "2022-01-26"));
    assert_eq!(a.category, "risk_street");
    assert_eq!(a.day_one, d("2022-01-26"));
    assert_eq!(
        phases(&a),
        [
            ("集中隔离", "2022-01-28".into(), "2022-02-08".into()),
            ("居家健康观察", "2022-02-09".into(), "2022-02-15".into())
        ]
    );
    assert_eq!(tests(&a), ["01-28", "02-01", "02-08*", "02-10", "02-15"]);
    assert_eq!(a.plan.release_on, Some(d("2022-02-15")));
    assert_eq!(a.verify_within_hours, Some(2));
    assert_eq!(a.risk_area_ids, [1]);
    let reason = &a.reasons[0].zh;
    assert!(reason.contains("北京市丰台区 西罗园街道"), "{reason}");
    assert!(reason.contains("中风险地区，1月15日以来"), "{reason}");
    assert!(
        reason.contains("14天集中隔离 + 7天居家健康观察"),
        "{reason}"
    );
    assert!(reason.contains("第1、3、7、14、16、21天"), "{reason}");
}

#[test]
fn example_2_risk_county_without_a_test() {
    let a = run(&from("110106001", "2022-01-27"));
    assert_eq!(a.category, "risk_county");
    assert_eq!(a.day_one, d("2022-01-27"));
    assert_eq!(
        phases(&a),
        [("日常健康监测", "2022-01-28".into(), "2022-02-09".into())]
    );
    assert_eq!(tests(&a), ["01-28", "01-29", "02-09"]);
    assert_eq!(a.plan.release_on, Some(d("2022-02-09")));
    assert_eq!(a.verify_within_hours, Some(12));
}

#[test]
fn example_3_risk_county_with_a_negative_test() {
    let mut f = from("110106001", "2022-01-27");
    f.negative_test_48h = Some(d("2022-01-27"));
    let a = run(&f);
    assert_eq!(a.category, "risk_county");
    assert_eq!(tests(&a), ["01-29", "02-09"]);
    assert_eq!(a.plan.release_on, Some(d("2022-02-09")));
}

#[test]
fn example_4_inbound() {
    let f = Facts {
        abroad: Some(Abroad {
            country: "US".into(),
            entered_china_on: d("2022-01-20"),
        }),
        ..base()
    };
    let a = run(&f);
    assert_eq!(a.category, "inbound");
    assert_eq!(a.day_one, d("2022-01-20"));
    assert_eq!(
        phases(&a),
        [
            ("集中隔离", "2022-01-28".into(), "2022-02-02".into()),
            ("居家健康观察", "2022-02-03".into(), "2022-02-09".into()),
            ("日常健康监测", "2022-02-10".into(), "2022-02-16".into())
        ]
    );
    assert_eq!(tests(&a), ["01-28", "02-02*", "02-04", "02-09", "02-16"]);
    assert_eq!(a.plan.release_on, Some(d("2022-02-16")));
}

#[test]
fn example_5_presence_before_since_is_only_out_of_province() {
    let a = run(&from("110106003", "2022-01-14"));
    assert_eq!(a.category, "out_of_province");
    assert_eq!(a.day_one, d("2022-01-28"));
    assert!(a.plan.phases.is_empty());
    assert_eq!(tests(&a), ["01-28", "01-31"]);
    assert_eq!(a.plan.release_on, Some(d("2022-01-31")));
    assert_eq!(a.verify_within_hours, Some(24));
}

#[test]
fn example_5b_presence_outside_the_window_does_not_count() {
    let a = run(&from("110106003", "2022-01-10"));
    assert_eq!(a.category, "in_province");
    assert!(a.plan.is_empty());
    assert_eq!(a.plan.release_on, None);
    assert_eq!(a.verify_within_hours, None);
}

#[test]
fn example_6_risk_street_beats_yellow_code() {
    let f = Facts {
        health_code: HealthCode::Yellow,
        itinerary: vec![Stop {
            place: place("110106", Some("110106003")),
            from: d("2022-01-20"),
            to: d("2022-01-21"),
        }],
        departed_on: d("2022-01-22"),
        ..base()
    };
    let a = run(&f);
    assert_eq!(a.category, "risk_street");
    assert_eq!(a.day_one, d("2022-01-21"));
    assert_eq!(
        phases(&a),
        [
            ("集中隔离", "2022-01-28".into(), "2022-02-03".into()),
            ("居家健康观察", "2022-02-04".into(), "2022-02-10".into())
        ]
    );
    assert_eq!(tests(&a), ["01-28", "02-03*", "02-05", "02-10"]);
    assert_eq!(a.plan.release_on, Some(d("2022-02-10")));
}

#[test]
fn example_7_symptoms_add_an_urgent_task_and_one_test() {
    let f = Facts {
        symptoms: vec![Symptom::Fever],
        ..base()
    };
    let a = run(&f);
    assert_eq!(a.category, "in_province");
    assert_eq!(a.fever_transfer_within_hours, Some(2));
    assert_eq!(tests(&a), ["01-28"]);
    assert_eq!(a.plan.release_on, Some(d("2022-01-28")));
    assert!(a.reasons.iter().any(|r| r.zh.contains("发热就诊转运")));
}

#[test]
fn example_8_reassessment_after_a_new_listing_raises_the_control() {
    let f = from("110106001", "2022-01-27");
    let policy = Policy::default_policy();
    let before = triage(&policy, &list(), &f);
    let mut areas = list();
    let mut new = area(2, Some("110106001"), "2022-01-20", None);
    new.listed_on = d("2022-01-29");
    areas.push(new.clone());
    let after = triage(&policy, &areas, &f);
    assert_eq!(after.category, "risk_street");
    assert_eq!(after.day_one, d("2022-01-27"));
    assert_eq!(
        phases(&after),
        [
            ("集中隔离", "2022-01-28".into(), "2022-02-09".into()),
            ("居家健康观察", "2022-02-10".into(), "2022-02-16".into())
        ]
    );
    assert_eq!(
        tests(&after),
        ["01-28", "01-29", "02-02", "02-09*", "02-11", "02-16"]
    );
    assert_eq!(after.plan.release_on, Some(d("2022-02-16")));
    assert_eq!(
        after.strictness_cmp(&before, &policy),
        std::cmp::Ordering::Greater
    );
    assert_eq!(
        raise_reason(&new).zh,
        "1月29日新增：北京市丰台区 右安门街道 中风险地区，1月20日以来"
    );
}

#[test]
fn a_missing_township_in_a_listed_county_counts_as_the_street() {
    let f = Facts {
        origin: place("110106", None),
        departed_on: d("2022-01-27"),
        ..base()
    };
    assert_eq!(run(&f).category, "risk_street");
}

#[test]
fn a_county_wide_entry_covers_every_township() {
    let areas = vec![area(1, None, "2022-01-15", None)];
    let a = triage(
        &Policy::default_policy(),
        &areas,
        &from("110106001", "2022-01-27"),
    );
    assert_eq!(a.category, "risk_street");
}

#[test]
fn a_lifted_area_counts_only_until_it_was_lifted() {
    let policy = Policy::default_policy();
    let lifted = vec![area(1, Some("110106003"), "2022-01-15", Some("2022-01-20"))];
    let a = triage(&policy, &lifted, &from("110106003", "2022-01-26"));
    assert_eq!(a.category, "risk_street");
    assert_eq!(
        a.day_one,
        d("2022-01-20"),
        "exposure ends when the area was lifted"
    );
    let mut f = base();
    f.itinerary.push(Stop {
        place: place("110106", Some("110106003")),
        from: d("2022-01-21"),
        to: d("2022-01-22"),
    });
    assert_eq!(triage(&policy, &lifted, &f).category, "out_of_province");
}

#[test]
fn the_latest_exposure_decides_day_one() {
    let mut areas = list();
    areas.push(RiskArea {
        id: 2,
        county: "420106".into(),
        township: None,
        subarea: None,
        level: RiskLevel::High,
        since: d("2022-01-01"),
        until: None,
        listed_on: d("2022-01-01"),
    });
    let mut f = from("110106003", "2022-01-18");
    f.itinerary.push(Stop {
        place: place("420106", None),
        from: d("2022-01-19"),
        to: d("2022-01-23"),
    });
    let a = triage(&Policy::default_policy(), &areas, &f);
    assert_eq!(a.category, "risk_street");
    assert_eq!(a.day_one, d("2022-01-23"));
    assert_eq!(a.risk_area_ids, [1, 2]);
}

#[test]
fn red_code_beats_risk_street_and_counts_from_arrival() {
    let mut f = from("110106003", "2022-01-26");
    f.health_code = HealthCode::Red;
    let a = run(&f);
    assert_eq!(a.category, "red_code");
    assert_eq!(a.day_one, d("2022-01-28"));
    assert_eq!(a.plan.release_on, Some(d("2022-02-17")));
}

#[test]
fn yellow_code_beats_risk_county() {
    let mut f = from("110106001", "2022-01-27");
    f.health_code = HealthCode::Yellow;
    let a = run(&f);
    assert_eq!(a.category, "yellow_code");
    assert_eq!(tests(&a), ["01-28", "01-30", "02-03"]);
    assert_eq!(a.plan.release_on, Some(d("2022-02-03")));
    assert_eq!(a.verify_within_hours, Some(12));
}

#[test]
fn abroad_before_the_window_is_not_inbound() {
    let f = Facts {
        abroad: Some(Abroad {
            country: "JP".into(),
            entered_china_on: d("2022-01-13"),
        }),
        ..base()
    };
    assert_eq!(run(&f).category, "in_province");
    let f = Facts {
        abroad: Some(Abroad {
            country: "JP".into(),
            entered_china_on: d("2022-01-14"),
        }),
        ..base()
    };
    assert_eq!(run(&f).category, "inbound");
}

#[test]
fn a_stop_outside_zhejiang_is_out_of_province() {
    let mut f = base();
    f.itinerary.push(Stop {
        place: place("310101", None),
        from: d("2022-01-20"),
        to: d("2022-01-21"),
    });
    let a = run(&f);
    assert_eq!(a.category, "out_of_province");
    assert!(a.reasons[0].zh.contains("上海市"), "{}", a.reasons[0].zh);
}

#[test]
fn stricter_ties_go_to_the_later_release() {
    let policy = Policy::default_policy();
    let early = run(&from("110106003", "2022-01-20"));
    let late = run(&from("110106003", "2022-01-26"));
    assert_eq!(early.category, late.category);
    assert_eq!(
        late.strictness_cmp(&early, &policy),
        std::cmp::Ordering::Greater
    );
    assert_eq!(
        early.strictness_cmp(&late, &policy),
        std::cmp::Ordering::Less
    );
}

#[test]
fn a_policy_must_end_with_a_catch_all() {
    let text = DEFAULT_POLICY_TOML.replace("trigger = \"always\"", "trigger = \"red_code\"");
    assert!(Policy::from_toml(&text).is_err());
}
