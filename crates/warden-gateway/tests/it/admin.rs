//! The admin plane: roles, registration, policy checks, atomic reloads.

use serde_json::json;
use warden_types::Role;

use crate::harness::{Backend, TestGateway};

async fn token_with_role(gw: &TestGateway, role: Role, name: &str) -> String {
    gw.admin_token_with_role(role, name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_limit_what_admin_tokens_do() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let auditor = token_with_role(&gw, Role::Auditor, "audrey").await;
    let approver = token_with_role(&gw, Role::Approver, "alice").await;
    let bot = gw.token("invoice-bot");

    let (s, agents) = gw.admin_get(&auditor, "/v1/agents").await;
    assert_eq!(s, 200);
    let names: Vec<&str> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["invoice-bot", "research-bot", "support-bot"]);

    let (_, pending) = gw
        .decide(&bot, crate::harness::payment(json!(6000), "roles"))
        .await;
    let id = pending["id"].as_str().unwrap();
    let (s, e) = gw
        .admin_post(&auditor, &format!("/v1/approvals/{id}/approve"), json!({}))
        .await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(
        e["error"]["message"],
        "token `audrey` has role `auditor`; this needs `approver`"
    );
    let (s, e) = gw
        .admin_post(
            &approver,
            "/v1/revocations",
            json!({"agent": "invoice-bot"}),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    let (s, a) = gw
        .admin_post(
            &approver,
            &format!("/v1/approvals/{id}/approve"),
            json!({"note": "ok"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(a["approval"]["decided_by"], "alice");

    // Agents never reach the admin plane with their SVIDs.
    let (s, e) = gw.admin_get(&bot, "/v1/agents").await;
    assert_eq!(s, 401, "{e}");
    // Readiness is on the admin plane.
    let (s, ready) = gw.admin_get(&auditor, "/readyz").await;
    assert_eq!((s, ready["status"].as_str()), (200, Some("ready")));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_a_manifest_checks_it_first() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let post = |body: &'static str| {
        gw.client
            .post(format!("{}/v1/agents", gw.admin))
            .bearer_auth(&gw.admin_token)
            .body(body)
            .send()
    };
    let broken = "name: payroll-bot\nowner: hr@example.com\npurpose: pay salaries\ntools:\n  acounting:\n    schedule_payment: write\n";
    let r = post(broken).await.unwrap();
    assert_eq!(r.status(), 422);
    let e: serde_json::Value = r.json().await.unwrap();
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains(":5:3: field `tools.acounting`: unknown tool server `acounting` (did you mean `accounting`?)"), "{msg}");
    let (_, agents) = gw.admin_get(&gw.admin_token, "/v1/agents").await;
    assert_eq!(
        agents["agents"].as_array().unwrap().len(),
        3,
        "nothing was recorded"
    );

    let good = "name: payroll-bot\nowner: hr@example.com\npurpose: pay salaries\ntools:\n  accounting:\n    read_invoice: read\n";
    let r = post(good).await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, d) = gw
        .decide(
            &gw.token("payroll-bot"),
            json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "1"}}),
        )
        .await;
    assert_eq!(d["decision"], "allow", "{d}");

    let dup = "name: invoice-bot\nowner: x@example.com\npurpose: clash\ntools:\n  accounting:\n    read_invoice: read\n";
    let r = post(dup).await.unwrap();
    assert_eq!(r.status(), 422);
    let e: serde_json::Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("duplicate agent `invoice-bot`"),
        "{e}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_policy_change_is_rejected_and_the_running_set_keeps_serving() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let bot = gw.token("invoice-bot");
    let before = gw.gateway.engine().snapshot().digest.clone();
    let path = gw.config_dir().join("policies").join("broken.cedar");
    std::fs::write(
        &path,
        "forbid(principal, action, resource) when { context.args.amount > };\n",
    )
    .unwrap();
    let err = gw.gateway.reload().await.unwrap_err().to_string();
    assert!(err.contains("broken.cedar:1"), "{err}");
    let (_, d) = gw
        .decide(
            &bot,
            json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "1"}}),
        )
        .await;
    assert_eq!(d["decision"], "allow");
    assert_eq!(d["policy_digest"], before.as_str());
    let (s, ready) = gw.admin_get(&gw.admin_token, "/readyz").await;
    assert_eq!(s, 200);
    assert!(
        ready["warnings"][0]
            .as_str()
            .unwrap()
            .contains("broken.cedar"),
        "{ready}"
    );

    // Lint a candidate set through the API without installing it.
    let (s, e) = gw.admin_post(&gw.admin_token, "/v1/policies/lint", json!({"policies": {"x.cedar": "permit(principal == Warden::Agent::\"nobody\", action, resource);"}})).await;
    assert_eq!(s, 422);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{e}"
    );

    // A good change is picked up, and decisions carry the new digest.
    std::fs::write(&path, "@id(\"org/no-reads\")\nforbid(principal, action == Warden::Action::\"read\", resource in Warden::Server::\"accounting\");\n").unwrap();
    gw.gateway.reload().await.unwrap();
    let (_, d) = gw
        .decide(
            &bot,
            json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "1"}}),
        )
        .await;
    assert_eq!(d["decision"], "deny");
    assert_ne!(d["policy_digest"], before.as_str());
    assert!(
        d["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("forbidden by `org/no-reads` (policies/broken.cedar:1"),
        "{d}"
    );
    gw.stop().await;
}

/// Issue 11: a policy file edited on disk was not picked up until something
/// unrelated changed in the store, and new agent files were not picked up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_and_new_files_are_picked_up() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let dir = gw.config_dir();
    std::fs::write(
        dir.join("agents/notes-bot.yaml"),
        "name: notes-bot\nowner: notes@example.com\npurpose: reads invoices\ntools:\n  accounting:\n    read_invoice: read\n",
    )
    .unwrap();
    let read =
        json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-1"}});
    let decide_until = |token: String, want: &'static str| {
        let gw = &gw;
        let read = read.clone();
        async move {
            let mut last = json!(null);
            for _ in 0..40 {
                let (s, d) = gw.decide(&token, read.clone()).await;
                if s == 200 && d["decision"] == want {
                    return;
                }
                last = d;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("not `{want}` within 4 s: {last}");
        }
    };
    decide_until(gw.token("notes-bot"), "allow").await;
    // An org-wide rule added to a policy file on disk applies too.
    let org = dir.join("policies/org.cedar");
    let mut text = std::fs::read_to_string(&org).unwrap();
    text.push_str("\n@id(\"org/no-invoice-reads\")\nforbid(principal, action, resource == Warden::Tool::\"accounting/read_invoice\");\n");
    std::fs::write(&org, text).unwrap();
    decide_until(gw.token("notes-bot"), "deny").await;
    gw.stop().await;
}
