//! A voter's secrets, identity commitment and nullifiers, and the encoding of a vote.
//!
//! - commitment = `Poseidon(VOTER_COMMITMENT, nullifier_key, trapdoor)`: registered by the
//!   registrar; reveals nothing of the voter (the trapdoor hides even a guessable key).
//! - nullifier = `Poseidon(NULLIFIER, nullifier_key, proposal)`: one per voter and proposal.
//!   Without the key, nullifiers of one voter in two proposals are unrelated values.
//! - a vote is a *tally slot*: `0..MAX_OPTIONS` is a direct vote for that option,
//!   `MAX_OPTIONS + d` follows delegate `d`. One field element, bound by the ballot proof.

use ff::Field;
use serde::{Deserialize, Serialize};

use crate::constants::{domain, MAX_DELEGATES, MAX_OPTIONS};
use crate::hash::{poseidon, tag, Fp};

/// The secrets only the voter holds. Never sent anywhere.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoterSecret {
    /// Derives every nullifier.
    pub nullifier_key: Fp,
    /// Blinds the commitment.
    pub trapdoor: Fp,
}

impl std::fmt::Debug for VoterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VoterSecret(..)")
    }
}

impl VoterSecret {
    /// Fresh random secrets.
    pub fn random(rng: &mut impl rand_core::Rng) -> Self {
        VoterSecret {
            nullifier_key: Fp::random(&mut *rng),
            trapdoor: Fp::random(&mut *rng),
        }
    }

    /// The identity commitment the registrar registers.
    pub fn commitment(&self) -> Fp {
        poseidon([tag(domain::VOTER_COMMITMENT), self.nullifier_key, self.trapdoor])
    }

    /// The nullifier of this voter for `proposal`.
    pub fn nullifier(&self, proposal: u64) -> Fp {
        nullifier(self.nullifier_key, proposal)
    }
}

/// `Poseidon(NULLIFIER, nullifier_key, proposal)`.
pub fn nullifier(nullifier_key: Fp, proposal: u64) -> Fp {
    poseidon([tag(domain::NULLIFIER), nullifier_key, Fp::from(proposal)])
}

/// What a ballot says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Vote {
    /// A direct vote for an option (`0..` the proposal's option count).
    Option(u64),
    /// Follow a registered delegate's choice.
    Delegate(u64),
}

impl Vote {
    /// The tally slot this vote counts in: the option, or `MAX_OPTIONS + delegate`.
    pub fn slot(&self) -> u64 {
        match *self {
            Vote::Option(option) => option,
            Vote::Delegate(delegate) => MAX_OPTIONS + delegate,
        }
    }

    /// The vote counted in `slot`, or `None` if the slot is beyond every delegate.
    pub fn from_slot(slot: u64) -> Option<Vote> {
        if slot < MAX_OPTIONS {
            Some(Vote::Option(slot))
        } else if slot - MAX_OPTIONS < MAX_DELEGATES {
            Some(Vote::Delegate(slot - MAX_OPTIONS))
        } else {
            None
        }
    }

    /// The vote as the field element the ballot proof binds.
    pub fn to_field(&self) -> Fp {
        Fp::from(self.slot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn nullifiers_differ_across_proposals_and_voters() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let a = VoterSecret::random(&mut rng);
        let b = VoterSecret::random(&mut rng);
        assert_ne!(a.nullifier(0), a.nullifier(1));
        assert_ne!(a.nullifier(0), b.nullifier(0));
        assert_ne!(a.commitment(), b.commitment());
        assert_ne!(a.commitment(), a.nullifier(0));
    }

    #[test]
    fn vote_slots_round_trip_at_the_edges() {
        for vote in [
            Vote::Option(0),
            Vote::Option(MAX_OPTIONS - 1),
            Vote::Delegate(0),
            Vote::Delegate(MAX_DELEGATES - 1),
        ] {
            assert_eq!(Vote::from_slot(vote.slot()), Some(vote));
        }
        assert_eq!(Vote::from_slot(MAX_OPTIONS + MAX_DELEGATES), None);
    }
}
