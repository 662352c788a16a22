//! The city explorer: a web page at `/` over the public `/v1` API, and the routes the page
//! needs beyond the rest of the API.
//!
//! The page (`assets/explorer/`: one HTML file, one stylesheet, one script, no framework and
//! no build step) is embedded in the binary and reads nothing but `/v1`: batches and their
//! proofs, the energy market, transit, governance, and lookups of an account or a
//! transaction. Its charts are small SVG drawings of its own.
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /` | the page; `GET /explorer/{asset}` its stylesheet and script |
//! | `GET /v1/batches/{n}/entries` | a batch's transactions (open or sealed): position, hash, kind, signer, fields |
//! | `GET /v1/proofs?from=N&limit=M` | proven batches' chunk count, proof bytes, proving time and when they were proven |
//! | `GET /v1/trades?limit=M` | the latest fills of the energy market, oldest first |
//! | `GET /v1/meters/{id}/readings` | a meter's readings and what each minted |
//! | `GET /v1/transit/revenue` | revenue, rides and transfers per operator; riders at the fare cap |
//! | `GET /v1/proposals` | every proposal with its wording, window and live tally |
//! | `GET /v1/openapi.json` | the OpenAPI description of every route ([`crate::api::routes`]) |
//!
//! Trades, readings, fares and proposals' wording are events of the rules, which the log does
//! not keep: an [`Explorer`] follows the durable log with its own replica of the state, as an
//! indexer does, applying each transaction with the rules at its batch's time and keeping
//! what the events say. It replays only on demand (when one of these routes is asked) and
//! only what it has not seen, and reads transactions the writer has already made durable and
//! applied. Nothing here links a ballot to a voter: the rules' events carry no voter, and
//! the page shows tallies only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use circuits::chunk::Family;
use circuits::hash::to_hex;
use circuits::tx::Signer;
use circuits::{Event, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::{parse, St};
use crate::error::ApiError;
use crate::shared::Shared;
use crate::writer::wall_clock;

/// The page.
const INDEX_HTML: &str = include_str!("../assets/explorer/index.html");
/// The page's stylesheet.
const EXPLORER_CSS: &str = include_str!("../assets/explorer/explorer.css");
/// The page's script.
const EXPLORER_JS: &str = include_str!("../assets/explorer/explorer.js");
/// The OpenAPI description of every route.
pub const OPENAPI_JSON: &str = include_str!("../assets/explorer/openapi.json");

/// Most entries one page of `/v1/proofs` or `/v1/trades` holds.
pub const PAGE_LIMIT: u64 = 1000;

/// The explorer's own memory: its replica of the state with what the events said, and the
/// summaries of proven batches' artifacts (which never change once stored).
#[derive(Default)]
pub struct Explorer {
    index: Mutex<Index>,
    proofs: Mutex<BTreeMap<u64, ProofSummary>>,
}

/// One fill of the energy market.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    /// The fill's log position.
    pub position: u64,
    /// Its batch.
    pub batch: u64,
    /// Its batch's time (unix seconds).
    pub time: u64,
    /// The resting order, whose price the trade is at.
    pub maker: u64,
    /// The incoming order.
    pub taker: u64,
    /// The buying account.
    pub buyer: u64,
    /// The selling account.
    pub seller: u64,
    /// Energy, Wh.
    pub quantity: u64,
    /// Cents per kWh.
    pub price: u64,
    /// Cents the buyer paid.
    pub payment: u64,
}

/// One reading of a meter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// Its log position.
    pub position: u64,
    /// Its batch.
    pub batch: u64,
    /// Its batch's time.
    pub time: u64,
    /// Cumulative export the meter signed, Wh.
    pub cumulative: u64,
    /// Energy credits it minted to the owner, Wh.
    pub minted: u64,
}

/// An operator's takings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Takings {
    /// Cents charged.
    pub revenue: u64,
    /// Rides (taps charged, free ones included).
    pub rides: u64,
    /// Of which transfers within a journey.
    pub transfers: u64,
    /// Of which the fare cap reduced.
    pub capped: u64,
}

/// A proposal's wording and window, as the council opened it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wording {
    /// The question.
    pub title: String,
    /// The options' labels.
    pub options: Vec<String>,
    /// Voting opens (inclusive, unix seconds).
    pub start: u64,
    /// Voting closes (exclusive).
    pub end: u64,
}

/// What the explorer's replay of the log has seen.
#[derive(Default)]
struct Index {
    /// The replica: every transaction before `next` applied (none until first asked).
    state: Option<circuits::State>,
    /// The next log position to replay.
    next: u64,
    trades: Vec<Trade>,
    readings: BTreeMap<u64, Vec<Reading>>,
    takings: BTreeMap<u64, Takings>,
    proposals: BTreeMap<u64, Wording>,
    /// Delegate id -> its account.
    delegates: BTreeMap<u64, u64>,
}

impl Index {
    /// Replays what the writer has made durable and applied since the last call.
    fn catch_up(&mut self, shared: &Shared) -> Result<(), ApiError> {
        // The spans to replay, (batch, time, first, end), read under the core's lock; the
        // log's entries below `log_len` are durable and never change.
        let spans: Vec<(u64, u64, u64, u64)> = {
            let core = shared.core.read().expect("no panics");
            let from = core.sealed.partition_point(|b| b.end <= self.next);
            let mut spans: Vec<_> = core.sealed[from..]
                .iter()
                .map(|b| (b.number, b.time, b.first.max(self.next), b.end))
                .collect();
            if let Some(open) = core.open.as_ref().filter(|o| o.count > 0) {
                spans.push((
                    open.number,
                    open.time,
                    open.first.max(self.next),
                    core.log_len,
                ));
            }
            spans
        };
        let state = self.state.get_or_insert_with(|| shared.genesis.state());
        for (batch, time, first, end) in spans {
            if first >= end {
                continue;
            }
            let txs = shared
                .store
                .transactions(first, end)
                .map_err(|e| ApiError::Internal(format!("reading the log: {e}")))?;
            for (position, tx) in (first..end).zip(&txs) {
                let event = state.apply(tx, time).map_err(|e| {
                    ApiError::Internal(format!(
                        "the explorer's replay refuses log entry {position}: {e}"
                    ))
                })?;
                let at = (position, batch, time);
                observe(
                    at,
                    tx,
                    event,
                    &mut self.trades,
                    &mut self.readings,
                    &mut self.takings,
                    &mut self.proposals,
                    &mut self.delegates,
                );
            }
            self.next = end;
        }
        Ok(())
    }
}

/// Keeps what one applied transaction's event says.
#[allow(clippy::too_many_arguments)]
fn observe(
    (position, batch, time): (u64, u64, u64),
    tx: &Transaction,
    event: Event,
    trades: &mut Vec<Trade>,
    readings: &mut BTreeMap<u64, Vec<Reading>>,
    takings: &mut BTreeMap<u64, Takings>,
    proposals: &mut BTreeMap<u64, Wording>,
    delegates: &mut BTreeMap<u64, u64>,
) {
    match (event, tx) {
        (
            Event::Traded {
                maker,
                taker,
                buyer,
                seller,
                quantity,
                price,
                payment,
                ..
            },
            _,
        ) => trades.push(Trade {
            position,
            batch,
            time,
            maker,
            taker,
            buyer,
            seller,
            quantity,
            price,
            payment,
        }),
        (Event::Minted { meter, energy, .. }, Transaction::MeterReading(r)) => {
            readings.entry(meter).or_default().push(Reading {
                position,
                batch,
                time,
                cumulative: r.cumulative,
                minted: energy,
            })
        }
        (Event::OperatorRegistered { operator }, _) => {
            takings.entry(operator).or_default();
        }
        (
            Event::Fare {
                operator,
                charged,
                transfer,
                capped,
                ..
            },
            _,
        ) => {
            let t = takings.entry(operator).or_default();
            t.revenue += charged;
            t.rides += 1;
            t.transfers += u64::from(transfer);
            t.capped += u64::from(capped);
        }
        (Event::ProposalCreated { proposal }, Transaction::CreateProposal(p)) => {
            proposals.insert(
                proposal,
                Wording {
                    title: p.title.clone(),
                    options: p.options.clone(),
                    start: p.start,
                    end: p.end,
                },
            );
        }
        (Event::DelegateRegistered { account, delegate }, _) => {
            delegates.insert(delegate, account);
        }
        _ => {}
    }
}

impl Explorer {
    /// Runs `f` on the index brought up to date with the log, off the async threads.
    async fn with_index<T: Send + 'static>(
        self: &Arc<Self>,
        shared: Arc<Shared>,
        f: impl FnOnce(&Index, &Shared) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut index = me.index.lock().expect("no panics");
            index.catch_up(&shared)?;
            Ok(f(&index, &shared))
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    }
}

type Ex = Extension<Arc<Explorer>>;

/// The query of `/v1/proofs`: the first batch and how many.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Range {
    from: Option<u64>,
    limit: Option<u64>,
}

/// The `limit` of a query, `default` when absent; at most [`PAGE_LIMIT`].
fn limit_of(limit: Option<u64>, default: u64) -> Result<u64, ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=PAGE_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit {limit} is outside 1..={PAGE_LIMIT}"
        )));
    }
    Ok(limit)
}

/// A proven batch's proof, as the explorer lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProofSummary {
    /// The batch.
    pub number: u64,
    /// Its chunk proofs.
    pub chunks: u64,
    /// Bytes of its chunk proofs.
    pub proof_bytes: u64,
    /// Its chunks per circuit family.
    pub families: BTreeMap<Family, u64>,
    /// Seconds its proving took, when this process proved it since it started.
    pub proving_seconds: Option<f64>,
    /// Unix time (milliseconds) it was proven, when that happened since this process started.
    pub proven_at_ms: Option<u64>,
}

/// The chunk count and proof bytes of a stored artifact.
pub fn summarize(number: u64, artifact_json: &str) -> Result<ProofSummary, ApiError> {
    let artifact: verifier::BatchArtifact = serde_json::from_str(artifact_json)
        .map_err(|e| ApiError::Internal(format!("batch {number}'s stored artifact: {e}")))?;
    let mut families = BTreeMap::new();
    for chunk in &artifact.chunks {
        *families.entry(chunk.family).or_default() += 1;
    }
    Ok(ProofSummary {
        number,
        chunks: artifact.chunks.len() as u64,
        // Chunk and signature proofs: what an auditor downloads to check the batch.
        proof_bytes: artifact
            .chunk_proofs
            .iter()
            .map(|p| p.proof.len() as u64)
            .chain(artifact.signatures.iter().map(|p| p.proof.len() as u64))
            .sum(),
        families,
        proving_seconds: None,
        proven_at_ms: None,
    })
}

/// `GET /v1/proofs?from=N&limit=M`: the proven batches among `N..N+M`.
pub(crate) async fn proofs(
    State((app, _)): St,
    Extension(explorer): Ex,
    query: Result<Query<Range>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(range) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let from = range.from.unwrap_or(1).max(1);
    let limit = limit_of(range.limit, 100)?;
    let shared = app.shared.clone();
    let list = tokio::task::spawn_blocking(move || {
        let (proven, timings) = {
            let book = shared.proofs.lock().expect("no panics");
            let end = from.saturating_add(limit);
            let timings: BTreeMap<u64, _> = book
                .timings
                .range(from..end)
                .map(|(n, t)| (*n, *t))
                .collect();
            (book.proven_through, timings)
        };
        let mut list = Vec::new();
        for number in (from..=proven).take(limit as usize) {
            let cached = explorer
                .proofs
                .lock()
                .expect("no panics")
                .get(&number)
                .cloned();
            let mut summary = match cached {
                Some(summary) => summary,
                None => {
                    let json = shared
                        .store
                        .artifact(number)
                        .map_err(|e| ApiError::Internal(e.to_string()))?
                        .ok_or_else(|| {
                            ApiError::Internal(format!("proven batch {number} has no artifact"))
                        })?;
                    let summary = summarize(number, &json)?;
                    explorer
                        .proofs
                        .lock()
                        .expect("no panics")
                        .insert(number, summary.clone());
                    summary
                }
            };
            if let Some(t) = timings.get(&number) {
                summary.proving_seconds = t.proving_seconds;
                summary.proven_at_ms = Some(t.proven_at_ms);
            }
            list.push(summary);
        }
        Ok::<_, ApiError>((list, proven))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(json!({ "proofs": list.0, "latest_proven": list.1 })))
}

/// One transaction of a batch as the page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Its log position.
    pub position: u64,
    /// Its hash (the id `GET /v1/transactions/{hash}` takes).
    pub hash: String,
    /// Its kind.
    pub kind: String,
    /// Who signed it: `account N`, `meter N`, or `anonymous` (a ballot).
    pub signer: String,
    /// Its fields, without signature or proof.
    pub fields: Value,
    /// Bytes of its proof (a ballot's), 0 for the others.
    pub proof_bytes: u64,
}

fn entry(position: u64, tx: &Transaction) -> Entry {
    let mut fields = serde_json::to_value(tx).unwrap_or(Value::Null);
    let mut proof_bytes = 0;
    if let Value::Object(map) = &mut fields {
        map.remove("signature");
        if let Some(Value::String(proof)) = map.remove("proof") {
            proof_bytes = proof.len() as u64 / 2;
        }
    }
    Entry {
        position,
        hash: to_hex(&tx.id()),
        kind: tx.kind_name().into(),
        signer: match tx.signer() {
            Signer::Account(id) => format!("account {id}"),
            Signer::Meter(id) => format!("meter {id}"),
            Signer::Anonymous => "anonymous".into(),
        },
        fields,
        proof_bytes,
    }
}

/// `GET /v1/batches/{n}/entries`: the transactions of batch `n`, open or sealed.
pub(crate) async fn batch_entries(
    State((app, _)): St,
    Path(number): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let number: u64 = parse(&number, "batch number")?;
    let span = {
        let core = app.shared.core.read().expect("no panics");
        let sealed = number
            .checked_sub(1)
            .and_then(|i| core.sealed.get(usize::try_from(i).ok()?));
        match (sealed, core.open.as_ref()) {
            (Some(b), _) => Some((b.first, b.end, b.time, false)),
            (None, Some(o)) if o.number == number && o.count > 0 => {
                Some((o.first, core.log_len, o.time, true))
            }
            _ => None,
        }
    };
    let (first, end, time, open) =
        span.ok_or_else(|| ApiError::NotFound(format!("batch {number} does not exist")))?;
    let shared = app.shared.clone();
    let txs = tokio::task::spawn_blocking(move || shared.store.transactions(first, end))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("reading batch {number}: {e}")))?;
    let entries: Vec<Entry> = (first..end).zip(&txs).map(|(p, tx)| entry(p, tx)).collect();
    Ok(Json(json!({
        "number": number,
        "time": time,
        "open": open,
        "entries": entries,
    })))
}

/// The query of `/v1/trades`: how many of the latest.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Latest {
    limit: Option<u64>,
}

/// `GET /v1/trades?limit=M`: the latest `M` fills (default 200), oldest first, and how many
/// there are in all.
pub(crate) async fn trades(
    State((app, _)): St,
    Extension(explorer): Ex,
    query: Result<Query<Latest>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = limit_of(q.limit, 200)? as usize;
    explorer
        .with_index(app.shared.clone(), move |index, _| {
            let all = &index.trades;
            let latest = &all[all.len().saturating_sub(limit)..];
            Json(json!({ "trades": latest, "total": all.len() }))
        })
        .await
}

/// `GET /v1/meters/{id}/readings`: every reading of a meter, in order.
pub(crate) async fn meter_readings(
    State((app, _)): St,
    Extension(explorer): Ex,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: u64 = parse(&id, "meter id")?;
    explorer
        .with_index(app.shared.clone(), move |index, _| {
            let state = index.state.as_ref().expect("caught up");
            let meter = state
                .meter(id)
                .ok_or_else(|| ApiError::NotFound(format!("meter {id} does not exist")))?;
            Ok(Json(json!({
                "meter": id,
                "owner": meter.owner,
                "last_cumulative": meter.last_cumulative,
                "readings": index.readings.get(&id).cloned().unwrap_or_default(),
            })))
        })
        .await?
}

/// `GET /v1/transit/revenue`: takings per operator, and the riders whose spending in their
/// current cap period has reached the fare cap (account numbers only).
pub(crate) async fn transit_revenue(
    State((app, _)): St,
    Extension(explorer): Ex,
) -> Result<Json<Value>, ApiError> {
    explorer
        .with_index(app.shared.clone(), move |index, shared| {
            let state = index.state.as_ref().expect("caught up");
            let now = {
                let core = shared.core.read().expect("no panics");
                wall_clock().max(core.last_time())
            };
            let params = &shared.genesis.params;
            let at_cap: Vec<u64> = (0..state.counters().accounts)
                .filter(|id| {
                    state.account(*id).is_some_and(|a| {
                        let r = a.rider;
                        r.cap_start != 0
                            && u128::from(now)
                                < u128::from(r.cap_start) + u128::from(params.cap_period)
                            && r.cap_spent >= params.fare_cap
                    })
                })
                .collect();
            let operators: Vec<Value> = index
                .takings
                .iter()
                .map(|(operator, t)| {
                    json!({
                        "operator": operator,
                        "name": account_label(&shared.genesis, *operator),
                        "revenue": t.revenue,
                        "rides": t.rides,
                        "transfers": t.transfers,
                        "capped": t.capped,
                    })
                })
                .collect();
            let sum = |f: fn(&Takings) -> u64| index.takings.values().map(f).sum::<u64>();
            Json(json!({
                "time": now,
                "operators": operators,
                "totals": {
                    "revenue": sum(|t| t.revenue),
                    "rides": sum(|t| t.rides),
                    "transfers": sum(|t| t.transfers),
                    "capped": sum(|t| t.capped),
                },
                "fare_cap": params.fare_cap,
                "cap_period": params.cap_period,
                "riders_at_cap": { "count": at_cap.len(), "accounts": at_cap },
            }))
        })
        .await
}

/// The genesis label of an account, if it has one (operators and residents of a genesis
/// are public accounts).
fn account_label(genesis: &circuits::Genesis, account: u64) -> Option<String> {
    let i = account.checked_sub(circuits::constants::AUTHORITY_COUNT)?;
    genesis
        .accounts
        .get(usize::try_from(i).ok()?)
        .map(|a| a.name.clone())
        .filter(|n| !n.is_empty())
}

/// `GET /v1/proposals`: every proposal with its wording, window, status at the current
/// time (`upcoming`, `open`, `closed`), voter-set size, the public accounts of its
/// delegates, and its live tally.
pub(crate) async fn proposals(
    State((app, _)): St,
    Extension(explorer): Ex,
) -> Result<Json<Value>, ApiError> {
    explorer
        .with_index(app.shared.clone(), move |index, shared| {
            // Records and tallies from the replica, so that they agree with the wording.
            let state = index.state.as_ref().expect("caught up");
            let (now, snapshots) = {
                let core = shared.core.read().expect("no panics");
                let now = wall_clock().max(core.last_time());
                (now, core.snapshots.clone())
            };
            let list: Vec<Value> = (0..state.counters().proposals)
                .map(|id| {
                    let wording = index.proposals.get(&id);
                    let record = state.proposal(id).unwrap_or_default();
                    let status = if now < record.start {
                        "upcoming"
                    } else if now < record.end {
                        "open"
                    } else {
                        "closed"
                    };
                    json!({
                        "id": id,
                        "title": wording.map(|w| w.title.clone()),
                        "options": wording.map(|w| w.options.clone()),
                        "start": record.start,
                        "end": record.end,
                        "status": status,
                        "voters": snapshots.get(&id),
                        "tally": state.tally_result(id),
                    })
                })
                .collect();
            let delegates: BTreeMap<String, u64> = index
                .delegates
                .iter()
                .map(|(d, a)| (d.to_string(), *a))
                .collect();
            Json(json!({ "time": now, "proposals": list, "delegates": delegates }))
        })
        .await
}

/// `GET /v1/openapi.json`.
pub(crate) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

/// `GET /`: the page.
pub(crate) async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

/// `GET /explorer/{asset}`: the page's stylesheet and script.
pub(crate) async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    let (body, kind) = match name.as_str() {
        "explorer.css" => (EXPLORER_CSS, "text/css; charset=utf-8"),
        "explorer.js" => (EXPLORER_JS, "text/javascript; charset=utf-8"),
        _ => {
            return Err(ApiError::NotFound(format!(
                "no explorer asset `{name}`: explorer.css or explorer.js"
            )))
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use circuits::records::Side;
    use circuits::Fp;

    #[test]
    fn a_summary_counts_chunks_and_proof_bytes_per_family() {
        let chunk = |family| verifier::artifact::ChunkArtifact {
            family,
            slots: 1,
            transactions: 1,
            root_old: Fp::zero(),
            root_new: Fp::zero(),
            data_hash: Fp::zero(),
            signers: vec![None],
        };
        let proof = |chunks: Vec<usize>, bytes: usize| verifier::ChunkProofArtifact {
            chunks,
            proof: vec![7; bytes],
        };
        let artifact = verifier::BatchArtifact {
            version: verifier::artifact::VERSION,
            number: 3,
            time: 10,
            root_old: Fp::zero(),
            root_new: Fp::zero(),
            transactions: Vec::new(),
            chunks: vec![
                chunk(Family::Accounts),
                chunk(Family::Market),
                chunk(Family::Accounts),
            ],
            chunk_proofs: vec![proof(vec![0, 2], 125), proof(vec![1], 50)],
            signatures: vec![verifier::SignatureArtifact {
                k: 11,
                signatures: 2,
                proof: vec![7; 10],
            }],
        };
        let summary = summarize(3, &artifact.to_json()).unwrap();
        assert_eq!(summary.chunks, 3);
        assert_eq!(summary.proof_bytes, 185);
        assert_eq!(summary.families[&Family::Accounts], 2);
        assert_eq!(summary.families[&Family::Market], 1);
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["families"], json!({ "accounts": 2, "market": 1 }));
        assert_eq!(json["proving_seconds"], Value::Null);
        assert!(summarize(3, "{\"version\": 1").is_err());
    }

    #[test]
    fn an_entry_drops_the_signature_and_counts_a_proof() {
        let mut city = circuits::demo::City::new(2);
        let (a, b) = (city.resident(0), city.resident(1));
        let tx = city.transfer(a, b, 5);
        let e = entry(9, &tx);
        assert_eq!((e.position, e.kind.as_str()), (9, "transfer"));
        assert_eq!(e.signer, format!("account {a}"));
        assert_eq!(e.hash, to_hex(&tx.id()));
        assert_eq!(e.fields["amount"], 5);
        assert!(e.fields.get("signature").is_none());
        assert_eq!(e.proof_bytes, 0);
        let voter = circuits::demo::demo_voter(0);
        let commit = city.register_voter(voter.commitment());
        city.apply(&commit, 1_767_230_000).unwrap();
        let mut ballot = city.ballot(&voter, 0, circuits::voter::Vote::Option(0));
        if let Transaction::Ballot(b) = &mut ballot {
            b.proof = vec![1; 40];
        }
        let e = entry(10, &ballot);
        assert_eq!((e.signer.as_str(), e.proof_bytes), ("anonymous", 40));
        assert!(e.fields.get("proof").is_none());
    }

    #[test]
    fn limits_outside_the_page_are_refused() {
        assert_eq!(limit_of(None, 200).unwrap(), 200);
        assert_eq!(limit_of(Some(PAGE_LIMIT), 1).unwrap(), PAGE_LIMIT);
        for bad in [0, PAGE_LIMIT + 1] {
            let e = limit_of(Some(bad), 1).unwrap_err();
            assert_eq!(e.code(), "bad_request");
        }
    }

    #[test]
    fn the_index_keeps_trades_readings_fares_and_wording() {
        let mut city = circuits::demo::City::new(4);
        let t = 1_767_230_000;
        let metro = city.id("operator-metro");
        let (r0, r1) = (city.resident(0), city.resident(1));
        let mut trades = Vec::new();
        let mut readings = BTreeMap::new();
        let mut takings = BTreeMap::new();
        let mut proposals = BTreeMap::new();
        let mut delegates = BTreeMap::new();
        let mut position = 0;
        let mut run = |city: &mut circuits::demo::City, tx: Transaction| {
            let event = city.apply(&tx, t).unwrap();
            observe(
                (position, 1, t),
                &tx,
                event,
                &mut trades,
                &mut readings,
                &mut takings,
                &mut proposals,
                &mut delegates,
            );
            position += 1;
        };
        let tx = city.register_operator(metro, [120, 240, 360, 480]);
        run(&mut city, tx);
        let tx = city.tap(r1, metro, 1, t - 30);
        run(&mut city, tx);
        let (tx, key) = city.register_meter(r0, "m");
        run(&mut city, tx);
        city.add_meter_key(0, key);
        let tx = city.reading(0, 3_000);
        run(&mut city, tx);
        let tx = city.order(r0, Side::Sell, 2_000, 12, t + 100);
        run(&mut city, tx);
        let tx = city.order(r1, Side::Buy, 500, 15, t + 100);
        run(&mut city, tx);
        let tx = city.fill(0, 1, 500);
        run(&mut city, tx);
        let tx = city.register_delegate(r1);
        run(&mut city, tx);
        let tx = city.proposal("Q?", &["x", "y"], t, t + 10);
        run(&mut city, tx);
        assert_eq!(trades.len(), 1);
        assert_eq!(
            (trades[0].quantity, trades[0].price, trades[0].buyer),
            (500, 12, r1)
        );
        assert_eq!(readings[&0][0].minted, 3_000);
        assert_eq!(takings[&metro].rides, 1);
        assert_eq!(takings[&metro].revenue, 240);
        assert_eq!(proposals[&0].options, vec!["x", "y"]);
        assert_eq!(delegates[&0], r1);
    }
}
