//! Warden's storage: one [`Store`] trait, two backends.
//!
//! - [`SqliteStore`] is the embedded default: one file, `<data_dir>/warden.db`, in
//!   WAL mode with `synchronous=FULL` (a commit is on disk when it returns) and a 5 s busy timeout. One process, zero
//!   setup. The data directory is created with mode 0700.
//! - [`PostgresStore`] is for scale-out: any number of gateway nodes share one
//!   database. Every change to agents, revocations and admin tokens also sends
//!   `NOTIFY warden_changes`, so nodes can reload without polling.
//!
//! [`AnyStore`] picks one from a [`StoreLocation`] and dispatches statically: the
//! API has no trait objects. Both backends run the same versioned migrations on
//! open and refuse a database migrated by a newer Warden. Times are unix
//! milliseconds (`i64`).
//!
//! The store is not on the decision path: the gateway keeps what it needs in
//! memory and reloads when [`Store::latest_change`] moves.
//!
//! ```
//! use warden_store::{AgentRecord, AnyStore, Store, StoreLocation};
//! use warden_types::AgentName;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let location = StoreLocation::parse(None, dir.path())?;
//! let store = AnyStore::open(&location).await?;
//! let before = store.latest_change().await?;
//! store
//!     .put_agent(&AgentRecord {
//!         name: AgentName::new("invoice-bot")?,
//!         manifest: "name: invoice-bot\n".into(),
//!         source: "invoice-bot.yaml".into(),
//!         registered_at: 1_700_000_000_000,
//!         updated_at: 1_700_000_000_000,
//!     })
//!     .await?;
//! assert_eq!(store.agents().await?.len(), 1);
//! assert!(store.latest_change().await? > before);
//! # Ok(())
//! # }
//! ```

/// Calls the same method on whichever backend an [`AnyStore`] holds.
macro_rules! any_dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            AnyStore::Sqlite(store) => store.$method($($arg),*).await,
            AnyStore::Postgres(store) => store.$method($($arg),*).await,
        }
    };
}

mod any;
mod audit;
mod audit_postgres;
mod audit_sqlite;
mod error;
mod incidents;
mod inventory;
mod keys;
mod location;
mod migrations;
mod pins;
mod postgres;
mod records;
mod rows;
mod sessions;
mod shared;
mod sqlite;
mod sqlite_append;
mod suspensions;

use std::future::Future;

use warden_types::{AgentName, InstanceId, Role};

pub use any::AnyStore;
pub use audit::{
    AUDIT_PAGE, AuditBatch, AuditCatchUp, AuditRow, AuditStore, CheckpointRow, Erased, NodeHash,
    Rewrap, StoredNode, WrapKeyRef,
};
pub use error::StoreError;
pub use incidents::{IncidentRow, IncidentStore};
pub use inventory::{
    ActivityDelta, ActivitySummary, ClassDelta, InventoryStore, SightingRecord, TokenRecord,
};
pub use keys::{KeyRow, KeyStore, Replace};
pub use location::{SQLITE_FILE_NAME, StoreLocation};
pub use pins::{ToolBaseline, ToolPinRecord, ToolPinStore, ToolSighting};
pub use postgres::{CHANGES_CHANNEL, PostgresStore};
pub use records::{
    AdminTokenRecord, AgentRecord, ApprovalRecord, ApprovalStatus, RevocationRecord,
};
pub use sessions::{HourBudgetRecord, SessionStateRecord, SessionStore};
pub use shared::{ChangeListener, LockedState, SessionLock};
pub use sqlite::SqliteStore;
pub use suspensions::{SuspensionRecord, SuspensionStore};

/// The most approvals [`Store::approvals`] returns.
pub const APPROVALS_LIMIT: i64 = 500;

/// Which approval [`Store::consume_approval`] may use: the action being retried.
#[derive(Debug, Clone, Copy)]
pub struct ApprovalMatch<'a> {
    /// The agent retrying the action.
    pub agent: &'a AgentName,
    /// The instance retrying it; `None` accepts an approval asked by any instance.
    pub instance: Option<&'a InstanceId>,
    /// The agent's session.
    pub session: &'a str,
    /// The tool server.
    pub server: &'a str,
    /// The tool.
    pub tool: &'a str,
    /// The digest of the canonical arguments; must equal the approved one.
    pub args_digest: &'a str,
}

/// Everything Warden persists outside the audit log.
///
/// Methods return `Send` futures, so a store can be used from any tokio task.
/// Implementations are cheap to clone (a connection pool inside).
pub trait Store: Clone + Send + Sync + 'static {
    /// Checks that the database answers (for readiness probes).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The change counter: it increases with every write to agents, revocations
    /// and admin tokens. Reload cached state when it moves.
    fn latest_change(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Inserts an agent, or replaces the one with the same name (keeping its
    /// first `registered_at`).
    fn put_agent(&self, agent: &AgentRecord)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The agent called `name`, if registered.
    fn agent(
        &self,
        name: &AgentName,
    ) -> impl Future<Output = Result<Option<AgentRecord>, StoreError>> + Send;

    /// Every agent, sorted by name.
    fn agents(&self) -> impl Future<Output = Result<Vec<AgentRecord>, StoreError>> + Send;

    /// Deletes the agent called `name`; `false` if there was none.
    fn delete_agent(
        &self,
        name: &AgentName,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a revocation of `agent` (or of one `instance` of it).
    fn add_revocation(
        &self,
        agent: &AgentName,
        instance: Option<&InstanceId>,
        reason: &str,
        revoked_by: &str,
        at: i64,
    ) -> impl Future<Output = Result<RevocationRecord, StoreError>> + Send;

    /// Every revocation, oldest first.
    fn revocations(&self)
    -> impl Future<Output = Result<Vec<RevocationRecord>, StoreError>> + Send;

    /// Records an admin token by its digest. A digest already stored is a
    /// [`StoreError::Conflict`].
    fn add_admin_token(
        &self,
        name: &str,
        role: Role,
        digest: &str,
        at: i64,
    ) -> impl Future<Output = Result<AdminTokenRecord, StoreError>> + Send;

    /// Every admin token, oldest first.
    fn admin_tokens(
        &self,
    ) -> impl Future<Output = Result<Vec<AdminTokenRecord>, StoreError>> + Send;

    /// How many admin tokens exist (0 means the first one must be created).
    fn admin_token_count(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Stores a new approval request. An id already stored is a
    /// [`StoreError::Conflict`].
    fn create_approval(
        &self,
        approval: &ApprovalRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The approval with this decision id.
    fn approval(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ApprovalRecord>, StoreError>> + Send;

    /// Approvals, newest first, at most [`APPROVALS_LIMIT`]; only those with
    /// `status` if given.
    fn approvals(
        &self,
        status: Option<ApprovalStatus>,
    ) -> impl Future<Output = Result<Vec<ApprovalRecord>, StoreError>> + Send;

    /// Approves or rejects a pending approval that has not expired at `at`.
    ///
    /// A missing one is [`StoreError::NotFound`]; one already decided, or expired
    /// (which is then marked [`ApprovalStatus::Expired`]), is a
    /// [`StoreError::Conflict`] naming its status.
    fn decide_approval(
        &self,
        id: &str,
        approve: bool,
        by: &str,
        note: Option<&str>,
        at: i64,
    ) -> impl Future<Output = Result<ApprovalRecord, StoreError>> + Send;

    /// Marks every pending approval whose `expires_at` is at or before `now` as
    /// expired; returns how many.
    fn expire_approvals(&self, now: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// How many of `agent`'s approvals (any instance) wait for a person and
    /// have not expired at `now`.
    fn pending_approvals_of(
        &self,
        agent: &str,
        now: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Atomically takes one approved, unconsumed approval matching `wanted` (approved
    /// before it expired) and marks it consumed at `now`. Approvals are
    /// single-use: of concurrent callers, at most one gets it.
    fn consume_approval(
        &self,
        wanted: &ApprovalMatch<'_>,
        now: i64,
    ) -> impl Future<Output = Result<Option<ApprovalRecord>, StoreError>> + Send;

    /// Makes a consumed approval usable again: the action it allowed could
    /// not be recorded, so it did not run. `false` if there was none to release.
    fn release_approval(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
