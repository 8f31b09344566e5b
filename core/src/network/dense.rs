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
use crate::linalg::reduce::{combine_lanes, dot_lanes};

/// `y = W x + b`.
pub(super) fn forward(layer: &Layer<'_>, x: &[f32], y: &mut [f32]) {
    let rows = layer.weight.chunks_exact(x.len().max(1));
    for ((o, row), b) in y.iter_mut().zip(rows).zip(layer.bias) {
        *o = combine_lanes(dot_lanes(row, x)) + b;
    }
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
        din.fill(0.0);
        let active = layer.weight.chunks_exact(n_in).zip(dout).filter(|&(_, &g)| g != 0.0);
        add_rows(active, din);
    }
}

/// `out[c] += Σ g·row[c]` over `active` rows in order, four rows per pass over `out`
/// (`o = (((o + g₀w₀) + g₁w₁) + g₂w₂) + g₃w₃`: the same order as one row at a time).
fn add_rows<'m>(mut active: impl Iterator<Item = (&'m [f32], &'m f32)>, out: &mut [f32]) {
    loop {
        let next: [_; 4] = core::array::from_fn(|_| active.next());
        let [Some((r0, &g0)), Some((r1, &g1)), Some((r2, &g2)), Some((r3, &g3))] = next else {
            for (row, &g) in next.into_iter().flatten() {
                for (o, &w) in out.iter_mut().zip(row) {
                    *o += g * w;
                }
            }
            return;
        };
        let rows = r0.iter().zip(r1).zip(r2).zip(r3);
        for (o, (((w0, w1), w2), w3)) in out.iter_mut().zip(rows) {
            *o = (((*o + g0 * w0) + g1 * w1) + g2 * w2) + g3 * w3;
        }
    }
}
