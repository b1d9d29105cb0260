//! Integration tests for warden-classify.

mod accuracy;
mod detectors;
mod fuzz;
mod identity_address_cloud;
mod injection;
mod injection_fresh;
mod json;
mod recall;
mod redact;
mod robust;

use warden_classify::{Classifier, ClassifierConfig};

/// The default classifier.
pub(crate) fn classifier() -> Classifier {
    match Classifier::new(&ClassifierConfig::default()) {
        Ok(c) => c,
        Err(e) => unreachable!("default config builds: {e}"),
    }
}

/// `(type, matched text)` for each finding in `text`.
pub(crate) fn found(text: &str) -> Vec<(&'static str, String)> {
    classifier()
        .classify_text(text)
        .into_iter()
        .map(|f| (f.detector, text[f.start..f.end].to_owned()))
        .collect()
}

/// Asserts that `text` yields exactly one finding of `kind` covering `value`.
#[track_caller]
pub(crate) fn finds(text: &str, kind: &str, value: &str) {
    let got = found(text);
    assert!(
        got.iter().any(|(k, v)| *k == kind && v == value),
        "expected {kind} `{value}` in `{text}`, got {got:?}"
    );
}

/// Asserts that `text` yields no finding of `kind`.
#[track_caller]
pub(crate) fn misses(text: &str, kind: &str) {
    let got = found(text);
    assert!(
        !got.iter().any(|(k, _)| *k == kind),
        "expected no {kind} in `{text}`, got {got:?}"
    );
}
