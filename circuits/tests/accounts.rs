//! The accounts family's chunk circuit: transfers, taps, account opening, operator and
//! concession registration, delegate registration.

mod common;

use circuits::chunk::{AccountsCircuit, Family};
use common::*;

#[test]
fn zz_rows() {
    let one = measured_rows(&AccountsCircuit::blank(1));
    let two = measured_rows(&AccountsCircuit::blank(2));
    println!("rows: 1 slot {one}, 2 slots {two}, per slot {}", two - one);
}

#[test]
fn zz_honest_mixed() {
    let mut s = Scenario::new(6);
    let metro = s.city.id("operator-metro");
    s.setup(s.city.register_operator(metro, [250, 400, 300, 500]));
    let (r0, r1) = (s.city.resident(0), s.city.resident(1));
    s.push(s.city.transfer(r0, r1, 250));
    s.push(s.city.tap(r1, metro, 1, NOW - 100));
    let (w, instance) = s.chunk(Family::Accounts, 2);
    let k = Family::Accounts.k_for(2);
    assert_eq!(
        failures(k.max(13), AccountsCircuit::new(w), instance),
        Vec::<String>::new()
    );
}
