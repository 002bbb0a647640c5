//! 聚集性信号预警: whether a township's count today is a surge against its
//! own moving baseline. Pure: the daily counts in, the verdict and its
//! figures out. The rule (policy [surge]): above the baseline's P90 AND a
//! robust z-score ((x - median) / (1.4826 × MAD)) above the threshold.

use serde::{Deserialize, Serialize};

/// Policy [surge]: the baseline and the thresholds, and the alert's deadlines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurgeRule {
    /// Days of history the baseline looks back over (today excluded).
    pub baseline_days: u32,
    /// Fewer days of history than this: no verdict (a new township or
    /// source has no baseline yet).
    pub min_history_days: u32,
    /// Today must be above this percentile of the baseline.
    pub percentile: u32,
    /// The robust z-score must be above this, in tenths (35 = 3.5): integers
    /// keep the policy comparable and exact.
    pub z_threshold_tenths: u32,
    /// The least spread assumed, in tenths of a count: a flat baseline
    /// (MAD 0) does not make one extra purchase a surge.
    pub min_scale_tenths: u32,
    /// 签收 within this many hours, else the alert goes to the city.
    pub ack_hours: u32,
    /// The deadline of the 核查 tasks a suspected event sends down.
    pub task_hours: u32,
    /// Health-code colours of a febrile buyer that alert at once.
    pub febrile_codes: Vec<String>,
}

impl Default for SurgeRule {
    fn default() -> Self {
        SurgeRule {
            baseline_days: 28,
            min_history_days: 14,
            percentile: 90,
            z_threshold_tenths: 35,
            min_scale_tenths: 10,
            ack_hours: 2,
            task_hours: 24,
            febrile_codes: vec!["red".into(), "yellow".into()],
        }
    }
}

/// Why a day is or is not a surge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Surge,
    /// Not above the baseline's percentile.
    NotAboveP90,
    /// Above the percentile but the z-score is at or under the threshold.
    LowZ,
    /// Not enough history for a baseline.
    TooFewDays {
        have: u32,
        need: u32,
    },
}

/// The verdict with the figures behind it (for the alert record).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SurgeCheck {
    pub alert: bool,
    pub reason: Reason,
    pub count: u32,
    pub median: f64,
    pub mad: f64,
    pub p90: f64,
    /// (count - median) / scale, where scale is 1.4826 × MAD, or when MAD
    /// is 0, 1.2533 × the mean absolute deviation, never under the policy's
    /// least spread: always finite.
    pub z: f64,
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn sorted(xs: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = xs.collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The nearest-rank percentile `p` (1..=100) of sorted values.
fn percentile(sorted: &[f64], p: u32) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (u64::from(p.clamp(1, 100)) * sorted.len() as u64).div_ceil(100);
    sorted[usize::try_from(rank).unwrap_or(1).max(1) - 1]
}

/// Judges `today` against `history` (daily counts, oldest first; only the
/// last `baseline_days` are used; days before the source existed must be
/// left out, a day with none counted as 0).
pub fn check(rule: &SurgeRule, history: &[u32], today: u32) -> SurgeCheck {
    let days = usize::try_from(rule.baseline_days).unwrap_or(usize::MAX);
    let window = &history[history.len().saturating_sub(days)..];
    let s = sorted(window.iter().map(|&x| f64::from(x)));
    let med = median(&s);
    let mad = median(&sorted(s.iter().map(|x| (x - med).abs())));
    let p90 = percentile(&s, rule.percentile);
    let x = f64::from(today);
    let spread = if mad > 0.0 {
        1.4826 * mad
    } else if s.is_empty() {
        0.0
    } else {
        1.2533 * s.iter().map(|v| (v - med).abs()).sum::<f64>() / s.len() as f64
    };
    let scale = spread.max(f64::from(rule.min_scale_tenths) / 10.0).max(0.1);
    let z = (x - med) / scale;
    let have = u32::try_from(window.len()).unwrap_or(u32::MAX);
    let reason = if have < rule.min_history_days.max(1) {
        Reason::TooFewDays {
            have,
            need: rule.min_history_days.max(1),
        }
    } else if x <= p90 {
        Reason::NotAboveP90
    } else if z * 10.0 <= f64::from(rule.z_threshold_tenths) {
        Reason::LowZ
    } else {
        Reason::Surge
    };
    SurgeCheck {
        alert: reason == Reason::Surge,
        reason,
        count: today,
        median: med,
        mad,
        p90,
        z,
    }
}

/// Whether a febrile buyer with this health-code colour alerts at once.
pub fn febrile_alerts(rule: &SurgeRule, febrile: bool, health_code: &str) -> bool {
    febrile && rule.febrile_codes.iter().any(|c| c == health_code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn rule() -> SurgeRule {
        Policy::default_policy().surge
    }

    /// A deterministic noisy series around 10 (a small LCG, no dependency).
    fn noisy(n: usize) -> Vec<u32> {
        let mut s: u32 = 7;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                8 + (s >> 16) % 5
            })
            .collect()
    }

    #[test]
    fn the_shipped_policy_is_28_days_p90_and_z_3_5() {
        let r = rule();
        assert_eq!(
            (
                r.baseline_days,
                r.percentile,
                r.z_threshold_tenths,
                r.ack_hours
            ),
            (28, 90, 35, 2)
        );
        assert_eq!(r.febrile_codes, ["red", "yellow"]);
    }

    #[test]
    fn a_flat_series_and_a_flat_day_is_quiet() {
        let c = check(&rule(), &[5; 28], 5);
        assert!(!c.alert);
        assert_eq!(c.reason, Reason::NotAboveP90);
        assert_eq!((c.median, c.mad, c.p90, c.z), (5.0, 0.0, 5.0, 0.0));
    }

    #[test]
    fn mad_zero_one_more_is_not_a_surge_but_a_jump_is() {
        // MAD and mean deviation 0: the least spread (1.0) keeps z finite.
        let one_more = check(&rule(), &[5; 28], 6);
        assert_eq!(one_more.reason, Reason::LowZ);
        assert!(one_more.z.is_finite() && (one_more.z - 1.0).abs() < 1e-9);
        let jump = check(&rule(), &[5; 28], 12);
        assert!(jump.alert);
        assert!((jump.z - 7.0).abs() < 1e-9);
        // MAD 0 but a few outliers: the mean absolute deviation is used.
        let mut h = vec![10; 28];
        h[3] = 30;
        h[9] = 30;
        let c = check(&rule(), &h, 20);
        assert_eq!(c.mad, 0.0);
        // mean deviation 40/28, × 1.2533 ≈ 1.79; z = 10 / 1.79 ≈ 5.6.
        assert!((c.z - 10.0 / (1.2533 * 40.0 / 28.0)).abs() < 1e-9);
        assert_eq!(c.p90, 10.0);
        assert!(c.alert);
        // An all-zero township: a handful of purchases is a signal.
        assert!(check(&rule(), &[0; 28], 4).alert);
        assert!(!check(&rule(), &[0; 28], 3).alert);
    }

    #[test]
    fn a_noisy_series_stays_quiet_at_its_top_and_alerts_on_a_spike() {
        let h = noisy(28);
        let max = *h.iter().max().unwrap();
        assert!(h.iter().min() != h.iter().max());
        let top = check(&rule(), &h, max);
        assert!(!top.alert, "{top:?}");
        let above = check(&rule(), &h, max + 1);
        assert_eq!(above.reason, Reason::LowZ, "{above:?}");
        let spike = check(&rule(), &h, 30);
        assert!(spike.alert, "{spike:?}");
        assert!(spike.z > 3.5 && 30.0 > spike.p90);
    }

    #[test]
    fn a_known_series_gives_known_figures() {
        // 1..=28: median 14.5, MAD 7, P90 nearest rank = the 26th value, 26.
        let h: Vec<u32> = (1..=28).collect();
        let c = check(&rule(), &h, 51);
        assert_eq!((c.median, c.mad, c.p90), (14.5, 7.0, 26.0));
        // z = 36.5 / 10.378 ≈ 3.52.
        assert!((c.z - 36.5 / (1.4826 * 7.0)).abs() < 1e-9);
        assert!(c.alert);
        // z ≈ 3.42: above P90 yet not above 3.5.
        let c = check(&rule(), &h, 50);
        assert!((c.z - 35.5 / (1.4826 * 7.0)).abs() < 1e-9);
        assert_eq!(c.reason, Reason::LowZ);
    }

    #[test]
    fn only_the_last_baseline_days_count() {
        // A busy month long ago does not raise today's bar.
        let mut h = vec![100; 40];
        h.extend([2; 28]);
        assert!(check(&rule(), &h, 12).alert);
    }

    #[test]
    fn too_few_days_is_no_alert_and_says_why() {
        let c = check(&rule(), &[1; 13], 90);
        assert!(!c.alert);
        assert_eq!(c.reason, Reason::TooFewDays { have: 13, need: 14 });
        assert_eq!(
            check(&rule(), &[], 5).reason,
            Reason::TooFewDays { have: 0, need: 14 }
        );
        assert!(check(&rule(), &[1; 14], 90).alert);
    }

    #[test]
    fn red_or_yellow_febrile_buyers_alert_green_or_afebrile_do_not() {
        let r = rule();
        assert!(febrile_alerts(&r, true, "red"));
        assert!(febrile_alerts(&r, true, "yellow"));
        assert!(!febrile_alerts(&r, true, "green"));
        assert!(!febrile_alerts(&r, false, "red"));
    }
}
