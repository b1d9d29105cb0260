//! A compiled, immutable policy set with its indexes: what one decision reads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use cedar_policy::{Entities, EntityUid, Policy, PolicySet};
use warden_types::{AgentName, Operation};

use crate::compile::{Scope, digest};
use crate::config::{Config, Destination};
use crate::entities::{self, action_uid, uid};
use crate::error::Location;
use crate::manifest::{Budgets, Manifest};
use crate::rewrite::References;

/// One policy with where it came from.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    /// Its id (`agent/<name>/<server>/<tool>[/approval]` or an org-wide id).
    pub id: String,
    /// The Cedar policy.
    pub policy: Policy,
    /// Where it was written.
    pub location: Location,
    /// The manifest field it came from, if any.
    pub field: Option<String>,
    /// Whether deciding with it turns allow into `needs_approval`.
    pub approval: bool,
    /// Its `@reason("…")` annotation, if any.
    pub reason: Option<String>,
    /// Its redaction obligations (`@redact("class=action, …")`), attached to
    /// the allows it decides.
    pub redact: Vec<crate::Redaction>,
    pub(crate) refs: References,
    pub(crate) scope: Scope,
    /// "allowed by `id` (file:line)", written once at compile time.
    pub(crate) allowed_text: String,
    /// The (server, tool) of the manifest grant it was compiled from.
    pub(crate) grant: Option<(String, String)>,
}

impl CompiledPolicy {
    pub(crate) fn new(
        id: String,
        policy: Policy,
        location: Location,
        field: Option<String>,
        refs: References,
    ) -> Self {
        let approval = policy.annotation("approval") == Some("required");
        let reason = policy.annotation("reason").map(str::to_owned);
        // Checked with its location at compile time; here only read.
        let redact = policy
            .annotation("redact")
            .map(crate::redaction::read_annotation)
            .unwrap_or_default();
        let scope = Scope::of(&policy);
        let allowed_text = format!("allowed by `{id}` ({location})");
        Self {
            id,
            policy,
            location,
            field,
            approval,
            reason,
            redact,
            refs,
            scope,
            allowed_text,
            grant: None,
        }
    }

    /// Marks the policy as compiled from a manifest's grant of `server/tool`.
    pub(crate) fn for_grant(mut self, server: &str, tool: &str) -> Self {
        self.grant = Some((server.to_owned(), tool.to_owned()));
        self
    }

    /// Whether it was compiled from a grant of `server/tool`.
    pub(crate) fn is_grant_of(&self, server: &str, tool: &str) -> bool {
        self.grant
            .as_ref()
            .is_some_and(|(s, t)| s == server && t == tool)
    }
}

/// A tool Warden knows of.
#[derive(Debug, Clone)]
pub struct ToolInfo {
    /// `server/tool`.
    pub key: String,
    /// Its operation kind.
    pub operation: Operation,
    /// Where it sends data.
    pub destination: Destination,
    /// The classes it is cleared to receive (the tool's own, else its server's).
    pub cleared: Vec<String>,
    /// The arguments that decide the destination (`to`, `cc`, `bcc`, …).
    pub destination_arguments: Vec<String>,
    /// The classes cleared when that argument makes the destination external.
    pub external_cleared: Vec<String>,
    /// Whether its path arguments are judged after symbolic links are
    /// resolved (its server's `resolve_paths`).
    pub resolve_paths: bool,
    pub(crate) uid: EntityUid,
    pub(crate) server_uid: EntityUid,
    pub(crate) action: EntityUid,
    pub(crate) refs: References,
    pub(crate) input_schema: Option<serde_json::Value>,
}

impl ToolInfo {
    pub(crate) fn new(
        server: &str,
        tool: &str,
        operation: Operation,
        destination: Destination,
        input_schema: Option<serde_json::Value>,
    ) -> Self {
        let key = format!("{server}/{tool}");
        Self {
            uid: uid("Tool", &key),
            server_uid: uid("Server", server),
            action: action_uid(operation),
            key,
            operation,
            destination,
            cleared: Vec::new(),
            destination_arguments: Vec::new(),
            external_cleared: Vec::new(),
            resolve_paths: false,
            refs: References::default(),
            input_schema,
        }
    }
}

/// One grant of a tool to an agent, compiled.
#[derive(Debug, Clone, Default)]
pub(crate) struct GrantInfo {
    pub(crate) policies: Vec<String>,
    /// The `when` condition split at top-level `&&`, each part compiled on its
    /// own, to say which part failed.
    pub(crate) conjuncts: Vec<(String, Policy, References)>,
    pub(crate) when_text: Option<String>,
}

/// A registered agent, compiled.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    /// Its manifest.
    pub manifest: Arc<Manifest>,
    /// Its budgets.
    pub budgets: Budgets,
    pub(crate) uid: EntityUid,
    pub(crate) parents: HashSet<EntityUid>,
    pub(crate) grants: HashMap<String, HashMap<String, GrantInfo>>,
    pub(crate) slices: HashMap<String, HashMap<String, Slice>>,
}

impl AgentInfo {
    pub(crate) fn new(m: &Manifest) -> Self {
        Self {
            manifest: Arc::new(m.clone()),
            budgets: m.budgets,
            uid: uid("Agent", m.name.as_str()),
            parents: m.groups.iter().map(|g| uid("Group", g)).collect(),
            grants: HashMap::new(),
            slices: HashMap::new(),
        }
    }

    /// The tools of `server` granted to the agent.
    pub fn granted_tools(&self, server: &str) -> impl Iterator<Item = &str> {
        self.grants
            .get(server)
            .into_iter()
            .flat_map(|t| t.keys().map(String::as_str))
    }

    /// Whether the agent is granted `server/tool`.
    pub fn is_granted(&self, server: &str, tool: &str) -> bool {
        self.grants
            .get(server)
            .is_some_and(|t| t.contains_key(tool))
    }
}

/// The policies whose scope matches one (agent, tool) pair.
#[derive(Debug, Clone)]
pub(crate) struct Slice {
    pub(crate) set: Arc<PolicySet>,
    pub(crate) has_permit: bool,
    pub(crate) diagnostics: Option<Arc<PolicySet>>,
}

/// An immutable, compiled policy set. Swapped in whole when anything changes.
#[derive(Debug)]
pub struct Snapshot {
    /// The configuration it was compiled with.
    pub config: Arc<Config>,
    /// Registered agents.
    pub agents: HashMap<AgentName, AgentInfo>,
    /// Known tools by server, then tool.
    pub tools: HashMap<String, HashMap<String, ToolInfo>>,
    /// Every policy, manifest-generated and org-wide.
    pub policies: Vec<CompiledPolicy>,
    /// `sha256:<hex>` of the policies and lists.
    pub digest: String,
    pub(crate) by_id: HashMap<String, usize>,
    pub(crate) org: Vec<usize>,
    pub(crate) full_set: PolicySet,
    pub(crate) full: Slice,
    pub(crate) entities: Entities,
}

impl Snapshot {
    pub(crate) fn assemble(
        config: Arc<Config>,
        mut agents: HashMap<AgentName, AgentInfo>,
        tool_list: BTreeMap<(String, String), ToolInfo>,
        policies: Vec<CompiledPolicy>,
        org: Vec<usize>,
    ) -> Result<Snapshot, String> {
        let mut tools: HashMap<String, HashMap<String, ToolInfo>> = HashMap::new();
        for ((s, t), info) in tool_list {
            tools.entry(s).or_default().insert(t, info);
        }
        let by_id: HashMap<String, usize> = policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let mut full_set = PolicySet::new();
        for p in &policies {
            full_set.add(p.policy.clone()).map_err(|e| e.to_string())?;
        }
        let mut ents = Vec::new();
        let mut groups = HashSet::new();
        for (name, a) in &agents {
            let m = &a.manifest;
            ents.push(entities::agent_entity(
                name.as_str(),
                &m.owner,
                m.risk.eu_ai_act.as_deref(),
                m.risk.dora_critical,
                &m.groups,
            )?);
            groups.extend(m.groups.iter().cloned());
        }
        for g in groups {
            ents.push(cedar_policy::Entity::new_no_attrs(
                uid("Group", &g),
                HashSet::new(),
            ));
        }
        for (sname, server) in &config.servers {
            ents.push(entities::server_entity(sname, server.destination.as_str())?);
        }
        for (sname, by_tool) in &tools {
            for (tname, t) in by_tool {
                ents.push(entities::tool_entity(
                    sname,
                    tname,
                    t.operation,
                    t.destination.as_str(),
                    if config.providers.contains_key(sname.as_str()) {
                        "model"
                    } else {
                        "tool"
                    },
                )?);
            }
        }
        for (name, members) in &config.lists {
            ents.push(entities::list_entity(name, members)?);
        }
        let entities = Entities::from_entities(ents, None).map_err(|e| e.to_string())?;

        // Precompute the slice of every granted (agent, tool) pair.
        for a in agents.values_mut() {
            let mut slices: HashMap<String, HashMap<String, Slice>> = HashMap::new();
            for (server, by_tool) in &a.grants {
                for (tool, grant) in by_tool {
                    let Some(info) = tools.get(server).and_then(|t| t.get(tool)) else {
                        continue;
                    };
                    let own = grant
                        .policies
                        .iter()
                        .filter_map(|id| by_id.get(id).map(|i| &policies[*i]));
                    let slice = build_slice(own, &org, &policies, a, info, Some(grant))?;
                    slices
                        .entry(server.clone())
                        .or_default()
                        .insert(tool.clone(), slice);
                }
            }
            a.slices = slices;
        }
        let digest = digest(&policies, &config.lists);
        let full = Slice {
            set: Arc::new(full_set.clone()),
            has_permit: true,
            diagnostics: None,
        };
        Ok(Snapshot {
            config,
            agents,
            tools,
            policies,
            digest,
            by_id,
            org,
            full_set,
            full,
            entities,
        })
    }

    /// The slice for an (agent, tool) pair that has no precomputed one.
    pub(crate) fn ad_hoc_slice(&self, agent: &AgentInfo, tool: &ToolInfo) -> Result<Slice, String> {
        build_slice(
            std::iter::empty(),
            &self.org,
            &self.policies,
            agent,
            tool,
            None,
        )
    }

    /// A policy by id.
    pub fn policy(&self, id: &str) -> Option<&CompiledPolicy> {
        self.by_id.get(id).map(|i| &self.policies[*i])
    }

    /// The whole policy set, for tools that evaluate against everything.
    pub fn full_policy_set(&self) -> &PolicySet {
        &self.full_set
    }

    /// How many policies Cedar evaluates for `agent` calling `server/tool`
    /// (the size of the request's slice); `None` for an unknown agent or tool.
    pub fn slice_size(&self, agent: &AgentName, server: &str, tool: &str) -> Option<usize> {
        let info = self.agents.get(agent)?;
        let tool_info = self.tool(server, tool)?;
        match info.slices.get(server).and_then(|t| t.get(tool)) {
            Some(slice) => Some(slice.set.policies().count()),
            None => self
                .ad_hoc_slice(info, tool_info)
                .ok()
                .map(|s| s.set.policies().count()),
        }
    }

    /// Whether the data classes of the arguments can change what `agent`
    /// calling `server/tool` is answered: a condition reads
    /// `context.classes`, or a policy may permit the call (the flow rules and
    /// redaction obligations then apply). When neither holds, the answer is a
    /// denial whatever the arguments hold, and classifying them is wasted:
    /// unknown agents and tools, and tools no permit reaches.
    pub fn classes_used(&self, agent: &AgentName, server: &str, tool: &str) -> bool {
        let (Some(info), Some(tool_info)) = (self.agents.get(agent), self.tool(server, tool))
        else {
            return false;
        };
        if tool_info.refs.classes {
            return true;
        }
        match info.slices.get(server).and_then(|t| t.get(tool)) {
            Some(slice) => slice.has_permit,
            None => self.org.iter().map(|i| &self.policies[*i]).any(|p| {
                p.policy.effect() == cedar_policy::Effect::Permit
                    && p.scope.matches(info, tool_info)
            }),
        }
    }

    /// Looks up a known tool.
    pub fn tool(&self, server: &str, tool: &str) -> Option<&ToolInfo> {
        self.tools.get(server).and_then(|t| t.get(tool))
    }
}

fn build_slice<'a>(
    own: impl Iterator<Item = &'a CompiledPolicy>,
    org: &[usize],
    policies: &'a [CompiledPolicy],
    agent: &AgentInfo,
    tool: &ToolInfo,
    grant: Option<&GrantInfo>,
) -> Result<Slice, String> {
    let mut set = PolicySet::new();
    let mut has_permit = false;
    let org_matching = org
        .iter()
        .map(|i| &policies[*i])
        .filter(|p| p.scope.matches(agent, tool));
    for p in own.chain(org_matching) {
        has_permit |= p.policy.effect() == cedar_policy::Effect::Permit;
        set.add(p.policy.clone()).map_err(|e| e.to_string())?;
    }
    let diagnostics = match grant {
        Some(g) if !g.conjuncts.is_empty() => {
            let mut d = PolicySet::new();
            for (_, p, _) in &g.conjuncts {
                d.add(p.clone()).map_err(|e| e.to_string())?;
            }
            Some(Arc::new(d))
        }
        _ => None,
    };
    Ok(Slice {
        set: Arc::new(set),
        has_permit,
        diagnostics,
    })
}
