//! Pictures: a PNG of original | perturbation | adversarial, and the same images as text,
//! for images of any size (one channel as grey, three as colour).
//!
//! The perturbation `δ = x_adv − x` is amplified so that its largest magnitude is full
//! colour, on a diverging scale: white for 0, red for `δ > 0` (ink added), blue for `δ < 0`
//! (ink removed). Digits are drawn as in MNIST, white ink on black.

use std::path::Path;

use nudge_core::Shape;

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

/// The colour of pixel `i` (row-major, of one plane) of an image of `shape` (NCHW): grey
/// from the first channel, or RGB for three channels.
fn image_colour(image: &[f32], shape: Shape, i: usize) -> [u8; 3] {
    let plane = shape.height * shape.width;
    let at = |channel: usize| image.get(channel * plane + i).copied().unwrap_or(0.0);
    if shape.channels == 3 { [grey(at(0))[0], grey(at(1))[0], grey(at(2))[0]] } else { grey(at(0)) }
}

/// Pixel `i` of one plane of `v` (NCHW), averaged over the channels.
fn channel_mean(v: &[f32], shape: Shape, i: usize) -> f32 {
    let plane = shape.height * shape.width;
    let sum: f32 = (0..shape.channels).map(|c| v.get(c * plane + i).copied().unwrap_or(0.0)).sum();
    sum / shape.channels.max(1) as f32
}

/// RGB pixels (row-major) of the three panels for images of `shape`, and the picture's
/// width and height. The perturbation panel shows `δ` averaged over the channels.
pub fn panels(original: &[f32], adversarial: &[f32], shape: Shape) -> (Vec<u8>, usize, usize) {
    let delta: Vec<f32> = original.iter().zip(adversarial).map(|(a, b)| b - a).collect();
    let plane = shape.height * shape.width;
    let mean: Vec<f32> = (0..plane).map(|i| channel_mean(&delta, shape, i)).collect();
    let amp = mean.iter().fold(0.0f32, |m, d| m.max(d.abs()));
    let perturbation = |i: usize| diverging(if amp > 0.0 { mean[i] / amp } else { 0.0 });
    side_by_side(
        &[&|i| image_colour(original, shape, i), &perturbation, &|i| {
            image_colour(adversarial, shape, i)
        }],
        shape,
    )
}

/// Panels of `shape.height × shape.width` side by side, each pixel `i` (row-major)
/// coloured by its panel's function.
fn side_by_side(panels: &[&dyn Fn(usize) -> [u8; 3]], shape: Shape) -> (Vec<u8>, usize, usize) {
    let (rows, cols) = (shape.height, shape.width);
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
pub fn png_bytes(original: &[f32], adversarial: &[f32], shape: Shape) -> Vec<u8> {
    encode_png(panels(original, adversarial, shape))
}

/// A saliency picture as PNG bytes: the image of `shape`, and its gradient (averaged over
/// the channels) in the diverging colours (red where raising the pixel raises the
/// objective, blue where lowering it does, scaled by the largest |∇|).
pub fn saliency_png(image: &[f32], gradient: &[f32], shape: Shape) -> Vec<u8> {
    let plane = shape.height * shape.width;
    let mean: Vec<f32> = (0..plane).map(|i| channel_mean(gradient, shape, i)).collect();
    let amp = mean.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    let shade = |i: usize| diverging(if amp > 0.0 { mean[i] / amp } else { 0.0 });
    encode_png(side_by_side(&[&|i| image_colour(image, shape, i), &shade], shape))
}

/// Writes the PNG atomically; refuses to overwrite unless `force`.
pub fn write_png(
    path: &Path,
    original: &[f32],
    adversarial: &[f32],
    shape: Shape,
    force: bool,
) -> Result<()> {
    crate::fsutil::write_atomic(path, &png_bytes(original, adversarial, shape), force)
}

/// Shades from light to dark ink.
const RAMP: &[u8] = b" .:-=+*#%@";

/// Two images of `shape` side by side as text (first channel), `⌈H/2⌉` lines (each
/// character covers two rows, which keeps the aspect ratio of terminal cells), under the
/// given titles.
pub fn text_pair(left: &[f32], right: &[f32], shape: Shape, titles: (&str, &str)) -> String {
    let (h, w) = (shape.height, shape.width);
    let mut out = format!("{:<w$}    {}\n", titles.0, titles.1);
    let cell = |img: &[f32], r: usize, c: usize| {
        let at = |row: usize| if row < h { img.get(row * w + c).copied() } else { None };
        let (top, bottom) = (at(2 * r).unwrap_or(0.0), at(2 * r + 1));
        let v = bottom.map_or(top, |b| 0.5 * (top + b));
        let k = (v.clamp(0.0, 1.0) * (RAMP.len() - 1) as f32).round() as usize;
        RAMP[k] as char
    };
    for r in 0..h.div_ceil(2) {
        let line: String = (0..w).map(|c| cell(left, r, c)).collect();
        let line2: String = (0..w).map(|c| cell(right, r, c)).collect();
        out.push_str(&format!("{line}    {}\n", line2.trim_end()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PIXELS;

    const MNIST: Shape = Shape::new(1, 28, 28);

    #[test]
    fn png_has_the_right_size_and_signature() {
        let a = [0.0; PIXELS];
        let mut b = a;
        b[0] = 0.5;
        let bytes = png_bytes(&a, &b, MNIST);
        assert_eq!(&bytes[1..4], b"PNG");
        let (_, w, h) = panels(&a, &b, MNIST);
        assert_eq!((w, h), (3 * 28 * SCALE + 4 * GAP, 28 * SCALE + 2 * GAP));
        let (_, w, h) = panels(&[0.0; 96], &[0.0; 96], Shape::new(1, 12, 8));
        assert_eq!((w, h), (3 * 8 * SCALE + 4 * GAP, 12 * SCALE + 2 * GAP));
    }

    #[test]
    fn colour_images_are_drawn_in_colour() {
        let shape = Shape::new(3, 1, 2);
        let image = [1.0, 0.0, 0.0, 1.0, 0.5, 0.0];
        assert_eq!(image_colour(&image, shape, 0), [255, 0, 128]);
        assert_eq!(image_colour(&image, shape, 1), [0, 255, 0]);
        assert_eq!(channel_mean(&image, shape, 0), 0.5);
    }

    #[test]
    fn diverging_colours() {
        assert_eq!(diverging(0.0), [255, 255, 255]);
        assert_eq!(diverging(1.0), [255, 0, 0]);
        assert_eq!(diverging(-1.0), [0, 0, 255]);
    }

    #[test]
    fn text_has_fourteen_rows() {
        let s = text_pair(&[1.0; PIXELS], &[0.0; PIXELS], MNIST, ("a", "b"));
        assert_eq!(s.lines().count(), 15);
        assert!(s.lines().nth(1).unwrap().starts_with("@@@@"));
        // Odd heights keep their last row.
        let s = text_pair(&[1.0; 15], &[1.0; 15], Shape::new(1, 5, 3), ("a", "b"));
        assert_eq!(s.lines().count(), 4);
        assert_eq!(s.lines().nth(3).unwrap(), "@@@    @@@");
    }
}
