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

/// `dst[i] = src[i]` for every `i` both have (a copy that cannot panic on a length
/// mismatch, unlike `copy_from_slice`; callers pass equal lengths).
#[inline]
pub fn copy(dst: &mut [f32], src: &[f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s;
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
///
/// Scans blocks of 16 elements without an early exit (so the check of a
/// block vectorises), then finds the exact index inside the first block that fails.
#[inline]
pub fn first_non_finite(x: &[f32]) -> Option<usize> {
    let (blocks, _) = x.as_chunks::<FINITE_BLOCK>();
    // Branch-free (`&`, not `&&`) within a block, so that the block's test vectorises.
    #[allow(clippy::needless_bitwise_bool)]
    let clean = blocks.iter().take_while(|b| b.iter().fold(true, |ok, v| ok & v.is_finite()));
    let start = clean.count() * FINITE_BLOCK;
    let rest = x.get(start..).unwrap_or(&[]);
    rest.iter().position(|v| !v.is_finite()).map(|i| start + i)
}

/// Block size of [`first_non_finite`]'s branch-free scan; the elements after the last whole
/// block are checked one by one. 64 checks (eight AVX registers) per branch on vector
/// targets; 16 on the Cortex-M4F, where the scan is unrolled at every call site and 64
/// would add 19 KB of code to the firmware to save 2% of its instructions.
const FINITE_BLOCK: usize = if cfg!(target_arch = "arm") { 16 } else { 64 };

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

    #[test]
    fn finds_first_non_finite_at_every_position_of_a_blocked_scan() {
        for len in [0, 1, 15, 16, 17, 40, 63, 64, 65, 130, 784] {
            let mut x = [0.5f32; 784];
            let x = &mut x[..len];
            assert_eq!(first_non_finite(x), None, "len {len}");
            for i in 0..len {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    x[i] = bad;
                    // A later non-finite element must not hide the first one.
                    if let Some(later) = x.get_mut(i + 5) {
                        *later = f32::NAN;
                    }
                    assert_eq!(first_non_finite(x), Some(i), "len {len} i {i}");
                    x.fill(0.5);
                }
            }
        }
    }
}
