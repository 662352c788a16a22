//! Restart time against history length: a sequencer's data directory filled with `n`
//! durable transfers over HTTP (checkpoints written as the service writes them), then
//! restarted on it until it serves, with its checkpoints and with them moved aside (a
//! replay of the whole log from genesis).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::ingest;
use crate::measure::Stats;

/// One history length's restarts.
#[derive(Clone, Debug)]
pub struct RestartRun {
    /// Transactions in the log.
    pub transactions: u64,
    /// The batch of the checkpoint the restart loaded.
    pub checkpoint: Option<u64>,
    /// Bytes of that checkpoint.
    pub checkpoint_bytes: u64,
    /// Time to a serving service, loading the newest checkpoint.
    pub with: Stats,
    /// Time to a serving service, replaying from genesis.
    pub without: Stats,
}

/// Fills `dir` with about `transactions` transfers from 16 clients (batches of 64, a
/// checkpoint every `every` batches), then restarts `repeats` times each way.
///
/// # Panics
/// If the sequencer cannot start, refuses a transfer, or recovers to another root.
pub fn run(dir: &Path, transactions: usize, every: u64, repeats: usize) -> RestartRun {
    let filled = ingest::fill(dir, 16, transactions, None, &|c| c.snapshot_every = every);
    let genesis = circuits::demo::City::new(ingest::RESIDENTS).genesis;
    let snapshots = sequencer::snapshot::Snapshots::new(dir);
    let aside = dir.with_extension("snapshots-aside");
    let start = || -> (Duration, circuits::Fp) {
        let started = Instant::now();
        let server = sequencer::spawn(ingest::config(dir, genesis.clone())).expect("restart");
        let took = started.elapsed();
        let root = server.shared().core.read().expect("no panics").state.root();
        server.stop();
        (took, root)
    };
    // The first start seals the batch the load left open: not measured.
    let (_, root) = start();
    let newest = snapshots.list().expect("checkpoints listed");
    let (checkpoint, checkpoint_bytes) = newest.first().map_or((None, 0), |(b, p)| {
        (Some(*b), std::fs::metadata(p).map_or(0, |m| m.len()))
    });
    let mut with = Vec::new();
    for _ in 0..repeats {
        let (took, r) = start();
        assert_eq!(r, root);
        with.push(took);
    }
    std::fs::rename(snapshots.dir(), &aside).expect("move the checkpoints aside");
    let mut without = Vec::new();
    for _ in 0..repeats {
        let (took, r) = start();
        assert_eq!(r, root);
        without.push(took);
    }
    std::fs::rename(&aside, snapshots.dir()).expect("put the checkpoints back");
    RestartRun {
        transactions: filled.txs as u64,
        checkpoint,
        checkpoint_bytes,
        with: Stats::of(&with),
        without: Stats::of(&without),
    }
}
