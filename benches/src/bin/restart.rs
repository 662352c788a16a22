//! Restart time of the sequencer against history length, with and without checkpoints.
//!
//! `cargo run --release -p benches --bin restart -- --transactions 10000,50000`

use std::path::PathBuf;

use clap::Parser;

/// Fills a data directory per history length and times restarts.
#[derive(Parser)]
struct Args {
    /// History lengths (transactions in the log), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    transactions: Vec<usize>,
    /// A checkpoint every this many sealed batches (of 64 transactions) while filling.
    #[arg(long, default_value_t = sequencer::server::DEFAULT_SNAPSHOT_EVERY)]
    every: u64,
    /// Restarts each way (the median is shown).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Where the data directories go (removed afterwards).
    #[arg(long, default_value = "target/restart-bench")]
    dir: PathBuf,
}

fn main() {
    let args = Args::parse();
    println!("| transactions | checkpoint (batch, MiB) | restart with it | from genesis |");
    println!("| --- | --- | --- | --- |");
    for n in args.transactions {
        let dir = args.dir.join(format!("history-{n}"));
        let run = benches::restart::run(&dir, n, args.every, args.repeats);
        println!(
            "| {} | {} | {:.2} s ({:.2}–{:.2}) | {:.2} s ({:.2}–{:.2}) |",
            run.transactions,
            run.checkpoint.map_or("none".to_string(), |b| format!(
                "{b}, {:.1}",
                run.checkpoint_bytes as f64 / (1 << 20) as f64
            )),
            run.with.median_s,
            run.with.min_s,
            run.with.max_s,
            run.without.median_s,
            run.without.min_s,
            run.without.max_s,
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
