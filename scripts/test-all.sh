#!/usr/bin/env bash
# Every test nudge has: the host workspace (kernel, CLI, data, models, the firmware under
# QEMU against the host, bit for bit) and the kernel again with the micromath backend.
# Installs missing tools and writes the firmware's sample digits first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/firmware-assets.sh
cargo test --workspace --all-targets
cargo test --workspace --doc
cargo test -p nudge-core --features micromath
# With AVX the kernel takes wider blocks (8 rows, 12 column chunks); the same bits are
# required, so test that build too, against the firmware as well. `native` is the CPU
# the benchmarks use; on a machine without AVX it repeats the portable build.
CARGO_TARGET_DIR=target/native RUSTFLAGS="-C target-cpu=native" \
    cargo test -p nudge-core -p nudge-tests --lib --test gradients --test fused_step --test network --test firmware_agreement
