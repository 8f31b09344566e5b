//! The L∞ norm for [`Pgd`] (Madry et al., 2017; a.k.a. iterative FGSM):
//! `x ← clip(Π_{‖x−x⁰‖∞≤ε}(x + α·sign ∇ₓJ))`. Projection onto the ball is an element-wise
//! clamp to `[x⁰ᵢ − ε, x⁰ᵢ + ε]`.

use super::Bounds;
use super::pgd::{Norm, Pgd, sealed};
use crate::linalg::{clamp_scalar, sign};
use crate::rng::SplitMix64;

/// The L∞ norm: signed steps, element-wise clamp into the ε-ball.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Linf;

/// PGD with an L∞ budget.
pub type PgdLinf = Pgd<Linf>;

impl sealed::Sealed for Linf {}

impl Norm for Linf {
    const DEFAULT: Self = Linf;
    const NAME: &'static str = "linf";
    const ELEMENTWISE: bool = true;

    fn ascend(&self, x: &mut [f32], gradient: &[f32], alpha: f32) {
        for (xi, &g) in x.iter_mut().zip(gradient) {
            *xi += alpha * sign(g);
        }
    }

    fn project(&self, original: &[f32], x: &mut [f32], epsilon: f32, bounds: Bounds) {
        for (xi, &x0) in x.iter_mut().zip(original) {
            let in_ball = clamp_scalar(*xi, x0 - epsilon, x0 + epsilon);
            *xi = clamp_scalar(in_ball, bounds.lo, bounds.hi);
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
        let mut largest = 0.0f32;
        for xi in x.iter_mut() {
            *xi = rng.uniform(-1.0, 1.0);
            largest = largest.max(xi.abs());
        }
        let scale = if largest > 0.0 { epsilon / largest } else { 0.0 };
        for (xi, &x0) in x.iter_mut().zip(original) {
            *xi = clamp_scalar(x0 + scale * *xi, bounds.lo, bounds.hi);
        }
    }
}
