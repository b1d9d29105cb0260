//! Flow rules: classes in arguments and session taint against the
//! destination's cleared classes; destinations decided by an argument;
//! `context.classes` and `context.session.taint` in conditions.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use warden_policy::{
    Config, DecisionRequest, Engine, FLOW_RULE, Manifest, PolicyInputs, SessionHistory, compile,
};
use warden_types::{AgentName, DecisionOutcome, InstanceId};

const CONFIG: &str = r#"
trust_domain = "example.org"

[organisation]
domains = ["example.com"]

[servers.crm]
transport = "api"
destination = "internal"
cleared = ["pii"]

[servers.mail]
transport = "api"
destination = "internal"
cleared = ["pii.contact"]

[servers.mail.tools.send]
operation = "send"
destination_argument = ["to", "cc", "bcc"]

[servers.files]
transport = "api"
destination = "internal"
cleared = ["pii"]

[servers.paste]
transport = "api"
destination = "external"
cleared = []
"#;

const AGENT: &str = r#"
name: support-bot
owner: care@example.com
purpose: answers tickets
tools:
  crm: { lookup_customer: read }
  mail: { send: send }
  paste: { upload: send }
  files:
    read:
      operation: read
      when: 'context.paths.path like "/srv/public/*"'
"#;

fn engine(org: &[(&str, &str)]) -> Engine {
    crate::common::engine_from(CONFIG, ("support-bot.yaml", AGENT), org)
}

struct Ask<'a> {
    agent: AgentName,
    instance: InstanceId,
    session: &'a str,
}

impl Ask<'_> {
    /// A session of its own agent instance: an instance's sessions share
    /// what it read.
    fn new(session: &str) -> Ask<'_> {
        Ask {
            agent: AgentName::new("support-bot").unwrap(),
            instance: InstanceId::new(format!("i-{session}")).unwrap(),
            session,
        }
    }

    fn request<'r>(
        &'r self,
        server: &'r str,
        tool: &'r str,
        args: &'r Value,
        classes: &'r [String],
    ) -> DecisionRequest<'r> {
        DecisionRequest {
            agent: &self.agent,
            instance: &self.instance,
            session: self.session,
            server,
            tool,
            args,
            classes,
        }
    }
}

#[test]
fn a_session_that_read_pii_cannot_send_it_outside_even_paraphrased() {
    let engine = engine(&[]);
    let ask = Ask::new("s1");
    let none = json!({});
    let read = ask.request("crm", "lookup_customer", &none, &[]);
    assert_eq!(engine.decide(&read).outcome, DecisionOutcome::Allow);
    // The result held an address and a date of birth.
    let classes = ["pii.contact".to_owned(), "pii.dob".to_owned()];
    assert!(engine.observe(&read, &classes, None, "crm/lookup_customer (decision d-1)"));

    // The agent paraphrases: the arguments carry no classes of their own.
    let external = json!({"to": "someone@gmail.test", "body": "the customer was born in spring"});
    let d = engine.decide(&ask.request("mail", "send", &external, &[]));
    assert_eq!(d.outcome, DecisionOutcome::Deny);
    assert_eq!(d.policies, [FLOW_RULE]);
    let reason = &d.reasons[0];
    assert!(reason.contains("`pii.contact`"), "{reason}");
    assert!(
        reason.contains("crm/lookup_customer (decision d-1)"),
        "{reason}"
    );
    assert!(
        reason.contains("outside the organisation's domains"),
        "{reason}"
    );

    // Internal mail is cleared for pii.contact, but not for pii.dob.
    let internal = json!({"to": "colleague@example.com"});
    let d = engine.decide(&ask.request("mail", "send", &internal, &[]));
    assert_eq!(d.outcome, DecisionOutcome::Deny);
    assert!(d.reasons[0].contains("`pii.dob`"), "{:?}", d.reasons);

    // A session with only contact data may mail it internally, not paste it.
    let ask2 = Ask::new("s2");
    let read2 = ask2.request("crm", "lookup_customer", &none, &[]);
    assert_eq!(engine.decide(&read2).outcome, DecisionOutcome::Allow);
    engine.observe(
        &read2,
        &["pii.contact".to_owned()],
        None,
        "crm/lookup_customer (decision d-2)",
    );
    let d = engine.decide(&ask2.request("mail", "send", &internal, &[]));
    assert_eq!(d.outcome, DecisionOutcome::Allow, "{:?}", d.reasons);
    let d = engine.decide(&ask2.request("paste", "upload", &none, &[]));
    assert_eq!(d.outcome, DecisionOutcome::Deny);
    assert!(
        d.reasons[0].contains("cleared for no classes"),
        "{:?}",
        d.reasons
    );
}

#[test]
fn classes_in_the_arguments_are_checked_and_taint_is_per_session() {
    let engine = engine(&[]);
    let ask = Ask::new("fresh");
    let args = json!({"to": "partner@other.test"});
    // Nothing sensitive: external mail is fine.
    let d = engine.decide(&ask.request("mail", "send", &args, &[]));
    assert_eq!(d.outcome, DecisionOutcome::Allow, "{:?}", d.reasons);
    // A card number in the body: not cleared anywhere here.
    let card = ["financial.card".to_owned()];
    let d = engine.decide(&ask.request("mail", "send", &args, &card));
    assert_eq!(d.outcome, DecisionOutcome::Deny);
    assert!(
        d.reasons[0].contains("the arguments carry `financial.card`"),
        "{:?}",
        d.reasons
    );
    // Several recipients: one outside makes it external; none at all too.
    let mixed = json!({"to": ["a@example.com", "b@evil.test"]});
    let contact = ["pii.contact".to_owned()];
    assert_eq!(
        engine
            .decide(&ask.request("mail", "send", &mixed, &contact))
            .outcome,
        DecisionOutcome::Deny
    );
    let inside = json!({"to": "a@example.com, b@sales.example.com"});
    assert_eq!(
        engine
            .decide(&ask.request("mail", "send", &inside, &contact))
            .outcome,
        DecisionOutcome::Allow
    );
    // No recipient named: the tool's own destination (internal) applies.
    let missing = json!({});
    assert_eq!(
        engine
            .decide(&ask.request("mail", "send", &missing, &contact))
            .outcome,
        DecisionOutcome::Allow
    );
}

#[test]
fn conditions_see_classes_taint_and_injection_flags() {
    let org = r#"
@id("no-credentials-anywhere")
forbid (principal, action, resource) when { context.classes.contains("credentials") };

@id("no-sends-after-injection")
forbid (principal, action == Warden::Action::"send", resource) when { context.session.flagged };
"#;
    let engine = engine(&[("org.cedar", org)]);
    let ask = Ask::new("s");
    let none = json!({});
    let creds = ["credentials".to_owned()];
    let d = engine.decide(&ask.request("crm", "lookup_customer", &none, &creds));
    assert_eq!(d.outcome, DecisionOutcome::Deny);
    assert_eq!(d.policies, ["no-credentials-anywhere"]);

    let read = ask.request("crm", "lookup_customer", &none, &[]);
    assert_eq!(engine.decide(&read).outcome, DecisionOutcome::Allow);
    engine.observe(
        &read,
        &[],
        Some("role_marker"),
        "crm/lookup_customer (decision d-9)",
    );
    let internal = json!({"to": "a@example.com"});
    let d = engine.decide(&ask.request("mail", "send", &internal, &[]));
    assert_eq!(d.outcome, DecisionOutcome::Deny);
    assert_eq!(d.policies, ["no-sends-after-injection"]);
    // A read is still allowed in the flagged session.
    assert_eq!(engine.decide(&read).outcome, DecisionOutcome::Allow);
}

#[test]
fn taint_is_bounded_and_keeps_the_first_source() {
    let mut history = SessionHistory::default();
    history.taint(&["pii".to_owned()], "first");
    history.taint(&["pii".to_owned()], "second");
    assert_eq!(history.taint["pii"], "first");
    let many: Vec<String> = (0..500).map(|i| format!("custom.c{i}")).collect();
    history.taint(&many, "flood");
    assert!(history.taint.len() <= 64);
}

#[test]
fn external_cleared_needs_a_destination_argument() {
    let text = format!(
        "{CONFIG}\n[servers.crm.tools.export]\noperation = \"send\"\nexternal_cleared = [\"pii\"]\n"
    );
    let err = Config::parse("warden.toml", &text, Path::new(".")).unwrap_err();
    assert!(
        err.to_string().contains("needs `destination_argument`"),
        "{err}"
    );
}

#[test]
fn paths_are_judged_normalised_and_destination_follows_the_argument() {
    let org = r#"
@id("no-external-mail")
forbid (principal, action == Warden::Action::"send", resource == Warden::Tool::"mail/send")
when { context.destination == "external" };
"#;
    let engine = engine(&[("org.cedar", org)]);
    let ask = Ask::new("p");
    for (path, outcome) in [
        ("/srv/public/report.txt", DecisionOutcome::Allow),
        ("/srv/public/../customers/jane.txt", DecisionOutcome::Deny),
        ("/srv/public/./a/../b.txt", DecisionOutcome::Allow),
        ("srv/public/relative.txt", DecisionOutcome::Deny),
        ("/srv/../../etc/passwd", DecisionOutcome::Deny),
    ] {
        let args = json!({ "path": path });
        let d = engine.decide(&ask.request("files", "read", &args, &[]));
        assert_eq!(d.outcome, outcome, "{path}: {:?}", d.reasons);
    }
    let external = json!({"to": "x@elsewhere.test"});
    let d = engine.decide(&ask.request("mail", "send", &external, &[]));
    assert_eq!(d.outcome, DecisionOutcome::Deny);
    assert_eq!(d.policies, ["no-external-mail"]);
    let internal = json!({"to": "x@example.com"});
    let d = engine.decide(&ask.request("mail", "send", &internal, &[]));
    assert_eq!(d.outcome, DecisionOutcome::Allow, "{:?}", d.reasons);
}

#[test]
fn redaction_obligations_come_with_the_allow_and_are_checked_at_load() {
    let org = r#"
@id("mask-dob-in-crm")
@redact("pii.dob=mask, financial=tokenize")
permit (principal, action == Warden::Action::"read", resource == Warden::Tool::"crm/lookup_customer");
"#;
    let engine = engine(&[("org.cedar", org)]);
    let ask = Ask::new("r");
    let none = json!({});
    let d = engine.decide(&ask.request("crm", "lookup_customer", &none, &[]));
    assert_eq!(d.outcome, DecisionOutcome::Allow);
    let got: Vec<(String, &str)> = d
        .redact
        .iter()
        .map(|r| (r.class.clone(), r.action.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("pii.dob".to_owned(), "mask"),
            ("financial".to_owned(), "tokenize")
        ]
    );
    // A deny carries none.
    let d = engine.decide(&ask.request("paste", "upload", &none, &["pii".to_owned()]));
    assert!(d.redact.is_empty());

    for (bad, message) in [
        (
            "@redact(\"pii.dbo=mask\")\npermit (principal, action, resource);",
            "unknown data class `pii.dbo`",
        ),
        (
            "@redact(\"pii=shred\")\npermit (principal, action, resource);",
            "unknown redaction `shred`",
        ),
        (
            "@redact(\"pii=mask\")\nforbid (principal, action, resource);",
            "`@redact` goes on a `permit`",
        ),
    ] {
        let config = Config::parse("warden.toml", CONFIG, Path::new(".")).unwrap();
        let manifest = Manifest::parse("support-bot.yaml", AGENT, &config).unwrap();
        let inputs = PolicyInputs {
            config: Arc::new(config),
            manifests: vec![manifest],
            org_files: vec![("org.cedar".to_owned(), bad.to_owned())],
        };
        let err = compile(&inputs).unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
        assert!(err.contains("org.cedar:1"), "{err}");
    }
}

/// Every address a destination argument names counts, in any shape; the
/// least cleared decides (issue 11's recipients that slipped past rules).
#[test]
fn every_recipient_counts_in_any_shape() {
    let engine = engine(&[]);
    let ask = Ask::new("recipients");
    let none = json!({});
    let read = ask.request("crm", "lookup_customer", &none, &[]);
    assert_eq!(engine.decide(&read).outcome, DecisionOutcome::Allow);
    engine.observe(
        &read,
        &["pii.contact".to_owned()],
        None,
        "crm/lookup_customer (decision d-9)",
    );
    let refused = [
        json!({"to": "colleague@example.com", "bcc": "x@evil.org"}),
        json!({"to": "colleague@example.com", "cc": ["a@example.com", "x@evil.org"]}),
        json!({"to": ["colleague@example.com", {"address": "x@evil.org"}]}),
        json!({"to": "x@evil.org colleague@example.com"}),
        json!({"to": "colleague@example.com\tx@evil.org"}),
        json!({"to": "colleague@example.com\nx@evil.org"}),
        json!({"to": "Colleague <colleague@example.com>, Eve <x@evil.org>"}),
        json!({"to": "colleague@example.com.evil.org"}),
        json!({"to": {"name": "Jane Roe"}}),
        json!({"to": 42}),
        json!({"to": "colleague@example.com", "bcc": ""}),
    ];
    for args in refused {
        let d = engine.decide(&ask.request("mail", "send", &args, &[]));
        assert_eq!(d.outcome, DecisionOutcome::Deny, "{args}: {:?}", d.reasons);
        assert_eq!(d.policies, [FLOW_RULE], "{args}");
        assert!(
            d.reasons[0].contains("external destination"),
            "{args}: {:?}",
            d.reasons
        );
    }
    let allowed = [
        json!({"to": "colleague@example.com"}),
        json!({"to": "Colleague <colleague@EXAMPLE.com.>", "cc": ["b@sales.example.com"]}),
        json!({"to": ["a@example.com", {"address": "b@example.com", "name": "B"}], "bcc": null}),
        // An absent optional recipient is the tool's own destination, not "external".
        json!({"subject": "no recipient named"}),
    ];
    for args in allowed {
        let d = engine.decide(&ask.request("mail", "send", &args, &[]));
        assert_eq!(d.outcome, DecisionOutcome::Allow, "{args}: {:?}", d.reasons);
    }
}

#[test]
fn organisation_domains_are_checked_at_load() {
    for (bad, why) in [
        ("\"\"", "empty"),
        ("\".\"", "."),
        ("\"exa mple.com\"", "exa mple.com"),
    ] {
        let text = CONFIG.replace(
            "domains = [\"example.com\"]",
            &format!("domains = [\"example.com\", {bad}]"),
        );
        let err = Config::parse("warden.toml", &text, Path::new("."))
            .err()
            .unwrap_or_else(|| panic!("{bad} was accepted"))
            .to_string();
        assert!(err.contains("warden.toml:"), "{err}");
        assert!(err.contains("organisation.domains[1]"), "{why}: {err}");
    }
}

/// With `resolve_paths`, a symbolic link under an allowed folder is judged
/// where it leads (the outside report's case); without it, paths are text.
#[test]
fn a_link_under_an_allowed_folder_is_judged_where_it_leads() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let public = root.join("public");
    std::fs::create_dir_all(&public).unwrap();
    std::fs::create_dir_all(root.join("private")).unwrap();
    std::fs::write(public.join("report.txt"), "r").unwrap();
    std::fs::write(root.join("private/salaries.csv"), "s").unwrap();
    std::os::unix::fs::symlink(root.join("private"), public.join("shortcut")).unwrap();
    let agent = format!(
        r#"
name: support-bot
owner: care@example.com
purpose: answers tickets
tools:
  files:
    read:
      operation: read
      when: 'context.paths.path like "{}/*"'
"#,
        public.display()
    );
    let ask = Ask::new("links");
    let decide = |resolve: bool, path: &str| {
        let config = CONFIG.replace(
            "[servers.files]\n",
            &format!("[servers.files]\nresolve_paths = {resolve}\n"),
        );
        let engine = crate::common::engine_from(&config, ("support-bot.yaml", &agent), &[]);
        let args = json!({ "path": path });
        engine
            .decide(&ask.request("files", "read", &args, &[]))
            .outcome
    };
    let through_link = format!("{}/shortcut/salaries.csv", public.display());
    let plain = format!("{}/report.txt", public.display());
    assert_eq!(decide(true, &plain), DecisionOutcome::Allow);
    assert_eq!(decide(true, &through_link), DecisionOutcome::Deny);
    assert_eq!(
        decide(false, &through_link),
        DecisionOutcome::Allow,
        "as text, the link is under the folder"
    );
}
