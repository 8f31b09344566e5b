//! Dense (fully connected) layer: `y = W x + b`, `W` of shape `[out][in]`, row-major.
//!
//! Forward: `y[r] = dot(W[r], x) + b[r]`, each [`dot`](crate::linalg::dot) in the fixed lane
//! order of [`linalg::reduce`](crate::linalg::reduce) — the bits of [`Mlp`](crate::Mlp)'s
//! layers, on every target.
//!
//! Backward, from `δy = ∂J/∂y`: `∇ₓJ[c] = Σ_r δy[r]·W[r][c]`, adding the scaled rows in
//! increasing `r` and skipping rows with `δy[r] = 0` (exact: the sums start at `+0`), as
//! [`linalg::transposed`](crate::linalg::transposed) documents; `∇W[r] += δy[r]·x` and
//! `∇b[r] += δy[r]` for every `r` with `δy[r] ≠ 0`, one rounded product and one sum per
//! element, as `Mlp` accumulates its parameter gradient.

use super::Layer;
use crate::linalg::matvec::matvec_slice;
use crate::linalg::transposed::matvec_transposed_slice;

/// `y = W x + b`, with `Mlp`'s blocked kernel (rows in blocks, zero chunks of `x` skipped).
pub(super) fn forward(layer: &Layer<'_>, x: &[f32], y: &mut [f32]) {
    matvec_slice(layer.weight, x, layer.bias, y);
}

/// `∇ₓJ = Wᵀ δy` into `din`; `∇W += δy xᵀ`, `∇b += δy` into `params`.
pub(super) fn backward(
    layer: &Layer<'_>,
    x: &[f32],
    dout: &[f32],
    din: Option<&mut [f32]>,
    params: Option<(&mut [f32], &mut [f32])>,
) {
    let n_in = x.len().max(1);
    if let Some((gw, gb)) = params {
        for ((row, b), &g) in gw.chunks_exact_mut(n_in).zip(gb.iter_mut()).zip(dout) {
            if g != 0.0 {
                for (w, &xi) in row.iter_mut().zip(x) {
                    *w += g * xi;
                }
                *b += g;
            }
        }
    }
    if let Some(din) = din {
        matvec_transposed_slice(layer.weight, dout, din);
    }
}
