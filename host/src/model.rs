//! A model as the host handles it: any sequential network (nudge-core's
//! [`Network`]) with owned weights, loaded from and saved to safetensors, and evaluated on a
//! dataset in parallel.
//!
//! # Tensors
//! * An MLP (dense layers with a ReLU between each pair, on a flat input) uses PyTorch's
//!   attribute names `fc1.weight` `[H₁, IN]`, `fc1.bias` `[H₁]`, … `fcN.weight`, `fcN.bias`:
//!   exactly what `safetensors.torch.save_file` writes for a module with `fc1 = nn.Linear(…)`
//!   attributes, so such files need no metadata (the layers follow from the shapes).
//! * Any other network uses `nn.Sequential`'s names, `{i}.weight` and `{i}.bias` for layer
//!   `i` of the list (ReLU, pooling and flatten count as layers, as in PyTorch), with
//!   weights in PyTorch's layouts (`[out, in]`, `[out_c, in_c, kh, kw]`), and states its
//!   layers in the metadata: `nudge.input` (`1x28x28`) and `nudge.layers` (the
//!   [layer list](crate::arch)).
//!
//! Data is written in layer order, which is also the parameter layout of [`Network`].

use std::collections::BTreeMap;
use std::path::Path;

use nudge_core::network::NetworkClassifier;
use nudge_core::rng::SplitMix64;
use nudge_core::{LayerSpec, Network, Shape};
#[cfg(feature = "cli")]
use rayon::prelude::*;

use crate::MAX_CLASSES;
use crate::arch;
#[cfg(feature = "cli")]
use crate::data::Split;
use crate::error::{Error, Result};
use crate::safetensors::{self, SafeTensors, Tensor};

/// The kernel's view of a model: its own input size, up to [`MAX_CLASSES`] classes.
pub type Net<'w> = NetworkClassifier<'w, Vec<f32>, MAX_CLASSES>;

/// Metadata key of the input shape (`CxHxW`).
pub const INPUT_KEY: &str = "nudge.input";
/// Metadata key of the layer list.
pub const LAYERS_KEY: &str = "nudge.layers";

/// A network with owned weights, validated when it is made.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    input: Shape,
    layers: Vec<LayerSpec>,
    params: Vec<f32>,
}

impl Model {
    /// A model of `layers` on inputs of shape `input` with parameters `params` (layer
    /// order); fails like [`Network::new`].
    pub fn new(input: Shape, layers: Vec<LayerSpec>, params: Vec<f32>) -> Result<Self> {
        Network::new(input, &layers, &params).map_err(|e| Error::kernel("network", e))?;
        Ok(Self { input, layers, params })
    }

    /// PyTorch's default initialisation, drawn from `rng` layer by layer (weight, then
    /// bias): `U(−1/√fan_in, 1/√fan_in)` with `fan_in` = inputs of a dense layer,
    /// `in_c·kh·kw` of a convolution.
    pub fn init(arch: &arch::Arch, rng: &mut SplitMix64) -> Result<Self> {
        let mut params = Vec::new();
        for layer in layer_shapes(arch.input, &arch.layers)? {
            let fan_in = match layer.spec {
                LayerSpec::Dense { .. } => layer.input.len(),
                LayerSpec::Conv2d { window, .. } => {
                    layer.input.channels * window.kernel[0] * window.kernel[1]
                }
                _ => continue,
            };
            let bound = 1.0 / (fan_in as f32).sqrt();
            params.extend((0..layer.weights + layer.biases).map(|_| rng.uniform(-bound, bound)));
        }
        Self::new(arch.input, arch.layers.clone(), params)
    }

    /// The kernel's network over these weights (fails only if a weight was made non-finite
    /// through [`params_mut`](Self::params_mut)).
    pub fn network(&self) -> Result<Network<'_>> {
        Network::new(self.input, &self.layers, &self.params)
            .map_err(|e| Error::kernel("network", e))
    }

    /// The network as a classifier, or an error naming `what` (the model file) if it has
    /// a non-finite weight or more than [`MAX_CLASSES`] classes.
    pub fn classifier(&self, what: &str) -> Result<Net<'_>> {
        let network = Network::new(self.input, &self.layers, &self.params)
            .and_then(|n| n.classifier::<Vec<f32>, MAX_CLASSES>());
        network.map_err(|e| Error::kernel(what.to_string(), e))
    }

    /// Input shape.
    pub fn input(&self) -> Shape {
        self.input
    }

    /// The layers.
    pub fn layers(&self) -> &[LayerSpec] {
        &self.layers
    }

    /// The parameters, in layer order.
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// The parameters, mutable (the shapes cannot change).
    pub fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    /// `784-64-10` for an MLP, else the layer list.
    pub fn arch(&self) -> String {
        arch::mlp_shorthand(self.input, &self.layers)
            .unwrap_or_else(|| arch::format_layers(&self.layers))
    }

    /// Whether the tensors are named `fc1…fcN` (an MLP) rather than `nn.Sequential`'s.
    pub fn is_mlp(&self) -> bool {
        arch::mlp_shorthand(self.input, &self.layers).is_some()
    }

    /// The tensors with their names and PyTorch shapes, in data order.
    pub fn to_tensors(&self) -> Vec<(String, Tensor)> {
        let mut offset = 0;
        tensor_specs(self.input, &self.layers)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, shape)| {
                let n: usize = shape.iter().product();
                let values = self.params.get(offset..offset + n).unwrap_or_default();
                offset += n;
                (name, Tensor::f32(shape, values))
            })
            .collect()
    }

    /// The model in `st`: from its `nudge.*` metadata if present, else an `fc1…fcN` MLP
    /// inferred from the shapes. Checks names, dtypes, shapes and values; errors name
    /// `path`.
    pub fn from_tensors(st: &SafeTensors, path: &Path) -> Result<Self> {
        let bad = |problem: String| Error::model(path, problem);
        let (input, layers) = match (st.metadata.get(INPUT_KEY), st.metadata.get(LAYERS_KEY)) {
            (Some(input), Some(layers)) => {
                let input = arch::parse_shape(input)
                    .ok_or_else(|| bad(format!("metadata {INPUT_KEY} `{input}` is not CxHxW")))?;
                let parsed = arch::parse(layers, input, LAYERS_KEY)
                    .map_err(|e| bad(format!("metadata {e}")))?;
                (input, parsed.layers)
            }
            (None, None) => infer_mlp(st).map_err(bad)?,
            _ => return Err(bad(format!("metadata has only one of {INPUT_KEY} and {LAYERS_KEY}"))),
        };
        let expected = tensor_specs(input, &layers)
            .map_err(|e| bad(format!("the layers do not chain: {e}")))?;
        for (name, _) in &expected {
            if !st.tensors.contains_key(name) {
                return Err(bad(format!("missing tensor {name}")));
            }
        }
        if let Some(extra) = st.tensors.keys().find(|k| !expected.iter().any(|(n, _)| n == *k)) {
            let names: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
            return Err(bad(format!(
                "unexpected tensor {extra} (this network has exactly {})",
                names.join(", ")
            )));
        }
        let names: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
        Self::from_named(st, path, input, layers, &names)
    }

    /// The model of `layers` on `input` whose tensors in `st` are `names` (weight, bias,
    /// weight, … in layer order): checks their dtypes, shapes and values. Errors name `path`.
    pub(crate) fn from_named(
        st: &SafeTensors,
        path: &Path,
        input: Shape,
        layers: Vec<LayerSpec>,
        names: &[&str],
    ) -> Result<Self> {
        let bad = |problem: String| Error::model(path, problem);
        let expected = tensor_specs(input, &layers)
            .map_err(|e| bad(format!("the layers do not chain: {e}")))?;
        let mut params = Vec::new();
        for (&name, (_, want)) in names.iter().zip(&expected) {
            let t = st.tensors.get(name).ok_or_else(|| bad(format!("missing tensor {name}")))?;
            if t.dtype != "F32" {
                return Err(bad(format!("tensor {name} has dtype {}, expected F32", t.dtype)));
            }
            if t.shape != *want {
                return Err(bad(format!(
                    "tensor {name} has shape {:?}, expected {want:?}",
                    t.shape
                )));
            }
            let start = params.len();
            params.extend(
                t.data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            );
            if let Some((i, x)) = params[start..].iter().enumerate().find(|(_, x)| !x.is_finite()) {
                return Err(bad(format!(
                    "tensor {name} has a non-finite value ({x}) at index {i}"
                )));
            }
        }
        if names.len() != expected.len() {
            return Err(bad(format!(
                "{} tensors for a network of {}",
                names.len(),
                expected.len()
            )));
        }
        Model::new(input, layers, params).map_err(|e| bad(e.to_string()))
    }

    /// Names and PyTorch shapes of this model's tensors as nudge writes them, in data order.
    pub fn tensor_names(&self) -> Vec<(String, Vec<usize>)> {
        tensor_specs(self.input, &self.layers).unwrap_or_default()
    }
}

/// Names and PyTorch shapes of the tensors of `layers` on `input`, in data order:
/// `fc1…fcN` for an MLP, `nn.Sequential`'s `{i}.weight`/`{i}.bias` otherwise.
pub(crate) fn tensor_specs(
    input: Shape,
    layers: &[LayerSpec],
) -> Result<Vec<(String, Vec<usize>)>> {
    let mlp = arch::mlp_shorthand(input, layers).is_some();
    let mut out = Vec::new();
    let mut dense = 0;
    for (i, layer) in layer_shapes(input, layers)?.iter().enumerate() {
        let weight = match layer.spec {
            LayerSpec::Dense { outputs } => vec![outputs, layer.input.len()],
            LayerSpec::Conv2d { out_channels, window, .. } => {
                vec![out_channels, layer.input.channels, window.kernel[0], window.kernel[1]]
            }
            _ => continue,
        };
        dense += 1;
        let prefix = if mlp { format!("fc{dense}") } else { i.to_string() };
        out.push((format!("{prefix}.weight"), weight));
        out.push((format!("{prefix}.bias"), vec![layer.biases]));
    }
    Ok(out)
}

/// One layer's input shape and parameter counts.
struct LayerShape {
    spec: LayerSpec,
    input: Shape,
    weights: usize,
    biases: usize,
}

/// The shapes of `layers` on `input`, layer by layer; fails if they do not chain.
fn layer_shapes(input: Shape, layers: &[LayerSpec]) -> Result<Vec<LayerShape>> {
    let mut shape = input;
    let mut out = Vec::with_capacity(layers.len());
    for (i, &spec) in layers.iter().enumerate() {
        let (next, weights, biases) = spec.output_shape(shape).map_err(|problem| {
            Error::kernel("network", nudge_core::Error::InvalidNetwork { layer: Some(i), problem })
        })?;
        out.push(LayerShape { spec, input: shape, weights, biases });
        shape = next;
    }
    Ok(out)
}

/// The layers of an `fc1…fcN` MLP from its weight shapes.
fn infer_mlp(st: &SafeTensors) -> std::result::Result<(Shape, Vec<LayerSpec>), String> {
    let first = st.tensors.get("fc1.weight").ok_or_else(|| {
        if st.tensors.keys().any(|k| k.ends_with(".weight")) {
            format!(
                "no {LAYERS_KEY} metadata and no fc1.weight: the weights alone do not say the layers (an MLP's tensors named fc1…fcN do); state them with `nudge convert --model FILE --arch SPEC --out NEW.safetensors`"
            )
        } else {
            "missing tensor fc1.weight".to_string()
        }
    })?;
    let [_, input] = first.shape.as_slice() else {
        return Err(format!(
            "tensor fc1.weight has shape {:?}, expected [outputs, inputs]",
            first.shape
        ));
    };
    let mut layers = Vec::new();
    let mut features = *input;
    for k in 1.. {
        let Some(w) = st.tensors.get(&format!("fc{k}.weight")) else { break };
        let [outputs, inputs] = w.shape.as_slice() else {
            return Err(format!(
                "tensor fc{k}.weight has shape {:?}, expected [outputs, inputs]",
                w.shape
            ));
        };
        if *inputs != features {
            return Err(format!(
                "tensor fc{k}.weight has shape {:?}, expected [{outputs}, {features}] (its inputs are fc{}'s outputs)",
                w.shape,
                k - 1
            ));
        }
        if k > 1 {
            layers.push(LayerSpec::Relu);
        }
        layers.push(LayerSpec::Dense { outputs: *outputs });
        features = *outputs;
    }
    Ok((Shape::flat(*input), layers))
}

/// A model file: the network and its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// The network.
    pub model: Model,
    /// The `__metadata__` strings (dataset, accuracy, seed, arch, version, recipe, …).
    pub metadata: BTreeMap<String, String>,
}

impl ModelFile {
    /// Parses model bytes, by their content: safetensors (nudge's own, or a PyTorch MLP),
    /// ONNX ([`crate::onnx`]) or TFLite ([`crate::tflite`]); `path` is used in messages (and
    /// an `.onnx` or `.tflite` extension picks that format's error for a file that is none).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        Self::parse_with_sources(bytes, path).map(|(file, _)| file)
    }

    /// [`parse`](Self::parse), with the names of the tensors the parameters came from, in
    /// parameter order (weight, bias, …): the file's own names.
    pub fn parse_with_sources(bytes: &[u8], path: &Path) -> Result<(Self, Vec<String>)> {
        let named = |ext: &str| path.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext));
        if crate::tflite::looks_like_tflite(bytes) || named("tflite") {
            let imported = crate::tflite::read(bytes, path)?;
            let metadata = BTreeMap::from([("format".to_string(), "tflite".to_string())]);
            return Ok((ModelFile { model: imported.model, metadata }, imported.tensors));
        }
        if !safetensors::looks_like(bytes) && (named("onnx") || crate::onnx::looks_like_onnx(bytes))
        {
            let imported = crate::onnx::read(bytes, path)?;
            let metadata = BTreeMap::from([("format".to_string(), "onnx".to_string())]);
            return Ok((ModelFile { model: imported.model, metadata }, imported.tensors));
        }
        let st = safetensors::parse(bytes, path)?;
        let file = ModelFile { model: Model::from_tensors(&st, path)?, metadata: st.metadata };
        let names = file.model.tensor_names().into_iter().map(|(n, _)| n).collect();
        Ok((file, names))
    }

    /// Loads a model file.
    pub fn load(path: &Path) -> Result<Self> {
        Self::parse(&crate::fsutil::read(path)?, path)
    }

    /// The file's bytes. A network that is not an MLP gets its `nudge.input` and
    /// `nudge.layers` metadata (an MLP's layers follow from its tensor names).
    pub fn to_bytes(&self) -> Vec<u8> {
        let tensors = self.model.to_tensors();
        let refs: Vec<(&str, &Tensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let mut metadata = self.metadata.clone();
        if !self.model.is_mlp() {
            metadata.insert(INPUT_KEY.into(), arch::format_shape(self.model.input));
            metadata.insert(LAYERS_KEY.into(), arch::format_layers(&self.model.layers));
        }
        safetensors::serialize(&refs, &metadata)
    }

    /// Writes the file atomically; refuses to overwrite unless `force`.
    pub fn save(&self, path: &Path, force: bool) -> Result<()> {
        crate::fsutil::write_atomic(path, &self.to_bytes(), force)
    }

    /// The network as a classifier; errors name `path`.
    pub fn classifier(&self, path: &Path) -> Result<Net<'_>> {
        self.model.classifier(&path.display().to_string())
    }
}

/// Accuracy and confusion matrix of a model on a split.
#[cfg(feature = "cli")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scores {
    /// Correct predictions.
    pub correct: usize,
    /// Examples seen.
    pub total: usize,
    /// `confusion[true][predicted]` counts, one row and column per class.
    pub confusion: Vec<Vec<usize>>,
}

#[cfg(feature = "cli")]
impl Scores {
    /// `correct / total` (0 for an empty split).
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.correct as f64 / self.total as f64 }
    }
}

/// Fails, naming `what` (the data), unless `model` takes inputs of `data`'s size and has a
/// class for every label.
#[cfg(feature = "cli")]
pub fn check_data(model: &Net<'_>, data: &Split, what: &str) -> Result<()> {
    let network = model.network();
    if network.input_len() != data.input_len() {
        return Err(Error::argument(
            what,
            format!(
                "inputs of shape {} ({} values), but the model takes {} ({} values)",
                arch::format_shape(data.shape),
                data.input_len(),
                arch::format_shape(network.input_shape()),
                network.input_len()
            ),
        ));
    }
    if data.classes() > network.classes() {
        return Err(Error::argument(
            what,
            format!(
                "labels up to {}, but the model has {} classes",
                data.classes() - 1,
                network.classes()
            ),
        ));
    }
    Ok(())
}

/// Predicted class of every input of `split`, in order (computed in parallel). The sizes
/// must agree ([`check_data`]); a wrong one is a kernel error.
#[cfg(feature = "cli")]
pub fn predict_all(model: &Net<'_>, split: &Split) -> Result<Vec<usize>> {
    use nudge_core::Classifier;
    let n = split.input_len().max(1);
    split
        .inputs
        .par_chunks(n * 256)
        .map(|chunk| {
            let mut ws = model.workspace();
            chunk
                .chunks_exact(n)
                .map(|x| {
                    model
                        .predict(x, &mut ws)
                        .map(|pr| pr.class)
                        .map_err(|e| Error::kernel("prediction", e))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()
        .map(|v| v.concat())
}

/// Scores `model` on `split`, after [`check_data`] (errors name `what`, the data).
#[cfg(feature = "cli")]
pub fn evaluate(model: &Net<'_>, split: &Split, what: &str) -> Result<Scores> {
    check_data(model, split, what)?;
    let predictions = predict_all(model, split)?;
    Ok(Scores::of(&predictions, &split.labels, model.network().classes()))
}

#[cfg(feature = "cli")]
impl Scores {
    /// Counts of `predictions` against `labels` (both below `classes`).
    pub fn of(predictions: &[usize], labels: &[usize], classes: usize) -> Self {
        let mut scores =
            Scores { correct: 0, total: labels.len(), confusion: vec![vec![0; classes]; classes] };
        for (&pred, &label) in predictions.iter().zip(labels) {
            if let Some(cell) = scores.confusion.get_mut(label).and_then(|row| row.get_mut(pred)) {
                *cell += 1;
            }
            scores.correct += usize::from(pred == label);
        }
        scores
    }
}

/// The committed default model, relative to the repository root.
pub const DEFAULT_MODEL: &str = "models/mnist-mlp-h64.safetensors";
