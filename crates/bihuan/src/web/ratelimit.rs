//! A fixed-window limit per (route family, client address) for the public
//! routes, and who the client is behind a trusted reverse proxy.
//!
//! Each family has its own budget of `public_rate_limit` requests a minute
//! per client, so a burst of check-ins does not lock a city out of
//! declaring. The windows live in this process: with several replicas the
//! limit is per replica.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use axum::http::HeaderMap;

/// The public routes, by what they do: each has its own budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// 返永通: the declaration, page and API.
    Declare,
    /// What a receipt holder does: check-ins, help requests, ratings.
    Status,
    /// A 场所码 visit (the public check-in at a venue).
    Visit,
    /// Signing in, page and API.
    Login,
    /// 找回回执: asking for a code and using it.
    Recover,
}

/// Clients counted in one minute; past it, further new clients of a family
/// share one budget until the minute ends (memory stays bounded).
pub const MAX_CLIENTS_A_MINUTE: usize = 100_000;

pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<Windows>,
}

/// The counts of the current minute only: a new minute drops them all at
/// once, so no request pays for sweeping old ones.
#[derive(Default)]
struct Windows {
    minute: i64,
    counts: HashMap<(Family, IpAddr), u32>,
}

/// Who a client is, for counting: an IPv4 address, or an IPv6 /64 (one
/// subscriber's network: a host picks any address in it at will).
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        v4 => v4,
    }
}

impl RateLimiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            windows: Mutex::new(Windows::default()),
        }
    }

    /// True when this request of `family` from `ip` at unix second `now` is allowed.
    pub fn allow(&self, family: Family, ip: IpAddr, now: i64) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let minute = now.div_euclid(60);
        let mut w = self.windows.lock().expect("rate limiter lock");
        if w.minute != minute {
            w.minute = minute;
            w.counts.clear();
        }
        let mut key = (family, client_key(ip));
        if w.counts.len() >= MAX_CLIENTS_A_MINUTE && !w.counts.contains_key(&key) {
            key = (family, IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
        }
        let count = w.counts.entry(key).or_insert(0);
        *count = count.saturating_add(1);
        *count <= self.per_minute
    }

    #[cfg(test)]
    fn clients(&self) -> usize {
        self.windows.lock().unwrap().counts.len()
    }
}

/// An address or a CIDR block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    addr: IpAddr,
    prefix: u8,
}

impl Block {
    fn parse(s: &str) -> Option<Block> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Block { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The `trusted_proxies` setting: whose `X-Forwarded-For` / `X-Real-IP`
/// name the client.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<Block>);

impl TrustedProxies {
    /// Every entry must be an IP address or a CIDR block.
    pub fn parse(entries: &[String]) -> anyhow::Result<TrustedProxies> {
        entries
            .iter()
            .map(|e| {
                Block::parse(e).ok_or_else(|| {
                    anyhow::anyhow!("trusted_proxies: {e:?} is not an IP address or CIDR block")
                })
            })
            .collect::<anyhow::Result<_>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|b| b.contains(ip))
    }

    /// The client of a request that came from `peer`: the peer itself
    /// unless it is a trusted proxy; then the rightmost `X-Forwarded-For`
    /// hop that is not a trusted proxy (hops left of it could be typed by
    /// the client), else `X-Real-IP`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        if !hops.is_empty() {
            let mut client = peer;
            for hop in hops.iter().rev() {
                match hop.parse::<IpAddr>() {
                    Ok(ip) => {
                        client = ip.to_canonical();
                        if !self.trusts(client) {
                            break;
                        }
                    }
                    // Garbage from here on: the last hop we could read.
                    Err(_) => break,
                }
            }
            return client;
        }
        headers
            .get("x-real-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
            .map_or(peer, |ip| ip.to_canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_family_and_address_per_minute() {
        let l = RateLimiter::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(l.allow(Family::Declare, a, 60));
        assert!(l.allow(Family::Declare, a, 61));
        assert!(!l.allow(Family::Declare, a, 62));
        assert!(l.allow(Family::Status, a, 62), "another family's budget");
        assert!(l.allow(Family::Declare, b, 62));
        assert!(
            l.allow(Family::Declare, a, 120),
            "a new minute starts afresh"
        );
        assert!(RateLimiter::new(0).allow(Family::Login, a, 0));
    }

    #[test]
    fn an_ipv6_client_is_its_64() {
        let l = RateLimiter::new(2);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(l.allow(Family::Visit, ip("2001:db8:1:2::1"), 60));
        assert!(l.allow(Family::Visit, ip("2001:db8:1:2:ffff:1:2:3"), 60));
        assert!(
            !l.allow(Family::Visit, ip("2001:db8:1:2:abcd::9"), 60),
            "another address in the same /64"
        );
        assert!(
            l.allow(Family::Visit, ip("2001:db8:1:3::1"), 60),
            "the next /64 is another client"
        );
        // IPv4, also as an IPv4-mapped IPv6 address, is per address.
        assert!(l.allow(Family::Visit, ip("10.0.0.1"), 60));
        assert!(l.allow(Family::Visit, ip("::ffff:10.0.0.1"), 60));
        assert!(!l.allow(Family::Visit, ip("10.0.0.1"), 60));
        assert!(l.allow(Family::Visit, ip("10.0.0.2"), 60));
        assert_eq!(client_key(ip("10.0.0.1")), ip("10.0.0.1"));
        assert_eq!(client_key(ip("2001:db8::1:2:3:4")), ip("2001:db8::"));
    }

    #[test]
    fn old_minutes_are_dropped_at_once_and_clients_are_bounded() {
        let l = RateLimiter::new(1);
        for i in 0..1000u32 {
            assert!(l.allow(Family::Declare, IpAddr::from(i.to_be_bytes()), 60));
        }
        assert_eq!(l.clients(), 1000);
        // The next minute starts with nobody counted.
        assert!(l.allow(Family::Declare, "10.9.9.9".parse().unwrap(), 120));
        assert_eq!(l.clients(), 1);
        // Past the cap, new clients share one budget for the minute; the
        // ones already counted keep theirs.
        for i in 0..MAX_CLIENTS_A_MINUTE as u32 {
            l.allow(
                Family::Declare,
                IpAddr::from(((i + 1) << 8).to_be_bytes()),
                180,
            );
        }
        assert_eq!(l.clients(), MAX_CLIENTS_A_MINUTE);
        let late: IpAddr = "203.0.113.7".parse().unwrap();
        assert!(l.allow(Family::Declare, late, 180));
        assert!(!l.allow(Family::Declare, "203.0.113.8".parse().unwrap(), 180));
        assert_eq!(l.clients(), MAX_CLIENTS_A_MINUTE + 1);
        assert!(!l.allow(
            Family::Declare,
            IpAddr::from((1u32 << 8).to_be_bytes()),
            180
        ));
        assert!(l.allow(Family::Declare, late, 240), "a new minute");
        assert_eq!(l.clients(), 1);
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let t = TrustedProxies::parse(&["10.0.0.0/8".into(), "::1".into()]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let xff = headers(&[("x-forwarded-for", "6.6.6.6, 1.2.3.4, 10.1.1.1")]);
        assert_eq!(
            t.client(ip("8.8.8.8"), &xff),
            ip("8.8.8.8"),
            "untrusted peer"
        );
        assert_eq!(
            t.client(ip("10.0.0.5"), &xff),
            ip("1.2.3.4"),
            "rightmost untrusted hop"
        );
        assert_eq!(
            t.client(ip("::1"), &headers(&[("x-real-ip", "1.2.3.4")])),
            ip("1.2.3.4")
        );
        assert_eq!(
            t.client(
                ip("::ffff:10.0.0.5"),
                &headers(&[("x-forwarded-for", "junk")])
            ),
            ip("10.0.0.5")
        );
        assert_eq!(t.client(ip("10.0.0.5"), &HeaderMap::new()), ip("10.0.0.5"));
        assert!(TrustedProxies::parse(&["nginx".into()]).is_err());
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.5"), &xff), ip("10.0.0.5"));
    }
}
