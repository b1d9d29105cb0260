//! A small lexer over Cedar text that bridges Warden's conventions into Cedar.
//!
//! It rewrites numeric literals into fixed point (see [`crate::numbers`]),
//! `lists.NAME` into the list entity's members, refuses multiplication, and
//! records which arguments a condition reads, so that only those go into the
//! request context. String literals and comments are never touched.

use std::collections::BTreeSet;

use crate::numbers;

/// What a piece of Cedar text reads from the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct References {
    /// Argument names read as `context.args.NAME`, `has NAME` or `["NAME"]`.
    pub(crate) args: BTreeSet<String>,
    /// URL arguments whose host is read as `context.hosts.NAME`.
    pub(crate) hosts: BTreeSet<String>,
    /// Path arguments read normalised as `context.paths.NAME`.
    pub(crate) paths: BTreeSet<String>,
    /// Arguments whose origin is read as `context.provenance.NAME`.
    pub(crate) provenance: BTreeSet<String>,
    /// Named lists used.
    pub(crate) lists: BTreeSet<String>,
    /// `context.args` used as a whole: every argument must go in.
    pub(crate) all_args: bool,
    /// `context.session` is read: the session's history must go in.
    pub(crate) session: bool,
    /// `context.classes` is read.
    pub(crate) classes: bool,
    /// `context.instance` is read.
    pub(crate) instance: bool,
    /// `context.destination` is read.
    pub(crate) destination: bool,
}

impl References {
    pub(crate) fn merge(&mut self, other: &References) {
        self.args.extend(other.args.iter().cloned());
        self.hosts.extend(other.hosts.iter().cloned());
        self.paths.extend(other.paths.iter().cloned());
        self.provenance.extend(other.provenance.iter().cloned());
        self.lists.extend(other.lists.iter().cloned());
        self.all_args |= other.all_args;
        self.session |= other.session;
        self.classes |= other.classes;
        self.instance |= other.instance;
        self.destination |= other.destination;
    }
}

/// Cedar text after rewriting, with what it references.
#[derive(Debug, Clone)]
pub(crate) struct Rewritten {
    pub(crate) text: String,
    pub(crate) refs: References,
}

/// A problem in the text, at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RewriteError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Space,
    Comment,
    Str,
    Ident,
    Number,
    Punct,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

fn tokenize(src: &str) -> Result<Vec<Token>, RewriteError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let kind = if b.is_ascii_whitespace() {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            Kind::Space
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            Kind::Comment
        } else if b == b'"' {
            i += 1;
            loop {
                match bytes.get(i) {
                    None => {
                        return Err(RewriteError {
                            offset: start,
                            message: "unterminated string literal".into(),
                        });
                    }
                    Some(b'\\') => i += 2,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            Kind::Str
        } else if b.is_ascii_alphabetic() || b == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            Kind::Ident
        } else if b.is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            Kind::Number
        } else {
            // Multi-byte UTF-8 outside strings is not Cedar; keep whole chars.
            i += src[i..].chars().next().map_or(1, char::len_utf8);
            Kind::Punct
        };
        out.push(Token {
            kind,
            start,
            end: i.min(bytes.len()),
        });
    }
    Ok(out)
}

/// How deep brackets and `if` expressions may nest in one policy or condition.
///
/// Cedar's parser, validator and evaluator recurse once per level; a policy
/// nested 150 deep overflowed a 2 MiB thread stack and killed the process.
/// Real conditions nest a handful of levels.
pub(crate) const MAX_NESTING: usize = 32;

/// How many tokens one policy or condition may hold: a chain of `&&` or `+`
/// is a tree as deep as it is long. Longer alternatives belong in a named list.
pub(crate) const MAX_TOKENS: usize = 2048;

/// Refuses text Cedar could not handle without exhausting its stack: nesting
/// beyond [`MAX_NESTING`] (brackets, plus every `if`) or more than
/// [`MAX_TOKENS`] tokens. Checked before Cedar parses anything.
fn check_bounds(sig: &[Token], src: &str) -> Result<(), RewriteError> {
    let (mut brackets, mut ifs) = (0usize, 0usize);
    for t in sig {
        match &src[t.start..t.end] {
            "(" | "[" | "{" => brackets += 1,
            ")" | "]" | "}" => brackets = brackets.saturating_sub(1),
            "if" if t.kind == Kind::Ident => ifs += 1,
            _ => continue,
        }
        if brackets + ifs > MAX_NESTING {
            return Err(RewriteError {
                offset: t.start,
                message: format!(
                    "the policy is nested deeper than {MAX_NESTING} levels (brackets and `if` expressions)"
                ),
            });
        }
    }
    if let Some(t) = sig.get(MAX_TOKENS) {
        return Err(RewriteError {
            offset: t.start,
            message: format!(
                "the policy is longer than {MAX_TOKENS} tokens; put long alternatives in a named list (`lists.NAME.contains(…)`)"
            ),
        });
    }
    Ok(())
}

/// Rewrites Cedar text; `list_exists` says whether a named list is declared.
/// Text nested too deep or too long for Cedar is refused first.
pub(crate) fn rewrite(
    src: &str,
    list_exists: &dyn Fn(&str) -> bool,
) -> Result<Rewritten, RewriteError> {
    let tokens = tokenize(src)?;
    let sig: Vec<Token> = tokens
        .iter()
        .copied()
        .filter(|t| !matches!(t.kind, Kind::Space | Kind::Comment))
        .collect();
    check_bounds(&sig, src)?;
    let text = |t: &Token| &src[t.start..t.end];
    let mut refs = References::default();
    let mut out = String::with_capacity(src.len() + 16);
    let mut replaced_until = 0usize; // byte offset up to which `out` is written
    let mut k = 0;
    while k < sig.len() {
        let t = sig[k];
        let prev_is_dot = k > 0 && text(&sig[k - 1]) == ".";
        match t.kind {
            Kind::Number => {
                let scaled = numbers::scale_decimal(text(&t)).map_err(|e| RewriteError {
                    offset: t.start,
                    message: e.to_string(),
                })?;
                out.push_str(&src[replaced_until..t.start]);
                out.push_str(&scaled.to_string());
                replaced_until = t.end;
            }
            Kind::Punct if text(&t) == "*" => {
                return Err(RewriteError {
                    offset: t.start,
                    message: "multiplication is not supported in conditions: numbers are \
                              fixed-point with 4 decimals, compare them with <, <=, +, -"
                        .into(),
                });
            }
            Kind::Ident if text(&t) == "lists" && !prev_is_dot => {
                let name = sig.get(k + 2).filter(|n| {
                    n.kind == Kind::Ident && sig.get(k + 1).is_some_and(|d| text(d) == ".")
                });
                let Some(name) = name else {
                    return Err(RewriteError {
                        offset: t.start,
                        message: "`lists` must be followed by a list name, as in `lists.payees`"
                            .into(),
                    });
                };
                let name = text(name);
                if !list_exists(name) {
                    return Err(RewriteError {
                        offset: t.start,
                        message: format!("unknown list `{name}`"),
                    });
                }
                refs.lists.insert(name.to_owned());
                out.push_str(&src[replaced_until..t.start]);
                out.push_str(&format!("Warden::List::\"{name}\".members"));
                replaced_until = sig[k + 2].end;
                k += 3;
                continue;
            }
            Kind::Ident if text(&t) == "context" && !prev_is_dot => {
                collect_context_ref(&sig, k, src, &mut refs);
            }
            _ => {}
        }
        k += 1;
    }
    out.push_str(&src[replaced_until..]);
    Ok(Rewritten { text: out, refs })
}

fn collect_context_ref(sig: &[Token], k: usize, src: &str, refs: &mut References) {
    let text = |i: usize| sig.get(i).map(|t| &src[t.start..t.end]);
    if text(k + 1) != Some(".") {
        // `context` as a whole (say `context has args`): play safe.
        refs.all_args = true;
        refs.session = true;
        refs.classes = true;
        refs.instance = true;
        refs.destination = true;
        return;
    }
    let field = match text(k + 2) {
        Some(f @ ("args" | "hosts" | "paths" | "provenance")) => f,
        Some("session") => {
            refs.session = true;
            return;
        }
        Some("classes") => {
            refs.classes = true;
            return;
        }
        Some("instance") => {
            refs.instance = true;
            return;
        }
        Some("destination") => {
            refs.destination = true;
            return;
        }
        _ => return,
    };
    let name = match (text(k + 3), text(k + 4), text(k + 5)) {
        (Some("."), Some(n), _) if sig[k + 4].kind == Kind::Ident => Some(n.to_owned()),
        (Some("has"), Some(n), _) if sig[k + 4].kind == Kind::Ident => Some(n.to_owned()),
        (Some("has"), Some(n), _) if sig[k + 4].kind == Kind::Str => Some(unquote(n)),
        (Some("["), Some(n), Some("]")) if sig[k + 4].kind == Kind::Str => Some(unquote(n)),
        _ => None,
    };
    match (field, name) {
        ("args", Some(n)) => {
            refs.args.insert(n);
        }
        ("hosts", Some(n)) => {
            refs.hosts.insert(n.clone());
            refs.args.insert(n);
        }
        ("paths", Some(n)) => {
            refs.paths.insert(n.clone());
            refs.args.insert(n);
        }
        ("provenance", Some(n)) => {
            refs.provenance.insert(n);
        }
        ("provenance", None) => {}
        _ => refs.all_args = true,
    }
}

fn unquote(s: &str) -> String {
    s.trim_matches('"').replace("\\\"", "\"")
}

/// Splits a condition at its top-level `&&`, for explaining which part failed.
pub(crate) fn split_conjuncts(src: &str) -> Vec<String> {
    let Ok(tokens) = tokenize(src) else {
        return vec![src.trim().to_owned()];
    };
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut k = 0;
    while k < tokens.len() {
        let t = tokens[k];
        let s = &src[t.start..t.end];
        match s {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth -= 1,
            "&" if depth == 0
                && tokens
                    .get(k + 1)
                    .is_some_and(|n| &src[n.start..n.end] == "&") =>
            {
                parts.push(src[start..t.start].trim().to_owned());
                start = tokens[k + 1].end;
                k += 2;
                continue;
            }
            "|" if depth == 0 => return vec![src.trim().to_owned()],
            _ => {}
        }
        k += 1;
    }
    parts.push(src[start..].trim().to_owned());
    parts.retain(|p| !p.is_empty());
    parts
}

/// Splits a `.cedar` file into its policies: (1-based line of the start, text).
pub(crate) fn split_policies(src: &str) -> Result<Vec<(usize, String)>, RewriteError> {
    let tokens = tokenize(src)?;
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start: Option<usize> = None;
    for t in &tokens {
        if matches!(t.kind, Kind::Space | Kind::Comment) {
            continue;
        }
        let s = &src[t.start..t.end];
        if start.is_none() {
            start = Some(t.start);
        }
        match s {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => depth -= 1,
            ";" if depth == 0 => {
                if let Some(b) = start.take() {
                    out.push((line_of(src, b), src[b..t.end].to_owned()));
                }
            }
            _ => {}
        }
    }
    if let Some(b) = start {
        return Err(RewriteError {
            offset: b,
            message: "policy does not end with `;`".into(),
        });
    }
    Ok(out)
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn line_of(src: &str, offset: usize) -> usize {
    line_col(src, offset).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(name: &str) -> bool {
        name == "payees"
    }

    #[test]
    fn numbers_lists_and_references() {
        let r = rewrite(
            "context.args.amount <= 10000.5 && lists.payees.contains(context.args.iban) && \"7\" == \"7\"",
            &lists,
        )
        .unwrap();
        assert_eq!(
            r.text,
            "context.args.amount <= 100005000 && Warden::List::\"payees\".members.contains(context.args.iban) && \"7\" == \"7\""
        );
        assert_eq!(r.refs.args.iter().collect::<Vec<_>>(), ["amount", "iban"]);
        assert!(!r.refs.all_args);
    }

    #[test]
    fn has_index_and_hosts_are_references() {
        let r = rewrite(
            "context.args has to && context.args[\"cc\"] == \"x\" && context.hosts.url == \"a.b\"",
            &lists,
        )
        .unwrap();
        assert_eq!(r.refs.args.iter().collect::<Vec<_>>(), ["cc", "to", "url"]);
        assert_eq!(r.refs.hosts.iter().collect::<Vec<_>>(), ["url"]);
        let whole = rewrite("context.args == {}", &lists).unwrap();
        assert!(whole.refs.all_args);
    }

    #[test]
    fn refuses_unknown_lists_and_multiplication() {
        let e = rewrite("lists.payes.contains(\"x\")", &lists).unwrap_err();
        assert_eq!(e.message, "unknown list `payes`");
        let e = rewrite("context.args.a * 2 > 3", &lists).unwrap_err();
        assert_eq!(e.offset, 15);
    }

    #[test]
    fn strings_and_comments_are_untouched() {
        let r = rewrite("context.args.v == \"1.5 * lists.x\" // 42 * 3\n", &lists).unwrap();
        assert_eq!(r.text, "context.args.v == \"1.5 * lists.x\" // 42 * 3\n");
    }

    #[test]
    fn conjuncts_split_at_top_level_only() {
        assert_eq!(
            split_conjuncts("a && (b && c) && d"),
            vec!["a", "(b && c)", "d"]
        );
        assert_eq!(split_conjuncts("a && b || c"), vec!["a && b || c"]);
    }

    #[test]
    fn policies_split_with_lines() {
        let src = "// header\npermit(principal, action, resource);\n\nforbid(principal, action, resource)\nwhen { \"a;b\" == \"c\" };\n";
        let p = split_policies(src).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].0, 2);
        assert_eq!(p[1].0, 4);
        assert!(split_policies("permit(principal, action, resource)").is_err());
    }
}
