//! `verifier chain|tally|account http://…` against a real sequencer on loopback: the same
//! checks as over a directory, exit 0 when the published batches hold; exit 3 when the
//! service cannot be reached or has nothing proven yet. Facts (an account, a tally) come
//! as inclusion proofs from the sequencer and agree with a replay; a tampering proxy that
//! doctors them is refused with the fault named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use circuits::demo::City;
use circuits::voter::Vote;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("verifier-http-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn verifier(dir: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verifier"))
        .current_dir(dir)
        .args(["--data", "params"])
        .args(args)
        .output()
        .unwrap()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32, says: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "{text}");
    assert!(text.contains(says), "expected {says:?} in: {text}");
}

/// The real sequencer on loopback for `city`, its genesis written to `d/genesis.json` and its
/// parameter cache the verifier's (`d/params`).
fn serve(d: &Path, city: &City, batch_size: u64, batch_ms: u64) -> sequencer::Running {
    std::fs::write(d.join("genesis.json"), city.genesis.to_json()).unwrap();
    let mut config = sequencer::Config::new(
        d.join("data"),
        city.genesis.clone(),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.params_dir = Some(d.join("params"));
    config.batch_size = batch_size;
    config.batch_age = Duration::from_millis(batch_ms);
    config.prove_threads = 2;
    sequencer::spawn(config).unwrap()
}

#[test]
fn the_verifier_checks_a_sequencer_over_http_like_a_directory() {
    let d = dir("chain");
    let mut city = City::new(3);
    let server = serve(&d, &city, 2, 200);
    let url = server.url();

    // Nothing proven yet: the check cannot run.
    let out = verifier(&d, &["chain", &url, "--genesis", "genesis.json"]);
    assert_exit(&out, 3, "no proven batch yet");

    let http = reqwest::blocking::Client::new();
    let (a, b) = (city.resident(0), city.resident(1));
    for amount in [30, 20] {
        let tx = city.transfer(a, b, amount);
        let response = http
            .post(format!("{url}/v1/transactions"))
            .json(&tx)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
        // At its batch's time, as the sequencer applied it.
        let receipt: serde_json::Value = response.json().unwrap();
        city.apply(&tx, receipt["time"].as_u64().unwrap()).unwrap();
    }
    let started = Instant::now();
    loop {
        let state: serde_json::Value = http
            .get(format!("{url}/v1/state"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if state["latest_proven"] == 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "{state}");
        std::thread::sleep(Duration::from_millis(200));
    }

    let out = verifier(&d, &["chain", &url, "--genesis", "genesis.json"]);
    let root = circuits::hash::to_hex(&city.state.root());
    assert_exit(
        &out,
        0,
        &format!("OK: 1 batches, 2 transactions, from genesis to root {root}"),
    );
    assert_exit(&out, 0, "rules not replayed");
    // With the rules replayed it holds too, at the same root.
    let replay = verifier(
        &d,
        &["chain", &url, "--genesis", "genesis.json", "--replay"],
    );
    assert_exit(
        &replay,
        0,
        &format!("OK: 1 batches, 2 transactions, from genesis to root {root}"),
    );
    // Its cold start made the keys of the one circuit the chain uses, and said so.
    let json = verifier(&d, &["--json", "chain", &url, "--genesis", "genesis.json"]);
    let answer: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(answer["mode"], "proofs", "{answer}");
    assert_eq!(answer["root"], root, "{answer}");
    let circuits = answer["cold_start"]["circuits"].as_array().unwrap();
    assert_eq!(circuits.len(), 1, "{answer}");
    assert_eq!(circuits[0]["family"], "accounts", "{answer}");
    // Resuming from a trusted checkpoint: after batch 1 nothing is left to check; a root
    // that is not batch 1's is refused; from batch 1, the genesis root is the checkpoint.
    let genesis_root = circuits::hash::to_hex(&city.genesis.state().root());
    let args = |from: &'static str, root: &str| {
        verifier(
            &d,
            &[
                "chain",
                &url,
                "--genesis",
                "genesis.json",
                "--from",
                from,
                "--root",
                root,
            ],
        )
    };
    assert_exit(
        &args("2", &root),
        0,
        "nothing published after batch 1 to check",
    );
    assert_exit(
        &args("2", &genesis_root),
        1,
        &format!("batch 1 ends at root {root}, not at the trusted root {genesis_root}"),
    );
    assert_exit(
        &args("1", &genesis_root),
        0,
        &format!("OK: 1 batches, 2 transactions, from genesis to root {root}"),
    );
    // It names the parameters it used: the sequencer's, read from the shared cache, pinned.
    let k = circuits::chunk::Family::Accounts.k_for(1);
    assert_exit(
        &out,
        0,
        &format!("commitment parameters k={k}: pinned digest "),
    );
    assert_exit(&out, 0, "✓ (read from cache)");
    let out = verifier(
        &d,
        &["account", &url, "--genesis", "genesis.json", &a.to_string()],
    );
    assert_exit(&out, 0, "its leaf is included in the verified root");
    assert_exit(
        &out,
        0,
        "of batch 1 (1 batches, 2 transactions: its proofs and data",
    );
    // Proven by inclusion from the sequencer, and replayed: the same record, the one the
    // native rules give; the history comes with the replay only.
    let id = a.to_string();
    let json_account = |extra: &[&str]| {
        let args = [
            &["--json", "account", &url, "--genesis", "genesis.json"][..],
            &[id.as_str()][..],
            extra,
        ]
        .concat();
        let out = verifier(&d, &args);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let (proven, replayed) = (json_account(&[]), json_account(&["--replay"]));
    assert_eq!(proven["fact"]["mode"], "proofs", "{proven}");
    assert_eq!(replayed["fact"]["mode"], "replay", "{replayed}");
    assert_eq!(proven["record"], replayed["record"]);
    assert_eq!(
        proven["record"],
        serde_json::to_value(city.state.account(a)).unwrap()
    );
    assert_eq!(proven["fact"]["root"], root);
    assert!(proven["fact"]["history"].is_null(), "{proven}");
    assert_eq!(replayed["fact"]["history"].as_array().unwrap().len(), 2);

    // A cache file of someone's own parameters (two points swapped) with a trailer that
    // matches them, as anyone who can write the cache could write: ignored, loudly, and
    // replaced by the pinned parameters, with which the chain still holds.
    let file = circuits::params::path(&d.join("params"), k);
    let good = std::fs::read(&file).unwrap();
    let mut forged = good[..good.len() - 32].to_vec();
    let g0 = forged[4..36].to_vec();
    forged.copy_within(36..68, 4);
    forged[36..68].copy_from_slice(&g0);
    let trailer = circuits::params::digest(&forged);
    forged.extend_from_slice(&trailer);
    std::fs::write(&file, &forged).unwrap();
    let out = verifier(&d, &["--json", "chain", &url, "--genesis", "genesis.json"]);
    assert_exit(&out, 0, "WARNING: the parameter cache file");
    assert_exit(&out, 0, "is NOT the pinned commitment parameters");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let used = &answer["commitment_parameters"][0];
    assert_eq!(used["k"], k, "{answer}");
    assert_eq!(used["source"], "replaced", "{answer}");
    assert_eq!(used["rejected"]["why"], "digest", "{answer}");
    assert_eq!(used["rejected"]["found"], hex::encode(trailer), "{answer}");
    let pinned = circuits::params::pinned(k).unwrap();
    assert_eq!(used["digest"], hex::encode(pinned), "{answer}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        good,
        "the file holds the pinned ones again"
    );

    // The service gone: exit 3, naming the URL.
    server.stop();
    let out = verifier(&d, &["chain", &url, "--genesis", "genesis.json"]);
    assert_exit(&out, 3, &url);
}

fn wall_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `verifier tally` on real, proven data: voters registered, a proposal, ballots with their
/// zero-knowledge proofs (two direct, one following a delegate), the delegate's vote; the
/// result recomputed from the verified chain resolves the follower to the delegate's choice.
#[test]
fn the_tally_of_a_proven_vote_resolves_followers_to_their_delegate() {
    let d = dir("tally");
    let mut city = City::new(4);
    let server = serve(&d, &city, 16, 300);
    let url = server.url();
    let http = reqwest::blocking::Client::new();
    let submit = |city: &mut City, tx: circuits::Transaction| {
        let response = http
            .post(format!("{url}/v1/transactions"))
            .json(&tx)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            status,
            202,
            "{}: {}",
            tx.kind_name(),
            response.text().unwrap()
        );
        city.apply(&tx, wall_clock()).unwrap();
    };

    let delegate = city.resident(3);
    for v in 0..3 {
        let tx = city.register_voter(circuits::demo::demo_voter(v).commitment());
        submit(&mut city, tx);
    }
    let tx = city.register_delegate(delegate);
    submit(&mut city, tx);
    let now = wall_clock();
    let tx = city.proposal("Night trams?", &["yes", "no"], now - 60, now + 86_400);
    submit(&mut city, tx);
    let keys = circuits::ballot::BallotKeys::setup(circuits::ballot::params()).unwrap();
    let votes = [
        Vote::Option(0),   // voter 0: yes, directly
        Vote::Delegate(0), // voter 1: follows delegate 0
        Vote::Option(1),   // voter 2: no, directly
    ];
    for (v, vote) in votes.into_iter().enumerate() {
        let proof = circuits::ballot::prove(
            &keys,
            &circuits::demo::demo_voter(v as u64),
            &city.state.voter_path(v as u64),
            0,
            vote,
            0,
            ChaCha20Rng::seed_from_u64(v as u64),
        )
        .unwrap();
        submit(
            &mut city,
            circuits::Transaction::Ballot(proof.into_transaction()),
        );
    }
    let tx = city.delegate_vote(delegate, 0, 1);
    submit(&mut city, tx);

    // Every batch sealed and proven.
    let started = Instant::now();
    loop {
        let state: serde_json::Value = http
            .get(format!("{url}/v1/state"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if state["transactions"] == 9
            && state["open_batch"].is_null()
            && state["latest_proven"] == state["latest_sealed"]
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "{state}");
        std::thread::sleep(Duration::from_millis(300));
    }

    let args = [
        "tally",
        &url,
        "--genesis",
        "genesis.json",
        "--proposal",
        "0",
    ];
    let out = verifier(&d, &[&args[..], &["--json"]].concat());
    assert!(out.status.success(), "{out:?}");
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tally = &answer["tally"];
    assert_eq!(tally["direct"], serde_json::json!([1, 1]), "{answer}");
    assert_eq!(tally["totals"], serde_json::json!([1, 2]), "{answer}");
    assert_eq!(tally["abstained"], 0, "{answer}");
    assert_eq!(answer["fact"]["mode"], "proofs", "{answer}");
    let out = verifier(&d, &args);
    assert_exit(&out, 0, "option 1: 2 (1 direct)");
    assert_exit(&out, 0, "delegate 0: 1 followers, voted option 1");
    assert_exit(
        &out,
        0,
        "the proposal and its 3 tally slots included in the verified root",
    );
    assert_eq!(
        city.state.tally_result(0).unwrap().totals,
        vec![1, 2],
        "the native rules agree"
    );
    // Replayed, the same result.
    let out = verifier(&d, &[&args[..], &["--json", "--replay"]].concat());
    assert!(out.status.success(), "{out:?}");
    let replayed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replayed["fact"]["mode"], "replay", "{replayed}");
    assert_eq!(replayed["tally"], answer["tally"]);

    // A sequencer that doctors its state proofs: each lie is refused, by name.
    let proxy = Doctoring::start(&url);
    // The command's name, the proxy's URL, the genesis, then the rest.
    let through = |what: &[&str]| {
        verifier(
            &d,
            &[
                &what[..1],
                &[&proxy.url, "--genesis", "genesis.json"][..],
                &what[1..],
            ]
            .concat(),
        )
    };
    let tally = ["tally", "--proposal", "0"];
    let account_id = delegate.to_string();
    let account = ["account", account_id.as_str()];
    // Honest through the proxy.
    assert_exit(&through(&tally), 0, "option 1: 2 (1 direct)");
    proxy.doctor(|fact| {
        fact["proof"]["records"].as_array_mut().unwrap().pop();
    });
    assert_exit(&through(&tally), 1, "the proof has no tallies record at");
    proxy.doctor(|fact| bump_first_number(&mut fact["proof"]["records"][1]["record"]["Tally"][1]));
    assert_exit(&through(&tally), 1, "the tallies leaf is not in the tree");
    proxy.doctor(|fact| {
        let siblings = &mut fact["proof"]["records"][2]["path"]["siblings"];
        siblings[0] = siblings[1].clone();
    });
    assert_exit(&through(&tally), 1, "the tallies leaf is not in the tree");
    // More delegates in the header would resolve fewer followers: the header is the root's.
    proxy.doctor(|fact| bump_first_number(&mut fact["proof"]["header"]["counters"]["delegates"]));
    assert_exit(&through(&tally), 1, "the state header hashes to");
    proxy.doctor(|fact| {
        let batch = fact["batch"].as_u64().unwrap();
        fact["batch"] = (batch + 7).into();
    });
    assert_exit(&through(&tally), 1, "which is not among the");
    proxy.doctor(|fact| {
        bump_first_number(&mut fact["proof"]["records"][0]["record"]["Account"][1]["balance"])
    });
    let out = through(&account);
    assert_exit(&out, 1, "the accounts leaf is not in the tree");
    assert_exit(
        &out,
        1,
        &format!("the sequencer's proof of accounts/{delegate}"),
    );
    proxy.doctor(|fact| {
        fact["proof"]["records"][0]["path"]["index"] = 0.into();
    });
    assert_exit(&through(&account), 1, "came with the path of position 0");
    drop(proxy);
    server.stop();
}

/// Adds one to the first number in `value` (depth first); there must be one.
fn bump_first_number(value: &mut serde_json::Value) {
    fn bump(value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::Number(n) => {
                *value = (n.as_u64().unwrap() + 1).into();
                true
            }
            serde_json::Value::Array(items) => items.iter_mut().any(bump),
            serde_json::Value::Object(fields) => fields.values_mut().any(bump),
            _ => false,
        }
    }
    assert!(bump(value), "no number in {value}");
}

/// What the proxy does to a state proof (`GET /v1/proven/…`) before passing it on.
type Doctor = fn(&mut serde_json::Value);

type Doctors = Arc<Mutex<Option<Doctor>>>;

/// An HTTP proxy on loopback in front of a sequencer that passes every answer on, doctoring
/// state proofs as told: a sequencer that lies about facts.
struct Doctoring {
    url: String,
    doctor: Doctors,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Doctoring {
    fn start(upstream: &str) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let doctor = Doctors::default();
        let state = (upstream.to_string(), doctor.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(pass_on).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Doctoring {
            url,
            doctor,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Doctors every state proof from now on with `doctor`.
    fn doctor(&self, doctor: Doctor) {
        *self.doctor.lock().unwrap() = Some(doctor);
    }
}

impl Drop for Doctoring {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn pass_on(
    axum::extract::State((upstream, doctor)): axum::extract::State<(String, Doctors)>,
    uri: axum::http::Uri,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let answer = reqwest::get(format!("{upstream}{uri}")).await.unwrap();
    let status = answer.status();
    let mut body = answer.bytes().await.unwrap().to_vec();
    let doctor = *doctor.lock().unwrap();
    if let (Some(doctor), true) = (doctor, uri.path().starts_with("/v1/proven/")) {
        if status.is_success() {
            let mut fact: serde_json::Value = serde_json::from_slice(&body).unwrap();
            doctor(&mut fact);
            body = serde_json::to_vec(&fact).unwrap();
        }
    }
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
