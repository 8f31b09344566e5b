//! Full-integer int8 TFLite models (what TensorFlow's converter writes with
//! `optimizations = [Optimize.DEFAULT]`, `supported_ops = [TFLITE_BUILTINS_INT8]` and a
//! representative dataset) as nudge int8 networks ([`nudge_core::quant::QuantNetwork`]).
//!
//! The graph is one chain, as for float models ([`super`]), of these ops:
//!
//! | TFLite | nudge | notes |
//! | --- | --- | --- |
//! | `QUANTIZE` as the first op | the network's input quantization | a float32 input (the converter's default); an int8 input needs none |
//! | `FULLY_CONNECTED` | (`Flatten`,) `Dense` | int8 weight `[out, in]`, symmetric, per-tensor or per-channel scales; int32 bias (optional); a 4-D input is flattened in `h, w, c` order |
//! | `CONV_2D` | `Conv2d` | int8 OHWI filter, symmetric, per-channel (`quantized_dimension` 0) or per-tensor; int32 bias; VALID or symmetric SAME; dilation 1 |
//! | `MAX_POOL_2D`, `AVERAGE_POOL_2D` | `MaxPool2d`, `AvgPool2d` | VALID, or SAME where it pads nothing; output quantized as the input |
//! | `RESHAPE` to `[1, features]` | `Flatten` | output quantized as the input |
//! | `DEQUANTIZE` as the last op | nothing | the network's logits are dequantized by the caller |
//!
//! Fused activations NONE, RELU, RELU6 and RELU_N1_TO_1 become the layer's clamp. Weights
//! are converted to nudge's CHW layout as for float models (filters OHWI → OIHW, the dense
//! layer after a flatten permuted from `h, w, c` to `c, h, w` columns); a per-tensor weight
//! scale is repeated for every output channel, which is what TFLM's kernels do with it.
//! Every op's output shape is checked, and every refusal names the op.

use std::path::Path;

use nudge_core::Shape;
use nudge_core::network::Window;
use nudge_core::quant::{Activation, QuantLayerSpec, QuantNetwork, QuantParams, Quantization};

use super::schema::tflite as fb;
use super::{
    Graph, Operator, Tensor, activation_shape, op, padding, permute_hwc_columns, positive_pair,
    same_shape, sole_input, tensor, tensor_type_name,
};
use crate::error::{Error, Result};

/// TFLite's builtin codes of the ops only int8 models have.
const QUANTIZE: i32 = 114;
const DEQUANTIZE: i32 = 6;
/// TFLite's `TensorType` codes read here.
const FLOAT32: i8 = 0;
const INT32: i8 = 2;
const INT8: i8 = 9;

/// An int8 model read from a TFLite file: the description and the parameters a
/// [`QuantNetwork`] views.
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Model {
    /// Input shape (`C×H×W`, as for float models).
    pub input: Shape,
    /// How the input is quantized.
    pub input_quantization: Quantization,
    /// Whether the file takes a float32 input (and quantizes it with a first QUANTIZE op);
    /// otherwise the file's input tensor is int8.
    pub float_input: bool,
    /// Whether the file dequantizes its output to float32 (a last DEQUANTIZE op).
    pub float_output: bool,
    /// The layers.
    pub layers: Vec<QuantLayerSpec>,
    /// Every layer's weights, in nudge's layout.
    pub weights: Vec<i8>,
    /// Every layer's biases.
    pub biases: Vec<i32>,
    /// Every layer's weight scales, one per output channel.
    pub weight_scales: Vec<f32>,
}

impl Int8Model {
    /// The network viewing this model's parameters (TFLM's arithmetic; see
    /// [`QuantNetwork::with_arithmetic`]).
    pub fn network(&self) -> std::result::Result<QuantNetwork<'_>, nudge_core::Error> {
        let params = QuantParams {
            weights: &self.weights,
            biases: &self.biases,
            weight_scales: &self.weight_scales,
        };
        QuantNetwork::new(self.input, self.input_quantization, &self.layers, params)
    }

    /// The float twin ([`QuantNetwork::twin_layers`]): the same layers with dequantized
    /// weights, as a float model, for gradients.
    pub fn twin(&self) -> Result<crate::model::Model> {
        let kernel = |e| Error::kernel("the int8 model's float twin", e);
        let net = self.network().map_err(kernel)?;
        let layers = net.twin_layers().map_err(kernel)?;
        let mut params = vec![0.0; net.twin_param_count()];
        net.twin_params(&mut params).map_err(kernel)?;
        crate::model::Model::new(self.input, layers.to_vec(), params)
    }

    /// The model as a blob in nudge's int8 network format
    /// ([`nudge_core::quant::format`]), which [`QuantNetwork::from_bytes`] views in place.
    pub fn to_bytes(&self) -> std::result::Result<Vec<u8>, nudge_core::Error> {
        use nudge_core::quant::format;
        let params = QuantParams {
            weights: &self.weights,
            biases: &self.biases,
            weight_scales: &self.weight_scales,
        };
        let len = format::blob_len(self.layers.len(), self.weights.len(), self.biases.len());
        let mut out = vec![0u8; len];
        format::write(self.input, self.input_quantization, &self.layers, params, &mut out)?;
        Ok(out)
    }
}

/// Whether `bytes` is a TFLite model whose graph is int8 from its input on: an int8 input
/// tensor, or a float input that the first op QUANTIZEs. Says nothing of whether nudge can
/// read the rest ([`read`] does).
pub fn is_int8(bytes: &[u8]) -> bool {
    if !super::looks_like_tflite(bytes) {
        return false;
    }
    let Ok(graph) = Graph::decode(bytes) else { return false };
    let input = graph.inputs.first().and_then(|&i| tensor(&graph, i, "").ok());
    match input {
        Some(t) if t.type_ == INT8 => true,
        Some(t) if t.type_ == FLOAT32 => {
            graph.operators.first().is_some_and(|o| o.code == QUANTIZE && o.custom.is_none())
        }
        _ => false,
    }
}

/// The model's layers in `--arch` notation, each fused activation after its layer:
/// `conv8k3p1,relu,maxpool2,conv16k3,relu6,…`.
pub fn format_layers(layers: &[QuantLayerSpec]) -> String {
    let mut parts = Vec::new();
    for l in layers {
        parts.push(crate::arch::format_layers(&[l.float_spec()]));
        match l.activation() {
            Activation::None => {}
            Activation::Relu => parts.push("relu".into()),
            Activation::Relu6 => parts.push("relu6".into()),
            Activation::ReluN1To1 => parts.push("relu_n1_to_1".into()),
        }
    }
    parts.join(",")
}

/// The class each input of `split` gets from `net` (the first largest int8 logit: numpy's
/// `argmax`), its f32 inputs quantized by the network. Fails, naming `what` (the data), on
/// inputs of another size or labels beyond the network's classes.
#[cfg(feature = "cli")]
pub fn predict_all(
    net: &QuantNetwork<'_>,
    split: &crate::data::Split,
    what: &str,
) -> Result<Vec<usize>> {
    use rayon::prelude::*;
    if split.input_len() != net.input_len() {
        return Err(Error::argument(
            what,
            format!(
                "inputs of shape {}, but the model takes {}",
                crate::arch::format_shape(split.shape),
                crate::arch::format_shape(net.input_shape())
            ),
        ));
    }
    if split.classes() > net.classes() {
        return Err(Error::argument(
            what,
            format!(
                "labels up to {}, but the model has {} classes",
                split.classes() - 1,
                net.classes()
            ),
        ));
    }
    let n = split.input_len().max(1);
    let chunks: Vec<Result<Vec<usize>>> = split
        .inputs
        .par_chunks(n * 256)
        .map(|chunk| {
            let mut arena = vec![0i8; net.arena_len()];
            chunk
                .chunks_exact(n)
                .map(|x| {
                    let logits = net
                        .forward_f32(x, &mut arena)
                        .map_err(|e| Error::kernel("int8 prediction", e))?;
                    Ok(first_argmax(logits))
                })
                .collect()
        })
        .collect();
    Ok(chunks.into_iter().collect::<Result<Vec<_>>>()?.concat())
}

/// The index of the first largest value.
#[cfg(feature = "cli")]
fn first_argmax(v: &[i8]) -> usize {
    let mut best = 0;
    for (k, &x) in v.iter().enumerate() {
        if v.get(best).is_some_and(|&b| x > b) {
            best = k;
        }
    }
    best
}

/// The int8 model in the TFLite file `bytes`, validated as a [`QuantNetwork`]. Errors name
/// `path` and, for an operator, its index, op and output tensor.
pub fn read(bytes: &[u8], path: &Path) -> Result<Int8Model> {
    let graph = Graph::decode(bytes).map_err(|e| Error::model(path, e))?;
    let model = Importer::run(&graph).map_err(|e| Error::model(path, e))?;
    model.network().map_err(|e| Error::model(path, e.to_string()))?;
    Ok(model)
}

type Res<T> = std::result::Result<T, String>;

/// The graph being walked and the model built so far.
struct Importer<'g, 'a> {
    graph: &'g Graph<'a>,
    model: Int8Model,
    /// The current activation's shape and quantization.
    shape: Shape,
    quantization: Quantization,
    /// Set while the current tensor is a flattened `C×H×W` tensor in `h, w, c` order.
    hwc_flattened: Option<Shape>,
}

impl<'g, 'a> Importer<'g, 'a> {
    fn run(graph: &'g Graph<'a>) -> Res<Int8Model> {
        let (input, t) = sole_input(graph)?;
        let what = format!("input `{}`", t.name);
        let shape = activation_shape(t, &what)?;
        let mut ops = graph.operators.iter().enumerate().peekable();
        let float_input = t.type_ == FLOAT32;
        let mut current = input;
        let quantization = if float_input {
            // The first op must quantize the float input.
            let Some((i, o)) = ops.next().filter(|(_, o)| o.code == QUANTIZE && o.custom.is_none())
            else {
                return Err(format!(
                    "{what} is float32 but the first op is not QUANTIZE: not a full-integer model"
                ));
            };
            let out = single_output(graph, i, o)?;
            let what = describe(i, o, Some(out.name));
            if o.inputs.first() != Some(&input) {
                return Err(format!("{what}: does not take the graph's input"));
            }
            same_shape(out, shape, &what)?;
            current = o.outputs[0];
            int8_quantization(out, &what)?
        } else {
            int8_quantization(t, &what)?
        };
        let mut importer = Importer {
            graph,
            model: Int8Model {
                input: shape,
                input_quantization: quantization,
                float_input,
                float_output: false,
                layers: Vec::new(),
                weights: Vec::new(),
                biases: Vec::new(),
                weight_scales: Vec::new(),
            },
            shape,
            quantization,
            hwc_flattened: None,
        };
        while let Some((i, o)) = ops.next() {
            let out = single_output(graph, i, o)?;
            let what = describe(i, o, Some(out.name));
            if o.inputs.first() != Some(&current) {
                return Err(format!(
                    "{what}: does not take the previous layer's output: only a chain of layers is supported"
                ));
            }
            current = o.outputs[0];
            if o.code == DEQUANTIZE && o.custom.is_none() {
                if ops.peek().is_some() {
                    return Err(format!("{what}: DEQUANTIZE is supported only as the last op"));
                }
                if out.type_ != FLOAT32 {
                    return Err(format!("{what}: the output is not float32"));
                }
                same_shape(out, importer.shape, &what)?;
                importer.model.float_output = true;
                break;
            }
            importer.operator(o, out, &what)?;
            same_shape(out, importer.shape, &what)?;
        }
        if graph.outputs != [current] {
            return Err(
                "the graph's output is not the last op's: only a chain of layers is supported"
                    .into(),
            );
        }
        if importer.model.layers.is_empty() {
            return Err("the graph has no layers".into());
        }
        if let Some(s) = importer.hwc_flattened.filter(|s| s.channels > 1 && !s.is_flat()) {
            return Err(format!(
                "the graph ends by flattening a {} tensor in h, w, c order; nudge's outputs would be in another order",
                crate::arch::format_shape(s)
            ));
        }
        Ok(importer.model)
    }

    /// Adds the layer of one operator whose output is `out`.
    fn operator(&mut self, o: &Operator<'a>, out: &Tensor<'a>, what: &str) -> Res<()> {
        if o.custom.is_some() {
            return Err(format!("{what}: custom ops are not supported"));
        }
        let output = int8_quantization(out, what)?;
        match (o.code, o.options) {
            (op::FULLY_CONNECTED, options) => {
                let options = match options {
                    Some(fb::BuiltinOptionsRef::FullyConnectedOptions(f)) => Some(f),
                    None => None,
                    Some(_) => return Err(format!("{what}: options of another op")),
                };
                self.fully_connected(o, options, output, what)
            }
            (op::CONV_2D, Some(fb::BuiltinOptionsRef::Conv2DOptions(c))) => {
                self.conv(o, c, output, what)
            }
            (
                op::MAX_POOL_2D | op::AVERAGE_POOL_2D,
                Some(fb::BuiltinOptionsRef::Pool2DOptions(p)),
            ) => self.pool(o.code == op::MAX_POOL_2D, p, output, what),
            (op::CONV_2D | op::MAX_POOL_2D | op::AVERAGE_POOL_2D, _) => {
                Err(format!("{what}: its options are missing"))
            }
            (op::RESHAPE, _) => {
                let n = i32::try_from(self.shape.len()).unwrap_or(-1);
                if out.shape[..] != [1, n] {
                    return Err(format!(
                        "{what}: a reshape to {:?} is not supported (only flattening to [1, {n}])",
                        out.shape
                    ));
                }
                self.same_quantization(output, what)?;
                self.flatten_hwc();
                Ok(())
            }
            _ => Err(format!(
                "{what}: not supported in an int8 model (QUANTIZE first, FULLY_CONNECTED, CONV_2D, \
                 MAX_POOL_2D, AVERAGE_POOL_2D, RESHAPE, DEQUANTIZE last)"
            )),
        }
    }

    fn fully_connected(
        &mut self,
        o: &Operator<'a>,
        options: Option<fb::FullyConnectedOptionsRef<'a>>,
        output: Quantization,
        what: &str,
    ) -> Res<()> {
        let bad = |e: planus::Error| format!("{what}: malformed options ({e})");
        let mut activation = Activation::None;
        if let Some(f) = options {
            activation = fused(f.fused_activation_function().map_err(bad)?, what)?;
            if f.weights_format().map_err(bad)? != 0 {
                return Err(format!("{what}: a shuffled weights format is not supported"));
            }
            if f.keep_num_dims().map_err(bad)? && !self.shape.is_flat() {
                return Err(format!("{what}: keep_num_dims on a spatial tensor is not supported"));
            }
        }
        self.flatten_hwc();
        let n_in = self.shape.len();
        let (t, dims, values) = int8_weights(self.graph, o, what)?;
        let [outputs, inputs] = dims[..] else {
            return Err(format!(
                "{what}: weight `{}` has shape {dims:?}, expected [out, in]",
                t.name
            ));
        };
        if inputs != n_in {
            return Err(format!(
                "{what}: weight `{}` has shape {dims:?}; the layer takes {n_in} features",
                t.name
            ));
        }
        let weight = match self.hwc_flattened.take() {
            Some(s) => permute_hwc_columns(&values, outputs, s),
            None => values,
        };
        let scales = weight_scales(t, outputs, what)?;
        let bias = int32_bias(self.graph, o, outputs, what)?;
        self.push(
            QuantLayerSpec::Dense { outputs, output, activation },
            &weight,
            &bias,
            &scales,
            what,
        )
    }

    fn conv(
        &mut self,
        o: &Operator<'a>,
        c: fb::Conv2DOptionsRef<'a>,
        output: Quantization,
        what: &str,
    ) -> Res<()> {
        let bad = |e: planus::Error| format!("{what}: malformed options ({e})");
        if (c.dilation_h_factor().map_err(bad)?, c.dilation_w_factor().map_err(bad)?) != (1, 1) {
            return Err(format!("{what}: dilation ≠ 1 is not supported"));
        }
        let activation = fused(c.fused_activation_function().map_err(bad)?, what)?;
        let stride = positive_pair(c.stride_h().map_err(bad)?, c.stride_w().map_err(bad)?)
            .ok_or_else(|| format!("{what}: strides must be positive"))?;
        let (t, dims, values) = int8_weights(self.graph, o, what)?;
        let [out_channels, kh, kw, in_channels] = dims[..] else {
            return Err(format!(
                "{what}: filter `{}` has shape {dims:?}, expected [out, h, w, in]",
                t.name
            ));
        };
        if in_channels != self.shape.channels || self.shape.is_flat() {
            return Err(format!(
                "{what}: filter `{}` takes {in_channels} channels; the input is {}",
                t.name,
                crate::arch::format_shape(self.shape)
            ));
        }
        let padding = padding(c.padding().map_err(bad)?, self.shape, [kh, kw], stride, what)?;
        // OHWI → OIHW.
        let mut weight = vec![0i8; values.len()];
        for oc in 0..out_channels {
            for y in 0..kh {
                for x in 0..kw {
                    for ic in 0..in_channels {
                        weight[((oc * in_channels + ic) * kh + y) * kw + x] =
                            values[((oc * kh + y) * kw + x) * in_channels + ic];
                    }
                }
            }
        }
        let scales = weight_scales(t, out_channels, what)?;
        let bias = int32_bias(self.graph, o, out_channels, what)?;
        let window = Window { kernel: [kh, kw], stride };
        let spec = QuantLayerSpec::Conv2d { out_channels, window, padding, output, activation };
        self.push(spec, &weight, &bias, &scales, what)
    }

    fn pool(
        &mut self,
        max: bool,
        p: fb::Pool2DOptionsRef<'a>,
        output: Quantization,
        what: &str,
    ) -> Res<()> {
        let bad = |e: planus::Error| format!("{what}: malformed options ({e})");
        let activation = fused(p.fused_activation_function().map_err(bad)?, what)?;
        let kernel = positive_pair(p.filter_height().map_err(bad)?, p.filter_width().map_err(bad)?)
            .ok_or_else(|| format!("{what}: the filter size must be positive"))?;
        let stride = positive_pair(p.stride_h().map_err(bad)?, p.stride_w().map_err(bad)?)
            .ok_or_else(|| format!("{what}: strides must be positive"))?;
        if padding(p.padding().map_err(bad)?, self.shape, kernel, stride, what)? != [0, 0] {
            return Err(format!(
                "{what}: SAME padding that pads this input is not supported for pooling"
            ));
        }
        self.same_quantization(output, what)?;
        let window = Window { kernel, stride };
        let spec = if max {
            QuantLayerSpec::MaxPool2d { window, activation }
        } else {
            QuantLayerSpec::AvgPool2d { window, activation }
        };
        self.push(spec, &[], &[], &[], what)
    }

    /// Pooling and reshape keep their input's quantization (TFLite requires it too).
    fn same_quantization(&self, output: Quantization, what: &str) -> Res<()> {
        if output == self.quantization {
            return Ok(());
        }
        Err(format!(
            "{what}: the output is quantized as {output:?}, the input as {:?}; nudge needs them equal",
            self.quantization
        ))
    }

    /// Flattens a spatial current tensor, remembering its `h, w, c` order.
    fn flatten_hwc(&mut self) {
        if self.shape.is_flat() {
            return;
        }
        self.hwc_flattened = Some(self.shape);
        self.model.layers.push(QuantLayerSpec::Flatten);
        self.shape = Shape::flat(self.shape.len());
    }

    /// Appends a layer with its parameters and moves to its output.
    fn push(
        &mut self,
        spec: QuantLayerSpec,
        weight: &[i8],
        bias: &[i32],
        scales: &[f32],
        what: &str,
    ) -> Res<()> {
        let (output, _, _) =
            spec.float_spec().output_shape(self.shape).map_err(|p| format!("{what}: {p}"))?;
        self.model.layers.push(spec);
        self.model.weights.extend_from_slice(weight);
        self.model.biases.extend_from_slice(bias);
        self.model.weight_scales.extend_from_slice(scales);
        self.shape = output;
        if let QuantLayerSpec::Dense { output: q, .. } | QuantLayerSpec::Conv2d { output: q, .. } =
            spec
        {
            self.quantization = q;
        }
        Ok(())
    }
}

/// `op 3 (CONV_2D → `name`)` for messages.
fn describe(index: usize, o: &Operator<'_>, output: Option<&str>) -> String {
    let name = match o.custom {
        Some(custom) => format!("custom op {custom}"),
        None => super::op_name(o.code),
    };
    match output {
        Some(out) => format!("op {index} ({name} → `{out}`)"),
        None => format!("op {index} ({name})"),
    }
}

/// The op's one output tensor.
fn single_output<'g, 'a>(
    graph: &'g Graph<'a>,
    index: usize,
    o: &Operator<'a>,
) -> Res<&'g Tensor<'a>> {
    match o.outputs.as_slice() {
        [out] => tensor(graph, *out, "an output"),
        outs => {
            Err(format!("{}: {} outputs; a layer has one", describe(index, o, None), outs.len()))
        }
    }
}

/// An int8 activation tensor's one scale and zero point.
fn int8_quantization(t: &Tensor<'_>, what: &str) -> Res<Quantization> {
    if t.type_ != INT8 {
        return Err(format!(
            "{what}: tensor `{}` is {}, not int8 (a full-integer model is int8 throughout)",
            t.name,
            tensor_type_name(t.type_)
        ));
    }
    let ([scale], [zero_point]) = (t.scales.as_slice(), t.zero_points.as_slice()) else {
        return Err(format!(
            "{what}: tensor `{}` has {} scales and {} zero points; an activation has one of each",
            t.name,
            t.scales.len(),
            t.zero_points.len()
        ));
    };
    let q = Quantization::new(*scale, i32::try_from(*zero_point).unwrap_or(i32::MAX));
    if !q.is_valid_int8() {
        return Err(format!(
            "{what}: tensor `{}` has scale {scale} and zero point {zero_point}, not a valid int8 quantization",
            t.name
        ));
    }
    Ok(q)
}

/// Fused activation → the layer's clamp.
fn fused(f: fb::ActivationFunctionType, what: &str) -> Res<Activation> {
    match f {
        fb::ActivationFunctionType::None => Ok(Activation::None),
        fb::ActivationFunctionType::Relu => Ok(Activation::Relu),
        fb::ActivationFunctionType::Relu6 => Ok(Activation::Relu6),
        fb::ActivationFunctionType::ReluN1To1 => Ok(Activation::ReluN1To1),
        other => Err(format!(
            "{what}: fused activation {other:?} is not supported (NONE, RELU, RELU6, RELU_N1_TO_1)"
        )),
    }
}

/// A constant input's dims and bytes, checked to be `size` bytes per element.
fn constant<'g, 'a>(
    graph: &'g Graph<'a>,
    o: &Operator<'a>,
    slot: usize,
    role: &str,
    type_: i8,
    size: usize,
    what: &str,
) -> Res<(&'g Tensor<'a>, Vec<usize>, &'a [u8])> {
    let index = o.inputs.get(slot).copied().filter(|&i| i >= 0);
    let index = index.ok_or_else(|| format!("{what}: the {role} is missing"))?;
    let t = tensor(graph, index, what)?;
    if t.type_ != type_ {
        return Err(format!(
            "{what}: {role} `{}` is {}, expected {}",
            t.name,
            tensor_type_name(t.type_),
            tensor_type_name(type_)
        ));
    }
    let dims: Vec<usize> = t
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format!("{what}: {role} `{}` has a negative dimension", t.name))?;
    let count = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let Some(data) = t.data else {
        return Err(format!("{what}: {role} `{}` is not a constant: it must be a weight", t.name));
    };
    if count.and_then(|n| n.checked_mul(size)) != Some(data.len()) {
        return Err(format!(
            "{what}: {role} `{}` holds {} bytes for shape {dims:?} of {}",
            t.name,
            data.len(),
            tensor_type_name(type_)
        ));
    }
    Ok((t, dims, data))
}

/// The int8 weight (input 1) of a dense or convolution op: its tensor, dims and values.
fn int8_weights<'g, 'a>(
    graph: &'g Graph<'a>,
    o: &Operator<'a>,
    what: &str,
) -> Res<(&'g Tensor<'a>, Vec<usize>, Vec<i8>)> {
    let (t, dims, data) = constant(graph, o, 1, "weight", INT8, 1, what)?;
    if t.zero_points.iter().any(|&z| z != 0) {
        return Err(format!(
            "{what}: weight `{}` has a non-zero zero point; TFLite's int8 weights are symmetric",
            t.name
        ));
    }
    Ok((t, dims, data.iter().map(|&b| b as i8).collect()))
}

/// A weight's scales, one per output channel (a per-tensor scale repeated).
fn weight_scales(t: &Tensor<'_>, outputs: usize, what: &str) -> Res<Vec<f32>> {
    match t.scales.as_slice() {
        [s] => Ok(vec![*s; outputs]),
        s if s.len() == outputs && t.quantized_dimension == 0 => Ok(s.to_vec()),
        s => Err(format!(
            "{what}: weight `{}` has {} scales along dimension {}; expected 1, or {outputs} along dimension 0",
            t.name,
            s.len(),
            t.quantized_dimension
        )),
    }
}

/// The optional int32 bias (input 2), zeros where it is absent.
fn int32_bias(graph: &Graph<'_>, o: &Operator<'_>, len: usize, what: &str) -> Res<Vec<i32>> {
    if o.inputs.get(2).is_none_or(|&i| i < 0) {
        return Ok(vec![0; len]);
    }
    let (t, dims, data) = constant(graph, o, 2, "bias", INT32, 4, what)?;
    if dims != [len] {
        return Err(format!("{what}: bias `{}` has shape {dims:?}, expected [{len}]", t.name));
    }
    Ok(data.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}
