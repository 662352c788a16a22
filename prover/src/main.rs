//! `prover`: proves a batch of transactions and writes its artifact for the auditors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use prover::{Options, Prover, Split};

/// The city rollup's batch prover.
///
/// Splits a batch into chunks of a fixed number of slots, builds the chunks' witnesses in
/// order from the state (genesis, then the previous batches), proves the chunks in parallel
/// and writes the batch artifact that `verifier` checks. Commitment parameters are cached
/// under the data directory (made once, with progress shown).
///
/// `prover worker --postgres URL` is one of a fleet of workers proving the chunk jobs of a
/// sequencer started with `--postgres URL` (any number, on any machines); `prover worker
/// --sequencer URL` proves a sequencer's batches one after another over HTTP (the sequencer
/// started with `--no-prove`), alone.
///
/// Exit status: 0 the artifact was written (worker: nothing left to prove with --once); 1 the batch cannot be proved (a refused or
/// unsupported transaction, a previous batch that does not chain); 2 bad usage; 3 an input
/// or output file cannot be read or written.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Proves one batch and writes its artifact.
    Prove(ProveArgs),
    /// Worker mode. With `--postgres URL`: one of a fleet of workers that lease the chunk
    /// jobs of a sequencer started with `--postgres URL`, prove them, verify their proofs and
    /// hand them in (stop with Ctrl-C; the job being proved is finished first). With
    /// `--sequencer URL`: proves the batches of a sequencer started with `--no-prove`, in
    /// order, and uploads their artifacts (which the sequencer verifies before publishing
    /// them); batches proven already are replayed natively. One such worker at a time: for
    /// more machines, use `--postgres`.
    Worker {
        /// The sequencer's URL (HTTP mode).
        #[arg(
            long,
            default_value = "http://127.0.0.1:8080",
            conflicts_with = "postgres"
        )]
        sequencer: String,
        /// The proving pipeline's PostgreSQL URL (fleet mode), e.g.
        /// `postgres://prover:PASSWORD@db.city/rollup`.
        #[arg(long)]
        postgres: Option<String>,
        /// Fleet mode: seconds a lease lasts without renewal (renewed every third of it).
        #[arg(long, default_value_t = 60, requires = "postgres")]
        lease: u64,
        /// Fleet mode: the name this worker leases under (default: host-pid).
        #[arg(long, requires = "postgres")]
        name: Option<String>,
        /// Data directory: the commitment parameter cache.
        #[arg(long, default_value = ".city-data")]
        data: PathBuf,
        /// Slots per chunk (the largest; 1 → k = 11, 2 → 12, 5 → 13, 12 → 14, 24 → 15).
        #[arg(long, default_value_t = 1)]
        slots: usize,
        /// Threads in all (default: one per core).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Stop when no sealed batch (fleet mode: no queued or leased job) is left to prove.
        #[arg(long)]
        once: bool,
        /// No progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// Shows the fleet's job table by batch, or queues its failed jobs again.
    Jobs {
        /// The proving pipeline's PostgreSQL URL.
        #[arg(long)]
        postgres: String,
        /// Queue every failed job again with its attempts reset (after fixing the cause).
        #[arg(long)]
        retry_failed: bool,
    },
    /// Writes a demo genesis and a batch of signed demo transfers (for trying the prover).
    Sample {
        /// Where to write the genesis JSON.
        #[arg(long)]
        genesis: PathBuf,
        /// Where to write the transactions (a JSON array).
        #[arg(long)]
        out: PathBuf,
        /// How many transfers.
        #[arg(long, default_value_t = 10)]
        count: usize,
    },
}

#[derive(clap::Args)]
struct ProveArgs {
    /// The genesis file (JSON).
    #[arg(long)]
    genesis: PathBuf,
    /// The batch's transactions: a JSON array, in order.
    #[arg(long)]
    batch: PathBuf,
    /// The batch time (seconds since the epoch): every transaction is applied at it.
    #[arg(long)]
    time: u64,
    /// Slots per chunk (1 → k = 11, 2 → 12, 5 → 13, 12 → 14, 24 → 15; the default is a full
    /// accounts chunk at k = 14).
    #[arg(long, default_value_t = circuits::chunk::Family::Accounts.slots_for(14))]
    slots: usize,
    /// Data directory: the commitment parameter cache.
    #[arg(long, default_value = ".city-data")]
    data: PathBuf,
    /// Where to write the artifact.
    #[arg(long)]
    out: PathBuf,
    /// Directory of the previous batches' artifacts: the batch starts from the state they
    /// reach (replayed natively) and is numbered after the last. Without it the batch is the
    /// first after genesis.
    #[arg(long)]
    after: Option<PathBuf>,
    /// Threads in all (default: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// How the threads are shared: all chunks at once (each proof gets its share of the
    /// threads; fastest measured on 2 cores) or one chunk after another with all threads.
    #[arg(long, value_enum, default_value_t = SplitArg::Parallel)]
    split: SplitArg,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum SplitArg {
    /// All chunks at once.
    Parallel,
    /// One chunk after another.
    Sequence,
}

/// A failure and its exit code.
struct Failure(u8, String);

fn input(e: impl std::fmt::Display) -> Failure {
    Failure(3, e.to_string())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Prove(args) => prove(args),
        Command::Worker {
            postgres: Some(url),
            data,
            threads,
            once,
            lease,
            name,
            ..
        } => fleet_worker(url, data, threads, once, lease, name),
        Command::Jobs {
            postgres,
            retry_failed,
        } => jobs(&postgres, retry_failed),
        Command::Worker {
            sequencer,
            data,
            slots,
            threads,
            once,
            quiet,
            ..
        } => {
            let config = prover::worker::WorkerConfig {
                url: sequencer,
                data_dir: data,
                slots,
                options: Options {
                    threads,
                    split: Split::ChunksInParallel,
                    progress: !quiet,
                },
                once,
                poll: std::time::Duration::from_secs(1),
            };
            let report = prover::worker::run(&config).map_err(|e| {
                let code = match e {
                    prover::worker::WorkerError::Client(_) => 3,
                    _ => 1,
                };
                Failure(code, e.to_string())
            })?;
            eprintln!(
                "worker: {} batches proven here, {} proven elsewhere and replayed",
                report.proven.len(),
                report.replayed.len()
            );
            Ok(())
        }
        Command::Sample {
            genesis,
            out,
            count,
        } => {
            // Signed with the nonces of the state as it goes: the batch applies in order.
            let mut city = circuits::demo::City::new(10);
            let mut txs = Vec::with_capacity(count);
            for i in 0..count {
                let tx = city.transfer(city.resident(i % 10), city.resident((i + 1) % 10), 1);
                city.apply(&tx, city.genesis.time)
                    .map_err(|e| Failure(1, e.to_string()))?;
                txs.push(tx);
            }
            std::fs::write(&genesis, city.genesis.to_json()).map_err(input)?;
            let json = serde_json::to_string_pretty(&txs).expect("transactions serialize");
            std::fs::write(&out, json).map_err(input)?;
            Ok(())
        }
    }
}

fn fleet_worker(
    url: String,
    data: PathBuf,
    threads: usize,
    once: bool,
    lease: u64,
    name: Option<String>,
) -> Result<(), Failure> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if lease < 3 {
        return Err(Failure(2, "--lease must be at least 3 seconds".into()));
    }
    let mut config = prover::fleet::worker::WorkerConfig::new(url, data);
    config.threads = threads;
    config.once = once;
    config.lease = std::time::Duration::from_secs(lease);
    if let Some(name) = name {
        config.name = name;
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc_on(move || stop.store(true, std::sync::atomic::Ordering::SeqCst));
    }
    let stats =
        prover::fleet::worker::run(&config, &stop).map_err(|e| Failure(3, e.to_string()))?;
    eprintln!(
        "worker {}: {} chunk proofs handed in ({} after their lease expired), {} made twice, {} attempts failed",
        config.name,
        stats.proven + stats.late,
        stats.late,
        stats.duplicates,
        stats.failed
    );
    Ok(())
}

/// Calls `f` on the first SIGINT or SIGTERM (a tokio runtime of its own waits for them).
fn ctrlc_on(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        });
        eprintln!("stopping after the job in hand…");
        f();
    });
}

fn jobs(url: &str, retry_failed: bool) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(input)?;
    runtime.block_on(async {
        let queue = prover::fleet::JobQueue::connect(url, 1)
            .await
            .map_err(input)?;
        if retry_failed {
            let n = queue.retry_failed().await.map_err(input)?;
            println!("{n} failed jobs queued again");
        }
        let progress = queue.progress().await.map_err(input)?;
        if progress.is_empty() {
            println!("no jobs: every sealed batch is published (or none is sealed)");
        }
        for p in progress {
            println!(
                "batch {}: {} chunks: {} queued, {} leased, {} done, {} failed; {} failed attempts{}",
                p.batch,
                p.chunks,
                p.queued,
                p.leased,
                p.done,
                p.failed,
                p.failed_attempts,
                p.error.map(|e| format!("; last error: {e}")).unwrap_or_default()
            );
        }
        Ok(())
    })
}

fn prove(args: ProveArgs) -> Result<(), Failure> {
    let genesis = circuits::Genesis::load(&args.genesis).map_err(input)?;
    let text = std::fs::read_to_string(&args.batch)
        .map_err(|e| input(format!("{}: {e}", args.batch.display())))?;
    let txs: Vec<circuits::Transaction> =
        serde_json::from_str(&text).map_err(|e| input(format!("{}: {e}", args.batch.display())))?;
    let mut state = genesis.state();
    let number = match &args.after {
        Some(dir) => replay(dir, &mut state)? + 1,
        None => verifier::FIRST_BATCH,
    };
    let started = Instant::now();
    let prover = Prover::setup(&args.data, args.slots, !args.quiet)
        .map_err(|e| Failure(3, e.to_string()))?;
    let setup = started.elapsed();
    let options = Options {
        threads: args.threads,
        split: match args.split {
            SplitArg::Parallel => Split::ChunksInParallel,
            SplitArg::Sequence => Split::ChunksInSequence,
        },
        progress: !args.quiet,
    };
    let started = Instant::now();
    let artifact = prover
        .prove_batch(&mut state, number, args.time, &txs, options)
        .map_err(|e| Failure(1, e.to_string()))?;
    let proving = started.elapsed();
    artifact.save(&args.out).map_err(input)?;
    eprintln!(
        "batch {number}: {} transactions in {} chunks of {} slots proved in {:.2} s ({:.2} tx/s; setup {:.2} s) → {}",
        txs.len(),
        artifact.chunks.len(),
        args.slots,
        proving.as_secs_f64(),
        txs.len() as f64 / proving.as_secs_f64(),
        setup.as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

/// Replays the artifacts in `dir` (the prover's own published batches; their proofs are the
/// verifier's business) onto `state`; returns the last batch number.
fn replay(dir: &Path, state: &mut circuits::State) -> Result<u64, Failure> {
    let mut batches = verifier::check::read_dir(dir).map_err(input)?;
    batches.sort_by_key(|(_, a)| a.number);
    let mut last = verifier::FIRST_BATCH - 1;
    for (origin, a) in &batches {
        if a.number != last + 1 || a.root_old != state.root() {
            return Err(Failure(
                1,
                format!("{origin}: batch {} does not follow batch {last}", a.number),
            ));
        }
        for (i, tx) in a.transactions.iter().enumerate() {
            state
                .apply(tx, a.time)
                .map_err(|e| Failure(1, format!("{origin}: transaction {i}: {e}")))?;
        }
        if state.root() != a.root_new {
            return Err(Failure(
                1,
                format!("{origin}: root_new differs from replay"),
            ));
        }
        last = a.number;
    }
    Ok(last)
}
