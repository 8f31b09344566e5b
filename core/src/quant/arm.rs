//! Cortex-M4/M7 inner loops of the int8 layers with the DSP extension, as CMSIS-NN does
//! them: four int8 weights per 32-bit load, unpacked to two pairs of 16-bit values by
//! `SXTB16` (bytes 0, 2) and `SXTB16 …, ROR #8` (bytes 1, 3), each pair multiplied and
//! added to the int32 accumulator by one `SMLAD` (dual 16 × 16 multiply-accumulate).
//!
//! The other operand, `x − x_zero_point` (in `−255..=255`, so it fits 16 bits), is unpacked
//! once per dense layer, or once per output pixel of a convolution (its receptive field,
//! "im2col"), into a [`Packed`] buffer on the stack whose 32-bit words hold the matching
//! pairs, and then serves every output channel; two channels run at once, sharing its loads.
//!
//! Results are the portable loops' exactly: the products are exact in 32 bits and integer
//! sums do not depend on their order. `SMLAD` wraps on overflow like `wrapping_add` (it
//! only sets the Q flag), as TFLM's int32 accumulator does on the device. The host/firmware
//! test `tests/tests/firmware_int8.rs` checks the logits bit for bit.
#![allow(unsafe_code)]

use super::QuantLayer;
use super::QuantLayerSpec;
use super::dense::requantize;
use super::fixed_point::Rounding;
use super::multiplier::QuantizedMultiplier;

/// Values of `x − x_zero_point` a [`Packed`] buffer holds (2 KiB of stack). Longer dot
/// products (a dense layer of more inputs, a convolution of a larger receptive field) take
/// the portable loops.
pub(super) const PACKED: usize = 1024;

/// Output channels whose multipliers are computed once per convolution (on the stack); a
/// convolution of more channels is done in blocks of this many.
const CHANNEL_BLOCK: usize = 32;

/// `x − x_zero_point` as 16-bit values, each group of four `v₀ v₁ v₂ v₃` stored in the
/// order `v₀ v₂ v₁ v₃`, so that its 32-bit words hold the pairs `(v₀, v₂)`, `(v₁, v₃)` (low
/// half first): the order in which `SXTB16` unpacks four weights. Aligned for `ldrd`.
#[repr(C, align(8))]
struct Packed {
    values: [i16; PACKED],
    /// Values stored.
    len: usize,
}

/// Where value `k` is stored: within a group of four, values 1 and 2 trade places.
#[inline]
fn slot(k: usize) -> usize {
    // Swap bits 0 and 1 (arithmetic, not a table: a table is rebuilt on the stack per call).
    (k & !3) | ((k & 1) << 1) | ((k >> 1) & 1)
}

impl Packed {
    const fn new() -> Self {
        Self { values: [0; PACKED], len: 0 }
    }

    /// Stores `v` (in `−255..=255`) as value `k` (`k < PACKED`).
    #[inline]
    fn set(&mut self, k: usize, v: i32) {
        if let Some(s) = self.values.get_mut(slot(k)) {
            *s = v as i16;
        }
    }

    /// Value `k` back (for the tail that is not a whole group).
    #[inline]
    fn get(&self, k: usize) -> i32 {
        self.values.get(slot(k)).map_or(0, |&v| i32::from(v))
    }
}

/// Whether the DSP loops can take a dot product of `len` values.
pub(super) fn fits(len: usize) -> bool {
    len <= PACKED
}

/// `Σ_k w[k] · x[k]` for rows `w0` and `w1` (each `x.len` long, any alignment) against `x`.
#[inline]
fn dot2(w0: &[i8], w1: &[i8], x: &Packed) -> (i32, i32) {
    let n = x.len.min(w0.len()).min(w1.len());
    let groups = n / 4;
    let (mut acc0, mut acc1) = (0i32, 0i32);
    if groups > 0 && groups * 4 <= x.values.len() {
        // SAFETY: the loop reads `groups` words (4 int8 each) from each of `w0` and `w1`,
        // which hold at least `4·groups` bytes (single-word `ldr`, which the Cortex-M4
        // allows unaligned: a row of a weight matrix starts anywhere), and `2·groups`
        // words from `x.values` (8-byte aligned, `ldrd`), which holds that many (checked above);
        // every register it changes is declared, and it touches no stack and no flags that
        // Rust relies on.
        unsafe {
            core::arch::asm!(
                "2:",
                "ldr {w0}, [{p0}], #4",
                "ldr {w1}, [{p1}], #4",
                "ldrd {a}, {b}, [{px}], #8",
                "sxtb16 {t}, {w0}",
                "smlad {acc0}, {t}, {a}, {acc0}",
                "sxtb16 {t}, {w0}, ror #8",
                "smlad {acc0}, {t}, {b}, {acc0}",
                "sxtb16 {t}, {w1}",
                "smlad {acc1}, {t}, {a}, {acc1}",
                "sxtb16 {t}, {w1}, ror #8",
                "smlad {acc1}, {t}, {b}, {acc1}",
                "subs {n}, {n}, #1",
                "bne 2b",
                p0 = inout(reg) w0.as_ptr() => _,
                p1 = inout(reg) w1.as_ptr() => _,
                px = inout(reg) x.values.as_ptr() => _,
                n = inout(reg) groups => _,
                acc0 = inout(reg) acc0,
                acc1 = inout(reg) acc1,
                w0 = out(reg) _,
                w1 = out(reg) _,
                a = out(reg) _,
                b = out(reg) _,
                t = out(reg) _,
                options(nostack, readonly),
            );
        }
    }
    // The last 0–3 values (the loop above took whole groups only).
    for k in groups * 4..n {
        let v = x.get(k);
        acc0 = acc0.wrapping_add(i32::from(w0.get(k).copied().unwrap_or(0)).wrapping_mul(v));
        acc1 = acc1.wrapping_add(i32::from(w1.get(k).copied().unwrap_or(0)).wrapping_mul(v));
    }
    (acc0, acc1)
}

/// The dense layer of `dense::forward` (same results), for `x.len() ≤ PACKED`.
pub(super) fn dense(layer: &QuantLayer<'_>, rounding: Rounding, x: &[i8], y: &mut [i8]) {
    let n = layer.input.len();
    let x_zero = layer.input_quantization.zero_point;
    let y_zero = layer.output_quantization.zero_point;
    let (lo, hi) = layer.clamp;
    let mut packed = Packed::new();
    for (k, &v) in x.iter().take(n.min(PACKED)).enumerate() {
        packed.set(k, i32::from(v) - x_zero);
    }
    packed.len = n.min(PACKED);
    let row = |o: usize| layer.weight.get(o * n..(o + 1) * n).unwrap_or(&[]);
    let outputs = y.len().min(layer.bias.len());
    let mut o = 0;
    while o < outputs {
        // Two rows at a time; an odd last row is paired with itself.
        let o1 = if o + 1 < outputs { o + 1 } else { o };
        let (s0, s1) = dot2(row(o), row(o1), &packed);
        for (oo, s) in [(o, s0), (o1, s1)] {
            if let (Some(out), Some(&bias)) = (y.get_mut(oo), layer.bias.get(oo)) {
                *out = requantize(
                    layer.multiplier(oo),
                    rounding,
                    s.wrapping_add(bias),
                    y_zero,
                    lo,
                    hi,
                );
            }
        }
        o += 2;
    }
}

/// The convolution of `conv::forward` (same results), for a receptive field
/// `C·KH·KW ≤ PACKED`: each output pixel's field is unpacked once (padded taps as 0, which
/// is what they contribute), then dotted with every filter.
pub(super) fn conv(layer: &QuantLayer<'_>, rounding: Rounding, x: &[i8], y: &mut [i8]) {
    let QuantLayerSpec::Conv2d { window, padding, .. } = layer.spec else { return };
    let (channels, height, width) = (layer.input.channels, layer.input.height, layer.input.width);
    let (out_h, out_w) = (layer.output.height, layer.output.width);
    let ([kh, kw], [sh, sw], [ph, pw]) = (window.kernel, window.stride, padding);
    let x_zero = layer.input_quantization.zero_point;
    let y_zero = layer.output_quantization.zero_point;
    let (lo, hi) = layer.clamp;
    let per_output = channels * kh * kw;
    let pixels = out_h * out_w;
    let filter = |o: usize| layer.weight.get(o * per_output..(o + 1) * per_output).unwrap_or(&[]);
    let outputs = layer.bias.len();
    let mut packed = Packed::new();
    packed.len = per_output.min(PACKED);
    let mut block_start = 0;
    while block_start < outputs {
        let block = (outputs - block_start).min(CHANNEL_BLOCK);
        // The block's multipliers, once (they take soft-float f64 arithmetic).
        let mut multipliers = [QuantizedMultiplier { multiplier: 0, shift: 0 }; CHANNEL_BLOCK];
        for (j, m) in multipliers.iter_mut().take(block).enumerate() {
            *m = layer.multiplier(block_start + j);
        }
        for oy in 0..out_h {
            for ox in 0..out_w {
                // The receptive field, in the filter's order [c][ky][kx]; each input row
                // is found once per kernel row.
                let mut k = 0;
                for plane in x.chunks_exact((height * width).max(1)).take(channels) {
                    for ky in 0..kh {
                        let iy = (oy * sh + ky).wrapping_sub(ph);
                        let row =
                            plane.get(iy.saturating_mul(width)..(iy + 1).saturating_mul(width));
                        for kx in 0..kw {
                            let ix = (ox * sw + kx).wrapping_sub(pw);
                            // Padding (outside the row or the plane) is a real 0, whose
                            // x − x_zero_point is 0.
                            let v =
                                row.and_then(|r| r.get(ix)).map_or(0, |&v| i32::from(v) - x_zero);
                            packed.set(k, v);
                            k += 1;
                        }
                    }
                }
                let pixel = oy * out_w + ox;
                let mut j = 0;
                while j < block {
                    let j1 = if j + 1 < block { j + 1 } else { j };
                    let (o0, o1) = (block_start + j, block_start + j1);
                    let (s0, s1) = dot2(filter(o0), filter(o1), &packed);
                    for (jj, o, s) in [(j, o0, s0), (j1, o1, s1)] {
                        let (Some(&m), Some(&bias)) = (multipliers.get(jj), layer.bias.get(o))
                        else {
                            continue;
                        };
                        if let Some(out) = y.get_mut(o * pixels + pixel) {
                            *out = requantize(m, rounding, s.wrapping_add(bias), y_zero, lo, hi);
                        }
                    }
                    j += 2;
                }
            }
        }
        block_start += block;
    }
}
