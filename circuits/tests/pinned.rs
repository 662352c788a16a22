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
        439_446,
        "69e13728fd3cfa8272f169201e935b21",
    ),
    (
        Family::Registry,
        415_853,
        "e3c070cf0ef4294c16ca0708e3e04856",
    ),
    (Family::Market, 332_324, "4e0fae8f315274616e1cae3edb1e05e1"),
    (
        Family::Governance,
        338_919,
        "f453139b0888531246ea38b5ed2506de",
    ),
];

/// The length of a verifying key's pinned description and its BLAKE2b-128 digest (hex).
fn described(vk: &halo2_proofs::plonk::VerifyingKey<vesta::Affine>) -> (usize, String) {
    let pinned = format!("{:#?}", vk.pinned());
    let digest = blake2b_simd::Params::new()
        .hash_length(16)
        .hash(pinned.as_bytes())
        .to_hex()
        .to_string();
    (pinned.len(), digest)
}

#[test]
fn every_chunk_circuits_verifying_key_is_pinned() {
    let mut params: BTreeMap<u32, Params<vesta::Affine>> = BTreeMap::new();
    let mut found = Vec::new();
    for (family, _, _) in PINNED {
        let k = family.k_for(1);
        let params = params.entry(k).or_insert_with(|| Params::new(k));
        let vk = proof::verifying_key(params, family, 1).expect("a verifying key");
        let (len, digest) = described(&vk);
        found.push((family, len, digest));
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

/// `(length, BLAKE2b-128)` of the signature circuit's pinned verifying key description at
/// its smallest size (`K_MIN`, seven entries).
const SIGNATURES_PINNED: (usize, &str) = (614_753, "73df385f5d9cfbe5976ca3e74ae478bc");

#[test]
fn the_signature_circuits_verifying_key_is_pinned() {
    use circuits::signatures;
    let k = signatures::K_MIN;
    let params = Params::<vesta::Affine>::new(k);
    let vk = signatures::verifying_key(&params, signatures::capacity_for(k)).unwrap();
    let (len, digest) = described(&vk);
    assert_eq!(
        (len, digest.as_str()),
        SIGNATURES_PINNED,
        "the signature circuit changed: update SIGNATURES_PINNED deliberately, with the reason in the commit"
    );
}
