//! The one mapping from this crate's errors to gRPC statuses. The details of
//! a failed issuance go to the log, not to the workload.

use tonic::Status;

use crate::error::IssueError;

/// The status a workload sees when the issuer fails with `error`.
pub(crate) fn from_issue(error: &IssueError) -> Status {
    match error {
        IssueError::Unsupported { what } => {
            Status::unimplemented(format!("this server does not issue {what}"))
        }
        IssueError::InvalidToken { reason } => {
            Status::invalid_argument(format!("invalid JWT-SVID: {reason}"))
        }
        IssueError::Failed { what, .. } => {
            tracing::warn!(%error, "workload API: issuing failed");
            Status::unavailable(format!("could not issue {what}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn issue_errors_map_to_codes_without_details() {
        let failed = from_issue(&IssueError::Failed {
            what: "an X.509-SVID",
            reason: "hsm at 10.0.0.7 timed out".to_owned(),
        });
        assert_eq!(failed.code(), Code::Unavailable);
        assert!(!failed.message().contains("10.0.0.7"));
        let invalid = from_issue(&IssueError::InvalidToken {
            reason: "token expired".to_owned(),
        });
        assert_eq!(invalid.code(), Code::InvalidArgument);
        let unsupported = from_issue(&IssueError::Unsupported {
            what: "X.509-SVIDs",
        });
        assert_eq!(unsupported.code(), Code::Unimplemented);
    }
}
