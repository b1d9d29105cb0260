//! The one error type of the store.

/// Why a storage operation failed.
///
/// Every variant names what failed; a connection URL appears only in its redacted
/// form (see [`StoreLocation`](crate::StoreLocation)'s `Display`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or connected to.
    #[error("cannot open store {location}: {source}")]
    Open {
        /// Where the store was, with any password redacted.
        location: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store location text is not one Warden understands.
    #[error("invalid store location `{location}`: {reason}")]
    InvalidLocation {
        /// The location as given, with any password redacted.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A schema migration failed; the database is left at the previous version.
    #[error("schema migration {version} failed: {source}")]
    Migration {
        /// The version of the migration that failed.
        version: i64,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },
    /// The database was migrated by a newer Warden than this one.
    #[error(
        "database schema version {found} is newer than this build of warden knows ({known}): upgrade warden"
    )]
    NewerSchema {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// A query failed.
    #[error("store operation `{operation}` failed: {source}")]
    Query {
        /// The operation that failed, e.g. `put_agent`.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },
    /// A statement on the audit log's own SQLite connection failed.
    #[error("store operation `{operation}` failed: {source}")]
    Sqlite {
        /// The operation that failed, e.g. `append audit records`.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// The requested record does not exist.
    #[error("{what} `{key}` does not exist")]
    NotFound {
        /// The kind of record, e.g. `approval`.
        what: &'static str,
        /// The key that was looked up.
        key: String,
    },
    /// The write conflicts with the current state (e.g. the approval was already
    /// decided, or a unique key is taken).
    #[error("{message}")]
    Conflict {
        /// What conflicts, naming the current state.
        message: String,
    },
    /// A batch's payload keys are wrapped under a wrapping key that an
    /// erasure destroyed meanwhile: wrap them under a fresh key and retry.
    #[error("the payload wrapping key {id} was destroyed by an erasure")]
    WrapKeyDestroyed {
        /// The key's id, in hex.
        id: String,
    },
    /// A stored row holds a value this build cannot read.
    #[error("corrupt {what} in store: {detail}")]
    Corrupt {
        /// What was being read, e.g. `admin token role`.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

impl StoreError {
    /// Wraps a query error, turning a unique-key violation into a [`StoreError::Conflict`].
    pub(crate) fn query(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| match &source {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                message: format!("`{operation}` conflicts with an existing record: {db}"),
            },
            _ => StoreError::Query { operation, source },
        }
    }
}
