//! Session state shared by every node on one PostgreSQL database, exactly.
//!
//! A node about to decide for an agent instance takes that instance's lock
//! (a transaction-scoped advisory lock), and the agent's too when it has an
//! hourly budget; reads the session's and the instance's state and the
//! hour's count; decides in memory; writes back what changed; and commits,
//! which releases the locks. Whatever node a request lands on, it decides on
//! the state the previous decision left, and no two nodes count the same
//! budget at once. Locks are always taken instance first, then agent, so two
//! nodes never wait on each other in a cycle. A node that dies mid-decision
//! loses its connection, PostgreSQL rolls the transaction back and the locks
//! go with it: the decision was never answered, and nothing of it is kept.
//!
//! The cost is one transaction per decision (four to six round trips), and
//! decisions of one instance, or of one agent with an hourly budget, run one
//! at a time across the nodes. A decision's transaction does not wait for its
//! own flush: the synchronous commit of its audit record, which follows
//! before the answer, flushes it (see [`PostgresStore::lock_sessions`]).

use sha2::{Digest, Sha256};
use sqlx::postgres::PgListener;
use sqlx::{Postgres, Row, Transaction};

use crate::error::StoreError;
use crate::postgres::{CHANGES_CHANNEL, PostgresStore};

/// The first half of the advisory lock key on an instance's sessions
/// (`'WSes'`); the second half is a hash of the agent and instance.
const INSTANCE_LOCK_CLASS: i32 = 0x5753_6573;
/// The first half of the advisory lock key on an agent's hourly count
/// (`'WHou'`).
const HOUR_LOCK_CLASS: i32 = 0x5748_6f75;

/// What one agent instance's decision reads: the state of the sessions it
/// asked for, and the agent's count for the hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockedState {
    /// `(session, state)` for each asked-for session that has a row.
    pub sessions: Vec<(String, String)>,
    /// The agent's count for the hour asked for (0 without a row), when asked.
    pub hour_used: Option<i64>,
}

/// One instance's state, locked on every node until [`SessionLock::commit`]
/// or until dropped (which rolls back and releases it).
#[derive(Debug)]
pub struct SessionLock {
    tx: Transaction<'static, Postgres>,
    agent: String,
    instance: String,
}

/// The half of a lock key that names `parts` (a 32-bit hash: two names that
/// share one only wait for each other, nothing more).
fn lock_key(parts: &[&str]) -> i32 {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

impl PostgresStore {
    /// Locks `agent`'s `instance` (and, with `hour`, the agent's hourly
    /// count) across every node, and reads the state of `sessions` and the
    /// count for `hour`.
    ///
    /// With `durable_later`, the commit does not wait for its own flush to
    /// disk: the caller promises a synchronous commit on this database
    /// before anyone relies on the state (a decision's audit record, under
    /// `durability = "sync"`). PostgreSQL's log is one sequence, so that
    /// later flush makes this commit durable too; other nodes see the state
    /// at once either way.
    pub async fn lock_sessions(
        &self,
        agent: &str,
        instance: &str,
        sessions: &[&str],
        hour: Option<i64>,
        durable_later: bool,
    ) -> Result<(SessionLock, LockedState), StoreError> {
        const OP: &str = "lock session state";
        // One round trip for both statements.
        let begin = if durable_later {
            "BEGIN; SET LOCAL synchronous_commit TO OFF"
        } else {
            "BEGIN"
        };
        let mut tx = self
            .pool()
            .begin_with(begin)
            .await
            .map_err(StoreError::query(OP))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(INSTANCE_LOCK_CLASS)
            .bind(lock_key(&[agent, instance]))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(OP))?;
        if hour.is_some() {
            sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
                .bind(HOUR_LOCK_CLASS)
                .bind(lock_key(&[agent]))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query(OP))?;
        }
        // One round trip for the sessions and the hour.
        let rows = sqlx::query(
            "SELECT session, state, NULL::BIGINT AS used FROM warden_sessions \
             WHERE agent = $1 AND instance = $2 AND session = ANY($3) \
             UNION ALL \
             SELECT NULL, NULL, used FROM warden_hour_budgets WHERE agent = $1 AND hour = $4",
        )
        .bind(agent)
        .bind(instance)
        .bind(sessions)
        .bind(hour.unwrap_or(i64::MIN))
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::query(OP))?;
        let mut state = LockedState {
            sessions: Vec::with_capacity(2),
            hour_used: hour.map(|_| 0),
        };
        for row in rows {
            let used: Option<i64> = row.try_get("used").map_err(StoreError::query(OP))?;
            match used {
                Some(used) => state.hour_used = Some(used),
                None => state.sessions.push((
                    row.try_get("session").map_err(StoreError::query(OP))?,
                    row.try_get("state").map_err(StoreError::query(OP))?,
                )),
            }
        }
        Ok((
            SessionLock {
                tx,
                agent: agent.to_owned(),
                instance: instance.to_owned(),
            },
            state,
        ))
    }

    /// Listens for changes to agents, revocations, suspensions, policies
    /// and admin tokens made by any node or the CLI.
    pub async fn listen_changes(&self) -> Result<ChangeListener, StoreError> {
        const OP: &str = "listen for changes";
        let mut listener = PgListener::connect_with(self.pool())
            .await
            .map_err(StoreError::query(OP))?;
        listener
            .listen(CHANGES_CHANNEL)
            .await
            .map_err(StoreError::query(OP))?;
        Ok(ChangeListener { listener })
    }
}

impl SessionLock {
    /// Writes the sessions' new state (`(session, state)`) and the hour's
    /// count, then commits, which releases the locks.
    pub async fn commit(
        mut self,
        sessions: &[(&str, &str)],
        hour: Option<(i64, i64)>,
        now: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "save session state";
        if !sessions.is_empty() {
            let mut q = sqlx::QueryBuilder::<Postgres>::new(
                "INSERT INTO warden_sessions (agent, instance, session, state, updated_at) ",
            );
            q.push_values(sessions, |mut b, (session, state)| {
                b.push_bind(&self.agent)
                    .push_bind(&self.instance)
                    .push_bind(*session)
                    .push_bind(*state)
                    .push_bind(now);
            });
            q.push(
                " ON CONFLICT (agent, instance, session) DO UPDATE SET \
                 state = excluded.state, updated_at = excluded.updated_at",
            );
            q.build()
                .execute(&mut *self.tx)
                .await
                .map_err(StoreError::query(OP))?;
        }
        if let Some((hour, used)) = hour {
            // Under the agent's lock the count is exact: written as it is.
            sqlx::query(
                "INSERT INTO warden_hour_budgets (agent, hour, used) VALUES ($1, $2, $3) \
                 ON CONFLICT (agent, hour) DO UPDATE SET used = excluded.used",
            )
            .bind(&self.agent)
            .bind(hour)
            .bind(used)
            .execute(&mut *self.tx)
            .await
            .map_err(StoreError::query(OP))?;
        }
        self.tx.commit().await.map_err(StoreError::query(OP))
    }
}

/// Notifications of changes (see [`PostgresStore::listen_changes`]).
#[derive(Debug)]
pub struct ChangeListener {
    listener: PgListener,
}

impl ChangeListener {
    /// Waits for the next change; an error means the connection was lost
    /// (the listener reconnects on the next call, and changes made
    /// meanwhile are not told: poll as well).
    pub async fn next(&mut self) -> Result<i64, StoreError> {
        let n = self
            .listener
            .recv()
            .await
            .map_err(StoreError::query("listen for changes"))?;
        Ok(n.payload().parse().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::lock_key;

    #[test]
    fn lock_keys_tell_apart_how_names_are_split() {
        assert_ne!(lock_key(&["ab", "c"]), lock_key(&["a", "bc"]));
        assert_eq!(lock_key(&["a", "b"]), lock_key(&["a", "b"]));
    }
}
