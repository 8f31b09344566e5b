//! int8 pooling without padding, each channel on its own, CHW: TFLite's
//! `reference_integer_ops::MaxPool` and `AveragePool`
//! (`tensorflow/lite/kernels/internal/reference/integer_ops/pooling.h`, which TFLM's
//! `pooling.cc` calls). The output keeps the input's quantization.
//!
//! * Max: `y = clamp(max over the window, act_min, act_max)`.
//! * Average: `s = Σ window` (int32), `n = kh·kw`, then TFLite's rounding to nearest with
//!   ties away from zero, `y = s > 0 ? (s + n/2) / n : (s − n/2) / n` (`/` truncating toward
//!   zero, as in C++), clamped to `[act_min, act_max]`.

use super::QuantLayer;
use super::dense::clamp_to;
use crate::network::Window;

/// Calls `f(window values, output)` for every output, in CHW order.
fn for_each_window(
    layer: &QuantLayer<'_>,
    w: Window,
    x: &[i8],
    y: &mut [i8],
    mut f: impl FnMut(&mut dyn Iterator<Item = i32>, &mut i8),
) {
    let (height, width) = (layer.input.height, layer.input.width);
    let (out_h, out_w) = (layer.output.height, layer.output.width);
    let [kh, kw] = w.kernel;
    let mut out = y.iter_mut();
    for c in 0..layer.output.channels {
        let plane = x.get(c * height * width..(c + 1) * height * width).unwrap_or(&[]);
        for oy in 0..out_h {
            for ox in 0..out_w {
                let (y0, x0) = (oy * w.stride[0], ox * w.stride[1]);
                let mut values = (0..kh)
                    .flat_map(|ky| (0..kw).map(move |kx| (y0 + ky) * width + x0 + kx))
                    .map(|k| i32::from(plane.get(k).copied().unwrap_or(0)));
                if let Some(o) = out.next() {
                    f(&mut values, o);
                }
            }
        }
    }
}

/// Max pooling.
pub(super) fn max_forward(layer: &QuantLayer<'_>, w: Window, x: &[i8], y: &mut [i8]) {
    let (lo, hi) = layer.clamp;
    for_each_window(layer, w, x, y, |values, out| {
        let max = values.fold(i32::from(i8::MIN), i32::max);
        *out = clamp_to(max, lo, hi);
    });
}

/// Average pooling.
pub(super) fn avg_forward(layer: &QuantLayer<'_>, w: Window, x: &[i8], y: &mut [i8]) {
    let (lo, hi) = layer.clamp;
    // Validated windows have 1 ≤ kh·kw ≤ the input plane.
    let n = i32::try_from(w.kernel[0] * w.kernel[1]).unwrap_or(i32::MAX).max(1);
    for_each_window(layer, w, x, y, |values, out| {
        let sum = values.fold(0i32, i32::wrapping_add);
        let mean = if sum > 0 { sum.wrapping_add(n / 2) / n } else { sum.wrapping_sub(n / 2) / n };
        *out = clamp_to(mean, lo, hi);
    });
}
