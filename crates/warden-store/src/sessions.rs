//! Session state that must survive a restart: each live session's history
//! (budget used, tools, taint, the injection flag, provenance fingerprints)
//! and each agent's hourly budget. Written behind the decisions by the
//! gateway, read back when it starts.

use std::future::Future;

use sqlx::Row;

use crate::error::StoreError;
use crate::{AnyStore, PostgresStore, SqliteStore};

/// One session's state, as the policy engine serialises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStateRecord {
    /// The agent.
    pub agent: String,
    /// Its instance.
    pub instance: String,
    /// The session id.
    pub session: String,
    /// The state (JSON, the engine's format).
    pub state: String,
    /// When it last changed (unix ms).
    pub updated_at: i64,
}

/// How much of an agent's hourly budget one clock hour used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourBudgetRecord<'a> {
    /// The agent.
    pub agent: &'a str,
    /// The clock hour (hours since the Unix epoch).
    pub hour: i64,
    /// Allowed actions counted in it.
    pub used: i64,
}

/// Where session state is kept.
pub trait SessionStore: Clone + Send + Sync + 'static {
    /// Inserts or replaces sessions' state, in one transaction.
    fn save_sessions(
        &self,
        rows: &[SessionStateRecord],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every session that changed at or after `since` (unix ms).
    fn sessions_since(
        &self,
        since: i64,
    ) -> impl Future<Output = Result<Vec<SessionStateRecord>, StoreError>> + Send;

    /// Forgets sessions that did not change since `before` (unix ms), and
    /// hourly counts of hours before `before_hour`; returns how many sessions.
    fn forget_sessions(
        &self,
        before: i64,
        before_hour: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Records hourly budget use; a count never goes down.
    fn save_hour_budgets(
        &self,
        rows: &[HourBudgetRecord<'_>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every agent's count for `hour`.
    fn hour_budgets(
        &self,
        hour: i64,
    ) -> impl Future<Output = Result<Vec<(String, i64)>, StoreError>> + Send;
}

fn session_row(row: &impl SessionRow) -> Result<SessionStateRecord, StoreError> {
    row.record()
}

trait SessionRow {
    fn record(&self) -> Result<SessionStateRecord, StoreError>;
}

macro_rules! session_row_impl {
    ($row:ty) => {
        impl SessionRow for $row {
            fn record(&self) -> Result<SessionStateRecord, StoreError> {
                const OP: &str = "read session state";
                Ok(SessionStateRecord {
                    agent: self.try_get("agent").map_err(StoreError::query(OP))?,
                    instance: self.try_get("instance").map_err(StoreError::query(OP))?,
                    session: self.try_get("session").map_err(StoreError::query(OP))?,
                    state: self.try_get("state").map_err(StoreError::query(OP))?,
                    updated_at: self.try_get("updated_at").map_err(StoreError::query(OP))?,
                })
            }
        }
    };
}
session_row_impl!(sqlx::sqlite::SqliteRow);
session_row_impl!(sqlx::postgres::PgRow);

/// Sessions written per statement (5 parameters each, well under SQLite's
/// 32,766 and PostgreSQL's 65,535).
const ROWS_PER_STATEMENT: usize = 1000;

/// The statements, with `?` placeholders (SQLite) or `$n` (PostgreSQL).
struct Sql {
    since: &'static str,
    forget_sessions: &'static str,
    forget_hours: &'static str,
    upsert_hour: &'static str,
    hours: &'static str,
}

const SQLITE: Sql = Sql {
    since: "SELECT * FROM warden_sessions WHERE updated_at >= ?",
    forget_sessions: "DELETE FROM warden_sessions WHERE updated_at < ?",
    forget_hours: "DELETE FROM warden_hour_budgets WHERE hour < ?",
    upsert_hour: "INSERT INTO warden_hour_budgets (agent, hour, used) VALUES (?, ?, ?) \
        ON CONFLICT (agent, hour) DO UPDATE SET used = MAX(used, excluded.used)",
    hours: "SELECT agent, used FROM warden_hour_budgets WHERE hour = ?",
};

const POSTGRES: Sql = Sql {
    since: "SELECT * FROM warden_sessions WHERE updated_at >= $1",
    forget_sessions: "DELETE FROM warden_sessions WHERE updated_at < $1",
    forget_hours: "DELETE FROM warden_hour_budgets WHERE hour < $1",
    upsert_hour: "INSERT INTO warden_hour_budgets (agent, hour, used) VALUES ($1, $2, $3) \
        ON CONFLICT (agent, hour) DO UPDATE SET \
        used = GREATEST(warden_hour_budgets.used, excluded.used)",
    hours: "SELECT agent, used FROM warden_hour_budgets WHERE hour = $1",
};

macro_rules! session_store_impl {
    ($store:ty, $sql:expr, $begin:literal) => {
        impl SessionStore for $store {
            async fn save_sessions(&self, rows: &[SessionStateRecord]) -> Result<(), StoreError> {
                const OP: &str = "save session state";
                if rows.is_empty() {
                    return Ok(());
                }
                let mut tx = begin(self.pool(), $begin)
                    .await
                    .map_err(StoreError::query(OP))?;
                // Many rows per statement: one round trip per chunk, not per row.
                for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO warden_sessions (agent, instance, session, state, updated_at) ",
                    );
                    q.push_values(chunk, |mut b, r| {
                        b.push_bind(&r.agent)
                            .push_bind(&r.instance)
                            .push_bind(&r.session)
                            .push_bind(&r.state)
                            .push_bind(r.updated_at);
                    });
                    q.push(
                        " ON CONFLICT (agent, instance, session) DO UPDATE SET \
                         state = excluded.state, updated_at = excluded.updated_at",
                    );
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::query(OP))?;
                }
                tx.commit().await.map_err(StoreError::query(OP))
            }

            async fn sessions_since(
                &self,
                since: i64,
            ) -> Result<Vec<SessionStateRecord>, StoreError> {
                let rows = sqlx::query($sql.since)
                    .bind(since)
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query("read session state"))?;
                rows.iter().map(session_row).collect()
            }

            async fn forget_sessions(
                &self,
                before: i64,
                before_hour: i64,
            ) -> Result<u64, StoreError> {
                const OP: &str = "forget session state";
                let mut tx = begin(self.pool(), $begin)
                    .await
                    .map_err(StoreError::query(OP))?;
                let n = sqlx::query($sql.forget_sessions)
                    .bind(before)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?
                    .rows_affected();
                sqlx::query($sql.forget_hours)
                    .bind(before_hour)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?;
                tx.commit().await.map_err(StoreError::query(OP))?;
                Ok(n)
            }

            async fn save_hour_budgets(
                &self,
                rows: &[HourBudgetRecord<'_>],
            ) -> Result<(), StoreError> {
                const OP: &str = "save hourly budgets";
                if rows.is_empty() {
                    return Ok(());
                }
                let mut tx = begin(self.pool(), $begin)
                    .await
                    .map_err(StoreError::query(OP))?;
                for r in rows {
                    sqlx::query($sql.upsert_hour)
                        .bind(r.agent)
                        .bind(r.hour)
                        .bind(r.used)
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::query(OP))?;
                }
                tx.commit().await.map_err(StoreError::query(OP))
            }

            async fn hour_budgets(&self, hour: i64) -> Result<Vec<(String, i64)>, StoreError> {
                const OP: &str = "read hourly budgets";
                let rows = sqlx::query($sql.hours)
                    .bind(hour)
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query(OP))?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get("agent").map_err(StoreError::query(OP))?,
                            r.try_get("used").map_err(StoreError::query(OP))?,
                        ))
                    })
                    .collect()
            }
        }
    };
}

pub(crate) async fn begin<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    statement: &'static str,
) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
    if statement.is_empty() {
        pool.begin().await
    } else {
        pool.begin_with(statement).await
    }
}

session_store_impl!(SqliteStore, SQLITE, "BEGIN IMMEDIATE");
session_store_impl!(PostgresStore, POSTGRES, "");

impl SessionStore for AnyStore {
    async fn save_sessions(&self, rows: &[SessionStateRecord]) -> Result<(), StoreError> {
        any_dispatch!(self.save_sessions(rows))
    }

    async fn sessions_since(&self, since: i64) -> Result<Vec<SessionStateRecord>, StoreError> {
        any_dispatch!(self.sessions_since(since))
    }

    async fn forget_sessions(&self, before: i64, before_hour: i64) -> Result<u64, StoreError> {
        any_dispatch!(self.forget_sessions(before, before_hour))
    }

    async fn save_hour_budgets(&self, rows: &[HourBudgetRecord<'_>]) -> Result<(), StoreError> {
        any_dispatch!(self.save_hour_budgets(rows))
    }

    async fn hour_budgets(&self, hour: i64) -> Result<Vec<(String, i64)>, StoreError> {
        any_dispatch!(self.hour_budgets(hour))
    }
}
