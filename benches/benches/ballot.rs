//! The anonymous ballot: proving on a voter's machine, verifying one ballot and batches.
//!
//! Keys and ballots are made before the timed loops. `cargo bench -p benches --bench ballot`.

use circuits::ballot::{self, BallotKeys, BallotProof, Instance};
use circuits::constants::VOTERS_DEPTH;
use circuits::merkle::MerkleTree;
use circuits::voter::{Vote, VoterSecret};
use circuits::Fp;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const BATCH_SIZES: [usize; 2] = [8, 32];

fn voters(count: usize) -> (MerkleTree, Vec<(u64, VoterSecret)>) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut tree = MerkleTree::new(VOTERS_DEPTH, Fp::zero());
    let voters: Vec<_> = (0..count as u64)
        .map(|i| (i * 7919, VoterSecret::random(&mut rng)))
        .collect();
    for (index, secret) in &voters {
        tree.set(*index, secret.commitment());
    }
    (tree, voters)
}

fn ballots(keys: &BallotKeys, count: usize) -> Vec<(Instance, Vec<u8>)> {
    let (tree, voters) = voters(count);
    voters
        .iter()
        .enumerate()
        .map(|(i, (index, secret))| {
            let BallotProof { instance, proof } = ballot::prove(
                keys,
                secret,
                &tree.path(*index),
                1,
                Vote::Option(i as u64 % 4),
                0,
                ChaCha20Rng::seed_from_u64(i as u64),
            )
            .expect("proving");
            (instance, proof)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let keys = BallotKeys::setup(ballot::params()).expect("ballot keys");
    let (tree, voters) = voters(1);
    let (index, secret) = &voters[0];
    let path = tree.path(*index);

    let mut proving = c.benchmark_group("proving");
    proving.sample_size(10);
    proving.bench_function("ballot", |b| {
        let mut seed = 0;
        b.iter(|| {
            seed += 1;
            ballot::prove(
                &keys,
                secret,
                &path,
                1,
                Vote::Delegate(3),
                0,
                ChaCha20Rng::seed_from_u64(seed),
            )
            .expect("proving")
        })
    });
    proving.finish();

    let max = BATCH_SIZES[BATCH_SIZES.len() - 1];
    let all = ballots(&keys, max);
    let (params, vk) = (keys.params(), keys.verifying_key());
    let mut verifying = c.benchmark_group("verifying");
    verifying.sample_size(10);
    verifying.throughput(Throughput::Elements(1));
    verifying.bench_function("single", |b| {
        b.iter(|| ballot::verify(params, vk, &all[0].0, &all[0].1).expect("valid"))
    });
    for size in BATCH_SIZES {
        verifying.throughput(Throughput::Elements(size as u64));
        verifying.bench_with_input(BenchmarkId::new("batch", size), &all[..size], |b, batch| {
            b.iter(|| ballot::verify_batch(params, vk, batch).expect("valid"))
        });
    }
    verifying.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
