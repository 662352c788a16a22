//! One pass over a Merkle path that computes the old and the new root of a leaf update with
//! shared siblings and position bits.
//!
//! A level is one region of 24 rows: the old node's permutation (rows 0–11) and the new
//! node's (rows 12–23) on the Poseidon chip ([`super::poseidon`]), with the swap data in the
//! cells its full-round rows leave free:
//!
//! ```text
//! row    c0     c1     c2        c3..c5   c6       c7       c8    c9
//!  0     left   right  capacity  (mid)    current  sibling  bit   z
//!  1     (permutation)                                            z_next
//!  12    left   right  capacity  (mid)    current  sibling  bit
//! ```
//!
//! `q_swap` (rows 0 and 12): `bit` is boolean, `left = current + bit·(sibling − current)`,
//! `left + right = current + sibling` (the sibling is on the left when the bit is 1), and
//! the capacity word is `2·2^64` (a `ConstantLength<2>` sponge's, so the node is exactly
//! [`crate::hash::node`]). `q_index` (row 0): `z = 2·z_next + bit`, a running sum whose
//! first value is the leaf position and whose last is constrained to 0, so the bits are
//! exactly the position's. Row 12's sibling and bit are copies of row 0's; the node is the
//! first word of the permutation's output.
//!
//! The pass returns every level's old and new node and running sum, so a caller can read the
//! root of a shallower tree at its depth `d` (the node at level `d`, with `z_d = 0` for a
//! position below `2^d`): one pass of the deepest tree a touch may write serves every tree.
//!
//! What this chip does not constrain: that the old root is the tree's root, or what the
//! leaves are; the caller equates the roots and computes the leaves.

use ff::{Field, PrimeField};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Value},
    plonk::{ConstraintSystem, Constraints, Error, Expression, Selector},
    poly::Rotation,
};

use super::poseidon::{PoseidonConfig, PERMUTATION_ROWS};
use crate::hash::Fp;
use crate::merkle::MerklePath;

/// A cell of the circuit's field.
pub(crate) type Cell = AssignedCell<Fp, Fp>;

/// The Poseidon chip's columns and the swap and index selectors.
#[derive(Clone, Debug)]
pub(crate) struct MerkleUpdateConfig {
    poseidon: PoseidonConfig,
    q_swap: Selector,
    q_index: Selector,
}

/// One level of a pass: the old and new node at that height (level 0 is the leaves) and the
/// running sum `z` of the position's bits from that level up (`z_0` is the position).
#[derive(Clone, Debug)]
pub(crate) struct Level {
    pub(crate) old: Cell,
    pub(crate) new: Cell,
    pub(crate) z: Cell,
}

/// Computes old and new roots of one leaf update.
#[derive(Clone, Debug)]
pub(crate) struct MerkleUpdateChip {
    config: MerkleUpdateConfig,
}

impl MerkleUpdateChip {
    /// Configures the swap and index gates on the Poseidon chip's columns.
    pub(crate) fn configure(
        meta: &mut ConstraintSystem<Fp>,
        poseidon: PoseidonConfig,
    ) -> MerkleUpdateConfig {
        let q_swap = meta.selector();
        let q_index = meta.selector();
        let a = poseidon.advice;
        meta.create_gate("merkle swap", |meta| {
            let q = meta.query_selector(q_swap);
            let [left, right, capacity, current, sibling, bit] =
                [0, 1, 2, 6, 7, 8].map(|i| meta.query_advice(a[i], Rotation::cur()));
            let one = Expression::Constant(Fp::one());
            Constraints::with_selector(
                q,
                [
                    ("bit is boolean", bit.clone() * (one - bit.clone())),
                    (
                        "left = current + bit * (sibling - current)",
                        left.clone() - current.clone() - bit * (sibling.clone() - current.clone()),
                    ),
                    (
                        "left + right = current + sibling",
                        left + right - current - sibling,
                    ),
                    (
                        "node capacity = 2 * 2^64",
                        capacity - Expression::Constant(node_capacity()),
                    ),
                ],
            )
        });
        meta.create_gate("z = 2 * z_next + bit", |meta| {
            let q = meta.query_selector(q_index);
            let bit = meta.query_advice(a[8], Rotation::cur());
            let z = meta.query_advice(a[9], Rotation::cur());
            let z_next = meta.query_advice(a[9], Rotation::next());
            Constraints::with_selector(
                q,
                [("z = 2 * z_next + bit", z - z_next * Fp::from(2) - bit)],
            )
        });
        MerkleUpdateConfig {
            poseidon,
            q_swap,
            q_index,
        }
    }

    /// The chip.
    pub(crate) fn construct(config: MerkleUpdateConfig) -> Self {
        MerkleUpdateChip { config }
    }

    /// Hashes `leaf_old` and `leaf_new` up `path` (whose position is the value of `index`)
    /// and returns the `depth + 1` levels, the last holding the old and the new root.
    /// `index` is constrained to be the path's position and below `2^depth`.
    pub(crate) fn update(
        &self,
        mut layouter: impl Layouter<Fp>,
        index: &AssignedCell<Fp, Fp>,
        path: Value<&MerklePath>,
        depth: usize,
        leaf_old: AssignedCell<Fp, Fp>,
        leaf_new: AssignedCell<Fp, Fp>,
    ) -> Result<Vec<Level>, Error> {
        let cfg = &self.config;
        let a = cfg.poseidon.advice;
        let mut cur_old = leaf_old;
        let mut cur_new = leaf_new;
        let mut z = index.clone();
        let mut levels = Vec::with_capacity(depth + 1);
        for level in 0..depth {
            levels.push(Level {
                old: cur_old.clone(),
                new: cur_new.clone(),
                z: z.clone(),
            });
            let sibling = path.map(|p| p.siblings.get(level).copied().unwrap_or_default());
            let bit = path.map(|p| Fp::from((p.index >> level) & 1));
            let (old, new, z_next) =
                layouter.assign_region(
                    || format!("merkle level {level}"),
                    |mut region| {
                        let new_row = PERMUTATION_ROWS;
                        cfg.q_swap.enable(&mut region, 0)?;
                        cfg.q_swap.enable(&mut region, new_row)?;
                        cfg.q_index.enable(&mut region, 0)?;
                        let sib = region.assign_advice(|| "sibling", a[7], 0, || sibling)?;
                        let b = region.assign_advice(|| "bit", a[8], 0, || bit)?;
                        z.copy_advice(|| "z", &mut region, a[9], 0)?;
                        let z_next = region.assign_advice(
                            || "z_next",
                            a[9],
                            1,
                            || {
                                z.value()
                                    .zip(bit)
                                    .map(|(z, b)| (*z - b) * Fp::from(2).invert().unwrap())
                            },
                        )?;
                        let mut nodes = Vec::with_capacity(2);
                        for (row, current) in [(0, &cur_old), (new_row, &cur_new)] {
                            let current =
                                current.copy_advice(|| "current", &mut region, a[6], row)?;
                            if row != 0 {
                                sib.copy_advice(|| "sibling", &mut region, a[7], row)?;
                                b.copy_advice(|| "bit", &mut region, a[8], row)?;
                            }
                            let input = current.value().copied().zip(sibling).zip(bit).map(
                                |((c, s), b)| {
                                    let (l, r) = if b == Fp::one() { (s, c) } else { (c, s) };
                                    [l, r, node_capacity()]
                                },
                            );
                            region.assign_advice(|| "left", a[0], row, || input.map(|v| v[0]))?;
                            region.assign_advice(|| "right", a[1], row, || input.map(|v| v[1]))?;
                            region.assign_advice(
                                || "node capacity",
                                a[2],
                                row,
                                || input.map(|v| v[2]),
                            )?;
                            let [node, _, _] = cfg.poseidon.permute_at(&mut region, row, input)?;
                            nodes.push(node);
                        }
                        let new = nodes.pop().expect("two nodes");
                        let old = nodes.pop().expect("two nodes");
                        Ok((old, new, z_next))
                    },
                )?;
            cur_old = old;
            cur_new = new;
            z = z_next;
        }
        // Every bit of the position is consumed: it fits in `depth` bits.
        layouter.assign_region(
            || "position fits the tree",
            |mut region| {
                let last = z.copy_advice(|| "z_depth", &mut region, a[9], 0)?;
                region.constrain_constant(last.cell(), Fp::zero())
            },
        )?;
        levels.push(Level {
            old: cur_old,
            new: cur_new,
            z,
        });
        Ok(levels)
    }
}

/// The capacity word a `ConstantLength<2>` Poseidon sponge starts with: `2 · 2^64`.
fn node_capacity() -> Fp {
    Fp::from_u128(2u128 << 64)
}
