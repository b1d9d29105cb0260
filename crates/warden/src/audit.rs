//! `warden audit verify | prove | checkpoint | export | erase`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use warden_audit::{AuditRecord, Checkpoint, RecordKind};
use warden_gateway::audit::{append_direct, fetch, publish, root_at, verify_online};
use warden_store::{AuditStore, CheckpointRow};

use crate::common::{Common, audit_origin};
use crate::serve::now_millis;

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Verify the whole log (online), or an export (offline, `--export DIR`).
    Verify {
        /// Verify this export directory instead of the store.
        #[arg(long)]
        export: Option<PathBuf>,
        /// Start at the checkpoint of this size (stored or published): only the
        /// records after it are read.
        #[arg(long, conflicts_with = "export")]
        from: Option<u64>,
    },
    /// Print an inclusion proof of record N against the newest checkpoint.
    Prove {
        /// The record's index.
        index: u64,
    },
    /// Sign and publish a checkpoint of the log now.
    Checkpoint,
    /// Write records, payload ciphertexts, checkpoints and the verifier key to DIR.
    Export {
        /// The directory (created; must be empty).
        dir: PathBuf,
    },
    /// Destroy the payload key of record N (GDPR erasure); the erasure is itself recorded.
    Erase {
        /// The record's index.
        index: u64,
        /// Why (recorded).
        #[arg(long)]
        reason: String,
    },
}

pub(crate) async fn run(common: &Common, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let source = common.source();
    let config = common.load_config(&source)?;
    let (signer, _) = common.checkpoint_signer(&config)?;
    let vkey = signer.verifier_key();
    match command {
        AuditCommand::Verify {
            export: Some(dir), ..
        } => {
            let vkey = std::fs::read_to_string(dir.join("vkey"))
                .map(|v| v.trim().to_owned())
                .unwrap_or(vkey);
            match warden_audit::verify_export(&dir, &vkey) {
                Ok(r) => {
                    println!(
                        "ok: {} records, {} checkpoints, tree size {}, root {}",
                        r.records,
                        r.checkpoints,
                        r.size,
                        hex(&r.root)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("FAILED: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Verify { export: None, from } => {
            let store = common.open_store().await?;
            match verify_online(&store, &vkey, &common.witness_dir(&config), from).await {
                Ok(r) => {
                    println!(
                        "ok: {} records, {} checkpoints, tree size {}, root {}",
                        r.records,
                        r.checkpoints,
                        r.size,
                        hex(&r.root)
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("FAILED: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Prove { index } => {
            let store = common.open_store().await?;
            let cp = store
                .audit_checkpoints()
                .await?
                .into_iter()
                .last()
                .context("no checkpoint yet: run `warden audit checkpoint`")?;
            if index >= cp.size {
                bail!(
                    "record {index} is not covered by the newest checkpoint (size {}): run `warden audit checkpoint`",
                    cp.size
                );
            }
            let plan = warden_audit::inclusion_plan(index, cp.size)?;
            let proof = fetch(&store, &plan).await?;
            let rows = store.audit_records(index, index + 1).await?;
            let row = rows
                .first()
                .with_context(|| format!("record {index} is missing"))?;
            let out = serde_json::json!({
                "index": index,
                "size": cp.size,
                "record": String::from_utf8_lossy(&row.record),
                "leaf_hash": hex(&row.leaf),
                "proof": proof.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                "checkpoint": cp.note,
                "vkey": vkey,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint => {
            let store = common.open_store().await?;
            let size = store.audit_size().await?;
            let note = checkpoint_now(common, &config, &store, &signer, size).await?;
            print!("{note}");
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { dir } => {
            let store = common.open_store().await?;
            if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
                bail!("`{}` is not empty", dir.display());
            }
            let size = store.audit_size().await?;
            let mut rows = Vec::new();
            let mut from = 0;
            while from < size {
                let page = store.audit_records(from, size).await?;
                let Some(last) = page.last() else { break };
                from = last.index + 1;
                rows.extend(page.into_iter().map(|r| (r.index, r.record, r.payload)));
            }
            // The export must be signed up to its last record: checkpoint now if the
            // newest checkpoint is older than the log.
            let newest = store
                .audit_checkpoints()
                .await?
                .into_iter()
                .map(|c| c.size)
                .max();
            if newest != Some(size) && size > 0 {
                checkpoint_now(common, &config, &store, &signer, size).await?;
            }
            let checkpoints: Vec<String> = store
                .audit_checkpoints()
                .await?
                .into_iter()
                .map(|c| c.note)
                .collect();
            warden_audit::write_export(&dir, rows.into_iter(), &checkpoints, &vkey)?;
            println!(
                "exported {size} records and {} checkpoints to {}",
                checkpoints.len(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Erase { index, reason } => {
            if reason.trim().is_empty() {
                bail!("--reason must say why (it is recorded)");
            }
            let store = common.open_store().await?;
            let erased =
                warden_gateway::audit::erase_payload(&store, &common.payload_keys(), index).await?;
            let mut record = AuditRecord::new(0, now_millis(), RecordKind::Erasure, "cli");
            record.erases = Some(index);
            record.note = Some(reason);
            let at = append_direct(&store, None, vec![(record, None)]).await?;
            println!(
                "erased the payload of record {index}; the erasure is record {}",
                at.first().copied().unwrap_or_default()
            );
            if erased.bare {
                println!(
                    "note: record {index}'s key was stored unwrapped (a log from before key wrapping): copies of the database taken earlier still hold it"
                );
            } else {
                println!(
                    "its wrapping key is destroyed; {} other payload keys were wrapped again under a fresh one",
                    erased.rewrapped
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Signs a checkpoint of the log at `size`, stores it and publishes it.
pub(crate) async fn checkpoint_now(
    common: &Common,
    config: &warden_policy::Config,
    store: &warden_store::AnyStore,
    signer: &warden_audit::CheckpointSigner,
    size: u64,
) -> anyhow::Result<String> {
    let root = root_at(store, size).await?;
    let note = signer.sign(&Checkpoint {
        origin: audit_origin(config),
        size,
        root,
    });
    store
        .audit_put_checkpoint(&CheckpointRow {
            size,
            note: note.clone(),
            created_at: now_millis(),
        })
        .await?;
    publish(&common.witness_dir(config), size, &note).map_err(anyhow::Error::msg)?;
    Ok(note)
}

fn hex(h: &[u8]) -> String {
    hex::encode(h)
}
