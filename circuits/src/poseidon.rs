//! Poseidon (P128Pow5T3, the rollup's one hash: [`crate::hash::poseidon`]) laid out on ten
//! advice columns, for the chunk circuits and the ballot circuit: one permutation in 12
//! rows, where `Pow5Chip` takes 37 rows on four columns. The permutation is the same, so the
//! native rules and the circuits agree on every hash (tests compare with the Zcash test
//! vectors).
//!
//! A permutation is 4 full rounds, 56 partial rounds and 4 full rounds. Rows:
//!
//! ```text
//! row     c0 c1 c2   c3 c4 c5     c6 ... c9       gate
//!  0, 1   state s    state after  (free)          `q_full`: two full rounds, into the
//!                    one round                    next row's state
//!  2..8   state s    x2 ... x8 (c3..c9)           `q_partial`: eight partial rounds
//!  9, 10  state s    state after  (free)          `q_full`
//!  11     output     (free)
//! ```
//!
//! A full-rounds row: `mid = M·(s + rc_r)^5` and `next = M·(mid + rc_{r+1})^5` (the round
//! constants in fixed columns). A partial-rounds row witnesses the S-box inputs `x2..x8` of
//! its rounds 2 to 8: the state before any S-box of the row is an affine function of the
//! row's state `s` and the S-box outputs `y_j = x_j^5` before it (`x1 = s0 + c` is affine in
//! `s`, so it needs no cell), with coefficients that depend only on the MDS matrix (constants
//! in the gate) and constant terms that depend on the row's round constants (fixed columns).
//! So the row constrains `x_j = A_j(s, y_1..y_{j-1}) + k_j` for `j = 2..8` and the next row's
//! state `= B(s, y_1..y_8) + k'`: every constraint is degree 5 times its selector.
//!
//! A sponge of several blocks (`ConstantLength<L>` with `L > 2`): the output row of one
//! permutation also holds the next two inputs (c3, c4) and `q_absorb` makes the next
//! permutation's input `output + (m0, m1, 0)`.
//!
//! The free cells of a permutation's first row carry a Merkle level's swap data
//! ([`configure_node_swap`]): a node `Poseidon(left, right)` costs the permutation's 12 rows
//! and nothing more.

use std::sync::OnceLock;

use ff::{Field, PrimeField};

use halo2_gadgets::poseidon::primitives::{P128Pow5T3, Spec};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Region, Value},
    plonk::{Advice, Column, ConstraintSystem, Constraints, Error, Expression, Fixed, Selector},
    poly::Rotation,
};

use crate::hash::Fp;

/// A cell of the circuits' field.
pub(crate) type Cell = AssignedCell<Fp, Fp>;

/// Rows of one permutation (the last holds its output).
pub(crate) const PERMUTATION_ROWS: usize = 12;
/// Full rounds before (and after) the partial rounds.
const HALF_FULL: usize = 4;
/// Partial rounds of P128Pow5T3.
const PARTIAL: usize = 56;
/// Partial rounds checked in one row.
const PER_ROW: usize = 8;
/// Rows of partial rounds.
const PARTIAL_ROWS: usize = PARTIAL / PER_ROW;
/// Fixed columns: a partial row's `c` (for `x1`), `k2..k8` and `k'` (three).
pub(crate) const FIXED: usize = 1 + (PER_ROW - 1) + 3;
/// Terms of an affine form over a partial row: `s0, s1, s2, y1..y8`.
const TERMS: usize = 3 + PER_ROW;

/// `a0·s0 + a1·s1 + a2·s2 + Σ b_j·y_j + k`.
#[derive(Clone, Copy, Debug)]
struct Affine {
    coef: [Fp; TERMS],
    constant: Fp,
}

impl Affine {
    fn term(i: usize) -> Affine {
        let mut coef = [Fp::zero(); TERMS];
        coef[i] = Fp::one();
        Affine {
            coef,
            constant: Fp::zero(),
        }
    }

    fn scaled_sum(parts: &[(Fp, Affine)]) -> Affine {
        let mut out = Affine {
            coef: [Fp::zero(); TERMS],
            constant: Fp::zero(),
        };
        for (scale, a) in parts {
            for (o, c) in out.coef.iter_mut().zip(a.coef) {
                *o += *scale * c;
            }
            out.constant += *scale * a.constant;
        }
        out
    }
}

/// The permutation's constants, and the affine forms of the partial-round rows.
struct Constants {
    rc: Vec<[Fp; 3]>,
    mds: [[Fp; 3]; 3],
    /// `x_j` for `j = 2..8` (index `j - 2`): coefficients (the same for every row).
    x_coef: [[Fp; TERMS]; PER_ROW - 1],
    /// The next row's state.
    next_coef: [[Fp; TERMS]; 3],
    /// Per partial row: `[c, k2..k8, k'0, k'1, k'2]`.
    row_constants: Vec<[Fp; FIXED]>,
}

fn constants() -> &'static Constants {
    static CONSTANTS: OnceLock<Constants> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let (rc, mds, _) = <P128Pow5T3 as Spec<Fp, 3, 2>>::constants();
        let mut x_coef = [[Fp::zero(); TERMS]; PER_ROW - 1];
        let mut next_coef = [[Fp::zero(); TERMS]; 3];
        let mut row_constants = Vec::with_capacity(PARTIAL_ROWS);
        for row in 0..PARTIAL_ROWS {
            let mut v = [0, 1, 2].map(Affine::term);
            let mut consts = [Fp::zero(); FIXED];
            for j in 0..PER_ROW {
                let round = &rc[HALF_FULL + row * PER_ROW + j];
                for (word, c) in v.iter_mut().zip(round) {
                    word.constant += c;
                }
                if j == 0 {
                    // x1 = s0 + c: affine in s alone.
                    debug_assert_eq!(v[0].coef, Affine::term(0).coef);
                    consts[0] = v[0].constant;
                } else {
                    consts[j] = v[0].constant;
                    if row == 0 {
                        x_coef[j - 1] = v[0].coef;
                    }
                    debug_assert_eq!(x_coef[j - 1], v[0].coef);
                }
                v[0] = Affine::term(3 + j);
                v = [0, 1, 2].map(|i| {
                    Affine::scaled_sum(&[(mds[i][0], v[0]), (mds[i][1], v[1]), (mds[i][2], v[2])])
                });
            }
            for i in 0..3 {
                consts[PER_ROW + i] = v[i].constant;
                if row == 0 {
                    next_coef[i] = v[i].coef;
                }
                debug_assert_eq!(next_coef[i], v[i].coef);
            }
            row_constants.push(consts);
        }
        Constants {
            rc,
            mds,
            x_coef,
            next_coef,
            row_constants,
        }
    })
}

fn pow5(x: Fp) -> Fp {
    x.square().square() * x
}

fn mds_times(m: &[[Fp; 3]; 3], v: [Fp; 3]) -> [Fp; 3] {
    [0, 1, 2].map(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}

/// Every cell value of one permutation's 12 rows (`None`: the cell is not used).
pub(crate) type Trace = [[Option<Fp>; 10]; PERMUTATION_ROWS];

/// The permutation of `input`, row by row as the chip lays it out.
pub(crate) fn trace(input: [Fp; 3]) -> Trace {
    let c = constants();
    let mut rows: Trace = [[None; 10]; PERMUTATION_ROWS];
    let full = |s: [Fp; 3], rc: &[Fp; 3]| mds_times(&c.mds, [0, 1, 2].map(|i| pow5(s[i] + rc[i])));
    let mut s = input;
    let mut round = 0;
    let full_row = |rows: &mut Trace, row: usize, s: &mut [Fp; 3], round: &mut usize| {
        let mid = full(*s, &c.rc[*round]);
        let next = full(mid, &c.rc[*round + 1]);
        for i in 0..3 {
            rows[row][i] = Some(s[i]);
            rows[row][3 + i] = Some(mid[i]);
        }
        *s = next;
        *round += 2;
    };
    full_row(&mut rows, 0, &mut s, &mut round);
    full_row(&mut rows, 1, &mut s, &mut round);
    for p in 0..PARTIAL_ROWS {
        let row = 2 + p;
        for i in 0..3 {
            rows[row][i] = Some(s[i]);
        }
        for j in 0..PER_ROW {
            let rc = &c.rc[round];
            for i in 0..3 {
                s[i] += rc[i];
            }
            if j > 0 {
                rows[row][2 + j] = Some(s[0]);
            }
            s[0] = pow5(s[0]);
            s = mds_times(&c.mds, s);
            round += 1;
        }
    }
    full_row(&mut rows, 2 + PARTIAL_ROWS, &mut s, &mut round);
    full_row(&mut rows, 3 + PARTIAL_ROWS, &mut s, &mut round);
    debug_assert_eq!(round, 2 * HALF_FULL + PARTIAL);
    for i in 0..3 {
        rows[PERMUTATION_ROWS - 1][i] = Some(s[i]);
    }
    rows
}

/// Columns and selectors of the chip.
#[derive(Clone, Debug)]
pub(crate) struct PoseidonConfig {
    pub(crate) advice: [Column<Advice>; 10],
    fixed: [Column<Fixed>; FIXED],
    q_full: Selector,
    q_partial: Selector,
    q_absorb: Selector,
}

fn pow5_expr(x: Expression<Fp>) -> Expression<Fp> {
    let x2 = x.clone() * x.clone();
    x2.clone() * x2 * x
}

fn weighted(terms: &[(Fp, Expression<Fp>)]) -> Expression<Fp> {
    terms
        .iter()
        .filter(|(c, _)| !bool::from(c.is_zero()))
        .map(|(c, e)| e.clone() * *c)
        .reduce(|a, b| a + b)
        .unwrap_or(Expression::Constant(Fp::zero()))
}

/// The names of the full-round constraints (`first`/`second` round of the row, word `i`).
const FULL_NAMES: [[&str; 3]; 2] = [
    [
        "poseidon full round: mid 0",
        "poseidon full round: mid 1",
        "poseidon full round: mid 2",
    ],
    [
        "poseidon full round: next 0",
        "poseidon full round: next 1",
        "poseidon full round: next 2",
    ],
];
const PARTIAL_NAMES: [&str; PER_ROW - 1] = [
    "poseidon partial round: x2",
    "poseidon partial round: x3",
    "poseidon partial round: x4",
    "poseidon partial round: x5",
    "poseidon partial round: x6",
    "poseidon partial round: x7",
    "poseidon partial round: x8",
];
const NEXT_NAMES: [&str; 3] = [
    "poseidon partial round: next 0",
    "poseidon partial round: next 1",
    "poseidon partial round: next 2",
];

impl PoseidonConfig {
    /// Configures the chip's gates on `advice` (all ten) and `fixed` (its round constants;
    /// other chips may use them on other rows).
    pub(crate) fn configure(
        meta: &mut ConstraintSystem<Fp>,
        advice: [Column<Advice>; 10],
        fixed: [Column<Fixed>; FIXED],
    ) -> PoseidonConfig {
        let c = constants();
        let q_full = meta.selector();
        let q_partial = meta.selector();
        let q_absorb = meta.selector();
        meta.create_gate("poseidon full rounds", |meta| {
            let q = meta.query_selector(q_full);
            let s = [0, 1, 2].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            let mid = [3, 4, 5].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            let next = [0, 1, 2].map(|i| meta.query_advice(advice[i], Rotation::next()));
            let rc = [0, 1, 2, 3, 4, 5].map(|i| meta.query_fixed(fixed[i]));
            let round =
                |input: &[Expression<Fp>; 3], rc: &[Expression<Fp>], out: &[Expression<Fp>; 3]| {
                    let boxed: Vec<_> = (0..3)
                        .map(|k| pow5_expr(input[k].clone() + rc[k].clone()))
                        .collect();
                    [0, 1, 2].map(|i| {
                        out[i].clone()
                            - weighted(&[
                                (c.mds[i][0], boxed[0].clone()),
                                (c.mds[i][1], boxed[1].clone()),
                                (c.mds[i][2], boxed[2].clone()),
                            ])
                    })
                };
            let first = round(&s, &rc[0..3], &mid);
            let second = round(&mid, &rc[3..6], &next);
            let named = first
                .into_iter()
                .zip(FULL_NAMES[0])
                .chain(second.into_iter().zip(FULL_NAMES[1]))
                .map(|(e, name)| (name, e));
            Constraints::with_selector(q, named.collect::<Vec<_>>())
        });
        meta.create_gate("poseidon partial rounds", |meta| {
            let q = meta.query_selector(q_partial);
            let s = [0, 1, 2].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            let x: Vec<_> = (3..10)
                .map(|i| meta.query_advice(advice[i], Rotation::cur()))
                .collect();
            let next = [0, 1, 2].map(|i| meta.query_advice(advice[i], Rotation::next()));
            let k: Vec<_> = (0..FIXED).map(|i| meta.query_fixed(fixed[i])).collect();
            // The terms s0, s1, s2, y1..y8 (y1 = (s0 + c)^5, y_j = x_j^5).
            let mut terms: Vec<Expression<Fp>> = s.to_vec();
            terms.push(pow5_expr(s[0].clone() + k[0].clone()));
            terms.extend(x.iter().map(|x| pow5_expr(x.clone())));
            let form = |coef: &[Fp; TERMS], constant: Expression<Fp>| {
                let pairs: Vec<_> = coef.iter().copied().zip(terms.iter().cloned()).collect();
                weighted(&pairs) + constant
            };
            let mut constraints = Vec::with_capacity(PER_ROW + 2);
            for j in 0..PER_ROW - 1 {
                constraints.push((
                    PARTIAL_NAMES[j],
                    x[j].clone() - form(&c.x_coef[j], k[1 + j].clone()),
                ));
            }
            for i in 0..3 {
                constraints.push((
                    NEXT_NAMES[i],
                    next[i].clone() - form(&c.next_coef[i], k[PER_ROW + i].clone()),
                ));
            }
            Constraints::with_selector(q, constraints)
        });
        meta.create_gate("poseidon absorb", |meta| {
            let q = meta.query_selector(q_absorb);
            let s = [0, 1, 2].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            let m = [3, 4].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            let next = [0, 1, 2].map(|i| meta.query_advice(advice[i], Rotation::next()));
            Constraints::with_selector(
                q,
                [
                    (
                        "poseidon absorb: next 0 = out 0 + m0",
                        next[0].clone() - s[0].clone() - m[0].clone(),
                    ),
                    (
                        "poseidon absorb: next 1 = out 1 + m1",
                        next[1].clone() - s[1].clone() - m[1].clone(),
                    ),
                    (
                        "poseidon absorb: next 2 = out 2",
                        next[2].clone() - s[2].clone(),
                    ),
                ],
            )
        });
        PoseidonConfig {
            advice,
            fixed,
            q_full,
            q_partial,
            q_absorb,
        }
    }

    /// Lays out one permutation at rows `offset..offset + 12` of `region`, whose input state
    /// (values `input`) the caller has put in row `offset`, columns 0..2. Returns the output
    /// cells (row `offset + 11`, columns 0..2).
    pub(crate) fn permute_at(
        &self,
        region: &mut Region<'_, Fp>,
        offset: usize,
        input: Value<[Fp; 3]>,
    ) -> Result<[Cell; 3], Error> {
        let c = constants();
        let trace = input.map(trace);
        let cell = |r: usize, i: usize| trace.as_ref().map(|t| t[r][i].expect("a used cell"));
        let mut round = 0;
        for row in 0..PERMUTATION_ROWS - 1 {
            let at = offset + row;
            let is_full = !(2..2 + PARTIAL_ROWS).contains(&row);
            if row > 0 {
                for i in 0..3 {
                    region.assign_advice(
                        || "poseidon state",
                        self.advice[i],
                        at,
                        || cell(row, i),
                    )?;
                }
            }
            if is_full {
                self.q_full.enable(region, at)?;
                for i in 0..3 {
                    region.assign_advice(
                        || "poseidon mid",
                        self.advice[3 + i],
                        at,
                        || cell(row, 3 + i),
                    )?;
                }
                for (i, value) in c.rc[round].iter().chain(&c.rc[round + 1]).enumerate() {
                    region.assign_fixed(
                        || "round constant",
                        self.fixed[i],
                        at,
                        || Value::known(*value),
                    )?;
                }
                round += 2;
            } else {
                self.q_partial.enable(region, at)?;
                for j in 3..10 {
                    region.assign_advice(|| "poseidon x", self.advice[j], at, || cell(row, j))?;
                }
                let consts = &c.row_constants[row - 2];
                for (i, value) in consts.iter().enumerate() {
                    region.assign_fixed(
                        || "partial constant",
                        self.fixed[i],
                        at,
                        || Value::known(*value),
                    )?;
                }
                round += PER_ROW;
            }
        }
        let last = offset + PERMUTATION_ROWS - 1;
        let out = [0, 1, 2].map(|i| {
            region.assign_advice(
                || "poseidon out",
                self.advice[i],
                last,
                || cell(PERMUTATION_ROWS - 1, i),
            )
        });
        let [a, b, d] = out;
        Ok([a?, b?, d?])
    }

    /// `Poseidon(message)` (`ConstantLength<L>`, as [`crate::hash::poseidon`]): one region
    /// of `12 · ceil(L / 2)` rows.
    pub(crate) fn hash<const L: usize>(
        &self,
        mut layouter: impl Layouter<Fp>,
        message: [Cell; L],
    ) -> Result<Cell, Error> {
        assert!(L > 0, "a hash of nothing");
        let blocks = L.div_ceil(2);
        let capacity = Fp::from_u128((L as u128) << 64);
        layouter.assign_region(
            || "poseidon hash",
            |mut region| {
                // An input word: the message cell copied, or the padding zero fixed.
                let word = |region: &mut Region<'_, Fp>, i: usize, column: usize, row: usize| {
                    match message.get(i) {
                        Some(m) => m.copy_advice(|| "input", region, self.advice[column], row),
                        None => region.assign_advice_from_constant(
                            || "padding",
                            self.advice[column],
                            row,
                            Fp::zero(),
                        ),
                    }
                };
                let first = [word(&mut region, 0, 0, 0)?, word(&mut region, 1, 1, 0)?];
                region.assign_advice_from_constant(
                    || "sponge capacity",
                    self.advice[2],
                    0,
                    capacity,
                )?;
                let mut input = first[0]
                    .value()
                    .zip(first[1].value())
                    .map(|(a, b)| [*a, *b, capacity]);
                let mut out = self.permute_at(&mut region, 0, input)?;
                for block in 1..blocks {
                    let row = block * PERMUTATION_ROWS - 1;
                    self.q_absorb.enable(&mut region, row)?;
                    let m = [
                        word(&mut region, 2 * block, 3, row)?,
                        word(&mut region, 2 * block + 1, 4, row)?,
                    ];
                    let state = out[0]
                        .value()
                        .zip(out[1].value())
                        .zip(out[2].value())
                        .zip(m[0].value().zip(m[1].value()))
                        .map(|(((a, b), c), (m0, m1))| [*a + m0, *b + m1, *c]);
                    let next = block * PERMUTATION_ROWS;
                    for i in 0..3 {
                        region.assign_advice(
                            || "absorbed",
                            self.advice[i],
                            next,
                            || state.map(|s| s[i]),
                        )?;
                    }
                    input = state;
                    out = self.permute_at(&mut region, next, input)?;
                }
                let [first_word, _, _] = out;
                Ok(first_word)
            },
        )
    }
}

/// The capacity word a `ConstantLength<2>` Poseidon sponge starts with: `2 · 2^64`.
pub(crate) fn node_capacity() -> Fp {
    Fp::from_u128(2u128 << 64)
}

/// Columns of a Merkle level's swap data in a permutation's first row (free of the
/// full-round gate, which uses columns 0 to 5): the current node, its sibling, the
/// position bit.
pub(crate) const SWAP_CURRENT: usize = 6;
/// See [`SWAP_CURRENT`].
pub(crate) const SWAP_SIBLING: usize = 7;
/// See [`SWAP_CURRENT`].
pub(crate) const SWAP_BIT: usize = 8;

/// The gate that makes a permutation's input a Merkle node's: on the permutation's first
/// row, `bit` is boolean, `left = current + bit·(sibling − current)`, `left + right =
/// current + sibling` (the sibling is on the left when the bit is 1), and the capacity word
/// is `2·2^64`, so the permutation's first output word is [`crate::hash::node`]`(left,
/// right)`.
pub(crate) fn configure_node_swap(
    meta: &mut ConstraintSystem<Fp>,
    advice: [Column<Advice>; 10],
) -> Selector {
    let q_swap = meta.selector();
    meta.create_gate("merkle swap", |meta| {
        let q = meta.query_selector(q_swap);
        let [left, right, capacity, current, sibling, bit] =
            [0, 1, 2, SWAP_CURRENT, SWAP_SIBLING, SWAP_BIT]
                .map(|i| meta.query_advice(advice[i], Rotation::cur()));
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
    q_swap
}

impl PoseidonConfig {
    /// A Merkle node at rows `offset..offset + 12` of `region`: the swap data (`current`
    /// copied, `sibling` and `bit` given as cells to copy or values to witness) and the
    /// permutation of `(left, right, 2·2^64)`, `q_swap` enabled on its first row. Returns
    /// the node and the sibling and bit cells.
    pub(crate) fn node_at(
        &self,
        region: &mut Region<'_, Fp>,
        offset: usize,
        q_swap: Selector,
        current: &Cell,
        sibling: Witness<'_>,
        bit: Witness<'_>,
    ) -> Result<(Cell, Cell, Cell), Error> {
        let a = self.advice;
        q_swap.enable(region, offset)?;
        let current = current.copy_advice(|| "current", region, a[SWAP_CURRENT], offset)?;
        let sibling = sibling.place(region, "sibling", a[SWAP_SIBLING], offset)?;
        let bit = bit.place(region, "bit", a[SWAP_BIT], offset)?;
        let input = current
            .value()
            .zip(sibling.value())
            .zip(bit.value())
            .map(|((c, s), b)| {
                let (l, r) = if *b == Fp::one() { (*s, *c) } else { (*c, *s) };
                [l, r, node_capacity()]
            });
        region.assign_advice(|| "left", a[0], offset, || input.map(|v| v[0]))?;
        region.assign_advice(|| "right", a[1], offset, || input.map(|v| v[1]))?;
        region.assign_advice(|| "node capacity", a[2], offset, || input.map(|v| v[2]))?;
        let [node, _, _] = self.permute_at(region, offset, input)?;
        Ok((node, sibling, bit))
    }
}

/// A value to witness in a cell, or a cell to copy.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Witness<'a> {
    /// A fresh witness.
    Value(Value<Fp>),
    /// A copy of this cell.
    Copy(&'a Cell),
}

impl Witness<'_> {
    fn place(
        self,
        region: &mut Region<'_, Fp>,
        name: &'static str,
        column: Column<Advice>,
        row: usize,
    ) -> Result<Cell, Error> {
        match self {
            Witness::Value(v) => region.assign_advice(|| name, column, row, || v),
            Witness::Copy(cell) => cell.copy_advice(|| name, region, column, row),
        }
    }
}

#[cfg(test)]
mod tests;
