//! A full disk: the sequencer's data directory on a small tmpfs (mounted by the test; it
//! needs root, as CI has), filled up while transfers keep coming. The first write sled cannot
//! make durable gets 503 `storage_unavailable` and changes nothing; after space is freed and
//! the service restarted, every acknowledged transaction is there and the root is a native
//! replay of them.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use circuits::demo::City;
use circuits::Transaction;
use common::*;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let _ = Command::new("umount")
            .arg(dir)
            .stderr(std::process::Stdio::null())
            .status();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CI runs as root)"
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_refuses_with_503_and_loses_nothing_acknowledged() {
    let mount = fresh_dir("disk-full").join("mnt");
    let fs = Tmpfs::mount(&mount, "24m");
    let data = fs.0.join("data");
    let mut city = City::new(4);
    let genesis = city.genesis.clone();
    let mut cfg = config(&data, genesis.clone());
    cfg.prove = false;
    let server = sequencer::spawn(cfg.clone()).unwrap();
    let url = server.url();
    let http = client();
    let (a, b) = (city.resident(0), city.resident(1));
    let mut acked: Vec<Transaction> = Vec::new();
    for _ in 0..5 {
        let tx = city.transfer(a, b, 1);
        let receipt = accept(&http, &url, &tx);
        city.apply(&tx, receipt["time"].as_u64().unwrap()).unwrap();
        acked.push(tx);
    }

    // Fill the file system.
    let filler_path = fs.0.join("filler");
    let mut filler = std::fs::File::create(&filler_path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while filler.write_all(&block).is_ok() {}
    let _ = filler.sync_all();

    // Transfers until sled cannot write: that one is refused and changes nothing.
    let mut refused = None;
    for _ in 0..20_000 {
        let before = get(&http, &format!("{url}/v1/state")).1;
        let tx = city.transfer(a, b, 1);
        let (status, answer) = submit(&http, &url, &tx);
        if status == 202 {
            // At its batch's time, as the sequencer applied it.
            city.apply(&tx, answer["time"].as_u64().unwrap()).unwrap();
            acked.push(tx);
            continue;
        }
        assert_eq!(
            (status, answer["code"].as_str()),
            (503, Some("storage_unavailable")),
            "{answer}"
        );
        let after = get(&http, &format!("{url}/v1/state")).1;
        assert_eq!(
            after["root"], before["root"],
            "a refused write changed the root"
        );
        assert_eq!(after["transactions"], before["transactions"]);
        refused = Some(tx);
        break;
    }
    let refused = refused.expect("the disk never filled up");
    assert_eq!(
        root(&http, &url),
        circuits::hash::to_hex(&city.state.root())
    );

    // Free the space and restart: everything acknowledged is there, and the root replays.
    drop(filler);
    std::fs::remove_file(&filler_path).unwrap();
    server.stop();
    let server = sequencer::spawn(cfg).unwrap();
    let url = server.url();
    let (_, state) = get(&http, &format!("{url}/v1/state"));
    let log_len = state["transactions"].as_u64().unwrap() as usize;
    let mut replay = genesis.state();
    for tx in &acked {
        let hash = circuits::hash::to_hex(&tx.id());
        let (status, found) = get(&http, &format!("{url}/v1/transactions/{hash}"));
        assert_eq!(status, 200, "an acknowledged transaction was lost");
        replay.apply(tx, found["time"].as_u64().unwrap()).unwrap();
    }
    // The refused write may or may not have reached the disk before the failure was seen;
    // either way the log replays from genesis to the served root.
    if log_len == acked.len() + 1 {
        let hash = circuits::hash::to_hex(&refused.id());
        let (_, found) = get(&http, &format!("{url}/v1/transactions/{hash}"));
        replay
            .apply(&refused, found["time"].as_u64().unwrap())
            .unwrap();
    } else {
        assert_eq!(log_len, acked.len());
    }
    assert_eq!(
        state["root"].as_str().unwrap(),
        circuits::hash::to_hex(&replay.root())
    );
    // And ingest goes on.
    let tx = Transaction::Transfer(circuits::tx::Transfer {
        from: b,
        to: a,
        amount: 1,
        nonce: replay.account(b).unwrap().nonce,
        signature: Default::default(),
    })
    .signed(city.key(b), city.state.chain());
    accept(&http, &url, &tx);
    server.stop();
}
