//! `nudge robustness`: robust accuracy under AutoAttack's standard ensemble (or one attack).

use std::path::{Path, PathBuf};

use clap::Args;
use nudge_core::quant::{Arithmetic, QuantClassifier};
use nudge_host::model::ModelFile;
use nudge_host::robustness::{self, AttackChoice, Config, Evaluation, Norm};
use nudge_host::tflite::int8;
use nudge_host::{MAX_CLASSES, fsutil, npy};

use super::eval::Int8Arithmetic;
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
    /// For a full-integer int8 TFLite model: whose integer arithmetic the int8 network
    /// reproduces (TensorFlow Lite Micro's, the device's; or LiteRT's reference kernels).
    #[arg(long, value_enum, default_value = "tflm")]
    int8_arithmetic: Int8Arithmetic,
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
    let bytes = fsutil::read(&path)?;
    if int8::is_int8(&bytes) {
        return run_int8(a, &cfg, &path, &bytes, outputs.as_ref());
    }
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

/// `nudge robustness` on a full-integer int8 TFLite model: the int8 network (what ships)
/// attacked with its float twin's gradients, the twin on its own, and how many of the
/// twin's adversarial examples fool the int8 network.
fn run_int8(
    a: &RobustnessArgs,
    cfg: &Config,
    path: &Path,
    bytes: &[u8],
    outputs: Option<&[PathBuf; 3]>,
) -> anyhow::Result<()> {
    let model = int8::read(bytes, path)?;
    let arithmetic = match a.int8_arithmetic {
        Int8Arithmetic::Tflm => Arithmetic::Tflm,
        Int8Arithmetic::Litert => Arithmetic::LiteRt,
    };
    let net = model.network()?.with_arithmetic(arithmetic);
    let twin_model = model.twin()?;
    let twin = twin_model.classifier(&path.display().to_string())?;
    let examples = a.data.test()?;
    nudge_host::model::check_data(&twin, &examples.split, &examples.source)?;
    let judged = QuantClassifier::<_, Vec<i8>, MAX_CLASSES>::new(net, twin.clone())
        .map_err(|e| nudge_host::Error::kernel("int8 model and twin", e))?;
    let images = a.images.unwrap_or(usize::MAX);
    let bars = nudge_host::report::Bars::default();
    let int8_eval = robustness::evaluate(&judged, &examples.split, images, cfg, &bars)?;
    let twin_eval = robustness::evaluate(&twin, &examples.split, images, cfg, &bars)?;
    let transfer = robustness::transfer(&judged, &examples.split, &twin_eval)?;
    if let Some(paths) = outputs {
        save(&int8_eval, &examples.split, paths, a.force)?;
    }
    let arch = int8::format_layers(&model.layers);
    let arithmetic_name = format!("{:?}", a.int8_arithmetic).to_lowercase();
    if a.json {
        let j = serde_json::json!({
            "model": path.display().to_string(),
            "data": examples.source,
            "arch": arch,
            "arithmetic": arithmetic_name,
            "int8": int8_eval,
            "twin": twin_eval,
            "transfer": transfer,
        });
        println!("{j:#}");
        return Ok(());
    }
    println!(
        "model {} (int8: {arch}; {arithmetic_name} arithmetic), data {}",
        path.display(),
        examples.source
    );
    print_settings(&int8_eval);
    println!(
        "int8 network (what ships), attacked with its float twin's gradients, measured on int8:"
    );
    print_results(&int8_eval);
    println!("float twin (the same layers with dequantized weights, float arithmetic):");
    print_results(&twin_eval);
    println!(
        "transfer: {} of the twin's {} adversarial examples ({:.1}%) also fool the int8 network",
        transfer.fooled,
        transfer.examples,
        100.0 * transfer.rate
    );
    if let Some(paths) = outputs {
        let [images, labels, indices] = paths;
        let (images, labels, indices) = (images.display(), labels.display(), indices.display());
        println!("wrote {images}, {labels} and {indices} (the int8 network's)");
    }
    Ok(())
}

fn print_settings(e: &Evaluation) {
    let c = &e.config;
    println!(
        "{} at ε = {} ({}), {} images, {} threads",
        c.attack.name(),
        c.epsilon,
        c.norm.name(),
        e.images,
        e.threads
    );
}

fn print_summary(e: &Evaluation, model: &Path, arch: &str, data: &str) {
    println!("model {} ({arch}), data {data}", model.display());
    print_settings(e);
    print_results(e);
}

fn print_results(e: &Evaluation) {
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
