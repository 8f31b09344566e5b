//! The robustness report: the seed's questions 2.C–2.E answered with measurements.
//!
//! For each model, [`measure`] runs, on the test set and on all cores:
//! 1. the **class-pair experiment** (every `source → target` pair, `source ≠ target`, on the
//!    first `N` correctly classified test images of each source class) with the host's
//!    targeted PGD L∞ settings ([`crate::attack::pair_experiment`]): success rate per pair,
//!    with median L∞, iterations and confidence of the successful attacks;
//! 2. the **gallery**: the same attack from one image per class to every other class;
//! 3. **robust accuracy against ε** ∈ [0, 0.3] under FGSM, untargeted PGD-40 and targeted
//!    PGD-40 (a seeded random target per image), on up to `curve_images` test images;
//! 4. the **headline robust accuracy**: AutoAttack's standard ensemble (APGD-CE, APGD-T,
//!    Square; [`crate::robustness`]) at L∞ ε = 0.1 on up to `autoattack_images` test
//!    images, the figure to compare models by (PGD alone overestimates robustness).
//!
//! Robust accuracy at ε is the fraction of test images that the model classifies correctly
//! *and* that the attack fails on (Foolbox's convention: a misclassified image is already
//! adversarial), so the ε = 0 point is the clean accuracy. PGD is run at the grid's ε in
//! increasing order and an image stays broken once broken, because an adversarial example
//! within ε' ≤ ε also lies within ε (the union is a stronger, still valid, attack; it also
//! saves the work). FGSM is run independently at each ε, as it is usually reported.
//!
//! [`write()`] turns the measurements into `pairs.png`, `success.png`, `epsilon.png`,
//! `epsilon.csv`, `report.md` and `report.json` in one directory, each written atomically;
//! a comparison adds the second model's gallery, `pairs-compare.png`.

mod epsilon;
mod gallery;
mod heatmap;
mod json;
mod markdown;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use serde::Serialize;

use crate::attack::{Method, Settings};
use crate::data::Split;
use crate::error::{Error, Result};
use crate::model::{ModelFile, Net};

pub use epsilon::{Curve, CurveKind, EpsilonCurves, csv as epsilon_csv};
pub use gallery::{Gallery, GalleryCell};

/// The files [`write()`] produces for one model, in the order it writes them.
pub const FILES: [&str; 6] =
    ["pairs.png", "success.png", "epsilon.png", "epsilon.csv", "report.md", "report.json"];

/// The second model's gallery, written as well by a comparison (`--compare`).
pub const COMPARE_GALLERY: &str = "pairs-compare.png";

/// The files [`write()`] produces for `models` models.
pub fn files(models: usize) -> Vec<&'static str> {
    let mut files = FILES.to_vec();
    if models > 1 {
        files.insert(1, COMPARE_GALLERY);
    }
    files
}

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportConfig {
    /// Correctly classified test images per source class in the pair experiment
    /// (`90·N` targeted attacks).
    pub images_per_class: usize,
    /// Targeted attack of the pair experiment and the gallery.
    pub pair_attack: Settings,
    /// Test images for the ε curves (the first ones; the whole test set if larger).
    pub curve_images: usize,
    /// The ε grid of the curves, increasing, from 0.
    pub epsilons: Vec<f32>,
    /// PGD iterations for the curves (the step is `α = 2.5·ε / iterations`, Madry et al.).
    pub pgd_iterations: u32,
    /// Seed of the targets of the targeted curve.
    pub seed: u64,
    /// The headline evaluation (AutoAttack at ε = 0.1 by default).
    pub autoattack: crate::robustness::Config,
    /// Test images for the headline evaluation (the first ones; the whole test set if
    /// larger); `None`: as many as the curves.
    pub autoattack_images: Option<usize>,
}

impl Default for ReportConfig {
    fn default() -> Self {
        Self {
            images_per_class: 12,
            pair_attack: Settings::defaults(Method::Pgd),
            curve_images: usize::MAX,
            epsilons: (0..=12).map(|i| i as f32 * 0.025).collect(),
            pgd_iterations: 40,
            seed: 1,
            autoattack: crate::robustness::Config::default(),
            autoattack_images: None,
        }
    }
}

impl ReportConfig {
    /// Checks ranges; errors name the command-line flag.
    pub fn validate(&self) -> Result<()> {
        if self.images_per_class == 0 {
            return Err(Error::argument("--images", "must be ≥ 1"));
        }
        if self.curve_images == 0 {
            return Err(Error::argument("--curve-images", "must be ≥ 1"));
        }
        if self.pgd_iterations == 0 {
            return Err(Error::argument("--pgd-iters", "must be ≥ 1"));
        }
        let increasing = self.epsilons.windows(2).all(|w| w[0] < w[1]);
        let in_range = self.epsilons.iter().all(|e| (0.0..=1.0).contains(e));
        if self.epsilons.first() != Some(&0.0) || !increasing || !in_range {
            return Err(Error::argument("--epsilons", "must increase from 0 and stay in [0, 1]"));
        }
        if self.autoattack_images == Some(0) {
            return Err(Error::argument("--autoattack-images", "must be ≥ 1"));
        }
        self.autoattack.validate()?;
        if self.pair_attack.method != Method::Pgd {
            return Err(Error::argument("--method", "the pair experiment uses PGD (L∞)"));
        }
        self.pair_attack.validate()
    }
}

/// The pair experiment's attack, as recorded in the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AttackSettings {
    /// Attack name (`pgd`: targeted PGD in L∞).
    pub method: &'static str,
    /// L∞ budget ε.
    pub eps: f32,
    /// Step α.
    pub step: f32,
    /// Iteration budget.
    pub iterations: u32,
    /// The attack stops once the target has at least this probability (0: on success).
    pub stop_confidence: f32,
}

impl From<&Settings> for AttackSettings {
    fn from(s: &Settings) -> Self {
        Self {
            method: s.method.name(),
            eps: s.eps,
            step: s.step,
            iterations: s.iters,
            stop_confidence: s.confidence,
        }
    }
}

/// Results of the class-pair experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairStats {
    /// The attack.
    pub attack: AttackSettings,
    /// Source images per class actually used (fewer if a class had too few correct ones).
    pub images_per_class: Vec<usize>,
    /// Attacks run.
    pub attacks: usize,
    /// Successful attacks.
    pub successes: usize,
    /// `success_rate[source][target]` in `[0, 1]`; `None` on the diagonal (and for a class
    /// with no correctly classified image).
    pub success_rate: Vec<Vec<Option<f64>>>,
    /// Median `‖x − x⁰‖∞` of the successful attacks.
    pub median_linf: Option<f32>,
    /// Median `‖x − x⁰‖₂` of the successful attacks.
    pub median_l2: Option<f32>,
    /// Median number of changed pixels of the successful attacks.
    pub median_l0: Option<f32>,
    /// Median iterations of the successful attacks.
    pub median_iterations: Option<f32>,
    /// Median probability of the target class after a successful attack.
    pub median_confidence: Option<f32>,
    /// Median probability of the true class on the original images (before the attack).
    pub median_initial_confidence: Option<f32>,
    /// Fraction of successful attacks whose final confidence is at least 0.9.
    pub confident_fraction: Option<f64>,
}

impl PairStats {
    /// `successes / attacks` (0 when nothing ran).
    pub fn success_rate_overall(&self) -> f64 {
        if self.attacks == 0 { 0.0 } else { self.successes as f64 / self.attacks as f64 }
    }
}

/// Wall time of each stage, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Timings {
    /// Clean predictions on the test set.
    pub clean: f64,
    /// The class-pair experiment.
    pub pairs: f64,
    /// The gallery.
    pub gallery: f64,
    /// The ε curves.
    pub epsilon: f64,
    /// The headline AutoAttack evaluation.
    pub autoattack: f64,
}

/// Everything measured on one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelReport {
    /// A short name (the file stem).
    pub label: String,
    /// Where the model came from.
    pub path: PathBuf,
    /// The architecture (`784-64-10`, or the layer list).
    pub arch: String,
    /// The recipe stored in the model file, if any.
    pub recipe: Option<String>,
    /// Test images seen for the clean accuracy.
    pub test_images: usize,
    /// Correctly classified test images.
    pub correct: usize,
    /// `correct / test_images`.
    pub clean_accuracy: f64,
    /// The class-pair experiment.
    pub pairs: PairStats,
    /// One image per class attacked toward every other class.
    pub gallery: Gallery,
    /// Robust accuracy against ε.
    pub epsilon: EpsilonCurves,
    /// The headline robust accuracy: AutoAttack's ensemble at one ε.
    pub autoattack: crate::robustness::Evaluation,
    /// Time per stage.
    pub seconds: Timings,
}

/// The whole report: one model, or several side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The dataset directory.
    pub data_dir: PathBuf,
    /// Dataset name.
    pub dataset: String,
    /// Threads used.
    pub threads: usize,
    /// nudge version.
    pub nudge_version: &'static str,
    /// The models, the first one being the subject of `pairs.png`.
    pub models: Vec<ModelReport>,
    /// Total wall time of the measurements, in seconds.
    pub seconds: f64,
}

/// Where a long stage reports how far it has got. Called from any thread.
pub trait Progress: Sync {
    /// A stage of `total` steps begins.
    fn start(&self, stage: &str, total: u64);
    /// `n` more steps are done.
    fn advance(&self, n: u64);
    /// The stage is over.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// An indicatif bar per stage on stderr, drawn only when stderr is a terminal.
#[derive(Debug, Default)]
pub struct Bars {
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

impl Progress for Bars {
    fn start(&self, stage: &str, total: u64) {
        use std::io::IsTerminal;
        let pb = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(total)
        } else {
            indicatif::ProgressBar::hidden()
        };
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix:>14} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_prefix(stage.to_string());
        pb.enable_steady_tick(std::time::Duration::from_millis(200));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(pb);
        }
    }
    fn advance(&self, n: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(pb) = slot.as_ref()
        {
            pb.inc(n);
        }
    }
    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(pb) = slot.take()
        {
            pb.finish_and_clear();
        }
    }
}

/// Measures one model on `test`; `label` names it in pictures and tables.
pub fn measure(
    file: &ModelFile,
    path: &Path,
    label: &str,
    test: &Split,
    cfg: &ReportConfig,
    progress: &dyn Progress,
) -> Result<ModelReport> {
    cfg.validate()?;
    if test.is_empty() {
        return Err(Error::argument("--data", "the test split is empty"));
    }
    let model = file.classifier(path)?;
    crate::model::check_data(&model, test, "--data")?;
    let mut report = measure_model(&model, test, cfg, progress)?;
    report.label = label.to_string();
    report.path = path.to_path_buf();
    report.recipe = file.metadata.get("recipe").cloned();
    report.arch = file.model.arch();
    Ok(report)
}

fn measure_model(
    p: &Net<'_>,
    test: &Split,
    cfg: &ReportConfig,
    progress: &dyn Progress,
) -> Result<ModelReport> {
    let t = Instant::now();
    let predictions = crate::model::predict_all(p, test)?;
    let correct = predictions.iter().zip(&test.labels).filter(|&(p, l)| p == l).count();
    let classes = p.network().classes();
    let clean = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let examples =
        crate::attack::correct_examples(&predictions, &test.labels, classes, cfg.images_per_class);
    let jobs: usize = examples.iter().map(|e| e.len() * (classes - 1)).sum();
    progress.start("pair attacks", jobs as u64);
    let trials = crate::attack::pair_experiment(p, test, &examples, &cfg.pair_attack, &|| {
        progress.advance(1);
    });
    progress.finish();
    let pairs = pair_stats(&trials?, &examples, &cfg.pair_attack);
    let pairs_seconds = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let means = class_means(test, classes);
    let gallery = gallery::measure(p, test, &examples, &means, &cfg.pair_attack)?;
    let gallery_seconds = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let n = cfg.curve_images.min(test.len());
    progress.start("ε curves", n as u64);
    let (curve_set, _) = test.split_at(n);
    let epsilon = epsilon::measure(p, &curve_set, &predictions[..n], cfg, &|k| progress.advance(k));
    progress.finish();
    let epsilon = epsilon?;
    let epsilon_seconds = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let images = cfg.autoattack_images.unwrap_or(cfg.curve_images);
    let autoattack = crate::robustness::evaluate(p, test, images, &cfg.autoattack, progress)?;
    let autoattack_seconds = t.elapsed().as_secs_f64();

    Ok(ModelReport {
        label: String::new(),
        path: PathBuf::new(),
        arch: String::new(),
        recipe: None,
        test_images: test.len(),
        correct,
        clean_accuracy: correct as f64 / test.len() as f64,
        pairs,
        gallery,
        epsilon,
        autoattack,
        seconds: Timings {
            clean,
            pairs: pairs_seconds,
            gallery: gallery_seconds,
            epsilon: epsilon_seconds,
            autoattack: autoattack_seconds,
        },
    })
}

/// The mean input of each of `classes` classes of `split` (zeros for an absent class).
pub fn class_means(split: &Split, classes: usize) -> Vec<Vec<f32>> {
    let n = split.input_len();
    let mut sums = vec![vec![0.0f64; n]; classes];
    let mut counts = vec![0usize; classes];
    for (i, &label) in split.labels.iter().enumerate() {
        let (Some(sum), Some(x)) = (sums.get_mut(label), split.input(i)) else { continue };
        counts[label] += 1;
        for (s, &v) in sum.iter_mut().zip(x) {
            *s += f64::from(v);
        }
    }
    sums.iter()
        .zip(&counts)
        .map(|(sum, &count)| sum.iter().map(|&s| (s / count.max(1) as f64) as f32).collect())
        .collect()
}

/// Summarises the trials of the pair experiment.
fn pair_stats(
    trials: &[crate::attack::Trial],
    examples: &[Vec<usize>],
    settings: &Settings,
) -> PairStats {
    let classes = examples.len();
    let mut hits = vec![vec![0usize; classes]; classes];
    let mut runs = vec![vec![0usize; classes]; classes];
    let (mut linf, mut l2, mut l0, mut iters, mut conf, mut init) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for t in trials {
        runs[t.source][t.target] += 1;
        init.push(t.report.initial_confidence);
        if t.report.success {
            hits[t.source][t.target] += 1;
            linf.push(t.report.linf);
            l2.push(t.report.l2);
            l0.push(t.report.l0 as f32);
            iters.push(t.report.iterations as f32);
            conf.push(t.report.final_confidence);
        }
    }
    let mut success_rate = vec![vec![None; classes]; classes];
    for (s, row) in success_rate.iter_mut().enumerate() {
        for (t, cell) in row.iter_mut().enumerate() {
            if runs[s][t] > 0 {
                *cell = Some(hits[s][t] as f64 / runs[s][t] as f64);
            }
        }
    }
    let successes = linf.len();
    let confident = conf.iter().filter(|&&c| c >= 0.9).count();
    let median = crate::attack::median;
    PairStats {
        attack: AttackSettings::from(settings),
        images_per_class: examples.iter().map(Vec::len).collect(),
        attacks: trials.len(),
        successes,
        success_rate,
        median_linf: median(linf),
        median_l2: median(l2),
        median_l0: median(l0),
        median_iterations: median(iters),
        confident_fraction: (successes > 0).then(|| confident as f64 / successes as f64),
        median_confidence: median(conf),
        median_initial_confidence: median(init),
    }
}

/// Measures every model and assembles the report.
pub fn run(
    models: &[(PathBuf, ModelFile)],
    data_dir: &Path,
    dataset: &str,
    test: &Split,
    cfg: &ReportConfig,
    progress: &dyn Progress,
) -> Result<Report> {
    let t = Instant::now();
    let labels = labels(models.iter().map(|(p, _)| p.as_path()));
    let mut reports = Vec::with_capacity(models.len());
    for ((path, file), label) in models.iter().zip(labels) {
        reports.push(measure(file, path, &label, test, cfg, progress)?);
    }
    Ok(Report {
        data_dir: data_dir.to_path_buf(),
        dataset: dataset.to_string(),
        threads: rayon::current_num_threads(),
        nudge_version: crate::VERSION,
        models: reports,
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// Short, distinct names for models: file stems, numbered if two are equal.
fn labels<'a>(paths: impl Iterator<Item = &'a Path>) -> Vec<String> {
    let mut out: Vec<String> = paths
        .map(|p| {
            let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
            stem.unwrap_or_else(|| "model".to_string())
        })
        .collect();
    for i in 1..out.len() {
        if out[..i].contains(&out[i]) {
            out[i] = format!("{} ({})", out[i], i + 1);
        }
    }
    out
}

/// Fails with [`Error::Exists`] if any file of a report on `models` models exists in `dir`
/// and `force` is false; creates `dir` if missing. Call it before measuring so that the
/// user learns at once.
pub fn prepare_dir(dir: &Path, models: usize, force: bool) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for name in files(models) {
        crate::fsutil::check_writable(&dir.join(name), force)?;
    }
    Ok(())
}

/// Renders and writes every report file into `dir` (created if missing), each atomically;
/// refuses to replace existing files unless `force`. Returns the paths written.
pub fn write(report: &Report, dir: &Path, force: bool) -> Result<Vec<PathBuf>> {
    prepare_dir(dir, report.models.len(), force)?;
    register_font()?;
    let first =
        report.models.first().ok_or_else(|| Error::argument("--model", "no model to report on"))?;
    let mut pictures: Vec<(&str, Vec<u8>)> = vec![("pairs.png", gallery::png(first)?)];
    if let Some(second) = report.models.get(1) {
        pictures.push((COMPARE_GALLERY, gallery::png(second)?));
    }
    pictures.push(("success.png", heatmap::png(&report.models)?));
    pictures.push(("epsilon.png", epsilon::png(&report.models)?));
    let texts: [(&str, Vec<u8>); 3] = [
        ("epsilon.csv", epsilon::csv(&report.models).into_bytes()),
        ("report.md", markdown::render(report).into_bytes()),
        ("report.json", json::render(report)?.into_bytes()),
    ];
    let mut written = Vec::new();
    for (name, bytes) in pictures.iter().chain(&texts) {
        let path = dir.join(name);
        crate::fsutil::write_atomic(&path, bytes, force)?;
        written.push(path);
    }
    Ok(written)
}

/// Font files tried, in order, for the text in the pictures (after `$NUDGE_FONT`).
/// Debian: `fonts-dejavu-core` provides the first.
pub const FONT_CANDIDATES: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// The font family name the pictures use.
pub(crate) const FONT: &str = "sans-serif";

/// Loads a TrueType font (from `$NUDGE_FONT` or [`FONT_CANDIDATES`]) once per process and
/// registers it with plotters. Fails with a message naming the Debian package to install.
pub fn register_font() -> Result<()> {
    static LOADED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let env = std::env::var_os("NUDGE_FONT").map(PathBuf::from);
            let candidates = env.into_iter().chain(FONT_CANDIDATES.iter().map(PathBuf::from));
            for path in candidates {
                if let Ok(bytes) = std::fs::read(&path) {
                    // Registered once per process: the font lives as long as the program.
                    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                    if plotters::style::register_font(
                        FONT,
                        plotters::style::FontStyle::Normal,
                        bytes,
                    )
                    .is_ok()
                    {
                        return Ok(());
                    }
                }
            }
            Err(format!(
                "no usable TrueType font (tried $NUDGE_FONT, {}); install Debian's fonts-dejavu-core or set NUDGE_FONT",
                FONT_CANDIDATES.join(", ")
            ))
        })
        .clone()
        .map_err(|problem| Error::argument("font", problem))
}

/// Encodes RGB pixels (row-major, 3 bytes each) as PNG bytes.
pub(crate) fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let fail = |e: png::EncodingError| Error::argument("png", e.to_string());
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(fail)?;
        writer.write_image_data(rgb).map_err(fail)?;
    }
    Ok(out)
}

/// Size of `pairs.png` (width, height) for `classes` classes of inputs of `shape`.
pub fn gallery_size(classes: usize, shape: nudge_core::Shape) -> (u32, u32) {
    gallery::Layout::new(classes, shape).size()
}

/// Size of `success.png` with `models` panels side by side.
pub fn heatmap_size(models: usize) -> (u32, u32) {
    heatmap::size(models)
}

/// Size of `epsilon.png`.
pub fn epsilon_size() -> (u32, u32) {
    epsilon::SIZE
}

/// Decodes PNG bytes fully and returns the image's width and height (for checks of what
/// [`write()`] produced).
pub fn png_size(bytes: &[u8]) -> Result<(u32, u32)> {
    let fail = |e: png::DecodingError| Error::argument("png", e.to_string());
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().map_err(fail)?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buf).map_err(fail)?;
    Ok((info.width, info.height))
}

/// A plotting error as a host error.
pub(crate) fn plot_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::argument(what, format!("drawing failed: {e}"))
}

/// Formats an optional number with `digits` decimals, or `—`.
pub(crate) fn opt(v: Option<f32>, digits: usize) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.digits$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid_and_covers_the_range() {
        let cfg = ReportConfig::default();
        cfg.validate().unwrap();
        assert_eq!(cfg.epsilons.first(), Some(&0.0));
        assert!((cfg.epsilons.last().unwrap() - 0.3).abs() < 1e-6);
        assert!(90 * cfg.images_per_class >= 1000, "≥ 1,000 pair attacks by default");
    }

    #[test]
    fn config_rejects_a_bad_grid() {
        let bad = ReportConfig { epsilons: vec![0.1, 0.2], ..ReportConfig::default() };
        assert!(bad.validate().unwrap_err().to_string().starts_with("--epsilons"));
        let bad = ReportConfig { epsilons: vec![0.0, 0.2, 0.1], ..ReportConfig::default() };
        assert!(bad.validate().is_err());
        let bad = ReportConfig { images_per_class: 0, ..ReportConfig::default() };
        assert!(bad.validate().unwrap_err().to_string().starts_with("--images"));
    }

    #[test]
    fn labels_are_stems_made_distinct() {
        let paths = [Path::new("a/m.safetensors"), Path::new("b/m.safetensors"), Path::new("r.x")];
        assert_eq!(labels(paths.into_iter()), ["m", "m (2)", "r"]);
    }

    #[test]
    fn font_loads_here() {
        register_font().unwrap();
    }

    #[test]
    fn png_round_trips() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| i as u8).collect();
        let bytes = encode_png(&rgb, 4, 3).unwrap();
        assert_eq!(png_size(&bytes).unwrap(), (4, 3));
    }
}
