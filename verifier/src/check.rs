//! The checks of a batch and of a chain of batches, in the order they run (cheapest first,
//! so a tampered artifact is named by its most specific fault):
//!
//! 1. the batch's number follows the previous one, its `root_old` is where the previous
//!    batch (or genesis) ended, and its time is not before the previous batch's (or
//!    genesis time; the chunk proofs enforce it too, through the time in the state root);
//! 2. the chunk count fits the transactions and slots;
//! 3. every ballot's proof against the ballot's own public inputs (one batch check);
//! 4. each chunk's `data_hash` recomputed from its transactions, chunks chaining by roots
//!    from the batch's `root_old` to its `root_new`;
//! 5. a native replay of every transaction at the batch time with the rules
//!    (`State::plan` / `commit`), each chunk's `root_new` equal to the replayed root;
//! 6. every chunk proof against the public inputs of the chunks it proves (each chunk proven
//!    by exactly one proof, a proof's chunks all of one circuit, in the order proven),
//!    batched per circuit (`circuits::verifying::verify_groups`, on every core) over the
//!    batch's proofs (and one by one to name the bad proof when the batch fails); each chunk's public inputs include
//!    its slots' signers (whether signed, and the key), so its proof holds only if the
//!    artifact's signer keys are the ones its rules read from the state;
//! 7. every signature proof against the signed transactions it covers: each one's signer
//!    key (as its chunk exposes it) and its message (computed here from the published
//!    transaction), batched per size like the chunks'.
//!
//! A chain checked from its proofs alone ([`Keys::verify_chain_proofs`]) has no step 5 and
//! takes the proofs of steps 3, 6 and 7 over a window of batches: the ballots first, then the
//! chunks, then the signatures, each in one batch check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use circuits::ballot::{self, BallotError, BallotVerifyingKey};
use circuits::chunk::{self, Family};
use circuits::hash::to_hex;
use circuits::params::{ParamsError, Provenance};
use circuits::signatures::{self, Entry};
use circuits::state::Plan;
use circuits::{Fp, Params as RuleParams, State, Transaction, TxError};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::commitment::Params;
use pasta_curves::vesta;
use rayon::prelude::*;
use serde::Serialize;

use crate::artifact::{ArtifactError, BatchArtifact, FIRST_BATCH};

/// The largest chunk circuit this verifier makes parameters and keys for: 2^16 rows (22
/// accounts slots), the largest size whose commitment parameters are pinned
/// ([`circuits::params::MAX_K`]; the prover's and sequencer's sizes stop at k = 15). An
/// artifact cannot make it build larger parameters; a larger chunk is a fault of the data.
pub const MAX_K: u32 = circuits::params::MAX_K;

/// What is wrong with the published data, or why it could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A batch was checked without a state and without the genesis parameters.
    #[error("the genesis hash and rule parameters are needed to check a chunk proof (Keys::set_genesis)")]
    NoParams,
    /// An artifact cannot be read (corrupt, truncated, wrong version, missing).
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// A batch directory cannot be listed.
    #[error("{path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A batch directory holds no artifact.
    #[error("{0}: no batch artifacts (*.json)")]
    Empty(PathBuf),
    /// The pinned commitment parameters cannot be had: no pin for the size, halo2 makes
    /// other parameters than those pinned, or the cache cannot be written.
    #[error("parameters under {dir}: {source}")]
    Params {
        /// The data directory.
        dir: PathBuf,
        /// What failed.
        source: ParamsError,
    },
    /// halo2 could not make a verifying key.
    #[error("verifying key for {family} chunks of {slots} slots: {source}")]
    Keygen {
        /// The circuit's family.
        family: Family,
        /// Slots per chunk.
        slots: usize,
        /// What halo2 said.
        source: chunk::proof::ProofError,
    },
    /// halo2 could not make a signature proof's verifying key.
    #[error("verifying key for signature proofs at k = {k}: {source}")]
    SignatureKeygen {
        /// The circuit's size.
        k: u32,
        /// What halo2 said.
        source: halo2_proofs::plonk::Error,
    },
    /// The ballot keys could not be made.
    #[error("ballot keys: {0}")]
    BallotKeys(BallotError),
    /// Two artifacts claim the same batch number.
    #[error("batch {number} appears twice: {first} and {second}")]
    Duplicate {
        /// The number.
        number: u64,
        /// One file.
        first: String,
        /// The other.
        second: String,
    },
    /// A batch is not the next one.
    #[error("batch {found} where batch {expected} was expected (a batch is missing or replayed)")]
    Number {
        /// The next number.
        expected: u64,
        /// The artifact's.
        found: u64,
    },
    /// A batch's time is before the previous batch's (or genesis time).
    #[error("batch {batch}: time {time} is before the previous batch's time {previous} (a backdated batch)")]
    BatchTime {
        /// The batch.
        batch: u64,
        /// The previous batch's time (genesis time for the first).
        previous: u64,
        /// The artifact's time.
        time: u64,
    },
    /// A batch does not start where the previous one (or genesis) ended.
    #[error("batch {batch}: root_old {found} is not the previous state root {expected}")]
    RootOld {
        /// The batch.
        batch: u64,
        /// Where the previous batch ended.
        expected: String,
        /// The artifact's root_old.
        found: String,
    },
    /// A chunk of zero slots, or more than [`MAX_K`] allows.
    #[error(
        "batch {batch}, chunk {chunk}: {slots} {family} slots, not in 1..={max} (k <= {MAX_K})"
    )]
    Slots {
        /// The batch.
        batch: u64,
        /// The chunk.
        chunk: usize,
        /// Its family.
        family: Family,
        /// Its slots.
        slots: usize,
        /// The most this verifier accepts for the family.
        max: usize,
    },
    /// A chunk covers no transaction, or more than its slots.
    #[error("batch {batch}, chunk {chunk}: covers {transactions} transactions with {slots} slots")]
    ChunkCover {
        /// The batch.
        batch: u64,
        /// The chunk.
        chunk: usize,
        /// Transactions it claims to cover.
        transactions: usize,
        /// Its slots.
        slots: usize,
    },
    /// The chunks do not cover the batch's transactions exactly.
    #[error("batch {batch}: the chunks cover {covered} transactions, the batch has {txs}")]
    ChunkCount {
        /// The batch.
        batch: u64,
        /// Transactions in the batch.
        txs: usize,
        /// Transactions the chunks cover.
        covered: usize,
    },
    /// A transaction is in a chunk of another family's circuit.
    #[error(
        "batch {batch}, chunk {chunk}: transaction {tx} ({kind}) is not of the {family} family"
    )]
    ChunkFamily {
        /// The batch.
        batch: u64,
        /// The chunk.
        chunk: usize,
        /// The transaction's position in the batch.
        tx: usize,
        /// Its kind.
        kind: &'static str,
        /// The chunk's family.
        family: Family,
    },
    /// A chunk's signer keys do not fit its transactions: one per transaction, a key for
    /// each signed one and none for a ballot.
    #[error("batch {batch}, chunk {chunk}: {problem}")]
    Signers {
        /// The batch.
        batch: u64,
        /// The chunk.
        chunk: usize,
        /// What does not fit.
        problem: String,
    },
    /// A signature proof of a size this verifier makes no keys for, or covering no
    /// signature, or more than it holds.
    #[error("batch {batch}, signature proof {proof}: {signatures} signatures at k = {k} (k must be {min}..={max}, and 1 to {capacity} signatures at that k)", min = signatures::K_MIN, max = signatures::K_MAX, capacity = signatures::capacity_for(*k))]
    SignatureShape {
        /// The batch.
        batch: u64,
        /// The proof's place among the batch's signature proofs.
        proof: usize,
        /// Its size.
        k: u32,
        /// Signatures it claims to cover.
        signatures: usize,
    },
    /// The signature proofs do not cover the batch's signed transactions exactly.
    #[error("batch {batch}: the signature proofs cover {covered} signatures, the batch has {signed} signed transactions")]
    SignatureCount {
        /// The batch.
        batch: u64,
        /// Signed transactions in the batch.
        signed: usize,
        /// Signatures the proofs cover.
        covered: usize,
    },
    /// A signature proof does not verify against its signers' keys and messages.
    #[error("batch {batch}, signature proof {proof}: the signature proof does not verify against the keys and messages of signed transactions {first}..{end} (a signature was changed, or the data)")]
    SignatureProof {
        /// The batch.
        batch: u64,
        /// The proof's place among the batch's signature proofs.
        proof: usize,
        /// The first signed transaction it covers (counting signed transactions only).
        first: usize,
        /// One past its last.
        end: usize,
    },
    /// The batch of signature proofs failed but each verified alone (should not happen).
    #[error("batch {batch}: the batch of signature proofs does not verify")]
    SignatureBatch {
        /// The batch.
        batch: u64,
    },
    /// A ballot's proof does not verify against its public inputs.
    #[error("batch {batch}, transaction {tx} (ballot on proposal {proposal}): the ballot proof does not verify against its public inputs")]
    BallotProof {
        /// The batch.
        batch: u64,
        /// Its position in the batch.
        tx: usize,
        /// The proposal it claims.
        proposal: u64,
    },
    /// The ballot batch failed but each ballot verified alone (should not happen).
    #[error("batch {batch}: the batch of ballot proofs does not verify")]
    BallotBatch {
        /// The batch.
        batch: u64,
    },
    /// A chunk's data hash is not the hash of its transactions.
    #[error("batch {batch}, chunk {chunk}: data_hash is not the hash of transactions {first}..{end} (the data was changed, reordered, or the chunks swapped)")]
    DataHash {
        /// The batch.
        batch: u64,
        /// The chunk.
        chunk: usize,
        /// Its first transaction.
        first: usize,
        /// One past its last.
        end: usize,
    },
    /// A chunk does not start where the previous one ended.
    #[error("batch {batch}, chunk {chunk}: root_old {found} is not the previous chunk's root_new {expected}")]
    ChunkChain {
        /// The batch.
        batch: u64,
        /// The chunk.
        chunk: usize,
        /// Where the previous chunk (or the batch) started.
        expected: String,
        /// The chunk's root_old.
        found: String,
    },
    /// The last chunk does not end at the batch's root_new.
    #[error("batch {batch}: root_new {found} is not the last chunk's root_new {expected}")]
    BatchRootNew {
        /// The batch.
        batch: u64,
        /// The last chunk's root_new (or root_old for an empty batch).
        expected: String,
        /// The batch's root_new.
        found: String,
    },
    /// The rules refuse a transaction on replay.
    #[error("batch {batch}, transaction {tx} ({kind}): refused on replay: {source}")]
    Refused {
        /// The batch.
        batch: u64,
        /// Its position in the batch.
        tx: usize,
        /// Its kind.
        kind: &'static str,
        /// Why.
        source: TxError,
    },
    /// A chunk's root_new is not the root the rules reach.
    #[error(
        "batch {batch}, chunk {chunk}: root_new {found} but replaying the rules gives {replayed}"
    )]
    ReplayRoot {
        /// The batch.
        batch: u64,
        /// The chunk.
        chunk: usize,
        /// The replayed root.
        replayed: String,
        /// The chunk's root_new.
        found: String,
    },
    /// The chunk proofs do not prove each chunk once, or a proof's chunks are not of one
    /// circuit or not in order.
    #[error("batch {batch}, chunk proof {proof}: {problem}")]
    ChunkProofs {
        /// The batch.
        batch: u64,
        /// The proof's place among the batch's chunk proofs.
        proof: usize,
        /// What is wrong.
        problem: String,
    },
    /// No chunk proof proves a chunk.
    #[error("batch {batch}, chunk {chunk}: no chunk proof proves it")]
    ChunkUnproven {
        /// The batch.
        batch: u64,
        /// The chunk.
        chunk: usize,
    },
    /// A chunk proof does not verify against its chunks' public inputs.
    #[error(
        "batch {batch}, chunk proof {proof} (chunks {chunks:?}): the proof does not verify against the chunks' public inputs"
    )]
    ChunkProof {
        /// The batch.
        batch: u64,
        /// The proof's place among the batch's chunk proofs.
        proof: usize,
        /// The chunks it claims to prove.
        chunks: Vec<usize>,
    },
    /// The batch of chunk proofs failed but each verified alone (should not happen).
    #[error("batch {batch}: the batch of chunk proofs does not verify")]
    ChunkBatch {
        /// The batch.
        batch: u64,
    },
}

impl VerifyError {
    /// Whether the published data is at fault (as opposed to the verifier's environment:
    /// parameters, key generation, an unreadable directory). The CLI exits 1 for the first
    /// and 3 for the second.
    pub fn is_data_fault(&self) -> bool {
        !matches!(
            self,
            VerifyError::Params { .. }
                | VerifyError::NoParams
                | VerifyError::Keygen { .. }
                | VerifyError::SignatureKeygen { .. }
                | VerifyError::BallotKeys(_)
                | VerifyError::Dir { .. }
        )
    }
}

/// What was checked of one batch.
#[derive(Clone, Debug, Serialize)]
pub struct BatchSummary {
    /// The batch number.
    pub number: u64,
    /// The batch time.
    pub time: u64,
    /// Transactions.
    pub transactions: usize,
    /// Chunks (all proofs verified).
    pub chunks: usize,
    /// Ballots (all proofs verified).
    pub ballots: usize,
    /// The root before.
    pub root_old: Fp,
    /// The root after.
    pub root_new: Fp,
    /// Whether the rules were replayed (false only for a lone batch after an unknown state).
    pub replayed: bool,
    /// Time spent verifying the chunk proofs (batched).
    #[serde(rename = "chunk_proofs_ms")]
    #[serde(serialize_with = "millis")]
    pub chunk_proofs: Duration,
    /// Time spent verifying the ballot proofs (batched).
    #[serde(rename = "ballot_proofs_ms")]
    #[serde(serialize_with = "millis")]
    pub ballot_proofs: Duration,
    /// Signature proofs (all verified).
    pub signature_proofs: usize,
    /// Time spent verifying the signature proofs (batched).
    #[serde(rename = "signature_proofs_ms")]
    #[serde(serialize_with = "millis")]
    pub signatures_took: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

/// How long a verifier's cold start took: reading the parameters from the cache and
/// generating a verifying key from the circuit.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct ColdStart {
    /// Reading (or making) the commitment parameters.
    #[serde(rename = "params_ms")]
    #[serde(serialize_with = "millis")]
    pub params: Duration,
    /// Generating the verifying key.
    #[serde(rename = "verifying_key_ms")]
    #[serde(serialize_with = "millis")]
    pub verifying_key: Duration,
    /// Making the ballot parameters and verifying key (only where there are ballots).
    #[serde(rename = "ballot_keys_ms")]
    #[serde(serialize_with = "millis")]
    pub ballot_keys: Duration,
}

/// A chunk proof waiting to be verified, with the public inputs of the chunks it proves.
#[derive(Clone, Debug)]
pub struct PendingProof {
    /// Its batch.
    pub batch: u64,
    /// Its place among the batch's chunk proofs.
    pub index: usize,
    /// The chunks it proves (their places in the batch).
    pub chunks: Vec<usize>,
    /// Its circuit.
    pub family: Family,
    /// The circuit's slots.
    pub slots: usize,
    /// The chunks' public inputs, in the order proven.
    pub instances: Vec<chunk::Instance>,
    /// The proof.
    pub proof: Vec<u8>,
}

/// Step 2 for the chunk proofs: each proves one or more chunks, listed in ascending order,
/// all of one circuit, and every chunk is proven by exactly one.
fn check_chunk_proofs(artifact: &BatchArtifact) -> Result<(), VerifyError> {
    let batch = artifact.number;
    let mut proven_by: Vec<Option<usize>> = vec![None; artifact.chunks.len()];
    for (index, p) in artifact.chunk_proofs.iter().enumerate() {
        let fault = |problem: String| VerifyError::ChunkProofs {
            batch,
            proof: index,
            problem,
        };
        let Some(&first) = p.chunks.first() else {
            return Err(fault("proves no chunk".into()));
        };
        if !p.chunks.windows(2).all(|w| w[0] < w[1]) {
            return Err(fault(format!(
                "lists its chunks {:?} out of ascending order",
                p.chunks
            )));
        }
        for &c in &p.chunks {
            let Some(chunk) = artifact.chunks.get(c) else {
                return Err(fault(format!(
                    "names chunk {c}, the batch has {}",
                    artifact.chunks.len()
                )));
            };
            let lead = &artifact.chunks[first];
            if (chunk.family, chunk.slots) != (lead.family, lead.slots) {
                return Err(fault(format!(
                    "proves chunk {first} ({} {} slots) and chunk {c} ({} {} slots): one proof is of one circuit",
                    lead.slots, lead.family, chunk.slots, chunk.family
                )));
            }
            if let Some(other) = proven_by[c].replace(index) {
                return Err(fault(format!(
                    "proves chunk {c}, which chunk proof {other} proves too"
                )));
            }
        }
    }
    if let Some(c) = proven_by.iter().position(Option::is_none) {
        return Err(VerifyError::ChunkUnproven { batch, chunk: c });
    }
    Ok(())
}

/// A signature proof waiting to be verified, with the keys and messages it must prove.
#[derive(Clone, Debug)]
pub struct PendingSignatures {
    /// Its batch.
    pub batch: u64,
    /// Its place among the batch's signature proofs.
    pub index: usize,
    /// The first of the batch's signed transactions it covers (counting those only).
    pub first: usize,
    /// Its size.
    pub k: u32,
    /// The keys and messages, in order.
    pub entries: Vec<Entry>,
    /// The proof.
    pub proof: Vec<u8>,
}

impl PendingSignatures {
    /// Its public inputs.
    fn instance(&self) -> Vec<Fp> {
        signatures::instance(&self.entries, signatures::capacity_for(self.k))
    }
}

/// The batches of a chain check whose proofs wait to be verified together
/// ([`Keys::verify_chain_proofs`]).
#[derive(Default)]
struct Window {
    waiting: Vec<BatchSummary>,
    proofs: Vec<PendingProof>,
    signed: Vec<PendingSignatures>,
    ballots: Vec<PendingBallot>,
}

impl Window {
    /// Verifies the waiting proofs (ballots, chunks, signatures, each kind in one batched
    /// check), shares the time out among the waiting batches, and hands them to `progress`
    /// and `batches`.
    fn flush(
        &mut self,
        keys: &mut Keys,
        progress: &mut dyn FnMut(&BatchSummary),
        batches: &mut Vec<BatchSummary>,
    ) -> Result<(), VerifyError> {
        let ballots_took = keys.verify_ballot_proofs(&self.ballots)?;
        let took = keys.verify_chunk_proofs(&self.proofs)?;
        let signatures_took = keys.verify_signature_proofs(&self.signed)?;
        let share = |count: fn(&BatchSummary) -> usize| {
            self.waiting.iter().map(count).sum::<usize>().max(1) as f64
        };
        let (chunks, ballots, signatures) = (
            share(|b| b.chunks),
            share(|b| b.ballots),
            share(|b| b.signature_proofs),
        );
        for mut b in self.waiting.drain(..) {
            b.chunk_proofs = took.mul_f64(b.chunks as f64 / chunks);
            b.ballot_proofs = ballots_took.mul_f64(b.ballots as f64 / ballots);
            b.signatures_took = signatures_took.mul_f64(b.signature_proofs as f64 / signatures);
            progress(&b);
            batches.push(b);
        }
        self.proofs.clear();
        self.signed.clear();
        self.ballots.clear();
        Ok(())
    }
}

/// A ballot proof waiting to be verified, with the public inputs its transaction claims.
#[derive(Clone, Debug)]
pub struct PendingBallot {
    /// Its batch.
    pub batch: u64,
    /// Its place in the batch.
    pub tx: usize,
    /// The public inputs.
    pub instance: ballot::Instance,
    /// The proof.
    pub proof: Vec<u8>,
}

/// Where a chain check starts: after batch `number` (0: genesis), at its root and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// The last batch before the check (0: genesis).
    pub number: u64,
    /// The state root after it.
    pub root: Fp,
    /// Its time.
    pub time: u64,
}

impl Checkpoint {
    /// Genesis: no batch yet, the genesis root and time.
    pub fn genesis(state: &State) -> Self {
        Checkpoint {
            number: FIRST_BATCH - 1,
            root: state.root(),
            time: state.time(),
        }
    }
}

/// A chain checked from proofs and data ([`Keys::verify_chain_proofs`]).
#[derive(Debug)]
pub struct ProofsReport {
    /// The batches, in order.
    pub batches: Vec<BatchSummary>,
    /// Where the chain ends: its last batch, root and time.
    pub end: Checkpoint,
}

/// A chain verified from genesis: the batches and the state they reach.
#[derive(Debug)]
pub struct ChainReport {
    /// The batches, in order.
    pub batches: Vec<BatchSummary>,
    /// The state after the last batch, replayed from genesis; its root is every proof's.
    pub state: State,
}

/// Each replayed transaction, for reports (an account's history).
pub struct Replayed<'a> {
    /// The batch.
    pub batch: u64,
    /// The position in the batch.
    pub index: usize,
    /// The transaction.
    pub tx: &'a Transaction,
    /// Its effect (its leaf writes and event).
    pub plan: &'a Plan,
}

/// Parameters and verifying keys, made or read once per process. Cold start is reading the
/// parameters from the cache under the data directory (making them the first time) and
/// generating the verifying keys from the circuits, which needs no proving key. Every set of
/// parameters has its size's pinned digest ([`circuits::params`]): a cache file that does not
/// is ignored (with a warning on standard error) and replaced.
pub struct Keys {
    data_dir: PathBuf,
    params: BTreeMap<u32, (Params<vesta::Affine>, Provenance)>,
    vks: BTreeMap<(Family, usize), VerifyingKey<vesta::Affine>>,
    signature_vks: BTreeMap<u32, VerifyingKey<vesta::Affine>>,
    ballot: Option<BallotVerifyingKey>,
    genesis: Option<(Fp, RuleParams)>,
    cold: ColdStart,
}

impl Keys {
    /// Keys with the parameter cache under `data_dir`; nothing is read until needed.
    pub fn new(data_dir: &Path) -> Self {
        Keys {
            data_dir: data_dir.to_path_buf(),
            params: BTreeMap::new(),
            vks: BTreeMap::new(),
            signature_vks: BTreeMap::new(),
            ballot: None,
            genesis: None,
            cold: ColdStart::default(),
        }
    }

    /// Sets the deployment's genesis hash and rule parameters, which every chunk proof takes
    /// as public inputs: a batch checked without a replayed state ([`Keys::verify_batch`]
    /// with `None`) needs them.
    pub fn set_genesis(&mut self, chain: Fp, params: RuleParams) {
        self.genesis = Some((chain, params));
    }

    /// Reads (or makes) the parameters and verifying key for `family`'s chunks of `slots`
    /// slots, and says how long each took (zero for what was already loaded). The parameters
    /// are the pinned ones ([`Keys::params_used`] says how they were had); a cache file that
    /// did not match the pin is reported on standard error as it is replaced.
    pub fn load_chunk(&mut self, family: Family, slots: usize) -> Result<ColdStart, VerifyError> {
        self.load_chunks(&[(family, slots)])
    }

    /// [`Keys::load_chunk`] for several circuits at once: the parameters read one after
    /// another, then the missing verifying keys made side by side, one thread each (key
    /// generation is only partly parallel inside, so this shortens a cold start of several
    /// circuits on a few cores). The cold start counts the wall time.
    pub fn load_chunks(&mut self, wanted: &[(Family, usize)]) -> Result<ColdStart, VerifyError> {
        let mut cold = ColdStart::default();
        let mut missing: Vec<(Family, usize)> = wanted
            .iter()
            .copied()
            .filter(|key| !self.vks.contains_key(key))
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(cold);
        }
        let started = Instant::now();
        for &(family, slots) in &missing {
            self.load_params(family.k_for(slots))?;
        }
        cold.params = started.elapsed();
        let started = Instant::now();
        let params = &self.params;
        let made: Vec<_> = std::thread::scope(|scope| {
            let threads: Vec<_> = missing
                .iter()
                .map(|&(family, slots)| {
                    scope.spawn(move || {
                        let params = &params[&family.k_for(slots)].0;
                        // On a pool of its own (see `circuits::verifying`): the key's
                        // commitments are multiplications the threads would each shift.
                        circuits::verifying::on_one_thread(|| {
                            chunk::proof::verifying_key(params, family, slots)
                        })
                        .map_err(|source| VerifyError::Keygen {
                            family,
                            slots,
                            source,
                        })
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().expect("key generation does not panic"))
                .collect()
        });
        for (key, vk) in missing.into_iter().zip(made) {
            self.vks.insert(key, vk?);
        }
        cold.verifying_key = started.elapsed();
        self.cold.params += cold.params;
        self.cold.verifying_key += cold.verifying_key;
        Ok(cold)
    }

    /// Reads (or makes) the pinned parameters of size `2^k`, once.
    fn load_params(&mut self, k: u32) -> Result<(), VerifyError> {
        if self.params.contains_key(&k) {
            return Ok(());
        }
        let loaded = circuits::params::load_or_make(&self.data_dir, k, |k| {
            eprintln!("making the commitment parameters for k = {k} (cached afterwards)…")
        })
        .map_err(|source| VerifyError::Params {
            dir: self.data_dir.clone(),
            source,
        })?;
        if let Some(rejected) = loaded.provenance.rejected() {
            eprintln!(
                "WARNING: the parameter cache file {} is NOT the pinned commitment \
                 parameters for k = {k} ({rejected}); it was ignored and replaced with the \
                 pinned ones. Someone or something wrote that file: find out who.",
                loaded.provenance.path.display()
            );
        }
        self.params.insert(k, (loaded.params, loaded.provenance));
        Ok(())
    }

    /// The cold start so far: parameters read and verifying keys made, in all.
    pub fn cold_start(&self) -> ColdStart {
        self.cold
    }

    /// The chunk circuits whose verifying keys were made, as `(family, slots, k)`: only
    /// those the checked artifacts use.
    pub fn circuits_loaded(&self) -> Vec<(Family, usize, u32)> {
        self.vks.keys().map(|&(f, s)| (f, s, f.k_for(s))).collect()
    }

    /// The commitment parameters loaded so far, by `k`: each one's pinned digest and whether
    /// it was read from the cache, made, or made in place of a file that did not match the
    /// pin.
    pub fn params_used(&self) -> impl Iterator<Item = &Provenance> {
        self.params.values().map(|(_, provenance)| provenance)
    }

    /// Loads the parameters and verifying keys of every chunk circuit `artifact` uses (of a
    /// size this verifier accepts; others are refused when the batch is checked), and says
    /// how long that took in all.
    pub fn load_for(&mut self, artifact: &BatchArtifact) -> Result<ColdStart, VerifyError> {
        let wanted: Vec<_> = artifact
            .chunks
            .iter()
            .filter(|c| (1..=c.family.slots_for(MAX_K)).contains(&c.slots))
            .map(|c| (c.family, c.slots))
            .collect();
        self.load_chunks(&wanted)
    }

    /// Reads the ballot parameters (k = 8, pinned and cached like the chunks') and makes
    /// the ballot verifying key.
    pub fn load_ballot(&mut self) -> Result<&BallotVerifyingKey, VerifyError> {
        if self.ballot.is_none() {
            let started = Instant::now();
            self.load_params(ballot::K)?;
            let params = self.params[&ballot::K].0.clone();
            let keys = BallotVerifyingKey::setup(params).map_err(VerifyError::BallotKeys)?;
            self.cold.ballot_keys += started.elapsed();
            self.ballot = Some(keys);
        }
        Ok(self.ballot.as_ref().expect("just set"))
    }

    /// The parameters and verifying key for `family`'s chunks of `slots` slots, once loaded.
    fn chunk(
        &self,
        family: Family,
        slots: usize,
    ) -> (&Params<vesta::Affine>, &VerifyingKey<vesta::Affine>) {
        (
            &self.params[&family.k_for(slots)].0,
            &self.vks[&(family, slots)],
        )
    }

    /// Checks one batch (see the module's list). `state` is the state before the batch, which
    /// is replayed through it; `None` skips the replay (a lone batch after an unknown state),
    /// and then only the proofs, data hashes and chaining are checked. `expected_root` is
    /// where the batch must start, `expected_number` its number if known. `observe` sees every
    /// replayed transaction.
    pub fn verify_batch(
        &mut self,
        artifact: &BatchArtifact,
        state: Option<&mut State>,
        expected_root: Fp,
        expected_number: Option<u64>,
        previous_time: Option<u64>,
        observe: &mut dyn FnMut(Replayed<'_>),
    ) -> Result<BatchSummary, VerifyError> {
        let mut proofs = Vec::new();
        let mut signed = Vec::new();
        let mut summary = self.check_batch(
            artifact,
            state,
            expected_root,
            expected_number,
            previous_time,
            observe,
            &mut proofs,
            &mut signed,
            None,
        )?;
        summary.chunk_proofs = self.verify_chunk_proofs(&proofs)?;
        summary.signatures_took = self.verify_signature_proofs(&signed)?;
        Ok(summary)
    }

    /// Everything [`Keys::verify_batch`] checks but the chunk proofs, which are added to
    /// `proofs` for the caller to verify (batched with other batches' if it likes); the
    /// ballot proofs are verified here, before the data and the replay, unless `ballots`
    /// takes them for the caller too.
    #[allow(clippy::too_many_arguments)]
    fn check_batch(
        &mut self,
        artifact: &BatchArtifact,
        state: Option<&mut State>,
        expected_root: Fp,
        expected_number: Option<u64>,
        previous_time: Option<u64>,
        observe: &mut dyn FnMut(Replayed<'_>),
        proofs: &mut Vec<PendingProof>,
        signed: &mut Vec<PendingSignatures>,
        ballots: Option<&mut Vec<PendingBallot>>,
    ) -> Result<BatchSummary, VerifyError> {
        let batch = artifact.number;
        let (chain, rule_params) = state
            .as_ref()
            .map(|s| (s.chain(), s.params().clone()))
            .or_else(|| self.genesis.clone())
            .ok_or(VerifyError::NoParams)?;
        // 1. Place in the chain.
        if let Some(expected) = expected_number {
            if batch != expected {
                return Err(VerifyError::Number {
                    expected,
                    found: batch,
                });
            }
        }
        if let Some(previous) = previous_time {
            if artifact.time < previous {
                return Err(VerifyError::BatchTime {
                    batch,
                    previous,
                    time: artifact.time,
                });
            }
        }
        if artifact.root_old != expected_root {
            return Err(VerifyError::RootOld {
                batch,
                expected: to_hex(&expected_root),
                found: to_hex(&artifact.root_old),
            });
        }
        // 2. Shape: every chunk's size is one this verifier makes keys for, it covers 1 to
        // `slots` transactions, all of its family, and the chunks cover the batch exactly.
        for (i, c) in artifact.chunks.iter().enumerate() {
            let max = c.family.slots_for(MAX_K);
            if c.slots == 0 || c.slots > max {
                return Err(VerifyError::Slots {
                    batch,
                    chunk: i,
                    family: c.family,
                    slots: c.slots,
                    max,
                });
            }
            if c.transactions == 0 || c.transactions > c.slots {
                return Err(VerifyError::ChunkCover {
                    batch,
                    chunk: i,
                    transactions: c.transactions,
                    slots: c.slots,
                });
            }
        }
        let Some(parts) = artifact.chunk_transactions() else {
            return Err(VerifyError::ChunkCount {
                batch,
                txs: artifact.transactions.len(),
                covered: artifact.chunks.iter().map(|c| c.transactions).sum(),
            });
        };
        for (i, (c, (first, txs))) in artifact.chunks.iter().zip(&parts).enumerate() {
            if let Some((j, tx)) = txs
                .iter()
                .enumerate()
                .find(|(_, tx)| Family::of(tx) != c.family)
            {
                return Err(VerifyError::ChunkFamily {
                    batch,
                    chunk: i,
                    tx: first + j,
                    kind: tx.kind_name(),
                    family: c.family,
                });
            }
            let signers = |problem: String| VerifyError::Signers {
                batch,
                chunk: i,
                problem,
            };
            if c.signers.len() != txs.len() {
                return Err(signers(format!(
                    "{} signer entries for {} transactions",
                    c.signers.len(),
                    txs.len()
                )));
            }
            for (j, (tx, signer)) in txs.iter().zip(&c.signers).enumerate() {
                if tx.signature().is_some() != signer.is_some() {
                    let has = if signer.is_some() { "a" } else { "no" };
                    return Err(signers(format!(
                        "transaction {} ({}) has {has} signer key",
                        first + j,
                        tx.kind_name()
                    )));
                }
            }
        }
        check_chunk_proofs(artifact)?;
        let signed_count: usize = artifact
            .chunks
            .iter()
            .map(|c| c.signers.iter().flatten().count())
            .sum();
        for (index, p) in artifact.signatures.iter().enumerate() {
            if !(signatures::K_MIN..=signatures::K_MAX).contains(&p.k)
                || p.signatures == 0
                || p.signatures > signatures::capacity_for(p.k)
            {
                return Err(VerifyError::SignatureShape {
                    batch,
                    proof: index,
                    k: p.k,
                    signatures: p.signatures,
                });
            }
        }
        let covered: usize = artifact.signatures.iter().map(|p| p.signatures).sum();
        if covered != signed_count {
            return Err(VerifyError::SignatureCount {
                batch,
                signed: signed_count,
                covered,
            });
        }
        // 3. Ballot proofs.
        let pending: Vec<PendingBallot> = artifact
            .transactions
            .iter()
            .enumerate()
            .filter_map(|(tx, t)| match t {
                Transaction::Ballot(b) => Some(PendingBallot {
                    batch,
                    tx,
                    instance: ballot::instance_of(b),
                    proof: b.proof.clone(),
                }),
                _ => None,
            })
            .collect();
        let ballot_count = pending.len();
        let ballot_proofs = match ballots {
            Some(deferred) => {
                deferred.extend(pending);
                Duration::ZERO
            }
            None => self.verify_ballot_proofs(&pending)?,
        };
        // 4. Data hashes (the chunks' side by side) and chaining.
        // Each transaction's message, once: the data hashes fold them, and the signature
        // proofs take the signed ones (step 7).
        let messages: Vec<Vec<Fp>> = parts
            .par_iter()
            .map(|(_, txs)| txs.iter().map(|tx| tx.message(chain)).collect())
            .collect();
        let data_hashes: Vec<Fp> = artifact
            .chunks
            .iter()
            .zip(&messages)
            .map(|(c, m)| chunk::data_hash_of(chain, m, c.slots))
            .collect();
        let mut root = artifact.root_old;
        for (i, ((c, (first, txs)), data_hash)) in artifact
            .chunks
            .iter()
            .zip(&parts)
            .zip(data_hashes)
            .enumerate()
        {
            if data_hash != c.data_hash {
                return Err(VerifyError::DataHash {
                    batch,
                    chunk: i,
                    first: *first,
                    end: first + txs.len(),
                });
            }
            if c.root_old != root {
                return Err(VerifyError::ChunkChain {
                    batch,
                    chunk: i,
                    expected: to_hex(&root),
                    found: to_hex(&c.root_old),
                });
            }
            root = c.root_new;
        }
        if artifact.root_new != root {
            return Err(VerifyError::BatchRootNew {
                batch,
                expected: to_hex(&root),
                found: to_hex(&artifact.root_new),
            });
        }
        // 5. Native replay.
        let replayed = state.is_some();
        if let Some(state) = state {
            for (i, (c, (first, txs))) in artifact.chunks.iter().zip(&parts).enumerate() {
                for (j, tx) in txs.iter().enumerate() {
                    let index = first + j;
                    let plan =
                        state
                            .plan(tx, artifact.time)
                            .map_err(|source| VerifyError::Refused {
                                batch,
                                tx: index,
                                kind: tx.kind_name(),
                                source,
                            })?;
                    observe(Replayed {
                        batch,
                        index,
                        tx,
                        plan: &plan,
                    });
                    state.commit(plan);
                }
                if state.root() != c.root_new {
                    return Err(VerifyError::ReplayRoot {
                        batch,
                        chunk: i,
                        replayed: to_hex(&state.root()),
                        found: to_hex(&c.root_new),
                    });
                }
            }
        }
        // 6. Chunk proofs: for the caller.
        for (index, p) in artifact.chunk_proofs.iter().enumerate() {
            let first = &artifact.chunks[p.chunks[0]];
            proofs.push(PendingProof {
                batch,
                index,
                chunks: p.chunks.clone(),
                family: first.family,
                slots: first.slots,
                instances: p
                    .chunks
                    .iter()
                    .map(|&c| artifact.chunks[c].instance(artifact.time, chain, &rule_params))
                    .collect(),
                proof: p.proof.clone(),
            });
        }
        // 7. Signature proofs: for the caller, each with its keys and messages.
        let mut entries = artifact
            .chunks
            .iter()
            .zip(&messages)
            .flat_map(|(c, m)| m.iter().zip(&c.signers))
            .filter_map(|(&message, signer)| signer.map(|key| Entry { key, message }));
        let mut first = 0;
        for (index, p) in artifact.signatures.iter().enumerate() {
            signed.push(PendingSignatures {
                batch,
                index,
                first,
                k: p.k,
                entries: entries.by_ref().take(p.signatures).collect(),
                proof: p.proof.clone(),
            });
            first += p.signatures;
        }
        let chunk_proofs = Duration::ZERO;
        Ok(BatchSummary {
            number: batch,
            time: artifact.time,
            transactions: artifact.transactions.len(),
            chunks: artifact.chunks.len(),
            ballots: ballot_count,
            root_old: artifact.root_old,
            root_new: artifact.root_new,
            replayed,
            chunk_proofs,
            ballot_proofs,
            signature_proofs: artifact.signatures.len(),
            signatures_took: Duration::ZERO,
        })
    }

    /// Reads (or makes) the parameters and verifying key of signature proofs at `k`, once
    /// (counted in the cold start's verifying keys).
    fn load_signatures(&mut self, k: u32) -> Result<(), VerifyError> {
        if self.signature_vks.contains_key(&k) {
            return Ok(());
        }
        let started = Instant::now();
        self.load_params(k)?;
        let params = &self.params[&k].0;
        let vk = circuits::verifying::on_one_thread(|| {
            signatures::verifying_key(params, signatures::capacity_for(k))
        })
        .map_err(|source| VerifyError::SignatureKeygen { k, source })?;
        self.signature_vks.insert(k, vk);
        self.cold.verifying_key += started.elapsed();
        Ok(())
    }

    /// Verifies signature proofs (of one batch or many), batched per size; if a batch of
    /// them fails, one by one to name the first bad one. Returns the time the proofs took
    /// (keys loaded first, not counted).
    pub fn verify_signature_proofs(
        &mut self,
        pending: &[PendingSignatures],
    ) -> Result<Duration, VerifyError> {
        let mut groups: BTreeMap<u32, Vec<&PendingSignatures>> = BTreeMap::new();
        for p in pending {
            groups.entry(p.k).or_default().push(p);
        }
        for &k in groups.keys() {
            self.load_signatures(k)?;
        }
        let started = Instant::now();
        for (k, members) in &groups {
            let (params, vk) = (&self.params[k].0, &self.signature_vks[k]);
            let claimed: Vec<_> = members
                .iter()
                .map(|p| (p.instance(), &p.proof[..]))
                .collect();
            if !circuits::verifying::verify_many(params, vk, &claimed) {
                let mut sorted = members.clone();
                sorted.sort_by_key(|p| (p.batch, p.index));
                for p in &sorted {
                    if circuits::verifying::verify_one(params, vk, &p.instance(), &p.proof).is_err()
                    {
                        return Err(VerifyError::SignatureProof {
                            batch: p.batch,
                            proof: p.index,
                            first: p.first,
                            end: p.first + p.entries.len(),
                        });
                    }
                }
                let batch = sorted.first().map_or(0, |p| p.batch);
                return Err(VerifyError::SignatureBatch { batch });
            }
        }
        Ok(started.elapsed())
    }

    /// Verifies ballot proofs (of one batch or many) in one batch; if it fails, one by one
    /// to name the first bad one. Returns the time the proofs took (the keys made first, if
    /// any ballot needs them, not counted).
    pub fn verify_ballot_proofs(
        &mut self,
        pending: &[PendingBallot],
    ) -> Result<Duration, VerifyError> {
        let Some(first) = pending.first() else {
            return Ok(Duration::ZERO);
        };
        let keys = self.load_ballot()?;
        let started = Instant::now();
        let claimed: Vec<_> = pending
            .iter()
            .map(|b| (b.instance, b.proof.clone()))
            .collect();
        match ballot::verify_batch(keys.params(), keys.verifying_key(), &claimed) {
            Ok(()) => Ok(started.elapsed()),
            Err(BallotError::InvalidBallotInBatch { index }) => {
                let b = &pending[index];
                Err(VerifyError::BallotProof {
                    batch: b.batch,
                    tx: b.tx,
                    proposal: b.instance.proposal(),
                })
            }
            Err(_) => Err(VerifyError::BallotBatch { batch: first.batch }),
        }
    }

    /// Verifies chunk proofs (of one batch or many), batched per circuit (family and size,
    /// [`circuits::verifying::verify_many`]); if a batch of them fails, one by one to name
    /// the first bad one. Returns the time the proofs took (keys loaded first, not counted).
    pub fn verify_chunk_proofs(
        &mut self,
        proofs: &[PendingProof],
    ) -> Result<Duration, VerifyError> {
        let mut groups: BTreeMap<(Family, usize), Vec<&PendingProof>> = BTreeMap::new();
        for p in proofs {
            groups.entry((p.family, p.slots)).or_default().push(p);
        }
        self.load_chunks(&groups.keys().copied().collect::<Vec<_>>())?;
        let started = Instant::now();
        for (&(family, slots), members) in &groups {
            let (params, vk) = self.chunk(family, slots);
            let claimed: Vec<_> = members
                .iter()
                .map(|p| {
                    let columns = p.instances.iter().map(chunk::Instance::to_halo2);
                    (columns.collect(), &p.proof[..])
                })
                .collect();
            if !circuits::verifying::verify_groups(params, vk, &claimed) {
                let mut sorted = members.clone();
                sorted.sort_by_key(|p| (p.batch, p.index));
                for p in &sorted {
                    if chunk::proof::verify_group(params, vk, &p.instances, &p.proof).is_err() {
                        return Err(VerifyError::ChunkProof {
                            batch: p.batch,
                            proof: p.index,
                            chunks: p.chunks.clone(),
                        });
                    }
                }
                let batch = sorted.first().map_or(0, |p| p.batch);
                return Err(VerifyError::ChunkBatch { batch });
            }
        }
        Ok(started.elapsed())
    }

    /// Checks a chain from its proofs and data alone, without replaying the rules: batch
    /// numbers consecutive after `from`, each batch starting at the root the previous one
    /// (or `from`) ended at and not dated before it, chunk shapes and families, every ballot
    /// proof, every chunk's data hash recomputed from the published transactions, chunks
    /// chaining by roots, and every chunk proof. The ballot and chunk proofs are verified in
    /// windows of about `window` proofs, each window's ballots in one batched check and its
    /// chunks in one per circuit (then one by one to name a bad one), so a long chain takes
    /// bounded memory when `artifacts` streams.
    /// `progress` sees each batch once its proofs are verified. The deployment's genesis hash
    /// and rule parameters must be set ([`Keys::set_genesis`]).
    pub fn verify_chain_proofs<E: From<VerifyError>>(
        &mut self,
        from: Checkpoint,
        artifacts: impl IntoIterator<Item = Result<(String, BatchArtifact), E>>,
        window: usize,
        progress: &mut dyn FnMut(&BatchSummary),
    ) -> Result<ProofsReport, E> {
        let mut at = from;
        let mut batches = Vec::new();
        let mut window_of = Window::default();
        for item in artifacts {
            let (_, artifact) = item?;
            let w = &mut window_of;
            let summary = self.check_batch(
                &artifact,
                None,
                at.root,
                Some(at.number + 1),
                Some(at.time),
                &mut |_| {},
                &mut w.proofs,
                &mut w.signed,
                Some(&mut w.ballots),
            )?;
            at = Checkpoint {
                number: artifact.number,
                root: artifact.root_new,
                time: artifact.time,
            };
            w.waiting.push(summary);
            if w.proofs.len() + w.signed.len() + w.ballots.len() >= window.max(1) {
                w.flush(self, progress, &mut batches)?;
            }
        }
        window_of.flush(self, progress, &mut batches)?;
        Ok(ProofsReport { batches, end: at })
    }

    /// Checks a chain of batches from `genesis` (the state at genesis): sorted by number,
    /// starting at [`FIRST_BATCH`] with no gap or repeat, each checked by
    /// [`Keys::verify_batch`] with a full replay.
    pub fn verify_chain(
        &mut self,
        genesis: State,
        artifacts: Vec<(String, BatchArtifact)>,
        observe: &mut dyn FnMut(Replayed<'_>),
    ) -> Result<ChainReport, VerifyError> {
        let mut artifacts = artifacts;
        artifacts.sort_by_key(|(_, a)| a.number);
        for pair in artifacts.windows(2) {
            if pair[0].1.number == pair[1].1.number {
                return Err(VerifyError::Duplicate {
                    number: pair[0].1.number,
                    first: pair[0].0.clone(),
                    second: pair[1].0.clone(),
                });
            }
        }
        let mut state = genesis;
        let mut time = state.time();
        let mut batches = Vec::with_capacity(artifacts.len());
        for (i, (_, artifact)) in artifacts.iter().enumerate() {
            let root = state.root();
            let summary = self.verify_batch(
                artifact,
                Some(&mut state),
                root,
                Some(FIRST_BATCH + i as u64),
                Some(time),
                observe,
            )?;
            time = artifact.time;
            batches.push(summary);
        }
        Ok(ChainReport { batches, state })
    }
}

/// Reads every `*.json` file in `dir` as a batch artifact (other files are ignored), each
/// named by its path.
pub fn read_dir(dir: &Path) -> Result<Vec<(String, BatchArtifact)>, VerifyError> {
    json_files(dir)?
        .into_iter()
        .map(|p| Ok((p.display().to_string(), BatchArtifact::load(&p)?)))
        .collect()
}

/// The `*.json` files in `dir`, sorted by name; an error if there is none.
pub fn json_files(dir: &Path) -> Result<Vec<PathBuf>, VerifyError> {
    let listing = std::fs::read_dir(dir).map_err(|source| VerifyError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|source| VerifyError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return Err(VerifyError::Empty(dir.to_path_buf()));
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_size_accepted_has_pinned_parameters() {
        for family in Family::ALL {
            for slots in [1, family.slots_for(MAX_K)] {
                let k = family.k_for(slots);
                assert!(
                    circuits::params::pinned(k).is_some(),
                    "{family}, {slots} slots: k = {k}"
                );
            }
        }
    }

    #[test]
    fn a_chunk_beyond_the_pinned_sizes_is_a_parameters_fault_and_makes_nothing() {
        let dir = std::env::temp_dir().join(format!("verifier-unpinned-{}", std::process::id()));
        let mut keys = Keys::new(&dir);
        let slots = Family::Accounts.slots_for(MAX_K) + 1;
        let e = keys.load_chunk(Family::Accounts, slots).unwrap_err();
        assert!(
            matches!(
                &e,
                VerifyError::Params {
                    source: ParamsError::NotPinned { k },
                    ..
                } if *k == MAX_K + 1
            ),
            "{e}"
        );
        assert!(
            !e.is_data_fault(),
            "the verifier's environment, not the data"
        );
        let says = format!("no pinned parameters for k = {}", MAX_K + 1);
        assert!(e.to_string().contains(&says), "{e}");
        assert!(!dir.exists());
        assert_eq!(keys.params_used().count(), 0);
    }
}
