//! The sequencer's ingest load generator: transactions accepted per second over HTTP on
//! loopback, each durable (in the sled log and flushed) before its answer, and the latency of
//! each request, with a number of clients sending at once.
//!
//! Transfers, all signed before the timed part; each client sends from accounts of its own,
//! one request after another (a closed loop: a client waits for each answer). The server runs
//! in-process with proving off, so the numbers are ingest alone.

use std::path::Path;
use std::time::{Duration, Instant};

use circuits::demo::City;
use circuits::Transaction;

/// Residents of the load generator's city (the senders are spread over them).
pub const RESIDENTS: usize = 64;

/// One run of the load generator.
#[derive(Clone, Debug)]
pub struct IngestRun {
    /// Clients sending at once.
    pub clients: usize,
    /// Transactions accepted (every one sent is accepted or the run panics).
    pub txs: usize,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
    /// Every request's latency, sorted.
    pub latencies: Vec<Duration>,
}

impl IngestRun {
    /// Accepted transactions per second.
    pub fn rate(&self) -> f64 {
        self.txs as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0 to 1; nearest rank).
    pub fn latency(&self, q: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        self.latencies[i]
    }
}

/// Residents of a load's city: [`RESIDENTS`], or one per client beyond that.
pub fn residents(clients: usize) -> usize {
    RESIDENTS.max(clients)
}

/// `total` transfers signed for `clients` clients, each client's from residents of its own,
/// in the order each client sends them. Each sender's nonces count up from its current one;
/// the signing is spread over the machine's cores (a million transfers for the restart
/// bench). The server checks every transfer: a refused one stops the run.
fn signed_work(city: &City, clients: usize, total: usize) -> Vec<Vec<Transaction>> {
    let residents = residents(clients);
    let per_client = total / clients;
    let mut nonces: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    let plans: Vec<Vec<(u64, u64, u64)>> = (0..clients)
        .map(|c| {
            let senders: Vec<u64> = (0..residents)
                .filter(|r| r % clients == c)
                .map(|r| city.resident(r))
                .collect();
            (0..per_client)
                .map(|i| {
                    let from = senders[i % senders.len()];
                    // Around the client's own senders when it has several, so that no
                    // balance runs out however long the load; otherwise to the next
                    // resident.
                    let mut to = if senders.len() > 1 {
                        senders[(i + 1) % senders.len()]
                    } else {
                        city.resident((i + c + 1) % residents)
                    };
                    if to == from {
                        to = city.resident((i + c + 2) % residents);
                    }
                    let nonce = nonces.entry(from).or_insert_with(|| city.nonce(from));
                    *nonce += 1;
                    (from, to, *nonce - 1)
                })
                .collect()
        })
        .collect();
    let sign = |plan: &[(u64, u64, u64)]| -> Vec<Transaction> {
        plan.iter()
            .map(|&(from, to, nonce)| {
                city.sign(Transaction::Transfer(circuits::tx::Transfer {
                    from,
                    to,
                    amount: 1,
                    nonce,
                    signature: Default::default(),
                }))
            })
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = plans.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = plans
            .chunks(share)
            .map(|part| scope.spawn(move || part.iter().map(|p| sign(p)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("signing does not panic"))
            .collect()
    })
}

/// One run: a fresh sequencer with its data under `dir` (removed afterwards), `clients`
/// client threads, about `total` transfers (a multiple of `clients`).
///
/// # Panics
/// If the sequencer cannot start or refuses a transfer.
pub fn run(dir: &Path, clients: usize, total: usize) -> IngestRun {
    let run = fill(dir, clients, total, None, &|_| {});
    let _ = std::fs::remove_dir_all(dir);
    run
}

/// The sequencer's configuration for a load run with its data in `dir`: proving off, a
/// deep queue.
pub fn config(dir: &Path, genesis: circuits::Genesis) -> sequencer::Config {
    let mut config = sequencer::Config::new(
        dir.to_path_buf(),
        genesis,
        "127.0.0.1:0".parse().expect("an address"),
    );
    config.prove = false;
    config.queue_capacity = 4096;
    config
}

/// As [`run`], but leaves the data directory in place (for restarts of a long history),
/// with `tweak` applied to the sequencer's [`config`] first. With `rate`, the load is open:
/// the clients together send `rate` transactions a second on a fixed schedule, and a
/// request's latency counts from when the schedule wanted it sent (so time spent behind
/// schedule counts); without, each client sends its next request when the last is answered.
///
/// # Panics
/// If the sequencer cannot start or refuses a transfer.
pub fn fill(
    dir: &Path,
    clients: usize,
    total: usize,
    rate: Option<f64>,
    tweak: &dyn Fn(&mut sequencer::Config),
) -> IngestRun {
    let _ = std::fs::remove_dir_all(dir);
    let city = City::new(residents(clients));
    let mut config = config(dir, city.genesis.clone());
    tweak(&mut config);
    let server = sequencer::spawn(config).expect("start the sequencer");
    let url = format!("{}/v1/transactions", server.url());
    let work = signed_work(&city, clients, total);

    // The clients are tasks on one thread of their own (each with its own connection, as
    // many open at once as there are clients), so the load generator takes at most one of
    // the machine's cores from the sequencer it measures: a thread per client, each with
    // a blocking HTTP client and that client's own runtime thread, took a growing share of
    // the CPU as the clients grew (1,000 clients were 2,000 threads).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the clients");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(clients)
        .build()
        .expect("an HTTP client");
    let started = Instant::now();
    let mut latencies: Vec<Duration> = runtime.block_on(async {
        let tasks: Vec<_> = work
            .into_iter()
            .enumerate()
            .map(|(c, txs)| {
                let (http, url) = (http.clone(), url.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::with_capacity(txs.len());
                    for (k, tx) in txs.iter().enumerate() {
                        let due = rate.map(|r| {
                            started + Duration::from_secs_f64((k * clients + c) as f64 / r)
                        });
                        if let Some(due) = due {
                            tokio::time::sleep_until(due.into()).await;
                        }
                        let sent = due.unwrap_or_else(Instant::now);
                        let response = http
                            .post(&url)
                            .json(tx)
                            .send()
                            .await
                            .expect("the server answers");
                        let status = response.status().as_u16();
                        assert_eq!(status, 202, "{}", response.text().await.unwrap_or_default());
                        latencies.push(sent.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("a client task"));
        }
        all
    });
    let elapsed = started.elapsed();
    latencies.sort();
    server.stop();
    IngestRun {
        clients,
        txs: latencies.len(),
        elapsed,
        latencies,
    }
}
