//! `[alerts]` in `warden.toml`: alert rules and the webhooks alerts go to.
//!
//! ```toml
//! [[alerts.rules]]
//! name = "deny-burst"
//! when = "denials"          # actions | denials | new_class | new_destination | injection | rate
//!                           # | new_tool | tool_mix | denial_ratio | argument_shape | time_of_day
//! threshold = 5             # denials: more than this many in window_secs
//! window_secs = 60
//! severity = "high"         # low | medium | high | critical
//! action = "suspend"        # notify (default) | suspend | revoke
//! agents = ["invoice-bot"]  # default: every agent
//!
//! [[alerts.rules]]
//! name = "odd-denials"
//! when = "denial_ratio"     # the last `recent` actions' denials against the long-run ratio
//! per = "instance"          # agent (default) | instance: one baseline per SPIFFE ID
//! recent = 50
//! sigma = 5                 # as unlikely as a 5σ deviation (binomial tail ≤ 2.9e-7)
//! action = "revoke"         # revokes the instance (per agent: all its instances)
//!
//! [[alerts.rules]]
//! name = "night-work"
//! when = "time_of_day"      # an hour of the day the agent was never active in
//! warm_up_days = 7
//! utc_offset = "+01:00"     # the hours' clock (default UTC)
//!
//! [[alerts.webhooks]]
//! name = "soc"
//! url = "http://127.0.0.1:9000/hook"
//! format = "generic"        # generic | slack | teams
//! secret_env = "WARDEN_WEBHOOK_SECRET"   # or secret_file = "keys/webhook.secret"
//! ```

mod lower;

pub(crate) use lower::{RawAlerts, lower};

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
    /// A tool the agent never called before (after warm-up; tools are
    /// seeded from the store's activity).
    NewTool,
    /// A tool taking a large share of the agent's recent actions that its
    /// history makes improbable: at least `threshold` of the last `recent`
    /// actions (default a fifth of them), and the binomial probability of
    /// that many or more, given the tool's long-run share (Laplace-smoothed,
    /// from the actions before the window), at most that of a `sigma`-σ
    /// normal deviation. After `warm_up` actions before the window.
    ToolMix,
    /// A denial ratio over the last `recent` actions far above the agent's
    /// long-run ratio: at least `threshold` denials (default 5), and their
    /// binomial tail probability given the long-run ratio
    /// (Laplace-smoothed) at most that of a `sigma`-σ normal deviation.
    /// After `warm_up` actions before the window.
    DenialRatio,
    /// A tool called with an argument shape never seen for it: a field, a
    /// value type for a field, or a data class in a field (after `warm_up`
    /// calls of that tool).
    ArgumentShape,
    /// An action in an hour of the day (on the `utc_offset` clock) in which
    /// the agent held at most `threshold` actions (default 0: never), after
    /// `warm_up` actions over at least `warm_up_days` days.
    TimeOfDay,
    /// Actions in a minute above the agent's own baseline: more than the
    /// largest of mean + `sigma` × standard deviation of its per-minute
    /// counts, 3 × the mean, and the mean + 10, and a Poisson tail
    /// probability at the mean + one deviation as small as a `sigma`-σ
    /// deviation's (after warm-up and five minutes of history).
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
            Self::NewTool => "new_tool",
            Self::ToolMix => "tool_mix",
            Self::DenialRatio => "denial_ratio",
            Self::ArgumentShape => "argument_shape",
            Self::TimeOfDay => "time_of_day",
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
    /// Revoke the instance the alert is about (a rule kept per agent: all
    /// the agent's instances), as `warden agent revoke` does.
    Revoke,
}

impl AlertAction {
    /// The name used in `warden.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notify => "notify",
            Self::Suspend => "suspend",
            Self::Revoke => "revoke",
        }
    }
}

/// Whose history a rule's statistic is kept over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertScope {
    /// All the agent's instances together.
    #[default]
    Agent,
    /// Each instance (SPIFFE ID) on its own.
    Instance,
}

impl AlertScope {
    /// The name used in `warden.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Instance => "instance",
        }
    }
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
    /// Whose history its statistic is kept over.
    pub per: AlertScope,
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
    /// `rate`: how many standard deviations above the mean (default 4);
    /// `tool_mix`, `denial_ratio`: a probability as small as a `sigma`-σ
    /// deviation's (default 5).
    pub sigma: u32,
    /// `tool_mix`, `denial_ratio`: how many of the latest actions are
    /// "recent" (10 to 1000).
    pub recent: u32,
    /// `time_of_day`: days of history before the rule may fire.
    pub warm_up_days: u32,
    /// `time_of_day`: the clock's offset from UTC, in minutes (a multiple
    /// of 15).
    pub utc_offset_minutes: i32,
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

#[cfg(test)]
mod tests;
