#!/usr/bin/env python3
"""Prints the README's results table from criterion's estimates.

Usage (from the repository root, after the two `cargo bench` runs in benches/README.md):

    python3 benches/table.py [target/criterion] [target/native/criterion]

Reads `<dir>/<group>/<id>/new/estimates.json` (the median), `sample.json` (the fastest
sample: on a shared virtual machine the same code's time varies by up to 1.5x within one
run, and the fastest sample is the least disturbed one) and `benchmark.json` (throughput),
for the portable and the native build side by side.
"""

import json
import sys
from pathlib import Path

# Single-core f32 peak of the benchmark machine, as stated in issue #5 (GFLOP/s).
PEAK_GFLOPS = 115.0

IDS = [
    "gradient_kernel/forward/32",
    "gradient_kernel/forward_input_grad/32",
    "gradient_kernel/forward/64",
    "gradient_kernel/forward_input_grad/64",
    "gradient_kernel/forward_input_grad_dense/64",
    "gradient_kernel/step_then_evaluate_dense/64",
    "gradient_kernel/forward/128",
    "gradient_kernel/forward_input_grad/128",
    "baseline/kernel/64",
    "baseline/naive_loop/64",
    "baseline/nalgebra/64",
    "attack/gradient_100/64",
    "attack/fgsm/64",
    "attack/pgd40/64",
    "batch/input_grads_1000/64",
    "batch/input_grads_1000_one_by_one/64",
    "batch/input_grads_1000_par/64",
    "math/exp_libm",
    "math/exp_micromath",
]
# Benchmarks whose "elements" are FLOPs; the others count images or values.
FLOP_GROUPS = {"gradient_kernel", "baseline", "attack"}


def load(root, bench_id):
    d = Path(root) / bench_id
    try:
        est = json.loads((d / "new/estimates.json").read_text())
        meta = json.loads((d / "new/benchmark.json").read_text())
    except FileNotFoundError:
        return None
    sample = json.loads((d / "new/sample.json").read_text())
    fastest = min(t / n for t, n in zip(sample["times"], sample["iters"]))
    thr = meta.get("throughput") or {}
    elements = thr.get("Elements")
    return est["median"]["point_estimate"], fastest, elements


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.3g} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.3g} µs"
    return f"{ns:.3g} ns"


def cell(root, bench_id):
    r = load(root, bench_id)
    if r is None:
        return ["—", "—", "—"]
    ns, fastest, elements = r
    group = bench_id.split("/")[0]
    if elements is None:
        rate = "—"
    elif group in FLOP_GROUPS:
        gflops = elements / ns
        rate = f"{gflops:.1f} GFLOP/s ({100 * gflops / PEAK_GFLOPS:.0f}%)"
    elif group == "batch":
        rate = f"{elements / ns * 1e9 / 1e3:.0f}k images/s"
    else:
        rate = f"{elements / ns * 1e3:.0f} M values/s"
    return [fmt_time(ns), fmt_time(fastest), rate]


def main():
    portable = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"
    native = sys.argv[2] if len(sys.argv) > 2 else "target/native/criterion"
    print("| benchmark | portable median | fastest sample | rate at median (% of peak) "
          "| native median | fastest sample | rate at median (% of peak) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for bench_id in IDS:
        row = [f"`{bench_id}`"] + cell(portable, bench_id) + cell(native, bench_id)
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
