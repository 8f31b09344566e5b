//! Matrix-vector products `out = M x + b`, for one input or a batch.
//!
//! Every row of `M x` is a [`dot`](super::dot) in the order documented in the
//! [parent module](super), however the rows are blocked.

use super::Matrix;
use super::reduce::{LANES, combine_lanes, combine_lanes_of_rows, dot_lanes};
use super::transposed::BLOCK_CHUNKS;

/// `out[r] = dot(m[r], x) + bias[r]` for every row `r`.
///
/// On targets with wide vector registers, rows are processed [`BLOCK_ROWS`] at a time so
/// that each load of `x` serves that many rows and that many independent sums are in
/// flight, and the chunks of [`LANES`] elements of `x` that are all zero are skipped (an
/// MNIST digit is ~60% such chunks, so the first layer reads ~40% of `W₁`). Every row's sum
/// is still accumulated exactly as in [`dot`](super::dot): a skipped chunk would add one
/// product `±0` to each lane, and a lane (which starts at `+0`, so is never `−0`) is
/// unchanged by adding `±0`. So for finite `m` the result is the same bits as the
/// row-by-row loop (tested). (`0·∞` is NaN: with a non-finite weight in a skipped column
/// the dense loop gives NaN and this one may not; models built with
/// `from_bytes`/`from_parts` reject non-finite weights.)
#[inline]
pub fn matvec<const R: usize, const C: usize>(
    m: &Matrix<R, C>,
    x: &[f32; C],
    bias: &[f32; R],
    out: &mut [f32; R],
) {
    // Several rows × LANES accumulators need many registers: right for x86_64/aarch64
    // vector registers, too many for the Cortex-M4F's 32 single-precision registers, where
    // the spills would cost more than the shared loads save.
    if cfg!(target_arch = "arm") {
        matvec_rowwise(m, x, bias, out);
    } else {
        matvec_blocked(m, [x], bias, [out]);
    }
}

/// Rows per block of [`matvec`] and [`matvec_batch`]: with AVX's sixteen 8-float registers, 8 rows' sums
/// plus `x` and a product fit, and 8 independent additions per chunk hide the adder's
/// latency; with 16-byte registers (two per lane group) 4 rows are the most that fit.
pub const BLOCK_ROWS: usize = if cfg!(target_feature = "avx") { 8 } else { 4 };

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

/// `outs[b] = M xs[b] + bias`, [`BLOCK_ROWS`] rows at a time, skipping all-zero chunks of
/// each input; the same bits as [`matvec_rowwise`] (see [`matvec`]).
///
/// Each block of rows serves every input while it is in L1, so with `B > 1` the matrix is
/// read from L2 once per batch rather than once per input.
#[inline]
pub(crate) fn matvec_blocked<const R: usize, const C: usize, const B: usize>(
    m: &Matrix<R, C>,
    xs: [&[f32; C]; B],
    bias: &[f32; R],
    mut outs: [&mut [f32; R]; B],
) {
    let chunks = xs.map(|x| NonzeroChunks::of(x));
    let (row_blocks, row_tail) = m.as_chunks::<BLOCK_ROWS>();
    let (bias_blocks, bias_tail) = bias.as_chunks::<BLOCK_ROWS>();
    for (k, (rows, b)) in row_blocks.iter().zip(bias_blocks).enumerate() {
        for ((x, out), chunks) in xs.iter().zip(outs.iter_mut()).zip(&chunks) {
            if let Some(o) = out.as_chunks_mut::<BLOCK_ROWS>().0.get_mut(k) {
                chunks.dot_rows_plus_bias(rows, x, b, o);
            }
        }
    }
    let done = row_blocks.len() * BLOCK_ROWS;
    for (&x, out) in xs.iter().zip(outs.iter_mut()) {
        let out_tail = out.get_mut(done..).unwrap_or(&mut []);
        for ((o, row), b) in out_tail.iter_mut().zip(row_tail).zip(bias_tail) {
            *o = combine_lanes(dot_lanes(row, x)) + b;
        }
    }
}

/// `outs[b] = M xs[b] + bias` for a batch of `B` inputs, each the same bits as [`matvec`].
///
/// On vector targets the rows are taken [`BLOCK_ROWS`] at a time and each block serves
/// every input while it is in L1, so `M` is read from L2 once per batch rather than once
/// per input.
#[inline]
pub fn matvec_batch<const R: usize, const C: usize, const B: usize>(
    m: &Matrix<R, C>,
    xs: [&[f32; C]; B],
    bias: &[f32; R],
    outs: [&mut [f32; R]; B],
) {
    if cfg!(target_arch = "arm") {
        // No cache to reuse on a microcontroller: one input at a time.
        for (x, out) in xs.into_iter().zip(outs) {
            matvec_rowwise(m, x, bias, out);
        }
    } else {
        matvec_blocked(m, xs, bias, outs);
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
    fn of(x: &[f32]) -> Self {
        let (xc, _) = x.as_chunks::<LANES>();
        let mut indices = [0u8; MAX_SKIP_CHUNKS];
        let mut len = 0;
        if xc.len() <= MAX_SKIP_CHUNKS {
            for (k, chunk) in xc.iter().enumerate() {
                // Branch-free: which chunks are zero changes from image to image, so a
                // branch on it would be mispredicted about once per image row. The index is
                // written unconditionally and kept by counting it; `len < k + 1 ≤
                // MAX_SKIP_CHUNKS` here, so the modulo never changes the slot and only tells
                // the compiler that no bounds check is needed.
                if let Some(slot) = indices.get_mut(len % MAX_SKIP_CHUNKS) {
                    *slot = k as u8;
                }
                len += usize::from(nonzero_lanes(chunk) != 0);
            }
        }
        // Skipping pays when at least ~1/8 of the chunks are zero; otherwise the plain loop
        // is faster (both give the same bits).
        let sparse = xc.len() <= MAX_SKIP_CHUNKS && len * 8 <= xc.len() * 7;
        Self { indices, len, chunks: xc.len(), sparse }
    }

    /// `o[i] = dot(rows[i], x) + b[i]` for a block of rows, over the nonzero chunks.
    #[inline]
    fn dot_rows_plus_bias<const N: usize, const C: usize>(
        &self,
        rows: &[[f32; C]; N],
        x: &[f32; C],
        b: &[f32; N],
        o: &mut [f32; N],
    ) {
        let sums = if self.sparse {
            let listed = self.indices.get(..self.len).unwrap_or(&[]);
            dot_rows(rows, x, listed.iter().map(|&k| usize::from(k)))
        } else {
            dot_rows(rows, x, 0..self.chunks)
        };
        for ((o, s), b) in o.iter_mut().zip(sums).zip(b) {
            *o = s + b;
        }
    }
}

/// `out[r] = dot(W[r], x) + bias[r]` for a row-major `W` of `out.len()` rows of `x.len()`
/// columns: [`matvec`] for sizes known only at run time, with the same blocking and zero-chunk
/// skipping and so the same bits (tested). Rows beyond `weight` or `bias` are left as they are.
pub(crate) fn matvec_slice(weight: &[f32], x: &[f32], bias: &[f32], out: &mut [f32]) {
    let n = x.len();
    let row = |r: usize| weight.get(r * n..(r + 1) * n);
    if cfg!(target_arch = "arm") {
        for (r, (o, b)) in out.iter_mut().zip(bias).enumerate() {
            if let Some(w) = row(r) {
                *o = combine_lanes(dot_lanes(w, x)) + b;
            }
        }
        return;
    }
    let chunks = NonzeroChunks::of(x);
    for (k, (o, b)) in out.chunks_mut(BLOCK_ROWS).zip(bias.chunks(BLOCK_ROWS)).enumerate() {
        let first = k * BLOCK_ROWS;
        let block: [Option<&[f32]>; BLOCK_ROWS] = core::array::from_fn(|i| row(first + i));
        if let (Ok(o), Ok(b), true) = (
            <&mut [f32; BLOCK_ROWS]>::try_from(&mut *o),
            <&[f32; BLOCK_ROWS]>::try_from(b),
            block.iter().all(Option::is_some),
        ) {
            let rows = block.map(|r| r.unwrap_or(&[]));
            for ((o, s), b) in o.iter_mut().zip(chunks.dot_slices(rows, x)).zip(b) {
                *o = s + b;
            }
        } else {
            for ((o, b), r) in o.iter_mut().zip(b).zip(block) {
                if let Some(r) = r {
                    let [s] = chunks.dot_slices([r], x);
                    *o = s + b;
                }
            }
        }
    }
}

impl NonzeroChunks {
    /// `N` dot products of rows (each as long as `x`) with `x`, over the nonzero chunks, in
    /// [`dot`](super::dot)'s order.
    #[inline]
    fn dot_slices<const N: usize>(&self, rows: [&[f32]; N], x: &[f32]) -> [f32; N] {
        let (xc, xt) = x.as_chunks::<LANES>();
        // Every row cut to exactly `xc.len()` chunks (the function returns otherwise), so
        // that the inner loop's one bounds check on `x` covers the rows too: with a check
        // per row, the loop took 1.7x the instructions.
        let mut row_chunks: [&[[f32; LANES]]; N] = [&[]; N];
        let mut row_tails: [&[f32]; N] = [&[]; N];
        for ((chunks, tail), row) in row_chunks.iter_mut().zip(&mut row_tails).zip(rows) {
            let (c, t) = row.as_chunks::<LANES>();
            let Some(c) = c.get(..xc.len()) else {
                return [f32::NAN; N];
            };
            (*chunks, *tail) = (c, t);
        }
        let mut acc = [[0.0f32; LANES]; N];
        if self.sparse {
            let listed = self.indices.get(..self.len).unwrap_or(&[]);
            accumulate_chunks(row_chunks, xc, listed.iter().map(|&k| usize::from(k)), &mut acc);
        } else {
            accumulate_chunks(row_chunks, xc, 0..self.chunks, &mut acc);
        }
        for (a, tail) in acc.iter_mut().zip(row_tails) {
            for ((lane, w), xk) in a.iter_mut().zip(tail).zip(xt) {
                *lane += w * xk;
            }
        }
        combine_lanes_of_rows(acc)
    }
}

/// A bit per lane of `chunk`, set where the value is not `±0`.
///
/// Written as a bit mask (not `any`) because that is the form LLVM turns into one vector
/// compare and a mask test (`vcmpneqps` + `vtestps` with AVX): a fold of `bool`s came out as a
/// chain of ~20 shuffles per chunk.
#[inline]
fn nonzero_lanes(chunk: &[f32; LANES]) -> u32 {
    chunk.iter().enumerate().fold(0, |mask, (l, &v)| mask | (u32::from(v != 0.0) << l))
}

/// `N` dot products against the same `x`, each in [`dot`](super::dot)'s order, over the
/// whole chunks listed in `chunks` (increasing; unlisted chunks of `x` must be all zero)
/// and then the tail.
#[inline]
fn dot_rows<const N: usize, const C: usize>(
    rows: &[[f32; C]; N],
    x: &[f32; C],
    chunks: impl Iterator<Item = usize>,
) -> [f32; N] {
    let mut acc = [[0.0f32; LANES]; N];
    accumulate_chunks(chunks_of(rows), x.as_chunks::<LANES>().0, chunks, &mut acc);
    accumulate_tail(rows, x, &mut acc);
    combine_lanes_of_rows(acc)
}

/// The whole chunks of each of `rows`.
#[inline]
fn chunks_of<const N: usize, const C: usize>(rows: &[[f32; C]; N]) -> [&[[f32; LANES]]; N] {
    rows.each_ref().map(|row| row.as_chunks::<LANES>().0)
}

/// Adds the products of the whole chunks `chunks` (increasing) of each row and `x` to that
/// row's lane sums: element `i` to lane `i % LANES`, as in [`dot`](super::dot).
#[inline]
fn accumulate_chunks<const N: usize>(
    row_chunks: [&[[f32; LANES]]; N],
    xc: &[[f32; LANES]],
    chunks: impl Iterator<Item = usize>,
    acc: &mut [[f32; LANES]; N],
) {
    // A local copy, so that the sums stay in registers.
    let mut sums = *acc;
    for k in chunks {
        // Every listed chunk is in range and every row has as many chunks as `x`, so these
        // never stop the loop; `break` rather than `continue` keeps the loop to one branch.
        let Some(xk) = xc.get(k) else {
            break;
        };
        for (a, row) in sums.iter_mut().zip(&row_chunks) {
            let Some(w) = row.get(k) else {
                break;
            };
            for l in 0..LANES {
                a[l] += w[l] * xk[l];
            }
        }
    }
    *acc = sums;
}

/// Adds the products of the elements after the last whole chunk to the lane sums, the
/// last step of [`dot`](super::dot).
#[inline]
pub(crate) fn accumulate_tail<const N: usize, const C: usize>(
    rows: &[[f32; C]; N],
    x: &[f32; C],
    acc: &mut [[f32; LANES]; N],
) {
    accumulate_tail_slice(rows.as_flattened(), x, acc);
}

/// Lane sums of `M x`, one block of columns at a time: adds the products of the whole
/// chunks `chunks` of every row and `x` to `acc` (zero chunks of `x` skipped, exactly as in
/// [`matvec`]). After every chunk has been added, in increasing order, and then
/// [`accumulate_tail`], `combine_lanes(acc[r]) + bias[r]` is the bits of
/// [`matvec`]'s `out[r]`.
#[inline]
pub(crate) fn accumulate_columns<const R: usize, const C: usize>(
    m: &Matrix<R, C>,
    x: &[f32; C],
    chunks: core::ops::Range<usize>,
    acc: &mut [[f32; LANES]; R],
) {
    accumulate_columns_slice(m.as_flattened(), x, chunks, acc);
}

/// [`accumulate_columns`] for a row-major `weight` of `acc.len()` rows of `x.len()` columns,
/// sizes known at run time.
#[inline]
pub(crate) fn accumulate_columns_slice(
    weight: &[f32],
    x: &[f32],
    chunks: core::ops::Range<usize>,
    acc: &mut [[f32; LANES]],
) {
    let xc = x.as_chunks::<LANES>().0;
    let mut rows = weight.chunks_exact(x.len().max(1)).map(|row| row.as_chunks::<LANES>().0);
    let (acc_blocks, acc_tail) = acc.as_chunks_mut::<BLOCK_ROWS>();
    let block = xc.get(chunks.clone()).map(<&[[f32; LANES]; BLOCK_CHUNKS]>::try_from);
    // A whole block with AVX: fixed-size loops, no bounds checks in the inner loop. (With
    // 16-byte registers LLVM unrolls the fixed-size loops into scalar code; the plain loop
    // vectorises.)
    if let (true, Some(Ok(x_block))) = (cfg!(target_feature = "avx"), block) {
        for a in acc_blocks {
            let weights = core::array::from_fn(|_| {
                rows.next()
                    .and_then(|row| row.get(chunks.clone()))
                    .and_then(|w| w.try_into().ok())
                    .unwrap_or(&[[0.0; LANES]; BLOCK_CHUNKS])
            });
            accumulate_block(weights, x_block, a);
        }
    } else {
        for a in acc_blocks {
            let block = core::array::from_fn(|_| rows.next().unwrap_or(&[]));
            accumulate_chunks(block, xc, chunks.clone(), a);
        }
    }
    for (a, row) in acc_tail.iter_mut().zip(rows) {
        accumulate_chunks([row], xc, chunks.clone(), core::array::from_mut(a));
    }
}

/// [`accumulate_tail`] for a row-major `weight` of `acc.len()` rows of `x.len()` columns.
pub(crate) fn accumulate_tail_slice(weight: &[f32], x: &[f32], acc: &mut [[f32; LANES]]) {
    let (xc, xt) = x.as_chunks::<LANES>();
    let done = xc.len() * LANES;
    for (a, row) in acc.iter_mut().zip(weight.chunks_exact(x.len().max(1))) {
        let row_tail = row.get(done..).unwrap_or(&[]);
        for ((lane, w), xk) in a.iter_mut().zip(row_tail).zip(xt) {
            *lane += w * xk;
        }
    }
}

/// [`accumulate_chunks`] over one whole block of chunks, with the block's size known.
#[inline]
fn accumulate_block<const N: usize, const W: usize>(
    rows: [&[[f32; LANES]; W]; N],
    x: &[[f32; LANES]; W],
    acc: &mut [[f32; LANES]; N],
) {
    // Row by row, each row's sums in one register across the block (`x`'s block stays in
    // registers). Chunk by chunk with every row's sums live, LLVM vectorised across the
    // rows with gathers when AVX-512 was enabled: four times slower.
    for (a, row) in acc.iter_mut().zip(&rows) {
        let mut sums = *a;
        for (w, xk) in row.iter().zip(x) {
            for l in 0..LANES {
                sums[l] += w[l] * xk[l];
            }
        }
        *a = sums;
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
        matvec_blocked(&m, [&x], &b, [&mut o2]);
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
            matvec_blocked(&m, [&x], &b, [&mut o2]);
            assert_eq!(o1.map(f32::to_bits), o2.map(f32::to_bits));
        }
        // All zero, and too long to skip (the dense fallback).
        let m: Matrix<5, 16> = random_matrix(&mut rng);
        let (mut o1, mut o2) = ([0.0; 5], [0.0; 5]);
        matvec_rowwise(&m, &[0.0; 16], &[0.5; 5], &mut o1);
        matvec_blocked(&m, [&[0.0; 16]], &[0.5; 5], [&mut o2]);
        assert_eq!(o1.map(f32::to_bits), o2.map(f32::to_bits));
        let m: Matrix<4, 2100> = random_matrix(&mut rng);
        let x: [f32; 2100] = sparse_vector(&mut rng);
        let (mut o1, mut o2) = ([0.0; 4], [0.0; 4]);
        matvec_rowwise(&m, &x, &[0.0; 4], &mut o1);
        matvec_blocked(&m, [&x], &[0.0; 4], [&mut o2]);
        assert_eq!(o1.map(f32::to_bits), o2.map(f32::to_bits));
    }

    #[test]
    fn matvec_slice_gives_the_bits_of_matvec_for_every_row_count() {
        let mut rng = SplitMix64::new(41);
        for _ in 0..20 {
            let m: Matrix<13, 803> = random_matrix(&mut rng);
            let x: [f32; 803] = sparse_vector(&mut rng);
            let b: [f32; 13] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
            let mut want = [0.0; 13];
            matvec_rowwise(&m, &x, &b, &mut want);
            // 13 rows: whole blocks and a partial one; also fewer rows than a block.
            for rows in [13, 3] {
                let mut got = [9.0; 13];
                let flat = m.as_flattened().get(..rows * 803).unwrap();
                matvec_slice(flat, &x, &b[..rows], &mut got[..rows]);
                for (g, w) in got[..rows].iter().zip(&want[..rows]) {
                    assert_eq!(g.to_bits(), w.to_bits());
                }
            }
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
    }
}
