//! `warden decide`: one decision from the command line, through the gateway.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct DecideArgs {
    /// File holding the agent's JWT-SVID.
    #[arg(long)]
    token_file: PathBuf,
    /// Tool server.
    #[arg(long)]
    server: String,
    /// Tool.
    #[arg(long)]
    tool: String,
    /// Arguments, a JSON object.
    #[arg(long, default_value = "{}")]
    args: String,
    /// Session id.
    #[arg(long, default_value = "cli")]
    session: String,
    /// The gateway's data plane.
    #[arg(long, env = crate::env::GATEWAY, default_value = "http://127.0.0.1:7700")]
    gateway: String,
}

pub(crate) async fn run(args: DecideArgs) -> anyhow::Result<ExitCode> {
    let token = std::fs::read_to_string(&args.token_file)
        .with_context(|| format!("cannot read `{}`", args.token_file.display()))?;
    let parsed: serde_json::Value =
        serde_json::from_str(&args.args).context("--args is not valid JSON")?;
    let body = serde_json::json!({"server": args.server, "tool": args.tool, "args": parsed, "session": args.session});
    let url = format!("{}/v1/decisions", args.gateway.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token.trim())
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach the gateway at {url}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .context("cannot read the gateway's answer")?;
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    println!("{}", serde_json::to_string_pretty(&value)?);
    let allowed =
        status.is_success() && value.get("decision").and_then(|d| d.as_str()) == Some("allow");
    Ok(if allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
