//! Bad input over HTTP: each case gets its status and stable error code, and changes
//! nothing (the state root and the log length are what they were). Overload answers 503 at
//! once rather than queueing without bound.

mod common;

use std::time::Duration;

use circuits::ballot::{self, BallotKeys};
use circuits::demo::{demo_voter, City};
use circuits::keys::SecretKey;
use circuits::voter::Vote;
use circuits::Transaction;
use common::*;
use serde_json::Value;

/// What the server holds now: root and log length.
fn snapshot(http: &reqwest::blocking::Client, url: &str) -> (String, u64) {
    let (_, state) = get(http, &format!("{url}/v1/state"));
    (
        state["root"].as_str().unwrap().to_string(),
        state["transactions"].as_u64().unwrap(),
    )
}

fn post_raw(
    http: &reqwest::blocking::Client,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let response = http
        .post(format!("{url}/v1/transactions"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap())
}

#[test]
fn bad_input_gets_its_status_and_code_and_changes_nothing() {
    let dir = fresh_dir("bad-input");
    let mut city = City::new(4);
    let mut cfg = config(&dir, city.genesis.clone());
    cfg.prove = false;
    cfg.batch_size = 1000;
    cfg.batch_age = Duration::from_secs(3600);
    let server = sequencer::spawn(cfg).unwrap();
    let url = server.url();
    let http = client();
    let now = sequencer::writer::wall_clock();

    // Some state to be refused against: a voter, a proposal whose window opens in an hour,
    // a transfer that a duplicate will repeat.
    let (a, b) = (city.resident(0), city.resident(1));
    let voter = demo_voter(0);
    let metro = city.id("operator-metro");
    let setup = [
        city.register_operator(metro, [100, 200, 300, 400]),
        city.register_voter(voter.commitment()),
        city.proposal("Later?", &["yes", "no"], now + 3600, now + 7200),
    ];
    for tx in setup {
        let receipt = accept(&http, &url, &tx);
        city.apply(&tx, receipt["time"].as_u64().unwrap()).unwrap();
    }
    let paid = city.transfer(a, b, 5);
    let receipt = accept(&http, &url, &paid);
    city.apply(&paid, receipt["time"].as_u64().unwrap())
        .unwrap();
    // `a`'s key is now checked before the writer: the forged signature below is refused on
    // the writer's own check all the same.
    assert!(server
        .shared()
        .signer_keys
        .get(circuits::tx::Signer::Account(a))
        .is_some());

    let transfer = |amount: u64, to: u64, nonce_shift: u64| {
        let mut tx = city.transfer(a, to, amount);
        if let Transaction::Transfer(t) = &mut tx {
            t.nonce += nonce_shift;
        }
        tx.signed(city.key(a), city.state.chain())
    };
    let forged = city
        .transfer(a, b, 1)
        .signed(&SecretKey::from_seed(b"somebody else"), city.state.chain());
    let keys = BallotKeys::setup(ballot::params()).unwrap();
    let path = client::api::Api::new(&url)
        .unwrap()
        .voter_set(0, &dir.join("voter-cache"))
        .unwrap()
        .path_of(&voter.commitment())
        .unwrap();
    let early_ballot = Transaction::Ballot(
        ballot::prove(&keys, &voter, &path, 0, Vote::Option(1), 0, rand::rng())
            .unwrap()
            .into_transaction(),
    );
    let mut bad_proof = early_ballot.clone();
    if let Transaction::Ballot(b) = &mut bad_proof {
        b.vote = Vote::Option(0);
    }
    let not_authority = {
        let (mut tx, _) = city.register_meter(a, "x");
        if let Transaction::RegisterMeter(t) = &mut tx {
            t.from = a;
            t.nonce = city.nonce(a);
        }
        tx.signed(city.key(a), city.state.chain())
    };
    let future_tap = city.tap(a, metro, 0, now + 3600);
    let json = |tx: &Transaction| serde_json::to_vec(tx).unwrap();
    let mut extra: Value = serde_json::to_value(transfer(1, b, 0)).unwrap();
    extra["memo"] = "hi".into();
    let mut missing: Value = serde_json::to_value(transfer(1, b, 0)).unwrap();
    missing.as_object_mut().unwrap().remove("amount");

    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "truncated JSON",
            "application/json",
            b"{\"type\": \"transfer\", ".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "not JSON",
            "application/json",
            b"hello".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "an unknown field",
            "application/json",
            extra.to_string().into_bytes(),
            400,
            "unknown_field",
        ),
        (
            "a missing field",
            "application/json",
            missing.to_string().into_bytes(),
            400,
            "invalid_transaction",
        ),
        (
            "an unknown kind",
            "application/json",
            br#"{"type":"steal","from":5}"#.to_vec(),
            400,
            "invalid_transaction",
        ),
        (
            "a wrong content type",
            "text/plain",
            json(&transfer(1, b, 0)),
            415,
            "unsupported_media_type",
        ),
        (
            "a body too large",
            "application/json",
            vec![b' '; 70 * 1024],
            413,
            "payload_too_large",
        ),
        (
            "a bad signature",
            "application/json",
            json(&forged),
            400,
            "bad_signature",
        ),
        (
            "a wrong nonce",
            "application/json",
            json(&transfer(1, b, 1)),
            409,
            "nonce_mismatch",
        ),
        (
            "an unknown account",
            "application/json",
            json(&transfer(1, 999, 0)),
            404,
            "unknown_account",
        ),
        (
            "an overdraft",
            "application/json",
            json(&transfer(1_000_000, b, 0)),
            400,
            "insufficient_funds",
        ),
        (
            "a zero amount",
            "application/json",
            json(&transfer(0, b, 0)),
            400,
            "zero_amount",
        ),
        (
            "a duplicate",
            "application/json",
            json(&paid),
            409,
            "duplicate",
        ),
        (
            "a non-authority registering a meter",
            "application/json",
            json(&not_authority),
            400,
            "not_authority",
        ),
        (
            "a tap in the future",
            "application/json",
            json(&future_tap),
            400,
            "tap_in_future",
        ),
        (
            "a ballot with a bad proof",
            "application/json",
            json(&bad_proof),
            400,
            "bad_ballot_proof",
        ),
        (
            "a ballot outside its window",
            "application/json",
            json(&early_ballot),
            400,
            "outside_window",
        ),
    ];
    for (what, content_type, body, status, code) in cases {
        let before = snapshot(&http, &url);
        let (got, answer) = post_raw(&http, &url, content_type, body);
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{what}: {answer}"
        );
        assert!(
            !answer["message"].as_str().unwrap_or_default().is_empty(),
            "{what}: no message"
        );
        assert_eq!(snapshot(&http, &url), before, "{what} changed the state");
    }
    assert_eq!(
        snapshot(&http, &url).0,
        circuits::hash::to_hex(&city.state.root())
    );

    // A refused transaction's status says why.
    let hash = circuits::hash::to_hex(&transfer(1_000_000, b, 0).id());
    let (status, answer) = get(&http, &format!("{url}/v1/transactions/{hash}"));
    assert_eq!((status, answer["status"].as_str()), (200, Some("rejected")));
    assert_eq!(answer["code"], "insufficient_funds");

    // Reads of what does not exist, and requests the API does not have.
    for (path, status, code) in [
        ("/v1/accounts/999", 404, "not_found"),
        ("/v1/accounts/x", 400, "bad_request"),
        ("/v1/batches/7", 404, "not_found"),
        ("/v1/batches/1", 404, "not_proven"),
        ("/v1/proposals/5/tally", 404, "not_found"),
        ("/v1/proposals/5", 404, "not_found"),
        // No route names a voter: neither a commitment lookup nor a voter's path.
        ("/v1/voters/0/path?proposal=0", 404, "not_found"),
        ("/v1/voters?commitment=00", 400, "bad_request"),
        ("/v1/voters?from=x", 400, "bad_request"),
        ("/v1/voters?from=-1", 400, "bad_request"),
        ("/v1/voters?limit=0", 400, "bad_request"),
        ("/v1/voters?limit=4097", 400, "bad_request"),
        ("/v1/voters?from=0&limit=1&page=2", 400, "bad_request"),
        ("/v1/transactions/abc", 400, "bad_request"),
        ("/v1/nothing", 404, "not_found"),
        ("/v1/proven/ballots/1", 404, "not_found"),
        ("/v1/proven/accounts/x", 400, "bad_request"),
        ("/v1/proven/accounts/16777216", 400, "bad_request"),
        ("/v1/proven/proposals/-1/tally", 400, "bad_request"),
    ] {
        let (got, answer) = get(&http, &format!("{url}{path}"));
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{path}: {answer}"
        );
    }
    // Pages of the voter set: public commitments in position order, with the total.
    let commitment = circuits::hash::to_hex(&voter.commitment());
    for (query, expected) in [
        ("", serde_json::json!([commitment])),
        ("?from=0&limit=4096", serde_json::json!([commitment])),
        ("?from=1&limit=5", serde_json::json!([])),
        ("?from=18446744073709551615", serde_json::json!([])),
    ] {
        let (status, page) = get(&http, &format!("{url}/v1/voters{query}"));
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(page["commitments"], expected, "{query}");
        assert_eq!(page["total"], 1, "{query}");
    }
    let (_, proposal) = get(&http, &format!("{url}/v1/proposals/0"));
    assert_eq!(proposal["voters"], 1, "{proposal}");

    let response = http.delete(format!("{url}/v1/state")).send().unwrap();
    assert_eq!(response.status().as_u16(), 405);

    let metrics = http
        .get(format!("{url}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(metrics.contains(
        "sequencer_transactions_rejected_total{kind=\"transfer\",code=\"nonce_mismatch\"} 1"
    ));
    assert!(metrics.contains(
        "sequencer_transactions_rejected_total{kind=\"unparsed\",code=\"payload_too_large\"} 1"
    ));
    server.stop();
}

#[test]
fn a_full_queue_answers_503_at_once() {
    let dir = fresh_dir("overload");
    let city = City::new(4);
    let mut cfg = config(&dir, city.genesis.clone());
    cfg.prove = false;
    cfg.queue_capacity = 2;
    let server = sequencer::spawn(cfg).unwrap();
    let url = server.url();
    let http = client();
    let (a, b) = (city.resident(0), city.resident(1));
    let txs: Vec<Transaction> = (0..4)
        .map(|i| {
            let mut tx = city.transfer(a, b, 1);
            if let Transaction::Transfer(t) = &mut tx {
                t.nonce = i;
            }
            tx.signed(city.key(a), city.state.chain())
        })
        .collect();
    // Hold the state's read lock: the writer takes the first request, then waits for the
    // write lock, so the next two fill the queue and the fourth finds it full.
    let guard = server.shared().core.read().unwrap();
    let send = |tx: Transaction| {
        let url = url.clone();
        std::thread::spawn(move || submit(&client(), &url, &tx))
    };
    let first = send(txs[0].clone());
    std::thread::sleep(Duration::from_millis(300));
    let queued: Vec<_> = txs[1..3]
        .iter()
        .map(|tx| {
            let handle = send(tx.clone());
            std::thread::sleep(Duration::from_millis(150));
            handle
        })
        .collect();
    let (status, answer) = submit(&http, &url, &txs[3]);
    assert_eq!(
        (status, answer["code"].as_str()),
        (503, Some("overloaded")),
        "{answer}"
    );
    drop(guard);
    assert_eq!(first.join().unwrap().0, 202);
    for q in queued {
        assert_eq!(q.join().unwrap().0, 202);
    }
    // The refused one was not applied: it can be sent again and is accepted now.
    assert_eq!(submit(&http, &url, &txs[3]).0, 202);
    server.stop();
}
