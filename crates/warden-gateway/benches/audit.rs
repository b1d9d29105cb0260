//! The audit log's figures: durable appends per second with group commit
//! (sync durability, SQLite), the latency an append adds at several
//! concurrencies, batched mode, inclusion-proof time, and online verification.
//!
//! `cargo bench -p warden-gateway --bench audit` (`WARDEN_AUDIT_SECS=5` per run)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    missing_docs,
    reason = "a benchmark"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_audit::{AuditRecord, CheckpointSigner, RecordKind};
use warden_gateway::audit::{AuditLog, AuditSettings, fetch, verify_online};
use warden_policy::Durability;
use warden_store::{AnyStore, AuditStore, StoreLocation};

/// Seconds measured per run (default 5).
const SECS_VAR: &str = "WARDEN_AUDIT_SECS";

fn record(i: u64) -> AuditRecord {
    let mut r = AuditRecord::new(
        0,
        1_795_000_000_000 + i as i64,
        RecordKind::Decision,
        "decision_api",
    );
    r.decision_id = Some(format!("01a20918-4e6b-734f-9979-{i:012}"));
    r.agent = Some(format!(
        "spiffe://example.org/agent/agent-{:04}/i-1",
        i % 1000
    ));
    r.server = Some("accounting".into());
    r.tool = Some("schedule_payment".into());
    r.operation = Some("write".into());
    r.args_digest = Some("5a27599b017bdf6d0652294d0d638812b3a8e466c69be3c3a5ca7ac8ede0ca4a".into());
    r.decision = Some("allow".into());
    r.policies = vec!["agent/invoice-bot/accounting/schedule_payment".into()];
    r.policy_digest =
        Some("sha256:7f32c145a45ddfec5c79d618f77d014b2f857e31436e90576a8b94768f327053".into());
    r.reasons = vec![
        "allowed by `agent/invoice-bot/accounting/schedule_payment` (agents/invoice-bot.yaml:9:5)"
            .into(),
    ];
    r.latency_us = Some(21);
    r
}

fn payload() -> Vec<u8> {
    let mut args = String::from("{\"amount\":98.7,\"iban\":\"DE89370400440532013000\"");
    for k in 0..24 {
        args.push_str(&format!(",\"field_{k:02}\":\"value of field {k:02} ok\""));
    }
    args.push('}');
    args.into_bytes()
}

struct Log {
    _dir: tempfile::TempDir,
    store: AnyStore,
    log: AuditLog,
    signer: Arc<CheckpointSigner>,
    witness: std::path::PathBuf,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn open(durability: Durability) -> Log {
    let dir = tempfile::tempdir().unwrap();
    let store = AnyStore::open(&StoreLocation::parse(None, dir.path()).unwrap())
        .await
        .unwrap();
    let signer = Arc::new(CheckpointSigner::generate("example.org/warden-audit").unwrap());
    let witness = dir.path().join("witness");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = AuditSettings {
        durability,
        checkpoint_every: 100_000,
        checkpoint_interval: Duration::from_secs(5),
        witness_dir: witness.clone(),
        signer: Arc::clone(&signer),
        origin: "example.org/warden-audit".into(),
        payload_keys: warden_audit::WrapKeyDir::new(dir.path().join("payload-keys")),
    };
    let (log, _task) = AuditLog::start(store.clone(), settings, stopped)
        .await
        .unwrap();
    Log {
        _dir: dir,
        store,
        log,
        signer,
        witness,
        _stop: stop,
    }
}

/// `concurrency` tasks append for `secs`; returns (appends/s, p50, p99).
async fn load(
    log: &AuditLog,
    concurrency: usize,
    secs: u64,
    with_payload: bool,
) -> (f64, Duration, Duration) {
    let payload = Arc::new(payload());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let log = log.clone();
        let payload = Arc::clone(&payload);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = t as u64;
            while Instant::now() < deadline {
                let start = Instant::now();
                let sealed = with_payload.then(|| payload.to_vec());
                log.append(record(i), sealed).await.unwrap();
                lat.push(start.elapsed());
                i += 1_000_000;
            }
            lat
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    (all.len() as f64 / elapsed, at(0.5), at(0.99))
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let secs: u64 = std::env::var(SECS_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("SQLite (WAL, synchronous=FULL: every commit is fsynced), 2 cores, records of ~420 bytes + a sealed 1 KB payload; {secs} s per run");
        println!("{:<32} {:>6} {:>12} {:>10} {:>10}", "mode", "conc", "appends/s", "p50", "p99");
        let sync = open(Durability::Sync).await;
        for conc in [1, 16, 256, 2048] {
            let (rate, p50, p99) = load(&sync.log, conc, secs, true).await;
            println!("{:<32} {:>6} {:>12.0} {:>10} {:>10}", "sync (answer after fsync)", conc, rate, us(p50), us(p99));
        }
        let bare = open(Durability::Sync).await;
        let (rate, p50, p99) = load(&bare.log, 2048, secs, false).await;
        println!("{:<32} {:>6} {:>12.0} {:>10} {:>10}", "sync, records without payload", 2048, rate, us(p50), us(p99));
        let batched = open(Durability::Batched).await;
        let (rate, p50, p99) = load(&batched.log, 256, secs, true).await;
        println!("{:<32} {:>6} {:>12.0} {:>10} {:>10}", "batched (answer when queued)", 256, rate, us(p50), us(p99));

        // Proofs and verification over what the sync run wrote.
        sync.log.checkpoint().await.unwrap();
        let size = sync.store.audit_size().await.unwrap();
        let proofs = 2000u64;
        let started = Instant::now();
        for k in 0..proofs {
            let index = (k * 7919) % size;
            let plan = warden_audit::inclusion_plan(index, size).unwrap();
            let proof = fetch(&sync.store, &plan).await.unwrap();
            assert!(!proof.is_empty() || size == 1);
        }
        let per = started.elapsed() / proofs as u32;
        println!("inclusion proof from the store (log of {size} records): {} each", us(per));
        let started = Instant::now();
        let report = verify_online(&sync.store, &sync.signer.verifier_key(), &sync.witness, None).await.unwrap();
        let took = started.elapsed().as_secs_f64();
        println!(
            "online verification: {} records in {took:.2} s ({:.0} records/s, every leaf, node, payload and checkpoint)",
            report.records,
            report.records as f64 / took
        );
    });
}
