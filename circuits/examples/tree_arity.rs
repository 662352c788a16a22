//! Leaf updates of a tree of 2^24 leaves in the two shapes, proved side by side: binary (24
//! levels, one width-3 permutation each, the state's trees today) against arity 4 (12
//! levels, one width-5 permutation each). For each `k`, as many passes (an old and a new
//! root each, as a slot's touch hashes) as fit, proved three times on the machine's
//! threads; prints rows per pass, the median proving time and the time per pass.
//!
//! `cargo run --release -p circuits --example tree_arity [-- K...]` (default 11 12 13).

use std::time::{Duration, Instant};

use circuits::chunk::merkle4::PassesCircuit;
use circuits::hash::Fp;
use halo2_proofs::{
    pasta::EqAffine,
    plonk::{create_proof, keygen_pk, keygen_vk, Circuit},
    poly::commitment::Params,
    transcript::{Blake2bWrite, Challenge255},
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Rows halo2 keeps for blinding at the end of the domain (the chunk circuits' margin).
const BLINDING_ROWS: usize = circuits::chunk::BLINDING_ROWS;

fn prove<C: Circuit<Fp>>(params: &Params<EqAffine>, circuit: &C) -> Duration {
    let vk = keygen_vk(params, circuit).expect("verifying key");
    let pk = keygen_pk(params, vk, circuit).expect("proving key");
    let mut times: Vec<Duration> = (0..3)
        .map(|_| {
            let start = Instant::now();
            let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
            create_proof(
                params,
                &pk,
                std::slice::from_ref(circuit),
                &[&[]],
                ChaCha20Rng::seed_from_u64(7),
                &mut transcript,
            )
            .expect("a proof");
            start.elapsed()
        })
        .collect();
    times.sort();
    times[1]
}

fn passes_fitting(k: u32, rows_per: impl Fn(usize) -> usize) -> usize {
    (1..)
        .take_while(|&n| rows_per(n) + BLINDING_ROWS <= 1 << k)
        .last()
        .unwrap_or(0)
}

fn main() {
    let ks: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("k as a number"))
        .collect();
    let ks = if ks.is_empty() { vec![11, 12, 13] } else { ks };
    let dir = std::env::temp_dir().join("city-rollup-tree-arity");
    std::fs::create_dir_all(&dir).expect("a parameter directory");
    println!("shape     k  passes  rows/pass  proof (median of 3)  per pass");
    for k in ks {
        let params = circuits::params::load_or_make(&dir, k, |k| eprintln!("making params k={k}"))
            .expect("parameters")
            .params;
        let binary = PassesCircuit::<2> {
            passes: passes_fitting(k, |n| PassesCircuit::<2> { passes: n }.rows()),
        };
        let arity4 = PassesCircuit::<4> {
            passes: passes_fitting(k, |n| PassesCircuit::<4> { passes: n }.rows()),
        };
        for (shape, passes, rows, time) in [
            (
                "binary",
                binary.passes,
                binary.rows(),
                (binary.passes > 0).then(|| prove(&params, &binary)),
            ),
            (
                "arity 4",
                arity4.passes,
                arity4.rows(),
                (arity4.passes > 0).then(|| prove(&params, &arity4)),
            ),
        ] {
            match time {
                Some(t) => println!(
                    "{shape:8} {k:2}  {passes:6}  {:9}  {:17.2} s  {:6.3} s",
                    (rows - 1) / passes,
                    t.as_secs_f64(),
                    t.as_secs_f64() / passes as f64
                ),
                None => println!("{shape:8} {k:2}  none fits"),
            }
        }
    }
}
