//! Flow rules: data goes only to destinations cleared for its class. Checked
//! after the policies allow an action, over the classes found in its
//! arguments and the session's taint (classes read earlier in the session,
//! whatever the agent did with them since).

use serde_json::Value;

use warden_address::Domain;

use crate::config::Destination;
use crate::context::SessionHistory;
use crate::snapshot::ToolInfo;

/// Whether `cleared` clears `class`: clearing `pii` clears all of `pii.*`.
pub fn is_cleared(cleared: &[String], class: &str) -> bool {
    cleared.iter().any(|c| {
        class == c
            || class
                .strip_prefix(c.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Where an action sends its data, and the classes cleared there.
///
/// Every address the destination arguments name is read (strings holding
/// several, lists, objects; see `warden_address::addresses_in`); the action
/// is internal only when every one of them is under the organisation's
/// domains. A piece that is not a readable address makes it external (fail
/// closed). When none of the arguments is present, the tool's own
/// destination applies.
pub(crate) fn destination<'t>(
    tool: &'t ToolInfo,
    args: &serde_json::Map<String, Value>,
    organisation: &[Domain],
) -> (Destination, &'t [String], Option<String>) {
    for name in &tool.destination_arguments {
        let Some(value) = args.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        for address in warden_address::addresses_in(value) {
            let why = match address {
                Ok(a) if organisation.iter().any(|d| a.host().is_within(d)) => continue,
                Ok(a) => format!(
                    "`{name}` = {} is outside the organisation's domains",
                    quoted(&a.to_string())
                ),
                Err(e) => format!("`{name}`: {e}, so it counts as external"),
            };
            return (Destination::External, &tool.external_cleared, Some(why));
        }
    }
    // Every address is internal, or none is named (an absent optional
    // recipient): the tool sends where it always does.
    (tool.destination, &tool.cleared, None)
}

fn quoted(s: &str) -> String {
    let short: String = s.chars().take(64).collect();
    format!("{short:?}")
}

/// The first flow violation of an action, as a reason; `None` when the data
/// may go there.
pub(crate) fn violation(
    tool: &ToolInfo,
    destination: Destination,
    cleared: &[String],
    why: Option<&str>,
    classes: &[String],
    history: &SessionHistory,
) -> Option<String> {
    let place = match why {
        Some(why) => format!("{} destination ({why})", destination.as_str()),
        None => format!("{} destination", destination.as_str()),
    };
    let cleared_list = if cleared.is_empty() {
        "no classes".to_owned()
    } else {
        cleared.join(", ")
    };
    let carried: Vec<String> = classes
        .iter()
        .filter(|c| !is_cleared(cleared, c))
        .map(|c| format!("`{c}`"))
        .collect();
    if !carried.is_empty() {
        return Some(format!(
            "data flow: the arguments carry {}, and `{}` sends to an {place} cleared for {cleared_list}",
            carried.join(", "),
            tool.key
        ));
    }
    // Every uncleared class the session read, with the call it came from.
    let mut by_source: Vec<(&str, Vec<String>)> = Vec::new();
    for (class, source) in history
        .taint
        .iter()
        .filter(|(c, _)| !is_cleared(cleared, c))
    {
        match by_source.iter_mut().find(|(s, _)| *s == source.as_str()) {
            Some((_, list)) => list.push(format!("`{class}`")),
            None => by_source.push((source.as_str(), vec![format!("`{class}`")])),
        }
    }
    if by_source.is_empty() {
        return None;
    }
    let read: Vec<String> = by_source
        .iter()
        .map(|(source, list)| format!("{} from {source}", list.join(", ")))
        .collect();
    Some(format!(
        "data flow: this session read {}, and `{}` sends to an {place} cleared for {cleared_list}",
        read.join("; "),
        tool.key
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearing_a_class_clears_its_subclasses_only() {
        let cleared = vec!["pii".to_owned(), "financial.card".to_owned()];
        assert!(is_cleared(&cleared, "pii"));
        assert!(is_cleared(&cleared, "pii.contact"));
        assert!(!is_cleared(&cleared, "piixel"));
        assert!(is_cleared(&cleared, "financial.card"));
        assert!(!is_cleared(&cleared, "financial"));
        assert!(!is_cleared(&cleared, "financial.account"));
    }

}
