//! One decision over a snapshot: budgets, the sliced Cedar evaluation, and
//! reasons a person can act on.

use cedar_policy::{Authorizer, Decision as CedarDecision, Request, Response};
use serde::Serialize;
use serde_json::Value;
use warden_types::{AgentName, DecisionOutcome, InstanceId, Operation};

use crate::config::Destination;
use crate::context::{self, Histories, SessionHistory};
use crate::snapshot::{AgentInfo, Slice, Snapshot, ToolInfo};

/// What an agent asks to do.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRequest<'a> {
    /// The agent.
    pub agent: &'a AgentName,
    /// Its instance.
    pub instance: &'a InstanceId,
    /// The session the action belongs to.
    pub session: &'a str,
    /// The tool server.
    pub server: &'a str,
    /// The tool.
    pub tool: &'a str,
    /// The arguments (a JSON object).
    pub args: &'a Value,
    /// Data classes found in the arguments (`context.classes`; checked by
    /// the flow rules).
    pub classes: &'a [String],
}

/// Warden's answer, with everything needed to explain and audit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Allow, deny or needs approval.
    pub outcome: DecisionOutcome,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// The policies that decided.
    pub policies: Vec<String>,
    /// The digest of the policy set the decision was made under.
    pub policy_digest: String,
    /// The tool's operation kind, when the tool is known.
    pub operation: Option<Operation>,
    /// The tool's destination, when the tool is known.
    pub destination: Option<Destination>,
    /// Redaction obligations of the policies that allowed it.
    pub redact: Vec<crate::Redaction>,
}

impl Decision {
    /// A denial under the policy set `digest`, for `reason`, that no policy
    /// made (a budget, a limit, an unavailable dependency).
    pub fn deny(digest: &str, reason: String) -> Decision {
        Decision {
            outcome: DecisionOutcome::Deny,
            reasons: vec![reason],
            policies: Vec::new(),
            policy_digest: digest.to_owned(),
            operation: None,
            destination: None,
            redact: Vec::new(),
        }
    }
}

fn show(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "absent".to_owned(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 64 {
                format!("{}…", s.chars().take(64).collect::<String>())
            } else {
                s
            }
        }
    }
}

/// The id under which decisions name the flow rules.
pub const FLOW_RULE: &str = "warden/flow";

impl Snapshot {
    /// Decides `request` given the session's history. Pure: budgets per hour and
    /// session bookkeeping are the [`crate::Engine`]'s.
    pub fn evaluate(&self, request: &DecisionRequest<'_>, history: &SessionHistory) -> Decision {
        let histories = Histories {
            session: history,
            instance: None,
        };
        self.evaluate_with(request, &histories, true)
    }

    /// Decides as [`Snapshot::evaluate`] does, also reading what the agent
    /// instance did across its other sessions (`instance`): its taint, its
    /// injection flag and the values it observed.
    pub fn evaluate_in_instance(
        &self,
        request: &DecisionRequest<'_>,
        history: &SessionHistory,
        instance: &SessionHistory,
    ) -> Decision {
        let histories = Histories {
            session: history,
            instance: Some(instance),
        };
        self.evaluate_with(request, &histories, true)
    }

    /// Decides as [`Snapshot::evaluate`] does, but hands Cedar the whole policy
    /// set instead of the request's slice. Slow (every policy is evaluated);
    /// it exists to check that slicing never changes a decision.
    pub fn evaluate_unsliced(
        &self,
        request: &DecisionRequest<'_>,
        history: &SessionHistory,
    ) -> Decision {
        let histories = Histories {
            session: history,
            instance: None,
        };
        self.evaluate_with(request, &histories, false)
    }

    fn evaluate_with(
        &self,
        request: &DecisionRequest<'_>,
        histories: &Histories<'_>,
        sliced: bool,
    ) -> Decision {
        let Some(agent) = self.agents.get(request.agent) else {
            return Decision::deny(
                &self.digest,
                format!("agent `{}` is not registered", request.agent),
            );
        };
        if !self.config.servers.contains_key(request.server) {
            let hint = crate::error::did_you_mean(
                request.server,
                self.config.servers.keys().map(String::as_str),
            );
            return Decision::deny(
                &self.digest,
                format!("unknown tool server `{}`{hint}", request.server),
            );
        }
        let Some(tool) = self.tool(request.server, request.tool) else {
            return Decision::deny(
                &self.digest,
                format!(
                    "agent `{}` has no grant for tool `{}/{}`",
                    request.agent, request.server, request.tool
                ),
            );
        };
        // Where the data goes: the tool's destination, or the one an argument
        // names. Conditions see it as `context.destination`.
        let empty = serde_json::Map::new();
        let args = request.args.as_object().unwrap_or(&empty);
        // The input schema's required arguments, whatever the conditions read.
        if let Some(required) = tool
            .input_schema
            .as_ref()
            .and_then(|s| s.get("required"))
            .and_then(Value::as_array)
            && let Some(missing) = required
                .iter()
                .filter_map(Value::as_str)
                .find(|name| args.get(*name).is_none_or(Value::is_null))
        {
            let mut d = Decision::deny(
                &self.digest,
                format!(
                    "argument `{missing}` is missing: the input schema of `{}` requires it",
                    tool.key
                ),
            );
            d.operation = Some(tool.operation);
            return d;
        }
        let (destination, cleared, why) =
            crate::flow::destination(tool, args, &self.config.organisation_domains);
        let mut decision = self.evaluate_tool(agent, tool, request, histories, destination, sliced);
        decision.operation = Some(tool.operation);
        decision.destination = Some(destination);
        if decision.outcome != DecisionOutcome::Deny {
            for id in &decision.policies {
                if let Some(p) = self.policy(id) {
                    for r in &p.redact {
                        if !decision.redact.contains(r) {
                            decision.redact.push(r.clone());
                        }
                    }
                }
            }
        }
        if decision.outcome != DecisionOutcome::Deny {
            // Flow rules: whatever the policies say, data goes only where it
            // is cleared to go. A class the allowing policies mask is not
            // carried: its values are rewritten before the data moves on
            // (hashing and tokenizing keep a pseudonym, which still counts).
            let masked: Vec<String> = decision
                .redact
                .iter()
                .filter(|r| r.action == crate::RedactAction::Mask)
                .map(|r| r.class.clone())
                .collect();
            let unmasked: Vec<String>;
            let classes = if masked.is_empty() {
                request.classes
            } else {
                unmasked = request
                    .classes
                    .iter()
                    .filter(|c| !crate::flow::is_cleared(&masked, c))
                    .cloned()
                    .collect();
                &unmasked
            };
            let mut carried = Vec::new();
            if histories.has_classes() {
                for (name, value) in args {
                    if !tool.destination_arguments.contains(name) {
                        carried.extend(histories.carried(name, value));
                    }
                }
            }
            let check = crate::flow::FlowCheck {
                tool,
                destination,
                cleared,
                why: why.as_deref(),
                classes,
                carried: &carried,
                session_taint: self.config.session_taint.as_deref(),
            };
            if let Some(reason) = crate::flow::violation(&check, histories) {
                decision.outcome = DecisionOutcome::Deny;
                decision.reasons = vec![reason];
                decision.policies = vec![FLOW_RULE.to_owned()];
                decision.redact.clear();
            }
        }
        decision
    }

    fn evaluate_tool(
        &self,
        agent: &AgentInfo,
        tool: &ToolInfo,
        request: &DecisionRequest<'_>,
        histories: &Histories<'_>,
        destination: Destination,
        sliced: bool,
    ) -> Decision {
        let history = histories.session;
        let deny = |reason: String| Decision::deny(&self.digest, reason);
        let Some(args) = request.args.as_object() else {
            return deny("arguments must be a JSON object".to_owned());
        };
        if let Some(limit) = agent.budgets.per_session
            && history.actions >= limit
        {
            return deny(format!(
                "session budget {limit} spent: `{}` allowed {limit} actions in session `{}`",
                request.agent, request.session
            ));
        }
        let owned;
        let precomputed = if sliced {
            agent
                .slices
                .get(request.server)
                .and_then(|t| t.get(request.tool))
        } else {
            Some(&self.full)
        };
        let slice: &Slice = match precomputed {
            Some(s) => s,
            None => match self.ad_hoc_slice(agent, tool) {
                Ok(s) => {
                    owned = s;
                    &owned
                }
                Err(e) => return deny(format!("policy set unavailable: {e}")),
            },
        };
        // Without a permit the answer is deny; Cedar still runs when the slice
        // holds forbids, so that the decision names them as the full set would.
        if !slice.has_permit && slice.set.is_empty() {
            return deny(format!(
                "agent `{}` has no grant for tool `{}`",
                request.agent, tool.key
            ));
        }
        let mut notes = Vec::new();
        let ctx = match context::build(
            tool,
            args,
            request.classes,
            histories,
            destination,
            request.instance.as_str(),
            &mut notes,
        ) {
            Ok(c) => c,
            Err(e) => return deny(format!("arguments cannot be evaluated: {e}")),
        };
        let cedar_request = match Request::new(
            agent.uid.clone(),
            tool.action.clone(),
            tool.uid.clone(),
            ctx,
            None,
        ) {
            Ok(r) => r,
            Err(e) => return deny(format!("request cannot be evaluated: {e}")),
        };
        let response = Authorizer::new().is_authorized(&cedar_request, &slice.set, &self.entities);
        self.interpret(
            &response,
            agent,
            tool,
            request,
            slice,
            &cedar_request,
            &notes,
        )
    }

    fn locate(&self, id: &str) -> String {
        match self.policy(id) {
            Some(p) => format!("`{id}` ({})", p.location),
            None => format!("`{id}`"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn interpret(
        &self,
        response: &Response,
        agent: &AgentInfo,
        tool: &ToolInfo,
        request: &DecisionRequest<'_>,
        slice: &Slice,
        cedar_request: &Request,
        notes: &[String],
    ) -> Decision {
        let mut policies: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        policies.sort();
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(pe) => format!(
                    "policy {} could not be evaluated: {}; an error denies",
                    self.locate(pe.policy_id().as_ref()),
                    pe.inner()
                ),
            })
            .collect();
        let mut decision = Decision {
            outcome: DecisionOutcome::Deny,
            reasons: Vec::new(),
            policies: policies.clone(),
            policy_digest: self.digest.clone(),
            operation: None,
            destination: None,
            redact: Vec::new(),
        };
        if !errors.is_empty() {
            // Cedar skips a policy whose condition errors; a skipped `forbid`
            // would fail open. Warden denies instead.
            decision.reasons = errors;
            decision.reasons.extend(notes.iter().cloned());
            return decision;
        }
        match response.decision() {
            CedarDecision::Allow => {
                let approvals: Vec<&String> = policies
                    .iter()
                    .filter(|id| self.policy(id).is_some_and(|p| p.approval))
                    .collect();
                if approvals.is_empty() {
                    decision.outcome = DecisionOutcome::Allow;
                    decision.reasons = policies
                        .iter()
                        .map(|id| {
                            self.policy(id).map_or_else(
                                || format!("allowed by `{id}`"),
                                |p| p.allowed_text.clone(),
                            )
                        })
                        .collect();
                } else {
                    decision.outcome = DecisionOutcome::NeedsApproval;
                    decision.reasons = approvals
                        .iter()
                        .map(|id| {
                            let why = self
                                .policy(id)
                                .and_then(|p| p.reason.clone())
                                .map_or_else(String::new, |r| format!(": {r}"));
                            format!("approval required by {}{why}", self.locate(id))
                        })
                        .collect();
                }
            }
            CedarDecision::Deny => {
                let forbids: Vec<String> = policies
                    .iter()
                    .map(|id| {
                        let why = self
                            .policy(id)
                            .and_then(|p| p.reason.clone())
                            .map_or_else(String::new, |r| format!(": {r}"));
                        format!("forbidden by {}{why}", self.locate(id))
                    })
                    .collect();
                if !forbids.is_empty() {
                    decision.reasons = forbids;
                } else if !agent.is_granted(request.server, request.tool) {
                    decision.reasons = vec![format!(
                        "agent `{}` has no grant for tool `{}` and no org-wide policy permits it",
                        request.agent, tool.key
                    )];
                } else {
                    decision.reasons =
                        self.explain_conditions(agent, request, slice, cedar_request);
                }
                decision.reasons.extend(notes.iter().cloned());
            }
        }
        decision
    }

    /// Says which part of the grant's condition was false, with the values.
    fn explain_conditions(
        &self,
        agent: &AgentInfo,
        request: &DecisionRequest<'_>,
        slice: &Slice,
        cedar_request: &Request,
    ) -> Vec<String> {
        let grant = agent
            .grants
            .get(request.server)
            .and_then(|t| t.get(request.tool));
        let (Some(grant), Some(diag)) = (grant, &slice.diagnostics) else {
            let when = grant.and_then(|g| g.when_text.clone()).unwrap_or_default();
            return vec![format!("condition `{when}` is false")];
        };
        let response = Authorizer::new().is_authorized(cedar_request, diag, &self.entities);
        let held: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        let errored: Vec<(String, String)> = response
            .diagnostics()
            .errors()
            .map(
                |cedar_policy::AuthorizationError::PolicyEvaluationError(pe)| {
                    (pe.policy_id().to_string(), pe.inner().to_string())
                },
            )
            .collect();
        let mut reasons = Vec::new();
        for (text, policy, refs) in &grant.conjuncts {
            let id = policy.id().to_string();
            if held.contains(&id) {
                continue;
            }
            let values: Vec<String> = refs
                .args
                .iter()
                .map(|a| {
                    let raw = request.args.get(a);
                    // A path is judged normalised: show what was judged.
                    let normal = refs
                        .paths
                        .contains(a)
                        .then(|| raw.and_then(Value::as_str).map(context::normal_path))
                        .flatten();
                    match normal {
                        Some(Some(p)) if Some(p.as_str()) != raw.and_then(Value::as_str) => {
                            format!("{a} = {} (normalised: {p:?})", show(raw))
                        }
                        Some(None) => format!(
                            "{a} = {} (not an absolute path that stays under `/`)",
                            show(raw)
                        ),
                        _ => format!("{a} = {}", show(raw)),
                    }
                })
                .collect();
            let with = if values.is_empty() {
                String::new()
            } else {
                format!(" with {}", values.join(", "))
            };
            match errored.iter().find(|(e, _)| *e == id) {
                // `&&` stops at the first false part: a later part that errors
                // (`has amount && amount <= 10`) was never evaluated.
                Some(_) if !reasons.is_empty() => {}
                Some((_, err)) => reasons.push(format!(
                    "condition `{text}` could not be evaluated{with}: {err}; an error denies"
                )),
                None => reasons.push(format!("condition `{text}` is false{with}")),
            }
        }
        if reasons.is_empty() {
            reasons.push(format!(
                "condition `{}` is false",
                grant.when_text.clone().unwrap_or_default()
            ));
        }
        reasons
    }
}
