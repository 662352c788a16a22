//! Native rules: how fast the pure state transition applies each kind of transaction
//! (signature check included; ballots by the rules only, their proofs are the ballot
//! circuit's), the whole demo scenario, one hash (the width-5 permutation under every leaf,
//! node, message and root), what one Merkle leaf update costs per tree depth, and how long a
//! voter's client takes to rebuild a proposal's voter tree from its commitments.
//! Transactions are built and signed outside the timed loop (`benches::workload`).
//!
//! `cargo bench -p benches --bench native`.

use benches::workload::{Workload, KINDS, NOW};
use circuits::constants::VOTERS_DEPTH;
use circuits::demo::{run_scenario, ScenarioSize};
use circuits::hash::Fp;
use circuits::merkle::{MerkleTree, PrefixTree};
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

/// `hash::poseidon` of 2 words (one permutation, as a data hash link) and of 11 (three, as
/// the state root).
fn poseidon(c: &mut Criterion) {
    let mut group = c.benchmark_group("poseidon");
    let mut x = Fp::from(7);
    group.bench_function("2 words", |bench| {
        bench.iter(|| {
            x = circuits::hash::poseidon([x, Fp::from(3)]);
            x
        })
    });
    group.bench_function("11 words", |bench| {
        bench.iter(|| {
            x = circuits::hash::poseidon([x; 11]);
            x
        })
    });
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

/// The voter tree of `n` commitments built bottom-up at once, as a voter's client does
/// after syncing a proposal's voter set (`client::voters`), and one path taken from it.
fn voter_set(c: &mut Criterion) {
    let mut group = c.benchmark_group("voter_tree_build");
    group.sample_size(10);
    for n in [1_000u64, 10_000, 100_000] {
        let leaves: Vec<Fp> = (0..n).map(|i| Fp::from(i + 1)).collect();
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(BenchmarkId::from_parameter(n), &leaves, |bench, leaves| {
            bench.iter_batched(
                || leaves.clone(),
                |leaves| {
                    let tree = PrefixTree::build(VOTERS_DEPTH, Fp::zero(), leaves)
                        .expect("fits the voter tree");
                    tree.path(n - 1).expect("a position in the tree")
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, apply, poseidon, merkle, voter_set);
criterion_main!(benches);
