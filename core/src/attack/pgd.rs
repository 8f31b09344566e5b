//! Projected gradient descent (Madry et al., 2017), one struct for every norm:
//! `x ← clip(Π_{‖x−x⁰‖≤ε}(x + α·d(∇ₓJ)))`, optionally from the random start
//! `clip(Π(x⁰ + U(−ε, ε)ⁿ))`. The norm supplies the step direction `d` and the projection
//! `Π` onto the ε-ball; the settings, their checks and the driver glue are shared.
//!
//! | norm | `d(g)` | `Π` |
//! | --- | --- | --- |
//! | [`Linf`](super::Linf) | `sign g` | clamp each element to `[x⁰ᵢ − ε, x⁰ᵢ + ε]` |
//! | [`L2`](super::L2) | `g/‖g‖₂`, no step if `g = 0` | rescale `x − x⁰` to length ε if longer |

use super::{Attack, Bounds, EarlyStop, checks};
use crate::error::Error;
use crate::linalg;
use crate::rng::SplitMix64;

/// PGD with a budget ε in the norm `N`; usually spelt [`PgdLinf`](super::PgdLinf) or
/// [`PgdL2`](super::PgdL2).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Pgd<N> {
    /// Budget ε (≥ 0), measured in the norm `N`.
    pub epsilon: f32,
    /// Step size α (> 0): per element for L∞ (`α·sign g`), the step's length for L2.
    pub alpha: f32,
    /// Iteration budget (≥ 1).
    pub iterations: u32,
    /// `Some(seed)` starts from `x⁰ + U(−ε, ε)ⁿ` drawn with [`SplitMix64`], projected into
    /// the ε-ball and the bounds.
    pub random_start: Option<u64>,
    /// Early-stopping rule.
    pub early_stop: EarlyStop,
    /// Input bounds.
    pub bounds: Bounds,
    /// The norm: the step direction and the projection ([`Linf`](super::Linf) or
    /// [`L2`](super::L2)).
    pub norm: N,
}

/// What differs between PGD's norms: the step direction and the projection onto the ε-ball.
///
/// Sealed (implemented by [`Linf`](super::Linf) and [`L2`](super::L2) only), so its methods
/// can change without breaking callers.
pub trait Norm: sealed::Sealed + Copy {
    /// The value [`Pgd::new`] puts in the `norm` field.
    const DEFAULT: Self;
    /// The norm's name in reports and on the command line (`linf`, `l2`).
    const NAME: &'static str;
    /// Whether the step and the projection treat each element on its own (see
    /// [`Attack::ELEMENTWISE`]).
    const ELEMENTWISE: bool;

    /// Adds `alpha` times the step direction for `gradient` to `x` (slices of one length:
    /// whole vectors, or matching blocks if [`ELEMENTWISE`](Self::ELEMENTWISE)).
    fn ascend(&self, x: &mut [f32], gradient: &[f32], alpha: f32);

    /// Moves `x` into the ball of radius `epsilon` around `original`, then into `bounds`.
    fn project(&self, original: &[f32], x: &mut [f32], epsilon: f32, bounds: Bounds);

    /// Sets `x` to a random point on the sphere of radius `epsilon` around `original`,
    /// clipped to `bounds`: APGD's start (Croce & Hein's code): L∞ `x⁰ + ε·t/‖t‖∞` with
    /// `t ~ U(−1, 1)ⁿ`, L2 `x⁰ + ε·t/‖t‖₂` with `t ~ N(0, 1)ⁿ`.
    fn start_on_sphere(
        &self,
        original: &[f32],
        x: &mut [f32],
        epsilon: f32,
        bounds: Bounds,
        rng: &mut SplitMix64,
    );
}

pub(super) mod sealed {
    /// Keeps [`Norm`](super::Norm) implementations inside this crate.
    pub trait Sealed {}
}

impl<N: Norm> Pgd<N> {
    /// `iterations` steps of `alpha` within `epsilon`, no random start, stopping on success.
    pub const fn new(epsilon: f32, alpha: f32, iterations: u32) -> Self {
        Self {
            epsilon,
            alpha,
            iterations,
            random_start: None,
            early_stop: EarlyStop::OnSuccess,
            bounds: Bounds::UNIT,
            norm: N::DEFAULT,
        }
    }
}

impl<N: Norm> Attack for Pgd<N> {
    const ELEMENTWISE: bool = N::ELEMENTWISE;

    fn validate(&self) -> Result<(), Error> {
        checks::non_negative("epsilon", self.epsilon)?;
        checks::positive("alpha", self.alpha)?;
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
    fn start(&self, original: &[f32], x: &mut [f32]) {
        linalg::copy(x, original);
        if let Some(seed) = self.random_start {
            let mut rng = SplitMix64::new(seed);
            for xi in x.iter_mut() {
                *xi += rng.uniform(-self.epsilon, self.epsilon);
            }
            self.norm.project(original, x, self.epsilon, self.bounds);
        }
    }
    fn step(&self, original: &[f32], x: &mut [f32], gradient: &[f32]) {
        self.norm.ascend(x, gradient, self.alpha);
        self.norm.project(original, x, self.epsilon, self.bounds);
    }
}
