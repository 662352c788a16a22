//! Every named number of the rollup: tree depths, domain separators, limits and the fixed
//! account indices of the authorities. Circuits and native rules read them from here only.

/// Depth of the accounts tree: 2^24 (16.7 million) accounts, room for a city of millions of
/// residents, businesses, operators and delegates. Rider records live inside account leaves
/// (see [`crate::state`]), so this depth also bounds the riders.
pub const ACCOUNTS_DEPTH: usize = 24;
/// Depth of the meters tree: 2^20 (one million) smart meters.
pub const METERS_DEPTH: usize = 20;
/// Depth of the orders tree. Orders are append-only (a closed order keeps its leaf), so the
/// tree must outlast years of trading: 2^32 orders is about ten years of one order per day
/// for a million households.
pub const ORDERS_DEPTH: usize = 32;
/// Depth of the append-only fleet-record log: 2^32 records.
pub const FLEET_DEPTH: usize = 32;
/// Depth of the voter tree: 2^24 identity commitments. The ballot circuit proves a path of
/// this depth on the voter's own machine.
pub const VOTERS_DEPTH: usize = 24;
/// Depth of the proposals tree: 2^16 proposals.
pub const PROPOSALS_DEPTH: usize = 16;
/// Depth of the ballot-nullifier tree. A nullifier's leaf sits at the position given by its
/// low 64 bits, so looking a nullifier up (to insert it or to replace its ballot) needs no
/// sorted structure. Two different nullifiers sharing a position is a 2^-64 event per pair:
/// below 0.1% over 10^8 ballots; such a ballot is refused with a clear error.
pub const NULLIFIERS_DEPTH: usize = 64;
/// Bits of a tally slot inside a proposal: options first, then one slot per delegate.
pub const TALLY_SLOT_BITS: usize = 12;
/// Depth of the tallies tree: a leaf per (proposal, slot).
pub const TALLIES_DEPTH: usize = PROPOSALS_DEPTH + TALLY_SLOT_BITS;

/// Most options a proposal may have. Tally slots `0..MAX_OPTIONS` count direct votes.
pub const MAX_OPTIONS: u64 = 16;
/// Most delegates the city may have: tally slots `MAX_OPTIONS..` count their followers.
pub const MAX_DELEGATES: u64 = (1 << TALLY_SLOT_BITS) - MAX_OPTIONS;
/// Fare classes in every operator's fare table (for example local, express, night, airport).
pub const FARE_CLASSES: usize = 4;
/// Concessions are whole percentages off, `0..=100`.
pub const MAX_CONCESSION_PERCENT: u64 = 100;
/// Energy prices are in cents per kWh and amounts in Wh: a fill's cost is
/// `floor(quantity_wh * price / WH_PER_KWH)` cents.
pub const WH_PER_KWH: u64 = 1000;

/// Field elements in the canonical encoding of one transaction (see [`crate::tx`]).
pub const TX_FIELDS: usize = 8;

/// Account index of the grid operator (registers meters). Authorities occupy the first
/// accounts of genesis, in this order, so a circuit checks them against constants.
pub const GRID_OPERATOR: u64 = 0;
/// Account index of the transit authority (registers operators, fares and concessions).
pub const TRANSIT_AUTHORITY: u64 = 1;
/// Account index of the voter registrar (registers identity commitments).
pub const REGISTRAR: u64 = 2;
/// Account index of the council (opens proposals).
pub const COUNCIL: u64 = 3;
/// Account index of the market operator (signs the matcher's fills).
pub const MARKET: u64 = 4;
/// Number of authority accounts at the start of genesis.
pub const AUTHORITY_COUNT: u64 = 5;

/// Domain separators: the first input of every Poseidon hash that is not a Merkle node, or
/// (the account leaf's, [`crate::hash::poseidon_in`]) in the sponge's capacity word, so that
/// no two kinds of value can be mistaken for each other. Merkle nodes are
/// `Poseidon_t5(c0, c1, c2, c3)` without a tag; Poseidon's `ConstantLength` domain already
/// separates hashes of different lengths, and tree depths are fixed.
pub mod domain {
    /// Account leaf.
    pub const ACCOUNT: u64 = 0x01;
    /// Account owner record (key, delegate id, fare table).
    pub const OWNER: u64 = 0x02;
    /// Meter leaf.
    pub const METER: u64 = 0x03;
    /// Order leaf.
    pub const ORDER: u64 = 0x04;
    /// Fleet-log leaf.
    pub const FLEET: u64 = 0x05;
    /// Proposal leaf.
    pub const PROPOSAL: u64 = 0x06;
    /// Ballot (nullifier tree) leaf.
    pub const BALLOT: u64 = 0x07;
    /// Tally leaf.
    pub const TALLY: u64 = 0x08;
    /// The state root over all tree roots and counters.
    pub const STATE: u64 = 0x09;
    /// A voter's identity commitment.
    pub const VOTER_COMMITMENT: u64 = 0x0a;
    /// A ballot nullifier.
    pub const NULLIFIER: u64 = 0x0b;
    /// The message a transaction's signature signs.
    pub const TX_MESSAGE: u64 = 0x0c;
    /// The Schnorr challenge.
    pub const SIGNATURE: u64 = 0x0d;
    /// Text (proposal wording, vehicle names, documents) hashed to one field element.
    pub const TEXT: u64 = 0x0e;
    /// Running hash of a chunk's transaction data.
    pub const TX_DATA: u64 = 0x0f;
    /// A signer's key and the message it signs, as the Schnorr challenge hashes them.
    pub const SIGNED: u64 = 0x10;
}
