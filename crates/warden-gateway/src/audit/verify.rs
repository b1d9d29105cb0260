//! Verifying the whole log in the store, online.

use std::path::{Path, PathBuf};

use warden_audit::{AuditRecord, CompactRange, leaf_hash};
use warden_store::{AnyStore, AuditStore};

/// What an online verification checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records checked.
    pub records: u64,
    /// Checkpoints checked (stored and published).
    pub checkpoints: u64,
    /// The log's size.
    pub size: u64,
    /// Its root.
    pub root: warden_audit::Hash,
}

/// Verifies the whole log in the store: every record against its leaf, every
/// stored node against the recomputed tree, every payload against its
/// record's digest, every stored and published checkpoint's signature and
/// root; and that the log extends the newest published checkpoint. Names the
/// first thing that does not verify.
///
/// With `from = Some(size)`, verification starts at a checkpoint of that size
/// (stored or published, whose signature and root are checked against the
/// stored tree), so only the records after it are read: a range check for
/// large logs whose start was verified before.
pub async fn verify_online(
    store: &AnyStore,
    vkey: &str,
    witness: &Path,
    from: Option<u64>,
) -> Result<VerifyReport, String> {
    verify_online_with_progress(store, vkey, witness, from, &|_, _| {}).await
}

/// [`verify_online`], telling `progress` (records checked, records in the
/// log) after each page of records.
pub async fn verify_online_with_progress(
    store: &AnyStore,
    vkey: &str,
    witness: &Path,
    from: Option<u64>,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<VerifyReport, String> {
    use std::collections::BTreeMap;
    let size = store.audit_size().await.map_err(|e| e.to_string())?;
    let mut wanted: BTreeMap<u64, (String, warden_audit::Hash)> = BTreeMap::new();
    for cp in store.audit_checkpoints().await.map_err(|e| e.to_string())? {
        let opened = warden_audit::open_checkpoint(&cp.note, vkey)
            .map_err(|e| format!("stored checkpoint of size {}: {e}", cp.size))?;
        if opened.size != cp.size {
            return Err(format!(
                "stored checkpoint of size {}: its note says size {}",
                cp.size, opened.size
            ));
        }
        wanted.insert(
            cp.size,
            (
                format!("stored checkpoint of size {}", cp.size),
                opened.root,
            ),
        );
    }
    let mut published = 0u64;
    if let Ok(entries) = std::fs::read_dir(witness) {
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "note"))
            .collect();
        files.sort();
        for path in files {
            let note = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            let opened = warden_audit::open_checkpoint(&note, vkey)
                .map_err(|e| format!("published checkpoint `{}`: {e}", path.display()))?;
            if opened.size > size {
                return Err(format!(
                    "rollback detected: published checkpoint `{}` covers {} records but the log has {size}",
                    path.display(),
                    opened.size
                ));
            }
            if let Some((what, root)) = wanted.get(&opened.size)
                && *root != opened.root
            {
                return Err(format!(
                    "fork detected: published checkpoint `{}` and the {what} disagree",
                    path.display()
                ));
            }
            wanted.insert(
                opened.size,
                (
                    format!("published checkpoint `{}`", path.display()),
                    opened.root,
                ),
            );
            published += 1;
        }
    }
    let mut range = match from {
        None | Some(0) => CompactRange::new(),
        Some(start) => {
            let Some((what, root)) = wanted.get(&start).cloned() else {
                return Err(format!(
                    "no stored or published checkpoint of size {start} to start from"
                ));
            };
            let range = super::load_range_at(store, start)
                .await
                .map_err(|e| format!("the tree at size {start}: {e}"))?;
            if range.root() != root {
                return Err(format!(
                    "{what}: its root does not match the stored tree at that size"
                ));
            }
            range
        }
    };
    let check_root = |range: &CompactRange,
                      wanted: &BTreeMap<u64, (String, warden_audit::Hash)>|
     -> Result<(), String> {
        if let Some((what, root)) = wanted.get(&range.size())
            && *root != range.root()
        {
            return Err(format!("{what}: its root does not match the log's records"));
        }
        Ok(())
    };
    check_root(&range, &wanted)?;
    let first = range.size();
    let mut from = range.size();
    while from < size {
        let rows = store
            .audit_records(from, size)
            .await
            .map_err(|e| e.to_string())?;
        if rows.is_empty() {
            return Err(format!("record {from}: missing"));
        }
        let mut produced: BTreeMap<u8, Vec<(u64, warden_audit::Hash)>> = BTreeMap::new();
        for row in &rows {
            let index = range.size();
            if row.index != index {
                return Err(format!(
                    "record {index}: missing (next stored record is {})",
                    row.index
                ));
            }
            let record =
                AuditRecord::decode(&row.record).map_err(|e| format!("record {index}: {e}"))?;
            if record.index != index {
                return Err(format!(
                    "record {index}: it says it is record {}",
                    record.index
                ));
            }
            let leaf = leaf_hash(&row.record);
            if leaf != row.leaf {
                return Err(format!(
                    "record {index}: its stored leaf hash does not match its bytes"
                ));
            }
            match (&record.payload_digest, &row.payload) {
                (Some(digest), Some(payload)) => {
                    let found = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(payload));
                    if &found != digest {
                        return Err(format!(
                            "record {index}: its sealed payload does not match the digest in the record"
                        ));
                    }
                }
                (Some(_), None) => {
                    return Err(format!("record {index}: its sealed payload is missing"));
                }
                (None, Some(_)) => {
                    return Err(format!(
                        "record {index}: holds a payload its record does not commit to"
                    ));
                }
                (None, None) => {}
            }
            for (node, hash) in range.append(leaf) {
                if node.level > 0 {
                    produced
                        .entry(node.level)
                        .or_default()
                        .push((node.index, hash));
                }
            }
            check_root(&range, &wanted)?;
        }
        progress(range.size(), size);
        for (level, nodes) in produced {
            let (Some(first), Some(last)) = (nodes.first(), nodes.last()) else {
                continue;
            };
            let mut stored: BTreeMap<u64, warden_audit::Hash> = BTreeMap::new();
            let mut at = first.0;
            while at <= last.0 {
                let page = store
                    .audit_node_range(level, at, last.0 + 1)
                    .await
                    .map_err(|e| e.to_string())?;
                let Some(&(end, _)) = page.last() else { break };
                stored.extend(page);
                at = end + 1;
            }
            for (index, hash) in nodes {
                match stored.get(&index) {
                    Some(h) if *h == hash => {}
                    Some(_) => {
                        return Err(format!(
                            "tree node (level {level}, index {index}): its stored hash does not match the records"
                        ));
                    }
                    None => {
                        return Err(format!("tree node (level {level}, index {index}): missing"));
                    }
                }
            }
        }
        from = range.size();
    }
    Ok(VerifyReport {
        records: size - first,
        checkpoints: wanted.len() as u64,
        size,
        root: range.root(),
    })
    .map(|mut r| {
        r.checkpoints = r.checkpoints.max(published);
        r
    })
}
