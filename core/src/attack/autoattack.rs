//! AutoAttack's standard ensemble (Croce & Hein, 2020), one input at a time: APGD-CE, then
//! APGD-T, then Square, each run only while the input is still classified correctly.
//!
//! | stage | attack | settings (AutoAttack "standard") |
//! | --- | --- | --- |
//! | [`Stage::ApgdCe`] | [`Apgd`] on the cross-entropy | 100 steps, one random start |
//! | [`Stage::ApgdT`] | [`Apgd`] on the targeted DLR loss | 100 steps toward each of the 9 classes with the highest clean logits after the true one |
//! | [`Stage::Square`] | [`Square`] (L∞ only) | 5,000 queries, `p_init = 0.8` |
//!
//! An input counts as robust when it is classified correctly and no stage finds a
//! misclassified point in the ε-ball: robust accuracy is the fraction of such inputs.
//! AutoAttack's fourth attack, FAB-T, is left out: in the paper's tables it lowers the
//! robust accuracy of the first three by at most a few hundredths of a point. Each attack
//! stops at its first success (the reference code runs whole batches to the end), so
//! the verdict is the same with less work. Seeds are derived from [`AutoAttack::seed`], the
//! stage and the target, so a run is repeatable bit for bit.

use super::pgd::Norm;
use super::{Apgd, ApgdLoss, AttackReport, AttackScratch, Bounds, Square, checks};
use crate::error::Error;
use crate::linalg;
use crate::model::{Classifier, Prediction};
use crate::network::Shape;
use crate::objective::Goal;
use crate::storage::ArenaStorage;

/// One attack of the ensemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage {
    /// APGD on the cross-entropy.
    ApgdCe,
    /// APGD on the targeted DLR loss, toward each of the top other classes in turn.
    ApgdT,
    /// Square Attack (score-based; L∞ only).
    Square,
}

impl Stage {
    /// AutoAttack's standard order.
    pub const STANDARD: [Stage; 3] = [Stage::ApgdCe, Stage::ApgdT, Stage::Square];

    /// The name AutoAttack gives it (`apgd-ce`, `apgd-t`, `square`).
    pub const fn name(self) -> &'static str {
        match self {
            Stage::ApgdCe => "apgd-ce",
            Stage::ApgdT => "apgd-t",
            Stage::Square => "square",
        }
    }
}

/// AutoAttack's standard ensemble (Croce & Hein, 2020) with a budget ε in the norm `N`:
/// [`Stage::ApgdCe`], [`Stage::ApgdT`] and [`Stage::Square`] in turn on one input, each
/// only while it is still classified correctly, each stopping at its first success
/// (FAB-T is left out).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AutoAttack<N> {
    /// Budget ε (≥ 0), in the norm `N`.
    pub epsilon: f32,
    /// APGD's step budget per run (100).
    pub iterations: u32,
    /// How many target classes APGD-T tries (9; at most the model's classes − 1).
    pub target_classes: usize,
    /// Square's query budget (5,000).
    pub queries: u32,
    /// Square's initial window fraction (0.8).
    pub p_init: f32,
    /// Seed of every random start and draw.
    pub seed: u64,
    /// The input's layout, for Square's windows (`C·H·W` = the model's input length).
    pub shape: Shape,
    /// Input bounds.
    pub bounds: Bounds,
    /// The norm.
    pub norm: N,
}

/// What the ensemble found for one input.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EnsembleReport {
    /// Whether the clean input is classified correctly (if not, no stage runs).
    pub clean_correct: bool,
    /// The stage that found the adversarial example; `None` if the input is robust or was
    /// misclassified to begin with.
    pub broken_by: Option<Stage>,
    /// The report of the attack that succeeded, else of the last attack run (for a
    /// misclassified input: the clean input, no iterations).
    pub report: AttackReport,
    /// Gradient evaluations spent (forward and backward passes), over all stages.
    pub gradients: u32,
    /// Forward passes spent by Square (queries and its start), and the clean prediction.
    pub forward_passes: u32,
}

impl EnsembleReport {
    /// Whether the input is robust: classified correctly and not broken by any stage.
    pub fn robust(&self) -> bool {
        self.clean_correct && self.broken_by.is_none()
    }
}

impl<N: Norm> AutoAttack<N> {
    /// Scratch vectors (each as long as the input) that [`run`](Self::run) needs.
    pub const SCRATCH_VECTORS: usize = Apgd::<N>::SCRATCH_VECTORS;

    /// AutoAttack's standard settings at `epsilon` for inputs of `shape`.
    pub const fn standard(epsilon: f32, shape: Shape, seed: u64) -> Self {
        Self {
            epsilon,
            iterations: 100,
            target_classes: 9,
            queries: 5000,
            p_init: 0.8,
            seed,
            shape,
            bounds: Bounds::UNIT,
            norm: N::DEFAULT,
        }
    }

    /// Fails on a bad ε, budget, fraction or shape, or Square in another norm than L∞.
    pub fn validate(&self, stages: &[Stage]) -> Result<(), Error> {
        checks::non_negative("epsilon", self.epsilon)?;
        checks::at_least_one("iterations", self.iterations)?;
        if stages.contains(&Stage::ApgdT) && self.target_classes == 0 {
            return Err(Error::InvalidParameter { name: "target_classes", expected: "≥ 1" });
        }
        if stages.contains(&Stage::Square) {
            if N::NAME != "linf" {
                return Err(Error::InvalidParameter {
                    name: "stages",
                    expected: "Square only in L∞",
                });
            }
            self.square(0).validate()?;
        }
        self.bounds.validate()
    }

    /// The APGD run of stage `stage` (toward `target` for APGD-T).
    fn apgd(&self, loss: ApgdLoss, salt: u64) -> Apgd<N> {
        Apgd {
            bounds: self.bounds,
            norm: self.norm,
            ..Apgd::new(self.epsilon, self.iterations, loss, self.seed ^ salt)
        }
    }

    /// The Square run, its seed mixed with `salt`.
    fn square(&self, salt: u64) -> Square {
        Square {
            p_init: self.p_init,
            bounds: self.bounds,
            ..Square::new(self.epsilon, self.queries, self.shape, self.seed ^ salt)
        }
    }

    /// Runs `stages` in order on `original` of class `true_class` until one finds a
    /// misclassified point, which is left in `adversarial`; a robust or misclassified
    /// input leaves `original` there. `salt` varies the seeds per input (the host passes
    /// the input's index), so that inputs do not share random draws. `scratch` needs
    /// [`SCRATCH_VECTORS`](Self::SCRATCH_VECTORS) vectors.
    ///
    /// Fails, before any work, on bad settings ([`validate`](Self::validate)), a class out
    /// of range or inputs the model cannot take; APGD-T is skipped on a model with fewer
    /// than 4 classes (its loss needs them).
    #[allow(clippy::too_many_arguments)]
    pub fn run<M, G, const OUT: usize>(
        &self,
        model: &M,
        original: &[f32],
        true_class: usize,
        stages: &[Stage],
        salt: u64,
        adversarial: &mut [f32],
        scratch: &mut AttackScratch<M::Workspace, G>,
    ) -> Result<EnsembleReport, Error>
    where
        M: Classifier<OUT>,
        G: ArenaStorage,
    {
        self.validate(stages)?;
        let goal = Goal::untargeted(true_class);
        goal.validate(model.classes())?;
        super::check_lengths(model.input_len(), original, adversarial)?;
        self.bounds.check(original)?;
        let clean: Prediction<OUT> = model.predict(original, &mut scratch.model)?;
        let mut out = EnsembleReport {
            clean_correct: clean.class == true_class,
            broken_by: None,
            report: AttackReport::new(&goal, 0, &clean, &clean, original, original),
            gradients: 0,
            forward_passes: 1,
        };
        linalg::copy(adversarial, original);
        if !out.clean_correct {
            return Ok(out);
        }
        let salt = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for &stage in stages {
            // Salted by the stage itself, not its place: one stage run alone draws what it
            // draws in the whole ensemble.
            let stage_salt = salt ^ ((stage as u64 + 1) << 56);
            let found = match stage {
                Stage::ApgdCe => {
                    let report = self.apgd(ApgdLoss::CrossEntropy, stage_salt).run(
                        model,
                        original,
                        goal,
                        adversarial,
                        scratch,
                        &mut (),
                    )?;
                    out.gradients += report.iterations + 1;
                    report
                }
                Stage::ApgdT => {
                    let Some(report) = self.targeted(
                        model,
                        original,
                        &clean,
                        stage_salt,
                        adversarial,
                        scratch,
                        &mut out,
                    )?
                    else {
                        continue;
                    };
                    report
                }
                Stage::Square => {
                    let report =
                        self.square(stage_salt).run(model, original, goal, adversarial, scratch)?;
                    out.forward_passes += report.iterations + 1;
                    report
                }
            };
            out.report = found;
            if found.success {
                out.broken_by = Some(stage);
                return Ok(out);
            }
        }
        linalg::copy(adversarial, original);
        Ok(out)
    }

    /// APGD-T: APGD on the targeted DLR loss toward the classes with the 2nd, 3rd, …
    /// highest clean logits, until one run succeeds. `None` if the model has fewer than 4
    /// classes.
    #[allow(clippy::too_many_arguments)]
    fn targeted<M, G, const OUT: usize>(
        &self,
        model: &M,
        original: &[f32],
        clean: &Prediction<OUT>,
        salt: u64,
        adversarial: &mut [f32],
        scratch: &mut AttackScratch<M::Workspace, G>,
        out: &mut EnsembleReport,
    ) -> Result<Option<AttackReport>, Error>
    where
        M: Classifier<OUT>,
        G: ArenaStorage,
    {
        let classes = model.classes();
        if classes < 4 {
            return Ok(None);
        }
        let goal = Goal::untargeted(clean.class);
        let mut last = None;
        let mut taken = [false; OUT];
        for rank in 1..=self.target_classes.min(classes - 1) {
            let target = next_highest(clean.logits(), &mut taken, clean.class);
            let loss = ApgdLoss::DlrTargeted { target };
            let apgd = self.apgd(loss, salt ^ ((rank as u64) << 48));
            let report = apgd.run(model, original, goal, adversarial, scratch, &mut ())?;
            out.gradients += report.iterations + 1;
            last = Some(report);
            if report.success {
                break;
            }
        }
        Ok(last)
    }
}

/// The class with the highest logit not yet `taken` and not `skip` (lowest index on ties),
/// marked taken.
fn next_highest(logits: &[f32], taken: &mut [bool], skip: usize) -> usize {
    let mut best: Option<(usize, f32)> = None;
    for (i, (&z, &t)) in logits.iter().zip(taken.iter()).enumerate() {
        if i != skip && !t && best.is_none_or(|(_, b)| z > b) {
            best = Some((i, z));
        }
    }
    let class = best.map_or(0, |(i, _)| i);
    if let Some(t) = taken.get_mut(class) {
        *t = true;
    }
    class
}
