//! What the pages read: the newest audit records, the overview's figures,
//! arguments redacted for a role.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use warden_audit::RecordKind;
use warden_console::views::overview::Overview;
use warden_store::{ApprovalStatus, AuditStore, InventoryStore, Store};
use warden_types::Role;

use crate::error::ApiError;
use crate::state::Gateway;

/// How many of the newest records the overview, activity and history read.
pub(crate) const TAIL: u64 = 2_000;

/// The newest `count` records (decoded, as JSON), newest first, and the
/// log's size.
pub(crate) async fn tail(gw: &Gateway, count: u64) -> Result<(Vec<Value>, u64), ApiError> {
    let size = gw
        .store
        .audit_size()
        .await
        .map_err(|e| ApiError::store(&e))?;
    let mut from = size.saturating_sub(count);
    let mut out = Vec::new();
    while from < size {
        let rows = gw
            .store
            .audit_records(from, size)
            .await
            .map_err(|e| ApiError::store(&e))?;
        let Some(last) = rows.last() else { break };
        from = last.index + 1;
        // The canonical bytes are JSON: one parse, no typed detour.
        out.extend(
            rows.iter()
                .filter_map(|r| serde_json::from_slice::<Value>(&r.record).ok()),
        );
    }
    out.reverse();
    Ok((out, size))
}

/// The agent name in a record's SPIFFE ID.
pub(crate) fn agent_name(record: &Value) -> String {
    warden_console::views::activity::agent_of(record).0
}

fn is_decision(record: &Value) -> bool {
    record["kind"] == RecordKind::Decision.as_str() && !record["agent"].is_null()
}

/// The overview's figures.
pub(crate) async fn overview(gw: &Gateway) -> Result<Overview, ApiError> {
    let now = crate::now_millis();
    let mut o = Overview::default();
    for row in gw
        .store
        .activity(None, now)
        .await
        .map_err(|e| ApiError::store(&e))?
    {
        let slot = match row.outcome.as_str() {
            "allow" => 0,
            "deny" => 1,
            "needs_approval" => 2,
            _ => continue,
        };
        o.totals[slot] += u64::try_from(row.total).unwrap_or(0);
    }
    let (records, size) = tail(gw, TAIL).await?;
    o.audit_size = size;
    o.window_records = records.len() as u64;
    let this_minute = now.div_euclid(60_000);
    o.minutes = vec![[0; 3]; 60];
    let mut reasons: HashMap<String, u64> = HashMap::new();
    let mut active = BTreeSet::new();
    for r in records.iter().filter(|r| is_decision(r)) {
        let at = r["time_ms"].as_i64().unwrap_or(0);
        let age = this_minute - at.div_euclid(60_000);
        let slot = match r["decision"].as_str() {
            Some("allow") => 0,
            Some("deny") => 1,
            Some("needs_approval") => 2,
            _ => continue,
        };
        if (0..60).contains(&age) {
            o.minutes[59 - usize::try_from(age).unwrap_or(0)][slot] += 1;
        }
        if slot == 1
            && let Some(reason) = r["reasons"].get(0).and_then(Value::as_str)
        {
            *reasons.entry(reason.to_owned()).or_default() += 1;
        }
        if now - at < 5 * 60_000 {
            active.insert(agent_name(r));
        }
    }
    let mut reasons: Vec<(String, u64)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    reasons.truncate(8);
    o.top_reasons = reasons;
    o.active_agents = active.into_iter().collect();
    gw.store
        .expire_approvals(now)
        .await
        .map_err(|e| ApiError::store(&e))?;
    o.pending_approvals = gw
        .store
        .approvals(Some(ApprovalStatus::Pending))
        .await
        .map_err(|e| ApiError::store(&e))?
        .len() as u64;
    o.alerts = gw.alert_log.recent.lock().len() as u64;
    o.dead_letters = gw.alert_log.dead.lock().len() as u64;
    o.open_incidents = crate::incidents::list_incidents(&gw.store)
        .await
        .map_err(|e| ApiError::store(&e))?
        .iter()
        .filter(|i| i.status != "closed")
        .count() as u64;
    o.agents = gw.engine.snapshot().agents.len() as u64;
    let mut suspended: Vec<String> = gw.identity.load().suspended.keys().cloned().collect();
    suspended.sort();
    o.suspended = suspended;
    o.checkpoint = crate::audit_api::latest(gw)
        .await?
        .map(|c| (c.size, c.created_at));
    let verify = gw.console.verify.lock().clone();
    if matches!(verify.state.as_str(), "ok" | "bad") {
        o.verified = Some((
            verify.finished_ms,
            (verify.state == "bad").then_some(verify.message),
        ));
    }
    Ok(o)
}

/// `args` as `role` may see them: approvers and admins decide on the exact
/// values; auditors see every classified value masked.
pub(crate) fn args_for(gw: &Gateway, role: Role, args: &Value) -> Value {
    if role.permits(Role::Approver) {
        return args.clone();
    }
    let findings = gw.classifier.classify_json(args);
    let mut out = args.clone();
    warden_classify::redact_json(
        &mut out,
        &findings,
        &warden_classify::RedactionPolicy::default(),
    );
    out
}

/// Records of the instance `spiffe` before `index`, newest first.
pub(crate) fn earlier_of(records: &[Value], spiffe: &str, before: u64, count: usize) -> Vec<Value> {
    records
        .iter()
        .filter(|r| {
            r["agent"].as_str() == Some(spiffe) && r["index"].as_u64().is_some_and(|i| i < before)
        })
        .take(count)
        .cloned()
        .collect()
}
