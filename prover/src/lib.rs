//! The batch prover: splits a sealed batch into fixed-size chunks, builds the chunks'
//! witnesses **in order** (each from the state the previous chunk left), then proves the
//! chunks **in parallel** on a rayon pool, and writes the batch artifact that auditors check
//! ([`verifier::BatchArtifact`]).
//!
//! halo2 itself runs on rayon inside a proof, so the threads can be split two ways
//! ([`Split`]): all chunks at once with the threads shared out among them, or one chunk after
//! another with every thread inside each proof. On this 2-core machine the first is faster
//! (see the README's measurements), so it is the default.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use circuits::chunk::proof::{self, ChunkKeys, ProofError};
use circuits::chunk::witness::{self, WitnessError};
use circuits::chunk::{self, Instance};
use circuits::{State, Transaction};
use halo2_proofs::poly::commitment::Params;
use indicatif::{ProgressBar, ProgressStyle};
use pasta_curves::vesta;
use verifier::{BatchArtifact, ChunkArtifact, VERSION};

/// Why a batch cannot be proved.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The parameter cache cannot be read or written.
    #[error("parameters under {dir}: {source}")]
    Params {
        /// The data directory.
        dir: String,
        /// What failed.
        source: std::io::Error,
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
    /// A thread pool cannot be made.
    #[error("thread pool: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
}

/// How the threads are shared between the chunks of a batch and the work inside each proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Split {
    /// All chunks at once, `threads / chunks` threads (at least one) inside each proof.
    #[default]
    ChunksInParallel,
    /// One chunk after another, all threads inside each proof.
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

/// The commitment parameters and chunk keys for one chunk size: made once per process.
#[derive(Debug)]
pub struct Prover {
    params: Params<vesta::Affine>,
    keys: ChunkKeys,
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
    /// Reads the parameters for chunks of `slots` slots from the cache under `data_dir`
    /// (making and caching them the first time, with a spinner if `progress`), and makes the
    /// chunk keys.
    pub fn setup(data_dir: &Path, slots: usize, progress: bool) -> Result<Self, ProveError> {
        if slots == 0 {
            return Err(ProveError::ZeroSlots);
        }
        let k = chunk::k_for(slots);
        let making = RefCell::new(None);
        let params = circuits::params::load_or_make(data_dir, k, |k| {
            let about = params_estimate(k).as_secs();
            *making.borrow_mut() = Some(spinner(
                progress,
                format!("making commitment parameters, k = {k} (about {about} s, once: they are cached)"),
            ));
        })
        .map_err(|source| ProveError::Params {
            dir: data_dir.display().to_string(),
            source,
        })?;
        if let Some(bar) = making.into_inner() {
            bar.finish_with_message(format!("made commitment parameters, k = {k}"));
        }
        Self::with_params(params, slots, progress)
    }

    /// Makes the chunk keys for `slots` slots with `params` (of size `2^k_for(slots)`).
    pub fn with_params(
        params: Params<vesta::Affine>,
        slots: usize,
        progress: bool,
    ) -> Result<Self, ProveError> {
        let bar = spinner(progress, format!("making chunk keys for {slots} slots"));
        let keys = ChunkKeys::setup(&params, slots)
            .map_err(|source| ProveError::Keys { slots, source })?;
        bar.finish_and_clear();
        Ok(Prover { params, keys })
    }

    /// The parameters.
    pub fn params(&self) -> &Params<vesta::Affine> {
        &self.params
    }

    /// The chunk keys.
    pub fn keys(&self) -> &ChunkKeys {
        &self.keys
    }

    /// Proves a batch: see [`prove_batch`].
    pub fn prove_batch(
        &self,
        state: &mut State,
        number: u64,
        time: u64,
        txs: &[Transaction],
        options: Options,
    ) -> Result<BatchArtifact, ProveError> {
        prove_batch(&self.params, &self.keys, state, number, time, txs, options)
    }
}

/// Proves batch `number` of `txs`, all applied at `time`, starting from `state` (which is
/// left as the batch leaves it), in chunks of `keys.slots()` slots. Witnesses are built one
/// chunk after another; proofs are made on a rayon pool as `options` says.
pub fn prove_batch(
    params: &Params<vesta::Affine>,
    keys: &ChunkKeys,
    state: &mut State,
    number: u64,
    time: u64,
    txs: &[Transaction],
    options: Options,
) -> Result<BatchArtifact, ProveError> {
    let slots = keys.slots();
    if slots == 0 {
        return Err(ProveError::ZeroSlots);
    }
    let root_old = state.root();
    // Witnesses, in order: each chunk starts from the state the previous one left.
    let mut witnesses = Vec::new();
    for (i, part) in txs.chunks(slots).enumerate() {
        let (w, instance) =
            witness::build(state, part, time, slots).map_err(|source| ProveError::Witness {
                chunk: i,
                first: i * slots,
                end: i * slots + part.len(),
                source,
            })?;
        witnesses.push((i, w, instance));
    }
    let threads = options.threads();
    let bar = if options.progress {
        let bar = ProgressBar::new(witnesses.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "proving {pos}/{len} chunks of {msg} [{elapsed}] {wide_bar}",
            )
            .expect("a valid template"),
        );
        let about = proving_estimate(chunk::k_for(slots), witnesses.len(), threads);
        bar.set_message(format!("{slots} slots (about {} s)", about.as_secs()));
        bar.enable_steady_tick(Duration::from_millis(500));
        bar
    } else {
        ProgressBar::hidden()
    };
    let prove_one = |(i, w, instance): (usize, _, Instance)| {
        let proof = proof::prove(params, keys, w, &instance, rand::rng())
            .map_err(|source| ProveError::Proof { chunk: i, source })?;
        bar.inc(1);
        Ok::<_, ProveError>(ChunkArtifact {
            root_old: instance.root_old(),
            root_new: instance.root_new(),
            data_hash: instance.data_hash(),
            proof,
        })
    };
    let chunks: Vec<ChunkArtifact> = match options.split {
        Split::ChunksInSequence => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?;
            pool.install(|| {
                witnesses
                    .into_iter()
                    .map(prove_one)
                    .collect::<Result<Vec<_>, _>>()
            })
        }
        Split::ChunksInParallel => {
            // Each of the `workers` threads of a rayon pool takes chunks in turn (a
            // broadcast: one worker loop per thread) and proves them on its own rayon pool of
            // `inner` threads. Not a `par_iter` with nested pools: a rayon worker blocked in
            // another pool's `install` steals more chunks meanwhile, so every chunk would run
            // at once, over-subscribed, and none would finish before the end.
            let workers = threads.min(witnesses.len()).max(1);
            let inner = (threads / workers).max(1);
            let count = witnesses.len();
            let jobs = std::sync::Mutex::new(witnesses.into_iter());
            let results = std::sync::Mutex::new(Vec::with_capacity(count));
            let outer = rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .build()?;
            let pools = (0..workers)
                .map(|_| rayon::ThreadPoolBuilder::new().num_threads(inner).build())
                .collect::<Result<Vec<_>, _>>()?;
            outer.broadcast(|context| {
                let pool = &pools[context.index()];
                loop {
                    let job = jobs.lock().expect("no panics").next();
                    let Some(job) = job else { break };
                    let i = job.0;
                    let result = pool.install(|| prove_one(job));
                    results.lock().expect("no panics").push((i, result));
                }
            });
            let mut results = results.into_inner().expect("no panics");
            results.sort_by_key(|(i, _)| *i);
            results
                .into_iter()
                .map(|(_, r)| r)
                .collect::<Result<Vec<_>, _>>()
        }
    }?;
    bar.finish_and_clear();
    Ok(BatchArtifact {
        version: VERSION,
        number,
        time,
        chunk_slots: slots,
        root_old,
        root_new: state.root(),
        transactions: txs.to_vec(),
        chunks,
    })
}
