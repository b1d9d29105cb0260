//! The frame of every page: head, skip link, navigation, who is signed in.

use crate::Viewer;
use crate::html::{csrf_field, esc};

/// The pages in the navigation: (key, title, path).
pub const NAV: [(&str, &str, &str); 8] = [
    ("overview", "Overview", "/console/"),
    ("agents", "Agents", "/console/agents"),
    ("activity", "Activity", "/console/activity"),
    ("approvals", "Approvals", "/console/approvals"),
    ("alerts", "Alerts", "/console/alerts"),
    ("incidents", "Incidents", "/console/incidents"),
    ("audit", "Audit", "/console/audit"),
    ("policies", "Policies", "/console/policies"),
];

fn head(title: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{} · Warden</title>\
         <link rel=\"stylesheet\" href=\"/console/static/console.css\">\
         <script src=\"/console/static/console.js\" defer></script>",
        esc(title)
    )
}

/// A whole page for `viewer`: `body` (already rendered) under the
/// navigation, with `active` marked as the current page.
pub fn page(viewer: &Viewer, title: &str, active: &str, body: &str) -> String {
    let mut nav = String::new();
    let section = match active {
        "agent" => "agents",
        "record" => "activity",
        "incident" | "report" => "incidents",
        other => other,
    };
    for (key, label, path) in NAV {
        let current = if key == section {
            " aria-current=\"page\""
        } else {
            ""
        };
        nav.push_str(&format!("<li><a href=\"{path}\"{current}>{label}</a></li>"));
    }
    format!(
        "{head}<meta name=\"csrf\" content=\"{csrf}\"></head>\
         <body data-role=\"{role}\" data-user=\"{user}\" data-page=\"{active}\">\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header class=\"top\"><a class=\"brand\" href=\"/console/\">Warden</a>\
         <nav id=\"nav\" aria-label=\"Console\"><ul>{nav}</ul></nav>\
         <form class=\"who\" method=\"post\" action=\"/console/logout\">{field}\
         <span>{user} <span class=\"role\">({role})</span></span>\
         <button type=\"submit\">Sign out</button></form></header>\
         <main id=\"main\" tabindex=\"-1\"><h1>{title}</h1>{body}</main>\
         <div id=\"live-status\" class=\"live\" role=\"status\" aria-live=\"polite\"></div>\
         </body></html>",
        head = head(title),
        csrf = esc(&viewer.csrf),
        role = viewer.role.as_str(),
        user = esc(&viewer.name),
        field = csrf_field(&viewer.csrf),
        title = esc(title),
    )
}

/// The sign-in page, with an error when the last attempt failed.
pub fn login_page(error: Option<&str>) -> String {
    let error = error.map_or(String::new(), |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))
    });
    format!(
        "{head}</head><body data-page=\"login\"><main id=\"main\" class=\"login\">\
         <h1>Warden console</h1>{error}\
         <form id=\"login\" method=\"post\" action=\"/console/login\">\
         <label for=\"token\">Admin token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\
         <p class=\"hint\">The token <code>warden serve</code> printed at first start, or one from \
         <code>warden admin-token create</code>. It stays on the server.</p>\
         <button type=\"submit\">Sign in</button></form></main></body></html>",
        head = head("Sign in")
    )
}

/// A page that says what went wrong (an admin API error, a missing item).
pub fn error_page(viewer: &Viewer, status: u16, message: &str) -> String {
    page(
        viewer,
        &format!("Error {status}"),
        "",
        &format!("<p class=\"error\" role=\"alert\">{}</p>", esc(message)),
    )
}
