//! A batch whose proving fails is reported, retried and never dropped, and ingest goes on.
//! The failure here is the prover refusing chunks of zero slots, which fails every attempt.

mod common;

use std::time::{Duration, Instant};

use circuits::demo::City;
use common::*;

#[test]
fn a_failing_batch_is_reported_and_retried_while_ingest_goes_on() {
    let dir = fresh_dir("proving-failure");
    let mut city = City::new(2);
    let mut cfg = config(&dir, city.genesis.clone());
    cfg.slots = 0;
    let server = sequencer::spawn(cfg).unwrap();
    let url = server.url();
    let http = client();
    let (a, b) = (city.resident(0), city.resident(1));
    let tx = city.transfer(a, b, 5);
    let receipt = accept(&http, &url, &tx);
    city.apply(&tx, receipt["time"].as_u64().unwrap()).unwrap();

    let started = Instant::now();
    let status = loop {
        let (_, status) = get(&http, &format!("{url}/v1/batches/1/status"));
        if status["proving_failures"].as_u64().unwrap_or(0) >= 2 {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no retried failure: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status["proving_error"]
            .as_str()
            .unwrap()
            .contains("at least one slot"),
        "{status}"
    );
    let (code, answer) = get(&http, &format!("{url}/v1/batches/1"));
    assert_eq!((code, answer["code"].as_str()), (404, Some("not_proven")));
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("failed attempts"));
    let metrics = http
        .get(format!("{url}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sequencer_proving_failures_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(failures >= 2, "{metrics}");
    assert!(
        metrics.contains("sequencer_batches_unproven 1"),
        "{metrics}"
    );

    // Ingest is not held up by the failing batch.
    let tx = city.transfer(b, a, 1);
    let receipt = accept(&http, &url, &tx);
    assert_eq!(receipt["batch"], 2);
    server.stop();
}
