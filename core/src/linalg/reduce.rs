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

/// [`combine_lanes`] of every row's lane sums: `out[r] = combine_lanes(sums[r])`, the same
/// bits.
///
/// On x86_64 with AVX, whole groups of eight rows are combined at once (see
/// [`combine_eight_rows`]) instead of by eight calls; the rows after them one at a time.
#[inline]
pub(crate) fn combine_lanes_of_rows<const N: usize>(sums: [[f32; LANES]; N]) -> [f32; N] {
    let mut out = [0.0; N];
    let (out_blocks, out_tail) = out.as_chunks_mut::<8>();
    let (sum_blocks, sum_tail) = sums.as_chunks::<8>();
    for (o, s) in out_blocks.iter_mut().zip(sum_blocks) {
        *o = if cfg!(all(target_arch = "x86_64", target_feature = "avx")) {
            combine_eight_rows(*s)
        } else {
            s.map(combine_lanes)
        };
    }
    for (o, &s) in out_tail.iter_mut().zip(sum_tail) {
        *o = combine_lanes(s);
    }
    out
}

/// [`combine_lanes`] of eight rows, one level of the tree at a time across the rows.
///
/// Each level is one element-wise addition of two 8-float arrays whose elements are picked
/// from the level before by fixed indices, which LLVM compiles to one vector addition and
/// a few shuffles (three additions in all, instead of eight calls of seven). Every addition
/// has the same two operands as in [`combine_lanes`], so the result is the same bits.
#[inline]
fn combine_eight_rows(s: [[f32; LANES]; 8]) -> [f32; 8] {
    // Not inlined by LLVM on its own (it is a separate function), and a call per level
    // would undo the point of this one.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn add(a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        core::array::from_fn(|i| a[i] + b[i])
    }
    let [r0, r1, r2, r3, r4, r5, r6, r7] = s;
    // Level 1, two rows per array: [s₀+s₄, s₁+s₅, s₂+s₆, s₃+s₇] of row a, then of row b.
    let pair = |a: [f32; 8], b: [f32; 8]| {
        add(
            [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]],
            [a[4], a[5], a[6], a[7], b[4], b[5], b[6], b[7]],
        )
    };
    let (t01, t23, t45, t67) = (pair(r0, r1), pair(r2, r3), pair(r4, r5), pair(r6, r7));
    // Level 2, four rows per array: [(s₀+s₄)+(s₂+s₆), (s₁+s₅)+(s₃+s₇)] of rows a, c, b, d.
    let quad = |ab: [f32; 8], cd: [f32; 8]| {
        add(
            [ab[0], ab[1], cd[0], cd[1], ab[4], ab[5], cd[4], cd[5]],
            [ab[2], ab[3], cd[2], cd[3], ab[6], ab[7], cd[6], cd[7]],
        )
    };
    let (u0123, u4567) = (quad(t01, t23), quad(t45, t67));
    // Level 3: the two halves of the tree added, for rows 0, 2, 4, 6, 1, 3, 5, 7.
    let o = add(
        [u0123[0], u0123[2], u4567[0], u4567[2], u0123[4], u0123[6], u4567[4], u4567[6]],
        [u0123[1], u0123[3], u4567[1], u4567[3], u0123[5], u0123[7], u4567[5], u4567[7]],
    );
    [o[0], o[4], o[1], o[5], o[2], o[6], o[3], o[7]]
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
    fn rows_combine_to_the_bits_of_combine_lanes() {
        let mut rng = crate::rng::SplitMix64::new(99);
        for _ in 0..100 {
            // Magnitudes spread over many exponents, so that another order would round
            // differently.
            let sums: [[f32; LANES]; 8] = core::array::from_fn(|_| {
                core::array::from_fn(|_| {
                    rng.uniform(-1.0, 1.0) * 10f32.powi(rng.uniform(-6.0, 6.0) as i32)
                })
            });
            let want = sums.map(|s| combine_lanes(s).to_bits());
            assert_eq!(combine_lanes_of_rows(sums).map(f32::to_bits), want);
            let three: [[f32; LANES]; 3] = [sums[0], sums[5], sums[7]];
            assert_eq!(combine_lanes_of_rows(three).map(f32::to_bits), [want[0], want[5], want[7]]);
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
