//! What the audit writer tells the monitor, on a thread of the monitor's
//! own: events, metrics and alert rules run beside the writer, not between
//! its batches, so that watching never holds up the next commit. The queue
//! is bounded; a monitor that falls that far behind skips batches and says
//! so (an event naming how many records went unwatched), rather than
//! slowing the log.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwapOption;
use tokio::sync::mpsc;
use warden_audit::AuditRecord;
use warden_monitor::Monitor;

/// Batches waiting for the monitor at most.
const QUEUE: usize = 1024;

enum Item {
    Batch {
        records: Vec<AuditRecord>,
        commit_seconds: f64,
        log_size: u64,
    },
    Checkpoint,
}

/// The writer's end of the feed.
#[derive(Debug)]
pub(super) struct Feed {
    tx: mpsc::Sender<Item>,
    skipped: Arc<AtomicU64>,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("feed item")
    }
}

impl Feed {
    /// Starts the monitor's thread; it ends when the writer drops the feed.
    pub(super) fn start(monitor: Arc<ArcSwapOption<Monitor>>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Item>(QUEUE);
        let skipped = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&skipped);
        let spawned = std::thread::Builder::new()
            .name("warden-monitor".into())
            .spawn(move || {
                while let Some(item) = rx.blocking_recv() {
                    let Some(monitor) = monitor.load_full() else {
                        continue;
                    };
                    let lost = seen.swap(0, Ordering::Relaxed);
                    if lost > 0 {
                        let mut event =
                            warden_monitor::Event::new("gap", crate::now_millis());
                        event.note = Some(format!(
                            "the monitor fell behind: {lost} audit records were not watched (no events, metrics or alerts for them; the audit log holds them)"
                        ));
                        monitor.publish(event);
                    }
                    match item {
                        Item::Batch {
                            records,
                            commit_seconds,
                            log_size,
                        } => {
                            monitor.on_records(&records.iter().collect::<Vec<_>>());
                            monitor.on_batch(records.len(), commit_seconds, log_size);
                        }
                        Item::Checkpoint => monitor.on_checkpoint(),
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the monitor's thread: nothing will be watched");
        }
        Self { tx, skipped }
    }

    /// Hands a committed batch over; never waits.
    pub(super) fn batch(&self, records: Vec<AuditRecord>, commit_seconds: f64, log_size: u64) {
        let count = records.len() as u64;
        let item = Item::Batch {
            records,
            commit_seconds,
            log_size,
        };
        if self.tx.try_send(item).is_err() {
            self.skipped.fetch_add(count, Ordering::Relaxed);
        }
    }

    /// Tells of a checkpoint; never waits.
    pub(super) fn checkpoint(&self) {
        let _ = self.tx.try_send(Item::Checkpoint);
    }
}
