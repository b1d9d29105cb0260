//! The web console over HTTP: sign-in and its cookie, the security headers,
//! CSRF tokens and roles on every action, hostile text rendered as text,
//! the overview against the audit log, and *verify now* on a tampered log.
//! (The browser end of it — live updates, the proof checked in the page,
//! accessibility — is driven in Chromium by crates/warden/tests/it/console.rs.)

use std::time::Duration;

use serde_json::{Value, json};
use warden_types::Role;

use crate::harness::{Backend, TestGateway, payment};

/// A browser without one: keeps its cookie, never follows redirects.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn new(gw: &TestGateway) -> Self {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: gw.admin.clone(),
            cookie: None,
        }
    }

    async fn sign_in(&mut self, token: &str) -> reqwest::Response {
        let r = self
            .client
            .post(format!("{}/console/login", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .unwrap();
        if let Some(set) = r.headers().get("set-cookie") {
            let set = set.to_str().unwrap();
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        r
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// The CSRF token of the page at `path`.
    async fn csrf(&self, path: &str) -> String {
        let (_, page) = self.get(path).await;
        let at = page
            .find("<meta name=\"csrf\" content=\"")
            .expect("the page has a CSRF token")
            + 27;
        page[at..at + 64].to_owned()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", url_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let text = r.text().await.unwrap();
        (status, location.unwrap_or(text))
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_gives_a_strict_cookie_and_every_page_needs_it() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let mut browser = Browser::new(&gw);
    let (status, _) = browser.get("/console/agents").await;
    assert_eq!(status, 303, "no session: off to sign-in");

    let wrong = browser.sign_in("wdn_adm_not-a-token").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let agent_jwt = gw.token("invoice-bot");
    assert_eq!(
        browser.sign_in(&agent_jwt).await.status(),
        401,
        "an agent's SVID is not an admin token"
    );

    let ok = browser.sign_in(&gw.admin_token).await;
    assert_eq!(ok.status(), 303);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age="] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let csp = ok.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    let bot = gw.token("invoice-bot");
    let (_, allowed) = gw.decide(&bot, payment(json!(100), "s")).await;
    gw.gateway.audit().checkpoint().await.unwrap();
    // The refused sign-ins are records too; find the decision's.
    let (_, entries) = gw
        .admin_get(&gw.admin_token, "/v1/audit/entries?from=0&to=100")
        .await;
    let index = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["record"]["decision_id"] == allowed["id"])
        .map(|e| e["index"].as_u64().unwrap())
        .unwrap();
    let size = entries["entries"].as_array().unwrap().len();
    for path in [
        "/console/",
        "/console/agents",
        "/console/agents/invoice-bot",
        "/console/activity?outcome=allow",
        "/console/records/0",
        "/console/approvals",
        "/console/alerts",
        "/console/incidents",
        "/console/audit",
        "/console/policies",
    ] {
        let (status, page) = browser.get(path).await;
        assert_eq!(status, 200, "{path}: {page}");
        assert!(page.starts_with("<!doctype html>"), "{path}");
        assert!(
            !page.contains("<script>") && !page.contains(" onclick="),
            "{path}: inline script"
        );
    }
    let (_, record) = browser.get(&format!("/console/records/{index}")).await;
    assert!(
        record.contains(allowed["id"].as_str().unwrap()),
        "the record page shows its decision"
    );
    let (status, proof) = browser.get(&format!("/console/proofs/{index}")).await;
    assert_eq!(status, 200);
    let proof: Value = serde_json::from_str(&proof).unwrap();
    assert_eq!(proof["size"], size, "against the checkpoint: {proof}");
    assert_eq!(proof["index"], index);
    assert!(
        proof["checkpoint"]
            .as_str()
            .unwrap()
            .contains("example.org/warden-audit")
    );
    assert_eq!(browser.get("/console/static/console.js").await.0, 200);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_need_the_csrf_token_and_the_role_and_are_audited_by_name() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let bot = gw.token("invoice-bot");
    let (_, asked) = gw.decide(&bot, payment(json!(7500), "s")).await;
    assert_eq!(asked["decision"], "needs_approval");
    let id = asked["id"].as_str().unwrap().to_owned();
    let approve = format!("/console/approvals/{id}/approve");

    // An auditor sees the queue, without buttons, and cannot approve.
    let auditor = gw.admin_token_with_role(Role::Auditor, "ann-auditor").await;
    let mut ann = Browser::new(&gw);
    ann.sign_in(&auditor).await;
    let (_, queue) = ann.get("/console/approvals").await;
    assert!(queue.contains(&format!("data-id=\"{id}\"")), "{queue}");
    assert!(
        !queue.contains("class=\"approve\""),
        "no approve button for an auditor"
    );
    let csrf = ann.csrf("/console/approvals").await;
    let (status, _) = ann.post(&approve, &[("csrf", &csrf), ("note", "ok")]).await;
    assert_eq!(
        status, 403,
        "the approve handler refuses the auditor's token"
    );

    // An approver without the CSRF token, or with another session's, is refused.
    let approver = gw
        .admin_token_with_role(Role::Approver, "pat-approver")
        .await;
    let mut pat = Browser::new(&gw);
    pat.sign_in(&approver).await;
    assert_eq!(pat.post(&approve, &[("note", "ok")]).await.0, 403);
    assert_eq!(
        pat.post(&approve, &[("csrf", &csrf), ("note", "ok")])
            .await
            .0,
        403
    );
    let (_, pending) = gw
        .admin_get(&gw.admin_token, &format!("/v1/approvals/{id}"))
        .await;
    assert_eq!(
        pending["approval"]["status"], "pending",
        "nothing refused changed anything"
    );
    // An approver cannot suspend.
    let csrf = pat.csrf("/console/approvals").await;
    assert_eq!(
        pat.post("/console/agents/invoice-bot/suspend", &[("csrf", &csrf)])
            .await
            .0,
        403
    );

    let (status, location) = pat
        .post(&approve, &[("csrf", &csrf), ("note", "checked")])
        .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/console/approvals?done=approved")
    );
    let (_, done) = gw
        .admin_get(&gw.admin_token, &format!("/v1/approvals/{id}"))
        .await;
    assert_eq!(done["approval"]["status"], "approved");
    assert_eq!(done["approval"]["decided_by"], "pat-approver");

    // Suspend from the console: the next decision is denied naming it, and
    // the change is an audit record naming the token.
    let mut admin = Browser::new(&gw);
    admin.sign_in(&gw.admin_token).await;
    let csrf = admin.csrf("/console/agents/invoice-bot").await;
    let (status, _) = admin
        .post(
            "/console/agents/invoice-bot/suspend",
            &[("csrf", &csrf), ("reason", "burst")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, denied) = gw.decide(&bot, payment(json!(10), "s")).await;
    assert_eq!(denied["decision"], "deny");
    assert!(denied["reasons"].to_string().contains("burst"), "{denied}");
    let (_, entries) = gw
        .admin_get(&gw.admin_token, "/v1/audit/entries?from=0&to=100")
        .await;
    let admin_records: Vec<&Value> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["record"])
        .filter(|r| r["kind"] == "admin")
        .collect();
    assert_eq!(admin_records.len(), 1, "{entries}");
    assert_eq!(admin_records[0]["decision"], "suspended");
    assert_eq!(admin_records[0]["note"], "by test-admin");
    assert_eq!(admin_records[0]["reasons"], json!(["burst"]));

    // Resume, then revoke: tokens stop working.
    let csrf = admin.csrf("/console/agents/invoice-bot").await;
    assert_eq!(
        admin
            .post("/console/agents/invoice-bot/resume", &[("csrf", &csrf)])
            .await
            .0,
        303
    );
    assert_eq!(
        gw.decide(&bot, payment(json!(10), "s2")).await.1["decision"],
        "allow"
    );
    let csrf = admin.csrf("/console/agents/invoice-bot").await;
    let (status, _) = admin
        .post(
            "/console/agents/invoice-bot/revoke",
            &[("csrf", &csrf), ("reason", "lost")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(gw.decide(&bot, payment(json!(10), "s3")).await.0, 401);

    // Sign-out needs the token too, and ends the session.
    assert_eq!(admin.post("/console/logout", &[]).await.0, 403);
    let csrf = admin.csrf("/console/").await;
    assert_eq!(
        admin.post("/console/logout", &[("csrf", &csrf)]).await.0,
        303
    );
    assert_eq!(admin.get("/console/").await.0, 303);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_shown_as_text() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let mut admin = Browser::new(&gw);
    admin.sign_in(&gw.admin_token).await;
    let hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>";
    let csrf = admin.csrf("/console/agents/invoice-bot").await;
    admin
        .post(
            "/console/agents/invoice-bot/suspend",
            &[("csrf", &csrf), ("reason", hostile)],
        )
        .await;
    let bot = gw.token("invoice-bot");
    gw.decide(&bot, json!({"server": "accounting", "tool": "schedule_payment",
        "args": {"amount": 7500, "iban": "DE89370400440532013000", "memo": hostile}, "session": "s"}))
        .await;
    for path in [
        "/console/agents/invoice-bot",
        "/console/activity",
        "/console/records/1",
    ] {
        let (status, page) = admin.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            !page.contains("<script>alert") && !page.contains("<img src=x"),
            "{path}: {page}"
        );
        assert!(
            page.contains("&lt;script&gt;alert("),
            "{path} shows the text"
        );
    }
    gw.stop().await;
}

/// Starts *verify now* and waits for its end.
async fn verify_now(b: &Browser) -> Value {
    let csrf = b.csrf("/console/audit").await;
    assert_eq!(
        b.post("/console/audit/verify", &[("csrf", &csrf)]).await.0,
        303
    );
    for _ in 0..200 {
        let (_, state) = b.get("/console/audit/verify").await;
        let state: Value = serde_json::from_str(&state).unwrap();
        if state["state"] != "running" {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("verification did not finish in 10 s");
}

fn digits(page: &str, key: &str) -> u64 {
    let marker = format!("data-figure=\"{key}\">");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no figure {key}"))
        + marker.len();
    page[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_counts_what_the_audit_log_holds() {
    for backend in crate::harness::backends() {
        let gw = TestGateway::start(backend, |t| t).await;
        let bot = gw.token("invoice-bot");
        for amount in [100, 200, 25_000, 7_500, 300, 30_000] {
            gw.decide(&bot, payment(json!(amount), "s")).await;
        }
        // A refused token is a record too, but not an agent's decision.
        gw.decide("made.up.token", payment(json!(1), "s")).await;
        let mut admin = Browser::new(&gw);
        admin.sign_in(&gw.admin_token).await;
        let (_, page) = admin.get("/console/").await;
        let (_, entries) = gw
            .admin_get(&gw.admin_token, "/v1/audit/entries?from=0&to=1000")
            .await;
        let entries = entries["entries"].as_array().unwrap();
        let count = |outcome: &str| {
            entries
                .iter()
                .filter(|e| {
                    e["record"]["kind"] == "decision"
                        && !e["record"]["agent"].is_null()
                        && e["record"]["decision"] == outcome
                })
                .count() as u64
        };
        assert_eq!(digits(&page, "allow"), count("allow"));
        assert_eq!(digits(&page, "deny"), count("deny"));
        assert_eq!(digits(&page, "needs_approval"), count("needs_approval"));
        assert_eq!(
            (count("allow"), count("deny"), count("needs_approval")),
            (3, 2, 1)
        );
        assert_eq!(digits(&page, "audit-size"), entries.len() as u64);
        assert!(
            page.contains("<span id=\"pending-approvals\">1</span>"),
            "{page}"
        );
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_now_names_the_first_bad_record() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let bot = gw.token("invoice-bot");
    for i in 0..9 {
        gw.decide(&bot, payment(json!(100 + i), "t")).await;
    }
    let mut auditor = Browser::new(&gw);
    auditor
        .sign_in(&gw.admin_token_with_role(Role::Auditor, "ann").await)
        .await;
    let state = verify_now(&auditor).await;
    assert_eq!(state["state"], "ok", "{state}");
    assert_eq!(state["done"], 9);
    crate::audit::raw_sql(
        &gw.store,
        "UPDATE warden_audit_records SET record = CAST(replace(CAST(record AS TEXT), '\"decision\":\"allow\"', '\"decision\":\"deny\"') AS BLOB) WHERE idx = 5",
    )
    .await;
    let state = verify_now(&auditor).await;
    assert_eq!(state["state"], "bad", "{state}");
    assert_eq!(state["bad_index"], 5, "{state}");
    let (_, page) = auditor.get("/console/audit").await;
    assert!(
        page.contains("data-state=\"bad\" data-bad-index=\"5\""),
        "{page}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_and_incidents_show_their_evidence_and_clocks() {
    let gw = TestGateway::start(Backend::Sqlite, |t| {
        format!(
            "{t}\n[[alerts.rules]]\nname = \"deny-burst\"\nwhen = \"denials\"\nthreshold = 1\nseverity = \"high\"\n"
        )
    })
    .await;
    let bot = gw.token("invoice-bot");
    for _ in 0..2 {
        let body = json!({"server": "crm", "tool": "delete_customer", "args": {"id": "c-1"}, "session": "s"});
        assert_eq!(gw.decide(&bot, body).await.1["decision"], "deny");
    }
    let mut id = String::new();
    for _ in 0..100 {
        let (_, listed) = gw.admin_get(&gw.admin_token, "/v1/incidents").await;
        if let Some(found) = listed["incidents"][0]["incident"]["id"].as_str() {
            id = found.to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!id.is_empty(), "the high-severity alert opened an incident");
    let mut admin = Browser::new(&gw);
    admin.sign_in(&gw.admin_token).await;
    let (_, alerts) = admin.get("/console/alerts").await;
    assert!(
        alerts.contains("deny-burst") && alerts.contains("2 denials in 60 s"),
        "{alerts}"
    );
    assert!(
        alerts.contains("href=\"/console/records/"),
        "evidence links to its records"
    );
    let (_, list) = admin.get("/console/incidents").await;
    assert!(list.contains(&format!("data-incident=\"{id}\"")), "{list}");
    let (_, page) = admin.get(&format!("/console/incidents/{id}")).await;
    assert_eq!(
        page.matches("class=\"clock\"").count(),
        6,
        "NIS2 and DORA, three stages each: {page}"
    );
    assert!(page.contains("NIS2") && page.contains("DORA"), "{page}");
    let (status, report) = admin
        .get(&format!(
            "/console/incidents/{id}/report?stage=early-warning"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(report.contains("id=\"report\""), "{report}");
    let csrf = admin.csrf(&format!("/console/incidents/{id}")).await;
    let (status, _) = admin
        .post(
            &format!("/console/incidents/{id}/close"),
            &[("csrf", &csrf), ("note", "contained")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, closed) = gw
        .admin_get(&gw.admin_token, &format!("/v1/incidents/{id}"))
        .await;
    assert_eq!(closed["incident"]["status"], "closed", "{closed}");
    gw.stop().await;
}
