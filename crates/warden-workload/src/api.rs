//! The Workload API's handlers: the security header, attestation, entry
//! lookup, then the issuer; the streaming calls resend on rotation.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::Stream;
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::transport::server::UdsConnectInfo;
use tonic::{Request, Response, Status};

use crate::attest::Workload;
use crate::entry::{Entries, RegistrationEntry};
use crate::issuer::SvidIssuer;
use crate::proto;
use crate::status;

/// The metadata key every Workload API request must carry, with value `true`.
pub const SECURITY_HEADER: &str = "workload.spiffe.io";

/// The shortest wait between two X.509-SVID fetches of one stream, so that
/// an issuer handing out SVIDs past their half-life cannot make it spin.
const MIN_REFRESH: Duration = Duration::from_millis(500);

/// A stream of responses, as tonic sends them.
pub(crate) type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The state the handlers share.
pub(crate) struct WorkloadApi {
    entries: Entries,
    issuer: Arc<dyn SvidIssuer>,
    /// Becomes `true` when the server shuts down: open streams end.
    shutdown: watch::Receiver<bool>,
}

impl WorkloadApi {
    pub(crate) fn new(
        entries: Entries,
        issuer: Arc<dyn SvidIssuer>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            entries,
            issuer,
            shutdown,
        }
    }

    /// The security header, then the caller's entries: refused when it
    /// cannot be attested or matches none.
    fn caller<T>(&self, request: &Request<T>) -> Result<Vec<RegistrationEntry>, Status> {
        let header = request.metadata().get(SECURITY_HEADER);
        if header.is_none_or(|value| value.as_bytes() != b"true") {
            return Err(Status::invalid_argument(
                "security header missing from request",
            ));
        }
        let workload = request
            .extensions()
            .get::<UdsConnectInfo>()
            .and_then(|info| info.peer_cred.as_ref())
            .map(Workload::from_cred)
            .ok_or_else(|| Status::unauthenticated("the caller could not be attested"))?;
        let found: Vec<RegistrationEntry> = self
            .entries
            .matching(&workload)
            .into_iter()
            .cloned()
            .collect();
        if found.is_empty() {
            tracing::info!(
                uid = workload.uid,
                gid = workload.gid,
                pid = workload.pid,
                path = ?workload.path,
                "workload API: no entry matches the caller"
            );
            return Err(Status::permission_denied("no identity issued"));
        }
        tracing::debug!(
            uid = workload.uid,
            pid = workload.pid,
            ids = ?found.iter().map(|e| e.spiffe_id.to_string()).collect::<Vec<_>>(),
            "workload API: caller attested"
        );
        Ok(found)
    }

    fn trust_domain_id(&self) -> String {
        format!("spiffe://{}", self.issuer.trust_domain())
    }

    pub(crate) fn fetch_x509_svid(
        self: Arc<Self>,
        request: Request<proto::X509SvidRequest>,
    ) -> Result<Response<ResponseStream<proto::X509SvidResponse>>, Status> {
        let entries = self.caller(&request)?;
        let stream = updates(self, move |api| api.x509_svid_response(&entries));
        Ok(Response::new(stream))
    }

    /// The caller's X.509-SVIDs, and when to fetch them again.
    fn x509_svid_response(
        &self,
        entries: &[RegistrationEntry],
    ) -> Result<(proto::X509SvidResponse, Option<SystemTime>), Status> {
        let bundle = self
            .issuer
            .x509_bundle()
            .map_err(|error| status::from_issue(&error))?;
        let mut svids = Vec::with_capacity(entries.len());
        let mut refresh_at: Option<SystemTime> = None;
        for entry in entries {
            let svid = self
                .issuer
                .x509_svid(&entry.spiffe_id)
                .map_err(|error| status::from_issue(&error))?;
            if svid.certificates.is_empty() || svid.private_key.as_bytes().is_empty() {
                return Err(status::from_issue(&crate::error::IssueError::Failed {
                    what: "an X.509-SVID",
                    reason: format!(
                        "the issuer returned no certificate or key for `{}`",
                        entry.spiffe_id
                    ),
                }));
            }
            let at = svid.refresh_at();
            refresh_at = Some(refresh_at.map_or(at, |earliest| earliest.min(at)));
            svids.push(proto::X509Svid {
                spiffe_id: entry.spiffe_id.to_string(),
                x509_svid: svid.certificates.concat(),
                x509_svid_key: svid.private_key.as_bytes().to_vec(),
                bundle: bundle.clone(),
                hint: entry.hint.clone().unwrap_or_default(),
            });
        }
        let response = proto::X509SvidResponse {
            svids,
            crl: Vec::new(),
            federated_bundles: HashMap::new(),
        };
        Ok((response, refresh_at))
    }

    pub(crate) fn fetch_x509_bundles(
        self: Arc<Self>,
        request: Request<proto::X509BundlesRequest>,
    ) -> Result<Response<ResponseStream<proto::X509BundlesResponse>>, Status> {
        self.caller(&request)?;
        let stream = updates(self, |api| {
            let bundle = api
                .issuer
                .x509_bundle()
                .map_err(|error| status::from_issue(&error))?;
            let response = proto::X509BundlesResponse {
                crl: Vec::new(),
                bundles: HashMap::from([(api.trust_domain_id(), bundle)]),
            };
            Ok((response, None))
        });
        Ok(Response::new(stream))
    }

    pub(crate) fn fetch_jwt_svid(
        &self,
        request: Request<proto::JwtSvidRequest>,
    ) -> Result<Response<proto::JwtSvidResponse>, Status> {
        let entries = self.caller(&request)?;
        let request = request.into_inner();
        if request.audience.is_empty() || request.audience.iter().any(String::is_empty) {
            return Err(Status::invalid_argument("audience must be specified"));
        }
        let wanted: Vec<&RegistrationEntry> = if request.spiffe_id.is_empty() {
            entries.iter().collect()
        } else {
            let chosen: Vec<&RegistrationEntry> = entries
                .iter()
                .filter(|entry| entry.spiffe_id.to_string() == request.spiffe_id)
                .collect();
            if chosen.is_empty() {
                return Err(Status::permission_denied(
                    "no identity issued for the requested SPIFFE ID",
                ));
            }
            chosen
        };
        let mut svids = Vec::with_capacity(wanted.len());
        for entry in wanted {
            let token = self
                .issuer
                .jwt_svid(&entry.spiffe_id, &request.audience)
                .map_err(|error| status::from_issue(&error))?;
            svids.push(proto::JwtSvid {
                spiffe_id: entry.spiffe_id.to_string(),
                svid: token.expose().to_owned(),
                hint: entry.hint.clone().unwrap_or_default(),
            });
        }
        Ok(Response::new(proto::JwtSvidResponse { svids }))
    }

    pub(crate) fn fetch_jwt_bundles(
        self: Arc<Self>,
        request: Request<proto::JwtBundlesRequest>,
    ) -> Result<Response<ResponseStream<proto::JwtBundlesResponse>>, Status> {
        self.caller(&request)?;
        let stream = updates(self, |api| {
            let bundle = api
                .issuer
                .jwt_bundle()
                .map_err(|error| status::from_issue(&error))?;
            let response = proto::JwtBundlesResponse {
                bundles: HashMap::from([(api.trust_domain_id(), bundle)]),
            };
            Ok((response, None))
        });
        Ok(Response::new(stream))
    }

    pub(crate) fn validate_jwt_svid(
        &self,
        request: Request<proto::ValidateJwtSvidRequest>,
    ) -> Result<Response<proto::ValidateJwtSvidResponse>, Status> {
        self.caller(&request)?;
        let request = request.into_inner();
        if request.audience.is_empty() {
            return Err(Status::invalid_argument("audience must be specified"));
        }
        if request.svid.is_empty() {
            return Err(Status::invalid_argument("svid must be specified"));
        }
        let validated = self
            .issuer
            .validate_jwt(&request.svid, &request.audience)
            .map_err(|error| status::from_issue(&error))?;
        Ok(Response::new(proto::ValidateJwtSvidResponse {
            spiffe_id: validated.spiffe_id.to_string(),
            claims: Some(proto::json_struct(&validated.claims)),
        }))
    }
}

/// A stream that sends `make(api)` now, then again at the time it names
/// (if any), whenever the issuer's bundles change, and ends on an error,
/// when the server shuts down, or when the client goes away (tonic drops
/// it). An unchanged response is not sent again. No task is spawned: the
/// waiting happens inside the stream, which its connection owns.
fn updates<T, F>(api: Arc<WorkloadApi>, make: F) -> ResponseStream<T>
where
    T: Clone + PartialEq + Send + 'static,
    F: Fn(&WorkloadApi) -> Result<(T, Option<SystemTime>), Status> + Send + Sync + 'static,
{
    struct State<T, F> {
        bundles: Option<watch::Receiver<u64>>,
        shutdown: watch::Receiver<bool>,
        api: Arc<WorkloadApi>,
        make: F,
        /// The last response sent and when to refresh it; `None` before the first.
        last: Option<(T, Option<Instant>)>,
        done: bool,
    }

    let mut bundles = api.issuer.bundle_updates();
    bundles.mark_unchanged();
    let state = State {
        bundles: Some(bundles),
        shutdown: api.shutdown.clone(),
        api,
        make,
        last: None,
        done: false,
    };
    Box::pin(futures_util::stream::unfold(
        state,
        |mut state| async move {
            if state.done {
                return None;
            }
            loop {
                if let Some((_, refresh)) = &state.last {
                    let refresh = *refresh;
                    tokio::select! {
                        () = shut_down(&mut state.shutdown) => return None,
                        () = sleep_until(refresh) => {}
                        () = changed(&mut state.bundles) => {}
                    }
                } else if *state.shutdown.borrow() {
                    return None;
                }
                match (state.make)(&state.api) {
                    Ok((response, refresh_at)) => {
                        let refresh = refresh_at.and_then(instant_of);
                        let unchanged = state
                            .last
                            .as_ref()
                            .is_some_and(|(last, _)| *last == response);
                        if unchanged {
                            state.last = Some((response, refresh));
                            continue;
                        }
                        state.last = Some((response.clone(), refresh));
                        return Some((Ok(response), state));
                    }
                    Err(status) => {
                        state.done = true;
                        return Some((Err(status), state));
                    }
                }
            }
        },
    ))
}

/// The instant at which wall-clock `time` comes, but at least
/// [`MIN_REFRESH`] from now; `None` when it is too far to represent.
fn instant_of(time: SystemTime) -> Option<Instant> {
    let wait = time
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Instant::now().checked_add(wait.max(MIN_REFRESH))
}

/// Waits until `at`, or for ever when there is no `at`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Waits for the next bundle change; for ever once the issuer has dropped
/// its sender (no more changes can come).
async fn changed(bundles: &mut Option<watch::Receiver<u64>>) {
    if let Some(receiver) = bundles {
        if receiver.changed().await.is_ok() {
            return;
        }
        *bundles = None;
    }
    std::future::pending().await
}

/// Waits until the server shuts down (or is gone).
async fn shut_down(shutdown: &mut watch::Receiver<bool>) {
    // An error means the server's sender is gone: shut down as well.
    let _ = shutdown.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests;
