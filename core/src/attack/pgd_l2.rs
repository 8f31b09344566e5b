//! The L2 norm for [`Pgd`]: `x ← clip(Π_{‖x−x⁰‖₂≤ε}(x + α·∇ₓJ/‖∇ₓJ‖₂))`. Projection
//! rescales `x − x⁰` to length ε when it is longer.

use super::Bounds;
use super::pgd::{Norm, Pgd, sealed};
use crate::linalg;
use crate::rng::SplitMix64;

/// The L2 norm: steps of length α along the normalised gradient, rescaling into the ε-ball.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct L2;

/// PGD with an L2 budget.
pub type PgdL2 = Pgd<L2>;

impl sealed::Sealed for L2 {}

impl Norm for L2 {
    const DEFAULT: Self = L2;
    const NAME: &'static str = "l2";
    // The step's direction and the projection need norms of whole vectors.
    const ELEMENTWISE: bool = false;

    fn ascend(&self, x: &mut [f32], gradient: &[f32], alpha: f32) {
        let norm = linalg::l2_norm(gradient);
        // A zero gradient has no direction: stay put rather than divide by zero.
        if norm > 0.0 {
            let scale = alpha / norm;
            for (xi, g) in x.iter_mut().zip(gradient) {
                *xi += scale * g;
            }
        }
    }

    fn project(&self, original: &[f32], x: &mut [f32], epsilon: f32, bounds: Bounds) {
        let distance = linalg::l2_distance(x, original);
        if distance > epsilon {
            let shrink = epsilon / distance;
            for (xi, &x0) in x.iter_mut().zip(original) {
                *xi = x0 + (*xi - x0) * shrink;
            }
        }
        for xi in x.iter_mut() {
            *xi = linalg::clamp_scalar(*xi, bounds.lo, bounds.hi);
        }
    }

    fn start_on_sphere(
        &self,
        original: &[f32],
        x: &mut [f32],
        epsilon: f32,
        bounds: Bounds,
        rng: &mut SplitMix64,
    ) {
        for xi in x.iter_mut() {
            *xi = rng.normal();
        }
        let norm = linalg::l2_norm(x);
        let scale = if norm > 0.0 { epsilon / norm } else { 0.0 };
        for (xi, &x0) in x.iter_mut().zip(original) {
            *xi = linalg::clamp_scalar(x0 + scale * *xi, bounds.lo, bounds.hi);
        }
    }
}
