//! Host side of nudge: datasets, training, model files, attacks and pictures for the
//! `nudge` command line.
//!
//! | module | what it does |
//! | --- | --- |
//! | [`idx`] | reads IDX files (`.gz` or raw), validating every header field |
//! | [`data`] | finds MNIST / Fashion-MNIST on disk and loads it |
//! | [`fetch`] | downloads MNIST over HTTPS and checks each file's SHA-256 |
//! | [`fsutil`] | atomic writes that never overwrite without permission |
//! | [`safetensors`] | a strict reader and writer of the safetensors format |
//! | [`arch`] | the layer-spec syntax of `--arch` and of model metadata |
//! | [`model`] | any sequential network with owned weights, loaded from and saved to safetensors |
//! | [`train`] | deterministic data-parallel training (Adam or SGD) |
//! | [`attack`] | attack settings, single runs and the class-pair experiment |
//! | [`npy`] | NumPy `.npy` files of float32 arrays |
//! | [`onnx`] | ONNX models of sequential networks, imported as nudge models |
//! | [`tflite`] | float32 TFLite models of sequential networks, imported as nudge models |
//! | [`render`] | PNG and terminal pictures of digits and perturbations |
//! | [`toy`] | the seed's logistic-regression exercise (2.A–2.C) |
//!
//! Errors are one [`Error`] type whose messages name the file or argument at fault.
//!
//! Feature `cli` (default) brings everything but the model-file format ([`safetensors`],
//! [`arch`], [`model`], [`fsutil`]); without it the library fits in a build script.
// `deny`, not `forbid`: the generated TFLite readers (`tflite::schema`) are planus code
// with `unsafe impl`s, allowed on that one module; everything written here has none.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod arch;
#[cfg(feature = "cli")]
pub mod attack;
pub mod checkpoint;
#[cfg(feature = "cli")]
pub mod data;
pub mod error;
#[cfg(feature = "cli")]
pub mod fetch;
pub mod fsutil;
#[cfg(feature = "cli")]
pub mod idx;
mod import;
#[cfg(feature = "cli")]
pub mod labelled;
pub mod model;
#[cfg(feature = "cli")]
pub mod npy;
pub mod onnx;
#[cfg(feature = "cli")]
pub mod render;
#[cfg(feature = "cli")]
pub mod report;
#[cfg(feature = "cli")]
pub mod robustness;
pub mod safetensors;
pub mod tflite;
#[cfg(feature = "cli")]
pub mod toy;
#[cfg(feature = "cli")]
pub mod train;

pub use error::{Error, Result};

/// The crate version, recorded in model metadata.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Pixels in one MNIST image (28 × 28): the sample digits the firmware bakes in.
pub const PIXELS: usize = 784;

/// Classes of MNIST and Fashion-MNIST (digits 0–9, or the ten garments).
pub const CLASSES: usize = 10;

/// The most classes a model may have on the host: the capacity of its predictions
/// ([`nudge_core::Prediction`]); a network with more is refused when loaded.
pub const MAX_CLASSES: usize = 256;
