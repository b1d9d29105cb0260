"""Drives Warden's SPIFFE Workload API with py-spiffe (PyPI `spiffe`), an
independent client, for the tests of crates/warden-workload.

The socket comes from SPIFFE_ENDPOINT_SOCKET (unix:///path). Usage:

  client.py fetch AUDIENCE     X.509-SVID, bundles, JWT-SVID for AUDIENCE,
                               validated by the server and locally
  client.py rotate SECONDS     watch FetchX509SVID until a second SVID (another
                               serial) arrives, at most SECONDS
  client.py jwt AUDIENCE       JWT-SVID and bundle only; the X.509 call's error
  client.py save DIR           the X.509-SVID as an agent's TLS stack uses it:
                               DIR/svid.pem (chain), DIR/svid.key (0600),
                               DIR/bundle.pem (the trust domain's authorities)
  client.py raw METHOD HEADER  one call with py-spiffe's generated gRPC stubs,
                               with (HEADER=yes) or without the security header;
                               prints the status code

Each prints one JSON object on standard output.

py-spiffe is used as published: its channel sends gRPC C-core's default
authority for a Unix socket, the percent-encoded socket path (see the crate
doc of warden-workload on why the server must cope with that).
"""

import json
import os
import sys
import threading
import time

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID
from spiffe import JwtSvid, WorkloadApiClient
from spiffe._proto import workload_pb2, workload_pb2_grpc


def leaf_facts(svid):
    leaf = svid.leaf
    constraints = leaf.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    sans = leaf.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    return {
        "spiffe_id": str(svid.spiffe_id),
        "serial": leaf.serial_number,
        "not_after": leaf.not_valid_after_utc.timestamp(),
        "lifetime": (leaf.not_valid_after_utc - leaf.not_valid_before_utc).total_seconds(),
        "ca": constraints.ca,
        "uris": [uri.value for uri in sans],
        "chain": len(svid.cert_chain),
        "key_pem": svid.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).startswith(b"-----BEGIN PRIVATE KEY-----"),
    }


def fetch(audience):
    with WorkloadApiClient(default_timeout=10) as client:
        context = client.fetch_x509_context()
        svid = context.default_svid
        td = svid.spiffe_id.trust_domain
        bundle = context.x509_bundle_set.get_bundle_for_trust_domain(td)
        # The leaf must be signed by an authority in the bundle.
        signed_by_bundle = any(
            authority.subject == svid.leaf.issuer
            and verify_signature(authority, svid.leaf)
            for authority in bundle.x509_authorities
        )
        bundles = client.fetch_x509_bundles()
        jwt_svid = client.fetch_jwt_svid(audience={audience})
        validated = client.validate_jwt_svid(jwt_svid.token, audience)
        jwt_bundles = client.fetch_jwt_bundles()
        jwt_bundle = jwt_bundles.get_bundle_for_trust_domain(td)
        local = JwtSvid.parse_and_validate(jwt_svid.token, jwt_bundle, {audience})
        wrong_audience = None
        try:
            client.validate_jwt_svid(jwt_svid.token, audience + "-other")
        except Exception as error:  # noqa: BLE001 - report what py-spiffe raised
            wrong_audience = str(error)
        print(json.dumps({
            "x509": leaf_facts(svid),
            "svids": len(context.x509_svids),
            "trust_domain": str(td),
            "bundle_authorities": len(bundle.x509_authorities),
            "signed_by_bundle": signed_by_bundle,
            "x509_bundle_domains": sorted(str(b.trust_domain) for b in bundles.bundles),
            "jwt_spiffe_id": str(jwt_svid.spiffe_id),
            "jwt_audience": sorted(jwt_svid.audience),
            "validated_spiffe_id": str(validated.spiffe_id),
            "locally_validated_spiffe_id": str(local.spiffe_id),
            "wrong_audience_error": wrong_audience,
        }))


def jwt_only(audience):
    with WorkloadApiClient(default_timeout=10) as client:
        jwt_svid = client.fetch_jwt_svid(audience={audience})
        validated = client.validate_jwt_svid(jwt_svid.token, audience)
        td = jwt_svid.spiffe_id.trust_domain
        jwt_bundle = client.fetch_jwt_bundles().get_bundle_for_trust_domain(td)
        local = JwtSvid.parse_and_validate(jwt_svid.token, jwt_bundle, {audience})
        x509_error = None
        try:
            client.fetch_x509_svid()
        except Exception as error:  # noqa: BLE001 - report what py-spiffe raised
            x509_error = str(error)
        print(json.dumps({
            "jwt_spiffe_id": str(jwt_svid.spiffe_id),
            "jwt_audience": sorted(jwt_svid.audience),
            "validated_spiffe_id": str(validated.spiffe_id),
            "locally_validated_spiffe_id": str(local.spiffe_id),
            "x509_error": x509_error,
        }))


def verify_signature(authority, leaf):
    from cryptography.hazmat.primitives.asymmetric import ec
    try:
        authority.public_key().verify(
            leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm)
        )
        return True
    except Exception:  # noqa: BLE001
        return False


def rotate(seconds):
    updates = []
    errors = []
    done = threading.Event()

    def on_success(context):
        svid = context.default_svid
        updates.append({**leaf_facts(svid), "received": time.time()})
        if len({u["serial"] for u in updates}) >= 2:
            done.set()

    def on_error(error):
        errors.append(str(error))
        done.set()

    with WorkloadApiClient() as client:
        handle = client.stream_x509_contexts(on_success, on_error, retry_connect=False)
        done.wait(seconds)
        handle.cancel()
    print(json.dumps({"updates": updates, "errors": errors}))


def raw(method, header):
    target = os.environ["SPIFFE_ENDPOINT_SOCKET"].replace("unix:///", "unix:/")
    metadata = [("workload.spiffe.io", "true")] if header == "yes" else []
    with grpc.insecure_channel(target) as channel:
        stub = workload_pb2_grpc.SpiffeWorkloadAPIStub(channel)
        try:
            if method == "FetchJWTSVID":
                stub.FetchJWTSVID(
                    workload_pb2.JWTSVIDRequest(audience=["db"]), metadata=metadata, timeout=10
                )
            elif method == "FetchX509SVID":
                next(iter(stub.FetchX509SVID(
                    workload_pb2.X509SVIDRequest(), metadata=metadata, timeout=10
                )))
            elif method == "FetchJWTBundles":
                next(iter(stub.FetchJWTBundles(
                    workload_pb2.JWTBundlesRequest(), metadata=metadata, timeout=10
                )))
            else:
                raise SystemExit(f"unknown method {method}")
            print(json.dumps({"code": "OK", "details": ""}))
        except grpc.RpcError as error:
            print(json.dumps({"code": error.code().name, "details": error.details()}))


def save(directory):
    with WorkloadApiClient(default_timeout=10) as client:
        context = client.fetch_x509_context()
    svid = context.default_svid
    bundle = context.x509_bundle_set.get_bundle_for_trust_domain(svid.spiffe_id.trust_domain)
    os.makedirs(directory, exist_ok=True)
    pem = serialization.Encoding.PEM
    with open(os.path.join(directory, "svid.pem"), "wb") as f:
        for cert in svid.cert_chain:
            f.write(cert.public_bytes(pem))
    key = os.path.join(directory, "svid.key")
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(svid.private_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with open(os.path.join(directory, "bundle.pem"), "wb") as f:
        for authority in bundle.x509_authorities:
            f.write(authority.public_bytes(pem))
    print(json.dumps({"spiffe_id": str(svid.spiffe_id), "serial": svid.leaf.serial_number}))


def main():
    command = sys.argv[1]
    if command == "save":
        save(sys.argv[2])
        return
    if command == "fetch":
        fetch(sys.argv[2])
    elif command == "jwt":
        jwt_only(sys.argv[2])
    elif command == "rotate":
        rotate(float(sys.argv[2]))
    elif command == "raw":
        raw(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
