//! `warden incident …`: incidents with the NIS2 and DORA clocks, and report
//! drafts built from the audit log. Works on the store directly, beside a
//! running gateway (which opens incidents from alerts by itself).

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use warden_gateway::{build_report, incident_record, list_incidents, load_incident, save_incident};
use warden_inventory::csv::rfc3339;
use warden_monitor::incidents::{Incident, Measure};

use crate::common::Common;
use crate::serve::now_millis;

/// A report stage.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Stage {
    /// NIS2 early warning (24 h) and DORA initial notification (4 h).
    EarlyWarning,
    /// NIS2 incident notification (72 h) and DORA intermediate report.
    Notification,
    /// The final report (one month).
    Final,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Self::EarlyWarning => "early-warning",
            Self::Notification => "notification",
            Self::Final => "final",
        }
    }
}

/// A report format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// Markdown for people.
    Md,
    /// JSON for tools.
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum IncidentCommand {
    /// Every incident with its next deadline.
    List,
    /// One incident with all its clocks.
    Show {
        /// The incident's id.
        id: String,
    },
    /// Opens an incident by hand.
    Open {
        /// What happened, in a few words.
        #[arg(long)]
        title: String,
        /// An agent involved (repeatable).
        #[arg(long, required = true)]
        agent: Vec<String>,
        /// `high` or `critical` (or lower, for the record).
        #[arg(long, default_value = "high")]
        severity: String,
        /// An audit record index that is evidence (repeatable).
        #[arg(long)]
        evidence: Vec<u64>,
    },
    /// Drafts a report from the evidence.
    Report {
        /// The incident's id.
        id: String,
        /// Which report.
        #[arg(long, value_enum)]
        stage: Stage,
        /// Output format.
        #[arg(long, value_enum, default_value = "md")]
        format: Format,
    },
    /// Closes an incident.
    Close {
        /// The incident's id.
        id: String,
        /// Why (recorded).
        #[arg(long, default_value = "")]
        note: String,
    },
}

fn next_due(incident: &Incident, now: i64) -> String {
    incident
        .clocks()
        .into_iter()
        .filter(|c| c.due_at > now)
        .min_by_key(|c| c.due_at)
        .map_or_else(
            || "every deadline passed".to_owned(),
            |c| format!("{} {} due {}", c.regime, c.stage, rfc3339(c.due_at)),
        )
}

pub(crate) async fn run(common: &Common, command: IncidentCommand) -> anyhow::Result<ExitCode> {
    let store = common.open_store().await?;
    let now = now_millis();
    match command {
        IncidentCommand::List => {
            println!(
                "{:<44} {:<8} {:<9} {:<21} {:<24} NEXT",
                "ID", "STATUS", "SEVERITY", "DETECTED", "AGENTS"
            );
            for i in list_incidents(&store).await? {
                println!(
                    "{:<44} {:<8} {:<9} {:<21} {:<24} {}",
                    i.id,
                    i.status,
                    i.severity,
                    rfc3339(i.detected_at),
                    i.agents.join(","),
                    if i.status == "open" {
                        next_due(&i, now)
                    } else {
                        String::new()
                    }
                );
            }
        }
        IncidentCommand::Show { id } => {
            let i = load_incident(&store, &id)
                .await?
                .with_context(|| format!("no incident `{id}`"))?;
            println!("{}\n", serde_json::to_string_pretty(&i)?);
            for c in i.clocks() {
                let state = if c.due_at <= now { "PASSED" } else { "due" };
                println!(
                    "{} {:<14} {state} {} ({})",
                    c.regime,
                    c.stage,
                    rfc3339(c.due_at),
                    c.basis
                );
            }
        }
        IncidentCommand::Open {
            title,
            agent,
            severity,
            evidence,
        } => {
            let incident = Incident {
                id: format!("inc-{now}-{}", agent.join("-")),
                title,
                severity,
                status: "open".to_owned(),
                detected_at: now,
                opened_by: "cli".to_owned(),
                agents: agent,
                alerts: Vec::new(),
                evidence: evidence
                    .into_iter()
                    .map(|i| warden_monitor::Evidence {
                        decision_id: None,
                        audit_index: i,
                        time_ms: now,
                    })
                    .collect(),
                measures: Vec::new(),
                closed_at: None,
            };
            save_incident(&store, &incident).await?;
            warden_gateway::audit::append_direct(
                &store,
                None,
                vec![(incident_record(&incident, "opened", "cli"), None)],
            )
            .await?;
            println!("opened {}: {}", incident.id, next_due(&incident, now));
        }
        IncidentCommand::Report { id, stage, format } => {
            let i = load_incident(&store, &id)
                .await?
                .with_context(|| format!("no incident `{id}`"))?;
            let report = build_report(&store, i, stage.as_str()).await?;
            match format {
                Format::Md => print!("{}", report.markdown(rfc3339)),
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            }
        }
        IncidentCommand::Close { id, note } => {
            let mut i = load_incident(&store, &id)
                .await?
                .with_context(|| format!("no incident `{id}`"))?;
            if i.status == "closed" {
                bail!("incident `{id}` is already closed");
            }
            i.status = "closed".to_owned();
            i.closed_at = Some(now);
            i.measures.push(Measure {
                at: now,
                what: format!(
                    "closed by cli{}",
                    if note.is_empty() {
                        String::new()
                    } else {
                        format!(": {note}")
                    }
                ),
            });
            save_incident(&store, &i).await?;
            warden_gateway::audit::append_direct(
                &store,
                None,
                vec![(incident_record(&i, "closed", "cli"), None)],
            )
            .await?;
            println!("closed {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
