//! 值班值守 and 指令: who is on duty at an hour, where an unanswered
//! instruction escalates, and how receipts add up per region.

use serde::Serialize;

use crate::Date;

/// A roster entry's shift: the day (08:00–20:00), the night (20:00 to 08:00
/// the next morning, filed under the evening's date), or the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shift {
    Day,
    Night,
    All,
}

pub const DAY_STARTS: u32 = 8;
pub const NIGHT_STARTS: u32 = 20;

impl Shift {
    pub fn parse(s: &str) -> Option<Shift> {
        match s {
            "day" => Some(Shift::Day),
            "night" => Some(Shift::Night),
            "all" => Some(Shift::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Shift::Day => "day",
            Shift::Night => "night",
            Shift::All => "all",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Shift::Day => "白班 08:00-20:00",
            Shift::Night => "夜班 20:00-次日08:00",
            Shift::All => "全天",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Shift::Day => "day 08:00-20:00",
            Shift::Night => "night 20:00-08:00",
            Shift::All => "all day",
        }
    }
}

/// The roster (date, shift) on duty at `date` `hour` (Asia/Shanghai): the
/// shifts to look for, most specific first. Before 08:00 it is still the
/// previous evening's night shift.
pub fn on_duty_at(date: Date, hour: u32) -> [(Date, Shift); 2] {
    if hour < DAY_STARTS {
        let yesterday = date.pred_opt().unwrap_or(date);
        [(yesterday, Shift::Night), (date, Shift::All)]
    } else if hour < NIGHT_STARTS {
        [(date, Shift::Day), (date, Shift::All)]
    } else {
        [(date, Shift::Night), (date, Shift::All)]
    }
}

/// Where an unacknowledged item escalates: the region one level up (a grid
/// to its village, a village to its town, a town to the city). The city has
/// nowhere further to go.
pub fn escalation_target(region: &str) -> Option<&str> {
    // `get`: a stored region that is not a code (not ASCII) has no parent,
    // rather than a panic in the job that escalates it.
    (region.len() > 6)
        .then(|| region.get(..region.len() - 3))
        .flatten()
}

/// One recipient's state, for the receipt rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub acknowledged: bool,
    pub answered: bool,
}

/// Receipt and answer counts of one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rates {
    pub recipients: u32,
    pub acknowledged: u32,
    pub answered: u32,
}

impl Rates {
    pub fn add(&mut self, r: Receipt) {
        self.recipients += 1;
        // An answer is a receipt too: nobody answers unread.
        self.acknowledged += u32::from(r.acknowledged || r.answered);
        self.answered += u32::from(r.answered);
    }

    /// Per cent, rounded down; 100 when nobody was asked.
    pub fn ack_percent(&self) -> u32 {
        percent(self.acknowledged, self.recipients)
    }

    pub fn answer_percent(&self) -> u32 {
        percent(self.answered, self.recipients)
    }
}

fn percent(n: u32, of: u32) -> u32 {
    (n * 100).checked_div(of).unwrap_or(100)
}

/// The region a recipient counts under on the sender's view: one level
/// below the sender's region (the sender's own region for its own staff).
pub fn rollup_region<'a>(sender_region: &str, recipient_region: &'a str) -> &'a str {
    let len = (sender_region.len() + 3).min(recipient_region.len());
    &recipient_region[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn the_night_shift_runs_past_midnight() {
        assert_eq!(
            on_duty_at(d("2022-01-28"), 7)[0],
            (d("2022-01-27"), Shift::Night)
        );
        assert_eq!(
            on_duty_at(d("2022-01-28"), 8)[0],
            (d("2022-01-28"), Shift::Day)
        );
        assert_eq!(
            on_duty_at(d("2022-01-28"), 19)[0],
            (d("2022-01-28"), Shift::Day)
        );
        assert_eq!(
            on_duty_at(d("2022-01-28"), 20)[0],
            (d("2022-01-28"), Shift::Night)
        );
        assert_eq!(
            on_duty_at(d("2022-01-28"), 3)[1],
            (d("2022-01-28"), Shift::All)
        );
    }

    #[test]
    fn escalation_goes_one_level_up_and_stops_at_the_city() {
        assert_eq!(escalation_target("330784001001001"), Some("330784001001"));
        assert_eq!(escalation_target("330784001001"), Some("330784001"));
        assert_eq!(escalation_target("330784001"), Some("330784"));
        assert_eq!(escalation_target("330784"), None);
        assert_eq!(
            escalation_target("3307840010一1"),
            None,
            "not a code: no panic"
        );
    }

    #[test]
    fn rates_count_an_answer_as_a_receipt() {
        let mut r = Rates::default();
        assert_eq!((r.ack_percent(), r.answer_percent()), (100, 100));
        r.add(Receipt {
            acknowledged: true,
            answered: false,
        });
        r.add(Receipt {
            acknowledged: false,
            answered: true,
        });
        r.add(Receipt {
            acknowledged: false,
            answered: false,
        });
        assert_eq!((r.recipients, r.acknowledged, r.answered), (3, 2, 1));
        assert_eq!((r.ack_percent(), r.answer_percent()), (66, 33));
    }

    #[test]
    fn recipients_roll_up_one_level_below_the_sender() {
        assert_eq!(rollup_region("330784", "330784001001001"), "330784001");
        assert_eq!(
            rollup_region("330784001", "330784001002003"),
            "330784001002"
        );
        assert_eq!(rollup_region("330784001", "330784001"), "330784001");
    }
}
