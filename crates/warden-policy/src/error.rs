//! Errors of loading and compiling a policy set.

use std::fmt;
use std::path::PathBuf;

/// Where in an input file something is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as the user named it (relative to the configuration).
    pub file: String,
    /// 1-based line; 0 when unknown.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
}

impl Location {
    /// A location in `file` at `line`:`column`.
    pub fn new(file: impl Into<String>, line: usize, column: usize) -> Self {
        Self {
            file: file.into(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => f.write_str(&self.file),
            (l, 0) => write!(f, "{}:{l}", self.file),
            (l, c) => write!(f, "{}:{l}:{c}", self.file),
        }
    }
}

/// One problem found in the inputs: where, which field, and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the problem is.
    pub location: Location,
    /// The dotted field path (`tools.accounting.schedule_payment.when`), if any.
    pub field: Option<String>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at `location` about `field`.
    pub fn new(location: Location, field: Option<String>, message: impl Into<String>) -> Self {
        Self {
            location,
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: field `{field}`: {}", self.location, self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

/// Why a policy set could not be loaded. A rejected set never replaces the
/// running one.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The inputs hold mistakes; every one found is listed.
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&d.to_string());
    }
    out
}

impl PolicyError {
    /// The diagnostics, if this is an `Invalid` error.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            PolicyError::Invalid(d) => d,
            PolicyError::Io { .. } => &[],
        }
    }
}

/// Collects diagnostics while a load proceeds, so that one run reports them all.
#[derive(Debug, Default)]
pub(crate) struct Diagnostics(pub(crate) Vec<Diagnostic>);

impl Diagnostics {
    pub(crate) fn push(
        &mut self,
        location: Location,
        field: Option<String>,
        message: impl Into<String>,
    ) {
        self.0.push(Diagnostic::new(location, field, message));
    }

    pub(crate) fn into_result<T>(self, value: T) -> Result<T, PolicyError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(PolicyError::Invalid(self.0))
        }
    }
}

/// The closest of `candidates` to `word`, for "did you mean" hints.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let best = candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((_, c)) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_finds_close_names() {
        assert_eq!(
            did_you_mean("acounting", ["accounting", "mail"]),
            " (did you mean `accounting`?)"
        );
        assert_eq!(did_you_mean("zzz", ["accounting", "mail"]), "");
    }
}
