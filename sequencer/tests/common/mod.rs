//! Helpers of the sequencer's tests: a real server on 127.0.0.1:0 with a data directory of
//! its own, and a blocking HTTP client.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use circuits::Genesis;
use reqwest::blocking::Client;
use serde_json::Value;

/// A fresh directory under the test target directory.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("seq-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The commitment parameter cache the tests share (made by the first test that proves,
/// read by the others).
pub fn params_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("seq-params")
}

/// A config for tests: small batches sealed quickly, one-slot chunks (k = 12), parameters
/// in the shared cache.
pub fn config(dir: &std::path::Path, genesis: Genesis) -> sequencer::Config {
    let mut config =
        sequencer::Config::new(dir.to_path_buf(), genesis, "127.0.0.1:0".parse().unwrap());
    config.params_dir = Some(params_dir());
    config.batch_size = 4;
    config.batch_age = Duration::from_millis(300);
    config.slots = 1;
    config.prove_threads = 2;
    config
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// POSTs a transaction; returns the status and the JSON answer.
pub fn submit(client: &Client, url: &str, tx: &circuits::Transaction) -> (u16, Value) {
    let response = client
        .post(format!("{url}/v1/transactions"))
        .json(tx)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

/// Submits and asserts 202.
#[track_caller]
pub fn accept(client: &Client, url: &str, tx: &circuits::Transaction) -> Value {
    let (status, body) = submit(client, url, tx);
    assert_eq!(status, 202, "{} refused: {body}", tx.kind_name());
    body
}

pub fn get(client: &Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

/// The server's current state root (hex).
pub fn root(client: &Client, url: &str) -> String {
    get(client, &format!("{url}/v1/state")).1["root"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits until every batch up to the latest sealed one is proven; returns that number.
/// Fails with the batches' statuses on timeout.
pub fn wait_proven(client: &Client, url: &str, at_least: u64, timeout: Duration) -> u64 {
    let started = Instant::now();
    loop {
        let (_, state) = get(client, &format!("{url}/v1/state"));
        let sealed = state["latest_sealed"].as_u64().unwrap();
        let proven = state["latest_proven"].as_u64().unwrap();
        if proven >= at_least && proven == sealed && state["open_batch"].is_null() {
            return proven;
        }
        if started.elapsed() > timeout {
            let (_, batches) = get(client, &format!("{url}/v1/batches"));
            panic!("not proven after {timeout:?}: {state}\n{batches}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Checks every proven batch with the verifier's library, over HTTP from genesis (with the
/// parameter cache in `params`); returns the verified final root (hex).
pub fn verify_over_http(url: &str, genesis: &Genesis, params: &std::path::Path) -> String {
    let fetched = verifier::source::Source::parse(url).fetch().unwrap();
    assert!(
        fetched.unproven.is_empty(),
        "unproven: {:?}",
        fetched.unproven
    );
    let mut keys = verifier::Keys::new(params);
    let report = keys
        .verify_chain(genesis.state(), fetched.artifacts, &mut |_| {})
        .unwrap_or_else(|e| panic!("the verifier refuses the published batches: {e}"));
    circuits::hash::to_hex(&report.state.root())
}
