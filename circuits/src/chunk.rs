//! The chunk statement: a chunk of `C` transaction slots takes the state from `root_old` to
//! `root_new`, and its transaction data hashes to `data_hash`.
//!
//! Public inputs ([`Instance`]): `root_old`, `root_new`, `data_hash`, `now` (the batch time;
//! the transfer rules do not read it, the time-bound rules of other kinds do). Consecutive chunks chain
//! by `root_new` of one being `root_old` of the next (the verifier checks); `data_hash` binds
//! the ordered transactions (`fold(TX_DATA, |h, tx| Poseidon(h, message(tx)))`, padding
//! slots hashing the all-zero encoding), so a proof cannot be reused for other data.
//!
//! This version proves `Transfer` completely; a slot is a transfer or padding (a no-op whose
//! encoding is all zeros). Each slot: the signature, the nonce, both accounts' old and new
//! leaves and one Merkle pass per account computing old and new root with shared siblings,
//! and 64-bit range checks on every amount and every field unpacked from a leaf.
//!
//! # How the slot extends to every kind
//!
//! The slot is universal: every slot has the same regions, and what a slot does is chosen by
//! witness flags, not by fixed selectors (a chunk's kinds are not known at key generation).
//! Today `flag` (boolean) selects "transfer" and `kind = flag · TRANSFER`; with more kinds,
//! each gets a boolean flag, `kind = Σ code_k · flag_k` and `Σ flag_k ≤ 1` (all zero is
//! padding), and each kind's rule gate is multiplied by its flag. The blocks that are not
//! rules are shared by every signed kind and stay as they are: the message hash and data
//! hash, the signer's owner opening and signature, and two account touches (old and new leaf
//! and one Merkle pass each) — the signer's and a second account's (payee, operator,
//! rider, new account, seller/buyer). Kinds that write other trees (meters, orders, fleet,
//! voters, proposals, ballots, tallies) add touches of those trees, each an instance of the
//! same Merkle update chip (`chunk/merkle.rs`) with its depth, enabled by the kinds that use it and
//! otherwise rewriting a leaf unchanged, as padding does today.

pub(crate) mod base;
pub mod family;
pub mod merkle;
pub mod proof;
pub mod witness;

use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    plonk::{Circuit, ConstraintSystem, Constraints, Error, Expression, Selector},
    poly::Rotation,
};

use ff::Field;

use crate::constants::{domain, TX_FIELDS};
use crate::hash::{node, tag, Fp};
use crate::records::Owner;
use crate::tx::kind;
use base::{rider_words, AccountWords, Base, Chip};
pub use family::{AnyWitness, Family};
use merkle::Cell;
use witness::{ChunkWitness, SlotWitness};

/// Offset of `root_old` in the instance column.
pub const ROOT_OLD: usize = 0;
/// Offset of `root_new`.
pub const ROOT_NEW: usize = 1;
/// Offset of `data_hash`.
pub const DATA_HASH: usize = 2;
/// Offset of `now`, the batch time every transaction of the chunk is applied at.
pub const NOW: usize = 3;

/// Bits of one lookup word of the range-check table.
const LOOKUP_BITS: usize = 10;

/// Rows one transfer slot uses (pinned by a test: a change of layout is deliberate).
pub const ROWS_PER_SLOT: usize = 2_598;
/// Rows used once per chunk: the two state-root hashes and the data-hash start.
pub const ROWS_FIXED: usize = 478;
/// The constraint system's degree (the ECC gates set it).
pub const DEGREE: usize = 9;
/// Bytes of a one-slot chunk proof at k = 12 (pinned by a test); each extra `k` adds two
/// curve points (64 bytes) to the inner-product argument.
pub const PROOF_BYTES: usize = 4_704;
/// Rows halo2 keeps for blinding at the end of every column, with margin (a test checks it
/// covers the constraint system's blinding factors).
pub const BLINDING_ROWS: usize = 16;

/// Rows a chunk of `slots` slots uses.
pub fn rows(slots: usize) -> usize {
    ROWS_FIXED + slots * ROWS_PER_SLOT
}

/// The smallest `k` whose `2^k` rows hold a chunk of `slots` slots (at least 11: the
/// range-check table has 1,024 rows).
pub fn k_for(slots: usize) -> u32 {
    let needed = rows(slots) + BLINDING_ROWS;
    (11..).find(|k| 1usize << k >= needed).expect("some k fits")
}

/// Slots that fit in `2^k` rows.
pub fn slots_for(k: u32) -> usize {
    ((1usize << k).saturating_sub(ROWS_FIXED + BLINDING_ROWS)) / ROWS_PER_SLOT
}

/// The degree of the circuit's constraint system.
pub fn degree() -> usize {
    constraint_system().degree()
}

/// Rows at the end of every column that halo2 reserves (blinding factors and one more).
pub fn reserved_rows() -> usize {
    constraint_system().blinding_factors() + 1
}

fn constraint_system() -> ConstraintSystem<Fp> {
    let mut cs = ConstraintSystem::default();
    ChunkCircuit::configure(&mut cs);
    cs
}

/// The public inputs of a chunk proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instance {
    root_old: Fp,
    root_new: Fp,
    data_hash: Fp,
    now: u64,
}

impl Instance {
    /// The public inputs of a chunk from `root_old` to `root_new` over data hashing to
    /// `data_hash`, applied at batch time `now`.
    pub fn new(root_old: Fp, root_new: Fp, data_hash: Fp, now: u64) -> Self {
        Instance {
            root_old,
            root_new,
            data_hash,
            now,
        }
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
        let mut column = vec![Fp::zero(); 4];
        column[ROOT_OLD] = self.root_old;
        column[ROOT_NEW] = self.root_new;
        column[DATA_HASH] = self.data_hash;
        column[NOW] = Fp::from(self.now);
        column
    }
}

/// The data hash of a chunk: the messages of its transactions, in order, then the all-zero
/// encoding's message for each padding slot, folded with Poseidon from `TX_DATA`.
pub fn data_hash(txs: &[crate::tx::Transaction], slots: usize) -> Fp {
    let padding = padding_message();
    let messages = txs
        .iter()
        .map(|tx| tx.message())
        .chain(std::iter::repeat(padding))
        .take(slots.max(txs.len()));
    messages.fold(tag(domain::TX_DATA), node)
}

/// The message of a padding slot: `Poseidon(TX_MESSAGE, 0, ..., 0)`.
pub fn padding_message() -> Fp {
    crate::hash::poseidon([
        tag(domain::TX_MESSAGE),
        Fp::zero(),
        Fp::zero(),
        Fp::zero(),
        Fp::zero(),
        Fp::zero(),
        Fp::zero(),
        Fp::zero(),
        Fp::zero(),
    ])
}

/// The owner hash of an account that does not exist (no key, no roles).
pub fn empty_owner_hash() -> Fp {
    Owner::default().hash()
}

/// The transfer circuit's configuration: the shared columns and chips, and the transfer
/// rule gate.
#[derive(Clone, Debug)]
pub struct ChunkConfig {
    base: Base,
    q_transfer: Selector,
}

/// A chunk of `slots` transaction slots, with its witness (absent for key generation).
#[derive(Clone, Debug)]
pub struct ChunkCircuit {
    slots: usize,
    witness: Option<ChunkWitness>,
}

impl ChunkCircuit {
    /// The circuit for key generation: the layout of `slots` slots, no witness.
    pub fn blank(slots: usize) -> Self {
        ChunkCircuit {
            slots,
            witness: None,
        }
    }

    /// The circuit proving `witness`.
    pub fn new(witness: ChunkWitness) -> Self {
        ChunkCircuit {
            slots: witness.slots.len(),
            witness: Some(witness),
        }
    }

    /// Slots in the chunk.
    pub fn slots(&self) -> usize {
        self.slots
    }
}

impl Circuit<Fp> for ChunkCircuit {
    type Config = ChunkConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        ChunkCircuit::blank(self.slots)
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> ChunkConfig {
        let base = Base::configure(meta);
        let advice = base.advice;

        // The transfer rules of one slot (`flag` is 1 for a transfer, 0 for padding):
        //
        // | row | a0   | a1   | a2        | a3     | a4   | a5 | a6      | a7          | a8       | a9           |
        // |  0  | flag | kind | enc nonce | amount | from | to | nonce   | nonce_new   | from bal | from bal_new |
        // |  1  | to bal | to bal_new | 1/amount | 1/(from-to) | to owner | 1/(to owner - empty) | enc5 | enc6 | enc7 | - |
        let q_transfer = meta.selector();
        meta.create_gate("transfer", |meta| {
            let q = meta.query_selector(q_transfer);
            let cur = |meta: &mut halo2_proofs::plonk::VirtualCells<'_, Fp>, i: usize| {
                meta.query_advice(advice[i], Rotation::cur())
            };
            let next = |meta: &mut halo2_proofs::plonk::VirtualCells<'_, Fp>, i: usize| {
                meta.query_advice(advice[i], Rotation::next())
            };
            let flag = cur(meta, 0);
            let kind = cur(meta, 1);
            let enc_nonce = cur(meta, 2);
            let amount = cur(meta, 3);
            let from = cur(meta, 4);
            let to = cur(meta, 5);
            let nonce = cur(meta, 6);
            let nonce_new = cur(meta, 7);
            let from_bal = cur(meta, 8);
            let from_bal_new = cur(meta, 9);
            let to_bal = next(meta, 0);
            let to_bal_new = next(meta, 1);
            let inv_amount = next(meta, 2);
            let inv_from_to = next(meta, 3);
            let to_owner = next(meta, 4);
            let inv_owner = next(meta, 5);
            let unused = [next(meta, 6), next(meta, 7), next(meta, 8)];
            let one = Expression::Constant(Fp::one());
            let not_flag = one.clone() - flag.clone();
            let empty_owner = Expression::Constant(empty_owner_hash());
            let mut constraints = vec![
                ("flag is boolean", flag.clone() * not_flag.clone()),
                (
                    "kind = flag * TRANSFER",
                    kind - flag.clone() * Fp::from(kind::TRANSFER),
                ),
                (
                    "flag * (tx nonce - account nonce) = 0",
                    flag.clone() * (enc_nonce.clone() - nonce.clone()),
                ),
                ("nonce_new = nonce + flag", nonce_new - nonce - flag.clone()),
                (
                    "from balance_new = from balance - flag * amount",
                    from_bal_new - from_bal + flag.clone() * amount.clone(),
                ),
                (
                    "to balance_new = to balance + flag * amount",
                    to_bal_new - to_bal - flag.clone() * amount.clone(),
                ),
                (
                    "amount != 0",
                    flag.clone() * (amount.clone() * inv_amount - one.clone()),
                ),
                (
                    "from != to",
                    flag.clone() * ((from.clone() - to.clone()) * inv_from_to - one.clone()),
                ),
                (
                    "payee exists: to owner != empty owner",
                    flag * ((to_owner - empty_owner) * inv_owner - one),
                ),
                ("padding: nonce = 0", not_flag.clone() * enc_nonce),
                ("padding: amount = 0", not_flag.clone() * amount),
                ("padding: from = 0", not_flag.clone() * from),
                ("padding: to = 0", not_flag * to),
            ];
            for (i, field) in unused.into_iter().enumerate() {
                constraints.push((
                    [
                        "unused field 5 = 0",
                        "unused field 6 = 0",
                        "unused field 7 = 0",
                    ][i],
                    field,
                ));
            }
            Constraints::with_selector(q, constraints)
        });

        ChunkConfig { base, q_transfer }
    }

    fn synthesize(
        &self,
        config: ChunkConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        let base = &config.base;
        base.load(&mut layouter)?;
        let w = match &self.witness {
            Some(w) => Value::known(w),
            None => Value::unknown(),
        };

        // root_old = Poseidon(STATE, tree roots, counters): open the header.
        let header_cells =
            base.header(layouter.namespace(|| "header"), w.map(|w| &w.header_old))?;
        let root_old =
            base.state_root(Chip::A, layouter.namespace(|| "root_old"), &header_cells)?;
        layouter.constrain_instance(root_old.cell(), base.instance, ROOT_OLD)?;

        let mut accounts_root = header_cells[0].clone();
        let mut data = base.tag(layouter.namespace(|| "data hash start"), domain::TX_DATA)?;
        for i in 0..self.slots {
            let slot = w.map(|w| &w.slots[i]);
            let (root, h) = self.slot(
                &config,
                layouter.namespace(|| format!("slot {i}")),
                slot,
                accounts_root,
                data,
            )?;
            accounts_root = root;
            data = h;
        }

        // root_new: the same header with the accounts root after the chunk.
        let mut header_new = header_cells.clone();
        header_new[0] = accounts_root;
        let root_new = base.state_root(Chip::B, layouter.namespace(|| "root_new"), &header_new)?;
        layouter.constrain_instance(root_new.cell(), base.instance, ROOT_NEW)?;
        layouter.constrain_instance(data.cell(), base.instance, DATA_HASH)?;
        Ok(())
    }
}

impl ChunkCircuit {
    /// One slot: a transfer or padding. Returns the accounts root and data hash after it.
    fn slot(
        &self,
        config: &ChunkConfig,
        mut layouter: impl Layouter<Fp>,
        slot: Value<&SlotWitness>,
        accounts_root: Cell,
        data: Cell,
    ) -> Result<(Cell, Cell), Error> {
        let base = &config.base;
        let adv = &base.advice;
        let enc = slot.map(|s| s.encoding);
        let field = |i: usize| enc.map(|e| e[i]);
        let from = slot.map(|s| &s.from.account);
        let to = slot.map(|s| &s.to.account);
        let amount = field(4);
        let flag = slot.map(|s| Fp::from(u64::from(s.is_transfer)));
        let nonce_new = from.zip(flag).map(|(a, f)| Fp::from(a.nonce) + f);
        let from_bal_new = from
            .zip(flag)
            .zip(amount)
            .map(|((a, f), x)| Fp::from(a.balance) - f * x);
        let to_bal_new = to
            .zip(flag)
            .zip(amount)
            .map(|((a, f), x)| Fp::from(a.balance) + f * x);

        // The transfer rules: kind, nonce, balances, amount != 0, from != to, payee exists,
        // and a padding slot encodes zeros.
        let cells = layouter.assign_region(
            || "transfer rules",
            |mut region| {
                config.q_transfer.enable(&mut region, 0)?;
                let a = |region: &mut halo2_proofs::circuit::Region<'_, Fp>,
                         name: &'static str,
                         col: usize,
                         row: usize,
                         v: Value<Fp>| {
                    region.assign_advice(|| name, adv[col], row, || v)
                };
                let flag = a(&mut region, "flag", 0, 0, flag)?;
                let kind = a(&mut region, "kind", 1, 0, field(0))?;
                let enc_nonce = a(&mut region, "tx nonce", 2, 0, field(2))?;
                let amount = a(&mut region, "amount", 3, 0, amount)?;
                let from_id = a(&mut region, "from", 4, 0, field(1))?;
                let to_id = a(&mut region, "to", 5, 0, field(3))?;
                let nonce = a(&mut region, "nonce", 6, 0, from.map(|x| Fp::from(x.nonce)))?;
                let nonce_new = a(&mut region, "nonce_new", 7, 0, nonce_new)?;
                let from_bal = a(
                    &mut region,
                    "from balance",
                    8,
                    0,
                    from.map(|x| Fp::from(x.balance)),
                )?;
                let from_bal_new = a(&mut region, "from balance_new", 9, 0, from_bal_new)?;
                let to_bal = a(
                    &mut region,
                    "to balance",
                    0,
                    1,
                    to.map(|x| Fp::from(x.balance)),
                )?;
                let to_bal_new = a(&mut region, "to balance_new", 1, 1, to_bal_new)?;
                let inv = |v: Value<Fp>| v.map(|v| v.invert().unwrap_or(Fp::zero()));
                a(&mut region, "1/amount", 2, 1, inv(field(4)))?;
                a(&mut region, "1/(from - to)", 3, 1, inv(field(1) - field(3)))?;
                let to_owner = a(
                    &mut region,
                    "to owner hash",
                    4,
                    1,
                    to.map(|x| x.owner.hash()),
                )?;
                a(
                    &mut region,
                    "1/(to owner - empty)",
                    5,
                    1,
                    inv(to.map(|x| x.owner.hash() - empty_owner_hash())),
                )?;
                let e5 = a(&mut region, "enc 5", 6, 1, field(5))?;
                let e6 = a(&mut region, "enc 6", 7, 1, field(6))?;
                let e7 = a(&mut region, "enc 7", 8, 1, field(7))?;
                Ok(SlotCells {
                    flag,
                    encoding: [kind, from_id, enc_nonce, to_id, amount, e5, e6, e7],
                    nonce,
                    nonce_new,
                    from_bal,
                    from_bal_new,
                    to_bal,
                    to_bal_new,
                    to_owner,
                })
            },
        )?;
        let [_, from_id, _, to_id, amount, ..] = &cells.encoding;

        // Every amount, and every value unpacked from a leaf, is below 2^64.
        for (name, cell) in [
            ("amount", amount),
            ("nonce", &cells.nonce),
            ("nonce_new", &cells.nonce_new),
            ("from balance", &cells.from_bal),
            ("from balance_new", &cells.from_bal_new),
            ("to balance", &cells.to_bal),
            ("to balance_new", &cells.to_bal_new),
        ] {
            base.range64(
                layouter.namespace(|| format!("{name} < 2^64")),
                cell.clone(),
            )?;
        }

        // The payer signed the message (its key from its owner record); the message
        // extends the data hash.
        let signed = base.signed(
            layouter.namespace(|| "payer signs"),
            &cells.flag,
            &cells.encoding,
            from.map(|a| &a.owner),
            slot.map(|s| s.signature),
            data,
        )?;

        // The payer's and payee's unchanged fields: energy, rider words; the payee's nonce.
        let [from_energy, from_rider_a, from_rider_b, to_nonce, to_energy, to_rider_a, to_rider_b] =
            base.witness(
                layouter.namespace(|| "unchanged fields"),
                "unchanged field",
                [
                    from.map(|a| Fp::from(a.energy)),
                    from.map(|a| rider_words(a)[0]),
                    from.map(|a| rider_words(a)[1]),
                    to.map(|a| Fp::from(a.nonce)),
                    to.map(|a| Fp::from(a.energy)),
                    to.map(|a| rider_words(a)[0]),
                    to.map(|a| rider_words(a)[1]),
                ],
            )?;
        for (name, cell) in [
            ("payer energy", &from_energy),
            ("payee nonce", &to_nonce),
            ("payee energy", &to_energy),
        ] {
            base.range64(
                layouter.namespace(|| format!("{name} < 2^64")),
                cell.clone(),
            )?;
        }

        let (from_money_old, from_money_new) = base.money_words(
            layouter.namespace(|| "payer money"),
            &cells.nonce,
            &cells.nonce_new,
            &cells.from_bal,
            &cells.from_bal_new,
            &from_energy,
            &from_energy,
        )?;
        let root_mid = base.account_update(
            layouter.namespace(|| "payer leaf"),
            from_id,
            slot.map(|s| &s.from.path),
            AccountWords {
                owner: signed.owner.clone(),
                money: from_money_old,
                rider_a: from_rider_a.clone(),
                rider_b: from_rider_b.clone(),
            },
            AccountWords {
                owner: signed.owner,
                money: from_money_new,
                rider_a: from_rider_a,
                rider_b: from_rider_b,
            },
            &accounts_root,
        )?;

        // The payee: its leaf before and after, in the tree after the payer's update.
        let (to_money_old, to_money_new) = base.money_words(
            layouter.namespace(|| "payee money"),
            &to_nonce,
            &to_nonce,
            &cells.to_bal,
            &cells.to_bal_new,
            &to_energy,
            &to_energy,
        )?;
        let root_after = base.account_update(
            layouter.namespace(|| "payee leaf"),
            to_id,
            slot.map(|s| &s.to.path),
            AccountWords {
                owner: cells.to_owner.clone(),
                money: to_money_old,
                rider_a: to_rider_a.clone(),
                rider_b: to_rider_b.clone(),
            },
            AccountWords {
                owner: cells.to_owner,
                money: to_money_new,
                rider_a: to_rider_a,
                rider_b: to_rider_b,
            },
            &root_mid,
        )?;
        Ok((root_after, signed.data))
    }
}

/// The cells of a slot's rule region that later blocks use.
struct SlotCells {
    flag: Cell,
    /// The eight encoding fields: kind, from, nonce, to, amount, three unused.
    encoding: [Cell; 8],
    nonce: Cell,
    nonce_new: Cell,
    from_bal: Cell,
    from_bal_new: Cell,
    to_bal: Cell,
    to_bal_new: Cell,
    to_owner: Cell,
}

const _: () = assert!(TX_FIELDS == 8);
