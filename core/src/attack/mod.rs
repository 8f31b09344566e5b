//! Adversarial attacks on any [`Classifier`], each a small update rule run by one driver.
//!
//! Every attack starts from `x⁰` (optionally a random point near it), then repeats: evaluate
//! the model and `∇ₓJ` at `x`; stop early if the [`EarlyStop`] rule is met; apply the
//! attack's update. It returns an [`AttackReport`] that gives success, confidence and
//! perturbation size together, and can record a bounded per-iteration [`Trace`].
//!
//! | attack | update |
//! | --- | --- |
//! | [`GradientAscent`] (the seed's) | `x ← clip(x + step·∇ₓJ)` |
//! | [`Fgsm`] (Goodfellow et al., 2014) | `x = clip(x⁰ + ε·sign ∇ₓJ)`, once |
//! | [`PgdLinf`] (Madry et al., 2017) | `x ← clip(Π_{‖x−x⁰‖∞≤ε}(x + α·sign ∇ₓJ))` |
//! | [`PgdL2`] | `x ← clip(Π_{‖x−x⁰‖₂≤ε}(x + α·∇ₓJ/‖∇ₓJ‖₂))` |
//!
//! `clip` is to the [`Bounds`] (default `[0, 1]`), `J` the goal's [`Objective`](crate::Objective).
//! Both PGDs are one struct, [`Pgd<N>`](Pgd), whose [`Norm`] ([`Linf`] or [`L2`]) supplies
//! the step direction and the projection `Π`.
//!
//! For evaluating robustness, the parameter-free attacks of AutoAttack (Croce & Hein, 2020)
//! keep state between steps and have their own `run`:
//!
//! | attack | what it does |
//! | --- | --- |
//! | [`Apgd`] (APGD-CE, APGD-DLR, APGD-T) | PGD with momentum and a step size that halves when the loss stalls |
//! | [`Square`] | score-based random search over square windows (L∞), logits only |
//! | [`AutoAttack`] | the standard ensemble: APGD-CE, APGD-T, Square, per input, until one succeeds |

mod apgd;
mod autoattack;
mod checks;
mod fgsm;
mod gradient_ascent;
mod pgd;
mod pgd_l2;
mod pgd_linf;
mod report;
mod square;

pub use apgd::{Apgd, ApgdLoss};
pub use autoattack::{AutoAttack, EnsembleReport, Stage};
pub use fgsm::Fgsm;
pub use gradient_ascent::GradientAscent;
pub use pgd::{Norm, Pgd};
pub use pgd_l2::{L2, PgdL2};
pub use pgd_linf::{Linf, PgdLinf};
pub use report::{AttackReport, Trace, TraceStep};
pub use square::Square;

/// [`Apgd`] in L∞.
pub type ApgdLinf = Apgd<Linf>;
/// [`Apgd`] in L2.
pub type ApgdL2 = Apgd<L2>;

use crate::error::Error;
use crate::linalg;
use crate::model::{Classifier, Prediction};
use crate::objective::Goal;
use crate::storage::ArenaStorage;

/// The box every input must stay in, `[lo, hi]` per element.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Bounds {
    /// Smallest allowed value.
    pub lo: f32,
    /// Largest allowed value.
    pub hi: f32,
}

impl Bounds {
    /// Pixel intensities scaled to `[0, 1]`.
    pub const UNIT: Bounds = Bounds { lo: 0.0, hi: 1.0 };

    /// Fails unless `lo < hi` and both are finite.
    pub fn validate(&self) -> Result<(), Error> {
        if self.lo.is_finite() && self.hi.is_finite() && self.lo < self.hi {
            Ok(())
        } else {
            Err(Error::InvalidParameter { name: "bounds", expected: "finite with lo < hi" })
        }
    }

    /// Fails with the first element of `x` that is non-finite or outside the bounds.
    pub fn check(&self, x: &[f32]) -> Result<(), Error> {
        for (index, &v) in x.iter().enumerate() {
            if !v.is_finite() {
                return Err(Error::NonFiniteInput { index });
            }
            if v < self.lo || v > self.hi {
                return Err(Error::InputOutOfBounds { index });
            }
        }
        Ok(())
    }
}

impl Default for Bounds {
    fn default() -> Self {
        Self::UNIT
    }
}

/// When an attack stops before its iteration budget is spent (checked before each step).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EarlyStop {
    /// Spend every iteration.
    #[default]
    Never,
    /// Stop as soon as the goal is met.
    OnSuccess,
    /// Stop once the goal is met with the predicted class's probability ≥ this value.
    Confidence(f32),
}

impl EarlyStop {
    /// Fails unless a confidence threshold lies in `(0, 1]`.
    pub fn validate(&self) -> Result<(), Error> {
        match *self {
            EarlyStop::Confidence(p) if !(p > 0.0 && p <= 1.0) => Err(Error::InvalidParameter {
                name: "early_stop",
                expected: "a confidence in (0, 1]",
            }),
            _ => Ok(()),
        }
    }

    /// Whether the attack may stop at `prediction`.
    pub fn is_met<const OUT: usize>(&self, goal: &Goal, prediction: &Prediction<OUT>) -> bool {
        match *self {
            EarlyStop::Never => false,
            EarlyStop::OnSuccess => goal.is_met(prediction),
            EarlyStop::Confidence(p) => goal.is_met(prediction) && prediction.confidence() >= p,
        }
    }
}

/// Caller-owned scratch space for an attack: the model's workspace and vectors as long as
/// the input, in storage `G` ([`ArenaStorage`]: `[f32; N]` on a device, `Vec<f32>` on a
/// host).
#[derive(Debug, Clone)]
pub struct AttackScratch<W, G> {
    /// The model's workspace.
    pub model: W,
    /// `∇ₓJ` at the current iterate (its first `input_len` elements), followed by the
    /// further vectors of an attack that keeps state ([`Apgd::SCRATCH_VECTORS`],
    /// [`Square::SCRATCH_VECTORS`], [`AutoAttack::SCRATCH_VECTORS`]).
    pub gradient: G,
}

impl<W, G: ArenaStorage> AttackScratch<W, G> {
    /// Scratch space for the attacks of the [`Attack`] trait on `model`. With a fixed
    /// array for `G` shorter than the model's input, [`Attack::run`] fails with
    /// [`Error::Length`].
    pub fn for_model<M: Classifier<OUT, Workspace = W>, const OUT: usize>(model: &M) -> Self {
        Self::with_vectors(model, 1)
    }

    /// Scratch space with `vectors` input-length vectors (e.g.
    /// [`AutoAttack::SCRATCH_VECTORS`]); every attack that needs fewer runs on it too.
    pub fn with_vectors<M: Classifier<OUT, Workspace = W>, const OUT: usize>(
        model: &M,
        vectors: usize,
    ) -> Self {
        let len = model.input_len().saturating_mul(vectors);
        Self { model: model.workspace(), gradient: G::zeroed(len) }
    }
}

/// Fails with [`Error::Length`] unless `original` and `adversarial` are `input_len` long;
/// returns that length.
fn check_lengths(input_len: usize, original: &[f32], adversarial: &[f32]) -> Result<usize, Error> {
    for (what, len) in [("input", original.len()), ("adversarial", adversarial.len())] {
        if len != input_len {
            return Err(Error::Length { what, expected: input_len, found: len });
        }
    }
    Ok(input_len)
}

/// The first `K` vectors of `n` elements of an attack's scratch `buffer`, or
/// [`Error::Length`] if it is shorter than `K·n`.
fn scratch_vectors<const K: usize>(buffer: &mut [f32], n: usize) -> Result<[&mut [f32]; K], Error> {
    let (found, expected) = (buffer.len(), K.saturating_mul(n));
    let buffer = buffer.get_mut(..expected).ok_or(Error::Length {
        what: "attack scratch",
        expected,
        found,
    })?;
    let mut vectors = buffer.chunks_mut(n.max(1));
    Ok(core::array::from_fn(|_| vectors.next().unwrap_or_default()))
}

/// An attack: an update rule and its settings. [`Attack::run`] is the shared driver.
pub trait Attack {
    /// Whether [`step`](Self::step) updates each element from that element alone
    /// (`xᵢ ← f(x⁰ᵢ, xᵢ, ∇ᵢ)`). Then the driver applies it block by block while the gradient
    /// is being computed ([`Classifier::step_then_evaluate`]), which saves the model a pass
    /// over its weights; the result is the same bits.
    const ELEMENTWISE: bool = false;

    /// Fails on a hyperparameter out of range (step ≤ 0, ε < 0, no iterations, …).
    fn validate(&self) -> Result<(), Error>;
    /// Iteration budget.
    fn iterations(&self) -> u32;
    /// Early-stopping rule.
    fn early_stop(&self) -> EarlyStop;
    /// Bounds every iterate is clipped to.
    fn bounds(&self) -> Bounds;
    /// Sets `x` to the first iterate (a copy of `original`, or a random start); both are
    /// as long as the model's input.
    fn start(&self, original: &[f32], x: &mut [f32]) {
        linalg::copy(x, original);
    }
    /// One update of `x` from its gradient: three slices of the same length, the whole
    /// vectors, or — when [`ELEMENTWISE`](Self::ELEMENTWISE) — any matching blocks of them.
    fn step(&self, original: &[f32], x: &mut [f32], gradient: &[f32]);

    /// Runs the attack on `original` toward `goal`, leaving the result in `adversarial`.
    ///
    /// Fails, before doing any work, on bad hyperparameters, a goal whose classes are out
    /// of range, an `original` or `adversarial` that is not as long as the model's input
    /// (or a scratch gradient shorter), or an input that is non-finite or outside the
    /// bounds. A failure later (a non-finite gradient) leaves `adversarial` unspecified.
    fn run<M, G, T, const OUT: usize>(
        &self,
        model: &M,
        original: &[f32],
        goal: Goal,
        adversarial: &mut [f32],
        scratch: &mut AttackScratch<M::Workspace, G>,
        trace: &mut T,
    ) -> Result<AttackReport, Error>
    where
        M: Classifier<OUT>,
        G: ArenaStorage,
        T: Trace + ?Sized,
        Self: Sized,
    {
        self.validate()?;
        self.bounds().validate()?;
        self.early_stop().validate()?;
        goal.validate(model.classes())?;
        let n = check_lengths(model.input_len(), original, adversarial)?;
        let [gradient] = scratch_vectors(scratch.gradient.as_mut_slice(), n)?;
        self.bounds().check(original)?;

        let watched = goal.watched_class();
        let objective = goal.objective();
        let initial = model.predict(original, &mut scratch.model)?;
        self.start(original, adversarial);
        // `eval` is always the evaluation at the current iterate; each step computes the
        // gradient there, updates the iterate and evaluates the new one.
        let mut eval = model.evaluate_objective(adversarial, objective, &mut scratch.model)?;
        let mut iterations = 0;
        while iterations < self.iterations() {
            if trace.is_enabled() {
                trace.record(TraceStep {
                    iteration: iterations,
                    class: eval.prediction.class,
                    watched_probability: eval.prediction.probability(watched),
                    objective: eval.objective,
                    linf: linalg::linf_distance(adversarial, original),
                });
            }
            if self.early_stop().is_met(&goal, &eval.prediction) {
                break;
            }
            eval = model.step_then_evaluate(
                adversarial,
                objective,
                &mut scratch.model,
                gradient,
                Self::ELEMENTWISE,
                |start, x, gradient| {
                    let x0 = original.get(start..start + x.len()).unwrap_or(&[]);
                    self.step(x0, x, gradient);
                },
            )?;
            iterations += 1;
        }
        Ok(AttackReport::new(&goal, iterations, &initial, &eval.prediction, original, adversarial))
    }
}

#[cfg(test)]
mod tests;
