//! The `demo` program's command line: the native scenario runs and reports, and bad usage
//! gets a clear message and exit status 2 (1 when the native city is too small), before
//! anything is started.

use std::process::{Command, Output};

fn demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(args)
        .output()
        .expect("run the demo binary")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_native_scenario_runs_the_rules_alone_and_reports() {
    let out = demo(&["--native", "--days", "1"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("Demo city: 50 residents,") && stdout.contains("1 days of transit"),
        "{stdout}"
    );
    for heading in [
        "genesis root",
        "Transactions by kind (applied / refused):",
        "Refused on purpose, with the rules' reasons:",
        "Energy market trades",
        "Transit revenue per operator:",
        "Proposal 0 \"Extend tram line 4 to the harbour?\"",
        "`demo` without --native runs the city end to end.",
    ] {
        assert!(stdout.contains(heading), "no {heading:?}\n{stdout}");
    }
}

#[test]
fn a_native_city_below_45_residents_is_refused_with_a_reason() {
    let out = demo(&["--native", "--residents", "44"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("error: the demo city needs at least 45 residents"),
        "{stderr}"
    );
}

#[test]
fn bad_usage_is_refused_with_the_flag_it_concerns() {
    for (args, says) in [
        (
            &["--native", "--small"][..],
            "'--native' cannot be used with '--small'",
        ),
        (
            &["--native", "--data", "/tmp/never-made"][..],
            "'--native' cannot be used with '--data <DIR>'",
        ),
        (
            &["--native", "--listen", "127.0.0.1:9"][..],
            "'--native' cannot be used with '--listen <LISTEN>'",
        ),
        (
            &["--residents", "60"][..],
            "required arguments were not provided",
        ),
        (&["--days", "2"][..], "required arguments were not provided"),
        (
            &["--slots", "many"][..],
            "invalid value 'many' for '--slots <SLOTS>'",
        ),
        (
            &["--listen", "nowhere"][..],
            "invalid value 'nowhere' for '--listen <LISTEN>'",
        ),
    ] {
        let out = demo(args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stdout}\n{stderr}");
        assert_eq!(stdout, "", "{args:?}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(says),
            "{args:?}: {stderr}"
        );
    }
    assert!(!std::path::Path::new("/tmp/never-made").exists());
}

#[test]
fn help_names_every_option() {
    let out = demo(&["--help"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for flag in [
        "--small",
        "--data <DIR>",
        "--params <DIR>",
        "--listen",
        "--slots",
        "--batch-size",
        "--batch-ms",
        "--prove-threads",
        "--verbose",
        "--native",
        "--residents",
        "--days",
        "Exit status: 0 the verifier accepts the chain",
    ] {
        assert!(stdout.contains(flag), "no {flag} in the help\n{stdout}");
    }
    // The `--slots` help names the k = 14 chunk's slots as the circuits give them.
    let ladder = format!(
        "{}: k = 14",
        circuits::chunk::Family::Accounts.slots_for(14)
    );
    assert!(
        stdout.contains(&ladder),
        "no {ladder:?} in the help\n{stdout}"
    );
}
