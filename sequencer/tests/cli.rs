//! The `sequencer` binary's help: the `--slots` ladder is the circuits' own, so a change of
//! a slot's rows cannot leave the help behind.

use std::process::Command;

use circuits::chunk::Family;

#[test]
fn the_slots_help_matches_the_circuits() {
    let ladder = (11..=15)
        .map(|k| format!("{}: k = {k}", Family::Accounts.slots_for(k)))
        .collect::<Vec<_>>()
        .join(", ");
    let out = Command::new(env!("CARGO_BIN_EXE_sequencer"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{help}");
    assert!(help.contains(&ladder), "no {ladder:?} in the help:\n{help}");
}
