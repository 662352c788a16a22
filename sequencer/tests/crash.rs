//! Crash safety of the real binary: SIGKILL during ingest and during proving (with a
//! checkpoint written at every seal), restart on the same data directory from a
//! checkpoint, and check that every acknowledged transaction is in the log exactly once,
//! that the root equals a native replay of the log from genesis, and that the batches are
//! then proven and verify from genesis over HTTP.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use circuits::demo::City;
use circuits::Transaction;
use common::*;

/// The `sequencer serve` process and its URL.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dir: &Path, run: usize) -> Self {
        let log = std::fs::File::create(dir.join(format!("run-{run}.log"))).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_sequencer"))
            .args(["serve", "--data"])
            .arg(dir.join("data"))
            .arg("--genesis")
            .arg(dir.join("genesis.json"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--batch-size",
                "3",
                "--batch-ms",
                "150",
            ])
            .args(["--slots", "1", "--prove-threads", "2"])
            // A checkpoint at every seal: the kills land while they are being written, and
            // every restart loads one.
            .args(["--snapshot-every", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, url }
    }

    /// SIGKILL: no shutdown of any kind.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends transfers one after another among the first residents until `stop`; every
/// acknowledged one is recorded with its position. Returns also the one in flight when the
/// server died, if any (it may or may not be in the log).
fn load(
    url: String,
    city: Arc<Mutex<City>>,
    acked: Arc<Mutex<BTreeMap<u64, Transaction>>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Option<Transaction>> {
    std::thread::spawn(move || {
        let http = client();
        let mut i = 0u64;
        while !stop.load(Ordering::SeqCst) {
            let mut city = city.lock().unwrap();
            let (from, to) = (city.resident((i % 3) as usize), city.resident(3));
            let tx = city.transfer(from, to, 1 + i % 5);
            let sent = http.post(format!("{url}/v1/transactions")).json(&tx).send();
            match sent {
                Ok(r) if r.status().as_u16() == 202 => {
                    let receipt: serde_json::Value = r.json().unwrap();
                    let position = receipt["position"].as_u64().unwrap();
                    city.apply(&tx, receipt["time"].as_u64().unwrap()).unwrap();
                    acked.lock().unwrap().insert(position, tx);
                }
                Ok(r) => panic!("refused: {}", r.text().unwrap()),
                Err(_) => return Some(tx),
            }
            i += 1;
        }
        None
    })
}

/// Every acknowledged transaction sits at its position exactly once, the log is exactly
/// those (plus, perhaps, the one in flight at the crash), and the root is a native replay.
fn check_log(
    http: &reqwest::blocking::Client,
    url: &str,
    genesis: &circuits::Genesis,
    acked: &BTreeMap<u64, Transaction>,
    in_flight: Option<&Transaction>,
) -> usize {
    let (_, state) = get(http, &format!("{url}/v1/state"));
    let log_len = state["transactions"].as_u64().unwrap();
    let mut log: BTreeMap<u64, Transaction> = acked.clone();
    // Each transaction's batch time: the state root commits to it.
    let mut times: BTreeMap<u64, u64> = BTreeMap::new();
    for (position, tx) in acked {
        let hash = circuits::hash::to_hex(&tx.id());
        let (status, answer) = get(http, &format!("{url}/v1/transactions/{hash}"));
        assert_eq!(
            status, 200,
            "acknowledged transaction at {position} lost: {answer}"
        );
        assert_eq!(answer["position"], *position, "{answer}");
        times.insert(*position, answer["time"].as_u64().unwrap());
    }
    if let Some(tx) = in_flight {
        let hash = circuits::hash::to_hex(&tx.id());
        let (status, answer) = get(http, &format!("{url}/v1/transactions/{hash}"));
        if status == 200 {
            let position = answer["position"].as_u64().unwrap();
            log.insert(position, tx.clone());
            times.insert(position, answer["time"].as_u64().unwrap());
        }
    }
    assert_eq!(
        log.keys().copied().collect::<Vec<_>>(),
        (0..log_len).collect::<Vec<_>>(),
        "the log holds exactly the acknowledged transactions (and perhaps the one in flight)"
    );
    let mut replay = genesis.state();
    for (position, tx) in &log {
        replay.apply(tx, times[position]).unwrap();
    }
    assert_eq!(
        state["root"].as_str().unwrap(),
        circuits::hash::to_hex(&replay.root()),
        "the root after restart is a native replay of the log"
    );
    log.len()
}

fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigkill_during_ingest_and_during_proving_loses_nothing_acknowledged() {
    let dir = fresh_dir("crash");
    let city = City::new(4);
    let genesis = city.genesis.clone();
    std::fs::write(dir.join("genesis.json"), genesis.to_json()).unwrap();
    let http = client();

    // 1. Kill during ingest: a client sends transfers back to back; SIGKILL after 6 acks.
    let server = Server::start(&dir, 1);
    let city = Arc::new(Mutex::new(city));
    let acked = Arc::new(Mutex::new(BTreeMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = load(
        server.url.clone(),
        city.clone(),
        acked.clone(),
        stop.clone(),
    );
    wait_for("6 acknowledged transfers", Duration::from_secs(60), || {
        (acked.lock().unwrap().len() >= 6).then_some(())
    });
    server.kill();
    let in_flight = sender.join().unwrap();
    let acked_now = acked.lock().unwrap().clone();

    let server = Server::start(&dir, 2);
    let kept = check_log(&http, &server.url, &genesis, &acked_now, in_flight.as_ref());
    assert!(kept >= 6);

    // 2. Kill during proving: wait until a batch is being proven, SIGKILL, restart.
    wait_for("a batch being proven", Duration::from_secs(120), || {
        let (_, list) = get(&http, &format!("{}/v1/batches", server.url));
        list["batches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["status"] == "proving")
            .then_some(())
    });
    server.kill();
    let server = Server::start(&dir, 3);
    check_log(&http, &server.url, &genesis, &acked_now, in_flight.as_ref());
    // The restarts started from checkpoints, not from genesis.
    for run in [2, 3] {
        let log = std::fs::read_to_string(dir.join(format!("run-{run}.log"))).unwrap();
        let from = log
            .lines()
            .find(|l| l.contains("recovered from the log"))
            .and_then(|l| l.split("checkpoint=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok());
        assert!(from.is_some_and(|n| n > 0), "run {run}: {log}");
    }

    // More ingest after the crashes, with nonces as the server has them.
    {
        let mut c = city.lock().unwrap();
        c.state = genesis.state();
        let mut log: BTreeMap<u64, Transaction> = acked_now.clone();
        if let Some(tx) = &in_flight {
            let hash = circuits::hash::to_hex(&tx.id());
            let (status, answer) = get(&http, &format!("{}/v1/transactions/{hash}", server.url));
            if status == 200 {
                log.insert(answer["position"].as_u64().unwrap(), tx.clone());
            }
        }
        for tx in log.values() {
            // At its batch's time, as the sequencer applied it.
            let hash = circuits::hash::to_hex(&tx.id());
            let (_, found) = get(&http, &format!("{}/v1/transactions/{hash}", server.url));
            c.apply(tx, found["time"].as_u64().unwrap()).unwrap();
        }
        let (a, b) = (c.resident(0), c.resident(1));
        let tx = c.transfer(a, b, 3);
        let receipt = accept(&http, &server.url, &tx);
        c.apply(&tx, receipt["time"].as_u64().unwrap()).unwrap();
    }

    // 3. Everything sealed is proven and verifies from genesis over HTTP.
    wait_proven(&http, &server.url, 1, Duration::from_secs(600));
    let verified = verify_over_http(&server.url, &genesis, &dir.join("data"));
    assert_eq!(verified, root(&http, &server.url));
    assert_eq!(
        verified,
        circuits::hash::to_hex(&city.lock().unwrap().state.root())
    );
    server.kill();
}
