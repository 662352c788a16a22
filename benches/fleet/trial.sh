#!/usr/bin/env bash
# Times a sequencer's proving of the same transfers three ways on this machine: in-process
# (no database), and on a prover fleet in a throwaway PostgreSQL cluster with one worker of
# all threads, then with two workers of half the threads each. Prints one line per way:
# seconds from the last transaction accepted to the last batch published.
#
#   benches/fleet/trial.sh [TRANSFERS] [BATCH_SIZE] [SLOTS]     # default 48 8 1
#
# Uses the release binaries (built first) and the parameter cache under target/params.
set -euo pipefail
cd "$(dirname "$0")/../.."
count=${1:-48}
batch=${2:-8}
slots=${3:-1}
threads=$(nproc)
cargo build --release -q -p sequencer -p prover
bin=target/release
work=$(mktemp -d /tmp/fleet-trial.XXXXXX)
params=$PWD/target/params
mkdir -p "$params"
pg=$(mktemp -d /tmp/fleet-trial-pg.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/pg-cluster stop "$pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
$bin/prover sample --genesis "$work/g.json" --out "$work/txs.json" --count "$count"
url=$(scripts/pg-cluster start "$pg")

# Posts transfers FROM..TO (exclusive) of the sample to the service on port PORT.
post() {
    python3 - "$work/txs.json" "$@" <<'PY'
import json, sys, urllib.request
path, port, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for tx in json.load(open(path))[start:end]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/transactions",
        data=json.dumps(tx).encode(),
        headers={"content-type": "application/json"},
    )
    urllib.request.urlopen(request).read()
PY
}

state() { curl -sf "http://127.0.0.1:$1/v1/state" | python3 -c "import json,sys; s=json.load(sys.stdin); print(s['latest_sealed'], s['latest_proven'])"; }

run() {
    local name=$1 port=$2 workers=$3 db
    shift 3
    local extra=()
    if [ "$workers" -gt 0 ]; then
        db="${name//-/_}"
        psql -q "$url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" 2>/dev/null
        extra=(--postgres "${url/\/postgres\?//$db?}")
    fi
    $bin/sequencer serve --data "$work/$name" --genesis "$work/g.json" --params "$params" \
        --listen "127.0.0.1:$port" --batch-size "$batch" --batch-ms 500 --slots "$slots" \
        --prove-threads "$threads" "${extra[@]}" >/dev/null 2>"$work/$name.log" &
    pids+=($!)
    until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.2; done
    for ((w = 0; w < workers; w++)); do
        $bin/prover worker --postgres "${extra[1]}" --data "$params" --name "w$w" \
            --threads $((threads / workers)) 2>"$work/$name-w$w.log" &
        pids+=($!)
    done
    # Keys are made before the clock starts: one transfer first, proven.
    post "$port" 0 1
    until [ "$(state "$port")" = "1 1" ]; do sleep 0.2; done
    post "$port" 1 "$count"
    if [ "$workers" -gt 0 ]; then
        psql -At "${extra[1]}" -c "SELECT 'payload bytes per ' || family || ' chunk of ' || slots || ' slot(s): ' || max(length(payload)) FROM chunk_jobs GROUP BY family, slots" >>"$work/payloads"
    fi
    local start=$(date +%s.%N) sealed proven
    while true; do
        read -r sealed proven < <(state "$port")
        if [ "$sealed" -gt 1 ] && [ "$sealed" = "$proven" ]; then break; fi
        sleep 0.2
    done
    local end=$(date +%s.%N)
    printf '%-32s %3d batches, %3d transfers: %6.1f s (%.2f s per transfer)\n' "$name" \
        $((sealed - 1)) $((count - 1)) "$(echo "$end - $start" | bc)" \
        "$(echo "($end - $start) / ($count - 1)" | bc -l)"
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
}

run in-process 18101 0
run fleet-1-worker 18102 1
run fleet-2-workers 18103 2
sort -u "$work/payloads"
