//! The two listeners: data plane and admin plane, never on one socket.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::error::GatewayError;
use crate::state::Gateway;
use crate::tls::{DataPlaneTls, X509Setup};
use crate::{admin, audit_api, decisions, incidents, inventory, mcp, monitor_api, observe, pins};

/// How often the gateway checks the store for changes.
pub const WATCH_PERIOD: Duration = Duration::from_millis(250);

/// The data-plane router: what agents reach with their SVIDs.
pub fn data_router(gw: Arc<Gateway>) -> Router {
    let limit = gw.config.serve.max_body_bytes;
    let timeout = Duration::from_secs(gw.config.serve.request_timeout_secs);
    // MCP streams and waits for approvals on its own clock (`[mcp]`); the
    // rest of the plane answers within the request timeout.
    let timed = with_timeout(
        Router::new()
            .route("/v1/decisions", post(decisions::post_decision))
            .route("/v1/decisions/{id}", get(decisions::get_decision))
            .route("/v1/observations", post(observe::post_observation))
            .route("/v1/grants", get(observe::get_grants))
            .route("/v1/tools/screen", post(pins::post_screen)),
        timeout,
    );
    Router::new()
        .merge(timed)
        .route("/mcp/{server}", axum::routing::any(mcp::endpoint))
        .route(
            "/llm/{provider}/{*path}",
            axum::routing::any(crate::llm::endpoint),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp/{server}",
            get(mcp::resource_metadata),
        )
        .route("/.well-known/spiffe/bundle", get(admin::bundle))
        .route("/healthz", get(admin::healthz))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(gw)
}

/// The admin-plane router: what operators reach with admin tokens.
pub fn admin_router(gw: Arc<Gateway>) -> Router {
    let limit = gw.config.serve.max_body_bytes;
    let router = Router::new()
        .route(
            "/v1/agents",
            get(admin::list_agents).post(admin::register_agent),
        )
        .route("/v1/agents/{name}", get(admin::show_agent))
        .route("/v1/agents/{name}/suspend", post(admin::suspend))
        .route("/v1/agents/{name}/resume", post(admin::resume))
        .route(
            "/v1/revocations",
            get(admin::list_revocations).post(admin::revoke),
        )
        .route("/v1/policies", get(admin::list_policies))
        .route("/v1/policies/lint", post(admin::lint_policies))
        .route("/v1/policies/test", post(admin::test_policies))
        .route("/v1/approvals", get(admin::list_approvals))
        .route("/v1/approvals/{id}", get(admin::show_approval))
        .route("/v1/approvals/{id}/approve", post(admin::approve))
        .route("/v1/approvals/{id}/reject", post(admin::reject))
        .route("/v1/tools", get(pins::list))
        .route("/v1/tools/{server}", get(pins::show))
        .route("/v1/tools/{server}/accept", post(pins::accept))
        .route(
            "/v1/audit/checkpoint",
            get(audit_api::checkpoint).post(audit_api::make_checkpoint),
        )
        .route("/v1/audit/entries", get(audit_api::entries))
        .route("/v1/inventory", get(inventory::list))
        .route("/v1/inventory/discoveries", post(inventory::discoveries))
        .route("/v1/inventory/{agent}", get(inventory::show))
        .route("/v1/sightings", get(inventory::sightings))
        .route("/v1/events", get(monitor_api::events))
        .route("/metrics", get(monitor_api::metrics))
        .route("/v1/alerts", get(monitor_api::alerts))
        .route("/v1/incidents", get(incidents::list))
        .route("/v1/reports/{kind}", get(crate::reports::report))
        .route("/v1/incidents/{id}", get(incidents::show))
        .route("/v1/incidents/{id}/report", get(incidents::report))
        .route("/v1/incidents/{id}/close", post(incidents::close))
        .route("/v1/audit/proofs/inclusion", get(audit_api::inclusion))
        .route("/v1/audit/proofs/consistency", get(audit_api::consistency))
        .route("/.well-known/spiffe/bundle", get(admin::bundle))
        .route("/healthz", get(admin::healthz))
        .route("/readyz", get(admin::readyz))
        .merge(crate::console::router())
        .fallback(not_found);
    with_timeout(
        router,
        Duration::from_secs(gw.config.serve.request_timeout_secs),
    )
    .layer(DefaultBodyLimit::max(limit))
    .with_state(gw)
}

/// `router` with a request timeout: a request (its body read included) that
/// takes longer than `limit` is answered 408, so a client trickling its body
/// cannot hold a handler.
fn with_timeout(router: Router<Arc<Gateway>>, limit: Duration) -> Router<Arc<Gateway>> {
    router.layer(
        tower::ServiceBuilder::new()
            .layer(axum::error_handling::HandleErrorLayer::new(
                move |_: tower::BoxError| async move {
                    crate::error::ApiError::new(
                        axum::http::StatusCode::REQUEST_TIMEOUT,
                        "timeout",
                        format!(
                            "the request took longer than {} s ([serve] request_timeout_secs)",
                            limit.as_secs()
                        ),
                    )
                },
            ))
            .timeout(limit),
    )
}

async fn not_found(uri: axum::http::Uri) -> crate::error::ApiError {
    crate::error::ApiError::not_found(format!("no route `{}`", uri.path()))
}

/// Bound listeners, ready to serve.
#[derive(Debug)]
pub struct Listeners {
    data: TcpListener,
    admin: TcpListener,
    x509: Option<X509Setup>,
}

impl Listeners {
    /// Binds both planes.
    pub async fn bind(data: &str, admin: &str) -> Result<Listeners, GatewayError> {
        let bind = |address: &str| {
            let address = address.to_owned();
            async move {
                TcpListener::bind(&address)
                    .await
                    .map_err(|source| GatewayError::Bind { address, source })
            }
        };
        Ok(Listeners {
            data: bind(data).await?,
            admin: bind(admin).await?,
            x509: None,
        })
    }

    /// The same listeners with Warden's X.509 CA in the trust bundle both
    /// planes serve, and, when `x509` has TLS settings, TLS on the data
    /// plane (the admin plane stays as it is).
    #[must_use]
    pub fn with_x509(mut self, x509: X509Setup) -> Listeners {
        self.x509 = Some(x509);
        self
    }

    /// The bound data-plane address.
    pub fn data_addr(&self) -> Result<SocketAddr, GatewayError> {
        self.data.local_addr().map_err(GatewayError::Serve)
    }

    /// The bound admin-plane address.
    pub fn admin_addr(&self) -> Result<SocketAddr, GatewayError> {
        self.admin.local_addr().map_err(GatewayError::Serve)
    }
}

/// Serves both planes and the store watcher until `shutdown` completes; then
/// stops accepting, finishes requests in flight and returns.
pub async fn run(
    gw: Arc<Gateway>,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let watcher = tokio::spawn(Arc::clone(&gw).watch(WATCH_PERIOD, rx.clone()));
    let alerts = tokio::spawn(Arc::clone(&gw).deliver_alerts());
    let federation = tokio::spawn(Arc::clone(&gw).keep_federation_fresh(rx.clone()));
    let limits = ConnectionLimits {
        max_connections: gw.config.serve.max_connections,
        header_read_timeout: Duration::from_secs(gw.config.serve.header_read_timeout_secs),
    };
    let (mut data_plane, mut admin_plane) =
        (data_router(Arc::clone(&gw)), admin_router(Arc::clone(&gw)));
    let mut tls = None;
    if let Some(x509) = listeners.x509 {
        let authorities = crate::admin::X509Authorities(Arc::clone(&x509.authorities));
        data_plane = data_plane.layer(axum::Extension(authorities.clone()));
        admin_plane = admin_plane.layer(axum::Extension(authorities));
        // CAs kept in the store: a rotation reaches the bundle and the
        // mTLS verifier without a restart.
        gw.follow_authorities(x509.clone()).await;
        tls = x509.tls;
        if let Some(tls) = &tls {
            // Client certificates of federated trust domains verify against
            // their bundles as they are refreshed.
            gw.federation.mirror(Arc::clone(&tls.federation));
        }
    }
    let data = tokio::spawn(serve_plane(
        listeners.data,
        data_plane,
        limits,
        tls,
        rx.clone(),
    ));
    let admin = tokio::spawn(serve_plane(
        listeners.admin,
        admin_plane,
        limits,
        None,
        rx.clone(),
    ));
    shutdown.await;
    gw.stopping.send_replace(true);
    let _ = tx.send(true);
    let mut result = Ok(());
    for task in [data, admin] {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(GatewayError::Serve(e)),
            Err(join) => result = Err(GatewayError::Serve(std::io::Error::other(join.to_string()))),
        }
    }
    let _ = watcher.await;
    let _ = federation.await;
    // Alerts already queued are delivered in the background until the
    // process exits; the task itself stops with the runtime.
    alerts.abort();
    if let Some(tracer) = &gw.tracer {
        tracer.shutdown().await;
    }
    result
}

/// What one plane allows its connections.
#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    /// Open connections at most; one more is closed as soon as it is accepted.
    max_connections: usize,
    /// How long a client may take to send a request's headers, counted from
    /// when the connection waits for them (so also an idle keep-alive
    /// connection's limit).
    header_read_timeout: Duration,
}

/// How long a stopping plane waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The service for one connection: `router`, each request carrying where it
/// came from and the identity its client certificate proved.
fn connection_service(
    router: Router,
    peer: SocketAddr,
    svid: Option<Arc<crate::tls::PeerSvid>>,
) -> impl hyper::service::Service<
    axum::extract::Request<hyper::body::Incoming>,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone {
    hyper_util::service::TowerToHyperService::new(tower::ServiceExt::map_request(
        router,
        move |mut request: axum::extract::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(Peer(peer));
            if let Some(svid) = &svid {
                request.extensions_mut().insert(Arc::clone(svid));
            }
            request
        },
    ))
}

/// The address a request's connection came from (a request extension).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) SocketAddr);

/// Serves one plane: HTTP/1.1 with a header read timeout, at most
/// `max_connections` connections at once, `TCP_NODELAY` (an SSE answer's last
/// small write would otherwise wait ~40 ms for the peer's delayed ACK); with
/// `tls`, each connection's TLS handshake first (within the header read
/// timeout), a refused one logged with why and from where.
async fn serve_plane(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<DataPlaneTls>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let stopping = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::pin!(stopping);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stopping => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Over the cap: closed at once, before any byte is read.
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &tls else {
            let service = connection_service(router.clone(), peer, None);
            let connection = http.serve_connection(hyper_util::rt::TokioIo::new(tcp), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _ = connection.await;
                drop(permit);
            });
            continue;
        };
        let (tls, router, http, watcher) = (
            tls.clone(),
            router.clone(),
            http.clone(),
            graceful.watcher(),
        );
        tokio::spawn(async move {
            let accepted =
                tokio::time::timeout(limits.header_read_timeout, tls.acceptor.accept(tcp)).await;
            let stream = match accepted {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    tracing::warn!(peer = %peer, %error, "TLS handshake refused on the data plane");
                    return;
                }
                Err(_) => {
                    tracing::warn!(peer = %peer, "TLS handshake timed out on the data plane");
                    return;
                }
            };
            let svid = crate::tls::peer_svid(&tls, stream.get_ref().1);
            let service = connection_service(router, peer, svid);
            let connection = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = watcher.watch(connection).await;
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("connections still open after {} s; stopping anyway", DRAIN_TIMEOUT.as_secs());
        }
    }
    Ok(())
}
