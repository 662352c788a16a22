//! The rollup's state: eight sparse Merkle trees, seven counters and one root.
//!
//! # Layout, and why
//!
//! | tree        | depth | leaf position            | record            |
//! |-------------|-------|--------------------------|-------------------|
//! | accounts    | 24    | account id               | [`Account`] (with its [`crate::records::Rider`] record) |
//! | meters      | 20    | meter id                 | [`Meter`]         |
//! | orders      | 32    | order id (append)        | [`Order`]         |
//! | fleet       | 32    | log position (append)    | [`FleetEntry`]    |
//! | voters      | 24    | registration (append)    | commitment        |
//! | proposals   | 16    | proposal id (append)     | [`Proposal`]      |
//! | ballots     | 64    | nullifier's low 64 bits  | [`BallotRecord`]  |
//! | tallies     | 28    | proposal · 2^12 + slot   | [`Tally`]         |
//!
//! Depths are in bits of a position; every tree has arity 4 ([`crate::merkle`]), so a tree of
//! depth `d` has `d / 2` levels.
//!
//! The state root is `Poseidon_t5(STATE, eight tree roots, three packed counter words)`:
//! three width-5 permutations. Several trees rather than one keyed tree, because a transaction then pays
//! only for the depth of the trees it touches (a tap touches two 12-level account paths, not
//! two paths of the deepest tree), and because the root over the trees is flat: a chunk
//! circuit carries the eight roots and counters from slot to slot and hashes them into the
//! state root only at the chunk's two ends. Appends go at the tree's counter, so "append
//! only" is "the leaf at the counter was empty". Rider records sit in account leaves and
//! transit operators' fare tables and delegate ids in account owner records, so that the
//! common transactions touch as few leaves as possible (leaves touched per kind:
//! [`crate::rules`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::constants::*;
use crate::hash::{pack, poseidon_t5, tag, Fp};
use crate::merkle::{MerkleError, MerklePath, MerkleTree};
use crate::records::*;
use crate::tx::{AccountId, MeterId, OrderId, ProposalId};

/// The rules' parameters, fixed in genesis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Seconds after a journey's first paid tap during which a tap is a transfer (inclusive).
    pub transfer_window: u64,
    /// Most transfers in one journey.
    pub max_transfers: u64,
    /// Most a transfer discounts, cents, before the rider's concession scales it.
    pub transfer_discount_cap: u64,
    /// Seconds in a fare-cap period, counted from its first tap.
    pub cap_period: u64,
    /// Most a rider is charged in one cap period, cents.
    pub fare_cap: u64,
    /// Seconds a tap may be older than the batch that carries it: a tap's time lies in
    /// `[now - max_tap_delay, now]`, so nobody backdates a ride into a transfer window or a
    /// cap period by more than this.
    pub max_tap_delay: u64,
}

/// The largest value of a genesis duration (transfer window, cap period, tap delay), plus
/// one: below 2^40 seconds (about 35,000 years), so every sum of a time and a duration that
/// the circuits range-check stays below 2^64 and every transaction the rules accept can be
/// proven.
pub const MAX_DURATION: u64 = 1 << 40;

/// A genesis parameter outside what the rules and circuits allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("genesis parameter {name} = {value} must be {bound}")]
pub struct ParamsError {
    /// The parameter.
    pub name: &'static str,
    /// Its value.
    pub value: u64,
    /// What it must be.
    pub bound: &'static str,
}

impl Params {
    /// Checks every parameter against the bounds the circuits' range checks allow.
    pub fn check(&self) -> Result<(), ParamsError> {
        for (name, value) in [
            ("transfer_window", self.transfer_window),
            ("cap_period", self.cap_period),
            ("max_tap_delay", self.max_tap_delay),
        ] {
            if value >= MAX_DURATION {
                return Err(ParamsError {
                    name,
                    value,
                    bound: "below 2^40 seconds",
                });
            }
        }
        Ok(())
    }
}

impl Default for Params {
    /// The demo city's rules: 2 h transfer window, 2 transfers, discount up to $2.90,
    /// a $34 cap per 7 days, taps at most 15 minutes older than their batch.
    fn default() -> Self {
        Params {
            transfer_window: 2 * 3600,
            max_transfers: 2,
            transfer_discount_cap: 290,
            cap_period: 7 * 24 * 3600,
            fare_cap: 3400,
            max_tap_delay: 15 * 60,
        }
    }
}

/// How many entries each growing part of the state has: the next free position.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counters {
    /// Accounts opened.
    pub accounts: u64,
    /// Meters registered.
    pub meters: u64,
    /// Orders placed.
    pub orders: u64,
    /// Fleet records filed.
    pub fleet: u64,
    /// Voters registered.
    pub voters: u64,
    /// Proposals opened.
    pub proposals: u64,
    /// Delegates registered.
    pub delegates: u64,
    /// The time of the last batch applied (genesis time before the first): a batch's time
    /// is never before it, so nobody reopens a closed vote or revives an expired order by
    /// backdating a batch.
    pub time: u64,
}

impl Counters {
    /// The three packed words that enter the state root (the third: delegates and time).
    pub fn words(&self) -> [Fp; 3] {
        [
            pack(&[self.accounts, self.meters, self.orders]),
            pack(&[self.fleet, self.voters, self.proposals]),
            pack(&[self.delegates, self.time]),
        ]
    }
}

/// Names the state's trees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TreeId {
    /// Accounts (with rider records).
    Accounts,
    /// Meters.
    Meters,
    /// Orders.
    Orders,
    /// The fleet-record log.
    Fleet,
    /// Voter commitments.
    Voters,
    /// Proposals.
    Proposals,
    /// Ballots by nullifier.
    Ballots,
    /// Tallies.
    Tallies,
}

impl TreeId {
    /// All trees, in the order their roots enter the state root.
    pub const ALL: [TreeId; 8] = [
        TreeId::Accounts,
        TreeId::Meters,
        TreeId::Orders,
        TreeId::Fleet,
        TreeId::Voters,
        TreeId::Proposals,
        TreeId::Ballots,
        TreeId::Tallies,
    ];

    /// The tree's depth.
    pub fn depth(self) -> usize {
        match self {
            TreeId::Accounts => ACCOUNTS_DEPTH,
            TreeId::Meters => METERS_DEPTH,
            TreeId::Orders => ORDERS_DEPTH,
            TreeId::Fleet => FLEET_DEPTH,
            TreeId::Voters => VOTERS_DEPTH,
            TreeId::Proposals => PROPOSALS_DEPTH,
            TreeId::Ballots => NULLIFIERS_DEPTH,
            TreeId::Tallies => TALLIES_DEPTH,
        }
    }

    /// Lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            TreeId::Accounts => "accounts",
            TreeId::Meters => "meters",
            TreeId::Orders => "orders",
            TreeId::Fleet => "fleet",
            TreeId::Voters => "voters",
            TreeId::Proposals => "proposals",
            TreeId::Ballots => "ballots",
            TreeId::Tallies => "tallies",
        }
    }

    fn position(self) -> usize {
        TreeId::ALL.iter().position(|t| *t == self).expect("listed")
    }
}

/// The preimage of a state root: every tree root and the counters. With it, a leaf's
/// inclusion is checked against the state root alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateHeader {
    /// Tree roots in [`TreeId::ALL`] order.
    pub roots: [Fp; 8],
    /// The counters.
    pub counters: Counters,
}

impl StateHeader {
    /// `Poseidon_t5(STATE, roots, counter words)` (width 5, rate 4: three permutations).
    pub fn root(&self) -> Fp {
        let r = &self.roots;
        let [c0, c1, c2] = self.counters.words();
        poseidon_t5([
            tag(domain::STATE),
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            c0,
            c1,
            c2,
        ])
    }

    /// The root of one tree.
    pub fn tree_root(&self, tree: TreeId) -> Fp {
        self.roots[tree.position()]
    }
}

/// Why an inclusion proof fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InclusionError {
    /// The header does not hash to the state root.
    #[error("the state header hashes to {computed}, not to the state root {expected}")]
    HeaderMismatch {
        /// The state root checked against (hex).
        expected: String,
        /// What the header hashes to (hex).
        computed: String,
    },
    /// The leaf is not in the tree.
    #[error("the {tree} leaf is not in the tree: {source}")]
    Path {
        /// The tree.
        tree: &'static str,
        /// What failed.
        source: MerkleError,
    },
}

/// Proof that a leaf is in the state with a given root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inclusion {
    /// The state root's preimage.
    pub header: StateHeader,
    /// The tree.
    pub tree: TreeId,
    /// The leaf value.
    pub leaf: Fp,
    /// Its path in the tree.
    pub path: MerklePath,
}

impl Inclusion {
    /// Checks the leaf against `state_root`.
    pub fn verify(&self, state_root: Fp) -> Result<(), InclusionError> {
        let computed = self.header.root();
        if computed != state_root {
            return Err(InclusionError::HeaderMismatch {
                expected: crate::hash::to_hex(&state_root),
                computed: crate::hash::to_hex(&computed),
            });
        }
        self.path
            .verify(
                self.tree.depth(),
                self.leaf,
                self.header.tree_root(self.tree),
            )
            .map_err(|source| InclusionError::Path {
                tree: self.tree.name(),
                source,
            })
    }
}

/// Records of one tree, with the tree over their leaves.
#[derive(Clone, Debug)]
pub struct Table<R: Leaf> {
    records: HashMap<u64, R>,
    tree: MerkleTree,
}

impl<R: Leaf> Table<R> {
    fn new(depth: usize) -> Self {
        Table {
            records: HashMap::new(),
            tree: MerkleTree::new(depth, R::default().leaf()),
        }
    }

    /// The record at `index` (the empty record if none).
    pub fn get(&self, index: u64) -> R {
        self.records.get(&index).cloned().unwrap_or_default()
    }

    fn set(&mut self, index: u64, record: R) {
        self.tree.set(index, record.leaf());
        if record == R::default() {
            self.records.remove(&index);
        } else {
            self.records.insert(index, record);
        }
    }

    /// The tree.
    pub fn tree(&self) -> &MerkleTree {
        &self.tree
    }

    /// Every non-empty record, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&u64, &R)> {
        self.records.iter()
    }
}

/// One leaf write of a transaction: which leaf, and its new record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Write {
    Account(AccountId, Account),
    Meter(MeterId, Meter),
    Order(OrderId, Order),
    Fleet(u64, FleetEntry),
    Voter(u64, VoterLeaf),
    Proposal(ProposalId, Proposal),
    Ballot(u64, BallotRecord),
    Tally(u64, Tally),
}

impl Write {
    /// The tree and position written.
    pub fn target(&self) -> (TreeId, u64) {
        match self {
            Write::Account(i, _) => (TreeId::Accounts, *i),
            Write::Meter(i, _) => (TreeId::Meters, *i),
            Write::Order(i, _) => (TreeId::Orders, *i),
            Write::Fleet(i, _) => (TreeId::Fleet, *i),
            Write::Voter(i, _) => (TreeId::Voters, *i),
            Write::Proposal(i, _) => (TreeId::Proposals, *i),
            Write::Ballot(i, _) => (TreeId::Ballots, *i),
            Write::Tally(i, _) => (TreeId::Tallies, *i),
        }
    }

    /// The three words under the leaf's tag (an account's: none; zeros).
    pub fn words(&self) -> [Fp; 3] {
        match self {
            Write::Account(..) => [Fp::zero(); 3],
            Write::Meter(_, r) => r.words(),
            Write::Order(_, r) => r.words(),
            Write::Fleet(_, r) => r.words(),
            Write::Voter(_, r) => r.words(),
            Write::Proposal(_, r) => r.words(),
            Write::Ballot(_, r) => r.words(),
            Write::Tally(_, r) => r.words(),
        }
    }

    /// The new leaf value.
    pub fn leaf(&self) -> Fp {
        match self {
            Write::Account(_, r) => r.leaf(),
            Write::Meter(_, r) => r.leaf(),
            Write::Order(_, r) => r.leaf(),
            Write::Fleet(_, r) => r.leaf(),
            Write::Voter(_, r) => r.leaf(),
            Write::Proposal(_, r) => r.leaf(),
            Write::Ballot(_, r) => r.leaf(),
            Write::Tally(_, r) => r.leaf(),
        }
    }
}

/// What a transaction did, for receipts, reports and the order book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Event {
    Transferred {
        from: AccountId,
        to: AccountId,
        amount: u64,
    },
    AccountOpened {
        account: AccountId,
    },
    MeterRegistered {
        meter: MeterId,
        owner: AccountId,
    },
    Minted {
        meter: MeterId,
        owner: AccountId,
        energy: u64,
    },
    OrderPlaced {
        order: OrderId,
        owner: AccountId,
        side: Side,
        amount: u64,
        price: u64,
        locked: u64,
    },
    OrderCancelled {
        order: OrderId,
        released: u64,
    },
    Traded {
        maker: OrderId,
        taker: OrderId,
        buyer: AccountId,
        seller: AccountId,
        quantity: u64,
        price: u64,
        payment: u64,
        refund: u64,
    },
    OperatorRegistered {
        operator: AccountId,
    },
    ConcessionSet {
        rider: AccountId,
        percent: u64,
    },
    Fare {
        rider: AccountId,
        operator: AccountId,
        /// The fare class's fare after concession, before transfer discount and cap.
        fare: u64,
        /// What the rider paid.
        charged: u64,
        transfer: bool,
        /// The cap reduced the charge.
        capped: bool,
    },
    FleetFiled {
        position: u64,
        operator: AccountId,
        vehicle: u64,
    },
    VoterRegistered {
        position: u64,
    },
    DelegateRegistered {
        account: AccountId,
        delegate: u64,
    },
    ProposalCreated {
        proposal: ProposalId,
    },
    BallotCast {
        proposal: ProposalId,
        slot: u64,
        /// The slot of the ballot this one replaced, if any.
        replaced: Option<u64>,
    },
    DelegateVoted {
        proposal: ProposalId,
        delegate: u64,
        option: u64,
    },
}

/// A checked transaction's effect: its leaf writes in order, the counters after it and its
/// event. Computing it reads the state only; [`State::commit`] applies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Leaf writes, in order; a leaf is written at most once.
    pub writes: Vec<Write>,
    /// Counters after the transaction.
    pub counters: Counters,
    /// What happened.
    pub event: Event,
}

/// One leaf a transaction touched, as a chunk circuit witnesses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchTrace {
    /// The record before the write.
    pub old: Write,
    /// The record after it (equal to `old` for a read).
    pub new: Write,
    /// The leaf's path just before the write.
    pub path: MerklePath,
}

/// The whole state.
#[derive(Clone, Debug)]
pub struct State {
    pub(crate) params: Params,
    pub(crate) chain: Fp,
    pub(crate) counters: Counters,
    pub(crate) accounts: Table<Account>,
    pub(crate) meters: Table<Meter>,
    pub(crate) orders: Table<Order>,
    pub(crate) fleet: Table<FleetEntry>,
    pub(crate) voters: Table<VoterLeaf>,
    pub(crate) proposals: Table<Proposal>,
    pub(crate) ballots: Table<BallotRecord>,
    pub(crate) tallies: Table<Tally>,
}

impl State {
    /// An empty state under `params` of the deployment `chain` (the genesis hash, which
    /// every signed message includes), at time `time` (genesis then opens accounts:
    /// [`crate::genesis`]).
    pub fn empty(params: Params, chain: Fp, time: u64) -> Self {
        State {
            params,
            chain,
            counters: Counters {
                time,
                ..Counters::default()
            },
            accounts: Table::new(ACCOUNTS_DEPTH),
            meters: Table::new(METERS_DEPTH),
            orders: Table::new(ORDERS_DEPTH),
            fleet: Table::new(FLEET_DEPTH),
            voters: Table::new(VOTERS_DEPTH),
            proposals: Table::new(PROPOSALS_DEPTH),
            ballots: Table::new(NULLIFIERS_DEPTH),
            tallies: Table::new(TALLIES_DEPTH),
        }
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The deployment's identity: the genesis hash every signed message includes.
    pub fn chain(&self) -> Fp {
        self.chain
    }

    /// The time of the last batch applied (genesis time before the first).
    pub fn time(&self) -> u64 {
        self.counters.time
    }

    /// Moves the state's time to the batch time `now`, which must not be before it (every
    /// transaction does this as part of its plan; a chunk circuit does it even for a chunk of
    /// padding only).
    pub fn advance_time(&mut self, now: u64) -> Result<(), crate::error::TxError> {
        self.check_time(now)?;
        self.counters.time = now;
        Ok(())
    }

    /// Refuses a batch time before the state's (the last batch's, or genesis time).
    pub(crate) fn check_time(&self, now: u64) -> Result<(), crate::error::TxError> {
        if now < self.counters.time {
            return Err(crate::error::TxError::BatchTimeBackwards {
                last: self.counters.time,
                now,
            });
        }
        Ok(())
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn tree(&self, tree: TreeId) -> &MerkleTree {
        match tree {
            TreeId::Accounts => self.accounts.tree(),
            TreeId::Meters => self.meters.tree(),
            TreeId::Orders => self.orders.tree(),
            TreeId::Fleet => self.fleet.tree(),
            TreeId::Voters => self.voters.tree(),
            TreeId::Proposals => self.proposals.tree(),
            TreeId::Ballots => self.ballots.tree(),
            TreeId::Tallies => self.tallies.tree(),
        }
    }

    /// Every tree root and the counters.
    pub fn header(&self) -> StateHeader {
        StateHeader {
            roots: TreeId::ALL.map(|t| self.tree(t).root()),
            counters: self.counters.clone(),
        }
    }

    /// The state root.
    pub fn root(&self) -> Fp {
        self.header().root()
    }

    /// The inclusion proof of the leaf at `index` of `tree` (empty leaves too).
    pub fn inclusion(&self, tree: TreeId, index: u64) -> Inclusion {
        let t = self.tree(tree);
        Inclusion {
            header: self.header(),
            tree,
            leaf: t.leaf(index),
            path: t.path(index),
        }
    }

    /// The Merkle path of a leaf, as it is now (what a circuit witnesses before a write).
    pub fn path(&self, tree: TreeId, index: u64) -> MerklePath {
        self.tree(tree).path(index)
    }

    /// The leaf value at a position.
    pub fn leaf(&self, tree: TreeId, index: u64) -> Fp {
        self.tree(tree).leaf(index)
    }

    /// An account, if it exists.
    pub fn account(&self, id: AccountId) -> Option<Account> {
        (id < self.counters.accounts).then(|| self.accounts.get(id))
    }

    /// A meter, if registered.
    pub fn meter(&self, id: MeterId) -> Option<Meter> {
        (id < self.counters.meters).then(|| self.meters.get(id))
    }

    /// An order, if placed.
    pub fn order(&self, id: OrderId) -> Option<Order> {
        (id < self.counters.orders).then(|| self.orders.get(id))
    }

    /// A proposal, if opened.
    pub fn proposal(&self, id: ProposalId) -> Option<Proposal> {
        (id < self.counters.proposals).then(|| self.proposals.get(id))
    }

    /// A fleet-log entry, if filed.
    pub fn fleet_entry(&self, position: u64) -> Option<FleetEntry> {
        (position < self.counters.fleet).then(|| self.fleet.get(position))
    }

    /// The voter commitment at a position, if registered.
    pub fn voter(&self, position: u64) -> Option<Fp> {
        (position < self.counters.voters).then(|| self.voters.get(position).0)
    }

    /// The voter tree's current root (what a new proposal snapshots).
    pub fn voter_root(&self) -> Fp {
        self.voters.tree().root()
    }

    /// The path of the voter commitment at `position`: what a voter proves a ballot with.
    pub fn voter_path(&self, position: u64) -> MerklePath {
        self.voters.tree().path(position)
    }

    /// The current ballot of a nullifier, if any.
    pub fn ballot(&self, nullifier: Fp) -> Option<BallotRecord> {
        let record = self.ballots.get(crate::hash::low_u64(nullifier));
        (record.nullifier == nullifier && record != BallotRecord::default()).then_some(record)
    }

    /// The sequence number a new ballot of `nullifier` must carry at least to count: one
    /// past its current ballot's, or 0 for a first ballot.
    pub fn next_ballot_seq(&self, nullifier: Fp) -> u64 {
        self.ballot(nullifier)
            .map_or(0, |current| current.seq.saturating_add(1))
    }

    /// A proposal's tally slot.
    pub fn tally(&self, proposal: ProposalId, slot: u64) -> Tally {
        self.tallies.get(tally_key(proposal, slot))
    }

    /// All open orders, by id.
    pub fn open_orders(&self) -> Vec<(OrderId, Order)> {
        let mut orders: Vec<_> = self
            .orders
            .iter()
            .filter(|(_, o)| o.status == OrderStatus::Open)
            .map(|(id, o)| (*id, o.clone()))
            .collect();
        orders.sort_by_key(|(id, _)| *id);
        orders
    }

    /// Applies a checked plan, returning for each write the path of its leaf just before
    /// the write (what a circuit witnesses).
    pub fn commit_traced(&mut self, plan: Plan) -> (Event, Vec<MerklePath>) {
        let mut paths = Vec::with_capacity(plan.writes.len());
        for write in plan.writes {
            let (tree, index) = write.target();
            paths.push(self.path(tree, index));
            self.write(write);
        }
        self.counters = plan.counters;
        (plan.event, paths)
    }

    /// The record at a leaf, as a write of it.
    pub fn record(&self, tree: TreeId, index: u64) -> Write {
        match tree {
            TreeId::Accounts => Write::Account(index, self.accounts.get(index)),
            TreeId::Meters => Write::Meter(index, self.meters.get(index)),
            TreeId::Orders => Write::Order(index, self.orders.get(index)),
            TreeId::Fleet => Write::Fleet(index, self.fleet.get(index)),
            TreeId::Voters => Write::Voter(index, self.voters.get(index)),
            TreeId::Proposals => Write::Proposal(index, self.proposals.get(index)),
            TreeId::Ballots => Write::Ballot(index, self.ballots.get(index)),
            TreeId::Tallies => Write::Tally(index, self.tallies.get(index)),
        }
    }

    /// Applies a checked plan leaf by leaf in the order of `targets` (a chunk circuit's
    /// touches; `None` for a touch the transaction leaves unused), returning for each target
    /// its record before and after and its path just before the write. A target the plan
    /// does not write is read: its record is unchanged. Every write that changes a leaf
    /// must be a target: if one is not, nothing is applied and it is returned as the error.
    pub fn commit_touches(
        &mut self,
        plan: Plan,
        targets: &[Option<(TreeId, u64)>],
    ) -> Result<Vec<Option<TouchTrace>>, Box<Write>> {
        if let Some(stray) = plan.writes.iter().find(|w| {
            !targets.contains(&Some(w.target())) && **w != self.record(w.target().0, w.target().1)
        }) {
            return Err(Box::new(stray.clone()));
        }
        let mut traces = Vec::with_capacity(targets.len());
        for target in targets {
            let Some((tree, index)) = *target else {
                traces.push(None);
                continue;
            };
            let old = self.record(tree, index);
            let new = plan
                .writes
                .iter()
                .find(|w| w.target() == (tree, index))
                .cloned()
                .unwrap_or_else(|| old.clone());
            let path = self.path(tree, index);
            self.write(new.clone());
            traces.push(Some(TouchTrace { old, new, path }));
        }
        self.counters = plan.counters;
        Ok(traces)
    }

    /// Applies a checked plan.
    pub fn commit(&mut self, plan: Plan) -> Event {
        for write in plan.writes {
            self.write(write);
        }
        self.counters = plan.counters;
        plan.event
    }

    fn write(&mut self, write: Write) {
        {
            match write {
                Write::Account(i, r) => self.accounts.set(i, r),
                Write::Meter(i, r) => self.meters.set(i, r),
                Write::Order(i, r) => self.orders.set(i, r),
                Write::Fleet(i, r) => self.fleet.set(i, r),
                Write::Voter(i, r) => self.voters.set(i, r),
                Write::Proposal(i, r) => self.proposals.set(i, r),
                Write::Ballot(i, r) => self.ballots.set(i, r),
                Write::Tally(i, r) => self.tallies.set(i, r),
            }
        }
    }

    /// Checks `tx` at batch time `now` and applies it; a refused transaction changes nothing.
    pub fn apply(
        &mut self,
        tx: &crate::tx::Transaction,
        now: u64,
    ) -> Result<Event, crate::error::TxError> {
        let plan = self.plan(tx, now)?;
        Ok(self.commit(plan))
    }
}

/// The tallies-tree position of a proposal's slot.
pub fn tally_key(proposal: ProposalId, slot: u64) -> u64 {
    (proposal << TALLY_SLOT_BITS) | slot
}

mod image;
pub use image::{ImageError, StateImage};
