//! A sequencer started with `--postgres` and a fleet of `prover worker --postgres` processes,
//! all real: a throwaway PostgreSQL cluster (`scripts/pg-cluster`), the sequencer on
//! loopback, workers as processes (one killed with SIGKILL while it holds a lease) or
//! in-process, real chunk proofs at k = 12, and the verifier over HTTP at the end.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use circuits::demo::City;
use prover::fleet::{Completion, JobPayload, JobQueue, Proven};
use serde_json::Value;
use support::{params_dir, scratch, Cluster};

fn get(url: &str) -> Value {
    reqwest::blocking::get(url).unwrap().json().unwrap()
}

fn metrics(base: &str) -> String {
    reqwest::blocking::get(format!("{base}/metrics"))
        .unwrap()
        .text()
        .unwrap()
}

/// A sequencer on `postgres` for `city`, sealing batches of two transfers.
fn sequencer(
    data: &Path,
    city: &City,
    postgres: &str,
    max_attempts: u32,
) -> Result<sequencer::Running, sequencer::StartError> {
    let mut config = sequencer::Config::new(
        data.to_path_buf(),
        city.genesis.clone(),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.params_dir = Some(params_dir());
    config.batch_size = 2;
    config.batch_age = Duration::from_millis(200);
    config.postgres = Some(postgres.to_string());
    config.max_attempts = max_attempts;
    sequencer::spawn(config)
}

/// Sends `count` transfers (two a batch) and waits until `batches` batches are sealed.
fn submit(base: &str, city: &mut City, count: usize, batches: u64) {
    let http = reqwest::blocking::Client::new();
    let (a, b) = (city.resident(0), city.resident(1));
    for i in 0..count {
        let tx = city.transfer(a, b, 3 + i as u64);
        let response = http
            .post(format!("{base}/v1/transactions"))
            .json(&tx)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
        let receipt: Value = response.json().unwrap();
        city.apply(&tx, receipt["time"].as_u64().unwrap()).unwrap();
    }
    wait(Duration::from_secs(30), "the batches to seal", || {
        get(&format!("{base}/v1/state"))["latest_sealed"] == batches
    });
}

fn wait(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `(status, worker)` of every job, in batch and chunk order.
fn jobs(rt: &tokio::runtime::Runtime, q: &JobQueue) -> Vec<(String, Option<String>)> {
    rt.block_on(
        sqlx::query_as("SELECT status, worker FROM chunk_jobs ORDER BY batch, chunk")
            .fetch_all(q.pool()),
    )
    .unwrap()
}

fn worker_process(url: &str, name: &str, lease: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_prover"))
        .args([
            "worker",
            "--postgres",
            url,
            "--threads",
            "1",
            "--name",
            name,
        ])
        .args(["--lease", &lease.to_string()])
        .arg("--data")
        .arg(params_dir())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Stops a worker with SIGTERM (it finishes the job in hand) and returns how many proofs it
/// handed in, from its closing line.
fn stop_worker(child: Child) -> u64 {
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("chunk proofs handed in"))
        .unwrap_or_else(|| panic!("no closing line: {text}"));
    line.split(": ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The published chain, fetched over HTTP, verifies from genesis to `city`'s state.
fn verify_chain(base: &str, city: &City, batches: usize) {
    let fetched = verifier::source::Source::parse(base).fetch().unwrap();
    assert_eq!(fetched.artifacts.len(), batches);
    let mut keys = verifier::Keys::new(&params_dir());
    let report = keys
        .verify_chain(city.genesis.state(), fetched.artifacts, &mut |_| {})
        .unwrap();
    assert_eq!(report.state.root(), city.state.root());
    assert_eq!(
        get(&format!("{base}/v1/state"))["root"].as_str().unwrap(),
        circuits::hash::to_hex(&city.state.root())
    );
}

#[test]
fn a_fleet_proves_a_sequencers_batches_and_a_killed_worker_loses_nothing() {
    let cluster = Cluster::start();
    let url = cluster.database("fleet");
    let mut city = City::new(4);
    let server = sequencer(&scratch("fleet"), &city, &url, 3).unwrap();
    let base = server.url();
    let rt = runtime();
    let q = rt.block_on(JobQueue::connect(&url, 1)).unwrap();

    // Three batches of two transfers: six one-slot chunks queued as soon as they seal.
    submit(&base, &mut city, 6, 3);
    wait(Duration::from_secs(30), "six queued jobs", || {
        rt.block_on(q.counts()).unwrap().queued == 6
    });
    wait(Duration::from_secs(5), "the queue shown", || {
        get(&format!("{base}/health"))["fleet"]["jobs"]["queued"] == 6
    });
    assert_eq!(get(&format!("{base}/health"))["proving"], "fleet");
    let status = get(&format!("{base}/v1/batches/1/status"));
    assert_eq!(status["status"], "sealed");
    assert_eq!(status["chunks"]["queued"], 2, "{status}");

    // A worker takes a job and is killed while it holds the lease.
    let mut doomed = worker_process(&url, "doomed", 3);
    wait(Duration::from_secs(60), "the first lease", || {
        jobs(&rt, &q)
            .iter()
            .any(|(s, w)| s == "leased" && w.as_deref() == Some("doomed"))
    });
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    wait(Duration::from_secs(5), "batch 1 shown as proving", || {
        get(&format!("{base}/v1/batches/1/status"))["status"] == "proving"
    });

    // Two more prove everything, the dead worker's job once its lease expired.
    let workers = [
        worker_process(&url, "w2", 10),
        worker_process(&url, "w3", 10),
    ];
    wait(Duration::from_secs(240), "three proven batches", || {
        get(&format!("{base}/v1/state"))["latest_proven"] == 3
    });
    let handed: Vec<u64> = workers.into_iter().map(stop_worker).collect();
    assert_eq!(handed.iter().sum::<u64>(), 6, "{handed:?}");
    assert!(
        handed.iter().all(|&n| n > 0),
        "both workers proved: {handed:?}"
    );

    // The expired lease was seen as a failed attempt; published batches left the table.
    let text = metrics(&base);
    let failures: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("sequencer_proving_failures_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(failures >= 1, "{text}");
    assert!(
        text.contains("sequencer_chunk_jobs{status=\"done\"} 0"),
        "{text}"
    );
    // The expiry is counted, and each worker's share of the published proofs is shown
    // with its proving time (its throughput), in /metrics and /health alike.
    let expiries: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("sequencer_lease_expiries_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(expiries >= 1, "{text}");
    let fleet = &get(&format!("{base}/health"))["fleet"];
    assert_eq!(fleet["lease_expiries"], expiries, "{fleet}");
    for (name, n) in ["w2", "w3"].into_iter().zip(&handed) {
        assert!(
            text.contains(&format!(
                "sequencer_worker_chunks_total{{worker=\"{name}\"}} {n}\n"
            )),
            "{text}"
        );
        let shown = &fleet["workers"][name];
        assert_eq!(shown["chunks"], *n, "{fleet}");
        assert!(shown["prove_seconds"].as_f64().unwrap() > 0.0, "{fleet}");
    }
    assert!(fleet["workers"].get("doomed").is_none(), "{fleet}");
    assert!(jobs(&rt, &q).is_empty());
    let status = get(&format!("{base}/v1/batches/3/status"));
    assert_eq!(status["status"], "proven");
    assert!(status.get("chunks").is_none(), "{status}");

    verify_chain(&base, &city, 3);
    server.stop();
}

#[test]
fn batches_are_published_in_order_and_only_with_proofs_that_verify() {
    let cluster = Cluster::start();
    let url = cluster.database("order");
    let mut city = City::new(4);
    let server = sequencer(&scratch("order"), &city, &url, 5).unwrap();
    let base = server.url();
    let rt = runtime();
    let q = rt.block_on(JobQueue::connect(&url, 1)).unwrap();
    submit(&base, &mut city, 4, 2);
    wait(Duration::from_secs(30), "four queued jobs", || {
        rt.block_on(q.counts()).unwrap().queued == 4
    });

    // This test is the fleet: it leases all four jobs and proves them.
    let prover = prover::Prover::lazy(&params_dir(), 1, false).unwrap();
    let mut leased = Vec::new();
    while let Some(lease) = rt
        .block_on(q.lease("test", Duration::from_secs(600)))
        .unwrap()
    {
        let job = JobPayload::decode(lease.format, &lease.payload).unwrap();
        let proven = job.prove(&prover).unwrap();
        leased.push((lease, proven));
    }
    assert_eq!(leased.len(), 4);
    let complete = |i: usize, proof: &Proven| {
        rt.block_on(q.complete(&leased[i].0, "test", proof, Duration::ZERO))
            .unwrap()
    };
    let proven = || {
        get(&format!("{base}/v1/state"))["latest_proven"]
            .as_u64()
            .unwrap()
    };

    // Batch 2 first: it waits for batch 1.
    assert_eq!(complete(2, &leased[2].1), Completion::OnTime);
    assert_eq!(complete(3, &leased[3].1), Completion::OnTime);
    // Batch 1's second chunk with a byte of its proof flipped, and its first with another
    // chunk's (valid) proof.
    let mut tampered = leased[1].1.clone();
    tampered.chunk[100] ^= 1;
    assert_eq!(complete(1, &tampered), Completion::OnTime);
    assert_eq!(complete(0, &leased[2].1), Completion::OnTime);
    wait(
        Duration::from_secs(60),
        "the wrong proof to be refused",
        || rt.block_on(q.batch_jobs(1)).unwrap()[0].status == "queued",
    );
    let first = &rt.block_on(q.batch_jobs(1)).unwrap()[0];
    assert!(
        first
            .last_error
            .as_deref()
            .unwrap()
            .contains("its proof of chunk 0 did not verify when batch 1 was assembled"),
        "{first:?}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        proven(),
        0,
        "nothing is published out of order or unverified"
    );
    assert_eq!(
        get(&format!("{base}/v1/batches/2/status"))["status"],
        "proving"
    );
    let missing = reqwest::blocking::get(format!("{base}/v1/batches/1")).unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    // The refused job is leased again and proven right: both batches are published, in order.
    let again = rt
        .block_on(q.lease("test", Duration::from_secs(600)))
        .unwrap()
        .unwrap();
    assert_eq!((again.batch, again.chunk, again.attempts), (1, 0, 2));
    assert_eq!(
        rt.block_on(q.complete(&again, "test", &leased[0].1, Duration::ZERO))
            .unwrap(),
        Completion::OnTime
    );
    // Then the tampered proof of chunk 1 is refused in its turn, and proven right.
    wait(
        Duration::from_secs(60),
        "the tampered proof to be refused",
        || rt.block_on(q.batch_jobs(1)).unwrap()[1].status == "queued",
    );
    let second = &rt.block_on(q.batch_jobs(1)).unwrap()[1];
    assert!(
        second
            .last_error
            .as_deref()
            .unwrap()
            .contains("its proof of chunk 1 did not verify when batch 1 was assembled"),
        "{second:?}"
    );
    assert_eq!(proven(), 0, "nothing unverified is published");
    let again = rt
        .block_on(q.lease("test", Duration::from_secs(600)))
        .unwrap()
        .unwrap();
    assert_eq!((again.batch, again.chunk, again.attempts), (1, 1, 2));
    assert_eq!(
        rt.block_on(q.complete(&again, "test", &leased[1].1, Duration::ZERO))
            .unwrap(),
        Completion::OnTime
    );
    wait(Duration::from_secs(60), "both batches published", || {
        proven() == 2
    });
    // A duplicate after publishing changes nothing.
    assert_eq!(complete(0, &leased[0].1), Completion::AlreadyDone);
    verify_chain(&base, &city, 2);
    server.stop();
}

#[test]
fn a_failed_job_is_shown_and_a_fresh_database_is_rebuilt_from_the_log() {
    let cluster = Cluster::start();
    let url = cluster.database("broken");
    let mut city = City::new(4);
    let data = scratch("broken");
    let server = sequencer(&data, &city, &url, 1).unwrap();
    let base = server.url();
    let rt = runtime();
    let q = rt.block_on(JobQueue::connect(&url, 1)).unwrap();
    submit(&base, &mut city, 2, 1);
    wait(Duration::from_secs(30), "two queued jobs", || {
        rt.block_on(q.counts()).unwrap().queued == 2
    });
    // Chunk 1's job is damaged in the database; with one attempt allowed, it fails.
    rt.block_on(
        sqlx::query("UPDATE chunk_jobs SET payload = 'garbage' WHERE chunk = 1").execute(q.pool()),
    )
    .unwrap();
    let mut config = prover::fleet::worker::WorkerConfig::new(url.clone(), params_dir());
    config.once = true;
    config.threads = 2;
    let stats = prover::fleet::worker::run(&config, &AtomicBool::new(false)).unwrap();
    assert_eq!((stats.proven, stats.failed), (1, 1));
    wait(Duration::from_secs(10), "the failure to show", || {
        get(&format!("{base}/v1/batches/1/status"))["status"] == "failed"
    });
    let status = get(&format!("{base}/v1/batches/1/status"));
    assert_eq!(status["chunks"]["failed"], 1, "{status}");
    assert_eq!(status["chunks"]["done"], 1, "{status}");
    assert_eq!(status["proving_failures"], 1, "{status}");
    assert!(
        status["proving_error"]
            .as_str()
            .unwrap()
            .contains("the job's payload is not readable"),
        "{status}"
    );
    let text = metrics(&base);
    assert!(
        text.contains("sequencer_chunk_jobs{status=\"failed\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("sequencer_proving_failures_total 1"),
        "{text}"
    );

    // Another city's sequencer cannot take this database.
    let other = City::new(5);
    let refused = sequencer(&scratch("other"), &other, &url, 1)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("belongs to deployment"), "{refused}");

    // The operator gives it a fresh database: the sequencer enqueues the sealed, unproven
    // batch again from its log, and the fleet proves it.
    server.stop();
    let fresh = cluster.database("rebuilt");
    let server = sequencer(&data, &city, &fresh, 1).unwrap();
    let base = server.url();
    let q = rt.block_on(JobQueue::connect(&fresh, 1)).unwrap();
    wait(Duration::from_secs(30), "the batch enqueued again", || {
        rt.block_on(q.counts()).unwrap().queued == 2
    });
    let mut config = prover::fleet::worker::WorkerConfig::new(fresh, params_dir());
    config.once = true;
    config.threads = 2;
    let stats = prover::fleet::worker::run(&config, &AtomicBool::new(false)).unwrap();
    assert_eq!((stats.proven, stats.failed), (2, 0));
    wait(Duration::from_secs(30), "the batch published", || {
        get(&format!("{base}/v1/state"))["latest_proven"] == 1
    });
    verify_chain(&base, &city, 1);
    server.stop();
}

#[test]
fn postgres_stopped_and_restarted_mid_run_the_sequencer_and_a_worker_reconnect_and_finish() {
    let cluster = Cluster::start();
    let url = cluster.database("away");
    let mut city = City::new(4);
    let server = sequencer(&scratch("away"), &city, &url, 3).unwrap();
    let base = server.url();
    let health = || get(&format!("{base}/health"));
    let proven = || {
        get(&format!("{base}/v1/state"))["latest_proven"]
            .as_u64()
            .unwrap()
    };
    let worker = worker_process(&url, "steady", 10);
    submit(&base, &mut city, 2, 1);
    wait(Duration::from_secs(120), "batch 1 proven", || proven() == 1);

    // The server stops (its data kept): the pipeline says so, and ingest goes on, durably.
    cluster.pause();
    wait(
        Duration::from_secs(60),
        "the pipeline's error shown",
        || health()["fleet"]["error"].is_string(),
    );
    submit(&base, &mut city, 2, 2);
    assert_eq!(
        get(&format!("{base}/v1/batches/2/status"))["status"],
        "sealed"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(proven(), 1);

    // Back: the sequencer enqueues batch 2, the same worker process reconnects and proves it.
    cluster.resume();
    wait(Duration::from_secs(180), "batch 2 proven", || proven() == 2);
    assert!(health()["fleet"]["error"].is_null(), "{}", health());
    assert_eq!(stop_worker(worker), 4, "the worker proved all four chunks");
    verify_chain(&base, &city, 2);
    server.stop();
}
