//! How every on-device run ends, whatever the app: the stack peak, the verdict line and the
//! verdict's LED (the QEMU board then exits with the verdict as its status).

use embedded_hal::{delay::DelayNs, digital::OutputPin};
use nudge_core::Error;

use crate::{board::Io, stack, ticks::TickCounter};

/// Paints the stack, runs `body` with the board's tick counter, logs the stack peak and
/// the verdict, lights the verdict's LED and returns whether `body` completed.
pub fn run<Ok: OutputPin, Err: OutputPin, D: DelayNs, T: TickCounter>(
    io: &mut Io<Ok, Err, D, T>,
    body: impl FnOnce(&mut T) -> Result<(), Error>,
) -> bool {
    stack::paint();
    let _ = io.ok_led.set_low();
    let _ = io.err_led.set_low();
    match body(&mut io.ticks) {
        Ok(()) => {
            defmt::println!("stack peak={=usize} size={=usize}", stack::peak(), stack::size());
            defmt::println!("verdict ok");
            blink(&mut io.ok_led, &mut io.delay);
            true
        }
        Err(e) => {
            defmt::println!("verdict error");
            defmt::error!("kernel error: {}", e);
            blink(&mut io.err_led, &mut io.delay);
            false
        }
    }
}

/// Blinks `led` three times and leaves it on.
fn blink(led: &mut impl OutputPin, delay: &mut impl DelayNs) {
    for _ in 0..3 {
        let _ = led.set_high();
        delay.delay_ms(1);
        let _ = led.set_low();
        delay.delay_ms(1);
    }
    let _ = led.set_high();
}
