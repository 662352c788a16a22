//! Keys, proofs and verification of the chunk statement (IPA over the Pasta curves: no
//! trusted setup). Parameters are made once and cached on disk by the caller
//! ([`crate::params`]); keys are made once per process and chunk size.

use halo2_proofs::plonk::{self, keygen_pk, keygen_vk, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bWrite, Challenge255};
use pasta_curves::vesta;

use super::family::Family;
use super::witness::ChunkWitness;
use super::{AccountsCircuit, GovernanceCircuit, Instance, MarketCircuit, RegistryCircuit};
use crate::Fp;

/// Why a chunk proof cannot be made or does not verify.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// halo2 refused to make keys or a proof (for example, the chunk does not fit in `k`).
    #[error("halo2: {0}")]
    Halo2(#[from] plonk::Error),
    /// The proof does not verify against the public inputs.
    #[error("the chunk proof does not verify against its public inputs")]
    Invalid,
    /// The witness is of another family than the keys.
    #[error("the keys are for {keys} chunks, the witness is a {witness} chunk")]
    FamilyMismatch {
        /// The keys' family.
        keys: Family,
        /// The witness's family.
        witness: Family,
    },
    /// The witness has another number of slots than the keys.
    #[error("the keys are for chunks of {keys} slots, the witness has {witness}")]
    SlotMismatch {
        /// Slots the keys were made for.
        keys: usize,
        /// Slots in the witness.
        witness: usize,
    },
}

/// Proving and verifying keys of one family's chunk circuit for one chunk size.
#[derive(Debug)]
pub struct ChunkKeys {
    family: Family,
    slots: usize,
    pk: ProvingKey<vesta::Affine>,
}

/// Runs `$body` with `$blank` bound to the blank circuit of `$family` with `$slots` slots.
macro_rules! with_blank {
    ($family:expr, $slots:expr, |$blank:ident| $body:expr) => {
        match $family {
            Family::Accounts => {
                let $blank = AccountsCircuit::blank($slots);
                $body
            }
            Family::Registry => {
                let $blank = RegistryCircuit::blank($slots);
                $body
            }
            Family::Market => {
                let $blank = MarketCircuit::blank($slots);
                $body
            }
            Family::Governance => {
                let $blank = GovernanceCircuit::blank($slots);
                $body
            }
        }
    };
}

/// The verifying key of `family`'s circuit for chunks of `slots` slots.
pub fn verifying_key(
    params: &Params<vesta::Affine>,
    family: Family,
    slots: usize,
) -> Result<VerifyingKey<vesta::Affine>, ProofError> {
    Ok(with_blank!(family, slots, |blank| keygen_vk(
        params, &blank
    )?))
}

impl ChunkKeys {
    /// Makes the keys for `family`'s chunks of `slots` slots.
    pub fn for_family(
        params: &Params<vesta::Affine>,
        family: Family,
        slots: usize,
    ) -> Result<Self, ProofError> {
        let pk = with_blank!(family, slots, |blank| {
            let vk = keygen_vk(params, &blank)?;
            keygen_pk(params, vk, &blank)?
        });
        Ok(ChunkKeys { family, slots, pk })
    }

    /// The family whose circuit the keys are for.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Slots per chunk.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<vesta::Affine> {
        self.pk.get_vk()
    }
}

/// Proves a chunk.
pub fn prove(
    params: &Params<vesta::Affine>,
    keys: &ChunkKeys,
    witness: ChunkWitness,
    instance: &Instance,
    rng: impl rand_core::Rng,
) -> Result<Vec<u8>, ProofError> {
    prove_group(
        params,
        keys,
        vec![witness],
        std::slice::from_ref(instance),
        rng,
    )
}

/// Proves several chunks of one circuit in one proof (halo2's instances of a circuit: each
/// chunk its own witness and public inputs, one quotient commitment and one opening for
/// all, which at small `k` is about a third of a proof). `instances` are the chunks' public
/// inputs in the order of `witnesses`; the verifier must give them in that order.
pub fn prove_group(
    params: &Params<vesta::Affine>,
    keys: &ChunkKeys,
    witnesses: Vec<ChunkWitness>,
    instances: &[Instance],
    rng: impl rand_core::Rng,
) -> Result<Vec<u8>, ProofError> {
    assert_eq!(witnesses.len(), instances.len(), "one instance per witness");
    for witness in &witnesses {
        if witness.family != keys.family {
            return Err(ProofError::FamilyMismatch {
                keys: keys.family,
                witness: witness.family,
            });
        }
        if witness.slots.len() != keys.slots {
            return Err(ProofError::SlotMismatch {
                keys: keys.slots,
                witness: witness.slots.len(),
            });
        }
    }
    let columns: Vec<[Vec<Fp>; 1]> = instances.iter().map(|i| [i.to_halo2()]).collect();
    let column_refs: Vec<[&[Fp]; 1]> = columns.iter().map(|[c]| [&c[..]]).collect();
    let instances: Vec<&[&[Fp]]> = column_refs.iter().map(|c| &c[..]).collect();
    let mut transcript = Blake2bWrite::<_, vesta::Affine, Challenge255<_>>::init(vec![]);
    macro_rules! create {
        ($circuit:ident) => {
            plonk::create_proof(
                params,
                &keys.pk,
                &witnesses.into_iter().map($circuit::new).collect::<Vec<_>>(),
                &instances,
                rng,
                &mut transcript,
            )?
        };
    }
    match keys.family {
        Family::Accounts => create!(AccountsCircuit),
        Family::Registry => create!(RegistryCircuit),
        Family::Market => create!(MarketCircuit),
        Family::Governance => create!(GovernanceCircuit),
    }
    Ok(transcript.finalize())
}

/// Verifies a chunk proof against its public inputs.
pub fn verify(
    params: &Params<vesta::Affine>,
    vk: &VerifyingKey<vesta::Affine>,
    instance: &Instance,
    proof: &[u8],
) -> Result<(), ProofError> {
    crate::verifying::verify_one(params, vk, &instance.to_halo2(), proof)
        .map_err(|_| ProofError::Invalid)
}

/// Verifies a proof of several chunks ([`prove_group`]) against their public inputs, in the
/// order they were proven.
pub fn verify_group(
    params: &Params<vesta::Affine>,
    vk: &VerifyingKey<vesta::Affine>,
    instances: &[Instance],
    proof: &[u8],
) -> Result<(), ProofError> {
    let columns: Vec<Vec<Fp>> = instances.iter().map(Instance::to_halo2).collect();
    crate::verifying::verify_group(params, vk, &columns, proof).map_err(|_| ProofError::Invalid)
}
