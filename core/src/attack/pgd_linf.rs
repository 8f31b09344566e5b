//! Projected gradient descent in L∞ (Madry et al., 2017), a.k.a. iterative FGSM:
//! `x ← clip(Π_{‖x−x⁰‖∞≤ε}(x + α·sign ∇ₓJ))`, optionally from a uniform random start in the
//! ε-ball. Projection onto the ball is an element-wise clamp to `[x⁰ᵢ − ε, x⁰ᵢ + ε]`.

use super::{Attack, Bounds, EarlyStop};
use crate::error::Error;
use crate::linalg::{clamp_scalar, sign};
use crate::rng::SplitMix64;

/// PGD with an L∞ budget.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PgdLinf {
    /// L∞ budget ε (≥ 0).
    pub epsilon: f32,
    /// Step size α (> 0).
    pub alpha: f32,
    /// Iteration budget (≥ 1).
    pub iterations: u32,
    /// `Some(seed)` starts from `x⁰ + U(−ε, ε)` drawn with [`SplitMix64`].
    pub random_start: Option<u64>,
    /// Early-stopping rule.
    pub early_stop: EarlyStop,
    /// Input bounds.
    pub bounds: Bounds,
}

impl PgdLinf {
    /// `iterations` steps of `alpha` within `epsilon`, no random start, stopping on success.
    pub const fn new(epsilon: f32, alpha: f32, iterations: u32) -> Self {
        Self {
            epsilon,
            alpha,
            iterations,
            random_start: None,
            early_stop: EarlyStop::OnSuccess,
            bounds: Bounds::UNIT,
        }
    }
}

/// Clamps `x` into the L∞ ball of radius `epsilon` around `original`, then into `bounds`.
pub(crate) fn project_linf<const IN: usize>(
    original: &[f32; IN],
    x: &mut [f32; IN],
    epsilon: f32,
    bounds: Bounds,
) {
    for (xi, &x0) in x.iter_mut().zip(original) {
        let in_ball = clamp_scalar(*xi, x0 - epsilon, x0 + epsilon);
        *xi = clamp_scalar(in_ball, bounds.lo, bounds.hi);
    }
}

impl<const IN: usize> Attack<IN> for PgdLinf {
    fn validate(&self) -> Result<(), Error> {
        validate_pgd(self.epsilon, self.alpha, self.iterations)
    }
    fn iterations(&self) -> u32 {
        self.iterations
    }
    fn early_stop(&self) -> EarlyStop {
        self.early_stop
    }
    fn bounds(&self) -> Bounds {
        self.bounds
    }
    fn start(&self, original: &[f32; IN], x: &mut [f32; IN]) {
        *x = *original;
        if let Some(seed) = self.random_start {
            let mut rng = SplitMix64::new(seed);
            for xi in x.iter_mut() {
                *xi += rng.uniform(-self.epsilon, self.epsilon);
            }
            project_linf(original, x, self.epsilon, self.bounds);
        }
    }
    fn step(&self, original: &[f32; IN], x: &mut [f32; IN], gradient: &[f32; IN]) {
        for (xi, &g) in x.iter_mut().zip(gradient) {
            *xi += self.alpha * sign(g);
        }
        project_linf(original, x, self.epsilon, self.bounds);
    }
}

/// Shared range checks of the PGD family.
pub(crate) fn validate_pgd(epsilon: f32, alpha: f32, iterations: u32) -> Result<(), Error> {
    if !(epsilon >= 0.0 && epsilon.is_finite()) {
        return Err(Error::InvalidParameter { name: "epsilon", expected: "finite and ≥ 0" });
    }
    if !(alpha > 0.0 && alpha.is_finite()) {
        return Err(Error::InvalidParameter { name: "alpha", expected: "finite and > 0" });
    }
    if iterations == 0 {
        return Err(Error::InvalidParameter { name: "iterations", expected: "≥ 1" });
    }
    Ok(())
}
