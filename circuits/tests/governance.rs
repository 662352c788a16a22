//! The governance family's chunk circuit: anonymous ballots (their zero-knowledge proof is the
//! ballot circuit's, which the verifier checks; this circuit binds the same fields through the
//! data hash) and delegates' signed votes.
//!
//! Every honest chunk passes MockProver and reaches the native root; for every rule, a tamper
//! (of a witness record, of the encoding, of the public batch time or of one cell) fails the
//! constraint named after the rule.

mod common;

use circuits::chunk::proof::{self, ChunkKeys};
use circuits::chunk::witness::{self, ChunkWitness};
use circuits::chunk::{Family, GovernanceCircuit, Instance, BLINDING_ROWS};
use circuits::demo::{demo_voter, City};
use circuits::records::{BallotRecord, Tally};
use circuits::state::{Event, TreeId, Write};
use circuits::voter::Vote;
use circuits::{Fp, Transaction};
use common::*;
use ff::Field;

/// One slot fits in 2^12 rows, two in 2^13.
const K1: u32 = 12;
const K2: u32 = 13;

/// Proposal 0's window.
const START: u64 = NOW - 100;
const END: u64 = NOW + 1_000;

/// Five registered voters, delegates resident-3 (delegate 0) and resident-4 (delegate 1), and
/// proposal 0 with three options open in `[START, END)`.
fn election() -> Scenario {
    let mut s = Scenario::new(6);
    for v in 0..5 {
        s.setup(s.city.register_voter(demo_voter(v).commitment()));
    }
    for r in [3, 4] {
        s.setup(s.city.register_delegate(s.city.resident(r)));
    }
    s.setup(s.city.proposal("Q?", &["a", "b", "c"], START, END));
    s
}

/// Voter `voter`'s ballot on proposal 0.
fn ballot(s: &Scenario, voter: u64, vote: Vote) -> Transaction {
    s.city.ballot(&demo_voter(voter), 0, vote)
}

/// Delegate 0's (resident-3's) vote on proposal 0.
fn delegate_vote(s: &Scenario, option: u64) -> Transaction {
    s.city.delegate_vote(s.city.resident(3), 0, option)
}

fn k(w: &ChunkWitness) -> u32 {
    match w.slots.len() {
        1 => K1,
        2 => K2,
        n => Family::Governance.k_for(n),
    }
}

#[track_caller]
fn passes(w: ChunkWitness, instance: Instance) {
    let k = k(&w);
    assert_eq!(
        failures(k, GovernanceCircuit::new(w), instance.clone()),
        Vec::<String>::new()
    );
}

#[track_caller]
fn fails(w: ChunkWitness, instance: Instance, expected: &str) {
    let k = k(&w);
    let found = failures(k, GovernanceCircuit::new(w), instance);
    if expected.contains(" < 2^") {
        // A range check fails in the region named after its value: by a lookup, or for a
        // strict check by its last running sum not being 0.
        let region = format!("('{expected}");
        assert!(
            found.iter().any(|f| f.contains(&region)),
            "expected a failure in the region {expected:?}, got {found:#?}"
        );
    } else {
        assert_fails_with(found, expected);
    }
}

#[track_caller]
fn fails_with(
    w: ChunkWitness,
    instance: Instance,
    overrides: &[(&'static str, usize, Fp)],
    expected: &str,
) {
    let k = k(&w);
    assert_fails_with(
        failures_with(k, GovernanceCircuit::new(w), instance.clone(), overrides),
        expected,
    );
}

/// The same public inputs at another batch time.
fn at_time(s: &Scenario, instance: &Instance, now: u64) -> Instance {
    Instance::new(
        instance.root_old(),
        instance.root_new(),
        instance.data_hash(),
        now,
        instance.chain(),
        s.start.params(),
        instance.signers().to_vec(),
    )
}

fn two64() -> Fp {
    Fp::from(2).pow([64])
}

/// The record a touch writes (`new`) or finds (`old`), to tamper with.
fn write_of(w: &mut ChunkWitness, slot: usize, touch: usize, new: bool) -> &mut Write {
    let t = w.slots[slot].touches[touch].as_mut().expect("a used touch");
    if new {
        &mut t.new
    } else {
        &mut t.old
    }
}

fn tally_of(w: &mut ChunkWitness, slot: usize, touch: usize, new: bool) -> &mut Tally {
    match write_of(w, slot, touch, new) {
        Write::Tally(_, t) => t,
        other => panic!("not a tally: {other:?}"),
    }
}

fn used(w: &ChunkWitness, slot: usize) -> Vec<bool> {
    w.slots[slot].touches.iter().map(|t| t.is_some()).collect()
}

// ---------------------------------------------------------------- the pinned circuit

#[test]
fn layout_degree_and_reserved_rows_are_pinned() {
    let one = measured_rows(&GovernanceCircuit::blank(1));
    let two = measured_rows(&GovernanceCircuit::blank(2));
    let (per_slot, fixed) = Family::Governance.layout();
    println!(
        "governance: {per_slot} rows per slot, {fixed} fixed; slots at k=13: {}, k=14: {}, k=15: {}",
        Family::Governance.slots_for(13),
        Family::Governance.slots_for(14),
        Family::Governance.slots_for(15)
    );
    assert_eq!(one, Family::Governance.rows(1));
    assert_eq!(two, Family::Governance.rows(2));
    assert_eq!((per_slot, fixed), (2_950, 171));
    assert_eq!(circuits::chunk::degree_of::<GovernanceCircuit>(), 6);
    assert!(circuits::chunk::reserved_rows_of::<GovernanceCircuit>() <= BLINDING_ROWS);
    assert_eq!(
        [13, 14, 15].map(|k| Family::Governance.slots_for(k)),
        [2, 5, 11]
    );
    assert_eq!(
        (Family::Governance.k_for(1), Family::Governance.k_for(2)),
        (K1, K2)
    );
    assert_eq!(Family::Governance.touches(), 5);
}

// ---------------------------------------------------------------- honest chunks

#[test]
fn a_first_ballot_then_padding() {
    let mut s = election();
    s.push(ballot(&s, 0, Vote::Option(1)));
    let (w, instance) = s.chunk(Family::Governance, 2);
    // The ballot leaf, T2 and the proposal; padding touches nothing.
    assert_eq!(used(&w, 0), [false, true, false, true, true]);
    assert_eq!(used(&w, 1), [false; 5]);
    assert_eq!(s.city.state.tally(0, 1).count, 1);
    passes(w, instance.clone());
}

#[test]
fn a_replacement_with_another_slot_moves_both_tallies() {
    let mut s = election();
    s.setup(ballot(&s, 0, Vote::Option(0)));
    s.push(ballot(&s, 0, Vote::Option(2)));
    let (w, instance) = s.chunk(Family::Governance, 1);
    assert_eq!(used(&w, 0), [false, true, true, true, true]);
    // The old slot's count goes down to exactly zero.
    assert_eq!(s.city.state.tally(0, 0).count, 0);
    assert_eq!(s.city.state.tally(0, 2).count, 1);
    passes(w, instance.clone());
}

#[test]
fn a_replacement_with_the_same_vote_moves_nothing() {
    let mut s = election();
    s.setup(ballot(&s, 0, Vote::Option(1)));
    s.push(ballot(&s, 0, Vote::Option(1)));
    let (w, instance) = s.chunk(Family::Governance, 1);
    assert_eq!(used(&w, 0), [false, true, false, false, true]);
    assert_eq!(
        s.start.header().tree_root(TreeId::Tallies),
        s.city.state.header().tree_root(TreeId::Tallies)
    );
    // The ballot leaf keeps the new sequence number: only the ballots tree changes.
    assert_ne!(instance.root_old(), instance.root_new());
    assert_ne!(
        s.start.header().tree_root(TreeId::Ballots),
        s.city.state.header().tree_root(TreeId::Ballots)
    );
    passes(w, instance.clone());
}

#[test]
fn ballots_following_delegates_and_an_override() {
    let mut s = election();
    s.setup(ballot(&s, 1, Vote::Delegate(0)));
    // A new follower of delegate 1; voter 1 leaves delegate 0 for option 0.
    s.push(ballot(&s, 0, Vote::Delegate(1)));
    s.push(ballot(&s, 1, Vote::Option(0)));
    let (w, instance) = s.chunk(Family::Governance, 2);
    assert_eq!(s.city.state.tally(0, 17).count, 1);
    assert_eq!(s.city.state.tally(0, 16).count, 0);
    assert_eq!(s.city.state.tally(0, 0).count, 1);
    passes(w, instance.clone());
}

#[test]
fn delegate_votes_and_a_changed_vote() {
    let mut s = election();
    s.setup(ballot(&s, 0, Vote::Delegate(0)));
    s.push(delegate_vote(&s, 2));
    s.push(delegate_vote(&s, 0));
    let (w, instance) = s.chunk(Family::Governance, 2);
    assert_eq!(used(&w, 0), [true, false, true, false, true]);
    let t = s.city.state.tally(0, 16);
    assert_eq!(
        (t.count, t.choice),
        (1, 1),
        "followers kept, choice option 0 + 1"
    );
    passes(w, instance.clone());
}

#[test]
fn votes_at_the_window_edges_and_the_last_option() {
    let mut s = election();
    let sixteen: Vec<String> = (0..16).map(|i| i.to_string()).collect();
    let sixteen: Vec<&str> = sixteen.iter().map(|o| o.as_str()).collect();
    // Proposal 1 opens exactly now, with the most options; proposal 2 closes one second
    // after now (now = end - 1).
    s.setup(s.city.proposal("opens now", &sixteen, NOW, NOW + 50));
    s.setup(
        s.city
            .proposal("closes next", &["x", "y"], NOW - 50, NOW + 1),
    );
    s.push(s.city.ballot(&demo_voter(0), 1, Vote::Option(15)));
    s.push(s.city.delegate_vote(s.city.resident(4), 2, 1));
    let (w, instance) = s.chunk(Family::Governance, 2);
    passes(w, instance.clone());
}

#[test]
fn a_chunk_of_padding_changes_nothing() {
    let s = election();
    let (w, instance) = s.chunk(Family::Governance, 1);
    assert_eq!(instance.root_old(), instance.root_new());
    passes(w, instance.clone());
}

// ---------------------------------------------------------------- windows

#[test]
fn a_ballot_before_the_window_opens_is_refused() {
    let mut s = election();
    s.setup(
        s.city
            .proposal("opens in a second", &["x", "y"], NOW + 1, NOW + 50),
    );
    s.now = NOW + 1;
    s.push(s.city.ballot(&demo_voter(0), 1, Vote::Option(0)));
    let (w, instance) = s.chunk(Family::Governance, 1);
    // Natively refused one second earlier; the same chunk claimed then fails start <= now.
    assert!(matches!(
        s.start.clone().apply(&s.txs[0], NOW),
        Err(circuits::TxError::OutsideWindow { .. })
    ));
    fails(w, at_time(&s, &instance, NOW), "d_start < 2^64");
}

#[test]
fn a_ballot_at_the_end_of_the_window_is_refused() {
    let mut s = election();
    s.setup(
        s.city
            .proposal("closes next", &["x", "y"], NOW - 50, NOW + 1),
    );
    s.push(s.city.ballot(&demo_voter(0), 1, Vote::Option(0)));
    let (w, instance) = s.chunk(Family::Governance, 1);
    assert!(matches!(
        s.start.clone().apply(&s.txs[0], NOW + 1),
        Err(circuits::TxError::OutsideWindow { .. })
    ));
    fails(w, at_time(&s, &instance, NOW + 1), "d_end < 2^64");
}

#[test]
fn a_delegate_vote_after_the_window_is_refused() {
    let mut s = election();
    s.push(delegate_vote(&s, 1));
    let (w, instance) = s.chunk(Family::Governance, 1);
    fails(w, at_time(&s, &instance, END), "d_end < 2^64");
}

// ---------------------------------------------------------------- ballots: tampers

/// Voter 0's first ballot, for option 1, in a chunk of one slot.
fn first_ballot() -> (Scenario, ChunkWitness, Instance) {
    let mut s = election();
    s.push(ballot(&s, 0, Vote::Option(1)));
    let (w, instance) = s.chunk(Family::Governance, 1);
    (s, w, instance.clone())
}

/// Voter 0 moves from option 0 to option 2, in a chunk of one slot.
fn moved_ballot() -> (Scenario, ChunkWitness, Instance) {
    let mut s = election();
    s.setup(ballot(&s, 0, Vote::Option(0)));
    s.push(ballot(&s, 0, Vote::Option(2)));
    let (w, instance) = s.chunk(Family::Governance, 1);
    (s, w, instance.clone())
}

#[test]
fn a_ballot_for_an_option_the_proposal_lacks_fails() {
    let (_, mut w, instance) = first_ballot();
    w.slots[0].encoding[3] = Fp::from(3); // Options 0, 1, 2.
    fails(w, instance.clone(), "d_opt < 2^64");
}

#[test]
fn a_ballot_for_an_unregistered_delegate_fails() {
    let (_, mut w, instance) = first_ballot();
    w.slots[0].encoding[3] = Fp::from(16 + 2); // Delegates 0 and 1.
    fails(w.clone(), instance.clone(), "d_del < 2^64");
    // Beyond every tally slot of the proposal (slot >= 2^12).
    w.slots[0].encoding[3] = Fp::from(1 << 12);
    fails(w, instance.clone(), "dcap < 2^64");
}

#[test]
fn an_option_slot_cannot_pass_as_a_delegate_slot() {
    let (_, w, instance) = first_ballot();
    fails_with(
        w,
        instance.clone(),
        &[("isdel", 0, Fp::one())],
        "sopt = (1 - isdel) * ts (an option slot, < 16)",
    );
}

#[test]
fn an_option_slot_is_below_16() {
    // The lookup of the option slot (`sopt`) itself: its copy and its shifted copy (the
    // circuit's one short range check: a 64-bit check's top bits are bits of a gate) made
    // 16, which does not fit in 4 bits.
    let (_, w, instance) = first_ballot();
    let found = failures_with(
        K1,
        GovernanceCircuit::new(w),
        instance.clone(),
        &[
            ("element", 0, Fp::from(16)),
            ("element * 2^(10-4)", 0, Fp::from(16 << 6)),
        ],
    );
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("Lookup") && f.contains("('sopt < 2^4')")),
        "{found:#?}"
    );
}

#[test]
fn a_ballot_against_another_voter_root_fails() {
    let (_, mut w, instance) = first_ballot();
    w.slots[0].encoding[4] += Fp::one();
    fails(
        w,
        instance.clone(),
        "ballot: voter root = the proposal's voter root",
    );
}

#[test]
fn a_zero_nullifier_fails() {
    let (_, mut w, instance) = first_ballot();
    w.slots[0].encoding[2] = Fp::zero();
    fails(w, instance.clone(), "ballot: nullifier != 0");
}

#[test]
fn a_ballot_leaf_away_from_the_nullifier_low_bits_fails() {
    let (_, w, instance) = first_ballot();
    let low = circuits::hash::low_u64(w.slots[0].encoding[2]);
    fails_with(
        w.clone(),
        instance.clone(),
        &[("bpos", 0, Fp::from(low ^ 1))],
        "ballot position = ballot * low",
    );
    // The high part is bounded (2^190), so the split is unique: a nullifier of 2^254 or more
    // (p - 1 here) has no such split.
    let mut w = w;
    w.slots[0].encoding[2] = -Fp::one();
    fails(w, instance.clone(), "nhi < 2^190");
}

#[test]
fn a_ballot_for_a_proposal_not_opened_fails() {
    let (_, mut w, instance) = first_ballot();
    w.slots[0].encoding[1] = Fp::one(); // One proposal: 0.
    fails(w, instance.clone(), "d_prop < 2^64");
}

#[test]
fn the_proposal_read_is_opened_from_the_proposals_root() {
    let (_, mut w, instance) = first_ballot();
    match write_of(&mut w, 0, 4, false) {
        Write::Proposal(_, p) => p.options = 10,
        other => panic!("not a proposal: {other:?}"),
    }
    fails(w, instance.clone(), "flag * (running root - old root) = 0");
}

#[test]
fn a_ballot_cannot_replace_another_nullifier_ballot() {
    // The same low 64 bits, another nullifier (natively: NullifierSlotTaken).
    let (_, mut w, instance) = moved_ballot();
    w.slots[0].encoding[2] += two64();
    fails(
        w,
        instance.clone(),
        "replacement: the old leaf's nullifier = nullifier",
    );
}

#[test]
fn a_replayed_earlier_ballot_cannot_replace_a_newer_one() {
    // Natively: BallotNotNewer. The moved ballot carries sequence 1 over the leaf's 0; a
    // replayed copy of the first ballot (sequence 0, or anything not above the leaf's) fails.
    let (_, w, instance) = moved_ballot();
    assert_eq!(w.slots[0].encoding[5], Fp::one());
    for seq in [Fp::zero(), -Fp::one()] {
        let mut replayed = w.clone();
        replayed.slots[0].encoding[5] = seq;
        fails(replayed, instance.clone(), "d_seq < 2^64");
    }
    // The leaf claiming an older number than it holds: its hash is not the tree's.
    let mut older = w;
    match write_of(&mut older, 0, 1, false) {
        Write::Ballot(_, b) => b.seq = 1,
        other => panic!("not a ballot: {other:?}"),
    }
    fails(older, instance.clone(), "d_seq < 2^64");
}

#[test]
fn a_replacement_cannot_pass_as_a_new_ballot_to_reset_its_number() {
    // Voter 0's third ballot replaces a leaf numbered 1; claimed as a new ballot (whose old
    // leaf must be empty), the leaf's number must be 0.
    let mut s = election();
    s.setup(ballot(&s, 0, Vote::Option(0)));
    s.setup(ballot(&s, 0, Vote::Option(2)));
    s.push(ballot(&s, 0, Vote::Option(1)));
    let (w, instance) = s.chunk(Family::Governance, 1);
    assert_eq!(w.slots[0].encoding[5], Fp::from(2));
    fails_with(
        w,
        instance.clone(),
        &[("fresh", 0, Fp::one()), ("rep", 0, Fp::zero())],
        "new ballot: the old leaf's sequence number = 0",
    );
}

#[test]
fn the_ballot_leaf_keeps_the_new_sequence_number() {
    // The sequence number in the encoding (bound by the data hash) is the one the new leaf
    // holds: a prover writing another breaks the ballots root.
    let (_, mut w, instance) = moved_ballot();
    match write_of(&mut w, 0, 1, true) {
        Write::Ballot(_, b) => b.seq = 9,
        other => panic!("not a ballot: {other:?}"),
    }
    assert!(
        failures(k(&w), GovernanceCircuit::new(w), instance.clone()).is_empty(),
        "the circuit writes the encoding's number, not the witness record's"
    );
}

#[test]
fn only_a_ballot_uses_field_5() {
    let (_, mut w, instance) = a_delegate_vote();
    w.slots[0].encoding[5] = Fp::from(2);
    fails(
        w,
        instance.clone(),
        "field 5 = 0 unless ballot (its sequence number)",
    );
}

#[test]
fn a_replacement_of_a_ballot_in_another_proposal_fails() {
    let (_, mut w, instance) = moved_ballot();
    match write_of(&mut w, 0, 1, false) {
        Write::Ballot(_, b) => b.proposal = 1,
        other => panic!("not a ballot: {other:?}"),
    }
    fails(
        w,
        instance.clone(),
        "replacement: the old leaf's proposal = proposal",
    );
}

#[test]
fn a_replacement_cannot_pass_as_a_new_ballot() {
    let (_, w, instance) = moved_ballot();
    fails_with(
        w,
        instance.clone(),
        &[("fresh", 0, Fp::one()), ("rep", 0, Fp::zero())],
        "new ballot: the old leaf's nullifier = 0",
    );
}

#[test]
fn a_new_ballot_needs_an_empty_leaf() {
    // Another nullifier's leaf claimed empty: the tally would count twice.
    let (_, mut w, instance) = first_ballot();
    *write_of(&mut w, 0, 1, false) = Write::Ballot(
        circuits::hash::low_u64(w.slots[0].encoding[2]),
        BallotRecord {
            nullifier: Fp::from(7),
            proposal: 0,
            slot: 1,
            seq: 0,
        },
    );
    fails(
        w,
        instance.clone(),
        "replacement: the old leaf's nullifier = nullifier",
    );
}

#[test]
fn a_replacement_cannot_decrement_another_tally() {
    let (_, w, instance) = moved_ballot();
    // Option 1's tally instead of option 0's.
    fails_with(
        w,
        instance.clone(),
        &[("k1", 0, Fp::one())],
        "k1 = moved * (2^12 proposal + old slot) + delegate_vote * (2^12 proposal + ts)",
    );
}

#[test]
fn a_moved_vote_cannot_pass_as_the_same_vote() {
    let (_, w, instance) = moved_ballot();
    fails_with(
        w,
        instance.clone(),
        &[("iz", 0, Fp::one())],
        "diff * iz = 0 (iz = [ts = old slot])",
    );
}

#[test]
fn the_same_vote_cannot_pass_as_a_moved_vote() {
    let mut s = election();
    s.setup(ballot(&s, 0, Vote::Option(1)));
    s.push(ballot(&s, 0, Vote::Option(1)));
    let (w, instance) = s.chunk(Family::Governance, 1);
    fails_with(
        w,
        instance.clone(),
        &[("iz", 0, Fp::zero())],
        "iz = 1 - diff * inv_diff",
    );
}

#[test]
fn a_ballot_moving_a_tally_by_two_fails() {
    let (_, mut w, instance) = first_ballot();
    tally_of(&mut w, 0, 3, true).count += 1;
    fails(w, instance.clone(), "T2 count_new = count + t2");
    let (_, mut w, instance) = moved_ballot();
    tally_of(&mut w, 0, 2, true).count += 1; // Up instead of down.
    fails(w, instance.clone(), "T1 count_new = count - moved");
}

// ---------------------------------------------------------------- delegate votes: tampers

/// Delegate 0's vote for option 2, in a chunk of one slot.
fn a_delegate_vote() -> (Scenario, ChunkWitness, Instance) {
    let mut s = election();
    s.push(delegate_vote(&s, 2));
    let (w, instance) = s.chunk(Family::Governance, 1);
    (s, w, instance.clone())
}

fn set_delegate(w: &mut ChunkWitness, delegate: Option<u64>) {
    for new in [false, true] {
        match write_of(w, 0, 0, new) {
            Write::Account(_, a) => a.owner.delegate = delegate,
            other => panic!("not an account: {other:?}"),
        }
    }
}

#[test]
fn a_delegate_vote_by_a_non_delegate_fails() {
    let (_, mut w, instance) = a_delegate_vote();
    set_delegate(&mut w, None);
    fails(
        w,
        instance.clone(),
        "delegate_vote: delegate field != 0 (the signer is a delegate)",
    );
}

#[test]
fn a_delegate_vote_for_an_unregistered_delegate_id_fails() {
    let (_, mut w, instance) = a_delegate_vote();
    set_delegate(&mut w, Some(2)); // Delegates 0 and 1.
    fails(w, instance.clone(), "d_del < 2^64");
}

#[test]
fn a_delegate_vote_with_a_wrong_nonce_fails() {
    let (_, mut w, instance) = a_delegate_vote();
    w.slots[0].encoding[2] += Fp::one();
    fails(
        w,
        instance.clone(),
        "delegate_vote * (tx nonce - nonce) = 0",
    );
}

#[test]
fn a_delegate_vote_with_a_bad_signature_fails_the_signature_proof() {
    let (_, mut w, instance) = a_delegate_vote();
    w.slots[0].signature.as_mut().unwrap().s += pasta_curves::pallas::Scalar::one();
    assert_fails_with(signature_failures(&w, &instance), SIGNATURE_FAILS);
}

#[test]
fn a_delegate_vote_from_an_account_not_opened_fails() {
    let (s, mut w, instance) = a_delegate_vote();
    w.slots[0].encoding[1] = Fp::from(s.start.counters().accounts);
    fails(w, instance.clone(), "d_from < 2^64");
}

#[test]
fn a_delegate_vote_for_an_option_the_proposal_lacks_fails() {
    let (_, mut w, instance) = a_delegate_vote();
    w.slots[0].encoding[4] = Fp::from(3);
    fails(w.clone(), instance.clone(), "d_opt < 2^64");
    // p - 1 would be "option + 1 = 0" (no vote) below any option count: the option is
    // range-checked.
    w.slots[0].encoding[4] = -Fp::one();
    fails(w, instance.clone(), "e4c < 2^64");
}

#[test]
fn a_delegate_vote_sets_exactly_its_choice() {
    let (_, mut w, instance) = a_delegate_vote();
    tally_of(&mut w, 0, 2, true).choice = 1;
    fails(
        w,
        instance.clone(),
        "T1 choice_new = choice + delegate_vote * (option + 1 - choice)",
    );
    let (_, mut w, instance) = a_delegate_vote();
    tally_of(&mut w, 0, 2, true).count += 1;
    fails(w, instance.clone(), "T1 count_new = count - moved");
}

#[test]
fn a_delegate_vote_writes_its_own_slot_and_no_other_tally() {
    let (_, w, instance) = a_delegate_vote();
    fails_with(
        w.clone(),
        instance.clone(),
        &[("k1", 0, Fp::from(17))],
        "k1 = moved * (2^12 proposal + old slot) + delegate_vote * (2^12 proposal + ts)",
    );
    fails_with(
        w,
        instance.clone(),
        &[("t2", 0, Fp::one())],
        "t2 = ballot - same",
    );
}

// ---------------------------------------------------------------- kinds and padding: tampers

fn padding() -> (ChunkWitness, Instance) {
    election().chunk(Family::Governance, 1)
}

#[test]
fn padding_encodes_zeros_and_enables_nothing() {
    let (w, instance) = padding();
    fails_with(
        w.clone(),
        instance.clone(),
        &[("e3", 0, Fp::from(5))],
        "padding: field 3 = 0",
    );
    fails_with(
        w.clone(),
        instance.clone(),
        &[("isdel", 0, Fp::one())],
        "padding: isdel = 0",
    );
    fails_with(
        w,
        instance.clone(),
        &[("t1", 0, Fp::one())],
        "t1 = moved + delegate_vote",
    );
}

#[test]
fn kind_flags_are_boolean_and_exclusive() {
    let (w, instance) = padding();
    fails_with(
        w.clone(),
        instance.clone(),
        &[("ballot", 0, Fp::from(2))],
        "ballot flag is boolean",
    );
    fails_with(
        w,
        instance.clone(),
        &[
            ("ballot", 0, Fp::one()),
            ("dvote", 0, Fp::one()),
            ("any", 0, Fp::from(2)),
        ],
        "any is boolean (one kind at most)",
    );
}

#[test]
fn fields_no_kind_uses_are_zero() {
    let (_, w, instance) = first_ballot();
    fails_with(
        w,
        instance.clone(),
        &[("e6", 0, Fp::one())],
        "field 6 = 0 (no kind of the family uses it)",
    );
}

// ---------------------------------------------------------------- a random workload

#[test]
fn a_seeded_random_workload_proves_chunk_by_chunk() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
    let mut city = City::new(6);
    let setup = |city: &mut City, tx: Transaction| city.apply(&tx, NOW).unwrap();
    for v in 0..6 {
        let tx = city.register_voter(demo_voter(v).commitment());
        setup(&mut city, tx);
    }
    for r in [3, 4, 5] {
        let tx = city.register_delegate(city.resident(r));
        setup(&mut city, tx);
    }
    for (options, start, end) in [(3, START, END), (2, NOW, NOW + 1), (4, START, NOW)] {
        let labels = ["a", "b", "c", "d"];
        let tx = city.proposal("Q?", &labels[..options], start, end);
        setup(&mut city, tx);
    }

    let (mut applied, mut refused, mut chunks) = (Vec::new(), 0, 0);
    let mut start = city.state.clone();
    let mut pending: Vec<Transaction> = Vec::new();
    // The last ballot accepted: the transaction, its voter, proposal and vote.
    let mut last_ballot: Option<(Transaction, u64, u64, Vote)> = None;
    const STEPS: usize = 32;
    for step in 0..STEPS {
        // Mostly the two open proposals; sometimes the closed one or one never opened.
        let proposal = match rng.random_range(0..20) {
            0..=11 => 0,
            12..=17 => 1,
            18 => 2,
            _ => 3,
        };
        let roll = rng.random_range(0..20);
        let mut voted = None;
        let tx = if roll < 1 && last_ballot.is_some() {
            // A copy of the last ballot, replayed: refused (not newer).
            last_ballot.clone().unwrap().0
        } else if roll < 3 && last_ballot.is_some() {
            // The last ballot's voter casts the same vote again: no tally moves.
            let (_, voter, proposal, vote) = last_ballot.clone().unwrap();
            city.ballot(&demo_voter(voter), proposal, vote)
        } else if roll < 14 {
            // Four voters on two proposals: many replacements. Option 3 is in no open
            // proposal (3 and 2 options), delegate 3 is not registered.
            let vote = if rng.random_bool(0.6) {
                Vote::Option(rng.random_range(0..4))
            } else {
                Vote::Delegate(rng.random_range(0..4))
            };
            let voter = rng.random_range(0..4);
            let tx = city.ballot(&demo_voter(voter), proposal, vote);
            voted = Some((tx.clone(), voter, proposal, vote));
            tx
        } else {
            // Residents 3, 4, 5 are delegates; resident 2 is not.
            let from = city.resident(rng.random_range(2..6));
            city.delegate_vote(from, proposal, rng.random_range(0..4))
        };
        match city.apply(&tx, NOW) {
            Ok(event) => {
                if matches!(event, Event::BallotCast { .. }) {
                    if let Some(cast) = voted.take() {
                        last_ballot = Some(cast);
                    }
                }
                applied.push(event);
                pending.push(tx);
            }
            Err(_) => refused += 1,
        }
        if pending.len() == 2 || (step == STEPS - 1 && !pending.is_empty()) {
            let mut state = start.clone();
            let (w, instance) =
                witness::build(Family::Governance, &mut state, &pending, NOW, 2).unwrap();
            assert_eq!(instance.root_new(), city.state.root(), "the native root");
            passes(w, instance.clone());
            chunks += 1;
            start = city.state.clone();
            pending.clear();
        }
    }
    let replaced = |moved: bool| {
        applied
            .iter()
            .filter(|e| {
                matches!(e, Event::BallotCast { slot, replaced: Some(old), .. } if (old != slot) == moved)
            })
            .count()
    };
    let delegate_votes = applied
        .iter()
        .filter(|e| matches!(e, Event::DelegateVoted { .. }))
        .count();
    println!(
        "random workload: {} applied ({} replacements moving a vote, {} repeating it, {delegate_votes} delegate votes), {refused} refused, {chunks} chunks",
        applied.len(),
        replaced(true),
        replaced(false)
    );
    assert!(chunks >= 5 && refused > 0 && delegate_votes > 0);
    assert!(replaced(true) > 0 && replaced(false) > 0);
}

// ---------------------------------------------------------------- a real proof

#[test]
fn a_real_proof_verifies_and_binds_its_public_inputs() {
    let mut s = election();
    s.setup(ballot(&s, 0, Vote::Delegate(0)));
    s.push(delegate_vote(&s, 1));
    let (w, instance) = s.chunk(Family::Governance, 1);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("params");
    let params = circuits::params::load_or_make(&dir, K1, |_| {})
        .unwrap()
        .params;
    let keys = ChunkKeys::for_family(&params, Family::Governance, 1).unwrap();
    let rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let bytes = proof::prove(&params, &keys, w, &instance, rng).unwrap();
    println!("governance proof, 1 slot at k={K1}: {} bytes", bytes.len());
    proof::verify(&params, keys.vk(), &instance, &bytes).unwrap();
    let later = at_time(&s, &instance, NOW + 1);
    assert!(proof::verify(&params, keys.vk(), &later, &bytes).is_err());
    let other_root = Instance::new(
        instance.root_old(),
        instance.root_old(),
        instance.data_hash(),
        NOW,
        instance.chain(),
        s.start.params(),
        instance.signers().to_vec(),
    );
    assert!(proof::verify(&params, keys.vk(), &other_root, &bytes).is_err());
    assert_eq!(bytes.len(), 4_352, "proof size");
}
