//! `warden.toml`: tool servers, named lists, and where manifests and policies live.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use warden_types::{Operation, TrustDomain};

use crate::error::{Diagnostics, Location, PolicyError};

/// The data classes Warden knows out of the box. Custom ones are declared in
/// `[classes] custom = [...]`.
pub const BUILTIN_CLASSES: &[&str] = &[
    "pii",
    "pii.contact",
    "pii.identity",
    "pii.address",
    "pii.dob",
    "financial",
    "financial.card",
    "financial.account",
    "health",
    "credentials",
    "privileged",
];

/// Where a tool server sends data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Destination {
    /// Inside the organisation.
    Internal,
    /// Outside the organisation.
    External,
}

impl Destination {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Destination::Internal => "internal",
            Destination::External => "external",
        }
    }
}

/// How Warden reaches a tool server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Warden (or `warden mcp wrap`) starts the server and speaks over stdio.
    Stdio {
        /// The command and its arguments.
        command: Vec<String>,
    },
    /// Streamable HTTP at a URL.
    Http {
        /// The upstream URL.
        url: url::Url,
    },
    /// No transport: the agent calls the tool itself and asks Warden first
    /// through the decision API.
    Api,
}

/// A declared tool of a server.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolConfig {
    /// The operation kind, if the configuration fixes it.
    pub operation: Option<Operation>,
    /// A destination overriding the server's.
    pub destination: Option<Destination>,
    /// Cleared classes overriding the server's.
    pub cleared: Option<Vec<String>>,
    /// The JSON Schema of the tool's input, if known.
    pub input_schema: Option<serde_json::Value>,
    /// The arguments naming where the data goes (`to`, `cc`, `bcc`, a URL,
    /// share targets): strings, lists or objects of e-mail addresses, URLs
    /// or host names. The destination is `internal` only when every address
    /// they name is under one of `[organisation] domains`, else `external`;
    /// when none of them is present, the tool's own destination applies.
    pub destination_arguments: Vec<String>,
    /// The classes cleared when a destination argument makes the destination
    /// external (default: none).
    pub external_cleared: Vec<String>,
    /// Where the tool is declared.
    pub location: Location,
}

/// A tool server, declared once.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// The server's name, as manifests use it.
    pub name: String,
    /// How it is reached.
    pub transport: Transport,
    /// Where it sends data.
    pub destination: Destination,
    /// The classes it is cleared to receive.
    pub cleared: Vec<String>,
    /// Its declared tools.
    pub tools: BTreeMap<String, ToolConfig>,
    /// Whether path arguments are judged after symbolic links are resolved
    /// on this host (`resolve_paths = true`): for a server that sees the
    /// gateway's file system (a hosted `stdio` server). `context.paths.X` is
    /// then the real path, so a link under an allowed folder that points
    /// outside it is judged where it leads.
    pub resolve_paths: bool,
    /// Tool definitions pinned here (`pins = { read_file = "sha256:…" }`):
    /// tool name → fingerprint. Empty: the server's first tool list is
    /// pinned as Warden sees it (trust on first use); otherwise a tool whose
    /// definition does not match its pin, or that has none, is withheld.
    pub pins: BTreeMap<String, String>,
    /// Where it is declared.
    pub location: Location,
}

/// The gateway's own settings (`[serve]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// Data-plane listen address.
    pub listen: String,
    /// Admin-plane listen address.
    pub admin_listen: String,
    /// The audience JWT-SVIDs must carry.
    pub audience: String,
    /// How long a `needs_approval` decision waits for a human, in seconds.
    pub approval_timeout_secs: u64,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// How long an idle session's state is kept, in seconds.
    pub session_idle_secs: u64,
    /// Live sessions kept in memory at most; a new one beyond is denied.
    pub max_sessions: usize,
    /// Live sessions of one agent at most (all its instances), so that one
    /// agent cannot lock the others out; a new one beyond is denied.
    pub max_sessions_per_agent: usize,
    /// Approvals one agent (all its instances) may have waiting for a
    /// person at once; a request beyond is denied, so that one agent cannot
    /// bury the approvers' queue.
    pub max_pending_approvals_per_agent: u64,
    /// Open connections per plane at most; one more is closed at once.
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers (also how long
    /// an idle keep-alive connection stays open).
    pub header_read_timeout_secs: u64,
    /// Seconds a request may take, its body read included (not MCP, which
    /// streams and waits on its own clock); answered 408 beyond.
    pub request_timeout_secs: u64,
    /// Make a new JWT signing key current after this many days (0: only on
    /// demand, `warden keys rotate`); the retired key verifies until every
    /// token it signed has expired.
    pub signing_key_rotation_days: u64,
    /// Make a new X.509 CA current after this many days (0: only on demand,
    /// `warden keys rotate --ca`); the retired CA stays trusted until every
    /// X.509-SVID it issued has expired.
    pub ca_rotation_days: u64,
    /// TLS on the data plane (`[serve.tls]`); plain HTTP without it.
    pub tls: Option<TlsConfig>,
}

/// Whether the data plane asks clients for a certificate (`client_auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No client certificates: agents authenticate with JWT-SVIDs only.
    None,
    /// A client certificate (an X.509-SVID) is asked for; a client without
    /// one may still use a JWT-SVID. A certificate presented must verify.
    #[default]
    Optional,
    /// Every client must present an X.509-SVID that verifies.
    Required,
}

/// `[serve.tls]`: the data plane's certificate and client authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The server certificate chain (PEM), resolved against the config's
    /// directory.
    pub cert: PathBuf,
    /// The server's private key (PEM: PKCS#8, SEC1 or PKCS#1).
    pub key: PathBuf,
    /// Whether clients present X.509-SVIDs.
    pub client_auth: ClientAuth,
    /// The CA certificates (PEM bundle file) that client certificates must
    /// chain to; `None`: Warden's own X.509 CA.
    pub client_ca: Option<PathBuf>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:7700".into(),
            admin_listen: "127.0.0.1:7701".into(),
            audience: "warden".into(),
            approval_timeout_secs: 900,
            max_body_bytes: 1024 * 1024,
            session_idle_secs: 3600,
            max_sessions: crate::engine::DEFAULT_MAX_SESSIONS,
            max_sessions_per_agent: crate::engine::DEFAULT_MAX_SESSIONS / 10,
            max_pending_approvals_per_agent: 50,
            max_connections: 4096,
            header_read_timeout_secs: 10,
            request_timeout_secs: 90,
            signing_key_rotation_days: 30,
            ca_rotation_days: 30,
            tls: None,
        }
    }
}

/// The whole `warden.toml`, lowered and checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (for messages), or `<embedded>`.
    pub file: String,
    /// The directory that relative paths are resolved against.
    pub base_dir: PathBuf,
    /// The SPIFFE trust domain.
    pub trust_domain: TrustDomain,
    /// Where agent manifests are read from.
    pub agents_dir: PathBuf,
    /// Where org-wide Cedar policies are read from.
    pub policies_dir: PathBuf,
    /// Tool servers by name.
    pub servers: BTreeMap<String, ServerConfig>,
    /// Named lists.
    pub lists: BTreeMap<String, Vec<String>>,
    /// All known data classes (built-in and custom).
    pub classes: Vec<String>,
    /// Gateway settings.
    pub serve: ServeConfig,
    /// Audit log settings.
    pub audit: AuditConfig,
    /// The MCP gateway's settings (`[mcp]`).
    pub mcp: McpConfig,
    /// `[alerts]`: alert rules and webhooks.
    pub alerts: crate::alerts::AlertsConfig,
    /// The organisation's own domains (`[organisation] domains`), canonical
    /// (see `warden-address`): addresses and hosts under them are internal.
    pub organisation_domains: Vec<warden_address::Domain>,
    /// How data is classified (`[classify]`).
    pub classify: ClassifySettings,
    /// The classes whose session-wide taint the flow rules enforce
    /// (`[flow] session_taint`; `None`: every class). Taint applies only to
    /// operations that can carry data out (`send`, `write`, `execute`);
    /// values carried by an argument are checked whatever this says.
    pub session_taint: Option<Vec<String>>,
    /// Where OpenTelemetry traces go (`[telemetry]`); `None`: no tracing.
    pub telemetry: Option<TelemetryConfig>,
    /// Model providers for the LLM proxy (`[providers]`), by name; each is
    /// also in `servers`, with the one tool `chat`.
    pub providers: BTreeMap<String, crate::providers::ProviderConfig>,
    /// Federated trust domains (`[[federation]]`) and their mapping rules.
    pub federation: Vec<crate::federation::FederationConfig>,
}

/// OpenTelemetry export (`[telemetry]`): one span per governed action, sent
/// over OTLP/HTTP (protobuf) to `{otlp_endpoint}/v1/traces`.
#[derive(Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// The OTLP/HTTP base URL (`http://127.0.0.1:4318`).
    pub otlp_endpoint: url::Url,
    /// The `service.name` resource attribute (default `warden`).
    pub service_name: String,
    /// Headers sent with every export request (an API key, a tenant). Their
    /// values never appear in `Debug` output.
    pub headers: BTreeMap<String, String>,
}

impl std::fmt::Debug for TelemetryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryConfig")
            .field("otlp_endpoint", &self.otlp_endpoint.as_str())
            .field("service_name", &self.service_name)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// How data is classified (`[classify]`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassifySettings {
    /// Built-in detector types turned off (`"ip"`, `"phone"`, …).
    pub disabled: Vec<String>,
    /// Findings below this confidence are dropped (default 0.5).
    pub min_confidence: Option<f32>,
    /// The organisation's own detectors (`[[classify.detectors]]`).
    pub detectors: Vec<DetectorSettings>,
}

/// A detector from configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorSettings {
    /// The finding type it reports.
    pub name: String,
    /// The class its findings carry (a built-in or `[classes] custom` one).
    pub class: String,
    /// The regular expression (ASCII classes; see `warden-classify`).
    pub pattern: String,
    /// `none`, `luhn`, `mod97`, `aba` or `high_entropy`.
    pub validator: String,
    /// Words of which one must be near a match (or be its JSON key).
    pub context: Vec<String>,
    /// The findings' confidence (default 0.9).
    pub confidence: f32,
    /// Where it is declared.
    pub location: Location,
}

/// The validators a configured detector can name.
pub const VALIDATORS: &[&str] = &["none", "luhn", "mod97", "aba", "high_entropy"];

/// The MCP gateway's settings (`[mcp]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpConfig {
    /// How long a `tools/call` that needs approval waits for a human before it
    /// is denied, in seconds.
    pub approval_wait_secs: u64,
    /// How long Warden waits for a tool server's answer to one request, in
    /// seconds; then the client gets a JSON-RPC error.
    pub call_timeout_secs: u64,
    /// `Origin` values accepted at `/mcp/{server}` besides the data plane's
    /// own (`http://127.0.0.1:<port>`, `http://localhost:<port>`).
    pub allowed_origins: Vec<String>,
    /// `Host` values accepted at `/mcp/{server}` besides `127.0.0.1`,
    /// `localhost` and `[::1]` (with any port).
    pub allowed_hosts: Vec<String>,
    /// Authorization servers named in the protected-resource metadata.
    pub authorization_servers: Vec<String>,
    /// Stdio servers the gateway runs at once for `/mcp/{server}` sessions
    /// (one process per session); a new session beyond is refused.
    pub max_hosted_servers: usize,
    /// Hosted server processes one agent may run at once (all its instances).
    pub max_hosted_servers_per_agent: usize,
    /// A hosted server process idle this long is stopped, in seconds.
    pub hosted_idle_secs: u64,
}

impl Default for McpConfig {
    fn default() -> Self {
        Self {
            approval_wait_secs: 120,
            call_timeout_secs: 300,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            authorization_servers: Vec::new(),
            max_hosted_servers: 32,
            max_hosted_servers_per_agent: 4,
            hosted_idle_secs: 600,
        }
    }
}

/// When a decision's audit record must be durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// A decision is answered only after its record is on disk (group commit).
    Sync,
    /// Records are written in the background; a crash can lose the last batch.
    Batched,
}

/// The audit log's settings (`[audit]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// `sync` (default) or `batched`.
    pub durability: Durability,
    /// A checkpoint is signed every this many records…
    pub checkpoint_every: u64,
    /// …or every this many seconds when records were added.
    pub checkpoint_interval_secs: u64,
    /// Where checkpoints are published (append-only for the gateway); relative
    /// paths are resolved against the data directory. Default `witness`.
    pub witness_dir: String,
    /// How many days the deployer keeps the audit log (`retain_days`), as
    /// the compliance reports state it; `None`: not set (Warden never
    /// deletes records, only payload keys on request). With any agent
    /// classified `high-risk`, fewer than [`MIN_HIGH_RISK_RETAIN_DAYS`] is
    /// refused (EU AI Act Art. 26(6), Art. 19).
    pub retain_days: Option<u32>,
    /// Where `retain_days` is written, for messages.
    pub retain_days_location: Location,
}

/// The shortest audit-log retention allowed while an agent is classified
/// `high-risk`: six months (EU AI Act Art. 26(6) for deployers, Art. 19 for
/// providers), counted as 183 days.
pub const MIN_HIGH_RISK_RETAIN_DAYS: u32 = 183;

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            durability: Durability::Sync,
            checkpoint_every: 1000,
            checkpoint_interval_secs: 10,
            witness_dir: "witness".into(),
            retain_days: None,
            retain_days_location: Location::new("", 0, 0),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    trust_domain: toml::Spanned<String>,
    agents_dir: Option<String>,
    policies_dir: Option<String>,
    #[serde(default)]
    servers: BTreeMap<String, toml::Spanned<RawServer>>,
    #[serde(default)]
    providers: BTreeMap<String, toml::Spanned<crate::providers::RawProvider>>,
    #[serde(default)]
    lists: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    classes: RawClasses,
    #[serde(default)]
    serve: RawServe,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    mcp: RawMcp,
    #[serde(default)]
    organisation: RawOrganisation,
    #[serde(default)]
    classify: RawClassify,
    #[serde(default)]
    flow: RawFlow,
    #[serde(default)]
    alerts: crate::alerts::RawAlerts,
    telemetry: Option<toml::Spanned<RawTelemetry>>,
    #[serde(default)]
    federation: Vec<toml::Spanned<crate::federation::RawFederation>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelemetry {
    otlp_endpoint: String,
    service_name: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    session_taint: Option<toml::Spanned<Vec<String>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawClassify {
    #[serde(default)]
    disabled: Vec<String>,
    min_confidence: Option<f32>,
    #[serde(default)]
    detectors: Vec<toml::Spanned<RawDetector>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetector {
    name: String,
    class: String,
    pattern: String,
    #[serde(default)]
    validator: Option<String>,
    #[serde(default)]
    context: Vec<String>,
    confidence: Option<f32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOrganisation {
    #[serde(default)]
    domains: Vec<toml::Spanned<String>>,
}

/// One argument name or several (`destination_argument = "to"` or
/// `["to", "cc", "bcc"]`).
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMcp {
    approval_wait_secs: Option<u64>,
    call_timeout_secs: Option<u64>,
    allowed_origins: Option<Vec<String>>,
    allowed_hosts: Option<Vec<String>>,
    authorization_servers: Option<Vec<String>>,
    max_hosted_servers: Option<usize>,
    max_hosted_servers_per_agent: Option<usize>,
    hosted_idle_secs: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    durability: Option<Durability>,
    checkpoint_every: Option<u64>,
    checkpoint_interval_secs: Option<u64>,
    witness_dir: Option<String>,
    retain_days: Option<toml::Spanned<u32>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawClasses {
    #[serde(default)]
    custom: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServe {
    listen: Option<String>,
    admin_listen: Option<String>,
    audience: Option<String>,
    approval_timeout_secs: Option<u64>,
    max_body_bytes: Option<usize>,
    session_idle_secs: Option<u64>,
    max_sessions: Option<usize>,
    max_sessions_per_agent: Option<usize>,
    max_pending_approvals_per_agent: Option<u64>,
    max_connections: Option<usize>,
    header_read_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    signing_key_rotation_days: Option<u64>,
    ca_rotation_days: Option<u64>,
    tls: Option<toml::Spanned<RawTls>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    client_auth: Option<toml::Spanned<String>>,
    client_ca: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    transport: toml::Spanned<String>,
    url: Option<toml::Spanned<String>>,
    command: Option<Vec<String>>,
    destination: Destination,
    cleared: Option<toml::Spanned<Vec<String>>>,
    #[serde(default)]
    tools: BTreeMap<String, toml::Spanned<RawTool>>,
    pins: Option<toml::Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    resolve_paths: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTool {
    operation: Option<toml::Spanned<String>>,
    destination: Option<Destination>,
    cleared: Option<toml::Spanned<Vec<String>>>,
    input_schema: Option<toml::Value>,
    destination_argument: Option<OneOrMany>,
    external_cleared: Option<toml::Spanned<Vec<String>>>,
}

/// Whether `text` is a tool fingerprint: `sha256:` and 64 lowercase hex digits.
fn is_fingerprint(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The 1-based line where keys and brackets nest deepest: dots in keys,
/// plus brackets still open. For errors the TOML parser reports without a
/// place (its recursion limit).
fn deepest_line(text: &str) -> usize {
    let (mut best, mut best_line, mut open) = (0usize, 1usize, 0usize);
    for (n, line) in text.lines().enumerate() {
        let mut depth = open;
        for b in line.bytes() {
            match b {
                b'[' | b'{' => {
                    open += 1;
                    depth += 1;
                }
                b']' | b'}' => open = open.saturating_sub(1),
                b'.' => depth += 1,
                _ => {}
            }
        }
        if depth > best {
            (best, best_line) = (depth, n + 1);
        }
    }
    best_line
}

impl Config {
    /// Reads and checks the configuration at `path`.
    pub fn load(path: &Path) -> Result<Config, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        Config::parse(&path.display().to_string(), &text, &base)
    }

    /// Parses configuration text; `file` names it in messages and `base_dir`
    /// anchors relative paths.
    pub fn parse(file: &str, text: &str, base_dir: &Path) -> Result<Config, PolicyError> {
        let at = |offset: usize| {
            let (line, column) = crate::rewrite::line_col(text, offset);
            Location::new(file, line, column)
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            // The parser's recursion limit comes without a span (found by
            // fuzzing: `[a.a.a…]` 1,000 keys deep): name the deepest line.
            let location = e.span().map_or_else(
                || Location::new(file, deepest_line(text), 0),
                |s| at(s.start),
            );
            PolicyError::Invalid(vec![crate::error::Diagnostic::new(
                location,
                None,
                e.message().to_owned(),
            )])
        })?;
        let mut diags = Diagnostics::default();
        let trust_domain = match TrustDomain::new(raw.trust_domain.get_ref().clone()) {
            Ok(td) => td,
            Err(e) => {
                diags.push(
                    at(raw.trust_domain.span().start),
                    Some("trust_domain".into()),
                    e.to_string(),
                );
                TrustDomain::new("invalid.example").map_err(|e| {
                    PolicyError::Invalid(vec![crate::error::Diagnostic::new(
                        Location::new(file, 0, 0),
                        None,
                        e.to_string(),
                    )])
                })?
            }
        };
        let mut classes: Vec<String> = BUILTIN_CLASSES.iter().map(|c| (*c).to_owned()).collect();
        for custom in &raw.classes.custom {
            if !custom.split('.').all(|p| {
                !p.is_empty()
                    && p.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                    })
            }) {
                diags.push(
                    Location::new(file, 0, 0),
                    Some("classes.custom".into()),
                    format!("class `{custom}` must be dotted lowercase words, as in `acme.deal`"),
                );
            }
            classes.push(custom.clone());
        }
        let check_classes =
            |diags: &mut Diagnostics, list: &toml::Spanned<Vec<String>>, field: String| {
                for class in list.get_ref() {
                    if !classes.iter().any(|c| c == class) {
                        let hint =
                            crate::error::did_you_mean(class, classes.iter().map(String::as_str));
                        diags.push(
                            at(list.span().start),
                            Some(field.clone()),
                            format!("unknown data class `{class}`{hint}"),
                        );
                    }
                }
            };
        if let Some(list) = &raw.flow.session_taint {
            check_classes(&mut diags, list, "flow.session_taint".to_owned());
        }
        let session_taint = raw.flow.session_taint.map(toml::Spanned::into_inner);
        let mut servers = BTreeMap::new();
        for (name, spanned) in raw.servers {
            let location = at(spanned.span().start);
            let raw_server = spanned.into_inner();
            let field = format!("servers.{name}");
            if !valid_name(&name) {
                diags.push(
                    location.clone(),
                    Some(field.clone()),
                    format!(
                        "server name `{name}` may hold only lowercase letters, digits, `-` and `_`"
                    ),
                );
            }
            let transport = match raw_server.transport.get_ref().as_str() {
                "http" => match &raw_server.url {
                    Some(u) => match url::Url::parse(u.get_ref()) {
                        Ok(url) => Transport::Http { url },
                        Err(e) => {
                            diags.push(
                                at(u.span().start),
                                Some(format!("{field}.url")),
                                format!("`{}` is not a URL: {e}", u.get_ref()),
                            );
                            Transport::Api
                        }
                    },
                    None => {
                        diags.push(
                            location.clone(),
                            Some(format!("{field}.url")),
                            "an `http` server needs `url`",
                        );
                        Transport::Api
                    }
                },
                "stdio" => match &raw_server.command {
                    Some(c) if !c.is_empty() => Transport::Stdio { command: c.clone() },
                    _ => {
                        diags.push(
                            location.clone(),
                            Some(format!("{field}.command")),
                            "a `stdio` server needs a non-empty `command`",
                        );
                        Transport::Api
                    }
                },
                "api" => Transport::Api,
                other => {
                    diags.push(
                        at(raw_server.transport.span().start),
                        Some(format!("{field}.transport")),
                        format!("unknown transport `{other}`: expected `stdio`, `http` or `api`"),
                    );
                    Transport::Api
                }
            };
            if let Some(cleared) = &raw_server.cleared {
                check_classes(&mut diags, cleared, format!("{field}.cleared"));
            }
            let mut tools = BTreeMap::new();
            for (tool_name, raw_tool) in raw_server.tools {
                let tool_location = at(raw_tool.span().start);
                let raw_tool = raw_tool.into_inner();
                let tool_field = format!("{field}.tools.{tool_name}");
                let operation = raw_tool.operation.as_ref().and_then(|op| {
                    match op.get_ref().parse::<Operation>() {
                        Ok(op) => Some(op),
                        Err(e) => {
                            diags.push(
                                at(op.span().start),
                                Some(format!("{tool_field}.operation")),
                                e.to_string(),
                            );
                            None
                        }
                    }
                });
                if let Some(cleared) = &raw_tool.cleared {
                    check_classes(&mut diags, cleared, format!("{tool_field}.cleared"));
                }
                if let Some(cleared) = &raw_tool.external_cleared {
                    check_classes(
                        &mut diags,
                        cleared,
                        format!("{tool_field}.external_cleared"),
                    );
                    if raw_tool.destination_argument.is_none() {
                        diags.push(
                            at(cleared.span().start),
                            Some(format!("{tool_field}.external_cleared")),
                            "`external_cleared` needs `destination_argument` (it applies when that argument makes the destination external)",
                        );
                    }
                }
                let input_schema = raw_tool.input_schema.map(|v| toml_to_json(&v));
                tools.insert(
                    tool_name,
                    ToolConfig {
                        operation,
                        destination: raw_tool.destination,
                        cleared: raw_tool.cleared.map(toml::Spanned::into_inner),
                        input_schema,
                        destination_arguments: raw_tool
                            .destination_argument
                            .map(OneOrMany::into_vec)
                            .unwrap_or_default(),
                        external_cleared: raw_tool
                            .external_cleared
                            .map(toml::Spanned::into_inner)
                            .unwrap_or_default(),
                        location: tool_location,
                    },
                );
            }
            let pins = match raw_server.pins {
                Some(pins) => {
                    let pins_at = at(pins.span().start);
                    if raw_server.transport.get_ref() == "api" {
                        diags.push(
                            pins_at.clone(),
                            Some(format!("{field}.pins")),
                            "an `api` server has no tool list to pin: `pins` needs transport `stdio` or `http`",
                        );
                    }
                    let pins = pins.into_inner();
                    for (tool, pin) in &pins {
                        if !is_fingerprint(pin) {
                            diags.push(
                                pins_at.clone(),
                                Some(format!("{field}.pins.{tool}")),
                                format!(
                                    "`{pin}` is not a tool fingerprint: expected `sha256:` and 64 lowercase hex digits (`warden tools list {name}` shows them)"
                                ),
                            );
                        }
                    }
                    pins
                }
                None => BTreeMap::new(),
            };
            servers.insert(
                name.clone(),
                ServerConfig {
                    name,
                    transport,
                    destination: raw_server.destination,
                    cleared: raw_server
                        .cleared
                        .map(toml::Spanned::into_inner)
                        .unwrap_or_default(),
                    tools,
                    pins,
                    resolve_paths: raw_server.resolve_paths,
                    location,
                },
            );
        }
        // Model providers: destinations like servers, with the one tool `chat`.
        let mut providers = BTreeMap::new();
        for (name, spanned) in raw.providers {
            let location = at(spanned.span().start);
            let raw_provider = spanned.into_inner();
            let field = format!("providers.{name}");
            if !valid_name(&name) || servers.contains_key(&name) {
                diags.push(
                    location.clone(),
                    Some(field.clone()),
                    format!(
                        "provider name `{name}` must be lowercase letters, digits, `-` and `_`, and not a server's name"
                    ),
                );
                continue;
            }
            if let Some(cleared) = raw_provider.cleared() {
                check_classes(&mut diags, cleared, format!("{field}.cleared"));
            }
            let Some(provider) = crate::providers::lower(
                &name,
                raw_provider,
                location.clone(),
                &mut diags,
                base_dir,
            ) else {
                continue;
            };
            let chat = ToolConfig {
                operation: Some(Operation::Send),
                destination: None,
                cleared: None,
                input_schema: Some(serde_json::json!({
                    "type": "object", "required": ["model"],
                    "properties": {"model": {"type": "string"}},
                })),
                destination_arguments: Vec::new(),
                external_cleared: Vec::new(),
                location: location.clone(),
            };
            servers.insert(
                name.clone(),
                ServerConfig {
                    name: name.clone(),
                    transport: Transport::Api,
                    destination: Destination::External,
                    cleared: provider.cleared.clone(),
                    tools: BTreeMap::from([(crate::providers::CHAT_TOOL.to_owned(), chat)]),
                    pins: BTreeMap::new(),
                    resolve_paths: false,
                    location,
                },
            );
            providers.insert(name, provider);
        }
        for name in raw.lists.keys() {
            if !valid_name(name) {
                diags.push(
                    Location::new(file, 0, 0),
                    Some(format!("lists.{name}")),
                    format!(
                        "list name `{name}` may hold only lowercase letters, digits, `-` and `_`"
                    ),
                );
            }
        }
        let defaults = ServeConfig::default();
        let tls = raw.serve.tls.and_then(|spanned| {
            let location = at(spanned.span().start);
            let raw_tls = spanned.into_inner();
            let client_auth = match raw_tls.client_auth {
                None => ClientAuth::default(),
                Some(value) => match value.get_ref().as_str() {
                    "none" => ClientAuth::None,
                    "optional" => ClientAuth::Optional,
                    "required" => ClientAuth::Required,
                    other => {
                        diags.push(
                            at(value.span().start),
                            Some("serve.tls.client_auth".into()),
                            format!(
                                "unknown client_auth `{other}`: expected `none`, `optional` or `required`"
                            ),
                        );
                        ClientAuth::default()
                    }
                },
            };
            let mut path = |value: Option<PathBuf>, field: &str| {
                if value.is_none() {
                    diags.push(
                        location.clone(),
                        Some(format!("serve.tls.{field}")),
                        format!("[serve.tls] needs `{field}` (a PEM file)"),
                    );
                }
                value.map(|p| base_dir.join(p))
            };
            let cert = path(raw_tls.cert, "cert");
            let key = path(raw_tls.key, "key");
            Some(TlsConfig {
                cert: cert?,
                key: key?,
                client_auth,
                client_ca: raw_tls.client_ca.map(|p| base_dir.join(p)),
            })
        });
        let serve = ServeConfig {
            tls,
            listen: raw.serve.listen.unwrap_or(defaults.listen),
            admin_listen: raw.serve.admin_listen.unwrap_or(defaults.admin_listen),
            audience: raw.serve.audience.unwrap_or(defaults.audience),
            approval_timeout_secs: raw
                .serve
                .approval_timeout_secs
                .unwrap_or(defaults.approval_timeout_secs),
            max_body_bytes: raw.serve.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            session_idle_secs: raw
                .serve
                .session_idle_secs
                .unwrap_or(defaults.session_idle_secs),
            max_sessions: raw.serve.max_sessions.unwrap_or(defaults.max_sessions),
            max_sessions_per_agent: raw
                .serve
                .max_sessions_per_agent
                .unwrap_or(defaults.max_sessions_per_agent)
                .max(1),
            max_pending_approvals_per_agent: raw
                .serve
                .max_pending_approvals_per_agent
                .unwrap_or(defaults.max_pending_approvals_per_agent)
                .max(1),
            max_connections: raw
                .serve
                .max_connections
                .unwrap_or(defaults.max_connections)
                .max(1),
            header_read_timeout_secs: raw
                .serve
                .header_read_timeout_secs
                .unwrap_or(defaults.header_read_timeout_secs)
                .max(1),
            request_timeout_secs: raw
                .serve
                .request_timeout_secs
                .unwrap_or(defaults.request_timeout_secs)
                .max(1),
            signing_key_rotation_days: raw
                .serve
                .signing_key_rotation_days
                .unwrap_or(defaults.signing_key_rotation_days),
            ca_rotation_days: raw
                .serve
                .ca_rotation_days
                .unwrap_or(defaults.ca_rotation_days),
        };
        let classify = {
            let mut detectors = Vec::new();
            for (i, spanned) in raw.classify.detectors.into_iter().enumerate() {
                let location = at(spanned.span().start);
                let d = spanned.into_inner();
                let field = format!("classify.detectors[{i}]");
                if !classes.contains(&d.class) {
                    let hint =
                        crate::error::did_you_mean(&d.class, classes.iter().map(String::as_str));
                    diags.push(location.clone(), Some(format!("{field}.class")), format!("unknown data class `{}`{hint} (declare your own under [classes] custom)", d.class));
                }
                let validator = d.validator.unwrap_or_else(|| "none".into());
                if !VALIDATORS.contains(&validator.as_str()) {
                    diags.push(
                        location.clone(),
                        Some(format!("{field}.validator")),
                        format!(
                            "unknown validator `{validator}`: expected one of {}",
                            VALIDATORS.join(", ")
                        ),
                    );
                }
                let confidence = d.confidence.unwrap_or(0.9);
                if !(confidence > 0.0 && confidence <= 1.0) {
                    diags.push(
                        location.clone(),
                        Some(format!("{field}.confidence")),
                        format!("confidence {confidence} must be above 0 and at most 1"),
                    );
                }
                if d.name.is_empty() || d.pattern.is_empty() {
                    diags.push(
                        location.clone(),
                        Some(field.clone()),
                        "a detector needs a `name` and a `pattern`",
                    );
                }
                detectors.push(DetectorSettings {
                    name: d.name,
                    class: d.class,
                    pattern: d.pattern,
                    validator,
                    context: d.context,
                    confidence,
                    location,
                });
            }
            ClassifySettings {
                disabled: raw.classify.disabled,
                min_confidence: raw.classify.min_confidence,
                detectors,
            }
        };
        let config = Config {
            file: file.to_owned(),
            base_dir: base_dir.to_owned(),
            trust_domain,
            agents_dir: base_dir.join(raw.agents_dir.unwrap_or_else(|| "agents".into())),
            policies_dir: base_dir.join(raw.policies_dir.unwrap_or_else(|| "policies".into())),
            servers,
            lists: raw.lists,
            classes,
            serve,
            audit: {
                let d = AuditConfig::default();
                AuditConfig {
                    durability: raw.audit.durability.unwrap_or(d.durability),
                    checkpoint_every: raw
                        .audit
                        .checkpoint_every
                        .unwrap_or(d.checkpoint_every)
                        .max(1),
                    checkpoint_interval_secs: raw
                        .audit
                        .checkpoint_interval_secs
                        .unwrap_or(d.checkpoint_interval_secs)
                        .max(1),
                    witness_dir: raw.audit.witness_dir.unwrap_or(d.witness_dir),
                    retain_days_location: raw
                        .audit
                        .retain_days
                        .as_ref()
                        .map_or_else(|| Location::new(file, 0, 0), |r| at(r.span().start)),
                    retain_days: raw.audit.retain_days.map(toml::Spanned::into_inner),
                }
            },
            mcp: {
                let d = McpConfig::default();
                McpConfig {
                    approval_wait_secs: raw.mcp.approval_wait_secs.unwrap_or(d.approval_wait_secs),
                    call_timeout_secs: raw
                        .mcp
                        .call_timeout_secs
                        .unwrap_or(d.call_timeout_secs)
                        .max(1),
                    allowed_origins: raw.mcp.allowed_origins.unwrap_or_default(),
                    allowed_hosts: raw.mcp.allowed_hosts.unwrap_or_default(),
                    authorization_servers: raw.mcp.authorization_servers.unwrap_or_default(),
                    max_hosted_servers: raw.mcp.max_hosted_servers.unwrap_or(d.max_hosted_servers),
                    max_hosted_servers_per_agent: raw
                        .mcp
                        .max_hosted_servers_per_agent
                        .unwrap_or(d.max_hosted_servers_per_agent)
                        .max(1),
                    hosted_idle_secs: raw
                        .mcp
                        .hosted_idle_secs
                        .unwrap_or(d.hosted_idle_secs)
                        .max(1),
                }
            },
            classify,
            session_taint,
            organisation_domains: Vec::new(),
            alerts: crate::alerts::lower(raw.alerts, &mut diags, &at, base_dir),
            telemetry: None,
            providers,
            federation: Vec::new(),
        };
        let mut config = config;
        if let Some(spanned) = raw.telemetry {
            let location = at(spanned.span().start);
            let t = spanned.into_inner();
            let mut ok = true;
            let endpoint = match url::Url::parse(&t.otlp_endpoint) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Some(u),
                _ => None,
            };
            if endpoint.is_none() {
                ok = false;
                diags.push(
                    location.clone(),
                    Some("telemetry.otlp_endpoint".into()),
                    format!(
                        "`{}` is not an http(s) URL: expected the OTLP/HTTP base, as in `http://127.0.0.1:4318`",
                        t.otlp_endpoint
                    ),
                );
            }
            for (name, value) in &t.headers {
                let token = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                if !token || value.chars().any(|c| c.is_control() && c != '\t') {
                    ok = false;
                    diags.push(
                        location.clone(),
                        Some(format!("telemetry.headers.{name}")),
                        format!("`{name}` is not a valid HTTP header name, or its value holds control characters"),
                    );
                }
            }
            let service_name = t.service_name.unwrap_or_else(|| "warden".to_owned());
            if service_name.is_empty() {
                ok = false;
                diags.push(
                    location,
                    Some("telemetry.service_name".into()),
                    "`service_name` may not be empty".to_owned(),
                );
            }
            if let (true, Some(otlp_endpoint)) = (ok, endpoint) {
                config.telemetry = Some(TelemetryConfig {
                    otlp_endpoint,
                    service_name,
                    headers: t.headers,
                });
            }
        }
        for (i, d) in raw.organisation.domains.iter().enumerate() {
            let text = d.get_ref().trim();
            match warden_address::Domain::parse(text.strip_prefix('@').unwrap_or(text)) {
                Ok(domain) => config.organisation_domains.push(domain),
                Err(e) => diags.push(
                    at(d.span().start),
                    Some(format!("organisation.domains[{i}]")),
                    e.to_string(),
                ),
            }
        }
        config.federation = crate::federation::lower(
            raw.federation,
            &config.trust_domain,
            &mut diags,
            &at,
            base_dir,
        );
        diags.into_result(config)
    }
}

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => a.iter().map(toml_to_json).collect(),
        toml::Value::Table(t) => t
            .iter()
            .map(|(k, v)| (k.clone(), toml_to_json(v)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_tls_is_parsed_with_paths_against_the_config_directory() {
        let base = "trust_domain = \"example.org\"\n";
        let config = Config::parse("w.toml", base, Path::new("/etc/warden")).unwrap();
        assert_eq!(config.serve.tls, None);
        let text =
            format!("{base}[serve.tls]\ncert = \"tls/server.pem\"\nkey = \"/keys/server.key\"\n");
        let config = Config::parse("w.toml", &text, Path::new("/etc/warden")).unwrap();
        assert_eq!(
            config.serve.tls,
            Some(TlsConfig {
                cert: PathBuf::from("/etc/warden/tls/server.pem"),
                key: PathBuf::from("/keys/server.key"),
                client_auth: ClientAuth::Optional,
                client_ca: None,
            })
        );
        let text = format!(
            "{base}[serve.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nclient_auth = \"required\"\nclient_ca = \"spire-bundle.pem\"\n"
        );
        let tls = Config::parse("w.toml", &text, Path::new("/etc/warden"))
            .unwrap()
            .serve
            .tls
            .unwrap();
        assert_eq!(tls.client_auth, ClientAuth::Required);
        assert_eq!(
            tls.client_ca,
            Some(PathBuf::from("/etc/warden/spire-bundle.pem"))
        );

        let bad = format!(
            "{base}[serve.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nclient_auth = \"sometimes\"\n"
        );
        let msg = Config::parse("w.toml", &bad, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("w.toml:5:15: field `serve.tls.client_auth`: unknown client_auth `sometimes`: expected `none`, `optional` or `required`"),
            "{msg}"
        );
        let missing = format!("{base}[serve.tls]\ncert = \"c.pem\"\n");
        let msg = Config::parse("w.toml", &missing, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("field `serve.tls.key`: [serve.tls] needs `key` (a PEM file)"),
            "{msg}"
        );
        let unknown =
            format!("{base}[serve.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\ncafile = \"x\"\n");
        let msg = Config::parse("w.toml", &unknown, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("unknown field `cafile`"), "{msg}");
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let text = "trust_domain = \"example.org\"\n\n[servers.mail]\ntransport = \"smtp\"\ndestination = \"internal\"\ncleared = [\"pi\"]\n";
        let err = Config::parse("warden.toml", text, Path::new(".")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(
                "warden.toml:4:13: field `servers.mail.transport`: unknown transport `smtp`"
            ),
            "{msg}"
        );
        assert!(msg.contains("warden.toml:6:11: field `servers.mail.cleared`: unknown data class `pi` (did you mean `pii`?)"), "{msg}");
    }

    #[test]
    fn pins_are_fingerprints_of_servers_with_a_tool_list() {
        let pin = format!("sha256:{}", "ab".repeat(32));
        let text = format!(
            "trust_domain = \"example.org\"\n[servers.fs]\ntransport = \"stdio\"\ncommand = [\"fs\"]\ndestination = \"internal\"\npins = {{ read_file = \"{pin}\" }}\n"
        );
        let config = Config::parse("w.toml", &text, Path::new(".")).unwrap();
        assert_eq!(config.servers["fs"].pins["read_file"], pin);
        let bad = text.replace(&pin, "sha256:ABC");
        let msg = Config::parse("w.toml", &bad, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("w.toml:6:8: field `servers.fs.pins.read_file`: `sha256:ABC` is not a tool fingerprint"),
            "{msg}"
        );
        let api = text
            .replace("\"stdio\"", "\"api\"")
            .replace("command = [\"fs\"]\n", "");
        let msg = Config::parse("w.toml", &api, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("field `servers.fs.pins`: an `api` server has no tool list to pin"),
            "{msg}"
        );
    }

    #[test]
    fn telemetry_is_off_unless_an_endpoint_is_named() {
        let base = "trust_domain = \"example.org\"\n";
        let config = Config::parse("w.toml", base, Path::new(".")).unwrap();
        assert!(config.telemetry.is_none());
        let text = format!(
            "{base}[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\nheaders = {{ x-api-key = \"s3cret\" }}\n"
        );
        let t = Config::parse("w.toml", &text, Path::new("."))
            .unwrap()
            .telemetry
            .unwrap();
        assert_eq!(t.otlp_endpoint.as_str(), "http://127.0.0.1:4318/");
        assert_eq!(t.service_name, "warden");
        assert_eq!(t.headers["x-api-key"], "s3cret");
        assert!(!format!("{t:?}").contains("s3cret"));
        for (bad, expected) in [
            (
                "otlp_endpoint = \"grpc://collector:4317\"",
                "w.toml:2:1: field `telemetry.otlp_endpoint`: `grpc://collector:4317` is not an http(s) URL",
            ),
            (
                "otlp_endpoint = \"http://c:4318\"\nheaders = { \"bad name\" = \"x\" }",
                "field `telemetry.headers.bad name`: `bad name` is not a valid HTTP header name",
            ),
            (
                "otlp_endpoint = \"http://c:4318\"\nsampler = 1",
                "unknown field `sampler`",
            ),
        ] {
            let msg = Config::parse(
                "w.toml",
                &format!("{base}[telemetry]\n{bad}\n"),
                Path::new("."),
            )
            .unwrap_err()
            .to_string();
            assert!(msg.contains(expected), "{msg}");
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let text = "trust_domain = \"example.org\"\n[servers.mail]\ntransport = \"api\"\ndestination = \"internal\"\ncolour = 1\n";
        let msg = Config::parse("w.toml", text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("w.toml:5:1: unknown field `colour`"),
            "{msg}"
        );
    }
}
