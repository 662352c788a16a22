//! The anonymous ballot: a halo2 statement, with its own keys, that a voter proves on their
//! own machine.
//!
//! **Public** (the instance column, in this order): the voter root (the proposal's snapshot
//! of the voter tree), the proposal id, the ballot's nullifier, the vote's tally slot and the
//! ballot's sequence number.
//! **Private**: the voter's `nullifier_key` and `trapdoor`, and the Merkle path (siblings and
//! position digits) of their identity commitment.
//!
//! The circuit proves:
//! 1. `commitment = Poseidon(VOTER_COMMITMENT, nullifier_key, trapdoor)`;
//! 2. the commitment is a leaf of the voter tree (depth [`VOTERS_DEPTH`]) with the public
//!    root, with the node hash and child order of [`crate::merkle`] (arity 4);
//! 3. `nullifier = Poseidon(NULLIFIER, nullifier_key, proposal)`;
//! 4. the vote is a tally slot below `2^TALLY_SLOT_BITS`.
//!
//! The vote and the sequence number enter the proof only as public inputs, each copied into
//! an advice cell (the vote also range-checked), so they are bound: changing either changes
//! the instance and the proof no longer verifies. The sequence number is what makes a
//! replayed copy of an earlier ballot refusable: the rules let a ballot replace the current
//! ballot of its nullifier only with a higher number. The leaf position stays private; nothing
//! links two ballots of one voter but the root they share.
//!
//! Not checked here: that the root is the proposal's snapshot, that the proposal is open,
//! that the slot names an existing option or delegate, and nullifier uniqueness. These are
//! the rollup's native rules for a ballot.

mod slot;

use std::fmt;

use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    pasta::EqAffine,
    plonk::{
        self, create_proof, keygen_pk, keygen_vk, Advice, Circuit, Column, ConstraintSystem,
        Instance as InstanceColumn, ProvingKey, VerifyingKey,
    },
    poly::commitment::Params,
    transcript::{Blake2bWrite, Challenge255},
};

use crate::chunk::merkle::{MerkleUpdateChip, MerkleUpdateConfig};
use crate::constants::{domain, TALLY_SLOT_BITS, VOTERS_DEPTH};
use crate::hash::{tag, Fp};
use crate::merkle::MerklePath;
use crate::poseidon::{PoseidonConfig, FIXED};
use crate::voter::{nullifier, Vote, VoterSecret};
use slot::{SlotChip, SlotConfig};

/// The ballot circuit has `2^K` rows: the voter path's 12 arity-4 levels (a chain of
/// width-5 permutations, 15 rows each, each output row holding the next level's siblings and
/// digit; the leaf's row above them) and the two three-input hashes (one permutation of 15
/// rows each) on the ten-column Poseidon chip ([`crate::poseidon`]), the
/// vote's range check and the secrets: 216 rows (227 with a swap row above every level). (Binary paths took 341 rows, `K = 9`; on
/// two `Pow5Chip`s side by side 604 rows, `K = 10`.)
pub const K: u32 = 8;

/// Bytes of every ballot proof (pinned: it only changes with the circuit).
pub const PROOF_BYTES: usize = 3232;

/// Instance row of the voter root.
pub const VOTER_ROOT: usize = 0;
/// Instance row of the proposal id.
pub const PROPOSAL: usize = 1;
/// Instance row of the nullifier.
pub const NULLIFIER: usize = 2;
/// Instance row of the vote's tally slot.
pub const VOTE: usize = 3;
/// Instance row of the ballot's sequence number.
pub const SEQ: usize = 4;
/// Number of public inputs.
pub const PUBLIC_INPUTS: usize = 5;

/// Why a ballot cannot be proved or does not verify.
#[derive(Debug, thiserror::Error)]
pub enum BallotError {
    /// The Merkle path does not have one set of siblings per level of the voter tree.
    #[error("the voter path has {got} levels, the voter tree has {expected}")]
    WrongPathDepth {
        /// The voter tree's levels.
        expected: usize,
        /// Levels in the path.
        got: usize,
    },
    /// The path's position does not fit in the voter tree.
    #[error("position {index} does not fit in the voter tree")]
    PositionOutOfRange {
        /// The position.
        index: u64,
    },
    /// The vote has no tally slot of its own below `2^TALLY_SLOT_BITS` (a delegate beyond
    /// `MAX_DELEGATES`, or an option number at or past `MAX_OPTIONS`).
    #[error("vote {vote:?} has no tally slot of its own below 2^{TALLY_SLOT_BITS}")]
    VoteOutOfRange {
        /// The vote.
        vote: Vote,
    },
    /// The parameters are not those of the ballot circuit.
    #[error("parameters of 2^{got} rows given, the ballot circuit needs 2^{expected}")]
    WrongParams {
        /// The ballot circuit's `K`.
        expected: u32,
        /// The parameters' `k`.
        got: u32,
    },
    /// Key generation or proving failed (a bug or inconsistent keys, never bad input).
    #[error("ballot key generation or proving failed: {0}")]
    Proving(#[source] plonk::Error),
    /// The proof does not verify for this instance.
    #[error("the ballot proof does not verify: {0}")]
    InvalidProof(#[source] plonk::Error),
    /// A batch did not verify; the ballot at `index` is the first that fails alone.
    #[error("ballot {index} of the batch does not verify")]
    InvalidBallotInBatch {
        /// Position of the failing ballot in the batch.
        index: usize,
    },
    /// A batch did not verify although every ballot verifies alone (should not happen).
    #[error("the batch does not verify, yet each ballot does alone")]
    BatchRejected,
}

/// The public inputs of a ballot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instance {
    voter_root: Fp,
    proposal: u64,
    nullifier: Fp,
    vote: Vote,
    seq: u64,
}

impl Instance {
    /// The public inputs of a ballot with `nullifier` voting `vote` on `proposal` against
    /// the voter tree with `voter_root`, with sequence number `seq`.
    pub fn new(voter_root: Fp, proposal: u64, nullifier: Fp, vote: Vote, seq: u64) -> Self {
        Instance {
            voter_root,
            proposal,
            nullifier,
            vote,
            seq,
        }
    }

    /// The ballot's sequence number.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The voter root the ballot proves membership in.
    pub fn voter_root(&self) -> Fp {
        self.voter_root
    }

    /// The proposal voted on.
    pub fn proposal(&self) -> u64 {
        self.proposal
    }

    /// The ballot's nullifier.
    pub fn nullifier(&self) -> Fp {
        self.nullifier
    }

    /// The vote.
    pub fn vote(&self) -> Vote {
        self.vote
    }

    /// The instance column, rows in the order of the named offsets. The one place public
    /// inputs become field elements.
    pub fn to_halo2(&self) -> [Fp; PUBLIC_INPUTS] {
        let mut column = [Fp::zero(); PUBLIC_INPUTS];
        column[VOTER_ROOT] = self.voter_root;
        column[PROPOSAL] = Fp::from(self.proposal);
        column[NULLIFIER] = self.nullifier;
        // A vote beyond every slot encodes above 2^64 and fails the range check.
        column[VOTE] = self.vote.to_field();
        column[SEQ] = Fp::from(self.seq);
        column
    }
}

/// The columns and chips of the ballot circuit.
#[derive(Clone, Debug)]
pub(crate) struct BallotConfig {
    instance: Column<InstanceColumn>,
    poseidon: PoseidonConfig<5>,
    /// The voter path's levels: a swap row and a width-5 permutation each.
    merkle: MerkleUpdateConfig,
    slot: SlotConfig,
}

impl BallotConfig {
    fn slot_chip(&self) -> SlotChip {
        SlotChip::construct(self.slot.clone())
    }
}

/// The ballot circuit's witness. Built by [`prove`] from a voter's secret and path.
#[derive(Clone, Debug)]
pub(crate) struct BallotCircuit {
    nullifier_key: Value<Fp>,
    trapdoor: Value<Fp>,
    /// The voter commitment's path (arity 4, [`VOTERS_DEPTH`] bits).
    path: Value<MerklePath>,
}

impl BallotCircuit {
    fn new(secret: &VoterSecret, path: &MerklePath) -> Self {
        BallotCircuit {
            nullifier_key: Value::known(secret.nullifier_key),
            trapdoor: Value::known(secret.trapdoor),
            path: Value::known(path.clone()),
        }
    }
}

impl Circuit<Fp> for BallotCircuit {
    type Config = BallotConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        BallotCircuit {
            nullifier_key: Value::unknown(),
            trapdoor: Value::unknown(),
            path: Value::unknown(),
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> BallotConfig {
        // Ten advice columns, all equality-enabled, which the Poseidon chip uses in its rows
        // (a Merkle level's swap data in a6..a8 of its permutation's first row); the other
        // regions use them in rows of their own:
        //
        // | column | secrets (2 rows)      | vote range       |
        // |--------|-----------------------|------------------|
        // | a0     | nullifier_key; seq    | vote             |
        // | a1     | trapdoor; proposal    | bits             |
        // | a2     | the two domain tags   | bits             |
        // | a3, a4 |                       | bits             |
        //
        // Eleven fixed columns hold the chip's round constants, one more the constants
        // (domain tags, the sponges' capacity) that `assign_advice_from_constant` copies
        // into advice cells.
        let advice: [Column<Advice>; 10] = std::array::from_fn(|_| meta.advice_column());
        for column in advice {
            meta.enable_equality(column);
        }
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let round_constants: [_; FIXED] = std::array::from_fn(|_| meta.fixed_column());
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        let poseidon = PoseidonConfig::<5>::configure(meta, advice, round_constants);
        let merkle = MerkleUpdateChip::configure_path(meta, poseidon.clone());
        let slot = SlotChip::configure(
            meta,
            advice[0],
            [advice[1], advice[2], advice[3], advice[4]],
        );
        BallotConfig {
            instance,
            poseidon,
            merkle,
            slot,
        }
    }

    fn synthesize(
        &self,
        config: BallotConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), plonk::Error> {
        // Witnesses: the secrets, the domain tags as fixed constants, the public proposal.
        let (nullifier_key, trapdoor, commitment_tag, nullifier_tag, proposal) = layouter
            .assign_region(
                || "load secrets, tags, proposal and sequence number",
                |mut region| {
                    let [a0, a1, a2, ..] = config.poseidon.advice;
                    let nk =
                        region.assign_advice(|| "nullifier_key", a0, 0, || self.nullifier_key)?;
                    let trapdoor = region.assign_advice(|| "trapdoor", a1, 0, || self.trapdoor)?;
                    let commitment_tag = region.assign_advice_from_constant(
                        || "VOTER_COMMITMENT",
                        a2,
                        0,
                        tag(domain::VOTER_COMMITMENT),
                    )?;
                    let nullifier_tag = region.assign_advice_from_constant(
                        || "NULLIFIER",
                        a2,
                        1,
                        tag(domain::NULLIFIER),
                    )?;
                    let proposal = region.assign_advice_from_instance(
                        || "proposal",
                        config.instance,
                        PROPOSAL,
                        a1,
                        1,
                    )?;
                    // The sequence number is copied from the instance, which binds it.
                    region.assign_advice_from_instance(
                        || "sequence number",
                        config.instance,
                        SEQ,
                        a0,
                        1,
                    )?;
                    Ok((nk, trapdoor, commitment_tag, nullifier_tag, proposal))
                },
            )?;

        // commitment = Poseidon(VOTER_COMMITMENT, nullifier_key, trapdoor)
        let commitment = config.poseidon.hash(
            layouter.namespace(|| "commitment = Poseidon(VOTER_COMMITMENT, nk, trapdoor)"),
            [commitment_tag, nullifier_key.clone(), trapdoor],
        )?;

        // The commitment is a leaf of the voter tree with root `VOTER_ROOT`: per level, the
        // node and its three siblings placed by the position's digit, node = Poseidon_t5 of
        // the four children (15 rows a level).
        let node = MerkleUpdateChip::construct(config.merkle.clone()).root(
            layouter.namespace(|| "voter path"),
            self.path.as_ref(),
            VOTERS_DEPTH / 2,
            commitment,
        )?;
        layouter.constrain_instance(node.cell(), config.instance, VOTER_ROOT)?;

        // nullifier = Poseidon(NULLIFIER, nullifier_key, proposal), the public NULLIFIER.
        let nullifier = config.poseidon.hash(
            layouter.namespace(|| "nullifier = Poseidon(NULLIFIER, nk, proposal)"),
            [nullifier_tag, nullifier_key, proposal],
        )?;
        layouter.constrain_instance(nullifier.cell(), config.instance, NULLIFIER)?;

        // vote < 2^TALLY_SLOT_BITS: the public vote is copied in and decomposed.
        config
            .slot_chip()
            .assign(layouter.namespace(|| "vote range"), config.instance, VOTE)?;

        Ok(())
    }
}

/// Public parameters, proving key and verifying key of the ballot circuit. Made once (key
/// generation takes a while); the verifier needs only [`BallotKeys::params`] and
/// [`BallotKeys::verifying_key`].
pub struct BallotKeys {
    params: Params<EqAffine>,
    pk: ProvingKey<EqAffine>,
}

impl fmt::Debug for BallotKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BallotKeys {{ k: {} }}", self.params.k())
    }
}

/// Fresh public parameters of `2^K` rows for the ballot circuit. Deterministic (halo2's
/// setup is transparent), so prover and verifier make the same ones.
pub fn params() -> Params<EqAffine> {
    Params::new(K)
}

/// The ballot circuit without a witness, for key generation.
fn shape() -> BallotCircuit {
    BallotCircuit::without_witnesses(&BallotCircuit::new(
        &VoterSecret {
            nullifier_key: Fp::zero(),
            trapdoor: Fp::zero(),
        },
        &MerklePath::zeros(VOTERS_DEPTH),
    ))
}

impl BallotKeys {
    /// Generates the verifying and proving keys for `params` (which must have `2^K` rows).
    pub fn setup(params: Params<EqAffine>) -> Result<Self, BallotError> {
        let BallotVerifyingKey { params, vk } = BallotVerifyingKey::setup(params)?;
        let pk = keygen_pk(&params, vk, &shape()).map_err(BallotError::Proving)?;
        Ok(BallotKeys { params, pk })
    }

    /// The public parameters.
    pub fn params(&self) -> &Params<EqAffine> {
        &self.params
    }

    /// The verifying key: all a verifier needs besides the parameters.
    pub fn verifying_key(&self) -> &VerifyingKey<EqAffine> {
        self.pk.get_vk()
    }
}

/// What verifying ballots needs, and no more: the parameters and the verifying key (a
/// verifier makes no proving key).
pub struct BallotVerifyingKey {
    params: Params<EqAffine>,
    vk: VerifyingKey<EqAffine>,
}

impl fmt::Debug for BallotVerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BallotVerifyingKey {{ k: {} }}", self.params.k())
    }
}

impl BallotVerifyingKey {
    /// Generates the verifying key for `params` (which must have `2^K` rows).
    pub fn setup(params: Params<EqAffine>) -> Result<Self, BallotError> {
        check_params(&params)?;
        let vk = keygen_vk(&params, &shape()).map_err(BallotError::Proving)?;
        Ok(BallotVerifyingKey { params, vk })
    }

    /// The public parameters.
    pub fn params(&self) -> &Params<EqAffine> {
        &self.params
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey<EqAffine> {
        &self.vk
    }
}

/// A proved ballot: the proof and the public inputs it proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BallotProof {
    /// The public inputs.
    pub instance: Instance,
    /// The halo2 proof (Blake2b transcript).
    pub proof: Vec<u8>,
}

fn check_params(params: &Params<EqAffine>) -> Result<(), BallotError> {
    if params.k() == K {
        Ok(())
    } else {
        Err(BallotError::WrongParams {
            expected: K,
            got: params.k(),
        })
    }
}

/// The slot of `vote` if it fits in `TALLY_SLOT_BITS` bits and encodes this very vote
/// (`Option(n)` for `n >= MAX_OPTIONS` would alias a delegate's slot).
fn checked_slot(vote: Vote) -> Option<u64> {
    vote.slot()
        .filter(|slot| *slot < 1 << TALLY_SLOT_BITS && Vote::from_slot(*slot) == Some(vote))
}

/// Proves a ballot of the voter with `secret`, whose commitment sits at `path` in the voter
/// tree, voting `vote` on `proposal` with sequence number `seq` (higher than the voter's
/// current ballot on it, if any, for it to replace that one). The root and nullifier are
/// computed here from the secret and path, so the ballot is consistent by construction; it
/// verifies against the proposal's voter root only if the path is a true path of the
/// voter's commitment in it.
#[allow(clippy::too_many_arguments)]
pub fn prove(
    keys: &BallotKeys,
    secret: &VoterSecret,
    path: &MerklePath,
    proposal: u64,
    vote: Vote,
    seq: u64,
    rng: impl rand_core::Rng,
) -> Result<BallotProof, BallotError> {
    if path.siblings.len() != VOTERS_DEPTH / 2 {
        return Err(BallotError::WrongPathDepth {
            expected: VOTERS_DEPTH / 2,
            got: path.siblings.len(),
        });
    }
    if path.index >> VOTERS_DEPTH != 0 {
        return Err(BallotError::PositionOutOfRange { index: path.index });
    }
    if checked_slot(vote).is_none() {
        return Err(BallotError::VoteOutOfRange { vote });
    }
    let instance = Instance::new(
        path.compute_root(secret.commitment()),
        proposal,
        nullifier(secret.nullifier_key, proposal),
        vote,
        seq,
    );
    let circuit = BallotCircuit::new(secret, path);
    let column = instance.to_halo2();
    let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
    create_proof(
        &keys.params,
        &keys.pk,
        &[circuit],
        &[&[&column[..]]],
        rng,
        &mut transcript,
    )
    .map_err(BallotError::Proving)?;
    Ok(BallotProof {
        instance,
        proof: transcript.finalize(),
    })
}

/// Verifies one ballot proof against its public inputs.
pub fn verify(
    params: &Params<EqAffine>,
    vk: &VerifyingKey<EqAffine>,
    instance: &Instance,
    proof: &[u8],
) -> Result<(), BallotError> {
    check_params(params)?;
    crate::verifying::verify_one(params, vk, &instance.to_halo2(), proof)
        .map_err(BallotError::InvalidProof)
}

/// Verifies many ballots at once (one multi-scalar multiplication for the whole batch,
/// [`crate::verifying::verify_many`]). If the batch fails, the ballots are checked one by
/// one to name the first bad one.
pub fn verify_batch(
    params: &Params<EqAffine>,
    vk: &VerifyingKey<EqAffine>,
    ballots: &[(Instance, Vec<u8>)],
) -> Result<(), BallotError> {
    check_params(params)?;
    let claimed: Vec<_> = ballots
        .iter()
        .map(|(instance, proof)| (instance.to_halo2().to_vec(), &proof[..]))
        .collect();
    if crate::verifying::verify_many(params, vk, &claimed) {
        return Ok(());
    }
    for (index, (instance, proof)) in ballots.iter().enumerate() {
        if verify(params, vk, instance, proof).is_err() {
            return Err(BallotError::InvalidBallotInBatch { index });
        }
    }
    Err(BallotError::BatchRejected)
}

impl BallotProof {
    /// The anonymous ballot transaction that carries this proof: what a voter's client
    /// submits (no account, key or signature; the secret never leaves the voter's machine).
    pub fn into_transaction(self) -> crate::tx::Ballot {
        crate::tx::Ballot {
            proposal: self.instance.proposal(),
            voter_root: self.instance.voter_root(),
            nullifier: self.instance.nullifier(),
            vote: self.instance.vote(),
            seq: self.instance.seq(),
            proof: self.proof,
        }
    }
}

/// The public inputs a ballot transaction claims its proof proves.
pub fn instance_of(ballot: &crate::tx::Ballot) -> Instance {
    Instance::new(
        ballot.voter_root,
        ballot.proposal,
        ballot.nullifier,
        ballot.vote,
        ballot.seq,
    )
}

/// Why a ballot is refused at ingest.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The proposal's rules refuse it (window, voter root, option, delegate, nullifier).
    #[error("{0}")]
    Rules(#[from] crate::TxError),
    /// Its proof does not verify.
    #[error("ballot proof: {0}")]
    Proof(#[from] BallotError),
}

/// Checks a ballot at ingest, reading `state` only: first the rules at batch time `now`
/// (inside the window, against the proposal's voter-root snapshot, for an existing option
/// or registered delegate, a free or matching nullifier slot), then its proof. The sequencer
/// calls this before accepting a ballot; the verifier checks a batch's ballots together with
/// [`verify_batch`] and replays the rules.
pub fn check(
    state: &crate::State,
    ballot: &crate::tx::Ballot,
    now: u64,
    params: &Params<EqAffine>,
    vk: &VerifyingKey<EqAffine>,
) -> Result<(), IngestError> {
    state.plan(&crate::Transaction::Ballot(ballot.clone()), now)?;
    verify(params, vk, &instance_of(ballot), &ballot.proof)?;
    Ok(())
}

#[cfg(test)]
mod tests;
