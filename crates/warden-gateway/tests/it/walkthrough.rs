//! The README's walkthrough, as a test, on every backend.

use serde_json::json;

use crate::harness::{TestGateway, backends, payment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkthrough_decisions_on_every_backend() {
    for backend in backends() {
        let gw = TestGateway::start(backend, |t| t).await;
        let bot = gw.token("invoice-bot");

        let (status, allow) = gw
            .decide(&bot, json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-1"}, "session": "s-1"}))
            .await;
        assert_eq!(status, 200, "{backend:?}: {allow}");
        assert_eq!(allow["decision"], "allow", "{allow}");
        assert_eq!(
            allow["policies"],
            json!(["agent/invoice-bot/accounting/read_invoice"])
        );
        assert!(
            allow["policy_digest"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        assert_eq!(allow["agent"], "spiffe://example.org/agent/invoice-bot/i-1");

        let (_, cents) = gw.decide(&bot, payment(json!(98.7), "s-1")).await;
        assert_eq!(cents["decision"], "allow", "{cents}");

        let (_, ungranted) = gw.decide(&bot, json!({"server": "crm", "tool": "delete_customer", "args": {"id": "c-1"}, "session": "s-1"})).await;
        assert_eq!(ungranted["decision"], "deny");
        assert_eq!(
            ungranted["reasons"],
            json!(["agent `invoice-bot` has no grant for tool `crm/delete_customer`"])
        );

        let (_, over) = gw.decide(&bot, payment(json!(25000), "s-1")).await;
        assert_eq!(over["decision"], "deny");
        assert_eq!(
            over["reasons"],
            json!(["condition `context.args.amount <= 10000` is false with amount = 25000"])
        );

        let (_, unknown_server) = gw
            .decide(
                &bot,
                json!({"server": "acounting", "tool": "read_invoice", "args": {}}),
            )
            .await;
        assert_eq!(
            unknown_server["reasons"],
            json!(["unknown tool server `acounting` (did you mean `accounting`?)"])
        );

        // needs_approval → approve → the agent reads allow.
        let (_, pending) = gw.decide(&bot, payment(json!(7500), "s-1")).await;
        assert_eq!(pending["decision"], "needs_approval", "{pending}");
        let reasons = pending["reasons"].to_string();
        assert!(
            reasons.contains("condition `context.args.amount > 5000` holds"),
            "{reasons}"
        );
        let id = pending["id"].as_str().unwrap().to_owned();
        let (s, _) = gw
            .admin_post(
                &gw.admin_token,
                &format!("/v1/approvals/{id}/approve"),
                json!({"note": "checked"}),
            )
            .await;
        assert_eq!(s, 200);
        let r = gw
            .client
            .get(format!("{}/v1/decisions/{id}?wait=5", gw.data))
            .bearer_auth(&bot)
            .send()
            .await
            .unwrap();
        let outcome: serde_json::Value = r.json().await.unwrap();
        assert_eq!(outcome["decision"], "allow", "{outcome}");
        assert!(
            outcome["reasons"]
                .to_string()
                .contains("approved by `test-admin`: checked")
        );
        // Asking again gives the same final answer.
        let r = gw
            .client
            .get(format!("{}/v1/decisions/{id}", gw.data))
            .bearer_auth(&bot)
            .send()
            .await
            .unwrap();
        let again_outcome: serde_json::Value = r.json().await.unwrap();
        assert_eq!(again_outcome, outcome);
        // The approval was used once; the same call again needs its own.
        let (_, again) = gw.decide(&bot, payment(json!(7500), "s-1")).await;
        assert_eq!(again["decision"], "needs_approval");

        // An approval is bound to the arguments: approving 7500 does not approve 7600.
        let again_id = again["id"].as_str().unwrap().to_owned();
        gw.admin_post(
            &gw.admin_token,
            &format!("/v1/approvals/{again_id}/approve"),
            json!({}),
        )
        .await;
        let (_, other_args) = gw.decide(&bot, payment(json!(7600), "s-1")).await;
        assert_eq!(other_args["decision"], "needs_approval");
        // …while re-asking with the approved arguments uses the approval.
        let (_, same_args) = gw.decide(&bot, payment(json!(7500), "s-1")).await;
        assert_eq!(same_args["decision"], "allow", "{same_args}");
        // That approval is spent: its own id no longer allows anything.
        let r = gw
            .client
            .get(format!("{}/v1/decisions/{again_id}", gw.data))
            .bearer_auth(&bot)
            .send()
            .await
            .unwrap();
        let spent: serde_json::Value = r.json().await.unwrap();
        assert_eq!(spent["decision"], "deny", "{spent}");
        assert!(
            spent["reasons"].to_string().contains("already used"),
            "{spent}"
        );

        // Rejection denies, naming who and why.
        let (_, third) = gw.decide(&bot, payment(json!(8000), "s-1")).await;
        let third_id = third["id"].as_str().unwrap().to_owned();
        gw.admin_post(
            &gw.admin_token,
            &format!("/v1/approvals/{third_id}/reject"),
            json!({"note": "unknown supplier"}),
        )
        .await;
        let r = gw
            .client
            .get(format!("{}/v1/decisions/{third_id}", gw.data))
            .bearer_auth(&bot)
            .send()
            .await
            .unwrap();
        let rejected: serde_json::Value = r.json().await.unwrap();
        assert_eq!(rejected["decision"], "deny");
        assert!(
            rejected["reasons"]
                .to_string()
                .contains("rejected by `test-admin`: unknown supplier")
        );
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_budget_counts_allowed_actions_only() {
    let gw = TestGateway::start(crate::harness::Backend::Sqlite, |t| t).await;
    let bot = gw.token("invoice-bot");
    let read = json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-1"}, "session": "budget"});
    // Denied calls do not count.
    for _ in 0..5 {
        let (_, d) = gw.decide(&bot, payment(json!(25000), "budget")).await;
        assert_eq!(d["decision"], "deny");
    }
    for i in 0..20 {
        let (_, d) = gw.decide(&bot, read.clone()).await;
        assert_eq!(d["decision"], "allow", "call {i}: {d}");
    }
    let (_, spent) = gw.decide(&bot, read.clone()).await;
    assert_eq!(spent["decision"], "deny");
    assert!(
        spent["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("session budget 20 spent"),
        "{spent}"
    );
    // Another session has its own budget.
    let (_, other) = gw.decide(&bot, json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-1"}, "session": "fresh"})).await;
    assert_eq!(other["decision"], "allow");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_expires_into_deny() {
    let gw = TestGateway::start(crate::harness::Backend::Sqlite, |t| {
        t.replace("approval_timeout_secs = 900", "approval_timeout_secs = 1")
    })
    .await;
    let bot = gw.token("invoice-bot");
    let (_, pending) = gw.decide(&bot, payment(json!(7500), "s-exp")).await;
    assert_eq!(pending["decision"], "needs_approval");
    let id = pending["id"].as_str().unwrap();
    let r = gw
        .client
        .get(format!("{}/v1/decisions/{id}?wait=3", gw.data))
        .bearer_auth(&bot)
        .send()
        .await
        .unwrap();
    let outcome: serde_json::Value = r.json().await.unwrap();
    assert_eq!(outcome["decision"], "deny", "{outcome}");
    assert!(outcome["reasons"].to_string().contains("expired"));
    // An approver can no longer approve it.
    let (s, body) = gw
        .admin_post(
            &gw.admin_token,
            &format!("/v1/approvals/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "{body}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_json_errors() {
    let gw = TestGateway::start(crate::harness::Backend::Sqlite, |t| {
        t.replace("max_body_bytes = 1048576", "max_body_bytes = 4096")
    })
    .await;
    let bot = gw.token("invoice-bot");
    let url = format!("{}/v1/decisions", gw.data);
    let send = |body: String| gw.client.post(&url).bearer_auth(&bot).body(body).send();

    let r = send("{\"server\": \"accounting\",".into()).await.unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "bad_json");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1 column"),
        "{e}"
    );

    let r =
        send(json!({"server": "accounting", "tool": "read_invoice", "args": [1, 2]}).to_string())
            .await
            .unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["message"], "field `args` must be a JSON object");

    let r = send(json!({"server": "accounting", "tool": "read_invoice", "colour": 1}).to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: serde_json::Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{e}"
    );

    let big = json!({"server": "accounting", "tool": "read_invoice", "args": {"pad": "x".repeat(10_000)}}).to_string();
    let r = send(big).await.unwrap();
    assert_eq!(r.status(), 413);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "body_too_large");

    let r = gw
        .client
        .get(format!("{}/nope", gw.data))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "not_found");
    gw.stop().await;
}

/// The arguments are classified only when their classes can change the
/// answer: a call no permit reaches is denied without it (and its record
/// names no classes), a granted one is classified and the flow rules see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_are_classified_only_where_policy_can_use_them() {
    let gw = TestGateway::start(crate::harness::Backend::Sqlite, |t| t).await;
    let bot = gw.token("invoice-bot");
    let args = json!({"url": "https://example.net/?iban=DE89370400440532013000", "note": "card 4111 1111 1111 1111"});
    let (_, ungranted) = gw
        .decide(
            &bot,
            json!({"server": "web", "tool": "fetch", "args": args, "session": "c"}),
        )
        .await;
    assert_eq!(ungranted["decision"], "deny", "{ungranted}");
    assert!(ungranted.get("classes").is_none(), "{ungranted}");
    let (_, granted) = gw.decide(&bot, payment(json!(25), "c")).await;
    assert_eq!(granted["decision"], "allow", "{granted}");
    assert!(
        granted["classes"].to_string().contains("financial"),
        "{granted}"
    );
    gw.stop().await;
}
