//! The inventory on the admin plane, and what the gateway saves for it:
//! sightings of refused callers and when each token was last used, written
//! behind the requests (every second) so that nothing on the data plane
//! waits for the store.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::UNIX_EPOCH;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_inventory::{InventoryError, SIGHTINGS_KEPT, SIGHTINGS_TTL_DAYS};
use warden_store::{InventoryStore, SightingRecord, TokenRecord};
use warden_types::Role;

use crate::error::{ApiError, GatewayError};
use crate::serve::Peer;
use crate::state::Gateway;

/// Sightings listed at most.
const SIGHTINGS_LISTED: i64 = 1000;
const DAY_MS: i64 = 86_400_000;

impl Gateway {
    /// Saves the sightings and token uses gathered since the last call; on
    /// a failed write they are kept for the next one.
    pub async fn save_inventory(&self) -> Result<(), GatewayError> {
        let now = crate::now_millis();
        let sightings = self.sightings.take();
        if !sightings.is_empty()
            && let Err(e) = self
                .store
                .save_sightings(
                    &sightings,
                    now - SIGHTINGS_TTL_DAYS * DAY_MS,
                    SIGHTINGS_KEPT,
                )
                .await
        {
            self.sightings.restore(sightings);
            return Err(e.into());
        }
        let mut used = Vec::new();
        let mut marks = Vec::new();
        for caller in self.tokens.callers() {
            let last = caller.last_used.load(Ordering::Relaxed);
            if last > caller.saved_use.load(Ordering::Relaxed) {
                let svid = &caller.svid;
                let expires_at = svid
                    .expires_at
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                used.push(TokenRecord {
                    jti: svid.jti.clone(),
                    agent: svid.spiffe_id.agent().as_str().to_owned(),
                    instance: svid.spiffe_id.instance().as_str().to_owned(),
                    issued_at: None,
                    expires_at,
                    issued_by: None,
                    last_used_at: Some(last),
                });
                marks.push((caller, last));
            }
        }
        self.store.token_uses(&used).await?;
        for (caller, last) in marks {
            caller.saved_use.store(last, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Sightings waiting to be saved (bounded by
    /// [`warden_inventory::MAX_PENDING`] and a small margin).
    pub fn pending_sightings(&self) -> usize {
        self.sightings.len()
    }

    /// Folds activity older than 31 days into all-time rows and forgets
    /// tokens expired for 30 days (hourly, from the watch loop).
    pub(crate) async fn sweep_inventory(&self) {
        let now = crate::now_millis();
        let hour = now.div_euclid(3_600_000);
        if let Err(e) = self.store.compact_activity(hour - 24 * 31).await {
            tracing::warn!(error = %e, "folding old activity failed");
        }
        if let Err(e) = self.store.forget_tokens(now - 30 * DAY_MS).await {
            tracing::warn!(error = %e, "forgetting expired tokens failed");
        }
    }

    pub(crate) async fn inventory(
        &self,
        agent: Option<&str>,
    ) -> Result<warden_inventory::Inventory, ApiError> {
        let snapshot = self.engine.snapshot();
        let manifests: Vec<&warden_policy::Manifest> = snapshot
            .agents
            .values()
            .map(|a| a.manifest.as_ref())
            .collect();
        warden_inventory::collect(
            &self.store,
            &self.config,
            &manifests,
            agent,
            crate::now_millis(),
        )
        .await
        .map_err(|e| match e {
            InventoryError::UnknownAgent(name) => ApiError::not_found(format!("no agent `{name}`")),
            InventoryError::Store(e) => ApiError::store(&e),
            InventoryError::BadReport(m) => ApiError::bad_request("bad_report", m),
        })
    }
}

/// `?format=json|csv`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FormatQuery {
    format: Option<String>,
}

/// `GET /v1/inventory`: every agent (auditor role); `?format=csv` gives the
/// DORA register rows.
pub(crate) async fn list(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(q): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let inventory = gw.inventory(None).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(inventory).into_response()),
        Some("csv") => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            warden_inventory::csv::register(&inventory),
        )
            .into_response()),
        Some(other) => Err(ApiError::bad_request(
            "bad_request",
            format!("`format` must be `json` or `csv`, not `{other}`"),
        )),
    }
}

/// `GET /v1/inventory/{agent}` (auditor role).
pub(crate) async fn show(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let inventory = gw.inventory(Some(&name)).await?;
    let agent = inventory
        .agents
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::not_found(format!("no agent `{name}`")))?;
    Ok(Json(json!(agent)))
}

/// A sighting as the API shows it.
pub fn sighting_json(s: &SightingRecord) -> Value {
    json!({
        "id": s.id, "origin": s.origin, "kind": s.kind, "claimed": s.claimed,
        "source": s.source, "user_agent": s.user_agent, "client": s.client,
        "detail": serde_json::from_str::<Value>(&s.detail).unwrap_or(Value::Null),
        "tools": serde_json::from_str::<Value>(&s.tools).unwrap_or(Value::Null),
        "count": s.count, "first_seen": s.first_seen, "last_seen": s.last_seen,
    })
}

/// `GET /v1/sightings`: callers and tooling not tied to a registered agent,
/// most recently seen first (auditor role).
pub(crate) async fn sightings(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    // What waits in memory is shown too: save it first.
    if let Err(e) = gw.save_inventory().await {
        tracing::warn!(error = %e, "saving sightings before listing them failed");
    }
    let list = gw
        .store
        .sightings(SIGHTINGS_LISTED)
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(
        json!({"sightings": list.iter().map(sighting_json).collect::<Vec<_>>()}),
    ))
}

/// `POST /v1/inventory/discoveries`: a `warden discover` JSON report; its
/// findings join the sightings (admin role).
pub(crate) async fn discoveries(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    peer: Option<axum::Extension<Peer>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let admin = gw.authenticate_admin(&headers, Role::Admin)?;
    let body = body.map_err(|e| ApiError::body(&e))?;
    let peer = peer.map(|p| p.0.0.ip().to_string()).unwrap_or_default();
    let now = crate::now_millis();
    let found = warden_inventory::discoveries::parse(&body, &peer, now)
        .map_err(|e| ApiError::bad_request("bad_report", e.to_string()))?;
    gw.store
        .save_sightings(&found, now - SIGHTINGS_TTL_DAYS * DAY_MS, SIGHTINGS_KEPT)
        .await
        .map_err(|e| ApiError::store(&e))?;
    tracing::info!(findings = found.len(), by = %admin.name, "discovery report taken");
    Ok((StatusCode::ACCEPTED, Json(json!({"accepted": found.len()}))))
}
