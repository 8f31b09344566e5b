//! Writes the benchmark's model, its 1,000 input digits and the kernel's gradients as raw
//! little-endian f32 files, for the anchor programs in `benches/anchors/` (NumPy, JAX and a
//! plain C loop), which time the same computation on the same data and check their
//! gradients against the kernel's.
//!
//! ```sh
//! cargo run --release -p nudge-benches --features anchors --example anchor_inputs -- DIR [--force]
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
//! Each file is written beside its final name and renamed into place (the CLI's
//! `fsutil::write_atomic`), so none is ever left half-written. That is why this example needs
//! the `anchors` feature (nudge-host): it is kept out of the benches' build, where
//! nudge-host's plotters features would break criterion's plots (see `Cargo.toml`).

use nudge_benches::{IN, MODEL_SEED, TARGET, images, kernel_forward_input_grad, random_params};
use nudge_core::Classifier;
use nudge_host::fsutil;
use std::path::PathBuf;
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
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Before the work, so that a refusal comes at once.
    for file in FILES {
        fsutil::check_writable(&dir.join(file), force).map_err(|e| e.to_string())?;
    }

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
    let contents = [&model_values[..], xs.as_flattened(), grads.as_flattened(), &log_probs];
    for (file, values) in FILES.iter().zip(contents) {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        fsutil::write_atomic(&dir.join(file), &bytes, force).map_err(|e| e.to_string())?;
    }
    println!("wrote {} (784-{H}-10, target class {TARGET}, {N} {source})", dir.display());
    Ok(())
}
