//! int8 CONV_2D: TFLite's `reference_integer_ops::ConvPerChannel`
//! (`tensorflow/lite/kernels/internal/reference/integer_ops/conv.h`, which TFLM's `conv.cc`
//! calls), in nudge's CHW layout with the filter `[O][C][KH][KW]`.
//!
//! ```text
//! acc[o][oy][ox] = Σ_{c, ky, kx inside} W[o][c][ky][kx] · (x[c][oy·sh+ky−ph][ox·sw+kx−pw] − x_zero_point) + b[o]
//! y = clamp(MultiplyByQuantizedMultiplier(acc, m[o], shift[o]) + y_zero_point, act_min, act_max)
//! ```
//!
//! Taps in the padding are skipped, as in TFLite: a padded input is a real 0, whose
//! `x − x_zero_point` is 0. The sum is the same in any order (integers; see the
//! [network's layout](super::QuantNetwork)).

use super::QuantLayer;
use super::QuantLayerSpec;
use super::dense::requantize;
use super::fixed_point::Rounding;

/// One convolution.
pub(super) fn forward(layer: &QuantLayer<'_>, rounding: Rounding, x: &[i8], y: &mut [i8]) {
    let QuantLayerSpec::Conv2d { window, padding, .. } = layer.spec else { return };
    let (channels, height, width) = (layer.input.channels, layer.input.height, layer.input.width);
    let (out_h, out_w) = (layer.output.height, layer.output.width);
    let ([kh, kw], [sh, sw], [ph, pw]) = (window.kernel, window.stride, padding);
    let x_zero = layer.input_quantization.zero_point;
    let y_zero = layer.output_quantization.zero_point;
    let (lo, hi) = layer.clamp;
    let per_output = channels * kh * kw;
    // The Cortex-M4F's DSP loops, the same sums (see `arm.rs`).
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    if super::arm::fits(per_output) {
        return super::arm::conv(layer, rounding, x, y);
    }
    let mut out = y.iter_mut();
    for (o, &bias) in layer.bias.iter().enumerate() {
        let filter = layer.weight.get(o * per_output..(o + 1) * per_output).unwrap_or(&[]);
        let m = layer.multiplier(o);
        for oy in 0..out_h {
            // The kernel rows that fall inside the image, and the input row of the first.
            let (ky_lo, ky_hi) = inside(oy * sh, ph, kh, height);
            for ox in 0..out_w {
                let (kx_lo, kx_hi) = inside(ox * sw, pw, kw, width);
                let ix0 = (ox * sw + kx_lo).saturating_sub(pw);
                let mut acc = 0i32;
                for c in 0..channels {
                    for ky in ky_lo..ky_hi {
                        let iy = (oy * sh + ky).saturating_sub(ph);
                        let w_row = (c * kh + ky) * kw;
                        let x_row = (c * height + iy) * width;
                        let taps = filter.get(w_row + kx_lo..w_row + kx_hi).unwrap_or(&[]);
                        let pixels =
                            x.get(x_row + ix0..x_row + ix0 + (kx_hi - kx_lo)).unwrap_or(&[]);
                        for (&w, &v) in taps.iter().zip(pixels) {
                            acc =
                                acc.wrapping_add(i32::from(w).wrapping_mul(i32::from(v) - x_zero));
                        }
                    }
                }
                if let Some(out) = out.next() {
                    *out = requantize(m, rounding, acc.wrapping_add(bias), y_zero, lo, hi);
                }
            }
        }
    }
}

/// The kernel taps `lo..hi` of a window starting at padded position `start` (an output
/// index times the stride) that read inside an input of length `n` padded by `p` before:
/// `0 ≤ start + k − p < n`.
fn inside(start: usize, p: usize, k: usize, n: usize) -> (usize, usize) {
    let lo = p.saturating_sub(start).min(k);
    let hi = (n + p).saturating_sub(start).min(k);
    (lo, hi.max(lo))
}
