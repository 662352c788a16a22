//! Families of transaction kinds, each proven by its own chunk circuit.
//!
//! A slot of a circuit has the regions its family's kinds need and no more, so a transfer
//! (the common case) never pays for a fill's five leaves or a ballot's 64-level nullifier
//! path. A batch is proven as consecutive runs of one family, each run in chunks of that
//! family's circuit; every chunk has the same public inputs ([`Instance`]) and the roots
//! chain across families exactly as within one.

use serde::{Deserialize, Serialize};

use super::witness::{self, ChunkWitness, WitnessError};
use super::Instance;
use crate::state::State;
use crate::tx::Transaction;

/// A family of kinds sharing one chunk circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `transfer`.
    Transfer,
    /// `register_meter`, `meter_reading`, `place_order`, `cancel_order`, `fill`.
    Energy,
    /// `open_account`, `register_operator`, `set_concession`, `tap`, `fleet_record`.
    Transit,
    /// `register_voter`, `register_delegate`, `create_proposal`, `ballot`, `delegate_vote`.
    Governance,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 4] = [
        Family::Transfer,
        Family::Energy,
        Family::Transit,
        Family::Governance,
    ];

    /// The family whose circuit proves `tx`.
    pub fn of(tx: &Transaction) -> Family {
        use Transaction::*;
        match tx {
            Transfer(_) => Family::Transfer,
            RegisterMeter(_) | MeterReading(_) | PlaceOrder(_) | CancelOrder(_) | Fill(_) => {
                Family::Energy
            }
            OpenAccount(_) | RegisterOperator(_) | SetConcession(_) | Tap(_) | FleetRecord(_) => {
                Family::Transit
            }
            RegisterVoter(_) | RegisterDelegate(_) | CreateProposal(_) | Ballot(_)
            | DelegateVote(_) => Family::Governance,
        }
    }

    /// Its name, as in artifacts.
    pub fn name(self) -> &'static str {
        match self {
            Family::Transfer => "transfer",
            Family::Energy => "energy",
            Family::Transit => "transit",
            Family::Governance => "governance",
        }
    }

    /// Rows a chunk of `slots` slots of this family's circuit uses.
    pub fn rows(self, slots: usize) -> usize {
        match self {
            Family::Transfer => super::rows(slots),
            other => unbuilt(other),
        }
    }

    /// The smallest `k` whose `2^k` rows hold a chunk of `slots` slots.
    pub fn k_for(self, slots: usize) -> u32 {
        let needed = self.rows(slots) + super::BLINDING_ROWS;
        (11..).find(|k| 1usize << k >= needed).expect("some k fits")
    }

    /// Slots of this family that fit in `2^k` rows (0 if not even one does).
    pub fn slots_for(self, k: u32) -> usize {
        let room = (1usize << k).saturating_sub(super::BLINDING_ROWS);
        (1..)
            .take_while(|&s| self.rows(s) <= room)
            .last()
            .unwrap_or(0)
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn unbuilt(family: Family) -> ! {
    panic!("the {family} chunk circuit is not part of this build")
}

/// A chunk's witness, of any family.
#[derive(Clone, Debug)]
pub enum AnyWitness {
    /// A transfer chunk.
    Transfer(ChunkWitness),
}

impl From<ChunkWitness> for AnyWitness {
    fn from(w: ChunkWitness) -> Self {
        AnyWitness::Transfer(w)
    }
}

impl AnyWitness {
    /// The witness's family.
    pub fn family(&self) -> Family {
        match self {
            AnyWitness::Transfer(_) => Family::Transfer,
        }
    }

    /// Its slots.
    pub fn slots(&self) -> usize {
        match self {
            AnyWitness::Transfer(w) => w.slots.len(),
        }
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
) -> Result<(AnyWitness, Instance), WitnessError> {
    if let Some(tx) = txs.iter().find(|tx| Family::of(tx) != family) {
        return Err(WitnessError::Unsupported(tx.kind_name()));
    }
    match family {
        Family::Transfer => {
            let (w, i) = witness::build(state, txs, now, slots)?;
            Ok((AnyWitness::Transfer(w), i))
        }
        _ => Err(WitnessError::Unsupported(
            txs.first().map_or("padding", |tx| tx.kind_name()),
        )),
    }
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
