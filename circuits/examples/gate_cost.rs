//! The size of every chunk circuit's gate expressions, before and after key generation.
//!
//! A chunk proof spends its largest phase evaluating the gates at every point of the
//! extended domain (the README's profile), and halo2 0.4 evaluates each expression tree node
//! by node, so the number of nodes is what a gate costs there. Key generation replaces each
//! simple selector by a polynomial in a shared fixed column, so the nodes after it (read from
//! the verifying key's pinned description) are what proving pays.
//!
//! `cargo run --release -p circuits --example gate_cost [PARAMS_DIR]` (parameters are read
//! from or written to the directory, `target/params` by default). halo2 keeps the constraint
//! system's gates private, so both counts parse its `Debug` output.

use std::collections::BTreeMap;
use std::path::PathBuf;

use circuits::chunk::{
    proof, AccountsCircuit, Family, GovernanceCircuit, MarketCircuit, RegistryCircuit,
};
use halo2_proofs::plonk::{Circuit, ConstraintSystem};
use pasta_curves::pallas::Base as Fp;

/// Nodes of the expressions printed in `text`: sums, products, scalings, negations, and
/// the leaves (cells, selectors, constants).
fn nodes(text: &str) -> usize {
    [
        "Sum(",
        "Product(",
        "Scaled(",
        "Negated(",
        "Constant(",
        "Advice",
        "Fixed",
        "Instance",
        "Selector(",
    ]
    .iter()
    .map(|p| text.matches(p).count())
    .sum()
}

/// The text of the gates in a printed constraint system.
fn gates(text: &str) -> &str {
    let start = text.find("gates: [").expect("a gates field");
    let end = text[start..]
        .find("advice_queries")
        .map_or(text.len(), |e| start + e);
    &text[start..end]
}

/// Nodes per gate name before key generation, largest first.
fn by_gate<C: Circuit<Fp>>() -> (usize, Vec<(String, usize)>) {
    let mut cs = ConstraintSystem::<Fp>::default();
    C::configure(&mut cs);
    let text = format!("{cs:?}");
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for gate in gates(&text).split("Gate { name: ").skip(1) {
        let name = gate.split('"').nth(1).unwrap_or("?").to_string();
        *by.entry(name).or_default() += nodes(gate);
    }
    let total = by.values().sum();
    let mut by: Vec<_> = by.into_iter().collect();
    by.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    (total, by)
}

fn report<C: Circuit<Fp>>(family: Family, dir: &std::path::Path) {
    let (before, by) = by_gate::<C>();
    let k = family.k_for(1);
    let params = circuits::params::load_or_make(dir, k, |k| eprintln!("making params k={k}"))
        .expect("parameters")
        .params;
    let vk = proof::verifying_key(&params, family, 1).expect("a verifying key");
    let after = nodes(gates(&format!("{:?}", vk.pinned())));
    println!("{family}: {before} gate nodes as configured, {after} after key generation");
    for (name, n) in by.iter().take(12) {
        println!("  {n:5}  {name}");
    }
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/params"), PathBuf::from);
    report::<AccountsCircuit>(Family::Accounts, &dir);
    report::<RegistryCircuit>(Family::Registry, &dir);
    report::<MarketCircuit>(Family::Market, &dir);
    report::<GovernanceCircuit>(Family::Governance, &dir);
}
