//! QEMU boards (`mps2-an386`, `netduinoplus2`): defmt over semihosting, exit status = verdict,
//! SysTick as the tick counter, LEDs that only log.
//!
//! Under `-icount shift=0` QEMU advances virtual time one nanosecond per instruction, so
//! SysTick counts instructions: one tick = 40 instructions on mps2 (25 MHz), and
//! 1e9 / 168 MHz ≈ 5.95 on netduinoplus2. These are instruction counts, not cycles.

use core::{
    convert::Infallible,
    sync::atomic::{AtomicU32, Ordering},
};

use cortex_m::peripheral::{SCB, SYST, syst::SystClkSource};
use cortex_m_rt::{ExceptionFrame, exception};
use defmt_semihosting as _;
use embedded_hal::{
    delay::DelayNs,
    digital::{ErrorType, OutputPin},
};

use super::Io;
use crate::ticks::TickCounter;

/// SysTick reload value: the full 24 bits.
const RELOAD: u32 = 0x00FF_FFFF;

/// Nanoseconds (= instructions under `-icount shift=0`) per SysTick tick, as a fraction.
#[cfg(feature = "qemu")]
const NS_PER_TICK: (u64, u64) = (40, 1); // mps2: SysTick on the 25 MHz core clock
/// Nanoseconds (= instructions under `-icount shift=0`) per SysTick tick, as a fraction.
#[cfg(not(feature = "qemu"))]
const NS_PER_TICK: (u64, u64) = (125, 21); // netduinoplus2: 168 MHz, 5.95 ns

/// Number of SysTick wraps, counted by the SysTick exception.
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Exit status for a panic.
const EXIT_PANIC: i32 = 101;
/// Exit status for a HardFault or an unexpected exception.
const EXIT_FAULT: i32 = 102;
/// Exit status when the run reported an error.
const EXIT_ERROR: i32 = 1;

/// Brings up the QEMU board.
pub fn init() -> Io<LogLed, LogLed, TickDelay, SysTickCounter> {
    let mut cp = cortex_m::Peripherals::take().expect("core peripherals taken twice");
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(RELOAD);
    cp.SYST.clear_current();
    cp.SYST.enable_interrupt();
    cp.SYST.enable_counter();
    // VAL reads 0 until the first reload: wait for it, then start counting wraps from 0.
    while SYST::get_current() == 0 {}
    WRAPS.store(0, Ordering::Relaxed);
    Io {
        ok_led: LogLed { name: "green" },
        err_led: LogLed { name: "red" },
        delay: TickDelay,
        ticks: SysTickCounter,
    }
}

/// Ends the run: QEMU exits with status 0 if `ok`, else 1.
pub fn finish(ok: bool) -> ! {
    semihosting::process::exit(if ok { 0 } else { EXIT_ERROR })
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("HardFault at pc={=u32:#010x} lr={=u32:#010x}", frame.pc(), frame.lr());
    semihosting::process::exit(EXIT_FAULT)
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    defmt::error!("unexpected exception {=i16}", irqn);
    semihosting::process::exit(EXIT_FAULT)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    semihosting::process::exit(EXIT_PANIC)
}

/// SysTick extended to 64 bits by counting wraps; counts instructions under QEMU `-icount`.
#[derive(Clone, Copy)]
pub struct SysTickCounter;

impl TickCounter for SysTickCounter {
    const UNIT: &'static str = "instructions";
    const RESOLUTION: u32 = NS_PER_TICK.0.div_ceil(NS_PER_TICK.1) as u32;

    fn now(&mut self) -> u64 {
        let (wraps, val) = cortex_m::interrupt::free(|_| {
            let wraps = WRAPS.load(Ordering::Relaxed);
            let val = SYST::get_current();
            if SCB::is_pendst_pending() {
                // Wrapped but the exception has not run yet: re-read after the wrap.
                (wraps + 1, SYST::get_current())
            } else {
                (wraps, val)
            }
        });
        let ticks = (u64::from(wraps) << 24) + u64::from(RELOAD - val);
        ticks * NS_PER_TICK.0 / NS_PER_TICK.1
    }
}

/// A delay that spins on the tick counter (SysTick is taken by [`SysTickCounter`]).
pub struct TickDelay;

impl DelayNs for TickDelay {
    fn delay_ns(&mut self, ns: u32) {
        // 1 instruction = 1 ns under `-icount shift=0`.
        let mut t = SysTickCounter;
        let end = t.now() + u64::from(ns);
        while t.now() < end {}
    }
}

/// A LED that QEMU cannot show: it logs its state changes instead.
pub struct LogLed {
    /// Colour, for the log.
    name: &'static str,
}

impl ErrorType for LogLed {
    type Error = Infallible;
}

impl OutputPin for LogLed {
    fn set_low(&mut self) -> Result<(), Infallible> {
        defmt::debug!("led {=str} off", self.name);
        Ok(())
    }

    fn set_high(&mut self) -> Result<(), Infallible> {
        defmt::info!("led {=str} on", self.name);
        Ok(())
    }
}
