//! What happens to an alert: containment first (a `suspend` rule suspends
//! the agent, a `revoke` rule revokes the instance or the agent, on every
//! node through the store), then delivery to every
//! webhook, each in its own task with bounded retries; an alert that cannot
//! be delivered lands in a bounded dead-letter list. Nothing here is on the
//! decision path: the monitor queues alerts after the records are
//! committed and answered.
//!
//! Each POST carries `X-Warden-Alert-Id` and, when the webhook has a secret,
//! `X-Warden-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;
use warden_monitor::Alert;
use warden_policy::{Webhook, WebhookFormat};

use crate::state::Gateway;

/// Delivery attempts per alert and webhook.
const ATTEMPTS: u32 = 6;
/// The first retry's delay; each next one doubles (0.5, 1, 2, 4, 8 s).
const FIRST_RETRY: Duration = Duration::from_millis(500);
/// One attempt's time limit.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Dead letters and recent alerts kept.
const KEPT: usize = 1000;

/// An alert a webhook never took.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DeadLetter {
    /// The webhook.
    pub(crate) webhook: String,
    /// The alert.
    pub(crate) alert: Alert,
    /// The last failure.
    pub(crate) error: String,
    /// Attempts made.
    pub(crate) attempts: u32,
}

/// Recent alerts and the dead letters, for `GET /v1/alerts`.
#[derive(Debug, Default)]
pub(crate) struct AlertLog {
    pub(crate) recent: Mutex<VecDeque<Alert>>,
    pub(crate) dead: Mutex<VecDeque<DeadLetter>>,
}

fn push_bounded<T>(list: &Mutex<VecDeque<T>>, item: T) {
    let mut list = list.lock();
    if list.len() == KEPT {
        list.pop_front();
    }
    list.push_back(item);
}

/// The body a webhook of `format` gets.
fn body(format: WebhookFormat, alert: &Alert) -> Value {
    let evidence: Vec<String> = alert
        .evidence
        .iter()
        .map(|e| format!("#{}", e.audit_index))
        .collect();
    let text = format!(
        "[{}] Warden alert `{}` on agent `{}`: {} (baseline: {}); action: {}; audit records {}",
        alert.severity,
        alert.rule,
        alert.agent,
        alert.observed,
        alert.baseline,
        alert.action,
        evidence.join(", ")
    );
    match format {
        WebhookFormat::Generic => json!({"type": "warden.alert", "alert": alert}),
        WebhookFormat::Slack => json!({"text": text}),
        WebhookFormat::Teams => json!({
            "@type": "MessageCard", "@context": "http://schema.org/extensions",
            "summary": format!("Warden alert {}", alert.rule),
            "themeColor": if alert.severity == "critical" || alert.severity == "high" { "C50F1F" } else { "F2C744" },
            "title": format!("Warden alert `{}` on `{}`", alert.rule, alert.agent),
            "text": text,
        }),
    }
}

/// Hex HMAC-SHA256 of `parts` (concatenated) under `secret`.
fn hmac_hex(secret: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        // INVARIANT: HMAC takes keys of any length; this arm is unreachable.
        Err(_) => return String::new(),
    };
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub(crate) fn signature(secret: &[u8], unix: u64, body: &[u8]) -> String {
    let t = unix.to_string();
    format!("t={t},v1={}", hmac_hex(secret, &[t.as_bytes(), b".", body]))
}

/// Delivers one alert to one webhook, retrying; a dead letter if it never
/// gets through.
async fn deliver(gw: Arc<Gateway>, webhook: Webhook, alert: Alert) {
    let body = serde_json::to_vec(&body(webhook.format, &alert)).unwrap_or_default();
    let secret = match (&webhook.secret_env, &webhook.secret_file) {
        (Some(name), _) => std::env::var(name).ok(),
        (None, Some(file)) => std::fs::read_to_string(file)
            .map(|s| s.trim().to_owned())
            .inspect_err(|e| tracing::error!(webhook = %webhook.name, error = %e, "the webhook's secret file cannot be read; sending unsigned"))
            .ok(),
        (None, None) => None,
    };
    let mut delay = FIRST_RETRY;
    let mut error = String::new();
    for attempt in 1..=ATTEMPTS {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut request = gw
            .http
            .post(webhook.url.clone())
            .timeout(ATTEMPT_TIMEOUT)
            .header("content-type", "application/json")
            .header("x-warden-alert-id", alert.id.clone());
        if let Some(secret) = &secret {
            request = request.header(
                "x-warden-signature",
                signature(secret.as_bytes(), unix, &body),
            );
        }
        match request.body(body.clone()).send().await {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                error = format!("answered {}", r.status());
                let retryable = r.status().is_server_error() || r.status().as_u16() == 429;
                if !retryable {
                    break;
                }
            }
            Err(e) => error = e.to_string(),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    tracing::warn!(webhook = %webhook.name, alert = %alert.id, %error, "an alert could not be delivered; it is in the dead-letter list");
    push_bounded(
        &gw.alert_log.dead,
        DeadLetter {
            webhook: webhook.name.clone(),
            alert,
            error,
            attempts: ATTEMPTS,
        },
    );
}

impl Gateway {
    /// Runs until the monitor is gone: contains and delivers every alert.
    pub(crate) async fn deliver_alerts(self: Arc<Self>) {
        let Some(mut alerts) = self.monitor.take_alerts() else {
            return;
        };
        while let Some(alert) = alerts.recv().await {
            tracing::warn!(rule = %alert.rule, agent = %alert.agent, message = %alert.message, "alert");
            match alert.action {
                "suspend" => self.contain(&alert).await,
                "revoke" => self.revoke_for(&alert).await,
                _ => {}
            }
            self.open_or_join_incident(&alert).await;
            push_bounded(&self.alert_log.recent, alert.clone());
            for webhook in &self.config.alerts.webhooks {
                tokio::spawn(deliver(Arc::clone(&self), webhook.clone(), alert.clone()));
            }
        }
    }

    /// Suspends the alert's agent (the kill switch), naming the alert.
    async fn contain(&self, alert: &Alert) {
        let record = warden_store::SuspensionRecord {
            agent: alert.agent.clone(),
            reason: format!("alert `{}`: {}", alert.rule, alert.observed),
            by: format!("alert rule `{}`", alert.rule),
            at: alert.time_ms,
        };
        let applied = match warden_store::SuspensionStore::suspend(&self.store, &record).await {
            Ok(()) => self.reload_identity().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = applied {
            tracing::error!(agent = %alert.agent, error = %e, "an alert could not suspend its agent");
        }
    }
}

impl Gateway {
    /// Revokes what the alert is about, as `warden agent revoke` does: the
    /// instance for a rule kept per instance, every instance of the agent
    /// for a rule kept per agent. The reason names the alert.
    async fn revoke_for(&self, alert: &Alert) {
        let applied = async {
            let agent =
                warden_types::AgentName::new(alert.agent.clone()).map_err(|e| e.to_string())?;
            let instance = match (alert.per, &alert.instance) {
                ("instance", Some(i)) => {
                    Some(warden_types::InstanceId::new(i.clone()).map_err(|e| e.to_string())?)
                }
                _ => None,
            };
            let reason = format!("alert `{}` ({}): {}", alert.rule, alert.id, alert.observed);
            warden_store::Store::add_revocation(
                &self.store,
                &agent,
                instance.as_ref(),
                &reason,
                &format!("alert rule `{}`", alert.rule),
                alert.time_ms,
            )
            .await
            .map_err(|e| e.to_string())?;
            // In force on this node now; the others follow the change feed.
            self.reload_identity().await.map_err(|e| e.to_string())
        };
        if let Err(e) = applied.await {
            tracing::error!(agent = %alert.agent, error = %e, "an alert could not revoke its agent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_time_dot_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", &[b"what do ya ", b"want for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            signature(b"Jefe", 17, b"{}"),
            format!("t=17,v1={}", hmac_hex(b"Jefe", &[b"17.{}"]))
        );
    }
}
