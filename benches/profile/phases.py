#!/usr/bin/env python3
"""Splits a `perf record --call-graph dwarf` profile of one chunk proof into halo2's proving
phases. Reads `perf script -F tid,time,ip,sym` on standard input.

A sample whose stack shows a phase's function counts for that phase. Work that rayon runs on
another thread has lost its caller; it counts for the phase the proving thread was last seen
in (the phases of `create_proof` run one after another), so a phase's share is its wall-clock
share of all samples on both cores.
"""
import re
import sys

# A sample's first line: thread id and time ("  3482 30033.822419: ").
HEADER = re.compile(r"^\s*\d+\s+\d+\.\d+:\s*$")

# (phase, markers): the first phase with a marker in a sample's stack wins, so more specific
# markers (the quotient's pieces) come before the functions that contain them.
PHASES = [
    ("keys (not proving)", ["keygen_pk", "keygen_vk", "Prover::keys_for"]),
    ("witness synthesis", ["as halo2_proofs::plonk::circuit::Circuit<", "WitnessCollection"]),
    ("lookups: permute and commit", ["lookup::prover::", "plonk::lookup::"]),
    ("permutation argument", ["permutation::prover::"]),
    ("quotient: gate and argument evaluation on the extended domain", ["poly::evaluator::Evaluator"]),
    ("quotient: h split, FFTs and commitments", ["vanishing::prover::"]),
    ("multi-opening (evaluations and openings)", ["multiopen::prover", "commitment::prover::create_proof", "eval_polynomial"]),
    ("advice: to coefficients and commitments", ["plonk::prover::create_proof"]),
]
KIND = [
    ("MSM (commitments)", ["best_multiexp", "BoothBuckets", "EqAffine", "curves::Eq"]),
    ("FFT", ["butterfly", "best_fft", "recursive_fft"]),
    ("gate expressions", ["poly::evaluator"]),
    ("page faults, copies", ["page_fault", "memcpy", "memmove", "clear_page"]),
]


def samples(lines):
    tid, time, stack = None, None, []
    for line in lines:
        if not line.strip():
            if tid is not None:
                yield tid, time, stack
            tid, time, stack = None, None, []
        elif HEADER.match(line):
            # `perf script` pads the thread id to a width, so a header may start with spaces.
            head = line.split()
            tid, time = head[0], float(head[1].rstrip(":"))
        else:
            stack.append(line.strip().split(None, 1)[-1])
    if tid is not None:
        yield tid, time, stack


def first(markers_table, stack):
    text = "\n".join(stack)
    for name, markers in markers_table:
        if any(m in text for m in markers):
            return name
    return None


def main():
    seen = sorted(samples(sys.stdin), key=lambda s: s[1])
    phase_counts, kind_counts = {}, {}
    current = "setup (state, parameters)"
    proving = False
    for _, _, stack in seen:
        phase = first(PHASES, stack)
        if phase:
            current = phase
            proving |= phase != "keys (not proving)"
        kind = first(KIND, stack) or "other"
        if not proving or current == "keys (not proving)":
            continue
        phase_counts[current] = phase_counts.get(current, 0) + 1
        kind_counts[kind] = kind_counts.get(kind, 0) + 1
    total = sum(phase_counts.values())
    print(f"| phase of one chunk proof | share of samples |")
    print(f"| --- | --- |")
    for name, _ in PHASES[1:]:
        if name in phase_counts:
            print(f"| {name} | {100 * phase_counts[name] / total:.1f}% |")
    print()
    print(f"| kind of work (any phase) | share of samples |")
    print(f"| --- | --- |")
    for name, n in sorted(kind_counts.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {100 * n / total:.1f}% |")
    print(f"\n{total} samples while proving.")
    by_proof(seen)


# The proofs a batch makes, by the function that makes each.
PROOFS = [
    ("chunk proof", "circuits::chunk::proof::prove"),
    ("signature proof", "circuits::signatures::prove"),
]


def by_proof(seen):
    """Each proof's phases, from the samples whose stack names it: all of its samples on one
    thread (`profile.sh SLOTS 1`); with more, rayon's other threads have lost their caller."""
    for proof, marker in PROOFS:
        counts = {}
        for _, _, stack in seen:
            if any(marker in frame for frame in stack):
                phase = first(PHASES, stack) or "other (advice commitments, transcript)"
                counts[phase] = counts.get(phase, 0) + 1
        total = sum(counts.values())
        if total == 0:
            continue
        print(f"\n| phase of the {proof} ({total} samples naming it) | share |")
        print("| --- | --- |")
        for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
            print(f"| {name} | {100 * n / total:.1f}% |")


if __name__ == "__main__":
    main()
