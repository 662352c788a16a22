//! One pass over a Merkle path ([`crate::merkle::MerklePath`], arity 4) that computes the
//! old and the new root of a leaf update with shared siblings and position digits, on the
//! width-5 Poseidon chip ([`crate::poseidon`], 15 rows a permutation); and the root of a
//! single path ([`MerkleUpdateChip::root`], the ballot's voter path).
//!
//! A level is one region of 32 rows: a swap row and the old node's permutation, a swap row
//! and the new node's:
//!
//! ```text
//! row     c0        c1   c2   c3   c4        c5   c6   c7
//!  0      current   s0   s1   s2   b0        b1   z    z_next     q_swap, q_index
//!  1      child 0   child 1   child 2   child 3   capacity   (old permutation, rows 1–15)
//!  16     current'  s0   s1   s2   b0        b1                   q_swap
//!  17     child 0'  …                                          (new permutation, rows 17–31)
//! ```
//!
//! `q_swap` (rows 0 and 16): `b0` and `b1` are boolean; with `e_k` the indicator of digit
//! `k = b0 + 2·b1` (a product of two factors), the next row's children are the current node
//! at `k` and the siblings in order around it (`child 0 = e0·current + (1 − e0)·s0`, …), and
//! its capacity word is `4·2^64` (a `ConstantLength<4>` sponge's, so the node is exactly
//! [`crate::hash::node4`]); degree 4 with the selector. `q_index` (row 0): `z = 4·z_next +
//! b0 + 2·b1`, a running sum from the leaf position down to 0. Row 16's siblings and bits are
//! copies of row 0's; the next level's `z` is a copy of this level's `z_next`.
//!
//! The pass returns every level's old and new node and running sum, so a caller can read the
//! root of a shallower tree of `d` bits at level `d / 2` (with `z = 0` there for a position
//! below `2^d`): one pass of the deepest tree a touch may write serves every tree.
//!
//! What this chip does not constrain: that the old root is the tree's root, or what the
//! leaves are; the caller equates the roots and computes the leaves.

use ff::{Field, PrimeField};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Region, Value},
    plonk::{ConstraintSystem, Constraints, Error, Expression, Selector},
    poly::Rotation,
};

use crate::hash::Fp;
use crate::merkle::{children4, MerklePath};
pub(crate) use crate::poseidon::Cell;
use crate::poseidon::PoseidonConfig;

/// Rows of one level: two swap rows and two width-5 permutations.
pub const LEVEL_ROWS: usize = 2 * (1 + PoseidonConfig::<5>::ROWS);

/// The capacity word a `ConstantLength<4>` width-5 sponge starts with: `4 · 2^64`.
fn node4_capacity() -> Fp {
    Fp::from_u128(4u128 << 64)
}

/// The width-5 Poseidon chip's columns and the swap and index selectors (no index gate for
/// a circuit that only hashes single paths).
#[derive(Clone, Debug)]
pub(crate) struct MerkleUpdateConfig {
    poseidon: PoseidonConfig<5>,
    q_swap: Selector,
    q_index: Option<Selector>,
}

/// One level of a pass: the old and new node at that height (level 0 is the leaves) and the
/// running sum `z` of the position's digits from that level up (`z_0` is the position).
#[derive(Clone, Debug)]
pub(crate) struct Level {
    pub(crate) old: Cell,
    pub(crate) new: Cell,
    pub(crate) z: Cell,
}

/// Computes old and new roots of one leaf update in an arity-4 tree.
#[derive(Clone, Debug)]
pub(crate) struct MerkleUpdateChip {
    config: MerkleUpdateConfig,
}

/// The indicators of the digit `b0 + 2·b1` being 0, 1, 2, 3.
fn indicators(b0: &Expression<Fp>, b1: &Expression<Fp>) -> [Expression<Fp>; 4] {
    let one = || Expression::Constant(Fp::ONE);
    [
        (one() - b0.clone()) * (one() - b1.clone()),
        b0.clone() * (one() - b1.clone()),
        (one() - b0.clone()) * b1.clone(),
        b0.clone() * b1.clone(),
    ]
}

impl MerkleUpdateChip {
    /// Configures the swap and index gates on the width-5 chip's columns: for
    /// [`MerkleUpdateChip::update`] (and [`MerkleUpdateChip::root`]).
    pub(crate) fn configure(
        meta: &mut ConstraintSystem<Fp>,
        poseidon: PoseidonConfig<5>,
    ) -> MerkleUpdateConfig {
        let a = poseidon.advice;
        let mut config = Self::configure_path(meta, poseidon);
        let q_index = crate::selector::selector(meta);
        meta.create_gate("merkle4 index", |meta| {
            let q = meta.query_selector(q_index);
            let [b0, b1, z, z_next] =
                [4, 5, 6, 7].map(|i| meta.query_advice(a[i], Rotation::cur()));
            Constraints::with_selector(
                q,
                [(
                    "z = 4 * z_next + b0 + 2 * b1",
                    z - z_next * Fp::from(4) - b0 - b1 * Fp::from(2),
                )],
            )
        });
        config.q_index = Some(q_index);
        config
    }

    /// Configures the swap gate alone: for [`MerkleUpdateChip::root`] only (a private
    /// position, no running sum).
    pub(crate) fn configure_path(
        meta: &mut ConstraintSystem<Fp>,
        poseidon: PoseidonConfig<5>,
    ) -> MerkleUpdateConfig {
        let a = poseidon.advice;
        let q_swap = crate::selector::selector(meta);
        meta.create_gate("merkle4 swap", |meta| {
            let q = meta.query_selector(q_swap);
            let cur = |meta: &mut halo2_proofs::plonk::VirtualCells<'_, Fp>, i: usize| {
                meta.query_advice(a[i], Rotation::cur())
            };
            let [current, s0, s1, s2, b0, b1] = [0, 1, 2, 3, 4, 5].map(|i| cur(meta, i));
            let child = [0, 1, 2, 3].map(|i| meta.query_advice(a[i], Rotation::next()));
            let capacity = meta.query_advice(a[4], Rotation::next());
            let [e0, e1, e2, e3] = indicators(&b0, &b1);
            let one = || Expression::Constant(Fp::ONE);
            let boolean = |b: &Expression<Fp>| b.clone() * (one() - b.clone());
            Constraints::with_selector(
                q,
                [
                    ("b0 is boolean", boolean(&b0)),
                    ("b1 is boolean", boolean(&b1)),
                    (
                        "child 0 = e0 * current + (1 - e0) * s0",
                        child[0].clone()
                            - e0.clone() * current.clone()
                            - (one() - e0.clone()) * s0.clone(),
                    ),
                    (
                        "child 1 = e1 * current + e0 * s0 + (e2 + e3) * s1",
                        child[1].clone()
                            - e1.clone() * current.clone()
                            - e0.clone() * s0
                            - (e2.clone() + e3.clone()) * s1.clone(),
                    ),
                    (
                        "child 2 = e2 * current + (e0 + e1) * s1 + e3 * s2",
                        child[2].clone()
                            - e2 * current.clone()
                            - (e0 + e1) * s1
                            - e3.clone() * s2.clone(),
                    ),
                    (
                        "child 3 = e3 * current + (1 - e3) * s2",
                        child[3].clone() - e3.clone() * current - (one() - e3) * s2,
                    ),
                    (
                        "node4 capacity = 4 * 2^64",
                        capacity - Expression::Constant(node4_capacity()),
                    ),
                ],
            )
        });
        MerkleUpdateConfig {
            poseidon,
            q_swap,
            q_index: None,
        }
    }

    /// The chip.
    pub(crate) fn construct(config: MerkleUpdateConfig) -> Self {
        MerkleUpdateChip { config }
    }

    /// A swap row at `row` and the node's permutation below it: `current` copied, the
    /// siblings and bits given as values to witness or cells to copy. Returns the node and
    /// the sibling and bit cells.
    fn node_at(
        &self,
        region: &mut Region<'_, Fp>,
        row: usize,
        current: &Cell,
        siblings: Either<Value<[Fp; 3]>, &[Cell; 3]>,
        bits: Either<Value<[Fp; 2]>, &[Cell; 2]>,
    ) -> Result<(Cell, [Cell; 3], [Cell; 2]), Error> {
        let a = self.config.poseidon.advice;
        self.config.q_swap.enable(region, row)?;
        let current = current.copy_advice(|| "current", region, a[0], row)?;
        let siblings: [Cell; 3] = match siblings {
            Either::Value(v) => [0, 1, 2]
                .map(|i| region.assign_advice(|| "sibling", a[1 + i], row, || v.map(|s| s[i]))),
            Either::Copy(cells) => {
                [0, 1, 2].map(|i| cells[i].copy_advice(|| "sibling", region, a[1 + i], row))
            }
        }
        .into_iter()
        .collect::<Result<Vec<_>, Error>>()?
        .try_into()
        .expect("three siblings");
        let bits: [Cell; 2] = match bits {
            Either::Value(v) => [0, 1].map(|i| {
                region.assign_advice(
                    || ["digit b0", "digit b1"][i],
                    a[4 + i],
                    row,
                    || v.map(|b| b[i]),
                )
            }),
            Either::Copy(cells) => [0, 1].map(|i| {
                cells[i].copy_advice(|| ["digit b0", "digit b1"][i], region, a[4 + i], row)
            }),
        }
        .into_iter()
        .collect::<Result<Vec<_>, Error>>()?
        .try_into()
        .expect("two bits");
        let sib = siblings[0]
            .value()
            .zip(siblings[1].value())
            .zip(siblings[2].value())
            .map(|((s0, s1), s2)| [*s0, *s1, *s2]);
        let digit = bits[0]
            .value()
            .zip(bits[1].value())
            .map(|(b0, b1)| u64::from(*b0 == Fp::ONE) + 2 * u64::from(*b1 == Fp::ONE));
        let input = current.value().zip(sib).zip(digit).map(|((c, s), d)| {
            let ch = children4(*c, s, d);
            [ch[0], ch[1], ch[2], ch[3], node4_capacity()]
        });
        for i in 0..4 {
            region.assign_advice(|| "child", a[i], row + 1, || input.map(|v| v[i]))?;
        }
        region.assign_advice(|| "capacity", a[4], row + 1, || input.map(|v| v[4]))?;
        let out = self.config.poseidon.permute_at(region, row + 1, input)?;
        let node = out.into_iter().next().expect("five words");
        Ok((node, siblings, bits))
    }

    /// Hashes `leaf_old` and `leaf_new` up `path` (whose position is the value of `index`)
    /// through `levels` arity-4 levels and returns the `levels + 1` levels, the last holding
    /// the old and the new root. `index` is constrained to be the path's position and below
    /// `4^levels`.
    pub(crate) fn update(
        &self,
        mut layouter: impl Layouter<Fp>,
        index: &AssignedCell<Fp, Fp>,
        path: Value<&MerklePath>,
        levels: usize,
        leaf_old: Cell,
        leaf_new: Cell,
    ) -> Result<Vec<Level>, Error> {
        let a = self.config.poseidon.advice;
        let q_index = self
            .config
            .q_index
            .expect("a pass needs the index gate (MerkleUpdateChip::configure)");
        let mut cur_old = leaf_old;
        let mut cur_new = leaf_new;
        let mut z = index.clone();
        let mut out = Vec::with_capacity(levels + 1);
        for level in 0..levels {
            out.push(Level {
                old: cur_old.clone(),
                new: cur_new.clone(),
                z: z.clone(),
            });
            let (siblings, digit, bits) = level_witness(path, level);
            let (old, new, z_next) = layouter.assign_region(
                || format!("merkle4 level {level}"),
                |mut region| {
                    q_index.enable(&mut region, 0)?;
                    z.copy_advice(|| "z", &mut region, a[6], 0)?;
                    let z_next = region.assign_advice(
                        || "z_next",
                        a[7],
                        0,
                        || {
                            z.value()
                                .zip(digit)
                                .map(|(z, d)| (*z - Fp::from(d)) * Fp::from(4).invert().unwrap())
                        },
                    )?;
                    let (old, sib, b) =
                        self.witnessed_node_at(&mut region, &cur_old, siblings, bits)?;
                    let (new, _, _) = self.node_at(
                        &mut region,
                        LEVEL_ROWS / 2,
                        &cur_new,
                        Either::Copy(&sib),
                        Either::Copy(&b),
                    )?;
                    Ok((old, new, z_next))
                },
            )?;
            cur_old = old;
            cur_new = new;
            z = z_next;
        }
        layouter.assign_region(
            || "position fits the tree",
            |mut region| {
                let last = z.copy_advice(|| "z_depth", &mut region, a[6], 0)?;
                region.constrain_constant(last.cell(), Fp::ZERO)
            },
        )?;
        out.push(Level {
            old: cur_old,
            new: cur_new,
            z,
        });
        Ok(out)
    }

    /// Hashes `leaf` up `path` through `levels` levels and returns the root: per level a
    /// region of 16 rows, a swap row and the node's permutation. The position's digits are
    /// witnessed as bits (each boolean by the swap gate) and tied to no cell, so the
    /// position stays private (the ballot's voter path); every position of `4^levels` is
    /// one of the tree's.
    pub(crate) fn root(
        &self,
        mut layouter: impl Layouter<Fp>,
        path: Value<&MerklePath>,
        levels: usize,
        leaf: Cell,
    ) -> Result<Cell, Error> {
        let mut node = leaf;
        for level in 0..levels {
            let (siblings, _, bits) = level_witness(path, level);
            node = layouter.assign_region(
                || format!("merkle4 level {level}"),
                |mut region| {
                    let (node, _, _) =
                        self.witnessed_node_at(&mut region, &node, siblings, bits)?;
                    Ok(node)
                },
            )?;
        }
        Ok(node)
    }

    /// A node at the top of `region` with its siblings and bits witnessed (not copied).
    fn witnessed_node_at(
        &self,
        region: &mut Region<'_, Fp>,
        current: &Cell,
        siblings: Value<[Fp; 3]>,
        bits: Value<[Fp; 2]>,
    ) -> Result<(Cell, [Cell; 3], [Cell; 2]), Error> {
        self.node_at(
            region,
            0,
            current,
            Either::Value(siblings),
            Either::Value(bits),
        )
    }
}

/// A path's witness at `level`: the three siblings, the digit and its two bits.
fn level_witness(
    path: Value<&MerklePath>,
    level: usize,
) -> (Value<[Fp; 3]>, Value<u64>, Value<[Fp; 2]>) {
    let siblings = path.map(|p| p.siblings.get(level).copied().unwrap_or_default());
    let digit = path.map(|p| (p.index >> (2 * level)) & 3);
    let bits = digit.map(|d| [Fp::from(d & 1), Fp::from(d >> 1)]);
    (siblings, digit, bits)
}

/// Values to witness, or cells to copy.
#[derive(Clone, Copy, Debug)]
enum Either<V, C> {
    Value(V),
    Copy(C),
}

#[cfg(test)]
mod tests;
