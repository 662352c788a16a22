//! The chip against the native hash and the Zcash test vectors, and every one of its named
//! constraints failing when a cell it checks is tampered with.

use ff::{Field, PrimeField};
use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    dev::{MockProver, VerifyFailure},
    plonk::{Circuit, Column, ConstraintSystem, Error, Instance},
};

use super::{trace, PoseidonConfig, FIXED, PERMUTATION_ROWS};
use crate::hash::{poseidon, Fp};
use crate::testing::mock_with_overrides;

const K: u32 = 7;

#[test]
fn the_trace_is_the_permutation_of_the_test_vectors() {
    for v in halo2_poseidon::test_vectors::fp::permute() {
        let input = v.initial_state.map(|b| Fp::from_repr(b).unwrap());
        let out = trace(input)[PERMUTATION_ROWS - 1];
        let expected = v.final_state.map(|b| Fp::from_repr(b).unwrap());
        assert_eq!([out[0], out[1], out[2]], expected.map(Some));
    }
}

/// `Poseidon(message)` of `L` witnessed words, the result equal to the public input.
#[derive(Clone)]
struct HashCircuit<const L: usize> {
    message: [Fp; L],
}

#[derive(Clone, Debug)]
struct Config {
    poseidon: PoseidonConfig,
    instance: Column<Instance>,
}

impl<const L: usize> Circuit<Fp> for HashCircuit<L> {
    type Config = Config;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> Config {
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

    fn synthesize(&self, config: Config, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        let words = layouter.assign_region(
            || "message",
            |mut region| {
                let cells: Result<Vec<_>, Error> = (0..L)
                    .map(|i| {
                        region.assign_advice(
                            || "word",
                            config.poseidon.advice[i],
                            0,
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

fn run<const L: usize>(expected: Fp) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(
        K,
        &HashCircuit::<L> { message: message() },
        vec![vec![expected]],
    )
    .unwrap()
    .verify()
}

#[test]
fn hashes_of_one_to_five_words_are_the_native_hashes() {
    assert_eq!(run::<1>(poseidon(message::<1>())), Ok(()));
    assert_eq!(run::<2>(poseidon(message::<2>())), Ok(()));
    assert_eq!(run::<3>(poseidon(message::<3>())), Ok(()));
    assert_eq!(run::<4>(poseidon(message::<4>())), Ok(()));
    assert_eq!(run::<5>(poseidon(message::<5>())), Ok(()));
    // And a wrong claimed hash is refused.
    assert!(run::<3>(poseidon(message::<3>()) + Fp::ONE).is_err());
}

fn tampered(overrides: &[(&'static str, usize, Fp)]) -> Vec<String> {
    let m = message::<3>();
    match mock_with_overrides(
        K,
        HashCircuit::<3> { message: m },
        vec![vec![poseidon(m)]],
        overrides,
    ) {
        Ok(()) => Vec::new(),
        Err(failures) => failures.iter().map(|f| format!("{f}")).collect(),
    }
}

fn assert_fails(overrides: &[(&'static str, usize, Fp)], constraint: &str) {
    let found = tampered(overrides);
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
        assert_fails(
            &[("poseidon mid", i, seven)],
            &format!("poseidon full round: mid {i}"),
        );
        assert_fails(
            &[("poseidon state", i, seven)],
            &format!("poseidon full round: next {i}"),
        );
    }
    // Partial rows: each S-box input x2..x8 ("poseidon x" 0..6 are the first partial row's),
    // and the state after a partial row (the third row with a state cell assigned by the
    // chip is the second partial row).
    for j in 0..7 {
        assert_fails(
            &[("poseidon x", j, seven)],
            &format!("poseidon partial round: x{}", j + 2),
        );
    }
    for i in 0..3 {
        assert_fails(
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
        assert_fails(&[("absorbed", i, seven)], name);
    }
    // The last full row's output.
    assert_fails(&[("poseidon out", 3, seven)], "poseidon full round: next 0");
    // Untampered, it holds.
    assert!(tampered(&[]).is_empty());
}
