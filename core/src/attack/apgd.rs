//! Auto-PGD (Croce & Hein, 2020, "Reliable evaluation of adversarial robustness with an
//! ensemble of diverse parameter-free attacks", Algorithm 1): PGD with momentum whose step
//! size needs no tuning, because it halves whenever the loss stops rising.
//!
//! From `x⁽⁰⁾` on the ε-sphere around `x⁰` ([`Norm::start_on_sphere`]), with `η = 2ε` and
//! `α = 0.75` (`α = 1` on the first step):
//!
//! ```text
//! z⁽ᵏ⁺¹⁾ = Π(x⁽ᵏ⁾ + η·d(∇f(x⁽ᵏ⁾)))
//! x⁽ᵏ⁺¹⁾ = Π(x⁽ᵏ⁾ + α(z⁽ᵏ⁺¹⁾ − x⁽ᵏ⁾) + (1 − α)(x⁽ᵏ⁾ − x⁽ᵏ⁻¹⁾))
//! ```
//!
//! `d` and `Π` are the norm's ([`Linf`](super::Linf): `sign g` and a clamp; [`L2`](super::L2):
//! `g/‖g‖₂` and a rescale), `f` the [`ApgdLoss`]. The best point so far (highest `f`) is kept.
//! A checkpoint falls every `k` steps, `k` starting at `⌊0.22N⌋` and shrinking by `⌊0.03N⌋`
//! per checkpoint to no less than `⌊0.06N⌋` (the official code's schedule for a budget of
//! `N` steps). At a checkpoint, `η` halves and the iterate returns to the best point when
//! 1. `f` rose in at most `ρ = 0.75` of the steps since the last checkpoint, or
//! 2. `η` was not halved at the last checkpoint and the best `f` has not risen since.
//!
//! Unlike the batched reference code, each input stops as soon as its [`EarlyStop`] rule is
//! met (by default, the first misclassified iterate): the same verdict, less work. One
//! step costs one forward and one backward pass.

use super::pgd::Norm;
use super::{AttackReport, AttackScratch, Bounds, EarlyStop, Trace, TraceStep, checks};
use crate::error::Error;
use crate::linalg;
use crate::model::Classifier;
use crate::objective::{Goal, Objective};
use crate::rng::SplitMix64;
use crate::storage::ArenaStorage;

/// What APGD maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ApgdLoss {
    /// The goal's own objective: the cross-entropy `−log p_y` for an untargeted goal,
    /// `log p_t` for a targeted one (APGD-CE).
    CrossEntropy,
    /// The difference of logits ratio [`Objective::Dlr`] (APGD-DLR).
    Dlr,
    /// The targeted DLR [`Objective::DlrTargeted`] toward `target` (APGD-T); success is
    /// still judged by the goal (for AutoAttack, any misclassification).
    DlrTargeted {
        /// The class the loss pushes up.
        target: usize,
    },
}

impl ApgdLoss {
    /// The objective this loss maximises for `goal`.
    pub fn objective(self, goal: &Goal) -> Objective {
        match self {
            ApgdLoss::CrossEntropy => goal.objective(),
            ApgdLoss::Dlr => Objective::Dlr { true_class: goal.true_class },
            ApgdLoss::DlrTargeted { target } => {
                Objective::DlrTargeted { true_class: goal.true_class, target }
            }
        }
    }
}

/// Auto-PGD (Croce & Hein, 2020) with a budget ε in the norm `N`: PGD with momentum 0.75
/// from a random point on the ε-sphere, the step `η = 2ε` halved at checkpoints (after
/// 22%, then every 19%, 16%, … down to 6% of the budget) where the loss rose in at most 75%
/// of the steps or the best loss stalled, the iterate then returning to the best point.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Apgd<N> {
    /// Budget ε (≥ 0), measured in the norm `N`.
    pub epsilon: f32,
    /// Step budget `N` (≥ 1); 100 in AutoAttack.
    pub iterations: u32,
    /// What is maximised.
    pub loss: ApgdLoss,
    /// `Some(seed)` starts on the ε-sphere ([`Norm::start_on_sphere`], drawn with
    /// [`SplitMix64`]), as AutoAttack does; `None` starts at `x⁰`.
    pub random_start: Option<u64>,
    /// When to stop before the budget is spent (checked at every iterate).
    pub early_stop: EarlyStop,
    /// Input bounds.
    pub bounds: Bounds,
    /// The norm.
    pub norm: N,
}

/// Momentum weight α of the new step (Croce & Hein's 0.75).
const MOMENTUM: f32 = 0.75;
/// Fraction of rising steps at or below which a checkpoint halves the step (ρ).
const RHO: f32 = 0.75;

impl<N: Norm> Apgd<N> {
    /// Scratch vectors (each as long as the input) that [`run`](Self::run) needs in an
    /// [`AttackScratch`]: the gradient, the previous iterate, the best point, its gradient
    /// and the momentum-free step.
    pub const SCRATCH_VECTORS: usize = 5;

    /// AutoAttack's settings: `iterations` steps of the loss within `epsilon` from a
    /// random start drawn with `seed`, stopping on success.
    pub const fn new(epsilon: f32, iterations: u32, loss: ApgdLoss, seed: u64) -> Self {
        Self {
            epsilon,
            iterations,
            loss,
            random_start: Some(seed),
            early_stop: EarlyStop::OnSuccess,
            bounds: Bounds::UNIT,
            norm: N::DEFAULT,
        }
    }

    /// Fails on ε < 0 or non-finite, or no iterations.
    pub fn validate(&self) -> Result<(), Error> {
        checks::non_negative("epsilon", self.epsilon)?;
        checks::at_least_one("iterations", self.iterations)?;
        self.bounds.validate()?;
        self.early_stop.validate()
    }

    /// Runs APGD on `original` toward `goal`, leaving the result in `adversarial`: the
    /// iterate at which the early-stop rule was met, else the best point (highest loss).
    /// `scratch` needs [`SCRATCH_VECTORS`](Self::SCRATCH_VECTORS) vectors
    /// ([`AttackScratch::with_vectors`]).
    ///
    /// Fails, before any work, like [`Attack::run`](super::Attack::run), and on a loss
    /// the model's classes cannot serve (a DLR loss with too few classes, a bad target).
    pub fn run<M, G, T, const OUT: usize>(
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
    {
        self.validate()?;
        goal.validate(model.classes())?;
        let objective = self.loss.objective(&goal);
        objective.validate(model.classes())?;
        let n = super::check_lengths(model.input_len(), original, adversarial)?;
        let [gradient, previous, best, best_gradient, step_to] =
            super::scratch_vectors(scratch.gradient.as_mut_slice(), n)?;
        self.bounds.check(original)?;
        let ws = &mut scratch.model;

        let initial = model.predict(original, ws)?;
        let x = adversarial;
        match self.random_start {
            Some(seed) => self.norm.start_on_sphere(
                original,
                x,
                self.epsilon,
                self.bounds,
                &mut SplitMix64::new(seed),
            ),
            None => linalg::copy(x, original),
        }
        let mut eval = model.input_gradient(x, objective, ws, gradient)?;
        let record = |trace: &mut T, iteration, eval: &crate::model::Evaluation<OUT>, x: &[f32]| {
            if trace.is_enabled() {
                trace.record(TraceStep {
                    iteration,
                    class: eval.prediction.class,
                    watched_probability: eval.prediction.probability(goal.watched_class()),
                    objective: eval.objective,
                    linf: linalg::linf_distance(x, original),
                });
            }
        };
        record(trace, 0, &eval, x);
        let mut steps = 0;
        if self.early_stop.is_met(&goal, &eval.prediction) {
            return Ok(AttackReport::new(&goal, 0, &initial, &eval.prediction, original, x));
        }

        linalg::copy(best, x);
        linalg::copy(best_gradient, gradient);
        linalg::copy(previous, x);
        let mut best_loss = eval.objective;
        let mut step = 2.0 * self.epsilon;
        let budget = self.iterations;
        let (mut interval, shrink, shortest) =
            ((budget * 22 / 100).max(1), (budget * 3 / 100).max(1), (budget * 6 / 100).max(1));
        let (mut since_checkpoint, mut rises, mut last_loss) = (0, 0, eval.objective);
        let (mut best_at_checkpoint, mut halved_at_checkpoint) = (best_loss, true);
        let mut stopped = false;
        while steps < budget {
            // z = Π(x + η·d(g)), then x ← Π(x + α(z − x) + (1 − α)(x − x_prev)).
            linalg::copy(step_to, x);
            self.norm.ascend(step_to, gradient, step);
            self.norm.project(original, step_to, self.epsilon, self.bounds);
            let alpha = if steps == 0 { 1.0 } else { MOMENTUM };
            for ((xi, prev), &zi) in x.iter_mut().zip(previous.iter_mut()).zip(step_to.iter()) {
                let next = *xi + alpha * (zi - *xi) + (1.0 - alpha) * (*xi - *prev);
                *prev = *xi;
                *xi = next;
            }
            self.norm.project(original, x, self.epsilon, self.bounds);
            eval = model.input_gradient(x, objective, ws, gradient)?;
            steps += 1;
            record(trace, steps, &eval, x);
            if self.early_stop.is_met(&goal, &eval.prediction) {
                stopped = true;
                break;
            }

            let loss = eval.objective;
            rises += u32::from(loss > last_loss);
            last_loss = loss;
            if loss > best_loss {
                best_loss = loss;
                linalg::copy(best, x);
                linalg::copy(best_gradient, gradient);
            }
            since_checkpoint += 1;
            if since_checkpoint == interval {
                let oscillating = rises as f32 <= RHO * interval as f32;
                let stalled = !halved_at_checkpoint && best_at_checkpoint >= best_loss;
                halved_at_checkpoint = oscillating || stalled;
                best_at_checkpoint = best_loss;
                if halved_at_checkpoint {
                    step *= 0.5;
                    linalg::copy(x, best);
                    linalg::copy(gradient, best_gradient);
                    last_loss = best_loss;
                }
                interval = interval.saturating_sub(shrink).max(shortest);
                since_checkpoint = 0;
                rises = 0;
            }
        }
        let last = if stopped {
            eval.prediction
        } else {
            linalg::copy(x, best);
            model.predict(x, ws)?
        };
        Ok(AttackReport::new(&goal, steps, &initial, &last, original, x))
    }
}
