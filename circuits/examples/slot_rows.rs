//! Where a one-slot chunk's rows go: lays out each family's one-slot circuit with halo2's
//! simple floor planner and prints, for each kind of region (its name with numbers
//! replaced by `#`), how many there are and the rows they span, largest first. Regions that
//! sit side by side on other columns both count: the 10-bit lookup table's 1,024 rows are a
//! table column beside everything else, not rows the slot adds.
//!
//! `cargo run --release -p circuits --example slot_rows`

use std::collections::BTreeMap;

use circuits::chunk::{AccountsCircuit, GovernanceCircuit, MarketCircuit, RegistryCircuit};
use circuits::Fp;
use halo2_proofs::{
    circuit::{SimpleFloorPlanner, Value},
    plonk::{
        Advice, Any, Assigned, Assignment, Circuit, Column, ConstraintSystem, Error, Fixed,
        FloorPlanner, Instance, Selector,
    },
};

/// Records each region's name and the rows its cells occupy.
#[derive(Default)]
struct Extents {
    regions: Vec<(String, usize, usize)>,
    current: Option<usize>,
}

impl Extents {
    fn touch(&mut self, row: usize) {
        if let Some(i) = self.current {
            let r = &mut self.regions[i];
            r.1 = r.1.min(row);
            r.2 = r.2.max(row);
        }
    }
}

impl Assignment<Fp> for Extents {
    fn enter_region<NR: Into<String>, N: FnOnce() -> NR>(&mut self, name: N) {
        self.regions.push((name().into(), usize::MAX, 0));
        self.current = Some(self.regions.len() - 1);
    }
    fn exit_region(&mut self) {
        self.current = None;
    }
    fn enable_selector<A: FnOnce() -> AR, AR: Into<String>>(
        &mut self,
        _: A,
        _: &Selector,
        row: usize,
    ) -> Result<(), Error> {
        self.touch(row);
        Ok(())
    }
    fn query_instance(&self, _: Column<Instance>, _: usize) -> Result<Value<Fp>, Error> {
        Ok(Value::unknown())
    }
    fn assign_advice<V, VR, A, AR>(
        &mut self,
        _: A,
        _: Column<Advice>,
        row: usize,
        _: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<Fp>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.touch(row);
        Ok(())
    }
    fn assign_fixed<V, VR, A, AR>(
        &mut self,
        _: A,
        _: Column<Fixed>,
        row: usize,
        _: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<Fp>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.touch(row);
        Ok(())
    }
    fn copy(&mut self, _: Column<Any>, _: usize, _: Column<Any>, _: usize) -> Result<(), Error> {
        Ok(())
    }
    fn fill_from_row(
        &mut self,
        _: Column<Fixed>,
        _: usize,
        _: Value<Assigned<Fp>>,
    ) -> Result<(), Error> {
        Ok(())
    }
    fn push_namespace<NR: Into<String>, N: FnOnce() -> NR>(&mut self, _: N) {}
    fn pop_namespace(&mut self, _: Option<String>) {}
}

fn report<C: Circuit<Fp, FloorPlanner = SimpleFloorPlanner>>(name: &str, circuit: C) {
    let mut meta = ConstraintSystem::default();
    let config = C::configure(&mut meta);
    let mut extents = Extents::default();
    // The constants column is private to the constraint system: a fresh one stands in (the
    // constants sit in it after the regions, as in the circuit's own).
    let constants = vec![meta.fixed_column()];
    SimpleFloorPlanner::synthesize(&mut extents, &circuit, config, constants).expect("layout");
    let mut kinds: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut last = 0;
    for (region, start, end) in &extents.regions {
        if *start == usize::MAX {
            continue;
        }
        last = last.max(*end + 1);
        let kind: String = region
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect();
        let entry = kinds.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += end - start + 1;
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by_key(|(_, (_, rows))| std::cmp::Reverse(*rows));
    println!("{name}: {last} rows");
    for (kind, (count, rows)) in kinds.iter().take(25) {
        println!("  {rows:>6} rows  {count:>4} × {kind}");
    }
}

fn main() {
    report("accounts, 1 slot", AccountsCircuit::blank(1));
    report("registry, 1 slot", RegistryCircuit::blank(1));
    report("market, 1 slot", MarketCircuit::blank(1));
    report("governance, 1 slot", GovernanceCircuit::blank(1));
}
