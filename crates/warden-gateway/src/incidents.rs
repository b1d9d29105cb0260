//! Incidents on the gateway: an alert of high or critical severity opens
//! one (or joins the agent's open incident of the last 24 h); people open,
//! read, close and draft reports over the admin API and `warden incident`.
//! Every change is an `incident` audit record.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_audit::{AuditRecord, RecordKind};
use warden_monitor::Alert;
use warden_monitor::incidents::{EvidenceRecord, Incident, Report, STAGES};
use warden_store::{AnyStore, AuditStore, IncidentRow, IncidentStore, StoreError};
use warden_types::Role;

use crate::error::ApiError;
use crate::state::Gateway;

/// Evidence records read into a report at most.
const REPORT_RECORDS: usize = 200;
/// Incidents listed at most.
const LISTED: i64 = 500;
/// An alert joins its agent's open incident detected this recently.
const JOIN_WINDOW_MS: i64 = 24 * 3_600_000;

/// Saves an incident.
pub async fn save_incident(store: &AnyStore, incident: &Incident) -> Result<(), StoreError> {
    store
        .put_incident(&IncidentRow {
            id: incident.id.clone(),
            opened_at: incident.detected_at,
            status: incident.status.clone(),
            body: serde_json::to_string(incident).unwrap_or_default(),
        })
        .await
}

/// The incident with `id`, if any.
pub async fn load_incident(store: &AnyStore, id: &str) -> Result<Option<Incident>, StoreError> {
    Ok(store
        .incident(id)
        .await?
        .and_then(|row| serde_json::from_str(&row.body).ok()))
}

/// Every incident, newest first.
pub async fn list_incidents(store: &AnyStore) -> Result<Vec<Incident>, StoreError> {
    Ok(store
        .incidents(LISTED)
        .await?
        .iter()
        .filter_map(|row| serde_json::from_str(&row.body).ok())
        .collect())
}

/// The audit record of a change to `incident`.
pub fn incident_record(incident: &Incident, change: &str, interception: &str) -> AuditRecord {
    let mut record = AuditRecord::new(0, crate::now_millis(), RecordKind::Incident, interception);
    record.decision_id = Some(incident.id.clone());
    record.decision = Some(change.to_owned());
    record.reasons = incident.alerts.iter().map(|a| a.message.clone()).collect();
    record.note = Some(format!(
        "{} (severity {}, agents {})",
        incident.title,
        incident.severity,
        incident.agents.join(", ")
    ));
    record
}

/// A report draft for `stage`, its figures read from the audit log.
pub async fn build_report(
    store: &AnyStore,
    incident: Incident,
    stage: &str,
) -> Result<Report, StoreError> {
    let mut records = Vec::new();
    for e in incident.evidence.iter().take(REPORT_RECORDS) {
        for row in store
            .audit_records(e.audit_index, e.audit_index + 1)
            .await?
        {
            if let Ok(r) = AuditRecord::decode(&row.record) {
                records.push(EvidenceRecord {
                    audit_index: r.index,
                    time_ms: r.time_ms,
                    agent: r
                        .agent
                        .as_deref()
                        .map(|a| crate::audit::activity::agent_name(a).to_owned())
                        .unwrap_or_default(),
                    tool: format!(
                        "{}/{}",
                        r.server.unwrap_or_default(),
                        r.tool.unwrap_or_default()
                    ),
                    decision: r.decision.unwrap_or_default(),
                    classes: r.classes,
                    destinations: r.destinations,
                });
            }
        }
    }
    Ok(Report::new(stage, incident, records))
}

impl Gateway {
    /// Opens an incident for a high or critical alert, or links it to the
    /// agent's open one; recorded in the audit log.
    pub(crate) async fn open_or_join_incident(&self, alert: &Alert) {
        if !matches!(alert.severity, "high" | "critical") {
            return;
        }
        let open = match list_incidents(&self.store).await {
            Ok(list) => list,
            Err(e) => {
                tracing::error!(error = %e, "incidents cannot be read; the alert opens no incident");
                return;
            }
        };
        let joined = open.into_iter().find(|i| {
            i.status == "open"
                && i.agents.contains(&alert.agent)
                && alert.time_ms - i.detected_at < JOIN_WINDOW_MS
        });
        let (incident, change) = match joined {
            Some(mut i) => {
                i.link(alert);
                (i, "updated")
            }
            None => (Incident::from_alert(alert), "opened"),
        };
        if let Err(e) = save_incident(&self.store, &incident).await {
            tracing::error!(error = %e, "an incident could not be saved");
            return;
        }
        let _ = self
            .audit
            .append_deferred(incident_record(&incident, change, "monitor"))
            .await;
        tracing::warn!(incident = %incident.id, %change, "incident");
    }
}

fn json_incident(i: &Incident) -> Value {
    json!({"incident": i, "clocks": i.clocks()})
}

/// `GET /v1/incidents` (auditor).
pub(crate) async fn list(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let list = list_incidents(&gw.store)
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(
        json!({"incidents": list.iter().map(json_incident).collect::<Vec<_>>()}),
    ))
}

async fn find(gw: &Gateway, id: &str) -> Result<Incident, ApiError> {
    load_incident(&gw.store, id)
        .await
        .map_err(|e| ApiError::store(&e))?
        .ok_or_else(|| ApiError::not_found(format!("no incident `{id}`")))
}

/// `GET /v1/incidents/{id}` (auditor): the incident and its clocks.
pub(crate) async fn show(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    Ok(Json(json_incident(&find(&gw, &id).await?)))
}

/// `?stage=early-warning|notification|final&format=md|json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportQuery {
    stage: String,
    format: Option<String>,
}

/// `GET /v1/incidents/{id}/report` (auditor): a report draft.
pub(crate) async fn report(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    if !STAGES.contains(&q.stage.as_str()) {
        return Err(ApiError::bad_request(
            "bad_request",
            format!(
                "`stage` must be one of {}, not `{}`",
                STAGES.join(", "),
                q.stage
            ),
        ));
    }
    let incident = find(&gw, &id).await?;
    let report = build_report(&gw.store, incident, &q.stage)
        .await
        .map_err(|e| ApiError::store(&e))?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(json!(report)).into_response()),
        Some("md") => Ok((
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            report.markdown(warden_inventory::csv::rfc3339),
        )
            .into_response()),
        Some(other) => Err(ApiError::bad_request(
            "bad_request",
            format!("`format` must be `md` or `json`, not `{other}`"),
        )),
    }
}

/// `POST /v1/incidents/{id}/close` (admin), with an optional `{"note": …}`.
pub(crate) async fn close(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let admin = gw.authenticate_admin(&headers, Role::Admin)?;
    let body = body.map_err(|e| ApiError::body(&e))?;
    let note = if body.is_empty() {
        None
    } else {
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| ApiError::json(&e))?
            .get("note")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut incident = find(&gw, &id).await?;
    let now = crate::now_millis();
    incident.status = "closed".to_owned();
    incident.closed_at = Some(now);
    incident.measures.push(warden_monitor::incidents::Measure {
        at: now,
        what: format!(
            "closed by {}{}",
            admin.name,
            note.map(|n| format!(": {n}")).unwrap_or_default()
        ),
    });
    save_incident(&gw.store, &incident)
        .await
        .map_err(|e| ApiError::store(&e))?;
    gw.audit
        .append(incident_record(&incident, "closed", "admin_api"), None)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Json(json_incident(&incident)))
}
