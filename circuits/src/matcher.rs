//! The order matcher: price-time priority, trading at the resting order's price.
//!
//! When an order is placed, the matcher fills it against resting orders of the other side
//! whose price crosses: for a buy, the cheapest sells first; for a sell, the dearest buys
//! first; among equal prices, the oldest first. Expired orders and the trader's own orders
//! are skipped. Each fill is a [`Fill`] transaction signed by the market operator; the rules
//! (and the circuit) check every fill, so the matcher decides only *which* valid fills happen.

use serde::{Deserialize, Serialize};

use crate::constants::MARKET;
use crate::records::{Order, Side};
use crate::state::State;
use crate::tx::{Fill, OrderId, Transaction};

/// The best resting order to fill `taker` against now, and the quantity, or `None`.
pub fn next_fill(state: &State, taker: OrderId, now: u64) -> Option<(OrderId, u64)> {
    let incoming = state.order(taker)?;
    if incoming.status != crate::records::OrderStatus::Open || now >= incoming.expiry {
        return None;
    }
    let crosses = |o: &Order| match incoming.side {
        Side::Buy => o.price <= incoming.price,
        Side::Sell => o.price >= incoming.price,
    };
    state
        .open_orders()
        .into_iter()
        .filter(|(id, o)| {
            *id < taker
                && o.side != incoming.side
                && o.owner != incoming.owner
                && now < o.expiry
                && crosses(o)
        })
        .min_by_key(|(id, o)| {
            // Best price first (lowest ask, highest bid), then oldest.
            let price_rank = match incoming.side {
                Side::Buy => o.price,
                Side::Sell => u64::MAX - o.price,
            };
            (price_rank, *id)
        })
        .map(|(id, o)| (id, o.remaining.min(incoming.remaining)))
}

/// The unsigned fill of `maker` against `taker` (the market operator signs it).
pub fn fill_tx(maker: OrderId, taker: OrderId, quantity: u64, market_nonce: u64) -> Transaction {
    Transaction::Fill(Fill {
        from: MARKET,
        maker,
        taker,
        quantity,
        nonce: market_nonce,
        signature: Default::default(),
    })
}

/// One price level of the book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Cents per kWh.
    pub price: u64,
    /// Wh resting at this price.
    pub amount: u64,
    /// Orders at this price.
    pub orders: usize,
}

/// The open, unexpired orders aggregated by price: bids best (highest) first, asks best
/// (lowest) first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBook {
    /// Buy side.
    pub bids: Vec<Level>,
    /// Sell side.
    pub asks: Vec<Level>,
}

/// The order book at time `now`.
pub fn order_book(state: &State, now: u64) -> OrderBook {
    let mut book = OrderBook::default();
    for (_, order) in state.open_orders() {
        if now >= order.expiry {
            continue;
        }
        let side = match order.side {
            Side::Buy => &mut book.bids,
            Side::Sell => &mut book.asks,
        };
        match side.iter_mut().find(|l| l.price == order.price) {
            Some(level) => {
                level.amount += order.remaining;
                level.orders += 1;
            }
            None => side.push(Level {
                price: order.price,
                amount: order.remaining,
                orders: 1,
            }),
        }
    }
    book.bids.sort_by_key(|l| std::cmp::Reverse(l.price));
    book.asks.sort_by_key(|l| l.price);
    book
}
