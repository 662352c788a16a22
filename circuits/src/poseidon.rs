//! Poseidon laid out on ten advice columns, for the chunk circuits and the ballot circuit.
//! The circuits configure it at width 5 only: [`crate::hash::P128Pow5T5`] (rate 4, 60
//! partial rounds, the rollup's one hash [`crate::hash::poseidon`]) in 15 rows a
//! permutation, where `Pow5Chip` takes 37 rows on four columns for width 3. A full-rounds
//! row holds the state and the state after one round (ten cells), a partial-rounds row the
//! state and the S-box inputs `x2..x6` (six rounds a row, ten rows).
//!
//! The chip is generic in the width `W`, and its tests also lay out Zcash's P128Pow5T3
//! (`W = 3`, 12 rows) and compare it with Zcash's test vectors: the same code checked
//! against a reference it did not produce. The table below is drawn for `W = 3`; for
//! `W = 5` read six partial rounds a row, `x2..x6` in c5..c9, and four message words
//! absorbed in c5..c8.
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
//! constants in fixed columns), each checked word by word as `(M⁻¹·mid)_i = (s_i +
//! rc_i)^5`: one S-box per constraint (the same relation, `M` being invertible), where
//! `mid_i = Σ_k M_ik·(s_k + rc_k)^5` would repeat all `W` S-boxes in each of the `W`
//! constraints; halo2 evaluates every expression node at every point of the extended
//! domain, with nothing shared, so this form costs a third of the nodes at width 3. A partial-rounds row witnesses the S-box inputs `x2..x8` of
//! its rounds 2 to 8: the state before any S-box of the row is an affine function of the
//! row's state `s` and the S-box outputs `y_j = x_j^5` before it (`x1 = s0 + c` is affine in
//! `s`, so it needs no cell), with coefficients that depend only on the MDS matrix (constants
//! in the gate) and constant terms that depend on the row's round constants (fixed columns).
//! So the row constrains `x_j = A_j(s, y_1..y_{j-1}) + k_j` for `j = 2..8` and the next row's
//! state `= B(s, y_1..y_8) + k'`: every constraint is degree 5 times its selector. Written
//! so, the row's constraints would compute `x^5` 60 times at width 3 (45 at width 5); the
//! gate checks them reduced instead ([`reduce`]: each minus multiples of the ones before
//! it, an equivalent set), with one `y` in each `x_j` constraint and in `next 0` and none
//! in the other next-state ones, so each S-box output is computed once (the affine parts
//! grow to the row's other cells; the fixed columns hold the reduced constants).
//!
//! A sponge of several blocks (`ConstantLength<L>` with `L > 2`): the output row of one
//! permutation also holds the next two inputs (c3, c4) and `q_absorb` makes the next
//! permutation's input `output + (m0, m1, 0)`.
//!
//! A Merkle node is a width-5 permutation with a swap row of its own above it
//! ([`crate::chunk::merkle`]).

use std::sync::OnceLock;

use ff::Field;

use halo2_gadgets::poseidon::primitives::{P128Pow5T3, Spec};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Region, Value},
    plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector},
    poly::Rotation,
};

use crate::hash::{Fp, P128Pow5T5};

/// A cell of the circuits' field.
pub(crate) type Cell = AssignedCell<Fp, Fp>;

/// Rows of one width-3 permutation (the last holds its output).
#[cfg(test)]
pub(crate) const PERMUTATION_ROWS: usize = PoseidonConfig::<3>::ROWS;
/// Full rounds before (and after) the partial rounds.
const HALF_FULL: usize = 4;
/// Fixed columns: a partial row's `c` (for `x1`), `k2..k_PER_ROW` and `k'` (one per word):
/// `PER_ROW + W`, eleven at both widths.
pub(crate) const FIXED: usize = 11;
/// Terms of an affine form over a partial row: the `W` state words and `y1..y_PER_ROW`
/// (eleven at both widths).
const TERMS: usize = 11;

/// How a permutation of width `W` is laid out.
pub(crate) struct Layout<const W: usize>;

impl<const W: usize> Layout<W> {
    /// Partial rounds of the width's instance.
    const PARTIAL: usize = match W {
        3 => 56,
        5 => crate::hash::T5_PARTIAL_ROUNDS,
        _ => panic!("the chip lays out widths 3 and 5"),
    };
    /// Partial rounds checked in one row: `x1` needs no cell, `x2..` fill the cells the
    /// state leaves.
    const PER_ROW: usize = 11 - W;
    /// Rows of partial rounds.
    const PARTIAL_ROWS: usize = Self::PARTIAL / Self::PER_ROW;
    /// Rows of one permutation (the last holds its output).
    pub(crate) const ROWS: usize = 2 + Self::PARTIAL_ROWS + 2 + 1;
    /// Words a sponge absorbs per permutation.
    const RATE: usize = W - 1;
}

/// `a_0·s_0 + … + a_{W-1}·s_{W-1} + Σ b_j·y_j + k`.
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

/// The permutation's constants, and the constraints of the partial-round rows.
struct Constants {
    /// Round constants, `W` per round.
    rc: Vec<Vec<Fp>>,
    /// The MDS matrix, `W × W`.
    mds: Vec<Vec<Fp>>,
    /// Its inverse.
    mds_inv: Vec<Vec<Fp>>,
    /// A partial row's constraints as the rounds give them: `x_j = A_j(s, y_1..y_{j-1}) +
    /// k_j` for `j = 2..=PER_ROW`, then the next state `B_i(s, y_1..y_PER_ROW) + k'_i`
    /// (kept for the tests, which check the reduced ones against them).
    #[cfg_attr(not(test), allow(dead_code))]
    plain: Vec<RowForm>,
    /// The same constraints reduced ([`reduce`]), as the gate checks them: each the plain
    /// one minus multiples of the reduced ones before it.
    reduced: Vec<RowForm>,
    /// Per partial row, the fixed columns' values: the S-box constant `c` of `x1`, then each
    /// reduced constraint's constant term.
    row_constants: Vec<[Fp; FIXED]>,
}

/// A partial row's constraint, `Σ a·cell + Σ b_t·y_t + Σ d·k = 0`, where the cells are the
/// row's ten (`s_0..s_{W-1}`, `x_2..x_PER_ROW`) and the next row's state (`W`), the `y_t =
/// x_t^5` its S-box outputs (`x_1 = s_0 + c`), and the `k` the row's plain constants
/// (`k_2..`, `k'_0..`: the values of fixed columns `1..FIXED` in the plain form; `d[0]` is
/// unused).
#[derive(Clone, Debug, PartialEq)]
struct RowForm {
    cells: Vec<Fp>,
    y: Vec<Fp>,
    k: Vec<Fp>,
    /// The plain constraints this one is the sum of, with their multiples.
    from: Vec<Fp>,
}

impl RowForm {
    /// `self - f·other`.
    fn minus(&self, f: Fp, other: &RowForm) -> RowForm {
        let sub = |a: &[Fp], b: &[Fp]| a.iter().zip(b).map(|(a, b)| *a - f * b).collect();
        RowForm {
            cells: sub(&self.cells, &other.cells),
            y: sub(&self.y, &other.y),
            k: sub(&self.k, &other.k),
            from: sub(&self.from, &other.from),
        }
    }
}

/// Eliminates S-box outputs from a partial row's constraints, so each pays for as few
/// `x^5` as possible (halo2 evaluates every node of every constraint at every point of the
/// extended domain, nothing shared): the plain `x_j` constraint has `y_1..y_{j-1}`, the
/// plain next-state ones all `PER_ROW`. In order, each `x_j` constraint's newest output
/// `y_{j-1}` is its pivot and is taken out of every later constraint; then the first
/// next-state constraint's `y_PER_ROW` out of the other next-state ones. Left: one `y` in
/// each `x_j` constraint and in `next 0`, none in `next 1..`. Each reduced constraint is
/// its plain one minus multiples of earlier reduced ones (unit lower triangular), so the
/// two sets hold on exactly the same rows; and each keeps its own cell (`x_j`, `next_i`)
/// with coefficient 1, so a tampered cell still fails the constraint of its name.
fn reduce(plain: &[RowForm], per_row: usize) -> Vec<RowForm> {
    let mut forms = plain.to_vec();
    let pivots = (0..per_row - 1)
        .map(|t| (t, t))
        .chain([(per_row - 1, per_row - 1)]);
    for (row, t) in pivots {
        let pivot = forms[row].clone();
        let inv = Option::<Fp>::from(pivot.y[t].invert()).expect("a pivot S-box output");
        for form in forms.iter_mut().skip(row + 1) {
            let f = form.y[t] * inv;
            if !bool::from(f.is_zero()) {
                *form = form.minus(f, &pivot);
            }
        }
    }
    forms
}

fn build_constants<const W: usize>(
    rc: Vec<Vec<Fp>>,
    mds: Vec<Vec<Fp>>,
    mds_inv: Vec<Vec<Fp>>,
) -> Constants {
    let per_row = Layout::<W>::PER_ROW;
    let mut x_coef = vec![[Fp::zero(); TERMS]; per_row - 1];
    let mut next_coef = vec![[Fp::zero(); TERMS]; W];
    let mut plain_constants = Vec::with_capacity(Layout::<W>::PARTIAL_ROWS);
    for row in 0..Layout::<W>::PARTIAL_ROWS {
        let mut v: Vec<Affine> = (0..W).map(Affine::term).collect();
        let mut consts = [Fp::zero(); FIXED];
        for j in 0..per_row {
            let round = &rc[HALF_FULL + row * per_row + j];
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
            v[0] = Affine::term(W + j);
            v = (0..W)
                .map(|i| {
                    let parts: Vec<_> = (0..W).map(|k| (mds[i][k], v[k])).collect();
                    Affine::scaled_sum(&parts)
                })
                .collect();
        }
        for i in 0..W {
            consts[per_row + i] = v[i].constant;
            if row == 0 {
                next_coef[i] = v[i].coef;
            }
            debug_assert_eq!(next_coef[i], v[i].coef);
        }
        plain_constants.push(consts);
    }
    // The plain constraints: `own cell - form - k = 0`.
    let forms = per_row - 1 + W;
    let plain_form = |index: usize, own: usize, coef: &[Fp; TERMS]| {
        let mut cells = vec![Fp::zero(); 10 + W];
        cells[own] = Fp::one();
        for i in 0..W {
            cells[i] = -coef[i];
        }
        let mut k = vec![Fp::zero(); FIXED];
        k[1 + index] = -Fp::one();
        let mut from = vec![Fp::zero(); forms];
        from[index] = Fp::one();
        RowForm {
            cells,
            y: coef[W..].iter().map(|b| -*b).collect(),
            k,
            from,
        }
    };
    let plain: Vec<RowForm> = (0..per_row - 1)
        .map(|j| plain_form(j, W + j, &x_coef[j]))
        .chain((0..W).map(|i| plain_form(per_row - 1 + i, 10 + i, &next_coef[i])))
        .collect();
    let reduced = reduce(&plain, per_row);
    let row_constants = plain_constants
        .iter()
        .map(|consts| {
            let mut out = [Fp::zero(); FIXED];
            out[0] = consts[0];
            for (o, form) in out[1..].iter_mut().zip(&reduced) {
                *o = form.k.iter().zip(consts).map(|(d, k)| *d * k).sum();
            }
            out
        })
        .collect();
    Constants {
        rc,
        mds,
        mds_inv,
        plain,
        reduced,
        row_constants,
    }
}

fn constants<const W: usize>() -> &'static Constants {
    fn rows<const T: usize>(m: &[[Fp; T]]) -> Vec<Vec<Fp>> {
        m.iter().map(|r| r.to_vec()).collect()
    }
    static T3: OnceLock<Constants> = OnceLock::new();
    static T5: OnceLock<Constants> = OnceLock::new();
    match W {
        3 => T3.get_or_init(|| {
            let (rc, mds, mds_inv) = <P128Pow5T3 as Spec<Fp, 3, 2>>::constants();
            build_constants::<3>(rows(&rc), rows(&mds), rows(&mds_inv))
        }),
        5 => T5.get_or_init(|| {
            let (rc, mds, mds_inv) = <P128Pow5T5 as Spec<Fp, 5, 4>>::constants();
            build_constants::<5>(rows(&rc), rows(&mds), rows(&mds_inv))
        }),
        _ => unreachable!("the chip lays out widths 3 and 5"),
    }
}

fn pow5(x: Fp) -> Fp {
    x.square().square() * x
}

fn mds_times<const W: usize>(m: &[Vec<Fp>], v: [Fp; W]) -> [Fp; W] {
    std::array::from_fn(|i| (0..W).map(|k| m[i][k] * v[k]).sum())
}

/// Every cell value of one permutation's rows (`None`: the cell is not used).
pub(crate) type Trace = Vec<[Option<Fp>; 10]>;

/// The permutation of `input`, row by row as the chip lays it out.
pub(crate) fn trace<const W: usize>(input: [Fp; W]) -> Trace {
    let c = constants::<W>();
    let rows_n = Layout::<W>::ROWS;
    let per_row = Layout::<W>::PER_ROW;
    let mut rows: Trace = vec![[None; 10]; rows_n];
    let full = |s: [Fp; W], rc: &[Fp]| {
        mds_times(
            &c.mds,
            std::array::from_fn::<Fp, W, _>(|i| pow5(s[i] + rc[i])),
        )
    };
    let mut s = input;
    let mut round = 0;
    let full_row = |rows: &mut Trace, row: usize, s: &mut [Fp; W], round: &mut usize| {
        let mid = full(*s, &c.rc[*round]);
        let next = full(mid, &c.rc[*round + 1]);
        for i in 0..W {
            rows[row][i] = Some(s[i]);
            rows[row][W + i] = Some(mid[i]);
        }
        *s = next;
        *round += 2;
    };
    full_row(&mut rows, 0, &mut s, &mut round);
    full_row(&mut rows, 1, &mut s, &mut round);
    for p in 0..Layout::<W>::PARTIAL_ROWS {
        let row = 2 + p;
        for i in 0..W {
            rows[row][i] = Some(s[i]);
        }
        for j in 0..per_row {
            let rc = &c.rc[round];
            for i in 0..W {
                s[i] += rc[i];
            }
            if j > 0 {
                rows[row][W - 1 + j] = Some(s[0]);
            }
            s[0] = pow5(s[0]);
            s = mds_times(&c.mds, s);
            round += 1;
        }
    }
    let after = 2 + Layout::<W>::PARTIAL_ROWS;
    full_row(&mut rows, after, &mut s, &mut round);
    full_row(&mut rows, after + 1, &mut s, &mut round);
    debug_assert_eq!(round, 2 * HALF_FULL + Layout::<W>::PARTIAL);
    for i in 0..W {
        rows[rows_n - 1][i] = Some(s[i]);
    }
    rows
}

/// Columns and selectors of the chip for permutations of width `W`.
#[derive(Clone, Debug)]
pub(crate) struct PoseidonConfig<const W: usize> {
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

/// The names of a width's gates and constraints (`&'static str`, as halo2 takes them).
struct Names {
    full_gate: &'static str,
    partial_gate: &'static str,
    absorb_gate: &'static str,
    /// The full-round constraints: the first round of the row (`mid i`), the second (`next
    /// i`).
    full: [&'static [&'static str]; 2],
    /// The partial rows' S-box inputs `x2..`.
    partial: &'static [&'static str],
    /// The partial rows' next state.
    next: &'static [&'static str],
    /// The absorb constraints, word by word.
    absorb: &'static [&'static str],
}

const T3_NAMES: Names = Names {
    full_gate: "poseidon full rounds",
    partial_gate: "poseidon partial rounds",
    absorb_gate: "poseidon absorb",
    full: [
        &[
            "poseidon full round: mid 0",
            "poseidon full round: mid 1",
            "poseidon full round: mid 2",
        ],
        &[
            "poseidon full round: next 0",
            "poseidon full round: next 1",
            "poseidon full round: next 2",
        ],
    ],
    partial: &[
        "poseidon partial round: x2",
        "poseidon partial round: x3",
        "poseidon partial round: x4",
        "poseidon partial round: x5",
        "poseidon partial round: x6",
        "poseidon partial round: x7",
        "poseidon partial round: x8",
    ],
    next: &[
        "poseidon partial round: next 0",
        "poseidon partial round: next 1",
        "poseidon partial round: next 2",
    ],
    absorb: &[
        "poseidon absorb: next 0 = out 0 + m0",
        "poseidon absorb: next 1 = out 1 + m1",
        "poseidon absorb: next 2 = out 2",
    ],
};

const T5_NAMES: Names = Names {
    full_gate: "poseidon t5 full rounds",
    partial_gate: "poseidon t5 partial rounds",
    absorb_gate: "poseidon t5 absorb",
    full: [
        &[
            "poseidon t5 full round: mid 0",
            "poseidon t5 full round: mid 1",
            "poseidon t5 full round: mid 2",
            "poseidon t5 full round: mid 3",
            "poseidon t5 full round: mid 4",
        ],
        &[
            "poseidon t5 full round: next 0",
            "poseidon t5 full round: next 1",
            "poseidon t5 full round: next 2",
            "poseidon t5 full round: next 3",
            "poseidon t5 full round: next 4",
        ],
    ],
    partial: &[
        "poseidon t5 partial round: x2",
        "poseidon t5 partial round: x3",
        "poseidon t5 partial round: x4",
        "poseidon t5 partial round: x5",
        "poseidon t5 partial round: x6",
    ],
    next: &[
        "poseidon t5 partial round: next 0",
        "poseidon t5 partial round: next 1",
        "poseidon t5 partial round: next 2",
        "poseidon t5 partial round: next 3",
        "poseidon t5 partial round: next 4",
    ],
    absorb: &[
        "poseidon t5 absorb: next 0 = out 0 + m0",
        "poseidon t5 absorb: next 1 = out 1 + m1",
        "poseidon t5 absorb: next 2 = out 2 + m2",
        "poseidon t5 absorb: next 3 = out 3 + m3",
        "poseidon t5 absorb: next 4 = out 4",
    ],
};

impl<const W: usize> PoseidonConfig<W> {
    /// Rows of one permutation (the last holds its output).
    pub(crate) const ROWS: usize = Layout::<W>::ROWS;

    fn names() -> &'static Names {
        match W {
            3 => &T3_NAMES,
            5 => &T5_NAMES,
            _ => unreachable!("the chip lays out widths 3 and 5"),
        }
    }

    /// Configures the chip's gates on `advice` (all ten) and `fixed` (its round constants;
    /// other chips may use them on other rows).
    pub(crate) fn configure(
        meta: &mut ConstraintSystem<Fp>,
        advice: [Column<Advice>; 10],
        fixed: [Column<Fixed>; FIXED],
    ) -> Self {
        let c = constants::<W>();
        let names = Self::names();
        let per_row = Layout::<W>::PER_ROW;
        let q_full = crate::selector::selector(meta);
        let q_partial = crate::selector::selector(meta);
        let q_absorb = crate::selector::selector(meta);
        meta.create_gate(names.full_gate, |meta| {
            let q = meta.query_selector(q_full);
            let s: Vec<_> = (0..W)
                .map(|i| meta.query_advice(advice[i], Rotation::cur()))
                .collect();
            let mid: Vec<_> = (W..2 * W)
                .map(|i| meta.query_advice(advice[i], Rotation::cur()))
                .collect();
            let next: Vec<_> = (0..W)
                .map(|i| meta.query_advice(advice[i], Rotation::next()))
                .collect();
            let rc: Vec<_> = (0..2 * W).map(|i| meta.query_fixed(fixed[i])).collect();
            // (M⁻¹·out)_i = (input_i + rc_i)^5.
            let round =
                |input: &[Expression<Fp>], rc: &[Expression<Fp>], out: &[Expression<Fp>]| {
                    (0..W)
                        .map(|i| {
                            let pairs: Vec<_> =
                                (0..W).map(|k| (c.mds_inv[i][k], out[k].clone())).collect();
                            weighted(&pairs) - pow5_expr(input[i].clone() + rc[i].clone())
                        })
                        .collect::<Vec<_>>()
                };
            let first = round(&s, &rc[0..W], &mid);
            let second = round(&mid, &rc[W..2 * W], &next);
            let named = first
                .into_iter()
                .zip(names.full[0].iter().copied())
                .chain(second.into_iter().zip(names.full[1].iter().copied()))
                .map(|(e, name)| (name, e));
            crate::selector::gated(q, named.collect::<Vec<_>>())
        });
        meta.create_gate(names.partial_gate, |meta| {
            let q = meta.query_selector(q_partial);
            let s: Vec<_> = (0..W)
                .map(|i| meta.query_advice(advice[i], Rotation::cur()))
                .collect();
            let x: Vec<_> = (W..10)
                .map(|i| meta.query_advice(advice[i], Rotation::cur()))
                .collect();
            let next: Vec<_> = (0..W)
                .map(|i| meta.query_advice(advice[i], Rotation::next()))
                .collect();
            let k: Vec<_> = (0..FIXED).map(|i| meta.query_fixed(fixed[i])).collect();
            // The cells (this row's ten, the next row's state) and y1..y_PER_ROW (y1 = (s0 +
            // c)^5, y_j = x_j^5), each reduced constraint over them plus its fixed constant.
            let cells: Vec<Expression<Fp>> = s.iter().chain(&x).chain(&next).cloned().collect();
            let y: Vec<Expression<Fp>> = std::iter::once(s[0].clone() + k[0].clone())
                .chain(x.iter().cloned())
                .map(pow5_expr)
                .collect();
            let names = names.partial.iter().chain(names.next);
            let constraints: Vec<_> = c
                .reduced
                .iter()
                .zip(names)
                .enumerate()
                .map(|(f, (form, name))| {
                    let pairs: Vec<_> = form
                        .cells
                        .iter()
                        .copied()
                        .zip(cells.iter().cloned())
                        .chain(form.y.iter().copied().zip(y.iter().cloned()))
                        .collect();
                    (*name, weighted(&pairs) + k[1 + f].clone())
                })
                .collect();
            debug_assert_eq!(constraints.len(), per_row - 1 + W);
            crate::selector::gated(q, constraints)
        });
        meta.create_gate(names.absorb_gate, |meta| {
            let q = meta.query_selector(q_absorb);
            let rate = Layout::<W>::RATE;
            let s: Vec<_> = (0..W)
                .map(|i| meta.query_advice(advice[i], Rotation::cur()))
                .collect();
            let m: Vec<_> = (W..W + rate)
                .map(|i| meta.query_advice(advice[i], Rotation::cur()))
                .collect();
            let next: Vec<_> = (0..W)
                .map(|i| meta.query_advice(advice[i], Rotation::next()))
                .collect();
            let constraints: Vec<_> = (0..W)
                .map(|i| {
                    let e = if i < rate {
                        next[i].clone() - s[i].clone() - m[i].clone()
                    } else {
                        next[i].clone() - s[i].clone()
                    };
                    (names.absorb[i], e)
                })
                .collect();
            crate::selector::gated(q, constraints)
        });
        PoseidonConfig {
            advice,
            fixed,
            q_full,
            q_partial,
            q_absorb,
        }
    }

    /// Lays out one permutation at rows `offset..offset + ROWS` of `region`, whose input
    /// state (values `input`) the caller has put in row `offset`, columns `0..W`. Returns the
    /// output cells (row `offset + ROWS - 1`, columns `0..W`).
    pub(crate) fn permute_at(
        &self,
        region: &mut Region<'_, Fp>,
        offset: usize,
        input: Value<[Fp; W]>,
    ) -> Result<[Cell; W], Error> {
        let c = constants::<W>();
        let rows_n = Layout::<W>::ROWS;
        let partial_rows = 2..2 + Layout::<W>::PARTIAL_ROWS;
        let trace = input.map(trace::<W>);
        let cell = |r: usize, i: usize| trace.as_ref().map(|t| t[r][i].expect("a used cell"));
        let mut round = 0;
        for row in 0..rows_n - 1 {
            let at = offset + row;
            let is_full = !partial_rows.contains(&row);
            if row > 0 {
                for i in 0..W {
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
                for i in 0..W {
                    region.assign_advice(
                        || "poseidon mid",
                        self.advice[W + i],
                        at,
                        || cell(row, W + i),
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
                for j in W..10 {
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
                round += Layout::<W>::PER_ROW;
            }
        }
        let last = offset + rows_n - 1;
        let out = (0..W)
            .map(|i| {
                region.assign_advice(
                    || "poseidon out",
                    self.advice[i],
                    last,
                    || cell(rows_n - 1, i),
                )
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(out.try_into().expect("W output cells"))
    }

    /// `Poseidon(message)` (`ConstantLength<L>` at rate `W - 1`, as
    /// [`crate::hash::poseidon`] for `W = 3` and [`crate::hash::poseidon_t5`] for `W = 5`):
    /// one region of `ROWS · ceil(L / (W - 1))` rows.
    pub(crate) fn hash<const L: usize>(
        &self,
        layouter: impl Layouter<Fp>,
        message: [Cell; L],
    ) -> Result<Cell, Error> {
        self.hash_from(layouter, crate::hash::capacity::<L>(0), message)
    }

    /// `Poseidon_domain(message)` at width 5, the domain in the sponge's capacity word, as
    /// [`crate::hash::poseidon_in`]: the region of [`PoseidonConfig::hash`].
    pub(crate) fn hash_in<const L: usize>(
        &self,
        layouter: impl Layouter<Fp>,
        domain: u64,
        message: [Cell; L],
    ) -> Result<Cell, Error> {
        assert_eq!(W, 5, "domains in the capacity are the width-5 hash's");
        self.hash_from(layouter, crate::hash::capacity::<L>(domain), message)
    }

    /// The sponge of [`PoseidonConfig::hash`] from the capacity word `capacity` (a constant).
    fn hash_from<const L: usize>(
        &self,
        mut layouter: impl Layouter<Fp>,
        capacity: Fp,
        message: [Cell; L],
    ) -> Result<Cell, Error> {
        assert!(L > 0, "a hash of nothing");
        let rate = Layout::<W>::RATE;
        let rows_n = Layout::<W>::ROWS;
        let blocks = L.div_ceil(rate);
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
                let first = (0..rate)
                    .map(|i| word(&mut region, i, i, 0))
                    .collect::<Result<Vec<_>, Error>>()?;
                region.assign_advice_from_constant(
                    || "sponge capacity",
                    self.advice[rate],
                    0,
                    capacity,
                )?;
                let mut input = values(&first).map(|words| {
                    std::array::from_fn(|i| if i < rate { words[i] } else { capacity })
                });
                let mut out = self.permute_at(&mut region, 0, input)?;
                for block in 1..blocks {
                    let row = block * rows_n - 1;
                    self.q_absorb.enable(&mut region, row)?;
                    let m = (0..rate)
                        .map(|i| word(&mut region, rate * block + i, W + i, row))
                        .collect::<Result<Vec<_>, Error>>()?;
                    let state = values(&out).zip(values(&m)).map(|(out, m)| {
                        std::array::from_fn(|i| if i < rate { out[i] + m[i] } else { out[i] })
                    });
                    let next = block * rows_n;
                    for i in 0..W {
                        region.assign_advice(
                            || "absorbed",
                            self.advice[i],
                            next,
                            || state.map(|s: [Fp; W]| s[i]),
                        )?;
                    }
                    input = state;
                    out = self.permute_at(&mut region, next, input)?;
                }
                Ok(out.into_iter().next().expect("W > 0 words"))
            },
        )
    }
}

/// The values of `cells`, all known or none.
fn values(cells: &[Cell]) -> Value<Vec<Fp>> {
    cells.iter().fold(Value::known(Vec::new()), |acc, cell| {
        acc.zip(cell.value()).map(|(mut v, x)| {
            v.push(*x);
            v
        })
    })
}

#[cfg(test)]
mod tests;
