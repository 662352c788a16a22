#!/usr/bin/env bash
# Where one full chunk proof's time goes: proves a chunk of SLOTS transfers (default 14,
# k = 15) with the release prover under `perf record`, and prints the share of each of
# halo2's proving phases and of each kind of work (phases.py says how samples are counted).
#
#   benches/profile/profile.sh [SLOTS] [THREADS]
#
# THREADS (default: one per core) proves on that many; at 1 every sample keeps its caller, so
# the chunk proof and its signature proof are also split apart.
#
# Needs Linux `perf` (Debian: linux-perf). Parameters are cached under target/params; the
# profile and its inputs are left in target/profile.
set -euo pipefail
cd "$(dirname "$0")/../.."
slots="${1:-14}"
threads="${2:-0}"
command -v perf >/dev/null || { echo "perf is missing: install Debian's linux-perf" >&2; exit 1; }
cargo build --release -q -p prover
out=target/profile
mkdir -p "$out"
prover=target/release/prover
"$prover" sample --genesis "$out/genesis.json" --out "$out/txs.json" --count "$slots"
time=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["time"] + 100)' "$out/genesis.json")
# A first run makes the parameters outside the profile.
"$prover" prove --genesis "$out/genesis.json" --batch "$out/txs.json" --time "$time" \
  --slots "$slots" --out "$out/artifact.json" --data target/params --quiet --threads "$threads" --split sequence
perf record -q -F 199 --call-graph dwarf,32768 -o "$out/perf.data" \
  "$prover" prove --genesis "$out/genesis.json" --batch "$out/txs.json" --time "$time" \
  --slots "$slots" --out "$out/artifact.json" --data target/params --quiet --threads "$threads" --split sequence
perf script -i "$out/perf.data" -F tid,time,ip,sym --no-inline 2>/dev/null \
  | python3 benches/profile/phases.py
