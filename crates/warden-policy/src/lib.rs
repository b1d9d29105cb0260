//! Warden's decision engine: agent manifests and org-wide policies compiled to
//! Cedar, evaluated per request over only the policies whose scope matches.
//!
//! * [`Config`] reads `warden.toml` (tool servers, named lists);
//!   [`Manifest`] reads an agent manifest; both name file, line and field in
//!   every error.
//! * [`compile`] turns them into a [`Snapshot`]: Cedar policies, entities, and a
//!   precomputed slice per (agent, granted tool). Compiling is slow (it parses
//!   and type-checks); it happens off the request path.
//! * [`Engine`] holds the snapshot behind an atomic pointer, with per-session
//!   history and budgets in memory; [`Engine::decide`] is the hot path.
//!
//! The policy contract (fixed-point numbers, errors deny, named lists, URL
//! hosts) is documented in `docs/policy.md`; the entity names in [`entities`
//! module docs](crate#cedar-entities).
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use warden_policy::{compile, Config, DecisionRequest, Engine, Manifest, PolicyInputs};
//! use warden_types::{AgentName, DecisionOutcome, InstanceId};
//!
//! let config = Config::parse("warden.toml", r#"
//!     trust_domain = "example.org"
//!     [servers.accounting]
//!     transport = "api"
//!     destination = "internal"
//! "#, Path::new(".")).unwrap();
//! let manifest = Manifest::parse("bot.yaml", r#"
//! name: invoice-bot
//! owner: finance@example.com
//! purpose: pay invoices
//! tools:
//!   accounting:
//!     schedule_payment: { operation: write, when: "context.args.amount <= 10000" }
//! "#, &config).unwrap();
//! let inputs = PolicyInputs { config: Arc::new(config), manifests: vec![manifest], org_files: vec![] };
//! let engine = Engine::new(compile(&inputs).unwrap());
//!
//! let agent = AgentName::new("invoice-bot").unwrap();
//! let instance = InstanceId::new("i-1").unwrap();
//! let args = serde_json::json!({"amount": 98.7});
//! let request = DecisionRequest {
//!     agent: &agent, instance: &instance, session: "s-1",
//!     server: "accounting", tool: "schedule_payment", args: &args, classes: &[],
//! };
//! assert_eq!(engine.decide(&request).outcome, DecisionOutcome::Allow);
//!
//! let args = serde_json::json!({"amount": 25000});
//! let denied = engine.decide(&DecisionRequest { args: &args, ..request });
//! assert_eq!(denied.outcome, DecisionOutcome::Deny);
//! assert_eq!(denied.reasons, ["condition `context.args.amount <= 10000` is false with amount = 25000"]);
//! ```
//!
//! # Cedar entities
//!
//! | Cedar | what | attributes / parents |
//! | --- | --- | --- |
//! | `Warden::Agent::"<name>"` | an agent (the principal) | `owner`, `eu_ai_act`, `dora_critical`; in its `Warden::Group`s |
//! | `Warden::Group::"<group>"` | a group named in a manifest's `groups:` | — |
//! | `Warden::Action::"read"` … `"execute"` | the operation kind (the action) | — |
//! | `Warden::Tool::"<server>/<tool>"` | a tool (the resource) | `name`, `server`, `operation`, `destination`; in its server |
//! | `Warden::Server::"<server>"` | a tool server | `destination` |
//! | `Warden::List::"<name>"` | a named list (`lists.<name>` in conditions) | `members` |
//!
//! The context: `args` (the arguments that some policy reads), `hosts` (the
//! host of each URL argument read as `context.hosts.<arg>`), `classes`,
//! `instance`, `destination`, and `session` (`actions`, `tools`).

mod alerts;
pub mod classification;
mod compile;
mod config;
mod context;
mod engine;
mod entities;
mod error;
mod evaluate;
mod federation;
mod flow;
mod manifest;
pub mod numbers;
mod provenance;
pub mod providers;
mod redaction;
mod rewrite;
mod snapshot;
mod testcases;

pub use alerts::{
    AlertAction, AlertKind, AlertRule, AlertScope, AlertsConfig, Severity, Webhook, WebhookFormat,
};
pub use compile::{PolicyInputs, compile};
pub use config::{
    AuditConfig, BUILTIN_CLASSES, ClassifySettings, ClientAuth, Config, Destination,
    DetectorSettings, Durability, MIN_HIGH_RISK_RETAIN_DAYS, McpConfig, ServeConfig, ServerConfig,
    TelemetryConfig, TlsConfig, ToolConfig, Transport, VALIDATORS,
};
pub use context::SessionHistory;
pub use engine::{DEFAULT_MAX_SESSIONS, Engine, SavedSession, SharedState};
pub use error::{Diagnostic, Location, PolicyError};
pub use evaluate::{Decision, DecisionRequest, FLOW_RULE};
pub use federation::{BundleSource, FederatedIdPattern, FederationConfig, FederationMap};
pub use flow::is_cleared;
pub use manifest::{
    AnnexIii, Budgets, CLIENT_FEATURES, Condition, Grant, MCP_METHOD_TOOLS, Manifest, Risk,
};
pub use provenance::{
    ArgumentOrigin, Carried, FingerprintKey, MAX_VALUES, ObservedResult, Origin, ValueTracker,
};
pub use redaction::{RedactAction, Redaction};
pub use snapshot::{AgentInfo, CompiledPolicy, Snapshot, ToolInfo};
pub use testcases::{CaseFailure, TestCases, TestReport};
