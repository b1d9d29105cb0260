//! Token budgets (`tokens_per_session`, `tokens_per_hour` in a manifest):
//! what each session and each agent's clock hour used, counted from the
//! usage providers report. Kept per node, in memory.

use std::collections::HashMap;

use parking_lot::Mutex;
use warden_policy::Budgets;

/// Most sessions counted at once; a new one beyond is refused, so that no
/// session's count is ever forgotten to make room.
const MAX_SESSIONS: usize = 200_000;

/// Tokens used.
#[derive(Debug, Default)]
pub(crate) struct TokenUse {
    sessions: Mutex<HashMap<String, u64>>,
    hours: Mutex<HashMap<String, (i64, u64)>>,
}

fn session_key(agent: &str, instance: &str, session: &str) -> String {
    format!("{agent}/{instance}/{session}")
}

impl TokenUse {
    /// Why `agent`'s instance may not call a model now, if it may not.
    pub(crate) fn refusal(
        &self,
        budgets: &Budgets,
        agent: &str,
        instance: &str,
        session: &str,
        now_ms: i64,
    ) -> Option<String> {
        if let Some(limit) = budgets.tokens_per_session {
            let sessions = self.sessions.lock();
            let used = sessions
                .get(&session_key(agent, instance, session))
                .copied();
            match used {
                Some(used) if used >= limit => {
                    return Some(format!(
                        "token budget spent: `{agent}` used {used} of {limit} model tokens in session `{session}` (budgets.tokens_per_session)"
                    ));
                }
                None if sessions.len() >= MAX_SESSIONS => {
                    return Some(
                        "too many sessions are counting model tokens on this node; try again when idle ones end"
                            .to_owned(),
                    );
                }
                _ => {}
            }
        }
        if let Some(limit) = budgets.tokens_per_hour {
            let hour = now_ms.div_euclid(3_600_000);
            if let Some((at, used)) = self.hours.lock().get(agent).copied()
                && at == hour
                && used >= limit
            {
                return Some(format!(
                    "token budget spent: `{agent}` used {used} of {limit} model tokens this hour (budgets.tokens_per_hour)"
                ));
            }
        }
        None
    }

    /// Counts `tokens` a call used.
    pub(crate) fn add(&self, agent: &str, instance: &str, session: &str, tokens: u64, now_ms: i64) {
        {
            let mut sessions = self.sessions.lock();
            let key = session_key(agent, instance, session);
            if sessions.contains_key(&key) || sessions.len() < MAX_SESSIONS {
                let used = sessions.entry(key).or_default();
                *used = used.saturating_add(tokens);
            }
        }
        let hour = now_ms.div_euclid(3_600_000);
        let mut hours = self.hours.lock();
        let entry = hours.entry(agent.to_owned()).or_insert((hour, 0));
        if entry.0 != hour {
            *entry = (hour, 0);
        }
        entry.1 = entry.1.saturating_add(tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_hours_are_counted_apart() {
        let use_ = TokenUse::default();
        let budgets = Budgets {
            tokens_per_session: Some(100),
            tokens_per_hour: Some(150),
            ..Budgets::default()
        };
        let hour = 3_600_000 * 500;
        assert!(use_.refusal(&budgets, "a", "i", "s1", hour).is_none());
        use_.add("a", "i", "s1", 100, hour);
        let spent = use_.refusal(&budgets, "a", "i", "s1", hour).unwrap();
        assert!(
            spent.contains("100 of 100") && spent.contains("s1"),
            "{spent}"
        );
        assert!(use_.refusal(&budgets, "a", "i", "s2", hour).is_none());
        use_.add("a", "i", "s2", 60, hour);
        let hourly = use_.refusal(&budgets, "a", "i", "s2", hour).unwrap();
        assert!(hourly.contains("this hour"), "{hourly}");
        assert!(
            use_.refusal(&budgets, "a", "i", "s3", hour + 3_600_000)
                .is_none()
        );
    }
}
