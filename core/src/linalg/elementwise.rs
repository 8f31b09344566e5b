//! Element-wise operations on fixed-size vectors.
//!
//! Each output element depends only on the same-index input elements, so there is no
//! summation order to fix; every operation is one IEEE-754 rounding per element.

/// `y ← y + a·x`, element by element (one product and one sum, each rounded).
#[inline]
pub fn add_scaled<const N: usize>(y: &mut [f32; N], a: f32, x: &[f32; N]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Clamps every element into `[lo, hi]` with [`clamp_scalar`]. `lo ≤ hi` is the caller's
/// contract.
#[inline]
pub fn clamp<const N: usize>(x: &mut [f32; N], lo: f32, hi: f32) {
    for xi in x.iter_mut() {
        *xi = clamp_scalar(*xi, lo, hi);
    }
}

/// `x` clamped into `[lo, hi]` by comparisons.
///
/// Not `f32::max`/`min`: which zero `max(-0.0, 0.0)` returns is unspecified (so it could
/// differ between targets), and on the Cortex-M4F they are library calls.
#[inline]
pub fn clamp_scalar(x: f32, lo: f32, hi: f32) -> f32 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

/// `max(x, 0)` by comparison: `+0.0` for every `x ≤ 0` (see [`clamp_scalar`] for why).
#[inline]
pub fn relu(x: f32) -> f32 {
    if x > 0.0 { x } else { 0.0 }
}

/// The sign of `x`: `1.0`, `-1.0`, or `0.0` for `±0` (as in FGSM, where a zero gradient
/// component must not move the pixel).
#[inline]
pub fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Index of the first element that is NaN or infinite, if any.
#[inline]
pub fn first_non_finite(x: &[f32]) -> Option<usize> {
    x.iter().position(|v| !v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_scaled_and_clamp() {
        let mut y = [1.0f32, 2.0, 3.0];
        add_scaled(&mut y, 2.0, &[0.5, -1.0, 0.25]);
        assert_eq!(y, [2.0, 0.0, 3.5]);
        clamp(&mut y, 0.5, 3.0);
        assert_eq!(y, [2.0, 0.5, 3.0]);
    }

    #[test]
    fn relu_and_clamp_give_positive_zero() {
        assert_eq!(relu(-0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(relu(-3.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(relu(2.5), 2.5);
        assert_eq!(clamp_scalar(-1.0, 0.0, 1.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(clamp_scalar(0.25, 0.0, 1.0), 0.25);
        assert_eq!(clamp_scalar(7.0, 0.0, 1.0), 1.0);
    }

    #[test]
    fn sign_of_zero_is_zero() {
        assert_eq!(sign(-0.0), 0.0);
        assert_eq!(sign(0.0), 0.0);
        assert_eq!(sign(1e-30), 1.0);
        assert_eq!(sign(-3.0), -1.0);
    }

    #[test]
    fn finds_first_non_finite() {
        assert_eq!(first_non_finite(&[0.0, 1.0]), None);
        assert_eq!(first_non_finite(&[0.0, f32::NAN, f32::INFINITY]), Some(1));
    }
}
