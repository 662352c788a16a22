//! Test support shared by the circuits' tests (built only for them: the `testing`
//! feature, which the crate's own dev-dependency turns on): witness overrides for
//! MockProver. Either the n-th advice cell assigned under an annotation gets another value,
//! so a test can tamper with one cell that a circuit computes from its witness (a swap bit,
//! a packed word) and see the named constraint fail; or every advice cell holding a value
//! gets another, so a value and all its copies change together (a new balance that wrapped
//! below zero, everywhere it is used) and the check that guards it is what fails. It wraps
//! the constraint system the floor planner writes into, so the circuit under test is the
//! real one, with its real chips.

use std::any::Any;
use std::cell::RefCell;

use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    dev::{MockProver, VerifyFailure},
    plonk::{
        self, Advice, Any as AnyColumn, Assigned, Assignment, Circuit, Column, ConstraintSystem,
        FloorPlanner, Instance as InstanceColumn,
    },
};

use crate::hash::Fp;

/// The annotation of a cell to override, which of the cells so named (counting from 0),
/// and its new value (of the circuit's field).
type Override = (&'static str, usize, Box<dyn Any>);

thread_local! {
    static OVERRIDES: RefCell<Vec<Override>> = const { RefCell::new(Vec::new()) };
    static VALUE_OVERRIDES: RefCell<Vec<(Fp, Fp)>> = const { RefCell::new(Vec::new()) };
}

/// A floor planner that lays out with [`SimpleFloorPlanner`] and applies the overrides.
pub struct OverridePlanner;

struct OverrideCs<'a, CS> {
    inner: &'a mut CS,
    /// Cells assigned so far under each overridden annotation.
    seen: std::collections::HashMap<String, usize>,
}

impl FloorPlanner for OverridePlanner {
    fn synthesize<F: ff::Field, CS: Assignment<F>, C: Circuit<F>>(
        cs: &mut CS,
        circuit: &C,
        config: C::Config,
        constants: Vec<Column<halo2_proofs::plonk::Fixed>>,
    ) -> Result<(), plonk::Error> {
        let mut wrapped = OverrideCs {
            inner: cs,
            seen: Default::default(),
        };
        SimpleFloorPlanner::synthesize(&mut wrapped, circuit, config, constants)
    }
}

impl<F: ff::Field, CS: Assignment<F>> Assignment<F> for OverrideCs<'_, CS> {
    fn enter_region<NR: Into<String>, N: FnOnce() -> NR>(&mut self, name_fn: N) {
        self.inner.enter_region(name_fn)
    }
    fn exit_region(&mut self) {
        self.inner.exit_region()
    }
    fn enable_selector<A: FnOnce() -> AR, AR: Into<String>>(
        &mut self,
        annotation: A,
        selector: &halo2_proofs::plonk::Selector,
        row: usize,
    ) -> Result<(), plonk::Error> {
        self.inner.enable_selector(annotation, selector, row)
    }
    fn query_instance(
        &self,
        column: Column<InstanceColumn>,
        row: usize,
    ) -> Result<Value<F>, plonk::Error> {
        self.inner.query_instance(column, row)
    }
    fn assign_advice<V, VR, A, AR>(
        &mut self,
        annotation: A,
        column: Column<Advice>,
        row: usize,
        to: V,
    ) -> Result<(), plonk::Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<F>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        let name: String = annotation().into();
        let replacement = OVERRIDES.with(|o| {
            let overrides = o.borrow();
            if !overrides.iter().any(|(target, _, _)| *target == name) {
                return None;
            }
            let seen = self.seen.entry(name.clone()).or_default();
            let occurrence = *seen;
            *seen += 1;
            overrides
                .iter()
                .find(|(target, n, _)| *target == name && *n == occurrence)
                .map(|(_, _, value)| *value.downcast_ref::<F>().expect("a value of the field"))
        });
        match replacement {
            Some(value) => {
                // The circuit's own value is still computed: halo2's `Region` records it as
                // the assigned cell's value (what later gadgets read), while the constraint
                // system holds the replacement.
                let _ = to();
                self.inner.assign_advice(
                    || name,
                    column,
                    row,
                    || Value::known(Assigned::from(value)),
                )
            }
            None => {
                let by_value = VALUE_OVERRIDES.with(|o| !o.borrow().is_empty());
                if !by_value {
                    return self.inner.assign_advice(|| name, column, row, to);
                }
                let assigned: Value<Assigned<F>> = to().map(|v| v.into());
                let replaced = assigned.map(|a| {
                    let v = a.evaluate();
                    VALUE_OVERRIDES.with(|o| {
                        o.borrow()
                            .iter()
                            .find(|(from, _)| (from as &dyn Any).downcast_ref::<F>() == Some(&v))
                            .map(|(_, to)| {
                                *(to as &dyn Any)
                                    .downcast_ref::<F>()
                                    .expect("a value of the field")
                            })
                            .unwrap_or(v)
                    })
                });
                self.inner
                    .assign_advice(|| name, column, row, || replaced.map(Assigned::from))
            }
        }
    }
    fn assign_fixed<V, VR, A, AR>(
        &mut self,
        annotation: A,
        column: Column<halo2_proofs::plonk::Fixed>,
        row: usize,
        to: V,
    ) -> Result<(), plonk::Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<F>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.inner.assign_fixed(annotation, column, row, to)
    }
    fn copy(
        &mut self,
        left_column: Column<AnyColumn>,
        left_row: usize,
        right_column: Column<AnyColumn>,
        right_row: usize,
    ) -> Result<(), plonk::Error> {
        self.inner
            .copy(left_column, left_row, right_column, right_row)
    }
    fn fill_from_row(
        &mut self,
        column: Column<halo2_proofs::plonk::Fixed>,
        row: usize,
        to: Value<Assigned<F>>,
    ) -> Result<(), plonk::Error> {
        self.inner.fill_from_row(column, row, to)
    }
    fn push_namespace<NR: Into<String>, N: FnOnce() -> NR>(&mut self, name_fn: N) {
        self.inner.push_namespace(name_fn)
    }
    fn pop_namespace(&mut self, gadget_name: Option<String>) {
        self.inner.pop_namespace(gadget_name)
    }
}

/// `circuit` laid out through [`OverridePlanner`] (its own planner must be the simple one).
struct Overridden<C>(C);

impl<C: Circuit<Fp, FloorPlanner = SimpleFloorPlanner>> Circuit<Fp> for Overridden<C> {
    type Config = C::Config;
    type FloorPlanner = OverridePlanner;

    fn without_witnesses(&self) -> Self {
        Overridden(self.0.without_witnesses())
    }
    fn configure(meta: &mut ConstraintSystem<Fp>) -> C::Config {
        C::configure(meta)
    }
    fn synthesize(
        &self,
        config: C::Config,
        layouter: impl Layouter<Fp>,
    ) -> Result<(), plonk::Error> {
        self.0.synthesize(config, layouter)
    }
}

/// MockProver at `k` on `circuit` with public inputs `instance`, with each `(annotation,
/// occurrence, value)`: the `occurrence`-th advice cell named `annotation` (counting from 0)
/// holds `value` instead of what the circuit assigns.
pub fn mock_with_overrides<C: Circuit<Fp, FloorPlanner = SimpleFloorPlanner>>(
    k: u32,
    circuit: C,
    instance: Vec<Vec<Fp>>,
    overrides: &[(&'static str, usize, Fp)],
) -> Result<(), Vec<VerifyFailure>> {
    OVERRIDES.with(|o| {
        *o.borrow_mut() = overrides
            .iter()
            .map(|(name, n, value)| (*name, *n, Box::new(*value) as Box<dyn Any>))
            .collect()
    });
    let result = MockProver::run(k, &Overridden(circuit), instance)
        .expect("synthesis")
        .verify();
    OVERRIDES.with(|o| o.borrow_mut().clear());
    result
}

/// MockProver at `k` on `circuit` with public inputs `instance`, where every advice cell
/// whose value is `from` holds `to` instead, for each `(from, to)` (pick a `from` no other
/// cell holds).
pub fn mock_with_value_overrides<C: Circuit<Fp, FloorPlanner = SimpleFloorPlanner>>(
    k: u32,
    circuit: C,
    instance: Vec<Vec<Fp>>,
    overrides: &[(Fp, Fp)],
) -> Result<(), Vec<VerifyFailure>> {
    mock_tampered(k, circuit, instance, &[], overrides)
}

/// Both kinds of override at once: by annotation and occurrence, and by value (a cell
/// matched by annotation takes that override).
pub fn mock_tampered<C: Circuit<Fp, FloorPlanner = SimpleFloorPlanner>>(
    k: u32,
    circuit: C,
    instance: Vec<Vec<Fp>>,
    by_name: &[(&'static str, usize, Fp)],
    by_value: &[(Fp, Fp)],
) -> Result<(), Vec<VerifyFailure>> {
    OVERRIDES.with(|o| {
        *o.borrow_mut() = by_name
            .iter()
            .map(|(name, n, value)| (*name, *n, Box::new(*value) as Box<dyn Any>))
            .collect()
    });
    VALUE_OVERRIDES.with(|o| *o.borrow_mut() = by_value.to_vec());
    let result = MockProver::run(k, &Overridden(circuit), instance)
        .expect("synthesis")
        .verify();
    OVERRIDES.with(|o| o.borrow_mut().clear());
    VALUE_OVERRIDES.with(|o| o.borrow_mut().clear());
    result
}

/// Asserts that `result` failed only on the final copy constraint of a signature check,
/// `s·G = R + c·PK` ([`crate::schnorr::verify_signature`]): permutation failures on the `x`
/// (advice 2) and `y` (advice 3) output cells of the last window of `s·G` and of the
/// addition `R + c·PK`, and nothing else.
#[track_caller]
pub fn assert_only_final_equality_fails(result: Result<(), Vec<VerifyFailure>>) {
    use halo2_proofs::dev::FailureLocation;
    let failures = result.expect_err("the tampered check must fail");
    let mut seen = std::collections::BTreeSet::new();
    for failure in &failures {
        match failure {
            VerifyFailure::Permutation {
                column,
                location: FailureLocation::InRegion { region, offset: 1 },
            } => {
                seen.insert((region_name(region), column.to_string()));
            }
            other => panic!("unexpected failure: {other}"),
        }
    }
    let s_g = "Full-width fixed-base mul (last window, complete addition)";
    let r_plus_c_pk = "complete point addition";
    let expected = std::collections::BTreeSet::from(
        [(s_g, 2), (s_g, 3), (r_plus_c_pk, 2), (r_plus_c_pk, 3)]
            .map(|(region, column)| (region.to_string(), format!("Column('Advice', {column})"))),
    );
    assert_eq!(seen, expected, "{failures:#?}");
}

/// A region's name, from its display form `Region i ('name')`.
pub fn region_name(region: &impl std::fmt::Display) -> String {
    let shown = region.to_string();
    let start = shown.find("('").expect("region display") + 2;
    shown[start..shown.len() - 2].to_string()
}

/// The advice rows `circuit` uses at `k`, read from `CircuitCost`'s report (its fields are
/// private).
pub fn advice_rows<C: plonk::Circuit<Fp> + std::fmt::Debug>(k: u32, circuit: &C) -> usize {
    let cost = format!(
        "{:?}",
        halo2_proofs::dev::CircuitCost::<pasta_curves::vesta::Point, _>::measure(k, circuit)
    );
    let field = "max_advice_rows: ";
    let start = cost
        .find(field)
        .expect("CircuitCost reports max_advice_rows")
        + field.len();
    cost[start..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number of rows")
}
