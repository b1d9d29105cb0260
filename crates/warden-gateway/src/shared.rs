//! Session state exact across nodes: on PostgreSQL every change to a
//! session's history or an hourly budget is made under the instance's lock
//! in the store and written before the lock is released (see
//! `warden_store::SessionLock`). On SQLite (one node) the engine's memory is
//! the state and it is saved behind the decisions.

use warden_policy::{DecisionRequest, Engine, SharedState};
use warden_store::AnyStore;

use crate::state::Gateway;

/// What changes the state: a decision (its audit record follows) or an
/// observation (whose record is deferred, so its state is flushed itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionWrite {
    Decision,
    Observation,
}

/// Why a decision could not read or keep the session's shared state.
#[derive(Debug, thiserror::Error)]
#[error("session state unavailable: {0}")]
pub(crate) struct SharedStateError(String);

impl Gateway {
    /// Whether session state lives in the store, shared with other nodes.
    pub(crate) fn shares_sessions(&self) -> bool {
        matches!(self.store, AnyStore::Postgres(_))
    }

    /// Runs `f` (a decision or an observation that reads or changes the
    /// request's session) on the state every node sees, and keeps what it
    /// changed before any other node may read it. Fails closed: when the
    /// store cannot be reached, `f` does not run.
    pub(crate) async fn on_session<T>(
        &self,
        request: &DecisionRequest<'_>,
        f: impl FnOnce(&Engine) -> T,
    ) -> Result<T, SharedStateError> {
        self.on_session_as(request, SessionWrite::Observation, f)
            .await
    }

    /// As [`Gateway::on_session`], for a decision or an approval's use, whose
    /// audit record is written, synchronously under `durability = "sync"`,
    /// before it is answered: that commit makes the state durable too.
    pub(crate) async fn on_session_deciding<T>(
        &self,
        request: &DecisionRequest<'_>,
        f: impl FnOnce(&Engine) -> T,
    ) -> Result<T, SharedStateError> {
        self.on_session_as(request, SessionWrite::Decision, f).await
    }

    async fn on_session_as<T>(
        &self,
        request: &DecisionRequest<'_>,
        write: SessionWrite,
        f: impl FnOnce(&Engine) -> T,
    ) -> Result<T, SharedStateError> {
        let AnyStore::Postgres(store) = &self.store else {
            return Ok(f(&self.engine));
        };
        let fail = |e: warden_store::StoreError| SharedStateError(e.to_string());
        let hourly = self.engine.has_hourly_budget(request.agent);
        let hour = hourly.then(|| i64::try_from(self.engine.hour_now()).unwrap_or(i64::MAX));
        let names = [request.session, Engine::instance_session()];
        let (lock, locked) = store
            .lock_sessions(
                request.agent.as_str(),
                request.instance.as_str(),
                &names,
                hour,
                write == SessionWrite::Decision,
            )
            .await
            .map_err(fail)?;
        let find = |name: &str| {
            locked
                .sessions
                .iter()
                .find(|(s, _)| s == name)
                .map(|(_, state)| state.clone())
        };
        let before = SharedState {
            session: find(request.session),
            instance: find(Engine::instance_session()),
            hour: locked.hour_used.zip(hour).map(|(used, hour)| {
                (
                    u64::try_from(hour).unwrap_or(0),
                    u64::try_from(used).unwrap_or(0),
                )
            }),
        };
        self.engine
            .load_shared(request, &before)
            .map_err(SharedStateError)?;
        let out = f(&self.engine);
        let after = self.engine.export_shared(request, hourly);
        let mut rows = Vec::with_capacity(2);
        if after.session != before.session
            && let Some(state) = &after.session
        {
            rows.push((request.session, state.as_str()));
        }
        if after.instance != before.instance
            && let Some(state) = &after.instance
        {
            rows.push((Engine::instance_session(), state.as_str()));
        }
        let hour = after
            .hour
            .filter(|_| after.hour != before.hour)
            .map(|(hour, used)| {
                (
                    i64::try_from(hour).unwrap_or(i64::MAX),
                    i64::try_from(used).unwrap_or(i64::MAX),
                )
            });
        lock.commit(&rows, hour, crate::now_millis())
            .await
            .map_err(fail)?;
        Ok(out)
    }
}
