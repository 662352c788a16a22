//! The README's main command at a reduced size: `demo --small` end to end (the
//! service in-process, the city's clients over HTTP, every batch proven, the verifier over
//! HTTP). It must exit 0 and print the verified chain, the two refusals made on purpose, the
//! tally with delegation resolved, the trades and the transit revenue. The small city's
//! script is deterministic in what it leaves (the order of concurrent clients changes only
//! which batch a transaction lands in), so the figures are checked exactly.

use std::path::PathBuf;
use std::process::Command;

/// A fresh directory under the test target directory.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The lines of `text`, each as its whitespace-separated words.
fn words(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|l| l.split_whitespace().collect())
        .collect()
}

/// Whether a line of `text` starts with `prefix` (word by word).
fn has_line(text: &str, prefix: &[&str]) -> bool {
    words(text).iter().any(|w| w.starts_with(prefix))
}

#[test]
fn the_small_demo_city_runs_end_to_end_and_the_verifier_accepts_it() {
    let data = fresh_dir("small");
    // Parameters are shared with the sequencer's tests (and cached between runs of the
    // suite): the same directory as theirs, under the same target directory.
    let params = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("seq-params");
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--small", "--data"])
        .arg(&data)
        .arg("--params")
        .arg(&params)
        .output()
        .expect("run the demo binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the demo failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    let context = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");

    // The chain, verified over HTTP from genesis: 49 transactions (47 sent by the clients, 2
    // fills by the matcher), every one in a proven batch.
    let verified = words(&stdout)
        .into_iter()
        .find(|w| w.first() == Some(&"VERIFIED:"))
        .unwrap_or_else(|| panic!("no VERIFIED line\n{context}"))
        .join(" ");
    assert!(
        verified.contains(" 49 transactions, 49 chunks in ")
            && verified.contains(" chunk proofs, ")
            && verified.contains(" signature proofs and 7 ballot proofs"),
        "{verified}"
    );

    // Two steps refused on purpose, with the sequencer's codes.
    for code in ["reading_not_increasing", "tap_not_forward"] {
        assert!(
            stdout.contains("refused on purpose: ") && stdout.contains(code),
            "no refusal {code}\n{context}"
        );
    }

    // The tally, delegation resolved: voter 0 votes yes and voter 1 no directly; voter 2
    // follows delegate 2 then reassigns to delegate 0, voter 3 follows delegate 0, voter 4
    // follows delegate 1 then overrides it with no. Delegate 0 votes yes.
    assert!(
        stdout.contains("Proposal 0: \"Extend tram line 4 to the harbour?\" — 5 of 5 registered voters hold a ballot (7 cast, 2 replaced an earlier one)"),
        "{context}"
    );
    assert!(has_line(&stdout, &["yes", "1", "2", "3"]), "{context}");
    assert!(has_line(&stdout, &["no", "2", "0", "2"]), "{context}");
    assert!(has_line(&stdout, &["defer", "0", "0", "0"]), "{context}");
    assert!(
        has_line(&stdout, &["delegate", "0"])
            && stdout.contains("voted yes: 2 followers counted for it"),
        "{context}"
    );
    assert!(
        stdout.contains("voted no, then changed to yes"),
        "{context}"
    );

    // The market: the buyer's 4,000 Wh take the 12 c ask whole and a part of the 13 c one.
    assert!(stdout.contains("2 trades, 4,000 Wh for $0.49"), "{context}");
    assert!(stdout.contains("(partial for"), "{context}");

    // Transit: the first rider (no concession) pays $4.00 for the metro, transfers free to
    // the bus and the tram, pays $5.00 for the bus home, then $3.00 of a $5.00 ride to reach
    // the $12.00 cap, and rides the tram free. The second (50% off) pays $1.37 for the bus,
    // $0.55 for the metro after the transfer discount, and $2.25 for the tram home.
    assert!(
        has_line(&stdout, &["metro", "$4.55", "from", "2", "rides"]),
        "{context}"
    );
    assert!(
        has_line(&stdout, &["bus", "$9.37", "from", "4", "rides"]),
        "{context}"
    );
    assert!(
        has_line(&stdout, &["tram", "$2.25", "from", "3", "rides"]),
        "{context}"
    );
    assert!(has_line(&stdout, &["total", "$16.17"]), "{context}");
    assert!(stdout.contains("reached the cap: resident-4"), "{context}");

    // The report, and the data directory kept with its genesis.
    for field in [
        "batches",
        "transactions",
        "proving",
        "verification",
        "proof bytes",
    ] {
        assert!(
            words(&stdout)
                .iter()
                .any(|w| w.join(" ").starts_with(field)),
            "no {field} in the report\n{context}"
        );
    }
    assert!(data.join("genesis.json").is_file());
}
