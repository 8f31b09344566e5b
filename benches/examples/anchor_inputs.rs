//! Writes the benchmark's model, its 1,000 input digits and the kernel's gradients as raw
//! little-endian f32 files, for the anchor programs in `benches/anchors/` (NumPy, JAX and a
//! plain C loop), which time the same computation on the same data and check their
//! gradients against the kernel's.
//!
//! ```sh
//! cargo run --release -p nudge-benches --example anchor_inputs -- DIR [--force]
//! ```
//!
//! Files in `DIR` (created if missing; existing files are kept unless `--force`):
//! - `model.f32`: `fc1.weight [H][784]`, `fc1.bias [H]`, `fc2.weight [10][H]`,
//!   `fc2.bias [10]` (the layout of `MlpParams`), H = 64;
//! - `images.f32`: the first 1,000 MNIST test digits `[1000][784]` (synthetic digits when
//!   MNIST is not found; the last line says which);
//! - `grads.f32`: the kernel's `∇ₓ log softmax(z)[3]` for each digit, `[1000][784]`;
//! - `log_probs.f32`: `log softmax(z)[3]` for each digit, `[1000]`.
//!
//! Each file is written beside its final name and renamed into place, so none is ever
//! left half-written.

use nudge_benches::{IN, MODEL_SEED, TARGET, images, kernel_forward_input_grad, random_params};
use nudge_core::Classifier;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const H: usize = 64;
const N: usize = 1000;
const FILES: [&str; 4] = ["model.f32", "images.f32", "grads.f32", "log_probs.f32"];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut dir = None;
    let mut force = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--force" => force = true,
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`")),
            path if dir.is_none() => dir = Some(PathBuf::from(path)),
            extra => return Err(format!("unexpected argument `{extra}` (one DIR only)")),
        }
    }
    let dir = dir.ok_or("usage: anchor_inputs DIR [--force]")?;
    let existing = FILES.iter().map(|f| dir.join(f)).find(|p| p.exists());
    if let (false, Some(existing)) = (force, existing) {
        return Err(format!("{} exists (use --force to replace it)", existing.display()));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;

    let params = random_params::<H>(MODEL_SEED);
    let model = params.as_model();
    let (xs, source) = images(N);
    let mut ws = model.workspace();
    let mut grads = vec![[0.0f32; IN]; N];
    let mut log_probs = Vec::with_capacity(N);
    for (x, g) in xs.iter().zip(grads.iter_mut()) {
        log_probs.push(kernel_forward_input_grad(&model, x, &mut ws, g).objective);
    }

    let model_values: Vec<f32> = model.parts().concat();
    write_f32s(&dir.join(FILES[0]), &model_values)?;
    write_f32s(&dir.join(FILES[1]), xs.as_flattened())?;
    write_f32s(&dir.join(FILES[2]), grads.as_flattened())?;
    write_f32s(&dir.join(FILES[3]), &log_probs)?;
    println!("wrote {} (784-{H}-10, target class {TARGET}, {N} {source})", dir.display());
    Ok(())
}

/// Writes `values` as little-endian f32 to `path`, through a temporary file in the same
/// directory that is renamed into place.
fn write_f32s(path: &Path, values: &[f32]) -> Result<(), String> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let result = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}
