//! The gateway's shared state: the engine, identity, admin tokens, and the
//! watcher that reloads them when the store changes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use parking_lot::{Mutex, RwLock};
use warden_identity::{JwtSvidVerifier, RevocationSet, SigningKey, VerifiedSvid};
use warden_policy::{Config, Engine};
use warden_store::{AdminTokenRecord, AnyStore, Store};

use crate::error::GatewayError;
use crate::inputs::{ConfigSource, compile_inputs, load_inputs};

/// Identity as the data plane sees it: who signs, who is revoked.
#[derive(Debug, Clone)]
pub(crate) struct IdentityView {
    pub(crate) verifier: JwtSvidVerifier,
    pub(crate) revocations: RevocationSet,
    /// Suspended agents, by name: every action of theirs is denied.
    pub(crate) suspended: HashMap<String, warden_store::SuspensionRecord>,
}

/// A verified agent identity, with its SPIFFE ID rendered once.
#[derive(Debug)]
pub(crate) struct Caller {
    pub(crate) svid: VerifiedSvid,
    pub(crate) spiffe: String,
    /// When the token was last presented (unix ms), for the inventory.
    pub(crate) last_used: AtomicI64,
    /// The last use written to the store.
    pub(crate) saved_use: AtomicI64,
}

impl Caller {
    /// A caller for a verified token, not yet used.
    pub(crate) fn new(svid: VerifiedSvid) -> Self {
        let spiffe = svid.spiffe_id.to_string();
        Self {
            svid,
            spiffe,
            last_used: AtomicI64::new(0),
            saved_use: AtomicI64::new(0),
        }
    }
}

const TOKEN_CACHE_SHARDS: usize = 16;
const TOKEN_CACHE_PER_SHARD: usize = 4096;

/// Verified tokens by SHA-256 of the token, so that the signature is checked
/// once per token rather than once per request. Expiry, revocation and
/// registration are still checked on every request.
#[derive(Debug)]
pub(crate) struct TokenCache {
    shards: Vec<RwLock<HashMap<[u8; 32], Arc<Caller>>>>,
}

impl TokenCache {
    fn new() -> Self {
        Self {
            shards: (0..TOKEN_CACHE_SHARDS)
                .map(|_| RwLock::new(HashMap::new()))
                .collect(),
        }
    }

    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Arc<Caller>> {
        self.shards[usize::from(key[0]) % TOKEN_CACHE_SHARDS]
            .read()
            .get(key)
            .cloned()
    }

    /// Every cached caller (for saving when tokens were last used).
    pub(crate) fn callers(&self) -> Vec<Arc<Caller>> {
        self.shards
            .iter()
            .flat_map(|shard| shard.read().values().cloned().collect::<Vec<_>>())
            .collect()
    }

    /// Forgets callers verified with a federated SVID (their trust domain's
    /// bundle changed): they are verified again on their next request.
    pub(crate) fn forget_federated(&self) {
        for shard in &self.shards {
            shard.write().retain(|_, c| c.svid.federated_from.is_none());
        }
    }

    pub(crate) fn insert(&self, key: [u8; 32], svid: Arc<Caller>) {
        let mut shard = self.shards[usize::from(key[0]) % TOKEN_CACHE_SHARDS].write();
        if shard.len() >= TOKEN_CACHE_PER_SHARD {
            let now = SystemTime::now();
            shard.retain(|_, v| v.svid.expires_at > now);
            if shard.len() >= TOKEN_CACHE_PER_SHARD {
                shard.clear();
            }
        }
        shard.insert(key, svid);
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Gateway {
    pub(crate) engine: Arc<Engine>,
    pub(crate) identity: ArcSwap<IdentityView>,
    /// Held while the identity view is read from the store and swapped in,
    /// and while a revocation is made and applied at once: a reload that
    /// read the store before the revocation cannot swap in after it.
    pub(crate) identity_writes: tokio::sync::Mutex<()>,
    pub(crate) admin_tokens: ArcSwap<Vec<AdminTokenRecord>>,
    pub(crate) store: AnyStore,
    pub(crate) source: ConfigSource,
    pub(crate) config: Arc<Config>,
    /// The JWT signing keys: the current one signs, all of them verify.
    pub(crate) keys: ArcSwap<crate::signing_keys::SigningKeys>,
    /// What seals the signing keys in the store (`None`: one key, from a
    /// file, never rotated by this process).
    kek: Option<warden_identity::KeyEncryptionKey>,
    /// Warden's X.509 CAs as the listeners serve and trust them, when they
    /// are kept in the store (set by [`crate::serve::run`]): a rotation read
    /// from the store is applied to them.
    x509: parking_lot::Mutex<Option<crate::tls::X509Setup>>,
    /// When the current X.509 CA was made (unix ms; 0: not known yet).
    ca_since: AtomicI64,
    pub(crate) tokens: TokenCache,
    pub(crate) recent: crate::decisions::RecentDecisions,
    last_change: AtomicI64,
    /// The fingerprint of the manifest and policy files last compiled.
    files: parking_lot::Mutex<Option<u64>>,
    /// The change counter whose revocations and tokens are in force (what
    /// `/healthz` reports, so that the CLI can wait for its change to apply).
    pub(crate) applied_change: AtomicI64,
    pub(crate) reload_error: Mutex<Option<String>>,
    pub(crate) audit: crate::audit::AuditLog,
    /// Classifies arguments and results.
    pub(crate) classifier: Arc<warden_classify::Classifier>,
    /// The HTTP client for upstream MCP servers (pooled connections).
    pub(crate) http: reqwest::Client,
    /// Live MCP sessions through the Streamable HTTP proxy.
    pub(crate) mcp_sessions: crate::mcp::McpSessions,
    /// The key of redaction's keyed hashes and tokens; without one they mask.
    pub(crate) redaction_key: parking_lot::RwLock<Option<warden_classify::RedactionKey>>,
    /// Failed authentications, counted for the audit log.
    pub(crate) auth_failures: crate::auth_audit::AuthFailures,
    /// Callers refused for identity reasons, waiting to be saved.
    pub(crate) sightings: warden_inventory::Sightings,
    /// The event stream and metrics, fed by the audit writer.
    pub(crate) monitor: Arc<warden_monitor::Monitor>,
    /// The span exporter, when `[telemetry]` names an OTLP endpoint.
    pub(crate) tracer: Option<warden_monitor::trace::Tracer>,
    /// The newest revocation published as an event (-1 before the first load).
    revocations_seen: AtomicI64,
    /// Recent alerts and undeliverable ones.
    pub(crate) alert_log: crate::alerting::AlertLog,
    /// Set when the gateway stops: long-lived streams end at once.
    pub(crate) stopping: tokio::sync::watch::Sender<bool>,
    /// Tool definitions pinned, as the store holds them.
    pub(crate) pins: ArcSwap<crate::pins::PinSet>,
    /// Held while this node records what a tool list showed.
    pub(crate) pin_writes: tokio::sync::Mutex<()>,
    /// The web console's sessions and its last verification.
    pub(crate) console: crate::console::ConsoleState,
    /// The LLM proxy's provider keys and token use.
    pub(crate) llm: crate::llm::LlmState,
    /// Federated trust domains (`[[federation]]`): their bundles and rules.
    pub(crate) federation: crate::federation::Federation,
}

impl Gateway {
    /// Loads configuration, policies, identity and tokens, and builds the
    /// state, with one signing key.
    pub async fn start(
        source: ConfigSource,
        store: AnyStore,
        key: Arc<SigningKey>,
        audit: crate::audit::AuditLog,
    ) -> Result<Arc<Gateway>, GatewayError> {
        let keys = crate::signing_keys::SigningKeys::single(key);
        Self::start_with_keys(source, store, keys, None, audit).await
    }

    /// As [`Gateway::start`], with the signing keys kept in the store under
    /// `kek`: reloaded when they change (a rotation at another node or the
    /// CLI), and rotated on `[serve] signing_key_rotation_days`.
    pub async fn start_with_keys(
        source: ConfigSource,
        store: AnyStore,
        keys: crate::signing_keys::SigningKeys,
        kek: Option<warden_identity::KeyEncryptionKey>,
        audit: crate::audit::AuditLog,
    ) -> Result<Arc<Gateway>, GatewayError> {
        let config = Arc::new(source.config()?);
        let alerter = warden_monitor::Alerter::new(
            config.alerts.rules.clone(),
            config
                .organisation_domains
                .iter()
                .map(ToString::to_string)
                .collect(),
        );
        let classifier = Arc::new(crate::inputs::build_classifier(&config)?);
        let change = store.latest_change().await?;
        let files = source.files_fingerprint(&config);
        let inputs = load_inputs(&source, Arc::clone(&config), &store).await?;
        let snapshot = compile_inputs(inputs).await?;
        let verifier = verifier_for(&config, &keys);
        let tracer = crate::telemetry::start(config.telemetry.as_ref())?;
        let federation = crate::federation::Federation::start(&config).await?;
        let llm = crate::llm::LlmState::new(&config.providers);
        let gateway = Gateway {
            engine: Arc::new(
                Engine::new(snapshot)
                    .with_max_sessions(config.serve.max_sessions)
                    .with_max_sessions_per_agent(config.serve.max_sessions_per_agent),
            ),
            identity: ArcSwap::from_pointee(IdentityView {
                verifier,
                revocations: RevocationSet::new(),
                suspended: HashMap::new(),
            }),
            identity_writes: tokio::sync::Mutex::new(()),
            admin_tokens: ArcSwap::from_pointee(Vec::new()),
            store,
            source,
            config,
            keys: ArcSwap::from_pointee(keys),
            kek,
            x509: parking_lot::Mutex::new(None),
            ca_since: AtomicI64::new(0),
            tokens: TokenCache::new(),
            recent: crate::decisions::RecentDecisions::default(),
            last_change: AtomicI64::new(change),
            applied_change: AtomicI64::new(change),
            files: parking_lot::Mutex::new(files),
            reload_error: Mutex::new(None),
            audit,
            classifier,
            http: reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(90))
                .build()
                .map_err(|e| GatewayError::Setup(format!("cannot build the HTTP client: {e}")))?,
            mcp_sessions: crate::mcp::McpSessions::default(),
            redaction_key: parking_lot::RwLock::new(None),
            auth_failures: crate::auth_audit::AuthFailures::default(),
            sightings: warden_inventory::Sightings::default(),
            monitor: Arc::new(warden_monitor::Monitor::with_alerts(alerter)),
            alert_log: crate::alerting::AlertLog::default(),
            tracer,
            stopping: tokio::sync::watch::channel(false).0,
            revocations_seen: AtomicI64::new(-1),
            pins: ArcSwap::from_pointee(crate::pins::PinSet::default()),
            pin_writes: tokio::sync::Mutex::new(()),
            console: crate::console::ConsoleState::default(),
            llm,
            federation,
        };
        gateway.audit.set_monitor(Arc::clone(&gateway.monitor));
        // What each agent touched before: a class is new only if it never was.
        for c in warden_store::InventoryStore::activity_classes(&gateway.store, None).await? {
            gateway.monitor.alerter().seed_classes(&c.agent, [c.class]);
        }
        // …and which tools it called, how often, and how often it was
        // denied: the long run of `new_tool`, `tool_mix` and `denial_ratio`.
        let mut seeds: HashMap<(String, String), (u64, u64)> = HashMap::new();
        for a in warden_store::InventoryStore::activity(&gateway.store, None, crate::now_millis())
            .await?
        {
            if a.server.is_empty()
                || !matches!(a.outcome.as_str(), "allow" | "deny" | "needs_approval")
            {
                continue;
            }
            let seed = seeds
                .entry((a.agent, format!("{}/{}", a.server, a.tool)))
                .or_default();
            let total = u64::try_from(a.total).unwrap_or(0);
            seed.0 += total;
            if a.outcome == "deny" {
                seed.1 += total;
            }
        }
        for ((agent, tool), (actions, denials)) in seeds {
            gateway
                .monitor
                .alerter()
                .seed_tool(&agent, &tool, actions, denials);
        }
        gateway.tell_monitor();
        gateway.reload_identity().await?;
        gateway.reload_pins().await?;
        gateway.restore_sessions().await?;
        Ok(Arc::new(gateway))
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The audit log.
    pub fn audit(&self) -> &crate::audit::AuditLog {
        &self.audit
    }

    /// The store.
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// Sets the key of the keyed hashes and tokens that redaction
    /// obligations write (without one, `hash` and `tokenize` mask).
    pub fn set_redaction_key(&self, key: warden_classify::RedactionKey) {
        *self.redaction_key.write() = Some(key);
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Tells the monitor which agents and tools may be metric labels: the
    /// registered agents, the tools declared in `warden.toml` or granted.
    fn tell_monitor(&self) {
        let snapshot = self.engine.snapshot();
        let agents = snapshot.agents.keys().map(|a| a.as_str().to_owned());
        let declared = self
            .config
            .servers
            .values()
            .flat_map(|s| s.tools.keys().map(move |t| (s.name.clone(), t.clone())));
        let granted = snapshot.agents.values().flat_map(|a| {
            a.manifest
                .grants
                .iter()
                .map(|g| (g.server.clone(), g.tool.clone()))
                .collect::<Vec<_>>()
        });
        self.monitor
            .set_known(agents, declared.chain(granted).collect::<Vec<_>>());
    }

    /// Events for suspensions that began or ended.
    fn publish_suspensions(
        &self,
        before: &HashMap<String, warden_store::SuspensionRecord>,
        now: &HashMap<String, warden_store::SuspensionRecord>,
    ) {
        for (agent, s) in now {
            if before.get(agent) != Some(s) {
                let mut event = warden_monitor::Event::new("suspension", s.at);
                event.agent = Some(agent.clone());
                event.reasons = vec![s.reason.clone()];
                event.note = Some(format!("suspended by {}", s.by));
                self.monitor.publish(event);
            }
        }
        for agent in before.keys().filter(|a| !now.contains_key(*a)) {
            let mut event = warden_monitor::Event::new("resumption", crate::now_millis());
            event.agent = Some(agent.clone());
            self.monitor.publish(event);
        }
    }

    /// Reloads revocations and admin tokens from the store.
    pub(crate) async fn reload_identity(&self) -> Result<(), GatewayError> {
        let _writing = self.identity_writes.lock().await;
        let mut revocations = RevocationSet::new();
        let records = self.store.revocations().await?;
        let seen = self.revocations_seen.swap(
            records.iter().map(|r| r.id).max().unwrap_or(0),
            Ordering::AcqRel,
        );
        for r in records.iter().filter(|r| seen >= 0 && r.id > seen) {
            let mut event = warden_monitor::Event::new("revocation", r.revoked_at);
            event.agent = Some(r.agent.as_str().to_owned());
            event.instance = r.instance.as_ref().map(|i| i.as_str().to_owned());
            event.reasons = vec![r.reason.clone()];
            event.note = Some(format!("revoked by {}", r.revoked_by));
            self.monitor.publish(event);
        }
        for r in records {
            match r.instance {
                Some(i) => revocations.revoke_instance(r.agent, i),
                None => revocations.revoke_agent(r.agent),
            }
        }
        let suspended: HashMap<String, warden_store::SuspensionRecord> =
            warden_store::SuspensionStore::suspensions(&self.store)
                .await?
                .into_iter()
                .map(|s| (s.agent.clone(), s))
                .collect();
        let current = self.identity.load();
        if seen >= 0 {
            self.publish_suspensions(&current.suspended, &suspended);
        }
        let mut verifier = current.verifier.clone();
        if let Some(kek) = &self.kek {
            // A rotation at another node or the CLI: its keys from now on.
            let keys = crate::signing_keys::load_signing_keys(&self.store, kek, None).await?;
            let ids = |k: &crate::signing_keys::SigningKeys| {
                k.all
                    .iter()
                    .map(|k| k.key_id().to_owned())
                    .collect::<Vec<_>>()
            };
            if ids(&keys) != ids(&self.keys.load()) {
                tracing::info!(
                    current = keys.current.key_id(),
                    keys = keys.all.len(),
                    "signing keys changed"
                );
                verifier = verifier_for(&self.config, &keys);
                self.keys.store(Arc::new(keys));
            }
        }
        self.reload_authorities().await?;
        self.identity.store(Arc::new(IdentityView {
            verifier,
            revocations,
            suspended,
        }));
        self.admin_tokens
            .store(Arc::new(self.store.admin_tokens().await?));
        Ok(())
    }

    /// Applies Warden's X.509 CAs as the store holds them (after a rotation
    /// at another node or the CLI) to the bundle and the mTLS verifier.
    async fn reload_authorities(&self) -> Result<(), GatewayError> {
        let Some(kek) = &self.kek else {
            return Ok(());
        };
        let Some(setup) = self.x509.lock().clone() else {
            return Ok(());
        };
        let trust_domain = &self.config.trust_domain;
        let authorities =
            crate::ca_keys::load_authorities(&self.store, kek, trust_domain, None).await?;
        self.ca_since
            .store(authorities.current_since, Ordering::Release);
        let served: Vec<String> = setup
            .authorities
            .load()
            .iter()
            .map(warden_identity::CaCertificate::fingerprint)
            .collect();
        if served != authorities.ids() {
            tracing::info!(
                current = %authorities.current.certificate().fingerprint(),
                trusted = authorities.all.len(),
                "X.509 CAs changed"
            );
            setup.set_authorities(authorities.all, trust_domain)?;
        }
        Ok(())
    }

    /// Applies rotations of Warden's X.509 CAs, kept in the store, to
    /// `setup` (the bundle and the mTLS verifier), and rotates them on
    /// `[serve] ca_rotation_days`.
    pub(crate) async fn follow_authorities(&self, setup: crate::tls::X509Setup) {
        if !setup.managed || self.kek.is_none() {
            return;
        }
        *self.x509.lock() = Some(setup);
        // A rotation made since the listeners were set up.
        if let Err(e) = self.reload_authorities().await {
            tracing::warn!(error = %e, "cannot reload the X.509 CAs");
        }
    }

    /// Recompiles from files and store and swaps the snapshot in; on error the
    /// running snapshot keeps serving and the error is kept for `/readyz`.
    pub async fn reload(&self) -> Result<(), GatewayError> {
        self.reload_identity().await?;
        self.reload_pins().await?;
        let inputs = load_inputs(&self.source, Arc::clone(&self.config), &self.store).await;
        let compiled = match inputs {
            Ok(inputs) => compile_inputs(inputs).await.map_err(GatewayError::from),
            Err(e) => Err(e),
        };
        match compiled {
            Ok(snapshot) => {
                tracing::info!(digest = %snapshot.digest, agents = snapshot.agents.len(), "policy set reloaded");
                self.engine.replace(snapshot);
                self.tell_monitor();
                *self.reload_error.lock() = None;
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "policy reload rejected; the running policy set keeps serving");
                *self.reload_error.lock() = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Puts back the sessions saved before a restart (those that changed
    /// within `session_idle_secs`) and the current hour's budget counts, so
    /// that a restart never widens what a session may do.
    async fn restore_sessions(&self) -> Result<(), GatewayError> {
        use warden_store::SessionStore as _;
        if self.shares_sessions() {
            // Read under the instance's lock at each decision instead.
            return Ok(());
        }
        let idle = i64::try_from(self.config.serve.session_idle_secs).unwrap_or(i64::MAX / 2000);
        let since = crate::now_millis().saturating_sub(idle.saturating_mul(1000));
        let rows = self.store.sessions_since(since).await?;
        let mut refused = 0usize;
        for row in &rows {
            let saved = warden_policy::SavedSession {
                agent: row.agent.clone(),
                instance: row.instance.clone(),
                session: row.session.clone(),
                state: row.state.clone(),
            };
            if let Err(e) = self.engine.restore(&saved) {
                refused += 1;
                tracing::warn!(agent = %row.agent, session = %row.session, error = %e, "a saved session was not restored");
            }
        }
        let hour = self.engine.hour_now();
        for (agent, used) in self
            .store
            .hour_budgets(i64::try_from(hour).unwrap_or(i64::MAX))
            .await?
        {
            if let Ok(agent) = warden_types::AgentName::new(agent) {
                self.engine
                    .restore_hour(&agent, hour, u64::try_from(used).unwrap_or(0));
            }
        }
        if !rows.is_empty() {
            tracing::info!(sessions = rows.len() - refused, "session state restored");
        }
        Ok(())
    }

    /// Saves the sessions and hourly counts that changed since the last call
    /// (write-behind, every watch period and at shutdown).
    pub async fn save_sessions(&self) -> Result<(), GatewayError> {
        use warden_store::SessionStore as _;
        if self.shares_sessions() {
            // Written through at each decision.
            return Ok(());
        }
        let now = crate::now_millis();
        let rows: Vec<warden_store::SessionStateRecord> = self
            .engine
            .take_changed()
            .into_iter()
            .map(|s| warden_store::SessionStateRecord {
                agent: s.agent,
                instance: s.instance,
                session: s.session,
                state: s.state,
                updated_at: now,
            })
            .collect();
        let hours = self.engine.take_changed_hours();
        let hour_rows: Vec<warden_store::HourBudgetRecord<'_>> = hours
            .iter()
            .map(|(agent, hour, used)| warden_store::HourBudgetRecord {
                agent: agent.as_str(),
                hour: i64::try_from(*hour).unwrap_or(i64::MAX),
                used: i64::try_from(*used).unwrap_or(i64::MAX),
            })
            .collect();
        let saved = match self.store.save_sessions(&rows).await {
            Ok(()) => self.store.save_hour_budgets(&hour_rows).await,
            Err(e) => Err(e),
        };
        if let Err(e) = saved {
            // Saved next time: nothing is dropped because a write failed.
            for r in &rows {
                self.engine.mark_changed(&r.agent, &r.instance, &r.session);
            }
            for (agent, _, _) in &hours {
                self.engine.mark_hour_changed(agent);
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Makes a new signing key current when the current one is older than
    /// `[serve] signing_key_rotation_days` (keys kept in the store only).
    async fn rotate_if_due(&self) {
        let days = self.config.serve.signing_key_rotation_days;
        let Some(kek) = self.kek.as_ref().filter(|_| days > 0) else {
            return;
        };
        if !rotation_due(self.keys.load().current_since, days) {
            return;
        }
        let leeway = self.identity.load().verifier.leeway();
        match crate::signing_keys::rotate_signing_key(&self.store, kek, leeway).await {
            Ok(keys) => {
                tracing::info!(
                    current = keys.current.key_id(),
                    "the signing key was rotated on schedule"
                );
                if let Err(e) = self.reload_identity().await {
                    tracing::warn!(error = %e, "reload after the rotation failed");
                }
            }
            Err(e) => tracing::error!(error = %e, "the scheduled signing key rotation failed"),
        }
    }

    /// Makes a new X.509 CA current when the current one is older than
    /// `[serve] ca_rotation_days` (CAs kept in the store only).
    async fn rotate_ca_if_due(&self) {
        let days = self.config.serve.ca_rotation_days;
        let Some(kek) = self.kek.as_ref().filter(|_| days > 0) else {
            return;
        };
        let since = self.ca_since.load(Ordering::Acquire);
        if self.x509.lock().is_none() || since == 0 {
            return;
        }
        if !rotation_due(since, days) {
            return;
        }
        let leeway = self.identity.load().verifier.leeway();
        let trust_domain = &self.config.trust_domain;
        match crate::ca_keys::rotate_authority(&self.store, kek, trust_domain, leeway).await {
            Ok(authorities) => {
                tracing::info!(
                    current = %authorities.current.certificate().fingerprint(),
                    "the X.509 CA was rotated on schedule"
                );
                if let Err(e) = self.reload_identity().await {
                    tracing::warn!(error = %e, "reload after the CA rotation failed");
                }
            }
            Err(e) => tracing::error!(error = %e, "the scheduled X.509 CA rotation failed"),
        }
    }

    /// Reloads when the store's change counter moved, or a manifest or
    /// policy file was edited, added or removed. Returns whether it did.
    pub async fn reload_if_changed(&self) -> Result<bool, GatewayError> {
        let latest = self.store.latest_change().await?;
        let files = self.source.files_fingerprint(&self.config);
        let files_moved = {
            let mut seen = self.files.lock();
            let moved = *seen != files;
            *seen = files;
            moved
        };
        if latest == self.last_change.load(Ordering::Acquire) && !files_moved {
            return Ok(false);
        }
        self.last_change.store(latest, Ordering::Release);
        let result = self.reload().await;
        // Revocations and tokens are in force even when a policy set was
        // rejected (the running one keeps serving).
        if matches!(result, Ok(()) | Err(GatewayError::Policy(_))) {
            self.applied_change.store(latest, Ordering::Release);
        }
        result?;
        Ok(true)
    }

    /// Watches the store until `shutdown` fires: every `period`, reload if
    /// anything changed. Revocations written by the CLI take effect within one
    /// period.
    pub async fn watch(
        self: Arc<Self>,
        period: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sweeps = 0u32;
        // On PostgreSQL a change made by another node or the CLI is told at
        // once; the period's poll stays as the backstop.
        let mut changes = None;
        loop {
            if changes.is_none()
                && let AnyStore::Postgres(pg) = &self.store
            {
                match pg.listen_changes().await {
                    Ok(l) => changes = Some(l),
                    Err(e) => tracing::warn!(error = %e, "cannot listen for changes; polling"),
                }
            }
            tokio::select! {
                _ = tick.tick() => {}
                told = next_change(&mut changes) => {
                    if let Err(e) = told {
                        tracing::warn!(error = %e, "lost the change notifications; polling until they are back");
                        changes = None;
                    }
                    if let Err(e) = self.reload_if_changed().await {
                        tracing::warn!(error = %e, "reload check failed");
                    }
                    continue;
                }
                _ = shutdown.changed() => {
                    if let Err(e) = self.save_inventory().await {
                        tracing::warn!(error = %e, "sightings and token uses could not be saved at shutdown");
                    }
                    if let Err(e) = self.save_sessions().await {
                        tracing::error!(error = %e, "session state could not be saved at shutdown");
                    }
                    return;
                }
            }
            if let Err(e) = self.save_sessions().await {
                tracing::error!(error = %e, "session state could not be saved; retrying");
            }
            if sweeps.is_multiple_of(4)
                && let Err(e) = self.save_inventory().await
            {
                tracing::warn!(error = %e, "sightings and token uses could not be saved; retrying");
            }
            if let Err(e) = self.reload_if_changed().await {
                tracing::warn!(error = %e, "reload check failed");
            }
            sweeps = sweeps.wrapping_add(1);
            if sweeps.is_multiple_of(240) {
                self.rotate_if_due().await;
                self.rotate_ca_if_due().await;
                let idle = Duration::from_secs(self.config.serve.session_idle_secs);
                self.engine.expire_sessions(idle);
                let forget_before = crate::now_millis()
                    .saturating_sub(i64::try_from(idle.as_millis()).unwrap_or(i64::MAX));
                let hour = i64::try_from(self.engine.hour_now()).unwrap_or(i64::MAX);
                if let Err(e) =
                    warden_store::SessionStore::forget_sessions(&self.store, forget_before, hour)
                        .await
                {
                    tracing::warn!(error = %e, "forgetting idle session state failed");
                }
                let hosted_idle = Duration::from_secs(self.config.mcp.hosted_idle_secs);
                self.mcp_sessions.expire(idle, hosted_idle);
                let now = crate::now_millis();
                if let Err(e) = self.store.expire_approvals(now).await {
                    tracing::warn!(error = %e, "expiring approvals failed");
                }
                if sweeps.is_multiple_of(240 * 60) {
                    self.sweep_inventory().await;
                }
            }
        }
    }
}

/// The next change told by `listener`; never, without one.
async fn next_change(
    listener: &mut Option<warden_store::ChangeListener>,
) -> Result<i64, warden_store::StoreError> {
    match listener {
        Some(l) => l.next().await,
        None => std::future::pending().await,
    }
}

/// A verifier that accepts tokens signed by any of `keys`.
fn verifier_for(config: &Config, keys: &crate::signing_keys::SigningKeys) -> JwtSvidVerifier {
    JwtSvidVerifier::new(
        config.trust_domain.clone(),
        config.serve.audience.clone(),
        keys.all.iter().map(|k| k.verifying_key()).collect(),
    )
}

/// Whether a key current since `since` (unix ms) is `days` old or older.
fn rotation_due(since: i64, days: u64) -> bool {
    let age = crate::now_millis().saturating_sub(since);
    age >= i64::try_from(days)
        .unwrap_or(i64::MAX)
        .saturating_mul(86_400_000)
}
