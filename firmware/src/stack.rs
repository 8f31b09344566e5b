//! Peak stack use by painting: fill the free stack with a pattern early, later find the
//! deepest word that no longer holds it.
//!
//! The stack is `[_stack_end, _stack_start)` in cortex-m-rt's symbols; with flip-link it
//! sits at the bottom of RAM, below `.data`/`.bss`, so `_stack_end` is the RAM origin.

/// The paint pattern.
const PAINT: u32 = 0xDEAD_BEEF;
/// Bytes left unpainted just below the current stack pointer (the painting frame itself).
const MARGIN: usize = 64;

unsafe extern "C" {
    /// Lowest address of the stack (its limit), from cortex-m-rt's linker script.
    static _stack_end: u32;
    /// Initial stack pointer (top of the stack), from cortex-m-rt's linker script.
    static _stack_start: u32;
}

/// Stack limits `(bottom, top)`.
fn bounds() -> (usize, usize) {
    (core::ptr::addr_of!(_stack_end) as usize, core::ptr::addr_of!(_stack_start) as usize)
}

/// Paints the unused stack below the current stack pointer. Call once, early.
pub fn paint() {
    let (bottom, _) = bounds();
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = bottom;
    while p + MARGIN < sp {
        // SAFETY: `[bottom, sp − MARGIN)` is the stack's unused part: nothing lives below the
        // stack pointer, and the margin keeps this function's own frame out of reach.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack used so far at most (from the top to the deepest overwritten word).
pub fn peak() -> usize {
    let (bottom, top) = bounds();
    let mut p = bottom;
    // SAFETY: reads of 4-byte aligned words inside the stack region.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    top - p
}

/// Total stack size in bytes.
pub fn size() -> usize {
    let (bottom, top) = bounds();
    top - bottom
}
