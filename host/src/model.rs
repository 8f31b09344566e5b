//! The 784-H-10 MLP as the host handles it: any supported hidden size behind one enum,
//! loaded from and saved to safetensors with PyTorch `nn.Linear` names, and evaluated on a
//! dataset in parallel.
//!
//! Tensors: `fc1.weight` `[H, 784]`, `fc1.bias` `[H]`, `fc2.weight` `[10, H]`, `fc2.bias`
//! `[10]`, all F32 — exactly what `torch.save`-then-`safetensors.torch.save_file` produces
//! for `fc1 = nn.Linear(784, H)`, `fc2 = nn.Linear(H, 10)`. Data is written in that order,
//! which is also the byte layout of [`MlpParams`].

use std::collections::BTreeMap;
use std::path::Path;

use nudge_core::{Classifier, Mlp, MlpParams};
use rayon::prelude::*;

use crate::data::Split;
use crate::error::{Error, Result};
use crate::safetensors::{self, SafeTensors, Tensor};
use crate::{CLASSES, PIXELS};

/// Hidden sizes the host is compiled for.
pub const HIDDEN_SIZES: [usize; 5] = [16, 32, 64, 128, 256];

/// Tensor names, in data order.
pub const TENSOR_NAMES: [&str; 4] = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"];

/// Owned parameters of a 784-H-10 MLP.
pub type Params<const H: usize> = MlpParams<PIXELS, H, CLASSES>;

/// An MLP of any supported hidden size. Use [`with_mlp!`](crate::with_mlp) to run generic
/// code on the concrete type.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum AnyMlp {
    H16(Box<Params<16>>),
    H32(Box<Params<32>>),
    H64(Box<Params<64>>),
    H128(Box<Params<128>>),
    H256(Box<Params<256>>),
}

/// Runs `$body` with `$p` bound to the `Box<MlpParams<784, H, 10>>` inside an [`AnyMlp`]
/// (by value, reference or mutable reference, following `$any`).
#[macro_export]
macro_rules! with_mlp {
    ($any:expr, $p:ident => $body:expr) => {
        match $any {
            $crate::model::AnyMlp::H16($p) => $body,
            $crate::model::AnyMlp::H32($p) => $body,
            $crate::model::AnyMlp::H64($p) => $body,
            $crate::model::AnyMlp::H128($p) => $body,
            $crate::model::AnyMlp::H256($p) => $body,
        }
    };
}

/// Runs `$body` with a `const $h: usize` equal to the runtime hidden size `$hidden`, or
/// evaluates to an [`Error::Argument`] for an unsupported size. `$body` must be a `Result`.
#[macro_export]
macro_rules! for_hidden {
    ($hidden:expr, $h:ident => $body:expr) => {
        match $hidden {
            16 => {
                const $h: usize = 16;
                $body
            }
            32 => {
                const $h: usize = 32;
                $body
            }
            64 => {
                const $h: usize = 64;
                $body
            }
            128 => {
                const $h: usize = 128;
                $body
            }
            256 => {
                const $h: usize = 256;
                $body
            }
            other => Err($crate::Error::argument(
                "--hidden",
                format!("{other} is not supported (use 16, 32, 64, 128 or 256)"),
            )),
        }
    };
}

/// Conversion from concrete parameters into [`AnyMlp`].
pub trait IntoAny {
    /// Wraps the parameters.
    fn into_any(self) -> AnyMlp;
}

macro_rules! impl_into_any {
    ($($h:literal => $v:ident),*) => {$(
        impl IntoAny for Box<Params<$h>> {
            fn into_any(self) -> AnyMlp {
                AnyMlp::$v(self)
            }
        }
    )*};
}
impl_into_any!(16 => H16, 32 => H32, 64 => H64, 128 => H128, 256 => H256);

/// The four tensors of `p` as flat slices, in data order.
pub fn parts<const H: usize>(p: &Params<H>) -> [&[f32]; 4] {
    [p.fc1_weight.as_flattened(), &p.fc1_bias, p.fc2_weight.as_flattened(), &p.fc2_bias]
}

/// The four tensors of `p` as flat mutable slices, in data order.
pub fn parts_mut<const H: usize>(p: &mut Params<H>) -> [&mut [f32]; 4] {
    [
        p.fc1_weight.as_flattened_mut(),
        &mut p.fc1_bias,
        p.fc2_weight.as_flattened_mut(),
        &mut p.fc2_bias,
    ]
}

/// Zeroed parameters on the heap.
pub fn zeroed<const H: usize>() -> Box<Params<H>> {
    bytemuck::zeroed_box()
}

impl AnyMlp {
    /// The hidden size.
    pub fn hidden(&self) -> usize {
        with_mlp!(self, p => p.fc1_bias.len())
    }

    /// The tensors with their PyTorch names and shapes.
    pub fn to_tensors(&self) -> Vec<(&'static str, Tensor)> {
        let h = self.hidden();
        let shapes = [vec![h, PIXELS], vec![h], vec![CLASSES, h], vec![CLASSES]];
        let parts = with_mlp!(self, p => parts(p));
        TENSOR_NAMES
            .into_iter()
            .zip(shapes)
            .zip(parts)
            .map(|((n, s), v)| (n, Tensor::f32(s, v)))
            .collect()
    }

    /// Builds a model from parsed tensors, checking names, dtypes, shapes and values.
    pub fn from_tensors(st: &SafeTensors, path: &Path) -> Result<Self> {
        let bad = |problem: String| Error::model(path, problem);
        for name in TENSOR_NAMES {
            if !st.tensors.contains_key(name) {
                return Err(bad(format!("missing tensor {name}")));
            }
        }
        if let Some(extra) = st.tensors.keys().find(|k| !TENSOR_NAMES.contains(&k.as_str())) {
            return Err(bad(format!(
                "unexpected tensor {extra} (a nudge MLP has exactly {})",
                TENSOR_NAMES.join(", ")
            )));
        }
        for name in TENSOR_NAMES {
            let dtype = &st.tensors[name].dtype;
            if dtype != "F32" {
                return Err(bad(format!("tensor {name} has dtype {dtype}, expected F32")));
            }
        }
        let w1 = &st.tensors["fc1.weight"].shape;
        let h = match w1.as_slice() {
            [h, PIXELS] => *h,
            _ => {
                return Err(bad(format!(
                    "tensor fc1.weight has shape {w1:?}, expected [hidden, {PIXELS}]"
                )));
            }
        };
        if !HIDDEN_SIZES.contains(&h) {
            return Err(bad(format!(
                "hidden size {h} is not supported (use 16, 32, 64, 128 or 256)"
            )));
        }
        let expected = [vec![h, PIXELS], vec![h], vec![CLASSES, h], vec![CLASSES]];
        let mut values: Vec<Vec<f32>> = Vec::with_capacity(4);
        for (name, want) in TENSOR_NAMES.into_iter().zip(expected) {
            let t = &st.tensors[name];
            if t.shape != want {
                return Err(bad(format!(
                    "tensor {name} has shape {:?}, expected {want:?}",
                    t.shape
                )));
            }
            let v: Vec<f32> = t
                .data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                return Err(bad(format!(
                    "tensor {name} has a non-finite value ({x}) at index {i}"
                )));
            }
            values.push(v);
        }
        for_hidden!(h, H => Ok(build::<H>(&values).into_any()))
            .map_err(|_: Error| bad(format!("hidden size {h} is not supported")))
    }
}

fn build<const H: usize>(values: &[Vec<f32>]) -> Box<Params<H>> {
    let mut p = zeroed::<H>();
    for (dst, src) in parts_mut(&mut p).into_iter().zip(values) {
        dst.copy_from_slice(src);
    }
    p
}

/// A model file: the network and its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// The network.
    pub mlp: AnyMlp,
    /// The `__metadata__` strings (dataset, accuracy, seed, hidden, version, recipe, …).
    pub metadata: BTreeMap<String, String>,
}

impl ModelFile {
    /// Parses model bytes; `path` is used in messages.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        let st = safetensors::parse(bytes, path)?;
        Ok(ModelFile { mlp: AnyMlp::from_tensors(&st, path)?, metadata: st.metadata })
    }

    /// Loads a model file.
    pub fn load(path: &Path) -> Result<Self> {
        Self::parse(&crate::fsutil::read(path)?, path)
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let tensors = self.mlp.to_tensors();
        let refs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
        safetensors::serialize(&refs, &self.metadata)
    }

    /// Writes the file atomically; refuses to overwrite unless `force`.
    pub fn save(&self, path: &Path, force: bool) -> Result<()> {
        crate::fsutil::write_atomic(path, &self.to_bytes(), force)
    }
}

/// Accuracy and confusion matrix of a model on a split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scores {
    /// Correct predictions.
    pub correct: usize,
    /// Examples seen.
    pub total: usize,
    /// `confusion[true][predicted]` counts.
    pub confusion: [[usize; CLASSES]; CLASSES],
}

impl Scores {
    /// `correct / total` (0 for an empty split).
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.correct as f64 / self.total as f64 }
    }
}

/// Predicted class of every image of `split`, in order (computed in parallel).
pub fn predict_all<const H: usize>(p: &Params<H>, split: &Split) -> Result<Vec<usize>> {
    let model = p.as_model();
    split
        .images
        .par_chunks(256)
        .map(|chunk| {
            let mut ws = model.workspace();
            chunk
                .iter()
                .map(|img| {
                    model
                        .predict(&crate::data::to_input(img), &mut ws)
                        .map(|pr| pr.class)
                        .map_err(|e| Error::kernel("prediction", e))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()
        .map(|v| v.concat())
}

/// Scores `p` on `split`.
pub fn evaluate<const H: usize>(p: &Params<H>, split: &Split) -> Result<Scores> {
    let predictions = predict_all(p, split)?;
    let mut scores = Scores { correct: 0, total: split.len(), confusion: [[0; CLASSES]; CLASSES] };
    for (&pred, &label) in predictions.iter().zip(&split.labels) {
        scores.confusion[usize::from(label)][pred] += 1;
        scores.correct += usize::from(pred == usize::from(label));
    }
    Ok(scores)
}

/// The kernel's view of parameters.
pub fn view<const H: usize>(p: &Params<H>) -> Mlp<'_, PIXELS, H, CLASSES> {
    p.as_model()
}

/// The committed default model, relative to the repository root.
pub const DEFAULT_MODEL: &str = "models/mnist-mlp-h64.safetensors";
