//! One pass over a Merkle path ([`crate::merkle::MerklePath`], arity 4) that computes the
//! old and the new root of a leaf update with shared siblings and position digits, on the
//! width-5 Poseidon chip ([`crate::poseidon`], 15 rows a permutation); and the root of a
//! single path ([`MerkleUpdateChip::root`], the ballot's voter path).
//!
//! A pass is one region: the chain of the old nodes, then the chain of the new nodes. A
//! chain is a current row and, per level, the node's permutation, whose output row (the
//! node in c0, its other state words in c1..c4) holds the next level's siblings and digit
//! bits in the five cells the permutation leaves free, so a level is two permutations and
//! nothing else (30 rows; a swap row of its own above each permutation made it 32):
//!
//! ```text
//! row       c0        c1..c3    c4         c5   c6   c7   c8   c9
//!  0        leaf      .         .          s0   s1   s2   b0   b1    q_swap (level 0)
//!  1        child 0   child 1.. capacity   (old node of level 0: rows 1–15)
//!  15       node      (state)   (state)    s0'  s1'  s2'  b0'  b1'   q_swap (level 1)
//!  16       child 0'  …                    (old node of level 1: rows 16–30)
//!  …
//!  1+15N    leaf'     .         .          s0   s1   s2   b0   b1    q_swap: the new chain,
//!  …                                                                 siblings and bits copied
//! ```
//!
//! `q_swap` (a current row): `b0` and `b1` are boolean; with `e_k` the indicator of digit
//! `k = b0 + 2·b1` (a product of two factors), the next row's children are the current node
//! at `k` and the siblings in order around it (`child 0 = e0·current + (1 − e0)·s0`, …), and
//! its capacity word is `4·2^64` (a `ConstantLength<4>` sponge's, so the node is exactly
//! [`crate::hash::node4`]); degree 4 with the selector. The new chain's siblings and bits
//! are copies of the old chain's.
//!
//! The position: a region of its own, four digits a row on all ten columns, `z = 16·z_mid +
//! b0 + 2·b1 + 4·b2 + 8·b3` and `z_mid = 16·z_next + b4 + 2·b5 + 4·b6 + 8·b7` (`q_index`;
//! `b0, b1` the digit of level `4j`, `b2, b3` of `4j + 1`, `b4, b5` of `4j + 2`, `b6, b7` of
//! `4j + 3`, copies of the swap rows' bits), a running sum from the leaf position down to 0
//! after the last level. A pass of `4m + 2` levels pads its last row's second half with zero
//! bits (constants), so its `z_next` is 0 as its `z_mid` is.
//!
//! ```text
//! row   c0      c1..c4           c5..c8           c9
//!  j    z_4j    b0 b1 b2 b3      b4 b5 b6 b7      z_4j+2     q_index (j < ⌈N / 4⌉)
//!  last z_N = 0 (or 0 below a padded row)
//! ```
//!
//! The pass returns every level's old and new node and, at every even level, the running
//! sum, so a caller can read the root of a shallower tree of `d` bits at level `d / 2` (with
//! `z = 0` there for a position below `2^d`; every tree's `d / 2` is even): one pass of the
//! deepest tree a touch may write serves every tree.
//!
//! What this chip does not constrain: that the old root is the tree's root, or what the
//! leaves are; the caller equates the roots and computes the leaves.

use ff::{Field, PrimeField};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Region, Value},
    plonk::{ConstraintSystem, Error, Expression, Selector},
    poly::Rotation,
};

use crate::hash::Fp;
use crate::merkle::{children4, MerklePath};
pub(crate) use crate::poseidon::Cell;
use crate::poseidon::PoseidonConfig;

/// Rows of one level: the old node's and the new node's width-5 permutations.
pub const LEVEL_ROWS: usize = 2 * PoseidonConfig::<5>::ROWS;

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

/// One level of a pass: the old and new node at that height (level 0 is the leaves) and,
/// at even levels, the running sum `z` of the position's digits from that level up (`z_0`
/// is the position).
#[derive(Clone, Debug)]
pub(crate) struct Level {
    pub(crate) old: Cell,
    pub(crate) new: Cell,
    pub(crate) z: Option<Cell>,
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

/// Columns of a current row's siblings `s0, s1, s2` and digit bits `b0, b1`: the five a
/// permutation's output row leaves free.
const SIBLINGS: [usize; 3] = [5, 6, 7];
/// The index gate's two constraints: a row's first two digits, then its last two.
pub(crate) const INDEX_SUMS: [&str; 2] = [
    "z = 16 * z_mid + b0 + 2 * b1 + 4 * b2 + 8 * b3",
    "z_mid = 16 * z_next + b4 + 2 * b5 + 4 * b6 + 8 * b7",
];
const BITS: [usize; 2] = [8, 9];

/// One level's siblings and digit bits, in a chain's current row.
#[derive(Clone, Debug)]
struct LevelCells {
    siblings: [Cell; 3],
    bits: [Cell; 2],
}

/// One level's siblings and digit bits as values to witness.
type LevelValues = (Value<[Fp; 3]>, Value<[Fp; 2]>);

/// A chain's levels' siblings and bits: values to witness (the first chain of a pass, or a
/// single path), or the cells of an earlier chain to copy.
#[derive(Clone, Copy, Debug)]
enum Witness<'a> {
    Values(&'a [LevelValues]),
    Copies(&'a [LevelCells]),
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
            let [z, b0, b1, b2, b3, b4, b5, b6, b7, z_mid] =
                a.map(|column| meta.query_advice(column, Rotation::cur()));
            let z_next = meta.query_advice(a[0], Rotation::next());
            let digits = |b: [Expression<Fp>; 4]| {
                b.into_iter()
                    .zip([1u64, 2, 4, 8])
                    .map(|(b, w)| b * Fp::from(w))
                    .reduce(|x, y| x + y)
                    .expect("four bits")
            };
            crate::selector::gated(
                q,
                [
                    (
                        INDEX_SUMS[0],
                        z - z_mid.clone() * Fp::from(16) - digits([b0, b1, b2, b3]),
                    ),
                    (
                        INDEX_SUMS[1],
                        z_mid - z_next * Fp::from(16) - digits([b4, b5, b6, b7]),
                    ),
                ],
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
            let current = meta.query_advice(a[0], Rotation::cur());
            let [s0, s1, s2] = SIBLINGS.map(|i| meta.query_advice(a[i], Rotation::cur()));
            let [b0, b1] = BITS.map(|i| meta.query_advice(a[i], Rotation::cur()));
            let child = [0, 1, 2, 3].map(|i| meta.query_advice(a[i], Rotation::next()));
            let capacity = meta.query_advice(a[4], Rotation::next());
            let [e0, e1, e2, e3] = indicators(&b0, &b1);
            let one = || Expression::Constant(Fp::ONE);
            let boolean = |b: &Expression<Fp>| b.clone() * (one() - b.clone());
            crate::selector::gated(
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

    /// Lays out a chain from row `row` of `region`: `current` copied into the current row,
    /// then per level the swap (in the current row) and the node's permutation below it,
    /// whose output row is the next level's current row. `1 + levels · ROWS` rows. Returns
    /// each level's node above it (the last the root) and each level's siblings and bits.
    fn chain(
        &self,
        region: &mut Region<'_, Fp>,
        row: usize,
        current: &Cell,
        witness: Witness<'_>,
    ) -> Result<(Vec<Cell>, Vec<LevelCells>), Error> {
        let a = self.config.poseidon.advice;
        let levels = match witness {
            Witness::Values(v) => v.len(),
            Witness::Copies(c) => c.len(),
        };
        let mut node = current.copy_advice(|| "current", region, a[0], row)?;
        let mut at = row;
        let mut nodes = Vec::with_capacity(levels);
        let mut used = Vec::with_capacity(levels);
        for level in 0..levels {
            self.config.q_swap.enable(region, at)?;
            let cells = match witness {
                Witness::Values(v) => {
                    let (siblings, bits) = v[level];
                    LevelCells {
                        siblings: try_array(SIBLINGS.iter().enumerate().map(|(i, &c)| {
                            region.assign_advice(|| "sibling", a[c], at, || siblings.map(|s| s[i]))
                        }))?,
                        bits: try_array(BITS.iter().enumerate().map(|(i, &c)| {
                            region.assign_advice(
                                || ["digit b0", "digit b1"][i],
                                a[c],
                                at,
                                || bits.map(|b| b[i]),
                            )
                        }))?,
                    }
                }
                Witness::Copies(cells) => {
                    let from = &cells[level];
                    LevelCells {
                        siblings: try_array(
                            SIBLINGS
                                .iter()
                                .zip(&from.siblings)
                                .map(|(&c, s)| s.copy_advice(|| "sibling", region, a[c], at)),
                        )?,
                        bits: try_array(BITS.iter().zip(&from.bits).enumerate().map(
                            |(i, (&c, b))| {
                                b.copy_advice(|| ["digit b0", "digit b1"][i], region, a[c], at)
                            },
                        ))?,
                    }
                }
            };
            let sib = cells.siblings[0]
                .value()
                .zip(cells.siblings[1].value())
                .zip(cells.siblings[2].value())
                .map(|((s0, s1), s2)| [*s0, *s1, *s2]);
            let digit = cells.bits[0]
                .value()
                .zip(cells.bits[1].value())
                .map(|(b0, b1)| u64::from(*b0 == Fp::ONE) + 2 * u64::from(*b1 == Fp::ONE));
            let input = node.value().zip(sib).zip(digit).map(|((c, s), d)| {
                let ch = children4(*c, s, d);
                [ch[0], ch[1], ch[2], ch[3], node4_capacity()]
            });
            for i in 0..4 {
                region.assign_advice(|| "child", a[i], at + 1, || input.map(|v| v[i]))?;
            }
            region.assign_advice(|| "capacity", a[4], at + 1, || input.map(|v| v[4]))?;
            let out = self.config.poseidon.permute_at(region, at + 1, input)?;
            node = out.into_iter().next().expect("five words");
            at += PoseidonConfig::<5>::ROWS;
            nodes.push(node.clone());
            used.push(cells);
        }
        Ok((nodes, used))
    }

    /// Hashes `leaf_old` and `leaf_new` up `path` (whose position is the value of `index`)
    /// through `levels` arity-4 levels (an even number) and returns the `levels + 1` levels,
    /// the last holding the old and the new root. `index` is constrained to be the path's
    /// position and below `4^levels`.
    pub(crate) fn update(
        &self,
        mut layouter: impl Layouter<Fp>,
        index: &AssignedCell<Fp, Fp>,
        path: Value<&MerklePath>,
        levels: usize,
        leaf_old: Cell,
        leaf_new: Cell,
    ) -> Result<Vec<Level>, Error> {
        assert!(
            levels.is_multiple_of(2),
            "a pass runs an even number of levels"
        );
        let a = self.config.poseidon.advice;
        let q_index = self
            .config
            .q_index
            .expect("a pass needs the index gate (MerkleUpdateChip::configure)");
        let witness: Vec<_> = (0..levels)
            .map(|level| {
                let (siblings, _, bits) = level_witness(path, level);
                (siblings, bits)
            })
            .collect();
        let (old, new, used) = layouter.assign_region(
            || "merkle4 pass",
            |mut region| {
                let (old, used) =
                    self.chain(&mut region, 0, &leaf_old, Witness::Values(&witness))?;
                let (new, _) = self.chain(
                    &mut region,
                    1 + levels * PoseidonConfig::<5>::ROWS,
                    &leaf_new,
                    Witness::Copies(&used),
                )?;
                Ok((old, new, used))
            },
        )?;
        let zs = layouter.assign_region(
            || "merkle4 index",
            |mut region| {
                let mut z = index.copy_advice(|| "z", &mut region, a[0], 0)?;
                let mut zs = vec![z.clone()];
                // A row: two levels' digits into `z_mid` (c9), two more into the next row's
                // `z`; a last row of one pair pads its second with zero bits.
                for (row, quad) in used.chunks(4).enumerate() {
                    q_index.enable(&mut region, row)?;
                    for half in 0..2 {
                        let pair = quad.get(2 * half..).filter(|p| !p.is_empty());
                        let mut digits = Value::known(0u64);
                        for i in 0..2 {
                            for j in 0..2 {
                                let column = a[1 + 4 * half + 2 * i + j];
                                match pair.and_then(|p| p.get(i)) {
                                    Some(cells) => {
                                        let bit = &cells.bits[j];
                                        bit.copy_advice(
                                            || ["digit b0 (index)", "digit b1 (index)"][j],
                                            &mut region,
                                            column,
                                            row,
                                        )?;
                                        let weight = 1u64 << (2 * i + j);
                                        digits = digits
                                            .zip(bit.value())
                                            .map(|(d, b)| d + weight * u64::from(*b == Fp::ONE));
                                    }
                                    None => {
                                        region.assign_advice_from_constant(
                                            || "digit padding (index)",
                                            column,
                                            row,
                                            Fp::ZERO,
                                        )?;
                                    }
                                }
                            }
                        }
                        let next = z
                            .value()
                            .zip(digits)
                            .map(|(z, d)| (*z - Fp::from(d)) * Fp::from(16).invert().unwrap());
                        z = if half == 0 {
                            region.assign_advice(|| "z_mid", a[9], row, || next)?
                        } else {
                            region.assign_advice(|| "z_next", a[0], row + 1, || next)?
                        };
                        if pair.is_some() {
                            zs.push(z.clone());
                        }
                    }
                }
                // `z` after the last level (a padded row's `z_next` is then 0 too).
                let z = zs.last().expect("the position").clone();
                // The position fits the tree: nothing is left after the last level.
                region.constrain_constant(z.cell(), Fp::ZERO)?;
                Ok(zs)
            },
        )?;
        let mut out = Vec::with_capacity(levels + 1);
        for level in 0..=levels {
            let (o, n) = if level == 0 {
                (leaf_old.clone(), leaf_new.clone())
            } else {
                (old[level - 1].clone(), new[level - 1].clone())
            };
            out.push(Level {
                old: o,
                new: n,
                z: level.is_multiple_of(2).then(|| zs[level / 2].clone()),
            });
        }
        Ok(out)
    }

    /// Hashes `leaf` up `path` through `levels` levels and returns the root: one region, a
    /// chain of `1 + 15 · levels` rows. The position's digits are witnessed as bits (each
    /// boolean by the swap gate) and tied to no cell, so the position stays private (the
    /// ballot's voter path); every position of `4^levels` is one of the tree's.
    pub(crate) fn root(
        &self,
        mut layouter: impl Layouter<Fp>,
        path: Value<&MerklePath>,
        levels: usize,
        leaf: Cell,
    ) -> Result<Cell, Error> {
        let witness: Vec<_> = (0..levels)
            .map(|level| {
                let (siblings, _, bits) = level_witness(path, level);
                (siblings, bits)
            })
            .collect();
        layouter.assign_region(
            || "merkle4 path",
            |mut region| {
                let (nodes, _) = self.chain(&mut region, 0, &leaf, Witness::Values(&witness))?;
                Ok(nodes.last().cloned().unwrap_or_else(|| leaf.clone()))
            },
        )
    }
}

/// The cells of `cells`, all assigned or the first error.
fn try_array<const N: usize>(
    cells: impl Iterator<Item = Result<Cell, Error>>,
) -> Result<[Cell; N], Error> {
    let v = cells.collect::<Result<Vec<_>, Error>>()?;
    Ok(v.try_into().unwrap_or_else(|_| panic!("{N} cells")))
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

#[cfg(test)]
mod tests;
