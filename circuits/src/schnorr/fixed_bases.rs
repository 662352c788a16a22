//! The fixed bases of the city's ECC chip: only the Pallas generator `G`, for `s·G`.
//!
//! `halo2_gadgets`' [`FixedPoints`] asks for three kinds of fixed base: full-width scalars,
//! signed 64-bit scalars and base-field elements as scalars. The signature check needs only
//! the first, so the other two are uninhabited types: no value of them exists, so no circuit
//! can ask the chip for a short or base-field fixed-base multiplication, and their trait
//! methods are unreachable by construction (`match *self {}`), not panicking stubs.

use std::sync::OnceLock;

use group::{Curve, Group};
use halo2_gadgets::ecc::chip::{
    compute_lagrange_coeffs, BaseFieldElem, FixedPoint, FullScalar, ShortScalar, H, NUM_WINDOWS,
};
use halo2_gadgets::ecc::FixedPoints;
use pasta_curves::pallas;

use super::generator_table;

/// The fixed bases the city's circuits multiply by: see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CityFixedBases;

impl FixedPoints<pallas::Affine> for CityFixedBases {
    type FullScalar = GeneratorBase;
    type ShortScalar = NoShortBase;
    type Base = NoBaseFieldBase;
}

/// The Pallas generator `G = pallas::Point::generator()` (the `G` of
/// [`crate::keys`]), multiplied by full-width scalars.
///
/// Its window tables `z` and `u` are the constants of `generator_table.rs`; its Lagrange
/// coefficients are computed once per process and cloned afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneratorBase;

impl FixedPoint<pallas::Affine> for GeneratorBase {
    type FixedScalarKind = FullScalar;

    fn generator(&self) -> pallas::Affine {
        pallas::Point::generator().to_affine()
    }

    fn u(&self) -> Vec<[[u8; 32]; H]> {
        generator_table::U.to_vec()
    }

    fn z(&self) -> Vec<u64> {
        generator_table::Z.to_vec()
    }

    /// The default recomputes the 85 window tables and interpolates them on every
    /// multiplication (and so on every keygen and proof); the result depends only on `G`.
    fn lagrange_coeffs(&self) -> Vec<[pallas::Base; H]> {
        static COEFFS: OnceLock<Vec<[pallas::Base; H]>> = OnceLock::new();
        COEFFS
            .get_or_init(|| compute_lagrange_coeffs(self.generator(), NUM_WINDOWS))
            .clone()
    }
}

/// No fixed base is multiplied by a signed 64-bit scalar: this type has no values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoShortBase {}

impl FixedPoint<pallas::Affine> for NoShortBase {
    type FixedScalarKind = ShortScalar;

    fn generator(&self) -> pallas::Affine {
        match *self {}
    }

    fn u(&self) -> Vec<[[u8; 32]; H]> {
        match *self {}
    }

    fn z(&self) -> Vec<u64> {
        match *self {}
    }

    fn lagrange_coeffs(&self) -> Vec<[pallas::Base; H]> {
        match *self {}
    }
}

/// No fixed base is multiplied by a base-field element: this type has no values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoBaseFieldBase {}

impl FixedPoint<pallas::Affine> for NoBaseFieldBase {
    type FixedScalarKind = BaseFieldElem;

    fn generator(&self) -> pallas::Affine {
        match *self {}
    }

    fn u(&self) -> Vec<[[u8; 32]; H]> {
        match *self {}
    }

    fn z(&self) -> Vec<u64> {
        match *self {}
    }

    fn lagrange_coeffs(&self) -> Vec<[pallas::Base; H]> {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::PrimeField;
    use halo2_gadgets::ecc::chip::find_zs_and_us;

    /// The shipped tables are exactly what `find_zs_and_us` computes for `G` (about 90 s in
    /// the optimised test profile).
    #[test]
    fn generator_tables_match_a_fresh_computation() {
        let base = GeneratorBase;
        let fresh = find_zs_and_us(base.generator(), NUM_WINDOWS).expect("tables exist for G");
        assert_eq!(fresh.len(), NUM_WINDOWS);
        let fresh_z: Vec<u64> = fresh.iter().map(|(z, _)| *z).collect();
        let fresh_u: Vec<[[u8; 32]; H]> = fresh
            .iter()
            .map(|(_, us)| us.map(|u| u.to_repr()))
            .collect();
        assert_eq!(base.z(), fresh_z);
        assert_eq!(base.u(), fresh_u);
    }

    /// The cached coefficients are the uncached ones, and a second call returns the same.
    #[test]
    fn cached_lagrange_coeffs_match_a_fresh_computation() {
        let base = GeneratorBase;
        let fresh = compute_lagrange_coeffs(base.generator(), NUM_WINDOWS);
        assert_eq!(base.lagrange_coeffs(), fresh);
        assert_eq!(base.lagrange_coeffs(), fresh);
    }

    #[test]
    fn the_fixed_base_is_the_signing_generator() {
        assert_eq!(
            pallas::Point::from(GeneratorBase.generator()),
            pallas::Point::generator()
        );
    }
}
