//! `warden agent …` and `warden admin-token …`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context, bail};
use clap::Subcommand;
use warden_gateway::{compile_inputs, load_inputs, registered_file};
use warden_identity::IssueRequest;
use warden_policy::Manifest;
use warden_store::{AgentRecord, Store};
use warden_types::{AgentName, InstanceId, Role, SpiffeId};

use crate::common::{Common, parse_duration};
use crate::serve::now_millis;

#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Register (or update) an agent from its manifest; or, with
    /// `--from-sighting`, write a starting manifest (no grants) for an
    /// unregistered agent Warden saw.
    Register {
        /// The manifest (YAML).
        #[arg(short = 'f', long = "file", required_unless_present = "from_sighting")]
        file: Option<PathBuf>,
        /// A sighting's id (`warden inventory --unregistered`).
        #[arg(long, conflicts_with = "file")]
        from_sighting: Option<String>,
        /// The new agent's name (default: the name it claimed).
        #[arg(long, requires = "from_sighting")]
        name: Option<String>,
    },
    /// List agents.
    List,
    /// Show one agent.
    Show {
        /// The agent's name.
        name: String,
    },
    /// Issue a JWT-SVID; prints the token alone on standard output.
    Token {
        /// The agent's name.
        name: String,
        /// The instance (default `default`).
        #[arg(long, default_value = "default")]
        instance: String,
        /// Lifetime, as in `15m`, `1h`.
        #[arg(long, default_value = "15m")]
        ttl: String,
    },
    /// Issue an X.509-SVID: writes `svid.pem` (the certificate), `svid.key`
    /// (its private key, 0600) and `bundle.pem` (the trust domain's CA) to
    /// `--out`, for mTLS with the data plane (`[serve.tls]`).
    Cert {
        /// The agent's name.
        name: String,
        /// The instance (default `default`).
        #[arg(long, default_value = "default")]
        instance: String,
        /// Lifetime, as in `15m`, `1h`.
        #[arg(long, default_value = "1h")]
        ttl: String,
        /// The directory to write the three files to (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Revoke one instance, or the whole agent; effective at once.
    Revoke {
        /// The agent's name.
        name: String,
        /// Only this instance.
        #[arg(long)]
        instance: Option<String>,
        /// Why (recorded).
        #[arg(long, default_value = "")]
        reason: String,
        /// The running gateway's data plane (its admin plane with
        /// `[serve.tls]`), waited for until it refuses the
        /// tokens (default: `[serve] listen` of the configuration).
        #[arg(long, env = crate::env::GATEWAY)]
        gateway: Option<String>,
    },
    /// The kill switch: deny every action of the agent, naming why, until
    /// it is resumed (its tokens and sessions stay as they are).
    Suspend {
        /// The agent's name.
        name: String,
        /// Why (recorded, and in every denial).
        #[arg(long, default_value = "suspended by hand")]
        reason: String,
        /// The running gateway's data plane (its admin plane with
        /// `[serve.tls]`), waited for until it applies the
        /// suspension (default: `[serve] listen` of the configuration).
        #[arg(long, env = crate::env::GATEWAY)]
        gateway: Option<String>,
    },
    /// Lift a suspension.
    Resume {
        /// The agent's name.
        name: String,
        /// As for `suspend`.
        #[arg(long, env = crate::env::GATEWAY)]
        gateway: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AdminTokenCommand {
    /// Create an admin-plane token; prints the token alone on standard output.
    Create {
        /// `admin`, `approver` or `auditor`.
        #[arg(long)]
        role: Role,
        /// Who holds it (recorded with every approval it gives).
        #[arg(long)]
        name: String,
    },
}

pub(crate) async fn run(common: &Common, command: AgentCommand) -> anyhow::Result<ExitCode> {
    let source = common.source();
    let config = common.load_config(&source)?;
    let store = common.open_store().await?;
    match command {
        AgentCommand::Register {
            from_sighting: Some(id),
            name,
            ..
        } => {
            crate::promote::from_sighting(&config, &source, &store, &id, name).await?;
        }
        AgentCommand::Register { file: None, .. } => {
            bail!("give the manifest with `-f FILE`, or `--from-sighting ID`")
        }
        AgentCommand::Register {
            file: Some(file), ..
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read `{}`", file.display()))?;
            let shown = file.display().to_string();
            let manifest =
                Manifest::parse(&shown, &text, &config).map_err(|e| anyhow::anyhow!("{e}"))?;
            let name = manifest.name.clone();
            let mut inputs = load_inputs(&source, Arc::clone(&config), &store)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(existing) = inputs
                .manifests
                .iter()
                .find(|m| m.name == name && !m.file.starts_with("registered:"))
            {
                bail!(
                    "{shown}: duplicate agent `{name}`: already declared in {}",
                    existing.file
                );
            }
            inputs.manifests.retain(|m| m.name != name);
            inputs.manifests.push(manifest.clone());
            compile_inputs(inputs)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let now = now_millis();
            let source_name = file.file_name().map_or_else(
                || format!("{name}.yaml"),
                |f| f.to_string_lossy().into_owned(),
            );
            store
                .put_agent(&AgentRecord {
                    name: name.clone(),
                    manifest: text,
                    source: source_name.clone(),
                    registered_at: now,
                    updated_at: now,
                })
                .await?;
            println!(
                "registered agent `{name}` ({} tools) as {}",
                manifest.grants.len(),
                registered_file(&source_name)
            );
        }
        AgentCommand::List => {
            let inputs = load_inputs(&source, Arc::clone(&config), &store)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let revocations = store.revocations().await?;
            let mut manifests = inputs.manifests;
            manifests.sort_by(|a, b| a.name.cmp(&b.name));
            println!(
                "{:<24} {:<32} {:<6} {:<8} SOURCE",
                "NAME", "OWNER", "TOOLS", "STATUS"
            );
            for m in manifests {
                let revoked = revocations
                    .iter()
                    .any(|r| r.agent == m.name && r.instance.is_none());
                let status = if revoked { "revoked" } else { "active" };
                println!(
                    "{:<24} {:<32} {:<6} {:<8} {}",
                    m.name,
                    m.owner,
                    m.grants.len(),
                    status,
                    m.file
                );
            }
        }
        AgentCommand::Show { name } => {
            let inputs = load_inputs(&source, Arc::clone(&config), &store)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let m = inputs
                .manifests
                .iter()
                .find(|m| m.name.as_str() == name)
                .with_context(|| format!("no agent `{name}`"))?;
            println!("name:     {}", m.name);
            println!("owner:    {}", m.owner);
            println!("purpose:  {}", m.purpose);
            println!(
                "risk:     eu_ai_act={} dora_critical={}",
                m.risk.eu_ai_act.as_deref().unwrap_or("unclassified"),
                m.risk.dora_critical
            );
            println!("source:   {}", m.file);
            println!(
                "spiffe:   spiffe://{}/agent/{}/<instance>",
                config.trust_domain, m.name
            );
            println!(
                "budgets:  per_session={} per_hour={}",
                opt(m.budgets.per_session),
                opt(m.budgets.per_hour)
            );
            println!("tools:");
            for g in &m.grants {
                let when = g
                    .when
                    .as_ref()
                    .map(|c| format!(" when {}", c.text))
                    .unwrap_or_default();
                let approval = g
                    .approval
                    .as_ref()
                    .map(|c| format!(" approval {}", c.text))
                    .unwrap_or_default();
                println!(
                    "  {}/{} ({}){when}{approval}",
                    g.server, g.tool, g.operation
                );
            }
            for r in store
                .revocations()
                .await?
                .iter()
                .filter(|r| r.agent == m.name)
            {
                let which = r
                    .instance
                    .as_ref()
                    .map_or_else(|| "all instances".to_owned(), |i| format!("instance `{i}`"));
                println!("revoked:  {which} by {} ({})", r.revoked_by, r.reason);
            }
        }
        AgentCommand::Token {
            name,
            instance,
            ttl,
        } => {
            let (agent, instance, ttl) =
                issuable(&source, &config, &store, name, instance, &ttl, "a token").await?;
            let (keys, _) = common.signing_keys(&store).await?;
            let now = SystemTime::now();
            let issued = keys.current.issue(&IssueRequest {
                spiffe_id: SpiffeId::new(
                    config.trust_domain.clone(),
                    agent.clone(),
                    instance.clone(),
                ),
                audience: vec![config.serve.audience.clone()],
                ttl,
                now,
            })?;
            let issued_at = now_millis();
            // The inventory lists it, and when it was last used.
            warden_store::InventoryStore::record_token(
                &store,
                &warden_store::TokenRecord {
                    jti: issued.jti.clone(),
                    agent: agent.as_str().to_owned(),
                    instance: instance.as_str().to_owned(),
                    issued_at: Some(issued_at),
                    expires_at: issued
                        .expires_at
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                    issued_by: Some("cli".to_owned()),
                    last_used_at: None,
                },
            )
            .await?;
            println!("{}", issued.token.expose());
        }
        AgentCommand::Cert {
            name,
            instance,
            ttl,
            out,
        } => {
            let (agent, instance, ttl) = issuable(
                &source,
                &config,
                &store,
                name,
                instance,
                &ttl,
                "a certificate",
            )
            .await?;
            let authorities = common
                .x509_authorities(&store, &config.trust_domain)
                .await?;
            let authority = &authorities.current;
            let issued = authority.issue(&warden_identity::X509IssueRequest {
                spiffe_id: SpiffeId::new(
                    config.trust_domain.clone(),
                    agent.clone(),
                    instance.clone(),
                ),
                ttl,
                now: SystemTime::now(),
            })?;
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create `{}`", out.display()))?;
            let write = |file: &str, text: &str| {
                let path = out.join(file);
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write `{}`", path.display()))
            };
            write("svid.pem", &issued.certificate_pem)?;
            // Every CA still trusted: a peer's certificate from before a
            // rotation verifies too.
            let bundle: String = authorities.all.iter().map(|c| c.pem()).collect();
            write("bundle.pem", &bundle)?;
            // `write_secret` appends a newline; PEM readers do not mind.
            crate::serve::write_secret(
                &out.join("svid.key"),
                issued.private_key_pem.expose().trim_end(),
            )?;
            // The inventory lists it as it lists tokens, by its serial.
            warden_store::InventoryStore::record_token(
                &store,
                &warden_store::TokenRecord {
                    jti: format!("{}{}", warden_identity::X509_SERIAL_PREFIX, issued.serial),
                    agent: agent.as_str().to_owned(),
                    instance: instance.as_str().to_owned(),
                    issued_at: Some(now_millis()),
                    expires_at: issued
                        .expires_at
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                    issued_by: Some("cli".to_owned()),
                    last_used_at: None,
                },
            )
            .await?;
            println!(
                "spiffe://{}/agent/{agent}/{instance}: wrote svid.pem, svid.key and bundle.pem to {} (serial {}, valid {})",
                config.trust_domain,
                out.display(),
                issued.serial,
                humantime(ttl)
            );
        }
        AgentCommand::Suspend {
            name,
            reason,
            gateway,
        } => {
            let inputs = load_inputs(&source, Arc::clone(&config), &store)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if !inputs.manifests.iter().any(|m| m.name.as_str() == name) {
                bail!("no agent `{name}`");
            }
            suspend_or_resume(&config, &store, &name, Some(reason), gateway).await?;
        }
        AgentCommand::Resume { name, gateway } => {
            suspend_or_resume(&config, &store, &name, None, gateway).await?;
        }
        AgentCommand::Revoke {
            name,
            instance,
            reason,
            gateway,
        } => {
            let agent = AgentName::new(name).map_err(|e| anyhow::anyhow!("{e}"))?;
            let instance = instance
                .map(InstanceId::new)
                .transpose()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let inputs = load_inputs(&source, Arc::clone(&config), &store)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if !inputs.manifests.iter().any(|m| m.name == agent) {
                bail!("no agent `{agent}`");
            }
            let r = store
                .add_revocation(&agent, instance.as_ref(), &reason, "cli", now_millis())
                .await?;
            let subject = format!(
                "spiffe://{}/agent/{agent}/{}",
                config.trust_domain,
                r.instance
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            audit_by_hand(&store, "revoked", &subject, &reason).await?;
            let which = r
                .instance
                .as_ref()
                .map_or_else(|| "all instances".to_owned(), |i| format!("instance `{i}`"));
            let change = store.latest_change().await?;
            let gateway = gateway.unwrap_or_else(|| health_url(&config));
            let gateway = gateway.trim_end_matches('/');
            match wait_applied(gateway, change).await {
                Applied::Yes => println!(
                    "revoked `{agent}` ({which}); the gateway at {gateway} refuses its tokens from now on"
                ),
                Applied::NoGateway => println!(
                    "revoked `{agent}` ({which}); no gateway answers at {gateway}: one that starts refuses its tokens"
                ),
                Applied::NotYet => {
                    eprintln!(
                        "warning: the gateway at {gateway} has not applied the revocation yet (is it watching this store?)"
                    );
                    println!("revoked `{agent}` ({which})");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `warden agent suspend|resume`: writes the store, then waits until the
/// running gateway applied it.
async fn suspend_or_resume(
    config: &warden_policy::Config,
    store: &warden_store::AnyStore,
    name: &str,
    suspend: Option<String>,
    gateway: Option<String>,
) -> anyhow::Result<()> {
    use warden_store::SuspensionStore as _;
    let suspend_reason = suspend.clone();
    let what = match suspend {
        Some(reason) => {
            store
                .suspend(&warden_store::SuspensionRecord {
                    agent: name.to_owned(),
                    reason,
                    by: "cli".to_owned(),
                    at: now_millis(),
                })
                .await?;
            "suspended"
        }
        None => {
            if !store.resume(name).await? {
                bail!("agent `{name}` is not suspended");
            }
            "resumed"
        }
    };
    let subject = format!("spiffe://{}/agent/{name}/", config.trust_domain);
    let reason = suspend_reason.unwrap_or_default();
    audit_by_hand(store, what, &subject, &reason).await?;
    let change = store.latest_change().await?;
    let gateway = gateway.unwrap_or_else(|| health_url(config));
    let gateway = gateway.trim_end_matches('/');
    match wait_applied(gateway, change).await {
        Applied::Yes => {
            println!("{what} `{name}`; the gateway at {gateway} applies it from now on")
        }
        Applied::NoGateway => {
            println!("{what} `{name}`; no gateway answers at {gateway}: one that starts applies it")
        }
        Applied::NotYet => {
            eprintln!(
                "warning: the gateway at {gateway} has not applied it yet (is it watching this store?)"
            );
            println!("{what} `{name}`");
        }
    }
    Ok(())
}

/// Appends the audit record of a change made by hand from the command line
/// (`kind` admin, as the admin API writes): `change` on `subject` (an
/// agent's or instance's SPIFFE ID), for `reason`, `by cli`. The change is
/// in force already; a record that cannot be written is an error the user sees.
async fn audit_by_hand(
    store: &warden_store::AnyStore,
    change: &str,
    subject: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let mut record =
        warden_audit::AuditRecord::new(0, now_millis(), warden_audit::RecordKind::Admin, "cli");
    record.decision = Some(change.to_owned());
    record.agent = Some(subject.to_owned());
    if !reason.is_empty() {
        record.reasons = vec![reason.to_owned()];
    }
    record.note = Some("by cli".to_owned());
    warden_gateway::audit::append_direct(store, None, vec![(record, None)])
        .await
        .with_context(|| format!("`{subject}` is {change}, but the change could not be audited"))?;
    Ok(())
}

/// Whether the running gateway applied a store change.
pub(crate) enum Applied {
    Yes,
    NoGateway,
    NotYet,
}

/// Waits (at most 3 s) until the gateway at `base` reports store change
/// `change` in force, so that `agent revoke` (or `tools accept`) returns
/// only once the change holds.
pub(crate) async fn wait_applied(base: &str, change: i64) -> Applied {
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut answered = false;
    while std::time::Instant::now() < deadline {
        if let Ok(r) = client
            .get(format!("{base}/healthz"))
            .timeout(std::time::Duration::from_millis(500))
            .send()
            .await
            && let Ok(v) = r.json::<serde_json::Value>().await
        {
            answered = true;
            if v["applied_change"].as_i64().is_some_and(|a| a >= change) {
                return Applied::Yes;
            }
        } else if !answered {
            return Applied::NoGateway;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    Applied::NotYet
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

pub(crate) async fn run_admin_token(
    common: &Common,
    command: AdminTokenCommand,
) -> anyhow::Result<ExitCode> {
    let store = common.open_store().await?;
    match command {
        AdminTokenCommand::Create { role, name } => {
            if name.trim().is_empty() {
                bail!("--name must not be empty");
            }
            let token = warden_identity::generate_admin_token();
            store
                .add_admin_token(
                    &name,
                    role,
                    &warden_identity::token_digest(token.expose()),
                    now_millis(),
                )
                .await?;
            println!("{}", token.expose());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The agent and instance a credential may be issued for, and its lifetime:
/// the agent is registered and neither it nor the instance is revoked.
async fn issuable(
    source: &warden_gateway::ConfigSource,
    config: &Arc<warden_policy::Config>,
    store: &warden_store::AnyStore,
    name: String,
    instance: String,
    ttl: &str,
    what: &str,
) -> anyhow::Result<(AgentName, InstanceId, std::time::Duration)> {
    let agent = AgentName::new(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let instance = InstanceId::new(instance).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ttl = parse_duration(ttl).map_err(|e| anyhow::anyhow!("--ttl: {e}"))?;
    let longest = warden_gateway::signing_keys::MAX_SVID_TTL;
    if ttl > longest {
        bail!(
            "--ttl: at most {} h: SVIDs are short-lived, and a rotated signing key or CA is trusted only that long",
            longest.as_secs() / 3600
        );
    }
    let inputs = load_inputs(source, Arc::clone(config), store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !inputs.manifests.iter().any(|m| m.name == agent) {
        bail!("no agent `{agent}`: register it first (`warden agent register -f manifest.yaml`)");
    }
    for r in store.revocations().await? {
        if r.agent == agent && r.instance.as_ref().is_none_or(|i| *i == instance) {
            bail!("agent `{agent}` instance `{instance}` is revoked; refusing to issue {what}");
        }
    }
    Ok((agent, instance, ttl))
}

/// `ttl` as the CLI takes it: `90s`, `15m`, `2h`.
fn humantime(ttl: std::time::Duration) -> String {
    let seconds = ttl.as_secs();
    if seconds.is_multiple_of(3600) {
        format!("{}h", seconds / 3600)
    } else if seconds.is_multiple_of(60) {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

/// Where the CLI waits for the gateway to apply a change (`/healthz`): the
/// data plane, or, when it speaks TLS (`[serve.tls]`), the admin plane,
/// which answers the same and stays plain HTTP.
pub(crate) fn health_url(config: &warden_policy::Config) -> String {
    let address = if config.serve.tls.is_some() {
        &config.serve.admin_listen
    } else {
        &config.serve.listen
    };
    format!("http://{address}")
}
