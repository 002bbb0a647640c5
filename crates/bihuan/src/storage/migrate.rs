//! A small migrator: numbered SQL files compiled in, one table of what ran.
//! On PostgreSQL an advisory lock keeps replicas that start together from
//! running the same migration twice.

use sqlx::{AnyConnection, Executor, Row};

use super::Backend;

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_core.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_monitoring.sql"),
    ),
    (3, include_str!("../../migrations/sqlite/0003_testing.sql")),
    (4, include_str!("../../migrations/sqlite/0004_sites.sql")),
    (5, include_str!("../../migrations/sqlite/0005_rounds.sql")),
    (6, include_str!("../../migrations/sqlite/0006_zones.sql")),
    (7, include_str!("../../migrations/sqlite/0007_rolling.sql")),
    (
        8,
        include_str!("../../migrations/sqlite/0008_grid_tasks.sql"),
    ),
    (
        9,
        include_str!("../../migrations/sqlite/0009_round_people_person.sql"),
    ),
    (10, include_str!("../../migrations/sqlite/0010_tracing.sql")),
    (11, include_str!("../../migrations/sqlite/0011_command.sql")),
    (12, include_str!("../../migrations/sqlite/0012_assist.sql")),
    (
        13,
        include_str!("../../migrations/sqlite/0013_dashboard.sql"),
    ),
    (
        14,
        include_str!("../../migrations/sqlite/0014_instruction_corrections.sql"),
    ),
    (
        15,
        include_str!("../../migrations/sqlite/0015_event_region.sql"),
    ),
    (
        16,
        include_str!("../../migrations/sqlite/0016_health_code_seq.sql"),
    ),
    (
        17,
        include_str!("../../migrations/sqlite/0017_identity.sql"),
    ),
    (
        18,
        include_str!("../../migrations/sqlite/0018_receipt_recovery.sql"),
    ),
    (
        19,
        include_str!("../../migrations/sqlite/0019_pharmacy.sql"),
    ),
    (
        20,
        include_str!("../../migrations/sqlite/0020_fever_clinics.sql"),
    ),
    (21, include_str!("../../migrations/sqlite/0021_alerts.sql")),
    (
        22,
        include_str!("../../migrations/sqlite/0022_checkpoints.sql"),
    ),
    (
        23,
        include_str!("../../migrations/sqlite/0023_gatherings.sql"),
    ),
    (24, include_str!("../../migrations/sqlite/0024_goods.sql")),
    (25, include_str!("../../migrations/sqlite/0025_drills.sql")),
    (
        26,
        include_str!("../../migrations/sqlite/0026_review_fixes.sql"),
    ),
];
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_core.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_monitoring.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_testing.sql"),
    ),
    (4, include_str!("../../migrations/postgres/0004_sites.sql")),
    (5, include_str!("../../migrations/postgres/0005_rounds.sql")),
    (6, include_str!("../../migrations/postgres/0006_zones.sql")),
    (
        7,
        include_str!("../../migrations/postgres/0007_rolling.sql"),
    ),
    (
        8,
        include_str!("../../migrations/postgres/0008_grid_tasks.sql"),
    ),
    (
        9,
        include_str!("../../migrations/postgres/0009_round_people_person.sql"),
    ),
    (
        10,
        include_str!("../../migrations/postgres/0010_tracing.sql"),
    ),
    (
        11,
        include_str!("../../migrations/postgres/0011_command.sql"),
    ),
    (
        12,
        include_str!("../../migrations/postgres/0012_assist.sql"),
    ),
    (
        13,
        include_str!("../../migrations/postgres/0013_dashboard.sql"),
    ),
    (
        14,
        include_str!("../../migrations/postgres/0014_instruction_corrections.sql"),
    ),
    (
        15,
        include_str!("../../migrations/postgres/0015_event_region.sql"),
    ),
    (
        16,
        include_str!("../../migrations/postgres/0016_health_code_seq.sql"),
    ),
    (
        17,
        include_str!("../../migrations/postgres/0017_identity.sql"),
    ),
    (
        18,
        include_str!("../../migrations/postgres/0018_receipt_recovery.sql"),
    ),
    (
        19,
        include_str!("../../migrations/postgres/0019_pharmacy.sql"),
    ),
    (
        20,
        include_str!("../../migrations/postgres/0020_fever_clinics.sql"),
    ),
    (
        21,
        include_str!("../../migrations/postgres/0021_alerts.sql"),
    ),
    (
        22,
        include_str!("../../migrations/postgres/0022_checkpoints.sql"),
    ),
    (
        23,
        include_str!("../../migrations/postgres/0023_gatherings.sql"),
    ),
    (24, include_str!("../../migrations/postgres/0024_goods.sql")),
    (
        25,
        include_str!("../../migrations/postgres/0025_drills.sql"),
    ),
    (
        26,
        include_str!("../../migrations/postgres/0026_review_fixes.sql"),
    ),
];

const LOCK_KEY: i64 = 0x6269_6875_616e; // "bihuan"

pub async fn run(conn: &mut AnyConnection, backend: Backend) -> anyhow::Result<()> {
    let steps = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    let result = apply(conn, steps).await;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn apply(conn: &mut AnyConnection, steps: &[(i64, &str)]) -> anyhow::Result<()> {
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
        .await?;
    let done: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.get::<i64, _>(0))
        .collect();
    for (version, sql) in steps {
        if done.contains(version) {
            continue;
        }
        conn.execute("BEGIN").await?;
        for statement in statements(sql) {
            if let Err(e) = conn.execute(statement.as_str()).await {
                conn.execute("ROLLBACK").await?;
                return Err(e.into());
            }
        }
        sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
            .bind(*version)
            .execute(&mut *conn)
            .await?;
        conn.execute("COMMIT").await?;
        tracing::info!(version, "migration applied");
    }
    Ok(())
}

/// The statements of a file: comment lines dropped, split on `;`.
fn statements(sql: &str) -> Vec<String> {
    let code: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .map(|l| format!("{l}\n"))
        .collect();
    code.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every schema change exists for both backends, in the same order.
    #[test]
    fn both_backends_have_the_same_migrations() {
        let versions = |steps: &[(i64, &str)]| steps.iter().map(|s| s.0).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE), versions(POSTGRES));
        let expected: Vec<i64> = (1..=SQLITE.len() as i64).collect();
        assert_eq!(
            versions(SQLITE),
            expected,
            "numbered 1, 2, 3 … without gaps"
        );
        let files = |dir: &str| {
            let mut n: Vec<_> =
                std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect();
            n.sort();
            n
        };
        assert_eq!(
            files("sqlite").len(),
            SQLITE.len(),
            "every sqlite file is listed"
        );
        assert_eq!(
            files("postgres").len(),
            POSTGRES.len(),
            "every postgres file is listed"
        );
        assert_eq!(files("sqlite"), files("postgres"));
    }
}
