//! The prover fleet's own cost per chunk job, on a real PostgreSQL: a throwaway cluster that
//! `scripts/pg-cluster` starts (and this bench stops). Measured for a one-slot transfer chunk:
//! the sequencer building its witness, enqueueing its job (the witness as versioned JSON),
//! and a worker's lease, payload decoding and completion with proofs of the real sizes (the
//! chunk's and its signature proof's).
//! With a chunk's proving time (the `chunk` bench, `benches/fleet/trial.sh`) these give the
//! fleet's scaling model in the README.
//!
//!   cargo bench -p benches --bench fleet

use std::time::Duration;

use circuits::demo::City;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use prover::fleet::{JobPayload, JobQueue, NewJob, Proven};
use prover::Prover;

// The fleet tests' throwaway cluster, the same file.
#[path = "../../prover/tests/support/mod.rs"]
mod support;

/// Bytes of a one-slot accounts chunk proof at k = 11 (pinned in `circuits/tests/accounts.rs`).
const PROOF_BYTES: usize = 4_448;
/// Bytes of a signature proof at k = 11 (pinned in `circuits/src/signatures/tests.rs`).
const SIGNATURE_PROOF_BYTES: usize = 4_128;

fn fleet(c: &mut Criterion) {
    let cluster = support::Cluster::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let queue = rt
        .block_on(JobQueue::connect(&cluster.database("bench"), 2))
        .unwrap();
    let city = City::new(4);
    let txs = [city.transfer(city.resident(0), city.resident(1), 5)];
    let time = city.genesis.time + 1;
    // Plans witnesses only: no parameters or keys are made.
    let planner = Prover::lazy(&std::env::temp_dir(), 1, false).unwrap();
    let planned = planner
        .plan_batch(&mut city.state.clone(), time, &txs)
        .unwrap();
    let job = |batch: u64| NewJob {
        payload: JobPayload {
            batch,
            chunk: 0,
            witness: planned[0].witness.clone(),
            instance: planned[0].instance.clone(),
        },
        chunks: 1,
        transactions: 1,
    };
    let proof = Proven {
        chunk: vec![7u8; PROOF_BYTES],
        signatures: Some(verifier::SignatureArtifact {
            k: 11,
            signatures: 1,
            proof: vec![7u8; SIGNATURE_PROOF_BYTES],
        }),
    };
    let mut next = 0u64;
    let mut enqueue = |queue: &JobQueue| {
        next += 1;
        rt.block_on(queue.enqueue_batch(next, &[job(next)], 5))
            .unwrap();
    };

    let mut group = c.benchmark_group("fleet");
    group.sample_size(30);
    group.bench_function("witness of a one-slot transfer chunk", |b| {
        b.iter_batched(
            || city.state.clone(),
            |mut state| planner.plan_batch(&mut state, time, &txs).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("enqueue a one-slot transfer chunk's job", |b| {
        b.iter(|| enqueue(&queue))
    });
    group.bench_function("lease, decode and complete a job", |b| {
        b.iter_batched(
            || enqueue(&queue),
            |()| {
                let lease = rt
                    .block_on(queue.lease("bench", Duration::from_secs(60)))
                    .unwrap()
                    .expect("a queued job");
                let payload = JobPayload::decode(lease.format, &lease.payload).unwrap();
                rt.block_on(queue.complete(&lease, "bench", &proof, Duration::from_secs(1)))
                    .unwrap();
                payload
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    eprintln!(
        "payload of a one-slot transfer chunk: {} bytes",
        job(1).payload.encode().len()
    );
}

criterion_group!(benches, fleet);
criterion_main!(benches);
