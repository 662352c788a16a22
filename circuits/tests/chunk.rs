//! The chunk circuit: honest chunks pass, the circuit reaches the native rules' root, every
//! tampered witness or public input fails a named constraint, and real proofs verify.

use circuits::chunk::proof::{self, ChunkKeys};
use circuits::chunk::witness::{self, ChunkWitness};
use circuits::chunk::{ChunkCircuit, Instance};
use circuits::demo::City;
use circuits::tx::Transaction;
use circuits::Fp;
use ff::Field;
use halo2_proofs::dev::MockProver;
use rand::{RngExt, SeedableRng};

const NOW: u64 = 1_767_230_000;
/// Slots and k of the MockProver tests: two transfers fit in 2^13 rows.
const SLOTS: usize = 2;
const K: u32 = 13;

#[test]
fn rows_k_and_degree_are_pinned() {
    use halo2_proofs::dev::CircuitCost;
    let measured = |slots| {
        let cost =
            CircuitCost::<pasta_curves::vesta::Point, _>::measure(15, &ChunkCircuit::blank(slots));
        // CircuitCost's fields are private; its Debug output names them.
        let text = format!("{cost:?}");
        let field = text
            .split("max_rows: ")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        field.trim().parse::<usize>().unwrap()
    };
    assert_eq!(measured(1), circuits::chunk::rows(1));
    assert_eq!(measured(2), circuits::chunk::rows(2));
    assert!(circuits::chunk::reserved_rows() <= circuits::chunk::BLINDING_ROWS);
    assert_eq!(circuits::chunk::k_for(SLOTS), K);
    assert_eq!(circuits::chunk::k_for(1), 12);
    assert_eq!(circuits::chunk::k_for(6), 14);
    assert_eq!(circuits::chunk::slots_for(14), 6);
    assert_eq!(circuits::chunk::slots_for(15), 12);
}

fn build(city: &City, txs: &[Transaction], slots: usize) -> (ChunkWitness, Instance) {
    let mut state = city.state.clone();
    witness::build(&mut state, txs, NOW, slots).unwrap()
}

/// MockProver's failures, as the messages an engineer reads.
fn failures(w: ChunkWitness, instance: Instance) -> Vec<String> {
    let prover = MockProver::run(K, &ChunkCircuit::new(w), vec![instance.to_halo2()]).unwrap();
    match prover.verify() {
        Ok(()) => vec![],
        Err(es) => es.iter().map(|e| e.to_string()).collect(),
    }
}

#[track_caller]
fn assert_fails(w: ChunkWitness, instance: Instance, expected: &str) {
    let found = failures(w, instance);
    assert!(
        found.iter().any(|f| f.contains(expected)),
        "expected a failure containing {expected:?}, got {found:#?}"
    );
}

fn one_transfer() -> (City, Transaction) {
    let c = City::new(4);
    let tx = c.transfer(c.resident(0), c.resident(1), 250);
    (c, tx)
}

#[test]
fn honest_chunks_pass_full_partly_filled_and_empty() {
    let c = City::new(4);
    let t1 = c.transfer(c.resident(0), c.resident(1), 250);
    // Another payer, so both are valid in order; the second empties its account.
    let t2 = c.transfer(c.resident(2), c.resident(0), 10_000);
    for txs in [vec![t1.clone(), t2], vec![t1], vec![]] {
        let (w, instance) = build(&c, &txs, SLOTS);
        assert_eq!(
            failures(w, instance),
            Vec::<String>::new(),
            "{} transfers",
            txs.len()
        );
    }
    // An empty chunk leaves the root as it was.
    let (_, instance) = build(&c, &[], SLOTS);
    assert_eq!(instance.root_old(), instance.root_new());
}

#[test]
fn random_transfers_reach_the_native_root() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut c = City::new(5);
    for chunk in 0..3 {
        let count = rng.random_range(0..=SLOTS);
        let mut native = c.state.clone();
        let mut txs = Vec::new();
        for _ in 0..count {
            let from = c.resident(rng.random_range(0..5));
            let mut to = c.resident(rng.random_range(0..5));
            if to == from {
                to = c.resident(((to - c.resident(0) + 1) % 5) as usize);
            }
            let balance = native.account(from).unwrap().balance;
            let amount = rng.random_range(1..=balance.max(1));
            let mut signer = City::new(5);
            signer.state = native.clone();
            let tx = signer.transfer(from, to, amount);
            native.apply(&tx, NOW).unwrap();
            txs.push(tx);
        }
        let (w, instance) = build(&c, &txs, SLOTS);
        assert_eq!(instance.root_old(), c.state.root());
        assert_eq!(instance.root_new(), native.root(), "chunk {chunk}");
        assert_eq!(failures(w, instance), Vec::<String>::new(), "chunk {chunk}");
        c.state = native;
    }
}

#[test]
fn wrong_nonce_fails_the_nonce_constraint() {
    let (c, tx) = one_transfer();
    let (mut w, instance) = build(&c, &[tx], SLOTS);
    w.slots[0].encoding[2] += Fp::ONE;
    assert_fails(w, instance, "'flag * (tx nonce - account nonce) = 0'");
}

#[test]
fn forged_signature_fails_the_signature_gate() {
    let (c, tx) = one_transfer();
    let (mut w, instance) = build(&c, &[tx], SLOTS);
    w.slots[0].signature.s += pasta_curves::pallas::Scalar::ONE;
    assert_fails(w, instance, "'flag * ((s·G).x - (R + c·PK).x) = 0'");
}

#[test]
fn signature_over_another_message_fails_the_signature_gate() {
    let (c, tx) = one_transfer();
    let (mut w, instance) = build(&c, &[tx], SLOTS);
    let other = c.transfer(c.resident(0), c.resident(1), 251);
    w.slots[0].signature = *other.signature().unwrap();
    assert_fails(w, instance, "'flag * ((s·G).x - (R + c·PK).x) = 0'");
}

#[test]
fn another_accounts_key_cannot_sign() {
    let (c, tx) = one_transfer();
    let (mut w, instance) = build(&c, std::slice::from_ref(&tx), SLOTS);
    // The payer's key replaced by the payee's (who signs): the owner record no longer
    // hashes to the payer's leaf.
    let thief = c.resident(1);
    let forged = tx.signed(c.key(thief));
    w.slots[0].signature = *forged.signature().unwrap();
    w.slots[0].from.account.owner.public_key = Some(c.key(thief).public_key());
    assert_fails(w, instance, "Equality constraint not satisfied");
}

#[test]
fn overdraft_fails_the_balance_range_check() {
    let (c, tx) = one_transfer();
    let (mut w, instance) = build(&c, &[tx], SLOTS);
    // 10,001 cents from a balance of 10,000: the new balance wraps to p - 1.
    w.slots[0].encoding[4] = Fp::from(10_001);
    assert_fails(w, instance, "Lookup 0 is not satisfied in Region");
}

#[test]
fn amount_of_2_pow_64_fails_its_range_check() {
    let (c, tx) = one_transfer();
    let (mut w, instance) = build(&c, &[tx], SLOTS);
    w.slots[0].encoding[4] = Fp::from(2).pow([64]);
    let found = failures(w, instance);
    let lookups = found
        .iter()
        .filter(|f| f.contains("Lookup 0 is not satisfied"))
        .count();
    // The amount's own check and the payer's new balance both fail.
    assert!(lookups >= 2, "{found:#?}");
}

#[test]
fn zero_amount_self_transfer_and_unknown_payee_fail_their_constraints() {
    let (c, tx) = one_transfer();
    let (w, instance) = build(&c, &[tx], SLOTS);
    let mut zero = w.clone();
    zero.slots[0].encoding[4] = Fp::ZERO;
    assert_fails(zero, instance, "'amount != 0'");
    let mut to_self = w.clone();
    to_self.slots[0].encoding[3] = to_self.slots[0].encoding[1];
    assert_fails(to_self, instance, "'from != to'");
    let mut ghost = w.clone();
    ghost.slots[0].to.account = Default::default();
    assert_fails(ghost, instance, "'payee exists: to owner != empty owner'");
}

#[test]
fn padding_must_encode_zeros() {
    let c = City::new(4);
    let (mut w, instance) = build(&c, &[], SLOTS);
    w.slots[1].encoding[4] = Fp::from(5);
    assert_fails(w.clone(), instance, "'padding: amount = 0'");
    w.slots[1].encoding[4] = Fp::ZERO;
    w.slots[1].encoding[6] = Fp::ONE;
    assert_fails(w, instance, "'unused field 6 = 0'");
}

#[test]
fn wrong_sibling_breaks_the_root_chain() {
    let (c, tx) = one_transfer();
    let (mut w, instance) = build(&c, &[tx], SLOTS);
    w.slots[0].from.path.siblings[5] += Fp::ONE;
    assert_fails(w, instance, "Equality constraint not satisfied by cell (Column { column_type: Advice, index: 0 }, in Region 1 ('state header')");
}

#[test]
fn wrong_position_bits_leave_the_running_sum_nonzero() {
    let (c, tx) = one_transfer();
    let (mut w, instance) = build(&c, &[tx], SLOTS);
    // The bits no longer spell the payee's index: the running sum does not end at 0.
    w.slots[0].to.path.index ^= 1 << 3;
    assert_fails(w, instance, "('position fits the tree')");
}

#[test]
fn wrong_public_inputs_fail_against_the_instance_column() {
    let (c, tx) = one_transfer();
    let (w, instance) = build(&c, std::slice::from_ref(&tx), SLOTS);
    let instance_cell = |row| {
        format!("Column {{ column_type: Instance, index: 0 }}, outside any region, on row {row})")
    };
    let wrong_new = Instance::new(
        instance.root_old(),
        instance.root_new() + Fp::ONE,
        instance.data_hash(),
        instance.now(),
    );
    assert_fails(
        w.clone(),
        wrong_new,
        &instance_cell(circuits::chunk::ROOT_NEW),
    );
    let wrong_old = Instance::new(
        instance.root_old() + Fp::ONE,
        instance.root_new(),
        instance.data_hash(),
        instance.now(),
    );
    assert_fails(
        w.clone(),
        wrong_old,
        &instance_cell(circuits::chunk::ROOT_OLD),
    );
    // The data hash of other data: the same transfer with another amount.
    let other = c.transfer(c.resident(0), c.resident(1), 251);
    let other_hash = circuits::chunk::data_hash(&[other], SLOTS);
    let wrong_data = Instance::new(
        instance.root_old(),
        instance.root_new(),
        other_hash,
        instance.now(),
    );
    assert_fails(w, wrong_data, &instance_cell(circuits::chunk::DATA_HASH));
}

#[test]
fn a_real_proof_verifies_and_fails_with_any_public_input_changed() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let k = circuits::chunk::k_for(1);
    let params = circuits::params::load_or_make(dir, k, |_| ()).unwrap();
    let keys = ChunkKeys::setup(&params, 1).unwrap();
    let (c, tx) = one_transfer();
    let (w, instance) = build(&c, &[tx], 1);
    let rng = rand::rngs::StdRng::seed_from_u64(1);
    let bytes = proof::prove(&params, &keys, w, &instance, rng).unwrap();
    proof::verify(&params, keys.vk(), &instance, &bytes).unwrap();
    let f = Fp::ONE;
    for changed in [
        Instance::new(
            instance.root_old() + f,
            instance.root_new(),
            instance.data_hash(),
            instance.now(),
        ),
        Instance::new(
            instance.root_old(),
            instance.root_new() + f,
            instance.data_hash(),
            instance.now(),
        ),
        Instance::new(
            instance.root_old(),
            instance.root_new(),
            instance.data_hash() + f,
            instance.now(),
        ),
    ] {
        assert!(proof::verify(&params, keys.vk(), &changed, &bytes).is_err());
    }
    let mut flipped = bytes.clone();
    flipped[100] ^= 1;
    assert!(proof::verify(&params, keys.vk(), &instance, &flipped).is_err());
    // Pinned: a change to the circuit that changes these is deliberate.
    assert_eq!(bytes.len(), circuits::chunk::PROOF_BYTES, "proof size");
    assert_eq!(
        circuits::chunk::degree(),
        circuits::chunk::DEGREE,
        "constraint degree"
    );
}
