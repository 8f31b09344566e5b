//! The seed's attack: plain gradient ascent on the input, `x ← clip(x + step·∇ₓJ)`.
//!
//! No ε-ball: the perturbation grows until the goal is met or the budget runs out, so the
//! report's norms say how far it had to go.

use super::{Attack, Bounds, EarlyStop, checks};
use crate::error::Error;
use crate::linalg::clamp_scalar;

/// Gradient ascent on the input with a fixed step size.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GradientAscent {
    /// Step size (> 0), multiplying the raw gradient.
    pub step: f32,
    /// Iteration budget (≥ 1).
    pub iterations: u32,
    /// Early-stopping rule, e.g. `Confidence(0.9)` as in the seed.
    pub early_stop: EarlyStop,
    /// Input bounds.
    pub bounds: Bounds,
}

impl GradientAscent {
    /// `iterations` steps of size `step`, stopping once the goal is met with 90% confidence,
    /// in `[0, 1]`.
    pub const fn new(step: f32, iterations: u32) -> Self {
        Self { step, iterations, early_stop: EarlyStop::Confidence(0.9), bounds: Bounds::UNIT }
    }
}

impl Attack for GradientAscent {
    const ELEMENTWISE: bool = true;

    fn validate(&self) -> Result<(), Error> {
        checks::positive("step", self.step)?;
        checks::at_least_one("iterations", self.iterations)
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
    fn step(&self, _original: &[f32], x: &mut [f32], gradient: &[f32]) {
        for (xi, g) in x.iter_mut().zip(gradient) {
            *xi = clamp_scalar(*xi + self.step * g, self.bounds.lo, self.bounds.hi);
        }
    }
}
