//! Build script: picks the board's `memory.x`, adds the link arguments, and bakes the model
//! and the sample digits into flash.
//!
//! * Model: `../models/mnist-mlp-h64.safetensors` (or `$NUDGE_MODEL`), PyTorch `nn.Linear`
//!   names `fc1.weight` [H,784], `fc1.bias` [H], `fc2.weight` [10,H], `fc2.bias` [10], F32.
//!   Written to `$OUT_DIR/model.bin` in nudge-core's layout order (fc1.weight row-major,
//!   fc1.bias, fc2.weight row-major, fc2.bias; little-endian f32) and `$OUT_DIR/model.rs`
//!   (`HIDDEN`). Wrong names, shapes, dtype or a non-finite value fail the build.
//! * Digits: `assets/digits.f32` (or `$NUDGE_DIGITS`): 10 images x 784 little-endian f32 in
//!   [0, 1], image k of class k. Copied to `$OUT_DIR/digits.bin`.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process,
};

use safetensors::{Dtype, SafeTensors};

/// Pixels per MNIST image.
const INPUT: usize = 28 * 28;
/// MNIST classes.
const CLASSES: usize = 10;
/// Hidden widths the firmware accepts (RAM budget: the workspace grows with H).
const MAX_HIDDEN: usize = 256;

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));

    link(&manifest, &out);

    println!("cargo:rerun-if-env-changed=NUDGE_MODEL");
    let model = env::var_os("NUDGE_MODEL")
        .map_or_else(|| manifest.join("../models/mnist-mlp-h64.safetensors"), PathBuf::from);
    println!("cargo:rerun-if-changed={}", model.display());
    let hidden = convert_model(&model, &out).unwrap_or_else(|e| {
        fail(&format!("model {}: {e}", model.display()));
    });

    println!("cargo:rerun-if-env-changed=NUDGE_DIGITS");
    let digits = env::var_os("NUDGE_DIGITS")
        .map_or_else(|| manifest.join("assets/digits.f32"), PathBuf::from);
    println!("cargo:rerun-if-changed={}", digits.display());
    copy_digits(&digits, &out)
        .unwrap_or_else(|e| fail(&format!("digits {}: {e}", digits.display())));

    fs::write(
        out.join("model.rs"),
        format!(
            "/// Hidden width of the baked-in model (from `{}`).\n\
             pub const HIDDEN: usize = {hidden};\n",
            model.file_name().unwrap_or_default().to_string_lossy()
        ),
    )
    .expect("write model.rs");
}

/// Prints `msg` as a build error and stops the build.
fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    println!("cargo::error={msg}");
    process::exit(1);
}

/// Checks that exactly one board is selected, places its `memory.x` on the linker's search
/// path and adds the link scripts (only for the ARM target, so a host `cargo check` of the
/// build script is unaffected).
fn link(manifest: &Path, out: &Path) {
    let boards = [
        ("qemu", "mps2-an386.x"),
        ("netduinoplus2", "stm32f4.x"),
        ("stm32f407-disco", "stm32f4.x"),
    ];
    let selected: Vec<_> = boards
        .iter()
        .filter(|(feature, _)| {
            let var = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
            env::var_os(var).is_some()
        })
        .collect();
    let [(_, memory)] = selected.as_slice() else {
        let names: Vec<_> = selected.iter().map(|(f, _)| *f).collect();
        fail(&format!(
            "select exactly one board feature (qemu, netduinoplus2, stm32f407-disco); got {names:?}. \
             For a non-default board use `--no-default-features --features BOARD`."
        ));
    };
    let src = manifest.join("memory").join(memory);
    fs::copy(&src, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rustc-link-search={}", out.display());

    if env::var("TARGET").is_ok_and(|t| t.starts_with("thumb")) {
        println!("cargo:rustc-link-arg-bins=--nmagic");
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
}

/// Converts the safetensors model into the kernel's blob; returns the hidden width.
fn convert_model(path: &Path, out: &Path) -> Result<usize, String> {
    let bytes = fs::read(path).map_err(|e| {
        format!(
            "cannot read it ({e}). Train and export one with \
             `cargo run --release -p nudge-host -- train --out models/mnist-mlp-h64.safetensors` \
             from the repository root, or point NUDGE_MODEL at a safetensors file"
        )
    })?;
    let st =
        SafeTensors::deserialize(&bytes).map_err(|e| format!("not a safetensors file: {e}"))?;

    let hidden = {
        let t = st.tensor("fc1.weight").map_err(|e| format!("fc1.weight: {e}"))?;
        match t.shape() {
            [h, i] if *i == INPUT && (1..=MAX_HIDDEN).contains(h) => *h,
            s => {
                return Err(format!(
                    "fc1.weight has shape {s:?}, expected [H, {INPUT}] with 1 <= H <= {MAX_HIDDEN}"
                ));
            }
        }
    };
    let layout: [(&str, Vec<usize>); 4] = [
        ("fc1.weight", vec![hidden, INPUT]),
        ("fc1.bias", vec![hidden]),
        ("fc2.weight", vec![CLASSES, hidden]),
        ("fc2.bias", vec![CLASSES]),
    ];
    let mut blob = Vec::new();
    let mut index = 0usize;
    for (name, shape) in &layout {
        let t = st.tensor(name).map_err(|e| format!("{name}: {e}"))?;
        if t.dtype() != Dtype::F32 {
            return Err(format!("{name} has dtype {:?}, expected F32", t.dtype()));
        }
        if t.shape() != shape.as_slice() {
            return Err(format!("{name} has shape {:?}, expected {shape:?}", t.shape()));
        }
        for (k, chunk) in t.data().chunks_exact(4).enumerate() {
            let v = f32::from_le_bytes(chunk.try_into().expect("4 bytes"));
            if !v.is_finite() {
                return Err(format!(
                    "{name}[{k}] is {v} (flat parameter index {}): weights must be finite",
                    index + k
                ));
            }
        }
        index += shape.iter().product::<usize>();
        blob.extend_from_slice(t.data());
    }
    let names: Vec<_> =
        st.names().into_iter().filter(|n| !layout.iter().any(|(l, _)| l == n)).collect();
    if !names.is_empty() {
        println!("cargo::warning=model {}: ignoring extra tensors {names:?}", path.display());
    }
    fs::write(out.join("model.bin"), &blob).map_err(|e| format!("write model.bin: {e}"))?;
    Ok(hidden)
}

/// Checks and copies the sample digits.
fn copy_digits(path: &Path, out: &Path) -> Result<(), String> {
    let bytes = fs::read(path).map_err(|e| {
        format!(
            "cannot read it ({e}). Write the sample digits with \
             `mkdir -p firmware/assets && cargo run --release -p nudge-host -- samples --out firmware/assets` \
             from the repository root (or point NUDGE_DIGITS at such a file)"
        )
    })?;
    let want = CLASSES * INPUT * 4;
    if bytes.len() != want {
        return Err(format!(
            "has {} bytes, expected {want} (10 images x 784 little-endian f32)",
            bytes.len()
        ));
    }
    for (k, chunk) in bytes.chunks_exact(4).enumerate() {
        let v = f32::from_le_bytes(chunk.try_into().expect("4 bytes"));
        if !(0.0..=1.0).contains(&v) {
            return Err(format!(
                "pixel {} of image {} is {v}, expected a value in [0, 1]",
                k % INPUT,
                k / INPUT
            ));
        }
    }
    fs::write(out.join("digits.bin"), &bytes).map_err(|e| format!("write digits.bin: {e}"))?;
    Ok(())
}
