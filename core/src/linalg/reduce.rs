//! Reductions with a fixed summation order: dot products and sums of squares.
//!
//! `dot(a, b) = Σᵢ aᵢ·bᵢ`, computed as [`LANES`] partial sums `sₗ = Σ_{i ≡ l (mod LANES)} aᵢ·bᵢ`
//! (each in increasing `i`), combined by the tree
//! `((s₀+s₄) + (s₂+s₆)) + ((s₁+s₅) + (s₃+s₇))`.
//! Independent partial sums let the host vectorise and pipeline the loop; the fixed order makes
//! the result the same bits on every target. Relative error is bounded by the usual
//! `~(N/LANES + 3)·ε·Σ|aᵢbᵢ|` of recursive summation.

/// Number of independent partial sums in every reduction.
pub const LANES: usize = 8;

/// Per-lane partial sums of `aᵢ·bᵢ`: element `i` goes to lane `i % LANES`.
#[inline]
pub(crate) fn dot_lanes(a: &[f32], b: &[f32]) -> [f32; LANES] {
    let (a_chunks, a_tail) = a.as_chunks::<LANES>();
    let (b_chunks, b_tail) = b.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    super::arm::dot_chunks(a_chunks, b_chunks, &mut acc);
    #[cfg(not(all(target_arch = "arm", target_abi = "eabihf")))]
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    for ((s, x), y) in acc.iter_mut().zip(a_tail).zip(b_tail) {
        *s += x * y;
    }
    acc
}

/// Combines lane partial sums with the fixed tree documented in the [module docs](self).
///
/// Kept out of line on vector targets, for speed only: inlined, this tree is the first
/// thing LLVM's SLP vectoriser sees, and its pairs `(s₀+s₄)`, … made it pack the
/// accumulation loops that feed it two floats per register instead of four or eight
/// (2× slower on x86_64). Out of line, the loops are vectorised on their own; the call costs
/// a few cycles per dot product. On the Cortex-M4F (scalar registers) it is inlined.
#[cfg_attr(not(target_arch = "arm"), inline(never))]
#[cfg_attr(target_arch = "arm", inline)]
pub fn combine_lanes(s: [f32; LANES]) -> f32 {
    ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
}

/// Dot product `Σᵢ aᵢ·bᵢ` in the fixed order of the [module docs](self).
#[inline]
pub fn dot<const N: usize>(a: &[f32; N], b: &[f32; N]) -> f32 {
    combine_lanes(dot_lanes(a, b))
}

/// Sum of squares `Σᵢ aᵢ²`, in the same fixed order as [`dot`].
#[inline]
pub fn sum_squares<const N: usize>(a: &[f32; N]) -> f32 {
    dot(a, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sequential f64 reference.
    fn reference(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
    }

    #[test]
    fn dot_matches_f64_reference_for_every_tail_length() {
        for n in 0..40 {
            let a: [f32; 40] =
                core::array::from_fn(|i| if i < n { (i as f32 * 0.37).sin() } else { 0.0 });
            let b: [f32; 40] = core::array::from_fn(|i| (i as f32 * 0.11).cos());
            let got = f64::from(dot(&a, &b));
            let want = reference(&a[..n], &b[..n]);
            let delta = (got - want).abs();
            assert!(delta <= 1e-5 + 1e-5 * want.abs(), "n={n} got={got} want={want} delta={delta}");
        }
    }

    #[test]
    fn dot_follows_the_documented_lane_order() {
        // Values chosen so that a different order would round differently.
        let a: [f32; 11] = [1e8, 1.0, -1e8, 3.0, 0.5, 7.0, 1e-3, 2.0, 1.0, 1.0, 1.0];
        let b = [1.0f32; 11];
        let mut s = [0.0f32; LANES];
        for (i, x) in a.iter().enumerate() {
            s[i % LANES] += x;
        }
        let want = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
        assert_eq!(dot(&a, &b).to_bits(), want.to_bits());
    }
}
