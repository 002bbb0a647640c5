//! Group commit for SQLite: one task owns the only writing connection, takes
//! queued units of work, runs each in a savepoint of one transaction, commits
//! once, and only then answers every caller. Many requests share one fsync.

use futures_util::FutureExt;
use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection};
use tokio::sync::{mpsc, oneshot};

use super::WorkFn;
use crate::error::Error;

/// How many units of work one commit may carry.
const MAX_BATCH: usize = 512;

type Deliver = Box<dyn FnOnce(Option<Error>) + Send>;
type Job = Box<
    dyn for<'c> FnOnce(
            &'c mut AnyConnection,
        ) -> futures_util::future::BoxFuture<'c, (bool, Deliver)>
        + Send,
>;

#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Runs the batch loop on a thread of its own, on the CPU that the
    /// connection's SQLite thread (see [`connect`]) is bound to.
    pub fn start(conn: AnyConnection) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        std::thread::Builder::new()
            .name("bihuan-writer".into())
            .spawn(move || {
                pin_to_one_cpu();
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(run(conn, rx)),
                    Err(e) => tracing::error!(error = %e, "the writer cannot start"),
                }
            })?;
        Ok(Writer { tx })
    }

    pub async fn submit<T: Send + 'static>(&self, work: WorkFn<T>) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel::<Result<T, Error>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                // A panic in one unit of work must not take the writer down.
                let out = std::panic::AssertUnwindSafe(work(conn))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(Error::Internal("panic in a use case".into())));
                let ok = out.is_ok();
                let deliver: Deliver = Box::new(move |commit_error| {
                    let _ = reply.send(match commit_error {
                        None => out,
                        Some(e) => Err(e),
                    });
                });
                (ok, deliver)
            })
        });
        self.tx
            .send(job)
            .await
            .map_err(|_| Error::Internal("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("the writer dropped a request".into()))?
    }
}

async fn run(mut conn: AnyConnection, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::take(&mut batch);
        let mut delivered = Vec::with_capacity(jobs.len());
        let committed = async {
            let mut tx = conn.begin().await?;
            for job in jobs {
                let mut sp = tx.begin().await?;
                let (ok, deliver) = job(&mut sp).await;
                if ok {
                    sp.commit().await?;
                } else {
                    sp.rollback().await?;
                }
                delivered.push(deliver);
            }
            tx.commit().await
        }
        .await;
        let failed = committed.err().map(|e| e.to_string());
        if let Some(e) = &failed {
            tracing::error!(error = %e, "group commit failed");
        }
        for deliver in delivered {
            deliver(failed.clone().map(Error::Internal));
        }
    }
}

/// Opens the writing connection from a thread bound to one CPU, so that the
/// thread sqlx starts for it (which inherits the binding) and the writer's
/// own thread share a CPU. Every statement is a round trip between the two;
/// across CPUs each costs a cross-CPU wake-up, which dominated the cost of a
/// declaration (measured: 1.6k/s across CPUs, 3.4k/s sharing one).
pub async fn connect(options: &AnyConnectOptions) -> Result<AnyConnection, sqlx::Error> {
    let options = options.clone();
    let (done, connected) = oneshot::channel();
    std::thread::Builder::new()
        .name("bihuan-connect".into())
        .spawn(move || {
            pin_to_one_cpu();
            let out = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(AnyConnection::connect_with(&options)),
                Err(e) => Err(sqlx::Error::Io(e)),
            };
            let _ = done.send(out);
        })
        .map_err(sqlx::Error::Io)?;
    connected.await.map_err(|_| sqlx::Error::WorkerCrashed)?
}

/// Binds the calling thread, and the threads it starts from now on, to the
/// last CPU it may run on. Best effort: where that fails, nothing changes.
#[cfg(target_os = "linux")]
fn pin_to_one_cpu() {
    // SAFETY: cpu_set_t is plain data; the calls only read and write it.
    unsafe {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut allowed) != 0 {
            return;
        }
        let Some(cpu) = (0..libc::CPU_SETSIZE as usize)
            .rev()
            .find(|&i| libc::CPU_ISSET(i, &allowed))
        else {
            return;
        };
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        libc::sched_setaffinity(0, size, &one);
    }
}

#[cfg(not(target_os = "linux"))]
fn pin_to_one_cpu() {}
