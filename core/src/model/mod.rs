//! Differentiable classifiers: the [`Classifier`] trait and the models that implement it.
//!
//! A classifier maps an input `x ∈ ℝ^IN` to logits `z ∈ ℝ^OUT`; attacks need only its
//! prediction and the gradient of an [`Objective`] with respect to `x`.

mod logistic;
mod mlp;
mod mlp_bytes;
pub(crate) mod mlp_step;

pub use logistic::LogisticRegression;
pub use mlp::{Mlp, MlpParams, MlpWorkspace};

use crate::error::Error;
use crate::linalg;
use crate::objective::Objective;

/// Logits, probabilities and the predicted class for one input.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Prediction<const OUT: usize> {
    /// Raw scores `z`.
    pub logits: [f32; OUT],
    /// `softmax(z)`.
    pub probabilities: [f32; OUT],
    /// `log softmax(z)`, computed stably (not `ln` of the probabilities).
    pub log_probabilities: [f32; OUT],
    /// `argmax z` (lowest index on ties).
    pub class: usize,
}

impl<const OUT: usize> Prediction<OUT> {
    /// Builds a prediction from logits; fails if any logit is not finite.
    pub fn from_logits(logits: [f32; OUT]) -> Result<Self, Error> {
        if linalg::first_non_finite(&logits).is_some() {
            return Err(Error::NonFiniteResult);
        }
        let mut probabilities = [0.0; OUT];
        let mut log_probabilities = [0.0; OUT];
        crate::math::softmax(&logits, &mut probabilities, &mut log_probabilities);
        let mut class = 0;
        for (i, &z) in logits.iter().enumerate() {
            if logits.get(class).is_some_and(|&best| z > best) {
                class = i;
            }
        }
        Ok(Self { logits, probabilities, log_probabilities, class })
    }

    /// Probability of `class`, or 0 for a class the model does not have.
    pub fn probability(&self, class: usize) -> f32 {
        self.probabilities.get(class).copied().unwrap_or(0.0)
    }

    /// Probability of the predicted class.
    pub fn confidence(&self) -> f32 {
        self.probability(self.class)
    }
}

/// A prediction together with the value of the objective that was differentiated.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Evaluation<const OUT: usize> {
    /// The model's prediction at the input.
    pub prediction: Prediction<OUT>,
    /// `J(z)` for the objective.
    pub objective: f32,
}

impl<const OUT: usize> Evaluation<OUT> {
    /// A placeholder (all zeros, class 0) for arrays that are filled in afterwards.
    pub const EMPTY: Self = Self {
        prediction: Prediction {
            logits: [0.0; OUT],
            probabilities: [0.0; OUT],
            log_probabilities: [0.0; OUT],
            class: 0,
        },
        objective: 0.0,
    };
}

/// A classifier that can be differentiated with respect to its input.
///
/// Implementations allocate nothing: scratch space lives in the caller-owned
/// [`Classifier::Workspace`], which can be reused across calls.
pub trait Classifier<const IN: usize, const OUT: usize> {
    /// Scratch space for one forward and backward pass.
    type Workspace;

    /// A fresh workspace for this model.
    fn workspace(&self) -> Self::Workspace;

    /// The model's prediction for `x`. Fails on non-finite input or output.
    fn predict(&self, x: &[f32; IN], ws: &mut Self::Workspace) -> Result<Prediction<OUT>, Error>;

    /// `∇ₓ J` for `objective` at `x`, written to `gradient`, with the prediction at `x`.
    /// Fails on non-finite input, an out-of-range class, or a non-finite result.
    fn input_gradient(
        &self,
        x: &[f32; IN],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32; IN],
    ) -> Result<Evaluation<OUT>, Error>;

    /// The prediction and `J` for `objective` at `x`, leaving in `ws` what
    /// [`step_then_evaluate`](Self::step_then_evaluate) needs to continue from `x`.
    /// Fails like [`predict`](Self::predict), or on an out-of-range class.
    fn evaluate_objective(
        &self,
        x: &[f32; IN],
        objective: Objective,
        ws: &mut Self::Workspace,
    ) -> Result<Evaluation<OUT>, Error> {
        let prediction = self.predict(x, ws)?;
        let mut logit_grad = [0.0; OUT];
        let objective = objective.evaluate(&prediction, &mut logit_grad)?;
        Ok(Evaluation { prediction, objective })
    }

    /// One gradient step fused with the next evaluation — the inner loop of every attack.
    ///
    /// `x` must be the input of the last [`evaluate_objective`](Self::evaluate_objective)
    /// or `step_then_evaluate` with this workspace and objective. Writes `∇ₓJ` at `x` to
    /// `gradient`, lets `update(start, x_block, gradient_block)` change `x` (blocks of
    /// `x[start..]` and of the gradient, consecutive and in increasing order, covering
    /// `x` once; one whole-vector call unless `elementwise`), and returns the evaluation at
    /// the updated `x`: the same bits as [`input_gradient`](Self::input_gradient), the
    /// update, and `evaluate_objective`, which is what the default does.
    ///
    /// `elementwise` promises that the update of each element reads only that element
    /// (and data the caller indexes by `start`), so a model may update each block as soon
    /// as its gradient is known: [`Mlp`] then streams its first layer once per step
    /// instead of twice. Fails like `input_gradient`, before updating a block whose
    /// gradient is not finite.
    fn step_then_evaluate<U>(
        &self,
        x: &mut [f32; IN],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32; IN],
        elementwise: bool,
        mut update: U,
    ) -> Result<Evaluation<OUT>, Error>
    where
        U: FnMut(usize, &mut [f32], &[f32]),
    {
        let _ = elementwise;
        self.input_gradient(x, objective, ws, gradient)?;
        update(0, x, gradient);
        self.evaluate_objective(x, objective, ws)
    }
}

/// Fails with [`Error::NonFiniteInput`] if any element of `x` is NaN or infinite.
pub(crate) fn check_finite_input(x: &[f32]) -> Result<(), Error> {
    match linalg::first_non_finite(x) {
        Some(index) => Err(Error::NonFiniteInput { index }),
        None => Ok(()),
    }
}

/// Fails with [`Error::NonFiniteResult`] if any element of a computed gradient is not finite.
pub(crate) fn check_finite_result(x: &[f32]) -> Result<(), Error> {
    match linalg::first_non_finite(x) {
        Some(_) => Err(Error::NonFiniteResult),
        None => Ok(()),
    }
}
