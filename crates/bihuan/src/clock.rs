//! Time as the system sees it. Tests and demos drive a manual clock instead.

use std::sync::Mutex;

use bihuan_domain::Date;
use chrono::{DateTime, FixedOffset, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Unix seconds.
    fn timestamp(&self) -> i64 {
        self.now().timestamp()
    }

    /// Today's civil date in Asia/Shanghai, where all policy dates live.
    fn today(&self) -> Date {
        shanghai(self.now()).date_naive()
    }
}

/// China has one offset all year and no daylight saving.
pub fn shanghai(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("valid offset"))
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().expect("clock lock");
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}
