//! Families of transaction kinds, each proven by its own chunk circuit.
//!
//! A family groups the kinds that touch the same leaves, so a slot of its circuit has the
//! touches its kinds need and no more: a transfer or a tap (the common case) never pays for a
//! fill's five leaves or a ballot's 64-level nullifier path. A batch is proven as consecutive
//! runs of one family, each run in chunks of that family's circuit; every chunk has the same
//! public inputs ([`super::Instance`]) and the roots chain across families exactly as within
//! one.

use serde::{Deserialize, Serialize};

use super::witness::{self, ChunkWitness, WitnessError};
use super::{accounts, governance, market, registry, Instance};
use crate::state::{State, TreeId};
use crate::tx::Transaction;

/// A family of kinds sharing one chunk circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Two accounts at most: `transfer`, `tap`, `open_account`, `register_operator`,
    /// `set_concession`, `register_delegate`.
    Accounts,
    /// An account and a leaf of another tree: `register_meter`, `meter_reading`,
    /// `place_order`, `cancel_order`, `fleet_record`, `register_voter`, `create_proposal`.
    Registry,
    /// `fill`: the market's account, two orders and their owners.
    Market,
    /// `ballot`, `delegate_vote`: the nullifier tree, tallies and the proposal.
    Governance,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 4] = [
        Family::Accounts,
        Family::Registry,
        Family::Market,
        Family::Governance,
    ];

    /// The family whose circuit proves `tx`.
    pub fn of(tx: &Transaction) -> Family {
        use Transaction::*;
        match tx {
            Transfer(_) | OpenAccount(_) | RegisterOperator(_) | SetConcession(_) | Tap(_)
            | RegisterDelegate(_) => Family::Accounts,
            RegisterMeter(_) | MeterReading(_) | PlaceOrder(_) | CancelOrder(_)
            | FleetRecord(_) | RegisterVoter(_) | CreateProposal(_) => Family::Registry,
            Fill(_) => Family::Market,
            Ballot(_) | DelegateVote(_) => Family::Governance,
        }
    }

    /// Its name, as in artifacts.
    pub fn name(self) -> &'static str {
        match self {
            Family::Accounts => "accounts",
            Family::Registry => "registry",
            Family::Market => "market",
            Family::Governance => "governance",
        }
    }

    /// Leaf touches per slot of the family's circuit.
    pub fn touches(self) -> usize {
        match self {
            Family::Accounts => accounts::TOUCHES,
            Family::Registry => registry::TOUCHES,
            Family::Market => market::TOUCHES,
            Family::Governance => governance::TOUCHES,
        }
    }

    /// The leaves `tx` touches, in the order of the family's touches (`None`: unused), as
    /// `tx` would be applied to `state`.
    pub fn targets(self, state: &State, tx: &Transaction) -> Vec<Option<(TreeId, u64)>> {
        match self {
            Family::Accounts => accounts::targets(state, tx),
            Family::Registry => registry::targets(state, tx),
            Family::Market => market::targets(state, tx),
            Family::Governance => governance::targets(state, tx),
        }
    }

    /// `(rows per slot, rows once per chunk)` of the family's circuit (pinned by tests).
    pub fn layout(self) -> (usize, usize) {
        match self {
            Family::Accounts => (accounts::ROWS_PER_SLOT, accounts::ROWS_FIXED),
            Family::Registry => (registry::ROWS_PER_SLOT, registry::ROWS_FIXED),
            Family::Market => (market::ROWS_PER_SLOT, market::ROWS_FIXED),
            Family::Governance => (governance::ROWS_PER_SLOT, governance::ROWS_FIXED),
        }
    }

    /// Rows a chunk of `slots` slots of this family's circuit uses.
    pub fn rows(self, slots: usize) -> usize {
        let (per_slot, fixed) = self.layout();
        fixed + slots * per_slot
    }

    /// The smallest `k` whose `2^k` rows hold a chunk of `slots` slots (at least 11: the
    /// range-check table has 1,024 rows).
    pub fn k_for(self, slots: usize) -> u32 {
        let needed = self.rows(slots) + super::BLINDING_ROWS;
        (11..).find(|k| 1usize << k >= needed).expect("some k fits")
    }

    /// Slots of this family that fit in `2^k` rows (0 if not even one does).
    pub fn slots_for(self, k: u32) -> usize {
        let (per_slot, fixed) = self.layout();
        (1usize << k).saturating_sub(fixed + super::BLINDING_ROWS) / per_slot
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Applies `txs` (all of `family`) to `state` at batch time `now` and returns the witness and
/// public inputs of a chunk of `slots` slots of that family's circuit.
pub fn build(
    family: Family,
    state: &mut State,
    txs: &[Transaction],
    now: u64,
    slots: usize,
) -> Result<(ChunkWitness, Instance), WitnessError> {
    witness::build(family, state, txs, now, slots)
}

/// The consecutive runs of one family in `txs`, as `(family, start, end)`.
pub fn runs(txs: &[Transaction]) -> Vec<(Family, usize, usize)> {
    let mut runs: Vec<(Family, usize, usize)> = Vec::new();
    for (i, tx) in txs.iter().enumerate() {
        let family = Family::of(tx);
        match runs.last_mut() {
            Some((f, _, end)) if *f == family => *end = i + 1,
            _ => runs.push((family, i, i + 1)),
        }
    }
    runs
}
