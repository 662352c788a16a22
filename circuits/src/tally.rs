//! A proposal's result, resolved from its tally slots: direct votes per option, plus for each
//! delegate who voted, that delegate's followers added to the delegate's option. Followers of
//! a delegate who did not vote abstain.

use serde::{Deserialize, Serialize};

use crate::records::Tally;
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
        let resolved =
            TallyResult::resolve(proposal, p.options, self.counters().delegates, |slot| {
                Ok::<_, std::convert::Infallible>(self.tally(proposal, slot))
            });
        match resolved {
            Ok(result) => Some(result),
            Err(never) => match never {},
        }
    }
}

impl TallyResult {
    /// Resolves a proposal's result from its tally slots, read with `slot`: `options`
    /// slots of direct votes, and the slot of each of `delegates` registered delegates.
    pub fn resolve<E>(
        proposal: ProposalId,
        options: u64,
        delegates: u64,
        mut slot: impl FnMut(u64) -> Result<Tally, E>,
    ) -> Result<Self, E> {
        let direct = (0..options)
            .map(|option| slot(option).map(|t| t.count))
            .collect::<Result<Vec<u64>, E>>()?;
        let mut totals = direct.clone();
        let mut abstained: u64 = 0;
        let mut resolved = Vec::new();
        for delegate in 0..delegates {
            let Some(index) = Vote::Delegate(delegate).slot() else {
                continue;
            };
            let tally = slot(index)?;
            let choice = tally.choice.checked_sub(1);
            if tally.count == 0 && choice.is_none() {
                continue;
            }
            match choice {
                Some(option) => match totals.get_mut(option as usize) {
                    Some(total) => *total = total.saturating_add(tally.count),
                    None => abstained = abstained.saturating_add(tally.count),
                },
                None => abstained = abstained.saturating_add(tally.count),
            }
            resolved.push(DelegateTally {
                delegate,
                followers: tally.count,
                choice,
            });
        }
        Ok(TallyResult {
            proposal,
            direct,
            delegates: resolved,
            totals,
            abstained,
        })
    }
}
