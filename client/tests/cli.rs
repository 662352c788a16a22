//! The client binary as a resident runs it: voter secrets, then a ballot proved locally that
//! the rollup's verifier accepts. Bad input gets a clear error and a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

use circuits::ballot;
use circuits::constants::VOTERS_DEPTH;
use circuits::merkle::MerkleTree;
use circuits::voter::{Vote, VoterSecret};
use circuits::{Fp, Transaction};

fn client(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_client"))
        .args(args)
        .output()
        .expect("run the client")
}

fn dir() -> std::path::PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("client-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_ballot_proved_by_the_client_verifies_and_carries_no_secret() {
    let dir = dir();
    let secret_file = dir.join("me.json");
    let out = client(&["voter-secret", "--out", secret_file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let commitment = String::from_utf8(out.stdout).unwrap();
    let secret: VoterSecret =
        serde_json::from_str(&std::fs::read_to_string(&secret_file).unwrap()).unwrap();
    assert_eq!(
        commitment.trim(),
        circuits::hash::to_hex(&secret.commitment())
    );

    // The registrar put the commitment at position 5 of the voter tree.
    let mut tree = MerkleTree::new(VOTERS_DEPTH, Fp::zero());
    tree.set(5, secret.commitment());
    let path_file = dir.join("path.json");
    std::fs::write(&path_file, serde_json::to_string(&tree.path(5)).unwrap()).unwrap();
    let ballot_file = dir.join("ballot.json");
    let out = client(&[
        "ballot",
        "--secret",
        secret_file.to_str().unwrap(),
        "--path",
        path_file.to_str().unwrap(),
        "--proposal",
        "3",
        "--vote",
        "delegate:2",
        "--out",
        ballot_file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let text = std::fs::read_to_string(&ballot_file).unwrap();
    let Transaction::Ballot(b) = serde_json::from_str(&text).unwrap() else {
        panic!("not a ballot: {text}")
    };
    assert_eq!(
        (b.proposal, b.vote, b.voter_root),
        (3, Vote::Delegate(2), tree.root())
    );
    assert_eq!(b.nullifier, secret.nullifier(3));
    for secret_value in [secret.nullifier_key, secret.trapdoor] {
        assert!(
            !text.contains(&circuits::hash::to_hex(&secret_value)),
            "the ballot leaks a secret"
        );
    }
    let keys = ballot::BallotKeys::setup(ballot::params()).unwrap();
    ballot::verify(
        keys.params(),
        keys.verifying_key(),
        &ballot::instance_of(&b),
        &b.proof,
    )
    .unwrap();
}

#[test]
fn bad_input_gets_a_clear_error_and_a_failing_exit() {
    let dir = dir();
    let secret_file = dir.join("existing.json");
    std::fs::write(&secret_file, "{}").unwrap();
    let out = client(&["voter-secret", "--out", secret_file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not overwriting"));
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), "{}");

    let out = client(&[
        "ballot",
        "--secret",
        secret_file.to_str().unwrap(),
        "--path",
        "/nonexistent",
        "--proposal",
        "0",
        "--vote",
        "option:1",
        "--out",
        dir.join("b.json").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not valid voter secrets"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = client(&[
        "ballot",
        "--secret",
        "/nonexistent",
        "--path",
        "/nonexistent",
        "--proposal",
        "0",
        "--vote",
        "maybe",
        "--out",
        dir.join("b.json").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("reading /nonexistent"));
}
