//! Keys, proofs and verification of the chunk statement (IPA over the Pasta curves: no
//! trusted setup). Parameters are made once and cached on disk by the caller
//! ([`crate::params`]); keys are made once per process and chunk size.

use halo2_proofs::plonk::{self, keygen_pk, keygen_vk, ProvingKey, SingleVerifier, VerifyingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use pasta_curves::vesta;

use super::witness::ChunkWitness;
use super::{ChunkCircuit, Instance};

/// Why a chunk proof cannot be made or does not verify.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// halo2 refused to make keys or a proof (for example, the chunk does not fit in `k`).
    #[error("halo2: {0}")]
    Halo2(#[from] plonk::Error),
    /// The proof does not verify against the public inputs.
    #[error("the chunk proof does not verify against its public inputs")]
    Invalid,
    /// The witness has another number of slots than the keys.
    #[error("the keys are for chunks of {keys} slots, the witness has {witness}")]
    SlotMismatch {
        /// Slots the keys were made for.
        keys: usize,
        /// Slots in the witness.
        witness: usize,
    },
}

/// Proving and verifying keys of the chunk circuit for one chunk size.
#[derive(Debug)]
pub struct ChunkKeys {
    slots: usize,
    pk: ProvingKey<vesta::Affine>,
}

impl ChunkKeys {
    /// Makes the keys for chunks of `slots` slots.
    pub fn setup(params: &Params<vesta::Affine>, slots: usize) -> Result<Self, ProofError> {
        let blank = ChunkCircuit::blank(slots);
        let vk = keygen_vk(params, &blank)?;
        let pk = keygen_pk(params, vk, &blank)?;
        Ok(ChunkKeys { slots, pk })
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
    if witness.slots.len() != keys.slots {
        return Err(ProofError::SlotMismatch {
            keys: keys.slots,
            witness: witness.slots.len(),
        });
    }
    let column = instance.to_halo2();
    let mut transcript = Blake2bWrite::<_, vesta::Affine, Challenge255<_>>::init(vec![]);
    plonk::create_proof(
        params,
        &keys.pk,
        &[ChunkCircuit::new(witness)],
        &[&[&column]],
        rng,
        &mut transcript,
    )?;
    Ok(transcript.finalize())
}

/// Verifies a chunk proof against its public inputs.
pub fn verify(
    params: &Params<vesta::Affine>,
    vk: &VerifyingKey<vesta::Affine>,
    instance: &Instance,
    proof: &[u8],
) -> Result<(), ProofError> {
    let column = instance.to_halo2();
    let mut transcript = Blake2bRead::<_, vesta::Affine, Challenge255<_>>::init(proof);
    plonk::verify_proof(
        params,
        vk,
        SingleVerifier::new(params),
        &[&[&column]],
        &mut transcript,
    )
    .map_err(|_| ProofError::Invalid)
}
