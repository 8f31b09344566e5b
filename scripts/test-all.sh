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
