use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::governor::{Grants, Observation, Withheld};

/// A page as screened: the tool names, whether it was the last, the client
/// features.
type Screened = (Vec<String>, bool, Vec<String>);

/// Grants `echo`, `mask_me`, `drifted` and `resources/read`, allows
/// sampling; denies `secret`; withholds `drifted`; rewrites `mask_me`'s
/// arguments; keeps what it observes and the pages it screens; cannot
/// screen when `unscreenable`.
#[derive(Default)]
struct Fake {
    observed: parking_lot::Mutex<Vec<(String, Value)>>,
    screened: parking_lot::Mutex<Vec<Screened>>,
    unscreenable: bool,
}

impl Governor for Fake {
    async fn grants(&self) -> Result<Grants, String> {
        Ok(Grants {
            tools: [
                "echo",
                "mask_me",
                "unobservable",
                "drifted",
                "resources/read",
            ]
            .map(str::to_owned)
            .into(),
            client_features: ["sampling".to_owned()].into(),
        })
    }

    async fn screen_tools(&self, page: ToolPage<'_>) -> Result<Withheld, String> {
        if self.unscreenable {
            return Err("the gateway is unreachable".into());
        }
        let names: Vec<String> = page
            .tools
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect();
        self.screened
            .lock()
            .push((names.clone(), page.last, page.client_features.to_vec()));
        Ok(names
            .into_iter()
            .filter(|n| n == "drifted")
            .map(|n| (n, "its description changed since it was pinned".to_owned()))
            .collect())
    }

    async fn decide(&self, action: Action<'_>) -> Verdict {
        let allowed = action.tool != "secret";
        Verdict {
            id: Some(format!("d-{}", action.tool)),
            decision: if allowed { "allow" } else { "deny" }.into(),
            reasons: if allowed {
                vec![]
            } else {
                vec!["no grant".into()]
            },
            classes: vec![],
            args: (action.tool == "mask_me").then(|| json!({"text": "[REDACTED:email]"})),
            withheld: false,
            // Traced when the client sent trace context: Warden's span under it.
            traceparent: action.traceparent.map(|t| format!("warden-under:{t}")),
        }
    }

    async fn observe(&self, decision: &str, _: &str, result: &Value) -> Option<Observation> {
        self.observed
            .lock()
            .push((decision.to_owned(), result.clone()));
        (decision != "d-unobservable").then(Observation::default)
    }
}

fn msg(v: Value) -> Message {
    Message::from_value(v).unwrap_or_else(|e| panic!("{e}"))
}

fn forwarded(step: Step) -> Value {
    match step {
        Step::Forward(m) => m.into_value(),
        other => panic!("expected a forward, got {other:?}"),
    }
}

fn replied(step: Step) -> Value {
    match step {
        Step::Reply(v) => v,
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[tokio::test]
async fn tools_list_is_filtered_and_keeps_its_cursor() {
    let m = Mediator::new(Arc::new(Fake::default()));
    forwarded(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":1,"method":"tools/list"})))
            .await,
    );
    let answer = forwarded(
        m.on_server(msg(json!({"jsonrpc":"2.0","id":1,"result":{
            "tools":[{"name":"echo"},{"name":"secret"},{"name":"delete_all"}],
            "nextCursor":"page-2"}})))
            .await,
    );
    assert_eq!(answer["result"]["tools"], json!([{"name": "echo"}]));
    assert_eq!(answer["result"]["nextCursor"], "page-2");
}

#[tokio::test]
async fn withheld_tools_are_not_listed_and_every_tool_is_screened() {
    let fake = Arc::new(Fake::default());
    let m = Mediator::new(Arc::clone(&fake));
    // The server is told of sampling only (elicitation is not granted).
    forwarded(
        m.on_client(msg(
            json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","clientInfo":{"name":"t","version":"0"},
            "capabilities":{"sampling":{},"elicitation":{}}}}),
        ))
        .await,
    );
    forwarded(
        m.on_client(msg(
            json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"p2"}}),
        ))
        .await,
    );
    let answer = forwarded(
        m.on_server(msg(json!({"jsonrpc":"2.0","id":1,"result":{
            "tools":[{"name":"echo"},{"name":"drifted"},{"name":"delete_all"}]}})))
            .await,
    );
    // Granted but withheld: gone; not granted: gone, yet screened.
    assert_eq!(answer["result"]["tools"], json!([{"name": "echo"}]));
    assert_eq!(
        fake.screened.lock().clone(),
        [(
            vec![
                "echo".to_owned(),
                "drifted".to_owned(),
                "delete_all".to_owned()
            ],
            true,
            vec!["sampling".to_owned()]
        )]
    );
}

#[tokio::test]
async fn a_tool_list_that_cannot_be_screened_comes_back_empty() {
    let m = Mediator::new(Arc::new(Fake {
        unscreenable: true,
        ..Fake::default()
    }));
    forwarded(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":1,"method":"tools/list"})))
            .await,
    );
    let answer = forwarded(
        m.on_server(msg(json!({"jsonrpc":"2.0","id":1,"result":{
            "tools":[{"name":"echo"}]}})))
            .await,
    );
    assert_eq!(answer["result"]["tools"], json!([]));
}

/// Withholds every call, as the gateway does for a tool whose definition
/// drifted from its pin.
struct Withholding;

impl Governor for Withholding {
    async fn grants(&self) -> Result<Grants, String> {
        Ok(Grants::default())
    }

    async fn screen_tools(&self, _: ToolPage<'_>) -> Result<Withheld, String> {
        Ok(Withheld::new())
    }

    async fn decide(&self, action: Action<'_>) -> Verdict {
        Verdict {
            id: Some("d-1".into()),
            decision: "deny".into(),
            reasons: vec![format!(
                "tool `fs/{}` is withheld: its definition changed since it was pinned (description changed)",
                action.tool
            )],
            classes: vec![],
            args: None,
            withheld: true,
            traceparent: None,
        }
    }

    async fn observe(&self, _: &str, _: &str, _: &Value) -> Option<Observation> {
        None
    }
}

#[tokio::test]
async fn a_call_to_a_withheld_tool_is_a_json_rpc_error_naming_the_drift() {
    let m = Mediator::new(Arc::new(Withholding));
    let answer = replied(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":4,"method":"tools/call",
            "params":{"name":"read_file","arguments":{}}})))
            .await,
    );
    assert_eq!(answer["id"], 4);
    assert_eq!(answer["error"]["code"], codes::DENIED);
    assert_eq!(
        answer["error"]["message"],
        "tool `fs/read_file` is withheld: its definition changed since it was pinned (description changed)"
    );
    assert_eq!(answer["error"]["data"]["withheld"], true);
    assert_eq!(answer["error"]["data"]["id"], "d-1");
    assert!(answer.get("result").is_none());
}

#[tokio::test]
async fn a_denied_call_is_an_explicit_tool_error_and_never_forwarded() {
    let m = Mediator::new(Arc::new(Fake::default()));
    let answer = replied(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":"a","method":"tools/call",
            "params":{"name":"secret","arguments":{}}})))
            .await,
    );
    assert_eq!(answer["id"], "a");
    assert_eq!(answer["result"]["isError"], true);
    assert_eq!(answer["result"]["_meta"][META_KEY]["decision"], "deny");
    let text = answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.starts_with("Denied by Warden (decision d-secret): no grant"),
        "{text}"
    );
    assert_eq!(m.pending(), 0);
    // Bad parameters are a JSON-RPC error, not a decision.
    let bad = replied(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":2,"method":"tools/call",
            "params":{"name":"echo","arguments":[1]}})))
            .await,
    );
    assert_eq!(bad["error"]["code"], codes::INVALID_PARAMS);
}

#[tokio::test]
async fn an_id_in_flight_cannot_be_reused_and_late_answers_are_dropped() {
    let m = Mediator::new(Arc::new(Fake::default()));
    let call = json!({"jsonrpc":"2.0","id":7,"method":"tools/call",
        "params":{"name":"echo","arguments":{"x":1}}});
    forwarded(m.on_client(msg(call.clone())).await);
    let again = replied(m.on_client(msg(call)).await);
    assert_eq!(again["error"]["code"], codes::INVALID_REQUEST);
    // The string id "7" is another id.
    forwarded(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":"7","method":"ping"})))
            .await,
    );
    // The transport gave up on 7 (a timeout): the server's late answer is dropped.
    assert!(m.abandon(&json!(7)));
    let late = m
        .on_server(msg(json!({"jsonrpc":"2.0","id":7,"result":{"content":[]}})))
        .await;
    assert!(matches!(late, Step::Drop));
}

#[tokio::test]
async fn results_are_observed_and_arguments_rewritten_by_obligations() {
    let fake = Arc::new(Fake::default());
    let m = Mediator::new(Arc::clone(&fake));
    let out = forwarded(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
            "params":{"name":"mask_me","arguments":{"text":"ann@example.com"}}})))
            .await,
    );
    assert_eq!(
        out["params"]["arguments"],
        json!({"text": "[REDACTED:email]"})
    );
    forwarded(
        m.on_server(msg(json!({"jsonrpc":"2.0","id":1,
            "result":{"content":[{"type":"text","text":"ok"}]}})))
            .await,
    );
    let observed = fake.observed.lock().clone();
    assert_eq!(observed.len(), 1);
    assert_eq!(observed[0].0, "d-mask_me");
}

#[tokio::test]
async fn the_client_trace_context_reaches_the_governor_and_warden_span_goes_on() {
    let m = Mediator::new(Arc::new(Fake::default()));
    let client = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let out = forwarded(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
            "params":{"name":"echo","arguments":{},
                      "_meta":{"traceparent": client, "progressToken": 7}}})))
            .await,
    );
    assert_eq!(
        out["params"]["_meta"],
        json!({"traceparent": format!("warden-under:{client}"), "progressToken": 7})
    );
    let untraced = forwarded(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":2,"method":"tools/call",
            "params":{"name":"echo","arguments":{}}})))
            .await,
    );
    assert!(untraced["params"].get("_meta").is_none(), "{untraced}");
}

/// Issue 11: a result that cannot be observed was forwarded as it came.
#[tokio::test]
async fn a_result_that_cannot_be_observed_is_withheld() {
    let m = Mediator::new(Arc::new(Fake::default()));
    forwarded(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":3,"method":"tools/call",
            "params":{"name":"unobservable","arguments":{}}})))
            .await,
    );
    let out = forwarded(
        m.on_server(msg(json!({"jsonrpc":"2.0","id":3,
            "result":{"content":[{"type":"text","text":"jane.roe@customer-mail.example"}]}})))
            .await,
    );
    assert_eq!(out["result"]["isError"], true, "{out}");
    let text = out["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("could not observe this result"), "{text}");
    assert!(!out.to_string().contains("jane.roe"), "{out}");
}

#[tokio::test]
async fn server_requests_follow_the_grants_and_capabilities_are_hidden() {
    let m = Mediator::new(Arc::new(Fake::default()));
    let init = forwarded(
        m.on_client(msg(
            json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","clientInfo":{"name":"t","version":"0"},
            "capabilities":{"sampling":{},"elicitation":{},"roots":{"listChanged":true}}}}),
        ))
        .await,
    );
    assert_eq!(init["params"]["capabilities"], json!({"sampling": {}}));
    forwarded(
        m.on_server(msg(json!({"jsonrpc":"2.0","id":0,"result":{
            "protocolVersion":"2025-06-18","capabilities":{"tools":{}},
            "serverInfo":{"name":"s","version":"1"}}})))
            .await,
    );
    assert_eq!(m.protocol_version().as_deref(), Some("2025-06-18"));
    // Allowed: forwarded, and the client's answer goes back.
    forwarded(
        m.on_server(msg(
            json!({"jsonrpc":"2.0","id":5,"method":"sampling/createMessage","params":{}}),
        ))
        .await,
    );
    forwarded(
        m.on_client(msg(
            json!({"jsonrpc":"2.0","id":5,"result":{"role":"assistant"}}),
        ))
        .await,
    );
    // Not allowed: Warden answers the server itself.
    let refused = replied(
        m.on_server(msg(
            json!({"jsonrpc":"2.0","id":6,"method":"elicitation/create","params":{}}),
        ))
        .await,
    );
    assert_eq!(refused["error"]["code"], codes::DENIED);
    // An answer to a request that was never forwarded is dropped.
    assert!(matches!(
        m.on_client(msg(json!({"jsonrpc":"2.0","id":6,"result":{}})))
            .await,
        Step::Drop
    ));
    // Unknown methods and notifications pass.
    forwarded(
        m.on_client(msg(
            json!({"jsonrpc":"2.0","id":9,"method":"server/discover"}),
        ))
        .await,
    );
    forwarded(
        m.on_server(msg(
            json!({"jsonrpc":"2.0","method":"notifications/progress","params":{}}),
        ))
        .await,
    );
}
