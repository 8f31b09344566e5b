//! Tick counters: how long an attack step takes.
//!
//! The app measures with [`TickCounter`], implemented per board: SysTick (QEMU, where it counts
//! instructions under `-icount shift=0`) or the DWT cycle counter (silicon).

/// A free-running, monotonic 64-bit counter.
pub trait TickCounter {
    /// What [`TickCounter::now`] counts, for the log: `"instructions"` or `"cycles"`.
    const UNIT: &'static str;
    /// Granularity of [`TickCounter::now`] in [`TickCounter::UNIT`]s (40 for SysTick on
    /// mps2: one tick per 40 instructions).
    const RESOLUTION: u32;

    /// Current count, in [`TickCounter::UNIT`]s since an arbitrary origin.
    fn now(&mut self) -> u64;
}
