//! Watching live: the event stream (filters, resumption) and the metrics
//! (checked by Prometheus's own `promtool`, labels bounded).

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Backend, TestGateway};

fn read(invoice: &str) -> Value {
    json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": invoice}, "session": "s-1"})
}

/// Reads SSE frames from `response` until `want` events arrived.
async fn frames(response: &mut reqwest::Response, want: usize) -> Vec<(String, String, Value)> {
    let mut buffer = String::new();
    let mut out = Vec::new();
    while out.len() < want {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("events arrive within 10 s")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let mut id = String::new();
            let mut kind = String::new();
            let mut data = Value::Null;
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = v.to_owned();
                } else if let Some(v) = line.strip_prefix("event: ") {
                    kind = v.to_owned();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(v).unwrap();
                }
            }
            if !kind.is_empty() {
                out.push((id, kind, data));
            }
        }
    }
    out
}

async fn subscribe(gw: &TestGateway, query: &str, last: Option<&str>) -> reqwest::Response {
    let mut req = gw
        .client
        .get(format!("{}/v1/events{query}", gw.admin))
        .bearer_auth(&gw.admin_token);
    if let Some(last) = last {
        req = req.header("last-event-id", last);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_live_filtered_and_resume_after_the_last_seen() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let invoice = gw.token("invoice-bot");
    let support = gw.token("support-bot");
    let mut denials = subscribe(&gw, "?agent=invoice-bot&outcome=deny", None).await;
    let mut all = subscribe(&gw, "", None).await;

    gw.decide(&invoice, read("INV-1")).await;
    let body = json!({"server": "crm", "tool": "delete_customer", "args": {"id": "c-1"}, "session": "s-1"});
    let (_, denied) = gw.decide(&invoice, body.clone()).await;
    gw.decide(&support, body).await;

    let got = frames(&mut all, 3).await;
    let kinds: Vec<&str> = got.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["decision", "decision", "decision"]);
    assert_eq!(got[0].2["agent"], "invoice-bot");
    assert_eq!(got[0].2["outcome"], "allow");
    assert!(got[0].2["audit_index"].is_u64(), "{}", got[0].2);
    let only = frames(&mut denials, 1).await;
    assert_eq!(only[0].2["decision_id"], denied["id"]);
    assert_eq!(only[0].2["tool"], "delete_customer");
    assert!(
        only[0].2["reasons"][0]
            .as_str()
            .unwrap()
            .contains("no grant")
    );

    // The audit index in the event is the record's.
    let index = only[0].2["audit_index"].as_u64().unwrap();
    let (_, entries) = gw
        .admin_get(
            &gw.admin_token,
            &format!("/v1/audit/entries?from={index}&to={}", index + 1),
        )
        .await;
    assert_eq!(entries["entries"][0]["record"]["decision_id"], denied["id"]);

    // A consumer that saw the first event resumes after it.
    drop(all);
    gw.decide(&invoice, read("INV-2")).await;
    let mut resumed = subscribe(&gw, "", Some(&got[0].0)).await;
    let missed = frames(&mut resumed, 3).await;
    let ids: Vec<&str> = missed.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(ids, [got[1].0.as_str(), got[2].0.as_str(), ids[2]]);
    assert_eq!(missed[2].2["tool"], "read_invoice");
    // An id from another run of Warden: told there is a gap.
    let mut stale = subscribe(&gw, "", Some("abc-5")).await;
    let first = frames(&mut stale, 1).await;
    assert_eq!(first[0].1, "gap");

    // Revocations and sightings are events too.
    let mut others = subscribe(&gw, "?kind=revocation,sighting", None).await;
    let (status, body) = gw
        .admin_post(
            &gw.admin_token,
            "/v1/revocations",
            json!({"agent": "support-bot", "instance": "i-1", "reason": "laptop lost"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    gw.decide(&support, read("INV-3")).await;
    let mut seen = frames(&mut others, 2).await;
    // The revocation's event comes from the store watcher: either order.
    seen.sort_by(|a, b| a.1.cmp(&b.1));
    let kinds: Vec<&str> = seen.iter().map(|(_, k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["revocation", "sighting"], "{seen:?}");
    assert_eq!(seen[0].2["agent"], "support-bot");
    assert_eq!(seen[0].2["reasons"][0], "laptop lost");
    assert_eq!(seen[1].2["outcome"], "revoked");

    // Bad filters and tokens are refused.
    let r = gw
        .client
        .get(format!("{}/v1/events?colour=red", gw.admin))
        .bearer_auth(&gw.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = gw
        .client
        .get(format!("{}/v1/events", gw.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    gw.stop().await;
}

/// `promtool`, from Debian's `prometheus` package (scripts/test.sh installs it).
fn promtool() -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("promtool"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("WARDEN_TEST_STRICT").is_none(),
            "promtool is not installed (Debian package `prometheus`); scripts/test.sh installs it"
        );
        eprintln!("SKIPPED: the promtool check (promtool is not installed)");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_pass_promtool_and_never_label_an_unregistered_name() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let invoice = gw.token("invoice-bot");
    for n in 0..3 {
        gw.decide(&invoice, read(&format!("INV-{n}"))).await;
    }
    // Made-up tools of a registered agent, and an agent with no manifest:
    // neither becomes a label value.
    for n in 0..20 {
        let body = json!({"server": format!("srv-{n}"), "tool": format!("tool-{n}"), "args": {}, "session": "s"});
        gw.decide(&invoice, body).await;
    }
    gw.decide(&gw.token("ghost-bot"), read("INV-9")).await;
    // The writer tells the monitor after answering: give it a moment.
    let mut text = String::new();
    for _ in 0..100 {
        let r = gw
            .client
            .get(format!("{}/metrics", gw.admin))
            .bearer_auth(&gw.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        text = r.text().await.unwrap();
        if text.contains(r#"outcome="deny"} 20"#) && text.contains("warden_auth_failures_total{") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        text.contains(r#"warden_decisions_total{agent="invoice-bot",server="accounting",tool="read_invoice",outcome="allow"} 3"#),
        "{text}"
    );
    assert!(
        text.contains(r#"warden_decisions_total{agent="invoice-bot",server="other",tool="other",outcome="deny"} 20"#),
        "{text}"
    );
    assert!(
        !text.contains("ghost-bot") && !text.contains("srv-1"),
        "{text}"
    );
    assert!(
        text.contains("warden_auth_failures_total{plane=\"data_plane\"} 1"),
        "{text}"
    );
    assert!(text.contains("warden_audit_log_records "), "{text}");
    let r = gw
        .client
        .get(format!("{}/metrics", gw.admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "metrics need an admin-plane token");

    if let Some(promtool) = promtool() {
        use std::io::Write as _;
        let mut child = std::process::Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_agent_is_denied_naming_why_until_resumed() {
    for backend in crate::harness::backends() {
        let gw = TestGateway::start(backend, |t| t).await;
        let invoice = gw.token("invoice-bot");
        let mut events = subscribe(&gw, "?kind=suspension,resumption", None).await;
        assert_eq!(
            gw.decide(&invoice, read("INV-1")).await.1["decision"],
            "allow"
        );

        let (status, body) = gw
            .admin_post(
                &gw.admin_token,
                "/v1/agents/invoice-bot/suspend",
                json!({"reason": "payment burst"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, denied) = gw.decide(&invoice, read("INV-2")).await;
        assert_eq!(denied["decision"], "deny", "{denied}");
        let reason = denied["reasons"][0].as_str().unwrap();
        assert!(
            reason.contains("suspended (payment burst, by test-admin"),
            "{reason}"
        );
        // The denial is on record like any other.
        let (_, entries) = gw
            .admin_get(&gw.admin_token, "/v1/audit/entries?from=0&to=100")
            .await;
        assert!(entries.to_string().contains("payment burst"));
        // Another agent is untouched.
        let support = gw.token("support-bot");
        let body = json!({"server": "crm", "tool": "lookup_customer", "args": {"id": "c-1"}, "session": "s"});
        assert_eq!(gw.decide(&support, body).await.1["decision"], "allow");

        let (status, _) = gw
            .admin_post(&gw.admin_token, "/v1/agents/invoice-bot/resume", json!({}))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            gw.decide(&invoice, read("INV-3")).await.1["decision"],
            "allow"
        );
        let seen = frames(&mut events, 2).await;
        let kinds: Vec<&str> = seen.iter().map(|(_, k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["suspension", "resumption"]);

        // Written to the store by another node (or the CLI): applied by the watcher.
        warden_store::SuspensionStore::suspend(
            &gw.store,
            &warden_store::SuspensionRecord {
                agent: "invoice-bot".into(),
                reason: "alert `burst`".into(),
                by: "node-2".into(),
                at: 1,
            },
        )
        .await
        .unwrap();
        let mut applied = false;
        for _ in 0..100 {
            if gw.decide(&invoice, read("INV-4")).await.1["decision"] == "deny" {
                applied = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            applied,
            "the watcher applies a suspension written elsewhere"
        );
        let (status, _) = gw
            .admin_post(&gw.admin_token, "/v1/agents/nobody/suspend", json!({}))
            .await;
        assert_eq!(status, 404);
        let auditor = gw
            .admin_token_with_role(warden_types::Role::Auditor, "aud")
            .await;
        let (status, _) = gw
            .admin_post(&auditor, "/v1/agents/invoice-bot/resume", json!({}))
            .await;
        assert_eq!(status, 403);
        gw.stop().await;
    }
}
