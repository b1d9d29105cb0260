//! Fuzzing the decision API over loopback on stable Rust: random and
//! mutated request bodies posted to `POST /v1/decisions`. The decision body
//! parser is only reachable over HTTP; the engine behind it is fuzzed with
//! arbitrary arguments in warden-policy's own fuzz module.
//!
//! The properties: every answer is a 2xx decision or a 4xx error with a JSON
//! body naming a code, never a 5xx or a dropped connection, and the gateway
//! still decides a good request afterwards.
//!
//! `WARDEN_FUZZ_CASES` sets the number of bodies (256 by default).

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

use crate::harness::{Backend, TestGateway, payment};

use warden_test::fuzz_cases as cases;

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
        prop::sample::select(vec![
            "accounting",
            "schedule_payment",
            "mail",
            "send",
            "decision_api",
            "mcp_stdio",
            "DE89370400440532013000",
            "a@example.com",
            "x@evil.example",
            "",
            "\u{0}",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(vec![
                        "server", "tool", "args", "session", "via", "amount", "iban", "to",
                        "subject", "body",
                    ])
                    .prop_map(str::to_owned),
                    any::<String>(),
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A good body with one field replaced, removed or added.
fn mutated_body() -> impl Strategy<Value = Value> {
    let field = prop::sample::select(vec!["server", "tool", "args", "session", "via", "extra"]);
    (
        prop::sample::select(vec![0usize, 1, 2]),
        field,
        prop::option::of(arbitrary_json()),
    )
        .prop_map(|(which, field, value)| {
            let mut body = match which {
                0 => payment(json!(100), "s-fuzz"),
                1 => json!({"server": "mail", "tool": "send", "args": {"to": "a@example.com", "subject": "s", "body": "b"}}),
                _ => json!({"server": "accounting", "tool": "read_invoice", "args": {"invoice_id": "INV-1"}, "via": "mcp_stdio"}),
            };
            if let Some(map) = body.as_object_mut() {
                match value {
                    Some(v) => {
                        map.insert(field.to_owned(), v);
                    }
                    None => {
                        map.remove(field);
                    }
                }
            }
            body
        })
}

fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => mutated_body().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => (mutated_body(), any::<usize>(), prop::collection::vec(any::<u8>(), 0..4)).prop_map(|(v, at, junk)| {
            let mut b = serde_json::to_vec(&v).unwrap();
            let at = at % (b.len() + 1);
            b.splice(at..at, junk);
            b
        }),
        1 => arbitrary_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..128),
        1 => (prop::sample::select(vec![&b"["[..], b"{\"args\":"]), 1usize..20_000)
            .prop_map(|(open, n)| open.repeat(n)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_decision_bodies_get_an_answer() {
    let gw = TestGateway::start(Backend::Sqlite, |t| t).await;
    let token = gw.token("invoice-bot");
    let url = format!("{}/v1/decisions", gw.data);
    let mut runner = TestRunner::default();
    let n = cases();
    for _ in 0..n {
        let body = body_bytes().new_tree(&mut runner).unwrap().current();
        let response = gw
            .client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer to {:?}: {e}", String::from_utf8_lossy(&body)));
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        match status {
            200..=299 => assert!(answer["decision"].is_string(), "{shown} -> {answer}"),
            400..=499 => assert!(
                answer["error"]["code"].is_string(),
                "{shown} -> {status} {answer}"
            ),
            _ => panic!("{shown} -> {status} {answer}"),
        }
    }
    let (s, d) = gw.decide(&token, payment(json!(100), "s-after")).await;
    assert_eq!(s, 200, "{d}");
    // Allowed, unless the random bodies spent invoice-bot's hourly budget.
    assert!(d["decision"] == "allow" || n > 500, "{d}");
    gw.stop().await;
}
