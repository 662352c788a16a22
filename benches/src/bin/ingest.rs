//! The sequencer's durable ingest over loopback: transactions a second and latency at
//! each number of clients (closed loop: each client waits for its answer), then at an
//! offered rate (open loop), and the process's peak memory (server and client threads).
//!
//! `cargo run --release -p benches --bin ingest -- --clients 1,16,64,256,1000 --rate 1000`

use std::path::PathBuf;

use benches::measure;
use clap::Parser;

/// Runs the load generator against an in-process sequencer with proving off.
#[derive(Parser)]
struct Args {
    /// Client counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256,1000")]
    clients: Vec<usize>,
    /// Transfers per run (rounded down to a multiple of the clients).
    #[arg(long, default_value_t = 4000)]
    transactions: usize,
    /// Also offer this many transactions a second from the largest client count (0: no
    /// open-loop run).
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Where the data directories go (removed afterwards).
    #[arg(long, default_value = "target/ingest-bench")]
    dir: PathBuf,
}

fn main() {
    let args = Args::parse();
    println!("| clients | offered | accepted tx/s | p50 | p99 | peak memory (process) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut runs: Vec<(usize, Option<f64>)> = args.clients.iter().map(|c| (*c, None)).collect();
    if args.rate > 0.0 {
        let most = args.clients.iter().copied().max().unwrap_or(1);
        runs.push((most, Some(args.rate)));
    }
    for (clients, rate) in runs {
        measure::start_peak_window();
        let dir = args.dir.join(format!("clients-{clients}"));
        let run = benches::ingest::fill(&dir, clients, args.transactions, rate, &|_| {});
        let _ = std::fs::remove_dir_all(&dir);
        println!(
            "| {clients} | {} | {:.0} | {:.1} ms | {:.1} ms | {} |",
            rate.map_or("as fast as answered".to_string(), |r| format!(
                "{r:.0} tx/s"
            )),
            run.rate(),
            run.latency(0.5).as_secs_f64() * 1e3,
            run.latency(0.99).as_secs_f64() * 1e3,
            measure::window_peak_mib().map_or("?".to_string(), |m| format!("{m:.0} MiB")),
        );
    }
}
