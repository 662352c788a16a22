//! The signature statement: each of `capacity` public entries `(PK, d)` carries a Schnorr
//! signature `(R, s)` by `PK`, `s·G = R + c·PK` with `c = Poseidon(SIGNATURE, R, d)`, where `d =
//! Poseidon(SIGNED, PK, m)` is the key and message's digest ([`crate::keys`]).
//!
//! This is the signature check of the chunk circuits, moved into a proof of its own: the
//! ECC gadgets' gates cost a chunk proof more than half of its gate evaluations for an eighth
//! of a slot's rows (README, "What each gate costs"), and in a circuit that holds only
//! signatures they cost in proportion to the signatures. A chunk exposes, per slot, the key
//! its signed transaction was checked against (`signed · key`); the verifier computes each
//! signed transaction's message from the published data, and supplies the same keys, in
//! order, and each key's digest with its message as this proof's public inputs. Both proofs
//! verifying against the same values is the binding: the key the chunk read from the state
//! signed that data. The digest is computed by the verifier (one hash of public values per
//! signature), so the circuit hashes only the challenge: one permutation where the hash of
//! `(R, PK, m)` took two, and eight signatures fit a `k = 11` proof instead of seven.
//!
//! Public inputs, per entry `i`: `PK.x` at `3i`, `PK.y` at `3i + 1`, `d` at `3i + 2`.
//! Entries beyond the signatures being proven are [`Entry::padding`]: a fixed key's
//! signature on message 0, which binds nothing (no chunk slot exposes that key's pairs).
//!
//! Layout of one entry (rows in the ten advice columns; `K_MIN` for the lookup table):
//!
//! | region | rows |
//! | --- | --- |
//! | `PK`, `R` witnessed on the curve, not the identity | 2 |
//! | the digest and the `SIGNATURE` tag | 1 |
//! | the challenge: one width-5 hash of four words, one permutation | 15 |
//! | `c·PK` (variable base), `R + c·PK`, `s·G` (fixed base, full width) | 230 |

use std::sync::LazyLock;

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{
    self, keygen_pk, keygen_vk, Advice, Circuit, Column, ConstraintSystem, Error, Fixed,
    Instance as InstanceColumn, ProvingKey, VerifyingKey,
};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bWrite, Challenge255};
use pasta_curves::vesta;

use crate::constants::domain;
use crate::hash::{tag, Fp};
use crate::keys::{signed_digest, PublicKey, SecretKey, Signature};
use crate::poseidon::{PoseidonConfig, FIXED};
use crate::schnorr::{self, SchnorrConfig};

/// Public inputs per entry: `PK.x`, `PK.y`, the key and message's digest.
pub const ENTRY_LEN: usize = 3;

/// Rows one entry uses (pinned by a test).
pub const ROWS_PER_ENTRY: usize = 248;

/// Rows halo2 keeps for blinding at the end of every column, with margin (as the chunks').
pub const BLINDING_ROWS: usize = 16;

/// The smallest `k`: the 10-bit range-check table alone takes 1,024 rows.
pub const K_MIN: u32 = 11;

/// The largest `k` a signature proof is made at (the prover splits more signatures over
/// several proofs).
pub const K_MAX: u32 = 15;

/// A signed pair the verifier knows: the key a chunk exposed and the message it computes
/// from the published transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The signer's key.
    pub key: PublicKey,
    /// The signed message.
    pub message: Fp,
}

/// The key, message and signature of [`Entry::padding`].
static PADDING: LazyLock<(Entry, Signature)> = LazyLock::new(|| {
    let sk = SecretKey::from_seed(b"city-rollup signature padding");
    let message = Fp::zero();
    (
        Entry {
            key: sk.public_key(),
            message,
        },
        sk.sign(message),
    )
});

impl Entry {
    /// The entry that fills a proof's unused capacity: a fixed key's signature on message 0.
    pub fn padding() -> Entry {
        PADDING.0
    }

    /// The key and message's digest `Poseidon(SIGNED, PK.x, PK.y, m)`, which the challenge
    /// hashes.
    pub fn digest(&self) -> Fp {
        signed_digest(&self.key, self.message)
    }

    /// The entry's public inputs, `[PK.x, PK.y, d]`.
    pub fn public_inputs(&self) -> [Fp; ENTRY_LEN] {
        let (x, y) = self.key.coordinates();
        [x, y, self.digest()]
    }
}

/// Entries that fit a proof at `k` (0 below [`K_MIN`]).
pub fn capacity_for(k: u32) -> usize {
    if k < K_MIN {
        return 0;
    }
    ((1usize << k) - BLINDING_ROWS) / ROWS_PER_ENTRY
}

/// The smallest `k` from [`K_MIN`] whose proof holds `count` entries, or `None` above
/// [`K_MAX`]'s capacity.
pub fn k_for(count: usize) -> Option<u32> {
    (K_MIN..=K_MAX).find(|&k| capacity_for(k) >= count)
}

/// The public inputs of a proof of `capacity` entries over `entries`, padded.
///
/// # Panics
/// If there are more entries than `capacity`.
pub fn instance(entries: &[Entry], capacity: usize) -> Vec<Fp> {
    assert!(entries.len() <= capacity, "more entries than capacity");
    let padding = Entry::padding();
    entries
        .iter()
        .chain(std::iter::repeat(&padding))
        .take(capacity)
        .flat_map(Entry::public_inputs)
        .collect()
}

/// The configuration of [`SignaturesCircuit`].
#[derive(Clone, Debug)]
pub struct SignaturesConfig {
    advice: [Column<Advice>; 10],
    instance: Column<InstanceColumn>,
    poseidon: PoseidonConfig<5>,
    schnorr: SchnorrConfig,
}

/// `capacity` signature checks, each against its public `(PK, d)`.
#[derive(Clone, Debug)]
pub struct SignaturesCircuit {
    entries: Vec<Value<(Entry, Signature)>>,
}

impl SignaturesCircuit {
    /// The circuit's shape for `capacity` entries, no witness (for keys).
    pub fn blank(capacity: usize) -> Self {
        SignaturesCircuit {
            entries: vec![Value::unknown(); capacity],
        }
    }

    /// The circuit proving `signed`, padded to `capacity`.
    ///
    /// # Panics
    /// If there are more signatures than `capacity`.
    pub fn new(signed: &[(Entry, Signature)], capacity: usize) -> Self {
        assert!(signed.len() <= capacity, "more signatures than capacity");
        let entries = signed
            .iter()
            .chain(std::iter::repeat(&*PADDING))
            .take(capacity)
            .map(|e| Value::known(*e))
            .collect();
        SignaturesCircuit { entries }
    }

    /// Entries the circuit checks.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }
}

impl Circuit<Fp> for SignaturesCircuit {
    type Config = SignaturesConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        SignaturesCircuit::blank(self.entries.len())
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> SignaturesConfig {
        let advice: [Column<Advice>; 10] = std::array::from_fn(|_| meta.advice_column());
        let fixed: [Column<Fixed>; 8] = std::array::from_fn(|_| meta.fixed_column());
        let own: [Column<Fixed>; FIXED - 7] = std::array::from_fn(|_| meta.fixed_column());
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        for col in advice {
            meta.enable_equality(col);
        }
        // The Poseidon chip's round constants share the ECC chip's Lagrange columns (each
        // chip writes them only in its own regions), as in the chunk circuits.
        let round_constants: [Column<Fixed>; FIXED] =
            std::array::from_fn(|i| if i < 7 { fixed[1 + i] } else { own[i - 7] });
        let poseidon = PoseidonConfig::<5>::configure(meta, advice, round_constants);
        let table_idx = meta.lookup_table_column();
        let schnorr = SchnorrConfig::configure(meta, advice, fixed, fixed[0], table_idx);
        SignaturesConfig {
            advice,
            instance,
            poseidon,
            schnorr,
        }
    }

    fn synthesize(
        &self,
        config: SignaturesConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        config.schnorr.load_range_check_table(&mut layouter)?;
        let ecc = config.schnorr.ecc_chip();
        for (i, entry) in self.entries.iter().enumerate() {
            let mut layouter = layouter.namespace(|| format!("entry {i}"));
            let pk = schnorr::witness_public_key(
                &ecc,
                layouter.namespace(|| "PK"),
                entry.map(|(e, _)| e.key),
            )?;
            let r =
                schnorr::witness_point(&ecc, layouter.namespace(|| "R"), entry.map(|(_, s)| s.r))?;
            let (pk_x, pk_y) = schnorr::coordinates(&pk);
            let (r_x, r_y) = schnorr::coordinates(&r);
            let (digest, tag) = layouter.assign_region(
                || "digest and SIGNATURE tag",
                |mut region| {
                    let digest = region.assign_advice(
                        || "digest",
                        config.advice[0],
                        0,
                        || entry.map(|(e, _)| e.digest()),
                    )?;
                    let tag = region.assign_advice_from_constant(
                        || "SIGNATURE",
                        config.advice[1],
                        0,
                        tag(domain::SIGNATURE),
                    )?;
                    Ok((digest, tag))
                },
            )?;
            let challenge = config.poseidon.hash(
                layouter.namespace(|| "challenge"),
                [tag, r_x, r_y, digest.clone()],
            )?;
            schnorr::verify_signature(
                &ecc,
                layouter.namespace(|| "signature"),
                &pk,
                &r,
                challenge,
                entry.map(|(_, s)| s.s),
            )?;
            let row = ENTRY_LEN * i;
            layouter.constrain_instance(pk_x.cell(), config.instance, row)?;
            layouter.constrain_instance(pk_y.cell(), config.instance, row + 1)?;
            layouter.constrain_instance(digest.cell(), config.instance, row + 2)?;
        }
        Ok(())
    }
}

/// Why a signature proof cannot be made or does not verify.
#[derive(Debug, thiserror::Error)]
pub enum SignatureProofError {
    /// halo2 refused to make keys or a proof.
    #[error("halo2: {0}")]
    Halo2(#[from] plonk::Error),
    /// More signatures than the keys' capacity.
    #[error("{signatures} signatures do not fit a proof of {capacity}")]
    OverCapacity {
        /// Signatures given.
        signatures: usize,
        /// The keys' capacity.
        capacity: usize,
    },
    /// The proof does not verify against the entries.
    #[error("the signature proof does not verify against its keys and messages")]
    Invalid,
}

/// Proving and verifying keys of the signature circuit of one capacity.
#[derive(Debug)]
pub struct SignatureKeys {
    capacity: usize,
    pk: ProvingKey<vesta::Affine>,
}

impl SignatureKeys {
    /// Makes the keys for proofs of `capacity` entries (at `params`' `k`).
    pub fn new(params: &Params<vesta::Affine>, capacity: usize) -> Result<Self, Error> {
        let blank = SignaturesCircuit::blank(capacity);
        let vk = keygen_vk(params, &blank)?;
        let pk = keygen_pk(params, vk, &blank)?;
        Ok(SignatureKeys { capacity, pk })
    }

    /// Entries per proof.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<vesta::Affine> {
        self.pk.get_vk()
    }
}

/// The verifying key of the signature circuit of `capacity` entries.
pub fn verifying_key(
    params: &Params<vesta::Affine>,
    capacity: usize,
) -> Result<VerifyingKey<vesta::Affine>, Error> {
    keygen_vk(params, &SignaturesCircuit::blank(capacity))
}

/// Proves `signed` (padded to the keys' capacity).
pub fn prove(
    params: &Params<vesta::Affine>,
    keys: &SignatureKeys,
    signed: &[(Entry, Signature)],
    rng: impl rand_core::Rng,
) -> Result<Vec<u8>, SignatureProofError> {
    if signed.len() > keys.capacity {
        return Err(SignatureProofError::OverCapacity {
            signatures: signed.len(),
            capacity: keys.capacity,
        });
    }
    let entries: Vec<Entry> = signed.iter().map(|(e, _)| *e).collect();
    let column = instance(&entries, keys.capacity);
    let mut transcript = Blake2bWrite::<_, vesta::Affine, Challenge255<_>>::init(vec![]);
    plonk::create_proof(
        params,
        &keys.pk,
        &[SignaturesCircuit::new(signed, keys.capacity)],
        &[&[&column]],
        rng,
        &mut transcript,
    )?;
    Ok(transcript.finalize())
}

/// Verifies a signature proof of `capacity` entries over `entries` (padded).
pub fn verify(
    params: &Params<vesta::Affine>,
    vk: &VerifyingKey<vesta::Affine>,
    entries: &[Entry],
    capacity: usize,
    proof: &[u8],
) -> Result<(), SignatureProofError> {
    if entries.len() > capacity {
        return Err(SignatureProofError::OverCapacity {
            signatures: entries.len(),
            capacity,
        });
    }
    crate::verifying::verify_one(params, vk, &instance(entries, capacity), proof)
        .map_err(|_| SignatureProofError::Invalid)
}

#[cfg(test)]
mod tests;
