//! Warden's agent inventory and its sightings of agents it does not govern.
//!
//! - [`collect`] builds one [`AgentInventory`] per agent from what Warden
//!   already knows, never typed twice: the manifest (owner, purpose, risk,
//!   grants, data, budgets), `warden.toml` (where each granted tool's data
//!   goes and what it is cleared for), the store (tokens issued and when each
//!   was last used, revocations) and the activity counted with the audit log
//!   (decisions by outcome over 24 h / 7 d / 30 d, classes touched, tools
//!   never used). [`csv::register`] writes the agents and the external tool
//!   servers as rows of a DORA register of ICT assets and third-party services.
//! - [`Sightings`] aggregates, in bounded memory, the callers Warden refused
//!   for identity reasons, so that an agent that never registered shows up;
//!   [`discoveries::parse`] turns a `warden discover` report into sightings.
//!
//! ```
//! use warden_inventory::{Sighted, Sightings};
//!
//! let sightings = Sightings::default();
//! for _ in 0..3 {
//!     sightings.note(&Sighted {
//!         kind: "unknown_agent",
//!         claimed: "spiffe://example.org/agent/ghost/laptop",
//!         source: "127.0.0.1",
//!         user_agent: "curl/8.5.0",
//!         client: "",
//!         tool: Some("crm/lookup"),
//!         reason: "agent `ghost` is not registered",
//!         at_ms: 1_700_000_000_000,
//!     });
//! }
//! let taken = sightings.take();
//! assert_eq!(taken.len(), 1);
//! assert_eq!(taken[0].count, 3);
//! ```

mod claims;
mod collect;
pub mod csv;
pub mod discoveries;
mod error;
mod record;
mod sightings;

pub use claims::{Claimed, claimed_identity};
pub use collect::{Sources, build, collect};
pub use error::InventoryError;
pub use record::{
    Activity, AgentInventory, Budgets, Counts, Destination, GrantedTool, Identity, Instance,
    Inventory, Revocation, ThirdParty, Token, Touched,
};
pub use sightings::{
    MAX_PENDING, MAX_TOOLS, SIGHTINGS_KEPT, SIGHTINGS_TTL_DAYS, Sighted, Sightings, sighting_kind,
};
