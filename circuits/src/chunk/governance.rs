//! The governance family: `ballot` (anonymous: its zero-knowledge proof is checked outside
//! this circuit, by the verifier, against the same published fields that this circuit binds
//! through the data hash) and `delegate_vote` (signed by the delegate).
//!
//! Touches, in order ([`targets`]):
//!
//! | touch | tree      | depth | leaf                                   | used by                 |
//! |-------|-----------|-------|----------------------------------------|-------------------------|
//! | 0     | accounts  | 24    | the delegate's account (nonce)         | `delegate_vote`         |
//! | 1     | ballots   | 64    | the nullifier's leaf (low 64 bits)     | `ballot`                |
//! | 2     | tallies   | 28    | T1: the slot a replaced ballot leaves, or the delegate's slot (choice) | a replacement with another slot, `delegate_vote` |
//! | 3     | tallies   | 28    | T2: the slot a ballot counts in        | a new ballot, a replacement with another slot |
//! | 4     | proposals | 16    | the proposal, read (old = new)         | both                    |
//!
//! Every rule of [`crate::rules`]' `ballot` and `delegate_vote` is a named constraint
//! multiplied by its kind's flag (`ballot`, `dvote`; both 0 is padding, which encodes zeros
//! and enables no touch):
//!
//! - both: the proposal exists (`proposal < proposals`), `start ≤ now < end`, and the vote's
//!   option is below the proposal's option count;
//! - `ballot`: the voter root is the proposal's; the nullifier is not 0 and its leaf is at its
//!   low 64 bits (`nullifier = low + 2^64·high`, `low < 2^64`, `high < 2^190`: unique since
//!   `2^254 < p`); the vote slot is an option (`< 16`) or a registered delegate
//!   (`16 + d`, `d < delegates`, `d < MAX_DELEGATES`); the leaf was empty (a new ballot:
//!   T2 counts one more) or holds the same nullifier and proposal (a replacement, which
//!   must carry a higher sequence number than the leaf's, so a replayed copy of an earlier
//!   ballot is refused: with another slot T1 counts one less and T2 one more, with the same
//!   slot no tally moves); the leaf keeps the new sequence number; tally choices never
//!   change;
//! - `delegate_vote`: the signer's account exists, its nonce is the encoding's and goes up by
//!   one, its signature holds against the key of its owner record, whose delegate field
//!   (`id + 1`) is not 0; T1 is its slot `16 + id`, whose choice becomes `option + 1` and
//!   whose count is unchanged.
//!
//! Comparisons are differences range-checked to 64 bits; `x != 0` is `x·inv = 1`; every part
//! unpacked from a leaf is range-checked, so the packing is unique.
//!
//! Positions: a touch its kind does not use has position 0 (gated by its flag), and every
//! touch's Merkle pass constrains its position below `2^depth` whether it is used or not, so
//! the proposal id is below 2^16 and a tally key `2^12·proposal + slot` (slot < 2^12) is
//! unique. The words every leaf of a tree has as 0 (a ballot's third, a tally's second and
//! third) are the constant 0 before and after.
//!
//! What this circuit does not constrain: the ballot's zero-knowledge proof (the voter's
//! membership under `voter_root`, the nullifier's derivation, the vote's binding), which the
//! ballot circuit proves and the verifier checks against the published fields; the data hash
//! binds the same fields here. A nullifier of 2^254 or more (a Poseidon output: probability
//! about 2^-126) has no split `low + 2^64·high` with `high < 2^190`, so such a ballot, which
//! the native rules accept, cannot be proven.

use std::collections::HashMap;

use ff::{Field, PrimeField};
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
use crate::constants::{MAX_DELEGATES, MAX_OPTIONS, TALLY_SLOT_BITS};
use crate::hash::{low_u64, Fp};
use crate::records::BallotRecord;
use crate::state::{tally_key, State, TreeId, Write};
use crate::tx::{kind, Transaction};
use crate::voter::Vote;

/// Touches per slot.
pub(crate) const TOUCHES: usize = 5;
/// Rows one slot uses (pinned by a test: a change of layout is deliberate).
pub(crate) const ROWS_PER_SLOT: usize = 2_950;
/// Rows used once per chunk: the two state-root hashes, the counters, the public values, the
/// batch time's check.
pub(crate) const ROWS_FIXED: usize = 171;

/// Lookup words of a nullifier's high part: `high < 2^190`.
const HIGH_WORDS: usize = 19;
/// Bits of an option slot: `slot < 16`.
const OPTION_BITS: usize = 4;

/// The leaves each kind touches, in touch order.
pub(crate) fn targets(state: &State, tx: &Transaction) -> Vec<Option<(TreeId, u64)>> {
    let tally = |proposal, slot| at(TreeId::Tallies, tally_key(proposal, slot));
    match tx {
        Transaction::Ballot(t) => {
            let Some(slot) = t.vote.slot() else {
                return vec![None; TOUCHES];
            };
            let position = low_u64(t.nullifier);
            let previous = match state.record(TreeId::Ballots, position) {
                Write::Ballot(_, record) => record,
                _ => unreachable!("the ballots tree holds ballot records"),
            };
            let (t1, t2) = if previous == BallotRecord::default() {
                (None, tally(t.proposal, slot))
            } else if previous.slot == slot {
                (None, None)
            } else {
                (tally(t.proposal, previous.slot), tally(t.proposal, slot))
            };
            vec![
                None,
                at(TreeId::Ballots, position),
                t1,
                t2,
                at(TreeId::Proposals, t.proposal),
            ]
        }
        Transaction::DelegateVote(t) => {
            let delegate = state
                .account(t.from)
                .and_then(|a| a.owner.delegate)
                .and_then(|d| Vote::Delegate(d).slot());
            vec![
                at(TreeId::Accounts, t.from),
                None,
                delegate.and_then(|slot| tally(t.proposal, slot)),
                None,
                at(TreeId::Proposals, t.proposal),
            ]
        }
        _ => vec![None; TOUCHES],
    }
}

/// The encoding's field names.
const E: [&str; 8] = ["e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7"];

/// Kind flags, the encoding, the proposal and account it names, the delegate's nonce:
///
/// ```text
/// | ballot | dvote | any  | e0   | e1       | e2        | e3 | e4 | e5 | e6 |
/// | e7     | prop  | e4c  | acct | accounts | d_from    | nonce | nonce_new |
/// ```
const KIND: Grid = Grid(&[
    "ballot",
    "dvote",
    "any",
    "e0",
    "e1",
    "e2",
    "e3",
    "e4",
    "e5",
    "e6",
    "e7",
    "prop",
    "e4c",
    "acct",
    "accounts",
    "d_from",
    "nonce",
    "nonce_new",
]);

/// The nullifier and the ballot leaf's position:
///
/// ```text
/// | ballot | e2 | nlo | nhi | inv_n | bpos |
/// ```
const NULLIFIER: Grid = Grid(&["ballot", "e2", "nlo", "nhi", "inv_n", "bpos"]);

/// The proposal: it exists, the batch time is in its window, its voter root:
///
/// ```text
/// | any | ballot | prop | proposals | d_prop | now | start | end | d_start | d_end |
/// | e4  | vroot  |
/// ```
const PROPOSAL: Grid = Grid(&[
    "any",
    "ballot",
    "prop",
    "proposals",
    "d_prop",
    "now",
    "start",
    "end",
    "d_start",
    "d_end",
    "e4",
    "vroot",
]);

/// The vote's tally slot: an option below the option count, or a registered delegate:
///
/// ```text
/// | ballot | dvote | e3   | e4   | del1      | inv_del | ts  | isdel   | sopt | sdel |
/// | dcap   | d_del | optc | vo   | delegates | options | d_opt |
/// ```
const VOTE: Grid = Grid(&[
    "ballot",
    "dvote",
    "e3",
    "e4",
    "del1",
    "inv_del",
    "ts",
    "isdel",
    "sopt",
    "sdel",
    "dcap",
    "d_del",
    "optc",
    "vo",
    "delegates",
    "options",
    "d_opt",
]);

/// The ballot leaf before: empty, or this nullifier's earlier ballot, which a replacement
/// must outnumber; whether its slot moves:
///
/// ```text
/// | ballot   | fresh | rep  | bn_old | bprop_old | bslot_old | e2    | prop | ts | diff |
/// | inv_diff | iz    | same | moved  | e5        | bseq_old  | d_seq |
/// ```
const BALLOT: Grid = Grid(&[
    "ballot",
    "fresh",
    "rep",
    "bn_old",
    "bprop_old",
    "bslot_old",
    "e2",
    "prop",
    "ts",
    "diff",
    "inv_diff",
    "iz",
    "same",
    "moved",
    "e5",
    "bseq_old",
    "d_seq",
]);

/// The two tally touches: which is used, their positions, their counts and T1's choice:
///
/// ```text
/// | t1  | t2  | moved | dvote | ballot | same | prop | bslot_old | ts | k1 |
/// | k2  | c1  | c1n   | ch1   | ch1n   | e4   | c2   | c2n       |
/// ```
const TALLY: Grid = Grid(&[
    "t1",
    "t2",
    "moved",
    "dvote",
    "ballot",
    "same",
    "prop",
    "bslot_old",
    "ts",
    "k1",
    "k2",
    "c1",
    "c1n",
    "ch1",
    "ch1n",
    "e4",
    "c2",
    "c2n",
]);

/// The family's rule gates.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    q_kind: Selector,
    q_nullifier: Selector,
    q_proposal: Selector,
    q_vote: Selector,
    q_ballot: Selector,
    q_tally: Selector,
}

fn boolean(x: Expression<Fp>) -> Expression<Fp> {
    x.clone() * (one() - x)
}

/// Configures the rule gates on the shared columns.
pub(crate) fn configure(meta: &mut ConstraintSystem<Fp>, base: &Base) -> Config {
    let q_kind = gate(meta, base, "governance: kind and encoding", KIND, |g| {
        let not_any = one() - g.e("any");
        vec![
            ("ballot flag is boolean", boolean(g.e("ballot"))),
            ("delegate_vote flag is boolean", boolean(g.e("dvote"))),
            (
                "any = ballot + delegate_vote",
                g.e("any") - g.e("ballot") - g.e("dvote"),
            ),
            ("any is boolean (one kind at most)", boolean(g.e("any"))),
            (
                "kind = BALLOT * ballot + DELEGATE_VOTE * delegate_vote",
                g.e("e0") - c(kind::BALLOT) * g.e("ballot") - c(kind::DELEGATE_VOTE) * g.e("dvote"),
            ),
            ("padding: field 1 = 0", not_any.clone() * g.e("e1")),
            ("padding: field 2 = 0", not_any.clone() * g.e("e2")),
            ("padding: field 3 = 0", not_any.clone() * g.e("e3")),
            ("padding: field 4 = 0", not_any * g.e("e4")),
            (
                "field 5 = 0 unless ballot (its sequence number)",
                (one() - g.e("ballot")) * g.e("e5"),
            ),
            ("field 6 = 0 (no kind of the family uses it)", g.e("e6")),
            ("field 7 = 0 (no kind of the family uses it)", g.e("e7")),
            (
                "proposal = ballot * field 1 + delegate_vote * field 3",
                g.e("prop") - g.e("ballot") * g.e("e1") - g.e("dvote") * g.e("e3"),
            ),
            (
                "e4c = delegate_vote * field 4 (the option)",
                g.e("e4c") - g.e("dvote") * g.e("e4"),
            ),
            (
                "account = delegate_vote * field 1 (the delegate)",
                g.e("acct") - g.e("dvote") * g.e("e1"),
            ),
            (
                "d_from = delegate_vote * (accounts - 1 - from) (the delegate's account exists)",
                g.e("d_from") - g.e("dvote") * (g.e("accounts") - one() - g.e("e1")),
            ),
            (
                "delegate_vote * (tx nonce - nonce) = 0",
                g.e("dvote") * (g.e("e2") - g.e("nonce")),
            ),
            (
                "nonce_new = nonce + delegate_vote",
                g.e("nonce_new") - g.e("nonce") - g.e("dvote"),
            ),
        ]
    });

    let q_nullifier = gate(meta, base, "governance: nullifier", NULLIFIER, |g| {
        vec![
            (
                "nullifier = low + 2^64 high",
                g.e("e2") - g.e("nlo") - Expression::Constant(two64()) * g.e("nhi"),
            ),
            (
                "ballot: nullifier != 0",
                g.e("ballot") * (g.e("e2") * g.e("inv_n") - one()),
            ),
            (
                "ballot position = ballot * low",
                g.e("bpos") - g.e("ballot") * g.e("nlo"),
            ),
        ]
    });

    let q_proposal = gate(meta, base, "governance: proposal", PROPOSAL, |g| {
        vec![
            (
                "d_prop = any * (proposals - 1 - proposal) (the proposal exists)",
                g.e("d_prop") - g.e("any") * (g.e("proposals") - one() - g.e("prop")),
            ),
            (
                "d_start = any * (now - start) (start <= now)",
                g.e("d_start") - g.e("any") * (g.e("now") - g.e("start")),
            ),
            (
                "d_end = any * (end - 1 - now) (now < end)",
                g.e("d_end") - g.e("any") * (g.e("end") - one() - g.e("now")),
            ),
            (
                "ballot: voter root = the proposal's voter root",
                g.e("ballot") * (g.e("e4") - g.e("vroot")),
            ),
        ]
    });

    let q_vote = gate(meta, base, "governance: vote slot", VOTE, |g| {
        let isdel = g.e("isdel");
        vec![
            (
                "ts = ballot * field 3 + delegate_vote * (delegate field + 15)",
                g.e("ts")
                    - g.e("ballot") * g.e("e3")
                    - g.e("dvote") * (g.e("del1") + c(MAX_OPTIONS - 1)),
            ),
            ("isdel is boolean", boolean(isdel.clone())),
            (
                "delegate_vote: isdel = 1",
                g.e("dvote") * (one() - isdel.clone()),
            ),
            (
                "padding: isdel = 0",
                isdel.clone() * (one() - g.e("ballot") - g.e("dvote")),
            ),
            (
                "sopt = (1 - isdel) * ts (an option slot, < 16)",
                g.e("sopt") - (one() - isdel.clone()) * g.e("ts"),
            ),
            (
                "sdel = isdel * (ts - 16) (a delegate id)",
                g.e("sdel") - isdel.clone() * (g.e("ts") - c(MAX_OPTIONS)),
            ),
            (
                "dcap = isdel * (MAX_DELEGATES - 1 - sdel) (slot < 2^12)",
                g.e("dcap") - isdel.clone() * (c(MAX_DELEGATES - 1) - g.e("sdel")),
            ),
            (
                "d_del = isdel * (delegates - 1 - sdel) (the delegate is registered)",
                g.e("d_del") - isdel.clone() * (g.e("delegates") - one() - g.e("sdel")),
            ),
            (
                "optc = ballot * (1 - isdel) + delegate_vote",
                g.e("optc") - g.e("ballot") * (one() - isdel) - g.e("dvote"),
            ),
            (
                "vo = sopt + delegate_vote * field 4",
                g.e("vo") - g.e("sopt") - g.e("dvote") * g.e("e4"),
            ),
            (
                "d_opt = optc * (options - 1 - option) (option < options)",
                g.e("d_opt") - g.e("optc") * (g.e("options") - one() - g.e("vo")),
            ),
            (
                "delegate_vote: delegate field != 0 (the signer is a delegate)",
                g.e("dvote") * (g.e("del1") * g.e("inv_del") - one()),
            ),
        ]
    });

    let q_ballot = gate(meta, base, "governance: ballot leaf", BALLOT, |g| {
        let fresh = g.e("fresh");
        let rep = g.e("rep");
        vec![
            ("fresh is boolean", boolean(fresh.clone())),
            (
                "fresh only for a ballot",
                fresh.clone() * (one() - g.e("ballot")),
            ),
            (
                "rep = ballot - fresh (a replacement)",
                rep.clone() - g.e("ballot") + fresh.clone(),
            ),
            (
                "new ballot: the old leaf's nullifier = 0",
                fresh.clone() * g.e("bn_old"),
            ),
            (
                "new ballot: the old leaf's proposal = 0",
                fresh.clone() * g.e("bprop_old"),
            ),
            (
                "new ballot: the old leaf's slot = 0",
                fresh.clone() * g.e("bslot_old"),
            ),
            (
                "new ballot: the old leaf's sequence number = 0",
                fresh * g.e("bseq_old"),
            ),
            (
                "d_seq = rep * (seq - old seq - 1) (only a newer ballot replaces)",
                g.e("d_seq") - rep.clone() * (g.e("e5") - g.e("bseq_old") - one()),
            ),
            (
                "replacement: the old leaf's nullifier = nullifier",
                rep.clone() * (g.e("bn_old") - g.e("e2")),
            ),
            (
                "replacement: the old leaf's proposal = proposal",
                rep.clone() * (g.e("bprop_old") - g.e("prop")),
            ),
            (
                "diff = ts - old slot",
                g.e("diff") - g.e("ts") + g.e("bslot_old"),
            ),
            (
                "iz = 1 - diff * inv_diff",
                g.e("iz") - one() + g.e("diff") * g.e("inv_diff"),
            ),
            (
                "diff * iz = 0 (iz = [ts = old slot])",
                g.e("diff") * g.e("iz"),
            ),
            (
                "same = rep * iz (a replacement with the same slot)",
                g.e("same") - rep.clone() * g.e("iz"),
            ),
            (
                "moved = rep - same (a replacement with another slot)",
                g.e("moved") - rep + g.e("same"),
            ),
        ]
    });

    let q_tally =
        gate(meta, base, "governance: tallies", TALLY, |g| {
            let key = |slot: Expression<Fp>| c(1 << TALLY_SLOT_BITS) * g.e("prop") + slot;
            vec![
            (
                "t1 = moved + delegate_vote",
                g.e("t1") - g.e("moved") - g.e("dvote"),
            ),
            ("t2 = ballot - same", g.e("t2") - g.e("ballot") + g.e("same")),
            (
                "k1 = moved * (2^12 proposal + old slot) + delegate_vote * (2^12 proposal + ts)",
                g.e("k1")
                    - g.e("moved") * key(g.e("bslot_old"))
                    - g.e("dvote") * key(g.e("ts")),
            ),
            (
                "k2 = t2 * (2^12 proposal + ts)",
                g.e("k2") - g.e("t2") * key(g.e("ts")),
            ),
            (
                "T1 count_new = count - moved",
                g.e("c1n") - g.e("c1") + g.e("moved"),
            ),
            (
                "T1 choice_new = choice + delegate_vote * (option + 1 - choice)",
                g.e("ch1n") - g.e("ch1") - g.e("dvote") * (g.e("e4") + one() - g.e("ch1")),
            ),
            ("T2 count_new = count + t2", g.e("c2n") - g.e("c2") - g.e("t2")),
        ]
        });

    Config {
        q_kind,
        q_nullifier,
        q_proposal,
        q_vote,
        q_ballot,
        q_tally,
    }
}

/// Whether `x` is below `bound` as an integer.
fn below(x: Fp, bound: u64) -> bool {
    let repr = x.to_repr();
    repr[8..].iter().all(|b| *b == 0) && low_u64(x) < bound
}

/// Every named cell's value for one slot, from its witness (the records before and after
/// come from the rules; the rest is what the gates compute from them).
fn values(s: &SlotWitness, env: &Env) -> HashMap<&'static str, Fp> {
    let f = |b: bool| Fp::from(u64::from(b));
    let u = Fp::from;
    let gated = |on: bool, x: Fp| if on { x } else { Fp::zero() };
    let e = s.encoding;
    let ballot = s.kind == kind::BALLOT;
    let dvote = s.kind == kind::DELEGATE_VOTE;
    let any = ballot || dvote;
    let mut v: HashMap<&'static str, Fp> = HashMap::new();

    // The kind, the encoding, the delegate's account.
    v.insert("ballot", f(ballot));
    v.insert("dvote", f(dvote));
    v.insert("any", f(any));
    for (name, value) in E.iter().zip(e.iter()) {
        v.insert(name, *value);
    }
    let prop = gated(ballot, e[1]) + gated(dvote, e[3]);
    v.insert("prop", prop);
    v.insert("e4c", gated(dvote, e[4]));
    v.insert("acct", gated(dvote, e[1]));
    let a = s.account(0, false);
    let a_new = s.account(0, true);
    let accounts = u(env.counters[counter::ACCOUNTS]);
    v.insert("d_from", gated(dvote, accounts - Fp::one() - e[1]));
    v.insert("nonce", u(a.nonce));
    v.insert("nonce_new", u(a_new.nonce));
    v.insert("balance", u(a.balance));
    v.insert("energy", u(a.energy));
    let [ra, rb] = rider_words(&a);
    v.insert("ra", ra);
    v.insert("rb", rb);
    let [x, y, _, f01, f23] = owner_fields(&a.owner);
    v.extend([("x", x), ("y", y), ("f01", f01), ("f23", f23)]);
    let del1 = u(a.owner.delegate.map_or(0, |d| d + 1));
    v.insert("del1", del1);
    v.insert("isop", f(a.owner.fares.is_some()));
    v.insert("inv_del", inverse(Value::known(del1)).map_or_zero());

    // The nullifier.
    let nlo = low_u64(e[2]);
    let nhi = (e[2] - u(nlo)) * two64().invert().unwrap();
    v.insert("nlo", u(nlo));
    v.insert("nhi", nhi);
    v.insert("inv_n", inverse(Value::known(e[2])).map_or_zero());
    v.insert("bpos", gated(ballot, u(nlo)));

    // The proposal.
    let p = s.proposal(4, false);
    let proposals = u(env.counters[counter::PROPOSALS]);
    let now = u(env.now);
    v.extend([
        ("vroot", p.voter_root),
        ("thash", p.text_hash),
        ("options", u(p.options)),
        ("start", u(p.start)),
        ("end", u(p.end)),
        ("d_prop", gated(any, proposals - Fp::one() - prop)),
        ("d_start", gated(any, now - u(p.start))),
        ("d_end", gated(any, u(p.end) - Fp::one() - now)),
    ]);

    // The vote's slot.
    let ts = gated(ballot, e[3]) + gated(dvote, del1 + u(MAX_OPTIONS - 1));
    let isdel = dvote || (ballot && !below(ts, MAX_OPTIONS));
    let sopt = gated(!isdel, ts);
    let sdel = gated(isdel, ts - u(MAX_OPTIONS));
    let delegates = u(env.counters[counter::DELEGATES]);
    let optc = (ballot && !isdel) || dvote;
    let vo = sopt + gated(dvote, e[4]);
    v.extend([
        ("ts", ts),
        ("isdel", f(isdel)),
        ("sopt", sopt),
        ("sdel", sdel),
        ("dcap", gated(isdel, u(MAX_DELEGATES - 1) - sdel)),
        ("d_del", gated(isdel, delegates - Fp::one() - sdel)),
        ("optc", f(optc)),
        ("vo", vo),
        ("d_opt", gated(optc, u(p.options) - Fp::one() - vo)),
    ]);

    // The ballot leaf.
    let old = s.ballot(1, false);
    let fresh = ballot && old == BallotRecord::default();
    let rep = ballot && !fresh;
    let diff = ts - u(old.slot);
    let iz = diff == Fp::zero();
    let same = rep && iz;
    let moved = rep && !iz;
    v.extend([
        ("fresh", f(fresh)),
        ("rep", f(rep)),
        ("bn_old", old.nullifier),
        ("bprop_old", u(old.proposal)),
        ("bslot_old", u(old.slot)),
        ("bseq_old", u(old.seq)),
        ("d_seq", gated(rep, e[5] - u(old.seq) - Fp::one())),
        ("diff", diff),
        ("inv_diff", inverse(Value::known(diff)).map_or_zero()),
        ("iz", f(iz)),
        ("same", f(same)),
        ("moved", f(moved)),
    ]);

    // The tallies.
    let t2 = ballot && !same;
    let key = |slot: Fp| u(1 << TALLY_SLOT_BITS) * prop + slot;
    let (t1_old, t1_new) = (s.tally(2, false), s.tally(2, true));
    let (t2_old, t2_new) = (s.tally(3, false), s.tally(3, true));
    v.extend([
        ("t1", f(moved || dvote)),
        ("t2", f(t2)),
        ("k1", gated(moved, key(u(old.slot))) + gated(dvote, key(ts))),
        ("k2", gated(t2, key(ts))),
        ("c1", u(t1_old.count)),
        ("ch1", u(t1_old.choice)),
        ("c1n", u(t1_new.count)),
        ("ch1n", u(t1_new.choice)),
        ("c2", u(t2_old.count)),
        ("ch2", u(t2_old.choice)),
        ("c2n", u(t2_new.count)),
    ]);
    v
}

/// One slot of the governance family.
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

    // The rules, as grids; the cells no rule reads but a leaf or a hash does.
    s.grid(l, "kind and encoding", KIND, config.q_kind)?;
    s.grid(l, "nullifier", NULLIFIER, config.q_nullifier)?;
    s.grid(l, "proposal", PROPOSAL, config.q_proposal)?;
    s.grid(l, "vote slot", VOTE, config.q_vote)?;
    s.grid(l, "ballot leaf", BALLOT, config.q_ballot)?;
    s.grid(l, "tallies", TALLY, config.q_tally)?;
    s.witness(
        l,
        &[
            "x", "y", "f01", "f23", "isop", "balance", "energy", "ra", "rb", "thash",
        ],
    )?;
    s.witness(l, &["ch2"])?;

    // Packed words: the delegate's owner flags, the proposal's numbers, the ballot leaf
    // before and after, the tallies before and after.
    let zero = base.constant(l.namespace(|| "zero"), Fp::zero())?;
    for (word, parts) in [
        ("flags", ["del1", "isop", ""]),
        ("pw", ["options", "start", "end"]),
        ("bw_old", ["bprop_old", "bslot_old", "bseq_old"]),
        ("bw_new", ["prop", "ts", "e5"]),
        ("tw1", ["c1", "ch1", ""]),
        ("tw1n", ["c1n", "ch1n", ""]),
        ("tw2", ["c2", "ch2", ""]),
        ("tw2n", ["c2n", "ch2", ""]),
    ] {
        let cells = parts.map(|p| if p.is_empty() { &zero } else { s.cell(p) });
        let packed = base.pack(l.namespace(|| word), cells)?;
        s.cells.insert(word, packed);
    }
    let fields = ["x", "y", "flags", "f01", "f23"].map(|n| s.cell(n).clone());
    let owner = base.owner_hash(l.namespace(|| "delegate owner record"), &fields)?;

    // The message extends the data hash; a delegate's vote is signed by its owner key.
    s.signed_message(l, running, "dvote", "x", "y")?;

    // Range checks: every difference, every part unpacked from a leaf or computed.
    s.range64(
        l,
        &[
            "e4c",
            "d_from",
            "nlo",
            "d_prop",
            "d_start",
            "d_end",
            "options",
            "start",
            "end",
            "sdel",
            "dcap",
            "d_del",
            "d_opt",
            "del1",
            "isop",
            "bprop_old",
            "bslot_old",
            "bseq_old",
            "e5",
            "d_seq",
            "c1",
            "ch1",
            "c1n",
            "ch1n",
            "c2",
            "ch2",
            "c2n",
        ],
    )?;
    base.range_words(l.namespace(|| "nhi"), "nhi", s.cell("nhi"), HIGH_WORDS)?;
    base.range_short(l.namespace(|| "sopt"), "sopt", s.cell("sopt"), OPTION_BITS)?;

    // Touch 0: the delegate's account, its nonce bumped.
    let cell = |n: &str| s.cell(n).clone();
    let old = AccountCells {
        owner: owner.clone(),
        nonce: cell("nonce"),
        balance: cell("balance"),
        energy: cell("energy"),
        rider_a: cell("ra"),
        rider_b: cell("rb"),
    };
    let new = AccountUpdate {
        owner,
        nonce: Some(cell("nonce_new")),
        balance: None,
        energy: None,
        rider_a: cell("ra"),
        rider_b: cell("rb"),
    };
    let path = |i: usize| slot.map(move |w| w.path(i));
    base.account_touch(
        l.namespace(|| "delegate account"),
        s.cell("dvote"),
        s.cell("acct"),
        path(0).as_ref(),
        &old,
        &new,
        running,
    )?;

    // Touch 1: the ballot leaf.
    base.touch(
        l.namespace(|| "ballot leaf"),
        &[(TreeId::Ballots, s.cell("ballot"))],
        s.cell("bpos"),
        path(1).as_ref(),
        &[cell("bn_old"), cell("bw_old"), zero.clone()],
        &[cell("e2"), cell("bw_new"), zero.clone()],
        running,
    )?;

    // Touches 2 and 3: the tallies.
    for (i, flag, key, before, after) in [
        (2, "t1", "k1", "tw1", "tw1n"),
        (3, "t2", "k2", "tw2", "tw2n"),
    ] {
        base.touch(
            l.namespace(|| flag),
            &[(TreeId::Tallies, s.cell(flag))],
            s.cell(key),
            path(i).as_ref(),
            &[cell(before), zero.clone(), zero.clone()],
            &[cell(after), zero.clone(), zero.clone()],
            running,
        )?;
    }

    // Touch 4: the proposal, read.
    let proposal = [cell("vroot"), cell("thash"), cell("pw")];
    base.touch(
        l.namespace(|| "proposal"),
        &[(TreeId::Proposals, s.cell("any"))],
        s.cell("prop"),
        path(4).as_ref(),
        &proposal,
        &proposal,
        running,
    )?;
    Ok(())
}
