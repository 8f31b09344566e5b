//! `nudge robustness`: robust accuracy under AutoAttack's standard ensemble (or one attack).

use std::path::{Path, PathBuf};

use clap::Args;
use nudge_host::model::ModelFile;
use nudge_host::robustness::{self, AttackChoice, Config, Evaluation, Norm};
use nudge_host::{fsutil, npy};

use super::{DataOpts, ModelOpts};

#[derive(Debug, Args)]
pub struct RobustnessArgs {
    #[command(flatten)]
    model: ModelOpts,
    #[command(flatten)]
    data: DataOpts,
    /// Budget ε, in the norm of --norm (pixel values in [0, 1]).
    #[arg(long, default_value_t = 0.1)]
    eps: f32,
    /// The norm of the budget.
    #[arg(long, value_enum, default_value_t = Norm::Linf)]
    norm: Norm,
    /// The attack: AutoAttack's standard ensemble (APGD-CE, APGD-T, Square; Square is
    /// L∞ only), one of its attacks, or a baseline.
    #[arg(long, value_enum, default_value_t = AttackChoice::Autoattack)]
    attack: AttackChoice,
    /// Test images to evaluate (the first ones; default: all).
    #[arg(long, value_name = "N")]
    images: Option<usize>,
    /// APGD's steps per run.
    #[arg(long, default_value_t = 100)]
    iters: u32,
    /// Target classes APGD-T tries.
    #[arg(long, default_value_t = 9)]
    targets: usize,
    /// Square's query budget.
    #[arg(long, default_value_t = 5000)]
    queries: u32,
    /// PGD's steps (for --attack pgd; step 2.5·ε/steps).
    #[arg(long, default_value_t = 40)]
    pgd_iters: u32,
    /// Seed of the random starts and draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the returned images as float32 .npy `[N, C, H, W]` (the adversarial example
    /// where one was found, else the original), with FILE's stem + `.labels.npy` (true
    /// labels) and `.indices.npy` (test-set indices), int64.
    #[arg(long, value_name = "FILE.npy")]
    save_adversarial: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Overwrite the files of --save-adversarial.
    #[arg(long)]
    force: bool,
}

/// The three files of `--save-adversarial FILE.npy`: images, labels, indices.
fn saved_files(path: &Path) -> [PathBuf; 3] {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let beside = |suffix: &str| path.with_file_name(format!("{stem}.{suffix}.npy"));
    [path.to_path_buf(), beside("labels"), beside("indices")]
}

pub fn run(a: &RobustnessArgs) -> anyhow::Result<()> {
    let cfg = Config {
        epsilon: a.eps,
        norm: a.norm,
        attack: a.attack,
        iterations: a.iters,
        target_classes: a.targets,
        queries: a.queries,
        pgd_iterations: a.pgd_iters,
        seed: a.seed,
    };
    cfg.validate()?;
    if a.images == Some(0) {
        anyhow::bail!(nudge_host::Error::argument("--images", "must be ≥ 1"));
    }
    // Fail before the work, not after.
    let outputs = a.save_adversarial.as_deref().map(saved_files);
    for path in outputs.iter().flatten() {
        fsutil::check_writable(path, a.force)?;
    }
    let path = a.model.path();
    let file = ModelFile::load(&path)?;
    let model = file.classifier(&path)?;
    let examples = a.data.test()?;
    let images = a.images.unwrap_or(usize::MAX);
    let bars = nudge_host::report::Bars::default();
    let e = robustness::evaluate(&model, &examples.split, images, &cfg, &bars)?;
    if let Some(paths) = &outputs {
        save(&e, &examples.split, paths, a.force)?;
    }
    if a.json {
        let mut j = serde_json::to_value(&e)?;
        j["model"] = path.display().to_string().into();
        j["data"] = examples.source.clone().into();
        j["arch"] = file.model.arch().into();
        println!("{j:#}");
        return Ok(());
    }
    print_summary(&e, &path, &file.model.arch(), &examples.source);
    if let Some(paths) = &outputs {
        println!("wrote {}, {} and {}", paths[0].display(), paths[1].display(), paths[2].display());
    }
    Ok(())
}

fn print_summary(e: &Evaluation, model: &Path, arch: &str, data: &str) {
    let c = &e.config;
    println!("model {} ({arch}), data {data}", model.display());
    println!(
        "{} at ε = {} ({}), {} images, {} threads",
        c.attack.name(),
        c.epsilon,
        c.norm.name(),
        e.images,
        e.threads
    );
    println!(
        "clean accuracy {:.2}% ({} of {})",
        100.0 * e.clean_accuracy,
        e.clean_correct,
        e.images
    );
    for p in &e.passes {
        println!(
            "robust accuracy after {:<8} {:6.2}%  ({} of {} attacked broken, {:.1}s)",
            format!("{}:", p.attack),
            100.0 * p.robust_accuracy,
            p.broken,
            p.attacked,
            p.seconds
        );
    }
    println!(
        "robust accuracy {:.2}% ({} of {}) in {:.1}s: {} gradients, {} forward passes",
        100.0 * e.robust_accuracy,
        e.robust,
        e.images,
        e.seconds,
        e.gradients,
        e.forward_passes
    );
}

/// Writes the returned images, labels and indices, each atomically.
fn save(
    e: &Evaluation,
    data: &nudge_host::data::Split,
    paths: &[PathBuf; 3],
    force: bool,
) -> anyhow::Result<()> {
    let s = data.shape;
    let images = npy::f32_bytes(&[e.images, s.channels, s.height, s.width], &e.adversarial);
    let int64 = |values: Vec<i64>| {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        npy::bytes("<i8", &[values.len()], &bytes)
    };
    let labels = int64(data.labels[..e.images].iter().map(|&l| l as i64).collect());
    let indices = int64((0..e.images as i64).collect());
    for (path, bytes) in paths.iter().zip([images, labels, indices]) {
        fsutil::write_atomic(path, &bytes, force)?;
    }
    Ok(())
}
