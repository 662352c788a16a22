//! The demo city's people and devices, as clients of the sequencer: each signs its own
//! transactions and submits them over HTTP with the client library ([`client::api::Api`]),
//! several at a time on threads of their own, and voters prove their ballots locally
//! ([`client::ballot`]). Nothing here calls the rules: what the city does is what the
//! sequencer accepted, and what the report shows is what the verifier replayed.
//!
//! The script runs in four phases (each waits for the one before, within a phase every
//! client runs on its own thread):
//!
//! 1. authorities set the city up: fare tables and concessions (transit authority), meters
//!    (grid operator), voter commitments (registrar); three residents opt in as delegates;
//! 2. the council opens a proposal; meters report their exports (one reading that does not
//!    increase is refused); riders' taps of the day arrive with transfers and a fare cap
//!    reached (one tap back in time is refused); operators file fleet records; residents pay
//!    each other and one opens an account for a newcomer;
//! 3. (with 4) sellers, then buyers, place limit orders, which the sequencer's matcher fills
//!    with the market key (partial fills); a buyer whose order rests below the market
//!    cancels it;
//! 4. (with 3) voters vote directly or follow a delegate, one reassigns, one overrides; two
//!    delegates vote (one changes its vote), the third never does. Each voter's machine
//!    syncs the proposal's voter set (cached on that machine) and finds its voters' Merkle
//!    paths locally: no request names a voter.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use circuits::ballot::BallotKeys;
use circuits::constants::{COUNCIL, GRID_OPERATOR, REGISTRAR, TRANSIT_AUTHORITY};
use circuits::demo::demo_voter;
use circuits::genesis::{demo, demo_key};
use circuits::keys::{SecretKey, Signature};
use circuits::records::{FleetKind, Side};
use circuits::tx::*;
use circuits::voter::Vote;
use circuits::{Event, Fp, Genesis, Transaction};
use client::api::{Api, ApiError};

use sequencer::writer::Receipt;

/// The fare cap of the demo genesis, cents per cap period. The default ($34 per 7 days) takes
/// a week of commutes to reach; the demo's day of rides reaches $12.
pub const FARE_CAP: u64 = 1_200;

/// The demo's proposal.
pub const PROPOSAL_TITLE: &str = "Extend tram line 4 to the harbour?";

/// The proposal's options.
pub const PROPOSAL_OPTIONS: [&str; 3] = ["yes", "no", "defer"];

/// How big the demo city is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Residents in the genesis.
    pub residents: usize,
    /// Smart meters (owned by the first residents; the first `sellers` of them sell).
    pub meters: usize,
    /// Registered voters.
    pub voters: u64,
    /// Voters who cast a ballot.
    pub voting: u64,
    /// Residents who sell energy.
    pub sellers: usize,
    /// Residents who buy energy at market prices (one more bids below the market).
    pub buyers: usize,
    /// Riders with a day of journeys.
    pub riders: usize,
    /// Residents who pay another.
    pub payers: usize,
}

/// Delegates: always three (one votes, one changes its vote, one never votes).
pub const DELEGATES: usize = 3;

impl Size {
    /// The README's demo city: 50 residents, 10 meters, 30 voters, 3 delegates, about 140
    /// transactions.
    pub const FULL: Size = Size {
        residents: 50,
        meters: 10,
        voters: 30,
        voting: 24,
        sellers: 5,
        buyers: 4,
        riders: 8,
        payers: 3,
    };

    /// A small city for tests and a quick look: about 50 transactions.
    pub const SMALL: Size = Size {
        residents: 14,
        meters: 2,
        voters: 5,
        voting: 5,
        sellers: 2,
        buyers: 1,
        riders: 2,
        payers: 1,
    };

    fn first_buyer(&self) -> usize {
        self.meters
    }

    /// The buyer who bids below the market and cancels.
    fn low_buyer(&self) -> usize {
        self.meters + self.buyers
    }

    fn first_rider(&self) -> usize {
        self.low_buyer() + 1
    }

    fn first_payer(&self) -> usize {
        self.first_rider() + self.riders
    }

    /// The resident who opens an account for a newcomer.
    fn inviter(&self) -> usize {
        self.first_payer() + self.payers
    }

    fn delegate(&self, d: usize) -> usize {
        self.residents - DELEGATES + d
    }

    /// Concessions: the second rider is a student (50%), the third a senior (30%).
    fn concessions(&self) -> Vec<(usize, u64)> {
        [(1, 50), (2, 30)]
            .into_iter()
            .filter(|(i, _)| *i < self.riders)
            .map(|(i, percent)| (self.first_rider() + i, percent))
            .collect()
    }

    /// Transactions the clients will send (the matcher's fills come on top), including the
    /// two refused on purpose.
    pub fn planned(&self) -> u64 {
        let setup = 3 + self.concessions().len() + self.meters + self.voters as usize + DELEGATES;
        let taps: usize = (0..self.riders).map(|r| rides(r).len()).sum::<usize>() + 1;
        let day = 1 + self.meters + 1 + taps + 3 + self.payers + 2;
        let market = self.sellers + self.buyers + 2;
        let votes = self.voting as usize + 2 + 3;
        (setup + day + market + votes) as u64
    }

    fn check(&self) {
        assert!(
            self.sellers <= self.meters
                && self.voting <= self.voters
                && self.voting >= 5
                && self.inviter() < self.residents - DELEGATES,
            "the demo city's roles must fit its residents: {self:?}"
        );
    }
}

/// The demo genesis for `size`: the demo city ([`circuits::genesis::demo`]: five
/// authorities, three transit operators, the residents with $100 each) with the fare cap
/// lowered to [`FARE_CAP`].
pub fn genesis(size: &Size) -> Genesis {
    let mut genesis = demo(size.residents);
    genesis.params.fare_cap = FARE_CAP;
    genesis.params.max_tap_delay = TAP_DELAY;
    genesis
}

/// Operators' names, accounts are `operator-NAME`.
pub const OPERATORS: [&str; 3] = ["metro", "bus", "tram"];

/// Fare tables (cents per fare class) of the metro, the bus and the tram.
const FARES: [[u64; 4]; 3] = [
    [290, 400, 350, 600],
    [275, 275, 200, 500],
    [250, 300, 250, 450],
];

const HOUR: u64 = 3600;
/// The demo genesis' maximum tap delay. The demo relays a whole day of taps (which began 16
/// hours before the script starts) within a minute, so its gates are up to a day late; a
/// real city keeps the default 15 minutes, which bounds how far a rider can backdate a tap.
const TAP_DELAY: u64 = 24 * HOUR;
const MINUTE: u64 = 60;

/// Operators, by their place in [`OPERATORS`].
const METRO: usize = 0;
const BUS: usize = 1;
const TRAM: usize = 2;

/// Rider `r`'s taps of the day as (operator, fare class, seconds after the rider's first
/// tap): a morning journey that starts on the metro, the bus or the tram by turns and
/// transfers once (every other rider twice), and a ride home in the evening; the first rider
/// also rides twice more in the evening and reaches the fare cap.
fn rides(r: usize) -> Vec<(usize, u64, u64)> {
    let mut taps = match r % 3 {
        0 => vec![(METRO, 1, 0), (BUS, 0, 40 * MINUTE)],
        1 => vec![(BUS, 0, 0), (METRO, 1, 35 * MINUTE)],
        _ => vec![(TRAM, 1, 0), (METRO, 1, 30 * MINUTE)],
    };
    if r.is_multiple_of(2) {
        let third = if r % 3 == 2 { BUS } else { TRAM };
        taps.push((third, 2, 95 * MINUTE));
    }
    taps.push(((r + 1) % 3, 3, 9 * HOUR));
    if r == 0 {
        taps.push((BUS, 3, 12 * HOUR));
        taps.push((TRAM, 3, 15 * HOUR));
    }
    taps
}

/// A step refused on purpose, as the sequencer answered it.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// What was tried.
    pub what: String,
    /// The HTTP status.
    pub status: u16,
    /// The error code.
    pub code: String,
    /// The server's message.
    pub message: String,
}

/// What the clients did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Transactions accepted (the matcher's fills included).
    pub accepted: u64,
    /// Of which fills made by the matcher.
    pub fills: u64,
    /// The refusals made on purpose.
    pub refused: Vec<Refusal>,
    /// Ballots proved on the voters' side.
    pub ballots: u64,
    /// Their proving time, in all.
    pub ballot_proving: Duration,
    /// Client threads used.
    pub threads: u64,
    /// From the first submission to the last answer.
    pub elapsed: Duration,
    /// The proposal opened.
    pub proposal: u64,
}

/// Why the script stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// A transaction the script expects to pass was refused, or the sequencer could not be
    /// reached.
    #[error("{who}: {what}: {source}")]
    Api {
        /// The client.
        who: String,
        /// What it tried.
        what: String,
        /// What the sequencer (or the network) said.
        source: ApiError,
    },
    /// A step meant to be refused was accepted, or refused for another reason.
    #[error("{what}: expected the refusal `{expected}`, got {got}")]
    NotRefused {
        /// What was tried.
        what: String,
        /// The code expected.
        expected: String,
        /// What happened instead.
        got: String,
    },
    /// An answer the script cannot read.
    #[error("{0}")]
    Unexpected(String),
    /// The ballot keys could not be made.
    #[error("ballot keys: {0}")]
    BallotKeys(String),
    /// A voter could not vote (the sequencer refused, its voter set did not check out, or
    /// the ballot could not be proved).
    #[error("{who}: vote: {source}")]
    Vote {
        /// The voter.
        who: String,
        /// Why.
        source: client::ballot::VoteError,
    },
}

/// What the script reports as it goes: each transaction sent, and lines for people.
pub trait Observer: Sync {
    /// A transaction was accepted (with the fills the matcher made against it).
    fn accepted(&self, who: &str, tx: &Transaction, receipt: &Receipt);
    /// A step was refused on purpose.
    fn refused(&self, refusal: &Refusal);
    /// A line of the story.
    fn say(&self, line: &str);
}

/// Shared by the clients.
struct Ctx<'a> {
    url: &'a str,
    /// The deployment every client signs for (the genesis hash).
    chain: Fp,
    /// Where the voters' machines keep their voter-set caches (a directory each).
    voter_caches: &'a Path,
    observer: &'a dyn Observer,
    accepted: AtomicU64,
    fills: AtomicU64,
    ballots: AtomicU64,
    ballot_micros: AtomicU64,
    threads: AtomicU64,
    refused: Mutex<Vec<Refusal>>,
}

impl Ctx<'_> {
    fn api(&self) -> Result<Api, ScriptError> {
        Api::new(self.url).map_err(|source| ScriptError::Api {
            who: "client".into(),
            what: "connecting".into(),
            source,
        })
    }

    /// Submits `tx` (retrying while the sequencer says it is overloaded) and reads the
    /// receipt.
    fn submit(&self, api: &Api, who: &str, tx: &Transaction) -> Result<Receipt, ApiError> {
        let mut wait = Duration::from_millis(50);
        let json = loop {
            match api.submit(tx) {
                Err(ApiError::Refused { code, .. }) if code == "overloaded" => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                other => break other?,
            }
        };
        let receipt: Receipt =
            serde_json::from_value(json.clone()).map_err(|e| ApiError::Unexpected {
                url: self.url.to_string(),
                message: format!("not a receipt ({e}): {json}"),
            })?;
        self.accepted
            .fetch_add(1 + receipt.fills.len() as u64, Ordering::Relaxed);
        self.fills
            .fetch_add(receipt.fills.len() as u64, Ordering::Relaxed);
        self.observer.accepted(who, tx, &receipt);
        Ok(receipt)
    }

    /// Submits what must be refused with `code`, and reports it.
    fn refuse(
        &self,
        api: &Api,
        what: String,
        tx: &Transaction,
        code: &str,
    ) -> Result<(), ScriptError> {
        match api.submit(tx) {
            Err(ApiError::Refused {
                status,
                code: got,
                message,
            }) if got == code => {
                let refusal = Refusal {
                    what,
                    status,
                    code: got,
                    message,
                };
                self.observer.refused(&refusal);
                self.refused.lock().expect("no panics").push(refusal);
                Ok(())
            }
            Err(e) => Err(ScriptError::NotRefused {
                what,
                expected: code.into(),
                got: e.to_string(),
            }),
            Ok(receipt) => Err(ScriptError::NotRefused {
                what,
                expected: code.into(),
                got: format!("accepted: {receipt}"),
            }),
        }
    }
}

/// An account holder with its key: a resident, an operator or an authority.
struct Actor {
    name: String,
    account: u64,
    key: SecretKey,
    /// The deployment it signs for (the genesis hash).
    chain: Fp,
    nonce: Option<u64>,
}

impl Actor {
    fn new(name: &str, account: u64, chain: Fp) -> Self {
        Actor {
            name: name.to_string(),
            account,
            key: demo_key(name),
            chain,
            nonce: None,
        }
    }

    /// Builds (with the account's nonce, asked of the sequencer the first time), signs and
    /// submits a transaction.
    fn send(
        &mut self,
        ctx: &Ctx<'_>,
        api: &Api,
        what: &str,
        build: impl FnOnce(u64, u64) -> Transaction,
    ) -> Result<Receipt, ScriptError> {
        let error = |source| ScriptError::Api {
            who: self.name.clone(),
            what: what.to_string(),
            source,
        };
        let nonce = match self.nonce {
            Some(n) => n,
            None => api.account_nonce(self.account).map_err(error)?,
        };
        let tx = build(self.account, nonce).signed(&self.key, self.chain);
        let receipt = ctx.submit(api, &self.name, &tx).map_err(error)?;
        self.nonce = Some(nonce + 1);
        Ok(receipt)
    }

    /// Signs a transaction the sequencer must refuse (the nonce is not used up).
    fn signed(&self, build: impl FnOnce(u64, u64) -> Transaction) -> Transaction {
        build(self.account, self.nonce.unwrap_or_default()).signed(&self.key, self.chain)
    }
}

fn sig() -> Signature {
    Signature::default()
}

/// A client's work, run on a thread of its own.
type Job<'s> = Box<dyn FnOnce() -> Result<(), ScriptError> + Send + 's>;

/// Runs every client's work in its own thread and waits for all; the first error wins.
fn together(ctx: &Ctx<'_>, jobs: Vec<Job<'_>>) -> Result<(), ScriptError> {
    ctx.threads.fetch_add(jobs.len() as u64, Ordering::Relaxed);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs.into_iter().map(|job| s.spawn(job)).collect();
        let mut first = Ok(());
        for handle in handles {
            let result = handle.join().unwrap_or_else(|_| {
                Err(ScriptError::Unexpected("a client thread panicked".into()))
            });
            if first.is_ok() {
                first = result;
            }
        }
        first
    })
}

/// The event in a receipt, for the ids it gives (a meter, an order, an account, a proposal).
fn id_of(receipt: &Receipt) -> Result<u64, ScriptError> {
    match receipt.event {
        Event::MeterRegistered { meter, .. } => Ok(meter),
        Event::OrderPlaced { order, .. } => Ok(order),
        Event::AccountOpened { account } => Ok(account),
        Event::ProposalCreated { proposal } => Ok(proposal),
        ref other => Err(ScriptError::Unexpected(format!(
            "a receipt without the id expected: {other:?}"
        ))),
    }
}

/// The city's clients, against the sequencer at `url`, with the genesis `genesis` of size
/// `size`. `now` is the wall clock when the script starts: the day's taps happened before it,
/// orders expire and the vote closes a day after it.
pub fn run(
    url: &str,
    genesis: &Genesis,
    size: &Size,
    now: u64,
    voter_caches: &Path,
    observer: &dyn Observer,
) -> Result<Outcome, ScriptError> {
    size.check();
    let started = Instant::now();
    let chain = genesis.chain();
    let ctx = Ctx {
        url,
        chain,
        voter_caches,
        observer,
        accepted: AtomicU64::new(0),
        fills: AtomicU64::new(0),
        ballots: AtomicU64::new(0),
        ballot_micros: AtomicU64::new(0),
        threads: AtomicU64::new(0),
        refused: Mutex::new(Vec::new()),
    };
    let account = |name: &str| {
        genesis
            .account_index(name)
            .ok_or_else(|| ScriptError::Unexpected(format!("no {name} in the demo genesis")))
    };
    let resident = |i: usize| -> Result<Actor, ScriptError> {
        let name = format!("resident-{i}");
        Ok(Actor::new(&name, account(&name)?, chain))
    };
    let operators: Vec<u64> = OPERATORS
        .iter()
        .map(|o| account(&format!("operator-{o}")))
        .collect::<Result<_, _>>()?;

    // The voters' machines make the ballot keys while the authorities work.
    let (keys, setup) = std::thread::scope(|s| {
        ctx.threads.fetch_add(1, Ordering::Relaxed);
        let keys =
            s.spawn(|| client::ballot::keys().map_err(|e| ScriptError::BallotKeys(e.to_string())));
        let setup = setup_phase(&ctx, size, &operators, &resident);
        let keys = keys
            .join()
            .unwrap_or_else(|_| Err(ScriptError::BallotKeys("the thread panicked".into())));
        let setup = setup?;
        Ok::<_, ScriptError>((keys?, setup))
    })?;

    let proposal = day_phase(&ctx, size, now, &operators, &setup.meters, &resident)?;
    let markets = || market_phase(&ctx, size, now, &resident);
    let votes = || vote_phase(&ctx, size, proposal, &keys, &setup.delegates, &resident);
    std::thread::scope(|s| {
        let market = s.spawn(markets);
        let vote = votes();
        let market = market
            .join()
            .unwrap_or_else(|_| Err(ScriptError::Unexpected("a client thread panicked".into())));
        vote.and(market)
    })?;

    let refused = ctx.refused.into_inner().expect("no panics");
    Ok(Outcome {
        accepted: ctx.accepted.into_inner(),
        fills: ctx.fills.into_inner(),
        refused,
        ballots: ctx.ballots.into_inner(),
        ballot_proving: Duration::from_micros(ctx.ballot_micros.into_inner()),
        threads: ctx.threads.into_inner(),
        elapsed: started.elapsed(),
        proposal,
    })
}

type Residents<'a> = dyn Fn(usize) -> Result<Actor, ScriptError> + Sync + 'a;

/// Phase 1: the authorities register operators, concessions, meters and voters; delegates
/// opt in. Returns the meters as (id, key), in owner order.
fn setup_phase(
    ctx: &Ctx<'_>,
    size: &Size,
    operators: &[u64],
    resident: &Residents<'_>,
) -> Result<Setup, ScriptError> {
    let meters = Mutex::new(Vec::new());
    let delegates = Mutex::new(BTreeMap::new());
    let mut jobs: Vec<Job<'_>> = Vec::new();
    jobs.push(Box::new(|| {
        let api = ctx.api()?;
        let mut authority = Actor::new("transit-authority", TRANSIT_AUTHORITY, ctx.chain);
        for (operator, fares) in operators.iter().zip(FARES) {
            authority.send(ctx, &api, "register an operator", |from, nonce| {
                Transaction::RegisterOperator(RegisterOperator {
                    from,
                    operator: *operator,
                    fares,
                    nonce,
                    signature: sig(),
                })
            })?;
        }
        for (i, percent) in size.concessions() {
            let rider = resident(i)?.account;
            authority.send(ctx, &api, "set a concession", |from, nonce| {
                Transaction::SetConcession(SetConcession {
                    from,
                    rider,
                    percent,
                    nonce,
                    signature: sig(),
                })
            })?;
        }
        Ok(())
    }));
    jobs.push(Box::new(|| {
        let api = ctx.api()?;
        let mut grid = Actor::new("grid-operator", GRID_OPERATOR, ctx.chain);
        for m in 0..size.meters {
            let owner = resident(m)?.account;
            let key = demo_key(&format!("meter-{m}"));
            let public = key.public_key();
            let receipt = grid.send(ctx, &api, "register a meter", |from, nonce| {
                Transaction::RegisterMeter(RegisterMeter {
                    from,
                    meter_key: public,
                    owner,
                    nonce,
                    signature: sig(),
                })
            })?;
            meters
                .lock()
                .expect("no panics")
                .push((id_of(&receipt)?, key));
        }
        Ok(())
    }));
    jobs.push(Box::new(|| {
        let api = ctx.api()?;
        let mut registrar = Actor::new("registrar", REGISTRAR, ctx.chain);
        for v in 0..size.voters {
            // The voter made the secret on their own machine and brought the commitment.
            let commitment = demo_voter(v).commitment();
            registrar.send(ctx, &api, "register a voter", |from, nonce| {
                Transaction::RegisterVoter(RegisterVoter {
                    from,
                    commitment,
                    nonce,
                    signature: sig(),
                })
            })?;
        }
        Ok(())
    }));
    for d in 0..DELEGATES {
        let delegates = &delegates;
        jobs.push(Box::new(move || {
            let api = ctx.api()?;
            let mut delegate = resident(size.delegate(d))?;
            let receipt = delegate.send(ctx, &api, "opt in as a delegate", |from, nonce| {
                Transaction::RegisterDelegate(RegisterDelegate {
                    from,
                    nonce,
                    signature: sig(),
                })
            })?;
            let Event::DelegateRegistered { delegate: id, .. } = receipt.event else {
                return Err(ScriptError::Unexpected(format!(
                    "a delegate's receipt without its id: {:?}",
                    receipt.event
                )));
            };
            delegates
                .lock()
                .expect("no panics")
                .insert(id, size.delegate(d));
            Ok(())
        }));
    }
    together(ctx, jobs)?;
    ctx.observer.say(&format!(
        "  authorities: {} fare tables, {}, {} meters and {} voter commitments registered; {DELEGATES} residents opt in as delegates",
        operators.len(),
        plural(size.concessions().len() as u64, "concession"),
        size.meters,
        size.voters
    ));
    Ok(Setup {
        meters: meters.into_inner().expect("no panics"),
        delegates: delegates.into_inner().expect("no panics"),
    })
}

/// What phase 1 registered that later phases need.
struct Setup {
    /// Meters as (id, key), in owner order.
    meters: Vec<(u64, SecretKey)>,
    /// Delegate id -> the resident it is.
    delegates: BTreeMap<u64, usize>,
}

/// `1 concession`, `2 concessions`.
pub fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Phase 2: the proposal, meter readings, the day's rides, fleet records, payments.
/// Returns the proposal's id.
fn day_phase(
    ctx: &Ctx<'_>,
    size: &Size,
    now: u64,
    operators: &[u64],
    meters: &[(u64, SecretKey)],
    resident: &Residents<'_>,
) -> Result<u64, ScriptError> {
    let proposal = Mutex::new(None);
    let mut jobs: Vec<Job<'_>> = Vec::new();
    jobs.push(Box::new(|| {
        let api = ctx.api()?;
        let mut council = Actor::new("council", COUNCIL, ctx.chain);
        let receipt = council.send(ctx, &api, "open a proposal", |from, nonce| {
            Transaction::CreateProposal(CreateProposal {
                from,
                title: PROPOSAL_TITLE.into(),
                options: PROPOSAL_OPTIONS.iter().map(|o| o.to_string()).collect(),
                start: now.saturating_sub(MINUTE),
                end: now + 24 * HOUR,
                nonce,
                signature: sig(),
            })
        })?;
        *proposal.lock().expect("no panics") = Some(id_of(&receipt)?);
        Ok(())
    }));
    // Meters report on two device gateways.
    for gateway in 0..2 {
        jobs.push(Box::new(move || {
            let api = ctx.api()?;
            for (m, (meter, key)) in meters.iter().enumerate().skip(gateway).step_by(2) {
                let who = format!("meter {meter}");
                let error = |source| ScriptError::Api {
                    who: who.clone(),
                    what: "report a reading".into(),
                    source,
                };
                let nonce = api.meter_nonce(*meter).map_err(error)?;
                let cumulative = 6_000 + 500 * m as u64;
                let reading = |nonce, cumulative| {
                    Transaction::MeterReading(MeterReading {
                        meter: *meter,
                        cumulative,
                        nonce,
                        signature: sig(),
                    })
                    .signed(key, ctx.chain)
                };
                ctx.submit(&api, &who, &reading(nonce, cumulative))
                    .map_err(error)?;
                if m == 0 {
                    // The meter repeats its reading: nothing may be minted twice.
                    ctx.refuse(
                        &api,
                        format!("meter {meter} sends {cumulative} Wh again"),
                        &reading(nonce + 1, cumulative),
                        "reading_not_increasing",
                    )?;
                }
            }
            Ok(())
        }));
    }
    // Transit gates relay each rider's taps of the day, which began 16 hours ago.
    let morning = now - 16 * HOUR;
    for r in 0..size.riders {
        jobs.push(Box::new(move || {
            let api = ctx.api()?;
            let mut rider = resident(size.first_rider() + r)?;
            let start = morning + 5 * MINUTE * r as u64;
            for (operator, fare_class, offset) in rides(r) {
                let operator = operators[operator];
                rider.send(ctx, &api, "tap", |from, nonce| {
                    Transaction::Tap(Tap {
                        from,
                        operator,
                        fare_class,
                        time: start + offset,
                        nonce,
                        signature: sig(),
                    })
                })?;
            }
            if r == 1 % size.riders {
                // A gate relays a stale tap from before the rider's last one.
                let operator = operators[BUS];
                let tx = rider.signed(|from, nonce| {
                    Transaction::Tap(Tap {
                        from,
                        operator,
                        fare_class: 0,
                        time: start + 20 * MINUTE,
                        nonce,
                        signature: sig(),
                    })
                });
                ctx.refuse(
                    &api,
                    format!(
                        "{}'s gate relays a tap from before their last one",
                        rider.name
                    ),
                    &tx,
                    "tap_not_forward",
                )?;
            }
            Ok(())
        }));
    }
    for (i, name) in OPERATORS.iter().enumerate() {
        jobs.push(Box::new(move || {
            let api = ctx.api()?;
            let operator_name = format!("operator-{name}");
            let mut operator = Actor::new(&operator_name, operators[i], ctx.chain);
            let (kind, document) = match i {
                0 => (
                    FleetKind::Maintenance,
                    "train 7: brakes and doors inspected",
                ),
                1 => (FleetKind::Insurance, "bus 12: liability policy renewed"),
                _ => (FleetKind::DriverShift, "tram 3: driver shift 06:00-14:00"),
            };
            operator.send(ctx, &api, "file a fleet record", |from, nonce| {
                Transaction::FleetRecord(FleetRecord {
                    from,
                    vehicle: [7, 12, 3][i],
                    kind,
                    record_hash: circuits::hash::hash_bytes(document.as_bytes()),
                    nonce,
                    signature: sig(),
                })
            })?;
            Ok(())
        }));
    }
    jobs.push(Box::new(move || {
        let api = ctx.api()?;
        for p in 0..size.payers {
            let mut payer = resident(size.first_payer() + p)?;
            let to = resident(size.first_buyer() + p)?.account;
            payer.send(ctx, &api, "pay a neighbour", |from, nonce| {
                Transaction::Transfer(Transfer {
                    from,
                    to,
                    amount: 1_250 + 250 * p as u64,
                    nonce,
                    signature: sig(),
                })
            })?;
        }
        let mut inviter = resident(size.inviter())?;
        let newcomer = demo_key("newcomer");
        let receipt = inviter.send(ctx, &api, "open an account", |from, nonce| {
            Transaction::OpenAccount(OpenAccount {
                from,
                public_key: newcomer.public_key(),
                nonce,
                signature: sig(),
            })
        })?;
        let opened = id_of(&receipt)?;
        inviter.send(ctx, &api, "welcome the newcomer", |from, nonce| {
            Transaction::Transfer(Transfer {
                from,
                to: opened,
                amount: 2_000,
                nonce,
                signature: sig(),
            })
        })?;
        Ok(())
    }));
    together(ctx, jobs)?;
    let taps: usize = (0..size.riders).map(|r| rides(r).len()).sum();
    ctx.observer.say(&format!(
        "  the day: the council opens a proposal; {} meters report; {} riders tap {taps} times; 3 fleet records; {} payments and an account opened",
        size.meters,
        size.riders,
        size.payers + 1
    ));
    let proposal = proposal.into_inner().expect("no panics");
    proposal.ok_or_else(|| ScriptError::Unexpected("no proposal was opened".into()))
}

/// Phase 3: sells, then buys (the matcher fills them), then a cancellation.
fn market_phase(
    ctx: &Ctx<'_>,
    size: &Size,
    now: u64,
    resident: &Residents<'_>,
) -> Result<(), ScriptError> {
    let expiry = now + 24 * HOUR;
    let place = move |i: usize, side: Side, amount: u64, price: u64| {
        let api = ctx.api()?;
        let mut trader = resident(i)?;
        let receipt = trader.send(ctx, &api, "place an order", |from, nonce| {
            Transaction::PlaceOrder(PlaceOrder {
                from,
                side,
                amount,
                price,
                expiry,
                nonce,
                signature: sig(),
            })
        })?;
        Ok::<_, ScriptError>((trader, api, receipt))
    };
    let mut sells: Vec<Job<'_>> = Vec::new();
    for s in 0..size.sellers {
        sells.push(Box::new(move || {
            place(s, Side::Sell, 3_000, 12 + s as u64).map(|_| ())
        }));
    }
    together(ctx, sells)?;
    // Buyers at and above the asks, and one below them.
    const BIDS: [(u64, u64); 4] = [(4_000, 14), (2_500, 13), (1_500, 17), (3_000, 15)];
    let low = Mutex::new(None);
    let mut buys: Vec<Job<'_>> = Vec::new();
    for b in 0..size.buyers {
        buys.push(Box::new(move || {
            let (amount, price) = BIDS[b % BIDS.len()];
            place(size.first_buyer() + b, Side::Buy, amount, price).map(|_| ())
        }));
    }
    buys.push(Box::new(|| {
        let placed = place(size.low_buyer(), Side::Buy, 1_000, 11)?;
        *low.lock().expect("no panics") = Some(placed);
        Ok(())
    }));
    together(ctx, buys)?;
    let (mut buyer, api, receipt) = low
        .into_inner()
        .expect("no panics")
        .ok_or_else(|| ScriptError::Unexpected("the low bid was not placed".into()))?;
    let order = id_of(&receipt)?;
    buyer.send(ctx, &api, "cancel an order", |from, nonce| {
        Transaction::CancelOrder(CancelOrder {
            from,
            order,
            nonce,
            signature: sig(),
        })
    })?;
    ctx.observer.say(&format!(
        "  energy market: {} sell and {} buy orders, {} fills by the matcher, a bid below the market cancelled",
        size.sellers,
        size.buyers + 1,
        ctx.fills.load(Ordering::Relaxed)
    ));
    Ok(())
}

/// Phase 4: ballots proved on the voters' side, a reassignment and an override, delegates'
/// votes.
fn vote_phase(
    ctx: &Ctx<'_>,
    size: &Size,
    proposal: u64,
    keys: &BallotKeys,
    delegates: &BTreeMap<u64, usize>,
    resident: &Residents<'_>,
) -> Result<(), ScriptError> {
    // The first half of the voters vote directly (option `v % 3`), the others follow
    // delegate `v % 3`. Delegate 0 votes yes; delegate 1 votes no, then changes to yes;
    // delegate 2 never votes, so its followers abstain.
    let direct = size.voting / 2;
    let first_vote = |v: u64| {
        if v < direct {
            Vote::Option(v % PROPOSAL_OPTIONS.len() as u64)
        } else {
            Vote::Delegate(v % DELEGATES as u64)
        }
    };
    // A follower of delegate 2 reassigns to delegate 0; a follower of delegate 1 overrides
    // it with a direct vote for no.
    let reassign = (direct..size.voting)
        .find(|v| v % 3 == 2)
        .expect("voting >= 5");
    let overrides = (direct..size.voting)
        .find(|v| v % 3 == 1)
        .expect("voting >= 5");
    let changes: BTreeMap<u64, Vote> =
        BTreeMap::from([(reassign, Vote::Delegate(0)), (overrides, Vote::Option(1))]);
    let synced = AtomicU64::new(0);
    let vote = |api: &Api, cache: &Path, v: u64, vote: Vote| -> Result<(), ScriptError> {
        let who = format!("voter {v}");
        let cast = api
            .vote(keys, &demo_voter(v), proposal, vote, cache)
            .map_err(|source| ScriptError::Vote {
                who: who.clone(),
                source,
            })?;
        synced.fetch_add(cast.sync.fetched, Ordering::Relaxed);
        ctx.ballots.fetch_add(1, Ordering::Relaxed);
        ctx.ballot_micros
            .fetch_add(cast.proving.as_micros() as u64, Ordering::Relaxed);
        let receipt: Receipt = serde_json::from_value(cast.receipt.clone()).map_err(|e| {
            ScriptError::Unexpected(format!("not a receipt ({e}): {}", cast.receipt))
        })?;
        ctx.accepted.fetch_add(1, Ordering::Relaxed);
        ctx.observer.accepted(&who, &cast.ballot, &receipt);
        Ok(())
    };
    const VOTER_MACHINES: u64 = 4;
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for machine in 0..VOTER_MACHINES {
        let changes = &changes;
        let vote = &vote;
        jobs.push(Box::new(move || {
            let api = ctx.api()?;
            let cache = ctx.voter_caches.join(format!("machine-{machine}"));
            let mine: Vec<u64> = (0..size.voting)
                .filter(|v| v % VOTER_MACHINES == machine)
                .collect();
            for &v in &mine {
                vote(&api, &cache, v, first_vote(v))?;
            }
            for &v in &mine {
                if let Some(&changed) = changes.get(&v) {
                    vote(&api, &cache, v, changed)?;
                }
            }
            Ok(())
        }));
    }
    for (id, options) in [(0u64, vec![0u64]), (1, vec![1, 0])] {
        let who = *delegates
            .get(&id)
            .ok_or_else(|| ScriptError::Unexpected(format!("no delegate {id} registered")))?;
        jobs.push(Box::new(move || {
            let api = ctx.api()?;
            let mut delegate = resident(who)?;
            for option in options {
                delegate.send(ctx, &api, "vote as a delegate", |from, nonce| {
                    Transaction::DelegateVote(DelegateVote {
                        from,
                        proposal,
                        option,
                        nonce,
                        signature: sig(),
                    })
                })?;
            }
            Ok(())
        }));
    }
    together(ctx, jobs)?;
    ctx.observer.say(&format!(
        "  the vote: {} of {} voters cast ballots proved on their own machines ({} direct, {} following a delegate); one reassigns, one overrides its delegate; 2 delegates vote (one changes its vote), the third does not",
        size.voting,
        size.voters,
        direct,
        size.voting - direct
    ));
    ctx.observer.say(&format!(
        "  no request named a voter: each of the {VOTER_MACHINES} voters' machines synced the proposal's voter set once ({} commitments fetched in all; later ballots from its cache), checked it against the proposal's voter root and found its paths locally",
        synced.load(Ordering::Relaxed)
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_fit_both_sizes_and_the_plan_counts_every_step() {
        for size in [Size::FULL, Size::SMALL] {
            size.check();
            let g = genesis(&size);
            assert_eq!(g.params.fare_cap, FARE_CAP);
            assert!(g
                .account_index(&format!("resident-{}", size.delegate(2)))
                .is_some());
        }
        // 3 operators, 2 concessions, 10 meters, 30 voters, 3 delegates; the proposal, 10
        // readings and 1 refused, 30 taps and 1 refused, 3 fleet records, 3 payments, an
        // account and its welcome; 5 sells, 4 buys and a low bid, its cancel; 24 ballots, 2 changes, 3
        // delegate votes.
        assert_eq!(Size::FULL.planned(), 48 + 51 + 11 + 29);
        assert!(Size::SMALL.planned() < 60, "{}", Size::SMALL.planned());
    }

    #[test]
    fn the_small_citys_day_of_rides_pays_the_operators_as_the_demo_test_expects() {
        // The rules applied natively to the small city's rides, as the clients send them.
        let size = Size::SMALL;
        let mut city = circuits::demo::City::from_genesis(genesis(&size));
        let now = city.genesis.time + 30 * 24 * HOUR;
        let ops: Vec<u64> = OPERATORS
            .iter()
            .map(|o| city.id(&format!("operator-{o}")))
            .collect();
        for (op, fares) in ops.iter().zip(FARES) {
            let tx = city.register_operator(*op, fares);
            city.apply(&tx, now).unwrap();
        }
        for (i, percent) in size.concessions() {
            let tx = city.concession(city.resident(i), percent);
            city.apply(&tx, now).unwrap();
        }
        let mut takings = [0u64; 3];
        let mut capped = Vec::new();
        for r in 0..size.riders {
            let rider = city.resident(size.first_rider() + r);
            let start = now - 16 * HOUR + 5 * MINUTE * r as u64;
            for (op, class, offset) in rides(r) {
                let tx = city.tap(rider, ops[op], class, start + offset);
                match city.apply(&tx, now).unwrap() {
                    Event::Fare {
                        charged, capped: c, ..
                    } => {
                        takings[op] += charged;
                        if c {
                            capped.push(rider);
                        }
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(takings, [455, 937, 225]);
        capped.dedup();
        assert_eq!(capped, vec![city.resident(size.first_rider())]);
    }

    #[test]
    fn the_first_rider_reaches_the_cap_within_the_day() {
        let fares: u64 = rides(0)
            .iter()
            .map(|&(op, class, _)| FARES[op][class as usize])
            .sum();
        assert!(fares > FARE_CAP, "{fares}");
        assert!(
            rides(0).iter().all(|r| r.2 < 16 * HOUR),
            "every tap before now"
        );
    }
}
