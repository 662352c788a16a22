//! Native rules: how fast the pure state transition applies each kind of transaction
//! (signature check included; ballots by the rules only, their proofs are the ballot
//! circuit's), the whole demo scenario, and what one Merkle leaf update costs per tree depth.
//! Transactions are built and signed outside the timed loop (`benches::workload`).
//!
//! `cargo bench -p benches --bench native`.

use benches::workload::{Workload, KINDS, NOW};
use circuits::demo::{run_scenario, ScenarioSize};
use circuits::hash::Fp;
use circuits::merkle::MerkleTree;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

/// Transactions of one kind applied per iteration.
const N: usize = 32;

fn apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("native_apply");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    for (kind, _) in KINDS {
        let mut w = Workload::new(N);
        for _ in 0..N {
            w.make(kind);
        }
        let (state, txs) = (w.start, w.txs);
        group.bench_with_input(BenchmarkId::from_parameter(kind), &txs, |bench, txs| {
            bench.iter_batched(
                || state.clone(),
                |mut s| {
                    for tx in txs {
                        s.apply(tx, NOW).expect("an honest transaction");
                    }
                    s
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    let mut group = c.benchmark_group("native_scenario");
    group.sample_size(10);
    let size = ScenarioSize::default();
    let (_, log) = run_scenario(&size);
    group.throughput(Throughput::Elements(log.len() as u64));
    group.bench_function("demo_city", |bench| bench.iter(|| run_scenario(&size)));
    group.finish();
}

fn merkle(c: &mut Criterion) {
    let mut group = c.benchmark_group("merkle_update");
    for depth in [16usize, 20, 24, 28, 32, 64] {
        let mut tree = MerkleTree::new(depth, Fp::zero());
        let mut i = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(depth), &depth, |bench, _| {
            bench.iter(|| {
                i += 1;
                tree.set(i % 1024, Fp::from(i));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, apply, merkle);
criterion_main!(benches);
