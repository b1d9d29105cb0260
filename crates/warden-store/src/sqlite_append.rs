//! The audit log's appends on SQLite: a connection of their own, on a thread
//! of their own, each batch's transaction run there whole.
//!
//! Through the pool, every statement of an append is a hand-off to the
//! connection's worker thread and back: seven for a batch (begin, the log's
//! size, the wrapping key, records, nodes, activity, commit), each waking a
//! thread on either side. Here a batch crosses once each way, and the
//! statements are prepared once per connection. Under the same `BEGIN
//! IMMEDIATE` lock as every other writer, so the pool's writes and these
//! never interleave inside a transaction.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use tokio::sync::oneshot;

use crate::audit::{AuditBatch, WrapKeyRef, to_i64, to_u64};
use crate::error::StoreError;
use crate::inventory::{SQLITE_ACTIVITY_CONFLICT, SQLITE_CLASSES_CONFLICT};

const OPERATION: &str = "append audit records";

/// What an append found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Appended {
    /// The batch is committed at the expected size.
    Done,
    /// The log holds `size` records, not the batch's first index: another
    /// writer appended. Nothing was written.
    Behind {
        /// The log's size as found under the lock.
        size: u64,
    },
}

struct Job {
    expected: u64,
    batch: AuditBatch,
    reply: oneshot::Sender<Result<Appended, StoreError>>,
}

/// The handle to the appending thread; the thread ends when the last handle
/// is dropped.
#[derive(Debug)]
pub(crate) struct Appender {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("expected", &self.expected)
            .field("records", &self.batch.records.len())
            .finish_non_exhaustive()
    }
}

impl Appender {
    /// Opens a connection to the (migrated) database at `path` with the
    /// pool's settings, and starts its thread.
    pub(crate) fn start(path: &Path, busy_timeout: Duration) -> Result<Self, StoreError> {
        let conn = open(path, busy_timeout).map_err(failed("open the audit log's connection"))?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("warden-audit-sqlite".into())
            .spawn(move || run(conn, &queue))
            .map_err(|e| StoreError::Corrupt {
                what: "audit append thread",
                detail: e.to_string(),
            })?;
        Ok(Self { jobs })
    }

    /// Appends `batch` if the log holds exactly `expected` records, in one
    /// transaction on the appending thread.
    pub(crate) async fn append(
        &self,
        expected: u64,
        batch: AuditBatch,
    ) -> Result<Appended, StoreError> {
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Corrupt {
            what: "audit append thread",
            detail: "it stopped; nothing more can be appended".into(),
        };
        self.jobs
            .send(Job {
                expected,
                batch,
                reply,
            })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

fn open(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update(None, "journal_mode", "wal")?;
    conn.pragma_update(None, "synchronous", "full")?;
    conn.pragma_update(None, "foreign_keys", "on")?;
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    Ok(conn)
}

fn run(mut conn: Connection, queue: &mpsc::Receiver<Job>) {
    while let Ok(job) = queue.recv() {
        let result = append(&mut conn, job.expected, &job.batch);
        // The caller may have gone (its request was dropped); the batch
        // stands or not as the transaction ended, either way.
        let _ = job.reply.send(result);
    }
}

fn failed(operation: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { operation, source }
}

/// The append's transaction; dropped without commit (rolled back) on any
/// error and when the log is not at `expected`.
fn append(
    conn: &mut Connection,
    expected: u64,
    batch: &AuditBatch,
) -> Result<Appended, StoreError> {
    let q = failed(OPERATION);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&q)?;
    let next: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(idx) + 1, 0) FROM warden_audit_records")
        .and_then(|mut s| s.query_row([], |row| row.get(0)))
        .map_err(&q)?;
    let size = to_u64(next, "audit size")?;
    if size != expected {
        return Ok(Appended::Behind { size });
    }
    if let Some(id) = batch.wrap_key {
        check_wrap_key(&tx, id)?;
    }
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO warden_audit_records \
                 (idx, record, leaf, payload, payload_key, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(&q)?;
        for r in &batch.records {
            insert
                .execute(params![
                    to_i64(r.index)?,
                    r.record,
                    &r.leaf[..],
                    r.payload,
                    r.payload_key,
                    r.created_at
                ])
                .map_err(&q)?;
        }
        let mut insert = tx
            .prepare_cached("INSERT INTO warden_audit_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .map_err(&q)?;
        for (level, index, hash) in &batch.nodes {
            insert
                .execute(params![i64::from(*level), to_i64(*index)?, &hash[..]])
                .map_err(&q)?;
        }
        let counted = failed("count activity");
        let mut insert = tx
            .prepare_cached(&format!(
                "INSERT INTO warden_activity \
                 (agent, hour, server, tool, outcome, count, first_ms, last_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8){SQLITE_ACTIVITY_CONFLICT}"
            ))
            .map_err(&counted)?;
        for a in &batch.activity {
            insert
                .execute(params![
                    a.agent, a.hour, a.server, a.tool, a.outcome, a.count, a.first_ms, a.last_ms
                ])
                .map_err(&counted)?;
        }
        let mut insert = tx
            .prepare_cached(&format!(
                "INSERT INTO warden_activity_classes (agent, class, count, first_ms, last_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5){SQLITE_CLASSES_CONFLICT}"
            ))
            .map_err(&counted)?;
        for c in &batch.classes {
            insert
                .execute(params![c.agent, c.class, c.count, c.first_ms, c.last_ms])
                .map_err(&counted)?;
        }
    }
    tx.commit().map_err(&q)?;
    Ok(Appended::Done)
}

/// Refuses the batch when an erasure destroyed its wrapping key.
fn check_wrap_key(tx: &rusqlite::Transaction<'_>, id: WrapKeyRef) -> Result<(), StoreError> {
    let state: Option<Option<i64>> = tx
        .prepare_cached("SELECT destroyed_at FROM warden_audit_wrap_keys WHERE id = ?1")
        .and_then(|mut s| {
            let mut rows = s.query(params![&id[..]])?;
            rows.next()?.map(|row| row.get(0)).transpose()
        })
        .map_err(failed(OPERATION))?;
    if matches!(state, Some(None)) {
        Ok(())
    } else {
        Err(StoreError::WrapKeyDestroyed {
            id: hex::encode(id),
        })
    }
}
