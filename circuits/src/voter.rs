//! A voter's secrets, identity commitment and nullifiers, and the encoding of a vote.
//!
//! - commitment = `Poseidon(VOTER_COMMITMENT, nullifier_key, trapdoor)`: registered by the
//!   registrar; reveals nothing of the voter (the trapdoor hides even a guessable key).
//! - nullifier = `Poseidon(NULLIFIER, nullifier_key, proposal)`: one per voter and proposal.
//!   Without the key, nullifiers of one voter in two proposals are unrelated values.
//! - a vote is a *tally slot*: `0..MAX_OPTIONS` is a direct vote for that option,
//!   `MAX_OPTIONS + d` follows delegate `d`. One field element, bound by the ballot proof.
//!   The encoding is injective over every [`Vote`] value: an option or delegate beyond any a
//!   proposal can have encodes above 2^64 (where no tally slot lies), never onto another
//!   vote's slot.

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
        poseidon([
            tag(domain::VOTER_COMMITMENT),
            self.nullifier_key,
            self.trapdoor,
        ])
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
    /// The tally slot this vote counts in: the option, or `MAX_OPTIONS + delegate`; `None`
    /// for an option at or beyond [`MAX_OPTIONS`] or a delegate at or beyond
    /// [`MAX_DELEGATES`] (no proposal or delegate can have them).
    pub fn slot(&self) -> Option<u64> {
        match *self {
            Vote::Option(option) if option < MAX_OPTIONS => Some(option),
            Vote::Delegate(delegate) if delegate < MAX_DELEGATES => Some(MAX_OPTIONS + delegate),
            _ => None,
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

    /// The vote as the field element the ballot proof binds: its tally slot; an option
    /// beyond every slot as `2^64 + option`, a delegate beyond every slot as
    /// `2 · 2^64 + delegate` (distinct from each other and from every slot, and refused by
    /// the rules and by the circuits' range checks).
    pub fn to_field(&self) -> Fp {
        let two64 = Fp::from(u64::MAX) + Fp::one();
        match (self.slot(), *self) {
            (Some(slot), _) => Fp::from(slot),
            (None, Vote::Option(option)) => two64 + Fp::from(option),
            (None, Vote::Delegate(delegate)) => two64.double() + Fp::from(delegate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::PrimeField;
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
            assert_eq!(Vote::from_slot(vote.slot().unwrap()), Some(vote));
        }
        assert_eq!(Vote::from_slot(MAX_OPTIONS + MAX_DELEGATES), None);
    }

    #[test]
    fn every_vote_encodes_to_its_own_field_element() {
        // Option(16 + d) and Delegate(d) once shared an encoding (two transactions, one id).
        let votes = [
            Vote::Option(0),
            Vote::Option(MAX_OPTIONS - 1),
            Vote::Option(MAX_OPTIONS),
            Vote::Option(MAX_OPTIONS + 3),
            Vote::Option(u64::MAX),
            Vote::Delegate(0),
            Vote::Delegate(3),
            Vote::Delegate(MAX_DELEGATES - 1),
            Vote::Delegate(MAX_DELEGATES),
            Vote::Delegate(u64::MAX),
        ];
        let fields: std::collections::HashSet<_> =
            votes.iter().map(|v| v.to_field().to_repr()).collect();
        assert_eq!(fields.len(), votes.len());
        assert_eq!(Vote::Option(MAX_OPTIONS).slot(), None);
        assert_eq!(
            Vote::Delegate(u64::MAX).slot(),
            None,
            "no overflow, no panic"
        );
        assert_eq!(Vote::Option(MAX_OPTIONS + 3).slot(), None);
        assert_eq!(Vote::Delegate(3).slot(), Some(MAX_OPTIONS + 3));
    }
}
