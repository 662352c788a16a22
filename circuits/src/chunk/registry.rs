//! The registry family: every kind that writes one account and one leaf of another tree:
//! `register_meter`, `meter_reading`, `place_order`, `cancel_order`, `fleet_record`,
//! `register_voter`, `create_proposal`. Meter readings (every few minutes per meter) and
//! orders are the common case, so the slot is two touches and one owner record, no more.
//!
//! Touches: 0 an account ([`Base::account_touch`]): the signer, except for
//! `meter_reading`, whose account is the meter's owner (credited with the energy; it signs
//! nothing and its nonce does not move); 1 a leaf of the meters, orders, fleet, voters or
//! proposals tree ([`Base::touch`], one tree flag per tree, set by the kind):
//!
//! | kind              | account touched (0)      | leaf touched (1)                 |
//! |-------------------|--------------------------|----------------------------------|
//! | `register_meter`  | grid operator: nonce     | meter at the meters counter      |
//! | `meter_reading`   | meter's owner: energy    | the meter (signer): nonce, last  |
//! | `place_order`     | trader: nonce, lock      | order at the orders counter      |
//! | `cancel_order`    | owner: nonce, release    | the order: closed                |
//! | `fleet_record`    | operator: nonce          | entry at the fleet counter       |
//! | `register_voter`  | registrar: nonce         | commitment at the voters counter |
//! | `create_proposal` | council: nonce           | proposal at the proposals counter|
//!
//! The touched account's owner record is opened every slot: its key checks the signature
//! (the meter's key, from the meter leaf, for a reading) and its flags word says whether a
//! fleet record's signer is a transit operator. Packed words read from the leaf (the
//! meter's `(owner, last, nonce)`, the order's `(owner, price, expiry)` and
//! `(remaining, locked, side + 2 status)`) are unpacked into range-checked parts only for the
//! kind that reads them (the word is multiplied by the kind's flag first, so other kinds
//! unpack 0). Every new word is computed from the encoding, the old words and the running
//! counters by one gate per word.
//!
//! Comparisons are a difference range-checked to 64 bits (`x < y` as `y − x − 1 < 2^64`,
//! both sides range-checked); `x != 0` is `x·inv = 1`; a buy order's lock
//! `ceil(amount·price / 1000)` is `1000·lock = amount·price + r` with `r ≤ 999` and
//! `lock < 2^64`.
//!
//! Beyond the design it follows, two checks cost no row (they are range checks and gate
//! terms beside the hashes): a cancelled order's position is below the orders counter, not
//! only "its status is open" (which holds only while every family keeps the leaves past the
//! counter empty), and a new meter's key is on the curve (`y² = x³ + 5`, which also refuses
//! `(0, 0)`).
//!
//! Slot layout (2,099 rows): the rule regions, the owner record, the message and data hash,
//! the signature, then the account's leaves and 24-level path and the other leaf's 32-level
//! path, and the range checks.

use std::collections::HashMap;

use ff::PrimeField;
use halo2_proofs::{
    circuit::{Layouter, Value},
    plonk::{ConstraintSystem, Error, Expression, Selector},
};

use super::base::{
    counter, inverse, owner_fields, rider_words, two64, AccountCells, AccountUpdate, Base, Env,
    Running,
};
use super::grid::{c, gate, one, Grid, OrZero, Slot};
use super::witness::{at, SlotWitness};
use crate::constants::{COUNCIL, GRID_OPERATOR, MARKET, MAX_OPTIONS, REGISTRAR, WH_PER_KWH};
use crate::hash::{low_u64, Fp};
use crate::records::OrderStatus;
use crate::state::{State, TreeId};
use crate::tx::{kind, Transaction};

/// Touches per slot.
pub(crate) const TOUCHES: usize = 2;
/// Rows one slot uses (pinned by a test: a change of layout is deliberate).
pub(crate) const ROWS_PER_SLOT: usize = 1_257;
/// Rows used once per chunk: the two state-root hashes, the counters, the public values, the
/// batch time's check.
pub(crate) const ROWS_FIXED: usize = 171;

/// Bits of `options − 1` (options are `1..=MAX_OPTIONS`, a power of two).
const OPTION_BITS: usize = MAX_OPTIONS.trailing_zeros() as usize;
const _: () = assert!(MAX_OPTIONS.is_power_of_two() && OPTION_BITS < 10);

/// The leaves each kind touches, in touch order.
pub(crate) fn targets(state: &State, tx: &Transaction) -> Vec<Option<(TreeId, u64)>> {
    use Transaction::*;
    let account = |i| at(TreeId::Accounts, i);
    let c = state.counters();
    match tx {
        RegisterMeter(t) => vec![account(t.from), at(TreeId::Meters, c.meters)],
        MeterReading(t) => {
            let owner = state.meter(t.meter).map_or(0, |m| m.owner);
            vec![account(owner), at(TreeId::Meters, t.meter)]
        }
        PlaceOrder(t) => vec![account(t.from), at(TreeId::Orders, c.orders)],
        CancelOrder(t) => vec![account(t.from), at(TreeId::Orders, t.order)],
        FleetRecord(t) => vec![account(t.from), at(TreeId::Fleet, c.fleet)],
        RegisterVoter(t) => vec![account(t.from), at(TreeId::Voters, c.voters)],
        CreateProposal(t) => vec![account(t.from), at(TreeId::Proposals, c.proposals)],
        _ => vec![None; TOUCHES],
    }
}

/// The kind flags and their codes.
const KINDS: [(&str, u64); 7] = [
    ("reg_meter", kind::REGISTER_METER),
    ("reading", kind::METER_READING),
    ("place", kind::PLACE_ORDER),
    ("cancel", kind::CANCEL_ORDER),
    ("file", kind::FLEET_RECORD),
    ("reg_voter", kind::REGISTER_VOTER),
    ("propose", kind::CREATE_PROPOSAL),
];

/// Kind flags, the tree flags of touch 1, and the encoding.
const KIND: Grid = Grid(&[
    "reg_meter",
    "reading",
    "place",
    "cancel",
    "file",
    "reg_voter",
    "propose",
    "signed",
    "t_meters",
    "t_orders",
    "append",
    "e0",
    "e1",
    "e2",
    "e3",
    "e4",
    "e5",
    "e6",
    "e7",
]);
/// The encoding's fields that are numbers for the kind, zero otherwise (range-checked).
const NUMBERS: Grid = Grid(&[
    "reg_meter",
    "reading",
    "place",
    "cancel",
    "file",
    "propose",
    "e3",
    "e4",
    "e5",
    "e6",
    "e3c",
    "e4c",
    "e5c",
    "e6c",
]);
/// The account touched: which, that it exists, its nonce and money.
const ACCOUNT: Grid = Grid(&[
    "signed",
    "reading",
    "e1",
    "e2",
    "e3",
    "a_index",
    "m_owner",
    "m_last",
    "accounts",
    "d_acct",
    "nonce",
    "nonce_new",
    "balance",
    "balance_new",
    "energy",
    "energy_new",
    "side",
    "delta",
]);
/// Orders: side, lock, status and owner, what moves, the order's validity.
const ORDER: Grid = Grid(&[
    "place", "cancel", "side", "e1", "e3", "e4", "e5", "e6", "now", "lock", "lock_r", "lock_rc",
    "o_ss", "o_locked", "o_owner", "delta", "inv_a", "inv_p", "inv_m", "d_exp",
]);
/// Meters: existence, nonce and reading of a meter; a new meter's owner and key.
const METER: Grid = Grid(&[
    "reg_meter",
    "reading",
    "e1",
    "e2",
    "e3",
    "e4",
    "e5",
    "meters",
    "d_meter",
    "m_nonce",
    "m_nonce_new",
    "m_last",
    "d_cum",
    "accounts",
    "d_owner",
]);
/// The signature's key, the transit-operator flag, and the words read from the old leaf.
const KEY: Grid = Grid(&[
    "reading", "x1", "y1", "w0", "w1", "kx", "ky", "file", "flags1", "del1", "cancel", "w2", "mw",
    "ow0", "ow1",
]);
/// Voters, proposals and the fleet record's kind.
const CIVIC: Grid = Grid(&[
    "reg_voter",
    "propose",
    "file",
    "e3",
    "e4",
    "e5",
    "d_opt",
    "d_win",
    "inv_c",
]);
/// The leaf of touch 1: its position, the old leaf of an append was empty, an order exists.
const LEAF: Grid = Grid(&[
    "reg_meter",
    "reading",
    "place",
    "cancel",
    "file",
    "reg_voter",
    "propose",
    "append",
    "e1",
    "e3",
    "meters",
    "orders",
    "fleet",
    "voters",
    "proposals",
    "t_index",
    "w0",
    "w1",
    "w2",
    "d_order",
]);
/// The counters after the slot.
const COUNTERS: Grid = Grid(&[
    "reg_meter",
    "place",
    "file",
    "reg_voter",
    "propose",
    "meters",
    "orders",
    "fleet",
    "voters",
    "proposals",
    "meters_new",
    "orders_new",
    "fleet_new",
    "voters_new",
    "proposals_new",
]);
/// The new leaf's words 0 and 2.
const NEW02: Grid = Grid(&[
    "reg_meter",
    "reading",
    "place",
    "cancel",
    "file",
    "reg_voter",
    "propose",
    "e1",
    "e3",
    "e4",
    "e5",
    "e6",
    "w0",
    "w2",
    "vroot",
    "m_owner",
    "m_nonce_new",
    "n0",
    "n2",
]);
/// The new leaf's word 1.
const NEW1: Grid = Grid(&[
    "reg_meter",
    "reading",
    "place",
    "cancel",
    "file",
    "propose",
    "e1",
    "e3",
    "e4",
    "e6",
    "w1",
    "lock",
    "side",
    "now",
    "n1",
]);

/// The family's rule gates.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    q_kind: Selector,
    q_numbers: Selector,
    q_account: Selector,
    q_order: Selector,
    q_meter: Selector,
    q_key: Selector,
    q_civic: Selector,
    q_leaf: Selector,
    q_counters: Selector,
    q_new02: Selector,
    q_new1: Selector,
}

fn sum(g: &super::grid::Queries, names: &[&str]) -> Expression<Fp> {
    names
        .iter()
        .fold(Expression::Constant(Fp::zero()), |acc, n| acc + g.e(n))
}

/// `p0 + 2^64 p1 + 2^128 p2`.
fn packed(p0: Expression<Fp>, p1: Expression<Fp>, p2: Expression<Fp>) -> Expression<Fp> {
    p0 + Expression::Constant(two64()) * p1 + Expression::Constant(two64().square()) * p2
}

/// Configures the rule gates on the shared columns.
pub(crate) fn configure(meta: &mut ConstraintSystem<Fp>, base: &Base) -> Config {
    // | reg_meter reading place cancel file reg_voter propose signed t_meters t_orders |
    // | append e0 e1 e2 e3 e4 e5 e6 e7                                                 |
    let q_kind = gate(meta, base, "registry: kind and encoding", KIND, |g| {
        let mut r: Vec<(&'static str, Expression<Fp>)> = vec![
            (
                "register_meter flag is boolean",
                g.e("reg_meter") * (one() - g.e("reg_meter")),
            ),
            (
                "meter_reading flag is boolean",
                g.e("reading") * (one() - g.e("reading")),
            ),
            (
                "place_order flag is boolean",
                g.e("place") * (one() - g.e("place")),
            ),
            (
                "cancel_order flag is boolean",
                g.e("cancel") * (one() - g.e("cancel")),
            ),
            (
                "fleet_record flag is boolean",
                g.e("file") * (one() - g.e("file")),
            ),
            (
                "register_voter flag is boolean",
                g.e("reg_voter") * (one() - g.e("reg_voter")),
            ),
            (
                "create_proposal flag is boolean",
                g.e("propose") * (one() - g.e("propose")),
            ),
        ];
        let flags: Vec<&str> = KINDS.iter().map(|(f, _)| *f).collect();
        let code = KINDS
            .iter()
            .fold(Expression::Constant(Fp::zero()), |acc, (f, k)| {
                acc + g.e(f) * c(*k)
            });
        let padding = one() - g.e("signed");
        let uses_4_5 = one() - sum(g, &["reg_meter", "place", "file", "propose"]);
        r.extend([
            ("signed = sum of kind flags", g.e("signed") - sum(g, &flags)),
            (
                "signed is boolean (one kind at most)",
                g.e("signed") * (one() - g.e("signed")),
            ),
            ("kind = sum of code * flag", g.e("e0") - code),
            (
                "t_meters = register_meter + meter_reading",
                g.e("t_meters") - g.e("reg_meter") - g.e("reading"),
            ),
            (
                "t_orders = place_order + cancel_order",
                g.e("t_orders") - g.e("place") - g.e("cancel"),
            ),
            (
                "append = register_meter + place_order + fleet_record + register_voter + create_proposal",
                g.e("append") - sum(g, &["reg_meter", "place", "file", "reg_voter", "propose"]),
            ),
            ("padding: field 1 = 0", padding.clone() * g.e("e1")),
            ("padding: field 2 = 0", padding.clone() * g.e("e2")),
            ("padding: field 3 = 0", padding * g.e("e3")),
            (
                "field 4 = 0 unless register_meter, place_order, fleet_record, create_proposal",
                uses_4_5.clone() * g.e("e4"),
            ),
            (
                "field 5 = 0 unless register_meter, place_order, fleet_record, create_proposal",
                uses_4_5 * g.e("e5"),
            ),
            (
                "field 6 = 0 unless place_order, create_proposal",
                (one() - g.e("place") - g.e("propose")) * g.e("e6"),
            ),
            ("field 7 = 0", g.e("e7")),
            (
                "register_meter: from = GRID_OPERATOR",
                g.e("reg_meter") * (g.e("e1") - c(GRID_OPERATOR)),
            ),
            (
                "register_voter: from = REGISTRAR",
                g.e("reg_voter") * (g.e("e1") - c(REGISTRAR)),
            ),
            (
                "create_proposal: from = COUNCIL",
                g.e("propose") * (g.e("e1") - c(COUNCIL)),
            ),
        ]);
        r
    });

    // | reg_meter reading place cancel file propose e3 e4 e5 e6 |
    // | e3c e4c e5c e6c                                         |
    let q_numbers = gate(
        meta,
        base,
        "registry: numbers of the encoding",
        NUMBERS,
        |g| {
            vec![
            (
                "e3c = field 3 for meter_reading, place_order, cancel_order, fleet_record, create_proposal",
                g.e("e3c")
                    - sum(g, &["reading", "place", "cancel", "file", "propose"]) * g.e("e3"),
            ),
            (
                "e4c = field 4 for place_order, fleet_record, create_proposal",
                g.e("e4c") - sum(g, &["place", "file", "propose"]) * g.e("e4"),
            ),
            (
                "e5c = field 5 for register_meter, place_order, create_proposal",
                g.e("e5c") - sum(g, &["reg_meter", "place", "propose"]) * g.e("e5"),
            ),
            (
                "e6c = field 6 for place_order",
                g.e("e6c") - g.e("place") * g.e("e6"),
            ),
        ]
        },
    );

    // | signed reading e1 e2 e3 a_index m_owner m_last accounts d_acct |
    // | nonce nonce_new balance balance_new energy energy_new side delta |
    let q_account = gate(meta, base, "registry: the account", ACCOUNT, |g| {
        let signer = g.e("signed") - g.e("reading");
        vec![
            (
                "a_index = from + meter_reading * (meter owner - from)",
                g.e("a_index") - g.e("e1") - g.e("reading") * (g.e("m_owner") - g.e("e1")),
            ),
            (
                "d_acct = signed * (accounts - 1 - a_index) (the account exists)",
                g.e("d_acct") - g.e("signed") * (g.e("accounts") - one() - g.e("a_index")),
            ),
            (
                "(signed - meter_reading) * (tx nonce - nonce) = 0",
                signer.clone() * (g.e("e2") - g.e("nonce")),
            ),
            (
                "nonce_new = nonce + signed - meter_reading",
                g.e("nonce_new") - g.e("nonce") - signer,
            ),
            (
                "balance_new = balance + (1 - side) * delta",
                g.e("balance_new") - g.e("balance") - (one() - g.e("side")) * g.e("delta"),
            ),
            (
                "energy_new = energy + side * delta + meter_reading * (cumulative - last)",
                g.e("energy_new")
                    - g.e("energy")
                    - g.e("side") * g.e("delta")
                    - g.e("reading") * (g.e("e3") - g.e("m_last")),
            ),
        ]
    });

    // | place cancel side e1 e3 e4 e5 e6 now lock |
    // | r rc o_ss o_locked o_owner delta inv_a inv_p inv_m d_exp |
    let q_order = gate(meta, base, "registry: orders", ORDER, |g| {
        let side = g.e("side");
        let place = g.e("place");
        let cancel = g.e("cancel");
        vec![
            ("side is boolean", side.clone() * (one() - side.clone())),
            (
                "side = 0 unless place_order or cancel_order",
                (one() - place.clone() - cancel.clone()) * side.clone(),
            ),
            (
                "place_order: side = field 3",
                place.clone() * (g.e("e3") - side.clone()),
            ),
            (
                "cancel_order: side_status = side + 2 (the order is open)",
                cancel.clone() * (g.e("o_ss") - side.clone() - c(2 * OrderStatus::Open.code())),
            ),
            (
                "cancel_order: order owner = from",
                cancel.clone() * (g.e("o_owner") - g.e("e1")),
            ),
            (
                "place_order sell: lock = amount",
                place.clone() * side.clone() * (g.e("lock") - g.e("e4")),
            ),
            (
                "place_order buy: 1000 lock = amount * price + lock_r (lock = ceil)",
                place.clone()
                    * (one() - side)
                    * (g.e("lock") * c(WH_PER_KWH) - g.e("e4") * g.e("e5") - g.e("lock_r")),
            ),
            (
                "lock = 0 unless place_order",
                (one() - place.clone()) * g.e("lock"),
            ),
            (
                "lock_r + lock_rc = 999 (lock_r < 1000)",
                g.e("lock_r") + g.e("lock_rc") - c(WH_PER_KWH - 1),
            ),
            (
                "delta = cancel_order * locked - place_order * lock",
                g.e("delta") - cancel * g.e("o_locked") + place.clone() * g.e("lock"),
            ),
            (
                "place_order: amount != 0",
                place.clone() * (g.e("e4") * g.e("inv_a") - one()),
            ),
            (
                "place_order: price != 0",
                place.clone() * (g.e("e5") * g.e("inv_p") - one()),
            ),
            (
                "place_order: from != MARKET",
                place.clone() * ((g.e("e1") - c(MARKET)) * g.e("inv_m") - one()),
            ),
            (
                "d_exp = place_order * (expiry - now - 1) (expiry > now)",
                g.e("d_exp") - place * (g.e("e6") - g.e("now") - one()),
            ),
        ]
    });

    // | reg_meter reading e1 e2 e3 e4 e5 meters d_meter m_nonce |
    // | m_nonce_new m_last d_cum accounts d_owner               |
    let q_meter = gate(meta, base, "registry: meters", METER, |g| {
        let reading = g.e("reading");
        let reg = g.e("reg_meter");
        vec![
            (
                "d_meter = meter_reading * (meters - 1 - meter) (the meter exists)",
                g.e("d_meter") - reading.clone() * (g.e("meters") - one() - g.e("e1")),
            ),
            (
                "meter_reading: tx nonce = meter nonce",
                reading.clone() * (g.e("e2") - g.e("m_nonce")),
            ),
            (
                "meter nonce_new = meter nonce + meter_reading",
                g.e("m_nonce_new") - g.e("m_nonce") - reading.clone(),
            ),
            (
                "d_cum = meter_reading * (cumulative - last - 1) (the reading increases)",
                g.e("d_cum") - reading * (g.e("e3") - g.e("m_last") - one()),
            ),
            (
                "d_owner = register_meter * (accounts - 1 - owner) (the owner exists)",
                g.e("d_owner") - reg.clone() * (g.e("accounts") - one() - g.e("e5")),
            ),
            (
                "register_meter: the meter key is on the curve (y^2 = x^3 + 5)",
                reg * (g.e("e4") * g.e("e4") - g.e("e3") * g.e("e3") * g.e("e3") - c(5)),
            ),
        ]
    });

    // | reading x1 y1 w0 w1 kx ky file flags1 del1 |
    // | cancel w2 mw ow0 ow1                       |
    let q_key = gate(
        meta,
        base,
        "registry: signer key, operator flag, words read",
        KEY,
        |g| {
            vec![
                (
                    "key x = owner key x + meter_reading * (meter key x - owner key x)",
                    g.e("kx") - g.e("x1") - g.e("reading") * (g.e("w0") - g.e("x1")),
                ),
                (
                    "key y = owner key y + meter_reading * (meter key y - owner key y)",
                    g.e("ky") - g.e("y1") - g.e("reading") * (g.e("w1") - g.e("y1")),
                ),
                (
                    "fleet_record: flags = del + 2^64 (the signer is a transit operator)",
                    g.e("file") * (g.e("flags1") - g.e("del1") - Expression::Constant(two64())),
                ),
                (
                    "del = 0 unless fleet_record",
                    (one() - g.e("file")) * g.e("del1"),
                ),
                (
                    "mw = meter_reading * old word 2 (the meter's owner, last, nonce)",
                    g.e("mw") - g.e("reading") * g.e("w2"),
                ),
                (
                    "ow0 = cancel_order * old word 0 (the order's owner, price, expiry)",
                    g.e("ow0") - g.e("cancel") * g.e("w0"),
                ),
                (
                    "ow1 = cancel_order * old word 1 (the order's remaining, locked, side_status)",
                    g.e("ow1") - g.e("cancel") * g.e("w1"),
                ),
            ]
        },
    );

    // | reg_voter propose file e3 e4 e5 d_opt d_win inv_c |
    let q_civic = gate(
        meta,
        base,
        "registry: voters, proposals, fleet",
        CIVIC,
        |g| {
            let kind = g.e("e4");
            vec![
                (
                    "register_voter: commitment != 0",
                    g.e("reg_voter") * (g.e("e3") * g.e("inv_c") - one()),
                ),
                (
                    "d_opt = create_proposal * (options - 1) (1 <= options <= MAX_OPTIONS)",
                    g.e("d_opt") - g.e("propose") * (g.e("e3") - one()),
                ),
                (
                    "d_win = create_proposal * (end - start - 1) (start < end)",
                    g.e("d_win") - g.e("propose") * (g.e("e5") - g.e("e4") - one()),
                ),
                (
                    "fleet_record: kind in {1, 2, 3}",
                    g.e("file") * (kind.clone() - c(1)) * (kind.clone() - c(2)) * (kind - c(3)),
                ),
            ]
        },
    );

    // | reg_meter reading place cancel file reg_voter propose append e1 e3 |
    // | meters orders fleet voters proposals t_index w0 w1 w2 d_order      |
    let q_leaf = gate(meta, base, "registry: the leaf of touch 1", LEAF, |g| {
        let append = g.e("append");
        vec![
            (
                "t_index = the counter for an append, the meter for meter_reading, the order for cancel_order",
                g.e("t_index")
                    - g.e("reg_meter") * g.e("meters")
                    - g.e("reading") * g.e("e1")
                    - g.e("place") * g.e("orders")
                    - g.e("cancel") * g.e("e3")
                    - g.e("file") * g.e("fleet")
                    - g.e("reg_voter") * g.e("voters")
                    - g.e("propose") * g.e("proposals"),
            ),
            (
                "append: old word 0 = 0 (the leaf was empty)",
                append.clone() * g.e("w0"),
            ),
            (
                "append: old word 1 = 0 (the leaf was empty)",
                append.clone() * g.e("w1"),
            ),
            (
                "append: old word 2 = 0 (the leaf was empty)",
                append * g.e("w2"),
            ),
            (
                "d_order = cancel_order * (orders - 1 - order) (the order exists)",
                g.e("d_order") - g.e("cancel") * (g.e("orders") - one() - g.e("e3")),
            ),
        ]
    });

    // | reg_meter place file reg_voter propose meters orders fleet voters proposals |
    // | meters_new orders_new fleet_new voters_new proposals_new                   |
    let q_counters = gate(meta, base, "registry: counters", COUNTERS, |g| {
        vec![
            (
                "meters_new = meters + register_meter",
                g.e("meters_new") - g.e("meters") - g.e("reg_meter"),
            ),
            (
                "orders_new = orders + place_order",
                g.e("orders_new") - g.e("orders") - g.e("place"),
            ),
            (
                "fleet_new = fleet + fleet_record",
                g.e("fleet_new") - g.e("fleet") - g.e("file"),
            ),
            (
                "voters_new = voters + register_voter",
                g.e("voters_new") - g.e("voters") - g.e("reg_voter"),
            ),
            (
                "proposals_new = proposals + create_proposal",
                g.e("proposals_new") - g.e("proposals") - g.e("propose"),
            ),
        ]
    });

    // | reg_meter reading place cancel file reg_voter propose e1 e3 e4 |
    // | e5 e6 w0 w2 vroot m_owner m_nonce_new n0 n2                    |
    let q_new02 = gate(meta, base, "registry: new words 0 and 2", NEW02, |g| {
        vec![
            (
                "new word 0 = meter key x | meter's | pack(from, price, expiry) | order's | record hash | commitment | voter root",
                g.e("n0")
                    - g.e("reg_meter") * g.e("e3")
                    - (g.e("reading") + g.e("cancel")) * g.e("w0")
                    - g.e("place") * packed(g.e("e1"), g.e("e5"), g.e("e6"))
                    - g.e("file") * g.e("e5")
                    - g.e("reg_voter") * g.e("e3")
                    - g.e("propose") * g.e("vroot"),
            ),
            (
                "new word 2 = owner | pack(owner, cumulative, nonce_new) | 0 | order's | fleet kind | 0 | pack(options, start, end)",
                g.e("n2")
                    - g.e("reg_meter") * g.e("e5")
                    - g.e("reading") * packed(g.e("m_owner"), g.e("e3"), g.e("m_nonce_new"))
                    - g.e("cancel") * g.e("w2")
                    - g.e("file") * g.e("e4")
                    - g.e("propose") * packed(g.e("e3"), g.e("e4"), g.e("e5")),
            ),
        ]
    });

    // | reg_meter reading place cancel file propose e1 e3 e4 e6 |
    // | w1 lock side now n1                                     |
    let q_new1 = gate(meta, base, "registry: new word 1", NEW1, |g| {
        let open = c(2 * OrderStatus::Open.code());
        let closed = c(2 * OrderStatus::Closed.code());
        let zero = Expression::Constant(Fp::zero());
        vec![(
            "new word 1 = meter key y | meter's | pack(amount, lock, side + 2 open) | pack(0, 0, side + 2 closed) | pack(from, vehicle, now) | 0 | text hash",
            g.e("n1")
                - g.e("reg_meter") * g.e("e4")
                - g.e("reading") * g.e("w1")
                - g.e("place") * packed(g.e("e4"), g.e("lock"), g.e("e3") + open)
                - g.e("cancel") * packed(zero.clone(), zero, g.e("side") + closed)
                - g.e("file") * packed(g.e("e1"), g.e("e3"), g.e("now"))
                - g.e("propose") * g.e("e6"),
        )]
    });

    Config {
        q_kind,
        q_numbers,
        q_account,
        q_order,
        q_meter,
        q_key,
        q_civic,
        q_leaf,
        q_counters,
        q_new02,
        q_new1,
    }
}

/// Every named cell's value for one slot: the encoding, the old records of both touches and
/// the running counters come from the witness; everything else is computed as the gates
/// define it (so a record that breaks a rule shows as the rule's failing constraint).
fn values(s: &SlotWitness, env: &Env) -> HashMap<&'static str, Fp> {
    let f = |b: bool| Fp::from(u64::from(b));
    let u = Fp::from;
    let k = s.kind;
    let e = s.encoding;
    let e_u = |i: usize| low_u64(e[i]);
    let mut v: HashMap<&'static str, Fp> = HashMap::new();

    for (name, code) in KINDS {
        v.insert(name, f(k == code));
    }
    let is = |code: u64| k == code;
    let reg_meter = is(kind::REGISTER_METER);
    let reading = is(kind::METER_READING);
    let place = is(kind::PLACE_ORDER);
    let cancel = is(kind::CANCEL_ORDER);
    let file = is(kind::FLEET_RECORD);
    let reg_voter = is(kind::REGISTER_VOTER);
    let propose = is(kind::CREATE_PROPOSAL);
    let signed = k != 0;
    let gated = |on: bool, x: Fp| if on { x } else { Fp::zero() };
    v.insert("signed", f(signed));
    v.insert("t_meters", f(reg_meter || reading));
    v.insert("t_orders", f(place || cancel));
    v.insert(
        "append",
        f(reg_meter || place || file || reg_voter || propose),
    );
    for (i, name) in ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"]
        .iter()
        .enumerate()
    {
        v.insert(name, e[i]);
    }
    v.insert(
        "e3c",
        gated(reading || place || cancel || file || propose, e[3]),
    );
    v.insert("e4c", gated(place || file || propose, e[4]));
    v.insert("e5c", gated(reg_meter || place || propose, e[5]));
    v.insert("e6c", gated(place, e[6]));

    // The leaf of touch 1, before: its words, and the parts a kind reads.
    let [w0, w1, w2] = s.words(1, false);
    v.extend([("w0", w0), ("w1", w1), ("w2", w2)]);
    let meter = s.meter(1, false);
    let order = s.order(1, false);
    let m = |x: u64| gated(reading, u(x));
    let (m_owner, m_last, m_nonce) = (m(meter.owner), m(meter.last_cumulative), m(meter.nonce));
    let o = |x: u64| gated(cancel, u(x));
    let o_side = o(order.side.code());
    v.extend([
        ("mw", gated(reading, w2)),
        ("ow0", gated(cancel, w0)),
        ("ow1", gated(cancel, w1)),
        ("m_owner", m_owner),
        ("m_last", m_last),
        ("m_nonce", m_nonce),
        ("m_nonce_new", m_nonce + f(reading)),
        ("o_owner", o(order.owner)),
        ("o_price", o(order.price)),
        ("o_expiry", o(order.expiry)),
        ("o_rem", o(order.remaining)),
        ("o_locked", o(order.locked)),
        ("o_ss", o(order.side.code() + 2 * order.status.code())),
    ]);

    // The account.
    let a = s.account(0, false);
    let a_index = e[1] + f(reading) * (m_owner - e[1]);
    let accounts = u(env.counters[counter::ACCOUNTS]);
    v.insert("a_index", a_index);
    v.insert("d_acct", gated(signed, accounts - Fp::one() - a_index));
    v.insert("nonce", u(a.nonce));
    v.insert("nonce_new", u(a.nonce) + f(signed && !reading));
    let fields = owner_fields(&a.owner);
    for (i, name) in ["x1", "y1", "flags1", "f01", "f23"].iter().enumerate() {
        v.insert(name, fields[i]);
    }
    let [ra, rb] = rider_words(&a);
    v.extend([("ra", ra), ("rb", rb)]);
    let del1 = u(a.owner.delegate.map_or(0, |d| d + 1));
    v.insert("del1", gated(file, del1));
    v.insert("kx", if reading { w0 } else { fields[0] });
    v.insert("ky", if reading { w1 } else { fields[1] });

    // Orders: side, lock and what moves.
    let side = if place {
        e[3]
    } else if cancel {
        o_side
    } else {
        Fp::zero()
    };
    let product = u128::from(e_u(4)) * u128::from(e_u(5));
    let lock = match (place, side == Fp::one()) {
        (false, _) => Fp::zero(),
        (true, true) => e[4],
        (true, false) => Fp::from_u128(product.div_ceil(u128::from(WH_PER_KWH))),
    };
    let r = if place && side == Fp::zero() {
        lock * u(WH_PER_KWH) - e[4] * e[5]
    } else {
        Fp::zero()
    };
    let delta = o(order.locked) - gated(place, lock);
    v.extend([
        ("side", side),
        ("lock", lock),
        ("lock_r", r),
        ("lock_rc", u(WH_PER_KWH - 1) - r),
        ("delta", delta),
        ("inv_a", inverse(Value::known(e[4])).map_or_zero()),
        ("inv_p", inverse(Value::known(e[5])).map_or_zero()),
        (
            "inv_m",
            inverse(Value::known(e[1] - u(MARKET))).map_or_zero(),
        ),
        ("d_exp", gated(place, e[6] - u(env.now) - Fp::one())),
        ("balance", u(a.balance)),
        ("balance_new", u(a.balance) + (Fp::one() - side) * delta),
        ("energy", u(a.energy)),
        (
            "energy_new",
            u(a.energy) + side * delta + f(reading) * (e[3] - m_last),
        ),
    ]);

    // Meters, voters, proposals, the fleet.
    let meters = u(env.counters[counter::METERS]);
    v.extend([
        ("d_meter", gated(reading, meters - Fp::one() - e[1])),
        ("d_cum", gated(reading, e[3] - m_last - Fp::one())),
        ("d_owner", gated(reg_meter, accounts - Fp::one() - e[5])),
        ("d_opt", gated(propose, e[3] - Fp::one())),
        ("d_win", gated(propose, e[5] - e[4] - Fp::one())),
        ("inv_c", inverse(Value::known(e[3])).map_or_zero()),
    ]);

    // The leaf of touch 1: position, counters after, new words.
    let count = |i: usize| u(env.counters[i]);
    let t_index = [
        (reg_meter, count(counter::METERS)),
        (reading, e[1]),
        (place, count(counter::ORDERS)),
        (cancel, e[3]),
        (file, count(counter::FLEET)),
        (reg_voter, count(counter::VOTERS)),
        (propose, count(counter::PROPOSALS)),
    ]
    .iter()
    .fold(Fp::zero(), |acc, (on, x)| acc + gated(*on, *x));
    v.insert("t_index", t_index);
    v.insert(
        "d_order",
        gated(cancel, count(counter::ORDERS) - Fp::one() - e[3]),
    );
    for (name, position, on) in [
        ("meters_new", counter::METERS, reg_meter),
        ("orders_new", counter::ORDERS, place),
        ("fleet_new", counter::FLEET, file),
        ("voters_new", counter::VOTERS, reg_voter),
        ("proposals_new", counter::PROPOSALS, propose),
    ] {
        v.insert(name, count(position) + f(on));
    }
    let pack = |p0: Fp, p1: Fp, p2: Fp| p0 + p1 * two64() + p2 * two64().square();
    let n0 = if reg_meter || reg_voter {
        e[3]
    } else if reading || cancel {
        w0
    } else if place {
        pack(e[1], e[5], e[6])
    } else if file {
        e[5]
    } else {
        // create_proposal's voter root is the running root, which `values` does not see:
        // the slot fills it in (see `slot`); padding writes 0.
        Fp::zero()
    };
    let open = u(2 * OrderStatus::Open.code());
    let closed = u(2 * OrderStatus::Closed.code());
    let n1 = if reg_meter {
        e[4]
    } else if reading {
        w1
    } else if place {
        pack(e[4], lock, e[3] + open)
    } else if cancel {
        pack(Fp::zero(), Fp::zero(), side + closed)
    } else if file {
        pack(e[1], e[3], u(env.now))
    } else if propose {
        e[6]
    } else {
        Fp::zero()
    };
    let n2 = if reg_meter {
        e[5]
    } else if reading {
        pack(m_owner, e[3], m_nonce + Fp::one())
    } else if cancel {
        w2
    } else if file {
        e[4]
    } else if propose {
        pack(e[3], e[4], e[5])
    } else {
        Fp::zero()
    };
    v.extend([("n0", n0), ("n1", n1), ("n2", n2)]);
    v
}

/// One slot of the registry family.
pub(crate) fn slot(
    config: &Config,
    base: &Base,
    mut layouter: impl Layouter<Fp>,
    slot: Value<&SlotWitness>,
    running: &mut Running,
) -> Result<(), Error> {
    let vroot = running.root(TreeId::Voters).clone();
    let values = slot.zip(running.env()).map(|(s, env)| {
        let mut v = values(s, &env);
        if s.kind == kind::CREATE_PROPOSAL {
            v.insert("n0", vroot.value().copied().map_or_zero());
        }
        v
    });
    let mut s = Slot::new(base, values, running);
    s.cells.insert("vroot", vroot);
    let l = &mut layouter;

    // The rules: the kind and encoding, the words read from the old leaf, every gate.
    s.grid(l, "kind and encoding", KIND, config.q_kind)?;
    s.grid(l, "numbers of the encoding", NUMBERS, config.q_numbers)?;
    s.grid(l, "the leaf of touch 1", LEAF, config.q_leaf)?;
    s.witness(l, &["x1", "y1", "flags1", "f01", "f23", "ra", "rb"])?;
    s.grid(
        l,
        "signer key, operator flag, words read",
        KEY,
        config.q_key,
    )?;
    s.witness(
        l,
        &[
            "m_owner", "m_last", "m_nonce", "o_owner", "o_price", "o_expiry", "o_rem", "o_locked",
            "o_ss",
        ],
    )?;
    for (word, parts) in [
        ("mw", ["m_owner", "m_last", "m_nonce"]),
        ("ow0", ["o_owner", "o_price", "o_expiry"]),
        ("ow1", ["o_rem", "o_locked", "o_ss"]),
    ] {
        base.unpack(
            l.namespace(|| word),
            s.cell(word),
            [s.cell(parts[0]), s.cell(parts[1]), s.cell(parts[2])],
        )?;
    }
    s.grid(l, "the account", ACCOUNT, config.q_account)?;
    s.grid(l, "orders", ORDER, config.q_order)?;
    s.grid(l, "meters", METER, config.q_meter)?;
    s.grid(l, "voters, proposals, fleet", CIVIC, config.q_civic)?;
    s.grid(l, "counters", COUNTERS, config.q_counters)?;
    s.grid(l, "new words 0 and 2", NEW02, config.q_new02)?;
    s.grid(l, "new word 1", NEW1, config.q_new1)?;

    // The touched account's owner record, the message (which extends the data hash) and the
    // signature.
    let fields = ["x1", "y1", "flags1", "f01", "f23"].map(|n| s.cell(n).clone());
    let owner = base.owner_hash(l.namespace(|| "owner record"), &fields)?;
    s.cells.insert("owner", owner);

    // The signer (the account's key, or the meter's for a reading) is exposed with the
    // message.
    s.signed_message(l, running, "signed", "kx", "ky")?;

    // Range checks: every number of the encoding, every part unpacked, every difference.
    s.range64(
        l,
        &[
            "e3c",
            "e4c",
            "e5c",
            "e6c",
            "m_owner",
            "m_last",
            "m_nonce",
            "m_nonce_new",
            "o_owner",
            "o_price",
            "o_expiry",
            "o_rem",
            "o_locked",
            "o_ss",
            "lock",
            "del1",
            "d_acct",
            "d_exp",
            "d_meter",
            "d_cum",
            "d_owner",
            "d_win",
            "d_order",
        ],
    )?;
    for name in ["lock_r", "lock_rc"] {
        base.range_words(l.namespace(|| name), name, s.cell(name), 1)?;
    }
    base.range_short(
        l.namespace(|| "d_opt"),
        "d_opt",
        s.cell("d_opt"),
        OPTION_BITS,
    )?;

    // Touch 0: the account.
    let old = AccountCells {
        owner: s.cell("owner").clone(),
        nonce: s.cell("nonce").clone(),
        balance: s.cell("balance").clone(),
        energy: s.cell("energy").clone(),
        rider_a: s.cell("ra").clone(),
        rider_b: s.cell("rb").clone(),
    };
    let new = AccountUpdate {
        owner: s.cell("owner").clone(),
        nonce: Some(s.cell("nonce_new").clone()),
        balance: Some(s.cell("balance_new").clone()),
        energy: Some(s.cell("energy_new").clone()),
        rider_a: s.cell("ra").clone(),
        rider_b: s.cell("rb").clone(),
    };
    let path0 = slot.map(|w| w.path(0));
    base.account_touch(
        l.namespace(|| "account"),
        s.cell("signed"),
        s.cell("a_index"),
        path0.as_ref(),
        &old,
        &new,
        running,
    )?;

    // Touch 1: the meter, order, fleet entry, voter or proposal.
    let path1 = slot.map(|w| w.path(1));
    let words = |names: [&str; 3]| names.map(|n| s.cell(n).clone());
    base.touch(
        l.namespace(|| "leaf"),
        &[
            (TreeId::Meters, s.cell("t_meters")),
            (TreeId::Orders, s.cell("t_orders")),
            (TreeId::Fleet, s.cell("file")),
            (TreeId::Voters, s.cell("reg_voter")),
            (TreeId::Proposals, s.cell("propose")),
        ],
        s.cell("t_index"),
        path1.as_ref(),
        &words(["w0", "w1", "w2"]),
        &words(["n0", "n1", "n2"]),
        running,
    )?;

    for (position, name) in [
        (counter::METERS, "meters_new"),
        (counter::ORDERS, "orders_new"),
        (counter::FLEET, "fleet_new"),
        (counter::VOTERS, "voters_new"),
        (counter::PROPOSALS, "proposals_new"),
    ] {
        running.set_counter(position, s.cell(name).clone());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::records::Side;

    #[test]
    fn side_codes_are_the_gates() {
        assert_eq!(Side::Buy.code(), 0);
        assert_eq!(Side::Sell.code(), 1);
        assert_eq!(OrderStatus::Open.code(), 1);
        assert_eq!(OrderStatus::Closed.code(), 2);
    }
}
