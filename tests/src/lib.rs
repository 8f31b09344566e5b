//! Helpers shared by the cross-crate integration tests in `tests/tests/`.
//!
//! * [`repo`], [`data_dir`], [`committed_model`]: paths relative to this crate, never to the
//!   machine (CI runs a fresh clone with `shared/` as its sibling).
//! * [`nudge`]: runs the `nudge` binary (built once per test process with the `test` profile,
//!   the profile `cargo test` itself uses) from the repository root, with `NUDGE_DATA`
//!   removed so that the default search is what is tested.
//! * [`colour_data`]: a dataset that is not MNIST's shape, for tests of any-size networks.
//! * [`imported`]: what the ONNX and TFLite import tests check alike.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The offline MNIST copy, `../shared/data/mnist` next to the repository.
pub fn data_dir() -> PathBuf {
    repo().join("../shared/data/mnist")
}

/// The data directory, or `None` (with the reason printed) when it is missing, so that a
/// test can skip.
pub fn require_data() -> Option<PathBuf> {
    let dir = data_dir();
    if nudge_host::data::has_test_files(&dir) {
        Some(dir)
    } else {
        eprintln!("skipped: no MNIST test files in {}", dir.display());
        None
    }
}

/// The committed default model.
pub fn committed_model() -> PathBuf {
    repo().join(nudge_host::model::DEFAULT_MODEL)
}

/// A file under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// The path of the `nudge` binary, built on first use.
pub fn nudge_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(repo())
            .args(["build", "--quiet", "-p", "nudge-host", "--bin", "nudge", "--profile", "test"])
            .args(["--message-format", "json"])
            .output()
            .expect("run cargo build");
        assert!(
            out.status.success(),
            "building nudge failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "nudge")
            .find_map(|v| v["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported the nudge executable")
    })
}

/// A `nudge` command run from the repository root without `NUDGE_DATA`.
pub fn nudge_cmd() -> Command {
    let mut c = Command::new(nudge_bin());
    c.current_dir(repo()).env_remove("NUDGE_DATA").env_remove("NUDGE_REPO");
    c
}

/// Runs `nudge args…` and returns its output.
pub fn nudge(args: &[&str]) -> Output {
    nudge_cmd().args(args).output().expect("run nudge")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and parses standard output as JSON.
pub fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "nudge failed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", stdout(o)))
}

/// Asserts that `o` is a runtime failure: exit status 1, nothing on stdout, and exactly one
/// line `error: …` on stderr that contains every one of `needles`.
pub fn assert_fails(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected exit 1, got {:?}; stderr: {err}",
        o.status.code()
    );
    assert_eq!(err.lines().count(), 1, "expected one line on stderr, got: {err}");
    assert!(err.starts_with("error: "), "stderr does not start with `error: `: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
}

/// What the ONNX and TFLite import tests check alike, against the framework's runtime.
pub mod imported {
    use std::path::Path;

    use nudge_core::Classifier;
    use nudge_host::model::ModelFile;

    use super::{fixture, nudge, stderr};

    /// Absolute and relative tolerance of nudge's f32 logits against a runtime's f32
    /// logits (the summation orders differ).
    pub const ATOL: f64 = 1e-5;
    /// See [`ATOL`].
    pub const RTOL: f64 = 1e-5;

    /// The fixture `name` (JSON written by a fixture script).
    pub fn expected(name: &str) -> serde_json::Value {
        let bytes = std::fs::read(fixture(name)).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// `file`'s logits at each of `inputs` equal `runtime`'s `logits` within the tolerance.
    pub fn assert_logits(
        file: &ModelFile,
        inputs: &[&[f32]],
        logits: &serde_json::Value,
        runtime: &str,
    ) {
        let model = file.model.classifier("fixture").unwrap();
        let mut ws = model.workspace();
        for (i, x) in inputs.iter().enumerate() {
            let got = model.predict(x, &mut ws).unwrap();
            let want = logits[i].as_array().unwrap();
            assert_eq!(got.logits().len(), want.len(), "input {i}: classes");
            for (k, (&g, w)) in got.logits().iter().zip(want).enumerate() {
                let (g, w) = (f64::from(g), w.as_f64().unwrap());
                let delta = (g - w).abs();
                assert!(
                    delta <= ATOL + RTOL * w.abs(),
                    "input {i} logit {k}: nudge {g}, {runtime} {w}"
                );
            }
        }
    }

    /// Each MNIST model `(name, arch)` of the fixture JSON `expected` has that layer list,
    /// `runtime`'s logits on the first `count` test images, and `runtime`'s correct count
    /// on all 10,000 (by `nudge eval`). `data` is the MNIST directory.
    pub fn assert_mnist_models(
        data: &Path,
        expected: &serde_json::Value,
        models: &[(&str, &str)],
        runtime: &str,
    ) {
        let test = nudge_host::data::load_test(data).unwrap();
        let count = expected["count"].as_u64().unwrap() as usize;
        let inputs: Vec<&[f32]> = (0..count).map(|i| test.input(i).unwrap()).collect();
        for &(name, arch) in models {
            let e = &expected[name];
            let path = fixture(e["file"].as_str().unwrap());
            let file = ModelFile::load(&path).unwrap();
            assert_eq!(file.model.arch(), arch, "{name}");
            assert_logits(&file, &inputs, &e["logits"], runtime);
            let o = nudge(&["eval", "--model", path.to_str().unwrap(), "--json"]);
            assert!(o.status.success(), "{}", stderr(&o));
            let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(j["correct"], e["test_correct"], "{name}: correct test images");
            assert_eq!(j["total"], e["test_total"]);
        }
    }

    /// A PGD attack on the MNIST model `model` turns test image 0 into a 3; `nudge convert`
    /// writes nudge's own file of the same network into `dir`. Returns convert's layer table.
    pub fn assert_attacks_and_converts(model: &Path, dir: &Path) -> String {
        let path = model.to_str().unwrap();
        let o = nudge(&[
            "attack",
            "--model",
            path,
            "--index",
            "0",
            "--target-class",
            "3",
            "--method",
            "pgd",
            "--eps",
            "0.3",
            "--json",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!((j["success"].as_bool(), j["final_class"].as_u64()), (Some(true), Some(3)));
        let out = dir.join("converted.safetensors");
        let o = nudge(&["convert", "--model", path, "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (a, b) = (ModelFile::load(model).unwrap(), ModelFile::load(&out).unwrap());
        assert_eq!(a.model, b.model);
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// A small dataset of another shape and class count than MNIST's, written as `.npy`.
pub mod colour_data {
    use std::path::{Path, PathBuf};

    use nudge_core::Shape;
    use nudge_core::rng::SplitMix64;

    /// Examples.
    pub const N: usize = 600;
    /// Three colour channels of 8 × 8.
    pub const SHAPE: Shape = Shape::new(3, 8, 8);
    /// Classes.
    pub const CLASSES: usize = 3;

    /// `N` images whose class `c` (`i mod 3` for image `i`) is the brighter colour channel
    /// `c`, noisy enough that the channels overlap: learnable, not trivial. Written to `dir`
    /// as uint8 `x.npy` `[N, 3, 8, 8]` and int64 `y.npy`; returns the two paths.
    pub fn write_data(dir: &Path) -> (PathBuf, PathBuf) {
        let mut rng = SplitMix64::new(2026);
        let mut pixels = Vec::with_capacity(N * SHAPE.len());
        let mut labels = Vec::with_capacity(N * 8);
        for i in 0..N {
            let class = i % CLASSES;
            for channel in 0..SHAPE.channels {
                let base = if channel == class { 120.0 } else { 60.0 };
                for _ in 0..SHAPE.height * SHAPE.width {
                    pixels.push((base + rng.uniform(-60.0, 60.0)).clamp(0.0, 255.0) as u8);
                }
            }
            labels.extend_from_slice(&(class as i64).to_le_bytes());
        }
        let (x, y) = (dir.join("x.npy"), dir.join("y.npy"));
        std::fs::write(&x, nudge_host::npy::bytes("|u1", &[N, 3, 8, 8], &pixels)).unwrap();
        std::fs::write(&y, nudge_host::npy::bytes("<i8", &[N], &labels)).unwrap();
        (x, y)
    }
}
