//! What the mediator asks of Warden: which tools the agent is granted, which
//! tool definitions are withheld (they drifted from their pins, or carry
//! instructions aimed at the model), a decision per action, and what a
//! result holds. The gateway answers in
//! process ([`Governor`] implemented by the HTTP proxy); `warden mcp wrap`
//! answers by asking the running gateway ([`crate::RemoteGovernor`]).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an agent may see and do on one tool server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// Names of the granted tools (`tools/list` shows only these). May also
    /// hold `resources/read` and `prompts/get`.
    pub tools: BTreeSet<String>,
    /// Server-to-client requests the agent's client may receive: `sampling`,
    /// `elicitation`, `roots`.
    pub client_features: BTreeSet<String>,
}

impl Grants {
    /// Whether the server may send the client a request with this method.
    pub fn allows_server_request(&self, method: &str) -> bool {
        let feature = match method {
            "ping" => return true,
            "sampling/createMessage" => "sampling",
            "elicitation/create" => "elicitation",
            "roots/list" => "roots",
            _ => return false,
        };
        self.client_features.contains(feature)
    }
}

/// One action to decide: a tool call, or a resource or prompt read named by
/// its MCP method (`resources/read`, `prompts/get`) with its parameters as
/// arguments.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    /// The tool's name, or the MCP method.
    pub tool: &'a str,
    /// The arguments (a JSON object).
    pub args: &'a Value,
    /// The client's W3C trace context (`params._meta.traceparent`), when
    /// it sent one: the parent of the decision's span.
    pub traceparent: Option<&'a str>,
}

/// Warden's answer to one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The decision's id, as the audit log records it (absent when no
    /// decision could be made at all).
    pub id: Option<String>,
    /// `allow`, `deny`, or `needs_approval` (only while waiting; the mediator
    /// treats anything but `allow` as a refusal).
    pub decision: String,
    /// Why.
    pub reasons: Vec<String>,
    /// Data classes found in the arguments.
    #[serde(default)]
    pub classes: Vec<String>,
    /// The arguments rewritten by a redaction obligation of the allow: what
    /// is forwarded instead of the client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// Whether the tool is withheld from the agent (its definition drifted
    /// from its pin, or carries instructions aimed at the model): the agent
    /// never saw it listed, so the call is refused with a JSON-RPC error,
    /// as an unknown tool is, rather than with a tool result.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
    /// The decision's span as a W3C `traceparent`, when Warden traces: the
    /// forwarded request carries it in `params._meta.traceparent`, so that
    /// the tool server's spans join the trace under Warden's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl Verdict {
    /// Whether the action may go ahead.
    pub fn allowed(&self) -> bool {
        self.decision == "allow"
    }

    /// A refusal because Warden could not decide: fail closed.
    pub fn unavailable(reason: impl Into<String>) -> Verdict {
        Verdict {
            id: None,
            decision: "deny".into(),
            reasons: vec![format!(
                "{}: Warden cannot decide, so the action is denied (fail closed)",
                reason.into()
            )],
            classes: Vec::new(),
            args: None,
            withheld: false,
            traceparent: None,
        }
    }
}

/// One page of a `tools/list` answer, as the server sent it.
#[derive(Debug, Clone, Copy)]
pub struct ToolPage<'a> {
    /// The tool definitions (`name`, `description`, `inputSchema`, …).
    pub tools: &'a [Value],
    /// Whether no page follows (no `nextCursor`).
    pub last: bool,
    /// The client features the server was told of at `initialize`
    /// (`elicitation`, `roots`, `sampling`, sorted): a server may list more
    /// tools to a client that can answer its requests.
    pub client_features: &'a [String],
}

/// The tools of a page withheld from the agent, by name, with why.
pub type Withheld = BTreeMap<String, String>;

/// What Warden found in a result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// Data classes in the result (they now taint the session).
    #[serde(default)]
    pub classes: Vec<String>,
    /// Injected-instruction findings, by kind.
    #[serde(default)]
    pub injection: Vec<String>,
    /// The result rewritten by a redaction obligation, when one applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewritten: Option<Value>,
    /// Why the agent may not receive the result (its manifest's
    /// `data.may_read` does not cover a class in it): the MCP gateway then
    /// delivers a tool error instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
}

/// Warden, as the mediator sees it.
pub trait Governor: Send + Sync + 'static {
    /// The agent's grants on this server. An error fails closed: the tool list
    /// comes back empty.
    fn grants(&self) -> impl Future<Output = Result<Grants, String>> + Send;

    /// Screens the tool definitions of a `tools/list` page against the
    /// server's pins (first sight pins them, unless they carry instructions
    /// aimed at the model; a changed definition is a drift) and returns the
    /// tools withheld from the agent. An error fails closed: the page comes
    /// back empty.
    fn screen_tools(
        &self,
        page: ToolPage<'_>,
    ) -> impl Future<Output = Result<Withheld, String>> + Send;

    /// Decides one action; waits (bounded) for a human when the policy asks
    /// for approval. Never fails: when Warden cannot decide, the verdict is a
    /// deny ([`Verdict::unavailable`]).
    fn decide(&self, action: Action<'_>) -> impl Future<Output = Verdict> + Send;

    /// Reports a result of an allowed action (`decision` is its id): it is
    /// classified, taints the session, is scanned for injected instructions
    /// and recorded. `None` when Warden could not look at it.
    fn observe(
        &self,
        decision: &str,
        tool: &str,
        result: &Value,
    ) -> impl Future<Output = Option<Observation>> + Send;
}
