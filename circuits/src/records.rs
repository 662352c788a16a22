//! The records held in the state's trees and how each hashes to its leaf.
//!
//! Small integers are packed three to a field element ([`crate::hash::pack`]) so that a leaf
//! hashes in few Poseidon permutations (a hash of `L` elements costs `ceil(L / 4)`): the
//! circuit pays for every leaf twice (old and new) per touched leaf. Each tree's empty leaf
//! is the hash of its record's `Default` (all zeros), so fresh leaves need no special case.

use serde::{Deserialize, Serialize};

use crate::constants::{domain, FARE_CLASSES};
use crate::hash::{pack, poseidon, poseidon_in, tag, Fp};
use crate::keys::PublicKey;

/// A record that is a leaf of one of the state's trees.
pub trait Leaf: Clone + Default + PartialEq + std::fmt::Debug {
    /// The leaf value committed in the tree.
    fn leaf(&self) -> Fp;
}

/// A record whose leaf is `Poseidon(TAG, w0, w1, w2)`: every leaf but accounts' (four words
/// in the account's domain) and voters' (the commitment itself). One shape for all of them
/// lets a chunk circuit touch a leaf of any of these trees with one gadget whose tag and tree
/// are chosen by the transaction (`chunk::base`): one permutation per leaf (the tag is a
/// cell there, so it stays a word of the message).
pub trait Words: Clone + Default + PartialEq + std::fmt::Debug {
    /// The domain separator of the tree's leaves.
    const TAG: u64;
    /// The three words under the tag.
    fn words(&self) -> [Fp; 3];
}

impl<W: Words> Leaf for W {
    fn leaf(&self) -> Fp {
        let [a, b, c] = self.words();
        poseidon([tag(Self::TAG), a, b, c])
    }
}

/// The slowly changing part of an account: who owns it and what roles it has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The key that signs the account's transactions (`None` only for unused leaves).
    pub public_key: Option<PublicKey>,
    /// The account's delegate id, if it opted in as a delegate.
    pub delegate: Option<u64>,
    /// The account's fare table (fare per fare class, cents), if it is a transit operator.
    pub fares: Option<[u64; FARE_CLASSES]>,
}

impl Owner {
    /// `Poseidon(OWNER, pk.x, pk.y, pack(delegate + 1, is_operator), pack(fare0, fare1),
    /// pack(fare2, fare3))`: three permutations, opened only when a transaction needs the key,
    /// the delegate id or the fares.
    pub fn hash(&self) -> Fp {
        let (x, y) = self
            .public_key
            .map(|pk| pk.coordinates())
            .unwrap_or((Fp::zero(), Fp::zero()));
        let delegate = self.delegate.map_or(0, |d| d + 1);
        let fares = self.fares.unwrap_or_default();
        poseidon([
            tag(domain::OWNER),
            x,
            y,
            pack(&[delegate, u64::from(self.fares.is_some())]),
            pack(&fares[..2]),
            pack(&fares[2..]),
        ])
    }
}

/// A rider's transit record. It lives inside the rider's account leaf rather than in a tree of
/// its own: every tap charges the rider's account anyway, so a tap touches two leaves (rider
/// and operator) instead of three.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rider {
    /// Concession: whole percent off every fare and transfer discount, `0..=100`.
    pub concession: u64,
    /// Time of the first (non-transfer) tap of the current journey; 0 before any.
    pub journey_start: u64,
    /// Transfers taken in the current journey.
    pub transfers: u64,
    /// Start of the current fare-cap period; 0 before any.
    pub cap_start: u64,
    /// Cents charged in the current cap period.
    pub cap_spent: u64,
    /// Time of the last tap; taps must go forward in time.
    pub last_tap: u64,
}

/// An account: keys and roles, nonce, city credits, energy credits and transit record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Key and roles.
    pub owner: Owner,
    /// Number of transactions this account has signed and had applied.
    pub nonce: u64,
    /// City credits, in cents.
    pub balance: u64,
    /// Energy credits, in Wh.
    pub energy: u64,
    /// Transit record.
    pub rider: Rider,
}

impl Leaf for Account {
    /// `Poseidon_ACCOUNT(owner_hash, pack(nonce, balance, energy), pack(journey_start,
    /// cap_start, last_tap), pack(cap_spent, transfers, concession))`, the domain in the
    /// sponge's capacity ([`crate::hash::poseidon_in`]): one permutation, where the tag as a
    /// fifth word took two, and the circuit hashes an account leaf four times a transfer.
    fn leaf(&self) -> Fp {
        let r = &self.rider;
        poseidon_in(
            domain::ACCOUNT,
            [
                self.owner.hash(),
                pack(&[self.nonce, self.balance, self.energy]),
                pack(&[r.journey_start, r.cap_start, r.last_tap]),
                pack(&[r.cap_spent, r.transfers, r.concession]),
            ],
        )
    }
}

/// A smart meter registered by the grid operator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    /// The meter's signing key.
    pub public_key: Option<PublicKey>,
    /// The account credited with the meter's exports.
    pub owner: u64,
    /// The last accepted cumulative export reading, Wh.
    pub last_cumulative: u64,
    /// Readings accepted so far.
    pub nonce: u64,
}

impl Words for Meter {
    const TAG: u64 = domain::METER;
    /// `pk.x`, `pk.y`, `pack(owner, last_cumulative, nonce)`.
    fn words(&self) -> [Fp; 3] {
        let (x, y) = self
            .public_key
            .map(|pk| pk.coordinates())
            .unwrap_or((Fp::zero(), Fp::zero()));
        [x, y, pack(&[self.owner, self.last_cumulative, self.nonce])]
    }
}

/// Buy or sell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Buy energy with city credits, at no more than the limit price.
    #[default]
    Buy,
    /// Sell energy for city credits, at no less than the limit price.
    Sell,
}

impl Side {
    /// 0 for buy, 1 for sell: the encoding in leaves and transactions.
    pub fn code(self) -> u64 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }
}

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// No order at this position.
    #[default]
    Empty,
    /// Resting: can be filled or cancelled.
    Open,
    /// Filled completely or cancelled; its lock has been released.
    Closed,
}

impl OrderStatus {
    /// 0 empty, 1 open, 2 closed: the encoding in leaves.
    pub fn code(self) -> u64 {
        match self {
            OrderStatus::Empty => 0,
            OrderStatus::Open => 1,
            OrderStatus::Closed => 2,
        }
    }
}

/// A limit order on the energy market.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The account that placed it.
    pub owner: u64,
    /// Buy or sell.
    pub side: Side,
    /// Limit price, cents per kWh.
    pub price: u64,
    /// Energy still to trade, Wh.
    pub remaining: u64,
    /// What is still locked: Wh for a sell order (equal to `remaining`), cents for a buy order
    /// (what is left of `ceil(amount * price / 1000)` after the fills' payments).
    pub locked: u64,
    /// The order may be filled while `now < expiry`.
    pub expiry: u64,
    /// Life cycle.
    pub status: OrderStatus,
}

impl Words for Order {
    const TAG: u64 = domain::ORDER;
    /// `pack(owner, price, expiry)`, `pack(remaining, locked, side + 2 status)`, 0.
    fn words(&self) -> [Fp; 3] {
        [
            pack(&[self.owner, self.price, self.expiry]),
            pack(&[
                self.remaining,
                self.locked,
                self.side.code() + 2 * self.status.code(),
            ]),
            Fp::zero(),
        ]
    }
}

/// Kinds of fleet record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetKind {
    /// A maintenance record.
    #[default]
    Maintenance,
    /// An insurance certificate.
    Insurance,
    /// A driver's shift.
    DriverShift,
}

impl FleetKind {
    /// The encoding in leaves and transactions.
    pub fn code(self) -> u64 {
        match self {
            FleetKind::Maintenance => 1,
            FleetKind::Insurance => 2,
            FleetKind::DriverShift => 3,
        }
    }
}

/// One entry of the append-only fleet log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetEntry {
    /// The operator that filed it.
    pub operator: u64,
    /// The operator's vehicle number.
    pub vehicle: u64,
    /// What the record is.
    pub kind: FleetKind,
    /// Hash of the record's document.
    pub record_hash: Fp,
    /// When it was filed (the batch time).
    pub filed_at: u64,
}

impl Words for FleetEntry {
    const TAG: u64 = domain::FLEET;
    /// `record_hash`, `pack(operator, vehicle, filed_at)`, `kind`. The empty leaf has kind 0,
    /// which no record has.
    fn words(&self) -> [Fp; 3] {
        let kind = if *self == FleetEntry::default() {
            0
        } else {
            self.kind.code()
        };
        [
            self.record_hash,
            pack(&[self.operator, self.vehicle, self.filed_at]),
            Fp::from(kind),
        ]
    }
}

/// A voter's identity commitment; the leaf is the commitment itself (0 when empty), so the
/// ballot circuit's leaf is one Poseidon hash of the voter's secrets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoterLeaf(pub Fp);

impl Leaf for VoterLeaf {
    fn leaf(&self) -> Fp {
        self.0
    }
}

impl VoterLeaf {
    /// The commitment as the first of three words (the others zero), so a chunk circuit's
    /// generic touch handles voter leaves like the others; the leaf is the word itself.
    pub fn words(&self) -> [Fp; 3] {
        [self.0, Fp::zero(), Fp::zero()]
    }
}

/// A proposal opened by the council.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The voter tree's root when the proposal opened: the voter set.
    pub voter_root: Fp,
    /// Hash of the wording and option labels.
    pub text_hash: Fp,
    /// Number of options, `1..=MAX_OPTIONS`.
    pub options: u64,
    /// Voting opens at this time (inclusive).
    pub start: u64,
    /// Voting closes at this time (exclusive).
    pub end: u64,
}

impl Words for Proposal {
    const TAG: u64 = domain::PROPOSAL;
    /// `voter_root`, `text_hash`, `pack(options, start, end)`.
    fn words(&self) -> [Fp; 3] {
        [
            self.voter_root,
            self.text_hash,
            pack(&[self.options, self.start, self.end]),
        ]
    }
}

/// The current ballot of one nullifier (one voter in one proposal).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotRecord {
    /// The nullifier (0 only for an empty leaf; a zero nullifier is refused).
    pub nullifier: Fp,
    /// The proposal voted on.
    pub proposal: u64,
    /// The tally slot of the current vote.
    pub slot: u64,
    /// The current ballot's sequence number: a replacement must carry a higher one.
    pub seq: u64,
}

impl Words for BallotRecord {
    const TAG: u64 = domain::BALLOT;
    /// `nullifier`, `pack(proposal, slot, seq)`, 0.
    fn words(&self) -> [Fp; 3] {
        [
            self.nullifier,
            pack(&[self.proposal, self.slot, self.seq]),
            Fp::zero(),
        ]
    }
}

/// One tally slot of a proposal: an option's direct votes, or a delegate's followers and
/// the delegate's own choice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Direct votes (option slot) or followers (delegate slot).
    pub count: u64,
    /// Delegate slots: the delegate's chosen option + 1, or 0 while the delegate has not voted.
    pub choice: u64,
}

impl Words for Tally {
    const TAG: u64 = domain::TALLY;
    /// `pack(count, choice)`, 0, 0.
    fn words(&self) -> [Fp; 3] {
        [pack(&[self.count, self.choice]), Fp::zero(), Fp::zero()]
    }
}
