//! Fast gradient sign method (Goodfellow, Shlens & Szegedy, 2014):
//! `x = clip(x⁰ + ε·sign ∇ₓJ(x⁰))`, one step.

use super::{Attack, Bounds, EarlyStop, checks};
use crate::error::Error;
use crate::linalg::{clamp_scalar, sign};

/// FGSM with budget ε in L∞.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fgsm {
    /// L∞ budget ε (≥ 0).
    pub epsilon: f32,
    /// `OnSuccess` leaves an input that already meets the goal untouched.
    pub early_stop: EarlyStop,
    /// Input bounds.
    pub bounds: Bounds,
}

impl Fgsm {
    /// FGSM with budget `epsilon` in `[0, 1]`, always taking its step.
    pub const fn new(epsilon: f32) -> Self {
        Self { epsilon, early_stop: EarlyStop::Never, bounds: Bounds::UNIT }
    }
}

impl Attack for Fgsm {
    const ELEMENTWISE: bool = true;

    fn validate(&self) -> Result<(), Error> {
        checks::non_negative("epsilon", self.epsilon)
    }
    fn iterations(&self) -> u32 {
        1
    }
    fn early_stop(&self) -> EarlyStop {
        self.early_stop
    }
    fn bounds(&self) -> Bounds {
        self.bounds
    }
    fn step(&self, original: &[f32], x: &mut [f32], gradient: &[f32]) {
        for ((xi, &x0), &g) in x.iter_mut().zip(original).zip(gradient) {
            *xi = clamp_scalar(x0 + self.epsilon * sign(g), self.bounds.lo, self.bounds.hi);
        }
    }
}
