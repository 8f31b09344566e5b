//! `nudge attack`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use nudge_core::Goal;
use nudge_host::attack::{Method, Settings};
use nudge_host::fsutil;
use nudge_host::model::ModelFile;

use super::attack_opts::AttackOpts;
use super::{DataOpts, ModelOpts};

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["index", "input_class"]))]
#[command(allow_negative_numbers = true)]
pub struct AttackArgs {
    #[command(flatten)]
    model: ModelOpts,
    #[command(flatten)]
    data: DataOpts,
    /// Index of the image to attack (in the test set, or in --inputs).
    #[arg(long)]
    index: Option<usize>,
    /// Attack the first correctly classified test image of this class.
    #[arg(long, value_name = "C")]
    input_class: Option<usize>,
    /// The class to make the model predict.
    #[arg(long, value_name = "T")]
    target_class: usize,
    #[command(flatten)]
    attack: AttackOpts,
    /// Stop once the target has this probability; 0 stops at the first success.
    #[arg(long, default_value_t = 0.9)]
    confidence: f32,
    /// Write original | perturbation | adversarial as a PNG here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Overwrite --out if it exists.
    #[arg(long)]
    force: bool,
    /// Print JSON (including the adversarial input's values) instead of text.
    #[arg(long)]
    json: bool,
}

/// Checks a class given on the command line against the model's `classes`.
pub fn check_class(flag: &str, c: usize, classes: usize) -> anyhow::Result<()> {
    if c >= classes {
        anyhow::bail!("{flag}: class {c} is out of range 0..={}", classes.saturating_sub(1));
    }
    Ok(())
}

pub fn run(a: &AttackArgs) -> anyhow::Result<()> {
    let settings = Settings { confidence: a.confidence, ..a.attack.settings() };
    settings.validate()?;
    if a.input_class == Some(a.target_class) {
        anyhow::bail!("--target-class: {} is the same as --input-class", a.target_class);
    }
    if let Some(out) = &a.out {
        fsutil::check_writable(out, a.force)?;
    }
    let path = a.model.path();
    let file = ModelFile::load(&path)?;
    let model = file.classifier(&path)?;
    let classes = model.network().classes();
    check_class("--target-class", a.target_class, classes)?;
    if let Some(c) = a.input_class {
        check_class("--input-class", c, classes)?;
    }
    let examples = a.data.test()?;
    let test = &examples.split;
    nudge_host::model::check_data(&model, test, &examples.source)?;
    let index = match (a.index, a.input_class) {
        (Some(i), _) if i >= test.len() => {
            anyhow::bail!("--index: {i} is out of range (the data has {} inputs)", test.len())
        }
        (Some(i), _) => i,
        (None, Some(c)) => {
            let preds = nudge_host::model::predict_all(&model, test)?;
            (0..test.len()).find(|&i| test.labels[i] == c && preds[i] == c).ok_or_else(|| {
                anyhow::anyhow!("--input-class: no correctly classified test image of class {c}")
            })?
        }
        (None, None) => anyhow::bail!("pass --index or --input-class"),
    };
    let source = test.labels[index];
    if source == a.target_class {
        anyhow::bail!("--target-class: {source} is the true class of test image {index}");
    }
    let x = test.input(index).context("test image")?;
    let goal = Goal::targeted(source, a.target_class);
    let o = nudge_host::attack::run(&model, x, goal, &settings)?;
    if let Some(out) = &a.out {
        nudge_host::render::write_png(out, x, &o.adversarial, test.shape, a.force)?;
    }
    let r = &o.report;
    let t = a.target_class;
    if a.json {
        let j = serde_json::json!({
            "model": path.display().to_string(),
            "index": index,
            "source_class": source,
            "target_class": t,
            "method": settings.method.name(),
            "iters": settings.iters,
            "step": settings.step,
            "eps": settings.eps,
            "success": r.success,
            "iterations": r.iterations,
            "initial_class": r.initial_class,
            "initial_confidence": r.initial_confidence,
            "initial_target_prob": r.initial_watched_probability,
            "final_target_prob": r.final_watched_probability,
            "final_class": r.final_class,
            "final_confidence": r.final_confidence,
            "linf": r.linf,
            "l2": r.l2,
            "l0": r.l0,
            "probabilities_before": o.before.probabilities(),
            "probabilities_after": o.after.probabilities(),
            "png": a.out.as_ref().map(|p| p.display().to_string()),
            "adversarial": o.adversarial,
        });
        println!("{j}");
        return Ok(());
    }
    let budget = match settings.method {
        Method::Gradient => format!("step {}, up to {} iterations", settings.step, settings.iters),
        Method::Fgsm => format!("ε = {} (L∞), one step", settings.eps),
        Method::Pgd => format!(
            "ε = {} (L∞), step {}, up to {} iterations",
            settings.eps, settings.step, settings.iters
        ),
        Method::PgdL2 => format!(
            "ε = {} (L2), step {}, up to {} iterations",
            settings.eps, settings.step, settings.iters
        ),
    };
    println!(
        "test image {index} (true class {source}) → target class {t}; model {}",
        path.display()
    );
    println!("method {}: {budget}", settings.method.name());
    println!(
        "before: predicted {} with p = {:.4}; p({t}) = {:.4}",
        r.initial_class, r.initial_confidence, r.initial_watched_probability
    );
    println!(
        "after:  predicted {} with p = {:.4}; p({t}) = {:.4}  — {} after {} iterations",
        r.final_class,
        r.final_confidence,
        r.final_watched_probability,
        if r.success { "success" } else { "failed" },
        r.iterations
    );
    println!(
        "perturbation: L∞ = {:.4}, L2 = {:.4}, {} of {} values changed\n",
        r.linf,
        r.l2,
        r.l0,
        x.len()
    );
    print!(
        "{}",
        nudge_host::render::text_pair(
            x,
            &o.adversarial,
            test.shape,
            (
                &format!("original (class {source})"),
                &format!("adversarial (predicted {})", r.final_class)
            )
        )
    );
    if let Some(out) = &a.out {
        println!(
            "\nwrote {} (original | perturbation, amplified: red adds ink, blue removes | adversarial)",
            out.display()
        );
    }
    Ok(())
}
