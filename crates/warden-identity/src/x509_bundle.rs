//! CA certificates as a trust bundle holds them, and PEM certificates.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use serde_json::{Value, json};
use x509_cert::der::Decode as _;

use crate::error::IdentityError;

/// The `use` of a JWK that verifies X.509-SVIDs, per the SPIFFE trust bundle format.
const X509_SVID_USE: &str = "x509-svid";

/// A CA certificate, public: what a trust bundle holds.
#[derive(Clone, PartialEq, Eq)]
pub struct CaCertificate {
    der: CertificateDer<'static>,
    pem: String,
    /// The uncompressed SEC1 public key (65 bytes).
    public_key: Vec<u8>,
}

impl CaCertificate {
    /// Reads one DER certificate with a P-256 public key.
    pub fn from_der(der: CertificateDer<'static>) -> Result<CaCertificate, IdentityError> {
        let invalid = |reason: String| IdentityError::InvalidCertificate { reason };
        let parsed = x509_cert::Certificate::from_der(der.as_ref())
            .map_err(|e| invalid(format!("not a DER X.509 certificate: {e}")))?;
        let public_key = parsed
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes()
            .to_vec();
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&public_key)
            .map_err(|_| invalid("the certificate's key is not a P-256 key".to_owned()))?;
        let pem = pem_encode(&der);
        Ok(CaCertificate {
            der,
            pem,
            public_key,
        })
    }

    /// Every certificate in PEM text (a bundle file may hold several).
    pub fn all_from_pem(pem: &str) -> Result<Vec<CaCertificate>, IdentityError> {
        certificates_from_pem(pem)?
            .into_iter()
            .map(CaCertificate::from_der)
            .collect()
    }

    /// The certificate, DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// SHA-256 of the certificate's DER, lowercase hex: a stable id for it.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(self.der.as_ref()))
    }

    /// The certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The certificate's public key, uncompressed SEC1 (65 bytes).
    pub(crate) fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// The certificate as an `x509-svid` JWK of a SPIFFE trust bundle:
    /// `{"kty":"EC","crv":"P-256","x":..,"y":..,"use":"x509-svid","x5c":[der]}`.
    pub fn to_jwk(&self) -> Value {
        let x = self.public_key.get(1..33).unwrap_or_default();
        let y = self.public_key.get(33..65).unwrap_or_default();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
            "use": X509_SVID_USE,
            "x5c": [STANDARD.encode(self.der.as_ref())],
        })
    }
}

impl fmt::Debug for CaCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaCertificate")
            .field("der_bytes", &self.der.len())
            .finish_non_exhaustive()
    }
}

/// Every certificate in PEM text, DER.
pub fn certificates_from_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| IdentityError::InvalidCertificate {
            reason: format!("bad PEM: {e}"),
        })?;
    if certificates.is_empty() {
        return Err(IdentityError::InvalidCertificate {
            reason: "no `CERTIFICATE` PEM block".to_owned(),
        });
    }
    Ok(certificates)
}

pub(crate) fn pem_encode(der: &CertificateDer<'_>) -> String {
    let body = STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}
