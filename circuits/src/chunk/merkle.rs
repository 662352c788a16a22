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
//! `q_swap` (rows 0 and 12, [`crate::poseidon::configure_node_swap`]): `bit` is boolean, `left = current + bit·(sibling − current)`,
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

use ff::Field;
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Value},
    plonk::{ConstraintSystem, Constraints, Error, Selector},
    poly::Rotation,
};

use crate::hash::Fp;
use crate::merkle::MerklePath;
use crate::poseidon::{configure_node_swap, PoseidonConfig, Witness, PERMUTATION_ROWS, SWAP_BIT};

pub(crate) use crate::poseidon::Cell;

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
        let a = poseidon.advice;
        let q_swap = configure_node_swap(meta, a);
        let q_index = meta.selector();
        meta.create_gate("z = 2 * z_next + bit", |meta| {
            let q = meta.query_selector(q_index);
            let bit = meta.query_advice(a[SWAP_BIT], Rotation::cur());
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
            let (old, new, z_next) = layouter.assign_region(
                || format!("merkle level {level}"),
                |mut region| {
                    cfg.q_index.enable(&mut region, 0)?;
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
                    let (old, sib, b) = cfg.poseidon.node_at(
                        &mut region,
                        0,
                        cfg.q_swap,
                        &cur_old,
                        Witness::Value(sibling),
                        Witness::Value(bit),
                    )?;
                    let (new, _, _) = cfg.poseidon.node_at(
                        &mut region,
                        PERMUTATION_ROWS,
                        cfg.q_swap,
                        &cur_new,
                        Witness::Copy(&sib),
                        Witness::Copy(&b),
                    )?;
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
