//! The native [`P128Pow5T5`] permutation with its partial rounds in sparse form.
//!
//! `halo2_poseidon` computes every round as the textbook does: add the round constants, the
//! S-boxes, then the dense 5 × 5 MDS matrix, 25 multiplications a round, 1,700 a
//! permutation. A partial round's S-box touches only word 0, so the matrix can be factored
//! `A = D'·S` with `D' = diag(1, Â)` (`Â` the lower right 4 × 4 block of `A`) and `S =
//! [[a₀₀, wᵀ], [Â⁻¹·v, I]]`: `S` costs 9 multiplications, and `D'` commutes with the next
//! round's S-box and constant (it leaves word 0 alone), so it is carried into the next
//! round's matrix (`A = M·D'`, with the constants `D'⁻¹·c`) and applied once after the
//! last partial round. The result is the same permutation (tests compare it with
//! `halo2_poseidon`'s sponge on every length the rollup hashes and on random inputs), in
//! about half the multiplications: the native hash is under every leaf, node, message,
//! signature challenge and root the sequencer computes.

use std::sync::OnceLock;

use ff::Field;
use halo2_gadgets::poseidon::primitives::Spec;

use super::{Fp, P128Pow5T5, T5_FULL_ROUNDS, T5_PARTIAL_ROUNDS};

type Matrix4 = [[Fp; 4]; 4];

/// One partial round: word 0's constant to add, then its S-box, then `S`.
struct Partial {
    /// The constant of word 0 (the other words' constants are carried, see
    /// [`Sparse::carried`]).
    constant: Fp,
    /// `S`'s first row: `a₀₀` and `wᵀ`.
    row: [Fp; 5],
    /// `S`'s first column below the corner (`Â⁻¹·v`).
    column: [Fp; 4],
}

/// The permutation's constants, once per process.
struct Sparse {
    round_constants: Vec<[Fp; 5]>,
    mds: [[Fp; 5]; 5],
    partial: Vec<Partial>,
    /// The partial rounds' constants of words 1..4, summed: those words bypass the S-box,
    /// and `S` leaves them as they are but for `column·s₀`, so a constant added to them
    /// before a round is still there, unchanged, after every later round. It is added once
    /// after the last partial round; what it adds to word 0 on the way (`S`'s row times
    /// the constants carried so far) is folded into each next round's word-0 constant, and
    /// after the last round into `carried_0`.
    carried: [Fp; 4],
    /// What the carried constants add to word 0 through the last partial round's row.
    carried_0: Fp,
    /// `D̂` left over after the last partial round, applied to words 1..4.
    tail: Matrix4,
}

fn identity4() -> Matrix4 {
    std::array::from_fn(|i| std::array::from_fn(|j| if i == j { Fp::ONE } else { Fp::ZERO }))
}

fn mul4(a: &Matrix4, b: &Matrix4) -> Matrix4 {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..4).map(|k| a[i][k] * b[k][j]).sum()))
}

fn apply4(m: &Matrix4, v: [Fp; 4]) -> [Fp; 4] {
    std::array::from_fn(|i| (0..4).map(|k| m[i][k] * v[k]).sum())
}

/// Gauss–Jordan inverse of an invertible 4 × 4 matrix (every square submatrix of an MDS
/// matrix is invertible, and products of invertible matrices are).
fn invert4(m: &Matrix4) -> Matrix4 {
    let mut a = *m;
    let mut inv = identity4();
    for col in 0..4 {
        let pivot = (col..4)
            .find(|&r| !bool::from(a[r][col].is_zero()))
            .expect("an invertible matrix");
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let scale = a[col][col].invert().expect("a non-zero pivot");
        for k in 0..4 {
            a[col][k] *= scale;
            inv[col][k] *= scale;
        }
        for r in 0..4 {
            if r != col {
                let f = a[r][col];
                for k in 0..4 {
                    let (ack, ick) = (a[col][k], inv[col][k]);
                    a[r][k] -= f * ack;
                    inv[r][k] -= f * ick;
                }
            }
        }
    }
    inv
}

fn sparse() -> &'static Sparse {
    static SPARSE: OnceLock<Sparse> = OnceLock::new();
    SPARSE.get_or_init(|| {
        let (round_constants, mds, _) = <P128Pow5T5 as Spec<Fp, 5, 4>>::constants();
        let half = T5_FULL_ROUNDS / 2;
        let m_hat: Matrix4 = std::array::from_fn(|i| std::array::from_fn(|j| mds[i + 1][j + 1]));
        let m_hat_inv = invert4(&m_hat);
        // The carried matrix D̂ (identity at first) and its inverse.
        let (mut d, mut d_inv) = (identity4(), identity4());
        let mut partial: Vec<Partial> = Vec::with_capacity(T5_PARTIAL_ROUNDS);
        let mut carried = [Fp::ZERO; 4];
        // What the constants carried so far add to word 0 through the last round's row.
        let through_row = |partial: &[Partial], carried: &[Fp; 4]| {
            partial.last().map_or(Fp::ZERO, |p| {
                (0..4).map(|k| p.row[k + 1] * carried[k]).sum::<Fp>()
            })
        };
        for c in &round_constants[half..half + T5_PARTIAL_ROUNDS] {
            let constant = c[0] + through_row(&partial, &carried);
            // The other words' constants as the carried state sees them: D⁻¹·c.
            let rest = apply4(&d_inv, [c[1], c[2], c[3], c[4]]);
            for (sum, r) in carried.iter_mut().zip(rest) {
                *sum += r;
            }
            // A = M·D: corner M₀₀, first row (M₀,₁..₄)·D̂, first column M₁..₄,₀, block M̂·D̂.
            let mut row = [mds[0][0], Fp::ZERO, Fp::ZERO, Fp::ZERO, Fp::ZERO];
            for (j, entry) in row.iter_mut().enumerate().skip(1) {
                *entry = (0..4).map(|k| mds[0][k + 1] * d[k][j - 1]).sum();
            }
            let v = [mds[1][0], mds[2][0], mds[3][0], mds[4][0]];
            // The next D̂ is A's block M̂·D̂, its inverse D̂⁻¹·M̂⁻¹; S's column is that inverse
            // times v.
            d = mul4(&m_hat, &d);
            d_inv = mul4(&d_inv, &m_hat_inv);
            let column = apply4(&d_inv, v);
            partial.push(Partial {
                constant,
                row,
                column,
            });
        }
        Sparse {
            round_constants,
            mds,
            carried_0: through_row(&partial, &carried),
            partial,
            carried,
            tail: d,
        }
    })
}

/// [`P128Pow5T5`]'s S-box, `x⁵`.
#[inline(always)]
fn sbox(x: Fp) -> Fp {
    <P128Pow5T5 as Spec<Fp, 5, 4>>::sbox(x)
}

/// A full round: the constants, every word's S-box, the dense matrix (written out: an
/// iterator's `sum` here was not inlined, ~8% of the sequencer's ingest).
#[inline(always)]
fn full(state: &mut [Fp; 5], rc: &[Fp; 5], mds: &[[Fp; 5]; 5]) {
    let s = [
        sbox(state[0] + rc[0]),
        sbox(state[1] + rc[1]),
        sbox(state[2] + rc[2]),
        sbox(state[3] + rc[3]),
        sbox(state[4] + rc[4]),
    ];
    for (word, row) in state.iter_mut().zip(mds) {
        *word = row[0] * s[0] + row[1] * s[1] + row[2] * s[2] + row[3] * s[3] + row[4] * s[4];
    }
}

/// The [`P128Pow5T5`] permutation of `state`.
pub(super) fn permute(state: &mut [Fp; 5]) {
    let p = sparse();
    let half = T5_FULL_ROUNDS / 2;
    for rc in &p.round_constants[..half] {
        full(state, rc, &p.mds);
    }
    for round in &p.partial {
        let s0 = sbox(state[0] + round.constant);
        let mut first = round.row[0] * s0;
        for ((word, w), v) in state[1..]
            .iter_mut()
            .zip(&round.row[1..])
            .zip(&round.column)
        {
            first += *w * *word;
            *word += *v * s0;
        }
        state[0] = first;
    }
    state[0] += p.carried_0;
    let c = &p.carried;
    let rest = apply4(
        &p.tail,
        [
            state[1] + c[0],
            state[2] + c[1],
            state[3] + c[2],
            state[4] + c[3],
        ],
    );
    state[1..].copy_from_slice(&rest);
    for rc in &p.round_constants[half + T5_PARTIAL_ROUNDS..] {
        full(state, rc, &p.mds);
    }
}

/// The sponge of `halo2_poseidon`'s `Hash<_, _, ConstantLength<L>, 5, 4>` over [`permute`]:
/// capacity `L·2^64`, the message zero-padded to a multiple of 4 and absorbed four words a
/// permutation, the first word squeezed.
///
/// # Panics
/// On the empty message, as `halo2_poseidon`'s sponge does (a programming error).
pub(super) fn hash<const L: usize>(message: [Fp; L]) -> Fp {
    hash_from(super::capacity::<L>(0), message)
}

/// The sponge of [`hash`] from the capacity word `capacity`.
pub(super) fn hash_from<const L: usize>(capacity: Fp, message: [Fp; L]) -> Fp {
    assert!(L > 0, "Poseidon of no words");
    let mut state = [Fp::ZERO; 5];
    state[4] = capacity;
    for block in message.chunks(4) {
        for (word, m) in state.iter_mut().zip(block) {
            *word += m;
        }
        permute(&mut state);
    }
    state[0]
}
