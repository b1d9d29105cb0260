//! The generated configuration: `warden.toml`, 1,000 agent manifests,
//! org-wide policies, and the ~1 KB request body.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hyper::body::Bytes;
use serde_json::{Value, json};

/// Agents in the generated set.
pub(crate) const AGENTS: usize = 1000;
const GROUPS: usize = 20;
const PAYEES: usize = 200;
const BODY_BYTES: usize = 1024;

pub(crate) fn agent(i: usize) -> String {
    format!("agent-{i:04}")
}

pub(crate) fn payee(i: usize) -> String {
    format!("DE{:020}", 89_370_400_440_532_013_000_u128 + i as u128)
}

/// Writes `warden.toml`, `agents/*.yaml` and `policies/*.cedar`.
pub(crate) fn write_fixture(dir: &Path) -> anyhow::Result<PathBuf> {
    let payees: Vec<String> = (0..PAYEES).map(|i| format!("\"{}\"", payee(i))).collect();
    let config = format!(
        r#"trust_domain = "example.org"

[lists]
payees = [{payees}]

[servers.accounting]
transport = "api"
destination = "internal"
cleared = ["financial", "pii"]

[servers.accounting.tools.schedule_payment]
operation = "write"
input_schema = {{ type = "object", required = ["amount", "iban"], properties = {{ amount = {{ type = "number" }}, iban = {{ type = "string" }}, reference = {{ type = "string" }} }} }}

[servers.accounting.tools.read_invoice]
operation = "read"
input_schema = {{ type = "object", required = ["invoice_id"], properties = {{ invoice_id = {{ type = "string" }} }} }}

[servers.mail]
transport = "api"
destination = "internal"
cleared = ["pii.contact"]

[servers.mail.tools.send]
operation = "send"
input_schema = {{ type = "object", required = ["to", "subject", "body"], properties = {{ to = {{ type = "string" }}, subject = {{ type = "string" }}, body = {{ type = "string" }} }} }}

[servers.crm]
transport = "api"
destination = "internal"
cleared = ["pii"]
"#,
        payees = payees.join(", ")
    );
    let path = dir.join("warden.toml");
    std::fs::write(&path, config)?;
    std::fs::create_dir_all(dir.join("agents"))?;
    std::fs::create_dir_all(dir.join("policies"))?;
    for i in 0..AGENTS {
        let (name, group) = (agent(i), i % GROUPS);
        let manifest = format!(
            r#"name: {name}
owner: team-{group:02}@example.com
purpose: load-test agent {i}
risk: {{ eu_ai_act: minimal, dora_critical: false }}
groups: [team-{group:02}, finance]
tools:
  accounting:
    read_invoice: read
    schedule_payment:
      operation: write
      when: "context.args.amount <= 10000 && lists.payees.contains(context.args.iban)"
      approval: "context.args.amount > 5000"
  mail:
    send: {{ operation: send, when: "context.args.to like \"*@example.com\"" }}
budgets: {{ per_session: 1000000000, per_hour: 1000000000 }}
"#
        );
        std::fs::write(dir.join("agents").join(format!("{name}.yaml")), manifest)?;
    }
    // One org-wide rule per agent, ten files of a hundred.
    for file in 0..AGENTS / 100 {
        let mut text = String::new();
        for i in file * 100..(file + 1) * 100 {
            let name = agent(i);
            if i % 2 == 0 {
                writeln!(
                    text,
                    "@id(\"org/cap/{name}\")\n@reason(\"{name} never pays more than 20000\")\n\
                     forbid(principal == Warden::Agent::\"{name}\", action == Warden::Action::\"write\", \
                     resource == Warden::Tool::\"accounting/schedule_payment\")\nwhen {{ context.args.amount > 20000 }};\n"
                )?;
            } else {
                writeln!(
                    text,
                    "@id(\"org/no-secrets/{name}\")\n@reason(\"{name} never mails credentials\")\n\
                     forbid(principal == Warden::Agent::\"{name}\", action == Warden::Action::\"send\", \
                     resource == Warden::Tool::\"mail/send\")\nwhen {{ context.args.subject like \"*password*\" }};\n"
                )?;
            }
        }
        std::fs::write(
            dir.join("policies").join(format!("agents-{file:02}.cedar")),
            text,
        )?;
    }
    let mut text = String::new();
    for g in 0..GROUPS {
        writeln!(
            text,
            "@id(\"org/team-{g:02}/no-competitors\")\n@reason(\"no mail to competitors\")\n\
             forbid(principal in Warden::Group::\"team-{g:02}\", action == Warden::Action::\"send\", \
             resource == Warden::Tool::\"mail/send\")\nwhen {{ context.args.to like \"*@competitor.example\" }};\n"
        )?;
    }
    text.push_str(
        r#"@id("org/no-external-send")
@reason("sending to external destinations is not allowed")
forbid(principal, action == Warden::Action::"send", resource)
when { resource.destination == "external" };

@id("org/no-accounting-deletes")
@reason("accounting records are never deleted by agents")
forbid(principal, action == Warden::Action::"delete", resource in Warden::Server::"accounting");

@id("org/finance-large-payments-approval")
@approval("required")
@reason("payments of 9000 or more need a second pair of eyes")
permit(principal in Warden::Group::"finance", action == Warden::Action::"write", resource == Warden::Tool::"accounting/schedule_payment")
when { context.args.amount >= 9000 && context.args.amount <= 10000 && lists.payees.contains(context.args.iban) };
"#,
    );
    std::fs::write(dir.join("policies").join("org.cedar"), text)?;
    Ok(path)
}

/// A ~1 KB decision request for `worker`: the two arguments the policies read
/// and filler the gateway parses but no policy reads.
pub(crate) fn request_body(worker: usize) -> anyhow::Result<Bytes> {
    let lines: Vec<Value> = (0..6)
        .map(|l| json!({"sku": format!("SKU-{worker:04}-{l}"), "description": "office supplies, quarterly", "quantity": l + 1, "unit_price": 4.95}))
        .collect();
    let mut args = json!({
        "amount": 98.7,
        "iban": payee(worker % PAYEES),
        "reference": format!("INV-2025-{worker:06}"),
        "currency": "EUR",
        "due_date": "2025-07-31",
        "lines": lines,
        "memo": "",
    });
    let mut body = json!({"server": "accounting", "tool": "schedule_payment", "args": args, "session": format!("s-{worker}")});
    let len = serde_json::to_vec(&body)?.len();
    let filler = "Payment for the supplies listed above; see the attached purchase order. ";
    args["memo"] = Value::String(
        filler
            .repeat(BODY_BYTES / filler.len() + 1)
            .chars()
            .take(BODY_BYTES.saturating_sub(len))
            .collect(),
    );
    body["args"] = args;
    Ok(Bytes::from(serde_json::to_vec(&body)?))
}
