//! The on-device run, generic over the board's traits.

use embedded_hal::{delay::DelayNs, digital::OutputPin};

use crate::{board::Io, ticks::TickCounter};

/// Runs everything; returns whether the run completed.
pub fn run<Ok: OutputPin, Err: OutputPin, D: DelayNs, T: TickCounter>(
    io: &mut Io<Ok, Err, D, T>,
) -> bool {
    let t0 = io.ticks.now();
    defmt::println!("hello board={=str}", crate::board::NAME);
    io.delay.delay_us(100);
    let t1 = io.ticks.now();
    defmt::println!("elapsed={=u64} {=str}", t1 - t0, T::UNIT);
    let _ = io.ok_led.set_high();
    true
}
