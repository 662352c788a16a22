//! The HTTP API (JSON, under `/v1`).
//!
//! | route | answer |
//! | --- | --- |
//! | `POST /v1/transactions` | 202 [`Receipt`]: hash, log position, batch, event (and an order's fills), once durable |
//! | `GET /v1/transactions/{hash}` | `pending` (in the open batch), `sealed`, `proven`, or `rejected` with the reason |
//! | `GET /v1/batches?from=N&limit=M` | batches with number, time, transaction count, status, roots |
//! | `GET /v1/batches/{n}` | the batch artifact ([`verifier::BatchArtifact`] JSON) once proven; 404 `not_proven` before |
//! | `GET /v1/batches/{n}/status` | one batch's entry of the list |
//! | `GET /v1/state` | root, header, counters, latest batches |
//! | `GET /v1/accounts/{id}`, `/v1/meters/{id}`, `/v1/orders/{id}` | the record and its inclusion proof against the current root |
//! | `GET /v1/orderbook` | bids and asks by price level |
//! | `GET /v1/proposals/{id}` | the proposal and `voters`, the size `N` of its voter set (the first `N` commitments registered) |
//! | `GET /v1/proposals/{id}/tally` | its resolved tally |
//! | `GET /v1/voters?from=N&limit=M` | a [`VoterPage`]: registered commitments in position order, at most [`VOTER_PAGE_LIMIT`], and the total |
//!
//! There is no route that looks up a commitment or serves a voter's Merkle path: a voter's
//! client syncs the whole voter set of a proposal and finds its own path locally, so the
//! operator never learns which voter is about to vote (`client::voters`).
//! | `GET /v1/genesis` | the genesis file |
//! | `GET /v1/proven` | the last proven batch, its root and the root's preimage (tree roots, counters) |
//! | `GET /v1/proven/{accounts,meters,orders,proposals}/{id}` | a [`circuits::facts::ProvenFact`]: the record (an empty leaf if none) with its path, in the state the last proven batch leaves |
//! | `GET /v1/proven/proposals/{id}/tally` | a [`circuits::facts::ProvenFact`] of the proposal and every tally slot its result is resolved from |
//! | `GET /v1/batches/{n}/entries`, `/v1/proofs`, `/v1/trades`, `/v1/meters/{id}/readings`, `/v1/transit/revenue`, `/v1/proposals` | what the explorer reads ([`crate::explorer`]) |
//! | `GET /v1/openapi.json` | the OpenAPI description of every route in [`routes`] |
//! | `GET /`, `GET /explorer/{asset}` | the explorer's page and its stylesheet and script |
//! | `GET /health`, `GET /metrics` | liveness, Prometheus text |
//!
//! Errors are JSON `{"code", "message"}` ([`crate::error::ApiError`]).

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::TrySendError;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Extension, Json, Router};
use circuits::facts::{ProvenFact, StateProof};
use circuits::hash::to_hex;
use circuits::state::TreeId;
use circuits::{Fp, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::core::{key_of, Core, Key};
use crate::error::ApiError;
use crate::server::AppState;
use crate::writer::{wall_clock, Receipt, Request};

/// One route: its method and path (`{name}` for a path parameter) as the router serves it
/// and `/v1/openapi.json` describes it ([`routes`] is the one list of both).
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path.
    pub path: &'static str,
    handler: MethodRouter<(AppState, usize)>,
}

fn route<H, T>(method: Method, path: &'static str, handler: H) -> Route
where
    H: Handler<T, (AppState, usize)>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
    Route {
        method,
        path,
        handler: on(filter, handler),
    }
}

/// Every route of the service: the API under `/v1`, health and metrics, and the explorer's
/// page ([`crate::explorer`]).
pub fn routes() -> Vec<Route> {
    use crate::explorer as x;
    let mut upload = route(
        Method::PUT,
        "/v1/batches/{number}/artifact",
        upload_artifact,
    );
    upload.handler = upload.handler.layer(DefaultBodyLimit::max(ARTIFACT_LIMIT));
    vec![
        route(Method::POST, "/v1/transactions", submit),
        route(Method::GET, "/v1/transactions/{hash}", transaction_status),
        route(Method::GET, "/v1/batches", batches),
        route(Method::GET, "/v1/batches/{number}", batch_artifact),
        route(Method::GET, "/v1/batches/{number}/status", batch_status),
        route(
            Method::GET,
            "/v1/batches/{number}/transactions",
            batch_transactions,
        ),
        route(
            Method::GET,
            "/v1/batches/{number}/entries",
            x::batch_entries,
        ),
        upload,
        route(Method::GET, "/v1/proofs", x::proofs),
        route(Method::GET, "/v1/state", state_summary),
        route(Method::GET, "/v1/accounts/{id}", account),
        route(Method::GET, "/v1/meters/{id}", meter),
        route(Method::GET, "/v1/meters/{id}/readings", x::meter_readings),
        route(Method::GET, "/v1/orders/{id}", order),
        route(Method::GET, "/v1/orderbook", orderbook),
        route(Method::GET, "/v1/trades", x::trades),
        route(Method::GET, "/v1/transit/revenue", x::transit_revenue),
        route(Method::GET, "/v1/proposals", x::proposals),
        route(Method::GET, "/v1/proposals/{id}", proposal),
        route(Method::GET, "/v1/proposals/{id}/tally", tally),
        route(Method::GET, "/v1/ballots/{nullifier}", ballot_record),
        route(Method::GET, "/v1/voters", voter_page),
        route(Method::GET, "/v1/genesis", genesis),
        route(Method::GET, "/v1/proven", proven_header),
        route(Method::GET, "/v1/proven/proposals/{id}/tally", proven_tally),
        route(Method::GET, "/v1/proven/{tree}/{index}", proven_record),
        route(Method::GET, "/v1/openapi.json", x::openapi),
        route(Method::GET, "/health", health),
        route(Method::GET, "/metrics", metrics),
        route(Method::GET, "/", x::page),
        route(Method::GET, "/explorer/{asset}", x::asset),
    ]
}

/// The API's routes over `state`, with request bodies limited to `body_limit` bytes.
pub fn router(state: AppState, body_limit: usize) -> Router {
    let mut router = Router::new();
    for Route { path, handler, .. } in routes() {
        router = router.route(path, handler);
    }
    router
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(Extension(std::sync::Arc::new(
            crate::explorer::Explorer::default(),
        )))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state((state, body_limit))
}

pub(crate) type St = State<(AppState, usize)>;

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route {method} {}", uri.path()))
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    let body = crate::error::ErrorBody {
        code: "method_not_allowed".into(),
        message: format!("{method} is not allowed on {}", uri.path()),
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

pub(crate) fn parse<T: FromStr>(text: &str, what: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::BadRequest(format!("{what} `{text}` is not a number")))
}

fn parse_field(text: &str, what: &str) -> Result<Fp, ApiError> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|e| {
        ApiError::BadRequest(format!(
            "{what} `{text}` is not a field element (64 hex digits): {e}"
        ))
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// `POST /v1/transactions`.
async fn submit(
    State((app, limit)): St,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let started = Instant::now();
    let (kind, result) = submit_inner(&app, limit, &headers, body).await;
    let metrics = &app.shared.metrics;
    metrics.ingest_latency(started.elapsed().as_secs_f64());
    match result {
        Ok(receipt) => (StatusCode::ACCEPTED, Json(receipt)).into_response(),
        Err(e) => {
            metrics.rejected(kind, &e.code());
            e.into_response()
        }
    }
}

async fn submit_inner(
    app: &AppState,
    limit: usize,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> (&'static str, Result<Receipt, ApiError>) {
    let unparsed = "unparsed";
    if app.shared.is_shutting_down() {
        return (unparsed, Err(ApiError::ShuttingDown));
    }
    if !is_json(headers) {
        return (unparsed, Err(ApiError::UnsupportedMediaType));
    }
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return (unparsed, Err(ApiError::PayloadTooLarge { limit }))
        }
        Err(e) => return (unparsed, Err(ApiError::BadRequest(e.body_text()))),
    };
    let tx: Transaction = match serde_json::from_slice(&body) {
        Ok(tx) => tx,
        Err(e) => return (unparsed, Err(ApiError::from_json(&e))),
    };
    let kind = tx.kind_name();
    if let Transaction::Ballot(ballot) = &tx {
        if let Err(e) = check_ballot_proof(app, ballot.clone()).await {
            if let ApiError::BadBallotProof(_) = &e {
                app.shared
                    .rejections
                    .lock()
                    .expect("no panics")
                    .insert(key_of(&tx.id()), e.body());
            }
            return (kind, Err(e));
        }
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    // The id and the signature are checked here, on the blocking pool, many at once; the
    // single writer then only applies the rules.
    let request = {
        let shared = app.shared.clone();
        let chain = app.shared.chain;
        match tokio::task::spawn_blocking(move || {
            Request::prepare(tx, &shared.signer_keys, chain, reply)
        })
        .await
        {
            Ok(request) => request,
            Err(e) => return (kind, Err(ApiError::Internal(e.to_string()))),
        }
    };
    let id = request.id;
    let depth = &app.shared.metrics.queue_depth;
    depth.fetch_add(1, Ordering::Relaxed);
    match app.queue.try_send(request) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => {
            depth.fetch_sub(1, Ordering::Relaxed);
            return (
                kind,
                Err(ApiError::Overloaded {
                    depth: app.queue_capacity,
                }),
            );
        }
        Err(TrySendError::Disconnected(_)) => {
            depth.fetch_sub(1, Ordering::Relaxed);
            return (kind, Err(ApiError::ShuttingDown));
        }
    }
    match answer.await {
        Ok(Ok(receipt)) => (kind, Ok(receipt)),
        Ok(Err(refused)) => {
            let e = ApiError::from(refused);
            if let ApiError::Rejected(_) = &e {
                // What `GET /v1/transactions/{hash}` says of it, before the client hears.
                app.shared
                    .rejections
                    .lock()
                    .expect("no panics")
                    .insert(key_of(&id), e.body());
            }
            (kind, Err(e))
        }
        Err(_) => (kind, Err(ApiError::ShuttingDown)),
    }
}

/// Verifies a ballot's proof against its own public inputs, off the async threads. The
/// rules (window, voter-root snapshot, option, delegate, nullifier) are checked by the writer
/// against the state it holds, so together this is `ballot::check`; the proof goes first
/// here so that the 7 ms it takes never holds up the single writer.
async fn check_ballot_proof(app: &AppState, ballot: circuits::tx::Ballot) -> Result<(), ApiError> {
    let shared = app.shared.clone();
    tokio::task::spawn_blocking(move || {
        let keys = shared.ballot_keys().map_err(ApiError::Internal)?;
        circuits::ballot::verify(
            keys.params(),
            keys.verifying_key(),
            &circuits::ballot::instance_of(&ballot),
            &ballot.proof,
        )
        .map_err(|e| ApiError::BadBallotProof(e.to_string()))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// One batch as the API lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchView {
    /// Its number.
    pub number: u64,
    /// Its time.
    pub time: u64,
    /// Its transactions.
    pub transactions: u64,
    /// Its first log position.
    pub first: u64,
    /// `open`, `sealed` (waiting for its proof), `proving`, `failed` (retried), `proven`.
    pub status: String,
    /// The root before it.
    pub root_old: Fp,
    /// The root after it (absent while open).
    pub root_new: Option<Fp>,
    /// Failed proving attempts.
    #[serde(default)]
    pub proving_failures: u32,
    /// Why the last attempt failed.
    #[serde(default)]
    pub proving_error: Option<String>,
    /// With a prover fleet (`--postgres`): the batch's chunk jobs by status, until it is
    /// published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<prover::fleet::BatchProgress>,
}

fn batch_view(app: &AppState, core: &Core, number: u64) -> Option<BatchView> {
    if let Some(open) = core
        .open
        .as_ref()
        .filter(|o| o.number == number && o.count > 0)
    {
        return Some(BatchView {
            number,
            time: open.time,
            transactions: open.count,
            first: open.first,
            status: "open".into(),
            root_old: open.root_old,
            root_new: None,
            proving_failures: 0,
            proving_error: None,
            chunks: None,
        });
    }
    let record = core.sealed.get(number.checked_sub(1)? as usize)?;
    let book = app.shared.proofs.lock().expect("no panics");
    let attempts = book.attempts.get(&number).cloned().unwrap_or_default();
    let fleet = book
        .fleet
        .as_ref()
        .and_then(|f| f.batches.get(&number))
        .filter(|_| number > book.proven_through)
        .cloned();
    let status = if number <= book.proven_through {
        "proven"
    } else if let Some(progress) = &fleet {
        crate::pipeline::status(progress)
    } else if attempts.proving_since.is_some() {
        "proving"
    } else if attempts.failures > 0 {
        "failed"
    } else {
        "sealed"
    };
    Some(BatchView {
        number,
        time: record.time,
        transactions: record.transactions(),
        first: record.first,
        status: status.into(),
        root_old: record.root_old,
        root_new: Some(record.root_new),
        proving_failures: fleet
            .as_ref()
            .map_or(attempts.failures, |p| p.failed_attempts as u32),
        proving_error: fleet
            .as_ref()
            .and_then(|p| p.error.clone())
            .or(attempts.last_error),
        chunks: fleet,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    from: Option<u64>,
    limit: Option<u64>,
}

/// `GET /v1/batches`.
async fn batches(
    State((app, _)): St,
    query: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(page) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let core = app.shared.core.read().expect("no panics");
    let last = core
        .open
        .as_ref()
        .filter(|o| o.count > 0)
        .map_or(core.sealed.len() as u64, |o| o.number);
    let from = page.from.unwrap_or(1).max(1);
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    let list: Vec<BatchView> = (from..=last)
        .take(limit as usize)
        .filter_map(|n| batch_view(&app, &core, n))
        .collect();
    Ok(Json(json!({ "batches": list, "latest": last })))
}

/// `GET /v1/batches/{n}/status`.
async fn batch_status(
    State((app, _)): St,
    Path(number): Path<String>,
) -> Result<Json<BatchView>, ApiError> {
    let number: u64 = parse(&number, "batch number")?;
    let core = app.shared.core.read().expect("no panics");
    batch_view(&app, &core, number)
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("batch {number} does not exist")))
}

/// Largest artifact a prover worker may upload (a batch of 1,000 transactions in one-slot
/// chunks is about 5 MB).
pub const ARTIFACT_LIMIT: usize = 64 << 20;

/// `GET /v1/batches/{n}/transactions`: a sealed batch's time, roots and transactions, for a
/// prover worker.
async fn batch_transactions(
    State((app, _)): St,
    Path(number): Path<String>,
) -> Result<Json<crate::proving::SealedBatch>, ApiError> {
    let number: u64 = parse(&number, "batch number")?;
    Ok(Json(crate::proving::sealed_batch(&app.shared, number)?))
}

/// `PUT /v1/batches/{n}/artifact`: a prover worker's artifact (`prover worker`), taken only
/// by a sequencer started with `--no-prove` ([`crate::proving::accept_upload`]).
async fn upload_artifact(
    State((app, _)): St,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BatchView>, ApiError> {
    let number: u64 = parse(&number, "batch number")?;
    if !is_json(&headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError::PayloadTooLarge {
                limit: ARTIFACT_LIMIT,
            })
        }
        Err(e) => return Err(ApiError::BadRequest(e.body_text())),
    };
    let shared = app.shared.clone();
    tokio::task::spawn_blocking(move || crate::proving::accept_upload(&shared, number, &body))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let core = app.shared.core.read().expect("no panics");
    batch_view(&app, &core, number)
        .map(Json)
        .ok_or_else(|| ApiError::Internal(format!("batch {number} vanished")))
}

/// `GET /v1/batches/{n}`: the artifact, exactly as stored.
async fn batch_artifact(
    State((app, _)): St,
    Path(number): Path<String>,
) -> Result<Response, ApiError> {
    let number: u64 = parse(&number, "batch number")?;
    let stored = app
        .shared
        .store
        .artifact(number)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(json) = stored {
        return Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response());
    }
    let core = app.shared.core.read().expect("no panics");
    match batch_view(&app, &core, number) {
        Some(view) => Err(ApiError::NotProven(format!(
            "batch {number} is {}{}",
            view.status,
            view.proving_error
                .map(|e| format!(" ({} failed attempts; last: {e})", view.proving_failures))
                .unwrap_or_default()
        ))),
        None => Err(ApiError::NotFound(format!("batch {number} does not exist"))),
    }
}

/// `GET /v1/transactions/{hash}`.
async fn transaction_status(
    State((app, _)): St,
    Path(hash): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = parse_field(&hash, "transaction hash")?;
    let key: Key = key_of(&id);
    let core = app.shared.core.read().expect("no panics");
    if let Some(&position) = core.index.get(&key) {
        let (batch, open) = core
            .batch_of(position)
            .ok_or_else(|| ApiError::Internal(format!("position {position} in no batch")))?;
        let status = if open {
            "pending".to_string()
        } else {
            batch_view(&app, &core, batch).map_or("sealed".into(), |v| match v.status.as_str() {
                "proven" => "proven".into(),
                _ => "sealed".into(),
            })
        };
        // The batch's time: what the transaction was applied at.
        let time = if open {
            core.open.as_ref().map(|o| o.time)
        } else {
            batch
                .checked_sub(1)
                .and_then(|i| core.sealed.get(usize::try_from(i).ok()?))
                .map(|b| b.time)
        };
        return Ok(Json(json!({
            "hash": to_hex(&id),
            "status": status,
            "position": position,
            "batch": batch,
            "time": time,
        })));
    }
    drop(core);
    let rejections = app.shared.rejections.lock().expect("no panics");
    match rejections.get(&key) {
        Some(reason) => Ok(Json(json!({
            "hash": to_hex(&id),
            "status": "rejected",
            "code": reason.code,
            "message": reason.message,
        }))),
        None => Err(ApiError::NotFound(format!(
            "transaction {} is unknown (never accepted, or refused long ago)",
            to_hex(&id)
        ))),
    }
}

/// `GET /v1/state`.
async fn state_summary(State((app, _)): St) -> Json<serde_json::Value> {
    let core = app.shared.core.read().expect("no panics");
    let proven = app.shared.proofs.lock().expect("no panics").proven_through;
    let open = core
        .open
        .as_ref()
        .filter(|o| o.count > 0)
        .map(|o| json!({ "number": o.number, "time": o.time, "transactions": o.count }));
    let header = core.state.header();
    Json(json!({
        "root": header.root(),
        "header": header,
        "counters": core.state.counters(),
        "genesis_root": app.shared.genesis_root,
        "genesis_time": app.shared.genesis.time,
        "transactions": core.log_len,
        "latest_sealed": core.sealed.len(),
        "latest_proven": proven,
        "open_batch": open,
        "time": wall_clock().max(core.last_time()),
    }))
}

fn record_with_proof<R: Serialize>(
    core: &Core,
    tree: TreeId,
    id: u64,
    record: Option<R>,
    what: &str,
) -> Result<Json<serde_json::Value>, ApiError> {
    let record = record.ok_or_else(|| ApiError::NotFound(format!("{what} {id} does not exist")))?;
    let inclusion = core.state.inclusion(tree, id);
    Ok(Json(json!({
        "id": id,
        "record": record,
        "root": inclusion.header.root(),
        "inclusion": inclusion,
    })))
}

/// `GET /v1/accounts/{id}`.
async fn account(
    State((app, _)): St,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = parse(&id, "account id")?;
    let core = app.shared.core.read().expect("no panics");
    record_with_proof(
        &core,
        TreeId::Accounts,
        id,
        core.state.account(id),
        "account",
    )
}

/// `GET /v1/meters/{id}`.
async fn meter(
    State((app, _)): St,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = parse(&id, "meter id")?;
    let core = app.shared.core.read().expect("no panics");
    record_with_proof(&core, TreeId::Meters, id, core.state.meter(id), "meter")
}

/// `GET /v1/orders/{id}`.
async fn order(
    State((app, _)): St,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = parse(&id, "order id")?;
    let core = app.shared.core.read().expect("no panics");
    record_with_proof(&core, TreeId::Orders, id, core.state.order(id), "order")
}

/// `GET /v1/orderbook`: open orders not expired at the current time.
async fn orderbook(State((app, _)): St) -> Json<circuits::matcher::OrderBook> {
    let core = app.shared.core.read().expect("no panics");
    let now = wall_clock().max(core.last_time());
    Json(circuits::matcher::order_book(&core.state, now))
}

/// `GET /v1/proposals/{id}`: the record (with its voter root) and `voters`, the size of its
/// voter set: the commitments registered when it opened, positions `0..voters`.
async fn proposal(
    State((app, _)): St,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id: u64 = parse(&id, "proposal id")?;
    let core = app.shared.core.read().expect("no panics");
    let record = core
        .state
        .proposal(id)
        .ok_or_else(|| ApiError::NotFound(format!("proposal {id} does not exist")))?;
    let voters = core
        .snapshots
        .get(&id)
        .ok_or_else(|| ApiError::Internal(format!("no voter snapshot of proposal {id}")))?;
    Ok(Json(json!({
        "id": id,
        "record": record,
        "voters": voters,
    })))
}

/// The last proven batch and the state it leaves.
fn proven(app: &AppState) -> Result<(u64, std::sync::Arc<circuits::State>), ApiError> {
    let book = app.shared.proofs.lock().expect("no panics");
    let state = book
        .proven_state
        .clone()
        .ok_or_else(|| ApiError::Internal("the proven state is not known yet".into()))?;
    Ok((book.proven_through, state))
}

fn proven_fact(batch: u64, state: &circuits::State, proof: StateProof) -> Json<ProvenFact> {
    Json(ProvenFact {
        batch,
        root: state.root(),
        proof,
    })
}

/// `GET /v1/proven`: the last proven batch (0: none yet, genesis), its state root and the
/// root's preimage.
async fn proven_header(State((app, _)): St) -> Result<Json<serde_json::Value>, ApiError> {
    let (batch, state) = proven(&app)?;
    let header = state.header();
    Ok(Json(json!({
        "batch": batch,
        "root": header.root(),
        "header": header,
    })))
}

/// `GET /v1/proven/{tree}/{index}`: one record of the proven state with its path (the
/// empty leaf of a record that does not exist: the counters prove it absent).
async fn proven_record(
    State((app, _)): St,
    Path((tree, index)): Path<(String, String)>,
) -> Result<Json<ProvenFact>, ApiError> {
    let tree = [
        TreeId::Accounts,
        TreeId::Meters,
        TreeId::Orders,
        TreeId::Proposals,
    ]
    .into_iter()
    .find(|t| t.name() == tree)
    .ok_or_else(|| {
        ApiError::NotFound(format!(
            "no proven records of `{tree}`: accounts, meters, orders or proposals"
        ))
    })?;
    let index: u64 = parse(&index, &format!("{} id", tree.name()))?;
    if index >> tree.depth() != 0 {
        return Err(ApiError::BadRequest(format!(
            "{} id {index} is beyond the tree (at most 2^{} records)",
            tree.name(),
            tree.depth()
        )));
    }
    let (batch, state) = proven(&app)?;
    let proof = state.prove_records([(tree, index)]);
    Ok(proven_fact(batch, &state, proof))
}

/// `GET /v1/proven/proposals/{id}/tally`: the proposal record and every tally slot its
/// result is resolved from, in the proven state.
async fn proven_tally(
    State((app, _)): St,
    Path(id): Path<String>,
) -> Result<Json<ProvenFact>, ApiError> {
    let id: u64 = parse(&id, "proposal id")?;
    if id >> TreeId::Proposals.depth() != 0 {
        return Err(ApiError::BadRequest(format!(
            "proposal id {id} is beyond the tree"
        )));
    }
    let (batch, state) = proven(&app)?;
    let proof = state.prove_tally(id);
    Ok(proven_fact(batch, &state, proof))
}

/// `GET /v1/proposals/{id}/tally`.
async fn tally(
    State((app, _)): St,
    Path(id): Path<String>,
) -> Result<Json<circuits::tally::TallyResult>, ApiError> {
    let id: u64 = parse(&id, "proposal id")?;
    let core = app.shared.core.read().expect("no panics");
    core.state
        .tally_result(id)
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("proposal {id} does not exist")))
}

/// `GET /v1/ballots/{nullifier}`: the current ballot of a nullifier (proposal, tally slot,
/// sequence number) and `next_seq`, the number a replacing ballot must carry at least; a
/// nullifier with no ballot has `next_seq` 0. A nullifier is public once its first ballot
/// is published, and the ballot a voter sends next carries it anyway.
async fn ballot_record(
    State((app, _)): St,
    Path(nullifier): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let nullifier = parse_field(&nullifier, "nullifier")?;
    let core = app.shared.core.read().expect("no panics");
    let current = core.state.ballot(nullifier);
    Ok(Json(json!({
        "nullifier": nullifier,
        "ballot": current,
        "next_seq": core.state.next_ballot_seq(nullifier),
    })))
}

/// Most commitments one page of `GET /v1/voters` holds (about 300 KB of JSON).
pub const VOTER_PAGE_LIMIT: u64 = 4096;

/// One page of `GET /v1/voters?from=N&limit=M`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoterPage {
    /// The position of the first commitment (the `from` asked for).
    pub from: u64,
    /// Commitments registered in all, so the next position.
    pub total: u64,
    /// The commitments at `from`, `from + 1`, …: `min(limit, total - from)` of them (none
    /// when `from >= total`).
    pub commitments: Vec<Fp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoterPageQuery {
    from: Option<u64>,
    limit: Option<u64>,
}

/// `GET /v1/voters?from=N&limit=M`: registered commitments in position order (public data:
/// the registrar's transactions carry them). `from` defaults to 0 and `limit` to
/// [`VOTER_PAGE_LIMIT`], which it may not exceed.
async fn voter_page(
    State((app, _)): St,
    query: Result<Query<VoterPageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<VoterPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let from = q.from.unwrap_or(0);
    let limit = q.limit.unwrap_or(VOTER_PAGE_LIMIT);
    if !(1..=VOTER_PAGE_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit {limit} is outside 1..={VOTER_PAGE_LIMIT}"
        )));
    }
    let core = app.shared.core.read().expect("no panics");
    let total = core.state.counters().voters;
    let end = from.saturating_add(limit).min(total);
    let commitments = (from..end)
        .map(|position| {
            core.state.voter(position).ok_or_else(|| {
                ApiError::Internal(format!("no commitment at voter position {position}"))
            })
        })
        .collect::<Result<Vec<Fp>, ApiError>>()?;
    Ok(Json(VoterPage {
        from,
        total,
        commitments,
    }))
}

/// `GET /v1/genesis`.
async fn genesis(State((app, _)): St) -> Json<circuits::Genesis> {
    Json(app.shared.genesis.clone())
}

/// `GET /health`.
async fn health(State((app, _)): St) -> Response {
    if app.shared.is_shutting_down() {
        return ApiError::ShuttingDown.into_response();
    }
    let core = app.shared.core.read().expect("no panics");
    let book = app.shared.proofs.lock().expect("no panics");
    Json(json!({
        "status": "ok",
        "transactions": core.log_len,
        "latest_sealed": core.sealed.len(),
        "latest_proven": book.proven_through,
        "proving": match (&book.fleet, book.disabled) {
            (Some(_), _) => "fleet",
            (None, true) => "off",
            (None, false) => "on",
        },
        "fleet": book.fleet.as_ref().map(|f| json!({
            "jobs": {
                "queued": f.counts.queued,
                "leased": f.counts.leased,
                "done": f.counts.done,
                "failed": f.counts.failed,
            },
            "error": f.error,
            "lease_expiries": f.lease_expiries,
            "workers": f.workers.iter().map(|(name, w)| (name.clone(), json!({
                "chunks": w.chunks,
                "prove_seconds": w.prove_seconds,
                "seconds_per_chunk": w.prove_seconds / w.chunks.max(1) as f64,
            }))).collect::<serde_json::Map<_, _>>(),
        })),
        "queue_depth": app.shared.metrics.queue_depth.load(Ordering::Relaxed),
    }))
    .into_response()
}

/// `GET /metrics`.
async fn metrics(State((app, _)): St) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.shared.metrics.render(),
    )
        .into_response()
}
