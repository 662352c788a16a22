//! Pallas key pairs and Schnorr signatures with a Poseidon challenge.
//!
//! A signature `(R, s)` on a message `m` (a field element) by public key `PK` is valid when
//! `s·G = R + c·PK`, with `c = Poseidon(SIGNATURE, R.x, R.y, PK.x, PK.y, m)` read as a scalar.
//! Every base-field element is a canonical scalar (Pallas' scalar modulus is the larger), so
//! the circuit can take `c` with `ScalarVar::from_base` and `s` as a full-width fixed-base
//! scalar; the hash is the same Poseidon the circuit uses. The signing nonce is derived
//! deterministically (BLAKE2b of the secret and the message), so signing needs no randomness.

use std::fmt;

use ff::{FromUniformBytes, PrimeField};
use group::{Curve, Group, GroupEncoding};
use pasta_curves::arithmetic::{Coordinates, CurveAffine};
use pasta_curves::pallas;
use serde::{Deserialize, Serialize};

use crate::constants::domain;
use crate::hash::{poseidon, tag, Fp};

/// Pallas' scalar field.
pub type Scalar = pallas::Scalar;

/// Why a key or a signature is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The public key or `R` is the point at infinity, which has no affine coordinates.
    #[error("a signature point or public key is the identity")]
    IdentityPoint,
    /// `s·G ≠ R + c·PK`.
    #[error("the signature does not verify for this key and message")]
    Invalid,
}

/// A secret signing key: a non-zero Pallas scalar.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Scalar);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// A public key: a Pallas point other than the identity. JSON: 32-byte compressed hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "pallas::Affine", into = "pallas::Affine")]
pub struct PublicKey(pallas::Affine);

/// A Schnorr signature `(R, s)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The commitment `R = k·G`.
    pub r: pallas::Affine,
    /// The response `s = k + c·sk`.
    pub s: Scalar,
}

impl SecretKey {
    /// A key derived from 32 bytes of seed (BLAKE2b, wide reduction). Use a random seed for
    /// real keys; the demo city derives its keys from names.
    pub fn from_seed(seed: &[u8]) -> Self {
        let wide = blake2b_simd::Params::new()
            .hash_length(64)
            .personal(b"CityRollupSecret")
            .hash(seed);
        let scalar = Scalar::from_uniform_bytes(wide.as_array());
        // A zero scalar happens with probability 2^-254; derive again rather than panic.
        if bool::from(ff::Field::is_zero(&scalar)) {
            return Self::from_seed(wide.as_bytes());
        }
        SecretKey(scalar)
    }

    /// A fresh random key.
    pub fn random(rng: &mut impl rand_core::Rng) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        Self::from_seed(&seed)
    }

    /// The key's canonical bytes (keep them secret).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_repr()
    }

    /// Reads a key written by [`SecretKey::to_bytes`].
    pub fn from_bytes(bytes: [u8; 32]) -> Option<Self> {
        let scalar: Option<Scalar> = Scalar::from_repr(bytes).into();
        scalar
            .filter(|s| !bool::from(ff::Field::is_zero(s)))
            .map(SecretKey)
    }

    /// The matching public key `sk·G`.
    pub fn public_key(&self) -> PublicKey {
        PublicKey((pallas::Point::generator() * self.0).to_affine())
    }

    /// Signs a message.
    pub fn sign(&self, message: Fp) -> Signature {
        let pk = self.public_key();
        let wide = blake2b_simd::Params::new()
            .hash_length(64)
            .personal(b"CityRollupNonce_")
            .to_state()
            .update(&self.0.to_repr())
            .update(&message.to_repr())
            .finalize();
        let k = Scalar::from_uniform_bytes(wide.as_array());
        let r = (pallas::Point::generator() * k).to_affine();
        let c = challenge(&r, &pk.0, message).expect("R = k·G is not the identity for k ≠ 0");
        Signature {
            r,
            s: k + c * self.0,
        }
    }
}

impl PublicKey {
    /// The affine point.
    pub fn point(&self) -> pallas::Affine {
        self.0
    }

    /// The affine coordinates `(x, y)`, as they enter hashes and leaves.
    pub fn coordinates(&self) -> (Fp, Fp) {
        let c = self.0.coordinates().unwrap();
        (*c.x(), *c.y())
    }

    /// Compressed 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Checks `sig` on `message`: `s·G = R + c·PK`.
    pub fn verify(&self, message: Fp, sig: &Signature) -> Result<(), SignatureError> {
        let c = challenge(&sig.r, &self.0, message)?;
        let lhs = pallas::Point::generator() * sig.s;
        let rhs = pallas::Point::from(sig.r) + self.0 * c;
        if lhs == rhs {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }
}

impl TryFrom<pallas::Affine> for PublicKey {
    type Error = SignatureError;
    fn try_from(point: pallas::Affine) -> Result<Self, Self::Error> {
        if bool::from(point.coordinates().is_none()) {
            Err(SignatureError::IdentityPoint)
        } else {
            Ok(PublicKey(point))
        }
    }
}

impl From<PublicKey> for pallas::Affine {
    fn from(pk: PublicKey) -> Self {
        pk.0
    }
}

/// The challenge `c = Poseidon(SIGNATURE, R.x, R.y, PK.x, PK.y, m)` as a scalar.
fn challenge(r: &pallas::Affine, pk: &pallas::Affine, message: Fp) -> Result<Scalar, SignatureError> {
    let r: Option<Coordinates<pallas::Affine>> = r.coordinates().into();
    let r = r.ok_or(SignatureError::IdentityPoint)?;
    let pk: Option<Coordinates<pallas::Affine>> = pk.coordinates().into();
    let pk = pk.ok_or(SignatureError::IdentityPoint)?;
    let c = poseidon([tag(domain::SIGNATURE), *r.x(), *r.y(), *pk.x(), *pk.y(), message]);
    Ok(base_to_scalar(c))
}

/// A base-field element as the scalar with the same integer value (always canonical, since
/// the scalar modulus is larger): what `ScalarVar::from_base` does in the circuit.
pub fn base_to_scalar(value: Fp) -> Scalar {
    Scalar::from_repr(value.to_repr()).expect("p < q, so every base element is a scalar")
}
