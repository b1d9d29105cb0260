//! What a risk classification needs, and what an agent's grants suggest.
//!
//! [`missing_fields`] is a lint: a manifest that claims `high-risk` (EU AI
//! Act) or `dora_critical: true` must say what the claim rests on.
//! [`suggest`] reads what the agent can do (the operations it is granted,
//! the data classes it may read or its tools are cleared for) and proposes a
//! classification for a person to consider; nothing applies it.

use warden_types::Operation;

use crate::config::{Config, MIN_HIGH_RISK_RETAIN_DAYS};
use crate::error::{Diagnostic, Location};
use crate::manifest::Manifest;

/// The fields a classification claim needs that `manifest` lacks, one
/// diagnostic each, located at the manifest's `risk:` block:
/// `high-risk` needs `risk.annex_iii` and `risk.oversight`;
/// `dora_critical: true` needs `risk.critical_function`.
pub fn missing_fields(manifest: &Manifest) -> Vec<Diagnostic> {
    let risk = &manifest.risk;
    let at = risk
        .location
        .clone()
        .unwrap_or_else(|| Location::new(manifest.file.clone(), 1, 1));
    let mut out = Vec::new();
    let mut missing = |field: &str, why: &str| {
        out.push(Diagnostic::new(
            at.clone(),
            Some(format!("risk.{field}")),
            format!("missing `risk.{field}`: {why}"),
        ));
    };
    if risk.eu_ai_act.as_deref() == Some("high-risk") {
        if risk.annex_iii.is_none() {
            missing(
                "annex_iii",
                "a high-risk agent names its EU AI Act Annex III area and point, as in `5(b)`",
            );
        }
        if risk.oversight.is_empty() {
            missing(
                "oversight",
                "a high-risk agent lists its human oversight measures (EU AI Act Art. 14)",
            );
        }
    }
    if risk.dora_critical && risk.critical_function.is_none() {
        missing(
            "critical_function",
            "a DORA-critical agent names the critical or important function it supports",
        );
    }
    out
}

/// The audit retention the configuration states, checked against the
/// six-month floor when any of `manifests` is classified `high-risk`.
pub fn retention_error(config: &Config, manifests: &[Manifest]) -> Option<Diagnostic> {
    let days = config.audit.retain_days?;
    if days >= MIN_HIGH_RISK_RETAIN_DAYS {
        return None;
    }
    let high: Vec<&str> = manifests
        .iter()
        .filter(|m| m.risk.eu_ai_act.as_deref() == Some("high-risk"))
        .map(|m| m.name.as_str())
        .collect();
    if high.is_empty() {
        return None;
    }
    Some(Diagnostic::new(
        config.audit.retain_days_location.clone(),
        Some("audit.retain_days".into()),
        format!(
            "`retain_days = {days}` is shorter than the {MIN_HIGH_RISK_RETAIN_DAYS} days (six months) \
             EU AI Act Art. 26(6) and Art. 19 require while an agent is high-risk ({})",
            high.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// A classification to consider, from what an agent can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The agent.
    pub agent: String,
    /// Its manifest's file.
    pub file: String,
    /// The EU AI Act class to consider.
    pub eu_ai_act: &'static str,
    /// The Annex III point to review (to claim, or to rule out with
    /// `not_high_risk_reason`), when one fits what the agent touches.
    pub annex_iii: Option<&'static str>,
    /// Whether to consider `dora_critical: true`.
    pub dora_critical: bool,
    /// What the suggestion rests on, in words.
    pub because: String,
}

impl Suggestion {
    /// Whether the manifest already says what is suggested.
    pub fn agrees_with(&self, manifest: &Manifest) -> bool {
        let declared = manifest.risk.eu_ai_act.as_deref();
        let eu = match self.eu_ai_act {
            // Either way, provided the reason for "not" is written down.
            "high-risk" | "not-high-risk" => {
                declared == Some("high-risk")
                    || (declared == Some("not-high-risk")
                        && manifest.risk.not_high_risk_reason.is_some())
            }
            other => declared == Some(other),
        };
        eu && (manifest.risk.dora_critical || !self.dora_critical)
    }
}

/// Suggests a classification from the agent's grants and the data it may
/// read (`data.may_read`): consequential
/// operations (send, write, delete, execute) on health data point to
/// `high-risk` under Annex III 5(a); on financial data to DORA-critical and
/// to ruling out 5(b) (creditworthiness) with a reason; personal data acted
/// on points to `limited` (transparency towards people); otherwise `minimal`.
pub fn suggest(manifest: &Manifest) -> Suggestion {
    let acting: Vec<String> = manifest
        .grants
        .iter()
        .filter(|g| {
            matches!(
                g.operation,
                Operation::Send | Operation::Write | Operation::Delete | Operation::Execute
            )
        })
        .map(|g| format!("{}/{} ({})", g.server, g.tool, g.operation))
        .collect();
    let mut classes: Vec<String> = manifest.may_read.clone();
    classes.sort();
    classes.dedup();
    let has = |root: &str| {
        classes
            .iter()
            .any(|c| c == root || c.starts_with(&format!("{root}.")))
    };
    let acts = !acting.is_empty();
    let (eu_ai_act, annex_iii) = if acts && has("health") {
        ("high-risk", Some("5(a)"))
    } else if acts && has("financial") {
        // Payments and bookkeeping are not Annex III uses by themselves;
        // creditworthiness (5(b)) is the point to rule out, with a reason.
        ("not-high-risk", Some("5(b)"))
    } else if acts && has("pii") {
        ("limited", None)
    } else {
        ("minimal", None)
    };
    let because = format!(
        "it can {} and its data includes {}",
        if acting.is_empty() {
            "only read".to_owned()
        } else {
            acting.join(", ")
        },
        if classes.is_empty() {
            "no classified data".to_owned()
        } else {
            classes.join(", ")
        }
    );
    Suggestion {
        agent: manifest.name.as_str().to_owned(),
        file: manifest.file.clone(),
        eu_ai_act,
        annex_iii,
        dora_critical: acts && has("financial"),
        because,
    }
}
