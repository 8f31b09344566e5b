#!/bin/sh
# nudge against the issue's anchors — a plain C loop (gcc -O3 -march=native -ffast-math),
# NumPy with a hand-written backward pass, and JAX (jit, grad, vmap) — on the same model
# and the same 1,000 MNIST digits, each checked against the kernel's gradients, on one core
# (taskset -c 0), in alternation, so that all of them see the same phases of a machine
# whose speed drifts.
#
#   benches/anchors/run.sh [ROUNDS]        (default 5; about a minute a round)
#
# Needs gcc, python3 with venv, and PyPI (numpy and jax are installed into
# target/anchors/venv on the first run). Prints every run's line, then a summary: per
# program and mode, the fastest run of all rounds and the median of the rounds' medians.
set -eu
rounds=${1:-5}
case $rounds in '' | *[!0-9]* | 0)
    echo "error: ROUNDS must be a positive integer, not '$rounds'" >&2
    exit 1
    ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$root/target/anchors
mkdir -p "$work"

export CARGO_TARGET_DIR="$root/target/native" RUSTFLAGS="-C target-cpu=native"
cargo build --release --quiet -p nudge-benches --features anchors --example best_of --example anchor_inputs
examples=$CARGO_TARGET_DIR/release/examples
"$examples/anchor_inputs" "$work/data" --force
gcc -O3 -march=native -ffast-math -o "$work/loop" "$root/benches/anchors/loop.c" -lm
if ! "$work/venv/bin/python" -c 'import jax, numpy' 2>/dev/null; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet numpy==2.4.6 jax==0.10.2 jaxlib==0.10.2
fi

log=$work/runs.txt
: >"$log"
for round in $(seq "$rounds"); do
    echo "round $round of $rounds" >&2
    for mode in batch one_by_one; do
        taskset -c 0 "$examples/best_of" "$mode" 20 | sed -n "2s/^/nudge $mode: /p"
    done | tee -a "$log"
    taskset -c 0 "$work/loop" "$work/data" 20 | tee -a "$log"
    taskset -c 0 "$work/venv/bin/python" "$root/benches/anchors/anchors.py" "$work/data" 20 |
        tee -a "$log"
done

echo
echo "summary ($rounds rounds of 20 runs of 1,000 images; one core):"
awk '{
    name = $1 " " $2; fastest = $4
    for (i = 1; i <= NF; i++) if ($i == "median") median = $(i + 1)
    if (!(name in best) || fastest < best[name]) best[name] = fastest
    medians[name] = medians[name] " " median
} END {
    for (name in best) {
        n = split(medians[name], m, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (m[j] < m[i]) { t = m[i]; m[i] = m[j]; m[j] = t }
        printf "%-24s fastest %6d µs (%4.0fk images/s), median of medians %6d µs (%4.0fk images/s)\n",
            name, best[name], 1000000 / best[name], m[int((n + 1) / 2)], 1000000 / m[int((n + 1) / 2)]
    }
}' "$log" | sort -t'(' -k2 -rn
