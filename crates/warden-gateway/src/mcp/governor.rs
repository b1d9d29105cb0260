//! The proxy's governor: decisions, grants and observations in process, the
//! same code the decision API runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use warden_mcp::{Action, Governor, Grants, Observation, ToolPage, Verdict, Withheld};
use warden_types::DecisionOutcome;

use crate::decisions::{self, Via};
use crate::state::{Caller, Gateway};

/// One agent instance's view of one server, in one Warden session.
#[derive(Debug)]
pub(crate) struct LocalGovernor {
    pub(crate) gw: Arc<Gateway>,
    pub(crate) caller: Arc<Caller>,
    pub(crate) server: String,
    pub(crate) session: String,
    pub(crate) via: Via,
}

fn verdict(answer: &crate::DecisionAnswer) -> Verdict {
    Verdict {
        id: Some(answer.id.clone()),
        decision: answer.decision.as_str().to_owned(),
        reasons: answer.reasons.clone(),
        classes: answer.classes.clone(),
        args: answer.args.clone(),
        withheld: answer.withheld,
        // The proxy puts Warden's span on the forwarded request itself.
        traceparent: None,
    }
}

impl Governor for LocalGovernor {
    async fn grants(&self) -> Result<Grants, String> {
        self.gw
            .grants(&self.caller, &self.server)
            .map_err(|e| e.message)
    }

    async fn screen_tools(&self, page: ToolPage<'_>) -> Result<Withheld, String> {
        self.gw
            .screen_tools(&self.caller, &self.server, page, self.via)
            .await
            .map_err(|e| e.message)
    }

    async fn decide(&self, action: Action<'_>) -> Verdict {
        // The trace of the MCP request being handled, when traces are exported.
        let trace = crate::telemetry::SCOPE.try_with(Clone::clone).ok();
        let request = decisions::Action {
            server: &self.server,
            tool: action.tool,
            args: action.args,
            session: &self.session,
            via: self.via,
            trace: trace.as_ref(),
        };
        let answer = match self.gw.decide_action(&self.caller, &request).await {
            Ok((answer, _)) => answer,
            Err(e) => return Verdict::unavailable(e.message),
        };
        if answer.decision != DecisionOutcome::NeedsApproval {
            return verdict(&answer);
        }
        // Wait for a human, bounded.
        let wait = Duration::from_secs(self.gw.config.mcp.approval_wait_secs);
        let started = Instant::now();
        tracing::info!(id = %answer.id, tool = action.tool, "waiting for an approver");
        match self
            .gw
            .await_decision(&self.caller, &answer.id, wait, self.via)
            .await
        {
            Ok((final_answer, _)) if final_answer.decision != DecisionOutcome::NeedsApproval => {
                verdict(&final_answer)
            }
            Ok((mut pending, _)) => {
                pending.decision = DecisionOutcome::Deny;
                pending.reasons.push(format!(
                    "no approver answered within {} s, so the call is denied",
                    started.elapsed().as_secs()
                ));
                verdict(&pending)
            }
            Err(e) => Verdict::unavailable(e.message),
        }
    }

    async fn observe(&self, decision: &str, tool: &str, result: &Value) -> Option<Observation> {
        match self
            .gw
            .observe(&self.caller, decision, Some(tool), result)
            .await
        {
            Ok(o) => Some(o),
            Err(e) => {
                tracing::warn!(error = %e.message, "a result could not be observed");
                None
            }
        }
    }
}
