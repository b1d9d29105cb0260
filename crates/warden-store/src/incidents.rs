//! Incidents, stored whole: the monitor owns their shape (a JSON body); the
//! store keeps each by id with its opening time and status, so they list
//! fast and survive restarts. Every node sees the same incidents.

use std::future::Future;

use sqlx::Row;

use crate::error::StoreError;
use crate::{AnyStore, PostgresStore, SqliteStore};

/// One incident as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    /// Its id.
    pub id: String,
    /// When it was opened (unix ms).
    pub opened_at: i64,
    /// `open` or `closed`.
    pub status: String,
    /// The incident (JSON, the monitor's format).
    pub body: String,
}

/// Where incidents are kept.
pub trait IncidentStore: Clone + Send + Sync + 'static {
    /// Inserts or replaces an incident.
    fn put_incident(
        &self,
        row: &IncidentRow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The incident with this id.
    fn incident(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<IncidentRow>, StoreError>> + Send;

    /// Incidents, newest first, at most `limit`.
    fn incidents(
        &self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<IncidentRow>, StoreError>> + Send;
}

fn row<R>(r: &R) -> Result<IncidentRow, StoreError>
where
    R: Row,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
    for<'x> String: sqlx::Decode<'x, R::Database> + sqlx::Type<R::Database>,
    for<'x> i64: sqlx::Decode<'x, R::Database> + sqlx::Type<R::Database>,
{
    const OP: &str = "read incidents";
    Ok(IncidentRow {
        id: r.try_get("id").map_err(StoreError::query(OP))?,
        opened_at: r.try_get("opened_at").map_err(StoreError::query(OP))?,
        status: r.try_get("status").map_err(StoreError::query(OP))?,
        body: r.try_get("body").map_err(StoreError::query(OP))?,
    })
}

macro_rules! incident_store_impl {
    ($store:ty, $upsert:literal, $one:literal, $list:literal) => {
        impl IncidentStore for $store {
            async fn put_incident(&self, r: &IncidentRow) -> Result<(), StoreError> {
                sqlx::query($upsert)
                    .bind(&r.id)
                    .bind(r.opened_at)
                    .bind(&r.status)
                    .bind(&r.body)
                    .execute(self.pool())
                    .await
                    .map_err(StoreError::query("save an incident"))?;
                Ok(())
            }

            async fn incident(&self, id: &str) -> Result<Option<IncidentRow>, StoreError> {
                let found = sqlx::query($one)
                    .bind(id.to_owned())
                    .fetch_optional(self.pool())
                    .await
                    .map_err(StoreError::query("read an incident"))?;
                found.as_ref().map(row).transpose()
            }

            async fn incidents(&self, limit: i64) -> Result<Vec<IncidentRow>, StoreError> {
                let rows = sqlx::query($list)
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await
                    .map_err(StoreError::query("read incidents"))?;
                rows.iter().map(row).collect()
            }
        }
    };
}

incident_store_impl!(
    SqliteStore,
    "INSERT INTO warden_incidents (id, opened_at, status, body) VALUES (?, ?, ?, ?) \
     ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body",
    "SELECT * FROM warden_incidents WHERE id = ?",
    "SELECT * FROM warden_incidents ORDER BY opened_at DESC, id LIMIT ?"
);
incident_store_impl!(
    PostgresStore,
    "INSERT INTO warden_incidents (id, opened_at, status, body) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body",
    "SELECT * FROM warden_incidents WHERE id = $1",
    "SELECT * FROM warden_incidents ORDER BY opened_at DESC, id LIMIT $1"
);

impl IncidentStore for AnyStore {
    async fn put_incident(&self, row: &IncidentRow) -> Result<(), StoreError> {
        any_dispatch!(self.put_incident(row))
    }

    async fn incident(&self, id: &str) -> Result<Option<IncidentRow>, StoreError> {
        any_dispatch!(self.incident(id))
    }

    async fn incidents(&self, limit: i64) -> Result<Vec<IncidentRow>, StoreError> {
        any_dispatch!(self.incidents(limit))
    }
}
