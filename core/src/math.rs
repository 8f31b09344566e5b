//! Scalar math: `exp`, `ln`, `sqrt`, a stable sigmoid, and softmax / log-softmax.
//!
//! # Backends
//! By default `exp` and `ln` are `libm`'s `expf`/`logf`: software implementations within
//! about 1 ulp, the same bits on every target. The `micromath` feature swaps in
//! micromath's approximations (about 2.4e-3 relative error for `exp`, measured over
//! [-20, 20]), which are faster on a microcontroller; tests bound the effect on
//! probabilities and gradients. `sqrt` is always the correctly rounded IEEE square root.
//!
//! # Formulas
//! * `σ(z) = 1/(1+e^{−z})` for `z ≥ 0`, `e^{z}/(1+e^{z})` for `z < 0` (never overflows).
//! * `log softmax(z)ᵢ = (zᵢ − m) − ln Σⱼ e^{zⱼ − m}` with `m = maxⱼ zⱼ`, the sum in
//!   increasing `j`; `softmax(z)ᵢ = e^{zᵢ − m} / Σⱼ e^{zⱼ − m}`.

/// `e^x` with the selected backend.
#[inline]
pub fn exp(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        micromath::F32Ext::exp(x)
    }
    #[cfg(not(feature = "micromath"))]
    {
        libm::expf(x)
    }
}

/// Natural logarithm with the selected backend.
#[inline]
pub fn ln(x: f32) -> f32 {
    #[cfg(feature = "micromath")]
    {
        micromath::F32Ext::ln(x)
    }
    #[cfg(not(feature = "micromath"))]
    {
        libm::logf(x)
    }
}

/// Correctly rounded square root (the same bits on every IEEE-754 target).
#[inline]
pub fn sqrt(x: f32) -> f32 {
    libm::sqrtf(x)
}

/// Logistic sigmoid `σ(z)`, evaluated without overflow for any finite `z`.
#[inline]
pub fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + exp(-z))
    } else {
        let e = exp(z);
        e / (1.0 + e)
    }
}

/// Writes `softmax(z)` to `probabilities` and `log softmax(z)` to `log_probabilities` (the
/// elements all three have).
#[inline]
pub fn softmax(z: &[f32], probabilities: &mut [f32], log_probabilities: &mut [f32]) {
    let m = z.iter().fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    let mut sum = 0.0f32;
    for (p, &v) in probabilities.iter_mut().zip(z) {
        *p = exp(v - m);
        sum += *p;
    }
    let log_sum = ln(sum);
    for ((p, lp), &v) in probabilities.iter_mut().zip(log_probabilities.iter_mut()).zip(z) {
        *p /= sum;
        *lp = (v - m) - log_sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative error of the backend's `exp`, with the bound the docs promise.
    #[cfg(not(feature = "micromath"))]
    const EXP_RTOL: f64 = 2e-7;
    #[cfg(feature = "micromath")]
    const EXP_RTOL: f64 = 5e-3;
    /// Absolute error allowed on a log-probability.
    #[cfg(not(feature = "micromath"))]
    const LOG_PROB_ATOL: f64 = 1e-5;
    #[cfg(feature = "micromath")]
    const LOG_PROB_ATOL: f64 = 5e-3;

    #[test]
    fn exp_within_documented_relative_error_over_minus20_to_20() {
        for i in 0..=4000 {
            let x = -20.0 + i as f32 * 0.01;
            let want = f64::from(x).exp();
            let got = f64::from(exp(x));
            let rel = (got - want).abs() / want;
            assert!(rel <= EXP_RTOL, "x={x} got={got} want={want} rel={rel}");
        }
    }

    #[test]
    fn sigmoid_is_stable_and_symmetric() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(-200.0) >= 0.0 && sigmoid(-200.0) < 1e-30);
        assert_eq!(sigmoid(200.0), 1.0);
        for z in [-5.0f32, -1.0, 0.3, 2.0] {
            let delta = (sigmoid(z) + sigmoid(-z) - 1.0).abs();
            assert!(delta < 1e-6, "z={z} delta={delta}");
        }
    }

    #[test]
    fn softmax_sums_to_one_and_logs_agree() {
        let z = [1000.0f32, 999.0, -1000.0];
        let (mut p, mut lp) = ([0.0; 3], [0.0; 3]);
        softmax(&z, &mut p, &mut lp);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6, "softmax normalises exactly-ish");
        let want = -(1.0f64 + (-1.0f64).exp()).ln();
        let delta = (f64::from(lp[0]) - want).abs();
        assert!(delta < LOG_PROB_ATOL, "got {} want {want} delta {delta}", lp[0]);
        assert!(lp[2] < -1999.0 && p[2] == 0.0);
    }
}
