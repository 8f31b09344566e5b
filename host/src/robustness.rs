//! Robust accuracy under an AutoAttack-grade evaluation, on all cores.
//!
//! `robust = #{i : f(xᵢ) = yᵢ and no attack finds x' with ‖x' − xᵢ‖ ≤ ε, f(x') ≠ yᵢ} / n`.
//!
//! The attacks run as passes over the test images, as AutoAttack does: each pass attacks
//! only the images every earlier pass left classified correctly, and the robust accuracy
//! after each pass is reported. The `autoattack` choice is the kernel's standard ensemble
//! ([`nudge_core::AutoAttack`]): APGD-CE, APGD-T (9 targets), Square (5,000 queries; L∞
//! only). One pass per stage gives the same bits as the kernel's ensemble run on each
//! image, because each stage's seeds depend on the stage and the image's index only. The
//! baselines `pgd` (PGD-k untargeted, `α = 2.5ε/k`, Madry et al.) and `fgsm` (L∞) are one
//! pass each.

use std::time::Instant;

use nudge_core::attack::{AttackScratch, L2, Linf, Norm as KernelNorm, Stage};
use nudge_core::{Attack, AutoAttack, Classifier, EarlyStop, Fgsm, Goal, PgdL2, PgdLinf};
use rayon::prelude::*;
use serde::Serialize;

use crate::MAX_CLASSES;
use crate::data::Split;
use crate::error::{Error, Result};
use crate::report::Progress;

/// The norm of the budget ε.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// ‖x' − x‖∞ ≤ ε.
    Linf,
    /// ‖x' − x‖₂ ≤ ε.
    L2,
}

impl Norm {
    /// The name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Norm::Linf => Linf::NAME,
            Norm::L2 => L2::NAME,
        }
    }
}

/// What to run (also the values of `nudge robustness --attack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum AttackChoice {
    /// APGD-CE, APGD-T, Square (L∞) on the images still robust, in turn.
    Autoattack,
    /// APGD on the cross-entropy.
    ApgdCe,
    /// APGD on the targeted DLR loss, toward the top other classes.
    ApgdT,
    /// Square Attack (score-based, L∞).
    Square,
    /// PGD untargeted on the cross-entropy (the baseline AutoAttack replaces).
    Pgd,
    /// FGSM (L∞).
    Fgsm,
}

impl AttackChoice {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            AttackChoice::Autoattack => "autoattack",
            AttackChoice::ApgdCe => "apgd-ce",
            AttackChoice::ApgdT => "apgd-t",
            AttackChoice::Square => "square",
            AttackChoice::Pgd => "pgd",
            AttackChoice::Fgsm => "fgsm",
        }
    }

    /// The passes this choice runs, in order, for `norm`.
    fn passes(self, norm: Norm) -> Vec<Pass> {
        match self {
            AttackChoice::Autoattack if norm == Norm::L2 => {
                vec![Pass::Kernel(Stage::ApgdCe), Pass::Kernel(Stage::ApgdT)]
            }
            AttackChoice::Autoattack => Stage::STANDARD.iter().map(|&s| Pass::Kernel(s)).collect(),
            AttackChoice::ApgdCe => vec![Pass::Kernel(Stage::ApgdCe)],
            AttackChoice::ApgdT => vec![Pass::Kernel(Stage::ApgdT)],
            AttackChoice::Square => vec![Pass::Kernel(Stage::Square)],
            AttackChoice::Pgd => vec![Pass::Pgd],
            AttackChoice::Fgsm => vec![Pass::Fgsm],
        }
    }
}

/// One pass over the images still robust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Kernel(Stage),
    Pgd,
    Fgsm,
}

impl Pass {
    fn name(self, cfg: &Config) -> String {
        match self {
            Pass::Kernel(stage) => stage.name().to_string(),
            Pass::Pgd => format!("pgd-{}", cfg.pgd_iterations),
            Pass::Fgsm => "fgsm".to_string(),
        }
    }
}

/// The evaluation's settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// Budget ε (pixel values in `[0, 1]`).
    pub epsilon: f32,
    /// Its norm.
    pub norm: Norm,
    /// The attack or ensemble.
    pub attack: AttackChoice,
    /// APGD's steps per run (AutoAttack: 100).
    pub iterations: u32,
    /// Targets of APGD-T (AutoAttack: 9).
    pub target_classes: usize,
    /// Square's queries (AutoAttack: 5,000).
    pub queries: u32,
    /// PGD's steps for `--attack pgd`.
    pub pgd_iterations: u32,
    /// Seed of every random start and draw.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            epsilon: 0.1,
            norm: Norm::Linf,
            attack: AttackChoice::Autoattack,
            iterations: 100,
            target_classes: 9,
            queries: 5000,
            pgd_iterations: 40,
            seed: 0,
        }
    }
}

impl Config {
    /// Checks ranges and combinations; errors name the flag.
    pub fn validate(&self) -> Result<()> {
        if !(self.epsilon >= 0.0 && self.epsilon.is_finite()) {
            return Err(Error::argument(
                "--eps",
                format!("must be finite and ≥ 0 (got {})", self.epsilon),
            ));
        }
        if self.norm == Norm::Linf && self.epsilon > 1.0 {
            return Err(Error::argument(
                "--eps",
                "an L∞ budget above 1 covers the whole [0, 1] box",
            ));
        }
        for (flag, value) in [
            ("--iters", self.iterations),
            ("--queries", self.queries),
            ("--pgd-iters", self.pgd_iterations),
        ] {
            if value == 0 {
                return Err(Error::argument(flag, "must be ≥ 1"));
            }
        }
        if self.target_classes == 0 {
            return Err(Error::argument("--targets", "must be ≥ 1"));
        }
        if self.norm == Norm::L2 && matches!(self.attack, AttackChoice::Square | AttackChoice::Fgsm)
        {
            return Err(Error::argument(
                "--attack",
                format!("{} is an L∞ attack; use --norm linf", self.attack.name()),
            ));
        }
        Ok(())
    }

    /// The names of the passes, in order.
    pub fn pass_names(&self) -> Vec<String> {
        self.attack.passes(self.norm).iter().map(|p| p.name(self)).collect()
    }

    fn ensemble<N: KernelNorm>(&self, shape: nudge_core::Shape, norm: N) -> AutoAttack<N> {
        AutoAttack {
            iterations: self.iterations,
            target_classes: self.target_classes,
            queries: self.queries,
            norm,
            ..AutoAttack::standard(self.epsilon, shape, self.seed)
        }
    }
}

/// Robust accuracy after one pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassResult {
    /// The attack (`apgd-ce`, `apgd-t`, `square`, `pgd-40`, `fgsm`).
    pub attack: String,
    /// Images it attacked (those still robust before it).
    pub attacked: usize,
    /// Of which it broke.
    pub broken: usize,
    /// Images still robust after it.
    pub robust: usize,
    /// `robust / images`.
    pub robust_accuracy: f64,
    /// Wall time of the pass, in seconds.
    pub seconds: f64,
}

/// What happened to one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageOutcome {
    /// Whether the clean image is classified correctly.
    pub clean_correct: bool,
    /// The pass that broke it (an index into [`Evaluation::passes`]), if any.
    pub broken_by: Option<usize>,
    /// The class predicted for the returned image.
    pub final_class: usize,
    /// `‖x' − x‖∞` of the returned image.
    pub linf: f32,
    /// `‖x' − x‖₂` of the returned image.
    pub l2: f32,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The settings.
    pub config: Config,
    /// Images evaluated (the first ones of the data).
    pub images: usize,
    /// Classified correctly before any attack.
    pub clean_correct: usize,
    /// `clean_correct / images`.
    pub clean_accuracy: f64,
    /// One entry per pass, in order.
    pub passes: Vec<PassResult>,
    /// Images robust to every pass.
    pub robust: usize,
    /// `robust / images`: the figure to quote.
    pub robust_accuracy: f64,
    /// Gradient evaluations (forward + backward) spent over all images and passes.
    pub gradients: u64,
    /// Forward passes spent (clean predictions and Square's queries).
    pub forward_passes: u64,
    /// Wall time, in seconds.
    pub seconds: f64,
    /// Threads used.
    pub threads: usize,
    /// Per image, in order (not in JSON: see `--save-adversarial`).
    #[serde(skip)]
    pub outcomes: Vec<ImageOutcome>,
    /// The returned images, back to back: the adversarial example where one was found,
    /// else the original.
    #[serde(skip)]
    pub adversarial: Vec<f32>,
}

/// Per image and pass: whether the pass broke it, the image it returned, its spend.
struct Attempt {
    broken: bool,
    adversarial: Vec<f32>,
    final_class: usize,
    gradients: u64,
    forward_passes: u64,
}

/// How many of a first model's adversarial examples also fool a second model (for an int8
/// network: its float twin's examples, scored on the int8 network).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Transfer {
    /// Adversarial examples of the first model (images it classified correctly and an
    /// attack broke).
    pub examples: usize,
    /// Of which the second model misclassifies too.
    pub fooled: usize,
    /// `fooled / examples` (0 without examples).
    pub rate: f64,
}

/// Scores the adversarial examples of `source` (an evaluation on the same first images of
/// `data`) on `model`.
pub fn transfer<M>(model: &M, data: &Split, source: &Evaluation) -> Result<Transfer>
where
    M: Classifier<MAX_CLASSES>,
{
    let len = data.input_len();
    let mut ws = model.workspace();
    let (mut examples, mut fooled) = (0, 0);
    for (i, o) in source.outcomes.iter().enumerate() {
        if !(o.clean_correct && o.broken_by.is_some()) {
            continue;
        }
        examples += 1;
        let adv = source.adversarial.get(i * len..(i + 1) * len).unwrap_or(&[]);
        let p = model.predict(adv, &mut ws).map_err(|e| Error::kernel("transfer", e))?;
        fooled += usize::from(Some(&p.class) != data.labels.get(i));
    }
    let rate = if examples == 0 { 0.0 } else { fooled as f64 / examples as f64 };
    Ok(Transfer { examples, fooled, rate })
}

/// Fails, naming `--data`, unless `model` takes `data`'s inputs and has a class for every
/// label.
fn check_sizes<M: Classifier<MAX_CLASSES>>(model: &M, data: &Split) -> Result<()> {
    if model.input_len() != data.input_len() {
        let (found, takes) = (data.input_len(), model.input_len());
        let problem = format!("inputs of {found} values, but the model takes {takes}");
        return Err(Error::argument("--data", problem));
    }
    if data.classes() > model.classes() {
        let problem = format!(
            "labels up to {}, but the model has {} classes",
            data.classes() - 1,
            model.classes()
        );
        return Err(Error::argument("--data", problem));
    }
    Ok(())
}

/// Runs the evaluation of `model` (any classifier: a float network, or an int8 network
/// with its twin's gradients) on the first `images` of `data` (all if larger). `progress`
/// gets a stage per pass.
pub fn evaluate<M>(
    model: &M,
    data: &Split,
    images: usize,
    cfg: &Config,
    progress: &dyn Progress,
) -> Result<Evaluation>
where
    M: Classifier<MAX_CLASSES> + Sync,
{
    cfg.validate()?;
    check_sizes(model, data)?;
    let t = Instant::now();
    let n = images.min(data.len());
    if n == 0 {
        return Err(Error::argument("--images", "no images to evaluate"));
    }
    let (data, _) = data.split_at(n);
    let len = data.input_len();
    let predictions: Vec<usize> = data
        .inputs
        .par_chunks(len.max(1) * 64)
        .map_init(
            || model.workspace(),
            |ws, chunk| {
                chunk
                    .chunks_exact(len.max(1))
                    .map(|x| model.predict(x, ws).map(|p| p.class))
                    .collect::<std::result::Result<Vec<usize>, _>>()
            },
        )
        .collect::<std::result::Result<Vec<Vec<usize>>, _>>()
        .map_err(|e| Error::kernel("prediction", e))?
        .concat();
    let mut outcomes: Vec<ImageOutcome> = predictions
        .iter()
        .zip(&data.labels)
        .map(|(&p, &y)| ImageOutcome {
            clean_correct: p == y,
            broken_by: None,
            final_class: p,
            linf: 0.0,
            l2: 0.0,
        })
        .collect();
    let mut adversarial = data.inputs.clone();
    let clean_correct = outcomes.iter().filter(|o| o.clean_correct).count();
    let mut passes = Vec::new();
    let (mut gradients, mut forward_passes) = (0u64, n as u64);
    for (k, pass) in cfg.attack.passes(cfg.norm).into_iter().enumerate() {
        let start = Instant::now();
        let todo: Vec<usize> = (0..n)
            .filter(|&i| outcomes[i].clean_correct && outcomes[i].broken_by.is_none())
            .collect();
        let name = pass.name(cfg);
        progress.start(&name, todo.len() as u64);
        let attempts = todo
            .par_iter()
            .map_init(
                || {
                    AttackScratch::<_, Vec<f32>>::with_vectors(
                        model,
                        AutoAttack::<Linf>::SCRATCH_VECTORS,
                    )
                },
                |scratch, &i| {
                    let x = data.input(i).unwrap_or(&[]);
                    let attempt =
                        attack_one(model, x, data.labels[i], i, pass, data.shape, cfg, scratch);
                    progress.advance(1);
                    attempt.map_err(|e| Error::kernel(format!("{name}, image {i}"), e))
                },
            )
            .collect::<Result<Vec<Attempt>>>();
        progress.finish();
        let attempts = attempts?;
        let mut broken = 0;
        for (&i, a) in todo.iter().zip(&attempts) {
            gradients += a.gradients;
            forward_passes += a.forward_passes;
            if a.broken {
                broken += 1;
                let x = data.input(i).unwrap_or(&[]);
                let o = &mut outcomes[i];
                o.broken_by = Some(k);
                o.final_class = a.final_class;
                o.linf = nudge_core::linalg::linf_distance(&a.adversarial, x);
                o.l2 = nudge_core::linalg::l2_distance(&a.adversarial, x);
                adversarial[i * len..(i + 1) * len].copy_from_slice(&a.adversarial);
            }
        }
        let robust = todo.len() - broken;
        passes.push(PassResult {
            attack: name,
            attacked: todo.len(),
            broken,
            robust,
            robust_accuracy: robust as f64 / n as f64,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    let robust = outcomes.iter().filter(|o| o.clean_correct && o.broken_by.is_none()).count();
    Ok(Evaluation {
        config: cfg.clone(),
        images: n,
        clean_correct,
        clean_accuracy: clean_correct as f64 / n as f64,
        passes,
        robust,
        robust_accuracy: robust as f64 / n as f64,
        gradients,
        forward_passes,
        seconds: t.elapsed().as_secs_f64(),
        threads: rayon::current_num_threads(),
        outcomes,
        adversarial,
    })
}

/// One pass on one image (known to be classified correctly) of class `label`.
#[allow(clippy::too_many_arguments)]
fn attack_one<M: Classifier<MAX_CLASSES>>(
    model: &M,
    x: &[f32],
    label: usize,
    index: usize,
    pass: Pass,
    shape: nudge_core::Shape,
    cfg: &Config,
    scratch: &mut AttackScratch<M::Workspace, Vec<f32>>,
) -> std::result::Result<Attempt, nudge_core::Error> {
    let mut adversarial = vec![0.0; x.len()];
    let eps = cfg.epsilon;
    let goal = Goal::untargeted(label);
    let (broken, final_class, gradients, forward_passes) = match pass {
        Pass::Kernel(stage) => {
            let stages = [stage];
            let (salt, adv, s) = (index as u64, &mut adversarial, scratch);
            let r = match cfg.norm {
                Norm::Linf => cfg.ensemble(shape, Linf).run(model, x, label, &stages, salt, adv, s),
                Norm::L2 => cfg.ensemble(shape, L2).run(model, x, label, &stages, salt, adv, s),
            }?;
            (
                r.broken_by.is_some(),
                r.report.final_class,
                u64::from(r.gradients),
                u64::from(r.forward_passes),
            )
        }
        Pass::Pgd => {
            let k = cfg.pgd_iterations;
            // Madry's step; at ε = 0 a zero step would be refused, and no step leaves a
            // zero ball anyway.
            let alpha = (2.5 * eps / k as f32).max(f32::MIN_POSITIVE);
            let r = match cfg.norm {
                Norm::Linf => {
                    PgdLinf { early_stop: EarlyStop::OnSuccess, ..PgdLinf::new(eps, alpha, k) }.run(
                        model,
                        x,
                        goal,
                        &mut adversarial,
                        scratch,
                        &mut (),
                    )
                }
                Norm::L2 => PgdL2 { early_stop: EarlyStop::OnSuccess, ..PgdL2::new(eps, alpha, k) }
                    .run(model, x, goal, &mut adversarial, scratch, &mut ()),
            }?;
            (r.success, r.final_class, u64::from(r.iterations) + 1, 1)
        }
        Pass::Fgsm => {
            let r = Fgsm::new(eps).run(model, x, goal, &mut adversarial, scratch, &mut ())?;
            (r.success, r.final_class, 1, 2)
        }
    };
    Ok(Attempt { broken, adversarial, final_class, gradients, forward_passes })
}
