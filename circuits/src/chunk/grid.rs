//! Named cells of a rule region, so a family's rule gates read like the rules they enforce.
//!
//! A [`Grid`] lists up to twenty names: name `i` sits in advice column `i % 10`, row `i / 10`
//! of its region. A gate queries cells by name ([`Queries::e`]) and the slot assigns them by
//! name ([`GridRegion`]). Two rows at most, so every query is at rotation 0 or 1, which the
//! Poseidon and Merkle chips query already: rule gates add no openings to the proof. Cells
//! move between grids by copy constraints.

use std::collections::HashMap;

use halo2_proofs::{
    circuit::{Layouter, Region, Value},
    plonk::{Advice, Column, ConstraintSystem, Error, Expression, Selector, VirtualCells},
    poly::Rotation,
};

use super::base::{Base, Running};
use super::merkle::Cell;
use crate::hash::Fp;

/// The names of a rule region's cells, in column-major-free row order (ten per row).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grid(pub(crate) &'static [&'static str]);

impl Grid {
    fn position(&self, name: &str) -> (usize, usize) {
        let i = self
            .0
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("no cell {name:?} in this grid"));
        assert!(self.0.len() <= 20, "a grid has two rows of ten cells");
        (i % 10, i / 10)
    }

    /// Every cell of the grid as an expression, for one gate.
    pub(crate) fn queries(
        &self,
        meta: &mut VirtualCells<'_, Fp>,
        advice: &[Column<Advice>; 10],
    ) -> Queries {
        let cells = self
            .0
            .iter()
            .map(|name| {
                let (col, row) = self.position(name);
                let rotation = if row == 0 {
                    Rotation::cur()
                } else {
                    Rotation::next()
                };
                (*name, meta.query_advice(advice[col], rotation))
            })
            .collect();
        Queries(cells)
    }

    /// Assigns a region of this grid with `selector` enabled on its first row: `assign`
    /// sets every cell (it may run more than once, as halo2's floor planner measures the
    /// region first).
    pub(crate) fn assign<T>(
        &self,
        mut layouter: impl Layouter<Fp>,
        name: &'static str,
        selector: Selector,
        advice: &[Column<Advice>; 10],
        mut assign: impl FnMut(&mut GridRegion<'_, '_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        layouter.assign_region(
            || name,
            |mut region| {
                selector.enable(&mut region, 0)?;
                let mut grid = GridRegion {
                    grid: *self,
                    region: &mut region,
                    advice,
                    cells: HashMap::new(),
                };
                let out = assign(&mut grid)?;
                if let Some(missing) = self.0.iter().find(|n| !grid.cells.contains_key(*n)) {
                    panic!("rule region {name:?} left cell {missing:?} unassigned");
                }
                Ok(out)
            },
        )
    }
}

/// A gate's view of a grid: each named cell as an expression.
pub(crate) struct Queries(HashMap<&'static str, Expression<Fp>>);

impl Queries {
    /// The cell named `name`.
    pub(crate) fn e(&self, name: &str) -> Expression<Fp> {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("no cell {name:?} in this grid"))
            .clone()
    }
}

/// A grid being assigned.
pub(crate) struct GridRegion<'r, 'a> {
    grid: Grid,
    region: &'a mut Region<'r, Fp>,
    advice: &'a [Column<Advice>; 10],
    cells: HashMap<&'static str, Cell>,
}

impl GridRegion<'_, '_> {
    /// Witnesses `value` in the cell `name`.
    pub(crate) fn set(&mut self, name: &'static str, value: Value<Fp>) -> Result<Cell, Error> {
        let (col, row) = self.grid.position(name);
        let cell = self
            .region
            .assign_advice(|| name, self.advice[col], row, || value)?;
        self.cells.insert(name, cell.clone());
        Ok(cell)
    }

    /// Copies `from` into the cell `name`.
    pub(crate) fn copy(&mut self, name: &'static str, from: &Cell) -> Result<Cell, Error> {
        let (col, row) = self.grid.position(name);
        let cell = from.copy_advice(|| name, self.region, self.advice[col], row)?;
        self.cells.insert(name, cell.clone());
        Ok(cell)
    }
}

/// The constant 1.
pub(crate) fn one() -> Expression<Fp> {
    Expression::Constant(Fp::one())
}

/// The constant `v`.
pub(crate) fn c(v: u64) -> Expression<Fp> {
    Expression::Constant(Fp::from(v))
}

/// A gate named `name` over `grid`'s cells, enabled by a new selector (returned):
/// `rules` lists its named constraints.
pub(crate) fn gate(
    meta: &mut ConstraintSystem<Fp>,
    base: &Base,
    name: &'static str,
    grid: Grid,
    rules: impl Fn(&Queries) -> Vec<(&'static str, Expression<Fp>)>,
) -> Selector {
    let q = crate::selector::selector(meta);
    let advice = base.advice;
    meta.create_gate(name, |meta| {
        let cells = grid.queries(meta, &advice);
        crate::selector::gated(meta.query_selector(q), rules(&cells))
    });
    q
}

/// A known `Value`'s inner value (0 if unknown): for witness values computed from known
/// inputs.
pub(crate) trait OrZero {
    fn map_or_zero(self) -> Fp;
}

impl OrZero for Value<Fp> {
    fn map_or_zero(self) -> Fp {
        let mut out = Fp::zero();
        self.map(|x| out = x);
        out
    }
}

/// The cells of one slot, by name, and their values.
pub(crate) struct Slot<'a> {
    base: &'a Base,
    /// The cells assigned so far, by name.
    pub(crate) cells: HashMap<&'static str, Cell>,
    values: Value<HashMap<&'static str, Fp>>,
}

impl<'a> Slot<'a> {
    /// A slot over `base` whose cells take their values from `values` (by name), starting
    /// with the running counters, time and parameters as cells of their names
    /// ([`super::base::RUNNING_NAMES`]).
    pub(crate) fn new(
        base: &'a Base,
        values: Value<HashMap<&'static str, Fp>>,
        running: &Running,
    ) -> Self {
        Slot {
            base,
            cells: running.named().into_iter().collect(),
            values,
        }
    }

    /// The value of the cell `name`.
    pub(crate) fn value(&self, name: &'static str) -> Value<Fp> {
        self.values.as_ref().map(|v| {
            *v.get(name)
                .unwrap_or_else(|| panic!("no value for cell {name:?}"))
        })
    }

    /// Assigns a grid region: each cell is copied from the slot's cell of that name if one
    /// exists, else witnessed from its value (and becomes the slot's cell of that name).
    pub(crate) fn grid(
        &mut self,
        layouter: &mut impl Layouter<Fp>,
        name: &'static str,
        grid: Grid,
        selector: Selector,
    ) -> Result<(), Error> {
        let advice = self.base.advice;
        let new_cells = grid.assign(layouter.namespace(|| name), name, selector, &advice, |g| {
            let mut made = Vec::new();
            for cell in grid.0 {
                match self.cells.get(cell) {
                    Some(existing) => {
                        g.copy(cell, existing)?;
                    }
                    None => {
                        made.push((*cell, g.set(cell, self.value(cell))?));
                    }
                }
            }
            Ok(made)
        })?;
        self.cells.extend(new_cells);
        Ok(())
    }

    /// Witnesses the named cells in one row (at most ten) of a region of their own.
    pub(crate) fn witness(
        &mut self,
        layouter: &mut impl Layouter<Fp>,
        names: &[&'static str],
    ) -> Result<(), Error> {
        let advice = self.base.advice;
        let values: Vec<Value<Fp>> = names.iter().map(|n| self.value(n)).collect();
        let cells = layouter.assign_region(
            || "witness",
            |mut region| {
                names
                    .iter()
                    .zip(values.iter())
                    .enumerate()
                    .map(|(i, (n, v))| region.assign_advice(|| *n, advice[i], 0, || *v))
                    .collect::<Result<Vec<_>, _>>()
            },
        )?;
        self.cells.extend(names.iter().copied().zip(cells));
        Ok(())
    }

    /// The slot's message `Poseidon(TX_MESSAGE, e0..e7)` (its encoding cells) folded into
    /// the data hash, and the slot's signer exposed: the cell `signed` and `signed ·` the key
    /// cells `key_x`, `key_y` (the signature on the message is proven against them by a
    /// signature proof, [`crate::signatures`]).
    pub(crate) fn signed_message(
        &self,
        layouter: &mut impl Layouter<Fp>,
        running: &mut Running,
        signed: &str,
        key_x: &str,
        key_y: &str,
    ) -> Result<(), Error> {
        let encoding: [Cell; 8] =
            ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"].map(|n| self.cell(n).clone());
        self.base
            .message(layouter.namespace(|| "message"), &encoding, running)?;
        self.base.signer(
            layouter.namespace(|| "signer"),
            running.slot,
            self.cell(signed),
            self.cell(key_x),
            self.cell(key_y),
        )
    }

    /// Range-checks the named cells below 2^64 (each in regions named after it).
    pub(crate) fn range64(
        &self,
        layouter: &mut impl Layouter<Fp>,
        names: &[&'static str],
    ) -> Result<(), Error> {
        let checks: Vec<(&str, &Cell)> = names.iter().map(|n| (*n, self.cell(n))).collect();
        self.base
            .range64_all(layouter.namespace(|| "range checks"), &checks)
    }

    /// The cell `name`.
    pub(crate) fn cell(&self, name: &str) -> &Cell {
        self.cells
            .get(name)
            .unwrap_or_else(|| panic!("cell {name:?} not assigned yet"))
    }
}
