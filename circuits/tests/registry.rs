//! The registry family's chunk circuit: meters and readings, orders and cancellations, fleet
//! records, voter registrations, proposals. Honest chunks of every kind (with padding) pass
//! and reach the native root; then, for every rule, one tampered cell, witness record or
//! public input fails the constraint named after the rule.

mod common;

use circuits::chunk::proof::{self, ChunkKeys};
use circuits::chunk::witness::{self, ChunkWitness};
use circuits::chunk::{self, Family, Instance, RegistryCircuit, BLINDING_ROWS};
use circuits::constants::*;
use circuits::demo::City;
use circuits::hash::Fp;
use circuits::keys::SecretKey;
use circuits::records::{Account, FleetKind, Meter, Order, OrderStatus, Side, VoterLeaf};
use circuits::state::Write;
use circuits::tx::Transaction;
use common::*;
use ff::Field;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;

const FAMILY: Family = Family::Registry;

fn two64() -> Fp {
    Fp::from(2).pow([64])
}

/// The smallest `k` that holds `slots` registry slots.
fn k(slots: usize) -> u32 {
    FAMILY.k_for(slots)
}

/// MockProver's failures on an honest or tampered witness.
fn check(w: &ChunkWitness, instance: Instance) -> Vec<String> {
    failures(
        k(w.slots.len()),
        RegistryCircuit::new(w.clone()),
        instance.clone(),
    )
}

#[track_caller]
fn passes(w: &ChunkWitness, instance: Instance) {
    assert_eq!(check(w, instance.clone()), Vec::<String>::new());
}

/// A one-transaction chunk and the ways to tamper with it.
struct Case {
    w: ChunkWitness,
    instance: Instance,
    params: circuits::Params,
}

impl Case {
    /// The chunk of the scenario's transactions (one slot per transaction, no padding).
    fn of(s: &Scenario) -> Case {
        let (w, instance) = s.chunk(FAMILY, s.txs.len());
        Case {
            w,
            instance,
            params: s.city.state.params().clone(),
        }
    }

    #[track_caller]
    fn honest(&self) -> &Self {
        passes(&self.w, self.instance.clone());
        self
    }

    /// Every cell named `name` (the slot's witness and its copies in other rule regions)
    /// holds `value`: a prover's consistent choice of that one value.
    #[track_caller]
    fn cell(&self, name: &'static str, value: Fp, expected: &str) -> &Self {
        let overrides: Vec<_> = (0..24).map(|n| (name, n, value)).collect();
        let found = failures_with(
            k(self.w.slots.len()),
            RegistryCircuit::new(self.w.clone()),
            self.instance.clone(),
            &overrides,
        );
        assert_fails_with(found, expected);
        self
    }

    /// Several cells at once (each as in [`Case::cell`]).
    #[track_caller]
    fn cells(&self, cells: &[(&'static str, Fp)], expected: &str) -> &Self {
        let overrides: Vec<_> = cells
            .iter()
            .flat_map(|(name, value)| (0..24).map(move |n| (*name, n, *value)))
            .collect();
        let found = failures_with(
            k(self.w.slots.len()),
            RegistryCircuit::new(self.w.clone()),
            self.instance.clone(),
            &overrides,
        );
        assert_fails_with(found, expected);
        self
    }

    /// The witness's signature changed by `f`: the chunk does not check it, the signature
    /// proof a verifier checks beside it fails its final equality.
    #[track_caller]
    fn signature(&self, f: impl FnOnce(&mut ChunkWitness)) -> &Self {
        let mut w = self.w.clone();
        f(&mut w);
        assert_eq!(check(&w, self.instance.clone()), Vec::<String>::new());
        assert_fails_with(
            signature_failures(&w, &self.instance.clone()),
            SIGNATURE_FAILS,
        );
        self
    }

    /// The witness changed by `f` (a record, the encoding, the header).
    #[track_caller]
    fn witness(&self, f: impl FnOnce(&mut ChunkWitness), expected: &str) -> &Self {
        let mut w = self.w.clone();
        f(&mut w);
        assert_fails_with(check(&w, self.instance.clone()), expected);
        self
    }

    /// Every cell holding one value holds another (`circuits::testing`'s value overrides).
    #[track_caller]
    fn swap(&self, swaps: &[(Fp, Fp)], expected: &str) -> &Self {
        let found = failures_with_values(
            k(self.w.slots.len()),
            RegistryCircuit::new(self.w.clone()),
            self.instance.clone(),
            swaps,
        );
        assert_fails_with(found, expected);
        self
    }

    /// The public batch time changed to `now`.
    #[track_caller]
    fn now(&self, now: u64, expected: &str) -> &Self {
        let i = &self.instance;
        let moved = Instance::new(
            i.root_old(),
            i.root_new(),
            i.data_hash(),
            now,
            i.chain(),
            &self.params,
            i.signers().to_vec(),
        );
        assert_fails_with(check(&self.w, moved), expected);
        self
    }
}

fn old_account(w: &mut ChunkWitness) -> &mut Account {
    match &mut w.slots[0].touches[0].as_mut().unwrap().old {
        Write::Account(_, a) => a,
        other => panic!("touch 0 is {other:?}"),
    }
}

fn old_order(w: &mut ChunkWitness) -> &mut Order {
    match &mut w.slots[0].touches[1].as_mut().unwrap().old {
        Write::Order(_, o) => o,
        other => panic!("touch 1 is {other:?}"),
    }
}

fn old_meter(w: &mut ChunkWitness) -> &mut Meter {
    match &mut w.slots[0].touches[1].as_mut().unwrap().old {
        Write::Meter(_, m) => m,
        other => panic!("touch 1 is {other:?}"),
    }
}

fn set_field(w: &mut ChunkWitness, field: usize, value: Fp) {
    w.slots[0].encoding[field] = value;
}

fn u(x: u64) -> Fp {
    Fp::from(x)
}

// ------------------------------------------------------------------------------ fixtures

/// Registers a meter for `owner` before the chunk; returns its id.
fn meter(s: &mut Scenario, owner: u64, seed: &str) -> u64 {
    let id = s.city.state.counters().meters;
    let (tx, key) = s.city.register_meter(owner, seed);
    s.setup(tx);
    s.city.add_meter_key(id, key);
    id
}

/// A scenario where resident 0 owns meter 0 with `last` Wh read, and the energy minted.
fn metered(last: u64) -> Scenario {
    let mut s = Scenario::new(4);
    let r0 = s.city.resident(0);
    let m = meter(&mut s, r0, "m0");
    if last > 0 {
        s.setup(s.city.reading(m, last));
    }
    s
}

fn place(s: &mut Scenario, from: u64, side: Side, amount: u64, price: u64, expiry: u64) {
    s.push(s.city.order(from, side, amount, price, expiry));
}

fn operator(s: &mut Scenario) -> u64 {
    let metro = s.city.id("operator-metro");
    s.setup(s.city.register_operator(metro, [250, 400, 300, 500]));
    metro
}

fn voter(i: u64) -> Fp {
    circuits::demo::demo_voter(i).commitment()
}

// ------------------------------------------------------------------------ pinned circuit

#[test]
fn rows_degree_and_reserved_rows_are_pinned() {
    let (per_slot, fixed) = FAMILY.layout();
    assert_eq!(measured_rows(&RegistryCircuit::blank(1)), fixed + per_slot);
    assert_eq!(
        measured_rows(&RegistryCircuit::blank(2)),
        fixed + 2 * per_slot
    );
    assert_eq!((per_slot, fixed), (1_257, 171));
    assert_eq!(chunk::degree_of::<RegistryCircuit>(), 6);
    assert!(chunk::reserved_rows_of::<RegistryCircuit>() <= BLINDING_ROWS);
    assert_eq!(
        [11, 12, 13, 14, 15].map(|k| FAMILY.slots_for(k)),
        [1, 3, 6, 12, 25],
        "slots per chunk at k = 11, 12, 13, 14, 15"
    );
}

// ------------------------------------------------------------------ honest, every kind

#[test]
fn honest_register_meter_for_the_last_account_and_padding() {
    let mut s = Scenario::new(4);
    let last = s.city.state.counters().accounts - 1;
    let (tx, _) = s.city.register_meter(last, "last");
    s.push(tx);
    let (w, instance) = s.chunk(FAMILY, 2);
    passes(&w, instance.clone());
}

#[test]
fn honest_meter_readings_smallest_increase_then_more() {
    let mut s = metered(1_000);
    s.push(s.city.reading(0, 1_001));
    s.push(s.city.reading(0, 7_500));
    let (w, instance) = s.chunk(FAMILY, 2);
    passes(&w, instance.clone());
    let owner = s.city.resident(0);
    assert_eq!(s.city.state.account(owner).unwrap().energy, 7_500);
}

#[test]
fn honest_orders_at_the_edges() {
    // A buy spending the whole balance with the largest rounding (r = 999), a sell of all
    // the energy, expiry exactly one second after now.
    let mut s = metered(4_000);
    let (r0, r1) = (s.city.resident(0), s.city.resident(1));
    let balance = s.city.state.account(r1).unwrap().balance;
    // ceil(amount * price / 1000) = balance, with amount * price = 1000 (balance - 1) + 1.
    let amount = 1000 * (balance - 1) + 1;
    place(&mut s, r1, Side::Buy, amount, 1, NOW + 1);
    place(&mut s, r0, Side::Sell, 4_000, 12, NOW + 3_600);
    let (w, instance) = s.chunk(FAMILY, 2);
    passes(&w, instance.clone());
    assert_eq!(s.city.state.account(r1).unwrap().balance, 0);
    assert_eq!(s.city.state.account(r0).unwrap().energy, 0);
}

#[test]
fn honest_buy_without_rounding_and_padding() {
    let mut s = Scenario::new(4);
    let r1 = s.city.resident(1);
    place(&mut s, r1, Side::Buy, 5_000, 14, NOW + 60);
    let (w, instance) = s.chunk(FAMILY, 2);
    passes(&w, instance.clone());
    assert_eq!(s.city.state.account(r1).unwrap().balance, 10_000 - 70);
}

#[test]
fn honest_cancellations_release_energy_and_money() {
    let mut s = metered(3_000);
    let (r0, r1) = (s.city.resident(0), s.city.resident(1));
    s.setup(s.city.order(r0, Side::Sell, 2_500, 15, NOW + 100));
    s.setup(s.city.order(r1, Side::Buy, 1_234, 17, NOW + 100));
    s.push(s.city.cancel(r0, 0));
    s.push(s.city.cancel(r1, 1));
    let (w, instance) = s.chunk(FAMILY, 2);
    passes(&w, instance.clone());
    assert_eq!(s.city.state.account(r0).unwrap().energy, 3_000);
    assert_eq!(s.city.state.account(r1).unwrap().balance, 10_000);
}

#[test]
fn honest_fleet_records_of_two_kinds() {
    let mut s = Scenario::new(2);
    let metro = operator(&mut s);
    s.push(
        s.city
            .fleet_record(metro, 7, FleetKind::Maintenance, b"brakes"),
    );
    s.push(
        s.city
            .fleet_record(metro, 0, FleetKind::DriverShift, b"shift"),
    );
    let (w, instance) = s.chunk(FAMILY, 2);
    passes(&w, instance.clone());
}

#[test]
fn honest_voter_registration_and_padding() {
    let mut s = Scenario::new(2);
    s.push(s.city.register_voter(voter(0)));
    let (w, instance) = s.chunk(FAMILY, 2);
    passes(&w, instance.clone());
}

#[test]
fn honest_proposals_with_one_and_sixteen_options_and_shortest_window() {
    let mut s = Scenario::new(2);
    s.setup(s.city.register_voter(voter(1)));
    let sixteen: Vec<String> = (0..MAX_OPTIONS).map(|i| format!("option {i}")).collect();
    let labels: Vec<&str> = sixteen.iter().map(|x| x.as_str()).collect();
    s.push(s.city.proposal("one", &["yes"], NOW, NOW + 1));
    s.push(s.city.proposal("sixteen", &labels, NOW + 10, NOW + 1_000));
    let (w, instance) = s.chunk(FAMILY, 2);
    passes(&w, instance.clone());
    let p = s.city.state.proposal(0).unwrap();
    assert_eq!(p.voter_root, s.start.voter_root());
}

#[test]
fn honest_padding_only_changes_only_the_time() {
    let s = Scenario::new(2);
    let (w, instance) = s.chunk(FAMILY, 1);
    // Nothing but the batch time.
    let mut advanced = s.start.clone();
    advanced.advance_time(s.now).unwrap();
    assert_eq!(instance.root_new(), advanced.root());
    let case = Case {
        w,
        instance,
        params: s.city.state.params().clone(),
    };
    case.honest()
        .cell("e1", u(1), "padding: field 1 = 0")
        .cell("e2", u(1), "padding: field 2 = 0")
        .cell("e3", u(1), "padding: field 3 = 0")
        .cell("t_index", u(3), "t_index = the counter for an append")
        .cell(
            "nonce_new",
            u(1),
            "nonce_new = nonce + signed - meter_reading",
        )
        .cell("meters_new", u(1), "meters_new = meters + register_meter")
        .cell("n0", u(5), "new word 0 = ");
}

// ------------------------------------------------------------------- tampers, per kind

#[test]
fn register_meter_rules() {
    let mut s = Scenario::new(4);
    let r2 = s.city.resident(2);
    let (tx, _) = s.city.register_meter(r2, "m");
    s.push(tx);
    let accounts = s.start.counters().accounts;
    let case = Case::of(&s);
    case.honest()
        .cell("e1", u(5), "register_meter: from = GRID_OPERATOR")
        .cell(
            "e6",
            u(1),
            "field 6 = 0 unless place_order, create_proposal",
        )
        .cell("e7", u(1), "field 7 = 0")
        .cell(
            "e0",
            u(circuits::tx::kind::TRANSFER),
            "kind = sum of code * flag",
        )
        .witness(
            |w| set_field(w, 5, u(accounts)),
            "d_owner < 2^64", // the owner account does not exist
        )
        .witness(|w| set_field(w, 5, two64() + u(1)), "e5c < 2^64")
        .cell(
            "e4",
            Fp::one(),
            "register_meter: the meter key is on the curve (y^2 = x^3 + 5)",
        )
        .cell("t_index", u(1), "t_index = the counter for an append")
        .witness(
            |w| w.header_old.counters.meters = 1 << METERS_DEPTH, // the meters tree is full
            "flag * z_depth = 0 (position fits the tree)",
        )
        .witness(
            |w| {
                old_meter(w).nonce = 1;
            },
            "append: old word 2 = 0 (the leaf was empty)",
        )
        .cell("n2", u(r2 + 1), "new word 2 = ")
        .cell("n0", u(1), "new word 0 = ")
        .cell("n1", u(1), "new word 1 = ")
        .cell("meters_new", u(0), "meters_new = meters + register_meter")
        .cell(
            "nonce_new",
            u(0),
            "nonce_new = nonce + signed - meter_reading",
        )
        .cell(
            "e2",
            u(9),
            "(signed - meter_reading) * (tx nonce - nonce) = 0",
        );
}

#[test]
fn meter_reading_rules() {
    let mut s = metered(1_000);
    let owner = s.city.resident(0);
    s.setup(s.city.order(owner, Side::Sell, 300, 10, NOW + 10)); // energy 700, not 1000
    s.push(s.city.reading(0, 1_500));
    let case = Case::of(&s);
    case.honest()
        .cell("e4", u(1), "field 4 = 0 unless register_meter")
        .cell("e5", u(1), "field 5 = 0 unless register_meter")
        .witness(
            |w| set_field(w, 3, u(1_000)),
            "d_cum < 2^64", // not increasing: nothing is minted twice
        )
        .witness(|w| set_field(w, 3, two64() + u(2_000)), "e3c < 2^64")
        .cell(
            "d_cum",
            u(1),
            "d_cum = meter_reading * (cumulative - last - 1)",
        )
        .witness(
            |w| old_meter(w).last_cumulative = 0, // mint the first 1,000 Wh again
            "flag * (running root - old root) = 0",
        )
        .witness(
            |w| w.header_old.counters.meters = 0,
            "d_meter < 2^64", // the meter does not exist
        )
        .cell("e2", u(7), "meter_reading: tx nonce = meter nonce")
        .cell(
            "m_nonce_new",
            u(1),
            "meter nonce_new = meter nonce + meter_reading",
        )
        .witness(
            |w| old_meter(w).nonce = u64::MAX,
            "m_nonce_new < 2^64", // the meter's nonce would wrap
        )
        .cell(
            "a_index",
            u(owner + 1),
            "a_index = from + meter_reading * (meter owner - from)",
        )
        .cell(
            "nonce_new",
            u(2), // the owner's nonce is 1 and does not move: it signs nothing
            "nonce_new = nonce + signed - meter_reading",
        )
        .cell(
            "energy_new",
            u(700), // not credited
            "energy_new = energy + side * delta + meter_reading * (cumulative - last)",
        )
        .witness(
            |w| old_account(w).energy = u64::MAX - 100,
            "energy_new < 2^64", // minting would overflow the owner's energy
        )
        .cell(
            "kx",
            Fp::one(),
            "key x = owner key x + meter_reading * (meter key x - owner key x)",
        )
        .signature(|w| {
            // Signed by the owner's account key instead of the meter's.
            let message = s.txs[0].message(s.city.state.chain());
            w.slots[0].signature = Some(s.city.key(owner).sign(message));
        })
        .cell("n2", u(3), "new word 2 = ")
        .cell("n0", u(3), "new word 0 = ")
        .cell("n1", u(3), "new word 1 = ")
        .cell("mw", u(3), "mw = meter_reading * old word 2")
        .swap(
            // The meter's word 2 split as (owner + 2^64, last - 1, nonce): the same word, one
            // Wh more minted.
            &[
                (u(owner), u(owner) + two64()),
                (u(1_000), u(999)),
                (u(1_200), u(1_201)),
            ],
            "m_owner < 2^64",
        )
        .cell(
            "m_last",
            u(3),
            "d_cum = meter_reading * (cumulative - last - 1)",
        );
}

#[test]
fn place_order_rules() {
    let mut s = Scenario::new(4);
    let r1 = s.city.resident(1);
    place(&mut s, r1, Side::Buy, 5_555, 13, NOW + 100); // lock 73, r = 785
    let case = Case::of(&s);
    case.honest()
        .cell("e7", u(1), "field 7 = 0")
        .cell("e1", u(MARKET), "place_order: from != MARKET")
        .cell("e4", Fp::zero(), "place_order: amount != 0")
        .cell("e5", Fp::zero(), "place_order: price != 0")
        .now(NOW + 100, "d_exp < 2^64") // expiry exactly now: already expired
        .cell("d_exp", u(1), "d_exp = place_order * (expiry - now - 1)")
        .witness(|w| set_field(w, 6, two64() + u(NOW)), "e6c < 2^64")
        .witness(|w| set_field(w, 4, two64() + u(5_555)), "e4c < 2^64")
        .witness(|w| set_field(w, 5, two64() + u(13)), "e5c < 2^64")
        .cells(&[("e3", u(2)), ("side", u(2))], "side is boolean")
        .cell("side", Fp::one(), "place_order: side = field 3")
        .cell(
            "lock",
            u(72),
            "place_order buy: 1000 lock = amount * price + lock_r (lock = ceil)",
        )
        .witness(
            // A field element beyond 64 bits as the amount: the lock's remainder is no
            // longer below 1000 either way.
            |w| set_field(w, 4, two64() + u(5_555)),
            "lock_r < 2^10",
        )
        .witness(|w| set_field(w, 4, two64() + u(5_555)), "lock_rc < 2^10")
        .swap(
            // The next integer up also solves 1000 lock = amount * price + r, with r >= 1000:
            // the prover locks (and debits) one cent more, every gate but the range holds.
            &[
                (u(73), u(74)),
                (u(785), u(1_785)),
                (u(214), Fp::zero() - u(786)),
                (Fp::zero() - u(73), Fp::zero() - u(74)),
                (u(10_000 - 73), u(10_000 - 74)),
            ],
            "lock_rc < 2^10",
        )
        .cell("lock_rc", u(5), "lock_r + lock_rc = 999 (lock_r < 1000)")
        .witness(
            |w| {
                // amount * price / 1000 does not fit in 64 bits.
                set_field(w, 4, u(1 << 62));
                set_field(w, 5, u(1 << 20));
            },
            "lock < 2^64",
        )
        .witness(
            |w| old_account(w).balance = 72, // one cent short
            "balance_new < 2^64",
        )
        .witness(
            |w| old_account(w).balance += 1_000, // a balance the account does not have
            "flag * (running root - old root) = 0",
        )
        .cell(
            "balance_new",
            u(10_000),
            "balance_new = balance + (1 - side) * delta",
        )
        .cell(
            "delta",
            u(0),
            "delta = cancel_order * locked - place_order * lock",
        )
        .cell("t_index", u(5), "t_index = the counter for an append")
        .witness(
            |w| old_order(w).status = OrderStatus::Open,
            "append: old word 1 = 0 (the leaf was empty)",
        )
        .cell("n0", u(1), "new word 0 = ")
        .cell("n1", u(1), "new word 1 = ")
        .cell("orders_new", u(0), "orders_new = orders + place_order");
}

#[test]
fn place_sell_order_rules() {
    let mut s = metered(2_000);
    let r0 = s.city.resident(0);
    place(&mut s, r0, Side::Sell, 1_500, 9, NOW + 100);
    let case = Case::of(&s);
    case.honest()
        .cell("lock", u(1_499), "place_order sell: lock = amount")
        .witness(
            |w| old_account(w).energy = 1_499, // one Wh short
            "energy_new < 2^64",
        )
        .cell(
            "energy_new",
            u(2_000),
            "energy_new = energy + side * delta + meter_reading * (cumulative - last)",
        )
        .cell("side", Fp::zero(), "place_order: side = field 3");
}

#[test]
fn cancel_order_rules() {
    let mut s = metered(3_000);
    let (r0, r1) = (s.city.resident(0), s.city.resident(1));
    s.setup(s.city.order(r0, Side::Sell, 2_500, 15, NOW + 100));
    s.push(s.city.cancel(r0, 0));
    let case = Case::of(&s);
    case.honest()
        .cell("e4", u(1), "field 4 = 0 unless register_meter")
        .cell(
            "e6",
            u(1),
            "field 6 = 0 unless place_order, create_proposal",
        )
        .witness(
            |w| old_order(w).status = OrderStatus::Closed,
            "cancel_order: side_status = side + 2 (the order is open)",
        )
        .witness(
            |w| *old_order(w) = Order::default(),
            "cancel_order: side_status = side + 2 (the order is open)",
        )
        .witness(
            |w| w.header_old.counters.orders = 0,
            "d_order < 2^64", // the order does not exist
        )
        .witness(
            |w| old_order(w).owner = r1,
            "cancel_order: order owner = from",
        )
        .cell(
            "side",
            Fp::zero(),
            "cancel_order: side_status = side + 2 (the order is open)",
        )
        .cell(
            "energy_new",
            u(500),
            "energy_new = energy + side * delta + meter_reading * (cumulative - last)",
        )
        .cell(
            "delta",
            u(0),
            "delta = cancel_order * locked - place_order * lock",
        )
        .witness(
            |w| old_account(w).energy = u64::MAX - 1,
            "energy_new < 2^64", // releasing would overflow
        )
        .cell("n1", u(1), "new word 1 = ")
        .cell("n0", u(1), "new word 0 = ")
        .cell("n2", u(1), "new word 2 = ")
        .cell("ow1", u(1), "ow1 = cancel_order * old word 1")
        .cell("ow0", u(1), "ow0 = cancel_order * old word 0")
        .cell("orders_new", u(2), "orders_new = orders + place_order");
}

#[test]
fn cancel_buy_order_rules() {
    let mut s = Scenario::new(4);
    let r1 = s.city.resident(1);
    s.setup(s.city.order(r1, Side::Buy, 1_234, 17, NOW + 100)); // lock 21
    s.push(s.city.cancel(r1, 0));
    let case = Case::of(&s);
    case.honest()
        .cell(
            "balance_new",
            u(10_000 - 21),
            "balance_new = balance + (1 - side) * delta",
        )
        .witness(
            |w| old_account(w).balance = u64::MAX - 20,
            "balance_new < 2^64",
        )
        .swap(
            // The order's word 1 split as (remaining - 2^64, locked + 1, 2): the same word,
            // one cent more released.
            &[
                (u(1_234), u(1_234) - two64()),
                (u(21), u(22)),
                (u(10_000), u(10_001)),
            ],
            "o_rem < 2^64",
        )
        .cell(
            "side",
            Fp::one(),
            "cancel_order: side_status = side + 2 (the order is open)",
        );
}

#[test]
fn fleet_record_rules() {
    let mut s = Scenario::new(2);
    let metro = operator(&mut s);
    s.push(
        s.city
            .fleet_record(metro, 12, FleetKind::Insurance, b"policy 9"),
    );
    let case = Case::of(&s);
    case.honest()
        .cell(
            "e6",
            u(1),
            "field 6 = 0 unless place_order, create_proposal",
        )
        .witness(
            |w| old_account(w).owner.fares = None, // not a transit operator
            "fleet_record: flags = del + 2^64 (the signer is a transit operator)",
        )
        .cell("del1", u(1), "fleet_record: flags = del + 2^64")
        .cell("e4", u(4), "fleet_record: kind in {1, 2, 3}")
        .cell("e4", Fp::zero(), "fleet_record: kind in {1, 2, 3}")
        .witness(|w| set_field(w, 3, two64()), "e3c < 2^64")
        .cell("n1", u(1), "new word 1 = ") // filed at another time
        .cell("n0", u(1), "new word 0 = ")
        .cell("n2", u(1), "new word 2 = ")
        .cell("t_index", u(1), "t_index = the counter for an append")
        .witness(
            |w| match &mut w.slots[0].touches[1].as_mut().unwrap().old {
                Write::Fleet(_, e) => e.vehicle = 1,
                other => panic!("{other:?}"),
            },
            "append: old word 1 = 0 (the leaf was empty)",
        )
        .cell("fleet_new", u(0), "fleet_new = fleet + fleet_record");
}

#[test]
fn register_voter_rules() {
    let mut s = Scenario::new(2);
    s.setup(s.city.register_voter(voter(0)));
    s.push(s.city.register_voter(voter(1)));
    let case = Case::of(&s);
    case.honest()
        .cell("e1", u(COUNCIL), "register_voter: from = REGISTRAR")
        .cell("e3", Fp::zero(), "register_voter: commitment != 0")
        .cell("e4", u(1), "field 4 = 0 unless register_meter")
        .cell("n0", voter(2), "new word 0 = ")
        .cell("t_index", u(0), "t_index = the counter for an append")
        .witness(
            |w| match &mut w.slots[0].touches[1].as_mut().unwrap().old {
                Write::Voter(_, v) => *v = VoterLeaf(voter(3)),
                other => panic!("{other:?}"),
            },
            "append: old word 0 = 0 (the leaf was empty)",
        )
        .cell("voters_new", u(1), "voters_new = voters + register_voter");
}

#[test]
fn create_proposal_rules() {
    let mut s = Scenario::new(2);
    s.setup(s.city.register_voter(voter(0)));
    s.push(
        s.city
            .proposal("bridge?", &["yes", "no"], NOW + 10, NOW + 20),
    );
    let case = Case::of(&s);
    case.honest()
        .cell("e1", u(REGISTRAR), "create_proposal: from = COUNCIL")
        .cell("e7", u(1), "field 7 = 0")
        .witness(|w| set_field(w, 3, Fp::zero()), "d_opt < 2^4")
        .witness(|w| set_field(w, 3, u(MAX_OPTIONS + 1)), "d_opt < 2^4")
        .witness(|w| set_field(w, 5, u(NOW + 10)), "d_win < 2^64") // start = end
        .witness(|w| set_field(w, 4, two64() + u(NOW)), "e4c < 2^64")
        .witness(
            |w| w.header_old.counters.proposals = 1 << PROPOSALS_DEPTH, // full
            "flag * z_depth = 0 (position fits the tree)",
        )
        .cell("d_opt", u(3), "d_opt = create_proposal * (options - 1)")
        .cell("d_win", u(3), "d_win = create_proposal * (end - start - 1)")
        .cell("vroot", u(1), "new word 0 = ") // not the running voter root
        .cell("n1", u(1), "new word 1 = ") // another text
        .cell("n2", u(1), "new word 2 = ")
        .cell(
            "proposals_new",
            u(0),
            "proposals_new = proposals + create_proposal",
        );
}

#[test]
fn kind_flags_and_signature() {
    let mut s = Scenario::new(4);
    let r1 = s.city.resident(1);
    place(&mut s, r1, Side::Buy, 1_000, 10, NOW + 100);
    let case = Case::of(&s);
    case.honest()
        .cell("place", u(2), "place_order flag is boolean")
        .cells(
            &[("reading", Fp::one()), ("signed", u(2))],
            "signed is boolean (one kind at most)",
        )
        .cell("reading", Fp::one(), "signed = sum of kind flags")
        .cell(
            "t_orders",
            Fp::zero(),
            "t_orders = place_order + cancel_order",
        )
        .cell(
            "append",
            Fp::zero(),
            "append = register_meter + place_order",
        )
        .cell("a_index", u(r1 + 1), "a_index = from + meter_reading")
        .witness(
            |w| w.header_old.counters.accounts = r1, // the signer does not exist
            "d_acct < 2^64",
        )
        .witness(
            |w| old_account(w).nonce = u64::MAX, // the nonce would wrap
            "nonce_new < 2^64",
        )
        .signature(|w| {
            w.slots[0].signature = Some(SecretKey::from_seed(b"mallory").sign(Fp::one()))
        })
        .cell("e3c", u(1), "e3c = field 3 for meter_reading")
        .cell("del1", u(1), "del = 0 unless fleet_record")
        .cell("lock", u(1), "place_order buy: 1000 lock")
        .cell(
            "exposed key x",
            u(1),
            "exposed key x = signed · signer key x",
        )
        .cell(
            "exposed key y",
            u(1),
            "exposed key y = signed · signer key y",
        );
}

// --------------------------------------------------------------- random workload, proof

/// A seeded random registry workload applied natively (refused steps are dropped), proven in
/// chunks that chain and reach the native root.
#[test]
fn random_workload_proves_in_chained_chunks() {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let mut city = City::new(6);
    let metro = city.id("operator-metro");
    let tx = city.register_operator(metro, [200, 300, 400, 500]);
    city.apply(&tx, NOW).unwrap();
    let start = city.state.clone();
    let residents: Vec<u64> = (0..6).map(|i| city.resident(i)).collect();
    let mut txs: Vec<Transaction> = Vec::new();
    let mut readings: Vec<u64> = Vec::new();
    let mut refused = 0;
    for step in 0..40u64 {
        let who = residents[rng.random_range(0..residents.len())];
        let meters = city.state.counters().meters;
        let orders = city.state.counters().orders;
        let (tx, key) = match rng.random_range(0..7) {
            0 => {
                let (tx, key) = city.register_meter(who, &format!("w{step}"));
                (tx, Some(key))
            }
            1 if meters > 0 => {
                let m = rng.random_range(0..meters);
                let last = readings.get(m as usize).copied().unwrap_or(0);
                // Sometimes not increasing: refused.
                let cumulative = last + rng.random_range(0..5_000);
                (city.reading(m, cumulative), None)
            }
            2 => {
                let side = if rng.random_range(0..2) == 0 {
                    Side::Buy
                } else {
                    Side::Sell
                };
                let amount = rng.random_range(1..3_000);
                let price = rng.random_range(1..40);
                let expiry = NOW + rng.random_range(0..100); // 0: already expired
                (city.order(who, side, amount, price, expiry), None)
            }
            3 if orders > 0 => {
                let o = rng.random_range(0..orders + 1); // sometimes beyond the counter
                let owner = city.state.order(o).map_or(who, |o| o.owner);
                (city.cancel(owner, o), None)
            }
            4 => {
                let from = if rng.random_range(0..3) == 0 {
                    who
                } else {
                    metro
                };
                let kind = [
                    FleetKind::Maintenance,
                    FleetKind::Insurance,
                    FleetKind::DriverShift,
                ][rng.random_range(0..3)];
                let doc = format!("record {step}");
                (
                    city.fleet_record(from, rng.random_range(0..50), kind, doc.as_bytes()),
                    None,
                )
            }
            5 => (city.register_voter(voter(step)), None),
            _ => {
                let options: Vec<String> = (0..rng.random_range(1..5))
                    .map(|i| format!("o{i}"))
                    .collect();
                let labels: Vec<&str> = options.iter().map(|o| o.as_str()).collect();
                let start = NOW + rng.random_range(0..100);
                (city.proposal("p", &labels, start, start + 100), None)
            }
        };
        match city.apply(&tx, NOW) {
            Ok(event) => {
                if let Some(key) = key {
                    city.add_meter_key(meters, key);
                    readings.push(0);
                }
                if let circuits::Event::Minted { meter, .. } = event {
                    readings[meter as usize] = city.state.meter(meter).unwrap().last_cumulative;
                }
                txs.push(tx);
            }
            Err(_) => refused += 1,
        }
    }
    let slots = FAMILY.slots_for(14);
    assert!(
        txs.len() > 2 * slots && refused > 0,
        "{} applied, {refused} refused",
        txs.len()
    );
    let kinds: std::collections::BTreeSet<&str> = txs.iter().map(|t| t.kind_name()).collect();
    assert_eq!(kinds.len(), 7, "every kind is applied: {kinds:?}");
    println!(
        "{} applied ({kinds:?}), {refused} refused, {} chunks of {slots}",
        txs.len(),
        txs.len().div_ceil(slots)
    );
    let mut state = start;
    let mut root = state.root();
    for chunk in txs.chunks(slots) {
        let (w, instance) = witness::build(FAMILY, &mut state, chunk, NOW, slots).unwrap();
        assert_eq!(instance.root_old(), root);
        assert_eq!(instance.root_new(), state.root());
        root = instance.root_new();
        passes(&w, instance.clone());
    }
    assert_eq!(root, city.state.root(), "the chunks reach the native root");
}

/// One real proof at the smallest k: it verifies, fails with a changed public input, and
/// has the pinned size.
#[test]
fn real_proof_verifies_and_binds_its_public_inputs() {
    let mut s = metered(500);
    s.push(s.city.reading(0, 900));
    let (w, instance) = s.chunk(FAMILY, 1);
    let k = k(1);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("params");
    let params = circuits::params::load_or_make(&dir, k, |_| {})
        .unwrap()
        .params;
    let keys = ChunkKeys::for_family(&params, FAMILY, 1).unwrap();
    let bytes = proof::prove(&params, &keys, w, &instance, ChaCha20Rng::seed_from_u64(7)).unwrap();
    proof::verify(&params, keys.vk(), &instance, &bytes).unwrap();
    let p = s.city.state.params();
    let changed = [
        Instance::new(
            instance.root_old(),
            instance.root_new(),
            instance.data_hash(),
            instance.now() + 1,
            instance.chain(),
            p,
            instance.signers().to_vec(),
        ),
        Instance::new(
            instance.root_old(),
            instance.root_old(),
            instance.data_hash(),
            instance.now(),
            instance.chain(),
            p,
            instance.signers().to_vec(),
        ),
    ];
    for other in changed {
        assert!(proof::verify(&params, keys.vk(), &other, &bytes).is_err());
    }
    println!("k = {k}, proof {} bytes", bytes.len());
    assert_eq!((k, bytes.len()), (11, 4_480), "k and proof size");
}

/// Two chunks proven in one proof (halo2's instances of one circuit): it verifies against
/// both chunks' public inputs in the order proven, and fails with them swapped, with either
/// changed, with one left out or one more; it has the pinned size.
#[test]
fn a_group_proof_binds_each_chunk_in_order() {
    let mut s = metered(500);
    s.push(s.city.reading(0, 900));
    s.push(s.city.reading(0, 1_300));
    let mut state = s.start.clone();
    let (w1, i1) = witness::build(FAMILY, &mut state, &s.txs[..1], NOW, 1).unwrap();
    let (w2, i2) = witness::build(FAMILY, &mut state, &s.txs[1..], NOW, 1).unwrap();
    assert_eq!(i1.root_new(), i2.root_old());
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("params");
    let params = circuits::params::load_or_make(&dir, k(1), |_| {})
        .unwrap()
        .params;
    let keys = ChunkKeys::for_family(&params, FAMILY, 1).unwrap();
    let both = [i1.clone(), i2.clone()];
    let bytes = proof::prove_group(
        &params,
        &keys,
        vec![w1, w2],
        &both,
        ChaCha20Rng::seed_from_u64(7),
    )
    .unwrap();
    proof::verify_group(&params, keys.vk(), &both, &bytes).unwrap();
    let p = s.city.state.params();
    let later = Instance::new(
        i2.root_old(),
        i2.root_new(),
        i2.data_hash(),
        i2.now() + 1,
        i2.chain(),
        p,
        i2.signers().to_vec(),
    );
    let wrong: [&[Instance]; 5] = [
        &[i2.clone(), i1.clone()],
        &[i1.clone(), later],
        &[i1.clone(), i1.clone()],
        std::slice::from_ref(&i1),
        &[i1.clone(), i2.clone(), i2.clone()],
    ];
    for instances in wrong {
        assert!(
            proof::verify_group(&params, keys.vk(), instances, &bytes).is_err(),
            "{} instances accepted",
            instances.len()
        );
    }
    println!("a proof of two chunks: {} bytes", bytes.len());
    assert_eq!(bytes.len(), 6_112, "proof size");
}
