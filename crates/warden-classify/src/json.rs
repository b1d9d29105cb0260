//! Walking JSON: every string and number is scanned with its key as context.
//!
//! [`Walk`] holds what the two walks share: the path being built, the scan of
//! one value and where its findings go. [`Classifier::classify_json`] drives
//! it over a parsed [`Value`]; [`Classifier::classify_json_text`] drives it
//! from the parser itself (see `json_stream`), without building a tree.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Number, Value};

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

/// Where the findings of a JSON walk go, one at a time, in the order of the
/// document: a `Vec<JsonFinding>`, or a writer that formats them without
/// keeping them (as `warden classify --json` does).
pub trait JsonSink {
    /// One finding: the JSON path of the value it is in, the text found
    /// (the span's slice of the value) and the finding.
    fn push(&mut self, path: &str, text: &str, finding: Finding);

    /// Forgets every finding pushed so far: the walk starts over.
    fn clear(&mut self);
}

impl JsonSink for Vec<JsonFinding> {
    fn push(&mut self, path: &str, text: &str, finding: Finding) {
        Vec::push(
            self,
            JsonFinding {
                path: path.to_owned(),
                finding,
                text: text.to_owned(),
            },
        );
    }

    fn clear(&mut self) {
        Vec::clear(self);
    }
}

/// One walk over one document: the path of the value being visited, kept
/// in one buffer that grows on the way down and is cut back on the way up.
pub(crate) struct Walk<'a, S: ?Sized> {
    classifier: &'a Classifier,
    path: String,
    /// The decimal form of the number being scanned (reused).
    number: String,
    pub(crate) sink: &'a mut S,
}

impl<'a, S: JsonSink + ?Sized> Walk<'a, S> {
    pub(crate) fn new(classifier: &'a Classifier, sink: &'a mut S) -> Self {
        Self {
            classifier,
            path: String::from("$"),
            number: String::new(),
            sink,
        }
    }

    /// Back at the root, as before any value was visited.
    pub(crate) fn restart(&mut self) {
        self.path.truncate(1);
    }

    /// Scans a string value under `key`.
    pub(crate) fn string(&mut self, text: &str, key: Option<&str>) {
        for finding in self.classifier.scan(text, key) {
            let found = text.get(finding.start..finding.end).unwrap_or_default();
            self.sink.push(&self.path, found, finding);
        }
    }

    /// Scans a number's decimal form (as `Number` displays it) under `key`.
    pub(crate) fn number(&mut self, number: &Number, key: Option<&str>) {
        let mut text = std::mem::take(&mut self.number);
        text.clear();
        let _ = write!(text, "{number}");
        self.string(&text, key);
        self.number = text;
    }

    /// Steps into item `index` of an array; [`leave`](Self::leave) with
    /// what it returns steps back out.
    pub(crate) fn enter_index(&mut self, index: usize) -> usize {
        let len = self.path.len();
        push_index(&mut self.path, index);
        len
    }

    /// Steps into member `key` of an object.
    pub(crate) fn enter_key(&mut self, key: &str) -> usize {
        let len = self.path.len();
        push_key(&mut self.path, key);
        len
    }

    pub(crate) fn leave(&mut self, len: usize) {
        self.path.truncate(len);
    }

    /// Visits `value` and everything under it.
    pub(crate) fn value(&mut self, value: &Value, key: Option<&str>) {
        match value {
            Value::String(s) => self.string(s, key),
            Value::Number(n) => self.number(n, key),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = self.enter_index(i);
                    self.value(item, key);
                    self.leave(len);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let len = self.enter_key(k);
                    self.value(v, Some(k));
                    self.leave(len);
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }
}

impl Classifier {
    /// Finds classified data in every string and number of `value`, with the
    /// nearest key as context (`"iban"`, `"ssn"`, `"password"`, `"dob"` raise
    /// confidence or enable detectors that otherwise need context words).
    pub fn classify_json(&self, value: &Value) -> Vec<JsonFinding> {
        let mut out = Vec::new();
        Walk::new(self, &mut out).value(value, None);
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

    /// As [`Walk`], keeping only the classes: no paths, no
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
}

/// Appends `[index]` to `path`.
pub(crate) fn push_index(path: &mut String, index: usize) {
    let _ = write!(path, "[{index}]");
}

/// Appends `.key`, or `['key']` (with `'` and `\\` escaped) when `key` is
/// not a plain identifier, to `path`.
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
