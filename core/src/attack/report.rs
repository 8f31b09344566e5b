//! What an attack reports: success, confidence and perturbation size together, and an
//! optional bounded per-iteration trace.

use crate::linalg;
use crate::model::Prediction;
use crate::objective::Goal;

/// The outcome of one attack on one input.
///
/// "Watched" probabilities are those of the target class, or of the true class for an
/// untargeted attack (where success drives it down).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AttackReport {
    /// Whether the final input meets the goal.
    pub success: bool,
    /// Update steps taken (≤ the budget; fewer when stopped early).
    pub iterations: u32,
    /// The input's true class.
    pub true_class: usize,
    /// The target class, `None` when untargeted.
    pub target: Option<usize>,
    /// Class predicted for the original input.
    pub initial_class: usize,
    /// Class predicted for the adversarial input.
    pub final_class: usize,
    /// Probability of `initial_class` on the original input.
    pub initial_confidence: f32,
    /// Probability of `final_class` on the adversarial input.
    pub final_confidence: f32,
    /// Watched probability on the original input.
    pub initial_watched_probability: f32,
    /// Watched probability on the adversarial input.
    pub final_watched_probability: f32,
    /// `‖x − x⁰‖∞`.
    pub linf: f32,
    /// `‖x − x⁰‖₂`.
    pub l2: f32,
    /// Number of changed elements.
    pub l0: u32,
}

impl AttackReport {
    /// Assembles a report from the predictions before and after.
    pub fn new<const OUT: usize>(
        goal: &Goal,
        iterations: u32,
        initial: &Prediction<OUT>,
        last: &Prediction<OUT>,
        original: &[f32],
        adversarial: &[f32],
    ) -> Self {
        let watched = goal.watched_class();
        Self {
            success: goal.is_met(last),
            iterations,
            true_class: goal.true_class,
            target: goal.target,
            initial_class: initial.class,
            final_class: last.class,
            initial_confidence: initial.confidence(),
            final_confidence: last.confidence(),
            initial_watched_probability: initial.probability(watched),
            final_watched_probability: last.probability(watched),
            linf: linalg::linf_distance(adversarial, original),
            l2: linalg::l2_distance(adversarial, original),
            l0: linalg::l0_distance(adversarial, original),
        }
    }
}

/// One iteration of an attack, recorded before its update.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TraceStep {
    /// Iteration number, from 0.
    pub iteration: u32,
    /// Predicted class at this iterate.
    pub class: usize,
    /// Watched probability (target, or true class when untargeted).
    pub watched_probability: f32,
    /// Objective value `J`.
    pub objective: f32,
    /// `‖x − x⁰‖∞` at this iterate.
    pub linf: f32,
}

/// Where an attack records its per-iteration [`TraceStep`]s.
///
/// `()` records nothing (and costs nothing); a `heapless::Vec<TraceStep, N>` keeps the first
/// `N` steps and drops the rest, so a trace never allocates and never overflows.
pub trait Trace {
    /// Whether steps should be computed at all.
    fn is_enabled(&self) -> bool {
        true
    }
    /// Records one step.
    fn record(&mut self, step: TraceStep);
}

impl Trace for () {
    fn is_enabled(&self) -> bool {
        false
    }
    fn record(&mut self, _: TraceStep) {}
}

impl<const N: usize> Trace for heapless::Vec<TraceStep, N> {
    fn is_enabled(&self) -> bool {
        !self.is_full()
    }
    fn record(&mut self, step: TraceStep) {
        // Full: the trace is bounded by design; later steps are dropped.
        let _ = self.push(step);
    }
}
