//! The accounts family's chunk circuit: transfers, taps (every fare rule), account opening,
//! operator and concession registration, delegate registration. Honest chunks pass and reach
//! the native rules' root; every tampered witness, cell or public input fails a named
//! constraint; edge values at the window, cap and period limits; a seeded random workload;
//! and real proofs.

mod common;

use circuits::chunk::proof::{self, ChunkKeys};
use circuits::chunk::witness::ChunkWitness;
use circuits::chunk::{AccountsCircuit, Family, Instance};
use circuits::demo::City;
use circuits::records::Account;
use circuits::state::Write;
use circuits::{Event, Fp, Transaction};
use common::*;
use ff::Field;
use rand::{RngExt, SeedableRng};

/// Makes a signed transaction from a city's current nonces.
type MakeTx = Box<dyn Fn(&City) -> Transaction>;

/// One slot fits in 2^11 rows.
const K1: u32 = 11;
/// Two slots fit in 2^12 rows.
const K2: u32 = 12;

/// The demo fares: local, express, night, airport (cents).
const FARES: [u64; 4] = [290, 700, 350, 1100];

fn accounts(s: &Scenario, slots: usize) -> (ChunkWitness, Instance) {
    s.chunk(Family::Accounts, slots)
}

fn mock(k: u32, w: ChunkWitness, instance: Instance) -> Vec<String> {
    failures(k, AccountsCircuit::new(w), instance.clone())
}

/// MockProver failures with the named cells and every cell of the given values replaced:
/// a prover choosing a wrong bit and the difference that bit implies, everywhere it is used.
fn tampered(
    k: u32,
    w: ChunkWitness,
    instance: Instance,
    by_name: &[(&'static str, usize, Fp)],
    by_value: &[(Fp, Fp)],
) -> Vec<String> {
    failures_tampered(
        k,
        AccountsCircuit::new(w),
        instance.clone(),
        by_name,
        by_value,
    )
}

fn mock_with(
    k: u32,
    w: ChunkWitness,
    instance: Instance,
    overrides: &[(&'static str, usize, Fp)],
) -> Vec<String> {
    failures_with(k, AccountsCircuit::new(w), instance.clone(), overrides)
}

/// The account record of touch `touch` of slot `slot`, before or after.
fn account_mut(w: &mut ChunkWitness, slot: usize, touch: usize, new: bool) -> &mut Account {
    let trace = w.slots[slot].touches[touch].as_mut().expect("a used touch");
    match if new { &mut trace.new } else { &mut trace.old } {
        Write::Account(_, a) => a,
        other => panic!("not an account: {other:?}"),
    }
}

/// A city with the metro registered as an operator (before the chunk).
fn transit_city() -> (Scenario, u64) {
    let mut s = Scenario::new(8);
    let metro = s.city.id("operator-metro");
    s.setup(s.city.register_operator(metro, FARES));
    (s, metro)
}

/// A scenario whose one chunk transaction is `make(&city)`.
fn one(make: impl FnOnce(&Scenario) -> Transaction) -> Scenario {
    let (mut s, _) = transit_city();
    let tx = make(&s);
    s.push(tx);
    s
}

fn one_transfer() -> Scenario {
    one(|s| s.city.transfer(s.city.resident(0), s.city.resident(1), 250))
}

// ---- pinned layout ----

#[test]
fn rows_k_and_degree_are_pinned() {
    let (per_slot, fixed) = Family::Accounts.layout();
    assert_eq!(measured_rows(&AccountsCircuit::blank(1)), fixed + per_slot);
    assert_eq!(
        measured_rows(&AccountsCircuit::blank(2)),
        fixed + 2 * per_slot
    );
    assert_eq!(
        measured_rows(&AccountsCircuit::blank(3)),
        fixed + 3 * per_slot
    );
    assert_eq!((per_slot, fixed), (1_343, 171));
    assert!(
        circuits::chunk::reserved_rows_of::<AccountsCircuit>() <= circuits::chunk::BLINDING_ROWS
    );
    assert_eq!(
        circuits::chunk::degree_of::<AccountsCircuit>(),
        circuits::chunk::DEGREE
    );
    assert_eq!(Family::Accounts.k_for(1), K1);
    assert_eq!(Family::Accounts.k_for(2), K2);
    assert_eq!(Family::Accounts.slots_for(14), 12);
    assert_eq!(Family::Accounts.slots_for(15), 24);
}

// ---- honest chunks ----

#[test]
fn honest_chunks_pass_full_partly_filled_and_empty() {
    let (mut s, metro) = transit_city();
    let (r0, r1) = (s.city.resident(0), s.city.resident(1));
    s.push(s.city.transfer(r0, r1, 250));
    s.push(s.city.tap(r1, metro, 1, NOW - 100));
    let (w, i) = accounts(&s, 2);
    assert_eq!(
        mock(K2, w, i.clone()),
        Vec::<String>::new(),
        "a transfer and a tap"
    );

    s.txs.truncate(1);
    let mut one = Scenario::new(8);
    one.push(one.city.transfer(r0, r1, 250));
    let (w, i) = accounts(&one, 2);
    assert_eq!(
        mock(K2, w, i.clone()),
        Vec::<String>::new(),
        "one transfer and padding"
    );

    let empty = Scenario::new(8);
    let (w, i) = accounts(&empty, 2);
    // An empty chunk changes nothing but the state's batch time.
    let mut advanced = empty.start.clone();
    advanced.advance_time(NOW).unwrap();
    assert_eq!(
        i.root_new(),
        advanced.root(),
        "an empty chunk changes only the time"
    );
    assert_eq!(mock(K2, w, i.clone()), Vec::<String>::new(), "padding only");
}

#[test]
fn every_kind_passes_honestly() {
    let mut s = Scenario::new(8);
    let (metro, bus) = (s.city.id("operator-metro"), s.city.id("operator-bus"));
    let (r0, r1, r2) = (s.city.resident(0), s.city.resident(1), s.city.resident(2));
    let newcomer = circuits::keys::SecretKey::from_seed(b"newcomer");
    let kinds: Vec<MakeTx> = vec![
        Box::new(move |c| c.register_operator(metro, FARES)),
        Box::new(move |c| c.register_operator(bus, [200, 300, 400, 500])),
        Box::new(move |c| c.concession(r2, 50)),
        Box::new(move |c| c.tap(r2, metro, 0, NOW - 700)),
        Box::new(move |c| c.tap(r2, bus, 3, NOW - 600)),
        Box::new(move |c| c.transfer(r0, r1, 1)),
        Box::new(move |c| c.open_account(r1, &newcomer)),
        Box::new(move |c| c.register_delegate(r0)),
        Box::new(move |c| c.register_delegate(r1)),
    ];
    for (i, make) in kinds.iter().enumerate() {
        let mut chunk = Scenario {
            start: s.city.state.clone(),
            txs: vec![],
            now: NOW,
            city: City::from_genesis(s.city.genesis.clone()),
        };
        chunk.city.state = s.city.state.clone();
        let tx = make(&chunk.city);
        chunk.push(tx.clone());
        let (w, inst) = accounts(&chunk, 1);
        assert_eq!(
            mock(K1, w, inst.clone()),
            Vec::<String>::new(),
            "step {i}: {}",
            tx.kind_name()
        );
        s.city.apply(&tx, NOW).unwrap();
    }
    // The second tap was a transfer at half fare, discount halved too.
    let rider = s.city.state.account(r2).unwrap().rider;
    assert_eq!(rider.transfers, 1);
}

#[test]
fn random_workloads_reach_the_native_root() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (mut s, metro) = transit_city();
    let bus = s.city.id("operator-bus");
    s.setup(s.city.register_operator(bus, [180, 360, 240, 900]));
    let riders: Vec<u64> = (0..6).map(|i| s.city.resident(i)).collect();
    let mut clock = NOW - 20 * 86_400;
    let mut kinds_seen = std::collections::BTreeSet::new();
    for chunk in 0..6 {
        let start = s.city.state.clone();
        let mut txs = Vec::new();
        let mut tries = 0;
        while txs.len() < 2 && tries < 50 {
            tries += 1;
            let rider = riders[rng.random_range(0..riders.len())];
            clock += rng.random_range(60..9_000);
            let tx = match rng.random_range(0..10) {
                0..=4 => {
                    let op = if rng.random_bool(0.5) { metro } else { bus };
                    s.city
                        .tap(rider, op, rng.random_range(0..4), clock.min(NOW))
                }
                5 | 6 => {
                    let to = riders[rng.random_range(0..riders.len())];
                    s.city.transfer(rider, to, rng.random_range(1..400))
                }
                7 => s
                    .city
                    .concession(rider, [0, 25, 50, 100][rng.random_range(0..4)]),
                8 => s.city.register_delegate(rider),
                _ => {
                    let key = circuits::keys::SecretKey::from_seed(&rng.random::<[u8; 32]>());
                    s.city.open_account(rider, &key)
                }
            };
            if s.city.apply(&tx, NOW).is_ok() {
                kinds_seen.insert(tx.kind_name());
                txs.push(tx);
            }
        }
        let mut scenario = Scenario {
            city: City::from_genesis(s.city.genesis.clone()),
            start,
            txs,
            now: NOW,
        };
        scenario.city.state = s.city.state.clone();
        let (w, inst) = accounts(&scenario, 2);
        assert_eq!(
            mock(K2, w, inst.clone()),
            Vec::<String>::new(),
            "chunk {chunk}"
        );
    }
    assert!(
        kinds_seen.len() >= 4,
        "the workload exercised {kinds_seen:?}"
    );
}

// ---- signatures, nonces, balances ----

#[test]
fn wrong_nonce_fails_the_nonce_constraint() {
    let s = one_transfer();
    let (mut w, i) = accounts(&s, 1);
    w.slots[0].encoding[2] += Fp::ONE;
    assert_fails_with(mock(K1, w, i.clone()), "'signed * (tx nonce - nonce) = 0'");
}

#[test]
fn forged_signature_fails_the_signature_proof() {
    let s = one_transfer();
    let (mut w, i) = accounts(&s, 1);
    w.slots[0].signature.as_mut().unwrap().s += pasta_curves::pallas::Scalar::ONE;
    // The chunk does not check the signature; the signature proof beside it does.
    assert_eq!(mock(K1, w.clone(), i.clone()), Vec::<String>::new());
    assert_fails_with(signature_failures(&w, &i), SIGNATURE_FAILS);
}

#[test]
fn signature_over_another_message_fails_the_signature_proof() {
    let s = one_transfer();
    let (mut w, i) = accounts(&s, 1);
    let other = s.city.transfer(s.city.resident(0), s.city.resident(1), 251);
    w.slots[0].signature = other.signature().copied();
    assert_fails_with(signature_failures(&w, &i), SIGNATURE_FAILS);
}

#[test]
fn a_signature_made_for_another_deployment_fails_the_signature_proof() {
    let s = one_transfer();
    let (mut w, i) = accounts(&s, 1);
    // The same transaction, signed by the same key for another city's genesis.
    let mut other = circuits::genesis::demo(8);
    other.time += 1;
    let elsewhere = s.txs[0]
        .clone()
        .signed(s.city.key(s.city.resident(0)), other.chain());
    w.slots[0].signature = elsewhere.signature().copied();
    assert_fails_with(signature_failures(&w, &i), SIGNATURE_FAILS);
    // An honest chunk checked as another deployment's: its messages, hence its signatures
    // and data hash, are not that deployment's.
    let (w, i) = accounts(&s, 1);
    let moved = Instance::new(
        i.root_old(),
        i.root_new(),
        i.data_hash(),
        i.now(),
        other.chain(),
        s.start.params(),
        i.signers().to_vec(),
    );
    assert_fails_with(signature_failures(&w, &moved), SIGNATURE_FAILS);
    assert_fails_with(
        mock(K1, w, moved),
        &format!(
            "Instance, index: 0 }}, outside any region, on row {})",
            circuits::chunk::DATA_HASH
        ),
    );
}

#[test]
fn the_signer_is_exposed_and_another_key_or_none_fails_at_its_public_inputs() {
    let s = one_transfer();
    let (w, i) = accounts(&s, 2);
    let payer = s.city.key(s.city.resident(0)).public_key();
    assert_eq!(i.signers(), &[Some(payer), None]);
    let column = i.to_halo2();
    let at = circuits::chunk::signer_offset(0);
    assert_eq!(column.len(), circuits::chunk::instance_len(2));
    assert_eq!(column[at], Fp::ONE);
    assert_eq!((column[at + 1], column[at + 2]), payer.coordinates());
    assert!(column[circuits::chunk::signer_offset(1)..]
        .iter()
        .all(|v| *v == Fp::ZERO));
    let with_signers = |signers| with_signers(&i, s.start.params(), signers);
    let row = |r: usize| format!("Instance, index: 0 }}, outside any region, on row {r})");
    // Another key than the payer's (the verifier would check the thief's signature).
    let thief = s.city.key(s.city.resident(1)).public_key();
    let found = mock(K2, w.clone(), with_signers(vec![Some(thief), None]));
    assert_fails_with(found.clone(), &row(at + 1));
    assert_fails_with(found, &row(at + 2));
    // The transfer claimed unsigned (no signature would be checked for it).
    let found = mock(K2, w.clone(), with_signers(vec![None, None]));
    assert_fails_with(found.clone(), &row(at));
    assert_fails_with(found, &row(at + 1));
    // A padding slot claimed signed.
    let found = mock(K2, w, with_signers(vec![Some(payer), Some(payer)]));
    assert_fails_with(found, &row(circuits::chunk::signer_offset(1)));
}

#[test]
fn a_batch_time_before_the_last_batch_fails_and_the_same_time_passes() {
    // The scenario's set-up ran at NOW: the state's last batch time is NOW.
    let s = one_transfer();
    assert_eq!(s.start.time(), NOW);
    let (w, i) = accounts(&s, 1);
    assert_eq!(
        mock(K1, w.clone(), i.clone()),
        Vec::<String>::new(),
        "the same time"
    );
    let backdated = Instance::new(
        i.root_old(),
        i.root_new(),
        i.data_hash(),
        NOW - 1,
        i.chain(),
        s.start.params(),
        i.signers().to_vec(),
    );
    assert_fails_with(
        mock(K1, w.clone(), backdated),
        "now - last batch time < 2^64",
    );
    // A prover claiming an earlier last time in the header: the header no longer hashes to
    // root_old.
    let mut earlier = w;
    earlier.header_old.counters.time = NOW - 100;
    assert_fails_with(
        mock(K1, earlier, i.clone()),
        &format!(
            "Instance, index: 0 }}, outside any region, on row {})",
            circuits::chunk::ROOT_OLD
        ),
    );
}

#[test]
fn another_accounts_key_cannot_sign() {
    let s = one_transfer();
    let (mut w, i) = accounts(&s, 1);
    // The thief signs and claims its key is the payer's: the owner record then hashes to
    // another leaf, which is not in the accounts tree.
    let thief = s.city.resident(1);
    let forged = s.txs[0]
        .clone()
        .signed(s.city.key(thief), s.city.state.chain());
    w.slots[0].signature = forged.signature().copied();
    account_mut(&mut w, 0, 0, false).owner.public_key = Some(s.city.key(thief).public_key());
    assert_fails_with(
        mock(K1, w, i.clone()),
        "'flag * (running root - old root) = 0'",
    );
}

#[test]
fn overdraft_fails_the_new_balance_range_check() {
    let s = one_transfer();
    let (mut w, i) = accounts(&s, 1);
    // One cent more than the payer has: the gate makes the new balance p - 1 (its honest
    // value, 10,000 - 250, replaced everywhere it is used), and only its range check stops it.
    let payer = s.start.account(s.city.resident(0)).unwrap();
    w.slots[0].encoding[4] = Fp::from(payer.balance + 1);
    let honest_new = Fp::from(payer.balance - 250);
    let found = failures_with_values(K1, AccountsCircuit::new(w), i, &[(honest_new, -Fp::ONE)]);
    assert_fails_with(found, "balance_new < 2^64");
}

#[test]
fn amount_of_2_pow_64_fails_its_range_check() {
    let s = one_transfer();
    let (mut w, i) = accounts(&s, 1);
    w.slots[0].encoding[4] = Fp::from(2).pow([64]);
    assert_fails_with(mock(K1, w, i.clone()), "e4c < 2^64");
}

/// Asserts that one failure names both `constraint` and `region`.
#[track_caller]
fn assert_fails_in(found: &[String], constraint: &str, region: &str) {
    assert!(
        found
            .iter()
            .any(|f| f.contains(&format!("'{constraint}'")) && f.contains(region)),
        "expected {constraint:?} to fail in {region:?}, got {found:#?}"
    );
}

#[test]
fn amount_of_2_pow_64_fails_the_top_bits_of_its_range_check() {
    // 2^64 has six zero lookup words and z_6 = 16, which four bits cannot make.
    let s = one_transfer();
    let (mut w, i) = accounts(&s, 1);
    w.slots[0].encoding[4] = Fp::from(2).pow([64]);
    let found = mock(K1, w, i.clone());
    assert_fails_in(&found, "z_6 = b0 + 2 b1 + 4 b2 + 8 b3", "e4c < 2^64");
}

#[test]
fn top_bits_that_are_not_boolean_fail_by_name() {
    // The first range check's z_6 is 0: bits (2, -1, 0, 0) and (0, 0, 2, -1) also sum to
    // it, and only the boolean constraints stop them.
    let s = one_transfer();
    let (w, i) = accounts(&s, 1);
    let two = Fp::from(2);
    let low = tampered(
        K1,
        w.clone(),
        i.clone(),
        &[("b0", 0, two), ("b1", 0, -Fp::ONE)],
        &[],
    );
    assert_fails_with(low.clone(), "'b0 is boolean'");
    assert_fails_with(low, "'b1 is boolean'");
    let high = tampered(K1, w, i, &[("b2", 0, two), ("b3", 0, -Fp::ONE)], &[]);
    assert_fails_with(high.clone(), "'b2 is boolean'");
    assert_fails_with(high.clone(), "'b3 is boolean'");
    assert!(
        !high.iter().any(|f| f.contains("'z_6 = b0")),
        "the bits still sum to z_6: {high:#?}"
    );
}

#[test]
fn a_changed_balance_fails_the_balance_gates() {
    let s = one_transfer();
    let (mut w, i) = accounts(&s, 1);
    account_mut(&mut w, 0, 0, true).balance += 1;
    assert_fails_with(
        mock(K1, w.clone(), i.clone()),
        "'balance_new = balance - transfer * amount - tap * charged'",
    );
    account_mut(&mut w, 0, 0, true).balance -= 1;
    account_mut(&mut w, 0, 1, true).balance += 1;
    assert_fails_with(
        mock(K1, w, i.clone()),
        "'balance2_new = balance2 + transfer * amount + tap * charged'",
    );
}

#[test]
fn zero_amount_self_transfer_and_unknown_payee_fail_their_constraints() {
    let s = one_transfer();
    let (w, i) = accounts(&s, 1);
    let mut zero = w.clone();
    zero.slots[0].encoding[4] = Fp::ZERO;
    assert_fails_with(mock(K1, zero, i.clone()), "'transfer: amount != 0'");
    let mut to_self = w.clone();
    to_self.slots[0].encoding[3] = to_self.slots[0].encoding[1];
    assert_fails_with(mock(K1, to_self, i.clone()), "'second account != signer'");
    let mut ghost = w;
    ghost.slots[0].encoding[3] = Fp::from(1_000);
    assert_fails_with(mock(K1, ghost, i.clone()), "d_a2 < 2^64");
}

#[test]
fn an_unknown_signer_fails_the_existence_check() {
    let s = one_transfer();
    let (mut w, i) = accounts(&s, 1);
    w.slots[0].encoding[1] = Fp::from(s.start.counters().accounts);
    assert_fails_with(mock(K1, w, i.clone()), "d_from < 2^64");
}

#[test]
fn padding_must_encode_zeros_and_one_kind_at_most() {
    let s = Scenario::new(8);
    let (w, i) = accounts(&s, 1);
    assert_fails_with(
        mock_with(K1, w.clone(), i.clone(), &[("e4", 0, Fp::ONE)]),
        "'padding: field 4 = 0'",
    );
    assert_fails_with(
        mock_with(K1, w.clone(), i.clone(), &[("e6", 0, Fp::ONE)]),
        "'field 6 = 0 unless register_operator'",
    );
    let s = one_transfer();
    let (w, i) = accounts(&s, 1);
    assert_fails_with(
        mock_with(K1, w.clone(), i.clone(), &[("tap", 0, Fp::ONE)]),
        "'signed = sum of kind flags'",
    );
    assert_fails_with(
        mock_with(
            K1,
            w.clone(),
            i.clone(),
            &[("tap", 0, Fp::ONE), ("signed", 0, Fp::from(2))],
        ),
        "'signed is boolean (one kind at most)'",
    );
    assert_fails_with(
        mock_with(K1, w, i.clone(), &[("transfer", 0, Fp::from(2))]),
        "'transfer flag is boolean'",
    );
}

#[test]
fn a_wrong_sibling_or_position_breaks_the_root_chain() {
    let s = one_transfer();
    for i in 0..3 {
        let (mut w, inst) = accounts(&s, 1);
        w.slots[0].touches[1].as_mut().unwrap().path.siblings[3][i] += Fp::ONE;
        assert_fails_with(
            mock(K1, w, inst.clone()),
            "'flag * (running root - old root) = 0'",
        );
    }
    let (mut w, i) = accounts(&s, 1);
    w.slots[0].touches[0].as_mut().unwrap().path.index ^= 1 << 5;
    let found = mock(K1, w, i);
    // The digits no longer sum to the account's index: what is left after the last level is
    // not zero, where the root is selected.
    assert!(
        found
            .iter()
            .any(|f| f.contains("'flag * z_depth = 0 (position fits the tree)'")),
        "{found:#?}"
    );
}

#[test]
fn each_merkle_level_constraint_fails_by_name() {
    // The first level of the sender's path: its digit's bits, the children placed around
    // the current node (old side), the capacity and the running sum.
    let s = one_transfer();
    let (w, i) = accounts(&s, 1);
    let (two, seven) = (Fp::from(2), Fp::from(7));
    for (cell, n, value, constraint) in [
        ("digit b0", 0, two, "'b0 is boolean'"),
        ("digit b1", 0, two, "'b1 is boolean'"),
        (
            "child",
            0,
            seven,
            "'child 0 = e0 * current + (1 - e0) * s0'",
        ),
        (
            "child",
            1,
            seven,
            "'child 1 = e1 * current + e0 * s0 + (e2 + e3) * s1'",
        ),
        (
            "child",
            2,
            seven,
            "'child 2 = e2 * current + (e0 + e1) * s1 + e3 * s2'",
        ),
        (
            "child",
            3,
            seven,
            "'child 3 = e3 * current + (1 - e3) * s2'",
        ),
        ("capacity", 0, Fp::ZERO, "'node4 capacity = 4 * 2^64'"),
        (
            "z_next",
            0,
            seven,
            "'z_mid = 16 * z_next + b4 + 2 * b5 + 4 * b6 + 8 * b7'",
        ),
    ] {
        assert_fails_with(
            mock_with(K1, w.clone(), i.clone(), &[(cell, n, value)]),
            constraint,
        );
    }
    // The new side's children (the first node of the new chain, after the old chain's 12
    // levels of four children).
    assert_fails_with(
        mock_with(K1, w, i.clone(), &[("child", 4 * 12, seven)]),
        "'child 0 = e0 * current + (1 - e0) * s0'",
    );
}

#[test]
fn wrong_public_inputs_fail_against_the_instance_column() {
    let s = one_transfer();
    let (w, i) = accounts(&s, 1);
    let params = s.start.params();
    let cases = [
        Instance::new(
            i.root_old() + Fp::ONE,
            i.root_new(),
            i.data_hash(),
            i.now(),
            i.chain(),
            params,
            i.signers().to_vec(),
        ),
        Instance::new(
            i.root_old(),
            i.root_new() + Fp::ONE,
            i.data_hash(),
            i.now(),
            i.chain(),
            params,
            i.signers().to_vec(),
        ),
        Instance::new(
            i.root_old(),
            i.root_new(),
            i.data_hash() + Fp::ONE,
            i.now(),
            i.chain(),
            params,
            i.signers().to_vec(),
        ),
    ];
    for (n, bad) in cases.into_iter().enumerate() {
        let found = mock(K1, w.clone(), bad);
        assert!(
            found.iter().any(|f| f.contains("Instance")),
            "case {n}: {found:#?}"
        );
    }
}

// ---- the tap's fare rules ----

/// A rider's taps applied before the chunk, then one chunk tap at `time`.
fn tap_after(
    history: &[(u64, u64)],
    concession: u64,
    class: u64,
    time: u64,
    params: Option<circuits::Params>,
) -> (Scenario, Event) {
    let mut genesis = circuits::genesis::demo(8);
    if let Some(p) = params {
        genesis.params = p;
    }
    // These fare tests date taps up to weeks before the batch; the tap delay has its own.
    genesis.params.max_tap_delay = FARE_TESTS_TAP_DELAY;
    let city = City::from_genesis(genesis);
    let mut s = Scenario {
        start: city.state.clone(),
        city,
        txs: vec![],
        now: NOW,
    };
    let metro = s.city.id("operator-metro");
    let rider = s.city.resident(3);
    s.setup(s.city.register_operator(metro, FARES));
    if concession > 0 {
        s.setup(s.city.concession(rider, concession));
    }
    for &(class, t) in history {
        s.setup(s.city.tap(rider, metro, class, t));
    }
    let tx = s.city.tap(rider, metro, class, time);
    let event = s.city.state.clone().apply(&tx, NOW).unwrap();
    s.push(tx);
    (s, event)
}

fn charged(event: &Event) -> (u64, bool, bool) {
    match event {
        Event::Fare {
            charged,
            transfer,
            capped,
            ..
        } => (*charged, *transfer, *capped),
        other => panic!("not a fare: {other:?}"),
    }
}

const T0: u64 = NOW - 30 * 86_400;
/// The tap delay of the fare tests' genesis: their taps lie up to 30 days before the batch.
const FARE_TESTS_TAP_DELAY: u64 = 40 * 86_400;

#[test]
fn a_first_tap_charges_the_class_fare_and_pays_the_operator() {
    let (s, event) = tap_after(&[], 0, 1, T0, None);
    assert_eq!(charged(&event), (700, false, false));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w, i.clone()), Vec::<String>::new());
}

#[test]
fn a_fare_one_cent_off_fails_the_charge_gate() {
    let (s, _) = tap_after(&[], 0, 1, T0, None);
    let (w, i) = accounts(&s, 1);
    assert_fails_with(
        mock_with(K1, w.clone(), i.clone(), &[("charged", 0, Fp::from(699))]),
        "'charged = min(before, room)'",
    );
    // The rider's new balance one cent off.
    let mut w = w;
    account_mut(&mut w, 0, 0, true).balance += 1;
    assert_fails_with(
        mock(K1, w, i.clone()),
        "'balance_new = balance - transfer * amount - tap * charged'",
    );
}

#[test]
fn the_class_fare_and_concession_are_computed_exactly() {
    // 50% off 350 (night) is 175; 33% off 1100 is floor(737) = 737.
    for (concession, class, expected) in [(50, 2, 175), (33, 3, 737), (100, 0, 0)] {
        let (s, event) = tap_after(&[], concession, class, T0, None);
        assert_eq!(charged(&event).0, expected);
        let (w, i) = accounts(&s, 1);
        assert_eq!(
            mock(K1, w.clone(), i.clone()),
            Vec::<String>::new(),
            "{concession}%"
        );
        assert_fails_with(
            mock_with(
                K1,
                w.clone(),
                i.clone(),
                &[("fare", 0, Fp::from(expected + 1))],
            ),
            "'100 fare + r1 = class_fare * (100 - concession)'",
        );
        assert_fails_with(
            mock_with(
                K1,
                w,
                i.clone(),
                &[("class_fare", 0, Fp::from(FARES[class as usize] + 1))],
            ),
            "'class_fare = fare of the class'",
        );
    }
}

#[test]
fn an_unknown_fare_class_fails_the_class_bits() {
    let (s, _) = tap_after(&[], 0, 3, T0, None);
    let (mut w, i) = accounts(&s, 1);
    w.slots[0].encoding[4] = Fp::from(4);
    assert_fails_with(
        mock(K1, w, i.clone()),
        "'fare class = sum of i * bit i (class < 4)'",
    );
}

#[test]
fn the_transfer_window_is_inclusive_and_a_late_tap_is_no_transfer() {
    let window = circuits::Params::default().transfer_window;
    // Exactly at the window's end: a transfer (290 discount on a 700 express fare).
    let (s, event) = tap_after(&[(0, T0)], 0, 1, T0 + window, None);
    assert_eq!(charged(&event), (410, true, false));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w, i.clone()), Vec::<String>::new());
    // Later: a new journey at full fare.
    let (s, event) = tap_after(&[(0, T0)], 0, 1, T0 + window + 1, None);
    assert_eq!(charged(&event), (700, false, false));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w, i.clone()), Vec::<String>::new());
    let (s, _) = tap_after(&[(0, T0)], 0, 1, T0 + window + 1_234, None);
    let (w, i) = accounts(&s, 1);
    // Treating the late tap as a transfer: with late = 0 the window difference is
    // js + W - t = -1,234, which its range check refuses.
    let d1 = Fp::from(1_233);
    assert_fails_with(
        tampered(
            K1,
            w.clone(),
            i.clone(),
            &[("late", 0, Fp::ZERO)],
            &[(d1, -d1 - Fp::ONE)],
        ),
        "d1 < 2^64",
    );
    assert_fails_with(
        mock_with(K1, w, i.clone(), &[("xfer", 0, Fp::ONE)]),
        "'transfer = started * (1 - late) * under'",
    );
}

#[test]
fn transfers_stop_at_the_maximum() {
    let max = circuits::Params::default().max_transfers;
    let history: Vec<(u64, u64)> = (0..=max).map(|n| (0, T0 + 60 * n)).collect();
    let (s, event) = tap_after(&history, 0, 0, T0 + 60 * (max + 1), None);
    assert_eq!(
        charged(&event),
        (290, false, false),
        "the third transfer pays in full"
    );
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w.clone(), i.clone()), Vec::<String>::new());
    assert_fails_with(
        mock_with(K1, w.clone(), i.clone(), &[("under", 0, Fp::ONE)]),
        "'d2 = under ? M - 1 - transfers : transfers - M'",
    );
    assert_fails_with(
        mock_with(K1, w, i.clone(), &[("xfer", 0, Fp::ONE)]),
        "'transfer = started * (1 - late) * under'",
    );
}

#[test]
fn the_transfer_discount_is_capped_and_scaled_by_the_concession() {
    // Local fare 290, discount cap 290: a transfer on a local fare is free; with 50% off
    // both, 145 - min(145, 145) = 0; on an airport fare 1100: 1100 - 290 = 810.
    let (s, event) = tap_after(&[(0, T0)], 0, 3, T0 + 600, None);
    assert_eq!(charged(&event), (810, true, false));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w.clone(), i.clone()), Vec::<String>::new());
    assert_fails_with(
        mock_with(K1, w.clone(), i.clone(), &[("disc", 0, Fp::from(291))]),
        "'100 disc + r2 = discount cap * (100 - concession)'",
    );
    assert_fails_with(
        mock_with(K1, w, i.clone(), &[("mn", 0, Fp::from(1100))]),
        "'mn = min(fare, disc)'",
    );
    let (s, event) = tap_after(&[(0, T0)], 50, 3, T0 + 600, None);
    assert_eq!(charged(&event), (405, true, false));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w, i.clone()), Vec::<String>::new());
}

#[test]
fn the_cap_is_reached_exactly_and_then_rides_are_free() {
    let params = circuits::Params {
        fare_cap: 1_000,
        ..Default::default()
    };
    // 700 + 700 would be 1400: the second is capped at 300; the third is free.
    let day = 86_400;
    let (s, event) = tap_after(&[(1, T0)], 0, 1, T0 + day, Some(params.clone()));
    assert_eq!(charged(&event), (300, false, true));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w.clone(), i.clone()), Vec::<String>::new());
    // Charging the full fare past the cap: the room difference goes negative.
    // Charging the full fare past the cap: with csel = 1 the room difference is
    // room - before = 300 - 700, which its range check refuses.
    let d5 = Fp::from(400);
    assert_fails_with(
        tampered(
            K1,
            w.clone(),
            i.clone(),
            &[("csel", 0, Fp::ONE)],
            &[(d5, -d5)],
        ),
        "d5 < 2^64",
    );
    assert_fails_with(
        mock_with(K1, w, i.clone(), &[("charged", 0, Fp::from(700))]),
        "'charged = min(before, room)'",
    );
    let (s, event) = tap_after(&[(1, T0), (1, T0 + day)], 0, 1, T0 + 2 * day, Some(params));
    assert_eq!(charged(&event), (0, false, true));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w, i.clone()), Vec::<String>::new());
}

#[test]
fn a_new_cap_period_starts_exactly_at_its_end() {
    let params = circuits::Params {
        fare_cap: 1_000,
        ..Default::default()
    };
    let period = params.cap_period;
    // At cap_start + period - 1 the spent 700 still counts; at cap_start + period it resets.
    let (s, event) = tap_after(&[(1, T0)], 0, 1, T0 + period - 1, Some(params.clone()));
    assert_eq!(charged(&event), (300, false, true));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w, i.clone()), Vec::<String>::new());
    let (s, event) = tap_after(&[(1, T0)], 0, 1, T0 + period, Some(params.clone()));
    assert_eq!(charged(&event), (700, false, false));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w, i.clone()), Vec::<String>::new());
    // Keeping an expired period (expired = 0): cs + P - 1 - t = -778 is refused.
    let (s, _) = tap_after(&[(1, T0)], 0, 1, T0 + period + 777, Some(params));
    let (w, i) = accounts(&s, 1);
    let d4 = Fp::from(777);
    assert_fails_with(
        tampered(
            K1,
            w,
            i.clone(),
            &[("expired", 0, Fp::ZERO)],
            &[(d4, -d4 - Fp::ONE)],
        ),
        "d4 < 2^64",
    );
}

#[test]
fn taps_go_forward_and_not_after_the_batch() {
    let (s, _) = tap_after(&[(0, T0)], 0, 0, T0 + 10, None);
    // The rider's last tap moved after this one: time would go backwards.
    let (mut w, i) = accounts(&s, 1);
    account_mut(&mut w, 0, 0, false).rider.last_tap = T0 + 10;
    assert_fails_with(mock(K1, w, i.clone()), "d6 < 2^64");
    // A batch time before the tap.
    let (w, i) = accounts(&s, 1);
    let early = Instance::new(
        i.root_old(),
        i.root_new(),
        i.data_hash(),
        T0 + 9,
        i.chain(),
        s.start.params(),
        i.signers().to_vec(),
    );
    assert_fails_with(mock(K1, w, early), "d7 < 2^64");
}

#[test]
fn a_tap_older_than_the_tap_delay_fails_and_one_exactly_at_it_passes() {
    // The demo genesis: taps at most 15 minutes before their batch.
    let (mut s, metro) = transit_city();
    let rider = s.city.resident(3);
    let delay = s.city.state.params().max_tap_delay;
    s.push(s.city.tap(rider, metro, 1, NOW - delay));
    let (w, i) = accounts(&s, 1);
    assert_eq!(
        mock(K1, w.clone(), i.clone()),
        Vec::<String>::new(),
        "exactly at the bound"
    );
    // The same tap carried by a batch one second later: backdated beyond the delay.
    let later = Instance::new(
        i.root_old(),
        i.root_new(),
        i.data_hash(),
        NOW + 1,
        i.chain(),
        s.start.params(),
        i.signers().to_vec(),
    );
    assert_fails_with(mock(K1, w.clone(), later), "d8 < 2^64");
    // Or a prover claiming a longer delay than genesis allows: the public parameter binds it.
    let mut longer = s.start.params().clone();
    longer.max_tap_delay -= 1;
    let stricter = Instance::new(
        i.root_old(),
        i.root_new(),
        i.data_hash(),
        i.now(),
        i.chain(),
        &longer,
        i.signers().to_vec(),
    );
    assert_fails_with(mock(K1, w, stricter), "d8 < 2^64");
}

#[test]
fn a_tap_on_an_account_without_fares_fails() {
    let (s, _) = tap_after(&[], 0, 0, T0, None);
    let (mut w, i) = accounts(&s, 1);
    account_mut(&mut w, 0, 1, false).owner.fares = None;
    account_mut(&mut w, 0, 1, true).owner.fares = None;
    assert_fails_with(
        mock(K1, w, i.clone()),
        "'tap: the operator has a fare table'",
    );
}

#[test]
fn the_riders_record_after_a_tap_is_the_rules_one() {
    let (s, _) = tap_after(&[(0, T0)], 0, 1, T0 + 100, None);
    let (mut w, i) = accounts(&s, 1);
    account_mut(&mut w, 0, 0, true).rider.transfers = 0;
    assert_fails_with(
        mock(K1, w, i.clone()),
        "'rb_new = rb + tap * (rb_tap - rb)'",
    );
}

// ---- authorities, concessions, operators, accounts, delegates ----

#[test]
fn only_the_transit_authority_registers_operators_and_concessions() {
    let s = one(|s| s.city.concession(s.city.resident(4), 50));
    let (mut w, i) = accounts(&s, 1);
    w.slots[0].encoding[1] = Fp::from(circuits::constants::REGISTRAR);
    assert_fails_with(
        mock(K1, w, i.clone()),
        "'register_operator, set_concession: from = TRANSIT_AUTHORITY'",
    );
    let s = one(|s| s.city.register_operator(s.city.id("operator-tram"), FARES));
    let (mut w, i) = accounts(&s, 1);
    w.slots[0].encoding[1] = Fp::from(circuits::constants::COUNCIL);
    assert_fails_with(
        mock(K1, w, i.clone()),
        "'register_operator, set_concession: from = TRANSIT_AUTHORITY'",
    );
}

#[test]
fn a_concession_above_100_or_misapplied_fails() {
    let s = one(|s| s.city.concession(s.city.resident(4), 100));
    let (w, i) = accounts(&s, 1);
    assert_eq!(
        mock(K1, w.clone(), i.clone()),
        Vec::<String>::new(),
        "exactly 100%"
    );
    let mut over = w.clone();
    over.slots[0].encoding[4] = Fp::from(101);
    assert_fails_with(mock(K1, over, i.clone()), "d_pct < 2^64");
    let mut w = w;
    account_mut(&mut w, 0, 1, true).rider.concession = 99;
    assert_fails_with(
        mock(K1, w, i.clone()),
        "'rb2_new = rb2 + concession * 2^128 * (percent - concession2)'",
    );
}

#[test]
fn an_operators_fare_table_is_the_signed_one() {
    let s = one(|s| s.city.register_operator(s.city.id("operator-tram"), FARES));
    let (mut w, i) = accounts(&s, 1);
    account_mut(&mut w, 0, 1, true).owner.fares = Some([1, 2, 3, 4]);
    assert_fails_with(
        mock(K1, w, i.clone()),
        "'new fares 0,1 = delegate * fares01 + operator * (field 4 + 2^64 field 5)'",
    );
    let s = one(|s| s.city.register_operator(s.city.id("operator-tram"), FARES));
    let (w, i) = accounts(&s, 1);
    assert_fails_with(
        mock_with(K1, w, i.clone(), &[("owner2_new", 0, Fp::from(7))]),
        "'owner2_new = owner2 + (operator + open) * (new owner record - owner2)'",
    );
    let s = one(|s| s.city.register_operator(s.city.id("operator-tram"), FARES));
    let (w, i) = accounts(&s, 1);
    assert_fails_with(
        mock_with(K1, w, i.clone(), &[("nf01", 0, Fp::from(7))]),
        "'new fares 0,1 = delegate * fares01 + operator * (field 4 + 2^64 field 5)'",
    );
}

#[test]
fn an_opened_account_goes_at_the_counter_into_an_empty_leaf() {
    let key = circuits::keys::SecretKey::from_seed(b"new resident");
    let s = one(|s| s.city.open_account(s.city.resident(0), &key));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w.clone(), i.clone()), Vec::<String>::new());
    let mut not_empty = w.clone();
    account_mut(&mut not_empty, 0, 1, false).balance = 5;
    assert_fails_with(
        mock(K1, not_empty, i.clone()),
        "'open_account: new account's balance was 0'",
    );
    assert_fails_with(
        mock_with(K1, w.clone(), i.clone(), &[("a2_index", 0, Fp::from(3))]),
        "'a2 index = field 3, or the accounts counter for open_account'",
    );
    assert_fails_with(
        mock_with(K1, w.clone(), i.clone(), &[("accounts_new", 0, Fp::ZERO)]),
        "'accounts_new = accounts + open'",
    );
    // A key off the curve (its y moved by one): the opened account could never sign.
    let mut off_curve = w;
    off_curve.slots[0].encoding[4] += Fp::ONE;
    assert_fails_with(
        mock(K1, off_curve, i.clone()),
        "'open_account: the new key is on the curve (y^2 = x^3 + 5)'",
    );
}

#[test]
fn a_delegate_registers_once_with_the_next_id() {
    let s = one(|s| s.city.register_delegate(s.city.resident(2)));
    let (w, i) = accounts(&s, 1);
    assert_eq!(mock(K1, w.clone(), i.clone()), Vec::<String>::new());
    let mut again = w.clone();
    account_mut(&mut again, 0, 0, false).owner.delegate = Some(0);
    assert_fails_with(
        mock(K1, again, i.clone()),
        "'register_delegate: the signer is not a delegate yet'",
    );
    assert_fails_with(
        mock_with(K1, w, i.clone(), &[("nflags", 0, Fp::from(5))]),
        "'new flags = delegate * (delegates + 1 + 2^64 isop1) + operator * (del1_2 + 2^64)'",
    );
}

// ---- real proofs ----

#[test]
fn a_real_proof_verifies_and_fails_with_any_public_input_changed() {
    let (mut s, metro) = transit_city();
    let r1 = s.city.resident(1);
    s.push(s.city.tap(r1, metro, 2, NOW - 50));
    let (w, i) = accounts(&s, 1);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("params");
    let params = circuits::params::load_or_make(&dir, K1, |_| {})
        .unwrap()
        .params;
    let keys = ChunkKeys::for_family(&params, Family::Accounts, 1).unwrap();
    let rng = rand::rngs::StdRng::seed_from_u64(3);
    let bytes = proof::prove(&params, &keys, w, &i, rng).unwrap();
    proof::verify(&params, keys.vk(), &i, &bytes).unwrap();
    let p = s.start.params();
    let mut later = p.clone();
    later.fare_cap += 1;
    for bad in [
        Instance::new(
            i.root_old(),
            i.root_new() + Fp::ONE,
            i.data_hash(),
            i.now(),
            i.chain(),
            p,
            i.signers().to_vec(),
        ),
        Instance::new(
            i.root_old(),
            i.root_new(),
            i.data_hash(),
            i.now() + 1,
            i.chain(),
            p,
            i.signers().to_vec(),
        ),
        Instance::new(
            i.root_old(),
            i.root_new(),
            i.data_hash(),
            i.now(),
            i.chain(),
            &later,
            i.signers().to_vec(),
        ),
        // The signer claimed to be another key, or none.
        with_signers(
            &i,
            p,
            vec![Some(s.city.key(s.city.resident(2)).public_key())],
        ),
        with_signers(&i, p, vec![None]),
    ] {
        assert!(proof::verify(&params, keys.vk(), &bad, &bytes).is_err());
    }
    assert_eq!(bytes.len(), ACCOUNTS_PROOF_BYTES_K11);
}

/// Bytes of a one-slot accounts proof at k = 11 (pinned: a change is deliberate).
const ACCOUNTS_PROOF_BYTES_K11: usize = 4_480;
