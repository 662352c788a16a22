//! The chip against the native hash and the Zcash test vectors, and every one of its named
//! constraints failing when a cell it checks is tampered with, at both widths; and why the
//! width-5 instance's round numbers and MDS matrix are safe.

use ff::{Field, PrimeField};
use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    dev::{MockProver, VerifyFailure},
    plonk::{Circuit, Column, ConstraintSystem, Error, Instance},
};

use super::{trace, PoseidonConfig, FIXED, PERMUTATION_ROWS};
use crate::hash::{poseidon_t5, Fp, P128Pow5T5};
use crate::testing::mock_with_overrides;
use halo2_gadgets::poseidon::primitives::Spec;

const K: u32 = 7;

/// Zcash's width-3 Poseidon (P128Pow5T3, rate 2), which the chip's width-3 layout proves.
fn poseidon<const L: usize>(message: [Fp; L]) -> Fp {
    use halo2_gadgets::poseidon::primitives::{ConstantLength, Hash, P128Pow5T3};
    Hash::<Fp, P128Pow5T3, ConstantLength<L>, 3, 2>::init().hash(message)
}

#[test]
fn the_trace_is_the_permutation_of_the_test_vectors() {
    for v in halo2_poseidon::test_vectors::fp::permute() {
        let input = v.initial_state.map(|b| Fp::from_repr(b).unwrap());
        let out = trace(input)[PERMUTATION_ROWS - 1];
        let expected = v.final_state.map(|b| Fp::from_repr(b).unwrap());
        assert_eq!([out[0], out[1], out[2]], expected.map(Some));
    }
}

/// `Poseidon(message)` of `L` witnessed words on the chip of width `W`, the result equal to
/// the public input.
#[derive(Clone)]
struct HashCircuit<const L: usize, const W: usize = 3> {
    message: [Fp; L],
}

#[derive(Clone, Debug)]
struct Config<const W: usize> {
    poseidon: PoseidonConfig<W>,
    instance: Column<Instance>,
}

impl<const L: usize, const W: usize> Circuit<Fp> for HashCircuit<L, W> {
    type Config = Config<W>;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> Config<W> {
        let advice = std::array::from_fn(|_| meta.advice_column());
        let fixed: [_; FIXED] = std::array::from_fn(|_| meta.fixed_column());
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        for col in advice {
            meta.enable_equality(col);
        }
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        Config {
            poseidon: PoseidonConfig::configure(meta, advice, fixed),
            instance,
        }
    }

    fn synthesize(&self, config: Config<W>, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        let words = layouter.assign_region(
            || "message",
            |mut region| {
                let cells: Result<Vec<_>, Error> = (0..L)
                    .map(|i| {
                        region.assign_advice(
                            || "word",
                            config.poseidon.advice[i % 10],
                            i / 10,
                            || Value::known(self.message[i]),
                        )
                    })
                    .collect();
                cells
            },
        )?;
        let words: [_; L] = words.try_into().expect("L words");
        let out = config.poseidon.hash(layouter.namespace(|| "hash"), words)?;
        layouter.constrain_instance(out.cell(), config.instance, 0)
    }
}

fn message<const L: usize>() -> [Fp; L] {
    std::array::from_fn(|i| Fp::from(1_000 + i as u64).square())
}

/// MockProver on the hash of `L` words on the width-`W` chip, claimed to be `expected`.
fn run<const L: usize, const W: usize>(expected: Fp) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(
        K,
        &HashCircuit::<L, W> { message: message() },
        vec![vec![expected]],
    )
    .unwrap()
    .verify()
}

#[test]
fn hashes_of_one_to_five_words_are_the_native_hashes() {
    assert_eq!(run::<1, 3>(poseidon(message::<1>())), Ok(()));
    assert_eq!(run::<2, 3>(poseidon(message::<2>())), Ok(()));
    assert_eq!(run::<3, 3>(poseidon(message::<3>())), Ok(()));
    assert_eq!(run::<4, 3>(poseidon(message::<4>())), Ok(()));
    assert_eq!(run::<5, 3>(poseidon(message::<5>())), Ok(()));
    // And a wrong claimed hash is refused.
    assert!(run::<3, 3>(poseidon(message::<3>()) + Fp::ONE).is_err());
}

/// The failures of a two-block hash (`W` words) on the width-`W` chip with `overrides`.
fn tampered<const W: usize>(overrides: &[(&'static str, usize, Fp)]) -> Vec<String> {
    let m = message::<W>();
    let hash = if W == 5 { poseidon_t5(m) } else { poseidon(m) };
    match mock_with_overrides(
        K,
        HashCircuit::<W, W> { message: m },
        vec![vec![hash]],
        overrides,
    ) {
        Ok(()) => Vec::new(),
        Err(failures) => failures.iter().map(|f| format!("{f}")).collect(),
    }
}

fn assert_fails<const W: usize>(overrides: &[(&'static str, usize, Fp)], constraint: &str) {
    let found = tampered::<W>(overrides);
    assert!(
        found.iter().any(|f| f.contains(&format!("'{constraint}'"))),
        "expected {constraint:?} to fail, got {found:#?}"
    );
}

#[test]
fn every_constraint_of_the_chip_fails_by_name_on_a_tampered_cell() {
    let seven = Fp::from(7);
    // Full-round rows: the mid word checks against the row's state, the next row's state
    // against the mid. "poseidon mid" 0..2 are row 0's words; "poseidon state" 0..2 row 1's.
    for i in 0..3 {
        assert_fails::<3>(
            &[("poseidon mid", i, seven)],
            &format!("poseidon full round: mid {i}"),
        );
        assert_fails::<3>(
            &[("poseidon state", i, seven)],
            &format!("poseidon full round: next {i}"),
        );
    }
    // Partial rows: each S-box input x2..x8 ("poseidon x" 0..6 are the first partial row's),
    // and the state after a partial row (the third row with a state cell assigned by the
    // chip is the second partial row).
    for j in 0..7 {
        assert_fails::<3>(
            &[("poseidon x", j, seven)],
            &format!("poseidon partial round: x{}", j + 2),
        );
    }
    for i in 0..3 {
        assert_fails::<3>(
            &[("poseidon state", 6 + i, seven)],
            &format!("poseidon partial round: next {i}"),
        );
    }
    // The second block's input (three words absorbed): the output plus the next two words.
    for (i, name) in [
        "poseidon absorb: next 0 = out 0 + m0",
        "poseidon absorb: next 1 = out 1 + m1",
        "poseidon absorb: next 2 = out 2",
    ]
    .iter()
    .enumerate()
    {
        assert_fails::<3>(&[("absorbed", i, seven)], name);
    }
    // The last full row's output.
    assert_fails::<3>(&[("poseidon out", 3, seven)], "poseidon full round: next 0");
    // Untampered, it holds.
    assert!(tampered::<3>(&[]).is_empty());
}

/// The partial-round gate checks each plain constraint minus multiples of the reduced ones
/// before it (so both sets hold on the same rows), with one S-box output left in each `x_j`
/// constraint and in `next 0`, none in the other next-state ones, and each constraint's own
/// cell (`x_j`, `next_i`) at coefficient 1.
#[test]
fn the_partial_rows_reduced_constraints_are_the_plain_ones_recombined() {
    fn check<const W: usize>() {
        let c = super::constants::<W>();
        let per_row = 11 - W;
        assert_eq!(c.plain.len(), per_row - 1 + W);
        assert_eq!(c.reduced.len(), c.plain.len());
        let zero = |n: usize| vec![Fp::zero(); n];
        let mut sboxes = (0, 0);
        for (i, form) in c.reduced.iter().enumerate() {
            assert_eq!(form.from[i], Fp::one(), "W = {W}, constraint {i}");
            assert!(form.from[i + 1..].iter().all(|f| bool::from(f.is_zero())));
            let mut sum = super::RowForm {
                cells: zero(10 + W),
                y: zero(per_row),
                k: zero(FIXED),
                from: zero(c.plain.len()),
            };
            for (plain, f) in c.plain.iter().zip(&form.from) {
                sum = sum.minus(-*f, plain);
            }
            assert_eq!(&sum, form, "W = {W}, constraint {i}");
            let own = if i < per_row - 1 {
                W + i
            } else {
                10 + i - (per_row - 1)
            };
            assert_eq!(form.cells[own], Fp::one(), "W = {W}, constraint {i}");
            let count =
                |f: &super::RowForm| f.y.iter().filter(|b| !bool::from(b.is_zero())).count();
            assert_eq!(
                count(form),
                usize::from(i < per_row),
                "W = {W}, constraint {i}"
            );
            sboxes.0 += count(&c.plain[i]);
            sboxes.1 += count(form);
        }
        // Every S-box output in each constraint that uses it, against one each.
        let plain = (per_row - 1) * per_row / 2 + W * per_row;
        assert_eq!(sboxes, (plain, per_row), "W = {W}");
    }
    check::<3>();
    check::<5>();
}

// Width 5 (`hash::P128Pow5T5`, rate 4): the same checks, then why its instance is safe.

const T5_ROWS: usize = PoseidonConfig::<5>::ROWS;

fn t5_constants() -> (Vec<[Fp; 5]>, [[Fp; 5]; 5]) {
    let (rc, mds, _) = <P128Pow5T5 as Spec<Fp, 5, 4>>::constants();
    (rc, mds)
}

#[test]
fn the_width_5_chip_takes_15_rows() {
    assert_eq!(T5_ROWS, 15);
    assert_eq!(PERMUTATION_ROWS, 12);
}

#[test]
fn the_width_5_trace_is_the_reference_permutation() {
    let (rc, mds) = t5_constants();
    for seed in 0..4u64 {
        let input: [Fp; 5] =
            std::array::from_fn(|i| Fp::from(seed * 10 + i as u64).square() + Fp::from(seed));
        let mut expected = input;
        halo2_poseidon::test_only_permute::<Fp, P128Pow5T5, 5, 4>(&mut expected, &mds, &rc);
        let out = trace(input)[T5_ROWS - 1];
        assert_eq!(out[..5], expected.map(Some));
        assert!(out[5..].iter().all(Option::is_none));
    }
}

#[test]
fn width_5_hashes_are_pinned() {
    // Pinned when the instance was chosen: the Grain stream and the first MDS candidate.
    // A change here changes every node of any tree built on it.
    let words = [0u64, 1, 2, 3].map(Fp::from);
    assert_eq!(
        crate::hash::to_hex(&poseidon_t5(words)),
        "68ec0cf2e4c05db31bce5b641d143f148e514fda1880d3a6d45e147ef63cc82b"
    );
    let (rc, mds) = t5_constants();
    assert_eq!(rc.len(), 68);
    assert_eq!(
        crate::hash::to_hex(&mds[0][0]),
        "45944a40288744f06a4a7957d140a46a8c3d75ecdedc447ecad7c40bd3e6a13d"
    );
}

#[test]
fn width_5_hashes_of_one_to_nine_words_are_the_native_hashes() {
    assert_eq!(run::<1, 5>(poseidon_t5(message::<1>())), Ok(()));
    assert_eq!(run::<3, 5>(poseidon_t5(message::<3>())), Ok(()));
    assert_eq!(run::<4, 5>(poseidon_t5(message::<4>())), Ok(()));
    assert_eq!(run::<5, 5>(poseidon_t5(message::<5>())), Ok(()));
    assert_eq!(run::<8, 5>(poseidon_t5(message::<8>())), Ok(()));
    assert_eq!(run::<9, 5>(poseidon_t5(message::<9>())), Ok(()));
    assert!(run::<5, 5>(poseidon_t5(message::<5>()) + Fp::ONE).is_err());
    // The two widths are different functions.
    assert_ne!(poseidon_t5(message::<2>()), poseidon(message::<2>()));
}

#[test]
fn every_constraint_of_the_width_5_chip_fails_by_name_on_a_tampered_cell() {
    let seven = Fp::from(7);
    for i in 0..5 {
        assert_fails::<5>(
            &[("poseidon mid", i, seven)],
            &format!("poseidon t5 full round: mid {i}"),
        );
        assert_fails::<5>(
            &[("poseidon state", i, seven)],
            &format!("poseidon t5 full round: next {i}"),
        );
    }
    // x2..x6 of the first partial row; the state of the second partial row (state cells:
    // row 1's five, the first partial row's five, then these).
    for j in 0..5 {
        assert_fails::<5>(
            &[("poseidon x", j, seven)],
            &format!("poseidon t5 partial round: x{}", j + 2),
        );
        assert_fails::<5>(
            &[("poseidon state", 10 + j, seven)],
            &format!("poseidon t5 partial round: next {j}"),
        );
    }
    // The second block's input (five words: the fifth absorbed with three zeros).
    for (i, name) in [
        "poseidon t5 absorb: next 0 = out 0 + m0",
        "poseidon t5 absorb: next 1 = out 1 + m1",
        "poseidon t5 absorb: next 2 = out 2 + m2",
        "poseidon t5 absorb: next 3 = out 3 + m3",
        "poseidon t5 absorb: next 4 = out 4",
    ]
    .iter()
    .enumerate()
    {
        assert_fails::<5>(&[("absorbed", i, seven)], name);
    }
    assert_fails::<5>(
        &[("poseidon out", 5, seven)],
        "poseidon t5 full round: next 0",
    );
    assert!(tampered::<5>(&[]).is_empty());
}

/// The Poseidon paper's bounds (Grassi et al., eprint 2019/458, and the Gröbner-basis bound
/// added to its parameter script after Bariant et al. 2022) on the rounds of an x^α
/// instance of width `t` over a field of `n` bits, for `m` bits of security. True when
/// `(r_f, r_p)` resists every attack they model, with no margin.
fn resists(t: usize, r_f: usize, r_p: usize) -> bool {
    let (alpha, m, n) = (5f64, 128f64, 255f64);
    let t_f = t as f64;
    let (rf, rp) = (r_f as f64, r_p as f64);
    let log = |base: f64, x: f64| x.ln() / base.ln();
    // Statistical attacks: 6 full rounds suffice when m ≤ (n - log2(α - 1))·(t + 1).
    let statistical = if m <= (n - log(2.0, alpha - 1.0)) * (t_f + 1.0) {
        6.0
    } else {
        10.0
    };
    // Interpolation.
    let interpolation = 1.0 + (log(alpha, 2.0) * m.min(n)).ceil() + log(alpha, t_f).ceil();
    // Gröbner bases, three ways.
    let groebner_1 = log(alpha, 2.0) * m.min(n);
    let groebner_2 = t_f - 1.0 + log(alpha, 2.0) * (m / (t_f + 1.0)).min(n / 2.0);
    let groebner_3_rf = (t_f - 2.0 + m / (2.0 * log(2.0, alpha)) - rp) / (t_f - 1.0);
    // The binomial bound: 2·log2 C(over, under) ≥ m.
    let r = (t_f / 3.0).floor();
    let over = (rf - 1.0) * t_f + rp + r + r * (rf / 2.0) + rp + alpha;
    let under = r + r * (rf / 2.0) + rp + alpha;
    let log2_binomial: f64 = (0..under as u64)
        .map(|i| log(2.0, (over - i as f64) / (under - i as f64)))
        .sum();
    rf >= statistical
        && rf + rp >= interpolation
        && rf + rp >= groebner_1
        && rf + rp >= groebner_2
        && rf >= groebner_3_rf
        && 2.0 * log2_binomial >= m
}

/// The fewest partial rounds with six full rounds, then the paper's margin: two more full
/// rounds and 7.5% more partial rounds.
fn with_margin(t: usize) -> (usize, usize) {
    let r_p = (1..200).find(|&r_p| resists(t, 6, r_p)).expect("some R_P");
    (8, (r_p as f64 * 1.075).ceil() as usize)
}

#[test]
fn the_round_numbers_resist_the_papers_attacks_with_margin() {
    // The bounds give Zcash's P128Pow5T3 exactly: R_F = 8, R_P = 56.
    assert_eq!(with_margin(3), (8, 56));
    // Width 5 needs the same; the instance takes 60 (ten rows of six in the chip; other
    // 255-bit width-5 instances use 59 and 60).
    let (r_f, r_p) = with_margin(5);
    assert_eq!(r_f, crate::hash::T5_FULL_ROUNDS);
    assert!(r_p <= crate::hash::T5_PARTIAL_ROUNDS, "needs {r_p}");
    assert!(resists(5, 6, crate::hash::T5_PARTIAL_ROUNDS));
}

/// Polynomials over Fp below degree 5, modulo a monic `f` of degree 5 (coefficients from
/// x^0 up).
type Poly = Vec<Fp>;

fn trim(mut p: Poly) -> Poly {
    while p.last().is_some_and(|c| bool::from(c.is_zero())) {
        p.pop();
    }
    p
}

fn poly_rem(a: &[Fp], b: &[Fp]) -> Poly {
    let b = trim(b.to_vec());
    let mut a = trim(a.to_vec());
    let lead_inv = b.last().expect("nonzero divisor").invert().unwrap();
    while a.len() >= b.len() {
        let shift = a.len() - b.len();
        let q = *a.last().unwrap() * lead_inv;
        for (i, c) in b.iter().enumerate() {
            a[shift + i] -= q * c;
        }
        a = trim(a);
    }
    a
}

fn poly_mul_mod(a: &[Fp], b: &[Fp], f: &[Fp]) -> Poly {
    let mut out = vec![Fp::ZERO; a.len() + b.len()];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += *x * y;
        }
    }
    poly_rem(&out, f)
}

/// `base^(p^times)` mod `f` (the Frobenius applied `times` times).
fn frobenius(base: &[Fp], times: usize, f: &[Fp]) -> Poly {
    // p as bits: (p - 1) + 1.
    let p_minus_1 = (-Fp::ONE).to_repr();
    let mut acc = base.to_vec();
    for _ in 0..times {
        // acc^(p-1) by square-and-multiply over the bits of p - 1, then · acc.
        let mut result = vec![Fp::ONE];
        for byte in p_minus_1.as_ref().iter().rev() {
            for bit in (0..8).rev() {
                result = poly_mul_mod(&result, &result, f);
                if (byte >> bit) & 1 == 1 {
                    result = poly_mul_mod(&result, &acc, f);
                }
            }
        }
        acc = poly_mul_mod(&result, &acc, f);
    }
    acc
}

fn poly_gcd_is_one(a: &[Fp], b: &[Fp]) -> bool {
    let (mut a, mut b) = (trim(a.to_vec()), trim(b.to_vec()));
    while !b.is_empty() {
        let r = poly_rem(&a, &b);
        a = b;
        b = r;
    }
    a.len() == 1
}

/// A monic polynomial of degree 5 is irreducible iff it has no factor of degree 1 or 2:
/// `gcd(f, x^p - x) = gcd(f, x^(p²) - x) = 1`.
fn irreducible_quintic(f: &[Fp]) -> bool {
    let x = vec![Fp::ZERO, Fp::ONE];
    (1..=2).all(|times| {
        let mut g = frobenius(&x, times, f);
        g.resize(2.max(g.len()), Fp::ZERO);
        g[1] -= Fp::ONE;
        poly_gcd_is_one(f, &g)
    })
}

fn mat_mul(a: &[[Fp; 5]; 5], b: &[[Fp; 5]; 5]) -> [[Fp; 5]; 5] {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..5).map(|k| a[i][k] * b[k][j]).sum()))
}

/// The characteristic polynomial (Faddeev–LeVerrier), monic, coefficients from x^0 up.
fn char_poly(a: &[[Fp; 5]; 5]) -> Poly {
    let n = 5;
    let mut c = vec![Fp::ZERO; n + 1];
    c[n] = Fp::ONE;
    let mut m = [[Fp::ZERO; 5]; 5];
    for k in 1..=n {
        let mut next = mat_mul(a, &m);
        for (i, row) in next.iter_mut().enumerate() {
            row[i] += c[n - k + 1];
        }
        m = next;
        let am = mat_mul(a, &m);
        let trace: Fp = (0..n).map(|i| am[i][i]).sum();
        c[n - k] = -trace * Fp::from(k as u64).invert().unwrap();
    }
    c
}

fn determinant(mut m: Vec<Vec<Fp>>) -> Fp {
    let n = m.len();
    let mut det = Fp::ONE;
    for col in 0..n {
        let Some(pivot) = (col..n).find(|&r| !bool::from(m[r][col].is_zero())) else {
            return Fp::ZERO;
        };
        if pivot != col {
            m.swap(pivot, col);
            det = -det;
        }
        det *= m[col][col];
        let inv = m[col][col].invert().unwrap();
        let pivot_row = m[col].clone();
        for row in m.iter_mut().skip(col + 1) {
            let factor = row[col] * inv;
            for (cell, v) in row.iter_mut().zip(&pivot_row).skip(col) {
                *cell -= factor * v;
            }
        }
    }
    det
}

#[test]
fn the_width_5_mds_matrix_is_mds_and_has_no_invariant_subspace_trail() {
    let (_, mds) = t5_constants();
    // MDS: every square submatrix is invertible.
    for size in 1..=5usize {
        for rows in 0u32..32 {
            for cols in 0u32..32 {
                if rows.count_ones() as usize != size || cols.count_ones() as usize != size {
                    continue;
                }
                let sub: Vec<Vec<Fp>> = (0..5)
                    .filter(|i| rows >> i & 1 == 1)
                    .map(|i| {
                        (0..5)
                            .filter(|j| cols >> j & 1 == 1)
                            .map(|j| mds[i][j])
                            .collect()
                    })
                    .collect();
                assert!(!bool::from(determinant(sub).is_zero()));
            }
        }
    }
    assert!(no_invariant_subspace_trail(&mds));
    // The instance takes the first candidate of the Grain stream that passes: the first
    // two do not.
    assert_eq!(<P128Pow5T5 as Spec<Fp, 5, 4>>::secure_mds(), 2);
    assert!(!no_invariant_subspace_trail(&Candidate::<0>::constants().1));
    assert!(!no_invariant_subspace_trail(&Candidate::<1>::constants().1));
    assert_eq!(Candidate::<2>::constants().1, mds);
}

/// Grassi, Rechberger and Schofnegger's sufficient condition against infinitely long
/// invariant subspace trails through the partial rounds: the minimal polynomial of every
/// power M^l is irreducible of degree t (checked as the characteristic polynomial, which
/// is then the minimal one, for l up to 4t).
fn no_invariant_subspace_trail(mds: &[[Fp; 5]; 5]) -> bool {
    let mut power = *mds;
    (1..=20).all(|_| {
        let ok = irreducible_quintic(&char_poly(&power));
        power = mat_mul(&power, mds);
        ok
    })
}

/// The width-5 instance with the `S`-th MDS candidate of the Grain stream.
#[derive(Debug)]
struct Candidate<const S: usize>;

impl<const S: usize> Spec<Fp, 5, 4> for Candidate<S> {
    fn full_rounds() -> usize {
        crate::hash::T5_FULL_ROUNDS
    }

    fn partial_rounds() -> usize {
        crate::hash::T5_PARTIAL_ROUNDS
    }

    fn sbox(v: Fp) -> Fp {
        v.pow_vartime([5])
    }

    fn secure_mds() -> usize {
        S
    }

    fn constants() -> (Vec<[Fp; 5]>, [[Fp; 5]; 5], [[Fp; 5]; 5]) {
        halo2_gadgets::poseidon::primitives::generate_constants::<Fp, Self, 5, 4>()
    }
}
