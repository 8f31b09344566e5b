//! Logistic regression, the seed exercise's first model: `f(x) = σ(θᵀx + b)`.
//!
//! Gradients (seed 2.A and 2.B), with `s = σ(θᵀx + b)`:
//! `∇_θ f = s(1−s)·x` (points along `x`) and `∇ₓ f = s(1−s)·θ` (points along `θ`).
//!
//! As a [`Classifier`] it has two classes with logits `[0, θᵀx + b]`, so that
//! `softmax = [1 − f(x), f(x)]` and class 1 is the positive class; attacks and objectives
//! then treat it like any other model.

use crate::error::Error;
use crate::linalg;
use crate::model::{
    Classifier, Evaluation, Prediction, as_array, as_array_mut, check_finite_input,
    check_finite_result,
};
use crate::objective::Objective;

/// `f(x) = σ(θᵀx + b)` over `N` features.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LogisticRegression<const N: usize> {
    /// Weights `θ`.
    pub theta: [f32; N],
    /// Bias `b`.
    pub bias: f32,
}

impl<const N: usize> LogisticRegression<N> {
    /// A model with weights `theta` and bias `bias`. Fails on non-finite parameters.
    pub fn new(theta: [f32; N], bias: f32) -> Result<Self, Error> {
        if let Some(index) = linalg::first_non_finite(&theta) {
            return Err(Error::NonFiniteWeight { index });
        }
        if !bias.is_finite() {
            return Err(Error::NonFiniteWeight { index: N });
        }
        Ok(Self { theta, bias })
    }

    /// The score `θᵀx + b`.
    pub fn score(&self, x: &[f32; N]) -> f32 {
        linalg::dot(&self.theta, x) + self.bias
    }

    /// `f(x) = σ(θᵀx + b)`, the probability of class 1.
    pub fn probability(&self, x: &[f32; N]) -> Result<f32, Error> {
        check_finite_input(x)?;
        Ok(crate::math::sigmoid(self.score(x)))
    }

    /// `∇_θ f(x) = σ(1−σ)·x`, written to `out`; returns `f(x)`.
    pub fn gradient_wrt_theta(&self, x: &[f32; N], out: &mut [f32; N]) -> Result<f32, Error> {
        let s = self.probability(x)?;
        let scale = s * (1.0 - s);
        for (o, &xi) in out.iter_mut().zip(x) {
            *o = scale * xi;
        }
        Ok(s)
    }

    /// `∇ₓ f(x) = σ(1−σ)·θ`, written to `out`; returns `f(x)`.
    pub fn gradient_wrt_input(&self, x: &[f32; N], out: &mut [f32; N]) -> Result<f32, Error> {
        let s = self.probability(x)?;
        let scale = s * (1.0 - s);
        for (o, &t) in out.iter_mut().zip(&self.theta) {
            *o = scale * t;
        }
        Ok(s)
    }

    /// Adds `∇_{θ,b} J` for `objective` at `x` to `grad` (θ and b), e.g. for training.
    pub fn accumulate_parameter_gradient(
        &self,
        x: &[f32; N],
        objective: Objective,
        grad: &mut Self,
    ) -> Result<Evaluation<2>, Error> {
        let (evaluation, dscore) = self.evaluate(x, objective)?;
        linalg::add_scaled(&mut grad.theta, dscore, x);
        grad.bias += dscore;
        Ok(evaluation)
    }

    /// Prediction, `J`, and `∂J/∂score` at `x`.
    fn evaluate(&self, x: &[f32; N], objective: Objective) -> Result<(Evaluation<2>, f32), Error> {
        check_finite_input(x)?;
        let prediction = Prediction::from_logits(&[0.0, self.score(x)])?;
        let mut dz = [0.0; 2];
        let objective = objective.evaluate(&prediction, &mut dz)?;
        // Only the second logit depends on θ, b and x.
        Ok((Evaluation { prediction, objective }, dz[1]))
    }
}

impl<const N: usize> Classifier<2> for LogisticRegression<N> {
    type Workspace = ();

    fn input_len(&self) -> usize {
        N
    }

    fn classes(&self) -> usize {
        2
    }

    fn workspace(&self) -> Self::Workspace {}

    fn predict(&self, x: &[f32], (): &mut ()) -> Result<Prediction<2>, Error> {
        let x = as_array(x, "input")?;
        check_finite_input(x)?;
        Prediction::from_logits(&[0.0, self.score(x)])
    }

    fn input_gradient(
        &self,
        x: &[f32],
        objective: Objective,
        (): &mut (),
        gradient: &mut [f32],
    ) -> Result<Evaluation<2>, Error> {
        let x = as_array::<N>(x, "input")?;
        let gradient = as_array_mut::<N>(gradient, "input gradient")?;
        let (evaluation, dscore) = self.evaluate(x, objective)?;
        for (g, &t) in gradient.iter_mut().zip(&self.theta) {
            *g = dscore * t;
        }
        check_finite_result(gradient)?;
        Ok(evaluation)
    }
}
