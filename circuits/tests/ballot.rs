//! Real halo2 proofs of ballots: an honest ballot verifies, every kind of dishonest or
//! altered ballot is rejected, batches name their bad ballot.

use std::sync::OnceLock;

use circuits::ballot::{self, BallotError, BallotKeys, BallotProof, Instance};
use circuits::constants::{MAX_DELEGATES, TALLY_SLOT_BITS, VOTERS_DEPTH};
use circuits::merkle::{MerklePath, MerkleTree};
use circuits::verifying;
use circuits::voter::{Vote, VoterSecret};
use circuits::Fp;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Keys are made once per test process and shared.
fn keys() -> &'static BallotKeys {
    static KEYS: OnceLock<BallotKeys> = OnceLock::new();
    KEYS.get_or_init(|| BallotKeys::setup(ballot::params()).expect("ballot keys"))
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// A voter tree with registered voters at a few positions, and their secrets.
struct Registry {
    tree: MerkleTree,
    voters: Vec<(u64, VoterSecret)>,
}

impl Registry {
    fn new(seed: u64) -> Self {
        let mut rng = rng(seed);
        let mut tree = MerkleTree::new(VOTERS_DEPTH, Fp::zero());
        let voters: Vec<_> = [0u64, 3, 1000, (1 << VOTERS_DEPTH) - 1]
            .into_iter()
            .map(|index| (index, VoterSecret::random(&mut rng)))
            .collect();
        for (index, secret) in &voters {
            tree.set(*index, secret.commitment());
        }
        Registry { tree, voters }
    }

    fn path(&self, voter: usize) -> MerklePath {
        self.tree.path(self.voters[voter].0)
    }

    fn secret(&self, voter: usize) -> &VoterSecret {
        &self.voters[voter].1
    }

    fn ballot(&self, voter: usize, proposal: u64, vote: Vote) -> BallotProof {
        ballot::prove(
            keys(),
            self.secret(voter),
            &self.path(voter),
            proposal,
            vote,
            0,
            rng(proposal ^ voter as u64),
        )
        .expect("proving")
    }

    /// The instance the rollup checks: the proposal's snapshot root, whatever the prover
    /// claimed.
    fn expected(&self, ballot: &BallotProof) -> Instance {
        let i = ballot.instance;
        Instance::new(
            self.tree.root(),
            i.proposal(),
            i.nullifier(),
            i.vote(),
            i.seq(),
        )
    }
}

fn check(instance: &Instance, proof: &[u8]) -> Result<(), BallotError> {
    ballot::verify(keys().params(), keys().verifying_key(), instance, proof)
}

fn assert_rejected(result: Result<(), BallotError>) {
    assert!(
        matches!(result, Err(BallotError::InvalidProof(_))),
        "expected an invalid proof, got {result:?}"
    );
}

#[test]
fn an_honest_ballot_verifies() {
    let registry = Registry::new(1);
    for (voter, vote) in [(0, Vote::Option(2)), (3, Vote::Delegate(MAX_DELEGATES - 1))] {
        let ballot = registry.ballot(voter, 7, vote);
        assert_eq!(ballot.instance, registry.expected(&ballot));
        assert_eq!(
            ballot.instance.nullifier(),
            registry.secret(voter).nullifier(7)
        );
        assert_eq!(ballot.instance.vote(), vote);
        check(&ballot.instance, &ballot.proof).unwrap();
    }
}

#[test]
fn a_changed_sibling_is_rejected() {
    let registry = Registry::new(1);
    let mut path = registry.path(1);
    path.siblings[10][1] += Fp::one();
    let ballot = ballot::prove(
        keys(),
        registry.secret(1),
        &path,
        7,
        Vote::Option(0),
        0,
        rng(2),
    )
    .unwrap();
    assert_ne!(ballot.instance.voter_root(), registry.tree.root());
    assert_rejected(check(&registry.expected(&ballot), &ballot.proof));
}

#[test]
fn a_wrong_secret_is_rejected() {
    let registry = Registry::new(1);
    let thief = VoterSecret::random(&mut rng(99));
    let ballot = ballot::prove(
        keys(),
        &thief,
        &registry.path(2),
        7,
        Vote::Option(0),
        0,
        rng(3),
    )
    .unwrap();
    assert_rejected(check(&registry.expected(&ballot), &ballot.proof));
}

#[test]
fn a_voter_not_in_the_tree_is_rejected() {
    let registry = Registry::new(1);
    let outsider = VoterSecret::random(&mut rng(100));
    // An empty position: its path is genuine, its leaf is not the outsider's commitment.
    let path = registry.tree.path(12345);
    let ballot = ballot::prove(keys(), &outsider, &path, 7, Vote::Option(1), 0, rng(4)).unwrap();
    assert_rejected(check(&registry.expected(&ballot), &ballot.proof));
}

#[test]
fn a_ballot_for_another_voter_tree_is_rejected() {
    let registry = Registry::new(1);
    let other = Registry::new(2);
    let ballot = other.ballot(0, 7, Vote::Option(1));
    check(&ballot.instance, &ballot.proof).unwrap();
    assert_rejected(check(&registry.expected(&ballot), &ballot.proof));
}

#[test]
fn a_nullifier_for_another_proposal_is_rejected() {
    let registry = Registry::new(1);
    let ballot = registry.ballot(0, 7, Vote::Option(1));
    let i = ballot.instance;
    // The proof's nullifier, replayed on proposal 8.
    let replayed = Instance::new(i.voter_root(), 8, i.nullifier(), i.vote(), i.seq());
    assert_rejected(check(&replayed, &ballot.proof));
    // Proposal 7 with the voter's nullifier of proposal 8.
    let other_nullifier = registry.secret(0).nullifier(8);
    let swapped = Instance::new(i.voter_root(), 7, other_nullifier, i.vote(), i.seq());
    assert_rejected(check(&swapped, &ballot.proof));
}

#[test]
fn a_vote_changed_after_proving_is_rejected() {
    let registry = Registry::new(1);
    let ballot = registry.ballot(1, 7, Vote::Delegate(4));
    let i = ballot.instance;
    for vote in [Vote::Delegate(5), Vote::Option(4), Vote::Delegate(0)] {
        let changed = Instance::new(i.voter_root(), i.proposal(), i.nullifier(), vote, i.seq());
        assert_rejected(check(&changed, &ballot.proof));
    }
}

#[test]
fn a_sequence_number_changed_after_proving_is_rejected() {
    // A copy of an earlier ballot cannot be renumbered to outrank the voter's newer one.
    let registry = Registry::new(1);
    let ballot = registry.ballot(1, 7, Vote::Option(2));
    let i = ballot.instance;
    check(&i, &ballot.proof).unwrap();
    for seq in [i.seq() + 1, i.seq() + 1000, u64::MAX] {
        let renumbered = Instance::new(i.voter_root(), i.proposal(), i.nullifier(), i.vote(), seq);
        assert_rejected(check(&renumbered, &ballot.proof));
    }
}

#[test]
fn a_proof_of_another_ballot_is_rejected() {
    let registry = Registry::new(1);
    let a = registry.ballot(0, 7, Vote::Option(1));
    let b = registry.ballot(2, 7, Vote::Option(1));
    check(&b.instance, &b.proof).unwrap();
    assert_rejected(check(&b.instance, &a.proof));
    assert_rejected(check(&a.instance, &b.proof));
}

#[test]
fn garbage_proofs_are_rejected() {
    let registry = Registry::new(1);
    let ballot = registry.ballot(0, 7, Vote::Option(1));
    let mut flipped = ballot.proof.clone();
    flipped[100] ^= 1;
    assert!(check(&ballot.instance, &flipped).is_err());
    assert!(check(&ballot.instance, &ballot.proof[..ballot.proof.len() - 1]).is_err());
    assert!(check(&ballot.instance, &[]).is_err());
}

#[test]
fn ballots_that_cannot_be_encoded_are_refused_before_proving() {
    let registry = Registry::new(1);
    let secret = registry.secret(0);
    let path = registry.path(0);
    let prove = |path: &MerklePath, vote| ballot::prove(keys(), secret, path, 7, vote, 0, rng(5));
    assert!(matches!(
        prove(&path, Vote::Option(1 << TALLY_SLOT_BITS)),
        Err(BallotError::VoteOutOfRange { .. })
    ));
    // Option 16 would be counted as delegate 0.
    assert!(matches!(
        prove(&path, Vote::Option(circuits::constants::MAX_OPTIONS)),
        Err(BallotError::VoteOutOfRange { .. })
    ));
    assert!(matches!(
        prove(&path, Vote::Delegate(MAX_DELEGATES)),
        Err(BallotError::VoteOutOfRange { .. })
    ));
    assert!(matches!(
        prove(&path, Vote::Delegate(u64::MAX)),
        Err(BallotError::VoteOutOfRange { .. })
    ));
    let short = MerklePath {
        index: 0,
        siblings: path.siblings[1..].to_vec(),
    };
    assert!(matches!(
        prove(&short, Vote::Option(0)),
        Err(BallotError::WrongPathDepth {
            expected: 12,
            got: 11
        })
    ));
    let outside = MerklePath {
        index: 1 << VOTERS_DEPTH,
        ..path.clone()
    };
    assert!(matches!(
        prove(&outside, Vote::Option(0)),
        Err(BallotError::PositionOutOfRange { .. })
    ));
}

#[test]
fn batches_verify_and_name_their_bad_ballot() {
    let registry = Registry::new(1);
    let mut ballots: Vec<(Instance, Vec<u8>)> = (0..4)
        .map(|voter| {
            let ballot = registry.ballot(voter, 11, Vote::Option(voter as u64));
            (ballot.instance, ballot.proof)
        })
        .collect();
    let (params, vk) = (keys().params(), keys().verifying_key());
    ballot::verify_batch(params, vk, &ballots).unwrap();
    ballot::verify_batch(params, vk, &[]).unwrap();

    // Ballot 2's vote changed after proving.
    let i = ballots[2].0;
    ballots[2].0 = Instance::new(
        i.voter_root(),
        i.proposal(),
        i.nullifier(),
        Vote::Option(9),
        i.seq(),
    );
    assert!(matches!(
        ballot::verify_batch(params, vk, &ballots),
        Err(BallotError::InvalidBallotInBatch { index: 2 })
    ));
    // Ballot 0's proof swapped for ballot 3's (ballot 2 still bad: the first is named).
    ballots[0].1 = ballots[3].1.clone();
    assert!(matches!(
        ballot::verify_batch(params, vk, &ballots),
        Err(BallotError::InvalidBallotInBatch { index: 0 })
    ));
}

#[test]
fn many_proofs_checked_on_any_number_of_threads_and_every_share_counts() {
    let registry = Registry::new(1);
    let ballots: Vec<(Instance, Vec<u8>)> = (0..7)
        .map(|i| {
            // The registry's four voters, on two proposals.
            let ballot = registry.ballot(i % 4, 12 + i as u64 / 4, Vote::Option(i as u64 % 3));
            (ballot.instance, ballot.proof)
        })
        .collect();
    let (params, vk) = (keys().params(), keys().verifying_key());
    let claims = |ballots: &[(Instance, Vec<u8>)]| -> Vec<(Vec<Fp>, Vec<u8>)> {
        ballots
            .iter()
            .map(|(i, p)| (i.to_halo2().to_vec(), p.clone()))
            .collect()
    };
    let many = |threads: usize, claims: &[(Vec<Fp>, Vec<u8>)]| -> bool {
        let borrowed: Vec<_> = claims.iter().map(|(i, p)| (i.clone(), &p[..])).collect();
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| verifying::verify_many(params, vk, &borrowed))
    };
    let good = claims(&ballots);
    // 1, 2 and 3 threads: one share, shares of 4 and 3, shares of 3, 3 and 1.
    for threads in 1..=3 {
        assert!(many(threads, &good), "{threads} threads");
        assert!(many(threads, &[]), "none, {threads} threads");
        for bad in [0, 3, 6] {
            // A public input changed after proving, in the first, a middle and the last share.
            let mut changed = good.clone();
            changed[bad].0[0] += Fp::one();
            assert!(!many(threads, &changed), "input {bad}, {threads} threads");
            // A flipped byte in the proof, and a truncated proof.
            let mut flipped = good.clone();
            let at = flipped[bad].1.len() / 2;
            flipped[bad].1[at] ^= 1;
            assert!(!many(threads, &flipped), "byte {bad}, {threads} threads");
            let mut short = good.clone();
            short[bad].1.truncate(100);
            assert!(!many(threads, &short), "short {bad}, {threads} threads");
        }
        // Two proofs swapped between their claims: each proof holds, for the other claim.
        let mut swapped = good.clone();
        let (a, b) = (swapped[1].1.clone(), swapped[5].1.clone());
        swapped[1].1 = b;
        swapped[5].1 = a;
        assert!(!many(threads, &swapped), "swapped, {threads} threads");
    }
    // One proof alone, as `ballot::verify` checks it.
    let (instance, proof) = &good[4];
    verifying::verify_one(params, vk, instance, proof).unwrap();
    let mut other = instance.clone();
    other[1] += Fp::one();
    assert!(verifying::verify_one(params, vk, &other, proof).is_err());
}

#[test]
fn one_voters_ballots_on_two_proposals_share_only_the_root() {
    let registry = Registry::new(1);
    let first = registry.ballot(2, 7, Vote::Option(1)).instance;
    let second = registry.ballot(2, 8, Vote::Delegate(3)).instance;
    assert_eq!(first.voter_root(), second.voter_root());
    let (a, b) = (first.to_halo2(), second.to_halo2());
    for row in [ballot::PROPOSAL, ballot::NULLIFIER, ballot::VOTE] {
        assert_ne!(a[row], b[row], "row {row}");
    }
    // No public value of one ballot appears anywhere in the other but the root and the
    // sequence number (per nullifier, 0 for every first ballot: it says nothing of the voter).
    assert_eq!((a[ballot::SEQ], b[ballot::SEQ]), (Fp::zero(), Fp::zero()));
    for (row, value) in a.iter().enumerate() {
        if row != ballot::VOTER_ROOT && row != ballot::SEQ {
            assert!(!b.contains(value), "row {row} of the first ballot recurs");
        }
    }
}

#[test]
fn the_proof_size_is_pinned() {
    let registry = Registry::new(1);
    let ballot = registry.ballot(0, 7, Vote::Option(1));
    assert_eq!(ballot.proof.len(), ballot::PROOF_BYTES);
}

#[test]
fn keys_refuse_parameters_of_another_size() {
    let small = halo2_proofs::poly::commitment::Params::new(ballot::K - 1);
    assert!(matches!(
        BallotKeys::setup(small),
        Err(BallotError::WrongParams { expected, got }) if expected == ballot::K && got == ballot::K - 1
    ));
}
