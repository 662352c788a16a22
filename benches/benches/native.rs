//! Native rules: how fast the pure state transition applies each kind of transaction
//! (signature check included), and what one Merkle leaf update costs per tree depth.
//! Transactions are built and signed outside the timed loop.

use circuits::demo::{demo_voter, run_scenario, City, ScenarioSize};
use circuits::hash::Fp;
use circuits::merkle::MerkleTree;
use circuits::records::Side;
use circuits::voter::Vote;
use circuits::{State, Transaction};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

const T: u64 = 1_767_230_000;
const N: u64 = 64;

/// A workload: a city state and `N` transactions of one kind to apply to it in order.
fn workload(kind: &str) -> (State, Vec<Transaction>, u64) {
    let mut c = City::new(8);
    let (a, b) = (c.resident(0), c.resident(1));
    let metro = c.id("operator-metro");
    let tx = c.register_operator(metro, [290, 400, 350, 600]);
    c.apply(&tx, T).unwrap();
    for v in 0..N {
        let tx = c.register_voter(demo_voter(v).commitment());
        c.apply(&tx, T).unwrap();
    }
    let tx = c.register_delegate(c.resident(2));
    c.apply(&tx, T).unwrap();
    let tx = c.proposal("Q?", &["a", "b"], T, T + 100 * N * 3600);
    c.apply(&tx, T).unwrap();
    let start = c.state.clone();
    let now = T + 10 * N * 3600;
    let mut txs = Vec::new();
    for i in 0..N {
        let tx = match kind {
            "transfer" => c.transfer(a, b, 1),
            "tap" => c.tap(a, metro, 0, T + i * 3600),
            "place_order" => c.order(a, Side::Buy, 1_000, 10, now + 1),
            "ballot" => c.ballot(
                &demo_voter(i),
                0,
                if i % 2 == 0 {
                    Vote::Option(1)
                } else {
                    Vote::Delegate(0)
                },
            ),
            _ => unreachable!(),
        };
        c.apply(&tx, now).unwrap();
        txs.push(tx);
    }
    (start, txs, now)
}

fn apply(c: &mut Criterion) {
    let mut group = c.benchmark_group("native_apply");
    group.throughput(Throughput::Elements(N));
    group.sample_size(20);
    for kind in ["transfer", "tap", "place_order", "ballot"] {
        let (state, txs, now) = workload(kind);
        group.bench_with_input(BenchmarkId::from_parameter(kind), &txs, |bench, txs| {
            bench.iter_batched(
                || state.clone(),
                |mut s| {
                    for tx in txs {
                        s.apply(tx, now).unwrap();
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
    for depth in [16usize, 24, 32, 64] {
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
