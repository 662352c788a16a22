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
        1_006_461,
        "d07948841ebb8a9a631c559a3a4305fe",
    ),
    (
        Family::Registry,
        988_429,
        "259a4381c8610af6cff24e989e8d32e7",
    ),
    (Family::Market, 905_241, "9b06460188c07e57e2f8c009c1e14cbf"),
    (
        Family::Governance,
        910_070,
        "6c81f0e9195a301e0a2010f6d3faed7b",
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
