//! int8 FULLY_CONNECTED: TFLite's `reference_integer_ops::FullyConnectedPerChannel`
//! (`tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h`; TFLM's
//! `fully_connected.cc` calls it, or the per-tensor `FullyConnected`, the same sum with one
//! multiplier for all channels).
//!
//! ```text
//! acc[o] = Σ_i W[o][i] · (x[i] − x_zero_point) + b[o]                     (int32, wrapping)
//! y[o]   = clamp(MultiplyByQuantizedMultiplier(acc[o], m[o], shift[o]) + y_zero_point, act_min, act_max)
//! ```
//!
//! with `m[o], shift[o]` = `QuantizeMultiplier(x_scale · w_scale[o] / y_scale)` and the
//! weights symmetric (zero point 0). The requantization rounds as the network's
//! [`Arithmetic`](super::Arithmetic) says.

use super::QuantLayer;
use super::fixed_point::Rounding;
use super::multiplier::QuantizedMultiplier;

/// `y = requantize(W (x − zp) + b)`, clamped.
pub(super) fn forward(layer: &QuantLayer<'_>, rounding: Rounding, x: &[i8], y: &mut [i8]) {
    let n = layer.input.len();
    // The Cortex-M4F's DSP loops, the same sums (see `arm.rs`).
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    if super::arm::fits(n) {
        return super::arm::dense(layer, rounding, x, y);
    }
    let x_zero = layer.input_quantization.zero_point;
    let y_zero = layer.output_quantization.zero_point;
    let (lo, hi) = layer.clamp;
    for (o, (out, &bias)) in y.iter_mut().zip(layer.bias).enumerate() {
        let row = layer.weight.get(o * n..(o + 1) * n).unwrap_or(&[]);
        let sum = row.iter().zip(x).fold(0i32, |acc, (&w, &v)| {
            acc.wrapping_add(i32::from(w).wrapping_mul(i32::from(v) - x_zero))
        });
        let m = layer.multiplier(o);
        *out = requantize(m, rounding, sum.wrapping_add(bias), y_zero, lo, hi);
    }
}

/// `clamp(requantize(acc) + zero_point, lo, hi)` with an output channel's multiplier `m`.
pub(super) fn requantize(
    m: QuantizedMultiplier,
    rounding: Rounding,
    acc: i32,
    zero_point: i32,
    lo: i32,
    hi: i32,
) -> i8 {
    let scaled = rounding.apply(acc, m.multiplier, m.shift).saturating_add(zero_point);
    // The clamp bounds lie within int8 (checked when the network was built).
    clamp_to(scaled, lo, hi)
}

/// `v` clamped to `[lo, hi]` as int8. `Ord::clamp` would panic on `lo > hi`; a validated
/// layer never has that, and this spelling keeps the kernel free of panic paths.
pub(super) fn clamp_to(v: i32, lo: i32, hi: i32) -> i8 {
    v.max(lo).min(hi) as i8
}
