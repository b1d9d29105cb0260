//! The decision API: `POST /v1/decisions`, `GET /v1/decisions/{id}`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use warden_policy::{Decision, DecisionRequest, Snapshot};
use warden_store::{ApprovalMatch, ApprovalRecord, ApprovalStatus, Store};
use warden_types::{DecisionOutcome, SpiffeId};

use crate::auth::Authorization;
use crate::error::ApiError;
use crate::state::{Caller, Gateway};
use crate::telemetry::TraceScope;

const RECENT_LIMIT: usize = 10_000;
const MAX_NAME: usize = 128;
const MAX_SESSION: usize = 256;
const MAX_WAIT_SECS: u64 = 60;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    server: String,
    tool: String,
    #[serde(default)]
    args: warden_mcp::strict::StrictValue,
    #[serde(default = "default_session")]
    session: String,
    /// The interception point, when it is not the decision API itself.
    #[serde(default)]
    via: Option<String>,
}

fn default_session() -> String {
    "default".to_owned()
}

/// A decision as answered on the wire.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DecisionAnswer {
    /// The decision's id (for `needs_approval`, the approval's id).
    pub id: String,
    /// `allow`, `deny` or `needs_approval`.
    pub decision: DecisionOutcome,
    /// Why.
    pub reasons: Vec<String>,
    /// The policies that decided.
    pub policies: Vec<String>,
    /// The digest of the policy set in force.
    pub policy_digest: String,
    /// The agent instance that asked.
    pub agent: String,
    /// Data classes found in the arguments (none when no permit reaches
    /// the call: then nothing is classified).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Redaction obligations of the allow: data of these classes is
    /// rewritten in the arguments (see `args`) and in the result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redact: Vec<warden_policy::Redaction>,
    /// The arguments as they may go on, when an obligation rewrote them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// For `needs_approval`: when the request expires (unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Whether the tool is withheld from agents (its definition drifted
    /// from its pin, or carries instructions aimed at the model): a deny,
    /// whose reason says why and how an admin accepts it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

/// Recent allow/deny answers, so `GET /v1/decisions/{id}` can return them
/// and an observation can find the action its result came from. Sharded by
/// a hash of the id, so that recording one takes no global lock; allows and
/// denials are kept apart, so that a flood of cheap denials never pushes out
/// an allowed action whose result is still to come.
#[derive(Debug)]
pub(crate) struct RecentDecisions {
    allowed: Vec<parking_lot::Mutex<RecentShard>>,
    refused: Vec<parking_lot::Mutex<RecentShard>>,
    hasher: std::hash::RandomState,
}

#[derive(Debug, Default)]
struct RecentShard {
    order: VecDeque<String>,
    by_id: HashMap<String, Recent>,
}

/// A recent final decision.
#[derive(Debug, Clone)]
pub(crate) struct Recent {
    /// The caller it was answered to.
    pub(crate) caller: Arc<Caller>,
    /// The answer as sent.
    pub(crate) body: Bytes,
    /// What was decided (an observation of its result names it).
    pub(crate) action: Arc<ActionRef>,
}

/// An action's names, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActionRef {
    pub(crate) server: String,
    pub(crate) tool: String,
    pub(crate) session: String,
    pub(crate) allowed: bool,
    /// Where it was intercepted.
    pub(crate) via: Via,
    /// Redaction obligations its result is subject to.
    pub(crate) redact: Vec<warden_policy::Redaction>,
}

impl ActionRef {
    fn of(action: &Action<'_>, allowed: bool) -> Self {
        Self {
            server: action.server.to_owned(),
            tool: action.tool.to_owned(),
            session: action.session.to_owned(),
            allowed,
            via: action.via,
            redact: Vec::new(),
        }
    }
}

const RECENT_SHARDS: usize = 16;
/// Allowed actions kept for their observations, at most.
const RECENT_ALLOWED_LIMIT: usize = 50_000;

impl Default for RecentDecisions {
    fn default() -> Self {
        let shards = || {
            (0..RECENT_SHARDS)
                .map(|_| parking_lot::Mutex::new(RecentShard::default()))
                .collect()
        };
        Self {
            allowed: shards(),
            refused: shards(),
            hasher: std::hash::RandomState::new(),
        }
    }
}

impl RecentDecisions {
    fn index(&self, id: &str) -> usize {
        use std::hash::BuildHasher as _;
        (self.hasher.hash_one(id) as usize) % RECENT_SHARDS
    }

    pub(crate) fn insert(&self, id: String, recent: Recent) {
        let (shards, limit) = if recent.action.allowed {
            (&self.allowed, RECENT_ALLOWED_LIMIT)
        } else {
            (&self.refused, RECENT_LIMIT)
        };
        let mut shard = shards[self.index(&id)].lock();
        if shard.order.len() >= limit / RECENT_SHARDS
            && let Some(old) = shard.order.pop_front()
        {
            shard.by_id.remove(&old);
        }
        shard.order.push_back(id.clone());
        shard.by_id.insert(id, recent);
    }

    pub(crate) fn get(&self, id: &str) -> Option<Recent> {
        let i = self.index(id);
        let found = self.allowed[i].lock().by_id.get(id).cloned();
        found.or_else(|| self.refused[i].lock().by_id.get(id).cloned())
    }
}

/// SHA-256 of the canonical JSON of the arguments, hex.
///
/// The canonical form is RFC 8785 (JCS), as in the audit record, so an auditor
/// can recompute it from the arguments alone.
pub fn args_digest(args: &Value) -> String {
    warden_audit::json_digest(args)
}

fn text_digest(bytes: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}

/// Checks a session id as the decision API does.
pub(crate) fn check_session(session: &str) -> Result<(), ApiError> {
    check_name("session", session, MAX_SESSION)
}

fn check_name(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.is_empty() || value.len() > max || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "bad_request",
            format!("field `{field}` must be 1 to {max} printable characters"),
        ));
    }
    Ok(())
}

/// The tool a refused decision request named, for its sighting.
fn tried_in(body: Option<&Bytes>) -> crate::auth::Tried {
    #[derive(serde::Deserialize)]
    struct Named<'a> {
        server: Option<&'a str>,
        tool: Option<&'a str>,
    }
    let tool = body
        .filter(|b| b.len() <= 64 * 1024)
        .and_then(|b| serde_json::from_slice::<Named<'_>>(b).ok())
        .and_then(|n| Some(format!("{}/{}", n.server?, n.tool?)));
    crate::auth::Tried { tool, client: None }
}

pub(crate) async fn post_decision(
    State(gw): State<Arc<Gateway>>,
    auth: Authorization,
    traceparent: crate::telemetry::TraceparentHeader,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let caller = gw.authenticate_agent_trying(&auth, || tried_in(body.as_ref().ok()))?;
    let req: DecisionBody = crate::error::strict_json_body(body)?;
    check_name("server", &req.server, MAX_NAME)?;
    check_name("tool", &req.tool, MAX_NAME)?;
    check_name("session", &req.session, MAX_SESSION)?;
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
    let args = match req.args.0 {
        Value::Null => Value::Object(serde_json::Map::new()),
        Value::Object(map) => Value::Object(map),
        _ => {
            return Err(ApiError::bad_request(
                "bad_request",
                "field `args` must be a JSON object",
            ));
        }
    };
    // Traced when an endpoint is configured: in the caller's trace, if it
    // sent one; the answer names Warden's span for what comes next.
    let trace = gw
        .tracer
        .as_ref()
        .map(|_| TraceScope::under(traceparent.context()));
    let action = Action {
        server: &req.server,
        tool: &req.tool,
        args: &args,
        session: &req.session,
        via,
        trace: trace.as_ref(),
    };
    let (_, bytes) = gw.decide_action(&caller, &action).await?;
    let mut response = json_response(bytes);
    if let Some(value) = trace
        .as_ref()
        .and_then(|t| axum::http::HeaderValue::from_str(&t.context.to_header()).ok())
    {
        response
            .headers_mut()
            .insert(crate::telemetry::TRACEPARENT, value);
    }
    Ok(response)
}

/// Where an action was intercepted, as the audit record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// `POST /v1/decisions`.
    DecisionApi,
    /// The decision API, called by a client that says it is `warden mcp
    /// wrap` (the stdio wrapper). Warden cannot check the claim: it is
    /// recorded as `mcp_stdio_reported`, never as an interception seen.
    McpStdioReported,
    /// The Streamable HTTP proxy.
    McpHttp,
    /// The LLM proxy (`/llm/{provider}/…`).
    LlmProxy,
}

impl Via {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Via::DecisionApi => "decision_api",
            Via::McpStdioReported => "mcp_stdio_reported",
            Via::McpHttp => "mcp_http",
            Via::LlmProxy => "llm_proxy",
        }
    }
}

/// An action's argument classes: all of them, and by top-level argument.
type ArgumentClasses = (Vec<String>, BTreeMap<String, BTreeSet<String>>);

/// One action to decide, from any interception point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Action<'a> {
    pub(crate) server: &'a str,
    pub(crate) tool: &'a str,
    pub(crate) args: &'a Value,
    pub(crate) session: &'a str,
    pub(crate) via: Via,
    /// Its span's place, when traces are exported.
    pub(crate) trace: Option<&'a TraceScope>,
}

impl Gateway {
    /// The data classes in an action's arguments, in all and by top-level
    /// argument (for the record's shape). An argument that names the
    /// destination (an address the data goes to) is where the data goes,
    /// not data: it is left out.
    fn argument_classes(&self, snapshot: &Snapshot, action: &Action<'_>) -> ArgumentClasses {
        let skip = snapshot
            .tool(action.server, action.tool)
            .map(|t| t.destination_arguments.as_slice())
            .unwrap_or_default();
        let by_field = match action.args {
            Value::Object(map) if skip.iter().any(|name| map.contains_key(name)) => {
                let mut rest = map.clone();
                for name in skip {
                    rest.remove(name);
                }
                self.classifier.classes_by_field(&Value::Object(rest))
            }
            Value::Object(_) => self.classifier.classes_by_field(action.args),
            _ => {
                let all = self.classifier.classes(action.args).into_iter().collect();
                return (all, BTreeMap::new());
            }
        };
        let all: BTreeSet<&String> = by_field.values().flatten().collect();
        (all.into_iter().cloned().collect(), by_field)
    }

    /// Decides one action, records it, and returns the answer with its wire
    /// form. Every interception point comes through here.
    pub(crate) async fn decide_action(
        &self,
        caller: &Arc<Caller>,
        action: &Action<'_>,
    ) -> Result<(DecisionAnswer, Bytes), ApiError> {
        let started = std::time::Instant::now();
        let span_start = action
            .trace
            .filter(|_| self.tracer.is_some())
            .map(|_| warden_monitor::trace::unix_nanos());
        let id = &caller.svid.spiffe_id;
        // The arguments' data classes: `context.classes`, and what the flow
        // rules check against the destination.
        // One policy snapshot for the whole decision: a reload in between
        // cannot mix versions.
        let snapshot = self.engine.snapshot();
        // Classified only when the classes can change the answer (a
        // condition reads them, or a permit may let the data move, so the
        // flow rules and obligations apply): a call no permit reaches is
        // denied whatever it carries, and its record names no classes.
        let (classes, field_classes) =
            if snapshot.classes_used(id.agent(), action.server, action.tool) {
                self.argument_classes(&snapshot, action)
            } else {
                ArgumentClasses::default()
            };
        let request = DecisionRequest {
            agent: id.agent(),
            instance: id.instance(),
            session: action.session,
            server: action.server,
            tool: action.tool,
            args: action.args,
            classes: &classes,
        };
        // A granted tool whose definition is withheld (it drifted from its
        // pin) is denied before the policy is asked, so that nothing is
        // counted; one not granted is denied by the policy as before.
        let withheld = self.withheld_tool(action.server, action.tool).filter(|_| {
            snapshot
                .agents
                .get(id.agent())
                .is_some_and(|a| a.is_granted(action.server, action.tool))
        });
        let is_withheld = withheld.is_some();
        // The kill switch comes first: nothing a suspended agent asks runs,
        // whatever policy says.
        let refusal = match self.identity.load().suspended.get(id.agent().as_str()) {
            Some(s) => Some(format!(
                "agent `{}` is suspended ({}, by {} at {}); `warden agent resume {}` lifts it",
                s.agent,
                s.reason,
                s.by,
                warden_inventory::csv::rfc3339(s.at),
                s.agent
            )),
            None => withheld,
        };
        let decision = match refusal {
            Some(reason) => Decision {
                outcome: DecisionOutcome::Deny,
                reasons: vec![reason],
                policies: Vec::new(),
                policy_digest: snapshot.digest.clone(),
                operation: None,
                destination: None,
                redact: Vec::new(),
            },
            None => match self
                .on_session_deciding(&request, |engine| engine.decide_in(&snapshot, &request))
                .await
            {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "denying: the session's state cannot be read or kept");
                    Decision::deny(&snapshot.digest, format!("{e}: denied (fail closed)"))
                }
            },
        };
        let latency = started.elapsed();
        // The arguments in canonical form, once: their digest binds approvals and
        // the audit record, and they are the record's sealed payload.
        let canonical = warden_audit::canonical_json(action.args);
        let digest = text_digest(&canonical);
        let operation = decision.operation;
        let redact = decision.redact.clone();
        let (mut answer, approval) = match decision.outcome {
            DecisionOutcome::NeedsApproval => {
                self.needs_approval(caller, &request, &digest, decision)
                    .await
            }
            _ => (
                answer(
                    uuid::Uuid::now_v7().to_string(),
                    &caller.spiffe,
                    decision,
                    None,
                ),
                None,
            ),
        };
        answer.classes = classes.clone();
        answer.withheld = is_withheld;
        if answer.decision == DecisionOutcome::Allow && !redact.is_empty() {
            let skip = snapshot
                .tool(action.server, action.tool)
                .map(|t| t.destination_arguments.clone())
                .unwrap_or_default();
            answer.args = Some(self.redacted(action.args, &redact, &skip));
            answer.reasons.push(format!(
                "obligation: {} before the data moves on",
                redact
                    .iter()
                    .map(|r| format!("{} `{}`", r.action.as_str(), r.class))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            answer.redact = redact.clone();
        }
        // The record is durable before the answer leaves (sync durability); if it
        // cannot be written, the action is denied.
        let used_approval = approval.as_ref().map(|a| a.id.clone());
        let mut record = crate::records::decision_record(
            &answer,
            &request,
            &digest,
            operation,
            latency,
            approval,
            action.via.as_str(),
        );
        record.classes = classes;
        record.args_shape = crate::records::args_shape(action.args, &field_classes);
        record.destinations = destinations_of(&snapshot, action);
        if let Some(foreign) = &caller.svid.federated_from {
            record.note = Some(format!("federated identity `{foreign}`"));
        }
        let appended = self.audit.append(record, Some(canonical)).await;
        let audit_index = appended.as_ref().ok().copied().flatten();
        if let Err(e) = appended {
            answer.decision = DecisionOutcome::Deny;
            answer.reasons.push(format!(
                "{e}: the decision could not be recorded, so it is denied"
            ));
            answer.expires_at = None;
            if let Some(id) = used_approval {
                self.release_approval(&id, &mut answer.reasons).await;
            }
        }
        if let (Some(tracer), Some(scope), Some(start)) = (&self.tracer, action.trace, span_start) {
            tracer.record(crate::telemetry::action_span(
                scope,
                id,
                action,
                &answer,
                audit_index,
                start,
            ));
        }
        let bytes = Bytes::from(serde_json::to_vec(&answer).map_err(|e| {
            tracing::error!(error = %e, "cannot serialise a decision");
            ApiError::unavailable("cannot answer; the decision was not recorded")
        })?);
        if answer.decision != DecisionOutcome::NeedsApproval {
            self.recent.insert(
                answer.id.clone(),
                Recent {
                    caller: Arc::clone(caller),
                    body: bytes.clone(),
                    action: Arc::new(ActionRef {
                        redact,
                        ..ActionRef::of(action, answer.decision == DecisionOutcome::Allow)
                    }),
                },
            );
        }
        Ok((answer, bytes))
    }
}

/// The hosts an action's destination arguments name (recipients' domains,
/// URLs' hosts), for the record: at most 32, sorted.
fn destinations_of(snapshot: &Snapshot, action: &Action<'_>) -> Vec<String> {
    let Some(tool) = snapshot.tool(action.server, action.tool) else {
        return Vec::new();
    };
    let Value::Object(args) = action.args else {
        return Vec::new();
    };
    let mut hosts = std::collections::BTreeSet::new();
    for name in &tool.destination_arguments {
        for address in args
            .get(name)
            .map(warden_address::addresses_in)
            .unwrap_or_default()
            .into_iter()
            .flatten()
        {
            if hosts.len() < 32 {
                hosts.insert(address.host().to_string());
            }
        }
    }
    hosts.into_iter().collect()
}

fn json_response(bytes: Bytes) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

fn answer(id: String, agent: &str, d: Decision, expires_at: Option<i64>) -> DecisionAnswer {
    DecisionAnswer {
        id,
        decision: d.outcome,
        reasons: d.reasons,
        policies: d.policies,
        policy_digest: d.policy_digest,
        agent: agent.to_owned(),
        classes: Vec::new(),
        redact: Vec::new(),
        args: None,
        expires_at,
        withheld: false,
    }
}

impl Gateway {
    /// A `needs_approval` decision: use a matching approval if a human already
    /// gave one for these exact arguments in this session, else file a request.
    /// If the store is unavailable, deny: approvals fail closed.
    async fn needs_approval(
        &self,
        caller: &Caller,
        request: &DecisionRequest<'_>,
        digest: &str,
        decision: Decision,
    ) -> (DecisionAnswer, Option<warden_audit::ApprovalInfo>) {
        let id = &caller.svid.spiffe_id;
        let agent = caller.spiffe.as_str();
        let now = crate::now_millis();
        let wanted = ApprovalMatch {
            agent: id.agent(),
            instance: Some(id.instance()),
            session: request.session,
            server: request.server,
            tool: request.tool,
            args_digest: digest,
        };
        let fail = |e: &warden_store::StoreError, mut d: Decision| {
            tracing::error!(error = %e, "approval store unavailable; denying");
            d.outcome = DecisionOutcome::Deny;
            d.reasons
                .push("approval store unavailable: denied (fail closed)".to_owned());
            (
                answer(uuid::Uuid::now_v7().to_string(), agent, d, None),
                None,
            )
        };
        match self.store.consume_approval(&wanted, now).await {
            Ok(Some(approved)) => {
                let mut d = decision;
                let counted = self
                    .on_session_deciding(request, |engine| engine.record_allowed(request))
                    .await;
                if let Err(e) = &counted {
                    d.outcome = DecisionOutcome::Deny;
                    d.reasons.push(format!(
                        "approval `{}` was given, but {e}: denied (fail closed)",
                        approved.id
                    ));
                    return (
                        answer(uuid::Uuid::now_v7().to_string(), agent, d, None),
                        None,
                    );
                }
                if counted.is_ok_and(|ok| !ok) {
                    d.outcome = DecisionOutcome::Deny;
                    d.reasons.push(format!(
                        "approval `{}` was given, but the agent's hourly budget is spent",
                        approved.id
                    ));
                    return (
                        answer(uuid::Uuid::now_v7().to_string(), agent, d, None),
                        None,
                    );
                }
                d.outcome = DecisionOutcome::Allow;
                let by = approved.decided_by.unwrap_or_default();
                d.reasons
                    .push(format!("approved by `{by}` (approval `{}`)", approved.id));
                let info = warden_audit::ApprovalInfo {
                    id: approved.id,
                    by,
                    at_ms: approved.decided_at.unwrap_or(now),
                };
                return (
                    answer(uuid::Uuid::now_v7().to_string(), agent, d, None),
                    Some(info),
                );
            }
            Ok(None) => {}
            Err(e) => return fail(&e, decision),
        }
        // One agent may not bury the approvers' queue.
        let limit = self.config.serve.max_pending_approvals_per_agent;
        match self
            .store
            .pending_approvals_of(id.agent().as_str(), now)
            .await
        {
            Ok(waiting) if waiting >= limit => {
                let mut d = decision;
                d.outcome = DecisionOutcome::Deny;
                d.reasons.push(format!(
                    "agent `{}` already has {waiting} approvals waiting (at most {limit}: [serve] max_pending_approvals_per_agent); decide or let them expire first",
                    id.agent()
                ));
                return (
                    answer(uuid::Uuid::now_v7().to_string(), agent, d, None),
                    None,
                );
            }
            Ok(_) => {}
            Err(e) => return fail(&e, decision),
        }
        let expires_at = now
            + i64::try_from(self.config.serve.approval_timeout_secs).unwrap_or(i64::MAX / 2) * 1000;
        let record = ApprovalRecord {
            id: uuid::Uuid::now_v7().to_string(),
            agent: id.agent().clone(),
            instance: id.instance().clone(),
            session: request.session.to_owned(),
            server: request.server.to_owned(),
            tool: request.tool.to_owned(),
            operation: decision
                .operation
                .map(|o| o.to_string())
                .unwrap_or_default(),
            args: request.args.clone(),
            args_digest: digest.to_owned(),
            reasons: decision.reasons.clone(),
            policies: decision.policies.clone(),
            policy_digest: decision.policy_digest.clone(),
            status: ApprovalStatus::Pending,
            created_at: now,
            expires_at,
            decided_by: None,
            decided_at: None,
            note: None,
            consumed: false,
        };
        match self.store.create_approval(&record).await {
            Ok(()) => (answer(record.id, agent, decision, Some(expires_at)), None),
            Err(e) => fail(&e, decision),
        }
    }

    /// Makes an approval usable again after the action it allowed could not be
    /// recorded (so it did not run), saying so in `reasons`.
    async fn release_approval(&self, id: &str, reasons: &mut Vec<String>) {
        match self.store.release_approval(id).await {
            Ok(true) => reasons.push(format!(
                "approval `{id}` was not spent: ask again once the audit log is back"
            )),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, approval = id, "a consumed approval could not be released");
            }
        }
    }

    /// The outcome of an approval request, as a decision.
    async fn approval_outcome(
        &self,
        record: ApprovalRecord,
        via: Via,
    ) -> Result<DecisionAnswer, ApiError> {
        let spiffe = SpiffeId::new(
            self.config.trust_domain.clone(),
            record.agent.clone(),
            record.instance.clone(),
        );
        let base = Decision {
            outcome: DecisionOutcome::NeedsApproval,
            reasons: record.reasons.clone(),
            policies: record.policies.clone(),
            policy_digest: record.policy_digest.clone(),
            operation: None,
            destination: None,
            redact: Vec::new(),
        };
        let now = crate::now_millis();
        let mut d = base;
        let by = record.decided_by.clone().unwrap_or_default();
        let note = record
            .note
            .clone()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        match record.status {
            ApprovalStatus::Pending if record.expires_at <= now => {
                d.outcome = DecisionOutcome::Deny;
                d.reasons
                    .push("approval request expired without a decision".to_owned());
            }
            ApprovalStatus::Pending => {
                return Ok(answer(
                    record.id,
                    &spiffe.to_string(),
                    d,
                    Some(record.expires_at),
                ));
            }
            ApprovalStatus::Expired => {
                d.outcome = DecisionOutcome::Deny;
                d.reasons
                    .push("approval request expired without a decision".to_owned());
            }
            ApprovalStatus::Rejected => {
                d.outcome = DecisionOutcome::Deny;
                d.reasons.push(format!("rejected by `{by}`{note}"));
            }
            ApprovalStatus::Approved => {
                if !record.consumed {
                    let wanted = ApprovalMatch {
                        agent: &record.agent,
                        instance: Some(&record.instance),
                        session: &record.session,
                        server: &record.server,
                        tool: &record.tool,
                        args_digest: &record.args_digest,
                    };
                    if self
                        .store
                        .consume_approval(&wanted, now)
                        .await
                        .map_err(|e| ApiError::store(&e))?
                        .is_some()
                    {
                        let request = DecisionRequest {
                            agent: &record.agent,
                            instance: &record.instance,
                            session: &record.session,
                            server: &record.server,
                            tool: &record.tool,
                            args: &record.args,
                            classes: &[],
                        };
                        let counted = self
                            .on_session_deciding(&request, |engine| engine.record_allowed(&request))
                            .await;
                        if !matches!(counted, Ok(true)) {
                            d.outcome = DecisionOutcome::Deny;
                            d.reasons.push(match counted {
                                Err(e) => format!(
                                    "approved by `{by}`{note}, but {e}: denied (fail closed)"
                                ),
                                Ok(_) => format!(
                                    "approved by `{by}`{note}, but the agent's hourly budget is spent"
                                ),
                            });
                            return Ok(answer(record.id, &spiffe.to_string(), d, None));
                        }
                        d.outcome = DecisionOutcome::Allow;
                        d.reasons.push(format!("approved by `{by}`{note}"));
                        let mut allowed = answer(record.id.clone(), &spiffe.to_string(), d, None);
                        // The action is allowed now: that is a decision of its own
                        // in the log, carrying who approved it.
                        let canonical = warden_audit::canonical_json(&record.args);
                        let info = warden_audit::ApprovalInfo {
                            id: record.id.clone(),
                            by: by.clone(),
                            at_ms: record.decided_at.unwrap_or(now),
                        };
                        let operation = record.operation.parse().ok();
                        let mut audit = crate::records::decision_record(
                            &allowed,
                            &request,
                            &record.args_digest,
                            operation,
                            std::time::Duration::ZERO,
                            Some(info),
                            via.as_str(),
                        );
                        audit.args_shape =
                            crate::records::args_shape(&record.args, &BTreeMap::new());
                        if let Err(e) = self.audit.append(audit, Some(canonical)).await {
                            allowed.decision = DecisionOutcome::Deny;
                            allowed.reasons.push(format!(
                                "{e}: the decision could not be recorded, so it is denied"
                            ));
                            self.release_approval(&record.id, &mut allowed.reasons)
                                .await;
                        }
                        return Ok(allowed);
                    }
                }
                // Approvals are single use: this one allowed an action already
                // (through a retried request, or another node's answer).
                d.outcome = DecisionOutcome::Deny;
                d.reasons.push(format!(
                    "approved by `{by}`{note}, and that approval was already used: it allows one action"
                ));
            }
        }
        Ok(answer(record.id, &spiffe.to_string(), d, None))
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct WaitQuery {
    wait: Option<u64>,
}

pub(crate) async fn get_decision(
    State(gw): State<Arc<Gateway>>,
    auth: Authorization,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> Result<Response, ApiError> {
    let caller = gw.authenticate_agent(&auth)?;
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECS));
    let (_, body) = gw
        .await_decision(&caller, &id, wait, Via::DecisionApi)
        .await?;
    Ok(json_response(body))
}

impl Gateway {
    /// A decision by id, as its caller sees it; a pending approval is waited
    /// for up to `wait`.
    pub(crate) async fn await_decision(
        &self,
        caller: &Arc<Caller>,
        id: &str,
        wait: Duration,
        via: Via,
    ) -> Result<(DecisionAnswer, Bytes), ApiError> {
        let not_found = || ApiError::not_found(format!("no decision `{id}`"));
        if let Some(recent) = self.recent.get(id) {
            if recent.caller.spiffe != caller.spiffe {
                return Err(not_found());
            }
            let answer = serde_json::from_slice(&recent.body).map_err(|_| not_found())?;
            return Ok((answer, recent.body));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let record = self
                .store
                .approval(id)
                .await
                .map_err(|e| ApiError::store(&e))?
                // The instance that asked, not another instance of the agent:
                // an approval is bound to who asked for it.
                .filter(|r| {
                    &r.agent == caller.svid.spiffe_id.agent()
                        && &r.instance == caller.svid.spiffe_id.instance()
                })
                .ok_or_else(not_found)?;
            let pending =
                record.status == ApprovalStatus::Pending && record.expires_at > crate::now_millis();
            if !pending || tokio::time::Instant::now() >= deadline {
                let action = ActionRef {
                    server: record.server.clone(),
                    tool: record.tool.clone(),
                    session: record.session.clone(),
                    allowed: false,
                    via,
                    redact: Vec::new(),
                };
                let outcome = self.approval_outcome(record, via).await?;
                let body = Bytes::from(serde_json::to_vec(&outcome).map_err(|e| {
                    tracing::error!(error = %e, "cannot serialise a decision");
                    ApiError::unavailable("cannot answer")
                })?);
                if outcome.decision != DecisionOutcome::NeedsApproval {
                    // Final: asking again gives the same answer, on this node.
                    let action = ActionRef {
                        allowed: outcome.decision == DecisionOutcome::Allow,
                        ..action
                    };
                    self.recent.insert(
                        outcome.id.clone(),
                        Recent {
                            caller: Arc::clone(caller),
                            body: body.clone(),
                            action: Arc::new(action),
                        },
                    );
                }
                return Ok((outcome, body));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
