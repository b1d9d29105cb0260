//! The governance core both transports share: it sees every JSON-RPC message
//! in either direction and says what to do with it. Transports only move
//! bytes.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{Map, Value, json};

use crate::governor::{Action, Governor, ToolPage, Verdict};
use crate::message::{Kind, Message, codes, error_response, id_key, result_response};

/// The `_meta` key under which Warden explains a refusal.
pub const META_KEY: &str = "dev.warden/decision";

/// What to do with a message.
#[derive(Debug)]
pub enum Step {
    /// Pass it on to the other side.
    Forward(Message),
    /// Answer the sender with this message instead of passing it on.
    Reply(Value),
    /// Neither (a response to something Warden already answered).
    Drop,
}

#[derive(Debug, Clone)]
enum Pending {
    Initialize,
    ToolsList,
    /// An allowed action: its result is observed.
    Observed {
        decision: Option<String>,
        tool: String,
    },
    Other,
}

#[derive(Debug, Default)]
struct State {
    /// Requests from the client on their way to the server, by id key, with
    /// the id as sent.
    client: HashMap<String, (Value, Pending)>,
    /// Requests from the server forwarded to the client, by id.
    server: HashMap<String, String>,
    /// What the server said it can do, from `initialize`.
    server_capabilities: Option<Value>,
    /// The protocol revision the two agreed on.
    protocol_version: Option<String>,
    /// The client features the server was told of, sorted.
    client_features: Vec<String>,
}

/// One MCP session's mediator. Cheap to share.
#[derive(Debug)]
pub struct Mediator<G> {
    governor: Arc<G>,
    state: Mutex<State>,
}

impl<G: Governor> Mediator<G> {
    /// A mediator for one session, asking `governor`.
    pub fn new(governor: Arc<G>) -> Self {
        Self {
            governor,
            state: Mutex::new(State::default()),
        }
    }

    /// The governor.
    pub fn governor(&self) -> &Arc<G> {
        &self.governor
    }

    /// The server's capabilities, once `initialize` has been answered.
    pub fn server_capabilities(&self) -> Option<Value> {
        self.state.lock().server_capabilities.clone()
    }

    /// The negotiated protocol revision, once `initialize` has been answered.
    pub fn protocol_version(&self) -> Option<String> {
        self.state.lock().protocol_version.clone()
    }

    /// A message from the client.
    pub async fn on_client(&self, mut msg: Message) -> Step {
        match msg.kind() {
            Kind::Notification => Step::Forward(msg),
            Kind::Response => {
                let key = msg.id().map(id_key).unwrap_or_default();
                if self.state.lock().server.remove(&key).is_some() {
                    Step::Forward(msg)
                } else {
                    tracing::warn!(id = %key, "client answered a request the server did not send (or Warden refused); dropped");
                    Step::Drop
                }
            }
            Kind::Request => {
                let id = msg.id().cloned().unwrap_or(Value::Null);
                let key = id_key(&id);
                if self.state.lock().client.contains_key(&key) {
                    return Step::Reply(error_response(
                        id,
                        codes::INVALID_REQUEST,
                        "request id already in use by a request in flight",
                        None,
                    ));
                }
                let method = msg.method().unwrap_or_default().to_owned();
                let pending = match method.as_str() {
                    "initialize" => {
                        self.restrict_client_capabilities(&mut msg).await;
                        Pending::Initialize
                    }
                    "tools/list" => Pending::ToolsList,
                    "tools/call" | "resources/read" | "prompts/get" => {
                        match self.decide(&method, &msg).await {
                            Ok((verdict, tool)) if verdict.allowed() => {
                                if let Some(args) = verdict.args {
                                    // A redaction obligation rewrote them.
                                    rewrite_arguments(&method, &mut msg, args);
                                }
                                if let Some(traceparent) = verdict.traceparent {
                                    set_traceparent(&mut msg, traceparent);
                                }
                                Pending::Observed {
                                    decision: verdict.id,
                                    tool,
                                }
                            }
                            Ok((verdict, _)) => return Step::Reply(refusal(&method, id, &verdict)),
                            Err(message) => {
                                return Step::Reply(error_response(
                                    id,
                                    codes::INVALID_PARAMS,
                                    &message,
                                    None,
                                ));
                            }
                        }
                    }
                    _ => Pending::Other,
                };
                let mut state = self.state.lock();
                if state.client.contains_key(&key) {
                    // The same id arrived again while this one was being decided.
                    return Step::Reply(error_response(
                        id,
                        codes::INVALID_REQUEST,
                        "request id already in use by a request in flight",
                        None,
                    ));
                }
                state.client.insert(key, (id, pending));
                Step::Forward(msg)
            }
        }
    }

    /// A message from the server.
    pub async fn on_server(&self, mut msg: Message) -> Step {
        match msg.kind() {
            Kind::Notification => Step::Forward(msg),
            Kind::Request => {
                let id = msg.id().cloned().unwrap_or(Value::Null);
                let method = msg.method().unwrap_or_default().to_owned();
                let grants = self.governor.grants().await.unwrap_or_default();
                if grants.allows_server_request(&method) {
                    self.state.lock().server.insert(id_key(&id), method);
                    Step::Forward(msg)
                } else {
                    tracing::info!(%method, "server-to-client request refused: not in the agent's mcp.client_features");
                    Step::Reply(error_response(
                        id,
                        codes::DENIED,
                        &format!(
                            "Warden refused `{method}`: the agent's manifest does not allow this server-to-client request (mcp.client_features)"
                        ),
                        None,
                    ))
                }
            }
            Kind::Response => {
                let key = msg.id().map(id_key).unwrap_or_default();
                let Some((_, pending)) = self.state.lock().client.remove(&key) else {
                    // Already answered by Warden (a timeout), or never asked.
                    tracing::warn!(id = %key, "server answered a request that is not in flight; dropped");
                    return Step::Drop;
                };
                match pending {
                    Pending::ToolsList => {
                        self.filter_tools(&mut msg).await;
                    }
                    Pending::Initialize => {
                        if let Some(result) = msg.result() {
                            let mut state = self.state.lock();
                            state.server_capabilities = result.get("capabilities").cloned();
                            state.protocol_version = result
                                .get("protocolVersion")
                                .and_then(Value::as_str)
                                .map(str::to_owned);
                        }
                    }
                    Pending::Observed { decision, tool } => {
                        if let (Some(decision), Some(result)) = (decision, msg.result()) {
                            let observed = self.governor.observe(&decision, &tool, result).await;
                            if let Some(slot) = msg.result_mut() {
                                match observed {
                                    // Fail closed: a result Warden could not
                                    // classify, screen and record never reaches
                                    // the agent as it came.
                                    None => {
                                        *slot = withheld(
                                            &decision,
                                            "Warden could not observe this result (classify, screen and record it), so it is withheld",
                                        );
                                    }
                                    Some(o) => {
                                        if let Some(reason) = o.withheld {
                                            *slot = withheld(&decision, &reason);
                                        } else if let Some(rewritten) = o.rewritten {
                                            *slot = rewritten;
                                        }
                                    }
                                }
                            }
                        }
                    }
                    Pending::Other => {}
                }
                Step::Forward(msg)
            }
        }
    }

    /// Forgets a client request that will get no answer from the server (the
    /// transport answers it with an error instead). Returns whether it was
    /// still in flight; a late answer from the server is then dropped.
    pub fn abandon(&self, id: &Value) -> bool {
        self.state.lock().client.remove(&id_key(id)).is_some()
    }

    /// Forgets every client request in flight and returns their ids (the
    /// server is gone: the transport answers each with an error).
    pub fn abandon_all(&self) -> Vec<Value> {
        self.state
            .lock()
            .client
            .drain()
            .map(|(_, (id, _))| id)
            .collect()
    }

    /// Whether a client request with this id is in flight.
    pub fn in_flight(&self, id: &Value) -> bool {
        self.state.lock().client.contains_key(&id_key(id))
    }

    /// The number of client requests waiting for the server.
    pub fn pending(&self) -> usize {
        self.state.lock().client.len()
    }

    async fn decide(&self, method: &str, msg: &Message) -> Result<(Verdict, String), String> {
        let params = msg.params().cloned().unwrap_or(Value::Null);
        let (tool, args) = match method {
            "tools/call" => {
                let name = params
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or("`tools/call` needs `params.name`, a string")?;
                let args = match params.get("arguments") {
                    None | Some(Value::Null) => Value::Object(Map::new()),
                    Some(Value::Object(a)) => Value::Object(a.clone()),
                    Some(_) => return Err("`params.arguments` must be a JSON object".into()),
                };
                (name.to_owned(), args)
            }
            _ => {
                let args = match params {
                    Value::Object(mut p) => {
                        p.remove("_meta");
                        Value::Object(p)
                    }
                    Value::Null => Value::Object(Map::new()),
                    _ => return Err(format!("`{method}` needs `params`, a JSON object")),
                };
                (method.to_owned(), args)
            }
        };
        let traceparent = msg
            .params()
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get("traceparent"))
            .and_then(Value::as_str);
        let verdict = self
            .governor
            .decide(Action {
                tool: &tool,
                args: &args,
                traceparent,
            })
            .await;
        Ok((verdict, tool))
    }

    async fn restrict_client_capabilities(&self, msg: &mut Message) {
        let grants = self.governor.grants().await.unwrap_or_default();
        if let Some(caps) = msg
            .params_mut()
            .and_then(|p| p.get_mut("capabilities"))
            .and_then(Value::as_object_mut)
        {
            for feature in ["sampling", "elicitation", "roots"] {
                if !grants.client_features.contains(feature) && caps.remove(feature).is_some() {
                    tracing::info!(
                        feature,
                        "client capability hidden from the server: not in the agent's mcp.client_features"
                    );
                }
            }
            self.state.lock().client_features = ["elicitation", "roots", "sampling"]
                .into_iter()
                .filter(|f| caps.contains_key(*f))
                .map(str::to_owned)
                .collect();
        }
    }

    /// Keeps the tools the agent is granted and Warden does not withhold.
    /// Every tool of the page is screened, granted or not: pins are the
    /// server's, not the agent's.
    async fn filter_tools(&self, msg: &mut Message) {
        let grants = self.governor.grants().await;
        let Some(result) = msg.result_mut() else {
            return;
        };
        let last = result.get("nextCursor").is_none_or(Value::is_null);
        let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else {
            return;
        };
        let grants = match grants {
            Ok(grants) => grants,
            Err(e) => {
                tracing::warn!(error = %e, "grants unavailable; tools/list comes back empty (fail closed)");
                tools.clear();
                return;
            }
        };
        let client_features = self.state.lock().client_features.clone();
        let page = ToolPage {
            tools: tools.as_slice(),
            last,
            client_features: &client_features,
        };
        let withheld = match self.governor.screen_tools(page).await {
            Ok(withheld) => withheld,
            Err(e) => {
                tracing::warn!(error = %e, "tool definitions could not be screened; tools/list comes back empty (fail closed)");
                tools.clear();
                return;
            }
        };
        tools.retain(|t| {
            t.get("name").and_then(Value::as_str).is_some_and(|n| {
                if let Some(why) = withheld.get(n) {
                    tracing::debug!(tool = n, reason = %why, "tool withheld from the agent");
                    return false;
                }
                grants.tools.contains(n)
            })
        });
    }
}

/// The result delivered instead of one the agent may not receive.
fn withheld(decision: &str, reason: &str) -> Value {
    json!({
        "content": [{"type": "text", "text": format!("Withheld by Warden (decision {decision}): {reason}")}],
        "isError": true,
        "_meta": {META_KEY: {"id": decision, "decision": "withheld", "reasons": [reason]}},
    })
}

/// Puts rewritten arguments in place: `params.arguments` of a tool call,
/// `params` (less `_meta`) of a resource read or prompt.
fn rewrite_arguments(method: &str, msg: &mut Message, args: Value) {
    let Some(params) = msg.params_mut().and_then(Value::as_object_mut) else {
        return;
    };
    if method == "tools/call" {
        params.insert("arguments".into(), args);
    } else if let Value::Object(fields) = args {
        for (k, v) in fields {
            params.insert(k, v);
        }
    }
}

/// Puts Warden's span in the forwarded request's `_meta.traceparent`.
fn set_traceparent(msg: &mut Message, traceparent: String) {
    if let Some(params) = msg.params_mut().and_then(Value::as_object_mut)
        && let Some(meta) = params
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
    {
        meta.insert("traceparent".into(), Value::String(traceparent));
    }
}

/// The answer to a refused action. A refused `tools/call` is a tool result
/// with `isError: true`, as the MCP specification asks for errors the model
/// should see and act on; its text gives the reasons, and `_meta` carries the
/// decision. A refused `resources/read` or `prompts/get` has no such result
/// form: it is the JSON-RPC error [`codes::DENIED`] with the decision as
/// `data`; so is a call to a withheld tool, which the agent was never shown
/// (as a call to an unknown tool is a JSON-RPC error), its message the
/// reasons (what changed, and how an admin accepts it).
fn refusal(method: &str, id: Value, verdict: &Verdict) -> Value {
    let mut decision = json!({
        "id": verdict.id,
        "decision": verdict.decision,
        "reasons": verdict.reasons,
    });
    if verdict.withheld {
        decision["withheld"] = Value::Bool(true);
        return error_response(
            id,
            codes::DENIED,
            &verdict.reasons.join("; "),
            Some(decision),
        );
    }
    let reasons = if verdict.reasons.is_empty() {
        "no policy allows it".to_owned()
    } else {
        verdict.reasons.join("; ")
    };
    let id_note = verdict
        .id
        .as_deref()
        .map(|d| format!(" (decision {d})"))
        .unwrap_or_default();
    let text = format!("Denied by Warden{id_note}: {reasons}");
    if method == "tools/call" {
        result_response(
            id,
            json!({
                "content": [{"type": "text", "text": text}],
                "isError": true,
                "_meta": {META_KEY: decision},
            }),
        )
    } else {
        error_response(id, codes::DENIED, &text, Some(decision))
    }
}

#[cfg(test)]
#[allow(
    clippy::panic,
    reason = "test code: a failed expectation is a failed test"
)]
mod tests;
