//! Fixed-depth sparse Poseidon Merkle trees and their inclusion proofs.
//!
//! A tree of depth `d` has `2^d` leaf positions; an absent leaf holds the tree's *empty
//! leaf* (the hash of its all-zero record), so no tree needs initialising and a fresh leaf is
//! just an update of an empty one. Only non-empty nodes are stored. Nodes are
//! `Poseidon(left, right)`; a path lists the siblings from the leaf up, and the position's
//! bits (least significant first) say on which side each sibling sits.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::hash::{node, Fp};

/// Why an inclusion proof does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// The path has the wrong number of siblings for the tree.
    #[error("the path has {got} siblings, the tree has depth {expected}")]
    WrongDepth {
        /// The tree's depth.
        expected: usize,
        /// Siblings in the path.
        got: usize,
    },
    /// The position does not fit in the tree.
    #[error("position {index} does not fit in a tree of depth {depth}")]
    IndexOutOfRange {
        /// The position.
        index: u64,
        /// The tree's depth.
        depth: usize,
    },
    /// The leaf and path hash to another root.
    #[error("the leaf and path hash to {computed}, not to the root {expected}")]
    RootMismatch {
        /// The root the proof was checked against (hex).
        expected: String,
        /// The root the proof computes (hex).
        computed: String,
    },
}

/// An inclusion proof: a leaf position and its siblings from the bottom up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerklePath {
    /// The leaf's position.
    pub index: u64,
    /// Siblings from the leaf's level up to just below the root.
    pub siblings: Vec<Fp>,
}

impl MerklePath {
    /// The root that `leaf` at this path hashes to.
    pub fn compute_root(&self, leaf: Fp) -> Fp {
        self.siblings
            .iter()
            .enumerate()
            .fold(leaf, |acc, (level, sibling)| {
                if (self.index >> level) & 1 == 1 {
                    node(*sibling, acc)
                } else {
                    node(acc, *sibling)
                }
            })
    }

    /// Checks that `leaf` sits at this path's position in a tree of `depth` with `root`.
    pub fn verify(&self, depth: usize, leaf: Fp, root: Fp) -> Result<(), MerkleError> {
        if self.siblings.len() != depth {
            return Err(MerkleError::WrongDepth {
                expected: depth,
                got: self.siblings.len(),
            });
        }
        if depth < 64 && self.index >> depth != 0 {
            return Err(MerkleError::IndexOutOfRange {
                index: self.index,
                depth,
            });
        }
        let computed = self.compute_root(leaf);
        if computed == root {
            Ok(())
        } else {
            Err(MerkleError::RootMismatch {
                expected: crate::hash::to_hex(&root),
                computed: crate::hash::to_hex(&computed),
            })
        }
    }
}

/// A sparse Merkle tree of fixed depth (at most 64).
#[derive(Clone, Debug)]
pub struct MerkleTree {
    depth: usize,
    /// `empty[h]`: the root of an empty subtree of height `h` (`empty[0]` is the empty leaf).
    empty: Vec<Fp>,
    /// Non-empty nodes by `(height, position at that height)`; height 0 holds the leaves.
    nodes: HashMap<(u8, u64), Fp>,
}

impl MerkleTree {
    /// An empty tree whose absent leaves hold `empty_leaf`.
    pub fn new(depth: usize, empty_leaf: Fp) -> Self {
        assert!((1..=64).contains(&depth), "tree depth must be 1..=64");
        let mut empty = Vec::with_capacity(depth + 1);
        empty.push(empty_leaf);
        for h in 0..depth {
            empty.push(node(empty[h], empty[h]));
        }
        MerkleTree {
            depth,
            empty,
            nodes: HashMap::new(),
        }
    }

    /// The tree's depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The value of an absent leaf.
    pub fn empty_leaf(&self) -> Fp {
        self.empty[0]
    }

    /// The root.
    pub fn root(&self) -> Fp {
        self.node(self.depth, 0)
    }

    /// The leaf at `index` (the empty leaf if never set).
    pub fn leaf(&self, index: u64) -> Fp {
        self.node(0, index)
    }

    fn node(&self, height: usize, index: u64) -> Fp {
        *self
            .nodes
            .get(&(height as u8, index))
            .unwrap_or(&self.empty[height])
    }

    /// Sets the leaf at `index` and rehashes its path: `depth` hashes.
    ///
    /// # Panics
    /// If `index` does not fit in the tree; callers check positions against their counters.
    pub fn set(&mut self, index: u64, leaf: Fp) {
        assert!(
            self.depth == 64 || index >> self.depth == 0,
            "leaf position {index} outside a tree of depth {}",
            self.depth
        );
        let mut value = leaf;
        let mut pos = index;
        for height in 0..self.depth {
            self.store(height, pos, value);
            let sibling = self.node(height, pos ^ 1);
            value = if pos & 1 == 1 {
                node(sibling, value)
            } else {
                node(value, sibling)
            };
            pos >>= 1;
        }
        self.store(self.depth, 0, value);
    }

    fn store(&mut self, height: usize, index: u64, value: Fp) {
        if value == self.empty[height] {
            self.nodes.remove(&(height as u8, index));
        } else {
            self.nodes.insert((height as u8, index), value);
        }
    }

    /// The inclusion proof of the leaf at `index`.
    pub fn path(&self, index: u64) -> MerklePath {
        let siblings = (0..self.depth)
            .map(|height| self.node(height, (index >> height) ^ 1))
            .collect();
        MerklePath { index, siblings }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_tree_root_is_the_empty_subtree_hash() {
        let tree = MerkleTree::new(3, Fp::from(9));
        let l1 = node(Fp::from(9), Fp::from(9));
        let l2 = node(l1, l1);
        assert_eq!(tree.root(), node(l2, l2));
    }

    #[test]
    fn setting_back_to_empty_restores_the_root_and_frees_nodes() {
        let mut tree = MerkleTree::new(20, Fp::zero());
        let root = tree.root();
        tree.set(12345, Fp::from(7));
        assert_ne!(tree.root(), root);
        tree.set(12345, Fp::zero());
        assert_eq!(tree.root(), root);
        assert!(tree.nodes.is_empty());
    }

    #[test]
    fn depth_64_uses_the_full_position_range() {
        let mut tree = MerkleTree::new(64, Fp::zero());
        for index in [0, 1, u64::MAX, u64::MAX - 1, 1 << 63] {
            tree.set(index, Fp::from(index) + Fp::one());
        }
        for index in [0, 1, u64::MAX, u64::MAX - 1, 1 << 63] {
            let leaf = Fp::from(index) + Fp::one();
            tree.path(index).verify(64, leaf, tree.root()).unwrap();
        }
    }

    #[test]
    fn a_path_rejects_a_wrong_leaf_sibling_position_or_depth() {
        let mut tree = MerkleTree::new(8, Fp::zero());
        tree.set(5, Fp::from(1));
        tree.set(6, Fp::from(2));
        let root = tree.root();
        let path = tree.path(5);
        path.verify(8, Fp::from(1), root).unwrap();
        assert!(matches!(
            path.verify(8, Fp::from(2), root),
            Err(MerkleError::RootMismatch { .. })
        ));
        let mut wrong_sibling = path.clone();
        wrong_sibling.siblings[3] += Fp::one();
        assert!(wrong_sibling.verify(8, Fp::from(1), root).is_err());
        let mut wrong_index = path.clone();
        wrong_index.index = 4;
        assert!(wrong_index.verify(8, Fp::from(1), root).is_err());
        let mut out_of_range = path.clone();
        out_of_range.index = 5 + 256;
        assert_eq!(
            out_of_range.verify(8, Fp::from(1), root),
            Err(MerkleError::IndexOutOfRange { index: 261, depth: 8 })
        );
        assert_eq!(
            path.verify(9, Fp::from(1), root),
            Err(MerkleError::WrongDepth { expected: 9, got: 8 })
        );
    }

    proptest! {
        #[test]
        fn every_leaf_proves_against_the_root(
            writes in proptest::collection::vec((0u64..1024, 1u64..1000), 1..40)
        ) {
            let mut tree = MerkleTree::new(10, Fp::zero());
            let mut expected = std::collections::HashMap::new();
            for (index, value) in &writes {
                tree.set(*index, Fp::from(*value));
                expected.insert(*index, Fp::from(*value));
            }
            let root = tree.root();
            for (index, value) in expected {
                prop_assert_eq!(tree.leaf(index), value);
                prop_assert!(tree.path(index).verify(10, value, root).is_ok());
            }
        }
    }
}
