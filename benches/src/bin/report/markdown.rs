//! The report as markdown, for the README: what ran where, then one table per measurement,
//! each saying what its figures are.

use std::fmt::Write;

use benches::measure::Stats;

use crate::model::*;

/// A duration in seconds, in the unit that reads best.
fn time(s: f64) -> String {
    if s >= 100.0 {
        format!("{s:.0} s")
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 0.1 {
        format!("{:.0} ms", s * 1e3)
    } else if s >= 0.001 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

/// A median with its spread when there were several runs: `1.38 s (1.35–1.52)`.
fn stats(s: &Stats) -> String {
    if s.runs > 1 {
        format!("{} ({}–{})", time(s.median_s), time(s.min_s), time(s.max_s))
    } else {
        time(s.median_s)
    }
}

/// An integer with thousands separators.
fn int(n: usize) -> String {
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

fn mib(m: Option<f64>) -> String {
    m.map_or("–".into(), |m| format!("{} MiB", int(m.round() as usize)))
}

fn rate(r: f64) -> String {
    if r >= 100.0 {
        int(r.round() as usize)
    } else if r >= 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

/// A load average triple.
pub fn load(l: Option<[f64; 3]>) -> String {
    l.map_or("unknown".into(), |[a, b, c]| {
        format!("{a:.2} / {b:.2} / {c:.2}")
    })
}

/// `1 slot`, `5 slots`.
pub fn slots(n: usize) -> String {
    if n == 1 {
        "1 slot".into()
    } else {
        format!("{n} slots")
    }
}

fn threads(t: usize) -> String {
    if t == 1 {
        "1 thread".into()
    } else {
        format!("{t} threads")
    }
}

pub fn render(r: &Report) -> String {
    let mut md = String::new();
    let m = &r.machine;
    let s = &r.settings;
    let all = s.threads;
    let _ = writeln!(md, "# Benchmark report\n");
    let _ = writeln!(
        md,
        "{} cores ({}), {} MiB of memory, Linux {}; commit `{}`; started {}; {} in all.",
        m.cores,
        m.cpu.as_deref().unwrap_or("unknown CPU"),
        m.memory_total_mib
            .map_or("?".into(), |x| int(x.round() as usize)),
        m.kernel.as_deref().unwrap_or("?"),
        m.git_commit.as_deref().unwrap_or("?"),
        m.started_utc,
        time(r.total_s)
    );
    if m.uncommitted.is_empty() {
        let _ = writeln!(
            md,
            "The working tree was clean (the commit is what was measured)."
        );
    } else {
        let _ = writeln!(
            md,
            "The working tree had uncommitted changes to: {}.",
            m.uncommitted.join(", ")
        );
    }
    let _ = writeln!(
        md,
        "Load average (1 / 5 / 15 min): {} at the start, {} at the end. The machine is shared: \
         other work ran alongside, so each phase's load is listed at the end.\n",
        load(m.load_start),
        load(m.load_end)
    );
    let _ = writeln!(md, "Made with:\n\n```sh\n{}\n```\n", m.command);
    let _ = writeln!(
        md,
        "Times are medians of the runs stated, with the fastest and slowest in brackets; \
         proving runs at each thread count are interleaved so a change of load hits them \
         alike. Proving is measured at {} ({}); everything else uses {}. Release build; \
         parameters read from the cache (`{}`), never made inside a timing.\n",
        s.thread_counts
            .iter()
            .map(|&t| threads(t))
            .collect::<Vec<_>>()
            .join(" and "),
        if s.runs == 1 {
            "one run each".to_string()
        } else {
            format!("median of {} runs each", s.runs)
        },
        threads(all),
        s.params_dir
    );

    anchors(&mut md, r);
    rows(&mut md, r);
    chunks(&mut md, r);
    groups(&mut md, r);
    batches(&mut md, r);
    ballots(&mut md, r);
    native(&mut md, r);
    ingest(&mut md, r);
    phases(&mut md, r);
    md
}

/// The best (lowest seconds per transaction at all threads) chunk size of each family.
fn best_chunks(r: &Report) -> Vec<&ChunkRow> {
    let mut best: Vec<&ChunkRow> = Vec::new();
    for c in &r.chunks {
        let per_tx = |c: &ChunkRow| c.proving.last().map_or(f64::MAX, |t| t.s_per_tx);
        match best.iter_mut().find(|b| b.family == c.family) {
            Some(b) if per_tx(c) < per_tx(b) => *b = c,
            Some(_) => {}
            None => best.push(c),
        }
    }
    best
}

fn anchors(md: &mut String, r: &Report) {
    let all = r.settings.threads;
    let _ = writeln!(md, "## Against Orchard, measured in this run\n");
    let Some(o) = &r.orchard else {
        let _ = writeln!(md, "Orchard was not measured in this run.\n");
        return;
    };
    let _ = writeln!(
        md,
        "Zcash's Orchard action circuit (`orchard` 0.16, on the same `halo2_proofs`, \
         `halo2_gadgets` and `pasta_curves` as ours), one bundle of {} actions per proof, \
         proved on the same thread pools as our chunks, just before them (keys {}; a proof \
         is {} bytes, {} per action; verifying one takes {}):\n",
        o.actions,
        time(o.keygen_s),
        int(o.proof_bytes),
        int(o.proof_bytes / o.actions),
        time(o.verify_single.median_s)
    );
    let _ = writeln!(md, "| threads | bundle proof | per action |");
    let _ = writeln!(md, "| --- | --- | --- |");
    for t in &o.proving {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            t.threads,
            stats(&t.proving),
            time(t.s_per_tx)
        );
    }
    let Some(orchard) = o.proving.last() else {
        return;
    };
    let (orchard_s, orchard_bytes) = (orchard.s_per_tx, o.proof_bytes / o.actions);
    let _ = writeln!(
        md,
        "\nEach family's best chunk size measured, at {}, against Orchard's {} per action \
         (the targets: at most 0.5× for the everyday kinds of accounts and registry, 1× for \
         fills and governance, 0.8× on the mixed batch):\n",
        threads(all),
        time(orchard_s)
    );
    let _ = writeln!(
        md,
        "| family | chunk | proving per transaction | vs Orchard | proof per transaction | vs Orchard's {} B |",
        int(orchard_bytes)
    );
    let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- |");
    for c in best_chunks(r) {
        let Some(t) = c.proving.last() else { continue };
        let bytes = c.proof_bytes / c.slots;
        let _ = writeln!(
            md,
            "| {} | {}, k = {} | {} | {:.2}× | {} B | {:.2}× |",
            c.family,
            slots(c.slots),
            c.k,
            time(t.s_per_tx),
            t.s_per_tx / orchard_s,
            int(bytes),
            bytes as f64 / orchard_bytes as f64
        );
    }
    for b in &r.batches {
        if let Some(best) = b
            .configs
            .iter()
            .min_by(|x, y| x.proving.median_s.total_cmp(&y.proving.median_s))
        {
            let per_tx = best.proving.median_s / b.txs as f64;
            let bytes = b.proof_bytes / b.txs;
            let _ = writeln!(
                md,
                "| mixed batch | {} txs, {} chunks (accounts {}) | {} | {:.2}× | {} B | {:.2}× |",
                b.txs,
                b.chunks.len(),
                slots(b.accounts_slots),
                time(per_tx),
                per_tx / orchard_s,
                int(bytes),
                bytes as f64 / orchard_bytes as f64
            );
        }
    }
    let _ = writeln!(md);
}

fn rows(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Rows per transaction kind\n");
    let _ = writeln!(
        md,
        "Every kind is proven in a slot of its family's chunk circuit, so a kind costs its \
         family's rows per slot; a chunk adds fixed rows once, and 16 blinding rows. Proving \
         time follows 2^k, so the rows a transaction really costs are 2^k / slots of its \
         chunk (last column, for the chunk that fills 2^14 rows). A signed kind (all but the \
         ballot) also costs {} rows of a signature proof, proven beside the chunks \
         (`circuits::signatures`).\n",
        circuits::signatures::ROWS_PER_ENTRY
    );
    let _ = writeln!(
        md,
        "| family | kinds | rows per slot | fixed rows | slots at k = 12 / 13 / 14 / 15 | 2^14 / slots |"
    );
    let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- |");
    for f in &r.rows {
        let at14 = f
            .slots_at
            .iter()
            .find(|(k, _)| *k == 14)
            .map_or(0, |(_, s)| *s);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            f.family,
            f.kinds.join(", "),
            int(f.rows_per_slot),
            int(f.fixed_rows),
            f.slots_at
                .iter()
                .map(|(_, s)| s.to_string())
                .collect::<Vec<_>>()
                .join(" / "),
            (1usize << 14).checked_div(at14).map_or("–".into(), int)
        );
    }
    let _ = writeln!(md);
}

fn chunks(md: &mut String, r: &Report) {
    let counts = &r.settings.thread_counts;
    let _ = writeln!(md, "## Chunk proofs: proving throughput\n");
    let _ = writeln!(
        md,
        "One full chunk of honest transactions of the family (its kinds in turn), proved with \
         `chunk::proof::prove`, and its signed slots' signatures in signature proofs \
         (`circuits::signatures::prove`, split as the prover splits a batch's: the least total \
         2^k), made as the prover makes a batch's proofs with the given threads \
         (`prover::schedule::in_turn`: as many at once as threads, each on a pool of all of \
         them, the chunk first); keys made before. Time for all the proofs and transactions \
         per second.\n"
    );
    let mut head =
        "| family | slots | k | rows used | signature proofs | keys (pk + vk) |".to_string();
    let mut rule = "| --- | --- | --- | --- | --- | --- |".to_string();
    for &t in counts {
        let _ = write!(head, " proof, {} | tx/s, {} |", threads(t), threads(t));
        rule.push_str(" --- | --- |");
    }
    let _ = writeln!(md, "{head}\n{rule}");
    for c in &r.chunks {
        let mut line = format!(
            "| {} | {} | {} | {} | {} | {} |",
            c.family,
            c.slots,
            c.k,
            int(c.rows_used),
            if c.signatures.is_empty() {
                "none"
            } else {
                &c.signatures
            },
            time(c.keygen_s)
        );
        for t in &c.proving {
            let _ = write!(line, " {} | {} |", stats(&t.proving), rate(t.tx_per_s));
        }
        let _ = writeln!(md, "{line}");
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "## Chunk proofs: size, verification, memory\n");
    let _ = writeln!(
        md,
        "Verifying one chunk's proof and its signature proof (`chunk::proof::verify`, \
         `circuits::signatures::verify`, median of 10) and a batch of all the proofs made \
         above of the same chunk, distinct proofs with their own randomness \
         (`circuits::verifying::verify_many` per circuit, median of 5), on {}. Proof bytes \
         are both proofs' (the signature proof's in brackets). Peak memory: the process's \
         peak resident memory while that chunk's keys were made and its proofs made and \
         verified.\n",
        threads(r.settings.threads)
    );
    let _ = writeln!(
        md,
        "| family | slots | k | proof | per tx | verify one | per tx | verify a batch | per proof | per tx | peak memory |"
    );
    let _ = writeln!(
        md,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for c in &r.chunks {
        let one = c.verify_single.median_s;
        let batch = c.verify_batch.median_s;
        let n = c.batch_proofs as f64;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} B ({} B) | {} B | {} | {} | {} of {} | {} | {} | {} |",
            c.family,
            c.slots,
            c.k,
            int(c.proof_bytes),
            int(c.signature_proof_bytes),
            int(c.proof_bytes / c.slots),
            time(one),
            time(one / c.slots as f64),
            time(batch),
            c.batch_proofs,
            time(batch / n),
            time(batch / n / c.slots as f64),
            mib(c.peak_memory_mib)
        );
    }
    let _ = writeln!(md);
}

fn batches(md: &mut String, r: &Report) {
    if r.batches.is_empty() {
        return;
    }
    let mix = &r.settings.mix;
    let _ = writeln!(md, "## A mixed batch, proved by the prover\n");
    let _ = writeln!(
        md,
        "{} transactions in one batch, a run of each family: {} of the account kinds \
         (transfers, taps, account openings, operators, concessions, delegates in turn), {} \
         registry kinds (readings, orders, cancellations, fleet records, meters, voters, \
         proposals), {} fills, {} governance (ballots with their proofs, delegate votes). \
         `Prover::prove_batch` builds the witnesses in order and proves the chunks with the \
         threads split either way (`Split`); keys made before the timing. Each proof's peak \
         memory is measured alone.\n",
        mix.total(),
        mix.accounts,
        mix.registry,
        mix.market,
        mix.governance
    );
    for b in &r.batches {
        let chunks: Vec<String> = b
            .chunks
            .iter()
            .map(|(f, s, k)| format!("{f} {s} (k {k})"))
            .collect();
        let _ = writeln!(
            md,
            "**Accounts chunks of {} (k = {})**: {} chunks: {}. Keys for all of them: {}.\n",
            slots(b.accounts_slots),
            b.k,
            b.chunks.len(),
            chunks.join(", "),
            time(b.keygen_s)
        );
        let _ = writeln!(
            md,
            "| threads | split | batch proving | tx/s | per tx | peak memory |"
        );
        let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- |");
        for c in &b.configs {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                c.threads,
                if c.threads == 1 { "–" } else { c.split },
                stats(&c.proving),
                rate(c.tx_per_s),
                time(c.proving.median_s / b.txs as f64),
                mib(c.peak_memory_mib)
            );
        }
        if let Some(f) = b.faster_split {
            let _ = writeln!(
                md,
                "\nFaster at {} threads: **{f}** (by median).",
                r.settings.threads
            );
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md, "## The verifier on that batch\n");
    let _ = writeln!(
        md,
        "Cold start: a fresh `verifier::Keys` reading the parameters from the cache and making \
         the verifying keys of the batch's circuits, and the ballot keys (median of 3). The \
         whole check with the replay (`verifier chain --replay`, `Keys::verify_batch`: ballot \
         proofs, data hashes, chaining, a replay of the rules, chunk proofs batched per \
         circuit), from the proofs and data alone (`verifier chain`, \
         `Keys::verify_chain_proofs`: the same without the replay), and the chunk proofs \
         alone: batched per circuit as the verifier does (`circuits::verifying`), with \
         halo2's own `BatchVerifier`, or one by one: median of 5, on {}.\n",
        threads(r.settings.threads)
    );
    let _ = writeln!(
        md,
        "| batch | params read | verifying keys | ballot keys | cold start | with replay | per tx | proofs and data | per tx | chunk proofs batched | halo2's BatchVerifier | one by one |"
    );
    let _ = writeln!(
        md,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for b in &r.batches {
        let _ = writeln!(
            md,
            "| {} txs, {} chunks | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            b.txs,
            b.chunks.len(),
            time(b.cold_start.params.median_s),
            time(b.cold_start.verifying_keys.median_s),
            time(b.cold_start.ballot_keys.median_s),
            stats(&b.cold_start.total),
            stats(&b.full_check),
            time(b.full_check.median_s / b.txs as f64),
            stats(&b.proofs_check),
            time(b.proofs_check.median_s / b.txs as f64),
            stats(&b.chunk_proofs_batched),
            stats(&b.chunk_proofs_halo2_batch),
            stats(&b.chunk_proofs_one_by_one)
        );
    }
    for b in &r.batches {
        let each: Vec<String> = b
            .cold_start
            .per_circuit
            .iter()
            .map(|(f, s, k, t)| format!("{f} {} (k {k}) {}", slots(*s), time(*t)))
            .collect();
        let _ = writeln!(
            md,
            "\nVerifying keys of the {}-transaction batch, per circuit: {}.",
            b.txs,
            each.join(", ")
        );
    }
    let _ = writeln!(md);
}

fn groups(md: &mut String, r: &Report) {
    if r.groups.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## One-slot chunks proven together
"
    );
    let _ = writeln!(
        md,
        "A batch's chunks of one circuit are proven in one proof (halo2 instances of one \
         circuit: each chunk its own witness and public inputs, one quotient commitment and \
         one opening for all), up to {} rows a proof. The same one-slot chunk `n` times in one \
         proof (`chunk::proof::prove_group`) on {}, median of {} runs; verifying it median of \
         10.\n",
        int(prover::GROUP_ROWS),
        threads(r.settings.threads),
        r.settings.runs
    );
    let _ = writeln!(
        md,
        "| family | k | chunks in the proof | proof | per chunk | bytes | verify |\n| --- | --- | --- | --- | --- | --- | --- |"
    );
    for g in &r.groups {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            g.family,
            g.k,
            g.chunks,
            stats(&g.proving),
            time(g.per_chunk_s),
            int(g.proof_bytes),
            stats(&g.verify)
        );
    }
    let _ = writeln!(md);
}

fn ballots(md: &mut String, r: &Report) {
    let Some(b) = &r.ballot else { return };
    let _ = writeln!(md, "## Ballots\n");
    let _ = writeln!(
        md,
        "The ballot circuit (k = {}, voter tree depth 24) as a voter's machine runs it, and as \
         an auditor verifies it. Keys: {} (once).\n",
        b.k,
        time(b.keygen_s)
    );
    let _ = writeln!(md, "| | |\n| --- | --- |");
    for (t, s) in &b.proving {
        let _ = writeln!(
            md,
            "| proving, {} (median of {}) | {} |",
            threads(*t),
            s.runs,
            stats(s)
        );
    }
    let _ = writeln!(
        md,
        "| verifying one (median of {}) | {} |",
        b.verify_single.runs,
        stats(&b.verify_single)
    );
    let _ = writeln!(
        md,
        "| verifying a batch of {} (median of {}) | {} ({} per ballot) |",
        b.batch_size,
        b.verify_batch.runs,
        stats(&b.verify_batch),
        time(b.verify_batch.median_s / b.batch_size as f64)
    );
    let _ = writeln!(md, "| proof | {} bytes |\n", int(b.proof_bytes));
}

fn native(md: &mut String, r: &Report) {
    if r.native.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Native rules\n");
    let _ = writeln!(
        md,
        "The pure rules (what the sequencer runs per transaction, signature check included; \
         ballots without their proof check): {} transactions of a kind applied to a state, \
         median of {} runs, one thread.\n",
        r.native[0].txs, r.native[0].run.runs
    );
    let _ = writeln!(md, "| kind | family | per transaction | tx/s |");
    let _ = writeln!(md, "| --- | --- | --- | --- |");
    for n in &r.native {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            n.kind,
            n.family,
            time(n.per_tx_us / 1e6),
            rate(1e6 / n.per_tx_us)
        );
    }
    let _ = writeln!(md);
}

fn ingest(md: &mut String, r: &Report) {
    if r.ingest.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Sequencer ingest\n");
    let _ = writeln!(
        md,
        "Transfers over HTTP on loopback to the sequencer in-process (proving off), each \
         durable in sled (flushed, on {}) before its answer; each client sends one request \
         after another. Median of the runs of the rate and of each run's latency percentiles.\n",
        r.ingest[0].file_system.as_deref().unwrap_or("disk")
    );
    let _ = writeln!(
        md,
        "| clients | transfers per run | runs | tx/s | p50 | p99 |"
    );
    let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- |");
    for i in &r.ingest {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            i.clients,
            int(i.txs_per_run),
            i.runs,
            rate(i.tx_per_s),
            time(i.p50_ms / 1e3),
            time(i.p99_ms / 1e3)
        );
    }
    let _ = writeln!(md);
}

fn phases(md: &mut String, r: &Report) {
    let _ = writeln!(md, "## Phases: time, peak memory, load\n");
    let _ = writeln!(
        md,
        "Peak memory is the process's peak resident memory (`VmHWM`) {}; the highest: {}. \
         It includes what earlier phases left resident (memory at start). Load averages \
         (1 / 5 / 15 min) when each phase started and ended.\n",
        if r.peak_per_phase {
            "during each phase alone (reset at its start)"
        } else {
            "so far at the end of each phase (this kernel does not let it be reset)"
        },
        mib(r.peak_memory_mib)
    );
    let _ = writeln!(
        md,
        "| phase | time | peak memory | load at start | load at end |"
    );
    let _ = writeln!(md, "| --- | --- | --- | --- | --- |");
    for p in &r.phases {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            p.name,
            time(p.seconds),
            mib(p.peak_memory_mib),
            load(p.load_start),
            load(p.load_end)
        );
    }
    let _ = writeln!(md);
}
