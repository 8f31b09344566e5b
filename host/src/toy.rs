//! The seed exercise, section 2.A–2.C: a 6-feature logistic regression
//! `f(x) = σ(θᵀx)` with `θ = [−1, 1, −1, 1, 0, 0]`, inputs `xA = [1, 0, 1, 0, 0, 0]`
//! (class 0) and `xB = [0, 1, 0, 1, 0, 0]` (class 1).
//!
//! * 2.A: `∇_θ f(x) = σ(θᵀx)(1 − σ(θᵀx))·x` — points along `x`.
//! * 2.B: `∇ₓ f(x) = σ(θᵀx)(1 − σ(θᵀx))·θ` — points along `θ`.
//! * 2.C: gradient ascent on the input toward the other class turns `xA` into `xB` (and
//!   back): the modified input looks like the *target* class.

use nudge_core::attack::AttackScratch;
use nudge_core::{
    Attack, Classifier, EarlyStop, Goal, GradientAscent, LogisticRegression, Objective,
};

use crate::error::{Error, Result};

/// Features of the toy problem.
pub const N: usize = 6;
/// The seed's trained weights.
pub const THETA: [f32; N] = [-1.0, 1.0, -1.0, 1.0, 0.0, 0.0];
/// The class-0 example.
pub const XA: [f32; N] = [1.0, 0.0, 1.0, 0.0, 0.0, 0.0];
/// The class-1 example.
pub const XB: [f32; N] = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0];

/// `aᵀb / (‖a‖‖b‖)`, or 0 if either is zero.
pub fn cosine(a: &[f32; N], b: &[f32; N]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}

/// The seed's model.
pub fn model() -> LogisticRegression<N> {
    LogisticRegression { theta: THETA, bias: 0.0 }
}

/// `f(x)`, `∇_θ f(x)` and `∇ₓ f(x)` for one input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gradients {
    /// `f(x) = σ(θᵀx)`.
    pub f: f32,
    /// `∇_θ f(x)`.
    pub grad_theta: [f32; N],
    /// `∇ₓ f(x)`.
    pub grad_x: [f32; N],
}

/// Sections 2.A and 2.B for `x`.
pub fn gradients(x: &[f32; N]) -> Result<Gradients> {
    let m = model();
    let mut grad_theta = [0.0; N];
    let mut grad_x = [0.0; N];
    let f = m.gradient_wrt_theta(x, &mut grad_theta).map_err(|e| Error::kernel("toy model", e))?;
    m.gradient_wrt_input(x, &mut grad_x).map_err(|e| Error::kernel("toy model", e))?;
    Ok(Gradients { f, grad_theta, grad_x })
}

/// One point of the 2.C trajectory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Steps taken so far.
    pub iteration: u32,
    /// The input.
    pub x: [f32; N],
    /// `f(x)`, the probability of class 1.
    pub f: f32,
    /// The decision (class 1 iff `f(x) > 0.5`).
    pub class: usize,
    /// Cosine similarity to `xA`.
    pub cos_a: f32,
    /// Cosine similarity to `xB`.
    pub cos_b: f32,
}

/// Section 2.C: `iters` steps of gradient ascent on `log p(target)` from `xA`
/// (`start_b = false`, target class 1) or `xB` (target class 0), clipped to `[0, 1]`, run
/// one kernel step at a time so that every iterate is recorded.
pub fn descend(start_b: bool, iters: u32, step: f32) -> Result<Vec<Step>> {
    if iters == 0 {
        return Err(Error::argument("--iters", "must be ≥ 1"));
    }
    if !(step > 0.0 && step.is_finite()) {
        return Err(Error::argument("--step", format!("must be finite and > 0 (got {step})")));
    }
    let m = model();
    let (mut x, goal) =
        if start_b { (XB, Goal::targeted(1, 0)) } else { (XA, Goal::targeted(0, 1)) };
    let attack = GradientAscent { early_stop: EarlyStop::Never, ..GradientAscent::new(step, 1) };
    let mut scratch = AttackScratch::<_, [f32; 6]>::for_model(&m);
    let record = |iteration: u32, x: &[f32; N]| -> Result<Step> {
        let f = m.probability(x).map_err(|e| Error::kernel("toy model", e))?;
        Ok(Step {
            iteration,
            x: *x,
            f,
            class: usize::from(f > 0.5),
            cos_a: cosine(x, &XA),
            cos_b: cosine(x, &XB),
        })
    };
    let mut out = vec![record(0, &x)?];
    for i in 1..=iters {
        let mut next = [0.0; N];
        attack
            .run(&m, &x, goal, &mut next, &mut scratch, &mut ())
            .map_err(|e| Error::kernel("toy gradient ascent", e))?;
        x = next;
        out.push(record(i, &x)?);
    }
    Ok(out)
}

/// Trains the toy logistic regression on `{(xA, 0), (xB, 1)}` from `θ = 0` by full-batch
/// gradient descent on the cross-entropy, with the kernel's parameter gradient. Returns the
/// model and the loss after each epoch. The learned `θ` points along the seed's
/// `[−1, 1, −1, 1, 0, 0]`.
pub fn train_logreg(epochs: u32, lr: f32) -> Result<(LogisticRegression<N>, Vec<f32>)> {
    if epochs == 0 {
        return Err(Error::argument("--epochs", "must be ≥ 1"));
    }
    if !(lr > 0.0 && lr.is_finite()) {
        return Err(Error::argument("--lr", "must be finite and > 0"));
    }
    let mut m = LogisticRegression { theta: [0.0; N], bias: 0.0 };
    let mut losses = Vec::new();
    for _ in 0..epochs {
        let mut grad = LogisticRegression { theta: [0.0; N], bias: 0.0 };
        let mut loss = 0.0;
        for (x, y) in [(XA, 0), (XB, 1)] {
            let e = m
                .accumulate_parameter_gradient(
                    &x,
                    Objective::Untargeted { true_class: y },
                    &mut grad,
                )
                .map_err(|e| Error::kernel("toy training", e))?;
            loss += e.objective / 2.0;
        }
        for (t, g) in m.theta.iter_mut().zip(grad.theta) {
            *t -= lr * g / 2.0;
        }
        m.bias -= lr * grad.bias / 2.0;
        losses.push(loss);
    }
    let mut ws = ();
    m.predict(&XA, &mut ws).map_err(|e| Error::kernel("toy training", e))?;
    Ok((m, losses))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_point_along_x_and_theta() {
        let g = gradients(&XA).unwrap();
        assert!((cosine(&g.grad_theta, &XA) - 1.0).abs() < 1e-6);
        assert!((cosine(&g.grad_x, &THETA) - 1.0).abs() < 1e-6);
        assert!(g.f < 0.5);
    }

    #[test]
    fn ascent_turns_xa_into_xb() {
        let path = descend(false, 100, 0.5).unwrap();
        let last = path.last().unwrap();
        assert_eq!(last.class, 1);
        assert!(last.cos_b > 0.99 && last.cos_a < 0.01);
    }

    #[test]
    fn training_recovers_the_seed_direction() {
        let (m, losses) = train_logreg(200, 1.0).unwrap();
        assert!(cosine(&m.theta, &THETA) > 0.99);
        assert!(losses.last().unwrap() < &losses[0]);
    }
}
