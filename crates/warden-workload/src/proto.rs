//! The messages of the SPIFFE Workload API (`workload.proto` of
//! `spiffe/go-spiffe`, `proto/spiffe/workload/workload.proto`), written out
//! by hand with prost's derive since no `protoc` runs at build time.
//!
//! Field numbers and types follow the `.proto` exactly; the file declares no
//! package, so the service is `SpiffeWorkloadAPI` at the root. The WIT-SVID
//! profile (FetchWITSVID, FetchWITBundles) is not served.

use std::collections::HashMap;

/// `X509SVIDRequest`: no parameters.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct X509SvidRequest {}

/// `X509SVIDResponse`: the workload's X.509-SVIDs.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct X509SvidResponse {
    /// One entry per identity the workload is entitled to.
    #[prost(message, repeated, tag = "1")]
    pub(crate) svids: Vec<X509Svid>,
    /// DER certificate revocation lists (none are served).
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub(crate) crl: Vec<Vec<u8>>,
    /// DER bundles of foreign trust domains, by trust domain ID (none are served).
    #[prost(map = "string, bytes", tag = "3")]
    pub(crate) federated_bundles: HashMap<String, Vec<u8>>,
}

/// `X509SVID`: one X.509-SVID with its key and its trust domain's bundle.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct X509Svid {
    /// The SPIFFE ID in the certificate.
    #[prost(string, tag = "1")]
    pub(crate) spiffe_id: String,
    /// DER certificate chain, leaf first, concatenated.
    #[prost(bytes = "vec", tag = "2")]
    pub x509_svid: Vec<u8>,
    /// DER PKCS#8 private key, unencrypted.
    #[prost(bytes = "vec", tag = "3")]
    pub x509_svid_key: Vec<u8>,
    /// DER X.509 bundle of the trust domain, certificates concatenated.
    #[prost(bytes = "vec", tag = "4")]
    pub(crate) bundle: Vec<u8>,
    /// Operator guidance when several SVIDs are returned.
    #[prost(string, tag = "5")]
    pub(crate) hint: String,
}

/// `X509BundlesRequest`: no parameters.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct X509BundlesRequest {}

/// `X509BundlesResponse`: the X.509 bundles the workload should trust.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct X509BundlesResponse {
    /// DER certificate revocation lists (none are served).
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub(crate) crl: Vec<Vec<u8>>,
    /// DER bundles, by trust domain ID (`spiffe://example.org`).
    #[prost(map = "string, bytes", tag = "2")]
    pub(crate) bundles: HashMap<String, Vec<u8>>,
}

/// `JWTSVIDRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct JwtSvidRequest {
    /// The audiences the workload will present the token to; at least one.
    #[prost(string, repeated, tag = "1")]
    pub(crate) audience: Vec<String>,
    /// Only this identity's token, when set.
    #[prost(string, tag = "2")]
    pub(crate) spiffe_id: String,
}

/// `JWTSVIDResponse`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct JwtSvidResponse {
    /// One token per identity.
    #[prost(message, repeated, tag = "1")]
    pub(crate) svids: Vec<JwtSvid>,
}

/// `JWTSVID`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct JwtSvid {
    /// The token's subject.
    #[prost(string, tag = "1")]
    pub(crate) spiffe_id: String,
    /// The compact JWS.
    #[prost(string, tag = "2")]
    pub(crate) svid: String,
    /// Operator guidance when several SVIDs are returned.
    #[prost(string, tag = "3")]
    pub(crate) hint: String,
}

/// `JWTBundlesRequest`: no parameters.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct JwtBundlesRequest {}

/// `JWTBundlesResponse`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct JwtBundlesResponse {
    /// JWKS documents, by trust domain ID (`spiffe://example.org`).
    #[prost(map = "string, bytes", tag = "1")]
    pub(crate) bundles: HashMap<String, Vec<u8>>,
}

/// `ValidateJWTSVIDRequest`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct ValidateJwtSvidRequest {
    /// The audience the token must name.
    #[prost(string, tag = "1")]
    pub(crate) audience: String,
    /// The compact JWS.
    #[prost(string, tag = "2")]
    pub(crate) svid: String,
}

/// `ValidateJWTSVIDResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ValidateJwtSvidResponse {
    /// The token's subject.
    #[prost(string, tag = "1")]
    pub(crate) spiffe_id: String,
    /// The token's claims.
    #[prost(message, optional, tag = "2")]
    pub(crate) claims: Option<prost_types::Struct>,
}

/// `value` (a JSON object's members) as a `google.protobuf.Struct`.
pub(crate) fn json_struct(
    object: &serde_json::Map<String, serde_json::Value>,
) -> prost_types::Struct {
    prost_types::Struct {
        fields: object
            .iter()
            .map(|(key, value)| (key.clone(), json_value(value)))
            .collect(),
    }
}

fn json_value(value: &serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    use serde_json::Value;
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.iter().map(json_value).collect(),
        }),
        Value::Object(object) => Kind::StructValue(json_struct(object)),
    };
    prost_types::Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    /// Bytes written by hand from the `.proto`'s field numbers and wire types,
    /// so that a wrong tag fails here and not only against a real client.
    #[test]
    fn x509_svid_encodes_with_the_proto_field_numbers() {
        let svid = X509Svid {
            spiffe_id: "a".to_owned(),
            x509_svid: vec![1],
            x509_svid_key: vec![2],
            bundle: vec![3],
            hint: "h".to_owned(),
        };
        assert_eq!(
            svid.encode_to_vec(),
            [
                0x0a, 1, b'a', 0x12, 1, 1, 0x1a, 1, 2, 0x22, 1, 3, 0x2a, 1, b'h'
            ]
        );
        let response = X509SvidResponse {
            svids: vec![X509Svid::default()],
            crl: vec![vec![9]],
            federated_bundles: HashMap::new(),
        };
        assert_eq!(response.encode_to_vec(), [0x0a, 0, 0x12, 1, 9]);
    }

    #[test]
    fn jwt_messages_encode_with_the_proto_field_numbers() {
        let request = JwtSvidRequest {
            audience: vec!["x".to_owned()],
            spiffe_id: "s".to_owned(),
        };
        assert_eq!(request.encode_to_vec(), [0x0a, 1, b'x', 0x12, 1, b's']);
        let svid = JwtSvid {
            spiffe_id: "s".to_owned(),
            svid: "t".to_owned(),
            hint: "h".to_owned(),
        };
        assert_eq!(
            svid.encode_to_vec(),
            [0x0a, 1, b's', 0x12, 1, b't', 0x1a, 1, b'h']
        );
        let validate = ValidateJwtSvidRequest {
            audience: "a".to_owned(),
            svid: "t".to_owned(),
        };
        assert_eq!(validate.encode_to_vec(), [0x0a, 1, b'a', 0x12, 1, b't']);
        let bundles = JwtBundlesResponse {
            bundles: HashMap::from([("k".to_owned(), vec![7])]),
        };
        // Map entry: field 1, length 6, {key = 1: "k", value = 2: [7]}.
        assert_eq!(
            bundles.encode_to_vec(),
            [0x0a, 6, 0x0a, 1, b'k', 0x12, 1, 7]
        );
        let x509_bundles = X509BundlesResponse {
            crl: vec![],
            bundles: HashMap::from([("k".to_owned(), vec![7])]),
        };
        assert_eq!(
            x509_bundles.encode_to_vec(),
            [0x12, 6, 0x0a, 1, b'k', 0x12, 1, 7]
        );
    }

    #[test]
    fn claims_become_a_struct() {
        let claims =
            serde_json::json!({"sub": "s", "exp": 5, "aud": ["a"], "x": null, "o": {"b": true}});
        let serde_json::Value::Object(object) = claims else {
            unreachable!()
        };
        let s = json_struct(&object);
        assert_eq!(s.fields.len(), 5);
        assert_eq!(
            s.fields["exp"].kind,
            Some(prost_types::value::Kind::NumberValue(5.0))
        );
    }
}
