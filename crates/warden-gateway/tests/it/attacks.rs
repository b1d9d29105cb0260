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
        assert!(
            message.contains("nested deeper than 32 levels"),
            "{message}"
        );
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

async fn get_decision(gw: &TestGateway, token: &str, id: &str) -> (u16, serde_json::Value) {
    let r = gw
        .client
        .get(format!("{}/v1/decisions/{id}", gw.data))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Issue 11: another instance of the same agent read an approval and spent it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_belongs_to_the_instance_that_asked() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let asking = gw.token_at(
        "invoice-bot",
        "laptop-1",
        std::time::SystemTime::now(),
        std::time::Duration::from_secs(600),
    );
    let other = gw.token_at(
        "invoice-bot",
        "laptop-2",
        std::time::SystemTime::now(),
        std::time::Duration::from_secs(600),
    );
    let (_, d) = gw
        .decide(&asking, crate::harness::payment(json!(7500), "s-approve"))
        .await;
    assert_eq!(d["decision"], "needs_approval", "{d}");
    let id = d["id"].as_str().unwrap();
    let (s, e) = gw
        .admin_post(
            &gw.admin_token,
            &format!("/v1/approvals/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    let (s, e) = get_decision(&gw, &other, id).await;
    assert_eq!(s, 404, "{e}");
    let (s, d) = get_decision(&gw, &asking, id).await;
    assert_eq!((s, d["decision"].as_str()), (200, Some("allow")), "{d}");
    gw.stop().await;
}

/// Reads until the server closes the connection; `true` if it did within `limit`.
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// Issue 11: 3,000 connections that sent half a header were all still open
/// 40 s later. Half a header is now cut off after the header read timeout,
/// and connections beyond the cap are closed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_surplus_connections_are_closed() {
    use tokio::io::AsyncWriteExt as _;
    let gw = TestGateway::start(Backend::Sqlite, |t| {
        t.replace("max_connections = 4096", "max_connections = 8")
            .replace(
                "header_read_timeout_secs = 10",
                "header_read_timeout_secs = 1",
            )
    })
    .await;
    let addr = gw.data.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..8 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"POST /v1/decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
            .await
            .unwrap();
        slow.push(s);
    }
    // The ninth is over the cap.
    let mut surplus = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert!(closed_within(&mut surplus, std::time::Duration::from_secs(2)).await);
    // The slow ones are cut off after the timeout (1 s), not left open.
    for s in &mut slow {
        assert!(closed_within(s, std::time::Duration::from_secs(10)).await);
    }
    drop(slow);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (s, d) = gw
        .decide(
            &gw.token("invoice-bot"),
            json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-1"}}),
        )
        .await;
    assert_eq!((s, d["decision"].as_str()), (200, Some("allow")), "{d}");
    gw.stop().await;
}

/// Issue 11: numbers lost precision before the "representable" check, and a
/// repeated key was accepted (last wins; a parser elsewhere may take the first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_json_is_refused_and_nothing_is_recorded() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let token = gw.token("invoice-bot");
    let before = warden_store::AuditStore::audit_size(&gw.store)
        .await
        .unwrap();
    for (body, why) in [
        (
            r#"{"server":"accounting","tool":"schedule_payment","args":{"amount":10000.000000000001,"iban":"DE89370400440532013000"}}"#,
            "cannot be represented exactly",
        ),
        (
            r#"{"server":"accounting","tool":"schedule_payment","args":{"amount":5000.00000000000000001,"iban":"DE89370400440532013000"}}"#,
            "cannot be represented exactly",
        ),
        (
            r#"{"server":"mail","tool":"send","args":{"to":"colleague@example.com","to":"x@evil.test","subject":"s","body":"b"}}"#,
            "key `to` appears twice",
        ),
        (
            r#"{"server":"mail","tool":"send","args":{"to":"colleague@example.com","subject":"s","body":"b","headers":[{"bcc":"a@example.com","bcc":"x@evil.test"}]}}"#,
            "key `bcc` appears twice",
        ),
        (
            r#"{"server":"accounting","server":"mail","tool":"send","args":{}}"#,
            "duplicate field `server`",
        ),
    ] {
        let r = gw
            .client
            .post(format!("{}/v1/decisions", gw.data))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let e: serde_json::Value = r.json().await.unwrap();
        assert_eq!(status, 400, "{body}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(why),
            "{body}: {e}"
        );
    }
    let after = warden_store::AuditStore::audit_size(&gw.store)
        .await
        .unwrap();
    assert_eq!(before, after, "a refused request records nothing");
    gw.stop().await;
}

/// Issue 11: failed authentications were not in the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_recorded() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let forged = format!("{}x", gw.token("invoice-bot"));
    let (s, _) = gw
        .decide(
            &forged,
            json!({"server": "accounting", "tool": "read_invoice", "args": {}}),
        )
        .await;
    assert_eq!(s, 401);
    let (s, _) = gw.admin_get("not-a-token", "/v1/agents").await;
    assert_eq!(s, 401);
    // Deferred records go out with the next batch, or within half a second.
    let mut found = Vec::new();
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, entries) = gw
            .admin_get(&gw.admin_token, "/v1/audit/entries?from=0&to=50")
            .await;
        found = entries["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.to_string().contains("authentication failed"))
            .collect();
        if found.len() >= 2 {
            break;
        }
    }
    assert_eq!(found.len(), 2, "{found:?}");
    let text = serde_json::to_string(&found).unwrap();
    assert!(
        text.contains("data_plane") && text.contains("admin_api"),
        "{text}"
    );
    assert!(
        !text.contains(&forged),
        "the token itself is never recorded"
    );
    gw.stop().await;
}

/// A client trickling its body is answered 408 at the request timeout, not
/// held until the body limit's worth of bytes arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_times_out() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let gw = TestGateway::start(Backend::Sqlite, |t| {
        t.replace("request_timeout_secs = 90", "request_timeout_secs = 1")
    })
    .await;
    let addr = gw.data.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"server\":",
        gw.token("invoice-bot")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut answer))
        .await
        .expect("answered before the test's own limit")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout_secs"), "{text}");
    gw.stop().await;
}

/// Issue 11: the protected-resource metadata echoed any Host header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_metadata_names_only_accepted_hosts() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let addr = gw.data.trim_start_matches("http://").to_owned();
    for (host, status) in [("evil.example", "403"), ("127.0.0.1", "200")] {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let request = format!(
            "GET /.well-known/oauth-protected-resource/mcp/filesystem HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{host}: {answer}"
        );
        assert!(!answer.contains("evil.example/mcp"), "{answer}");
    }
    gw.stop().await;
}

/// One agent cannot bury the approvers' queue: beyond
/// `max_pending_approvals_per_agent` waiting requests, the next is denied
/// naming the limit, on every backend; another agent still asks; a decided
/// one frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_agent_cannot_flood_the_approvals_queue() {
    for backend in crate::harness::backends() {
        let gw = TestGateway::start(backend, |t| {
            let limited = t.replace(
                "max_pending_approvals_per_agent = 50",
                "max_pending_approvals_per_agent = 2",
            );
            assert_ne!(limited, t, "examples/warden.toml sets the limit");
            limited
        })
        .await;
        let bot = gw.token("invoice-bot");
        let mut ids = Vec::new();
        for amount in [7001, 7002] {
            let (_, d) = gw
                .decide(&bot, crate::harness::payment(json!(amount), "flood"))
                .await;
            assert_eq!(d["decision"], "needs_approval", "{d}");
            ids.push(d["id"].as_str().unwrap().to_owned());
        }
        let (_, d) = gw
            .decide(&bot, crate::harness::payment(json!(7003), "flood"))
            .await;
        assert_eq!(d["decision"], "deny", "{d}");
        assert!(
            d["reasons"]
                .to_string()
                .contains("2 approvals waiting (at most 2"),
            "{d}"
        );
        // Another agent's requests are its own.
        let support = gw.token("support-bot");
        let (_, d) = gw
            .decide(
                &support,
                json!({"server": "crm", "tool": "delete_customer", "args": {"id": "c-1"}, "session": "s"}),
            )
            .await;
        assert_eq!(d["decision"], "needs_approval", "{d}");
        // A decided request frees its place.
        let (s, e) = gw
            .admin_post(
                &gw.admin_token,
                &format!("/v1/approvals/{}/reject", ids[0]),
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{e}");
        let (_, d) = gw
            .decide(&bot, crate::harness::payment(json!(7004), "flood"))
            .await;
        assert_eq!(d["decision"], "needs_approval", "{d}");
        gw.stop().await;
    }
}
