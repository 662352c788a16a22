//! Checkpoints: the sequencer's state and ledger at a sealed batch, written in the
//! background so that a restart loads the newest good one and replays only the log after
//! it, instead of the whole log from genesis.
//!
//! A checkpoint is one file, `snapshots/batch-<number>.snap` under the data directory,
//! written as `*.tmp`, flushed to disk, then renamed into place (and the directory
//! flushed), so a reader sees a whole file or none. Its layout (integers little-endian):
//!
//! | bytes | what |
//! | --- | --- |
//! | 8 | `CITYSNAP` |
//! | 4 | format version ([`VERSION`]) |
//! | 32 | the chain (the genesis hash) it belongs to |
//! | 8 + 8 | the batch it ends with, and the log position after it |
//! | 32 | the state root after that batch |
//! | 8 + n | the JSON of the counters, every non-empty record and each proposal's voter count |
//! | per tree, 8 + 41 each | its stored nodes: height (1), position (8), value (32) |
//! | 8 + 40 each | the transaction index: id (32), log position (8) |
//! | 32 | BLAKE2b-256 of everything before |
//!
//! Reading checks the digest first (a truncated or bit-flipped file is refused), then the
//! chain, then that the loaded state hashes to the root written in it and that the store's
//! durable record of that batch has the same root and log position. Any failure is a
//! warning and the next older checkpoint is tried; with none left, the log is replayed from
//! genesis. The log stays the truth: a checkpoint only saves replaying a prefix of it.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use circuits::hash::to_hex;
use circuits::state::{Counters, StateImage, Write};
use circuits::{Fp, Genesis, State};
use ff::PrimeField;
use serde::{Deserialize, Serialize};

use crate::core::Key;
use crate::store::BatchRecord;

/// The file format's version (4: an account leaf hashes with its domain in the sponge's
/// capacity, so a version-3 checkpoint's account nodes hash differently; 3: every hash is
/// the width-5 Poseidon, so a version-2 checkpoint's leaves and nodes hash differently; 2:
/// the trees have arity 4, so a version-1 checkpoint's nodes are those of binary trees).
pub const VERSION: u32 = 4;

const MAGIC: &[u8; 8] = b"CITYSNAP";
const DIGEST: usize = 32;
/// Magic, version, chain, batch, log position, root.
const HEADER: usize = 8 + 4 + 32 + 8 + 8 + 32;

/// The state and ledger after a sealed batch.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The last batch in it.
    pub batch: u64,
    /// The log position after that batch (its record's `end`).
    pub log_len: u64,
    /// The state after that batch.
    pub state: State,
    /// Transaction id -> latest log position, for every transaction before `log_len`.
    pub index: HashMap<Key, u64>,
    /// Proposal -> voters registered when it opened.
    pub voter_counts: HashMap<u64, u64>,
}

/// Why a checkpoint cannot be written or used.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file system failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is shorter than its contents say (a write cut short).
    #[error("{0}: truncated")]
    Truncated(PathBuf),
    /// The digest does not match the contents (a flipped bit, a partial overwrite).
    #[error("{0}: its digest does not match its contents")]
    Digest(PathBuf),
    /// Not a checkpoint of this format.
    #[error("{path}: not a checkpoint of format version {VERSION} ({what})")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A checkpoint of another chain.
    #[error("{0}: a checkpoint of another genesis")]
    OtherChain(PathBuf),
    /// Its contents are not a state, or not the one the store recorded.
    #[error("{path}: {what}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What disagrees.
        what: String,
    },
}

/// The JSON part of a checkpoint.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    counters: Counters,
    records: Vec<Write>,
    voter_counts: Vec<(u64, u64)>,
}

/// The checkpoints of one data directory.
#[derive(Clone, Debug)]
pub struct Snapshots {
    dir: PathBuf,
}

impl Snapshots {
    /// The checkpoints under `data_dir` (in `data_dir/snapshots`, made at the first write).
    pub fn new(data_dir: &Path) -> Self {
        Snapshots {
            dir: data_dir.join("snapshots"),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, batch: u64) -> PathBuf {
        self.dir.join(format!("batch-{batch:012}.snap"))
    }

    /// Writes `checkpoint` of `chain` atomically; returns its path and size in bytes.
    pub fn write(
        &self,
        chain: Fp,
        checkpoint: &Checkpoint,
    ) -> Result<(PathBuf, u64), SnapshotError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SnapshotError::Io { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let bytes = encode(chain, checkpoint);
        let path = self.path_of(checkpoint.batch);
        let tmp = path.with_extension("snap.tmp");
        {
            let mut file = File::create(&tmp).map_err(io(&tmp))?;
            file.write_all(&bytes).map_err(io(&tmp))?;
            file.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        Ok((path, bytes.len() as u64))
    }

    /// Every checkpoint file's batch and path, newest first (files being written, `*.tmp`,
    /// are not listed).
    pub fn list(&self) -> Result<Vec<(u64, PathBuf)>, SnapshotError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(SnapshotError::Io {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| SnapshotError::Io {
                path: self.dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            let batch = name
                .to_str()
                .and_then(|n| n.strip_prefix("batch-"))
                .and_then(|n| n.strip_suffix(".snap"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(batch) = batch {
                found.push((batch, entry.path()));
            }
        }
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        Ok(found)
    }

    /// Reads and checks the checkpoint at `path` against `genesis` and the store's sealed
    /// batch `records`.
    pub fn read(
        &self,
        path: &Path,
        genesis: &Genesis,
        records: &[BatchRecord],
    ) -> Result<Checkpoint, SnapshotError> {
        let bytes = fs::read(path).map_err(|source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let checkpoint = decode(path, &bytes, genesis)?;
        let mismatch = |what: String| SnapshotError::Mismatch {
            path: path.to_path_buf(),
            what,
        };
        let Some(record) = checkpoint
            .batch
            .checked_sub(1)
            .and_then(|i| records.get(i as usize))
        else {
            return Err(mismatch(format!(
                "it ends with batch {}, which the store has not sealed ({} sealed)",
                checkpoint.batch,
                records.len()
            )));
        };
        if record.end != checkpoint.log_len || record.root_new != checkpoint.state.root() {
            return Err(mismatch(format!(
                "batch {} ends at log position {} with root {} in the store, at {} with root {} here",
                record.number,
                record.end,
                to_hex(&record.root_new),
                checkpoint.log_len,
                to_hex(&checkpoint.state.root())
            )));
        }
        Ok(checkpoint)
    }

    /// The newest good checkpoint that ends at batch `at_most` or before, if any. Every
    /// newer file that is refused is logged as a warning, with why.
    pub fn newest(
        &self,
        genesis: &Genesis,
        records: &[BatchRecord],
        at_most: u64,
    ) -> Option<Checkpoint> {
        let files = match self.list() {
            Ok(files) => files,
            Err(e) => {
                tracing::warn!(error = %e, "checkpoints cannot be listed; replaying the log from genesis");
                return None;
            }
        };
        for (batch, path) in files.into_iter().filter(|(b, _)| *b <= at_most) {
            match self.read(&path, genesis, records) {
                Ok(checkpoint) => return Some(checkpoint),
                Err(e) => {
                    tracing::warn!(batch, error = %e, "checkpoint refused; trying an older one")
                }
            }
        }
        None
    }

    /// Removes checkpoints but the `keep` newest and the newest ending at batch `also` or
    /// before (the prover's starting point), and any `*.tmp` a crash left. Returns how many
    /// files were removed.
    pub fn prune(&self, keep: usize, also: u64) -> Result<usize, SnapshotError> {
        let files = self.list()?;
        let also = files.iter().find(|(b, _)| *b <= also).map(|(b, _)| *b);
        let mut removed = 0;
        for (i, (batch, path)) in files.iter().enumerate() {
            if i >= keep && Some(*batch) != also {
                fs::remove_file(path).map_err(|source| SnapshotError::Io {
                    path: path.clone(),
                    source,
                })?;
                removed += 1;
            }
        }
        if let Ok(entries) = fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().ends_with(".snap.tmp") {
                    let _ = fs::remove_file(entry.path());
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// Writes a checkpoint of the data directory `data_dir` (not in use by a running service)
/// at its last sealed batch: recovers it as `serve` would (from its newest good checkpoint,
/// sealing a batch a crash left open), writes, and prunes as the service does. Returns the
/// file, the checkpoint and its size.
pub fn take(data_dir: &Path, genesis: &Genesis) -> anyhow::Result<(PathBuf, Checkpoint, u64)> {
    // Opening would create a database: a mistyped path must change nothing.
    if !data_dir.join("db").is_dir() {
        anyhow::bail!(
            "{} is not a sequencer's data directory (no db inside): give the --data of `sequencer serve`",
            data_dir.display()
        );
    }
    let store = crate::store::Store::open(data_dir).map_err(|e| {
        anyhow::anyhow!(
            "data directory {}: {e} (is a sequencer running on it? stop it first)",
            data_dir.display()
        )
    })?;
    store.check_genesis(genesis)?;
    let snapshots = Snapshots::new(data_dir);
    let recovered = crate::core::Core::recover(genesis, &store, Some(&snapshots), 0)?;
    let checkpoint = recovered.core.checkpoint().ok_or_else(|| {
        anyhow::anyhow!(
            "data directory {} has no sealed batch yet: nothing to checkpoint",
            data_dir.display()
        )
    })?;
    let (path, bytes) = snapshots.write(genesis.chain(), &checkpoint)?;
    let proven_through = store.proven_through()?;
    snapshots.prune(crate::server::SNAPSHOTS_KEPT, proven_through)?;
    Ok((path, checkpoint, bytes))
}

fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// The file's bytes.
fn encode(chain: Fp, checkpoint: &Checkpoint) -> Vec<u8> {
    let image = checkpoint.state.image();
    let mut voter_counts: Vec<(u64, u64)> = checkpoint
        .voter_counts
        .iter()
        .map(|(p, v)| (*p, *v))
        .collect();
    voter_counts.sort_unstable();
    let body = serde_json::to_vec(&Body {
        counters: image.counters,
        records: image.records,
        voter_counts,
    })
    .expect("records always serialize");
    let nodes: usize = image.nodes.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(
        HEADER + 8 + body.len() + 8 * 8 + nodes * 41 + 8 + checkpoint.index.len() * 40 + DIGEST,
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&chain.to_repr());
    put_u64(&mut out, checkpoint.batch);
    put_u64(&mut out, checkpoint.log_len);
    out.extend_from_slice(&checkpoint.state.root().to_repr());
    put_u64(&mut out, body.len() as u64);
    out.extend_from_slice(&body);
    for tree in &image.nodes {
        put_u64(&mut out, tree.len() as u64);
        for (height, index, value) in tree {
            out.push(*height);
            put_u64(&mut out, *index);
            out.extend_from_slice(&value.to_repr());
        }
    }
    put_u64(&mut out, checkpoint.index.len() as u64);
    for (key, position) in &checkpoint.index {
        out.extend_from_slice(key);
        put_u64(&mut out, *position);
    }
    let digest = digest(&out);
    out.extend_from_slice(&digest);
    out
}

fn digest(bytes: &[u8]) -> [u8; DIGEST] {
    let hash = blake2b_simd::Params::new()
        .hash_length(DIGEST)
        .personal(b"city-rollup-snap")
        .hash(bytes);
    hash.as_bytes().try_into().expect("32 bytes asked")
}

/// Reads the file's fields in order; every read past the end is [`SnapshotError::Truncated`].
struct Reader<'a> {
    path: &'a Path,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| SnapshotError::Truncated(self.path.to_path_buf()))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn repr(&mut self) -> Result<[u8; 32], SnapshotError> {
        Ok(self.take(32)?.try_into().expect("32 bytes"))
    }

    fn fp(&mut self) -> Result<Fp, SnapshotError> {
        let repr = self.repr()?;
        Option::from(Fp::from_repr(repr)).ok_or_else(|| SnapshotError::Format {
            path: self.path.to_path_buf(),
            what: format!("{} is not a field element", hex::encode(repr)),
        })
    }

    /// A count of items of `size` bytes each, checked against what is left.
    fn count(&mut self, size: usize) -> Result<usize, SnapshotError> {
        let n = self.u64()?;
        let left = (self.bytes.len() - self.at) / size;
        if n > left as u64 {
            return Err(SnapshotError::Truncated(self.path.to_path_buf()));
        }
        Ok(n as usize)
    }
}

fn decode(path: &Path, bytes: &[u8], genesis: &Genesis) -> Result<Checkpoint, SnapshotError> {
    if bytes.len() < HEADER + DIGEST {
        return Err(SnapshotError::Truncated(path.to_path_buf()));
    }
    let format = |what: String| SnapshotError::Format {
        path: path.to_path_buf(),
        what,
    };
    if &bytes[..8] != MAGIC {
        return Err(format("no CITYSNAP header".into()));
    }
    let (contents, stored) = bytes.split_at(bytes.len() - DIGEST);
    if digest(contents) != stored {
        return Err(SnapshotError::Digest(path.to_path_buf()));
    }
    let mut r = Reader {
        path,
        bytes: contents,
        at: 8,
    };
    let version = u32::from_le_bytes(r.take(4)?.try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(format(format!("version {version}")));
    }
    let chain = genesis.chain();
    if r.fp()? != chain {
        return Err(SnapshotError::OtherChain(path.to_path_buf()));
    }
    let batch = r.u64()?;
    let log_len = r.u64()?;
    let root = r.fp()?;
    let body_len = r.count(1)?;
    let body: Body = serde_json::from_slice(r.take(body_len)?)
        .map_err(|e| format(format!("its records: {e}")))?;
    let mut nodes = Vec::with_capacity(8);
    for _ in 0..8 {
        let n = r.count(41)?;
        let mut tree = Vec::with_capacity(n);
        for _ in 0..n {
            let height = r.take(1)?[0];
            let index = r.u64()?;
            tree.push((height, index, r.fp()?));
        }
        nodes.push(tree);
    }
    let n = r.count(40)?;
    let mut index = HashMap::with_capacity(n);
    for _ in 0..n {
        let key = r.repr()?;
        index.insert(key, r.u64()?);
    }
    if r.at != contents.len() {
        return Err(format(format!(
            "{} bytes after its last field",
            contents.len() - r.at
        )));
    }
    let image = StateImage {
        counters: body.counters,
        records: body.records,
        nodes,
    };
    let state = State::from_image(genesis.params.clone(), chain, image).map_err(|e| {
        SnapshotError::Mismatch {
            path: path.to_path_buf(),
            what: e.to_string(),
        }
    })?;
    if state.root() != root {
        return Err(SnapshotError::Mismatch {
            path: path.to_path_buf(),
            what: format!(
                "its state hashes to {}, not to the root it records {}",
                to_hex(&state.root()),
                to_hex(&root)
            ),
        });
    }
    Ok(Checkpoint {
        batch,
        log_len,
        state,
        index,
        voter_counts: body.voter_counts.into_iter().collect(),
    })
}
