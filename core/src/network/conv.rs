//! 2-D convolution (cross-correlation, as `nn.Conv2d` with `groups = 1`, no dilation) with
//! zero padding, NCHW, weight `[O][C][KH][KW]`.
//!
//! Forward: `y[o][oy][ox] = (Σ_{c, ky, kx} W[o][c][ky][kx]·x[c][oy·sh+ky−ph][ox·sw+kx−pw]) + b[o]`.
//! The sum starts at `+0` and adds one rounded product at a time in increasing `(c, ky, kx)`;
//! taps that fall in the padding are skipped, which is exact (they would add `±0` to a sum
//! that is never `−0`). The bias is added last.
//!
//! Backward, from `δy`:
//! * `∇ₓJ[c][iy][ix] = Σ W[o][c][ky][kx]·δy[o][oy][ox]` over the taps that read `(c, iy, ix)`,
//!   from `+0` in increasing `(o, ky, kx)`;
//! * `∇W[o][c][ky][kx] += Σ_{oy, ox} δy[o][oy][ox]·x[c][iy][ix]` and `∇b[o] += Σ δy[o]`, each
//!   sum from `+0` in row-major `(oy, ox)` order, then added to the gradient once.
//!
//! The loops run over output planes, so the innermost loop walks one row of the output (and,
//! at stride 1, one contiguous row of the input), which vectorises; the order of the
//! additions into any one element is the one above on every target.

use super::{Layer, LayerSpec};

/// The geometry of one convolution, from its validated layer.
#[derive(Clone, Copy)]
struct Geometry {
    channels: usize,
    height: usize,
    width: usize,
    out_height: usize,
    out_width: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
}

impl Geometry {
    fn of(layer: &Layer<'_>) -> Option<Self> {
        let LayerSpec::Conv2d { window, padding, .. } = layer.spec else {
            return None;
        };
        Some(Self {
            channels: layer.input.channels,
            height: layer.input.height,
            width: layer.input.width,
            out_height: layer.output.height,
            out_width: layer.output.width,
            kernel: window.kernel,
            stride: window.stride,
            padding,
        })
    }

    /// The outputs `o` along one axis whose tap `k` reads inside the input
    /// (`0 ≤ o·s + k − p < n`), as a range `lo..hi`, and the input index of `lo`.
    fn span(n: usize, n_out: usize, k: usize, s: usize, p: usize) -> (usize, usize, usize) {
        // Validated strides are ≥ 1; `max` lets the compiler see it (no division panic).
        let s = s.max(1);
        let lo = if k >= p { 0 } else { (p - k).div_ceil(s) };
        let hi = if n + p > k { ((n + p - 1 - k) / s + 1).min(n_out) } else { 0 };
        let first_input = (lo * s + k).saturating_sub(p);
        (lo, hi.max(lo), first_input)
    }

    /// Calls `f(ky, kx, oy_range, ox_range, iy0, ix0)` for every tap.
    fn for_each_tap(&self, mut f: impl FnMut(usize, usize, Tap)) {
        for ky in 0..self.kernel[0] {
            let (oy_lo, oy_hi, iy0) =
                Self::span(self.height, self.out_height, ky, self.stride[0], self.padding[0]);
            for kx in 0..self.kernel[1] {
                let (ox_lo, ox_hi, ix0) =
                    Self::span(self.width, self.out_width, kx, self.stride[1], self.padding[1]);
                f(ky, kx, Tap { oy: oy_lo..oy_hi, ox: ox_lo..ox_hi, iy0, ix0 });
            }
        }
    }
}

/// The outputs one kernel tap touches and the input element the first of them reads.
struct Tap {
    oy: core::ops::Range<usize>,
    ox: core::ops::Range<usize>,
    iy0: usize,
    ix0: usize,
}

impl Tap {
    /// For output row `oy` of the tap: the elements of the output plane it touches
    /// (`ox_lo..ox_hi` of that row), and the input plane from the first element it reads to
    /// the end of that input row (read stepping by the stride).
    fn rows(&self, g: &Geometry, oy: usize) -> (core::ops::Range<usize>, core::ops::Range<usize>) {
        let iy = self.iy0 + (oy - self.oy.start) * g.stride[0];
        let out = oy * g.out_width + self.ox.start..oy * g.out_width + self.ox.end;
        (out, iy * g.width + self.ix0..(iy + 1) * g.width)
    }
}

/// `n` consecutive elements of `v` starting at `i·n` (a plane, a filter, a kernel).
///
/// Index arithmetic with `get` rather than zipped `chunks_exact` iterators: LLVM keeps the
/// latter's length division out of line at `opt-level = "s"`, where a zero divisor it
/// cannot rule out is a reachable panic.
fn part(v: &[f32], i: usize, n: usize) -> &[f32] {
    v.get(i * n..(i + 1) * n).unwrap_or(&[])
}

/// [`part`], mutable.
fn part_mut(v: &mut [f32], i: usize, n: usize) -> &mut [f32] {
    v.get_mut(i * n..(i + 1) * n).unwrap_or(&mut [])
}

/// `out[i] += w·inp[i·s]` for every `i` of `out` (a plain zip at stride 1, which vectorises;
/// the same operations either way).
fn gather_add(out: &mut [f32], w: f32, inp: &[f32], s: usize) {
    if s == 1 {
        for (o, &v) in out.iter_mut().zip(inp) {
            *o += w * v;
        }
    } else {
        for (o, &v) in out.iter_mut().zip(inp.iter().step_by(s.max(1))) {
            *o += w * v;
        }
    }
}

/// `out[i·s] += w·d[i]` for every `i` of `d` that lands in `out`.
fn scatter_add(out: &mut [f32], w: f32, d: &[f32], s: usize) {
    if s == 1 {
        for (o, &v) in out.iter_mut().zip(d) {
            *o += w * v;
        }
    } else {
        for (o, &v) in out.iter_mut().step_by(s.max(1)).zip(d) {
            *o += w * v;
        }
    }
}

/// `y = conv(x) + b`.
pub(super) fn forward(layer: &Layer<'_>, x: &[f32], y: &mut [f32]) {
    let Some(g) = Geometry::of(layer) else { return };
    let (in_plane, out_plane) = (g.height * g.width, g.out_height * g.out_width);
    let taps = g.kernel[0] * g.kernel[1];
    for (o, &b) in layer.bias.iter().enumerate() {
        let plane = part_mut(y, o, out_plane);
        plane.fill(0.0);
        let filter = part(layer.weight, o, g.channels * taps);
        for c in 0..g.channels {
            let (input, kernel) = (part(x, c, in_plane), part(filter, c, taps));
            g.for_each_tap(|ky, kx, tap| {
                let Some(&w) = kernel.get(ky * g.kernel[1] + kx) else { return };
                for oy in tap.oy.clone() {
                    let (out, inp) = tap.rows(&g, oy);
                    let (Some(out_row), Some(in_row)) = (plane.get_mut(out), input.get(inp)) else {
                        return;
                    };
                    gather_add(out_row, w, in_row, g.stride[1]);
                }
            });
        }
        for o in plane.iter_mut() {
            *o += b;
        }
    }
}

/// `∇ₓJ` into `din`; `∇W`, `∇b` added into `params`.
pub(super) fn backward(
    layer: &Layer<'_>,
    x: &[f32],
    dout: &[f32],
    din: Option<&mut [f32]>,
    params: Option<(&mut [f32], &mut [f32])>,
) {
    let Some(g) = Geometry::of(layer) else { return };
    let (in_plane, out_plane) = (g.height * g.width, g.out_height * g.out_width);
    let taps = g.kernel[0] * g.kernel[1];
    let per_output = g.channels * taps;
    let out_channels = layer.bias.len();
    if let Some((gw, gb)) = params {
        for (o, b) in gb.iter_mut().enumerate() {
            let delta = part(dout, o, out_plane);
            *b += delta.iter().fold(0.0, |s, &d| s + d);
            let filter = part_mut(gw, o, per_output);
            for c in 0..g.channels {
                let (input, kernel) = (part(x, c, in_plane), part_mut(filter, c, taps));
                g.for_each_tap(|ky, kx, tap| {
                    let mut sum = 0.0f32;
                    for oy in tap.oy.clone() {
                        let (out, inp) = tap.rows(&g, oy);
                        let (Some(d_row), Some(in_row)) = (delta.get(out), input.get(inp)) else {
                            return;
                        };
                        for (&d, &v) in d_row.iter().zip(in_row.iter().step_by(g.stride[1].max(1)))
                        {
                            sum += d * v;
                        }
                    }
                    if let Some(w) = kernel.get_mut(ky * g.kernel[1] + kx) {
                        *w += sum;
                    }
                });
            }
        }
    }
    if let Some(din) = din {
        din.fill(0.0);
        for o in 0..out_channels {
            let (delta, filter) = (part(dout, o, out_plane), part(layer.weight, o, per_output));
            for c in 0..g.channels {
                let (grad, kernel) = (part_mut(din, c, in_plane), part(filter, c, taps));
                g.for_each_tap(|ky, kx, tap| {
                    let Some(&w) = kernel.get(ky * g.kernel[1] + kx) else { return };
                    for oy in tap.oy.clone() {
                        let (out, inp) = tap.rows(&g, oy);
                        let (Some(d_row), Some(g_row)) = (delta.get(out), grad.get_mut(inp)) else {
                            return;
                        };
                        scatter_add(g_row, w, d_row, g.stride[1]);
                    }
                });
            }
        }
    }
}
