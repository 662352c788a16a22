//! The field and the one hash of the rollup: Poseidon over Pallas' base field at width 5
//! ([`P128Pow5T5`], rate 4, x⁵ S-box), the construction of Zcash's P128Pow5T3 at the width
//! that hashes four words in one permutation (a Merkle node of the arity-4 trees, a record
//! of four words). Its constants come from the reference Grain generator
//! (`generate_constants`), its round numbers and MDS matrix are justified in
//! [`crate::poseidon`]'s tests. Native rules and circuits use the same `Spec`, so they hash
//! identically; natively the permutation runs with sparse partial rounds
//! ([`permutation`], tested equal to `halo2_gadgets`' sponge). (Width 3 took two permutations per node and
//! per four-word record, and a second set of gates in every circuit.)
//!
//! Also the packing of small integers into one field element: three `u64` fit below the
//! modulus (192 < 254 bits), which lets a record of many counters hash in few permutations.

use std::sync::OnceLock;

use ff::{Field, PrimeField};
use halo2_gadgets::poseidon::primitives::{generate_constants, Mds, Spec};

use crate::constants::domain;

mod permutation;

/// Pallas' base field: every value of the state is one of these.
pub type Fp = pasta_curves::pallas::Base;

/// The rollup's hash of a fixed number of field elements: [`poseidon_t5`], `ceil(L / 4)`
/// permutations, in the circuit as natively.
pub fn poseidon<const L: usize>(message: [Fp; L]) -> Fp {
    poseidon_t5(message)
}

/// Poseidon-128 with the x⁵ S-box at width 5 (rate 4): `R_F = 8` full rounds and `R_P = 60`
/// partial rounds (128-bit security with the Poseidon paper's margin of two full rounds and
/// 7.5% partial rounds; the inequalities are checked by a test in [`crate::poseidon`]), round
/// constants and MDS matrix from the reference Grain generator: the third MDS candidate
/// (`secure_mds` = 2), the first whose powers all have irreducible characteristic
/// polynomials (no invariant subspace trail; the same tests check it, and that the first two
/// fail).
#[derive(Debug)]
pub struct P128Pow5T5;

/// Round constants, MDS matrix and its inverse of a width-5 instance.
type T5Constants = (Vec<[Fp; 5]>, Mds<Fp, 5>, Mds<Fp, 5>);

/// Full rounds of [`P128Pow5T5`].
pub const T5_FULL_ROUNDS: usize = 8;
/// Partial rounds of [`P128Pow5T5`].
pub const T5_PARTIAL_ROUNDS: usize = 60;

impl Spec<Fp, 5, 4> for P128Pow5T5 {
    fn full_rounds() -> usize {
        T5_FULL_ROUNDS
    }

    fn partial_rounds() -> usize {
        T5_PARTIAL_ROUNDS
    }

    /// `x⁵` as two squarings and a multiplication (`pow_vartime([5])` walks all 64 bits of
    /// its exponent limb; measured 6% of a native permutation). Inlined: the native
    /// permutation calls it in every round.
    #[inline(always)]
    fn sbox(val: Fp) -> Fp {
        val.square().square() * val
    }

    fn secure_mds() -> usize {
        2
    }

    fn constants() -> T5Constants {
        // Generated once (the Grain stream), then copied.
        static CONSTANTS: OnceLock<T5Constants> = OnceLock::new();
        CONSTANTS
            .get_or_init(generate_constants::<Fp, P128Pow5T5, 5, 4>)
            .clone()
    }
}

/// Poseidon ([`P128Pow5T5`], rate 4) of a fixed number of field elements: `ceil(L / 4)`
/// permutations. The sponge of `halo2_poseidon`'s `Hash<_, P128Pow5T5, ConstantLength<L>, 5,
/// 4>`, on the same permutation computed with sparse partial rounds ([`permutation`]).
pub fn poseidon_t5<const L: usize>(message: [Fp; L]) -> Fp {
    permutation::hash(message)
}

/// The sponge's first capacity word for a message of `L` words in `domain`: `L·2^64 +
/// domain·2^128`. Domain 0 is `halo2_poseidon`'s `ConstantLength<L>` (`L·2^64`); `L` is
/// below `2^64`, so different domains or lengths never start from the same state.
pub fn capacity<const L: usize>(domain: u64) -> Fp {
    pack(&[0, L as u64, domain])
}

/// Poseidon of `L` words in a domain of its own: the sponge of [`poseidon_t5`] started from
/// the capacity word [`capacity`]`::<L>(domain)` rather than with a tag as a first word
/// (the Poseidon paper's domain separation in the capacity), so a record of four words
/// hashes in one permutation where the tag made it five words and two permutations. Used
/// for the account leaf ([`crate::records::Account`]).
pub fn poseidon_in<const L: usize>(domain: u64, message: [Fp; L]) -> Fp {
    assert!(domain != 0, "domain 0 is the plain sponge's");
    permutation::hash_from(capacity::<L>(domain), message)
}

/// `Poseidon(a, b)`, one permutation: a link of a chunk's data hash chain.
pub fn node(a: Fp, b: Fp) -> Fp {
    poseidon([a, b])
}

/// A Merkle node (the trees have arity 4): `Poseidon_t5(c0, c1, c2, c3)` ([`P128Pow5T5`]), one
/// permutation for four children.
pub fn node4(children: [Fp; 4]) -> Fp {
    poseidon_t5(children)
}

/// A domain separator as a field element.
pub fn tag(domain: u64) -> Fp {
    Fp::from(domain)
}

/// Packs up to three `u64` into one field element: `parts[0] + 2^64 parts[1] + 2^128 parts[2]`.
///
/// # Panics
/// If given more than three parts (a programming error, never input-dependent).
pub fn pack(parts: &[u64]) -> Fp {
    assert!(parts.len() <= 3, "pack takes at most three u64");
    let mut repr = [0u8; 32];
    for (i, part) in parts.iter().enumerate() {
        repr[8 * i..8 * i + 8].copy_from_slice(&part.to_le_bytes());
    }
    Fp::from_repr(repr).expect("192 bits are below the modulus")
}

/// The inverse of [`pack`]: the three `u64` limbs of a field element, or `None` if it has
/// any bit at or above 2^192.
pub fn unpack(value: Fp) -> Option<[u64; 3]> {
    let repr = value.to_repr();
    if repr[24..].iter().any(|b| *b != 0) {
        return None;
    }
    let limb = |i: usize| u64::from_le_bytes(repr[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    Some([limb(0), limb(1), limb(2)])
}

/// The low 64 bits of a field element's canonical little-endian representation.
pub fn low_u64(value: Fp) -> u64 {
    u64::from_le_bytes(value.to_repr()[..8].try_into().expect("8 bytes"))
}

/// A field element as lowercase hex of its canonical little-endian bytes (the JSON form).
pub fn to_hex(value: &Fp) -> String {
    hex::encode(value.to_repr())
}

/// Hashes text or a document to one field element: `h0 = Poseidon(TEXT, len)`, then
/// `h = Poseidon(h, chunk)` for each 31-byte little-endian chunk. Used for proposal wording,
/// option labels and fleet documents; the full text travels in the batch data.
pub fn hash_bytes(bytes: &[u8]) -> Fp {
    let mut acc = poseidon([tag(domain::TEXT), Fp::from(bytes.len() as u64)]);
    for chunk in bytes.chunks(31) {
        let mut repr = [0u8; 32];
        repr[..chunk.len()].copy_from_slice(chunk);
        let word = Fp::from_repr(repr).expect("248 bits are below the modulus");
        acc = poseidon([acc, word]);
    }
    acc
}

/// `true` for the zero element; a readable name at call sites that test "empty".
pub fn is_zero(value: &Fp) -> bool {
    bool::from(value.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_gadgets::poseidon::primitives::{ConstantLength, Hash};
    use rand_chacha::rand_core::SeedableRng;

    /// `halo2_poseidon`'s sponge and permutation, the reference.
    fn reference<const L: usize>(message: [Fp; L]) -> Fp {
        Hash::<Fp, P128Pow5T5, ConstantLength<L>, 5, 4>::init().hash(message)
    }

    fn random<const L: usize>(rng: &mut rand_chacha::ChaCha20Rng) -> [Fp; L] {
        std::array::from_fn(|_| Fp::random(&mut *rng))
    }

    fn same_as_reference<const L: usize>(rng: &mut rand_chacha::ChaCha20Rng) {
        for _ in 0..8 {
            let message = random::<L>(rng);
            assert_eq!(poseidon_t5(message), reference(message), "L = {L}");
        }
        assert_eq!(poseidon_t5([Fp::zero(); L]), reference([Fp::zero(); L]));
        assert_eq!(poseidon_t5([-Fp::one(); L]), reference([-Fp::one(); L]));
    }

    #[test]
    fn the_sparse_permutation_is_the_reference_sponge_at_every_length() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        same_as_reference::<1>(&mut rng);
        same_as_reference::<2>(&mut rng);
        same_as_reference::<3>(&mut rng);
        same_as_reference::<4>(&mut rng);
        same_as_reference::<5>(&mut rng);
        same_as_reference::<6>(&mut rng);
        same_as_reference::<7>(&mut rng);
        same_as_reference::<8>(&mut rng);
        same_as_reference::<9>(&mut rng);
        same_as_reference::<10>(&mut rng);
        same_as_reference::<11>(&mut rng);
        same_as_reference::<12>(&mut rng);
        same_as_reference::<13>(&mut rng);
    }

    /// `halo2_poseidon`'s permutation run as a sponge from the capacity word of `domain`
    /// (the reference's sponge fixes its capacity to `ConstantLength`'s): the reference for
    /// [`poseidon_in`].
    fn reference_in<const L: usize>(domain: u64, message: [Fp; L]) -> Fp {
        let (rc, mds, _) = <P128Pow5T5 as Spec<Fp, 5, 4>>::constants();
        let mut state = [Fp::ZERO; 5];
        state[4] = Fp::from_u128((L as u128) << 64) + Fp::from(domain) * Fp::from(2).pow([128]);
        for block in message.chunks(4) {
            for (word, m) in state.iter_mut().zip(block) {
                *word += m;
            }
            halo2_poseidon::test_only_permute::<Fp, P128Pow5T5, 5, 4>(&mut state, &mds, &rc);
        }
        state[0]
    }

    #[test]
    fn a_domain_in_the_capacity_is_the_reference_sponge_from_that_capacity() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(6);
        for _ in 0..4 {
            let four = random::<4>(&mut rng);
            assert_eq!(
                poseidon_in(domain::ACCOUNT, four),
                reference_in(domain::ACCOUNT, four)
            );
            let five = random::<5>(&mut rng);
            assert_eq!(poseidon_in(7, five), reference_in(7, five));
            // The reference from domain 0 is the reference sponge.
            assert_eq!(reference_in(0, five), reference(five));
            // Another domain, or none, is another hash of the same words.
            assert_ne!(poseidon_in(domain::ACCOUNT, four), poseidon(four));
            assert_ne!(
                poseidon_in(domain::ACCOUNT, four),
                poseidon_in(domain::OWNER, four)
            );
        }
        assert_eq!(capacity::<4>(0), Fp::from_u128(4 << 64));
    }

    #[test]
    fn pack_round_trips_edge_values() {
        for parts in [[0, 0, 0], [u64::MAX, u64::MAX, u64::MAX], [1, 0, u64::MAX]] {
            assert_eq!(unpack(pack(&parts)), Some(parts));
        }
        assert_eq!(unpack(pack(&[7])), Some([7, 0, 0]));
    }

    #[test]
    fn unpack_rejects_high_bits() {
        assert_eq!(unpack(-Fp::one()), None);
        assert_eq!(unpack(Fp::from(2).pow([192])), None);
    }

    #[test]
    fn hash_bytes_separates_lengths_and_contents() {
        assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
        assert_ne!(hash_bytes(b"a"), hash_bytes(b"b"));
        let long = [7u8; 100];
        assert_ne!(hash_bytes(&long), hash_bytes(&long[..99]));
    }
}
