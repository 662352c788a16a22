//! Proving on a fleet of machines (`serve --postgres URL`): this thread takes the place of
//! the in-process prover ([`crate::proving`]).
//!
//! - **Enqueue.** Each sealed batch, in order, is split into chunks whose witnesses are built
//!   from the state the previous batch left (the sequencer has it), and its chunk jobs go into
//!   PostgreSQL in one transaction ([`prover::fleet::JobQueue::enqueue_batch`]). Batches are
//!   enqueued as soon as they seal, however far proving lags, so later batches' witnesses
//!   are ready while earlier ones prove and every worker of the fleet finds work.
//! - **Assemble.** When every chunk of the next unpublished batch is done, its proofs are
//!   put together with what this thread computed itself (chunk shapes, roots, data hashes:
//!   nothing but the proofs is taken from the database), verified like an auditor would
//!   ([`verifier::Keys::verify_batch`]), stored in sled and published. Batches are
//!   published strictly in order, whatever order their jobs finish in. A proof that does not
//!   verify sends its job back to the queue (an attempt spent).
//! - **Watch.** Expired leases are returned to the queue; the jobs' progress per batch (and
//!   failed jobs with their errors) is shown in `GET /v1/batches/{n}/status` and `/metrics`.
//!
//! The log stays the truth: at start, jobs of published batches are deleted and every
//! sealed, unpublished batch is enqueued again (kept as it is if the database already has
//! it), so a fresh database is rebuilt from the log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use circuits::State;
use prover::fleet::{BatchProgress, FleetError, JobCounts, JobPayload, JobQueue, NewJob};
use verifier::{BatchArtifact, ChunkArtifact, ChunkProofArtifact, VerifyError};

use crate::shared::Shared;
use crate::store::BatchRecord;

/// The pipeline thread's settings.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// The PostgreSQL URL.
    pub url: String,
    /// The parameter cache (for the verifying keys that check assembled batches).
    pub params_dir: PathBuf,
    /// Slots per accounts chunk (the other families' sizes follow, as in-process).
    pub slots: usize,
    /// Attempts a chunk job gets before it is marked failed.
    pub max_attempts: u32,
}

/// What the API shows of the fleet.
#[derive(Clone, Debug, Default)]
pub struct FleetView {
    /// Progress of every batch that has jobs.
    pub batches: BTreeMap<u64, BatchProgress>,
    /// Jobs by status.
    pub counts: JobCounts,
    /// Why the pipeline cannot go on now (the database unreachable, say), if so.
    pub error: Option<String>,
    /// Leases that expired (a worker killed, stuck or cut off) and whose jobs were queued
    /// again, since start.
    pub lease_expiries: u64,
    /// What each worker proved of the batches published since start, by name.
    pub workers: BTreeMap<String, WorkerView>,
}

/// One worker's share of the published chunks.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WorkerView {
    /// Chunk proofs of its that were published.
    pub chunks: u64,
    /// Their proving time, in all (seconds).
    pub prove_seconds: f64,
}

/// Connects to the pipeline's database, sets up its schema and checks that it serves this
/// deployment (or claims it): the check `serve` makes before it starts.
pub async fn check(url: &str, chain: circuits::Fp) -> Result<(), FleetError> {
    let queue = JobQueue::connect(url, 1).await?;
    queue
        .claim_deployment(&circuits::hash::to_hex(&chain))
        .await
}

/// A batch enqueued and not yet published: what it must be, computed here.
struct Pending {
    record: BatchRecord,
    chunks: Vec<ChunkArtifact>,
    transactions: Vec<circuits::Transaction>,
    since: Instant,
}

/// The pipeline thread: enqueues, watches and assembles until shutdown. `proven` is the last
/// published batch and the state it left.
pub fn run(shared: Arc<Shared>, config: PipelineConfig, proven: (u64, State)) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "the proving pipeline cannot start");
            return;
        }
    };
    let mut pipeline = Pipeline {
        planner: prover::Prover::lazy(&config.params_dir, config.slots, false)
            .expect("serve refuses zero slots"),
        keys: {
            let mut keys = verifier::Keys::new(&config.params_dir);
            keys.set_genesis(shared.genesis.chain(), shared.genesis.params.clone());
            keys
        },
        published: proven.0,
        published_state: Arc::new(proven.1.clone()),
        enqueued: proven.0,
        state: proven.1,
        pending: BTreeMap::new(),
        seen_failures: BTreeMap::new(),
        cleaned: false,
        shared,
        config,
    };
    let mut queue: Option<JobQueue> = None;
    let mut failures = 0u32;
    while !pipeline.shared.is_shutting_down() {
        let step = runtime.block_on(async {
            let q = match &queue {
                Some(q) => q.clone(),
                None => {
                    let q = JobQueue::connect(&pipeline.config.url, 2).await?;
                    queue = Some(q.clone());
                    q
                }
            };
            pipeline.step(&q).await
        });
        match step {
            Ok(()) => {
                failures = 0;
                pipeline.shared.wait_for_work(Duration::from_millis(500));
            }
            Err(e) => {
                failures += 1;
                let wait = prover::retry::backoff(failures, Duration::from_secs(30));
                tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "the proving pipeline's database cannot be used now; retrying");
                pipeline.set_error(Some(e.to_string()));
                pipeline.shared.sleep_unless_shutdown(wait);
            }
        }
    }
    tracing::info!("proving pipeline stopped");
}

struct Pipeline {
    shared: Arc<Shared>,
    config: PipelineConfig,
    planner: prover::Prover,
    keys: verifier::Keys,
    /// Every batch up to this one is published.
    published: u64,
    /// The state after `published`.
    published_state: Arc<State>,
    /// Every batch up to this one is enqueued.
    enqueued: u64,
    /// The state after `enqueued`.
    state: State,
    pending: BTreeMap<u64, Pending>,
    /// Failed attempts already counted in the metrics, by batch.
    seen_failures: BTreeMap<u64, u64>,
    /// Jobs of published batches were deleted at start.
    cleaned: bool,
}

impl Pipeline {
    fn set_error(&self, error: Option<String>) {
        let mut book = self.shared.proofs.lock().expect("no panics");
        book.fleet.get_or_insert_with(FleetView::default).error = error;
    }

    async fn step(&mut self, queue: &JobQueue) -> Result<(), FleetError> {
        if !self.cleaned {
            let gone = queue.forget_through(self.published).await?;
            if gone > 0 {
                tracing::info!(jobs = gone, "deleted the jobs of batches published already");
            }
            self.cleaned = true;
        }
        self.enqueue(queue).await?;
        let requeued = queue.requeue_expired().await?;
        if requeued > 0 {
            self.shared.metrics.leases_expired(requeued);
            let mut book = self.shared.proofs.lock().expect("no panics");
            book.fleet
                .get_or_insert_with(FleetView::default)
                .lease_expiries += requeued;
            drop(book);
            tracing::warn!(
                jobs = requeued,
                "leases expired; their jobs are queued again"
            );
        }
        while self.assemble(queue).await? {}
        self.watch(queue).await
    }

    /// Enqueues every sealed batch after the last enqueued.
    async fn enqueue(&mut self, queue: &JobQueue) -> Result<(), FleetError> {
        loop {
            let next = self.enqueued + 1;
            let record = {
                let core = self.shared.core.read().expect("no panics");
                core.sealed.get(next as usize - 1).cloned()
            };
            let Some(record) = record else { return Ok(()) };
            let transactions = match self.shared.store.transactions(record.first, record.end) {
                Ok(t) => t,
                Err(e) => {
                    self.set_error(Some(format!("reading batch {next} from the log: {e}")));
                    return Ok(());
                }
            };
            let mut after = self.state.clone();
            let planned = match self
                .planner
                .plan_batch(&mut after, record.time, &transactions)
            {
                Ok(p) if after.root() == record.root_new => p,
                Ok(_) => {
                    self.batch_error(next, "its chunks do not end at the sealed root (a bug: the rules disagree with the log)".into());
                    return Ok(());
                }
                Err(e) => {
                    self.batch_error(next, format!("its chunks cannot be built: {e}"));
                    return Ok(());
                }
            };
            let chunks = planned.len() as u32;
            let jobs: Vec<NewJob> = planned
                .iter()
                .map(|p| NewJob {
                    payload: JobPayload {
                        batch: next,
                        chunk: p.index as u32,
                        witness: p.witness.clone(),
                        instance: p.instance.clone(),
                    },
                    chunks,
                    transactions: p.transactions as u32,
                })
                .collect();
            let fresh = queue
                .enqueue_batch(next, &jobs, self.config.max_attempts)
                .await?;
            tracing::info!(
                batch = next,
                chunks,
                kept = !fresh,
                "batch enqueued for the prover fleet"
            );
            let skeletons = planned.iter().map(prover::PlannedChunk::artifact).collect();
            self.pending.insert(
                next,
                Pending {
                    record,
                    chunks: skeletons,
                    transactions,
                    since: Instant::now(),
                },
            );
            self.state = after;
            self.enqueued = next;
        }
    }

    /// A batch that cannot be enqueued: shown in its status, never skipped.
    fn batch_error(&self, batch: u64, error: String) {
        tracing::error!(batch, %error, "a sealed batch cannot be enqueued");
        let mut book = self.shared.proofs.lock().expect("no panics");
        let attempts = book.attempts.entry(batch).or_default();
        attempts.failures = attempts.failures.max(1);
        attempts.last_error = Some(error);
    }

    /// Publishes the next batch if all its chunks are done and verify; returns whether it
    /// did.
    async fn assemble(&mut self, queue: &JobQueue) -> Result<bool, FleetError> {
        let number = self.published + 1;
        let Some(pending) = self.pending.get(&number) else {
            return Ok(false);
        };
        let jobs = queue.batch_jobs(number).await?;
        if jobs.is_empty() {
            // The database lost the batch (dropped or restored): enqueue it again from
            // the last published state.
            tracing::warn!(
                batch = number,
                "the batch's jobs are gone from the database; enqueuing again from the log"
            );
            self.pending.clear();
            self.enqueued = self.published;
            self.state = State::clone(&self.published_state);
            return Ok(false);
        }
        if jobs.len() != pending.chunks.len() || jobs.iter().any(|j| j.status != "done") {
            return Ok(false);
        }
        let chunks = pending.chunks.clone();
        // Each job proves its chunk alone: chunk proof `i` is chunk `i`'s.
        let chunk_proofs = jobs
            .iter()
            .enumerate()
            .map(|(i, job)| ChunkProofArtifact {
                chunks: vec![i],
                proof: job.proof.clone().unwrap_or_default(),
            })
            .collect();
        // Each chunk's signature proof, in chunk order; `signed_by[i]` is the chunk whose
        // proof is the batch's signature proof `i`.
        let mut signatures = Vec::new();
        let mut signed_by = Vec::new();
        for (i, (chunk, job)) in chunks.iter().zip(&jobs).enumerate() {
            let signed = chunk.signers.iter().flatten().count();
            let handed_in = job.signatures.as_ref().map_or(0, |p| p.signatures);
            let fits = job.signatures.as_ref().is_none_or(|p| {
                (circuits::signatures::K_MIN..=circuits::signatures::K_MAX).contains(&p.k)
                    && p.signatures <= circuits::signatures::capacity_for(p.k)
            });
            if handed_in != signed || !fits {
                let what = format!(
                    "signature proof ({handed_in} signatures; the chunk has {signed} signed slots)"
                );
                refuse(queue, number, i, &what).await?;
                return Ok(false);
            }
            if let Some(proof) = &job.signatures {
                signatures.push(proof.clone());
                signed_by.push(i);
            }
        }
        let record = &pending.record;
        let artifact = BatchArtifact {
            version: verifier::VERSION,
            number,
            time: record.time,
            root_old: record.root_old,
            root_new: record.root_new,
            transactions: pending.transactions.clone(),
            chunks,
            chunk_proofs,
            signatures,
        };
        let checked = self.keys.verify_batch(
            &artifact,
            None,
            record.root_old,
            Some(number),
            None,
            &mut |_| {},
        );
        match checked {
            Ok(_) => {}
            Err(VerifyError::ChunkProof { proof, .. }) => {
                refuse(queue, number, proof, "proof").await?;
                return Ok(false);
            }
            Err(VerifyError::SignatureProof { proof, .. }) => {
                refuse(queue, number, signed_by[proof], "signature proof").await?;
                return Ok(false);
            }
            Err(e) if e.is_data_fault() => {
                let error = format!("batch {number} cannot be assembled: {e}");
                tracing::error!(batch = number, %error, "failing the batch's jobs");
                queue.fail_batch(number, &error).await?;
                return Ok(false);
            }
            Err(e) => {
                self.set_error(Some(format!("batch {number} cannot be checked here: {e}")));
                return Ok(false);
            }
        }
        let seconds = pending.since.elapsed().as_secs_f64();
        // The state after it, the way it was reached when the batch was enqueued.
        let mut after = State::clone(&self.published_state);
        if let Err(e) = self
            .planner
            .plan_batch(&mut after, artifact.time, &artifact.transactions)
        {
            self.set_error(Some(format!("replaying batch {number}: {e}")));
            return Ok(false);
        }
        if let Err(e) = self.shared.store.put_artifact(number, &artifact.to_json()) {
            self.set_error(Some(format!("storing batch {number}'s artifact: {e}")));
            return Ok(false);
        }
        self.published_state = Arc::new(after);
        self.published = number;
        self.pending.remove(&number);
        {
            let mut book = self.shared.proofs.lock().expect("no panics");
            book.set_proven(number, self.published_state.clone());
            let fleet = book.fleet.get_or_insert_with(FleetView::default);
            for job in &jobs {
                let worker = job.worker.clone().unwrap_or_else(|| "unnamed".into());
                let seconds = job.prove_ms.unwrap_or(0).max(0) as f64 / 1e3;
                let view = fleet.workers.entry(worker.clone()).or_default();
                view.chunks += 1;
                view.prove_seconds += seconds;
                self.shared.metrics.worker_proved(&worker, seconds);
            }
        }
        self.shared.metrics.proven(number, seconds);
        tracing::info!(
            batch = number,
            chunks = artifact.chunks.len(),
            seconds = format!("{seconds:.2}"),
            "batch proven by the fleet, verified and published"
        );
        queue.forget_through(number).await?;
        Ok(true)
    }

    /// Copies the jobs' progress into the proof book and the metrics.
    async fn watch(&mut self, queue: &JobQueue) -> Result<(), FleetError> {
        let progress = queue.progress().await?;
        let counts = queue.counts().await?;
        for p in &progress {
            let seen = self.seen_failures.entry(p.batch).or_default();
            for _ in *seen..p.failed_attempts {
                self.shared.metrics.proving_failed();
            }
            *seen = (*seen).max(p.failed_attempts);
        }
        let published = self.published;
        self.seen_failures.retain(|&b, _| b > published);
        self.shared.metrics.set_jobs(counts);
        let mut book = self.shared.proofs.lock().expect("no panics");
        let fleet = book.fleet.get_or_insert_with(FleetView::default);
        fleet.batches = progress.into_iter().map(|p| (p.batch, p)).collect();
        fleet.counts = counts;
        fleet.error = None;
        Ok(())
    }
}

/// The status of a batch with fleet progress `p`.
pub fn status(p: &BatchProgress) -> &'static str {
    if p.failed > 0 {
        "failed"
    } else if p.leased > 0 || p.done > 0 {
        "proving"
    } else {
        "sealed"
    }
}

/// Refuses the `what` (a chunk's proof, or its signature proof) that chunk `chunk`'s job
/// handed in, which did not hold when batch `number` was assembled: the job is queued again
/// with the reason.
async fn refuse(queue: &JobQueue, number: u64, chunk: usize, what: &str) -> Result<(), FleetError> {
    tracing::warn!(
        batch = number,
        chunk,
        what,
        "a {what} from the fleet did not hold; its job is queued again"
    );
    let error =
        format!("its {what} of chunk {chunk} did not verify when batch {number} was assembled");
    queue.refuse_proof(number, chunk as u32, &error).await
}
