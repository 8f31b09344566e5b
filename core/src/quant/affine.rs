//! Affine quantization between f32 and int8: `real = scale · (q − zero_point)`.
//!
//! ```text
//! quantize(x)   = clamp(round(x / scale) + zero_point, −128, 127)   x / scale in f32, round half away from zero
//! dequantize(q) = scale · (q − zero_point)                          one f32 product
//! ```
//!
//! Sources: TFLite's QUANTIZE, `reference_ops::AffineQuantize`
//! (`tensorflow/lite/kernels/internal/reference/quantize.h`: `TfLiteRound(val / scale)`,
//! `TfLiteRound` being `std::round`, half away from zero) and DEQUANTIZE,
//! `reference_ops::Dequantize` (`dequantize.h`: `static_cast<float>(scale * (val −
//! zero_point))` with `scale` a double). The latter is the f32 product here, bit for bit:
//! `q − zero_point` has at most 9 significant bits and the f32 scale 24, so the double
//! product is exact and rounding it to f32 once is what an f32 multiplication does.

/// The quantization of a tensor: `real = scale · (q − zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Quantization {
    /// The real value of one step (finite and positive in a valid network).
    pub scale: f32,
    /// The integer that stands for 0.0 (in `−128..=127` for int8).
    pub zero_point: i32,
}

impl Quantization {
    /// `scale`, `zero_point`.
    pub const fn new(scale: f32, zero_point: i32) -> Self {
        Self { scale, zero_point }
    }

    /// Whether this is a valid int8 quantization: a finite positive scale and a zero point
    /// in `−128..=127`.
    pub fn is_valid_int8(&self) -> bool {
        self.scale.is_finite() && self.scale > 0.0 && (-128..=127).contains(&self.zero_point)
    }

    /// [`quantize`] with this quantization.
    pub fn quantize(&self, x: f32) -> i8 {
        quantize(x, self.scale, self.zero_point)
    }

    /// [`dequantize`] with this quantization.
    pub fn dequantize(&self, q: i8) -> f32 {
        dequantize(q, self.scale, self.zero_point)
    }
}

/// `clamp(round(x / scale) + zero_point, −128, 127)`, the division in f32 and the rounding
/// half away from zero (TFLite's QUANTIZE). A NaN quotient counts as 0 (C++ leaves it
/// undefined; networks refuse non-finite inputs before they get here).
pub fn quantize(x: f32, scale: f32, zero_point: i32) -> i8 {
    // `as` saturates (and maps NaN to 0); the sum then saturates too.
    let q = (libm::roundf(x / scale) as i32).saturating_add(zero_point);
    q.clamp(i32::from(i8::MIN), i32::from(i8::MAX)) as i8
}

/// `scale · (q − zero_point)` in f32 (TFLite's DEQUANTIZE, the same bits; see the
/// [module docs](self)).
pub fn dequantize(q: i8, scale: f32, zero_point: i32) -> f32 {
    scale * i32::from(q).saturating_sub(zero_point) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounds_half_away_from_zero_and_saturates() {
        assert_eq!(quantize(0.5, 1.0, 0), 1);
        assert_eq!(quantize(-0.5, 1.0, 0), -1);
        assert_eq!(quantize(1.5, 1.0, 0), 2);
        assert_eq!(quantize(2.5, 1.0, 0), 3); // not to even
        assert_eq!(quantize(-2.5, 1.0, 0), -3);
        assert_eq!(quantize(0.49, 1.0, 0), 0);
        assert_eq!(quantize(1000.0, 1.0, 0), 127);
        assert_eq!(quantize(-1000.0, 1.0, 0), -128);
        assert_eq!(quantize(1.0, 1.0 / 255.0, -128), 127);
        assert_eq!(quantize(0.0, 1.0 / 255.0, -128), -128);
        assert_eq!(quantize(f32::INFINITY, 1.0, 0), 127);
        assert_eq!(quantize(f32::NEG_INFINITY, 1.0, 100), -128);
        assert_eq!(quantize(f32::NAN, 1.0, 5), 5);
        assert_eq!(quantize(1e30, 1e-30, 127), 127); // the sum saturates, no overflow
    }

    #[test]
    fn dequantize_is_the_f64_product_rounded_once() {
        // TFLite's DEQUANTIZE computes in double: the same bits for every int8 value.
        for scale in [0.003_921_569_f32, 0.107_612_65, 1e-30, 3.0e38] {
            for zp in [-128, -3, 0, 43, 127] {
                for q in i8::MIN..=i8::MAX {
                    let want = (f64::from(scale) * f64::from(i32::from(q) - zp)) as f32;
                    assert_eq!(dequantize(q, scale, zp).to_bits(), want.to_bits());
                }
            }
        }
    }

    proptest! {
        #[test]
        fn quantize_matches_an_f64_reference(x in -300f32..300.0, scale in 1e-3f32..4.0, zp in -128i32..=127) {
            let r = f64::from(x / scale); // the f32 quotient, as TFLite
            let rounded = if r < 0.0 { -libm::floor(-r + 0.5) } else { libm::floor(r + 0.5) };
            let want = (rounded as i64 + i64::from(zp)).clamp(-128, 127);
            prop_assert_eq!(i64::from(quantize(x, scale, zp)), want);
        }

        #[test]
        fn dequantize_then_quantize_is_the_identity(q in any::<i8>(), scale in 1e-4f32..10.0, zp in -128i32..=127) {
            let x = dequantize(q, scale, zp);
            prop_assert_eq!(quantize(x, scale, zp), q);
        }
    }
}
