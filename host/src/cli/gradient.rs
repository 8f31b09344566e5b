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
    let shape: Vec<usize> = if input.is_flat() {
        vec![input.len()]
    } else {
        vec![input.channels, input.height, input.width]
    };
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
