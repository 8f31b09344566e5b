//! Board layer: everything that differs between boards lives below this module.
//!
//! Each board provides `init() -> Io<…>` (clocks, LEDs, delay, tick counter, logger) and
//! `finish(ok) -> !` (report the verdict: exit status under QEMU, LED and halt on silicon),
//! plus its panic and fault handlers. The app in [`crate::app`] only sees the [`Io`] traits.

#[cfg(feature = "_semihosting")]
mod qemu;
#[cfg(feature = "_semihosting")]
pub use qemu::{finish, init};

#[cfg(feature = "stm32f407-disco")]
mod disco;
#[cfg(feature = "stm32f407-disco")]
pub use disco::{finish, init};

#[cfg(all(feature = "_semihosting", feature = "stm32f407-disco"))]
compile_error!("select exactly one board feature");

/// Name of the selected board, for the log.
pub const NAME: &str = if cfg!(feature = "stm32f407-disco") {
    "stm32f407-disco"
} else if cfg!(feature = "netduinoplus2") {
    "qemu-netduinoplus2"
} else {
    "qemu-mps2-an386"
};

/// What the app may touch: two LEDs, a delay and a tick counter, all as traits.
pub struct Io<Ok, Err, D, T> {
    /// Lit when the run completed.
    pub ok_led: Ok,
    /// Lit when the run failed.
    pub err_led: Err,
    /// Blocking delay.
    pub delay: D,
    /// Monotonic counter used to time attack steps.
    pub ticks: T,
}
