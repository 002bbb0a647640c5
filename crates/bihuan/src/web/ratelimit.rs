//! A fixed-window limit per client address for the public routes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl RateLimiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// True when this request from `ip` at unix second `now` is allowed.
    pub fn allow(&self, ip: IpAddr, now: i64) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let minute = now / 60;
        let mut w = self.windows.lock().expect("rate limiter lock");
        if w.len() > 100_000 {
            // Forget old windows so the map cannot grow without bound.
            w.retain(|_, (m, _)| *m == minute);
        }
        let entry = w.entry(ip).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_address_per_minute() {
        let l = RateLimiter::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(l.allow(a, 60));
        assert!(l.allow(a, 61));
        assert!(!l.allow(a, 62));
        assert!(l.allow(b, 62));
        assert!(l.allow(a, 120), "a new minute starts afresh");
        assert!(RateLimiter::new(0).allow(a, 0));
    }
}
