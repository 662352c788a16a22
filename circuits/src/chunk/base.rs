//! The blocks every chunk circuit shares, whatever kinds its slots prove: the columns and
//! chips, the state header and its root, the running roots and counters, the message and data
//! hash of a slot, owner records and the signer's key exposed, 64-bit range checks, packed words, and the
//! two kinds of leaf update ("touches"): an account's, and a leaf of any other tree.
//!
//! A family's circuit (`accounts.rs`, `registry.rs`, `market.rs`, `governance.rs`) configures
//! a [`Base`] and adds its own rule gates on the same columns ([`super::grid`]).

use ff::Field;
use halo2_gadgets::utilities::lookup_range_check::{
    LookupRangeCheck, PallasLookupRangeCheckConfig,
};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Value},
    plonk::{
        Advice, Column, ConstraintSystem, Error, Expression, Fixed, Instance as InstanceColumn,
        Selector, TableColumn,
    },
    poly::Rotation,
};

use super::merkle::{Cell, Level, MerkleUpdateChip, MerkleUpdateConfig};
use super::{signer_offset, CHAIN, LOOKUP_BITS, NOW, PARAMS, PARAM_COUNT};
use crate::constants::{domain, ACCOUNTS_DEPTH};
use crate::hash::{tag, Fp};
use crate::merkle::MerklePath;
use crate::poseidon::{PoseidonConfig, FIXED};
use crate::records::{Account, Owner};
use crate::state::{Params, StateHeader, TreeId};

/// `2^64`, the base of packed words.
pub(crate) fn two64() -> Fp {
    Fp::from(2).pow([64])
}

/// The shared columns, chips and gates.
///
/// Column sharing: ten advice columns. The Poseidon chip ([`crate::poseidon`]) uses all ten
/// at width 5 (every hash; the trees' nodes in [`super::merkle`] with a swap row above each
/// permutation), with eleven fixed columns for its round constants:
/// `fixed[1..8]` and four of their own. Advice 9 is the lookup range
/// check's running sum. Rule gates span the advice columns in two-row
/// regions (rotations 0 and 1 only, which the chips query already, so rules add no openings
/// to the proof). `fixed[0]` holds constants.
#[derive(Clone, Debug)]
pub(crate) struct Base {
    pub(crate) advice: [Column<Advice>; 10],
    pub(crate) instance: Column<InstanceColumn>,
    /// The one hash chip (width 5): records, messages, the data hash chain, the state root,
    /// and the trees' nodes inside [`Base::merkle`].
    pub(crate) poseidon: PoseidonConfig<5>,
    pub(crate) merkle: MerkleUpdateConfig,
    /// The 10-bit lookup range check (running sum in advice 9) and its table.
    range: PallasLookupRangeCheckConfig,
    /// The top four bits of a 64-bit range check, as bits beside its last running sum.
    q_top: Selector,
    table_idx: TableColumn,
    q_pack: Selector,
    q_signer: Selector,
    q_select: Selector,
    q_tag: Selector,
    q_raw_leaf: Selector,
    q_time: Selector,
}

/// What a chunk carries from slot to slot: the eight tree roots, the seven counters
/// (unpacked and range-checked once per chunk), the data hash so far, and the public batch
/// time, deployment and rule parameters.
#[derive(Clone, Debug)]
pub(crate) struct Running {
    /// Tree roots, in [`TreeId::ALL`] order.
    pub(crate) roots: [Cell; 8],
    /// Counters: accounts, meters, orders, fleet, voters, proposals, delegates.
    pub(crate) counters: [Cell; 7],
    /// The data hash after the slots so far.
    pub(crate) data: Cell,
    /// The batch time (public input).
    pub(crate) now: Cell,
    /// The deployment's genesis hash (public input), part of every signed message.
    pub(crate) chain: Cell,
    /// The rule parameters (public inputs): transfer window, max transfers, transfer
    /// discount cap, cap period, fare cap, max tap delay.
    pub(crate) params: [Cell; PARAM_COUNT],
    /// The slot being laid out (its signer's place among the public inputs).
    pub(crate) slot: usize,
}

/// Positions of the counters in [`Running::counters`].
pub(crate) mod counter {
    /// Accounts opened.
    pub(crate) const ACCOUNTS: usize = 0;
    /// Meters registered.
    pub(crate) const METERS: usize = 1;
    /// Orders placed.
    pub(crate) const ORDERS: usize = 2;
    /// Fleet records filed.
    pub(crate) const FLEET: usize = 3;
    /// Voters registered.
    pub(crate) const VOTERS: usize = 4;
    /// Proposals opened.
    pub(crate) const PROPOSALS: usize = 5;
    /// Delegates registered.
    pub(crate) const DELEGATES: usize = 6;
}

/// Positions of the rule parameters in [`Running::params`].
pub(crate) mod param {
    /// Seconds of the transfer window.
    pub(crate) const TRANSFER_WINDOW: usize = 0;
    /// Most transfers in a journey.
    pub(crate) const MAX_TRANSFERS: usize = 1;
    /// Most a transfer discounts, cents.
    pub(crate) const DISCOUNT_CAP: usize = 2;
    /// Seconds of a cap period.
    pub(crate) const CAP_PERIOD: usize = 3;
    /// Most charged in a cap period, cents.
    pub(crate) const FARE_CAP: usize = 4;
    /// Seconds a tap may be older than its batch.
    pub(crate) const TAP_DELAY: usize = 5;
}

/// The values of the running counters, batch time and parameters, for a slot's witness.
#[derive(Clone, Debug)]
pub(crate) struct Env {
    /// The counters, in [`counter`] order.
    pub(crate) counters: [u64; 7],
    /// The batch time.
    pub(crate) now: u64,
    /// The rule parameters.
    pub(crate) params: Params,
}

/// The names a slot's cells of the running counters, time and parameters have
/// ([`Running::named`]); family grids use them and no other cell may.
pub(crate) const RUNNING_NAMES: [&str; 14] = [
    "accounts",
    "meters",
    "orders",
    "fleet",
    "voters",
    "proposals",
    "delegates",
    "now",
    "W",
    "M",
    "D",
    "P",
    "F",
    "T",
];

impl Running {
    /// The root of `tree`.
    pub(crate) fn root(&self, tree: TreeId) -> &Cell {
        &self.roots[tree_position(tree)]
    }

    /// The running cells under their names ([`RUNNING_NAMES`]).
    pub(crate) fn named(&self) -> Vec<(&'static str, Cell)> {
        let cells = self
            .counters
            .iter()
            .chain(std::iter::once(&self.now))
            .chain(self.params.iter());
        RUNNING_NAMES.iter().copied().zip(cells.cloned()).collect()
    }

    /// The values of the counters, time and parameters.
    pub(crate) fn env(&self) -> Value<Env> {
        let all: Vec<&Cell> = self
            .counters
            .iter()
            .chain(std::iter::once(&self.now))
            .chain(self.params.iter())
            .collect();
        all.iter()
            .fold(Value::known(Vec::new()), |acc, c| {
                acc.zip(value(c)).map(|(mut v, x)| {
                    v.push(crate::hash::low_u64(x));
                    v
                })
            })
            .map(|v| Env {
                counters: std::array::from_fn(|i| v[i]),
                now: v[7],
                params: Params {
                    transfer_window: v[8 + param::TRANSFER_WINDOW],
                    max_transfers: v[8 + param::MAX_TRANSFERS],
                    transfer_discount_cap: v[8 + param::DISCOUNT_CAP],
                    cap_period: v[8 + param::CAP_PERIOD],
                    fare_cap: v[8 + param::FARE_CAP],
                    max_tap_delay: v[8 + param::TAP_DELAY],
                },
            })
    }

    /// The counter at `position` ([`counter`]) becomes `cell`.
    pub(crate) fn set_counter(&mut self, position: usize, cell: Cell) {
        self.counters[position] = cell;
    }
}

fn tree_position(tree: TreeId) -> usize {
    TreeId::ALL
        .iter()
        .position(|t| *t == tree)
        .expect("every tree is listed")
}

/// The six values of an account leaf a slot reads or writes: its owner-record hash, the
/// three parts of its money word and its two rider words.
#[derive(Clone, Debug)]
pub(crate) struct AccountCells {
    pub(crate) owner: Cell,
    pub(crate) nonce: Cell,
    pub(crate) balance: Cell,
    pub(crate) energy: Cell,
    pub(crate) rider_a: Cell,
    pub(crate) rider_b: Cell,
}

/// An account leaf after a slot: the money parts that change (`None`: as before).
#[derive(Clone, Debug)]
pub(crate) struct AccountUpdate {
    pub(crate) owner: Cell,
    pub(crate) nonce: Option<Cell>,
    pub(crate) balance: Option<Cell>,
    pub(crate) energy: Option<Cell>,
    pub(crate) rider_a: Cell,
    pub(crate) rider_b: Cell,
}

impl Base {
    /// Allocates the columns and configures the chips and the shared gates.
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fp>) -> Base {
        let advice: [Column<Advice>; 10] = std::array::from_fn(|_| meta.advice_column());
        let fixed: [Column<Fixed>; 8] = std::array::from_fn(|_| meta.fixed_column());
        let own: [Column<Fixed>; 4] = std::array::from_fn(|_| meta.fixed_column());
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        meta.enable_constant(fixed[0]);
        for col in advice {
            meta.enable_equality(col);
        }

        let round_constants: [Column<Fixed>; FIXED] =
            std::array::from_fn(|i| if i < 7 { fixed[1 + i] } else { own[i - 7] });
        let poseidon = PoseidonConfig::<5>::configure(meta, advice, round_constants);
        let merkle = MerkleUpdateChip::configure(meta, poseidon.clone());
        // The 10-bit lookup range check of amounts and unpacked parts.
        let table_idx = meta.lookup_table_column();
        let range = PallasLookupRangeCheckConfig::configure(meta, advice[9], table_idx);

        // The slot's signer, public: whether the slot is signed, and `signed · key`, which the
        // verifier takes as a signature proof's key for the slot's message
        // ([`crate::signatures`]); an unsigned slot (padding, a ballot) exposes `(0, 0, 0)`:
        //
        // | a0     | a1    | a2    | a3         | a4         |
        // | signed | key x | key y | exposed x  | exposed y  |
        let q_signer = crate::selector::selector(meta);
        meta.create_gate("exposed key = signed · signer key", |meta| {
            let q = meta.query_selector(q_signer);
            let [signed, kx, ky, ex, ey] =
                [0, 1, 2, 3, 4].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            crate::selector::gated(
                q,
                [
                    (
                        "exposed key x = signed · signer key x",
                        ex - signed.clone() * kx,
                    ),
                    ("exposed key y = signed · signer key y", ey - signed * ky),
                ],
            )
        });

        // A packed word of three 64-bit parts (`hash::pack`), e.g. an account's money word
        // `nonce + 2^64 balance + 2^128 energy`:
        //
        // | a0 | a1 | a2 | a3   |
        // | p0 | p1 | p2 | word |
        let q_pack = crate::selector::selector(meta);
        meta.create_gate("word = p0 + 2^64 p1 + 2^128 p2", |meta| {
            let q = meta.query_selector(q_pack);
            let [p0, p1, p2, word] =
                [0, 1, 2, 3].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            crate::selector::gated(
                q,
                [(
                    "word = p0 + 2^64 p1 + 2^128 p2",
                    word - p0 - p1 * two64() - p2 * two64().square(),
                )],
            )
        });

        // The tag of a generic touch's leaf: one row per tree it may write, accumulating
        // `tag = Σ flag_T · TAG_T` and `Σ flag_T` (at most one tree is chosen):
        //
        // | a0   | a1    | a2  | a3       | a4   | a5        |
        // | flag | TAG_T | acc | acc_next | sum  | sum_next  |
        let q_tag = crate::selector::selector(meta);
        meta.create_gate("touch tree flags", |meta| {
            let q = meta.query_selector(q_tag);
            let [flag, value, acc, acc_next, sum, sum_next] =
                [0, 1, 2, 3, 4, 5].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            let one = Expression::Constant(Fp::one());
            crate::selector::gated(
                q,
                [
                    (
                        "tree flag is boolean",
                        flag.clone() * (one.clone() - flag.clone()),
                    ),
                    (
                        "tag_next = tag + flag * TAG_T",
                        acc_next - acc - flag.clone() * value,
                    ),
                    ("sum_next = sum + flag", sum_next.clone() - sum - flag),
                    (
                        "at most one tree: sum_next is boolean",
                        sum_next.clone() * (one - sum_next),
                    ),
                ],
            )
        });

        // A voter leaf is the commitment itself, not a hash of it:
        //
        // | a0   | a1   | a2         | a3   |
        // | flag | hash | commitment | leaf |
        let q_raw_leaf = crate::selector::selector(meta);
        meta.create_gate("leaf = hash + voter * (commitment - hash)", |meta| {
            let q = meta.query_selector(q_raw_leaf);
            let [flag, h, raw, leaf] =
                [0, 1, 2, 3].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            crate::selector::gated(
                q,
                [(
                    "leaf = hash + voter * (commitment - hash)",
                    leaf - h.clone() - flag * (raw - h),
                )],
            )
        });

        // The batch time is not before the last batch's (the header's time word part):
        //
        // | a0  | a1   | a2 |
        // | now | last | d  |
        //
        // with `d` range-checked to 64 bits by the caller.
        let q_time = crate::selector::selector(meta);
        meta.create_gate("now = last batch time + d", |meta| {
            let q = meta.query_selector(q_time);
            let [now, last, d] = [0, 1, 2].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            crate::selector::gated(q, [("now = last batch time + d", now - last - d)])
        });

        // A touch writes tree T only when its flag for T is set: the old root computed at
        // T's depth is T's running root, T's root becomes the new one, and the position fits
        // T's depth (the running sum of its bits is 0 at that level):
        //
        // | a0   | a1   | a2         | a3         | a4  | a5        |
        // | flag | root | old at d_T | new at d_T | z_d | root_next |
        let q_select = crate::selector::selector(meta);
        meta.create_gate("touch root select", |meta| {
            let q = meta.query_selector(q_select);
            let [flag, root, old, new, z, next] =
                [0, 1, 2, 3, 4, 5].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            crate::selector::gated(
                q,
                [
                    (
                        "flag * (running root - old root) = 0",
                        flag.clone() * (root.clone() - old),
                    ),
                    (
                        "root_next = root + flag * (new root - root)",
                        next - root.clone() - flag.clone() * (new - root),
                    ),
                    ("flag * z_depth = 0 (position fits the tree)", flag * z),
                ],
            )
        });

        // The top four bits of a 64-bit range check: its running sum's last value `z_6 = v >>
        // 60` (advice 9, unchecked by the lookup) is `b0 + 2 b1 + 4 b2 + 8 b3` with boolean
        // `b_i`, on the check's last row:
        //
        // | a0 | a1 | a2 | a3 | … | a9  |
        // | b0 | b1 | b2 | b3 |   | z_6 |
        let q_top = crate::selector::selector(meta);
        meta.create_gate("z_6 < 2^4", |meta| {
            let q = meta.query_selector(q_top);
            let z6 = meta.query_advice(advice[9], Rotation::cur());
            let bits = [0, 1, 2, 3].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            let sum = bits
                .iter()
                .enumerate()
                .fold(Expression::Constant(Fp::zero()), |acc, (i, b)| {
                    acc + b.clone() * Fp::from(1 << i)
                });
            let one = || Expression::Constant(Fp::one());
            let boolean = |b: &Expression<Fp>| b.clone() * (one() - b.clone());
            crate::selector::gated(
                q,
                [
                    ("z_6 = b0 + 2 b1 + 4 b2 + 8 b3", z6 - sum),
                    ("b0 is boolean", boolean(&bits[0])),
                    ("b1 is boolean", boolean(&bits[1])),
                    ("b2 is boolean", boolean(&bits[2])),
                    ("b3 is boolean", boolean(&bits[3])),
                ],
            )
        });

        Base {
            advice,
            instance,
            poseidon,
            merkle,
            range,
            q_top,
            table_idx,
            q_pack,
            q_signer,
            q_select,
            q_tag,
            q_raw_leaf,
            q_time,
        }
    }

    /// Loads the 10-bit range-check table (once per circuit, first).
    pub(crate) fn load(&self, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
        crate::schnorr::load_range_check_table(layouter, self.table_idx)
    }

    /// The Merkle update chip.
    pub(crate) fn merkle(&self) -> MerkleUpdateChip {
        MerkleUpdateChip::construct(self.merkle.clone())
    }

    /// `Poseidon(inputs)`.
    pub(crate) fn hash<const L: usize>(
        &self,
        layouter: impl Layouter<Fp>,
        inputs: [Cell; L],
    ) -> Result<Cell, Error> {
        self.poseidon.hash(layouter, inputs)
    }

    /// `Poseidon_domain(inputs)`, the domain in the capacity ([`crate::hash::poseidon_in`]).
    pub(crate) fn hash_in<const L: usize>(
        &self,
        layouter: impl Layouter<Fp>,
        domain: u64,
        inputs: [Cell; L],
    ) -> Result<Cell, Error> {
        self.poseidon.hash_in(layouter, domain, inputs)
    }

    /// The domain tag `tag(domain)` in a cell fixed by the constants column.
    pub(crate) fn tag(&self, layouter: impl Layouter<Fp>, domain: u64) -> Result<Cell, Error> {
        self.constant(layouter, tag(domain))
    }

    /// A constant assigned in a cell fixed by the constants column.
    pub(crate) fn constant(
        &self,
        mut layouter: impl Layouter<Fp>,
        value: Fp,
    ) -> Result<Cell, Error> {
        layouter.assign_region(
            || "constant",
            |mut region| {
                region.assign_advice_from_constant(|| "constant", self.advice[8], 0, value)
            },
        )
    }

    /// Witnesses `values` in one row (at most ten), in advice columns `0..values.len()`.
    pub(crate) fn witness<const N: usize>(
        &self,
        mut layouter: impl Layouter<Fp>,
        name: &'static str,
        values: [Value<Fp>; N],
    ) -> Result<[Cell; N], Error> {
        layouter.assign_region(
            || name,
            |mut region| {
                let mut cells = Vec::with_capacity(N);
                for (i, v) in values.iter().enumerate() {
                    cells.push(region.assign_advice(|| name, self.advice[i], 0, || *v)?);
                }
                Ok(cells.try_into().expect("N cells"))
            },
        )
    }

    /// The batch time, the deployment and the rule parameters from the instance column.
    #[allow(clippy::type_complexity)]
    fn public_values(
        &self,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(Cell, Cell, [Cell; PARAM_COUNT]), Error> {
        layouter.assign_region(
            || "batch time, deployment and rule parameters",
            |mut region| {
                let now = region.assign_advice_from_instance(
                    || "now",
                    self.instance,
                    NOW,
                    self.advice[0],
                    0,
                )?;
                let chain = region.assign_advice_from_instance(
                    || "chain",
                    self.instance,
                    CHAIN,
                    self.advice[1],
                    0,
                )?;
                let params = (0..PARAM_COUNT)
                    .map(|i| {
                        region.assign_advice_from_instance(
                            || "rule parameter",
                            self.instance,
                            PARAMS + i,
                            self.advice[2 + i],
                            0,
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((now, chain, params.try_into().expect("every parameter")))
            },
        )
    }

    /// Constrains `now = last + d` with `d` and `now` below 2^64: the batch time is not
    /// before the last batch's.
    fn time_forward(
        &self,
        mut layouter: impl Layouter<Fp>,
        now: &Cell,
        last: &Cell,
    ) -> Result<(), Error> {
        let adv = &self.advice;
        let d = layouter.assign_region(
            || "batch time after the last",
            |mut region| {
                self.q_time.enable(&mut region, 0)?;
                let n = now.copy_advice(|| "now", &mut region, adv[0], 0)?;
                let l = last.copy_advice(|| "last batch time", &mut region, adv[1], 0)?;
                region.assign_advice(|| "d", adv[2], 0, || value(&n) - value(&l))
            },
        )?;
        self.range64(
            layouter.namespace(|| "now - last"),
            "now - last batch time",
            &d,
        )?;
        self.range64(layouter.namespace(|| "now"), "now", now)
    }

    /// Constrains `cell < 2^64`: six 10-bit lookup words, then the top four bits as bits
    /// (gate `z_6 < 2^4`), in seven rows of one region named after `name` (`"{name} <
    /// 2^64"`), so a failing check names its value.
    pub(crate) fn range64(
        &self,
        mut layouter: impl Layouter<Fp>,
        name: &str,
        cell: &Cell,
    ) -> Result<(), Error> {
        const WORDS: usize = 6;
        const TOP_BITS: usize = 64 - WORDS * LOOKUP_BITS;
        let range = self.range;
        let running_sum = self.advice[9];
        layouter.assign_region(
            || format!("{name} < 2^64"),
            |mut region| {
                let z0 = cell.copy_advice(|| "z_0", &mut region, running_sum, 0)?;
                let zs = range.range_check(&mut region, z0, WORDS, false)?;
                self.q_top.enable(&mut region, WORDS)?;
                let top = zs[WORDS].value().copied();
                for i in 0..TOP_BITS {
                    let bit =
                        top.map(|z| Fp::from((ff::PrimeField::to_repr(&z)[0] as u64 >> i) & 1));
                    region.assign_advice(|| format!("b{i}"), self.advice[i], WORDS, || bit)?;
                }
                Ok(())
            },
        )
    }

    /// Range-checks each named cell below 2^64.
    pub(crate) fn range64_all(
        &self,
        mut layouter: impl Layouter<Fp>,
        cells: &[(&str, &Cell)],
    ) -> Result<(), Error> {
        for (name, cell) in cells {
            self.range64(layouter.namespace(|| *name), name, cell)?;
        }
        Ok(())
    }

    /// Constrains `cell < 2^bits` for `bits < 10` (one lookup), in a region named
    /// `"{name} < 2^bits"`.
    pub(crate) fn range_short(
        &self,
        mut layouter: impl Layouter<Fp>,
        name: &str,
        cell: &Cell,
        bits: usize,
    ) -> Result<(), Error> {
        let range = self.range;
        let running_sum = self.advice[9];
        layouter.assign_region(
            || format!("{name} < 2^{bits}"),
            |mut region| {
                let e = cell.copy_advice(|| "element", &mut region, running_sum, 0)?;
                range.short_range_check(&mut region, e, bits)
            },
        )
    }

    /// Constrains `cell < 2^(10 · words)` (whole lookup words, strict), in a region named
    /// `"{name} < 2^(10 words)"`.
    pub(crate) fn range_words(
        &self,
        mut layouter: impl Layouter<Fp>,
        name: &str,
        cell: &Cell,
        words: usize,
    ) -> Result<(), Error> {
        let range = self.range;
        let running_sum = self.advice[9];
        layouter.assign_region(
            || format!("{name} < 2^{}", words * LOOKUP_BITS),
            |mut region| {
                let z0 = cell.copy_advice(|| "z_0", &mut region, running_sum, 0)?;
                range.range_check(&mut region, z0, words, true)
            },
        )?;
        Ok(())
    }

    /// Opens the state header of `header` (eight roots, three counter words), checks that it
    /// hashes to `root_old`, unpacks the counters, and reads the batch time and parameters:
    /// everything a chunk's first slot starts from.
    pub(crate) fn start(
        &self,
        mut layouter: impl Layouter<Fp>,
        header: Value<&StateHeader>,
    ) -> Result<Running, Error> {
        let cells = layouter.assign_region(
            || "state header",
            |mut region| {
                let values: Value<Vec<Fp>> = header.map(|h| {
                    let mut v = h.roots.to_vec();
                    v.extend(h.counters.words());
                    v
                });
                (0..11)
                    .map(|i| {
                        let value = values.as_ref().map(|v| v[i]);
                        region.assign_advice(
                            || format!("header {i}"),
                            self.advice[i % 8],
                            i / 8,
                            || value,
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            },
        )?;
        let root_old = self.state_root(layouter.namespace(|| "root_old"), &cells)?;
        layouter.constrain_instance(root_old.cell(), self.instance, super::ROOT_OLD)?;

        // The counters: 64-bit parts of the three words (the third holds the delegates and
        // the last batch's time).
        let counts = header.map(|h| {
            let c = &h.counters;
            [
                c.accounts,
                c.meters,
                c.orders,
                c.fleet,
                c.voters,
                c.proposals,
                c.delegates,
                c.time,
            ]
            .map(Fp::from)
        });
        let all = self.witness(
            layouter.namespace(|| "counters"),
            "counter",
            std::array::from_fn::<_, 8, _>(|i| counts.map(|c| c[i])),
        )?;
        let [parts @ .., last_time] = all;
        let zero = self.constant(layouter.namespace(|| "zero"), Fp::zero())?;
        for (w, [a, b, c]) in [
            [&parts[0], &parts[1], &parts[2]],
            [&parts[3], &parts[4], &parts[5]],
            [&parts[6], &last_time, &zero],
        ]
        .into_iter()
        .enumerate()
        {
            let word = self.pack(layouter.namespace(|| "counter word"), [a, b, c])?;
            layouter.assign_region(
                || "counter word is the header's",
                |mut region| region.constrain_equal(word.cell(), cells[8 + w].cell()),
            )?;
        }
        let names = [
            "accounts",
            "meters",
            "orders",
            "fleet",
            "voters",
            "proposals",
            "delegates",
        ];
        for (name, cell) in names.iter().zip(parts.iter()) {
            self.range64(
                layouter.namespace(|| *name),
                &format!("counter {name}"),
                cell,
            )?;
        }
        self.range64(
            layouter.namespace(|| "last batch time"),
            "last batch time",
            &last_time,
        )?;
        let (now, chain, params) = self.public_values(layouter.namespace(|| "public values"))?;
        self.time_forward(layouter.namespace(|| "batch time"), &now, &last_time)?;
        let data = self.tag(layouter.namespace(|| "data hash start"), domain::TX_DATA)?;
        Ok(Running {
            roots: std::array::from_fn(|i| cells[i].clone()),
            counters: parts,
            data,
            now,
            chain,
            params,
            slot: 0,
        })
    }

    /// Repacks the counters and the batch time (the header's time becomes `now`), hashes the
    /// header after the chunk into `root_new`, and constrains it and the data hash to the
    /// public inputs.
    pub(crate) fn finish(
        &self,
        mut layouter: impl Layouter<Fp>,
        running: &Running,
    ) -> Result<(), Error> {
        let c = &running.counters;
        let zero = self.constant(layouter.namespace(|| "zero"), Fp::zero())?;
        let words = [
            self.pack(
                layouter.namespace(|| "counter word 0"),
                [&c[0], &c[1], &c[2]],
            )?,
            self.pack(
                layouter.namespace(|| "counter word 1"),
                [&c[3], &c[4], &c[5]],
            )?,
            self.pack(
                layouter.namespace(|| "counter word 2"),
                [&c[6], &running.now, &zero],
            )?,
        ];
        let mut header: Vec<Cell> = running.roots.to_vec();
        header.extend(words);
        let root_new = self.state_root(layouter.namespace(|| "root_new"), &header)?;
        layouter.constrain_instance(root_new.cell(), self.instance, super::ROOT_NEW)?;
        layouter.constrain_instance(running.data.cell(), self.instance, super::DATA_HASH)
    }

    /// `Poseidon_t5(STATE, header)` over the eleven header cells: three permutations (45 rows).
    fn state_root(&self, mut layouter: impl Layouter<Fp>, header: &[Cell]) -> Result<Cell, Error> {
        let t = self.tag(layouter.namespace(|| "STATE"), domain::STATE)?;
        let h = header;
        self.poseidon.hash(
            layouter.namespace(|| "state root"),
            [
                t,
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

    /// The slot's message `Poseidon(TX_MESSAGE, chain, encoding)`, folded into
    /// the data hash (`running.data` moves on). Returns the message, for the signature.
    pub(crate) fn message(
        &self,
        mut layouter: impl Layouter<Fp>,
        encoding: &[Cell; 8],
        running: &mut Running,
    ) -> Result<Cell, Error> {
        let t = self.tag(layouter.namespace(|| "TX_MESSAGE"), domain::TX_MESSAGE)?;
        let e = encoding;
        let message = self.hash(
            layouter.namespace(|| "message"),
            [
                t,
                running.chain.clone(),
                e[0].clone(),
                e[1].clone(),
                e[2].clone(),
                e[3].clone(),
                e[4].clone(),
                e[5].clone(),
                e[6].clone(),
                e[7].clone(),
            ],
        )?;
        running.data = self.hash(
            layouter.namespace(|| "data hash"),
            [running.data.clone(), message.clone()],
        )?;
        Ok(message)
    }

    /// `Owner::hash` of the five owner-record fields, on `chip`.
    pub(crate) fn owner_hash(
        &self,
        mut layouter: impl Layouter<Fp>,
        fields: &[Cell; 5],
    ) -> Result<Cell, Error> {
        let t = self.tag(layouter.namespace(|| "OWNER"), domain::OWNER)?;
        let f = fields;
        self.hash(
            layouter.namespace(|| "owner hash"),
            [
                t,
                f[0].clone(),
                f[1].clone(),
                f[2].clone(),
                f[3].clone(),
                f[4].clone(),
            ],
        )
    }

    /// Exposes the slot's signer: `signed` and `signed · (key_x, key_y)` at the slot's
    /// offset of the instance column ([`signer_offset`]). The signature itself is proven
    /// by a signature proof whose public key and message the verifier matches to these
    /// ([`crate::signatures`]).
    pub(crate) fn signer(
        &self,
        mut layouter: impl Layouter<Fp>,
        slot: usize,
        signed: &Cell,
        key_x: &Cell,
        key_y: &Cell,
    ) -> Result<(), Error> {
        let adv = &self.advice;
        let cells = layouter.assign_region(
            || "signer exposed",
            |mut region| {
                self.q_signer.enable(&mut region, 0)?;
                let s = signed.copy_advice(|| "signed", &mut region, adv[0], 0)?;
                let kx = key_x.copy_advice(|| "signer key x", &mut region, adv[1], 0)?;
                let ky = key_y.copy_advice(|| "signer key y", &mut region, adv[2], 0)?;
                let ex = region.assign_advice(
                    || "exposed key x",
                    adv[3],
                    0,
                    || value(&s) * value(&kx),
                )?;
                let ey = region.assign_advice(
                    || "exposed key y",
                    adv[4],
                    0,
                    || value(&s) * value(&ky),
                )?;
                Ok([s, ex, ey])
            },
        )?;
        let at = signer_offset(slot);
        for (i, cell) in cells.iter().enumerate() {
            layouter.constrain_instance(cell.cell(), self.instance, at + i)?;
        }
        Ok(())
    }

    /// The packed word `p0 + 2^64 p1 + 2^128 p2` of three cells (the caller range-checks
    /// the parts: the packing is unique only for parts below 2^64).
    pub(crate) fn pack(
        &self,
        mut layouter: impl Layouter<Fp>,
        parts: [&Cell; 3],
    ) -> Result<Cell, Error> {
        let adv = &self.advice;
        layouter.assign_region(
            || "packed word",
            |mut region| {
                self.q_pack.enable(&mut region, 0)?;
                let p: Vec<Cell> = parts
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c.copy_advice(|| "part", &mut region, adv[i], 0))
                    .collect::<Result<_, _>>()?;
                region.assign_advice(
                    || "word",
                    adv[3],
                    0,
                    || {
                        value(&p[0])
                            + value(&p[1]).map(|v| v * two64())
                            + value(&p[2]).map(|v| v * two64().square())
                    },
                )
            },
        )
    }

    /// Constrains `word` to be the packing of `parts` (which the caller range-checks).
    pub(crate) fn unpack(
        &self,
        mut layouter: impl Layouter<Fp>,
        word: &Cell,
        parts: [&Cell; 3],
    ) -> Result<(), Error> {
        let packed = self.pack(layouter.namespace(|| "unpack"), parts)?;
        layouter.assign_region(
            || "word = its parts",
            |mut region| region.constrain_equal(packed.cell(), word.cell()),
        )
    }

    /// One account leaf's update: range-checks the money parts (new ones only where they
    /// change), packs the money words, hashes the leaf before and after,
    /// and runs the Merkle pass. When `enabled` is 1 the old root is the
    /// running accounts root and the accounts root becomes the new one; when 0 nothing
    /// changes and nothing is checked of the leaf (a slot whose kind writes no such account).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn account_touch(
        &self,
        mut layouter: impl Layouter<Fp>,
        enabled: &Cell,
        index: &Cell,
        path: Value<&MerklePath>,
        old: &AccountCells,
        new: &AccountUpdate,
        running: &mut Running,
    ) -> Result<(), Error> {
        let nonce_new = new.nonce.as_ref().unwrap_or(&old.nonce);
        let balance_new = new.balance.as_ref().unwrap_or(&old.balance);
        let energy_new = new.energy.as_ref().unwrap_or(&old.energy);
        let mut checks = vec![
            ("nonce", &old.nonce),
            ("balance", &old.balance),
            ("energy", &old.energy),
        ];
        for (name, changed) in [
            ("nonce_new", &new.nonce),
            ("balance_new", &new.balance),
            ("energy_new", &new.energy),
        ] {
            if let Some(cell) = changed {
                checks.push((name, cell));
            }
        }
        self.range64_all(layouter.namespace(|| "money parts"), &checks)?;
        let money_old = self.pack(
            layouter.namespace(|| "money"),
            [&old.nonce, &old.balance, &old.energy],
        )?;
        let money_new = if new.nonce.is_none() && new.balance.is_none() && new.energy.is_none() {
            money_old.clone()
        } else {
            self.pack(
                layouter.namespace(|| "money_new"),
                [nonce_new, balance_new, energy_new],
            )?
        };
        let leaf_old = self.hash_in(
            layouter.namespace(|| "leaf old"),
            domain::ACCOUNT,
            [
                old.owner.clone(),
                money_old,
                old.rider_a.clone(),
                old.rider_b.clone(),
            ],
        )?;
        let leaf_new = self.hash_in(
            layouter.namespace(|| "leaf new"),
            domain::ACCOUNT,
            [
                new.owner.clone(),
                money_new,
                new.rider_a.clone(),
                new.rider_b.clone(),
            ],
        )?;
        let levels = self.merkle().update(
            layouter.namespace(|| "path"),
            index,
            path,
            ACCOUNTS_DEPTH / 2,
            leaf_old,
            leaf_new,
        )?;
        let top = &levels[ACCOUNTS_DEPTH / 2];
        let pos = tree_position(TreeId::Accounts);
        running.roots[pos] = self.select_root(
            layouter.namespace(|| "accounts root"),
            enabled,
            &running.roots[pos],
            top,
        )?;
        Ok(())
    }

    /// One leaf's update in any of `trees` (none of them the accounts tree), chosen by their
    /// flags (booleans, at most one set; none: nothing changes and nothing is checked of
    /// the leaf). The leaf is `Poseidon(TAG_T, w0, w1, w2)` of the chosen tree's tag, or for
    /// the voter tree the commitment `w0` itself; the Merkle pass runs to the deepest tree's
    /// depth and the chosen tree's root is read at its own depth.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn touch(
        &self,
        mut layouter: impl Layouter<Fp>,
        trees: &[(TreeId, &Cell)],
        index: &Cell,
        path: Value<&MerklePath>,
        old: &[Cell; 3],
        new: &[Cell; 3],
        running: &mut Running,
    ) -> Result<(), Error> {
        assert!(!trees.is_empty() && trees.iter().all(|(t, _)| *t != TreeId::Accounts));
        let adv = &self.advice;
        // tag = Σ flag_T · TAG_T, at most one flag set.
        let tag_cell = layouter.assign_region(
            || "touch tag",
            |mut region| {
                let mut acc =
                    region.assign_advice_from_constant(|| "tag 0", adv[2], 0, Fp::zero())?;
                let mut sum =
                    region.assign_advice_from_constant(|| "sum 0", adv[4], 0, Fp::zero())?;
                for (row, (tree, flag)) in trees.iter().enumerate() {
                    self.q_tag.enable(&mut region, row)?;
                    let f = flag.copy_advice(|| "tree flag", &mut region, adv[0], row)?;
                    let t = region.assign_advice_from_constant(
                        || "TAG_T",
                        adv[1],
                        row,
                        leaf_tag(*tree),
                    )?;
                    if row > 0 {
                        acc = acc.copy_advice(|| "tag", &mut region, adv[2], row)?;
                        sum = sum.copy_advice(|| "sum", &mut region, adv[4], row)?;
                    }
                    let next_acc = value(&acc) + value(&f) * value(&t);
                    let next_sum = value(&sum) + value(&f);
                    acc = region.assign_advice(|| "tag_next", adv[3], row, || next_acc)?;
                    sum = region.assign_advice(|| "sum_next", adv[5], row, || next_sum)?;
                }
                Ok(acc)
            },
        )?;
        let leaf_old = self.hash(
            layouter.namespace(|| "leaf old"),
            [
                tag_cell.clone(),
                old[0].clone(),
                old[1].clone(),
                old[2].clone(),
            ],
        )?;
        let leaf_new = self.hash(
            layouter.namespace(|| "leaf new"),
            [tag_cell, new[0].clone(), new[1].clone(), new[2].clone()],
        )?;
        let (leaf_old, leaf_new) = match trees.iter().find(|(t, _)| *t == TreeId::Voters) {
            Some((_, flag)) => (
                self.raw_leaf(
                    layouter.namespace(|| "voter leaf old"),
                    flag,
                    &leaf_old,
                    &old[0],
                )?,
                self.raw_leaf(
                    layouter.namespace(|| "voter leaf new"),
                    flag,
                    &leaf_new,
                    &new[0],
                )?,
            ),
            None => (leaf_old, leaf_new),
        };
        let depth = trees.iter().map(|(t, _)| t.depth()).max().expect("a tree");
        let levels = self.merkle().update(
            layouter.namespace(|| "path"),
            index,
            path,
            depth / 2,
            leaf_old,
            leaf_new,
        )?;
        for (tree, flag) in trees {
            let pos = tree_position(*tree);
            running.roots[pos] = self.select_root(
                layouter.namespace(|| format!("{} root", tree.name())),
                flag,
                &running.roots[pos],
                &levels[tree.depth() / 2],
            )?;
        }
        Ok(())
    }

    /// `leaf = hash + flag · (raw - hash)`.
    fn raw_leaf(
        &self,
        mut layouter: impl Layouter<Fp>,
        flag: &Cell,
        hashed: &Cell,
        raw: &Cell,
    ) -> Result<Cell, Error> {
        let adv = &self.advice;
        layouter.assign_region(
            || "voter leaf",
            |mut region| {
                self.q_raw_leaf.enable(&mut region, 0)?;
                let f = flag.copy_advice(|| "voter flag", &mut region, adv[0], 0)?;
                let h = hashed.copy_advice(|| "hash", &mut region, adv[1], 0)?;
                let r = raw.copy_advice(|| "commitment", &mut region, adv[2], 0)?;
                let leaf = value(&h) + value(&f) * (value(&r) - value(&h));
                region.assign_advice(|| "leaf", adv[3], 0, || leaf)
            },
        )
    }

    /// The running root of a tree after a touch of it, enabled by `flag`.
    fn select_root(
        &self,
        mut layouter: impl Layouter<Fp>,
        flag: &Cell,
        root: &Cell,
        level: &Level,
    ) -> Result<Cell, Error> {
        let adv = &self.advice;
        layouter.assign_region(
            || "root select",
            |mut region| {
                self.q_select.enable(&mut region, 0)?;
                let f = flag.copy_advice(|| "touch flag", &mut region, adv[0], 0)?;
                let r = root.copy_advice(|| "running root", &mut region, adv[1], 0)?;
                level
                    .old
                    .copy_advice(|| "old root", &mut region, adv[2], 0)?;
                let n = level
                    .new
                    .copy_advice(|| "new root", &mut region, adv[3], 0)?;
                level
                    .z
                    .as_ref()
                    .expect("a running sum at every even level, and every tree's depth / 2 is even")
                    .copy_advice(|| "z at depth", &mut region, adv[4], 0)?;
                let next = value(&r) + value(&f) * (value(&n) - value(&r));
                region.assign_advice(|| "root_next", adv[5], 0, || next)
            },
        )
    }
}

/// The tag of `tree`'s leaves (voters: none, their leaf is the commitment; 0 here).
fn leaf_tag(tree: TreeId) -> Fp {
    use crate::records::Words;
    let t = match tree {
        TreeId::Accounts => domain::ACCOUNT,
        TreeId::Meters => crate::records::Meter::TAG,
        TreeId::Orders => crate::records::Order::TAG,
        TreeId::Fleet => crate::records::FleetEntry::TAG,
        TreeId::Voters => 0,
        TreeId::Proposals => crate::records::Proposal::TAG,
        TreeId::Ballots => crate::records::BallotRecord::TAG,
        TreeId::Tallies => crate::records::Tally::TAG,
    };
    tag(t)
}

/// The five fields under `Owner::hash`'s tag.
pub(crate) fn owner_fields(owner: &Owner) -> [Fp; 5] {
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

/// The two packed rider words of an account leaf.
pub(crate) fn rider_words(account: &Account) -> [Fp; 2] {
    let r = &account.rider;
    [
        crate::hash::pack(&[r.journey_start, r.cap_start, r.last_tap]),
        crate::hash::pack(&[r.cap_spent, r.transfers, r.concession]),
    ]
}

/// An assigned cell's value.
pub(crate) fn value(cell: &AssignedCell<Fp, Fp>) -> Value<Fp> {
    cell.value().copied()
}

/// `1/x`, or 0 for 0: the witness of an `x != 0` check.
pub(crate) fn inverse(x: Value<Fp>) -> Value<Fp> {
    x.map(|x| x.invert().unwrap_or(Fp::zero()))
}
