//! Warden's shared vocabulary.
//!
//! Every other crate speaks in these types: the SPIFFE ID of an agent instance,
//! the names of agents, the five operation kinds, and the outcome of a decision.
//! The types are small, validated on construction, and carry no async or I/O.
//!
//! ```
//! use warden_types::{SpiffeId, Operation};
//!
//! let id: SpiffeId = "spiffe://example.org/agent/invoice-bot/i-1".parse().unwrap();
//! assert_eq!(id.agent().as_str(), "invoice-bot");
//! assert_eq!(id.instance().as_str(), "i-1");
//! assert_eq!("write".parse::<Operation>().unwrap(), Operation::Write);
//! ```

mod decision;
mod ids;
mod operation;
mod time;

pub use decision::{DecisionOutcome, Role};
pub use ids::{AgentName, IdError, InstanceId, SpiffeId, TrustDomain};
pub use operation::{Operation, UnknownOperation};
pub use time::{civil_utc, rfc3339};
