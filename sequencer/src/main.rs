//! The city operator's sequencer: `serve` runs the service (HTTP API, durable log in sled,
//! batch sealing, background proving); `demo` runs the demo city natively through the rules
//! library; `genesis` writes the demo genesis file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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
    /// Runs the sequencer service: accepts signed transactions over HTTP (JSON API under
    /// /v1), makes each durable before answering, seals batches by size or age and proves
    /// them in the background. Restarting on the same --data resumes exactly where it
    /// stopped (even after kill -9). Logs go to standard error (RUST_LOG=debug for more).
    Serve {
        /// Data directory: the sled database and the prover's parameter cache.
        #[arg(long)]
        data: PathBuf,
        /// The genesis file (a data directory refuses any other than its first).
        #[arg(long)]
        genesis: PathBuf,
        /// Address to listen on (port 0: any free port, printed at start).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The market operator's key file (as `client keygen` writes), to sign the
        /// matcher's fills. Without it, orders rest unmatched.
        #[arg(long)]
        market_key: Option<PathBuf>,
        /// Seal a batch when it holds this many transactions.
        #[arg(long, default_value_t = 64)]
        batch_size: u64,
        /// Seal a batch when its first transaction is this many milliseconds old.
        #[arg(long, default_value_t = 2000)]
        batch_ms: u64,
        /// Slots per transfer chunk of the proofs (1: k = 12, 5: k = 14, 11: k = 15).
        #[arg(long, default_value_t = 1)]
        slots: usize,
        /// Threads for proving (0: one per core; default: one less than the cores).
        #[arg(long)]
        prove_threads: Option<usize>,
        /// Do not prove sealed batches in this process (restart without it to prove them).
        #[arg(long)]
        no_prove: bool,
        /// Transactions that may wait for the writer; beyond, submissions get 503.
        #[arg(long, default_value_t = 1024)]
        queue: usize,
    },
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
    /// Writes a demo city key as a key file (the demo's keys are derived from names, so
    /// they are public: for trying the service and the client, never for real value).
    DemoKey {
        /// An authority (`grid-operator`, `transit-authority`, `registrar`, `council`,
        /// `market`) or a genesis account (`resident-0`, `operator-bus`).
        name: String,
        /// Where to write it (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
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
        Command::Serve {
            data,
            genesis,
            listen,
            market_key,
            batch_size,
            batch_ms,
            slots,
            prove_threads,
            no_prove,
            queue,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init();
            let genesis = circuits::Genesis::load(&genesis)?;
            let mut config = sequencer::Config::new(data, genesis, listen);
            config.market_key = market_key
                .map(|path| sequencer::keyfile::read(&path))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            config.batch_size = batch_size;
            config.batch_age = Duration::from_millis(batch_ms);
            config.slots = slots;
            config.prove = !no_prove;
            if let Some(threads) = prove_threads {
                config.prove_threads = threads;
            }
            config.queue_capacity = queue.max(1);
            serve(config)
        }
        Command::Demo {
            residents,
            days,
            verbose,
        } => demo(residents, days, verbose),
        Command::DemoKey { name, out } => {
            let key = circuits::genesis::demo_key(&name);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
            std::io::Write::write_all(&mut file, sequencer::keyfile::to_json(&key).as_bytes())?;
            println!("{}", hex::encode(key.public_key().to_bytes()));
            Ok(())
        }
        Command::Genesis { residents } => {
            println!("{}", circuits::genesis::demo(residents).to_json());
            Ok(())
        }
    }
}

fn serve(config: sequencer::Config) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let handle = sequencer::start(config).await?;
        // One line on standard output, for scripts that start it on port 0.
        println!("listening on http://{}", handle.addr());
        shutdown_signal().await;
        tracing::info!("shutting down");
        handle.shutdown().await;
        Ok(())
    })
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
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
