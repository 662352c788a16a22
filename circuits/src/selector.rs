//! The selector of every gate this crate writes: a fixed column of its own (halo2's
//! "complex" selector), never one that key generation folds with others into a shared
//! column.
//!
//! Key generation compresses simple selectors: the selectors sharing a fixed column take the
//! values `1..=m` there, and each query of one becomes the product `f·Π(j − f)` over the
//! column's other values, as many factors as the degree bound (9 in the chunk circuits)
//! leaves beside the gate's own degree. `Constraints::with_selector` multiplies every
//! constraint of a gate by its selector, and halo2 0.4 evaluates each constraint's
//! expression tree node by node at every point of the extended domain, nothing shared: a
//! Poseidon row's ten constraints each paid seven multiplications for a selector that a
//! column of its own gives for one. Evaluating those expressions is the largest phase of a
//! chunk proof (the README's profile), and multiplications are what it spends.
//!
//! Measured (the `gate_cost` example; `prover prove --slots 18`, release, 2 threads, three
//! runs of each interleaved):
//! - rule gates (ten to thirty constraints each), at `c4fd80d`: gate nodes 7,519 → 5,499, a
//!   full accounts chunk 9% faster;
//! - the Poseidon, Merkle and base gates too, at `3e6e79b`: the accounts circuit's gate
//!   expressions 2,283 → 1,979 multiplications per point (−13%) and 6,093 → 5,333 nodes, a
//!   full accounts chunk (18 transfers, k = 15) 15.35 s → 14.49 s (medians, −5.6%), for nine
//!   more fixed columns: peak memory 1,277 → 1,451 MB at that size.
//!
//! The ECC gadgets' gates (`halo2_gadgets`) keep the simple selectors their chips make.

use halo2_proofs::plonk::{ConstraintSystem, Selector};

use crate::hash::Fp;

/// A new selector in a fixed column of its own.
pub(crate) fn selector(meta: &mut ConstraintSystem<Fp>) -> Selector {
    meta.complex_selector()
}
