//! Argument definitions and dispatch.

mod attack;
mod attack_opts;
mod convert;
mod demo;
mod eval;
mod fetch;
mod gradient;
mod report;
mod robustness;
mod toy;
mod train;
mod ui;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use nudge_host::data::{DatasetKind, Split};

/// Craft adversarial examples against a small MNIST network, with the same allocation-free
/// kernel that runs on a microcontroller.
///
/// Start with `nudge demo`. Data is found via --data, NUDGE_DATA, ../shared/data/mnist or
/// ~/.cache/nudge/mnist (see `nudge data --help`).
#[derive(Debug, Parser)]
#[command(
    name = "nudge",
    version,
    propagate_version = true,
    max_term_width = 100,
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Attack one digit toward another, then run every class pair and print the success table.
    Demo(demo::DemoArgs),
    /// The seed exercise 2.A–2.C: gradients of a 6-feature logistic regression, and gradient
    /// ascent on its input.
    Toy(toy::ToyArgs),
    /// Train a network (`--arch`: an MLP or a CNN) or the toy logistic regression; save it as
    /// safetensors.
    Train(train::TrainArgs),
    /// Accuracy and confusion matrix of a model on the test set.
    Eval(eval::EvalArgs),
    /// Run one attack on one test image and show the result.
    Attack(attack::AttackArgs),
    /// Write ∇ₓ log p(T) at one test image as .npy (and a saliency PNG): where the model looks.
    Gradient(gradient::GradientArgs),
    /// Write ten correctly classified test digits (one per class) for the firmware build.
    Samples(eval::SamplesArgs),
    /// Robust accuracy under AutoAttack (APGD-CE, APGD-T, Square) or one attack, at one ε.
    Robustness(robustness::RobustnessArgs),
    /// Robustness report: pair gallery, success heatmap, accuracy against ε, report.md/json.
    Report(report::ReportArgs),
    /// Write a model as nudge's own file (layers in the metadata), e.g. a plain PyTorch
    /// checkpoint with `--arch`; prints the layer table.
    Convert(convert::ConvertArgs),
    /// Find or download datasets.
    Data(fetch::DataArgs),
}

/// Where the data comes from (shared by every command that reads it).
#[derive(Debug, Clone, Args)]
pub struct DataOpts {
    /// Dataset directory (IDX files, .gz or raw). Default: $NUDGE_DATA, then
    /// ../shared/data/mnist, then ~/.cache/nudge/mnist.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Which dataset to read (fashion defaults to /usr/share/datasets/fashion-mnist).
    #[arg(long, value_enum, default_value_t = DatasetArg::Mnist)]
    dataset: DatasetArg,
    /// Your own inputs instead of the dataset's (its test split; for `train`, its training
    /// split): an IDX image file of any image size, or a `.npy` array `[N, D]`, `[N, H, W]`
    /// or `[N, C, H, W]` (uint8, scaled /255, or float32). Needs --labels.
    #[arg(long, value_name = "FILE", requires = "labels")]
    inputs: Option<PathBuf>,
    /// Labels of --inputs: an IDX label file or a 1-D integer `.npy` array.
    #[arg(long, value_name = "FILE", requires = "inputs")]
    labels: Option<PathBuf>,
}

/// Examples read for a command, and how to name them in messages.
pub struct Examples {
    /// The examples.
    pub split: Split,
    /// Where they came from: the dataset directory, or the two files.
    pub source: String,
}

impl DataOpts {
    fn kind(&self) -> DatasetKind {
        match self.dataset {
            DatasetArg::Mnist => DatasetKind::Mnist,
            DatasetArg::Fashion => DatasetKind::Fashion,
        }
    }

    fn dir(&self) -> nudge_host::Result<PathBuf> {
        nudge_host::data::resolve_dir(self.data.as_deref(), self.kind())
    }

    /// `--inputs` and `--labels` if given, else the dataset's test split.
    fn test(&self) -> nudge_host::Result<Examples> {
        self.own().unwrap_or_else(|| {
            let dir = self.dir()?;
            let split = nudge_host::data::load_test(&dir)?;
            Ok(Examples { split, source: dir.display().to_string() })
        })
    }

    /// The user's own examples, if `--inputs` and `--labels` were given.
    fn own(&self) -> Option<nudge_host::Result<Examples>> {
        let (inputs, labels) = (self.inputs.as_ref()?, self.labels.as_ref()?);
        let source = format!("{} and {}", inputs.display(), labels.display());
        Some(nudge_host::labelled::load(inputs, labels).map(|split| Examples { split, source }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DatasetArg {
    /// Handwritten digits.
    Mnist,
    /// Fashion-MNIST.
    Fashion,
}

/// The model file option (shared by eval, attack, demo and samples).
#[derive(Debug, Clone, Args)]
pub struct ModelOpts {
    /// Model file: safetensors, ONNX or float32 TFLite (found by content). Default:
    /// models/mnist-mlp-h64.safetensors in the repository.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
}

impl ModelOpts {
    fn path(&self) -> PathBuf {
        self.model.clone().unwrap_or_else(default_model)
    }
}

/// The committed default model: relative to the current directory if it is there, else
/// in the repository this binary was built from.
pub fn default_model() -> PathBuf {
    let rel = PathBuf::from(nudge_host::model::DEFAULT_MODEL);
    if rel.is_file() { rel } else { nudge_host::data::repo_root().join(rel) }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Toy(a) => toy::run(&a),
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(&a),
        Command::Attack(a) => attack::run(&a),
        Command::Gradient(a) => gradient::run(&a),
        Command::Samples(a) => eval::samples(&a),
        Command::Robustness(a) => robustness::run(&a),
        Command::Report(a) => report::run(&a),
        Command::Convert(a) => convert::run(&a),
        Command::Data(a) => fetch::run(a),
    }
}
