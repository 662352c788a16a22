//! What every chunk circuit's gates cost a proof, gate by gate, after key generation.
//!
//! A chunk proof spends its largest phase evaluating the gates at every point of the
//! extended domain (the README's profile). halo2 0.4 evaluates each constraint's expression
//! tree node by node over a chunk of the domain, nothing shared between constraints or
//! subtrees; a sum is an addition per point, a product, a scaling or a negation a
//! multiplication, a leaf a copy. So the multiplications per point are what a gate costs.
//! Key generation replaces each simple selector by a product over a shared fixed column, so
//! the expressions after it (read from the verifying key's pinned description) are what
//! proving pays.
//!
//! `cargo run --release -p circuits --example gate_cost [PARAMS_DIR] [GATES]` (parameters
//! are read from or written to the directory, `target/params` by default; `GATES` of each
//! circuit are listed, 12 by default). halo2 keeps the constraint system's gates private, so
//! this parses its `Debug` output: the gates as configured give each gate's name and number
//! of constraints, and the key's pinned description lists the same constraints in the same
//! order.

use std::path::PathBuf;

use circuits::chunk::{
    proof, AccountsCircuit, Family, GovernanceCircuit, MarketCircuit, RegistryCircuit,
};
use circuits::signatures::{self, SignaturesCircuit};
use halo2_proofs::plonk::{Circuit, ConstraintSystem, VerifyingKey};
use halo2_proofs::poly::commitment::Params;
use pasta_curves::pallas::Base as Fp;
use pasta_curves::vesta;

/// What evaluating some expressions costs at one point.
#[derive(Clone, Copy, Default)]
struct Cost {
    /// Every node: sums, products, scalings, negations and leaves.
    nodes: usize,
    /// Products, scalings and negations.
    muls: usize,
}

impl Cost {
    fn of(text: &str) -> Cost {
        let count = |ps: &[&str]| ps.iter().map(|p| text.matches(p).count()).sum::<usize>();
        let muls = count(&["Product(", "Scaled(", "Negated("]);
        let other = count(&[
            "Sum(",
            "Constant(",
            "Advice",
            "Fixed",
            "Instance",
            "Selector(",
        ]);
        Cost {
            nodes: muls + other,
            muls,
        }
    }
}

impl std::ops::Add for Cost {
    type Output = Cost;

    fn add(self, other: Cost) -> Cost {
        Cost {
            nodes: self.nodes + other.nodes,
            muls: self.muls + other.muls,
        }
    }
}

/// The items of the bracketed list that starts right after `open` in `text` (the first
/// occurrence at or after `from`), split at its top-level commas; and where the list ends.
fn list_after<'t>(text: &'t str, from: usize, open: &str) -> (Vec<&'t str>, usize) {
    let start = from + text[from..].find(open).expect("the list's opening") + open.len();
    let mut items = Vec::new();
    let (mut depth, mut item) = (0usize, start);
    for (i, ch) in text[start..].char_indices() {
        let at = start + i;
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | '}' => depth -= 1,
            ']' if depth == 0 => {
                if !text[item..at].trim().is_empty() {
                    items.push(text[item..at].trim());
                }
                return (items, at);
            }
            ']' => depth -= 1,
            ',' if depth == 0 => {
                items.push(text[item..at].trim());
                item = at + 1;
            }
            _ => {}
        }
    }
    panic!("an unclosed list");
}

/// Each configured gate's name and number of constraints, in order.
fn configured<C: Circuit<Fp>>() -> Vec<(String, usize)> {
    let mut cs = ConstraintSystem::<Fp>::default();
    C::configure(&mut cs);
    let text = format!("{cs:?}");
    let mut gates = Vec::new();
    let mut at = text.find("gates: [").expect("a gates field");
    while let Some(found) = text[at..].find("Gate { name: ") {
        let start = at + found + "Gate { name: ".len();
        let name = text[start..].split('"').nth(1).unwrap_or("?").to_string();
        let (polys, end) = list_after(&text, start, "polys: [");
        gates.push((name, polys.len()));
        at = end;
    }
    gates
}

/// A chunk circuit of one slot.
fn report_family<C: Circuit<Fp>>(family: Family, dir: &std::path::Path, shown: usize) {
    report::<C>(&family.to_string(), family.k_for(1), dir, shown, |params| {
        proof::verifying_key(params, family, 1).expect("a verifying key")
    });
}

fn report<C: Circuit<Fp>>(
    name: &str,
    k: u32,
    dir: &std::path::Path,
    shown: usize,
    vk: impl FnOnce(&Params<vesta::Affine>) -> VerifyingKey<vesta::Affine>,
) {
    let gates = configured::<C>();
    let params = circuits::params::load_or_make(dir, k, |k| eprintln!("making params k={k}"))
        .expect("parameters")
        .params;
    let vk = vk(&params);
    let pinned = format!("{:?}", vk.pinned());
    let (polys, _) = list_after(&pinned, 0, "gates: [");
    let wanted: usize = gates.iter().map(|(_, n)| n).sum();
    assert_eq!(
        polys.len(),
        wanted,
        "the key lists every configured constraint"
    );
    let mut rest = polys.as_slice();
    let mut by: Vec<(String, usize, Cost)> = gates
        .into_iter()
        .map(|(name, n)| {
            let (mine, after) = rest.split_at(n);
            rest = after;
            let cost = mine
                .iter()
                .fold(Cost::default(), |acc, p| acc + Cost::of(p));
            (name, n, cost)
        })
        .collect();
    let total = by.iter().fold(Cost::default(), |acc, (_, _, c)| acc + *c);
    by.sort_by_key(|(_, _, c)| std::cmp::Reverse(c.muls));
    println!(
        "{name}: {} gates, {} constraints, {} nodes and {} multiplications per point after key generation",
        by.len(),
        polys.len(),
        total.nodes,
        total.muls
    );
    println!("  mults  share  nodes  constraints  gate");
    for (name, n, c) in by.iter().take(shown) {
        println!(
            "  {:5}  {:4.1}%  {:5}  {:11}  {name}",
            c.muls,
            100.0 * c.muls as f64 / total.muls as f64,
            c.nodes,
            n
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .map_or_else(|| PathBuf::from("target/params"), PathBuf::from);
    let shown = args
        .next()
        .map_or(12, |n| n.parse().expect("a number of gates"));
    report_family::<AccountsCircuit>(Family::Accounts, &dir, shown);
    report_family::<RegistryCircuit>(Family::Registry, &dir, shown);
    report_family::<MarketCircuit>(Family::Market, &dir, shown);
    report_family::<GovernanceCircuit>(Family::Governance, &dir, shown);
    let k = signatures::K_MIN;
    report::<SignaturesCircuit>("signatures", k, &dir, shown, |params| {
        signatures::verifying_key(params, signatures::capacity_for(k)).expect("a verifying key")
    });
}
