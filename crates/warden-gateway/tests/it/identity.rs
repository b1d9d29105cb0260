//! The data plane accepts only valid, unexpired, unrevoked tokens of
//! registered agents.

use std::time::{Duration, SystemTime};

use serde_json::json;
use warden_store::Store;
use warden_types::AgentName;

use crate::harness::{Backend, TestGateway, backends};

fn read() -> serde_json::Value {
    json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-1"}, "session": "s"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_identities_are_refused_with_401() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let expired = gw.token_at(
        "invoice-bot",
        "i-1",
        SystemTime::now() - Duration::from_secs(3600),
        Duration::from_secs(600),
    );
    let other_key = {
        let key = warden_identity::SigningKey::generate();
        let id = "spiffe://example.org/agent/invoice-bot/i-1"
            .parse()
            .unwrap();
        key.issue(&warden_identity::IssueRequest {
            spiffe_id: id,
            audience: vec!["warden".into()],
            ttl: Duration::from_secs(600),
            now: SystemTime::now(),
        })
        .unwrap()
        .token
        .expose()
        .to_owned()
    };
    let unregistered = gw.token("ghost-bot");
    for (token, code, what) in [
        (expired.as_str(), "invalid_token", "expired"),
        (other_key.as_str(), "invalid_token", "unknown key"),
        (unregistered.as_str(), "unknown_agent", "not registered"),
        ("not-a-jwt", "invalid_token", "malformed"),
    ] {
        let (status, body) = gw.decide(token, read()).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
    }
    let r = gw
        .client
        .post(format!("{}/v1/decisions", gw.data))
        .json(&read())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"warden\"");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_is_immediate_per_instance_and_per_agent() {
    for backend in backends() {
        let gw = TestGateway::start(backend, |t| t).await;
        let one = gw.token_at(
            "invoice-bot",
            "i-1",
            SystemTime::now(),
            Duration::from_secs(600),
        );
        let two = gw.token_at(
            "invoice-bot",
            "i-2",
            SystemTime::now(),
            Duration::from_secs(600),
        );
        assert_eq!(gw.decide(&one, read()).await.1["decision"], "allow");

        // Through the admin API: effective on the next request.
        let (s, _) = gw
            .admin_post(
                &gw.admin_token,
                "/v1/revocations",
                json!({"agent": "invoice-bot", "instance": "i-1", "reason": "leaked"}),
            )
            .await;
        assert_eq!(s, 200);
        let (status, body) = gw.decide(&one, read()).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("revoked")),
            "{body}"
        );
        assert_eq!(
            gw.decide(&two, read()).await.1["decision"],
            "allow",
            "other instances keep working"
        );

        // Through the store (as `warden agent revoke` does): within the watch period.
        gw.store
            .add_revocation(
                &AgentName::new("invoice-bot").unwrap(),
                None,
                "retired",
                "cli",
                0,
            )
            .await
            .unwrap();
        tokio::time::sleep(warden_gateway::WATCH_PERIOD * 3).await;
        let (status, _) = gw.decide(&two, read()).await;
        assert_eq!(
            status, 401,
            "{backend:?}: whole-agent revocation from another process"
        );
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_set_is_served_as_a_spiffe_bundle() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let bundle: serde_json::Value = gw
        .client
        .get(format!("{}/.well-known/spiffe/bundle", gw.data))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bundle["keys"][0]["kid"], gw.key.key_id());
    assert_eq!(bundle["keys"][0]["use"], "jwt-svid");
    // A third party can verify a token with the served bundle alone.
    let keys = warden_identity::VerifyingKeyEntry::from_bundle(&bundle).unwrap();
    let verifier = warden_identity::JwtSvidVerifier::new(
        "example.org".parse().unwrap(),
        "warden".into(),
        keys,
    );
    let svid = verifier
        .verify(&gw.token("invoice-bot"), SystemTime::now())
        .unwrap();
    assert_eq!(
        svid.spiffe_id.to_string(),
        "spiffe://example.org/agent/invoice-bot/i-1"
    );
    gw.stop().await;
}
