//! `nudge gradient`: where the model looks — `∇ₓ log p(T)` at one test image.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use nudge_core::{Classifier, Objective};
use nudge_host::model::ModelFile;
use nudge_host::{PIXELS, arch, fsutil, npy, render};

use super::attack::check_class;
use super::{DataOpts, ModelOpts};

#[derive(Debug, Args)]
pub struct GradientArgs {
    #[command(flatten)]
    model: ModelOpts,
    #[command(flatten)]
    data: DataOpts,
    /// Test-set index of the image.
    #[arg(long)]
    index: usize,
    /// The class T whose log-probability is differentiated (default: the true class).
    #[arg(long, value_name = "T")]
    target_class: Option<usize>,
    /// Where to write the gradient: float32 `.npy`, C order, the model's input shape.
    #[arg(long, value_name = "FILE.npy")]
    out: PathBuf,
    /// Also write a saliency picture (the image, and the gradient in red and blue).
    #[arg(long, value_name = "FILE.png")]
    png: Option<PathBuf>,
    /// Take image N from your own inputs instead of the test set (IDX of any image size or
    /// `.npy`, as `nudge eval --inputs`): any network, any input shape. Needs --labels.
    #[arg(long, value_name = "FILE", requires = "labels")]
    inputs: Option<PathBuf>,
    /// Labels of --inputs.
    #[arg(long, value_name = "FILE", requires = "inputs")]
    labels: Option<PathBuf>,
    /// Overwrite the outputs if they exist.
    #[arg(long)]
    force: bool,
}

pub fn run(a: &GradientArgs) -> anyhow::Result<()> {
    if let Some(t) = a.target_class {
        check_class("--target-class", t)?;
    }
    fsutil::check_writable(&a.out, a.force)?;
    if let Some(png) = &a.png {
        fsutil::check_writable(png, a.force)?;
    }
    let path = a.model.path();
    let file = ModelFile::load(&path)?;
    if let (Some(inputs), Some(labels)) = (&a.inputs, &a.labels) {
        return on_own_data(a, &file, inputs, labels);
    }
    let model = file.classifier(&path)?;
    let test = nudge_host::data::load_test(&a.data.dir()?)?;
    let x = test.input(a.index).with_context(|| {
        format!("--index: {} is out of range (the test set has {} images)", a.index, test.len())
    })?;
    let label = usize::from(test.labels[a.index]);
    let target = a.target_class.unwrap_or(label);
    let mut gradient = [0.0f32; PIXELS];
    let objective = Objective::Targeted { target };
    let eval = model
        .input_gradient(&x, objective, &mut model.workspace(), &mut gradient)
        .map_err(|e| nudge_host::Error::kernel("gradient", e))?;
    let input = file.model.input();
    let shape = input_dims(input);
    fsutil::write_atomic(&a.out, &npy::f32_bytes(&shape, &gradient), a.force)?;
    if let Some(png) = &a.png {
        fsutil::write_atomic(png, &render::saliency_png(&x, &gradient), a.force)?;
    }
    let norm = gradient.iter().map(|g| g * g).sum::<f32>().sqrt();
    println!(
        "∇ₓ log p({target}) at test image {} (label {label}, predicted {} with p = {:.3}): ‖∇‖₂ = {norm:.4}, shape {} → {}",
        a.index,
        eval.prediction.class,
        eval.prediction.confidence(),
        arch::format_shape(input),
        a.out.display()
    );
    Ok(())
}

/// `nudge gradient --inputs X --labels Y`: the network on its own sizes, through the
/// layer kernel's passes directly.
fn on_own_data(
    a: &GradientArgs,
    file: &ModelFile,
    inputs: &std::path::Path,
    labels: &std::path::Path,
) -> anyhow::Result<()> {
    let data = nudge_host::labelled::load(inputs, labels)?;
    let what = format!("{} and {}", inputs.display(), labels.display());
    let network = file.model.network()?;
    if network.input_len() != data.shape.len() {
        anyhow::bail!(
            "{what}: inputs of shape {}, but the model takes {}",
            arch::format_shape(data.shape),
            arch::format_shape(network.input_shape())
        );
    }
    let x = data.input(a.index).with_context(|| {
        format!("--index: {} is out of range (the inputs have {} images)", a.index, data.len())
    })?;
    let label = data.labels[a.index];
    let target = a.target_class.unwrap_or(label);
    if target >= network.classes() {
        anyhow::bail!(
            "--target-class: class {target} is out of range 0..={}",
            network.classes() - 1
        );
    }
    if let Some(png) = a.png.as_ref().filter(|_| data.shape.channels != 1) {
        anyhow::bail!(
            "{}: the saliency picture needs single-channel images (these are {})",
            png.display(),
            arch::format_shape(data.shape)
        );
    }
    let kernel = |e| nudge_host::Error::kernel("gradient", e);
    let mut arena = vec![0.0f32; network.arena_len()];
    let logits = network.forward(x, &mut arena).map_err(kernel)?.to_vec();
    let classes = logits.len();
    let (mut p, mut log_p, mut dz) = (vec![0.0; classes], vec![0.0; classes], vec![0.0; classes]);
    nudge_core::math::softmax(&logits, &mut p, &mut log_p);
    Objective::Targeted { target }.evaluate_logits(&logits, &p, &log_p, &mut dz).map_err(kernel)?;
    let mut gradient = vec![0.0f32; x.len()];
    network.backward(x, &mut arena, &dz, Some(&mut gradient), None).map_err(kernel)?;
    let shape = input_dims(data.shape);
    fsutil::write_atomic(&a.out, &npy::f32_bytes(&shape, &gradient), a.force)?;
    if let Some(png) = &a.png {
        let picture = render::saliency_png_sized(x, &gradient, data.shape.height, data.shape.width);
        fsutil::write_atomic(png, &picture, a.force)?;
    }
    let predicted = (0..classes).fold(0, |b, k| if logits[k] > logits[b] { k } else { b });
    let norm = gradient.iter().map(|g| g * g).sum::<f32>().sqrt();
    println!(
        "∇ₓ log p({target}) at input {} of {} (label {label}, predicted {predicted} with p = {:.3}): ‖∇‖₂ = {norm:.4}, shape {} → {}",
        a.index,
        inputs.display(),
        p[predicted],
        arch::format_shape(data.shape),
        a.out.display()
    );
    Ok(())
}

/// The `.npy` dimensions of one input of `shape`: `[n]` when flat, else `[C, H, W]`.
fn input_dims(shape: nudge_core::Shape) -> Vec<usize> {
    if shape.is_flat() {
        vec![shape.len()]
    } else {
        vec![shape.channels, shape.height, shape.width]
    }
}
