//! Proofs made from stored nodes verify, read few nodes, and break when any
//! node they use is altered.

use std::collections::HashMap;

use proptest::prelude::*;
use warden_audit::*;

struct Log {
    leaves: Vec<Hash>,
    nodes: HashMap<NodeId, Hash>,
    roots: Vec<Hash>,
}

fn log(size: u64) -> Log {
    let mut range = CompactRange::new();
    let mut log = Log {
        leaves: Vec::new(),
        nodes: HashMap::new(),
        roots: vec![range.root()],
    };
    for i in 0..size {
        let leaf = leaf_hash(&i.to_le_bytes());
        log.leaves.push(leaf);
        for (id, hash) in range.append(leaf) {
            assert!(log.nodes.insert(id, hash).is_none(), "{id} written twice");
        }
        log.roots.push(range.root());
    }
    log
}

/// Only the nodes a plan asks for, so assembling cannot use more.
fn read(plan: &ProofPlan, log: &Log) -> HashMap<NodeId, Hash> {
    plan.nodes()
        .into_iter()
        .map(|id| (id, log.nodes[&id]))
        .collect()
}

fn log2_ceil(n: u64) -> usize {
    (64 - n.saturating_sub(1).leading_zeros()) as usize
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn compact_range_root_equals_reference(size in 0u64..1200) {
        let log = log(size);
        for s in [0, size / 3, size / 2, size] {
            prop_assert_eq!(log.roots[s as usize], root_of(&log.leaves[..s as usize]));
        }
    }

    #[test]
    fn inclusion_proofs_from_stored_nodes_verify(size in 1u64..1200, pick in any::<u64>()) {
        let log = log(size);
        let index = pick % size;
        let plan = inclusion_plan(index, size)?;
        let nodes = read(&plan, &log);
        prop_assert!(nodes.len() <= 2 * log2_ceil(size) + 1);
        let proof = plan.assemble(&nodes)?;
        let root = log.roots[size as usize];
        prop_assert!(verify_inclusion(&log.leaves[index as usize], index, size, &proof, &root).is_ok());
        // Wrong leaf, index or root fail.
        prop_assert!(verify_inclusion(&[0; 32], index, size, &proof, &root).is_err());
        if size > 1 {
            let other = (index + 1) % size;
            prop_assert!(verify_inclusion(&log.leaves[index as usize], other, size, &proof, &root).is_err());
        }
        prop_assert!(verify_inclusion(&log.leaves[index as usize], index, size, &proof, &[1; 32]).is_err());
        // Altering any node read breaks the proof.
        for id in plan.nodes() {
            let mut altered = nodes.clone();
            if let Some(hash) = altered.get_mut(&id) { hash[7] ^= 0x80; }
            let bad = plan.assemble(&altered)?;
            prop_assert!(verify_inclusion(&log.leaves[index as usize], index, size, &bad, &root).is_err(), "{}", id);
        }
    }

    #[test]
    fn consistency_proofs_from_stored_nodes_verify(new in 1u64..1200, pick in any::<u64>()) {
        let log = log(new);
        let old = 1 + pick % new;
        let plan = consistency_plan(old, new)?;
        let nodes = read(&plan, &log);
        prop_assert!(nodes.len() <= 2 * log2_ceil(new) + 2);
        let proof = plan.assemble(&nodes)?;
        let (r1, r2) = (log.roots[old as usize], log.roots[new as usize]);
        prop_assert!(verify_consistency(old, new, &r1, &r2, &proof).is_ok());
        prop_assert!(verify_consistency(old, new, &r2, &r1, &proof).is_err() || r1 == r2);
        for id in plan.nodes() {
            let mut altered = nodes.clone();
            if let Some(hash) = altered.get_mut(&id) { hash[0] ^= 1; }
            let bad = plan.assemble(&altered)?;
            prop_assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err(), "{}", id);
        }
    }

    #[test]
    fn past_roots_from_stored_nodes(size in 0u64..1200, pick in any::<u64>()) {
        let log = log(size);
        let past = pick % (size + 1);
        let plan = root_plan(past);
        prop_assert_eq!(plan.nodes(), border(past));
        prop_assert_eq!(plan.assemble(&read(&plan, &log))?, vec![log.roots[past as usize]]);
        // A restart rebuilds the range from the border and carries on.
        let border_nodes: Vec<(NodeId, Hash)> = border(past).into_iter().map(|id| (id, log.nodes[&id])).collect();
        let mut range = CompactRange::from_nodes(past, &border_nodes)?;
        for leaf in &log.leaves[past as usize..] {
            for (id, hash) in range.append(*leaf) {
                prop_assert_eq!(log.nodes[&id], hash);
            }
        }
        prop_assert_eq!(range.root(), log.roots[size as usize]);
    }
}

#[test]
fn plans_stay_logarithmic_for_huge_trees() {
    for (index, size) in [
        (0, u64::MAX),
        (u64::MAX - 1, u64::MAX),
        (1 << 40, (1 << 62) + 12345),
    ] {
        let nodes = inclusion_plan(index, size)
            .map(|p| p.nodes().len())
            .unwrap_or(usize::MAX);
        assert!(nodes <= 128, "{index} in {size}: {nodes} nodes");
    }
    for (old, new) in [(1, u64::MAX), (u64::MAX - 1, u64::MAX), (12345, 1 << 50)] {
        let nodes = consistency_plan(old, new)
            .map(|p| p.nodes().len())
            .unwrap_or(usize::MAX);
        assert!(nodes <= 130, "{old} to {new}: {nodes} nodes");
    }
    assert_eq!(root_plan(u64::MAX).nodes().len(), 64);
}

#[test]
fn invalid_plans_and_missing_nodes_are_errors() {
    assert!(matches!(
        inclusion_plan(5, 5),
        Err(AuditError::IndexOutOfRange { index: 5, size: 5 })
    ));
    assert!(matches!(
        consistency_plan(0, 5),
        Err(AuditError::SizeOrder { .. })
    ));
    assert!(matches!(
        consistency_plan(6, 5),
        Err(AuditError::SizeOrder { .. })
    ));
    assert_eq!(consistency_plan(5, 5).map(|p| p.nodes()).ok(), Some(vec![]));
    let plan = inclusion_plan(3, 6).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(matches!(
        plan.assemble(&HashMap::new()),
        Err(AuditError::MissingNode { .. })
    ));
    assert_eq!(
        root_plan(0).assemble(&HashMap::new()).ok(),
        Some(vec![empty_root()])
    );
}
