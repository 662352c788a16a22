//! Voting as the operator sees it. A recording proxy on 127.0.0.1 sits between the voters'
//! clients and a real sequencer started in this process, and keeps every request (line,
//! headers, body); it can also doctor the sequencer's answers. The tests check that no
//! request names the voter (its commitment, in any case, or a path route), that two voters'
//! requests are the same up to the ballot itself, that the voter-set cache makes a later
//! vote fetch only new commitments, and that a doctored voter set stops the vote before
//! anything is submitted.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use circuits::ballot::BallotKeys;
use circuits::demo::{demo_voter, City};
use circuits::voter::{Vote, VoterSecret};
use circuits::Transaction;
use client::api::Api;
use client::ballot::{Cast, VoteError};
use client::voters::VoterSetError;
use serde_json::Value;

/// One request as the proxy saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    /// `GET /v1/voters?from=0&limit=6`.
    line: String,
    /// Every header, `name: value`, sorted.
    headers: Vec<String>,
    /// The body as text.
    body: String,
}

impl Seen {
    /// Everything the operator receives in this request, as text.
    fn text(&self) -> String {
        format!(
            "{}\n{}\n\n{}",
            self.line,
            self.headers.join("\n"),
            self.body
        )
    }
}

/// Rewrites an answer: given the request's path and query and the answer's body.
type Doctor = Box<dyn Fn(&str, Bytes) -> Bytes + Send + Sync>;

struct Relay {
    upstream: String,
    http: reqwest::Client,
    seen: Mutex<Vec<Seen>>,
    doctor: Mutex<Option<Doctor>>,
}

/// A recording HTTP proxy in front of a sequencer.
struct Proxy {
    url: String,
    relay: Arc<Relay>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let relay = Arc::new(Relay {
            upstream: upstream.to_string(),
            http: reqwest::Client::new(),
            seen: Mutex::new(Vec::new()),
            doctor: Mutex::new(None),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = relay.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(forward).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Proxy {
            url,
            relay,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The requests seen since the last call.
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.relay.seen.lock().unwrap())
    }

    fn doctor(&self, doctor: Option<Doctor>) {
        *self.relay.doctor.lock().unwrap() = doctor;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Records the request, forwards it to the sequencer and answers with the sequencer's
/// answer (doctored if asked to).
async fn forward(
    State(relay): State<Arc<Relay>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = uri
        .path_and_query()
        .map_or("/".to_string(), |pq| pq.as_str().to_string());
    let mut names: Vec<String> = headers
        .iter()
        .map(|(name, value)| format!("{name}: {}", String::from_utf8_lossy(value.as_bytes())))
        .collect();
    names.sort();
    relay.seen.lock().unwrap().push(Seen {
        line: format!("{method} {target}"),
        headers: names,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let mut request = relay
        .http
        .request(method, format!("{}{target}", relay.upstream))
        .body(body);
    if let Some(kind) = headers.get(header::CONTENT_TYPE) {
        request = request.header(header::CONTENT_TYPE, kind);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let bytes = answer.bytes().await.unwrap();
    let bytes = match &*relay.doctor.lock().unwrap() {
        Some(doctor) => doctor(&target, bytes),
        None => bytes,
    };
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// Ballot keys, made once for the file's tests.
fn keys() -> &'static BallotKeys {
    static KEYS: OnceLock<BallotKeys> = OnceLock::new();
    KEYS.get_or_init(|| client::ballot::keys().unwrap())
}

fn dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("voter-privacy-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A sequencer in this process, and the city's authorities talking to it directly (the
/// registrar and the council are not the voters whose privacy is at stake).
struct Deployment {
    city: City,
    server: sequencer::Running,
    api: Api,
}

impl Deployment {
    fn start(dir: &Path) -> Deployment {
        let city = City::new(4);
        let server = common::sequencer_without_proving(&dir.join("data"), city.genesis.clone());
        let api = Api::new(&server.url()).unwrap();
        Deployment { city, server, api }
    }

    fn send(&mut self, tx: Transaction) {
        let receipt = self.api.submit(&tx).unwrap();
        self.city
            .apply(&tx, receipt["time"].as_u64().unwrap())
            .unwrap();
    }

    fn register(&mut self, voters: std::ops::Range<u64>) {
        for v in voters {
            let tx = self.city.register_voter(demo_voter(v).commitment());
            self.send(tx);
        }
    }

    /// Opens a proposal over the voters registered now.
    fn open(&mut self, title: &str) {
        let now = sequencer::writer::wall_clock();
        let tx = self
            .city
            .proposal(title, &["yes", "no"], now - 60, now + 3_600);
        self.send(tx);
    }

    /// Transactions in the sequencer's log.
    fn transactions(&self) -> u64 {
        self.api.get("/v1/state").unwrap()["transactions"]
            .as_u64()
            .unwrap()
    }
}

/// Votes through `proxy` as the voter's own machine, with its cache in `cache`.
fn vote(
    proxy: &Proxy,
    cache: &Path,
    voter: &VoterSecret,
    proposal: u64,
    choice: Vote,
) -> Result<Cast, VoteError> {
    Api::new(&proxy.url)
        .unwrap()
        .vote(keys(), voter, proposal, choice, cache)
}

#[test]
fn two_voters_ask_the_same_and_nothing_names_either() {
    let dir = dir("two-voters");
    let mut city = Deployment::start(&dir);
    city.register(0..6);
    city.open("Bike lanes?");
    let proxy = Proxy::start(&city.server.url());

    let (alice, bob) = (demo_voter(1), demo_voter(4));
    let cast = vote(&proxy, &dir.join("alice-cache"), &alice, 0, Vote::Option(1)).unwrap();
    assert_eq!((cast.sync.cached, cast.sync.fetched), (0, 6));
    let alice_asked = proxy.take();
    vote(&proxy, &dir.join("bob-cache"), &bob, 0, Vote::Option(0)).unwrap();
    let bob_asked = proxy.take();

    // Nothing the operator receives names either voter: not a commitment (hex, any case),
    // not a path route, not a lookup.
    for who in [&alice, &bob] {
        let commitment = circuits::hash::to_hex(&who.commitment()).to_lowercase();
        for seen in alice_asked.iter().chain(&bob_asked) {
            let text = seen.text().to_lowercase();
            assert!(
                !text.contains(&commitment),
                "names a voter: {}",
                seen.text()
            );
            assert!(!text.contains("/path"), "a path route: {}", seen.line);
            assert!(!text.contains("commitment"), "a lookup: {}", seen.line);
        }
    }
    // Nothing before the ballot depends on who votes but the ballot's own nullifier: the
    // same requests, headers and bodies up to the sequence-number lookup, which names the
    // nullifier the ballot then carries (public in the ballot itself, derived from the
    // voter's secret key, never from its commitment or position); the ballots differ, as
    // anonymous ballots do.
    assert_eq!(alice_asked.len(), bob_asked.len());
    let (alice_ballot, alice_before) = alice_asked.split_last().unwrap();
    let (bob_ballot, bob_before) = bob_asked.split_last().unwrap();
    let (alice_seq, alice_sync) = alice_before.split_last().unwrap();
    let (bob_seq, bob_sync) = bob_before.split_last().unwrap();
    assert_eq!(alice_sync, bob_sync);
    for (who, asked, ballot) in [
        (&alice, alice_seq, alice_ballot),
        (&bob, bob_seq, bob_ballot),
    ] {
        let nullifier = circuits::hash::to_hex(&who.nullifier(0));
        assert_eq!(asked.line, format!("GET /v1/ballots/{nullifier}"));
        let sent: serde_json::Value = serde_json::from_str(&ballot.body).unwrap();
        assert_eq!(sent["nullifier"], serde_json::json!(nullifier), "{sent}");
    }
    assert_eq!(alice_ballot.line, bob_ballot.line);
    assert_ne!(alice_ballot.body, bob_ballot.body);

    // And those requests are only public data: the city, the proposal, the voter set, the
    // ballot's own nullifier.
    let lines: Vec<&str> = alice_asked.iter().map(|s| s.line.as_str()).collect();
    let seq_line = format!(
        "GET /v1/ballots/{}",
        circuits::hash::to_hex(&alice.nullifier(0))
    );
    assert_eq!(
        lines,
        [
            "GET /v1/genesis",
            "GET /v1/proposals/0",
            "GET /v1/voters?from=0&limit=6",
            seq_line.as_str(),
            "POST /v1/transactions",
        ]
    );
    let tally = city.api.get("/v1/proposals/0/tally").unwrap();
    assert_eq!(tally["direct"], serde_json::json!([1, 1]), "{tally}");
    drop(proxy);
    city.server.stop();
}

/// The page requests among `seen`.
fn pages(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .filter(|s| s.line.starts_with("GET /v1/voters"))
        .map(|s| s.line.clone())
        .collect()
}

#[test]
fn a_later_vote_fetches_only_the_commitments_registered_since() {
    let dir = dir("cache");
    let mut city = Deployment::start(&dir);
    city.register(0..3);
    city.open("Bike lanes?");
    let proxy = Proxy::start(&city.server.url());
    let cache = dir.join("household-cache");

    let cast = vote(&proxy, &cache, &demo_voter(0), 0, Vote::Option(0)).unwrap();
    assert_eq!(pages(&proxy.take()), ["GET /v1/voters?from=0&limit=3"]);
    assert_eq!((cast.sync.cached, cast.sync.fetched), (0, 3));

    // Two more voters, and a proposal whose voter set holds all five.
    city.register(3..5);
    city.open("Tram to the harbour?");
    let cast = vote(&proxy, &cache, &demo_voter(4), 1, Vote::Option(1)).unwrap();
    assert_eq!(pages(&proxy.take()), ["GET /v1/voters?from=3&limit=2"]);
    assert_eq!((cast.sync.cached, cast.sync.fetched), (3, 2));

    // The first proposal's voter set is in the cache whole: no page at all.
    let cast = vote(&proxy, &cache, &demo_voter(1), 0, Vote::Option(1)).unwrap();
    assert_eq!(pages(&proxy.take()), Vec::<String>::new());
    assert_eq!((cast.sync.cached, cast.sync.fetched), (3, 0));

    // A corrupt cache file is discarded and the set synced again.
    let files: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one file per city: {files:?}");
    std::fs::write(&files[0], b"not a voter cache").unwrap();
    let cast = vote(&proxy, &cache, &demo_voter(2), 1, Vote::Option(0)).unwrap();
    assert!(cast.sync.discarded.is_some());
    assert_eq!(pages(&proxy.take()), ["GET /v1/voters?from=0&limit=5"]);

    let tally = city.api.get("/v1/proposals/1/tally").unwrap();
    assert_eq!(tally["direct"], serde_json::json!([1, 1]), "{tally}");
    drop(proxy);
    city.server.stop();
}

/// Rewrites the voter pages' JSON with `edit`.
fn doctor_pages(edit: fn(&mut Value)) -> Doctor {
    Box::new(move |target, bytes| {
        if !target.starts_with("/v1/voters?") {
            return bytes;
        }
        let mut page: Value = serde_json::from_slice(&bytes).unwrap();
        edit(&mut page);
        Bytes::from(serde_json::to_vec(&page).unwrap())
    })
}

#[test]
fn a_doctored_voter_set_is_refused_and_nothing_is_submitted() {
    let dir = dir("doctored");
    let mut city = Deployment::start(&dir);
    city.register(0..4);
    city.open("Bike lanes?");
    // One registered after the proposal opened: a voter-set size one too large still pages.
    city.register(4..5);
    let proxy = Proxy::start(&city.server.url());
    let voter = demo_voter(2);
    let before = city.transactions();

    let cases: Vec<(&str, Doctor)> = vec![
        (
            "one commitment changed",
            doctor_pages(|page| page["commitments"][0] = demo_hex(99).into()),
        ),
        (
            "the voter-set size one too large",
            Box::new(|target, bytes| {
                if target != "/v1/proposals/0" {
                    return bytes;
                }
                let mut proposal: Value = serde_json::from_slice(&bytes).unwrap();
                proposal["voters"] = 5.into();
                Bytes::from(serde_json::to_vec(&proposal).unwrap())
            }),
        ),
        (
            "a short page",
            doctor_pages(|page| {
                page["commitments"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "a malformed page",
            doctor_pages(|page| page["commitments"][1] = "not hex".into()),
        ),
        (
            "a page that is not JSON",
            Box::new(|target, bytes| {
                if target.starts_with("/v1/voters?") {
                    Bytes::from_static(b"<html>")
                } else {
                    bytes
                }
            }),
        ),
    ];
    for (what, doctor) in cases {
        proxy.doctor(Some(doctor));
        let cache = dir.join(format!("cache-{}", what.replace(' ', "-")));
        let err = vote(&proxy, &cache, &voter, 0, Vote::Option(1)).unwrap_err();
        let expected = match what {
            "a short page" => matches!(
                err,
                VoteError::VoterSet(VoterSetError::ShortPage {
                    from: 0,
                    expected: 4,
                    got: 3,
                    total: 5
                })
            ),
            "a malformed page" | "a page that is not JSON" => matches!(
                err,
                VoteError::VoterSet(VoterSetError::MalformedPage { from: 0, .. })
            ),
            _ => matches!(
                err,
                VoteError::VoterSet(VoterSetError::RootMismatch { proposal: 0, .. })
            ),
        };
        assert!(expected, "{what}: {err}");
        let seen = proxy.take();
        assert!(
            seen.iter().all(|s| s.line.starts_with("GET ")),
            "{what}: something was submitted: {seen:?}"
        );
        assert_eq!(city.transactions(), before, "{what}");
        let cached = std::fs::read_dir(&cache).map_or(0, |d| d.count());
        assert_eq!(
            cached, 0,
            "{what}: a voter set that did not check out was cached"
        );
    }

    // The same voter through an honest proxy votes.
    proxy.doctor(None);
    vote(
        &proxy,
        &dir.join("cache-honest"),
        &voter,
        0,
        Vote::Option(1),
    )
    .unwrap();
    assert_eq!(city.transactions(), before + 1);
    drop(proxy);
    city.server.stop();
}

fn demo_hex(v: u64) -> String {
    circuits::hash::to_hex(&demo_voter(v).commitment())
}
