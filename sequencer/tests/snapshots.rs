//! Checkpoints: the service writes them in the background while clients send; a restart
//! from the newest one gives exactly what a replay from genesis gives (state, counters,
//! batches, every acknowledged transaction findable); a truncated, bit-flipped or foreign
//! one is refused by name and recovery falls back to an older one or to genesis; the
//! `sequencer snapshot` command writes one for a stopped data directory. (A `kill -9` while
//! one is being written is in `crash.rs`, which runs with a checkpoint at every seal.)

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use circuits::demo::{demo_voter, City};
use circuits::tx::Transfer;
use circuits::Transaction;
use common::*;
use sequencer::core::Core;
use sequencer::snapshot::{SnapshotError, Snapshots};
use sequencer::store::Store;

/// Senders sending at once, and transfers each.
const SENDERS: usize = 6;
const EACH: u64 = 12;

/// A signed transfer with an explicit nonce (the clients send at once, so the test's own
/// copy of the city does not follow their nonces).
fn transfer(city: &City, from: usize, to: usize, amount: u64, nonce: u64) -> Transaction {
    city.sign(Transaction::Transfer(Transfer {
        from: city.resident(from),
        to: city.resident(to),
        amount,
        nonce,
        signature: Default::default(),
    }))
}

/// Recovers `dir` with or without its checkpoints.
fn recover(dir: &Path, city: &City, with: bool) -> sequencer::core::Recovered {
    let store = Store::open(dir).unwrap();
    let snapshots = Snapshots::new(dir);
    Core::recover(&city.genesis, &store, with.then_some(&snapshots), 0).unwrap()
}

/// Everything two recoveries must agree on.
fn assert_same(a: &Core, b: &Core, what: &str) {
    assert_eq!(a.state.root(), b.state.root(), "{what}: root");
    assert_eq!(a.state.counters(), b.state.counters(), "{what}: counters");
    assert_eq!(a.log_len, b.log_len, "{what}: log length");
    assert_eq!(a.sealed, b.sealed, "{what}: sealed batches");
    assert!(a.open.is_none() && b.open.is_none(), "{what}: open batch");
    assert_eq!(a.index, b.index, "{what}: transaction index");
    assert_eq!(a.snapshots, b.snapshots, "{what}: proposals' voter counts");
}

#[test]
fn checkpoints_taken_under_load_restart_exactly_and_damaged_ones_are_refused() {
    let dir = fresh_dir("snapshots");
    let mut city = City::new(SENDERS + 2);
    let mut cfg = config(&dir, city.genesis.clone());
    cfg.prove = false;
    cfg.snapshot_every = 2;
    let server = sequencer::spawn(cfg.clone()).unwrap();
    let url = server.url();
    let http = client();

    // A proposal (so the ledger holds a voter count), then transfers from several clients
    // at once while batches seal and checkpoints are written.
    let mut hashes = Vec::new();
    let now = |r: &serde_json::Value| r["time"].as_u64().unwrap();
    for v in 0..2 {
        let tx = city.register_voter(demo_voter(v).commitment());
        let receipt = accept(&http, &url, &tx);
        city.apply(&tx, now(&receipt)).unwrap();
        hashes.push(receipt["hash"].as_str().unwrap().to_string());
    }
    let t = city.genesis.time;
    let tx = city.proposal("Checkpoints?", &["yes", "no"], t, t + 86_400 * 365);
    let receipt = accept(&http, &url, &tx);
    city.apply(&tx, now(&receipt)).unwrap();
    hashes.push(receipt["hash"].as_str().unwrap().to_string());

    let senders: Vec<Vec<Transaction>> = (0..SENDERS)
        .map(|i| {
            (0..EACH)
                .map(|n| transfer(&city, i, (i + 1) % SENDERS, 1 + n, n))
                .collect()
        })
        .collect();
    let sent: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = senders
            .iter()
            .map(|txs| {
                let url = url.clone();
                s.spawn(move || {
                    let http = client();
                    txs.iter()
                        .map(|tx| {
                            accept(&http, &url, tx)["hash"]
                                .as_str()
                                .unwrap()
                                .to_string()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    hashes.extend(sent.into_iter().flatten());
    let live_root = root(&http, &url);
    server.stop();

    let snapshots = Snapshots::new(&dir);
    let files = snapshots.list().unwrap();
    assert!(
        files.len() >= 2,
        "checkpoints written during the load (two kept): {files:?}"
    );
    assert!(
        !std::fs::read_dir(snapshots.dir()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")),
        "no half-written checkpoint left after a clean stop"
    );

    // From the newest checkpoint and from genesis: the same core.
    let from_genesis = recover(&dir, &city, false);
    assert_eq!(from_genesis.from_checkpoint, None);
    assert_eq!(
        circuits::hash::to_hex(&from_genesis.core.state.root()),
        live_root
    );
    let newest = recover(&dir, &city, true);
    assert_eq!(newest.from_checkpoint, Some(files[0].0));
    assert!(
        files[0].0 >= 2,
        "the newest checkpoint is past the first batches"
    );
    assert_same(&newest.core, &from_genesis.core, "newest checkpoint");
    assert_eq!(newest.core.index.len(), hashes.len());
    // The proven state (nothing proven) is older than the checkpoint: rebuilt on request.
    assert!(newest.proven_state.is_none());
    let store = Store::open(&dir).unwrap();
    let proven = Core::proven_state(&city.genesis, &store, Some(&snapshots), 0, &|| false);
    assert_eq!(proven.unwrap().unwrap().root(), city.genesis.state().root());
    let last = from_genesis.core.sealed.len() as u64;
    let proven = Core::proven_state(&city.genesis, &store, Some(&snapshots), last, &|| false);
    assert_eq!(
        proven.unwrap().unwrap().root(),
        from_genesis.core.state.root()
    );
    let proven = Core::proven_state(&city.genesis, &store, None, 5, &|| true);
    assert!(proven.unwrap().is_none(), "cancelled");
    drop(store);

    // A truncated newest checkpoint: refused, the older one used.
    let newest_path = files[0].1.clone();
    let (older_batch, older_path) = files[1].clone();
    let bytes = std::fs::read(&newest_path).unwrap();
    std::fs::write(&newest_path, &bytes[..bytes.len() / 2]).unwrap();
    let records = Store::open(&dir).unwrap().batches().unwrap();
    let err = snapshots
        .read(&newest_path, &city.genesis, &records)
        .unwrap_err();
    assert!(
        matches!(err, SnapshotError::Digest(_) | SnapshotError::Truncated(_)),
        "{err}"
    );
    let fallback = recover(&dir, &city, true);
    assert_eq!(fallback.from_checkpoint, Some(older_batch));
    assert_same(&fallback.core, &from_genesis.core, "older checkpoint");

    // One flipped bit in the older one too: refused by its digest, genesis used.
    let mut bytes = std::fs::read(&older_path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&older_path, &bytes).unwrap();
    let err = snapshots
        .read(&older_path, &city.genesis, &records)
        .unwrap_err();
    assert!(matches!(err, SnapshotError::Digest(_)), "{err}");
    let fallback = recover(&dir, &city, true);
    assert_eq!(fallback.from_checkpoint, None);
    assert_same(&fallback.core, &from_genesis.core, "genesis");

    // A well-formed checkpoint whose state is not the store's batch (one more transfer
    // applied): refused by the sealed root, not loaded.
    let mut forged = from_genesis.core.checkpoint().unwrap();
    let extra = transfer(&city, 0, 1, 1, EACH);
    let time = forged.state.time();
    forged.state.apply(&extra, time).unwrap();
    let (forged_path, _) = snapshots.write(city.genesis.chain(), &forged).unwrap();
    let err = snapshots
        .read(&forged_path, &city.genesis, &records)
        .unwrap_err();
    assert!(
        matches!(&err, SnapshotError::Mismatch { what, .. } if what.contains("root")),
        "{err}"
    );
    // A half-written file a crash left behind is never read.
    std::fs::write(
        snapshots.dir().join("batch-999999999999.snap.tmp"),
        b"CITYSNAP",
    )
    .unwrap();
    assert_eq!(recover(&dir, &city, true).from_checkpoint, None);

    // The `snapshot` command replaces the forged file with a good one; the service restarts
    // from it with every acknowledged transaction findable.
    // (The stop left the last batch open; the first recovery above sealed it.)
    let last = from_genesis.core.sealed.len() as u64;
    std::fs::write(dir.join("genesis.json"), city.genesis.to_json()).unwrap();
    let snapshot_command = || {
        Command::new(env!("CARGO_BIN_EXE_sequencer"))
            .args(["snapshot", "--data"])
            .arg(&dir)
            .arg("--genesis")
            .arg(dir.join("genesis.json"))
            .output()
            .unwrap()
    };
    let out = snapshot_command();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("checkpoint of batch {last} (")),
        "{stdout}"
    );
    assert!(
        !snapshots.dir().join("batch-999999999999.snap.tmp").exists(),
        "pruning removes what a crash left"
    );
    let restarted = recover(&dir, &city, true);
    assert_eq!(restarted.from_checkpoint, Some(last));
    assert_same(
        &restarted.core,
        &from_genesis.core,
        "the command's checkpoint",
    );

    let server = sequencer::spawn(cfg.clone()).unwrap();
    let url = server.url();
    assert_eq!(root(&http, &url), live_root);
    for hash in &hashes {
        let (status, tx) = get(&http, &format!("{url}/v1/transactions/{hash}"));
        assert_eq!(
            (status, tx["status"].as_str()),
            (200, Some("sealed")),
            "{tx}"
        );
    }
    // The proven state is rebuilt beside the service.
    let started = Instant::now();
    loop {
        let (status, proven) = get(&http, &format!("{url}/v1/proven"));
        if status == 200 {
            assert_eq!(proven["batch"], 0, "{proven}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{proven}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // And it goes on: a new transfer lands in a new batch.
    let tx = transfer(&city, 0, 1, 5, EACH);
    let receipt = accept(&http, &url, &tx);
    assert!(receipt["batch"].as_u64().unwrap() > last);
    server.stop();

    // A path that is not a data directory is refused and left as it was.
    let nowhere = dir.join("not-a-data-dir");
    let out = Command::new(env!("CARGO_BIN_EXE_sequencer"))
        .args(["snapshot", "--data"])
        .arg(&nowhere)
        .arg("--genesis")
        .arg(dir.join("genesis.json"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("is not a sequencer's data directory"),
        "{stderr}"
    );
    assert!(!nowhere.exists(), "nothing made at a mistyped path");

    // The command on a data directory in use says so.
    let server = sequencer::spawn(cfg).unwrap();
    let out = snapshot_command();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("is a sequencer running on it?"), "{stderr}");
    server.stop();
}
