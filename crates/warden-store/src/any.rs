//! [`AnyStore`]: either backend, chosen at run time, dispatched statically.

use warden_types::{AgentName, InstanceId, Role};

use crate::error::StoreError;
use crate::location::StoreLocation;
use crate::postgres::PostgresStore;
use crate::records::{
    AdminTokenRecord, AgentRecord, ApprovalRecord, ApprovalStatus, RevocationRecord,
};
use crate::sqlite::SqliteStore;
use crate::{ApprovalMatch, Store};

/// The store a [`StoreLocation`] names. Implements [`Store`] by matching on the
/// backend, so callers need neither generics nor trait objects.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// The embedded SQLite store.
    Sqlite(SqliteStore),
    /// The PostgreSQL store.
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Opens and migrates the store at `location`.
    pub async fn open(location: &StoreLocation) -> Result<AnyStore, StoreError> {
        match location {
            StoreLocation::Sqlite { data_dir } => {
                SqliteStore::open(data_dir).await.map(AnyStore::Sqlite)
            }
            StoreLocation::Postgres { url } => {
                PostgresStore::open(url).await.map(AnyStore::Postgres)
            }
        }
    }

    /// The backend's name: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }
}

/// Forwards a call to whichever backend is inside.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::Sqlite(store) => store.$method($($arg),*).await,
            AnyStore::Postgres(store) => store.$method($($arg),*).await,
        }
    };
}

impl Store for AnyStore {
    async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self.ping())
    }

    async fn latest_change(&self) -> Result<i64, StoreError> {
        dispatch!(self.latest_change())
    }

    async fn put_agent(&self, agent: &AgentRecord) -> Result<(), StoreError> {
        dispatch!(self.put_agent(agent))
    }

    async fn agent(&self, name: &AgentName) -> Result<Option<AgentRecord>, StoreError> {
        dispatch!(self.agent(name))
    }

    async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        dispatch!(self.agents())
    }

    async fn delete_agent(&self, name: &AgentName) -> Result<bool, StoreError> {
        dispatch!(self.delete_agent(name))
    }

    async fn add_revocation(
        &self,
        agent: &AgentName,
        instance: Option<&InstanceId>,
        reason: &str,
        revoked_by: &str,
        at: i64,
    ) -> Result<RevocationRecord, StoreError> {
        dispatch!(self.add_revocation(agent, instance, reason, revoked_by, at))
    }

    async fn revocations(&self) -> Result<Vec<RevocationRecord>, StoreError> {
        dispatch!(self.revocations())
    }

    async fn add_admin_token(
        &self,
        name: &str,
        role: Role,
        digest: &str,
        at: i64,
    ) -> Result<AdminTokenRecord, StoreError> {
        dispatch!(self.add_admin_token(name, role, digest, at))
    }

    async fn admin_tokens(&self) -> Result<Vec<AdminTokenRecord>, StoreError> {
        dispatch!(self.admin_tokens())
    }

    async fn admin_token_count(&self) -> Result<i64, StoreError> {
        dispatch!(self.admin_token_count())
    }

    async fn create_approval(&self, approval: &ApprovalRecord) -> Result<(), StoreError> {
        dispatch!(self.create_approval(approval))
    }

    async fn approval(&self, id: &str) -> Result<Option<ApprovalRecord>, StoreError> {
        dispatch!(self.approval(id))
    }

    async fn approvals(
        &self,
        status: Option<ApprovalStatus>,
    ) -> Result<Vec<ApprovalRecord>, StoreError> {
        dispatch!(self.approvals(status))
    }

    async fn decide_approval(
        &self,
        id: &str,
        approve: bool,
        by: &str,
        note: Option<&str>,
        at: i64,
    ) -> Result<ApprovalRecord, StoreError> {
        dispatch!(self.decide_approval(id, approve, by, note, at))
    }

    async fn expire_approvals(&self, now: i64) -> Result<u64, StoreError> {
        dispatch!(self.expire_approvals(now))
    }

    async fn pending_approvals_of(&self, agent: &str, now: i64) -> Result<u64, StoreError> {
        dispatch!(self.pending_approvals_of(agent, now))
    }

    async fn consume_approval(
        &self,
        wanted: &ApprovalMatch<'_>,
        now: i64,
    ) -> Result<Option<ApprovalRecord>, StoreError> {
        dispatch!(self.consume_approval(wanted, now))
    }

    async fn release_approval(&self, id: &str) -> Result<bool, StoreError> {
        dispatch!(self.release_approval(id))
    }
}

impl crate::audit::AuditStore for AnyStore {
    async fn audit_size(&self) -> Result<u64, StoreError> {
        dispatch!(self.audit_size())
    }

    async fn audit_append(
        &self,
        expected_size: u64,
        batch: &crate::audit::AuditBatch,
    ) -> Result<(), StoreError> {
        dispatch!(self.audit_append(expected_size, batch))
    }

    async fn audit_append_caught_up(
        &self,
        expected_size: u64,
        batch: &crate::audit::AuditBatch,
        catch_up: &mut dyn crate::audit::AuditCatchUp,
    ) -> Result<u64, StoreError> {
        dispatch!(self.audit_append_caught_up(expected_size, batch, catch_up))
    }

    async fn audit_nodes(
        &self,
        ids: &[(u8, u64)],
    ) -> Result<Vec<crate::audit::StoredNode>, StoreError> {
        dispatch!(self.audit_nodes(ids))
    }

    async fn audit_node_range(
        &self,
        level: u8,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, crate::audit::NodeHash)>, StoreError> {
        dispatch!(self.audit_node_range(level, from, to))
    }

    async fn audit_records(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<crate::audit::AuditRow>, StoreError> {
        dispatch!(self.audit_records(from, to))
    }

    async fn audit_erase(&self, index: u64) -> Result<bool, StoreError> {
        dispatch!(self.audit_erase(index))
    }

    async fn audit_add_wrap_key(&self, id: crate::audit::WrapKeyRef) -> Result<(), StoreError> {
        dispatch!(self.audit_add_wrap_key(id))
    }

    async fn audit_wrap_keys(&self) -> Result<Vec<(crate::audit::WrapKeyRef, bool)>, StoreError> {
        dispatch!(self.audit_wrap_keys())
    }

    async fn audit_erase_wrapped(
        &self,
        index: u64,
        old: crate::audit::WrapKeyRef,
        new: crate::audit::WrapKeyRef,
        rewrap: &crate::audit::Rewrap<'_>,
    ) -> Result<crate::audit::Erased, StoreError> {
        dispatch!(self.audit_erase_wrapped(index, old, new, rewrap))
    }

    async fn audit_put_checkpoint(
        &self,
        checkpoint: &crate::audit::CheckpointRow,
    ) -> Result<(), StoreError> {
        dispatch!(self.audit_put_checkpoint(checkpoint))
    }

    async fn audit_checkpoints(&self) -> Result<Vec<crate::audit::CheckpointRow>, StoreError> {
        dispatch!(self.audit_checkpoints())
    }
}
