//! Starting and stopping the service: recovery from the data directory, the writer and
//! prover threads, and the HTTP server. [`start`] runs inside a tokio runtime; [`spawn`]
//! brings its own, for callers that are not async (tests, benchmarks, a demo).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use circuits::keys::SecretKey;
use circuits::Genesis;
use tokio::sync::oneshot;

use crate::core::{Core, Rejections};
use crate::metrics::Metrics;
use crate::proving::{ProofBook, ProvingConfig};
use crate::shared::{ballot_keys, Shared, SignerKeys};
use crate::snapshot::{Checkpoint, Snapshots};
use crate::store::{Store, StoreError};
use crate::writer::{Request, WriterConfig};

/// How the service runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The data directory: the sled database (and the parameter cache, without
    /// `params_dir`).
    pub data_dir: PathBuf,
    /// Where the prover's commitment parameters are cached (`None`: the data directory).
    /// Parameters depend only on their size, so one cache serves every data directory.
    pub params_dir: Option<PathBuf>,
    /// The genesis (a data directory remembers its genesis and refuses another).
    pub genesis: Genesis,
    /// Where to listen (port 0: any free port; [`Handle::addr`] says which).
    pub listen: SocketAddr,
    /// The market operator's key, to sign the matcher's fills; without it, orders rest
    /// unmatched.
    pub market_key: Option<SecretKey>,
    /// Seal a batch when it has this many transactions (an order's fills may add a few).
    pub batch_size: u64,
    /// Seal a batch when its first transaction is this old.
    pub batch_age: Duration,
    /// Slots per transfer chunk of the proofs (1: k = 11; 2: k = 12; 5: k = 13; 12: k = 14; 24: k = 15).
    pub slots: usize,
    /// Prove sealed batches in the background.
    pub prove: bool,
    /// Make the prover's parameters and every family's chunk keys at start (progress in
    /// [`ProofBook::setup`]) rather than when the first batch needs them.
    pub warm_up: bool,
    /// Threads for proving (0: one per core).
    pub prove_threads: usize,
    /// Prove on a fleet: enqueue chunk jobs in this PostgreSQL database for `prover worker
    /// --postgres` processes, instead of proving in-process (with `prove`).
    pub postgres: Option<String>,
    /// Attempts a chunk job gets before it is marked failed (with `postgres`).
    pub max_attempts: u32,
    /// Transactions that may wait for the writer; when full, submissions get 503.
    pub queue_capacity: usize,
    /// Largest request body, bytes (a ballot with its proof is about 8 kB of JSON).
    pub body_limit: usize,
    /// Write a checkpoint after this many sealed batches (0: never by count).
    pub snapshot_every: u64,
    /// Write a checkpoint at the first seal this long after the last one (`None`: never by
    /// age).
    pub snapshot_age: Option<Duration>,
}

impl Config {
    /// Defaults for everything but the data directory, the genesis and the address:
    /// batches of 64 or 2 s, chunks of 1 slot, proving on one thread less than the cores
    /// (at least one), no warm-up, a queue of 1,024, bodies up to 64 KiB, parameters cached
    /// in the data directory.
    pub fn new(data_dir: PathBuf, genesis: Genesis, listen: SocketAddr) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Config {
            data_dir,
            params_dir: None,
            genesis,
            listen,
            market_key: None,
            batch_size: 64,
            batch_age: Duration::from_secs(2),
            slots: 1,
            prove: true,
            warm_up: false,
            prove_threads: cores.saturating_sub(1).max(1),
            postgres: None,
            max_attempts: prover::fleet::DEFAULT_MAX_ATTEMPTS,
            queue_capacity: 1024,
            body_limit: 64 * 1024,
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            snapshot_age: Some(DEFAULT_SNAPSHOT_AGE),
        }
    }
}

/// Sealed batches between checkpoints, by default.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 16;
/// The longest time between checkpoints while batches are sealed, by default.
pub const DEFAULT_SNAPSHOT_AGE: Duration = Duration::from_secs(300);
/// Checkpoints kept: the newest few, plus the newest at or before the last proven batch.
pub const SNAPSHOTS_KEPT: usize = 2;

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory cannot be opened or replayed.
    #[error("data directory {dir}: {source}{}", store_hint(source))]
    Store {
        /// The data directory.
        dir: PathBuf,
        /// What failed.
        source: StoreError,
    },
    /// The market key is not the genesis market operator's.
    #[error("the market key is not the market operator's key in the genesis file")]
    WrongMarketKey,
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}{}", bind_hint(source))]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The prover fleet's database cannot be used.
    #[error("the proving pipeline's database: {0}")]
    Pipeline(prover::fleet::FleetError),
    /// A thread or runtime cannot be started.
    #[error("cannot start: {0}")]
    Runtime(std::io::Error),
}

/// What to do about a data directory that cannot be used.
fn store_hint(e: &StoreError) -> &'static str {
    let text = e.to_string().to_ascii_lowercase();
    if text.contains("permission denied") || text.contains("read-only") {
        ". Give a directory this user can write (--data DIR)"
    } else if text.contains("lock") || text.contains("resource temporarily unavailable") {
        ". Another sequencer seems to use it: stop that one, or give another --data DIR"
    } else if text.contains("no space") {
        ". The disk is full: free some space, or give a --data DIR on another disk"
    } else {
        ""
    }
}

/// What to do about an address that cannot be bound.
fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => ". Another program listens there: stop it, or choose another address (--listen 127.0.0.1:PORT; port 0 takes any free port)",
        std::io::ErrorKind::AddrNotAvailable => ". This machine has no such address: use 127.0.0.1 or one of its own addresses (--listen)",
        std::io::ErrorKind::PermissionDenied => ". Ports below 1024 need privileges: choose a port above 1024 (--listen)",
        _ => "",
    }
}

/// What the HTTP handlers hold.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Shared with the writer and prover.
    pub shared: Arc<Shared>,
    /// The writer's queue.
    pub queue: SyncSender<Request>,
    /// The queue's capacity.
    pub queue_capacity: usize,
}

/// A running service.
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
    snapshotter: Option<JoinHandle<()>>,
    prover: Option<JoinHandle<()>>,
}

impl Handle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shared state (for tests and embedding).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops accepting, lets the writer drain its queue, stops the prover after its current
    /// attempt, and waits for all of it.
    pub async fn shutdown(mut self) {
        self.shared.begin_shutdown();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.shared.wake_prover();
        let writer = self.writer.take();
        let snapshotter = self.snapshotter.take();
        let prover = self.prover.take();
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(w) = writer {
                let _ = w.join();
            }
            // The writer has dropped its end: a checkpoint being written is finished.
            if let Some(s) = snapshotter {
                let _ = s.join();
            }
            if let Some(p) = prover {
                let _ = p.join();
            }
        })
        .await;
        tracing::info!("sequencer stopped");
    }
}

/// Opens the data directory, replays the log, starts the writer and the prover, binds the
/// address and serves the API. Must run inside a multi-threaded tokio runtime.
pub async fn start(config: Config) -> Result<Handle, StartError> {
    if let Some(key) = &config.market_key {
        if key.public_key() != config.genesis.authorities.market {
            return Err(StartError::WrongMarketKey);
        }
    }
    if let (Some(url), true) = (&config.postgres, config.prove) {
        crate::pipeline::check(url, config.genesis.chain())
            .await
            .map_err(StartError::Pipeline)?;
    }
    let store_error = |source| StartError::Store {
        dir: config.data_dir.clone(),
        source,
    };
    let recovered = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let store = Store::open(&config.data_dir)?;
            store.check_genesis(&config.genesis)?;
            let proven_through = store.proven_through()?;
            let snapshots = Snapshots::new(&config.data_dir);
            let recovered =
                Core::recover(&config.genesis, &store, Some(&snapshots), proven_through)?;
            Ok::<_, StoreError>((store, recovered, proven_through))
        })
        .await
        .map_err(|e| StartError::Runtime(std::io::Error::other(e.to_string())))?
        .map_err(store_error)?
    };
    let (store, recovered, proven_through) = recovered;
    let metrics = Metrics::default();
    metrics.log_transactions(recovered.core.log_len);
    metrics.set_latest_sealed(recovered.core.sealed.len() as u64);
    metrics.set_latest_proven(proven_through);
    tracing::info!(
        transactions = recovered.core.log_len,
        sealed = recovered.core.sealed.len(),
        proven = proven_through,
        checkpoint = recovered.from_checkpoint.unwrap_or(0),
        root = %circuits::hash::to_hex(&recovered.core.state.root()),
        "recovered from the log"
    );
    if let Some(n) = recovered.sealed_at_recovery {
        tracing::info!(batch = n, "sealed the batch left open by the last run");
    }
    if config.market_key.is_none() {
        tracing::warn!("no --market-key: orders rest unmatched (no fills are made)");
    }
    let shared = Arc::new(Shared {
        genesis_root: config.genesis.state().root(),
        chain: config.genesis.chain(),
        genesis: config.genesis.clone(),
        core: RwLock::new(recovered.core),
        store,
        metrics,
        proofs: Mutex::new(ProofBook {
            proven_through,
            proven_state: recovered
                .proven_state
                .as_ref()
                .map(|(_, state)| Arc::new(state.clone())),
            disabled: !config.prove,
            fleet: (config.prove && config.postgres.is_some())
                .then(crate::pipeline::FleetView::default),
            ..ProofBook::default()
        }),
        rejections: Mutex::new(Rejections::default()),
        signer_keys: SignerKeys::default(),
        ballot_keys: Arc::new(OnceLock::new()),
        params_dir: config
            .params_dir
            .clone()
            .unwrap_or_else(|| config.data_dir.clone()),
        upload_keys: Mutex::new(None),
        shutting_down: AtomicBool::new(false),
        work: (Mutex::new(false), Condvar::new()),
    });
    {
        // Only the cell: a finished service must not stay open because of this thread.
        let cell = shared.ballot_keys.clone();
        std::thread::Builder::new()
            .name("ballot-keys".into())
            .spawn(move || {
                if let Err(e) = ballot_keys(&cell) {
                    tracing::error!(error = %e, "ballot keys cannot be made; ballots will be refused");
                }
            })
            .map_err(StartError::Runtime)?;
    }
    let snapshots = Snapshots::new(&config.data_dir);
    let (checkpoints, snapshotter) = {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let shared = shared.clone();
        let snapshots = snapshots.clone();
        let thread = std::thread::Builder::new()
            .name("snapshots".into())
            .spawn(move || write_checkpoints(&shared, &snapshots, receiver))
            .map_err(StartError::Runtime)?;
        (sender, thread)
    };
    let (queue, receiver) = std::sync::mpsc::sync_channel(config.queue_capacity);
    let writer = {
        let shared = shared.clone();
        let writer_config = WriterConfig {
            batch_size: config.batch_size.max(1),
            batch_age: config.batch_age,
            market_key: config.market_key.clone(),
            checkpoints: Some(checkpoints),
            snapshot_every: config.snapshot_every,
            snapshot_age: config.snapshot_age,
        };
        std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || crate::writer::run(shared, receiver, writer_config))
            .map_err(StartError::Runtime)?
    };
    let prover = if let (Some(url), true) = (&config.postgres, config.prove) {
        let shared = shared.clone();
        let pipeline = crate::pipeline::PipelineConfig {
            url: url.clone(),
            params_dir: shared.params_dir.clone(),
            slots: config.slots,
            max_attempts: config.max_attempts,
        };
        let proven = recovered.proven_state;
        tracing::info!(url = %prover::fleet::redact(url), "proving on a fleet: chunk jobs go to PostgreSQL");
        Some(
            std::thread::Builder::new()
                .name("pipeline".into())
                .spawn(move || {
                    if let Some(proven) = proven_or_rebuilt(&shared, &snapshots, proven) {
                        crate::pipeline::run(shared, pipeline, proven)
                    }
                })
                .map_err(StartError::Runtime)?,
        )
    } else if config.prove {
        let shared = shared.clone();
        let proving = ProvingConfig {
            params_dir: config
                .params_dir
                .clone()
                .unwrap_or_else(|| config.data_dir.clone()),
            slots: config.slots,
            threads: config.prove_threads,
            warm_up: config.warm_up,
            batch_size: config.batch_size,
        };
        let proven = recovered.proven_state;
        Some(
            std::thread::Builder::new()
                .name("prover".into())
                .spawn(move || {
                    if let Some(proven) = proven_or_rebuilt(&shared, &snapshots, proven) {
                        crate::proving::run(shared, proving, proven)
                    }
                })
                .map_err(StartError::Runtime)?,
        )
    } else {
        tracing::warn!("--no-prove: sealed batches are not proven by this process");
        if recovered.proven_state.is_none() {
            // Uploaded artifacts and `GET /v1/proven/…` need the proven state: rebuilt
            // beside the service (503 until then).
            let shared = shared.clone();
            Some(
                std::thread::Builder::new()
                    .name("proven-state".into())
                    .spawn(move || {
                        proven_or_rebuilt(&shared, &snapshots, None);
                    })
                    .map_err(StartError::Runtime)?,
            )
        } else {
            None
        }
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(StartError::Runtime)?;
    let app = crate::api::router(
        AppState {
            shared: shared.clone(),
            queue,
            queue_capacity: config.queue_capacity,
        },
        config.body_limit,
    );
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "the HTTP server failed");
        }
    });
    tracing::info!(%addr, "sequencer listening");
    Ok(Handle {
        addr,
        shared,
        stop: Some(stop),
        server: Some(server),
        writer: Some(writer),
        snapshotter: Some(snapshotter),
        prover,
    })
}

/// The proven state the recovery kept, or (when it loaded a newer checkpoint) the one
/// rebuilt from an older checkpoint or genesis, recorded in the proof book. `None` if it
/// cannot be rebuilt (logged; the service goes on without proving).
fn proven_or_rebuilt(
    shared: &Shared,
    snapshots: &Snapshots,
    kept: Option<(u64, circuits::State)>,
) -> Option<(u64, circuits::State)> {
    if kept.is_some() {
        return kept;
    }
    let through = shared.proofs.lock().expect("no panics").proven_through;
    let started = Instant::now();
    let cancelled = || shared.is_shutting_down();
    match Core::proven_state(
        &shared.genesis,
        &shared.store,
        Some(snapshots),
        through,
        &cancelled,
    ) {
        Ok(None) => None,
        Ok(Some(state)) => {
            tracing::info!(
                batch = through,
                took_ms = started.elapsed().as_millis() as u64,
                "rebuilt the state of the last proven batch"
            );
            shared.proofs.lock().expect("no panics").proven_state = Some(Arc::new(state.clone()));
            Some((through, state))
        }
        Err(e) => {
            tracing::error!(error = %e, "the state of the last proven batch cannot be rebuilt; nothing is proven by this process");
            None
        }
    }
}

/// The checkpoint thread: writes each checkpoint the writer hands over, then prunes old
/// ones, until the writer stops. A failed write is a warning: the log stays the truth.
fn write_checkpoints(shared: &Shared, snapshots: &Snapshots, receiver: Receiver<Checkpoint>) {
    let chain = shared.chain;
    for checkpoint in receiver {
        let started = Instant::now();
        match snapshots.write(chain, &checkpoint) {
            Ok((path, bytes)) => {
                tracing::info!(
                    batch = checkpoint.batch,
                    transactions = checkpoint.log_len,
                    bytes,
                    took_ms = started.elapsed().as_millis() as u64,
                    path = %path.display(),
                    "checkpoint written"
                );
                let proven = shared.proofs.lock().expect("no panics").proven_through;
                if let Err(e) = snapshots.prune(SNAPSHOTS_KEPT, proven) {
                    tracing::warn!(error = %e, "old checkpoints cannot be removed");
                }
            }
            Err(e) => {
                tracing::warn!(batch = checkpoint.batch, error = %e, "the checkpoint cannot be written; the next one is tried at a later seal")
            }
        }
    }
}

/// A service with its own tokio runtime, for callers that are not async.
#[derive(Debug)]
pub struct Running {
    runtime: Option<tokio::runtime::Runtime>,
    handle: Option<Handle>,
    addr: SocketAddr,
}

impl Running {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shared state.
    pub fn shared(&self) -> &Arc<Shared> {
        self.handle.as_ref().expect("running").shared()
    }

    /// Stops the service and waits for it.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let (Some(runtime), Some(handle)) = (self.runtime.take(), self.handle.take()) {
            runtime.block_on(handle.shutdown());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Starts the service on a runtime of its own (two worker threads).
pub fn spawn(config: Config) -> Result<Running, StartError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let handle = runtime.block_on(start(config))?;
    Ok(Running {
        addr: handle.addr(),
        runtime: Some(runtime),
        handle: Some(handle),
    })
}
