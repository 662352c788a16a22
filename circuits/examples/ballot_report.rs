//! Measures the ballot circuit on this machine and prints medians:
//! `cargo run --release -p circuits --example ballot_report [runs]`.

use std::time::{Duration, Instant};

use circuits::ballot::{self, BallotKeys, Instance};
use circuits::constants::VOTERS_DEPTH;
use circuits::merkle::MerkleTree;
use circuits::voter::{Vote, VoterSecret};
use circuits::Fp;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("runs"))
        .unwrap_or(11);
    let start = Instant::now();
    let keys = BallotKeys::setup(ballot::params()).expect("keys");
    println!("K = {}, keygen {}", ballot::K, ms(start.elapsed()));

    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut tree = MerkleTree::new(VOTERS_DEPTH, Fp::zero());
    let voters: Vec<_> = (0..32u64)
        .map(|i| (i * 104_729, VoterSecret::random(&mut rng)))
        .collect();
    for (index, secret) in &voters {
        tree.set(*index, secret.commitment());
    }

    let mut ballots: Vec<(Instance, Vec<u8>)> = Vec::new();
    let mut proving = Vec::new();
    for i in 0..runs.max(32) {
        let (index, secret) = &voters[i % 32];
        let path = tree.path(*index);
        let t = Instant::now();
        let ballot = ballot::prove(
            &keys,
            secret,
            &path,
            1,
            Vote::Option(i as u64 % 4),
            0,
            ChaCha20Rng::seed_from_u64(i as u64),
        )
        .expect("proving");
        if i < runs {
            proving.push(t.elapsed());
        }
        if ballots.len() < 32 {
            ballots.push((ballot.instance, ballot.proof));
        }
    }
    println!("proof bytes = {}", ballots[0].1.len());
    println!("proving: median {} over {runs} runs", ms(median(proving)));

    let (params, vk) = (keys.params(), keys.verifying_key());
    let single: Vec<_> = (0..runs * 3)
        .map(|i| {
            let (instance, proof) = &ballots[i % 32];
            let t = Instant::now();
            ballot::verify(params, vk, instance, proof).expect("valid");
            t.elapsed()
        })
        .collect();
    println!(
        "single verification: median {} over {} runs",
        ms(median(single)),
        runs * 3
    );
    for size in [8, 32] {
        let batch: Vec<_> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                ballot::verify_batch(params, vk, &ballots[..size]).expect("valid");
                t.elapsed()
            })
            .collect();
        let m = median(batch);
        println!(
            "batch of {size}: median {} ({} per ballot) over {runs} runs",
            ms(m),
            ms(m / size as u32)
        );
    }
}
