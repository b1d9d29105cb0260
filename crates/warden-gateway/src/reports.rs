//! Compliance evidence packs from the store: the slice of the audit log a
//! period covers with its inclusion proofs, the incidents, and the reports
//! built on them (`warden report`, `GET /v1/reports/{kind}`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use warden_audit::AuditRecord;
use warden_audit::pack::{EvidenceRef, PackDocument, Period};
use warden_compliance::{
    AuditSlice, ClockFacts, IncidentFacts, PackFile, ReportInputs, ReportKind,
};
use warden_policy::{Config, PolicyInputs};
use warden_store::{AnyStore, AuditStore as _};
use warden_types::Role;

use crate::audit::fetch;
use crate::error::ApiError;
use crate::inputs::{ConfigSource, load_inputs};
use crate::state::Gateway;
use crate::{GatewayError, list_incidents};

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// The reports.
    pub kinds: Vec<ReportKind>,
    /// Only this agent.
    pub agent: Option<String>,
    /// Start of the period (unix ms); default the log's first record.
    pub from_ms: Option<i64>,
    /// End of the period, exclusive (unix ms); default now.
    pub to_ms: Option<i64>,
}

/// An evidence pack, ready to write.
#[derive(Debug, Clone)]
pub struct EvidencePack {
    /// `report.json`.
    pub document: PackDocument,
    /// The files under `files/`.
    pub files: Vec<PackFile>,
    /// The audit evidence.
    pub audit: AuditSlice,
}

/// The text of the configuration file `source` names.
pub fn config_text(source: &ConfigSource) -> Result<String, GatewayError> {
    match source {
        ConfigSource::File(path) => std::fs::read_to_string(path)
            .map_err(|e| GatewayError::Setup(format!("cannot read `{}`: {e}", path.display()))),
        ConfigSource::Embedded { config, .. } => Ok((*config).to_owned()),
    }
}

/// What a deployment's reports are read from.
#[derive(Debug, Clone, Copy)]
pub struct ReportSources<'a> {
    /// The store: the audit log and the incidents.
    pub store: &'a AnyStore,
    /// The configuration in force.
    pub config: &'a Config,
    /// Its file's text.
    pub config_text: &'a str,
    /// The manifests and org-wide policies.
    pub inputs: &'a PolicyInputs,
    /// The digest of the policy set in force.
    pub policy_digest: &'a str,
    /// The audit log's verifier key.
    pub vkey: &'a str,
}

/// Builds the evidence pack `request` asks for against the newest signed
/// checkpoint in the store: records after it are not covered (sign one
/// first to include them).
pub async fn evidence_pack(
    sources: ReportSources<'_>,
    request: &ReportRequest,
    now_ms: i64,
) -> Result<EvidencePack, GatewayError> {
    let ReportSources {
        store,
        config,
        config_text,
        inputs,
        policy_digest,
        vkey,
    } = sources;
    let checkpoint = store
        .audit_checkpoints()
        .await?
        .into_iter()
        .max_by_key(|c| c.size)
        .ok_or_else(|| {
            GatewayError::Report(
                "the audit log has no signed checkpoint yet: run `warden audit checkpoint`".into(),
            )
        })?;
    let opened = warden_audit::open_checkpoint(&checkpoint.note, vkey)
        .map_err(|e| GatewayError::Report(format!("the newest checkpoint does not verify: {e}")))?;
    // The records of the period, as one contiguous slice of the log.
    let mut rows = Vec::new();
    let mut from = 0;
    while from < opened.size {
        let page = store.audit_records(from, opened.size).await?;
        let Some(last) = page.last() else { break };
        from = last.index + 1;
        for row in page {
            let record = AuditRecord::decode(&row.record).map_err(|e| {
                GatewayError::Report(format!("audit record {} does not decode: {e}", row.index))
            })?;
            rows.push((record, row.record));
        }
    }
    let period = Period {
        from_ms: request
            .from_ms
            .unwrap_or_else(|| rows.first().map_or(now_ms, |(r, _)| r.time_ms)),
        to_ms: request.to_ms.unwrap_or(now_ms + 1),
    };
    let inside = |r: &AuditRecord| r.time_ms >= period.from_ms && r.time_ms < period.to_ms;
    let first = rows.iter().position(|(r, _)| inside(r));
    let (first, end) = match first {
        Some(first) => {
            let last = rows.iter().rposition(|(r, _)| inside(r)).unwrap_or(first);
            (first, last + 1)
        }
        None => {
            let before = rows
                .iter()
                .filter(|(r, _)| r.time_ms < period.from_ms)
                .count();
            (before, before)
        }
    };
    let slice_rows = rows.get(first..end).unwrap_or_default();
    let mut proofs = Vec::with_capacity(slice_rows.len());
    for (record, _) in slice_rows {
        let plan = warden_audit::inclusion_plan(record.index, opened.size)
            .map_err(|e| GatewayError::Report(e.to_string()))?;
        proofs.push((record.index, fetch(store, &plan).await?));
    }
    let slice: Vec<AuditRecord> = slice_rows.iter().map(|(r, _)| r.clone()).collect();

    let incidents: Vec<IncidentFacts> = list_incidents(store)
        .await?
        .into_iter()
        .map(|i| IncidentFacts {
            clocks: i
                .clocks()
                .into_iter()
                .map(|c| ClockFacts {
                    regime: c.regime.to_owned(),
                    stage: c.stage.to_owned(),
                    due_at_ms: c.due_at,
                    basis: c.basis.to_owned(),
                })
                .collect(),
            id: i.id,
            title: i.title,
            severity: i.severity,
            status: i.status,
            detected_at_ms: i.detected_at,
            closed_at_ms: i.closed_at,
            agents: i.agents,
            measures: i.measures.into_iter().map(|m| m.what).collect(),
        })
        .collect();

    let report_inputs = ReportInputs {
        config,
        config_text,
        manifests: &inputs.manifests,
        policies: &inputs.org_files,
        policy_digest,
        slice: &slice,
        evidence: EvidenceRef {
            first_index: first as u64,
            end_index: end as u64,
            tree_size: opened.size,
            root: hex::encode(opened.root),
        },
        period,
        agent: request.agent.as_deref(),
        incidents: &incidents,
        generated_at_ms: now_ms,
    };
    let (document, files) = warden_compliance::build(&report_inputs, &request.kinds)
        .map_err(|e| GatewayError::Report(e.to_string()))?;
    Ok(EvidencePack {
        document,
        files,
        audit: AuditSlice {
            records: slice_rows
                .iter()
                .map(|(r, bytes)| (r.index, bytes.clone()))
                .collect(),
            proofs,
            checkpoint: checkpoint.note,
            vkey: vkey.to_owned(),
        },
    })
}

/// `?agent=&from=&to=` (unix ms).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    agent: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
}

/// `GET /v1/reports/{kind}` (auditor): `eu-ai-act`, `dora`, `nis2` or `all`,
/// as the `report.json` of an evidence pack, against the newest checkpoint.
pub(crate) async fn report(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(kind): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<Value>, ApiError> {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let kinds = ReportKind::parse_list(&kind).map_err(|e| ApiError::not_found(e.to_string()))?;
    let text = config_text(&gw.source).map_err(|e| ApiError::unavailable(e.to_string()))?;
    let inputs = load_inputs(&gw.source, Arc::clone(&gw.config), &gw.store)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let digest = gw.engine.snapshot().digest.clone();
    let request = ReportRequest {
        kinds,
        agent: q.agent,
        from_ms: q.from,
        to_ms: q.to,
    };
    let vkey = gw.audit.verifier_key();
    let sources = ReportSources {
        store: &gw.store,
        config: &gw.config,
        config_text: &text,
        inputs: &inputs,
        policy_digest: &digest,
        vkey: &vkey,
    };
    let pack = evidence_pack(sources, &request, crate::now_millis())
        .await
        .map_err(|e| ApiError::bad_request("report", e.to_string()))?;
    Ok(Json(serde_json::to_value(&pack.document).map_err(|e| {
        ApiError::unavailable(format!("cannot encode the report: {e}"))
    })?))
}
