//! Pictures: a PNG of original | perturbation | adversarial, and the same digits as text.
//!
//! The perturbation `δ = x_adv − x` is amplified so that its largest magnitude is full
//! colour, on a diverging scale: white for 0, red for `δ > 0` (ink added), blue for `δ < 0`
//! (ink removed). Digits are drawn as in MNIST, white ink on black.

use std::path::Path;

use crate::PIXELS;
use crate::error::Result;

/// Pixels per MNIST pixel in the PNG.
pub const SCALE: usize = 8;
/// Gap between panels, in PNG pixels.
const GAP: usize = 8;

/// `[0, 1]` → grey level.
fn grey(v: f32) -> [u8; 3] {
    let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    [g, g, g]
}

/// Diverging colour for `t ∈ [−1, 1]`: blue, white, red.
fn diverging(t: f32) -> [u8; 3] {
    let t = t.clamp(-1.0, 1.0);
    let fade = (255.0 * (1.0 - t.abs())).round() as u8;
    if t >= 0.0 { [255, fade, fade] } else { [fade, fade, 255] }
}

/// RGB pixels (row-major) of the three panels, and the image's width and height.
pub fn panels(original: &[f32; PIXELS], adversarial: &[f32; PIXELS]) -> (Vec<u8>, usize, usize) {
    let amp = original.iter().zip(adversarial).map(|(a, b)| (b - a).abs()).fold(0.0f32, f32::max);
    let perturbation =
        |i: usize| diverging(if amp > 0.0 { (adversarial[i] - original[i]) / amp } else { 0.0 });
    side_by_side(&[&|i| grey(original[i]), &perturbation, &|i| grey(adversarial[i])])
}

/// 28 × 28 panels side by side, each pixel `i` (row-major) coloured by its panel's function.
fn side_by_side(panels: &[&dyn Fn(usize) -> [u8; 3]]) -> (Vec<u8>, usize, usize) {
    side_by_side_sized(panels, 28, 28)
}

/// [`side_by_side`] for `rows × cols` images.
fn side_by_side_sized(
    panels: &[&dyn Fn(usize) -> [u8; 3]],
    rows: usize,
    cols: usize,
) -> (Vec<u8>, usize, usize) {
    let (pw, ph) = (cols * SCALE, rows * SCALE);
    let (w, h) = (panels.len() * pw + (panels.len() + 1) * GAP, ph + 2 * GAP);
    let mut rgb = vec![255u8; w * h * 3];
    for (panel, colour) in panels.iter().enumerate() {
        let x0 = GAP + panel * (pw + GAP);
        for y in 0..ph {
            for x in 0..pw {
                let c = colour((y / SCALE) * cols + x / SCALE);
                let o = ((GAP + y) * w + x0 + x) * 3;
                rgb[o..o + 3].copy_from_slice(&c);
            }
        }
    }
    (rgb, w, h)
}

/// Encodes RGB pixels as PNG bytes.
fn encode_png((rgb, w, h): (Vec<u8>, usize, usize)) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // Writing into a Vec cannot fail once the header is valid.
        if let Ok(mut writer) = enc.write_header() {
            let _ = writer.write_image_data(&rgb);
        }
    }
    out
}

/// Encodes the three panels as PNG bytes.
pub fn png_bytes(original: &[f32; PIXELS], adversarial: &[f32; PIXELS]) -> Vec<u8> {
    encode_png(panels(original, adversarial))
}

/// A saliency picture as PNG bytes: the image, and its gradient in the diverging colours
/// (red where raising the pixel raises the objective, blue where lowering it does,
/// scaled by the largest |∇|).
pub fn saliency_png(image: &[f32; PIXELS], gradient: &[f32; PIXELS]) -> Vec<u8> {
    saliency_png_sized(image, gradient, 28, 28)
}

/// [`saliency_png`] for a single-channel image of `rows × cols` (row-major).
pub fn saliency_png_sized(image: &[f32], gradient: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    let amp = gradient.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    let at = |v: &[f32], i: usize| v.get(i).copied().unwrap_or(0.0);
    let shade = |i: usize| diverging(if amp > 0.0 { at(gradient, i) / amp } else { 0.0 });
    encode_png(side_by_side_sized(&[&|i| grey(at(image, i)), &shade], rows, cols))
}

/// Writes the PNG atomically; refuses to overwrite unless `force`.
pub fn write_png(
    path: &Path,
    original: &[f32; PIXELS],
    adversarial: &[f32; PIXELS],
    force: bool,
) -> Result<()> {
    crate::fsutil::write_atomic(path, &png_bytes(original, adversarial), force)
}

/// Shades from light to dark ink.
const RAMP: &[u8] = b" .:-=+*#%@";

/// Two 28 × 28 images side by side as text, 14 lines (each character covers two rows,
/// which keeps the aspect ratio of terminal cells), under the given titles.
pub fn text_pair(left: &[f32; PIXELS], right: &[f32; PIXELS], titles: (&str, &str)) -> String {
    let mut out = format!("{:<28}    {}\n", titles.0, titles.1);
    let cell = |img: &[f32; PIXELS], r: usize, c: usize| {
        let v = 0.5 * (img[2 * r * 28 + c] + img[(2 * r + 1) * 28 + c]);
        let k = (v.clamp(0.0, 1.0) * (RAMP.len() - 1) as f32).round() as usize;
        RAMP[k] as char
    };
    for r in 0..14 {
        let line: String = (0..28).map(|c| cell(left, r, c)).collect();
        let line2: String = (0..28).map(|c| cell(right, r, c)).collect();
        out.push_str(&format!("{line}    {}\n", line2.trim_end()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_has_the_right_size_and_signature() {
        let a = [0.0; PIXELS];
        let mut b = a;
        b[0] = 0.5;
        let bytes = png_bytes(&a, &b);
        assert_eq!(&bytes[1..4], b"PNG");
        let (_, w, h) = panels(&a, &b);
        assert_eq!((w, h), (3 * 28 * SCALE + 4 * GAP, 28 * SCALE + 2 * GAP));
    }

    #[test]
    fn diverging_colours() {
        assert_eq!(diverging(0.0), [255, 255, 255]);
        assert_eq!(diverging(1.0), [255, 0, 0]);
        assert_eq!(diverging(-1.0), [0, 0, 255]);
    }

    #[test]
    fn text_has_fourteen_rows() {
        let s = text_pair(&[1.0; PIXELS], &[0.0; PIXELS], ("a", "b"));
        assert_eq!(s.lines().count(), 15);
        assert!(s.lines().nth(1).unwrap().starts_with("@@@@"));
    }
}
