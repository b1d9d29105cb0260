//! One module per page. Each takes the admin API's JSON (or a small view
//! struct where the page combines several sources) and returns the page's
//! body; [`crate::layout::page`] frames it.

pub mod activity;
pub mod agents;
pub mod approvals;
pub mod audit;
pub mod monitoring;
pub mod overview;
pub mod policies;

use crate::html::esc;

/// A `<dl>` of (term, already-rendered value) pairs.
pub fn facts(pairs: &[(&str, String)]) -> String {
    let mut out = String::from("<dl class=\"facts\">");
    for (term, value) in pairs {
        out.push_str(&format!("<dt>{}</dt><dd>{value}</dd>", esc(term)));
    }
    out.push_str("</dl>");
    out
}

/// A POST form with one button (and the CSRF field), for an action.
pub fn action_form(class: &str, action: &str, csrf: &str, label: &str, extra: &str) -> String {
    format!(
        "<form class=\"{class} inline\" method=\"post\" action=\"{}\">{}{extra}\
         <button type=\"submit\">{}</button></form>",
        esc(action),
        crate::html::csrf_field(csrf),
        esc(label)
    )
}
