//! The accounts family: every kind that writes two accounts at most — `transfer`, `tap`,
//! `open_account`, `register_operator`, `set_concession`, `register_delegate`. These are the
//! city's everyday transactions (payments and rides), so this slot is the one to keep lean:
//! two account touches (the signer, and the payee / operator / new account / rider), the
//! signer's owner record for its key, the second account's owner record (fares, roles), and
//! one more owner record that the kinds changing a record build.
//!
//! Touches: 0 the signer's account (nonce, balance, rider record, owner record for
//! `register_delegate`); 1 the second account (`None` for `register_delegate`).
//!
//! The tap's fare is computed in the circuit exactly as [`crate::rules::fare`] computes it:
//! fare class lookup, concession (`floor(x·(100 − c)/100)`), transfer window from the
//! journey's first paid tap (inclusive), maximum transfers, the capped transfer discount
//! scaled by the concession, the cap period and cap. Each comparison is a witness bit and a
//! difference range-checked to 64 bits in the direction the bit says.

use std::collections::HashMap;

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
use crate::constants::{FARE_CLASSES, MAX_CONCESSION_PERCENT, MAX_DELEGATES, TRANSIT_AUTHORITY};
use crate::hash::Fp;
use crate::state::{State, TreeId};
use crate::tx::{kind, Transaction};
use ff::PrimeField;

/// Touches per slot.
pub(crate) const TOUCHES: usize = 2;
/// Rows one slot uses (pinned by a test: a change of layout is deliberate).
pub(crate) const ROWS_PER_SLOT: usize = 1_343;
/// Rows used once per chunk: the two state-root hashes, the counters, the public values, the
/// batch time's check.
pub(crate) const ROWS_FIXED: usize = 171;

/// The leaves each kind touches, in touch order.
pub(crate) fn targets(state: &State, tx: &Transaction) -> Vec<Option<(TreeId, u64)>> {
    use Transaction::*;
    let account = |i| at(TreeId::Accounts, i);
    match tx {
        Transfer(t) => vec![account(t.from), account(t.to)],
        OpenAccount(t) => vec![account(t.from), account(state.counters().accounts)],
        RegisterOperator(t) => vec![account(t.from), account(t.operator)],
        SetConcession(t) => vec![account(t.from), account(t.rider)],
        Tap(t) => vec![account(t.from), account(t.operator)],
        RegisterDelegate(t) => vec![account(t.from), None],
        _ => vec![None; TOUCHES],
    }
}

/// The kind flags and their codes.
const KINDS: [(&str, u64); 6] = [
    ("transfer", kind::TRANSFER),
    ("open", kind::OPEN_ACCOUNT),
    ("operator", kind::REGISTER_OPERATOR),
    ("concession", kind::SET_CONCESSION),
    ("tap", kind::TAP),
    ("delegate", kind::REGISTER_DELEGATE),
];

/// Kind flags, the encoding, and the range-checked copies of the encoding's amounts.
const KIND: Grid = Grid(&[
    "transfer",
    "open",
    "operator",
    "concession",
    "tap",
    "delegate",
    "signed",
    "a2_on",
    "e0",
    "e1",
    "e2",
    "e3",
    "e4",
    "e5",
    "e6",
    "e7",
    "e4c",
    "e5c",
    "e6c",
    "e7c",
]);
/// The signer's nonce, existence, balance and owner record.
const SIGNER: Grid = Grid(&[
    "signed",
    "e1",
    "e2",
    "nonce",
    "nonce_new",
    "accounts",
    "d_from",
    "balance",
    "balance_new",
    "transfer",
    "e4",
    "tap",
    "charged",
    "delegate",
    "owner",
    "owner_new",
    "x_hash",
    "inv_amount",
]);
/// The second account: which it is, that it exists and is not the signer, its balance and
/// owner record, and the accounts counter.
const SECOND: Grid = Grid(&[
    "open",
    "a2_on",
    "e3",
    "a2_index",
    "accounts",
    "accounts_new",
    "d_a2",
    "e1",
    "inv_from",
    "transfer",
    "e4",
    "tap",
    "charged",
    "balance2",
    "balance2_new",
    "owner2",
    "owner2_new",
    "x_hash",
    "operator",
]);
/// An opened account's leaf was empty and its key is on the curve; a concession's new rider
/// word.
const OPEN: Grid = Grid(&[
    "open",
    "e3",
    "owner2",
    "nonce2",
    "balance2",
    "energy2",
    "ra2",
    "rb2",
    "concession",
    "e4",
    "conc2",
    "rb2_new",
    "d_pct",
]);
/// The owner record a kind builds: key and fares.
const OWNER_XY: Grid = Grid(&[
    "x1", "y1", "f01_1", "f23_1", "x2", "y2", "nx", "ny", "nf01", "nf23", "delegate", "operator",
    "open", "e3", "e4", "e5", "e6", "e7",
]);
/// The owner record a kind builds: delegate id and operator flag; the delegates counter.
const OWNER_FLAGS: Grid = Grid(&[
    "del1_1",
    "isop_1",
    "del1_2",
    "isop_2",
    "nflags",
    "delegates",
    "delegates_new",
    "d_del",
    "delegate",
    "operator",
    "tap",
]);
/// Tap: time, fare class, class fare, fare after concession.
const TAP1: Grid = Grid(&[
    "tap",
    "e4",
    "e5",
    "class",
    "t",
    "b0",
    "b1",
    "b2",
    "b3",
    "class_fare",
    "fare0",
    "fare1",
    "fare2",
    "fare3",
    "conc",
    "fare",
    "r1",
    "r1c",
]);
/// Tap: discount after concession; inside the transfer window; below the transfer limit.
const TAP2: Grid = Grid(&[
    "D", "conc", "disc", "r2", "r2c", "js", "inv_js", "started", "W", "t", "late", "d1", "trn",
    "M", "under", "d2", "xfer",
]);
/// Tap: the charge before the cap; the journey after; the cap period.
const TAP3: Grid = Grid(&[
    "fare",
    "disc",
    "msel",
    "mn",
    "d3",
    "xfer",
    "before",
    "js",
    "t",
    "js_new",
    "trn",
    "trn_new",
    "cs",
    "inv_cs",
    "cap_started",
    "expired",
    "d4",
    "P",
    "over",
    "cs_new",
]);
/// Tap: the cap, the charge, time going forward, not after the batch and not more than the
/// maximum tap delay before it.
const TAP4: Grid = Grid(&[
    "over", "sp", "base", "F", "room", "before", "csel", "charged", "d5", "sp_new", "tap", "lt",
    "t", "d6", "now", "d7", "T", "d8",
]);
/// The signer's rider words after the slot.
const RIDER: Grid = Grid(&["tap", "ra", "ra_tap", "ra_new", "rb", "rb_tap", "rb_new"]);

/// The family's rule gates.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    q_kind: Selector,
    q_signer: Selector,
    q_second: Selector,
    q_open: Selector,
    q_owner_xy: Selector,
    q_owner_flags: Selector,
    q_tap1: Selector,
    q_tap2: Selector,
    q_tap3: Selector,
    q_tap4: Selector,
    q_rider: Selector,
}

/// Configures the rule gates on the shared columns.
pub(crate) fn configure(meta: &mut ConstraintSystem<Fp>, base: &Base) -> Config {
    let q_kind = gate(meta, base, "accounts: kind and encoding", KIND, |g| {
        let mut r: Vec<(&'static str, Expression<Fp>)> = vec![
            (
                "transfer flag is boolean",
                g.e("transfer") * (one() - g.e("transfer")),
            ),
            ("open flag is boolean", g.e("open") * (one() - g.e("open"))),
            (
                "operator flag is boolean",
                g.e("operator") * (one() - g.e("operator")),
            ),
            (
                "concession flag is boolean",
                g.e("concession") * (one() - g.e("concession")),
            ),
            ("tap flag is boolean", g.e("tap") * (one() - g.e("tap"))),
            (
                "delegate flag is boolean",
                g.e("delegate") * (one() - g.e("delegate")),
            ),
        ];
        let sum = KINDS
            .iter()
            .fold(Expression::Constant(Fp::zero()), |acc, (f, _)| acc + g.e(f));
        let code = KINDS
            .iter()
            .fold(Expression::Constant(Fp::zero()), |acc, (f, k)| {
                acc + g.e(f) * c(*k)
            });
        let not_signed = one() - g.e("signed");
        let a2 = ["transfer", "open", "operator", "concession", "tap"]
            .iter()
            .fold(Expression::Constant(Fp::zero()), |acc, f| acc + g.e(f));
        r.extend([
            ("signed = sum of kind flags", g.e("signed") - sum),
            (
                "signed is boolean (one kind at most)",
                g.e("signed") * not_signed.clone(),
            ),
            ("kind = sum of code * flag", g.e("e0") - code),
            ("a2_on = kinds writing a second account", g.e("a2_on") - a2),
            ("padding: field 1 = 0", not_signed.clone() * g.e("e1")),
            ("padding: field 2 = 0", not_signed.clone() * g.e("e2")),
            ("padding: field 3 = 0", not_signed.clone() * g.e("e3")),
            ("padding: field 4 = 0", not_signed * g.e("e4")),
            (
                "register_delegate: field 3 = 0",
                g.e("delegate") * g.e("e3"),
            ),
            (
                "register_delegate: field 4 = 0",
                g.e("delegate") * g.e("e4"),
            ),
            (
                "field 5 = 0 unless register_operator or tap",
                (one() - g.e("operator") - g.e("tap")) * g.e("e5"),
            ),
            (
                "field 6 = 0 unless register_operator",
                (one() - g.e("operator")) * g.e("e6"),
            ),
            (
                "field 7 = 0 unless register_operator",
                (one() - g.e("operator")) * g.e("e7"),
            ),
            (
                "register_operator, set_concession: from = TRANSIT_AUTHORITY",
                (g.e("operator") + g.e("concession")) * (g.e("e1") - c(TRANSIT_AUTHORITY)),
            ),
            (
                "e4c = field 4 when it is an amount, fare, percent or class",
                g.e("e4c")
                    - (g.e("transfer") + g.e("operator") + g.e("concession") + g.e("tap"))
                        * g.e("e4"),
            ),
            (
                "e5c = field 5 when it is a fare or a time",
                g.e("e5c") - (g.e("operator") + g.e("tap")) * g.e("e5"),
            ),
            (
                "e6c = field 6 when it is a fare",
                g.e("e6c") - g.e("operator") * g.e("e6"),
            ),
            (
                "e7c = field 7 when it is a fare",
                g.e("e7c") - g.e("operator") * g.e("e7"),
            ),
        ]);
        r
    });

    let q_signer = gate(meta, base, "accounts: signer", SIGNER, |g| {
        vec![
            (
                "signed * (tx nonce - nonce) = 0",
                g.e("signed") * (g.e("e2") - g.e("nonce")),
            ),
            (
                "nonce_new = nonce + signed",
                g.e("nonce_new") - g.e("nonce") - g.e("signed"),
            ),
            (
                "d_from = signed * (accounts - 1 - from) (the signer exists)",
                g.e("d_from") - g.e("signed") * (g.e("accounts") - one() - g.e("e1")),
            ),
            (
                "balance_new = balance - transfer * amount - tap * charged",
                g.e("balance_new") - g.e("balance")
                    + g.e("transfer") * g.e("e4")
                    + g.e("tap") * g.e("charged"),
            ),
            (
                "owner_new = owner + delegate * (new owner record - owner)",
                g.e("owner_new") - g.e("owner") - g.e("delegate") * (g.e("x_hash") - g.e("owner")),
            ),
            (
                "transfer: amount != 0",
                g.e("transfer") * (g.e("e4") * g.e("inv_amount") - one()),
            ),
        ]
    });

    let q_second = gate(meta, base, "accounts: second account", SECOND, |g| {
        let checked = g.e("a2_on") - g.e("open");
        vec![
            (
                "a2 index = field 3, or the accounts counter for open_account",
                g.e("a2_index") - g.e("e3") - g.e("open") * (g.e("accounts") - g.e("e3")),
            ),
            (
                "accounts_new = accounts + open",
                g.e("accounts_new") - g.e("accounts") - g.e("open"),
            ),
            (
                "d_a2 = (a2_on - open) * (accounts - 1 - a2 index) (the account exists)",
                g.e("d_a2") - checked.clone() * (g.e("accounts") - one() - g.e("a2_index")),
            ),
            (
                "second account != signer",
                checked * ((g.e("e1") - g.e("a2_index")) * g.e("inv_from") - one()),
            ),
            (
                "balance2_new = balance2 + transfer * amount + tap * charged",
                g.e("balance2_new")
                    - g.e("balance2")
                    - g.e("transfer") * g.e("e4")
                    - g.e("tap") * g.e("charged"),
            ),
            (
                "owner2_new = owner2 + (operator + open) * (new owner record - owner2)",
                g.e("owner2_new")
                    - g.e("owner2")
                    - (g.e("operator") + g.e("open")) * (g.e("x_hash") - g.e("owner2")),
            ),
        ]
    });

    let empty_owner = super::empty_owner_hash();
    let q_open = gate(
        meta,
        base,
        "accounts: open and concession",
        OPEN,
        move |g| {
            vec![
                (
                    "open_account: new account's owner was empty",
                    g.e("open") * (g.e("owner2") - Expression::Constant(empty_owner)),
                ),
                (
                    "open_account: new account's nonce was 0",
                    g.e("open") * g.e("nonce2"),
                ),
                (
                    "open_account: the new key is on the curve (y^2 = x^3 + 5)",
                    g.e("open")
                        * (g.e("e4") * g.e("e4") - g.e("e3") * g.e("e3") * g.e("e3") - c(5)),
                ),
                (
                    "open_account: new account's balance was 0",
                    g.e("open") * g.e("balance2"),
                ),
                (
                    "open_account: new account's energy was 0",
                    g.e("open") * g.e("energy2"),
                ),
                (
                    "open_account: new account's rider word a was 0",
                    g.e("open") * g.e("ra2"),
                ),
                (
                    "open_account: new account's rider word b was 0",
                    g.e("open") * g.e("rb2"),
                ),
                (
                    "rb2_new = rb2 + concession * 2^128 * (percent - concession2)",
                    g.e("rb2_new")
                        - g.e("rb2")
                        - g.e("concession")
                            * Expression::Constant(two64().square())
                            * (g.e("e4") - g.e("conc2")),
                ),
                (
                    "d_pct = concession * (100 - percent)",
                    g.e("d_pct") - g.e("concession") * (c(MAX_CONCESSION_PERCENT) - g.e("e4")),
                ),
            ]
        },
    );

    let q_owner_xy = gate(
        meta,
        base,
        "accounts: new owner record key and fares",
        OWNER_XY,
        |g| {
            let t64 = Expression::Constant(two64());
            vec![
                (
                    "new owner x = delegate * x1 + operator * x2 + open * field 3",
                    g.e("nx")
                        - g.e("delegate") * g.e("x1")
                        - g.e("operator") * g.e("x2")
                        - g.e("open") * g.e("e3"),
                ),
                (
                    "new owner y = delegate * y1 + operator * y2 + open * field 4",
                    g.e("ny")
                        - g.e("delegate") * g.e("y1")
                        - g.e("operator") * g.e("y2")
                        - g.e("open") * g.e("e4"),
                ),
                (
                    "new fares 0,1 = delegate * fares01 + operator * (field 4 + 2^64 field 5)",
                    g.e("nf01")
                        - g.e("delegate") * g.e("f01_1")
                        - g.e("operator") * (g.e("e4") + t64.clone() * g.e("e5")),
                ),
                (
                    "new fares 2,3 = delegate * fares23 + operator * (field 6 + 2^64 field 7)",
                    g.e("nf23")
                        - g.e("delegate") * g.e("f23_1")
                        - g.e("operator") * (g.e("e6") + t64 * g.e("e7")),
                ),
            ]
        },
    );

    let q_owner_flags = gate(
        meta,
        base,
        "accounts: new owner record flags",
        OWNER_FLAGS,
        |g| {
            let t64 = Expression::Constant(two64());
            vec![
            (
                "new flags = delegate * (delegates + 1 + 2^64 isop1) + operator * (del1_2 + 2^64)",
                g.e("nflags")
                    - g.e("delegate") * (g.e("delegates") + one() + t64.clone() * g.e("isop_1"))
                    - g.e("operator") * (g.e("del1_2") + t64),
            ),
            (
                "register_delegate: the signer is not a delegate yet",
                g.e("delegate") * g.e("del1_1"),
            ),
            (
                "delegates_new = delegates + delegate",
                g.e("delegates_new") - g.e("delegates") - g.e("delegate"),
            ),
            (
                "d_del = delegate * (MAX_DELEGATES - 1 - delegates)",
                g.e("d_del") - g.e("delegate") * (c(MAX_DELEGATES - 1) - g.e("delegates")),
            ),
            (
                "tap: the operator has a fare table",
                g.e("tap") * (g.e("isop_2") - one()),
            ),
        ]
        },
    );

    let q_tap1 = gate(meta, base, "tap: class fare and concession", TAP1, |g| {
        let bits = ["b0", "b1", "b2", "b3"];
        let mut r: Vec<(&'static str, Expression<Fp>)> = vec![
            ("t = tap * time", g.e("t") - g.e("tap") * g.e("e5")),
            (
                "class = tap * fare class",
                g.e("class") - g.e("tap") * g.e("e4"),
            ),
            ("class bit 0 is boolean", g.e("b0") * (one() - g.e("b0"))),
            ("class bit 1 is boolean", g.e("b1") * (one() - g.e("b1"))),
            ("class bit 2 is boolean", g.e("b2") * (one() - g.e("b2"))),
            ("class bit 3 is boolean", g.e("b3") * (one() - g.e("b3"))),
        ];
        let sum = bits
            .iter()
            .fold(Expression::Constant(Fp::zero()), |acc, b| acc + g.e(b));
        let index = bits
            .iter()
            .enumerate()
            .fold(Expression::Constant(Fp::zero()), |acc, (i, b)| {
                acc + g.e(b) * c(i as u64)
            });
        let fare = (0..FARE_CLASSES).fold(Expression::Constant(Fp::zero()), |acc, i| {
            acc + g.e(bits[i]) * g.e(["fare0", "fare1", "fare2", "fare3"][i])
        });
        r.extend([
            (
                "one class bit for a tap: sum of bits = tap",
                sum - g.e("tap"),
            ),
            (
                "fare class = sum of i * bit i (class < 4)",
                index - g.e("class"),
            ),
            ("class_fare = fare of the class", g.e("class_fare") - fare),
            (
                "100 fare + r1 = class_fare * (100 - concession)",
                g.e("fare") * c(100) + g.e("r1")
                    - g.e("class_fare") * (c(MAX_CONCESSION_PERCENT) - g.e("conc")),
            ),
            ("r1 + r1c = 99 (r1 < 100)", g.e("r1") + g.e("r1c") - c(99)),
        ]);
        r
    });

    let q_tap2 = gate(meta, base, "tap: discount, window, transfers", TAP2, |g| {
        let late = g.e("late");
        let under = g.e("under");
        vec![
            (
                "100 disc + r2 = discount cap * (100 - concession)",
                g.e("disc") * c(100) + g.e("r2")
                    - g.e("D") * (c(MAX_CONCESSION_PERCENT) - g.e("conc")),
            ),
            ("r2 + r2c = 99 (r2 < 100)", g.e("r2") + g.e("r2c") - c(99)),
            (
                "started = journey_start * inv",
                g.e("started") - g.e("js") * g.e("inv_js"),
            ),
            (
                "journey_start * (1 - started) = 0",
                g.e("js") * (one() - g.e("started")),
            ),
            ("late is boolean", late.clone() * (one() - late.clone())),
            (
                "d1 = late ? t - js - W - 1 : js + W - t (window, inclusive)",
                g.e("d1")
                    - (one() - late.clone()) * (g.e("js") + g.e("W") - g.e("t"))
                    - late.clone() * (g.e("t") - g.e("js") - g.e("W") - one()),
            ),
            ("under is boolean", under.clone() * (one() - under.clone())),
            (
                "d2 = under ? M - 1 - transfers : transfers - M",
                g.e("d2")
                    - under.clone() * (g.e("M") - one() - g.e("trn"))
                    - (one() - under.clone()) * (g.e("trn") - g.e("M")),
            ),
            (
                "transfer = started * (1 - late) * under",
                g.e("xfer") - g.e("started") * (one() - late) * under,
            ),
        ]
    });

    let q_tap3 = gate(
        meta,
        base,
        "tap: charge before cap, journey, cap period",
        TAP3,
        |g| {
            let msel = g.e("msel");
            let expired = g.e("expired");
            let xfer = g.e("xfer");
            let over = g.e("over");
            vec![
                ("msel is boolean", msel.clone() * (one() - msel.clone())),
                (
                    "mn = min(fare, disc)",
                    g.e("mn") - msel.clone() * g.e("fare") - (one() - msel.clone()) * g.e("disc"),
                ),
                (
                    "d3 = msel ? disc - fare : fare - disc",
                    g.e("d3")
                        - msel.clone() * (g.e("disc") - g.e("fare"))
                        - (one() - msel) * (g.e("fare") - g.e("disc")),
                ),
                (
                    "before = fare - transfer * min(fare, disc)",
                    g.e("before") - g.e("fare") + xfer.clone() * g.e("mn"),
                ),
                (
                    "js_new = transfer ? js : t",
                    g.e("js_new") - xfer.clone() * g.e("js") - (one() - xfer.clone()) * g.e("t"),
                ),
                (
                    "transfers_new = transfer * (transfers + 1)",
                    g.e("trn_new") - xfer * (g.e("trn") + one()),
                ),
                (
                    "cap_started = cap_start * inv",
                    g.e("cap_started") - g.e("cs") * g.e("inv_cs"),
                ),
                (
                    "cap_start * (1 - cap_started) = 0",
                    g.e("cs") * (one() - g.e("cap_started")),
                ),
                (
                    "expired is boolean",
                    expired.clone() * (one() - expired.clone()),
                ),
                (
                    "d4 = expired ? t - cs - P : cs + P - 1 - t",
                    g.e("d4")
                        - expired.clone() * (g.e("t") - g.e("cs") - g.e("P"))
                        - (one() - expired.clone()) * (g.e("cs") + g.e("P") - one() - g.e("t")),
                ),
                (
                    "over = 1 - cap_started * (1 - expired)",
                    g.e("over") - one() + g.e("cap_started") * (one() - expired),
                ),
                (
                    "cs_new = over ? t : cs",
                    g.e("cs_new") - over.clone() * g.e("t") - (one() - over) * g.e("cs"),
                ),
            ]
        },
    );

    let q_tap4 = gate(meta, base, "tap: cap, charge, time", TAP4, |g| {
        let csel = g.e("csel");
        vec![
            (
                "base = (1 - over) * spent",
                g.e("base") - (one() - g.e("over")) * g.e("sp"),
            ),
            (
                "room = fare_cap - base",
                g.e("room") - g.e("F") + g.e("base"),
            ),
            ("csel is boolean", csel.clone() * (one() - csel.clone())),
            (
                "charged = min(before, room)",
                g.e("charged")
                    - csel.clone() * g.e("before")
                    - (one() - csel.clone()) * g.e("room"),
            ),
            (
                "d5 = csel ? room - before : before - room",
                g.e("d5")
                    - csel.clone() * (g.e("room") - g.e("before"))
                    - (one() - csel) * (g.e("before") - g.e("room")),
            ),
            (
                "spent_new = base + charged",
                g.e("sp_new") - g.e("base") - g.e("charged"),
            ),
            (
                "d6 = tap * (t - last_tap - 1) (taps go forward)",
                g.e("d6") - g.e("tap") * (g.e("t") - g.e("lt") - one()),
            ),
            (
                "d7 = tap * (now - t) (not after the batch)",
                g.e("d7") - g.e("tap") * (g.e("now") - g.e("t")),
            ),
            (
                "d8 = tap * (t + max_tap_delay - now) (not older than the tap delay)",
                g.e("d8") - g.e("tap") * (g.e("t") + g.e("T") - g.e("now")),
            ),
        ]
    });

    let q_rider = gate(meta, base, "accounts: rider words", RIDER, |g| {
        vec![
            (
                "ra_new = ra + tap * (ra_tap - ra)",
                g.e("ra_new") - g.e("ra") - g.e("tap") * (g.e("ra_tap") - g.e("ra")),
            ),
            (
                "rb_new = rb + tap * (rb_tap - rb)",
                g.e("rb_new") - g.e("rb") - g.e("tap") * (g.e("rb_tap") - g.e("rb")),
            ),
        ]
    });

    Config {
        q_kind,
        q_signer,
        q_second,
        q_open,
        q_owner_xy,
        q_owner_flags,
        q_tap1,
        q_tap2,
        q_tap3,
        q_tap4,
        q_rider,
    }
}

fn u64_of(v: Fp) -> u64 {
    crate::hash::low_u64(v)
}

/// Every named cell's value for one slot, from its witness (the records before and after
/// come from the rules; the rest is what the gates compute from them).
fn values(s: &SlotWitness, env: &Env) -> HashMap<&'static str, Fp> {
    let f = |b: bool| Fp::from(u64::from(b));
    let u = Fp::from;
    let k = s.kind;
    let e = s.encoding;
    let e_u = |i: usize| u64_of(e[i]);
    let a1 = s.account(0, false);
    let a1n = s.account(0, true);
    let a2 = s.account(1, false);
    let a2n = s.account(1, true);
    let mut v: HashMap<&'static str, Fp> = HashMap::new();

    for (name, code) in KINDS {
        v.insert(name, f(k == code));
    }
    let is = |name: &str| v[name] == Fp::one();
    let (transfer, open, operator, concession, tap, delegate) = (
        is("transfer"),
        is("open"),
        is("operator"),
        is("concession"),
        is("tap"),
        is("delegate"),
    );
    let signed = k != 0;
    let a2_on = transfer || open || operator || concession || tap;
    v.insert("signed", f(signed));
    v.insert("a2_on", f(a2_on));
    for (i, name) in ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"]
        .iter()
        .enumerate()
    {
        v.insert(name, e[i]);
    }
    let gated = |on: bool, x: Fp| if on { x } else { Fp::zero() };
    v.insert(
        "e4c",
        gated(transfer || operator || concession || tap, e[4]),
    );
    v.insert("e5c", gated(operator || tap, e[5]));
    v.insert("e6c", gated(operator, e[6]));
    v.insert("e7c", gated(operator, e[7]));

    // The signer.
    v.insert("nonce", u(a1.nonce));
    v.insert("nonce_new", u(a1n.nonce));
    let accounts = u(env.counters[counter::ACCOUNTS]);
    v.insert("d_from", gated(signed, accounts - Fp::one() - e[1]));
    v.insert("balance", u(a1.balance));
    v.insert("balance_new", u(a1n.balance));
    v.insert("energy", u(a1.energy));
    v.insert("owner_new", a1n.owner.hash());
    v.insert("inv_amount", inverse(Value::known(e[4])).map_or_zero());

    // The second account.
    // The second account's index as the gate defines it (an honest witness's touch has the
    // same index).
    let a2_index = if open { accounts } else { e[3] };
    v.insert("a2_index", a2_index);
    v.insert(
        "accounts_new",
        u(env.counters[counter::ACCOUNTS] + u64::from(open)),
    );
    v.insert(
        "d_a2",
        gated(a2_on && !open, accounts - Fp::one() - a2_index),
    );
    v.insert(
        "inv_from",
        inverse(Value::known(e[1] - a2_index)).map_or_zero(),
    );
    v.insert("balance2", u(a2.balance));
    v.insert("balance2_new", u(a2n.balance));
    v.insert("owner2_new", a2n.owner.hash());
    v.insert("nonce2", u(a2.nonce));
    v.insert("energy2", u(a2.energy));
    let [ra2, rb2] = rider_words(&a2);
    v.insert("ra2", ra2);
    v.insert("rb2", rb2);
    v.insert("rb2_new", rider_words(&a2n)[1]);
    v.insert("sp2", u(a2.rider.cap_spent));
    v.insert("trn2", u(a2.rider.transfers));
    v.insert("conc2", u(a2.rider.concession));
    v.insert("d_pct", gated(concession, u(MAX_CONCESSION_PERCENT) - e[4]));

    // Owner records: the signer's, the second account's, and the one a kind builds.
    let o1 = owner_fields(&a1.owner);
    let o2 = owner_fields(&a2.owner);
    for (i, name) in ["x1", "y1", "flags1", "f01_1", "f23_1"].iter().enumerate() {
        v.insert(name, o1[i]);
    }
    for (i, name) in ["x2", "y2", "flags2", "f01_2", "f23_2"].iter().enumerate() {
        v.insert(name, o2[i]);
    }
    let built = if delegate {
        owner_fields(&a1n.owner)
    } else if operator || open {
        owner_fields(&a2n.owner)
    } else {
        [Fp::zero(); 5]
    };
    for (i, name) in ["nx", "ny", "nflags", "nf01", "nf23"].iter().enumerate() {
        v.insert(name, built[i]);
    }
    v.insert("del1_1", u(a1.owner.delegate.map_or(0, |d| d + 1)));
    v.insert("isop_1", f(a1.owner.fares.is_some()));
    v.insert("del1_2", u(a2.owner.delegate.map_or(0, |d| d + 1)));
    v.insert("isop_2", f(a2.owner.fares.is_some()));
    v.insert(
        "delegates_new",
        u(env.counters[counter::DELEGATES] + u64::from(delegate)),
    );
    v.insert(
        "d_del",
        gated(
            delegate,
            u(MAX_DELEGATES - 1) - u(env.counters[counter::DELEGATES]),
        ),
    );
    let fares = a2.owner.fares.unwrap_or_default();
    for (i, name) in ["fare0", "fare1", "fare2", "fare3"].iter().enumerate() {
        v.insert(name, u(fares[i]));
    }

    // The tap, computed for every slot (a non-tap's time and class are 0); only a tap's
    // validity checks and effects are enforced.
    let p = &env.params;
    let r = &a1.rider;
    let t = if tap { e_u(5) } else { 0 };
    let class = if tap { e_u(4) } else { 0 };
    for i in 0..FARE_CLASSES as u64 {
        v.insert(["b0", "b1", "b2", "b3"][i as usize], f(tap && class == i));
    }
    let class_fare = if tap {
        fares.get(class as usize).copied().unwrap_or(0)
    } else {
        0
    };
    let kept = u128::from(MAX_CONCESSION_PERCENT.saturating_sub(r.concession));
    let scaled = |x: u64| {
        let product = u128::from(x) * kept;
        ((product / 100) as u64, (product % 100) as u64)
    };
    let (fare, r1) = scaled(class_fare);
    let (disc, r2) = scaled(p.transfer_discount_cap);
    let started = r.journey_start != 0;
    let window_end = u128::from(r.journey_start) + u128::from(p.transfer_window);
    let late = u128::from(t) > window_end;
    let d1 = if late {
        u128::from(t) - window_end - 1
    } else {
        window_end - u128::from(t)
    };
    let under = r.transfers < p.max_transfers;
    let d2 = if under {
        p.max_transfers - 1 - r.transfers
    } else {
        r.transfers - p.max_transfers
    };
    let xfer = started && !late && under;
    let msel = fare <= disc;
    let mn = fare.min(disc);
    let d3 = if msel { disc - fare } else { fare - disc };
    let before = if xfer { fare - mn } else { fare };
    let js_new = if xfer { r.journey_start } else { t };
    let trn_new = if xfer { r.transfers + 1 } else { 0 };
    let cap_started = r.cap_start != 0;
    let period_end = u128::from(r.cap_start) + u128::from(p.cap_period);
    let expired = u128::from(t) >= period_end;
    let d4 = if expired {
        u128::from(t) - period_end
    } else {
        period_end - 1 - u128::from(t)
    };
    let over = !cap_started || expired;
    let cs_new = if over { t } else { r.cap_start };
    let base_spent = if over { 0 } else { r.cap_spent };
    let room = p.fare_cap.wrapping_sub(base_spent);
    let csel = before <= room;
    let charged = before.min(room);
    let d5 = if csel { room - before } else { before - room };
    let sp_new = base_spent + charged;
    let big = |x: u128| Fp::from_u128(x);
    v.extend([
        ("t", u(t)),
        ("class", u(class)),
        ("class_fare", u(class_fare)),
        ("conc", u(r.concession)),
        ("fare", u(fare)),
        ("r1", u(r1)),
        ("r1c", u(99 - r1)),
        ("disc", u(disc)),
        ("r2", u(r2)),
        ("r2c", u(99 - r2)),
        ("js", u(r.journey_start)),
        (
            "inv_js",
            inverse(Value::known(u(r.journey_start))).map_or_zero(),
        ),
        ("started", f(started)),
        ("late", f(late)),
        ("d1", big(d1)),
        ("trn", u(r.transfers)),
        ("under", f(under)),
        ("d2", u(d2)),
        ("xfer", f(xfer)),
        ("msel", f(msel)),
        ("mn", u(mn)),
        ("d3", u(d3)),
        ("before", u(before)),
        ("js_new", u(js_new)),
        ("trn_new", u(trn_new)),
        ("cs", u(r.cap_start)),
        (
            "inv_cs",
            inverse(Value::known(u(r.cap_start))).map_or_zero(),
        ),
        ("cap_started", f(cap_started)),
        ("expired", f(expired)),
        ("d4", big(d4)),
        ("over", f(over)),
        ("cs_new", u(cs_new)),
        ("sp", u(r.cap_spent)),
        ("base", u(base_spent)),
        ("room", u(room)),
        ("csel", f(csel)),
        ("charged", u(charged)),
        ("d5", u(d5)),
        ("sp_new", u(sp_new)),
        ("lt", u(r.last_tap)),
        ("d6", gated(tap, u(t) - u(r.last_tap) - Fp::one())),
        ("d7", gated(tap, u(env.now) - u(t))),
        ("d8", gated(tap, u(t) + u(p.max_tap_delay) - u(env.now))),
    ]);
    let [ra, rb] = rider_words(&a1);
    let [ra_new, rb_new] = rider_words(&a1n);
    v.extend([
        ("ra", ra),
        ("rb", rb),
        ("ra_new", ra_new),
        ("rb_new", rb_new),
    ]);
    v
}

/// One slot of the accounts family.
pub(crate) fn slot(
    config: &Config,
    base: &Base,
    mut layouter: impl Layouter<Fp>,
    slot: Value<&SlotWitness>,
    running: &mut Running,
) -> Result<(), Error> {
    let values = slot.zip(running.env()).map(|(s, env)| values(s, &env));
    let mut s = Slot::new(base, values, running);
    let l = &mut layouter;

    // The kind and the encoding; the owner records opened (the signer's key and flags, the
    // second account's flags and fares).
    s.grid(l, "kind and encoding", KIND, config.q_kind)?;
    s.witness(l, &["x1", "y1", "flags1", "f01_1", "f23_1"])?;
    s.witness(l, &["x2", "y2", "flags2", "f01_2", "f23_2"])?;
    s.witness(l, &["del1_1", "isop_1", "del1_2", "isop_2"])?;
    s.witness(l, &["fare0", "fare1", "fare2", "fare3"])?;
    let zero = base.constant(l.namespace(|| "zero"), Fp::zero())?;
    for (word, parts) in [
        ("flags1", ["del1_1", "isop_1"]),
        ("flags2", ["del1_2", "isop_2"]),
        ("f01_2", ["fare0", "fare1"]),
        ("f23_2", ["fare2", "fare3"]),
    ] {
        base.unpack(
            l.namespace(|| word),
            s.cell(word),
            [s.cell(parts[0]), s.cell(parts[1]), &zero],
        )?;
    }
    let field_cells = |s: &Slot, names: [&str; 5]| names.map(|n| s.cell(n).clone());
    let owner = base.owner_hash(
        l.namespace(|| "signer owner record"),
        &field_cells(&s, ["x1", "y1", "flags1", "f01_1", "f23_1"]),
    )?;
    let owner2 = base.owner_hash(
        l.namespace(|| "second owner record"),
        &field_cells(&s, ["x2", "y2", "flags2", "f01_2", "f23_2"]),
    )?;
    s.cells.insert("owner", owner);
    s.cells.insert("owner2", owner2);

    // The owner record a kind builds (register_delegate, register_operator, open_account).
    s.grid(
        l,
        "new owner record key and fares",
        OWNER_XY,
        config.q_owner_xy,
    )?;
    s.grid(
        l,
        "new owner record flags",
        OWNER_FLAGS,
        config.q_owner_flags,
    )?;
    let x_hash = base.owner_hash(
        l.namespace(|| "new owner record"),
        &field_cells(&s, ["nx", "ny", "nflags", "nf01", "nf23"]),
    )?;
    s.cells.insert("x_hash", x_hash);

    // The signer's rider record, unpacked; the tap's fare rules.
    s.witness(l, &["ra", "rb"])?;
    s.grid(l, "tap: class fare and concession", TAP1, config.q_tap1)?;
    s.grid(l, "tap: discount, window, transfers", TAP2, config.q_tap2)?;
    s.grid(
        l,
        "tap: charge before cap, journey, cap period",
        TAP3,
        config.q_tap3,
    )?;
    s.grid(l, "tap: cap, charge, time", TAP4, config.q_tap4)?;
    base.unpack(
        l.namespace(|| "rider word a"),
        s.cell("ra"),
        [s.cell("js"), s.cell("cs"), s.cell("lt")],
    )?;
    base.unpack(
        l.namespace(|| "rider word b"),
        s.cell("rb"),
        [s.cell("sp"), s.cell("trn"), s.cell("conc")],
    )?;
    let ra_tap = base.pack(
        l.namespace(|| "rider word a after a tap"),
        [s.cell("js_new"), s.cell("cs_new"), s.cell("t")],
    )?;
    let rb_tap = base.pack(
        l.namespace(|| "rider word b after a tap"),
        [s.cell("sp_new"), s.cell("trn_new"), s.cell("conc")],
    )?;
    s.cells.insert("ra_tap", ra_tap);
    s.cells.insert("rb_tap", rb_tap);
    s.grid(l, "rider words", RIDER, config.q_rider)?;

    // The signer and the second account.
    s.grid(l, "signer", SIGNER, config.q_signer)?;
    s.grid(l, "second account", SECOND, config.q_second)?;
    s.witness(l, &["sp2", "trn2"])?;
    s.grid(l, "open and concession", OPEN, config.q_open)?;
    base.unpack(
        l.namespace(|| "second rider word b"),
        s.cell("rb2"),
        [s.cell("sp2"), s.cell("trn2"), s.cell("conc2")],
    )?;
    s.witness(l, &["energy"])?;

    // The message extends the data hash; the signer signed it.
    s.signed_message(l, running, "signed", "x1", "y1")?;

    // Range checks: every amount and every part unpacked from a leaf or computed.
    s.range64(
        l,
        &[
            "e4c", "e5c", "e6c", "e7c", "d_from", "d_a2", "d_pct", "d_del", "del1_1", "isop_1",
            "del1_2", "isop_2", "fare0", "fare1", "fare2", "fare3", "js", "cs", "lt", "sp", "trn",
            "conc", "sp2", "trn2", "conc2", "js_new", "cs_new", "sp_new", "trn_new", "fare",
            "disc", "d1", "d2", "d3", "d4", "room", "d5", "d6", "d7", "d8",
        ],
    )?;
    for name in ["r1", "r1c", "r2", "r2c"] {
        base.range_short(l.namespace(|| name), name, s.cell(name), 7)?;
    }

    // The two account touches.
    let a1_old = AccountCells {
        owner: s.cell("owner").clone(),
        nonce: s.cell("nonce").clone(),
        balance: s.cell("balance").clone(),
        energy: s.cell("energy").clone(),
        rider_a: s.cell("ra").clone(),
        rider_b: s.cell("rb").clone(),
    };
    let a1_new = AccountUpdate {
        owner: s.cell("owner_new").clone(),
        nonce: Some(s.cell("nonce_new").clone()),
        balance: Some(s.cell("balance_new").clone()),
        energy: None,
        rider_a: s.cell("ra_new").clone(),
        rider_b: s.cell("rb_new").clone(),
    };
    let path0 = slot.map(|w| w.path(0));
    let path1 = slot.map(|w| w.path(1));
    base.account_touch(
        l.namespace(|| "signer account"),
        s.cell("signed"),
        s.cell("e1"),
        path0.as_ref(),
        &a1_old,
        &a1_new,
        running,
    )?;
    let a2_old = AccountCells {
        owner: s.cell("owner2").clone(),
        nonce: s.cell("nonce2").clone(),
        balance: s.cell("balance2").clone(),
        energy: s.cell("energy2").clone(),
        rider_a: s.cell("ra2").clone(),
        rider_b: s.cell("rb2").clone(),
    };
    let a2_new = AccountUpdate {
        owner: s.cell("owner2_new").clone(),
        nonce: None,
        balance: Some(s.cell("balance2_new").clone()),
        energy: None,
        rider_a: s.cell("ra2").clone(),
        rider_b: s.cell("rb2_new").clone(),
    };
    base.account_touch(
        l.namespace(|| "second account"),
        s.cell("a2_on"),
        s.cell("a2_index"),
        path1.as_ref(),
        &a2_old,
        &a2_new,
        running,
    )?;
    running.counters[counter::ACCOUNTS] = s.cell("accounts_new").clone();
    running.counters[counter::DELEGATES] = s.cell("delegates_new").clone();
    Ok(())
}
