//! The console's actions (POST): sign-in and out, and what a page's buttons
//! do. Each needs the session's CSRF token and calls the admin API's own
//! handler with the person's token, so the role checks and audit records
//! are the API's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use warden_console::session::{clear_cookie, csrf_matches, set_cookie};
use warden_console::views::audit::VerifyState;
use warden_types::{AgentName, InstanceId, Role, SpiffeId};

use super::Signed;
use super::pages::{agent_page, status_only};
use crate::error::ApiError;
use crate::state::Gateway;
use crate::{admin, incidents};

/// The fields of a form body.
fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The refusal of a request whose CSRF token (form field or
/// `X-CSRF-Token`) is not the session's; `None` when it is.
fn csrf_refusal(
    signed: &Signed,
    headers: &HeaderMap,
    fields: &HashMap<String, String>,
) -> Option<Response> {
    let given = fields
        .get("csrf")
        .map(String::as_str)
        .or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()))
        .unwrap_or_default();
    if csrf_matches(&signed.session, given) {
        None
    } else {
        Some(
            (
                StatusCode::FORBIDDEN,
                Html(warden_console::layout::error_page(
                    &signed.viewer(),
                    403,
                    "This request has no valid CSRF token; reload the page and try again.",
                )),
            )
                .into_response(),
        )
    }
}

/// The form fields of a state-changing request, once its CSRF token is
/// found to be the session's; else the refusal.
fn verified_form(
    signed: &Signed,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<HashMap<String, String>, Box<Response>> {
    let fields = form(body);
    match csrf_refusal(signed, headers, &fields) {
        Some(refusal) => Err(Box::new(refusal)),
        None => Ok(fields),
    }
}

/// The `note` field, trimmed; `None` when empty.
fn note_of(fields: &HashMap<String, String>) -> Option<&str> {
    fields
        .get("note")
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
}

pub(super) async fn login(State(gw): State<Arc<Gateway>>, body: Bytes) -> Response {
    let fields = form(&body);
    let token = fields.get("token").map(|t| t.trim()).unwrap_or_default();
    let refused = |message: &str| {
        (
            StatusCode::UNAUTHORIZED,
            Html(warden_console::layout::login_page(Some(message))),
        )
            .into_response()
    };
    if token.is_empty() {
        return refused("Enter an admin-plane token.");
    }
    let mut headers = HeaderMap::new();
    let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) else {
        return refused("That is not a token.");
    };
    headers.insert(header::AUTHORIZATION, value);
    match gw.authenticate_admin(&headers, Role::Auditor) {
        Ok(admin) => {
            let (id, _) =
                gw.console
                    .sessions
                    .open(admin.name.clone(), admin.role, token.to_owned());
            tracing::info!(token = %admin.name, role = %admin.role, "console sign-in");
            (
                [(header::SET_COOKIE, set_cookie(&id, false))],
                Redirect::to("/console/"),
            )
                .into_response()
        }
        Err(_) => refused("Unknown or revoked token."),
    }
}

pub(super) async fn logout(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = verified_form(&signed, &headers, &body) {
        return *refusal;
    }
    gw.console.sessions.close(&signed.id);
    (
        [(header::SET_COOKIE, clear_cookie())],
        Redirect::to("/console/login"),
    )
        .into_response()
}

fn json_body(value: serde_json::Value) -> Result<Bytes, axum::extract::rejection::BytesRejection> {
    Ok(Bytes::from(serde_json::to_vec(&value).unwrap_or_default()))
}

/// `POST /console/agents/{name}/{suspend|resume|revoke|token}` (admin).
pub(super) async fn agent(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let fields = match verified_form(&signed, &headers, &body) {
        Ok(fields) => fields,
        Err(refusal) => return *refusal,
    };
    let reason = fields.get("reason").cloned().unwrap_or_default();
    let api = signed.headers();
    let back = |done: &str| {
        Redirect::to(&format!(
            "/console/agents/{}?done={done}",
            warden_console::html::url(&name)
        ))
        .into_response()
    };
    let result = match action.as_str() {
        "suspend" => admin::suspend(
            State(gw.clone()),
            api,
            Path(name.clone()),
            json_body(json!({"reason": reason})),
        )
        .await
        .map(|_| back("suspended")),
        "resume" => admin::resume(State(gw.clone()), api, Path(name.clone()))
            .await
            .map(|_| back("resumed")),
        "revoke" => admin::revoke(
            State(gw.clone()),
            api,
            json_body(json!({"agent": name, "reason": reason})),
        )
        .await
        .map(|_| back("revoked")),
        "token" => {
            let instance = fields.get("instance").cloned().unwrap_or_default();
            let ttl = fields.get("ttl").map(String::as_str).unwrap_or("1h");
            match issue_token(&gw, &signed, &name, &instance, ttl).await {
                Ok(token) => {
                    agent_page(
                        &gw,
                        &signed,
                        &name,
                        Some(format!("Token issued for instance `{instance}`.")),
                        Some(token),
                    )
                    .await
                }
                Err(e) => Err(e),
            }
        }
        other => Err(ApiError::not_found(format!("no action `{other}`"))),
    };
    result.unwrap_or_else(|e| signed.fail(&gw, e))
}

/// Issues a JWT-SVID for `agent`/`instance` (admin), records it for the
/// inventory and audits it under the person's token.
async fn issue_token(
    gw: &Gateway,
    signed: &Signed,
    agent: &str,
    instance: &str,
    ttl: &str,
) -> Result<String, ApiError> {
    let admin = gw.authenticate_admin(&signed.headers(), Role::Admin)?;
    let bad = |field: &str, e: String| {
        ApiError::bad_request("bad_request", format!("field `{field}`: {e}"))
    };
    let agent = AgentName::new(agent.to_owned()).map_err(|e| bad("agent", e.to_string()))?;
    let instance =
        InstanceId::new(instance.to_owned()).map_err(|e| bad("instance", e.to_string()))?;
    let ttl = match ttl {
        "15m" => Duration::from_secs(900),
        "1h" => Duration::from_secs(3600),
        "8h" => Duration::from_secs(8 * 3600),
        other => return Err(bad("ttl", format!("`{other}` is not 15m, 1h or 8h"))),
    };
    if !gw.engine.snapshot().agents.contains_key(&agent) {
        return Err(ApiError::not_found(format!("no agent `{agent}`")));
    }
    let revocations = &gw.identity.load().revocations;
    if revocations.is_agent_revoked(&agent) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "revoked",
            format!("agent `{agent}` is revoked; refusing to issue a token"),
        ));
    }
    let spiffe = SpiffeId::new(
        gw.config.trust_domain.clone(),
        agent.clone(),
        instance.clone(),
    );
    let now = SystemTime::now();
    let issued = gw
        .keys
        .load()
        .current
        .issue(&warden_identity::IssueRequest {
            spiffe_id: spiffe.clone(),
            audience: vec![gw.config.serve.audience.clone()],
            ttl,
            now,
        })
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    warden_store::InventoryStore::record_token(
        &gw.store,
        &warden_store::TokenRecord {
            jti: issued.jti.clone(),
            agent: agent.as_str().to_owned(),
            instance: instance.as_str().to_owned(),
            issued_at: Some(crate::now_millis()),
            expires_at: issued
                .expires_at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            issued_by: Some(admin.name.clone()),
            last_used_at: None,
        },
    )
    .await
    .map_err(|e| ApiError::store(&e))?;
    admin::audit_admin(
        gw,
        "token_issued",
        &spiffe.to_string(),
        &format!("token {} for {}", issued.jti, humantime(ttl)),
        &admin.name,
    )
    .await?;
    tracing::info!(agent = %agent, instance = %instance, by = %admin.name, "token issued from the console");
    Ok(issued.token.expose().to_owned())
}

fn humantime(ttl: Duration) -> String {
    let secs = ttl.as_secs();
    if secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else {
        format!("{} min", secs / 60)
    }
}

/// `POST /console/approvals/{id}/{approve|reject}` (approver).
pub(super) async fn decide(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    headers: HeaderMap,
    Path((id, verdict)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let fields = match verified_form(&signed, &headers, &body) {
        Ok(fields) => fields,
        Err(refusal) => return *refusal,
    };
    let note = note_of(&fields);
    let body = json_body(json!({ "note": note }));
    let result = match verdict.as_str() {
        "approve" => admin::approve(State(gw.clone()), signed.headers(), Path(id), body)
            .await
            .map(|_| "approved"),
        "reject" => admin::reject(State(gw.clone()), signed.headers(), Path(id), body)
            .await
            .map(|_| "rejected"),
        other => Err(ApiError::not_found(format!("no verdict `{other}`"))),
    };
    match result {
        Ok(done) => Redirect::to(&format!("/console/approvals?done={done}")).into_response(),
        Err(e) => signed.fail(&gw, e),
    }
}

/// `POST /console/incidents/{id}/close` (admin).
pub(super) async fn close_incident(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = match verified_form(&signed, &headers, &body) {
        Ok(fields) => fields,
        Err(refusal) => return *refusal,
    };
    let note = note_of(&fields);
    match incidents::close(
        State(gw.clone()),
        signed.headers(),
        Path(id.clone()),
        json_body(json!({ "note": note })),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!(
            "/console/incidents/{}",
            warden_console::html::url(&id)
        ))
        .into_response(),
        Err(e) => signed.fail(&gw, e),
    }
}

/// `POST /console/audit/verify` (auditor): starts verifying the whole log
/// in the background, once at a time; the page follows its progress.
pub(super) async fn verify(
    State(gw): State<Arc<Gateway>>,
    signed: Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refusal) = verified_form(&signed, &headers, &body) {
        return *refusal;
    }
    if let Err(e) = gw.authenticate_admin(&signed.headers(), Role::Auditor) {
        return status_only(e.status, &e.message);
    }
    {
        let mut state = gw.console.verify.lock();
        if state.state == "running" {
            return Json(state.to_json()).into_response();
        }
        *state = VerifyState {
            state: "running".to_owned(),
            ..VerifyState::default()
        };
    }
    tracing::info!(by = %signed.session.name, "audit verification started from the console");
    let job = Arc::clone(&gw.console.verify);
    let store = gw.store.clone();
    let vkey = gw.audit.verifier_key();
    let witness = gw.audit.witness_dir().to_owned();
    tokio::spawn(async move {
        let progress = {
            let job = Arc::clone(&job);
            move |done: u64, total: u64| {
                let mut state = job.lock();
                state.done = done;
                state.total = total;
            }
        };
        let result =
            crate::audit::verify_online_with_progress(&store, &vkey, &witness, None, &progress)
                .await;
        let mut state = job.lock();
        state.finished_ms = crate::now_millis();
        match result {
            Ok(report) => {
                state.state = "ok".to_owned();
                state.done = report.records;
                state.total = report.size;
                state.message = format!(
                    "{} records and {} checkpoints verify; root {}",
                    report.records,
                    report.checkpoints,
                    hex::encode(report.root)
                );
            }
            Err(message) => {
                state.state = "bad".to_owned();
                state.bad_index = first_index(&message);
                state.message = message;
            }
        }
    });
    let state = gw.console.verify.lock().to_json();
    if headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
    {
        Json(state).into_response()
    } else {
        Redirect::to("/console/audit").into_response()
    }
}

/// The record index a verification failure names (`record N: …`).
fn first_index(message: &str) -> Option<u64> {
    let rest = message.strip_prefix("record ")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::first_index;

    #[test]
    fn the_failing_record_is_read_from_the_message() {
        assert_eq!(
            first_index("record 17: its stored leaf hash does not match"),
            Some(17)
        );
        assert_eq!(first_index("stored checkpoint of size 4: bad"), None);
    }
}
