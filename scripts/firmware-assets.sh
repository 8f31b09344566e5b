#!/usr/bin/env bash
# Writes the sample digits the firmware bakes into flash (firmware/assets/digits.f32), from
# the committed model and the MNIST test set, unless they are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f firmware/assets/digits.f32 ]; then
    mkdir -p firmware/assets
    cargo run --quiet -p nudge-host -- samples --out firmware/assets
fi
