//! `[alerts]` as written, and its lowering with every mistake named.

use serde::Deserialize;

use super::{
    AlertAction, AlertKind, AlertRule, AlertScope, AlertsConfig, Severity, Webhook, WebhookFormat,
};
use crate::error::{Diagnostics, Location};

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
    per: Option<String>,
    recent: Option<u32>,
    warm_up_days: Option<u32>,
    utc_offset: Option<String>,
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
        let mut problem = |f: &str, message: String| {
            diags.push(
                place.clone(),
                Some(format!("alerts.rules[{i}].{f}")),
                message,
            );
        };
        if r.name.is_empty() || out.rules.iter().any(|x| x.name == r.name) {
            problem(
                "name",
                format!("rule name `{}` is empty or used twice", r.name),
            );
            continue;
        }
        if let Some(rule) = lower_rule(r, &mut problem) {
            out.rules.push(rule);
        }
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

/// `+HH:MM` or `-HH:MM` (at most 14 hours, in quarter hours as every
/// offset in use is) in minutes.
pub(super) fn utc_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    let total = hours * 60 + minutes;
    (total <= 14 * 60 && minutes < 60 && total % 15 == 0).then_some(sign * total)
}

/// Lowers one rule; `problem(field, message)` reports each mistake.
fn lower_rule(r: RawRule, problem: &mut dyn FnMut(&str, String)) -> Option<AlertRule> {
    let kind = match r.when.as_str() {
        "actions" => AlertKind::Actions,
        "denials" => AlertKind::Denials,
        "new_class" => AlertKind::NewClass,
        "new_destination" => AlertKind::NewDestination,
        "injection" => AlertKind::Injection,
        "rate" => AlertKind::Rate,
        "new_tool" => AlertKind::NewTool,
        "tool_mix" => AlertKind::ToolMix,
        "denial_ratio" => AlertKind::DenialRatio,
        "argument_shape" => AlertKind::ArgumentShape,
        "time_of_day" => AlertKind::TimeOfDay,
        other => {
            problem(
                "when",
                format!(
                    "unknown rule kind `{other}` (expected actions, denials, new_class, new_destination, injection, rate, new_tool, tool_mix, denial_ratio, argument_shape or time_of_day)"
                ),
            );
            return None;
        }
    };
    let severity = match r.severity.as_deref().unwrap_or("medium") {
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        other => {
            problem(
                "severity",
                format!("unknown severity `{other}` (expected low, medium, high or critical)"),
            );
            return None;
        }
    };
    let action = match r.action.as_deref().unwrap_or("notify") {
        "notify" => AlertAction::Notify,
        "suspend" => AlertAction::Suspend,
        "revoke" => AlertAction::Revoke,
        other => {
            problem(
                "action",
                format!("unknown action `{other}` (expected notify, suspend or revoke)"),
            );
            return None;
        }
    };
    let per = match r.per.as_deref().unwrap_or("agent") {
        "agent" => AlertScope::Agent,
        "instance" => AlertScope::Instance,
        other => {
            problem(
                "per",
                format!("unknown scope `{other}` (expected agent or instance)"),
            );
            return None;
        }
    };
    if kind == AlertKind::Denials && r.threshold.is_none() {
        problem("threshold", "a `denials` rule needs `threshold`".to_owned());
        return None;
    }
    let recent = r.recent.unwrap_or(50);
    if !(10..=1000).contains(&recent) {
        problem(
            "recent",
            format!("`recent` is {recent}: it must be between 10 and 1000 actions"),
        );
        return None;
    }
    let utc_offset_minutes = match r.utc_offset.as_deref().map(utc_offset) {
        None => 0,
        Some(Some(minutes)) => minutes,
        Some(None) => {
            problem(
                "utc_offset",
                format!(
                    "`{}` is not an offset from UTC like `+01:00` or `-05:30` (quarter hours, at most 14 hours)",
                    r.utc_offset.unwrap_or_default()
                ),
            );
            return None;
        }
    };
    let threshold = r.threshold.unwrap_or(match kind {
        AlertKind::ToolMix => u64::from(recent / 5),
        AlertKind::DenialRatio => 5,
        _ => 0,
    });
    if kind == AlertKind::ToolMix && (threshold == 0 || threshold > u64::from(recent)) {
        problem(
            "threshold",
            format!(
                "a `tool_mix` threshold is the least count of the tool in the last {recent} actions: 1 to {recent}, not {threshold}"
            ),
        );
        return None;
    }
    Some(AlertRule {
        name: r.name,
        kind,
        severity,
        action,
        per,
        agents: r.agents,
        tools: r.tools,
        threshold,
        window_secs: r.window_secs.unwrap_or(60).max(1),
        warm_up: r.warm_up.unwrap_or(50),
        sigma: r
            .sigma
            .unwrap_or(match kind {
                AlertKind::ToolMix | AlertKind::DenialRatio => 5,
                _ => 4,
            })
            .max(1),
        recent,
        warm_up_days: r.warm_up_days.unwrap_or(7),
        utc_offset_minutes,
    })
}
