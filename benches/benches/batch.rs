//! Batch proving and verifying: a batch of transfers proved in chunks, the threads split
//! either across the chunks (all at once, a share of the threads inside each proof) or
//! inside each proof (one chunk after another); and a batch's chunk proofs verified one by
//! one against halo2's `BatchVerifier`. Params are cached under `target/params`; keys are made
//! outside the timed loops.

use std::path::PathBuf;

use circuits::chunk::Family;
use circuits::demo::City;
use circuits::Transaction;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use prover::{Options, Prover, Split};
use verifier::{BatchArtifact, Keys};

const NOW: u64 = 1_767_230_000;
const THREADS: usize = 2;

fn params_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/params")
}

/// `count` transfers, each from a different payer, and the state before them.
fn transfers(count: usize) -> (circuits::State, Vec<Transaction>) {
    let c = City::new(2 * count);
    let txs = (0..count)
        .map(|i| c.transfer(c.resident(2 * i), c.resident(2 * i + 1), 100 + i as u64))
        .collect();
    (c.state.clone(), txs)
}

fn split_name(split: Split) -> &'static str {
    match split {
        Split::ChunksInParallel => "chunks in parallel",
        Split::ChunksInSequence => "chunks in sequence",
    }
}

fn batches(c: &mut Criterion) {
    let mut proving = c.benchmark_group("proving");
    proving.sample_size(10);
    let mut proved: Vec<(usize, BatchArtifact)> = Vec::new();
    for slots in [1usize, 5] {
        let prover = Prover::setup(&params_dir(), slots, true).expect("prover setup");
        for chunks in [2usize, 4] {
            let (state, txs) = transfers(chunks * slots);
            proving.throughput(Throughput::Elements(txs.len() as u64));
            for split in [Split::ChunksInParallel, Split::ChunksInSequence] {
                let options = Options {
                    threads: THREADS,
                    split,
                    progress: false,
                };
                proving.bench_with_input(
                    BenchmarkId::new(
                        split_name(split),
                        format!(
                            "{chunks} chunks of {slots} slots (k={})",
                            Family::Accounts.k_for(slots)
                        ),
                    ),
                    &options,
                    |b, options| {
                        b.iter(|| {
                            let mut state = state.clone();
                            prover
                                .prove_batch(&mut state, 1, NOW, &txs, *options)
                                .unwrap()
                        })
                    },
                );
            }
            let mut state = state.clone();
            let artifact = prover
                .prove_batch(&mut state, 1, NOW, &txs, Options::default())
                .unwrap();
            proved.push((slots, artifact));
        }
    }
    proving.finish();

    let mut verifying = c.benchmark_group("verifying");
    let mut keys = Keys::new(&params_dir());
    for (slots, artifact) in &proved {
        keys.load_chunk(Family::Accounts, *slots).unwrap();
        let (state, _) = transfers(artifact.transactions.len());
        let id = format!("{} chunks of {slots} slots", artifact.chunks.len());
        verifying.bench_with_input(
            BenchmarkId::new("batch, replay included", &id),
            artifact,
            |b, artifact| {
                b.iter(|| {
                    let mut state = state.clone();
                    keys.verify_batch(
                        artifact,
                        Some(&mut state),
                        artifact.root_old,
                        None,
                        &mut |_| {},
                    )
                    .unwrap()
                })
            },
        );
        let params =
            circuits::params::load_or_make(&params_dir(), Family::Accounts.k_for(*slots), |_| {})
                .unwrap();
        let vk = halo2_proofs::plonk::keygen_vk(
            &params,
            &circuits::chunk::AccountsCircuit::blank(*slots),
        )
        .unwrap();
        verifying.bench_with_input(
            BenchmarkId::new("chunk proofs batched", &id),
            artifact,
            |b, artifact| {
                b.iter(|| {
                    let mut batch = halo2_proofs::plonk::BatchVerifier::new();
                    for c in &artifact.chunks {
                        batch.add_proof(
                            vec![vec![c.instance(artifact.time, state.params()).to_halo2()]],
                            c.proof.clone(),
                        );
                    }
                    assert!(batch.finalize(&params, &vk));
                })
            },
        );
        verifying.bench_with_input(
            BenchmarkId::new("chunk proofs one by one", &id),
            artifact,
            |b, artifact| {
                b.iter(|| {
                    for c in &artifact.chunks {
                        circuits::chunk::proof::verify(
                            &params,
                            &vk,
                            &c.instance(artifact.time, state.params()),
                            &c.proof,
                        )
                        .unwrap();
                    }
                })
            },
        );
    }
    verifying.finish();
}

criterion_group!(benches, batches);
criterion_main!(benches);
