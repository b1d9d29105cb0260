//! Slicing never changes a decision: over generated populations of agents and
//! org-wide policies, evaluating a request against its slice and against the
//! whole policy set gives the same outcome and the same deciding policies.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use warden_policy::{
    Config, DecisionRequest, Manifest, PolicyInputs, SessionHistory, Snapshot, compile,
};
use warden_types::{AgentName, InstanceId};

const SERVERS: [&str; 3] = ["s0", "s1", "s2"];
const TOOLS: [&str; 3] = ["t0", "t1", "t2"];
const OPS: [&str; 5] = ["read", "write", "send", "delete", "execute"];
const GROUPS: [&str; 3] = ["g0", "g1", "g2"];

/// Conditions over arguments that may be missing, null, of the wrong type or
/// out of range: some hold, some fail, some error.
const CONDITIONS: [&str; 11] = [
    "context.args.amount <= 100",
    "context.args.amount > 50.5",
    r#"context.args.name like "a*""#,
    "lists.l0.contains(context.args.name)",
    "context.args has flag && context.args.flag",
    "context.session.actions < 3",
    r#"context.hosts.url == "a.example""#,
    r#"principal.dora_critical || resource.destination == "internal""#,
    r#"context.args.amount >= -10 || context.args.name == "bob""#,
    r#"context.session.tools.contains("s0/t0")"#,
    r#"context.classes.contains("financial")"#,
];

fn op_of(server: usize, tool: usize) -> &'static str {
    OPS[(3 * server + tool) % OPS.len()]
}

fn config() -> Arc<Config> {
    let mut text =
        String::from("trust_domain = \"example.org\"\n[lists]\nl0 = [\"alice\", \"carol\"]\n");
    for (s, server) in SERVERS.iter().enumerate() {
        let destination = if s == 1 { "external" } else { "internal" };
        let _ = writeln!(
            text,
            "[servers.{server}]\ntransport = \"api\"\ndestination = \"{destination}\""
        );
        for (t, tool) in TOOLS.iter().enumerate() {
            let _ = writeln!(
                text,
                "[servers.{server}.tools.{tool}]\noperation = \"{}\"",
                op_of(s, t)
            );
        }
    }
    Arc::new(Config::parse("warden.toml", &text, Path::new(".")).unwrap())
}

#[derive(Debug, Clone)]
struct AgentSpec {
    groups: u8,
    dora: bool,
    /// Per (server, tool): granted, with an optional `when` and `approval`.
    grants: Vec<Option<(Option<usize>, Option<usize>)>>,
}

#[derive(Debug, Clone)]
struct OrgSpec {
    permit: bool,
    approval: bool,
    principal: (u8, usize),
    action: (u8, usize, usize),
    resource: (u8, usize, usize),
    when: Option<usize>,
    unless: bool,
}

#[derive(Debug, Clone)]
struct RequestSpec {
    agent: usize,
    server: usize,
    tool: usize,
    args: Value,
    actions: u64,
    earlier: Vec<usize>,
}

fn agent_spec() -> impl Strategy<Value = AgentSpec> {
    let grant = prop::option::weighted(
        0.6,
        (
            prop::option::of(0..CONDITIONS.len()),
            prop::option::weighted(0.3, 0..CONDITIONS.len()),
        ),
    );
    (
        0u8..8,
        any::<bool>(),
        prop::collection::vec(grant, SERVERS.len() * TOOLS.len()),
    )
        .prop_map(|(groups, dora, grants)| AgentSpec {
            groups,
            dora,
            grants,
        })
}

fn org_spec() -> impl Strategy<Value = OrgSpec> {
    (
        any::<bool>(),
        prop::bool::weighted(0.3),
        (0u8..6, 0usize..8),
        (0u8..3, 0..OPS.len(), 0..OPS.len()),
        (0u8..6, 0..SERVERS.len(), 0..TOOLS.len()),
        prop::option::weighted(0.7, 0..CONDITIONS.len()),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(permit, approval, principal, action, resource, when, unless)| OrgSpec {
                permit,
                approval,
                principal,
                action,
                resource,
                when,
                unless,
            },
        )
}

fn arg_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        (-200i64..200).prop_map(|n| Some(json!(n))),
        prop::sample::select(vec![
            "50.5",
            "50.50001",
            "100.0001",
            "-10.5",
            "1e20",
            "18446744073709551615",
            "9223372036854775807",
            "0.0001",
            "1e3"
        ])
        .prop_map(|s| Some(serde_json::from_str::<Value>(s).unwrap())),
        prop::sample::select(vec!["alice", "bob", "carol", "anna", "", "a.example"])
            .prop_map(|s| Some(json!(s))),
        prop::sample::select(vec![
            "https://a.example/x",
            "https://a.example@b.example/",
            "http://A.EXAMPLE:80/",
            "not a url"
        ])
        .prop_map(|s| Some(json!(s))),
        any::<bool>().prop_map(|b| Some(json!(b))),
        Just(Some(json!([1, "x", null]))),
        Just(Some(json!({"nested": {"amount": 5}}))),
    ]
}

fn request_spec() -> impl Strategy<Value = RequestSpec> {
    (
        0usize..8,
        0..SERVERS.len() + 1,
        0..TOOLS.len() + 1,
        prop::collection::vec(arg_value(), 5),
        0u64..5,
        prop::collection::vec(0..SERVERS.len() * TOOLS.len(), 0..3),
    )
        .prop_map(|(agent, server, tool, values, actions, earlier)| {
            let mut args = Map::new();
            for (name, value) in ["amount", "name", "flag", "url", "padding"]
                .iter()
                .zip(values)
            {
                if let Some(v) = value {
                    args.insert((*name).to_owned(), v);
                }
            }
            RequestSpec {
                agent,
                server,
                tool,
                args: Value::Object(args),
                actions,
                earlier,
            }
        })
}

fn groups_of(mask: u8) -> Vec<&'static str> {
    GROUPS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, g)| *g)
        .collect()
}

fn manifest_text(i: usize, a: &AgentSpec) -> String {
    let mut text = format!(
        "name: a{i}\nowner: o{i}@example.com\npurpose: generated\nrisk: {{ dora_critical: {} }}\ngroups: [{}]\n",
        a.dora,
        groups_of(a.groups).join(", ")
    );
    let mut tools = String::new();
    for (s, server) in SERVERS.iter().enumerate() {
        let mut lines = String::new();
        for (t, tool) in TOOLS.iter().enumerate() {
            let Some((when, approval)) = a.grants[s * TOOLS.len() + t] else {
                continue;
            };
            let _ = writeln!(lines, "    {tool}:\n      operation: {}", op_of(s, t));
            if let Some(c) = when {
                let _ = writeln!(lines, "      when: '{}'", CONDITIONS[c]);
            }
            if let Some(c) = approval {
                let _ = writeln!(lines, "      approval: '{}'", CONDITIONS[c]);
            }
        }
        if !lines.is_empty() {
            let _ = write!(tools, "  {server}:\n{lines}");
        }
    }
    if tools.is_empty() {
        text.push_str("tools: {}\n");
    } else {
        let _ = write!(text, "tools:\n{tools}");
    }
    text
}

fn org_text(k: usize, p: &OrgSpec, agents: usize, used_groups: u8) -> String {
    let agent = format!("Warden::Agent::\"a{}\"", p.principal.1 % agents);
    let group = GROUPS
        .iter()
        .enumerate()
        .cycle()
        .skip(p.principal.1 % GROUPS.len())
        .take(GROUPS.len())
        .find(|(i, _)| used_groups & (1 << i) != 0);
    let principal = match (p.principal.0, group) {
        (1, _) => format!("principal == {agent}"),
        (2, Some((_, g))) => format!("principal in Warden::Group::\"{g}\""),
        (3, _) => "principal is Warden::Agent".to_owned(),
        (4, Some((_, g))) => format!("principal is Warden::Agent in Warden::Group::\"{g}\""),
        (5, _) => format!("principal in {agent}"),
        _ => "principal".to_owned(),
    };
    let (kind, a, b) = p.action;
    let action = match kind {
        1 => format!("action == Warden::Action::\"{}\"", OPS[a]),
        2 => format!(
            "action in [Warden::Action::\"{}\", Warden::Action::\"{}\"]",
            OPS[a], OPS[b]
        ),
        _ => "action".to_owned(),
    };
    let (kind, s, t) = p.resource;
    let (server, tool) = (SERVERS[s], TOOLS[t]);
    let resource = match kind {
        1 => format!("resource == Warden::Tool::\"{server}/{tool}\""),
        2 => format!("resource in Warden::Server::\"{server}\""),
        3 => format!("resource in Warden::Tool::\"{server}/{tool}\""),
        4 => "resource is Warden::Tool".to_owned(),
        5 => format!("resource is Warden::Tool in Warden::Server::\"{server}\""),
        _ => "resource".to_owned(),
    };
    let effect = if p.permit { "permit" } else { "forbid" };
    let approval = if p.permit && p.approval {
        "@approval(\"required\")\n"
    } else {
        ""
    };
    let condition = match (p.when, p.unless) {
        (Some(c), false) => format!("\nwhen {{ {} }}", CONDITIONS[c]),
        (Some(c), true) => format!("\nunless {{ {} }}", CONDITIONS[c]),
        (None, _) => String::new(),
    };
    format!("@id(\"org/{k}\")\n{approval}{effect}({principal}, {action}, {resource}){condition};\n")
}

fn build(agents: &[AgentSpec], org: &[OrgSpec]) -> Snapshot {
    let config = config();
    let manifests: Vec<Manifest> = agents
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let text = manifest_text(i, a);
            Manifest::parse(&format!("a{i}.yaml"), &text, &config)
                .unwrap_or_else(|e| panic!("{e}\n{text}"))
        })
        .collect();
    let used_groups = agents.iter().fold(0, |m, a| m | a.groups);
    let org_text: String = org
        .iter()
        .enumerate()
        .map(|(k, p)| org_text(k, p, agents.len(), used_groups))
        .collect();
    let inputs = PolicyInputs {
        config,
        manifests,
        org_files: vec![("org.cedar".to_owned(), org_text.clone())],
    };
    compile(&inputs).unwrap_or_else(|e| panic!("{e}\n{org_text}"))
}

fn check(snapshot: &Snapshot, agents: usize, r: &RequestSpec) -> Result<(), TestCaseError> {
    let agent = AgentName::new(if r.agent < agents {
        format!("a{}", r.agent)
    } else {
        "ghost".to_owned()
    })
    .unwrap();
    let instance = InstanceId::new("i-1").unwrap();
    let server = SERVERS.get(r.server).copied().unwrap_or("nope");
    let tool = TOOLS.get(r.tool).copied().unwrap_or("t9");
    let history = SessionHistory {
        actions: r.actions,
        tools: r
            .earlier
            .iter()
            .map(|i| format!("{}/{}", SERVERS[i / TOOLS.len()], TOOLS[i % TOOLS.len()]))
            .collect(),
        ..SessionHistory::default()
    };
    let request = DecisionRequest {
        agent: &agent,
        instance: &instance,
        session: "s-1",
        server,
        tool,
        args: &r.args,
        classes: &[],
    };
    let sliced = snapshot.evaluate(&request, &history);
    let full = snapshot.evaluate_unsliced(&request, &history);
    // Where the gateway skips classifying the arguments, no classes they
    // could hold change the answer: a denial by the same policies.
    if !snapshot.classes_used(&agent, server, tool) {
        let classes = ["financial".to_owned(), "pii.contact".to_owned()];
        let classified = snapshot.evaluate(
            &DecisionRequest {
                classes: &classes,
                ..request
            },
            &history,
        );
        prop_assert_eq!(sliced.outcome, warden_types::DecisionOutcome::Deny);
        prop_assert_eq!(&classified.outcome, &sliced.outcome);
        prop_assert_eq!(&classified.policies, &sliced.policies);
        prop_assert_eq!(&classified.reasons, &sliced.reasons);
    }
    let set = |p: &[String]| p.iter().cloned().collect::<BTreeSet<_>>();
    prop_assert_eq!(
        sliced.outcome,
        full.outcome,
        "{} {}/{} {}\nsliced: {:?}\nfull: {:?}",
        agent,
        server,
        tool,
        r.args,
        sliced.reasons,
        full.reasons
    );
    prop_assert_eq!(
        set(&sliced.policies),
        set(&full.policies),
        "{} {}/{} {}\nsliced: {:?}\nfull: {:?}",
        agent,
        server,
        tool,
        r.args,
        sliced.reasons,
        full.reasons
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn sliced_and_full_evaluation_agree(
        agents in prop::collection::vec(agent_spec(), 1..7),
        org in prop::collection::vec(org_spec(), 0..10),
        requests in prop::collection::vec(request_spec(), 40),
    ) {
        let snapshot = build(&agents, &org);
        for r in &requests {
            check(&snapshot, agents.len(), r)?;
        }
    }
}

/// A fixed population in which every scope kind occurs, so the property is
/// exercised on them however the generator draws.
#[test]
fn every_scope_kind_is_sliced_exactly() {
    let agents: Vec<AgentSpec> = (0..4)
        .map(|i| AgentSpec {
            groups: (i % 8) as u8,
            dora: i % 2 == 0,
            grants: (0..9)
                .map(|g| ((g + i) % 3 != 0).then_some((Some((g + i) % CONDITIONS.len()), None)))
                .collect(),
        })
        .collect();
    let mut org = Vec::new();
    for p in 0u8..6 {
        for a in 0u8..3 {
            for r in 0u8..6 {
                let k = usize::from(p * 18 + a * 6 + r);
                org.push(OrgSpec {
                    permit: k % 3 == 0,
                    approval: k % 5 == 0,
                    principal: (p, k),
                    action: (a, k % OPS.len(), (k / 2) % OPS.len()),
                    resource: (r, k % SERVERS.len(), (k / 3) % TOOLS.len()),
                    when: (k % 4 != 0).then_some(k % CONDITIONS.len()),
                    unless: k % 7 == 0,
                });
            }
        }
    }
    let snapshot = build(&agents, &org);
    let args = [
        json!({}),
        json!({"amount": 60, "name": "alice", "flag": true, "url": "https://a.example/"}),
        json!({"amount": 500, "name": "bob", "flag": null}),
    ];
    for agent in 0..5 {
        for server in 0..4 {
            for tool in 0..4 {
                for a in &args {
                    let r = RequestSpec {
                        agent,
                        server,
                        tool,
                        args: a.clone(),
                        actions: 1,
                        earlier: vec![0],
                    };
                    check(&snapshot, agents.len(), &r).unwrap();
                }
            }
        }
    }
}

/// The case proptest found: a tool the agent is not granted, denied by an
/// org-wide forbid, names the forbid as the full set does.
#[test]
fn an_ungranted_tool_names_the_forbid_that_matches() {
    let agents = vec![AgentSpec {
        groups: 0,
        dora: false,
        grants: vec![None; 9],
    }];
    let forbid = OrgSpec {
        permit: false,
        approval: false,
        principal: (0, 0),
        action: (0, 0, 0),
        resource: (2, 0, 0),
        when: None,
        unless: false,
    };
    let snapshot = build(&agents, &[forbid]);
    let r = RequestSpec {
        agent: 0,
        server: 0,
        tool: 0,
        args: json!({}),
        actions: 0,
        earlier: vec![],
    };
    check(&snapshot, 1, &r).unwrap();
    let agent = AgentName::new("a0").unwrap();
    let instance = InstanceId::new("i-1").unwrap();
    let request = DecisionRequest {
        agent: &agent,
        instance: &instance,
        session: "s",
        server: "s0",
        tool: "t0",
        args: &r.args,
        classes: &[],
    };
    let d = snapshot.evaluate(&request, &SessionHistory::default());
    assert_eq!(d.policies, ["org/0"]);
    assert_eq!(d.reasons, ["forbidden by `org/0` (org.cedar:1:1)"]);
    // Without a matching forbid the answer names the missing grant.
    let request = DecisionRequest {
        server: "s1",
        ..request
    };
    let d = snapshot.evaluate(&request, &SessionHistory::default());
    assert!(d.policies.is_empty());
    assert_eq!(d.reasons, ["agent `a0` has no grant for tool `s1/t0`"]);
}
