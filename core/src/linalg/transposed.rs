//! Transposed matrix-vector products `out += Mᵀ v`, for one vector or a batch.
//!
//! `out[c] += Σ_r v[r]·m[r][c]` adds the scaled rows in increasing row order `r`, one
//! rounded product at a time (`o = (…((o + v₀w₀) + v₁w₁) …)`), and skips the rows whose
//! `v[r]` is zero — after a ReLU, about half of them. Skipping is exact: adding `±0` to a sum
//! that started at `+0` never changes it. However the loops are blocked, every element
//! receives exactly that sequence of additions, so the result is the same bits on every
//! target (tested against the one-row-at-a-time loop).

use super::Matrix;
use super::reduce::LANES;

/// Chunks of [`LANES`] columns whose sums stay in registers while every active row is added
/// to them: 12 with AVX's sixteen 8-float registers (the sums, the row's gain and a
/// product; 12 rather than 8 spreads each row's loop overhead over more chunks, 2% fewer
/// instructions per gradient), 4 with 16-byte registers (two per chunk). On the Cortex-M4F
/// the rows are taken four at a time instead (see [`matvec_transposed_acc`]).
pub const BLOCK_CHUNKS: usize = if cfg!(target_feature = "avx") { 12 } else { 4 };

/// `out[c] += Σ_r v[r]·m[r][c]` in the order of the [module docs](self).
///
/// With AVX the columns are taken [`BLOCK_CHUNKS`] chunks at a time and the block's sums
/// stay in registers while every active row is added, so `out` is read and written once
/// and each weight is loaded once. With 16-byte vector registers eight active rows are
/// added per pass over `out`, `o = (…((o + v₀w₀) + v₁w₁) … + v₇w₇)`, and on the Cortex-M4F
/// four — the same order, with an eighth or a quarter of the loads and stores of `out`.
#[inline]
pub fn matvec_transposed_acc<const R: usize, const C: usize>(
    m: &Matrix<R, C>,
    v: &[f32; R],
    out: &mut [f32; C],
) {
    let active = m.iter().map(|row| &row[..]).zip(v).filter(|&(_, &g)| g != 0.0);
    if cfg!(target_arch = "arm") {
        transposed_acc_by4(active, out);
    } else if cfg!(target_feature = "avx") {
        transposed_acc_blocked(m, [v], [out], Start::Out);
    } else {
        // With 16-byte registers the column blocks are too narrow to pay for themselves:
        // eight rows per pass over `out` is ~10% faster there.
        transposed_acc_by8(active, out);
    }
}

/// `outs[b] += Mᵀ vs[b]` for a batch of `B` vectors, each the same bits as
/// [`matvec_transposed_acc`].
///
/// On vector targets each block of columns of `M` (`R·`[`BLOCK_CHUNKS`]`·`[`LANES`]
/// floats, 24 KB at 64 rows with AVX) serves every vector while it is in L1, so `M` is read
/// from L2 once per batch rather than once per vector.
#[inline]
pub fn matvec_transposed_acc_batch<const R: usize, const C: usize, const B: usize>(
    m: &Matrix<R, C>,
    vs: [&[f32; R]; B],
    outs: [&mut [f32; C]; B],
) {
    if cfg!(target_arch = "arm") {
        for (v, out) in vs.into_iter().zip(outs) {
            matvec_transposed_acc(m, v, out);
        }
    } else {
        transposed_acc_blocked(m, vs, outs, Start::Out);
    }
}

/// `outs[b] = Mᵀ vs[b]`: the bits of zeroing each `outs[b]` and then
/// [`matvec_transposed_acc_batch`], without the separate pass that zeroes them where the
/// columns are blocked.
#[inline]
pub(crate) fn matvec_transposed_batch<const R: usize, const C: usize, const B: usize>(
    m: &Matrix<R, C>,
    vs: [&[f32; R]; B],
    outs: [&mut [f32; C]; B],
) {
    // The paths that take one vector at a time (see `matvec_transposed_acc`) add rows to
    // all of `out` in each pass, so it is zeroed first.
    if cfg!(target_arch = "arm") || (B == 1 && !cfg!(target_feature = "avx")) {
        for (v, out) in vs.into_iter().zip(outs) {
            out.fill(0.0);
            matvec_transposed_acc(m, v, out);
        }
    } else {
        transposed_acc_blocked(m, vs, outs, Start::Zero);
    }
}

/// The rows of a transposed product that contribute (`v[r] ≠ 0`), in increasing order,
/// with their gains: at most `CAP` of them.
///
/// The rows are kept as references rather than indices: the inner loops then need neither
/// a bounds check nor a multiplication to find a row.
pub(crate) struct ActiveRows<'m, const CAP: usize> {
    rows: [&'m [f32]; CAP],
    gains: [f32; CAP],
    pub(crate) len: usize,
}

impl<'m, const CAP: usize> ActiveRows<'m, CAP> {
    /// The active rows of `m` for `v` (all of them: `m` has `CAP` rows).
    pub(crate) fn of<const C: usize>(m: &'m Matrix<CAP, C>, v: &'m [f32; CAP]) -> Self {
        let mut rows = m.iter().map(|row| &row[..]).zip(v);
        Self::next(&mut rows)
    }

    /// The next (up to) `CAP` active rows of `rows`, which is left after the last row taken.
    pub(crate) fn next(rows: &mut impl Iterator<Item = (&'m [f32], &'m f32)>) -> Self {
        let (mut active, mut gains, mut len) = ([&[][..]; CAP], [0.0; CAP], 0);
        // Written unconditionally and kept by counting, without a branch on `g`: which
        // units are active changes from input to input, and a branch on it would be
        // mispredicted for about a quarter of the rows. (`len` is a local so that it stays
        // in a register.)
        for (row, &g) in rows {
            if let (Some(slot), Some(gain)) = (active.get_mut(len), gains.get_mut(len)) {
                *slot = row;
                *gain = g;
            }
            len += usize::from(g != 0.0);
            if len == CAP {
                break;
            }
        }
        Self { rows: active, gains, len }
    }

    /// The active rows numbered `range` (clipped to those there are), with their gains.
    fn iter(&self, range: core::ops::Range<usize>) -> impl Iterator<Item = (&'m [f32], f32)> + '_ {
        let end = range.end.min(self.len);
        let rows = self.rows.get(range.start..end).unwrap_or(&[]);
        let gains = self.gains.get(range.start..end).unwrap_or(&[]);
        rows.iter().copied().zip(gains.iter().copied())
    }
}

/// Active rows added per pass over the columns of one vector: a pass reads that many rows
/// of `M` side by side, and more streams than this defeat the hardware prefetcher when `M`
/// comes from L2.
const GROUP_ROWS: usize = 8;

/// What the sums of a transposed product start from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// The values already in `out` (`out += Mᵀ v`).
    Out,
    /// Zero (`out = Mᵀ v`): the same additions as zeroing `out` first, without the pass
    /// that zeroes it and the loads that read the zeros back.
    Zero,
}

/// `outs[b] += Mᵀ vs[b]` a block of columns at a time (see [`matvec_transposed_acc_batch`]).
///
/// One vector adds its active rows [`GROUP_ROWS`] per pass over the columns, which streams
/// those rows of `M` from L2 in order. A batch takes the columns block by block instead,
/// each block serving every vector (all its active rows at once) while it is in L1.
#[inline]
fn transposed_acc_blocked<const R: usize, const C: usize, const B: usize>(
    m: &Matrix<R, C>,
    vs: [&[f32; R]; B],
    mut outs: [&mut [f32; C]; B],
    start: Start,
) {
    if let (1, Some(v), Some(out)) = (B, vs.first(), outs.first_mut()) {
        return transposed_grouped(m.iter().map(|row| &row[..]).zip(*v), &mut out[..], start);
    }
    let active = vs.map(|v| ActiveRows::of(m, v));
    let blocks = C / LANES / BLOCK_CHUNKS;
    for block in 0..blocks {
        let first = block * BLOCK_CHUNKS;
        for (out, v) in outs.iter_mut().zip(&active) {
            add_rows_to_block(v, first, &mut out[..], start);
        }
    }
    for (out, v) in outs.iter_mut().zip(&active) {
        add_rows_to_columns(v, 0..v.len, blocks * BLOCK_CHUNKS..C / LANES, &mut out[..], start);
        add_rows_to_tail(v, 0..v.len, &mut out[..], start);
    }
}

/// `out = Σ g·row` (or `+=`, with [`Start::Out`]) over the `(row, g)` pairs of `rows` (each
/// row as long as `out`) whose `g ≠ 0`: [`GROUP_ROWS`] active rows per pass over the columns,
/// the columns [`BLOCK_CHUNKS`] chunks at a time with their sums in registers.
#[inline]
fn transposed_grouped<'m>(
    mut rows: impl Iterator<Item = (&'m [f32], &'m f32)>,
    out: &mut [f32],
    mut start: Start,
) {
    let chunks = out.len() / LANES;
    loop {
        let group = ActiveRows::<GROUP_ROWS>::next(&mut rows);
        // At least one pass, so that `Start::Zero` zeroes `out` even with no active row.
        if group.len == 0 && start == Start::Out {
            return;
        }
        add_rows_to_columns(&group, 0..group.len, 0..chunks, out, start);
        add_rows_to_tail(&group, 0..group.len, out, start);
        start = Start::Out;
        if group.len < GROUP_ROWS {
            return;
        }
    }
}

/// `out = Wᵀ v` for a row-major `W` of `v.len()` rows of `out.len()` columns, sizes known
/// at run time: the bits of [`matvec_transposed_batch`] with one vector, by the same loops
/// on each target.
pub(crate) fn matvec_transposed_slice(weight: &[f32], v: &[f32], out: &mut [f32]) {
    let rows = weight.chunks_exact(out.len().max(1)).zip(v);
    if cfg!(target_feature = "avx") && !cfg!(target_arch = "arm") {
        transposed_grouped(rows, out, Start::Zero);
        return;
    }
    out.fill(0.0);
    let active = rows.filter(|&(_, &g)| g != 0.0);
    if cfg!(target_arch = "arm") {
        transposed_acc_by4(active, out);
    } else {
        transposed_acc_by8(active, out);
    }
}

/// `out[c] += Σ v·m[r][c]` (or `=`, with [`Start::Zero`]) over the active rows numbered
/// `rows` (positions in `active`) and the columns of the whole chunks `chunks`.
pub(crate) fn add_rows_to_columns<const CAP: usize>(
    active: &ActiveRows<'_, CAP>,
    rows: core::ops::Range<usize>,
    chunks: core::ops::Range<usize>,
    out: &mut [f32],
    start: Start,
) {
    let mut first = chunks.start;
    while first + BLOCK_CHUNKS <= chunks.end {
        add_rows_to_chunk_block::<CAP, BLOCK_CHUNKS>(active, rows.clone(), first, out, start);
        first += BLOCK_CHUNKS;
    }
    // The chunks left (fewer than a block) in narrower blocks, each one pass over the rows
    // with its sums in registers: chunk by chunk, the 8 chunks of `W₂ᵀ` at 64 hidden units
    // took twice the instructions.
    for width in [8, 4, 2, 1] {
        if width < BLOCK_CHUNKS && first + width <= chunks.end {
            let rows = rows.clone();
            match width {
                8 => add_rows_to_chunk_block::<CAP, 8>(active, rows, first, out, start),
                4 => add_rows_to_chunk_block::<CAP, 4>(active, rows, first, out, start),
                2 => add_rows_to_chunk_block::<CAP, 2>(active, rows, first, out, start),
                _ => add_rows_to_chunk_block::<CAP, 1>(active, rows, first, out, start),
            }
            first += width;
        }
    }
}

/// [`add_active_rows`] over the `W` chunks of `out` from chunk `first` on (nothing if `out`
/// does not have them all).
#[inline]
fn add_rows_to_chunk_block<const CAP: usize, const W: usize>(
    active: &ActiveRows<'_, CAP>,
    rows: core::ops::Range<usize>,
    first: usize,
    out: &mut [f32],
    start: Start,
) {
    let block = out.as_chunks_mut::<LANES>().0.get_mut(first..first + W);
    if let Some(Ok(sums)) = block.map(<&mut [[f32; LANES]; W]>::try_from) {
        add_active_rows(active, rows, first, sums, start);
    }
}

/// [`add_rows_to_columns`] over every active row and the one block of [`BLOCK_CHUNKS`]
/// chunks from chunk `first` (nothing if `out` does not have them all), in a function of
/// its own.
///
/// A batch calls this once per block and vector. Out of line it is compiled once, with
/// its sums in registers, whatever the batch size: inlined into the batch loop, LLVM kept
/// the sums of a batch of 4 in memory (4.4× the instructions). It skips the set-up of
/// `add_rows_to_columns` for leftover chunks (~4% of the batch's instructions).
#[inline(never)]
fn add_rows_to_block<const CAP: usize>(
    active: &ActiveRows<'_, CAP>,
    first: usize,
    out: &mut [f32],
    start: Start,
) {
    add_rows_to_chunk_block::<CAP, BLOCK_CHUNKS>(active, 0..active.len, first, out, start);
}

/// `out[c] += Σ v·m[r][c]` (or `=`, with [`Start::Zero`]) over the active rows numbered
/// `rows` and the columns after the last whole chunk.
pub(crate) fn add_rows_to_tail<const CAP: usize>(
    active: &ActiveRows<'_, CAP>,
    rows: core::ops::Range<usize>,
    out: &mut [f32],
    start: Start,
) {
    let (out_chunks, out_tail) = out.as_chunks_mut::<LANES>();
    if start == Start::Zero {
        out_tail.fill(0.0);
    }
    let done = out_chunks.len() * LANES;
    for (row, g) in active.iter(rows) {
        let row_tail = row.get(done..).unwrap_or(&[]);
        for (o, w) in out_tail.iter_mut().zip(row_tail) {
            *o += g * w;
        }
    }
}

/// `sums += Σ g·m[r][chunks first..first+W]` (or `=`, with [`Start::Zero`]) over the
/// active rows numbered `rows`, row by row in increasing order, with the `W` chunks of sums
/// held in registers throughout.
#[inline]
fn add_active_rows<const CAP: usize, const W: usize>(
    active: &ActiveRows<'_, CAP>,
    rows: core::ops::Range<usize>,
    first: usize,
    sums: &mut [[f32; LANES]; W],
    start: Start,
) {
    let mut acc = match start {
        Start::Out => *sums,
        Start::Zero => [[0.0; LANES]; W],
    };
    for (row, g) in active.iter(rows) {
        let Some(weights) = row.as_chunks::<LANES>().0.get(first..first + W) else {
            continue;
        };
        // One flat loop over the block (its chunks are consecutive in the row): nested
        // per chunk and lane, LLVM vectorised it across chunks with gathers and scatters
        // when AVX-512 was enabled (`-C target-cpu=native` on such a CPU), ten times slower.
        for (a, w) in acc.as_flattened_mut().iter_mut().zip(weights.as_flattened()) {
            *a += g * w;
        }
    }
    *sums = acc;
}

/// `out[c] += Σ g·row[c]` over the `(row, g)` pairs of `active` in order (rows as long as
/// `out`, the active ones of a matrix of any shape): eight rows per pass over `out`, then
/// the remaining ones by [`transposed_acc_by4`] — the order of one row at a time.
#[inline]
pub(crate) fn transposed_acc_by8<'m>(
    mut active: impl Iterator<Item = (&'m [f32], &'m f32)>,
    out: &mut [f32],
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

/// `y ← y + a·x` over the elements both have (as [`add_scaled`](super::add_scaled)).
#[inline]
fn add_scaled_slice(y: &mut [f32], a: f32, x: &[f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Four active rows per pass over `out`, then the remaining ones one at a time.
#[inline]
pub(crate) fn transposed_acc_by4<'m>(
    mut active: impl Iterator<Item = (&'m [f32], &'m f32)>,
    out: &mut [f32],
) {
    loop {
        let Some((r0, &g0)) = active.next() else {
            return;
        };
        let Some((r1, &g1)) = active.next() else {
            add_scaled_slice(out, g0, r0);
            return;
        };
        let Some((r2, &g2)) = active.next() else {
            add_scaled_slice(out, g0, r0);
            add_scaled_slice(out, g1, r1);
            return;
        };
        let Some((r3, &g3)) = active.next() else {
            add_scaled_slice(out, g0, r0);
            add_scaled_slice(out, g1, r1);
            add_scaled_slice(out, g2, r2);
            return;
        };
        add_scaled4(out, [r0, r1, r2, r3], [g0, g1, g2, g3]);
    }
}

/// `o = (((o + g₀w₀) + g₁w₁) + g₂w₂) + g₃w₃` for every element of `out`.
#[inline]
fn add_scaled4(out: &mut [f32], rows: [&[f32]; 4], gains: [f32; 4]) {
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

    /// `out += Mᵀ v` one row at a time, every row (the definition of the order).
    fn sequential<const R: usize, const C: usize>(
        m: &Matrix<R, C>,
        v: &[f32; R],
        start: [f32; C],
    ) -> [f32; C] {
        let mut out = start;
        for (row, g) in m.iter().zip(v) {
            for (o, w) in out.iter_mut().zip(row) {
                *o += g * w;
            }
        }
        out
    }

    /// Gains with `active` nonzero entries spread over the rows, the others `±0`.
    fn gains<const R: usize>(rng: &mut SplitMix64, active: usize) -> [f32; R] {
        core::array::from_fn(|r| {
            if (r * 7) % R < active {
                rng.uniform(-1.0, 1.0)
            } else if r % 2 == 0 {
                0.0
            } else {
                -0.0
            }
        })
    }

    #[test]
    fn every_path_gives_the_sequential_bits_for_any_active_count() {
        let mut rng = SplitMix64::new(31);
        // 24 rows; 157 columns = 19 whole chunks (a block of 12 and 7 leftover chunks with
        // AVX) and a tail of 5.
        let m: Matrix<24, 157> = random_matrix(&mut rng);
        let start: [f32; 157] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
        for active_rows in 0..=24 {
            let v: [f32; 24] = gains(&mut rng, active_rows);
            let want = sequential(&m, &v, start).map(f32::to_bits);
            let active = || m.iter().map(|r| &r[..]).zip(&v).filter(|&(_, &g)| g != 0.0);
            let (mut by4, mut by8, mut blocked, mut public) = (start, start, start, start);
            transposed_acc_by4(active(), &mut by4);
            transposed_acc_by8(active(), &mut by8);
            transposed_acc_blocked(&m, [&v], [&mut blocked], Start::Out);
            matvec_transposed_acc(&m, &v, &mut public);
            // From zero, whatever `out` held before (also with no active row at all).
            let mut from_zero = start;
            matvec_transposed_batch(&m, [&v], [&mut from_zero]);
            let want_from_zero = sequential(&m, &v, [0.0; 157]).map(f32::to_bits);
            assert_eq!(from_zero.map(f32::to_bits), want_from_zero, "{active_rows} active, = Mᵀv");
            assert_eq!(by4.map(f32::to_bits), want, "by 4, {active_rows} active");
            assert_eq!(by8.map(f32::to_bits), want, "by 8, {active_rows} active");
            assert_eq!(blocked.map(f32::to_bits), want, "blocked, {active_rows} active");
            assert_eq!(public.map(f32::to_bits), want, "{active_rows} active");
        }
    }

    #[test]
    fn batch_gives_each_vector_the_sequential_bits() {
        fn check<const C: usize>(seed: u64) {
            let mut rng = SplitMix64::new(seed);
            let m: Matrix<13, C> = random_matrix(&mut rng);
            let vs: [[f32; 13]; 3] = core::array::from_fn(|b| gains(&mut rng, 6 * b));
            let starts: [[f32; C]; 3] =
                core::array::from_fn(|_| core::array::from_fn(|_| rng.uniform(-1.0, 1.0)));
            let mut outs = starts;
            matvec_transposed_acc_batch(&m, vs.each_ref(), outs.each_mut());
            let mut from_zero = starts;
            matvec_transposed_batch(&m, vs.each_ref(), from_zero.each_mut());
            for b in 0..3 {
                let want = sequential(&m, &vs[b], starts[b]).map(f32::to_bits);
                assert_eq!(outs[b].map(f32::to_bits), want, "{C} columns, vector {b}");
                let want = sequential(&m, &vs[b], [0.0; C]).map(f32::to_bits);
                assert_eq!(from_zero[b].map(f32::to_bits), want, "{C} columns, vector {b}, =");
            }
        }
        // Whole chunks: 25 (blocks and a leftover chunk), 24 (whole blocks only, of 12 with
        // AVX or of 4 without), 20 (with AVX a block and a narrow block of 8), 0; tails of
        // 3, 5, 1 and 6. (`every_path_…` has narrow blocks of 4, 2 and 1.)
        check::<203>(5);
        check::<197>(6);
        check::<161>(8);
        check::<6>(7);
    }

    #[test]
    fn small_known_product() {
        let m: Matrix<2, 3> = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let mut back = [1.0; 3];
        matvec_transposed_acc(&m, &[1.0, 2.0], &mut back);
        assert_eq!(back, [10.0, 13.0, 16.0]);
    }
}
