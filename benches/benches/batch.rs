//! Batch proving and verifying of a mixed workload: a batch with a run of every family
//! (account kinds, registry kinds, fills, ballots and delegate votes), proved by the prover
//! at two chunk sizes with the threads split either across the chunks (all at once, a share
//! of the threads inside each proof) or inside each proof (one chunk after another); then
//! the batch checked by the verifier (ballot proofs, replay and chunk proofs), and its chunk
//! proofs alone one by one and with `BatchVerifier`. Params are cached under `target/params`;
//! keys are made outside the timed loops.
//!
//! `cargo bench -p benches --bench batch`.

use std::path::PathBuf;

use benches::measure::cores;
use benches::verify::ChunkVerifier;
use benches::workload::{mixed_batch, Mix, NOW};
use circuits::ballot::{self, BallotKeys};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use prover::{Options, Prover, Split};
use verifier::{BatchArtifact, Keys};

/// The mixed batch: a run of each family.
const MIX: Mix = Mix {
    accounts: 5,
    registry: 5,
    market: 2,
    governance: 2,
};

/// Accounts slots per chunk given to the prover (k = 12 and k = 14).
const CHUNK_SLOTS: [usize; 2] = [1, 5];

fn params_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/params")
}

fn split_name(split: Split) -> &'static str {
    match split {
        Split::ChunksInParallel => "chunks in parallel",
        Split::ChunksInSequence => "chunks in sequence",
    }
}

fn batches(c: &mut Criterion) {
    let threads = cores();
    let ballot_keys = BallotKeys::setup(ballot::params()).expect("ballot keys");
    let (start, txs) = mixed_batch(MIX, Some(ballot_keys));
    let mut proving = c.benchmark_group("proving");
    proving.sample_size(10);
    proving.throughput(Throughput::Elements(txs.len() as u64));
    let mut proved: Vec<(usize, BatchArtifact)> = Vec::new();
    for slots in CHUNK_SLOTS {
        let prover = Prover::setup(&params_dir(), slots, true).expect("prover setup");
        // Every circuit's keys, made before the timed part.
        let artifact = prover
            .prove_batch(&mut start.clone(), 1, NOW, &txs, Options::default())
            .expect("the mixed batch proves");
        let size = format!(
            "{} txs in {} chunks, accounts {slots} slots (k={})",
            txs.len(),
            artifact.chunks.len(),
            prover.k()
        );
        for split in [Split::ChunksInParallel, Split::ChunksInSequence] {
            let options = Options {
                threads,
                split,
                progress: false,
            };
            proving.bench_with_input(
                BenchmarkId::new(format!("mixed batch, {}", split_name(split)), &size),
                &options,
                |b, options| {
                    b.iter(|| {
                        prover
                            .prove_batch(&mut start.clone(), 1, NOW, &txs, *options)
                            .unwrap()
                    })
                },
            );
        }
        proved.push((slots, artifact));
    }
    proving.finish();

    let mut verifying = c.benchmark_group("verifying");
    verifying.sample_size(10);
    verifying.throughput(Throughput::Elements(txs.len() as u64));
    let mut keys = Keys::new(&params_dir());
    for (slots, artifact) in &proved {
        keys.load_for(artifact).expect("verifying keys");
        keys.load_ballot().expect("ballot keys");
        let id = format!("{} chunks, accounts {slots} slots", artifact.chunks.len());
        verifying.bench_with_input(
            BenchmarkId::new("mixed batch, full check", &id),
            artifact,
            |b, artifact| {
                b.iter(|| {
                    let mut state = start.clone();
                    keys.verify_batch(
                        artifact,
                        Some(&mut state),
                        artifact.root_old,
                        None,
                        None,
                        &mut |_| {},
                    )
                    .unwrap()
                })
            },
        );
        let chunks = ChunkVerifier::for_artifact(
            &params_dir(),
            artifact,
            start.chain(),
            start.params().clone(),
        );
        verifying.bench_with_input(
            BenchmarkId::new("mixed batch, chunk proofs batched", &id),
            artifact,
            |b, artifact| b.iter(|| assert!(chunks.batched(artifact))),
        );
        verifying.bench_with_input(
            BenchmarkId::new("mixed batch, chunk proofs one by one", &id),
            artifact,
            |b, artifact| b.iter(|| assert!(chunks.one_by_one(artifact))),
        );
    }
    verifying.finish();
}

criterion_group!(benches, batches);
criterion_main!(benches);
