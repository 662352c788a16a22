// The city explorer: reads the sequencer's public /v1 API and draws it. No framework, no
// build step; charts are small SVG drawings made here. Views are chosen by the URL's hash:
//   #/ (or #/batches, #/market, #/transit, #/governance)  the city at a glance
//   #/batch/N     a batch and its transactions
//   #/tx/HASH     a transaction's status (pending, sealed, proven, rejected and why)
//   #/account/N   an account
//   #/meter/N     a meter's readings
// The view refreshes itself every few seconds while the page is visible.
"use strict";
(() => {
  const REFRESH_MS = 4000;
  /** Batches the dashboard's charts look back over (the API's largest page). */
  const WINDOW = 1000;
  /** Batches in the dashboard's table and in the status strip. */
  const TABLE_ROWS = 25;
  const STRIP = 60;
  const AUTHORITIES = ["grid operator", "transit authority", "registrar", "council", "market"];

  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
  const num = (x) => Number(x).toLocaleString("en-US");
  const dollars = (cents) => "$" + (Number(cents) / 100).toLocaleString("en-US", {
    minimumFractionDigits: 2, maximumFractionDigits: 2,
  });
  const short = (h) => (h ? `${h.slice(0, 8)}…${h.slice(-6)}` : "—");
  const when = (t) => new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  const hhmm = (t) => new Date(t * 1000).toISOString().slice(11, 16);
  const seconds = (s) => (s == null ? "—" : s < 60 ? `${s.toFixed(s < 10 ? 2 : 1)} s`
    : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);
  const badge = (status) => `<span class="badge s-${esc(status)}">${esc(status)}</span>`;

  /** An answer of the API that is not a success: its JSON error, or the HTTP status. */
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(path) {
    let response;
    try {
      response = await fetch(path, { headers: { accept: "application/json" }, cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, "unreachable", `the sequencer cannot be reached (${e.message})`);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      throw new ApiError(response.status, (body && body.code) || `http_${response.status}`,
        (body && body.message) || response.statusText);
    }
    return body;
  }

  const errorBox = (what, e) =>
    `<div class="error" data-code="${esc(e.code || "error")}"><strong>${esc(what)}</strong> ` +
    `${esc(e.message)}${e.code ? ` <span class="muted">(${esc(e.code)})</span>` : ""}</div>`;

  // ---------------------------------------------------------------- names

  let genesis = null;
  async function names() {
    if (!genesis) {
      try {
        genesis = await api("/v1/genesis");
      } catch (_) {
        genesis = { accounts: [] };
      }
    }
    return genesis;
  }

  /** An account's public label: an authority's role, or its genesis name. */
  function label(id) {
    if (id < AUTHORITIES.length) return AUTHORITIES[id];
    const a = genesis && genesis.accounts[id - AUTHORITIES.length];
    return a && a.name ? a.name : null;
  }
  const accountLink = (id) => {
    const name = label(id);
    return `<a href="#/account/${id}">${num(id)}</a>${name ? ` <span class="muted">${esc(name)}</span>` : ""}`;
  };

  // ---------------------------------------------------------------- charts (SVG)

  /** A chart's width in user units: about its width on screen, so text keeps its size. */
  const chartWidth = () => Math.round(Math.min(560, Math.max(300, window.innerWidth - 56)));

  /** The smallest of 1, 2, 5 × 10^k at least `v` (and at least 1). */
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  /**
   * A chart's frame: axes, the y scale's ticks and the x labels. Returns the scales and the
   * SVG of the frame; `draw` adds the marks.
   */
  function frame({ w = chartWidth(), h = 220, yMax, yFmt = num, xLabels = [], yTitle = "" }) {
    const p = { l: 52, r: 12, t: 24, b: 30 };
    const top = niceMax(yMax);
    const sy = (v) => p.t + (h - p.t - p.b) * (1 - v / top);
    const sx = (f) => p.l + (w - p.l - p.r) * f;
    let svg = `<line class="axis" x1="${p.l}" y1="${sy(0)}" x2="${w - p.r}" y2="${sy(0)}"/>`;
    for (const f of [0, 0.5, 1]) {
      const v = top * f;
      svg += `<line class="axis" x1="${p.l}" y1="${sy(v)}" x2="${w - p.r}" y2="${sy(v)}" stroke-dasharray="${f ? "3 3" : ""}"/>`;
      svg += `<text x="${p.l - 6}" y="${sy(v) + 4}" text-anchor="end">${esc(yFmt(v))}</text>`;
    }
    if (yTitle) svg += `<text x="4" y="11">${esc(yTitle)}</text>`;
    for (const [f, text] of xLabels) {
      const anchor = f <= 0 ? "start" : f >= 1 ? "end" : "middle";
      svg += `<text x="${sx(f)}" y="${h - 8}" text-anchor="${anchor}">${esc(text)}</text>`;
    }
    return { w, h, sx, sy, svg, p };
  }
  const chart = (id, f, marks, title) =>
    `<svg class="chart" id="${id}" viewBox="0 0 ${f.w} ${f.h}" role="img" aria-label="${esc(title)}">` +
    `<title>${esc(title)}</title>${f.svg}${marks}</svg>`;

  /** Transactions sealed and proven per minute, over the last 30 minutes of activity. */
  function throughputChart(batches, proofs) {
    const sealed = batches.filter((b) => b.status !== "open");
    if (!sealed.length) return `<p class="note">No batch sealed yet.</p>`;
    const txs = new Map(batches.map((b) => [b.number, b.transactions]));
    const provenAt = proofs.filter((p) => p.proven_at_ms != null);
    const last = Math.max(...sealed.map((b) => b.time), ...provenAt.map((p) => p.proven_at_ms / 1000));
    const end = Math.floor(last / 60);
    const minutes = 30;
    const start = end - minutes + 1;
    const sealedPer = new Array(minutes).fill(0);
    const provenPer = new Array(minutes).fill(0);
    for (const b of sealed) {
      const i = Math.floor(b.time / 60) - start;
      if (i >= 0 && i < minutes) sealedPer[i] += b.transactions;
    }
    for (const p of provenAt) {
      const i = Math.floor(p.proven_at_ms / 60000) - start;
      if (i >= 0 && i < minutes) provenPer[i] += txs.get(p.number) || 0;
    }
    const f = frame({
      yMax: Math.max(...sealedPer, ...provenPer),
      yTitle: "transactions per minute",
      xLabels: [[0, hhmm(start * 60)], [0.5, hhmm((start + minutes / 2) * 60)], [1, hhmm((end + 1) * 60)]],
    });
    const slot = (f.sx(1) - f.sx(0)) / minutes;
    let marks = "";
    for (let i = 0; i < minutes; i++) {
      const x = f.sx(0) + i * slot;
      const minute = hhmm((start + i) * 60);
      for (const [k, v, cls] of [[0, sealedPer[i], "sealed"], [1, provenPer[i], "proven"]]) {
        if (!v) continue;
        marks += `<rect class="${cls}" data-minute="${start + i}" data-${cls}="${v}" x="${x + 1 + k * (slot - 2) / 2}" ` +
          `y="${f.sy(v)}" width="${Math.max(1, (slot - 2) / 2)}" height="${f.sy(0) - f.sy(v)}">` +
          `<title>${minute}: ${num(v)} transactions ${cls}</title></rect>`;
      }
    }
    return chart("throughput-chart", f, marks, "Transactions sealed and proven per minute") +
      `<div class="legend"><span><i class="s-sealed"></i>sealed</span><span><i class="s-proven"></i>proven</span>` +
      `<span>minutes in UTC</span></div>`;
  }

  /** Seconds from each batch's time to its proof; hollow: still waiting, up to now. */
  function lagChart(batches, proofs, now) {
    const provenAt = new Map(proofs.filter((p) => p.proven_at_ms != null)
      .map((p) => [p.number, p.proven_at_ms / 1000]));
    const points = [];
    for (const b of batches) {
      if (b.status === "open") continue;
      if (provenAt.has(b.number)) points.push([b.number, Math.max(0, provenAt.get(b.number) - b.time), true]);
      else if (b.status !== "proven") points.push([b.number, Math.max(0, now - b.time), false]);
    }
    if (!points.length) return `<p class="note">No batch sealed since this sequencer started proving.</p>`;
    const lo = points[0][0];
    const hi = points[points.length - 1][0];
    const f = frame({
      yMax: Math.max(...points.map((p) => p[1])),
      yFmt: (v) => `${num(Math.round(v))} s`,
      yTitle: "seconds to proof",
      xLabels: [[0, `batch ${num(lo)}`], [1, `batch ${num(hi)}`]],
    });
    const x = (n) => f.sx(hi === lo ? 0.5 : (n - lo) / (hi - lo));
    let marks = "";
    for (const [n, lag, done] of points) {
      marks += `<circle class="lag" data-batch="${n}" cx="${x(n)}" cy="${f.sy(lag)}" r="3"` +
        `${done ? "" : ' fill-opacity="0" stroke="currentColor" style="color:var(--proving)"'}>` +
        `<title>batch ${num(n)}: ${done ? "proven" : "waiting"} after ${seconds(lag)}</title></circle>`;
    }
    return chart("lag-chart", f, marks, "Proving lag per batch") +
      `<div class="legend"><span><i class="s-proving"></i>proven after</span><span>hollow: not proven yet, waiting so far</span></div>`;
  }

  /** Fill prices in order, each point sized by its quantity. */
  function priceChart(trades) {
    if (!trades.length) return `<p class="note">No trade yet.</p>`;
    const f = frame({
      yMax: Math.max(...trades.map((t) => t.price)),
      yFmt: (v) => `${num(Math.round(v))} c`,
      yTitle: "price, cents per kWh",
      xLabels: [[0, when(trades[0].time).slice(5, 16)], [1, when(trades[trades.length - 1].time).slice(5, 16)]],
    });
    const big = Math.max(...trades.map((t) => t.quantity));
    const x = (i) => f.sx(trades.length === 1 ? 0.5 : i / (trades.length - 1));
    const line = trades.map((t, i) => `${x(i)},${f.sy(t.price)}`).join(" ");
    let marks = `<polyline class="price-line" points="${line}"/>`;
    trades.forEach((t, i) => {
      const r = 3 + 6 * Math.sqrt(t.quantity / big);
      marks += `<circle class="fill" data-price="${t.price}" data-quantity="${t.quantity}" data-position="${t.position}" ` +
        `cx="${x(i)}" cy="${f.sy(t.price)}" r="${r.toFixed(1)}">` +
        `<title>${num(t.quantity)} Wh at ${num(t.price)} c/kWh, batch ${num(t.batch)}</title></circle>`;
    });
    return chart("price-chart", f, marks, "Prices of the market's fills, in order");
  }

  /** A meter's cumulative export at each reading. */
  function readingsChart(readings) {
    if (!readings.length) return `<p class="note">No reading yet.</p>`;
    const f = frame({
      yMax: Math.max(...readings.map((r) => r.cumulative)),
      yFmt: (v) => `${num(Math.round(v))} Wh`,
      yTitle: "cumulative export",
      xLabels: [[0, when(readings[0].time).slice(5, 16)], [1, when(readings[readings.length - 1].time).slice(5, 16)]],
    });
    const x = (i) => f.sx(readings.length === 1 ? 0.5 : i / (readings.length - 1));
    const line = readings.map((r, i) => `${x(i)},${f.sy(r.cumulative)}`).join(" ");
    let marks = `<polyline class="reading-line" points="${line}"/>`;
    readings.forEach((r, i) => {
      marks += `<circle class="proven" cx="${x(i)}" cy="${f.sy(r.cumulative)}" r="3.5">` +
        `<title>${num(r.cumulative)} Wh (minted ${num(r.minted)})</title></circle>`;
    });
    return chart("readings-chart", f, marks, "Cumulative export at each reading");
  }

  // ---------------------------------------------------------------- the status strip

  function renderStatus(state, batches) {
    const recent = batches.slice(-STRIP);
    const cells = recent.map((b) => `<a href="#/batch/${b.number}" class="s-${esc(b.status)}" ` +
      `data-batch="${b.number}" data-status="${esc(b.status)}" title="batch ${num(b.number)}: ${esc(b.status)}, ` +
      `${num(b.transactions)} transactions"></a>`).join("");
    const unproven = state.latest_sealed - state.latest_proven;
    $("status").innerHTML =
      `<dl class="facts">` +
      `<div><dt>transactions</dt><dd id="fact-transactions">${num(state.transactions)}</dd></div>` +
      `<div><dt>latest sealed</dt><dd id="fact-sealed">${num(state.latest_sealed)}</dd></div>` +
      `<div><dt>latest proven</dt><dd id="fact-proven">${num(state.latest_proven)}</dd></div>` +
      `<div><dt>waiting for proof</dt><dd id="fact-unproven">${num(unproven)}</dd></div>` +
      `<div><dt>open batch</dt><dd id="fact-open">${state.open_batch ? `${num(state.open_batch.number)} (${num(state.open_batch.transactions)} tx)` : "none"}</dd></div>` +
      `<div><dt>state root</dt><dd class="mono" title="${esc(state.root)}">${short(state.root)}</dd></div>` +
      `</dl>` +
      (cells ? `<div class="strip" aria-label="the last ${recent.length} batches by status">${cells}</div>` +
        `<div class="legend">${["open", "sealed", "proving", "proven", "failed"]
          .map((s) => `<span><i class="s-${s}"></i>${s}</span>`).join("")}<span>last ${recent.length} batches</span></div>` : "");
  }

  // ---------------------------------------------------------------- the dashboard

  async function loadBatches(state, window) {
    const latest = state.open_batch ? state.open_batch.number : state.latest_sealed;
    const from = Math.max(1, latest - window + 1);
    const [list, proofs] = await Promise.all([
      api(`/v1/batches?from=${from}&limit=${window}`),
      state.latest_proven >= from ? api(`/v1/proofs?from=${from}&limit=${window}`) : { proofs: [] },
    ]);
    return { batches: list.batches, proofs: proofs.proofs };
  }

  function batchesSection(state, batches, proofs) {
    const proofOf = new Map(proofs.map((p) => [p.number, p]));
    const rows = batches.slice(-TABLE_ROWS).reverse().map((b) => {
      const p = proofOf.get(b.number);
      return `<tr data-batch="${b.number}" data-status="${esc(b.status)}">` +
        `<td><a href="#/batch/${b.number}">${num(b.number)}</a></td>` +
        `<td>${badge(b.status)}${b.proving_failures ? ` <span class="muted" title="${esc(b.proving_error || "")}">${num(b.proving_failures)} failed</span>` : ""}</td>` +
        `<td class="num tx-count">${num(b.transactions)}</td>` +
        `<td>${when(b.time).slice(5, 19)}</td>` +
        `<td class="mono" title="${esc(b.root_new || "")}">${short(b.root_new)}</td>` +
        `<td class="num">${p ? num(p.chunks) : "—"}</td>` +
        `<td class="num">${p ? num(p.proof_bytes) : "—"}</td>` +
        `<td class="num">${p ? seconds(p.proving_seconds) : "—"}</td></tr>`;
    }).join("");
    return `<section class="card wide" id="batches"><h2>Batches</h2>` +
      (rows ? `<div class="scroll"><table id="batch-table"><thead><tr><th>batch</th><th>status</th>` +
        `<th class="num">transactions</th><th>time (UTC)</th><th>root after</th><th class="num">chunks</th>` +
        `<th class="num">proof bytes</th><th class="num">proving</th></tr></thead><tbody>${rows}</tbody></table></div>` +
        (batches.length > TABLE_ROWS ? `<p class="note">The latest ${TABLE_ROWS} of ${num(batches[batches.length - 1].number)} batches; open any by number with the lookup (<code>batch 12</code>).</p>` : "")
        : `<p class="note">No batch yet: nothing has been submitted.</p>`) +
      `<div class="book"><div><h3>Throughput</h3>${throughputChart(batches, proofs)}</div>` +
      `<div><h3>Proving lag</h3>${lagChart(batches, proofs, state.time)}</div></div></section>`;
  }

  function bookTable(side, levels) {
    if (!levels.length) return `<p class="note">No ${side === "bid" ? "bids" : "asks"}.</p>`;
    const big = Math.max(...levels.map((l) => l.amount));
    return `<table id="${side}s"><thead><tr><th class="num">price (c/kWh)</th><th class="num">Wh</th>` +
      `<th class="num">orders</th><th></th></tr></thead><tbody>` +
      levels.map((l) => `<tr data-side="${side}" data-price="${l.price}"><td class="num price">${num(l.price)}</td>` +
        `<td class="num amount">${num(l.amount)}</td><td class="num orders">${num(l.orders)}</td>` +
        `<td class="barcell"><span class="bar ${side}" style="width:${(100 * l.amount / big).toFixed(1)}%"></span></td></tr>`).join("") +
      `</tbody></table>`;
  }

  function marketSection(state, book, trades) {
    const recent = trades.trades.slice(-10).reverse().map((t) => `<tr data-trade="${t.position}">` +
      `<td><a href="#/batch/${t.batch}">${num(t.batch)}</a></td><td class="num">${num(t.quantity)}</td>` +
      `<td class="num">${num(t.price)}</td><td class="num">${dollars(t.payment)}</td>` +
      `<td>${accountLink(t.seller)} → ${accountLink(t.buyer)}</td></tr>`).join("");
    const meters = state.counters.meters;
    const meterLinks = Array.from({ length: Math.min(meters, 30) }, (_, i) =>
      `<a href="#/meter/${i}">meter ${i}</a>`).join(" · ");
    return `<section class="card" id="market"><h2>Energy market</h2>` +
      `<h3>Order book</h3><div class="book"><div><strong>Bids</strong>${bookTable("bid", book.bids)}</div>` +
      `<div><strong>Asks</strong>${bookTable("ask", book.asks)}</div></div>` +
      `<h3>Prices of fills <span class="muted">(${num(trades.total)} trades)</span></h3>${priceChart(trades.trades)}` +
      (recent ? `<h3>Recent trades</h3><div class="scroll"><table id="trades"><thead><tr><th>batch</th>` +
        `<th class="num">Wh</th><th class="num">c/kWh</th><th class="num">paid</th><th>seller → buyer</th></tr></thead>` +
        `<tbody>${recent}</tbody></table></div>` : "") +
      `<h3>Meters</h3>${meters ? `<p>${meterLinks}${meters > 30 ? ` <span class="muted">and ${num(meters - 30)} more: look up <code>meter N</code></span>` : ""}</p>`
        : `<p class="note">No meter registered.</p>`}</section>`;
  }

  function transitSection(t) {
    const big = Math.max(1, ...t.operators.map((o) => o.revenue));
    const rows = t.operators.map((o) => `<tr data-operator="${o.operator}"><td>${accountLink(o.operator)}</td>` +
      `<td class="num revenue">${dollars(o.revenue)}</td><td class="num rides">${num(o.rides)}</td>` +
      `<td class="num transfers">${num(o.transfers)}</td><td class="num capped">${num(o.capped)}</td>` +
      `<td class="barcell"><span class="bar revenue" style="width:${(100 * o.revenue / big).toFixed(1)}%"></span></td></tr>`).join("");
    const cap = t.riders_at_cap;
    return `<section class="card" id="transit"><h2>Transit</h2>` +
      (rows ? `<div class="scroll"><table id="operators"><thead><tr><th>operator</th><th class="num">revenue</th>` +
        `<th class="num">rides</th><th class="num">transfers</th><th class="num">capped</th><th></th></tr></thead><tbody>${rows}` +
        `<tr id="transit-total"><th>total</th><th class="num">${dollars(t.totals.revenue)}</th><th class="num">${num(t.totals.rides)}</th>` +
        `<th class="num">${num(t.totals.transfers)}</th><th class="num">${num(t.totals.capped)}</th><th></th></tr></tbody></table></div>`
        : `<p class="note">No transit operator registered.</p>`) +
      `<h3>Riders at the fare cap</h3><p id="riders-at-cap" data-count="${cap.count}">` +
      `<strong>${num(cap.count)}</strong> ${cap.count === 1 ? "rider has" : "riders have"} reached the ${dollars(t.fare_cap)} cap ` +
      `of their current ${num(Math.round(t.cap_period / 86400))}-day period${cap.count ? ": accounts " +
        cap.accounts.map((a) => `<a href="#/account/${a}">${num(a)}</a>`).join(", ") : ""}.</p>` +
      `<p class="note">Capped: rides the cap made cheaper or free. Riders are shown by account number only.</p></section>`;
  }

  function proposalBlock(p, delegates) {
    const options = p.options || (p.tally ? p.tally.direct.map((_, i) => `option ${i}`) : []);
    const t = p.tally;
    const big = Math.max(1, ...(t ? t.totals : [0]));
    const rows = options.map((o, i) => {
      const direct = t ? t.direct[i] : 0;
      const total = t ? t.totals[i] : 0;
      const via = total - direct;
      return `<tr data-option="${i}"><td>${esc(o)}</td><td class="num direct">${num(direct)}</td>` +
        `<td class="num via">${num(via)}</td><td class="num total"><strong>${num(total)}</strong></td>` +
        `<td class="barcell"><div class="stack" style="width:${(100 * total / big).toFixed(1)}%">` +
        `<span class="direct" style="flex:${direct}"></span><span class="delegated" style="flex:${via}"></span></div></td></tr>`;
    }).join("");
    const ds = t ? t.delegates.map((d) => `<tr data-delegate="${d.delegate}"><td>delegate ${num(d.delegate)}` +
      `${delegates[d.delegate] != null ? ` · ${accountLink(delegates[d.delegate])}` : ""}</td>` +
      `<td class="num followers">${num(d.followers)}</td><td class="choice">${d.choice == null
        ? `<span class="muted">has not voted: followers abstain</span>` : esc(options[d.choice] ?? `option ${d.choice}`)}</td></tr>`).join("") : "";
    return `<div class="proposal" id="proposal-${p.id}" data-proposal="${p.id}">` +
      `<h3>${badge(p.status)} Proposal ${num(p.id)}: ${esc(p.title ?? "(wording not known)")}</h3>` +
      `<p class="note">Voting ${p.status === "upcoming" ? "opens" : "opened"} ${when(p.start)}, ` +
      `${p.status === "closed" ? "closed" : "closes"} ${when(p.end)}; ${p.voters != null ? num(p.voters) : "?"} voters registered when it opened.</p>` +
      `<div class="scroll"><table class="tally"><thead><tr><th>option</th><th class="num">direct</th>` +
      `<th class="num">via delegates</th><th class="num">total</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>` +
      `<div class="legend"><span><i class="s-direct" style="background:var(--direct)"></i>direct ballots</span>` +
      `<span><i style="background:var(--delegated)"></i>followers of a delegate who chose it</span>` +
      (t && t.abstained ? `<span class="abstained">${num(t.abstained)} followers abstain</span>` : "") + `</div>` +
      (ds ? `<div class="scroll"><table class="delegates"><thead><tr><th>delegate</th><th class="num">followers</th>` +
        `<th>choice</th></tr></thead><tbody>${ds}</tbody></table></div>` : "") + `</div>`;
  }

  function governanceSection(g) {
    return `<section class="card wide" id="governance"><h2>Governance</h2>` +
      (g.proposals.length ? g.proposals.slice().reverse().map((p) => proposalBlock(p, g.delegates)).join("")
        : `<p class="note">No proposal yet.</p>`) +
      `<p class="note">Tallies are live: direct ballots per option, each delegate's followers and choice, and the ` +
      `result with followers added to their delegate's option. Ballots are anonymous: nothing here, or in the API, ` +
      `says which voter cast which ballot.</p></section>`;
  }

  async function dashboard(section) {
    const state = await api("/v1/state");
    await names();
    const settled = await Promise.allSettled([
      loadBatches(state, WINDOW),
      api("/v1/orderbook"),
      api("/v1/trades?limit=200"),
      api("/v1/transit/revenue"),
      api("/v1/proposals"),
    ]);
    const [batches, book, trades, transit, governance] = settled;
    const part = (r, what, draw) => (r.status === "fulfilled" ? draw(r.value)
      : `<section class="card">${errorBox(what, r.reason)}</section>`);
    if (batches.status === "fulfilled") renderStatus(state, batches.value.batches);
    else renderStatus(state, []);
    const html =
      part(batches, "The batches cannot be read:", (b) => batchesSection(state, b.batches, b.proofs)) +
      (book.status === "fulfilled" && trades.status === "fulfilled"
        ? marketSection(state, book.value, trades.value)
        : `<section class="card">${errorBox("The market cannot be read:", (book.reason || trades.reason))}</section>`) +
      part(transit, "Transit cannot be read:", transitSection) +
      part(governance, "Governance cannot be read:", governanceSection);
    return { html, cls: "dashboard", after: () => section && scrollOnce(section) };
  }

  let scrolled = null;
  function scrollOnce(section) {
    if (scrolled === location.hash) return;
    scrolled = location.hash;
    const el = $(section);
    if (el) el.scrollIntoView();
  }

  // ---------------------------------------------------------------- detail views

  async function strip() {
    const state = await api("/v1/state");
    const latest = state.open_batch ? state.open_batch.number : state.latest_sealed;
    const list = latest ? await api(`/v1/batches?from=${Math.max(1, latest - STRIP + 1)}&limit=${STRIP}`) : { batches: [] };
    renderStatus(state, list.batches);
    return state;
  }

  const wholeNumber = (text) => /^\d{1,19}$/.test(text);

  async function batchPage(arg) {
    await Promise.all([strip(), names()]);
    if (!wholeNumber(arg)) {
      throw Object.assign(new ApiError(400, "bad_request", `\`${arg}\` is not a batch number`), { what: "No such batch:" });
    }
    const n = Number(arg);
    const [view, entries, proofs] = await Promise.all([
      api(`/v1/batches/${n}/status`),
      api(`/v1/batches/${n}/entries`),
      api(`/v1/proofs?from=${n}&limit=1`),
    ]);
    const p = proofs.proofs.find((x) => x.number === n);
    const rows = entries.entries.map((e) => {
      const fields = Object.entries(e.fields).filter(([k]) => k !== "type")
        .map(([k, v]) => `${esc(k)}=${esc(typeof v === "object" ? JSON.stringify(v) : v)}`).join(" ");
      return `<tr data-position="${e.position}"><td class="num">${num(e.position)}</td>` +
        `<td class="mono"><a href="#/tx/${e.hash}" title="${e.hash}">${short(e.hash)}</a></td>` +
        `<td class="kind">${esc(e.kind)}</td><td>${esc(e.signer)}</td>` +
        `<td class="mono fields">${fields}${e.proof_bytes ? ` <span class="muted">(${num(e.proof_bytes)}-byte proof)</span>` : ""}</td></tr>`;
    }).join("");
    const families = p ? Object.entries(p.families).map(([f, c]) => `${num(c)} ${esc(f)}`).join(", ") : "";
    const html = `<section class="card wide" id="batch" data-batch="${n}">` +
      `<h2>Batch ${num(n)} ${badge(view.status)}</h2>` +
      `<p><a href="#/batch/${n - 1}">← batch ${num(n - 1)}</a> · <a href="#/batch/${n + 1}">batch ${num(n + 1)} →</a></p>` +
      `<dl class="facts"><div><dt>transactions</dt><dd id="batch-transactions">${num(view.transactions)}</dd></div>` +
      `<div><dt>time</dt><dd>${when(view.time)}</dd></div>` +
      `<div><dt>chunks</dt><dd>${p ? num(p.chunks) : "—"}</dd></div>` +
      `<div><dt>proof bytes</dt><dd>${p ? num(p.proof_bytes) : "—"}</dd></div>` +
      `<div><dt>proving time</dt><dd>${p ? seconds(p.proving_seconds) : "—"}</dd></div></dl>` +
      (p ? `<p class="note">Chunks per circuit: ${families}.${p.proven_at_ms ? ` Proven ${when(p.proven_at_ms / 1000)}.` : ""}</p>`
        : `<p class="note">No proof yet: the chunks and proof bytes appear once it is proven.</p>`) +
      (view.proving_error ? errorBox(`Proving failed ${num(view.proving_failures)} times; last:`, { code: "proving_failed", message: view.proving_error }) : "") +
      `<p class="mono hash">root before ${esc(view.root_old)}<br>root after&nbsp; ${esc(view.root_new || "(open)")}</p>` +
      `<h3>Transactions</h3><div class="scroll"><table id="entries"><thead><tr><th class="num">position</th><th>hash</th>` +
      `<th>kind</th><th>signer</th><th>fields</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
    return { html };
  }

  async function txPage(hash) {
    await strip();
    let status;
    try {
      status = await api(`/v1/transactions/${encodeURIComponent(hash)}`);
    } catch (e) {
      const what = e.status === 400 ? "This is not a transaction hash:" : e.status === 404
        ? "No such transaction:" : "The transaction cannot be looked up:";
      return { html: `<section class="card wide" id="tx" data-status="error">${errorBox(what, e)}` +
        `<p class="note">A transaction hash is 64 hexadecimal digits, as a receipt or <code>client</code> prints it.</p></section>` };
    }
    const where = status.batch != null
      ? `<div><dt>batch</dt><dd><a href="#/batch/${status.batch}">${num(status.batch)}</a></dd></div>` +
        `<div><dt>log position</dt><dd>${num(status.position)}</dd></div>` +
        (status.time ? `<div><dt>batch time</dt><dd>${when(status.time)}</dd></div>` : "") : "";
    const explain = {
      pending: "Accepted and durable, in the open batch: it is sealed within seconds.",
      sealed: "In a sealed batch, waiting for its proof.",
      proven: "In a proven batch: its effect is covered by a validity proof.",
      rejected: "Refused by the sequencer; it changed nothing.",
    }[status.status] || "";
    return { html: `<section class="card wide" id="tx" data-status="${esc(status.status)}">` +
      `<h2>Transaction ${badge(status.status)}</h2><p class="mono hash">${esc(status.hash)}</p>` +
      `<p>${esc(explain)}</p>` +
      (status.status === "rejected" ? errorBox("Why:", { code: status.code, message: status.message }) : "") +
      `<dl class="facts">${where}</dl></section>` };
  }

  async function accountPage(arg) {
    await Promise.all([strip(), names()]);
    if (!wholeNumber(arg)) {
      throw Object.assign(new ApiError(400, "bad_request", `\`${arg}\` is not an account number`), { what: "No such account:" });
    }
    const a = await api(`/v1/accounts/${arg}`);
    const r = a.record;
    const rider = r.rider || {};
    const fares = r.owner && r.owner.fares;
    return { html: `<section class="card wide" id="account" data-account="${a.id}">` +
      `<h2>Account ${num(a.id)}${label(a.id) ? ` <span class="muted">${esc(label(a.id))}</span>` : ""}</h2>` +
      `<dl class="facts"><div><dt>city credits</dt><dd id="account-balance">${dollars(r.balance)}</dd></div>` +
      `<div><dt>energy credits</dt><dd id="account-energy">${num(r.energy)} Wh</dd></div>` +
      `<div><dt>nonce</dt><dd>${num(r.nonce)}</dd></div>` +
      (r.owner && r.owner.delegate != null ? `<div><dt>delegate</dt><dd>${num(r.owner.delegate)}</dd></div>` : "") +
      (rider.concession ? `<div><dt>concession</dt><dd>${num(rider.concession)}%</dd></div>` : "") +
      (rider.cap_start ? `<div><dt>spent this cap period</dt><dd>${dollars(rider.cap_spent)}</dd></div>` : "") +
      `</dl>` +
      (fares ? `<p>Transit operator; fares by class: ${fares.map(dollars).join(", ")}.</p>` : "") +
      `<p class="note">With an inclusion proof against the current state root <span class="mono">${short(a.root)}</span>. ` +
      `An auditor checks it against a proven root with <code>verifier</code>.</p></section>` };
  }

  async function meterPage(arg) {
    await Promise.all([strip(), names()]);
    if (!wholeNumber(arg)) {
      throw Object.assign(new ApiError(400, "bad_request", `\`${arg}\` is not a meter number`), { what: "No such meter:" });
    }
    const m = await api(`/v1/meters/${arg}/readings`);
    const rows = m.readings.slice().reverse().map((r) => `<tr data-position="${r.position}">` +
      `<td><a href="#/batch/${r.batch}">${num(r.batch)}</a></td><td>${when(r.time)}</td>` +
      `<td class="num">${num(r.cumulative)}</td><td class="num">${num(r.minted)}</td></tr>`).join("");
    return { html: `<section class="card wide" id="meter" data-meter="${m.meter}">` +
      `<h2>Meter ${num(m.meter)}</h2><p>Owner ${accountLink(m.owner)}; ${num(m.last_cumulative)} Wh exported in all.</p>` +
      readingsChart(m.readings) +
      (rows ? `<div class="scroll"><table id="readings"><thead><tr><th>batch</th><th>time</th>` +
        `<th class="num">cumulative Wh</th><th class="num">minted Wh</th></tr></thead><tbody>${rows}</tbody></table></div>` : "") +
      `</section>` };
  }

  // ---------------------------------------------------------------- routing and refresh

  const VIEWS = {
    "": dashboard, batches: dashboard, market: dashboard, transit: dashboard, governance: dashboard,
    batch: batchPage, tx: txPage, account: accountPage, meter: meterPage,
  };

  let generation = 0;
  let busy = false;

  async function render() {
    const mine = ++generation;
    busy = true;
    const hash = location.hash.replace(/^#\/?/, "");
    const [what, ...rest] = hash.split("/");
    const arg = decodeURIComponent(rest.join("/"));
    const view = VIEWS[what];
    let out;
    try {
      if (!view) {
        throw Object.assign(new ApiError(404, "not_found", `the page \`#/${hash}\` does not exist`), { what: "No such page:" });
      }
      out = await view(what === "" || VIEWS[what] === dashboard ? what : arg);
    } catch (e) {
      out = { html: `<section class="card wide">${errorBox(e.what || "The sequencer answered:", e)}</section>` };
    } finally {
      busy = false;
    }
    if (mine !== generation) return;
    const main = $("view");
    main.className = out.cls || "";
    main.innerHTML = out.html;
    if (out.after) out.after();
    document.body.dataset.view = what || "dashboard";
    document.body.dataset.rendered = String(mine);
    if (!document.body.dataset.firstRenderMs) {
      document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
    }
  }

  function lookup(event) {
    event.preventDefault();
    const q = $("lookup-input").value.trim();
    let m;
    if ((m = /^(?:batch|b)\s*#?\s*(\S+)$/i.exec(q))) location.hash = `#/batch/${m[1]}`;
    else if ((m = /^(?:meter|m)\s*#?\s*(\S+)$/i.exec(q))) location.hash = `#/meter/${m[1]}`;
    else if ((m = /^(?:account|a)?\s*#?\s*(\d{1,19})$/i.exec(q))) location.hash = `#/account/${m[1]}`;
    else if (q) location.hash = `#/tx/${encodeURIComponent(q)}`;
  }

  window.addEventListener("hashchange", () => {
    scrolled = null;
    render();
  });
  $("lookup").addEventListener("submit", lookup);
  setInterval(() => {
    if (!busy && document.visibilityState !== "hidden") render();
  }, REFRESH_MS);
  render();
})();
