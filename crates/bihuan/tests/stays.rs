//! The stay index against the database: built at start, caught up (also
//! when ids commit out of order), and answering like the plain-SQL queries.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use bihuan::stays::StayIndex;
use bihuan::storage::Db;
use bihuan::storage::checkins::{self, NewCheckin, WidenByKind};
use bihuan_domain::contacts::NoBonds;
use bihuan_domain::policy::Policy;

const T0: i64 = 1_643_335_200; // 2022-01-28 10:00 Asia/Shanghai
const H: i64 = 3600;

async fn fixture(persons: i64, kinds: &[&str]) -> Db {
    let dir = std::env::temp_dir().join(support::unique("bihuan-stays-"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = Db::connect(&support::fresh_database(&dir).await)
        .await
        .unwrap();
    let mut tx = db.pool().begin().await.unwrap();
    for p in 1..=persons {
        sqlx::query(
            "INSERT INTO persons (id, doc_type, doc_lookup, doc_enc, doc_masked, name, phone_enc,
             phone_masked, region, created_at, updated_at)
             VALUES ($1, 'id', $2, '', '', '', '', '', '330784', 0, 0)",
        )
        .bind(p)
        .bind(format!("lookup{p}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    for (i, k) in kinds.iter().enumerate() {
        sqlx::query(
            "INSERT INTO venues (id, code, name, kind, region, address, state, created_by, created_at)
             VALUES ($1, $2, 'v', $3, '330784', '', 'approved', 't', 0)",
        )
        .bind(i as i64 + 1)
        .bind(format!("code{i}"))
        .bind(*k)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    db
}

fn ci(venue: i64, person: i64, t_in: i64, t_out: i64) -> NewCheckin {
    NewCheckin {
        venue_id: venue,
        person_id: person,
        t_in,
        t_out,
        left_given: true,
        helper_id: None,
        source: "test".into(),
        created_at: t_in,
    }
}

async fn insert(db: &Db, rows: Vec<NewCheckin>) {
    db.write(move |c| Box::pin(async move { checkins::insert_checkins(c, &rows).await }))
        .await
        .unwrap();
}

async fn insert_with_id(db: &Db, id: i64, r: NewCheckin) {
    sqlx::query(
        "INSERT INTO checkins (id, venue_id, person_id, t_in, t_out, left_given, source, created_at)
         VALUES ($1, $2, $3, $4, $5, 1, 'test', 0)",
    )
    .bind(id)
    .bind(r.venue_id)
    .bind(r.person_id)
    .bind(r.t_in)
    .bind(r.t_out)
    .execute(db.pool())
    .await
    .unwrap();
}

fn persons(cs: &[bihuan_domain::contacts::Contact]) -> Vec<(i64, u8)> {
    cs.iter().map(|c| (c.person, c.degree)).collect()
}

#[tokio::test]
async fn the_index_is_built_caught_up_and_equals_sql() {
    let policy = Policy::default_policy();
    let kinds = ["restaurant", "office", "no_such_kind"];
    let db = fixture(2000, &kinds).await;
    // Random stays, many of them overlapping.
    let mut seed = 7u64;
    let mut next = |n: i64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as i64) % n
    };
    let mut rows = Vec::new();
    for _ in 0..3000 {
        let t_in = T0 - 5 * 86_400 + next(6 * 86_400);
        rows.push(ci(
            1 + next(3),
            1 + next(2000),
            t_in,
            t_in + 60 + next(5 * H),
        ));
    }
    insert(&db, rows[..2000].to_vec()).await;
    let index = StayIndex::load(&db).await.unwrap();
    assert_eq!(index.stats().await.stays, 2000);
    // more arrive: caught up
    insert(&db, rows[2000..].to_vec()).await;
    assert_eq!(index.catch_up(&db).await.unwrap(), 1000);
    assert_eq!(index.catch_up(&db).await.unwrap(), 0);
    let stats = index.stats().await;
    assert_eq!((stats.stays, stats.venues), (3000, 3));

    let mut c = db.pool().acquire().await.unwrap();
    let longest = checkins::longest_stay(&mut c).await.unwrap();
    let widen = WidenByKind {
        kinds: policy
            .venue_types
            .iter()
            .map(|t| (t.name.clone(), i64::from(t.widen_minutes) * 60))
            .collect(),
        default: 30 * 60,
    };
    let mut seen_second = 0;
    for case in 1..=60 {
        let window = (T0 - 4 * 86_400, T0);
        for secondary in [false, true] {
            let mine = persons(&index.trace(&policy, case, window, &NoBonds, secondary));
            let sql = checkins::contacts_sql(&mut c, case, window, &widen, longest, secondary)
                .await
                .unwrap();
            assert_eq!(mine, sql, "case {case} secondary {secondary}");
            seen_second += sql.iter().filter(|p| p.1 == 2).count();
        }
    }
    assert!(seen_second > 100, "the data has secondary contacts");
}

#[tokio::test]
async fn ids_committed_out_of_order_are_not_missed() {
    let policy = Policy::default_policy();
    let db = fixture(10, &["restaurant"]).await;
    insert_with_id(&db, 1, ci(1, 1, T0, T0 + H)).await;
    insert_with_id(&db, 5, ci(1, 5, T0, T0 + H)).await;
    let index = StayIndex::load(&db).await.unwrap();
    assert_eq!(index.stats().await.holes, 3);
    // 3 commits after 5 was read; 6 too
    insert_with_id(&db, 3, ci(1, 3, T0, T0 + H)).await;
    insert_with_id(&db, 6, ci(1, 6, T0, T0 + H)).await;
    assert_eq!(index.catch_up(&db).await.unwrap(), 2);
    assert_eq!(index.catch_up(&db).await.unwrap(), 0, "never twice");
    let got: BTreeSet<i64> = index
        .trace(&policy, 1, (T0 - 86_400, T0 + 86_400), &NoBonds, false)
        .iter()
        .map(|c| c.person)
        .collect();
    assert_eq!(got, BTreeSet::from([3, 5, 6]));
    assert_eq!(index.stats().await.holes, 2, "2 and 4 still awaited");

    // Holes expire after the grace period (a rolled-back insert).
    let db2 = fixture(10, &["restaurant"]).await;
    insert_with_id(&db2, 1, ci(1, 1, T0, T0 + H)).await;
    insert_with_id(&db2, 3, ci(1, 3, T0, T0 + H)).await;
    let index = StayIndex::empty().with_grace(Duration::ZERO);
    index.catch_up(&db2).await.unwrap();
    assert_eq!(index.stats().await.holes, 1);
    index.catch_up(&db2).await.unwrap();
    assert_eq!(index.stats().await.holes, 0);
    insert_with_id(&db2, 2, ci(1, 2, T0, T0 + H)).await;
    assert_eq!(index.catch_up(&db2).await.unwrap(), 0, "given up on id 2");
}
