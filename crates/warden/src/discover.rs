//! `warden discover PATH…`: find agents and agent tooling on hosts and in
//! repositories that Warden does not govern (see `warden-discover`), print
//! them as a table, JSON or SARIF, and optionally push them to a running
//! Warden.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use warden_discover::{DEFAULT_MAX_FILE_BYTES, Gateways, Report, ScanOptions};

use crate::common::Common;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table and a summary line.
    Table,
    /// The report as JSON (the shape `--report` sends).
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// An MCP server or container that does not go through Warden.
    Bypass,
    /// A provider key or other secret written in a file.
    Secret,
}

#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    /// Files and directories to scan (default: the current directory).
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// A Warden gateway's base URL: MCP URLs under its `/mcp/` are governed
    /// (repeatable; default: port 7700 on localhost, 127.0.0.1 and `[::1]`).
    #[arg(long = "gateway", value_name = "URL")]
    gateways: Vec<String>,
    /// Count this agent as registered, besides those of the configuration
    /// and the store (repeatable).
    #[arg(long = "agent", value_name = "NAME")]
    agents: Vec<String>,
    /// Do not read warden.toml, the agent manifests or the store for the
    /// registered agents.
    #[arg(long)]
    no_config: bool,
    /// Do not enter or read paths matching this glob (gitignore syntax; repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Files larger than this many bytes are counted, not read.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FILE_BYTES)]
    max_file_size: u64,
    /// Walker threads (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Exit with status 1 when something bypasses Warden, or a secret is written in a file.
    #[arg(long, value_enum, value_name = "WHAT")]
    fail_on: Vec<FailOn>,
    /// Push the report to a running Warden's admin plane: POST
    /// URL/v1/inventory/discoveries (e.g. http://127.0.0.1:7701).
    #[arg(long, value_name = "URL")]
    report: Option<String>,
    /// The admin token for --report (default: $WARDEN_ADMIN_TOKEN, else `<data-dir>/admin.token`).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
}

pub(crate) async fn run(common: &Common, args: DiscoverArgs) -> anyhow::Result<ExitCode> {
    let mut options = ScanOptions::new(if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    });
    if !args.gateways.is_empty() {
        options.gateways = Gateways::from_urls(&args.gateways)?;
    }
    options.registered_agents = registered_agents(common, &args).await;
    options.exclude = args.exclude.clone();
    options.max_file_bytes = args.max_file_size;
    options.threads = args.threads;
    options.host = hostname();
    let report = tokio::task::spawn_blocking(move || warden_discover::scan(&options))
        .await
        .context("the scan stopped")??;
    let output = match args.format {
        Format::Table => report.table(),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
        Format::Sarif => format!(
            "{}\n",
            serde_json::to_string_pretty(&warden_discover::to_sarif(&report))?
        ),
    };
    write_stdout(&output)?;
    if args.format != Format::Table {
        eprint!("{}", report.summary());
    }
    if let Some(url) = &args.report {
        push(common, &args, url, &report).await?;
    }
    let bypass = args.fail_on.contains(&FailOn::Bypass) && report.bypassing().next().is_some();
    let secret = args.fail_on.contains(&FailOn::Secret)
        && report.findings.iter().any(|f| f.has_live_secret());
    Ok(if bypass || secret {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The agents of the configuration's manifests and of the store, plus
/// `--agent`; what cannot be read is said on stderr and left out.
async fn registered_agents(common: &Common, args: &DiscoverArgs) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = args.agents.iter().cloned().collect();
    if args.no_config {
        return names;
    }
    let source = common.source();
    match common
        .load_config(&source)
        .and_then(|config| source.inputs(config).map_err(|e| anyhow::anyhow!("{e}")))
    {
        Ok(inputs) => {
            let declared: Vec<String> = inputs
                .manifests
                .iter()
                .map(|m| m.name.to_string())
                .collect();
            eprintln!(
                "registered agents from {}: {}",
                source.describe(),
                if declared.is_empty() {
                    "none".to_owned()
                } else {
                    declared.join(", ")
                }
            );
            names.extend(declared);
        }
        Err(e) => eprintln!(
            "note: registered agents of {} not read: {e:#}",
            source.describe()
        ),
    }
    // The store only when there is one: discovery creates nothing.
    if common.store.is_some() || common.data_dir.join("warden.db").is_file() {
        match common.open_store().await {
            Ok(store) => match warden_store::Store::agents(&store).await {
                Ok(records) => names.extend(records.into_iter().map(|r| r.name.to_string())),
                Err(e) => eprintln!("note: registered agents in the store not read: {e}"),
            },
            Err(e) => eprintln!("note: registered agents in the store not read: {e:#}"),
        }
    }
    names
}

/// POSTs the JSON report to `URL/v1/inventory/discoveries` and prints the answer.
async fn push(
    common: &Common,
    args: &DiscoverArgs,
    url: &str,
    report: &Report,
) -> anyhow::Result<()> {
    let token = admin_token(common, args.token_file.as_deref())?;
    let endpoint = format!("{}/v1/inventory/discoveries", url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&endpoint)
        .bearer_auth(token.trim())
        .json(report)
        .send()
        .await
        .with_context(|| format!("cannot reach Warden at {endpoint}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .context("cannot read Warden's answer")?;
    let answer = serde_json::from_str::<serde_json::Value>(&text)
        .map_or_else(|_| text.clone(), |v| v.to_string());
    if !status.is_success() {
        bail!("Warden refused the report ({status}): {answer}");
    }
    eprintln!(
        "reported {} findings to {endpoint}: {status} {answer}",
        report.findings.len()
    );
    Ok(())
}

/// `--token-file`, else `$WARDEN_ADMIN_TOKEN`, else `<data-dir>/admin.token`.
fn admin_token(common: &Common, file: Option<&Path>) -> anyhow::Result<String> {
    if file.is_none()
        && let Ok(token) = std::env::var(crate::env::ADMIN_TOKEN)
        && !token.trim().is_empty()
    {
        return Ok(token);
    }
    let path = file.map_or_else(|| common.data_dir.join("admin.token"), Path::to_owned);
    std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the admin token `{}` (give --token-file or set {})",
            path.display(),
            crate::env::ADMIN_TOKEN
        )
    })
}

/// The host's name, as the kernel knows it (`unknown` if it cannot be read).
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
