//! Helpers shared by the chunk circuits' tests: a scenario applied natively to a demo city,
//! chunk witnesses built from its starting state, MockProver failures as readable strings,
//! and one-cell overrides.
#![allow(dead_code)]

use circuits::chunk::witness::{self, ChunkWitness};
use circuits::chunk::{Family, Instance};
use circuits::demo::City;
use circuits::{Fp, State, Transaction};
use halo2_proofs::dev::{CircuitCost, MockProver};
use halo2_proofs::plonk::Circuit;

/// The batch time of every test chunk.
pub const NOW: u64 = 1_767_230_000;

/// A demo city and the transactions applied to it since `start`.
pub struct Scenario {
    pub city: City,
    pub start: State,
    pub txs: Vec<Transaction>,
    pub now: u64,
}

impl Scenario {
    /// A demo city of `residents`; setup transactions applied with [`Scenario::setup`] are
    /// part of the starting state, those applied with [`Scenario::push`] are the chunk's.
    pub fn new(residents: usize) -> Self {
        let city = City::new(residents);
        let start = city.state.clone();
        Scenario {
            city,
            start,
            txs: vec![],
            now: NOW,
        }
    }

    /// Applies `tx` before the chunk (part of the starting state).
    pub fn setup(&mut self, tx: Transaction) {
        self.city
            .apply(&tx, self.now)
            .unwrap_or_else(|e| panic!("setup {}: {e}", tx.kind_name()));
        self.start = self.city.state.clone();
        assert!(self.txs.is_empty(), "setup after the chunk's transactions");
    }

    /// Applies `tx` as one of the chunk's transactions.
    pub fn push(&mut self, tx: Transaction) {
        self.city
            .apply(&tx, self.now)
            .unwrap_or_else(|e| panic!("{}: {e}", tx.kind_name()));
        self.txs.push(tx);
    }

    /// The chunk of `slots` slots of `family` over the pushed transactions.
    pub fn chunk(&self, family: Family, slots: usize) -> (ChunkWitness, Instance) {
        let mut state = self.start.clone();
        let built = witness::build(family, &mut state, &self.txs, self.now, slots).unwrap();
        // A chunk leaves its batch time in the state even without a transaction.
        let mut native = self.city.state.clone();
        native.advance_time(self.now).unwrap();
        assert_eq!(
            built.1.root_new(),
            native.root(),
            "the witness reaches the native root"
        );
        built
    }
}

/// MockProver's failures, as the messages an engineer reads.
pub fn failures<C: Circuit<Fp>>(k: u32, circuit: C, instance: Instance) -> Vec<String> {
    let prover = MockProver::run(k, &circuit, vec![instance.to_halo2()]).unwrap();
    match prover.verify() {
        Ok(()) => vec![],
        Err(es) => es.iter().map(|e| e.to_string()).collect(),
    }
}

/// The failures of the signature proof a verifier checks beside this chunk's (MockProver):
/// the chunk's signed slots' keys (its public inputs), messages and signatures
/// ([`witness::signed_entries`]).
pub fn signature_failures(w: &ChunkWitness, i: &Instance) -> Vec<String> {
    use circuits::signatures::{self, SignaturesCircuit};
    let signed = witness::signed_entries(w, i);
    let capacity = signed.len().max(1);
    let entries: Vec<_> = signed.iter().map(|(e, _)| *e).collect();
    let circuit = SignaturesCircuit::new(&signed, capacity);
    let column = signatures::instance(&entries, capacity);
    let prover = MockProver::run(signatures::K_MIN, &circuit, vec![column]).unwrap();
    match prover.verify() {
        Ok(()) => vec![],
        Err(es) => es.iter().map(|e| e.to_string()).collect(),
    }
}

/// `i` with its slots' signers claimed to be `signers` (under the rule parameters `params`).
pub fn with_signers(
    i: &Instance,
    params: &circuits::Params,
    signers: Vec<Option<circuits::keys::PublicKey>>,
) -> Instance {
    Instance::new(
        i.root_old(),
        i.root_new(),
        i.data_hash(),
        i.now(),
        i.chain(),
        params,
        signers,
    )
}

/// How a signature that does not hold fails the signature proof: the final copy constraint
/// `s·G = R + c·PK`, on the addition's output cells.
pub const SIGNATURE_FAILS: &str = "('complete point addition') at offset 1";

/// Asserts that some failure contains `expected`.
#[track_caller]
pub fn assert_fails_with(found: Vec<String>, expected: &str) {
    assert!(
        found.iter().any(|f| f.contains(expected)),
        "expected a failure containing {expected:?}, got {found:#?}"
    );
}

/// MockProver failures with one advice cell replaced: the `occurrence`-th cell named
/// `annotation` holds `value`.
pub fn failures_with<C>(
    k: u32,
    circuit: C,
    instance: Instance,
    overrides: &[(&'static str, usize, Fp)],
) -> Vec<String>
where
    C: Circuit<Fp, FloorPlanner = halo2_proofs::circuit::SimpleFloorPlanner>,
{
    match circuits::testing::mock_with_overrides(k, circuit, vec![instance.to_halo2()], overrides) {
        Ok(()) => vec![],
        Err(es) => es.iter().map(|e| e.to_string()).collect(),
    }
}

/// The rows a circuit uses (halo2's `CircuitCost`, read from its Debug output: its fields
/// are private).
pub fn measured_rows<C: Circuit<Fp> + std::fmt::Debug>(circuit: &C) -> usize {
    let cost = CircuitCost::<pasta_curves::vesta::Point, _>::measure(17, circuit);
    let text = format!("{cost:?}");
    text.split("max_rows: ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// MockProver failures with every advice cell holding `from` holding `to` instead.
pub fn failures_with_values<C>(
    k: u32,
    circuit: C,
    instance: Instance,
    overrides: &[(Fp, Fp)],
) -> Vec<String>
where
    C: Circuit<Fp, FloorPlanner = halo2_proofs::circuit::SimpleFloorPlanner>,
{
    match circuits::testing::mock_with_value_overrides(
        k,
        circuit,
        vec![instance.to_halo2()],
        overrides,
    ) {
        Ok(()) => vec![],
        Err(es) => es.iter().map(|e| e.to_string()).collect(),
    }
}

/// MockProver failures with cells overridden by annotation and by value at once.
pub fn failures_tampered<C>(
    k: u32,
    circuit: C,
    instance: Instance,
    by_name: &[(&'static str, usize, Fp)],
    by_value: &[(Fp, Fp)],
) -> Vec<String>
where
    C: Circuit<Fp, FloorPlanner = halo2_proofs::circuit::SimpleFloorPlanner>,
{
    match circuits::testing::mock_tampered(k, circuit, vec![instance.to_halo2()], by_name, by_value)
    {
        Ok(()) => vec![],
        Err(es) => es.iter().map(|e| e.to_string()).collect(),
    }
}
