//! Images as ASCII text: the original input and its adversarial version, side by side
//! (the first channel, `ART_HEIGHT` rows of `ART_WIDTH`).

use crate::assets::{ART_HEIGHT, ART_WIDTH, INPUT, Image};

/// Shades from dark (0.0) to bright (1.0).
const SHADES: &[u8] = b" .:-=+*#%@";

/// Shade level (index into the ramp) of a pixel in `[0, 1]`.
pub fn level(v: f32) -> u8 {
    let last = (SHADES.len() - 1) as f32;
    // Pixels are in [0, 1] (clipped by the attacks); the clamp only guards the index.
    (v * last + 0.5).clamp(0.0, last) as u8
}

/// Logs `original` and the shade levels of `adversarial` side by side, `ART_HEIGHT` lines.
pub fn draw(original: &Image, adversarial: &[u8; INPUT]) {
    let rows = original.chunks_exact(ART_WIDTH).zip(adversarial.chunks_exact(ART_WIDTH));
    for (orig_row, adv_row) in rows.take(ART_HEIGHT) {
        let mut line = [b' '; 2 * ART_WIDTH + 3];
        for (c, &v) in orig_row.iter().enumerate() {
            line[c] = SHADES[usize::from(level(v))];
        }
        line[ART_WIDTH + 1] = b'|';
        for (c, &l) in adv_row.iter().enumerate() {
            line[ART_WIDTH + 3 + c] = SHADES[usize::from(l)];
        }
        // Every byte comes from SHADES or is ASCII: valid UTF-8.
        let text = core::str::from_utf8(&line).unwrap_or("?");
        defmt::println!("art {=str}", text);
    }
}
