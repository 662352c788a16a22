//! Prometheus metrics in the text exposition format (version 0.0.4), served at `/metrics`.
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `sequencer_transactions_accepted_total` | counter | `kind` |
//! | `sequencer_transactions_rejected_total` | counter | `kind`, `code` |
//! | `sequencer_batches_sealed_total` | counter | |
//! | `sequencer_batches_proven_total` | counter | |
//! | `sequencer_proving_failures_total` | counter | |
//! | `sequencer_proving_seconds` | histogram | |
//! | `sequencer_ingest_latency_seconds` | histogram | (request received to answer sent) |
//! | `sequencer_ingest_queue_depth` | gauge | |
//! | `sequencer_log_transactions`, `sequencer_latest_sealed_batch`, `sequencer_latest_proven_batch`, `sequencer_batches_unproven` | gauge | |
//! | `sequencer_chunk_jobs` (with `--postgres`) | gauge | `status`: `queued`, `leased`, `done`, `failed` |
//! | `sequencer_lease_expiries_total` (with `--postgres`) | counter | |
//! | `sequencer_worker_chunks_total`, `sequencer_worker_prove_seconds_total` (with `--postgres`) | counter | `worker` |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// A histogram with fixed upper bounds (seconds).
#[derive(Debug)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn observe(&self, seconds: f64) {
        if let Some(i) = self.bounds.iter().position(|b| seconds <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let total = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
    }
}

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    accepted: Mutex<BTreeMap<&'static str, u64>>,
    rejected: Mutex<BTreeMap<(&'static str, String), u64>>,
    sealed: AtomicU64,
    proven: AtomicU64,
    proving_failures: AtomicU64,
    proving_seconds: Histogram,
    ingest_latency: Histogram,
    /// Requests waiting for the writer.
    pub queue_depth: AtomicUsize,
    log_transactions: AtomicU64,
    latest_sealed: AtomicU64,
    latest_proven: AtomicU64,
    jobs: Mutex<Option<prover::fleet::JobCounts>>,
    lease_expiries: AtomicU64,
    /// Per worker: published chunk proofs and their proving seconds.
    workers: Mutex<BTreeMap<String, (u64, f64)>>,
}

const PROVING_BOUNDS: &[f64] = &[0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0];
const LATENCY_BOUNDS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            accepted: Mutex::default(),
            rejected: Mutex::default(),
            sealed: AtomicU64::new(0),
            proven: AtomicU64::new(0),
            proving_failures: AtomicU64::new(0),
            proving_seconds: Histogram::new(PROVING_BOUNDS),
            ingest_latency: Histogram::new(LATENCY_BOUNDS),
            queue_depth: AtomicUsize::new(0),
            log_transactions: AtomicU64::new(0),
            latest_sealed: AtomicU64::new(0),
            latest_proven: AtomicU64::new(0),
            jobs: Mutex::new(None),
            lease_expiries: AtomicU64::new(0),
            workers: Mutex::default(),
        }
    }
}

impl Metrics {
    /// A transaction of `kind` was accepted (made durable and applied).
    pub fn accepted(&self, kind: &'static str) {
        *self
            .accepted
            .lock()
            .expect("no panics")
            .entry(kind)
            .or_default() += 1;
    }

    /// A transaction of `kind` (or `"unparsed"`) was refused with `code`.
    pub fn rejected(&self, kind: &'static str, code: &str) {
        *self
            .rejected
            .lock()
            .expect("no panics")
            .entry((kind, code.to_string()))
            .or_default() += 1;
    }

    /// A batch was sealed; `number` is now the latest.
    pub fn sealed(&self, number: u64) {
        self.sealed.fetch_add(1, Ordering::Relaxed);
        self.latest_sealed.store(number, Ordering::Relaxed);
    }

    /// Sets the latest sealed batch without counting a seal (at recovery).
    pub fn set_latest_sealed(&self, number: u64) {
        self.latest_sealed.store(number, Ordering::Relaxed);
    }

    /// A batch was proven in `seconds`.
    pub fn proven(&self, number: u64, seconds: f64) {
        self.proven.fetch_add(1, Ordering::Relaxed);
        self.proving_seconds.observe(seconds);
        self.latest_proven.store(number, Ordering::Relaxed);
    }

    /// Sets the latest proven batch without counting a proof (at recovery).
    pub fn set_latest_proven(&self, number: u64) {
        self.latest_proven.store(number, Ordering::Relaxed);
    }

    /// The prover fleet's jobs by status (`--postgres`).
    pub fn set_jobs(&self, counts: prover::fleet::JobCounts) {
        *self.jobs.lock().expect("no panics") = Some(counts);
    }

    /// `n` leases of the prover fleet expired and their jobs were queued again.
    pub fn leases_expired(&self, n: u64) {
        self.lease_expiries.fetch_add(n, Ordering::Relaxed);
    }

    /// A chunk proof that `worker` made in `seconds` was published.
    pub fn worker_proved(&self, worker: &str, seconds: f64) {
        let mut workers = self.workers.lock().expect("no panics");
        let entry = workers.entry(worker.to_string()).or_default();
        entry.0 += 1;
        entry.1 += seconds;
    }

    /// A proving attempt failed.
    pub fn proving_failed(&self) {
        self.proving_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// An ingest request took `seconds` from receipt to answer.
    pub fn ingest_latency(&self, seconds: f64) {
        self.ingest_latency.observe(seconds);
    }

    /// The log now holds `n` transactions.
    pub fn log_transactions(&self, n: u64) {
        self.log_transactions.store(n, Ordering::Relaxed);
    }

    /// Count of accepted transactions of `kind` so far.
    pub fn accepted_count(&self, kind: &str) -> u64 {
        self.accepted
            .lock()
            .expect("no panics")
            .get(kind)
            .copied()
            .unwrap_or(0)
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP sequencer_transactions_accepted_total Transactions made durable and applied, by kind (the matcher's fills included).\n# TYPE sequencer_transactions_accepted_total counter"
        );
        for (kind, n) in self.accepted.lock().expect("no panics").iter() {
            let _ = writeln!(
                out,
                "sequencer_transactions_accepted_total{{kind=\"{kind}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP sequencer_transactions_rejected_total Transactions refused, by kind and error code.\n# TYPE sequencer_transactions_rejected_total counter"
        );
        for ((kind, code), n) in self.rejected.lock().expect("no panics").iter() {
            let _ = writeln!(
                out,
                "sequencer_transactions_rejected_total{{kind=\"{kind}\",code=\"{code}\"}} {n}"
            );
        }
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        counter(
            &mut out,
            "sequencer_batches_sealed_total",
            "Batches sealed by this process.",
            self.sealed.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "sequencer_batches_proven_total",
            "Batches proven by this process.",
            self.proven.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "sequencer_proving_failures_total",
            "Proving attempts that failed (each is retried).",
            self.proving_failures.load(Ordering::Relaxed),
        );
        self.proving_seconds.render(
            &mut out,
            "sequencer_proving_seconds",
            "Wall time to prove one batch.",
        );
        self.ingest_latency.render(
            &mut out,
            "sequencer_ingest_latency_seconds",
            "Time from receiving a transaction to answering (durable when accepted).",
        );
        let latest_sealed = self.latest_sealed.load(Ordering::Relaxed);
        let latest_proven = self.latest_proven.load(Ordering::Relaxed);
        gauge(
            &mut out,
            "sequencer_ingest_queue_depth",
            "Transactions waiting for the writer.",
            self.queue_depth.load(Ordering::Relaxed) as u64,
        );
        gauge(
            &mut out,
            "sequencer_log_transactions",
            "Transactions in the durable log.",
            self.log_transactions.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "sequencer_latest_sealed_batch",
            "Number of the latest sealed batch (0: none).",
            latest_sealed,
        );
        gauge(
            &mut out,
            "sequencer_latest_proven_batch",
            "Number of the latest batch proven, all before it proven too (0: none).",
            latest_proven,
        );
        gauge(
            &mut out,
            "sequencer_batches_unproven",
            "Sealed batches waiting for their proof.",
            latest_sealed.saturating_sub(latest_proven),
        );
        if let Some(jobs) = *self.jobs.lock().expect("no panics") {
            let _ = writeln!(
                out,
                "# HELP sequencer_chunk_jobs The prover fleet's chunk jobs of unpublished batches, by status (failed: every attempt failed; see the batch's status).\n# TYPE sequencer_chunk_jobs gauge"
            );
            for (status, n) in [
                ("queued", jobs.queued),
                ("leased", jobs.leased),
                ("done", jobs.done),
                ("failed", jobs.failed),
            ] {
                let _ = writeln!(out, "sequencer_chunk_jobs{{status=\"{status}\"}} {n}");
            }
            let _ = writeln!(
                out,
                "# HELP sequencer_lease_expiries_total Chunk job leases that expired (a worker killed, stuck or cut off); their jobs were queued again.\n# TYPE sequencer_lease_expiries_total counter\nsequencer_lease_expiries_total {}",
                self.lease_expiries.load(Ordering::Relaxed)
            );
            let workers = self.workers.lock().expect("no panics");
            let _ = writeln!(
                out,
                "# HELP sequencer_worker_chunks_total Published chunk proofs, by the worker that made them (its throughput is this counter's rate).\n# TYPE sequencer_worker_chunks_total counter"
            );
            for (worker, (chunks, _)) in workers.iter() {
                let _ = writeln!(
                    out,
                    "sequencer_worker_chunks_total{{worker=\"{}\"}} {chunks}",
                    label(worker)
                );
            }
            let _ = writeln!(
                out,
                "# HELP sequencer_worker_prove_seconds_total Proving time of the published chunk proofs, by worker.\n# TYPE sequencer_worker_prove_seconds_total counter"
            );
            for (worker, (_, seconds)) in workers.iter() {
                let _ = writeln!(
                    out,
                    "sequencer_worker_prove_seconds_total{{worker=\"{}\"}} {seconds:.3}",
                    label(worker)
                );
            }
        }
        out
    }
}

/// `text` as a Prometheus label value (backslashes, quotes and newlines escaped).
fn label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_counters_labelled() {
        let m = Metrics::default();
        m.accepted("transfer");
        m.accepted("transfer");
        m.rejected("tap", "tap_in_future");
        m.ingest_latency(0.0015);
        m.ingest_latency(0.3);
        m.ingest_latency(10.0);
        let text = m.render();
        assert!(text.contains("sequencer_transactions_accepted_total{kind=\"transfer\"} 2"));
        assert!(text.contains(
            "sequencer_transactions_rejected_total{kind=\"tap\",code=\"tap_in_future\"} 1"
        ));
        assert!(text.contains("sequencer_ingest_latency_seconds_bucket{le=\"0.001\"} 0"));
        assert!(text.contains("sequencer_ingest_latency_seconds_bucket{le=\"0.002\"} 1"));
        assert!(text.contains("sequencer_ingest_latency_seconds_bucket{le=\"0.5\"} 2"));
        assert!(text.contains("sequencer_ingest_latency_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("sequencer_ingest_latency_seconds_count 3"));
    }
}
