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
///
/// `OUT` is a capacity: a prediction holds up to `OUT` classes, and
/// [`classes`](Self::classes) says how many the model has (a firmware build uses its
/// model's exact count; a host picks a bound such as 256 and runs any network under it).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Prediction<const OUT: usize> {
    logits: [f32; OUT],
    probabilities: [f32; OUT],
    log_probabilities: [f32; OUT],
    classes: usize,
    /// `argmax z` (lowest index on ties).
    pub class: usize,
}

impl<const OUT: usize> Prediction<OUT> {
    /// Builds a prediction from logits. Fails with [`Error::NonFiniteResult`] if any logit
    /// is not finite, or [`Error::ClassCapacity`] if there are none or more than `OUT`.
    pub fn from_logits(logits: &[f32]) -> Result<Self, Error> {
        if logits.is_empty() || logits.len() > OUT {
            return Err(Error::ClassCapacity { classes: logits.len(), capacity: OUT });
        }
        if linalg::first_non_finite(logits).is_some() {
            return Err(Error::NonFiniteResult);
        }
        let classes = logits.len();
        let mut prediction = Self {
            logits: [0.0; OUT],
            probabilities: [0.0; OUT],
            log_probabilities: [0.0; OUT],
            classes,
            class: argmax(logits),
        };
        linalg::copy(&mut prediction.logits, logits);
        // `softmax` writes only the first `classes` elements (it zips with the logits).
        let (p, lp) = (&mut prediction.probabilities, &mut prediction.log_probabilities);
        crate::math::softmax(logits, p, lp);
        Ok(prediction)
    }

    /// How many classes the model has (≤ `OUT`).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Raw scores `z`, one per class.
    pub fn logits(&self) -> &[f32] {
        self.logits.get(..self.classes).unwrap_or(&[])
    }

    /// `softmax(z)`.
    pub fn probabilities(&self) -> &[f32] {
        self.probabilities.get(..self.classes).unwrap_or(&[])
    }

    /// `log softmax(z)`, computed stably (not `ln` of the probabilities).
    pub fn log_probabilities(&self) -> &[f32] {
        self.log_probabilities.get(..self.classes).unwrap_or(&[])
    }

    /// Probability of `class`, or 0 for a class the model does not have.
    pub fn probability(&self, class: usize) -> f32 {
        self.probabilities().get(class).copied().unwrap_or(0.0)
    }

    /// Probability of the predicted class.
    pub fn confidence(&self) -> f32 {
        self.probability(self.class)
    }
}

/// The index of the largest score, the lowest on ties (0 for an empty slice). NaN never
/// wins, so callers check finiteness first.
pub fn argmax(scores: &[f32]) -> usize {
    let mut best = 0;
    for (i, &z) in scores.iter().enumerate() {
        if scores.get(best).is_some_and(|&b| z > b) {
            best = i;
        }
    }
    best
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
            classes: 0,
            class: 0,
        },
        objective: 0.0,
    };
}

/// A classifier that can be differentiated with respect to its input.
///
/// Implementations allocate nothing: scratch space lives in the caller-owned
/// [`Classifier::Workspace`], which can be reused across calls.
pub trait Classifier<const OUT: usize> {
    /// Scratch space for one forward and backward pass.
    type Workspace;

    /// The number of input elements `x` has.
    fn input_len(&self) -> usize;

    /// The number of classes (≤ `OUT`, the predictions' capacity).
    fn classes(&self) -> usize;

    /// A fresh workspace for this model.
    fn workspace(&self) -> Self::Workspace;

    /// The model's prediction for `x`. Fails on an `x` that is not
    /// [`input_len`](Self::input_len) long ([`Error::Length`]), non-finite input or output.
    fn predict(&self, x: &[f32], ws: &mut Self::Workspace) -> Result<Prediction<OUT>, Error>;

    /// `∇ₓ J` for `objective` at `x`, written to `gradient` (as long as `x`), with the
    /// prediction at `x`. Fails on a wrong length, non-finite input, an out-of-range class,
    /// or a non-finite result.
    fn input_gradient(
        &self,
        x: &[f32],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32],
    ) -> Result<Evaluation<OUT>, Error>;

    /// The prediction and `J` for `objective` at `x`, leaving in `ws` what
    /// [`step_then_evaluate`](Self::step_then_evaluate) needs to continue from `x`.
    /// Fails like [`predict`](Self::predict), or on an out-of-range class.
    fn evaluate_objective(
        &self,
        x: &[f32],
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
        x: &mut [f32],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32],
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

/// `buffer` as an array of `N`, or [`Error::Length`] naming `what`.
pub(crate) fn as_array<'a, const N: usize>(
    buffer: &'a [f32],
    what: &'static str,
) -> Result<&'a [f32; N], Error> {
    buffer.try_into().map_err(|_| Error::Length { what, expected: N, found: buffer.len() })
}

/// [`as_array`] for a buffer the caller writes.
pub(crate) fn as_array_mut<'a, const N: usize>(
    buffer: &'a mut [f32],
    what: &'static str,
) -> Result<&'a mut [f32; N], Error> {
    let found = buffer.len();
    buffer.try_into().map_err(|_| Error::Length { what, expected: N, found })
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
