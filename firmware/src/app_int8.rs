//! The on-device run of an int8 network (cfg `nudge_int8`), generic over the board's traits.
//!
//! Every sample input is quantized and classified by the int8 network with TensorFlow Lite
//! Micro's arithmetic; each int8 logit vector is logged, and the host recomputes it bit for
//! bit (`tests/tests/firmware_agreement.rs`). Then one forward pass is timed.
//!
//! Log lines (`defmt::println!`, one per event):
//! * `boot board=… kernel=int8 arithmetic=tflm dot=… arch=… arena=… macs=… model_fnv=0x… digits_fnv=0x… unit=… resolution=…`
//!   (`dot`: the int8 dot-product loops, `smlad` or `portable`)
//! * `int8 src=… class=… fnv=0x… logits=[…]` (`class`: the first largest logit; `fnv`:
//!   FNV-1a 64 of the logits' bytes; `logits`: the int8 logits, as defmt prints a slice)
//! * `bench calls=… per_pass=… macs=… milli_per_mac=…` (one forward pass of an int8 input,
//!   in `unit`s, [`BENCH_CALLS`] passes averaged)
//! * `stack peak=… size=…`, `verdict ok`

use embedded_hal::{delay::DelayNs, digital::OutputPin};
use nudge_core::{
    Error,
    quant::{Arithmetic, QuantNetwork, QuantizedMultiplier},
};

use crate::{
    assets::{self, ARCH, ARENA, CHANNELS, INPUT},
    board::{self, Io},
    fnv,
    ticks::TickCounter,
    verdict,
};

/// Forward passes timed by the benchmark.
pub const BENCH_CALLS: u32 = 8;

/// Working memory of the run, in one static.
struct Buffers {
    /// The network's arena.
    arena: [i8; ARENA],
    /// A quantized input, for the benchmark (its passes start from int8).
    input: [i8; INPUT],
    /// Every output channel's requantization multiplier, computed once (TFLM's `Prepare`):
    /// per pass they would cost hundreds of soft-float instructions each.
    multipliers: [QuantizedMultiplier; CHANNELS],
}

/// Takes the run's buffers (once).
fn buffers() -> &'static mut Buffers {
    use core::sync::atomic::{AtomicBool, Ordering};
    static TAKEN: AtomicBool = AtomicBool::new(false);
    static mut BUFFERS: Buffers = Buffers {
        arena: [0; ARENA],
        input: [0; INPUT],
        multipliers: [QuantizedMultiplier { multiplier: 0, shift: 0 }; CHANNELS],
    };
    assert!(!TAKEN.swap(true, Ordering::AcqRel), "buffers taken twice");
    let buffers = &raw mut BUFFERS;
    // SAFETY: the flag above hands out this reference at most once, and nothing else
    // names `BUFFERS`.
    unsafe { &mut *buffers }
}

/// Runs everything, lights the verdict's LED and returns whether the run completed.
pub fn run<Ok: OutputPin, Err: OutputPin, D: DelayNs, T: TickCounter>(
    io: &mut Io<Ok, Err, D, T>,
) -> bool {
    verdict::run(io, classify)
}

/// The arithmetic's name in the log.
fn arithmetic_name(a: Arithmetic) -> &'static str {
    match a {
        Arithmetic::Tflm => "tflm",
        Arithmetic::LiteRt => "litert",
    }
}

/// The classification run proper.
fn classify<T: TickCounter>(ticks: &mut T) -> Result<(), Error> {
    let Buffers { arena, input, multipliers } = buffers();
    let mut network = assets::network()?;
    network.prepare_multipliers(multipliers)?;
    defmt::println!(
        "boot board={=str} kernel={=str} arithmetic={=str} dot={=str} arch={=str} arena={=usize} macs={=usize} model_fnv={=u64:#018x} digits_fnv={=u64:#018x} unit={=str} resolution={=u32}",
        board::NAME,
        assets::KERNEL,
        arithmetic_name(network.arithmetic()),
        nudge_core::quant::DOT_KERNEL,
        ARCH,
        ARENA,
        network.macs(),
        fnv::hash_bytes(assets::model_bytes()),
        fnv::hash_bytes(assets::digit_bytes()),
        T::UNIT,
        T::RESOLUTION
    );
    for (src, image) in assets::digits().iter().enumerate() {
        let logits = network.forward_f32(image, arena)?;
        defmt::println!(
            "int8 src={=usize} class={=usize} fnv={=u64:#018x} logits={=[?]}",
            src,
            first_argmax(logits),
            fnv::hash_bytes(bytemuck::cast_slice(logits)),
            logits
        );
    }
    bench(&network, arena, input, ticks)
}

/// The index of the first largest logit (numpy's `argmax`).
fn first_argmax(v: &[i8]) -> usize {
    let mut best = 0;
    for (k, &x) in v.iter().enumerate() {
        if v.get(best).is_some_and(|&b| x > b) {
            best = k;
        }
    }
    best
}

/// Times [`BENCH_CALLS`] forward passes of the first sample input, quantized once before
/// (so the time is the layers', not the input's quantization).
fn bench<T: TickCounter>(
    network: &QuantNetwork<'_>,
    arena: &mut [i8; ARENA],
    input: &mut [i8; INPUT],
    ticks: &mut T,
) -> Result<(), Error> {
    let first = assets::digits().first().ok_or(Error::Length {
        what: "sample inputs",
        expected: 1,
        found: 0,
    })?;
    network.forward_f32(first, arena)?;
    input.copy_from_slice(&arena[..INPUT]);
    let t0 = ticks.now();
    for _ in 0..BENCH_CALLS {
        network.forward(input, arena)?;
    }
    let per_pass = (ticks.now() - t0) / u64::from(BENCH_CALLS);
    let macs = network.macs() as u64;
    defmt::println!(
        "bench calls={=u32} per_pass={=u64} macs={=u64} milli_per_mac={=u64}",
        BENCH_CALLS,
        per_pass,
        macs,
        (per_pass * 1000).checked_div(macs).unwrap_or(0)
    );
    Ok(())
}
