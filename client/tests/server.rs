//! The client binary against a real sequencer on loopback: keys, signed submissions of
//! several kinds, an anonymous vote proved locally, and clear errors with meaningful exit
//! codes for a refused transaction, a bad server URL and a bad key file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use circuits::demo::{demo_voter, City};
use circuits::genesis::demo_key;

fn client(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_client"))
        .args(args)
        .output()
        .expect("run the client")
}

fn dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("client-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[track_caller]
fn fails(out: &Output, code: i32, says: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
}

/// Writes the demo key of `name` as a key file.
fn key_file(dir: &Path, name: &str) -> String {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, client::keyfile::to_json(&demo_key(name))).unwrap();
    path.display().to_string()
}

#[test]
fn keygen_writes_a_key_once() {
    let dir = dir("keygen");
    let file = dir.join("me.json");
    let out = client(&["keygen", "--out", file.to_str().unwrap()]);
    let public = ok(&out);
    let key = client::keyfile::read(&file).unwrap();
    assert_eq!(public.trim(), hex::encode(key.public_key().to_bytes()));
    let again = client(&["keygen", "--out", file.to_str().unwrap()]);
    fails(&again, 3, "not overwriting");
    assert_eq!(client::keyfile::read(&file).unwrap(), key);
}

#[test]
fn residents_and_authorities_sign_and_submit_and_a_voter_votes_anonymously() {
    let dir = dir("submit");
    let city = City::new(4);
    let server = common::sequencer_without_proving(&dir.join("data"), city.genesis.clone());
    let url = server.url();
    let (r0, r1) = (city.resident(0), city.resident(1));
    let metro = city.id("operator-metro");
    let resident0 = key_file(&dir, "resident-0");
    let resident1 = key_file(&dir, "resident-1");
    let authority = key_file(&dir, "transit-authority");
    let registrar = key_file(&dir, "registrar");
    let council = key_file(&dir, "council");
    let s = |v: &str| v.to_string();
    let run = |args: Vec<String>| {
        let mut all = args;
        all.extend([s("--server"), url.clone()]);
        client(&all.iter().map(String::as_str).collect::<Vec<_>>())
    };

    let out = ok(&run(vec![
        s("transfer"),
        s("--key"),
        resident0.clone(),
        s("--from"),
        r0.to_string(),
        s("--to"),
        r1.to_string(),
        s("--amount"),
        s("250"),
    ]));
    assert!(out.contains("accepted: transfer at position 0"), "{out}");
    // The nonce is fetched from the server: a second transfer needs no bookkeeping.
    ok(&run(vec![
        s("transfer"),
        s("--key"),
        resident0.clone(),
        s("--from"),
        r0.to_string(),
        s("--to"),
        r1.to_string(),
        s("--amount"),
        s("1"),
    ]));
    ok(&run(vec![
        s("register-operator"),
        s("--key"),
        authority,
        s("--operator"),
        metro.to_string(),
        s("--fares"),
        s("100,200,300,400"),
    ]));
    let out = ok(&run(vec![
        s("tap"),
        s("--key"),
        resident1.clone(),
        s("--from"),
        r1.to_string(),
        s("--operator"),
        metro.to_string(),
        s("--class"),
        s("1"),
    ]));
    assert!(out.contains("\"charged\":200"), "{out}");
    let newcomer = dir.join("newcomer.json");
    ok(&client(&["keygen", "--out", newcomer.to_str().unwrap()]));
    let out = ok(&run(vec![
        s("open-account"),
        s("--key"),
        resident1.clone(),
        s("--from"),
        r1.to_string(),
        s("--new-key"),
        newcomer.display().to_string(),
    ]));
    assert!(out.contains("account_opened"), "{out}");
    ok(&run(vec![
        s("register-delegate"),
        s("--key"),
        resident1.clone(),
        s("--from"),
        r1.to_string(),
    ]));
    ok(&run(vec![
        s("order"),
        s("--key"),
        resident0.clone(),
        s("--from"),
        r0.to_string(),
        s("--side"),
        s("buy"),
        s("--amount"),
        s("1000"),
        s("--price"),
        s("20"),
    ]));

    // A voter registered by the registrar votes with a proof made here.
    let secret = dir.join("voter.json");
    std::fs::write(&secret, serde_json::to_string(&demo_voter(7)).unwrap()).unwrap();
    let commitment = circuits::hash::to_hex(&demo_voter(7).commitment());
    ok(&run(vec![
        s("register-voter"),
        s("--key"),
        registrar,
        s("--commitment"),
        commitment,
    ]));
    ok(&run(vec![
        s("proposal"),
        s("--key"),
        council,
        s("--title"),
        s("Bike lanes?"),
        s("--option"),
        s("yes"),
        s("--option"),
        s("no"),
    ]));
    let cache = dir.join("voter-cache").display().to_string();
    let out = ok(&run(vec![
        s("vote"),
        s("--secret"),
        secret.display().to_string(),
        s("--proposal"),
        s("0"),
        s("--vote"),
        s("option:1"),
        s("--cache"),
        cache.clone(),
    ]));
    assert!(out.contains("accepted: ballot"), "{out}");
    // The path for an offline `ballot`, found locally in the synced voter set.
    let path_file = dir.join("path.json");
    ok(&run(vec![
        s("voter-path"),
        s("--secret"),
        secret.display().to_string(),
        s("--proposal"),
        s("0"),
        s("--out"),
        path_file.display().to_string(),
        s("--cache"),
        cache.clone(),
    ]));
    let path: circuits::merkle::MerklePath =
        serde_json::from_str(&std::fs::read_to_string(&path_file).unwrap()).unwrap();
    let proposal: serde_json::Value = reqwest::blocking::get(format!("{url}/v1/proposals/0"))
        .unwrap()
        .json()
        .unwrap();
    let voter_root: circuits::Fp =
        serde_json::from_value(proposal["record"]["voter_root"].clone()).unwrap();
    path.verify(
        circuits::constants::VOTERS_DEPTH,
        demo_voter(7).commitment(),
        voter_root,
    )
    .unwrap();
    // A voter outside the proposal's voter set: refused here, exit 1, nothing asked of it.
    let stranger = dir.join("stranger.json");
    std::fs::write(&stranger, serde_json::to_string(&demo_voter(8)).unwrap()).unwrap();
    let out = run(vec![
        s("voter-path"),
        s("--secret"),
        stranger.display().to_string(),
        s("--proposal"),
        s("0"),
        s("--out"),
        dir.join("stranger-path.json").display().to_string(),
        s("--cache"),
        cache.clone(),
    ]);
    fails(&out, 1, "not among the 1 voters of proposal 0");
    ok(&run(vec![
        s("delegate-vote"),
        s("--key"),
        resident1.clone(),
        s("--from"),
        r1.to_string(),
        s("--proposal"),
        s("0"),
        s("--option"),
        s("0"),
    ]));
    let tally: serde_json::Value = reqwest::blocking::get(format!("{url}/v1/proposals/0/tally"))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(tally["direct"], serde_json::json!([0, 1]), "{tally}");

    // Refused by the rules: exit 1 with the server's code.
    let out = run(vec![
        s("transfer"),
        s("--key"),
        resident0.clone(),
        s("--from"),
        r0.to_string(),
        s("--to"),
        r1.to_string(),
        s("--amount"),
        s("99999999"),
    ]);
    fails(&out, 1, "insufficient_funds");
    // Signed with the wrong key: refused, not applied.
    let out = run(vec![
        s("transfer"),
        s("--key"),
        resident1.clone(),
        s("--from"),
        r0.to_string(),
        s("--to"),
        r1.to_string(),
        s("--amount"),
        s("1"),
    ]);
    fails(&out, 1, "bad_signature");

    // Could not run: exit 3 and why.
    let out = client(&[
        "transfer",
        "--key",
        &resident0,
        "--from",
        "5",
        "--to",
        "6",
        "--amount",
        "1",
        "--server",
        "http://127.0.0.1:9",
    ]);
    fails(&out, 3, "cannot reach the sequencer at http://127.0.0.1:9");
    let out = client(&[
        "transfer",
        "--key",
        &resident0,
        "--from",
        "5",
        "--to",
        "6",
        "--amount",
        "1",
        "--server",
        "sequencer.example",
    ]);
    fails(&out, 3, "must start with http://");
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "not a key").unwrap();
    let out = run(vec![
        s("transfer"),
        s("--key"),
        garbage.display().to_string(),
        s("--from"),
        s("5"),
        s("--to"),
        s("6"),
        s("--amount"),
        s("1"),
    ]);
    fails(&out, 3, "not a key file");
    let out = run(vec![
        s("transfer"),
        s("--key"),
        s("/nonexistent/key.json"),
        s("--from"),
        s("5"),
        s("--to"),
        s("6"),
        s("--amount"),
        s("1"),
    ]);
    fails(&out, 3, "/nonexistent/key.json");
    let out = client(&[
        "vote",
        "--secret",
        "x",
        "--proposal",
        "0",
        "--vote",
        "maybe",
    ]);
    fails(&out, 2, "option:N");
    server.stop();
}
