//! `verifier`: the auditors' command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use circuits::facts::{ProvenFacts, StateProof};
use circuits::hash::to_hex;
use circuits::state::{TreeId, Write};
use circuits::{Fp, Genesis, State};
use clap::{Parser, Subcommand};
use serde_json::json;
use verifier::check::Checkpoint;
use verifier::check::Replayed;
use verifier::source::{Source, SourceError};
use verifier::{BatchArtifact, Keys, VerifyError};

/// The city rollup's verifier, for auditors.
///
/// Checks published batch artifacts: every chunk proof (batched), every ballot proof, the
/// proofs' public inputs against the published transactions (data hashes recomputed),
/// chunks and batches chaining, and batch numbers consecutive; with --replay, also the roots
/// against a native replay of the rules from genesis. Accounts, meters, orders and tallies
/// are proven by Merkle inclusion against the root the verified chain ends at: a
/// sequencer's answer is a proof to check, never a number to believe.
///
/// Batches come from a directory of artifacts or from a sequencer's API: give its URL
/// (`verifier chain http://127.0.0.1:8080 --genesis g.json`); over HTTP, every proven batch
/// from the first on is checked, and later ones, not proven yet, are listed.
///
/// Exit status: 0 everything holds; 1 something does not (the message names the batch,
/// chunk or transaction); 2 bad usage; 3 the check could not run (unreadable genesis,
/// parameter cache, directory, an unreachable service).
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Data directory: the commitment parameter cache (shared with the prover). A cached
    /// file is used only if it holds exactly the parameters whose digest is pinned in this
    /// build; any other is ignored, with a warning, and replaced.
    #[arg(long, global = true, default_value = ".city-data")]
    data: PathBuf,
    /// Machine-readable JSON on standard output instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Checks one batch artifact. Without --prev-root it must be the first batch after
    /// genesis and is replayed from genesis; with --prev-root (the root the previous batch
    /// ended at) the proofs, data and chaining are checked but the rules are not replayed.
    Batch {
        /// The artifact.
        file: PathBuf,
        /// The genesis file.
        #[arg(long)]
        genesis: PathBuf,
        /// The state root the batch must start from (hex), if not genesis.
        #[arg(long)]
        prev_root: Option<String>,
    },
    /// Checks every batch artifact (*.json) in a directory, or every proven batch a
    /// sequencer publishes, in order from genesis (or from a trusted checkpoint), from the
    /// proofs and data alone: batch numbers and roots chaining, data hashes recomputed from
    /// the published transactions, every ballot proof and every chunk proof (batched over
    /// windows of the chain). The rules are not replayed: the proofs say they hold. Artifacts
    /// are read one at a time, so a long chain takes bounded memory.
    Chain {
        /// The directory of artifacts, or the sequencer's URL (http://host:port).
        dir: String,
        /// The genesis file.
        #[arg(long)]
        genesis: PathBuf,
        /// Also replay every transaction's rules natively from genesis (what the sequencer
        /// itself does), and check each chunk's root against the replay.
        #[arg(long, conflicts_with = "from")]
        replay: bool,
        /// Start after a checkpoint the auditor trusts: check batches N onwards, from the
        /// root batch N-1 ended at (give it with --root).
        #[arg(long, value_name = "N", requires = "root")]
        from: Option<u64>,
        /// The trusted root after batch N-1 (hex), for --from.
        #[arg(long, value_name = "HEX", requires = "from")]
        root: Option<String>,
    },
    /// Checks the chain, then prints a proposal's result (followers resolved) from the
    /// proposal's record and its tally slots, proven by inclusion against the root the
    /// chain's proofs end at.
    ///
    /// From a sequencer (without --replay): the slots and their Merkle paths are fetched
    /// (`GET /v1/proven/proposals/{id}/tally`) and checked against the root of the batch they
    /// are of, which the chain's proofs establish; nothing the sequencer says is believed
    /// without a path. From a directory, or with --replay, the chain is replayed and the
    /// same proof is made from the replayed state.
    Tally {
        #[command(flatten)]
        chain: FactChain,
        /// The proposal id.
        #[arg(long)]
        proposal: u64,
    },
    /// Checks the chain, then prints an account with the proof of its leaf in the verified
    /// root (fetched from a sequencer, or made by replay: see `tally`). With --replay it also
    /// lists the account's history (every transaction that changed it).
    Account {
        #[command(flatten)]
        chain: FactChain,
        /// The account id.
        account: u64,
    },
    /// Checks the chain, then prints a meter with the proof of its leaf in the verified root.
    Meter {
        #[command(flatten)]
        chain: FactChain,
        /// The meter id.
        meter: u64,
    },
    /// Checks the chain, then prints an order with the proof of its leaf in the verified root.
    Order {
        #[command(flatten)]
        chain: FactChain,
        /// The order id.
        order: u64,
    },
    /// Checks one ballot transaction's proof (a JSON ballot, as `client ballot` writes it).
    Ballot {
        /// The ballot file.
        file: PathBuf,
    },
}

/// The chain a fact is checked against.
#[derive(clap::Args)]
struct FactChain {
    /// The directory of artifacts, or the sequencer's URL (http://host:port).
    dir: String,
    /// The genesis file.
    #[arg(long)]
    genesis: PathBuf,
    /// Replay every transaction's rules from genesis and prove the fact from the replayed
    /// state (always so from a directory, which holds no state proofs).
    #[arg(long)]
    replay: bool,
}

/// A failure and its exit code.
struct Failure(u8, String);

impl From<VerifyError> for Failure {
    fn from(e: VerifyError) -> Self {
        Failure(if e.is_data_fault() { 1 } else { 3 }, e.to_string())
    }
}

impl From<SourceError> for Failure {
    fn from(e: SourceError) -> Self {
        Failure(if e.is_data_fault() { 1 } else { 3 }, e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let mut keys = Keys::new(&cli.data);
    match run(cli, &mut keys) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            if json {
                println!(
                    "{}",
                    json!({ "ok": false, "error": message,
                            "commitment_parameters": params_used(&keys) })
                );
            } else {
                print_params(&keys);
                eprintln!("FAILED: {message}");
            }
            ExitCode::from(code)
        }
    }
}

/// The commitment parameters used, for `--json`: each one's `k`, pinned digest, cache file
/// and `source` (`cache`, `made`, or `replaced` with why the file was `rejected`).
fn params_used(keys: &Keys) -> Vec<&circuits::params::Provenance> {
    keys.params_used().collect()
}

/// One line per set of commitment parameters used: its pinned digest and whether it was read
/// from the cache, made, or made in place of a cache file that did not match the pin.
fn print_params(keys: &Keys) {
    for p in keys.params_used() {
        println!("{p}");
    }
}

fn genesis_state(path: &Path) -> Result<State, Failure> {
    Genesis::load(path)
        .map(|g| g.state())
        .map_err(|e| Failure(3, format!("{}: {e}", path.display())))
}

fn parse_root(hex: &str) -> Result<Fp, Failure> {
    serde_json::from_value(serde_json::Value::String(hex.to_string()))
        .map_err(|e| Failure(2, format!("--prev-root {hex}: {e}")))
}

fn run(cli: Cli, keys: &mut Keys) -> Result<(), Failure> {
    let json = cli.json;
    match cli.command {
        Command::Batch {
            file,
            genesis,
            prev_root,
        } => {
            let mut state = genesis_state(&genesis)?;
            let genesis_root = state.root();
            let genesis_time = state.time();
            let artifact = BatchArtifact::load(&file).map_err(VerifyError::from)?;
            let cold = keys.load_for(&artifact)?;
            let summary = match prev_root {
                None => keys.verify_batch(
                    &artifact,
                    Some(&mut state),
                    genesis_root,
                    Some(verifier::FIRST_BATCH),
                    Some(genesis_time),
                    &mut |_| {},
                )?,
                Some(hex) => {
                    keys.set_genesis(state.chain(), state.params().clone());
                    keys.verify_batch(&artifact, None, parse_root(&hex)?, None, None, &mut |_| {})?
                }
            };
            if json {
                println!(
                    "{}",
                    json!({ "ok": true, "cold_start": cold, "batches": [summary],
                            "commitment_parameters": params_used(keys) })
                );
            } else {
                print_params(keys);
                print_batch(&summary);
                println!(
                    "  cold start: parameters {:.0} ms, verifying key {:.0} ms",
                    cold.params.as_secs_f64() * 1e3,
                    cold.verifying_key.as_secs_f64() * 1e3
                );
                if !summary.replayed {
                    println!("  (rules not replayed: the state before this batch is unknown)");
                }
                println!("OK: batch {} holds", summary.number);
            }
            Ok(())
        }
        Command::Chain {
            dir,
            genesis,
            replay: false,
            from,
            root,
        } => chain_from_proofs(keys, &dir, &genesis, from, root.as_deref(), json),
        Command::Chain { dir, genesis, .. } => {
            let started = Instant::now();
            let report = chain(keys, &dir, &genesis, &mut |_| {})?;
            let took = started.elapsed();
            if json {
                println!(
                    "{}",
                    json!({ "ok": true, "mode": "replay", "batches": report.batches,
                            "root": report.state.root(), "seconds": took.as_secs_f64(),
                            "cold_start": cold_start(keys),
                            "commitment_parameters": params_used(keys) })
                );
            } else {
                print_params(keys);
                for b in &report.batches {
                    print_batch(b);
                }
                let txs: usize = report.batches.iter().map(|b| b.transactions).sum();
                println!(
                    "OK: {} batches, {txs} transactions, from genesis to root {}",
                    report.batches.len(),
                    to_hex(&report.state.root())
                );
            }
            Ok(())
        }
        Command::Tally { chain, proposal } => {
            let checked = fact(keys, &chain, &Fact::Tally(proposal), json)?;
            let result = checked
                .facts
                .tally_result(proposal)
                .map_err(|e| Failure(1, format!("proposal {proposal}: {e}")))?
                .ok_or_else(|| Failure(1, format!("proposal {proposal} does not exist")))?;
            if json {
                println!(
                    "{}",
                    json!({ "ok": true, "proposal": proposal, "tally": result,
                            "fact": checked.json(), "cold_start": cold_start(keys),
                            "commitment_parameters": params_used(keys) })
                );
            } else {
                print_params(keys);
                println!("proposal {proposal}:");
                for (option, (direct, total)) in
                    result.direct.iter().zip(&result.totals).enumerate()
                {
                    println!("  option {option}: {total} ({direct} direct)");
                }
                for d in &result.delegates {
                    let choice = d
                        .choice
                        .map_or("did not vote".to_string(), |c| format!("voted option {c}"));
                    println!(
                        "  delegate {}: {} followers, {choice}",
                        d.delegate, d.followers
                    );
                }
                println!(
                    "  abstained (followers of delegates who did not vote): {}",
                    result.abstained
                );
                checked.print(&format!(
                    "the proposal and its {} tally slots",
                    checked.proof.records.len() - 1
                ));
            }
            Ok(())
        }
        Command::Account { chain, account } => record(
            keys,
            &chain,
            TreeId::Accounts,
            account,
            ProvenFacts::account,
            json,
        ),
        Command::Meter { chain, meter } => record(
            keys,
            &chain,
            TreeId::Meters,
            meter,
            ProvenFacts::meter,
            json,
        ),
        Command::Order { chain, order } => record(
            keys,
            &chain,
            TreeId::Orders,
            order,
            ProvenFacts::order,
            json,
        ),
        Command::Ballot { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure(3, format!("{}: {e}", file.display())))?;
            let ballot: circuits::tx::Ballot = serde_json::from_str(&text)
                .or_else(|_| {
                    serde_json::from_str::<circuits::Transaction>(&text).and_then(|tx| match tx {
                        circuits::Transaction::Ballot(b) => Ok(b),
                        other => Err(serde::de::Error::custom(format!(
                            "a {} transaction, not a ballot",
                            other.kind_name()
                        ))),
                    })
                })
                .map_err(|e| Failure(1, format!("{}: not a ballot: {e}", file.display())))?;
            let keys = keys.load_ballot()?;
            circuits::ballot::verify(
                keys.params(),
                keys.verifying_key(),
                &circuits::ballot::instance_of(&ballot),
                &ballot.proof,
            )
            .map_err(|e| Failure(1, format!("{}: {e}", file.display())))?;
            if json {
                println!(
                    "{}",
                    json!({ "ok": true, "proposal": ballot.proposal, "vote": ballot.vote, "nullifier": ballot.nullifier })
                );
            } else {
                println!(
                    "OK: the ballot proof holds (proposal {}, vote {:?}, nullifier {})",
                    ballot.proposal,
                    ballot.vote,
                    to_hex(&ballot.nullifier)
                );
            }
            Ok(())
        }
    }
}

/// The cold start, for `--json`: time reading parameters and making verifying keys, and
/// which chunk circuits' keys were made.
fn cold_start(keys: &Keys) -> serde_json::Value {
    let cold = keys.cold_start();
    json!({
        "params_ms": cold.params.as_secs_f64() * 1e3,
        "verifying_key_ms": cold.verifying_key.as_secs_f64() * 1e3,
        "ballot_keys_ms": cold.ballot_keys.as_secs_f64() * 1e3,
        "circuits": keys.circuits_loaded().iter().map(|(family, slots, k)| {
            json!({ "family": family, "slots": slots, "k": k })
        }).collect::<Vec<_>>(),
    })
}

/// `verifier chain` without `--replay`.
fn chain_from_proofs(
    keys: &mut Keys,
    source: &str,
    genesis: &Path,
    from: Option<u64>,
    root: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    let state = genesis_state(genesis)?;
    let (start, report, took) =
        check_chain_proofs(keys, &Source::parse(source), &state, from, root, json)?;
    let txs: usize = report.batches.iter().map(|b| b.transactions).sum();
    if json {
        println!(
            "{}",
            json!({ "ok": true, "mode": "proofs", "from": start, "batches": report.batches,
                    "root": report.end.root, "seconds": took.as_secs_f64(),
                    "cold_start": cold_start(keys),
                    "commitment_parameters": params_used(keys) })
        );
    } else {
        print_params(keys);
        for b in &report.batches {
            print_batch(b);
        }
        if report.batches.is_empty() {
            println!(
                "OK: nothing published after batch {} to check; the chain ends at the trusted root {}",
                start.number,
                to_hex(&start.root)
            );
            return Ok(());
        }
        let origin = if start.number == 0 {
            "genesis".to_string()
        } else {
            format!("the checkpoint after batch {}", start.number)
        };
        println!(
            "OK: {} batches, {txs} transactions, from {origin} to root {} (proofs and data; rules not replayed: --replay does), in {:.2} s",
            report.batches.len(),
            to_hex(&report.end.root),
            took.as_secs_f64()
        );
    }
    Ok(())
}

/// Checks the chain `source` publishes from its proofs and data alone, from genesis or
/// after batch `from - 1` at the trusted `root`: where it started, what it found, how long
/// it took.
fn check_chain_proofs(
    keys: &mut Keys,
    source: &Source,
    state: &State,
    from: Option<u64>,
    root: Option<&str>,
    json: bool,
) -> Result<(Checkpoint, verifier::check::ProofsReport, Duration), Failure> {
    keys.set_genesis(state.chain(), state.params().clone());
    let start = match (from, root) {
        (Some(n), Some(hex)) if n > verifier::FIRST_BATCH => {
            let trusted = parse_root(hex)?;
            let before = source.artifact(n - 1)?;
            if before.root_new != trusted {
                return Err(Failure(
                    1,
                    format!(
                        "batch {} ends at root {}, not at the trusted root {hex}",
                        n - 1,
                        to_hex(&before.root_new)
                    ),
                ));
            }
            Checkpoint {
                number: n - 1,
                root: trusted,
                time: before.time,
            }
        }
        (Some(n), Some(hex)) => {
            if n == 0 || parse_root(hex)? != state.root() {
                return Err(Failure(
                    2,
                    format!(
                        "--from {n} --root {hex}: batch 1 starts at the genesis root {}",
                        to_hex(&state.root())
                    ),
                ));
            }
            Checkpoint::genesis(state)
        }
        _ => Checkpoint::genesis(state),
    };
    let stream = source.stream(start.number + 1)?;
    if let (Some(first), Some(last)) = (stream.unproven.first(), stream.unproven.last()) {
        eprintln!("note: batches {first}..={last} are not proven yet and are not checked");
    }
    let bar = if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(stream.count as u64).with_style(
            indicatif::ProgressStyle::with_template(
                "verifying {pos}/{len} batches [{elapsed}] {wide_bar}",
            )
            .expect("a valid template"),
        )
    };
    let started = Instant::now();
    let report = keys.verify_chain_proofs(start, stream, CHUNKS_PER_WINDOW, &mut |_| bar.inc(1))?;
    bar.finish_and_clear();
    Ok((start, report, started.elapsed()))
}

/// What a fact command proves.
enum Fact {
    /// One record of a tree.
    Record(TreeId, u64),
    /// A proposal's result: its record and the tally slots it is resolved from.
    Tally(u64),
}

impl Fact {
    /// Its route under a sequencer's `/v1/proven/`.
    fn route(&self) -> String {
        match self {
            Fact::Record(tree, id) => format!("{}/{id}", tree.name()),
            Fact::Tally(id) => format!("proposals/{id}/tally"),
        }
    }

    /// Its proof in `state`.
    fn prove(&self, state: &State) -> StateProof {
        match *self {
            Fact::Record(tree, id) => state.prove_records([(tree, id)]),
            Fact::Tally(id) => state.prove_tally(id),
        }
    }
}

/// A fact's proof, checked against a root the verifier reached itself.
struct Checked {
    /// What it proves.
    facts: ProvenFacts,
    /// The proof.
    proof: StateProof,
    /// `proofs` (fetched and checked against the chain's proofs) or `replay`.
    mode: &'static str,
    /// The batch whose state it is of (0: genesis).
    batch: u64,
    /// That state's root.
    root: Fp,
    /// Batches and transactions verified to reach it.
    batches: usize,
    transactions: usize,
    /// The chain's check.
    chain_time: Duration,
    /// Fetching (or making) the fact's proof and checking it.
    fact_time: Duration,
    /// The transactions that changed the account (an account, with --replay).
    history: Option<Vec<serde_json::Value>>,
}

impl Checked {
    fn json(&self) -> serde_json::Value {
        json!({ "mode": self.mode, "batch": self.batch, "root": self.root,
                "batches": self.batches, "transactions": self.transactions,
                "chain_seconds": self.chain_time.as_secs_f64(),
                "fact_ms": self.fact_time.as_secs_f64() * 1e3,
                "proof": self.proof, "history": self.history })
    }

    /// The closing lines: the history, if any, then what is proven and against what.
    fn print(&self, subject: &str) {
        if let Some(history) = &self.history {
            println!("history ({} transactions):", history.len());
            for h in history {
                println!(
                    "  batch {} tx {}: {} {}",
                    h["batch"], h["index"], h["kind"], h["event"]
                );
            }
        }
        let how = match self.mode {
            "proofs" => "its proofs and data; rules not replayed",
            _ => "replayed from genesis",
        };
        println!(
            "OK: {subject} included in the verified root {} of batch {} ({} batches, {} transactions: {how}); the fact checked in {:.1} ms, the chain in {:.2} s",
            to_hex(&self.root),
            self.batch,
            self.batches,
            self.transactions,
            self.fact_time.as_secs_f64() * 1e3,
            self.chain_time.as_secs_f64()
        );
    }
}

/// Checks the chain, then `fact` against the root the chain ends at: from a sequencer
/// without --replay, the sequencer's proof of the fact at its last proven batch `B`, checked
/// against the root the verified proofs give batch `B`; otherwise the proof made from the
/// replayed state.
fn fact(keys: &mut Keys, chain: &FactChain, fact: &Fact, json: bool) -> Result<Checked, Failure> {
    let state = genesis_state(&chain.genesis)?;
    let source = Source::parse(&chain.dir);
    if chain.replay || matches!(source, Source::Dir(_)) {
        let account = match *fact {
            Fact::Record(TreeId::Accounts, id) => Some(id),
            _ => None,
        };
        let mut history = Vec::new();
        let started = Instant::now();
        let report = self::chain(keys, &chain.dir, &chain.genesis, &mut |r: Replayed<'_>| {
            let touches = r
                .plan
                .writes
                .iter()
                .any(|w| matches!(w, Write::Account(id, _) if Some(*id) == account));
            if touches {
                history.push(json!({
                    "batch": r.batch,
                    "index": r.index,
                    "kind": r.tx.kind_name(),
                    "event": r.plan.event,
                }));
            }
        })?;
        let chain_time = started.elapsed();
        let started = Instant::now();
        let root = report.state.root();
        let proof = fact.prove(&report.state);
        let facts = proof.verify(root).map_err(|e| Failure(1, e.to_string()))?;
        return Ok(Checked {
            facts,
            proof,
            mode: "replay",
            batch: report.batches.last().map_or(0, |b| b.number),
            root,
            batches: report.batches.len(),
            transactions: report.batches.iter().map(|b| b.transactions).sum(),
            chain_time,
            fact_time: started.elapsed(),
            history: account.map(|_| history),
        });
    }
    // The fact first: the chain listed after it covers its batch.
    let started = Instant::now();
    let served = source.proven_fact(&fact.route())?;
    let fetched = started.elapsed();
    let (start, report, chain_time) = check_chain_proofs(keys, &source, &state, None, None, json)?;
    let root = if served.batch == start.number {
        start.root
    } else {
        report
            .batches
            .iter()
            .find(|b| b.number == served.batch)
            .map(|b| b.root_new)
            .ok_or_else(|| {
                Failure(
                    1,
                    format!(
                        "the sequencer's proof is of batch {}, which is not among the {} batches its proofs verify",
                        served.batch,
                        report.batches.len()
                    ),
                )
            })?
    };
    let refused = |e: String| {
        Failure(
            1,
            format!(
                "the sequencer's proof of {} at batch {} is refused: {e}",
                fact.route(),
                served.batch
            ),
        )
    };
    if served.root != root {
        return Err(refused(format!(
            "it claims root {}, but the proofs verify batch {} ends at {}",
            to_hex(&served.root),
            served.batch,
            to_hex(&root)
        )));
    }
    let started = Instant::now();
    let facts = served
        .proof
        .verify(root)
        .map_err(|e| refused(e.to_string()))?;
    Ok(Checked {
        facts,
        proof: served.proof,
        mode: "proofs",
        batch: served.batch,
        root,
        batches: report.batches.len(),
        transactions: report.batches.iter().map(|b| b.transactions).sum(),
        chain_time,
        fact_time: fetched + started.elapsed(),
        history: None,
    })
}

/// Checks the chain and record `id` of `tree` in the state it ends at (read from the
/// verified facts by `read`), and prints the record (or that it does not exist: its leaf is
/// empty and the counters say so).
fn record<R: std::fmt::Debug + serde::Serialize>(
    keys: &mut Keys,
    chain: &FactChain,
    tree: TreeId,
    id: u64,
    read: fn(&ProvenFacts, u64) -> Result<Option<R>, circuits::facts::FactError>,
    json: bool,
) -> Result<(), Failure> {
    let what = tree.name().trim_end_matches('s');
    let checked = fact(keys, chain, &Fact::Record(tree, id), json)?;
    let record = read(&checked.facts, id).map_err(|e| Failure(1, format!("{what} {id}: {e}")))?;
    if json {
        println!(
            "{}",
            json!({ "ok": true, what: id, "record": record, "fact": checked.json(),
                    "cold_start": cold_start(keys),
                    "commitment_parameters": params_used(keys) })
        );
        return Ok(());
    }
    print_params(keys);
    match &record {
        Some(r) => println!("{what} {id}: {r:?}"),
        None => println!("{what} {id}: does not exist (its leaf is empty)"),
    }
    checked.print("its leaf is");
    Ok(())
}

/// Proofs (chunks and ballots) verified in one window of batched checks: bounds the memory
/// a long chain takes while keeping the batching's gain (it flattens out well before this).
const CHUNKS_PER_WINDOW: usize = 256;

fn chain(
    keys: &mut Keys,
    source: &str,
    genesis: &Path,
    observe: &mut dyn FnMut(Replayed<'_>),
) -> Result<verifier::ChainReport, Failure> {
    let state = genesis_state(genesis)?;
    let fetched = Source::parse(source).fetch()?;
    if let (Some(first), Some(last)) = (fetched.unproven.first(), fetched.unproven.last()) {
        eprintln!("note: batches {first}..={last} are not proven yet and are not checked");
    }
    Ok(keys.verify_chain(state, fetched.artifacts, observe)?)
}

fn print_batch(b: &verifier::BatchSummary) {
    println!(
        "batch {}: {} transactions ({} ballots) in {} chunks and {} signature proofs, root {} → {}; chunk proofs {:.1} ms, signature proofs {:.1} ms, ballot proofs {:.1} ms",
        b.number,
        b.transactions,
        b.ballots,
        b.chunks,
        b.signature_proofs,
        &to_hex(&b.root_old)[..12],
        &to_hex(&b.root_new)[..12],
        b.chunk_proofs.as_secs_f64() * 1e3,
        b.signatures_took.as_secs_f64() * 1e3,
        b.ballot_proofs.as_secs_f64() * 1e3,
    );
}
