//! Agent manifests: the inventory entry and the least-privilege grant in one
//! YAML file. Every mistake is reported with its file, line and field.

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoadError, LoaderOptions, Node};
use warden_types::{AgentName, Operation};

use crate::config::{Config, valid_name};
use crate::error::{Diagnostics, Location, PolicyError, did_you_mean};

/// A condition as written in a manifest, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The Cedar expression, as the user wrote it.
    pub text: String,
    /// Where it starts.
    pub location: Location,
    /// The field path (`tools.accounting.schedule_payment.when`).
    pub field: String,
}

/// One tool an agent is granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The tool server.
    pub server: String,
    /// The tool.
    pub tool: String,
    /// The operation kind the tool performs.
    pub operation: Operation,
    /// The condition under which the call is allowed.
    pub when: Option<Condition>,
    /// The condition under which an allowed call needs a human's approval.
    pub approval: Option<Condition>,
    /// Redaction obligations attached to an allow.
    pub redact: Vec<crate::Redaction>,
    /// Where the grant is written.
    pub location: Location,
}

/// Risk classification of an agent (the manifest's `risk:` block).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Risk {
    /// The EU AI Act class (`high-risk`, `not-high-risk`, `limited`, `minimal`).
    pub eu_ai_act: Option<String>,
    /// The EU AI Act Annex III area and point the use falls under (`5(b)`).
    pub annex_iii: Option<AnnexIii>,
    /// Why an agent is not high-risk (EU AI Act Art. 6(3)), as its owner states it.
    pub not_high_risk_reason: Option<String>,
    /// The intended purpose (EU AI Act Art. 3(12)), when it says more than `purpose`.
    pub intended_purpose: Option<String>,
    /// Whether the agent supports a critical or important function under DORA.
    pub dora_critical: bool,
    /// The critical or important function it supports (DORA Art. 28, register of information).
    pub critical_function: Option<String>,
    /// The human oversight measures in place (EU AI Act Art. 14), in words.
    pub oversight: Vec<String>,
    /// Where the `risk:` block is written; `None` when the manifest has none.
    #[serde(skip)]
    pub location: Option<Location>,
}

/// An EU AI Act Annex III area (1–8) and, where the area has them, its point.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AnnexIii {
    /// The area, 1 to 8 (5: access to essential private and public services).
    pub area: u8,
    /// The point's letter within the area (`b`), absent for area 2.
    pub point: Option<char>,
}

/// How many lettered points each Annex III area has (area 2 has none).
const ANNEX_III_POINTS: [u8; 8] = [3, 0, 4, 2, 4, 5, 4, 2];

impl AnnexIii {
    /// Parses `5(b)` (or `2` for the one area without points).
    pub fn parse(text: &str) -> Result<AnnexIii, String> {
        let text = text.trim();
        let (area, point) = match text.split_once('(') {
            Some((area, rest)) => {
                let letter = rest
                    .strip_suffix(')')
                    .filter(|l| l.len() == 1)
                    .and_then(|l| l.chars().next())
                    .filter(char::is_ascii_lowercase)
                    .ok_or_else(|| format!("`{text}` is not an Annex III point such as `5(b)`"))?;
                (area, Some(letter))
            }
            None => (text, None),
        };
        let area: u8 = area
            .parse()
            .ok()
            .filter(|a| (1..=8).contains(a))
            .ok_or_else(|| format!("`{text}`: the Annex III area is a number from 1 to 8"))?;
        let points = ANNEX_III_POINTS[usize::from(area - 1)];
        match point {
            None if points > 0 => Err(format!(
                "`{text}`: Annex III area {area} has points a to {}: name one, as in `{area}(a)`",
                char::from(b'a' + points - 1)
            )),
            Some(p) if points == 0 => Err(format!(
                "`{text}`: Annex III area {area} has no lettered points (`{p}`): write `{area}`"
            )),
            Some(p) if (p as u32) >= u32::from(b'a' + points) => Err(format!(
                "`{text}`: Annex III area {area} has points a to {}",
                char::from(b'a' + points - 1)
            )),
            _ => Ok(AnnexIii { area, point }),
        }
    }
}

impl std::fmt::Display for AnnexIii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.point {
            Some(p) => write!(f, "{}({p})", self.area),
            None => write!(f, "{}", self.area),
        }
    }
}

/// The `risk:` keys a manifest may hold.
const RISK_FIELDS: &[&str] = &[
    "eu_ai_act",
    "annex_iii",
    "not_high_risk_reason",
    "intended_purpose",
    "dora_critical",
    "critical_function",
    "oversight",
];

/// Action budgets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Budgets {
    /// Allowed actions per session (per agent instance and session id).
    pub per_session: Option<u64>,
    /// Allowed actions per hour, across all instances of the agent.
    pub per_hour: Option<u64>,
    /// Model tokens (prompt and completion) per session, through the LLM proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_session: Option<u64>,
    /// Model tokens per hour, across all instances of the agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_hour: Option<u64>,
}

/// A parsed, checked agent manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The agent's name.
    pub name: AgentName,
    /// Who answers for the agent.
    pub owner: String,
    /// What the agent is for.
    pub purpose: String,
    /// Its risk classification.
    pub risk: Risk,
    /// Groups the agent belongs to (`Warden::Group` parents in Cedar).
    pub groups: Vec<String>,
    /// Its grants.
    pub grants: Vec<Grant>,
    /// Data classes it may receive in results.
    pub may_read: Vec<String>,
    /// Its budgets.
    pub budgets: Budgets,
    /// The MCP requests a tool server may send to this agent's client
    /// (`sampling`, `elicitation`, `roots`); the others are refused by the MCP
    /// gateway, and hidden from the server in the client's capabilities.
    pub client_features: Vec<String>,
    /// The file it came from, as named in messages.
    pub file: String,
    /// The YAML source.
    pub source: String,
}

const TOP_FIELDS: &[&str] = &[
    "name", "owner", "purpose", "risk", "groups", "tools", "data", "budgets", "mcp",
];

/// The server-to-client MCP features a manifest can allow under
/// `mcp.client_features`.
pub const CLIENT_FEATURES: &[&str] = &["sampling", "elicitation", "roots"];

/// Pseudo-tools naming MCP methods other than `tools/call` that Warden
/// decides: a manifest grants them like tools (`resources/read: read`).
pub const MCP_METHOD_TOOLS: &[&str] = &["resources/read", "prompts/get"];
const EU_AI_ACT: &[&str] = &[
    "high-risk",
    "not-high-risk",
    "limited",
    "minimal",
    "prohibited",
];
const MANIFEST_MAX_BYTES: usize = 256 * 1024;

/// How deep collections may nest in a manifest. The YAML parser recurses
/// once per level and has no limit for block collections: a line of 1,000
/// `- ` overflowed a 2 MiB thread stack (found by fuzzing). Real manifests
/// nest a handful of levels.
const MANIFEST_MAX_NESTING: usize = 64;

/// The first line (1-based) where collections may nest deeper than
/// [`MANIFEST_MAX_NESTING`], checked before the YAML parser runs. An upper
/// bound: the indentation levels open above the line, plus the block
/// indicators (`- `, `? `, `: `) on it, plus the open flow brackets.
fn too_deep(source: &str) -> Option<usize> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    for (n, line) in source.lines().enumerate() {
        let body = line.trim_start_matches([' ', '\t']);
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = line.len() - body.len();
        while indents.last().is_some_and(|&top| top >= indent) {
            indents.pop();
        }
        indents.push(indent);
        let bytes = body.as_bytes();
        let mut inline = 0usize;
        for (k, &b) in bytes.iter().enumerate() {
            let blank_after = bytes.get(k + 1).is_none_or(|c| matches!(c, b' ' | b'\t'));
            match b {
                b'[' | b'{' => flow += 1,
                b']' | b'}' => flow = flow.saturating_sub(1),
                b'-' | b'?' | b':' if blank_after => inline += 1,
                _ => {}
            }
        }
        if indents.len() + inline + flow > MANIFEST_MAX_NESTING {
            return Some(n + 1);
        }
    }
    None
}

struct Ctx<'a> {
    file: &'a str,
    diags: Diagnostics,
}

impl Ctx<'_> {
    fn loc(&self, span: &marked_yaml::Span) -> Location {
        span.start().map_or(Location::new(self.file, 0, 0), |m| {
            Location::new(self.file, m.line(), m.column())
        })
    }

    fn err(&mut self, span: &marked_yaml::Span, field: &str, message: impl Into<String>) {
        let loc = self.loc(span);
        self.diags.push(loc, Some(field.to_owned()), message);
    }

    fn scalar<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n MarkedScalarNode> {
        match node {
            Node::Scalar(s) => Some(s),
            other => {
                self.err(other.span(), field, "expected a single value");
                None
            }
        }
    }

    fn mapping<'n>(&mut self, node: &'n Node, field: &str) -> Option<&'n MarkedMappingNode> {
        match node {
            Node::Mapping(m) => Some(m),
            other => {
                self.err(other.span(), field, "expected a mapping of keys to values");
                None
            }
        }
    }

    fn strings(&mut self, node: &Node, field: &str) -> Vec<String> {
        match node {
            Node::Sequence(seq) => seq
                .iter()
                .filter_map(|n| self.scalar(n, field).map(|s| s.as_str().to_owned()))
                .collect(),
            other => {
                self.err(other.span(), field, "expected a list, as in `[a, b]`");
                Vec::new()
            }
        }
    }

    fn unknown_keys(&mut self, map: &MarkedMappingNode, prefix: &str, known: &[&str]) {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                let field = join(prefix, key.as_str());
                let hint = did_you_mean(key.as_str(), known.iter().copied());
                self.err(
                    key.span(),
                    &field,
                    format!(
                        "unknown field `{}`{hint}: expected one of {}",
                        key.as_str(),
                        known.join(", ")
                    ),
                );
            }
        }
    }

    fn u64_field(&mut self, map: &MarkedMappingNode, key: &str, prefix: &str) -> Option<u64> {
        let node = map.get_node(key)?;
        let field = join(prefix, key);
        let s = self.scalar(node, &field)?;
        match s.as_str().parse::<u64>() {
            Ok(v) if v > 0 => Some(v),
            _ => {
                self.err(
                    s.span(),
                    &field,
                    format!("`{}` is not a positive whole number", s.as_str()),
                );
                None
            }
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn load_error(file: &str, e: &LoadError) -> PolicyError {
    let (marker, message) = match e {
        LoadError::TopLevelMustBeMapping(m) => {
            (Some(*m), "a manifest must be a YAML mapping".to_owned())
        }
        LoadError::TopLevelMustBeSequence(m) => (Some(*m), "expected a sequence".to_owned()),
        LoadError::UnexpectedAnchor(m) => (
            Some(*m),
            "YAML anchors are not supported in manifests".to_owned(),
        ),
        LoadError::MappingKeyMustBeScalar(m) => (Some(*m), "keys must be plain names".to_owned()),
        LoadError::UnexpectedTag(m) => (
            Some(*m),
            "YAML tags are not supported in manifests".to_owned(),
        ),
        LoadError::ScanError(m, e) => (Some(*m), format!("YAML syntax: {}", e.info())),
        LoadError::DuplicateKey(inner) => (
            inner.key.span().start().copied(),
            format!("duplicate key `{}`", inner.key.as_str()),
        ),
    };
    let location = marker.map_or(Location::new(file, 0, 0), |m| {
        Location::new(file, m.line(), m.column())
    });
    PolicyError::Invalid(vec![crate::error::Diagnostic::new(location, None, message)])
}

impl Manifest {
    /// Parses the manifest `source` read from `file`, checking it against `config`.
    pub fn parse(file: &str, source: &str, config: &Config) -> Result<Manifest, PolicyError> {
        if source.len() > MANIFEST_MAX_BYTES {
            return Err(PolicyError::Invalid(vec![crate::error::Diagnostic::new(
                Location::new(file, 0, 0),
                None,
                format!(
                    "manifest is {} bytes: the limit is {MANIFEST_MAX_BYTES}",
                    source.len()
                ),
            )]));
        }
        if let Some(line) = too_deep(source) {
            return Err(PolicyError::Invalid(vec![crate::error::Diagnostic::new(
                Location::new(file, line, 0),
                None,
                format!(
                    "collections nest deeper than {MANIFEST_MAX_NESTING} levels: a manifest nests a handful"
                ),
            )]));
        }
        let options = LoaderOptions::default()
            .error_on_duplicate_keys(true)
            .prevent_coercion(true);
        let root = marked_yaml::parse_yaml_with_options(0, source, options)
            .map_err(|e| load_error(file, &e))?;
        let mut cx = Ctx {
            file,
            diags: Diagnostics::default(),
        };
        let Some(map) = cx.mapping(&root, "") else {
            return cx
                .diags
                .into_result(None)
                .and_then(|_: Option<()>| unreachable_invalid(file));
        };
        cx.unknown_keys(map, "", TOP_FIELDS);
        let root_span = root.span();

        let required = |cx: &mut Ctx<'_>, key: &str| -> Option<MarkedScalarNode> {
            match map.get_node(key) {
                Some(node) => {
                    let s = cx.scalar(node, key)?;
                    if s.as_str().trim().is_empty() {
                        cx.err(s.span(), key, format!("`{key}` must not be empty"));
                        return None;
                    }
                    Some(s.clone())
                }
                None => {
                    let file = cx.file;
                    cx.diags.push(
                        Location::new(file, 1, 1),
                        Some(key.to_owned()),
                        format!("missing `{key}`: every manifest names its {key}"),
                    );
                    None
                }
            }
        };
        let name_node = required(&mut cx, "name");
        let owner = required(&mut cx, "owner");
        let purpose = required(&mut cx, "purpose");
        let name = name_node
            .as_ref()
            .and_then(|n| match AgentName::new(n.as_str()) {
                Ok(name) => Some(name),
                Err(e) => {
                    cx.err(n.span(), "name", e.to_string());
                    None
                }
            });

        let mut risk = Risk::default();
        if let Some(node) = map.get_node("risk")
            && let Some(r) = cx.mapping(node, "risk")
        {
            cx.unknown_keys(r, "risk", RISK_FIELDS);
            risk.location = Some(cx.loc(node.span()));
            if let Some(s) = r
                .get_node("annex_iii")
                .and_then(|n| cx.scalar(n, "risk.annex_iii"))
            {
                match AnnexIii::parse(s.as_str()) {
                    Ok(a) => risk.annex_iii = Some(a),
                    Err(e) => cx.err(s.span(), "risk.annex_iii", e),
                }
            }
            for (key, slot) in [
                ("not_high_risk_reason", &mut risk.not_high_risk_reason),
                ("intended_purpose", &mut risk.intended_purpose),
                ("critical_function", &mut risk.critical_function),
            ] {
                let field = format!("risk.{key}");
                if let Some(s) = r.get_node(key).and_then(|n| cx.scalar(n, &field)) {
                    if s.as_str().trim().is_empty() {
                        cx.err(s.span(), &field, format!("`{field}` must not be empty"));
                    } else {
                        *slot = Some(s.as_str().trim().to_owned());
                    }
                }
            }
            if let Some(n) = r.get_node("oversight") {
                risk.oversight = cx.strings(n, "risk.oversight");
            }
            if let Some(s) = r
                .get_node("eu_ai_act")
                .and_then(|n| cx.scalar(n, "risk.eu_ai_act"))
            {
                if EU_AI_ACT.contains(&s.as_str()) {
                    risk.eu_ai_act = Some(s.as_str().to_owned());
                } else {
                    cx.err(
                        s.span(),
                        "risk.eu_ai_act",
                        format!(
                            "unknown EU AI Act class `{}`: expected one of {}",
                            s.as_str(),
                            EU_AI_ACT.join(", ")
                        ),
                    );
                }
            }
            if let Some(s) = r
                .get_node("dora_critical")
                .and_then(|n| cx.scalar(n, "risk.dora_critical"))
            {
                match s.as_str() {
                    "true" => risk.dora_critical = true,
                    "false" => risk.dora_critical = false,
                    other => cx.err(
                        s.span(),
                        "risk.dora_critical",
                        format!("`{other}` is not `true` or `false`"),
                    ),
                }
            }
        }

        let groups = map
            .get_node("groups")
            .map(|n| cx.strings(n, "groups"))
            .unwrap_or_default();
        for g in &groups {
            if !valid_name(g) {
                cx.err(
                    map.get_node("groups").map_or(root_span, Node::span),
                    "groups",
                    format!("group `{g}` may hold only lowercase letters, digits, `-` and `_`"),
                );
            }
        }

        let mut may_read = Vec::new();
        if let Some(node) = map.get_node("data")
            && let Some(d) = cx.mapping(node, "data")
        {
            cx.unknown_keys(d, "data", &["may_read"]);
            if let Some(n) = d.get_node("may_read") {
                may_read = cx.strings(n, "data.may_read");
                for class in &may_read {
                    if !config.classes.iter().any(|c| c == class) {
                        let hint = did_you_mean(class, config.classes.iter().map(String::as_str));
                        cx.err(
                            n.span(),
                            "data.may_read",
                            format!("unknown data class `{class}`{hint}"),
                        );
                    }
                }
            }
        }

        let mut budgets = Budgets::default();
        if let Some(node) = map.get_node("budgets")
            && let Some(b) = cx.mapping(node, "budgets")
        {
            cx.unknown_keys(
                b,
                "budgets",
                &[
                    "per_session",
                    "per_hour",
                    "tokens_per_session",
                    "tokens_per_hour",
                ],
            );
            budgets.per_session = cx.u64_field(b, "per_session", "budgets");
            budgets.per_hour = cx.u64_field(b, "per_hour", "budgets");
            budgets.tokens_per_session = cx.u64_field(b, "tokens_per_session", "budgets");
            budgets.tokens_per_hour = cx.u64_field(b, "tokens_per_hour", "budgets");
        }

        let mut client_features = Vec::new();
        if let Some(node) = map.get_node("mcp")
            && let Some(m) = cx.mapping(node, "mcp")
        {
            cx.unknown_keys(m, "mcp", &["client_features"]);
            if let Some(n) = m.get_node("client_features") {
                client_features = cx.strings(n, "mcp.client_features");
                for feature in &client_features {
                    if !CLIENT_FEATURES.contains(&feature.as_str()) {
                        cx.err(
                            n.span(),
                            "mcp.client_features",
                            format!(
                                "unknown MCP client feature `{feature}`: expected some of {}",
                                CLIENT_FEATURES.join(", ")
                            ),
                        );
                    }
                }
            }
        }

        let grants = match map.get_node("tools") {
            Some(node) => parse_tools(&mut cx, node, config),
            None => {
                cx.diags.push(
                    Location::new(file, 1, 1),
                    Some("tools".into()),
                    "missing `tools`: a manifest grants at least one tool",
                );
                Vec::new()
            }
        };

        let (Some(name), Some(owner), Some(purpose)) = (name, owner, purpose) else {
            return cx
                .diags
                .into_result(())
                .and_then(|()| unreachable_invalid(file));
        };
        let manifest = Manifest {
            name,
            owner: owner.as_str().to_owned(),
            purpose: purpose.as_str().to_owned(),
            risk,
            groups,
            grants,
            may_read,
            budgets,
            client_features,
            file: file.to_owned(),
            source: source.to_owned(),
        };
        cx.diags.into_result(manifest)
    }
}

// Reached only when a required field failed, which always records a diagnostic.
fn unreachable_invalid<T>(file: &str) -> Result<T, PolicyError> {
    Err(PolicyError::Invalid(vec![crate::error::Diagnostic::new(
        Location::new(file, 0, 0),
        None,
        "manifest is incomplete",
    )]))
}

fn parse_tools(cx: &mut Ctx<'_>, node: &Node, config: &Config) -> Vec<Grant> {
    let mut grants = Vec::new();
    let Some(servers) = cx.mapping(node, "tools") else {
        return grants;
    };
    for (server_key, tools_node) in servers.iter() {
        let server = server_key.as_str();
        let field = format!("tools.{server}");
        let Some(server_config) = config.servers.get(server) else {
            let hint = did_you_mean(server, config.servers.keys().map(String::as_str));
            cx.err(
                server_key.span(),
                &field,
                format!(
                    "unknown tool server `{server}`{hint}: tool servers are declared in {}",
                    config.file
                ),
            );
            continue;
        };
        let Some(tools) = cx.mapping(tools_node, &field) else {
            continue;
        };
        for (tool_key, spec) in tools.iter() {
            let tool = tool_key.as_str();
            let field = format!("tools.{server}.{tool}");
            let location = cx.loc(tool_key.span());
            if !MCP_METHOD_TOOLS.contains(&tool)
                && (tool.is_empty()
                    || tool.len() > 128
                    || tool
                        .chars()
                        .any(|c| c == '/' || c.is_whitespace() || c.is_control()))
            {
                // `/` would make `Warden::Tool::"<server>/<tool>"` ambiguous
                // (the MCP method names have a fixed meaning).
                cx.err(
                    tool_key.span(),
                    &field,
                    format!("tool name `{tool}` must be 1 to 128 characters without `/`, spaces or control characters (or one of {})", MCP_METHOD_TOOLS.join(", ")),
                );
                continue;
            }
            let declared = server_config.tools.get(tool);
            let mut redact = Vec::new();
            let (operation, when, approval) = match spec {
                Node::Scalar(op) => (parse_operation(cx, op, &field), None, None),
                Node::Mapping(m) => {
                    cx.unknown_keys(m, &field, &["operation", "when", "approval", "redact"]);
                    if let Some(n) = m.get_node("redact") {
                        let f = format!("{field}.redact");
                        if let Some(map) = cx.mapping(n, &f) {
                            for (class, action) in map.iter() {
                                let Some(action) = cx.scalar(action, &f) else {
                                    continue;
                                };
                                match crate::redaction::check(
                                    class.as_str(),
                                    action.as_str(),
                                    &config.classes,
                                ) {
                                    Ok(r) => redact.push(r),
                                    Err(e) => cx.err(class.span(), &f, e),
                                }
                            }
                        }
                    }
                    let operation = match m.get_node("operation") {
                        Some(n) => cx
                            .scalar(n, &format!("{field}.operation"))
                            .and_then(|s| parse_operation(cx, s, &format!("{field}.operation"))),
                        None => match declared.and_then(|d| d.operation) {
                            Some(op) => Some(op),
                            None => {
                                cx.err(tool_key.span(), &format!("{field}.operation"), "missing `operation`: expected one of read, write, send, delete, execute");
                                None
                            }
                        },
                    };
                    let cond = |cx: &mut Ctx<'_>, key: &str| {
                        let n = m.get_node(key)?;
                        let f = format!("{field}.{key}");
                        let s = cx.scalar(n, &f)?;
                        Some(Condition {
                            text: s.as_str().to_owned(),
                            location: cx.loc(s.span()),
                            field: f,
                        })
                    };
                    (operation, cond(cx, "when"), cond(cx, "approval"))
                }
                Node::Sequence(s) => {
                    cx.err(s.span(), &field, "expected an operation (`read`) or a mapping with `operation`, `when`, `approval`, `redact`");
                    (None, None, None)
                }
            };
            if let (Some(op), Some(declared_op)) = (operation, declared.and_then(|d| d.operation))
                && op != declared_op
            {
                cx.err(
                    tool_key.span(),
                    &field,
                    format!(
                        "tool `{server}/{tool}` is declared `{declared_op}` in {}, not `{op}`",
                        config.file
                    ),
                );
            }
            if let Some(operation) = operation {
                grants.push(Grant {
                    server: server.to_owned(),
                    tool: tool.to_owned(),
                    operation,
                    when,
                    approval,
                    redact,
                    location,
                });
            }
        }
    }
    grants
}

fn parse_operation(cx: &mut Ctx<'_>, s: &MarkedScalarNode, field: &str) -> Option<Operation> {
    match s.as_str().parse::<Operation>() {
        Ok(op) => Some(op),
        Err(e) => {
            cx.err(s.span(), field, e.to_string());
            None
        }
    }
}
