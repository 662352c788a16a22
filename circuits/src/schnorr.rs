//! The in-circuit check of a Schnorr signature: `s·G = R + c·PK`.
//!
//! A signature `(R, s)` by public key `PK` on message `m` is valid when `s·G = R + c·PK`,
//! with `c = Poseidon(SIGNATURE, R.x, R.y, PK.x, PK.y, m)` read as a scalar
//! ([`crate::keys`]). This module proves the group equation with `halo2_gadgets`' ECC chip:
//!
//! - `c·PK`: variable-base multiplication, `c` taken from a base-field cell with
//!   `ScalarVar::from_base` (every base-field element is a canonical scalar, since Pallas'
//!   scalar modulus is the larger, exactly as [`crate::keys::base_to_scalar`] reads it);
//! - `R + c·PK`: complete addition;
//! - `s·G`: full-width fixed-base multiplication by the generator ([`CityFixedBases`]);
//! - the two points are constrained equal cell by cell (a copy constraint on `x` and `y`).
//!
//! # What this does not constrain
//!
//! - That `c` is the right hash. The caller computes `c` in the circuit with Poseidon over
//!   `R`'s and `PK`'s coordinate cells ([`coordinates`]) and the message, and passes the
//!   output cell; any cell passed in is used as it is.
//! - That `PK` is the account's key or `R` the signature's commitment: the caller ties the
//!   witnessed points to its leaves and inputs (again through [`coordinates`]).
//! - Anything about `s` beyond `s·G` being the right point: `s` is a free witness (its
//!   windows are range-checked, and any integer with the same `s·G` is as good).
//!
//! `PK` and `R` are [`NonIdentityPoint`]s: on the curve and not the identity, so a
//! placeholder signature with `R = 0` cannot even be witnessed.

mod fixed_bases;
mod generator_table;

pub use fixed_bases::{CityFixedBases, GeneratorBase, NoBaseFieldBase, NoShortBase};

use halo2_gadgets::ecc::chip::{EccChip, EccConfig};
use halo2_gadgets::ecc::{CircuitVersion, FixedPoint, NonIdentityPoint, ScalarFixed, ScalarVar};
use halo2_gadgets::sinsemilla::primitives::K as RANGE_CHECK_BITS;
use halo2_gadgets::utilities::lookup_range_check::{
    LookupRangeCheck, PallasLookupRangeCheckConfig,
};
use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Fixed, TableColumn};
use pasta_curves::pallas;

use crate::keys::PublicKey;

/// The ECC chip of the city's circuits: fixed base `G` only, 10-bit lookup range checks.
pub type CityEccChip = EccChip<CityFixedBases, PallasLookupRangeCheckConfig>;

/// A witnessed point that is on the curve and not the identity.
pub type AssignedPoint = NonIdentityPoint<pallas::Affine, CityEccChip>;

/// A base-field cell.
pub type Cell = AssignedCell<pallas::Base, pallas::Base>;

/// The configuration of the signature check: the ECC chip's gates and the 10-bit lookup
/// range check they use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchnorrConfig {
    ecc: EccConfig<CityFixedBases, PallasLookupRangeCheckConfig>,
    table_idx: TableColumn,
}

impl SchnorrConfig {
    /// Configures the ECC chip and its lookup range check.
    ///
    /// Column sharing:
    /// - `advices`: all ten are used by the ECC chip's gates and become equality-enabled;
    ///   `advices[9]` is also the running-sum column of the range check. Other chips (the
    ///   Poseidon chip of the chunk circuit) may use the same columns in their own regions.
    /// - `lagrange_coeffs`: eight fixed columns, written by the fixed-base multiplication's
    ///   regions (the interpolation coefficients of `G`'s windows); they may be shared with
    ///   other chips' fixed columns (e.g. Poseidon's round constants).
    /// - `constants`: a fixed column enabled for constants (the variable-base
    ///   multiplication loads its initial running sum from it); enabling it again elsewhere
    ///   is harmless, and it may be one of `lagrange_coeffs` (Orchard uses the first).
    /// - `table_idx`: the lookup table `0..2^10`. Load it exactly once per synthesis with
    ///   [`SchnorrConfig::load_range_check_table`]; other range checks configured on the
    ///   same column can share it.
    pub fn configure(
        meta: &mut ConstraintSystem<pallas::Base>,
        advices: [Column<Advice>; 10],
        lagrange_coeffs: [Column<Fixed>; 8],
        constants: Column<Fixed>,
        table_idx: TableColumn,
    ) -> Self {
        meta.enable_constant(constants);
        let range_check = PallasLookupRangeCheckConfig::configure(meta, advices[9], table_idx);
        let ecc = CityEccChip::configure(meta, advices, lagrange_coeffs, range_check);
        SchnorrConfig { ecc, table_idx }
    }

    /// The ECC chip, built with the anchored variable-base multiplication (the only sound
    /// version of `halo2_gadgets`' circuit).
    pub fn ecc_chip(&self) -> CityEccChip {
        EccChip::construct(self.ecc.clone(), CircuitVersion::AnchoredBase)
    }

    /// The 10-bit lookup range check, for other gadgets that want to share its table.
    pub fn range_check(&self) -> PallasLookupRangeCheckConfig {
        self.ecc.lookup_config
    }

    /// Fills the lookup table with `0..2^10`. Call once per synthesis.
    ///
    /// (`halo2_gadgets` loads this table from its Sinsemilla chip, and its table-only loader
    /// is test-only, so the circuit loads it here.)
    pub fn load_range_check_table(
        &self,
        layouter: &mut impl Layouter<pallas::Base>,
    ) -> Result<(), Error> {
        load_range_check_table(layouter, self.table_idx)
    }
}

/// Fills the lookup table column `table_idx` with `0..2^10` (for a circuit that configures
/// the 10-bit lookup range check without the ECC chip). Call once per synthesis.
pub fn load_range_check_table(
    layouter: &mut impl Layouter<pallas::Base>,
    table_idx: TableColumn,
) -> Result<(), Error> {
    layouter.assign_table(
        || "table_idx = 0..2^10",
        |mut table| {
            for index in 0..(1usize << RANGE_CHECK_BITS) {
                table.assign_cell(
                    || "table_idx",
                    table_idx,
                    index,
                    || Value::known(pallas::Base::from(index as u64)),
                )?;
            }
            Ok(())
        },
    )
}

/// Witnesses a point that must be on the curve and not the identity (a public key, or a
/// signature's `R`). Synthesis fails with [`Error::Synthesis`] if the value is the identity.
pub fn witness_point(
    ecc: &CityEccChip,
    layouter: impl Layouter<pallas::Base>,
    point: Value<pallas::Affine>,
) -> Result<AssignedPoint, Error> {
    NonIdentityPoint::new(ecc.clone(), layouter, point)
}

/// Witnesses a public key (never the identity, by [`PublicKey`]'s construction).
pub fn witness_public_key(
    ecc: &CityEccChip,
    layouter: impl Layouter<pallas::Base>,
    public_key: Value<PublicKey>,
) -> Result<AssignedPoint, Error> {
    witness_point(ecc, layouter, public_key.map(|pk| pk.point()))
}

/// The cells of a witnessed point's affine coordinates `(x, y)`, to feed the challenge hash
/// or to compare with a leaf.
pub fn coordinates(point: &AssignedPoint) -> (Cell, Cell) {
    (point.inner().x(), point.inner().y())
}

/// Constrains `s·G = R + c·PK`.
///
/// `challenge` is the cell holding `c`, already computed in the circuit by the caller (see
/// the module documentation for what this does not constrain). `s` is witnessed here.
pub fn verify_signature(
    ecc: &CityEccChip,
    mut layouter: impl Layouter<pallas::Base>,
    public_key: &AssignedPoint,
    r: &AssignedPoint,
    challenge: Cell,
    s: Value<pallas::Scalar>,
) -> Result<(), Error> {
    // c·PK, with c the base-field cell read as a scalar.
    let c = ScalarVar::from_base(
        ecc.clone(),
        layouter.namespace(|| "c as scalar"),
        &challenge,
    )?;
    let (c_pk, _) = public_key.mul(layouter.namespace(|| "c·PK"), c)?;

    // R + c·PK (complete addition: c·PK may be the identity, e.g. for c = 0).
    let rhs = r.add(layouter.namespace(|| "R + c·PK"), &c_pk)?;

    // s·G, full width.
    let s = ScalarFixed::new(ecc.clone(), layouter.namespace(|| "witness s"), s)?;
    let generator = FixedPoint::from_inner(ecc.clone(), GeneratorBase);
    let (s_g, _) = generator.mul(layouter.namespace(|| "s·G"), s)?;
    s_g.constrain_equal(layouter.namespace(|| "s·G = R + c·PK"), &rhs)
}

#[cfg(test)]
mod tests {
    use ff::Field;
    use group::{Curve, Group};
    use halo2_proofs::circuit::SimpleFloorPlanner;
    use halo2_proofs::dev::{MockProver, VerifyFailure};
    use halo2_proofs::plonk::Circuit;
    use pasta_curves::arithmetic::CurveAffine;

    use super::*;
    use crate::constants::domain;
    use crate::hash::{poseidon, tag, Fp};
    use crate::keys::{base_to_scalar, SecretKey, Signature};
    use crate::testing::assert_only_final_equality_fails;

    /// The smallest `k` the test circuit fits in: the 10-bit table alone takes 1,024 rows.
    const K: u32 = 11;

    /// One check's witness: `PK`, `R`, the challenge cell's value `c`, and `s`.
    #[derive(Clone, Copy, Debug)]
    struct Check {
        pk: Value<pallas::Affine>,
        r: Value<pallas::Affine>,
        c: Value<pallas::Base>,
        s: Value<pallas::Scalar>,
    }

    impl Check {
        /// The honest witness of `sig` on `message` by `pk`, with `c` computed natively.
        fn new(pk: PublicKey, message: Fp, sig: Signature) -> Self {
            Check {
                pk: Value::known(pk.point()),
                r: Value::known(sig.r),
                c: Value::known(challenge(&sig.r, &pk.point(), message)),
                s: Value::known(sig.s),
            }
        }

        fn unknown() -> Self {
            Check {
                pk: Value::unknown(),
                r: Value::unknown(),
                c: Value::unknown(),
                s: Value::unknown(),
            }
        }
    }

    /// `Poseidon(SIGNATURE, R.x, R.y, d)` with `d` the key and message's digest, as
    /// [`crate::keys`] computes it.
    fn challenge(r: &pallas::Affine, pk: &pallas::Affine, message: Fp) -> Fp {
        let r = r.coordinates().unwrap();
        let pk = crate::keys::PublicKey::try_from(*pk).unwrap();
        let d = crate::keys::signed_digest(&pk, message);
        poseidon([tag(domain::SIGNATURE), *r.x(), *r.y(), d])
    }

    /// Witnesses `PK`, `R` and `c`, and runs [`verify_signature`] once per check.
    #[derive(Clone, Debug)]
    struct SignatureCircuit {
        checks: Vec<Check>,
    }

    impl Circuit<pallas::Base> for SignatureCircuit {
        type Config = (SchnorrConfig, Column<Advice>);
        type FloorPlanner = SimpleFloorPlanner;

        fn without_witnesses(&self) -> Self {
            SignatureCircuit {
                checks: vec![Check::unknown(); self.checks.len()],
            }
        }

        fn configure(meta: &mut ConstraintSystem<pallas::Base>) -> Self::Config {
            let advices = [(); 10].map(|_| meta.advice_column());
            let lagrange_coeffs = [(); 8].map(|_| meta.fixed_column());
            let constants = meta.fixed_column();
            let table_idx = meta.lookup_table_column();
            let config =
                SchnorrConfig::configure(meta, advices, lagrange_coeffs, constants, table_idx);
            (config, advices[0])
        }

        fn synthesize(
            &self,
            (config, c_column): Self::Config,
            mut layouter: impl Layouter<pallas::Base>,
        ) -> Result<(), Error> {
            config.load_range_check_table(&mut layouter)?;
            let ecc = config.ecc_chip();
            for (i, check) in self.checks.iter().enumerate() {
                let mut layouter = layouter.namespace(|| format!("signature {i}"));
                let pk = witness_point(&ecc, layouter.namespace(|| "PK"), check.pk)?;
                let r = witness_point(&ecc, layouter.namespace(|| "R"), check.r)?;
                let c = layouter.assign_region(
                    || "witness c",
                    |mut region| region.assign_advice(|| "c", c_column, 0, || check.c),
                )?;
                verify_signature(&ecc, layouter.namespace(|| "verify"), &pk, &r, c, check.s)?;
            }
            Ok(())
        }
    }

    fn run(checks: Vec<Check>) -> Result<(), Vec<VerifyFailure>> {
        MockProver::run(K, &SignatureCircuit { checks }, vec![])
            .expect("synthesis succeeds")
            .verify()
    }

    fn signed(seed: &[u8], message: u64) -> (PublicKey, Fp, Signature) {
        let sk = SecretKey::from_seed(seed);
        let message = Fp::from(message);
        (sk.public_key(), message, sk.sign(message))
    }

    #[test]
    fn honest_signature_passes() {
        let (pk, message, sig) = signed(b"alice", 42);
        pk.verify(message, &sig).unwrap();
        assert_eq!(run(vec![Check::new(pk, message, sig)]), Ok(()));
    }

    #[test]
    fn forged_response_fails_the_final_equality() {
        let (pk, message, sig) = signed(b"alice", 42);
        let mut check = Check::new(pk, message, sig);
        check.s = Value::known(sig.s + pallas::Scalar::ONE);
        assert_only_final_equality_fails(run(vec![check]));
    }

    #[test]
    fn other_message_fails_the_final_equality() {
        let (pk, message, sig) = signed(b"alice", 42);
        let check = Check::new(pk, message + Fp::ONE, sig);
        assert_only_final_equality_fails(run(vec![check]));
    }

    #[test]
    fn other_public_key_fails_the_final_equality() {
        let (_, message, sig) = signed(b"alice", 42);
        let (mallory, _, _) = signed(b"mallory", 42);
        let check = Check::new(mallory, message, sig);
        assert_only_final_equality_fails(run(vec![check]));
    }

    /// Edge challenges, with `R = s·G - c·PK` solved for: `c = 0` makes `c·PK` the identity,
    /// `c = p - 1` is the largest base-field element.
    #[test]
    fn edge_challenges_pass() {
        let pk = SecretKey::from_seed(b"edge").public_key().point();
        let s = pallas::Scalar::from(12345);
        for c in [Fp::ZERO, Fp::ONE, -Fp::ONE] {
            let r = (pallas::Point::generator() * s - pk * base_to_scalar(c)).to_affine();
            let check = Check {
                pk: Value::known(pk),
                r: Value::known(r),
                c: Value::known(c),
                s: Value::known(s),
            };
            assert_eq!(run(vec![check]), Ok(()), "c = {c:?}");
        }
    }

    /// A placeholder signature (`R` the identity) cannot be witnessed at all.
    #[test]
    fn identity_commitment_cannot_be_witnessed() {
        let (pk, message, sig) = signed(b"alice", 42);
        let mut check = Check::new(pk, message, sig);
        check.r = Value::known(Signature::default().r);
        let circuit = SignatureCircuit {
            checks: vec![check],
        };
        assert!(matches!(
            MockProver::run(K, &circuit, vec![]),
            Err(Error::Synthesis)
        ));
    }

    /// The advice rows used, read from `CircuitCost`'s report (its fields are private).
    fn advice_rows(checks: usize) -> usize {
        let (pk, message, sig) = signed(b"alice", 42);
        let circuit = SignatureCircuit {
            checks: vec![Check::new(pk, message, sig); checks],
        };
        crate::testing::advice_rows(K + 2, &circuit)
    }

    /// Pins the size of one check (`PK`, `R` and `c` witnessed, then [`verify_signature`])
    /// and of a second one, the constraint degree, and that `K = 11` is enough.
    #[test]
    fn rows_used_by_one_check() {
        let one = advice_rows(1);
        let two = advice_rows(2);
        println!("advice rows: one check {one}, two checks {two}");
        assert_eq!((one, two), (233, 466));

        let mut meta = ConstraintSystem::<pallas::Base>::default();
        SignatureCircuit::configure(&mut meta);
        assert_eq!(meta.degree(), 9);

        let (pk, message, sig) = signed(b"alice", 42);
        assert_eq!(run(vec![Check::new(pk, message, sig)]), Ok(()));
    }

    /// A real proof of one honest check at `K = 11` verifies (and has the pinned size); the
    /// prover does not check its witness, so a proof made from a forged `s` is produced but
    /// refused by the verifier.
    #[test]
    fn real_proof_of_one_check_verifies() {
        use halo2_proofs::plonk::{
            create_proof, keygen_pk, keygen_vk, verify_proof, SingleVerifier,
        };
        use halo2_proofs::poly::commitment::Params;
        use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
        use pasta_curves::vesta;
        use rand_core::SeedableRng;

        let params = Params::<vesta::Affine>::new(K);
        let shape = SignatureCircuit {
            checks: vec![Check::unknown()],
        };
        let vk = keygen_vk(&params, &shape).unwrap();
        let proving_key = keygen_pk(&params, vk.clone(), &shape).unwrap();

        let prove_and_verify = |check: Check| {
            let circuit = SignatureCircuit {
                checks: vec![check],
            };
            let mut transcript = Blake2bWrite::<_, vesta::Affine, Challenge255<_>>::init(vec![]);
            let rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
            create_proof(
                &params,
                &proving_key,
                &[circuit],
                &[&[]],
                rng,
                &mut transcript,
            )
            .unwrap();
            let proof = transcript.finalize();
            let mut transcript = Blake2bRead::<_, vesta::Affine, Challenge255<_>>::init(&proof[..]);
            let verified = verify_proof(
                &params,
                &vk,
                SingleVerifier::new(&params),
                &[&[]],
                &mut transcript,
            );
            (proof.len(), verified)
        };

        let (pk, message, sig) = signed(b"alice", 42);
        let honest = Check::new(pk, message, sig);
        let (size, verified) = prove_and_verify(honest);
        assert_eq!(size, 3872);
        assert!(verified.is_ok());

        let forged = Check {
            s: Value::known(sig.s + pallas::Scalar::ONE),
            ..honest
        };
        assert!(prove_and_verify(forged).1.is_err());
    }
}
