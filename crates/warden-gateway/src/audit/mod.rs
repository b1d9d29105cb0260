//! The audit log's writer: one sequencer task that batches records (group
//! commit: many decisions share one transaction and one fsync), extends the
//! Merkle tree, signs checkpoints and publishes them to the witness directory.
//!
//! With `durability = "sync"` a decision is answered only once its record is
//! durable; if the log cannot be written, the decision is denied and `/readyz`
//! says why. With `"batched"` the answer does not wait.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tokio::sync::{mpsc, oneshot};
use warden_audit::{
    AuditRecord, Checkpoint, CheckpointSigner, CompactRange, PayloadKey, WrapKey, WrapKeyDir,
    leaf_hash, seal,
};
use warden_policy::Durability;
use warden_store::{
    AnyStore, AuditBatch, AuditCatchUp, AuditRow, AuditStore, CheckpointRow, StoreError, StoredNode,
};

pub(crate) mod activity;
mod erase;
mod feed;
mod verify;
mod witness;

pub use erase::{EraseError, Erasure, erase_payload, sweep_destroyed_keys};
pub use verify::{VerifyReport, verify_online, verify_online_with_progress};
use witness::check_witness;
pub use witness::{fetch, latest_witness, publish, rollback_check, root_at, witness_file};

/// Most records in one transaction.
const MAX_BATCH: usize = 4096;
/// Queue length before callers wait (back-pressure).
const QUEUE: usize = 65_536;
/// Under `durability = "batched"`, the least time between two commits: the
/// records that arrive meanwhile share the next one. At a few hundred
/// records a second each would otherwise take a commit and an fsync of its
/// own, CPU the machine's other work needs; a crash loses at most this much
/// more than the batch in flight.
const BATCHED_LINGER: Duration = Duration::from_millis(10);
/// Payload keys wrapped under one wrapping key before the writer takes a
/// fresh one: what an erasure must wrap again at most (plus what other nodes
/// or earlier runs wrapped under it).
const WRAPS_PER_KEY: u64 = 65_536;

/// One record waiting to be written, with its sealed-payload plaintext.
struct Pending {
    record: AuditRecord,
    sealed: Option<Sealed>,
    done: Option<oneshot::Sender<Result<u64, String>>>,
}

/// A payload sealed by the caller (off the sequencer's thread); its key is
/// wrapped by the writer, once the record's index is known.
#[derive(Clone)]
struct Sealed {
    ciphertext: Vec<u8>,
    key: PayloadKey,
}

/// Seals `payload` and commits `record` to its digest.
fn seal_into(record: &mut AuditRecord, payload: Option<Vec<u8>>) -> Option<Sealed> {
    payload.map(|plain| {
        let (sealed, key) = seal(&plain);
        record.payload_digest = Some(sealed.digest());
        Sealed {
            key,
            ciphertext: sealed.ciphertext,
        }
    })
}

/// Why a record could not be written.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// The writer is gone or failed.
    #[error("audit log unavailable: {0}")]
    Unavailable(String),
}

/// Handle to the audit writer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AuditLog {
    vkey: String,
    tx: mpsc::Sender<Pending>,
    /// Records that need not be durable before anyone is answered: written
    /// with the next batch, or within the writer's tick (500 ms).
    deferred: mpsc::Sender<Pending>,
    durability: Durability,
    problem: Arc<ArcSwapOption<String>>,
    failing: Arc<ArcSwapOption<String>>,
    checkpoint_now: mpsc::Sender<oneshot::Sender<Result<String, String>>>,
    /// Told of every committed record, batch and checkpoint.
    monitor: Arc<ArcSwapOption<warden_monitor::Monitor>>,
    /// Where checkpoints are published.
    witness_dir: PathBuf,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("kind", &self.record.kind)
            .finish_non_exhaustive()
    }
}

/// What the writer needs to start.
#[derive(Debug)]
pub struct AuditSettings {
    /// Sync or batched.
    pub durability: Durability,
    /// Sign a checkpoint every this many records…
    pub checkpoint_every: u64,
    /// …or this often when records were added.
    pub checkpoint_interval: Duration,
    /// Where checkpoints are published.
    pub witness_dir: PathBuf,
    /// The checkpoint signer.
    pub signer: Arc<CheckpointSigner>,
    /// The log's origin line (`<trust-domain>/warden-audit`).
    pub origin: String,
    /// Where the keys that wrap payload keys live (outside the store).
    pub payload_keys: WrapKeyDir,
}

/// Loads the tree's right border from the store.
pub async fn load_range(store: &AnyStore) -> Result<CompactRange, StoreError> {
    let size = store.audit_size().await?;
    load_range_at(store, size).await
}

/// Loads the right border of the tree as it was at `size` records.
pub async fn load_range_at(store: &AnyStore, size: u64) -> Result<CompactRange, StoreError> {
    let nodes = store.audit_nodes(&border_ids(size)).await?;
    range_on(size, &nodes)
}

/// The nodes of the tree's right border at `size`.
fn border_ids(size: u64) -> Vec<(u8, u64)> {
    CompactRange::border(size)
        .iter()
        .map(|n| (n.level, n.index))
        .collect()
}

/// The tree's right border at `size` from its stored nodes.
fn range_on(size: u64, nodes: &[StoredNode]) -> Result<CompactRange, StoreError> {
    let nodes: Vec<(warden_audit::NodeId, warden_audit::Hash)> = nodes
        .iter()
        .map(|&((level, index), h)| (warden_audit::NodeId { level, index }, h))
        .collect();
    CompactRange::from_nodes(size, &nodes).map_err(|e| StoreError::Corrupt {
        what: "audit tree",
        detail: e.to_string(),
    })
}

/// Appends `records` directly (outside a running writer: the CLI), returning
/// their indices. Retries if another writer appended meanwhile. Payloads are
/// sealed, their keys wrapped under a fresh wrapping key in `keys` (a record
/// with a payload and no `keys` is refused).
pub async fn append_direct(
    store: &AnyStore,
    keys: Option<&WrapKeyDir>,
    records: Vec<(AuditRecord, Option<Vec<u8>>)>,
) -> Result<Vec<u64>, StoreError> {
    let mut pending: Vec<Pending> = records
        .into_iter()
        .map(|(mut record, payload)| {
            let sealed = seal_into(&mut record, payload);
            Pending {
                record,
                sealed,
                done: None,
            }
        })
        .collect();
    let wrap = if pending.iter().any(|p| p.sealed.is_some()) {
        let keys = keys.ok_or_else(|| StoreError::Corrupt {
            what: "audit append",
            detail: "a payload to seal, and no directory for its wrapping key".into(),
        })?;
        Some(new_wrap_key(store, keys).await?)
    } else {
        None
    };
    let mut range = load_range(store).await?;
    let expected = range.size();
    let (batch, indices) = build_batch(&mut range, &mut pending, wrap.as_ref());
    let mut again = Renumber {
        pending: &mut pending,
        wrap: wrap.as_ref(),
        done: None,
    };
    store
        .audit_append_caught_up(expected, &batch, &mut again)
        .await?;
    Ok(again.done.map_or(indices, |(_, indices)| indices))
}

/// A batch numbered again inside the append's transaction, when other
/// writers (other nodes, the CLI) appended since it was built: the tree's
/// new border and the records' new indices.
struct Renumber<'a> {
    pending: &'a mut [Pending],
    wrap: Option<&'a WrapKey>,
    done: Option<(CompactRange, Vec<u64>)>,
}

impl AuditCatchUp for Renumber<'_> {
    fn border(&self, size: u64) -> Vec<(u8, u64)> {
        border_ids(size)
    }

    fn rebuild(&mut self, size: u64, nodes: &[StoredNode]) -> Result<AuditBatch, StoreError> {
        let mut range = range_on(size, nodes)?;
        let (batch, indices) = build_batch(&mut range, self.pending, self.wrap);
        self.done = Some((range, indices));
        Ok(batch)
    }
}

fn now_ms() -> i64 {
    crate::now_millis()
}

/// Creates a wrapping key (its file first) and registers it in the store.
async fn new_wrap_key(store: &AnyStore, keys: &WrapKeyDir) -> Result<WrapKey, StoreError> {
    let keys = keys.clone();
    let key = tokio::task::spawn_blocking(move || keys.create())
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|detail| StoreError::Corrupt {
            what: "payload wrapping key",
            detail,
        })?;
    store.audit_add_wrap_key(key.id().0).await?;
    Ok(key)
}

/// Assigns indices, encodes records, hashes leaves, wraps payload keys under
/// `wrap` and extends `range`.
fn build_batch(
    range: &mut CompactRange,
    pending: &mut [Pending],
    wrap: Option<&WrapKey>,
) -> (AuditBatch, Vec<u64>) {
    let (activity, classes) = activity::deltas(pending.iter().map(|p| &p.record));
    let mut batch = AuditBatch {
        records: Vec::with_capacity(pending.len()),
        nodes: Vec::with_capacity(pending.len() + 8),
        activity,
        classes,
        wrap_key: None,
    };
    let mut indices = Vec::with_capacity(pending.len());
    let now = now_ms();
    for p in pending.iter_mut() {
        let index = range.size();
        p.record.index = index;
        let bytes = p.record.encode();
        let leaf = leaf_hash(&bytes);
        range.append_with(leaf, |node, hash| {
            if node.level > 0 {
                batch.nodes.push((node.level, node.index, *hash));
            }
        });
        let (payload, key) = match (&p.sealed, wrap) {
            (Some(s), Some(wrap)) => {
                batch.wrap_key = Some(wrap.id().0);
                (Some(s.ciphertext.clone()), Some(wrap.wrap(index, &s.key)))
            }
            // INVARIANT: the writer always holds a wrapping key, and
            // `append_direct` makes one when a payload is present; a payload
            // without one would be kept with no key at all (as if erased).
            (Some(s), None) => (Some(s.ciphertext.clone()), None),
            (None, _) => (None, None),
        };
        batch.records.push(AuditRow {
            index,
            record: bytes,
            leaf,
            payload,
            payload_key: key,
            created_at: now,
        });
        indices.push(index);
    }
    (batch, indices)
}

impl AuditLog {
    /// Starts the writer task; it runs until every handle is dropped or
    /// `shutdown` fires, then drains the queue.
    pub async fn start(
        store: AnyStore,
        settings: AuditSettings,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(AuditLog, tokio::task::JoinHandle<()>), StoreError> {
        let range = load_range(&store).await?;
        let problem = Arc::new(ArcSwapOption::empty());
        let failing = Arc::new(ArcSwapOption::empty());
        check_witness(&store, &settings, &range, &problem).await;
        let (tx, mut rx) = mpsc::channel::<Pending>(QUEUE);
        let (deferred, mut deferred_rx) = mpsc::channel::<Pending>(QUEUE);
        let (cp_tx, mut cp_rx) = mpsc::channel::<oneshot::Sender<Result<String, String>>>(8);
        let monitor = Arc::new(ArcSwapOption::empty());
        let log = AuditLog {
            monitor: Arc::clone(&monitor),
            vkey: settings.signer.verifier_key(),
            witness_dir: settings.witness_dir.clone(),
            tx,
            deferred,
            durability: settings.durability,
            problem: Arc::clone(&problem),
            failing: Arc::clone(&failing),
            checkpoint_now: cp_tx,
        };
        // Wrapping keys an interrupted erasure left behind are destroyed now;
        // this run wraps under a key of its own.
        sweep_destroyed_keys(&store, &settings.payload_keys)
            .await
            .map_err(|e| StoreError::Corrupt {
                what: "payload wrapping keys",
                detail: e.to_string(),
            })?;
        let wrap = new_wrap_key(&store, &settings.payload_keys).await?;
        let mut writer = Writer {
            store,
            range,
            wrap,
            wrapped: 0,
            settings,
            problem,
            failing,
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            feed: feed::Feed::start(monitor),
        };
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            let mut last_write = Instant::now();
            loop {
                tokio::select! {
                    first = rx.recv() => {
                        // Every handle dropped (the gateway stopped): what was
                        // queued is written; the final checkpoint follows the loop.
                        let Some(first) = first else { break };
                        // Deferred records ride along: no fsync of their own.
                        let mut batch = Vec::new();
                        while batch.len() < MAX_BATCH / 2 {
                            match deferred_rx.try_recv() {
                                Ok(p) => batch.push(p),
                                Err(_) => break,
                            }
                        }
                        batch.push(first);
                        if writer.settings.durability == Durability::Batched {
                            let since = last_write.elapsed();
                            if since < BATCHED_LINGER {
                                tokio::time::sleep(BATCHED_LINGER - since).await;
                            }
                        }
                        while batch.len() < MAX_BATCH {
                            match rx.try_recv() {
                                Ok(p) => batch.push(p),
                                Err(_) => break,
                            }
                        }
                        writer.write(batch).await;
                        last_write = Instant::now();
                    }
                    Some(reply) = cp_rx.recv() => {
                        let _ = reply.send(writer.checkpoint().await);
                    }
                    _ = tick.tick() => {
                        let mut late = Vec::new();
                        while late.len() < MAX_BATCH {
                            match deferred_rx.try_recv() {
                                Ok(p) => late.push(p),
                                Err(_) => break,
                            }
                        }
                        if !late.is_empty() {
                            writer.write(late).await;
                        }
                        if writer.since_checkpoint > 0 && writer.last_checkpoint.elapsed() >= writer.settings.checkpoint_interval {
                            let _ = writer.checkpoint().await;
                        }
                    }
                    _ = shutdown.changed() => {
                        // Drain what is queued, then a final checkpoint.
                        rx.close();
                        deferred_rx.close();
                        let mut rest = Vec::new();
                        while let Some(p) = deferred_rx.recv().await {
                            rest.push(p);
                        }
                        while let Some(p) = rx.recv().await {
                            rest.push(p);
                        }
                        if !rest.is_empty() {
                            writer.write(rest).await;
                        }
                        break;
                    }
                }
            }
            // What was deferred is written before the last checkpoint.
            deferred_rx.close();
            let mut rest = Vec::new();
            while let Some(p) = deferred_rx.recv().await {
                rest.push(p);
            }
            if !rest.is_empty() {
                writer.write(rest).await;
            }
            // A last checkpoint, so that the witness covers every record.
            if writer.since_checkpoint > 0
                && let Err(e) = writer.checkpoint().await
            {
                tracing::error!(error = %e, "the final checkpoint failed");
            }
        });
        Ok((log, task))
    }

    /// Tells `monitor` of every record, batch and checkpoint from now on.
    pub fn set_monitor(&self, monitor: Arc<warden_monitor::Monitor>) {
        self.monitor.store(Some(monitor));
    }

    /// Appends one record. In sync mode, returns once it is durable, with its
    /// index; in batched mode, once it is queued (index unknown: `None`).
    pub async fn append(
        &self,
        mut record: AuditRecord,
        payload: Option<Vec<u8>>,
    ) -> Result<Option<u64>, AuditError> {
        if let Some(p) = self.problem.load_full() {
            return Err(AuditError::Unavailable(p.to_string()));
        }
        let sealed = seal_into(&mut record, payload);
        match self.durability {
            Durability::Sync => {
                let (done, wait) = oneshot::channel();
                self.tx
                    .send(Pending {
                        record,
                        sealed,
                        done: Some(done),
                    })
                    .await
                    .map_err(|_| AuditError::Unavailable("the audit writer stopped".into()))?;
                match wait.await {
                    Ok(Ok(index)) => Ok(Some(index)),
                    Ok(Err(e)) => Err(AuditError::Unavailable(e)),
                    Err(_) => Err(AuditError::Unavailable("the audit writer stopped".into())),
                }
            }
            Durability::Batched => {
                self.tx
                    .send(Pending {
                        record,
                        sealed,
                        done: None,
                    })
                    .await
                    .map_err(|_| AuditError::Unavailable("the audit writer stopped".into()))?;
                Ok(None)
            }
        }
    }

    /// Appends a record that need not be durable before anyone is answered
    /// (an observation of a result whose action is already on record): it
    /// goes with the next batch of records, or within half a second, and
    /// costs no commit of its own. A crash can lose it.
    pub async fn append_deferred(&self, mut record: AuditRecord) -> Result<(), AuditError> {
        if let Some(p) = self.problem.load_full() {
            return Err(AuditError::Unavailable(p.to_string()));
        }
        let sealed = seal_into(&mut record, None);
        self.deferred
            .send(Pending {
                record,
                sealed,
                done: None,
            })
            .await
            .map_err(|_| AuditError::Unavailable("the audit writer stopped".into()))
    }

    /// As [`AuditLog::append_deferred`], without waiting: `false` (and the
    /// record dropped) when the writer's queue is full or it stopped. For
    /// records a flood could produce, which must never hold a request up.
    pub fn try_append_deferred(&self, mut record: AuditRecord) -> bool {
        if self.problem.load().is_some() {
            return false;
        }
        let sealed = seal_into(&mut record, None);
        self.deferred
            .try_send(Pending {
                record,
                sealed,
                done: None,
            })
            .is_ok()
    }

    /// Signs and publishes a checkpoint of the log as it is now.
    pub async fn checkpoint(&self) -> Result<String, AuditError> {
        let (reply, wait) = oneshot::channel();
        self.checkpoint_now
            .send(reply)
            .await
            .map_err(|_| AuditError::Unavailable("the audit writer stopped".into()))?;
        wait.await
            .map_err(|_| AuditError::Unavailable("the audit writer stopped".into()))?
            .map_err(AuditError::Unavailable)
    }

    /// The checkpoint verifier key (C2SP vkey).
    pub fn verifier_key(&self) -> String {
        self.vkey.clone()
    }

    /// The directory checkpoints are published to (the witness).
    pub fn witness_dir(&self) -> &std::path::Path {
        &self.witness_dir
    }

    /// Why the log cannot be written, if it cannot: a lasting problem (a
    /// rollback, a fork), or the error of the last write if it failed (cleared
    /// by the next write that succeeds).
    pub fn problem(&self) -> Option<String> {
        self.problem
            .load_full()
            .or_else(|| self.failing.load_full())
            .map(|p| p.to_string())
    }
}

struct Writer {
    /// The monitor's own thread, told of every commit and checkpoint.
    feed: feed::Feed,
    store: AnyStore,
    range: CompactRange,
    /// The key payload keys are wrapped under now…
    wrap: WrapKey,
    /// …and how many it wrapped.
    wrapped: u64,
    settings: AuditSettings,
    problem: Arc<ArcSwapOption<String>>,
    failing: Arc<ArcSwapOption<String>>,
    since_checkpoint: u64,
    last_checkpoint: Instant,
}

impl Writer {
    /// Takes a fresh wrapping key.
    async fn rotate_wrap_key(&mut self) -> Result<(), StoreError> {
        self.wrap = new_wrap_key(&self.store, &self.settings.payload_keys).await?;
        self.wrapped = 0;
        Ok(())
    }

    async fn write(&mut self, mut batch: Vec<Pending>) {
        let sealed = batch.iter().filter(|p| p.sealed.is_some()).count() as u64;
        if sealed > 0
            && self.wrapped >= WRAPS_PER_KEY
            && let Err(e) = self.rotate_wrap_key().await
        {
            return self.fail(batch, &e.to_string());
        }
        let mut attempt = 0;
        loop {
            let mut range = self.range.clone();
            let expected = range.size();
            let (rows, indices) = build_batch(&mut range, &mut batch, Some(&self.wrap));
            let started = Instant::now();
            let mut again = Renumber {
                pending: &mut batch,
                wrap: Some(&self.wrap),
                done: None,
            };
            // Another writer (another node, the CLI) may have appended: the
            // batch is then numbered again under the store's lock.
            let result = self
                .store
                .audit_append_caught_up(expected, &rows, &mut again)
                .await
                .map(|_| match again.done.take() {
                    Some(caught_up) => caught_up,
                    None => (range, indices),
                });
            let commit = started.elapsed();
            match result {
                Ok((range, indices)) => {
                    self.range = range;
                    self.wrapped += sealed;
                    if self.failing.load().is_some() {
                        self.failing.store(None);
                    }
                    self.since_checkpoint += indices.len() as u64;
                    let mut records = Vec::with_capacity(batch.len());
                    for (mut p, index) in batch.into_iter().zip(indices) {
                        if let Some(done) = p.done.take() {
                            let _ = done.send(Ok(index));
                        }
                        records.push(p.record);
                    }
                    // After the answers, on the monitor's thread: watching
                    // costs neither the decisions nor the next batch.
                    self.feed
                        .batch(records, commit.as_secs_f64(), self.range.size());
                    if self.since_checkpoint >= self.settings.checkpoint_every {
                        let _ = self.checkpoint().await;
                    }
                    return;
                }
                Err(StoreError::WrapKeyDestroyed { .. }) if attempt < 3 => {
                    // An erasure destroyed the key this batch was wrapped
                    // under: wrap again under a fresh one.
                    attempt += 1;
                    if let Err(e) = self.rotate_wrap_key().await {
                        return self.fail(batch, &e.to_string());
                    }
                }
                Err(e) => return self.fail(batch, &e.to_string()),
            }
        }
    }

    fn fail(&mut self, batch: Vec<Pending>, error: &str) {
        tracing::error!(%error, records = batch.len(), "audit append failed; the decisions are denied");
        self.failing
            .store(Some(Arc::new(format!("the last write failed: {error}"))));
        for p in batch {
            if let Some(done) = p.done {
                let _ = done.send(Err(error.to_owned()));
            }
        }
    }

    async fn checkpoint(&mut self) -> Result<String, String> {
        let cp = Checkpoint {
            origin: self.settings.origin.clone(),
            size: self.range.size(),
            root: self.range.root(),
        };
        let note = self.settings.signer.sign(&cp);
        self.store
            .audit_put_checkpoint(&CheckpointRow {
                size: cp.size,
                note: note.clone(),
                created_at: now_ms(),
            })
            .await
            .map_err(|e| e.to_string())?;
        // File writes and fsyncs block: off the async task.
        let (dir, size, text) = (self.settings.witness_dir.clone(), cp.size, note.clone());
        let published = tokio::task::spawn_blocking(move || publish(&dir, size, &text))
            .await
            .unwrap_or_else(|e| Err(format!("publishing the checkpoint stopped: {e}")));
        if let Err(e) = published {
            // A checkpoint the witness holds differently is a fork: stop.
            tracing::error!(error = %e, "publishing the checkpoint failed");
            self.problem.store(Some(Arc::new(e.clone())));
            return Err(e);
        }
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        self.feed.checkpoint();
        Ok(note)
    }
}
