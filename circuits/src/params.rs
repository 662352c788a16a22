//! Commitment parameters (IPA over Vesta, no trusted setup), cached on disk: making them
//! takes seconds to minutes (10 s at k = 14, 45 s at k = 16 on 2 cores), reading them back a
//! fraction of a second. The file ends with a BLAKE2b digest of the parameters: a file that
//! is truncated, corrupted or of another size is remade, never used.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use halo2_proofs::poly::commitment::Params;
use pasta_curves::vesta;

/// The cache file for parameters of size `2^k` under `dir`.
pub fn path(dir: &Path, k: u32) -> PathBuf {
    dir.join(format!("params-vesta-k{k}.bin"))
}

/// Reads the parameters of size `2^k` from `dir`, or makes and writes them (calling
/// `on_make` first, for example to show progress) if the file is absent or unusable.
pub fn load_or_make(
    dir: &Path,
    k: u32,
    on_make: impl FnOnce(u32),
) -> io::Result<Params<vesta::Affine>> {
    let file = path(dir, k);
    if let Some(params) = read(&file, k) {
        return Ok(params);
    }
    on_make(k);
    let params = Params::<vesta::Affine>::new(k);
    fs::create_dir_all(dir)?;
    let mut bytes = Vec::new();
    params.write(&mut bytes)?;
    let digest = digest(&bytes);
    bytes.extend_from_slice(&digest);
    // Write to a temporary file and rename, so a crash never leaves a half-written file.
    let tmp = file.with_extension("tmp");
    {
        let mut out = fs::File::create(&tmp)?;
        out.write_all(&bytes)?;
        out.sync_all()?;
    }
    fs::rename(&tmp, &file)?;
    Ok(params)
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    let hash = blake2b_simd::Params::new()
        .hash_length(32)
        .personal(b"CityRollupParams")
        .hash(bytes);
    hash.as_bytes().try_into().expect("32 bytes")
}

/// The parameters in `file` if it holds a complete, intact set of size `2^k`.
fn read(file: &Path, k: u32) -> Option<Params<vesta::Affine>> {
    let bytes = fs::read(file).ok()?;
    let (body, tail) = bytes.split_at(bytes.len().checked_sub(32)?);
    if digest(body) != tail {
        return None;
    }
    let params = Params::<vesta::Affine>::read(&mut &body[..]).ok()?;
    (params.k() == k).then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_or_wrong_size_files_are_remade() {
        let dir = std::env::temp_dir().join(format!("city-params-test-{}", std::process::id()));
        let made = std::cell::Cell::new(0);
        let p = load_or_make(&dir, 4, |_| made.set(made.get() + 1)).unwrap();
        assert_eq!((p.k(), made.get()), (4, 1));
        load_or_make(&dir, 4, |_| made.set(made.get() + 1)).unwrap();
        assert_eq!(made.get(), 1, "a good cache file is read, not remade");
        let bytes = fs::read(path(&dir, 4)).unwrap();
        fs::write(path(&dir, 4), &bytes[..bytes.len() / 2]).unwrap();
        load_or_make(&dir, 4, |_| made.set(made.get() + 1)).unwrap();
        assert_eq!(made.get(), 2, "a truncated file is remade");
        let mut bytes = fs::read(path(&dir, 4)).unwrap();
        bytes[100] ^= 1;
        fs::write(path(&dir, 4), &bytes).unwrap();
        load_or_make(&dir, 4, |_| made.set(made.get() + 1)).unwrap();
        assert_eq!(made.get(), 3, "a corrupted file is remade");
        fs::copy(path(&dir, 4), path(&dir, 5)).unwrap();
        let p5 = load_or_make(&dir, 5, |_| made.set(made.get() + 1)).unwrap();
        assert_eq!(
            (p5.k(), made.get()),
            (5, 4),
            "a file of another size is remade"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
