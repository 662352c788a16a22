//! The chunk witness, built from the rules library: each transaction is planned and
//! committed by [`State`], and the leaves and paths it touched are recorded as they were
//! just before each write. There is no second copy of the rules here.

use crate::hash::Fp;
use crate::keys::Signature;
use crate::merkle::MerklePath;
use crate::records::Account;
use crate::state::{State, StateHeader, TreeId};
use crate::tx::Transaction;
use crate::TxError;

use super::{data_hash, Instance};

/// An account as a slot touches it: its record before the write, and its path then.
#[derive(Clone, Debug)]
pub struct AccountWitness {
    /// The record before the slot's write.
    pub account: Account,
    /// The leaf's path just before the write.
    pub path: MerklePath,
}

/// One slot's witness.
#[derive(Clone, Debug)]
pub struct SlotWitness {
    /// The transaction's canonical encoding (all zeros for padding).
    pub encoding: [Fp; 8],
    /// A transfer (`false`: padding).
    pub is_transfer: bool,
    /// The payer (account 0, unchanged, for padding).
    pub from: AccountWitness,
    /// The payee (account 0, unchanged, for padding).
    pub to: AccountWitness,
    /// The payer's signature (unused for padding).
    pub signature: Signature,
}

/// Everything a chunk proof needs besides the circuit's constants.
#[derive(Clone, Debug)]
pub struct ChunkWitness {
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
    /// The chunk circuit does not prove this kind yet.
    #[error("the chunk circuit cannot prove a {0} transaction yet")]
    Unsupported(&'static str),
    /// The rules refuse a transaction; the chunk is not built.
    #[error("transaction {index} is refused: {source}")]
    Refused {
        /// Its position in the chunk.
        index: usize,
        /// Why.
        source: TxError,
    },
}

/// Applies `txs` to `state` at batch time `now` and returns the witness and public inputs of
/// a chunk of `slots` slots. On error the state may hold the transactions before the
/// failing one: callers check transactions before sealing them, so this is a bug guard.
pub fn build(
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
    let mut witness_slots = Vec::with_capacity(slots);
    for (index, tx) in txs.iter().enumerate() {
        let Transaction::Transfer(t) = tx else {
            return Err(WitnessError::Unsupported(tx.kind_name()));
        };
        let refused = |source| WitnessError::Refused { index, source };
        let from = state
            .account(t.from)
            .ok_or(refused(TxError::UnknownAccount { account: t.from }))?;
        let to = state
            .account(t.to)
            .ok_or(refused(TxError::UnknownAccount { account: t.to }))?;
        let plan = state.plan(tx, now).map_err(refused)?;
        let (_, paths) = state.commit_traced(plan);
        let [from_path, to_path] =
            <[MerklePath; 2]>::try_from(paths).expect("a transfer writes two leaves");
        witness_slots.push(SlotWitness {
            encoding: tx.encode(),
            is_transfer: true,
            from: AccountWitness {
                account: from,
                path: from_path,
            },
            to: AccountWitness {
                account: to,
                path: to_path,
            },
            signature: t.signature,
        });
    }
    while witness_slots.len() < slots {
        witness_slots.push(padding(state));
    }
    let instance = Instance::new(root_old, state.root(), data_hash(txs, slots), now);
    Ok((
        ChunkWitness {
            header_old,
            slots: witness_slots,
        },
        instance,
    ))
}

/// A padding slot: account 0 read and rewritten unchanged, twice.
fn padding(state: &State) -> SlotWitness {
    let account = state.account(0).unwrap_or_default();
    let path = state.path(TreeId::Accounts, 0);
    let touch = AccountWitness { account, path };
    SlotWitness {
        encoding: [Fp::zero(); 8],
        is_transfer: false,
        from: touch.clone(),
        to: touch,
        // Not checked (the slot's flag is 0), but the points must be valid to be witnessed.
        signature: Signature {
            r: super::base::generator(),
            s: pasta_curves::pallas::Scalar::one(),
        },
    }
}
