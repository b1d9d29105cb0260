//! Compliance evidence: EU AI Act, DORA and NIS2 reports built from the
//! inventory (manifests and configuration) and a slice of the audit log,
//! written as an evidence pack an auditor checks offline.
//!
//! Every figure is a [`Claim`](warden_audit::pack::Claim): a count, a span,
//! a median over audit records whose indices it cites (each record carried
//! with its inclusion proof against a signed checkpoint), or a value read
//! from a file whose digest the pack records. `warden-audit-verify PACK`
//! recomputes each one ([`warden_audit::pack::verify_pack`]).
//!
//! - [`ReportInputs`]: what the reports are built from; [`build`] makes
//!   the [`PackDocument`].
//! - [`write_pack`]: `report.json`, `report.html`, `evidence/`, `files/`.
//! - [`html::render`]: the print-ready page (Chromium prints it to PDF).
//!
//! The JSON is specified by `docs/report.schema.json`; the reports'
//! contents by `docs/compliance.md`.
//!
//! ```
//! use warden_compliance::{ReportKind, pack_path};
//!
//! assert_eq!(ReportKind::parse_list("all")?.len(), 3);
//! assert_eq!(pack_path("<embedded>/agents/invoice-bot.yaml"), "agents/invoice-bot.yaml");
//! # Ok::<(), warden_compliance::ComplianceError>(())
//! ```

mod claims;
mod dora;
mod error;
mod eu_ai_act;
pub mod html;
mod incidents;
mod inputs;
mod nis2;
mod write;

use warden_audit::pack::{Deployment, PACK_FORMAT, PACK_VERSION, PackDocument};

pub use error::ComplianceError;
pub use inputs::{CONFIG_PATH, ClockFacts, IncidentFacts, PackFile, ReportInputs, pack_path};
pub use warden_types::rfc3339;
pub use write::{AuditSlice, HTML_FILE, PDF_FILE, write_pack};

/// One of the reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// EU AI Act.
    EuAiAct,
    /// DORA.
    Dora,
    /// NIS2.
    Nis2,
}

impl ReportKind {
    /// `eu-ai-act`, `dora`, `nis2`, or `all` for the three.
    pub fn parse_list(text: &str) -> Result<Vec<ReportKind>, ComplianceError> {
        match text {
            "all" => Ok(vec![Self::EuAiAct, Self::Dora, Self::Nis2]),
            "eu-ai-act" => Ok(vec![Self::EuAiAct]),
            "dora" => Ok(vec![Self::Dora]),
            "nis2" => Ok(vec![Self::Nis2]),
            other => Err(ComplianceError::UnknownKind {
                kind: other.to_owned(),
            }),
        }
    }
}

/// Builds the reports of `kinds` from `inputs`: the document and the files
/// the pack must carry for its claims to verify.
pub fn build(
    inputs: &ReportInputs<'_>,
    kinds: &[ReportKind],
) -> Result<(PackDocument, Vec<PackFile>), ComplianceError> {
    if inputs.period.to_ms <= inputs.period.from_ms {
        return Err(ComplianceError::EmptyPeriod {
            from_ms: inputs.period.from_ms,
            to_ms: inputs.period.to_ms,
        });
    }
    if let Some(agent) = inputs.agent
        && !inputs.manifests.iter().any(|m| m.name.as_str() == agent)
    {
        return Err(ComplianceError::UnknownAgent {
            agent: agent.to_owned(),
            known: inputs
                .manifests
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let files = inputs.files();
    let c = claims::Claims::new(inputs, &files);
    let reports = kinds
        .iter()
        .map(|k| match k {
            ReportKind::EuAiAct => eu_ai_act::report(inputs, &c),
            ReportKind::Dora => dora::report(inputs, &c),
            ReportKind::Nis2 => nis2::report(inputs, &c),
        })
        .collect();
    let doc = PackDocument {
        format: PACK_FORMAT.to_owned(),
        version: PACK_VERSION,
        generated_at_ms: inputs.generated_at_ms,
        period: inputs.period,
        agent: inputs.agent.map(str::to_owned),
        deployment: Deployment {
            trust_domain: inputs.config.trust_domain.to_string(),
            policy_digest: inputs.policy_digest.to_owned(),
            config_file: CONFIG_PATH.to_owned(),
        },
        evidence: inputs.evidence.clone(),
        files: files.iter().map(PackFile::reference).collect(),
        reports,
    };
    Ok((doc, files))
}
