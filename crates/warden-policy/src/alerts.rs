//! `[alerts]` in `warden.toml`: alert rules and the webhooks alerts go to.
//!
//! ```toml
//! [[alerts.rules]]
//! name = "deny-burst"
//! when = "denials"          # actions | denials | new_class | new_destination | injection | rate
//! threshold = 5             # denials: more than this many in window_secs
//! window_secs = 60
//! severity = "high"         # low | medium | high | critical
//! action = "suspend"        # notify (default) | suspend
//! agents = ["invoice-bot"]  # default: every agent
//!
//! [[alerts.webhooks]]
//! name = "soc"
//! url = "http://127.0.0.1:9000/hook"
//! format = "generic"        # generic | slack | teams
//! secret_env = "WARDEN_WEBHOOK_SECRET"   # or secret_file = "keys/webhook.secret"
//! ```

use serde::Deserialize;

use crate::error::{Diagnostics, Location};

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    /// More than `threshold` actions of one agent (on `tools`, if given)
    /// within `window_secs`, whatever was decided: a burst.
    Actions,
    /// More than `threshold` denials of one agent within `window_secs`.
    Denials,
    /// A data class the agent's records never held before (after warm-up).
    NewClass,
    /// A send to an external host the agent never sent to (after warm-up).
    NewDestination,
    /// A tool result screened as carrying injected instructions.
    Injection,
    /// Actions in a minute above the agent's own baseline: more than the
    /// largest of mean + `sigma` × standard deviation of its per-minute
    /// counts, 3 × the mean, and the mean + 10 (after warm-up and five
    /// minutes of history).
    Rate,
}

impl AlertKind {
    /// The name used in `warden.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actions => "actions",
            Self::Denials => "denials",
            Self::NewClass => "new_class",
            Self::NewDestination => "new_destination",
            Self::Injection => "injection",
            Self::Rate => "rate",
        }
    }
}

/// How serious an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Worth a look today.
    Medium,
    /// Worth a look now.
    High,
    /// An incident.
    Critical,
}

impl Severity {
    /// The name used in `warden.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// What happens besides the notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    /// Only tell.
    Notify,
    /// Suspend the agent (the kill switch) until an admin resumes it.
    Suspend,
}

/// One alert rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRule {
    /// Its name, unique.
    pub name: String,
    /// What it watches.
    pub kind: AlertKind,
    /// How serious its alerts are.
    pub severity: Severity,
    /// What it does besides telling.
    pub action: AlertAction,
    /// Only these agents (empty: all).
    pub agents: Vec<String>,
    /// `actions`: only actions on these tools (`server/tool`; empty: all).
    pub tools: Vec<String>,
    /// `actions`, `denials`: more than this many.
    pub threshold: u64,
    /// `denials`: within this window; every rule: at most one alert per
    /// agent per window.
    pub window_secs: u64,
    /// `new_class`, `new_destination`, `rate`: actions of the agent seen
    /// before the rule may fire.
    pub warm_up: u64,
    /// `rate`: how many standard deviations above the mean.
    pub sigma: u32,
}

/// The shape of a webhook's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The alert as JSON.
    Generic,
    /// A Slack incoming webhook's `{"text": …}`.
    Slack,
    /// A Microsoft Teams incoming webhook's message card.
    Teams,
}

/// Where alerts go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its name.
    pub name: String,
    /// The URL posted to.
    pub url: url::Url,
    /// The body's shape.
    pub format: WebhookFormat,
    /// The environment variable holding the HMAC secret.
    pub secret_env: Option<String>,
    /// A file holding the HMAC secret (relative to `warden.toml`); with
    /// neither, deliveries are unsigned.
    pub secret_file: Option<std::path::PathBuf>,
}

/// `[alerts]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertsConfig {
    /// The rules.
    pub rules: Vec<AlertRule>,
    /// The webhooks.
    pub webhooks: Vec<Webhook>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlerts {
    #[serde(default)]
    rules: Vec<toml::Spanned<RawRule>>,
    #[serde(default)]
    webhooks: Vec<toml::Spanned<RawWebhook>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    when: String,
    threshold: Option<u64>,
    window_secs: Option<u64>,
    severity: Option<String>,
    action: Option<String>,
    #[serde(default)]
    agents: Vec<String>,
    #[serde(default)]
    tools: Vec<String>,
    warm_up: Option<u64>,
    sigma: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    name: String,
    url: String,
    format: Option<String>,
    secret_env: Option<String>,
    secret_file: Option<String>,
}

/// Lowers `[alerts]`, naming every mistake with its place.
pub(crate) fn lower(
    raw: RawAlerts,
    diags: &mut Diagnostics,
    at: &dyn Fn(usize) -> Location,
    base_dir: &std::path::Path,
) -> AlertsConfig {
    let mut out = AlertsConfig::default();
    for (i, spanned) in raw.rules.into_iter().enumerate() {
        let place = at(spanned.span().start);
        let r = spanned.into_inner();
        let field = |f: &str| Some(format!("alerts.rules[{i}].{f}"));
        let kind = match r.when.as_str() {
            "actions" => AlertKind::Actions,
            "denials" => AlertKind::Denials,
            "new_class" => AlertKind::NewClass,
            "new_destination" => AlertKind::NewDestination,
            "injection" => AlertKind::Injection,
            "rate" => AlertKind::Rate,
            other => {
                diags.push(place.clone(), field("when"), format!(
                    "unknown rule kind `{other}` (expected actions, denials, new_class, new_destination, injection or rate)"
                ));
                continue;
            }
        };
        let severity = match r.severity.as_deref().unwrap_or("medium") {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            other => {
                diags.push(
                    place.clone(),
                    field("severity"),
                    format!("unknown severity `{other}` (expected low, medium, high or critical)"),
                );
                continue;
            }
        };
        let action = match r.action.as_deref().unwrap_or("notify") {
            "notify" => AlertAction::Notify,
            "suspend" => AlertAction::Suspend,
            other => {
                diags.push(
                    place.clone(),
                    field("action"),
                    format!("unknown action `{other}` (expected notify or suspend)"),
                );
                continue;
            }
        };
        if r.name.is_empty() || out.rules.iter().any(|x| x.name == r.name) {
            diags.push(
                place.clone(),
                field("name"),
                format!("rule name `{}` is empty or used twice", r.name),
            );
            continue;
        }
        if kind == AlertKind::Denials && r.threshold.is_none() {
            diags.push(
                place.clone(),
                field("threshold"),
                "a `denials` rule needs `threshold`",
            );
            continue;
        }
        out.rules.push(AlertRule {
            name: r.name,
            kind,
            severity,
            action,
            agents: r.agents,
            tools: r.tools,
            threshold: r.threshold.unwrap_or(0),
            window_secs: r.window_secs.unwrap_or(60).max(1),
            warm_up: r.warm_up.unwrap_or(50),
            sigma: r.sigma.unwrap_or(4).max(1),
        });
    }
    for (i, spanned) in raw.webhooks.into_iter().enumerate() {
        let place = at(spanned.span().start);
        let w = spanned.into_inner();
        let field = |f: &str| Some(format!("alerts.webhooks[{i}].{f}"));
        let url = match url::Url::parse(&w.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                diags.push(
                    place.clone(),
                    field("url"),
                    format!("`{}` is not an http(s) URL", w.url),
                );
                continue;
            }
        };
        let format = match w.format.as_deref().unwrap_or("generic") {
            "generic" => WebhookFormat::Generic,
            "slack" => WebhookFormat::Slack,
            "teams" => WebhookFormat::Teams,
            other => {
                diags.push(
                    place.clone(),
                    field("format"),
                    format!("unknown format `{other}` (expected generic, slack or teams)"),
                );
                continue;
            }
        };
        out.webhooks.push(Webhook {
            name: w.name,
            url,
            format,
            secret_env: w.secret_env,
            secret_file: w.secret_file.map(|f| base_dir.join(f)),
        });
    }
    out
}
