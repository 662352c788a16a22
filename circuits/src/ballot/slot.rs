//! The vote's range check: a tally slot is below `2^TALLY_SLOT_BITS`.
//!
//! The slot arrives from the instance column; the chip decomposes it into
//! `TALLY_SLOT_BITS` boolean witnesses, four per row, and one gate checks both that every
//! bit is boolean and that the bits recompose to the slot. A field element whose canonical
//! value is `2^TALLY_SLOT_BITS` or more has no such decomposition (the weighted sum of the
//! bits is at most `2^TALLY_SLOT_BITS - 1`, far below the modulus), so the gate fails.
//!
//! The chip does **not** constrain which slot is meaningful for a proposal (an option past
//! the proposal's option count, an unregistered delegate): the tally rules check that
//! natively. It only guarantees the ballot carries a well-formed slot encoding.

use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Value},
    plonk::{Advice, Column, ConstraintSystem, Error, Expression, Instance, Selector},
    poly::Rotation,
};

use crate::constants::TALLY_SLOT_BITS;
use crate::hash::Fp;
use ff::PrimeFieldBits;

/// Bits witnessed per row (one per bit column).
const BITS_PER_ROW: usize = 4;
/// Rows of the decomposition region.
const SLOT_ROWS: usize = TALLY_SLOT_BITS / BITS_PER_ROW;
const _: () = assert!(TALLY_SLOT_BITS.is_multiple_of(BITS_PER_ROW));

/// Columns and selector of the slot range check.
#[derive(Clone, Debug)]
pub(crate) struct SlotConfig {
    q_slot: Selector,
    slot: Column<Advice>,
    bits: [Column<Advice>; BITS_PER_ROW],
}

/// Range-checks a vote's tally slot copied from the instance column.
#[derive(Clone, Debug)]
pub(crate) struct SlotChip {
    config: SlotConfig,
}

impl SlotChip {
    /// Configures the gate on `slot` (must be equality-enabled: the slot is copied in from
    /// the instance) and four bit columns, which may be shared with other chips.
    pub(crate) fn configure(
        meta: &mut ConstraintSystem<Fp>,
        slot: Column<Advice>,
        bits: [Column<Advice>; BITS_PER_ROW],
    ) -> SlotConfig {
        let q_slot = crate::selector::selector(meta);

        // Region layout (SLOT_ROWS = 3 rows for 12 bits):
        //
        // | slot | bits[0] | bits[1] | bits[2] | bits[3] | q_slot |
        // |------|---------|---------|---------|---------|--------|
        // | vote | b0      | b1      | b2      | b3      | 1      |
        // |      | b4      | b5      | b6      | b7      | 0      |
        // |      | b8      | b9      | b10     | b11     | 0      |
        meta.create_gate("vote < 2^TALLY_SLOT_BITS", |meta| {
            let q_slot = meta.query_selector(q_slot);
            let vote = meta.query_advice(slot, Rotation::cur());
            let mut checks = Vec::with_capacity(TALLY_SLOT_BITS + 1);
            let mut sum = Expression::Constant(Fp::zero());
            for row in 0..SLOT_ROWS {
                for (j, column) in bits.iter().enumerate() {
                    let bit = meta.query_advice(*column, Rotation(row as i32));
                    let weight = Fp::from(1u64 << (BITS_PER_ROW * row + j));
                    sum = sum + bit.clone() * weight;
                    checks.push((
                        "bit ∈ {0,1}",
                        bit.clone() * (Expression::Constant(Fp::one()) - bit),
                    ));
                }
            }
            checks.push(("vote = Σ 2^i · bit_i", vote - sum));
            crate::selector::gated(q_slot, checks)
        });

        SlotConfig { q_slot, slot, bits }
    }

    /// The chip of a configuration.
    pub(crate) fn construct(config: SlotConfig) -> Self {
        SlotChip { config }
    }

    /// Copies the slot at `row` of `instance` into the region and range-checks it. Returns
    /// the advice cell holding the slot.
    pub(crate) fn assign(
        &self,
        mut layouter: impl Layouter<Fp>,
        instance: Column<Instance>,
        row: usize,
    ) -> Result<AssignedCell<Fp, Fp>, Error> {
        let config = &self.config;
        layouter.assign_region(
            || "vote < 2^TALLY_SLOT_BITS",
            |mut region| {
                config.q_slot.enable(&mut region, 0)?;
                let vote =
                    region.assign_advice_from_instance(|| "vote", instance, row, config.slot, 0)?;
                for r in 0..SLOT_ROWS {
                    for (j, column) in config.bits.iter().enumerate() {
                        let i = BITS_PER_ROW * r + j;
                        let bit: Value<Fp> =
                            vote.value().map(|v| Fp::from(v.to_le_bits()[i] as u64));
                        region.assign_advice(|| format!("bit {i}"), *column, r, || bit)?;
                    }
                }
                Ok(vote)
            },
        )
    }
}
