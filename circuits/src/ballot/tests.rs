//! MockProver tests of the ballot circuit: the honest witness, then one tampered value per
//! rule, each failing the named constraint.

use halo2_proofs::{
    dev::{metadata, CircuitCost, FailureLocation, MockProver, VerifyFailure},
    plonk::Any as AnyColumn,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;
use crate::constants::{MAX_DELEGATES, MAX_OPTIONS};
use crate::merkle::MerkleTree;

/// A voter tree with a few registered voters; returns the tree and their secrets.
fn fixture(seed: u64) -> (MerkleTree, Vec<(u64, VoterSecret)>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut tree = MerkleTree::new(VOTERS_DEPTH, Fp::zero());
    let voters: Vec<_> = [0u64, 1, 5, (1 << VOTERS_DEPTH) - 1]
        .into_iter()
        .map(|index| (index, VoterSecret::random(&mut rng)))
        .collect();
    for (index, secret) in &voters {
        tree.set(*index, secret.commitment());
    }
    (tree, voters)
}

fn honest(voter: usize, proposal: u64, vote: Vote) -> (BallotCircuit, Instance) {
    let (tree, voters) = fixture(7);
    let (index, secret) = &voters[voter];
    let path = tree.path(*index);
    let instance = Instance::new(tree.root(), proposal, secret.nullifier(proposal), vote, 0);
    (BallotCircuit::new(secret, &path), instance)
}

fn mock(circuit: &BallotCircuit, instance: &Instance) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(K, circuit, vec![instance.to_halo2().to_vec()])
        .expect("synthesis")
        .verify()
}

fn instance_failure(row: usize) -> VerifyFailure {
    VerifyFailure::Permutation {
        column: metadata::Column::from((AnyColumn::Instance, 0)),
        location: FailureLocation::OutsideRegion { row },
    }
}

fn fails_constraint(failures: &[VerifyFailure], gate: &str, constraint: &str) -> bool {
    failures.iter().any(|failure| match failure {
        VerifyFailure::ConstraintNotSatisfied { constraint: c, .. } => {
            let text = c.to_string();
            text.contains(&format!("('{gate}')")) && text.contains(&format!("('{constraint}')"))
        }
        _ => false,
    })
}

#[test]
fn honest_ballots_satisfy_the_circuit() {
    for (voter, vote) in [
        (0, Vote::Option(0)),
        (1, Vote::Option(MAX_OPTIONS - 1)),
        (2, Vote::Delegate(0)),
        (3, Vote::Delegate(MAX_DELEGATES - 1)),
    ] {
        let (circuit, instance) = honest(voter, 42, vote);
        assert_eq!(mock(&circuit, &instance), Ok(()), "voter {voter}");
    }
}

#[test]
fn a_wrong_nullifier_input_fails_the_nullifier_equality() {
    let (circuit, instance) = honest(0, 42, Vote::Option(1));
    let (_, voters) = fixture(7);
    for wrong in [
        voters[0].1.nullifier(43),
        voters[1].1.nullifier(42),
        instance.nullifier() + Fp::one(),
    ] {
        let tampered = Instance {
            nullifier: wrong,
            ..instance
        };
        let failures = mock(&circuit, &tampered).unwrap_err();
        assert!(
            failures.contains(&instance_failure(NULLIFIER)),
            "{failures:?}"
        );
        assert!(!failures.contains(&instance_failure(VOTER_ROOT)));
    }
}

#[test]
fn a_wrong_proposal_input_fails_the_nullifier_equality() {
    let (circuit, instance) = honest(0, 42, Vote::Option(1));
    let tampered = Instance {
        proposal: 43,
        ..instance
    };
    let failures = mock(&circuit, &tampered).unwrap_err();
    assert!(
        failures.contains(&instance_failure(NULLIFIER)),
        "{failures:?}"
    );
}

#[test]
fn a_wrong_root_input_fails_the_root_equality() {
    let (circuit, instance) = honest(2, 42, Vote::Option(1));
    let (other_tree, _) = fixture(8);
    for wrong in [other_tree.root(), Fp::zero(), -Fp::one()] {
        let tampered = Instance {
            voter_root: wrong,
            ..instance
        };
        let failures = mock(&circuit, &tampered).unwrap_err();
        assert!(
            failures.contains(&instance_failure(VOTER_ROOT)),
            "{failures:?}"
        );
        assert!(!failures.contains(&instance_failure(NULLIFIER)));
    }
}

#[test]
fn a_changed_sequence_number_fails_its_copy_from_the_instance() {
    let (circuit, instance) = honest(1, 42, Vote::Option(2));
    assert_eq!(mock(&circuit, &instance), Ok(()));
    // The prover's cell holds another number than the public one.
    let failures =
        mock_with_override(circuit, &instance, "sequence number", 0, Fp::from(7)).unwrap_err();
    assert!(failures.contains(&instance_failure(SEQ)), "{failures:?}");
    assert_eq!(
        failures.len(),
        2,
        "the instance row and its copy, nothing else"
    );
}

#[test]
fn a_changed_sibling_or_secret_fails_the_root_equality() {
    let (tree, voters) = fixture(7);
    let (index, secret) = &voters[2];
    let instance = Instance::new(tree.root(), 42, secret.nullifier(42), Vote::Option(3), 0);
    let mut path = tree.path(*index);
    path.siblings[VOTERS_DEPTH / 2 - 1][2] += Fp::one();
    let failures = mock(&BallotCircuit::new(secret, &path), &instance).unwrap_err();
    assert!(
        failures.contains(&instance_failure(VOTER_ROOT)),
        "{failures:?}"
    );
    assert!(!failures.contains(&instance_failure(NULLIFIER)));

    // Another voter's trapdoor: the nullifier still matches, the commitment does not.
    let wrong = VoterSecret {
        nullifier_key: secret.nullifier_key,
        trapdoor: voters[1].1.trapdoor,
    };
    let failures = mock(&BallotCircuit::new(&wrong, &tree.path(*index)), &instance).unwrap_err();
    assert!(
        failures.contains(&instance_failure(VOTER_ROOT)),
        "{failures:?}"
    );
    assert!(!failures.contains(&instance_failure(NULLIFIER)));
}

#[test]
fn a_vote_slot_beyond_the_tally_bits_fails_the_range_gate() {
    let gate = "vote < 2^TALLY_SLOT_BITS";
    // The largest valid slot passes; the first invalid one and field edges fail.
    let (circuit, instance) = honest(1, 42, Vote::Delegate(MAX_DELEGATES - 1));
    assert_eq!(mock(&circuit, &instance), Ok(()));
    for vote in [
        Vote::Delegate(MAX_DELEGATES),
        Vote::Option(1 << TALLY_SLOT_BITS),
        Vote::Option(u64::MAX),
        Vote::Delegate(u64::MAX),
    ] {
        let (circuit, instance) = honest(1, 42, vote);
        let failures = mock(&circuit, &instance).unwrap_err();
        assert!(
            fails_constraint(&failures, gate, "vote = Σ 2^i · bit_i"),
            "{vote:?}: {failures:?}"
        );
    }
}

/// MockProver on `circuit` with each `(annotation, occurrence, value)`: the
/// `occurrence`-th advice cell named `annotation` holds `value`.
fn mock_with_overrides(
    circuit: BallotCircuit,
    instance: &Instance,
    overrides: &[(&'static str, usize, Fp)],
) -> Result<(), Vec<VerifyFailure>> {
    crate::testing::mock_with_overrides(K, circuit, vec![instance.to_halo2().to_vec()], overrides)
}

fn mock_with_override(
    circuit: BallotCircuit,
    instance: &Instance,
    annotation: &'static str,
    occurrence: usize,
    value: Fp,
) -> Result<(), Vec<VerifyFailure>> {
    mock_with_overrides(circuit, instance, &[(annotation, occurrence, value)])
}

#[test]
fn the_override_changes_nothing_when_it_writes_the_honest_value() {
    // Voter 0 sits at position 0: every digit is 0.
    let (circuit, instance) = honest(0, 42, Vote::Option(2));
    assert_eq!(
        mock_with_override(circuit, &instance, "digit b0", 5, Fp::zero()),
        Ok(())
    );
}

/// The voter path's swap gate (`chunk::merkle`).
const SWAP: &str = "merkle4 swap";

#[test]
fn a_non_boolean_digit_bit_fails_the_swap_gate() {
    for (bit, level, value, constraint) in [
        ("digit b0", 0, Fp::from(2), "b0 is boolean"),
        ("digit b1", 5, -Fp::one(), "b1 is boolean"),
        (
            "digit b0",
            VOTERS_DEPTH / 2 - 1,
            Fp::from(7),
            "b0 is boolean",
        ),
    ] {
        let (circuit, instance) = honest(0, 42, Vote::Option(2));
        let failures = mock_with_override(circuit, &instance, bit, level, value).unwrap_err();
        assert!(
            fails_constraint(&failures, SWAP, constraint),
            "{failures:?}"
        );
    }
}

#[test]
fn a_digit_changed_after_the_swap_fails_the_swap_gate() {
    // Position 0: digit 0 at level 3 said 1 puts the node where its first sibling belongs.
    let (circuit, instance) = honest(0, 42, Vote::Option(2));
    let failures = mock_with_override(circuit, &instance, "digit b0", 3, Fp::one()).unwrap_err();
    assert!(
        fails_constraint(&failures, SWAP, "child 0 = e0 * current + (1 - e0) * s0"),
        "{failures:?}"
    );
}

#[test]
fn children_that_are_not_the_node_and_its_siblings_fail_the_swap_gate() {
    let (circuit, instance) = honest(2, 42, Vote::Option(2));
    for (child, constraint) in [
        (0, "child 0 = e0 * current + (1 - e0) * s0"),
        (1, "child 1 = e1 * current + e0 * s0 + (e2 + e3) * s1"),
        (2, "child 2 = e2 * current + (e0 + e1) * s1 + e3 * s2"),
        (3, "child 3 = e3 * current + (1 - e3) * s2"),
    ] {
        // Level 7's children.
        let failures = mock_with_override(
            circuit.clone(),
            &instance,
            "child",
            4 * 7 + child,
            Fp::from(9),
        )
        .unwrap_err();
        assert!(
            fails_constraint(&failures, SWAP, constraint),
            "{failures:?}"
        );
    }
    let failures = mock_with_override(circuit, &instance, "capacity", 2, Fp::from(9)).unwrap_err();
    assert!(
        fails_constraint(&failures, SWAP, "node4 capacity = 4 * 2^64"),
        "{failures:?}"
    );
}

#[test]
fn a_non_boolean_vote_bit_fails_the_range_gate() {
    // Slot 1 with bit 0 set to 3 and bit 1 to -1: 3 - 2 = 1 recomposes, the bits are
    // not bits.
    let (circuit, instance) = honest(0, 42, Vote::Option(1));
    let overrides = [("bit 0", 0, Fp::from(3)), ("bit 1", 0, -Fp::one())];
    let failures = mock_with_overrides(circuit, &instance, &overrides).unwrap_err();
    let gate = "vote < 2^TALLY_SLOT_BITS";
    assert!(
        fails_constraint(&failures, gate, "bit ∈ {0,1}"),
        "{failures:?}"
    );
    assert!(!fails_constraint(&failures, gate, "vote = Σ 2^i · bit_i"));
}

#[test]
fn a_slot_of_2_pow_bits_cannot_hide_behind_non_boolean_bits() {
    // 4096 = 2 · 2^11: the sum holds with bit 11 = 2, the boolean check does not. No
    // `Vote` encodes to 4096 (an option or delegate beyond every slot encodes above 2^64),
    // so the instance is written by hand.
    let (circuit, instance) = honest(0, 42, Vote::Option(1));
    let mut column = instance.to_halo2().to_vec();
    column[VOTE] = Fp::from(1 << TALLY_SLOT_BITS);
    let bits = format!("bit {}", TALLY_SLOT_BITS - 1).leak();
    let failures =
        crate::testing::mock_with_overrides(K, circuit, vec![column], &[(bits, 0, Fp::from(2))])
            .unwrap_err();
    let gate = "vote < 2^TALLY_SLOT_BITS";
    assert!(
        fails_constraint(&failures, gate, "bit ∈ {0,1}"),
        "{failures:?}"
    );
    assert!(!fails_constraint(&failures, gate, "vote = Σ 2^i · bit_i"));
}

#[test]
fn the_circuit_fits_in_k_rows_and_not_fewer() {
    let (circuit, instance) = honest(3, 42, Vote::Option(2));
    let too_small = MockProver::run(K - 1, &circuit, vec![instance.to_halo2().to_vec()]);
    assert!(
        too_small.is_err(),
        "the circuit would fit in 2^{} rows",
        K - 1
    );
    let cost = CircuitCost::<pasta_curves::vesta::Point, _>::measure(K, &circuit);
    let text = format!("{cost:?}");
    assert!(text.contains("max_rows: 216,"), "{text}");
    assert!(text.contains("num_advice_columns: 10,"), "{text}");
}

#[test]
fn the_circuit_is_pinned() {
    let mut meta = ConstraintSystem::<Fp>::default();
    BallotCircuit::configure(&mut meta);
    assert_eq!(meta.degree(), 6);
    let keys = BallotKeys::setup(params()).expect("keys");
    let pinned = format!("{:#?}", keys.verifying_key().pinned());
    let digest = blake2b_simd::Params::new()
        .hash_length(16)
        .hash(pinned.as_bytes());
    assert_eq!(
        (pinned.len(), digest.to_hex().to_string()),
        (231336, "dd6abb0ad6a21890a9a0d3aec1e33a3d".to_string()),
        "the ballot circuit changed: update K, PROOF_BYTES and this snapshot deliberately"
    );
}

#[test]
fn domain_tags_and_the_proposal_are_not_free_witnesses() {
    let (circuit, instance) = honest(1, 42, Vote::Option(2));
    for tag_cell in ["VOTER_COMMITMENT", "NULLIFIER"] {
        // A prover swapping a tag for another fails the copy from the fixed constant.
        let failures =
            mock_with_override(circuit.clone(), &instance, tag_cell, 0, Fp::from(99)).unwrap_err();
        assert!(
            failures.iter().any(|f| matches!(
                f,
                VerifyFailure::Permutation { location: FailureLocation::InRegion { region, .. }, .. }
                    if region.to_string().contains("load secrets, tags, proposal and sequence number")
            )),
            "{tag_cell}: {failures:?}"
        );
    }
    let failures = mock_with_override(circuit, &instance, "proposal", 0, Fp::from(43)).unwrap_err();
    assert!(
        failures.contains(&instance_failure(PROPOSAL)),
        "{failures:?}"
    );
}
