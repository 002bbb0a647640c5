use std::collections::{BTreeMap, BTreeSet};

use super::*;

const H: i64 = 3600;
const M: i64 = 60;
/// 2022-01-21 00:00 in Asia/Shanghai.
const MIDNIGHT: i64 = 1_642_694_400;

fn st(venue: i64, person: i64, t_in: i64, t_out: i64) -> Stay {
    Stay {
        venue,
        person,
        t_in,
        t_out,
    }
}

#[derive(Default)]
struct TestBonds {
    households: Vec<Vec<i64>>,
    /// (tube, sampled at, members)
    tubes: Vec<(i64, i64, Vec<i64>)>,
}

impl Bonds for TestBonds {
    fn household(&self, person: i64) -> Vec<i64> {
        self.households
            .iter()
            .filter(|h| h.contains(&person))
            .flatten()
            .copied()
            .collect()
    }
    fn tube_mates(&self, person: i64, from: i64, to: i64) -> Vec<(i64, i64, i64)> {
        let mut v = Vec::new();
        for (tube, at, members) in &self.tubes {
            if members.contains(&person) && *at >= from && *at <= to {
                v.extend(members.iter().map(|m| (*m, *tube, *at)));
            }
        }
        v
    }
}

fn flat(w: i64) -> impl Fn(i64) -> i64 {
    move |_| w
}

fn people(cs: &[Contact]) -> Vec<(i64, u8)> {
    cs.iter().map(|c| (c.person, c.degree)).collect()
}

fn run(stays: Vec<Stay>, case: i64, window: (i64, i64), w: i64, secondary: bool) -> Vec<Contact> {
    trace(
        case,
        window,
        &flat(w),
        &VecStays(stays),
        &NoBonds,
        secondary,
    )
}

#[test]
fn touching_intervals_are_not_contacts() {
    let stays = vec![
        st(1, 0, 100 * M, 200 * M),
        st(1, 1, 200 * M, 300 * M), // arrives as the case leaves
        st(1, 2, 0, 100 * M),       // leaves as the case arrives
        st(1, 3, 200 * M - 1, 300 * M),
    ];
    let cs = run(stays, 0, (0, 1000 * M), 0, false);
    assert_eq!(people(&cs), vec![(3, 1)]);
    let Evidence::Venue {
        overlap_from,
        overlap_to,
        ..
    } = cs[0].links[0].evidence
    else {
        panic!("venue evidence")
    };
    assert_eq!((overlap_from, overlap_to), (200 * M - 1, 200 * M));
    assert_eq!(cs[0].exposure_at, 200 * M);
}

#[test]
fn zero_length_stays_never_count() {
    let stays = vec![st(1, 0, 100 * M, 200 * M), st(1, 1, 150 * M, 150 * M)];
    assert!(run(stays.clone(), 0, (0, 1000 * M), 30 * M, false).is_empty());
    // nor as the case's own stay
    let stays = vec![st(1, 0, 150 * M, 150 * M), st(1, 1, 100 * M, 200 * M)];
    assert!(run(stays, 0, (0, 1000 * M), 30 * M, false).is_empty());
}

#[test]
fn the_widening_reaches_30_minutes_each_side_and_no_further() {
    let case = st(1, 0, 10 * H, 11 * H);
    let stays = vec![
        case,
        st(1, 1, 11 * H + 29 * M, 12 * H), // arrives 29 min after the case left
        st(1, 2, 11 * H + 30 * M, 12 * H), // 30 min after: touches the widening
        st(1, 3, 9 * H, 9 * H + 31 * M),   // left 29 min before the case came
        st(1, 4, 9 * H, 9 * H + 30 * M),   // left 30 min before
        st(2, 5, 10 * H, 11 * H),          // another venue, same time
    ];
    let cs = run(stays.clone(), 0, (0, 100 * H), 30 * M, false);
    assert_eq!(people(&cs), vec![(1, 1), (3, 1)]);
    // the overlap is measured against the widened stay
    assert_eq!(cs[0].exposure_at, 11 * H + 30 * M);
    assert_eq!(cs[1].exposure_at, 9 * H + 31 * M);
    // no widening: only real overlaps
    assert!(run(stays.clone(), 0, (0, 100 * H), 0, false).is_empty());
    // widening per venue type
    let per_venue = |v: i64| if v == 1 { 45 * M } else { 0 };
    let cs = trace(
        0,
        (0, 100 * H),
        &per_venue,
        &VecStays(stays),
        &NoBonds,
        false,
    );
    assert_eq!(people(&cs), vec![(1, 1), (2, 1), (3, 1), (4, 1)]);
}

#[test]
fn stays_across_midnight_are_plain_intervals() {
    let stays = vec![
        st(1, 0, MIDNIGHT - 30 * M, MIDNIGHT + 30 * M),
        st(1, 1, MIDNIGHT + 10 * M, MIDNIGHT + 2 * H),
        st(1, 2, MIDNIGHT - 3 * H, MIDNIGHT - 40 * M),
        st(1, 3, MIDNIGHT - 3 * H, MIDNIGHT - 2 * H),
    ];
    let cs = run(
        stays,
        0,
        (MIDNIGHT - 4 * 86_400, MIDNIGHT + 86_400),
        30 * M,
        false,
    );
    assert_eq!(people(&cs), vec![(1, 1), (2, 1)]);
    assert_eq!(cs[0].exposure_at, MIDNIGHT + 60 * M);
    assert_eq!(cs[1].exposure_at, MIDNIGHT - 40 * M);
}

#[test]
fn a_missing_leaving_time_lasts_the_typical_stay() {
    assert_eq!(stay_end(1000, None, 60), 1000 + H);
    assert_eq!(stay_end(1000, Some(1000 + 5 * M), 60), 1000 + 5 * M);
    // a leaving time not after the arrival is taken as missing
    assert_eq!(stay_end(1000, Some(1000), 60), 1000 + H);
    assert_eq!(stay_end(1000, Some(900), 60), 1000 + H);
    // a typical stay of 0 still gives a stay a length
    assert_eq!(stay_end(1000, None, 0), 1000 + M);
    // a contact who gave no leaving time overlaps for the typical stay
    let stays = vec![
        st(1, 0, 10 * H, 10 * H + 10 * M),
        st(1, 1, 9 * H, stay_end(9 * H, None, 60)),
        st(1, 2, 9 * H, stay_end(9 * H, Some(9 * H), 30)),
    ];
    let cs = run(stays, 0, (0, 100 * H), 0, false);
    assert!(cs.is_empty(), "an hour from 9:00 touches 10:00");
    let stays = vec![
        st(1, 0, 10 * H, 10 * H + 10 * M),
        st(1, 1, 9 * H + M, stay_end(9 * H + M, None, 60)),
    ];
    assert_eq!(people(&run(stays, 0, (0, 100 * H), 0, false)), vec![(1, 1)]);
    assert_eq!(widen_seconds(None), 30 * M);
    assert_eq!(widen_seconds(Some(10)), 10 * M);
}

#[test]
fn the_infectious_window() {
    let onset = MIDNIGHT + 10 * H;
    let now = onset + 2 * 86_400;
    assert_eq!(infectious_window(onset, 4, now), (onset - 4 * 86_400, now));
    assert_eq!(infectious_window(onset, 0, now), (onset, now));
    // never inverted
    assert_eq!(
        infectious_window(onset, 4, onset - 5 * 86_400),
        (onset - 4 * 86_400, onset - 4 * 86_400)
    );
    // the case's stays before the window are not traced; one straddling its
    // start counts from the start
    let (from, to) = infectious_window(onset, 4, now);
    let stays = vec![
        st(1, 0, from - 3 * H, from - H),
        st(1, 1, from - 3 * H, from - H),
        st(2, 0, from - H, from + H),
        st(2, 2, from - 2 * H, from - 10 * M), // only before the window
        st(2, 3, from + 50 * M, from + 2 * H),
        st(3, 0, now - H, now + H), // the window ends now
        st(3, 4, now + 10 * M, now + 2 * H),
        st(3, 5, now - 10 * M, now + 2 * H),
    ];
    let cs = run(stays, 0, (from, to), 30 * M, false);
    assert_eq!(people(&cs), vec![(3, 1), (5, 1)]);
    assert_eq!(cs[1].exposure_at, now);
}

#[test]
fn household_and_tube_contacts() {
    let bonds = TestBonds {
        households: vec![vec![0, 1, 2], vec![3, 4]],
        tubes: vec![
            (70, 5 * H, vec![0, 5, 6]),
            (71, 500 * H, vec![0, 7]), // sampled after the window
            (72, 6 * H, vec![3, 8]),
        ],
    };
    let stays = VecStays(vec![st(1, 0, 10 * H, 11 * H), st(1, 1, 10 * H, 11 * H)]);
    let cs = trace(0, (0, 100 * H), &flat(0), &stays, &bonds, false);
    assert_eq!(people(&cs), vec![(1, 1), (2, 1), (5, 1), (6, 1)]);
    // person 1: a venue link and the household link, once
    assert_eq!(cs[0].links.len(), 2);
    assert_eq!(cs[0].links[1].evidence, Evidence::Household);
    assert_eq!(cs[0].exposure_at, 100 * H);
    assert_eq!(cs[2].links[0].evidence, Evidence::Tube { tube: 70 });
    assert_eq!(cs[2].exposure_at, 5 * H);
    assert!(cs.iter().all(|c| c.via == 0));
}

#[test]
fn secondary_contacts_count_from_the_last_exposure() {
    // 1 meets the case at venue 1 (ending 11:00) and venue 2 (ending 15:00).
    // Before 15:00 1 met 10 (venue 5, 12:00-13:00) and 11 (before any
    // exposure); after, 12 (venue 6) and 13 (venue 5 again).
    let stays = vec![
        st(1, 0, 10 * H, 11 * H),
        st(1, 1, 10 * H, 11 * H),
        st(2, 0, 14 * H, 15 * H),
        st(2, 1, 14 * H, 16 * H),
        st(5, 1, 12 * H, 13 * H),
        st(5, 10, 12 * H, 13 * H),
        st(5, 1, 8 * H, 9 * H),
        st(5, 11, 8 * H, 9 * H),
        st(6, 1, 17 * H, 18 * H),
        st(6, 12, 17 * H + 30 * M, 19 * H),
        st(5, 1, 20 * H, 21 * H),
        st(5, 13, 19 * H, 20 * H + M),
        // venue 2 after the case left: 14 overlaps 1's stay after 15:00
        st(2, 14, 15 * H + 30 * M, 17 * H),
    ];
    let cs = run(stays.clone(), 0, (0, 100 * H), 0, true);
    assert_eq!(people(&cs), vec![(1, 1), (12, 2), (13, 2), (14, 2)]);
    assert_eq!(cs[0].exposure_at, 15 * H);
    assert_eq!(cs[0].links.len(), 2);
    assert!(cs[1..].iter().all(|c| c.via == 1));
    assert_eq!(cs[1].exposure_at, 18 * H);
    // secondary off
    assert_eq!(people(&run(stays, 0, (0, 100 * H), 0, false)), vec![(1, 1)]);
}

#[test]
fn nobody_is_counted_twice() {
    // 1 and 2 both meet the case; 2 is also 1's contact later (stays
    // degree 1); 3 is met by both 1 and 2 (one degree-2 entry, two links);
    // the case meets 1 again later (never a contact of itself).
    let bonds = TestBonds {
        households: vec![vec![1, 2]],
        tubes: vec![],
    };
    let stays = VecStays(vec![
        st(1, 0, 10 * H, 11 * H),
        st(1, 1, 10 * H, 11 * H),
        st(1, 2, 10 * H, 11 * H),
        st(2, 1, 12 * H, 13 * H),
        st(2, 2, 12 * H, 13 * H),
        st(2, 3, 12 * H, 13 * H),
        st(2, 0, 12 * H, 13 * H),
    ]);
    let cs = trace(0, (0, 100 * H), &flat(0), &stays, &bonds, true);
    assert_eq!(people(&cs), vec![(1, 1), (2, 1), (3, 1)]);
    // without the case at venue 2, 3 is secondary via both 1 and 2, once
    let mut v = stays.0.clone();
    v.pop();
    let cs = trace(0, (0, 100 * H), &flat(0), &VecStays(v), &bonds, true);
    assert_eq!(people(&cs), vec![(1, 1), (2, 1), (3, 2)]);
    assert_eq!(cs[2].links.len(), 2);
    assert_eq!(cs[2].via, 1, "equal exposures: the lowest close contact");
    assert!(cs.iter().all(|c| c.person != 0));
    let set: BTreeSet<i64> = cs.iter().map(|c| c.person).collect();
    assert_eq!(set.len(), cs.len());
}

// ---- property test: trace == a brute-force scan over random data ----

/// SplitMix64: a small seeded generator, so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

/// Returns every stay, whatever is asked: `trace` must filter.
struct AllStays(Vec<Stay>);

impl Stays for AllStays {
    fn of_person(&self, _: i64, _: i64, _: i64, out: &mut Vec<Stay>) {
        out.extend_from_slice(&self.0);
    }
    fn at_venue(&self, _: i64, _: i64, _: i64, out: &mut Vec<Stay>) {
        out.extend_from_slice(&self.0);
    }
}

/// The rules, read straight off the module doc, by scanning everything.
fn brute(
    case: i64,
    (from, to): (i64, i64),
    widen: &dyn Fn(i64) -> i64,
    all: &[Stay],
    bonds: &TestBonds,
    secondary: bool,
) -> Vec<(i64, u8, i64, i64, BTreeSet<Link>)> {
    let links_of = |src: i64, from: i64, to: i64| {
        let mut found: Vec<(i64, Link)> = Vec::new();
        for a in all {
            if a.person != src || !(a.t_in < to && a.t_out > from && a.t_in < a.t_out) {
                continue;
            }
            let w = widen(a.venue);
            let (lo, hi) = ((a.t_in - w).max(from), (a.t_out + w).min(to));
            for b in all {
                let (of, ot) = (lo.max(b.t_in), hi.min(b.t_out));
                if b.venue == a.venue && b.person != src && of < ot {
                    let evidence = Evidence::Venue {
                        venue: a.venue,
                        case_in: a.t_in,
                        case_out: a.t_out,
                        contact_in: b.t_in,
                        contact_out: b.t_out,
                        overlap_from: of,
                        overlap_to: ot,
                    };
                    found.push((
                        b.person,
                        Link {
                            at: ot,
                            from: src,
                            evidence,
                        },
                    ));
                }
            }
        }
        for h in &bonds.households {
            if h.contains(&src) {
                for p in h.iter().filter(|p| **p != src) {
                    let evidence = Evidence::Household;
                    found.push((
                        *p,
                        Link {
                            at: to,
                            from: src,
                            evidence,
                        },
                    ));
                }
            }
        }
        for (tube, at, members) in &bonds.tubes {
            if members.contains(&src) && from <= *at && *at <= to {
                for p in members.iter().filter(|p| **p != src) {
                    let evidence = Evidence::Tube { tube: *tube };
                    found.push((
                        *p,
                        Link {
                            at: *at,
                            from: src,
                            evidence,
                        },
                    ));
                }
            }
        }
        found
    };
    let summarise = |found: Vec<(i64, Link)>, degree: u8, skip: &BTreeSet<i64>| {
        let mut by: BTreeMap<i64, BTreeSet<Link>> = BTreeMap::new();
        for (p, l) in found {
            if !skip.contains(&p) {
                by.entry(p).or_default().insert(l);
            }
        }
        by.into_iter()
            .map(|(p, ls)| {
                let at = ls.iter().map(|l| l.at).max().unwrap();
                let via = ls
                    .iter()
                    .filter(|l| l.at == at)
                    .map(|l| l.from)
                    .min()
                    .unwrap();
                (p, degree, via, at, ls)
            })
            .collect::<Vec<_>>()
    };
    let mut out = summarise(links_of(case, from, to), 1, &BTreeSet::from([case]));
    if secondary {
        let mut skip: BTreeSet<i64> = out.iter().map(|c| c.0).collect();
        skip.insert(case);
        let mut found = Vec::new();
        for c in &out {
            found.extend(links_of(c.0, c.3, to.max(c.3)));
        }
        out.extend(summarise(found, 2, &skip));
    }
    out
}

#[test]
fn trace_equals_a_brute_force_scan_on_random_data() {
    let mut nonempty = 0;
    let mut seconds = 0;
    for seed in 0..3000u64 {
        let mut r = Rng(seed);
        let persons = 2 + r.below(40);
        let venues = 1 + r.below(6);
        let span = 50 + r.below(400);
        let n = r.below(80) as usize;
        let mut stays = Vec::with_capacity(n);
        for _ in 0..n {
            let t_in = r.below(span as u64);
            // zero-length, touching and long stays all occur
            let len = match r.below(4) {
                0 => 0,
                1 => 10,
                _ => r.below(60),
            };
            stays.push(st(
                r.below(venues as u64),
                r.below(persons as u64),
                t_in,
                t_in + len,
            ));
        }
        let mut bonds = TestBonds::default();
        for _ in 0..r.below(4) {
            bonds.households.push(
                (0..1 + r.below(3))
                    .map(|_| r.below(persons as u64))
                    .collect(),
            );
        }
        for tube in 0..r.below(4) {
            bonds.tubes.push((
                tube,
                r.below(span as u64),
                (0..1 + r.below(4))
                    .map(|_| r.below(persons as u64))
                    .collect(),
            ));
        }
        let w0 = r.below(15);
        let widen = move |v: i64| if v % 2 == 0 { w0 } else { w0 / 2 };
        let case = r.below(persons as u64);
        let from = r.below(span as u64 / 2);
        let window = (from, from + r.below(span as u64));
        let secondary = r.below(3) != 0;

        let want = brute(case, window, &widen, &stays, &bonds, secondary);
        for got in [
            trace(
                case,
                window,
                &widen,
                &VecStays(stays.clone()),
                &bonds,
                secondary,
            ),
            trace(
                case,
                window,
                &widen,
                &AllStays(stays.clone()),
                &bonds,
                secondary,
            ),
        ] {
            let got: Vec<_> = got
                .into_iter()
                .map(|c| {
                    assert!(c.links.windows(2).all(|w| w[0] < w[1]), "seed {seed}");
                    let links: BTreeSet<Link> = c.links.into_iter().collect();
                    (c.person, c.degree, c.via, c.exposure_at, links)
                })
                .collect();
            assert_eq!(got, want, "seed {seed}");
        }
        nonempty += usize::from(!want.is_empty());
        seconds += usize::from(want.iter().any(|c| c.1 == 2));
    }
    // the generator exercises both degrees
    assert!(nonempty > 1000 && seconds > 300, "{nonempty} {seconds}");
}
