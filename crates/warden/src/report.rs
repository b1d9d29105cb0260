//! `warden report eu-ai-act|dora|nis2|all --out DIR`: an evidence pack.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use warden_compliance::{PDF_FILE, ReportKind};
use warden_gateway::reports::{ReportRequest, ReportSources, config_text, evidence_pack};
use warden_gateway::{compile_inputs, load_inputs};
use warden_store::AuditStore as _;

use crate::common::Common;
use crate::serve::now_millis;

/// `warden report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// `eu-ai-act`, `dora`, `nis2` or `all`.
    kind: String,
    /// Only this agent.
    #[arg(long)]
    agent: Option<String>,
    /// Start of the period: `2026-06-01`, `2026-06-01T08:00:00Z` or unix ms (default: the log's start).
    #[arg(long)]
    from: Option<String>,
    /// End of the period, exclusive, in the same forms (default: now).
    #[arg(long)]
    to: Option<String>,
    /// The evidence pack's directory (created; must be empty).
    #[arg(long)]
    out: PathBuf,
    /// Do not render report.pdf even when Chromium is installed.
    #[arg(long)]
    no_pdf: bool,
}

pub(crate) async fn run(common: &Common, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let kinds = ReportKind::parse_list(&args.kind)?;
    let from_ms = args
        .from
        .as_deref()
        .map(|t| parse_time("--from", t))
        .transpose()?;
    let to_ms = args
        .to
        .as_deref()
        .map(|t| parse_time("--to", t))
        .transpose()?;
    if args.out.exists() && std::fs::read_dir(&args.out)?.next().is_some() {
        bail!(
            "`{}` is not empty: an evidence pack is written to a new directory",
            args.out.display()
        );
    }
    let source = common.source();
    let config = common.load_config(&source)?;
    let text = config_text(&source)?;
    let store = common.open_store().await?;
    let inputs = load_inputs(&source, Arc::clone(&config), &store).await?;
    let snapshot = compile_inputs(inputs.clone())
        .await
        .map_err(warden_gateway::GatewayError::from)?;
    let (signer, _) = common.checkpoint_signer(&config)?;
    let vkey = signer.verifier_key();

    // Sign the log up to its last record, as `audit export` does.
    let size = store.audit_size().await?;
    let newest = store
        .audit_checkpoints()
        .await?
        .into_iter()
        .map(|c| c.size)
        .max();
    if size > 0 && newest != Some(size) {
        crate::audit::checkpoint_now(common, &config, &store, &signer, size).await?;
    }
    let request = ReportRequest {
        kinds,
        agent: args.agent,
        from_ms,
        to_ms,
    };
    let sources = ReportSources {
        store: &store,
        config: &config,
        config_text: &text,
        inputs: &inputs,
        policy_digest: &snapshot.digest,
        vkey: &vkey,
    };
    let pack = evidence_pack(sources, &request, now_millis()).await?;
    warden_compliance::write_pack(&args.out, &pack.document, &pack.files, &pack.audit)?;
    let claims: usize = pack
        .document
        .reports
        .iter()
        .flat_map(|r| &r.sections)
        .map(|s| s.claims.len())
        .sum();
    println!(
        "wrote {} ({} reports, {claims} claims, records {}..{} proven against checkpoint {})",
        args.out.display(),
        pack.document.reports.len(),
        pack.document.evidence.first_index,
        pack.document.evidence.end_index,
        pack.document.evidence.tree_size
    );
    if !args.no_pdf {
        match chromium() {
            Some(browser) => {
                print_pdf(&browser, &args.out)?;
                println!("rendered {}", args.out.join(PDF_FILE).display());
            }
            None => {
                println!("no Chromium found: report.pdf not rendered (print report.html instead)")
            }
        }
    }
    println!("verify offline: warden-audit-verify {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Headless Chromium, if installed.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Prints `dir/report.html` to `dir/report.pdf` with headless Chromium.
fn print_pdf(browser: &Path, dir: &Path) -> anyhow::Result<()> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", dir.display()))?;
    let html = dir.join(warden_compliance::HTML_FILE);
    let pdf = dir.join(PDF_FILE);
    let profile = tempfile_dir()?;
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .with_context(|| format!("cannot run {}", browser.display()))?;
    let _ = std::fs::remove_dir_all(&profile);
    if !out.status.success() || !pdf.is_file() {
        bail!(
            "{} could not print report.pdf ({}): {}",
            browser.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// A fresh directory for Chromium's profile, so that it never touches the user's.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "warden-report-{}-{}",
        std::process::id(),
        now_millis()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    Ok(dir)
}

/// `2026-06-01`, `2026-06-01T08:00:00Z` or unix milliseconds.
fn parse_time(flag: &str, text: &str) -> anyhow::Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || {
        anyhow::anyhow!(
            "{flag} `{text}`: expected a date (`2026-06-01`), a UTC time (`2026-06-01T08:00:00Z`) or unix milliseconds"
        )
    };
    let (date, clock) = match text.split_once('T') {
        Some((d, t)) => (d, t.strip_suffix('Z').ok_or_else(bad)?),
        None => (text, "00:00:00"),
    };
    let num = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = clock.split(':').collect();
    let ([y, m, day], [hh, mm, ss]) = (d.as_slice(), t.as_slice()) else {
        return Err(bad());
    };
    let (y, m, day) = (num(y)?, num(m)?, num(day)?);
    let (hh, mm, ss) = (num(hh)?, num(mm)?, num(ss)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return Err(bad());
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 86_400) + hh * 3600 + mm * 60 + ss) * 1000)
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(parse_time("--from", "1970-01-01").ok(), Some(0));
        assert_eq!(
            parse_time("--from", "2026-01-01T00:00:00Z").ok(),
            Some(1_767_225_600_000)
        );
        assert_eq!(
            parse_time("--from", "1767225600000").ok(),
            Some(1_767_225_600_000)
        );
        assert!(parse_time("--from", "2026-13-01").is_err());
        assert!(parse_time("--from", "yesterday").is_err());
    }
}
