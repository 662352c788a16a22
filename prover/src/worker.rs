//! The worker mode: a prover on its own machine (or process) that a sequencer started with
//! `--no-prove` drives. The worker follows the sequencer's batches in order from genesis:
//!
//! - a batch already proven (by another worker, or before this one started) is replayed
//!   natively from its sealed transactions (`GET /v1/batches/{n}/transactions`), and its
//!   root must be the sealed one;
//! - a sealed batch without a proof is proven from the state the previous batches left and
//!   its artifact uploaded (`PUT /v1/batches/{n}/artifact`), which the sequencer verifies
//!   before it publishes it;
//! - an open batch, or none yet, is waited for (polling once a second).
//!
//! Network failures are retried with a back-off; an artifact the sequencer refuses, or a
//! sealed batch that does not replay to its sealed root, stops the worker with the reason.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use circuits::{Fp, Genesis, State, Transaction};
use serde::Deserialize;

use crate::{Options, Prover};

/// How the worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The sequencer's base URL (`http://host:port`).
    pub url: String,
    /// The parameter cache.
    pub data_dir: PathBuf,
    /// Slots per chunk (the largest chunk; smaller ones take what is left of a run).
    pub slots: usize,
    /// How to prove (threads, split, progress bars).
    pub options: Options,
    /// Stop when no sealed batch is left to prove, instead of waiting for more.
    pub once: bool,
    /// How long to wait between polls when there is nothing to prove.
    pub poll: Duration,
}

/// Why the worker stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The sequencer answered with an error that retrying will not mend.
    #[error("{url}: HTTP {status}: {body}")]
    Refused {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The sequencer's answer (a JSON error with a code and a message).
        body: String,
    },
    /// An answer cannot be read.
    #[error("{url}: unreadable answer: {message}")]
    Answer {
        /// The URL asked.
        url: String,
        /// Why.
        message: String,
    },
    /// A sealed batch does not replay as the sequencer says.
    #[error("batch {batch}: {message}")]
    Replay {
        /// The batch.
        batch: u64,
        /// What differs.
        message: String,
    },
    /// Proving failed.
    #[error("batch {batch}: {source}")]
    Prove {
        /// The batch.
        batch: u64,
        /// Why.
        source: crate::ProveError,
    },
    /// The HTTP client cannot be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// What the worker did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Batches this worker proved and the sequencer accepted.
    pub proven: Vec<u64>,
    /// Batches proven elsewhere, replayed natively.
    pub replayed: Vec<u64>,
}

#[derive(Deserialize)]
struct BatchStatus {
    status: String,
}

#[derive(Deserialize)]
struct SealedBatch {
    number: u64,
    time: u64,
    root_old: Fp,
    root_new: Fp,
    transactions: Vec<Transaction>,
}

/// An HTTP answer: its status and body, or a network failure (worth retrying).
enum Answer {
    Done(u16, String),
    Network(String),
}

struct Http {
    client: reqwest::blocking::Client,
    base: String,
}

impl Http {
    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Answer {
        match request.send() {
            Ok(response) => {
                let status = response.status().as_u16();
                match response.text() {
                    Ok(body) => Answer::Done(status, body),
                    Err(e) => Answer::Network(e.to_string()),
                }
            }
            Err(e) => Answer::Network(e.to_string()),
        }
    }

    /// Sends until the sequencer answers (network failures retried with a back-off, at most
    /// 30 s apart), and returns the status and body.
    fn until_answered(
        &self,
        what: &str,
        request: impl Fn() -> reqwest::blocking::RequestBuilder,
    ) -> (u16, String) {
        let mut wait = Duration::from_millis(250);
        loop {
            match self.send(request()) {
                Answer::Done(status, body) => return (status, body),
                Answer::Network(e) => {
                    eprintln!(
                        "worker: {what}: {e}; trying again in {:.1} s",
                        wait.as_secs_f64()
                    );
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    fn get<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<Option<T>, WorkerError> {
        let url = format!("{}{path}", self.base);
        let (status, body) = self.until_answered(&url, || self.client.get(&url));
        match status {
            200 => serde_json::from_str(&body)
                .map(Some)
                .map_err(|e| WorkerError::Answer {
                    url,
                    message: e.to_string(),
                }),
            404 => Ok(None),
            _ => Err(WorkerError::Refused { url, status, body }),
        }
    }
}

/// Runs the worker until it is told to stop (`once`: until nothing sealed is left to
/// prove), and says what it did.
pub fn run(config: &WorkerConfig) -> Result<WorkerReport, WorkerError> {
    let http = Http {
        client: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| WorkerError::Client(e.to_string()))?,
        base: config.url.trim_end_matches('/').to_string(),
    };
    let genesis: Genesis = loop {
        if let Some(genesis) = http.get("/v1/genesis")? {
            break genesis;
        }
        std::thread::sleep(config.poll);
    };
    let mut state = genesis.state();
    let mut prover: Option<Prover> = None;
    let mut report = WorkerReport::default();
    let mut next = verifier::FIRST_BATCH;
    loop {
        let status: Option<BatchStatus> = http.get(&format!("/v1/batches/{next}/status"))?;
        let status = status.map(|s| s.status);
        match status.as_deref() {
            None | Some("open") => {
                if config.once {
                    return Ok(report);
                }
                std::thread::sleep(config.poll);
                continue;
            }
            Some(proven_or_sealed) => {
                let batch: SealedBatch = http
                    .get(&format!("/v1/batches/{next}/transactions"))?
                    .ok_or_else(|| WorkerError::Replay {
                        batch: next,
                        message: "listed as sealed, but its transactions are not found".into(),
                    })?;
                check_sealed(&batch, next, &state)?;
                if proven_or_sealed == "proven" {
                    replay(&mut state, &batch)?;
                    report.replayed.push(next);
                } else {
                    if prover.is_none() {
                        let made =
                            Prover::setup(&config.data_dir, config.slots, config.options.progress)
                                .map_err(|source| WorkerError::Prove {
                                    batch: next,
                                    source,
                                })?;
                        prover = Some(made);
                    }
                    let prover = prover.as_ref().expect("set up above");
                    if prove_and_upload(&http, prover, config, &mut state, &batch)? {
                        report.proven.push(next);
                    } else {
                        // Proven by someone else meanwhile: replay it instead.
                        replay(&mut state, &batch)?;
                        report.replayed.push(next);
                    }
                }
                next += 1;
            }
        }
    }
}

fn check_sealed(batch: &SealedBatch, number: u64, state: &State) -> Result<(), WorkerError> {
    if batch.number != number || batch.root_old != state.root() {
        return Err(WorkerError::Replay {
            batch: number,
            message: format!(
                "it starts at root {}, the previous batches end at {}",
                circuits::hash::to_hex(&batch.root_old),
                circuits::hash::to_hex(&state.root())
            ),
        });
    }
    Ok(())
}

fn replay(state: &mut State, batch: &SealedBatch) -> Result<(), WorkerError> {
    let mut after = state.clone();
    for (i, tx) in batch.transactions.iter().enumerate() {
        after
            .apply(tx, batch.time)
            .map_err(|e| WorkerError::Replay {
                batch: batch.number,
                message: format!("transaction {i} is refused by the rules: {e}"),
            })?;
    }
    if after.root() != batch.root_new {
        return Err(WorkerError::Replay {
            batch: batch.number,
            message: "the replayed root is not the sealed one".into(),
        });
    }
    *state = after;
    Ok(())
}

/// Proves `batch` and uploads its artifact; `false` when the sequencer already has one.
fn prove_and_upload(
    http: &Http,
    prover: &Prover,
    config: &WorkerConfig,
    state: &mut State,
    batch: &SealedBatch,
) -> Result<bool, WorkerError> {
    let started = Instant::now();
    let mut after = state.clone();
    let artifact = prover
        .prove_batch(
            &mut after,
            batch.number,
            batch.time,
            &batch.transactions,
            config.options,
        )
        .map_err(|source| WorkerError::Prove {
            batch: batch.number,
            source,
        })?;
    let seconds = started.elapsed().as_secs_f64();
    let url = format!("{}/v1/batches/{}/artifact", http.base, batch.number);
    let json = artifact.to_json();
    let (status, body) = http.until_answered(&url, || {
        http.client
            .put(&url)
            .header("content-type", "application/json")
            .body(json.clone())
    });
    match status {
        200 => {
            eprintln!(
                "worker: batch {} proven: {} transactions in {} chunks, {seconds:.1} s; accepted",
                batch.number,
                batch.transactions.len(),
                artifact.chunks.len()
            );
            *state = after;
            Ok(true)
        }
        409 if body.contains("proven already") => Ok(false),
        _ => Err(WorkerError::Refused { url, status, body }),
    }
}
