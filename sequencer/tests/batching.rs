//! How batches are cut: by size even when many clients send at once (the writer's groups
//! never make a batch larger than the batch size), and early when a transaction needs a
//! later batch time than the open batch has (a tap made after the batch opened).

mod common;

use std::time::Duration;

use circuits::demo::City;
use circuits::Transaction;
use common::*;

#[test]
fn concurrent_clients_fill_batches_of_exactly_the_batch_size() {
    let dir = fresh_dir("batching-size");
    let city = City::new(8);
    let mut cfg = config(&dir, city.genesis.clone());
    cfg.prove = false;
    cfg.batch_size = 4;
    cfg.batch_age = Duration::from_secs(3600);
    let server = sequencer::spawn(cfg).unwrap();
    let url = server.url();
    // Eight clients, five transfers each from an account of their own.
    let work: Vec<Vec<Transaction>> = (0..8)
        .map(|c| {
            let from = city.resident(c);
            (0..5u64)
                .map(|n| {
                    let mut tx = city.transfer(from, city.resident((c + 1) % 8), 1);
                    if let Transaction::Transfer(t) = &mut tx {
                        t.nonce = n;
                    }
                    tx.signed(city.key(from), city.state.chain())
                })
                .collect()
        })
        .collect();
    let threads: Vec<_> = work
        .into_iter()
        .map(|txs| {
            let url = url.clone();
            std::thread::spawn(move || {
                let http = client();
                for tx in &txs {
                    accept(&http, &url, tx);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let http = client();
    let (_, list) = get(&http, &format!("{url}/v1/batches"));
    let batches = list["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 10, "{list}");
    for b in batches {
        assert_eq!(b["transactions"], 4, "{list}");
    }
    assert_eq!(
        batches.last().unwrap()["status"],
        "sealed",
        "the 40th sealed its batch"
    );
    server.stop();
}

#[test]
fn a_tap_made_after_the_batch_opened_gets_a_batch_of_its_own() {
    let dir = fresh_dir("batching-time");
    let mut city = City::new(3);
    let mut cfg = config(&dir, city.genesis.clone());
    cfg.prove = false;
    cfg.batch_size = 100;
    cfg.batch_age = Duration::from_secs(3600);
    let server = sequencer::spawn(cfg).unwrap();
    let url = server.url();
    let http = client();
    let metro = city.id("operator-metro");
    let tx = city.register_operator(metro, [100, 100, 100, 100]);
    let first = accept(&http, &url, &tx);
    city.apply(&tx, first["time"].as_u64().unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let now = sequencer::writer::wall_clock();
    assert!(now > first["time"].as_u64().unwrap());
    let tap = city.tap(city.resident(0), metro, 0, now);
    let receipt = accept(&http, &url, &tap);
    assert_eq!(receipt["batch"], 2, "{receipt}");
    assert!(receipt["time"].as_u64().unwrap() >= now);
    let (_, batch) = get(&http, &format!("{url}/v1/batches/1/status"));
    assert_eq!(
        (batch["status"].as_str(), batch["transactions"].as_u64()),
        (Some("sealed"), Some(1))
    );
    server.stop();
}
