//! The console's pages at scale: 1,000 registered agents and a million
//! audit records (with sealed payloads) in SQLite, each page fetched whole
//! over loopback with a signed-in session; the time until its last byte.
//! The target: every page usable within 300 ms.
//!
//! `cargo bench -p warden-gateway --bench console`
//! (`WARDEN_CONSOLE_AGENTS`, default 1000; `WARDEN_CONSOLE_RECORDS`, default
//! 1,000,000; `WARDEN_CONSOLE_RUNS` per page, default 10)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs,
    reason = "a benchmark"
)]

#[path = "support/common.rs"]
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use warden_audit::{AuditRecord, RecordKind};
use warden_gateway::audit::append_direct;
use warden_gateway::{Listeners, run};
use warden_store::{AnyStore, Store, StoreLocation};
use warden_types::Role;

fn manifest(i: usize) -> String {
    format!(
        "name: bench-{i:04}\nowner: team-{}@example.com\npurpose: a benchmark agent\n\
         risk: {{ eu_ai_act: minimal }}\ngroups: [bench]\ntools:\n  accounting:\n    read_invoice: read\n\
         \x20   schedule_payment:\n      operation: write\n      when: \"context.args.amount <= 10000\"\n\
         \x20     approval: \"context.args.amount > 5000\"\nbudgets: {{ per_session: 100, per_hour: 1000 }}\n",
        i % 17
    )
}

fn record(i: u64, agents: u64, now: i64, total: u64) -> AuditRecord {
    // Spread over the last ~50 minutes, oldest first.
    let at = now - i64::try_from((total - i) * 3).unwrap_or(0);
    let mut r = AuditRecord::new(0, at, RecordKind::Decision, "decision_api");
    r.decision_id = Some(format!("01a20918-4e6b-734f-9979-{i:012}"));
    r.agent = Some(format!(
        "spiffe://example.org/agent/bench-{:04}/i-{}",
        i % agents,
        i % 3
    ));
    r.server = Some("accounting".into());
    r.tool = Some(
        if i.is_multiple_of(4) {
            "read_invoice"
        } else {
            "schedule_payment"
        }
        .into(),
    );
    r.operation = Some("write".into());
    r.args_digest = Some("5a27599b017bdf6d0652294d0d638812b3a8e466c69be3c3a5ca7ac8ede0ca4a".into());
    let (decision, reason) = match i % 10 {
        0..=6 => (
            "allow",
            "allowed by `agent/bench/accounting/schedule_payment` (agents/bench.yaml:9:5)",
        ),
        7 | 8 => (
            "deny",
            "condition `context.args.amount <= 10000` is false with amount = 25000",
        ),
        _ => (
            "needs_approval",
            "approval required: condition `context.args.amount > 5000` holds",
        ),
    };
    r.decision = Some(decision.into());
    r.reasons = vec![reason.into()];
    r.classes = vec!["financial.account".into()];
    r.latency_us = Some(21);
    r
}

fn payload() -> Vec<u8> {
    br#"{"amount":7500,"iban":"DE89370400440532013000","memo":"invoice INV-1042 for March, net 30"}"#
        .to_vec()
}

fn main() -> anyhow::Result<()> {
    let agents: usize = common::env_or("WARDEN_CONSOLE_AGENTS", 1000)?;
    let records: u64 = common::env_or("WARDEN_CONSOLE_RECORDS", 1_000_000)?;
    let runs: usize = common::env_or("WARDEN_CONSOLE_RUNS", 10)?;
    let rt = common::runtime(2, "console-bench")?;
    rt.block_on(async move {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("config");
        warden_test::copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples"),
            &config,
        );
        for i in 0..agents {
            std::fs::write(
                config.join(format!("agents/bench-{i:04}.yaml")),
                manifest(i),
            )?;
        }
        let store = AnyStore::open(&StoreLocation::parse(None, &dir.path().join("data"))?).await?;
        let keys = warden_audit::WrapKeyDir::new(dir.path().join("payload-keys"));
        let token = warden_identity::generate_admin_token();
        store
            .add_admin_token(
                "bench",
                Role::Admin,
                &warden_identity::token_digest(token.expose()),
                0,
            )
            .await?;
        let filled = Instant::now();
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis(),
        )?;
        let mut i = 0;
        while i < records {
            let batch: Vec<_> = (i..(i + 10_000).min(records))
                .map(|j| (record(j, agents as u64, now, records), Some(payload())))
                .collect();
            i += batch.len() as u64;
            append_direct(&store, Some(&keys), batch).await?;
        }
        println!(
            "filled: {records} records for {agents} agents in {:.1} s",
            filled.elapsed().as_secs_f64()
        );
        drop(store);
        let key = Arc::new(warden_identity::SigningKey::generate());
        let started = Instant::now();
        let gateway = common::start_gateway(
            dir.path(),
            config.join("warden.toml"),
            key,
            "WARDEN_CONSOLE_DURABILITY",
        )
        .await?;
        gateway
            .audit()
            .checkpoint()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "gateway started with {} agents in {:.1} s",
            gateway.engine().snapshot().agents.len(),
            started.elapsed().as_secs_f64()
        );
        let listeners = Listeners::bind("127.0.0.1:0", "127.0.0.1:0").await?;
        let admin = format!("http://{}", listeners.admin_addr()?);
        tokio::spawn(run(gateway, listeners, std::future::pending::<()>()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let signed = client
            .post(format!("{admin}/console/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={}", token.expose()))
            .send()
            .await?;
        let cookie = signed.headers()["set-cookie"]
            .to_str()?
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned();
        let last = records.saturating_sub(1);
        let pages = [
            "/console/".to_owned(),
            "/console/agents".to_owned(),
            "/console/agents/bench-0007".to_owned(),
            "/console/activity".to_owned(),
            "/console/activity?agent=bench-0007&outcome=deny".to_owned(),
            format!("/console/records/{last}"),
            format!("/console/proofs/{last}"),
            "/console/approvals".to_owned(),
            "/console/alerts".to_owned(),
            "/console/incidents".to_owned(),
            "/console/audit".to_owned(),
            "/console/policies".to_owned(),
        ];
        println!("| page | p50 | max | bytes |\n| --- | --- | --- | --- |");
        for page in &pages {
            let mut times = Vec::with_capacity(runs);
            let mut bytes = 0;
            for run in 0..=runs {
                let t = Instant::now();
                let r = client
                    .get(format!("{admin}{page}"))
                    .header("cookie", &cookie)
                    .send()
                    .await?;
                let status = r.status();
                let body = r.bytes().await?;
                anyhow::ensure!(status.is_success(), "{page}: {status}");
                if run > 0 {
                    times.push(t.elapsed());
                }
                bytes = body.len();
            }
            times.sort();
            println!(
                "| `{page}` | {:.1} ms | {:.1} ms | {bytes} |",
                times[times.len() / 2].as_secs_f64() * 1e3,
                times[times.len() - 1].as_secs_f64() * 1e3
            );
        }
        println!(
            "peak resident size of the process (gateway and this client): {:.0} MiB",
            common::proc_status_mib("VmHWM")?
        );
        Ok(())
    })
}
