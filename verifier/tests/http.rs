//! `verifier chain|tally|account http://…` against a real sequencer on loopback: the same
//! checks as over a directory, exit 0 when the published batches hold; exit 3 when the
//! service cannot be reached or has nothing proven yet.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use circuits::demo::City;

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("verifier-http-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn verifier(dir: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verifier"))
        .current_dir(dir)
        .args(["--data", "params"])
        .args(args)
        .output()
        .unwrap()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32, says: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "{text}");
    assert!(text.contains(says), "expected {says:?} in: {text}");
}

#[test]
fn the_verifier_checks_a_sequencer_over_http_like_a_directory() {
    let d = dir("chain");
    let mut city = City::new(3);
    std::fs::write(d.join("genesis.json"), city.genesis.to_json()).unwrap();
    let mut config = sequencer::Config::new(
        d.join("data"),
        city.genesis.clone(),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.batch_size = 2;
    config.batch_age = Duration::from_millis(200);
    config.prove_threads = 2;
    let server = sequencer::spawn(config).unwrap();
    let url = server.url();

    // Nothing proven yet: the check cannot run.
    let out = verifier(&d, &["chain", &url, "--genesis", "genesis.json"]);
    assert_exit(&out, 3, "no proven batch yet");

    let http = reqwest::blocking::Client::new();
    let (a, b) = (city.resident(0), city.resident(1));
    for amount in [30, 20] {
        let tx = city.transfer(a, b, amount);
        let response = http
            .post(format!("{url}/v1/transactions"))
            .json(&tx)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
        city.apply(&tx, city.genesis.time).unwrap();
    }
    let started = Instant::now();
    loop {
        let state: serde_json::Value = http
            .get(format!("{url}/v1/state"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if state["latest_proven"] == 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "{state}");
        std::thread::sleep(Duration::from_millis(200));
    }

    let out = verifier(&d, &["chain", &url, "--genesis", "genesis.json"]);
    let root = circuits::hash::to_hex(&city.state.root());
    assert_exit(
        &out,
        0,
        &format!("OK: 1 batches, 2 transactions, from genesis to root {root}"),
    );
    let out = verifier(
        &d,
        &["account", &url, "--genesis", "genesis.json", &a.to_string()],
    );
    assert_exit(&out, 0, "its leaf is included in the verified root");

    // The service gone: exit 3, naming the URL.
    server.stop();
    let out = verifier(&d, &["chain", &url, "--genesis", "genesis.json"]);
    assert_exit(&out, 3, &url);
}
