//! 场所码: a venue's life (registered → approved by the town, or rejected),
//! the shape of its printed code, and what the entrance does with a colour.

use serde::Serialize;

use crate::policy::HealthCode;

/// A venue's state. Only approved venues have a poster and take check-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VenueState {
    Pending,
    Approved,
    Rejected,
}

impl VenueState {
    pub fn as_str(self) -> &'static str {
        match self {
            VenueState::Pending => "pending",
            VenueState::Approved => "approved",
            VenueState::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(VenueState::Pending),
            "approved" => Some(VenueState::Approved),
            "rejected" => Some(VenueState::Rejected),
            _ => None,
        }
    }

    /// The town decides once; a rejected venue registers again.
    pub fn decide(self, approve: bool) -> Option<VenueState> {
        match (self, approve) {
            (VenueState::Pending, true) => Some(VenueState::Approved),
            (VenueState::Pending, false) => Some(VenueState::Rejected),
            _ => None,
        }
    }
}

/// The venue code printed on the poster: `V{id}-{signature}`. The signature
/// (made by the server's key) keeps codes from being guessed or forged.
pub fn venue_code(id: i64, signature: &str) -> String {
    format!("V{id}-{signature}")
}

/// Splits a scanned code (or the URL that carries it) into id and signature.
pub fn parse_venue_code(scanned: &str) -> Option<(i64, &str)> {
    let s = scanned.trim();
    let s = s.rsplit('/').next().unwrap_or(s);
    let (id, sig) = s.strip_prefix('V')?.split_once('-')?;
    let id: i64 = id.parse().ok().filter(|i| *i > 0)?;
    let well_formed =
        !sig.is_empty() && sig.len() <= 64 && sig.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some((id, sig))
}

/// What the entrance does for a colour (亮码通行).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    Pass,
    Limited,
    Refused,
}

impl Entry {
    pub fn for_colour(colour: HealthCode) -> Entry {
        match colour {
            HealthCode::Green => Entry::Pass,
            HealthCode::Yellow => Entry::Limited,
            HealthCode::Red => Entry::Refused,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Entry::Pass => "绿码通行",
            Entry::Limited => "黄码限制",
            Entry::Refused => "红码禁止",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Entry::Pass => "green: enter",
            Entry::Limited => "yellow: limited entry",
            Entry::Refused => "red: entry refused",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_town_decides_a_pending_venue_once() {
        assert_eq!(VenueState::Pending.decide(true), Some(VenueState::Approved));
        assert_eq!(
            VenueState::Pending.decide(false),
            Some(VenueState::Rejected)
        );
        assert_eq!(VenueState::Approved.decide(false), None);
        assert_eq!(VenueState::Rejected.decide(true), None);
    }

    #[test]
    fn codes_read_back_from_the_code_or_its_url() {
        let code = venue_code(42, "a1b2c3");
        assert_eq!(parse_venue_code(&code), Some((42, "a1b2c3")));
        assert_eq!(
            parse_venue_code("https://bihuan.example/v/V42-a1b2c3"),
            Some((42, "a1b2c3"))
        );
        for bad in [
            "", "V", "V42", "V-abc", "V0-ab", "Vx-ab", "V42-", "V42-zz", "W42-ab",
        ] {
            assert_eq!(parse_venue_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_entrance_passes_green_limits_yellow_and_refuses_red() {
        assert_eq!(Entry::for_colour(HealthCode::Green), Entry::Pass);
        assert_eq!(Entry::for_colour(HealthCode::Yellow), Entry::Limited);
        assert_eq!(Entry::for_colour(HealthCode::Red), Entry::Refused);
        assert_eq!(Entry::Refused.label_zh(), "红码禁止");
    }
}
