//! The auditors' verifier: checks batch artifacts (every chunk proof, every ballot proof,
//! public inputs against the published transactions, roots against a native replay of the
//! rules from genesis, batches chaining with consecutive numbers) and recomputes tallies and
//! accounts from verified data only.
//!
//! The artifact format ([`artifact`]) lives here, and the prover depends on this crate to
//! write it: auditors define what a batch must carry and never build the prover.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod artifact;
pub mod check;
pub mod source;

pub use artifact::{
    ArtifactError, BatchArtifact, ChunkArtifact, ChunkProofArtifact, SignatureArtifact,
    FIRST_BATCH, VERSION,
};
pub use check::{BatchSummary, ChainReport, ColdStart, Keys, VerifyError};
