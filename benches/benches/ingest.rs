//! Sequencer ingest: transactions accepted per second over HTTP on loopback, each durable
//! (in the sled log and flushed) before its answer, and the latency of each request
//! (p50 / p99), by the number of clients sending at once. Transfers, signed before the
//! timed part; every client sends from accounts of its own, one request after another. The
//! server runs in-process with proving off, so the numbers are ingest alone.
//!
//! `cargo bench -p benches --bench ingest` prints a table (no criterion: a load generator).
//! `INGEST_TXS` sets the transactions per run (default 3000).

use std::time::{Duration, Instant};

use circuits::demo::City;
use circuits::Transaction;

const CLIENT_COUNTS: [usize; 4] = [1, 4, 16, 64];
const RESIDENTS: usize = 64;

struct Run {
    clients: usize,
    txs: usize,
    seconds: f64,
    latencies: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// One run: a fresh data directory and server, `clients` threads, `total` transfers.
fn run(clients: usize, total: usize) -> Run {
    let dir = std::env::temp_dir().join(format!(
        "city-ingest-bench-{}-{clients}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut city = City::new(RESIDENTS);
    let mut config = sequencer::Config::new(
        dir.clone(),
        city.genesis.clone(),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.prove = false;
    config.queue_capacity = 4096;
    let server = sequencer::spawn(config).expect("start the sequencer");
    let url = server.url();

    // Each client sends from its own residents, round robin; sign everything first.
    let per_client = total / clients;
    let mut work: Vec<Vec<Transaction>> = vec![Vec::with_capacity(per_client); clients];
    for (c, txs) in work.iter_mut().enumerate() {
        let senders: Vec<u64> = (0..RESIDENTS)
            .filter(|r| r % clients == c % RESIDENTS.min(clients))
            .map(|r| city.resident(r))
            .collect();
        assert!(!senders.is_empty(), "more clients than residents");
        for i in 0..per_client {
            let from = senders[i % senders.len()];
            let to = city.resident((i + c + 1) % RESIDENTS);
            let to = if to == from {
                city.resident((i + c + 2) % RESIDENTS)
            } else {
                to
            };
            let tx = city.transfer(from, to, 1);
            city.apply(&tx, city.genesis.time)
                .expect("a valid transfer");
            txs.push(tx);
        }
    }

    let started = Instant::now();
    let threads: Vec<_> = work
        .into_iter()
        .map(|txs| {
            let url = url.clone();
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()
                    .unwrap();
                let mut latencies = Vec::with_capacity(txs.len());
                for tx in &txs {
                    let sent = Instant::now();
                    let response = http
                        .post(format!("{url}/v1/transactions"))
                        .json(tx)
                        .send()
                        .expect("the server answers");
                    assert_eq!(
                        response.status().as_u16(),
                        202,
                        "{}",
                        response.text().unwrap()
                    );
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("a client thread"))
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    Run {
        clients,
        txs: latencies.len(),
        seconds,
        latencies,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects client counts ("16").
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
        let r = run(clients, total);
        println!(
            "{:>8} {:>8} {:>10.2} {:>10.0} {:>10.2} {:>10.2}",
            r.clients,
            r.txs,
            r.seconds,
            r.txs as f64 / r.seconds,
            percentile(&r.latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&r.latencies, 0.99).as_secs_f64() * 1e3,
        );
    }
}
