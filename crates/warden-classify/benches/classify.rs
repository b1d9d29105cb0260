//! Throughput of the classifier on prose and JSON with sparse findings, and
//! of the injection scanner on prose and on an ordinary web page.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use warden_classify::{Classifier, ClassifierConfig, corpus, scan_injection};

fn bench(c: &mut Criterion) {
    let Ok(classifier) = Classifier::new(&ClassifierConfig::default()) else {
        return;
    };
    let prose = corpus::prose(16 << 20, 7);
    let mut group = c.benchmark_group("classify");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(prose.len() as u64));
    group.bench_function("prose_16MiB", |b| {
        b.iter(|| classifier.classify_text(black_box(&prose)).len())
    });
    let json_text = corpus::records_json(4 << 20, 7);
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&json_text) else {
        return;
    };
    group.throughput(Throughput::Bytes(json_text.len() as u64));
    group.bench_function("json_4MiB_walk", |b| {
        b.iter(|| classifier.classify_json(black_box(&json)).len())
    });
    group.finish();

    // What the decision path classifies per request: the load harness's
    // ~1 KB arguments (7 top-level fields, 30 leaves, no findings).
    let lines: Vec<serde_json::Value> = (0..6)
        .map(|l| serde_json::json!({"sku": format!("SKU-0000-{l}"), "description": "office supplies, quarterly", "quantity": l + 1, "unit_price": 4.95}))
        .collect();
    let args = serde_json::json!({
        "amount": 98.7, "iban": "DE89370400440532013000", "reference": "INV-2025-000000",
        "currency": "EUR", "due_date": "2025-07-31", "lines": lines,
        "memo": "Payment for the supplies listed above; see the attached purchase order. ".repeat(8),
    });
    let mut group = c.benchmark_group("decision_args");
    group.throughput(Throughput::Bytes(args.to_string().len() as u64));
    group.bench_function("classes_by_field_1KiB", |b| {
        b.iter(|| classifier.classes_by_field(black_box(&args)).len())
    });
    group.finish();

    let mut group = c.benchmark_group("injection");
    group.sample_size(10);
    // The rules compile on first use; not part of the measurement.
    let _ = scan_injection("warm up");
    group.throughput(Throughput::Bytes(prose.len() as u64));
    group.bench_function("prose_16MiB", |b| {
        b.iter(|| scan_injection(black_box(&prose)).len())
    });
    let page = corpus::web_page(4 << 20, 7);
    group.throughput(Throughput::Bytes(page.len() as u64));
    group.bench_function("web_page_4MiB", |b| {
        b.iter(|| scan_injection(black_box(&page)).len())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
