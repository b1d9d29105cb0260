//! The trust domain's X.509 CA, kept in the store sealed under the
//! key-encryption key as the JWT signing keys are: one current CA issues;
//! retired CAs stay trusted roots, and in the bundle, until every
//! X.509-SVID they issued has expired. Every node reads the same CAs from
//! the store, and a rotation at one node or the CLI reaches the others with
//! the change counter.
//!
//! The sealed plaintext is the CA key (PKCS#8 PEM) followed by its
//! certificate (PEM); the key id is the SHA-256 of the certificate's DER.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use warden_identity::{CaCertificate, KeyEncryptionKey, MAX_X509_SVID_TTL, X509Authority};
use warden_store::{AnyStore, KeyRow, KeyStore, Replace, StoreError};
use warden_types::TrustDomain;

use crate::error::GatewayError;

/// The kind of the X.509 CAs in the store.
pub const X509_CA_KEYS: &str = "x509-ca";

/// The CAs in force: the one that issues, and every one still trusted.
#[derive(Debug, Clone)]
pub struct Authorities {
    /// The CA new X.509-SVIDs are issued by.
    pub current: Arc<X509Authority>,
    /// When the current CA was made (unix ms).
    pub current_since: i64,
    /// The current CA's certificate first, then those of the retired CAs
    /// not yet expired: the trust bundle's X.509 authorities.
    pub all: Vec<CaCertificate>,
}

impl Authorities {
    /// The ids of the CAs (their certificates' SHA-256), in order.
    pub fn ids(&self) -> Vec<String> {
        self.all.iter().map(CaCertificate::fingerprint).collect()
    }
}

fn corrupt(detail: String) -> GatewayError {
    GatewayError::Store(StoreError::Corrupt {
        what: "X.509 CAs",
        detail,
    })
}

fn sealed_row(kek: &KeyEncryptionKey, ca: &X509Authority, now: i64) -> KeyRow {
    let kid = ca.certificate().fingerprint();
    KeyRow {
        kind: X509_CA_KEYS.to_owned(),
        sealed: kek.seal(X509_CA_KEYS, &kid, ca.to_pem().expose().as_bytes()),
        kid,
        created_at: now,
        retired_at: None,
        expires_at: None,
    }
}

fn opened(
    kek: &KeyEncryptionKey,
    trust_domain: &TrustDomain,
    row: &KeyRow,
) -> Result<X509Authority, GatewayError> {
    let pem = kek
        .open(&row.kind, &row.kid, &row.sealed)
        .map_err(|e| corrupt(e.to_string()))?;
    let pem =
        String::from_utf8(pem).map_err(|_| corrupt(format!("CA `{}` is not PEM", row.kid)))?;
    let ca = X509Authority::from_pem(trust_domain, &pem)
        .map_err(|e| corrupt(format!("CA `{}`: {e}", row.kid)))?;
    if ca.certificate().fingerprint() != row.kid {
        return Err(corrupt(format!(
            "CA `{}` opens to a certificate with id `{}`",
            row.kid,
            ca.certificate().fingerprint()
        )));
    }
    Ok(ca)
}

/// The files an earlier version kept the CA in (`keys/x509-ca.key` and
/// `keys/x509-ca.pem`), taken in on the first start.
#[derive(Debug, Clone, Copy)]
pub struct LegacyCa<'a> {
    /// The CA key (PKCS#8 PEM, mode 0600).
    pub key: &'a Path,
    /// The CA certificate (PEM).
    pub certificate: &'a Path,
}

/// The CAs in the store. On the first start there are none: the CA in
/// `legacy` (the files an earlier version kept) is taken in if its key is
/// there, so that certificates it issued stay valid; else a new CA is made.
/// When several nodes start at once, one CA wins.
pub async fn load_authorities(
    store: &AnyStore,
    kek: &KeyEncryptionKey,
    trust_domain: &TrustDomain,
    legacy: Option<LegacyCa<'_>>,
) -> Result<Authorities, GatewayError> {
    let now = crate::now_millis();
    let mut rows = store.keys(X509_CA_KEYS, now).await?;
    if rows.iter().all(|r| r.retired_at.is_some()) {
        let ca = match legacy.filter(|l| l.key.exists()) {
            Some(files) => X509Authority::load_or_create(
                files.key,
                files.certificate,
                trust_domain,
                SystemTime::now(),
            )
            .map(|(ca, _)| ca)
            .map_err(|e| GatewayError::Setup(format!("cannot take in the X.509 CA: {e}")))?,
            None => X509Authority::generate(trust_domain, SystemTime::now())
                .map_err(|e| GatewayError::Setup(format!("cannot make an X.509 CA: {e}")))?,
        };
        store.put_key(&sealed_row(kek, &ca, now), None).await?;
        rows = store.keys(X509_CA_KEYS, now).await?;
    }
    let current = rows
        .first()
        .filter(|r| r.retired_at.is_none())
        .ok_or_else(|| corrupt("no current X.509 CA".to_owned()))?;
    let current_since = current.created_at;
    let mut opened_all = rows
        .iter()
        .map(|r| opened(kek, trust_domain, r))
        .collect::<Result<Vec<_>, _>>()?;
    let all = opened_all
        .iter()
        .map(|ca| ca.certificate().clone())
        .collect();
    if opened_all.is_empty() {
        return Err(corrupt("no current X.509 CA".to_owned()));
    }
    let current = Arc::new(opened_all.swap_remove(0));
    Ok(Authorities {
        current,
        current_since,
        all,
    })
}

/// Retires the current CA (it stays trusted and in the bundle for
/// [`MAX_X509_SVID_TTL`] plus `leeway`) and makes a new one current. If
/// another node rotated first, its rotation stands. Returns the CAs after.
pub async fn rotate_authority(
    store: &AnyStore,
    kek: &KeyEncryptionKey,
    trust_domain: &TrustDomain,
    leeway: Duration,
) -> Result<Authorities, GatewayError> {
    let before = load_authorities(store, kek, trust_domain, None).await?;
    let now = crate::now_millis();

    let fresh = X509Authority::generate(trust_domain, SystemTime::now())
        .map_err(|e| GatewayError::Setup(format!("cannot make an X.509 CA: {e}")))?;
    let kid = before.current.certificate().fingerprint();
    store
        .put_key(
            &sealed_row(kek, &fresh, now),
            Some(Replace {
                kid: &kid,
                expires_at: crate::signing_keys::retired_until(now, MAX_X509_SVID_TTL, leeway),
            }),
        )
        .await?;
    load_authorities(store, kek, trust_domain, None).await
}
