//! The batch prover: splits a sealed batch into fixed-size chunks, builds the chunks'
//! witnesses **in order** (each from the state the previous chunk left), then proves the
//! chunks **in parallel** on a rayon pool, and writes the batch artifact that auditors check
//! ([`verifier::BatchArtifact`]). The batch's signatures are proven beside its chunks, in
//! signature proofs of their own ([`circuits::signatures`]): one per batch (more if it has
//! more signatures than the largest holds), after the chunks.
//!
//! halo2 itself runs on rayon inside a proof, so the threads can be split two ways
//! ([`Split`]): all chunks at once with the threads shared out among them, or one chunk after
//! another with every thread inside each proof. On this 2-core machine the first is faster
//! (see the README's measurements), so it is the default.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod fleet;
pub mod retry;
pub mod schedule;
pub mod worker;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use circuits::chunk::proof::{self, ChunkKeys, ProofError};
use circuits::chunk::witness::ChunkWitness;
use circuits::chunk::witness::{self, WitnessError};
use circuits::chunk::{self, Family, Instance};
use circuits::keys::Signature;
use circuits::signatures::{self, Entry, SignatureKeys, SignatureProofError};
use circuits::{State, Transaction};
use halo2_proofs::poly::commitment::Params;
use indicatif::{ProgressBar, ProgressStyle};
use pasta_curves::vesta;
use verifier::{BatchArtifact, ChunkArtifact, ChunkProofArtifact, SignatureArtifact, VERSION};

/// Why a batch cannot be proved.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The pinned commitment parameters cannot be had (no pin for the size, or the cache
    /// cannot be written).
    #[error("parameters under {dir}: {source}")]
    Params {
        /// The data directory.
        dir: String,
        /// What failed.
        source: circuits::params::ParamsError,
    },
    /// The chunk keys cannot be made.
    #[error("chunk keys for {slots} slots: {source}")]
    Keys {
        /// Slots per chunk.
        slots: usize,
        /// What failed.
        source: ProofError,
    },
    /// Zero slots per chunk.
    #[error("chunks must have at least one slot")]
    ZeroSlots,
    /// A chunk's witness cannot be built (an unsupported kind, a refused transaction).
    #[error("chunk {chunk} (transactions {first}..{end}): {source}")]
    Witness {
        /// The chunk.
        chunk: usize,
        /// Its first transaction in the batch.
        first: usize,
        /// One past its last.
        end: usize,
        /// What failed.
        source: WitnessError,
    },
    /// A chunk proof cannot be made.
    #[error("proving chunk {chunk}: {source}")]
    Proof {
        /// The chunk.
        chunk: usize,
        /// What failed.
        source: ProofError,
    },
    /// The signature proofs' keys cannot be made.
    #[error("signature proof keys at k = {k}: {source}")]
    SignatureKeys {
        /// The circuit's size.
        k: u32,
        /// What failed.
        source: halo2_proofs::plonk::Error,
    },
    /// A signature proof cannot be made, or does not verify.
    #[error("proving signature proof {proof}: {source}")]
    Signatures {
        /// The proof's place among the batch's signature proofs.
        proof: usize,
        /// What failed.
        source: SignatureProofError,
    },
    /// A thread pool cannot be made.
    #[error("thread pool: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
}

/// How the threads are shared between the chunks of a batch and the work inside each proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Split {
    /// As many proofs at once as threads, each on a pool of all the threads: the operating
    /// system shares the cores between them ([`schedule`]).
    #[default]
    ChunksInParallel,
    /// One proof after another, all threads inside each proof.
    ChunksInSequence,
}

/// How to prove (default: one thread per core, chunks in parallel, no progress bar).
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Threads in all (0: one per core).
    pub threads: usize,
    /// How they are shared out.
    pub split: Split,
    /// Show a progress bar on standard error.
    pub progress: bool,
}

impl Options {
    fn threads(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.threads
        }
    }
}

/// The commitment parameters and chunk keys: made once per process, each the first time a
/// batch needs it.
///
/// Chunk sizes: the accounts family's full chunks have the slots given at setup, which fix
/// the largest `k`; every other family's full chunks have as many slots as fit in the same
/// `2^k` rows (at least one). A run of one family is split into full chunks and, for what
/// is left, the smaller chunks (at smaller `k`) that cost least: proving time doubles with
/// each `k`, so a run of three transfers is a two-slot chunk at k = 12 and a one-slot one at
/// k = 11, not one eight-slot chunk at k = 14.
#[derive(Debug)]
pub struct Prover {
    data_dir: PathBuf,
    progress: bool,
    k: u32,
    accounts_slots: usize,
    params: Mutex<BTreeMap<u32, Arc<Params<vesta::Affine>>>>,
    keys: Mutex<BTreeMap<(Family, usize), Arc<ChunkKeys>>>,
    signature_keys: Mutex<BTreeMap<u32, Arc<SignatureKeys>>>,
}

/// About how long making parameters of size `2^k` takes on this 2-core machine (10 s at
/// k = 14, doubling with each k), for the progress estimate.
fn params_estimate(k: u32) -> Duration {
    Duration::from_secs_f64(10.0 * 2f64.powi(k as i32 - 14))
}

/// About how long proving `chunks` chunks at `k` takes with `threads` threads: 1.4 s per
/// chunk at k = 12 with two threads, doubling with each k (measured on this machine).
fn proving_estimate(k: u32, chunks: usize, threads: usize) -> Duration {
    let one = 1.4 * 2f64.powi(k as i32 - 12) * 2.0 / threads.max(1) as f64;
    Duration::from_secs_f64(one * chunks as f64)
}

fn spinner(show: bool, message: String) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

impl Prover {
    /// Reads the parameters for accounts chunks of `slots` slots from the cache under
    /// `data_dir` (making and caching them the first time, with a spinner if `progress`),
    /// and makes the accounts chunk keys.
    pub fn setup(data_dir: &Path, slots: usize, progress: bool) -> Result<Self, ProveError> {
        let prover = Self::lazy(data_dir, slots, progress)?;
        prover.keys_for(Family::Accounts, slots)?;
        Ok(prover)
    }

    /// A prover for accounts chunks of `slots` slots that reads or makes nothing until a
    /// chunk needs it: what plans batches without proving them (the sequencer of a prover
    /// fleet) or proves chunks of any size it is given (a fleet worker).
    pub fn lazy(data_dir: &Path, slots: usize, progress: bool) -> Result<Self, ProveError> {
        if slots == 0 {
            return Err(ProveError::ZeroSlots);
        }
        Ok(Prover {
            data_dir: data_dir.to_path_buf(),
            progress,
            k: Family::Accounts.k_for(slots),
            accounts_slots: slots,
            params: Mutex::new(BTreeMap::new()),
            keys: Mutex::new(BTreeMap::new()),
            signature_keys: Mutex::new(BTreeMap::new()),
        })
    }

    /// The largest `k` of the chunks (every family's full chunks fit in it when one slot
    /// does).
    pub fn k(&self) -> u32 {
        self.k
    }

    /// Slots of a full chunk of `family`.
    pub fn slots(&self, family: Family) -> usize {
        match family {
            Family::Accounts => self.accounts_slots,
            other => other.slots_for(self.k).max(1),
        }
    }

    /// The chunk sizes (slots) a run of `len` transactions of `family` is proven in:
    /// full chunks, then the cheapest cover of the rest by smaller chunks (cost `2^k` each).
    pub fn chunk_sizes(&self, family: Family, len: usize) -> Vec<usize> {
        let full = self.slots(family);
        // The distinct chunk sizes up to full, one per k: the most slots each k holds.
        let ladder: Vec<(u32, usize)> = (family.k_for(1)..=family.k_for(full))
            .map(|k| (k, family.slots_for(k).clamp(1, full)))
            .collect();
        cheapest_cover(len, &ladder)
            .into_iter()
            .map(|(_, slots)| slots)
            .collect()
    }

    /// The parameters of size `2^k`, read from the cache (made and cached the first time),
    /// with the digest pinned for `k`: a cache file that does not match the pin is replaced,
    /// with a warning on standard error.
    pub fn params(&self, k: u32) -> Result<Arc<Params<vesta::Affine>>, ProveError> {
        if let Some(p) = self.params.lock().expect("no panics").get(&k) {
            return Ok(p.clone());
        }
        let making = RefCell::new(None);
        let loaded = circuits::params::load_or_make(&self.data_dir, k, |k| {
            let about = params_estimate(k).as_secs();
            *making.borrow_mut() = Some(spinner(
                self.progress,
                format!("making commitment parameters, k = {k} (about {about} s, once: they are cached)"),
            ));
        })
        .map_err(|source| ProveError::Params {
            dir: self.data_dir.display().to_string(),
            source,
        })?;
        if let Some(bar) = making.into_inner() {
            bar.finish_with_message(format!("made commitment parameters, k = {k}"));
        }
        if let Some(rejected) = loaded.provenance.rejected() {
            eprintln!(
                "WARNING: the parameter cache file {} is NOT the pinned commitment parameters \
                 for k = {k} ({rejected}); it was ignored and replaced with the pinned ones.",
                loaded.provenance.path.display()
            );
        }
        let params = Arc::new(loaded.params);
        self.params
            .lock()
            .expect("no panics")
            .insert(k, params.clone());
        Ok(params)
    }

    /// The keys of `family`'s chunks of `slots` slots (made the first time).
    pub fn keys_for(&self, family: Family, slots: usize) -> Result<Arc<ChunkKeys>, ProveError> {
        if let Some(k) = self.keys.lock().expect("no panics").get(&(family, slots)) {
            return Ok(k.clone());
        }
        let params = self.params(family.k_for(slots))?;
        let bar = spinner(
            self.progress,
            format!("making {family} chunk keys for {slots} slots (once per process)"),
        );
        let keys = ChunkKeys::for_family(&params, family, slots)
            .map_err(|source| ProveError::Keys { slots, source })?;
        bar.finish_and_clear();
        let keys = Arc::new(keys);
        self.keys
            .lock()
            .expect("no panics")
            .insert((family, slots), keys.clone());
        Ok(keys)
    }

    /// The keys of signature proofs at `k` (made the first time).
    pub fn signature_keys_for(&self, k: u32) -> Result<Arc<SignatureKeys>, ProveError> {
        if let Some(keys) = self.signature_keys.lock().expect("no panics").get(&k) {
            return Ok(keys.clone());
        }
        let params = self.params(k)?;
        let bar = spinner(
            self.progress,
            format!("making signature proof keys, k = {k} (once per process)"),
        );
        let keys = SignatureKeys::new(&params, signatures::capacity_for(k))
            .map_err(|source| ProveError::SignatureKeys { k, source })?;
        bar.finish_and_clear();
        let keys = Arc::new(keys);
        self.signature_keys
            .lock()
            .expect("no panics")
            .insert(k, keys.clone());
        Ok(keys)
    }

    /// The signature proofs of `signed` (a batch's signatures, in order): as few as hold
    /// them ([`signature_proof_sizes`]), their keys made first.
    fn signature_jobs(
        &self,
        signed: &[(Entry, Signature)],
    ) -> Result<Vec<SignatureJob>, ProveError> {
        let mut jobs = Vec::new();
        let mut rest = signed;
        for (index, (k, count)) in signature_proof_sizes(signed.len()).into_iter().enumerate() {
            let (part, after) = rest.split_at(count);
            rest = after;
            jobs.push(self.signature_job(index, k, part)?);
        }
        Ok(jobs)
    }

    /// Signature proof `index` at `k` of `part`, its keys made first.
    fn signature_job(
        &self,
        index: usize,
        k: u32,
        part: &[(Entry, Signature)],
    ) -> Result<SignatureJob, ProveError> {
        Ok(SignatureJob {
            index,
            k,
            keys: self.signature_keys_for(k)?,
            params: self.params(k)?,
            part: part.to_vec(),
        })
    }

    /// Proves batch `number` of `txs`, all applied at `time`, starting from `state` (which
    /// is left as the batch leaves it). The batch is split into runs of one family, each
    /// run into chunks of that family's size; witnesses are built one chunk after another;
    /// proofs are made on a rayon pool as `options` says.
    pub fn prove_batch(
        &self,
        state: &mut State,
        number: u64,
        time: u64,
        txs: &[Transaction],
        options: Options,
    ) -> Result<BatchArtifact, ProveError> {
        let root_old = state.root();
        let planned = self.plan_batch(state, time, txs)?;
        let mut signed = Vec::new();
        let mut chunks = Vec::with_capacity(planned.len());
        for p in &planned {
            signed.extend(witness::signed_entries(&p.witness, &p.instance));
            chunks.push(p.artifact());
        }
        let circuits: Vec<(Family, usize)> = planned.iter().map(|p| (p.family, p.slots)).collect();
        let groups = proof_groups(&circuits);
        let mut planned: Vec<Option<PlannedChunk>> = planned.into_iter().map(Some).collect();
        let mut jobs = Vec::with_capacity(groups.len());
        for (index, members) in groups.into_iter().enumerate() {
            let (family, slots) = circuits[members[0]];
            let (witnesses, instances) = members
                .iter()
                .map(|&c| {
                    let p = planned[c].take().expect("each chunk in one group");
                    (p.witness, p.instance)
                })
                .unzip();
            jobs.push(Job {
                index,
                keys: self.keys_for(family, slots)?,
                params: self.params(family.k_for(slots))?,
                chunks: members,
                witnesses,
                instances,
            });
        }
        let signature_jobs = self.signature_jobs(&signed)?;
        let (chunk_proofs, signatures) = prove_jobs(jobs, signature_jobs, options)?;
        Ok(BatchArtifact {
            version: VERSION,
            number,
            time,
            root_old,
            root_new: state.root(),
            transactions: txs.to_vec(),
            chunks,
            chunk_proofs,
            signatures,
        })
    }
}

/// One chunk of a batch with its witness built: what a prover proves, here or in a fleet.
#[derive(Clone, Debug)]
pub struct PlannedChunk {
    /// Its place in the batch (0 first).
    pub index: usize,
    /// Its circuit.
    pub family: Family,
    /// Its slots.
    pub slots: usize,
    /// The batch's transactions it holds: `first..first + transactions`.
    pub first: usize,
    /// How many (the other slots are padding).
    pub transactions: usize,
    /// Its witness.
    pub witness: ChunkWitness,
    /// Its public inputs.
    pub instance: Instance,
}

impl PlannedChunk {
    /// Its public data as the artifact lists it.
    pub fn artifact(&self) -> ChunkArtifact {
        ChunkArtifact {
            family: self.family,
            slots: self.slots,
            transactions: self.transactions,
            root_old: self.instance.root_old(),
            root_new: self.instance.root_new(),
            data_hash: self.instance.data_hash(),
            signers: self.instance.signers()[..self.transactions].to_vec(),
        }
    }
}

impl Prover {
    /// Splits `txs` (a batch applied at `time`) into chunks and builds their witnesses in
    /// order, each from the state the previous one left; `state` is left as the batch
    /// leaves it. The batch is split into runs of one family, each run into chunks of that
    /// family's sizes ([`Prover::chunk_sizes`]). Makes no keys.
    pub fn plan_batch(
        &self,
        state: &mut State,
        time: u64,
        txs: &[Transaction],
    ) -> Result<Vec<PlannedChunk>, ProveError> {
        let mut planned = Vec::new();
        for (family, start, end) in chunk::family::runs(txs) {
            let mut part_start = start;
            for slots in self.chunk_sizes(family, end - start) {
                let part_end = (part_start + slots).min(end);
                let index = planned.len();
                let (witness, instance) =
                    chunk::family::build(family, state, &txs[part_start..part_end], time, slots)
                        .map_err(|source| ProveError::Witness {
                            chunk: index,
                            first: part_start,
                            end: part_end,
                            source,
                        })?;
                planned.push(PlannedChunk {
                    index,
                    family,
                    slots,
                    first: part_start,
                    transactions: part_end - part_start,
                    witness,
                    instance,
                });
                part_start = part_end;
            }
        }
        Ok(planned)
    }

    /// Proves one chunk on the calling thread's rayon pool and checks the proof against its
    /// public inputs before returning it (a fleet worker never hands in a proof it has not
    /// verified).
    pub fn prove_chunk(
        &self,
        witness: ChunkWitness,
        instance: &Instance,
    ) -> Result<Vec<u8>, ProveError> {
        let (family, slots) = (witness.family, witness.slots.len());
        let keys = self.keys_for(family, slots)?;
        let params = self.params(family.k_for(slots))?;
        let made = proof::prove(&params, &keys, witness, instance, rand::rng())
            .map_err(|source| ProveError::Proof { chunk: 0, source })?;
        proof::verify(&params, keys.vk(), instance, &made)
            .map_err(|source| ProveError::Proof { chunk: 0, source })?;
        Ok(made)
    }

    /// Proves the signatures of one chunk's signed slots in one signature proof (at the
    /// smallest `k` that holds them) on the calling thread's rayon pool, checked before it is
    /// returned (`None`: no slot is signed). What a fleet worker proves beside each chunk.
    pub fn prove_chunk_signatures(
        &self,
        witness: &ChunkWitness,
        instance: &Instance,
    ) -> Result<Option<SignatureArtifact>, ProveError> {
        let signed = witness::signed_entries(witness, instance);
        if signed.is_empty() {
            return Ok(None);
        }
        // One proof, at the smallest k that holds them all (a chunk has fewer slots than the
        // largest holds).
        let k = signatures::k_for(signed.len()).expect("a chunk's signatures fit one proof");
        self.signature_job(0, k, &signed)?.prove().map(Some)
    }
}

/// The signature proofs that hold `count` signatures, in order, as `(k, signatures)`: full
/// proofs at [`signatures::K_MAX`], then the cheapest cover of the rest (cost `2^k` each), the
/// larger proofs first, each holding what fits.
pub fn signature_proof_sizes(count: usize) -> Vec<(u32, usize)> {
    let ladder: Vec<(u32, usize)> = (signatures::K_MIN..=signatures::K_MAX)
        .map(|k| (k, signatures::capacity_for(k)))
        .collect();
    let mut left = count;
    cheapest_cover(count, &ladder)
        .into_iter()
        .map(|(k, capacity)| {
            let holds = capacity.min(left);
            left -= holds;
            (k, holds)
        })
        .collect()
}

/// The sizes that cover `count` items at least cost, largest first: as many of the last
/// (largest) size of `ladder` as are full, then the cover of the rest by any sizes with the
/// least total `2^k`. `ladder` is `(k, capacity)` with capacities growing with `k`.
fn cheapest_cover(count: usize, ladder: &[(u32, usize)]) -> Vec<(u32, usize)> {
    let &(k_full, full) = ladder.last().expect("a size");
    let mut sizes = vec![(k_full, full); count / full];
    let rest = count % full;
    // cost[r]: least total 2^k to cover r items; choice[r]: the size taken.
    let mut cost = vec![0u64; rest + 1];
    let mut choice = vec![(0, 0); rest + 1];
    for r in 1..=rest {
        let (c, size) = ladder
            .iter()
            .map(|&(k, cap)| ((1u64 << k) + cost[r.saturating_sub(cap)], (k, cap)))
            .min()
            .expect("a size");
        cost[r] = c;
        choice[r] = size;
    }
    let mut tail = Vec::new();
    let mut r = rest;
    while r > 0 {
        tail.push(choice[r]);
        r = r.saturating_sub(choice[r].1);
    }
    tail.sort_unstable_by(|a, b| b.cmp(a));
    sizes.extend(tail);
    sizes
}

/// The most rows a proof of several chunks holds in all (`2^k` per chunk): the chunks of
/// one circuit at k = 11 are proven eight to a proof, at k = 12 four, at k = 13 two, from
/// k = 14 one. A proof of `n` chunks at k = 11 costs a fraction of `n` proofs (one quotient
/// commitment and one opening instead of `n`: on 2 threads 0.74 s for one, 0.49 s a chunk
/// for four, 0.52 s for eight, `benches/reports/2core-groups`), and its memory grows with `n`, so this
/// keeps a proof's memory at a k = 14 chunk's.
pub const GROUP_ROWS: usize = 1 << 14;

/// Which chunks each chunk proof proves: the chunks of one circuit (family and slots) in
/// batch order, as many to a proof as [`GROUP_ROWS`] allows; the proofs ordered by their
/// first chunk.
pub fn proof_groups(circuits: &[(Family, usize)]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut open: BTreeMap<(Family, usize), usize> = BTreeMap::new();
    for (i, &(family, slots)) in circuits.iter().enumerate() {
        let most = (GROUP_ROWS >> family.k_for(slots)).max(1);
        match open.get(&(family, slots)) {
            Some(&g) if groups[g].len() < most => groups[g].push(i),
            _ => {
                open.insert((family, slots), groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups
}

/// One chunk proof to make: the chunks of one circuit it proves.
struct Job {
    index: usize,
    params: Arc<Params<vesta::Affine>>,
    keys: Arc<ChunkKeys>,
    chunks: Vec<usize>,
    witnesses: Vec<ChunkWitness>,
    instances: Vec<Instance>,
}

/// One signature proof to make.
struct SignatureJob {
    index: usize,
    k: u32,
    params: Arc<Params<vesta::Affine>>,
    keys: Arc<SignatureKeys>,
    part: Vec<(Entry, Signature)>,
}

impl SignatureJob {
    /// Makes the proof on the calling thread's rayon pool and checks it before returning
    /// it.
    fn prove(self) -> Result<SignatureArtifact, ProveError> {
        let failed = |source| ProveError::Signatures {
            proof: self.index,
            source,
        };
        let (params, keys) = (&self.params, &self.keys);
        let proof = signatures::prove(params, keys, &self.part, rand::rng()).map_err(failed)?;
        let entries: Vec<Entry> = self.part.iter().map(|(e, _)| *e).collect();
        signatures::verify(params, keys.vk(), &entries, keys.capacity(), &proof).map_err(failed)?;
        Ok(SignatureArtifact {
            k: self.k,
            signatures: self.part.len(),
            proof,
        })
    }
}

/// A proof to make: chunks' or signatures'.
enum Work {
    Chunks(Job),
    Signatures(SignatureJob),
}

/// A proof made, with its place among its batch's proofs of its kind.
enum Made {
    Chunks(usize, ChunkProofArtifact),
    Signatures(usize, SignatureArtifact),
}

impl Work {
    /// What it costs, about, for ordering the work: `2^k` per chunk, and a signature proof
    /// 1.4 times a one-chunk proof of its `k` (its gates have degree 9 and more terms:
    /// 1.05 s against 0.75 s at k = 11 on 2 threads here).
    fn cost(&self) -> usize {
        match self {
            Work::Chunks(job) => (10 * job.chunks.len()) << job.params.k(),
            Work::Signatures(job) => 14 << job.k,
        }
    }
}

/// Makes the chunk and signature proofs of a batch, the dearest first, with the threads
/// shared as `options` says ([`schedule::in_turn`]); returns each kind in order.
fn prove_jobs(
    jobs: Vec<Job>,
    signature_jobs: Vec<SignatureJob>,
    options: Options,
) -> Result<(Vec<ChunkProofArtifact>, Vec<SignatureArtifact>), ProveError> {
    let threads = options.threads();
    let bar = if options.progress {
        let bar = ProgressBar::new(jobs.iter().map(|j| j.chunks.len() as u64).sum());
        bar.set_style(
            ProgressStyle::with_template(
                "proving {pos}/{len} chunks, {msg} [{elapsed}] {wide_bar}",
            )
            .expect("a valid template"),
        );
        let about: Duration = jobs
            .iter()
            .map(|j| proving_estimate(j.params.k(), j.chunks.len(), threads))
            .sum();
        bar.set_message(format!("about {} s", about.as_secs()));
        bar.enable_steady_tick(Duration::from_millis(500));
        bar
    } else {
        ProgressBar::hidden()
    };
    let prove_chunks = |job: Job| {
        let first = job.chunks[0];
        let proof = proof::prove_group(
            &job.params,
            &job.keys,
            job.witnesses,
            &job.instances,
            rand::rng(),
        )
        .map_err(|source| ProveError::Proof {
            chunk: first,
            source,
        })?;
        bar.inc(job.chunks.len() as u64);
        Ok::<_, ProveError>(Made::Chunks(
            job.index,
            ChunkProofArtifact {
                chunks: job.chunks,
                proof,
            },
        ))
    };
    let prove_one = |work: Work| match work {
        Work::Chunks(job) => prove_chunks(job),
        Work::Signatures(job) => Ok(Made::Signatures(job.index, job.prove()?)),
    };
    let mut jobs: Vec<Work> = jobs
        .into_iter()
        .map(Work::Chunks)
        .chain(signature_jobs.into_iter().map(Work::Signatures))
        .collect();
    jobs.sort_by_key(|w| std::cmp::Reverse(w.cost()));
    let workers = match options.split {
        Split::ChunksInParallel => threads,
        Split::ChunksInSequence => 1,
    };
    let tasks: Vec<_> = jobs.into_iter().map(|w| move || prove_one(w)).collect();
    let made = schedule::in_turn(threads, workers, tasks)?
        .into_iter()
        .collect::<Result<Vec<Made>, ProveError>>()?;
    bar.finish_and_clear();
    let (mut chunks, mut signatures) = (Vec::new(), Vec::new());
    for m in made {
        match m {
            Made::Chunks(i, p) => chunks.push((i, p)),
            Made::Signatures(i, p) => signatures.push((i, p)),
        }
    }
    chunks.sort_by_key(|(i, _)| *i);
    signatures.sort_by_key(|(i, _)| *i);
    Ok((
        chunks.into_iter().map(|(_, p)| p).collect(),
        signatures.into_iter().map(|(_, p)| p).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch's signatures are covered in order, each proof within its capacity, at the
    /// least total `2^k` (ties to the smaller proofs, as for chunks): 17 signatures cost
    /// 6,144 rows' worth, not one k = 13 proof's 8,192; sixteen are two proofs at k = 11
    /// (a k = 12 proof holds no more than two at k = 11), 66 one at k = 14.
    #[test]
    fn signature_proofs_cover_a_batch_at_least_cost() {
        let cost = |sizes: &[(u32, usize)]| sizes.iter().map(|(k, _)| 1u64 << k).sum::<u64>();
        assert_eq!(signature_proof_sizes(0), vec![]);
        assert_eq!(signature_proof_sizes(1), vec![(11, 1)]);
        assert_eq!(signature_proof_sizes(8), vec![(11, 8)]);
        assert_eq!(signature_proof_sizes(16), vec![(11, 8), (11, 8)]);
        assert_eq!(signature_proof_sizes(66), vec![(14, 66)]);
        assert_eq!(signature_proof_sizes(132), vec![(15, 132)]);
        assert_eq!(signature_proof_sizes(133), vec![(15, 132), (11, 1)]);
        assert_eq!(cost(&signature_proof_sizes(9)), 4096);
        assert_eq!(cost(&signature_proof_sizes(17)), 6144);
        for count in 0..400 {
            let sizes = signature_proof_sizes(count);
            assert_eq!(sizes.iter().map(|s| s.1).sum::<usize>(), count);
            assert!(sizes
                .iter()
                .all(|&(k, n)| n >= 1 && n <= signatures::capacity_for(k)));
            assert!(sizes.windows(2).all(|w| w[0].0 >= w[1].0), "{sizes:?}");
        }
    }

    /// The chunks of one circuit share proofs, in batch order, up to `GROUP_ROWS` rows a
    /// proof: eight at k = 11, four at k = 12, one from k = 14.
    #[test]
    fn chunks_of_one_circuit_share_proofs() {
        use Family::*;
        let circuits = [
            (Accounts, 1),
            (Registry, 1),
            (Accounts, 1),
            (Governance, 1),
            (Accounts, 2),
            (Registry, 1),
            (Governance, 1),
        ];
        assert_eq!(
            proof_groups(&circuits),
            vec![vec![0, 2], vec![1, 5], vec![3, 6], vec![4]]
        );
        assert_eq!(
            proof_groups(&[(Accounts, 1); 9]),
            vec![(0..8).collect::<Vec<_>>(), vec![8]]
        );
        assert_eq!(
            proof_groups(&[(Governance, 1); 5]),
            vec![vec![0, 1, 2, 3], vec![4]]
        );
        assert_eq!(proof_groups(&[(Accounts, 10); 2]), vec![vec![0], vec![1]]);
        assert_eq!(proof_groups(&[]), Vec::<Vec<usize>>::new());
    }

    /// A run of transfers is covered by full chunks, then the cheapest smaller ones.
    #[test]
    fn chunk_sizes_cover_a_run_at_least_cost() {
        let prover = Prover::lazy(&std::env::temp_dir(), 10, false).unwrap();
        assert_eq!(prover.chunk_sizes(Family::Accounts, 0), Vec::<usize>::new());
        // Three transfers: three one-slot chunks at k = 11 or a two-slot and a one-slot one
        // cost the same 2^k; ties go to the smaller chunks.
        assert_eq!(prover.chunk_sizes(Family::Accounts, 3), vec![1, 1, 1]);
        assert_eq!(prover.chunk_sizes(Family::Accounts, 5), vec![5]);
        assert_eq!(prover.chunk_sizes(Family::Accounts, 10), vec![10]);
        assert_eq!(prover.chunk_sizes(Family::Accounts, 25), vec![10, 10, 5]);
        // A registry chunk at k = 14 holds twelve; eleven cost the same 2^14 as one chunk of
        // twelve, two of six at k = 13 or three of three at k = 12 and two of one at k = 11,
        // and ties go to the smaller chunks.
        assert_eq!(prover.chunk_sizes(Family::Registry, 12), vec![12]);
        assert_eq!(
            prover.chunk_sizes(Family::Registry, 11),
            vec![3, 3, 3, 1, 1]
        );
        for len in 0..60 {
            let sizes = prover.chunk_sizes(Family::Accounts, len);
            assert!(sizes.iter().sum::<usize>() >= len);
            assert!(sizes.iter().all(|&s| (1..=10).contains(&s)));
        }
    }
}
