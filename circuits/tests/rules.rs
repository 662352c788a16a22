//! Every rule of the rollup, natively: the accept case and each reject case, with edge
//! values. A refused transaction must leave the state root unchanged.

use circuits::constants::*;
use circuits::demo::{demo_voter, City};
use circuits::error::Authority;
use circuits::hash::Fp;
use circuits::keys::SecretKey;
use circuits::records::{FleetKind, OrderStatus, Side};
use circuits::state::{Event, TreeId};
use circuits::tx::{Transaction, Transfer};
use circuits::voter::Vote;
use circuits::TxError;
use ff::Field;

const T: u64 = 1_767_230_000;

fn city() -> City {
    City::new(6)
}

/// Applies a transaction that must be refused with `expected`, and checks nothing changed.
#[track_caller]
fn refused(city: &mut City, tx: &Transaction, now: u64, expected: TxError) {
    let root = city.state.root();
    let counters = city.state.counters().clone();
    assert_eq!(city.apply(tx, now), Err(expected));
    assert_eq!(
        city.state.root(),
        root,
        "a refused transaction changed the root"
    );
    assert_eq!(city.state.counters(), &counters);
}

/// `tx` re-signed by `account` as its own (`from` replaced): an impostor authority.
fn impostor(c: &City, tx: Transaction, account: u64) -> Transaction {
    let mut json = serde_json::to_value(&tx).unwrap();
    json["from"] = account.into();
    json["nonce"] = c.nonce(account).into();
    c.sign(serde_json::from_value(json).unwrap())
}

#[track_caller]
fn ok(city: &mut City, tx: &Transaction, now: u64) -> Event {
    city.apply(tx, now)
        .unwrap_or_else(|e| panic!("{} refused: {e}", tx.kind_name()))
}

fn balance(city: &City, account: u64) -> u64 {
    city.state.account(account).unwrap().balance
}

fn energy(city: &City, account: u64) -> u64 {
    city.state.account(account).unwrap().energy
}

// ---------------------------------------------------------------- signatures and nonces

#[test]
fn transfer_moves_exactly_the_amount_and_bumps_the_nonce() {
    let mut c = city();
    let (a, b) = (c.resident(0), c.resident(1));
    let tx = c.transfer(a, b, 10_000); // Everything: the balance reaches exactly zero.
    assert_eq!(
        ok(&mut c, &tx, T),
        Event::Transferred {
            from: a,
            to: b,
            amount: 10_000
        }
    );
    assert_eq!(balance(&c, a), 0);
    assert_eq!(balance(&c, b), 20_000);
    assert_eq!(c.nonce(a), 1);
    assert_eq!(c.nonce(b), 0);
}

#[test]
fn transfer_refusals() {
    let mut c = city();
    let (a, b) = (c.resident(0), c.resident(1));
    let tx = c.transfer(a, b, 10_001);
    refused(
        &mut c,
        &tx,
        T,
        TxError::InsufficientFunds {
            account: a,
            balance: 10_000,
            needed: 10_001,
        },
    );
    let tx = c.transfer(a, b, 0);
    refused(&mut c, &tx, T, TxError::ZeroAmount);
    let tx = c.transfer(a, a, 5);
    refused(&mut c, &tx, T, TxError::SelfTransfer);
    let tx = c.transfer(a, 999, 5);
    refused(&mut c, &tx, T, TxError::UnknownAccount { account: 999 });
    let unknown_sender = Transaction::Transfer(Transfer {
        from: 999,
        to: a,
        amount: 1,
        nonce: 0,
        signature: Default::default(),
    })
    .signed(c.key(a), c.state.chain());
    refused(
        &mut c,
        &unknown_sender,
        T,
        TxError::UnknownAccount { account: 999 },
    );
}

#[test]
fn wrong_nonce_and_replay_are_refused() {
    let mut c = city();
    let (a, b) = (c.resident(0), c.resident(1));
    let first = c.transfer(a, b, 5);
    ok(&mut c, &first, T);
    refused(
        &mut c,
        &first,
        T,
        TxError::NonceMismatch {
            expected: 1,
            got: 0,
        },
    );
    let ahead = Transaction::Transfer(Transfer {
        from: a,
        to: b,
        amount: 5,
        nonce: 2,
        signature: Default::default(),
    })
    .signed(c.key(a), c.state.chain());
    refused(
        &mut c,
        &ahead,
        T,
        TxError::NonceMismatch {
            expected: 1,
            got: 2,
        },
    );
}

#[test]
fn forged_and_altered_signatures_are_refused() {
    let mut c = city();
    let (a, b) = (c.resident(0), c.resident(1));
    // Signed by someone else's key.
    let forged = Transaction::Transfer(Transfer {
        from: a,
        to: b,
        amount: 5,
        nonce: 0,
        signature: Default::default(),
    })
    .signed(c.key(b), c.state.chain());
    refused(&mut c, &forged, T, TxError::BadSignature);
    // A valid signature over another message (the amount changed after signing).
    let Transaction::Transfer(mut t) = c.transfer(a, b, 5) else {
        unreachable!()
    };
    t.amount = 500;
    refused(&mut c, &Transaction::Transfer(t), T, TxError::BadSignature);
    // Unsigned (the placeholder signature).
    let unsigned = Transaction::Transfer(Transfer {
        from: a,
        to: b,
        amount: 5,
        nonce: 0,
        signature: Default::default(),
    });
    refused(&mut c, &unsigned, T, TxError::BadSignature);
}

#[test]
fn u64_max_balances_move_and_overflow_is_refused() {
    let mut genesis = circuits::genesis::demo(2);
    genesis.accounts[3].balance = u64::MAX; // resident-0
    genesis.accounts[4].balance = u64::MAX; // resident-1
    let mut c = City::from_genesis(genesis);
    let (r0, r1, metro) = (c.resident(0), c.resident(1), c.id("operator-metro"));
    let tx = c.transfer(r0, r1, 1);
    refused(
        &mut c,
        &tx,
        T,
        TxError::Overflow {
            what: "payee balance",
        },
    );
    let tx = c.transfer(r0, metro, u64::MAX);
    ok(&mut c, &tx, T);
    assert_eq!(balance(&c, metro), u64::MAX);
    assert_eq!(balance(&c, r0), 0);
}

#[test]
fn an_opened_account_gets_the_next_index_and_its_key_signs() {
    let mut c = city();
    let a = c.resident(0);
    let key = SecretKey::from_seed(b"newcomer");
    let next = c.state.counters().accounts;
    let tx = c.open_account(a, &key);
    assert_eq!(ok(&mut c, &tx, T), Event::AccountOpened { account: next });
    c.add_account_key(next, key);
    let tx = c.transfer(a, next, 300);
    ok(&mut c, &tx, T);
    let tx = c.transfer(next, a, 100);
    ok(&mut c, &tx, T);
    assert_eq!(balance(&c, next), 200);
}

// ---------------------------------------------------------------- energy: meters

fn with_meter(c: &mut City, owner: u64) -> u64 {
    let (tx, key) = c.register_meter(owner, "test");
    let Event::MeterRegistered { meter, .. } = ok(c, &tx, T) else {
        unreachable!()
    };
    c.add_meter_key(meter, key);
    meter
}

#[test]
fn meter_registration_is_the_grid_operators() {
    let mut c = city();
    let owner = c.resident(0);
    let meter = with_meter(&mut c, owner);
    assert_eq!(meter, 0);
    // A resident signing a meter registration as its own.
    let (tx, _) = c.register_meter(owner, "x");
    let tx = impostor(&c, tx, owner);
    refused(
        &mut c,
        &tx,
        T,
        TxError::NotAuthority {
            required: Authority::GridOperator,
            got: owner,
        },
    );
    let (tx, _) = c.register_meter(999, "y");
    refused(&mut c, &tx, T, TxError::UnknownAccount { account: 999 });
}

#[test]
fn readings_mint_the_increase_once() {
    let mut c = city();
    let owner = c.resident(0);
    let meter = with_meter(&mut c, owner);
    let tx = c.reading(meter, 1_500);
    assert_eq!(
        ok(&mut c, &tx, T),
        Event::Minted {
            meter,
            owner,
            energy: 1_500
        }
    );
    let tx = c.reading(meter, 1_501); // The smallest increase.
    ok(&mut c, &tx, T);
    assert_eq!(energy(&c, owner), 1_501);
    let tx = c.reading(meter, 1_501);
    refused(
        &mut c,
        &tx,
        T,
        TxError::ReadingNotIncreasing {
            meter,
            last: 1_501,
            got: 1_501,
        },
    );
    let tx = c.reading(meter, 10);
    refused(
        &mut c,
        &tx,
        T,
        TxError::ReadingNotIncreasing {
            meter,
            last: 1_501,
            got: 10,
        },
    );
    let tx = c.reading(meter, u64::MAX);
    ok(&mut c, &tx, T);
    assert_eq!(energy(&c, owner), u64::MAX);
}

#[test]
fn readings_need_the_meters_key_and_nonce() {
    let mut c = city();
    let owner = c.resident(0);
    let meter = with_meter(&mut c, owner);
    let Transaction::MeterReading(t) = c.reading(meter, 100) else {
        unreachable!()
    };
    let by_owner = Transaction::MeterReading(t.clone()).signed(c.key(owner), c.state.chain());
    refused(&mut c, &by_owner, T, TxError::BadSignature);
    let good = Transaction::MeterReading(t);
    ok(&mut c, &good, T);
    refused(
        &mut c,
        &good,
        T,
        TxError::NonceMismatch {
            expected: 1,
            got: 0,
        },
    );
    let tx = c.reading(7, 100);
    refused(&mut c, &tx, T, TxError::UnknownMeter { meter: 7 });
}

// ---------------------------------------------------------------- energy: orders and fills

/// A city where resident 0 has 10 kWh to sell.
fn market() -> City {
    let mut c = city();
    let owner = c.resident(0);
    let meter = with_meter(&mut c, owner);
    let tx = c.reading(meter, 10_000);
    ok(&mut c, &tx, T);
    c
}

fn place(c: &mut City, from: u64, side: Side, amount: u64, price: u64) -> u64 {
    let tx = c.order(from, side, amount, price, T + 1_000);
    let Event::OrderPlaced { order, .. } = ok(c, &tx, T) else {
        unreachable!()
    };
    order
}

#[test]
fn placing_locks_and_cancelling_releases() {
    let mut c = market();
    let (seller, buyer) = (c.resident(0), c.resident(1));
    let sell = place(&mut c, seller, Side::Sell, 4_000, 20);
    assert_eq!(energy(&c, seller), 6_000);
    // 1,001 Wh at 1 c/kWh locks ceil(1.001) = 2 cents.
    let buy = place(&mut c, buyer, Side::Buy, 1_001, 1);
    assert_eq!(balance(&c, buyer), 9_998);
    assert_eq!(c.state.order(buy).unwrap().locked, 2);
    let tx = c.cancel(seller, sell);
    assert_eq!(
        ok(&mut c, &tx, T),
        Event::OrderCancelled {
            order: sell,
            released: 4_000
        }
    );
    assert_eq!(energy(&c, seller), 10_000);
    assert_eq!(c.state.order(sell).unwrap().status, OrderStatus::Closed);
    let tx = c.cancel(seller, sell);
    refused(&mut c, &tx, T, TxError::OrderNotOpen { order: sell });
    let tx = c.cancel(seller, buy);
    refused(
        &mut c,
        &tx,
        T,
        TxError::NotOrderOwner {
            order: buy,
            owner: buyer,
            got: seller,
        },
    );
    let tx = c.cancel(buyer, 99);
    refused(&mut c, &tx, T, TxError::UnknownOrder { order: 99 });
    let tx = c.cancel(buyer, buy);
    ok(&mut c, &tx, T);
    assert_eq!(balance(&c, buyer), 10_000);
}

#[test]
fn order_refusals() {
    let mut c = market();
    let (seller, buyer) = (c.resident(0), c.resident(1));
    let tx = c.order(seller, Side::Sell, 10_001, 20, T + 1);
    refused(
        &mut c,
        &tx,
        T,
        TxError::InsufficientEnergy {
            account: seller,
            energy: 10_000,
            needed: 10_001,
        },
    );
    let tx = c.order(buyer, Side::Buy, 1_000_000, 1_001, T + 1); // Locks 100,100 c.
    refused(
        &mut c,
        &tx,
        T,
        TxError::InsufficientFunds {
            account: buyer,
            balance: 10_000,
            needed: 1_001_000,
        },
    );
    let tx = c.order(seller, Side::Sell, 0, 20, T + 1);
    refused(&mut c, &tx, T, TxError::ZeroAmount);
    let tx = c.order(seller, Side::Sell, 10, 0, T + 1);
    refused(&mut c, &tx, T, TxError::ZeroPrice);
    let tx = c.order(seller, Side::Sell, 10, 20, T);
    refused(
        &mut c,
        &tx,
        T,
        TxError::AlreadyExpired { expiry: T, now: T },
    );
    let tx = c.order(buyer, Side::Buy, u64::MAX, 2_000, T + 1);
    refused(
        &mut c,
        &tx,
        T,
        TxError::Overflow {
            what: "order value",
        },
    );
    let tx = c.order(seller, Side::Sell, 10, 20, T + 1); // Expiry one second ahead is fine.
    ok(&mut c, &tx, T);
}

#[test]
fn a_fill_trades_at_the_makers_price_with_floor_rounding() {
    let mut c = market();
    let (seller, buyer) = (c.resident(0), c.resident(1));
    let sell = place(&mut c, seller, Side::Sell, 4_000, 15);
    let buy = place(&mut c, buyer, Side::Buy, 3_000, 17); // Locks 51 c.
                                                          // Partial: 1,999 Wh at 15 c/kWh = 29.985 c, paid as 29 c.
    let tx = c.fill(sell, buy, 1_999);
    let Event::Traded {
        payment,
        price,
        refund,
        ..
    } = ok(&mut c, &tx, T)
    else {
        unreachable!()
    };
    assert_eq!((price, payment, refund), (15, 29, 0));
    assert_eq!(balance(&c, seller), 10_029);
    assert_eq!(energy(&c, buyer), 1_999);
    assert_eq!(c.state.order(buy).unwrap().locked, 51 - 29);
    // The rest of the buy order: 1,001 Wh = 15.015 c, paid 15 c; the buyer's unused lock
    // (51 - 29 - 15 = 7 c) comes back as the order completes.
    let tx = c.fill(sell, buy, 1_001);
    let Event::Traded {
        payment, refund, ..
    } = ok(&mut c, &tx, T)
    else {
        unreachable!()
    };
    assert_eq!((payment, refund), (15, 7));
    assert_eq!(balance(&c, buyer), 10_000 - 29 - 15);
    assert_eq!(balance(&c, seller), 10_000 + 29 + 15);
    let b = c.state.order(buy).unwrap();
    assert_eq!(
        (b.status, b.remaining, b.locked),
        (OrderStatus::Closed, 0, 0)
    );
    let s = c.state.order(sell).unwrap();
    assert_eq!(
        (s.status, s.remaining, s.locked),
        (OrderStatus::Open, 1_000, 1_000)
    );
}

#[test]
fn equal_limit_prices_trade() {
    let mut c = market();
    let (seller, buyer) = (c.resident(0), c.resident(1));
    let buy = place(&mut c, buyer, Side::Buy, 1_000, 20);
    let sell = place(&mut c, seller, Side::Sell, 1_000, 20);
    let tx = c.fill(buy, sell, 1_000);
    ok(&mut c, &tx, T);
    assert_eq!(energy(&c, buyer), 1_000);
    assert_eq!(balance(&c, seller), 10_020);
}

#[test]
fn fill_refusals() {
    let mut c = market();
    let (seller, buyer, other) = (c.resident(0), c.resident(1), c.resident(2));
    let sell = place(&mut c, seller, Side::Sell, 2_000, 20);
    let cheap_buy = place(&mut c, buyer, Side::Buy, 1_000, 19); // One cent below the ask.
    let buy = place(&mut c, other, Side::Buy, 1_000, 25);
    let tx = c.fill(sell, cheap_buy, 500);
    refused(
        &mut c,
        &tx,
        T,
        TxError::AboveBuyLimit {
            price: 20,
            limit: 19,
        },
    );
    let tx = c.fill(sell, buy, 1_001);
    refused(
        &mut c,
        &tx,
        T,
        TxError::FillTooLarge {
            order: buy,
            quantity: 1_001,
            remaining: 1_000,
        },
    );
    let tx = c.fill(sell, buy, 0);
    refused(&mut c, &tx, T, TxError::ZeroAmount);
    let tx = c.fill(buy, sell, 100);
    refused(
        &mut c,
        &tx,
        T,
        TxError::MakerNotOlder {
            maker: buy,
            taker: sell,
        },
    );
    let tx = c.fill(cheap_buy, buy, 100);
    refused(
        &mut c,
        &tx,
        T,
        TxError::SameSide {
            maker: cheap_buy,
            taker: buy,
        },
    );
    // A seller's limit above the resting bid (the batch time never goes back).
    let high_sell = place(&mut c, seller, Side::Sell, 100, 26);
    let tx = c.fill(buy, high_sell, 100);
    refused(
        &mut c,
        &tx,
        T,
        TxError::BelowSellLimit {
            price: 25,
            limit: 26,
        },
    );
    // Self trade, and a fill not signed by the market operator.
    let own_buy = place(&mut c, seller, Side::Buy, 100, 30);
    let tx = c.fill(sell, own_buy, 100);
    refused(
        &mut c,
        &tx,
        T,
        TxError::SelfTrade {
            maker: sell,
            taker: own_buy,
        },
    );
    let tx = impostor(&c, c.fill(sell, buy, 100), buyer);
    refused(
        &mut c,
        &tx,
        T,
        TxError::NotAuthority {
            required: Authority::Market,
            got: buyer,
        },
    );
    // A closed order.
    let tx = c.cancel(buyer, cheap_buy);
    ok(&mut c, &tx, T);
    let tx = c.fill(sell, cheap_buy, 1);
    refused(&mut c, &tx, T, TxError::OrderNotOpen { order: cheap_buy });
    // Expiry last: the batch time never goes back.
    let tx = c.fill(sell, buy, 100);
    refused(
        &mut c,
        &tx,
        T + 1_000,
        TxError::OrderExpired {
            order: sell,
            expiry: T + 1_000,
            now: T + 1_000,
        },
    );
    ok(&mut c, &tx, T + 999); // One second before expiry.
}

#[test]
fn the_matcher_uses_price_then_time_priority_at_the_resting_price() {
    let mut c = market();
    let seller = c.resident(0);
    let asks = [(18, 1_000), (16, 1_000), (16, 1_000), (20, 1_000)];
    let ids: Vec<u64> = asks
        .iter()
        .map(|(price, amount)| place(&mut c, seller, Side::Sell, *amount, *price))
        .collect();
    let buyer = c.resident(1);
    let tx = c.order(buyer, Side::Buy, 2_500, 19, T + 1_000);
    let applied = c.place_and_match(&tx, T).unwrap();
    let fills: Vec<(u64, u64, u64)> = applied
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Traded {
                maker,
                quantity,
                price,
                ..
            } => Some((*maker, *quantity, *price)),
            _ => None,
        })
        .collect();
    // Cheapest first, the older of the two at 16 first, never the ask above the limit.
    assert_eq!(
        fills,
        vec![(ids[1], 1_000, 16), (ids[2], 1_000, 16), (ids[0], 500, 18)]
    );
    let book = circuits::matcher::order_book(&c.state, T);
    assert_eq!(
        book.asks
            .iter()
            .map(|l| (l.price, l.amount))
            .collect::<Vec<_>>(),
        vec![(18, 500), (20, 1_000)]
    );
    assert!(book.bids.is_empty());
}

// ---------------------------------------------------------------- transit

/// A city with metro fares [290, 400, 350, 600] and bus fares [275, 275, 200, 500].
fn transit() -> (City, u64, u64) {
    let mut c = city();
    let (metro, bus) = (c.id("operator-metro"), c.id("operator-bus"));
    let tx = c.register_operator(metro, [290, 400, 350, 600]);
    ok(&mut c, &tx, T);
    let tx = c.register_operator(bus, [275, 275, 200, 500]);
    ok(&mut c, &tx, T);
    (c, metro, bus)
}

fn charged(c: &mut City, rider: u64, operator: u64, class: u64, time: u64) -> (u64, bool, bool) {
    let tx = c.tap(rider, operator, class, time);
    match ok(c, &tx, time) {
        Event::Fare {
            charged,
            transfer,
            capped,
            ..
        } => (charged, transfer, capped),
        e => panic!("not a fare: {e:?}"),
    }
}

#[test]
fn a_tap_pays_the_class_fare_to_the_operator() {
    let (mut c, metro, _) = transit();
    let rider = c.resident(0);
    assert_eq!(charged(&mut c, rider, metro, 1, T), (400, false, false));
    assert_eq!(balance(&c, rider), 9_600);
    assert_eq!(balance(&c, metro), 400);
}

#[test]
fn operator_and_concession_registration_belong_to_the_transit_authority() {
    let (mut c, metro, _) = transit();
    let rider = c.resident(0);
    let tx = impostor(&c, c.concession(rider, 50), rider);
    refused(
        &mut c,
        &tx,
        T,
        TxError::NotAuthority {
            required: Authority::TransitAuthority,
            got: rider,
        },
    );
    let tx = c.concession(rider, 101);
    refused(&mut c, &tx, T, TxError::ConcessionTooLarge { percent: 101 });
    let tx = c.concession(rider, 100); // Free travel is the edge.
    ok(&mut c, &tx, T);
    assert_eq!(charged(&mut c, rider, metro, 3, T), (0, false, false));
}

#[test]
fn tap_refusals() {
    let (mut c, metro, _) = transit();
    let (rider, poor) = (c.resident(0), c.resident(1));
    let tram = c.id("operator-tram"); // Has an account but no fare table.
    let tx = c.tap(rider, tram, 0, T);
    refused(&mut c, &tx, T, TxError::NotAnOperator { account: tram });
    let tx = c.tap(rider, metro, FARE_CLASSES as u64, T);
    refused(
        &mut c,
        &tx,
        T,
        TxError::UnknownFareClass {
            class: 4,
            classes: 4,
        },
    );
    let tx = c.tap(rider, metro, 0, T + 1);
    refused(
        &mut c,
        &tx,
        T,
        TxError::TapInFuture {
            time: T + 1,
            now: T,
        },
    );
    charged(&mut c, rider, metro, 0, T);
    let tx = c.tap(rider, metro, 0, T); // Same second: not forward.
    refused(&mut c, &tx, T, TxError::TapNotForward { last: T, got: T });
    let tx = c.transfer(poor, rider, 9_800);
    ok(&mut c, &tx, T);
    let tx = c.tap(poor, metro, 3, T);
    refused(
        &mut c,
        &tx,
        T,
        TxError::InsufficientFunds {
            account: poor,
            balance: 200,
            needed: 600,
        },
    );
    let tx = c.tap(metro, metro, 0, T);
    refused(&mut c, &tx, T, TxError::SelfTransfer);
}

#[test]
fn transfer_window_is_inclusive_and_anchored_at_the_first_paid_tap() {
    let (mut c, metro, bus) = transit();
    let (a, b) = (c.resident(0), c.resident(1));
    let window = c.state.params().transfer_window;
    // Both start a journey at T.
    assert_eq!(charged(&mut c, a, metro, 1, T), (400, false, false));
    assert_eq!(charged(&mut c, b, metro, 1, T), (400, false, false));
    // Rider a: a transfer exactly at the window's end, discount 275 - min(275, 290) = free.
    assert_eq!(charged(&mut c, a, bus, 0, T + window), (0, true, false));
    // Rider b: one second too late: a new journey at full fare.
    assert_eq!(
        charged(&mut c, b, bus, 0, T + window + 1),
        (275, false, false)
    );
    // The new journey anchors at that tap, not at the first one.
    assert_eq!(
        charged(&mut c, b, metro, 0, T + 2 * window + 1),
        (0, true, false)
    );
}

#[test]
fn transfers_are_capped_in_number_and_discount() {
    let (mut c, metro, bus) = transit();
    let a = c.resident(0);
    assert_eq!(charged(&mut c, a, bus, 0, T), (275, false, false));
    // Discount capped at 290: a 600 fare costs 310 as a transfer.
    assert_eq!(charged(&mut c, a, metro, 3, T + 60), (310, true, false));
    assert_eq!(charged(&mut c, a, bus, 0, T + 120), (0, true, false));
    // max_transfers = 2: the third tap in the window starts a new journey.
    assert_eq!(charged(&mut c, a, bus, 0, T + 180), (275, false, false));
}

#[test]
fn concession_scales_fare_and_discount_cap() {
    let (mut c, metro, _) = transit();
    let a = c.resident(0);
    let tx = c.concession(a, 50);
    ok(&mut c, &tx, T);
    // 600 → 300; transfer discount cap 290 → 145: a transfer pays 300 - 145 = 155.
    assert_eq!(charged(&mut c, a, metro, 3, T), (300, false, false));
    assert_eq!(charged(&mut c, a, metro, 3, T + 10), (155, true, false));
    // 275 at 30% off is floor(192.5) = 192.
    assert_eq!(circuits::rules::apply_concession(275, 30), 192);
    assert_eq!(circuits::rules::apply_concession(u64::MAX, 0), u64::MAX);
}

#[test]
fn the_fare_cap_is_never_exceeded_and_resets_after_its_period() {
    let (mut c, metro, _) = transit();
    let a = c.resident(0);
    let period = c.state.params().cap_period;
    let cap = c.state.params().fare_cap; // 3,400
    let mut spent = 0;
    let mut time = T;
    // 600 a ride, each a new journey (3 h apart): five rides are 3,000, the sixth is capped
    // at 400 (exactly reaching the cap), the seventh is free.
    for expected in [600, 600, 600, 600, 600, 400, 0] {
        let (paid, transfer, capped) = charged(&mut c, a, metro, 3, time);
        assert_eq!((paid, transfer), (expected, false));
        assert_eq!(capped, expected < 600);
        spent += paid;
        time += 3 * 3600;
    }
    assert_eq!(spent, cap);
    // One second before the period ends: still free. Exactly at its end a new period starts
    // with nothing spent, so this tap (a transfer, a second after the last) pays again.
    assert_eq!(
        charged(&mut c, a, metro, 3, T + period - 1),
        (0, false, true)
    );
    assert_eq!(charged(&mut c, a, metro, 3, T + period), (310, true, false));
    assert_eq!(c.state.account(a).unwrap().rider.cap_spent, 310);
}

// ---------------------------------------------------------------- fleet log

#[test]
fn fleet_records_append_and_earlier_entries_stay_provable() {
    let (mut c, metro, bus) = transit();
    let tx = c.fleet_record(metro, 7, FleetKind::Maintenance, b"brakes replaced");
    assert_eq!(
        ok(&mut c, &tx, T),
        Event::FleetFiled {
            position: 0,
            operator: metro,
            vehicle: 7
        }
    );
    let first = c.state.inclusion(TreeId::Fleet, 0);
    let tx = c.fleet_record(bus, 3, FleetKind::DriverShift, b"driver 12, 06:00-14:00");
    ok(&mut c, &tx, T + 5);
    let entry = c.state.fleet_entry(0).unwrap();
    assert_eq!(
        (entry.vehicle, entry.kind, entry.filed_at),
        (7, FleetKind::Maintenance, T)
    );
    let now = c.state.inclusion(TreeId::Fleet, 0);
    assert_eq!(now.leaf, first.leaf, "an earlier record changed");
    now.verify(c.state.root()).unwrap();
    assert_eq!(c.state.counters().fleet, 2);
    let resident = c.resident(0);
    let tx = c.fleet_record(resident, 1, FleetKind::Insurance, b"x");
    refused(
        &mut c,
        &tx,
        T + 5,
        TxError::NotAnOperator { account: resident },
    );
}

// ---------------------------------------------------------------- governance

/// A city with `voters` registered voters, delegates resident-3 (0) and resident-4 (1), and
/// proposal 0 with three options open in `[T + 100, T + 1000)`.
fn election(voters: u64) -> City {
    let mut c = city();
    for v in 0..voters {
        let tx = c.register_voter(demo_voter(v).commitment());
        ok(&mut c, &tx, T);
    }
    for r in [3, 4] {
        let tx = c.register_delegate(c.resident(r));
        ok(&mut c, &tx, T);
    }
    let tx = c.proposal("Q?", &["a", "b", "c"], T + 100, T + 1_000);
    ok(&mut c, &tx, T);
    c
}

fn ballot(c: &mut City, voter: u64, vote: Vote, now: u64) -> Event {
    let tx = c.ballot(&demo_voter(voter), 0, vote);
    ok(c, &tx, now)
}

#[test]
fn voter_delegate_and_proposal_registration_rules() {
    let mut c = election(1);
    let r = c.resident(0);
    let tx = impostor(&c, c.register_voter(Fp::from(5)), r);
    refused(
        &mut c,
        &tx,
        T,
        TxError::NotAuthority {
            required: Authority::Registrar,
            got: r,
        },
    );
    let tx = c.register_voter(Fp::zero());
    refused(&mut c, &tx, T, TxError::ZeroCommitment);
    let d = c.resident(3);
    let tx = c.register_delegate(d);
    refused(
        &mut c,
        &tx,
        T,
        TxError::AlreadyDelegate {
            account: d,
            delegate: 0,
        },
    );
    let tx = c.proposal("none", &[], T, T + 1);
    refused(
        &mut c,
        &tx,
        T,
        TxError::BadOptionCount {
            got: 0,
            max: MAX_OPTIONS,
        },
    );
    let many: Vec<String> = (0..=MAX_OPTIONS).map(|i| i.to_string()).collect();
    let many: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
    let tx = c.proposal("many", &many, T, T + 1);
    refused(
        &mut c,
        &tx,
        T,
        TxError::BadOptionCount {
            got: MAX_OPTIONS + 1,
            max: MAX_OPTIONS,
        },
    );
    let tx = c.proposal("max", &many[..MAX_OPTIONS as usize], T, T + 1);
    ok(&mut c, &tx, T);
    let tx = c.proposal("empty window", &["a"], T, T);
    refused(&mut c, &tx, T, TxError::EmptyWindow { start: T, end: T });
}

#[test]
fn ballots_count_only_inside_the_window() {
    let mut c = election(2);
    let tx = c.ballot(&demo_voter(0), 0, Vote::Option(0));
    let outside = |now| TxError::OutsideWindow {
        proposal: 0,
        start: T + 100,
        end: T + 1_000,
        now,
    };
    refused(&mut c, &tx, T + 99, outside(T + 99));
    refused(&mut c, &tx, T + 1_000, outside(T + 1_000));
    ok(&mut c, &tx, T + 100); // Exactly at the opening.
    let tx = c.ballot(&demo_voter(1), 0, Vote::Option(1));
    ok(&mut c, &tx, T + 999); // The last second.
    let tally = c.state.tally_result(0).unwrap();
    assert_eq!(tally.direct, vec![1, 1, 0]);
}

#[test]
fn ballot_refusals() {
    let mut c = election(2);
    let now = T + 100;
    let tx = c.ballot(&demo_voter(0), 0, Vote::Option(3));
    refused(
        &mut c,
        &tx,
        now,
        TxError::UnknownOption {
            option: 3,
            options: 3,
        },
    );
    let tx = c.ballot(&demo_voter(0), 0, Vote::Delegate(2));
    refused(&mut c, &tx, now, TxError::UnknownDelegate { delegate: 2 });
    let tx = c.ballot(&demo_voter(0), 1, Vote::Option(0));
    refused(&mut c, &tx, now, TxError::UnknownProposal { proposal: 1 });
    // A voter registered after the proposal opened: a ballot against the new root is refused.
    let tx = c.register_voter(demo_voter(9).commitment());
    ok(&mut c, &tx, T);
    let Transaction::Ballot(mut b) = c.ballot(&demo_voter(9), 0, Vote::Option(0)) else {
        unreachable!()
    };
    let snapshot = b.voter_root;
    b.voter_root = c.state.voter_root();
    let expected = TxError::VoterRootMismatch {
        proposal: 0,
        expected: circuits::hash::to_hex(&snapshot),
        got: circuits::hash::to_hex(&b.voter_root),
    };
    refused(&mut c, &Transaction::Ballot(b.clone()), now, expected);
    b.voter_root = snapshot;
    b.nullifier = Fp::zero();
    refused(
        &mut c,
        &Transaction::Ballot(b.clone()),
        now,
        TxError::ZeroNullifier,
    );
    // Another nullifier in the same slot (same low 64 bits): refused, never overwritten.
    ballot(&mut c, 0, Vote::Option(0), now);
    let taken = demo_voter(0).nullifier(0);
    let position = circuits::hash::low_u64(taken);
    b.nullifier = taken + Fp::from(2).pow([64]);
    assert_eq!(circuits::hash::low_u64(b.nullifier), position);
    refused(
        &mut c,
        &Transaction::Ballot(b),
        now,
        TxError::NullifierSlotTaken { position },
    );
}

#[test]
fn a_new_ballot_replaces_the_earlier_one_and_moves_the_tally() {
    let mut c = election(3);
    let now = T + 200;
    assert_eq!(
        ballot(&mut c, 0, Vote::Option(0), now),
        Event::BallotCast {
            proposal: 0,
            slot: 0,
            replaced: None
        }
    );
    ballot(&mut c, 1, Vote::Delegate(0), now);
    ballot(&mut c, 2, Vote::Delegate(0), now);
    let t = c.state.tally_result(0).unwrap();
    assert_eq!((t.direct.clone(), t.abstained), (vec![1, 0, 0], 2));
    // Voter 0 changes to option 2; voter 1 reassigns to delegate 1; voter 2 overrides.
    assert_eq!(
        ballot(&mut c, 0, Vote::Option(2), now + 1),
        Event::BallotCast {
            proposal: 0,
            slot: 2,
            replaced: Some(0)
        }
    );
    ballot(&mut c, 1, Vote::Delegate(1), now + 1);
    ballot(&mut c, 2, Vote::Option(1), now + 1);
    let t = c.state.tally_result(0).unwrap();
    assert_eq!(t.direct, vec![0, 1, 1]);
    assert_eq!(t.abstained, 1); // Delegate 1 has not voted.
    assert_eq!(c.state.tally(0, MAX_OPTIONS).count, 0);
    // Casting the same vote again changes no tally.
    let before = c.state.tally_result(0).unwrap();
    ballot(&mut c, 2, Vote::Option(1), now + 2);
    assert_eq!(c.state.tally_result(0).unwrap(), before);
}

#[test]
fn delegate_votes_resolve_followers_and_can_change() {
    let mut c = election(4);
    let now = T + 200;
    for v in 0..3 {
        ballot(&mut c, v, Vote::Delegate(0), now);
    }
    ballot(&mut c, 3, Vote::Option(1), now);
    let d0 = c.resident(3);
    let tx = c.delegate_vote(d0, 0, 2);
    assert_eq!(
        ok(&mut c, &tx, now),
        Event::DelegateVoted {
            proposal: 0,
            delegate: 0,
            option: 2
        }
    );
    let t = c.state.tally_result(0).unwrap();
    assert_eq!((t.totals, t.abstained), (vec![0, 1, 3], 0));
    // Refusals while the window is open.
    let tx = c.delegate_vote(d0, 0, 3);
    refused(
        &mut c,
        &tx,
        now,
        TxError::UnknownOption {
            option: 3,
            options: 3,
        },
    );
    let r = c.resident(0);
    let tx = c.delegate_vote(r, 0, 0);
    refused(&mut c, &tx, now, TxError::NotADelegate { account: r });
    let tx = c.delegate_vote(d0, 0, 1);
    ok(&mut c, &tx, T + 999);
    let t = c.state.tally_result(0).unwrap();
    assert_eq!(t.totals, vec![0, 4, 0]);
    assert_eq!(t.delegates[0].choice, Some(1));
    let tx = c.delegate_vote(d0, 0, 0);
    refused(
        &mut c,
        &tx,
        T + 1_000,
        TxError::OutsideWindow {
            proposal: 0,
            start: T + 100,
            end: T + 1_000,
            now: T + 1_000,
        },
    );
}

#[test]
fn nullifiers_of_one_voter_in_two_proposals_are_unrelated_leaves() {
    let mut c = election(1);
    let tx = c.proposal("Second?", &["x", "y"], T + 100, T + 1_000);
    ok(&mut c, &tx, T);
    ballot(&mut c, 0, Vote::Option(0), T + 100);
    let tx = c.ballot(&demo_voter(0), 1, Vote::Option(1));
    assert_eq!(
        ok(&mut c, &tx, T + 100),
        Event::BallotCast {
            proposal: 1,
            slot: 1,
            replaced: None
        }
    );
    assert_eq!(c.state.tally_result(0).unwrap().direct, vec![1, 0, 0]);
    assert_eq!(c.state.tally_result(1).unwrap().direct, vec![0, 1]);
}

// ---------------------------------------------------------------- state and proofs

#[test]
fn every_tree_has_inclusion_proofs_against_the_state_root() {
    let (city, _) = circuits::demo::run_scenario(&Default::default());
    let root = city.state.root();
    for tree in TreeId::ALL {
        for index in [0, 1, 5] {
            let proof = city.state.inclusion(tree, index);
            proof.verify(root).unwrap();
            assert!(proof.verify(root + Fp::one()).is_err());
            let mut wrong_leaf = proof.clone();
            wrong_leaf.leaf += Fp::one();
            assert!(wrong_leaf.verify(root).is_err(), "{tree:?}");
        }
    }
    let nullifier = demo_voter(0).nullifier(0);
    let record = city.state.ballot(nullifier).expect("voter 0 voted");
    let proof = city
        .state
        .inclusion(TreeId::Ballots, circuits::hash::low_u64(nullifier));
    assert_eq!(proof.leaf, circuits::records::Leaf::leaf(&record));
}

#[test]
fn the_demo_scenario_applies_every_kind_and_refuses_only_its_two_bad_steps() {
    let (city, log) = circuits::demo::run_scenario(&Default::default());
    let refused: Vec<_> = log.iter().filter(|s| s.outcome.is_err()).collect();
    assert_eq!(refused.len(), 2);
    let kinds: std::collections::BTreeSet<_> = log
        .iter()
        .filter(|s| s.outcome.is_ok())
        .map(|s| s.tx.kind())
        .collect();
    // Every kind but open_account is in the script.
    assert_eq!(kinds.len(), 15);
    let t = city.state.tally_result(0).unwrap();
    assert_eq!(t.totals.iter().sum::<u64>() + t.abstained, 30);
    assert!(log
        .iter()
        .any(|s| matches!(s.outcome, Ok(Event::Fare { capped: true, .. }))));
    assert!(log
        .iter()
        .any(|s| matches!(s.outcome, Ok(Event::Fare { transfer: true, .. }))));
}

// ---------------------------------------------------------------- protocol: time, replay, domain

#[test]
fn batch_time_never_goes_back_nor_before_genesis() {
    let mut c = city();
    let (a, b) = (c.resident(0), c.resident(1));
    let genesis = c.genesis.time;
    assert_eq!(c.state.time(), genesis, "the state starts at genesis time");
    // Before genesis: refused, nothing changes.
    let tx = c.transfer(a, b, 1);
    refused(
        &mut c,
        &tx,
        genesis - 1,
        TxError::BatchTimeBackwards {
            last: genesis,
            now: genesis - 1,
        },
    );
    // At genesis time exactly, then later: accepted, and the state remembers the time.
    ok(&mut c, &tx, genesis);
    let tx = c.transfer(a, b, 1);
    ok(&mut c, &tx, T);
    assert_eq!(c.state.time(), T);
    // The same time again is fine (one batch, many transactions).
    let tx = c.transfer(a, b, 1);
    ok(&mut c, &tx, T);
    // A backdated batch is refused: it could reopen a closed vote or revive an expired order.
    let tx = c.transfer(a, b, 1);
    refused(
        &mut c,
        &tx,
        T - 1,
        TxError::BatchTimeBackwards {
            last: T,
            now: T - 1,
        },
    );
}

#[test]
fn a_backdated_batch_cannot_reopen_a_closed_vote() {
    let mut c = election(2);
    ballot(&mut c, 0, Vote::Option(0), T + 100);
    // Any transaction after the window closes moves the state's time past it...
    let (a, b) = (c.resident(0), c.resident(1));
    let tx = c.transfer(a, b, 1);
    ok(&mut c, &tx, T + 1_000);
    // ... and a late ballot can no longer be slipped in by dating its batch inside the window.
    let tx = c.ballot(&demo_voter(1), 0, Vote::Option(1));
    refused(
        &mut c,
        &tx,
        T + 999,
        TxError::BatchTimeBackwards {
            last: T + 1_000,
            now: T + 999,
        },
    );
}

#[test]
fn a_tap_lies_within_the_tap_delay_before_its_batch() {
    let (mut c, metro, _) = transit();
    let (a, b) = (c.resident(0), c.resident(1));
    let delay = c.state.params().max_tap_delay;
    assert_eq!(delay, 15 * 60, "the demo genesis allows 15 minutes");
    let now = T + 10_000;
    // Exactly at now - max_tap_delay: accepted.
    let tx = c.tap(a, metro, 1, now - delay);
    ok(&mut c, &tx, now);
    // One second older: refused, even though it is after the rider's last tap.
    let tx = c.tap(b, metro, 1, now - delay - 1);
    refused(
        &mut c,
        &tx,
        now,
        TxError::TapTooOld {
            time: now - delay - 1,
            now,
            max_delay: delay,
        },
    );
    // A rider cannot backdate a ride hours later into the journey's transfer window.
    let tx = c.tap(a, metro, 1, now - delay + 60);
    let later = now + 3 * 3600;
    refused(
        &mut c,
        &tx,
        later,
        TxError::TapTooOld {
            time: now - delay + 60,
            now: later,
            max_delay: delay,
        },
    );
}

#[test]
fn a_replayed_ballot_cannot_undo_a_change_of_vote() {
    let mut c = election(1);
    let now = T + 200;
    // B1: option 0 (sequence 0); B2: option 1 (sequence 1) replaces it.
    let b1 = c.ballot(&demo_voter(0), 0, Vote::Option(0));
    ok(&mut c, &b1, now);
    let b2 = c.ballot(&demo_voter(0), 0, Vote::Option(1));
    assert_eq!(
        ok(&mut c, &b2, now),
        Event::BallotCast {
            proposal: 0,
            slot: 1,
            replaced: Some(0)
        }
    );
    assert_eq!(c.state.tally_result(0).unwrap().direct, vec![0, 1, 0]);
    // Anyone replaying B1 from the batch data is refused: it is not newer.
    refused(
        &mut c,
        &b1,
        now,
        TxError::BallotNotNewer { current: 1, got: 0 },
    );
    // Nor is a copy of B2 itself.
    refused(
        &mut c,
        &b2,
        now,
        TxError::BallotNotNewer { current: 1, got: 1 },
    );
    assert_eq!(c.state.tally_result(0).unwrap().direct, vec![0, 1, 0]);
    // The voter switches back to option 0 with a new ballot (sequence 2): accepted.
    let b3 = c.ballot(&demo_voter(0), 0, Vote::Option(0));
    let Transaction::Ballot(t) = &b3 else {
        unreachable!()
    };
    assert_eq!(t.seq, 2);
    ok(&mut c, &b3, now);
    assert_eq!(c.state.tally_result(0).unwrap().direct, vec![1, 0, 0]);
    assert_eq!(c.state.ballot(t.nullifier).unwrap().seq, 2);
}

#[test]
fn a_signature_made_for_another_deployment_is_refused() {
    let mut c = city();
    let (a, b) = (c.resident(0), c.resident(1));
    // Another city (or a test deployment) sharing the same keys: another genesis hash.
    let mut other = circuits::genesis::demo(6);
    other.time += 1;
    assert_ne!(other.chain(), c.state.chain());
    let tx = c.transfer(a, b, 100).signed(c.key(a), other.chain());
    refused(&mut c, &tx, T, TxError::BadSignature);
    // The same transaction signed for this deployment is accepted.
    let tx = c.transfer(a, b, 100).signed(c.key(a), c.state.chain());
    ok(&mut c, &tx, T);
}

#[test]
fn genesis_parameters_are_bounded_so_everything_accepted_can_be_proven() {
    for field in ["transfer_window", "cap_period", "max_tap_delay"] {
        let mut json: serde_json::Value =
            serde_json::from_str(&circuits::genesis::demo(1).to_json()).unwrap();
        json["params"][field] = (1u64 << 40).into();
        let err = circuits::Genesis::from_json(&json.to_string()).unwrap_err();
        assert!(
            err.to_string().contains(field) && err.to_string().contains("2^40"),
            "{err}"
        );
        json["params"][field] = ((1u64 << 40) - 1).into();
        circuits::Genesis::from_json(&json.to_string()).unwrap();
    }
    // The tap delay is a required field: a genesis of before it is refused, not defaulted.
    let mut json: serde_json::Value =
        serde_json::from_str(&circuits::genesis::demo(1).to_json()).unwrap();
    json["params"]
        .as_object_mut()
        .unwrap()
        .remove("max_tap_delay");
    let err = circuits::Genesis::from_json(&json.to_string()).unwrap_err();
    assert!(err.to_string().contains("max_tap_delay"), "{err}");
}

#[test]
fn votes_beyond_every_slot_are_refused_without_panicking() {
    let mut c = election(1);
    for vote in [
        Vote::Option(MAX_OPTIONS),
        Vote::Option(u64::MAX),
        Vote::Delegate(MAX_DELEGATES),
        Vote::Delegate(u64::MAX),
    ] {
        let tx = c.ballot(&demo_voter(0), 0, vote);
        let err = c.apply(&tx, T + 200).unwrap_err();
        assert!(
            matches!(
                err,
                TxError::UnknownOption { .. } | TxError::UnknownDelegate { .. }
            ),
            "{err}"
        );
    }
}
