//! Warden's MCP governance core.
//!
//! A [`Mediator`] sees every JSON-RPC message of one MCP session, in both
//! directions, and decides what happens to it:
//!
//! - `initialize` passes; the client's capabilities for server-to-client
//!   requests (`sampling`, `elicitation`, `roots`) are hidden unless the
//!   agent's manifest allows them, and the server's capabilities are kept;
//! - `tools/list` answers are filtered to the agent's granted tools (a denied
//!   tool is invisible) and screened against the server's pinned tool
//!   definitions (a tool whose definition drifted, or that carries
//!   instructions aimed at the model, is withheld), pagination untouched;
//! - `tools/call`, `resources/read` and `prompts/get` are decided before they
//!   are forwarded; a refusal is explicit (see [`mediator`]);
//! - results of allowed actions are reported ([`Governor::observe`]) before
//!   the client sees them: classified, tainting the session, scanned for
//!   injected instructions, recorded;
//! - server-to-client requests pass only when the manifest allows them, and
//!   the client's answers reach the server unchanged;
//! - everything else (notifications, progress, cancellation, ping, methods
//!   Warden does not know) passes through.
//!
//! The transports only move bytes: [`run_stdio`] (what `warden mcp wrap`
//! runs) here, Streamable HTTP in the gateway. [`RemoteGovernor`] is the
//! wrapper's way of asking the running gateway.
//!
//! ```
//! use std::sync::Arc;
//! use serde_json::{Value, json};
//! use warden_mcp::{Action, Governor, Grants, Mediator, Message, Observation, Step, ToolPage, Verdict, Withheld};
//!
//! struct OnlyEcho;
//! impl Governor for OnlyEcho {
//!     async fn grants(&self) -> Result<Grants, String> {
//!         Ok(Grants { tools: ["echo".to_owned()].into(), ..Grants::default() })
//!     }
//!     async fn screen_tools(&self, _: ToolPage<'_>) -> Result<Withheld, String> {
//!         Ok(Withheld::new())
//!     }
//!     async fn decide(&self, action: Action<'_>) -> Verdict {
//!         let decision = if action.tool == "echo" { "allow" } else { "deny" };
//!         Verdict { id: Some("d1".into()), decision: decision.into(), reasons: vec![], classes: vec![], args: None, withheld: false, traceparent: None }
//!     }
//!     async fn observe(&self, _: &str, _: &str, _: &Value) -> Option<Observation> { None }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let mediator = Mediator::new(Arc::new(OnlyEcho));
//! let call = Message::from_value(json!({
//!     "jsonrpc": "2.0", "id": 1, "method": "tools/call",
//!     "params": {"name": "delete_everything", "arguments": {}}
//! }))?;
//! let Step::Reply(answer) = mediator.on_client(call).await else { unreachable!() };
//! assert_eq!(answer["result"]["isError"], true);
//! # Ok::<(), warden_mcp::MessageError>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
pub mod governor;
pub mod mediator;
pub mod message;
mod remote;
mod stdio;
pub mod strict;

pub use error::McpError;
pub use governor::{Action, Governor, Grants, Observation, ToolPage, Verdict, Withheld};
pub use mediator::{META_KEY, Mediator, Step};
pub use message::{
    Kind, Message, MessageError, codes, error_response, id_key, result_response, timed_out,
};
pub use remote::RemoteGovernor;
pub use stdio::{Ended, StdioOptions, next_message, read_line, run_stdio};
