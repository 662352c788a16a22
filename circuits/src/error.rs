//! Why a transaction is refused: one variant per rule, carrying the values involved. A refused
//! transaction changes nothing.

use crate::tx::{AccountId, MeterId, OrderId, ProposalId};

/// The authorities fixed in genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    /// Registers meters.
    GridOperator,
    /// Registers transit operators, fare tables and concessions.
    TransitAuthority,
    /// Registers voters.
    Registrar,
    /// Opens proposals.
    Council,
    /// Signs the matcher's fills.
    Market,
}

/// A transaction that breaks a rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)] // Each variant's message is its documentation.
pub enum TxError {
    #[error("account {account} does not exist")]
    UnknownAccount { account: AccountId },
    #[error("meter {meter} does not exist")]
    UnknownMeter { meter: MeterId },
    #[error("order {order} does not exist")]
    UnknownOrder { order: OrderId },
    #[error("proposal {proposal} does not exist")]
    UnknownProposal { proposal: ProposalId },
    #[error("the signature does not verify with the signer's key")]
    BadSignature,
    #[error("wrong nonce: expected {expected}, got {got}")]
    NonceMismatch { expected: u64, got: u64 },
    #[error("only the {required:?} may do this; account {got} is not it")]
    NotAuthority { required: Authority, got: AccountId },
    #[error("amount must be positive")]
    ZeroAmount,
    #[error("an account cannot pay itself")]
    SelfTransfer,
    #[error("account {account} has {balance} cents, needs {needed}")]
    InsufficientFunds {
        account: AccountId,
        balance: u64,
        needed: u64,
    },
    #[error("account {account} has {energy} Wh, needs {needed}")]
    InsufficientEnergy {
        account: AccountId,
        energy: u64,
        needed: u64,
    },
    #[error("{what} would exceed 2^64 - 1")]
    Overflow { what: &'static str },
    #[error("{what} would go below zero")]
    Underflow { what: &'static str },
    #[error("the {tree} tree is full")]
    TreeFull { tree: &'static str },
    #[error("meter {meter}: reading {got} Wh does not exceed the last reading {last} Wh")]
    ReadingNotIncreasing { meter: MeterId, last: u64, got: u64 },
    #[error("price must be positive")]
    ZeroPrice,
    #[error("expiry {expiry} is not after the batch time {now}")]
    AlreadyExpired { expiry: u64, now: u64 },
    #[error("order {order} expired at {expiry} (batch time {now})")]
    OrderExpired {
        order: OrderId,
        expiry: u64,
        now: u64,
    },
    #[error("order {order} is not open")]
    OrderNotOpen { order: OrderId },
    #[error("order {order} belongs to account {owner}, not {got}")]
    NotOrderOwner {
        order: OrderId,
        owner: AccountId,
        got: AccountId,
    },
    #[error("orders {maker} and {taker} are on the same side")]
    SameSide { maker: OrderId, taker: OrderId },
    #[error("maker {maker} must be older than taker {taker}")]
    MakerNotOlder { maker: OrderId, taker: OrderId },
    #[error("orders {maker} and {taker} belong to the same account")]
    SelfTrade { maker: OrderId, taker: OrderId },
    #[error("price {price} is above the buy limit {limit}")]
    AboveBuyLimit { price: u64, limit: u64 },
    #[error("price {price} is below the sell limit {limit}")]
    BelowSellLimit { price: u64, limit: u64 },
    #[error("fill of {quantity} Wh exceeds order {order}'s remaining {remaining} Wh")]
    FillTooLarge {
        order: OrderId,
        quantity: u64,
        remaining: u64,
    },
    #[error("account {account} is not a transit operator")]
    NotAnOperator { account: AccountId },
    #[error("fare class {class} is outside the fare table of {classes} classes")]
    UnknownFareClass { class: u64, classes: u64 },
    #[error("concession {percent}% is above 100%")]
    ConcessionTooLarge { percent: u64 },
    #[error("tap at {got} is not after the rider's last tap at {last}")]
    TapNotForward { last: u64, got: u64 },
    #[error("tap at {time} is after the batch time {now}")]
    TapInFuture { time: u64, now: u64 },
    #[error("tap at {time} is more than {max_delay} s before the batch time {now}")]
    TapTooOld { time: u64, now: u64, max_delay: u64 },
    #[error("batch time {now} is before the last batch's time {last}")]
    BatchTimeBackwards { last: u64, now: u64 },
    #[error("ballot sequence number {got} does not exceed the current ballot's {current}: only a newer ballot replaces one")]
    BallotNotNewer { current: u64, got: u64 },
    #[error("vote {vote} is beyond every tally slot")]
    BadVote { vote: String },
    #[error("a proposal needs 1 to {max} options, got {got}")]
    BadOptionCount { got: u64, max: u64 },
    #[error("voting window [{start}, {end}) is empty")]
    EmptyWindow { start: u64, end: u64 },
    #[error("proposal {proposal} takes votes in [{start}, {end}); batch time is {now}")]
    OutsideWindow {
        proposal: ProposalId,
        start: u64,
        end: u64,
        now: u64,
    },
    #[error("the ballot is against voter root {got}, proposal {proposal} has {expected}")]
    VoterRootMismatch {
        proposal: ProposalId,
        expected: String,
        got: String,
    },
    #[error("option {option} does not exist: the proposal has {options}")]
    UnknownOption { option: u64, options: u64 },
    #[error("delegate {delegate} is not registered")]
    UnknownDelegate { delegate: u64 },
    #[error("account {account} is not a delegate")]
    NotADelegate { account: AccountId },
    #[error("account {account} is already delegate {delegate}")]
    AlreadyDelegate { account: AccountId, delegate: u64 },
    #[error("the nullifier is zero")]
    ZeroNullifier,
    #[error("the commitment is zero")]
    ZeroCommitment,
    #[error("nullifier slot {position} holds another nullifier")]
    NullifierSlotTaken { position: u64 },
    #[error("the {authority:?} cannot do this to its own account")]
    AuthorityOwnAccount { authority: Authority },
    #[error("the market operator's account cannot place orders")]
    MarketCannotTrade,
    #[error(
        "the nullifier is 2^254 or more, which the chunk circuit cannot place (a 2^-126 event)"
    )]
    NullifierOutOfRange,
}
