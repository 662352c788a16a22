//! Background proving: every call into the prover is in this module.
//!
//! One thread proves the sealed batches in order (a batch's proof starts from the state the
//! previous batch left, so they chain): it reads the batch's transactions back from the
//! log, proves them with [`prover::Prover::prove_batch`] on a copy of its state, checks that
//! the artifact's roots are the ones sealed, stores the artifact durably and moves on. A
//! batch whose proving fails (an error, or a panic in the prover) is never dropped: the
//! failure is logged, counted in `/metrics`, shown in the batch's status in the API, and the
//! batch is tried again after a back-off (1 s, doubling, at most 256 s), while ingest goes
//! on. Batches after it wait for it.
//!
//! With [`ProvingConfig::warm_up`], the thread first makes the commitment parameters it
//! lacks and every family's chunk keys, before any batch is sealed, and says what it is
//! making in [`ProofBook::setup`] (with an estimate of each step), so that a display can show
//! progress and an ETA: on a first run, parameters and keys take longer than the proofs of a
//! small batch.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use circuits::chunk::Family;
use circuits::State;
use prover::retry::panic_message;
use serde::Serialize;

use crate::shared::Shared;
use crate::store::BatchRecord;

/// How proving is doing for one batch (absent: not tried yet).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Attempts {
    /// Attempts that failed.
    pub failures: u32,
    /// Why the last one failed.
    pub last_error: Option<String>,
    /// Unix time the current attempt started, while one runs.
    pub proving_since: Option<u64>,
    /// Unix time of the next attempt after a failure.
    pub retry_at: Option<u64>,
}

/// What the API shows of proving.
#[derive(Debug, Default)]
pub struct ProofBook {
    /// Every batch up to this one is proven (0: none).
    pub proven_through: u64,
    /// The state batch `proven_through` leaves (genesis for 0), which `GET /v1/proven/…`
    /// proves facts of; set together with `proven_through`.
    pub proven_state: Option<Arc<State>>,
    /// Batches being proven or whose proving failed.
    pub attempts: BTreeMap<u64, Attempts>,
    /// Proving is off in this process (`--no-prove`).
    pub disabled: bool,
    /// The prover's set-up, when it warms up at start.
    pub setup: Setup,
    /// The prover fleet's progress (`--postgres`).
    pub fleet: Option<crate::pipeline::FleetView>,
    /// When each batch was proven in this process's lifetime, and how long its proof took
    /// where this process made it (the explorer's proving time and lag): the latest
    /// [`TIMINGS_KEPT`], not kept across a restart.
    pub timings: BTreeMap<u64, ProvenTiming>,
}

/// How many batches' timings [`ProofBook::timings`] keeps (the latest).
pub const TIMINGS_KEPT: usize = 100_000;

/// When a batch was proven ([`ProofBook::timings`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ProvenTiming {
    /// Unix time, milliseconds, at which its proof was published.
    pub proven_at_ms: u64,
    /// Seconds its proving took, when this process proved it (not for a worker's upload or
    /// a fleet's chunks).
    pub proving_seconds: Option<f64>,
}

/// One step of the prover's set-up: parameters made, or a family's chunk keys.
#[derive(Clone, Debug)]
pub struct SetupStep {
    /// What it makes, for people.
    pub what: String,
    /// About how long it takes on an idle 2-core machine.
    pub estimate: Duration,
    /// When it started.
    pub started: Option<Instant>,
    /// How long it took, once done.
    pub took: Option<Duration>,
}

/// The prover's set-up at start ([`ProvingConfig::warm_up`]).
#[derive(Clone, Debug, Default)]
pub struct Setup {
    /// Its steps, in order (empty until planned).
    pub steps: Vec<SetupStep>,
    /// All steps are done (or the set-up failed: see `error`).
    pub finished: bool,
    /// Why it failed; proving retries the set-up with the first batch.
    pub error: Option<String>,
}

impl ProofBook {
    /// Records that every batch through `number` is proven and that `state` is what it
    /// leaves.
    pub fn set_proven(&mut self, number: u64, state: Arc<State>) {
        let proven_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.timings.entry(number).or_default().proven_at_ms = proven_at_ms;
        while self.timings.len() > TIMINGS_KEPT {
            self.timings.pop_first();
        }
        self.proven_through = number;
        self.proven_state = Some(state);
        self.attempts.remove(&number);
    }
}

impl Setup {
    /// About how long is left: the estimates of the steps not done, less the time the
    /// current one has run (at least a second while it runs).
    pub fn remaining(&self) -> Duration {
        self.steps
            .iter()
            .filter(|s| s.took.is_none())
            .map(|s| match s.started {
                Some(at) => s
                    .estimate
                    .saturating_sub(at.elapsed())
                    .max(Duration::from_secs(1)),
                None => s.estimate,
            })
            .sum()
    }

    /// The step running now.
    pub fn current(&self) -> Option<&SetupStep> {
        self.steps
            .iter()
            .find(|s| s.started.is_some() && s.took.is_none())
    }
}

/// The prover thread's settings.
#[derive(Clone, Debug)]
pub struct ProvingConfig {
    /// Where the parameter cache lives.
    pub params_dir: PathBuf,
    /// Slots per transfer chunk (1: k = 11; 2: k = 12).
    pub slots: usize,
    /// Threads for proving (0: one per core).
    pub threads: usize,
    /// Make the parameters and every family's chunk keys at start, before the first batch.
    pub warm_up: bool,
    /// The most transactions a batch holds: the warm-up also makes the keys of the signature
    /// proofs a batch of that many signed transactions needs (and the smaller ones).
    pub batch_size: u64,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The longest wait before a batch that keeps failing is proven again.
const MAX_BACKOFF: Duration = Duration::from_secs(256);

/// The back-off after `failures` failed attempts: 1 s, doubling, at most 256 s.
pub fn backoff(failures: u32) -> Duration {
    prover::retry::backoff(failures, MAX_BACKOFF)
}

/// The prover thread: proves sealed batches after `proven` (the last proven batch and the
/// state it left) until shutdown.
pub fn run(shared: Arc<Shared>, config: ProvingConfig, proven: (u64, State)) {
    let (mut done, state) = proven;
    let mut state = Arc::new(state);
    let mut prover: Option<prover::Prover> = None;
    if config.warm_up {
        prover = warm_up(&shared, &config);
    }
    while !shared.is_shutting_down() {
        let next = done + 1;
        let record = shared
            .core
            .read()
            .expect("no panics")
            .sealed
            .get(next as usize - 1)
            .cloned();
        let Some(record) = record else {
            shared.wait_for_work(Duration::from_secs(1));
            continue;
        };
        match prove_one(&shared, &config, &mut prover, &state, &record) {
            Ok((artifact_state, seconds)) => {
                state = Arc::new(artifact_state);
                done = next;
                shared
                    .proofs
                    .lock()
                    .expect("no panics")
                    .set_proven(done, state.clone());
                if let Some(timing) = shared
                    .proofs
                    .lock()
                    .expect("no panics")
                    .timings
                    .get_mut(&next)
                {
                    timing.proving_seconds = Some(seconds);
                }
                shared.metrics.proven(next, seconds);
                tracing::info!(
                    batch = next,
                    transactions = record.transactions(),
                    seconds = format!("{seconds:.2}"),
                    "batch proven"
                );
            }
            Err(error) => {
                shared.metrics.proving_failed();
                let mut book = shared.proofs.lock().expect("no panics");
                let attempts = book.attempts.entry(next).or_default();
                attempts.failures += 1;
                attempts.proving_since = None;
                let wait = backoff(attempts.failures);
                attempts.retry_at = Some(unix_now() + wait.as_secs());
                attempts.last_error = Some(error.clone());
                let failures = attempts.failures;
                drop(book);
                tracing::warn!(
                    batch = next,
                    failures,
                    retry_in_s = wait.as_secs(),
                    %error,
                    "proving failed; the batch will be tried again"
                );
                shared.sleep_unless_shutdown(wait);
            }
        }
    }
    tracing::info!("prover stopped");
}

/// One attempt at one batch: the state after it and the seconds it took, or why not.
fn prove_one(
    shared: &Shared,
    config: &ProvingConfig,
    prover: &mut Option<prover::Prover>,
    state: &State,
    record: &BatchRecord,
) -> Result<(State, f64), String> {
    {
        let mut book = shared.proofs.lock().expect("no panics");
        let attempts = book.attempts.entry(record.number).or_default();
        attempts.proving_since = Some(unix_now());
        attempts.retry_at = None;
    }
    let started = Instant::now();
    if prover.is_none() {
        tracing::info!(
            slots = config.slots,
            "making the prover's parameters and keys (cached parameters are read back)"
        );
        let made = catch_unwind(|| prover::Prover::setup(&config.params_dir, config.slots, false))
            .map_err(|p| format!("the prover panicked in setup: {}", panic_message(&*p)))?
            .map_err(|e| format!("prover setup: {e}"))?;
        *prover = Some(made);
    }
    let p = prover.as_ref().expect("set up above");
    let txs = shared
        .store
        .transactions(record.first, record.end)
        .map_err(|e| format!("reading the batch's transactions: {e}"))?;
    let mut after = state.clone();
    let options = prover::Options {
        threads: config.threads,
        ..prover::Options::default()
    };
    let artifact = catch_unwind(AssertUnwindSafe(|| {
        p.prove_batch(&mut after, record.number, record.time, &txs, options)
    }))
    .map_err(|payload| format!("the prover panicked: {}", panic_message(&*payload)))?
    .map_err(|e| e.to_string())?;
    if artifact.root_old != record.root_old || artifact.root_new != record.root_new {
        return Err(format!(
            "the proof goes from root {} to {}, the sealed batch from {} to {}",
            circuits::hash::to_hex(&artifact.root_old),
            circuits::hash::to_hex(&artifact.root_new),
            circuits::hash::to_hex(&record.root_old),
            circuits::hash::to_hex(&record.root_new)
        ));
    }
    shared
        .store
        .put_artifact(record.number, &artifact.to_json())
        .map_err(|e| format!("storing the artifact: {e}"))?;
    Ok((after, started.elapsed().as_secs_f64()))
}

/// A sealed batch as a prover worker needs it (`GET /v1/batches/{n}/transactions`).
#[derive(Clone, Debug, Serialize)]
pub struct SealedBatch {
    /// Its number.
    pub number: u64,
    /// Its time (the `now` every transaction was applied at).
    pub time: u64,
    /// The root before it.
    pub root_old: circuits::Fp,
    /// The root after it.
    pub root_new: circuits::Fp,
    /// Its transactions, in order.
    pub transactions: Vec<circuits::Transaction>,
}

/// Why a sealed batch cannot be handed to a prover worker, or a worker's artifact is not
/// taken; the API turns it into an HTTP error ([`crate::error::ApiError`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProvingError {
    /// No batch has this number.
    #[error("batch {0} does not exist")]
    NoBatch(u64),
    /// The batch is the open one: nothing of it is sealed yet.
    #[error("batch {0} is still open: it has no sealed transactions yet")]
    StillOpen(u64),
    /// This sequencer proves its own batches (it was not started with `--no-prove`).
    #[error("this sequencer proves its batches itself; upload artifacts only to one started with --no-prove")]
    ProvesItself,
    /// The uploaded batch is proven already.
    #[error("batch {0} is proven already")]
    AlreadyProven(u64),
    /// An earlier batch is not proven yet: batches are proven in order.
    #[error("batch {next} must be proven first (batches are proven in order)")]
    OutOfOrder {
        /// The batch to prove next.
        next: u64,
    },
    /// The uploaded artifact is not a valid proof of the sealed batch; the message says why.
    #[error("the artifact is refused: {0}")]
    BadArtifact(String),
    /// The sealed transactions could not be read back from the log.
    #[error("reading batch {number}: {error}")]
    ReadLog {
        /// The batch.
        number: u64,
        /// What the store said.
        error: String,
    },
    /// The accepted artifact could not be stored; the batch stays unproven.
    #[error("storage failure: {0}")]
    Storage(String),
    /// Not expected to happen: a bug, or the artifact cannot be checked on this machine.
    #[error("{0}")]
    Internal(String),
}

/// The sealed batch `number`, read back from the log.
pub fn sealed_batch(shared: &Shared, number: u64) -> Result<SealedBatch, ProvingError> {
    let record = sealed_record(shared, number)?;
    let transactions = shared
        .store
        .transactions(record.first, record.end)
        .map_err(|e| ProvingError::ReadLog {
            number,
            error: e.to_string(),
        })?;
    Ok(SealedBatch {
        number,
        time: record.time,
        root_old: record.root_old,
        root_new: record.root_new,
        transactions,
    })
}

fn sealed_record(shared: &Shared, number: u64) -> Result<BatchRecord, ProvingError> {
    let core = shared.core.read().expect("no panics");
    if let Some(record) = number
        .checked_sub(1)
        .and_then(|i| core.sealed.get(i as usize))
    {
        return Ok(record.clone());
    }
    if core
        .open
        .as_ref()
        .is_some_and(|o| o.number == number && o.count > 0)
    {
        return Err(ProvingError::StillOpen(number));
    }
    Err(ProvingError::NoBatch(number))
}

/// Takes the artifact a prover worker made for batch `number` (`PUT
/// /v1/batches/{n}/artifact`), for a sequencer started with `--no-prove`. It must be the next
/// batch to prove, cover exactly the sealed transactions at the sealed time and roots, and
/// its chunk proofs, data hashes and chaining must verify; then it is stored durably and
/// published like one proven here. The roots were replayed when the batch was sealed, so
/// proofs from the sealed `root_old` to the sealed `root_new` over these transactions are all
/// that is left to check.
pub fn accept_upload(shared: &Shared, number: u64, body: &[u8]) -> Result<(), ProvingError> {
    let started = Instant::now();
    {
        let book = shared.proofs.lock().expect("no panics");
        if !book.disabled {
            return Err(ProvingError::ProvesItself);
        }
    }
    let record = sealed_record(shared, number)?;
    let text = std::str::from_utf8(body)
        .map_err(|_| ProvingError::BadArtifact("the body is not UTF-8 JSON".into()))?;
    let artifact =
        verifier::BatchArtifact::from_json(text, &format!("the upload for batch {number}"))
            .map_err(|e| ProvingError::BadArtifact(e.to_string()))?;
    let fault = |what: String| Err(ProvingError::BadArtifact(format!("batch {number}: {what}")));
    if artifact.number != number {
        return fault(format!("the artifact is for batch {}", artifact.number));
    }
    if artifact.time != record.time {
        return fault(format!(
            "the artifact's time is {}, the sealed batch's {}",
            artifact.time, record.time
        ));
    }
    if artifact.root_old != record.root_old || artifact.root_new != record.root_new {
        return fault(format!(
            "the artifact goes from root {} to {}, the sealed batch from {} to {}",
            circuits::hash::to_hex(&artifact.root_old),
            circuits::hash::to_hex(&artifact.root_new),
            circuits::hash::to_hex(&record.root_old),
            circuits::hash::to_hex(&record.root_new)
        ));
    }
    let sealed = shared
        .store
        .transactions(record.first, record.end)
        .map_err(|e| ProvingError::ReadLog {
            number,
            error: e.to_string(),
        })?;
    if artifact.transactions != sealed {
        return fault("its transactions are not the sealed batch's".into());
    }
    // One upload at a time: the keys are shared, and the order below must hold.
    let mut keys = shared.upload_keys.lock().expect("no panics");
    let proven_through = shared.proofs.lock().expect("no panics").proven_through;
    if number <= proven_through {
        return Err(ProvingError::AlreadyProven(number));
    }
    if number != proven_through + 1 {
        return Err(ProvingError::OutOfOrder {
            next: proven_through + 1,
        });
    }
    let keys = keys.get_or_insert_with(|| {
        let mut keys = verifier::Keys::new(&shared.params_dir);
        keys.set_genesis(shared.genesis.chain(), shared.genesis.params.clone());
        keys
    });
    // Loads the parameters and verifying keys it needs (once per circuit).
    keys.verify_batch(
        &artifact,
        None,
        record.root_old,
        Some(number),
        None,
        &mut |_| {},
    )
    .map_err(|e| {
        if e.is_data_fault() {
            ProvingError::BadArtifact(e.to_string())
        } else {
            ProvingError::Internal(format!("the artifact cannot be checked here: {e}"))
        }
    })?;
    // The state it leaves, for facts proven against its root.
    let before = shared
        .proofs
        .lock()
        .expect("no panics")
        .proven_state
        .clone()
        .ok_or_else(|| ProvingError::Internal("the proven state is not known yet".into()))?;
    let mut after = State::clone(&before);
    for (i, tx) in artifact.transactions.iter().enumerate() {
        after.apply(tx, artifact.time).map_err(|e| {
            ProvingError::Internal(format!("replaying transaction {i} of batch {number}: {e}"))
        })?;
    }
    if after.root() != record.root_new {
        return Err(ProvingError::Internal(format!(
            "replaying batch {number} does not reach its sealed root"
        )));
    }
    shared
        .store
        .put_artifact(number, text)
        .map_err(|e| ProvingError::Storage(e.to_string()))?;
    shared
        .proofs
        .lock()
        .expect("no panics")
        .set_proven(number, Arc::new(after));
    shared.metrics.set_latest_proven(number);
    tracing::info!(
        batch = number,
        verified_in_s = format!("{:.2}", started.elapsed().as_secs_f64()),
        "batch proven by a prover worker"
    );
    Ok(())
}

/// About how long making parameters of `2^k` rows takes on an idle 2-core machine (10 s
/// at k = 14, doubling with each k).
pub fn params_estimate(k: u32) -> Duration {
    Duration::from_secs_f64(10.0 * 2f64.powi(k as i32 - 14))
}

/// About how long making one chunk circuit's proving key at `k` takes on an idle 2-core
/// machine (measured: 1.6 s at k = 12, 3.1 s at k = 13; doubling with each k).
pub fn keys_estimate(k: u32) -> Duration {
    Duration::from_secs_f64(1.6 * 2f64.powi(k as i32 - 12))
}

/// The full chunk of each family as the prover sizes them for `slots` accounts slots: the
/// accounts family's `slots` fix `k`, every other family fills the same `2^k` rows (at
/// least one slot). Returns `(family, slots, k)`.
pub fn full_chunks(slots: usize) -> Vec<(Family, usize, u32)> {
    let slots = slots.max(1);
    let k = Family::Accounts.k_for(slots);
    Family::ALL
        .iter()
        .map(|&family| {
            let s = match family {
                Family::Accounts => slots,
                other => other.slots_for(k).max(1),
            };
            (family, s, family.k_for(s))
        })
        .collect()
}

/// The sizes of the signature proofs a batch of `config.batch_size` transactions may need:
/// from the smallest to the largest of those a full batch of signed transactions takes.
pub fn signature_ks(config: &ProvingConfig) -> Vec<u32> {
    use circuits::signatures::{capacity_for, K_MAX, K_MIN};
    let most = config.batch_size.max(1) as usize;
    // A full proof is taken once a batch can fill one; below, the largest of any count's
    // cover.
    let largest = if most >= capacity_for(K_MAX) {
        K_MAX
    } else {
        (1..=most)
            .flat_map(prover::signature_proof_sizes)
            .map(|(k, _)| k)
            .max()
            .unwrap_or(K_MIN)
    };
    (K_MIN..=largest).collect()
}

/// The `k` of the parameters the full chunks and the signature proofs need that are not
/// cached under the params directory yet.
fn missing_params(config: &ProvingConfig) -> Vec<u32> {
    let mut ks: Vec<u32> = full_chunks(config.slots).iter().map(|c| c.2).collect();
    ks.extend(signature_ks(config));
    ks.sort_unstable();
    ks.dedup();
    ks.retain(|&k| !circuits::params::path(&config.params_dir, k).exists());
    ks
}

/// The set-up steps for `config`: the parameters not yet cached, then every family's keys.
pub fn setup_plan(config: &ProvingConfig) -> Vec<SetupStep> {
    plan_steps(config, &missing_params(config))
}

/// The set-up steps: making the parameters of each `k` in `missing`, then every family's
/// keys, then the signature proofs' keys.
fn plan_steps(config: &ProvingConfig, missing: &[u32]) -> Vec<SetupStep> {
    let step = |what: String, estimate| SetupStep {
        what,
        estimate,
        started: None,
        took: None,
    };
    let mut steps: Vec<SetupStep> = missing
        .iter()
        .map(|&k| {
            step(
                format!("commitment parameters, k = {k} (made once, then cached)"),
                params_estimate(k),
            )
        })
        .collect();
    for (family, slots, k) in full_chunks(config.slots) {
        let plural = if slots == 1 { "" } else { "s" };
        steps.push(step(
            format!("{family} chunk keys ({slots} slot{plural}, k = {k})"),
            keys_estimate(k),
        ));
    }
    for k in signature_ks(config) {
        steps.push(step(
            format!(
                "signature proof keys (k = {k}, up to {} signatures)",
                circuits::signatures::capacity_for(k)
            ),
            keys_estimate(k),
        ));
    }
    steps
}

/// Makes the parameters and keys at start, step by step, telling [`ProofBook::setup`].
/// Returns the prover, or `None` if a step failed (proving then tries again with the first
/// batch, and its failure shows in that batch's status) or shutdown came first.
fn warm_up(shared: &Shared, config: &ProvingConfig) -> Option<prover::Prover> {
    let missing = missing_params(config);
    let params_steps = missing.len();
    let steps = plan_steps(config, &missing);
    shared.proofs.lock().expect("no panics").setup = Setup {
        steps,
        finished: false,
        error: None,
    };
    let begin = |i: usize| {
        shared.proofs.lock().expect("no panics").setup.steps[i].started = Some(Instant::now());
    };
    let end = |i: usize| {
        let mut book = shared.proofs.lock().expect("no panics");
        let step = &mut book.setup.steps[i];
        step.took = step.started.map(|at| at.elapsed());
        tracing::info!(step = %step.what, seconds = format!("{:.1}", step.took.unwrap_or_default().as_secs_f64()), "prover set-up step done");
    };
    let fail = |error: String| {
        tracing::warn!(%error, "the prover's set-up failed; it is tried again with the first batch");
        let mut book = shared.proofs.lock().expect("no panics");
        book.setup.error = Some(error);
        book.setup.finished = true;
        None
    };
    for (i, k) in missing.into_iter().enumerate() {
        if shared.is_shutting_down() {
            return None;
        }
        begin(i);
        match circuits::params::load_or_make(&config.params_dir, k, |_| {}) {
            Ok(loaded) => {
                if let Some(rejected) = loaded.provenance.rejected() {
                    tracing::warn!(file = %loaded.provenance.path.display(), %rejected, "a parameter cache file was not the pinned parameters; replaced");
                }
            }
            Err(e) => {
                return fail(format!(
                    "parameters under {}: {e}",
                    config.params_dir.display()
                ));
            }
        }
        end(i);
    }
    begin(params_steps);
    let made = catch_unwind(|| prover::Prover::setup(&config.params_dir, config.slots, false));
    let prover = match made {
        Ok(Ok(prover)) => prover,
        Ok(Err(e)) => return fail(format!("prover setup: {e}")),
        Err(p) => {
            return fail(format!(
                "the prover panicked in setup: {}",
                panic_message(&*p)
            ))
        }
    };
    end(params_steps);
    for (i, family) in Family::ALL.into_iter().enumerate().skip(1) {
        if shared.is_shutting_down() {
            return None;
        }
        let step = params_steps + i;
        begin(step);
        let made = catch_unwind(AssertUnwindSafe(|| {
            prover.keys_for(family, prover.slots(family))
        }));
        match made {
            Ok(Ok(_)) => end(step),
            Ok(Err(e)) => return fail(format!("{family} chunk keys: {e}")),
            Err(p) => {
                return fail(format!(
                    "the prover panicked making {family} chunk keys: {}",
                    panic_message(&*p)
                ))
            }
        }
    }
    for (i, k) in signature_ks(config).into_iter().enumerate() {
        if shared.is_shutting_down() {
            return None;
        }
        let step = params_steps + Family::ALL.len() + i;
        begin(step);
        match catch_unwind(AssertUnwindSafe(|| prover.signature_keys_for(k))) {
            Ok(Ok(_)) => end(step),
            Ok(Err(e)) => return fail(format!("signature proof keys: {e}")),
            Err(p) => {
                return fail(format!(
                    "the prover panicked making signature proof keys: {}",
                    panic_message(&*p)
                ))
            }
        }
    }
    shared.proofs.lock().expect("no panics").setup.finished = true;
    Some(prover)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(40), Duration::from_secs(256));
        assert!(backoff(u32::MAX) <= Duration::from_secs(300));
    }

    #[test]
    fn the_setup_plan_makes_missing_parameters_then_every_familys_keys() {
        let dir = std::env::temp_dir().join(format!("seq-setup-plan-{}", std::process::id()));
        let config = ProvingConfig {
            params_dir: dir.clone(),
            slots: 1,
            threads: 1,
            warm_up: true,
            batch_size: 16,
        };
        let plan = setup_plan(&config);
        let whats: Vec<&str> = plan.iter().map(|s| s.what.as_str()).collect();
        // A one-slot accounts or registry chunk fits 2^11 rows, a market or governance one
        // 2^12; sixteen signatures take two proofs at k = 11 (the same 2^12 as one at k = 12,
        // and ties go to the smaller proofs).
        assert_eq!(whats.len(), 2 + Family::ALL.len() + 1, "{whats:?}");
        assert!(
            whats[0].contains("k = 11") && whats[1].contains("k = 12"),
            "{whats:?}"
        );
        assert!(
            whats[2].starts_with("accounts chunk keys (1 slot, k = 11)"),
            "{whats:?}"
        );
        assert!(
            whats[3].starts_with("registry chunk keys (1 slot, k = 11)"),
            "{whats:?}"
        );
        assert!(
            whats[5].starts_with("governance chunk keys (1 slot, k = 12)"),
            "{whats:?}"
        );
        assert_eq!(
            whats[6..],
            ["signature proof keys (k = 11, up to 8 signatures)"],
            "{whats:?}"
        );
        let setup = Setup {
            steps: plan,
            ..Setup::default()
        };
        let total: Duration = setup.steps.iter().map(|s| s.estimate).sum();
        assert_eq!(setup.remaining(), total);
        assert!(setup.current().is_none());
        // Every family's full chunk holds at least one slot and fits the accounts' k.
        for (family, slots, k) in full_chunks(6) {
            assert!(slots >= 1 && family.k_for(slots) == k, "{family}");
            assert!(
                k <= Family::Accounts.k_for(6).max(family.k_for(1)),
                "{family}"
            );
        }
    }
}
