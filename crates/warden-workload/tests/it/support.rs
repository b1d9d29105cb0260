//! A test issuer of X.509-SVIDs in the SPIFFE shape (made with rcgen), a
//! server on a socket in a temporary directory, and py-spiffe to drive it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use serde_json::Value;
use tokio::sync::watch;
use warden_identity::{Secret, SigningKey};
use warden_types::{SpiffeId, TrustDomain};
use warden_workload::{
    Entries, IssueError, JwtIssuer, PrivateKeyDer, RegistrationEntry, SvidIssuer, ValidatedJwt,
    X509Svid,
};

pub(crate) const TRUST_DOMAIN: &str = "example.org";
pub(crate) const WORKER: &str = "spiffe://example.org/agent/invoice-bot/worker-1";

/// A certificate authority and the SVIDs it signs.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

impl Ca {
    fn new(generation: u64) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, "Warden test");
        name.push(DnType::CommonName, format!("test CA {generation}"));
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.subject_alt_names = vec![SanType::URI(
            format!("spiffe://{TRUST_DOMAIN}").try_into().unwrap(),
        )];
        let now = whole_seconds(SystemTime::now());
        set_validity(
            &mut params,
            now - Duration::from_secs(60),
            now + Duration::from_secs(24 * 3600),
        );
        let der = params.self_signed(&key).unwrap().der().to_vec();
        Ca { params, key, der }
    }
}

/// Issues X.509-SVIDs living `lifetime` from a CA it can rotate, and
/// JWT-SVIDs through [`JwtIssuer`].
pub(crate) struct TestIssuer {
    trust_domain: TrustDomain,
    lifetime: Duration,
    ca: Mutex<Ca>,
    generation: AtomicU64,
    jwt: JwtIssuer,
    bundles: watch::Sender<u64>,
    /// How many X.509-SVIDs it has issued.
    pub(crate) issued: AtomicU64,
}

impl TestIssuer {
    pub(crate) fn new(lifetime: Duration) -> Arc<TestIssuer> {
        let trust_domain = TrustDomain::new(TRUST_DOMAIN).unwrap();
        Arc::new(TestIssuer {
            jwt: JwtIssuer::new(trust_domain.clone(), SigningKey::generate()),
            trust_domain,
            lifetime,
            ca: Mutex::new(Ca::new(0)),
            generation: AtomicU64::new(0),
            bundles: watch::channel(0).0,
            issued: AtomicU64::new(0),
        })
    }

    /// A new CA: a new bundle, announced to the streams.
    pub(crate) fn rotate_ca(&self) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        *self.ca.lock() = Ca::new(generation);
        self.bundles.send_replace(generation);
    }

    /// How many streams are open (each holds a bundle receiver).
    pub(crate) fn open_streams(&self) -> usize {
        self.bundles.receiver_count()
    }
}

fn whole_seconds(time: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(time.duration_since(UNIX_EPOCH).unwrap().as_secs())
}

fn set_validity(params: &mut CertificateParams, from: SystemTime, to: SystemTime) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + from.duration_since(UNIX_EPOCH).unwrap();
    params.not_after = epoch + to.duration_since(UNIX_EPOCH).unwrap();
}

impl SvidIssuer for TestIssuer {
    fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// An X.509-SVID as SPIFFE has it: a fresh P-256 key, the SPIFFE ID as
    /// the only URI SAN, CA:false, digitalSignature (no keyCertSign or
    /// cRLSign), server and client auth, living `lifetime`.
    fn x509_svid(&self, id: &SpiffeId) -> Result<X509Svid, IssueError> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, "SPIFFE");
        params.distinguished_name = name;
        params.subject_alt_names = vec![SanType::URI(id.to_string().try_into().unwrap())];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyAgreement,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let count = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        params.serial_number = Some(SerialNumber::from((nanos as u64) ^ (count << 48)));
        let issued_at = whole_seconds(SystemTime::now());
        let expires_at = issued_at + self.lifetime;
        set_validity(&mut params, issued_at, expires_at);
        let ca = self.ca.lock();
        let issuer = Issuer::from_params(&ca.params, &ca.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        Ok(X509Svid {
            certificates: vec![cert.der().to_vec()],
            private_key: PrivateKeyDer::new(key.serialize_der()),
            issued_at,
            expires_at,
        })
    }

    fn x509_bundle(&self) -> Result<Vec<u8>, IssueError> {
        Ok(self.ca.lock().der.clone())
    }

    fn jwt_svid(&self, id: &SpiffeId, audience: &[String]) -> Result<Secret, IssueError> {
        self.jwt.issue(id, audience)
    }

    fn jwt_bundle(&self) -> Result<Vec<u8>, IssueError> {
        self.jwt.bundle()
    }

    fn validate_jwt(&self, token: &str, audience: &str) -> Result<ValidatedJwt, IssueError> {
        self.jwt.validate(token, audience)
    }

    fn bundle_updates(&self) -> watch::Receiver<u64> {
        self.bundles.subscribe()
    }
}

/// This process's effective user id, as the kernel tells a socket's peer.
pub(crate) fn own_uid() -> u32 {
    let (a, _b) = tokio::net::UnixStream::pair().unwrap();
    a.peer_cred().unwrap().uid()
}

/// An entry granting [`WORKER`] to `uid`.
pub(crate) fn worker_entry(uid: u32) -> RegistrationEntry {
    RegistrationEntry::for_uid(WORKER.parse().unwrap(), uid)
}

/// A Workload API server on a socket in a temporary directory.
pub(crate) struct Server {
    pub(crate) socket: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), warden_workload::WorkloadError>>>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub(crate) async fn start(
        entries: Vec<RegistrationEntry>,
        issuer: Arc<dyn SvidIssuer>,
    ) -> Server {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("workload.sock");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let entries = Entries::new(entries).unwrap();
        let path = socket.clone();
        let task = tokio::spawn(async move {
            warden_workload::serve(&path, entries, issuer, async {
                let _ = stopped.await;
            })
            .await
        });
        for _ in 0..100 {
            if socket.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(socket.exists(), "the server did not create its socket");
        Server {
            socket,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// Shuts the server down; it must finish within `limit`.
    pub(crate) async fn stop(mut self, limit: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().unwrap();
        let result = tokio::time::timeout(limit, task)
            .await
            .expect("the server did not shut down in time");
        result.unwrap().unwrap();
        assert!(!self.socket.exists(), "the socket was not removed");
    }
}

/// The Python of `tests/workload/.venv` with py-spiffe, or `None` (after
/// [`warden_test::skip_unless_strict`]) when it is not installed.
pub(crate) fn python(test: &str) -> Option<PathBuf> {
    let python =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/workload/.venv/bin/python");
    if python.exists() {
        Some(python)
    } else {
        warden_test::skip_unless_strict(
            test,
            "tests/workload/.venv (py-spiffe)",
            "tests/workload/setup.sh",
        );
        None
    }
}

/// Runs `tests/workload/client.py args` against `socket`; its JSON output.
pub(crate) async fn client(python: &Path, socket: &Path, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/workload/client.py");
    let run = tokio::process::Command::new(python)
        .arg(script)
        .args(args)
        .env(
            "SPIFFE_ENDPOINT_SOCKET",
            format!("unix://{}", socket.display()),
        )
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("client.py did not finish in 60 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "client.py {args:?} failed: {stderr}\n{stdout}"
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|error| {
        panic!("client.py {args:?} printed no JSON ({error}): {stdout}\n{stderr}")
    })
}
