//! Precision and recall per type on `tests/data/labelled.jsonl`.
//!
//! `cargo test -p warden-classify --test it accuracy -- --nocapture` prints the table.

use std::collections::BTreeMap;

use serde::Deserialize;
use warden_classify::char_span;

#[derive(Deserialize)]
struct Line {
    text: String,
    expect: Vec<Expected>,
}

#[derive(Deserialize, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Expected {
    #[serde(rename = "type")]
    kind: String,
    start: usize,
    end: usize,
}

#[derive(Default)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
}

impl Counts {
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(self.tp + self.fp)
        }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(self.tp + self.fn_)
        }
    }
}

#[test]
fn precision_and_recall_per_type() {
    let data = include_str!("../data/labelled.jsonl");
    let classifier = crate::classifier();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut errors = Vec::new();
    for (n, raw) in data.lines().enumerate() {
        let line: Line =
            serde_json::from_str(raw).unwrap_or_else(|e| unreachable!("line {}: {e}", n + 1));
        let mut got: Vec<Expected> = classifier
            .classify_text(&line.text)
            .into_iter()
            .map(|f| {
                let (start, end) = char_span(&line.text, f.start, f.end);
                Expected {
                    kind: f.detector.to_owned(),
                    start,
                    end,
                }
            })
            .collect();
        got.sort();
        for g in &got {
            let c = counts.entry(g.kind.clone()).or_default();
            if line.expect.contains(g) {
                c.tp += 1;
            } else {
                c.fp += 1;
                errors.push(format!(
                    "line {}: false {} at {}..{} in `{}`",
                    n + 1,
                    g.kind,
                    g.start,
                    g.end,
                    line.text
                ));
            }
        }
        for e in &line.expect {
            if !got.contains(e) {
                counts.entry(e.kind.clone()).or_default().fn_ += 1;
                errors.push(format!(
                    "line {}: missed {} at {}..{} in `{}`",
                    n + 1,
                    e.kind,
                    e.start,
                    e.end,
                    line.text
                ));
            }
        }
    }
    println!(
        "| type | tp | fp | fn | precision | recall |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    );
    for (kind, c) in &counts {
        println!(
            "| {kind} | {} | {} | {} | {:.3} | {:.3} |",
            c.tp,
            c.fp,
            c.fn_,
            c.precision(),
            c.recall()
        );
    }
    for e in &errors {
        println!("{e}");
    }
    for kind in [
        "card",
        "iban",
        "email",
        "aws_access_key",
        "github_token",
        "jwt",
    ] {
        let c = counts
            .get(kind)
            .unwrap_or_else(|| unreachable!("no {kind} in the corpus"));
        assert!(
            c.tp >= 10,
            "{kind}: only {} true positives in the corpus",
            c.tp
        );
        assert!(
            c.precision() >= 0.95 && c.recall() >= 0.95,
            "{kind}: precision {:.3} recall {:.3}",
            c.precision(),
            c.recall()
        );
    }
    for (kind, c) in &counts {
        assert!(
            c.precision() >= 0.9 && c.recall() >= 0.9,
            "{kind}: precision {:.3} recall {:.3}",
            c.precision(),
            c.recall()
        );
    }
}

#[test]
fn no_finding_on_checksum_invalid_cards_or_ibans() {
    let classifier = crate::classifier();
    for raw in include_str!("../data/labelled.jsonl").lines() {
        let Ok(line) = serde_json::from_str::<Line>(raw) else {
            continue;
        };
        if line.text.contains("declined") || line.text.contains("is closed") {
            let found = classifier.classify_text(&line.text);
            assert!(found.is_empty(), "`{}` gave {found:?}", line.text);
        }
    }
}

#[test]
fn every_type_found_is_a_listed_built_in_and_can_be_disabled() {
    let classifier = crate::classifier();
    for raw in include_str!("../data/labelled.jsonl").lines() {
        let line: Line = serde_json::from_str(raw).unwrap_or_else(|e| unreachable!("{e}"));
        for f in classifier.classify_text(&line.text) {
            assert!(
                warden_classify::BUILTIN_DETECTORS.contains(&f.detector),
                "`{}` is missing from BUILTIN_DETECTORS",
                f.detector
            );
        }
    }
    let mut config = warden_classify::ClassifierConfig::default();
    config.disabled.insert("ipp".to_owned());
    let err = warden_classify::Classifier::new(&config)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("unknown built-in detector `ipp`"), "{err}");
    config.disabled = ["ip".to_owned()].into();
    let quiet = warden_classify::Classifier::new(&config).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(quiet.classify_text("host 10.20.30.40 is up").is_empty());
}
