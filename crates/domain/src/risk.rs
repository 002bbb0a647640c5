//! The risk-area list: which places count, from when, until when.

use serde::{Deserialize, Serialize};

use crate::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    High,
    Medium,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::High => "high",
            RiskLevel::Medium => "medium",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "high" => Some(RiskLevel::High),
            "medium" => Some(RiskLevel::Medium),
            _ => None,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            RiskLevel::High => "高风险",
            RiskLevel::Medium => "中风险",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            RiskLevel::High => "high-risk",
            RiskLevel::Medium => "medium-risk",
        }
    }
}

/// One entry of the list. `since` is the first day from which presence counts;
/// `until` is set when the area is lifted (presence up to that day still counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskArea {
    pub id: i64,
    pub county: String,
    pub township: Option<String>,
    pub subarea: Option<String>,
    pub level: RiskLevel,
    pub since: Date,
    pub until: Option<Date>,
    /// The day the command published the entry; used to explain re-triage.
    pub listed_on: Date,
}

impl RiskArea {
    /// The exposure day of a presence `[from, to]` in this area: the last day of
    /// presence while the entry was in force, or `None` when they do not overlap.
    pub fn exposure(&self, from: Date, to: Date) -> Option<Date> {
        let end = match self.until {
            Some(until) => to.min(until),
            None => to,
        };
        (from <= end && to >= self.since).then_some(end)
    }

    /// True when the entry names the given township, or covers its whole county.
    pub fn covers_township(&self, township: Option<&str>) -> bool {
        match (&self.township, township) {
            (None, _) | (_, None) => true,
            (Some(a), Some(b)) => a == b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn area(since: &str, until: Option<&str>) -> RiskArea {
        RiskArea {
            id: 1,
            county: "110106".into(),
            township: Some("110106003".into()),
            subarea: None,
            level: RiskLevel::Medium,
            since: d(since),
            until: until.map(d),
            listed_on: d(since),
        }
    }

    #[test]
    fn presence_before_since_does_not_count() {
        let a = area("2022-01-15", None);
        assert_eq!(a.exposure(d("2022-01-10"), d("2022-01-14")), None);
        assert_eq!(
            a.exposure(d("2022-01-10"), d("2022-01-15")),
            Some(d("2022-01-15"))
        );
    }

    #[test]
    fn lifted_area_counts_only_up_to_until() {
        let a = area("2022-01-15", Some("2022-01-20"));
        assert_eq!(
            a.exposure(d("2022-01-18"), d("2022-01-25")),
            Some(d("2022-01-20"))
        );
        assert_eq!(a.exposure(d("2022-01-21"), d("2022-01-25")), None);
    }

    #[test]
    fn county_wide_entry_covers_every_township() {
        let mut a = area("2022-01-15", None);
        assert!(a.covers_township(Some("110106003")));
        assert!(!a.covers_township(Some("110106001")));
        assert!(a.covers_township(None));
        a.township = None;
        assert!(a.covers_township(Some("110106001")));
    }
}
