//! End to end over loopback with transfers (the kind the chunk circuit proves today): the
//! real server accepts them, seals and proves batches in the background, and the verifier's
//! library checks the published batches over HTTP from genesis, reaching the same root as a
//! native replay.

mod common;

use std::time::Duration;

use circuits::demo::City;
use common::*;

#[test]
fn transfers_are_accepted_proven_and_verified_over_http() {
    let dir = fresh_dir("transfers");
    let mut city = City::new(4);
    let server = sequencer::spawn(config(&dir, city.genesis.clone())).unwrap();
    let url = server.url();
    let http = client();
    let genesis_root = root(&http, &url);

    let (a, b, c) = (city.resident(0), city.resident(1), city.resident(2));
    let mut hashes = Vec::new();
    for (i, (from, to, amount)) in [(a, b, 100), (b, c, 40), (c, a, 7), (a, c, 1), (b, a, 2)]
        .into_iter()
        .enumerate()
    {
        let tx = city.transfer(from, to, amount);
        let receipt = accept(&http, &url, &tx);
        assert_eq!(receipt["position"], i as u64);
        assert_eq!(receipt["event"]["event"], "transferred");
        let time = receipt["time"].as_u64().unwrap();
        city.apply(&tx, time).unwrap();
        hashes.push(receipt["hash"].as_str().unwrap().to_string());
    }
    assert_ne!(root(&http, &url), genesis_root);
    assert_eq!(
        root(&http, &url),
        circuits::hash::to_hex(&city.state.root())
    );

    // Sealed by size (4) and by age (the fifth), then proven in the background.
    let proven = wait_proven(&http, &url, 2, Duration::from_secs(300));
    assert_eq!(proven, 2);
    let (_, list) = get(&http, &format!("{url}/v1/batches"));
    let counts: Vec<u64> = list["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["transactions"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [4, 1]);
    for hash in &hashes {
        let (status, tx) = get(&http, &format!("{url}/v1/transactions/{hash}"));
        assert_eq!(
            (status, tx["status"].as_str()),
            (200, Some("proven")),
            "{tx}"
        );
    }

    // An auditor's check over HTTP reaches the root of a native replay.
    let verified = verify_over_http(&url, &city.genesis, &params_dir());
    assert_eq!(verified, circuits::hash::to_hex(&city.state.root()));

    // An account with its inclusion proof against the current root.
    let (status, account) = get(&http, &format!("{url}/v1/accounts/{a}"));
    assert_eq!(status, 200);
    let inclusion: circuits::state::Inclusion =
        serde_json::from_value(account["inclusion"].clone()).unwrap();
    let state_root: circuits::Fp = serde_json::from_value(account["root"].clone()).unwrap();
    assert_eq!(state_root, city.state.root());
    inclusion.verify(state_root).unwrap();
    assert_eq!(
        account["record"]["balance"].as_u64(),
        Some(city.state.account(a).unwrap().balance)
    );

    let metrics = http
        .get(format!("{url}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(metrics.contains("sequencer_transactions_accepted_total{kind=\"transfer\"} 5"));
    assert!(metrics.contains("sequencer_batches_proven_total 2"));
    assert!(metrics.contains("sequencer_latest_proven_batch 2"));
    server.stop();
}
