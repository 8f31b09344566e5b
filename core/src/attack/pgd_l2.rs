//! Projected gradient descent in L2:
//! `x ← clip(Π_{‖x−x⁰‖₂≤ε}(x + α·∇ₓJ/‖∇ₓJ‖₂))`. Projection rescales `x − x⁰` to length ε when
//! it is longer. The random start draws `x⁰ + U(−ε, ε)ⁿ` and projects it into the ball.

use super::pgd_linf::validate_pgd;
use super::{Attack, Bounds, EarlyStop};
use crate::error::Error;
use crate::linalg;
use crate::rng::SplitMix64;

/// PGD with an L2 budget.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PgdL2 {
    /// L2 budget ε (≥ 0).
    pub epsilon: f32,
    /// Step length α (> 0) along the normalised gradient.
    pub alpha: f32,
    /// Iteration budget (≥ 1).
    pub iterations: u32,
    /// `Some(seed)` starts from a random point of the ε-ball, drawn with [`SplitMix64`].
    pub random_start: Option<u64>,
    /// Early-stopping rule.
    pub early_stop: EarlyStop,
    /// Input bounds.
    pub bounds: Bounds,
}

impl PgdL2 {
    /// `iterations` steps of length `alpha` within `epsilon`, no random start, stopping on
    /// success.
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

    /// Rescales `x − original` into the ε-ball, then clips to the bounds.
    fn project<const IN: usize>(&self, original: &[f32; IN], x: &mut [f32; IN]) {
        let distance = linalg::l2_distance(x, original);
        if distance > self.epsilon {
            let shrink = self.epsilon / distance;
            for (xi, &x0) in x.iter_mut().zip(original) {
                *xi = x0 + (*xi - x0) * shrink;
            }
        }
        linalg::clamp(x, self.bounds.lo, self.bounds.hi);
    }
}

impl<const IN: usize> Attack<IN> for PgdL2 {
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
            self.project(original, x);
        }
    }
    fn step(&self, original: &[f32; IN], x: &mut [f32; IN], gradient: &[f32; IN]) {
        let norm = linalg::l2_norm(gradient);
        if norm > 0.0 {
            linalg::add_scaled(x, self.alpha / norm, gradient);
        }
        self.project(original, x);
    }
}
