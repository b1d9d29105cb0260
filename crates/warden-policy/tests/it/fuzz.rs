//! Fuzzing on stable Rust: structure-aware property tests of everything the
//! engine reads from a file or an agent. Manifests and `warden.toml` are the
//! examples mutated line by line and character by character; conditions come
//! from a small Cedar grammar and are compiled both as a manifest `when:` and
//! as an org-wide policy; arguments are arbitrary JSON.
//!
//! The properties: nothing panics, nothing overflows the stack (each case
//! runs on a thread with the default 2 MiB stack, so an overflow aborts the
//! test binary), and every refused input names its file and line.
//!
//! `WARDEN_FUZZ_CASES` sets the number of cases per property (256 by
//! default, enough for `cargo test`); the long campaign sets it high and
//! runs in release mode (see the README).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::Value;
use warden_policy::{
    Config, DecisionRequest, Engine, Manifest, PolicyError, PolicyInputs, Snapshot, compile,
};
use warden_types::{AgentName, InstanceId};

use crate::common;

use warden_test::{fuzz_cases as cases, on_small_stack};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn example_config() -> Arc<Config> {
    static CONFIG: OnceLock<Arc<Config>> = OnceLock::new();
    CONFIG
        .get_or_init(|| Arc::new(Config::load(&examples().join("warden.toml")).unwrap()))
        .clone()
}

fn example_manifests() -> &'static [(String, String)] {
    static MANIFESTS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    MANIFESTS.get_or_init(|| {
        let mut v: Vec<(String, String)> = std::fs::read_dir(examples().join("agents"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .map(|p| {
                let name = format!("agents/{}", p.file_name().unwrap().to_string_lossy());
                (name, read(&p))
            })
            .collect();
        v.sort();
        v
    })
}

fn example_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let inputs = PolicyInputs::load(example_config()).unwrap();
        Engine::new(compile(&inputs).unwrap())
    })
}

/// A refused input names its file and a line in it.
fn assert_names_file_and_line(err: &PolicyError, file: &str, input: &str) {
    let diags = err.diagnostics();
    assert!(
        !diags.is_empty(),
        "an error without diagnostics: {err}\n--- input:\n{input}"
    );
    for d in diags {
        assert_eq!(d.location.file, file, "{err}\n--- input:\n{input}");
        // Only a file over the size limit is refused as a whole.
        let whole_file = d.message.contains("bytes: the limit is");
        assert!(
            d.location.line > 0 || whole_file,
            "an error without a line: {err}\n--- input:\n{input}"
        );
    }
}

// ---------------------------------------------------------------------------
// Mutations of example files.

/// One edit of a text, applied by position modulo its length.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertLine(usize, String),
    DeleteChar(usize),
    InsertText(usize, String),
    /// `open` repeated `depth` times, then `close` as often (or not at all).
    Nest(usize, String, String, usize, bool),
    Truncate(usize),
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(":".to_owned()),
        Just("- ".to_owned()),
        Just("  ".to_owned()),
        Just("\t".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("\\".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("<<: *a".to_owned()),
        Just("!!binary ".to_owned()),
        Just("!tag ".to_owned()),
        Just("? ".to_owned()),
        Just("|".to_owned()),
        Just(">-".to_owned()),
        Just("#".to_owned()),
        Just("---".to_owned()),
        Just("...".to_owned()),
        Just("~".to_owned()),
        Just("null".to_owned()),
        Just("[[".to_owned()),
        Just("]]".to_owned()),
        Just("{}".to_owned()),
        Just("=".to_owned()),
        Just("\"\"\"".to_owned()),
        Just("'''".to_owned()),
        Just("1e999".to_owned()),
        Just("-0x8000000000000000".to_owned()),
        Just("99999999999999999999999999999".to_owned()),
        Just("1979-05-27T07:32:00Z".to_owned()),
        Just("inf".to_owned()),
        Just("nan".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("\u{0}".to_owned()),
        Just("é".to_owned()),
        Just("🦀".to_owned()),
        Just("\r\n".to_owned()),
        Just("when: \"context.args.amount > 1\"".to_owned()),
        Just("when: \"lists.nope.contains(1)\"".to_owned()),
        Just("approval: \"true\"".to_owned()),
        Just("operation: delete".to_owned()),
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn nesting() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        Just(("[".to_owned(), "]".to_owned())),
        Just(("{".to_owned(), "}".to_owned())),
        Just(("[[".to_owned(), "]]".to_owned())),
        Just(("{a: ".to_owned(), "}".to_owned())),
        Just(("a = {b = ".to_owned(), "}".to_owned())),
        Just(("- ".to_owned(), String::new())),
        Just(("(".to_owned(), ")".to_owned())),
        Just(("&a [".to_owned(), "]".to_owned())),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => any::<usize>().prop_map(Edit::DeleteLine),
        3 => any::<usize>().prop_map(Edit::DuplicateLine),
        2 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        3 => (any::<usize>(), fragment()).prop_map(|(a, s)| Edit::InsertLine(a, s)),
        4 => any::<usize>().prop_map(Edit::DeleteChar),
        4 => (any::<usize>(), fragment()).prop_map(|(a, s)| Edit::InsertText(a, s)),
        1 => (any::<usize>(), nesting(), prop_oneof![1usize..64, 64usize..1_000, Just(10_000usize)], any::<bool>())
            .prop_map(|(a, (o, c), d, closed)| Edit::Nest(a, o, c, d, closed)),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// The char boundary nearest below `at % (len + 1)`.
fn boundary(text: &str, at: usize) -> usize {
    let mut i = at % (text.len() + 1);
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut text = text.to_owned();
    for e in edits {
        let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
        let n = lines.len();
        match e {
            Edit::DeleteLine(i) => {
                lines.remove(i % n);
            }
            Edit::DuplicateLine(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::SwapLines(a, b) => lines.swap(a % n, b % n),
            Edit::InsertLine(i, s) => lines.insert(i % (n + 1), s.clone()),
            Edit::DeleteChar(i) => {
                let at = boundary(&text, *i);
                if at < text.len() {
                    text.remove(at);
                }
                continue;
            }
            Edit::InsertText(i, s) => {
                let at = boundary(&text, *i);
                text.insert_str(at, s);
                continue;
            }
            Edit::Nest(i, open, close, depth, closed) => {
                let at = boundary(&text, *i);
                let mut s = open.repeat(*depth);
                if *closed {
                    s.push('1');
                    s.push_str(&close.repeat(*depth));
                }
                text.insert_str(at, &s);
                continue;
            }
            Edit::Truncate(i) => {
                let at = boundary(&text, *i);
                text.truncate(at);
                continue;
            }
        }
        text = lines.join("\n");
    }
    text
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(edit(), 1..6)
}

fn check_manifest(file: String, text: String) {
    let config = example_config();
    let result = on_small_stack(move || {
        let r = Manifest::parse(&file, &text, &config);
        (
            file,
            text,
            r.map(|m| {
                // What parses must also compile (or be refused with a location).
                let inputs = PolicyInputs {
                    config: config.clone(),
                    manifests: vec![m],
                    org_files: vec![],
                };
                compile(&inputs).map(|_| ())
            }),
        )
    });
    match result {
        (file, text, Err(e)) | (file, text, Ok(Err(e))) => {
            assert_names_file_and_line(&e, &file, &text);
        }
        (_, _, Ok(Ok(()))) => {}
    }
}

fn check_config(text: String) {
    let r = on_small_stack({
        let text = text.clone();
        move || Config::parse("warden.toml", &text, &examples()).map(|_| ())
    });
    if let Err(e) = r {
        assert_names_file_and_line(&e, "warden.toml", &text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Example manifests, mutated, are parsed and compiled or refused with a
    /// file and line.
    #[test]
    fn mutated_manifests(which in any::<usize>(), edits in edits()) {
        let all = example_manifests();
        let (file, text) = &all[which % all.len()];
        check_manifest(file.clone(), apply(text, &edits));
    }

    /// The example `warden.toml`, mutated, is read or refused with a line.
    #[test]
    fn mutated_config(edits in edits()) {
        check_config(apply(&read(&examples().join("warden.toml")), &edits));
    }
}

/// 10,000-deep YAML, TOML and JSON-in-YAML: refused, not a stack overflow.
#[test]
fn deep_nesting_in_manifests_and_config() {
    for (open, close) in [("[", "]"), ("{", "}"), ("{a: ", "}"), ("- ", "")] {
        for depth in [1_000, 10_000] {
            let deep = format!("{}1{}", open.repeat(depth), close.repeat(depth));
            eprintln!("manifest: tools: {open:?} x {depth}");
            let m = format!("name: deep-bot\nowner: a@example.com\npurpose: x\ntools: {deep}\n");
            check_manifest("agents/deep.yaml".into(), m);
            eprintln!("manifest: {open:?} x {depth}");
            check_manifest("agents/deep.yaml".into(), deep.clone());
            eprintln!("manifest: x: {open:?} x {depth}, unclosed");
            check_manifest(
                "agents/deep.yaml".into(),
                format!("x: {}", open.repeat(depth)),
            );
        }
    }
    for depth in [1_000, 10_000] {
        // Block collections nested by indentation, one level a line.
        let mut m = String::from("name: deep-bot\nowner: a@example.com\npurpose: x\ntools:\n");
        for i in 0..depth {
            m.push_str(&" ".repeat(i + 2));
            m.push_str(if i % 2 == 0 { "- \n" } else { "a:\n" });
        }
        eprintln!("manifest: indented x {depth}");
        check_manifest("agents/deep.yaml".into(), m);
    }
    let base = read(&examples().join("warden.toml"));
    for depth in [1_000, 10_000] {
        for (what, text) in [
            (
                "x = [[[..1..]]]",
                format!("{base}\nx = {}1{}\n", "[".repeat(depth), "]".repeat(depth)),
            ),
            (
                "x = {a = {a = ..1..}}",
                format!(
                    "{base}\nx = {}1{}\n",
                    "{a = ".repeat(depth),
                    "}".repeat(depth)
                ),
            ),
            (
                "x = [[[ unclosed",
                format!("{base}\nx = {}\n", "[".repeat(depth)),
            ),
            ("[[[[ header", format!("{}\n", "[".repeat(depth))),
            ("[[[[[[[[ header", format!("{}\n", "[[".repeat(depth))),
            ("[a.a.a.a]", format!("[{}]\n", vec!["a"; depth].join("."))),
        ] {
            eprintln!("warden.toml: {what} x {depth}");
            check_config(text);
        }
    }
}

// ---------------------------------------------------------------------------
// Cedar conditions from a small grammar.

fn cedar_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z@.*]{0,10}".prop_map(|s| format!("\"{s}\"")),
        Just(r#""\"""#.to_owned()),
        Just(r#""\\""#.to_owned()),
        Just(r#""\n\t\0\u{1F980}""#.to_owned()),
        Just(r#""\u{110000}""#.to_owned()),
        Just(r#""\x7f\q""#.to_owned()),
        Just("\"é🦀\"".to_owned()),
        Just("\"unterminated".to_owned()),
        Just("\"ends in backslash\\".to_owned()),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..100_000).prop_map(|n| n.to_string()),
        Just("9223372036854775807".to_owned()),
        Just("9223372036854775808".to_owned()),
        Just("922337203685477".to_owned()),
        Just("999999999999999999999999999999999999".to_owned()),
        Just("0.00001".to_owned()),
        Just("1.5".to_owned()),
        Just("12345678901234.56789".to_owned()),
        Just("00001".to_owned()),
        Just("1.".to_owned()),
        Just(".5".to_owned()),
    ]
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("true".to_owned()),
        Just("false".to_owned()),
        number(),
        cedar_string(),
        "[a-z_]{1,6}".prop_map(|a| format!("context.args.{a}")),
        Just("context.args.amount".to_owned()),
        Just("context.args.to".to_owned()),
        Just("context.args[\"x y\"]".to_owned()),
        Just("context.hosts.url".to_owned()),
        Just("context.paths.path".to_owned()),
        Just("context.provenance.to".to_owned()),
        Just("context.session.actions".to_owned()),
        Just("context.classes".to_owned()),
        Just("context.instance".to_owned()),
        Just("context.destination".to_owned()),
        Just("context".to_owned()),
        Just("lists.payees".to_owned()),
        Just("lists.nope".to_owned()),
        Just("lists".to_owned()),
        Just("principal".to_owned()),
        Just("resource.destination".to_owned()),
        Just("action".to_owned()),
        Just("Warden::Action::\"send\"".to_owned()),
        Just("Warden::Tool::\"mail/send\"".to_owned()),
        Just("ip(\"10.0.0.1\")".to_owned()),
        Just("decimal(\"1.5\")".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
    ]
}

fn binary_op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "&&",
        "||",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "+",
        "-",
        "*",
        "in",
        "like",
        "has",
        "is",
        ".contains",
        ".containsAll",
        ".containsAny",
        "&",
        "|",
        "=",
    ])
}

/// A condition, well formed or nearly so.
fn condition() -> impl Strategy<Value = String> {
    let expr = leaf().prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            (inner.clone(), binary_op(), inner.clone()).prop_map(|(a, op, b)| {
                if op.starts_with('.') {
                    format!("{a}{op}({b})")
                } else {
                    format!("{a} {op} {b}")
                }
            }),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("!{a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("if {a} then {b} else {c}")),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(("[a-z]{1,3}", inner.clone()), 0..3).prop_map(|v| {
                let fields: Vec<String> = v.into_iter().map(|(k, e)| format!("{k}: {e}")).collect();
                format!("{{{}}}", fields.join(", "))
            }),
            (inner.clone(), "[a-z]{1,4}").prop_map(|(a, f)| format!("{a}.{f}")),
            (inner.clone(), cedar_string()).prop_map(|(a, s)| format!("{a}[{s}]")),
            (
                inner.clone(),
                prop::sample::select(vec!["isIpv4", "isLoopback", "lessThan", "greaterThan"]),
                inner
            )
                .prop_map(|(a, m, b)| format!("{a}.{m}({b})")),
        ]
    });
    prop_oneof![
        8 => expr,
        // Long shapes near the bounds: chains Cedar recurses over.
        1 => (prop::sample::select(vec!["!", "-", "!!", "- "]), 1usize..2_100)
            .prop_map(|(op, n)| format!("{}context.args.a", op.repeat(n))),
        1 => (prop::sample::select(vec![" && ", " || ", " + ", " - ", " == ", " < "]), 1usize..1_100)
            .prop_map(|(op, n)| vec!["context.args.a"; n].join(op)),
        1 => (1usize..1_100).prop_map(|n| format!("context.args.a{}", ".b".repeat(n))),
        1 => (1usize..700).prop_map(|n| format!("context.args.a{}", ".contains(1)".repeat(n))),
        1 => (1usize..700).prop_map(|n| format!("context.args.a{}", "[\"b\"]".repeat(n))),
        1 => (1usize..40).prop_map(|n| format!("{}true{}", "(".repeat(n), ")".repeat(n))),
        1 => (1usize..40).prop_map(|n| {
            let mut s = "true".to_owned();
            for _ in 0..n { s = format!("if {s} then {s} else false"); if s.len() > 20_000 { break; } }
            s
        }),
        1 => (1usize..40).prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        1 => (1usize..40).prop_map(|n| format!("{}1{}", "{a: ".repeat(n), "}".repeat(n))),
    ]
}

fn yaml_manifest(cond: &str, approval: bool) -> String {
    // A JSON string is a YAML double-quoted scalar.
    let quoted = serde_json::to_string(cond).unwrap();
    let key = if approval { "approval" } else { "when" };
    common::manifest(
        "fuzz-bot",
        "",
        &format!(
            "  accounting:\n    schedule_payment:\n      operation: write\n      {key}: {quoted}\n  mail:\n    send: send\n"
        ),
    )
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        Just(serde_json::from_str::<Value>("12345678901234.56789").unwrap()),
        Just(serde_json::json!(1e300)),
        Just(serde_json::json!(-0.0)),
        any::<String>().prop_map(Value::String),
        "[a-z0-9.@:/ -]{0,24}".prop_map(Value::String),
        Just(Value::String("DE89370400440532013000".into())),
        Just(Value::String("https://en.wikipedia.org/wiki/x".into())),
        Just(Value::String("http://[::1]:80/%2e%2e/".into())),
        Just(Value::String("a@example.com, b@evil.example".into())),
        Just(Value::String("../../etc/passwd".into())),
    ];
    leaf.prop_recursive(8, 128, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(vec![
                        "amount",
                        "iban",
                        "to",
                        "cc",
                        "bcc",
                        "url",
                        "path",
                        "subject",
                        "body",
                        "invoice_id",
                        "query",
                        "reference",
                    ])
                    .prop_map(str::to_owned),
                    any::<String>(),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn args_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop::sample::select(vec![
            "amount",
            "iban",
            "to",
            "cc",
            "bcc",
            "url",
            "path",
            "subject",
            "body",
            "invoice_id",
            "a",
            "x y",
            "",
        ])
        .prop_map(str::to_owned),
        arbitrary_json(),
        0..6,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn decide_all(snapshot: Snapshot, agent: &str, args: &Value) {
    let engine = Engine::new(snapshot);
    let agent = AgentName::new(agent).unwrap();
    let instance = InstanceId::new("i-1").unwrap();
    for (server, tool) in [
        ("accounting", "schedule_payment"),
        ("mail", "send"),
        ("web", "fetch"),
    ] {
        let request = DecisionRequest {
            agent: &agent,
            instance: &instance,
            session: "s-1",
            server,
            tool,
            args,
            classes: &[],
        };
        let _ = engine.decide(&request);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// A condition in a manifest's `when:` or `approval:` compiles (and
    /// decides) or is refused naming the manifest and a line.
    #[test]
    fn conditions_in_manifests(cond in condition(), approval in any::<bool>(), args in args_object()) {
        let text = yaml_manifest(&cond, approval);
        let r = on_small_stack(move || {
            common::try_compile(&[("agents/fuzz.yaml", &text)], &[]).map(|s| decide_all(s, "fuzz-bot", &args))
                .map_err(|e| (e, text))
        });
        if let Err((e, text)) = r {
            assert_names_file_and_line(&e, "agents/fuzz.yaml", &text);
        }
    }

    /// A condition in an org-wide policy compiles or is refused naming the
    /// policy file and a line.
    #[test]
    fn conditions_in_org_policies(
        cond in condition(),
        effect in prop::sample::select(vec!["permit", "forbid"]),
        annotation in prop::sample::select(vec!["", "@id(\"org/fuzz\")\n", "@approval(\"required\")\n", "@reason(\"x \\\" y\")\n"]),
        unless in any::<bool>(),
        args in args_object(),
    ) {
        let clause = if unless { "unless" } else { "when" };
        let policy = format!(
            "// fuzz\n{annotation}{effect}(principal, action, resource)\n{clause} {{ {cond} }};\n"
        );
        let manifest = yaml_manifest("context.args.amount <= 10000", false);
        let r = on_small_stack(move || {
            common::try_compile(&[("agents/fuzz.yaml", &manifest)], &[("policies/fuzz.cedar", &policy)])
                .map(|s| decide_all(s, "fuzz-bot", &args))
                .map_err(|e| (e, policy))
        });
        if let Err((e, policy)) = r {
            // A manifest problem would name the manifest; there is none.
            assert_names_file_and_line(&e, "policies/fuzz.cedar", &policy);
        }
    }

    /// Arbitrary arguments, agents, servers, tools and sessions against the
    /// example policy set: a decision, never a panic.
    #[test]
    fn decisions_on_arbitrary_arguments(
        agent in prop::sample::select(vec!["invoice-bot", "research-bot", "support-bot", "nobody"]),
        server in prop::sample::select(vec!["accounting", "mail", "web", "crm", "external-mail", "", "nope"]),
        tool in prop::sample::select(vec!["schedule_payment", "read_invoice", "send", "fetch", "search", "lookup", ""]),
        session in "[ -~]{1,12}",
        args in prop_oneof![4 => args_object(), 1 => arbitrary_json()],
        classes in prop::collection::vec(prop::sample::select(vec!["pii", "financial", "pii.contact", "credentials", "x"]).prop_map(str::to_owned), 0..3),
    ) {
        on_small_stack(move || {
            let engine = example_engine();
            let agent = AgentName::new(agent).unwrap();
            let instance = InstanceId::new("i-1").unwrap();
            let request = DecisionRequest {
                agent: &agent,
                instance: &instance,
                session: &session,
                server,
                tool,
                args: &args,
                classes: &classes,
            };
            let _ = engine.decide(&request);
        });
    }
}

// ---------------------------------------------------------------------------
// Crashes found by fuzzing, kept as regression tests.

/// Found by `deep_nesting_in_manifests_and_config`: a manifest of 1,000
/// `- ` on one line (nested block sequences) overflowed a 2 MiB stack in
/// the YAML parser (`yaml_rust2::parser::Parser::load_node` recursing
/// through `load_sequence`); 850 levels still fit in a debug build. Now
/// refused before the parser runs, naming the line.
#[test]
fn regression_nested_block_sequences_overflowed_the_yaml_parser() {
    let text = format!("{}1\n", "- ".repeat(1_000));
    let r = on_small_stack(move || {
        Manifest::parse("agents/deep.yaml", &text, &example_config()).map(|_| ())
    });
    let e = r.expect_err("refused");
    assert_eq!(
        e.to_string(),
        "agents/deep.yaml:1: collections nest deeper than 64 levels: a manifest nests a handful"
    );
}

/// Found by `deep_nesting_in_manifests_and_config`: a `warden.toml` table
/// header 1,000 keys deep (`[a.a.a…]`) hit the TOML parser's recursion
/// limit, an error without a place, so the message named no line. Now it
/// names the deepest line.
#[test]
fn regression_a_deep_toml_key_named_no_line() {
    let text = format!(
        "trust_domain = \"example.org\"\n\n[{}]\n",
        vec!["a"; 1_000].join(".")
    );
    let e = Config::parse("warden.toml", &text, &examples())
        .map(|_| ())
        .expect_err("refused");
    assert_eq!(e.to_string(), "warden.toml:3: recursion limit");
}
