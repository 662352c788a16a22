//! The chunk witness, built from the rules library: each transaction is planned by
//! [`State::plan`] and committed leaf by leaf in the order of its family's touches
//! ([`State::commit_touches`]), recording every touched leaf before and after and its path
//! just before the write. There is no second copy of the rules here: a family says only
//! which leaves each kind touches ([`super::family::Family::targets`]).

use serde::{Deserialize, Serialize};

use crate::hash::Fp;
use crate::keys::Signature;
use crate::merkle::MerklePath;
use crate::records::{Account, BallotRecord, FleetEntry, Meter, Order, Proposal, Tally};
use crate::state::{State, StateHeader, TouchTrace, TreeId, Write};
use crate::tx::Transaction;
use crate::TxError;

use super::family::Family;
use super::{data_hash, Instance};

/// One slot's witness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotWitness {
    /// The kind code (0 for padding).
    pub kind: u64,
    /// The transaction's canonical encoding (all zeros for padding).
    pub encoding: [Fp; 8],
    /// The signature (`None` for an unsigned slot: padding, a ballot), which the chunk's
    /// signature proof checks ([`signed_entries`]).
    pub signature: Option<Signature>,
    /// The leaves the slot touches, in its family's touch order (`None`: unused).
    pub touches: Vec<Option<TouchTrace>>,
}

/// Everything a chunk proof needs besides the circuit's constants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkWitness {
    /// The family whose circuit proves the chunk.
    pub family: Family,
    /// The state header before the chunk.
    pub header_old: StateHeader,
    /// The slots, transactions first, then padding.
    pub slots: Vec<SlotWitness>,
}

/// Why a chunk cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// More transactions than slots.
    #[error("{txs} transactions do not fit in a chunk of {slots} slots")]
    TooMany {
        /// Transactions given.
        txs: usize,
        /// Slots in the chunk.
        slots: usize,
    },
    /// A transaction of another family than the chunk's.
    #[error("a {kind} transaction is not proven by the {family} chunk circuit")]
    WrongFamily {
        /// Its kind.
        kind: &'static str,
        /// The chunk's family.
        family: Family,
    },
    /// The chunk's batch time is before the state's; the chunk is not built.
    #[error("the chunk's batch time is refused: {source}")]
    BatchTime {
        /// Why.
        source: TxError,
    },
    /// The rules refuse a transaction; the chunk is not built.
    #[error("transaction {index} is refused: {source}")]
    Refused {
        /// Its position in the chunk.
        index: usize,
        /// Why.
        source: TxError,
    },
    /// The rules write a leaf the family's layout does not touch (a bug: the layout and
    /// the rules disagree).
    #[error("transaction {index} ({kind}) writes the {tree} leaf {position}, which its chunk layout does not touch")]
    Layout {
        /// Its position in the chunk.
        index: usize,
        /// Its kind.
        kind: &'static str,
        /// The tree written.
        tree: &'static str,
        /// The leaf.
        position: u64,
    },
}

impl SlotWitness {
    /// A padding slot of `touches` unused touches: all-zero encoding, no signature.
    pub fn padding(touches: usize) -> Self {
        SlotWitness {
            kind: 0,
            encoding: [Fp::zero(); 8],
            signature: None,
            touches: vec![None; touches],
        }
    }

    fn trace(&self, touch: usize) -> Option<&TouchTrace> {
        self.touches.get(touch).and_then(|t| t.as_ref())
    }

    fn record(&self, touch: usize, new: bool) -> Option<&Write> {
        self.trace(touch).map(|t| if new { &t.new } else { &t.old })
    }

    /// The touched leaf's position (0 for an unused touch).
    pub fn index(&self, touch: usize) -> u64 {
        self.record(touch, false).map_or(0, |w| w.target().1)
    }

    /// The touched leaf's path (an all-zero path at 0 for an unused touch).
    pub fn path(&self, touch: usize) -> MerklePath {
        self.trace(touch).map_or_else(
            || MerklePath {
                index: 0,
                siblings: vec![],
            },
            |t| t.path.clone(),
        )
    }

    /// The three words of a non-account leaf, before (`new = false`) or after.
    pub fn words(&self, touch: usize, new: bool) -> [Fp; 3] {
        self.record(touch, new)
            .map_or([Fp::zero(); 3], |w| w.words())
    }
}

macro_rules! typed {
    ($name:ident, $variant:ident, $ty:ty) => {
        impl SlotWitness {
            #[doc = concat!("The touched leaf as a ", stringify!($ty), " record (empty if it is not one).")]
            pub fn $name(&self, touch: usize, new: bool) -> $ty {
                match self.record(touch, new) {
                    Some(Write::$variant(_, r)) => r.clone(),
                    _ => <$ty>::default(),
                }
            }
        }
    };
}

typed!(account, Account, Account);
typed!(meter, Meter, Meter);
typed!(order, Order, Order);
typed!(fleet, Fleet, FleetEntry);
typed!(proposal, Proposal, Proposal);
typed!(ballot, Ballot, BallotRecord);
typed!(tally, Tally, Tally);

/// Applies `txs` (all of `family`) to `state` at batch time `now` and returns the witness
/// and public inputs of a chunk of `slots` slots. On error the state may hold the
/// transactions before the failing one: callers check transactions before sealing them, so
/// this is a bug guard.
pub fn build(
    family: Family,
    state: &mut State,
    txs: &[Transaction],
    now: u64,
    slots: usize,
) -> Result<(ChunkWitness, Instance), WitnessError> {
    if txs.len() > slots {
        return Err(WitnessError::TooMany {
            txs: txs.len(),
            slots,
        });
    }
    let header_old = state.header();
    let root_old = header_old.root();
    // A chunk leaves its batch time in the state, even one of padding only.
    state
        .advance_time(now)
        .map_err(|source| WitnessError::BatchTime { source })?;
    let mut witness_slots = Vec::with_capacity(slots);
    let mut signers = Vec::with_capacity(slots);
    for (index, tx) in txs.iter().enumerate() {
        if Family::of(tx) != family {
            return Err(WitnessError::WrongFamily {
                kind: tx.kind_name(),
                family,
            });
        }
        let refused = |source| WitnessError::Refused { index, source };
        let targets = family.targets(state, tx);
        let plan = state.plan(tx, now).map_err(refused)?;
        // The key the rules checked the signature against, read before the write.
        signers.push(tx.signature().and_then(|_| state.signer_key(tx)));
        let touches = state.commit_touches(plan, &targets).map_err(|stray| {
            let (tree, position) = stray.target();
            WitnessError::Layout {
                index,
                kind: tx.kind_name(),
                tree: tree.name(),
                position,
            }
        })?;
        witness_slots.push(SlotWitness {
            kind: tx.kind(),
            encoding: tx.encode(),
            signature: tx.signature().copied(),
            touches,
        });
    }
    while witness_slots.len() < slots {
        witness_slots.push(SlotWitness::padding(family.touches()));
        signers.push(None);
    }
    let instance = Instance::new(
        root_old,
        state.root(),
        data_hash(state.chain(), txs, slots),
        now,
        state.chain(),
        state.params(),
        signers,
    );
    Ok((
        ChunkWitness {
            family,
            header_old,
            slots: witness_slots,
        },
        instance,
    ))
}

/// The signatures a chunk's signature proof checks, in slot order: each signed slot's key
/// (from the public inputs), its message in the deployment and its signature.
pub fn signed_entries(
    witness: &ChunkWitness,
    instance: &Instance,
) -> Vec<(crate::signatures::Entry, Signature)> {
    witness
        .slots
        .iter()
        .zip(instance.signers())
        .filter_map(|(slot, signer)| {
            let key = (*signer)?;
            let signature = slot.signature?;
            let message = crate::tx::message_of(instance.chain(), &slot.encoding);
            Some((crate::signatures::Entry { key, message }, signature))
        })
        .collect()
}

/// The leaf a touch targets, for a family's layout.
pub(crate) fn at(tree: TreeId, index: u64) -> Option<(TreeId, u64)> {
    Some((tree, index))
}
