//! The market family's chunk circuit: fills.
//!
//! Honest chunks (every shape of fill, edge values at the limits, padding, a seeded random
//! market) pass MockProver and reach the native root. Each rule then has a refused fill the
//! native rules refuse: its chunk is forged as a prover ignoring the rules would make it (the
//! real leaves before, the fill's effects applied without checks, paths of those writes) and
//! MockProver must name the rule's constraint, for most of them as the only failure. Rules
//! about values the circuit computes (payment, refund) are tampered cell by cell. One real
//! proof at the smallest `k` verifies, and fails against other public inputs.

mod common;

use circuits::chunk::witness::{ChunkWitness, SlotWitness};
use circuits::chunk::{self, proof, Family, Instance, MarketCircuit};
use circuits::constants::MARKET;
use circuits::matcher;
use circuits::records::{Order, OrderStatus, Side};
use circuits::state::{Counters, Event, Plan, TreeId, Write};
use circuits::tx::Fill;
use circuits::{Fp, State, Transaction, TxError};
use common::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Energy every resident of the market scenarios starts with, Wh.
const ENERGY: u64 = 100_000;
/// Expiry of the orders placed in setups.
const EXPIRY: u64 = NOW + 1_000;

/// A demo city of `residents` residents who each hold [`ENERGY`] Wh besides their $100;
/// `edit` may change the genesis accounts first.
fn market_with(residents: usize, edit: impl FnOnce(&mut circuits::Genesis)) -> Scenario {
    let mut genesis = circuits::genesis::demo(residents);
    for account in genesis.accounts.iter_mut() {
        account.energy = ENERGY;
    }
    edit(&mut genesis);
    let city = circuits::demo::City::from_genesis(genesis);
    Scenario {
        start: city.state.clone(),
        city,
        txs: vec![],
        now: NOW,
    }
}

fn market(residents: usize) -> Scenario {
    market_with(residents, |_| {})
}

/// Places an order before the chunk (expiring at [`EXPIRY`]); returns its id.
fn place(s: &mut Scenario, from: u64, side: Side, amount: u64, price: u64) -> u64 {
    place_until(s, from, side, amount, price, EXPIRY)
}

/// Places an order before the chunk, expiring at `expiry` (placed ten seconds before the
/// chunk's time, so an order may expire exactly at it).
fn place_until(
    s: &mut Scenario,
    from: u64,
    side: Side,
    amount: u64,
    price: u64,
    expiry: u64,
) -> u64 {
    let id = s.city.state.counters().orders;
    let tx = s.city.order(from, side, amount, price, expiry);
    s.now = NOW - 10;
    s.setup(tx);
    s.now = NOW;
    id
}

/// Applies `tx` natively as one of the chunk's fills; returns its event.
fn push_fill(s: &mut Scenario, tx: Transaction) -> Event {
    let event = s
        .city
        .state
        .clone()
        .apply(&tx, s.now)
        .expect("an accepted fill");
    s.push(tx);
    event
}

/// The honest chunk of the scenario's fills in `slots` slots passes MockProver at the
/// smallest `k` (and reaches the native root: [`Scenario::chunk`] checks it).
#[track_caller]
fn assert_honest(s: &Scenario, slots: usize) {
    let (w, instance) = s.chunk(Family::Market, slots);
    let k = Family::Market.k_for(slots);
    assert_eq!(
        failures(k, MarketCircuit::new(w), instance.clone()),
        Vec::<String>::new()
    );
}

/// The honest one-slot chunk of the scenario's single fill, with cells overridden.
fn failures_overridden(s: &Scenario, overrides: &[(&'static str, usize, Fp)]) -> Vec<String> {
    let (w, instance) = s.chunk(Family::Market, 1);
    failures_with(
        Family::Market.k_for(1),
        MarketCircuit::new(w),
        instance.clone(),
        overrides,
    )
}

/// What the native rules say of `tx` at the scenario's time.
fn native(s: &Scenario, tx: &Transaction) -> Result<Event, TxError> {
    s.city.state.clone().apply(tx, s.now)
}

/// The fill's leaf writes as a prover ignoring the rules would claim them: the effects the
/// circuit computes, applied with wrapping arithmetic and no check.
fn naive_writes(state: &State, t: &Fill) -> Vec<Write> {
    let account = |id| match state.record(TreeId::Accounts, id) {
        Write::Account(_, a) => a,
        _ => unreachable!("an account"),
    };
    let order = |id| match state.record(TreeId::Orders, id) {
        Write::Order(_, o) => o,
        _ => unreachable!("an order"),
    };
    let mut market = account(t.from);
    market.nonce = market.nonce.wrapping_add(1);
    let (mut maker, mut taker) = (order(t.maker), order(t.taker));
    let payment = (u128::from(t.quantity) * u128::from(maker.price) / 1000) as u64;
    let mut owners = vec![];
    for o in [&mut maker, &mut taker] {
        let mut owner = account(o.owner);
        let sell = o.side == Side::Sell;
        o.remaining = o.remaining.wrapping_sub(t.quantity);
        let done = o.remaining == 0;
        let left = o
            .locked
            .wrapping_sub(if sell { t.quantity } else { payment });
        let refund = if !sell && done { left } else { 0 };
        o.locked = left - refund;
        o.status = if done {
            OrderStatus::Closed
        } else {
            OrderStatus::Open
        };
        if sell {
            owner.balance = owner.balance.wrapping_add(payment);
        } else {
            owner.energy = owner.energy.wrapping_add(t.quantity);
            owner.balance = owner.balance.wrapping_add(refund);
        }
        owners.push((o.owner, owner));
    }
    let mut writes = vec![
        Write::Account(t.from, market),
        Write::Order(t.maker, maker),
        Write::Order(t.taker, taker),
    ];
    writes.extend(owners.into_iter().map(|(id, a)| Write::Account(id, a)));
    writes
}

/// A one-slot chunk of `tx` applied to the scenario's state without the rules
/// ([`naive_writes`]), with the public inputs of the state it reaches.
fn forged(s: &Scenario, tx: &Transaction) -> (MarketCircuit, Instance) {
    let (w, instance) = forged_witness(s, tx);
    (MarketCircuit::new(w), instance)
}

/// [`forged`]'s witness and public inputs.
fn forged_witness(s: &Scenario, tx: &Transaction) -> (ChunkWitness, Instance) {
    let Transaction::Fill(t) = tx else {
        panic!("a fill")
    };
    let mut state = s.city.state.clone();
    let header_old = state.header();
    // The chunk leaves its batch time in the state, as every chunk does.
    state
        .advance_time(s.now)
        .expect("the chunk's time is not before the state's");
    let targets = Family::Market.targets(&state, tx);
    let plan = Plan {
        writes: naive_writes(&state, t),
        counters: state.counters().clone(),
        event: Event::Traded {
            maker: t.maker,
            taker: t.taker,
            buyer: 0,
            seller: 0,
            quantity: t.quantity,
            price: 0,
            payment: 0,
            refund: 0,
        },
    };
    let signer = state.signer_key(tx);
    let touches = state
        .commit_touches(plan, &targets)
        .expect("every write is a touch");
    let slot = SlotWitness {
        kind: tx.kind(),
        encoding: tx.encode(),
        signature: Some(*tx.signature().expect("signed")),
        touches,
    };
    let instance = Instance::new(
        header_old.root(),
        state.root(),
        chunk::data_hash(state.chain(), std::slice::from_ref(tx), 1),
        s.now,
        state.chain(),
        state.params(),
        vec![signer],
    );
    let w = ChunkWitness {
        family: Family::Market,
        header_old,
        slots: vec![slot],
    };
    (w, instance)
}

/// MockProver's failures on the forged chunk of `tx`, which the rules refuse with `refusal`.
#[track_caller]
fn forged_failures(s: &Scenario, tx: &Transaction, refusal: TxError) -> Vec<String> {
    assert_eq!(native(s, tx).unwrap_err(), refusal, "the native rules");
    let (circuit, instance) = forged(s, tx);
    failures(Family::Market.k_for(1), circuit, instance.clone())
}

/// What a forged fill also fails when its effect is a value no leaf can hold (a negative
/// remaining or lock): the forged leaf written natively differs from the circuit's, so the
/// later touches' roots and the public `root_new` differ.
const UNHOLDABLE: [&str; 2] = [
    "Equality constraint",
    "flag * (running root - old root) = 0",
];

/// Asserts that there are failures, that `allowed[0]` is among them and that every failure
/// is one of `allowed`: the forged fill breaks that rule and no other.
#[track_caller]
fn assert_only(found: Vec<String>, allowed: &[&str]) {
    assert_fails_with(found.clone(), allowed[0]);
    let others: Vec<&String> = found
        .iter()
        .filter(|f| !allowed.iter().any(|a| f.contains(a)))
        .collect();
    assert!(
        others.is_empty(),
        "only {allowed:?} should fail, also got {others:#?}"
    );
}

/// A fill of the market operator's with another nonce or key than its own.
fn market_fill(
    s: &Scenario,
    maker: u64,
    taker: u64,
    quantity: u64,
    nonce: u64,
    key: u64,
) -> Transaction {
    Transaction::Fill(Fill {
        from: MARKET,
        maker,
        taker,
        quantity,
        nonce,
        signature: Default::default(),
    })
    .signed(s.city.key(key), s.city.state.chain())
}

/// Writes `order` at the next order position of the scenario's state, bypassing
/// `place_order` (for states the rules never reach); returns its id.
fn inject_order(s: &mut Scenario, order: Order) -> u64 {
    let id = s.city.state.counters().orders;
    let counters = Counters {
        orders: id + 1,
        ..s.city.state.counters().clone()
    };
    s.city.state.commit(Plan {
        writes: vec![Write::Order(id, order)],
        counters,
        event: Event::OrderCancelled {
            order: id,
            released: 0,
        },
    });
    s.start = s.city.state.clone();
    id
}

/// An open order of `owner` placed as `place_order` would (lock included).
fn open_order(owner: u64, side: Side, amount: u64, price: u64) -> Order {
    Order {
        owner,
        side,
        price,
        remaining: amount,
        locked: match side {
            Side::Sell => amount,
            Side::Buy => circuits::rules::buy_lock(amount, price).unwrap(),
        },
        expiry: EXPIRY,
        status: OrderStatus::Open,
    }
}

// ---------------------------------------------------------------- the circuit, pinned

#[test]
fn rows_are_pinned_and_slots_fit_each_k() {
    let one = measured_rows(&MarketCircuit::blank(1));
    let two = measured_rows(&MarketCircuit::blank(2));
    println!(
        "market rows: 1 slot {one}, 2 slots {two}, per slot {}; slots at k=13: {}, k=14: {}, k=15: {}",
        two - one,
        Family::Market.slots_for(13),
        Family::Market.slots_for(14),
        Family::Market.slots_for(15)
    );
    assert_eq!(one, Family::Market.rows(1));
    assert_eq!(two, Family::Market.rows(2));
    assert_eq!(Family::Market.layout(), (2_625, 171));
    assert_eq!(
        [13, 14, 15].map(|k| Family::Market.slots_for(k)),
        [3, 6, 12]
    );
    assert_eq!(Family::Market.k_for(1), 12);
    assert_eq!(Family::Market.touches(), 5);
}

#[test]
fn degree_and_reserved_rows_are_pinned() {
    assert_eq!(chunk::degree_of::<MarketCircuit>(), 6);
    assert_eq!(chunk::degree_of::<MarketCircuit>(), chunk::DEGREE);
    assert!(chunk::reserved_rows_of::<MarketCircuit>() <= chunk::BLINDING_ROWS);
}

// ---------------------------------------------------------------- honest fills

#[test]
fn a_partial_fill_of_a_resting_sell_with_a_padding_slot() {
    let mut s = market(4);
    let (seller, buyer) = (s.city.resident(0), s.city.resident(1));
    let sell = place(&mut s, seller, Side::Sell, 4_000, 15);
    let buy = place(&mut s, buyer, Side::Buy, 3_000, 17); // Locks 51 c.
    let tx = s.city.fill(sell, buy, 1_999);
    let Event::Traded {
        price,
        payment,
        refund,
        ..
    } = push_fill(&mut s, tx)
    else {
        unreachable!()
    };
    assert_eq!((price, payment, refund), (15, 29, 0)); // 29.985 c paid as 29 c.
    assert_honest(&s, 2);
}

#[test]
fn a_buy_filled_completely_gets_its_unused_lock_back() {
    let mut s = market(4);
    let (seller, buyer) = (s.city.resident(0), s.city.resident(1));
    let sell = place(&mut s, seller, Side::Sell, 4_000, 15);
    let buy = place(&mut s, buyer, Side::Buy, 3_000, 17);
    let first = s.city.fill(sell, buy, 1_999);
    s.setup(first);
    let tx = s.city.fill(sell, buy, 1_001); // Exactly the buy's remaining.
    let Event::Traded {
        payment, refund, ..
    } = push_fill(&mut s, tx)
    else {
        unreachable!()
    };
    assert_eq!((payment, refund), (15, 7));
    let b = s.city.state.order(buy).unwrap();
    assert_eq!(
        (b.status, b.remaining, b.locked),
        (OrderStatus::Closed, 0, 0)
    );
    assert_eq!(
        s.city.state.account(buyer).unwrap().balance,
        10_000 - 29 - 15
    );
    assert_honest(&s, 1);
}

#[test]
fn a_sell_filled_completely_is_closed_by_a_resting_buy() {
    let mut s = market(4);
    let (buyer, seller) = (s.city.resident(0), s.city.resident(1));
    let buy = place(&mut s, buyer, Side::Buy, 2_000, 30); // The maker buys.
    let sell = place(&mut s, seller, Side::Sell, 500, 28);
    let tx = s.city.fill(buy, sell, 500);
    let Event::Traded {
        price,
        payment,
        refund,
        ..
    } = push_fill(&mut s, tx)
    else {
        unreachable!()
    };
    assert_eq!((price, payment, refund), (30, 15, 0));
    let o = s.city.state.order(sell).unwrap();
    assert_eq!(
        (o.status, o.remaining, o.locked),
        (OrderStatus::Closed, 0, 0)
    );
    assert_eq!(s.city.state.order(buy).unwrap().status, OrderStatus::Open);
    assert_honest(&s, 1);
}

#[test]
fn equal_limit_prices_fill_both_orders_exactly_whichever_side_rests() {
    let mut s = market(4);
    let r: Vec<u64> = (0..4).map(|i| s.city.resident(i)).collect();
    // The maker buys at the seller's limit; then the maker sells at the buyer's limit.
    let buy = place(&mut s, r[0], Side::Buy, 1_000, 20);
    let sell = place(&mut s, r[1], Side::Sell, 1_000, 20);
    let sell2 = place(&mut s, r[2], Side::Sell, 700, 33);
    let buy2 = place(&mut s, r[3], Side::Buy, 700, 33);
    for (maker, taker, quantity) in [(buy, sell, 1_000), (sell2, buy2, 700)] {
        let tx = s.city.fill(maker, taker, quantity);
        push_fill(&mut s, tx);
    }
    for id in [buy, sell, sell2, buy2] {
        let o = s.city.state.order(id).unwrap();
        assert_eq!((o.status, o.remaining), (OrderStatus::Closed, 0));
    }
    assert_eq!(s.city.state.account(r[1]).unwrap().balance, 10_020);
    assert_eq!(s.city.state.account(r[2]).unwrap().balance, 10_023); // 23.1 c paid as 23 c.
    assert_eq!(s.city.state.account(r[3]).unwrap().energy, ENERGY + 700);
    assert_honest(&s, 2);
}

#[test]
fn orders_expiring_one_second_after_now_fill() {
    let mut s = market(4);
    let (seller, buyer) = (s.city.resident(0), s.city.resident(1));
    let sell = place_until(&mut s, seller, Side::Sell, 1_000, 10, NOW + 1);
    let buy = place_until(&mut s, buyer, Side::Buy, 1_000, 12, NOW + 1);
    let tx = s.city.fill(sell, buy, 1);
    push_fill(&mut s, tx);
    assert_honest(&s, 1);
}

#[test]
fn balances_and_energy_exactly_at_the_64_bit_limit() {
    let mut s = market_with(4, |g| {
        g.accounts[3].balance = u64::MAX - 29; // resident-0, the seller
        g.accounts[4].energy = u64::MAX - 1_999; // resident-1, the buyer
    });
    let (seller, buyer) = (s.city.resident(0), s.city.resident(1));
    let sell = place(&mut s, seller, Side::Sell, 4_000, 15);
    let buy = place(&mut s, buyer, Side::Buy, 3_000, 17);
    let tx = s.city.fill(sell, buy, 1_999);
    push_fill(&mut s, tx);
    assert_eq!(s.city.state.account(seller).unwrap().balance, u64::MAX);
    assert_eq!(s.city.state.account(buyer).unwrap().energy, u64::MAX);
    assert_honest(&s, 1);
}

#[test]
fn a_chunk_of_padding_changes_only_the_time() {
    let s = market(2);
    let (w, instance) = s.chunk(Family::Market, 1);
    // Nothing but the batch time.
    let mut advanced = s.start.clone();
    advanced.advance_time(s.now).unwrap();
    assert_eq!(instance.root_new(), advanced.root());
    assert_eq!(
        failures(13, MarketCircuit::new(w), instance.clone()),
        Vec::<String>::new()
    );
}

// ---------------------------------------------------------------- refused fills

/// A resting sell at 20 c/kWh and the buys and sells a test fills against it.
fn book() -> (Scenario, [u64; 4], u64) {
    let mut s = market(5);
    let r = [0, 1, 2, 3].map(|i| s.city.resident(i));
    let sell = place(&mut s, r[0], Side::Sell, 1_000, 20);
    (s, r, sell)
}

#[test]
fn a_price_one_cent_above_the_buy_limit() {
    let (mut s, r, sell) = book();
    let buy = place(&mut s, r[1], Side::Buy, 1_000, 19);
    let tx = s.city.fill(sell, buy, 500);
    let refusal = TxError::AboveBuyLimit {
        price: 20,
        limit: 19,
    };
    assert_only(forged_failures(&s, &tx, refusal), &["d_buy < 2^64"]);
}

#[test]
fn a_price_one_cent_below_the_sell_limit() {
    let (mut s, r, _) = book();
    let buy = place(&mut s, r[1], Side::Buy, 1_000, 25);
    let sell = place(&mut s, r[2], Side::Sell, 1_000, 26);
    let tx = s.city.fill(buy, sell, 500);
    let refusal = TxError::BelowSellLimit {
        price: 25,
        limit: 26,
    };
    assert_only(forged_failures(&s, &tx, refusal), &["d_sell < 2^64"]);
}

#[test]
fn a_fill_larger_than_either_order_remaining() {
    let (mut s, r, sell) = book();
    let big_buy = place(&mut s, r[1], Side::Buy, 3_000, 25);
    let small_buy = place(&mut s, r[2], Side::Buy, 500, 25);
    // One more than the maker's remaining: its remaining and lock would go below zero
    // (what no leaf can hold, so the roots differ too).
    let tx = s.city.fill(sell, big_buy, 1_001);
    let refusal = TxError::FillTooLarge {
        order: sell,
        quantity: 1_001,
        remaining: 1_000,
    };
    assert_only(
        forged_failures(&s, &tx, refusal),
        &[
            "rem_m_new < 2^64",
            "left_m < 2^64",
            UNHOLDABLE[0],
            UNHOLDABLE[1],
        ],
    );
    // One more than the taker's.
    let tx = s.city.fill(sell, small_buy, 501);
    let refusal = TxError::FillTooLarge {
        order: small_buy,
        quantity: 501,
        remaining: 500,
    };
    assert_only(
        forged_failures(&s, &tx, refusal),
        &["rem_t_new < 2^64", UNHOLDABLE[0], UNHOLDABLE[1]],
    );
}

#[test]
fn a_payment_off_by_one_cent() {
    let mut s = market(4);
    let (seller, buyer) = (s.city.resident(0), s.city.resident(1));
    let sell = place(&mut s, seller, Side::Sell, 4_000, 15);
    let buy = place(&mut s, buyer, Side::Buy, 3_000, 17);
    let tx = s.city.fill(sell, buy, 1_999);
    push_fill(&mut s, tx); // Pays 29 c.
                           // The seller is paid 30 c: the payment and the seller's credit both break a rule.
    let balance = s.city.state.account(seller).unwrap().balance;
    let found = failures_overridden(
        &s,
        &[
            ("pay", 0, Fp::from(30)),
            ("bal_m_new", 0, Fp::from(balance + 1)),
        ],
    );
    assert_fails_with(found.clone(), "quantity * price = 1000 * pay + r");
    assert_fails_with(
        found,
        "maker owner: balance_new = balance + s * payment + refund",
    );
}

#[test]
fn a_refund_withheld() {
    let mut s = market(4);
    let (seller, buyer) = (s.city.resident(0), s.city.resident(1));
    let sell = place(&mut s, seller, Side::Sell, 4_000, 15);
    let buy = place(&mut s, buyer, Side::Buy, 3_000, 17);
    let tx = s.city.fill(sell, buy, 3_000); // Pays 45 of 51 c: refunds 6.
    let Event::Traded { refund, .. } = push_fill(&mut s, tx) else {
        unreachable!()
    };
    assert_eq!(refund, 6);
    // The order keeps its 6 c (no refund, lock left as it was) and the buyer is not credited.
    let balance = s.city.state.account(buyer).unwrap().balance;
    let found = failures_overridden(
        &s,
        &[
            ("refund_t", 0, Fp::zero()),
            ("lock_t_new", 0, Fp::from(6)),
            ("bal_t_new", 0, Fp::from(balance - 6)),
        ],
    );
    assert_fails_with(found.clone(), "taker: refund = (1 - b_t) * done * left");
    assert_fails_with(
        found,
        "taker owner: balance_new = balance + b_t * payment + refund",
    );
    // The lock kept by itself.
    assert_fails_with(
        failures_overridden(&s, &[("lock_t_new", 0, Fp::from(6))]),
        "taker: locked_new = left - refund",
    );
}

#[test]
fn an_order_expiring_exactly_now() {
    let (mut s, r, sell) = book();
    let expiring_buy = place_until(&mut s, r[1], Side::Buy, 1_000, 25, NOW);
    let tx = s.city.fill(sell, expiring_buy, 100);
    let refusal = TxError::OrderExpired {
        order: expiring_buy,
        expiry: NOW,
        now: NOW,
    };
    assert_only(forged_failures(&s, &tx, refusal), &["d_exp_t < 2^64"]);
    let expiring_sell = place_until(&mut s, r[2], Side::Sell, 1_000, 20, NOW);
    let buy = place(&mut s, r[3], Side::Buy, 1_000, 25);
    let tx = s.city.fill(expiring_sell, buy, 100);
    let refusal = TxError::OrderExpired {
        order: expiring_sell,
        expiry: NOW,
        now: NOW,
    };
    assert_only(forged_failures(&s, &tx, refusal), &["d_exp_m < 2^64"]);
}

#[test]
fn orders_on_the_same_side() {
    let (mut s, r, sell) = book();
    let other_sell = place(&mut s, r[1], Side::Sell, 1_000, 20);
    let tx = s.city.fill(sell, other_sell, 100);
    let refusal = TxError::SameSide {
        maker: sell,
        taker: other_sell,
    };
    assert_only(
        forged_failures(&s, &tx, refusal),
        &["b_t = fill * (1 - s) (the taker is on the other side)"],
    );
}

#[test]
fn a_self_trade() {
    let (mut s, r, sell) = book();
    let own_buy = place(&mut s, r[0], Side::Buy, 1_000, 25);
    let tx = s.city.fill(sell, own_buy, 100);
    let refusal = TxError::SelfTrade {
        maker: sell,
        taker: own_buy,
    };
    // The two owner touches are one account here, so the forged roots differ too.
    assert_fails_with(
        forged_failures(&s, &tx, refusal),
        "fill * ((maker owner - taker owner) * inv - 1) = 0 (no self trade)",
    );
}

#[test]
fn a_maker_newer_than_the_taker() {
    let (mut s, r, sell) = book();
    let buy = place(&mut s, r[1], Side::Buy, 1_000, 25);
    let tx = s.city.fill(buy, sell, 100);
    let refusal = TxError::MakerNotOlder {
        maker: buy,
        taker: sell,
    };
    assert_only(forged_failures(&s, &tx, refusal), &["d_mt < 2^64"]);
}

#[test]
fn a_fill_not_signed_by_the_market_operator() {
    let (mut s, r, sell) = book();
    let buy = place(&mut s, r[1], Side::Buy, 1_000, 25);
    let impostor = r[3];
    let tx = Transaction::Fill(Fill {
        from: impostor,
        maker: sell,
        taker: buy,
        quantity: 100,
        nonce: s.city.nonce(impostor),
        signature: Default::default(),
    })
    .signed(s.city.key(impostor), s.city.state.chain());
    let refusal = TxError::NotAuthority {
        required: circuits::error::Authority::Market,
        got: impostor,
    };
    assert_only(
        forged_failures(&s, &tx, refusal),
        &["from = MARKET * fill (the market operator signs fills)"],
    );
}

#[test]
fn a_wrong_nonce_and_a_wrong_key() {
    let (mut s, r, sell) = book();
    let buy = place(&mut s, r[1], Side::Buy, 1_000, 25);
    let nonce = s.city.nonce(MARKET);
    let tx = market_fill(&s, sell, buy, 100, nonce + 1, MARKET);
    let refusal = TxError::NonceMismatch {
        expected: nonce,
        got: nonce + 1,
    };
    assert_only(
        forged_failures(&s, &tx, refusal),
        &["fill * (tx nonce - nonce) = 0"],
    );
    // Signed by a resident instead of the market operator: the chunk exposes the operator's
    // key, so the signature proof beside it fails.
    let tx = market_fill(&s, sell, buy, 100, nonce, r[2]);
    assert_eq!(native(&s, &tx).unwrap_err(), TxError::BadSignature);
    let (w, instance) = forged_witness(&s, &tx);
    assert_eq!(
        failures(
            Family::Market.k_for(1),
            MarketCircuit::new(w.clone()),
            instance.clone()
        ),
        Vec::<String>::new()
    );
    assert_fails_with(signature_failures(&w, &instance), SIGNATURE_FAILS);
}

#[test]
fn a_zero_quantity() {
    let (mut s, r, sell) = book();
    let buy = place(&mut s, r[1], Side::Buy, 1_000, 25);
    let tx = s.city.fill(sell, buy, 0);
    assert_only(
        forged_failures(&s, &tx, TxError::ZeroAmount),
        &["fill: quantity != 0"],
    );
}

#[test]
fn a_closed_order() {
    let (mut s, r, sell) = book();
    let buy = place(&mut s, r[1], Side::Buy, 1_000, 25);
    let cancel = s.city.cancel(r[1], buy);
    s.setup(cancel);
    let tx = s.city.fill(sell, buy, 100);
    // A cancelled order also has nothing left to fill.
    assert_only(
        forged_failures(&s, &tx, TxError::OrderNotOpen { order: buy }),
        &[
            "ss_t = b_t + 2 fill (the taker is open)",
            "rem_t_new < 2^64",
            "left_t < 2^64",
            UNHOLDABLE[0],
            UNHOLDABLE[1],
        ],
    );
}

#[test]
fn an_order_that_was_never_placed() {
    let (s, _, sell) = book();
    let next = s.city.state.counters().orders;
    let tx = s.city.fill(sell, next, 100);
    let failures = forged_failures(&s, &tx, TxError::UnknownOrder { order: next });
    assert_fails_with(failures.clone(), "d_tx < 2^64");
    assert_fails_with(failures, "ss_t = b_t + 2 fill (the taker is open)");
}

#[test]
fn an_order_of_the_market_account() {
    // `place_order` refuses the market account, so only a forged state holds one.
    let (mut s, _, sell) = book();
    let market_buy = inject_order(&mut s, open_order(MARKET, Side::Buy, 1_000, 25));
    let tx = s.city.fill(sell, market_buy, 100);
    assert_fails_with(
        forged_failures(&s, &tx, TxError::MarketCannotTrade),
        "fill * ((taker owner - MARKET) * inv - 1) = 0 (the market does not trade)",
    );
}

#[test]
fn an_owner_that_does_not_exist() {
    let (mut s, _, sell) = book();
    let nobody = s.city.state.counters().accounts;
    let buy = inject_order(&mut s, open_order(nobody, Side::Buy, 1_000, 25));
    let tx = s.city.fill(sell, buy, 100);
    assert_only(
        forged_failures(&s, &tx, TxError::UnknownAccount { account: nobody }),
        &["d_ot < 2^64"],
    );
}

#[test]
fn locks_smaller_than_the_fill() {
    // Locks of reachable orders always cover their fills; forged states test the checks.
    let (mut s, r, sell) = book();
    let mut poor_buy = open_order(r[1], Side::Buy, 1_000, 25);
    poor_buy.locked = 2;
    let poor_buy = inject_order(&mut s, poor_buy);
    let tx = s.city.fill(sell, poor_buy, 100); // Pays 2.0 c: fine.
    assert!(native(&s, &tx).is_ok());
    let tx = s.city.fill(sell, poor_buy, 120); // Pays 2.4 c, floored: still 2.
    assert!(native(&s, &tx).is_ok());
    let tx = s.city.fill(sell, poor_buy, 150); // Pays 3 c.
    let refusal = TxError::Underflow {
        what: "buy order lock",
    };
    assert_only(
        forged_failures(&s, &tx, refusal),
        &["left_t < 2^64", UNHOLDABLE[0], UNHOLDABLE[1]],
    );
    let mut poor_sell = open_order(r[2], Side::Sell, 1_000, 20);
    poor_sell.locked = 99;
    let poor_sell = inject_order(&mut s, poor_sell);
    let buy = place(&mut s, r[3], Side::Buy, 1_000, 25);
    let tx = s.city.fill(poor_sell, buy, 100);
    let refusal = TxError::Underflow {
        what: "sell order lock",
    };
    assert_only(
        forged_failures(&s, &tx, refusal),
        &["left_m < 2^64", UNHOLDABLE[0], UNHOLDABLE[1]],
    );
}

#[test]
fn balances_and_energy_past_the_64_bit_limit() {
    let mut s = market_with(4, |g| {
        g.accounts[3].balance = u64::MAX - 29; // resident-0, the seller
        g.accounts[4].energy = u64::MAX - 1_999; // resident-1, the buyer
    });
    let (seller, buyer) = (s.city.resident(0), s.city.resident(1));
    let sell = place(&mut s, seller, Side::Sell, 4_000, 15);
    let buy = place(&mut s, buyer, Side::Buy, 3_000, 17);
    let tx = s.city.fill(sell, buy, 2_000); // Pays 30 c.
    let refusal = TxError::Overflow {
        what: "buyer energy",
    };
    let failures = forged_failures(&s, &tx, refusal);
    assert_fails_with(failures.clone(), "energy_new < 2^64");
    assert_fails_with(failures, "balance_new < 2^64");
}

#[test]
fn padding_encodes_zeros_and_unused_fields_are_zero() {
    let (mut s, r, sell) = book();
    let buy = place(&mut s, r[1], Side::Buy, 1_000, 25);
    let tx = s.city.fill(sell, buy, 100);
    push_fill(&mut s, tx);
    let (w, instance) = s.chunk(Family::Market, 2);
    let k = Family::Market.k_for(2);
    // Per slot, "e5" is in six grids and "fill" in five: slot 1's first of each.
    let run = |overrides: &[(&'static str, usize, Fp)]| {
        failures_with(
            k,
            MarketCircuit::new(w.clone()),
            instance.clone(),
            overrides,
        )
    };
    let found = run(&[
        ("e5", 6, Fp::from(100)),
        ("e6", 0, Fp::one()),
        ("e7", 1, Fp::one()),
    ]);
    for rule in ["padding: field 5 = 0", "field 6 = 0", "field 7 = 0"] {
        assert_fails_with(found.clone(), rule);
    }
    // A padding slot claiming to be a fill must carry the fill's kind code.
    assert_fails_with(run(&[("fill", 5, Fp::one())]), "kind = FILL * fill");
}

// ---------------------------------------------------------------- a random market

/// A seeded random market: orders placed at random between chunks (crossing prices, short
/// expiries, so later chunks meet expired orders), then fills drawn from the matcher and at
/// random (any two orders, a quantity that completes one, a part, or too much), applied
/// natively when accepted and refused otherwise; each chunk of the accepted fills passes
/// MockProver and reaches the native root.
#[test]
fn a_seeded_random_market() {
    const SLOTS: usize = 5;
    const CHUNKS: usize = 3;
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut s = market(8);
    let residents: Vec<u64> = (0..8).map(|i| s.city.resident(i)).collect();
    let (mut refused, mut refunds, mut closed) = (0, 0, 0);
    let mut maker_sides = [0; 2];
    let mut proven = 0;
    for round in 0..CHUNKS as u64 {
        let now = NOW + 300 * round;
        s.now = now;
        // Orders, placed before the chunk.
        for _ in 0..8 {
            let from = residents[rng.random_range(0..residents.len())];
            let (side, price) = if rng.random_range(0..2) == 0 {
                (Side::Buy, rng.random_range(15..36))
            } else {
                (Side::Sell, rng.random_range(10..31))
            };
            let amount = rng.random_range(1..4_000);
            let expiry = now + rng.random_range(1..700);
            let tx = s.city.order(from, side, amount, price, expiry);
            if s.city.state.clone().apply(&tx, now).is_ok() {
                s.setup(tx);
            }
        }
        // Fills: the matcher's best fill for an open order, or two open orders at random.
        let mut fills = 0;
        let mut attempts = 0;
        while fills < SLOTS && attempts < 200 {
            attempts += 1;
            let open: Vec<u64> = s
                .city
                .state
                .open_orders()
                .iter()
                .map(|(id, _)| *id)
                .collect();
            if open.len() < 2 {
                break;
            }
            let pick = |rng: &mut ChaCha20Rng| open[rng.random_range(0..open.len())];
            let tx = if rng.random_range(0..3) == 0 {
                let taker = pick(&mut rng);
                match matcher::next_fill(&s.city.state, taker, now) {
                    Some((maker, quantity)) => s.city.fill(maker, taker, quantity),
                    None => continue,
                }
            } else {
                let (a, b) = (pick(&mut rng), pick(&mut rng));
                let (maker, taker) = (a.min(b), a.max(b));
                let rem = |id| s.city.state.order(id).map_or(0, |o| o.remaining);
                let most = rem(maker).min(rem(taker));
                let quantity = match rng.random_range(0..4) {
                    0 => most,
                    1 => most + rng.random_range(1..50),
                    _ => rng.random_range(0..most.max(1) + 1),
                };
                s.city.fill(maker, taker, quantity)
            };
            match s.city.state.clone().apply(&tx, now) {
                Ok(Event::Traded { maker, refund, .. }) => {
                    let side = s.city.state.order(maker).unwrap().side;
                    maker_sides[side.code() as usize] += 1;
                    refunds += usize::from(refund > 0);
                    let before = s.city.state.open_orders().len();
                    s.push(tx);
                    closed += before - s.city.state.open_orders().len();
                    fills += 1;
                }
                _ => refused += 1,
            }
        }
        assert!(fills > 0, "round {round} made fills");
        proven += fills;
        let (w, instance) = s.chunk(Family::Market, SLOTS);
        assert_eq!(
            failures(
                Family::Market.k_for(SLOTS),
                MarketCircuit::new(w),
                instance.clone()
            ),
            Vec::<String>::new(),
            "chunk {round}"
        );
        // The next chunk starts from here.
        s.txs.clear();
        s.start = s.city.state.clone();
    }
    println!(
        "random market: {proven} fills proven (makers buying {}, selling {}), {refused} refused, \
         {closed} orders closed, {refunds} refunds",
        maker_sides[0], maker_sides[1]
    );
    assert!(proven >= 12 && refused > 0 && closed > 0 && refunds > 0);
    assert!(maker_sides[0] > 0 && maker_sides[1] > 0);
}

// ---------------------------------------------------------------- a real proof

#[test]
fn a_real_proof_verifies_and_binds_its_public_inputs() {
    let mut s = market(4);
    let (seller, buyer) = (s.city.resident(0), s.city.resident(1));
    let sell = place(&mut s, seller, Side::Sell, 4_000, 15);
    let buy = place(&mut s, buyer, Side::Buy, 3_000, 17);
    let tx = s.city.fill(sell, buy, 3_000);
    push_fill(&mut s, tx);
    let (w, instance) = s.chunk(Family::Market, 1);
    let k = Family::Market.k_for(1);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("params");
    let params = circuits::params::load_or_make(&dir, k, |_| {})
        .unwrap()
        .params;
    let keys = proof::ChunkKeys::for_family(&params, Family::Market, 1).unwrap();
    let bytes = proof::prove(&params, &keys, w, &instance, ChaCha20Rng::seed_from_u64(1)).unwrap();
    println!("market proof at k={k}: {} bytes", bytes.len());
    assert_eq!(bytes.len(), 4_384);
    proof::verify(&params, keys.vk(), &instance, &bytes).unwrap();
    let params_rules = s.city.state.params().clone();
    let other = |root_new: Fp, now: u64| {
        Instance::new(
            instance.root_old(),
            root_new,
            instance.data_hash(),
            now,
            instance.chain(),
            &params_rules,
            instance.signers().to_vec(),
        )
    };
    for changed in [
        other(instance.root_new() + Fp::one(), instance.now()),
        other(instance.root_new(), instance.now() + 1),
        Instance::new(
            instance.root_old(),
            instance.root_new(),
            instance.data_hash() + Fp::one(),
            instance.now(),
            instance.chain(),
            &params_rules,
            instance.signers().to_vec(),
        ),
    ] {
        assert!(matches!(
            proof::verify(&params, keys.vk(), &changed, &bytes),
            Err(proof::ProofError::Invalid)
        ));
    }
}
