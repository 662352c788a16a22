//! The `verifier` binary's exit codes and messages on bad input (no proving needed): 1 for
//! published data at fault, named; 2 for bad usage; 3 when the check cannot run.

use std::path::PathBuf;
use std::process::{Command, Output};

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("verifier-cli-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("genesis.json"),
        circuits::genesis::demo(2).to_json(),
    )
    .unwrap();
    dir
}

fn verifier(dir: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verifier"))
        .current_dir(dir)
        .args(["--data", "data"])
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
fn corrupt_truncated_and_foreign_artifacts_exit_1_with_the_reason() {
    let d = dir("corrupt");
    std::fs::write(d.join("cut.json"), "{\"version\": 1, \"number\": 1, \"ti").unwrap();
    let out = verifier(&d, &["batch", "cut.json", "--genesis", "genesis.json"]);
    assert_exit(&out, 1, "cut.json: not a readable batch artifact");
    // A version this verifier does not read: the next one.
    let next = verifier::VERSION + 1;
    std::fs::write(d.join("next.json"), format!("{{\"version\": {next}}}")).unwrap();
    let out = verifier(&d, &["batch", "next.json", "--genesis", "genesis.json"]);
    assert_exit(&out, 1, &format!("version {next}"));
    let out = verifier(
        &d,
        &["--json", "batch", "next.json", "--genesis", "genesis.json"],
    );
    assert_exit(&out, 1, "\"ok\":false");
    // A chain directory with a bad file in it.
    std::fs::create_dir_all(d.join("chain")).unwrap();
    std::fs::write(d.join("chain/1.json"), [0xff, 0x00, 0x13]).unwrap();
    let out = verifier(&d, &["chain", "chain", "--genesis", "genesis.json"]);
    assert_exit(&out, 1, "1.json");
    // A ballot file that is not a ballot.
    std::fs::write(d.join("ballot.json"), "{\"proposal\": 0}").unwrap();
    let out = verifier(&d, &["ballot", "ballot.json"]);
    assert_exit(&out, 1, "not a ballot");
}

#[test]
fn a_missing_genesis_or_directory_exits_3_and_bad_usage_2() {
    let d = dir("env");
    std::fs::write(d.join("batch.json"), "{\"version\": 1}").unwrap();
    let out = verifier(&d, &["batch", "batch.json", "--genesis", "absent.json"]);
    assert_exit(&out, 3, "absent.json");
    let out = verifier(&d, &["chain", "absent-dir", "--genesis", "genesis.json"]);
    assert_exit(&out, 3, "absent-dir");
    let out = verifier(&d, &["tally", "x"]);
    assert_exit(&out, 2, "--genesis");
    let out = verifier(&d, &["--help"]);
    assert_exit(&out, 0, "Exit status");
}

#[test]
fn a_ballot_file_verifies_and_a_changed_vote_does_not() {
    use circuits::demo::{demo_voter, City};
    use rand::SeedableRng;
    let d = dir("ballot");
    let mut city = City::new(2);
    let tx = city.register_voter(demo_voter(0).commitment());
    city.apply(&tx, city.genesis.time).unwrap();
    let keys = circuits::ballot::BallotKeys::setup(circuits::ballot::params()).unwrap();
    let ballot = circuits::ballot::prove(
        &keys,
        &demo_voter(0),
        &city.state.voter_path(0),
        0,
        circuits::voter::Vote::Option(1),
        0,
        rand_chacha::ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap()
    .into_transaction();
    let json = serde_json::to_string(&circuits::Transaction::Ballot(ballot.clone())).unwrap();
    std::fs::write(d.join("ballot.json"), json).unwrap();
    assert_exit(&verifier(&d, &["ballot", "ballot.json"]), 0, "OK");
    let mut changed = ballot;
    changed.vote = circuits::voter::Vote::Option(0);
    std::fs::write(
        d.join("changed.json"),
        serde_json::to_string(&changed).unwrap(),
    )
    .unwrap();
    assert_exit(
        &verifier(&d, &["ballot", "changed.json"]),
        1,
        "the ballot proof does not verify",
    );
}
