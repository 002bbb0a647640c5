//! Group commit for SQLite: one task owns the only writing connection, takes
//! queued units of work, runs each in a savepoint of one transaction, commits
//! once, and only then answers every caller. Many requests share one fsync.

use futures_util::FutureExt;
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
    pub fn start(conn: AnyConnection) -> Writer {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(conn, rx));
        Writer { tx }
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
