//! STM32F407G-DISC1: 168 MHz from the 8 MHz HSE, defmt over RTT, panic-probe, the DWT cycle
//! counter as the tick counter, SysTick as the delay, green LED PD12 = success, red LED
//! PD14 = failure. Flash and run with `probe-rs run --chip STM32F407VGTx`.

use cortex_m::peripheral::DWT;
use defmt_rtt as _;
use panic_probe as _;
use stm32f4xx_hal::{
    gpio::{Output, PD12, PD14},
    pac,
    prelude::*,
    rcc::Config,
    timer::SysDelay,
};

use super::Io;
use crate::ticks::TickCounter;

/// Brings up clocks, LEDs, the SysTick delay and the cycle counter.
pub fn init() -> Io<PD12<Output>, PD14<Output>, SysDelay, CycleCounter> {
    let dp = pac::Peripherals::take().expect("device peripherals taken twice");
    let mut cp = cortex_m::Peripherals::take().expect("core peripherals taken twice");
    let mut rcc = dp.RCC.freeze(Config::hse(8.MHz()).sysclk(168.MHz()));
    let gpiod = dp.GPIOD.split(&mut rcc);
    let green = gpiod.pd12.into_push_pull_output();
    let red = gpiod.pd14.into_push_pull_output();
    let delay = cp.SYST.delay(&rcc.clocks);
    cp.DCB.enable_trace();
    cp.DWT.enable_cycle_counter();
    Io {
        ok_led: green,
        err_led: red,
        delay,
        ticks: CycleCounter { high: 0, last: DWT::cycle_count() },
    }
}

/// Ends the run: the app has already lit the verdict's LED; halt in a low-power loop.
pub fn finish(ok: bool) -> ! {
    if ok {
        defmt::info!("done: ok");
    } else {
        defmt::error!("done: failed");
    }
    loop {
        cortex_m::asm::wfi();
    }
}

/// DWT CYCCNT extended to 64 bits in software; `now` must be called at least once every
/// 2^32 cycles (25.5 s at 168 MHz), which the app does (it reads it around every attack).
pub struct CycleCounter {
    /// Upper 32 bits.
    high: u32,
    /// Last CYCCNT value seen.
    last: u32,
}

impl TickCounter for CycleCounter {
    const UNIT: &'static str = "cycles";
    const RESOLUTION: u32 = 1;

    fn now(&mut self) -> u64 {
        let c = DWT::cycle_count();
        if c < self.last {
            self.high += 1;
        }
        self.last = c;
        (u64::from(self.high) << 32) | u64::from(c)
    }
}
