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

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use circuits::State;
use serde::Serialize;

use crate::server::Shared;
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
    /// Batches being proven or whose proving failed.
    pub attempts: BTreeMap<u64, Attempts>,
    /// Proving is off in this process (`--no-prove`).
    pub disabled: bool,
}

/// The prover thread's settings.
#[derive(Clone, Debug)]
pub struct ProvingConfig {
    /// Where the parameter cache lives.
    pub data_dir: PathBuf,
    /// Slots per transfer chunk (1: k = 12).
    pub slots: usize,
    /// Threads for proving (0: one per core).
    pub threads: usize,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The back-off after `failures` failed attempts.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(8)).min(Duration::from_secs(300))
}

/// The prover thread: proves sealed batches after `proven` (the last proven batch and the
/// state it left) until shutdown.
pub fn run(shared: Arc<Shared>, config: ProvingConfig, proven: (u64, State)) {
    let (mut done, mut state) = proven;
    let mut prover: Option<prover::Prover> = None;
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
                state = artifact_state;
                done = next;
                let mut book = shared.proofs.lock().expect("no panics");
                book.proven_through = done;
                book.attempts.remove(&next);
                drop(book);
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
        let made = catch_unwind(|| prover::Prover::setup(&config.data_dir, config.slots, false))
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
}
