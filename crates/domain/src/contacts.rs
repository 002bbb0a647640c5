//! 流调溯源: who was near a case (密接) and who was near them (次密接).
//!
//! Pure: the stays and the household / tube bonds come in through the
//! [`Stays`] and [`Bonds`] traits, the caller's clock through `now`.
//! Times are unix seconds; intervals are half-open `[in, out)`.
//!
//! The rules (issue 5 §3), and the edges decided here:
//!
//! - A **stay** is `[t_in, t_out)` at one venue. A stay without a leaving time
//!   lasts the venue type's typical stay ([`stay_end`]); a leaving time not
//!   after the arrival is treated as missing, so stored stays have a length.
//!   Midnight is nothing special (unix seconds).
//! - The **source interval** of a stay of the person traced from (the case, or
//!   for degree 2 the close contact) is the stay widened by the venue type's
//!   widening on each side, then clipped to the window: `[max(t_in - w, from),
//!   min(t_out + w, to))`. Only stays that themselves overlap the window are
//!   sources. Clipping matters for degree 2: a close contact is not a source
//!   before their last exposure.
//! - Another person's stay at the same venue is a **venue contact** when it
//!   overlaps a source interval for a positive time. Touching intervals
//!   (`a.out == b.in`) are not contacts, and zero-length stays never are. The
//!   link's `at` is the end of the overlap.
//! - **Household**: everyone at the same address ([`Bonds::household`]), at
//!   the end of the window (the exposure lasts while they live together).
//! - **Tube**: everyone pooled in the same tube at a sampling time inside the
//!   window (closed: `from <= at <= to`); `at` is the sampling time.
//! - **Degree 1** (密接): the case's contacts over its window; `via` is the
//!   case. `exposure_at` is the latest `at` of the person's links.
//! - **Degree 2** (次密接): for each close contact, their contacts over
//!   `(exposure_at, window end)` by the same rules; `via` is the close contact
//!   of the latest link (ties: the lowest person id).
//! - Nobody twice: the case never appears; a person appears once, at the
//!   lowest degree, with all their links of that degree (a close contact is
//!   never also secondary).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Widening used for a venue type the policy does not list (issue 5: 30 min).
pub const DEFAULT_WIDEN_MINUTES: u32 = 30;

/// One stay of one person at one venue, `[t_in, t_out)` in unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stay {
    pub venue: i64,
    pub person: i64,
    pub t_in: i64,
    pub t_out: i64,
}

/// Why a person is a contact of the person traced from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// Stays at the same venue overlapping. `case_in`/`case_out` is the stay
    /// of the person traced from (the case, or for degree 2 the close
    /// contact), unwidened; `overlap_*` is the overlap of the contact's stay
    /// with the widened, clipped source interval.
    Venue {
        venue: i64,
        case_in: i64,
        case_out: i64,
        contact_in: i64,
        contact_out: i64,
        overlap_from: i64,
        overlap_to: i64,
    },
    /// Same household (address).
    Household,
    /// Pooled in the same tube.
    Tube { tube: i64 },
}

/// One piece of evidence between `from` (the case for degree 1, the close
/// contact for degree 2) and the contact, exposed at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Link {
    pub at: i64,
    pub from: i64,
    pub evidence: Evidence,
}

/// A person found by tracing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub person: i64,
    /// 1 密接, 2 次密接.
    pub degree: u8,
    /// The case (degree 1) or the close contact of the latest link (degree 2).
    pub via: i64,
    /// The last exposure: the latest `at` of `links`.
    pub exposure_at: i64,
    /// Sorted by `(at, from, evidence)`.
    pub links: Vec<Link>,
}

/// Where stays come from (an in-memory index, or SQL).
///
/// Each method appends to `out` at least every stay overlapping `[from, to)`
/// (`t_in < to && t_out > from`); it may append more (a superset is filtered
/// by [`trace`]).
pub trait Stays {
    fn of_person(&self, person: i64, from: i64, to: i64, out: &mut Vec<Stay>);
    fn at_venue(&self, venue: i64, from: i64, to: i64, out: &mut Vec<Stay>);
}

/// The bonds that are not stays, supplied by the caller from the database.
pub trait Bonds {
    /// The other people at the person's address (the person may be included;
    /// it is ignored).
    fn household(&self, person: i64) -> Vec<i64>;
    /// `(person, tube, sampled at)` for everyone pooled with `person` in a
    /// tube sampled in `[from, to]` (the person itself may be included; a
    /// superset is filtered).
    fn tube_mates(&self, person: i64, from: i64, to: i64) -> Vec<(i64, i64, i64)>;
}

/// No household or tube bonds (venues only).
pub struct NoBonds;

impl Bonds for NoBonds {
    fn household(&self, _: i64) -> Vec<i64> {
        Vec::new()
    }
    fn tube_mates(&self, _: i64, _: i64, _: i64) -> Vec<(i64, i64, i64)> {
        Vec::new()
    }
}

/// The end of a stay: the leaving time given, or the arrival plus the venue
/// type's typical stay. A leaving time not after the arrival is taken as
/// missing, so every stay has a positive length (given `typical_minutes > 0`).
pub fn stay_end(t_in: i64, t_out: Option<i64>, typical_minutes: u32) -> i64 {
    match t_out {
        Some(t) if t > t_in => t,
        _ => t_in + i64::from(typical_minutes.max(1)) * 60,
    }
}

/// Seconds a venue type's stays are widened on each side.
pub fn widen_seconds(widen_minutes: Option<u32>) -> i64 {
    i64::from(widen_minutes.unwrap_or(DEFAULT_WIDEN_MINUTES)) * 60
}

/// The infectious window `[from, to)`: from `days_before` days before `start`
/// (symptom onset, or the first positive sample; pass the start of the day
/// if only the date is known) up to `now`. Never inverted: `to >= from`.
pub fn infectious_window(start: i64, days_before: u32, now: i64) -> (i64, i64) {
    let from = start - i64::from(days_before) * 86_400;
    (from, now.max(from))
}

/// The contacts of `case` over `window`, and with `secondary` their contacts,
/// sorted by `(degree, person)`. `widen(venue)` is the widening in seconds of
/// that venue's type.
pub fn trace(
    case: i64,
    window: (i64, i64),
    widen: &dyn Fn(i64) -> i64,
    stays: &impl Stays,
    bonds: &impl Bonds,
    secondary: bool,
) -> Vec<Contact> {
    let mut buf = Vec::new();
    let mut scratch = Vec::new();
    let mut first: BTreeMap<i64, Vec<Link>> = BTreeMap::new();
    let skip = |p: i64| p == case;
    contacts_of(
        case,
        window,
        widen,
        stays,
        bonds,
        &skip,
        &mut buf,
        &mut scratch,
        &mut first,
    );
    let mut out: Vec<Contact> = first
        .into_iter()
        .map(|(person, links)| contact(person, 1, links))
        .collect();
    if secondary {
        let close: BTreeSet<i64> = out.iter().map(|c| c.person).collect();
        let skip = |p: i64| p == case || close.contains(&p);
        let mut second: BTreeMap<i64, Vec<Link>> = BTreeMap::new();
        for c in &out {
            let w = (c.exposure_at, window.1.max(c.exposure_at));
            contacts_of(
                c.person,
                w,
                widen,
                stays,
                bonds,
                &skip,
                &mut buf,
                &mut scratch,
                &mut second,
            );
        }
        out.extend(
            second
                .into_iter()
                .map(|(person, links)| contact(person, 2, links)),
        );
    }
    out
}

fn contact(person: i64, degree: u8, mut links: Vec<Link>) -> Contact {
    links.sort_unstable();
    links.dedup();
    // The latest link; among equal times, the lowest `from`.
    let last = links
        .iter()
        .max_by_key(|l| (l.at, std::cmp::Reverse(l.from)))
        .expect("a contact has a link");
    Contact {
        person,
        degree,
        via: last.from,
        exposure_at: last.at,
        links,
    }
}

/// Adds the links of everyone `src` exposed over `[from, to)` to `found`,
/// skipping `skip`ped people and `src` itself.
#[allow(clippy::too_many_arguments)]
fn contacts_of(
    src: i64,
    (from, to): (i64, i64),
    widen: &dyn Fn(i64) -> i64,
    stays: &impl Stays,
    bonds: &impl Bonds,
    skip: &dyn Fn(i64) -> bool,
    buf: &mut Vec<Stay>,
    scratch: &mut Vec<Stay>,
    found: &mut BTreeMap<i64, Vec<Link>>,
) {
    let mut add = |person: i64, link: Link| {
        if person != src && !skip(person) {
            found.entry(person).or_default().push(link);
        }
    };
    buf.clear();
    stays.of_person(src, from, to, buf);
    for s in buf.iter() {
        if s.person != src || s.t_in >= to || s.t_out <= from || s.t_in >= s.t_out {
            continue;
        }
        let w = widen(s.venue).max(0);
        let lo = (s.t_in - w).max(from);
        let hi = (s.t_out + w).min(to);
        if lo >= hi {
            continue;
        }
        scratch.clear();
        stays.at_venue(s.venue, lo, hi, scratch);
        for b in scratch.iter() {
            if b.venue != s.venue {
                continue;
            }
            let (of, ot) = (lo.max(b.t_in), hi.min(b.t_out));
            if of < ot {
                add(
                    b.person,
                    Link {
                        at: ot,
                        from: src,
                        evidence: Evidence::Venue {
                            venue: s.venue,
                            case_in: s.t_in,
                            case_out: s.t_out,
                            contact_in: b.t_in,
                            contact_out: b.t_out,
                            overlap_from: of,
                            overlap_to: ot,
                        },
                    },
                );
            }
        }
    }
    for p in bonds.household(src) {
        add(
            p,
            Link {
                at: to,
                from: src,
                evidence: Evidence::Household,
            },
        );
    }
    for (p, tube, at) in bonds.tube_mates(src, from, to) {
        if (from..=to).contains(&at) {
            add(
                p,
                Link {
                    at,
                    from: src,
                    evidence: Evidence::Tube { tube },
                },
            );
        }
    }
}

/// Stays in a plain vector, scanned in full: for tests and tiny data.
#[derive(Debug, Default, Clone)]
pub struct VecStays(pub Vec<Stay>);

impl Stays for VecStays {
    fn of_person(&self, person: i64, from: i64, to: i64, out: &mut Vec<Stay>) {
        out.extend(
            self.0
                .iter()
                .filter(|s| s.person == person && s.t_in < to && s.t_out > from),
        );
    }
    fn at_venue(&self, venue: i64, from: i64, to: i64, out: &mut Vec<Stay>) {
        out.extend(
            self.0
                .iter()
                .filter(|s| s.venue == venue && s.t_in < to && s.t_out > from),
        );
    }
}

#[cfg(test)]
mod tests;
