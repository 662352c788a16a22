//! The anonymous ballot: a halo2 statement, with its own keys, that a voter proves on their
//! own machine.
//!
//! **Public** (the instance column, in this order): the voter root (the proposal's snapshot
//! of the voter tree), the proposal id, the ballot's nullifier, the vote's tally slot and the
//! ballot's sequence number.
//! **Private**: the voter's `nullifier_key` and `trapdoor`, and the Merkle path (siblings and
//! position bits) of their identity commitment.
//!
//! The circuit proves:
//! 1. `commitment = Poseidon(VOTER_COMMITMENT, nullifier_key, trapdoor)`;
//! 2. the commitment is a leaf of the voter tree (depth [`VOTERS_DEPTH`]) with the public
//!    root, with the node hash and left/right convention of [`crate::merkle`];
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

use halo2_gadgets::poseidon::{
    primitives::{ConstantLength, P128Pow5T3},
    Hash as PoseidonHash, Pow5Chip, Pow5Config,
};
use halo2_gadgets::utilities::cond_swap::{CondSwapChip, CondSwapConfig, CondSwapInstructions};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, SimpleFloorPlanner, Value},
    pasta::EqAffine,
    plonk::{
        self, create_proof, keygen_pk, keygen_vk, verify_proof, Advice, BatchVerifier, Circuit,
        Column, ConstraintSystem, Instance as InstanceColumn, ProvingKey, SingleVerifier,
        VerifyingKey,
    },
    poly::commitment::Params,
    transcript::{Blake2bRead, Blake2bWrite, Challenge255},
};

use crate::constants::{domain, TALLY_SLOT_BITS, VOTERS_DEPTH};
use crate::hash::{tag, Fp};
use crate::merkle::MerklePath;
use crate::voter::{nullifier, Vote, VoterSecret};
use slot::{SlotChip, SlotConfig};

/// The ballot circuit has `2^K` rows. Its 28 Poseidon permutations (one per Merkle level,
/// two per three-input hash) run on two Poseidon chips side by side, so everything fits in
/// 604 rows. On one chip it takes 1,175 rows, which needs `K = 11`, proves about a third
/// slower on one core and verifies slower, for a proof of 2,720 bytes instead of
/// [`PROOF_BYTES`].
pub const K: u32 = 10;

/// Bytes of every ballot proof (pinned: it only changes with the circuit).
pub const PROOF_BYTES: usize = 3840;

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
    /// The Merkle path does not have one sibling per level of the voter tree.
    #[error("the voter path has {got} siblings, the voter tree has depth {expected}")]
    WrongPathDepth {
        /// The voter tree's depth.
        expected: usize,
        /// Siblings in the path.
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
    advices: [Column<Advice>; 5],
    /// Hashes the commitment and the even levels.
    poseidon: Pow5Config<Fp, 3, 2>,
    /// Hashes the odd levels and the nullifier, on columns of its own.
    poseidon_b: Pow5Config<Fp, 3, 2>,
    swap: CondSwapConfig,
    slot: SlotConfig,
}

impl BallotConfig {
    fn poseidon_chip(&self) -> Pow5Chip<Fp, 3, 2> {
        Pow5Chip::construct(self.poseidon.clone())
    }

    fn poseidon_chip_b(&self) -> Pow5Chip<Fp, 3, 2> {
        Pow5Chip::construct(self.poseidon_b.clone())
    }

    fn swap_chip(&self) -> CondSwapChip<Fp> {
        CondSwapChip::construct(self.swap.clone())
    }

    fn slot_chip(&self) -> SlotChip {
        SlotChip::construct(self.slot.clone())
    }
}

/// The ballot circuit's witness. Built by [`prove`] from a voter's secret and path.
#[derive(Clone, Debug)]
pub(crate) struct BallotCircuit {
    nullifier_key: Value<Fp>,
    trapdoor: Value<Fp>,
    siblings: [Value<Fp>; VOTERS_DEPTH],
    /// Bit `level` of the leaf position: `true` puts the sibling on the left.
    position_bits: [Value<bool>; VOTERS_DEPTH],
}

impl BallotCircuit {
    fn new(secret: &VoterSecret, path: &MerklePath) -> Self {
        BallotCircuit {
            nullifier_key: Value::known(secret.nullifier_key),
            trapdoor: Value::known(secret.trapdoor),
            siblings: std::array::from_fn(|level| Value::known(path.siblings[level])),
            position_bits: std::array::from_fn(|level| {
                Value::known((path.index >> level) & 1 == 1)
            }),
        }
    }
}

type Poseidon<const L: usize> =
    PoseidonHash<Fp, Pow5Chip<Fp, 3, 2>, P128Pow5T3, ConstantLength<L>, 3, 2>;

impl Circuit<Fp> for BallotCircuit {
    type Config = BallotConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        BallotCircuit {
            nullifier_key: Value::unknown(),
            trapdoor: Value::unknown(),
            siblings: [Value::unknown(); VOTERS_DEPTH],
            position_bits: [Value::unknown(); VOTERS_DEPTH],
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> BallotConfig {
        // Nine advice columns. a0..a4 are shared by every chip but the second Poseidon;
        // regions never overlap in a column, so a column serves whichever chip owns the
        // current rows:
        //
        // | column | Poseidon A    | swap (1 row per level) | vote range | secrets (2 rows)      |
        // |--------|---------------|------------------------|------------|-----------------------|
        // | a0     | state[0]      | a: the running node    | vote       | nullifier_key         |
        // | a1     | state[1]      | a_swapped: left child  | bits       | trapdoor; proposal    |
        // | a2     | state[2]      | b_swapped: right child | bits       | the two domain tags   |
        // | a3     | partial S-box | b: the sibling         | bits       |                       |
        // | a4     |               | swap: the position bit | bits       |                       |
        //
        // b0..b3 are Poseidon B's state and partial S-box, so that B hashes the odd levels
        // and the nullifier in the same rows as A hashes the even levels and the commitment
        // (halving the rows: 2^10 instead of 2^11).
        //
        // a0..a2 and b0..b2 are equality-enabled by the Poseidon chips: the swap's outputs
        // and the secrets are copied from them into hashes, and the instance's proposal
        // and vote are copied into a1 and a0 (the sequence number into a0 beside the
        // proposal). a3 and a4 hold only values used where they
        // stand. Each Poseidon chip has six fixed columns of round constants; A's rc_b[0]
        // also holds the constants (domain tags, the sponges' capacity) that
        // `assign_advice_from_constant` copies into advice cells.
        let advices: [Column<Advice>; 5] = std::array::from_fn(|_| meta.advice_column());
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let rc_a = std::array::from_fn(|_| meta.fixed_column());
        let rc_b: [_; 3] = std::array::from_fn(|_| meta.fixed_column());
        meta.enable_constant(rc_b[0]);

        let poseidon = Pow5Chip::configure::<P128Pow5T3>(
            meta,
            [advices[0], advices[1], advices[2]],
            advices[3],
            rc_a,
            rc_b,
        );
        let b_state: [Column<Advice>; 4] = std::array::from_fn(|_| meta.advice_column());
        let b_rc_a = std::array::from_fn(|_| meta.fixed_column());
        let b_rc_b = std::array::from_fn(|_| meta.fixed_column());
        let poseidon_b = Pow5Chip::configure::<P128Pow5T3>(
            meta,
            [b_state[0], b_state[1], b_state[2]],
            b_state[3],
            b_rc_a,
            b_rc_b,
        );
        let swap = CondSwapChip::configure(
            meta,
            [advices[0], advices[3], advices[1], advices[2], advices[4]],
        );
        let slot = SlotChip::configure(
            meta,
            advices[0],
            [advices[1], advices[2], advices[3], advices[4]],
        );

        BallotConfig {
            instance,
            advices,
            poseidon,
            poseidon_b,
            swap,
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
                    let [a0, a1, a2, _, _] = config.advices;
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
        let commitment = Poseidon::<3>::init(
            config.poseidon_chip(),
            layouter.namespace(|| "commitment init"),
        )?
        .hash(
            layouter.namespace(|| "commitment = Poseidon(VOTER_COMMITMENT, nk, trapdoor)"),
            [commitment_tag, nullifier_key.clone(), trapdoor],
        )?;

        // The commitment is a leaf of the voter tree with root `VOTER_ROOT`: at each level,
        // (left, right) = bit ? (sibling, node) : (node, sibling); node = Poseidon(left, right).
        // Levels alternate between the two Poseidon chips; the floor planner places each
        // region at the first rows free in its own columns, so the chips fill rows in
        // parallel while copy constraints carry each node to the next level.
        let mut node: AssignedCell<Fp, Fp> = commitment;
        for level in 0..VOTERS_DEPTH {
            let (left, right) = self.swap_level(&config, &mut layouter, level, node)?;
            let chip = if level % 2 == 0 {
                config.poseidon_chip()
            } else {
                config.poseidon_chip_b()
            };
            node = Poseidon::<2>::init(chip, layouter.namespace(|| format!("level {level} init")))?
                .hash(
                    layouter.namespace(|| format!("level {level}: node = Poseidon(left, right)")),
                    [left, right],
                )?;
        }
        layouter.constrain_instance(node.cell(), config.instance, VOTER_ROOT)?;

        // nullifier = Poseidon(NULLIFIER, nullifier_key, proposal), the public NULLIFIER.
        let nullifier = Poseidon::<3>::init(
            config.poseidon_chip_b(),
            layouter.namespace(|| "nullifier init"),
        )?
        .hash(
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

impl BallotCircuit {
    /// One level's conditional swap of the running node and the witnessed sibling.
    #[allow(clippy::type_complexity)]
    fn swap_level(
        &self,
        config: &BallotConfig,
        layouter: &mut impl Layouter<Fp>,
        level: usize,
        node: AssignedCell<Fp, Fp>,
    ) -> Result<(AssignedCell<Fp, Fp>, AssignedCell<Fp, Fp>), plonk::Error> {
        config.swap_chip().swap(
            layouter.namespace(|| format!("level {level}: swap")),
            (node, self.siblings[level]),
            self.position_bits[level],
        )
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
        &MerklePath {
            index: 0,
            siblings: vec![Fp::zero(); VOTERS_DEPTH],
        },
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
    if path.siblings.len() != VOTERS_DEPTH {
        return Err(BallotError::WrongPathDepth {
            expected: VOTERS_DEPTH,
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
    let column = instance.to_halo2();
    let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(proof);
    verify_proof(
        params,
        vk,
        SingleVerifier::new(params),
        &[&[&column[..]]],
        &mut transcript,
    )
    .map_err(BallotError::InvalidProof)
}

/// Verifies many ballots at once (one multi-scalar multiplication for the whole batch).
/// If the batch fails, the ballots are checked one by one to name the first bad one.
pub fn verify_batch(
    params: &Params<EqAffine>,
    vk: &VerifyingKey<EqAffine>,
    ballots: &[(Instance, Vec<u8>)],
) -> Result<(), BallotError> {
    check_params(params)?;
    let mut batch = BatchVerifier::new();
    for (instance, proof) in ballots {
        batch.add_proof(vec![vec![instance.to_halo2().to_vec()]], proof.clone());
    }
    if batch.finalize(params, vk) {
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
