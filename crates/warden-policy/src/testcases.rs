//! `warden policy test CASES.yaml`: policy tests as users write them in CI.

use serde::Deserialize;
use serde_json::Value;
use warden_types::{AgentName, DecisionOutcome, InstanceId};

use crate::context::SessionHistory;
use crate::error::{Diagnostic, Location, PolicyError};
use crate::evaluate::DecisionRequest;
use crate::snapshot::Snapshot;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCases {
    cases: Vec<RawCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: String,
    agent: String,
    server: String,
    tool: String,
    #[serde(default)]
    args: Value,
    #[serde(default)]
    session: Vec<String>,
    /// Classes the session has read before (its taint).
    #[serde(default)]
    taint: Vec<String>,
    /// Whether an earlier result in the session was flagged for injected
    /// instructions.
    #[serde(default)]
    flagged: bool,
    /// Classes found in the arguments (as the gateway's classifier would).
    #[serde(default)]
    classes: Vec<String>,
    /// Tool results observed earlier in the session, for provenance.
    #[serde(default)]
    results: Vec<RawResult>,
    /// User messages of the session: values in them are the user's.
    #[serde(default)]
    user: Vec<Value>,
    expect: DecisionOutcome,
    reason: Option<String>,
}

/// A tool result a case's session observed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResult {
    /// The call it came from (`server/tool`).
    from: String,
    /// What it held.
    output: Value,
    /// Whether it was screened as carrying injected instructions.
    #[serde(default)]
    injected: bool,
}

/// A file of policy test cases.
#[derive(Debug)]
pub struct TestCases {
    file: String,
    cases: Vec<RawCase>,
}

/// One case that did not decide as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFailure {
    /// The case's name.
    pub name: String,
    /// What was expected.
    pub expected: String,
    /// What Warden decided.
    pub got: DecisionOutcome,
    /// Warden's reasons.
    pub reasons: Vec<String>,
}

/// The outcome of a test run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestReport {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed, with reasons.
    pub failures: Vec<CaseFailure>,
}

impl TestCases {
    /// Parses a cases file:
    ///
    /// ```yaml
    /// cases:
    ///   - name: small payment is allowed
    ///     agent: invoice-bot
    ///     server: accounting
    ///     tool: schedule_payment
    ///     args: { amount: 98.7, iban: DE89370400440532013000 }
    ///     session: [accounting/read_invoice]   # earlier allowed calls, if any
    ///     expect: allow                        # allow | deny | needs_approval
    ///     reason: "..."                        # optional: a substring of a reason
    /// ```
    pub fn parse(file: &str, text: &str) -> Result<TestCases, PolicyError> {
        let raw: RawCases = serde_yaml_ng::from_str(text).map_err(|e| {
            let loc = e.location().map_or(Location::new(file, 0, 0), |l| {
                Location::new(file, l.line(), l.column())
            });
            PolicyError::Invalid(vec![Diagnostic::new(loc, None, e.to_string())])
        })?;
        Ok(TestCases {
            file: file.to_owned(),
            cases: raw.cases,
        })
    }

    /// Runs every case against `snapshot`.
    pub fn run(&self, snapshot: &Snapshot) -> TestReport {
        let mut report = TestReport::default();
        let Ok(instance) = InstanceId::new("policy-test") else {
            return report;
        };
        let empty = Value::Object(serde_json::Map::new());
        for case in &self.cases {
            let mut history = SessionHistory {
                actions: case.session.len() as u64,
                tools: case.session.iter().cloned().collect(),
                ..SessionHistory::default()
            };
            history.taint(&case.taint, "an earlier call (policy test)");
            if case.flagged {
                history.flagged = Some("an earlier call (policy test)".to_owned());
            }
            for (i, r) in case.results.iter().enumerate() {
                let source = format!("{} (result {} of the policy test)", r.from, i + 1);
                history
                    .values
                    .observe_result(&r.output, &[], r.injected, &source);
                if r.injected && history.flagged.is_none() {
                    history.flagged = Some(source);
                }
            }
            for message in &case.user {
                history.values.observe_user(message);
            }
            let decision = match AgentName::new(case.agent.clone()) {
                Ok(agent) => snapshot.evaluate(
                    &DecisionRequest {
                        agent: &agent,
                        instance: &instance,
                        session: "policy-test",
                        server: &case.server,
                        tool: &case.tool,
                        args: if case.args.is_null() {
                            &empty
                        } else {
                            &case.args
                        },
                        classes: &case.classes,
                    },
                    &history,
                ),
                Err(e) => crate::evaluate::Decision::deny(&snapshot.digest, e.to_string()),
            };
            let reason_ok = case
                .reason
                .as_ref()
                .is_none_or(|r| decision.reasons.iter().any(|x| x.contains(r.as_str())));
            if decision.outcome == case.expect && reason_ok {
                report.passed += 1;
            } else {
                let expected = match &case.reason {
                    Some(r) => format!("{} with a reason containing `{r}`", case.expect),
                    None => case.expect.to_string(),
                };
                report.failures.push(CaseFailure {
                    name: case.name.clone(),
                    expected,
                    got: decision.outcome,
                    reasons: decision.reasons,
                });
            }
        }
        report
    }

    /// The file the cases came from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The number of cases.
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Whether there are no cases.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }
}
