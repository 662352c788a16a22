//! The blocks every chunk circuit shares, whatever kinds its slots prove: the columns and
//! chips, the state header and its root, the message and data hash of a slot, the signer's
//! owner record and signature, 64-bit range checks, the packed money word, and leaf updates
//! of an account or of any other tree.
//!
//! A family's circuit (transfers in `chunk.rs`; the other kinds in modules beside this one)
//! configures a [`Base`] and adds its own rule gates on the same columns.

use ff::Field;
use halo2_gadgets::poseidon::{primitives::P128Pow5T3, Pow5Chip, Pow5Config};
use halo2_gadgets::utilities::lookup_range_check::LookupRangeCheck;
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Value},
    plonk::{
        Advice, Column, ConstraintSystem, Constraints, Error, Fixed, Instance as InstanceColumn,
        Selector,
    },
    poly::Rotation,
};

use super::merkle::{hash, Cell, MerkleUpdateChip, MerkleUpdateConfig};
use super::{LOOKUP_BITS, NOW};
use crate::constants::{domain, ACCOUNTS_DEPTH};
use crate::hash::{tag, Fp};
use crate::keys::Signature;
use crate::merkle::MerklePath;
use crate::records::{Account, Owner};
use crate::schnorr::{self, SchnorrConfig};
use crate::state::StateHeader;

/// Which of the two Poseidon chips a hash runs on (they sit on disjoint columns, so two
/// hashes in different chips share rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Chip {
    /// Chip A: advice 0–3.
    A,
    /// Chip B: advice 4–7.
    B,
}

/// The shared columns, chips and gates.
///
/// Column sharing: ten advice columns. Poseidon chip A uses advice 0–3 (state and partial
/// S-box) with the fixed columns `fixed[2..8]` for its round constants; chip B uses advice
/// 4–7 with fixed columns of its own, so that the two hash side by side (old and new
/// paths). The Merkle swap gates sit on their chip's columns. Advice 9 is the lookup
/// range check's running sum. Rule gates span the advice columns in short regions.
/// `fixed[0]` holds constants.
#[derive(Clone, Debug)]
pub(crate) struct Base {
    pub(crate) advice: [Column<Advice>; 10],
    pub(crate) instance: Column<InstanceColumn>,
    pub(crate) poseidon_a: Pow5Config<Fp, 3, 2>,
    pub(crate) poseidon_b: Pow5Config<Fp, 3, 2>,
    pub(crate) merkle: MerkleUpdateConfig,
    pub(crate) schnorr: SchnorrConfig,
    q_pack: Selector,
    q_signature: Selector,
}

/// The signer's side of a slot: its owner record opened, and the message it signed.
pub(crate) struct Signed {
    /// The five owner-record fields (key x, key y, delegate and fare flags, fares, fares).
    pub(crate) owner_fields: Vec<Cell>,
    /// `Owner::hash` of them.
    pub(crate) owner: Cell,
    /// `Poseidon(TX_MESSAGE, encoding)`.
    pub(crate) message: Cell,
    /// The data hash after this slot.
    pub(crate) data: Cell,
}

/// The four words under an account leaf's tag: owner hash, money word, two rider words.
#[derive(Clone, Debug)]
pub(crate) struct AccountWords {
    pub(crate) owner: Cell,
    pub(crate) money: Cell,
    pub(crate) rider_a: Cell,
    pub(crate) rider_b: Cell,
}

impl Base {
    /// Allocates the columns and configures the chips and the shared gates.
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fp>) -> Base {
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

        // A signed slot's signature holds; padding carries none:
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

        // A packed word of three 64-bit parts (`hash::pack`), e.g. an account's money word
        // `nonce + 2^64 balance + 2^128 energy`:
        //
        // | a0 | a1 | a2 | a3   |
        // | p0 | p1 | p2 | word |
        let q_pack = meta.selector();
        meta.create_gate("word = p0 + 2^64 p1 + 2^128 p2", |meta| {
            let q = meta.query_selector(q_pack);
            let [p0, p1, p2, word] =
                [0, 1, 2, 3].map(|i| meta.query_advice(advice[i], Rotation::cur()));
            let two64 = Fp::from(2).pow([64]);
            let two128 = two64.square();
            Constraints::with_selector(
                q,
                [(
                    "word = p0 + 2^64 p1 + 2^128 p2",
                    word - p0 - p1 * two64 - p2 * two128,
                )],
            )
        });

        Base {
            advice,
            instance,
            poseidon_a,
            poseidon_b,
            merkle,
            schnorr,
            q_pack,
            q_signature,
        }
    }

    /// Loads the 10-bit range-check table (once per circuit, first).
    pub(crate) fn load(&self, layouter: &mut impl Layouter<Fp>) -> Result<(), Error> {
        self.schnorr.load_range_check_table(layouter)
    }

    /// The Merkle update chip on the two Poseidon chips.
    pub(crate) fn merkle(&self) -> MerkleUpdateChip {
        MerkleUpdateChip::construct(self.merkle.clone())
    }

    /// The Poseidon config of `chip`.
    pub(crate) fn chip(&self, chip: Chip) -> &Pow5Config<Fp, 3, 2> {
        match chip {
            Chip::A => &self.poseidon_a,
            Chip::B => &self.poseidon_b,
        }
    }

    /// `Poseidon(inputs)` on `chip`.
    pub(crate) fn hash<const L: usize>(
        &self,
        chip: Chip,
        layouter: impl Layouter<Fp>,
        inputs: [Cell; L],
    ) -> Result<Cell, Error> {
        hash(self.chip(chip), layouter, inputs)
    }

    /// The domain tag `tag(domain)` in a cell fixed by the constants column.
    pub(crate) fn tag(&self, layouter: impl Layouter<Fp>, domain: u64) -> Result<Cell, Error> {
        self.constant(layouter, tag(domain))
    }

    /// A constant (a domain tag) assigned in a cell fixed by the constants column.
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

    /// The batch time `now` from the instance column.
    pub(crate) fn now(&self, mut layouter: impl Layouter<Fp>) -> Result<Cell, Error> {
        layouter.assign_region(
            || "now",
            |mut region| {
                region.assign_advice_from_instance(|| "now", self.instance, NOW, self.advice[9], 0)
            },
        )
    }

    /// Constrains `cell < 2^64`: six 10-bit lookup words, then the top four bits.
    pub(crate) fn range64(&self, mut layouter: impl Layouter<Fp>, cell: Cell) -> Result<(), Error> {
        let range = self.schnorr.range_check();
        let zs = range.copy_check(layouter.namespace(|| "60 bits"), cell, 6, false)?;
        range.copy_short_check(
            layouter.namespace(|| "top 4 bits"),
            zs[6].clone(),
            64 - 6 * LOOKUP_BITS,
        )
    }

    /// The eleven header cells (eight tree roots, three counter words) of `header`.
    pub(crate) fn header(
        &self,
        mut layouter: impl Layouter<Fp>,
        header: Value<&StateHeader>,
    ) -> Result<Vec<Cell>, Error> {
        layouter.assign_region(
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
                    .collect()
            },
        )
    }

    /// `Poseidon(STATE, header)` over the eleven header cells, on `chip`.
    pub(crate) fn state_root(
        &self,
        chip: Chip,
        mut layouter: impl Layouter<Fp>,
        header: &[Cell],
    ) -> Result<Cell, Error> {
        let t = self.tag(layouter.namespace(|| "STATE"), domain::STATE)?;
        let h = header;
        self.hash(
            chip,
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

    /// The signer's side of a slot: opens the signer's owner record on chip B while chip A
    /// hashes the message `Poseidon(TX_MESSAGE, encoding)` and folds it into the data hash;
    /// then checks the signature `(R, s)` on the message against the record's key when
    /// `flag` is 1 (a padding slot's check is computed, not enforced).
    pub(crate) fn signed(
        &self,
        mut layouter: impl Layouter<Fp>,
        flag: &Cell,
        encoding: &[Cell; 8],
        owner: Value<&Owner>,
        signature: Value<Signature>,
        data: Cell,
    ) -> Result<Signed, Error> {
        let adv = &self.advice;
        let fields = owner.map(owner_fields);
        let owner_cells = layouter.assign_region(
            || "signer owner record",
            |mut region| {
                (0..5)
                    .map(|i| {
                        region.assign_advice(
                            || "owner field",
                            adv[4 + i],
                            0,
                            || fields.map(|f| f[i]),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            },
        )?;
        let t = self.tag(layouter.namespace(|| "OWNER"), domain::OWNER)?;
        let o = &owner_cells;
        let owner_hash = self.hash(
            Chip::B,
            layouter.namespace(|| "signer owner hash"),
            [
                t,
                o[0].clone(),
                o[1].clone(),
                o[2].clone(),
                o[3].clone(),
                o[4].clone(),
            ],
        )?;
        let t = self.tag(layouter.namespace(|| "TX_MESSAGE"), domain::TX_MESSAGE)?;
        let e = encoding;
        let message = self.hash(
            Chip::A,
            layouter.namespace(|| "message"),
            [
                t,
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
        let data = self.hash(
            Chip::A,
            layouter.namespace(|| "data hash"),
            [data, message.clone()],
        )?;

        // s·G = R + c·PK with c = Poseidon(SIGNATURE, R, PK, m), PK the record's key.
        let ecc = self.schnorr.ecc_chip();
        let pk = schnorr::witness_point(
            &ecc,
            layouter.namespace(|| "PK"),
            owner.map(|o| o.public_key.map_or(generator(), |pk| pk.point())),
        )?;
        let (pk_x, pk_y) = schnorr::coordinates(&pk);
        layouter.assign_region(
            || "PK is the signer's key",
            |mut region| {
                region.constrain_equal(pk_x.cell(), owner_cells[0].cell())?;
                region.constrain_equal(pk_y.cell(), owner_cells[1].cell())
            },
        )?;
        let r = schnorr::witness_point(&ecc, layouter.namespace(|| "R"), signature.map(|s| s.r))?;
        let (r_x, r_y) = schnorr::coordinates(&r);
        let t = self.tag(layouter.namespace(|| "SIGNATURE"), domain::SIGNATURE)?;
        let challenge = self.hash(
            Chip::B,
            layouter.namespace(|| "challenge"),
            [t, r_x, r_y, pk_x, pk_y, message.clone()],
        )?;
        let (s_g, rhs) = schnorr::signature_sides(
            &ecc,
            layouter.namespace(|| "signature"),
            &pk,
            &r,
            challenge,
            signature.map(|s| s.s),
        )?;
        layouter.assign_region(
            || "signature holds for a signed slot",
            |mut region| {
                self.q_signature.enable(&mut region, 0)?;
                flag.copy_advice(|| "flag", &mut region, adv[0], 0)?;
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
        Ok(Signed {
            owner_fields: owner_cells,
            owner: owner_hash,
            message,
            data,
        })
    }

    /// The packed word `p0 + 2^64 p1 + 2^128 p2` of three cells (the caller range-checks
    /// the parts: the packing is unique only for parts below 2^64).
    pub(crate) fn pack(
        &self,
        mut layouter: impl Layouter<Fp>,
        parts: [&Cell; 3],
    ) -> Result<Cell, Error> {
        let adv = &self.advice;
        let two64 = Fp::from(2).pow([64]);
        let two128 = two64.square();
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
                            + value(&p[1]).map(|v| v * two64)
                            + value(&p[2]).map(|v| v * two128)
                    },
                )
            },
        )
    }

    /// The packed money words before and after: `nonce + 2^64 balance + 2^128 energy`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn money_words(
        &self,
        mut layouter: impl Layouter<Fp>,
        nonce: &Cell,
        nonce_new: &Cell,
        balance: &Cell,
        balance_new: &Cell,
        energy: &Cell,
        energy_new: &Cell,
    ) -> Result<(Cell, Cell), Error> {
        let old = self.pack(layouter.namespace(|| "money"), [nonce, balance, energy])?;
        let new = self.pack(
            layouter.namespace(|| "money_new"),
            [nonce_new, balance_new, energy_new],
        )?;
        Ok((old, new))
    }

    /// Hashes an account leaf `Poseidon(ACCOUNT, owner, money, rider a, rider b)` before
    /// (chip A) and after (chip B) and runs its Merkle update in the accounts tree; returns
    /// the accounts root after it, having constrained the root before it to `root_before`.
    pub(crate) fn account_update(
        &self,
        mut layouter: impl Layouter<Fp>,
        index: &Cell,
        path: Value<&MerklePath>,
        old: AccountWords,
        new: AccountWords,
        root_before: &Cell,
    ) -> Result<Cell, Error> {
        let t = self.tag(layouter.namespace(|| "ACCOUNT"), domain::ACCOUNT)?;
        let leaf_old = self.hash(
            Chip::A,
            layouter.namespace(|| "leaf old"),
            [t.clone(), old.owner, old.money, old.rider_a, old.rider_b],
        )?;
        let leaf_new = self.hash(
            Chip::B,
            layouter.namespace(|| "leaf new"),
            [t, new.owner, new.money, new.rider_a, new.rider_b],
        )?;
        self.leaf_update(
            layouter.namespace(|| "path"),
            ACCOUNTS_DEPTH,
            index,
            path,
            leaf_old,
            leaf_new,
            root_before,
        )
    }

    /// The Merkle update of one leaf in a tree of `depth`: the root computed from
    /// `leaf_old` is constrained to `root_before`; returns the root computed from
    /// `leaf_new` with the same siblings and position (`index < 2^depth`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn leaf_update(
        &self,
        mut layouter: impl Layouter<Fp>,
        depth: usize,
        index: &Cell,
        path: Value<&MerklePath>,
        leaf_old: Cell,
        leaf_new: Cell,
        root_before: &Cell,
    ) -> Result<Cell, Error> {
        let (old_root, new_root) = self.merkle().update(
            layouter.namespace(|| "path"),
            index,
            path,
            depth,
            leaf_old,
            leaf_new,
        )?;
        layouter.assign_region(
            || "root before = running root",
            |mut region| region.constrain_equal(old_root.cell(), root_before.cell()),
        )?;
        Ok(new_root)
    }
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

/// The generator: the `R` and key a padding slot witnesses (any valid point would do).
pub(crate) fn generator() -> pasta_curves::pallas::Affine {
    use group::{Curve, Group};
    pasta_curves::pallas::Point::generator().to_affine()
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
