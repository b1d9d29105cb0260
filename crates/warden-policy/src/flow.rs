//! Flow rules: data goes only to destinations cleared for its class. Checked
//! after the policies allow an action, over the classes found in its
//! arguments and the session's taint (classes read earlier in the session,
//! whatever the agent did with them since).

use serde_json::Value;

use warden_address::Domain;

use crate::config::Destination;
use crate::context::Histories;
use crate::provenance::Carried;
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

/// Whether an operation can carry data out, so that session-wide taint
/// applies to it: a read or a delete carries nothing but its own arguments.
pub(crate) fn carries_data_out(operation: warden_types::Operation) -> bool {
    use warden_types::Operation as O;
    matches!(operation, O::Send | O::Write | O::Execute)
}

/// What the flow rules judge of one action.
pub(crate) struct FlowCheck<'a> {
    pub(crate) tool: &'a ToolInfo,
    pub(crate) destination: Destination,
    pub(crate) cleared: &'a [String],
    pub(crate) why: Option<&'a str>,
    /// Classes the classifier found in the arguments.
    pub(crate) classes: &'a [String],
    /// Sensitive values read earlier that the arguments carry.
    pub(crate) carried: &'a [Carried],
    /// Which classes' session-wide taint is enforced (`None`: all).
    pub(crate) session_taint: Option<&'a [String]>,
}

/// The first flow violation of an action, as a reason; `None` when the data
/// may go there.
pub(crate) fn violation(check: &FlowCheck<'_>, histories: &Histories<'_>) -> Option<String> {
    let FlowCheck {
        tool,
        destination,
        cleared,
        why,
        classes,
        carried,
        session_taint,
    } = *check;
    let place = match why {
        Some(why) => format!("{} destination ({why})", destination.as_str()),
        None => format!("{} destination", destination.as_str()),
    };
    let cleared_list = if cleared.is_empty() {
        "no classes".to_owned()
    } else {
        cleared.join(", ")
    };
    let in_args: Vec<String> = classes
        .iter()
        .filter(|c| !is_cleared(cleared, c))
        .map(|c| format!("`{c}`"))
        .collect();
    if !in_args.is_empty() {
        return Some(format!(
            "data flow: the arguments carry {}, and `{}` sends to an {place} cleared for {cleared_list}",
            in_args.join(", "),
            tool.key
        ));
    }
    // Lineage by value: a sensitive value read earlier, carried as it was.
    let by_value: Vec<String> = carried
        .iter()
        .filter(|c| !is_cleared(cleared, &c.class))
        .map(|c| {
            format!(
                "`{}` carries `{}` read from {}",
                c.argument, c.class, c.source
            )
        })
        .collect();
    if !by_value.is_empty() {
        return Some(format!(
            "data flow: {}, and `{}` sends to an {place} cleared for {cleared_list}",
            by_value.join("; "),
            tool.key
        ));
    }
    // Session-wide taint, for data the agent may have paraphrased: only for
    // operations that can carry data out, and only the chosen classes.
    if !carries_data_out(tool.operation) {
        return None;
    }
    let mut by_source: Vec<(&str, Vec<String>)> = Vec::new();
    let taint = histories.taint();
    for (class, source) in taint.iter().filter(|(c, _)| {
        !is_cleared(cleared, c) && session_taint.is_none_or(|chosen| is_cleared(chosen, c))
    }) {
        match by_source.iter_mut().find(|(s, _)| s == source) {
            Some((_, list)) => list.push(format!("`{class}`")),
            None => by_source.push((source, vec![format!("`{class}`")])),
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
