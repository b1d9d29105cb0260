//! Benchmarks: verifying an export of 1,000,000 records, and appending leaves
//! to a `CompactRange` in memory.
//!
//! `cargo bench -p warden-audit --bench verify`

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use warden_audit::{
    AuditError, AuditRecord, Checkpoint, CheckpointSigner, CompactRange, RecordKind, leaf_hash,
    seal, verify_export, write_export,
};

const RECORDS: u64 = 1_000_000;
const CHECKPOINT_EVERY: u64 = 100_000;

/// A record like the gateway writes: an MCP tool call with digests.
fn record(index: u64) -> AuditRecord {
    let mut record = AuditRecord::new(
        index,
        1_767_225_600_000 + index as i64,
        RecordKind::Decision,
        "mcp_http",
    );
    record.agent = Some(format!(
        "spiffe://bank.example/agent/invoice-bot/{}",
        index % 16
    ));
    record.server = Some("accounting".into());
    record.tool = Some("schedule_payment".into());
    record.operation = Some("write".into());
    record.args_digest = Some(hex::encode(leaf_hash(&index.to_le_bytes())));
    record.decision = Some(
        if index.is_multiple_of(10) {
            "deny"
        } else {
            "allow"
        }
        .into(),
    );
    record.policies = vec!["invoice-bot/schedule_payment".into()];
    record.classes = vec!["financial".into(), "pii.contact".into()];
    record.latency_us = Some(180 + index % 300);
    record
}

fn generate(dir: &Path) -> Result<String, AuditError> {
    let signer = CheckpointSigner::generate("bench.warden")?;
    let mut range = CompactRange::new();
    let mut notes = Vec::new();
    let mut records = Vec::with_capacity(RECORDS as usize);
    for index in 0..RECORDS {
        let sealed = index
            .is_multiple_of(100)
            .then(|| seal(b"{\"amount\":98.7,\"iban\":\"DE89370400440532013000\"}").0);
        let mut record = record(index);
        record.payload_digest = sealed.as_ref().map(|s| s.digest());
        let encoded = record.encode();
        range.append_with(leaf_hash(&encoded), |_, _| {});
        records.push((index, encoded, sealed.map(|s| s.ciphertext)));
        if range.size().is_multiple_of(CHECKPOINT_EVERY) {
            let checkpoint = Checkpoint {
                origin: "bench.warden/audit".into(),
                size: range.size(),
                root: range.root(),
            };
            notes.push(signer.sign(&checkpoint));
        }
    }
    let vkey = signer.verifier_key();
    write_export(dir, records.into_iter(), &notes, &vkey)?;
    Ok(vkey)
}

fn verify_million(c: &mut Criterion) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("export");
    let vkey = match generate(&path) {
        Ok(vkey) => vkey,
        Err(e) => {
            eprintln!("cannot generate the export: {e}");
            return;
        }
    };
    let mut group = c.benchmark_group("verify_export");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(RECORDS));
    group.bench_function("1M records", |b| {
        b.iter(|| match verify_export(&path, &vkey) {
            Ok(report) => black_box(report),
            Err(e) => {
                eprintln!("export does not verify: {e}");
                std::process::exit(1);
            }
        })
    });
    group.finish();
}

fn append(c: &mut Criterion) {
    let leaves: Vec<_> = (0..100_000u64)
        .map(|i| leaf_hash(&i.to_le_bytes()))
        .collect();
    let mut group = c.benchmark_group("compact_range");
    group.throughput(Throughput::Elements(leaves.len() as u64));
    group.bench_function("append 100k leaves", |b| {
        b.iter(|| {
            let mut range = CompactRange::new();
            for leaf in &leaves {
                black_box(range.append(*leaf));
            }
            black_box(range.root())
        })
    });
    group.bench_function("append_with 100k leaves", |b| {
        b.iter(|| {
            let mut range = CompactRange::new();
            for leaf in &leaves {
                range.append_with(*leaf, |id, hash| {
                    black_box((id, hash));
                });
            }
            black_box(range.root())
        })
    });
    group.finish();
}

criterion_group!(benches, append, verify_million);
criterion_main!(benches);
