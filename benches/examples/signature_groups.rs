//! What signature proofs cost per signature, at each size and proven several to a proof
//! (halo2 instances of one circuit, as the prover groups a batch's one-slot chunks): the
//! measurement behind proving a batch's signatures one instance a proof, at the least total
//! `2^k` (`prover::signature_proof_sizes`).
//!
//! `cargo run --release -p benches --example signature_groups [THREADS]` (default 2;
//! parameters from or to `target/params`). Each line: the median of three proofs of full
//! capacity (padding entries: the cost does not depend on the values).

use std::time::Instant;

use circuits::signatures::{capacity_for, instance, SignaturesCircuit};
use halo2_proofs::plonk::{self, keygen_pk, keygen_vk};
use halo2_proofs::transcript::{Blake2bWrite, Challenge255};
use pasta_curves::vesta;

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .map_or(2, |s| s.parse().expect("a number of threads"));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    for (k, n) in [(11u32, 1usize), (11, 2), (11, 4), (12, 1), (13, 1)] {
        let params =
            circuits::params::load_or_make(std::path::Path::new("target/params"), k, |_| {})
                .expect("parameters")
                .params;
        let capacity = capacity_for(k);
        let blank = SignaturesCircuit::blank(capacity);
        let vk = keygen_vk(&params, &blank).expect("a verifying key");
        let pk = keygen_pk(&params, vk, &blank).expect("a proving key");
        let column = instance(&[], capacity);
        let one: &[&[_]] = &[&column[..]];
        let columns: Vec<&[&[_]]> = vec![one; n];
        let mut times: Vec<f64> = (0..3)
            .map(|_| {
                let circuits = vec![SignaturesCircuit::new(&[], capacity); n];
                let started = Instant::now();
                pool.install(|| {
                    let mut transcript =
                        Blake2bWrite::<_, vesta::Affine, Challenge255<_>>::init(vec![]);
                    plonk::create_proof(
                        &params,
                        &pk,
                        &circuits,
                        &columns,
                        rand::rng(),
                        &mut transcript,
                    )
                    .expect("a proof");
                });
                started.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let signatures = n * capacity;
        println!(
            "k = {k}, {n} instance(s), {signatures} signatures: {:.3} s, {:.3} s per signature",
            times[1],
            times[1] / signatures as f64
        );
    }
}
