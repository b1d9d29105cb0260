//! Sightings from traffic: every caller refused for identity reasons, kept
//! in bounded memory between two saves.
//!
//! Bounds, so that a flood of junk grows neither memory nor the table:
//! - sightings are aggregated by (kind, claimed identity, source address,
//!   user agent, MCP client); a repeat only adds to a count;
//! - at most [`MAX_PENDING`] distinct sightings wait for the next save;
//!   beyond that, a new one is folded into its source address's
//!   `(many)` sighting, and past a further margin into its kind's;
//! - each keeps at most [`MAX_TOOLS`] tools tried;
//! - the store keeps the [`SIGHTINGS_KEPT`] most recently seen, and drops
//!   any not seen for [`SIGHTINGS_TTL_DAYS`] days.

use std::collections::HashMap;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use warden_store::SightingRecord;

use crate::claims::bounded;

/// Distinct sightings held between two saves.
pub const MAX_PENDING: usize = 1024;
/// Room kept for the folded `(many)` sightings beyond [`MAX_PENDING`].
const FOLD_MARGIN: usize = 64;
/// Tools kept per sighting.
pub const MAX_TOOLS: usize = 16;
/// Sightings the store keeps (the most recently seen).
pub const SIGHTINGS_KEPT: i64 = 10_000;
/// A sighting not seen for this many days is dropped.
pub const SIGHTINGS_TTL_DAYS: i64 = 30;

/// What the folded sightings claim.
const MANY: &str = "(many)";

/// One refused call, as the gateway saw it.
#[derive(Debug, Clone, Copy)]
pub struct Sighted<'a> {
    /// What kind of refusal ([`sighting_kind`]).
    pub kind: &'a str,
    /// The identity it claimed (a SPIFFE ID, an issuer), or empty.
    pub claimed: &'a str,
    /// The source address.
    pub source: &'a str,
    /// Its `User-Agent`.
    pub user_agent: &'a str,
    /// The MCP client (`name/version`) from `initialize`, or empty.
    pub client: &'a str,
    /// The tool it tried (`server/tool`), if known.
    pub tool: Option<&'a str>,
    /// Why it was refused.
    pub reason: &'a str,
    /// When (unix ms).
    pub at_ms: i64,
}

/// The kind of sighting for a refusal: `code` is the refusal's error code
/// (`missing_token`, `malformed_token`, `invalid_token`, `unknown_agent`,
/// `revoked`), `subject` what the token claimed, `trust_domain` Warden's own.
///
/// ```
/// use warden_inventory::sighting_kind;
/// assert_eq!(sighting_kind("missing_token", None, "example.org"), "no_token");
/// assert_eq!(
///     sighting_kind("invalid_token", Some("spiffe://other.org/agent/x/1"), "example.org"),
///     "foreign_trust_domain"
/// );
/// assert_eq!(sighting_kind("invalid_token", Some("spiffe://example.org/agent/x/1"), "example.org"), "invalid_token");
/// ```
pub fn sighting_kind(code: &str, subject: Option<&str>, trust_domain: &str) -> &'static str {
    match code {
        "missing_token" => "no_token",
        "malformed_token" => "malformed_token",
        "unknown_agent" => "unknown_agent",
        "revoked" => "revoked",
        _ => {
            let domain = subject
                .and_then(|s| s.strip_prefix("spiffe://"))
                .map(|rest| rest.split('/').next().unwrap_or_default());
            match domain {
                Some(domain) if !domain.eq_ignore_ascii_case(trust_domain) => {
                    "foreign_trust_domain"
                }
                _ => "invalid_token",
            }
        }
    }
}

/// The sightings waiting to be saved.
#[derive(Debug, Default)]
pub struct Sightings {
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    by_id: HashMap<String, SightingRecord>,
    tools: HashMap<String, Vec<String>>,
}

/// A sighting's id: a digest of what identifies it.
pub(crate) fn sighting_id(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hex::encode(&hash.finalize()[..8])
}

impl Sightings {
    /// Counts one refused call; `true` when it is the first of its kind
    /// since the last save (worth telling someone about).
    pub fn note(&self, seen: &Sighted<'_>) -> bool {
        let claimed = bounded(seen.claimed, 256);
        let user_agent = bounded(seen.user_agent, 256);
        let client = bounded(seen.client, 128);
        let mut pending = self.pending.lock();
        let mut key = [
            seen.kind.to_owned(),
            claimed,
            seen.source.to_owned(),
            user_agent,
            client,
        ];
        let mut id = sighting_id(&key.each_ref().map(String::as_str));
        let len = pending.by_id.len();
        if !pending.by_id.contains_key(&id) && len >= MAX_PENDING {
            // Folded into the source's sighting, then into the kind's.
            key[1] = MANY.to_owned();
            key[3] = MANY.to_owned();
            key[4] = MANY.to_owned();
            id = sighting_id(&key.each_ref().map(String::as_str));
            if !pending.by_id.contains_key(&id) && len >= MAX_PENDING + FOLD_MARGIN {
                key[2] = MANY.to_owned();
                id = sighting_id(&key.each_ref().map(String::as_str));
            }
        }
        let tools = pending.tools.entry(id.clone()).or_default();
        if let Some(tool) = seen.tool {
            let tool = bounded(tool, 128);
            if tools.len() < MAX_TOOLS && !tools.contains(&tool) {
                tools.push(tool);
            }
        }
        let new = !pending.by_id.contains_key(&id);
        let entry = pending
            .by_id
            .entry(id.clone())
            .or_insert_with(|| SightingRecord {
                id,
                origin: "traffic".to_owned(),
                kind: key[0].clone(),
                claimed: key[1].clone(),
                source: key[2].clone(),
                user_agent: key[3].clone(),
                client: key[4].clone(),
                detail: String::new(),
                tools: String::new(),
                count: 0,
                first_seen: seen.at_ms,
                last_seen: seen.at_ms,
            });
        entry.count += 1;
        entry.first_seen = entry.first_seen.min(seen.at_ms);
        entry.last_seen = entry.last_seen.max(seen.at_ms);
        entry.detail = serde_json::json!({ "reason": bounded(seen.reason, 512) }).to_string();
        new
    }

    /// Takes what waits to be saved (counts since the last take).
    pub fn take(&self) -> Vec<SightingRecord> {
        let mut pending = self.pending.lock();
        let mut tools = std::mem::take(&mut pending.tools);
        pending
            .by_id
            .drain()
            .map(|(id, mut record)| {
                let tried = tools.remove(&id).unwrap_or_default();
                record.tools = serde_json::to_string(&tried).unwrap_or_else(|_| "[]".to_owned());
                record
            })
            .collect()
    }

    /// Puts back sightings that could not be saved (their counts add up).
    pub fn restore(&self, records: Vec<SightingRecord>) {
        let mut pending = self.pending.lock();
        for record in records {
            if pending.by_id.len() >= MAX_PENDING + FOLD_MARGIN {
                break;
            }
            match pending.by_id.get_mut(&record.id) {
                Some(entry) => {
                    entry.count += record.count;
                    entry.first_seen = entry.first_seen.min(record.first_seen);
                }
                None => {
                    pending.by_id.insert(record.id.clone(), record);
                }
            }
        }
    }

    /// How many distinct sightings wait.
    pub fn len(&self) -> usize {
        self.pending.lock().by_id.len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn junk(n: usize, source: &str) -> String {
        format!("spiffe://junk-{n}.example/agent/{source}/x")
    }

    #[test]
    fn a_flood_stays_within_the_bound_and_every_call_is_counted() {
        let sightings = Sightings::default();
        let sources = ["10.0.0.1", "10.0.0.2"];
        for n in 0..100_000 {
            let claimed = junk(n, "bot");
            sightings.note(&Sighted {
                kind: "invalid_token",
                claimed: &claimed,
                source: sources[n % 2],
                user_agent: "junk",
                client: "",
                tool: Some("a/b"),
                reason: "bad signature",
                at_ms: n as i64,
            });
        }
        assert!(
            sightings.len() <= MAX_PENDING + FOLD_MARGIN,
            "{}",
            sightings.len()
        );
        let taken = sightings.take();
        assert_eq!(taken.iter().map(|s| s.count).sum::<i64>(), 100_000);
        let folded: Vec<_> = taken.iter().filter(|s| s.claimed == MANY).collect();
        assert_eq!(folded.len(), 2, "one per source address");
        assert!(sightings.is_empty());
    }

    #[test]
    fn tools_are_kept_once_and_bounded() {
        let sightings = Sightings::default();
        for n in 0..40 {
            let tool = format!("crm/tool-{}", n % 20);
            sightings.note(&Sighted {
                kind: "unknown_agent",
                claimed: "spiffe://example.org/agent/ghost/1",
                source: "127.0.0.1",
                user_agent: "curl",
                client: "",
                tool: Some(&tool),
                reason: "agent `ghost` is not registered",
                at_ms: 5,
            });
        }
        let taken = sightings.take();
        let tools: Vec<String> = serde_json::from_str(&taken[0].tools).unwrap();
        assert_eq!(tools.len(), MAX_TOOLS);
        assert_eq!(taken[0].count, 40);
    }
}
