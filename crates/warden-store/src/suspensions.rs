//! Suspensions: the kill switch. A suspended agent's every action is denied,
//! naming the suspension, until it is resumed. Unlike a revocation, its
//! tokens stay valid and its sessions stay in memory: resuming is instant.
//! Every change moves the change counter, so every node applies it on its
//! next watch tick (250 ms; PostgreSQL also notifies).

use std::future::Future;

use sqlx::Row;

use crate::error::StoreError;
use crate::{AnyStore, PostgresStore, SqliteStore};

/// One suspended agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuspensionRecord {
    /// The agent.
    pub agent: String,
    /// Why (an alert's name, a person's words).
    pub reason: String,
    /// Who (an admin token's name, `cli`, an alert rule).
    pub by: String,
    /// When (unix ms).
    pub at: i64,
}

/// Where suspensions are kept.
pub trait SuspensionStore: Clone + Send + Sync + 'static {
    /// Suspends `agent` (again: the newer reason replaces the older).
    fn suspend(
        &self,
        record: &SuspensionRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Lifts `agent`'s suspension; `false` if it was not suspended.
    fn resume(&self, agent: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every suspension, by agent.
    fn suspensions(&self)
    -> impl Future<Output = Result<Vec<SuspensionRecord>, StoreError>> + Send;
}

fn record<R>(row: &R) -> Result<SuspensionRecord, StoreError>
where
    R: Row,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    const OP: &str = "read suspensions";
    Ok(SuspensionRecord {
        agent: row.try_get("agent").map_err(StoreError::query(OP))?,
        reason: row.try_get("reason").map_err(StoreError::query(OP))?,
        by: row.try_get("suspended_by").map_err(StoreError::query(OP))?,
        at: row.try_get("suspended_at").map_err(StoreError::query(OP))?,
    })
}

macro_rules! suspension_store_impl {
    ($store:ty, $module:ident, $upsert:literal, $delete:literal) => {
        impl SuspensionStore for $store {
            async fn suspend(&self, r: &SuspensionRecord) -> Result<(), StoreError> {
                const OP: &str = "suspend an agent";
                let mut tx = self.begin_write(OP).await?;
                sqlx::query($upsert)
                    .bind(&r.agent)
                    .bind(&r.reason)
                    .bind(&r.by)
                    .bind(r.at)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?;
                crate::$module::bump_change(&mut tx, OP).await?;
                tx.commit().await.map_err(StoreError::query(OP))
            }

            async fn resume(&self, agent: &str) -> Result<bool, StoreError> {
                const OP: &str = "resume an agent";
                let mut tx = self.begin_write(OP).await?;
                let n = sqlx::query($delete)
                    .bind(agent.to_owned())
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(OP))?
                    .rows_affected();
                if n > 0 {
                    crate::$module::bump_change(&mut tx, OP).await?;
                }
                tx.commit().await.map_err(StoreError::query(OP))?;
                Ok(n > 0)
            }

            async fn suspensions(&self) -> Result<Vec<SuspensionRecord>, StoreError> {
                let rows = sqlx::query("SELECT * FROM warden_suspensions ORDER BY agent")
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query("read suspensions"))?;
                rows.iter().map(record).collect()
            }
        }
    };
}

suspension_store_impl!(
    SqliteStore,
    sqlite,
    "INSERT INTO warden_suspensions (agent, reason, suspended_by, suspended_at) VALUES (?, ?, ?, ?) \
     ON CONFLICT (agent) DO UPDATE SET reason = excluded.reason, \
     suspended_by = excluded.suspended_by, suspended_at = excluded.suspended_at",
    "DELETE FROM warden_suspensions WHERE agent = ?"
);
suspension_store_impl!(
    PostgresStore,
    postgres,
    "INSERT INTO warden_suspensions (agent, reason, suspended_by, suspended_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (agent) DO UPDATE SET reason = excluded.reason, \
     suspended_by = excluded.suspended_by, suspended_at = excluded.suspended_at",
    "DELETE FROM warden_suspensions WHERE agent = $1"
);

impl SuspensionStore for AnyStore {
    async fn suspend(&self, record: &SuspensionRecord) -> Result<(), StoreError> {
        any_dispatch!(self.suspend(record))
    }

    async fn resume(&self, agent: &str) -> Result<bool, StoreError> {
        any_dispatch!(self.resume(agent))
    }

    async fn suspensions(&self) -> Result<Vec<SuspensionRecord>, StoreError> {
        any_dispatch!(self.suspensions())
    }
}
