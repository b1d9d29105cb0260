//! `warden-audit-verify`: checks a Warden audit export offline, with nothing
//! but the export and the log's verifier key.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use warden_audit::export::VKEY_FILE;

/// Verify a Warden audit log export offline: every record, every sealed
/// payload still present, and every signed checkpoint.
#[derive(Debug, Parser)]
#[command(name = "warden-audit-verify", version)]
struct Args {
    /// The export directory (records.jsonl, payloads.jsonl, checkpoints/, vkey).
    dir: PathBuf,
    /// A file holding the log's verifier key (default: DIR/vkey). Get the key
    /// from a source you trust, not from the export, to rule out a re-signed log.
    #[arg(long, value_name = "FILE", conflicts_with = "vkey_string")]
    vkey: Option<PathBuf>,
    /// The log's verifier key itself, `<name>+<hash>+<key>`.
    #[arg(long, value_name = "KEY")]
    vkey_string: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let vkey = match (&args.vkey_string, &args.vkey) {
        (Some(key), _) => key.trim().to_owned(),
        (None, file) => {
            let path = file.clone().unwrap_or_else(|| args.dir.join(VKEY_FILE));
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
    match warden_audit::verify_export(&args.dir, &vkey) {
        Ok(report) => {
            println!(
                "ok: {} records, {} checkpoints, tree size {}, root {}",
                report.records,
                report.checkpoints,
                report.size,
                hex(&report.root)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}
