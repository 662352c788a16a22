//! The writer: one thread owns every change to the state and the log, so transactions are
//! ordered first come, first served.
//!
//! Requests arrive on a bounded queue (the HTTP handler answers 503 when it is full, so
//! memory stays bounded). The writer takes what is queued (up to [`MAX_GROUP`]) as a group
//! and, holding the state's write lock:
//!
//! 1. checks each transaction with the rules at the open batch's time (`State::plan`, which
//!    only reads) and applies it in memory, keeping what undoes it; a refused transaction
//!    changes nothing. After a `place_order`, the matcher's fills follow at once, signed
//!    with the market key, in the same group;
//! 2. appends the group's accepted transactions to the log in one atomic write and flushes
//!    (fsync);
//! 3. only then answers: if the write failed, everything of the group is undone in memory
//!    and each request gets a 503, so nothing unacknowledged stays applied.
//!
//! Readers never see the state between 1 and 3: they need the read lock. A batch is sealed
//! (a durable record with its log range and roots) when it reaches the batch size or its
//! age, and the prover is woken.

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use circuits::constants::MARKET;
use circuits::hash::to_hex;
use circuits::keys::SecretKey;
use circuits::rules::VerifiedSignature;
use circuits::{matcher, Event, Transaction, TxError};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::core::{apply_undo, key_of, undo_of, Core, OpenBatch, Undo};
use crate::shared::{Shared, SignerKeys};
use crate::snapshot::Checkpoint;
use crate::store::{BatchRecord, LogEntry};

/// Most requests written in one group (one fsync).
pub const MAX_GROUP: usize = 64;

/// A transaction for the writer and where to send its answer.
pub struct Request {
    /// The transaction (a ballot's proof is already verified).
    pub tx: Transaction,
    /// Its id, computed off the writer.
    pub id: circuits::Fp,
    /// Its signature verified off the writer against the signer's key, when the state had
    /// one ([`circuits::rules::VerifiedSignature`]); the writer checks everything else, and
    /// the signature too when this is `None`.
    pub verified: Option<VerifiedSignature>,
    /// The answer.
    pub reply: oneshot::Sender<Result<Receipt, WriteError>>,
}

impl Request {
    /// A request for `tx`, with the work that does not need the writer done here: its id,
    /// and its signature against the signer's key if `keys` knows it. Run it on any thread
    /// but the writer's.
    pub fn prepare(
        tx: Transaction,
        keys: &SignerKeys,
        chain: circuits::Fp,
        reply: oneshot::Sender<Result<Receipt, WriteError>>,
    ) -> Request {
        let id = tx.id();
        let verified = keys
            .get(tx.signer())
            .and_then(|key| VerifiedSignature::check(&tx, key, chain).ok());
        Request {
            tx,
            id,
            verified,
            reply,
        }
    }
}

/// Why the writer did not apply a transaction; the API turns it into an HTTP error
/// ([`crate::error::ApiError`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The rules refuse it.
    #[error("{0}")]
    Rejected(#[from] TxError),
    /// The same transaction is already in the log.
    #[error("transaction {hash} was already accepted at position {position}")]
    Duplicate {
        /// Its hash.
        hash: String,
        /// Its position in the log.
        position: u64,
    },
    /// It could not be made durable; nothing was applied.
    #[error("storage failure, the transaction was not applied: {0}")]
    Storage(String),
}

/// One applied transaction in an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Its id (hex): `GET /v1/transactions/{hash}`.
    pub hash: String,
    /// Its log position.
    pub position: u64,
    /// What it did.
    pub event: Event,
}

/// The answer to an accepted transaction: it is durable and applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Its id (hex).
    pub hash: String,
    /// Its log position.
    pub position: u64,
    /// The batch it is in.
    pub batch: u64,
    /// That batch's time.
    pub time: u64,
    /// What it did.
    pub event: Event,
    /// For an order: the fills the matcher made against it, applied right after it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fills: Vec<Applied>,
}

/// The wall clock, unix seconds.
pub fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Opens a batch if none is open (its time follows the wall clock until its first
/// transaction is staged).
fn ensure_open(core: &mut Core) {
    if core.open.is_none() {
        core.open = Some(OpenBatch {
            number: core.next_batch(),
            time: wall_clock().max(core.last_time()),
            first: core.log_len,
            count: 0,
            root_old: core.state.root(),
            opened: Instant::now(),
        });
    }
}

/// A refusal that only says the open batch's time is too early for the transaction (a tap
/// made after the batch opened, a vote at a window's start), while the wall clock is late
/// enough: sealing the batch and opening one at the wall clock lets it in.
fn wants_later_time(e: &TxError, wall: u64) -> bool {
    match *e {
        TxError::TapInFuture { time, now } => now < time && time <= wall,
        TxError::OutsideWindow { start, now, .. } => now < start && start <= wall,
        _ => false,
    }
}

/// Accepted in this group, not yet durable.
#[derive(Default)]
struct Staged {
    entries: Vec<(u64, LogEntry)>,
    /// The entries' transaction ids (computed once: a Poseidon hash each).
    ids: Vec<circuits::Fp>,
    /// Their keys, to find duplicates within the group.
    keys: std::collections::HashMap<crate::core::Key, u64>,
    undos: Vec<Undo>,
    events: Vec<Event>,
    /// Where to answer, the answer, and the kind (for the metrics of a failed write).
    answers: Vec<(Reply, Receipt, &'static str)>,
}

/// Where a request's answer goes.
type Reply = oneshot::Sender<Result<Receipt, WriteError>>;

/// The writer's settings.
pub struct WriterConfig {
    /// Seal when a batch has this many transactions.
    pub batch_size: u64,
    /// Seal when a batch's first transaction is this old.
    pub batch_age: Duration,
    /// The market key, to sign the matcher's fills.
    pub market_key: Option<SecretKey>,
    /// Where checkpoints go to be written (`None`: none are taken).
    pub checkpoints: Option<SyncSender<Checkpoint>>,
    /// Take a checkpoint after this many sealed batches (0: not by count).
    pub snapshot_every: u64,
    /// Take a checkpoint at the first seal this long after the last one.
    pub snapshot_age: Option<Duration>,
}

/// The writer thread's loop: until the queue closes and is drained.
pub fn run(shared: Arc<Shared>, queue: Receiver<Request>, config: WriterConfig) {
    let writer = Writer {
        shared,
        config,
        last_checkpoint: Cell::new((0, Instant::now())),
    };
    loop {
        let timeout = writer.until_seal();
        let first = match queue.recv_timeout(timeout) {
            Ok(request) => request,
            Err(RecvTimeoutError::Timeout) => {
                writer.seal_if_due();
                if writer.shared.is_shutting_down() {
                    break;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        writer
            .shared
            .metrics
            .queue_depth
            .fetch_sub(group.len(), Ordering::Relaxed);
        writer.process(group);
        writer.seal_if_due();
    }
    tracing::info!("writer stopped: the queue is closed and drained");
}

struct Writer {
    shared: Arc<Shared>,
    config: WriterConfig,
    /// Sealed batches and time at the last checkpoint handed over.
    last_checkpoint: Cell<(u64, Instant)>,
}

impl Writer {
    /// How long until the open batch is due (or a while, if none is open).
    fn until_seal(&self) -> Duration {
        let core = self.shared.core.read().expect("no panics");
        match &core.open {
            Some(open) => (open.opened + self.config.batch_age)
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
            None => Duration::from_millis(500),
        }
    }

    fn seal_if_due(&self) {
        let mut core = self.shared.core.write().expect("no panics");
        let due = core.open.as_ref().is_some_and(|o| {
            o.count > 0
                && (o.count >= self.config.batch_size
                    || o.opened.elapsed() >= self.config.batch_age)
        });
        if due {
            self.seal(&mut core);
        }
    }

    /// Seals the open batch durably; on a storage error it stays open and sealing is tried
    /// again at the next tick.
    fn seal(&self, core: &mut Core) -> bool {
        let Some(open) = core.open.clone() else {
            return true;
        };
        let record = BatchRecord {
            number: open.number,
            time: open.time,
            first: open.first,
            end: open.first + open.count,
            root_old: open.root_old,
            root_new: core.state.root(),
        };
        match self.shared.store.seal(&record) {
            Ok(()) => {
                tracing::info!(
                    batch = record.number,
                    time = record.time,
                    transactions = record.transactions(),
                    root = %to_hex(&record.root_new),
                    "batch sealed"
                );
                core.sealed.push(record);
                core.open = None;
                self.shared.metrics.sealed(open.number);
                self.shared.wake_prover();
                self.checkpoint_if_due(core);
                true
            }
            Err(e) => {
                tracing::error!(batch = open.number, error = %e, "sealing failed; the batch stays open");
                false
            }
        }
    }

    /// Hands a checkpoint of the just-sealed state to the checkpoint thread when enough
    /// batches or time have passed since the last one. The copy is made here, under the
    /// write lock; encoding and writing happen on that thread. If it is still busy with the
    /// previous one, this seal is skipped and the next is tried.
    fn checkpoint_if_due(&self, core: &Core) {
        let Some(sender) = &self.config.checkpoints else {
            return;
        };
        let (at, when) = self.last_checkpoint.get();
        let sealed = core.sealed.len() as u64;
        let by_count = self.config.snapshot_every > 0 && sealed - at >= self.config.snapshot_every;
        let by_age = self
            .config
            .snapshot_age
            .is_some_and(|age| when.elapsed() >= age);
        if !(by_count || by_age) {
            return;
        }
        let Some(checkpoint) = core.checkpoint() else {
            return;
        };
        match sender.try_send(checkpoint) {
            Ok(()) => self.last_checkpoint.set((sealed, Instant::now())),
            Err(TrySendError::Full(_)) => {
                tracing::debug!(
                    batch = sealed,
                    "the previous checkpoint is still being written"
                )
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn process(&self, group: Vec<Request>) {
        let mut guard = self.shared.core.write().expect("no panics");
        let core = &mut *guard;
        let mut staged = Staged::default();
        for request in group {
            let id = request.id;
            let at = match self.ingest(
                core,
                &mut staged,
                &request.tx,
                id,
                request.verified.as_ref(),
            ) {
                Ok(at) => at,
                Err(e) => {
                    let _ = request.reply.send(Err(e));
                    continue;
                }
            };
            // Sent in `commit_staged`, once durable.
            let receipt = receipt(&staged, at);
            staged
                .answers
                .push((request.reply, receipt, request.tx.kind_name()));
        }
        self.commit_staged(core, staged);
    }

    /// Checks and applies `tx` in memory (with its fills), staging it for the durable write.
    /// Returns where the transaction is in `staged` (its fills follow it).
    fn ingest(
        &self,
        core: &mut Core,
        staged: &mut Staged,
        tx: &Transaction,
        id: circuits::Fp,
        verified: Option<&VerifiedSignature>,
    ) -> Result<usize, WriteError> {
        self.check_duplicate(core, staged, id)?;
        let wall = wall_clock();
        let full = core
            .open
            .as_ref()
            .is_some_and(|o| o.count + staged.entries.len() as u64 >= self.config.batch_size);
        if full {
            self.cut(core, staged)?;
        }
        ensure_open(core);
        let mut time = self.open_time(core, staged);
        let plan = match core.state.plan_verified(tx, time, verified) {
            Ok(plan) => plan,
            Err(e) if wants_later_time(&e, wall) => {
                // Seal what is open and try again in a batch opened now.
                self.cut(core, staged)?;
                ensure_open(core);
                time = self.open_time(core, staged);
                core.state.plan_verified(tx, time, verified)?
            }
            Err(e) => return Err(e.into()),
        };
        if verified.is_none() {
            self.shared.signer_keys.learn(&core.state, tx);
        }
        let batch = core.open.as_ref().expect("opened above").number;
        let undo = undo_of(&core.state, &plan);
        let event = core.state.commit(plan);
        let taker = match &event {
            Event::OrderPlaced { order, .. } => Some(*order),
            _ => None,
        };
        let at = staged.entries.len();
        let entry = LogEntry {
            batch,
            time,
            tx: tx.clone(),
        };
        self.stage(core, staged, entry, id, undo, event);
        if let (Some(taker), Some(key)) = (taker, &self.config.market_key) {
            self.match_order(core, staged, batch, time, taker, key);
        }
        Ok(at)
    }

    /// Ends the open batch inside a group: makes what is staged durable (answering its
    /// requests), then seals the batch.
    fn cut(&self, core: &mut Core, staged: &mut Staged) -> Result<(), WriteError> {
        let pending = std::mem::take(staged);
        self.commit_staged(core, pending);
        if core.open.as_ref().is_some_and(|o| o.count > 0) && !self.seal(core) {
            return Err(WriteError::Storage(
                "the open batch cannot be sealed".into(),
            ));
        }
        Ok(())
    }

    /// The open batch's time; while it holds nothing durable or staged yet, it follows the
    /// wall clock (a batch's time is fixed by its first transaction).
    fn open_time(&self, core: &mut Core, staged: &Staged) -> u64 {
        let last_sealed = core.sealed.last().map_or(core.genesis_time, |b| b.time);
        let open = core.open.as_mut().expect("an open batch");
        if open.count == 0 && staged.entries.is_empty() {
            open.time = wall_clock().max(last_sealed).max(core.genesis_time);
        }
        open.time
    }

    /// Adds an applied transaction to what the group writes.
    fn stage(
        &self,
        core: &Core,
        staged: &mut Staged,
        entry: LogEntry,
        id: circuits::Fp,
        undo: Undo,
        event: Event,
    ) {
        let position = core.log_len + staged.entries.len() as u64;
        staged.ids.push(id);
        staged.keys.insert(key_of(&id), position);
        staged.entries.push((position, entry));
        staged.undos.push(undo);
        staged.events.push(event);
    }

    /// The matcher: fills of `taker` against the book, best price then oldest first, each
    /// signed with the market key and applied at once.
    fn match_order(
        &self,
        core: &mut Core,
        staged: &mut Staged,
        batch: u64,
        time: u64,
        taker: u64,
        key: &SecretKey,
    ) {
        while let Some((maker, quantity)) = matcher::next_fill(&core.state, taker, time) {
            let nonce = core.state.account(MARKET).map_or(0, |a| a.nonce);
            let fill =
                matcher::fill_tx(maker, taker, quantity, nonce).signed(key, core.state.chain());
            match core.state.plan(&fill, time) {
                Ok(plan) => {
                    let undo = undo_of(&core.state, &plan);
                    let event = core.state.commit(plan);
                    let id = fill.id();
                    let entry = LogEntry {
                        batch,
                        time,
                        tx: fill,
                    };
                    self.stage(core, staged, entry, id, undo, event);
                }
                Err(e) => {
                    tracing::error!(maker, taker, quantity, error = %e, "the rules refuse the matcher's fill; the orders rest");
                    break;
                }
            }
        }
    }

    /// Refuses a transaction already in the log. A ballot's id includes its sequence number,
    /// so a voter who switches back to an earlier vote sends a new ballot with a new id; a
    /// copy of a logged ballot is a duplicate like any other transaction.
    fn check_duplicate(
        &self,
        core: &Core,
        staged: &Staged,
        id: circuits::Fp,
    ) -> Result<(), WriteError> {
        let key = key_of(&id);
        let position = core
            .index
            .get(&key)
            .or_else(|| staged.keys.get(&key))
            .copied();
        let Some(position) = position else {
            return Ok(());
        };
        Err(WriteError::Duplicate {
            hash: to_hex(&id),
            position,
        })
    }

    /// Makes the staged transactions durable, then answers; if the write fails, undoes them
    /// in memory and answers 503.
    fn commit_staged(&self, core: &mut Core, staged: Staged) {
        let Staged {
            entries,
            ids,
            undos,
            events,
            answers,
            ..
        } = staged;
        if entries.is_empty() {
            self.drop_empty_open(core);
            return;
        }
        match self.shared.store.append(&entries) {
            Ok(()) => {
                for (((position, entry), event), id) in entries.iter().zip(&events).zip(&ids) {
                    core.log_len += 1;
                    core.note(*position, *id, event);
                    self.shared.metrics.accepted(entry.tx.kind_name());
                }
                if let Some(open) = core.open.as_mut() {
                    open.count = core.log_len - open.first;
                }
                self.shared.metrics.log_transactions(core.log_len);
                for (reply, receipt, _) in answers {
                    let _ = reply.send(Ok(receipt));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, transactions = entries.len(), "the log write failed; the group is undone and refused");
                let root_before = {
                    apply_undo(&mut core.state, undos);
                    core.state.root()
                };
                if let Err(forget) = self.shared.store.forget(entries.iter().map(|(p, _)| *p)) {
                    tracing::error!(error = %forget, "the failed entries could not be removed from the store's cache; positions will be rewritten");
                }
                self.check_undone(core, root_before);
                self.drop_empty_open(core);
                for (reply, _, _) in answers {
                    let _ = reply.send(Err(WriteError::Storage(e.to_string())));
                }
            }
        }
    }

    /// After an undo, the state must be what the durable log replays to; if the open batch's
    /// starting root or the last sealed root disagrees, rebuild from the log.
    fn check_undone(&self, core: &mut Core, root: circuits::Fp) {
        let expected = match (&core.open, core.sealed.last()) {
            (Some(open), _) if open.count == 0 => open.root_old,
            (None, Some(last)) => last.root_new,
            _ => root, // An open batch with durable entries: its end root is not recorded.
        };
        if root != expected {
            tracing::error!("the undo did not restore the state; rebuilding it from the log");
            let snapshots = crate::snapshot::Snapshots::new(self.shared.store.dir());
            match Core::recover(
                &self.shared.genesis,
                &self.shared.store,
                Some(&snapshots),
                0,
            ) {
                Ok(recovered) => *core = recovered.core,
                Err(e) => tracing::error!(error = %e, "rebuilding from the log failed"),
            }
        }
    }

    /// Forgets an open batch that holds nothing durable (its time was never fixed).
    fn drop_empty_open(&self, core: &mut Core) {
        if core
            .open
            .as_ref()
            .is_some_and(|o| o.count == 0 && o.first == core.log_len)
        {
            core.open = None;
        }
    }
}

/// The receipt of the staged transaction at `at`, with the fills staged right after it.
fn receipt(staged: &Staged, at: usize) -> Receipt {
    let (position, entry) = &staged.entries[at];
    let fills = (at + 1..staged.entries.len())
        .map(|i| Applied {
            hash: to_hex(&staged.ids[i]),
            position: staged.entries[i].0,
            event: staged.events[i].clone(),
        })
        .collect();
    Receipt {
        hash: to_hex(&staged.ids[at]),
        position: *position,
        batch: entry.batch,
        time: entry.time,
        event: staged.events[at].clone(),
        fills,
    }
}
