//! `warden-audit-verify`: checks a Warden audit export, or a compliance
//! evidence pack, offline, with nothing but the directory and the log's
//! verifier key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use warden_audit::export::VKEY_FILE;
use warden_audit::pack::{EVIDENCE_DIR, REPORT_FILE};

/// Verify a Warden audit log export offline (every record, every sealed
/// payload still present, every signed checkpoint), or an evidence pack
/// from `warden report` (the checkpoint, each record's inclusion proof,
/// each file's digest, and every claim recomputed from its records).
#[derive(Debug, Parser)]
#[command(name = "warden-audit-verify", version)]
struct Args {
    /// The export directory (records.jsonl, payloads.jsonl, checkpoints/,
    /// vkey) or evidence pack (report.json, evidence/, files/).
    dir: PathBuf,
    /// A file holding the log's verifier key (default: DIR/vkey, or
    /// DIR/evidence/vkey for a pack). Get the key from a source you trust,
    /// not from the directory, to rule out a re-signed log.
    #[arg(long, value_name = "FILE", conflicts_with = "vkey_string")]
    vkey: Option<PathBuf>,
    /// The log's verifier key itself, `<name>+<hash>+<key>`.
    #[arg(long, value_name = "KEY")]
    vkey_string: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let is_pack = args.dir.join(REPORT_FILE).is_file();
    let default_key = if is_pack {
        args.dir.join(EVIDENCE_DIR).join(VKEY_FILE)
    } else {
        args.dir.join(VKEY_FILE)
    };
    let vkey = match (&args.vkey_string, &args.vkey) {
        (Some(key), _) => key.trim().to_owned(),
        (None, file) => {
            let path = file.clone().unwrap_or(default_key);
            match std::fs::read_to_string(&path) {
                Ok(text) => text.trim().to_owned(),
                Err(e) => {
                    eprintln!(
                        "error: cannot read the verifier key {}: {e}",
                        path.display()
                    );
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    if is_pack {
        return verify_pack(&args.dir, &vkey);
    }
    match warden_audit::verify_export(&args.dir, &vkey) {
        Ok(report) => {
            println!(
                "ok: {} records, {} checkpoints, tree size {}, root {}",
                report.records,
                report.checkpoints,
                report.size,
                hex::encode(report.root)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn verify_pack(dir: &Path, vkey: &str) -> ExitCode {
    match warden_audit::pack::verify_pack(dir, vkey) {
        Ok(report) => {
            for claim in &report.claims {
                println!("verified {} = {} ({})", claim.id, claim.value, claim.how);
            }
            println!(
                "ok: evidence pack, {} claims verified; {} records proven against the checkpoint of tree size {}, root {}; {} files",
                report.claims.len(),
                report.records,
                report.tree_size,
                hex::encode(report.root),
                report.files
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
