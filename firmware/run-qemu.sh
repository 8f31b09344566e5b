#!/usr/bin/env bash
# Cargo runner for the QEMU boards: runs ELF under QEMU with semihosting, decodes the defmt
# log with defmt-print, and exits with QEMU's status (the firmware's verdict).
#
#   ./run-qemu.sh path/to/elf [extra defmt-print args...]
#
# The machine follows the ELF's entry point: flash at 0x0800_0000 means the STM32F405
# (`netduinoplus2`), otherwise `mps2-an386`. Override with QEMU_MACHINE=name.
# -icount shift=0 makes QEMU count one nanosecond per instruction, so SysTick readings
# are repeatable instruction counts.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 ELF [defmt-print args...]" >&2
    exit 2
fi
elf=$1
shift

for tool in qemu-system-arm defmt-print; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        case $tool in
            qemu-system-arm) hint="apt-get update && apt-get install -y qemu-system-arm" ;;
            defmt-print) hint="cargo install --locked defmt-print" ;;
        esac
        echo "error: $tool not found; install it with: $hint" >&2
        exit 127
    fi
done

if grep -q _SEGGER_RTT "$elf"; then
    echo "error: $elf is the stm32f407-disco build (defmt over RTT): QEMU cannot run it." >&2
    echo "Flash it with: probe-rs run --chip STM32F407VGTx $elf  (or: cargo run-disco)" >&2
    exit 2
fi

if [[ -z "${QEMU_MACHINE:-}" ]]; then
    # e_entry of a 32-bit little-endian ELF is at byte offset 24.
    entry=$(od -An -tx4 -j24 -N4 "$elf" | tr -d ' ')
    if (( 16#$entry >= 16#08000000 && 16#$entry < 16#08100000 )); then
        QEMU_MACHINE=netduinoplus2
    else
        QEMU_MACHINE=mps2-an386
    fi
fi

set -o pipefail
qemu-system-arm \
    -machine "$QEMU_MACHINE" \
    -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native \
    -icount shift=0 \
    -kernel "$elf" \
    | defmt-print -e "$elf" "$@"
