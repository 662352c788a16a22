//! The market family: `fill`, a match of two orders made by the matcher and signed by the
//! market operator.
//!
//! NOT BUILT YET: [`BUILT`] is false, so no key, proof or witness is ever made with this
//! module (`Family::is_built`); its circuit is being written.

use halo2_proofs::{
    circuit::{Layouter, Value},
    plonk::{ConstraintSystem, Error},
};

use super::base::{Base, Running};
use super::witness::SlotWitness;
use crate::hash::Fp;
use crate::state::{State, TreeId};
use crate::tx::Transaction;

/// Whether this family's circuit is complete.
pub(crate) const BUILT: bool = false;
/// Touches per slot.
pub(crate) const TOUCHES: usize = 0;
/// Rows one slot uses (pinned by a test: a change of layout is deliberate).
pub(crate) const ROWS_PER_SLOT: usize = 1;
/// Rows used once per chunk.
pub(crate) const ROWS_FIXED: usize = 0;

/// The leaves each kind touches, in touch order.
pub(crate) fn targets(_state: &State, _tx: &Transaction) -> Vec<Option<(TreeId, u64)>> {
    vec![None; TOUCHES]
}

/// The family's rule gates.
#[derive(Clone, Debug)]
pub(crate) struct Config;

/// Configures the rule gates on the shared columns.
pub(crate) fn configure(_meta: &mut ConstraintSystem<Fp>, _base: &Base) -> Config {
    Config
}

/// One slot of the family.
pub(crate) fn slot(
    _config: &Config,
    _base: &Base,
    _layouter: impl Layouter<Fp>,
    _slot: Value<&SlotWitness>,
    _running: &mut Running,
) -> Result<(), Error> {
    Ok(())
}
