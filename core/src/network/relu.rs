//! ReLU: `y = max(x, 0)` element-wise ([`linalg::relu`](crate::linalg::relu), `+0` for every
//! `x ≤ 0`). Backward: `∂J/∂x = ∂J/∂y` where `y > 0`, else 0 — read from the output, so the
//! layer can overwrite its input in place (`y > 0` exactly where `x > 0`).

use crate::linalg;

/// `y = max(x, 0)`.
pub(super) fn forward(x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = linalg::relu(v);
    }
}

/// `x ← max(x, 0)`.
pub(super) fn forward_in_place(x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = linalg::relu(*v);
    }
}

/// `din = dout ⊙ [y > 0]`.
pub(super) fn backward(y: &[f32], dout: &[f32], din: Option<&mut [f32]>) {
    if let Some(din) = din {
        for ((d, &g), &v) in din.iter_mut().zip(dout).zip(y) {
            *d = if v > 0.0 { g } else { 0.0 };
        }
    }
}
