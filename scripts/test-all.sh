#!/usr/bin/env bash
# Every test nudge has: the host workspace (kernel, CLI, data, models, firmware agreement
# under QEMU) and the kernel again with the micromath backend. Installs missing tools first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo test --workspace --all-targets
cargo test --workspace --doc
cargo test -p nudge-core --features micromath
