//! `bihuan bench tracing`: check-ins for a city (1,000,000 people at 20,000
//! venues over 14 days), ingest through the real insert path, the stay index
//! built from PostgreSQL, and first / second degree contacts timed on the
//! index and in plain SQL on the same data, answers compared.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bihuan_domain::contacts::NoBonds;
use bihuan_domain::policy::Policy;
use sqlx::{Connection, Executor};

use crate::stays::StayIndex;
use crate::storage::Db;
use crate::storage::checkins::{self, NewCheckin, WidenByKind};

pub struct TracingOptions {
    pub persons: i64,
    pub venues: i64,
    pub days: i64,
    /// Stays per person per day (1 gives 14M stays for the defaults).
    pub per_day: f64,
    /// Share of visits that go to the busiest 1 % of venues (0: uniform).
    pub hot: f64,
    /// Check-ins inserted through `insert_checkins`, timed.
    pub ingest: usize,
    pub ingest_batch: usize,
    pub ingest_tasks: usize,
    pub cases: usize,
    /// A PostgreSQL server URL (its database is used to create a new one).
    pub database_url: String,
    /// Reuse this database (made by an earlier run with --keep).
    pub reuse: Option<String>,
    pub keep: bool,
}

/// 2022-01-14 00:00 Asia/Shanghai: day 0 of the generated check-ins.
const START: i64 = 1_642_089_600;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: i64) -> i64 {
        (self.next() % n.max(1) as u64) as i64
    }
}

/// One generated stay: venue, person, arrival, leaving.
fn stay(r: &mut Rng, o: &TracingOptions, typical: &[i64], day: i64, person: i64) -> [i64; 4] {
    // Optionally a few venues are busy: `hot` of visits go to 1 % of them.
    let venue = if (r.below(1_000_000) as f64) < o.hot * 1e6 {
        1 + r.below((o.venues / 100).max(1))
    } else {
        1 + r.below(o.venues)
    };
    let t_in = START + day * 86_400 + 6 * 3600 + r.below(17 * 3600);
    let typ = typical[(venue as usize) % typical.len()];
    let len = 300 + r.below(2 * typ);
    [venue, person, t_in, t_in + len]
}

fn rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, ""), |(b, q)| (b, q));
    let host = base.find("://").map_or(0, |i| i + 3);
    let cut = base[host..].find('/').map_or(base.len(), |i| host + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{name}{query}", &base[..cut])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn run(o: TracingOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        o.database_url.starts_with("postgres://") || o.database_url.starts_with("postgresql://"),
        "bench tracing runs on PostgreSQL: pass --database-url postgres://…"
    );
    let policy = Policy::default_policy();
    let typical: Vec<i64> = policy
        .venue_types
        .iter()
        .map(|t| i64::from(t.typical_stay_minutes) * 60)
        .collect();
    anyhow::ensure!(!typical.is_empty(), "the policy lists no venue types");
    let name = o
        .reuse
        .clone()
        .unwrap_or_else(|| format!("bihuan_bench_tracing_{}", crate::crypto::token(4)));
    let url = with_database(&o.database_url, &name);
    println!(
        "database {name}: {} people, {} venues, {} days, {} stays/person/day, {:.0} % of visits to 1 % of venues",
        o.persons,
        o.venues,
        o.days,
        o.per_day,
        o.hot * 100.0
    );
    if o.reuse.is_none() {
        let mut admin = sqlx::PgConnection::connect(&o.database_url).await?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        admin.close().await?;
    }
    let db = Db::connect(&url).await?;
    let result = bench(&o, &policy, &typical, &db, &url).await;
    db.pool().close().await;
    if !o.keep {
        let mut admin = sqlx::PgConnection::connect(&o.database_url).await?;
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await?;
    } else {
        println!("kept database {name} (--reuse {name})");
    }
    result
}

async fn bench(
    o: &TracingOptions,
    policy: &Policy,
    typical: &[i64],
    db: &Db,
    url: &str,
) -> anyhow::Result<()> {
    let mut pg = sqlx::PgConnection::connect(url).await?;
    let days = o.days;
    let end = START + days * 86_400;
    if o.reuse.is_none() {
        let t = Instant::now();
        // People and venues.
        let mut copy = pg
            .copy_in_raw(
                "COPY persons (id, doc_type, doc_lookup, doc_enc, doc_masked, name, phone_enc, \
                 phone_masked, region, created_at, updated_at) FROM STDIN",
            )
            .await?;
        let mut buf = String::new();
        for p in 1..=o.persons {
            buf.push_str(&format!("{p}\tid\tk{p}\t-\t-\t-\t-\t-\t330784\t0\t0\n"));
            if buf.len() > 1 << 20 {
                copy.send(std::mem::take(&mut buf).into_bytes()).await?;
            }
        }
        copy.send(buf.into_bytes()).await?;
        copy.finish().await?;
        let mut copy = pg
            .copy_in_raw(
                "COPY venues (id, code, name, kind, region, address, state, created_by, \
                 created_at) FROM STDIN",
            )
            .await?;
        let mut buf = String::new();
        for v in 1..=o.venues {
            let kind = &policy.venue_types[(v as usize) % typical.len()].name;
            buf.push_str(&format!(
                "{v}\tv{v}\tvenue {v}\t{kind}\t330784\t-\tapproved\tbench\t0\n"
            ));
        }
        copy.send(buf.into_bytes()).await?;
        copy.finish().await?;
        println!(
            "people {} and venues {} in {:.1} s",
            o.persons,
            o.venues,
            t.elapsed().as_secs_f64()
        );
        // The bulk of the stays by COPY, indexes and keys made afterwards.
        let t = Instant::now();
        for s in [
            "DROP INDEX checkins_venue_time",
            "DROP INDEX checkins_person_time",
            "ALTER TABLE checkins DROP CONSTRAINT checkins_venue_id_fkey",
            "ALTER TABLE checkins DROP CONSTRAINT checkins_person_id_fkey",
        ] {
            pg.execute(s).await?;
        }
        let mut copy = pg
            .copy_in_raw(
                "COPY checkins (venue_id, person_id, t_in, t_out, left_given, source, created_at) \
                 FROM STDIN",
            )
            .await?;
        let mut r = Rng(42);
        let mut n = 0u64;
        let mut buf = String::with_capacity(1 << 21);
        let whole = o.per_day.floor() as i64;
        let frac = ((o.per_day - whole as f64) * 1e6) as i64;
        for day in 0..days {
            for person in 1..=o.persons {
                let k = whole + i64::from(r.below(1_000_000) < frac);
                for _ in 0..k {
                    let [v, p, a, b] = stay(&mut r, o, typical, day, person);
                    buf.push_str(&format!("{v}\t{p}\t{a}\t{b}\t1\tbench\t{a}\n"));
                    n += 1;
                }
                if buf.len() > 1 << 21 {
                    copy.send(std::mem::take(&mut buf).into_bytes()).await?;
                    buf.reserve(1 << 21);
                }
            }
        }
        copy.send(buf.into_bytes()).await?;
        copy.finish().await?;
        let copied = t.elapsed();
        let t = Instant::now();
        for s in [
            "SET maintenance_work_mem = '1GB'",
            "CREATE INDEX checkins_venue_time ON checkins (venue_id, t_in) INCLUDE (t_out, person_id)",
            "CREATE INDEX checkins_person_time ON checkins (person_id, t_in)",
            "ALTER TABLE checkins ADD CONSTRAINT checkins_venue_id_fkey FOREIGN KEY (venue_id) REFERENCES venues (id)",
            "ALTER TABLE checkins ADD CONSTRAINT checkins_person_id_fkey FOREIGN KEY (person_id) REFERENCES persons (id)",
            "VACUUM ANALYZE checkins",
            "VACUUM ANALYZE venues",
            "VACUUM ANALYZE persons",
        ] {
            pg.execute(s).await?;
        }
        println!(
            "stays {n} by COPY in {:.1} s; indexes, keys, VACUUM ANALYZE in {:.1} s",
            copied.as_secs_f64(),
            t.elapsed().as_secs_f64()
        );
    }
    let size: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('checkins')")
        .fetch_one(&mut pg)
        .await?;
    println!("checkins table with indexes: {:.2} GB", size as f64 / 1e9);

    // Build the index from PostgreSQL.
    let rss0 = rss_kib();
    let t = Instant::now();
    let index = StayIndex::load(db).await?;
    let load = t.elapsed();
    let st = index.stats().await;
    let rss1 = rss_kib();
    println!(
        "index built from PostgreSQL: {} stays, {} venues, {} people in {:.1} s; \
         {:.0} MB ({:.1} bytes/stay), process RSS +{:.0} MB (now {:.0} MB)",
        st.stays,
        st.venues,
        st.persons,
        load.as_secs_f64(),
        st.bytes as f64 / 1e6,
        st.bytes as f64 / st.stays.max(1) as f64,
        (rss1 - rss0) as f64 / 1024.0,
        rss1 as f64 / 1024.0
    );

    // Ingest through the real insert path: Db::write + insert_checkins, with
    // every index and key in place, from concurrent tasks.
    if o.ingest > 0 {
        let per_task = o.ingest / o.ingest_tasks.max(1);
        let t = Instant::now();
        let mut tasks = Vec::new();
        for k in 0..o.ingest_tasks.max(1) {
            let db = db.clone();
            let (persons, venues, batch) = (o.persons, o.venues, o.ingest_batch.max(1));
            let typical = typical.to_vec();
            tasks.push(tokio::spawn(async move {
                let mut r = Rng(1000 + k as u64);
                let mut left = per_task;
                while left > 0 {
                    let n = left.min(batch);
                    left -= n;
                    let rows: Vec<NewCheckin> = (0..n)
                        .map(|_| {
                            let t_in = end - 3600 + r.below(3600);
                            let v = 1 + r.below(venues);
                            NewCheckin {
                                venue_id: v,
                                person_id: 1 + r.below(persons),
                                t_in,
                                t_out: t_in + typical[(v as usize) % typical.len()],
                                left_given: false,
                                helper_id: None,
                                source: "scan".into(),
                                created_at: t_in,
                            }
                        })
                        .collect();
                    db.write(move |c| {
                        Box::pin(async move { checkins::insert_checkins(c, &rows).await })
                    })
                    .await?;
                }
                Ok::<_, crate::error::Error>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        let el = t.elapsed();
        let n = per_task * o.ingest_tasks.max(1);
        println!(
            "ingest: {n} check-ins through insert_checkins ({} tasks, {} per transaction) in {:.2} s = {:.0}/s",
            o.ingest_tasks,
            o.ingest_batch,
            el.as_secs_f64(),
            n as f64 / el.as_secs_f64()
        );
        let t = Instant::now();
        let added = index.catch_up(db).await?;
        println!(
            "catch_up after ingest: {added} stays in {:.0} ms",
            ms(t.elapsed())
        );
        let t = Instant::now();
        index.catch_up(db).await?;
        println!("catch_up with nothing new: {:.2} ms", ms(t.elapsed()));
    }

    // Cases: people with stays in the last days; window = 4 days to the end.
    let mut c = db.pool().acquire().await?;
    let longest = checkins::longest_stay(&mut c).await?;
    let widen = WidenByKind {
        kinds: policy
            .venue_types
            .iter()
            .map(|t| (t.name.clone(), i64::from(t.widen_minutes) * 60))
            .collect(),
        default: i64::from(bihuan_domain::contacts::DEFAULT_WIDEN_MINUTES) * 60,
    };
    let window = (end - 4 * 86_400, end);
    let mut r = Rng(7);
    let cases: Vec<i64> = (0..o.cases).map(|_| 1 + r.below(o.persons)).collect();

    let mut report = Vec::new();
    for secondary in [false, true] {
        let label = if secondary {
            "second degree"
        } else {
            "first degree"
        };
        // warm both
        for case in cases.iter().take(20) {
            index.trace(policy, *case, window, &NoBonds, secondary);
            checkins::contacts_sql(&mut c, *case, window, &widen, longest, secondary).await?;
        }
        let (mut ti, mut tp) = (Vec::new(), Vec::new());
        let (mut mismatches, mut found, mut d2) = (0, 0usize, 0usize);
        for case in &cases {
            let t = Instant::now();
            let mine = index.trace(policy, *case, window, &NoBonds, secondary);
            ti.push(t.elapsed());
            let t = Instant::now();
            let sql =
                checkins::contacts_sql(&mut c, *case, window, &widen, longest, secondary).await?;
            tp.push(t.elapsed());
            let a: BTreeSet<(i64, u8)> = mine.iter().map(|c| (c.person, c.degree)).collect();
            let b: BTreeSet<(i64, u8)> = sql.iter().copied().collect();
            mismatches += usize::from(a != b || b.len() != sql.len());
            found += b.len();
            d2 += b.iter().filter(|x| x.1 == 2).count();
        }
        let (si, sp): (Duration, Duration) = (ti.iter().sum(), tp.iter().sum());
        let (mi, mp) = (percentile(&mut ti, 0.5), percentile(&mut tp, 0.5));
        let (pi, pp) = (percentile(&mut ti, 0.99), percentile(&mut tp, 0.99));
        println!(
            "{label}: {} cases, {:.1} contacts per case ({:.1} of degree 2)\n  \
             one case  index median {:.3} ms p99 {:.3} ms | PostgreSQL median {:.3} ms p99 {:.3} ms | ratio {:.0}x (median)\n  \
             batch     index {:.1} ms | PostgreSQL {:.1} ms | ratio {:.0}x\n  \
             answers identical: {}",
            cases.len(),
            found as f64 / cases.len() as f64,
            d2 as f64 / cases.len() as f64,
            ms(mi),
            ms(pi),
            ms(mp),
            ms(pp),
            ms(mp) / ms(mi).max(1e-6),
            ms(si),
            ms(sp),
            ms(sp) / ms(si).max(1e-6),
            if mismatches == 0 {
                "yes".to_string()
            } else {
                format!("NO ({mismatches} cases differ)")
            }
        );
        report.push(mismatches);
    }
    anyhow::ensure!(report.iter().all(|m| *m == 0), "the index and SQL disagree");
    Ok(())
}
