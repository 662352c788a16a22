//! Sequencer ingest: transactions accepted per second over HTTP on loopback, each durable
//! (in the sled log and flushed) before its answer, and the latency of each request
//! (p50 / p99), by the number of clients sending at once. The load generator is
//! `benches::ingest` (the `report` command runs it too).
//!
//! `cargo bench -p benches --bench ingest` prints a table (no criterion: a load generator).
//! `INGEST_TXS` sets the transactions per run (default 3000); a number argument selects a
//! client count (`cargo bench -p benches --bench ingest -- 16`).

use benches::ingest;

const CLIENT_COUNTS: [usize; 4] = [1, 4, 16, 64];

fn main() {
    // `cargo bench` passes `--bench`; numbers select client counts.
    let filter: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let total: usize = std::env::var("INGEST_TXS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    println!("sequencer ingest over loopback: transfers, durable (sled flush) before each answer");
    println!(
        "{:>8} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "clients", "txs", "seconds", "tx/s", "p50 ms", "p99 ms"
    );
    for clients in CLIENT_COUNTS {
        if !filter.is_empty() && !filter.contains(&clients) {
            continue;
        }
        let dir = std::env::temp_dir().join(format!(
            "city-ingest-bench-{}-{clients}",
            std::process::id()
        ));
        let r = ingest::run(&dir, clients, total);
        println!(
            "{:>8} {:>8} {:>10.2} {:>10.0} {:>10.2} {:>10.2}",
            r.clients,
            r.txs,
            r.elapsed.as_secs_f64(),
            r.rate(),
            r.latency(0.50).as_secs_f64() * 1e3,
            r.latency(0.99).as_secs_f64() * 1e3,
        );
    }
}
