//! 集聚性活动报备: a host reports a banquet, wedding or funeral; its size
//! decides who must agree (tiers are policy data), the date must leave the
//! town its working days' notice, and an approved event runs to its end.
//! Also the generic 不得层层加码 check: a town may only tighten a numeric rule,
//! and only the rules the policy lists.

use chrono::{Datelike, Duration, Weekday};
use serde::{Deserialize, Serialize};

use crate::Date;

/// What is being held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GatheringKind {
    Banquet,
    Wedding,
    Funeral,
    Other,
}

impl GatheringKind {
    pub const ALL: [GatheringKind; 4] = [
        GatheringKind::Banquet,
        GatheringKind::Wedding,
        GatheringKind::Funeral,
        GatheringKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GatheringKind::Banquet => "banquet",
            GatheringKind::Wedding => "wedding",
            GatheringKind::Funeral => "funeral",
            GatheringKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            GatheringKind::Banquet => "宴会",
            GatheringKind::Wedding => "婚礼",
            GatheringKind::Funeral => "丧事",
            GatheringKind::Other => "其他集聚性活动",
        }
    }
}

/// Who must agree, by size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 自行管理: filed with the village only.
    SelfManaged,
    /// 镇街备案: the village checks, the town approves.
    Town,
    /// 市级审批: the village checks, the city approves.
    City,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::SelfManaged => "self_managed",
            Tier::Town => "town",
            Tier::City => "city",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "self_managed" => Some(Tier::SelfManaged),
            "town" => Some(Tier::Town),
            "city" => Some(Tier::City),
            _ => None,
        }
    }
}

/// An event's state: 已提交 → 村审核 → 镇/市批准 → 进行中 → 已结束, or 驳回 / 取消.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GatheringState {
    Submitted,
    VillageChecked,
    Approved,
    Ongoing,
    Ended,
    Rejected,
    Cancelled,
}

/// A step someone takes on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Approve,
    Reject,
    Start,
    Finish,
    Cancel,
}

/// Which level of staff takes a review step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reviewer {
    Village,
    Town,
    City,
}

impl GatheringState {
    pub fn as_str(self) -> &'static str {
        match self {
            GatheringState::Submitted => "submitted",
            GatheringState::VillageChecked => "village_checked",
            GatheringState::Approved => "approved",
            GatheringState::Ongoing => "ongoing",
            GatheringState::Ended => "ended",
            GatheringState::Rejected => "rejected",
            GatheringState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            GatheringState::Submitted,
            GatheringState::VillageChecked,
            GatheringState::Approved,
            GatheringState::Ongoing,
            GatheringState::Ended,
            GatheringState::Rejected,
            GatheringState::Cancelled,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            GatheringState::Submitted => "已提交",
            GatheringState::VillageChecked => "村已审核",
            GatheringState::Approved => "已批准",
            GatheringState::Ongoing => "进行中",
            GatheringState::Ended => "已结束",
            GatheringState::Rejected => "已驳回",
            GatheringState::Cancelled => "已取消",
        }
    }

    /// Who reviews an event of `tier` in this state; None when no review is
    /// waiting.
    pub fn reviewer(self, tier: Tier) -> Option<Reviewer> {
        match (self, tier) {
            (GatheringState::Submitted, _) => Some(Reviewer::Village),
            (GatheringState::VillageChecked, Tier::Town) => Some(Reviewer::Town),
            (GatheringState::VillageChecked, Tier::City) => Some(Reviewer::City),
            _ => None,
        }
    }

    /// The state after `step` on an event of `tier`; None when the step does
    /// not apply. A self-managed event is only filed: the village's check
    /// approves it.
    pub fn next(self, tier: Tier, step: Step) -> Option<GatheringState> {
        use GatheringState::*;
        match (self, step) {
            (Submitted, Step::Approve) if tier == Tier::SelfManaged => Some(Approved),
            (Submitted, Step::Approve) => Some(VillageChecked),
            (VillageChecked, Step::Approve) if tier != Tier::SelfManaged => Some(Approved),
            (Submitted | VillageChecked, Step::Reject) => Some(Rejected),
            (Approved, Step::Start) => Some(Ongoing),
            (Ongoing, Step::Finish) => Some(Ended),
            (Submitted | VillageChecked | Approved, Step::Cancel) => Some(Cancelled),
            _ => None,
        }
    }

    /// Whether guests may have met (for 协查 after a positive guest).
    pub fn held(self) -> bool {
        matches!(
            self,
            GatheringState::Approved | GatheringState::Ongoing | GatheringState::Ended
        )
    }
}

/// The `[gathering]` policy section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatheringRule {
    /// Below this headcount the host manages the event (filed only).
    pub self_managed_below: u32,
    /// From this headcount the city approves.
    pub city_from: u32,
    /// Working days between the report and the event for town and city tiers.
    pub notice_working_days: u32,
    /// The most guest-list rows one report carries.
    pub max_guests: u32,
    /// Public holidays (no working day) and weekend days worked instead.
    #[serde(default)]
    pub holidays: Vec<Date>,
    #[serde(default)]
    pub extra_workdays: Vec<Date>,
    /// 不得层层加码: the numeric rules a town may tighten, with city approval.
    #[serde(default, rename = "tightenable")]
    pub tightenable: Vec<Tightenable>,
}

impl Default for GatheringRule {
    fn default() -> Self {
        GatheringRule {
            self_managed_below: 50,
            city_from: 200,
            notice_working_days: 5,
            max_guests: 500,
            holidays: Vec::new(),
            extra_workdays: Vec::new(),
            tightenable: Vec::new(),
        }
    }
}

/// Thresholds in force for one town (its approved overrides applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub self_managed_below: u32,
    pub city_from: u32,
    pub notice_working_days: u32,
}

impl GatheringRule {
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            self_managed_below: self.self_managed_below,
            city_from: self.city_from,
            notice_working_days: self.notice_working_days,
        }
    }

    pub fn is_working_day(&self, d: Date) -> bool {
        if self.extra_workdays.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }

    /// The `n`th working day after `from` (`from` itself never counts).
    pub fn working_days_after(&self, from: Date, n: u32) -> Date {
        let mut d = from;
        let mut left = n;
        while left > 0 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }
}

pub fn tier_of(t: &Thresholds, headcount: u32) -> Tier {
    if headcount < t.self_managed_below {
        Tier::SelfManaged
    } else if headcount < t.city_from {
        Tier::Town
    } else {
        Tier::City
    }
}

/// The earliest date an event of `tier` reported on `today` may be held.
pub fn earliest_date(rule: &GatheringRule, t: &Thresholds, tier: Tier, today: Date) -> Date {
    match tier {
        Tier::SelfManaged => today,
        Tier::Town | Tier::City => rule.working_days_after(today, t.notice_working_days),
    }
}

/// Which way a rule tightens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stricter {
    /// A smaller number is stricter (a threshold, a deadline in hours).
    Lower,
    /// A larger number is stricter (days of notice).
    Higher,
}

/// A rule a town may tighten: its key (`section.field`) and direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tightenable {
    pub key: String,
    pub stricter: Stricter,
    pub label_zh: String,
    pub label_en: String,
}

/// Whether `proposed` is strictly stricter than `base` (equal is no change
/// and refused too); a value of 0 never is.
pub fn is_stricter(direction: Stricter, base: i64, proposed: i64) -> bool {
    proposed > 0
        && match direction {
            Stricter::Lower => proposed < base,
            Stricter::Higher => proposed > base,
        }
}

/// The shipped value of a tightenable rule, by key; None for a key the
/// policy does not list as tightenable.
pub fn base_value(policy: &crate::policy::Policy, key: &str) -> Option<i64> {
    policy.gathering.tightenable.iter().find(|t| t.key == key)?;
    let g = &policy.gathering;
    let p = &policy.pharmacy;
    let v = match key {
        "gathering.self_managed_below" => g.self_managed_below,
        "gathering.city_from" => g.city_from,
        "gathering.notice_working_days" => g.notice_working_days,
        "pharmacy.test_within_hours" => p.test_within_hours,
        "pharmacy.negative_within_hours" => p.negative_within_hours,
        _ => return None,
    };
    Some(i64::from(v))
}

/// `t` with a town's approved overrides (key, value) applied.
pub fn apply_overrides(t: Thresholds, overrides: &[(String, i64)]) -> Thresholds {
    let mut t = t;
    for (key, value) in overrides {
        let Ok(v) = u32::try_from(*value) else {
            continue;
        };
        match key.as_str() {
            "gathering.self_managed_below" => t.self_managed_below = v,
            "gathering.city_from" => t.city_from = v,
            "gathering.notice_working_days" => t.notice_working_days = v,
            _ => {}
        }
    }
    t
}

/// The pharmacy rule with a town's approved overrides applied (only
/// `pharmacy.test_within_hours` may be tightened).
pub fn apply_pharmacy_overrides(
    rule: &crate::policy::PharmacyRule,
    overrides: &[(String, i64)],
) -> crate::policy::PharmacyRule {
    let mut r = rule.clone();
    for (key, value) in overrides {
        if key == "pharmacy.test_within_hours"
            && let Ok(v) = u32::try_from(*value)
        {
            r.test_within_hours = v;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn a_towns_approved_test_hours_replace_the_citys_for_its_pharmacies() {
        let p = Policy::default_policy();
        let kept = apply_pharmacy_overrides(&p.pharmacy, &[("gathering.city_from".into(), 100)]);
        assert_eq!(kept, p.pharmacy);
        let tightened =
            apply_pharmacy_overrides(&p.pharmacy, &[("pharmacy.test_within_hours".into(), 48)]);
        assert_eq!(tightened.test_within_hours, 48);
        assert_eq!(
            tightened.negative_within_hours,
            p.pharmacy.negative_within_hours
        );
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn rule() -> GatheringRule {
        Policy::default_policy().gathering
    }

    #[test]
    fn the_shipped_tiers_are_50_and_200_with_5_working_days() {
        let r = rule();
        let t = r.thresholds();
        assert_eq!(tier_of(&t, 49), Tier::SelfManaged);
        assert_eq!(tier_of(&t, 50), Tier::Town);
        assert_eq!(tier_of(&t, 199), Tier::Town);
        assert_eq!(tier_of(&t, 200), Tier::City);
        assert_eq!(r.notice_working_days, 5);
        assert!(
            r.tightenable
                .iter()
                .any(|x| x.key == "gathering.self_managed_below")
        );
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_and_count_makeup_days() {
        let plain = GatheringRule::default();
        // Monday 2022-03-07 + 5 working days = Monday 03-14.
        assert_eq!(
            plain.working_days_after(d("2022-03-07"), 5),
            d("2022-03-14")
        );
        // Friday + 1 = Monday.
        assert_eq!(
            plain.working_days_after(d("2022-03-11"), 1),
            d("2022-03-14")
        );
        // The shipped policy: Spring Festival 01-31..02-06 off, 01-29/30 worked.
        let r = rule();
        assert!(r.is_working_day(d("2022-01-29")));
        assert!(!r.is_working_day(d("2022-02-01")));
        assert_eq!(r.working_days_after(d("2022-01-28"), 5), d("2022-02-09"));
    }

    #[test]
    fn town_and_city_tiers_need_notice_self_managed_does_not() {
        let r = rule();
        let t = r.thresholds();
        let today = d("2022-03-07");
        assert_eq!(earliest_date(&r, &t, Tier::SelfManaged, today), today);
        assert_eq!(earliest_date(&r, &t, Tier::Town, today), d("2022-03-14"));
        assert_eq!(earliest_date(&r, &t, Tier::City, today), d("2022-03-14"));
    }

    #[test]
    fn each_tier_walks_its_own_path() {
        use GatheringState::*;
        let walk = |tier: Tier| {
            let mut s = Submitted;
            let mut seen = vec![s];
            while let Some(n) = s.next(tier, Step::Approve) {
                s = n;
                seen.push(s);
            }
            seen
        };
        assert_eq!(walk(Tier::SelfManaged), [Submitted, Approved]);
        assert_eq!(walk(Tier::Town), [Submitted, VillageChecked, Approved]);
        assert_eq!(walk(Tier::City), [Submitted, VillageChecked, Approved]);
        assert_eq!(Submitted.reviewer(Tier::City), Some(Reviewer::Village));
        assert_eq!(VillageChecked.reviewer(Tier::Town), Some(Reviewer::Town));
        assert_eq!(VillageChecked.reviewer(Tier::City), Some(Reviewer::City));
        assert_eq!(Approved.reviewer(Tier::City), None);
        assert_eq!(Approved.next(Tier::Town, Step::Start), Some(Ongoing));
        assert_eq!(Ongoing.next(Tier::Town, Step::Finish), Some(Ended));
        assert_eq!(Ongoing.next(Tier::Town, Step::Cancel), None);
        assert_eq!(Ended.next(Tier::Town, Step::Reject), None);
        assert_eq!(
            VillageChecked.next(Tier::City, Step::Reject),
            Some(Rejected)
        );
        assert!(Ended.held() && !Rejected.held() && !Submitted.held());
    }

    #[test]
    fn only_a_stricter_value_tightens() {
        assert!(is_stricter(Stricter::Lower, 50, 30));
        assert!(!is_stricter(Stricter::Lower, 50, 50));
        assert!(!is_stricter(Stricter::Lower, 50, 80));
        assert!(!is_stricter(Stricter::Lower, 50, 0));
        assert!(is_stricter(Stricter::Higher, 5, 7));
        assert!(!is_stricter(Stricter::Higher, 5, 3));
        let p = Policy::default_policy();
        assert_eq!(base_value(&p, "gathering.self_managed_below"), Some(50));
        assert_eq!(base_value(&p, "pharmacy.test_within_hours"), Some(72));
        assert_eq!(base_value(&p, "window_days"), None);
        let t = apply_overrides(
            p.gathering.thresholds(),
            &[("gathering.self_managed_below".into(), 30)],
        );
        assert_eq!(tier_of(&t, 30), Tier::Town);
    }
}
