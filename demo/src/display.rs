//! What the demo shows while it runs: the clients' progress, the prover's set-up (parameters
//! and keys, with an estimate of what is left), and the batches being proven with an ETA.
//! Bars are drawn on standard error when it is a terminal (indicatif); otherwise the same
//! milestones are printed as lines. The story and the report go to standard output.
//!
//! The proving ETA weighs each transaction by the rows of its family's chunk circuit (a
//! fill or a ballot costs about twice a transfer) and calibrates the seconds per unit on the
//! batches proven so far; before the first one it uses the prover's own estimate.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use circuits::chunk::Family;
use circuits::Transaction;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::city::{Observer, Refusal};
use sequencer::shared::Shared;
use sequencer::writer::Receipt;

/// `1m05s`, `12.3s`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// The demo's display.
pub struct Display {
    multi: MultiProgress,
    clients: ProgressBar,
    verbose: bool,
    refused: AtomicU64,
    accepted: AtomicU64,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("a valid template")
        .progress_chars("=> ")
}

impl Display {
    /// A display for clients that will send `planned` transactions.
    pub fn new(planned: u64, verbose: bool) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
        let clients = multi.add(ProgressBar::new(planned));
        clients.set_style(style(
            "{prefix:>8} [{bar:30}] {pos}/{len} sent {msg} [{elapsed}]",
        ));
        clients.set_prefix("clients");
        Display {
            multi,
            clients,
            verbose,
            refused: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        }
    }

    /// Whether bars are drawn (standard error is a terminal).
    pub fn live(&self) -> bool {
        !self.multi.is_hidden()
    }

    /// A line on standard output (the story, the report), bars set aside while it prints.
    pub fn out(&self, line: &str) {
        self.multi.suspend(|| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        });
    }

    /// A progress note on standard error: above the bars, or a plain line without them.
    pub fn note(&self, line: &str) {
        if self.live() {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// Log lines (tracing) printed without tearing the bars.
    pub fn log_writer(&self) -> LogWriter {
        LogWriter(self.multi.clone())
    }

    /// The clients are done.
    pub fn clients_done(&self, summary: &str) {
        self.clients.finish_with_message(summary.to_string());
        if !self.live() {
            eprintln!("clients: {summary}");
        }
    }

    /// Starts watching the service's prover: set-up steps and batches, until
    /// [`Watch::wait_proven`].
    pub fn watch(self: &Arc<Self>, shared: Arc<Shared>, slots: usize, threads: usize) -> Watch {
        let setup = self.multi.add(ProgressBar::new_spinner());
        setup.set_style(style("{prefix:>8} {spinner} {msg} [{elapsed}]"));
        setup.set_prefix("prover");
        setup.set_message("starting");
        let proving = self.multi.add(ProgressBar::new(0));
        proving.set_style(style(
            "{prefix:>8} [{bar:30}] {pos}/{len} tx proven {msg} [{elapsed}]",
        ));
        proving.set_prefix("batches");
        let state = Arc::new(Mutex::new(Watched::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let display = self.clone();
            let (state, stop) = (state.clone(), stop.clone());
            let cores = if threads == 0 {
                std::thread::available_parallelism().map_or(1, |n| n.get())
            } else {
                threads
            };
            let mut tracker = Tracker {
                display,
                shared,
                setup,
                proving,
                weights: family_weights(slots),
                unit: Duration::from_secs_f64(1.4 * 2.0 / cores.max(1) as f64),
                batch_weights: BTreeMap::new(),
                notes_done: 0,
                setup_announced: false,
                batch_started: None,
                last_tick: Instant::now(),
            };
            std::thread::Builder::new()
                .name("demo-watch".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        tracker.tick(&state);
                        std::thread::sleep(Duration::from_millis(200));
                    }
                    tracker.tick(&state);
                    tracker.finish(&state);
                })
                .expect("a thread")
        };
        Watch {
            state,
            stop,
            handle: Some(handle),
        }
    }
}

impl Observer for Display {
    fn accepted(&self, who: &str, tx: &Transaction, receipt: &Receipt) {
        self.clients.inc(1);
        let accepted = self
            .accepted
            .fetch_add(1 + receipt.fills.len() as u64, Ordering::Relaxed)
            + 1
            + receipt.fills.len() as u64;
        self.clients.set_message(format!(
            "· {accepted} accepted · {} refused on purpose",
            self.refused.load(Ordering::Relaxed)
        ));
        if self.verbose {
            self.out(&format!(
                "    {who}: {} -> batch {} #{}: {:?}",
                tx.kind_name(),
                receipt.batch,
                receipt.position,
                receipt.event
            ));
            for fill in &receipt.fills {
                self.out(&format!(
                    "    matcher: fill -> #{}: {:?}",
                    fill.position, fill.event
                ));
            }
        }
    }

    fn refused(&self, refusal: &Refusal) {
        self.clients.inc(1);
        self.refused.fetch_add(1, Ordering::Relaxed);
        self.out(&format!(
            "  refused on purpose: {} -> HTTP {} {}: {}",
            refusal.what, refusal.status, refusal.code, refusal.message
        ));
    }

    fn say(&self, line: &str) {
        self.out(line);
    }
}

/// A tracing writer that prints each log line above the bars.
#[derive(Clone)]
pub struct LogWriter(MultiProgress);

/// One log line being written.
pub struct LogLine(MultiProgress, Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.1.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.1.is_empty() {
            let text = String::from_utf8_lossy(&self.1);
            let text = text.trim_end();
            self.0.suspend(|| eprintln!("{text}"));
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine(self.0.clone(), Vec::new())
    }
}

/// The relative cost of one transaction of each family: its full chunk's `2^k` rows per
/// slot, in units of a one-slot chunk at k = 12.
fn family_weights(slots: usize) -> BTreeMap<Family, f64> {
    sequencer::proving::full_chunks(slots)
        .into_iter()
        .map(|(family, slots, k)| (family, (1u64 << k) as f64 / slots as f64 / 4096.0))
        .collect()
}

/// What the watcher saw, for the report.
#[derive(Clone, Debug, Default)]
pub struct Watched {
    /// The set-up steps and how long each took.
    pub setup: Vec<(String, Duration)>,
    /// Why the set-up failed, if it did.
    pub setup_error: Option<String>,
    /// Time the prover was proving (a batch sealed and not proven yet, set-up done).
    pub proving: Duration,
    /// Batches proven (all of them up to this one).
    pub proven: u64,
    /// Batches already proven when the watch began (an earlier run's).
    pub proven_before: u64,
    /// A batch whose proving failed, and why.
    pub failure: Option<(u64, String)>,
    /// Every sealed batch is proven and nothing is open.
    pub idle: bool,
    /// Batches sealed.
    pub sealed: u64,
    /// Ticks so far (a wait needs a tick that started after it).
    ticks: u64,
}

/// The watcher thread's state.
struct Tracker {
    display: Arc<Display>,
    shared: Arc<Shared>,
    setup: ProgressBar,
    proving: ProgressBar,
    weights: BTreeMap<Family, f64>,
    /// Seconds per weight unit before any batch is proven.
    unit: Duration,
    batch_weights: BTreeMap<u64, f64>,
    notes_done: usize,
    setup_announced: bool,
    batch_started: Option<(u64, Instant)>,
    last_tick: Instant,
}

impl Tracker {
    fn weight_of(&mut self, number: u64, first: u64, end: u64) -> f64 {
        if let Some(w) = self.batch_weights.get(&number) {
            return *w;
        }
        let weight = match self.shared.store.transactions(first, end) {
            Ok(txs) => txs
                .iter()
                .map(|tx| self.weights.get(&Family::of(tx)).copied().unwrap_or(1.0))
                .sum(),
            Err(_) => (end - first) as f64 * 1.3,
        };
        self.batch_weights.insert(number, weight);
        weight
    }

    fn tick(&mut self, watched: &Mutex<Watched>) {
        let dt = self.last_tick.elapsed();
        self.last_tick = Instant::now();
        let (proven_through, setup, failure) = {
            let book = self.shared.proofs.lock().expect("no panics");
            let failure = book
                .attempts
                .iter()
                .find(|(_, a)| a.failures > 0)
                .map(|(n, a)| (*n, a.last_error.clone().unwrap_or_default()));
            (book.proven_through, book.setup.clone(), failure)
        };
        let (sealed, log_len, open) = {
            let core = self.shared.core.read().expect("no panics");
            let sealed: Vec<(u64, u64, u64)> = core
                .sealed
                .iter()
                .map(|b| (b.number, b.first, b.end))
                .collect();
            (sealed, core.log_len, core.open.is_some())
        };
        // The set-up.
        for step in setup.steps.iter().skip(self.notes_done) {
            let Some(took) = step.took else { break };
            self.display.note(&format!(
                "  prover set-up: {} in {}",
                step.what,
                human(took)
            ));
            self.notes_done += 1;
        }
        let setup_done = setup.finished || setup.steps.is_empty();
        if !setup_done {
            let what = setup.current().map_or("starting", |s| s.what.as_str());
            let first_run = setup.steps.iter().any(|s| s.what.starts_with("commitment"));
            self.setup.set_message(format!(
                "making {what} · about {} left{}",
                human(setup.remaining()),
                if first_run { " (first run)" } else { "" }
            ));
            self.setup.tick();
        } else if !self.setup_announced {
            self.setup_announced = true;
            let total: Duration = setup.steps.iter().filter_map(|s| s.took).sum();
            let line = match &setup.error {
                Some(e) => format!("set-up failed ({e}); retried with the first batch"),
                None if setup.steps.is_empty() => {
                    "no set-up at start: keys are made when a batch needs them".to_string()
                }
                None => format!(
                    "ready: parameters and keys of the {} chunk circuits in {}",
                    Family::ALL.len(),
                    human(total)
                ),
            };
            self.setup.finish_with_message(line.clone());
            if !self.display.live() {
                eprintln!("prover: {line}");
            }
        }
        // The batches.
        let proven = proven_through as usize;
        let proven_tx = sealed.get(proven.wrapping_sub(1)).map_or(0, |b| b.2);
        let sealed_end = sealed.last().map_or(0, |b| b.2);
        let busy = setup_done && proven < sealed.len();
        let mut proven_weight = 0.0;
        let mut remaining = (log_len.saturating_sub(sealed_end)) as f64 * 1.3;
        for &(n, first, end) in &sealed {
            let w = self.weight_of(n, first, end);
            if n <= proven_through {
                proven_weight += w;
            } else {
                remaining += w;
            }
        }
        let mut w = watched.lock().expect("no panics");
        if w.ticks == 0 {
            // Batches an earlier run proved are not this run's work.
            w.proven = proven_through;
            w.proven_before = proven_through;
        }
        w.ticks += 1;
        if busy {
            w.proving += dt;
        }
        let unit = if proven_weight > 0.0 && w.proving > Duration::ZERO {
            w.proving.div_f64(proven_weight)
        } else {
            self.unit
        };
        let mut eta = unit.mul_f64(remaining);
        if !setup_done {
            eta += setup.remaining();
        }
        // Notes for the batches proven since the last tick.
        let seen = w.proven;
        for &(n, first, end) in sealed.iter().take(proven).skip(seen as usize) {
            let took = match self.batch_started {
                Some((b, at)) if b == n => format!(" in {}", human(at.elapsed())),
                _ => String::new(),
            };
            let left = if remaining > 0.0 {
                format!(
                    "; about {} left for the {} sealed after it",
                    human(eta),
                    sealed.len() - n as usize
                )
            } else {
                String::new()
            };
            self.display.note(&format!(
                "  batch {n} proven: {}{took}{left}",
                super::city::plural(end - first, "transaction")
            ));
            self.batch_started = None;
        }
        w.proven = proven_through;
        w.sealed = sealed.len() as u64;
        if busy && self.batch_started.is_none() {
            self.batch_started = Some((proven_through + 1, Instant::now()));
        }
        w.setup = setup
            .steps
            .iter()
            .filter_map(|s| Some((s.what.clone(), s.took?)))
            .collect();
        w.setup_error = setup.error.clone();
        w.failure = failure;
        w.idle = proven == sealed.len() && !open && log_len == sealed_end;
        drop(w);
        self.proving.set_length(log_len);
        self.proving.set_position(proven_tx);
        let doing = if busy {
            format!("· proving batch {} of {}", proven + 1, sealed.len())
        } else if !setup_done {
            "· waiting for the prover's keys".to_string()
        } else {
            format!("· {proven} batches")
        };
        let eta = if remaining > 0.0 {
            format!(" · ETA {}", human(eta))
        } else {
            String::new()
        };
        self.proving.set_message(format!("{doing}{eta}"));
    }

    fn finish(&mut self, watched: &Mutex<Watched>) {
        let w = watched.lock().expect("no panics");
        self.proving.finish_with_message(format!(
            "· {} batches proven in {}",
            w.proven - w.proven_before,
            human(w.proving)
        ));
        if !self.setup.is_finished() {
            self.setup.finish_and_clear();
        }
    }
}

/// The watcher.
pub struct Watch {
    state: Arc<Mutex<Watched>>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Watch {
    /// Waits until every batch is sealed and proven; stops at the first proving failure
    /// (the service keeps retrying it, the demo does not wait).
    pub fn wait_proven(mut self) -> Result<Watched, (u64, String)> {
        // A tick that was under way at the call may have read the state before the last
        // transactions: wait for one that starts after.
        let from = self.state.lock().expect("no panics").ticks + 1;
        loop {
            let w = self.state.lock().expect("no panics").clone();
            if w.ticks <= from {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            if let Some(failure) = w.failure {
                self.stop();
                return Err(failure);
            }
            if w.idle && w.sealed > 0 {
                self.stop();
                return Ok(self.state.lock().expect("no panics").clone());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop();
    }
}
