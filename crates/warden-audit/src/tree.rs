//! Node addressing and the compact range that appends leaves.

use std::fmt;

use crate::{AuditError, Hash, empty_root, node_hash};

/// The address of a perfect subtree: node `(level, index)` is the root of the
/// subtree over leaves `[index·2^level, (index+1)·2^level)`. Level 0 holds the
/// leaf hashes.
///
/// Only perfect subtrees have an address, so a node, once written, never
/// changes as the log grows.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = a leaf hash).
    pub level: u8,
    /// Position among the nodes of the same level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaf hash of leaf `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// The first leaf this node covers.
    pub const fn first_leaf(&self) -> u64 {
        self.index << self.level
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node (level {}, index {})", self.level, self.index)
    }
}

/// The perfect subtrees that decompose the leaf range `[begin, end)`, from
/// left to right, each as large as alignment allows.
pub(crate) fn range_nodes(mut begin: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    while begin < end {
        let mut level = if begin == 0 {
            63
        } else {
            begin.trailing_zeros()
        };
        let remaining = end - begin;
        while (1u64 << level) > remaining {
            level -= 1;
        }
        // `level` is at most 63, so it fits a u8.
        out.push(NodeId::new(level as u8, begin >> level));
        begin += 1u64 << level;
    }
    out
}

/// The nodes that make up the right border of a tree of `size` leaves: the
/// perfect subtrees decomposing `[0, size)`, largest (leftmost) first. These
/// are what [`CompactRange::from_nodes`] needs after a restart.
pub fn border(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

/// Folds the hashes of a range's perfect-subtree decomposition into the range's
/// Merkle tree hash, from the right: `node_hash(p0, node_hash(p1, … pn))`.
/// Correct for a range aligned on a power of two at least as large as the
/// range, which is every range an RFC 6962 proof or root uses.
pub(crate) fn fold_right<'a>(hashes: impl DoubleEndedIterator<Item = &'a Hash>) -> Option<Hash> {
    let mut iter = hashes.rev();
    let mut acc = *iter.next()?;
    for left in iter {
        acc = node_hash(left, &acc);
    }
    Some(acc)
}

/// The right border of an append-only Merkle tree: enough state to append
/// leaves and compute the root, `O(log n)` hashes in memory.
///
/// ```
/// use warden_audit::{CompactRange, NodeId, leaf_hash, node_hash};
///
/// let mut range = CompactRange::new();
/// let a = leaf_hash(b"a");
/// let b = leaf_hash(b"b");
/// assert_eq!(range.append(a), vec![(NodeId::leaf(0), a)]);
/// let completed = range.append(b);
/// assert_eq!(completed, vec![(NodeId::leaf(1), b), (NodeId::new(1, 0), node_hash(&a, &b))]);
/// assert_eq!(range.root(), node_hash(&a, &b));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// Hashes of `border(size)`, in the same order.
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The border nodes of a tree of `size` leaves: the same as the free
    /// function [`border`](crate::border).
    pub fn border(size: u64) -> Vec<NodeId> {
        border(size)
    }

    /// Rebuilds the range of a tree of `size` leaves from its stored border
    /// nodes (see [`border`]). `nodes` may come in any order and may hold other
    /// nodes too; each border node must be present, and a node given twice
    /// must have the same hash both times.
    pub fn from_nodes(size: u64, nodes: &[(NodeId, Hash)]) -> Result<Self, AuditError> {
        let ids = border(size);
        let mut hashes = Vec::with_capacity(ids.len());
        for id in ids {
            let mut found: Option<&Hash> = None;
            for (node, hash) in nodes.iter().filter(|(node, _)| *node == id) {
                match found {
                    Some(previous) if previous != hash => {
                        return Err(AuditError::ConflictingNode { node: *node });
                    }
                    _ => found = Some(hash),
                }
            }
            hashes.push(*found.ok_or(AuditError::MissingNode { node: id })?);
        }
        Ok(Self { size, hashes })
    }

    /// Appends a leaf hash and returns every node that became complete: the
    /// leaf itself at level 0, then each parent it completed, lowest first.
    /// Nothing returned ever needs rewriting.
    ///
    /// A tree of `u64::MAX` leaves is full: appending to it returns nothing and
    /// changes nothing.
    pub fn append(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut completed = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        self.append_with(leaf, |id, hash| completed.push((id, *hash)));
        completed
    }

    /// [`append`](Self::append) without allocating: `completed` sees each node
    /// that became complete, lowest first.
    pub fn append_with(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, &Hash)) {
        if self.size == u64::MAX {
            return;
        }
        let mut index = self.size;
        let mut level = 0u8;
        let mut hash = leaf;
        completed(NodeId::new(level, index), &hash);
        while index & 1 == 1 {
            // INVARIANT: `hashes` holds one hash per set bit of `size`, so each
            // trailing one bit of `index` has a left sibling on the stack.
            let Some(left) = self.hashes.pop() else { break };
            hash = node_hash(&left, &hash);
            index >>= 1;
            level += 1;
            completed(NodeId::new(level, index), &hash);
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 Merkle tree hash of all leaves so far ([`empty_root`] for
    /// an empty tree).
    pub fn root(&self) -> Hash {
        fold_right(self.hashes.iter()).unwrap_or_else(empty_root)
    }

    /// The border nodes with their hashes, in the order of [`border`]: what to
    /// keep to rebuild this range with [`from_nodes`](Self::from_nodes).
    pub fn nodes(&self) -> Vec<(NodeId, Hash)> {
        border(self.size)
            .into_iter()
            .zip(self.hashes.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{leaf_hash, root_of};

    #[test]
    fn range_nodes_decompose_aligned_and_unaligned_ranges() {
        assert_eq!(range_nodes(0, 0), vec![]);
        assert_eq!(range_nodes(0, 1), vec![NodeId::new(0, 0)]);
        assert_eq!(
            range_nodes(0, 7),
            vec![NodeId::new(2, 0), NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        assert_eq!(
            range_nodes(4, 7),
            vec![NodeId::new(1, 2), NodeId::new(0, 6)]
        );
        assert_eq!(
            range_nodes(3, 9),
            vec![NodeId::new(0, 3), NodeId::new(2, 1), NodeId::new(0, 8)]
        );
        assert_eq!(border(u64::MAX).len(), 64);
    }

    #[test]
    fn append_reports_completed_nodes_and_root_matches_reference() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut range = CompactRange::new();
        assert_eq!(range.root(), empty_root());
        for (i, leaf) in leaves.iter().enumerate() {
            let completed = range.append(*leaf);
            assert_eq!(completed[0], (NodeId::leaf(i as u64), *leaf));
            assert_eq!(completed.len(), 1 + (i as u64).trailing_ones() as usize);
            for (id, hash) in &completed {
                let first = id.first_leaf() as usize;
                let end = first + (1usize << id.level);
                assert_eq!(*hash, root_of(&leaves[first..end]), "{id}");
            }
            assert_eq!(range.root(), root_of(&leaves[..=i]));
            let rebuilt = CompactRange::from_nodes(range.size(), &range.nodes());
            assert_eq!(rebuilt.ok().as_ref(), Some(&range));
        }
    }

    #[test]
    fn from_nodes_names_missing_and_conflicting_nodes() {
        let mut range = CompactRange::new();
        for i in 0u8..3 {
            range.append(leaf_hash(&[i]));
        }
        let mut nodes = range.nodes();
        let missing = nodes.remove(0);
        assert!(matches!(
            CompactRange::from_nodes(3, &nodes),
            Err(AuditError::MissingNode { node }) if node == missing.0
        ));
        nodes.push(missing);
        nodes.push((missing.0, [7; 32]));
        assert!(matches!(
            CompactRange::from_nodes(3, &nodes),
            Err(AuditError::ConflictingNode { .. })
        ));
    }
}
