//! `nudge gradient`: where the model looks — `∇ₓ log p(T)` at one test image.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use nudge_core::{Classifier, Objective};
use nudge_host::model::ModelFile;
use nudge_host::{arch, fsutil, npy, render};

use super::attack::check_class;
use super::{DataOpts, ModelOpts};

#[derive(Debug, Args)]
pub struct GradientArgs {
    #[command(flatten)]
    model: ModelOpts,
    #[command(flatten)]
    data: DataOpts,
    /// Index of the input (in the test set, or in --inputs).
    #[arg(long)]
    index: usize,
    /// The class T whose log-probability is differentiated (default: the true class).
    #[arg(long, value_name = "T")]
    target_class: Option<usize>,
    /// Where to write the gradient: float32 `.npy`, C order, the input's shape (`[C, H, W]`).
    #[arg(long, value_name = "FILE.npy")]
    out: PathBuf,
    /// Also write a saliency picture (the image, and the gradient in red and blue).
    #[arg(long, value_name = "FILE.png")]
    png: Option<PathBuf>,
    /// Overwrite the outputs if they exist.
    #[arg(long)]
    force: bool,
}

pub fn run(a: &GradientArgs) -> anyhow::Result<()> {
    fsutil::check_writable(&a.out, a.force)?;
    if let Some(png) = &a.png {
        fsutil::check_writable(png, a.force)?;
    }
    let path = a.model.path();
    let file = ModelFile::load(&path)?;
    let model = file.classifier(&path)?;
    if let Some(t) = a.target_class {
        check_class("--target-class", t, model.classes())?;
    }
    let examples = a.data.test()?;
    let data = &examples.split;
    nudge_host::model::check_data(&model, data, &examples.source)?;
    let x = data.input(a.index).with_context(|| {
        format!("--index: {} is out of range (the data has {} inputs)", a.index, data.len())
    })?;
    let label = data.labels[a.index];
    let target = a.target_class.unwrap_or(label);
    let mut gradient = vec![0.0f32; x.len()];
    let objective = Objective::Targeted { target };
    let eval = model
        .input_gradient(x, objective, &mut model.workspace(), &mut gradient)
        .map_err(|e| nudge_host::Error::kernel("gradient", e))?;
    fsutil::write_atomic(&a.out, &npy::f32_bytes(&input_dims(data.shape), &gradient), a.force)?;
    if let Some(png) = &a.png {
        fsutil::write_atomic(png, &render::saliency_png(x, &gradient, data.shape), a.force)?;
    }
    let norm = gradient.iter().map(|g| g * g).sum::<f32>().sqrt();
    println!(
        "∇ₓ log p({target}) at input {} of {} (label {label}, predicted {} with p = {:.3}): ‖∇‖₂ = {norm:.4}, shape {} → {}",
        a.index,
        examples.source,
        eval.prediction.class,
        eval.prediction.confidence(),
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
