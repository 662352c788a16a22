//! The city explorer in a real browser. A sequencer (no proving) takes a small day of the
//! demo city over HTTP: every family of transactions (accounts, the energy market with the
//! matcher's fills, transit with transfers and a rider reaching the fare cap, governance with
//! voters, delegates, a proposal, delegates' votes and two ballots proved on the voters'
//! side, one direct and one following a delegate) and a refused reading. Headless Chromium
//! (found or installed by `scripts/browser`) then opens the page, and the numbers it renders
//! (batches, the order book, the chart of fills, the tally, transit revenue, a batch's
//! transactions, an account, a meter) are checked against the API's own JSON, which is
//! checked in turn against the receipts. A bad transaction hash, an unknown one and a refused
//! one each get a clear message. Pictures are written under `target/explorer/`. Batches are
//! not proven here (the proof columns are filled from artifacts, tested in the module).
//!
//! The second test checks the OpenAPI description against the router's table of routes, and
//! every route against a running server.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use browser::{cell, element, text, Browser};
use circuits::ballot::{self, BallotKeys};
use circuits::demo::{demo_voter, City};
use circuits::genesis::demo_key;
use circuits::keys::SecretKey;
use circuits::records::{FleetKind, Side};
use circuits::voter::Vote;
use circuits::Transaction;
use common::*;
use serde_json::Value;

const HOUR: u64 = 3600;
const MINUTE: u64 = 60;

/// The small demo city's genesis, as the `demo` program makes it (`demo --small`): the
/// demo city of 14 residents, with the fare cap lowered to $12.00 so that a day of rides
/// reaches it and taps relayed up to a day late.
fn genesis() -> circuits::Genesis {
    let mut genesis = circuits::genesis::demo(14);
    genesis.params.fare_cap = 1_200;
    genesis.params.max_tap_delay = 24 * HOUR;
    genesis
}

/// `1,234,567`, as the page writes numbers.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `$1,234.56`, as the page writes cents.
fn dollars(cents: u64) -> String {
    format!("${}.{:02}", thousands(cents / 100), cents % 100)
}

/// What the receipts said, to check the API's new routes against.
#[derive(Default)]
struct Seen {
    /// (quantity, price) of each fill, in order.
    fills: Vec<(u64, u64)>,
    /// Cents charged per operator, and rides.
    fares: BTreeMap<u64, (u64, u64)>,
}

/// Submits `tx`, applies it (and the fills the sequencer reports) to `city` at the batch
/// time, and notes fills and fares.
fn send(
    http: &reqwest::blocking::Client,
    url: &str,
    city: &mut City,
    seen: &mut Seen,
    tx: Transaction,
) -> Value {
    let receipt = accept(http, url, &tx);
    let time = receipt["time"].as_u64().unwrap();
    let applied = city
        .place_and_match(&tx, time)
        .unwrap_or_else(|e| panic!("the native rules refuse what the sequencer accepted: {e}"));
    let fills = receipt["fills"].as_array().cloned().unwrap_or_default();
    assert_eq!(fills.len(), applied.len() - 1, "{receipt}");
    for fill in &fills {
        let event = &fill["event"];
        seen.fills.push((
            event["quantity"].as_u64().unwrap(),
            event["price"].as_u64().unwrap(),
        ));
    }
    if receipt["event"]["event"] == "fare" {
        let operator = receipt["event"]["operator"].as_u64().unwrap();
        let entry = seen.fares.entry(operator).or_default();
        entry.0 += receipt["event"]["charged"].as_u64().unwrap();
        entry.1 += 1;
    }
    receipt
}

/// A small day of the demo city, every family, over HTTP. Returns the refused reading.
fn day(
    http: &reqwest::blocking::Client,
    url: &str,
    city: &mut City,
    seen: &mut Seen,
) -> Transaction {
    let now = sequencer::writer::wall_clock();
    let r: Vec<u64> = (0..14).map(|i| city.resident(i)).collect();
    let [metro, bus, tram] = ["metro", "bus", "tram"].map(|o| city.id(&format!("operator-{o}")));
    let mut go = |city: &mut City, tx: Transaction| send(http, url, city, seen, tx);

    // The authorities set the city up.
    for (operator, fares) in [
        (metro, [250, 300, 350, 600]),
        (bus, [200, 250, 300, 500]),
        (tram, [220, 260, 300, 450]),
    ] {
        let tx = city.register_operator(operator, fares);
        go(city, tx);
    }
    let tx = city.concession(r[7], 50);
    go(city, tx);
    let mut meters = Vec::new();
    for (owner, seed) in [(r[0], "roof 0"), (r[1], "roof 1")] {
        let (tx, key) = city.register_meter(owner, seed);
        let receipt = go(city, tx);
        let meter = receipt["event"]["meter"].as_u64().unwrap();
        city.add_meter_key(meter, key);
        meters.push(meter);
    }
    for v in 0..3 {
        let tx = city.register_voter(demo_voter(v).commitment());
        go(city, tx);
    }
    for d in [11, 12, 13] {
        let tx = city.register_delegate(r[d]);
        go(city, tx);
    }

    // The council opens a proposal; meters report; riders' taps of the day arrive.
    let tx = city.proposal(
        "Extend tram line 4 to the harbour?",
        &["yes", "no", "defer"],
        now - MINUTE,
        now + 24 * HOUR,
    );
    go(city, tx);
    for (meter, cumulative) in [(meters[0], 3_000), (meters[1], 4_000), (meters[0], 6_000)] {
        let tx = city.reading(meter, cumulative);
        go(city, tx);
    }
    // The first rider pays full fares, transfers once and reaches the cap; the second (50%
    // off) transfers once.
    let taps = [
        (r[6], metro, 3, now - 20 * HOUR),
        (r[6], bus, 0, now - 20 * HOUR + 30 * MINUTE),
        (r[6], tram, 3, now - 12 * HOUR),
        (r[6], metro, 3, now - 6 * HOUR),
        (r[6], bus, 1, now - 2 * HOUR),
        (r[7], bus, 1, now - 3 * HOUR),
        (r[7], metro, 1, now - 3 * HOUR + 25 * MINUTE),
    ];
    for (rider, operator, class, time) in taps {
        let tx = city.tap(rider, operator, class, time);
        go(city, tx);
    }
    let tx = city.fleet_record(metro, 7, FleetKind::Maintenance, b"brakes checked");
    go(city, tx);
    let tx = city.transfer(r[8], r[9], 1_500);
    go(city, tx);
    let newcomer = SecretKey::from_seed(b"explorer newcomer");
    let tx = city.open_account(r[10], &newcomer);
    let receipt = go(city, tx);
    city.add_account_key(receipt["event"]["account"].as_u64().unwrap(), newcomer);

    // The market: two asks, a buy that takes the first whole and part of the second, two
    // bids below the market, one cancelled bid, and a later buy at the ask.
    let expiry = now + 24 * HOUR;
    for (who, side, amount, price) in [
        (r[0], Side::Sell, 2_000, 12),
        (r[1], Side::Sell, 2_500, 13),
        (r[2], Side::Buy, 3_000, 14),
        (r[4], Side::Buy, 500, 9),
        (r[5], Side::Buy, 800, 10),
    ] {
        let tx = city.order(who, side, amount, price, expiry);
        go(city, tx);
    }
    let tx = city.order(r[5], Side::Buy, 400, 8, expiry);
    let receipt = go(city, tx);
    let cancelled = receipt["event"]["order"].as_u64().unwrap();
    let tx = city.cancel(r[5], cancelled);
    go(city, tx);

    // Delegates vote: the first yes; the second yes, then changes to no; the third never
    // votes.
    let tx = city.delegate_vote(r[11], 0, 0);
    go(city, tx);
    let tx = city.delegate_vote(r[12], 0, 0);
    go(city, tx);
    let tx = city.delegate_vote(r[12], 0, 1);
    go(city, tx);
    // Two voters' ballots, proved on their side as the client does: the first votes "defer"
    // directly, the second follows the first delegate (who chose "yes").
    let keys = BallotKeys::setup(ballot::params()).unwrap();
    let voters = client::api::Api::new(url)
        .unwrap()
        .voter_set(0, &fresh_dir("explorer-voter-cache"))
        .unwrap();
    for (v, vote) in [(0, Vote::Option(2)), (1, Vote::Delegate(0))] {
        let voter = demo_voter(v);
        let path = voters.path_of(&voter.commitment()).unwrap();
        let proved = ballot::prove(&keys, &voter, &path, 0, vote, 0, rand::rng()).unwrap();
        go(city, Transaction::Ballot(proved.into_transaction()));
    }
    let tx = city.order(r[3], Side::Buy, 700, 13, expiry);
    go(city, tx);

    // A reading that does not increase is refused, and changes nothing.
    let refused = city.reading(meters[0], 5_000);
    let (status, body) = submit(http, url, &refused);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "reading_not_increasing", "{body}");
    refused
}

/// Waits until no batch is open.
fn wait_sealed(http: &reqwest::blocking::Client, url: &str) -> Value {
    let started = Instant::now();
    loop {
        let (_, state) = get(http, &format!("{url}/v1/state"));
        if state["open_batch"].is_null() {
            return state;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "a batch stays open: {state}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The row of `html` opened by `start`; panics with the page when it is missing.
#[track_caller]
fn row<'a>(html: &'a str, start: &str, tag: &str) -> &'a str {
    element(html, start, tag).unwrap_or_else(|| panic!("no {start} on the page:\n{html}"))
}

#[test]
fn the_page_shows_batches_market_transit_and_tally_as_the_api_does() {
    let started = Instant::now();
    let browser = Browser::find();
    let dir = fresh_dir("explorer-page");
    let mut city = City::from_genesis(genesis());
    let mut cfg = config(&dir, city.genesis.clone());
    cfg.market_key = Some(demo_key("market"));
    cfg.prove = false;
    let server = sequencer::spawn(cfg).unwrap();
    let url = server.url();
    let http = client();
    let mut seen = Seen::default();
    let refused = day(&http, &url, &mut city, &mut seen);
    let state = wait_sealed(&http, &url);
    assert_eq!(
        state["root"].as_str().unwrap(),
        circuits::hash::to_hex(&city.state.root())
    );
    let api = |path: &str| {
        let (status, body) = get(&http, &format!("{url}{path}"));
        assert_eq!(status, 200, "{path}: {body}");
        body
    };

    // The API's new routes agree with the receipts.
    let trades = api("/v1/trades");
    let traded: Vec<(u64, u64)> = trades["trades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["quantity"].as_u64().unwrap(),
                t["price"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(traded, seen.fills);
    assert_eq!(traded, vec![(2_000, 12), (1_000, 13), (700, 13)]);
    let transit = api("/v1/transit/revenue");
    for op in transit["operators"].as_array().unwrap() {
        let id = op["operator"].as_u64().unwrap();
        let (cents, rides) = seen.fares[&id];
        assert_eq!(
            (
                op["revenue"].as_u64().unwrap(),
                op["rides"].as_u64().unwrap()
            ),
            (cents, rides),
            "{op}"
        );
    }
    assert_eq!(
        transit["riders_at_cap"]["accounts"],
        serde_json::json!([city.resident(6)])
    );
    assert_eq!(transit["totals"]["transfers"], 2, "{transit}");
    let proposals = api("/v1/proposals");
    let tally = api("/v1/proposals/0/tally");
    assert_eq!(proposals["proposals"][0]["tally"], tally);
    assert_eq!(proposals["proposals"][0]["status"], "open");
    let readings = api("/v1/meters/0/readings");
    let minted: Vec<u64> = readings["readings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["minted"].as_u64().unwrap())
        .collect();
    assert_eq!(minted, vec![3_000, 3_000]);
    let book = api("/v1/orderbook");
    let batches = api("/v1/batches?limit=1000");
    let list = batches["batches"].as_array().unwrap();
    assert!(list.len() >= 8, "{batches}");
    for (path, status, code) in [
        ("/v1/trades?limit=0", 400, "bad_request"),
        ("/v1/trades?since=3", 400, "bad_request"),
        ("/v1/proofs?limit=5000", 400, "bad_request"),
        ("/v1/meters/99/readings", 404, "not_found"),
        ("/v1/meters/x/readings", 400, "bad_request"),
        ("/v1/batches/999/entries", 404, "not_found"),
        ("/explorer/nope.js", 404, "not_found"),
    ] {
        let (got, body) = get(&http, &format!("{url}{path}"));
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }

    // The dashboard.
    let (dom, took) = browser.dom(&format!("{url}/#/"));
    println!("dashboard rendered in {took:?} (Chromium start to exit)");
    assert!(
        !dom.contains("class=\"error\""),
        "an error on the page:\n{dom}"
    );
    assert_eq!(
        text(row(&dom, "<dd id=\"fact-sealed\"", "dd")),
        thousands(state["latest_sealed"].as_u64().unwrap())
    );
    for b in list.iter().rev().take(25) {
        let number = b["number"].as_u64().unwrap();
        let tr = row(&dom, &format!("<tr data-batch=\"{number}\""), "tr");
        assert!(
            tr.contains(&format!(
                "data-status=\"{}\"",
                b["status"].as_str().unwrap()
            )),
            "{tr}"
        );
        assert_eq!(
            cell(tr, "tx-count").unwrap(),
            thousands(b["transactions"].as_u64().unwrap()),
            "{tr}"
        );
    }
    // The order book, level by level.
    for (side, levels) in [("bid", &book["bids"]), ("ask", &book["asks"])] {
        let levels = levels.as_array().unwrap();
        assert!(!levels.is_empty(), "{book}");
        for level in levels {
            let tr = row(
                &dom,
                &format!("<tr data-side=\"{side}\" data-price=\"{}\"", level["price"]),
                "tr",
            );
            assert_eq!(
                cell(tr, "amount").unwrap(),
                thousands(level["amount"].as_u64().unwrap())
            );
            assert_eq!(
                cell(tr, "orders").unwrap(),
                thousands(level["orders"].as_u64().unwrap())
            );
        }
    }
    // The chart of fills: one point per trade, in order, at its price and size.
    let chart = row(&dom, "<svg class=\"chart\" id=\"price-chart\"", "svg");
    let points: Vec<(u64, u64)> = chart
        .split("<circle class=\"fill\" ")
        .skip(1)
        .map(|c| {
            let attr = |name: &str| -> u64 {
                let at = c.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                c[at..c[at..].find('"').unwrap() + at].parse().unwrap()
            };
            (attr("data-quantity"), attr("data-price"))
        })
        .collect();
    assert_eq!(points, traded, "{chart}");
    assert!(text(chart).contains("2,000 Wh at 12 c/kWh"), "{chart}");
    // The tally: direct votes, via delegates and totals per option; each delegate's choice.
    let block = row(&dom, "<div class=\"proposal\" id=\"proposal-0\"", "section");
    assert!(
        text(block).contains("Extend tram line 4 to the harbour?"),
        "{block}"
    );
    // One direct ballot for "defer"; one follower of the delegate who chose "yes".
    assert_eq!(tally["direct"], serde_json::json!([0, 0, 1]), "{tally}");
    assert_eq!(tally["totals"], serde_json::json!([1, 0, 1]), "{tally}");
    let options = ["yes", "no", "defer"];
    for (i, label) in options.iter().enumerate() {
        let tr = row(block, &format!("<tr data-option=\"{i}\""), "tr");
        let direct = tally["direct"][i].as_u64().unwrap();
        let total = tally["totals"][i].as_u64().unwrap();
        assert!(text(tr).starts_with(label), "{tr}");
        assert_eq!(cell(tr, "direct").unwrap(), thousands(direct));
        assert_eq!(cell(tr, "via").unwrap(), thousands(total - direct));
        assert_eq!(cell(tr, "total").unwrap(), thousands(total));
    }
    let delegates = tally["delegates"].as_array().unwrap();
    assert_eq!(delegates.len(), 2, "{tally}");
    for d in delegates {
        let tr = row(
            block,
            &format!("<tr data-delegate=\"{}\"", d["delegate"]),
            "tr",
        );
        assert_eq!(
            cell(tr, "followers").unwrap(),
            thousands(d["followers"].as_u64().unwrap())
        );
        let choice = options[d["choice"].as_u64().unwrap() as usize];
        assert_eq!(cell(tr, "choice").unwrap(), choice, "{tr}");
    }
    // Transit: revenue per operator, and the riders at the cap by account number.
    for op in transit["operators"].as_array().unwrap() {
        let tr = row(
            &dom,
            &format!("<tr data-operator=\"{}\"", op["operator"]),
            "tr",
        );
        assert_eq!(
            cell(tr, "revenue").unwrap(),
            dollars(op["revenue"].as_u64().unwrap())
        );
        assert_eq!(
            cell(tr, "rides").unwrap(),
            thousands(op["rides"].as_u64().unwrap())
        );
        assert_eq!(
            cell(tr, "transfers").unwrap(),
            thousands(op["transfers"].as_u64().unwrap())
        );
    }
    let total = row(&dom, "<tr id=\"transit-total\"", "tr");
    assert!(
        text(total).contains(&dollars(transit["totals"]["revenue"].as_u64().unwrap())),
        "{total}"
    );
    let cap = row(&dom, "<p id=\"riders-at-cap\"", "p");
    assert!(cap.contains("data-count=\"1\""), "{cap}");
    assert!(
        text(cap).contains(&format!("accounts {}", city.resident(6))),
        "{cap}"
    );

    // A batch's page lists its transactions, with their hashes.
    let with_fill = trades["trades"][0]["batch"].as_u64().unwrap();
    let entries = api(&format!("/v1/batches/{with_fill}/entries"));
    let (dom, _) = browser.dom(&format!("{url}/#/batch/{with_fill}"));
    let table = row(&dom, "<table id=\"entries\"", "table");
    let listed = entries["entries"].as_array().unwrap();
    assert_eq!(
        table.matches("<tr data-position=").count(),
        listed.len(),
        "{table}"
    );
    for e in listed {
        let tr = row(
            table,
            &format!("<tr data-position=\"{}\"", e["position"]),
            "tr",
        );
        assert!(
            tr.contains(&format!("#/tx/{}", e["hash"].as_str().unwrap())),
            "{tr}"
        );
        assert_eq!(cell(tr, "kind").unwrap(), e["kind"].as_str().unwrap());
    }
    assert!(listed.iter().any(|e| e["kind"] == "fill"), "{entries}");

    // An account and a meter.
    let buyer = city.resident(2);
    let account = api(&format!("/v1/accounts/{buyer}"));
    let (dom, _) = browser.dom(&format!("{url}/#/account/{buyer}"));
    assert_eq!(
        text(row(&dom, "<dd id=\"account-balance\"", "dd")),
        dollars(account["record"]["balance"].as_u64().unwrap())
    );
    assert_eq!(
        text(row(&dom, "<dd id=\"account-energy\"", "dd")),
        format!(
            "{} Wh",
            thousands(account["record"]["energy"].as_u64().unwrap())
        )
    );
    let (dom, _) = browser.dom(&format!("{url}/#/meter/0"));
    let table = row(&dom, "<table id=\"readings\"", "table");
    assert_eq!(table.matches("<tr data-position=").count(), 2, "{table}");
    assert!(dom.contains("id=\"readings-chart\""), "{dom}");

    // Transactions: one accepted, a refused one with its reason, a hash never seen, and
    // text that is no hash at all.
    let accepted = &entries["entries"][0]["hash"];
    let (dom, _) = browser.dom(&format!("{url}/#/tx/{}", accepted.as_str().unwrap()));
    let section = row(&dom, "<section class=\"card wide\" id=\"tx\"", "section");
    assert!(section.contains("data-status=\"sealed\""), "{section}");
    let refused_hash = circuits::hash::to_hex(&refused.id());
    let (dom, _) = browser.dom(&format!("{url}/#/tx/{refused_hash}"));
    let section = row(&dom, "<section class=\"card wide\" id=\"tx\"", "section");
    assert!(section.contains("data-status=\"rejected\""), "{section}");
    assert!(
        text(section).contains("reading_not_increasing"),
        "{section}"
    );
    let never = circuits::hash::to_hex(&city.transfer(city.resident(8), city.resident(9), 1).id());
    let (dom, _) = browser.dom(&format!("{url}/#/tx/{never}"));
    let section = row(&dom, "<section class=\"card wide\" id=\"tx\"", "section");
    assert!(text(section).contains("No such transaction:"), "{section}");
    assert!(text(section).contains("is unknown"), "{section}");
    let (dom, _) = browser.dom(&format!("{url}/#/tx/not-a-hash"));
    let section = row(&dom, "<section class=\"card wide\" id=\"tx\"", "section");
    assert!(section.contains("data-code=\"bad_request\""), "{section}");
    assert!(
        text(section).contains(
            "This is not a transaction hash: transaction hash `not-a-hash` is not a field element"
        ),
        "{section}"
    );

    // Pictures for people to look at.
    let pictures = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("explorer");
    for (name, path, width, height) in [
        ("dashboard.png", "/#/", 1280, 2600),
        ("dashboard-phone.png", "/#/", 390, 5000),
        ("batch.png", &*format!("/#/batch/{with_fill}"), 1280, 1100),
        ("bad-hash.png", "/#/tx/not-a-hash", 900, 500),
    ] {
        let file = pictures.join(name);
        browser.screenshot(&format!("{url}{path}"), &file, width, height);
        println!("screenshot: {}", file.display());
    }
    server.stop();
    println!("the explorer's browser test took {:?}", started.elapsed());
}

/// Method and path of every operation in the OpenAPI description.
fn described(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

#[test]
fn the_openapi_description_matches_every_route() {
    let doc: Value = serde_json::from_str(sequencer::explorer::OPENAPI_JSON).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = sequencer::api::routes();
    let routed: BTreeSet<(String, String)> = routes
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(routed.len(), routes.len(), "a route is listed twice");
    let described = described(&doc);
    let undescribed: Vec<_> = routed.difference(&described).collect();
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(
        undescribed.is_empty(),
        "routes the description lacks: {undescribed:?}"
    );
    assert!(
        unrouted.is_empty(),
        "described but not routed: {unrouted:?}"
    );

    // Every operation says what it does, names each of its path's parameters and answers.
    for (method, path) in &described {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(
            op["summary"].is_string() && op["description"].is_string(),
            "{method} {path}"
        );
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
        let params: BTreeSet<&str> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(params, in_path, "{method} {path}");
    }
    for (name, _) in doc["components"]["schemas"].as_object().unwrap() {
        let used = format!("#/components/schemas/{name}");
        assert!(
            sequencer::explorer::OPENAPI_JSON.matches(&used).count() > 0,
            "schema {name} is never used"
        );
    }

    // The running service serves the description and answers every route in the table
    // itself (never with the fallback that answers unknown paths).
    let dir = fresh_dir("explorer-openapi");
    let city = City::new(2);
    let mut cfg = config(&dir, city.genesis.clone());
    cfg.prove = false;
    let server = sequencer::spawn(cfg).unwrap();
    let url = server.url();
    let http = client();
    let (status, served) = get(&http, &format!("{url}/v1/openapi.json"));
    assert_eq!((status, &served), (200, &doc));
    let fallback = |method: &str, path: &str| -> bool {
        let response = http
            .request(method.parse().unwrap(), format!("{url}{path}"))
            .send()
            .unwrap();
        let body: Value = response.json().unwrap_or(Value::Null);
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("no route "))
    };
    assert!(
        fallback("GET", "/v1/nothing"),
        "the fallback is not recognised"
    );
    for route in &routes {
        let path = route
            .path
            .replace("{tree}", "accounts")
            .replace("{asset}", "explorer.js")
            .replace("{hash}", &"0".repeat(64))
            .replace("{nullifier}", &"0".repeat(64))
            .split('/')
            .map(|s| if s.starts_with('{') { "1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        assert!(
            !fallback(route.method.as_str(), &path),
            "{} {} is in the table but the server does not route it",
            route.method,
            route.path
        );
    }
    server.stop();
}
