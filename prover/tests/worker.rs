//! `prover worker` against a real sequencer started with `--no-prove` (in-process, on
//! loopback): the sequencer refuses a bad upload (garbage, another batch's artifact, a
//! flipped proof byte) and changes nothing, takes a good one, and the worker proves the rest
//! in order (replaying the batch proven elsewhere) until the chain verifies over HTTP from
//! genesis to the sequencer's root.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use circuits::demo::City;
use serde_json::Value;

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("prover-worker-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn get(http: &reqwest::blocking::Client, url: &str) -> Value {
    http.get(url).send().unwrap().json().unwrap()
}

/// Uploads `body` as batch `n`'s artifact; the status and the error code (if any).
fn put(http: &reqwest::blocking::Client, base: &str, n: u64, body: String) -> (u16, String) {
    let response = http
        .put(format!("{base}/v1/batches/{n}/artifact"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().unwrap();
    (status, body["code"].as_str().unwrap_or("").to_string())
}

#[test]
fn a_worker_proves_a_no_prove_sequencers_batches_and_bad_uploads_change_nothing() {
    let d = dir("chain");
    let params = d.join("params");
    let mut city = City::new(4);
    let mut config = sequencer::Config::new(
        d.join("data"),
        city.genesis.clone(),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.params_dir = Some(params.clone());
    config.batch_size = 2;
    config.batch_age = Duration::from_millis(200);
    config.prove = false;
    let server = sequencer::spawn(config).unwrap();
    let url = server.url();
    let http = reqwest::blocking::Client::new();

    // Three batches of two transfers each.
    let (a, b) = (city.resident(0), city.resident(1));
    for amount in [30, 20, 10, 5, 7, 9] {
        let tx = city.transfer(a, b, amount);
        let response = http
            .post(format!("{url}/v1/transactions"))
            .json(&tx)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
        let receipt: serde_json::Value = response.json().unwrap();
        city.apply(&tx, receipt["time"].as_u64().unwrap()).unwrap();
    }
    let started = Instant::now();
    while get(&http, &format!("{url}/v1/state"))["latest_sealed"] != 3 {
        assert!(started.elapsed() < Duration::from_secs(30), "not sealed");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Batch 1 proven here, as another worker would, from its sealed transactions.
    let sealed = get(&http, &format!("{url}/v1/batches/1/transactions"));
    let txs: Vec<circuits::Transaction> =
        serde_json::from_value(sealed["transactions"].clone()).unwrap();
    let time = sealed["time"].as_u64().unwrap();
    let prover = prover::Prover::setup(&params, 1, false).unwrap();
    let mut state = city.genesis.state();
    let artifact = prover
        .prove_batch(&mut state, 1, time, &txs, prover::Options::default())
        .unwrap();

    // Bad uploads are refused and change nothing.
    let status = |n: u64| get(&http, &format!("{url}/v1/batches/{n}/status"))["status"].clone();
    assert_eq!(
        put(&http, &url, 1, "{not json".into()),
        (400, "bad_artifact".into())
    );
    assert_eq!(
        put(&http, &url, 2, artifact.to_json()),
        (400, "bad_artifact".into()),
        "batch 1's artifact offered as batch 2's"
    );
    let mut flipped = artifact.clone();
    let proof = &mut flipped.chunk_proofs[0].proof;
    let last = proof.len() - 1;
    proof[last] ^= 1;
    assert_eq!(
        put(&http, &url, 1, flipped.to_json()),
        (400, "bad_artifact".into()),
        "a flipped proof byte"
    );
    let mut other = artifact.clone();
    other.transactions.swap(0, 1);
    assert_eq!(
        put(&http, &url, 1, other.to_json()),
        (400, "bad_artifact".into()),
        "transactions that are not the sealed ones"
    );
    assert_eq!(status(1), "sealed");
    let refused = http
        .get(format!("{url}/v1/batches/1"))
        .send()
        .unwrap()
        .status();
    assert_eq!(refused.as_u16(), 404, "nothing published");

    // The good one is taken; once only.
    assert_eq!(put(&http, &url, 1, artifact.to_json()).0, 200);
    assert_eq!(status(1), "proven");
    assert_eq!(
        put(&http, &url, 1, artifact.to_json()),
        (409, "artifact_conflict".into())
    );

    // The worker replays batch 1 and proves 2 and 3.
    let out = Command::new(env!("CARGO_BIN_EXE_prover"))
        .args([
            "worker",
            "--sequencer",
            &url,
            "--slots",
            "1",
            "--once",
            "--quiet",
        ])
        .arg("--data")
        .arg(&params)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("2 batches proven here, 1 proven elsewhere and replayed"),
        "{text}"
    );
    assert_eq!(status(2), "proven");
    assert_eq!(status(3), "proven");

    // The published chain verifies from genesis to the sequencer's root.
    let fetched = verifier::source::Source::parse(&url).fetch().unwrap();
    assert_eq!(fetched.artifacts.len(), 3);
    let mut keys = verifier::Keys::new(&params);
    let report = keys
        .verify_chain(city.genesis.state(), fetched.artifacts, &mut |_| {})
        .unwrap();
    let published = get(&http, &format!("{url}/v1/state"));
    assert_eq!(
        published["root"].as_str().unwrap(),
        circuits::hash::to_hex(&report.state.root())
    );
    // And it is the native rules' state, applied at the sequencer's batch times.
    assert_eq!(report.state.root(), city.state.root());
    assert_eq!(published["latest_proven"], 3);
    server.stop();
}
