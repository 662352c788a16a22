//! Properties of the native rules over random workloads: money and energy are conserved
//! (minting by meters aside), every refused transaction leaves the root unchanged, and the
//! fare and rounding rules never charge more than they may.

use circuits::demo::City;
use circuits::records::{OrderStatus, Rider, Side};
use circuits::rules::{buy_lock, fare, fill_payment};
use circuits::state::{Event, Params};
use circuits::Transaction;
use proptest::prelude::*;

const T0: u64 = 1_767_230_000;
const RESIDENTS: usize = 6;

#[derive(Clone, Debug)]
enum Op {
    Transfer {
        from: usize,
        to: usize,
        amount: u64,
    },
    Reading {
        meter: u64,
        increase: u64,
    },
    Order {
        who: usize,
        sell: bool,
        amount: u64,
        price: u64,
        matched: bool,
    },
    Cancel {
        who: usize,
        order: u64,
    },
    Fill {
        maker: u64,
        taker: u64,
        quantity: u64,
    },
    Tap {
        rider: usize,
        operator: usize,
        class: u64,
        wait: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..RESIDENTS;
    let transfer = (who.clone(), 0..RESIDENTS, 0u64..12_000)
        .prop_map(|(from, to, amount)| Op::Transfer { from, to, amount });
    let reading =
        (0u64..3, 0u64..5_000).prop_map(|(meter, increase)| Op::Reading { meter, increase });
    let order = (
        who.clone(),
        any::<bool>(),
        0u64..6_000,
        0u64..40,
        any::<bool>(),
    )
        .prop_map(|(who, sell, amount, price, matched)| Op::Order {
            who,
            sell,
            amount,
            price,
            matched,
        });
    let cancel = (who.clone(), 0u64..12).prop_map(|(who, order)| Op::Cancel { who, order });
    let fill = (0u64..12, 0u64..12, 0u64..5_000).prop_map(|(maker, taker, quantity)| Op::Fill {
        maker,
        taker,
        quantity,
    });
    let tap = (who, 0usize..3, 0u64..5, 0u64..20_000).prop_map(|(rider, operator, class, wait)| {
        Op::Tap {
            rider,
            operator,
            class,
            wait,
        }
    });
    // Orders weigh most, so that resting orders meet and trade.
    prop_oneof![2 => transfer, 2 => reading, 5 => order, 1 => cancel, 1 => fill, 2 => tap]
}

/// (money, energy): balances plus what open orders lock.
fn totals(city: &City) -> (u128, u128) {
    let state = &city.state;
    let mut money = 0u128;
    let mut energy = 0u128;
    for id in 0..state.counters().accounts {
        let a = state.account(id).unwrap();
        money += u128::from(a.balance);
        energy += u128::from(a.energy);
    }
    for id in 0..state.counters().orders {
        let o = state.order(id).unwrap();
        if o.status == OrderStatus::Open {
            match o.side {
                Side::Buy => money += u128::from(o.locked),
                Side::Sell => energy += u128::from(o.locked),
            }
        }
    }
    (money, energy)
}

fn setup() -> City {
    let mut city = City::new(RESIDENTS);
    let ops = ["operator-metro", "operator-bus", "operator-tram"].map(|n| city.id(n));
    for (op, fares) in ops.iter().zip([[290, 400, 350, 600], [275, 275, 200, 500]]) {
        let tx = city.register_operator(*op, fares);
        city.apply(&tx, T0).unwrap();
    }
    for m in 0..3 {
        let (tx, key) = city.register_meter(city.resident(m), &m.to_string());
        city.apply(&tx, T0).unwrap();
        city.add_meter_key(m as u64, key);
    }
    let tx = city.concession(city.resident(1), 50);
    city.apply(&tx, T0).unwrap();
    city
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_workloads_conserve_value_and_refusals_change_nothing(ops in proptest::collection::vec(op(), 10..60)) {
        let mut city = setup();
        let operators = ["operator-metro", "operator-bus", "operator-tram"].map(|n| city.id(n));
        let (money0, energy0) = totals(&city);
        let mut minted = 0u128;
        let mut now = T0;
        let mut last_tap = [T0; RESIDENTS];
        for op in ops {
            now += 1;
            let txs: Vec<Transaction> = match op {
                Op::Transfer { from, to, amount } => vec![city.transfer(city.resident(from), city.resident(to), amount)],
                Op::Reading { meter, increase } => {
                    let last = city.state.meter(meter).unwrap().last_cumulative;
                    vec![city.reading(meter, last + increase)]
                }
                Op::Order { who, sell, amount, price, matched } => {
                    let side = if sell { Side::Sell } else { Side::Buy };
                    // Sellers are the meter owners (residents 0..3), who have energy.
                    let who = if sell { who % 3 } else { who };
                    let tx = city.order(city.resident(who), side, amount, price, now + 10_000_000);
                    if matched {
                        let root = city.state.root();
                        match city.place_and_match(&tx, now) {
                            Ok(applied) => {
                                for (_, event) in applied {
                                    if let Event::Traded { payment, quantity, price, .. } = event {
                                        prop_assert_eq!(payment, fill_payment(quantity, price));
                                    }
                                }
                            }
                            Err(_) => prop_assert_eq!(city.state.root(), root),
                        }
                        vec![]
                    } else {
                        vec![tx]
                    }
                }
                Op::Cancel { who, order } => {
                    // Mostly a real order by its owner; sometimes someone else's.
                    let orders = city.state.counters().orders.max(1);
                    let order = order % orders;
                    let owner = city.state.order(order).map_or(city.resident(who), |o| o.owner);
                    let canceller = if who == 0 { city.resident(1) } else { owner };
                    vec![city.cancel(canceller, order)]
                }
                Op::Fill { maker, taker, quantity } => {
                    let orders = city.state.counters().orders.max(1);
                    vec![city.fill(maker % orders, taker % orders, quantity)]
                }
                Op::Tap { rider, operator, class, wait } => {
                    let time = last_tap[rider] + wait;
                    now = now.max(time);
                    vec![city.tap(city.resident(rider), operators[operator], class, time)]
                }
            };
            for tx in txs {
                let root = city.state.root();
                match city.apply(&tx, now) {
                    Ok(Event::Minted { energy, .. }) => minted += u128::from(energy),
                    Ok(Event::Fare { rider, .. }) => {
                        let i = (rider - city.resident(0)) as usize;
                        last_tap[i] = city.state.account(rider).unwrap().rider.last_tap;
                    }
                    Ok(_) => {}
                    Err(_) => prop_assert_eq!(city.state.root(), root, "refused {}", tx.kind_name()),
                }
            }
            let (money, energy) = totals(&city);
            prop_assert_eq!(money, money0);
            prop_assert_eq!(energy, energy0 + minted);
        }
    }

    #[test]
    fn fills_never_exceed_the_buy_lock(
        amount in 1u64..1_000_000,
        limit in 1u64..10_000,
        cuts in proptest::collection::vec(1u64..1_000_000, 0..20),
        prices in proptest::collection::vec(1u64..10_000, 20),
    ) {
        let lock = buy_lock(amount, limit).unwrap();
        let mut remaining = amount;
        let mut paid = 0u64;
        for (cut, price) in cuts.iter().zip(&prices) {
            if remaining == 0 { break; }
            let quantity = (*cut).min(remaining);
            paid += fill_payment(quantity, (*price).min(limit));
            remaining -= quantity;
        }
        paid += fill_payment(remaining, limit);
        prop_assert!(paid <= lock, "paid {} of a {} lock", paid, lock);
    }

    #[test]
    fn a_tap_never_charges_more_than_the_fare_or_the_cap(
        concession in 0u64..=100,
        fares in proptest::collection::vec(0u64..2_000, 1..30),
        gaps in proptest::collection::vec(1u64..200_000, 30),
    ) {
        let params = Params::default();
        let mut rider = Rider { concession, ..Rider::default() };
        let mut time = T0;
        let mut period_start = 0;
        let mut in_period = 0u64;
        for (class_fare, gap) in fares.iter().zip(&gaps) {
            time += gap;
            let out = fare(&params, &rider, *class_fare, time);
            prop_assert!(out.charged <= out.fare);
            prop_assert!(out.fare <= *class_fare);
            if out.rider.cap_start != period_start {
                period_start = out.rider.cap_start;
                in_period = 0;
            }
            in_period += out.charged;
            prop_assert!(in_period <= params.fare_cap);
            prop_assert_eq!(out.rider.cap_spent, in_period);
            prop_assert!(out.rider.transfers <= params.max_transfers);
            rider = out.rider;
        }
    }
}
