//! Inclusion and consistency proofs: which stored nodes make them, and how to
//! check them (RFC 9162 §2.1.3 and §2.1.4).

use std::collections::HashMap;

use crate::hash::largest_power_of_two_below;
use crate::tree::{fold_right, range_nodes};
use crate::{AuditError, Hash, NodeId, empty_root, node_hash};

/// A recipe for a proof (or a root) out of stored nodes: which nodes to read
/// ([`nodes`](Self::nodes), `O(log n)` of them), and how to combine them
/// ([`assemble`](Self::assemble)).
///
/// Each proof element is the Merkle tree hash of a leaf range. Most are
/// perfect subtrees, stored as one node; an element on the right edge of the
/// tree is not, and is folded from the perfect subtrees that decompose it.
///
/// ```
/// use std::collections::HashMap;
/// use warden_audit::{CompactRange, inclusion_plan, leaf_hash, verify_inclusion};
///
/// let mut range = CompactRange::new();
/// let mut store = HashMap::new();
/// for i in 0u8..5 {
///     store.extend(range.append(leaf_hash(&[i])));
/// }
/// let plan = inclusion_plan(2, 5)?;
/// let proof = plan.assemble(&store)?;
/// verify_inclusion(&leaf_hash(&[2]), 2, 5, &proof, &range.root())?;
/// # Ok::<(), warden_audit::AuditError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    /// The leaf ranges `[start, end)` whose hashes form the result, in order.
    elements: Vec<(u64, u64)>,
}

impl ProofPlan {
    /// The nodes to read, each once, in the order the proof first uses them.
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = Vec::new();
        for &(start, end) in &self.elements {
            for node in range_nodes(start, end) {
                if !out.contains(&node) {
                    out.push(node);
                }
            }
        }
        out
    }

    /// Combines the nodes read into the proof (for a [`root_plan`], a single
    /// element: the root). Fails naming the first node that is missing.
    pub fn assemble(&self, nodes: &HashMap<NodeId, Hash>) -> Result<Vec<Hash>, AuditError> {
        let mut out = Vec::with_capacity(self.elements.len());
        for &(start, end) in &self.elements {
            let ids = range_nodes(start, end);
            let mut hashes = Vec::with_capacity(ids.len());
            for node in ids {
                hashes.push(*nodes.get(&node).ok_or(AuditError::MissingNode { node })?);
            }
            out.push(fold_right(hashes.iter()).unwrap_or_else(empty_root));
        }
        Ok(out)
    }

    /// The leaf ranges `[start, end)` whose Merkle tree hashes make the result.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.elements
    }
}

/// The plan for the inclusion proof of leaf `index` in the tree of `size`
/// leaves (RFC 9162 §2.1.3.1), elements ordered from the leaf up.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, AuditError> {
    if index >= size {
        return Err(AuditError::IndexOutOfRange { index, size });
    }
    let mut elements = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = largest_power_of_two_below(hi - lo);
        if index < lo + k {
            elements.push((lo + k, hi));
            hi = lo + k;
        } else {
            elements.push((lo, lo + k));
            lo += k;
        }
    }
    elements.reverse();
    Ok(ProofPlan { elements })
}

/// The plan for the consistency proof between the trees of `old_size` and
/// `new_size` leaves (RFC 9162 §2.1.4.1). `0 < old_size <= new_size`; equal
/// sizes give an empty proof.
pub fn consistency_plan(old_size: u64, new_size: u64) -> Result<ProofPlan, AuditError> {
    let reject = |reason| AuditError::SizeOrder {
        old_size,
        new_size,
        reason,
    };
    if old_size == 0 {
        return Err(reject("a proof from the empty tree proves nothing"));
    }
    if old_size > new_size {
        return Err(reject("the old size is larger than the new size"));
    }
    let mut appended = Vec::new();
    let mut terminal = None;
    let (mut lo, mut hi, mut m, mut whole) = (0u64, new_size, old_size, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !whole {
                terminal = Some((lo, hi));
            }
            break;
        }
        let k = largest_power_of_two_below(n);
        if m <= k {
            appended.push((lo + k, hi));
            hi = lo + k;
        } else {
            appended.push((lo, lo + k));
            lo += k;
            m -= k;
            whole = false;
        }
    }
    let elements = terminal
        .into_iter()
        .chain(appended.into_iter().rev())
        .collect();
    Ok(ProofPlan { elements })
}

/// The plan that computes the root of the tree of `size` leaves from stored
/// nodes (the border of that size): [`ProofPlan::assemble`] returns one hash.
pub fn root_plan(size: u64) -> ProofPlan {
    ProofPlan {
        elements: vec![(0, size)],
    }
}

/// Checks that `leaf` is the leaf hash at `index` in the tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), AuditError> {
    let fail = |reason| Err(AuditError::InclusionProof { reason });
    if index >= size {
        return fail("the leaf index is outside the tree");
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return fail("the proof is too long");
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return fail("the proof is too short");
    }
    if r != *root {
        return fail("the computed root differs from the expected root");
    }
    Ok(())
}

/// Checks that the tree of `new_size` leaves with root `new_root` extends the
/// tree of `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), AuditError> {
    let fail = |reason| Err(AuditError::ConsistencyProof { reason });
    if old_size > new_size {
        return fail("the old size is larger than the new size");
    }
    if old_size == 0 {
        return fail("a proof from the empty tree proves nothing");
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return fail("equal sizes need an empty proof");
        }
        if old_root != new_root {
            return fail("equal sizes with different roots");
        }
        return Ok(());
    }
    let path: Vec<&Hash> = if old_size.is_power_of_two() {
        std::iter::once(old_root).chain(proof).collect()
    } else {
        proof.iter().collect()
    };
    let Some((first, rest)) = path.split_first() else {
        return fail("the proof is empty");
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (**first, **first);
    for c in rest {
        if s == 0 {
            return fail("the proof is too long");
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return fail("the proof is too short");
    }
    if fr != *old_root {
        return fail("the proof does not lead to the old root");
    }
    if sr != *new_root {
        return fail("the proof does not lead to the new root");
    }
    Ok(())
}
