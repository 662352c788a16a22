//! The signature circuit: honest entries pass, a forged signature fails the final copy
//! constraint `s·G = R + c·PK`, a public key or message other than the signed one fails at
//! its public input's row, and a real proof verifies and fails with any public input changed.

use std::collections::BTreeSet;

use ff::Field;
use halo2_proofs::dev::{FailureLocation, MockProver, VerifyFailure};
use pasta_curves::pallas;
use rand_core::SeedableRng;

use super::*;
use crate::testing::assert_only_final_equality_fails;

/// `n` honest signed entries by distinct keys on distinct messages.
fn signed(n: usize) -> Vec<(Entry, Signature)> {
    (0..n)
        .map(|i| {
            let sk = SecretKey::from_seed(format!("resident {i}").as_bytes());
            let message = Fp::from(1000 + i as u64);
            (
                Entry {
                    key: sk.public_key(),
                    message,
                },
                sk.sign(message),
            )
        })
        .collect()
}

fn public(signed: &[(Entry, Signature)]) -> Vec<Entry> {
    signed.iter().map(|(e, _)| *e).collect()
}

/// MockProver at `K_MIN` of `witness` (padded to `capacity`) against public `entries`.
fn run(
    witness: &[(Entry, Signature)],
    entries: &[Entry],
    capacity: usize,
) -> Result<(), Vec<VerifyFailure>> {
    let circuit = SignaturesCircuit::new(witness, capacity);
    MockProver::run(K_MIN, &circuit, vec![instance(entries, capacity)])
        .expect("synthesis succeeds")
        .verify()
}

/// Asserts that `result` failed only on the copy constraints of the instance `rows`.
fn assert_only_instance_rows_fail(result: Result<(), Vec<VerifyFailure>>, rows: &[usize]) {
    let failures = result.expect_err("a wrong public input must fail");
    let mut seen = BTreeSet::new();
    for failure in &failures {
        match failure {
            VerifyFailure::Permutation {
                column,
                location: FailureLocation::OutsideRegion { row },
            } if column.to_string() == "Column('Instance', 0)" => {
                seen.insert(*row);
            }
            // The same copy constraint, seen from the advice cell's side.
            VerifyFailure::Permutation {
                location: FailureLocation::InRegion { .. },
                ..
            } => {}
            other => panic!("unexpected failure: {other}"),
        }
    }
    assert_eq!(
        seen,
        rows.iter().copied().collect::<BTreeSet<_>>(),
        "{failures:#?}"
    );
}

#[test]
fn honest_entries_pass_with_padding() {
    let signed = signed(2);
    for (entry, sig) in &signed {
        entry.key.verify(entry.message, sig).unwrap();
    }
    assert_eq!(run(&signed, &public(&signed), 3), Ok(()));
    // Padding alone, too (a proof's unused capacity).
    assert_eq!(run(&[], &[], 1), Ok(()));
}

#[test]
fn forged_response_fails_the_final_equality() {
    let mut signed = signed(1);
    signed[0].1.s += pallas::Scalar::ONE;
    assert_only_final_equality_fails(run(&signed, &public(&signed), 1));
}

#[test]
fn a_signature_on_another_message_fails_the_final_equality() {
    let signed = signed(1);
    let mut witness = signed.clone();
    witness[0].0.message += Fp::ONE;
    assert_only_final_equality_fails(run(&witness, &public(&witness), 1));
}

#[test]
fn a_signature_by_another_key_fails_the_final_equality() {
    let signed = signed(2);
    let mut witness = vec![signed[0]];
    witness[0].0.key = signed[1].0.key;
    assert_only_final_equality_fails(run(&witness, &public(&witness), 1));
}

#[test]
fn another_message_or_key_in_the_public_inputs_fails_at_its_row() {
    let signed = signed(2);
    let mut entries = public(&signed);
    entries[1].message += Fp::ONE;
    assert_only_instance_rows_fail(run(&signed, &entries, 2), &[ENTRY_LEN + 2]);

    // Another key changes the key's coordinates and its digest with the message.
    let mut entries = public(&signed);
    entries[0].key = signed[1].0.key;
    assert_only_instance_rows_fail(run(&signed, &entries, 2), &[0, 1, 2]);

    // A proof of fewer signatures cannot claim a real pair in its padding.
    let entries = public(&signed);
    assert_only_instance_rows_fail(
        run(&signed[..1], &entries, 2),
        &[ENTRY_LEN, ENTRY_LEN + 1, ENTRY_LEN + 2],
    );
}

/// The advice rows used, read from `CircuitCost`'s report (its fields are private).
fn advice_rows(capacity: usize) -> usize {
    let circuit = SignaturesCircuit::new(&signed(capacity), capacity);
    crate::testing::advice_rows(K_MIN + 2, &circuit)
}

/// Pins the rows of one entry (and that two take twice as many), the degree, and the
/// capacities that follow at each `k`.
#[test]
fn rows_degree_and_capacity_are_pinned() {
    assert_eq!(
        (advice_rows(1), advice_rows(2)),
        (ROWS_PER_ENTRY, 2 * ROWS_PER_ENTRY)
    );
    let mut meta = ConstraintSystem::<Fp>::default();
    SignaturesCircuit::configure(&mut meta);
    assert_eq!(meta.degree(), 9);
    assert!(meta.blinding_factors() < BLINDING_ROWS);
    let capacities: Vec<usize> = (K_MIN..=K_MAX).map(capacity_for).collect();
    assert_eq!(capacities, [8, 16, 32, 66, 132]);
    assert_eq!(capacity_for(K_MIN - 1), 0);
    assert_eq!(
        [1, 8, 9, 132, 133].map(k_for),
        [Some(11), Some(11), Some(12), Some(15), None]
    );
}

/// A real proof of one signature (with padding) at `K_MIN` verifies and has the pinned size;
/// it fails with any public input changed, and a forged signature's proof is refused.
#[test]
fn a_real_proof_verifies_and_fails_with_any_public_input_changed() {
    let params = Params::<vesta::Affine>::new(K_MIN);
    let keys = SignatureKeys::new(&params, 2).unwrap();
    let signed = signed(1);
    let entries = public(&signed);
    let rng = || rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let proof = prove(&params, &keys, &signed, rng()).unwrap();
    assert_eq!(proof.len(), 4128);
    verify(&params, keys.vk(), &entries, 2, &proof).unwrap();

    let column = instance(&entries, 2);
    for i in 0..column.len() {
        let mut changed = column.clone();
        changed[i] += Fp::ONE;
        assert!(
            crate::verifying::verify_one(&params, keys.vk(), &changed, &proof).is_err(),
            "public input {i} changed"
        );
    }
    assert!(matches!(
        verify(&params, keys.vk(), &public(&self::signed(2)), 2, &proof),
        Err(SignatureProofError::Invalid)
    ));

    let mut forged = signed.clone();
    forged[0].1.s += pallas::Scalar::ONE;
    let proof = prove(&params, &keys, &forged, rng()).unwrap();
    assert!(matches!(
        verify(&params, keys.vk(), &entries, 2, &proof),
        Err(SignatureProofError::Invalid)
    ));
    assert!(matches!(
        prove(&params, &keys, &self::signed(3), rng()),
        Err(SignatureProofError::OverCapacity {
            signatures: 3,
            capacity: 2
        })
    ));
}
