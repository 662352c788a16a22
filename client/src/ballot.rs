//! Ballots proved on the voter's own machine: the voter's secrets never leave it, only the
//! ballot (proposal, voter root, nullifier, vote and proof) is sent.

use std::time::{Duration, Instant};

use circuits::ballot::{self, BallotError, BallotKeys};
use circuits::merkle::MerklePath;
use circuits::voter::{Vote, VoterSecret};
use circuits::Transaction;

use crate::api::{Api, ApiError};

/// Why a vote could not be cast.
#[derive(Debug, thiserror::Error)]
pub enum VoteError {
    /// The sequencer refused, or could not be asked for the voter's path.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The ballot could not be proved (a malformed path or vote).
    #[error("proving the ballot: {0}")]
    Proof(#[from] BallotError),
}

/// Makes the ballot circuit's parameters and keys (k = 10: about a second; once per voter's
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

/// A vote cast: the ballot sent, the sequencer's receipt, and the local proving time.
#[derive(Debug)]
pub struct Cast {
    /// The ballot transaction.
    pub ballot: Transaction,
    /// The sequencer's receipt (JSON).
    pub receipt: serde_json::Value,
    /// Time spent proving on this machine.
    pub proving: Duration,
}

impl Api {
    /// Votes anonymously: asks the sequencer for the voter's position and Merkle path in
    /// `proposal`'s voter set (public data), proves the ballot here and submits it. Casting
    /// again with another vote replaces the earlier ballot.
    pub fn vote(
        &self,
        keys: &BallotKeys,
        secret: &VoterSecret,
        proposal: u64,
        vote: Vote,
    ) -> Result<Cast, VoteError> {
        let position = self.voter_position(&secret.commitment())?;
        let path = self.voter_path(position, proposal)?;
        // The sequence number above the current ballot of this voter's nullifier (public
        // once a ballot is cast; the ballot sent next carries the nullifier anyway).
        let seq = self.next_ballot_seq(&secret.nullifier(proposal))?;
        let (ballot, proving) = prove(keys, secret, &path, proposal, vote, seq)?;
        let receipt = self.submit(&ballot)?;
        Ok(Cast {
            ballot,
            receipt,
            proving,
        })
    }
}
