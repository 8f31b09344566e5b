//! nudge firmware: adversarial attacks with nudge-core on a Cortex-M4F.
//!
//! The binary is thin: the board layer ([`board`]) brings up the hardware, the app ([`app`])
//! runs the attacks over embedded-hal traits (or, for an int8 network, classifies the sample
//! inputs), and the board reports the verdict.
#![no_std]
#![no_main]
#![deny(missing_docs)]

// An int8 network (cfg `nudge_int8`, set by build.rs) is classified, any other attacked.
#[cfg_attr(nudge_int8, path = "app_int8.rs")]
mod app;
#[cfg(not(nudge_int8))]
mod art;
#[cfg_attr(nudge_int8, path = "assets_int8.rs")]
mod assets;
mod board;
mod fnv;
mod stack;
mod ticks;
mod verdict;

#[cortex_m_rt::entry]
fn main() -> ! {
    let mut io = board::init();
    let ok = app::run(&mut io);
    board::finish(ok)
}
