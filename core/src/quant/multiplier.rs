//! A real multiplier as a Q0.31 significand and a power of two: TFLite's `QuantizeMultiplier`.
//!
//! ```text
//! (q, e) = frexp(M)                  M = q · 2^e, q in [0.5, 1)
//! m      = round(q · 2³¹)            half away from zero (TfLiteRound, i.e. std::round)
//! if m = 2³¹: m = 2³⁰, e = e + 1
//! if e < −31: m = 0, e = 0           (flush to zero: every bit would be shifted out)
//! ```
//!
//! so that `M ≈ m · 2^(e − 31)` ([`multiply_by_quantized_multiplier`](super::multiply_by_quantized_multiplier)
//! takes `m` and `e`). Source: `tensorflow/lite/kernels/internal/quantization_util.cc`
//! (`QuantizeMultiplier`, shared by TFLM). A layer's multiplier is
//! `M = input_scale · weight_scale / output_scale`, each scale an f32 widened to f64 and the
//! products taken in f64, as TFLM's `CalculateOpDataFullyConnected` and
//! `PopulateConvolutionQuantizationParams` do ([`effective_multiplier`]).

/// A real multiplier `M ≈ multiplier · 2^(shift − 31)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct QuantizedMultiplier {
    /// The Q0.31 significand, in `[2³⁰, 2³¹)` (or 0 for a multiplier of 0).
    pub multiplier: i32,
    /// The power of two, in `−31..=30` for the multipliers a network accepts.
    pub shift: i32,
}

/// TFLite's `QuantizeMultiplier` of `real` (see the [module docs](self)); `None` for a
/// negative, NaN or infinite `real`, or one of 2³⁰ or more (its shift would exceed 30, which
/// TFLite's kernels cannot apply).
pub fn quantize_multiplier(real: f64) -> Option<QuantizedMultiplier> {
    if !real.is_finite() || real < 0.0 {
        return None;
    }
    if real == 0.0 {
        return Some(QuantizedMultiplier { multiplier: 0, shift: 0 });
    }
    let (q, mut shift) = libm::frexp(real);
    // q·2³¹ is exact (a power-of-two scaling) and at most 2³¹.
    let mut fixed = libm::round(q * 2_147_483_648.0) as i64;
    if fixed == 1 << 31 {
        fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return Some(QuantizedMultiplier { multiplier: 0, shift: 0 });
    }
    if shift > 30 {
        return None;
    }
    Some(QuantizedMultiplier { multiplier: i32::try_from(fixed).ok()?, shift })
}

/// `input_scale · weight_scale / output_scale` in f64, each f32 widened first: the real
/// multiplier of a dense or convolution output channel, as TFLM computes it.
pub fn effective_multiplier(input_scale: f32, weight_scale: f32, output_scale: f32) -> f64 {
    f64::from(input_scale) * f64::from(weight_scale) / f64::from(output_scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        let q = |r| quantize_multiplier(r).map(|m| (m.multiplier, m.shift));
        assert_eq!(q(0.5), Some((1 << 30, 0)));
        assert_eq!(q(1.0), Some((1 << 30, 1)));
        assert_eq!(q(0.75), Some((3 << 29, 0)));
        assert_eq!(q(0.0), Some((0, 0)));
        // Just below 1: q·2³¹ rounds up to 2³¹, which becomes 2³⁰ with the shift one higher.
        assert_eq!(q(1.0 - 1e-12), Some((1 << 30, 1)));
        // Below 2⁻³²: flushed to zero.
        assert_eq!(q(1e-10), Some((0, 0)));
        assert_eq!(q(-0.5), None);
        assert_eq!(q(f64::NAN), None);
        assert_eq!(q(f64::INFINITY), None);
        assert_eq!(q(f64::from(1u32 << 30)), None); // shift 31
        assert!(q(f64::from(1u32 << 29)).is_some()); // shift 30
    }

    proptest! {
        #[test]
        fn the_multiplier_represents_the_real_value(real in 1e-9f64..1e6) {
            let m = quantize_multiplier(real).unwrap();
            prop_assert!((1 << 30..=i32::MAX).contains(&m.multiplier) || m.multiplier == 0);
            prop_assert!((-31..=30).contains(&m.shift));
            // |m·2^(shift−31) − real| ≤ ½ · 2^(shift−31): the significand is rounded once.
            let back = f64::from(m.multiplier) * libm::pow(2.0, f64::from(m.shift - 31));
            let ulp = libm::pow(2.0, f64::from(m.shift - 31));
            prop_assert!((back - real).abs() <= 0.5 * ulp, "real {real}, back {back}");
        }
    }
}
