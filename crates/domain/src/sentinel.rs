//! 药店哨点: what a reported purchase obliges of the buyer. Pure: the facts
//! of the purchase and the buyer's last negative test in, the duties out.

use serde::Serialize;

use crate::monitoring::check_in_alarm;
use crate::policy::{PharmacyRule, Symptom};

/// What a purchase obliges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PurchaseDuty {
    /// 发热就诊转运: febrile (37.3 °C or more) or reporting a symptom.
    pub fever_transfer: bool,
    /// The time by which a test is owed; None when the buyer had a negative
    /// test recently enough.
    pub test_due_at: Option<i64>,
}

/// The duties of a purchase made at `at` (seconds): a fever transfer by the
/// same rule as a health check-in, and a test within the policy's hours
/// unless the last negative sample was taken within its window before.
pub fn purchase_duty(
    rule: &PharmacyRule,
    temperature_tenths: Option<u16>,
    symptoms: &[Symptom],
    last_negative_sampled_at: Option<i64>,
    at: i64,
) -> PurchaseDuty {
    let window = i64::from(rule.negative_within_hours) * 3600;
    let recent = last_negative_sampled_at.is_some_and(|t| t <= at && at - t <= window);
    PurchaseDuty {
        fever_transfer: check_in_alarm(temperature_tenths.unwrap_or(0), symptoms),
        test_due_at: (!recent).then(|| at + i64::from(rule.test_within_hours) * 3600),
    }
}

/// The referral window of a febrile purchase made at `purchase_at`: the
/// first instant it no longer matches a fever-clinic visit (also the
/// fever-transfer task's deadline, so the escalation sweep picks it up).
pub fn referral_due_at(rule: &PharmacyRule, purchase_at: i64) -> i64 {
    purchase_at + i64::from(rule.referral_within_hours) * 3600
}

/// Whether a fever-clinic visit at `visit_at` answers a referral from a
/// purchase at `purchase_at`: on or after the purchase, within the window.
pub fn referral_matches(rule: &PharmacyRule, purchase_at: i64, visit_at: i64) -> bool {
    visit_at >= purchase_at && visit_at <= referral_due_at(rule, purchase_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    const AT: i64 = 1_643_335_200;
    const HOUR: i64 = 3600;

    fn rule() -> PharmacyRule {
        Policy::default_policy().pharmacy
    }

    #[test]
    fn the_shipped_policy_names_the_four_classes_and_48_72() {
        let p = Policy::default_policy();
        let names: Vec<&str> = p
            .pharmacy
            .drug_classes
            .iter()
            .map(|d| d.label_zh.as_str())
            .collect();
        assert_eq!(names, ["退热", "止咳", "抗病毒", "抗菌素"]);
        assert_eq!(
            (
                p.pharmacy.negative_within_hours,
                p.pharmacy.test_within_hours
            ),
            (48, 72)
        );
        assert!(p.drug_class("antiviral").is_some() && p.drug_class("vitamin").is_none());
        assert!(p.venue_type("pharmacy").is_some());
    }

    #[test]
    fn a_visit_within_24_hours_after_the_purchase_answers_the_referral() {
        let r = rule();
        assert_eq!(r.referral_within_hours, 24);
        assert_eq!(referral_due_at(&r, AT), AT + 24 * HOUR);
        assert!(referral_matches(&r, AT, AT));
        assert!(referral_matches(&r, AT, AT + 24 * HOUR));
        assert!(!referral_matches(&r, AT, AT + 24 * HOUR + 1));
        assert!(!referral_matches(&r, AT, AT - 1));
    }

    #[test]
    fn an_older_policy_without_the_key_parses_with_24_hours() {
        let text = crate::policy::DEFAULT_POLICY_TOML.replace("referral_within_hours = 24\n", "");
        assert!(!text.contains("referral_within_hours ="));
        let p = Policy::from_toml(&text).unwrap();
        assert_eq!(p.pharmacy.referral_within_hours, 24);
        assert!(p.venue_type("fever_clinic").is_some());
    }

    #[test]
    fn fever_at_37_3_or_a_symptom_calls_for_a_transfer() {
        let r = rule();
        assert!(!purchase_duty(&r, Some(372), &[], None, AT).fever_transfer);
        assert!(purchase_duty(&r, Some(373), &[], None, AT).fever_transfer);
        assert!(purchase_duty(&r, None, &[Symptom::Cough], None, AT).fever_transfer);
        assert!(!purchase_duty(&r, None, &[], None, AT).fever_transfer);
    }

    #[test]
    fn a_negative_within_48_hours_owes_nothing_else_a_test_within_72() {
        let r = rule();
        let none = purchase_duty(&r, None, &[], Some(AT - 24 * HOUR), AT);
        assert_eq!(none.test_due_at, None);
        let edge = purchase_duty(&r, None, &[], Some(AT - 48 * HOUR), AT);
        assert_eq!(edge.test_due_at, None);
        let old = purchase_duty(&r, None, &[], Some(AT - 48 * HOUR - 1), AT);
        assert_eq!(old.test_due_at, Some(AT + 72 * HOUR));
        assert_eq!(
            purchase_duty(&r, None, &[], None, AT).test_due_at,
            Some(AT + 72 * HOUR)
        );
        // A sample dated after the purchase is no excuse at purchase time.
        let later = purchase_duty(&r, None, &[], Some(AT + HOUR), AT);
        assert_eq!(later.test_due_at, Some(AT + 72 * HOUR));
    }
}
