#!/usr/bin/env bash
# Installs what nudge's builds and tests need, and nothing that is already there.
# Safe to run again: each step checks first. Needs root (or sudo) for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# The toolchain, components and the Cortex-M4F target come from rust-toolchain.toml;
# `rustup show` installs whatever of it is missing.
rustup show active-toolchain >/dev/null 2>&1 || rustup show >/dev/null
rustup target list --installed | grep -q thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf

apt_packages=()
command -v qemu-system-arm >/dev/null || apt_packages+=(qemu-system-arm)
# The font `nudge report` draws its labels with.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || apt_packages+=(fonts-dejavu-core)
if [ ${#apt_packages[@]} -gt 0 ]; then
    say "apt-get install ${apt_packages[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

for tool in defmt-print flip-link; do
    if ! command -v "$tool" >/dev/null; then
        say "cargo install --locked $tool"
        cargo install --locked --quiet "$tool"
    fi
done
say "tools ready"
