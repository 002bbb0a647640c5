//! 卡口: what a checkpoint decides about a passage, the hand-over of a 转运
//! to the destination grid, the matching window and plate numbers. Pure.

use serde::{Deserialize, Serialize};

/// The checkpoint's decision on one traveller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// 通行
    Pass,
    /// 采样后通行
    SampleThenPass,
    /// 采样留观
    SampleAndObserve,
    /// 劝返
    TurnedBack,
    /// 转运: handed over to the destination grid.
    Transfer,
}

impl Decision {
    pub const ALL: [Decision; 5] = [
        Decision::Pass,
        Decision::SampleThenPass,
        Decision::SampleAndObserve,
        Decision::TurnedBack,
        Decision::Transfer,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pass => "pass",
            Decision::SampleThenPass => "sample_then_pass",
            Decision::SampleAndObserve => "sample_and_observe",
            Decision::TurnedBack => "turned_back",
            Decision::Transfer => "transfer",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Decision::Pass => "通行",
            Decision::SampleThenPass => "采样后通行",
            Decision::SampleAndObserve => "采样留观",
            Decision::TurnedBack => "劝返",
            Decision::Transfer => "转运",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Decision::Pass => "Pass",
            Decision::SampleThenPass => "Sample, then pass",
            Decision::SampleAndObserve => "Sample and observe",
            Decision::TurnedBack => "Turned back",
            Decision::Transfer => "Transfer",
        }
    }
    /// Whether the traveller enters (and so is expected at the destination).
    pub fn enters(self) -> bool {
        self != Decision::TurnedBack
    }
}

/// A 转运 hand-over: 待接收 → 已派车 → 已接到 → 已交接, one step at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverState {
    Pending,
    Dispatched,
    PickedUp,
    HandedOver,
}

impl HandoverState {
    pub const ALL: [HandoverState; 4] = [
        HandoverState::Pending,
        HandoverState::Dispatched,
        HandoverState::PickedUp,
        HandoverState::HandedOver,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            HandoverState::Pending => "pending",
            HandoverState::Dispatched => "dispatched",
            HandoverState::PickedUp => "picked_up",
            HandoverState::HandedOver => "handed_over",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            HandoverState::Pending => "待接收",
            HandoverState::Dispatched => "已派车",
            HandoverState::PickedUp => "已接到",
            HandoverState::HandedOver => "已交接",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            HandoverState::Pending => "Awaiting pickup",
            HandoverState::Dispatched => "Vehicle sent",
            HandoverState::PickedUp => "Picked up",
            HandoverState::HandedOver => "Handed over",
        }
    }
    /// The one state that may follow this one.
    pub fn next(self) -> Option<Self> {
        match self {
            HandoverState::Pending => Some(HandoverState::Dispatched),
            HandoverState::Dispatched => Some(HandoverState::PickedUp),
            HandoverState::PickedUp => Some(HandoverState::HandedOver),
            HandoverState::HandedOver => None,
        }
    }
    /// Whether the pickup still owes (the deadline runs until picked up).
    pub fn awaiting_pickup(self) -> bool {
        matches!(self, HandoverState::Pending | HandoverState::Dispatched)
    }
}

/// A refused hand-over step: moving from `from` to `to` skips or goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTransition {
    pub from: HandoverState,
    pub to: HandoverState,
}

/// The hand-over moved to `to`, which must be the next state.
pub fn transition(from: HandoverState, to: HandoverState) -> Result<HandoverState, BadTransition> {
    if from.next() == Some(to) {
        Ok(to)
    } else {
        Err(BadTransition { from, to })
    }
}

/// `[checkpoint]` in the policy: how far back a declaration matches a
/// passage, and how soon the destination grid must pick up a 转运.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRule {
    pub match_window_hours: u32,
    pub pickup_within_minutes: u32,
}

impl Default for CheckpointRule {
    fn default() -> Self {
        CheckpointRule {
            match_window_hours: 72,
            pickup_within_minutes: 120,
        }
    }
}

impl CheckpointRule {
    /// A declaration received at `received_at` matches a passage at `at`
    /// when it came in the window before it (or at most as long after).
    pub fn matches(&self, received_at: i64, at: i64) -> bool {
        (received_at - at).abs() <= i64::from(self.match_window_hours) * 3600
    }
    /// The earliest receipt time that still matches a passage at `at`.
    pub fn match_since(&self, at: i64) -> i64 {
        at - i64::from(self.match_window_hours) * 3600
    }
    /// When a 转运 decided at `at` must be picked up.
    pub fn pickup_due(&self, at: i64) -> i64 {
        at + i64::from(self.pickup_within_minutes) * 60
    }
}

/// A mainland vehicle plate: a province character, a letter, then five
/// (ordinary) or six (new-energy) letters or digits; I and O are never used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plate(String);

const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

impl Plate {
    /// Parses a plate, ignoring spaces, dots and case: "浙g·12345" is 浙G12345.
    pub fn parse(raw: &str) -> Option<Plate> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '·' | '.' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let mut chars = s.chars();
        let province = chars.next()?;
        let city = chars.next()?;
        let rest: Vec<char> = chars.collect();
        let ok = PROVINCES.contains(province)
            && city.is_ascii_uppercase()
            && !matches!(city, 'I' | 'O')
            && (rest.len() == 5 || rest.len() == 6)
            && rest
                .iter()
                .all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !matches!(c, 'I' | 'O')));
        ok.then_some(Plate(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    #[test]
    fn the_hand_over_moves_one_step_at_a_time() {
        use HandoverState::*;
        assert_eq!(transition(Pending, Dispatched), Ok(Dispatched));
        assert_eq!(transition(Dispatched, PickedUp), Ok(PickedUp));
        assert_eq!(transition(PickedUp, HandedOver), Ok(HandedOver));
        for (from, to) in [
            (Pending, PickedUp),
            (Pending, HandedOver),
            (Dispatched, Pending),
            (HandedOver, Pending),
            (PickedUp, PickedUp),
        ] {
            assert_eq!(transition(from, to), Err(BadTransition { from, to }));
        }
        assert!(Pending.awaiting_pickup() && Dispatched.awaiting_pickup());
        assert!(!PickedUp.awaiting_pickup() && !HandedOver.awaiting_pickup());
    }

    #[test]
    fn decisions_and_states_round_trip() {
        for d in Decision::ALL {
            assert_eq!(Decision::parse(d.as_str()), Some(d));
        }
        for s in HandoverState::ALL {
            assert_eq!(HandoverState::parse(s.as_str()), Some(s));
        }
        assert_eq!(Decision::parse("通行"), None);
        assert!(!Decision::TurnedBack.enters() && Decision::Transfer.enters());
    }

    #[test]
    fn the_shipped_policy_matches_72_hours_and_picks_up_in_2() {
        let r = Policy::default_policy().checkpoint;
        assert_eq!((r.match_window_hours, r.pickup_within_minutes), (72, 120));
        let at = 1_643_335_200;
        assert!(r.matches(at - 72 * 3600, at));
        assert!(!r.matches(at - 72 * 3600 - 1, at));
        assert_eq!(r.match_since(at), at - 72 * 3600);
        assert_eq!(r.pickup_due(at), at + 7200);
        assert!(Policy::default_policy().venue_type("checkpoint").is_some());
    }

    #[test]
    fn plates() {
        assert_eq!(Plate::parse("浙G12345").unwrap().as_str(), "浙G12345");
        assert_eq!(Plate::parse(" 浙g·1234d ").unwrap().as_str(), "浙G1234D");
        assert_eq!(Plate::parse("京AD12345").unwrap().as_str(), "京AD12345");
        for bad in [
            "",
            "浙",
            "浙G1234",
            "浙G1234567",
            "XG12345",
            "浙112345",
            "浙I12345",
            "浙G1234O",
            "浙G12 34!",
        ] {
            assert_eq!(Plate::parse(bad), None, "{bad}");
        }
    }
}
