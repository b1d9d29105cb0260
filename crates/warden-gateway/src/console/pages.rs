//! The console's pages (GET).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_audit::AuditRecord;
use warden_console::views::{self, activity::Filters};
use warden_store::{AuditStore, Store};
use warden_types::Role;

use super::Signed;
use super::data::{self, TAIL};
use crate::error::ApiError;
use crate::state::Gateway;
use crate::{admin, audit_api, incidents, monitor_api};

/// The JSON of an admin API answer.
async fn call(
    answer: impl Future<Output = Result<Json<Value>, ApiError>>,
) -> Result<Value, ApiError> {
    answer.await.map(|Json(v)| v)
}

/// A page, or the page saying what went wrong.
fn answer(gw: &Gateway, signed: &Signed, result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| signed.fail(gw, e))
}

pub(super) async fn login() -> Html<String> {
    Html(warden_console::layout::login_page(None))
}

/// `?done=` after an action: a fixed message per action, never the query's text.
#[derive(Debug, Deserialize, Default)]
pub(super) struct Done {
    done: Option<String>,
}

fn notice(done: &Done) -> Option<String> {
    let text = match done.done.as_deref()? {
        "suspended" => "Suspended: its next action is denied.",
        "resumed" => "Resumed.",
        "revoked" => "Revoked: its tokens no longer work.",
        "approved" => "Approved: the waiting call goes through.",
        "rejected" => "Rejected: the waiting call is denied.",
        "closed" => "Closed.",
        _ => return None,
    };
    Some(text.to_owned())
}

pub(super) async fn overview(State(gw): State<Arc<Gateway>>, signed: Signed) -> Response {
    let result: Result<Response, ApiError> = async {
        gw.authenticate_admin(&signed.headers(), Role::Auditor)?;
        let o = data::overview(&gw).await?;
        Ok(signed.page("Overview", "overview", &views::overview::render(&o)))
    }
    .await;
    answer(&gw, &signed, result)
}

pub(super) async fn agents(State(gw): State<Arc<Gateway>>, signed: Signed) -> Response {
    let result: Result<Response, ApiError> = async {
        gw.authenticate_admin(&signed.headers(), Role::Auditor)?;
        let inventory = json!(gw.inventory(None).await?);
        let sightings = call(crate::inventory::sightings(
            State(gw.clone()),
            signed.headers(),
        ))
        .await?;
        Ok(signed.page(
            "Agents",
            "agents",
            &views::agents::list_page(&inventory, &sightings),
        ))
    }
    .await;
    answer(&gw, &signed, result)
}

pub(super) async fn agent(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    Path(name): Path<String>,
    Query(done): Query<Done>,
) -> Response {
    let result = agent_page(&gw, &signed, &name, notice(&done), None).await;
    answer(&gw, &signed, result)
}

/// An agent's page, with a notice or a token just issued.
pub(super) async fn agent_page(
    gw: &Arc<Gateway>,
    signed: &Signed,
    name: &str,
    notice: Option<String>,
    new_token: Option<String>,
) -> Result<Response, ApiError> {
    let agent = call(crate::inventory::show(
        State(gw.clone()),
        signed.headers(),
        Path(name.to_owned()),
    ))
    .await?;
    let (records, _) = data::tail(gw, TAIL).await?;
    let mine: Vec<Value> = records
        .into_iter()
        .filter(|r| data::agent_name(r) == name)
        .collect();
    let hour_ago = crate::now_millis() - 3_600_000;
    let hour_use = mine
        .iter()
        .filter(|r| r["decision"] == "allow" && r["time_ms"].as_i64().unwrap_or(0) > hour_ago)
        .count() as u64;
    let extras = views::agents::AgentExtras {
        recent: mine.into_iter().take(20).collect(),
        new_token,
        notice,
        hour_use,
    };
    Ok(signed.page(
        &format!("Agent {name}"),
        "agent",
        &views::agents::agent_page(&signed.viewer(), &agent, &extras),
    ))
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct ActivityQuery {
    #[serde(default)]
    agent: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    tool: String,
}

pub(super) async fn activity(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    Query(q): Query<ActivityQuery>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        gw.authenticate_admin(&signed.headers(), Role::Auditor)?;
        let (records, _) = data::tail(&gw, TAIL).await?;
        let scanned = records.len() as u64;
        let shown: Vec<Value> = records
            .into_iter()
            .filter(|r| r["kind"] == "decision" && !r["agent"].is_null())
            .filter(|r| q.agent.is_empty() || data::agent_name(r) == q.agent)
            .filter(|r| q.outcome.is_empty() || r["decision"] == q.outcome.as_str())
            .filter(|r| q.tool.is_empty() || r["tool"] == q.tool.as_str())
            .take(200)
            .collect();
        let filters = Filters {
            agent: q.agent.clone(),
            outcome: q.outcome.clone(),
            tool: q.tool.clone(),
        };
        Ok(signed.page(
            "Activity",
            "activity",
            &views::activity::list_page(&filters, &shown, scanned),
        ))
    }
    .await;
    answer(&gw, &signed, result)
}

async fn one_record(gw: &Gateway, index: u64) -> Result<warden_store::AuditRow, ApiError> {
    gw.store
        .audit_records(index, index.saturating_add(1))
        .await
        .map_err(|e| ApiError::store(&e))?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("no audit record {index}")))
}

pub(super) async fn record(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    Path(index): Path<u64>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        gw.authenticate_admin(&signed.headers(), Role::Auditor)?;
        let row = one_record(&gw, index).await?;
        let decoded = AuditRecord::decode(&row.record)
            .map_err(|e| ApiError::unavailable(format!("record {index}: {e}")))?;
        let record = json!(decoded);
        let snapshot = gw.engine.snapshot();
        let policies = decoded
            .policies
            .iter()
            .map(|id| {
                let at = snapshot
                    .policies
                    .iter()
                    .find(|p| p.id == *id)
                    .map_or("not in the active set".to_owned(), |p| {
                        p.location.to_string()
                    });
                (id.clone(), at)
            })
            .collect();
        // The arguments are held for decisions that asked for approval.
        let args = match &decoded.decision_id {
            Some(id) => gw
                .store
                .approval(id)
                .await
                .map_err(|e| ApiError::store(&e))?
                .map(|a| data::args_for(&gw, signed.session.role, &a.args)),
            None => None,
        };
        let (records, _) = data::tail(&gw, TAIL).await?;
        let earlier = decoded.agent.as_deref().map_or(Vec::new(), |spiffe| {
            data::earlier_of(&records, spiffe, index, 20)
        });
        let extras = views::activity::RecordExtras {
            canonical: String::from_utf8_lossy(&row.record).into_owned(),
            policies,
            args,
            earlier,
        };
        Ok(signed.page(
            &format!("Record {index}"),
            "record",
            &views::activity::record_page(&record, &extras),
        ))
    }
    .await;
    answer(&gw, &signed, result)
}

/// `GET /console/proofs/{index}`: what the record page checks — the
/// record's bytes, its inclusion proof against the newest checkpoint that
/// covers it (or the current tree), that checkpoint and the key.
pub(super) async fn proof(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    Path(index): Path<u64>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let headers = signed.headers();
        gw.authenticate_admin(&headers, Role::Auditor)?;
        let row = one_record(&gw, index).await?;
        let checkpoint = audit_api::latest(&gw).await?.filter(|c| c.size > index);
        let size = match &checkpoint {
            Some(c) => c.size,
            None => gw
                .store
                .audit_size()
                .await
                .map_err(|e| ApiError::store(&e))?,
        };
        let mut proof = call(audit_api::inclusion(
            State(gw.clone()),
            headers,
            Query(audit_api::InclusionQuery {
                index,
                size: Some(size),
            }),
        ))
        .await?;
        proof["canonical"] = json!(String::from_utf8_lossy(&row.record));
        proof["checkpoint"] = json!(checkpoint.map(|c| c.note));
        proof["vkey"] = json!(gw.audit.verifier_key());
        Ok(Json(proof).into_response())
    }
    .await;
    result.unwrap_or_else(|e: ApiError| e.into_response())
}

pub(super) async fn approvals(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    Query(done): Query<Done>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let all = call(admin::list_approvals(
            State(gw.clone()),
            signed.headers(),
            Query(admin::ApprovalQuery { status: None }),
        ))
        .await?;
        let (records, _) = data::tail(&gw, TAIL).await?;
        let mut pending = Vec::new();
        let mut decided = Vec::new();
        for mut a in all["approvals"].as_array().cloned().unwrap_or_default() {
            if a["status"] == "pending" {
                a["args"] = data::args_for(&gw, signed.session.role, &a["args"]);
                let spiffe = format!(
                    "{}{}",
                    admin::agent_prefix(&gw, a["agent"].as_str().unwrap_or_default()),
                    a["instance"].as_str().unwrap_or_default()
                );
                let history = data::earlier_of(&records, &spiffe, u64::MAX, 10);
                pending.push(views::approvals::Pending {
                    approval: a,
                    history,
                });
            } else {
                decided.push(a);
            }
        }
        decided.sort_by_key(|a| std::cmp::Reverse(a["decided_at"].as_i64().unwrap_or(0)));
        decided.truncate(50);
        let mut body = String::new();
        if let Some(n) = notice(&done) {
            body.push_str(&format!(
                "<p class=\"notice\" role=\"status\">{}</p>",
                warden_console::html::esc(&n)
            ));
        }
        body.push_str(&views::approvals::page(
            &signed.viewer(),
            &pending,
            &decided,
            crate::now_millis(),
        ));
        Ok(signed.page("Approvals", "approvals", &body))
    }
    .await;
    answer(&gw, &signed, result)
}

pub(super) async fn alerts(State(gw): State<Arc<Gateway>>, signed: Signed) -> Response {
    let result: Result<Response, ApiError> = async {
        let alerts = call(monitor_api::alerts(State(gw.clone()), signed.headers())).await?;
        Ok(signed.page("Alerts", "alerts", &views::monitoring::alerts_page(&alerts)))
    }
    .await;
    answer(&gw, &signed, result)
}

pub(super) async fn incidents(State(gw): State<Arc<Gateway>>, signed: Signed) -> Response {
    let result: Result<Response, ApiError> = async {
        let list = call(incidents::list(State(gw.clone()), signed.headers())).await?;
        Ok(signed.page(
            "Incidents",
            "incidents",
            &views::monitoring::incidents_page(&list, crate::now_millis()),
        ))
    }
    .await;
    answer(&gw, &signed, result)
}

pub(super) async fn incident(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let item = call(incidents::show(
            State(gw.clone()),
            signed.headers(),
            Path(id.clone()),
        ))
        .await?;
        Ok(signed.page(
            &format!("Incident {id}"),
            "incident",
            &views::monitoring::incident_page(&signed.viewer(), &item, crate::now_millis()),
        ))
    }
    .await;
    answer(&gw, &signed, result)
}

#[derive(Debug, Deserialize)]
pub(super) struct StageQuery {
    stage: String,
}

pub(super) async fn report(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<StageQuery>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        gw.authenticate_admin(&signed.headers(), Role::Auditor)?;
        if !["early-warning", "notification", "final"].contains(&q.stage.as_str()) {
            return Err(ApiError::bad_request(
                "bad_request",
                "`stage` must be early-warning, notification or final",
            ));
        }
        let incident = incidents::load_incident(&gw.store, &id)
            .await
            .map_err(|e| ApiError::store(&e))?
            .ok_or_else(|| ApiError::not_found(format!("no incident `{id}`")))?;
        let report = incidents::build_report(&gw.store, incident, &q.stage)
            .await
            .map_err(|e| ApiError::store(&e))?;
        let text = report.markdown(warden_inventory::csv::rfc3339);
        Ok(signed.page(
            &format!("Incident {id}: {}", q.stage),
            "report",
            &views::monitoring::report_page(&id, &q.stage, &text),
        ))
    }
    .await;
    answer(&gw, &signed, result)
}

pub(super) async fn audit(State(gw): State<Arc<Gateway>>, signed: Signed) -> Response {
    let result: Result<Response, ApiError> = async {
        gw.authenticate_admin(&signed.headers(), Role::Auditor)?;
        let vkey = gw.audit.verifier_key();
        let size = gw
            .store
            .audit_size()
            .await
            .map_err(|e| ApiError::store(&e))?;
        let mut checkpoints: Vec<(u64, String, i64)> = gw
            .store
            .audit_checkpoints()
            .await
            .map_err(|e| ApiError::store(&e))?
            .into_iter()
            .map(|c| {
                let root = warden_audit::open_checkpoint(&c.note, &vkey)
                    .map_or_else(|e| format!("does not verify: {e}"), |o| hex::encode(o.root));
                (c.size, root, c.created_at)
            })
            .collect();
        checkpoints.reverse();
        checkpoints.truncate(100);
        let dir = gw.audit.witness_dir();
        let view = views::audit::AuditView {
            size,
            checkpoints,
            witness: crate::audit::latest_witness(dir)
                .ok()
                .flatten()
                .map(|(size, _)| {
                    (
                        size,
                        crate::audit::witness_file(dir, size).display().to_string(),
                    )
                }),
            witness_dir: dir.display().to_string(),
            vkey,
            verify: gw.console.verify.lock().clone(),
        };
        Ok(signed.page(
            "Audit",
            "audit",
            &views::audit::page(&signed.viewer(), &view),
        ))
    }
    .await;
    answer(&gw, &signed, result)
}

pub(super) async fn verify_status(State(gw): State<Arc<Gateway>>, signed: Signed) -> Response {
    match gw.authenticate_admin(&signed.headers(), Role::Auditor) {
        Ok(_) => Json(gw.console.verify.lock().to_json()).into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ExportQuery {
    from: u64,
}

/// Most records one export file holds.
const EXPORT_MAX: u64 = 10_000;

/// `GET /console/audit/export?from=`: JSON Lines — the newest checkpoint,
/// then each record's index, leaf hash and canonical bytes.
pub(super) async fn export(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    Query(q): Query<ExportQuery>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        gw.authenticate_admin(&signed.headers(), Role::Auditor)?;
        let size = gw
            .store
            .audit_size()
            .await
            .map_err(|e| ApiError::store(&e))?;
        let to = size.min(q.from.saturating_add(EXPORT_MAX));
        let checkpoint = audit_api::latest(&gw).await?;
        let mut out = serde_json::to_string(&json!({
            "log_size": size, "from": q.from, "to": to, "vkey": gw.audit.verifier_key(),
            "checkpoint": checkpoint.map(|c| json!({"size": c.size, "note": c.note})),
        }))
        .unwrap_or_default();
        out.push('\n');
        let mut from = q.from;
        while from < to {
            let rows = gw
                .store
                .audit_records(from, to)
                .await
                .map_err(|e| ApiError::store(&e))?;
            let Some(last) = rows.last() else { break };
            from = last.index + 1;
            for r in &rows {
                out.push_str(
                    &serde_json::to_string(&json!({
                        "index": r.index, "leaf_hash": hex::encode(r.leaf),
                        "canonical": String::from_utf8_lossy(&r.record),
                    }))
                    .unwrap_or_default(),
                );
                out.push('\n');
            }
        }
        Ok((
            [
                (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"warden-audit-{}-{to}.jsonl\"",
                        q.from
                    ),
                ),
            ],
            out,
        )
            .into_response())
    }
    .await;
    answer(&gw, &signed, result)
}

#[derive(Debug, Deserialize, Default)]
pub(super) struct PolicyQuery {
    #[serde(default)]
    q: String,
}

/// Most policies one page lists.
const POLICIES_SHOWN: usize = 100;

pub(super) async fn policies(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    Query(q): Query<PolicyQuery>,
) -> Response {
    let result: Result<Response, ApiError> = async {
        let mut list = call(admin::list_policies(State(gw.clone()), signed.headers())).await?;
        // The running set compiled when it was loaded; a later edit that does
        // not compile is the reload error (the running set keeps serving).
        let lint = match gw.reload_error.lock().clone() {
            None => Ok(json!({
                "policies": list["policies"].as_array().map_or(0, Vec::len),
                "agents": gw.engine.snapshot().agents.len(),
            })),
            Some(e) => Err(format!("the files changed and do not compile (the last good set keeps serving): {e}")),
        };
        let tests = match &gw.source {
            crate::ConfigSource::File(path) => {
                let file = path
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .join("policy-tests.yaml");
                std::fs::read_to_string(&file).ok().map(|cases| {
                    let name = file.display().to_string();
                    let result = warden_policy::TestCases::parse(&name, &cases)
                        .map_err(|e| e.to_string())
                        .map(|cases| {
                            let report = cases.run(&gw.engine.snapshot());
                            json!({
                                "passed": report.passed,
                                "failed": report.failures.len(),
                                "failures": report.failures.iter().map(|f| json!({
                                    "name": f.name, "expected": f.expected, "got": f.got, "reasons": f.reasons,
                                })).collect::<Vec<_>>(),
                            })
                        });
                    (name, result)
                })
            }
            crate::ConfigSource::Embedded { .. } => None,
        };
        // Filtered by `?q=` (a part of the policy's id or file), bounded.
        let needle = q.q.to_lowercase();
        if let Some(all) = list["policies"].as_array_mut() {
            let total = all.len();
            all.retain(|p| {
                needle.is_empty()
                    || p["id"].as_str().unwrap_or_default().to_lowercase().contains(&needle)
                    || p["location"].as_str().unwrap_or_default().to_lowercase().contains(&needle)
            });
            let matching = all.len();
            all.truncate(POLICIES_SHOWN);
            list["total"] = json!(total);
            list["matching"] = json!(matching);
            list["q"] = json!(q.q);
        }
        Ok(signed.page(
            "Policies",
            "policies",
            &views::policies::page(&list, &lint, &tests),
        ))
    }
    .await;
    answer(&gw, &signed, result)
}

/// `GET /console/events`: the admin event stream, for the page scripts.
pub(super) async fn events(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    headers: axum::http::HeaderMap,
    query: Query<monitor_api::EventsQuery>,
) -> Response {
    let mut with_credential = signed.headers();
    if let Some(last) = headers.get("last-event-id") {
        with_credential.insert("last-event-id", last.clone());
    }
    match monitor_api::events(State(gw), with_credential, query).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// An error as a plain status, for the fetches the page script makes.
pub(super) fn status_only(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"message": message}))).into_response()
}
