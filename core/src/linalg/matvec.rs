//! Matrix-vector products: `out = M x + b` and `out += Mᵀ v`.
//!
//! Both follow the summation order documented in the [parent module](super): a row of
//! `M x` is a [`dot`](super::dot); `Mᵀ v` adds scaled rows in increasing row order.

use super::Matrix;
use super::reduce::{LANES, combine_lanes, dot_lanes};

/// `out[r] = dot(m[r], x) + bias[r]` for every row `r`.
///
/// On targets with wide vector registers, rows are processed four at a time so that each
/// load of `x` serves four rows; every row's sum is still accumulated exactly as in
/// [`dot`](super::dot), so the result is the same bits as the row-by-row loop (tested).
#[inline]
pub fn matvec<const R: usize, const C: usize>(
    m: &Matrix<R, C>,
    x: &[f32; C],
    bias: &[f32; R],
    out: &mut [f32; R],
) {
    // 4 rows × LANES accumulators need 32 registers: right for x86_64/aarch64 vector
    // registers, too many for the Cortex-M4F's 32 single-precision registers, where the
    // spills would cost more than the shared loads save.
    if cfg!(target_arch = "arm") {
        matvec_rowwise(m, x, bias, out);
    } else {
        matvec_blocked(m, x, bias, out);
    }
}

/// Row-by-row `out = M x + b`.
#[inline]
pub(crate) fn matvec_rowwise<const R: usize, const C: usize>(
    m: &Matrix<R, C>,
    x: &[f32; C],
    bias: &[f32; R],
    out: &mut [f32; R],
) {
    for ((o, row), b) in out.iter_mut().zip(m).zip(bias) {
        *o = combine_lanes(dot_lanes(row, x)) + b;
    }
}

/// Four rows at a time `out = M x + b`; the same bits as [`matvec_rowwise`].
#[inline]
pub(crate) fn matvec_blocked<const R: usize, const C: usize>(
    m: &Matrix<R, C>,
    x: &[f32; C],
    bias: &[f32; R],
    out: &mut [f32; R],
) {
    let (row_blocks, row_tail) = m.as_chunks::<4>();
    let (out_blocks, out_tail) = out.as_chunks_mut::<4>();
    let (bias_blocks, bias_tail) = bias.as_chunks::<4>();
    for ((rows, o), b) in row_blocks.iter().zip(out_blocks).zip(bias_blocks) {
        let sums = dot4(rows, x);
        for i in 0..4 {
            o[i] = sums[i] + b[i];
        }
    }
    for ((o, row), b) in out_tail.iter_mut().zip(row_tail).zip(bias_tail) {
        *o = combine_lanes(dot_lanes(row, x)) + b;
    }
}

/// Four dot products against the same `x`, each in [`dot`](super::dot)'s order.
#[inline]
fn dot4<const C: usize>(rows: &[[f32; C]; 4], x: &[f32; C]) -> [f32; 4] {
    let (xc, xt) = x.as_chunks::<LANES>();
    let (c0, t0) = rows[0].as_chunks::<LANES>();
    let (c1, t1) = rows[1].as_chunks::<LANES>();
    let (c2, t2) = rows[2].as_chunks::<LANES>();
    let (c3, t3) = rows[3].as_chunks::<LANES>();
    let mut a = [[0.0f32; LANES]; 4];
    for ((((xk, w0), w1), w2), w3) in xc.iter().zip(c0).zip(c1).zip(c2).zip(c3) {
        for l in 0..LANES {
            a[0][l] += w0[l] * xk[l];
            a[1][l] += w1[l] * xk[l];
            a[2][l] += w2[l] * xk[l];
            a[3][l] += w3[l] * xk[l];
        }
    }
    for (l, ((((xk, w0), w1), w2), w3)) in xt.iter().zip(t0).zip(t1).zip(t2).zip(t3).enumerate() {
        if let Some(lane) = a[0].get_mut(l) {
            *lane += w0 * xk;
        }
        if let Some(lane) = a[1].get_mut(l) {
            *lane += w1 * xk;
        }
        if let Some(lane) = a[2].get_mut(l) {
            *lane += w2 * xk;
        }
        if let Some(lane) = a[3].get_mut(l) {
            *lane += w3 * xk;
        }
    }
    a.map(combine_lanes)
}

/// `out[c] += Σ_r v[r]·m[r][c]`, adding rows in increasing `r` and skipping rows whose
/// `v[r]` is zero (after a ReLU, about half of them).
///
/// Active rows are applied four at a time, `o = (((o + v₀w₀) + v₁w₁) + v₂w₂) + v₃w₃`,
/// which is the same per-element order as one row at a time, with a quarter of the loads
/// and stores of `out`.
#[inline]
pub fn matvec_transposed_acc<const R: usize, const C: usize>(
    m: &Matrix<R, C>,
    v: &[f32; R],
    out: &mut [f32; C],
) {
    let mut active = m.iter().zip(v).filter(|&(_, &g)| g != 0.0);
    loop {
        let Some((r0, &g0)) = active.next() else {
            return;
        };
        let Some((r1, &g1)) = active.next() else {
            super::add_scaled(out, g0, r0);
            return;
        };
        let Some((r2, &g2)) = active.next() else {
            super::add_scaled(out, g0, r0);
            super::add_scaled(out, g1, r1);
            return;
        };
        let Some((r3, &g3)) = active.next() else {
            super::add_scaled(out, g0, r0);
            super::add_scaled(out, g1, r1);
            super::add_scaled(out, g2, r2);
            return;
        };
        for ((((o, w0), w1), w2), w3) in out.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            *o = (((*o + g0 * w0) + g1 * w1) + g2 * w2) + g3 * w3;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn random_matrix<const R: usize, const C: usize>(rng: &mut SplitMix64) -> Matrix<R, C> {
        core::array::from_fn(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)))
    }

    #[test]
    fn blocked_and_rowwise_matvec_give_the_same_bits() {
        let mut rng = SplitMix64::new(7);
        let m: Matrix<11, 37> = random_matrix(&mut rng);
        let x: [f32; 37] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
        let b: [f32; 11] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
        let (mut o1, mut o2) = ([0.0; 11], [0.0; 11]);
        matvec_rowwise(&m, &x, &b, &mut o1);
        matvec_blocked(&m, &x, &b, &mut o2);
        assert_eq!(o1.map(f32::to_bits), o2.map(f32::to_bits));
    }

    #[test]
    fn transposed_product_equals_sequential_axpys_bit_for_bit() {
        let mut rng = SplitMix64::new(11);
        let m: Matrix<13, 29> = random_matrix(&mut rng);
        let mut v: [f32; 13] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
        v[2] = 0.0;
        v[7] = 0.0;
        let start: [f32; 29] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
        let mut fused = start;
        matvec_transposed_acc(&m, &v, &mut fused);
        let mut sequential = start;
        for (row, g) in m.iter().zip(v) {
            for (o, w) in sequential.iter_mut().zip(row) {
                *o += g * w;
            }
        }
        assert_eq!(fused.map(f32::to_bits), sequential.map(f32::to_bits));
    }

    #[rustfmt::skip]
    #[test]
    fn small_known_products() {
        let m: Matrix<2, 3> = [
            [1.0, 2.0, 3.0],
            [4.0, 5.0, 6.0],
        ];
        let mut out = [0.0; 2];
        matvec(&m, &[1.0, 0.0, -1.0], &[0.5, -0.5], &mut out);
        assert_eq!(out, [-1.5, -2.5]);
        let mut back = [1.0; 3];
        matvec_transposed_acc(&m, &[1.0, 2.0], &mut back);
        assert_eq!(back, [10.0, 13.0, 16.0]);
    }
}
