//! What the report holds (written as JSON as it is, and rendered as markdown). Times are
//! seconds unless a field's name says otherwise; every timing is a [`Stats`] of repeated runs.

use benches::measure::Stats;
use benches::workload::Mix;
use circuits::chunk::Family;
use serde::Serialize;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub settings: Settings,
    pub rows: Vec<FamilyRows>,
    pub params: Vec<ParamsLoad>,
    pub native: Vec<NativeRow>,
    pub ballot: Option<BallotSection>,
    /// Orchard's action circuit, proved in this run.
    pub orchard: Option<OrchardSection>,
    pub chunks: Vec<ChunkRow>,
    /// One-slot chunks proven together, as a batch's chunks of one circuit are.
    pub groups: Vec<GroupRow>,
    pub batches: Vec<BatchRow>,
    pub ingest: Vec<IngestRow>,
    pub phases: Vec<Phase>,
    /// The highest peak of any phase, MiB (the process's peak resident memory).
    pub peak_memory_mib: Option<f64>,
    /// Whether each phase's peak was measured alone (the peak reset between phases); if not,
    /// each phase's figure is the peak of the process so far.
    pub peak_per_phase: bool,
    /// Wall time of the whole report.
    pub total_s: f64,
}

/// Where and how it ran.
#[derive(Debug, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub cpu: Option<String>,
    pub memory_total_mib: Option<f64>,
    pub kernel: Option<String>,
    pub git_commit: Option<String>,
    /// Tracked files with uncommitted changes when the report ran (what was measured is
    /// the commit plus these).
    pub uncommitted: Vec<String>,
    pub started_utc: String,
    /// 1, 5 and 15 minute load averages when the report started and when it ended.
    pub load_start: Option<[f64; 3]>,
    pub load_end: Option<[f64; 3]>,
    pub command: String,
}

/// What was asked.
#[derive(Debug, Serialize)]
pub struct Settings {
    pub threads: usize,
    /// Thread counts the proving is measured at.
    pub thread_counts: Vec<usize>,
    pub runs: usize,
    pub max_k: u32,
    /// The families whose chunks were measured.
    pub families: Vec<Family>,
    pub quick: bool,
    pub mix: Mix,
    /// Accounts slots per chunk the mixed batch is proved with.
    pub batch_slots: Vec<usize>,
    pub ingest_clients: Vec<usize>,
    pub ingest_txs: usize,
    pub params_dir: String,
}

/// A family's circuit layout (every kind of the family fills one slot of it).
#[derive(Debug, Serialize)]
pub struct FamilyRows {
    pub family: Family,
    pub kinds: Vec<&'static str>,
    pub rows_per_slot: usize,
    pub fixed_rows: usize,
    /// `(k, slots)` for k = 12 to 15.
    pub slots_at: Vec<(u32, usize)>,
}

/// Parameters read from the cache or made.
#[derive(Debug, Serialize)]
pub struct ParamsLoad {
    pub k: u32,
    pub made: bool,
    pub seconds: f64,
}

/// Native rules: one kind applied to a state.
#[derive(Debug, Serialize)]
pub struct NativeRow {
    pub kind: &'static str,
    pub family: Family,
    /// Transactions applied per timed run.
    pub txs: usize,
    pub run: Stats,
    pub per_tx_us: f64,
}

/// The ballot circuit, on a voter's machine and for auditors.
#[derive(Debug, Serialize)]
pub struct BallotSection {
    pub k: u32,
    pub keygen_s: f64,
    pub proof_bytes: usize,
    /// `(threads, proving)`.
    pub proving: Vec<(usize, Stats)>,
    pub verify_single: Stats,
    pub batch_size: usize,
    pub verify_batch: Stats,
}

/// Zcash's Orchard action circuit (orchard 0.16, on our halo2 and curves), proved in the same
/// run: one bundle of `actions` actions per proof.
#[derive(Debug, Serialize)]
pub struct OrchardSection {
    pub actions: usize,
    pub keygen_s: f64,
    pub proof_bytes: usize,
    /// Per thread count; `tx_per_s` and `s_per_tx` are per action.
    pub proving: Vec<ThreadRow>,
    pub verify_single: Stats,
}

/// Proving at one thread count.
#[derive(Debug, Serialize)]
pub struct ThreadRow {
    pub threads: usize,
    pub proving: Stats,
    pub tx_per_s: f64,
    pub s_per_tx: f64,
}

/// One chunk circuit (family and size): keys, proving, proof size, verification.
#[derive(Debug, Serialize)]
pub struct ChunkRow {
    pub family: Family,
    pub slots: usize,
    pub k: u32,
    pub rows_used: usize,
    /// The signature proofs beside the chunk's: how many signatures at which k each
    /// (`7 at k = 11 + 7 at k = 11`), empty for none.
    pub signatures: String,
    /// Keys of both circuits.
    pub keygen_s: f64,
    /// The chunk's proof and its signature proof.
    pub proof_bytes: usize,
    pub signature_proof_bytes: usize,
    /// The chunk's proof and its signature proof, one after the other.
    pub proving: Vec<ThreadRow>,
    pub verify_single: Stats,
    /// Proofs in the batched verification (distinct proofs of the same chunk, one per
    /// proving run).
    pub batch_proofs: usize,
    pub verify_batch: Stats,
    pub peak_memory_mib: Option<f64>,
}

/// One way of proving the mixed batch.
#[derive(Debug, Serialize)]
pub struct BatchConfig {
    pub threads: usize,
    pub split: &'static str,
    pub proving: Stats,
    pub tx_per_s: f64,
    pub peak_memory_mib: Option<f64>,
}

/// The verifier's cold start for a batch: parameters read, verifying keys made.
#[derive(Debug, Serialize)]
pub struct ColdStart {
    pub params: Stats,
    pub verifying_keys: Stats,
    pub ballot_keys: Stats,
    pub total: Stats,
    /// `(family, slots, k, verifying key)` of each circuit, from the last cold start.
    pub per_circuit: Vec<(Family, usize, u32, f64)>,
}

/// The mixed batch proved at one chunk size, and verified.
#[derive(Debug, Serialize)]
pub struct BatchRow {
    pub accounts_slots: usize,
    pub k: u32,
    pub txs: usize,
    /// `(family, slots, k)` of each chunk, in order.
    pub chunks: Vec<(Family, usize, u32)>,
    pub keygen_s: f64,
    pub configs: Vec<BatchConfig>,
    /// The faster of the two splits at all threads (by median), if both were measured.
    pub faster_split: Option<&'static str>,
    pub proof_bytes: usize,
    pub cold_start: ColdStart,
    /// The verifier's whole check of the batch (ballot proofs, data hashes, replay of the
    /// rules, chunk proofs), keys already loaded.
    pub full_check: Stats,
    /// The verifier's check from the proofs and data alone (`verifier chain` without
    /// `--replay`: no rules replayed), keys already loaded.
    pub proofs_check: Stats,
    /// The chunk proofs batched per circuit as the verifier does
    /// (`circuits::verifying::verify_many`).
    pub chunk_proofs_batched: Stats,
    /// The same with halo2's own `BatchVerifier`, which that replaced.
    pub chunk_proofs_halo2_batch: Stats,
    pub chunk_proofs_one_by_one: Stats,
}

/// Sequencer ingest with some clients sending at once.
#[derive(Debug, Serialize)]
pub struct IngestRow {
    pub clients: usize,
    pub txs_per_run: usize,
    pub runs: usize,
    /// Median of the runs' rates (accepted transactions per second).
    pub tx_per_s: f64,
    /// Medians over the runs of each run's 50th and 99th percentile latency.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The data directory's file system (durability means a flush on it).
    pub file_system: Option<String>,
}

/// A phase of the report: its wall time, peak memory and the load around it.
#[derive(Debug, Serialize)]
pub struct Phase {
    pub name: String,
    pub seconds: f64,
    /// Resident memory when the phase started (what earlier phases left allocated).
    pub memory_start_mib: Option<f64>,
    pub peak_memory_mib: Option<f64>,
    pub load_start: Option<[f64; 3]>,
    pub load_end: Option<[f64; 3]>,
}

/// One proof of `chunks` one-slot chunks of a family (halo2 instances of one circuit), at
/// all threads.
#[derive(Clone, Debug, Serialize)]
pub struct GroupRow {
    pub family: Family,
    pub k: u32,
    pub chunks: usize,
    pub proving: Stats,
    pub per_chunk_s: f64,
    pub proof_bytes: usize,
    pub verify: Stats,
}
