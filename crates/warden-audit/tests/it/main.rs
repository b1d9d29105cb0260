//! Integration tests of `warden-audit`: published vectors, proofs over stored
//! nodes, and export verification.

mod export;
mod proofs;
mod vectors;

use warden_audit::{Hash, leaf_hash};

/// The eight leaf inputs of the RFC 6962 reference tests (Certificate
/// Transparency's `merkle_tree_test`, transparency-dev's `testonly`).
pub(crate) const TEST_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

pub(crate) fn test_leaf_hashes() -> Vec<Hash> {
    TEST_LEAVES
        .iter()
        .map(|h| leaf_hash(&hex::decode(h).unwrap_or_default()))
        .collect()
}

pub(crate) fn h(hex_text: &str) -> Hash {
    hex::decode(hex_text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| unreachable!("bad test hash {hex_text}"))
}
