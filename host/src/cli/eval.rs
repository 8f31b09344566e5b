//! `nudge eval` and `nudge samples`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use nudge_core::quant::Arithmetic;
use nudge_host::fsutil;
use nudge_host::model::{ModelFile, Scores};
use nudge_host::tflite::int8;

use super::{DataOpts, ModelOpts};

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelOpts,
    #[command(flatten)]
    data: DataOpts,
    /// Print JSON (accuracy, correct, total, confusion, model metadata).
    #[arg(long)]
    json: bool,
    /// For a full-integer int8 TFLite model: whose integer arithmetic to reproduce
    /// (TensorFlow Lite Micro's, the device's; or LiteRT's reference kernels, whose
    /// FULLY_CONNECTED rounds once).
    #[arg(long, value_enum, default_value = "tflm")]
    int8_arithmetic: Int8Arithmetic,
}

/// `--int8-arithmetic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Int8Arithmetic {
    /// TensorFlow Lite Micro's reference kernels.
    Tflm,
    /// LiteRT's reference kernels (`BUILTIN_REF`).
    Litert,
}

pub fn run(a: &EvalArgs) -> anyhow::Result<()> {
    let path = a.model.path();
    // A full-integer int8 TFLite file runs on the int8 network; anything else (and a file
    // that cannot be read, for its usual message) goes to the float loader.
    if let Ok(bytes) = std::fs::read(&path)
        && int8::is_int8(&bytes)
    {
        return run_int8(a, &path, &bytes);
    }
    let file = ModelFile::load(&path)?;
    let examples = a.data.test()?;
    let data = examples.source;
    let scores = nudge_host::model::evaluate(&file.classifier(&path)?, &examples.split, &data)?;
    if a.json {
        let j = serde_json::json!({
            "model": path.display().to_string(),
            "data": data,
            "arch": file.model.arch(),
            "parameters": file.model.params().len(),
            "accuracy": scores.accuracy(),
            "correct": scores.correct,
            "total": scores.total,
            "confusion": scores.confusion,
            "metadata": file.metadata,
        });
        println!("{j:#}");
        return Ok(());
    }
    println!("model {} ({}), data {data}", path.display(), file.model.arch());
    if let Some(claimed) = file.metadata.get("accuracy") {
        println!("accuracy recorded in the file: {claimed}");
    }
    print_scores(&scores);
    Ok(())
}

/// `nudge eval` of a full-integer int8 TFLite model, on nudge's int8 network.
fn run_int8(a: &EvalArgs, path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let model = int8::read(bytes, path)?;
    let arithmetic = match a.int8_arithmetic {
        Int8Arithmetic::Tflm => Arithmetic::Tflm,
        Int8Arithmetic::Litert => Arithmetic::LiteRt,
    };
    let net = model.network()?.with_arithmetic(arithmetic);
    let examples = a.data.test()?;
    let data = examples.source;
    let predictions = int8::predict_all(&net, &examples.split, &data)?;
    let scores = Scores::of(&predictions, &examples.split.labels, net.classes());
    let arch = int8::format_layers(&model.layers);
    let arithmetic_name = format!("{:?}", a.int8_arithmetic).to_lowercase();
    if a.json {
        let j = serde_json::json!({
            "model": path.display().to_string(),
            "data": data,
            "arch": arch,
            "parameters": model.weights.len() + model.biases.len(),
            "accuracy": scores.accuracy(),
            "correct": scores.correct,
            "total": scores.total,
            "confusion": scores.confusion,
            "metadata": {"format": "tflite-int8", "arithmetic": arithmetic_name},
        });
        println!("{j:#}");
        return Ok(());
    }
    println!("model {} (int8: {arch}; {arithmetic_name} arithmetic), data {data}", path.display());
    print_scores(&scores);
    Ok(())
}

/// Accuracy and the confusion matrix, as text.
fn print_scores(scores: &Scores) {
    println!(
        "test accuracy {:.2}% ({} of {} correct)\n",
        100.0 * scores.accuracy(),
        scores.correct,
        scores.total
    );
    println!("confusion matrix (rows: true class, columns: predicted)");
    print!("      ");
    for c in 0..scores.confusion.len() {
        print!("{c:>6}");
    }
    println!("  recall");
    for (t, row) in scores.confusion.iter().enumerate() {
        print!("{t:>6}");
        for n in row {
            print!("{n:>6}");
        }
        let total: usize = row.iter().sum();
        let recall = if total == 0 { 0.0 } else { 100.0 * row[t] as f64 / total as f64 };
        println!("  {recall:5.1}%");
    }
}

#[derive(Debug, Args)]
pub struct SamplesArgs {
    #[command(flatten)]
    model: ModelOpts,
    #[command(flatten)]
    data: DataOpts,
    /// Directory to write digits.f32 and digits.json into (must exist).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

/// Writes `DIR/digits.f32` (K inputs of the model's size, little-endian f32, `pixel/255`;
/// input k is the first test input of class k the model gets right) and `DIR/digits.json`.
pub fn samples(a: &SamplesArgs) -> anyhow::Result<()> {
    if !a.out.is_dir() {
        anyhow::bail!("{}: output directory does not exist", a.out.display());
    }
    let (f32_path, json_path) = (a.out.join("digits.f32"), a.out.join("digits.json"));
    fsutil::check_writable(&f32_path, a.force)?;
    fsutil::check_writable(&json_path, a.force)?;
    let path = a.model.path();
    let file = ModelFile::load(&path)?;
    let examples = a.data.test()?;
    let test = &examples.split;
    let model = file.classifier(&path)?;
    nudge_host::model::check_data(&model, test, &examples.source)?;
    let predictions = nudge_host::model::predict_all(&model, test)?;
    let classes = model.network().classes();
    let mut indices = Vec::new();
    for class in 0..classes {
        let i = (0..test.len()).find(|&i| test.labels[i] == class && predictions[i] == class);
        indices.push(i.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: no correctly classified test image of class {class}",
                path.display()
            )
        })?);
    }
    let mut bytes = Vec::with_capacity(classes * test.input_len() * 4);
    for &i in &indices {
        for v in test.input(i).unwrap_or(&[]) {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    let json = serde_json::json!({
        "format": format!(
            "{classes} inputs x {} little-endian f32 (C×H×W {}, pixels /255), input k = first correctly classified test input of class k",
            test.input_len(),
            nudge_host::arch::format_shape(test.shape)
        ),
        "model": path.display().to_string(),
        "data": examples.source,
        "indices": indices,
        "labels": (0..classes).collect::<Vec<_>>(),
    });
    fsutil::write_atomic(&f32_path, &bytes, a.force)?;
    fsutil::write_atomic(&json_path, format!("{json:#}\n").as_bytes(), a.force)?;
    println!("wrote {} and {} (test indices {indices:?})", f32_path.display(), json_path.display());
    Ok(())
}
