//! The batch artifact: everything an auditor needs to check one batch, as versioned JSON.
//!
//! The format lives in the verifier crate because the auditors' side defines what a batch
//! must prove; the prover depends on it to write artifacts, so an auditor's build never pulls
//! in the prover (rayon pools, progress bars, proving keys).
//!
//! ```json
//! { "version": 5, "number": 1, "time": 1767230000,
//!   "root_old": "…", "root_new": "…",
//!   "transactions": [ { "type": "transfer", … }, { "type": "ballot", …, "proof": "…" } ],
//!   "chunks": [ { "family": "accounts", "slots": 5, "transactions": 4,
//!                 "root_old": "…", "root_new": "…", "data_hash": "…",
//!                 "signers": [ "…", "…", null, "…" ] } ],
//!   "chunk_proofs": [ { "chunks": [0], "proof": "…" } ],
//!   "signatures": [ { "k": 11, "signatures": 3, "proof": "…" } ] }
//! ```
//!
//! The chunks cover the transactions in order: each chunk the next `transactions` of them,
//! all of its `family` (a chunk's remaining slots are padding), with the key each
//! transaction's slot exposes as its signer (`null` for a ballot). The chunk proofs prove
//! every chunk once: each proves the chunks it lists (by place, ascending), all of one
//! circuit (family and slots), as instances of that circuit in one halo2 proof. The signature proofs
//! cover the batch's signed transactions in order: each the next `signatures` of them,
//! proving each one's signature by its signer key on its message. Field elements are hex
//! strings, keys compressed points in hex, proofs hex bytes.

use std::fs;
use std::path::{Path, PathBuf};

use circuits::chunk::{Family, Instance};
use circuits::keys::PublicKey;
use circuits::{Fp, Params, Transaction};
use serde::{Deserialize, Serialize};

/// The format version this crate reads and writes (13: the Poseidon chip checks its partial
/// rounds' constraints reduced and a Merkle pass's position takes four digits a row, so every
/// chunk, signature and ballot key changed, and governance chunks hold 11 slots at k = 15; 12: a signature's challenge hashes `R` and
/// the digest of the key and message, so every signature and the signature keys changed; 11: a chunk proof may prove several
/// chunks of one circuit, so proofs are listed apart from the chunks; 10: signatures are proven in signature
/// proofs of their own, each chunk exposing its slots' signer keys; 9: every gate of the circuits' own has
/// its selector in a fixed column of its own, so every chunk and ballot key changed; 8: every
/// hash is the width-5 Poseidon, so every root, data hash, signature and key changed; 7: the
/// state's trees have arity 4, so every root, the chunk and ballot keys and the ballot's `k`
/// changed; 6 checked the Poseidon chip's full rounds in their `M⁻¹` form; 5 was the
/// ten-column chip).
pub const VERSION: u32 = 13;

/// The number of the first batch after genesis; batches count up from it with no gap.
pub const FIRST_BATCH: u64 = 1;

/// A proved batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchArtifact {
    /// The format version ([`VERSION`]).
    pub version: u32,
    /// The batch number: [`FIRST_BATCH`] for the first after genesis, then one more each.
    pub number: u64,
    /// The batch time: the `now` at which every transaction of the batch was applied.
    pub time: u64,
    /// The state root before the batch.
    pub root_old: Fp,
    /// The state root after the batch.
    pub root_new: Fp,
    /// The batch's transactions in order (ballots carry their proofs).
    pub transactions: Vec<Transaction>,
    /// The chunks' public inputs, in order.
    pub chunks: Vec<ChunkArtifact>,
    /// The chunk proofs, each of one or more chunks of one circuit.
    pub chunk_proofs: Vec<ChunkProofArtifact>,
    /// The signature proofs, covering the signed transactions in order.
    pub signatures: Vec<SignatureArtifact>,
}

/// One signature proof: the next `signatures` signed transactions of the batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureArtifact {
    /// The circuit's size, which fixes its capacity
    /// ([`circuits::signatures::capacity_for`]) and keys.
    pub k: u32,
    /// How many signed transactions it covers, from where the previous proof ended (the
    /// rest of its capacity is padding).
    pub signatures: usize,
    /// The halo2 proof (hex in JSON).
    #[serde(with = "hex::serde")]
    pub proof: Vec<u8>,
}

/// One proof of chunks of one circuit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkProofArtifact {
    /// The chunks it proves, by their place in the batch's `chunks`, in the order proven
    /// (ascending).
    pub chunks: Vec<usize>,
    /// The halo2 proof (hex in JSON).
    #[serde(with = "hex::serde")]
    pub proof: Vec<u8>,
}

/// One chunk's public inputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkArtifact {
    /// The family of kinds whose circuit proves the chunk.
    pub family: Family,
    /// The circuit's slots (which, with the family, fix its keys).
    pub slots: usize,
    /// How many of the batch's transactions the chunk covers, from where the previous chunk
    /// ended (1 to `slots`; the remaining slots are padding).
    pub transactions: usize,
    /// The state root before the chunk.
    pub root_old: Fp,
    /// The state root after the chunk.
    pub root_new: Fp,
    /// The Poseidon fold of the chunk's transaction messages and padding.
    pub data_hash: Fp,
    /// Each transaction's signer key as the chunk exposes it (`None`: unsigned, a ballot).
    pub signers: Vec<Option<PublicKey>>,
}

impl ChunkArtifact {
    /// The public inputs this chunk's proof claims, in a batch of time `time` of the
    /// deployment `chain` (its genesis hash) under the genesis rule parameters `params`.
    /// Its padding slots are unsigned.
    pub fn instance(&self, time: u64, chain: Fp, params: &Params) -> Instance {
        let mut signers = self.signers.clone();
        signers.resize(self.slots.max(signers.len()), None);
        Instance::new(
            self.root_old,
            self.root_new,
            self.data_hash,
            time,
            chain,
            params,
            signers,
        )
    }
}

/// Why an artifact cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The text is not JSON, is cut short, or lacks a field or has a wrong one.
    #[error("{origin}: not a readable batch artifact: {source}")]
    Json {
        /// Where the text came from.
        origin: String,
        /// What the JSON reader said (with line and column).
        source: serde_json::Error,
    },
    /// The artifact has no `version` field.
    #[error("{origin}: not a batch artifact (no \"version\" field)")]
    NoVersion {
        /// Where the text came from.
        origin: String,
    },
    /// The artifact is of a version this verifier does not read.
    #[error("{origin}: batch artifact version {found}, this verifier reads version {VERSION}")]
    Version {
        /// Where the text came from.
        origin: String,
        /// The version in the file.
        found: u64,
    },
}

impl BatchArtifact {
    /// The transactions each chunk covers, in order, with the index of the first; `None` if
    /// the chunks' counts do not add up to the batch's transactions.
    pub fn chunk_transactions(&self) -> Option<Vec<(usize, &[Transaction])>> {
        let mut start: usize = 0;
        let mut parts = Vec::with_capacity(self.chunks.len());
        for c in &self.chunks {
            let end = start.checked_add(c.transactions)?;
            parts.push((start, self.transactions.get(start..end)?));
            start = end;
        }
        (start == self.transactions.len()).then_some(parts)
    }

    /// Reads an artifact from JSON text; `origin` names it in errors (a path, "stdin").
    /// The version is checked before the rest, so a future format gets a version error
    /// rather than a confusing field error.
    pub fn from_json(text: &str, origin: &str) -> Result<Self, ArtifactError> {
        let json = |source| ArtifactError::Json {
            origin: origin.to_string(),
            source,
        };
        // The version first, the rest skipped unread; then the whole artifact, straight
        // from the text (not through a `Value` tree: a third of the parse).
        #[derive(Deserialize)]
        struct Versioned {
            version: Option<serde_json::Value>,
        }
        let found = match serde_json::from_str::<Versioned>(text) {
            Ok(v) => v.version,
            // Valid JSON but not an object (an array, a number…): no version either.
            Err(_) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => None,
            Err(e) => return Err(json(e)),
        }
        .ok_or_else(|| ArtifactError::NoVersion {
            origin: origin.to_string(),
        })?;
        match found.as_u64() {
            Some(v) if v == u64::from(VERSION) => {}
            Some(found) => {
                return Err(ArtifactError::Version {
                    origin: origin.to_string(),
                    found,
                })
            }
            None => {
                return Err(ArtifactError::NoVersion {
                    origin: origin.to_string(),
                })
            }
        }
        serde_json::from_str(text).map_err(json)
    }

    /// Reads an artifact file.
    pub fn load(path: &Path) -> Result<Self, ArtifactError> {
        let text = fs::read_to_string(path).map_err(|source| ArtifactError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// The artifact as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("an artifact always serializes")
    }

    /// Writes the artifact to `path` (through a temporary file and a rename, so a crash
    /// never leaves a half-written artifact under the final name).
    pub fn save(&self, path: &Path) -> Result<(), ArtifactError> {
        let io = |source| ArtifactError::Io {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, self.to_json()).map_err(io)?;
        fs::rename(&tmp, path).map_err(io)
    }
}
