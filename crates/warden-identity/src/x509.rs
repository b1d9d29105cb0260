//! The trust domain's X.509 CA: its key and self-signed certificate, and
//! X.509-SVIDs issued by it, in the [SPIFFE X.509-SVID] profile.
//!
//! Verifying a presented certificate chain is in `x509_verify.rs`.
//!
//! [SPIFFE X.509-SVID]: https://github.com/spiffe/spiffe/blob/main/standards/X509-SVID.md

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use warden_types::{SpiffeId, TrustDomain};
use x509_cert::der::Decode as _;

use crate::error::IdentityError;
use crate::key::{check_permissions, create_private_dir, create_private_file};
use crate::secret::Secret;
use crate::x509_bundle::CaCertificate;

/// The lifetime of an X.509-SVID unless asked otherwise: one hour.
pub const DEFAULT_X509_SVID_TTL: Duration = Duration::from_secs(3600);

/// The longest an X.509-SVID may live: a retired CA stays trusted (and in
/// the bundle) this long, plus the verifier's leeway, after it stopped
/// issuing.
pub const MAX_X509_SVID_TTL: Duration = Duration::from_secs(24 * 3600);

/// The lifetime of a newly created CA certificate: ten years. The CA is
/// rotated (a new key and certificate) long before that; the lifetime only
/// bounds a CA that is never rotated.
pub const CA_CERTIFICATE_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The common name of Warden's CA certificate.
const CA_COMMON_NAME: &str = "Warden X.509-SVID CA";

/// The trust domain's X.509 CA: a P-256 key and its self-signed certificate,
/// whose one URI SAN is `spiffe://<trust-domain>`.
///
/// `Debug` shows the certificate's trust domain, never the private key.
pub struct X509Authority {
    trust_domain: TrustDomain,
    key: KeyPair,
    certificate: CaCertificate,
}

/// What to put in a new X.509-SVID.
#[derive(Debug, Clone)]
pub struct X509IssueRequest {
    /// The agent instance the certificate identifies (its one URI SAN).
    pub spiffe_id: SpiffeId,
    /// How long it is valid, at least one second (default
    /// [`DEFAULT_X509_SVID_TTL`]).
    pub ttl: Duration,
    /// The start of its validity; expiry is `now + ttl`.
    pub now: SystemTime,
}

/// A freshly issued X.509-SVID with its new private key.
#[derive(Debug, Clone)]
pub struct IssuedX509Svid {
    /// The leaf certificate, PEM.
    pub certificate_pem: String,
    /// The leaf certificate, DER.
    pub certificate_der: CertificateDer<'static>,
    /// The leaf's private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub private_key_pem: Secret,
    /// The serial number, lowercase hex.
    pub serial: String,
    /// When it expires, in whole seconds as in the certificate.
    pub expires_at: SystemTime,
}

impl X509Authority {
    /// A new CA for `trust_domain`, valid from `now` for [`CA_CERTIFICATE_TTL`].
    pub fn generate(trust_domain: &TrustDomain, now: SystemTime) -> Result<Self, IdentityError> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(sign_error)?;
        Self::with_key(trust_domain, key, now)
    }

    /// Loads the CA key (PKCS#8 PEM, 0600) at `key_path` and its certificate
    /// at `certificate_path`; when there is no key, creates both (the key
    /// with mode 0600); when there is a key but no certificate, makes a new
    /// certificate for it. Returns the CA and whether the key was created.
    ///
    /// Refuses a certificate that is for another trust domain or another key.
    pub fn load_or_create(
        key_path: &Path,
        certificate_path: &Path,
        trust_domain: &TrustDomain,
        now: SystemTime,
    ) -> Result<(Self, bool), IdentityError> {
        let key = match fs::metadata(key_path) {
            Ok(_) => Some(load_key(key_path)?),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(IdentityError::ReadKey {
                    path: key_path.to_owned(),
                    source,
                });
            }
        };
        let Some(key) = key else {
            let authority = Self::generate(trust_domain, now)?;
            match write_key(key_path, &authority.key) {
                Ok(()) => {}
                // Someone else created it between our check and our write: use theirs.
                Err(IdentityError::WriteKey { source, .. })
                    if source.kind() == io::ErrorKind::AlreadyExists =>
                {
                    return Self::load_or_create(key_path, certificate_path, trust_domain, now);
                }
                Err(error) => return Err(error),
            }
            write_certificate(certificate_path, authority.certificate.pem())?;
            return Ok((authority, true));
        };
        match fs::read_to_string(certificate_path) {
            Ok(pem) => {
                let certificate = CaCertificate::all_from_pem(&pem)
                    .and_then(|all| {
                        all.into_iter()
                            .next()
                            .ok_or_else(|| IdentityError::InvalidCertificate {
                                reason: "no certificate".to_owned(),
                            })
                    })
                    .map_err(|e| IdentityError::InvalidCertificateFile {
                        path: certificate_path.to_owned(),
                        reason: e.to_string(),
                    })?;
                check_ca(&certificate, &key, trust_domain).map_err(|reason| {
                    IdentityError::InvalidCertificateFile {
                        path: certificate_path.to_owned(),
                        reason,
                    }
                })?;
                Ok((
                    X509Authority {
                        trust_domain: trust_domain.clone(),
                        key,
                        certificate,
                    },
                    false,
                ))
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let authority = Self::with_key(trust_domain, key, now)?;
                write_certificate(certificate_path, authority.certificate.pem())?;
                Ok((authority, false))
            }
            Err(source) => Err(IdentityError::ReadCertificate {
                path: certificate_path.to_owned(),
                source,
            }),
        }
    }

    /// The CA key (PKCS#8 PEM) followed by its certificate (PEM): what the
    /// store keeps, sealed. [`X509Authority::from_pem`] reads it back.
    pub fn to_pem(&self) -> Secret {
        Secret::new(format!(
            "{}{}",
            self.key.serialize_pem(),
            self.certificate.pem()
        ))
    }

    /// Reads a CA written by [`X509Authority::to_pem`]: a P-256 key in
    /// PKCS#8 PEM, then its certificate, whose one URI SAN must be
    /// `spiffe://<trust_domain>`.
    pub fn from_pem(trust_domain: &TrustDomain, text: &str) -> Result<Self, IdentityError> {
        let invalid = |reason: String| IdentityError::InvalidCertificate { reason };
        let at = text
            .find("-----BEGIN CERTIFICATE-----")
            .ok_or_else(|| invalid("no CA certificate after the key".to_owned()))?;
        let (key_pem, certificate_pem) = text.split_at(at);
        let key = KeyPair::from_pem(key_pem)
            .map_err(|e| invalid(format!("the CA key does not parse: {e}")))?;
        if key.algorithm() != &rcgen::PKCS_ECDSA_P256_SHA256 {
            return Err(invalid("the CA key is not a P-256 key".to_owned()));
        }
        let certificate = CaCertificate::all_from_pem(certificate_pem)?
            .into_iter()
            .next()
            .ok_or_else(|| invalid("no CA certificate".to_owned()))?;
        check_ca(&certificate, &key, trust_domain).map_err(invalid)?;
        Ok(X509Authority {
            trust_domain: trust_domain.clone(),
            key,
            certificate,
        })
    }

    /// The trust domain this CA issues for.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &CaCertificate {
        &self.certificate
    }

    /// Issues an X.509-SVID for `request.spiffe_id` (which must be in this
    /// CA's trust domain) with a fresh P-256 key: exactly one URI SAN (the
    /// SPIFFE ID), `CA:FALSE`, key usage digitalSignature, extended key usage
    /// serverAuth and clientAuth, a random 128-bit serial, an empty subject
    /// but `O=Warden`.
    pub fn issue(&self, request: &X509IssueRequest) -> Result<IssuedX509Svid, IdentityError> {
        if request.spiffe_id.trust_domain() != &self.trust_domain {
            return Err(IdentityError::ForeignTrustDomain {
                expected: self.trust_domain.clone(),
                found: request.spiffe_id.trust_domain().clone(),
            });
        }
        if request.ttl < Duration::from_secs(1) {
            return Err(IdentityError::InvalidLifetime {
                reason: "the lifetime must be at least one second".to_owned(),
            });
        }
        let not_before = whole_seconds(request.now)?;
        let expires_at = not_before
            .checked_add(request.ttl)
            .map(whole_seconds)
            .transpose()?
            .ok_or_else(|| IdentityError::InvalidLifetime {
                reason: "the expiry is out of range".to_owned(),
            })?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Warden");
        params.subject_alt_names = vec![uri_san(&request.spiffe_id.to_string())?];
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial());
        params.not_before = time::OffsetDateTime::from(not_before);
        params.not_after = time::OffsetDateTime::from(expires_at);
        let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(sign_error)?;
        let issuer = Issuer::new(ca_params(&self.trust_domain, request.now)?, &self.key);
        let certificate = params.signed_by(&leaf_key, &issuer).map_err(sign_error)?;
        Ok(IssuedX509Svid {
            certificate_pem: certificate.pem(),
            certificate_der: certificate.der().clone(),
            private_key_pem: Secret::new(leaf_key.serialize_pem()),
            serial: hex_lower(&serial_of(certificate.der())?),
            expires_at,
        })
    }

    /// Signs `params` for `key` as this CA, whatever they say (tests make
    /// certificates outside the profile with it).
    #[cfg(test)]
    pub(crate) fn sign_raw(
        &self,
        params: &CertificateParams,
        key: &KeyPair,
    ) -> Result<CertificateDer<'static>, IdentityError> {
        let issuer = Issuer::new(ca_params(&self.trust_domain, SystemTime::now())?, &self.key);
        Ok(params
            .signed_by(key, &issuer)
            .map_err(sign_error)?
            .der()
            .clone())
    }

    fn with_key(
        trust_domain: &TrustDomain,
        key: KeyPair,
        now: SystemTime,
    ) -> Result<Self, IdentityError> {
        let mut params = ca_params(trust_domain, now)?;
        params.serial_number = Some(random_serial());
        let certificate = params.self_signed(&key).map_err(sign_error)?;
        let certificate = CaCertificate::from_der(certificate.der().clone())?;
        Ok(X509Authority {
            trust_domain: trust_domain.clone(),
            key,
            certificate,
        })
    }
}

impl fmt::Debug for X509Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("X509Authority")
            .field("trust_domain", &self.trust_domain)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

/// The CA certificate's parameters; an [`Issuer`] made from them names the
/// CA as issuer (subject and key identifier), whatever the validity.
fn ca_params(
    trust_domain: &TrustDomain,
    now: SystemTime,
) -> Result<CertificateParams, IdentityError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Warden");
    params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    params.subject_alt_names = vec![uri_san(&format!("spiffe://{trust_domain}"))?];
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // The X.509-SVID profile: keyCertSign (and cRLSign) if and only if a
    // signing certificate; digitalSignature if and only if a leaf.
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let not_before = whole_seconds(now)?;
    let not_after = not_before.checked_add(CA_CERTIFICATE_TTL).ok_or_else(|| {
        IdentityError::InvalidLifetime {
            reason: "the CA's expiry is out of range".to_owned(),
        }
    })?;
    params.not_before = time::OffsetDateTime::from(not_before);
    params.not_after = time::OffsetDateTime::from(not_after);
    Ok(params)
}

/// A random 128-bit serial number, positive and without a leading zero byte
/// (so that its DER encoding is these 16 bytes).
fn random_serial() -> SerialNumber {
    let mut serial = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    SerialNumber::from_slice(&serial)
}

/// The serial number of a certificate, as its DER holds it.
fn serial_of(der: &CertificateDer<'_>) -> Result<Vec<u8>, IdentityError> {
    x509_cert::Certificate::from_der(der.as_ref())
        .map(|c| c.tbs_certificate.serial_number.as_bytes().to_vec())
        .map_err(|e| IdentityError::InvalidCertificate {
            reason: format!("the certificate just issued does not parse: {e}"),
        })
}

/// Checks a loaded CA certificate against its key and the trust domain.
fn check_ca(
    certificate: &CaCertificate,
    key: &KeyPair,
    trust_domain: &TrustDomain,
) -> Result<(), String> {
    if certificate.public_key() != key.public_key_raw() {
        return Err("the certificate is not for the CA key next to it".to_owned());
    }
    let uris = crate::x509_verify::uri_sans(certificate.der()).map_err(|e| e.to_string())?;
    let expected = format!("spiffe://{trust_domain}");
    if uris != [expected.clone()] {
        return Err(format!(
            "the certificate names {uris:?}, expected the one URI SAN `{expected}` (the trust domain in warden.toml changed? move the CA files away to create a new CA)"
        ));
    }
    Ok(())
}

fn uri_san(uri: &str) -> Result<SanType, IdentityError> {
    let uri = uri
        .try_into()
        .map_err(|_| IdentityError::InvalidCertificate {
            reason: format!("`{uri}` is not an IA5 string"),
        })?;
    Ok(SanType::URI(uri))
}

/// `time` truncated to whole seconds since the epoch (certificates hold no more).
fn whole_seconds(time: SystemTime) -> Result<SystemTime, IdentityError> {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| IdentityError::InvalidLifetime {
            reason: "the time is before 1970".to_owned(),
        })?
        .as_secs();
    Ok(UNIX_EPOCH + Duration::from_secs(seconds))
}

fn sign_error(error: rcgen::Error) -> IdentityError {
    IdentityError::Sign {
        reason: error.to_string(),
    }
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn load_key(path: &Path) -> Result<KeyPair, IdentityError> {
    check_permissions(path)?;
    let pem = fs::read_to_string(path).map_err(|source| IdentityError::ReadKey {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| IdentityError::InvalidKeyFile {
        path: path.to_owned(),
        reason,
    };
    let key = KeyPair::from_pem(&pem).map_err(|e| invalid(e.to_string()))?;
    if key.algorithm() != &rcgen::PKCS_ECDSA_P256_SHA256 {
        return Err(invalid("not a P-256 key".to_owned()));
    }
    Ok(key)
}

fn write_key(path: &Path, key: &KeyPair) -> Result<(), IdentityError> {
    let write_error = |source| IdentityError::WriteKey {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent).map_err(|source| IdentityError::CreateKeyDirectory {
            path: parent.to_owned(),
            source,
        })?;
    }
    let mut file = create_private_file(path).map_err(write_error)?;
    let written = file
        .write_all(key.serialize_pem().as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(source) = written {
        let _ = fs::remove_file(path);
        return Err(write_error(source));
    }
    Ok(())
}

fn write_certificate(path: &Path, pem: &str) -> Result<(), IdentityError> {
    let write_error = |source| IdentityError::WriteCertificate {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir(parent).map_err(write_error)?;
    }
    fs::write(path, pem).map_err(write_error)
}
