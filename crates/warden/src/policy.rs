//! `warden policy lint | test`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use warden_gateway::{compile_inputs, load_inputs};
use warden_policy::{TestCases, classification};

use crate::common::Common;

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Compile and type-check manifests and org-wide policies; report every mistake.
    Lint,
    /// Run policy test cases (YAML) and report each failure with its reasons.
    Test {
        /// The cases file.
        cases: PathBuf,
    },
}

pub(crate) async fn run(common: &Common, command: PolicyCommand) -> anyhow::Result<ExitCode> {
    let source = common.source();
    let config = common.load_config(&source)?;
    let store = common.open_store().await?;
    let inputs = load_inputs(&source, Arc::clone(&config), &store).await;
    let manifests = inputs
        .as_ref()
        .map(|i| i.manifests.clone())
        .unwrap_or_default();
    let snapshot = match inputs {
        Ok(inputs) => compile_inputs(inputs)
            .await
            .map_err(warden_gateway::GatewayError::from),
        Err(e) => Err(e),
    };
    let snapshot = match snapshot {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    match command {
        PolicyCommand::Lint => {
            // A classification claim says what it rests on; what the agent
            // can do suggests one, never applied.
            let missing: Vec<_> = manifests
                .iter()
                .flat_map(classification::missing_fields)
                .collect();
            for m in &manifests {
                let s = classification::suggest(m);
                if !s.agrees_with(m) {
                    println!(
                        "suggestion: {}: agent `{}`: consider `eu_ai_act: {}`{}{} ({}; declared: {}{})",
                        s.file,
                        s.agent,
                        s.eu_ai_act,
                        s.annex_iii
                            .map(|p| format!(" (Annex III {p}: claim it, or rule it out with `not_high_risk_reason`)"))
                            .unwrap_or_default(),
                        if s.dora_critical { " and `dora_critical: true`" } else { "" },
                        s.because,
                        m.risk.eu_ai_act.as_deref().unwrap_or("no class"),
                        if m.risk.dora_critical { ", dora_critical" } else { "" },
                    );
                }
            }
            if !missing.is_empty() {
                for d in &missing {
                    eprintln!("{d}");
                }
                eprintln!("{} classification field(s) missing", missing.len());
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "ok: {} agents, {} policies, {} tools ({})",
                snapshot.agents.len(),
                snapshot.policies.len(),
                snapshot
                    .tools
                    .values()
                    .map(std::collections::HashMap::len)
                    .sum::<usize>(),
                snapshot.digest
            );
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Test { cases } => {
            let text = std::fs::read_to_string(&cases)
                .with_context(|| format!("cannot read `{}`", cases.display()))?;
            let cases = TestCases::parse(&cases.display().to_string(), &text)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let report = cases.run(&snapshot);
            for f in &report.failures {
                println!("FAIL {}: expected {}, got {}", f.name, f.expected, f.got);
                for r in &f.reasons {
                    println!("     {r}");
                }
            }
            println!(
                "{} passed, {} failed ({} cases in {})",
                report.passed,
                report.failures.len(),
                cases.len(),
                cases.file()
            );
            Ok(if report.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
