//! `bihuan backup` and `bihuan restore`. SQLite: an online, consistent copy
//! of the live file (`VACUUM INTO`, one snapshot while writers go on),
//! checked and fingerprinted before it is named. PostgreSQL: `pg_dump` in
//! its custom format (one snapshot too) and `pg_restore` in one
//! transaction. The secret key is never in a backup: keep it apart, a
//! backup without it holds ciphertext only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sqlx::Connection;

use crate::storage::backup::{self as store, TableFingerprint};
use crate::storage::{Backend, Db, backend_of, sqlite_file};

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupDone {
    pub path: PathBuf,
    pub bytes: u64,
    /// Each table's rows as copied (SQLite; a dump is not read back).
    pub tables: BTreeMap<String, TableFingerprint>,
}

/// Backs `db` (opened from `database_url`) up to `to`, which must not exist.
pub async fn backup(db: &Db, database_url: &str, to: &Path) -> anyhow::Result<BackupDone> {
    if to.exists() {
        bail!("{} exists already: choose a new name", to.display());
    }
    let partial = partial_name(to);
    let _ = std::fs::remove_file(&partial);
    let tables = match db.backend() {
        Backend::Sqlite => {
            // Created empty and private first: VACUUM INTO keeps the mode.
            private_empty_file(&partial)?;
            let mut c = db.pool().acquire().await?;
            store::sqlite_copy_to(&mut c, &partial).await?;
            drop(c);
            let tables = read_sqlite_file(&partial)
                .await
                .with_context(|| format!("checking the copy {}", partial.display()))?;
            Some(tables)
        }
        Backend::Postgres => {
            private_empty_file(&partial)?;
            let (url, password) = without_password(database_url)?;
            let mut cmd = tokio::process::Command::new("pg_dump");
            cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                .arg(&partial)
                .arg(format!("--dbname={url}"));
            run(cmd, password, "pg_dump").await?;
            None
        }
    };
    std::fs::rename(&partial, to)?;
    let bytes = std::fs::metadata(to)?.len();
    Ok(BackupDone {
        path: to.to_path_buf(),
        bytes,
        tables: tables.unwrap_or_default(),
    })
}

/// Restores the backup at `from` into `database_url`. The server must be
/// stopped. An existing SQLite file or a PostgreSQL database that already
/// holds tables is replaced only with `replace`.
pub async fn restore(from: &Path, database_url: &str, replace: bool) -> anyhow::Result<()> {
    if !from.is_file() {
        bail!("{} is not a backup file", from.display());
    }
    match backend_of(database_url) {
        Some(Backend::Sqlite) => {
            let target =
                sqlite_file(database_url).context("restore needs a file database, not :memory:")?;
            read_sqlite_file(from)
                .await
                .with_context(|| format!("{} is not a sound bihuan backup", from.display()))?;
            if target.exists() && !replace {
                bail!(
                    "{} exists: stop the server and pass --replace to overwrite it",
                    target.display()
                );
            }
            if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::crypto::private_dir(dir)?;
            }
            let partial = partial_name(&target);
            let _ = std::fs::remove_file(&partial);
            private_empty_file(&partial)?;
            std::fs::copy(from, &partial)?;
            std::fs::File::open(&partial)?.sync_all()?;
            // A stale WAL would be replayed onto the restored file.
            for suffix in ["-wal", "-shm"] {
                let mut side = target.clone().into_os_string();
                side.push(suffix);
                match std::fs::remove_file(&side) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
            std::fs::rename(&partial, &target)?;
            Ok(())
        }
        Some(Backend::Postgres) => {
            if !replace {
                let mut c = sqlx::AnyConnection::connect(database_url).await?;
                let holds = store::tables(&mut c, Backend::Postgres).await?;
                if !holds.is_empty() {
                    bail!("the database holds tables: pass --replace to overwrite them");
                }
            }
            let (url, password) = without_password(database_url)?;
            let mut cmd = tokio::process::Command::new("pg_restore");
            cmd.args(["--no-owner", "--no-privileges", "--single-transaction"]);
            if replace {
                cmd.args(["--clean", "--if-exists"]);
            }
            cmd.arg(format!("--dbname={url}")).arg(from);
            run(cmd, password, "pg_restore").await
        }
        None => bail!("DATABASE_URL must start with sqlite:// or postgres://"),
    }
}

/// Every table's fingerprint of the database at `database_url`.
pub async fn fingerprints(
    database_url: &str,
) -> anyhow::Result<BTreeMap<String, TableFingerprint>> {
    sqlx::any::install_default_drivers();
    let backend = backend_of(database_url).context("unknown database URL")?;
    let mut c = sqlx::AnyConnection::connect(database_url).await?;
    Ok(store::fingerprints(&mut c, backend).await?)
}

/// Opens a SQLite file read-only, checks it, and fingerprints its tables;
/// a file without bihuan's schema table is refused.
async fn read_sqlite_file(path: &Path) -> anyhow::Result<BTreeMap<String, TableFingerprint>> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut c = sqlx::AnyConnection::connect(&url).await?;
    let check = store::sqlite_integrity(&mut c).await?;
    if check != "ok" {
        bail!("integrity check: {check}");
    }
    let tables = store::fingerprints(&mut c, Backend::Sqlite).await?;
    if !tables.contains_key("schema_migrations") {
        bail!("no schema_migrations table: not a bihuan database");
    }
    c.close().await?;
    Ok(tables)
}

fn partial_name(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

fn private_empty_file(path: &Path) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(())
}

/// The URL without its password, and the password, so that it is passed in
/// the environment rather than on a command line others can read.
fn without_password(database_url: &str) -> anyhow::Result<(String, Option<String>)> {
    let mut url = url::Url::parse(database_url).context("the database URL")?;
    let password = url.password().map(percent_decoded);
    url.set_password(None)
        .map_err(|_| anyhow::anyhow!("the database URL cannot hold a password"))?;
    Ok((url.to_string(), password))
}

fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn run(
    mut cmd: tokio::process::Command,
    password: Option<String>,
    what: &str,
) -> anyhow::Result<()> {
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd
        .output()
        .await
        .with_context(|| format!("running {what} (is the PostgreSQL client installed?)"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let (url, p) = without_password("postgres://bihuan:p%40s+s@db:5432/bihuan").unwrap();
        assert_eq!(url, "postgres://bihuan@db:5432/bihuan");
        assert_eq!(p.as_deref(), Some("p@s+s"));
        let (url, p) = without_password("postgres://postgres@127.0.0.1:5432/x").unwrap();
        assert_eq!(url, "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(p, None);
    }
}
