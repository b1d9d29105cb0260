//! Flow rules: data goes only to destinations cleared for its class. Checked
//! after the policies allow an action, over the classes found in its
//! arguments and the session's taint (classes read earlier in the session,
//! whatever the agent did with them since).

use serde_json::Value;

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

/// The domain an argument sends to: an e-mail address's domain, a URL's
/// host, or the value itself when it looks like a host name.
fn domain_of(value: &str) -> Option<String> {
    let value = value.trim();
    if let Some((_, domain)) = value.rsplit_once('@')
        && !value.contains("://")
    {
        return Some(domain.trim_end_matches('>').to_ascii_lowercase());
    }
    if value.contains("://") {
        return crate::context::url_host(value);
    }
    (!value.is_empty() && !value.contains(char::is_whitespace))
        .then(|| value.trim_end_matches('.').to_ascii_lowercase())
}

fn internal(domain: &str, organisation: &[String]) -> bool {
    organisation.iter().any(|d| {
        domain == d
            || domain
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

/// Where an action sends its data, and the classes cleared there.
pub(crate) fn destination<'t>(
    tool: &'t ToolInfo,
    args: &serde_json::Map<String, Value>,
    organisation: &[String],
) -> (Destination, &'t [String], Option<String>) {
    let Some(name) = &tool.destination_argument else {
        return (tool.destination, &tool.cleared, None);
    };
    // Every address must be internal; anything unreadable is external.
    let values: Vec<&str> = match args.get(name) {
        Some(Value::String(s)) => s.split([',', ';']).collect(),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let outside = values
        .iter()
        .find(|v| !domain_of(v).is_some_and(|d| internal(&d, organisation)));
    match (values.is_empty(), outside) {
        (false, None) => (Destination::Internal, &tool.cleared, None),
        (_, Some(v)) => (
            Destination::External,
            &tool.external_cleared,
            Some(format!(
                "`{name}` = {v:?} is outside the organisation's domains"
            )),
        ),
        (true, None) => (
            Destination::External,
            &tool.external_cleared,
            Some(format!(
                "`{name}` is absent, so the destination counts as external"
            )),
        ),
    }
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

    #[test]
    fn domains_of_addresses_and_urls() {
        let org = vec!["example.com".to_owned()];
        for (v, inside) in [
            ("jane@example.com", true),
            ("Jane Doe <jane@mail.example.com>", true),
            ("jane@example.com.evil.test", false),
            ("jane@notexample.com", false),
            ("https://wiki.example.com/page", true),
            ("https://example.com@evil.test/", false),
            ("", false),
        ] {
            let got = domain_of(v).is_some_and(|d| internal(&d, &org));
            assert_eq!(got, inside, "{v}");
        }
    }
}
