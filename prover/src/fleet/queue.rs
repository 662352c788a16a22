//! The job table's statements: every SQL of the prover fleet is here.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;

use super::{redact, FleetError, JobPayload, Proven};

/// The pipeline's connection pool and statements.
#[derive(Clone, Debug)]
pub struct JobQueue {
    pool: PgPool,
}

/// One chunk to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// What the worker proves.
    pub payload: JobPayload,
    /// Chunks in the batch.
    pub chunks: u32,
    /// Transactions of the batch in the chunk.
    pub transactions: u32,
}

/// A job leased to a worker.
#[derive(Clone, Debug)]
pub struct Lease {
    /// The job's row.
    pub id: i64,
    /// Its batch.
    pub batch: u64,
    /// Its place in the batch.
    pub chunk: u32,
    /// Its circuit.
    pub family: String,
    /// Its slots.
    pub slots: u32,
    /// The payload's format.
    pub format: i32,
    /// The payload.
    pub payload: Vec<u8>,
    /// This lease's fencing token.
    pub token: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
}

/// What a completion did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// The proof completed the job under the lease that made it.
    OnTime,
    /// The lease had expired (the job was queued again or leased to another worker); the
    /// proof completed the job all the same, once.
    Late,
    /// The job was done already (or published and forgotten): nothing changed.
    AlreadyDone,
}

/// What giving a job back did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Released {
    /// It is queued again (after a back-off).
    Requeued,
    /// Its attempts are spent: it is marked failed.
    Failed,
    /// This worker's lease was gone already: nothing changed.
    NotHeld,
}

/// One job as the sequencer collects it.
#[derive(Clone, Debug)]
pub struct JobState {
    /// Its place in the batch.
    pub chunk: u32,
    /// `queued`, `leased`, `done` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The proof, once done.
    pub proof: Option<Vec<u8>>,
    /// The chunk's signature proof, once done (`None` also for a chunk of no signed slot).
    pub signatures: Option<verifier::SignatureArtifact>,
    /// The worker that holds or did it.
    pub worker: Option<String>,
    /// How long its proof took the worker, once done (milliseconds).
    pub prove_ms: Option<i64>,
}

/// How far one batch's jobs are.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchProgress {
    /// The batch.
    pub batch: u64,
    /// Its chunks.
    pub chunks: u64,
    /// Jobs waiting for a worker.
    pub queued: u64,
    /// Jobs a worker holds.
    pub leased: u64,
    /// Jobs proven.
    pub done: u64,
    /// Jobs that failed every attempt.
    pub failed: u64,
    /// Attempts that did not end in a proof (failures, expired leases, refused proofs).
    pub failed_attempts: u64,
    /// The error of a failed job, else the latest error of any.
    pub error: Option<String>,
}

/// Jobs in the table by status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Waiting for a worker.
    pub queued: u64,
    /// Held by a worker.
    pub leased: u64,
    /// Proven, not yet published.
    pub done: u64,
    /// Failed every attempt.
    pub failed: u64,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn number(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// A fresh, unguessable lease token.
fn token() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

impl JobQueue {
    /// Connects (a pool of at most `connections`) and brings the job table's schema up to
    /// date (the migrations under `prover/migrations`, run under PostgreSQL's migration lock,
    /// so that a sequencer and workers starting together do it once).
    pub async fn connect(url: &str, connections: u32) -> Result<Self, FleetError> {
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|source| FleetError::Connect {
                url: redact(url),
                source,
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(JobQueue { pool })
    }

    /// Records that this database serves the deployment whose genesis hash is
    /// `deployment`, or refuses if it serves another.
    pub async fn claim_deployment(&self, deployment: &str) -> Result<(), FleetError> {
        sqlx::query("INSERT INTO pipeline (deployment) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(deployment)
            .execute(&self.pool)
            .await?;
        let found: String = sqlx::query_scalar("SELECT deployment FROM pipeline")
            .fetch_one(&self.pool)
            .await?;
        if found != deployment {
            return Err(FleetError::Deployment {
                expected: deployment.to_string(),
                found,
            });
        }
        Ok(())
    }

    /// Enqueues batch `batch`'s chunks, in one transaction. If the batch is there already
    /// with the same chunks (same circuits, sizes and public inputs: a sequencer restarted),
    /// its jobs are kept as they are, proofs and all, and this returns `false`; if its chunks
    /// differ (a sequencer restarted with another chunk size), they are replaced.
    pub async fn enqueue_batch(
        &self,
        batch: u64,
        jobs: &[NewJob],
        max_attempts: u32,
    ) -> Result<bool, FleetError> {
        let mut tx = self.pool.begin().await?;
        let existing = sqlx::query(
            "SELECT chunk, chunks, family, slots, root_old, root_new, data_hash \
             FROM chunk_jobs WHERE batch = $1 ORDER BY chunk",
        )
        .bind(batch as i64)
        .fetch_all(&mut *tx)
        .await?;
        let key = |j: &NewJob| {
            let i = &j.payload.instance;
            (
                i64::from(j.payload.chunk),
                i64::from(j.chunks),
                j.payload.family().name().to_string(),
                j.payload.slots() as i64,
                circuits::hash::to_hex(&i.root_old()),
                circuits::hash::to_hex(&i.root_new()),
                circuits::hash::to_hex(&i.data_hash()),
            )
        };
        let ours: Vec<_> = jobs.iter().map(key).collect();
        let theirs = existing
            .iter()
            .map(|r| {
                Ok((
                    i64::from(r.try_get::<i32, _>("chunk")?),
                    i64::from(r.try_get::<i32, _>("chunks")?),
                    r.try_get::<String, _>("family")?,
                    i64::from(r.try_get::<i32, _>("slots")?),
                    r.try_get::<String, _>("root_old")?,
                    r.try_get::<String, _>("root_new")?,
                    r.try_get::<String, _>("data_hash")?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        if !existing.is_empty() && theirs == ours {
            tx.commit().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM chunk_jobs WHERE batch = $1")
            .bind(batch as i64)
            .execute(&mut *tx)
            .await?;
        for (job, key) in jobs.iter().zip(ours) {
            sqlx::query(
                "INSERT INTO chunk_jobs (batch, chunk, chunks, family, slots, k, transactions, \
                 root_old, root_new, data_hash, format, payload, max_attempts) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(batch as i64)
            .bind(key.0 as i32)
            .bind(key.1 as i32)
            .bind(key.2)
            .bind(key.3 as i32)
            .bind(job.payload.family().k_for(job.payload.slots()) as i32)
            .bind(job.transactions as i32)
            .bind(key.4)
            .bind(key.5)
            .bind(key.6)
            .bind(super::FORMAT)
            .bind(job.payload.encode())
            .bind(max_attempts.max(1) as i32)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Leases the oldest available job to `worker` for `duration`, counting an attempt; `None`
    /// when no job is queued. Rows other workers are leasing at the same moment are skipped,
    /// not waited for.
    pub async fn lease(
        &self,
        worker: &str,
        duration: Duration,
    ) -> Result<Option<Lease>, FleetError> {
        let row = sqlx::query(
            "UPDATE chunk_jobs SET status = 'leased', lease_token = $1, \
                 lease_expires_at = now() + make_interval(secs => $2), \
                 attempts = attempts + 1, worker = $3, leased_at = now() \
             WHERE id = (SELECT id FROM chunk_jobs \
                         WHERE status = 'queued' AND available_at <= now() \
                         ORDER BY batch, chunk LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, batch, chunk, family, slots, format, payload, lease_token, \
                 attempts, max_attempts",
        )
        .bind(token())
        .bind(duration.as_secs_f64())
        .bind(worker)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(Lease {
            id: r.try_get("id")?,
            batch: count(r.try_get("batch")?),
            chunk: number(r.try_get::<i32, _>("chunk")?.into()),
            family: r.try_get("family")?,
            slots: number(r.try_get::<i32, _>("slots")?.into()),
            format: r.try_get("format")?,
            payload: r.try_get("payload")?,
            token: r.try_get("lease_token")?,
            attempts: number(r.try_get::<i32, _>("attempts")?.into()),
            max_attempts: number(r.try_get::<i32, _>("max_attempts")?.into()),
        }))
    }

    /// Extends `lease` to `duration` from now; `false` if it is no longer held (it expired
    /// and the job was queued again, leased to another worker, or completed).
    pub async fn renew(&self, lease: &Lease, duration: Duration) -> Result<bool, FleetError> {
        let done = sqlx::query(
            "UPDATE chunk_jobs SET lease_expires_at = now() + make_interval(secs => $3) \
             WHERE id = $1 AND lease_token = $2 AND status = 'leased'",
        )
        .bind(lease.id)
        .bind(&lease.token)
        .bind(duration.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores `proven` (verified by the worker) and completes `lease`'s job, in one statement.
    /// Under a live lease that is the usual end; after the lease expired the proof still
    /// completes a job that is not done ([`Completion::Late`]); a job done already is left as
    /// it is ([`Completion::AlreadyDone`]).
    pub async fn complete(
        &self,
        lease: &Lease,
        worker: &str,
        proven: &Proven,
        took: Duration,
    ) -> Result<Completion, FleetError> {
        let signatures = proven.signatures.as_ref();
        let row = sqlx::query(
            "UPDATE chunk_jobs SET status = 'done', proof = $3, prove_ms = $4, worker = $5, \
                 signature_k = $6, signature_count = $7, signature_proof = $8, \
                 completed_at = now(), \
                 on_time = (lease_token IS NOT DISTINCT FROM $2 AND status = 'leased' \
                            AND lease_expires_at >= now()), \
                 lease_token = NULL, lease_expires_at = NULL \
             WHERE id = $1 AND status <> 'done' \
             RETURNING on_time",
        )
        .bind(lease.id)
        .bind(&lease.token)
        .bind(&proven.chunk)
        .bind(took.as_millis() as i64)
        .bind(worker)
        .bind(signatures.map(|p| p.k as i32))
        .bind(signatures.map(|p| p.signatures as i32))
        .bind(signatures.map(|p| p.proof.clone()))
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => Completion::AlreadyDone,
            Some(r) if r.try_get::<bool, _>("on_time")? => Completion::OnTime,
            Some(_) => Completion::Late,
        })
    }

    /// Gives `lease`'s job back after a failed attempt, with `error`: queued again after
    /// `backoff`, or failed if its attempts are spent. Only the lease's holder can.
    pub async fn release(
        &self,
        lease: &Lease,
        error: &str,
        backoff: Duration,
    ) -> Result<Released, FleetError> {
        let row = sqlx::query(
            "UPDATE chunk_jobs SET \
                 status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
                 last_error = $3, lease_token = NULL, lease_expires_at = NULL, \
                 available_at = now() + make_interval(secs => $4) \
             WHERE id = $1 AND lease_token = $2 AND status = 'leased' \
             RETURNING status",
        )
        .bind(lease.id)
        .bind(&lease.token)
        .bind(error)
        .bind(backoff.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => Released::NotHeld,
            Some(r) if r.try_get::<String, _>("status")? == "failed" => Released::Failed,
            Some(_) => Released::Requeued,
        })
    }

    /// Returns every job whose lease expired to the queue (or fails it, if its attempts are
    /// spent), saying whose lease it was; returns how many.
    pub async fn requeue_expired(&self) -> Result<u64, FleetError> {
        let done = sqlx::query(
            "UPDATE chunk_jobs SET \
                 status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
                 last_error = format('the lease of worker %s expired (attempt %s of %s)', \
                                     coalesce(worker, '?'), attempts, max_attempts), \
                 lease_token = NULL, lease_expires_at = NULL, available_at = now() \
             WHERE status = 'leased' AND lease_expires_at < now()",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Batch `batch`'s jobs in chunk order, with their proofs once done.
    pub async fn batch_jobs(&self, batch: u64) -> Result<Vec<JobState>, FleetError> {
        let rows = sqlx::query(
            "SELECT chunk, status, attempts, last_error, proof, worker, prove_ms, \
                    signature_k, signature_count, signature_proof FROM chunk_jobs \
             WHERE batch = $1 ORDER BY chunk",
        )
        .bind(batch as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobState {
                    chunk: number(r.try_get::<i32, _>("chunk")?.into()),
                    status: r.try_get("status")?,
                    attempts: number(r.try_get::<i32, _>("attempts")?.into()),
                    last_error: r.try_get("last_error")?,
                    proof: r.try_get("proof")?,
                    signatures: match (
                        r.try_get::<Option<i32>, _>("signature_k")?,
                        r.try_get::<Option<i32>, _>("signature_count")?,
                        r.try_get::<Option<Vec<u8>>, _>("signature_proof")?,
                    ) {
                        (Some(k), Some(count), Some(proof)) => Some(verifier::SignatureArtifact {
                            k: number(k.into()),
                            signatures: number(count.into()) as usize,
                            proof,
                        }),
                        _ => None,
                    },
                    worker: r.try_get("worker")?,
                    prove_ms: r.try_get("prove_ms")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(FleetError::from)
    }

    /// Refuses the proof of a done job (it did not verify when the batch was assembled):
    /// the job is queued again, or failed if its attempts are spent, with `error`.
    pub async fn refuse_proof(
        &self,
        batch: u64,
        chunk: u32,
        error: &str,
    ) -> Result<(), FleetError> {
        sqlx::query(
            "UPDATE chunk_jobs SET \
                 status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
                 proof = NULL, prove_ms = NULL, on_time = NULL, completed_at = NULL, \
                 signature_k = NULL, signature_count = NULL, signature_proof = NULL, \
                 last_error = $3, available_at = now() \
             WHERE batch = $1 AND chunk = $2 AND status = 'done'",
        )
        .bind(batch as i64)
        .bind(chunk as i32)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks every job of `batch` not done as failed with `error` (a batch that cannot be
    /// assembled whatever the workers do).
    pub async fn fail_batch(&self, batch: u64, error: &str) -> Result<(), FleetError> {
        sqlx::query(
            "UPDATE chunk_jobs SET status = 'failed', last_error = $2, proof = NULL, \
                 lease_token = NULL, lease_expires_at = NULL \
             WHERE batch = $1",
        )
        .bind(batch as i64)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Queues every failed job again with its attempts reset (an operator's retry after
    /// fixing the cause); returns how many.
    pub async fn retry_failed(&self) -> Result<u64, FleetError> {
        let done = sqlx::query(
            "UPDATE chunk_jobs SET status = 'queued', attempts = 0, available_at = now() \
             WHERE status = 'failed'",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes the jobs of every batch up to `batch` (published: the log and the artifacts
    /// hold them now); returns how many.
    pub async fn forget_through(&self, batch: u64) -> Result<u64, FleetError> {
        let done = sqlx::query("DELETE FROM chunk_jobs WHERE batch <= $1")
            .bind(batch as i64)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Every batch in the table with its jobs' progress, in batch order.
    pub async fn progress(&self) -> Result<Vec<BatchProgress>, FleetError> {
        let rows = sqlx::query(
            "SELECT batch, max(chunks)::BIGINT AS chunks, \
                 count(*) FILTER (WHERE status = 'queued') AS queued, \
                 count(*) FILTER (WHERE status = 'leased') AS leased, \
                 count(*) FILTER (WHERE status = 'done') AS done, \
                 count(*) FILTER (WHERE status = 'failed') AS failed, \
                 sum(attempts - CASE WHEN status IN ('done', 'leased') THEN 1 ELSE 0 END)::BIGINT \
                     AS failed_attempts, \
                 coalesce( \
                     (array_agg(last_error ORDER BY chunk) FILTER (WHERE status = 'failed'))[1], \
                     (array_agg(last_error ORDER BY leased_at DESC NULLS LAST) \
                         FILTER (WHERE last_error IS NOT NULL))[1]) AS error \
             FROM chunk_jobs GROUP BY batch ORDER BY batch",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BatchProgress {
                    batch: count(r.try_get("batch")?),
                    chunks: count(r.try_get("chunks")?),
                    queued: count(r.try_get("queued")?),
                    leased: count(r.try_get("leased")?),
                    done: count(r.try_get("done")?),
                    failed: count(r.try_get("failed")?),
                    failed_attempts: count(r.try_get("failed_attempts")?),
                    error: r.try_get("error")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(FleetError::from)
    }

    /// Jobs by status.
    pub async fn counts(&self) -> Result<JobCounts, FleetError> {
        let rows = sqlx::query("SELECT status, count(*) AS n FROM chunk_jobs GROUP BY status")
            .fetch_all(&self.pool)
            .await?;
        let mut counts = JobCounts::default();
        for r in rows {
            let n = count(r.try_get("n")?);
            match r.try_get::<String, _>("status")?.as_str() {
                "queued" => counts.queued = n,
                "leased" => counts.leased = n,
                "done" => counts.done = n,
                _ => counts.failed = n,
            }
        }
        Ok(counts)
    }

    /// The pool, for tests and tools that look at the table directly.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}
