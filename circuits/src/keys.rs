//! Pallas key pairs and Schnorr signatures with a Poseidon challenge.
//!
//! A signature `(R, s)` on a message `m` (a field element) by public key `PK` is valid when
//! `s·G = R + c·PK`, with `c = Poseidon(SIGNATURE, R.x, R.y, d)` read as a scalar, where `d =
//! Poseidon(SIGNED, PK.x, PK.y, m)` ([`signed_digest`]) binds the key and the message: two
//! hashes of four words, one width-5 permutation each (one hash of six words took two, and
//! the signature circuit takes `d` as a public input the verifier computes, so it hashes only
//! the challenge). Every base-field element is a canonical scalar (Pallas' scalar modulus is the larger), so
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

impl Default for Signature {
    /// The placeholder of a transaction not yet signed: `R` is the identity, so it never
    /// verifies.
    fn default() -> Self {
        Signature {
            r: <pallas::Affine as group::CurveAffine>::identity(),
            s: Scalar::zero(),
        }
    }
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
        if s_g_minus_c_pk(&sig.s, &c, &self.0) == pallas::Point::from(sig.r) {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }
}

/// `s·G − c·PK` in one pass over the scalars' bits (Shamir's trick: 255 doublings shared by
/// both products, and an addition of `G`, `−PK` or `G − PK` where a bit is set). Variable
/// time, which verification may be (its inputs are public); about twice as fast as two
/// constant-time products, and a signature check is most of a transfer's ingest.
fn s_g_minus_c_pk(s: &pallas::Scalar, c: &pallas::Scalar, pk: &pallas::Affine) -> pallas::Point {
    let g = pallas::Point::generator();
    let minus_pk = -pallas::Point::from(*pk);
    let both = g + minus_pk;
    let (s, c) = (s.to_repr(), c.to_repr());
    let bit = |repr: &[u8; 32], i: usize| (repr[i / 8] >> (i % 8)) & 1 == 1;
    let mut acc = pallas::Point::identity();
    for i in (0..255).rev() {
        acc = acc.double();
        match (bit(&s, i), bit(&c, i)) {
            (true, true) => acc += both,
            (true, false) => acc += g,
            (false, true) => acc += minus_pk,
            (false, false) => {}
        }
    }
    acc
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

/// What a signature binds besides `R`: `d = Poseidon(SIGNED, PK.x, PK.y, m)`, the key and the
/// message. The verifier of a signature proof computes it for each entry from the key a
/// chunk exposed and the message of the published transaction.
pub fn signed_digest(pk: &PublicKey, message: Fp) -> Fp {
    let (x, y) = pk.coordinates();
    poseidon([tag(domain::SIGNED), x, y, message])
}

/// The challenge `c = Poseidon(SIGNATURE, R.x, R.y, d)` as a scalar, `d` the key and message's
/// [`signed_digest`].
pub fn challenge_of(r: &pallas::Affine, digest: Fp) -> Result<Scalar, SignatureError> {
    let r: Option<Coordinates<pallas::Affine>> = r.coordinates().into();
    let r = r.ok_or(SignatureError::IdentityPoint)?;
    let c = poseidon([tag(domain::SIGNATURE), *r.x(), *r.y(), digest]);
    Ok(base_to_scalar(c))
}

fn challenge(
    r: &pallas::Affine,
    pk: &pallas::Affine,
    message: Fp,
) -> Result<Scalar, SignatureError> {
    let pk = PublicKey::try_from(*pk)?;
    challenge_of(r, signed_digest(&pk, message))
}

/// A base-field element as the scalar with the same integer value (always canonical, since
/// the scalar modulus is larger): what `ScalarVar::from_base` does in the circuit.
pub fn base_to_scalar(value: Fp) -> Scalar {
    Scalar::from_repr(value.to_repr()).expect("p < q, so every base element is a scalar")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;

    #[test]
    fn the_joint_product_is_s_g_minus_c_pk() {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let g = pallas::Point::generator();
        for round in 0..24 {
            let pk = (g * pallas::Scalar::random(&mut rng)).to_affine();
            let (s, c) = match round {
                0 => (pallas::Scalar::ZERO, pallas::Scalar::ZERO),
                1 => (pallas::Scalar::ZERO, -pallas::Scalar::ONE),
                2 => (-pallas::Scalar::ONE, pallas::Scalar::ONE),
                _ => (
                    pallas::Scalar::random(&mut rng),
                    pallas::Scalar::random(&mut rng),
                ),
            };
            assert_eq!(
                s_g_minus_c_pk(&s, &c, &pk),
                g * s - pallas::Point::from(pk) * c
            );
        }
    }

    /// (seed, message, secret key, public key, R, s), all hex of canonical bytes. They pin
    /// key derivation, nonce derivation and the challenge: a change to any is deliberate.
    /// Seed, message, then hex of: secret key, public key, R, s.
    type Vector = (
        &'static [u8],
        u64,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );

    const VECTORS: [Vector; 2] = [
        (
            b"test vector 1",
            42,
            "d6a166a62316cefad025146e67544fca33ffa06589349bc693d7a1ebd7aa3e0b",
            "c9505dec70d0cd5bf4044d53034fd78332c4f144d689945f513d3aa5c092220a",
            "ec90bcff7454ab3b9f6a6df76b6da7ee1fe4426c3dab80db0c8fb054c250cf92",
            "5aafc5be4fbc11740d194493a227d823de653b5f028a4bd76f69d95b523bca20",
        ),
        (
            b"test vector 2",
            0,
            "41331f5e1202dc98d14d8ea73cc024b8e32b27c4c98ffdc22299022660dfff35",
            "0297bdddd767a10ae24e12a4ad781abb9995903b47f777ff416725effe413b81",
            "4090e7b7e133428e8cda051087671210d240081bf80550758367a3dd94291591",
            "872d4cf1d6a23d42df7d30aa31cf0db8852ad29518b4c0cacc09b5ac50a27132",
        ),
    ];

    #[test]
    fn signatures_match_the_test_vectors_and_verify() {
        for (seed, message, sk_hex, pk_hex, r_hex, s_hex) in VECTORS {
            let sk = SecretKey::from_seed(seed);
            let sig = sk.sign(Fp::from(message));
            assert_eq!(hex::encode(sk.to_bytes()), sk_hex);
            assert_eq!(hex::encode(sk.public_key().to_bytes()), pk_hex);
            assert_eq!(hex::encode(sig.r.to_bytes()), r_hex);
            assert_eq!(hex::encode(sig.s.to_repr()), s_hex);
            sk.public_key().verify(Fp::from(message), &sig).unwrap();
            // The equation by hand: s·G = R + c·PK with the Poseidon challenge over R and the
            // key and message's digest.
            let pk = sk.public_key();
            let (px, py) = pk.coordinates();
            let r = sig.r.coordinates().unwrap();
            let d = poseidon([tag(domain::SIGNED), px, py, Fp::from(message)]);
            let c = base_to_scalar(poseidon([tag(domain::SIGNATURE), *r.x(), *r.y(), d]));
            assert_eq!(
                pallas::Point::generator() * sig.s,
                pallas::Point::from(sig.r) + pk.point() * c
            );
        }
    }

    #[test]
    fn wrong_message_key_or_response_fails() {
        let sk = SecretKey::from_seed(b"a");
        let pk = sk.public_key();
        let sig = sk.sign(Fp::from(7));
        assert_eq!(pk.verify(Fp::from(8), &sig), Err(SignatureError::Invalid));
        let other = SecretKey::from_seed(b"b").public_key();
        assert_eq!(
            other.verify(Fp::from(7), &sig),
            Err(SignatureError::Invalid)
        );
        let tampered = Signature {
            s: sig.s + Scalar::ONE,
            ..sig
        };
        assert_eq!(
            pk.verify(Fp::from(7), &tampered),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            pk.verify(Fp::from(7), &Signature::default()),
            Err(SignatureError::IdentityPoint)
        );
    }

    #[test]
    fn edge_messages_sign_and_keys_round_trip() {
        let sk = SecretKey::from_seed(b"edge");
        for message in [Fp::ZERO, -Fp::ONE, Fp::from(u64::MAX)] {
            sk.public_key().verify(message, &sk.sign(message)).unwrap();
        }
        assert_eq!(SecretKey::from_bytes(sk.to_bytes()), Some(sk.clone()));
        assert_eq!(SecretKey::from_bytes([0; 32]), None);
        assert_eq!(format!("{sk:?}"), "SecretKey(..)");
    }

    #[test]
    fn public_keys_refuse_the_identity_in_json() {
        let pk = SecretKey::from_seed(b"json").public_key();
        let json = serde_json::to_string(&pk).unwrap();
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), pk);
        let identity = format!("\"{}\"", "00".repeat(32));
        assert!(serde_json::from_str::<PublicKey>(&identity).is_err());
    }
}
