//! RFC 6962 / RFC 9162 hashing: leaves, interior nodes and the empty tree.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// The hash of a leaf: `SHA-256(0x00 ‖ data)` (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)` (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 65];
    block[0] = 0x01;
    block[1..33].copy_from_slice(left);
    block[33..].copy_from_slice(right);
    Sha256::digest(block).into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The Merkle tree hash (MTH) of a list of leaf hashes, computed by the
/// recursive definition of RFC 9162 §2.1.1. A reference for tests and small
/// trees; [`CompactRange`](crate::CompactRange) does the same incrementally.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let split = largest_power_of_two_below(leaves.len() as u64) as usize;
            node_hash(&root_of(&leaves[..split]), &root_of(&leaves[split..]))
        }
    }
}

/// The largest power of two strictly smaller than `n`, for `n >= 2`.
pub(crate) fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The SHA-256 of `data`, in lowercase hex.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}
