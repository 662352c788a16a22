//! The chunk statement: a chunk of `C` transaction slots takes the state from `root_old` to
//! `root_new`, and its transaction data hashes to `data_hash`.
//!
//! Public inputs ([`Instance`]): `root_old`, `root_new`, `data_hash`, `now` (the batch time
//! every transaction of the chunk is applied at), `chain` (the deployment's genesis hash,
//! which every signed message includes), the genesis rule parameters (transfer window,
//! maximum transfers, transfer discount cap, cap period, fare cap, maximum tap delay), which
//! the verifier takes from the genesis file, and each slot's signer: `signed` and `signed ·
//! key` (the key the slot's rules read from the state), which the verifier matches to a
//! signature proof's public keys and messages ([`crate::signatures`]). Consecutive chunks chain by `root_new` of one
//! being `root_old` of the next (the verifier checks); `data_hash` binds the ordered
//! transactions (`fold(TX_DATA, |h, tx| Poseidon(h, message(tx)))`, padding slots hashing
//! the all-zero encoding), so a proof cannot be reused for other data.
//!
//! Batch time: the state header carries the last batch's time (genesis time at first); a
//! chunk requires `now` to be at least it and leaves `now` in its `root_new`, so a batch is
//! never before the one it follows, whatever the sequencer publishes.
//!
//! # Families, and how a slot keeps the common case cheap
//!
//! Kinds are grouped in families by the leaves they touch ([`Family`]); each family has its
//! own circuit whose slot has exactly the touches its kinds need, and a batch is proven as
//! consecutive runs of one family. A slot's kind is chosen by boolean witness flags (one per
//! kind of the family, at most one set; none is padding), and every rule is a constraint
//! multiplied by its kind's flag. The blocks all slots share ([`base`]):
//!
//! - the message `Poseidon(TX_MESSAGE, encoding)` folded into the data hash;
//! - the signer exposed: whether the slot is signed, and the key it is signed by, whose
//!   signature on the message a signature proof checks ([`crate::signatures`]);
//! - **touches**: an account leaf's update (old and new leaf hashed, one Merkle pass
//!   computing old and new root with shared siblings, each level one 24-row region of the
//!   ten-column Poseidon chip [`poseidon`]), or a
//!   leaf of any other tree, whose tree (tag and depth) is chosen by flags, so one touch
//!   serves meters, orders, the fleet log, voters and proposals. A touch whose kind does
//!   not use it changes no root;
//! - the eight tree roots and seven counters carried from slot to slot (the counters are
//!   unpacked and range-checked once per chunk); the state root is hashed only at the two
//!   ends of the chunk;
//! - 64-bit range checks on every amount and every part unpacked from a leaf, on the
//!   lookup column.
//!
//! Rows per slot by family: [`Family::rows`] (pinned by tests; the README has the table).

pub(crate) mod base;
pub mod family;
pub(crate) mod grid;
pub mod merkle;
pub mod proof;
pub mod witness;

pub(crate) mod accounts;
pub(crate) mod governance;
pub(crate) mod market;
pub(crate) mod registry;

use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    plonk::{Circuit, ConstraintSystem, Error},
};

use crate::constants::domain;
use crate::hash::{node, tag, Fp};
use crate::keys::PublicKey;
use crate::records::Owner;
use crate::state::Params;
pub use family::Family;
use witness::ChunkWitness;

/// Offset of `root_old` in the instance column.
pub const ROOT_OLD: usize = 0;
/// Offset of `root_new`.
pub const ROOT_NEW: usize = 1;
/// Offset of `data_hash`.
pub const DATA_HASH: usize = 2;
/// Offset of `now`, the batch time every transaction of the chunk is applied at.
pub const NOW: usize = 3;
/// Offset of `chain`, the deployment's genesis hash.
pub const CHAIN: usize = 4;
/// Offset of the first rule parameter (six, in the order of [`Params`]' fields).
pub const PARAMS: usize = 5;
/// Rule parameters among the public inputs.
pub const PARAM_COUNT: usize = 6;
/// Offset of the first slot's signer: `signed`, then `signed · key` (`x`, `y`), for each slot.
pub const SIGNERS: usize = PARAMS + PARAM_COUNT;
/// Public inputs per slot's signer.
pub const SIGNER_LEN: usize = 3;

/// Offset of slot `slot`'s signer among the public inputs.
pub fn signer_offset(slot: usize) -> usize {
    SIGNERS + SIGNER_LEN * slot
}

/// Public inputs of a chunk of `slots` slots.
pub fn instance_len(slots: usize) -> usize {
    signer_offset(slots)
}

/// Bits of one lookup word of the range-check table.
const LOOKUP_BITS: usize = 10;

/// Rows halo2 keeps for blinding at the end of every column, with margin (a test checks it
/// covers the constraint system's blinding factors).
pub const BLINDING_ROWS: usize = 16;
/// The constraint system's degree (the Poseidon chip's S-box gates, `q · x⁵`, set it).
pub const DEGREE: usize = 6;

/// The public inputs of a chunk proof.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Instance {
    root_old: Fp,
    root_new: Fp,
    data_hash: Fp,
    now: u64,
    chain: Fp,
    params: [u64; PARAM_COUNT],
    /// Each slot's signer's key (`None`: an unsigned slot, padding or a ballot).
    signers: Vec<Option<PublicKey>>,
}

impl Instance {
    /// The public inputs of a chunk from `root_old` to `root_new` over data hashing to
    /// `data_hash`, applied at batch time `now` in the deployment `chain` under its genesis
    /// `params`, whose slots are signed by `signers` (`None` for an unsigned slot; one per
    /// slot).
    pub fn new(
        root_old: Fp,
        root_new: Fp,
        data_hash: Fp,
        now: u64,
        chain: Fp,
        params: &Params,
        signers: Vec<Option<PublicKey>>,
    ) -> Self {
        Instance {
            root_old,
            root_new,
            data_hash,
            now,
            chain,
            params: [
                params.transfer_window,
                params.max_transfers,
                params.transfer_discount_cap,
                params.cap_period,
                params.fare_cap,
                params.max_tap_delay,
            ],
            signers,
        }
    }

    /// Each slot's signer's key (`None`: unsigned).
    pub fn signers(&self) -> &[Option<PublicKey>] {
        &self.signers
    }

    /// The deployment (genesis hash) the chunk's signatures are for.
    pub fn chain(&self) -> Fp {
        self.chain
    }

    /// The batch time the chunk's transactions are applied at.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The state root before the chunk.
    pub fn root_old(&self) -> Fp {
        self.root_old
    }

    /// The state root after the chunk.
    pub fn root_new(&self) -> Fp {
        self.root_new
    }

    /// The hash of the chunk's transaction data.
    pub fn data_hash(&self) -> Fp {
        self.data_hash
    }

    /// The instance column, in offset order.
    pub fn to_halo2(&self) -> Vec<Fp> {
        let mut column = vec![Fp::zero(); instance_len(self.signers.len())];
        column[ROOT_OLD] = self.root_old;
        column[ROOT_NEW] = self.root_new;
        column[DATA_HASH] = self.data_hash;
        column[NOW] = Fp::from(self.now);
        column[CHAIN] = self.chain;
        for (i, p) in self.params.iter().enumerate() {
            column[PARAMS + i] = Fp::from(*p);
        }
        for (slot, signer) in self.signers.iter().enumerate() {
            if let Some(key) = signer {
                let (x, y) = key.coordinates();
                let at = signer_offset(slot);
                column[at..at + SIGNER_LEN].copy_from_slice(&[Fp::one(), x, y]);
            }
        }
        column
    }
}

/// The data hash of a chunk of the deployment `chain`: the messages of its transactions, in
/// order, then the all-zero encoding's message for each padding slot, folded with Poseidon
/// from `TX_DATA`.
pub fn data_hash(chain: Fp, txs: &[crate::tx::Transaction], slots: usize) -> Fp {
    let messages: Vec<Fp> = txs.iter().map(|tx| tx.message(chain)).collect();
    data_hash_of(chain, &messages, slots)
}

/// [`data_hash`] of transactions whose `messages` (`Transaction::message` in the deployment
/// `chain`) are already computed.
pub fn data_hash_of(chain: Fp, messages: &[Fp], slots: usize) -> Fp {
    let padding = padding_message(chain);
    messages
        .iter()
        .copied()
        .chain(std::iter::repeat(padding))
        .take(slots.max(messages.len()))
        .fold(tag(domain::TX_DATA), node)
}

/// The message of a padding slot in the deployment `chain`: `Poseidon(TX_MESSAGE, chain, 0,
/// ..., 0)`.
pub fn padding_message(chain: Fp) -> Fp {
    crate::tx::message_of(chain, &[Fp::zero(); 8])
}

/// The owner hash of an account that does not exist (no key, no roles).
pub fn empty_owner_hash() -> Fp {
    Owner::default().hash()
}

/// Defines a family's chunk circuit: a public struct with its slots and witness, whose
/// synthesis opens the header, runs the family's slot `C` times and hashes the header after.
macro_rules! chunk_circuit {
    ($(#[$doc:meta])* $name:ident, $config:ident, $family:expr, $module:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            slots: usize,
            witness: Option<ChunkWitness>,
        }

        #[doc = concat!("The configuration of [`", stringify!($name), "`]: the shared columns and chips, and the family's rule gates.")]
        #[derive(Clone, Debug)]
        pub struct $config {
            base: base::Base,
            rules: $module::Config,
        }

        impl $name {
            /// The circuit for key generation: the layout of `slots` slots, no witness.
            pub fn blank(slots: usize) -> Self {
                $name {
                    slots,
                    witness: None,
                }
            }

            /// The circuit proving `witness` (which must be of this circuit's family).
            ///
            /// # Panics
            /// If the witness is of another family (a caller's bug: [`proof::prove`]
            /// dispatches by family).
            pub fn new(witness: ChunkWitness) -> Self {
                assert_eq!(witness.family, $family, "a witness of another family");
                $name {
                    slots: witness.slots.len(),
                    witness: Some(witness),
                }
            }

            /// Slots in the chunk.
            pub fn slots(&self) -> usize {
                self.slots
            }
        }

        impl Circuit<Fp> for $name {
            type Config = $config;
            type FloorPlanner = SimpleFloorPlanner;

            fn without_witnesses(&self) -> Self {
                $name::blank(self.slots)
            }

            fn configure(meta: &mut ConstraintSystem<Fp>) -> $config {
                let base = base::Base::configure(meta);
                let rules = $module::configure(meta, &base);
                $config { base, rules }
            }

            fn synthesize(
                &self,
                config: $config,
                mut layouter: impl Layouter<Fp>,
            ) -> Result<(), Error> {
                let base = &config.base;
                base.load(&mut layouter)?;
                let w = match &self.witness {
                    Some(w) => Value::known(w),
                    None => Value::unknown(),
                };
                let mut running =
                    base.start(layouter.namespace(|| "start"), w.map(|w| &w.header_old))?;
                for i in 0..self.slots {
                    running.slot = i;
                    $module::slot(
                        &config.rules,
                        base,
                        layouter.namespace(|| format!("slot {i}")),
                        w.map(|w| &w.slots[i]),
                        &mut running,
                    )?;
                }
                base.finish(layouter.namespace(|| "finish"), &running)
            }
        }
    };
}

chunk_circuit!(
    /// The accounts family's chunk: transfers, taps, account opening, operator and
    /// concession registration, delegate registration (two account touches per slot).
    AccountsCircuit,
    AccountsConfig,
    Family::Accounts,
    accounts
);

chunk_circuit!(
    /// The registry family's chunk: meters and readings, orders and cancellations, fleet
    /// records, voter registrations, proposals (an account and a leaf of another tree).
    RegistryCircuit,
    RegistryConfig,
    Family::Registry,
    registry
);

chunk_circuit!(
    /// The market family's chunk: fills.
    MarketCircuit,
    MarketConfig,
    Family::Market,
    market
);

chunk_circuit!(
    /// The governance family's chunk: ballots and delegates' votes.
    GovernanceCircuit,
    GovernanceConfig,
    Family::Governance,
    governance
);

/// The degree of `C`'s constraint system.
pub fn degree_of<C: Circuit<Fp>>() -> usize {
    let mut cs = ConstraintSystem::default();
    C::configure(&mut cs);
    cs.degree()
}

/// Rows at the end of every column that halo2 reserves for `C` (blinding factors and one
/// more).
pub fn reserved_rows_of<C: Circuit<Fp>>() -> usize {
    let mut cs = ConstraintSystem::default();
    C::configure(&mut cs);
    cs.blinding_factors() + 1
}
