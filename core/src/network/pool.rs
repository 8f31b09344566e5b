//! 2-D pooling over windows without padding (`nn.MaxPool2d`, `nn.AvgPool2d`; output size
//! `⌊(n − k)/s⌋ + 1` per axis), each channel on its own.
//!
//! * Max: `y = max` over the window. Ties go to the **first** maximum in row-major window
//!   order (a later element wins only if strictly greater), PyTorch's rule; backward adds
//!   `δy` to that one input.
//! * Average: `y = (Σ window) / (kh·kw)`, the sum from `+0` in row-major window order, then
//!   one division; backward adds `δy / (kh·kw)` to every input of the window.
//!
//! Backward starts `∇ₓJ` at `+0` and visits the outputs in order (channel, row, column), so
//! where windows overlap (stride < kernel) an input's contributions add up in that order.

use super::{Layer, Window};

/// The input offsets (within one channel's plane) of the window of output `(oy, ox)`, in
/// row-major window order.
fn window(
    layer: &Layer<'_>,
    w: Window,
    oy: usize,
    ox: usize,
) -> impl Iterator<Item = usize> + use<> {
    let width = layer.input.width;
    let (y0, x0) = (oy * w.stride[0], ox * w.stride[1]);
    let [kh, kw] = w.kernel;
    (0..kh).flat_map(move |ky| (0..kw).map(move |kx| (y0 + ky) * width + x0 + kx))
}

/// Calls `f(channel, output index within the whole output, window offsets)` for every
/// output in order.
fn for_each_output(
    layer: &Layer<'_>,
    w: Window,
    mut f: impl FnMut(usize, usize, &mut dyn Iterator<Item = usize>),
) {
    let (oh, ow) = (layer.output.height, layer.output.width);
    let mut index = 0;
    for c in 0..layer.output.channels {
        for oy in 0..oh {
            for ox in 0..ow {
                f(c, index, &mut window(layer, w, oy, ox));
                index += 1;
            }
        }
    }
}

/// The input plane of channel `c`.
fn plane(layer: &Layer<'_>, x: &[f32], c: usize) -> Option<core::ops::Range<usize>> {
    let n = layer.input.height * layer.input.width;
    let start = c * n;
    (start + n <= x.len()).then_some(start..start + n)
}

/// The first maximum of the window and its offset in the plane.
fn first_max(input: &[f32], offsets: &mut dyn Iterator<Item = usize>) -> Option<(usize, f32)> {
    let mut best: Option<(usize, f32)> = None;
    for k in offsets {
        let v = *input.get(k)?;
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((k, v));
        }
    }
    best
}

/// Max pooling forward.
pub(super) fn max_forward(layer: &Layer<'_>, w: Window, x: &[f32], y: &mut [f32]) {
    for_each_output(layer, w, |c, i, offsets| {
        let Some(input) = plane(layer, x, c).and_then(|r| x.get(r)) else { return };
        if let (Some(o), Some((_, v))) = (y.get_mut(i), first_max(input, offsets)) {
            *o = v;
        }
    });
}

/// Max pooling backward: `δy` to each window's first maximum.
pub(super) fn max_backward(
    layer: &Layer<'_>,
    w: Window,
    x: &[f32],
    dout: &[f32],
    din: Option<&mut [f32]>,
) {
    let Some(din) = din else { return };
    din.fill(0.0);
    for_each_output(layer, w, |c, i, offsets| {
        let Some(range) = plane(layer, x, c) else { return };
        let Some(input) = x.get(range.clone()) else { return };
        let (Some((k, _)), Some(&d)) = (first_max(input, offsets), dout.get(i)) else { return };
        if let Some(g) = din.get_mut(range.start + k) {
            *g += d;
        }
    });
}

/// `kh·kw` as the divisor of the mean.
fn window_size(w: Window) -> f32 {
    (w.kernel[0] * w.kernel[1]) as f32
}

/// Average pooling forward.
pub(super) fn avg_forward(layer: &Layer<'_>, w: Window, x: &[f32], y: &mut [f32]) {
    let n = window_size(w);
    for_each_output(layer, w, |c, i, offsets| {
        let Some(input) = plane(layer, x, c).and_then(|r| x.get(r)) else { return };
        let sum = offsets.fold(0.0f32, |s, k| s + input.get(k).copied().unwrap_or(0.0));
        if let Some(o) = y.get_mut(i) {
            *o = sum / n;
        }
    });
}

/// Average pooling backward: `δy / (kh·kw)` to every input of each window.
pub(super) fn avg_backward(layer: &Layer<'_>, w: Window, dout: &[f32], din: Option<&mut [f32]>) {
    let Some(din) = din else { return };
    din.fill(0.0);
    let n = window_size(w);
    let plane_len = layer.input.height * layer.input.width;
    for_each_output(layer, w, |c, i, offsets| {
        let Some(&d) = dout.get(i) else { return };
        let share = d / n;
        for k in offsets {
            if let Some(g) = din.get_mut(c * plane_len + k) {
                *g += share;
            }
        }
    });
}
