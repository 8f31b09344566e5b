//! `nudge demo`: the README's main job.

use std::sync::atomic::{AtomicU64, Ordering};

use clap::Args;
use nudge_core::Goal;
use nudge_host::attack::{self, Method, Trial};
use nudge_host::model::ModelFile;

use super::attack::check_class;
use super::attack_opts::AttackOpts;
use super::ui::bar;
use super::{DataOpts, ModelOpts};

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
// Shorter help than `nudge attack`'s, which lists every method's defaults.
#[command(mut_arg("iters", |a| {
    a.help("Iteration budget (default: the method's, see `nudge attack --help`)")
}))]
#[command(mut_arg("step", |a| a.help("Step size (default: the method's)")))]
#[command(mut_arg("eps", |a| a.help("Budget ε (default: the method's)")))]
pub struct DemoArgs {
    #[command(flatten)]
    model: ModelOpts,
    #[command(flatten)]
    data: DataOpts,
    /// Class of the digit to show being attacked.
    #[arg(long, default_value_t = 7)]
    from: usize,
    /// Class to push it to.
    #[arg(long, default_value_t = 3)]
    to: usize,
    /// Test images per class in the all-pairs experiment.
    #[arg(long, default_value_t = 3)]
    per_class: usize,
    #[command(flatten)]
    attack: AttackOpts,
    /// Print JSON (the single attack and every trial) instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    if a.from == a.to {
        anyhow::bail!("--to: {} is the same as --from", a.to);
    }
    if a.per_class == 0 {
        anyhow::bail!("--per-class: must be ≥ 1");
    }
    let examples = match a.data.test() {
        Ok(examples) => examples,
        Err(e @ nudge_host::Error::DataNotFound(_)) if a.data.data.is_none() => {
            println!("No MNIST data found ({e}).\n");
            println!("Running the seed's toy section instead; for the digit demo, get MNIST with");
            println!("  nudge data fetch            (downloads to ~/.cache/nudge/mnist), or");
            println!(
                "  nudge demo --data DIR       (or NUDGE_DATA=DIR) with the four IDX .gz files.\n"
            );
            return super::toy::run(&super::toy::ToyArgs::default());
        }
        Err(e) => return Err(e.into()),
    };
    let path = a.model.path();
    let file = ModelFile::load(&path).map_err(|e| {
        anyhow::anyhow!("{e} (train one with `nudge train --out {}`)", path.display())
    })?;
    let test = &examples.split;
    let settings = a.attack.settings();
    settings.validate()?;
    let model = file.classifier(&path)?;
    let classes = model.network().classes();
    check_class("--from", a.from, classes)?;
    check_class("--to", a.to, classes)?;
    let scores = nudge_host::model::evaluate(&model, test, &examples.source)?;
    let preds = nudge_host::model::predict_all(&model, test)?;
    let sources = attack::correct_examples(&preds, &test.labels, classes, a.per_class);

    // 1. One digit, shown.
    let index = *sources[a.from].first().ok_or_else(|| {
        anyhow::anyhow!("--from: no correctly classified test image of class {}", a.from)
    })?;
    let x = test.input(index).ok_or_else(|| anyhow::anyhow!("test image {index}"))?;
    let one = attack::run(&model, x, Goal::targeted(a.from, a.to), &settings)?;

    // 2. Every pair.
    let jobs = (classes * (classes - 1) * a.per_class) as u64;
    let pb = bar(jobs, "attacks");
    let done = AtomicU64::new(0);
    let tick = || {
        pb.set_position(done.fetch_add(1, Ordering::Relaxed) + 1);
    };
    let trials = attack::pair_experiment(&model, test, &sources, &settings, &tick)?;
    pb.finish_and_clear();

    let wins: Vec<&Trial> = trials.iter().filter(|t| t.report.success).collect();
    let med_p = attack::median(wins.iter().map(|t| t.report.final_watched_probability).collect());
    let med_linf = attack::median(wins.iter().map(|t| t.report.linf).collect());
    let med_l2 = attack::median(wins.iter().map(|t| t.report.l2).collect());

    if a.json {
        let j = serde_json::json!({
            "model": path.display().to_string(),
            "accuracy": scores.accuracy(),
            "method": settings.method.name(),
            "single": {
                "index": index, "source_class": a.from, "target_class": a.to,
                "success": one.report.success, "iterations": one.report.iterations,
                "initial_target_prob": one.report.initial_watched_probability,
                "final_target_prob": one.report.final_watched_probability,
                "final_class": one.report.final_class, "linf": one.report.linf, "l2": one.report.l2,
            },
            "trials": trials.iter().map(|t| serde_json::json!({
                "index": t.index, "source_class": t.source, "target_class": t.target,
                "success": t.report.success, "iterations": t.report.iterations,
                "final_target_prob": t.report.final_watched_probability,
                "final_class": t.report.final_class, "linf": t.report.linf, "l2": t.report.l2,
            })).collect::<Vec<_>>(),
            "successes": wins.len(),
            "total": trials.len(),
            "median_final_target_prob": med_p,
            "median_linf": med_linf,
            "median_l2": med_l2,
        });
        println!("{j:#}");
        return Ok(());
    }

    let r = &one.report;
    println!(
        "model {} ({}): test accuracy {:.2}% on {} images from {}\n",
        path.display(),
        file.model.arch(),
        100.0 * scores.accuracy(),
        scores.total,
        examples.source
    );
    let how = match settings.method {
        Method::Gradient => format!("gradient ascent on the input, step {}", settings.step),
        m => format!("{}, ε = {}", m.name(), settings.eps),
    };
    println!("1. Test image {index}, a {}, pushed toward {} ({how}):", a.from, a.to);
    println!(
        "   p({}) {:.4} → {:.4}; predicted {} → {} after {} iterations; L∞ = {:.3}, L2 = {:.3}\n",
        a.to,
        r.initial_watched_probability,
        r.final_watched_probability,
        r.initial_class,
        r.final_class,
        r.iterations,
        r.linf,
        r.l2
    );
    print!(
        "{}",
        nudge_host::render::text_pair(
            x,
            &one.adversarial,
            test.shape,
            (
                &format!("original: {}", a.from),
                &format!("adversarial: predicted {}", r.final_class)
            )
        )
    );
    println!(
        "\n2. Every (input class, target class) pair on the first {} correctly classified test images of each class",
        a.per_class
    );
    println!(
        "   successes out of {} (rows: input class, columns: target class; each attack stops once p(target) ≥ {})\n",
        a.per_class, settings.confidence
    );
    print!("   in\\to");
    for t in 0..classes {
        print!("{t:>4}");
    }
    println!("   median p(target)  median L∞");
    for s in 0..classes {
        print!("   {s:>5}");
        for t in 0..classes {
            if s == t {
                print!("{:>4}", "-");
            } else {
                let n = trials
                    .iter()
                    .filter(|x| x.source == s && x.target == t && x.report.success)
                    .count();
                print!("{n:>4}");
            }
        }
        let row: Vec<&&Trial> = wins.iter().filter(|x| x.source == s).collect();
        let p = attack::median(row.iter().map(|t| t.report.final_watched_probability).collect());
        let l = attack::median(row.iter().map(|t| t.report.linf).collect());
        match (p, l) {
            (Some(p), Some(l)) => println!("   {p:>16.3}  {l:>9.3}"),
            _ => println!("   {:>16}  {:>9}", "-", "-"),
        }
    }
    let fmt = |v: Option<f32>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
    println!(
        "\n   {} of {} attacks succeeded ({:.1}%); over the successes, median p(target) = {}, median L∞ = {}, median L2 = {}",
        wins.len(),
        trials.len(),
        100.0 * wins.len() as f64 / trials.len().max(1) as f64,
        fmt(med_p),
        fmt(med_linf),
        fmt(med_l2)
    );
    println!(
        "\n   Seed 2.D: the class flips with high confidence while each pixel moves by a small amount —"
    );
    println!(
        "   the images still look like the input class. The test accuracy is measured on natural"
    );
    println!("   images; these are not from that distribution, so both facts hold at once.");
    println!(
        "\n   Try: nudge attack --input-class {} --target-class {} --method pgd --out attack.png",
        a.from, a.to
    );
    Ok(())
}
