//! Storage: one SQL dialect (the subset SQLite and PostgreSQL share) over
//! sqlx's `Any` driver, each backend with its own migrations and its own way
//! of committing writes.
//!
//! - SQLite: a single writer task commits queued use cases in batches (group
//!   commit), each in its own savepoint; readers use a separate pool.
//! - PostgreSQL: each use case is its own transaction from the pool.
//!
//! Either way a use case runs inside one transaction and its caller hears back
//! only after that transaction is durable.

pub mod assist;
pub mod backup;
pub mod checkins;
pub mod checkpoints;
pub mod command;
pub mod dashboard;
pub mod drill;
pub mod fever;
pub mod gathering;
pub mod goods;
mod migrate;
pub mod monitoring;
pub mod pharmacy;
pub mod recovery;
pub mod repo;
pub mod rolling;
pub mod rounds;
pub mod surge;
pub mod testing;
pub mod tracing;
pub mod venues;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor};

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    backend: Backend,
    pool: AnyPool,
    writer: Option<writer::Writer>,
}

/// A unit of work that runs inside a transaction.
pub type WorkFn<T> =
    Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, Error>> + Send>;

impl Db {
    /// Connects, creating the SQLite file (and its folder) when missing, and
    /// runs the migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let Some(backend) = backend_of(url) else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres://");
        };
        let url = match backend {
            Backend::Sqlite => sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            Backend::Sqlite => {
                // The writer's own connection sets WAL first, so readers find it on.
                let mut conn = writer::connect(&options).await?;
                for pragma in SQLITE_PRAGMAS {
                    conn.execute(*pragma).await?;
                }
                migrate::run(&mut conn, backend).await?;
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|c, _| {
                        Box::pin(async move {
                            for pragma in SQLITE_PRAGMAS {
                                c.execute(*pragma).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?;
                return Ok(Db {
                    backend,
                    pool,
                    writer: Some(writer::Writer::start(conn)?),
                });
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?
            }
        };
        let mut conn = pool.acquire().await?;
        migrate::run(&mut conn, backend).await?;
        drop(conn);
        Ok(Db {
            backend,
            pool,
            writer: None,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for reads (and, on PostgreSQL, for writes too).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs `work` in one transaction and returns once it is committed.
    /// A failed unit of work leaves nothing behind.
    ///
    /// The health-code feed numbers of the colours `work` changes are taken
    /// once, at its end, just before commit
    /// ([`monitoring::deferring_seqs`]): the counter row is never locked for
    /// the length of a long job, only from its last statement to its commit.
    pub async fn write<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Result<T, Error>>
            + Send
            + 'static,
    {
        let work: WorkFn<T> = Box::new(move |c| {
            Box::pin(async move {
                let (out, deferred) = monitoring::deferring_seqs(work(&mut *c)).await;
                let out = out?;
                if deferred {
                    monitoring::stamp_health_code_seqs(c).await?;
                }
                Ok(out)
            })
        });
        match &self.writer {
            Some(w) => w.submit(work).await,
            None => {
                let mut tx = self.pool.begin().await?;
                let out = work(&mut tx).await?;
                tx.commit().await?;
                Ok(out)
            }
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// How a client's own id of a record (a purchase, a visit, a passage) is
/// stored: under its venue, so two venues' systems may count alike.
pub(crate) fn venue_key(venue_id: i64, client_id: &str) -> String {
    format!("{venue_id}:{client_id}")
}

/// `synchronous = FULL`: a commit is on disk before anyone hears it succeeded.
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
    // Savepoint journals (one per unit of work in a group commit) in memory.
    "PRAGMA temp_store = MEMORY",
];

/// Accepts `sqlite://PATH` and `sqlite:PATH`, creating PATH's folder.
/// Which backend a database URL names.
pub fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else {
        None
    }
}

/// The file behind a `sqlite:` URL; None for `:memory:`.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (path != ":memory:" && !path.is_empty()).then(|| path.into())
}

fn sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or(rest);
    if path != ":memory:" && !path.is_empty() {
        let file = std::path::Path::new(path);
        if let Some(dir) = file.parent()
            && !dir.as_os_str().is_empty()
        {
            crate::crypto::private_dir(dir)?;
        }
        private_files(file)?;
    }
    Ok(format!("sqlite://{path}?mode=rwc"))
}

/// The database holds a city's health records: the file is made readable
/// by its owner only before SQLite opens it (SQLite gives its -wal and -shm
/// files the database's mode), and files left by an older start are
/// narrowed to the same.
fn private_files(file: &std::path::Path) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(file)?;
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm", "-journal"] {
        use std::os::unix::fs::PermissionsExt;
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let p = std::path::Path::new(&name);
        if p.exists() {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// Holds, until the transaction ends, PostgreSQL's advisory lock on `key`,
/// so two transactions about the same thing (a document, a client-supplied
/// id) run one after the other. SQLite has one writer and needs none.
pub async fn serialise_on(c: &mut AnyConnection, backend: Backend, key: &str) -> Result<(), Error> {
    let digest = crate::crypto::sha256_hex(key);
    let id = i64::from_str_radix(&digest[..15], 16).unwrap_or_default();
    advisory_lock(c, backend, id, Share::Exclusive).await
}

/// How an advisory lock is held: many shared holders, or one exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    Shared,
    Exclusive,
}

/// PostgreSQL's transaction-scoped advisory lock `id` (released at COMMIT or
/// ROLLBACK); nothing on SQLite, whose one writer serialises already.
pub async fn advisory_lock(
    c: &mut AnyConnection,
    backend: Backend,
    id: i64,
    share: Share,
) -> Result<(), Error> {
    if backend == Backend::Postgres {
        let sql = match share {
            Share::Shared => "SELECT pg_advisory_xact_lock_shared($1)",
            Share::Exclusive => "SELECT pg_advisory_xact_lock($1)",
        };
        sqlx::query(sql).bind(id).execute(c).await?;
    }
    Ok(())
}
