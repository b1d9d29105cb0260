//! Verifying X.509-SVIDs: a presented client certificate chain, against the
//! trust bundle's CA certificates.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use warden_types::{SpiffeId, TrustDomain};
use x509_cert::der::Decode as _;
use x509_cert::der::oid::AssociatedOid as _;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, SubjectAltName};

use crate::error::{CertificateError, IdentityError};
use crate::jwt::VerifiedSvid;
use crate::x509::{X509Authority, hex_lower};
use crate::x509_bundle::CaCertificate;

/// The `jti` of a [`VerifiedSvid`] made from an X.509-SVID starts with this,
/// followed by the certificate's serial number in lowercase hex.
pub const X509_SERIAL_PREFIX: &str = "x509:";

/// Verifies X.509-SVIDs of one trust domain against a set of CA
/// certificates (the trust bundle).
///
/// Build a new verifier when the bundle changes and swap it in whole.
#[derive(Debug, Clone)]
pub struct X509SvidVerifier {
    trust_domain: TrustDomain,
    roots: Vec<CaCertificate>,
    anchors: Vec<TrustAnchor<'static>>,
}

impl X509SvidVerifier {
    /// A verifier that accepts certificates for agents of `trust_domain`
    /// issued (directly or through the chain presented) by one of `roots`.
    pub fn new(
        trust_domain: TrustDomain,
        roots: Vec<CaCertificate>,
    ) -> Result<X509SvidVerifier, IdentityError> {
        let anchors = roots
            .iter()
            .map(|root| {
                webpki::anchor_from_trusted_cert(root.der())
                    .map(|anchor| anchor.to_owned())
                    .map_err(|e| IdentityError::InvalidCertificate {
                        reason: format!("unusable as a trust anchor: {e}"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(X509SvidVerifier {
            trust_domain,
            roots,
            anchors,
        })
    }

    /// A verifier for the certificates `authority` issues.
    pub fn from_authority(authority: &X509Authority) -> Result<X509SvidVerifier, IdentityError> {
        Self::new(
            authority.trust_domain().clone(),
            vec![authority.certificate().clone()],
        )
    }

    /// The trust domain whose agents this verifier accepts.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The CA certificates this verifier trusts.
    pub fn roots(&self) -> &[CaCertificate] {
        &self.roots
    }

    /// The subjects of the trusted CAs (DER), as a TLS server hints them.
    pub fn root_subjects(&self) -> impl Iterator<Item = &[u8]> {
        self.anchors.iter().map(|anchor| anchor.subject.as_ref())
    }

    /// Verifies the chain `leaf` + `intermediates` at `now`: the leaf is not
    /// a CA; it chains to a trusted CA, every certificate in it is within its
    /// validity window, the leaf allows client authentication; and the leaf
    /// has exactly one URI SAN, an agent SPIFFE ID in this trust domain
    /// (checked in this order, so a certificate from an unknown CA is refused
    /// as that, whatever it claims).
    pub fn verify(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: SystemTime,
    ) -> Result<VerifiedSvid, CertificateError> {
        let chain = verify_chain(&self.anchors, leaf, intermediates, now)?;
        let spiffe_id = self.spiffe_id(leaf)?;
        Ok(VerifiedSvid {
            spiffe_id,
            jti: format!("{X509_SERIAL_PREFIX}{}", chain.serial),
            issued_at: chain.not_before,
            expires_at: chain.not_after,
            federated_from: None,
        })
    }

    fn spiffe_id(&self, leaf: &CertificateDer<'_>) -> Result<SpiffeId, CertificateError> {
        let uris = uri_sans(leaf)?;
        let [uri] = uris.as_slice() else {
            return Err(CertificateError::UriSanCount { found: uris.len() });
        };
        let spiffe_id: SpiffeId =
            uri.parse()
                .map_err(|e: warden_types::IdError| CertificateError::BadSpiffeId {
                    reason: e.to_string(),
                })?;
        if spiffe_id.trust_domain() != &self.trust_domain {
            return Err(CertificateError::WrongTrustDomain {
                expected: self.trust_domain.clone(),
                found: spiffe_id.trust_domain().clone(),
            });
        }
        Ok(spiffe_id)
    }
}

/// What a verified chain's leaf says about itself.
pub(crate) struct ChainFacts {
    /// The serial number, lowercase hex.
    pub(crate) serial: String,
    /// `notBefore`.
    pub(crate) not_before: SystemTime,
    /// `notAfter`.
    pub(crate) not_after: SystemTime,
}

/// Verifies the chain `leaf` + `intermediates` to one of `anchors` at
/// `now`: the leaf is not a CA, every certificate is within its validity
/// window, the leaf allows client authentication.
pub(crate) fn verify_chain(
    anchors: &[TrustAnchor<'static>],
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: SystemTime,
) -> Result<ChainFacts, CertificateError> {
    let parsed = x509_cert::Certificate::from_der(leaf.as_ref()).map_err(|e| {
        CertificateError::Malformed {
            reason: e.to_string(),
        }
    })?;
    let tbs = &parsed.tbs_certificate;
    for extension in tbs.extensions.iter().flatten() {
        if extension.extn_id == BasicConstraints::OID {
            let constraints =
                BasicConstraints::from_der(extension.extn_value.as_bytes()).map_err(|e| {
                    CertificateError::Malformed {
                        reason: format!("bad basic constraints: {e}"),
                    }
                })?;
            if constraints.ca {
                return Err(CertificateError::CaAsLeaf);
            }
        }
    }

    let end_entity =
        webpki::EndEntityCert::try_from(leaf).map_err(|e| CertificateError::Malformed {
            reason: e.to_string(),
        })?;
    let seconds = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    end_entity
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            anchors,
            intermediates,
            UnixTime::since_unix_epoch(Duration::from_secs(seconds)),
            webpki::KeyUsage::client_auth(),
            None,
            None,
        )
        .map_err(chain_error)?;

    let validity = &tbs.validity;
    Ok(ChainFacts {
        serial: hex_lower(tbs.serial_number.as_bytes()),
        not_before: validity.not_before.to_system_time(),
        not_after: validity.not_after.to_system_time(),
    })
}

/// The URI SANs of a certificate.
pub(crate) fn uri_sans(certificate: &CertificateDer<'_>) -> Result<Vec<String>, CertificateError> {
    let parsed = x509_cert::Certificate::from_der(certificate.as_ref()).map_err(|e| {
        CertificateError::Malformed {
            reason: e.to_string(),
        }
    })?;
    let mut uris = Vec::new();
    for extension in parsed.tbs_certificate.extensions.iter().flatten() {
        if extension.extn_id == SubjectAltName::OID {
            let names = SubjectAltName::from_der(extension.extn_value.as_bytes()).map_err(|e| {
                CertificateError::Malformed {
                    reason: format!("bad subject alternative names: {e}"),
                }
            })?;
            for name in names.0 {
                if let GeneralName::UniformResourceIdentifier(uri) = name {
                    uris.push(uri.to_string());
                }
            }
        }
    }
    Ok(uris)
}

fn chain_error(error: webpki::Error) -> CertificateError {
    match error {
        webpki::Error::CertExpired { not_after, .. } => CertificateError::Expired {
            expired_at: not_after.as_secs(),
        },
        webpki::Error::CertNotValidYet { .. } => CertificateError::NotYetValid,
        // A CA with the same name but another key (another Warden's CA for
        // the same trust domain) is found by name and fails on the signature.
        webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
            CertificateError::UnknownIssuer
        }
        webpki::Error::CaUsedAsEndEntity => CertificateError::CaAsLeaf,
        other => CertificateError::Chain {
            reason: format!("{other:?}"),
        },
    }
}

/// Whether a certificate says `CA:TRUE`, and its URI SANs (for tests).
#[cfg(test)]
pub(crate) fn profile(certificate: &CertificateDer<'_>) -> (bool, Vec<String>) {
    let parsed = x509_cert::Certificate::from_der(certificate.as_ref())
        .unwrap_or_else(|_| unreachable!("a test certificate parses"));
    let ca = parsed
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == BasicConstraints::OID)
        .any(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).is_ok_and(|b| b.ca));
    (ca, uri_sans(certificate).unwrap_or_default())
}
