//! One pass over a Merkle path that computes the old and the new root of a leaf update with
//! shared siblings and position bits.
//!
//! Two Poseidon chips on disjoint advice columns hash the old and the new path side by side,
//! so a level costs the rows of one hash (plus two rows of swap), not two. Per level:
//!
//! ```text
//!        old side (chip A columns)               new side (chip B columns)
//! row    a0       a1       a2     a3             b0       b1       b2     b3
//!  0     current  sibling  bit    z              current  sibling  bit    -
//!  1     left     right    -      z_next         left     right    -      -
//! ```
//!
//! `q_swap`: `bit` is boolean, `left = current + bit·(sibling − current)` and
//! `left + right = current + sibling` (the sibling is on the left when the bit is 1).
//! `q_index` (old side only): `z = 2·z_next + bit`, a running sum whose first value is the
//! leaf position and whose last is constrained to 0, so the bits are exactly the position's.
//! The new side's sibling and bit are copies of the old side's.
//!
//! The pass returns every level's old and new node and running sum, so a caller can read the
//! root of a shallower tree at its depth `d` (the node at level `d`, with `z_d = 0` for a
//! position below `2^d`): one pass of the deepest tree a touch may write serves every tree.
//!
//! What this chip does not constrain: that the old root is the tree's root, or what the
//! leaves are; the caller equates the roots and computes the leaves.

use ff::{Field, PrimeField};
use halo2_gadgets::poseidon::{
    primitives::{ConstantLength, P128Pow5T3},
    Hash as PoseidonHash, PoseidonInstructions, Pow5Chip, Pow5Config, StateWord,
};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Value},
    plonk::{Advice, Column, ConstraintSystem, Constraints, Error, Expression, Selector},
    poly::Rotation,
};

use crate::hash::Fp;
use crate::merkle::MerklePath;

/// A cell of the circuit's field.
pub(crate) type Cell = AssignedCell<Fp, Fp>;

/// Columns and selectors of the path-update chip.
#[derive(Clone, Debug)]
pub(crate) struct MerkleUpdateConfig {
    old: [Column<Advice>; 4],
    new: [Column<Advice>; 4],
    q_swap_old: Selector,
    q_swap_new: Selector,
    q_index: Selector,
    poseidon_old: Pow5Config<Fp, 3, 2>,
    poseidon_new: Pow5Config<Fp, 3, 2>,
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

fn swap_gate(
    meta: &mut ConstraintSystem<Fp>,
    name: &'static str,
    cols: [Column<Advice>; 4],
    q: Selector,
) {
    meta.create_gate(name, |meta| {
        let q = meta.query_selector(q);
        let current = meta.query_advice(cols[0], Rotation::cur());
        let sibling = meta.query_advice(cols[1], Rotation::cur());
        let bit = meta.query_advice(cols[2], Rotation::cur());
        let left = meta.query_advice(cols[0], Rotation::next());
        let right = meta.query_advice(cols[1], Rotation::next());
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
            ],
        )
    });
}

impl MerkleUpdateChip {
    /// Configures the swap gates on the two chips' columns; the Poseidon configs are the
    /// chips that hash each side.
    pub(crate) fn configure(
        meta: &mut ConstraintSystem<Fp>,
        old: [Column<Advice>; 4],
        new: [Column<Advice>; 4],
        poseidon_old: Pow5Config<Fp, 3, 2>,
        poseidon_new: Pow5Config<Fp, 3, 2>,
    ) -> MerkleUpdateConfig {
        let q_swap_old = meta.selector();
        let q_swap_new = meta.selector();
        let q_index = meta.selector();
        swap_gate(meta, "merkle swap (old path)", old, q_swap_old);
        swap_gate(meta, "merkle swap (new path)", new, q_swap_new);
        meta.create_gate("z = 2 * z_next + bit", |meta| {
            let q = meta.query_selector(q_index);
            let bit = meta.query_advice(old[2], Rotation::cur());
            let z = meta.query_advice(old[3], Rotation::cur());
            let z_next = meta.query_advice(old[3], Rotation::next());
            Constraints::with_selector(
                q,
                [("z = 2 * z_next + bit", z - z_next * Fp::from(2) - bit)],
            )
        });
        for col in old.iter().chain(new.iter()) {
            meta.enable_equality(*col);
        }
        MerkleUpdateConfig {
            old,
            new,
            q_swap_old,
            q_swap_new,
            q_index,
            poseidon_old,
            poseidon_new,
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
            let (left_old, right_old, cap_old, sib_cell, bit_cell, z_next) = layouter
                .assign_region(
                    || format!("swap old, level {level}"),
                    |mut region| {
                        cfg.q_swap_old.enable(&mut region, 0)?;
                        cfg.q_index.enable(&mut region, 0)?;
                        let current =
                            cur_old.copy_advice(|| "current", &mut region, cfg.old[0], 0)?;
                        let sib = region.assign_advice(|| "sibling", cfg.old[1], 0, || sibling)?;
                        let b = region.assign_advice(|| "bit", cfg.old[2], 0, || bit)?;
                        z.copy_advice(|| "z", &mut region, cfg.old[3], 0)?;
                        let z_next = region.assign_advice(
                            || "z_next",
                            cfg.old[3],
                            1,
                            || {
                                z.value()
                                    .zip(bit)
                                    .map(|(z, b)| (*z - b) * Fp::from(2).invert().unwrap())
                            },
                        )?;
                        let swap = |cur: Value<Fp>| {
                            cur.zip(sibling).zip(bit).map(|((c, s), b)| {
                                if b == Fp::one() {
                                    (s, c)
                                } else {
                                    (c, s)
                                }
                            })
                        };
                        let lr = swap(current.value().copied());
                        let l =
                            region.assign_advice(|| "left", cfg.old[0], 1, || lr.map(|v| v.0))?;
                        let r =
                            region.assign_advice(|| "right", cfg.old[1], 1, || lr.map(|v| v.1))?;
                        let cap = region.assign_advice_from_constant(
                            || "capacity",
                            cfg.old[2],
                            1,
                            node_capacity(),
                        )?;
                        Ok((l, r, cap, sib, b, z_next))
                    },
                )?;
            let (left_new, right_new, cap_new) = layouter.assign_region(
                || format!("swap new, level {level}"),
                |mut region| {
                    cfg.q_swap_new.enable(&mut region, 0)?;
                    let current = cur_new.copy_advice(|| "current", &mut region, cfg.new[0], 0)?;
                    sib_cell.copy_advice(|| "sibling", &mut region, cfg.new[1], 0)?;
                    bit_cell.copy_advice(|| "bit", &mut region, cfg.new[2], 0)?;
                    let lr = current
                        .value()
                        .copied()
                        .zip(sibling)
                        .zip(bit)
                        .map(|((c, s), b)| if b == Fp::one() { (s, c) } else { (c, s) });
                    let l = region.assign_advice(|| "left", cfg.new[0], 1, || lr.map(|v| v.0))?;
                    let r = region.assign_advice(|| "right", cfg.new[1], 1, || lr.map(|v| v.1))?;
                    let cap = region.assign_advice_from_constant(
                        || "capacity",
                        cfg.new[2],
                        1,
                        node_capacity(),
                    )?;
                    Ok((l, r, cap))
                },
            )?;
            cur_old = node(
                &cfg.poseidon_old,
                layouter.namespace(|| format!("old node {level}")),
                [left_old, right_old, cap_old],
            )?;
            cur_new = node(
                &cfg.poseidon_new,
                layouter.namespace(|| format!("new node {level}")),
                [left_new, right_new, cap_new],
            )?;
            z = z_next;
        }
        // Every bit of the position is consumed: it fits in `depth` bits.
        layouter.assign_region(
            || "position fits the tree",
            |mut region| {
                let last = z.copy_advice(|| "z_depth", &mut region, cfg.old[3], 0)?;
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

/// A Merkle node `Poseidon(left, right)` as one permutation of `[left, right, 2·2^64]`:
/// exactly what the `ConstantLength<2>` sponge computes (it absorbs both inputs into the
/// rate of `[0, 0, 2·2^64]` and permutes once), without the sponge's separate regions for
/// its initial state and its absorption: four rows fewer per node.
fn node(
    config: &Pow5Config<Fp, 3, 2>,
    mut layouter: impl Layouter<Fp>,
    state: [Cell; 3],
) -> Result<Cell, Error> {
    let chip = Pow5Chip::construct(config.clone());
    let out = <Pow5Chip<Fp, 3, 2> as PoseidonInstructions<Fp, P128Pow5T3, 3, 2>>::permute(
        &chip,
        &mut layouter,
        &state.map(StateWord::from),
    )?;
    let [first, _, _] = out;
    Ok(first.into())
}

/// `Poseidon` of `L` cells on one chip (`ConstantLength<L>`).
pub(crate) fn hash<const L: usize>(
    config: &Pow5Config<Fp, 3, 2>,
    mut layouter: impl Layouter<Fp>,
    message: [AssignedCell<Fp, Fp>; L],
) -> Result<AssignedCell<Fp, Fp>, Error> {
    let chip = Pow5Chip::construct(config.clone());
    let hasher = PoseidonHash::<_, _, P128Pow5T3, ConstantLength<L>, 3, 2>::init(
        chip,
        layouter.namespace(|| "init"),
    )?;
    hasher.hash(layouter.namespace(|| "hash"), message)
}
