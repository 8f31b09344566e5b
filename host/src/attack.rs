//! Attacks as the CLI runs them: settings with per-method defaults and range checks, one
//! attack on one image, and the seed's 2.D experiment over every class pair.

use nudge_core::attack::AttackScratch;
use nudge_core::{
    Attack, AttackReport, Bounds, Classifier, EarlyStop, Fgsm, Goal, GradientAscent, PgdL2,
    PgdLinf, Prediction,
};
use rayon::prelude::*;

use crate::MAX_CLASSES;
use crate::data::Split;
use crate::error::{Error, Result};
use crate::model::Net;

/// Which attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The seed's gradient ascent on the input, no budget: `x ← clip(x + step·∇ₓ log p_t)`.
    Gradient,
    /// One signed step of size ε.
    Fgsm,
    /// Projected gradient descent in L∞ (ε-ball, signed steps).
    Pgd,
    /// Projected gradient descent in L2 (ε-ball, normalised steps).
    PgdL2,
}

impl Method {
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Method::Gradient => "gradient",
            Method::Fgsm => "fgsm",
            Method::Pgd => "pgd",
            Method::PgdL2 => "pgd-l2",
        }
    }
}

/// Attack settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The attack.
    pub method: Method,
    /// Iteration budget (ignored by FGSM).
    pub iters: u32,
    /// Step size (gradient ascent: multiplies the raw gradient; PGD: α).
    pub step: f32,
    /// Budget ε (FGSM and PGD: L∞; PGD-L2: L2; ignored by gradient ascent).
    pub eps: f32,
    /// Stop once the target is predicted with at least this probability (0: on success).
    pub confidence: f32,
}

impl Settings {
    /// The defaults for `method`, chosen so that the committed model flips with high
    /// confidence on most digits.
    pub fn defaults(method: Method) -> Self {
        let (iters, step, eps) = match method {
            Method::Gradient => (200, 0.01, 0.0),
            Method::Fgsm => (1, 0.0, 0.15),
            Method::Pgd => (100, 0.01, 0.2),
            Method::PgdL2 => (100, 0.1, 2.0),
        };
        Settings { method, iters, step, eps, confidence: 0.9 }
    }

    /// Checks ranges; errors name the flag.
    pub fn validate(&self) -> Result<()> {
        if self.iters == 0 {
            return Err(Error::argument("--iters", "must be ≥ 1"));
        }
        if self.method != Method::Fgsm && !(self.step > 0.0 && self.step.is_finite()) {
            return Err(Error::argument(
                "--step",
                format!("must be finite and > 0 (got {})", self.step),
            ));
        }
        if self.method != Method::Gradient && !(self.eps >= 0.0 && self.eps.is_finite()) {
            return Err(Error::argument(
                "--eps",
                format!("must be finite and ≥ 0 (got {})", self.eps),
            ));
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(Error::argument("--confidence", "must be in [0, 1]"));
        }
        Ok(())
    }

    fn early_stop(&self) -> EarlyStop {
        if self.confidence > 0.0 {
            EarlyStop::Confidence(self.confidence)
        } else {
            EarlyStop::OnSuccess
        }
    }
}

/// One attack's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The kernel's report.
    pub report: AttackReport,
    /// Prediction on the original image.
    pub before: Prediction<MAX_CLASSES>,
    /// Prediction on the adversarial image.
    pub after: Prediction<MAX_CLASSES>,
    /// The adversarial input, as long as the original.
    pub adversarial: Vec<f32>,
}

/// Runs the attack in `s` on `x` (the model's input size) toward `goal`.
pub fn run(model: &Net<'_>, x: &[f32], goal: Goal, s: &Settings) -> Result<Outcome> {
    s.validate()?;
    let mut scratch = AttackScratch::<_, Vec<f32>>::for_model(model);
    let mut adversarial = vec![0.0; x.len()];
    let stop = s.early_stop();
    let report =
        match s.method {
            Method::Gradient => GradientAscent {
                step: s.step,
                iterations: s.iters,
                early_stop: stop,
                bounds: Bounds::UNIT,
            }
            .run(model, x, goal, &mut adversarial, &mut scratch, &mut ()),
            Method::Fgsm => {
                Fgsm::new(s.eps).run(model, x, goal, &mut adversarial, &mut scratch, &mut ())
            }
            Method::Pgd => PgdLinf { early_stop: stop, ..PgdLinf::new(s.eps, s.step, s.iters) }
                .run(model, x, goal, &mut adversarial, &mut scratch, &mut ()),
            Method::PgdL2 => PgdL2 { early_stop: stop, ..PgdL2::new(s.eps, s.step, s.iters) }.run(
                model,
                x,
                goal,
                &mut adversarial,
                &mut scratch,
                &mut (),
            ),
        }
        .map_err(|e| Error::kernel(format!("{} attack", s.method.name()), e))?;
    let before =
        model.predict(x, &mut scratch.model).map_err(|e| Error::kernel("prediction", e))?;
    let after = model
        .predict(&adversarial, &mut scratch.model)
        .map_err(|e| Error::kernel("prediction", e))?;
    Ok(Outcome { report, before, after, adversarial })
}

/// One cell of the class-pair experiment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trial {
    /// Test-set index of the image.
    pub index: usize,
    /// Its (true and predicted) class.
    pub source: usize,
    /// The class the attack aimed for.
    pub target: usize,
    /// The kernel's report.
    pub report: AttackReport,
}

/// Indices of the first `per_class` test images of each of `classes` classes that the
/// model classifies correctly, by class.
pub fn correct_examples(
    predictions: &[usize],
    labels: &[usize],
    classes: usize,
    per_class: usize,
) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); classes];
    for (i, (&pred, &label)) in predictions.iter().zip(labels).enumerate() {
        if let Some(found) = out.get_mut(label).filter(|f| pred == label && f.len() < per_class) {
            found.push(i);
        }
    }
    out
}

/// The seed's 2.D experiment: every `(source, target)` pair with `source ≠ target`, on each
/// image in `examples[source]`, in parallel. Trials come back in (source, target, image)
/// order; `on_done` is called once per trial (from any thread).
pub fn pair_experiment(
    model: &Net<'_>,
    data: &Split,
    examples: &[Vec<usize>],
    s: &Settings,
    on_done: &(dyn Fn() + Sync),
) -> Result<Vec<Trial>> {
    let mut jobs = Vec::new();
    for (source, idx) in examples.iter().enumerate() {
        for target in (0..examples.len()).filter(|&t| t != source) {
            jobs.extend(idx.iter().map(|&index| (source, target, index)));
        }
    }
    jobs.par_iter()
        .map(|&(source, target, index)| {
            let x = data.input(index).unwrap_or(&[]);
            let outcome = run(model, x, Goal::targeted(source, target), s)?;
            on_done();
            Ok(Trial { index, source, target, report: outcome.report })
        })
        .collect()
}

/// The median of `v` (mean of the middle two for an even count), or `None` if empty.
pub fn median(mut v: Vec<f32>) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }

    #[test]
    fn settings_reject_bad_values() {
        let s = Settings::defaults(Method::Pgd);
        assert!(
            Settings { eps: -0.1, ..s }.validate().unwrap_err().to_string().starts_with("--eps")
        );
        assert!(
            Settings { step: f32::NAN, ..s }
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("--step")
        );
        assert!(
            Settings { iters: 0, ..s }.validate().unwrap_err().to_string().starts_with("--iters")
        );
    }
}
