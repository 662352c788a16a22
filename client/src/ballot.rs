//! Ballots proved on the voter's own machine: the voter's secrets never leave it, only the
//! ballot (proposal, voter root, nullifier, vote and proof) is sent.

use std::path::Path;
use std::time::{Duration, Instant};

use circuits::ballot::{self, BallotError, BallotKeys};
use circuits::merkle::MerklePath;
use circuits::voter::{Vote, VoterSecret};
use circuits::Transaction;

use crate::api::{Api, ApiError};
use crate::voters::{SyncReport, VoterSetError};

/// Why a vote could not be cast.
#[derive(Debug, thiserror::Error)]
pub enum VoteError {
    /// The sequencer refused the ballot, or could not be reached.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The proposal's voter set could not be synced or does not check out (a root mismatch,
    /// a short or malformed page), or this voter is not in it: nothing was submitted.
    #[error(transparent)]
    VoterSet(VoterSetError),
    /// The ballot could not be proved (a malformed path or vote).
    #[error("proving the ballot: {0}")]
    Proof(#[from] BallotError),
}

/// Makes the ballot circuit's parameters and keys (k = 8: under a second; once per voter's
/// machine, or once per process that proves many ballots).
pub fn keys() -> Result<BallotKeys, BallotError> {
    BallotKeys::setup(ballot::params())
}

/// Proves, on this machine, the ballot of the voter with `secret` whose commitment sits at
/// `path` in `proposal`'s voter tree, numbered `seq` (above the voter's current ballot on
/// the proposal, if any), and returns the ballot transaction with how long proving took.
pub fn prove(
    keys: &BallotKeys,
    secret: &VoterSecret,
    path: &MerklePath,
    proposal: u64,
    vote: Vote,
    seq: u64,
) -> Result<(Transaction, Duration), BallotError> {
    let started = Instant::now();
    let proof = ballot::prove(keys, secret, path, proposal, vote, seq, rand::rng())?;
    Ok((
        Transaction::Ballot(proof.into_transaction()),
        started.elapsed(),
    ))
}

impl From<VoterSetError> for VoteError {
    /// A refusal or an unreachable sequencer while syncing is the same as while submitting.
    fn from(e: VoterSetError) -> Self {
        match e {
            VoterSetError::Api(e) => VoteError::Api(e),
            other => VoteError::VoterSet(other),
        }
    }
}

/// A vote cast: the ballot sent, the sequencer's receipt, and the local proving time.
#[derive(Debug)]
pub struct Cast {
    /// The ballot transaction.
    pub ballot: Transaction,
    /// The sequencer's receipt (JSON).
    pub receipt: serde_json::Value,
    /// Time spent proving on this machine.
    pub proving: Duration,
    /// What syncing the voter set did (cache use, pages fetched, time).
    pub sync: SyncReport,
}

impl Api {
    /// Votes anonymously. Syncs `proposal`'s voter set through the cache in `cache_dir`
    /// (only commitments the cache lacks are fetched; the requests are the same whoever
    /// votes), checks it against the proposal's voter root, finds this voter's commitment
    /// and its Merkle path here, proves the ballot here and submits only the ballot. Casting
    /// again with another vote replaces the earlier ballot. Nothing is submitted unless the
    /// voter set checks out.
    pub fn vote(
        &self,
        keys: &BallotKeys,
        secret: &VoterSecret,
        proposal: u64,
        vote: Vote,
        cache_dir: &Path,
    ) -> Result<Cast, VoteError> {
        // 1. The voter set, checked against the proposal's voter root.
        let set = self.voter_set(proposal, cache_dir)?;
        // 2. This voter's path, found locally: nothing asked names the voter.
        let path = set.path_of(&secret.commitment())?;
        // 3. The sequence number above the current ballot of this voter's nullifier. The
        // nullifier names no commitment or position; it is public once a ballot is cast, and
        // the ballot sent next carries it anyway.
        let seq = self.next_ballot_seq(&secret.nullifier(proposal))?;
        // 4. The ballot, proved on this machine.
        let (ballot, proving) = prove(keys, secret, &path, proposal, vote, seq)?;
        // 5. The anonymous ballot.
        let receipt = self.submit(&ballot)?;
        Ok(Cast {
            ballot,
            receipt,
            proving,
            sync: set.report().clone(),
        })
    }
}
