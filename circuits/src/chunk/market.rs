//! The market family: `fill`, a match of two resting orders made by the matcher and signed
//! by the market operator. A slot proves exactly what [`crate::rules`]' `fill` decides:
//!
//! - the signer is the market operator (`from = MARKET`), its key signed the encoding and
//!   its nonce is the encoding's and goes up by one;
//! - `quantity != 0`; the maker is older than the taker (`maker < taker`) and the taker
//!   exists (`taker < orders`);
//! - both orders are open (status 1) and unexpired (`now < expiry`), their sides differ,
//!   their owners differ, neither owner is the market account, and both owners exist;
//! - the trade is at the maker's price: `price ≤ buy limit` and `price ≥ sell limit`;
//! - `payment = floor(quantity · price / 1000)` (a remainder below 1000);
//! - both orders' `remaining` drop by the quantity (never below 0, so the fill fits both);
//!   the sell order's lock drops by the quantity and the buy order's by the payment (never
//!   below 0); the buyer receives the energy and the seller the payment;
//! - a buy order whose remaining reaches 0 is closed and its lock left over is refunded to
//!   its owner's balance (the lock becomes 0); a sell order whose remaining reaches 0 is
//!   closed. Every new balance, energy, lock and remaining is range-checked to 64 bits
//!   (the native rules refuse what would overflow a `u64`).
//!
//! Touches: 0 the market account (nonce), 1 the maker order, 2 the taker order (generic
//! touches of the orders tree), 3 the maker's owner account, 4 the taker's owner account.
//! Each is enabled by the `fill` flag, so a padding slot (all flags 0, all-zero encoding)
//! changes nothing.
//!
//! The maker's side is a bit `s` (0 buy, 1 sell) read from its leaf, the taker's is
//! `1 − s`; every rule of the buy or the sell order is written once per order with that
//! order's side bit, so the buyer and the seller are the maker's and taker's owners as `s`
//! says. Comparisons are differences range-checked to 64 bits (a negative difference is a
//! field element far above `2^64`); `x != 0` is `x · inv = 1`.

use std::collections::HashMap;

use ff::PrimeField;
use halo2_proofs::{
    circuit::{Layouter, Value},
    plonk::{ConstraintSystem, Error, Expression, Selector},
};

use super::base::{
    inverse, owner_fields, rider_words, AccountCells, AccountUpdate, Base, Env, Running,
};
use super::grid::{c, gate, one, Grid, OrZero, Slot};
use super::merkle::Cell;
use super::witness::{at, SlotWitness};
use crate::constants::{MARKET, WH_PER_KWH};
use crate::hash::Fp;
use crate::state::{State, TreeId};
use crate::tx::{kind, Transaction};

/// Touches per slot.
pub(crate) const TOUCHES: usize = 5;
/// Rows one slot uses (pinned by a test: a change of layout is deliberate).
pub(crate) const ROWS_PER_SLOT: usize = 2_625;
/// Rows used once per chunk: the two state-root hashes, the counters, the public values, the
/// batch time's check.
pub(crate) const ROWS_FIXED: usize = 171;

/// The leaves each kind touches, in touch order: the market account, the maker and taker
/// orders, and the accounts of their owners (read from the state; an order that does not
/// exist makes the rules refuse the fill).
pub(crate) fn targets(state: &State, tx: &Transaction) -> Vec<Option<(TreeId, u64)>> {
    match tx {
        Transaction::Fill(t) => {
            let owner = |id| state.order(id).map_or(0, |o| o.owner);
            vec![
                at(TreeId::Accounts, t.from),
                at(TreeId::Orders, t.maker),
                at(TreeId::Orders, t.taker),
                at(TreeId::Accounts, owner(t.maker)),
                at(TreeId::Accounts, owner(t.taker)),
            ]
        }
        _ => vec![None; TOUCHES],
    }
}

/// The kind flag, the encoding `[FILL, from, nonce, maker, taker, quantity, 0, 0]`, the
/// signer's nonce and existence, the order ids' order and the taker's existence.
///
/// ```text
/// row 0: fill  e0    e1   e2        e3       e4     e5     e6  e7  inv_q
/// row 1: d_mt  d_tx  orders nonce  nonce_new accounts d_from
/// ```
const KIND: Grid = Grid(&[
    "fill",
    "e0",
    "e1",
    "e2",
    "e3",
    "e4",
    "e5",
    "e6",
    "e7",
    "inv_q",
    "d_mt",
    "d_tx",
    "orders",
    "nonce",
    "nonce_new",
    "accounts",
    "d_from",
]);

/// Both orders open with opposite sides, unexpired; the price within both limits.
/// `ss_*` is the leaf's `side + 2 · status` part.
///
/// ```text
/// row 0: fill s b_t ss_m ss_t exp_m exp_t now d_exp_m d_exp_t
/// row 1: price_m price_t d_buy d_sell
/// ```
const OPEN: Grid = Grid(&[
    "fill", "s", "b_t", "ss_m", "ss_t", "exp_m", "exp_t", "now", "d_exp_m", "d_exp_t", "price_m",
    "price_t", "d_buy", "d_sell",
]);

/// The owners: different, not the market account, existing.
///
/// ```text
/// row 0: fill owner_m owner_t inv_own inv_om inv_ot accounts d_om d_ot
/// ```
const OWNERS: Grid = Grid(&[
    "fill", "owner_m", "owner_t", "inv_own", "inv_om", "inv_ot", "accounts", "d_om", "d_ot",
]);

/// The payment: `quantity · price = 1000 · pay + r`, `r + rc = 999`.
///
/// ```text
/// row 0: e5 price_m pay r rc
/// ```
const PAY: Grid = Grid(&["e5", "price_m", "pay", "r", "rc"]);

/// The names of one order's cells in its rule region and its owner's.
struct OrderNames {
    /// The order's side bit (0 buy, 1 sell).
    side: &'static str,
    rem: &'static str,
    rem_new: &'static str,
    inv: &'static str,
    done: &'static str,
    lock: &'static str,
    left: &'static str,
    lock_new: &'static str,
    ss_new: &'static str,
    refund: &'static str,
    balance: &'static str,
    balance_new: &'static str,
    energy: &'static str,
    energy_new: &'static str,
}

const MAKER: OrderNames = OrderNames {
    side: "s",
    rem: "rem_m",
    rem_new: "rem_m_new",
    inv: "inv_rm",
    done: "done_m",
    lock: "lock_m",
    left: "left_m",
    lock_new: "lock_m_new",
    ss_new: "ss_m_new",
    refund: "refund_m",
    balance: "bal_m",
    balance_new: "bal_m_new",
    energy: "en_m",
    energy_new: "en_m_new",
};

const TAKER: OrderNames = OrderNames {
    side: "b_t",
    rem: "rem_t",
    rem_new: "rem_t_new",
    inv: "inv_rt",
    done: "done_t",
    lock: "lock_t",
    left: "left_t",
    lock_new: "lock_t_new",
    ss_new: "ss_t_new",
    refund: "refund_t",
    balance: "bal_t",
    balance_new: "bal_t_new",
    energy: "en_t",
    energy_new: "en_t_new",
};

/// One order after the fill (the maker's: `s`, `rem_m`, ...; the taker's: `b_t`, `rem_t`):
///
/// ```text
/// row 0: fill side e5 pay rem rem_new inv done lock left
/// row 1: lock_new ss_new refund
/// ```
const ORDER_M: Grid = Grid(&[
    "fill",
    "s",
    "e5",
    "pay",
    "rem_m",
    "rem_m_new",
    "inv_rm",
    "done_m",
    "lock_m",
    "left_m",
    "lock_m_new",
    "ss_m_new",
    "refund_m",
]);
/// The taker order after the fill (same layout as [`ORDER_M`]).
const ORDER_T: Grid = Grid(&[
    "fill",
    "b_t",
    "e5",
    "pay",
    "rem_t",
    "rem_t_new",
    "inv_rt",
    "done_t",
    "lock_t",
    "left_t",
    "lock_t_new",
    "ss_t_new",
    "refund_t",
]);

/// One order's owner after the fill:
///
/// ```text
/// row 0: side e5 pay refund balance balance_new energy energy_new
/// ```
const OWNER_M: Grid = Grid(&[
    "s",
    "e5",
    "pay",
    "refund_m",
    "bal_m",
    "bal_m_new",
    "en_m",
    "en_m_new",
]);
/// The taker's owner after the fill (same layout as [`OWNER_M`]).
const OWNER_T: Grid = Grid(&[
    "b_t",
    "e5",
    "pay",
    "refund_t",
    "bal_t",
    "bal_t_new",
    "en_t",
    "en_t_new",
]);

/// The family's rule gates.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    q_kind: Selector,
    q_open: Selector,
    q_owners: Selector,
    q_pay: Selector,
    q_order_m: Selector,
    q_order_t: Selector,
    q_owner_m: Selector,
    q_owner_t: Selector,
}

/// The rules of one order after the fill, over its names (`n`).
fn order_rules(
    g: &super::grid::Queries,
    n: &OrderNames,
    names: &[&'static str; 7],
) -> Vec<(&'static str, Expression<Fp>)> {
    let side = g.e(n.side);
    vec![
        (names[0], g.e(n.rem_new) - g.e(n.rem) + g.e("e5")),
        (
            names[1],
            g.e(n.done) - g.e("fill") + g.e(n.rem_new) * g.e(n.inv),
        ),
        (names[2], g.e(n.rem_new) * g.e(n.done)),
        (
            names[3],
            g.e(n.left) - g.e(n.lock)
                + side.clone() * g.e("e5")
                + (one() - side.clone()) * g.e("pay"),
        ),
        (
            names[4],
            g.e(n.refund) - (one() - side.clone()) * g.e(n.done) * g.e(n.left),
        ),
        (names[5], g.e(n.lock_new) - g.e(n.left) + g.e(n.refund)),
        (
            names[6],
            g.e(n.ss_new) - side - c(2) * (g.e("fill") + g.e(n.done)),
        ),
    ]
}

/// The rules of one order's owner after the fill.
fn owner_rules(
    g: &super::grid::Queries,
    n: &OrderNames,
    names: &[&'static str; 2],
) -> Vec<(&'static str, Expression<Fp>)> {
    let side = g.e(n.side);
    vec![
        (
            names[0],
            g.e(n.energy_new) - g.e(n.energy) - (one() - side.clone()) * g.e("e5"),
        ),
        (
            names[1],
            g.e(n.balance_new) - g.e(n.balance) - side * g.e("pay") - g.e(n.refund),
        ),
    ]
}

/// Configures the rule gates on the shared columns.
pub(crate) fn configure(meta: &mut ConstraintSystem<Fp>, base: &Base) -> Config {
    let q_kind = gate(meta, base, "market: kind, encoding, signer", KIND, |g| {
        let not_fill = one() - g.e("fill");
        vec![
            ("fill flag is boolean", g.e("fill") * not_fill.clone()),
            (
                "kind = FILL * fill",
                g.e("e0") - c(kind::FILL) * g.e("fill"),
            ),
            (
                "from = MARKET * fill (the market operator signs fills)",
                g.e("e1") - c(MARKET) * g.e("fill"),
            ),
            ("padding: field 2 = 0", not_fill.clone() * g.e("e2")),
            ("padding: field 3 = 0", not_fill.clone() * g.e("e3")),
            ("padding: field 4 = 0", not_fill.clone() * g.e("e4")),
            ("padding: field 5 = 0", not_fill * g.e("e5")),
            ("field 6 = 0", g.e("e6")),
            ("field 7 = 0", g.e("e7")),
            (
                "fill: quantity != 0",
                g.e("fill") * (g.e("e5") * g.e("inv_q") - one()),
            ),
            (
                "d_mt = fill * (taker - maker - 1) (the maker is older)",
                g.e("d_mt") - g.e("fill") * (g.e("e4") - g.e("e3") - one()),
            ),
            (
                "d_tx = fill * (orders - 1 - taker) (the taker exists)",
                g.e("d_tx") - g.e("fill") * (g.e("orders") - one() - g.e("e4")),
            ),
            (
                "fill * (tx nonce - nonce) = 0",
                g.e("fill") * (g.e("e2") - g.e("nonce")),
            ),
            (
                "nonce_new = nonce + fill",
                g.e("nonce_new") - g.e("nonce") - g.e("fill"),
            ),
            (
                "d_from = fill * (accounts - 1 - from) (the market account exists)",
                g.e("d_from") - g.e("fill") * (g.e("accounts") - one() - g.e("e1")),
            ),
        ]
    });

    let q_open = gate(
        meta,
        base,
        "market: open orders, sides, limits",
        OPEN,
        |g| {
            let s = g.e("s");
            let fill = g.e("fill");
            vec![
                ("maker side s is boolean", s.clone() * (one() - s.clone())),
                (
                    "b_t = fill * (1 - s) (the taker is on the other side)",
                    g.e("b_t") - fill.clone() * (one() - s.clone()),
                ),
                (
                    "ss_m = s + 2 fill (the maker is open)",
                    g.e("ss_m") - s.clone() - c(2) * fill.clone(),
                ),
                (
                    "ss_t = b_t + 2 fill (the taker is open)",
                    g.e("ss_t") - g.e("b_t") - c(2) * fill.clone(),
                ),
                (
                    "d_exp_m = fill * (maker expiry - now - 1) (now < expiry)",
                    g.e("d_exp_m") - fill.clone() * (g.e("exp_m") - g.e("now") - one()),
                ),
                (
                    "d_exp_t = fill * (taker expiry - now - 1) (now < expiry)",
                    g.e("d_exp_t") - fill.clone() * (g.e("exp_t") - g.e("now") - one()),
                ),
                (
                    "d_buy = fill * s * (taker price - price) (price <= buy limit)",
                    g.e("d_buy") - fill.clone() * s.clone() * (g.e("price_t") - g.e("price_m")),
                ),
                (
                    "d_sell = fill * (1 - s) * (price - taker price) (price >= sell limit)",
                    g.e("d_sell") - fill * (one() - s) * (g.e("price_m") - g.e("price_t")),
                ),
            ]
        },
    );

    let q_owners = gate(meta, base, "market: owners", OWNERS, |g| {
        let fill = g.e("fill");
        vec![
            (
                "fill * ((maker owner - taker owner) * inv - 1) = 0 (no self trade)",
                fill.clone() * ((g.e("owner_m") - g.e("owner_t")) * g.e("inv_own") - one()),
            ),
            (
                "fill * ((maker owner - MARKET) * inv - 1) = 0 (the market does not trade)",
                fill.clone() * ((g.e("owner_m") - c(MARKET)) * g.e("inv_om") - one()),
            ),
            (
                "fill * ((taker owner - MARKET) * inv - 1) = 0 (the market does not trade)",
                fill.clone() * ((g.e("owner_t") - c(MARKET)) * g.e("inv_ot") - one()),
            ),
            (
                "d_om = fill * (accounts - 1 - maker owner) (the owner exists)",
                g.e("d_om") - fill.clone() * (g.e("accounts") - one() - g.e("owner_m")),
            ),
            (
                "d_ot = fill * (accounts - 1 - taker owner) (the owner exists)",
                g.e("d_ot") - fill * (g.e("accounts") - one() - g.e("owner_t")),
            ),
        ]
    });

    let q_pay = gate(meta, base, "market: payment", PAY, |g| {
        vec![
            (
                "quantity * price = 1000 * pay + r (pay = floor(quantity * price / 1000))",
                g.e("e5") * g.e("price_m") - c(WH_PER_KWH) * g.e("pay") - g.e("r"),
            ),
            (
                "r + rc = 999 (r < 1000)",
                g.e("r") + g.e("rc") - c(WH_PER_KWH - 1),
            ),
        ]
    });

    let q_order_m = gate(meta, base, "market: maker order after", ORDER_M, |g| {
        order_rules(
            g,
            &MAKER,
            &[
                "maker: remaining_new = remaining - quantity",
                "maker: done = fill - remaining_new * inv",
                "maker: remaining_new * done = 0 (done = [remaining_new = 0])",
                "maker: left = locked - (s ? quantity : payment)",
                "maker: refund = (1 - s) * done * left (a filled buy order returns its lock)",
                "maker: locked_new = left - refund",
                "maker: side_status_new = s + 2 (fill + done) (closed when filled)",
            ],
        )
    });
    let q_order_t = gate(meta, base, "market: taker order after", ORDER_T, |g| {
        order_rules(
            g,
            &TAKER,
            &[
                "taker: remaining_new = remaining - quantity",
                "taker: done = fill - remaining_new * inv",
                "taker: remaining_new * done = 0 (done = [remaining_new = 0])",
                "taker: left = locked - (b_t ? quantity : payment)",
                "taker: refund = (1 - b_t) * done * left (a filled buy order returns its lock)",
                "taker: locked_new = left - refund",
                "taker: side_status_new = b_t + 2 (fill + done) (closed when filled)",
            ],
        )
    });
    let q_owner_m = gate(meta, base, "market: maker's owner after", OWNER_M, |g| {
        owner_rules(
            g,
            &MAKER,
            &[
                "maker owner: energy_new = energy + (1 - s) * quantity (the buyer gets the energy)",
                "maker owner: balance_new = balance + s * payment + refund",
            ],
        )
    });
    let q_owner_t = gate(meta, base, "market: taker's owner after", OWNER_T, |g| {
        owner_rules(
            g,
            &TAKER,
            &[
                "taker owner: energy_new = energy + (1 - b_t) * quantity (the buyer gets the energy)",
                "taker owner: balance_new = balance + b_t * payment + refund",
            ],
        )
    });

    Config {
        q_kind,
        q_open,
        q_owners,
        q_pay,
        q_order_m,
        q_order_t,
        q_owner_m,
        q_owner_t,
    }
}

/// Every named cell's value for one slot. The records before come from the slot witness;
/// everything after is computed as the gates define it (in the field, so a difference that a
/// rule forbids to be negative is a huge value that its range check refuses), and the
/// chunk's public `root_new`, which the rules computed, checks the two agree.
fn values(w: &SlotWitness, env: &Env) -> HashMap<&'static str, Fp> {
    let f = |b: bool| Fp::from(u64::from(b));
    let u = Fp::from;
    let fill = f(w.kind == kind::FILL);
    let e = w.encoding;
    let q = e[5];
    let market = w.account(0, false);
    let (om, ot) = (w.order(1, false), w.order(2, false));
    let (am, at_) = (w.account(3, false), w.account(4, false));
    let accounts = u(env.counters[super::base::counter::ACCOUNTS]);
    let orders = u(env.counters[super::base::counter::ORDERS]);
    let now = u(env.now);
    let mut v: HashMap<&'static str, Fp> = HashMap::new();

    // The kind, the encoding and the signer.
    v.insert("fill", fill);
    for (i, name) in ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"]
        .iter()
        .enumerate()
    {
        v.insert(name, e[i]);
    }
    v.insert("inv_q", inverse(Value::known(q)).map_or_zero());
    v.insert("d_mt", fill * (e[4] - e[3] - Fp::one()));
    v.insert("d_tx", fill * (orders - Fp::one() - e[4]));
    v.insert("nonce", u(market.nonce));
    v.insert("nonce_new", u(market.nonce) + fill);
    v.insert("d_from", fill * (accounts - Fp::one() - e[1]));
    let o = owner_fields(&market.owner);
    for (i, name) in ["x", "y", "flags", "f01", "f23"].iter().enumerate() {
        v.insert(name, o[i]);
    }
    let [ra, rb] = rider_words(&market);
    v.extend([
        ("balance", u(market.balance)),
        ("energy", u(market.energy)),
        ("ra", ra),
        ("rb", rb),
    ]);

    // The orders before: open, sides, expiry, limits, owners.
    let ss = |o: &crate::records::Order| u(o.side.code() + 2 * o.status.code());
    let s = u(om.side.code());
    let b_t = u(ot.side.code());
    let (price_m, price_t) = (u(om.price), u(ot.price));
    let (owner_m, owner_t) = (u(om.owner), u(ot.owner));
    let inv = |x: Fp| inverse(Value::known(x)).map_or_zero();
    v.extend([
        ("s", s),
        ("b_t", b_t),
        ("ss_m", ss(&om)),
        ("ss_t", ss(&ot)),
        ("exp_m", u(om.expiry)),
        ("exp_t", u(ot.expiry)),
        ("d_exp_m", fill * (u(om.expiry) - now - Fp::one())),
        ("d_exp_t", fill * (u(ot.expiry) - now - Fp::one())),
        ("price_m", price_m),
        ("price_t", price_t),
        ("d_buy", fill * s * (price_t - price_m)),
        ("d_sell", fill * (Fp::one() - s) * (price_m - price_t)),
        ("owner_m", owner_m),
        ("owner_t", owner_t),
        ("inv_own", inv(owner_m - owner_t)),
        ("inv_om", inv(owner_m - u(MARKET))),
        ("inv_ot", inv(owner_t - u(MARKET))),
        ("d_om", fill * (accounts - Fp::one() - owner_m)),
        ("d_ot", fill * (accounts - Fp::one() - owner_t)),
    ]);

    // The payment: quantity and price are below 2^64, so their product is exact in u128.
    let product = u128::from(crate::hash::low_u64(q)) * u128::from(om.price);
    let wh = u128::from(WH_PER_KWH);
    let (pay, r) = (Fp::from_u128(product / wh), (product % wh) as u64);
    v.extend([("pay", pay), ("r", u(r)), ("rc", u(WH_PER_KWH - 1 - r))]);

    // Each order and its owner after the fill.
    for (n, side, old, owner) in [(&MAKER, s, &om, &am), (&TAKER, b_t, &ot, &at_)] {
        let rem_new = u(old.remaining) - q;
        let inv_rem = inv(rem_new);
        let done = fill - rem_new * inv_rem;
        let left = u(old.locked) - side * q - (Fp::one() - side) * pay;
        let refund = (Fp::one() - side) * done * left;
        v.extend([
            (n.rem, u(old.remaining)),
            (n.rem_new, rem_new),
            (n.inv, inv_rem),
            (n.done, done),
            (n.lock, u(old.locked)),
            (n.left, left),
            (n.lock_new, left - refund),
            (n.ss_new, side + Fp::from(2) * (fill + done)),
            (n.refund, refund),
            (n.balance, u(owner.balance)),
            (n.balance_new, u(owner.balance) + side * pay + refund),
            (n.energy, u(owner.energy)),
            (n.energy_new, u(owner.energy) + (Fp::one() - side) * q),
        ]);
    }

    // The owners' accounts as they are (only balance and energy change).
    for (suffix, a) in [("m", &am), ("t", &at_)] {
        let [ra, rb] = rider_words(a);
        let names: [&'static str; 4] = if suffix == "m" {
            ["oh_m", "an_m", "ara_m", "arb_m"]
        } else {
            ["oh_t", "an_t", "ara_t", "arb_t"]
        };
        v.extend([
            (names[0], a.owner.hash()),
            (names[1], u(a.nonce)),
            (names[2], ra),
            (names[3], rb),
        ]);
    }
    v
}

/// The packed word of three of the slot's cells.
fn pack(
    base: &Base,
    layouter: impl Layouter<Fp>,
    s: &Slot,
    parts: [&str; 3],
) -> Result<Cell, Error> {
    base.pack(layouter, parts.map(|p| s.cell(p)))
}

/// One slot of the market family.
pub(crate) fn slot(
    config: &Config,
    base: &Base,
    mut layouter: impl Layouter<Fp>,
    slot: Value<&SlotWitness>,
    running: &mut Running,
) -> Result<(), Error> {
    let values = slot.zip(running.env()).map(|(w, env)| values(w, &env));
    let mut s = Slot::new(base, values, running);
    let l = &mut layouter;

    // The rules, region by region.
    s.grid(l, "kind, encoding, signer", KIND, config.q_kind)?;
    s.grid(l, "open orders, sides, limits", OPEN, config.q_open)?;
    s.grid(l, "owners", OWNERS, config.q_owners)?;
    s.grid(l, "payment", PAY, config.q_pay)?;
    s.grid(l, "maker order after", ORDER_M, config.q_order_m)?;
    s.grid(l, "taker order after", ORDER_T, config.q_order_t)?;
    s.grid(l, "maker's owner after", OWNER_M, config.q_owner_m)?;
    s.grid(l, "taker's owner after", OWNER_T, config.q_owner_t)?;

    // The market account's owner record (its key) and the accounts' unchanged parts.
    s.witness(l, &["x", "y", "flags", "f01", "f23"])?;
    s.witness(l, &["balance", "energy", "ra", "rb"])?;
    s.witness(l, &["oh_m", "an_m", "ara_m", "arb_m"])?;
    s.witness(l, &["oh_t", "an_t", "ara_t", "arb_t"])?;
    let fields = ["x", "y", "flags", "f01", "f23"].map(|n| s.cell(n).clone());
    let owner = base.owner_hash(l.namespace(|| "market owner record"), &fields)?;

    // The orders' words before and after (`pack(owner, price, expiry)`,
    // `pack(remaining, locked, side + 2 status)`, 0).
    let w0_m = pack(
        base,
        l.namespace(|| "maker word 0"),
        &s,
        ["owner_m", "price_m", "exp_m"],
    )?;
    let w1_m = pack(
        base,
        l.namespace(|| "maker word 1"),
        &s,
        ["rem_m", "lock_m", "ss_m"],
    )?;
    let w1_m_new = pack(
        base,
        l.namespace(|| "maker word 1 after"),
        &s,
        ["rem_m_new", "lock_m_new", "ss_m_new"],
    )?;
    let w0_t = pack(
        base,
        l.namespace(|| "taker word 0"),
        &s,
        ["owner_t", "price_t", "exp_t"],
    )?;
    let w1_t = pack(
        base,
        l.namespace(|| "taker word 1"),
        &s,
        ["rem_t", "lock_t", "ss_t"],
    )?;
    let w1_t_new = pack(
        base,
        l.namespace(|| "taker word 1 after"),
        &s,
        ["rem_t_new", "lock_t_new", "ss_t_new"],
    )?;
    let zero = base.constant(l.namespace(|| "zero"), Fp::zero())?;

    // The message extends the data hash; the market operator signed it.
    s.signed_message(l, running, "fill", "x", "y")?;

    // Range checks: the quantity, every part unpacked from an order leaf, every difference
    // and every new remaining and lock (the accounts' money parts are checked by their
    // touches).
    s.range64(
        l,
        &[
            "e5",
            "d_mt",
            "d_tx",
            "d_from",
            "owner_m",
            "price_m",
            "exp_m",
            "rem_m",
            "lock_m",
            "owner_t",
            "price_t",
            "exp_t",
            "rem_t",
            "lock_t",
            "d_exp_m",
            "d_exp_t",
            "d_buy",
            "d_sell",
            "d_om",
            "d_ot",
            "pay",
            "rem_m_new",
            "left_m",
            "rem_t_new",
            "left_t",
        ],
    )?;
    for name in ["r", "rc"] {
        base.range_words(l.namespace(|| name), name, s.cell(name), 1)?;
    }

    // The five touches.
    let fill = s.cell("fill").clone();
    let market_old = AccountCells {
        owner: owner.clone(),
        nonce: s.cell("nonce").clone(),
        balance: s.cell("balance").clone(),
        energy: s.cell("energy").clone(),
        rider_a: s.cell("ra").clone(),
        rider_b: s.cell("rb").clone(),
    };
    let market_new = AccountUpdate {
        owner,
        nonce: Some(s.cell("nonce_new").clone()),
        balance: None,
        energy: None,
        rider_a: s.cell("ra").clone(),
        rider_b: s.cell("rb").clone(),
    };
    base.account_touch(
        l.namespace(|| "market account"),
        &fill,
        s.cell("e1"),
        slot.map(|w| w.path(0)).as_ref(),
        &market_old,
        &market_new,
        running,
    )?;
    for (touch, name, index, old, new) in [
        (1, "maker order", "e3", [&w0_m, &w1_m], [&w0_m, &w1_m_new]),
        (2, "taker order", "e4", [&w0_t, &w1_t], [&w0_t, &w1_t_new]),
    ] {
        base.touch(
            l.namespace(|| name),
            &[(TreeId::Orders, &fill)],
            s.cell(index),
            slot.map(|w| w.path(touch)).as_ref(),
            &[old[0].clone(), old[1].clone(), zero.clone()],
            &[new[0].clone(), new[1].clone(), zero.clone()],
            running,
        )?;
    }
    for (touch, name, index, cells) in [
        (
            3,
            "maker's owner account",
            "owner_m",
            [
                "oh_m",
                "an_m",
                "bal_m",
                "en_m",
                "ara_m",
                "arb_m",
                "bal_m_new",
                "en_m_new",
            ],
        ),
        (
            4,
            "taker's owner account",
            "owner_t",
            [
                "oh_t",
                "an_t",
                "bal_t",
                "en_t",
                "ara_t",
                "arb_t",
                "bal_t_new",
                "en_t_new",
            ],
        ),
    ] {
        let cell = |i: usize| s.cell(cells[i]).clone();
        let old = AccountCells {
            owner: cell(0),
            nonce: cell(1),
            balance: cell(2),
            energy: cell(3),
            rider_a: cell(4),
            rider_b: cell(5),
        };
        let new = AccountUpdate {
            owner: cell(0),
            nonce: None,
            balance: Some(cell(6)),
            energy: Some(cell(7)),
            rider_a: cell(4),
            rider_b: cell(5),
        };
        base.account_touch(
            l.namespace(|| name),
            &fill,
            s.cell(index),
            slot.map(|w| w.path(touch)).as_ref(),
            &old,
            &new,
            running,
        )?;
    }
    Ok(())
}
