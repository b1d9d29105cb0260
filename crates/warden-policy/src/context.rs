//! Building the Cedar request context straight from the parsed JSON.
//!
//! `Context::from_json_value` re-parses and type-directs every value; building
//! restricted expressions directly is several times faster, and only the
//! arguments some policy reads go in.

use std::collections::BTreeSet;

use cedar_policy::{Context, RestrictedExpression};
use serde_json::Value;

use crate::numbers;
use crate::snapshot::ToolInfo;

const MAX_DEPTH: usize = 32;

/// What an agent did earlier in its session, as conditions see it
/// (`context.session`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionHistory {
    /// Allowed actions so far.
    pub actions: u64,
    /// Tools (`server/tool`) called with an allow so far.
    pub tools: BTreeSet<String>,
    /// Data classes read in this session (from results), each with the first
    /// call it came from (`server/tool (decision <id>)`).
    pub taint: std::collections::BTreeMap<String, String>,
    /// The first result in this session flagged for injected instructions,
    /// if any (`server/tool (decision <id>): kinds`).
    pub flagged: Option<String>,
    /// What the session observed, by value: argument provenance and lineage.
    #[serde(default)]
    pub values: crate::provenance::ValueTracker,
}

/// What a decision reads of the past: its session's history, and the agent
/// instance's across all its sessions (taint, the injection flag and
/// observed values are kept per instance as well, so that switching session
/// ids does not shed them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Histories<'a> {
    pub(crate) session: &'a SessionHistory,
    pub(crate) instance: Option<&'a SessionHistory>,
}

impl<'a> Histories<'a> {
    fn both(&self) -> impl Iterator<Item = &'a SessionHistory> {
        std::iter::once(self.session).chain(self.instance)
    }

    /// Every class read, with the first call it came from (the session's first).
    pub(crate) fn taint(&self) -> std::collections::BTreeMap<&'a str, &'a str> {
        let mut out = std::collections::BTreeMap::new();
        for h in self.both() {
            for (class, source) in &h.taint {
                out.entry(class.as_str()).or_insert(source.as_str());
            }
        }
        out
    }

    /// Whether a result flagged for injected instructions was read.
    pub(crate) fn flagged(&self) -> bool {
        self.both().any(|h| h.flagged.is_some())
    }

    /// Where `value` came from, by the strongest origin either history knows.
    pub(crate) fn origin_of(&self, value: &Value) -> crate::ArgumentOrigin {
        let mut best = self.session.values.origin_of(value);
        if let Some(i) = self.instance {
            let other = i.values.origin_of(value);
            // The user's word in this session stands.
            if best.origin != crate::Origin::User && other.origin > best.origin {
                best = other;
            }
        }
        best
    }

    /// Whether any observed value carries a class.
    pub(crate) fn has_classes(&self) -> bool {
        self.both().any(|h| h.values.has_classes())
    }

    /// The sensitive values read earlier that argument `name` carries.
    pub(crate) fn carried(&self, name: &str, value: &Value) -> Vec<crate::Carried> {
        let mut out = self.session.values.carried(name, value);
        if let Some(i) = self.instance {
            for c in i.values.carried(name, value) {
                if !out.iter().any(|o| o.class == c.class) {
                    out.push(c);
                }
            }
        }
        out
    }
}

/// Most taint classes a session keeps (a bound on memory per session).
pub(crate) const MAX_TAINT_CLASSES: usize = 64;

impl SessionHistory {
    /// Whether nothing happened in the session yet.
    pub fn is_fresh(&self) -> bool {
        self.actions == 0
            && self.tools.is_empty()
            && self.taint.is_empty()
            && self.flagged.is_none()
            && self.values.is_empty()
    }

    /// Adds classes read from a result, keeping the first source of each.
    pub fn taint(&mut self, classes: &[String], source: &str) {
        for class in classes {
            if self.taint.len() >= MAX_TAINT_CLASSES && !self.taint.contains_key(class) {
                break;
            }
            self.taint
                .entry(class.clone())
                .or_insert_with(|| source.to_owned());
        }
    }
}

/// Converts one JSON value; `None` for `null` (absent and `null` behave the
/// same) or a number that cannot be represented, which is noted.
fn convert(
    value: &Value,
    path: &str,
    depth: usize,
    notes: &mut Vec<String>,
) -> Option<RestrictedExpression> {
    if depth > MAX_DEPTH {
        notes.push(format!(
            "argument `{path}` is nested deeper than {MAX_DEPTH} levels and was left out"
        ));
        return None;
    }
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(RestrictedExpression::new_bool(*b)),
        Value::Number(n) => match numbers::scale_json(n) {
            Ok(v) => Some(RestrictedExpression::new_long(v)),
            Err(e) => {
                notes.push(format!("argument `{path}` was left out: {e}"));
                None
            }
        },
        Value::String(s) => Some(RestrictedExpression::new_string(s.clone())),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if item.is_null() {
                    continue;
                }
                out.push(convert(item, &format!("{path}[{i}]"), depth + 1, notes)?);
            }
            Some(RestrictedExpression::new_set(out))
        }
        Value::Object(map) => {
            let fields = map.iter().filter_map(|(k, v)| {
                convert(v, &format!("{path}.{k}"), depth + 1, notes).map(|e| (k.clone(), e))
            });
            let fields: Vec<(String, RestrictedExpression)> = fields.collect();
            RestrictedExpression::new_record(fields).ok()
        }
    }
}

/// A path argument normalised without touching the file system: `.` and
/// empty segments dropped, `..` taking one segment back. `None` for a path
/// that is not absolute, climbs above the root, or holds a NUL: conditions on
/// it then error, and an error denies.
pub(crate) fn normal_path(value: &str) -> Option<String> {
    let rest = value.strip_prefix('/')?;
    if value.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Most path components [`real_path`] resolves.
const MAX_PATH_COMPONENTS: usize = 256;

/// An absolute path as the kernel would reach it on this host: the longest
/// prefix that exists is resolved (symbolic links followed, `..` applied
/// after them, as the kernel does), and the rest, which does not exist yet,
/// is appended as written. `None` when the path is not absolute, too deep,
/// holds a NUL, cannot be resolved (a loop, no permission), or its
/// non-existent rest holds `..` or `.`: then a condition on it fails, and
/// the action is denied.
pub(crate) fn real_path(value: &str) -> Option<String> {
    use std::path::{Component, Path};
    if !value.starts_with('/') || value.contains('\0') {
        return None;
    }
    let path = Path::new(value);
    if path.components().count() > MAX_PATH_COMPONENTS {
        return None;
    }
    let mut tail: Vec<&std::ffi::OsStr> = Vec::new();
    let mut prefix: &Path = path;
    loop {
        match std::fs::canonicalize(prefix) {
            Ok(mut resolved) => {
                for part in tail.iter().rev() {
                    resolved.push(part);
                }
                return resolved.to_str().map(str::to_owned);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let last = prefix.components().next_back()?;
                match last {
                    Component::Normal(name) => tail.push(name),
                    // `..` or `.` under a path that does not exist: the
                    // kernel would refuse it; so does Warden.
                    _ => return None,
                }
                prefix = prefix.parent()?;
            }
            Err(_) => return None,
        }
    }
}

/// The host of a URL argument in canonical form (`warden-address`: lowercase,
/// IDNA to ASCII, no trailing dot); an error says why a value is not a URL
/// whose host every common parser reads the same way.
pub(crate) fn url_host(value: &str) -> Result<String, warden_address::AddressError> {
    warden_address::Url::parse(value).map(|u| u.host().to_string())
}

/// Builds the context of a request to `tool`.
pub(crate) fn build(
    tool: &ToolInfo,
    args: &serde_json::Map<String, Value>,
    classes: &[String],
    histories: &Histories<'_>,
    destination: crate::config::Destination,
    instance: &str,
    notes: &mut Vec<String>,
) -> Result<Context, String> {
    let mut arg_fields: Vec<(String, RestrictedExpression)> = Vec::new();
    if tool.refs.all_args {
        for (k, v) in args {
            if let Some(e) = convert(v, k, 0, notes) {
                arg_fields.push((k.clone(), e));
            }
        }
    } else {
        for name in &tool.refs.args {
            if let Some(e) = args.get(name).and_then(|v| convert(v, name, 0, notes)) {
                arg_fields.push((name.clone(), e));
            }
        }
    }
    let mut host_fields = Vec::new();
    for name in &tool.refs.hosts {
        match args.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) => match url_host(v) {
                Ok(host) => {
                    host_fields.push((name.clone(), RestrictedExpression::new_string(host)))
                }
                Err(e) => notes.push(format!("`context.hosts.{name}` is absent: {e}")),
            },
            Some(_) => notes.push(format!(
                "`context.hosts.{name}` is absent: argument `{name}` is not a string"
            )),
        }
    }
    let mut provenance_fields = Vec::new();
    for name in &tool.refs.provenance {
        let Some(value) = args.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        let origin = histories.origin_of(value);
        if let Some(source) = &origin.source {
            notes.push(match origin.origin {
                crate::Origin::Injected => format!(
                    "`{name}` came from {source}, a result screened as carrying injected instructions"
                ),
                _ => format!("`{name}` came from {source}, not from the user"),
            });
        }
        provenance_fields.push((
            name.clone(),
            RestrictedExpression::new_string(origin.origin.as_str().to_owned()),
        ));
    }
    let mut path_fields = Vec::new();
    let judge = if tool.resolve_paths {
        real_path
    } else {
        normal_path
    };
    for name in &tool.refs.paths {
        if let Some(path) = args.get(name).and_then(Value::as_str).and_then(judge) {
            path_fields.push((name.clone(), RestrictedExpression::new_string(path)));
        }
    }
    // Only what some policy of this tool reads goes in: every field costs on
    // every decision.
    let mut pairs = Vec::with_capacity(6);
    pairs.push((
        "args".to_owned(),
        RestrictedExpression::new_record(arg_fields).map_err(|e| e.to_string())?,
    ));
    if !tool.refs.hosts.is_empty() {
        pairs.push((
            "hosts".to_owned(),
            RestrictedExpression::new_record(host_fields).map_err(|e| e.to_string())?,
        ));
    }
    if !tool.refs.paths.is_empty() {
        pairs.push((
            "paths".to_owned(),
            RestrictedExpression::new_record(path_fields).map_err(|e| e.to_string())?,
        ));
    }
    if !tool.refs.provenance.is_empty() {
        pairs.push((
            "provenance".to_owned(),
            RestrictedExpression::new_record(provenance_fields).map_err(|e| e.to_string())?,
        ));
    }
    if tool.refs.classes {
        pairs.push((
            "classes".to_owned(),
            RestrictedExpression::new_set(
                classes
                    .iter()
                    .map(|c| RestrictedExpression::new_string(c.clone())),
            ),
        ));
    }
    if tool.refs.instance {
        pairs.push((
            "instance".to_owned(),
            RestrictedExpression::new_string(instance.to_owned()),
        ));
    }
    if tool.refs.destination {
        pairs.push((
            "destination".to_owned(),
            RestrictedExpression::new_string(destination.as_str().to_owned()),
        ));
    }
    // The session's history goes in only when some policy reads it: a long
    // session would otherwise cost on every decision.
    if tool.refs.session {
        let history = histories.session;
        let taint = histories.taint();
        let session = RestrictedExpression::new_record([
            (
                "actions".to_owned(),
                RestrictedExpression::new_long(numbers::scale_count(history.actions)),
            ),
            (
                "tools".to_owned(),
                RestrictedExpression::new_set(
                    history
                        .tools
                        .iter()
                        .map(|t| RestrictedExpression::new_string(t.clone())),
                ),
            ),
            (
                "taint".to_owned(),
                RestrictedExpression::new_set(
                    taint
                        .keys()
                        .map(|t| RestrictedExpression::new_string((*t).to_owned())),
                ),
            ),
            (
                "flagged".to_owned(),
                RestrictedExpression::new_bool(histories.flagged()),
            ),
        ])
        .map_err(|e| e.to_string())?;
        pairs.push(("session".to_owned(), session));
    }
    Context::from_pairs(pairs).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_lexically() {
        for (raw, want) in [
            ("/srv/shared/public/a.txt", Some("/srv/shared/public/a.txt")),
            (
                "/srv/shared/public/../customers/x",
                Some("/srv/shared/customers/x"),
            ),
            ("/srv//shared/./public/", Some("/srv/shared/public")),
            ("/../etc/passwd", None),
            ("relative/path", None),
            ("/a/\0b", None),
        ] {
            assert_eq!(normal_path(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn real_paths_follow_links_as_the_kernel_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let public = root.join("public");
        let secret = root.join("secret");
        std::fs::create_dir_all(public.join("docs")).unwrap();
        std::fs::create_dir_all(&secret).unwrap();
        std::fs::write(secret.join("keys.txt"), "k").unwrap();
        std::os::unix::fs::symlink(&secret, public.join("link")).unwrap();
        std::os::unix::fs::symlink(public.join("loop"), public.join("loop")).unwrap();
        let at = |p: &std::path::Path| p.to_str().unwrap().to_owned();
        let real = |raw: String| real_path(&raw);
        // A link under the public folder is judged where it leads.
        assert_eq!(
            real(format!("{}/link/keys.txt", at(&public))),
            Some(at(&secret.join("keys.txt")))
        );
        // `..` after a link climbs from where the link leads, not lexically.
        assert_eq!(
            real(format!("{}/link/../public/docs", at(&public))),
            Some(at(&public.join("docs")))
        );
        assert_eq!(
            normal_path(&format!("{}/link/../x", at(&public))),
            Some(at(&public.join("x"))),
            "lexically the same path stays under public"
        );
        assert_eq!(
            real(format!("{}/link/../x", at(&public))),
            Some(at(&root.join("x")))
        );
        // A file not yet there is judged under its real folder.
        assert_eq!(
            real(format!("{}/docs/new/report.txt", at(&public))),
            Some(at(&public.join("docs/new/report.txt")))
        );
        assert_eq!(
            real(format!("{}/link/new.txt", at(&public))),
            Some(at(&secret.join("new.txt")))
        );
        // Unresolvable or ambiguous: no path, so conditions on it fail.
        assert_eq!(real(format!("{}/loop/x", at(&public))), None);
        assert_eq!(real(format!("{}/nowhere/../docs", at(&public))), None);
        assert_eq!(real("relative/x".into()), None);
        assert_eq!(real("/a/\0b".into()), None);
        assert_eq!(real(format!("/{}", "a/".repeat(300))), None);
    }

    #[test]
    fn hosts_are_exact_and_normalised() {
        assert_eq!(
            url_host("https://WWW.Informations.com/a?b").ok().as_deref(),
            Some("www.informations.com")
        );
        assert_eq!(
            url_host("https://www.true-informations.com/")
                .ok()
                .as_deref(),
            Some("www.true-informations.com")
        );
        // Parsers disagree on these hosts: refused, never guessed.
        assert!(url_host("https://user@evil.com@good.com/").is_err());
        assert!(url_host(r"https://en.wikipedia.org\@evil.com/").is_err());
        assert!(url_host("not a url").is_err());
    }
}
