//! Chunk proofs of every family: proving time per chunk size (one slot, and the slots that
//! fill 2^14 rows), and verifying one proof alone or a batch of proofs of the same circuit
//! as the verifier does (`circuits::verifying`). Each chunk is full of honest transactions of its family's
//! kinds in turn (`benches::workload`). Params are cached under `target/params`; keys and the
//! proofs to verify are made outside the timed loops.
//!
//! Orchard's action circuit is proved in the same group first (`proving/orchard`, a bundle of
//! four actions, throughput per action), so one run compares our transactions with Orchard's
//! actions on the same machine and load.
//!
//! `cargo bench -p benches --bench chunk` (a filter such as `proving/market` selects).

use std::path::PathBuf;

use benches::orchard::{OrchardBundle, OrchardKeys};
use benches::workload::full_chunk;
use circuits::chunk::proof::{self, ChunkKeys};
use circuits::chunk::{Family, Instance};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use halo2_proofs::poly::commitment::Params;
use pasta_curves::vesta;
use rand::SeedableRng;

/// Proofs in a verified batch (of the same chunk, each with its own randomness).
const BATCH: usize = 4;

fn params_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/params")
}

/// One slot, and as many as fill 2^14 rows.
fn sizes(family: Family) -> Vec<usize> {
    let mut sizes = vec![1, family.slots_for(14)];
    sizes.dedup();
    sizes
}

struct Setup {
    family: Family,
    slots: usize,
    k: u32,
    params: Params<vesta::Affine>,
    keys: ChunkKeys,
    instance: Instance,
    proofs: Vec<Vec<u8>>,
}

fn id(s: &Setup) -> String {
    format!("{} slots, k={}", s.slots, s.k)
}

fn chunks(c: &mut Criterion) {
    let mut proving = c.benchmark_group("proving");
    proving.sample_size(10);
    let orchard_keys = OrchardKeys::build();
    let bundle = OrchardBundle::outputs(4, 1);
    proving.throughput(Throughput::Elements(bundle.actions() as u64));
    proving.bench_function(
        BenchmarkId::new("orchard", format!("{} actions", bundle.actions())),
        |b| {
            let mut seed = 0;
            b.iter(|| {
                seed += 1;
                bundle.prove(&orchard_keys, seed)
            })
        },
    );
    let mut setups = Vec::new();
    for family in Family::ALL {
        for slots in sizes(family) {
            let k = family.k_for(slots);
            let params = circuits::params::load_or_make(&params_dir(), k, |k| {
                eprintln!("making params k={k} (cached afterwards)")
            })
            .expect("parameters")
            .params;
            let keys = ChunkKeys::for_family(&params, family, slots).expect("keys");
            let (w, instance) = full_chunk(family, slots);
            proving.throughput(Throughput::Elements(slots as u64));
            proving.bench_with_input(
                BenchmarkId::new(family.name(), format!("{slots} slots, k={k}")),
                &slots,
                |b, _| {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
                    b.iter(|| proof::prove(&params, &keys, w.clone(), &instance, &mut rng).unwrap())
                },
            );
            let proofs: Vec<Vec<u8>> = (0..BATCH as u64)
                .map(|seed| {
                    let rng = rand::rngs::StdRng::seed_from_u64(100 + seed);
                    proof::prove(&params, &keys, w.clone(), &instance, rng).unwrap()
                })
                .collect();
            eprintln!(
                "{family}, {slots} slots, k={k}: proof {} bytes, {} per transaction",
                proofs[0].len(),
                proofs[0].len() / slots
            );
            setups.push(Setup {
                family,
                slots,
                k,
                params,
                keys,
                instance,
                proofs,
            });
        }
    }
    proving.finish();

    let mut verifying = c.benchmark_group("verifying");
    for s in &setups {
        verifying.throughput(Throughput::Elements(s.slots as u64));
        verifying.bench_with_input(
            BenchmarkId::new(format!("{} single", s.family), id(s)),
            s,
            |b, s| {
                b.iter(|| proof::verify(&s.params, s.keys.vk(), &s.instance, &s.proofs[0]).unwrap())
            },
        );
        verifying.throughput(Throughput::Elements((s.slots * BATCH) as u64));
        verifying.bench_with_input(
            BenchmarkId::new(format!("{} batch of {BATCH}", s.family), id(s)),
            s,
            |b, s| {
                b.iter(|| {
                    let claimed: Vec<_> = s
                        .proofs
                        .iter()
                        .map(|p| (s.instance.to_halo2(), &p[..]))
                        .collect();
                    assert!(circuits::verifying::verify_many(
                        &s.params,
                        s.keys.vk(),
                        &claimed
                    ));
                })
            },
        );
    }
    verifying.finish();
}

criterion_group!(benches, chunks);
criterion_main!(benches);
