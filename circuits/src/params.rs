//! Commitment parameters (IPA over Vesta, no trusted setup), cached on disk: making them
//! takes seconds to minutes (10 s at k = 14, 45 s at k = 16 on 2 cores), reading them back a
//! fraction of a second.
//!
//! A cache file is not trusted. Parameters whose discrete-log relations someone knows let
//! that someone forge proofs, and anyone who can write the cache could write such parameters
//! with a digest of their own that matches. But `Params::new(k)` is deterministic (its points
//! come from hash-to-curve), so the digest of each supported size's parameters is pinned here
//! ([`pinned`]), and a file is used only if its parameters have exactly that digest. Any other
//! file (absent, truncated, corrupt, or parameters of someone's own making) is ignored: the
//! parameters are made again, checked against the same pin, and the file is replaced. A `k`
//! with no pin is refused, never made.
//!
//! The file is the bytes `Params::write` produces followed by their digest (BLAKE2b-256,
//! personalised `CityRollupParams`), which must be the pinned one.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use halo2_proofs::poly::commitment::Params;
use pasta_curves::vesta;
use serde::Serialize;

/// A BLAKE2b-256 digest of serialized parameters.
pub type Digest = [u8; 32];

/// The smallest `k` with pinned parameters: the ballot circuit's (`ballot::K`), which a
/// verifier reads from the cache like the chunks'. (A chunk circuit's range-check table
/// alone needs 2^10 rows, so every chunk circuit has k >= 11: `Family::k_for`.)
pub const MIN_K: u32 = 8;

/// The largest `k` with pinned parameters: 2^16 rows, which hold more slots than the prover's
/// and sequencer's sizes use (they stop at k = 15) and which the verifier accepts at most.
pub const MAX_K: u32 = 16;

/// The digest of `Params::<vesta::Affine>::new(k)` as `Params::write` serializes it, for
/// every `k` in `MIN_K..=MAX_K`. The test `pinned_digests_are_those_of_params_new` makes each
/// set of parameters and checks its digest here.
#[rustfmt::skip]
const PINNED: [(u32, Digest); (MAX_K - MIN_K + 1) as usize] = digests([
    (8, "3609812a81cc9fa0d561e7b64bc2eb17b10d892f5831337957199c1bd9ad6823"),
    (9, "d6df3382e1fe93fcb52099f10a50a96be97421a9c9423dd98f169d2b2fc6464d"),
    (10, "62e1938e2e5327a1d246bab93d41729e8a54261cfa2dcb6f448866bba58266fa"),
    (11, "0dd0453cb871eb83c90ef75ded9da9c5a447a68075800f2ef6b517dc4d3a7f0b"),
    (12, "b0950431fed12b58bcf0ff2076c4412a6615904b5e91bd6bccc9859d68e97d44"),
    (13, "207ed8fab6cbb32109b120a7b088702e9243f877ff3ccc30a4889d9535224881"),
    (14, "65c292e1f1d485b1615bbd3aa4f3d62af650e6bd0b58b16e691a0186ad1114e2"),
    (15, "3942154d55de6b35731b43c3e413324cffdfceb6ed3e5f43095f360e6e2ed8f7"),
    (16, "d144785a0e01590f36ec528781d2af580117b1612c35b0ac46dc2c349d2c32a7"),
]);

/// The table with each digest decoded from hex, at compile time (a bad constant does not
/// build).
const fn digests<const N: usize>(hex: [(u32, &str); N]) -> [(u32, Digest); N] {
    let mut out = [(0, [0; 32]); N];
    let mut i = 0;
    while i < N {
        out[i] = (hex[i].0, hex32(hex[i].1));
        i += 1;
    }
    out
}

/// A digest from 64 lowercase hex digits.
const fn hex32(hex: &str) -> Digest {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let hex = hex.as_bytes();
    assert!(hex.len() == 64, "a digest is 64 hex digits");
    let mut out = [0; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1]);
        i += 1;
    }
    out
}

/// The pinned digest of the parameters of size `2^k`, if this build supports that size.
pub fn pinned(k: u32) -> Option<&'static Digest> {
    PINNED.iter().find(|(pk, _)| *pk == k).map(|(_, d)| d)
}

/// Why parameters could not be had.
#[derive(Debug, thiserror::Error)]
#[allow(missing_docs)] // Each variant's message is its documentation.
pub enum ParamsError {
    #[error("no pinned parameters for k = {k}; this build supports {MIN_K}..={MAX_K}")]
    NotPinned { k: u32 },
    #[error(
        "the parameters halo2_proofs makes for k = {k} have digest {made}, not the pinned \
         {pinned}: halo2_proofs changed how it makes them; refusing to use unpinned parameters"
    )]
    MadeNotPinned {
        k: u32,
        made: String,
        pinned: String,
    },
    #[error("cannot write the parameter cache {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// Why a cache file was not used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "why", rename_all = "snake_case")]
#[allow(missing_docs)] // Each variant's message is its documentation.
pub enum Rejected {
    #[error("it holds {found} bytes, not the {expected} of the pinned parameters")]
    Length { found: u64, expected: u64 },
    #[error("its parameters have digest {found}, not the pinned one")]
    Digest { found: String },
    #[error("its parameters are the pinned ones but its trailer is not their digest")]
    Trailer,
    #[error("it cannot be read: {reason}")]
    Unreadable { reason: String },
}

/// Where parameters came from. Whichever it is, they have the pinned digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// Read from the cache file.
    Cache,
    /// Made, there being no cache file, and cached.
    Made,
    /// Made, the cache file not being the pinned parameters, and the file replaced.
    Replaced {
        /// What was wrong with the file.
        rejected: Rejected,
    },
}

/// Which parameters were used and how they were had, for a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// Their size: `2^k` points.
    pub k: u32,
    /// Their digest, equal to the pinned one.
    #[serde(serialize_with = "hex_digest")]
    pub digest: Digest,
    /// The cache file.
    pub path: PathBuf,
    /// Read, made, or made in place of a file that did not match the pin.
    #[serde(flatten)]
    pub source: Source,
}

fn hex_digest<S: serde::Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(d))
}

impl Provenance {
    /// What was wrong with the cache file, if one was there and was not used.
    pub fn rejected(&self) -> Option<&Rejected> {
        match &self.source {
            Source::Replaced { rejected } => Some(rejected),
            Source::Cache | Source::Made => None,
        }
    }
}

/// One line, e.g. `commitment parameters k=12: pinned digest 3f2a01b2…77c1e0c9 ✓ (read from
/// cache)`.
impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = hex::encode(self.digest);
        write!(
            f,
            "commitment parameters k={}: pinned digest {}…{} ✓ ",
            self.k,
            &hex[..8],
            &hex[hex.len() - 8..]
        )?;
        match &self.source {
            Source::Cache => write!(f, "(read from cache)"),
            Source::Made => write!(f, "(made and cached in {})", self.path.display()),
            Source::Replaced { rejected } => write!(
                f,
                "(made: the cache file {} was NOT the pinned parameters and was replaced: {rejected})",
                self.path.display()
            ),
        }
    }
}

/// Parameters with the pinned digest, and how they were had.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The parameters.
    pub params: Params<vesta::Affine>,
    /// Where they came from.
    pub provenance: Provenance,
}

/// The cache file for parameters of size `2^k` under `dir`.
pub fn path(dir: &Path, k: u32) -> PathBuf {
    dir.join(format!("params-vesta-k{k}.bin"))
}

/// Reads the parameters of size `2^k` from `dir` if the file holds exactly the pinned ones;
/// otherwise makes them (calling `on_make` first, for example to show progress), checks them
/// against the pin and writes them to the file (replacing what was there). A `k` with no pin
/// is refused.
pub fn load_or_make(dir: &Path, k: u32, on_make: impl FnOnce(u32)) -> Result<Loaded, ParamsError> {
    let pin = pinned(k).ok_or(ParamsError::NotPinned { k })?;
    let file = path(dir, k);
    let provenance = |source| Provenance {
        k,
        digest: *pin,
        path: file.clone(),
        source,
    };
    let source = match read(&file, k, pin) {
        Ok(Some(params)) => {
            return Ok(Loaded {
                params,
                provenance: provenance(Source::Cache),
            })
        }
        Ok(None) => Source::Made,
        Err(rejected) => Source::Replaced { rejected },
    };
    on_make(k);
    let params = Params::<vesta::Affine>::new(k);
    let mut bytes = Vec::with_capacity(file_len(k) as usize);
    params
        .write(&mut bytes)
        .expect("writing to a Vec does not fail");
    let made = digest(&bytes);
    if made != *pin {
        return Err(ParamsError::MadeNotPinned {
            k,
            made: hex::encode(made),
            pinned: hex::encode(pin),
        });
    }
    bytes.extend_from_slice(pin);
    write_atomically(dir, &file, &bytes).map_err(|source| ParamsError::Write {
        path: file.clone(),
        source,
    })?;
    Ok(Loaded {
        params,
        provenance: provenance(source),
    })
}

/// The length of a cache file of size `2^k`: `k`, the `2^k` points of `g` and of
/// `g_lagrange`, `w` and `u` (32 bytes each, compressed), then the digest.
fn file_len(k: u32) -> u64 {
    4 + 64 * ((1u64 << k) + 1) + 32
}

/// BLAKE2b-256 (personalised `CityRollupParams`) of serialized parameters (the bytes
/// `Params::write` produces): what is pinned, and the cache file's trailer.
pub fn digest(bytes: &[u8]) -> Digest {
    let hash = blake2b_simd::Params::new()
        .hash_length(32)
        .personal(b"CityRollupParams")
        .hash(bytes);
    let mut d = [0; 32];
    d.copy_from_slice(hash.as_bytes());
    d
}

/// The parameters in `file` if it holds exactly the pinned ones of size `2^k`; `None` if
/// there is no file; why not otherwise. The parameters are parsed only once their digest
/// is known to be the pinned one.
fn read(file: &Path, k: u32, pin: &Digest) -> Result<Option<Params<vesta::Affine>>, Rejected> {
    let unreadable = |e: io::Error| Rejected::Unreadable {
        reason: e.to_string(),
    };
    let f = match fs::File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(e)),
    };
    let expected = file_len(k);
    let found = f.metadata().map_err(unreadable)?.len();
    if found != expected {
        return Err(Rejected::Length { found, expected });
    }
    // Read no more than a file of the right size holds, whatever the file does meanwhile.
    let mut bytes = Vec::with_capacity(expected as usize);
    f.take(expected + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 != expected {
        return Err(Rejected::Length {
            found: bytes.len() as u64,
            expected,
        });
    }
    let (body, trailer) = bytes.split_at(bytes.len() - 32);
    let found = digest(body);
    if found != *pin {
        return Err(Rejected::Digest {
            found: hex::encode(found),
        });
    }
    if trailer != pin {
        return Err(Rejected::Trailer);
    }
    let params = Params::<vesta::Affine>::read(&mut &body[..]).map_err(unreadable)?;
    Ok(Some(params))
}

/// Writes `bytes` to a temporary file in `dir` and renames it to `file`, so that no reader
/// ever sees a half-written file. The temporary name is unique to the process and the call,
/// so concurrent writers do not mix their bytes.
fn write_atomically(dir: &Path, file: &Path, bytes: &[u8]) -> io::Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    fs::create_dir_all(dir)?;
    let mut name = file.as_os_str().to_owned();
    name.push(format!(
        ".{}-{}.tmp",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = PathBuf::from(name);
    let written = (|| {
        let mut out = fs::File::create(&tmp)?;
        out.write_all(bytes)?;
        out.sync_all()?;
        fs::rename(&tmp, file)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use group::{Curve, Group, GroupEncoding};
    use std::cell::Cell;
    use std::time::Instant;

    /// A fresh directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("city-params-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn bytes_of(params: &Params<vesta::Affine>) -> Vec<u8> {
        let mut bytes = Vec::new();
        params.write(&mut bytes).unwrap();
        bytes
    }

    /// Justifies the constants: makes the parameters of every pinned `k` (in parallel) and
    /// compares each digest with its pin.
    #[test]
    fn pinned_digests_are_those_of_params_new() {
        let ks: Vec<u32> = PINNED.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            ks,
            (MIN_K..=MAX_K).collect::<Vec<_>>(),
            "one pin per k, in order"
        );
        let started = Instant::now();
        let made: Vec<(u32, Digest)> = std::thread::scope(|s| {
            let handles: Vec<_> = ks
                .iter()
                .map(|&k| s.spawn(move || (k, digest(&bytes_of(&Params::new(k))))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        eprintln!(
            "made the parameters for k = {MIN_K}..={MAX_K} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let table: String = made
            .iter()
            .map(|(k, d)| format!("    ({k}, \"{}\"),\n", hex::encode(d)))
            .collect();
        assert!(
            made.iter().zip(&PINNED).all(|(m, p)| m == p),
            "the pins are not the digests of Params::new(k); they are:\n{table}"
        );
    }

    #[test]
    fn an_unpinned_k_is_refused_and_never_made() {
        let dir = scratch("unpinned");
        for k in [1, 4, MIN_K - 1, MAX_K + 1, 19, 31, 32, u32::MAX] {
            let made = Cell::new(false);
            let e = load_or_make(&dir, k, |_| made.set(true)).unwrap_err();
            assert!(matches!(e, ParamsError::NotPinned { k: got } if got == k));
            assert!(!made.get(), "k = {k} was made");
        }
        assert_eq!(
            load_or_make(&dir, 19, |_| {}).unwrap_err().to_string(),
            "no pinned parameters for k = 19; this build supports 8..=16"
        );
        assert!(!dir.exists(), "nothing is written for an unpinned k");
    }

    #[test]
    fn the_cache_is_read_back_and_bad_files_are_remade() {
        let dir = scratch("cache");
        let k = MIN_K;
        let file = path(&dir, k);
        let made = Cell::new(0);
        let load = || load_or_make(&dir, k, |_| made.set(made.get() + 1)).unwrap();

        let first = load();
        assert_eq!((first.params.k(), made.get()), (k, 1));
        assert_eq!(first.provenance.source, Source::Made);
        assert_eq!(first.provenance.digest, *pinned(k).unwrap());
        let good = fs::read(&file).unwrap();
        assert_eq!(good.len() as u64, file_len(k));

        let again = load();
        assert_eq!(made.get(), 1, "a good cache file is read, not remade");
        assert_eq!(again.provenance.source, Source::Cache);
        assert_eq!(bytes_of(&again.params), bytes_of(&first.params));
        assert_eq!(
            again.provenance.to_string(),
            "commitment parameters k=8: pinned digest 3609812a…d9ad6823 ✓ (read from cache)"
        );

        let expect_remade = |bytes: &[u8], why: &str| -> Rejected {
            fs::write(&file, bytes).unwrap();
            let before = made.get();
            let loaded = load();
            assert_eq!(made.get(), before + 1, "{why}: remade");
            assert_eq!(
                fs::read(&file).unwrap(),
                good,
                "{why}: the file is replaced"
            );
            assert_eq!(bytes_of(&loaded.params), good[..good.len() - 32], "{why}");
            loaded.provenance.rejected().cloned().expect(why)
        };
        let r = expect_remade(&good[..good.len() / 2], "truncated");
        assert_eq!(
            r,
            Rejected::Length {
                found: good.len() as u64 / 2,
                expected: good.len() as u64
            }
        );
        assert!(matches!(
            expect_remade(&[], "empty"),
            Rejected::Length { found: 0, .. }
        ));
        let mut corrupt = good.clone();
        corrupt[100] ^= 1;
        assert!(matches!(
            expect_remade(&corrupt, "a flipped bit"),
            Rejected::Digest { .. }
        ));
        let mut trailer = good.clone();
        *trailer.last_mut().unwrap() ^= 1;
        assert_eq!(expect_remade(&trailer, "a bad trailer"), Rejected::Trailer);
        let mut longer = good.clone();
        longer.push(0);
        assert!(matches!(
            expect_remade(&longer, "a byte appended"),
            Rejected::Length { .. }
        ));
        // The same bytes under another size's name.
        fs::copy(&file, path(&dir, k + 1)).unwrap();
        let other = load_or_make(&dir, k + 1, |_| {}).unwrap();
        assert_eq!(other.params.k(), k + 1);
        assert!(matches!(
            other.provenance.rejected(),
            Some(Rejected::Length { .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// An attacker who can write the cache swaps one point for one whose relation to the
    /// others they know and recomputes the trailer as this module would: a well-formed file
    /// that is self-consistent, and not the pinned parameters.
    #[test]
    fn parameters_of_ones_own_making_with_a_matching_trailer_are_not_used() {
        let dir = scratch("forged");
        let k = MIN_K;
        let file = path(&dir, k);
        load_or_make(&dir, k, |_| {}).unwrap();
        let good = fs::read(&file).unwrap();

        // The body is k (4 bytes), then g[0], g[1], … (32 bytes each): replace g[0].
        let doubled = vesta::Point::generator().double().to_affine();
        let mut body = good[..good.len() - 32].to_vec();
        body[4..36].copy_from_slice(doubled.to_bytes().as_ref());
        let forged_digest = digest(&body);
        let mut forged = body.clone();
        forged.extend_from_slice(&forged_digest);
        fs::write(&file, &forged).unwrap();
        // It is a valid parameters file whose trailer matches: only the pin refuses it.
        let parsed = Params::<vesta::Affine>::read(&mut &body[..]).unwrap();
        assert_eq!(parsed.get_g()[0], doubled);
        assert_eq!(forged.len() as u64, file_len(k));

        let made = Cell::new(false);
        let loaded = load_or_make(&dir, k, |_| made.set(true)).unwrap();
        assert!(made.get(), "the genuine parameters are made again");
        assert_eq!(
            loaded.provenance.source,
            Source::Replaced {
                rejected: Rejected::Digest {
                    found: hex::encode(forged_digest)
                }
            }
        );
        assert_ne!(loaded.params.get_g()[0], doubled);
        assert_eq!(bytes_of(&loaded.params), good[..good.len() - 32]);
        assert_eq!(
            fs::read(&file).unwrap(),
            good,
            "the forged file is replaced"
        );
        let line = loaded.provenance.to_string();
        assert!(line.contains("was NOT the pinned parameters"), "{line}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
