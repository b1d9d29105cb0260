//! Audit records of what the gateway decides.

use std::time::Duration;

use warden_audit::{ApprovalInfo, AuditRecord, RecordKind};
use warden_policy::DecisionRequest;
use warden_types::Operation;

use crate::decisions::DecisionAnswer;

/// The record of one decision.
pub(crate) fn decision_record(
    answer: &DecisionAnswer,
    request: &DecisionRequest<'_>,
    args_digest: &str,
    operation: Option<Operation>,
    latency: Duration,
    approval: Option<ApprovalInfo>,
    interception: &str,
) -> AuditRecord {
    AuditRecord {
        version: 1,
        index: 0,
        time_ms: crate::now_millis(),
        kind: RecordKind::Decision,
        decision_id: Some(answer.id.clone()),
        agent: Some(answer.agent.clone()),
        interception: interception.to_owned(),
        server: Some(request.server.to_owned()),
        tool: Some(request.tool.to_owned()),
        operation: operation.map(|o| o.to_string()),
        args_digest: Some(args_digest.to_owned()),
        decision: Some(answer.decision.as_str().to_owned()),
        policies: answer.policies.clone(),
        policy_digest: Some(answer.policy_digest.clone()),
        reasons: answer.reasons.clone(),
        classes: Vec::new(),
        destinations: Vec::new(),
        result_digest: None,
        latency_us: Some(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)),
        approval,
        payload_digest: None,
        erases: None,
        note: None,
    }
}

/// The record of an approver's decision.
pub(crate) fn approval_record(approval: &warden_store::ApprovalRecord, agent: &str) -> AuditRecord {
    let approved = approval.status == warden_store::ApprovalStatus::Approved;
    AuditRecord {
        version: 1,
        index: 0,
        time_ms: crate::now_millis(),
        kind: RecordKind::Approval,
        decision_id: Some(approval.id.clone()),
        agent: Some(agent.to_owned()),
        interception: "admin_api".to_owned(),
        server: Some(approval.server.clone()),
        tool: Some(approval.tool.clone()),
        operation: Some(approval.operation.clone()),
        args_digest: Some(approval.args_digest.clone()),
        decision: Some(if approved { "approved" } else { "rejected" }.to_owned()),
        policies: approval.policies.clone(),
        policy_digest: Some(approval.policy_digest.clone()),
        reasons: approval.reasons.clone(),
        classes: Vec::new(),
        destinations: Vec::new(),
        result_digest: None,
        latency_us: None,
        approval: Some(ApprovalInfo {
            id: approval.id.clone(),
            by: approval.decided_by.clone().unwrap_or_default(),
            at_ms: approval.decided_at.unwrap_or(0),
        }),
        payload_digest: None,
        erases: None,
        note: approval.note.clone(),
    }
}

/// The record of a change an admin-plane token made by hand (see
/// [`RecordKind::Admin`]): `change` on `subject` (an agent's or instance's
/// SPIFFE ID), for `reason`, by the token named `by`.
pub(crate) fn admin_record(change: &str, subject: &str, reason: &str, by: &str) -> AuditRecord {
    let mut record = AuditRecord::new(0, crate::now_millis(), RecordKind::Admin, "admin_api");
    record.decision = Some(change.to_owned());
    record.agent = Some(subject.to_owned());
    if !reason.is_empty() {
        record.reasons = vec![reason.to_owned()];
    }
    record.note = Some(format!("by {by}"));
    record
}
