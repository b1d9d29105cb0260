//! Results reported back: `POST /v1/observations` (agents that use the
//! decision API) and the MCP proxies. A result is classified, its classes
//! taint the session, it is scanned for injected instructions, and an
//! observation record goes to the audit log. Also `GET /v1/grants`: what an
//! agent may see on one server (what `warden mcp wrap` filters `tools/list`
//! with).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use warden_audit::{AuditRecord, RecordKind};
use warden_mcp::{Grants, Observation};
use warden_policy::DecisionRequest;

use crate::auth::Authorization;
use crate::error::ApiError;
use crate::state::{Caller, Gateway};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObservationBody {
    /// What was observed: `tool` (the result of an allowed action, the
    /// default) or `user` (a message of the user's).
    #[serde(default)]
    source: Option<String>,
    /// For a tool result: the id of the allowed decision whose action
    /// produced the output.
    #[serde(default)]
    decision: Option<String>,
    /// For a user message: the session it belongs to.
    #[serde(default)]
    session: Option<String>,
    /// The output or message, any JSON.
    output: Value,
    /// Ignored beyond a check: the decision names its tool.
    #[serde(default)]
    tool: Option<String>,
}

pub(crate) async fn post_observation(
    State(gw): State<Arc<Gateway>>,
    auth: Authorization,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Observation>, ApiError> {
    let caller = gw.authenticate_agent(&auth)?;
    let req: ObservationBody = crate::error::json_body(body)?;
    let bad = |m: &str| ApiError::bad_request("bad_request", m.to_owned());
    let observation = match (req.source.as_deref(), req.decision, req.session) {
        (Some("user"), None, Some(session)) => {
            crate::decisions::check_session(&session)?;
            gw.observe_user(&caller, &session, &req.output).await?
        }
        (Some("user"), _, _) => {
            return Err(bad("a user message names its `session` and no `decision`"));
        }
        (None | Some("tool"), Some(decision), None) => {
            gw.observe(&caller, &decision, req.tool.as_deref(), &req.output)
                .await?
        }
        (None | Some("tool"), _, _) => {
            return Err(bad(
                "a tool result names the `decision` that allowed its action, and no `session` (the decision has one)",
            ));
        }
        (Some(other), _, _) => {
            return Err(ApiError::bad_request(
                "bad_request",
                format!("field `source` must be `tool` or `user`, not `{other}`"),
            ));
        }
    };
    Ok(Json(observation))
}

#[derive(Debug, Deserialize)]
pub(crate) struct GrantsQuery {
    server: String,
}

pub(crate) async fn get_grants(
    State(gw): State<Arc<Gateway>>,
    auth: Authorization,
    Query(q): Query<GrantsQuery>,
) -> Result<Json<Grants>, ApiError> {
    let caller = gw.authenticate_agent(&auth)?;
    Ok(Json(gw.grants(&caller, &q.server)?))
}

impl Gateway {
    /// `value` with the data of the obligations' classes rewritten; the
    /// members named in `skip` (destination arguments) are left as they are.
    pub(crate) fn redacted(
        &self,
        value: &Value,
        obligations: &[warden_policy::Redaction],
        skip: &[String],
    ) -> Value {
        use warden_classify::RedactionAction as A;
        let mut policy = warden_classify::RedactionPolicy::default().fallback(A::Keep);
        if let Some(key) = self.redaction_key.read().clone() {
            policy = policy.with_key(key);
        }
        for r in obligations {
            let action = match r.action {
                warden_policy::RedactAction::Mask => A::Mask,
                warden_policy::RedactAction::Hash => A::Hash,
                warden_policy::RedactAction::Tokenize => A::Tokenize,
            };
            policy = match policy.clone().rule(&r.class, action) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "a redaction rule was refused; masking everything");
                    warden_classify::RedactionPolicy::default()
                }
            };
        }
        let mut out = value.clone();
        let mut findings = self.classifier.classify_json(value);
        for name in skip {
            let path = format!("$.{name}");
            findings.retain(|f| {
                f.path != path
                    && !f.path.starts_with(&format!("{path}["))
                    && !f.path.starts_with(&format!("{path}."))
            });
        }
        warden_classify::redact_json(&mut out, &findings, &policy);
        out
    }

    /// What `caller` may see and do on `server`.
    pub(crate) fn grants(&self, caller: &Caller, server: &str) -> Result<Grants, ApiError> {
        let snapshot = self.engine.snapshot();
        if !snapshot.config.servers.contains_key(server) {
            return Err(ApiError::not_found(format!("no tool server `{server}`")));
        }
        let agent = snapshot
            .agents
            .get(caller.svid.spiffe_id.agent())
            .ok_or_else(|| ApiError::unauthorized("unknown_agent", "agent is not registered"))?;
        Ok(Grants {
            tools: agent.granted_tools(server).map(str::to_owned).collect(),
            client_features: agent.manifest.client_features.iter().cloned().collect(),
        })
    }

    /// Records a message of the user's: its values are the user's own
    /// (`context.provenance.<arg>` = `user`), so a later action may use them.
    pub(crate) async fn observe_user(
        &self,
        caller: &Arc<Caller>,
        session: &str,
        message: &Value,
    ) -> Result<Observation, ApiError> {
        let id = &caller.svid.spiffe_id;
        let request = DecisionRequest {
            agent: id.agent(),
            instance: id.instance(),
            session,
            server: "",
            tool: "",
            args: &Value::Null,
            classes: &[],
        };
        let kept = self
            .on_session(&request, |engine| engine.observe_user(&request, message))
            .await
            .map_err(|e| ApiError::unavailable(format!("{e}: the observation cannot be kept")))?;
        if !kept {
            return Err(ApiError::unavailable(
                "too many live sessions: the observation cannot be kept",
            ));
        }
        let classes: Vec<String> = self.classifier.classes(message).into_iter().collect();
        let mut record = AuditRecord::new(
            0,
            crate::now_millis(),
            RecordKind::Observation,
            "decision_api",
        );
        record.agent = Some(caller.spiffe.clone());
        record.classes = classes.clone();
        record.result_digest = Some(warden_audit::json_digest(message));
        record.note = Some(format!("user message in session `{session}`"));
        if let Err(e) = self.audit.append_deferred(record).await {
            tracing::error!(error = %e, "an observation could not be recorded");
        }
        Ok(Observation {
            classes,
            injection: Vec::new(),
            rewritten: None,
            withheld: None,
        })
    }

    /// Looks at the output of an allowed action: classifies it, taints the
    /// session, scans it for injected instructions, records it.
    pub(crate) async fn observe(
        &self,
        caller: &Arc<Caller>,
        decision: &str,
        tool: Option<&str>,
        output: &Value,
    ) -> Result<Observation, ApiError> {
        let recent = self
            .recent
            .get(decision)
            .filter(|r| r.caller.spiffe == caller.spiffe)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no recent decision `{decision}` of this agent (allowed actions are kept for observations while they are among the last 50,000)"
                ))
            })?;
        let action = &recent.action;
        if let Some(tool) = tool
            && tool != action.tool
        {
            return Err(ApiError::bad_request(
                "bad_request",
                format!(
                    "decision `{decision}` was about `{}`, not `{tool}`",
                    action.tool
                ),
            ));
        }
        if !action.allowed {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_allowed",
                format!(
                    "decision `{decision}` did not allow the action: there is no output to observe"
                ),
            ));
        }
        let of = ResultOf {
            session: &action.session,
            server: &action.server,
            tool: &action.tool,
            decision: Some(decision),
            via: action.via.as_str(),
            source: format!("{}/{} (decision {decision})", action.server, action.tool),
            note: None,
        };
        let (classes, injection, withheld) = self.record_result(caller, &of, output).await?;
        let rewritten =
            (!action.redact.is_empty()).then(|| self.redacted(output, &action.redact, &[]));
        Ok(Observation {
            classes,
            injection,
            rewritten,
            withheld,
        })
    }
}

/// What produced an output: where [`Gateway::record_result`] files it.
pub(crate) struct ResultOf<'a> {
    /// The session it taints.
    pub(crate) session: &'a str,
    /// The server (or provider) it came from.
    pub(crate) server: &'a str,
    /// The tool.
    pub(crate) tool: &'a str,
    /// The decision that allowed the action, if one did.
    pub(crate) decision: Option<&'a str>,
    /// The interception point, for the record.
    pub(crate) via: &'a str,
    /// How provenance names it (`server/tool (decision …)`).
    pub(crate) source: String,
    /// A note for the record besides the findings.
    pub(crate) note: Option<String>,
}

impl Gateway {
    /// Classifies `output`, taints the session with its classes, records its
    /// values for provenance, screens it for injected instructions and files
    /// an observation record. Returns the classes, the injection findings,
    /// and why the agent may not read it, if it may not.
    pub(crate) async fn record_result(
        &self,
        caller: &Arc<Caller>,
        of: &ResultOf<'_>,
        output: &Value,
    ) -> Result<(Vec<String>, Vec<String>, Option<String>), ApiError> {
        let findings = self.classifier.classify_json(output);
        let classes: Vec<String> = findings
            .iter()
            .map(|f| f.finding.class.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let sensitive: Vec<(String, String)> = findings
            .into_iter()
            .map(|f| (f.text, f.finding.class))
            .collect();
        // A manifest with `data.may_read` bounds what the agent may receive.
        let withheld = self
            .engine
            .snapshot()
            .agents
            .get(caller.svid.spiffe_id.agent())
            .map(|a| a.manifest.may_read.clone())
            .filter(|may| !may.is_empty())
            .and_then(|may| {
                let outside: Vec<String> = classes
                    .iter()
                    .filter(|c| !warden_policy::is_cleared(&may, c))
                    .map(|c| format!("`{c}`"))
                    .collect();
                (!outside.is_empty()).then(|| {
                    format!(
                        "the result carries {}, which `{}` may not read (data.may_read: {})",
                        outside.join(", "),
                        caller.svid.spiffe_id.agent(),
                        may.join(", ")
                    )
                })
            });
        let injection = crate::injection::scan(output);
        let kinds = (!injection.is_empty()).then(|| injection.join(", "));
        let id = &caller.svid.spiffe_id;
        let request = DecisionRequest {
            agent: id.agent(),
            instance: id.instance(),
            session: of.session,
            server: of.server,
            tool: of.tool,
            args: &Value::Null,
            classes: &[],
        };
        let observed = warden_policy::ObservedResult {
            output,
            classes: &classes,
            sensitive: &sensitive,
            injection: kinds.as_deref(),
            source: &of.source,
        };
        let kept = self
            .on_session(&request, |engine| {
                engine.observe_result(&request, &observed)
            })
            .await
            .map_err(|e| ApiError::unavailable(format!("{e}: the observation cannot be kept")))?;
        if !kept {
            return Err(ApiError::unavailable(
                "too many live sessions: the observation cannot be kept",
            ));
        }
        let mut record = AuditRecord::new(0, crate::now_millis(), RecordKind::Observation, of.via);
        record.decision_id = of.decision.map(str::to_owned);
        record.agent = Some(caller.spiffe.clone());
        record.server = Some(of.server.to_owned());
        record.tool = Some(of.tool.to_owned());
        record.classes = classes.clone();
        record.result_digest = Some(warden_audit::json_digest(output));
        let notes: Vec<String> = of
            .note
            .iter()
            .cloned()
            .chain(kinds.iter().map(|k| format!("injected instructions: {k}")))
            .chain(withheld.iter().map(|w| format!("withheld: {w}")))
            .collect();
        record.note = (!notes.is_empty()).then(|| notes.join("; "));
        // The observation rides with the next batch of records: the action
        // already ran, and its decision is durable.
        if let Err(e) = self.audit.append_deferred(record).await {
            tracing::error!(error = %e, "an observation could not be recorded");
        }
        Ok((classes, injection, withheld))
    }
}
