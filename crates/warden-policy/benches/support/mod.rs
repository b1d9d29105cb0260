//! A deterministic population for the decision benchmarks: 1,000 agents and
//! 5,000 policies (4,500 from manifests, 500 org-wide), and ~1 KB requests.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use warden_policy::{Config, DecisionRequest, Engine, Manifest, PolicyInputs, Snapshot, compile};
use warden_types::{AgentName, InstanceId};

pub const AGENTS: usize = 1_000;
const SERVERS: usize = 20;
const TOOLS_PER_SERVER: usize = 10;
const TOOLS: usize = SERVERS * TOOLS_PER_SERVER;
const GRANTS_PER_AGENT: usize = 4;
const GROUPS: usize = 20;
const OPS: [&str; 5] = ["read", "write", "send", "delete", "execute"];

fn tool_name(t: usize) -> (String, String) {
    (
        format!("srv-{:02}", t / TOOLS_PER_SERVER),
        format!("tool_{:02}", t % TOOLS_PER_SERVER),
    )
}

fn op(t: usize) -> &'static str {
    OPS[t % OPS.len()]
}

/// The tools granted to agent `i`: distinct, spread over all servers.
pub fn granted(i: usize, j: usize) -> usize {
    (i * 7 + j * 53) % TOOLS
}

fn config() -> Config {
    let mut text = String::from("trust_domain = \"example.org\"\n[lists]\npayees = [");
    for p in 0..100 {
        let _ = write!(
            text,
            "{}\"DE{:020}\"",
            if p == 0 { "" } else { ", " },
            89_370_400_440_532_013_000u128 + p
        );
    }
    text.push_str("]\n");
    for s in 0..SERVERS {
        let destination = if s % 4 == 3 { "external" } else { "internal" };
        let _ = writeln!(
            text,
            "[servers.srv-{s:02}]\ntransport = \"api\"\ndestination = \"{destination}\""
        );
        for t in 0..TOOLS_PER_SERVER {
            let _ = writeln!(
                text,
                "[servers.srv-{s:02}.tools.tool_{t:02}]\noperation = \"{}\"",
                op(s * TOOLS_PER_SERVER + t)
            );
        }
    }
    Config::parse("warden.toml", &text, Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

fn manifest(i: usize) -> String {
    let mut grants: Vec<(usize, String)> = Vec::new();
    for j in 0..GRANTS_PER_AGENT {
        let t = granted(i, j);
        let mut spec = format!(
            "      operation: {}\n      when: 'context.args.amount <= {} && lists.payees.contains(context.args.iban) && context.args.region != \"mars\"'\n",
            op(t),
            10_000 + i
        );
        // Half of the agents have an approval threshold on their first grant:
        // 4,000 grants + 500 approvals.
        if j == 0 && i.is_multiple_of(2) {
            spec.push_str("      approval: 'context.args.amount > 5000'\n");
        }
        grants.push((t, spec));
    }
    grants.sort();
    let mut text = format!(
        "name: agent-{i:04}\nowner: team-{}@example.com\npurpose: benchmark agent\nrisk: {{ dora_critical: {} }}\ngroups: [group-{:02}]\nbudgets: {{ per_session: 1000000000, per_hour: 1000000000 }}\ntools:\n",
        i % 50,
        i.is_multiple_of(3),
        i % GROUPS
    );
    let mut current = String::new();
    for (t, spec) in grants {
        let (server, tool) = tool_name(t);
        if server != current {
            let _ = writeln!(text, "  {server}:");
            current = server;
        }
        let _ = write!(text, "    {tool}:\n{spec}");
    }
    text
}

/// 500 org-wide policies, each scoped to what it governs, as an organisation
/// would write them: 240 per tool, 100 per agent, 100 per group, 40 per server
/// (2 each), 16 per operation, 4 unscoped. Every condition guards its
/// arguments with `has`. The benchmarked request's slice holds about ten
/// policies (see the percentiles bench's output): its grant, its tool's
/// forbids, its server's 2, its operation's 3 or 4, and the 4 unscoped ones.
fn org_policies() -> String {
    let mut text = String::new();
    for k in 0..240 {
        let t = k % TOOLS;
        let (server, tool) = tool_name(t);
        let _ = writeln!(
            text,
            "@id(\"org/tool-{k}\")\nforbid(principal, action, resource == Warden::Tool::\"{server}/{tool}\")\nwhen {{ context.args has amount && context.args.amount > {} }};",
            1_000_000 + k
        );
    }
    for k in 0..100 {
        let _ = writeln!(
            text,
            "@id(\"org/agent-{k}\")\nforbid(principal == Warden::Agent::\"agent-{:04}\", action, resource)\nwhen {{ context.args has priority && context.args.priority > {} }};",
            k * 10,
            90 + k % 10
        );
    }
    for k in 0..100 {
        let _ = writeln!(
            text,
            "@id(\"org/group-{k}\")\n@approval(\"required\")\npermit(principal in Warden::Group::\"group-{:02}\", action == Warden::Action::\"{}\", resource)\nwhen {{ context.args has amount && context.args.amount >= {} }};",
            k % GROUPS,
            OPS[k % OPS.len()],
            500_000 + k
        );
    }
    for k in 0..40 {
        let _ = writeln!(
            text,
            "@id(\"org/server-{k}\")\nforbid(principal, action, resource in Warden::Server::\"srv-{:02}\")\nwhen {{ context.args has region && context.args.region == \"blocked-{k}\" }};",
            k % SERVERS
        );
    }
    for k in 0..16 {
        let _ = writeln!(
            text,
            "@id(\"org/operation-{k}\")\nforbid(principal, action == Warden::Action::\"{}\", resource)\nwhen {{ context.args has amount && context.args.amount < -{k} }};",
            OPS[k % OPS.len()]
        );
    }
    for k in 0..4 {
        let _ = writeln!(
            text,
            "@id(\"org/all-{k}\")\nforbid(principal, action, resource)\nwhen {{ context.args has iban && context.args.iban like \"XX{k:02}*\" }};"
        );
    }
    text
}

/// The compiled population.
pub fn snapshot() -> Snapshot {
    let config = Arc::new(config());
    let manifests = (0..AGENTS)
        .map(|i| {
            Manifest::parse(&format!("agents/agent-{i:04}.yaml"), &manifest(i), &config)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let inputs = PolicyInputs {
        config,
        manifests,
        org_files: vec![("policies/org.cedar".to_owned(), org_policies())],
    };
    let snapshot = compile(&inputs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        snapshot.policies.len(),
        5_000,
        "the population holds 5,000 policies"
    );
    snapshot
}

/// A request body of about 1 KB: 28 arguments, of which conditions read 4.
pub fn body(agent: usize, amount: &str) -> (AgentName, String) {
    let (server, tool) = tool_name(granted(agent, 1));
    let mut args = format!(
        "\"amount\": {amount}, \"iban\": \"DE{:020}\", \"region\": \"eu-west\", \"priority\": 5",
        89_370_400_440_532_013_000u128 + 7
    );
    for k in 0..24 {
        let _ = write!(args, ", \"field_{k:02}\": \"value of field {k:02} ok\"");
    }
    let text = format!(
        "{{\"server\": \"{server}\", \"tool\": \"{tool}\", \"args\": {{{args}}}, \"session\": \"session-{agent}\"}}"
    );
    (
        AgentName::new(format!("agent-{agent:04}")).unwrap_or_else(|e| panic!("{e}")),
        text,
    )
}

/// The decision API's request body.
#[derive(Deserialize)]
pub struct Body {
    pub server: String,
    pub tool: String,
    pub args: Value,
    pub session: String,
}

/// One whole decision: the body's JSON text to the answer.
pub fn decide(
    engine: &Engine,
    agent: &AgentName,
    instance: &InstanceId,
    text: &str,
) -> warden_policy::Decision {
    let body: Body = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    let request = DecisionRequest {
        agent,
        instance,
        session: &body.session,
        server: &body.server,
        tool: &body.tool,
        args: &body.args,
        classes: &[],
    };
    engine.decide(&request)
}
