//! Fixed-point requantization: TFLite's `MultiplyByQuantizedMultiplier`, built from
//! gemmlowp's `SaturatingRoundingDoublingHighMul` and `RoundingDivideByPOT`.
//!
//! An int32 accumulator `x` is scaled by a real multiplier `M = m · 2^(shift − 31)`, with
//! `m` in `[2³⁰, 2³¹)` a Q0.31 significand (see [`quantize_multiplier`](super::quantize_multiplier)):
//!
//! ```text
//! MultiplyByQuantizedMultiplier(x, m, shift)
//!     = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x · 2^max(shift, 0), m), max(−shift, 0))
//! SaturatingRoundingDoublingHighMul(a, b) = (a·b + (a·b ≥ 0 ? 2³⁰ : 1 − 2³⁰)) / 2³¹
//!     (÷ truncates toward 0, so ties go toward +∞; a = b = −2³¹ saturates to 2³¹ − 1)
//! RoundingDivideByPOT(x, e)               = x / 2^e rounded to nearest, ties away from zero
//! ```
//!
//! So the product is rounded twice (once in the high multiply, once in the shift), exactly
//! as TensorFlow Lite Micro does ([`Rounding::Double`]). TFLite built with
//! `TFLITE_SINGLE_ROUNDING` rounds once instead ([`Rounding::Single`]):
//!
//! ```text
//! MultiplyByQuantizedMultiplier(x, m, shift) = (x·m + 2^(30 − shift)) >> (31 − shift)   (in i64; >> floors)
//! ```
//!
//! LiteRT's Python wheel (ai-edge-litert 2.3.0, `BUILTIN_REF`) computes FULLY_CONNECTED
//! this way, and CONV_2D with double rounding. Measured, not read in its source: its
//! outputs differ from TFLM's by one step on 112 (MLP) and 42 (CNN) of the 10,000 MNIST test
//! images of this project's int8 fixtures, and single rounding in FULLY_CONNECTED alone
//! reproduces its outputs exactly on every recorded image (`tests/tests/int8.rs`).
//!
//! Sources: `tensorflow/lite/kernels/internal/common.h` / `common.cc`
//! (`MultiplyByQuantizedMultiplier`, both forms) and gemmlowp's `fixedpoint/fixedpoint.h`
//! (`SaturatingRoundingDoublingHighMul`, `RoundingDivideByPOT`), which TFLM shares.
//!
//! Where C++ leaves behaviour undefined (a left shift that overflows, a shift of 32 bits or
//! more), these functions wrap in two's complement (what a Cortex-M's `lsl` does) and
//! clamp the shift; the networks never reach either case, as they check every multiplier
//! once when they are built.

/// `a·b / 2³¹` rounded to nearest, saturated: gemmlowp's `SaturatingRoundingDoublingHighMul`.
/// Its nudge (`2³⁰` for a non-negative product, `1 − 2³⁰` otherwise, then a division that
/// truncates toward zero) sends ties toward +∞: `0.5 → 1`, `−0.5 → 0`, `−1.5 → −1`. The
/// only input that overflows, `a = b = i32::MIN` (the product 2⁶² doubled is 2³¹), gives
/// `i32::MAX`.
pub const fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // |ab| < 2⁶², so the sum cannot overflow and the quotient fits in i32; `/` truncates
    // toward zero, as C++'s does.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent` rounded to the nearest integer, ties away from zero: gemmlowp's
/// `RoundingDivideByPOT`. `exponent` is clamped to `0..=31` (gemmlowp asserts that range).
pub const fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let exponent = if exponent > 31 { 31 } else { exponent };
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    // Half of the divisor, plus one for negative x: a tie rounds away from zero.
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exponent) + (remainder > threshold) as i32
}

/// `x · multiplier · 2^(shift − 31)`, rounded as TFLite's `MultiplyByQuantizedMultiplier`
/// (see the [module docs](self)). `shift` is clamped to `−31..=30`, the range
/// [`quantize_multiplier`](super::quantize_multiplier) produces for any multiplier below
/// 2³⁰; the left shift `x · 2^shift` wraps on overflow.
pub const fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let shift = if shift < -31 {
        -31
    } else if shift > 30 {
        30
    } else {
        shift
    };
    let (left, right) = if shift > 0 { (shift as u32, 0) } else { (0, (-shift) as u32) };
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_shl(left), multiplier),
        right,
    )
}

/// `x · multiplier · 2^(shift − 31)` rounded once, to nearest with ties toward +∞: TFLite's
/// `MultiplyByQuantizedMultiplier` under `TFLITE_SINGLE_ROUNDING` (`(x·m + 2^(30−shift)) >>
/// (31 − shift)` in i64). `shift` is clamped to `−31..=30`; the result saturates to i32.
pub const fn multiply_by_quantized_multiplier_single(x: i32, multiplier: i32, shift: i32) -> i32 {
    let shift = if shift < -31 {
        -31
    } else if shift > 30 {
        30
    } else {
        shift
    };
    let total = (31 - shift) as u32; // 1..=62
    // |x·m| < 2⁶², plus at most 2⁶¹: no overflow in i64.
    let wide = (x as i64 * multiplier as i64 + (1i64 << (total - 1))) >> total;
    if wide > i32::MAX as i64 {
        i32::MAX
    } else if wide < i32::MIN as i64 {
        i32::MIN
    } else {
        wide as i32
    }
}

/// How an accumulator is scaled back to int8: the two forms of TFLite's
/// `MultiplyByQuantizedMultiplier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Rounding {
    /// Round twice (gemmlowp's high multiply, then the shift): TensorFlow Lite Micro's
    /// reference kernels, the device's arithmetic. [`multiply_by_quantized_multiplier`].
    #[default]
    Double,
    /// Round once (`TFLITE_SINGLE_ROUNDING`): [`multiply_by_quantized_multiplier_single`].
    Single,
}

impl Rounding {
    /// `x · multiplier · 2^(shift − 31)` rounded this way.
    pub const fn apply(self, x: i32, multiplier: i32, shift: i32) -> i32 {
        match self {
            Rounding::Double => multiply_by_quantized_multiplier(x, multiplier, shift),
            Rounding::Single => multiply_by_quantized_multiplier_single(x, multiplier, shift),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// gemmlowp's high multiply in i128: `a·b / 2³¹` rounded to nearest, ties toward +∞
    /// (`⌊(a·b + 2³⁰) / 2³¹⌋`), saturated.
    fn high_mul_reference(a: i32, b: i32) -> i32 {
        let ab = i128::from(a) * i128::from(b);
        let q = (ab + (1 << 30)).div_euclid(1 << 31);
        i32::try_from(q).unwrap_or(i32::MAX)
    }

    /// `x / 2^e` rounded to nearest, ties away from zero, in i64.
    fn divide_reference(x: i32, e: u32) -> i32 {
        let (x, d) = (i64::from(x), 1i64 << e);
        let magnitude = (x.abs() + d / 2) / d;
        i32::try_from(if x < 0 { -magnitude } else { magnitude }).unwrap()
    }

    #[test]
    fn high_mul_edge_cases() {
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX), -i32::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX), i32::MAX - 1);
        assert_eq!(saturating_rounding_doubling_high_mul(0, i32::MIN), 0);
        // 1 · 2³⁰ doubled is 2³¹, divided by 2³² is exactly one half: rounds up to 1.
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        // −1 · 2³⁰: −0.5 rounds to 0 (gemmlowp's nudge 1 − 2³⁰ sends ties toward +∞),
        // and −1.5 to −1.
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
    }

    #[test]
    fn divide_by_pot_edge_cases() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 → 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // −2.5 → −3, away from zero
        assert_eq!(rounding_divide_by_pot(-4, 1), -2);
        assert_eq!(rounding_divide_by_pot(7, 0), 7);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 40), -1); // clamped to 31
        assert_eq!(rounding_divide_by_pot(1 << 30, 31), 1); // exactly 0.5 → 1
        assert_eq!(rounding_divide_by_pot(-(1 << 30), 31), -1); // exactly −0.5 → −1
    }

    #[test]
    fn multiplier_shift_range_is_clamped_not_panicking() {
        let m = 1 << 30; // 0.5 in Q0.31
        assert_eq!(multiply_by_quantized_multiplier(1000, m, 0), 500);
        assert_eq!(multiply_by_quantized_multiplier(1000, m, 1), 1000);
        assert_eq!(multiply_by_quantized_multiplier(1000, m, -1), 250);
        assert_eq!(multiply_by_quantized_multiplier(1000, m, -31), 0);
        // (2³¹ − 1) · 0.5 · 2⁻³¹ just below ½: the high multiply rounds it up to exactly ½
        // (2³⁰ of 2³¹), the shift rounds that to 1. Once-rounded, it is 0.
        assert_eq!(multiply_by_quantized_multiplier(i32::MAX, m, i32::MIN), 1);
        assert_eq!(multiply_by_quantized_multiplier_single(i32::MAX, m, i32::MIN), 0);
        // Shift 30 with wrapping: no panic; the value is whatever the hardware gives.
        let _ = multiply_by_quantized_multiplier(i32::MAX, i32::MAX, i32::MAX);
        assert_eq!(multiply_by_quantized_multiplier_single(i32::MAX, i32::MAX, 30), i32::MAX);
        assert_eq!(multiply_by_quantized_multiplier_single(i32::MIN, i32::MAX, 30), i32::MIN);
    }

    #[test]
    fn double_rounding_can_round_up_where_single_rounding_does_not() {
        // 3 · 0.5 · 2⁻² = 0.375. Double: the high multiply gives 1.5 → 2, then 2/4 = 0.5 → 1.
        // Single: 0.375 → 0.
        let half = 1 << 30;
        assert_eq!(multiply_by_quantized_multiplier(3, half, -2), 1);
        assert_eq!(multiply_by_quantized_multiplier_single(3, half, -2), 0);
        assert_eq!(Rounding::default(), Rounding::Double);
    }

    proptest! {
        #[test]
        fn high_mul_matches_an_i128_reference(a in any::<i32>(), b in any::<i32>()) {
            prop_assert_eq!(saturating_rounding_doubling_high_mul(a, b), high_mul_reference(a, b));
        }

        #[test]
        fn divide_by_pot_matches_an_i64_reference(x in any::<i32>(), e in 0u32..=31) {
            prop_assert_eq!(rounding_divide_by_pot(x, e), divide_reference(x, e));
        }

        #[test]
        fn requantization_matches_two_reference_roundings(
            x in any::<i32>(),
            m in (1i32 << 30)..=i32::MAX,
            shift in -31i32..=0,
        ) {
            // Right shifts only: the two rounding steps, each in wide integers.
            let want = divide_reference(high_mul_reference(x, m), (-shift) as u32);
            prop_assert_eq!(multiply_by_quantized_multiplier(x, m, shift), want);
        }

        #[test]
        fn single_rounding_matches_an_i128_reference(
            x in any::<i32>(),
            m in 0i32..=i32::MAX,
            shift in -31i32..=30,
        ) {
            // ⌊x·m / 2^(31−shift) + ½⌋, saturated.
            let d = 1i128 << (31 - shift);
            let want = (i128::from(x) * i128::from(m) + d / 2).div_euclid(d);
            let want = want.clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32;
            prop_assert_eq!(multiply_by_quantized_multiplier_single(x, m, shift), want);
        }

        #[test]
        fn the_two_roundings_differ_by_at_most_one(
            x in -(1i32 << 24)..(1 << 24),
            m in (1i32 << 30)..=i32::MAX,
            shift in -31i32..=0,
        ) {
            let (a, b) = (Rounding::Double.apply(x, m, shift), Rounding::Single.apply(x, m, shift));
            prop_assert!((a - b).abs() <= 1, "double {a}, single {b}");
        }

        #[test]
        fn requantization_is_within_one_of_the_exact_product(
            x in -(1i32 << 24)..(1 << 24),
            m in (1i32 << 30)..=i32::MAX,
            shift in -20i32..=6,
        ) {
            // |x · m · 2^(shift−31) − result| ≤ 1 (two roundings of at most ½ each).
            let exact = f64::from(x) * f64::from(m) * 2f64.powi(shift - 31);
            let got = multiply_by_quantized_multiplier(x, m, shift);
            prop_assume!(exact.abs() < 2e9);
            prop_assert!((f64::from(got) - exact).abs() <= 1.0, "got {got}, exact {exact}");
        }
    }
}
