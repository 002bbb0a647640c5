//! Backups: SQLite's online copy, and a fingerprint of every table's rows so
//! a restored database can be compared with its source on either backend.

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::{AnyConnection, Row};

use super::Backend;
use crate::error::{Error, Result};

/// Writes a consistent copy of the open SQLite database to `to` while
/// writers go on: `VACUUM INTO` reads one snapshot of the WAL database.
pub async fn sqlite_copy_to(c: &mut AnyConnection, to: &Path) -> Result<()> {
    let path = to
        .to_str()
        .ok_or_else(|| Error::Internal("backup path is not UTF-8".into()))?;
    sqlx::query(&format!("VACUUM INTO '{}'", path.replace('\'', "''")))
        .execute(c)
        .await?;
    Ok(())
}

/// SQLite's own check of a database file: "ok" or the first problems.
pub async fn sqlite_integrity(c: &mut AnyConnection) -> Result<String> {
    let rows = sqlx::query("PRAGMA integrity_check").fetch_all(c).await?;
    Ok(rows
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect::<Vec<_>>()
        .join("; "))
}

/// The application's tables (SQLite's own and PostgreSQL's catalogs left out).
pub async fn tables(c: &mut AnyConnection, backend: Backend) -> Result<Vec<String>> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = current_schema() \
             ORDER BY tablename"
        }
    };
    let rows = sqlx::query(sql).fetch_all(c).await?;
    Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
}

/// Rows and a digest of their content, in an order that does not depend on
/// how the rows were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFingerprint {
    pub rows: i64,
    pub digest: String,
}

/// Every table's fingerprint. Each row is read as text (SQLite: each
/// column `quote`d; PostgreSQL: the row value cast to text), sorted, and
/// hashed.
pub async fn fingerprints(
    c: &mut AnyConnection,
    backend: Backend,
) -> Result<BTreeMap<String, TableFingerprint>> {
    let mut out = BTreeMap::new();
    for table in tables(c, backend).await? {
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        let sql = match backend {
            Backend::Sqlite => {
                let columns = sqlx::query(&format!("PRAGMA table_info({quoted})"))
                    .fetch_all(&mut *c)
                    .await?;
                let row_text = columns
                    .iter()
                    .map(|col| {
                        let name: String = col.get(1);
                        format!("quote(\"{}\")", name.replace('"', "\"\""))
                    })
                    .collect::<Vec<_>>()
                    .join(" || ',' || ");
                format!("SELECT {row_text} AS r FROM {quoted}")
            }
            Backend::Postgres => format!("SELECT CAST(t AS TEXT) AS r FROM {quoted} t"),
        };
        let mut rows: Vec<String> = sqlx::query(&sql)
            .fetch_all(&mut *c)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        rows.sort_unstable();
        out.insert(
            table,
            TableFingerprint {
                rows: rows.len() as i64,
                digest: crate::crypto::sha256_hex(&rows.join("\n")),
            },
        );
    }
    Ok(out)
}
