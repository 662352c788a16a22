//! Fixed-depth sparse Poseidon Merkle trees and their inclusion proofs.
//!
//! A tree of depth `d` has `2^d` leaf positions; an absent leaf holds the tree's *empty
//! leaf* (the hash of its all-zero record), so no tree needs initialising and a fresh leaf is
//! just an update of an empty one. Only non-empty nodes are stored. Nodes are
//! `Poseidon(left, right)`; a path lists the siblings from the leaf up, and the position's
//! bits (least significant first) say on which side each sibling sits.
//!
//! [`MerkleTree`] is updated leaf by leaf, as the state is, and rehashes the paths above the
//! leaves written since its last read once, at the next read (each node once).
//! [`PrefixTree`] is built at once, bottom-up, from the leaves of an append-only tree (its
//! first `n` positions set, the rest empty): about `n` hashes in all, which is how a voter's
//! client rebuilds a proposal's voter tree from the commitments it synced.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::hash::{node, node4, Fp};

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
    /// A node given to [`MerkleTree::from_nodes`] twice, or with its empty subtree's value
    /// (which a tree never stores).
    #[error("node {index} at height {height} is listed twice or holds the empty value")]
    BadNode {
        /// Its height.
        height: u8,
        /// Its position at that height.
        index: u64,
    },
    /// More leaves than the tree has positions.
    #[error("{count} leaves do not fit in a tree of depth {depth}")]
    TooManyLeaves {
        /// Leaves given.
        count: u64,
        /// The tree's depth.
        depth: usize,
    },
}

/// The roots of empty subtrees of every height up to `depth`: `empty[0]` is `empty_leaf`,
/// `empty[h + 1] = node(empty[h], empty[h])`.
pub fn empty_subtrees(depth: usize, empty_leaf: Fp) -> Vec<Fp> {
    let mut empty = Vec::with_capacity(depth + 1);
    empty.push(empty_leaf);
    for h in 0..depth {
        empty.push(node(empty[h], empty[h]));
    }
    empty
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
        check_inclusion(
            (depth, self.siblings.len()),
            depth,
            self.index,
            || self.compute_root(leaf),
            root,
        )
    }
}

/// An inclusion proof's checks: `(levels the tree has, levels the path has)`, the position
/// within `depth` bits, then the root it computes.
fn check_inclusion(
    (expected, got): (usize, usize),
    depth: usize,
    index: u64,
    computed: impl FnOnce() -> Fp,
    root: Fp,
) -> Result<(), MerkleError> {
    if got != expected {
        return Err(MerkleError::WrongDepth { expected, got });
    }
    if depth < 64 && index >> depth != 0 {
        return Err(MerkleError::IndexOutOfRange { index, depth });
    }
    let computed = computed();
    if computed == root {
        Ok(())
    } else {
        Err(MerkleError::RootMismatch {
            expected: crate::hash::to_hex(&root),
            computed: crate::hash::to_hex(&computed),
        })
    }
}

/// The four children of an arity-4 node whose child at `digit` (0 to 3) is `current` and
/// whose other children are `siblings`, in order.
pub fn children4(current: Fp, siblings: [Fp; 3], digit: u64) -> [Fp; 4] {
    let digit = (digit & 3) as usize;
    std::array::from_fn(|i| match i.cmp(&digit) {
        std::cmp::Ordering::Less => siblings[i],
        std::cmp::Ordering::Equal => current,
        std::cmp::Ordering::Greater => siblings[i - 1],
    })
}

/// An inclusion proof in an arity-4 tree (nodes [`node4`]): a position, read as base-4
/// digits from the least significant up, and per level the three other children in order.
/// (The state's trees are binary; this is the shape they move to, with the circuit's
/// arity-4 update pass, `chunk::merkle4`.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Path4 {
    /// The leaf's position.
    pub index: u64,
    /// Per level from the leaves up, the three other children.
    pub siblings: Vec<[Fp; 3]>,
}

impl Path4 {
    /// Checks that `leaf` sits at this path's position in an arity-4 tree of `depth` bits
    /// (`depth / 2` levels) with `root`.
    pub fn verify(&self, depth: usize, leaf: Fp, root: Fp) -> Result<(), MerkleError> {
        check_inclusion(
            (depth / 2, self.siblings.len()),
            depth,
            self.index,
            || self.compute_root(leaf),
            root,
        )
    }

    /// The root that `leaf` at this path hashes to.
    pub fn compute_root(&self, leaf: Fp) -> Fp {
        self.siblings
            .iter()
            .enumerate()
            .fold(leaf, |acc, (level, siblings)| {
                node4(children4(acc, *siblings, self.index >> (2 * level)))
            })
    }
}

/// A sparse Merkle tree of fixed depth (at most 64).
///
/// Writes are cheap and reads are exact: [`MerkleTree::set`] stores the leaf and notes its
/// position; the paths above the leaves set since the last read are rehashed at the next
/// read of a node above the leaves (a root, a path, the node list), each node once, level
/// by level, wide levels on every core. A batch of writes that share upper levels (any
/// batch: they all share the root) costs the union of their paths, not `depth` hashes each.
///
/// Generic in the arity `A` (2, or 4 with nodes [`node4`]: the shape the state's trees move
/// to, half the levels for the same capacity); [`MerkleTree`] is the binary tree the state
/// uses. Heights count levels: a tree of `depth` bits has `depth / log2(A)` levels above
/// its leaves.
#[derive(Debug)]
pub struct Tree<const A: usize> {
    depth: usize,
    /// `empty[h]`: the root of an empty subtree of height `h` (`empty[0]` is the empty leaf).
    empty: Vec<Fp>,
    /// The nodes, and the leaves set since they were last rehashed.
    nodes: Mutex<Nodes>,
}

/// The state's trees: binary, nodes [`node`].
pub type MerkleTree = Tree<2>;

/// Arity-4 trees, nodes [`node4`] (paths [`Path4`]).
pub type MerkleTree4 = Tree<4>;

/// Bits of a position per level of an arity-`A` tree.
const fn bits_per_level(arity: usize) -> usize {
    match arity {
        2 => 1,
        4 => 2,
        _ => panic!("trees have arity 2 or 4"),
    }
}

/// The roots of empty subtrees of every height of an arity-`A` tree of `levels` levels.
fn empty_levels<const A: usize>(levels: usize, empty_leaf: Fp) -> Vec<Fp> {
    if A == 2 {
        return empty_subtrees(levels, empty_leaf);
    }
    let mut empty = Vec::with_capacity(levels + 1);
    empty.push(empty_leaf);
    for h in 0..levels {
        empty.push(node4([empty[h]; 4]));
    }
    empty
}

#[derive(Clone, Debug, Default)]
struct Nodes {
    /// Non-empty nodes by `(height, position at that height)`; height 0 holds the leaves.
    map: HashMap<(u8, u64), Fp>,
    /// Positions of leaves set since the last rehash (unsorted, maybe repeated).
    dirty: Vec<u64>,
}

impl<const A: usize> Clone for Tree<A> {
    fn clone(&self) -> Self {
        Tree {
            depth: self.depth,
            empty: self.empty.clone(),
            nodes: Mutex::new(self.lock().clone()),
        }
    }
}

impl Nodes {
    fn get(&self, empty: &[Fp], height: usize, index: u64) -> Fp {
        *self
            .map
            .get(&(height as u8, index))
            .unwrap_or(&empty[height])
    }

    fn store(&mut self, empty: &[Fp], height: usize, index: u64, value: Fp) {
        if value == empty[height] {
            self.map.remove(&(height as u8, index));
        } else {
            self.map.insert((height as u8, index), value);
        }
    }

    /// Rehashes every node above the dirty leaves of an arity-`A` tree of `levels` levels,
    /// each once.
    fn rehash<const A: usize>(&mut self, empty: &[Fp], levels: usize) {
        if self.dirty.is_empty() {
            return;
        }
        let shift = bits_per_level(A);
        let mut level = std::mem::take(&mut self.dirty);
        level.sort_unstable();
        level.dedup();
        for height in 0..levels {
            level = level.into_iter().map(|i| i >> shift).collect();
            level.dedup();
            let values = {
                let this = &*self;
                let child = |q: u64, i: u64| this.get(empty, height, A as u64 * q + i);
                let parent = |q: u64| {
                    if A == 2 {
                        node(child(q, 0), child(q, 1))
                    } else {
                        node4([0, 1, 2, 3].map(|i| child(q, i)))
                    }
                };
                hash_all(&level, &parent)
            };
            for (q, value) in level.iter().zip(values) {
                self.store(empty, height + 1, *q, value);
            }
        }
    }
}

impl<const A: usize> Tree<A> {
    /// An empty tree of `depth` bits (a multiple of the bits per level) whose absent leaves
    /// hold `empty_leaf`.
    pub fn new(depth: usize, empty_leaf: Fp) -> Self {
        assert!((1..=64).contains(&depth), "tree depth must be 1..=64");
        assert!(
            depth.is_multiple_of(bits_per_level(A)),
            "an arity-{A} tree's depth is a whole number of levels"
        );
        Tree {
            depth,
            empty: empty_levels::<A>(depth / bits_per_level(A), empty_leaf),
            nodes: Mutex::new(Nodes::default()),
        }
    }

    /// Levels above the leaves.
    pub fn levels(&self) -> usize {
        self.depth / bits_per_level(A)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Nodes> {
        // A panic while hashing leaves nothing half-written that a reader could see
        // differently: the dirty list is taken before, the stores are whole values.
        self.nodes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The nodes with every pending path rehashed.
    fn fresh(&self) -> std::sync::MutexGuard<'_, Nodes> {
        let mut nodes = self.lock();
        nodes.rehash::<A>(&self.empty, self.levels());
        nodes
    }

    /// The tree's depth in bits of a position.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The value of an absent leaf.
    pub fn empty_leaf(&self) -> Fp {
        self.empty[0]
    }

    /// The root.
    pub fn root(&self) -> Fp {
        self.node(self.levels(), 0)
    }

    /// The leaf at `index` (the empty leaf if never set).
    pub fn leaf(&self, index: u64) -> Fp {
        self.lock().get(&self.empty, 0, index)
    }

    fn node(&self, height: usize, index: u64) -> Fp {
        self.fresh().get(&self.empty, height, index)
    }

    /// Sets the leaf at `index`; its path is rehashed at the next read above the leaves.
    ///
    /// # Panics
    /// If `index` does not fit in the tree; callers check positions against their counters.
    pub fn set(&mut self, index: u64, leaf: Fp) {
        assert!(
            self.depth == 64 || index >> self.depth == 0,
            "leaf position {index} outside a tree of depth {}",
            self.depth
        );
        let nodes = self.nodes.get_mut().unwrap_or_else(|p| p.into_inner());
        nodes.store(&self.empty, 0, index, leaf);
        nodes.dirty.push(index);
    }

    /// Every stored (non-empty) node as `(height, position at that height, value)`, in no
    /// particular order: with the depth and the empty leaf, all a checkpoint needs to give
    /// the tree back without hashing ([`MerkleTree::from_nodes`]).
    pub fn nodes(&self) -> Vec<(u8, u64, Fp)> {
        self.fresh()
            .map
            .iter()
            .map(|(&(h, i), &v)| (h, i, v))
            .collect()
    }

    /// A tree of depth `depth` holding exactly `nodes` (as [`MerkleTree::nodes`] lists them)
    /// over the empty subtrees of `empty_leaf`. Nothing is rehashed: the caller vouches for
    /// the nodes (a checkpoint checks its digest and the root it must reach); positions that
    /// do not fit the tree, a node listed twice and empty values are refused.
    pub fn from_nodes(
        depth: usize,
        empty_leaf: Fp,
        nodes: impl IntoIterator<Item = (u8, u64, Fp)>,
    ) -> Result<Self, MerkleError> {
        let mut tree = Tree::<A>::new(depth, empty_leaf);
        let levels = tree.levels();
        let map = &mut tree.nodes.get_mut().unwrap_or_else(|p| p.into_inner()).map;
        for (height, index, value) in nodes {
            let h = height as usize;
            let width = depth - (h * bits_per_level(A)).min(depth);
            if h > levels || (width < 64 && index >> width != 0) {
                return Err(MerkleError::IndexOutOfRange {
                    index,
                    depth: width,
                });
            }
            if value == tree.empty[h] || map.insert((height, index), value).is_some() {
                return Err(MerkleError::BadNode { height, index });
            }
        }
        Ok(tree)
    }
}

impl Tree<2> {
    /// The inclusion proof of the leaf at `index`.
    pub fn path(&self, index: u64) -> MerklePath {
        let nodes = self.fresh();
        let siblings = (0..self.depth)
            .map(|height| nodes.get(&self.empty, height, (index >> height) ^ 1))
            .collect();
        MerklePath { index, siblings }
    }
}

impl Tree<4> {
    /// The inclusion proof of the leaf at `index`: per level, the three other children.
    pub fn path(&self, index: u64) -> Path4 {
        let nodes = self.fresh();
        let siblings = (0..self.levels())
            .map(|height| others4(index, height, |p| nodes.get(&self.empty, height, p)))
            .collect();
        Path4 { index, siblings }
    }
}

/// A tree of fixed depth whose leaves `0..n` are given and whose later leaves are all empty:
/// an append-only tree (the voter tree) as it stands after `n` appends. Built bottom-up,
/// level by level, in one pass: level `h + 1` hashes the pairs of level `h`, the last node of
/// an odd level paired with the empty subtree of its height. That is `ceil(n / 2) +
/// ceil(n / 4) + …` hashes, about `n` plus the depth, against `depth` hashes per leaf for
/// `n` calls of [`MerkleTree::set`]. It gives the same root and paths as a [`MerkleTree`]
/// with the same leaves set (tested below).
/// Generic in the arity as [`Tree`] is: [`PrefixTree`] is binary, [`PrefixTree4`] arity 4
/// (levels of quads, the last quad of a level padded with empty subtrees).
#[derive(Clone, Debug)]
pub struct Prefix<const A: usize> {
    depth: usize,
    /// `empty[h]`: the root of an empty subtree of height `h`.
    empty: Vec<Fp>,
    /// `levels[h]`: the nodes of height `h` over at least one given leaf, left to right
    /// (`levels[0]` are the leaves); every node further right is `empty[h]`.
    levels: Vec<Vec<Fp>>,
}

/// The binary prefix tree (the voter tree's shape today).
pub type PrefixTree = Prefix<2>;

/// The arity-4 prefix tree.
pub type PrefixTree4 = Prefix<4>;

impl<const A: usize> Prefix<A> {
    /// The tree of depth `depth` bits (1 to 64, a whole number of levels) holding `leaves`
    /// at positions `0..leaves.len()` and `empty_leaf` everywhere after.
    ///
    /// # Panics
    /// If `depth` is not in `1..=64` or not a whole number of levels (a constant of the
    /// caller's, never input).
    pub fn build(depth: usize, empty_leaf: Fp, leaves: Vec<Fp>) -> Result<Self, MerkleError> {
        assert!((1..=64).contains(&depth), "tree depth must be 1..=64");
        assert!(
            depth.is_multiple_of(bits_per_level(A)),
            "an arity-{A} tree's depth is a whole number of levels"
        );
        let count = leaves.len() as u64;
        if depth < 64 && count > 1u64 << depth {
            return Err(MerkleError::TooManyLeaves { count, depth });
        }
        let height = depth / bits_per_level(A);
        let empty = empty_levels::<A>(height, empty_leaf);
        let mut levels = Vec::with_capacity(height + 1);
        levels.push(leaves);
        for h in 0..height {
            let above = hash_level::<A>(&levels[h], empty[h]);
            levels.push(above);
        }
        Ok(Prefix {
            depth,
            empty,
            levels,
        })
    }

    /// The tree's depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// How many leaves were given.
    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// `true` if no leaf was given (the root is the empty tree's).
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The given leaves, in position order.
    pub fn leaves(&self) -> &[Fp] {
        &self.levels[0]
    }

    /// The root.
    pub fn root(&self) -> Fp {
        self.node(self.levels.len() - 1, 0)
    }

    fn node(&self, height: usize, index: u64) -> Fp {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels[height].get(i))
            .copied()
            .unwrap_or(self.empty[height])
    }

    fn check_index(&self, index: u64) -> Result<(), MerkleError> {
        if self.depth < 64 && index >> self.depth != 0 {
            return Err(MerkleError::IndexOutOfRange {
                index,
                depth: self.depth,
            });
        }
        Ok(())
    }
}

impl Prefix<2> {
    /// The inclusion proof of the leaf at `index` (given or empty).
    pub fn path(&self, index: u64) -> Result<MerklePath, MerkleError> {
        self.check_index(index)?;
        let siblings = (0..self.depth)
            .map(|height| self.node(height, (index >> height) ^ 1))
            .collect();
        Ok(MerklePath { index, siblings })
    }
}

impl Prefix<4> {
    /// The inclusion proof of the leaf at `index` (given or empty).
    pub fn path(&self, index: u64) -> Result<Path4, MerkleError> {
        self.check_index(index)?;
        let siblings = (0..self.levels.len() - 1)
            .map(|height| others4(index, height, |p| self.node(height, p)))
            .collect();
        Ok(Path4 { index, siblings })
    }
}

/// The three other children, in order, of the node at `height` on the path of leaf `index`
/// of an arity-4 tree, `node(p)` giving the node at position `p` of that height.
fn others4(index: u64, height: usize, node: impl Fn(u64) -> Fp) -> [Fp; 3] {
    let at = index >> (2 * height);
    let mut others = (0..4).map(|i| (at & !3) + i).filter(|p| *p != at).map(node);
    [0; 3].map(|_| others.next().expect("three other children"))
}

/// Levels with at least this many nodes to hash are split over the machine's cores.
const PARALLEL_LEVEL: usize = 2048;

/// `pair(q)` for every `q` of `positions`, in order; a long list is hashed on every core
/// (scoped threads, each its own contiguous share).
fn hash_all(positions: &[u64], pair: &(dyn Fn(u64) -> Fp + Sync)) -> Vec<Fp> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || positions.len() < PARALLEL_LEVEL {
        return positions.iter().map(|q| pair(*q)).collect();
    }
    let share = positions.len().div_ceil(threads);
    let mut out = vec![Fp::zero(); positions.len()];
    std::thread::scope(|scope| {
        for (slots, qs) in out.chunks_mut(share).zip(positions.chunks(share)) {
            scope.spawn(move || {
                for (slot, q) in slots.iter_mut().zip(qs) {
                    *slot = pair(*q);
                }
            });
        }
    });
    out
}

/// The level above `below`: `node(below[2i], below[2i + 1])`, the last node of an odd level
/// paired with `empty` (the empty subtree of `below`'s height); a wide level on every core.
fn hash_level<const A: usize>(below: &[Fp], empty: Fp) -> Vec<Fp> {
    let positions: Vec<u64> = (0..below.len().div_ceil(A) as u64).collect();
    let parent = |q: u64| {
        let child = |i: usize| below.get(A * q as usize + i).copied().unwrap_or(empty);
        if A == 2 {
            node(child(0), child(1))
        } else {
            node4([0, 1, 2, 3].map(child))
        }
    };
    hash_all(&positions, &parent)
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
        assert!(tree.nodes().is_empty());
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
            Err(MerkleError::IndexOutOfRange {
                index: 261,
                depth: 8
            })
        );
        assert_eq!(
            path.verify(9, Fp::from(1), root),
            Err(MerkleError::WrongDepth {
                expected: 9,
                got: 8
            })
        );
    }

    fn prefix(depth: usize, n: u64) -> (MerkleTree, PrefixTree) {
        let empty = Fp::from(5);
        let leaves: Vec<Fp> = (0..n).map(|i| Fp::from(1000 + i)).collect();
        let mut tree = MerkleTree::new(depth, empty);
        for (i, leaf) in leaves.iter().enumerate() {
            tree.set(i as u64, *leaf);
        }
        (tree, PrefixTree::build(depth, empty, leaves).unwrap())
    }

    #[test]
    fn a_prefix_tree_has_the_root_and_paths_of_the_same_leaves_set_one_by_one() {
        for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 64] {
            let (tree, built) = prefix(6, n);
            assert_eq!(built.root(), tree.root(), "{n} leaves");
            assert_eq!(built.len(), n);
            for index in [0, 1, n.saturating_sub(1), n.min(63), 63] {
                assert_eq!(built.path(index).unwrap(), tree.path(index), "{n}: {index}");
            }
        }
        // Wide enough for the lowest levels to be hashed on several threads.
        let n = 2 * PARALLEL_LEVEL as u64 + 3;
        let (tree, built) = prefix(24, n);
        assert_eq!(built.root(), tree.root());
        for index in [0, 777, PARALLEL_LEVEL as u64, n - 1] {
            let path = built.path(index).unwrap();
            assert_eq!(path, tree.path(index));
            path.verify(24, Fp::from(1000 + index), tree.root())
                .unwrap();
        }
    }

    #[test]
    fn an_arity_4_prefix_tree_has_the_root_and_paths_of_the_same_leaves_set_one_by_one() {
        let empty = Fp::from(5);
        for n in [0u64, 1, 3, 4, 5, 15, 16, 17, 63, 64] {
            let leaves: Vec<Fp> = (0..n).map(|i| Fp::from(1000 + i)).collect();
            let mut tree = MerkleTree4::new(6, empty);
            for (i, leaf) in leaves.iter().enumerate() {
                tree.set(i as u64, *leaf);
            }
            let built = PrefixTree4::build(6, empty, leaves).unwrap();
            assert_eq!(built.root(), tree.root(), "{n} leaves");
            for index in [0, 1, n.saturating_sub(1), n.min(63), 63] {
                let path = built.path(index).unwrap();
                assert_eq!(path, tree.path(index), "{n}: {index}");
                path.verify(6, tree.leaf(index), tree.root()).unwrap();
            }
        }
        let built = PrefixTree4::build(6, empty, vec![Fp::one(); 3]).unwrap();
        assert!(matches!(
            built.path(64),
            Err(MerkleError::IndexOutOfRange { .. })
        ));
        let path = built.path(2).unwrap();
        assert!(matches!(
            path.verify(8, Fp::one(), built.root()),
            Err(MerkleError::WrongDepth {
                expected: 4,
                got: 3
            })
        ));
        assert!(matches!(
            path.verify(6, Fp::from(2), built.root()),
            Err(MerkleError::RootMismatch { .. })
        ));
    }

    #[test]
    fn a_prefix_tree_refuses_too_many_leaves_and_positions_outside() {
        let full = PrefixTree::build(3, Fp::zero(), vec![Fp::one(); 8]).unwrap();
        assert_eq!(
            full.path(8),
            Err(MerkleError::IndexOutOfRange { index: 8, depth: 3 })
        );
        assert_eq!(
            PrefixTree::build(3, Fp::zero(), vec![Fp::one(); 9]).unwrap_err(),
            MerkleError::TooManyLeaves { count: 9, depth: 3 }
        );
        let empty = PrefixTree::build(3, Fp::zero(), Vec::new()).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.root(), MerkleTree::new(3, Fp::zero()).root());
    }

    /// The tree as it was before writes were deferred: every write rehashes its path at
    /// once. The reference the deferred tree must agree with.
    struct EagerTree {
        depth: usize,
        empty: Vec<Fp>,
        nodes: HashMap<(usize, u64), Fp>,
    }

    impl EagerTree {
        fn new(depth: usize, empty_leaf: Fp) -> Self {
            EagerTree {
                depth,
                empty: empty_subtrees(depth, empty_leaf),
                nodes: HashMap::new(),
            }
        }

        fn node(&self, height: usize, index: u64) -> Fp {
            *self
                .nodes
                .get(&(height, index))
                .unwrap_or(&self.empty[height])
        }

        fn set(&mut self, index: u64, leaf: Fp) {
            let mut value = leaf;
            let mut pos = index;
            for height in 0..self.depth {
                self.nodes.insert((height, pos), value);
                let sibling = self.node(height, pos ^ 1);
                value = if pos & 1 == 1 {
                    node(sibling, value)
                } else {
                    node(value, sibling)
                };
                pos >>= 1;
            }
            self.nodes.insert((self.depth, 0), value);
        }
    }

    /// The root of an arity-4 tree of `depth` bits holding `leaves` (by position), hashed
    /// level by level over every position: the reference for [`MerkleTree4`].
    fn naive_root4(depth: usize, empty: Fp, leaves: &HashMap<u64, Fp>) -> Fp {
        let mut level: Vec<Fp> = (0..1u64 << depth)
            .map(|i| *leaves.get(&i).unwrap_or(&empty))
            .collect();
        while level.len() > 1 {
            level = level
                .chunks(4)
                .map(|c| node4([c[0], c[1], c[2], c[3]]))
                .collect();
        }
        level[0]
    }

    #[test]
    fn an_empty_arity_4_tree_and_its_depth() {
        let tree = MerkleTree4::new(8, Fp::from(3));
        assert_eq!(tree.levels(), 4);
        assert_eq!(tree.root(), naive_root4(8, Fp::from(3), &HashMap::new()));
        assert!(std::panic::catch_unwind(|| MerkleTree4::new(7, Fp::zero())).is_err());
    }

    proptest! {
        /// Writes (some back to the empty leaf, some to the same position twice) with reads
        /// of roots, paths and node lists at random points in between: the deferred tree
        /// answers every read as the eager one does.
        #[test]
        fn deferred_rehashing_agrees_with_rehashing_every_write(
            steps in proptest::collection::vec((0u64..64, 0u64..4, proptest::bool::weighted(0.3)), 1..80),
            depth in 6usize..12,
        ) {
            let empty = Fp::from(7);
            let mut lazy = MerkleTree::new(depth, empty);
            let mut eager = EagerTree::new(depth, empty);
            for (index, value, read) in steps {
                let leaf = if value == 0 { empty } else { Fp::from(value) };
                lazy.set(index, leaf);
                eager.set(index, leaf);
                if read {
                    prop_assert_eq!(lazy.root(), eager.node(depth, 0));
                    let path = lazy.path(index);
                    prop_assert!(path.verify(depth, leaf, eager.node(depth, 0)).is_ok());
                    let copy = lazy.clone();
                    prop_assert_eq!(copy.root(), lazy.root());
                }
            }
            prop_assert_eq!(lazy.root(), eager.node(depth, 0));
            for index in 0..64 {
                prop_assert_eq!(lazy.leaf(index), eager.node(0, index));
                for (height, sibling) in lazy.path(index).siblings.iter().enumerate() {
                    prop_assert_eq!(*sibling, eager.node(height, (index >> height) ^ 1));
                }
            }
            // Only non-empty nodes are kept, and loading them gives the same tree back.
            let listed = lazy.nodes();
            prop_assert!(listed.iter().all(|(h, _, v)| *v != lazy.empty[*h as usize]));
            let loaded = MerkleTree::from_nodes(depth, empty, listed).unwrap();
            prop_assert_eq!(loaded.root(), lazy.root());
        }

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

        /// The arity-4 tree, deferred as the binary one is, against the root hashed over
        /// every position; every leaf's path reaches it; its node list loads it back.
        #[test]
        fn an_arity_4_tree_agrees_with_hashing_every_position(
            steps in proptest::collection::vec((0u64..256, 0u64..4, proptest::bool::weighted(0.3)), 1..60),
            levels in 1usize..5,
        ) {
            let depth = 2 * levels;
            let empty = Fp::from(7);
            let mut tree = MerkleTree4::new(depth, empty);
            let mut leaves = HashMap::new();
            for (index, value, read) in steps {
                let index = index % (1 << depth);
                let leaf = if value == 0 { empty } else { Fp::from(value) };
                tree.set(index, leaf);
                leaves.insert(index, leaf);
                if read {
                    prop_assert_eq!(tree.root(), naive_root4(depth, empty, &leaves));
                }
            }
            let root = tree.root();
            prop_assert_eq!(root, naive_root4(depth, empty, &leaves));
            for index in 0..1u64 << depth {
                let path = tree.path(index);
                prop_assert_eq!(path.siblings.len(), levels);
                prop_assert_eq!(path.compute_root(tree.leaf(index)), root);
            }
            let listed = tree.nodes();
            prop_assert!(listed.iter().all(|(h, _, v)| *v != tree.empty[*h as usize]));
            let loaded = MerkleTree4::from_nodes(depth, empty, listed).unwrap();
            prop_assert_eq!(loaded.root(), root);
        }
    }
}
