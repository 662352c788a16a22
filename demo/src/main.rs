//! `demo`: the demo city end to end (the sequencer service in-process, the city's clients
//! over HTTP, proofs, the verifier), or natively through the rules library with `--native`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// Runs the demo city end to end: a genesis of 50 residents, 10 meters, 3 transit
/// operators, 30 voters and 3 delegates; the sequencer service started in this process on
/// loopback; the city's clients on threads of their own sending every kind of transaction
/// over HTTP (ballots proved on the voters' side, two steps refused on purpose); batches
/// proven in the background with progress bars; then the verifier checks the whole chain
/// over HTTP and the demo prints the tally, the market's trades and prices, transit
/// revenue and a report. Under two minutes on two cores with the parameters cached (the
/// first run also makes and caches them), nearly all of it proving about 140 one-slot
/// chunks, several to a proof.
///
/// Exit status: 0 the verifier accepts the chain; 1 it does not, or a step of the city went
/// wrong; 2 bad usage; 3 the demo could not run (a directory, the port, proving).
#[derive(Parser)]
#[command(version, about = "The smart-city rollup's demo city, end to end")]
struct Cli {
    /// A smaller city (14 residents, 2 meters, 6 voters: about 50 transactions), for a
    /// quick look and the tests.
    #[arg(long, conflicts_with = "native")]
    small: bool,
    /// Keep the sequencer's data in DIR (with its genesis.json) instead of a temporary
    /// directory. Run again on the same DIR, the demo sends nothing new: it proves what is
    /// left and verifies the chain again.
    #[arg(long, value_name = "DIR", conflicts_with = "native")]
    data: Option<PathBuf>,
    /// Where commitment parameters are cached [default: $XDG_CACHE_HOME/city-rollup or
    /// ~/.cache/city-rollup].
    #[arg(long, value_name = "DIR", conflicts_with = "native")]
    params: Option<PathBuf>,
    /// Address of the service (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0", conflicts_with = "native")]
    listen: SocketAddr,
    /// Slots per transfer chunk (1: k = 11; 12: k = 14, where the other families fill
    /// the same rows).
    #[arg(long, default_value_t = 1)]
    slots: usize,
    /// Seal a batch at this many transactions.
    #[arg(long, default_value_t = 16)]
    batch_size: u64,
    /// Seal a batch when its first transaction is this many milliseconds old.
    #[arg(long, default_value_t = 1000)]
    batch_ms: u64,
    /// Threads for proving (0: one per core).
    #[arg(long, default_value_t = 0)]
    prove_threads: usize,
    /// Print every transaction's outcome.
    #[arg(long)]
    verbose: bool,
    /// Run the older native scenario instead: a week of the city applied by the rules
    /// library alone (no service, no proofs).
    #[arg(long)]
    native: bool,
    /// With --native: residents in the city (at least 45).
    #[arg(long, default_value_t = 50, requires = "native")]
    residents: usize,
    /// With --native: days of transit to simulate.
    #[arg(long, default_value_t = 7, requires = "native")]
    days: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.native {
        return match demo::native::run(cli.residents, cli.days, cli.verbose) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let options = demo::Options {
        data: cli.data,
        params: cli.params,
        listen: cli.listen,
        small: cli.small,
        slots: cli.slots,
        batch_size: cli.batch_size,
        batch_age: Duration::from_millis(cli.batch_ms),
        prove_threads: cli.prove_threads,
        verbose: cli.verbose,
    };
    match demo::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
