//! Walking JSON: every string and number is scanned with its key as context.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::{Classifier, Finding};

/// A finding inside a JSON document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonFinding {
    /// Where the value sits, e.g. `$.customer.iban` or `$.items[2]['e-mail']`.
    pub path: String,
    /// The finding; its span is in bytes of the string value (or of the
    /// number's decimal form).
    pub finding: Finding,
    /// The text found (the span's slice of the value).
    pub text: String,
}

impl Classifier {
    /// Finds classified data in every string and number of `value`, with the
    /// nearest key as context (`"iban"`, `"ssn"`, `"password"`, `"dob"` raise
    /// confidence or enable detectors that otherwise need context words).
    pub fn classify_json(&self, value: &Value) -> Vec<JsonFinding> {
        let mut out = Vec::new();
        let mut path = String::from("$");
        self.walk(value, None, &mut path, &mut out);
        out
    }

    /// The set of classes found anywhere in `value`.
    pub fn classes(&self, value: &Value) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.walk_classes(value, None, &mut out);
        out
    }

    /// The classes found under each top-level member of `value`, as
    /// [`classes`](Self::classes) finds them (the member's name is the
    /// context); members with none are left out, and a `value` that is not
    /// an object has no members.
    pub fn classes_by_field(&self, value: &Value) -> BTreeMap<String, BTreeSet<String>> {
        let mut out = BTreeMap::new();
        let Value::Object(map) = value else {
            return out;
        };
        for (key, member) in map {
            let mut classes = BTreeSet::new();
            self.walk_classes(member, Some(key), &mut classes);
            if !classes.is_empty() {
                out.insert(key.clone(), classes);
            }
        }
        out
    }

    /// As [`walk`](Self::walk), keeping only the classes: no paths, no
    /// copies of the text found (what the decision path needs).
    fn walk_classes(&self, value: &Value, key: Option<&str>, out: &mut BTreeSet<String>) {
        match value {
            Value::String(s) => out.extend(self.scan(s, key).into_iter().map(|f| f.class)),
            Value::Number(n) => {
                let text = n.to_string();
                out.extend(self.scan(&text, key).into_iter().map(|f| f.class));
            }
            Value::Array(items) => {
                for item in items {
                    self.walk_classes(item, key, out);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.walk_classes(v, Some(k), out);
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn walk(
        &self,
        value: &Value,
        key: Option<&str>,
        path: &mut String,
        out: &mut Vec<JsonFinding>,
    ) {
        let mut emit = |findings: Vec<Finding>, path: &str, text: &str| {
            out.extend(findings.into_iter().map(|finding| {
                JsonFinding {
                    path: path.to_owned(),
                    text: text
                        .get(finding.start..finding.end)
                        .unwrap_or_default()
                        .to_owned(),
                    finding,
                }
            }));
        };
        match value {
            Value::String(s) => emit(self.scan(s, key), path, s),
            Value::Number(n) => {
                let text = n.to_string();
                emit(self.scan(&text, key), path, &text);
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    let _ = write!(path, "[{i}]");
                    self.walk(item, key, path, out);
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let len = path.len();
                    push_key(path, k);
                    self.walk(v, Some(k), path, out);
                    path.truncate(len);
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }
}

pub(crate) fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str("['");
        for c in key.chars() {
            if c == '\'' || c == '\\' {
                path.push('\\');
            }
            path.push(c);
        }
        path.push_str("']");
    }
}
