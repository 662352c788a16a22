//! The chunk statement: a chunk of `C` transaction slots takes the state from `root_old` to
//! `root_new`, and its transaction data hashes to `data_hash`.
//!
//! Public inputs ([`Instance`]): `root_old`, `root_new`, `data_hash`. Consecutive chunks chain
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

pub mod merkle;
pub mod proof;
pub mod witness;

use halo2_gadgets::poseidon::{primitives::P128Pow5T3, Pow5Chip, Pow5Config};
use halo2_gadgets::utilities::lookup_range_check::{
    LookupRangeCheck, PallasLookupRangeCheckConfig,
};

use crate::schnorr::{self, SchnorrConfig};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, SimpleFloorPlanner, Value},
    plonk::{
        Advice, Circuit, Column, ConstraintSystem, Constraints, Error, Expression, Fixed,
        Instance as InstanceColumn, Selector,
    },
    poly::Rotation,
};

use ff::Field;

use crate::constants::{domain, ACCOUNTS_DEPTH, TX_FIELDS};
use crate::hash::{node, tag, Fp};
use crate::records::Owner;
use crate::tx::kind;
use merkle::{hash, Cell, MerkleUpdateChip, MerkleUpdateConfig};
use witness::{ChunkWitness, SlotWitness};

/// Offset of `root_old` in the instance column.
pub const ROOT_OLD: usize = 0;
/// Offset of `root_new`.
pub const ROOT_NEW: usize = 1;
/// Offset of `data_hash`.
pub const DATA_HASH: usize = 2;

/// Bits of one lookup word of the range-check table.
const LOOKUP_BITS: usize = 10;

/// Rows one transfer slot uses (pinned by a test: a change of layout is deliberate).
pub const ROWS_PER_SLOT: usize = 2_599;
/// Rows used once per chunk: the two state-root hashes and the data-hash start.
pub const ROWS_FIXED: usize = 476;
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
}

impl Instance {
    /// The public inputs of a chunk from `root_old` to `root_new` over data hashing to
    /// `data_hash`.
    pub fn new(root_old: Fp, root_new: Fp, data_hash: Fp) -> Self {
        Instance {
            root_old,
            root_new,
            data_hash,
        }
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
        let mut column = vec![Fp::zero(); 3];
        column[ROOT_OLD] = self.root_old;
        column[ROOT_NEW] = self.root_new;
        column[DATA_HASH] = self.data_hash;
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

/// The circuit's columns and chips.
///
/// Column sharing: ten advice columns. Poseidon chip A uses advice 0–3 (state and partial
/// S-box) with the fixed columns `fixed[2..8]` for its round constants; chip B uses advice
/// 4–7 with fixed columns of its own, so that the two hash side by side (old and new
/// paths). The Merkle swap gates sit on their chip's columns. Advice 9 is the lookup
/// range check's running sum. The slot's rule gates ("transfer", "money word") span the
/// advice columns in short regions. `fixed[0]` holds constants.
#[derive(Clone, Debug)]
pub struct ChunkConfig {
    advice: [Column<Advice>; 10],
    instance: Column<InstanceColumn>,
    poseidon_a: Pow5Config<Fp, 3, 2>,
    poseidon_b: Pow5Config<Fp, 3, 2>,
    merkle: MerkleUpdateConfig,
    schnorr: SchnorrConfig,
    q_money: Selector,
    q_transfer: Selector,
    q_signature: Selector,
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
        let advice: [Column<Advice>; 10] = std::array::from_fn(|_| meta.advice_column());
        let fixed: [Column<Fixed>; 8] = std::array::from_fn(|_| meta.fixed_column());
        let fixed_b: [Column<Fixed>; 6] = std::array::from_fn(|_| meta.fixed_column());
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        meta.enable_constant(fixed[0]);
        for col in advice {
            meta.enable_equality(col);
        }

        let poseidon_a = Pow5Chip::configure::<P128Pow5T3>(
            meta,
            [advice[0], advice[1], advice[2]],
            advice[3],
            [fixed[2], fixed[3], fixed[4]],
            [fixed[5], fixed[6], fixed[7]],
        );
        let poseidon_b = Pow5Chip::configure::<P128Pow5T3>(
            meta,
            [advice[4], advice[5], advice[6]],
            advice[7],
            [fixed_b[0], fixed_b[1], fixed_b[2]],
            [fixed_b[3], fixed_b[4], fixed_b[5]],
        );
        let merkle = MerkleUpdateChip::configure(
            meta,
            [advice[0], advice[1], advice[2], advice[3]],
            [advice[4], advice[5], advice[6], advice[7]],
            poseidon_a.clone(),
            poseidon_b.clone(),
        );
        // The ECC chip (signatures) and its 10-bit lookup range check, which the amounts'
        // range checks share.
        let table_idx = meta.lookup_table_column();
        let schnorr = SchnorrConfig::configure(meta, advice, fixed, fixed[0], table_idx);

        // A transfer's signature holds; padding carries none:
        //
        // | a0   | a1      | a2      | a3           | a4           |
        // | flag | (s·G).x | (s·G).y | (R + c·PK).x | (R + c·PK).y |
        let q_signature = meta.selector();
        meta.create_gate("flag * (s·G - (R + c·PK)) = 0", |meta| {
            let q = meta.query_selector(q_signature);
            let [flag, lx, ly, rx, ry] =
                [0, 1, 2, 3, 4].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            Constraints::with_selector(
                q,
                [
                    (
                        "flag * ((s·G).x - (R + c·PK).x) = 0",
                        flag.clone() * (lx - rx),
                    ),
                    ("flag * ((s·G).y - (R + c·PK).y) = 0", flag * (ly - ry)),
                ],
            )
        });

        // money = nonce + 2^64 balance + 2^128 energy
        //
        // | a0    | a1      | a2     | a3    |
        // | nonce | balance | energy | money |
        let q_money = meta.selector();
        meta.create_gate("money = nonce + 2^64 balance + 2^128 energy", |meta| {
            let q = meta.query_selector(q_money);
            let [nonce, balance, energy, money] =
                [0, 1, 2, 3].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            let two64 = Fp::from(2).pow([64]);
            let two128 = two64.square();
            Constraints::with_selector(
                q,
                [(
                    "money = nonce + 2^64 balance + 2^128 energy",
                    money - nonce - balance * two64 - energy * two128,
                )],
            )
        });

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

        ChunkConfig {
            advice,
            instance,
            poseidon_a,
            poseidon_b,
            merkle,
            schnorr,
            q_money,
            q_transfer,
            q_signature,
        }
    }

    fn synthesize(
        &self,
        config: ChunkConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        config.schnorr.load_range_check_table(&mut layouter)?;
        let w = match &self.witness {
            Some(w) => Value::known(w),
            None => Value::unknown(),
        };
        let merkle = MerkleUpdateChip::construct(config.merkle.clone());

        // root_old = Poseidon(STATE, tree roots, counters): open the header.
        let header_old = w.map(|w| &w.header_old);
        let header_cells = layouter.assign_region(
            || "state header",
            |mut region| {
                let mut cells = Vec::new();
                let values: Value<Vec<Fp>> = header_old.map(|h| {
                    let mut v = h.roots.to_vec();
                    v.extend(h.counters.words());
                    v
                });
                for i in 0..11 {
                    let value = values.as_ref().map(|v| v[i]);
                    cells.push(region.assign_advice(
                        || format!("header {i}"),
                        config.advice[i % 8],
                        i / 8,
                        || value,
                    )?);
                }
                Ok(cells)
            },
        )?;
        let root_old = state_root(
            &config,
            &config.poseidon_a,
            layouter.namespace(|| "root_old"),
            &header_cells,
        )?;
        layouter.constrain_instance(root_old.cell(), config.instance, ROOT_OLD)?;

        let mut accounts_root = header_cells[0].clone();
        let mut data = constant(
            &config,
            layouter.namespace(|| "data hash start"),
            tag(domain::TX_DATA),
        )?;
        for i in 0..self.slots {
            let slot = w.map(|w| &w.slots[i]);
            let (root, h) = self.slot(
                &config,
                &merkle,
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
        let root_new = state_root(
            &config,
            &config.poseidon_b,
            layouter.namespace(|| "root_new"),
            &header_new,
        )?;
        layouter.constrain_instance(root_new.cell(), config.instance, ROOT_NEW)?;
        layouter.constrain_instance(data.cell(), config.instance, DATA_HASH)?;
        Ok(())
    }
}

impl ChunkCircuit {
    /// One slot: a transfer or padding. Returns the accounts root and data hash after it.
    fn slot(
        &self,
        config: &ChunkConfig,
        merkle: &MerkleUpdateChip,
        mut layouter: impl Layouter<Fp>,
        slot: Value<&SlotWitness>,
        accounts_root: AssignedCell<Fp, Fp>,
        data: AssignedCell<Fp, Fp>,
    ) -> Result<(Cell, Cell), Error> {
        let adv = &config.advice;
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
                    kind,
                    from_id,
                    enc_nonce,
                    to_id,
                    amount,
                    e5,
                    e6,
                    e7,
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

        // Every amount, and every value unpacked from a leaf, is below 2^64.
        for (name, cell) in [
            ("amount", &cells.amount),
            ("nonce", &cells.nonce),
            ("nonce_new", &cells.nonce_new),
            ("from balance", &cells.from_bal),
            ("from balance_new", &cells.from_bal_new),
            ("to balance", &cells.to_bal),
            ("to balance_new", &cells.to_bal_new),
        ] {
            range64(
                &config.schnorr.range_check(),
                layouter.namespace(|| format!("{name} < 2^64")),
                cell.clone(),
            )?;
        }

        // The payer's owner record (its key), hashed on chip B while chip A hashes the message.
        let owner_fields = from.map(|a| owner_fields(&a.owner));
        let owner_cells = layouter.assign_region(
            || "payer owner record",
            |mut region| {
                (0..5)
                    .map(|i| {
                        region.assign_advice(
                            || "owner field",
                            adv[4 + i],
                            0,
                            || owner_fields.map(|f| f[i]),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            },
        )?;
        let tag_owner = constant(config, layouter.namespace(|| "OWNER"), tag(domain::OWNER))?;
        let from_owner = hash(
            &config.poseidon_b,
            layouter.namespace(|| "payer owner hash"),
            [
                tag_owner,
                owner_cells[0].clone(),
                owner_cells[1].clone(),
                owner_cells[2].clone(),
                owner_cells[3].clone(),
                owner_cells[4].clone(),
            ],
        )?;
        // The message signed: Poseidon(TX_MESSAGE, encoding); it extends the data hash.
        let tag_msg = constant(
            config,
            layouter.namespace(|| "TX_MESSAGE"),
            tag(domain::TX_MESSAGE),
        )?;
        let message = hash(
            &config.poseidon_a,
            layouter.namespace(|| "message"),
            [
                tag_msg,
                cells.kind.clone(),
                cells.from_id.clone(),
                cells.enc_nonce.clone(),
                cells.to_id.clone(),
                cells.amount.clone(),
                cells.e5.clone(),
                cells.e6.clone(),
                cells.e7.clone(),
            ],
        )?;
        let data = hash(
            &config.poseidon_a,
            layouter.namespace(|| "data hash"),
            [data, message.clone()],
        )?;

        // The payer signed the message: s·G = R + c·PK with c = Poseidon(SIGNATURE, R, PK, m),
        // PK the key in the payer's owner record (padding: the check is computed, not
        // enforced).
        let ecc = config.schnorr.ecc_chip();
        let pk = schnorr::witness_point(
            &ecc,
            layouter.namespace(|| "PK"),
            from.map(|a| a.owner.public_key.map_or(generator(), |pk| pk.point())),
        )?;
        let (pk_x, pk_y) = schnorr::coordinates(&pk);
        layouter.assign_region(
            || "PK is the payer's key",
            |mut region| {
                region.constrain_equal(pk_x.cell(), owner_cells[0].cell())?;
                region.constrain_equal(pk_y.cell(), owner_cells[1].cell())
            },
        )?;
        let sig = slot.map(|s| s.signature);
        let r = schnorr::witness_point(&ecc, layouter.namespace(|| "R"), sig.map(|s| s.r))?;
        let (r_x, r_y) = schnorr::coordinates(&r);
        let tag_sig = constant(
            config,
            layouter.namespace(|| "SIGNATURE"),
            tag(domain::SIGNATURE),
        )?;
        let challenge = hash(
            &config.poseidon_b,
            layouter.namespace(|| "challenge"),
            [tag_sig, r_x, r_y, pk_x, pk_y, message],
        )?;
        let (s_g, rhs) = schnorr::signature_sides(
            &ecc,
            layouter.namespace(|| "signature"),
            &pk,
            &r,
            challenge,
            sig.map(|s| s.s),
        )?;
        layouter.assign_region(
            || "signature holds for a transfer",
            |mut region| {
                config.q_signature.enable(&mut region, 0)?;
                cells.flag.copy_advice(|| "flag", &mut region, adv[0], 0)?;
                s_g.inner()
                    .x()
                    .copy_advice(|| "(s·G).x", &mut region, adv[1], 0)?;
                s_g.inner()
                    .y()
                    .copy_advice(|| "(s·G).y", &mut region, adv[2], 0)?;
                rhs.inner()
                    .x()
                    .copy_advice(|| "(R + c·PK).x", &mut region, adv[3], 0)?;
                rhs.inner()
                    .y()
                    .copy_advice(|| "(R + c·PK).y", &mut region, adv[4], 0)?;
                Ok(())
            },
        )?;

        let from_energy = from.map(|a| Fp::from(a.energy));
        let (from_money_old, from_money_new) = self.money_words(
            config,
            layouter.namespace(|| "payer money"),
            &cells.nonce,
            &cells.nonce_new,
            &cells.from_bal,
            &cells.from_bal_new,
            from_energy,
        )?;
        let from_rider = from.map(rider_words);
        let root_mid = self.account_update(
            config,
            merkle,
            layouter.namespace(|| "payer leaf"),
            &cells.from_id,
            slot.map(|s| &s.from.path),
            from_owner,
            from_money_old,
            from_money_new,
            from_rider,
            accounts_root,
        )?;

        // The payee: its leaf before and after, in the tree after the payer's update.
        let to_energy = to.map(|a| Fp::from(a.energy));
        let to_nonce = layouter.assign_region(
            || "payee nonce",
            |mut region| {
                region.assign_advice(
                    || "payee nonce",
                    adv[0],
                    0,
                    || to.map(|a| Fp::from(a.nonce)),
                )
            },
        )?;
        range64(
            &config.schnorr.range_check(),
            layouter.namespace(|| "payee nonce < 2^64"),
            to_nonce.clone(),
        )?;
        let (to_money_old, to_money_new) = self.money_words(
            config,
            layouter.namespace(|| "payee money"),
            &to_nonce,
            &to_nonce,
            &cells.to_bal,
            &cells.to_bal_new,
            to_energy,
        )?;
        let to_rider = to.map(rider_words);
        let root_after = self.account_update(
            config,
            merkle,
            layouter.namespace(|| "payee leaf"),
            &cells.to_id,
            slot.map(|s| &s.to.path),
            cells.to_owner.clone(),
            to_money_old,
            to_money_new,
            to_rider,
            root_mid,
        )?;
        let _ = &cells.kind;
        Ok((root_after, data))
    }

    /// The packed money words before and after; range-checks the energy (unchanged).
    #[allow(clippy::too_many_arguments)]
    fn money_words(
        &self,
        config: &ChunkConfig,
        mut layouter: impl Layouter<Fp>,
        nonce: &AssignedCell<Fp, Fp>,
        nonce_new: &AssignedCell<Fp, Fp>,
        balance: &AssignedCell<Fp, Fp>,
        balance_new: &AssignedCell<Fp, Fp>,
        energy: Value<Fp>,
    ) -> Result<(Cell, Cell), Error> {
        let adv = &config.advice;
        let two64 = Fp::from(2).pow([64]);
        let two128 = two64.square();
        let (old, new, energy) = layouter.assign_region(
            || "money words",
            |mut region| {
                config.q_money.enable(&mut region, 0)?;
                config.q_money.enable(&mut region, 1)?;
                let n = nonce.copy_advice(|| "nonce", &mut region, adv[0], 0)?;
                let b = balance.copy_advice(|| "balance", &mut region, adv[1], 0)?;
                let e = region.assign_advice(|| "energy", adv[2], 0, || energy)?;
                let old = region.assign_advice(
                    || "money",
                    adv[3],
                    0,
                    || {
                        n.value().copied()
                            + b.value().map(|b| *b * two64)
                            + e.value().map(|e| *e * two128)
                    },
                )?;
                let n2 = nonce_new.copy_advice(|| "nonce_new", &mut region, adv[0], 1)?;
                let b2 = balance_new.copy_advice(|| "balance_new", &mut region, adv[1], 1)?;
                e.copy_advice(|| "energy", &mut region, adv[2], 1)?;
                let new = region.assign_advice(
                    || "money_new",
                    adv[3],
                    1,
                    || {
                        n2.value().copied()
                            + b2.value().map(|b| *b * two64)
                            + e.value().map(|e| *e * two128)
                    },
                )?;
                Ok((old, new, e))
            },
        )?;
        range64(
            &config.schnorr.range_check(),
            layouter.namespace(|| "energy < 2^64"),
            energy,
        )?;
        Ok((old, new))
    }

    /// Hashes an account's leaf before and after (same owner and rider words, money words
    /// changed) and runs its Merkle update; returns the accounts root after it, having
    /// constrained the root before it to `root_before`.
    #[allow(clippy::too_many_arguments)]
    fn account_update(
        &self,
        config: &ChunkConfig,
        merkle: &MerkleUpdateChip,
        mut layouter: impl Layouter<Fp>,
        index: &AssignedCell<Fp, Fp>,
        path: Value<&crate::merkle::MerklePath>,
        owner: AssignedCell<Fp, Fp>,
        money_old: AssignedCell<Fp, Fp>,
        money_new: AssignedCell<Fp, Fp>,
        rider: Value<[Fp; 2]>,
        root_before: AssignedCell<Fp, Fp>,
    ) -> Result<AssignedCell<Fp, Fp>, Error> {
        let adv = &config.advice;
        let (rider_a, rider_b) = layouter.assign_region(
            || "rider words",
            |mut region| {
                let a = region.assign_advice(|| "rider a", adv[0], 0, || rider.map(|r| r[0]))?;
                let b = region.assign_advice(|| "rider b", adv[1], 0, || rider.map(|r| r[1]))?;
                Ok((a, b))
            },
        )?;
        let tag_a = constant(
            config,
            layouter.namespace(|| "ACCOUNT"),
            tag(domain::ACCOUNT),
        )?;
        let leaf_old = hash(
            &config.poseidon_a,
            layouter.namespace(|| "leaf old"),
            [
                tag_a.clone(),
                owner.clone(),
                money_old,
                rider_a.clone(),
                rider_b.clone(),
            ],
        )?;
        let leaf_new = hash(
            &config.poseidon_b,
            layouter.namespace(|| "leaf new"),
            [tag_a, owner, money_new, rider_a, rider_b],
        )?;
        let (old_root, new_root) = merkle.update(
            layouter.namespace(|| "path"),
            index,
            path,
            ACCOUNTS_DEPTH,
            leaf_old,
            leaf_new,
        )?;
        layouter.assign_region(
            || "root before = running accounts root",
            |mut region| region.constrain_equal(old_root.cell(), root_before.cell()),
        )?;
        Ok(new_root)
    }
}

/// The cells of a slot's rule region that later blocks use.
struct SlotCells {
    flag: AssignedCell<Fp, Fp>,
    kind: AssignedCell<Fp, Fp>,
    from_id: AssignedCell<Fp, Fp>,
    enc_nonce: AssignedCell<Fp, Fp>,
    to_id: AssignedCell<Fp, Fp>,
    amount: AssignedCell<Fp, Fp>,
    e5: AssignedCell<Fp, Fp>,
    e6: AssignedCell<Fp, Fp>,
    e7: AssignedCell<Fp, Fp>,
    nonce: AssignedCell<Fp, Fp>,
    nonce_new: AssignedCell<Fp, Fp>,
    from_bal: AssignedCell<Fp, Fp>,
    from_bal_new: AssignedCell<Fp, Fp>,
    to_bal: AssignedCell<Fp, Fp>,
    to_bal_new: AssignedCell<Fp, Fp>,
    to_owner: AssignedCell<Fp, Fp>,
}

/// The five fields under `Owner::hash`'s tag.
fn owner_fields(owner: &Owner) -> [Fp; 5] {
    let (x, y) = owner
        .public_key
        .map(|pk| pk.coordinates())
        .unwrap_or((Fp::zero(), Fp::zero()));
    let fares = owner.fares.unwrap_or_default();
    [
        x,
        y,
        crate::hash::pack(&[
            owner.delegate.map_or(0, |d| d + 1),
            u64::from(owner.fares.is_some()),
        ]),
        crate::hash::pack(&fares[..2]),
        crate::hash::pack(&fares[2..]),
    ]
}

/// The generator: the `R` and key a padding slot witnesses (any valid point would do).
pub(crate) fn generator() -> pasta_curves::pallas::Affine {
    use group::{Curve, Group};
    pasta_curves::pallas::Point::generator().to_affine()
}

/// The two packed rider words of an account leaf.
fn rider_words(account: &crate::records::Account) -> [Fp; 2] {
    let r = &account.rider;
    [
        crate::hash::pack(&[r.journey_start, r.cap_start, r.last_tap]),
        crate::hash::pack(&[r.cap_spent, r.transfers, r.concession]),
    ]
}

/// `Poseidon(STATE, header)` over the eleven header cells, on one chip.
fn state_root(
    config: &ChunkConfig,
    chip: &Pow5Config<Fp, 3, 2>,
    mut layouter: impl Layouter<Fp>,
    header: &[AssignedCell<Fp, Fp>],
) -> Result<AssignedCell<Fp, Fp>, Error> {
    let tag_cell = constant(config, layouter.namespace(|| "STATE"), tag(domain::STATE))?;
    let h = header;
    hash(
        chip,
        layouter.namespace(|| "state root"),
        [
            tag_cell,
            h[0].clone(),
            h[1].clone(),
            h[2].clone(),
            h[3].clone(),
            h[4].clone(),
            h[5].clone(),
            h[6].clone(),
            h[7].clone(),
            h[8].clone(),
            h[9].clone(),
            h[10].clone(),
        ],
    )
}

/// A constant (a domain tag) assigned in a cell fixed by the constants column.
fn constant(
    config: &ChunkConfig,
    mut layouter: impl Layouter<Fp>,
    value: Fp,
) -> Result<AssignedCell<Fp, Fp>, Error> {
    layouter.assign_region(
        || "constant",
        |mut region| region.assign_advice_from_constant(|| "constant", config.advice[8], 0, value),
    )
}

/// Constrains `cell < 2^64`: six 10-bit lookup words, then the top four bits.
fn range64(
    range: &PallasLookupRangeCheckConfig,
    mut layouter: impl Layouter<Fp>,
    cell: AssignedCell<Fp, Fp>,
) -> Result<(), Error> {
    let zs = range.copy_check(layouter.namespace(|| "60 bits"), cell, 6, false)?;
    range.copy_short_check(
        layouter.namespace(|| "top 4 bits"),
        zs[6].clone(),
        64 - 6 * LOOKUP_BITS,
    )
}

const _: () = assert!(TX_FIELDS == 8);
