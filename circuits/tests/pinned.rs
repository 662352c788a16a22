//! The verifying key of every family's chunk circuit, pinned (as Orchard pins its circuit's
//! description): a digest of the key's pinned description (the constraint system, its gates
//! and their names, the fixed and permutation commitments) at one slot. Any change to a gate,
//! a column, a lookup or a fixed table changes it, so a circuit change is always deliberate:
//! update the digests here in the same commit, saying why.

use std::collections::BTreeMap;

use circuits::chunk::{proof, Family};
use halo2_proofs::poly::commitment::Params;
use pasta_curves::vesta;

/// `(length, BLAKE2b-128)` of each family's pinned verifying key description at one slot.
const PINNED: [(Family, usize, &str); 4] = [
    (
        Family::Accounts,
        1_105_823,
        "3ed682df7eeb84f279d58762b6e3c6df",
    ),
    (
        Family::Registry,
        1_087_791,
        "7a165ea21bb91fe863b03ba9fbb0c19c",
    ),
    (
        Family::Market,
        1_004_603,
        "b4995a33e1c0f62a44ef2bdfe775be6f",
    ),
    (
        Family::Governance,
        1_009_432,
        "e156c67979ab3f81f50bb64043767f0a",
    ),
];

#[test]
fn every_chunk_circuits_verifying_key_is_pinned() {
    let mut params: BTreeMap<u32, Params<vesta::Affine>> = BTreeMap::new();
    let mut found = Vec::new();
    for (family, _, _) in PINNED {
        let k = family.k_for(1);
        let params = params.entry(k).or_insert_with(|| Params::new(k));
        let vk = proof::verifying_key(params, family, 1).expect("a verifying key");
        let pinned = format!("{:#?}", vk.pinned());
        let digest = blake2b_simd::Params::new()
            .hash_length(16)
            .hash(pinned.as_bytes())
            .to_hex()
            .to_string();
        found.push((family, pinned.len(), digest));
    }
    let expected: Vec<_> = PINNED
        .iter()
        .map(|(f, len, digest)| (*f, *len, digest.to_string()))
        .collect();
    assert_eq!(
        found, expected,
        "a chunk circuit changed: update PINNED deliberately, with the reason in the commit"
    );
}
