//! The inventory's errors.

/// What can go wrong building the inventory or reading a discovery report.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] warden_store::StoreError),
    /// No agent of that name is registered.
    #[error("no agent `{0}`")]
    UnknownAgent(String),
    /// A discovery report that cannot be taken, with where.
    #[error("discovery report: {0}")]
    BadReport(String),
}
