//! The streams without a socket: tokio's clock paused, a fake issuer.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt as _;
use tonic::Code;
use warden_identity::Secret;
use warden_types::{SpiffeId, TrustDomain};

use super::*;
use crate::error::IssueError;
use crate::issuer::{PrivateKeyDer, ValidatedJwt, X509Svid};

/// SVIDs living an hour whose "certificate" is a counter; a bundle that
/// tests change by hand.
struct FakeIssuer {
    trust_domain: TrustDomain,
    issued: AtomicU64,
    bundle: parking_lot::Mutex<Vec<u8>>,
    bundles: watch::Sender<u64>,
    fail: std::sync::atomic::AtomicBool,
}

impl FakeIssuer {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            trust_domain: TrustDomain::new("example.org").unwrap(),
            issued: AtomicU64::new(0),
            bundle: parking_lot::Mutex::new(vec![1]),
            bundles: watch::channel(0).0,
            fail: false.into(),
        })
    }

    fn set_bundle(&self, bundle: Vec<u8>) {
        *self.bundle.lock() = bundle;
        self.bundles.send_modify(|sequence| *sequence += 1);
    }
}

impl SvidIssuer for FakeIssuer {
    fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    fn x509_svid(&self, _id: &SpiffeId) -> Result<X509Svid, IssueError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(IssueError::Failed {
                what: "an X.509-SVID",
                reason: "the CA is away".to_owned(),
            });
        }
        let serial = self.issued.fetch_add(1, Ordering::SeqCst);
        let now = SystemTime::now();
        Ok(X509Svid {
            certificates: vec![serial.to_be_bytes().to_vec()],
            private_key: PrivateKeyDer::new(vec![0x30]),
            issued_at: now,
            expires_at: now + Duration::from_secs(3600),
        })
    }

    fn x509_bundle(&self) -> Result<Vec<u8>, IssueError> {
        Ok(self.bundle.lock().clone())
    }

    fn jwt_svid(&self, _id: &SpiffeId, _audience: &[String]) -> Result<Secret, IssueError> {
        Err(IssueError::Unsupported { what: "JWT-SVIDs" })
    }

    fn jwt_bundle(&self) -> Result<Vec<u8>, IssueError> {
        Ok(self.bundle.lock().clone())
    }

    fn validate_jwt(&self, _token: &str, _audience: &str) -> Result<ValidatedJwt, IssueError> {
        Err(IssueError::Unsupported { what: "JWT-SVIDs" })
    }

    fn bundle_updates(&self) -> watch::Receiver<u64> {
        self.bundles.subscribe()
    }
}

fn api(issuer: Arc<FakeIssuer>) -> (Arc<WorkloadApi>, watch::Sender<bool>) {
    let (stop, stopped) = watch::channel(false);
    let api = WorkloadApi::new(Entries::default(), issuer, stopped);
    (Arc::new(api), stop)
}

fn x509_stream(api: Arc<WorkloadApi>) -> ResponseStream<proto::X509SvidResponse> {
    let entry =
        RegistrationEntry::for_uid("spiffe://example.org/agent/bot/w-1".parse().unwrap(), 1000);
    updates(api, move |api| {
        api.x509_svid_response(std::slice::from_ref(&entry))
    })
}

fn serial(response: &proto::X509SvidResponse) -> Vec<u8> {
    response.svids[0].x509_svid.clone()
}

#[tokio::test(start_paused = true)]
async fn x509_svids_are_resent_at_half_their_lifetime() {
    let issuer = FakeIssuer::new();
    let (api, _stop) = api(issuer.clone());
    let mut stream = x509_stream(api);
    let started = Instant::now();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    let second = stream.next().await.unwrap().unwrap();
    let waited = started.elapsed();
    assert!(
        waited > Duration::from_secs(1790) && waited <= Duration::from_secs(1800),
        "{waited:?}"
    );
    assert_ne!(serial(&first), serial(&second));
    assert_eq!(first.svids[0].bundle, [1]);
}

#[tokio::test(start_paused = true)]
async fn a_bundle_change_resends_at_once_and_an_unchanged_bundle_is_not_resent() {
    let issuer = FakeIssuer::new();
    let (api, _stop) = api(issuer.clone());
    let mut stream = updates(api, |api| {
        let bundle = api
            .issuer
            .jwt_bundle()
            .map_err(|e| status::from_issue(&e))?;
        Ok((bundle, None))
    });
    assert_eq!(stream.next().await.unwrap().unwrap(), [1]);
    // Told of a change that changed nothing: nothing is sent.
    issuer.set_bundle(vec![1]);
    let quiet = tokio::time::timeout(Duration::from_secs(3600), stream.next()).await;
    assert!(quiet.is_err(), "an unchanged bundle was resent");
    let started = Instant::now();
    issuer.set_bundle(vec![2]);
    assert_eq!(stream.next().await.unwrap().unwrap(), [2]);
    assert_eq!(started.elapsed(), Duration::ZERO);

    // X.509 streams also get new SVIDs at once.
    let (_stop, stopped) = watch::channel(false);
    let mut x509 = x509_stream(Arc::new(WorkloadApi::new(
        Entries::default(),
        issuer.clone(),
        stopped,
    )));
    let first = x509.next().await.unwrap().unwrap();
    issuer.set_bundle(vec![3]);
    let second = x509.next().await.unwrap().unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(second.svids[0].bundle, [3]);
    assert_ne!(serial(&first), serial(&second));
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_the_streams_and_so_does_an_issuer_error() {
    let issuer = FakeIssuer::new();
    let (api, stop) = api(issuer.clone());
    let mut stream = x509_stream(api.clone());
    stream.next().await.unwrap().unwrap();
    stop.send_replace(true);
    assert!(stream.next().await.is_none());
    // A stream opened after shutdown ends at once.
    assert!(x509_stream(api).next().await.is_none());

    let (api, _stop) = self::api(issuer.clone());
    issuer.fail.store(true, Ordering::SeqCst);
    let mut failing = x509_stream(api);
    let status = failing.next().await.unwrap().unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(!status.message().contains("away"), "{status:?}");
    assert!(failing.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn an_issuer_that_never_changes_its_bundle_does_not_spin() {
    struct Still(Arc<FakeIssuer>);
    impl SvidIssuer for Still {
        fn trust_domain(&self) -> &TrustDomain {
            self.0.trust_domain()
        }
        fn x509_svid(&self, id: &SpiffeId) -> Result<X509Svid, IssueError> {
            self.0.x509_svid(id)
        }
        fn x509_bundle(&self) -> Result<Vec<u8>, IssueError> {
            self.0.x509_bundle()
        }
        fn jwt_svid(&self, id: &SpiffeId, audience: &[String]) -> Result<Secret, IssueError> {
            self.0.jwt_svid(id, audience)
        }
        fn jwt_bundle(&self) -> Result<Vec<u8>, IssueError> {
            self.0.jwt_bundle()
        }
        fn validate_jwt(&self, token: &str, audience: &str) -> Result<ValidatedJwt, IssueError> {
            self.0.validate_jwt(token, audience)
        }
        // The default `bundle_updates`: its sender is gone at once.
    }
    let fake = FakeIssuer::new();
    let (stop, stopped) = watch::channel(false);
    let api = Arc::new(WorkloadApi::new(
        Entries::default(),
        Arc::new(Still(fake.clone())),
        stopped,
    ));
    let mut stream = updates(api, |api| {
        let bundle = api
            .issuer
            .jwt_bundle()
            .map_err(|e| status::from_issue(&e))?;
        Ok((bundle, None))
    });
    stream.next().await.unwrap().unwrap();
    let quiet = tokio::time::timeout(Duration::from_secs(3600), stream.next()).await;
    assert!(quiet.is_err());
    assert_eq!(fake.issued.load(Ordering::SeqCst), 0);
    drop(stop);
    assert!(
        stream.next().await.is_none(),
        "a server gone ends the stream"
    );
}

/// A request from this process, as tonic hands it over for a Unix socket.
async fn request<T>(message: T, header: Option<&'static str>) -> Request<T> {
    let (a, _b) = tokio::net::UnixStream::pair().unwrap();
    let mut request = Request::new(message);
    if let Some(value) = header {
        request
            .metadata_mut()
            .insert(SECURITY_HEADER, value.parse().unwrap());
    }
    request.extensions_mut().insert(UdsConnectInfo {
        peer_addr: None,
        peer_cred: Some(a.peer_cred().unwrap()),
    });
    request
}

fn own_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_header_then_attestation_then_an_entry_are_required() {
    let id: SpiffeId = "spiffe://example.org/agent/bot/w-1".parse().unwrap();
    let (_stop, stopped) = watch::channel(false);
    let mine = Entries::new(vec![RegistrationEntry::for_uid(id.clone(), own_uid())]).unwrap();
    let api = WorkloadApi::new(mine, FakeIssuer::new(), stopped.clone());

    for header in [None, Some("false"), Some("TRUE")] {
        let refused = api.caller(&request((), header).await).unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{header:?}");
        assert_eq!(refused.message(), "security header missing from request");
    }
    let mut unattested = Request::new(());
    unattested
        .metadata_mut()
        .insert(SECURITY_HEADER, "true".parse().unwrap());
    assert_eq!(
        api.caller(&unattested).unwrap_err().code(),
        Code::Unauthenticated
    );
    let found = api.caller(&request((), Some("true")).await).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].spiffe_id, id);

    let others = Entries::new(vec![RegistrationEntry::for_uid(
        id,
        own_uid().wrapping_add(1),
    )])
    .unwrap();
    let api = WorkloadApi::new(others, FakeIssuer::new(), stopped);
    let denied = api.caller(&request((), Some("true")).await).unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(denied.message(), "no identity issued");
}

#[tokio::test]
async fn jwt_requests_need_an_audience_and_one_of_the_callers_ids() {
    let id: SpiffeId = "spiffe://example.org/agent/bot/w-1".parse().unwrap();
    let (_stop, stopped) = watch::channel(false);
    let entries = Entries::new(vec![RegistrationEntry::for_uid(id, own_uid())]).unwrap();
    let api = WorkloadApi::new(entries, FakeIssuer::new(), stopped);
    let no_audience = proto::JwtSvidRequest {
        audience: vec![],
        spiffe_id: String::new(),
    };
    let refused = api
        .fetch_jwt_svid(request(no_audience, Some("true")).await)
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let someone_else = proto::JwtSvidRequest {
        audience: vec!["db".to_owned()],
        spiffe_id: "spiffe://example.org/agent/bot/w-2".to_owned(),
    };
    let refused = api
        .fetch_jwt_svid(request(someone_else, Some("true")).await)
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let empty = proto::ValidateJwtSvidRequest {
        audience: "db".to_owned(),
        svid: String::new(),
    };
    let refused = api
        .validate_jwt_svid(request(empty, Some("true")).await)
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
}
