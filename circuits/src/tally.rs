//! A proposal's result, resolved from its tally slots: direct votes per option, plus for each
//! delegate who voted, that delegate's followers added to the delegate's option. Followers of
//! a delegate who did not vote abstain.

use serde::{Deserialize, Serialize};

use crate::state::State;
use crate::tx::ProposalId;
use crate::voter::Vote;

/// One delegate's part in a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegateTally {
    /// The delegate id.
    pub delegate: u64,
    /// Ballots that follow this delegate.
    pub followers: u64,
    /// The delegate's own vote, if cast.
    pub choice: Option<u64>,
}

/// A proposal's resolved result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyResult {
    /// The proposal.
    pub proposal: ProposalId,
    /// Direct votes per option.
    pub direct: Vec<u64>,
    /// Delegates with followers or a vote, by id.
    pub delegates: Vec<DelegateTally>,
    /// Result per option: direct votes plus the followers of delegates who chose it.
    pub totals: Vec<u64>,
    /// Followers of delegates who did not vote.
    pub abstained: u64,
}

impl State {
    /// The resolved result of a proposal (so far, while its window is open), or `None` if
    /// the proposal does not exist.
    pub fn tally_result(&self, proposal: ProposalId) -> Option<TallyResult> {
        let p = self.proposal(proposal)?;
        let direct: Vec<u64> = (0..p.options)
            .map(|option| self.tally(proposal, option).count)
            .collect();
        let mut totals = direct.clone();
        let mut abstained: u64 = 0;
        let mut delegates = Vec::new();
        for delegate in 0..self.counters().delegates {
            let Some(slot) = Vote::Delegate(delegate).slot() else {
                continue;
            };
            let slot = self.tally(proposal, slot);
            let choice = slot.choice.checked_sub(1);
            if slot.count == 0 && choice.is_none() {
                continue;
            }
            match choice {
                Some(option) => match totals.get_mut(option as usize) {
                    Some(total) => *total = total.saturating_add(slot.count),
                    None => abstained = abstained.saturating_add(slot.count),
                },
                None => abstained = abstained.saturating_add(slot.count),
            }
            delegates.push(DelegateTally {
                delegate,
                followers: slot.count,
                choice,
            });
        }
        Some(TallyResult {
            proposal,
            direct,
            delegates,
            totals,
            abstained,
        })
    }
}
