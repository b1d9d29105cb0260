//! Warden's SPIFFE Workload API: a gRPC server on a Unix domain socket that
//! hands local workloads their SVIDs and trust bundles, as a SPIRE agent does.
//!
//! It serves the `SpiffeWorkloadAPI` service of the SPIFFE `workload.proto`:
//! `FetchX509SVID` and `FetchX509Bundles` (streaming), `FetchJWTSVID`,
//! `FetchJWTBundles` (streaming) and `ValidateJWTSVID`, so standard clients
//! (go-spiffe, py-spiffe, java-spiffe, the `spiffe` crate) work unchanged
//! with `SPIFFE_ENDPOINT_SOCKET=unix:///path/to/socket`.
//!
//! # Attestation
//!
//! Every request must carry the metadata `workload.spiffe.io: true`
//! (refused with `InvalidArgument` otherwise, as the specification asks:
//! it keeps browsers and proxies from reaching the API by accident). The
//! caller is then attested from its connection: the kernel's peer
//! credentials (`SO_PEERCRED`: user id, group id, process id, taken when it
//! connected) and its executable (`/proc/<pid>/exe`, when readable). Its
//! identities are those of every [`RegistrationEntry`] whose selectors
//! (`uid`, `gid`, `path`: all that an entry names must match) fit it; a
//! caller that matches none is refused with `PermissionDenied` ("no identity
//! issued"), as SPIRE does, on every call including the bundle ones.
//!
//! # What is not attested
//!
//! Only those three selectors exist: there are no container, Kubernetes,
//! systemd or cgroup selectors, and no binary hash. The `path` selector
//! trusts whoever can write that path. Credentials are read when the
//! client connects; a process that forks, or execs another binary on an
//! open connection, keeps the identity of the original. A process id can be
//! reused, so a `path` read for a process that has just exited may describe
//! a newer process (a `path` selector is at worst as strong as `uid`
//! alongside it). Callers in another user or PID namespace are seen as the
//! kernel maps them.
//!
//! # Clients that send the socket path as authority
//!
//! gRPC C-core (Python's `grpcio` from 1.57, so py-spiffe; C++, Ruby) sends
//! the percent-encoded socket path as the HTTP/2 `:authority` of a Unix
//! socket channel. That is not a valid authority, and the HTTP/2 layer under
//! tonic (the `h2` crate) would reset every such stream with
//! `PROTOCOL_ERROR`, with no option to relax it (hyperium/h2#487 is open).
//! So each connection's incoming bytes pass a small filter that overwrites
//! an invalid literal `:authority` value with `x`s of the same length
//! (lengths kept, the HPACK tables of both ends stay in step; see the
//! `authority` module). Clients that Huffman-code the value (grpc-java may)
//! are not rewritten and still fail unless they set the authority, e.g.
//! to `localhost`; go-spiffe and the `spiffe` crate send `localhost`.
//!
//! # Issuing
//!
//! SVIDs come from an [`SvidIssuer`]. [`JwtIssuer`] is its JWT half over
//! `warden-identity`'s signing key; an issuer of X.509-SVIDs implements the
//! trait and can delegate its JWT methods to a [`JwtIssuer`].
//! `FetchX509SVID` sends new SVIDs at half of their lifetime and whenever
//! the issuer reports a bundle change ([`SvidIssuer::bundle_updates`]).
//! Streams end when the client goes away or the server shuts down.
//!
//! ```no_run
//! use std::sync::Arc;
//! use warden_identity::SigningKey;
//! use warden_types::TrustDomain;
//! use warden_workload::{Entries, JwtIssuer, RegistrationEntry};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let entries = Entries::new(vec![RegistrationEntry::for_uid(
//!     "spiffe://example.org/agent/invoice-bot/worker-1".parse()?,
//!     1001,
//! )])?;
//! let issuer = JwtIssuer::new(TrustDomain::new("example.org")?, SigningKey::generate());
//! let shutdown = async {
//!     let _ = tokio::signal::ctrl_c().await;
//! };
//! warden_workload::serve(
//!     "/run/warden/workload.sock".as_ref(),
//!     entries,
//!     Arc::new(issuer),
//!     shutdown,
//! )
//! .await?;
//! # Ok(())
//! # }
//! ```

mod api;
mod attest;
mod authority;
mod entry;
mod error;
mod issuer;
mod proto;
mod service;
mod socket;
mod status;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use futures_util::StreamExt as _;
use tokio_stream::wrappers::UnixListenerStream;

pub use api::SECURITY_HEADER;
pub use attest::{Workload, executable};
pub use entry::{Entries, RegistrationEntry, WorkloadConfig};
pub use error::{IssueError, WorkloadError};
pub use issuer::{
    DEFAULT_JWT_TTL, DEFAULT_X509_TTL, JwtIssuer, PrivateKeyDer, SvidIssuer, ValidatedJwt,
    WardenIssuer, X509Svid,
};
pub use socket::SOCKET_MODE;

/// Serves the Workload API on the Unix socket `socket_path` until
/// `shutdown` completes, then ends the open streams, waits for the
/// connections to close and removes the socket.
///
/// A stale socket at `socket_path` is replaced; a live one, or a file that
/// is not a socket, is an error. The socket's mode is [`SOCKET_MODE`].
pub async fn serve(
    socket_path: &Path,
    entries: Entries,
    issuer: Arc<dyn SvidIssuer>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), WorkloadError> {
    let listener = socket::bind(socket_path).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let service = service::WorkloadApiService::new(api::WorkloadApi::new(entries, issuer, stopped));
    let signal = async move {
        shutdown.await;
        // Ends the streams, so that the graceful shutdown can finish.
        stop.send_replace(true);
    };
    tracing::info!(socket = %socket_path.display(), "workload API listening");
    let incoming = UnixListenerStream::new(listener)
        .map(|connection| connection.map(authority::AuthorityFix::new));
    let served = tonic::transport::Server::builder()
        .serve_with_incoming_shutdown(service, incoming, signal)
        .await
        .map_err(|error| WorkloadError::Serve {
            reason: error.to_string(),
        });
    let _ = std::fs::remove_file(socket_path);
    served
}
