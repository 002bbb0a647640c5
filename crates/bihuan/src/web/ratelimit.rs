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
}

pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<(Family, IpAddr), (i64, u32)>>,
}

impl RateLimiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// True when this request of `family` from `ip` at unix second `now` is allowed.
    pub fn allow(&self, family: Family, ip: IpAddr, now: i64) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let minute = now / 60;
        let mut w = self.windows.lock().expect("rate limiter lock");
        if w.len() > 100_000 {
            // Forget old windows so the map cannot grow without bound.
            w.retain(|_, (m, _)| *m == minute);
        }
        let entry = w.entry((family, ip.to_canonical())).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.per_minute
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
