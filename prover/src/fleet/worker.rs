//! A fleet worker (`prover worker --postgres URL`): leases chunk jobs, proves them, verifies
//! its proofs and completes the jobs, until stopped.
//!
//! While a proof runs (on a rayon pool of its own, off the async runtime) the lease is renewed
//! every third of its duration. A proving error or panic gives the job back with the error
//! and a back-off; a worker that lost its lease still hands its proof in (it counts once if
//! the job is not done). The database going away does not stop the worker: it retries with a
//! back-off, and a finished proof is kept until it can be handed in.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Completion, FleetError, JobPayload, JobQueue, Lease, Released};
use crate::retry::{backoff, panic_message};
use crate::Prover;

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The pipeline's PostgreSQL URL.
    pub url: String,
    /// The commitment parameter cache.
    pub data_dir: PathBuf,
    /// The name it leases under (shown in the table and in errors).
    pub name: String,
    /// Proving threads (0: one per core).
    pub threads: usize,
    /// How long a lease lasts without renewal (renewed every third of it).
    pub lease: Duration,
    /// How long to wait when no job is queued.
    pub poll: Duration,
    /// Stop once no job is queued or leased.
    pub once: bool,
}

impl WorkerConfig {
    /// A worker on `url` with the cache in `data_dir`: named after the host and process,
    /// one thread per core, leases of 60 s, polling every 500 ms.
    pub fn new(url: String, data_dir: PathBuf) -> Self {
        WorkerConfig {
            url,
            data_dir,
            name: default_name(),
            threads: 0,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(500),
            once: false,
        }
    }
}

/// `host-pid`.
pub fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    format!("{host}-{}", std::process::id())
}

/// What a worker did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Jobs it completed under their lease.
    pub proven: u64,
    /// Jobs it completed after its lease expired.
    pub late: u64,
    /// Proofs it made for jobs done by another worker meanwhile.
    pub duplicates: u64,
    /// Attempts that failed here.
    pub failed: u64,
}

/// The longest wait before a job that keeps failing is tried again (about a minute).
const MAX_BACKOFF: Duration = Duration::from_secs(64);

/// Runs a worker until `stop` is set (checked between jobs) or, with `once`, until the
/// queue is empty. Fails only if the database cannot be reached at start or the proving
/// threads cannot be made.
pub fn run(config: &WorkerConfig, stop: &AtomicBool) -> Result<WorkerStats, FleetError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FleetError::Db(sqlx::Error::Io(e)))?;
    runtime.block_on(work(config, stop))
}

async fn work(config: &WorkerConfig, stop: &AtomicBool) -> Result<WorkerStats, FleetError> {
    let queue = JobQueue::connect(&config.url, 2).await?;
    let threads = if config.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        config.threads
    };
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("prove-{i}"))
            .build()
            .map_err(|e| FleetError::Db(sqlx::Error::Io(std::io::Error::other(e))))?,
    );
    let prover =
        Arc::new(Prover::lazy(&config.data_dir, 1, false).expect("one slot is a valid chunk size"));
    tracing::info!(worker = %config.name, threads, url = %super::redact(&config.url), "prover worker started");
    let mut stats = WorkerStats::default();
    let mut db_failures = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let leased = async {
            queue.requeue_expired().await?;
            queue.lease(&config.name, config.lease).await
        }
        .await;
        let lease = match leased {
            Ok(Some(lease)) => {
                db_failures = 0;
                lease
            }
            Ok(None) => {
                db_failures = 0;
                if config.once {
                    let counts = queue.counts().await?;
                    if counts.queued == 0 && counts.leased == 0 {
                        break;
                    }
                }
                tokio::time::sleep(config.poll).await;
                continue;
            }
            Err(e) => {
                db_failures += 1;
                let wait = backoff(db_failures, Duration::from_secs(10));
                tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "the job table cannot be read; retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        prove_leased(&queue, config, &prover, &pool, lease, &mut stats).await;
    }
    tracing::info!(worker = %config.name, ?stats, "prover worker stopped");
    Ok(stats)
}

/// Proves one leased job and hands in the proof, or gives the job back with the error.
async fn prove_leased(
    queue: &JobQueue,
    config: &WorkerConfig,
    prover: &Arc<Prover>,
    pool: &Arc<rayon::ThreadPool>,
    lease: Lease,
    stats: &mut WorkerStats,
) {
    let (batch, chunk) = (lease.batch, lease.chunk);
    tracing::info!(batch, chunk, family = %lease.family, slots = lease.slots, attempt = lease.attempts, "job leased");
    let renewal = {
        let (queue, lease, duration) = (queue.clone(), lease.clone(), config.lease);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(duration / 3).await;
                match queue.renew(&lease, duration).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(batch = lease.batch, chunk = lease.chunk, "the lease expired before the proof was done; it will be handed in all the same");
                        break;
                    }
                    Err(e) => tracing::warn!(error = %e, "the lease cannot be renewed now"),
                }
            }
        })
    };
    let started = Instant::now();
    let proved = match JobPayload::decode(lease.format, &lease.payload) {
        Err(e) => Err(e),
        Ok(job) if job.batch != batch || job.chunk != chunk => Err(format!(
            "the payload is for batch {} chunk {}, its row for batch {batch} chunk {chunk}",
            job.batch, job.chunk
        )),
        Ok(job) => {
            let (prover, pool) = (prover.clone(), pool.clone());
            tokio::task::spawn_blocking(move || {
                catch_unwind(AssertUnwindSafe(|| pool.install(|| job.prove(&prover))))
                    .map_err(|p| format!("the prover panicked: {}", panic_message(&*p)))?
                    .map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(format!("the proving task failed: {e}")))
        }
    };
    renewal.abort();
    let took = started.elapsed();
    match proved {
        Ok(proven) => {
            // The proof is worth keeping: hand it in until the database takes it.
            let mut tries = 0u32;
            loop {
                match queue.complete(&lease, &config.name, &proven, took).await {
                    Ok(done) => {
                        match done {
                            Completion::OnTime => stats.proven += 1,
                            Completion::Late => stats.late += 1,
                            Completion::AlreadyDone => stats.duplicates += 1,
                        }
                        tracing::info!(batch, chunk, seconds = format!("{:.2}", took.as_secs_f64()), outcome = ?done, "proof handed in");
                        break;
                    }
                    Err(e) => {
                        tries += 1;
                        let wait = backoff(tries, Duration::from_secs(10));
                        tracing::warn!(batch, chunk, error = %e, retry_in_s = wait.as_secs(), "the proof cannot be handed in now; retrying");
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
        Err(error) => {
            stats.failed += 1;
            let wait = backoff(lease.attempts, MAX_BACKOFF);
            match queue.release(&lease, &error, wait).await {
                Ok(Released::Requeued) => {
                    tracing::warn!(batch, chunk, %error, attempt = lease.attempts, "proving failed; the job is queued again")
                }
                Ok(Released::Failed) => {
                    tracing::error!(batch, chunk, %error, attempts = lease.attempts, "proving failed on every attempt; the job is marked failed")
                }
                Ok(Released::NotHeld) => {
                    tracing::warn!(batch, chunk, %error, "proving failed after the lease was lost")
                }
                // The lease then expires and the job is queued again.
                Err(e) => {
                    tracing::warn!(batch, chunk, %error, db_error = %e, "proving failed and the job cannot be given back now")
                }
            }
        }
    }
}
