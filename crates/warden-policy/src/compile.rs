//! Compiling manifests, configuration and org-wide policies into a [`Snapshot`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use cedar_policy::{
    ActionConstraint, Policy, PolicyId, PolicySet, PrincipalConstraint, ResourceConstraint, Schema,
    ValidationMode, Validator,
};
use sha2::{Digest, Sha256};
use warden_types::{AgentName, Operation};

use crate::config::{Config, Destination};
use crate::entities;
use crate::error::{Diagnostics, Location, PolicyError};
use crate::manifest::Manifest;
use crate::rewrite::{self, References};
use crate::snapshot::{AgentInfo, CompiledPolicy, GrantInfo, Snapshot, ToolInfo};

/// What a snapshot is compiled from.
#[derive(Debug, Clone)]
pub struct PolicyInputs {
    /// The configuration.
    pub config: Arc<Config>,
    /// Agent manifests (from `agents/` and registered through the API).
    pub manifests: Vec<Manifest>,
    /// Org-wide policy files: (name for messages, Cedar text).
    pub org_files: Vec<(String, String)>,
}

impl PolicyInputs {
    /// Reads `agents/*.yaml` and `policies/*.cedar` beside the configuration.
    /// Every file's mistakes are collected before failing.
    pub fn load(config: Arc<Config>) -> Result<PolicyInputs, PolicyError> {
        let mut diags = Diagnostics::default();
        let mut manifests = Vec::new();
        for (name, text) in read_dir(&config.agents_dir, &["yaml", "yml"], &config.base_dir)? {
            match Manifest::parse(&name, &text, &config) {
                Ok(m) => manifests.push(m),
                Err(PolicyError::Invalid(d)) => diags.0.extend(d),
                Err(e) => return Err(e),
            }
        }
        let org_files = read_dir(&config.policies_dir, &["cedar"], &config.base_dir)?;
        diags.into_result(PolicyInputs {
            config,
            manifests,
            org_files,
        })
    }
}

fn read_dir(dir: &Path, exts: &[&str], base: &Path) -> Result<Vec<(String, String)>, PolicyError> {
    let io = |source| PolicyError::Io {
        path: dir.to_owned(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(io)?.path();
        if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
        {
            let text = std::fs::read_to_string(&path).map_err(|source| PolicyError::Io {
                path: path.clone(),
                source,
            })?;
            let shown = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .display()
                .to_string();
            files.push((shown, text));
        }
    }
    files.sort();
    Ok(files)
}

/// The scope of a policy, for slicing.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    principal: PrincipalConstraint,
    action: ActionConstraint,
    resource: ResourceConstraint,
}

impl Scope {
    pub(crate) fn of(policy: &Policy) -> Scope {
        Scope {
            principal: policy.principal_constraint(),
            action: policy.action_constraint(),
            resource: policy.resource_constraint(),
        }
    }

    /// Whether this scope can match a request by `agent` on `tool`: exact
    /// over Warden's entity hierarchy, so a slice decides as the full set does.
    pub(crate) fn matches(&self, agent: &AgentInfo, tool: &ToolInfo) -> bool {
        let agent_ty = agent.uid.type_name();
        let principal = match &self.principal {
            PrincipalConstraint::Any => true,
            PrincipalConstraint::Eq(u) => *u == agent.uid,
            PrincipalConstraint::In(u) => *u == agent.uid || agent.parents.contains(u),
            PrincipalConstraint::Is(t) => t == agent_ty,
            PrincipalConstraint::IsIn(t, u) => {
                t == agent_ty && (*u == agent.uid || agent.parents.contains(u))
            }
        };
        let action = match &self.action {
            ActionConstraint::Any => true,
            ActionConstraint::Eq(u) => *u == tool.action,
            ActionConstraint::In(list) => list.contains(&tool.action),
        };
        let tool_ty = tool.uid.type_name();
        let in_tool = |u: &cedar_policy::EntityUid| *u == tool.uid || *u == tool.server_uid;
        let resource = match &self.resource {
            ResourceConstraint::Any => true,
            ResourceConstraint::Eq(u) => *u == tool.uid,
            ResourceConstraint::In(u) => in_tool(u),
            ResourceConstraint::Is(t) => t == tool_ty,
            ResourceConstraint::IsIn(t, u) => t == tool_ty && in_tool(u),
        };
        principal && action && resource
    }
}

fn at(location: &Location, offset_text: &str, offset: usize) -> Location {
    let (dl, _) = rewrite::line_col(offset_text, offset);
    Location::new(
        location.file.clone(),
        location.line + dl - 1,
        if dl == 1 { location.column } else { 0 },
    )
}

fn parse_policy(id: &str, text: &str) -> Result<Policy, String> {
    Policy::parse(Some(PolicyId::new(id)), text).map_err(|e| {
        let all: Vec<String> = e.iter().map(ToString::to_string).collect();
        if all.is_empty() {
            e.to_string()
        } else {
            all.join("; ")
        }
    })
}

struct Builder<'a> {
    config: &'a Config,
    diags: Diagnostics,
    policies: Vec<CompiledPolicy>,
    tools: BTreeMap<(String, String), ToolInfo>,
}

impl Builder<'_> {
    fn rewrite(
        &mut self,
        text: &str,
        location: &Location,
        field: Option<&str>,
    ) -> Option<rewrite::Rewritten> {
        let lists = &self.config.lists;
        match rewrite::rewrite(text, &|n| lists.contains_key(n)) {
            Ok(r) => Some(r),
            Err(e) => {
                let mut message = e.message;
                if message.starts_with("unknown list") {
                    let word = message
                        .trim_start_matches("unknown list `")
                        .trim_end_matches('`')
                        .to_owned();
                    message.push_str(&crate::error::did_you_mean(
                        &word,
                        lists.keys().map(String::as_str),
                    ));
                }
                self.diags.push(
                    at(location, text, e.offset),
                    field.map(str::to_owned),
                    message,
                );
                None
            }
        }
    }

    fn tool(
        &mut self,
        server: &str,
        tool: &str,
        op: Operation,
    ) -> (cedar_policy::EntityUid, cedar_policy::EntityUid) {
        let key = (server.to_owned(), tool.to_owned());
        let info = self.tools.entry(key).or_insert_with(|| {
            let server_config = self.config.servers.get(server);
            let declared = server_config.and_then(|s| s.tools.get(tool));
            let destination = declared
                .and_then(|d| d.destination)
                .or(server_config.map(|s| s.destination))
                .unwrap_or(Destination::External);
            let mut info = ToolInfo::new(
                server,
                tool,
                op,
                destination,
                declared.and_then(|d| d.input_schema.clone()),
            );
            info.cleared = declared
                .and_then(|d| d.cleared.clone())
                .or(server_config.map(|s| s.cleared.clone()))
                .unwrap_or_default();
            info.resolve_paths = server_config.is_some_and(|s| s.resolve_paths);
            if let Some(d) = declared {
                info.destination_arguments = d.destination_arguments.clone();
                info.external_cleared = d.external_cleared.clone();
            }
            info
        });
        (info.uid.clone(), info.action.clone())
    }
}

/// The stack compiling gets: Cedar's parser and validator recurse over the
/// policy's tree. Text is bounded before it reaches them (see
/// `rewrite::MAX_NESTING`); the large stack is the second line of defence.
const COMPILE_STACK_BYTES: usize = 64 << 20;

/// Compiles inputs into a snapshot. Every mistake is collected and reported.
///
/// Runs on a thread of its own with a large stack, whatever thread calls it.
pub fn compile(inputs: &PolicyInputs) -> Result<Snapshot, PolicyError> {
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("warden-policy-compile".to_owned())
            .stack_size(COMPILE_STACK_BYTES)
            .spawn_scoped(scope, || compile_here(inputs))
        {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(PolicyError::Invalid(vec![crate::error::Diagnostic::new(
                    Location::new(inputs.config.file.clone(), 0, 0),
                    None,
                    "compiling the policy set failed unexpectedly".to_owned(),
                )]))
            }),
            // No thread to be had: compile here; the text bounds still hold.
            Err(_) => compile_here(inputs),
        }
    })
}

fn compile_here(inputs: &PolicyInputs) -> Result<Snapshot, PolicyError> {
    let config = &inputs.config;
    let mut b = Builder {
        config,
        diags: Diagnostics::default(),
        policies: Vec::new(),
        tools: BTreeMap::new(),
    };

    // Tools declared in the configuration exist even if no agent is granted them.
    for (sname, server) in &config.servers {
        for (tname, tool) in &server.tools {
            if let Some(op) = tool.operation {
                b.tool(sname, tname, op);
            }
        }
    }

    // Logs of a high-risk agent are kept at least six months.
    if let Some(d) = crate::classification::retention_error(config, &inputs.manifests) {
        b.diags.0.push(d);
    }

    let mut agents: HashMap<AgentName, AgentInfo> = HashMap::new();
    let mut seen: HashMap<AgentName, String> = HashMap::new();
    for m in &inputs.manifests {
        if let Some(first) = seen.get(&m.name) {
            b.diags.push(
                Location::new(m.file.clone(), 1, 1),
                Some("name".into()),
                format!("duplicate agent `{}`: already declared in {first}", m.name),
            );
            continue;
        }
        seen.insert(m.name.clone(), m.file.clone());
        let mut info = AgentInfo::new(m);
        for g in &m.grants {
            let (tool_uid, action) = b.tool(&g.server, &g.tool, g.operation);
            let existing = b
                .tools
                .get(&(g.server.clone(), g.tool.clone()))
                .map(|t| t.operation);
            if let Some(op) = existing.filter(|op| *op != g.operation) {
                b.diags.push(g.location.clone(), Some(format!("tools.{}.{}", g.server, g.tool)), format!("tool `{}/{}` is `{op}` in another manifest, not `{}`: a tool has one operation kind", g.server, g.tool, g.operation));
                continue;
            }
            let redact = if g.redact.is_empty() {
                String::new()
            } else {
                format!("@redact(\"{}\")\n", crate::redaction::annotation(&g.redact))
            };
            let scope = format!(
                "{redact}permit(principal == {}, action == {}, resource == {})",
                info.uid, action, tool_uid
            );
            let id = format!("agent/{}/{}/{}", m.name, g.server, g.tool);
            let mut refs = References::default();
            let when = match &g.when {
                Some(c) => match b.rewrite(&c.text, &c.location, Some(&c.field)) {
                    Some(r) => {
                        refs.merge(&r.refs);
                        Some(r.text)
                    }
                    None => continue,
                },
                None => None,
            };
            let source = g
                .when
                .as_ref()
                .map_or(g.location.clone(), |c| c.location.clone());
            let text = match &when {
                Some(w) => format!("{scope}\nwhen {{ {w} }};"),
                None => format!("{scope};"),
            };
            let mut grant = GrantInfo {
                policies: vec![id.clone()],
                conjuncts: Vec::new(),
                when_text: g.when.as_ref().map(|c| c.text.clone()),
            };
            match parse_policy(&id, &text) {
                Ok(p) => {
                    let field = g.when.as_ref().map_or_else(
                        || format!("tools.{}.{}", g.server, g.tool),
                        |c| c.field.clone(),
                    );
                    b.policies.push(
                        CompiledPolicy::new(
                            id.clone(),
                            p,
                            source.clone(),
                            Some(field),
                            refs.clone(),
                        )
                        .for_grant(&g.server, &g.tool),
                    );
                }
                Err(e) => {
                    b.diags.push(
                        source,
                        g.when.as_ref().map(|c| c.field.clone()),
                        format!("condition does not parse: {e}"),
                    );
                    continue;
                }
            }
            if let Some(c) = &g.when {
                for (i, part) in rewrite::split_conjuncts(&c.text).into_iter().enumerate() {
                    let lists = &config.lists;
                    if let Ok(r) = rewrite::rewrite(&part, &|n| lists.contains_key(n))
                        && let Ok(p) = parse_policy(
                            &format!("{id}#{i}"),
                            &format!("permit(principal, action, resource) when {{ {} }};", r.text),
                        )
                    {
                        grant.conjuncts.push((part, p, r.refs));
                    }
                }
            }
            if let Some(a) = &g.approval
                && let Some(r) = b.rewrite(&a.text, &a.location, Some(&a.field))
            {
                refs.merge(&r.refs);
                let aid = format!("{id}/approval");
                let cond = match &when {
                    Some(w) => format!("({w}) && ({})", r.text),
                    None => r.text.clone(),
                };
                let text = format!("@approval(\"required\")\n{scope}\nwhen {{ {cond} }};");
                match parse_policy(&aid, &text) {
                    Ok(p) => {
                        let mut compiled = CompiledPolicy::new(
                            aid.clone(),
                            p,
                            a.location.clone(),
                            Some(a.field.clone()),
                            refs.clone(),
                        );
                        compiled.reason = Some(format!("condition `{}` holds", a.text));
                        b.policies.push(compiled.for_grant(&g.server, &g.tool));
                        grant.policies.push(aid);
                    }
                    Err(e) => b.diags.push(
                        a.location.clone(),
                        Some(a.field.clone()),
                        format!("condition does not parse: {e}"),
                    ),
                }
            }
            info.grants
                .entry(g.server.clone())
                .or_default()
                .insert(g.tool.clone(), grant);
        }
        agents.insert(m.name.clone(), info);
    }

    // Org-wide policies.
    let mut org_refs = References::default();
    let mut org_ids = Vec::new();
    for (file, text) in &inputs.org_files {
        let file_loc = Location::new(file.clone(), 1, 1);
        let parts = match rewrite::split_policies(text) {
            Ok(p) => p,
            Err(e) => {
                b.diags.push(at(&file_loc, text, e.offset), None, e.message);
                continue;
            }
        };
        for (line, policy_text) in parts {
            let loc = Location::new(file.clone(), line, 1);
            let Some(r) = b.rewrite(&policy_text, &loc, None) else {
                continue;
            };
            let fallback = format!("{file}:{line}");
            let probe = parse_policy(&fallback, &r.text);
            let policy = match probe {
                Ok(p) => p,
                Err(e) => {
                    b.diags
                        .push(loc, None, format!("policy does not parse: {e}"));
                    continue;
                }
            };
            let id = policy.annotation("id").map_or(fallback, str::to_owned);
            if let Some(text) = policy.annotation("redact") {
                if let Err(e) = crate::redaction::parse_list(text, &config.classes) {
                    b.diags.push(loc.clone(), None, format!("`@redact`: {e}"));
                    continue;
                }
                if policy.effect() != cedar_policy::Effect::Permit {
                    b.diags.push(
                        loc.clone(),
                        None,
                        "`@redact` goes on a `permit`: obligations attach to allows",
                    );
                    continue;
                }
            }
            let policy = policy.new_id(PolicyId::new(&id));
            if b.policies.iter().any(|p| p.id == id) {
                b.diags
                    .push(loc, None, format!("duplicate policy id `{id}`"));
                continue;
            }
            check_scope_entities(&mut b, &policy, &loc, &agents);
            org_refs.merge(&r.refs);
            org_ids.push(b.policies.len());
            b.policies
                .push(CompiledPolicy::new(id, policy, loc, None, r.refs));
        }
    }

    // Which arguments go into each tool's context.
    for ((server, tool), info) in &mut b.tools {
        let mut refs = org_refs.clone();
        for p in b.policies.iter().filter(|p| p.is_grant_of(server, tool)) {
            refs.merge(&p.refs);
        }
        info.refs = refs;
    }

    validate_conditions(&mut b);
    let Builder {
        diags,
        policies,
        tools,
        ..
    } = b;
    let diags_result = diags.into_result(());
    diags_result?;
    Snapshot::assemble(Arc::clone(config), agents, tools, policies, org_ids).map_err(|e| {
        PolicyError::Invalid(vec![crate::error::Diagnostic::new(
            Location::new(config.file.clone(), 0, 0),
            None,
            e,
        )])
    })
}

/// Org-wide scopes must name entities that exist, or they silently never match.
fn check_scope_entities(
    b: &mut Builder<'_>,
    policy: &Policy,
    loc: &Location,
    agents: &HashMap<AgentName, AgentInfo>,
) {
    let mut named = Vec::new();
    match policy.principal_constraint() {
        PrincipalConstraint::Eq(u)
        | PrincipalConstraint::In(u)
        | PrincipalConstraint::IsIn(_, u) => named.push(u),
        _ => {}
    }
    match policy.resource_constraint() {
        ResourceConstraint::Eq(u) | ResourceConstraint::In(u) | ResourceConstraint::IsIn(_, u) => {
            named.push(u)
        }
        _ => {}
    }
    match policy.action_constraint() {
        ActionConstraint::Eq(u) => named.push(u),
        ActionConstraint::In(list) => named.extend(list),
        ActionConstraint::Any => {}
    }
    for u in named {
        let ty = u.type_name().to_string();
        let id = u.id().unescaped().to_owned();
        let known = match ty.as_str() {
            "Warden::Agent" => agents.keys().any(|a| a.as_str() == id),
            "Warden::Group" => agents.values().any(|a| a.parents.contains(&u)),
            "Warden::Server" => b.config.servers.contains_key(&id),
            "Warden::Tool" => b.tools.keys().any(|(s, t)| format!("{s}/{t}") == id),
            "Warden::Action" => Operation::ALL.iter().any(|op| op.as_str() == id),
            _ => false,
        };
        if !known {
            b.diags.push(loc.clone(), None, format!("policy scope names `{u}`, which does not exist: expected a declared agent, group, server, tool (`Warden::Tool::\"server/tool\"`) or action (read, write, send, delete, execute)"));
        }
    }
}

/// Type-checks grant conditions against the tool's input schema, where known.
fn validate_conditions(b: &mut Builder<'_>) {
    for ((server, tool), info) in &b.tools {
        let Some(args) = info.input_schema.as_ref().and_then(entities::args_type) else {
            continue;
        };
        let hosts: Vec<String> = info.refs.hosts.iter().cloned().collect();
        let paths: Vec<String> = info.refs.paths.iter().cloned().collect();
        let provenance: Vec<String> = info.refs.provenance.iter().cloned().collect();
        let schema = match Schema::from_json_value(entities::schema_json(
            &args,
            &hosts,
            &paths,
            &provenance,
        )) {
            Ok(s) => s,
            Err(e) => {
                b.diags.push(
                    Location::new(b.config.file.clone(), 0, 0),
                    Some(format!("servers.{server}.tools.{tool}.input_schema")),
                    format!("input schema cannot be used: {e}"),
                );
                continue;
            }
        };
        let validator = Validator::new(schema);
        for p in b.policies.iter().filter(|p| p.is_grant_of(server, tool)) {
            let mut set = PolicySet::new();
            if set.add(p.policy.clone()).is_err() {
                continue;
            }
            let result = validator.validate(&set, ValidationMode::Strict);
            for e in result.validation_errors() {
                b.diags.push(p.location.clone(), p.field.clone(), format!("condition does not type-check against the input schema of `{server}/{tool}`: {e}"));
            }
        }
    }
}

/// SHA-256 over the policies and lists a decision depends on.
pub(crate) fn digest(policies: &[CompiledPolicy], lists: &BTreeMap<String, Vec<String>>) -> String {
    let mut h = Sha256::new();
    let mut sorted: Vec<&CompiledPolicy> = policies.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for p in sorted {
        h.update(p.id.as_bytes());
        h.update([0]);
        h.update(p.policy.to_string().as_bytes());
        h.update([0]);
    }
    for (name, members) in lists {
        h.update(name.as_bytes());
        for m in members {
            h.update([1]);
            h.update(m.as_bytes());
        }
        h.update([0]);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}
