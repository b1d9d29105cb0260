//! Starts a gateway on loopback with a copy of the example configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use warden_gateway::{ConfigSource, Gateway, Listeners, run};
use warden_identity::{IssueRequest, SigningKey};
use warden_store::{AnyStore, PostgresStore, Store};
use warden_types::{AgentName, InstanceId, Role, SpiffeId, TrustDomain};

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// The backends to run: SQLite always; PostgreSQL when configured, else a loud skip.
pub(crate) fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if std::env::var("WARDEN_TEST_POSTGRES").is_ok() {
        v.push(Backend::Postgres);
    } else {
        assert!(
            std::env::var_os("WARDEN_TEST_STRICT").is_none(),
            "WARDEN_TEST_STRICT is set: the PostgreSQL gateway tests may not be skipped (set WARDEN_TEST_POSTGRES)"
        );
        eprintln!("SKIPPED: gateway tests on PostgreSQL (set WARDEN_TEST_POSTGRES=postgres://...)");
    }
    v
}

pub(crate) struct TestGateway {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) store: AnyStore,
    pub(crate) data: String,
    pub(crate) admin: String,
    pub(crate) key: Arc<SigningKey>,
    pub(crate) admin_token: String,
    pub(crate) client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    schema: Option<(String, String)>,
    pub(crate) signer: Arc<warden_audit::CheckpointSigner>,
    pub(crate) witness: PathBuf,
    /// Where the payload wrapping keys live.
    pub(crate) payload_keys: warden_audit::WrapKeyDir,
    audit_stop: Option<tokio::sync::watch::Sender<bool>>,
    audit_task: Option<tokio::task::JoinHandle<()>>,
    /// The X.509 CA (in the trust bundle; with TLS, the client CA).
    pub(crate) x509: Arc<warden_identity::X509Authority>,
    /// With TLS on the data plane: the server certificate's files.
    pub(crate) server_pki: Option<warden_test::ServerPki>,
}

pub(crate) fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

async fn open_store(backend: Backend, data_dir: &Path) -> (AnyStore, Option<(String, String)>) {
    match backend {
        Backend::Sqlite => {
            let location = warden_store::StoreLocation::parse(None, data_dir).unwrap();
            (AnyStore::open(&location).await.unwrap(), None)
        }
        Backend::Postgres => {
            let url = std::env::var("WARDEN_TEST_POSTGRES").unwrap();
            let schema = format!("warden_gw_{}", uuid_like());
            let admin = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let search_path = schema.clone();
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(8)
                .after_connect(move |conn, _| {
                    let sql = format!("SET search_path TO {search_path}");
                    Box::pin(async move {
                        sqlx::Executor::execute(conn, sqlx::raw_sql(sqlx::AssertSqlSafe(sql)))
                            .await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await
                .unwrap();
            let store = PostgresStore::from_pool(pool).await.unwrap();
            (AnyStore::Postgres(store), Some((url, schema)))
        }
    }
}

fn uuid_like() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", nanos, std::process::id())
}

impl TestGateway {
    /// A gateway on the example set, with `tweak` applied to warden.toml's text.
    pub(crate) async fn start(
        backend: Backend,
        tweak: impl FnOnce(String) -> String,
    ) -> TestGateway {
        Self::start_with(backend, tweak, None, None, None).await
    }

    /// A gateway on the example set with TLS on the data plane
    /// (`[serve.tls]`, `client_auth` as given, client CA Warden's own).
    pub(crate) async fn start_tls(backend: Backend, client_auth: &str) -> TestGateway {
        Self::start_with(backend, |t| t, Some(client_auth), None, None).await
    }

    /// As [`TestGateway::start_tls`] (`optional`), with `client_ca_pem` as
    /// the client CA bundle file (`client_ca = "tls/client-ca.pem"`).
    pub(crate) async fn start_tls_with_client_ca(
        backend: Backend,
        client_ca_pem: &str,
    ) -> TestGateway {
        Self::start_with(backend, |t| t, Some("optional"), Some(client_ca_pem), None).await
    }

    /// As [`TestGateway::start_tls`], with `tweak` applied to warden.toml's text.
    pub(crate) async fn start_tls_with(
        backend: Backend,
        client_auth: &str,
        tweak: impl FnOnce(String) -> String,
    ) -> TestGateway {
        Self::start_with(backend, tweak, Some(client_auth), None, None).await
    }

    /// As [`TestGateway::start_tls`] (`optional`), with the signing keys
    /// and the X.509 CAs kept in the store under `kek` (as `warden serve`
    /// keeps them): a rotation in the store reaches the gateway.
    pub(crate) async fn start_tls_store_ca(
        backend: Backend,
        kek: warden_identity::KeyEncryptionKey,
    ) -> TestGateway {
        Self::start_with(backend, |t| t, Some("optional"), None, Some(kek)).await
    }

    async fn start_with(
        backend: Backend,
        tweak: impl FnOnce(String) -> String,
        client_auth: Option<&str>,
        client_ca_pem: Option<&str>,
        kek: Option<warden_identity::KeyEncryptionKey>,
    ) -> TestGateway {
        let dir = tempfile::tempdir().unwrap();
        let config_dir = dir.path().join("config");
        warden_test::copy_dir(&examples_dir(), &config_dir);
        let config_path = config_dir.join("warden.toml");
        let mut text = tweak(std::fs::read_to_string(&config_path).unwrap());
        let server_pki = client_auth.map(|client_auth| {
            let pki = warden_test::server_pki(&config_dir.join("tls"));
            let client_ca = match client_ca_pem {
                Some(pem) => {
                    std::fs::write(config_dir.join("tls/client-ca.pem"), pem).unwrap();
                    "client_ca = \"tls/client-ca.pem\"\n"
                }
                None => "",
            };
            text = text.replacen(
                "[serve]\n",
                &format!(
                    "[serve.tls]\ncert = \"tls/server.pem\"\nkey = \"tls/server.key\"\nclient_auth = \"{client_auth}\"\n{client_ca}\n[serve]\n"
                ),
                1,
            );
            assert!(text.contains("[serve.tls]"), "the example warden.toml has no [serve]");
            pki
        });
        std::fs::write(&config_path, text).unwrap();
        let (store, schema) = open_store(backend, &dir.path().join("data")).await;
        let admin_token = warden_identity::generate_admin_token();
        store
            .add_admin_token(
                "test-admin",
                Role::Admin,
                &warden_identity::token_digest(admin_token.expose()),
                0,
            )
            .await
            .unwrap();
        let key = Arc::new(SigningKey::generate());
        let signer =
            Arc::new(warden_audit::CheckpointSigner::generate("example.org/warden-audit").unwrap());
        let witness = dir.path().join("witness");
        let payload_keys = warden_audit::WrapKeyDir::new(dir.path().join("payload-keys"));
        let (audit_stop, audit_stopped) = tokio::sync::watch::channel(false);
        let settings = warden_gateway::audit::AuditSettings {
            durability: warden_policy::Durability::Sync,
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(3600),
            witness_dir: witness.clone(),
            signer: Arc::clone(&signer),
            origin: "example.org/warden-audit".into(),
            payload_keys: payload_keys.clone(),
        };
        let (audit, audit_task) =
            warden_gateway::audit::AuditLog::start(store.clone(), settings, audit_stopped)
                .await
                .unwrap();
        let trust_domain = TrustDomain::new("example.org").unwrap();
        let config = ConfigSource::File(dir.path().join("config/warden.toml"))
            .config()
            .unwrap();
        let (gateway, key, x509, setup) = match kek {
            None => {
                let gateway = Gateway::start(
                    ConfigSource::File(config_path),
                    store.clone(),
                    Arc::clone(&key),
                    audit,
                )
                .await
                .unwrap();
                let x509 = Arc::new(
                    warden_identity::X509Authority::generate(&trust_domain, SystemTime::now())
                        .unwrap(),
                );
                let setup = warden_gateway::X509Setup::new(
                    x509.certificate().clone(),
                    &trust_domain,
                    config.serve.tls.as_ref(),
                )
                .unwrap();
                (gateway, key, x509, setup)
            }
            Some(kek) => {
                let keys = warden_gateway::signing_keys::load_signing_keys(&store, &kek, None)
                    .await
                    .unwrap();
                let key = Arc::clone(&keys.current);
                let authorities =
                    warden_gateway::ca_keys::load_authorities(&store, &kek, &trust_domain, None)
                        .await
                        .unwrap();
                let gateway = Gateway::start_with_keys(
                    ConfigSource::File(config_path),
                    store.clone(),
                    keys,
                    Some(kek),
                    audit,
                )
                .await
                .unwrap();
                let setup = warden_gateway::X509Setup::from_authorities(
                    &authorities,
                    &trust_domain,
                    config.serve.tls.as_ref(),
                )
                .unwrap();
                (gateway, key, Arc::clone(&authorities.current), setup)
            }
        };
        let listeners = Listeners::bind("127.0.0.1:0", "127.0.0.1:0")
            .await
            .unwrap()
            .with_x509(setup);
        let scheme = if server_pki.is_some() {
            "https"
        } else {
            "http"
        };
        let data = format!("{scheme}://{}", listeners.data_addr().unwrap());
        let admin = format!("http://{}", listeners.admin_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let gw = Arc::clone(&gateway);
        let task = tokio::spawn(async move {
            run(gw, listeners, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestGateway {
            dir,
            gateway,
            store,
            data,
            admin,
            key,
            admin_token: admin_token.expose().to_owned(),
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
            schema,
            signer,
            witness,
            payload_keys,
            audit_stop: Some(audit_stop),
            audit_task: Some(audit_task),
            x509,
            server_pki,
        }
    }

    /// An admin-plane token of `role`, registered and loaded.
    pub(crate) async fn admin_token_with_role(&self, role: Role, name: &str) -> String {
        let token = warden_identity::generate_admin_token();
        self.store
            .add_admin_token(
                name,
                role,
                &warden_identity::token_digest(token.expose()),
                0,
            )
            .await
            .unwrap();
        self.gateway.reload().await.unwrap();
        token.expose().to_owned()
    }

    pub(crate) fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// A JWT-SVID for `agent`/`instance`, issued at `now` for `ttl`.
    pub(crate) fn token_at(
        &self,
        agent: &str,
        instance: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> String {
        let id = SpiffeId::new(
            TrustDomain::new("example.org").unwrap(),
            AgentName::new(agent).unwrap(),
            InstanceId::new(instance).unwrap(),
        );
        let issued = self
            .key
            .issue(&IssueRequest {
                spiffe_id: id,
                audience: vec!["warden".into()],
                ttl,
                now,
            })
            .unwrap();
        issued.token.expose().to_owned()
    }

    pub(crate) fn token(&self, agent: &str) -> String {
        self.token_at(agent, "i-1", SystemTime::now(), Duration::from_secs(900))
    }

    /// POST `path` on the data plane; returns (status, body).
    async fn data_post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.data))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    /// POST /v1/decisions; returns (status, body).
    pub(crate) async fn decide(&self, token: &str, body: Value) -> (u16, Value) {
        self.data_post("/v1/decisions", token, body).await
    }

    /// POST /v1/observations; returns (status, body).
    pub(crate) async fn observe(&self, token: &str, body: Value) -> (u16, Value) {
        self.data_post("/v1/observations", token, body).await
    }

    pub(crate) async fn admin_get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.admin))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    pub(crate) async fn admin_post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.admin))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }

    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        if let Some(stop) = self.audit_stop.take() {
            let _ = stop.send(true);
        }
        if let Some(task) = self.audit_task.take() {
            task.await.unwrap();
        }
        if let Some((url, schema)) = self.schema.take() {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

pub(crate) fn payment(amount: Value, session: &str) -> Value {
    json!({"server": "accounting", "tool": "schedule_payment",
           "args": {"amount": amount, "iban": "DE89370400440532013000"}, "session": session})
}
