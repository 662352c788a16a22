//! Honest workloads: a demo city prepared so that every kind of transaction can be made many
//! times over at one batch time ([`NOW`]), each one signed with the right nonce and applied by
//! the rules as it is made, so any run of them proves and replays.
//!
//! The preparation (applied before [`Workload::start`], at [`SETUP`]) registers a transit
//! operator, meters, voters, delegates and a proposal open at [`NOW`], and places the orders
//! that the fills and cancellations of the workload use. Residents hold money and energy
//! enough for hundreds of transactions each.

use circuits::ballot::{self, BallotKeys};
use circuits::chunk::witness::{self, ChunkWitness};
use circuits::chunk::{Family, Instance};
use circuits::demo::{demo_voter, City};
use circuits::keys::SecretKey;
use circuits::merkle::MerklePath;
use circuits::records::{FleetKind, Side};
use circuits::voter::Vote;
use circuits::{State, Transaction};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// The batch time every workload transaction is applied at.
pub const NOW: u64 = 1_767_230_000;
/// When the preparation happens (an hour before [`NOW`]).
pub const SETUP: u64 = NOW - 3_600;
/// Cents and Wh each resident holds at genesis.
const WEALTH: u64 = 10_000_000;
/// Delegates registered in the preparation (the delegate votes rotate among them).
const DELEGATES: usize = 4;
/// Orders in the preparation expire long after [`NOW`].
const EXPIRY: u64 = NOW + 1_000_000;

/// Every kind of transaction and the family whose chunk circuit proves it.
pub const KINDS: [(&str, Family); 16] = [
    ("transfer", Family::Accounts),
    ("tap", Family::Accounts),
    ("open_account", Family::Accounts),
    ("register_operator", Family::Accounts),
    ("set_concession", Family::Accounts),
    ("register_delegate", Family::Accounts),
    ("meter_reading", Family::Registry),
    ("place_order", Family::Registry),
    ("cancel_order", Family::Registry),
    ("fleet_record", Family::Registry),
    ("register_meter", Family::Registry),
    ("register_voter", Family::Registry),
    ("create_proposal", Family::Registry),
    ("fill", Family::Market),
    ("ballot", Family::Governance),
    ("delegate_vote", Family::Governance),
];

/// The kinds of `family`, in the order a family's workload cycles through them (the most
/// common first).
pub fn kinds_of(family: Family) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|(_, f)| *f == family)
        .map(|(k, _)| *k)
        .collect()
}

/// A prepared city and the transactions made since its preparation.
pub struct Workload {
    /// The city: its state is the state after every transaction made so far.
    pub city: City,
    /// The state after the preparation, before any workload transaction.
    pub start: State,
    /// The workload's transactions, in the order they were made and applied.
    pub txs: Vec<Transaction>,
    capacity: usize,
    residents: usize,
    operator: u64,
    meters: Vec<(u64, u64)>,
    voter_paths: Vec<MerklePath>,
    fill_pairs: Vec<(u64, u64)>,
    cancellable: Vec<(u64, u64)>,
    made: std::collections::BTreeMap<&'static str, usize>,
    ballot_keys: Option<BallotKeys>,
}

impl Workload {
    /// A city prepared for up to `capacity` transactions of each kind.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let residents = 2 * capacity + DELEGATES + 8;
        let mut genesis = circuits::genesis::demo(residents);
        for account in genesis.accounts.iter_mut() {
            account.balance = WEALTH;
            account.energy = WEALTH;
        }
        let mut city = City::from_genesis(genesis);
        let setup = |city: &mut City, tx: Transaction| {
            city.apply(&tx, SETUP)
                .unwrap_or_else(|e| panic!("preparing the workload, {}: {e}", tx.kind_name()));
        };
        let operator = city.id("operator-metro");
        let tx = city.register_operator(operator, [290, 400, 350, 600]);
        setup(&mut city, tx);
        let mut meters = Vec::with_capacity(capacity);
        for m in 0..capacity {
            let id = city.state.counters().meters;
            let (tx, key) = city.register_meter(city.resident(m % residents), &format!("b{m}"));
            setup(&mut city, tx);
            city.add_meter_key(id, key);
            meters.push((id, 0));
        }
        for v in 0..capacity as u64 {
            let tx = city.register_voter(demo_voter(v).commitment());
            setup(&mut city, tx);
        }
        for d in 0..DELEGATES {
            let tx = city.register_delegate(city.resident(d));
            setup(&mut city, tx);
        }
        let tx = city.proposal("Bench?", &["yes", "no", "defer"], SETUP, EXPIRY);
        setup(&mut city, tx);
        // The proposal's voter root is the tree as it is now: the ballots' paths are taken
        // here, before the workload registers more voters.
        let voter_paths = (0..capacity as u64)
            .map(|v| city.state.voter_path(v))
            .collect();
        // Fills: a sell order (the older, the maker) and a buy order of another resident.
        let mut fill_pairs = Vec::with_capacity(capacity);
        for i in 0..capacity {
            let seller = city.resident(2 * i % residents);
            let buyer = city.resident((2 * i + 1) % residents);
            let maker = city.state.counters().orders;
            let tx = city.order(seller, Side::Sell, 2_000, 10, EXPIRY);
            setup(&mut city, tx);
            let tx = city.order(buyer, Side::Buy, 2_000, 12, EXPIRY);
            setup(&mut city, tx);
            fill_pairs.push((maker, maker + 1));
        }
        let mut cancellable = Vec::with_capacity(capacity);
        for i in 0..capacity {
            let owner = city.resident((i + 3) % residents);
            let order = city.state.counters().orders;
            let tx = city.order(owner, Side::Buy, 500, 11, EXPIRY);
            setup(&mut city, tx);
            cancellable.push((owner, order));
        }
        Workload {
            start: city.state.clone(),
            city,
            txs: Vec::new(),
            capacity,
            residents,
            operator,
            meters,
            voter_paths,
            fill_pairs,
            cancellable,
            made: Default::default(),
            ballot_keys: None,
        }
    }

    /// Ballots made from now on carry real proofs made with `keys` (what the verifier
    /// checks); without keys they carry none (enough for chunk proofs and native replay).
    pub fn with_ballot_proofs(mut self, keys: BallotKeys) -> Self {
        self.ballot_keys = Some(keys);
        self
    }

    /// The ballot keys, if ballots are proved.
    pub fn ballot_keys(&self) -> Option<&BallotKeys> {
        self.ballot_keys.as_ref()
    }

    /// Makes, applies at [`NOW`] and records the next transaction of `kind`.
    ///
    /// # Panics
    /// If `kind` is not one of [`KINDS`], if more than the capacity of a kind that uses up
    /// prepared state (fills, cancellations, ballots, delegates) is asked for, or if the
    /// rules refuse it (a bug in the workload).
    pub fn make(&mut self, kind: &'static str) -> Transaction {
        let i = *self.made.get(kind).unwrap_or(&0);
        let n = self.capacity;
        let r = self.residents;
        let city = &self.city;
        let resident = |j: usize| city.resident(j % r);
        let tx = match kind {
            "transfer" => city.transfer(resident(i), resident(i + 1), 1),
            "tap" => city.tap(
                resident(i),
                self.operator,
                i as u64 % 4,
                // Within the genesis' tap delay (15 minutes) before the batch, forward in
                // time for every rider.
                NOW - 800 + i as u64,
            ),
            "open_account" => {
                let key = SecretKey::from_seed(format!("bench account {i}").as_bytes());
                city.open_account(resident(i), &key)
            }
            "register_operator" => city.register_operator(resident(i), [200, 250, 300, 400]),
            "set_concession" => city.concession(resident(i), 10 + (i as u64 % 5) * 10),
            "register_delegate" => {
                assert!(i + DELEGATES < r, "more delegates than residents");
                city.register_delegate(resident(DELEGATES + i))
            }
            "meter_reading" => {
                let slot = &mut self.meters[i % n];
                slot.1 += 1_000;
                city.reading(slot.0, slot.1)
            }
            "place_order" => city.order(resident(i), Side::Sell, 100, 10 + i as u64 % 5, EXPIRY),
            "cancel_order" => {
                let (owner, order) = self.cancellable[i];
                city.cancel(owner, order)
            }
            "fleet_record" => city.fleet_record(
                self.operator,
                i as u64,
                if i.is_multiple_of(2) {
                    FleetKind::Maintenance
                } else {
                    FleetKind::Insurance
                },
                format!("vehicle {i}: bench record").as_bytes(),
            ),
            "register_meter" => city.register_meter(resident(i), &format!("extra {i}")).0,
            "register_voter" => city.register_voter(demo_voter((n + i) as u64).commitment()),
            "create_proposal" => city.proposal(&format!("Bench {i}?"), &["a", "b"], NOW, EXPIRY),
            "fill" => {
                let (maker, taker) = self.fill_pairs[i];
                city.fill(maker, taker, 1_500)
            }
            "ballot" => {
                let voter = demo_voter(i as u64);
                let vote = if i.is_multiple_of(2) {
                    Vote::Option(i as u64 % 3)
                } else {
                    Vote::Delegate(i as u64 % DELEGATES as u64)
                };
                match &self.ballot_keys {
                    Some(keys) => {
                        let proved = ballot::prove(
                            keys,
                            &voter,
                            &self.voter_paths[i],
                            0,
                            vote,
                            0,
                            ChaCha20Rng::seed_from_u64(i as u64),
                        )
                        .expect("an honest ballot proves");
                        Transaction::Ballot(proved.into_transaction())
                    }
                    None => city.ballot(&voter, 0, vote),
                }
            }
            "delegate_vote" => city.delegate_vote(resident(i % DELEGATES), 0, i as u64 % 3),
            other => panic!("unknown kind {other}"),
        };
        self.city
            .apply(&tx, NOW)
            .unwrap_or_else(|e| panic!("workload {kind} #{i}: {e}"));
        self.made.insert(kind, i + 1);
        self.txs.push(tx.clone());
        tx
    }

    /// Makes `count` transactions of `family`, cycling through its kinds.
    pub fn make_family(&mut self, family: Family, count: usize) -> Vec<Transaction> {
        let kinds = kinds_of(family);
        (0..count)
            .map(|i| self.make(kinds[i % kinds.len()]))
            .collect()
    }

    /// The chunk of `slots` slots of `family` proving every transaction made so far (all of
    /// that family, at most `slots` of them) from [`Workload::start`].
    ///
    /// # Panics
    /// If the witness cannot be built or does not reach the city's root.
    pub fn chunk(&self, family: Family, slots: usize) -> (ChunkWitness, Instance) {
        let mut state = self.start.clone();
        let built = witness::build(family, &mut state, &self.txs, NOW, slots)
            .unwrap_or_else(|e| panic!("{family} chunk of {slots} slots: {e}"));
        assert_eq!(
            built.1.root_new(),
            self.city.state.root(),
            "the chunk reaches the native root"
        );
        built
    }
}

/// A full chunk of `slots` transactions of `family` (its kinds in turn) and its public inputs.
pub fn full_chunk(family: Family, slots: usize) -> (ChunkWitness, Instance) {
    let mut w = Workload::new(slots);
    w.make_family(family, slots);
    w.chunk(family, slots)
}

/// How many transactions of each family a mixed batch holds, in order: one run per family.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Mix {
    /// Transfers, taps and the other account kinds.
    pub accounts: usize,
    /// Meter readings, orders, cancellations, fleet records and registrations.
    pub registry: usize,
    /// Fills.
    pub market: usize,
    /// Ballots and delegate votes.
    pub governance: usize,
}

impl Mix {
    /// Transactions in all.
    pub fn total(&self) -> usize {
        self.accounts + self.registry + self.market + self.governance
    }

    /// `(family, count)` in batch order.
    pub fn parts(&self) -> [(Family, usize); 4] {
        [
            (Family::Accounts, self.accounts),
            (Family::Registry, self.registry),
            (Family::Market, self.market),
            (Family::Governance, self.governance),
        ]
    }
}

/// A mixed batch: the state before it and its transactions, every family in a run of its
/// own (the prover proves runs of one family in chunks of that family's circuit). Ballots
/// carry real proofs if `ballot_keys` is given, so the verifier's full check passes.
pub fn mixed_batch(mix: Mix, ballot_keys: Option<BallotKeys>) -> (State, Vec<Transaction>) {
    let capacity = [mix.accounts, mix.registry, mix.market, mix.governance]
        .into_iter()
        .max()
        .unwrap_or(1);
    let mut w = Workload::new(capacity);
    if let Some(keys) = ballot_keys {
        w = w.with_ballot_proofs(keys);
    }
    for (family, count) in mix.parts() {
        w.make_family(family, count);
    }
    (w.start, w.txs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_applies_and_every_family_chunk_reaches_the_native_root() {
        for family in Family::ALL {
            let slots = kinds_of(family).len() + 1;
            let mut w = Workload::new(slots);
            let txs = w.make_family(family, slots);
            assert!(txs.iter().all(|tx| Family::of(tx) == family));
            // `chunk` asserts the witness reaches the city's root.
            let (witness, _) = w.chunk(family, slots);
            assert_eq!(witness.slots.len(), slots);
        }
        let kinds: Vec<&str> = Family::ALL.into_iter().flat_map(kinds_of).collect();
        assert_eq!(kinds.len(), KINDS.len(), "every kind belongs to a family");
    }

    #[test]
    fn a_mixed_batch_replays_in_family_runs() {
        let mix = Mix {
            accounts: 3,
            registry: 2,
            market: 1,
            governance: 2,
        };
        let (mut state, txs) = mixed_batch(mix, None);
        assert_eq!(txs.len(), mix.total());
        let runs = circuits::chunk::family::runs(&txs);
        assert_eq!(
            runs.iter().map(|r| (r.0, r.2 - r.1)).collect::<Vec<_>>(),
            mix.parts().to_vec()
        );
        for tx in &txs {
            state.apply(tx, NOW).expect("the batch replays");
        }
    }
}
