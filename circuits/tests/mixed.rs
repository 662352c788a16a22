//! Random mixed workloads of every transaction kind, applied by the native rules and proven
//! by the four chunk circuits run by run: the chunks chain root to root and end at the root
//! the native rules reach, and every chunk passes MockProver.

mod common;

use circuits::chunk::witness;
use circuits::chunk::{
    family::runs, AccountsCircuit, Family, GovernanceCircuit, Instance, MarketCircuit,
    RegistryCircuit,
};
use circuits::demo::{demo_voter, City};
use circuits::records::{FleetKind, Side};
use circuits::voter::Vote;
use circuits::{State, Transaction};
use common::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Slots per chunk in these tests: what fits in 2^13 rows (2 for accounts and registry,
/// 1 for fills and ballots), so each MockProver run stays small.
fn slots(family: Family) -> usize {
    family.slots_for(13).max(1)
}

fn mock(family: Family, w: witness::ChunkWitness, i: Instance) -> Vec<String> {
    let k = family.k_for(w.slots.len());
    match family {
        Family::Accounts => failures(k, AccountsCircuit::new(w), i),
        Family::Registry => failures(k, RegistryCircuit::new(w), i),
        Family::Market => failures(k, MarketCircuit::new(w), i),
        Family::Governance => failures(k, GovernanceCircuit::new(w), i),
    }
}

/// Every meter's first reading (Wh), minted to its owner before the workload.
const START_READING: u64 = 20_000;

/// A city set up for every kind: operators with fares, meters, voters, delegates and an
/// open proposal.
fn city() -> City {
    // The workload dates taps over the five days before the batch; the tap delay has tests of
    // its own.
    let mut genesis = circuits::genesis::demo(12);
    genesis.params.max_tap_delay = 6 * 86_400;
    let mut c = City::from_genesis(genesis);
    let apply = |c: &mut City, tx: Transaction| {
        c.apply(&tx, NOW)
            .unwrap_or_else(|e| panic!("{}: {e}", tx.kind_name()))
    };
    for (name, fares) in [
        ("operator-metro", [290, 400, 350, 600]),
        ("operator-bus", [275, 275, 200, 500]),
    ] {
        let tx = c.register_operator(c.id(name), fares);
        apply(&mut c, tx);
    }
    for m in 0..3 {
        let (tx, key) = c.register_meter(c.resident(m), &format!("mixed {m}"));
        apply(&mut c, tx);
        c.add_meter_key(m as u64, key);
        let tx = c.reading(m as u64, START_READING);
        apply(&mut c, tx);
    }
    for v in 0..6 {
        let tx = c.register_voter(demo_voter(v).commitment());
        apply(&mut c, tx);
    }
    for d in 0..2 {
        let tx = c.register_delegate(c.resident(10 + d));
        apply(&mut c, tx);
    }
    let tx = c.proposal(
        "Trams on Sunday?",
        &["yes", "no", "later"],
        NOW - 10,
        NOW + 86_400,
    );
    apply(&mut c, tx);
    c
}

/// `steps` random transactions of every kind that the rules accept, in order (fills
/// follow the order they match, as the sequencer's matcher makes them).
fn workload(c: &mut City, rng: &mut StdRng, steps: usize) -> Vec<Transaction> {
    let mut txs = Vec::new();
    let mut clock = NOW - 5 * 86_400;
    let mut readings = [START_READING; 3];
    let mut tries = 0;
    while txs.len() < steps && tries < steps * 10 {
        tries += 1;
        let r = c.resident(rng.random_range(0..10));
        clock += rng.random_range(30..4_000);
        let tx = match rng.random_range(0..21) {
            0 | 1 => c.transfer(
                r,
                c.resident(rng.random_range(0..10)),
                rng.random_range(1..300),
            ),
            2 | 3 => {
                let op = c.id(if rng.random_bool(0.5) {
                    "operator-metro"
                } else {
                    "operator-bus"
                });
                c.tap(r, op, rng.random_range(0..4), clock.min(NOW))
            }
            4 => {
                let m = rng.random_range(0..3);
                readings[m] += rng.random_range(1..5_000);
                c.reading(m as u64, readings[m])
            }
            5..=7 => {
                // Meter owners (residents 0-2) have energy to sell.
                // Bids from 20 to 40 cents/kWh, asks from 10 to 30: about half cross.
                let (side, trader, price) = if rng.random_bool(0.5) {
                    (Side::Buy, r, rng.random_range(20..40))
                } else {
                    (
                        Side::Sell,
                        c.resident(rng.random_range(0..3)),
                        rng.random_range(10..30),
                    )
                };
                let amount = rng.random_range(100..3_000);
                let order = c.order(trader, side, amount, price, NOW + 3_600);
                // The order and the matcher's fills, as the sequencer applies them; then,
                // half the time, a crossing order from another trader, partly or wholly
                // filling it.
                let Ok(applied) = c.place_and_match(&order, NOW) else {
                    continue;
                };
                txs.extend(applied.into_iter().map(|(tx, _)| tx));
                if rng.random_bool(0.5) {
                    let (counter_side, counter_trader) = match side {
                        Side::Buy => (Side::Sell, c.resident(rng.random_range(0..3))),
                        Side::Sell => (Side::Buy, c.resident(rng.random_range(3..10))),
                    };
                    let counter = c.order(
                        counter_trader,
                        counter_side,
                        rng.random_range(50..amount),
                        price,
                        NOW + 3_600,
                    );
                    if let Ok(applied) = c.place_and_match(&counter, NOW) {
                        txs.extend(applied.into_iter().map(|(tx, _)| tx));
                    }
                }
                continue;
            }
            8 => {
                let open = c.state.open_orders();
                if open.is_empty() {
                    continue;
                }
                let (id, o) = &open[rng.random_range(0..open.len())];
                c.cancel(o.owner, *id)
            }
            9 => c.fleet_record(
                c.id("operator-metro"),
                rng.random_range(1..20),
                [
                    FleetKind::Maintenance,
                    FleetKind::Insurance,
                    FleetKind::DriverShift,
                ][rng.random_range(0..3)],
                &rng.random::<[u8; 16]>(),
            ),
            10 => c.register_voter(demo_voter(100 + txs.len() as u64).commitment()),
            11 | 12 => {
                let vote = if rng.random_bool(0.6) {
                    Vote::Option(rng.random_range(0..3))
                } else {
                    Vote::Delegate(rng.random_range(0..2))
                };
                c.ballot(&demo_voter(rng.random_range(0..6)), 0, vote)
            }
            13 => c.delegate_vote(
                c.resident(10 + rng.random_range(0..2)),
                0,
                rng.random_range(0..3),
            ),
            14 => c.concession(r, [0, 50][rng.random_range(0..2)]),
            15 => c.open_account(
                r,
                &circuits::keys::SecretKey::from_seed(&rng.random::<[u8; 32]>()),
            ),
            16 => c.register_delegate(r),
            17 => c.register_operator(c.id("operator-tram"), [rng.random_range(100..400); 4]),
            18 => {
                let meter = c.state.counters().meters;
                let (tx, key) = c.register_meter(r, &format!("mixed {meter}"));
                if c.apply(&tx, NOW).is_ok() {
                    c.add_meter_key(meter, key);
                    txs.push(tx);
                }
                continue;
            }
            19 => c.proposal("More buses?", &["yes", "no"], NOW - 5, NOW + 3_600),
            _ => c.transfer(r, c.resident(0), 1),
        };
        if c.apply(&tx, NOW).is_ok() {
            txs.push(tx);
        }
    }
    txs
}

/// Proves `txs` from `start` run by run, chunk by chunk, and checks the chain of roots.
fn prove_all(start: &State, txs: &[Transaction]) -> (State, Vec<(Family, usize)>) {
    let mut state = start.clone();
    let mut root = state.root();
    let mut chunks = Vec::new();
    for (family, first, end) in runs(txs) {
        for part in txs[first..end].chunks(slots(family)) {
            let (w, i) = witness::build(family, &mut state, part, NOW, slots(family)).unwrap();
            assert_eq!(i.root_old(), root, "chunks chain by roots");
            root = i.root_new();
            // The signatures its signature proof would check: one per signed transaction,
            // each valid by the key the chunk exposes, on the message the verifier computes.
            let signed = witness::signed_entries(&w, &i);
            let expected: Vec<_> = part.iter().filter(|t| t.signature().is_some()).collect();
            assert_eq!(signed.len(), expected.len(), "{family} chunk's signatures");
            for ((entry, signature), tx) in signed.iter().zip(expected) {
                assert_eq!(entry.message, tx.message(state.chain()));
                entry.key.verify(entry.message, signature).unwrap();
            }
            let found = mock(family, w, i);
            assert_eq!(
                found,
                Vec::<String>::new(),
                "{family} chunk of {}",
                part.len()
            );
            chunks.push((family, part.len()));
        }
    }
    (state, chunks)
}

#[test]
fn random_mixed_workloads_reach_the_native_root() {
    let mut families = std::collections::BTreeSet::new();
    let mut kinds = std::collections::BTreeSet::new();
    for seed in [11u64, 12] {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut c = city();
        let start = c.state.clone();
        let txs = workload(&mut c, &mut rng, 28);
        let (proven, chunks) = prove_all(&start, &txs);
        assert_eq!(proven.root(), c.state.root(), "seed {seed}");
        families.extend(chunks.iter().map(|(f, _)| *f));
        kinds.extend(txs.iter().map(|t| t.kind_name()));
    }
    assert_eq!(families.len(), 4, "every family proven: {families:?}");
    assert!(kinds.len() >= 15, "kinds {kinds:?}");
}
