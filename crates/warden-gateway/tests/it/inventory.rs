//! The inventory agrees with the audit log, and callers Warden cannot tie
//! to a registered agent become sightings, within a bound.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use warden_store::Store;
use warden_types::AgentName;

use crate::harness::{TestGateway, backends, payment};

fn read(invoice: &str, session: &str) -> Value {
    json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": invoice}, "session": session})
}

/// Every audit record, decoded.
async fn audit_records(gw: &TestGateway) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let from = out.len();
        let (status, body) = gw
            .admin_get(
                &gw.admin_token,
                &format!("/v1/audit/entries?from={from}&to={}", from + 1000),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let entries = body["entries"].as_array().unwrap();
        if entries.is_empty() {
            return out;
        }
        out.extend(entries.iter().map(|e| e["record"].clone()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_figures_agree_with_the_audit_log() {
    for backend in backends() {
        let gw = TestGateway::start(backend, |t| t).await;
        let invoice = gw.token("invoice-bot");
        let support = gw.token("support-bot");
        // A scripted run: allowed reads, denied tools, a payment over the
        // approval line, a condition that fails, results with personal data.
        for n in 0..5 {
            let (status, body) = gw.decide(&invoice, read(&format!("INV-{n}"), "s-1")).await;
            assert_eq!(status, 200, "{body}");
        }
        for _ in 0..3 {
            let body = json!({"server": "crm", "tool": "delete_customer", "args": {"id": "c-1"}, "session": "s-1"});
            gw.decide(&invoice, body).await;
        }
        gw.decide(&invoice, payment(json!(9000), "s-2")).await;
        gw.decide(&invoice, payment(json!(100), "s-2")).await;
        let (status, d) = gw
            .decide(
                &support,
                json!({"server": "filesystem", "tool": "read_text_file",
                       "args": {"path": "/srv/warden/examples/shared/customers/jane-roe.txt"}, "session": "case-1"}),
            )
            .await;
        assert_eq!(
            (status, d["decision"].as_str()),
            (200, Some("allow")),
            "{d}"
        );
        let output = "Jane Roe, jane.roe@example.net, born 1984-03-07";
        let (status, body) = gw
            .observe(
                &support,
                json!({"decision": d["id"], "output": {"content": [{"type": "text", "text": output}]}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        // An identity refusal: not an agent's activity.
        gw.decide("not-a-token", read("INV-9", "s-1")).await;

        // The observation rides with a later batch (or the writer's 500 ms
        // tick): wait until it is in the log, so that the log and the
        // inventory are compared at the same point.
        let mut records = audit_records(&gw).await;
        for _ in 0..50 {
            if records.iter().any(|r| r["kind"] == "observation") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            records = audit_records(&gw).await;
        }
        let mut by_agent: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        let mut classes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut last_seen: BTreeMap<String, i64> = BTreeMap::new();
        for r in &records {
            let Some(agent) = r["agent"].as_str() else {
                continue;
            };
            let agent = agent.split('/').nth(4).unwrap().to_owned();
            let outcome = match r["kind"].as_str().unwrap() {
                "decision" => r["decision"].as_str().unwrap().to_owned(),
                other => other.to_owned(),
            };
            *by_agent
                .entry(agent.clone())
                .or_default()
                .entry(outcome)
                .or_default() += 1;
            for c in r["classes"].as_array().into_iter().flatten() {
                classes
                    .entry(agent.clone())
                    .or_default()
                    .insert(c.as_str().unwrap().to_owned());
            }
            let t = r["time_ms"].as_i64().unwrap();
            let seen = last_seen.entry(agent).or_default();
            *seen = (*seen).max(t);
        }
        assert_eq!(
            by_agent["invoice-bot"].values().sum::<i64>(),
            10,
            "{by_agent:?}"
        );

        let (status, inventory) = gw.admin_get(&gw.admin_token, "/v1/inventory").await;
        assert_eq!(status, 200, "{inventory}");
        let agents = inventory["agents"].as_array().unwrap();
        let names: Vec<&str> = agents.iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["invoice-bot", "research-bot", "support-bot"]);
        for a in agents {
            let name = a["name"].as_str().unwrap();
            let want = by_agent.get(name).cloned().unwrap_or_default();
            let got: BTreeMap<String, i64> =
                serde_json::from_value(a["activity"]["total"].clone()).unwrap();
            assert_eq!(got, want, "{name}: totals");
            let day: BTreeMap<String, i64> =
                serde_json::from_value(a["activity"]["last_24h"].clone()).unwrap();
            assert_eq!(day, want, "{name}: the last 24 h hold the whole run");
            let touched: BTreeSet<String> = a["activity"]["classes_touched"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["class"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                touched,
                classes.get(name).cloned().unwrap_or_default(),
                "{name}: classes"
            );
            assert_eq!(
                a["activity"]["last_seen"].as_i64(),
                last_seen.get(name).copied(),
                "{name}"
            );
        }
        let invoice_inv = &agents[0];
        assert_eq!(invoice_inv["owner"], "finance-ops@example.com");
        let never: Vec<&str> = invoice_inv["activity"]["never_used"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(!never.contains(&"accounting/read_invoice"), "{never:?}");
        let read_tool = invoice_inv["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tool"] == "read_invoice")
            .unwrap();
        assert_eq!(read_tool["used_30d"], 5);

        // One agent, and the CSV register.
        let (status, one) = gw
            .admin_get(&gw.admin_token, "/v1/inventory/support-bot")
            .await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(one["name"], "support-bot");
        let (status, missing) = gw.admin_get(&gw.admin_token, "/v1/inventory/nobody").await;
        assert_eq!(status, 404, "{missing}");
        let csv = gw
            .client
            .get(format!("{}/v1/inventory?format=csv", gw.admin))
            .bearer_auth(&gw.admin_token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(
            lines[0].starts_with("record_type,identifier,name,"),
            "{csv}"
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("ict_asset,")).count(),
            3,
            "{csv}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("ict_third_party_service,")),
            "{csv}"
        );
        gw.stop().await;
    }
}

/// A token for `spiffe_id` signed by a key Warden does not know.
fn signed_elsewhere(spiffe_id: &str) -> String {
    warden_identity::SigningKey::generate()
        .issue(&warden_identity::IssueRequest {
            spiffe_id: spiffe_id.parse().unwrap(),
            audience: vec!["warden".into()],
            ttl: Duration::from_secs(600),
            now: SystemTime::now(),
        })
        .unwrap()
        .token
        .expose()
        .to_owned()
}

fn sightings_of<'a>(list: &'a Value, kind: &str) -> Vec<&'a Value> {
    list["sightings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == kind)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_callers_become_one_sighting_each() {
    for backend in backends() {
        let gw = TestGateway::start(backend, |t| t).await;
        let call = |token: Option<String>, agent: &'static str| {
            let client = gw.client.clone();
            let url = format!("{}/v1/decisions", gw.data);
            async move {
                let mut req = client
                    .post(url)
                    .header("user-agent", format!("{agent}-client/1.0"))
                    .json(
                        &json!({"server": "crm", "tool": "export_all", "args": {}, "session": "x"}),
                    );
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                assert_eq!(req.send().await.unwrap().status(), 401);
            }
        };
        let foreign = signed_elsewhere("spiffe://partner.example/agent/their-bot/p-1");
        let other_key = signed_elsewhere("spiffe://example.org/agent/invoice-bot/stolen");
        let revoked = gw.token_at(
            "invoice-bot",
            "old-laptop",
            SystemTime::now(),
            Duration::from_secs(600),
        );
        gw.store
            .add_revocation(
                &AgentName::new("invoice-bot").unwrap(),
                Some(&warden_types::InstanceId::new("old-laptop").unwrap()),
                "lost",
                "test",
                1,
            )
            .await
            .unwrap();
        gw.gateway.reload().await.unwrap();
        for _ in 0..2 {
            call(None, "anon").await;
            call(Some(other_key.clone()), "forger").await;
            call(Some(foreign.clone()), "partner").await;
            call(Some(gw.token("ghost-bot")), "ghost").await;
            call(Some(revoked.clone()), "old").await;
        }
        // An MCP client that never registered: its clientInfo is the sighting's client.
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "shadow-desktop", "version": "0.9.1"}}});
        let r = gw
            .client
            .post(format!("{}/mcp/filesystem", gw.data))
            .header("accept", "application/json, text/event-stream")
            .json(&init)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let (status, list) = gw.admin_get(&gw.admin_token, "/v1/sightings").await;
        assert_eq!(status, 200, "{list}");
        let mcp: Vec<_> = list["sightings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["client"] == "shadow-desktop/0.9.1")
            .collect();
        assert_eq!(mcp.len(), 1, "{list}");
        assert_eq!(mcp[0]["kind"], "no_token");
        assert_eq!(mcp[0]["tools"], json!(["filesystem/initialize"]));
        for (kind, claimed, agent) in [
            ("no_token", "", "anon"),
            (
                "invalid_token",
                "spiffe://example.org/agent/invoice-bot/stolen",
                "forger",
            ),
            (
                "foreign_trust_domain",
                "spiffe://partner.example/agent/their-bot/p-1",
                "partner",
            ),
            (
                "unknown_agent",
                "spiffe://example.org/agent/ghost-bot/i-1",
                "ghost",
            ),
            (
                "revoked",
                "spiffe://example.org/agent/invoice-bot/old-laptop",
                "old",
            ),
        ] {
            let found: Vec<_> = sightings_of(&list, kind)
                .into_iter()
                .filter(|s| s["client"] == "")
                .collect();
            assert_eq!(found.len(), 1, "{kind}: {list}");
            let s = found[0];
            assert_eq!(s["count"], 2, "{kind}: {s}");
            assert_eq!(s["claimed"], claimed, "{kind}: {s}");
            assert_eq!(s["source"], "127.0.0.1", "{kind}: {s}");
            assert_eq!(
                s["user_agent"],
                format!("{agent}-client/1.0"),
                "{kind}: {s}"
            );
            assert_eq!(s["tools"], json!(["crm/export_all"]), "{kind}: {s}");
            assert!(s["last_seen"].as_i64() >= s["first_seen"].as_i64(), "{s}");
        }
        // The token issued for the unknown agent is never shown.
        assert!(!list.to_string().contains(&gw.token("ghost-bot")[..40]));
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_junk_flood_stays_within_the_sightings_bound() {
    let gw = TestGateway::start(crate::harness::Backend::Sqlite, |t| t).await;
    // 100,000 refusals, each claiming a different identity, from many
    // user agents: counted in bounded memory, saved within the bound.
    let total = 100_000;
    let client = gw.client.clone();
    let url = format!("{}/v1/decisions", gw.data);
    let mut sent = 0;
    while sent < total {
        let batch: Vec<_> = (sent..(sent + 500).min(total))
            .map(|n| {
                let b64 = |s: &str| {
                    use base64::Engine as _;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
                };
                let token = format!(
                    "{}.{}.x",
                    b64(r#"{"alg":"ES256"}"#),
                    b64(&format!(
                        r#"{{"sub":"spiffe://junk{n}.example/agent/a{n}/i"}}"#
                    ))
                );
                client
                    .post(&url)
                    .bearer_auth(token)
                    .header("user-agent", format!("junk/{n}"))
                    .body("{}")
                    .send()
            })
            .collect();
        for r in futures_util::future::join_all(batch).await {
            assert_eq!(r.unwrap().status(), 401);
        }
        sent = (sent + 500).min(total);
        assert!(gw.gateway.pending_sightings() <= warden_inventory::MAX_PENDING + 64);
        if sent % 20_000 == 0 {
            gw.gateway.save_inventory().await.unwrap();
        }
    }
    gw.gateway.save_inventory().await.unwrap();
    let stored = warden_store::InventoryStore::sightings(&gw.store, i64::MAX)
        .await
        .unwrap();
    assert!(
        stored.len() as i64 <= warden_inventory::SIGHTINGS_KEPT,
        "{}",
        stored.len()
    );
    let counted: i64 = stored.iter().map(|s| s.count).sum();
    assert!(counted > 0 && counted <= total as i64, "{counted}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovery_report_joins_the_sightings() {
    let gw = TestGateway::start(crate::harness::Backend::Sqlite, |t| t).await;
    // The shape `warden discover --format json` writes.
    let report = json!({
    "version": 1, "host": "dev-laptop-7",
    "scanned": {"roots": ["/home/a"], "files": 10, "bytes": 100, "seconds": 0.1},
    "problems": [],
    "findings": [
        {"id": "ae5b3fc9a43789ad", "kind": "mcp_server", "name": "filesystem",
         "what": "MCP server `filesystem` in Cursor's configuration starts `npx` directly: it bypasses Warden",
         "path": "/home/a/.cursor/mcp.json", "line": 3, "evidence": "npx -y @modelcontextprotocol/server-filesystem",
         "client": "cursor", "transport": "stdio", "governed": false, "agent": null, "covered": false,
         "secrets": [{"name": "GITHUB_TOKEN", "provider": "github", "fingerprint": "sha256:0123456789ab"}]},
        {"id": "bb", "kind": "provider_key", "name": "OPENAI_API_KEY", "path": "/home/a/app/.env", "line": 1,
         "governed": false, "covered": false}
    ]});
    let (status, body) = gw
        .admin_post(&gw.admin_token, "/v1/inventory/discoveries", report.clone())
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], 2);
    // Pushed again: counted again, not duplicated.
    gw.admin_post(&gw.admin_token, "/v1/inventory/discoveries", report)
        .await;
    let (_, list) = gw.admin_get(&gw.admin_token, "/v1/sightings").await;
    let found: Vec<&Value> = list["sightings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["origin"] == "discover")
        .collect();
    assert_eq!(found.len(), 2, "{list}");
    let mcp = found.iter().find(|s| s["kind"] == "mcp_server").unwrap();
    assert_eq!(
        (
            mcp["claimed"].as_str(),
            mcp["source"].as_str(),
            mcp["count"].as_i64()
        ),
        (Some("filesystem"), Some("dev-laptop-7"), Some(2))
    );
    assert_eq!(mcp["detail"]["line"], 3);
    assert_eq!(mcp["detail"]["secrets"][0]["name"], "GITHUB_TOKEN");
    // Bad reports are refused, naming what is wrong; auditors cannot push.
    let (status, body) = gw
        .admin_post(
            &gw.admin_token,
            "/v1/inventory/discoveries",
            json!({"findings": [{"kind": "mcp_server", "path": "x"}]}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("findings[0]: field `name`"),
        "{body}"
    );
    let auditor = gw
        .admin_token_with_role(warden_types::Role::Auditor, "aud")
        .await;
    let (status, _) = gw
        .admin_post(
            &auditor,
            "/v1/inventory/discoveries",
            json!({"findings": []}),
        )
        .await;
    assert_eq!(status, 403);
    gw.stop().await;
}
