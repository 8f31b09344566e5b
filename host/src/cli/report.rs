//! `nudge report`.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use nudge_host::model::ModelFile;
use nudge_host::report::{self, ReportConfig};

use super::{DataOpts, ModelOpts};

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    model: ModelOpts,
    #[command(flatten)]
    data: DataOpts,
    /// A second model to measure side by side (e.g. an adversarially trained one).
    #[arg(long, value_name = "FILE")]
    compare: Option<PathBuf>,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR", default_value = "report")]
    out: PathBuf,
    /// Correctly classified test images per source class in the pair experiment (90·N
    /// targeted attacks).
    #[arg(long, value_name = "N", default_value_t = 12)]
    images: usize,
    /// Test images for the ε curves (default: the whole test set).
    #[arg(long, value_name = "N")]
    curve_images: Option<usize>,
    /// ε grid of the curves, comma-separated, increasing from 0.
    #[arg(long, value_delimiter = ',', value_name = "E,E,…")]
    epsilons: Option<Vec<f32>>,
    /// PGD iterations for the curves.
    #[arg(long, default_value_t = 40)]
    pgd_iters: u32,
    /// L∞ budget of the pair experiment's targeted PGD.
    #[arg(long, default_value_t = 0.1)]
    eps: f32,
    /// Test images for the headline AutoAttack robust accuracy at L∞ ε = 0.1 (default:
    /// as many as --curve-images).
    #[arg(long, value_name = "N")]
    autoattack_images: Option<usize>,
    /// Overwrite report files in --out.
    #[arg(long)]
    force: bool,
}

pub fn run(a: &ReportArgs) -> anyhow::Result<()> {
    let t = Instant::now();
    let defaults = ReportConfig::default();
    let mut pair_attack = defaults.pair_attack;
    pair_attack.eps = a.eps;
    let cfg = ReportConfig {
        images_per_class: a.images,
        pair_attack,
        curve_images: a.curve_images.unwrap_or(usize::MAX),
        epsilons: a.epsilons.clone().unwrap_or(defaults.epsilons),
        pgd_iterations: a.pgd_iters,
        autoattack_images: a.autoattack_images,
        ..defaults
    };
    cfg.validate()?;
    // Fail before measuring, not after.
    report::prepare_dir(&a.out, 1 + usize::from(a.compare.is_some()), a.force)?;
    report::register_font()?;
    let mut models = Vec::new();
    for path in std::iter::once(a.model.path()).chain(a.compare.clone()) {
        let file = ModelFile::load(&path)?;
        models.push((path, file));
    }
    let examples = a.data.test()?;
    let dataset = if a.data.inputs.is_some() { "own" } else { a.data.kind().name() };
    let source = std::path::Path::new(&examples.source);
    let r = report::run(&models, source, dataset, &examples.split, &cfg, &report::Bars::default())?;
    let written = report::write(&r, &a.out, a.force)?;
    for m in &r.models {
        let at = |kind| m.epsilon.at(kind, 0.1).map_or(f64::NAN, |(_, v)| 100.0 * v);
        println!(
            "{}: clean {:.2}%, at ε = 0.1: AutoAttack {:.2}% ({} images), PGD-{} {:.2}%, FGSM {:.2}%; targeted pairs {}/{} succeeded",
            m.label,
            100.0 * m.clean_accuracy,
            100.0 * m.autoattack.robust_accuracy,
            m.autoattack.images,
            m.epsilon.pgd_iterations,
            at(report::CurveKind::Pgd),
            at(report::CurveKind::Fgsm),
            m.pairs.successes,
            m.pairs.attacks,
        );
    }
    println!(
        "wrote {} files to {} in {:.1}s ({} threads)",
        written.len(),
        a.out.display(),
        t.elapsed().as_secs_f64(),
        r.threads
    );
    Ok(())
}
