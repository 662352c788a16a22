//! Every kind of transaction over HTTP, signed as the demo city's residents, devices and
//! authorities sign them; the matcher fills orders with the market key. The first test
//! checks ingest (receipts, the matcher's fills, the root against a native replay, the
//! tally, the order book); the second also waits for every batch to be proven (by all four
//! families' chunk circuits) and runs the verifier over HTTP.

mod common;

use std::time::Duration;

use circuits::ballot::{self, BallotKeys};
use circuits::demo::{demo_voter, City};
use circuits::genesis::demo_key;
use circuits::keys::SecretKey;
use circuits::records::{FleetKind, Side};
use circuits::voter::Vote;
use circuits::Transaction;
use common::*;
use serde_json::Value;

/// Submits `tx`, applies it (and the fills the sequencer reports) to `city` at the batch
/// time, and returns the receipt.
fn send(http: &reqwest::blocking::Client, url: &str, city: &mut City, tx: Transaction) -> Value {
    let receipt = accept(http, url, &tx);
    let time = receipt["time"].as_u64().unwrap();
    let applied = city
        .place_and_match(&tx, time)
        .unwrap_or_else(|e| panic!("the native rules refuse what the sequencer accepted: {e}"));
    let fills = receipt["fills"].as_array().map_or(0, Vec::len);
    assert_eq!(
        fills,
        applied.len() - 1,
        "the matcher made other fills: {receipt}"
    );
    receipt
}

fn every_kind(name: &str, prove: bool) {
    let dir = fresh_dir(name);
    let mut city = City::new(6);
    let mut cfg = config(&dir, city.genesis.clone());
    cfg.market_key = Some(demo_key("market"));
    cfg.prove = prove;
    cfg.batch_size = 8;
    let server = sequencer::spawn(cfg).unwrap();
    let url = server.url();
    let http = client();
    let now = sequencer::writer::wall_clock();
    let metro = city.id("operator-metro");
    let r: Vec<u64> = (0..6).map(|i| city.resident(i)).collect();

    let tx = city.register_operator(metro, [120, 240, 360, 480]);
    send(&http, &url, &mut city, tx);
    let tx = city.concession(r[2], 50);
    send(&http, &url, &mut city, tx);
    let (tx, meter_key) = city.register_meter(r[0], "e2e");
    let receipt = send(&http, &url, &mut city, tx);
    let meter = receipt["event"]["meter"].as_u64().unwrap();
    city.add_meter_key(meter, meter_key);
    let tx = city.reading(meter, 5_000);
    send(&http, &url, &mut city, tx);
    let newcomer = SecretKey::from_seed(b"e2e newcomer");
    let tx = city.open_account(r[1], &newcomer);
    let receipt = send(&http, &url, &mut city, tx);
    let opened = receipt["event"]["account"].as_u64().unwrap();
    city.add_account_key(opened, newcomer);

    // Energy: a resting sell, a crossing buy (filled by the matcher at the sell's price), a
    // buy below the market that is cancelled.
    let tx = city.order(r[0], Side::Sell, 2_000, 12, now + 86_400);
    send(&http, &url, &mut city, tx);
    let tx = city.order(r[1], Side::Buy, 1_500, 15, now + 86_400);
    let receipt = send(&http, &url, &mut city, tx);
    let fills = receipt["fills"].as_array().unwrap();
    assert_eq!(fills.len(), 1, "{receipt}");
    assert_eq!(fills[0]["event"]["quantity"], 1_500);
    assert_eq!(fills[0]["event"]["price"], 12);
    let tx = city.order(r[3], Side::Buy, 500, 5, now + 86_400);
    let receipt = send(&http, &url, &mut city, tx);
    let low = receipt["event"]["order"].as_u64().unwrap();
    let tx = city.cancel(r[3], low);
    send(&http, &url, &mut city, tx);

    // Transit.
    let tx = city.tap(r[2], metro, 1, now - 30);
    let receipt = send(&http, &url, &mut city, tx);
    assert_eq!(receipt["event"]["charged"], 120, "half fare: {receipt}");
    let tx = city.fleet_record(metro, 7, FleetKind::Maintenance, b"brakes checked");
    send(&http, &url, &mut city, tx);

    // Governance: voters, a delegate, a proposal, two anonymous ballots proved here, the
    // delegate's public vote.
    for v in 0..2 {
        let tx = city.register_voter(demo_voter(v).commitment());
        send(&http, &url, &mut city, tx);
    }
    let tx = city.register_delegate(r[4]);
    send(&http, &url, &mut city, tx);
    let tx = city.proposal("Plant trees?", &["yes", "no"], now - 60, now + 3_600);
    send(&http, &url, &mut city, tx);
    let keys = BallotKeys::setup(ballot::params()).unwrap();
    // Each voter's client syncs the proposal's voter set and finds its path locally.
    let api = client::api::Api::new(&url).unwrap();
    for (v, vote) in [(0, Vote::Option(1)), (1, Vote::Delegate(0))] {
        let set = api
            .voter_set(0, &dir.join(format!("voter-{v}-cache")))
            .unwrap();
        let path = set.path_of(&demo_voter(v).commitment()).unwrap();
        let proof = ballot::prove(&keys, &demo_voter(v), &path, 0, vote, 0, rand::rng()).unwrap();
        send(
            &http,
            &url,
            &mut city,
            Transaction::Ballot(proof.into_transaction()),
        );
    }
    let tx = city.delegate_vote(r[4], 0, 0);
    send(&http, &url, &mut city, tx);
    let tx = city.transfer(r[5], opened, 1_000);
    send(&http, &url, &mut city, tx);

    assert_eq!(
        root(&http, &url),
        circuits::hash::to_hex(&city.state.root())
    );
    let (_, tally) = get(&http, &format!("{url}/v1/proposals/0/tally"));
    assert_eq!(tally["direct"], serde_json::json!([0, 1]), "{tally}");
    assert_eq!(tally["totals"], serde_json::json!([1, 1]), "{tally}");
    let (_, book) = get(&http, &format!("{url}/v1/orderbook"));
    assert_eq!(book["asks"][0]["amount"], 500, "{book}");
    assert_eq!(book["bids"], serde_json::json!([]), "{book}");

    if prove {
        wait_proven(&http, &url, 1, Duration::from_secs(1200));
        let verified = verify_over_http(&url, &city.genesis, &params_dir());
        assert_eq!(verified, circuits::hash::to_hex(&city.state.root()));
    }
    server.stop();
}

#[test]
fn every_kind_is_accepted_matched_and_replays_natively() {
    every_kind("every-kind-ingest", false);
}

#[test]
fn every_kind_is_proven_and_verified_over_http() {
    every_kind("every-kind-proven", true);
}
