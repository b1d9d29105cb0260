//! Audit records of what the gateway decides.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
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
        args_shape: Vec::new(),
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
        args_shape: Vec::new(),
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

/// Entries a record's argument shape holds at most.
const SHAPE_ENTRIES: usize = 32;
/// Bytes of an argument's name a shape keeps.
const SHAPE_NAME: usize = 64;

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => "null",
    }
}

/// `name` cut to [`SHAPE_NAME`] bytes, on a character boundary.
fn shape_name(name: &str) -> &str {
    let mut end = name.len().min(SHAPE_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// The arguments' shape for the record, never their values: `field:type`
/// for each top-level argument and each member of an object argument
/// (`parent.child:type`), and `field:type:class` for each data class found
/// in a top-level argument; sorted, distinct, at most [`SHAPE_ENTRIES`].
/// Arguments that are not an object have no shape.
pub(crate) fn args_shape(
    args: &Value,
    field_classes: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let Value::Object(map) = args else {
        return Vec::new();
    };
    let mut shape = BTreeSet::new();
    for (name, value) in map {
        let name = shape_name(name);
        let kind = json_type(value);
        shape.insert(format!("{name}:{kind}"));
        for class in field_classes.get(name).into_iter().flatten() {
            shape.insert(format!("{name}:{kind}:{class}"));
        }
        if let Value::Object(members) = value {
            for (child, value) in members {
                shape.insert(format!("{name}.{}:{}", shape_name(child), json_type(value)));
            }
        }
    }
    shape.into_iter().take(SHAPE_ENTRIES).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_shape_has_names_types_and_classes_never_values() {
        let args = json!({
            "to": "ann@example.com",
            "amount": 12.5,
            "urgent": true,
            "lines": [1, 2],
            "payee": {"iban": "DE89370400440532013000", "name": null},
        });
        let classes =
            BTreeMap::from([("to".to_owned(), BTreeSet::from(["pii.contact".to_owned()]))]);
        let shape = args_shape(&args, &classes);
        assert_eq!(
            shape,
            [
                "amount:number",
                "lines:array",
                "payee.iban:string",
                "payee.name:null",
                "payee:object",
                "to:string",
                "to:string:pii.contact",
                "urgent:bool",
            ]
        );
        let text = shape.join(" ");
        assert!(!text.contains("ann@") && !text.contains("DE89") && !text.contains("12.5"));
        assert!(args_shape(&json!(["a"]), &BTreeMap::new()).is_empty());
    }

    #[test]
    fn a_shape_is_bounded() {
        let long = "x".repeat(200);
        let mut args = serde_json::Map::new();
        for i in 0..100 {
            args.insert(format!("{i:03}{long}"), json!(i));
        }
        args.insert("é".repeat(40), json!("v"));
        let shape = args_shape(&Value::Object(args), &BTreeMap::new());
        assert_eq!(shape.len(), SHAPE_ENTRIES);
        assert!(
            shape
                .iter()
                .all(|e| e.len() <= SHAPE_NAME + ":string".len())
        );
    }
}
