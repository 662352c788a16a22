//! Every transaction's rules: [`State::plan`] checks a transaction against the state and
//! returns its leaf writes, reading only, so a refused transaction changes nothing.
//!
//! Leaves each kind touches (reads of an unchanged leaf in brackets), with tree depths:
//!
//! | kind                | leaves written (depth)                                   | read          |
//! |---------------------|----------------------------------------------------------|---------------|
//! | `transfer`          | payer, payee account (24, 24)                            |               |
//! | `open_account`      | opener, new account (24, 24)                             |               |
//! | `register_meter`    | grid operator account (24), new meter (20)               |               |
//! | `meter_reading`     | meter (20), owner account (24)                           |               |
//! | `place_order`       | trader account (24), new order (32)                      |               |
//! | `cancel_order`      | owner account (24), order (32)                           |               |
//! | `fill`              | market account (24), two orders (32, 32), buyer and seller accounts (24, 24) |  |
//! | `register_operator` | authority, operator account (24, 24)                     |               |
//! | `set_concession`    | authority, rider account (24, 24)                        |               |
//! | `tap`               | rider, operator account (24, 24)                         |               |
//! | `fleet_record`      | operator account (24), new log entry (32)                |               |
//! | `register_voter`    | registrar account (24), new voter leaf (24)              |               |
//! | `register_delegate` | the account (24)                                         |               |
//! | `create_proposal`   | council account (24), new proposal (16)                  | voter root    |
//! | `ballot`            | ballot leaf (64), one or two tally slots (28, 28)        | proposal (16) |
//! | `delegate_vote`     | delegate account (24), tally slot (28)                   | proposal (16) |
//!
//! # Defined rounding
//! - A fill of `q` Wh at price `P` cents/kWh pays `floor(q·P / 1000)` cents: the buyer pays
//!   exactly what the seller receives, so no money is created or destroyed; rounding costs
//!   the seller less than a cent per fill.
//! - A buy order locks `ceil(amount·limit / 1000)` cents. Fills never exceed the lock (their
//!   floors add up to at most the ceiling of the whole), and what is left returns to the
//!   buyer when the order is filled completely or cancelled.
//! - Concessions scale fares and the transfer discount cap down: `floor(x·(100 − c) / 100)`.

use ff::PrimeField;

use crate::constants::*;
use crate::error::{Authority, TxError};
use crate::hash::{is_zero, low_u64, to_hex, Fp};
use crate::keys::PublicKey;
use crate::records::*;
use crate::state::{tally_key, Counters, Event, Plan, State, Table, Write};
use crate::tx::*;
use crate::voter::Vote;

/// A record type of one of the state's tables, so a draft can read and write it uniformly.
trait Record: Leaf {
    fn table(state: &State) -> &Table<Self>;
    fn wrap(index: u64, record: Self) -> Write;
    fn unwrap(write: &Write) -> Option<(u64, &Self)>;
}

macro_rules! record {
    ($ty:ty, $field:ident, $variant:ident) => {
        impl Record for $ty {
            fn table(state: &State) -> &Table<Self> {
                &state.$field
            }
            fn wrap(index: u64, record: Self) -> Write {
                Write::$variant(index, record)
            }
            fn unwrap(write: &Write) -> Option<(u64, &Self)> {
                match write {
                    Write::$variant(i, r) => Some((*i, r)),
                    _ => None,
                }
            }
        }
    };
}

record!(Account, accounts, Account);
record!(Meter, meters, Meter);
record!(Order, orders, Order);
record!(FleetEntry, fleet, Fleet);
record!(VoterLeaf, voters, Voter);
record!(Proposal, proposals, Proposal);
record!(BallotRecord, ballots, Ballot);
record!(Tally, tallies, Tally);

/// Pending writes over the state: reads see earlier writes; each leaf is written once.
struct Draft<'a> {
    state: &'a State,
    writes: Vec<Write>,
    counters: Counters,
}

impl<'a> Draft<'a> {
    fn new(state: &'a State) -> Self {
        Draft {
            state,
            writes: Vec::new(),
            counters: state.counters.clone(),
        }
    }

    fn get<R: Record>(&self, index: u64) -> R {
        self.writes
            .iter()
            .rev()
            .find_map(|w| {
                R::unwrap(w)
                    .filter(|(i, _)| *i == index)
                    .map(|(_, r)| r.clone())
            })
            .unwrap_or_else(|| R::table(self.state).get(index))
    }

    fn put<R: Record>(&mut self, index: u64, record: R) {
        let write = R::wrap(index, record);
        match self
            .writes
            .iter()
            .position(|w| w.target() == write.target())
        {
            Some(at) => self.writes[at] = write,
            None => self.writes.push(write),
        }
    }

    fn account(&self, id: AccountId) -> Result<Account, TxError> {
        if id < self.counters.accounts {
            Ok(self.get(id))
        } else {
            Err(TxError::UnknownAccount { account: id })
        }
    }

    fn order(&self, id: OrderId) -> Result<Order, TxError> {
        if id < self.counters.orders {
            Ok(self.get(id))
        } else {
            Err(TxError::UnknownOrder { order: id })
        }
    }

    fn proposal(&self, id: ProposalId) -> Result<Proposal, TxError> {
        if id < self.counters.proposals {
            Ok(self.get(id))
        } else {
            Err(TxError::UnknownProposal { proposal: id })
        }
    }

    fn finish(self, event: Event) -> Plan {
        Plan {
            writes: self.writes,
            counters: self.counters,
            event,
        }
    }
}

fn require(authority: Authority, index: u64, from: AccountId) -> Result<(), TxError> {
    if from == index {
        Ok(())
    } else {
        Err(TxError::NotAuthority {
            required: authority,
            got: from,
        })
    }
}

/// An authority acts on other accounts only: each leaf a transaction writes is written once,
/// by one part of the chunk circuit's slot.
fn not_itself(authority: Authority, from: AccountId, target: AccountId) -> Result<(), TxError> {
    if from == target {
        Err(TxError::AuthorityOwnAccount { authority })
    } else {
        Ok(())
    }
}

fn add(a: u64, b: u64, what: &'static str) -> Result<u64, TxError> {
    a.checked_add(b).ok_or(TxError::Overflow { what })
}

fn next_position(counter: u64, depth: usize, tree: &'static str) -> Result<u64, TxError> {
    if counter >> depth == 0 {
        Ok(counter)
    } else {
        Err(TxError::TreeFull { tree })
    }
}

fn debit_money(account: &mut Account, id: AccountId, amount: u64) -> Result<(), TxError> {
    account.balance = account
        .balance
        .checked_sub(amount)
        .ok_or(TxError::InsufficientFunds {
            account: id,
            balance: account.balance,
            needed: amount,
        })?;
    Ok(())
}

fn debit_energy(account: &mut Account, id: AccountId, amount: u64) -> Result<(), TxError> {
    account.energy = account
        .energy
        .checked_sub(amount)
        .ok_or(TxError::InsufficientEnergy {
            account: id,
            energy: account.energy,
            needed: amount,
        })?;
    Ok(())
}

/// `floor(x · (100 − percent) / 100)`: a fare or discount after a concession.
pub fn apply_concession(x: u64, percent: u64) -> u64 {
    let kept = MAX_CONCESSION_PERCENT.saturating_sub(percent);
    (u128::from(x) * u128::from(kept) / u128::from(MAX_CONCESSION_PERCENT)) as u64
}

/// What a fill of `quantity` Wh at `price` cents/kWh pays: `floor(quantity·price / 1000)`.
pub fn fill_payment(quantity: u64, price: u64) -> u64 {
    // quantity, price < 2^64, so the quotient is below 2^118 / 1000... but always ≤ the
    // buyer's lock, which fits in u64; saturate rather than wrap for out-of-range inputs.
    let cents = u128::from(quantity) * u128::from(price) / u128::from(WH_PER_KWH);
    u64::try_from(cents).unwrap_or(u64::MAX)
}

/// What a buy order locks: `ceil(amount·price / 1000)` cents, if it fits in 64 bits.
pub fn buy_lock(amount: u64, price: u64) -> Option<u64> {
    let product = u128::from(amount) * u128::from(price);
    u64::try_from(product.div_ceil(u128::from(WH_PER_KWH))).ok()
}

/// The outcome of a tap under the fare rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FareOutcome {
    /// The class fare after concession.
    pub fare: u64,
    /// What the rider pays.
    pub charged: u64,
    /// The tap was a transfer.
    pub transfer: bool,
    /// The cap lowered the charge.
    pub capped: bool,
    /// The rider's record after the tap.
    pub rider: Rider,
}

/// The fare rules, for a tap at `time` of fare class fare `class_fare` (already checked):
///
/// 1. `fare = class_fare` scaled by the concession.
/// 2. Transfer: if a journey is open (`journey_start > 0`), `time ≤ journey_start + window`
///    and fewer than `max_transfers` transfers were taken, the tap is a transfer:
///    `charge = fare − min(fare, scaled discount cap)` and the transfer count goes up. Else it
///    starts a journey: `journey_start = time`, no transfers yet, `charge = fare`.
/// 3. Cap: a cap period runs `[cap_start, cap_start + cap_period)`; a tap outside it starts a
///    new one at `time` with nothing spent. The charge is lowered to what is left of the cap
///    (`fare_cap − cap_spent`), so once the cap is reached rides are free until it ends.
pub fn fare(
    params: &crate::state::Params,
    before: &Rider,
    class_fare: u64,
    time: u64,
) -> FareOutcome {
    let mut rider = before.clone();
    let fare = apply_concession(class_fare, rider.concession);
    let in_window = rider.journey_start > 0
        && u128::from(time) <= u128::from(rider.journey_start) + u128::from(params.transfer_window);
    let transfer = in_window && rider.transfers < params.max_transfers;
    let before_cap = if transfer {
        rider.transfers += 1;
        let discount = apply_concession(params.transfer_discount_cap, rider.concession);
        fare - fare.min(discount)
    } else {
        rider.journey_start = time;
        rider.transfers = 0;
        fare
    };
    let period_over = rider.cap_start == 0
        || u128::from(time) >= u128::from(rider.cap_start) + u128::from(params.cap_period);
    if period_over {
        rider.cap_start = time;
        rider.cap_spent = 0;
    }
    let room = params.fare_cap.saturating_sub(rider.cap_spent);
    let charged = before_cap.min(room);
    rider.cap_spent += charged;
    rider.last_tap = time;
    FareOutcome {
        fare,
        charged,
        transfer,
        capped: charged < before_cap,
        rider,
    }
}

/// A transaction whose signature was verified against a key ahead of planning, by any
/// thread and without the state (the costly part of a check: the message's hash and two
/// scalar multiplications). [`State::plan_verified`] skips that verification only for this
/// very transaction, under this chain, when the signer's key in the state is this key; in
/// every other case it verifies as [`State::plan`] does. Keys never change once a leaf
/// holds one, so a verification against the key read earlier stays true.
#[derive(Clone, Debug)]
pub struct VerifiedSignature {
    tx: Transaction,
    chain: Fp,
    key: PublicKey,
}

impl VerifiedSignature {
    /// Verifies `tx`'s signature against `key` under `chain`.
    pub fn check(tx: &Transaction, key: PublicKey, chain: Fp) -> Result<Self, TxError> {
        let signature = tx.signature().ok_or(TxError::BadSignature)?;
        key.verify(tx.message(chain), signature)
            .map_err(|_| TxError::BadSignature)?;
        Ok(VerifiedSignature {
            tx: tx.clone(),
            chain,
            key,
        })
    }

    /// Whether this vouches for `tx`'s signature under `key` and `chain`.
    fn vouches(&self, tx: &Transaction, key: &PublicKey, chain: Fp) -> bool {
        self.key == *key && self.chain == chain && self.tx == *tx
    }
}

impl State {
    /// The key the state holds for `tx`'s signer, if it is a known account or meter with
    /// one (none for a ballot): what [`VerifiedSignature::check`] needs.
    pub fn signer_key(&self, tx: &Transaction) -> Option<PublicKey> {
        match tx.signer() {
            Signer::Account(id) => self.account(id)?.owner.public_key,
            Signer::Meter(id) => self.meter(id)?.public_key,
            Signer::Anonymous => None,
        }
    }

    /// Checks `tx` against the state at batch time `now`: the signature and nonce, then the
    /// kind's rules. Reads only; the plan's writes are what [`State::commit`] applies.
    pub fn plan(&self, tx: &Transaction, now: u64) -> Result<Plan, TxError> {
        self.plan_verified(tx, now, None)
    }

    /// As [`State::plan`], with the signature's verification skipped where `verified`
    /// vouches for it (see [`VerifiedSignature`]).
    pub fn plan_verified(
        &self,
        tx: &Transaction,
        now: u64,
        verified: Option<&VerifiedSignature>,
    ) -> Result<Plan, TxError> {
        // Batch time never goes back: the state remembers the last one (genesis time
        // before the first batch), and every transaction moves it to its batch's time.
        self.check_time(now)?;
        let mut d = Draft::new(self);
        d.counters.time = now;
        self.check_signature(&mut d, tx, verified)?;
        let event = match tx {
            Transaction::Transfer(t) => transfer(&mut d, t)?,
            Transaction::OpenAccount(t) => open_account(&mut d, t)?,
            Transaction::RegisterMeter(t) => register_meter(&mut d, t)?,
            Transaction::MeterReading(t) => meter_reading(&mut d, t)?,
            Transaction::PlaceOrder(t) => place_order(&mut d, t, now)?,
            Transaction::CancelOrder(t) => cancel_order(&mut d, t)?,
            Transaction::Fill(t) => fill(&mut d, t, now)?,
            Transaction::RegisterOperator(t) => register_operator(&mut d, t)?,
            Transaction::SetConcession(t) => set_concession(&mut d, t)?,
            Transaction::Tap(t) => tap(&mut d, t, now)?,
            Transaction::FleetRecord(t) => fleet_record(&mut d, t, now)?,
            Transaction::RegisterVoter(t) => register_voter(&mut d, t)?,
            Transaction::RegisterDelegate(t) => register_delegate(&mut d, t)?,
            Transaction::CreateProposal(t) => create_proposal(&mut d, t)?,
            Transaction::Ballot(t) => ballot(&mut d, t, now)?,
            Transaction::DelegateVote(t) => delegate_vote(&mut d, t, now)?,
        };
        Ok(d.finish(event))
    }

    /// Verifies the signer's signature and nonce and bumps the nonce in the draft.
    fn check_signature(
        &self,
        d: &mut Draft<'_>,
        tx: &Transaction,
        verified: Option<&VerifiedSignature>,
    ) -> Result<(), TxError> {
        let (Some(nonce), Some(signature)) = (tx.nonce(), tx.signature()) else {
            return Ok(()); // A ballot: its proof is checked by the ballot verifier.
        };
        let verify = |key: Option<PublicKey>| {
            let key = key.ok_or(TxError::BadSignature)?;
            if verified.is_some_and(|v| v.vouches(tx, &key, self.chain)) {
                return Ok(());
            }
            key.verify(tx.message(self.chain), signature)
                .map_err(|_| TxError::BadSignature)
        };
        let check_nonce = |expected: u64| {
            if expected == nonce {
                Ok(())
            } else {
                Err(TxError::NonceMismatch {
                    expected,
                    got: nonce,
                })
            }
        };
        match tx.signer() {
            Signer::Account(id) => {
                let mut account = d.account(id)?;
                verify(account.owner.public_key)?;
                check_nonce(account.nonce)?;
                account.nonce = add(account.nonce, 1, "nonce")?;
                d.put(id, account);
            }
            Signer::Meter(id) => {
                if id >= d.counters.meters {
                    return Err(TxError::UnknownMeter { meter: id });
                }
                let mut meter: Meter = d.get(id);
                verify(meter.public_key)?;
                check_nonce(meter.nonce)?;
                meter.nonce = add(meter.nonce, 1, "nonce")?;
                d.put(id, meter);
            }
            Signer::Anonymous => {}
        }
        Ok(())
    }
}

fn transfer(d: &mut Draft<'_>, t: &Transfer) -> Result<Event, TxError> {
    if t.amount == 0 {
        return Err(TxError::ZeroAmount);
    }
    if t.from == t.to {
        return Err(TxError::SelfTransfer);
    }
    let mut to = d.account(t.to)?;
    let mut from = d.account(t.from)?;
    debit_money(&mut from, t.from, t.amount)?;
    to.balance = add(to.balance, t.amount, "payee balance")?;
    d.put(t.from, from);
    d.put(t.to, to);
    Ok(Event::Transferred {
        from: t.from,
        to: t.to,
        amount: t.amount,
    })
}

fn open_account(d: &mut Draft<'_>, t: &OpenAccount) -> Result<Event, TxError> {
    let id = next_position(d.counters.accounts, ACCOUNTS_DEPTH, "accounts")?;
    d.counters.accounts += 1;
    let account = Account {
        owner: Owner {
            public_key: Some(t.public_key),
            ..Owner::default()
        },
        ..Account::default()
    };
    d.put(id, account);
    Ok(Event::AccountOpened { account: id })
}

fn register_meter(d: &mut Draft<'_>, t: &RegisterMeter) -> Result<Event, TxError> {
    require(Authority::GridOperator, GRID_OPERATOR, t.from)?;
    d.account(t.owner)?;
    let id = next_position(d.counters.meters, METERS_DEPTH, "meters")?;
    d.counters.meters += 1;
    d.put(
        id,
        Meter {
            public_key: Some(t.meter_key),
            owner: t.owner,
            last_cumulative: 0,
            nonce: 0,
        },
    );
    Ok(Event::MeterRegistered {
        meter: id,
        owner: t.owner,
    })
}

fn meter_reading(d: &mut Draft<'_>, t: &MeterReading) -> Result<Event, TxError> {
    let mut meter: Meter = d.get(t.meter);
    if t.cumulative <= meter.last_cumulative {
        return Err(TxError::ReadingNotIncreasing {
            meter: t.meter,
            last: meter.last_cumulative,
            got: t.cumulative,
        });
    }
    let minted = t.cumulative - meter.last_cumulative;
    let mut owner = d.account(meter.owner)?;
    owner.energy = add(owner.energy, minted, "energy")?;
    meter.last_cumulative = t.cumulative;
    let owner_id = meter.owner;
    d.put(t.meter, meter);
    d.put(owner_id, owner);
    Ok(Event::Minted {
        meter: t.meter,
        owner: owner_id,
        energy: minted,
    })
}

fn place_order(d: &mut Draft<'_>, t: &PlaceOrder, now: u64) -> Result<Event, TxError> {
    if t.from == MARKET {
        return Err(TxError::MarketCannotTrade);
    }
    if t.amount == 0 {
        return Err(TxError::ZeroAmount);
    }
    if t.price == 0 {
        return Err(TxError::ZeroPrice);
    }
    if t.expiry <= now {
        return Err(TxError::AlreadyExpired {
            expiry: t.expiry,
            now,
        });
    }
    let mut account = d.account(t.from)?;
    let locked = match t.side {
        Side::Sell => {
            debit_energy(&mut account, t.from, t.amount)?;
            t.amount
        }
        Side::Buy => {
            let lock = buy_lock(t.amount, t.price).ok_or(TxError::Overflow {
                what: "order value",
            })?;
            debit_money(&mut account, t.from, lock)?;
            lock
        }
    };
    let id = next_position(d.counters.orders, ORDERS_DEPTH, "orders")?;
    d.counters.orders += 1;
    d.put(t.from, account);
    d.put(
        id,
        Order {
            owner: t.from,
            side: t.side,
            price: t.price,
            remaining: t.amount,
            locked,
            expiry: t.expiry,
            status: OrderStatus::Open,
        },
    );
    Ok(Event::OrderPlaced {
        order: id,
        owner: t.from,
        side: t.side,
        amount: t.amount,
        price: t.price,
        locked,
    })
}

/// Returns an order's remaining lock to its owner and closes it.
fn release(owner: &mut Account, order: &mut Order) -> Result<u64, TxError> {
    let released = order.locked;
    match order.side {
        Side::Sell => owner.energy = add(owner.energy, released, "energy")?,
        Side::Buy => owner.balance = add(owner.balance, released, "balance")?,
    }
    order.locked = 0;
    order.remaining = 0;
    order.status = OrderStatus::Closed;
    Ok(released)
}

fn cancel_order(d: &mut Draft<'_>, t: &CancelOrder) -> Result<Event, TxError> {
    let mut order = d.order(t.order)?;
    if order.status != OrderStatus::Open {
        return Err(TxError::OrderNotOpen { order: t.order });
    }
    if order.owner != t.from {
        return Err(TxError::NotOrderOwner {
            order: t.order,
            owner: order.owner,
            got: t.from,
        });
    }
    let mut owner = d.account(t.from)?;
    let released = release(&mut owner, &mut order)?;
    d.put(t.from, owner);
    d.put(t.order, order);
    Ok(Event::OrderCancelled {
        order: t.order,
        released,
    })
}

fn fill(d: &mut Draft<'_>, t: &Fill, now: u64) -> Result<Event, TxError> {
    require(Authority::Market, MARKET, t.from)?;
    if t.quantity == 0 {
        return Err(TxError::ZeroAmount);
    }
    if t.maker >= t.taker {
        return Err(TxError::MakerNotOlder {
            maker: t.maker,
            taker: t.taker,
        });
    }
    let maker = d.order(t.maker)?;
    let taker = d.order(t.taker)?;
    for (id, order) in [(t.maker, &maker), (t.taker, &taker)] {
        if order.status != OrderStatus::Open {
            return Err(TxError::OrderNotOpen { order: id });
        }
        if now >= order.expiry {
            return Err(TxError::OrderExpired {
                order: id,
                expiry: order.expiry,
                now,
            });
        }
        if t.quantity > order.remaining {
            return Err(TxError::FillTooLarge {
                order: id,
                quantity: t.quantity,
                remaining: order.remaining,
            });
        }
    }
    if maker.side == taker.side {
        return Err(TxError::SameSide {
            maker: t.maker,
            taker: t.taker,
        });
    }
    if maker.owner == taker.owner {
        return Err(TxError::SelfTrade {
            maker: t.maker,
            taker: t.taker,
        });
    }
    // Orders of the market account cannot exist (`place_order` refuses them); refusing
    // them here too keeps the fill's touched accounts distinct, as its circuit requires.
    if maker.owner == MARKET || taker.owner == MARKET {
        return Err(TxError::MarketCannotTrade);
    }
    let price = maker.price;
    let ((buy_id, mut buy), (sell_id, mut sell)) = match maker.side {
        Side::Buy => ((t.maker, maker), (t.taker, taker)),
        Side::Sell => ((t.taker, taker), (t.maker, maker)),
    };
    if price > buy.price {
        return Err(TxError::AboveBuyLimit {
            price,
            limit: buy.price,
        });
    }
    if price < sell.price {
        return Err(TxError::BelowSellLimit {
            price,
            limit: sell.price,
        });
    }
    // A payment that does not fit in 64 bits is refused rather than saturated (as the
    // circuit's range check refuses it; a reachable buy order's lock always covers it).
    if u128::from(t.quantity) * u128::from(price) / u128::from(WH_PER_KWH) > u128::from(u64::MAX) {
        return Err(TxError::Overflow { what: "payment" });
    }
    let payment = fill_payment(t.quantity, price);
    let mut buyer = d.account(buy.owner)?;
    let mut seller = d.account(sell.owner)?;
    // Floors of the fills never exceed the ceiling locked for the whole order.
    buy.locked = buy.locked.checked_sub(payment).ok_or(TxError::Underflow {
        what: "buy order lock",
    })?;
    buy.remaining -= t.quantity;
    sell.remaining -= t.quantity;
    // A sell order locks its remaining energy, so this holds for every reachable order;
    // checked rather than wrapped, as the circuit checks it.
    sell.locked = sell
        .locked
        .checked_sub(t.quantity)
        .ok_or(TxError::Underflow {
            what: "sell order lock",
        })?;
    buyer.energy = add(buyer.energy, t.quantity, "buyer energy")?;
    seller.balance = add(seller.balance, payment, "seller balance")?;
    let refund = if buy.remaining == 0 {
        release(&mut buyer, &mut buy)?
    } else {
        0
    };
    if sell.remaining == 0 {
        sell.status = OrderStatus::Closed;
    }
    let (buyer_id, seller_id) = (buy.owner, sell.owner);
    d.put(buy_id, buy);
    d.put(sell_id, sell);
    d.put(buyer_id, buyer);
    d.put(seller_id, seller);
    Ok(Event::Traded {
        maker: t.maker,
        taker: t.taker,
        buyer: buyer_id,
        seller: seller_id,
        quantity: t.quantity,
        price,
        payment,
        refund,
    })
}

fn register_operator(d: &mut Draft<'_>, t: &RegisterOperator) -> Result<Event, TxError> {
    require(Authority::TransitAuthority, TRANSIT_AUTHORITY, t.from)?;
    not_itself(Authority::TransitAuthority, t.from, t.operator)?;
    let mut operator = d.account(t.operator)?;
    operator.owner.fares = Some(t.fares);
    d.put(t.operator, operator);
    Ok(Event::OperatorRegistered {
        operator: t.operator,
    })
}

fn set_concession(d: &mut Draft<'_>, t: &SetConcession) -> Result<Event, TxError> {
    require(Authority::TransitAuthority, TRANSIT_AUTHORITY, t.from)?;
    not_itself(Authority::TransitAuthority, t.from, t.rider)?;
    if t.percent > MAX_CONCESSION_PERCENT {
        return Err(TxError::ConcessionTooLarge { percent: t.percent });
    }
    let mut rider = d.account(t.rider)?;
    rider.rider.concession = t.percent;
    d.put(t.rider, rider);
    Ok(Event::ConcessionSet {
        rider: t.rider,
        percent: t.percent,
    })
}

fn tap(d: &mut Draft<'_>, t: &Tap, now: u64) -> Result<Event, TxError> {
    if t.from == t.operator {
        return Err(TxError::SelfTransfer);
    }
    let mut operator = d.account(t.operator)?;
    let fares = operator.owner.fares.ok_or(TxError::NotAnOperator {
        account: t.operator,
    })?;
    let class_fare = *fares
        .get(t.fare_class as usize)
        .ok_or(TxError::UnknownFareClass {
            class: t.fare_class,
            classes: FARE_CLASSES as u64,
        })?;
    let mut rider = d.account(t.from)?;
    if t.time <= rider.rider.last_tap {
        return Err(TxError::TapNotForward {
            last: rider.rider.last_tap,
            got: t.time,
        });
    }
    if t.time > now {
        return Err(TxError::TapInFuture { time: t.time, now });
    }
    let max_delay = d.state.params.max_tap_delay;
    if u128::from(t.time) + u128::from(max_delay) < u128::from(now) {
        return Err(TxError::TapTooOld {
            time: t.time,
            now,
            max_delay,
        });
    }
    let outcome = fare(&d.state.params, &rider.rider, class_fare, t.time);
    debit_money(&mut rider, t.from, outcome.charged)?;
    operator.balance = add(operator.balance, outcome.charged, "operator balance")?;
    rider.rider = outcome.rider;
    d.put(t.from, rider);
    d.put(t.operator, operator);
    Ok(Event::Fare {
        rider: t.from,
        operator: t.operator,
        fare: outcome.fare,
        charged: outcome.charged,
        transfer: outcome.transfer,
        capped: outcome.capped,
    })
}

fn fleet_record(d: &mut Draft<'_>, t: &FleetRecord, now: u64) -> Result<Event, TxError> {
    let operator = d.account(t.from)?;
    if operator.owner.fares.is_none() {
        return Err(TxError::NotAnOperator { account: t.from });
    }
    let position = next_position(d.counters.fleet, FLEET_DEPTH, "fleet")?;
    d.counters.fleet += 1;
    d.put(
        position,
        FleetEntry {
            operator: t.from,
            vehicle: t.vehicle,
            kind: t.kind,
            record_hash: t.record_hash,
            filed_at: now,
        },
    );
    Ok(Event::FleetFiled {
        position,
        operator: t.from,
        vehicle: t.vehicle,
    })
}

fn register_voter(d: &mut Draft<'_>, t: &RegisterVoter) -> Result<Event, TxError> {
    require(Authority::Registrar, REGISTRAR, t.from)?;
    if is_zero(&t.commitment) {
        return Err(TxError::ZeroCommitment);
    }
    let position = next_position(d.counters.voters, VOTERS_DEPTH, "voters")?;
    d.counters.voters += 1;
    d.put(position, VoterLeaf(t.commitment));
    Ok(Event::VoterRegistered { position })
}

fn register_delegate(d: &mut Draft<'_>, t: &RegisterDelegate) -> Result<Event, TxError> {
    let mut account = d.account(t.from)?;
    if let Some(delegate) = account.owner.delegate {
        return Err(TxError::AlreadyDelegate {
            account: t.from,
            delegate,
        });
    }
    let delegate = d.counters.delegates;
    if delegate >= MAX_DELEGATES {
        return Err(TxError::TreeFull { tree: "delegates" });
    }
    d.counters.delegates += 1;
    account.owner.delegate = Some(delegate);
    d.put(t.from, account);
    Ok(Event::DelegateRegistered {
        account: t.from,
        delegate,
    })
}

fn create_proposal(d: &mut Draft<'_>, t: &CreateProposal) -> Result<Event, TxError> {
    require(Authority::Council, COUNCIL, t.from)?;
    let options = t.options.len() as u64;
    if options == 0 || options > MAX_OPTIONS {
        return Err(TxError::BadOptionCount {
            got: options,
            max: MAX_OPTIONS,
        });
    }
    if t.start >= t.end {
        return Err(TxError::EmptyWindow {
            start: t.start,
            end: t.end,
        });
    }
    let id = next_position(d.counters.proposals, PROPOSALS_DEPTH, "proposals")?;
    d.counters.proposals += 1;
    d.put(
        id,
        Proposal {
            voter_root: d.state.voter_root(),
            text_hash: t.text_hash(),
            options,
            start: t.start,
            end: t.end,
        },
    );
    Ok(Event::ProposalCreated { proposal: id })
}

/// A proposal, if `now` is inside its voting window.
fn open_proposal(d: &Draft<'_>, id: ProposalId, now: u64) -> Result<Proposal, TxError> {
    let proposal = d.proposal(id)?;
    if now < proposal.start || now >= proposal.end {
        return Err(TxError::OutsideWindow {
            proposal: id,
            start: proposal.start,
            end: proposal.end,
            now,
        });
    }
    Ok(proposal)
}

fn ballot(d: &mut Draft<'_>, t: &Ballot, now: u64) -> Result<Event, TxError> {
    let proposal = open_proposal(d, t.proposal, now)?;
    if t.voter_root != proposal.voter_root {
        return Err(TxError::VoterRootMismatch {
            proposal: t.proposal,
            expected: to_hex(&proposal.voter_root),
            got: to_hex(&t.voter_root),
        });
    }
    if is_zero(&t.nullifier) {
        return Err(TxError::ZeroNullifier);
    }
    // The chunk circuit splits the nullifier as low 64 bits + 2^64 · (190 bits), which is
    // unique only below 2^254 (the field's modulus is just above it).
    if t.nullifier.to_repr()[31] >> 6 != 0 {
        return Err(TxError::NullifierOutOfRange);
    }
    match t.vote {
        Vote::Option(option) if option >= proposal.options => {
            return Err(TxError::UnknownOption {
                option,
                options: proposal.options,
            })
        }
        Vote::Delegate(delegate) if delegate >= d.counters.delegates => {
            return Err(TxError::UnknownDelegate { delegate })
        }
        _ => {}
    }
    let slot = t.vote.slot().ok_or_else(|| TxError::BadVote {
        vote: format!("{:?}", t.vote),
    })?;
    let position = low_u64(t.nullifier);
    let previous: BallotRecord = d.get(position);
    let replaced = if previous == BallotRecord::default() {
        None
    } else if previous.nullifier == t.nullifier && previous.proposal == t.proposal {
        // Only a newer ballot replaces: a copy of an earlier one, replayed by anyone, is
        // refused.
        if t.seq <= previous.seq {
            return Err(TxError::BallotNotNewer {
                current: previous.seq,
                got: t.seq,
            });
        }
        Some(previous.slot)
    } else {
        return Err(TxError::NullifierSlotTaken { position });
    };
    // A ballot that repeats the earlier one's vote moves no tally.
    if replaced != Some(slot) {
        if let Some(old) = replaced {
            let key = tally_key(t.proposal, old);
            let mut tally: Tally = d.get(key);
            // The earlier ballot counted here, so the count is at least one.
            tally.count = tally
                .count
                .checked_sub(1)
                .ok_or(TxError::Underflow { what: "tally" })?;
            d.put(key, tally);
        }
        let key = tally_key(t.proposal, slot);
        let mut tally: Tally = d.get(key);
        tally.count = add(tally.count, 1, "tally")?;
        d.put(key, tally);
    }
    d.put(
        position,
        BallotRecord {
            nullifier: t.nullifier,
            proposal: t.proposal,
            slot,
            seq: t.seq,
        },
    );
    Ok(Event::BallotCast {
        proposal: t.proposal,
        slot,
        replaced,
    })
}

fn delegate_vote(d: &mut Draft<'_>, t: &DelegateVote, now: u64) -> Result<Event, TxError> {
    let account = d.account(t.from)?;
    let delegate = account
        .owner
        .delegate
        .ok_or(TxError::NotADelegate { account: t.from })?;
    let proposal = open_proposal(d, t.proposal, now)?;
    if t.option >= proposal.options {
        return Err(TxError::UnknownOption {
            option: t.option,
            options: proposal.options,
        });
    }
    let slot = Vote::Delegate(delegate)
        .slot()
        .ok_or(TxError::UnknownDelegate { delegate })?;
    let key = tally_key(t.proposal, slot);
    let mut tally: Tally = d.get(key);
    tally.choice = t.option + 1;
    d.put(key, tally);
    Ok(Event::DelegateVoted {
        proposal: t.proposal,
        delegate,
        option: t.option,
    })
}

#[cfg(test)]
mod verified_tests {
    use super::*;
    use crate::demo::City;

    #[test]
    fn a_verified_signature_is_honoured_only_for_its_own_transaction() {
        let city = City::new(4);
        let state = &city.state;
        let now = city.genesis.time + 10;
        let chain = state.chain();
        let tx = city.transfer(city.resident(0), city.resident(1), 5);
        let key = state.signer_key(&tx).expect("a genesis account has a key");
        let verified = VerifiedSignature::check(&tx, key, chain).unwrap();
        assert_eq!(
            state.plan_verified(&tx, now, Some(&verified)).unwrap(),
            state.plan(&tx, now).unwrap()
        );

        // Another transaction with the same signature (the amount changed after signing):
        // the verification made for the first does not vouch for it.
        let mut forged = tx.clone();
        if let Transaction::Transfer(t) = &mut forged {
            t.amount = 500;
        }
        assert_eq!(
            state.plan_verified(&forged, now, Some(&verified)),
            Err(TxError::BadSignature)
        );
        assert_eq!(
            VerifiedSignature::check(&forged, key, chain).unwrap_err(),
            TxError::BadSignature
        );
        // Another key, or another chain, verifies nothing.
        let other = state.signer_key(&city.transfer(city.resident(2), city.resident(1), 1));
        assert!(VerifiedSignature::check(&tx, other.unwrap(), chain).is_err());
        assert!(VerifiedSignature::check(&tx, key, chain + Fp::one()).is_err());
        // An account that does not exist has no key.
        let stranger = city.transfer(city.resident(0), city.resident(1), 1);
        let Transaction::Transfer(mut t) = stranger else {
            unreachable!()
        };
        t.from = 1 << 20;
        assert_eq!(state.signer_key(&Transaction::Transfer(t)), None);
    }
}
