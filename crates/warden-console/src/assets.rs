//! The console's static files, compiled into the binary (no CDN, no build
//! step): the stylesheet and the one script.

/// `console.css`.
pub const STYLE: &str = include_str!("../assets/console.css");
/// `console.js`.
pub const SCRIPT: &str = include_str!("../assets/console.js");

/// The asset at `name` and its content type.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "console.css" => Some((STYLE, "text/css; charset=utf-8")),
        "console.js" => Some((SCRIPT, "text/javascript; charset=utf-8")),
        _ => None,
    }
}
