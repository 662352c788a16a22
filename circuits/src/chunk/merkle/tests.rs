//! The pass against the native [`MerklePath`], and each of its named constraints failing
//! on a tampered cell.

use ff::Field;
use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    dev::{MockProver, VerifyFailure},
    plonk::{Circuit, Column, ConstraintSystem, Error, Instance},
};

use super::{MerkleUpdateChip, MerkleUpdateConfig, LEVEL_ROWS};
use crate::hash::Fp;
use crate::merkle::MerklePath;
use crate::poseidon::{PoseidonConfig, FIXED};
use crate::testing::mock_with_overrides;

const LEVELS: usize = 12;
const K: u32 = 9;

/// One leaf update through `LEVELS` levels; public: old root, new root, position.
#[derive(Clone)]
struct PassCircuit {
    path: MerklePath,
    leaf_old: Fp,
    leaf_new: Fp,
}

#[derive(Clone, Debug)]
struct Config {
    merkle: MerkleUpdateConfig,
    advice: [Column<halo2_proofs::plonk::Advice>; 10],
    instance: Column<Instance>,
}

impl Circuit<Fp> for PassCircuit {
    type Config = Config;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> Config {
        let advice = std::array::from_fn(|_| meta.advice_column());
        for col in advice {
            meta.enable_equality(col);
        }
        let fixed: [_; FIXED] = std::array::from_fn(|_| meta.fixed_column());
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let poseidon = PoseidonConfig::<5>::configure(meta, advice, fixed);
        Config {
            merkle: MerkleUpdateChip::configure(meta, poseidon),
            advice,
            instance,
        }
    }

    fn synthesize(&self, config: Config, mut layouter: impl Layouter<Fp>) -> Result<(), Error> {
        let (index, old, new) = layouter.assign_region(
            || "inputs",
            |mut region| {
                let a = config.advice;
                Ok((
                    region.assign_advice(
                        || "index",
                        a[0],
                        0,
                        || Value::known(Fp::from(self.path.index)),
                    )?,
                    region.assign_advice(|| "leaf old", a[1], 0, || Value::known(self.leaf_old))?,
                    region.assign_advice(|| "leaf new", a[2], 0, || Value::known(self.leaf_new))?,
                ))
            },
        )?;
        let chip = MerkleUpdateChip::construct(config.merkle.clone());
        let levels = chip.update(
            layouter.namespace(|| "pass"),
            &index,
            Value::known(&self.path),
            self.path.siblings.len(),
            old,
            new,
        )?;
        let root = levels.last().expect("a root level");
        layouter.constrain_instance(root.old.cell(), config.instance, 0)?;
        layouter.constrain_instance(root.new.cell(), config.instance, 1)?;
        layouter.constrain_instance(index.cell(), config.instance, 2)
    }
}

/// Every digit 0..3 appears at several levels.
const INDEX: u64 = 0b11_10_01_00_01_11_00_10_10_00_11_01;

fn circuit(index: u64) -> PassCircuit {
    circuit_of(LEVELS, index)
}

fn circuit_of(levels: usize, index: u64) -> PassCircuit {
    let siblings = (0..levels as u64)
        .map(|l| [1, 2, 3].map(|i| Fp::from(100 * l + i).square()))
        .collect();
    PassCircuit {
        path: MerklePath { index, siblings },
        leaf_old: Fp::from(5),
        leaf_new: Fp::from(6),
    }
}

fn public(c: &PassCircuit) -> Vec<Fp> {
    vec![
        c.path.compute_root(c.leaf_old),
        c.path.compute_root(c.leaf_new),
        Fp::from(c.path.index),
    ]
}

#[test]
fn the_pass_computes_the_native_old_and_new_roots() {
    let c = circuit(INDEX);
    let prover = MockProver::run(K, &c, vec![public(&c)]).unwrap();
    assert_eq!(prover.verify(), Ok(()));
    // Another new root, or another position, is refused.
    let mut wrong = public(&c);
    wrong[1] += Fp::ONE;
    assert!(MockProver::run(K, &c, vec![wrong])
        .unwrap()
        .verify()
        .is_err());
    let mut wrong = public(&c);
    wrong[2] += Fp::ONE;
    assert!(MockProver::run(K, &c, vec![wrong])
        .unwrap()
        .verify()
        .is_err());
}

#[test]
fn a_position_beyond_the_tree_is_refused() {
    // The same twelve digits and one more: z after the last level is 1, not 0.
    let c = circuit(INDEX | 1 << (2 * LEVELS));
    let public = public(&c);
    assert!(MockProver::run(K, &c, vec![public])
        .unwrap()
        .verify()
        .is_err());
}

/// A pass of 14 levels (`4m + 2`, as the registry's): its last index row holds one pair of
/// digits and zero bits; the position is still all of its digits, and no more.
#[test]
fn a_pass_of_an_odd_number_of_digit_pairs_pads_its_last_index_row() {
    const INDEX_14: u64 = INDEX | 0b10_11 << 24;
    let run =
        |c: &PassCircuit, public: Vec<Fp>| MockProver::run(10, c, vec![public]).unwrap().verify();
    let c = circuit_of(14, INDEX_14);
    assert_eq!(run(&c, public(&c)), Ok(()));
    let beyond = circuit_of(14, INDEX_14 | 1 << 28);
    assert!(run(&beyond, public(&beyond)).is_err());
    // A padding bit is a constant zero: set to one, the row's second sum fails.
    let c = circuit_of(14, INDEX_14);
    let public = public(&c);
    let found = match mock_with_overrides(
        10,
        c,
        vec![public],
        &[("digit padding (index)", 0, Fp::ONE)],
    ) {
        Ok(()) => Vec::new(),
        Err(f) => f.iter().map(|f: &VerifyFailure| format!("{f}")).collect(),
    };
    assert!(
        found
            .iter()
            .any(|f| f.contains(&format!("'{INDEX_SUM_2}'"))),
        "{found:#?}"
    );
}

#[test]
fn a_level_is_30_rows_against_48_for_two_binary_levels() {
    assert_eq!(LEVEL_ROWS, 30);
    assert_eq!(2 * 2 * crate::poseidon::PERMUTATION_ROWS, 48);
}

/// The index gate's constraints: a row's first two digits, its last two.
const INDEX_SUM: &str = super::INDEX_SUMS[0];
const INDEX_SUM_2: &str = super::INDEX_SUMS[1];

fn failures(overrides: &[(&'static str, usize, Fp)]) -> Vec<String> {
    let c = circuit(INDEX);
    let public = public(&c);
    match mock_with_overrides(K, c, vec![public], overrides) {
        Ok(()) => Vec::new(),
        Err(f) => f.iter().map(|f: &VerifyFailure| format!("{f}")).collect(),
    }
}

fn assert_fails(overrides: &[(&'static str, usize, Fp)], constraint: &str) {
    let found = failures(overrides);
    assert!(
        found.iter().any(|f| f.contains(&format!("'{constraint}'"))),
        "expected {constraint:?} to fail, got {found:#?}"
    );
}

#[test]
fn every_constraint_of_the_pass_fails_by_name_on_a_tampered_cell() {
    let two = Fp::from(2);
    assert_fails(&[("digit b0", 0, two)], "b0 is boolean");
    assert_fails(&[("digit b1", 0, two)], "b1 is boolean");
    // A bit flipped to the other boolean value moves the current node: the children no
    // longer match (level 0's digit is 1: the current node is child 1, and digit 3 puts s1
    // there); and in the running sum it no longer adds up.
    assert_fails(
        &[("digit b1", 0, Fp::ONE)],
        "child 1 = e1 * current + e0 * s0 + (e2 + e3) * s1",
    );
    assert_fails(&[("digit b1 (index)", 0, Fp::ONE)], INDEX_SUM);
    // Level 1's digit (3), the row's second: b2 and b3.
    assert_fails(&[("digit b0 (index)", 1, Fp::ZERO)], INDEX_SUM);
    for (i, name) in [
        "child 0 = e0 * current + (1 - e0) * s0",
        "child 1 = e1 * current + e0 * s0 + (e2 + e3) * s1",
        "child 2 = e2 * current + (e0 + e1) * s1 + e3 * s2",
        "child 3 = e3 * current + (1 - e3) * s2",
    ]
    .iter()
    .enumerate()
    {
        assert_fails(&[("child", i, Fp::from(7))], name);
    }
    // A sibling is bound to its child (digit 1 at level 0: s0 is child 0).
    assert_fails(
        &[("sibling", 0, Fp::from(7))],
        "child 0 = e0 * current + (1 - e0) * s0",
    );
    assert_fails(&[("capacity", 0, Fp::ZERO)], "node4 capacity = 4 * 2^64");
    assert_fails(&[("z_mid", 0, Fp::from(7))], INDEX_SUM);
    assert_fails(&[("z_mid", 0, Fp::from(7))], INDEX_SUM_2);
    // Level 2's digit (2) and level 3's (1), the row's second half: b4 .. b7.
    assert_fails(&[("digit b1 (index)", 2, Fp::ONE)], INDEX_SUM_2);
    assert_fails(&[("digit b0 (index)", 3, Fp::ONE)], INDEX_SUM_2);
    assert_fails(&[("z_next", 0, Fp::from(7))], INDEX_SUM_2);
    // The new chain's siblings are copies of the old chain's.
    assert!(failures(&[("sibling", LEVELS, Fp::from(7))])
        .iter()
        .any(|f| f.contains("Equality constraint not satisfied")));
    assert!(failures(&[]).is_empty());
}

#[test]
fn the_pass_reaches_the_roots_of_a_native_arity_4_tree_before_and_after_the_write() {
    let mut tree = crate::merkle::MerkleTree::new(2 * LEVELS, Fp::from(9));
    for (i, position) in [3u64, INDEX ^ 1, INDEX ^ 4, 1 << 20, INDEX]
        .iter()
        .enumerate()
    {
        tree.set(*position, Fp::from(100 + i as u64));
    }
    let before = tree.root();
    let c = PassCircuit {
        path: tree.path(INDEX),
        leaf_old: tree.leaf(INDEX),
        leaf_new: Fp::from(77),
    };
    tree.set(INDEX, Fp::from(77));
    let public = vec![before, tree.root(), Fp::from(INDEX)];
    assert_eq!(
        MockProver::run(K, &c, vec![public]).unwrap().verify(),
        Ok(())
    );
}
