//! The `prover` binary end to end at k = 12: sample transfers, prove two batches (the
//! second `--after` the first), and the verifier library accepts the directory; bad input
//! gives the documented exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn prover(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_prover"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32, says: &str) {
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{text}");
    assert!(text.contains(says), "expected {says:?} in: {text}");
}

#[test]
fn two_batches_from_the_command_line_verify_as_a_chain() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("prover-cli");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("batches")).unwrap();
    let params = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("city-params");
    let params = params.to_str().unwrap();
    let out = prover(
        &dir,
        &[
            "sample",
            "--genesis",
            "g.json",
            "--out",
            "all.json",
            "--count",
            "3",
        ],
    );
    assert_exit(&out, 0, "");
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("all.json")).unwrap()).unwrap();
    let write = |name: &str, part: &[serde_json::Value]| {
        std::fs::write(dir.join(name), serde_json::to_string(part).unwrap()).unwrap()
    };
    write("t1.json", &all[..2]);
    write("t2.json", &all[2..]);
    let prove = |batch: &str, out: &str, after: &[&str]| {
        let mut args = vec![
            "prove",
            "--quiet",
            "--genesis",
            "g.json",
            "--batch",
            batch,
            "--time",
            "1767230000",
            "--slots",
            "1",
            "--data",
            params,
            "--out",
            out,
        ];
        args.extend_from_slice(after);
        prover(&dir, &args)
    };
    assert_exit(
        &prove("t1.json", "batches/1.json", &[]),
        0,
        "batch 1: 2 transactions",
    );
    assert_exit(
        &prove("t2.json", "batches/2.json", &["--after", "batches"]),
        0,
        "batch 2: 1 transactions",
    );
    let genesis = circuits::Genesis::load(&dir.join("g.json"))
        .unwrap()
        .state();
    let artifacts = verifier::check::read_dir(&dir.join("batches")).unwrap();
    let mut keys = verifier::Keys::new(Path::new(params));
    let report = keys.verify_chain(genesis, artifacts, &mut |_| {}).unwrap();
    assert_eq!(report.batches.len(), 2);
    // The first batch proved again after both: its transactions' nonces are refused.
    assert_exit(
        &prove("t1.json", "again.json", &["--after", "batches"]),
        1,
        "refused",
    );
    // No such batch file.
    assert_exit(&prove("absent.json", "x.json", &[]), 3, "absent.json");
}

/// The `--slots` help lists the accounts chunk's slots at each k as the circuits give them,
/// so a change of the slot's rows cannot leave the help behind.
#[test]
fn the_slots_help_matches_the_circuits() {
    use circuits::chunk::Family;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let ladder = (11..=15)
        .map(|k| match k {
            11 => format!("{} → k = 11", Family::Accounts.slots_for(11)),
            k => format!("{} → {k}", Family::Accounts.slots_for(k)),
        })
        .collect::<Vec<_>>()
        .join(", ");
    for command in ["prove", "worker"] {
        let out = prover(&dir, &[command, "--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{help}");
        assert!(
            help.contains(&ladder),
            "no {ladder:?} in {command}'s help:\n{help}"
        );
    }
}
