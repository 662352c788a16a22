//! The demo city natively: the scripted scenario of [`circuits::demo::run_scenario`] (a week
//! of the city) applied by the rules library alone, with no service, no proofs and no
//! network. `demo --native` runs it; it is how the rules were shown before the
//! circuits and the service existed, and it stays as a quick look at the rules.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use circuits::demo::{run_scenario, ScenarioSize};
use circuits::hash::to_hex;
use circuits::{Event, Transaction};

/// Runs the native scenario with `residents` residents and `days` days of transit, and
/// prints what happened (every transaction's outcome if `verbose`).
pub fn run(residents: usize, days: u64, verbose: bool) -> Result<()> {
    anyhow::ensure!(residents >= 45, "the demo city needs at least 45 residents");
    let size = ScenarioSize {
        residents,
        days,
        ..ScenarioSize::default()
    };
    let started = Instant::now();
    let (city, log) = run_scenario(&size);
    let elapsed = started.elapsed();
    let genesis_root = city.genesis.state().root();

    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for step in &log {
        let entry = by_kind.entry(step.tx.kind_name()).or_default();
        match &step.outcome {
            Ok(_) => entry.0 += 1,
            Err(_) => entry.1 += 1,
        }
        if verbose {
            match &step.outcome {
                Ok(event) => println!("t={} {:<18} ok   {event:?}", step.time, step.tx.kind_name()),
                Err(e) => println!("t={} {:<18} REFUSED: {e}", step.time, step.tx.kind_name()),
            }
        }
    }
    let applied: usize = by_kind.values().map(|v| v.0).sum();
    println!(
        "Demo city: {residents} residents, {} meters, {} voters, {days} days of transit",
        size.meters, size.voters
    );
    println!("genesis root  {}", to_hex(&genesis_root));
    println!("state root    {}", to_hex(&city.state.root()));
    println!(
        "{applied} transactions applied, {} refused, in {:.2?} ({:.0} tx/s natively, debug builds are slower)",
        log.len() - applied,
        elapsed,
        applied as f64 / elapsed.as_secs_f64()
    );
    println!("\nTransactions by kind (applied / refused):");
    for (kind, (ok, refused)) in &by_kind {
        println!("  {kind:<18} {ok:>4} / {refused}");
    }
    println!("\nRefused on purpose, with the rules' reasons:");
    for step in log.iter().filter(|s| s.outcome.is_err()) {
        if let Err(e) = &step.outcome {
            println!("  {}: {e}", step.tx.kind_name());
        }
    }

    println!("\nEnergy market trades (at the resting order's price):");
    let mut volume = 0;
    let mut value = 0;
    for step in &log {
        if let (
            Transaction::Fill(_),
            Ok(Event::Traded {
                maker,
                taker,
                buyer,
                seller,
                quantity,
                price,
                payment,
                ..
            }),
        ) = (&step.tx, &step.outcome)
        {
            println!(
                "  order {maker:>2} x {taker:>2}: {quantity:>5} Wh at {price:>2} c/kWh = {payment:>3} c  (account {seller} -> {buyer})"
            );
            volume += quantity;
            value += payment;
        }
    }
    println!("  total {volume} Wh for {value} c");
    let book = circuits::matcher::order_book(&city.state, log.last().map_or(0, |s| s.time));
    println!(
        "  order book now: {} bid levels, {} ask levels",
        book.bids.len(),
        book.asks.len()
    );

    println!("\nTransit revenue per operator:");
    let mut revenue: BTreeMap<u64, (u64, usize, usize, usize)> = BTreeMap::new();
    for step in &log {
        if let Ok(Event::Fare {
            operator,
            charged,
            transfer,
            capped,
            ..
        }) = &step.outcome
        {
            let r = revenue.entry(*operator).or_default();
            r.0 += charged;
            r.1 += 1;
            r.2 += usize::from(*transfer);
            r.3 += usize::from(*capped);
        }
    }
    for (name, id) in ["metro", "bus", "tram"].map(|n| (n, city.id(&format!("operator-{n}")))) {
        let (cents, rides, transfers, capped) = revenue.get(&id).copied().unwrap_or_default();
        println!(
            "  {name:<6} {cents:>6} c from {rides} rides ({transfers} transfers, {capped} capped)"
        );
    }

    let tally = city
        .state
        .tally_result(0)
        .expect("the demo opens proposal 0");
    println!("\nProposal 0 \"Extend tram line 4 to the harbour?\"");
    for (option, label) in ["yes", "no", "defer"].iter().enumerate() {
        println!(
            "  {label:<6} {:>3} votes ({} direct)",
            tally.totals[option], tally.direct[option]
        );
    }
    for d in &tally.delegates {
        match d.choice {
            Some(option) => println!(
                "  delegate {} voted {option} for {} followers",
                d.delegate, d.followers
            ),
            None => println!(
                "  delegate {} did not vote: {} followers abstain",
                d.delegate, d.followers
            ),
        }
    }
    println!(
        "\n(Native run of the rules only: ballots carry no proofs and nothing is proven; `demo` without --native runs the city end to end.)"
    );
    Ok(())
}
