//! Redaction obligations: a policy that allows an action can require that
//! data of some classes is rewritten before it moves on — in the arguments
//! before they reach the tool, and in the result before the agent sees it.
//!
//! A manifest grant writes them as `redact: { pii.dob: mask, financial: tokenize }`;
//! an org-wide `permit` as `@redact("pii.dob=mask, financial=tokenize")`.
//! A class clears its subclasses as elsewhere: `pii` covers `pii.contact`.

use serde::{Deserialize, Serialize};

/// How data of a class is rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedactAction {
    /// Replaced by a marker naming its type.
    Mask,
    /// Replaced by a keyed hash: equal values stay equal, and cannot be
    /// recovered without the key.
    Hash,
    /// Replaced by a stable keyed token.
    Tokenize,
}

impl RedactAction {
    /// The name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mask => "mask",
            Self::Hash => "hash",
            Self::Tokenize => "tokenize",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "mask" => Some(Self::Mask),
            "hash" => Some(Self::Hash),
            "tokenize" => Some(Self::Tokenize),
            _ => None,
        }
    }
}

/// One obligation: rewrite data of `class` with `action`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Redaction {
    /// The class (and its subclasses).
    pub class: String,
    /// How.
    pub action: RedactAction,
}

/// Parses `class=action, class=action` (an `@redact` annotation), checking
/// classes against `known`.
pub(crate) fn parse_list(text: &str, known: &[String]) -> Result<Vec<Redaction>, String> {
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (class, action) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}` is not `class=action`"))?;
        out.push(check(class.trim(), action.trim(), known)?);
    }
    Ok(out)
}

/// Reads an `@redact` annotation the compiler has already checked
/// (unreadable items are skipped).
pub(crate) fn read_annotation(text: &str) -> Vec<Redaction> {
    text.split(',')
        .filter_map(|item| {
            let (class, action) = item.split_once('=')?;
            Some(Redaction {
                class: class.trim().to_owned(),
                action: RedactAction::parse(action.trim())?,
            })
        })
        .collect()
}

/// Checks one `class: action` pair.
pub(crate) fn check(class: &str, action: &str, known: &[String]) -> Result<Redaction, String> {
    if !known.iter().any(|c| c == class) {
        let hint = crate::error::did_you_mean(class, known.iter().map(String::as_str));
        return Err(format!("unknown data class `{class}`{hint}"));
    }
    let action = RedactAction::parse(action).ok_or_else(|| {
        format!("unknown redaction `{action}`: expected `mask`, `hash` or `tokenize`")
    })?;
    Ok(Redaction {
        class: class.to_owned(),
        action,
    })
}

/// The annotation text for a list.
pub(crate) fn annotation(list: &[Redaction]) -> String {
    list.iter()
        .map(|r| format!("{}={}", r.class, r.action.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}
