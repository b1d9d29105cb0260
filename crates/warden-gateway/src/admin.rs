//! The admin API: agents, revocations, policies, approvals, health.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_policy::{Manifest, PolicyError, TestCases};
use warden_store::{AgentRecord, ApprovalStatus, Store};
use warden_types::{AgentName, InstanceId, Role};

use crate::error::ApiError;
use crate::inputs::{compile_inputs, load_inputs, registered_file};
use crate::state::Gateway;

type Answer = Result<Json<Value>, ApiError>;

fn policy_error(e: &PolicyError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_policy",
        e.to_string(),
    )
}

fn agent_json(gw: &Gateway, info: &warden_policy::AgentInfo) -> Value {
    let m = &info.manifest;
    let identity = gw.identity.load();
    let tools: Vec<Value> = m
        .grants
        .iter()
        .map(|g| {
            json!({"server": g.server, "tool": g.tool, "operation": g.operation,
                   "when": g.when.as_ref().map(|c| &c.text), "approval": g.approval.as_ref().map(|c| &c.text)})
        })
        .collect();
    json!({
        "name": m.name, "owner": m.owner, "purpose": m.purpose, "risk": m.risk,
        "groups": m.groups, "tools": tools, "data": {"may_read": m.may_read},
        "budgets": m.budgets, "source": m.file,
        "revoked": identity.revocations.is_agent_revoked(&m.name),
        "spiffe_id_prefix": format!("spiffe://{}/agent/{}/", gw.config.trust_domain, m.name),
    })
}

pub(crate) async fn list_agents(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let snapshot = gw.engine.snapshot();
    let mut agents: Vec<_> = snapshot.agents.values().collect();
    agents.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
    Ok(Json(
        json!({"agents": agents.iter().map(|a| agent_json(&gw, a)).collect::<Vec<_>>()}),
    ))
}

pub(crate) async fn show_agent(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let snapshot = gw.engine.snapshot();
    let info = AgentName::new(name.clone())
        .ok()
        .and_then(|n| snapshot.agents.get(&n))
        .ok_or_else(|| ApiError::not_found(format!("no agent `{name}`")))?;
    Ok(Json(agent_json(&gw, info)))
}

/// `POST /v1/agents`: the body is the manifest's YAML.
pub(crate) async fn register_agent(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let admin = gw.authenticate_admin(&headers, Role::Admin)?;
    let body = body.map_err(|e| ApiError::body(&e))?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("bad_body", "the manifest is not UTF-8"))?;
    let manifest = Manifest::parse(&registered_file("request"), text, &gw.config)
        .map_err(|e| policy_error(&e))?;
    let name = manifest.name.clone();
    // Check the whole set compiles with this manifest before recording anything.
    let mut inputs = load_inputs(&gw.source, Arc::clone(&gw.config), &gw.store)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    inputs
        .manifests
        .retain(|m| !(m.name == name && m.file.starts_with("registered:")));
    let source = format!("{name}.yaml");
    let manifest = Manifest::parse(&registered_file(&source), text, &gw.config)
        .map_err(|e| policy_error(&e))?;
    inputs.manifests.push(manifest);
    compile_inputs(inputs).await.map_err(|e| policy_error(&e))?;
    let now = crate::now_millis();
    gw.store
        .put_agent(&AgentRecord {
            name: name.clone(),
            manifest: text.to_owned(),
            source,
            registered_at: now,
            updated_at: now,
        })
        .await
        .map_err(|e| ApiError::store(&e))?;
    gw.reload()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    tracing::info!(agent = %name, by = %admin.name, "agent registered");
    let snapshot = gw.engine.snapshot();
    let info = snapshot
        .agents
        .get(&name)
        .ok_or_else(|| ApiError::unavailable("agent did not load"))?;
    Ok(Json(agent_json(&gw, info)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeBody {
    agent: String,
    instance: Option<String>,
    #[serde(default)]
    reason: String,
}

pub(crate) async fn list_revocations(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let list = gw
        .store
        .revocations()
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(json!({"revocations": list})))
}

pub(crate) async fn revoke(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let admin = gw.authenticate_admin(&headers, Role::Admin)?;
    let req: RevokeBody = crate::error::json_body(body)?;
    let agent = AgentName::new(req.agent)
        .map_err(|e| ApiError::bad_request("bad_request", format!("field `agent`: {e}")))?;
    let instance = req
        .instance
        .map(InstanceId::new)
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_request", format!("field `instance`: {e}")))?;
    if !gw.engine.snapshot().agents.contains_key(&agent) {
        return Err(ApiError::not_found(format!("no agent `{agent}`")));
    }
    let writing = gw.identity_writes.lock().await;
    let record = gw
        .store
        .add_revocation(
            &agent,
            instance.as_ref(),
            &req.reason,
            &admin.name,
            crate::now_millis(),
        )
        .await
        .map_err(|e| ApiError::store(&e))?;
    // Effective at once on this node; other nodes follow the change feed.
    let current = gw.identity.load_full();
    let mut revocations = current.revocations.clone();
    match instance {
        Some(i) => revocations.revoke_instance(agent, i),
        None => revocations.revoke_agent(agent),
    }
    gw.identity.store(Arc::new(crate::state::IdentityView {
        verifier: current.verifier.clone(),
        revocations,
        suspended: current.suspended.clone(),
    }));
    drop(writing);
    let subject = match &record.instance {
        Some(i) => format!("{}{i}", agent_prefix(&gw, record.agent.as_str())),
        None => agent_prefix(&gw, record.agent.as_str()),
    };
    audit_admin(&gw, "revoked", &subject, &record.reason, &admin.name).await?;
    Ok(Json(json!({"revocation": record})))
}

/// `spiffe://<trust domain>/agent/<name>/`: every instance of the agent.
pub(crate) fn agent_prefix(gw: &Gateway, agent: &str) -> String {
    format!("spiffe://{}/agent/{agent}/", gw.config.trust_domain)
}

/// Appends the audit record of a change made by hand. The change is already
/// in force; when its record cannot be written, the caller is told so.
pub(crate) async fn audit_admin(
    gw: &Gateway,
    change: &str,
    subject: &str,
    reason: &str,
    by: &str,
) -> Result<(), ApiError> {
    let record = crate::records::admin_record(change, subject, reason, by);
    gw.audit.append(record, None).await.map(|_| ()).map_err(|e| {
        tracing::error!(error = %e, change, subject, "a change made by hand could not be audited");
        ApiError::unavailable(format!("{e}: the change is in force but could not be audited"))
    })
}

/// `POST /v1/agents/{name}/suspend` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SuspendBody {
    #[serde(default)]
    reason: String,
}

/// `POST /v1/agents/{name}/suspend` (admin): the kill switch. Every action
/// of the agent is denied, naming the suspension, until it is resumed.
pub(crate) async fn suspend(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let admin = gw.authenticate_admin(&headers, Role::Admin)?;
    let req: SuspendBody = if body.as_ref().is_ok_and(|b| b.is_empty()) {
        SuspendBody {
            reason: String::new(),
        }
    } else {
        crate::error::json_body(body)?
    };
    let agent = AgentName::new(name.clone())
        .ok()
        .filter(|a| gw.engine.snapshot().agents.contains_key(a))
        .ok_or_else(|| ApiError::not_found(format!("no agent `{name}`")))?;
    let record = warden_store::SuspensionRecord {
        agent: agent.as_str().to_owned(),
        reason: if req.reason.is_empty() {
            "suspended by hand".to_owned()
        } else {
            req.reason
        },
        by: admin.name,
        at: crate::now_millis(),
    };
    warden_store::SuspensionStore::suspend(&gw.store, &record)
        .await
        .map_err(|e| ApiError::store(&e))?;
    // In force on this node now; the others follow the change counter.
    gw.reload_identity()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    tracing::warn!(agent = %agent, by = %record.by, reason = %record.reason, "agent suspended");
    audit_admin(
        &gw,
        "suspended",
        &agent_prefix(&gw, agent.as_str()),
        &record.reason,
        &record.by,
    )
    .await?;
    Ok(Json(
        json!({"suspended": {"agent": record.agent, "reason": record.reason, "by": record.by, "at": record.at}}),
    ))
}

/// `POST /v1/agents/{name}/resume` (admin).
pub(crate) async fn resume(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Answer {
    let admin = gw.authenticate_admin(&headers, Role::Admin)?;
    let lifted = warden_store::SuspensionStore::resume(&gw.store, &name)
        .await
        .map_err(|e| ApiError::store(&e))?;
    if !lifted {
        return Err(ApiError::not_found(format!(
            "agent `{name}` is not suspended"
        )));
    }
    gw.reload_identity()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    tracing::warn!(agent = %name, by = %admin.name, "agent resumed");
    audit_admin(&gw, "resumed", &agent_prefix(&gw, &name), "", &admin.name).await?;
    Ok(Json(json!({"resumed": name})))
}

pub(crate) async fn list_policies(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let snapshot = gw.engine.snapshot();
    let policies: Vec<Value> = snapshot
        .policies
        .iter()
        .map(|p| json!({"id": p.id, "location": p.location.to_string(), "approval": p.approval, "cedar": p.policy.to_string()}))
        .collect();
    Ok(Json(
        json!({"digest": snapshot.digest, "policies": policies}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CandidateBody {
    /// Org-wide policy files replacing the current ones: name → Cedar text.
    #[serde(default)]
    policies: Option<std::collections::BTreeMap<String, String>>,
    /// Policy test cases (YAML), for `/v1/policies/test`.
    #[serde(default)]
    cases: Option<String>,
}

async fn candidate(
    gw: &Gateway,
    body: &CandidateBody,
) -> Result<warden_policy::Snapshot, ApiError> {
    let mut inputs = load_inputs(&gw.source, Arc::clone(&gw.config), &gw.store)
        .await
        .map_err(|e| match e {
            crate::error::GatewayError::Policy(p) => policy_error(&p),
            other => ApiError::unavailable(other.to_string()),
        })?;
    if let Some(files) = &body.policies {
        inputs.org_files = files.iter().map(|(n, t)| (n.clone(), t.clone())).collect();
    }
    compile_inputs(inputs).await.map_err(|e| policy_error(&e))
}

/// `POST /v1/policies/lint`: compile a candidate set without installing it.
pub(crate) async fn lint_policies(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let req: CandidateBody = crate::error::json_body(body)?;
    let snapshot = candidate(&gw, &req).await?;
    Ok(Json(
        json!({"ok": true, "digest": snapshot.digest, "policies": snapshot.policies.len(), "agents": snapshot.agents.len()}),
    ))
}

/// `POST /v1/policies/test`: run test cases against a candidate (or the current) set.
pub(crate) async fn test_policies(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let req: CandidateBody = crate::error::json_body(body)?;
    let cases_text = req
        .cases
        .clone()
        .ok_or_else(|| ApiError::bad_request("bad_request", "missing field `cases`"))?;
    let cases = TestCases::parse("request:cases", &cases_text)
        .map_err(|e| ApiError::bad_request("bad_cases", e.to_string()))?;
    let snapshot = candidate(&gw, &req).await?;
    let report = cases.run(&snapshot);
    let failures: Vec<Value> = report
        .failures
        .iter()
        .map(
            |f| json!({"name": f.name, "expected": f.expected, "got": f.got, "reasons": f.reasons}),
        )
        .collect();
    Ok(Json(
        json!({"passed": report.passed, "failed": failures.len(), "failures": failures, "digest": snapshot.digest}),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ApprovalQuery {
    pub(crate) status: Option<String>,
}

pub(crate) async fn list_approvals(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(q): Query<ApprovalQuery>,
) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let status = q
        .status
        .map(|s| s.parse::<ApprovalStatus>())
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_request", format!("query `status`: {e}")))?;
    gw.store
        .expire_approvals(crate::now_millis())
        .await
        .map_err(|e| ApiError::store(&e))?;
    let list = gw
        .store
        .approvals(status)
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(json!({"approvals": list})))
}

pub(crate) async fn show_approval(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let record = gw
        .store
        .approval(&id)
        .await
        .map_err(|e| ApiError::store(&e))?
        .ok_or_else(|| ApiError::not_found(format!("no approval `{id}`")))?;
    Ok(Json(json!({"approval": record})))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecideBody {
    #[serde(default)]
    note: Option<String>,
}

async fn decide(
    gw: Arc<Gateway>,
    headers: HeaderMap,
    id: String,
    body: Result<Bytes, BytesRejection>,
    approve: bool,
) -> Answer {
    let admin = gw.authenticate_admin(&headers, Role::Approver)?;
    let body = body.map_err(|e| ApiError::body(&e))?;
    let req: DecideBody = if body.is_empty() {
        DecideBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::json(&e))?
    };
    let record = gw
        .store
        .decide_approval(
            &id,
            approve,
            &admin.name,
            req.note.as_deref(),
            crate::now_millis(),
        )
        .await
        .map_err(|e| ApiError::store(&e))?;
    tracing::info!(approval = %id, approve, by = %admin.name, "approval decided");
    let agent = warden_types::SpiffeId::new(
        gw.config.trust_domain.clone(),
        record.agent.clone(),
        record.instance.clone(),
    );
    if let Err(e) = gw
        .audit
        .append(
            crate::records::approval_record(&record, &agent.to_string()),
            None,
        )
        .await
    {
        // The approval is stored; its audit record is not. Say so: an approval
        // that cannot be audited must not be used silently.
        tracing::error!(error = %e, approval = %id, "approval recorded in the store but not in the audit log");
        return Err(ApiError::unavailable(format!(
            "{e}: the approval was stored but could not be audited"
        )));
    }
    Ok(Json(json!({"approval": record})))
}

pub(crate) async fn approve(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    decide(gw, headers, id, body, true).await
}

pub(crate) async fn reject(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    decide(gw, headers, id, body, false).await
}

/// Alive, with the store change whose revocations are in force (the CLI
/// waits for it after `agent revoke`).
pub(crate) async fn healthz(State(gw): State<Arc<Gateway>>) -> Json<Value> {
    let applied = gw.applied_change.load(std::sync::atomic::Ordering::Acquire);
    Json(json!({"status": "ok", "applied_change": applied}))
}

/// Ready when the store answers and the policy set in force is the latest.
pub(crate) async fn readyz(State(gw): State<Arc<Gateway>>) -> (StatusCode, Json<Value>) {
    let mut problems = Vec::new();
    if let Err(e) = gw.store.ping().await {
        tracing::warn!(error = %e, "store ping failed");
        problems.push("store unavailable".to_owned());
    }
    if let Some(p) = gw.audit.problem() {
        problems.push(format!("audit log unavailable: {p}"));
    }
    let warnings: Vec<String> = gw
        .reload_error
        .lock()
        .clone()
        .map(|e| format!("latest policy change rejected (the previous set keeps serving): {e}"))
        .into_iter()
        .collect();
    let digest = gw.engine.snapshot().digest.clone();
    if problems.is_empty() {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "policy_digest": digest, "warnings": warnings})),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "problems": problems, "policy_digest": digest})),
        )
    }
}

/// The X.509 CA certificates the trust bundle serves (a router extension,
/// set by [`crate::serve::run`] when the gateway has an X.509 CA).
#[derive(Debug, Clone)]
pub(crate) struct X509Authorities(
    pub(crate) Arc<arc_swap::ArcSwap<Vec<warden_identity::CaCertificate>>>,
);

/// The SPIFFE trust bundle: the JWT-SVID signing key (`jwt-svid`) and the
/// X.509 CA certificates (`x509-svid`, with `x5c`).
pub(crate) async fn bundle(
    State(gw): State<Arc<Gateway>>,
    authorities: Option<axum::Extension<X509Authorities>>,
) -> Json<Value> {
    // Every CA still trusted: the current one and the retired ones.
    let authorities = authorities.map(|a| a.0.0.load_full()).unwrap_or_default();
    let authorities: Vec<&warden_identity::CaCertificate> = authorities.iter().collect();
    let keys = gw.keys.load();
    let keys: Vec<&warden_identity::SigningKey> = keys.all.iter().map(AsRef::as_ref).collect();
    Json(warden_identity::bundle_document(&keys, &authorities))
}
