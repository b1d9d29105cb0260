//! The attack suite: inputs that once crashed the gateway, moved data past a
//! rule or weakened a decision, each asserting a clear refusal, a gateway
//! that keeps serving, and nothing recorded wrongly.

use serde_json::json;
use warden_types::Role;

use crate::harness::{Backend, TestGateway};

fn nested_policy(depth: usize) -> String {
    format!(
        "permit(principal, action, resource) when {{ {}true{} }};",
        "(".repeat(depth),
        ")".repeat(depth)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_policy_is_refused_and_the_gateway_keeps_serving() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let auditor = gw.admin_token_with_role(Role::Auditor, "audrey").await;
    for depth in [150, 5_000, 200_000] {
        let candidate = json!({"policies": {"deep.cedar": nested_policy(depth)}});
        let (s, e) = gw
            .admin_post(&auditor, "/v1/policies/lint", candidate.clone())
            .await;
        assert_eq!(s, 422, "{e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains("deep.cedar:1"), "{message}");
        assert!(message.contains("nested deeper than 32 levels"), "{message}");
        let mut with_cases = candidate;
        with_cases["cases"] = json!("cases: []\n");
        let (s, e) = gw
            .admin_post(&auditor, "/v1/policies/test", with_cases)
            .await;
        assert_eq!(s, 422, "{e}");
    }
    // Still serving, and still deciding.
    let (s, d) = gw
        .decide(
            &gw.token("invoice-bot"),
            json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-1"}}),
        )
        .await;
    assert_eq!((s, d["decision"].as_str()), (200, Some("allow")), "{d}");
    gw.stop().await;
}
