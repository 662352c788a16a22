//! What the demo prints at the end, all of it from the chain the verifier checked and
//! replayed (not from the sequencer's memory or the clients' receipts): the proposal's tally
//! with delegation resolved, the energy market's trades and prices, transit revenue per
//! operator, and a short report.

use std::collections::{BTreeMap, BTreeSet};

use circuits::chunk::Family;
use circuits::constants::AUTHORITY_COUNT;
use circuits::genesis::DEMO_AUTHORITIES;
use circuits::records::Side;
use circuits::{Event, Genesis, State, Transaction};
use verifier::check::Replayed;

/// One trade of the energy market.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trade {
    /// The resting order.
    pub maker: u64,
    /// The incoming order.
    pub taker: u64,
    /// The selling account.
    pub seller: u64,
    /// The buying account.
    pub buyer: u64,
    /// Wh.
    pub quantity: u64,
    /// Cents per kWh (the resting order's price).
    pub price: u64,
    /// Cents paid.
    pub payment: u64,
}

/// An operator's takings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Takings {
    /// Cents charged.
    pub cents: u64,
    /// Rides (taps).
    pub rides: u64,
    /// Of which transfers.
    pub transfers: u64,
    /// Of which past the fare cap.
    pub capped: u64,
}

/// A proposal as opened.
#[derive(Clone, Debug, Default)]
pub struct Opened {
    /// Its question.
    pub title: String,
    /// Its options.
    pub options: Vec<String>,
    /// Its window.
    pub window: (u64, u64),
    /// Ballots cast (replacements included).
    pub ballots: u64,
    /// Ballots that replaced an earlier one of the same voter.
    pub replaced: u64,
    /// Each delegate's votes, in order (the last counts).
    pub delegate_votes: BTreeMap<u64, Vec<u64>>,
}

/// What the verifier's replay of the chain shows.
#[derive(Clone, Debug, Default)]
pub struct Chain {
    /// Transactions per kind.
    pub kinds: BTreeMap<&'static str, u64>,
    /// Transactions per chunk family.
    pub families: BTreeMap<Family, u64>,
    /// Orders placed: id -> (owner, side, amount, limit price).
    pub orders: BTreeMap<u64, (u64, Side, u64, u64)>,
    /// Trades, in order.
    pub trades: Vec<Trade>,
    /// Orders cancelled, with what they released.
    pub cancelled: Vec<(u64, u64)>,
    /// Energy minted by meter readings, Wh.
    pub minted: u64,
    /// Takings per operator account.
    pub takings: BTreeMap<u64, Takings>,
    /// Riders who reached the fare cap.
    pub capped_riders: BTreeSet<u64>,
    /// Fleet records filed.
    pub fleet: u64,
    /// Delegate id -> account.
    pub delegates: BTreeMap<u64, u64>,
    /// Proposals.
    pub proposals: BTreeMap<u64, Opened>,
    /// The last batch time.
    pub last_time: u64,
}

impl Chain {
    /// Takes in one replayed transaction.
    pub fn observe(&mut self, r: Replayed<'_>) {
        *self.kinds.entry(r.tx.kind_name()).or_default() += 1;
        *self.families.entry(Family::of(r.tx)).or_default() += 1;
        match (&r.plan.event, r.tx) {
            (
                Event::OrderPlaced {
                    order,
                    owner,
                    side,
                    amount,
                    price,
                    ..
                },
                _,
            ) => {
                self.orders.insert(*order, (*owner, *side, *amount, *price));
            }
            (
                Event::Traded {
                    maker,
                    taker,
                    buyer,
                    seller,
                    quantity,
                    price,
                    payment,
                    ..
                },
                _,
            ) => self.trades.push(Trade {
                maker: *maker,
                taker: *taker,
                seller: *seller,
                buyer: *buyer,
                quantity: *quantity,
                price: *price,
                payment: *payment,
            }),
            (Event::OrderCancelled { order, released }, _) => {
                self.cancelled.push((*order, *released))
            }
            (Event::Minted { energy, .. }, _) => self.minted += energy,
            (
                Event::Fare {
                    rider,
                    operator,
                    charged,
                    transfer,
                    capped,
                    ..
                },
                _,
            ) => {
                let t = self.takings.entry(*operator).or_default();
                t.cents += charged;
                t.rides += 1;
                t.transfers += u64::from(*transfer);
                t.capped += u64::from(*capped);
                if *capped {
                    self.capped_riders.insert(*rider);
                }
            }
            (Event::FleetFiled { .. }, _) => self.fleet += 1,
            (Event::DelegateRegistered { account, delegate }, _) => {
                self.delegates.insert(*delegate, *account);
            }
            (Event::ProposalCreated { proposal }, Transaction::CreateProposal(p)) => {
                self.proposals.insert(
                    *proposal,
                    Opened {
                        title: p.title.clone(),
                        options: p.options.clone(),
                        window: (p.start, p.end),
                        ..Opened::default()
                    },
                );
            }
            (
                Event::BallotCast {
                    proposal, replaced, ..
                },
                _,
            ) => {
                let p = self.proposals.entry(*proposal).or_default();
                p.ballots += 1;
                p.replaced += u64::from(replaced.is_some());
            }
            (
                Event::DelegateVoted {
                    proposal,
                    delegate,
                    option,
                },
                _,
            ) => {
                self.proposals
                    .entry(*proposal)
                    .or_default()
                    .delegate_votes
                    .entry(*delegate)
                    .or_default()
                    .push(*option);
            }
            _ => {}
        }
    }
}

/// A name for an account: the authority's, or the genesis label.
pub fn account_name(genesis: &Genesis, account: u64) -> String {
    if account < AUTHORITY_COUNT {
        return DEMO_AUTHORITIES[account as usize].to_string();
    }
    genesis
        .accounts
        .get((account - AUTHORITY_COUNT) as usize)
        .map_or_else(|| format!("account {account}"), |a| a.name.clone())
}

/// `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `$12.34`.
pub fn dollars(cents: u64) -> String {
    format!("${}.{:02}", thousands(cents / 100), cents % 100)
}

/// The tally of every proposal, with delegation resolved, as lines.
pub fn tally(chain: &Chain, state: &State, genesis: &Genesis, voters: u64) -> Vec<String> {
    let mut lines = Vec::new();
    for (&id, opened) in &chain.proposals {
        let Some(result) = state.tally_result(id) else {
            continue;
        };
        let voted = result.direct.iter().sum::<u64>()
            + result.delegates.iter().map(|d| d.followers).sum::<u64>();
        lines.push(format!(
            "Proposal {id}: \"{}\" — {voted} of {voters} registered voters hold a ballot ({} cast, {} replaced an earlier one)",
            opened.title, opened.ballots, opened.replaced
        ));
        let name = |option: u64| {
            opened
                .options
                .get(option as usize)
                .cloned()
                .unwrap_or_else(|| format!("option {option}"))
        };
        lines.push(format!(
            "  {:<8} {:>6} {:>16} {:>6}",
            "option", "direct", "via delegates", "total"
        ));
        for (option, (&direct, &total)) in result.direct.iter().zip(&result.totals).enumerate() {
            lines.push(format!(
                "  {:<8} {direct:>6} {:>16} {total:>6}",
                name(option as u64),
                total - direct
            ));
        }
        for d in &result.delegates {
            let who = chain
                .delegates
                .get(&d.delegate)
                .map_or_else(String::new, |a| format!(" ({})", account_name(genesis, *a)));
            let history = opened
                .delegate_votes
                .get(&d.delegate)
                .cloned()
                .unwrap_or_default();
            let followers = match d.followers {
                1 => "1 follower".to_string(),
                n => format!("{n} followers"),
            };
            let line = match d.choice {
                Some(option) if history.len() > 1 => format!(
                    "voted {}, then changed to {}: {followers} counted for {}",
                    history[..history.len() - 1]
                        .iter()
                        .map(|o| name(*o))
                        .collect::<Vec<_>>()
                        .join(", then "),
                    name(option),
                    name(option)
                ),
                Some(option) => format!("voted {}: {followers} counted for it", name(option)),
                None => format!("did not vote: {followers} abstain"),
            };
            lines.push(format!("  delegate {}{who} {line}", d.delegate));
        }
        let mut ranked: Vec<(u64, String)> = result
            .totals
            .iter()
            .enumerate()
            .map(|(o, t)| (*t, name(o as u64)))
            .collect();
        ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
        let leader = match ranked.as_slice() {
            [first, second, ..] if first.0 == second.0 => "a tie".to_string(),
            [first, ..] => format!("{} leads", first.1),
            [] => "no options".to_string(),
        };
        let open = chain.last_time < opened.window.1;
        lines.push(format!(
            "  result{}: {}; {} abstain with their delegate: {leader}",
            if open {
                " so far (the window is still open)"
            } else {
                ""
            },
            ranked
                .iter()
                .map(|(t, n)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", "),
            result.abstained
        ));
    }
    lines
}

/// The energy market's trades, prices and book, as lines.
pub fn market(chain: &Chain, state: &State, genesis: &Genesis) -> Vec<String> {
    let mut lines = Vec::new();
    let volume: u64 = chain.trades.iter().map(|t| t.quantity).sum();
    let value: u64 = chain.trades.iter().map(|t| t.payment).sum();
    lines.push(format!(
        "Energy market: {} Wh minted by meter readings; {} trades, {} Wh for {} (each at the resting order's price)",
        thousands(chain.minted),
        chain.trades.len(),
        thousands(volume),
        dollars(value)
    ));
    for t in &chain.trades {
        let partial = |order: u64| chain.orders.get(&order).is_some_and(|o| o.2 > t.quantity);
        let note = match (partial(t.maker), partial(t.taker)) {
            (true, true) => "  (partial for both)",
            (true, false) => "  (partial for the resting order)",
            (false, true) => "  (partial for the incoming order)",
            (false, false) => "",
        };
        lines.push(format!(
            "  {:>12} -> {:<12} {:>6} Wh at {:>2} c/kWh = {:>3} c   (order {} resting, {} incoming){note}",
            account_name(genesis, t.seller),
            account_name(genesis, t.buyer),
            thousands(t.quantity),
            t.price,
            t.payment,
            t.maker,
            t.taker
        ));
    }
    if volume > 0 {
        let low = chain.trades.iter().map(|t| t.price).min().unwrap_or(0);
        let high = chain.trades.iter().map(|t| t.price).max().unwrap_or(0);
        let weighted = chain
            .trades
            .iter()
            .map(|t| t.price * t.quantity)
            .sum::<u64>() as f64
            / volume as f64;
        lines.push(format!(
            "  prices {low} to {high} c/kWh, {weighted:.2} c/kWh weighted by volume"
        ));
    }
    for (order, released) in &chain.cancelled {
        let owner = chain.orders.get(order).map_or(0, |o| o.0);
        lines.push(format!(
            "  order {order} of {} cancelled, releasing {released} {}",
            account_name(genesis, owner),
            match chain.orders.get(order).map(|o| o.1) {
                Some(Side::Sell) => "Wh",
                _ => "c",
            }
        ));
    }
    let book = circuits::matcher::order_book(state, chain.last_time);
    let levels = |levels: &[circuits::matcher::Level]| {
        if levels.is_empty() {
            "none".to_string()
        } else {
            levels
                .iter()
                .map(|l| format!("{} Wh at {}", thousands(l.amount), l.price))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    lines.push(format!(
        "  order book now: bids {}; asks {}",
        levels(&book.bids),
        levels(&book.asks)
    ));
    lines
}

/// Transit revenue per operator, as lines.
pub fn transit(chain: &Chain, genesis: &Genesis) -> Vec<String> {
    let mut lines = Vec::new();
    let all: Takings = chain
        .takings
        .values()
        .fold(Takings::default(), |a, t| Takings {
            cents: a.cents + t.cents,
            rides: a.rides + t.rides,
            transfers: a.transfers + t.transfers,
            capped: a.capped + t.capped,
        });
    lines.push(format!(
        "Transit revenue per operator: {} rides, {} transfers, {} rides past the fare cap of {} per {} days",
        all.rides,
        all.transfers,
        all.capped,
        dollars(genesis.params.fare_cap),
        genesis.params.cap_period / 86_400
    ));
    for name in super::city::OPERATORS {
        let Some(id) = genesis.account_index(&format!("operator-{name}")) else {
            continue;
        };
        let t = chain.takings.get(&id).copied().unwrap_or_default();
        lines.push(format!(
            "  {name:<6} {:>8}  from {:>2} rides ({}, {} past the cap)",
            dollars(t.cents),
            t.rides,
            super::city::plural(t.transfers, "transfer"),
            t.capped
        ));
    }
    lines.push(format!("  total  {:>8}", dollars(all.cents)));
    if !chain.capped_riders.is_empty() {
        lines.push(format!(
            "  reached the cap: {}",
            chain
                .capped_riders
                .iter()
                .map(|r| account_name(genesis, *r))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(123_456), "$1,234.56");
    }
}
