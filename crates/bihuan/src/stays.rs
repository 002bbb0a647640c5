//! The in-memory stay index: every check-in, by venue and by person, so that
//! `contacts::trace` answers in microseconds instead of SQL round trips.
//!
//! The database stays the system of record. The index is built from the
//! `checkins` table at start ([`StayIndex::load`]) and caught up with rows
//! committed since ([`StayIndex::catch_up`]) before every trace, so each
//! replica answers exactly what the table holds.
//!
//! Catching up does not trust `id > max_seen` alone: PostgreSQL hands out
//! identity values at INSERT and transactions commit in any order, so a row
//! with a lower id can appear after a higher one was read. Ids skipped over
//! are kept as *holes* and re-asked for by id on every catch-up until they
//! appear or are older than the grace period (a rolled-back insert leaves a
//! permanent hole). A transaction that commits a check-in more than the grace
//! period (10 minutes) after inserting it is seen only at the next start.
//!
//! Layout: per venue, stays sorted by arrival in four classes by length (up
//! to 1 h, 4 h, 16 h, longer), so a query binary-searches each class from
//! `from - class bound`; per person, stays sorted by arrival. Times and ids
//! are `u32` (unix seconds until 2106; ids below 2^32); a stay that does not
//! fit goes to a small list scanned in full, so answers never change.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use bihuan_domain::contacts::{self, Bonds, Contact, Stay, Stays};
use bihuan_domain::policy::Policy;

use crate::error::Result;
use crate::storage::Db;
use crate::storage::checkins;

/// Upper bounds of the length classes (seconds); the last class is open.
const CLASS_BOUNDS: [i64; 3] = [3600, 4 * 3600, 16 * 3600];
/// Rows per page when reading check-ins.
const PAGE: i64 = 100_000;
/// A gap between consecutive ids wider than this is not tracked as holes
/// (explicit ids, a sequence restarted higher), only gaps up to it.
const MAX_GAP: i64 = 100_000;
/// At start, only gaps among the last this many ids may be in-flight inserts.
const LOAD_TAIL: i64 = 1_000_000;
/// How often the venue kinds are re-read in full (new venues every time).
const VENUE_REFRESH: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct VEntry {
    t_in: u32,
    t_out: u32,
    person: u32,
}

#[derive(Debug, Clone, Copy)]
struct PEntry {
    t_in: u32,
    t_out: u32,
    venue: u32,
}

#[derive(Debug, Default)]
struct VenueStays {
    classes: [Vec<VEntry>; 4],
    /// The longest stay of the open class.
    open_max: i64,
}

#[derive(Debug, Default)]
struct Inner {
    venues: HashMap<u32, VenueStays>,
    persons: HashMap<u32, Vec<PEntry>>,
    /// Stays whose times or ids do not fit in u32, scanned in full.
    odd: Vec<Stay>,
    len: usize,
    /// venue id -> kind, for the widening.
    kinds: HashMap<i64, String>,
}

fn class_of(len: i64) -> usize {
    CLASS_BOUNDS
        .iter()
        .position(|b| len <= *b)
        .unwrap_or(CLASS_BOUNDS.len())
}

impl Inner {
    /// Adds a stay; `sorted` false appends (call `sort` after a bulk load).
    fn add(&mut self, s: Stay, sorted: bool) {
        self.len += 1;
        let fits = |v: i64| u32::try_from(v).ok();
        let (Some(venue), Some(person), Some(t_in), Some(t_out)) =
            (fits(s.venue), fits(s.person), fits(s.t_in), fits(s.t_out))
        else {
            self.odd.push(s);
            return;
        };
        let len = s.t_out - s.t_in;
        let v = self.venues.entry(venue).or_default();
        let class = class_of(len);
        if class == CLASS_BOUNDS.len() {
            v.open_max = v.open_max.max(len);
        }
        let e = VEntry {
            t_in,
            t_out,
            person,
        };
        let list = &mut v.classes[class];
        if sorted {
            let at = list.partition_point(|x| x.t_in <= t_in);
            list.insert(at, e);
        } else {
            list.push(e);
        }
        let list = self.persons.entry(person).or_default();
        let e = PEntry { t_in, t_out, venue };
        if sorted {
            let at = list.partition_point(|x| x.t_in <= t_in);
            list.insert(at, e);
        } else {
            list.push(e);
        }
    }

    fn sort(&mut self) {
        for v in self.venues.values_mut() {
            for c in &mut v.classes {
                c.sort_unstable_by_key(|e| (e.t_in, e.t_out, e.person));
                c.shrink_to_fit();
            }
        }
        for p in self.persons.values_mut() {
            p.sort_unstable_by_key(|e| (e.t_in, e.t_out, e.venue));
            p.shrink_to_fit();
        }
        self.venues.shrink_to_fit();
        self.persons.shrink_to_fit();
    }

    fn bytes(&self) -> usize {
        use std::mem::size_of;
        // hashbrown: one control byte per bucket, buckets ~ capacity * 8/7.
        let map = |cap: usize, entry: usize| cap * 8 / 7 * (entry + 1);
        let mut b = map(self.venues.capacity(), size_of::<(u32, VenueStays)>())
            + map(self.persons.capacity(), size_of::<(u32, Vec<PEntry>)>())
            + self.odd.capacity() * size_of::<Stay>();
        for v in self.venues.values() {
            b += v
                .classes
                .iter()
                .map(|c| c.capacity() * size_of::<VEntry>())
                .sum::<usize>();
        }
        for p in self.persons.values() {
            b += p.capacity() * size_of::<PEntry>();
        }
        b
    }
}

impl Stays for Inner {
    fn of_person(&self, person: i64, from: i64, to: i64, out: &mut Vec<Stay>) {
        if let Some(list) = u32::try_from(person)
            .ok()
            .and_then(|p| self.persons.get(&p))
        {
            let end = list.partition_point(|e| i64::from(e.t_in) < to);
            out.extend(
                list[..end]
                    .iter()
                    .filter(|e| i64::from(e.t_out) > from)
                    .map(|e| Stay {
                        venue: i64::from(e.venue),
                        person,
                        t_in: i64::from(e.t_in),
                        t_out: i64::from(e.t_out),
                    }),
            );
        }
        out.extend(
            self.odd
                .iter()
                .filter(|s| s.person == person && s.t_in < to && s.t_out > from),
        );
    }

    fn at_venue(&self, venue: i64, from: i64, to: i64, out: &mut Vec<Stay>) {
        if let Some(v) = u32::try_from(venue).ok().and_then(|v| self.venues.get(&v)) {
            for (k, list) in v.classes.iter().enumerate() {
                let bound = CLASS_BOUNDS.get(k).copied().unwrap_or(v.open_max);
                // t_out > from and t_out - t_in <= bound  =>  t_in > from - bound
                let lo = from - bound;
                let start = list.partition_point(|e| i64::from(e.t_in) <= lo);
                let end = list.partition_point(|e| i64::from(e.t_in) < to);
                if start >= end {
                    continue;
                }
                out.extend(
                    list[start..end]
                        .iter()
                        .filter(|e| i64::from(e.t_out) > from)
                        .map(|e| Stay {
                            venue,
                            person: i64::from(e.person),
                            t_in: i64::from(e.t_in),
                            t_out: i64::from(e.t_out),
                        }),
                );
            }
        }
        out.extend(
            self.odd
                .iter()
                .filter(|s| s.venue == venue && s.t_in < to && s.t_out > from),
        );
    }
}

#[derive(Debug)]
struct Cursor {
    /// The highest id applied.
    max_id: i64,
    /// Ids below `max_id` not seen yet, with when they were first missed.
    holes: HashMap<i64, Instant>,
    max_venue: i64,
    venues_read: Option<Instant>,
}

/// Sizes, for logs and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    pub stays: usize,
    pub venues: usize,
    pub persons: usize,
    /// Heap bytes of the index's own structures (estimated from capacities).
    pub bytes: usize,
    /// Ids waiting to appear (see the module doc).
    pub holes: usize,
}

/// The stay index, shared by the use cases (`Arc<StayIndex>`).
#[derive(Debug)]
pub struct StayIndex {
    data: RwLock<Inner>,
    cursor: tokio::sync::Mutex<Cursor>,
    grace: Duration,
}

/// A read view of the index; implements [`Stays`] for `contacts::trace`.
pub struct StaysView<'a>(RwLockReadGuard<'a, Inner>);

impl Stays for StaysView<'_> {
    fn of_person(&self, person: i64, from: i64, to: i64, out: &mut Vec<Stay>) {
        self.0.of_person(person, from, to, out)
    }
    fn at_venue(&self, venue: i64, from: i64, to: i64, out: &mut Vec<Stay>) {
        self.0.at_venue(venue, from, to, out)
    }
}

impl StayIndex {
    /// An empty index that has seen nothing; `catch_up` fills it.
    pub fn empty() -> StayIndex {
        StayIndex {
            data: RwLock::new(Inner::default()),
            cursor: tokio::sync::Mutex::new(Cursor {
                max_id: 0,
                holes: HashMap::new(),
                max_venue: 0,
                venues_read: None,
            }),
            grace: Duration::from_secs(600),
        }
    }

    /// How long a missing id is waited for (default 10 minutes).
    pub fn with_grace(mut self, grace: Duration) -> StayIndex {
        self.grace = grace;
        self
    }

    /// Builds the index from every check-in in the database.
    pub async fn load(db: &Db) -> Result<Arc<StayIndex>> {
        let index = StayIndex::empty();
        {
            let mut conn = db.pool().acquire().await?;
            let top = checkins::max_checkin_id(&mut conn).await?;
            let mut inner = Inner::default();
            let mut cur = index.cursor.lock().await;
            let now = Instant::now();
            loop {
                let rows = checkins::stays_after(&mut conn, cur.max_id, PAGE).await?;
                let Some(last) = rows.last().map(|r| r.0) else {
                    break;
                };
                for (id, s) in rows {
                    if id > cur.max_id + 1 && id - cur.max_id <= MAX_GAP && id > top - LOAD_TAIL {
                        for h in (cur.max_id + 1).max(top - LOAD_TAIL)..id {
                            cur.holes.insert(h, now);
                        }
                    }
                    cur.max_id = id;
                    inner.add(s, false);
                }
                debug_assert_eq!(cur.max_id, last);
            }
            inner.sort();
            *index.data.write().expect("stay index lock") = inner;
        }
        index.catch_up(db).await?;
        Ok(Arc::new(index))
    }

    /// Applies the check-ins committed since the last call (and any missed
    /// ids that have appeared). Returns how many stays were added.
    pub async fn catch_up(&self, db: &Db) -> Result<usize> {
        let mut cur = self.cursor.lock().await;
        let mut conn = db.pool().acquire().await?;
        let now = Instant::now();
        let mut found = Vec::new();
        if !cur.holes.is_empty() {
            let ids: Vec<i64> = cur.holes.keys().copied().collect();
            for (id, s) in checkins::stays_by_ids(&mut conn, &ids).await? {
                if cur.holes.remove(&id).is_some() {
                    found.push(s);
                }
            }
            let grace = self.grace;
            cur.holes.retain(|_, t| now.duration_since(*t) < grace);
        }
        loop {
            let rows = checkins::stays_after(&mut conn, cur.max_id, PAGE).await?;
            let n = rows.len();
            for (id, s) in rows {
                if id > cur.max_id + 1 && id - cur.max_id <= MAX_GAP {
                    for h in cur.max_id + 1..id {
                        cur.holes.insert(h, now);
                    }
                }
                cur.max_id = id;
                found.push(s);
            }
            if (n as i64) < PAGE {
                break;
            }
        }
        // Venue kinds: new venues every time, all of them now and then.
        let full = cur
            .venues_read
            .is_none_or(|t| now.duration_since(t) >= VENUE_REFRESH);
        let kinds = if full {
            cur.venues_read = Some(now);
            checkins::venue_kinds_after(&mut conn, 0).await?
        } else {
            checkins::venue_kinds_after(&mut conn, cur.max_venue).await?
        };
        if let Some(m) = kinds.iter().map(|k| k.0).max() {
            cur.max_venue = cur.max_venue.max(m);
        }
        drop(conn);
        let added = found.len();
        if added > 0 || !kinds.is_empty() {
            let mut inner = self.data.write().expect("stay index lock");
            for s in found {
                inner.add(s, true);
            }
            inner.kinds.extend(kinds);
        }
        Ok(added)
    }

    /// A read view for `contacts::trace`. Do not hold it across an await.
    pub fn view(&self) -> StaysView<'_> {
        StaysView(self.data.read().expect("stay index lock"))
    }

    /// The widening of a venue in seconds, from its kind and the policy.
    pub fn widen(&self, policy: &Policy, venue: i64) -> i64 {
        let inner = self.data.read().expect("stay index lock");
        widen_of(&inner, policy, venue)
    }

    /// `contacts::trace` over the index, widening by the policy's venue
    /// types. Call `catch_up` first.
    pub fn trace(
        &self,
        policy: &Policy,
        case: i64,
        window: (i64, i64),
        bonds: &impl Bonds,
        secondary: bool,
    ) -> Vec<Contact> {
        let inner = self.data.read().expect("stay index lock");
        let widen = |v: i64| widen_of(&inner, policy, v);
        contacts::trace(case, window, &widen, &*inner, bonds, secondary)
    }

    pub async fn stats(&self) -> IndexStats {
        let holes = self.cursor.lock().await.holes.len();
        let inner = self.data.read().expect("stay index lock");
        IndexStats {
            stays: inner.len,
            venues: inner.venues.len(),
            persons: inner.persons.len(),
            bytes: inner.bytes(),
            holes,
        }
    }
}

fn widen_of(inner: &Inner, policy: &Policy, venue: i64) -> i64 {
    contacts::widen_seconds(
        inner
            .kinds
            .get(&venue)
            .and_then(|k| policy.venue_type(k))
            .map(|t| t.widen_minutes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bihuan_domain::contacts::{NoBonds, VecStays, trace};

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> i64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n) as i64
        }
    }

    fn sorted(mut v: Vec<Stay>) -> Vec<Stay> {
        v.sort_unstable();
        v
    }

    /// The index answers every query like a full scan, whether built in bulk
    /// or stay by stay, across length classes and odd (non-u32) stays.
    #[test]
    fn the_index_answers_like_a_scan() {
        for seed in 0..300u64 {
            let mut r = Rng(seed);
            let base = 1_642_000_000;
            let mut stays = Vec::new();
            for _ in 0..r.below(300) {
                let t_in = base + r.below(3 * 86_400);
                let len = match r.below(5) {
                    0 => r.below(3600),
                    1 => 3600 + r.below(4 * 3600),
                    2 => r.below(20 * 3600),
                    3 => r.below(3 * 86_400),
                    _ => 3600 * (1 + r.below(16)), // exactly on class bounds
                };
                let odd = r.below(20) == 0;
                stays.push(Stay {
                    venue: if odd { 1 << 40 } else { r.below(8) },
                    person: r.below(40),
                    t_in,
                    t_out: t_in + len,
                });
            }
            let mut bulk = Inner::default();
            let mut one = Inner::default();
            for s in &stays {
                bulk.add(*s, false);
                one.add(*s, true);
            }
            bulk.sort();
            let scan = VecStays(stays.clone());
            for _ in 0..50 {
                let from = base + r.below(4 * 86_400) - 86_400;
                let to = from + r.below(86_400);
                let venue = if r.below(10) == 0 {
                    1 << 40
                } else {
                    r.below(9)
                };
                let person = r.below(41);
                for idx in [&bulk, &one] {
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    idx.at_venue(venue, from, to, &mut a);
                    scan.at_venue(venue, from, to, &mut b);
                    assert_eq!(sorted(a), sorted(b), "seed {seed} venue");
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    idx.of_person(person, from, to, &mut a);
                    scan.of_person(person, from, to, &mut b);
                    assert_eq!(sorted(a), sorted(b), "seed {seed} person");
                }
                let case = r.below(40);
                let w = |v: i64| (v % 3) * 900;
                assert_eq!(
                    trace(case, (from, to), &w, &bulk, &NoBonds, true),
                    trace(case, (from, to), &w, &scan, &NoBonds, true),
                    "seed {seed} trace"
                );
            }
        }
    }
}
