//! Proving on many machines: chunk jobs in PostgreSQL, leased by a fleet of workers.
//!
//! A sequencer started with `--postgres URL` builds each sealed batch's chunk witnesses in
//! order and inserts one job per chunk ([`JobQueue::enqueue_batch`]); any number of
//! `prover worker --postgres URL` processes, on any machines, lease jobs
//! ([`JobQueue::lease`], `SELECT … FOR UPDATE SKIP LOCKED`, so two workers never take the same
//! job), renew their lease while they prove, verify their own proof and complete the job in
//! one statement fenced by the lease's token ([`JobQueue::complete`]). The sequencer collects
//! a batch's proofs when all are done, verifies them and publishes batches in order.
//!
//! **Signatures.** A worker proves a chunk's signed slots' signatures beside the chunk, in a
//! signature proof of their own ([`circuits::signatures`]), and hands both in together
//! ([`Proven`]); the sequencer puts each chunk's signature proof in the batch artifact.
//!
//! The job table (`migrations/`, applied by [`JobQueue::connect`]) holds only the pipeline:
//! the sequencer's log stays the truth, and a fresh database is filled again from it.
//!
//! **The job format** ([`JobPayload`], JSON, versioned by [`FORMAT`]) is the rules library's
//! account of a chunk, not the circuit's: the chunk's family and slots, each slot's
//! transaction (kind, canonical encoding, signature) and the leaves it touches before and
//! after with their Merkle paths, and the expected public inputs. A worker gives it to the
//! family's chunk circuit; nothing in it names a column or a row.
//!
//! **Leases.** A job is `queued`, `leased` (to one worker until `lease_expires_at`), `done`
//! (its proof stored) or `failed` (it failed `max_attempts` times; its error is kept). Every
//! lease counts an attempt. A lease that expires (its worker killed or cut off) returns the
//! job to the queue ([`JobQueue::requeue_expired`]), or fails it if its attempts are spent.
//! A proof arrives with its lease's token: on time it completes the job; after the lease
//! expired (the job queued again, or leased to another worker) a valid proof still completes
//! it, once: the first completion wins and every later one changes nothing.

mod queue;
pub mod worker;

pub use queue::{
    BatchProgress, Completion, JobCounts, JobQueue, JobState, Lease, NewJob, Released,
};

use circuits::chunk::witness::ChunkWitness;
use circuits::chunk::{Family, Instance};
use serde::{Deserialize, Serialize};
use verifier::SignatureArtifact;

use crate::{ProveError, Prover};

/// The version of [`JobPayload`]'s encoding; a worker refuses a job of another (4: the
/// Poseidon chip checks its partial rounds reduced, so a worker of format 3 would make proofs
/// under other keys; 3: a
/// signature's challenge hashes the digest of the key and message, so a worker of format 2
/// would prove signatures that no longer verify; 2: the public inputs carry each slot's
/// signer, and a slot's signature is optional).
pub const FORMAT: i32 = 4;

/// Attempts a job gets before it is marked failed (the sequencer's default).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// What a worker needs to prove one chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobPayload {
    /// The batch.
    pub batch: u64,
    /// The chunk's place in it.
    pub chunk: u32,
    /// The chunk's witness: its family, the state header before it, and every slot.
    pub witness: ChunkWitness,
    /// The public inputs the proof must have.
    pub instance: Instance,
}

impl JobPayload {
    /// The family whose circuit proves it.
    pub fn family(&self) -> Family {
        self.witness.family
    }

    /// Its slots.
    pub fn slots(&self) -> usize {
        self.witness.slots.len()
    }

    /// Its encoding in the job table.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a payload always serializes")
    }

    /// Reads a payload of format `format`.
    pub fn decode(format: i32, bytes: &[u8]) -> Result<Self, String> {
        if format != FORMAT {
            return Err(format!(
                "the job's format is {format}; this worker reads format {FORMAT} (upgrade the worker or the sequencer so that they match)"
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| format!("the job's payload is not readable: {e}"))
    }
}

/// What a worker hands in for one job: the chunk proof, and the proof of the chunk's signed
/// slots' signatures (`None` when no slot is signed). Both verified by the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proven {
    /// The chunk proof.
    pub chunk: Vec<u8>,
    /// The signature proof.
    pub signatures: Option<SignatureArtifact>,
}

impl Proven {
    /// A chunk proof with no signature proof (a chunk of no signed slot).
    pub fn unsigned(chunk: &[u8]) -> Self {
        Proven {
            chunk: chunk.to_vec(),
            signatures: None,
        }
    }
}

impl JobPayload {
    /// Proves the job with `prover` on the calling thread's rayon pool: the chunk, then its
    /// signatures, each checked before it is returned.
    pub fn prove(self, prover: &Prover) -> Result<Proven, ProveError> {
        let signatures = prover.prove_chunk_signatures(&self.witness, &self.instance)?;
        let chunk = prover.prove_chunk(self.witness, &self.instance)?;
        Ok(Proven { chunk, signatures })
    }
}

/// Why the pipeline's database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// No connection.
    #[error("cannot connect to PostgreSQL at {url}: {source}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// What failed.
        source: sqlx::Error,
    },
    /// The schema cannot be brought up to date.
    #[error("cannot set up the job table: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A statement failed.
    #[error("PostgreSQL: {0}")]
    Db(#[from] sqlx::Error),
    /// The database serves another city.
    #[error("this database's proving pipeline belongs to deployment {found}, not {expected}: give each deployment a database of its own")]
    Deployment {
        /// This sequencer's genesis hash.
        expected: String,
        /// The one recorded in the database.
        found: String,
    },
}

/// `url` without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{scheme}://{name}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_kept_out_of_messages() {
        assert_eq!(
            redact("postgres://prover:s3cret@db.city:5432/rollup?sslmode=require"),
            "postgres://prover:***@db.city:5432/rollup?sslmode=require"
        );
        assert_eq!(
            redact("postgres://postgres@localhost/postgres?host=/tmp/pg"),
            "postgres://postgres@localhost/postgres?host=/tmp/pg"
        );
        assert_eq!(redact("postgres:///city"), "postgres:///city");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn a_payload_of_another_format_or_garbage_is_refused_by_name() {
        let e = JobPayload::decode(FORMAT + 1, b"{}").unwrap_err();
        assert!(e.contains(&format!("format is {}", FORMAT + 1)), "{e}");
        let e = JobPayload::decode(FORMAT, b"{\"batch\": 1").unwrap_err();
        assert!(e.contains("not readable"), "{e}");
    }
}
