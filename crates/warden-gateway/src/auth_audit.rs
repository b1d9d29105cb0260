//! Failed authentications go into the audit log: a refused token on either
//! plane is a `decision` record with the outcome `deny`, no agent (the
//! identity was not established), the plane as its interception point, and
//! the reason. A flood cannot crowd the log: at most [`PER_SECOND`] such
//! records a second are written, and the next one written says how many
//! were left out.

use std::sync::atomic::{AtomicU64, Ordering};

use warden_audit::{AuditRecord, RecordKind};

/// Failed authentications recorded per second, at most.
pub(crate) const PER_SECOND: u64 = 50;

/// Counts failed authentications per second.
#[derive(Debug, Default)]
pub(crate) struct AuthFailures {
    /// The second being counted (unix seconds).
    second: AtomicU64,
    /// Failures recorded in it.
    recorded: AtomicU64,
    /// Failures left out since the last one recorded.
    left_out: AtomicU64,
}

impl AuthFailures {
    /// The record of a failure, or `None` when this second's quota is spent.
    pub(crate) fn record(&self, plane: &str, code: &str, message: &str) -> Option<AuditRecord> {
        let now_ms = crate::now_millis();
        let second = u64::try_from(now_ms / 1000).unwrap_or(0);
        if self.second.swap(second, Ordering::AcqRel) != second {
            self.recorded.store(0, Ordering::Release);
        }
        if self.recorded.fetch_add(1, Ordering::AcqRel) >= PER_SECOND {
            self.left_out.fetch_add(1, Ordering::AcqRel);
            return None;
        }
        let left_out = self.left_out.swap(0, Ordering::AcqRel);
        let mut record = AuditRecord::new(0, now_ms, RecordKind::Decision, plane);
        record.decision = Some("deny".to_owned());
        record.reasons = vec![format!("authentication failed ({code}): {message}")];
        if left_out > 0 {
            record.note = Some(format!(
                "{left_out} more failed authentications were not recorded (at most {PER_SECOND} a second)"
            ));
        }
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_counted_not_written() {
        let failures = AuthFailures::default();
        let written = (0..PER_SECOND * 3)
            .filter_map(|_| failures.record("decision_api", "invalid_token", "bad signature"))
            .count();
        // Within one second (or across a second boundary, twice the quota).
        assert!(written as u64 <= PER_SECOND * 2, "{written}");
        assert!(written as u64 >= PER_SECOND, "{written}");
    }
}
