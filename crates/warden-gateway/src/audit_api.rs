//! `/v1/audit/…` on the admin plane (auditor role suffices).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use warden_audit::AuditRecord;
use warden_store::{AuditStore, CheckpointRow};
use warden_types::Role;

use crate::error::ApiError;
use crate::state::Gateway;

type Answer = Result<Json<Value>, ApiError>;

/// Most entries one request returns.
const MAX_ENTRIES: u64 = 1000;

pub(crate) async fn latest(gw: &Gateway) -> Result<Option<CheckpointRow>, ApiError> {
    let all = gw
        .store
        .audit_checkpoints()
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(all.into_iter().last())
}

fn checkpoint_json(cp: &CheckpointRow, vkey: &str) -> Value {
    let root = warden_audit::open_checkpoint(&cp.note, vkey)
        .map(|c| hex::encode(c.root))
        .ok();
    json!({"size": cp.size, "root": root, "note": cp.note, "created_at": cp.created_at})
}

/// `GET /v1/audit/checkpoint`: the newest signed checkpoint, and the key to check it.
pub(crate) async fn checkpoint(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let vkey = gw.audit.verifier_key();
    match latest(&gw).await? {
        Some(cp) => Ok(Json(
            json!({"checkpoint": checkpoint_json(&cp, &vkey), "vkey": vkey}),
        )),
        None => Ok(Json(json!({"checkpoint": null, "vkey": vkey}))),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct EntriesQuery {
    from: u64,
    to: Option<u64>,
}

/// `GET /v1/audit/entries?from=&to=`: records `[from, to)`, at most 1,000.
pub(crate) async fn entries(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(q): Query<EntriesQuery>,
) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let to =
        q.to.unwrap_or(q.from.saturating_add(100))
            .min(q.from.saturating_add(MAX_ENTRIES));
    if to < q.from {
        return Err(ApiError::bad_request(
            "bad_request",
            "`to` must not be below `from`",
        ));
    }
    let rows = gw
        .store
        .audit_records(q.from, to)
        .await
        .map_err(|e| ApiError::store(&e))?;
    let entries: Vec<Value> = rows
        .iter()
        .map(|r| {
            let record = AuditRecord::decode(&r.record).ok();
            json!({
                "index": r.index,
                "leaf_hash": hex::encode(r.leaf),
                "record": record,
                "canonical": String::from_utf8_lossy(&r.record),
                "payload": if r.payload.is_none() { "none" } else if r.payload_key.is_some() { "sealed" } else { "erased" },
            })
        })
        .collect();
    Ok(Json(json!({"entries": entries})))
}

#[derive(Debug, Deserialize)]
pub(crate) struct InclusionQuery {
    pub(crate) index: u64,
    pub(crate) size: Option<u64>,
}

/// `GET /v1/audit/proofs/inclusion?index=&size=`: against the newest
/// checkpoint's size unless `size` is given.
pub(crate) async fn inclusion(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(q): Query<InclusionQuery>,
) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let size = match q.size {
        Some(s) => s,
        None => latest(&gw)
            .await?
            .map(|c| c.size)
            .ok_or_else(|| ApiError::not_found("no checkpoint yet"))?,
    };
    let log_size = gw
        .store
        .audit_size()
        .await
        .map_err(|e| ApiError::store(&e))?;
    if size > log_size || q.index >= size {
        return Err(ApiError::bad_request(
            "bad_request",
            format!(
                "need index < size <= {log_size}; got index {} size {size}",
                q.index
            ),
        ));
    }
    let plan = warden_audit::inclusion_plan(q.index, size)
        .map_err(|e| ApiError::bad_request("bad_request", e.to_string()))?;
    let proof = crate::audit::fetch(&gw.store, &plan)
        .await
        .map_err(|e| ApiError::store(&e))?;
    let leaf = gw
        .store
        .audit_nodes(&[(0, q.index)])
        .await
        .map_err(|e| ApiError::store(&e))?;
    let leaf = leaf.first().map(|(_, h)| hex::encode(h));
    let root = crate::audit::root_at(&gw.store, size)
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(json!({
        "index": q.index, "size": size, "leaf_hash": leaf, "root": hex::encode(root),
        "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// `GET /v1/audit/proofs/consistency?from=&to=`.
pub(crate) async fn consistency(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(q): Query<ConsistencyQuery>,
) -> Answer {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let log_size = gw
        .store
        .audit_size()
        .await
        .map_err(|e| ApiError::store(&e))?;
    let to = q.to.unwrap_or(log_size);
    if q.from > to || to > log_size {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("need from <= to <= {log_size}; got from {} to {to}", q.from),
        ));
    }
    let plan = warden_audit::consistency_plan(q.from, to)
        .map_err(|e| ApiError::bad_request("bad_request", e.to_string()))?;
    let proof = crate::audit::fetch(&gw.store, &plan)
        .await
        .map_err(|e| ApiError::store(&e))?;
    let old_root = crate::audit::root_at(&gw.store, q.from)
        .await
        .map_err(|e| ApiError::store(&e))?;
    let new_root = crate::audit::root_at(&gw.store, to)
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(json!({
        "from": q.from, "to": to, "from_root": hex::encode(old_root), "to_root": hex::encode(new_root),
        "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
    })))
}

/// `POST /v1/audit/checkpoint`: sign and publish one now (admin).
pub(crate) async fn make_checkpoint(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Answer {
    gw.authenticate_admin(&headers, Role::Admin)?;
    let note = gw
        .audit
        .checkpoint()
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Json(json!({"note": note})))
}
