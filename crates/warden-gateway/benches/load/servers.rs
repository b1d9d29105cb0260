//! The servers a load harness loads: a gateway on loopback, with its audit
//! log on, and a bare handler that only parses the same body.

#![allow(
    dead_code,
    reason = "shared by the load and monitoring benches, each using a part"
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::http::StatusCode;
use hyper::body::Bytes;
use hyper::header::HeaderValue;
use serde_json::{Value, json};
use warden_gateway::{Gateway, Listeners, run};
use warden_identity::{IssueRequest, SigningKey};
use warden_types::{AgentName, InstanceId, SpiffeId};

use crate::fixture::{AGENTS, agent};

/// Seconds measured per run, after one second of warm-up (default 5).
pub(crate) const SECS_VAR: &str = "WARDEN_LOAD_SECS";
/// Worker threads of the servers' runtime (default 1).
pub(crate) const SERVER_THREADS_VAR: &str = "WARDEN_LOAD_SERVER_THREADS";
/// Worker threads of the load generator's runtime (default 1).
pub(crate) const CLIENT_THREADS_VAR: &str = "WARDEN_LOAD_CLIENT_THREADS";
/// `sync` (default) or `batched`: the audit log's durability.
pub(crate) const DURABILITY_VAR: &str = "WARDEN_LOAD_DURABILITY";

/// The bare baseline: parse the body, answer a small JSON.
async fn bare(body: Bytes) -> Result<Json<Value>, StatusCode> {
    let value: Value = serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let fields = value.as_object().map_or(0, serde_json::Map::len);
    Ok(Json(
        json!({"id": "bare", "decision": "allow", "fields": fields}),
    ))
}

/// Both servers, running on the servers' runtime until [`Servers::stop`].
pub(crate) struct Servers {
    pub(crate) gw: Arc<Gateway>,
    pub(crate) data_addr: SocketAddr,
    pub(crate) admin_addr: SocketAddr,
    pub(crate) bare_addr: SocketAddr,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Servers {
    pub(crate) async fn start(
        dir: &Path,
        config: PathBuf,
        key: Arc<SigningKey>,
    ) -> anyhow::Result<Servers> {
        let gw = crate::common::start_gateway(dir, config, key, DURABILITY_VAR).await?;
        let listeners = Listeners::bind("127.0.0.1:0", "127.0.0.1:0").await?;
        let data_addr = listeners.data_addr()?;
        let admin_addr = listeners.admin_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let warden = tokio::spawn(run(Arc::clone(&gw), listeners, shutdown));
        let bare_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let bare_addr = bare_listener.local_addr()?;
        let (bare_stop, bare_stopped) = tokio::sync::oneshot::channel::<()>();
        let router = axum::Router::new().route("/v1/decisions", axum::routing::post(bare));
        let bare = tokio::spawn(async move {
            axum::serve(bare_listener, router)
                .with_graceful_shutdown(async move {
                    let _ = bare_stopped.await;
                })
                .await
        });
        let tasks = vec![
            tokio::spawn(async move { Ok(warden.await??) }),
            tokio::spawn(async move { Ok(bare.await??) }),
        ];
        Ok(Servers {
            gw,
            data_addr,
            admin_addr,
            bare_addr,
            stop: vec![stop, bare_stop],
            tasks,
        })
    }

    /// Stops accepting, lets requests in flight finish, and waits for both.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        for stop in self.stop {
            let _ = stop.send(());
        }
        for task in self.tasks {
            task.await??;
        }
        Ok(())
    }
}

/// Bearer headers of JWT-SVIDs for `count` agents spread over the set
/// (instance `i-<k>` of agent `k × AGENTS / count`).
pub(crate) fn issue_tokens(
    gw: &Gateway,
    key: &SigningKey,
    count: usize,
) -> anyhow::Result<Vec<HeaderValue>> {
    let trust_domain = &gw.config().trust_domain;
    (0..count)
        .map(|k| {
            let agent = AgentName::new(agent(k * (AGENTS / count)))?;
            let spiffe_id = SpiffeId::new(
                trust_domain.clone(),
                agent,
                InstanceId::new(format!("i-{k}"))?,
            );
            let audience = vec![gw.config().serve.audience.clone()];
            let issued = key.issue(&IssueRequest {
                spiffe_id,
                audience,
                ttl: Duration::from_secs(3600),
                now: SystemTime::now(),
            })?;
            Ok(HeaderValue::from_str(&format!(
                "Bearer {}",
                issued.token.expose()
            ))?)
        })
        .collect()
}
