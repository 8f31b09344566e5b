//! Matrix-vector products: `out = M x + b` and `out += Mᵀ v`.
//!
//! Both follow the summation order documented in the [parent module](super): a row of
//! `M x` is a [`dot`](super::dot); `Mᵀ v` adds scaled rows in increasing row order.

use super::Matrix;
use super::reduce::{LANES, combine_lanes, dot_lanes};

/// `out[r] = dot(m[r], x) + bias[r]` for every row `r`.
///
/// On targets with wide vector registers, rows are processed four at a time so that each
/// load of `x` serves four rows, and the chunks of [`LANES`] elements of `x` that are all
/// zero are skipped (an MNIST digit is ~60% such chunks, so the first layer reads ~40% of
/// `W₁`). Every row's sum is still accumulated exactly as in [`dot`](super::dot): a skipped
/// chunk would add one product `±0` to each lane, and a lane (which starts at `+0`, so is
/// never `−0`) is unchanged by adding `±0`. So for finite `m` the result is the same bits
/// as the row-by-row loop (tested). (`0·∞` is NaN: with a non-finite weight in a skipped
/// column the dense loop gives NaN and this one may not; models built with
/// `from_bytes`/`from_parts` reject non-finite weights.)
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

/// Longest `x` (in chunks of [`LANES`]) whose zero chunks [`matvec_blocked`] skips; longer
/// inputs take the dense loop. Bounds the chunk list on the stack (256 bytes).
const MAX_SKIP_CHUNKS: usize = 256;

/// Four rows at a time `out = M x + b`, skipping all-zero chunks of `x`; the same bits as
/// [`matvec_rowwise`] (see [`matvec`]).
#[inline]
pub(crate) fn matvec_blocked<const R: usize, const C: usize>(
    m: &Matrix<R, C>,
    x: &[f32; C],
    bias: &[f32; R],
    out: &mut [f32; R],
) {
    let chunks = NonzeroChunks::of(x);
    let (row_blocks, row_tail) = m.as_chunks::<4>();
    let (out_blocks, out_tail) = out.as_chunks_mut::<4>();
    let (bias_blocks, bias_tail) = bias.as_chunks::<4>();
    for ((rows, o), b) in row_blocks.iter().zip(out_blocks).zip(bias_blocks) {
        chunks.dot4_plus_bias(rows, x, b, o);
    }
    for ((o, row), b) in out_tail.iter_mut().zip(row_tail).zip(bias_tail) {
        *o = combine_lanes(dot_lanes(row, x)) + b;
    }
}

/// `outs[b] = M xs[b] + bias` for a batch of `B` inputs, each the same bits as [`matvec`].
///
/// On vector targets the rows are taken four at a time and each block serves every input
/// while it is in L1, so `M` is read from L2 once per batch rather than once per input.
#[inline]
pub fn matvec_batch<const R: usize, const C: usize, const B: usize>(
    m: &Matrix<R, C>,
    xs: [&[f32; C]; B],
    bias: &[f32; R],
    mut outs: [&mut [f32; R]; B],
) {
    if cfg!(target_arch = "arm") {
        // No cache to reuse on a microcontroller: one input at a time.
        for (x, out) in xs.into_iter().zip(outs) {
            matvec_rowwise(m, x, bias, out);
        }
        return;
    }
    let chunks = xs.map(NonzeroChunks::of);
    let (row_blocks, row_tail) = m.as_chunks::<4>();
    let (bias_blocks, bias_tail) = bias.as_chunks::<4>();
    for (k, (rows, b)) in row_blocks.iter().zip(bias_blocks).enumerate() {
        for ((x, out), chunks) in xs.iter().zip(outs.iter_mut()).zip(&chunks) {
            if let Some(o) = out.as_chunks_mut::<4>().0.get_mut(k) {
                chunks.dot4_plus_bias(rows, x, b, o);
            }
        }
    }
    let done = row_blocks.len() * 4;
    for (&x, out) in xs.iter().zip(outs.iter_mut()) {
        let out_tail = out.get_mut(done..).unwrap_or(&mut []);
        for ((o, row), b) in out_tail.iter_mut().zip(row_tail).zip(bias_tail) {
            *o = combine_lanes(dot_lanes(row, x)) + b;
        }
    }
}

/// The chunks of an input that have a nonzero element, in increasing order, and whether
/// skipping the others pays.
struct NonzeroChunks {
    indices: [u8; MAX_SKIP_CHUNKS],
    len: usize,
    chunks: usize,
    sparse: bool,
}

impl NonzeroChunks {
    fn of<const C: usize>(x: &[f32; C]) -> Self {
        let (xc, _) = x.as_chunks::<LANES>();
        let mut indices = [0u8; MAX_SKIP_CHUNKS];
        let mut len = 0;
        if xc.len() <= MAX_SKIP_CHUNKS {
            for (k, chunk) in xc.iter().enumerate() {
                // Branch-free (`|`, not `||`) so that the test of a chunk vectorises.
                #[allow(clippy::needless_bitwise_bool)]
                let any = chunk.iter().fold(false, |any, &v| any | (v != 0.0));
                if let (true, Some(slot)) = (any, indices.get_mut(len)) {
                    *slot = k as u8;
                    len += 1;
                }
            }
        }
        // Skipping pays when at least ~1/8 of the chunks are zero; otherwise the plain loop
        // is faster (both give the same bits).
        let sparse = xc.len() <= MAX_SKIP_CHUNKS && len * 8 <= xc.len() * 7;
        Self { indices, len, chunks: xc.len(), sparse }
    }

    /// `o[i] = dot(rows[i], x) + b[i]` for the four rows, over the nonzero chunks.
    #[inline]
    fn dot4_plus_bias<const C: usize>(
        &self,
        rows: &[[f32; C]; 4],
        x: &[f32; C],
        b: &[f32; 4],
        o: &mut [f32; 4],
    ) {
        let sums = if self.sparse {
            let listed = self.indices.get(..self.len).unwrap_or(&[]);
            dot4(rows, x, listed.iter().map(|&k| usize::from(k)))
        } else {
            dot4(rows, x, 0..self.chunks)
        };
        for i in 0..4 {
            o[i] = sums[i] + b[i];
        }
    }
}

/// Four dot products against the same `x`, each in [`dot`](super::dot)'s order, over the
/// whole chunks listed in `chunks` (increasing; unlisted chunks of `x` must be all zero)
/// and then the tail.
#[inline]
fn dot4<const C: usize>(
    rows: &[[f32; C]; 4],
    x: &[f32; C],
    chunks: impl Iterator<Item = usize>,
) -> [f32; 4] {
    let (xc, xt) = x.as_chunks::<LANES>();
    let (c0, t0) = rows[0].as_chunks::<LANES>();
    let (c1, t1) = rows[1].as_chunks::<LANES>();
    let (c2, t2) = rows[2].as_chunks::<LANES>();
    let (c3, t3) = rows[3].as_chunks::<LANES>();
    let mut a = [[0.0f32; LANES]; 4];
    for k in chunks {
        let (Some(xk), Some(w0), Some(w1), Some(w2), Some(w3)) =
            (xc.get(k), c0.get(k), c1.get(k), c2.get(k), c3.get(k))
        else {
            continue;
        };
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
/// and stores of `out`. On targets with wide vector registers, eight at a time first
/// (`o = (…((o + v₀w₀) + v₁w₁) … + v₇w₇)`, the same order again), the rest four at a time.
#[inline]
pub fn matvec_transposed_acc<const R: usize, const C: usize>(
    m: &Matrix<R, C>,
    v: &[f32; R],
    out: &mut [f32; C],
) {
    let active = m.iter().zip(v).filter(|&(_, &g)| g != 0.0);
    if cfg!(target_arch = "arm") {
        transposed_acc_by4(active, out);
    } else {
        transposed_acc_by8(active, out);
    }
}

/// `outs[b] += Mᵀ vs[b]` for a batch of `B` vectors, each the same bits as
/// [`matvec_transposed_acc`].
///
/// Rows are taken eight at a time (25 KB at 784 columns, so the block stays in L1) and
/// each block serves every vector before the next is read. Per element, every vector still
/// receives its active rows in increasing order, which is all the summation order asks.
#[inline]
pub fn matvec_transposed_acc_batch<const R: usize, const C: usize, const B: usize>(
    m: &Matrix<R, C>,
    vs: [&[f32; R]; B],
    mut outs: [&mut [f32; C]; B],
) {
    if cfg!(target_arch = "arm") {
        for (v, out) in vs.into_iter().zip(outs) {
            matvec_transposed_acc(m, v, out);
        }
        return;
    }
    let (row_blocks, row_tail) = m.as_chunks::<8>();
    for (k, rows) in row_blocks.iter().enumerate() {
        for (v, out) in vs.iter().zip(outs.iter_mut()) {
            if let Some(v_block) = v.as_chunks::<8>().0.get(k) {
                matvec_transposed_acc(rows, v_block, out);
            }
        }
    }
    let done = row_blocks.len() * 8;
    for (v, out) in vs.iter().zip(outs.iter_mut()) {
        let v_tail = v.get(done..).unwrap_or(&[]);
        let active = row_tail.iter().zip(v_tail).filter(|&(_, &g)| g != 0.0);
        transposed_acc_by4(active, out);
    }
}

/// Eight active rows per pass over `out`, then the remaining ones by [`transposed_acc_by4`].
#[inline]
fn transposed_acc_by8<'m, const C: usize>(
    mut active: impl Iterator<Item = (&'m [f32; C], &'m f32)>,
    out: &mut [f32; C],
) {
    loop {
        let next: [_; 8] = core::array::from_fn(|_| active.next());
        let [
            Some((r0, &g0)),
            Some((r1, &g1)),
            Some((r2, &g2)),
            Some((r3, &g3)),
            Some((r4, &g4)),
            Some((r5, &g5)),
            Some((r6, &g6)),
            Some((r7, &g7)),
        ] = next
        else {
            // Fewer than eight left: they come first in `next`, then nothing.
            transposed_acc_by4(next.into_iter().flatten(), out);
            return;
        };
        let rows = r0.iter().zip(r1).zip(r2).zip(r3).zip(r4).zip(r5).zip(r6).zip(r7);
        for (o, (((((((w0, w1), w2), w3), w4), w5), w6), w7)) in out.iter_mut().zip(rows) {
            *o = (((((((*o + g0 * w0) + g1 * w1) + g2 * w2) + g3 * w3) + g4 * w4) + g5 * w5)
                + g6 * w6)
                + g7 * w7;
        }
    }
}

/// Four active rows per pass over `out`, then the remaining ones one at a time.
#[inline]
fn transposed_acc_by4<'m, const C: usize>(
    mut active: impl Iterator<Item = (&'m [f32; C], &'m f32)>,
    out: &mut [f32; C],
) {
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
        add_scaled4(out, [r0, r1, r2, r3], [g0, g1, g2, g3]);
    }
}

/// `o = (((o + g₀w₀) + g₁w₁) + g₂w₂) + g₃w₃` for every element of `out`.
#[inline]
fn add_scaled4<const C: usize>(out: &mut [f32; C], rows: [&[f32; C]; 4], gains: [f32; 4]) {
    let [g0, g1, g2, g3] = gains;
    // On the Cortex-M4F whole chunks go through multi-register loads (same order), the
    // tail through the portable loop below.
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    let (out, rows) = {
        let (out_chunks, out_tail) = out.as_chunks_mut::<LANES>();
        let done = out_chunks.len() * LANES;
        super::arm::add_scaled4_chunks(out_chunks, rows.map(|r| r.as_chunks::<LANES>().0), gains);
        (out_tail, rows.map(|r| r.get(done..).unwrap_or(&[])))
    };
    let [r0, r1, r2, r3] = rows;
    for ((((o, w0), w1), w2), w3) in out.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
        *o = (((*o + g0 * w0) + g1 * w1) + g2 * w2) + g3 * w3;
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

    /// `x` with whole zero chunks (some `−0`), nonzero chunks, and a tail, in a pattern
    /// that changes with `seed`.
    fn sparse_vector<const C: usize>(rng: &mut SplitMix64) -> [f32; C] {
        let mut x: [f32; C] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
        for chunk in x.chunks_mut(LANES) {
            match rng.next_u64() % 4 {
                0 => chunk.fill(0.0),
                1 => chunk.fill(-0.0),
                2 => chunk.iter_mut().step_by(2).for_each(|v| *v = 0.0),
                _ => {}
            }
        }
        x
    }

    #[test]
    fn blocked_matvec_skipping_zero_chunks_gives_the_rowwise_bits() {
        let mut rng = SplitMix64::new(23);
        for _ in 0..50 {
            let m: Matrix<13, 803> = random_matrix(&mut rng);
            let x: [f32; 803] = sparse_vector(&mut rng);
            let b: [f32; 13] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
            let (mut o1, mut o2) = ([0.0; 13], [0.0; 13]);
            matvec_rowwise(&m, &x, &b, &mut o1);
            matvec_blocked(&m, &x, &b, &mut o2);
            assert_eq!(o1.map(f32::to_bits), o2.map(f32::to_bits));
        }
        // All zero, and too long to skip (the dense fallback).
        let m: Matrix<5, 16> = random_matrix(&mut rng);
        let (mut o1, mut o2) = ([0.0; 5], [0.0; 5]);
        matvec_rowwise(&m, &[0.0; 16], &[0.5; 5], &mut o1);
        matvec_blocked(&m, &[0.0; 16], &[0.5; 5], &mut o2);
        assert_eq!(o1.map(f32::to_bits), o2.map(f32::to_bits));
        let m: Matrix<4, 2100> = random_matrix(&mut rng);
        let x: [f32; 2100] = sparse_vector(&mut rng);
        let (mut o1, mut o2) = ([0.0; 4], [0.0; 4]);
        matvec_rowwise(&m, &x, &[0.0; 4], &mut o1);
        matvec_blocked(&m, &x, &[0.0; 4], &mut o2);
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

    #[test]
    fn transposed_product_by_eight_and_by_four_give_sequential_bits_for_any_active_count() {
        let mut rng = SplitMix64::new(31);
        let m: Matrix<24, 37> = random_matrix(&mut rng);
        let start: [f32; 37] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
        for active_rows in 0..=24 {
            // `active_rows` nonzero gains, spread over the rows, the others ±0.
            let v: [f32; 24] = core::array::from_fn(|r| {
                if (r * 7) % 24 < active_rows { rng.uniform(-1.0, 1.0) } else { -0.0 }
            });
            let mut sequential = start;
            for (row, g) in m.iter().zip(v) {
                for (o, w) in sequential.iter_mut().zip(row) {
                    *o += g * w;
                }
            }
            let active = || m.iter().zip(&v).filter(|&(_, &g)| g != 0.0);
            let (mut by8, mut by4, mut public) = (start, start, start);
            transposed_acc_by8(active(), &mut by8);
            transposed_acc_by4(active(), &mut by4);
            matvec_transposed_acc(&m, &v, &mut public);
            let want = sequential.map(f32::to_bits);
            assert_eq!(by8.map(f32::to_bits), want, "by 8, {active_rows} active");
            assert_eq!(by4.map(f32::to_bits), want, "by 4, {active_rows} active");
            assert_eq!(public.map(f32::to_bits), want, "{active_rows} active");
        }
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
