//! The demo city: a genesis with deterministic keys, a [`City`] that builds signed
//! transactions with the right nonces, and the scripted scenario of the README's main command.
//! Tests and benchmarks build their workloads with it too.

use std::collections::BTreeMap;

use crate::constants::*;
use crate::error::TxError;
use crate::genesis::{demo, demo_key, Genesis, DEMO_AUTHORITIES};
use crate::hash::{hash_bytes, Fp};
use crate::keys::{SecretKey, Signature};
use crate::matcher;
use crate::records::{FleetKind, Side};
use crate::state::{Event, State};
use crate::tx::*;
use crate::voter::{Vote, VoterSecret};

/// A city under test or demonstration: its state and every key in it.
pub struct City {
    /// The genesis it started from.
    pub genesis: Genesis,
    /// The current state.
    pub state: State,
    keys: BTreeMap<AccountId, SecretKey>,
    meter_keys: BTreeMap<MeterId, SecretKey>,
}

/// The demo voter secrets, derived from the voter's number (deterministic, demo only).
pub fn demo_voter(i: u64) -> VoterSecret {
    let seed = |what: &str| hash_bytes(format!("city-rollup demo voter {i} {what}").as_bytes());
    VoterSecret {
        nullifier_key: seed("nullifier key"),
        trapdoor: seed("trapdoor"),
    }
}

impl City {
    /// The demo genesis with `residents` residents.
    pub fn new(residents: usize) -> Self {
        Self::from_genesis(demo(residents))
    }

    /// A city from a demo genesis (its keys must be [`demo_key`]s of its names).
    pub fn from_genesis(genesis: Genesis) -> Self {
        let mut keys = BTreeMap::new();
        for (i, name) in DEMO_AUTHORITIES.iter().enumerate() {
            keys.insert(i as u64, demo_key(name));
        }
        for (i, account) in genesis.accounts.iter().enumerate() {
            keys.insert(i as u64 + AUTHORITY_COUNT, demo_key(&account.name));
        }
        City {
            state: genesis.state(),
            genesis,
            keys,
            meter_keys: BTreeMap::new(),
        }
    }

    /// The account of a named genesis account (`"resident-3"`, `"operator-bus"`).
    pub fn id(&self, name: &str) -> AccountId {
        self.genesis
            .account_index(name)
            .unwrap_or_else(|| panic!("no demo account {name}"))
    }

    /// Resident `i`'s account.
    pub fn resident(&self, i: usize) -> AccountId {
        self.id(&format!("resident-{i}"))
    }

    /// The key of an account.
    pub fn key(&self, account: AccountId) -> &SecretKey {
        &self.keys[&account]
    }

    /// Remembers the key of a new account or meter.
    pub fn add_account_key(&mut self, account: AccountId, key: SecretKey) {
        self.keys.insert(account, key);
    }

    /// Remembers a meter's key.
    pub fn add_meter_key(&mut self, meter: MeterId, key: SecretKey) {
        self.meter_keys.insert(meter, key);
    }

    /// Signs a transaction with its signer's key. Ballots, and transactions of signers whose
    /// key the city does not know, are returned unsigned.
    pub fn sign(&self, tx: Transaction) -> Transaction {
        let key = match tx.signer() {
            Signer::Account(id) => self.keys.get(&id),
            Signer::Meter(id) => self.meter_keys.get(&id),
            Signer::Anonymous => None,
        };
        match key {
            Some(key) => tx.signed(key, self.state.chain()),
            None => tx,
        }
    }

    /// The current nonce of an account.
    pub fn nonce(&self, account: AccountId) -> u64 {
        self.state.account(account).map_or(0, |a| a.nonce)
    }

    /// Applies a transaction at `now`.
    pub fn apply(&mut self, tx: &Transaction, now: u64) -> Result<Event, TxError> {
        self.state.apply(tx, now)
    }

    /// A signed transfer.
    pub fn transfer(&self, from: AccountId, to: AccountId, amount: u64) -> Transaction {
        self.sign(Transaction::Transfer(Transfer {
            from,
            to,
            amount,
            nonce: self.nonce(from),
            signature: Signature::default(),
        }))
    }

    /// A signed account opening for `key`.
    pub fn open_account(&self, from: AccountId, key: &SecretKey) -> Transaction {
        self.sign(Transaction::OpenAccount(OpenAccount {
            from,
            public_key: key.public_key(),
            nonce: self.nonce(from),
            signature: Signature::default(),
        }))
    }

    /// The grid operator registers a meter for `owner`; returns the transaction and the key
    /// the meter will use (remember it with [`City::add_meter_key`] once applied).
    pub fn register_meter(&self, owner: AccountId, seed: &str) -> (Transaction, SecretKey) {
        let meter_key = SecretKey::from_seed(format!("city-rollup demo meter {seed}").as_bytes());
        let tx = self.sign(Transaction::RegisterMeter(RegisterMeter {
            from: GRID_OPERATOR,
            meter_key: meter_key.public_key(),
            owner,
            nonce: self.nonce(GRID_OPERATOR),
            signature: Signature::default(),
        }));
        (tx, meter_key)
    }

    /// A meter's signed reading.
    pub fn reading(&self, meter: MeterId, cumulative: u64) -> Transaction {
        let nonce = self.state.meter(meter).map_or(0, |m| m.nonce);
        self.sign(Transaction::MeterReading(MeterReading {
            meter,
            cumulative,
            nonce,
            signature: Signature::default(),
        }))
    }

    /// A signed limit order.
    pub fn order(
        &self,
        from: AccountId,
        side: Side,
        amount: u64,
        price: u64,
        expiry: u64,
    ) -> Transaction {
        self.sign(Transaction::PlaceOrder(PlaceOrder {
            from,
            side,
            amount,
            price,
            expiry,
            nonce: self.nonce(from),
            signature: Signature::default(),
        }))
    }

    /// A signed cancellation.
    pub fn cancel(&self, from: AccountId, order: OrderId) -> Transaction {
        self.sign(Transaction::CancelOrder(CancelOrder {
            from,
            order,
            nonce: self.nonce(from),
            signature: Signature::default(),
        }))
    }

    /// A fill signed by the market operator.
    pub fn fill(&self, maker: OrderId, taker: OrderId, quantity: u64) -> Transaction {
        self.sign(matcher::fill_tx(maker, taker, quantity, self.nonce(MARKET)))
    }

    /// Places an order and runs the matcher on it, applying every fill: returns each applied
    /// transaction (the order, then its fills) with its event.
    pub fn place_and_match(
        &mut self,
        tx: &Transaction,
        now: u64,
    ) -> Result<Vec<(Transaction, Event)>, TxError> {
        let placed = self.apply(tx, now)?;
        let taker = match placed {
            Event::OrderPlaced { order, .. } => Some(order),
            _ => None,
        };
        let mut applied = vec![(tx.clone(), placed)];
        while let Some((maker, quantity)) =
            taker.and_then(|t| matcher::next_fill(&self.state, t, now))
        {
            let fill = self.fill(maker, taker.expect("set"), quantity);
            let event = self.apply(&fill, now)?;
            applied.push((fill, event));
        }
        Ok(applied)
    }

    /// The transit authority registers an operator's fare table.
    pub fn register_operator(
        &self,
        operator: AccountId,
        fares: [u64; FARE_CLASSES],
    ) -> Transaction {
        self.sign(Transaction::RegisterOperator(RegisterOperator {
            from: TRANSIT_AUTHORITY,
            operator,
            fares,
            nonce: self.nonce(TRANSIT_AUTHORITY),
            signature: Signature::default(),
        }))
    }

    /// The transit authority sets a concession.
    pub fn concession(&self, rider: AccountId, percent: u64) -> Transaction {
        self.sign(Transaction::SetConcession(SetConcession {
            from: TRANSIT_AUTHORITY,
            rider,
            percent,
            nonce: self.nonce(TRANSIT_AUTHORITY),
            signature: Signature::default(),
        }))
    }

    /// A rider's signed tap.
    pub fn tap(
        &self,
        rider: AccountId,
        operator: AccountId,
        fare_class: u64,
        time: u64,
    ) -> Transaction {
        self.sign(Transaction::Tap(Tap {
            from: rider,
            operator,
            fare_class,
            time,
            nonce: self.nonce(rider),
            signature: Signature::default(),
        }))
    }

    /// An operator's signed fleet record for a document.
    pub fn fleet_record(
        &self,
        operator: AccountId,
        vehicle: u64,
        kind: FleetKind,
        document: &[u8],
    ) -> Transaction {
        self.sign(Transaction::FleetRecord(FleetRecord {
            from: operator,
            vehicle,
            kind,
            record_hash: hash_bytes(document),
            nonce: self.nonce(operator),
            signature: Signature::default(),
        }))
    }

    /// The registrar registers a commitment.
    pub fn register_voter(&self, commitment: Fp) -> Transaction {
        self.sign(Transaction::RegisterVoter(RegisterVoter {
            from: REGISTRAR,
            commitment,
            nonce: self.nonce(REGISTRAR),
            signature: Signature::default(),
        }))
    }

    /// An account opts in as a delegate.
    pub fn register_delegate(&self, account: AccountId) -> Transaction {
        self.sign(Transaction::RegisterDelegate(RegisterDelegate {
            from: account,
            nonce: self.nonce(account),
            signature: Signature::default(),
        }))
    }

    /// The council opens a proposal.
    pub fn proposal(&self, title: &str, options: &[&str], start: u64, end: u64) -> Transaction {
        self.sign(Transaction::CreateProposal(CreateProposal {
            from: COUNCIL,
            title: title.into(),
            options: options.iter().map(|o| o.to_string()).collect(),
            start,
            end,
            nonce: self.nonce(COUNCIL),
            signature: Signature::default(),
        }))
    }

    /// A ballot of `voter` (without its proof: the ballot circuit makes that), numbered one
    /// past the voter's current ballot on `proposal` (0 for a first ballot), so it replaces it.
    pub fn ballot(&self, voter: &VoterSecret, proposal: ProposalId, vote: Vote) -> Transaction {
        let voter_root = self
            .state
            .proposal(proposal)
            .map_or(Fp::zero(), |p| p.voter_root);
        let nullifier = voter.nullifier(proposal);
        Transaction::Ballot(Ballot {
            proposal,
            voter_root,
            nullifier,
            vote,
            seq: self.state.next_ballot_seq(nullifier),
            proof: Vec::new(),
        })
    }

    /// A delegate's signed vote.
    pub fn delegate_vote(
        &self,
        delegate: AccountId,
        proposal: ProposalId,
        option: u64,
    ) -> Transaction {
        self.sign(Transaction::DelegateVote(DelegateVote {
            from: delegate,
            proposal,
            option,
            nonce: self.nonce(delegate),
            signature: Signature::default(),
        }))
    }
}

/// One transaction of the scenario and what became of it.
#[derive(Clone, Debug)]
pub struct Step {
    /// Batch time it was applied at.
    pub time: u64,
    /// The transaction.
    pub tx: Transaction,
    /// Its event, or why it was refused.
    pub outcome: Result<Event, TxError>,
}

/// Sizes of the demo city (the README's main command uses [`ScenarioSize::default`]).
#[derive(Clone, Debug)]
pub struct ScenarioSize {
    /// Residents (at least 45: meters, traders, riders and delegates are drawn from them).
    pub residents: usize,
    /// Smart meters.
    pub meters: usize,
    /// Registered voters.
    pub voters: u64,
    /// Days of transit simulated.
    pub days: u64,
}

impl Default for ScenarioSize {
    fn default() -> Self {
        ScenarioSize {
            residents: 50,
            meters: 10,
            voters: 30,
            days: 7,
        }
    }
}

/// Runs the demo city natively: registrations, meter readings, trading with partial fills,
/// a week of rides with transfers and a fare cap reached, fleet records, and a proposal with
/// direct votes, followers of delegates, a reassignment, an override and delegate votes
/// (one delegate abstains). Every step is applied by the rules; the returned city holds the
/// final state. A step refused by the rules is kept in the log with its error (the script
/// contains a few on purpose: a non-increasing meter reading and a tap back in time).
pub fn run_scenario(size: &ScenarioSize) -> (City, Vec<Step>) {
    assert!(
        size.residents >= 45,
        "the scenario needs at least 45 residents"
    );
    let mut city = City::new(size.residents);
    let mut log = Vec::new();
    fn run(city: &mut City, log: &mut Vec<Step>, time: u64, tx: Transaction) {
        let outcome = city.apply(&tx, time);
        log.push(Step { time, tx, outcome });
    }
    let hour = 3600;
    let day = 24 * hour;
    // Set-up at 05:00 on the first day, trading at 06:00, commutes from 08:00.
    let t0 = city.genesis.time + 5 * hour;

    // Authorities set the city up.
    let (metro, bus, tram) = (
        city.id("operator-metro"),
        city.id("operator-bus"),
        city.id("operator-tram"),
    );
    for (op, fares) in [
        (metro, [290, 400, 350, 600]),
        (bus, [275, 275, 200, 500]),
        (tram, [250, 300, 250, 450]),
    ] {
        let tx = city.register_operator(op, fares);
        run(&mut city, &mut log, t0, tx);
    }
    for (i, percent) in [(30, 50), (31, 50), (32, 30)] {
        let tx = city.concession(city.resident(i), percent);
        run(&mut city, &mut log, t0, tx);
    }
    for m in 0..size.meters {
        let (tx, key) = city.register_meter(city.resident(m), &format!("{m}"));
        run(&mut city, &mut log, t0, tx);
        city.add_meter_key(m as u64, key);
    }
    for v in 0..size.voters {
        let tx = city.register_voter(demo_voter(v).commitment());
        run(&mut city, &mut log, t0, tx);
    }
    let delegates = [40, 41, 42].map(|i| city.resident(i));
    for d in delegates {
        let tx = city.register_delegate(d);
        run(&mut city, &mut log, t0, tx);
    }
    let tx = city.proposal(
        "Extend tram line 4 to the harbour?",
        &["yes", "no", "defer"],
        t0 + hour,
        t0 + 3 * day,
    );
    run(&mut city, &mut log, t0, tx);

    // Energy: meters report exports; sellers and buyers trade with partial fills.
    let t1 = t0 + hour;
    for m in 0..size.meters as u64 {
        let tx = city.reading(m, 6_000 + 500 * m);
        run(&mut city, &mut log, t1, tx);
    }
    let tx = city.reading(0, 6_000); // Not increasing: refused, nothing minted twice.
    run(&mut city, &mut log, t1, tx);
    let trade = |city: &mut City, log: &mut Vec<Step>, tx: Transaction| match city
        .place_and_match(&tx, t1)
    {
        Ok(applied) => log.extend(applied.into_iter().map(|(tx, event)| Step {
            time: t1,
            tx,
            outcome: Ok(event),
        })),
        Err(e) => log.push(Step {
            time: t1,
            tx,
            outcome: Err(e),
        }),
    };
    for m in 0..size.meters {
        let tx = city.order(
            city.resident(m),
            Side::Sell,
            4_000,
            12 + (m as u64 % 5),
            t1 + 2 * day,
        );
        trade(&mut city, &mut log, tx);
    }
    for b in 20..30 {
        let tx = city.order(
            city.resident(b),
            Side::Buy,
            5_500,
            13 + (b as u64 % 6),
            t1 + day,
        );
        trade(&mut city, &mut log, tx);
    }
    if let Some((order, _)) = city
        .state
        .open_orders()
        .into_iter()
        .find(|(_, o)| o.side == Side::Buy)
    {
        let owner = city.state.order(order).map(|o| o.owner).unwrap_or_default();
        let tx = city.cancel(owner, order);
        run(&mut city, &mut log, t1 + hour, tx);
    }

    // Transit, fleet records and the vote, in time order (the batch time never goes back):
    // a week of commutes with transfers (rider 33 rides enough to reach the cap).
    enum Act {
        Tap(u64, u64, u64, u64),
        Fleet(u64, u64, FleetKind, String),
        Ballot(u64, Vote),
        DelegateVote(u64, u64),
    }
    let mut acts: Vec<(u64, Act)> = Vec::new();
    for d in 0..size.days {
        let morning = city.genesis.time + d * day + 8 * hour;
        for r in 30..40 {
            let rider = city.resident(r);
            let journey = [(metro, 1, 0), (bus, 0, 40 * 60), (tram, 2, 95 * 60)];
            let legs = if r % 3 == 0 { 3 } else { 2 };
            for (op, class, offset) in journey.iter().take(legs) {
                let time = morning + offset + r as u64;
                acts.push((time, Act::Tap(rider, *op, *class, time)));
            }
            let evening = morning + 10 * hour + r as u64;
            acts.push((evening, Act::Tap(rider, metro, 3, evening)));
            if r == 33 {
                for extra in 1..4 {
                    let time = evening + extra * 3 * hour;
                    acts.push((time, Act::Tap(rider, bus, 3, time)));
                }
            }
        }
        if d == 0 {
            // Back in time: refused.
            let rider = city.resident(30);
            acts.push((morning + 12 * hour, Act::Tap(rider, bus, 0, morning)));
            for (i, op) in [metro, bus, tram].into_iter().enumerate() {
                for (v, kind) in [(1, FleetKind::Maintenance), (2, FleetKind::Insurance)] {
                    let doc = format!("vehicle {v} of operator {i}: {kind:?} record, day {d}");
                    acts.push((morning + 12 * hour, Act::Fleet(op, v, kind, doc)));
                }
            }
        }
        if d == 1 {
            // Governance, inside the window: direct votes, followers, a reassignment, an
            // override, and delegate votes (delegate 2 never votes: its followers abstain).
            let t = morning + 13 * hour;
            for v in 0..size.voters {
                let vote = match v {
                    0..=13 => Vote::Option(v % 3),
                    _ => Vote::Delegate(v % 3),
                };
                acts.push((t, Act::Ballot(v, vote)));
            }
            acts.push((t + hour, Act::Ballot(15, Vote::Delegate(1)))); // Reassign.
            acts.push((t + hour, Act::Ballot(16, Vote::Option(1)))); // Override.
            acts.push((t + hour, Act::DelegateVote(delegates[0], 0)));
            acts.push((t + hour, Act::DelegateVote(delegates[1], 2)));
            // Changed before the close.
            acts.push((t + 2 * hour, Act::DelegateVote(delegates[1], 1)));
        }
    }
    // Stable: acts at one time keep their order.
    acts.sort_by_key(|(time, _)| *time);
    let mut clock = t1 + hour;
    for (time, act) in acts {
        let tx = match act {
            Act::Tap(rider, op, class, at) => city.tap(rider, op, class, at),
            Act::Fleet(op, v, kind, doc) => city.fleet_record(op, v, kind, doc.as_bytes()),
            Act::Ballot(v, vote) => city.ballot(&demo_voter(v), 0, vote),
            Act::DelegateVote(delegate, option) => city.delegate_vote(delegate, 0, option),
        };
        run(&mut city, &mut log, time, tx);
        clock = clock.max(time);
    }

    // Second readings and residents paying each other.
    let t2 = clock + hour;
    for m in 0..size.meters as u64 {
        let tx = city.reading(m, 9_000 + 700 * m);
        run(&mut city, &mut log, t2, tx);
    }
    for i in 0..10 {
        let tx = city.transfer(city.resident(i), city.resident(i + 10), 150 + 10 * i as u64);
        run(&mut city, &mut log, t2, tx);
    }
    (city, log)
}
