//! Two weeks of the example agents doing their usual work fire no alert
//! of any rule; the false-alarm rate of each is printed (`cargo test -p
//! warden-monitor -- --nocapture normal_run`). The figures are the README's.

use super::*;

/// A deterministic stream of pseudo-random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }

    /// Poisson-distributed with mean `lambda` (Knuth).
    fn poisson(&mut self, lambda: f64) -> u64 {
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= (self.next() % 1_000_000) as f64 / 1_000_000.0;
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
}

/// A tool an agent uses: its share of the agent's actions, the argument
/// shape entries of every call, optional ones with their probability, the
/// classes its calls may hold and the hosts they go to.
struct Tool {
    name: &'static str,
    weight: u64,
    shape: &'static [&'static str],
    optional: &'static [(&'static str, f64)],
    classes: &'static [&'static str],
    hosts: &'static [&'static str],
}

struct Agent {
    name: &'static str,
    per_minute: f64,
    tools: &'static [Tool],
}

const AGENTS: [Agent; 3] = [
    Agent {
        name: "invoice-bot",
        per_minute: 3.0,
        tools: &[
            Tool {
                name: "accounting/read_invoice",
                weight: 60,
                shape: &["invoice_id:string"],
                optional: &[],
                classes: &["financial"],
                hosts: &[],
            },
            Tool {
                name: "accounting/schedule_payment",
                weight: 25,
                shape: &[
                    "amount:number",
                    "iban:string",
                    "iban:string:financial.account",
                ],
                optional: &[("memo:string", 0.5)],
                classes: &["financial", "financial.account"],
                hosts: &[],
            },
            Tool {
                name: "mail/send",
                weight: 15,
                shape: &["body:string", "subject:string", "to:string"],
                optional: &[("body:string:financial", 0.3)],
                classes: &["financial"],
                hosts: &["example.com", "bank.example.com"],
            },
        ],
    },
    Agent {
        name: "support-bot",
        per_minute: 2.0,
        tools: &[
            Tool {
                name: "crm/lookup_customer",
                weight: 50,
                shape: &["id:string"],
                optional: &[],
                classes: &["pii.contact", "pii.address"],
                hosts: &[],
            },
            Tool {
                name: "crm/add_note",
                weight: 30,
                shape: &["id:string", "note:string"],
                optional: &[("note:string:pii.contact", 0.4)],
                classes: &["pii.contact"],
                hosts: &[],
            },
            Tool {
                name: "mail/send",
                weight: 20,
                shape: &["body:string", "subject:string", "to:string"],
                optional: &[("body:string:pii.contact", 0.5), ("cc:array", 0.2)],
                classes: &["pii.contact"],
                hosts: &["example.com", "partner.example"],
            },
        ],
    },
    Agent {
        name: "research-bot",
        per_minute: 1.0,
        tools: &[
            Tool {
                name: "web/fetch",
                weight: 60,
                shape: &["url:string"],
                optional: &[("max_length:number", 0.5)],
                classes: &[],
                hosts: &["en.wikipedia.org", "arxiv.org"],
            },
            Tool {
                name: "filesystem/read_text_file",
                weight: 25,
                shape: &["path:string"],
                optional: &[("head:number", 0.2)],
                classes: &[],
                hosts: &[],
            },
            Tool {
                name: "filesystem/list_directory",
                weight: 15,
                shape: &["path:string"],
                optional: &[],
                classes: &[],
                hosts: &[],
            },
        ],
    },
];

/// Every rule kind, with the defaults `warden.toml` gives, per agent; the
/// baselines also per instance, `tool_mix` and `denial_ratio` also at 4σ.
fn rules() -> Vec<AlertRule> {
    let kinds = [
        ("denials", AlertKind::Denials),
        ("new_class", AlertKind::NewClass),
        ("new_destination", AlertKind::NewDestination),
        ("injection", AlertKind::Injection),
        ("rate", AlertKind::Rate),
        ("new_tool", AlertKind::NewTool),
        ("tool_mix", AlertKind::ToolMix),
        ("denial_ratio", AlertKind::DenialRatio),
        ("argument_shape", AlertKind::ArgumentShape),
        ("time_of_day", AlertKind::TimeOfDay),
    ];
    let mut rules = Vec::new();
    for (name, kind) in kinds {
        let mut r = rule(name, kind);
        (r.warm_up, r.threshold) = (50, 0);
        match kind {
            AlertKind::Denials => r.threshold = 5,
            AlertKind::ToolMix => r.threshold = 10,
            AlertKind::DenialRatio => r.threshold = 5,
            _ => {}
        }
        let baseline = matches!(
            kind,
            AlertKind::Rate
                | AlertKind::ToolMix
                | AlertKind::DenialRatio
                | AlertKind::ArgumentShape
                | AlertKind::TimeOfDay
        );
        if matches!(kind, AlertKind::ToolMix | AlertKind::DenialRatio) {
            // At 4σ rather than the default 5σ: reported, bounded below.
            let mut at_4 = r.clone();
            (at_4.name, at_4.sigma) = (format!("{name}@4σ"), 4);
            let mut at_4_instance = at_4.clone();
            at_4_instance.name = format!("{name}@4σ/instance");
            at_4_instance.per = AlertScope::Instance;
            rules.extend([at_4, at_4_instance]);
            r.sigma = 5;
        }
        if baseline {
            let mut per_instance = r.clone();
            per_instance.name = format!("{name}/instance");
            per_instance.per = AlertScope::Instance;
            rules.push(r);
            rules.push(per_instance);
        } else {
            rules.push(r);
        }
    }
    rules
}

/// Two weeks (ten working days) of the three agents from `seed`: the
/// alerts, and how many actions.
fn two_weeks(seed: u64) -> (Vec<Alert>, u64) {
    let alerter = Alerter::new(rules(), vec!["example.com".into()]);
    let mut rng = Rng(seed);
    let mut index = 0;
    let mut actions = 0_u64;
    let mut alerts = Vec::new();
    const MINUTE: i64 = 60_000;
    // Monday 5 January 2026, 00:00 UTC.
    let monday = 1_767_571_200_000_i64;
    for day in 0..14_i64 {
        if day % 7 >= 5 {
            continue; // the weekend
        }
        for agent in &AGENTS {
            // The working day: from 8:00–8:30 to 17:30–18:00 UTC, busier
            // mid-morning and mid-afternoon.
            let start = 8 * 60 + (rng.next() % 30) as i64;
            let end = 17 * 60 + 30 + (rng.next() % 30) as i64;
            for minute in start..end {
                let swing = 1.0 + 0.5 * ((minute as f64) / 60.0 * std::f64::consts::PI / 4.0).sin();
                for n in 0..rng.poisson(agent.per_minute * swing) {
                    index += 1;
                    actions += 1;
                    let total: u64 = agent.tools.iter().map(|t| t.weight).sum();
                    let mut pick = rng.next() % total;
                    let tool = agent
                        .tools
                        .iter()
                        .find(|t| {
                            let hit = pick < t.weight;
                            pick = pick.saturating_sub(t.weight);
                            hit
                        })
                        .unwrap_or(&agent.tools[0]);
                    let outcome = if rng.chance(0.03) { "deny" } else { "allow" };
                    let mut shape = tool.shape.to_vec();
                    for (entry, p) in tool.optional {
                        if rng.chance(*p) {
                            shape.push(entry);
                        }
                    }
                    let instance = if rng.chance(0.5) { "i-1" } else { "i-2" };
                    let at =
                        monday + day * 1440 * MINUTE + minute * MINUTE + (n as i64 * 997) % MINUTE;
                    let mut record = call(index, at, instance, tool.name, outcome, &shape);
                    record.agent = Some(format!(
                        "spiffe://example.org/agent/{}/{instance}",
                        agent.name
                    ));
                    record.classes = tool
                        .classes
                        .iter()
                        .filter(|_| rng.chance(0.5))
                        .map(|c| (*c).to_owned())
                        .collect();
                    if !tool.hosts.is_empty() {
                        let host = tool.hosts[(rng.next() % tool.hosts.len() as u64) as usize];
                        record.destinations = vec![host.to_owned()];
                    }
                    alerts.extend(alerter.on_record(agent.name, &record));
                }
            }
        }
    }
    (alerts, actions)
}

#[test]
fn two_weeks_of_normal_work_fire_no_alert_of_any_rule() {
    let names: Vec<String> = rules().into_iter().map(|r| r.name).collect();
    let (mut alerts, mut actions) = (Vec::new(), 0);
    // Three independent fortnights.
    for seed in [
        0x5eed_1234_abcd_ef01,
        0x0dd_ba11_c0ff_ee42,
        0xfeed_face_dead_beef,
    ] {
        let (fired, n) = two_weeks(seed);
        assert!(n > 30_000, "{n}");
        alerts.extend(fired);
        actions += n;
    }
    println!(
        "false alarms over {actions} actions: 3 agents × 2 instances, 3 runs of 10 working days:"
    );
    for name in &names {
        let fired = alerts.iter().filter(|a| &a.rule == name).count();
        println!(
            "  {name:<26} {fired:>3} alerts  rate {:.2e} per action",
            fired as f64 / actions as f64
        );
    }
    // The rules as `warden.toml` defaults them fire never; at 4σ, a
    // binomial tail tested at every action over overlapping windows fires
    // about once in 10^5 actions.
    let (at_4, alerts): (Vec<Alert>, Vec<Alert>) =
        alerts.into_iter().partition(|a| a.rule.contains("@4σ"));
    assert!(
        alerts.is_empty(),
        "false alarms over {actions} actions: {alerts:#?}"
    );
    assert!(at_4.len() <= 5, "{at_4:#?}");
}
