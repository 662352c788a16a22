//! Chunk proofs of transfers: proving and verifying time per chunk size. Params are cached on
//! disk under `target/params` and keys are made outside the timed loops.

use std::path::PathBuf;

use circuits::chunk::proof::{self, ChunkKeys};
use circuits::chunk::{witness, Family};
use circuits::demo::City;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::SeedableRng;

const NOW: u64 = 1_767_230_000;

fn params_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/params")
}

/// A full chunk of `slots` transfers, each from a different payer.
fn chunk(slots: usize) -> (witness::ChunkWitness, circuits::chunk::Instance) {
    let c = City::new(2 * slots);
    let txs: Vec<_> = (0..slots)
        .map(|i| c.transfer(c.resident(2 * i), c.resident(2 * i + 1), 100 + i as u64))
        .collect();
    let mut state = c.state.clone();
    witness::build(Family::Accounts, &mut state, &txs, NOW, slots).expect("honest chunk")
}

fn chunks(c: &mut Criterion) {
    let mut proving = c.benchmark_group("proving");
    proving.sample_size(10);
    let mut setups = Vec::new();
    for slots in [1usize, 5, 11] {
        let k = Family::Accounts.k_for(slots);
        let params =
            circuits::params::load_or_make(&params_dir(), k, |k| eprintln!("making params k={k}"))
                .unwrap();
        let keys = ChunkKeys::for_family(&params, Family::Accounts, slots).unwrap();
        let (w, instance) = chunk(slots);
        proving.throughput(Throughput::Elements(slots as u64));
        proving.bench_with_input(
            BenchmarkId::new("transfers", format!("{slots} slots, k={k}")),
            &slots,
            |b, _| {
                let mut rng = rand::rngs::StdRng::seed_from_u64(1);
                b.iter(|| proof::prove(&params, &keys, w.clone(), &instance, &mut rng).unwrap())
            },
        );
        let bytes = proof::prove(
            &params,
            &keys,
            w,
            &instance,
            rand::rngs::StdRng::seed_from_u64(2),
        )
        .unwrap();
        eprintln!("{slots} slots, k={k}: proof {} bytes", bytes.len());
        setups.push((slots, k, params, keys, instance, bytes));
    }
    proving.finish();

    let mut verifying = c.benchmark_group("verifying");
    for (slots, k, params, keys, instance, bytes) in &setups {
        verifying.bench_with_input(
            BenchmarkId::new("transfers", format!("{slots} slots, k={k}")),
            slots,
            |b, _| b.iter(|| proof::verify(params, keys.vk(), instance, bytes).unwrap()),
        );
    }
    verifying.finish();
}

criterion_group!(benches, chunks);
criterion_main!(benches);
