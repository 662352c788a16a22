//! A ballot from a voter's machine to the rules: proved from the state's voter path, checked
//! at ingest (rules, then proof), applied; and each way a ballot is refused at ingest.

use std::sync::OnceLock;

use circuits::ballot::{self, BallotKeys, IngestError};
use circuits::demo::{demo_voter, City};
use circuits::voter::Vote;
use circuits::TxError;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const T: u64 = 1_767_230_000;

fn keys() -> &'static BallotKeys {
    static KEYS: OnceLock<BallotKeys> = OnceLock::new();
    KEYS.get_or_init(|| BallotKeys::setup(ballot::params()).expect("ballot keys"))
}

/// Voters 0..3 registered, proposal 0 open in [T + 100, T + 1000), then voter 3 registered.
fn election() -> City {
    let mut c = City::new(2);
    for v in 0..3 {
        let tx = c.register_voter(demo_voter(v).commitment());
        c.apply(&tx, T).unwrap();
    }
    let tx = c.proposal("Q?", &["a", "b"], T + 100, T + 1_000);
    c.apply(&tx, T).unwrap();
    let tx = c.register_voter(demo_voter(3).commitment());
    c.apply(&tx, T).unwrap();
    c
}

/// Voter `v`'s ballot proved against the tree as it was when the proposal opened.
fn cast(c: &City, v: u64, vote: Vote, seed: u64) -> circuits::tx::Ballot {
    let mut snapshot =
        circuits::merkle::MerkleTree::new(circuits::constants::VOTERS_DEPTH, circuits::Fp::zero());
    for i in 0..3 {
        snapshot.set(i, c.state.voter(i).unwrap());
    }
    assert_eq!(snapshot.root(), c.state.proposal(0).unwrap().voter_root);
    let proof = ballot::prove(
        keys(),
        &demo_voter(v),
        &snapshot.path(v),
        0,
        vote,
        0,
        ChaCha20Rng::seed_from_u64(seed),
    )
    .unwrap();
    proof.into_transaction()
}

#[test]
fn an_honest_ballot_passes_ingest_and_counts() {
    let mut c = election();
    let b = cast(&c, 1, Vote::Option(1), 1);
    ballot::check(
        &c.state,
        &b,
        T + 100,
        keys().params(),
        keys().verifying_key(),
    )
    .unwrap();
    c.apply(&circuits::Transaction::Ballot(b), T + 100).unwrap();
    assert_eq!(c.state.tally_result(0).unwrap().direct, vec![0, 1]);
}

#[test]
fn ingest_refuses_bad_proofs_wrong_roots_and_closed_windows() {
    let c = election();
    let (params, vk) = (keys().params(), keys().verifying_key());
    let good = cast(&c, 0, Vote::Option(0), 2);
    // Outside the window: the rules refuse before the proof is even checked.
    let err = ballot::check(&c.state, &good, T + 1_000, params, vk).unwrap_err();
    assert!(
        matches!(err, IngestError::Rules(TxError::OutsideWindow { .. })),
        "{err}"
    );
    // The vote changed after proving.
    let mut changed = good.clone();
    changed.vote = Vote::Option(1);
    let err = ballot::check(&c.state, &changed, T + 100, params, vk).unwrap_err();
    assert!(matches!(err, IngestError::Proof(_)), "{err}");
    // Another ballot's proof.
    let mut borrowed = good.clone();
    borrowed.proof = cast(&c, 1, Vote::Option(0), 3).proof;
    let err = ballot::check(&c.state, &borrowed, T + 100, params, vk).unwrap_err();
    assert!(matches!(err, IngestError::Proof(_)), "{err}");
    // A voter registered after the proposal opened proves against the current root.
    let late = ballot::prove(
        keys(),
        &demo_voter(3),
        &c.state.voter_path(3),
        0,
        Vote::Option(0),
        0,
        ChaCha20Rng::seed_from_u64(4),
    )
    .unwrap();
    let err = ballot::check(&c.state, &late.into_transaction(), T + 100, params, vk).unwrap_err();
    assert!(
        matches!(err, IngestError::Rules(TxError::VoterRootMismatch { .. })),
        "{err}"
    );
    // An unknown delegate.
    let b = cast(&c, 2, Vote::Delegate(0), 5);
    let err = ballot::check(&c.state, &b, T + 100, params, vk).unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::Rules(TxError::UnknownDelegate { delegate: 0 })
        ),
        "{err}"
    );
}
