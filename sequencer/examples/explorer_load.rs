//! How long the explorer's page takes to load with many batches: a one-off measurement, not
//! a test. It starts a sequencer (no proving) with one transaction per batch, sends
//! `BATCHES` transfers over HTTP (default 1,000, so 1,000 sealed batches), then opens the
//! page in headless Chromium (`scripts/browser`) six times and prints how long Chromium
//! takes, start to exit, to render the dashboard once every request is answered, against
//! the same for a page with nothing to fetch; the difference is the page's load time. The
//! first load includes the explorer's one-off replay of the log.
//!
//! ```sh
//! cargo run -p sequencer --profile test --example explorer_load -- 1000
//! ```

#[path = "../tests/common/browser.rs"]
mod browser;

use std::time::{Duration, Instant};

use circuits::demo::City;

fn main() {
    let batches: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("the number of batches"))
        .unwrap_or(1000);
    let browser = browser::Browser::find();
    let dir = std::env::temp_dir().join(format!("explorer-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut city = City::new(4);
    let mut config = sequencer::Config::new(
        dir.clone(),
        city.genesis.clone(),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.prove = false;
    config.batch_size = 1;
    config.batch_age = Duration::from_millis(200);
    let server = sequencer::spawn(config).expect("start the sequencer");
    let url = server.url();
    let http = reqwest::blocking::Client::new();

    let started = Instant::now();
    let (from, to) = (city.resident(0), city.resident(1));
    for _ in 0..batches {
        let tx = city.transfer(from, to, 1);
        let response = http
            .post(format!("{url}/v1/transactions"))
            .json(&tx)
            .send()
            .expect("submit");
        assert_eq!(response.status().as_u16(), 202);
        let receipt: serde_json::Value = response.json().unwrap();
        city.apply(&tx, receipt["time"].as_u64().unwrap()).unwrap();
    }
    loop {
        let state: serde_json::Value = http
            .get(format!("{url}/v1/state"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if state["open_batch"].is_null() {
            println!(
                "{} batches sealed ({} transactions) in {:.1?}",
                state["latest_sealed"],
                state["transactions"],
                started.elapsed()
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let api = Instant::now();
    let body = http
        .get(format!("{url}/v1/batches?from=1&limit=1000"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    println!(
        "GET /v1/batches?limit=1000: {} bytes in {:.1?}",
        body.len(),
        api.elapsed()
    );
    // Chromium's virtual time (which lets a dump wait for the page's requests) also stops
    // the page's own clocks while requests are pending, so the page cannot time itself:
    // the load time is Chromium's run on the page less its run on a page with nothing to
    // fetch (the stylesheet), measured here one after the other. The first load also has
    // the explorer's index replay the whole log (trades, fares, wording); the next five
    // find it up to date, as every later visitor does.
    let mut page = Vec::new();
    let mut bare = Vec::new();
    for run in 0..=5 {
        let (dom, took) = browser.dom(&format!("{url}/#/"));
        let rows = dom.matches("<tr data-batch=").count();
        let cells = dom.matches("class=\"s-sealed\" data-batch=").count();
        let lag = dom.matches("<circle class=\"lag\"").count();
        let (_, empty) = browser.load(&format!("{url}/explorer/explorer.css"));
        println!(
            "{}: the dashboard in {took:.2?} ({rows} table rows, {cells} strip cells, {lag} lag points); a bare page in {empty:.2?}: {:.2?} more",
            if run == 0 { "first load".to_string() } else { format!("load {run}") },
            took.saturating_sub(empty)
        );
        if run > 0 {
            page.push(took);
            bare.push(empty);
        }
    }
    let median = |mut runs: Vec<Duration>| {
        runs.sort();
        runs[runs.len() / 2]
    };
    let (page, bare) = (median(page), median(bare));
    println!(
        "median of loads 1-5: dashboard {page:.2?}, bare page {bare:.2?}: with {batches} batches the dashboard loads in about {:.2?}",
        page.saturating_sub(bare)
    );
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
