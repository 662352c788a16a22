//! The durable store: one sled database under the data directory.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `meta` | `"genesis"` | the genesis JSON the data directory was started with |
//! | `meta` | `"format"` | [`FORMAT`] (4 bytes, big-endian), written with the genesis |
//! | `chain` | `'L'` + position (8 bytes, big-endian) | a [`LogEntry`]: batch number, batch time, transaction (JSON) |
//! | `chain` | `'B'` + batch number (8 bytes, big-endian) | a [`BatchRecord`]: the sealed batch's time, log range and roots (JSON) |
//! | `artifacts` | batch number (8 bytes, big-endian) | the proven batch's [`verifier::BatchArtifact`] JSON |
//!
//! The log is the truth: the state is what replaying it from genesis gives. Every write is
//! followed by a `flush` (sled's fsync) before anyone is told it happened. Log entries and
//! batch records share one tree so that a group of them is written with one atomic
//! `apply_batch`. A log entry carries its batch's number and time, so a batch's time is
//! durable with its first transaction, before the batch is sealed.

use std::path::Path;

use circuits::{Fp, Genesis, Transaction};
use serde::{Deserialize, Serialize};

/// The store's format (3: a signature's challenge hashes the digest of the key and message,
/// so the signatures in an older log no longer check; 2: every hash is the width-5 Poseidon, so the signatures in an older
/// log and its batches' roots no longer check; 1, unwritten: before the format was recorded).
pub const FORMAT: u32 = 3;

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (a full disk, an I/O error, a corrupt file).
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// A stored value cannot be read back.
    #[error("stored {what} is unreadable: {source}")]
    Json {
        /// Which value.
        what: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The stored data contradicts itself (a gap in the log, a batch that does not match).
    #[error("the data directory is inconsistent: {0}")]
    Corrupt(String),
    /// The data directory belongs to another genesis.
    #[error("the data directory was started with another genesis file; use a fresh --data directory or the original genesis")]
    OtherGenesis,
    /// The data directory was written by a version of the sequencer whose log this one
    /// cannot replay.
    #[error("the data directory is in store format {found}, this sequencer reads format {FORMAT} (its hash changed, so the log's signatures and roots would not check): use a fresh --data directory")]
    OtherFormat {
        /// The format found (1: none recorded).
        found: u32,
    },
}

/// One transaction in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// The batch it belongs to.
    pub batch: u64,
    /// That batch's time (the `now` it was applied at).
    pub time: u64,
    /// The transaction.
    pub tx: Transaction,
}

/// A sealed batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRecord {
    /// Its number (the first after genesis is 1).
    pub number: u64,
    /// Its time.
    pub time: u64,
    /// Its first log position.
    pub first: u64,
    /// One past its last log position.
    pub end: u64,
    /// The state root before it.
    pub root_old: Fp,
    /// The state root after it.
    pub root_new: Fp,
}

impl BatchRecord {
    /// Transactions in the batch.
    pub fn transactions(&self) -> u64 {
        self.end - self.first
    }
}

fn log_key(position: u64) -> [u8; 9] {
    let mut key = [b'L'; 9];
    key[1..].copy_from_slice(&position.to_be_bytes());
    key
}

fn batch_key(number: u64) -> [u8; 9] {
    let mut key = [b'B'; 9];
    key[1..].copy_from_slice(&number.to_be_bytes());
    key
}

fn number_of(key: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = key
        .get(key.len().saturating_sub(8)..)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("a key of {} bytes", key.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: String) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Json { what, source })
}

/// The sled database of one sequencer.
#[derive(Clone, Debug)]
pub struct Store {
    dir: std::path::PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    chain: sled::Tree,
    artifacts: sled::Tree,
}

impl Store {
    /// Opens (or creates) the database under `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(dir.join("db")).open()?;
        Ok(Store {
            dir: dir.to_path_buf(),
            meta: db.open_tree("meta")?,
            chain: db.open_tree("chain")?,
            artifacts: db.open_tree("artifacts")?,
            db,
        })
    }

    /// The data directory it was opened in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records `genesis` and the store's [`FORMAT`] on first use; afterwards refuses any
    /// other genesis, and a directory of another format (before anything is replayed).
    pub fn check_genesis(&self, genesis: &Genesis) -> Result<(), StoreError> {
        match self.meta.get("genesis")? {
            Some(stored) => {
                let found = match self.meta.get("format")? {
                    None => 1,
                    Some(bytes) => u32::from_be_bytes(bytes.as_ref().try_into().map_err(|_| {
                        StoreError::Corrupt(format!("the store format is {} bytes", bytes.len()))
                    })?),
                };
                if found != FORMAT {
                    return Err(StoreError::OtherFormat { found });
                }
                let stored: Genesis = decode(&stored, "genesis".into())?;
                if &stored == genesis {
                    Ok(())
                } else {
                    Err(StoreError::OtherGenesis)
                }
            }
            None => {
                let json = serde_json::to_vec(genesis).expect("genesis always serializes");
                let mut meta = sled::Batch::default();
                meta.insert("genesis", json);
                meta.insert("format", &FORMAT.to_be_bytes());
                self.meta.apply_batch(meta)?;
                self.db.flush()?;
                Ok(())
            }
        }
    }

    /// Appends log entries at their positions and makes them durable (one atomic write, then
    /// fsync). On error the entries may or may not reach the disk; the caller removes them
    /// ([`Store::forget`]) and reports the failure.
    pub fn append(&self, entries: &[(u64, LogEntry)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (position, entry) in entries {
            let json = serde_json::to_vec(entry).expect("a log entry always serializes");
            batch.insert(&log_key(*position), json);
        }
        self.chain.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }

    /// Removes log entries that could not be made durable, so that a later flush does not
    /// write them. Best effort: the positions are reused by the next accepted transactions,
    /// whose durable write replaces whatever is left.
    pub fn forget(&self, positions: impl Iterator<Item = u64>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for position in positions {
            batch.remove(&log_key(position));
        }
        self.chain.apply_batch(batch)?;
        Ok(())
    }

    /// Writes a sealed batch's record durably.
    pub fn seal(&self, record: &BatchRecord) -> Result<(), StoreError> {
        let json = serde_json::to_vec(record).expect("a batch record always serializes");
        self.chain.insert(batch_key(record.number), json)?;
        self.db.flush()?;
        Ok(())
    }

    /// The log entries from position `first` on, in order.
    pub fn log_from(
        &self,
        first: u64,
    ) -> impl Iterator<Item = Result<(u64, LogEntry), StoreError>> + '_ {
        self.chain
            .range(log_key(first)..=log_key(u64::MAX))
            .map(|item| {
                let (key, value) = item?;
                let position = number_of(&key)?;
                let entry = decode(&value, format!("log entry {position}"))?;
                Ok((position, entry))
            })
    }

    /// The transactions at log positions `first..end`.
    pub fn transactions(&self, first: u64, end: u64) -> Result<Vec<Transaction>, StoreError> {
        let mut txs = Vec::with_capacity((end - first) as usize);
        for item in self.chain.range(log_key(first)..log_key(end)) {
            let (key, value) = item?;
            let entry: LogEntry = decode(&value, format!("log entry {}", number_of(&key)?))?;
            txs.push(entry.tx);
        }
        if txs.len() as u64 != end - first {
            return Err(StoreError::Corrupt(format!(
                "log positions {first}..{end} hold {} entries",
                txs.len()
            )));
        }
        Ok(txs)
    }

    /// Every sealed batch's record, in order.
    pub fn batches(&self) -> Result<Vec<BatchRecord>, StoreError> {
        self.chain
            .scan_prefix(b"B")
            .map(|item| {
                let (key, value) = item?;
                decode(&value, format!("batch record {}", number_of(&key)?))
            })
            .collect()
    }

    /// Stores a proven batch's artifact durably.
    pub fn put_artifact(&self, number: u64, json: &str) -> Result<(), StoreError> {
        self.artifacts
            .insert(number.to_be_bytes(), json.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// A proven batch's artifact JSON.
    pub fn artifact(&self, number: u64) -> Result<Option<String>, StoreError> {
        Ok(self
            .artifacts
            .get(number.to_be_bytes())?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// The last batch proven with every batch before it (0: none).
    pub fn proven_through(&self) -> Result<u64, StoreError> {
        let proven = self.proven()?;
        Ok(proven
            .iter()
            .enumerate()
            .take_while(|(i, n)| **n == *i as u64 + 1)
            .count() as u64)
    }

    /// The numbers of the batches with an artifact, in order.
    pub fn proven(&self) -> Result<Vec<u64>, StoreError> {
        self.artifacts
            .iter()
            .keys()
            .map(|key| number_of(&key?))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_directory_of_another_genesis_or_format_is_refused_by_name() {
        let dir = fresh("format");
        let genesis = circuits::genesis::demo(4);
        {
            let store = Store::open(&dir).unwrap();
            store.check_genesis(&genesis).unwrap();
            store.check_genesis(&genesis).unwrap();
            let other = circuits::genesis::demo(5);
            assert!(matches!(
                store.check_genesis(&other),
                Err(StoreError::OtherGenesis)
            ));
            // A directory written before the format was recorded.
            store.meta.remove("format").unwrap();
            store.db.flush().unwrap();
        }
        let store = Store::open(&dir).unwrap();
        let err = store.check_genesis(&genesis).unwrap_err();
        assert!(matches!(err, StoreError::OtherFormat { found: 1 }), "{err}");
        assert!(
            err.to_string().contains("use a fresh --data directory"),
            "{err}"
        );
        store.meta.insert("format", &7u32.to_be_bytes()).unwrap();
        let err = store.check_genesis(&genesis).unwrap_err();
        assert!(matches!(err, StoreError::OtherFormat { found: 7 }), "{err}");
        store.meta.insert("format", &[1u8, 2]).unwrap();
        assert!(matches!(
            store.check_genesis(&genesis),
            Err(StoreError::Corrupt(_))
        ));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
