//! Zcash's Orchard action circuit, proved in the same run as our chunks: the peer the
//! product's proving targets are set against.
//!
//! `orchard` 0.16 is built on exactly our `halo2_proofs`, `halo2_gadgets` and `pasta_curves`,
//! so the two are measured with the same proving system, the same field arithmetic and the
//! same thread pools. A bundle of `n` outputs has `n` actions (one circuit instance each, all
//! in one proof), as a wallet's transaction would; its time divided by `n` is the time per
//! action that our time per transaction is compared with.

use orchard::builder::{Builder, BundleType, InProgress, Unauthorized, Unproven};
use orchard::bundle::{BundleVersion, Flags};
use orchard::circuit::{Instance, OrchardCircuitVersion, ProvingKey, VerifyingKey};
use orchard::keys::{FullViewingKey, Scope, SpendingKey};
use orchard::value::NoteValue;
use orchard::{Anchor, Bundle};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Orchard's proving and verifying keys (the circuit after NU6.2), made once.
pub struct OrchardKeys {
    pk: ProvingKey,
    vk: VerifyingKey,
}

impl OrchardKeys {
    /// Makes both keys (Orchard's circuit has fixed parameters, `k = 11`).
    pub fn build() -> OrchardKeys {
        OrchardKeys {
            pk: ProvingKey::build(OrchardCircuitVersion::FixedPostNu6_2),
            vk: VerifyingKey::build(OrchardCircuitVersion::FixedPostNu6_2),
        }
    }
}

/// An unproven bundle of honest actions and their public inputs.
pub struct OrchardBundle {
    bundle: Bundle<InProgress<Unproven, Unauthorized>, i64>,
    instances: Vec<Instance>,
}

impl OrchardBundle {
    /// A bundle paying `actions` outputs of 10 zatoshi to one address (Orchard pads a
    /// bundle to at least two actions).
    ///
    /// # Panics
    /// If Orchard's builder refuses it (it does not for one to a few hundred outputs).
    pub fn outputs(actions: usize, seed: u64) -> OrchardBundle {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let sk = SpendingKey::from_bytes([7; 32]).expect("a spending key");
        let recipient = FullViewingKey::from(&sk).address_at(0u32, Scope::External);
        let version = BundleVersion::orchard_v2();
        let mut builder = Builder::new(
            BundleType::DEFAULT,
            version,
            version.default_flags(),
            Anchor::from_bytes([0; 32]).expect("the empty anchor"),
        )
        .expect("a builder");
        for _ in 0..actions {
            builder
                .add_output(None, recipient, NoteValue::from_raw(10), [0; 512])
                .expect("an output");
        }
        let bundle: Bundle<_, i64> = builder
            .build(&mut rng)
            .expect("a bundle")
            .expect("some actions")
            .0;
        let flags: Flags = *bundle.flags();
        let anchor = *bundle.anchor();
        let instances = bundle
            .actions()
            .iter()
            .map(|a| a.to_instance(flags, anchor))
            .collect();
        OrchardBundle { bundle, instances }
    }

    /// Actions in the bundle.
    pub fn actions(&self) -> usize {
        self.instances.len()
    }

    /// Proves every action in one proof on the current thread pool and returns its bytes.
    ///
    /// # Panics
    /// If proving fails (it does not for an honest bundle).
    pub fn prove(&self, keys: &OrchardKeys, seed: u64) -> OrchardProof {
        let proof = self
            .bundle
            .authorization()
            .create_proof(&keys.pk, &self.instances, ChaCha20Rng::seed_from_u64(seed))
            .expect("an honest Orchard bundle proves");
        OrchardProof(proof)
    }

    /// Whether `proof` verifies for this bundle's public inputs.
    pub fn verify(&self, keys: &OrchardKeys, proof: &OrchardProof) -> bool {
        proof.0.verify(&keys.vk, &self.instances).is_ok()
    }
}

/// An Orchard proof of a whole bundle.
pub struct OrchardProof(orchard::circuit::Proof);

impl OrchardProof {
    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.0.as_ref().len()
    }

    /// Whether it is empty (never, for a proof made here).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-action bundle proves and verifies, and the proof does not verify for another
    /// bundle's public inputs (the measurement proves real statements).
    #[test]
    fn a_bundle_proves_and_verifies_for_its_own_inputs_only() {
        let keys = OrchardKeys::build();
        let bundle = OrchardBundle::outputs(2, 1);
        assert_eq!(bundle.actions(), 2);
        let proof = bundle.prove(&keys, 1);
        assert!(!proof.is_empty());
        assert!(bundle.verify(&keys, &proof));
        let other = OrchardBundle::outputs(2, 2);
        assert!(!other.verify(&keys, &proof));
    }
}
