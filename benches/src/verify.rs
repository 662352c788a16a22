//! Chunk proofs of a batch artifact verified on their own (no replay, no ballots): one by
//! one, batched per circuit (family and chunk size) as the verifier's step 6 does
//! (`circuits::verifying::verify_many`), or with halo2's own `BatchVerifier` per circuit,
//! which that replaced (for the comparison). The verifier's `Keys` keep their parameters private, so this holds
//! its own, read from the same cache.

use std::collections::BTreeMap;
use std::path::Path;

use circuits::chunk::{proof, Family};
use circuits::Params as RuleParams;
use halo2_proofs::plonk::{BatchVerifier, VerifyingKey};
use halo2_proofs::poly::commitment::Params;
use pasta_curves::vesta;
use verifier::BatchArtifact;

/// Parameters and verifying keys of the chunk circuits an artifact uses.
pub struct ChunkVerifier {
    params: BTreeMap<u32, Params<vesta::Affine>>,
    vks: BTreeMap<(Family, usize), VerifyingKey<vesta::Affine>>,
    chain: circuits::Fp,
    rules: RuleParams,
}

impl ChunkVerifier {
    /// Reads the parameters (from the cache under `params_dir`, made the first time) and
    /// makes the verifying keys of every circuit `artifact` uses; `chain` (the genesis hash)
    /// and `rules` (the genesis rule parameters) are public inputs of every chunk.
    ///
    /// # Panics
    /// If the parameters cannot be read or made, or a key cannot be made.
    pub fn for_artifact(
        params_dir: &Path,
        artifact: &BatchArtifact,
        chain: circuits::Fp,
        rules: RuleParams,
    ) -> Self {
        let mut v = ChunkVerifier {
            params: BTreeMap::new(),
            vks: BTreeMap::new(),
            chain,
            rules,
        };
        for c in &artifact.chunks {
            let k = c.family.k_for(c.slots);
            let params = v.params.entry(k).or_insert_with(|| {
                circuits::params::load_or_make(params_dir, k, |_| {})
                    .expect("parameters")
                    .params
            });
            if let std::collections::btree_map::Entry::Vacant(e) = v.vks.entry((c.family, c.slots))
            {
                e.insert(proof::verifying_key(params, c.family, c.slots).expect("a verifying key"));
            }
        }
        v
    }

    /// Each chunk proof of `artifact` with its circuit and its chunks' instance columns.
    fn claims<'a>(
        &self,
        artifact: &'a BatchArtifact,
    ) -> impl Iterator<Item = ((Family, usize), Vec<Vec<circuits::Fp>>, &'a [u8])> + use<'a, '_>
    {
        artifact.chunk_proofs.iter().map(move |p| {
            let lead = &artifact.chunks[p.chunks[0]];
            let columns = p
                .chunks
                .iter()
                .map(|&c| {
                    artifact.chunks[c]
                        .instance(artifact.time, self.chain, &self.rules)
                        .to_halo2()
                })
                .collect();
            ((lead.family, lead.slots), columns, &p.proof[..])
        })
    }

    /// Verifies every chunk proof of `artifact` batched per circuit, as the verifier does;
    /// returns whether all hold.
    pub fn batched(&self, artifact: &BatchArtifact) -> bool {
        let mut groups: BTreeMap<(Family, usize), Vec<circuits::verifying::GroupClaim<'_>>> =
            BTreeMap::new();
        for (circuit, columns, proof) in self.claims(artifact) {
            groups.entry(circuit).or_default().push((columns, proof));
        }
        groups.into_iter().all(|((family, slots), proofs)| {
            circuits::verifying::verify_groups(
                &self.params[&family.k_for(slots)],
                &self.vks[&(family, slots)],
                &proofs,
            )
        })
    }

    /// Verifies every chunk proof of `artifact` with one halo2 `BatchVerifier` per
    /// circuit; returns whether all hold.
    pub fn halo2_batched(&self, artifact: &BatchArtifact) -> bool {
        let mut groups: BTreeMap<(Family, usize), BatchVerifier<vesta::Affine>> = BTreeMap::new();
        for (circuit, columns, proof) in self.claims(artifact) {
            let instances = columns.into_iter().map(|c| vec![c]).collect();
            groups
                .entry(circuit)
                .or_default()
                .add_proof(instances, proof.to_vec());
        }
        groups.into_iter().all(|((family, slots), batch)| {
            batch.finalize(
                &self.params[&family.k_for(slots)],
                &self.vks[&(family, slots)],
            )
        })
    }

    /// Verifies every chunk proof of `artifact` one after another; returns whether all hold.
    pub fn one_by_one(&self, artifact: &BatchArtifact) -> bool {
        self.claims(artifact)
            .all(|((family, slots), columns, proof)| {
                circuits::verifying::verify_group(
                    &self.params[&family.k_for(slots)],
                    &self.vks[&(family, slots)],
                    &columns,
                    proof,
                )
                .is_ok()
            })
    }
}
