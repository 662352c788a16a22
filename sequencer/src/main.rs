//! The city operator's sequencer: `serve` runs the service (HTTP API, durable log in sled,
//! batch sealing, background proving); `snapshot` writes a checkpoint of a stopped service's
//! data; `genesis` and `demo-key` write the demo city's genesis file and keys. The demo city
//! end to end is a program of its own (`cargo run --release -p demo`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
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
        /// Data directory: the sled database (and the parameter cache, without --params).
        #[arg(long)]
        data: PathBuf,
        /// Where commitment parameters are cached (default: the data directory). They depend
        /// only on their size, so one cache serves every data directory.
        #[arg(long)]
        params: Option<PathBuf>,
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
        /// Slots per transfer chunk of the proofs (1: k = 11, 2: k = 12, 5: k = 13, 12: k = 14, 24: k = 15).
        #[arg(long, default_value_t = 1)]
        slots: usize,
        /// Threads for proving (0: one per core; default: one less than the cores).
        #[arg(long)]
        prove_threads: Option<usize>,
        /// Do not prove sealed batches in this process: a `prover worker --sequencer URL`
        /// proves them and uploads the artifacts, which this service verifies before
        /// publishing (or restart without it to prove them here).
        #[arg(long, conflicts_with = "postgres")]
        no_prove: bool,
        /// Prove on a fleet of machines: each sealed batch's chunk jobs go into this
        /// PostgreSQL database (its job table is made if missing), any number of `prover worker
        /// --postgres URL` prove them, and this service verifies and publishes the batches in
        /// order. The database holds only the pipeline: the log stays the truth, and a fresh
        /// database is filled again from it.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// With --postgres: attempts a chunk job gets before it is marked failed.
        #[arg(long, default_value_t = prover::fleet::DEFAULT_MAX_ATTEMPTS, requires = "postgres")]
        max_attempts: u32,
        /// Make the prover's parameters and every family's chunk keys at start, rather than
        /// when the first batch needs them.
        #[arg(long)]
        warm_up: bool,
        /// Transactions that may wait for the writer; beyond, submissions get 503.
        #[arg(long, default_value_t = 1024)]
        queue: usize,
        /// Write a checkpoint of the state every this many sealed batches (in the
        /// background; a restart loads the newest good one and replays only the log after
        /// it). 0: not by count.
        #[arg(long, default_value_t = sequencer::server::DEFAULT_SNAPSHOT_EVERY)]
        snapshot_every: u64,
        /// Also write one at the first seal this many seconds after the last (0: not by
        /// time).
        #[arg(long, default_value_t = sequencer::server::DEFAULT_SNAPSHOT_AGE.as_secs())]
        snapshot_secs: u64,
    },
    /// Writes a checkpoint of a stopped sequencer's data directory now (its last sealed
    /// batch; a batch left open by a crash is sealed first, as `serve` would), so that the
    /// next start replays nothing. `serve` writes them by itself (`--snapshot-every`).
    Snapshot {
        /// The data directory.
        #[arg(long)]
        data: PathBuf,
        /// Its genesis file.
        #[arg(long)]
        genesis: PathBuf,
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

fn main() -> ExitCode {
    let command = Cli::parse().command;
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve {
            data,
            params,
            genesis,
            listen,
            market_key,
            batch_size,
            batch_ms,
            slots,
            prove_threads,
            no_prove,
            postgres,
            max_attempts,
            warm_up,
            queue,
            snapshot_every,
            snapshot_secs,
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
            config.postgres = postgres;
            config.max_attempts = max_attempts.max(1);
            config.params_dir = params;
            config.warm_up = warm_up;
            if let Some(threads) = prove_threads {
                config.prove_threads = threads;
            }
            config.queue_capacity = queue.max(1);
            config.snapshot_every = snapshot_every;
            config.snapshot_age = (snapshot_secs > 0).then(|| Duration::from_secs(snapshot_secs));
            serve(config)
        }
        Command::Snapshot { data, genesis } => {
            let genesis = circuits::Genesis::load(&genesis)?;
            let started = std::time::Instant::now();
            let (path, checkpoint, bytes) = sequencer::snapshot::take(&data, &genesis)?;
            println!(
                "checkpoint of batch {} ({} transactions) written to {} ({} bytes) in {:.1} s",
                checkpoint.batch,
                checkpoint.log_len,
                path.display(),
                bytes,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
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
