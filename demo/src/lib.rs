//! The demo city end to end, on embedded defaults: the `demo` program
//! (`cargo run --release -p demo`).
//!
//! It is a crate of its own, not a part of the service: it starts the sequencer in-process
//! and exercises it with what a city would point at it (the client library, the voters'
//! ballot proofs, the verifier), none of which the service needs or should depend on.
//!
//! 1. The demo genesis ([`city::genesis`]: 50 residents, 3 transit operators, the five
//!    authorities; the fare cap lowered so that a day of rides reaches it) and a data
//!    directory (temporary unless `--data DIR`); commitment parameters are cached in a
//!    directory of their own (`--params`, default `~/.cache/city-rollup`), so a second run
//!    does not make them again.
//! 2. The sequencer service, started in this process on loopback ([`sequencer::spawn`]): HTTP
//!    API, sled, the matcher with the market key, and the prover in the background, which
//!    makes its parameters and keys at once ([`sequencer::Config::warm_up`]) while the clients
//!    send.
//! 3. The city's clients ([`city::run`]) on threads of their own, over HTTP with the client
//!    library, sending every kind of transaction; voters prove their ballots locally; two
//!    steps are refused on purpose and shown with the sequencer's error code.
//! 4. Batches proven in the background (chunks in parallel), with progress bars and an ETA
//!    ([`display`]).
//! 5. The verifier's library, over HTTP, checks the whole chain from genesis (every chunk
//!    proof, every ballot proof, data hashes, a replay of the rules), and the demo prints
//!    from what it replayed: the tally with delegation resolved, the market's trades and
//!    prices, transit revenue per operator, and a report ([`report`]).
//!
//! The run succeeds (exit 0) only if the verifier accepts the chain and the chain it checked
//! ends at the sequencer's current state root.
//!
//! With `--data DIR` holding an earlier run, nothing new is sent: the service resumes on it
//! (proving whatever the last run left unproven) and the chain is verified and reported again.
//!
//! [`native`] is the older scenario applied by the rules library alone (`demo --native`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod city;
pub mod display;
pub mod native;
pub mod report;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use circuits::chunk::Family;
use circuits::genesis::demo_key;
use circuits::hash::to_hex;
use circuits::Transaction;
use verifier::source::{Source, SourceError};
use verifier::{Keys, VerifyError};

use self::display::{human, Display};
use self::report::thousands;
use sequencer::server::StartError;

/// How to run the demo.
#[derive(Clone, Debug)]
pub struct Options {
    /// Keep the sequencer's data here (and reuse it on a later run); `None`: a temporary
    /// directory, removed at the end.
    pub data: Option<PathBuf>,
    /// The parameter cache; `None`: [`default_params_dir`].
    pub params: Option<PathBuf>,
    /// Where the service listens.
    pub listen: SocketAddr,
    /// The small city ([`city::Size::SMALL`]) instead of the README's.
    pub small: bool,
    /// Slots per accounts chunk (the other families fill the same rows).
    pub slots: usize,
    /// Seal a batch at this many transactions.
    pub batch_size: u64,
    /// Seal a batch when its first transaction is this old.
    pub batch_age: Duration,
    /// Threads for proving (0: one per core).
    pub prove_threads: usize,
    /// Print every transaction's outcome.
    pub verbose: bool,
}

impl Default for Options {
    /// The README's demo: the full city, batches of 16 or 1 s, one-slot chunks, proving on
    /// every core, a temporary data directory and the default parameter cache.
    fn default() -> Self {
        Options {
            data: None,
            params: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            small: false,
            slots: 1,
            batch_size: 16,
            batch_age: Duration::from_secs(1),
            prove_threads: 0,
            verbose: false,
        }
    }
}

/// Why the demo did not show a verified city.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The demo cannot run here (a directory, the clock); the message says what to do.
    #[error("{0}")]
    Environment(String),
    /// The service cannot start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// A client's step went wrong.
    #[error("the city's clients stopped: {0}")]
    Script(#[from] city::ScriptError),
    /// A batch could not be proven.
    #[error(
        "proving batch {batch} failed: {error}. The service would retry it; the demo stops here"
    )]
    Proving {
        /// The batch.
        batch: u64,
        /// Why.
        error: String,
    },
    /// The published batches cannot be read.
    #[error("reading the published batches: {0}")]
    Fetch(#[from] SourceError),
    /// The verifier refuses the chain.
    #[error("the verifier REFUSES the chain: {0}")]
    Refused(#[from] VerifyError),
    /// The verified chain is not the sequencer's state.
    #[error("{0}")]
    Mismatch(String),
}

impl DemoError {
    /// The exit status: 1 the chain is not verified (the verifier refuses it, or a step of
    /// the city went wrong); 3 the demo could not run (a directory, the port, proving).
    pub fn exit_code(&self) -> u8 {
        match self {
            DemoError::Script(_) | DemoError::Mismatch(_) => 1,
            DemoError::Refused(e) if e.is_data_fault() => 1,
            DemoError::Fetch(e) if e.is_data_fault() => 1,
            _ => 3,
        }
    }
}

/// The parameter cache when `--params` is not given: `$XDG_CACHE_HOME/city-rollup`, else
/// `~/.cache/city-rollup`, else `city-rollup-params` in the temporary directory.
pub fn default_params_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(cache) = var("XDG_CACHE_HOME") {
        PathBuf::from(cache).join("city-rollup")
    } else if let Some(home) = var("HOME") {
        PathBuf::from(home).join(".cache").join("city-rollup")
    } else {
        std::env::temp_dir().join("city-rollup-params")
    }
}

/// Makes `dir` if needed and checks that this user can write in it.
fn ensure_writable(dir: &Path, what: &str, flag: &str) -> Result<(), DemoError> {
    let fail = |e: std::io::Error| {
        DemoError::Environment(format!(
            "cannot use {} as the {what}: {e}. Give a directory this user can write with {flag}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"ok").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

/// A fresh temporary data directory.
fn temporary_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!(
        "city-rollup-demo-{}-{nanos:08x}",
        std::process::id()
    ))
}

/// What the verifier checked.
struct Verified {
    chain: report::Chain,
    state: circuits::State,
    batches: Vec<verifier::BatchSummary>,
    chunks: usize,
    chunk_proofs: usize,
    chunk_bytes: usize,
    signature_proofs: usize,
    signature_bytes: usize,
    ballots: usize,
    ballot_bytes: usize,
    cold: Duration,
    checking: Duration,
}

/// Fetches every batch over HTTP and checks the chain from genesis with the verifier's
/// library.
fn verify(url: &str, genesis: &circuits::Genesis, params: &Path) -> Result<Verified, DemoError> {
    let fetched = Source::Http(url.to_string()).fetch()?;
    if !fetched.unproven.is_empty() {
        return Err(DemoError::Mismatch(format!(
            "batches {:?} are still unproven after the prover finished",
            fetched.unproven
        )));
    }
    let mut chunks = 0;
    let mut chunk_proofs = 0;
    let mut chunk_bytes = 0;
    let mut signature_proofs = 0;
    let mut signature_bytes = 0;
    let mut ballots = 0;
    let mut ballot_bytes = 0;
    for (_, artifact) in &fetched.artifacts {
        chunks += artifact.chunks.len();
        chunk_proofs += artifact.chunk_proofs.len();
        chunk_bytes += artifact
            .chunk_proofs
            .iter()
            .map(|p| p.proof.len())
            .sum::<usize>();
        signature_proofs += artifact.signatures.len();
        signature_bytes += artifact
            .signatures
            .iter()
            .map(|p| p.proof.len())
            .sum::<usize>();
        for tx in &artifact.transactions {
            if let Transaction::Ballot(b) = tx {
                ballots += 1;
                ballot_bytes += b.proof.len();
            }
        }
    }
    let mut keys = Keys::new(params);
    let started = Instant::now();
    for (_, artifact) in &fetched.artifacts {
        keys.load_for(artifact)?;
    }
    if ballots > 0 {
        keys.load_ballot()?;
    }
    let cold = started.elapsed();
    let started = Instant::now();
    let mut chain = report::Chain::default();
    let checked = keys.verify_chain(genesis.state(), fetched.artifacts, &mut |r| {
        chain.observe(r)
    })?;
    let checking = started.elapsed();
    chain.last_time = checked.batches.last().map_or(genesis.time, |b| b.time);
    Ok(Verified {
        chain,
        state: checked.state,
        batches: checked.batches,
        chunks,
        chunk_proofs,
        chunk_bytes,
        signature_proofs,
        signature_bytes,
        ballots,
        ballot_bytes,
        cold,
        checking,
    })
}

/// Runs the demo (see the module's documentation).
pub fn run(options: &Options) -> Result<(), DemoError> {
    let begun = Instant::now();
    let size = if options.small {
        city::Size::SMALL
    } else {
        city::Size::FULL
    };
    let genesis = city::genesis(&size);
    let now = sequencer::writer::wall_clock();
    if now < genesis.time + 24 * 3600 {
        return Err(DemoError::Environment(format!(
            "this machine's clock says {now} (unix time), before the demo city's genesis ({}, 2026-01-01) and its first day: set the clock right",
            genesis.time
        )));
    }
    let (data_dir, temporary) = match &options.data {
        Some(dir) => (dir.clone(), false),
        None => (temporary_dir(), true),
    };
    ensure_writable(&data_dir, "data directory", "--data DIR")?;
    let params_dir = options.params.clone().unwrap_or_else(default_params_dir);
    ensure_writable(&params_dir, "parameter cache", "--params DIR")?;
    let dirs = Dirs {
        data: data_dir.clone(),
        temporary,
        params: params_dir,
    };
    let result = run_in(options, size, &genesis, now, &dirs, begun);
    if temporary {
        match &result {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(&data_dir);
            }
            Err(_) => eprintln!(
                "(the sequencer's data is left in {} for a look; remove it when done)",
                data_dir.display()
            ),
        }
    }
    result
}

/// Where the demo keeps its data and parameters.
struct Dirs {
    data: PathBuf,
    temporary: bool,
    params: PathBuf,
}

/// The demo once its directories are known.
fn run_in(
    options: &Options,
    size: city::Size,
    genesis: &circuits::Genesis,
    now: u64,
    dirs: &Dirs,
    begun: Instant,
) -> Result<(), DemoError> {
    let (data_dir, temporary, params_dir) = (&dirs.data, dirs.temporary, &dirs.params);

    let display = Arc::new(Display::new(size.planned(), options.verbose));
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(display.log_writer())
        .with_ansi(false)
        .try_init();

    let out = |line: &str| display.out(line);
    out(&format!(
        "Demo city: {} residents, {} meters, 3 transit operators, {} voters, {} delegates{}",
        size.residents,
        size.meters,
        size.voters,
        city::DELEGATES,
        if options.small { " (--small)" } else { "" }
    ));
    out(&format!(
        "  genesis: the demo city's, with the fare cap lowered from $34.00 to {} per 7 days so that one day of commuting reaches it",
        report::dollars(genesis.params.fare_cap)
    ));
    out(&format!(
        "  data: {}{}",
        data_dir.display(),
        if temporary {
            " (temporary: removed at the end; --data DIR keeps it)"
        } else {
            ""
        }
    ));
    let cached: Vec<u32> = {
        let mut ks: Vec<u32> = sequencer::proving::full_chunks(options.slots)
            .iter()
            .map(|c| c.2)
            .collect();
        ks.sort_unstable();
        ks.dedup();
        ks.into_iter()
            .filter(|&k| circuits::params::path(params_dir, k).exists())
            .collect()
    };
    out(&format!(
        "  parameters: {} ({})",
        params_dir.display(),
        if cached.is_empty() {
            "none cached yet: made on this run, then reused".to_string()
        } else {
            format!("cached for k = {cached:?}")
        }
    ));

    let mut config =
        sequencer::Config::new(data_dir.to_path_buf(), genesis.clone(), options.listen);
    config.params_dir = Some(params_dir.to_path_buf());
    config.market_key = Some(demo_key("market"));
    config.batch_size = options.batch_size.max(1);
    config.batch_age = options.batch_age;
    config.slots = options.slots.max(1);
    config.prove_threads = options.prove_threads;
    // The prover makes its parameters and keys while the clients send; not when a completed
    // earlier run is only verified again (its `genesis.json` is written at the end).
    config.warm_up = !data_dir.join("genesis.json").exists();
    let threads = if options.prove_threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        options.prove_threads
    };
    let server = sequencer::spawn(config).map_err(|e| match e {
        StartError::Store { .. } if temporary => e.into(),
        StartError::Store { ref source, .. }
            if matches!(source, sequencer::store::StoreError::OtherGenesis) =>
        {
            DemoError::Environment(format!(
                "{} holds another city (a run {} --small, or not a demo's data): give a fresh --data DIR",
                data_dir.display(),
                if options.small { "without" } else { "with" }
            ))
        }
        other => other.into(),
    })?;
    let url = server.url();
    out(&format!(
        "  sequencer: {url}, in this process (batches of up to {} transactions or {}; chunks of {} slot{}; proving on {threads} thread{})",
        options.batch_size,
        human(options.batch_age),
        options.slots,
        if options.slots == 1 { "" } else { "s" },
        if threads == 1 { "" } else { "s" },
    ));
    let watch = display.watch(
        server.shared().clone(),
        options.slots,
        options.prove_threads,
    );

    let existing = server.shared().core.read().expect("no panics").log_len;
    let outcome = if existing == 0 {
        out("\nThe city's clients, over HTTP:");
        // The voters' machines keep their voter-set caches apart from the sequencer's data.
        let voter_caches = temporary_dir().with_extension("voters");
        let outcome = city::run(&url, genesis, &size, now, &voter_caches, display.as_ref());
        let _ = std::fs::remove_dir_all(&voter_caches);
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                display.clients_done("stopped");
                return Err(e.into());
            }
        };
        let per_ballot = if outcome.ballots > 0 {
            format!(
                ", {:.2}s each",
                outcome.ballot_proving.as_secs_f64() / outcome.ballots as f64
            )
        } else {
            String::new()
        };
        let summary = format!(
            "· {} accepted ({} fills by the matcher), {} refused on purpose, {} ballots proved by the voters{per_ballot}",
            outcome.accepted,
            outcome.fills,
            outcome.refused.len(),
            outcome.ballots
        );
        display.clients_done(&summary);
        out(&format!(
            "  {} transactions accepted in {} from {} client threads ({} fills made by the matcher); {} refused on purpose",
            outcome.accepted,
            human(outcome.elapsed),
            outcome.threads,
            outcome.fills,
            outcome.refused.len()
        ));
        Some(outcome)
    } else {
        display.clients_done("none: reusing an earlier run");
        out(&format!(
            "\n{} already holds {existing} transactions of an earlier run: nothing new is sent; the service proves what is left and the chain is verified again.",
            data_dir.display()
        ));
        None
    };

    let proving_began = Instant::now();
    let watched = watch
        .wait_proven()
        .map_err(|(batch, error)| DemoError::Proving { batch, error })?;
    let proving_wall = proving_began.elapsed();

    out("\nThe verifier, over HTTP from genesis (library of the `verifier` CLI):");
    let verified = verify(&url, genesis, params_dir)?;
    let service_root = server.shared().core.read().expect("no panics").state.root();
    if verified.state.root() != service_root {
        return Err(DemoError::Mismatch(format!(
            "the verified chain ends at root {}, the sequencer is at {}: not every transaction was checked",
            to_hex(&verified.state.root()),
            to_hex(&service_root)
        )));
    }
    let transactions: usize = verified.batches.iter().map(|b| b.transactions).sum();
    out(&format!(
        "  VERIFIED: {} batches, {transactions} transactions, {} chunks in {} chunk proofs, {} signature proofs and {} ballot proofs; data hashes and roots replayed from genesis to {}",
        verified.batches.len(),
        verified.chunks,
        verified.chunk_proofs,
        verified.signature_proofs,
        verified.ballots,
        to_hex(&service_root)
    ));

    out("");
    for line in report::tally(&verified.chain, &verified.state, genesis, size.voters) {
        out(&line);
    }
    out("");
    for line in report::market(&verified.chain, &verified.state, genesis) {
        out(&line);
    }
    out("");
    for line in report::transit(&verified.chain, genesis) {
        out(&line);
    }

    out("\nReport");
    let kinds = verified
        .chain
        .kinds
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let families = Family::ALL
        .iter()
        .map(|f| {
            format!(
                "{} {f}",
                verified.chain.families.get(f).copied().unwrap_or(0)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    out(&format!(
        "  batches         {} ({} chunks: {families} transactions)",
        verified.batches.len(),
        verified.chunks
    ));
    out(&format!("  transactions    {transactions}: {kinds}"));
    if let Some(o) = &outcome {
        out(&format!(
            "  refused         {} on purpose ({}); never in a batch",
            o.refused.len(),
            o.refused
                .iter()
                .map(|r| r.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if o.ballots > 0 {
            out(&format!(
                "  ballots         {} proved on the voters' side, {:.2}s each (here on the cores that also prove the batches)",
                o.ballots,
                o.ballot_proving.as_secs_f64() / o.ballots as f64
            ));
        }
    }
    let setup: Duration = watched.setup.iter().map(|s| s.1).sum();
    let made = watched
        .setup
        .iter()
        .filter(|s| s.0.starts_with("commitment"))
        .count();
    if !watched.setup.is_empty() {
        out(&format!(
            "  prover set-up   {} ({})",
            human(setup),
            match made {
                0 => "parameters read from the cache, keys made".to_string(),
                n => format!("{n} parameter sets made and cached, keys made"),
            }
        ));
    }
    let proven_now = watched.proven - watched.proven_before;
    if proven_now > 0 {
        let proven_tx: usize = verified
            .batches
            .iter()
            .skip(watched.proven_before as usize)
            .map(|b| b.transactions)
            .sum();
        out(&format!(
            "  proving         {proven_now} batches in {} of proving ({:.2}s per transaction, chunks in parallel on {threads} thread{}); the last proven {} after the clients finished",
            human(watched.proving),
            watched.proving.as_secs_f64() / proven_tx.max(1) as f64,
            if threads == 1 { "" } else { "s" },
            human(proving_wall)
        ));
    }
    let chunk_time: Duration = verified.batches.iter().map(|b| b.chunk_proofs).sum();
    let ballot_time: Duration = verified.batches.iter().map(|b| b.ballot_proofs).sum();
    let signature_time: Duration = verified.batches.iter().map(|b| b.signatures_took).sum();
    out(&format!(
        "  verification    {} for the chain (chunk proofs {}, signature proofs {}, ballot proofs {}, the rest replaying the rules), after {} reading parameters and making verifying keys",
        human(verified.checking),
        human(chunk_time),
        human(signature_time),
        human(ballot_time),
        human(verified.cold)
    ));
    let bytes = verified.chunk_bytes + verified.signature_bytes + verified.ballot_bytes;
    out(&format!(
        "  proof bytes     {} ({} per transaction): {} in {} chunk proofs, {} in {} signature proofs, {} in {} ballot proofs",
        thousands(bytes as u64),
        thousands((bytes / transactions.max(1)) as u64),
        thousands(verified.chunk_bytes as u64),
        verified.chunk_proofs,
        thousands(verified.signature_bytes as u64),
        verified.signature_proofs,
        thousands(verified.ballot_bytes as u64),
        verified.ballots
    ));
    out(&format!("  total           {}", human(begun.elapsed())));

    server.stop();
    if !temporary {
        let file = data_dir.join("genesis.json");
        if let Err(e) = std::fs::write(&file, genesis.to_json()) {
            display.note(&format!(
                "warning: {} cannot be written ({e}); `sequencer genesis` cannot print this genesis (its fare cap is the demo's)",
                file.display()
            ));
            return Ok(());
        }
        out(&format!(
            "\nKept in {data}. To serve it again and check it as an auditor would:\n  sequencer serve --data {data} --params {params} --genesis {file} --listen 127.0.0.1:8080\n  verifier --data {params} chain http://127.0.0.1:8080 --genesis {file}\n  verifier --data {params} tally http://127.0.0.1:8080 --genesis {file} --proposal 0   # proven by inclusion\n  verifier --data {params} account http://127.0.0.1:8080 --genesis {file} 12",
            data = data_dir.display(),
            params = params_dir.display(),
            file = file.display()
        ));
    }
    Ok(())
}
