//! Injected instructions in results (placeholder until the scanner lands).

use serde_json::Value;

/// The kinds of injected instructions found in `output`.
pub(crate) fn scan(_output: &Value) -> Vec<String> {
    Vec::new()
}
