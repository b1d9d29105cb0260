//! The governor of `warden mcp wrap`: it asks the running gateway, so that
//! budgets, session taint and the audit log stay central. When the gateway
//! cannot be reached, every action is denied.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::governor::{Action, Governor, Grants, Observation, ToolPage, Verdict, Withheld};

/// How long fetched grants are reused before asking again.
const GRANTS_TTL: Duration = Duration::from_secs(2);

/// Asks the gateway at `base` over its data plane.
#[derive(Debug)]
pub struct RemoteGovernor {
    client: reqwest::Client,
    base: String,
    server: String,
    session: String,
    token_file: PathBuf,
    approval_wait: Duration,
    grants: Mutex<Option<(Instant, Grants)>>,
}

#[derive(Debug, Deserialize)]
struct Answer {
    id: String,
    decision: String,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    classes: Vec<String>,
    #[serde(default)]
    args: Option<Value>,
    #[serde(default)]
    withheld: bool,
}

/// The gateway's answer to a screened tool list.
#[derive(Debug, Deserialize)]
struct Screened {
    withheld: Withheld,
}

impl RemoteGovernor {
    /// A governor for `server`, naming `session` in every decision, reading
    /// the agent's JWT-SVID from `token_file` for each request (so a rotated
    /// token is picked up).
    pub fn new(
        base: &str,
        server: &str,
        session: &str,
        token_file: PathBuf,
        approval_wait: Duration,
    ) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(90))
                .build()
                .unwrap_or_default(),
            base: base.trim_end_matches('/').to_owned(),
            server: server.to_owned(),
            session: session.to_owned(),
            token_file,
            approval_wait,
            grants: Mutex::new(None),
        }
    }

    fn token(&self) -> Result<String, String> {
        std::fs::read_to_string(&self.token_file)
            .map(|t| t.trim().to_owned())
            .map_err(|e| {
                format!(
                    "cannot read the token file {}: {e}",
                    self.token_file.display()
                )
            })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, String> {
        self.send_traced(request).await.map(|(body, _)| body)
    }

    /// Sends, and returns the answer with its `traceparent` header (the
    /// decision's span, when the gateway traces).
    async fn send_traced(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(Value, Option<String>), String> {
        let token = self.token()?;
        let response = request
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| format!("the gateway at {} is unreachable: {e}", self.base))?;
        let status = response.status();
        let traceparent = response
            .headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("the gateway answered {status} with no JSON: {e}"))?;
        if !status.is_success() {
            let message = body
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(format!("the gateway refused ({status}): {message}"));
        }
        Ok((body, traceparent))
    }

    async fn wait_for_approval(&self, id: &str) -> Result<Answer, String> {
        let deadline = Instant::now() + self.approval_wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = left.as_secs().clamp(0, 60);
            let url = format!("{}/v1/decisions/{id}?wait={wait}", self.base);
            let body = self.send(self.client.get(url)).await?;
            let answer: Answer = serde_json::from_value(body)
                .map_err(|e| format!("the gateway's answer is not a decision: {e}"))?;
            if answer.decision != "needs_approval" {
                return Ok(answer);
            }
            if Instant::now() >= deadline {
                let mut answer = answer;
                answer.decision = "deny".into();
                answer.reasons.push(format!(
                    "no approver answered within {} s, so the call is denied",
                    self.approval_wait.as_secs()
                ));
                return Ok(answer);
            }
        }
    }
}

impl Governor for RemoteGovernor {
    async fn grants(&self) -> Result<Grants, String> {
        if let Some((at, grants)) = self.grants.lock().as_ref()
            && at.elapsed() < GRANTS_TTL
        {
            return Ok(grants.clone());
        }
        // Server names are lowercase letters, digits, `-` and `_`: no escaping.
        let url = format!("{}/v1/grants?server={}", self.base, self.server);
        let body = self.send(self.client.get(url)).await?;
        let grants: Grants = serde_json::from_value(body)
            .map_err(|e| format!("the gateway's grants are malformed: {e}"))?;
        *self.grants.lock() = Some((Instant::now(), grants.clone()));
        Ok(grants)
    }

    async fn screen_tools(&self, page: ToolPage<'_>) -> Result<Withheld, String> {
        let url = format!("{}/v1/tools/screen", self.base);
        let body = json!({
            "server": self.server,
            "tools": page.tools,
            "last": page.last,
            "client_features": page.client_features,
            "via": "mcp_stdio",
        });
        let answer = self.send(self.client.post(url).json(&body)).await?;
        serde_json::from_value::<Screened>(answer)
            .map(|s| s.withheld)
            .map_err(|e| format!("the gateway's screening answer is malformed: {e}"))
    }

    async fn decide(&self, action: Action<'_>) -> Verdict {
        let url = format!("{}/v1/decisions", self.base);
        let body = json!({
            "server": self.server,
            "tool": action.tool,
            "args": action.args,
            "session": self.session,
            "via": "mcp_stdio",
        });
        let mut request = self.client.post(url).json(&body);
        // The client's trace context goes on to the gateway, which answers
        // with the decision's span (when it traces).
        if let Some(value) = action
            .traceparent
            .and_then(|t| reqwest::header::HeaderValue::from_str(t).ok())
        {
            request = request.header("traceparent", value);
        }
        let mut traceparent = None;
        let answer = match self.send_traced(request).await {
            Ok((v, t)) => {
                traceparent = t;
                serde_json::from_value::<Answer>(v)
                    .map_err(|e| format!("the gateway's answer is not a decision: {e}"))
            }
            Err(e) => Err(e),
        };
        let answer = match answer {
            Ok(a) if a.decision == "needs_approval" => {
                tracing::info!(id = %a.id, tool = action.tool, "waiting for an approver");
                self.wait_for_approval(&a.id).await
            }
            other => other,
        };
        match answer {
            Ok(a) => Verdict {
                id: Some(a.id),
                decision: a.decision,
                reasons: a.reasons,
                classes: a.classes,
                args: a.args,
                withheld: a.withheld,
                traceparent,
            },
            Err(e) => {
                tracing::error!(error = %e, "no decision; denying");
                Verdict::unavailable(e)
            }
        }
    }

    async fn observe(&self, decision: &str, tool: &str, result: &Value) -> Option<Observation> {
        let url = format!("{}/v1/observations", self.base);
        let body = json!({"decision": decision, "tool": tool, "output": result});
        match self.send(self.client.post(url).json(&body)).await {
            Ok(v) => serde_json::from_value(v).ok(),
            Err(e) => {
                tracing::warn!(error = %e, "the result could not be reported to the gateway");
                None
            }
        }
    }
}
