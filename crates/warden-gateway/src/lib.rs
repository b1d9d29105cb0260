//! Warden's gateway: the data plane (decision API) and the admin plane (agents,
//! revocations, policies, approvals), on separate listeners.
//!
//! Agents authenticate with JWT-SVIDs and reach only the data plane; operators
//! use admin tokens with a role (`admin`, `approver`, `auditor`) on the admin
//! plane. Every error is `{"error": {"code", "message"}}` with its HTTP status;
//! a decision, allow or deny, is a 200 answer.
//!
//! The decision path reads nothing from the store: the [`Gateway`] holds the
//! compiled policy snapshot, revocations and admin tokens in memory and swaps
//! them when the store's change counter moves (checked every
//! [`WATCH_PERIOD`]), or at once when the change came through this node's
//! admin API. Only `needs_approval` decisions touch the store, and if it is
//! unavailable they are denied. Every decision is a record in the audit log
//! ([`audit`]) before it is answered (with sync durability); if the log cannot
//! be written, the decision is denied.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use warden_gateway::audit::{AuditLog, AuditSettings};
//! use warden_gateway::{ConfigSource, Gateway, Listeners, run};
//! use warden_store::{AnyStore, StoreLocation};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = AnyStore::open(&StoreLocation::parse(None, "warden-data".as_ref())?).await?;
//! let (key, _) = warden_identity::SigningKey::load_or_create("warden-data/keys/jwt-svid.pem".as_ref())?;
//! let (signer, _) = warden_audit::CheckpointSigner::load_or_create(
//!     "warden-data/keys/audit-checkpoint.key".as_ref(),
//!     "example.org/warden-audit",
//! )?;
//! let settings = AuditSettings {
//!     durability: warden_policy::Durability::Sync,
//!     checkpoint_every: 1000,
//!     checkpoint_interval: Duration::from_secs(10),
//!     witness_dir: "warden-data/witness".into(),
//!     signer: Arc::new(signer),
//!     origin: "example.org/warden-audit".into(),
//!     payload_keys: warden_audit::WrapKeyDir::new("warden-data/keys/payload-wrap"),
//! };
//! let (stop_audit, audit_stopped) = tokio::sync::watch::channel(false);
//! let (audit, writer) = AuditLog::start(store.clone(), settings, audit_stopped).await?;
//! let gateway = Gateway::start(ConfigSource::File("examples/warden.toml".into()), store, Arc::new(key), audit).await?;
//! let listeners = Listeners::bind("127.0.0.1:7700", "127.0.0.1:7701").await?;
//! run(gateway, listeners, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! stop_audit.send(true)?;
//! writer.await?;
//! # Ok(())
//! # }
//! ```

mod admin;
mod alerting;
pub mod audit;
mod audit_api;
mod auth;
mod auth_audit;
pub mod ca_keys;
mod console;
mod decisions;
mod error;
mod federation;
mod incidents;
mod injection;
mod inputs;
mod inventory;
mod llm;
mod mcp;
mod monitor_api;
mod observe;
pub mod pins;
mod records;
pub mod reports;
mod serve;
mod shared;
pub mod signing_keys;
mod state;
mod telemetry;
mod tls;

pub use decisions::{DecisionAnswer, args_digest};
pub use error::{ApiError, GatewayError};
pub use federation::{
    DEFAULT_REFRESH, MIN_REFRESH, RETRY_AFTER_FAILURE, SSL_CERT_FILE_ENV, refresh_interval,
};
pub use incidents::{build_report, incident_record, list_incidents, load_incident, save_incident};
pub use inputs::{
    ConfigSource, build_classifier, classifier_config, compile_inputs, load_inputs, registered_file,
};
pub use inventory::sighting_json;
pub use serve::{Listeners, WATCH_PERIOD, admin_router, data_router, run};
pub use state::Gateway;
pub use tls::X509Setup;

/// Now, in unix milliseconds.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
