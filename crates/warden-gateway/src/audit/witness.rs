//! Publishing checkpoints to the witness directory, and checking the log
//! against what was published (rollback and fork detection).

use std::path::{Path, PathBuf};

use arc_swap::ArcSwapOption;
use std::sync::Arc;
use warden_audit::CompactRange;
use warden_store::{AnyStore, AuditStore, StoreError};

use super::AuditSettings;

/// The witness file of a checkpoint of `size`.
pub fn witness_file(dir: &Path, size: u64) -> PathBuf {
    dir.join(format!("{size:020}.note"))
}

/// Publishes a checkpoint: a new file, never overwritten, that appears whole
/// or not at all. The note is written and synced to a temporary file first,
/// then linked to its name (which fails if the name exists: never
/// overwritten), so a crash mid-write leaves no partial note to be read as a
/// fork.
pub fn publish(dir: &Path, size: u64, note: &str) -> Result<(), String> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create witness directory `{}`: {e}", dir.display()))?;
    let path = witness_file(dir, size);
    if path.exists() {
        return same_as_published(&path, size, note);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let temp = dir.join(format!(".{size:020}.{}.{nanos}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut f| f.write_all(note.as_bytes()).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(format!("cannot write `{}`: {e}", temp.display()));
    }
    let linked = std::fs::hard_link(&temp, &path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            // The new name is durable once the directory is synced.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            same_as_published(&path, size, note)
        }
        Err(e) => Err(format!("cannot write `{}`: {e}", path.display())),
    }
}

/// `Ok` when the published note of `size` is `note`; a different one is a fork.
fn same_as_published(path: &Path, size: u64, note: &str) -> Result<(), String> {
    let existing = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    if existing == note {
        Ok(())
    } else {
        Err(format!(
            "fork detected: the witness holds a different checkpoint of size {size} in `{}`",
            path.display()
        ))
    }
}

/// The newest checkpoint the witness holds: (size, note).
pub fn latest_witness(dir: &Path) -> Result<Option<(u64, String)>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot read witness directory `{}`: {e}",
                dir.display()
            ));
        }
    };
    let mut best: Option<(u64, PathBuf)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(size) = name
            .strip_suffix(".note")
            .and_then(|s| s.parse::<u64>().ok())
            && best.as_ref().is_none_or(|(b, _)| size > *b)
        {
            best = Some((size, entry.path()));
        }
    }
    match best {
        Some((size, path)) => std::fs::read_to_string(&path)
            .map(|note| Some((size, note)))
            .map_err(|e| format!("cannot read `{}`: {e}", path.display())),
        None => Ok(None),
    }
}

/// Compares the log with the newest published checkpoint: a log shorter than
/// it, or whose root at its size differs, was rolled back or forked. Then the
/// log is unavailable (fail closed) until an operator resolves it.
pub(super) async fn check_witness(
    store: &AnyStore,
    settings: &AuditSettings,
    range: &CompactRange,
    problem: &ArcSwapOption<String>,
) {
    let verdict = rollback_check(
        store,
        &settings.witness_dir,
        &settings.signer.verifier_key(),
        range.size(),
    )
    .await;
    if let Err(e) = verdict {
        tracing::error!(error = %e, "audit log does not match its published checkpoints; decisions are denied");
        problem.store(Some(Arc::new(e)));
    }
}

/// `Ok` when the log of `size` records extends the newest witness checkpoint.
pub async fn rollback_check(
    store: &AnyStore,
    witness: &Path,
    vkey: &str,
    size: u64,
) -> Result<(), String> {
    let Some((_, note)) = latest_witness(witness)? else {
        return Ok(());
    };
    let published = warden_audit::open_checkpoint(&note, vkey)
        .map_err(|e| format!("published checkpoint does not verify: {e}"))?;
    if published.size > size {
        return Err(format!(
            "rollback detected: the witness holds a checkpoint of {} records but the log has {size}",
            published.size
        ));
    }
    let root = root_at(store, published.size)
        .await
        .map_err(|e| e.to_string())?;
    if root != published.root {
        return Err(format!(
            "fork detected: the log's root at size {} differs from the published checkpoint",
            published.size
        ));
    }
    Ok(())
}

/// The tree's root at a past `size`, from stored nodes.
pub async fn root_at(store: &AnyStore, size: u64) -> Result<warden_audit::Hash, StoreError> {
    let plan = warden_audit::root_plan(size);
    let hashes = fetch(store, &plan).await?;
    hashes.into_iter().next().ok_or(StoreError::Corrupt {
        what: "audit tree",
        detail: "empty root plan".into(),
    })
}

/// Fetches the nodes a plan needs and assembles it.
pub async fn fetch(
    store: &AnyStore,
    plan: &warden_audit::ProofPlan,
) -> Result<Vec<warden_audit::Hash>, StoreError> {
    let ids: Vec<(u8, u64)> = plan.nodes().iter().map(|n| (n.level, n.index)).collect();
    let nodes: std::collections::HashMap<warden_audit::NodeId, warden_audit::Hash> = store
        .audit_nodes(&ids)
        .await?
        .into_iter()
        .map(|((level, index), h)| (warden_audit::NodeId { level, index }, h))
        .collect();
    plan.assemble(&nodes).map_err(|e| StoreError::Corrupt {
        what: "audit tree",
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11: a crash mid-write left a partial note that the next start
    /// read as a fork.
    #[test]
    fn a_note_appears_whole_or_not_at_all_and_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // What a crash mid-write leaves: a temporary file, never read.
        std::fs::write(dir.path().join(".00000000000000000007.1.2.tmp"), "partial")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(latest_witness(dir.path()), Ok(None));
        assert_eq!(publish(dir.path(), 7, "note seven"), Ok(()));
        assert_eq!(
            publish(dir.path(), 7, "note seven"),
            Ok(()),
            "the same note again is fine"
        );
        let fork = publish(dir.path(), 7, "another note").unwrap_err();
        assert!(fork.contains("fork detected"), "{fork}");
        assert_eq!(
            latest_witness(dir.path()),
            Ok(Some((7, "note seven".to_owned())))
        );
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp") && !n.contains(".1.2."))
            .collect();
        assert!(names.is_empty(), "temporary files are removed: {names:?}");
    }
}
