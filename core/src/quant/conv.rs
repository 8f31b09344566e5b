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
    let mut out = y.iter_mut();
    for (o, &bias) in layer.bias.iter().enumerate() {
        let filter = layer.weight.get(o * per_output..(o + 1) * per_output).unwrap_or(&[]);
        for oy in 0..out_h {
            for ox in 0..out_w {
                let mut acc = 0i32;
                for c in 0..channels {
                    for ky in 0..kh {
                        // The input row, if inside the image (unsigned: below 0 wraps high).
                        let Some(iy) = (oy * sh + ky).checked_sub(ph).filter(|&r| r < height)
                        else {
                            continue;
                        };
                        for kx in 0..kw {
                            let Some(ix) = (ox * sw + kx).checked_sub(pw).filter(|&r| r < width)
                            else {
                                continue;
                            };
                            let w = filter.get((c * kh + ky) * kw + kx).copied().unwrap_or(0);
                            let v = x.get((c * height + iy) * width + ix).copied().unwrap_or(0);
                            acc =
                                acc.wrapping_add(i32::from(w).wrapping_mul(i32::from(v) - x_zero));
                        }
                    }
                }
                if let Some(out) = out.next() {
                    *out = requantize(layer, rounding, o, acc.wrapping_add(bias), y_zero, lo, hi);
                }
            }
        }
    }
}
