//! The prover fleet's job table on a real PostgreSQL server (a throwaway cluster started by
//! `scripts/pg-cluster`): leases are exclusive under concurrency, renewed and fenced by
//! their token; expired leases return to the queue; attempts are capped and a failed job
//! keeps its error; a late proof completes a job once and a duplicate changes nothing; a
//! batch enqueued again is kept, or replaced if its chunks changed; one database serves one
//! deployment.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use circuits::demo::City;
use prover::fleet::{Completion, FleetError, JobPayload, JobQueue, NewJob, Proven, Released};
use support::{params_dir, Cluster};

/// Batch `batch`'s jobs: `n` transfers, one per one-slot chunk, with real witnesses.
fn jobs(batch: u64, n: usize) -> Vec<NewJob> {
    let mut city = City::new(4);
    let time = city.genesis.time;
    let txs: Vec<_> = (0..n)
        .map(|i| {
            let tx = city.transfer(city.resident(0), city.resident(1), 1 + i as u64);
            city.apply(&tx, time).unwrap();
            tx
        })
        .collect();
    let planner = prover::Prover::lazy(&params_dir(), 1, false).unwrap();
    let mut state = city.genesis.state();
    let planned = planner.plan_batch(&mut state, time, &txs).unwrap();
    assert_eq!(planned.len(), n);
    planned
        .into_iter()
        .map(|p| NewJob {
            payload: JobPayload {
                batch,
                chunk: p.index as u32,
                witness: p.witness,
                instance: p.instance,
            },
            chunks: n as u32,
            transactions: p.transactions as u32,
        })
        .collect()
}

async fn queue(cluster: &Cluster, name: &str) -> JobQueue {
    JobQueue::connect(&cluster.database(name), 16)
        .await
        .unwrap()
}

async fn status(q: &JobQueue, id: i64) -> (String, i32, Option<String>) {
    sqlx::query_as("SELECT status, attempts, last_error FROM chunk_jobs WHERE id = $1")
        .bind(id)
        .fetch_one(q.pool())
        .await
        .unwrap()
}

/// Hands in a chunk proof `proof` (no signature proof) for `lease` as `worker`.
async fn complete(
    q: &JobQueue,
    lease: &prover::fleet::Lease,
    worker: &str,
    proof: &[u8],
    took: Duration,
) -> Completion {
    q.complete(lease, worker, &Proven::unsigned(proof), took)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_never_lease_the_same_job() {
    let cluster = Cluster::start();
    let q = queue(&cluster, "exclusive").await;
    assert!(q.enqueue_batch(1, &jobs(1, 24), 3).await.unwrap());
    // Eight workers lease as fast as they can, at once.
    let mut tasks = Vec::new();
    for w in 0..8 {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(lease) = q
                .lease(&format!("w{w}"), Duration::from_secs(60))
                .await
                .unwrap()
            {
                mine.push((lease.batch, lease.chunk));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: BTreeSet<_> = all.iter().copied().collect();
    assert_eq!(all.len(), 24, "every job leased once: {all:?}");
    assert_eq!(distinct.len(), 24);
    let counts = q.counts().await.unwrap();
    assert_eq!((counts.queued, counts.leased), (0, 24));
}

#[tokio::test]
async fn leases_are_renewed_fenced_and_requeued_when_they_expire() {
    let cluster = Cluster::start();
    let q = queue(&cluster, "leases").await;
    let batch = jobs(1, 2);
    assert!(q.enqueue_batch(1, &batch, 3).await.unwrap());
    // Enqueued again unchanged (a sequencer restarted): kept as it is.
    assert!(!q.enqueue_batch(1, &batch, 3).await.unwrap());

    let a = q
        .lease("a", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let b = q.lease("b", Duration::from_secs(1)).await.unwrap().unwrap();
    assert_eq!((a.chunk, b.chunk), (0, 1), "oldest first");
    assert!(q
        .lease("c", Duration::from_secs(60))
        .await
        .unwrap()
        .is_none());

    // Only the holder renews or gives back.
    assert!(q.renew(&a, Duration::from_secs(60)).await.unwrap());
    let mut forged = a.clone();
    forged.token = "not the token".into();
    assert!(!q.renew(&forged, Duration::from_secs(60)).await.unwrap());
    assert_eq!(
        q.release(&forged, "forged", Duration::ZERO).await.unwrap(),
        Released::NotHeld
    );
    assert_eq!(status(&q, a.id).await.0, "leased");

    // On time, once.
    assert_eq!(
        complete(&q, &a, "a", b"proof a", Duration::from_secs(1)).await,
        Completion::OnTime
    );
    assert_eq!(
        complete(&q, &a, "a", b"other", Duration::from_secs(1)).await,
        Completion::AlreadyDone
    );

    // b's lease expires: the job is queued again, saying whose lease it was.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(q.requeue_expired().await.unwrap(), 1);
    let (s, attempts, error) = status(&q, b.id).await;
    assert_eq!((s.as_str(), attempts), ("queued", 1));
    assert!(
        error
            .unwrap()
            .contains("the lease of worker b expired (attempt 1 of 3)"),
        "the expiry is named"
    );
    assert!(!q.renew(&b, Duration::from_secs(60)).await.unwrap());
    let c = q
        .lease("c", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.id, c.attempts), (b.id, 2));

    // b's proof arrives late: it completes the job, once; c's then changes nothing, and c
    // learns at its next renewal that the job is no longer its own.
    assert_eq!(
        complete(&q, &b, "b", b"proof b", Duration::from_secs(2)).await,
        Completion::Late
    );
    assert_eq!(
        complete(&q, &c, "c", b"proof c", Duration::from_secs(2)).await,
        Completion::AlreadyDone
    );
    assert!(!q.renew(&c, Duration::from_secs(60)).await.unwrap());
    let stored = q.batch_jobs(1).await.unwrap();
    assert_eq!(stored[1].proof.as_deref(), Some(&b"proof b"[..]));
    assert_eq!(stored[0].proof.as_deref(), Some(&b"proof a"[..]));
    let on_time: Vec<Option<bool>> =
        sqlx::query_scalar("SELECT on_time FROM chunk_jobs ORDER BY chunk")
            .fetch_all(q.pool())
            .await
            .unwrap();
    assert_eq!(on_time, vec![Some(true), Some(false)]);

    let progress = q.progress().await.unwrap();
    assert_eq!(progress.len(), 1);
    assert_eq!((progress[0].done, progress[0].failed_attempts), (2, 1));

    // Published batches are forgotten; a completion after that changes nothing.
    assert_eq!(q.forget_through(1).await.unwrap(), 2);
    assert_eq!(
        complete(&q, &c, "c", b"proof c", Duration::from_secs(2)).await,
        Completion::AlreadyDone
    );
}

#[tokio::test]
async fn attempts_are_capped_and_a_failed_job_keeps_its_error_until_retried() {
    let cluster = Cluster::start();
    let q = queue(&cluster, "attempts").await;
    q.enqueue_batch(7, &jobs(7, 1), 2).await.unwrap();
    let first = q
        .lease("w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        q.release(&first, "out of memory", Duration::ZERO)
            .await
            .unwrap(),
        Released::Requeued
    );
    let second = q
        .lease("w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.attempts, 2);
    assert_eq!(
        q.release(&second, "out of memory again", Duration::ZERO)
            .await
            .unwrap(),
        Released::Failed
    );
    assert!(q
        .lease("w", Duration::from_secs(60))
        .await
        .unwrap()
        .is_none());
    let progress = q.progress().await.unwrap();
    assert_eq!((progress[0].failed, progress[0].failed_attempts), (1, 2));
    assert_eq!(progress[0].error.as_deref(), Some("out of memory again"));
    assert_eq!(q.counts().await.unwrap().failed, 1);

    // A back-off keeps a released job out of reach until it passes.
    assert_eq!(q.retry_failed().await.unwrap(), 1);
    let third = q
        .lease("w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.attempts, 1, "attempts reset by the operator's retry");
    q.release(&third, "flaky", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(q
        .lease("w", Duration::from_secs(60))
        .await
        .unwrap()
        .is_none());

    // An expired lease on the last attempt fails the job too.
    sqlx::query("UPDATE chunk_jobs SET available_at = now(), attempts = 1, max_attempts = 2")
        .execute(q.pool())
        .await
        .unwrap();
    let last = q
        .lease("gone", Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.attempts, 2);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(q.requeue_expired().await.unwrap(), 1);
    let (s, _, error) = status(&q, last.id).await;
    assert_eq!(s, "failed");
    assert!(error
        .unwrap()
        .contains("worker gone expired (attempt 2 of 2)"));
}

#[tokio::test]
async fn a_batch_enqueued_with_other_chunks_replaces_its_jobs_and_a_database_serves_one_deployment()
{
    let cluster = Cluster::start();
    let q = queue(&cluster, "replace").await;
    q.enqueue_batch(3, &jobs(3, 3), 5).await.unwrap();
    let leased = q
        .lease("w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    // The sequencer restarted with other chunk sizes: the batch's jobs are replaced.
    assert!(q.enqueue_batch(3, &jobs(3, 2), 5).await.unwrap());
    let now = q.batch_jobs(3).await.unwrap();
    assert_eq!(now.len(), 2);
    assert!(now.iter().all(|j| j.status == "queued" && j.attempts == 0));
    assert_eq!(
        complete(&q, &leased, "w", b"stale", Duration::ZERO).await,
        Completion::AlreadyDone,
        "a proof for a replaced job lands nowhere"
    );

    q.claim_deployment("aa11").await.unwrap();
    q.claim_deployment("aa11").await.unwrap();
    match q.claim_deployment("bb22").await {
        Err(FleetError::Deployment { expected, found }) => {
            assert_eq!((expected.as_str(), found.as_str()), ("bb22", "aa11"))
        }
        other => panic!("another deployment's database was taken: {other:?}"),
    }

    // A wrong address is a clear error, without the password.
    let e = JobQueue::connect("postgres://prover:s3cret@127.0.0.1:1/none", 1)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("cannot connect to PostgreSQL at postgres://prover:***@127.0.0.1:1/none"),
        "{e}"
    );
    assert!(!e.contains("s3cret"));
}
