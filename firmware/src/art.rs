//! Images as ASCII text: the original digit and its adversarial version, side by side.

use crate::assets::Image;

/// Shades from dark (0.0) to bright (1.0).
const SHADES: &[u8] = b" .:-=+*#%@";

/// Shade level (index into the ramp) of a pixel in `[0, 1]`.
pub fn level(v: f32) -> u8 {
    let last = (SHADES.len() - 1) as f32;
    // Pixels are in [0, 1] (clipped by the attacks); the clamp only guards the index.
    (v * last + 0.5).clamp(0.0, last) as u8
}

/// Logs `original` and the shade levels of `adversarial` side by side, 28 lines.
pub fn draw(original: &Image, adversarial: &[u8; 28 * 28]) {
    for (orig_row, adv_row) in original.chunks_exact(28).zip(adversarial.chunks_exact(28)) {
        let mut line = [b' '; 28 + 3 + 28];
        for (c, &v) in orig_row.iter().enumerate() {
            line[c] = SHADES[usize::from(level(v))];
        }
        line[29] = b'|';
        for (c, &l) in adv_row.iter().enumerate() {
            line[31 + c] = SHADES[usize::from(l)];
        }
        // Every byte comes from SHADES or is ASCII: valid UTF-8.
        let text = core::str::from_utf8(&line).unwrap_or("?");
        defmt::println!("art {=str}", text);
    }
}
