//! The HTTP side of tool pins: `POST /v1/tools/screen` on the data plane
//! (what `warden mcp wrap` reports its tool lists to), and on the admin
//! plane `GET /v1/tools`, `GET /v1/tools/{server}` (auditor) and
//! `POST /v1/tools/{server}/accept` (admin).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_mcp::ToolPage;
use warden_store::{ToolPinRecord, ToolPinStore};
use warden_types::Role;

use super::{AcceptError, ToolStatus, accept_tools, config_pins};
use crate::auth::Authorization;
use crate::decisions::Via;
use crate::error::ApiError;
use crate::state::Gateway;

type Answer = Result<Json<Value>, ApiError>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScreenBody {
    server: String,
    tools: Vec<Value>,
    /// Whether no page follows.
    last: bool,
    #[serde(default)]
    client_features: Vec<String>,
    #[serde(default)]
    via: Option<String>,
}

/// `POST /v1/tools/screen`: one `tools/list` page an agent's session
/// received, screened against the server's pins; answers the tools
/// withheld, `{"withheld": {"tool": "why"}}`.
pub(crate) async fn post_screen(
    State(gw): State<Arc<Gateway>>,
    auth: Authorization,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let caller = gw.authenticate_agent(&auth)?;
    let req: ScreenBody = crate::error::json_body(body)?;
    let via = match req.via.as_deref() {
        None | Some("decision_api") => Via::DecisionApi,
        Some("mcp_stdio") => Via::McpStdioReported,
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_request",
                format!("field `via` must be `decision_api` or `mcp_stdio`, not `{other}`"),
            ));
        }
    };
    let mut features = req.client_features;
    if let Some(bad) = features
        .iter()
        .find(|f| !matches!(f.as_str(), "elicitation" | "roots" | "sampling"))
    {
        return Err(ApiError::bad_request(
            "bad_request",
            format!(
                "field `client_features` holds `{bad}`: expected `elicitation`, `roots` or `sampling`"
            ),
        ));
    }
    features.sort();
    features.dedup();
    let page = ToolPage {
        tools: &req.tools,
        last: req.last,
        client_features: &features,
    };
    let withheld = gw.screen_tools(&caller, &req.server, page, via).await?;
    Ok(Json(json!({ "withheld": withheld })))
}

/// A tool pin as the admin API shows it; with `definitions`, the pinned
/// and the last seen definitions too.
fn pin_json(
    r: &ToolPinRecord,
    pins: Option<&BTreeMap<String, String>>,
    definitions: bool,
) -> Value {
    let status = ToolStatus::of(r, pins);
    let pinned = match pins {
        Some(p) => p.get(&r.tool).cloned(),
        None => r.pinned_fingerprint.clone(),
    };
    let mut v = json!({
        "server": r.server,
        "tool": r.tool,
        "status": status.name(),
        "withheld": status.reason(r),
        "pinned_fingerprint": pinned,
        "seen_fingerprint": r.seen_fingerprint,
        "finding": r.finding,
        "first_seen": r.first_seen,
        "seen_at": r.seen_at,
        "accepted_by": r.accepted_by,
        "accepted_at": r.accepted_at,
    });
    if definitions {
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
        v["pinned_definition"] = r.pinned_definition.as_deref().map_or(Value::Null, parse);
        v["seen_definition"] = parse(&r.seen_definition);
    }
    v
}

fn pinning(gw: &Gateway, server: &str) -> &'static str {
    if config_pins(&gw.config, server).is_some() {
        "warden.toml"
    } else {
        "first use"
    }
}

/// `GET /v1/tools`: every pinned tool, by server.
pub(crate) async fn list(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let records = gw
        .store
        .tool_pins()
        .await
        .map_err(|e| ApiError::store(&e))?;
    let tools: Vec<Value> = records
        .iter()
        .map(|r| pin_json(r, config_pins(&gw.config, &r.server), false))
        .collect();
    Ok(Json(json!({ "tools": tools })))
}

/// `GET /v1/tools/{server}`: one server's pins, with the definitions.
pub(crate) async fn show(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(server): Path<String>,
) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    if !gw.config.servers.contains_key(&server) {
        return Err(ApiError::not_found(format!("no tool server `{server}`")));
    }
    let records = gw
        .store
        .tool_pins()
        .await
        .map_err(|e| ApiError::store(&e))?;
    let pins = config_pins(&gw.config, &server);
    let tools: Vec<Value> = records
        .iter()
        .filter(|r| r.server == server)
        .map(|r| pin_json(r, pins, true))
        .collect();
    Ok(Json(json!({
        "server": server,
        "pinning": pinning(&gw, &server),
        "tools": tools,
    })))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    #[serde(default)]
    tools: Option<Vec<String>>,
}

/// `POST /v1/tools/{server}/accept`: the definitions last seen of the
/// server's tools (or of `{"tools": [...]}`) become the pinned ones.
pub(crate) async fn accept(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(server): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let admin = gw.authenticate_admin(&headers, Role::Admin)?;
    let body = body.map_err(|e| ApiError::body(&e))?;
    let req: AcceptBody = if body.is_empty() {
        AcceptBody::default()
    } else {
        crate::error::json_body(Ok(body))?
    };
    let (accepted, records) = accept_tools(
        &gw.store,
        &gw.config,
        &server,
        req.tools.as_deref(),
        &admin.name,
        "admin_api",
    )
    .await
    .map_err(|e| match e {
        AcceptError::Store(e) => ApiError::store(&e),
        e @ (AcceptError::NoServer(_) | AcceptError::NoTool { .. }) => {
            ApiError::not_found(e.to_string())
        }
        e @ AcceptError::PinnedInConfig(_) => {
            ApiError::new(StatusCode::CONFLICT, "pinned_in_config", e.to_string())
        }
    })?;
    // In force on this node at once; the others follow the change counter.
    gw.reload_pins().await.map_err(|e| ApiError::store(&e))?;
    for record in records {
        if let Err(e) = gw.audit.append(record, None).await {
            tracing::error!(error = %e, %server, "tools accepted in the store but not in the audit log");
            return Err(ApiError::unavailable(format!(
                "{e}: the tools were accepted but the acceptance could not be audited"
            )));
        }
    }
    tracing::info!(%server, by = %admin.name, tools = accepted.len(), "tool definitions accepted");
    let tools: Vec<Value> = accepted
        .iter()
        .map(|r| json!({"tool": r.tool, "fingerprint": r.seen_fingerprint, "before": r.pinned_fingerprint}))
        .collect();
    Ok(Json(json!({ "server": server, "accepted": tools })))
}
