//! Building snapshots and requests from text.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use warden_policy::{
    Config, Decision, DecisionRequest, Engine, Manifest, PolicyError, PolicyInputs, SessionHistory,
    Snapshot, compile,
};
use warden_types::{AgentName, InstanceId};

/// A configuration with an accounting server (typed tools), a web server, a
/// mail server and a CRM without schemas, and a few lists.
pub(crate) const CONFIG: &str = r#"
trust_domain = "example.org"

[lists]
payees = ["DE89370400440532013000", "FR1420041010050500013M02606"]
web_hosts = ["www.informations.com", "arxiv.org"]

[servers.accounting]
transport = "api"
destination = "internal"

[servers.accounting.tools.schedule_payment]
operation = "write"
input_schema = { type = "object", properties = { amount = { type = "number" }, iban = { type = "string" } } }

[servers.accounting.tools.read_invoice]
operation = "read"

[servers.web]
transport = "api"
destination = "external"

[servers.web.tools.fetch]
operation = "read"
input_schema = { type = "object", properties = { url = { type = "string" } } }

[servers.mail]
transport = "api"
destination = "internal"

[servers.crm]
transport = "api"
destination = "internal"
"#;

pub(crate) fn config() -> Arc<Config> {
    Arc::new(Config::parse("warden.toml", CONFIG, Path::new(".")).unwrap())
}

/// Compiles manifests (file name, YAML) and org-wide files (file name, Cedar).
pub(crate) fn try_compile(
    manifests: &[(&str, &str)],
    org: &[(&str, &str)],
) -> Result<Snapshot, PolicyError> {
    let config = config();
    let mut parsed = Vec::new();
    for (file, text) in manifests {
        parsed.push(Manifest::parse(file, text, &config)?);
    }
    let inputs = PolicyInputs {
        config,
        manifests: parsed,
        org_files: org
            .iter()
            .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
            .collect(),
    };
    compile(&inputs)
}

pub(crate) fn snapshot(manifests: &[(&str, &str)], org: &[(&str, &str)]) -> Snapshot {
    try_compile(manifests, org).unwrap_or_else(|e| panic!("compile failed:\n{e}"))
}

/// The message of a compile error.
pub(crate) fn compile_error(manifests: &[(&str, &str)], org: &[(&str, &str)]) -> String {
    match try_compile(manifests, org) {
        Ok(_) => panic!("expected a compile error"),
        Err(e) => e.to_string(),
    }
}

/// A manifest for `name` granting `tools` (YAML lines under `tools:`).
pub(crate) fn manifest(name: &str, extra: &str, tools: &str) -> String {
    format!("name: {name}\nowner: owner@example.com\npurpose: testing\n{extra}tools:\n{tools}")
}

/// Decides one request against a snapshot with an empty history.
pub(crate) fn decide(
    snapshot: &Snapshot,
    agent: &str,
    server: &str,
    tool: &str,
    args: &Value,
) -> Decision {
    decide_with(
        snapshot,
        agent,
        server,
        tool,
        args,
        &SessionHistory::default(),
    )
}

pub(crate) fn decide_with(
    snapshot: &Snapshot,
    agent: &str,
    server: &str,
    tool: &str,
    args: &Value,
    history: &SessionHistory,
) -> Decision {
    let agent = AgentName::new(agent).unwrap();
    let instance = InstanceId::new("i-1").unwrap();
    let request = DecisionRequest {
        agent: &agent,
        instance: &instance,
        session: "s-1",
        server,
        tool,
        args,
        classes: &[],
    };
    snapshot.evaluate(&request, history)
}

/// Decides through an engine, with a given instance and session.
pub(crate) fn engine_decide(
    engine: &Engine,
    agent: &str,
    instance: &str,
    session: &str,
    server: &str,
    tool: &str,
    args: &Value,
) -> Decision {
    let agent = AgentName::new(agent).unwrap();
    let instance = InstanceId::new(instance).unwrap();
    let request = DecisionRequest {
        agent: &agent,
        instance: &instance,
        session,
        server,
        tool,
        args,
        classes: &[],
    };
    engine.decide(&request)
}

/// An engine over `config` (warden.toml text), one manifest and org-wide files.
pub(crate) fn engine_from(
    config: &str,
    manifest: (&str, &str),
    org: &[(&str, &str)],
) -> warden_policy::Engine {
    let config = Config::parse("warden.toml", config, Path::new(".")).unwrap();
    let manifest = Manifest::parse(manifest.0, manifest.1, &config).unwrap();
    let inputs = PolicyInputs {
        config: Arc::new(config),
        manifests: vec![manifest],
        org_files: org
            .iter()
            .map(|(f, t)| ((*f).to_owned(), (*t).to_owned()))
            .collect(),
    };
    warden_policy::Engine::new(compile(&inputs).unwrap_or_else(|e| panic!("{e}")))
}
