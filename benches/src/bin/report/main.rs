//! The benchmark report: measures the rollup on this machine and writes `report.md` and
//! `report.json` (see `--help`). Every figure in them is measured by this run, as the median
//! of repeated runs where the time allows, with the machine's load average around each phase.

mod markdown;
mod model;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use benches::ingest;
use benches::measure::{self, on_threads, timed, Stats};
use benches::orchard::{OrchardBundle, OrchardKeys};
use benches::verify::ChunkVerifier;
use benches::workload::{full_chunk, mixed_batch, Mix, Workload, KINDS, NOW};
use circuits::ballot::{self, BallotKeys, Instance as BallotInstance};
use circuits::chunk::proof::{self, ChunkKeys};
use circuits::chunk::{witness, Family};
use circuits::constants::VOTERS_DEPTH;
use circuits::merkle::MerkleTree;
use circuits::signatures::{self, Entry, SignatureKeys};
use circuits::voter::{Vote, VoterSecret};
use circuits::Fp;
use clap::Parser;
use model::*;
use prover::{Options, Prover, Split};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Measures proving, verifying, ingest and memory on this machine and writes DIR/report.md
/// and DIR/report.json. Without --quick it takes about half an hour on two cores (first
/// parameters included); --quick takes a few minutes and measures less, once each.
#[derive(Parser, Debug)]
#[command(name = "report")]
struct Args {
    /// Threads for proving and verifying in all (default: every core found). Proving is
    /// measured at 1 thread, at powers of two below this, and at this.
    #[arg(long)]
    threads: Option<usize>,
    /// Directory for report.md and report.json (created if needed).
    #[arg(long, default_value = "target/report")]
    out: PathBuf,
    /// Parameter cache (the criterion benches' too): parameters are made once and read back
    /// afterwards.
    #[arg(long, default_value = "target/params")]
    params: PathBuf,
    /// A short run: chunks up to k = 13, one run of each measurement, a small mixed batch at
    /// one chunk size, a short ingest run. For trying the command, not for the README.
    #[arg(long)]
    quick: bool,
    /// Runs of each proving measurement, of which the median is reported (default 3; 1 with
    /// --quick). Cheap measurements (verifying, native rules) run more often.
    #[arg(long)]
    runs: Option<usize>,
    /// Largest k of the chunk sizes measured (default 15; 13 with --quick).
    #[arg(long)]
    max_k: Option<u32>,
    /// Transfers sent per ingest run (default 2000; 300 with --quick).
    #[arg(long)]
    ingest_txs: Option<usize>,
    /// Skip the sequencer ingest measurement.
    #[arg(long)]
    no_ingest: bool,
    /// Only these families' chunk proofs (default: all four), e.g. `--families accounts`.
    #[arg(long, value_delimiter = ',', value_parser = parse_family)]
    families: Vec<Family>,
    /// Skip the mixed batches (and the verifier's cold start on them).
    #[arg(long)]
    no_batches: bool,
}

fn parse_family(name: &str) -> Result<Family, String> {
    Family::ALL
        .into_iter()
        .find(|f| f.name() == name)
        .ok_or_else(|| format!("no family {name:?} (accounts, registry, market, governance)"))
}

/// Progress on standard error, with the time since the start and the load average.
struct Progress {
    started: Instant,
}

impl Progress {
    fn say(&self, message: impl AsRef<str>) {
        let t = self.started.elapsed().as_secs();
        let load = measure::load_average().map_or(String::new(), |l| format!(" load {:.2}", l[0]));
        eprintln!("[{:02}:{:02}{load}] {}", t / 60, t % 60, message.as_ref());
    }
}

/// Phases with their wall time, peak memory (reset at each start where the kernel allows)
/// and the load around them.
struct Phases {
    done: Vec<Phase>,
    resettable: bool,
}

impl Phases {
    fn run<R>(&mut self, progress: &Progress, name: &str, f: impl FnOnce() -> R) -> R {
        progress.say(format!("── {name}"));
        let load_start = measure::load_average();
        let memory_start_mib = measure::memory_mib();
        self.resettable &= measure::start_peak_window();
        let (r, elapsed) = timed(f);
        self.done.push(Phase {
            name: name.to_string(),
            seconds: elapsed.as_secs_f64(),
            memory_start_mib,
            peak_memory_mib: measure::window_peak_mib(),
            load_start,
            load_end: measure::load_average(),
        });
        r
    }
}

fn main() {
    let args = Args::parse();
    let cores = measure::cores();
    let threads = args.threads.unwrap_or(cores).max(1);
    // Verification and everything not run on a pool of its own uses this many threads.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("the global thread pool");
    let quick = args.quick;
    let settings = Settings {
        threads,
        thread_counts: thread_counts(threads),
        runs: args.runs.unwrap_or(if quick { 1 } else { 3 }).max(1),
        max_k: args.max_k.unwrap_or(if quick { 13 } else { 15 }),
        families: if args.families.is_empty() {
            Family::ALL.to_vec()
        } else {
            args.families.clone()
        },
        quick,
        mix: if quick {
            Mix {
                accounts: 2,
                registry: 2,
                market: 1,
                governance: 1,
            }
        } else {
            Mix {
                accounts: 5,
                registry: 5,
                market: 2,
                governance: 2,
            }
        },
        batch_slots: if args.no_batches {
            vec![]
        } else if quick {
            vec![1]
        } else {
            vec![1, 5]
        },
        ingest_clients: if args.no_ingest {
            vec![]
        } else if quick {
            vec![4]
        } else {
            vec![1, 16]
        },
        ingest_txs: args.ingest_txs.unwrap_or(if quick { 300 } else { 2000 }),
        params_dir: args.params.display().to_string(),
    };
    let progress = Progress {
        started: Instant::now(),
    };
    let machine = machine();
    progress.say(format!(
        "report on {cores} cores, proving at {:?} threads, {} run(s) each, chunks up to k = {}; \
         load average {}",
        settings.thread_counts,
        settings.runs,
        settings.max_k,
        markdown::load(machine.load_start)
    ));
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("cannot create {}: {e}", args.out.display());
        std::process::exit(2);
    }

    let mut phases = Phases {
        done: Vec::new(),
        resettable: true,
    };
    let rows = layout_rows();
    let params = phases.run(&progress, "parameters", || {
        params_phase(&progress, &args.params, &settings)
    });
    let native = phases.run(&progress, "native rules", || native_phase(&progress));
    let ballot = phases.run(&progress, "ballot circuit", || {
        ballot_phase(&progress, &settings)
    });
    let orchard = phases.run(&progress, "Orchard action circuit", || {
        orchard_phase(&progress, &settings)
    });
    let mut chunks = Vec::new();
    for &family in &settings.families {
        for slots in chunk_sizes(family, settings.max_k) {
            let name = format!("chunk proofs: {family}, {}", markdown::slots(slots));
            let mut row = phases.run(&progress, &name, || {
                chunk_phase(&progress, &args.params, &settings, family, slots)
            });
            row.peak_memory_mib = phases.done.last().and_then(|p| p.peak_memory_mib);
            chunks.push(row);
        }
    }
    let mut groups = Vec::new();
    for &family in &settings.families {
        if family.k_for(1) <= settings.max_k {
            let name = format!("chunk proofs of several one-slot {family} chunks");
            groups.extend(phases.run(&progress, &name, || {
                group_phase(&progress, &args.params, &settings, family)
            }));
        }
    }
    let mut batches = Vec::new();
    for &slots in &settings.batch_slots {
        let name = format!("mixed batch: accounts chunks of {}", markdown::slots(slots));
        batches.push(phases.run(&progress, &name, || {
            batch_phase(&progress, &args.params, &settings, slots)
        }));
    }
    let ingest = phases.run(&progress, "sequencer ingest", || {
        ingest_phase(&progress, &settings)
    });

    let mut report = Report {
        machine,
        peak_memory_mib: phases
            .done
            .iter()
            .filter_map(|p| p.peak_memory_mib)
            .reduce(f64::max),
        peak_per_phase: phases.resettable,
        phases: phases.done,
        settings,
        rows,
        params,
        native,
        ballot: Some(ballot),
        orchard: Some(orchard),
        chunks,
        groups,
        batches,
        ingest,
        total_s: progress.started.elapsed().as_secs_f64(),
    };
    report.machine.load_end = measure::load_average();
    let json = serde_json::to_string_pretty(&report).expect("the report serialises");
    let md = markdown::render(&report);
    for (name, text) in [("report.json", json + "\n"), ("report.md", md)] {
        let path = args.out.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(3);
        }
        progress.say(format!("wrote {}", path.display()));
    }
}

/// 1, the powers of two below `threads`, and `threads`.
fn thread_counts(threads: usize) -> Vec<usize> {
    let mut counts: Vec<usize> = std::iter::successors(Some(1usize), |t| Some(t * 2))
        .take_while(|&t| t < threads)
        .collect();
    counts.push(threads);
    counts.dedup();
    counts
}

/// The chunk sizes measured for `family`: one slot, then the most slots each k up to
/// `max_k` holds.
fn chunk_sizes(family: Family, max_k: u32) -> Vec<usize> {
    let mut sizes = vec![1];
    for k in family.k_for(1) + 1..=max_k {
        let slots = family.slots_for(k);
        if slots > *sizes.last().expect("one size") {
            sizes.push(slots);
        }
    }
    sizes
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_total_mib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map(|kib| kib / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_string());
    let git_commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let uncommitted = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.get(3..).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let given: Vec<String> = std::env::args().skip(1).collect();
    let command = if given.is_empty() {
        "cargo run --release -p benches --bin report".to_string()
    } else {
        format!(
            "cargo run --release -p benches --bin report -- {}",
            given.join(" ")
        )
    };
    Machine {
        cores: measure::cores(),
        cpu,
        memory_total_mib,
        kernel,
        git_commit,
        uncommitted,
        started_utc: utc_now(),
        load_start: measure::load_average(),
        load_end: None,
        command,
    }
}

/// Now as `YYYY-MM-DD HH:MM UTC` (civil date from days since 1970, Howard Hinnant's method).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let rest = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

fn layout_rows() -> Vec<FamilyRows> {
    Family::ALL
        .into_iter()
        .map(|family| {
            let (rows_per_slot, fixed_rows) = family.layout();
            FamilyRows {
                family,
                kinds: benches::workload::kinds_of(family),
                rows_per_slot,
                fixed_rows,
                slots_at: (12..=15).map(|k| (k, family.slots_for(k))).collect(),
            }
        })
        .collect()
}

/// Reads (or makes, the first time) every parameter size the report uses, so that no later
/// timing includes making them.
fn params_phase(progress: &Progress, dir: &Path, settings: &Settings) -> Vec<ParamsLoad> {
    let mut ks: Vec<u32> = Family::ALL
        .into_iter()
        .flat_map(|f| {
            chunk_sizes(f, settings.max_k)
                .into_iter()
                .map(move |s| f.k_for(s))
        })
        .collect();
    for &slots in &settings.batch_slots {
        ks.extend(12..=Family::Accounts.k_for(slots));
        ks.extend(Family::ALL.into_iter().map(|f| f.k_for(1)));
    }
    ks.sort_unstable();
    ks.dedup();
    ks.into_iter()
        .map(|k| {
            let mut made = false;
            let (r, elapsed) = timed(|| {
                circuits::params::load_or_make(dir, k, |k| {
                    made = true;
                    progress.say(format!("making parameters k = {k} (cached afterwards)"));
                })
            });
            if let Err(e) = r {
                eprintln!("parameters under {}: {e}", dir.display());
                std::process::exit(3);
            }
            progress.say(format!(
                "parameters k = {k} {} in {:.2} s",
                if made { "made" } else { "read" },
                elapsed.as_secs_f64()
            ));
            ParamsLoad {
                k,
                made,
                seconds: elapsed.as_secs_f64(),
            }
        })
        .collect()
}

/// Each kind applied natively: 32 transactions to a state, timed without the state's copy.
fn native_phase(progress: &Progress) -> Vec<NativeRow> {
    const TXS: usize = 32;
    const RUNS: usize = 7;
    KINDS
        .iter()
        .map(|&(kind, family)| {
            let mut w = Workload::new(TXS);
            for _ in 0..TXS {
                w.make(kind);
            }
            let samples: Vec<Duration> = (0..RUNS)
                .map(|_| {
                    let mut state = w.start.clone();
                    timed(|| {
                        for tx in &w.txs {
                            state.apply(tx, NOW).expect("an honest transaction");
                        }
                    })
                    .1
                })
                .collect();
            let run = Stats::of(&samples);
            let per_tx_us = run.median_s / TXS as f64 * 1e6;
            progress.say(format!("native {kind}: {per_tx_us:.0} µs per transaction"));
            NativeRow {
                kind,
                family,
                txs: TXS,
                run,
                per_tx_us,
            }
        })
        .collect()
}

/// The ballot circuit: keys, proving at each thread count, verifying one and a batch.
fn ballot_phase(progress: &Progress, settings: &Settings) -> BallotSection {
    const BATCH: usize = 8;
    let (keys, keygen) = timed(|| BallotKeys::setup(ballot::params()).expect("ballot keys"));
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut tree = MerkleTree::new(VOTERS_DEPTH, Fp::zero());
    let voters: Vec<(u64, VoterSecret)> = (0..BATCH as u64)
        .map(|i| (i * 7_919, VoterSecret::random(&mut rng)))
        .collect();
    for (index, secret) in &voters {
        tree.set(*index, secret.commitment());
    }
    let prove = |i: usize, seed: u64| {
        let (index, secret) = &voters[i];
        ballot::prove(
            &keys,
            secret,
            &tree.path(*index),
            1,
            Vote::Option(i as u64 % 3),
            0,
            ChaCha20Rng::seed_from_u64(seed),
        )
        .expect("an honest ballot")
    };
    let runs = if settings.quick { 2 } else { 5 };
    let mut seed = 0;
    let proving: Vec<(usize, Stats)> = settings
        .thread_counts
        .iter()
        .map(|&t| {
            let stats = on_threads(t, || {
                Stats::measure(runs, || {
                    seed += 1;
                    prove(0, seed);
                })
            });
            progress.say(format!(
                "ballot proving, {t} thread(s): {:.0} ms",
                stats.median_ms()
            ));
            (t, stats)
        })
        .collect();
    let ballots: Vec<(BallotInstance, Vec<u8>)> = (0..BATCH)
        .map(|i| {
            let p = prove(i, 1_000 + i as u64);
            (p.instance, p.proof)
        })
        .collect();
    let (params, vk) = (keys.params(), keys.verifying_key());
    let verify_single = Stats::measure(20, || {
        ballot::verify(params, vk, &ballots[0].0, &ballots[0].1).expect("valid")
    });
    let verify_batch = Stats::measure(10, || {
        ballot::verify_batch(params, vk, &ballots).expect("valid")
    });
    progress.say(format!(
        "ballot verifying: {:.1} ms alone, {:.1} ms for {BATCH}",
        verify_single.median_ms(),
        verify_batch.median_ms()
    ));
    BallotSection {
        k: ballot::K,
        keygen_s: keygen.as_secs_f64(),
        proof_bytes: ballots[0].1.len(),
        proving,
        verify_single,
        batch_size: BATCH,
        verify_batch,
    }
}

/// Proves with `prove(run, threads)` at every thread count, interleaved run by run (so a
/// change of load hits each alike), and summarises per thread count; `items` transactions
/// (or actions) per proof. Returns the rows and every proof made.
fn proving_runs<P: Send>(
    progress: &Progress,
    settings: &Settings,
    label: &str,
    items: usize,
    prove: impl Fn(usize, usize) -> P + Sync,
) -> (Vec<ThreadRow>, Vec<P>) {
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); settings.thread_counts.len()];
    let mut proofs = Vec::new();
    for run in 0..settings.runs {
        for (i, &t) in settings.thread_counts.iter().enumerate() {
            let (proof, elapsed) = timed(|| on_threads(t, || prove(run, t)));
            progress.say(format!(
                "{label}, {t} thread(s), run {}/{}: {:.2} s",
                run + 1,
                settings.runs,
                elapsed.as_secs_f64()
            ));
            samples[i].push(elapsed);
            proofs.push(proof);
        }
    }
    let rows = settings
        .thread_counts
        .iter()
        .zip(&samples)
        .map(|(&threads, s)| {
            let proving = Stats::of(s);
            ThreadRow {
                threads,
                tx_per_s: items as f64 / proving.median_s,
                s_per_tx: proving.median_s / items as f64,
                proving,
            }
        })
        .collect();
    (rows, proofs)
}

/// Actions in the Orchard bundle measured: a wallet's everyday bundle size, and enough
/// circuit instances in one proof that its fixed costs are shared as a chunk's are.
const ORCHARD_ACTIONS: usize = 4;

/// Orchard's action circuit: keys, one bundle proved at every thread count (interleaved, as
/// the chunks are), one proof verified.
fn orchard_phase(progress: &Progress, settings: &Settings) -> OrchardSection {
    let (keys, keygen) = timed(OrchardKeys::build);
    let bundle = OrchardBundle::outputs(ORCHARD_ACTIONS, 1);
    let actions = bundle.actions();
    let (proving, proofs) = proving_runs(
        progress,
        settings,
        &format!("Orchard, {actions} actions"),
        actions,
        |run, t| bundle.prove(&keys, (run * 100 + t) as u64),
    );
    let proof = proofs.last().expect("at least one run");
    let verify_single = Stats::measure(10, || assert!(bundle.verify(&keys, proof)));
    OrchardSection {
        actions,
        keygen_s: keygen.as_secs_f64(),
        proof_bytes: proof.len(),
        proving,
        verify_single,
    }
}

/// One chunk circuit: keys, proofs of a full chunk at every thread count (interleaved, so a
/// change of load hits each alike), one proof verified alone, all of them batched. Each
/// proving run makes the chunk's proof and the proofs of its signed slots' signatures, split
/// as the prover splits a batch's ([`prover::signature_proof_sizes`]) and made as it makes
/// them ([`prover::schedule::in_turn`]); sizes and verification count all of them.
fn chunk_phase(
    progress: &Progress,
    dir: &Path,
    settings: &Settings,
    family: Family,
    slots: usize,
) -> ChunkRow {
    let k = family.k_for(slots);
    let load = |k| {
        circuits::params::load_or_make(dir, k, |_| {})
            .expect("parameters")
            .params
    };
    let params = load(k);
    let (witness, instance) = full_chunk(family, slots);
    let signed = witness::signed_entries(&witness, &instance);
    // Each signature proof: its k, its part of the signatures and their entries; parameters
    // and keys once per k (the split repeats sizes: 20 signatures are three proofs at k = 11).
    let parts: Vec<_> = {
        let mut rest = &signed[..];
        prover::signature_proof_sizes(signed.len())
            .into_iter()
            .map(|(k, count)| {
                let (part, after) = rest.split_at(count);
                rest = after;
                let entries: Vec<Entry> = part.iter().map(|(e, _)| *e).collect();
                (k, part.to_vec(), entries)
            })
            .collect()
    };
    let mut signature_params = std::collections::BTreeMap::new();
    for (k, _, _) in &parts {
        signature_params.entry(*k).or_insert_with(|| load(*k));
    }
    let ((keys, signature_keys), keygen) = timed(|| {
        let keys = ChunkKeys::for_family(&params, family, slots).expect("chunk keys");
        let signature_keys: std::collections::BTreeMap<u32, SignatureKeys> = signature_params
            .iter()
            .map(|(&k, p)| {
                let keys =
                    SignatureKeys::new(p, signatures::capacity_for(k)).expect("signature keys");
                (k, keys)
            })
            .collect();
        (keys, signature_keys)
    });
    let split: Vec<String> = parts
        .iter()
        .map(|(k, part, _)| format!("{} at k = {k}", part.len()))
        .collect();
    progress.say(format!(
        "{family}, {slots} slots (k = {k}; signatures {}): keys in {:.1} s",
        split.join(" + "),
        keygen.as_secs_f64()
    ));
    let (proving, proofs) = proving_runs(
        progress,
        settings,
        &format!("{family}, {slots} slots (k = {k}) and its signatures"),
        slots,
        |run, t| {
            let seed = (run * 100 + t) as u64;
            // The chunk first, then its signature proofs, made as the prover makes a
            // batch's (`prover::schedule`: `t` at once, each on a pool of `t` threads).
            type Task<'a> = Box<dyn FnOnce() -> Vec<u8> + Send + 'a>;
            let chunk: Task = Box::new(|| {
                let rng = rand::rngs::StdRng::seed_from_u64(seed);
                proof::prove(&params, &keys, witness.clone(), &instance, rng)
                    .expect("an honest chunk")
            });
            let signed = parts.iter().map(|(k, part, _)| -> Task {
                let (p, keys) = (&signature_params[k], &signature_keys[k]);
                Box::new(move || {
                    let rng = rand::rngs::StdRng::seed_from_u64(seed + 1);
                    signatures::prove(p, keys, part, rng).expect("honest signatures")
                })
            });
            let tasks: Vec<Task> = std::iter::once(chunk).chain(signed).collect();
            let mut proofs = prover::schedule::in_turn(t, t, tasks).expect("thread pools");
            let chunk = proofs.remove(0);
            (chunk, proofs)
        },
    );
    let verify_all = |(chunk, signed): &(Vec<u8>, Vec<Vec<u8>>)| {
        proof::verify(&params, keys.vk(), &instance, chunk).expect("a valid proof");
        for ((k, _, entries), proof) in parts.iter().zip(signed) {
            let (p, keys) = (&signature_params[k], &signature_keys[k]);
            signatures::verify(p, keys.vk(), entries, keys.capacity(), proof)
                .expect("a valid signature proof");
        }
    };
    let verify_single = Stats::measure(10, || verify_all(&proofs[0]));
    let verify_batch = Stats::measure(5, || {
        let claimed: Vec<_> = proofs
            .iter()
            .map(|(p, _)| (instance.to_halo2(), &p[..]))
            .collect();
        assert!(
            circuits::verifying::verify_many(&params, keys.vk(), &claimed),
            "valid proofs"
        );
        for (i, (k, _, entries)) in parts.iter().enumerate() {
            let (p, keys) = (&signature_params[k], &signature_keys[k]);
            let column = signatures::instance(entries, keys.capacity());
            let claimed: Vec<_> = proofs
                .iter()
                .map(|(_, s)| (column.clone(), &s[i][..]))
                .collect();
            assert!(
                circuits::verifying::verify_many(p, keys.vk(), &claimed),
                "valid signature proofs"
            );
        }
    });
    let (chunk_bytes, signature_bytes) = (
        proofs[0].0.len(),
        proofs[0].1.iter().map(Vec::len).sum::<usize>(),
    );
    progress.say(format!(
        "{family}, {slots} slots: proof {chunk_bytes} bytes and {signature_bytes} for the signatures; verifying {:.1} ms alone, {:.1} ms for {}",
        verify_single.median_ms(),
        verify_batch.median_ms(),
        proofs.len()
    ));
    ChunkRow {
        family,
        slots,
        k,
        rows_used: family.rows(slots),
        signatures: split.join(" + "),
        keygen_s: keygen.as_secs_f64(),
        proof_bytes: chunk_bytes + signature_bytes,
        signature_proof_bytes: signature_bytes,
        proving,
        verify_single,
        batch_proofs: proofs.len(),
        verify_batch,
        peak_memory_mib: None,
    }
}

/// One-slot chunks of `family` proven `n` to a proof, `n` doubling up to what the prover
/// groups ([`prover::GROUP_ROWS`]), at all threads: the same chunk `n` times (the cost does
/// not depend on the values).
fn group_phase(
    progress: &Progress,
    dir: &Path,
    settings: &Settings,
    family: Family,
) -> Vec<GroupRow> {
    let k = family.k_for(1);
    let params = circuits::params::load_or_make(dir, k, |_| {})
        .expect("parameters")
        .params;
    let keys = ChunkKeys::for_family(&params, family, 1).expect("chunk keys");
    let (witness, instance) = full_chunk(family, 1);
    let most = (prover::GROUP_ROWS >> k).max(1);
    let sizes = std::iter::successors(Some(1usize), |n| Some(n * 2)).take_while(|&n| n <= most);
    sizes
        .map(|n| {
            let instances = vec![instance.clone(); n];
            let mut proof = Vec::new();
            let proving = on_threads(settings.threads, || {
                Stats::measure(settings.runs, || {
                    let rng = rand::rngs::StdRng::seed_from_u64(n as u64);
                    proof = proof::prove_group(
                        &params,
                        &keys,
                        vec![witness.clone(); n],
                        &instances,
                        rng,
                    )
                    .expect("honest chunks");
                })
            });
            let verify = Stats::measure(10, || {
                proof::verify_group(&params, keys.vk(), &instances, &proof).expect("a valid proof")
            });
            let per_chunk_s = proving.median_s / n as f64;
            progress.say(format!(
                "{family}: {n} one-slot chunks in one proof (k = {k}) in {:.2} s, {:.2} s a chunk; {} bytes; verified in {:.1} ms",
                proving.median_s,
                per_chunk_s,
                proof.len(),
                verify.median_ms()
            ));
            GroupRow {
                family,
                k,
                chunks: n,
                proving,
                per_chunk_s,
                proof_bytes: proof.len(),
                verify,
            }
        })
        .collect()
}

fn split_name(split: Split) -> &'static str {
    match split {
        Split::ChunksInParallel => "chunks in parallel",
        Split::ChunksInSequence => "chunks in sequence",
    }
}

/// The mixed batch proved by the prover (accounts chunks of `slots` slots) at one thread and
/// at all threads with both splits, interleaved run by run; then the verifier's cold start,
/// its whole check, and the chunk proofs alone batched and one by one.
fn batch_phase(progress: &Progress, dir: &Path, settings: &Settings, slots: usize) -> BatchRow {
    let ballot_keys = BallotKeys::setup(ballot::params()).expect("ballot keys");
    let (start, txs) = mixed_batch(settings.mix, Some(ballot_keys));
    let prover = Prover::setup(dir, slots, false).expect("prover setup");
    let (_, keygen) = timed(|| {
        for (family, count) in settings.mix.parts() {
            for s in prover.chunk_sizes(family, count) {
                prover.keys_for(family, s).expect("chunk keys");
            }
        }
    });
    let mut configs: Vec<(usize, Split)> = vec![(1, Split::ChunksInParallel)];
    if settings.threads > 1 {
        configs.push((settings.threads, Split::ChunksInParallel));
        configs.push((settings.threads, Split::ChunksInSequence));
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); configs.len()];
    let mut peaks: Vec<Option<f64>> = vec![None; configs.len()];
    let mut artifact = None;
    for run in 0..settings.runs {
        for (i, &(threads, split)) in configs.iter().enumerate() {
            let options = Options {
                threads,
                split,
                progress: false,
            };
            let reset = measure::reset_peak_memory();
            let (a, elapsed) = timed(|| {
                prover
                    .prove_batch(&mut start.clone(), 1, NOW, &txs, options)
                    .expect("the mixed batch proves")
            });
            // The peak of this proof alone, if the kernel let it be reset.
            peaks[i] = if reset {
                [peaks[i], measure::peak_memory_mib()]
                    .into_iter()
                    .flatten()
                    .reduce(f64::max)
            } else {
                None
            };
            progress.say(format!(
                "mixed batch, {} txs in {} chunks, {threads} thread(s), {}, run {}/{}: {:.2} s",
                txs.len(),
                a.chunks.len(),
                split_name(split),
                run + 1,
                settings.runs,
                elapsed.as_secs_f64()
            ));
            samples[i].push(elapsed);
            artifact = Some(a);
        }
    }
    let artifact = artifact.expect("at least one run");
    let configs: Vec<BatchConfig> = configs
        .iter()
        .zip(&samples)
        .zip(&peaks)
        .map(|((&(threads, split), s), &peak)| {
            let proving = Stats::of(s);
            BatchConfig {
                threads,
                split: split_name(split),
                tx_per_s: txs.len() as f64 / proving.median_s,
                proving,
                peak_memory_mib: peak,
            }
        })
        .collect();
    let faster_split = (configs.len() == 3).then(|| {
        if configs[1].proving.median_s <= configs[2].proving.median_s {
            configs[1].split
        } else {
            configs[2].split
        }
    });

    // The verifier: cold start (a fresh `Keys` each time: parameters read from the cache,
    // verifying keys made; ballot keys made), then its whole check of the batch.
    let mut circuits: Vec<(Family, usize)> = artifact
        .chunks
        .iter()
        .map(|c| (c.family, c.slots))
        .collect();
    circuits.sort();
    circuits.dedup();
    let mut cold = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut per_circuit = Vec::new();
    let mut keys = None;
    for _ in 0..3 {
        let mut k = verifier::Keys::new(dir);
        per_circuit.clear();
        let (mut params, mut vks) = (Duration::ZERO, Duration::ZERO);
        for &(family, slots) in &circuits {
            let one = k.load_chunk(family, slots).expect("verifying keys");
            params += one.params;
            vks += one.verifying_key;
            per_circuit.push((
                family,
                slots,
                family.k_for(slots),
                one.verifying_key.as_secs_f64(),
            ));
        }
        let (_, ballot_time) = timed(|| {
            k.load_ballot().expect("ballot keys");
        });
        cold.0.push(params);
        cold.1.push(vks);
        cold.2.push(ballot_time);
        cold.3.push(params + vks + ballot_time);
        keys = Some(k);
    }
    let mut keys = keys.expect("loaded");
    let cold_start = ColdStart {
        params: Stats::of(&cold.0),
        verifying_keys: Stats::of(&cold.1),
        ballot_keys: Stats::of(&cold.2),
        total: Stats::of(&cold.3),
        per_circuit,
    };
    let full_check = Stats::measure(5, || {
        let mut state = start.clone();
        keys.verify_batch(
            &artifact,
            Some(&mut state),
            start.root(),
            Some(1),
            Some(start.time()),
            &mut |_| {},
        )
        .expect("the batch verifies");
    });
    keys.set_genesis(start.chain(), start.params().clone());
    let proofs_check = Stats::measure(5, || {
        let one = std::iter::once(Ok::<_, verifier::VerifyError>((
            "the report's batch".to_string(),
            artifact.clone(),
        )));
        keys.verify_chain_proofs(
            verifier::check::Checkpoint::genesis(&start),
            one,
            256,
            &mut |_| {},
        )
        .expect("the batch verifies from its proofs");
    });
    let chunk_verifier =
        ChunkVerifier::for_artifact(dir, &artifact, start.chain(), start.params().clone());
    let chunk_proofs_batched = Stats::measure(5, || assert!(chunk_verifier.batched(&artifact)));
    let chunk_proofs_halo2_batch =
        Stats::measure(5, || assert!(chunk_verifier.halo2_batched(&artifact)));
    let chunk_proofs_one_by_one =
        Stats::measure(5, || assert!(chunk_verifier.one_by_one(&artifact)));
    progress.say(format!(
        "verifier: cold start {:.2} s, whole check {:.0} ms with the replay, {:.0} ms from proofs and data, chunk proofs {:.0} ms batched ({:.0} ms with halo2's BatchVerifier), {:.0} ms one by one",
        cold_start.total.median_s,
        full_check.median_ms(),
        proofs_check.median_ms(),
        chunk_proofs_batched.median_ms(),
        chunk_proofs_halo2_batch.median_ms(),
        chunk_proofs_one_by_one.median_ms()
    ));
    BatchRow {
        accounts_slots: slots,
        k: prover.k(),
        txs: txs.len(),
        chunks: artifact
            .chunks
            .iter()
            .map(|c| (c.family, c.slots, c.family.k_for(c.slots)))
            .collect(),
        keygen_s: keygen.as_secs_f64(),
        configs,
        faster_split,
        // Chunk and signature proofs (ballots carry their own, not counted here).
        proof_bytes: artifact
            .chunk_proofs
            .iter()
            .map(|p| p.proof.len())
            .chain(artifact.signatures.iter().map(|p| p.proof.len()))
            .sum(),
        cold_start,
        full_check,
        proofs_check,
        chunk_proofs_batched,
        chunk_proofs_halo2_batch,
        chunk_proofs_one_by_one,
    }
}

/// The sequencer's ingest at each client count: the median of the runs.
fn ingest_phase(progress: &Progress, settings: &Settings) -> Vec<IngestRow> {
    let runs = if settings.quick { 1 } else { 3 };
    settings
        .ingest_clients
        .iter()
        .map(|&clients| {
            let dir = std::env::temp_dir().join(format!(
                "city-report-ingest-{}-{clients}",
                std::process::id()
            ));
            let file_system = file_system_of(&std::env::temp_dir());
            let results: Vec<ingest::IngestRun> = (0..runs)
                .map(|run| {
                    let r = ingest::run(&dir, clients, settings.ingest_txs);
                    progress.say(format!(
                        "ingest, {clients} client(s), run {}/{runs}: {:.0} tx/s, p50 {:.2} ms, p99 {:.2} ms",
                        run + 1,
                        r.rate(),
                        ms(r.latency(0.5)),
                        ms(r.latency(0.99))
                    ));
                    r
                })
                .collect();
            let median = |f: &dyn Fn(&ingest::IngestRun) -> f64| {
                let mut v: Vec<f64> = results.iter().map(f).collect();
                v.sort_by(f64::total_cmp);
                let n = v.len();
                if n % 2 == 1 {
                    v[n / 2]
                } else {
                    (v[n / 2 - 1] + v[n / 2]) / 2.0
                }
            };
            IngestRow {
                clients,
                txs_per_run: results[0].txs,
                runs,
                tx_per_s: median(&|r| r.rate()),
                p50_ms: median(&|r| ms(r.latency(0.5))),
                p99_ms: median(&|r| ms(r.latency(0.99))),
                file_system,
            }
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The type of the file system holding `path` (the longest mount point above it).
fn file_system_of(path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, point, kind) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(point)
                .then(|| (point.len(), kind.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, kind)| kind)
}
