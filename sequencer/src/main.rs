//! The city operator's sequencer. For now it runs the demo city natively (the rules library
//! end to end, without proofs or the HTTP service, which later issues add) and writes the
//! demo genesis file.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;
use circuits::demo::{run_scenario, ScenarioSize};
use circuits::hash::to_hex;
use circuits::{Event, Transaction};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(version, about = "The smart-city rollup's sequencer")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the demo city: genesis, meters, trades, a week of rides, fleet records and a
    /// vote with delegation, applied by the rules; prints the state root, the trades, transit
    /// revenue and the tally.
    Demo {
        /// Residents in the demo city (at least 45).
        #[arg(long, default_value_t = 50)]
        residents: usize,
        /// Days of transit to simulate.
        #[arg(long, default_value_t = 7)]
        days: u64,
        /// Print every transaction's outcome.
        #[arg(long)]
        verbose: bool,
    },
    /// Prints the demo city's genesis file (JSON) to standard output.
    Genesis {
        /// Residents in the demo city.
        #[arg(long, default_value_t = 50)]
        residents: usize,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Demo {
            residents,
            days,
            verbose,
        } => demo(residents, days, verbose),
        Command::Genesis { residents } => {
            println!("{}", circuits::genesis::demo(residents).to_json());
            Ok(())
        }
    }
}

fn demo(residents: usize, days: u64, verbose: bool) -> Result<()> {
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
        "\n(Native run of the rules: ballots carry no proofs and batches are not proven yet.)"
    );
    Ok(())
}
