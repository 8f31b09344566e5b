//! nudge firmware: adversarial attacks with nudge-core on a Cortex-M4F.
//!
//! The binary is thin: the board layer ([`board`]) brings up the hardware, the app ([`app`])
//! runs the attacks over embedded-hal traits, and the board reports the verdict.
#![no_std]
#![no_main]
#![deny(missing_docs)]

mod app;
mod art;
mod assets;
mod board;
mod fnv;
mod stack;
mod ticks;

#[cortex_m_rt::entry]
fn main() -> ! {
    let mut io = board::init();
    let ok = app::run(&mut io);
    board::finish(ok)
}
