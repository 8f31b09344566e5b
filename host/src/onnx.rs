//! ONNX models (what `torch.onnx.export` writes for a sequential network) as nudge models.
//!
//! The file is decoded with the `onnx-protobuf` crate (the official `onnx.proto`, compiled
//! for the `protobuf` crate); this module only walks the graph. The graph must be one chain
//! from its single input to its single output: each node takes the previous node's output
//! as its first input, and its other inputs are initializers (or `Constant` nodes), held in
//! the file or in external data beside it (see [`read`]). The ops:
//!
//! | ONNX | nudge | notes |
//! | --- | --- | --- |
//! | `Gemm` | `Dense` | `transA = 0`; `transB` 0 or 1; `alpha`, `beta` scale weight and bias; `C` optional |
//! | `MatMul` (+ `Add`) | `Dense` | weight `[in, out]`; an `Add` of an `[out]` initializer right after is the bias |
//! | `Conv` | `Conv2d` | 2-D, `group = 1`, dilations 1, symmetric `pads`, `auto_pad` NOTSET or VALID |
//! | `MaxPool`, `AveragePool` | `MaxPool2d`, `AvgPool2d` | no padding, `ceil_mode = 0`, dilations 1 |
//! | `Relu` | `Relu` | |
//! | `Flatten` (`axis = 1`), `Reshape` to `[N, -1]` or `[N, features]` | `Flatten` | `N` 1 or −1 |
//! | `Dropout`, `Identity` | nothing | inference: the identity |
//! | `Softmax`, `LogSoftmax` as the last node | nothing | attacks use the logits |
//!
//! The input is `[N, D]` or `[N, C, H, W]` of float32 with `N` 1 or symbolic and the rest
//! fixed. Anything else — another op, an attribute such as `group` or `dilations`, a
//! branch, a dynamic shape, a non-float tensor — is refused with one line naming the node,
//! its op and what is unsupported. Weights are copied exactly (float32, NCHW like nudge);
//! only `alpha`/`beta` ≠ 1 multiply them.

use std::collections::HashMap;
use std::path::Path;

use nudge_core::{LayerSpec, Shape, Window};
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, TensorProto, ValueInfoProto,
    tensor_proto::{DataLocation, DataType},
    tensor_shape_proto::dimension,
    type_proto,
};
use protobuf::Enum;

use crate::checkpoint::{Matched, ZERO_BIAS};
use crate::error::{Error, Result};
use crate::import::LayerChain;

/// Whether `bytes` decode as an ONNX model with a graph (what [`read`] needs first).
pub fn looks_like_onnx(bytes: &[u8]) -> bool {
    ModelProto::parse_from_bytes(bytes).is_ok_and(|m| m.graph.is_some())
}

/// The model in the ONNX file `bytes`, with the initializer names each parameter came from.
/// Errors name `path` and, for a node, its name and op.
///
/// Initializers in external data (what `torch.onnx.export` writes by default: the weights
/// in `net.onnx.data` beside `net.onnx`) are read from the file their `location` names, in
/// the directory of `path`.
pub fn read(bytes: &[u8], path: &Path) -> Result<Matched> {
    let bad = |problem: String| Error::model(path, problem);
    let mut model =
        ModelProto::parse_from_bytes(bytes).map_err(|e| bad(format!("not an ONNX model ({e})")))?;
    let graph = model.graph.as_mut().ok_or_else(|| bad("an ONNX model without a graph".into()))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    for t in graph.initializer.iter_mut().filter(|t| is_external(t)) {
        let data = external_data(t, dir).map_err(|e| bad(format!("tensor `{}`: {e}", t.name)))?;
        t.raw_data = data;
        t.external_data.clear();
        t.data_location = DataLocation::DEFAULT.into();
    }
    Importer::new(graph).and_then(Importer::run).map_err(bad)
}

/// The external data files the ONNX model `bytes` at `path` names (the paths [`read`] would
/// open), for a build script to watch; none for a self-contained or undecodable file.
pub fn external_data_files(bytes: &[u8], path: &Path) -> Vec<std::path::PathBuf> {
    let Ok(model) = ModelProto::parse_from_bytes(bytes) else { return Vec::new() };
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut files: Vec<std::path::PathBuf> = model
        .graph
        .iter()
        .flat_map(|g| g.initializer.iter().filter(|t| is_external(t)))
        .flat_map(|t| t.external_data.iter().filter(|e| e.key == "location"))
        .map(|e| dir.join(&e.value))
        .collect();
    files.sort();
    files.dedup();
    files
}

fn is_external(t: &TensorProto) -> bool {
    t.data_location.enum_value_or_default() == DataLocation::EXTERNAL || !t.external_data.is_empty()
}

/// The bytes of an initializer stored in external data: `length` bytes (or the rest) from
/// `offset` of the file `location`, a relative path inside `dir` (ONNX's rule; a path that
/// leaves it is refused). Only those bytes are read.
fn external_data(t: &TensorProto, dir: &Path) -> std::result::Result<Vec<u8>, String> {
    use std::io::{Read, Seek, SeekFrom};
    let entry = |key: &str| t.external_data.iter().find(|e| e.key == key).map(|e| e.value.as_str());
    let location = entry("location").ok_or("stored in external data without a location")?;
    let relative = Path::new(location);
    let inside = relative.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    if location.is_empty() || !inside {
        return Err(format!(
            "its external data location `{location}` is not a file name beside the model"
        ));
    }
    let number = |key: &str| -> std::result::Result<Option<u64>, String> {
        entry(key)
            .map(|v| v.parse().map_err(|_| format!("external data {key} `{v}` is not a number")))
            .transpose()
    };
    let (offset, length) = (number("offset")?.unwrap_or(0), number("length")?);
    let file_path = dir.join(relative);
    let io = |e: std::io::Error| format!("its external data {}: {e}", file_path.display());
    let mut file = std::fs::File::open(&file_path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let length = length.unwrap_or(size.saturating_sub(offset));
    if offset.checked_add(length).is_none_or(|end| end > size) {
        return Err(format!(
            "its external data at bytes {offset}..+{length} lies beyond {}'s {size} bytes",
            file_path.display()
        ));
    }
    file.seek(SeekFrom::Start(offset)).map_err(io)?;
    let mut data = vec![0u8; usize::try_from(length).map_err(|_| "external data too large")?];
    file.read_exact(&mut data).map_err(io)?;
    Ok(data)
}

/// The graph being walked, and the network built so far.
struct Importer<'g> {
    graph: &'g GraphProto,
    /// Initializers and `Constant` outputs, by name.
    constants: HashMap<&'g str, &'g TensorProto>,
    /// The tensor the next node must take.
    current: &'g str,
    /// The network so far.
    chain: LayerChain,
}

impl<'g> Importer<'g> {
    fn new(graph: &'g GraphProto) -> std::result::Result<Self, String> {
        let mut constants: HashMap<&str, &TensorProto> =
            graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
        for node in graph.node.iter().filter(|n| n.op_type == "Constant") {
            let value = node.attribute.iter().find(|a| a.name == "value");
            match (value.and_then(|a| a.t.as_ref()), node.output.first()) {
                (Some(t), Some(out)) => constants.insert(out.as_str(), t),
                _ => return Err(format!("{}: only a `value` tensor is supported", describe(node))),
            };
        }
        let inputs: Vec<&ValueInfoProto> =
            graph.input.iter().filter(|i| !constants.contains_key(i.name.as_str())).collect();
        let [input] = inputs.as_slice() else {
            return Err(format!(
                "the graph has {} inputs; a sequential network has one",
                inputs.len()
            ));
        };
        let shape = input_shape(input)?;
        Ok(Importer {
            graph,
            constants,
            current: input.name.as_str(),
            chain: LayerChain::new(shape),
        })
    }

    fn run(mut self) -> std::result::Result<Matched, String> {
        let nodes: Vec<&NodeProto> =
            self.graph.node.iter().filter(|n| n.op_type != "Constant").collect();
        let mut i = 0;
        while let Some(&node) = nodes.get(i) {
            let first = node.input.first().map(String::as_str);
            if first != Some(self.current) {
                return Err(format!(
                    "{}: takes `{}`, not the previous layer's output `{}`: only a chain of layers is supported",
                    describe(node),
                    first.unwrap_or(""),
                    self.current
                ));
            }
            let last = i + 1 == nodes.len();
            // MatMul + Add of a bias is one dense layer.
            let bias_add = nodes.get(i + 1).copied().filter(|next| {
                node.op_type == "MatMul"
                    && next.op_type == "Add"
                    && next.input.first() == node.output.first()
            });
            self.node(node, last, bias_add)?;
            let used = bias_add.unwrap_or(node);
            self.current = used.output.first().map_or("", String::as_str);
            i += if bias_add.is_some() { 2 } else { 1 };
        }
        let output = self.graph.output.first().map(|o| o.name.as_str());
        if self.graph.output.len() != 1 || output != Some(self.current) {
            return Err(format!(
                "the graph's output is not the last layer's `{}`: only a chain of layers is supported",
                self.current
            ));
        }
        self.chain.finish()
    }

    /// Adds the layer of `node` (with the `Add` that follows a `MatMul`).
    fn node(
        &mut self,
        node: &'g NodeProto,
        last: bool,
        bias_add: Option<&'g NodeProto>,
    ) -> std::result::Result<(), String> {
        let what = describe(node);
        let attrs = Attributes { node, what: &what };
        match node.op_type.as_str() {
            "Gemm" => {
                attrs.only(&["alpha", "beta", "transA", "transB"])?;
                if attrs.int("transA", 0)? != 0 {
                    return Err(format!("{what}: transA = 1 is not supported"));
                }
                let trans_b = attrs.int("transB", 0)? != 0;
                let (alpha, beta) = (attrs.float("alpha", 1.0)?, attrs.float("beta", 1.0)?);
                self.dense(node, trans_b, alpha, node.input.get(2).map(String::as_str), beta)
            }
            "MatMul" => {
                attrs.only(&[])?;
                let bias = bias_add.map(|add| {
                    Attributes { node: add, what: &describe(add) }.only(&[]).map(|()| add)
                });
                let bias = bias.transpose()?.and_then(|add| add.input.get(1));
                self.dense(node, false, 1.0, bias.map(String::as_str), 1.0)
            }
            "Conv" => self.conv(node, &attrs),
            "MaxPool" | "AveragePool" => self.pool(node, &attrs),
            "Relu" => {
                attrs.only(&[])?;
                self.chain.push(LayerSpec::Relu, &what)
            }
            "Flatten" => {
                attrs.only(&["axis"])?;
                if attrs.int("axis", 1)? != 1 {
                    return Err(format!("{what}: only axis = 1 (keep the batch) is supported"));
                }
                self.chain.push(LayerSpec::Flatten, &what)
            }
            "Reshape" => {
                attrs.only(&["allowzero"])?;
                let target = node.input.get(1).map_or("", String::as_str);
                let dims = self.ints(target, &what)?;
                let n = i64::try_from(self.chain.shape().len()).unwrap_or(-1);
                if !matches!(dims.as_slice(), [1 | -1, d] if *d == -1 || *d == n) {
                    return Err(format!(
                        "{what}: a reshape to {dims:?} is not supported (only flattening a {} input to [N, {n}])",
                        crate::arch::format_shape(self.chain.shape())
                    ));
                }
                self.chain.push(LayerSpec::Flatten, &what)
            }
            "Dropout" | "Identity" => Ok(()),
            "Softmax" | "LogSoftmax" if last => Ok(()),
            "Softmax" | "LogSoftmax" => {
                Err(format!("{what}: a softmax is supported only as the last node"))
            }
            op => Err(format!(
                "{what}: op {op} is not supported (Gemm, MatMul+Add, Conv, MaxPool, AveragePool, \
                 Relu, Flatten, Reshape, Dropout, Identity, a final Softmax)"
            )),
        }
    }

    /// A dense layer from weight `node.input[1]` (`[out, in]` if `trans_b`, else `[in, out]`)
    /// and an optional bias `[out]` or `[1, out]`.
    fn dense(
        &mut self,
        node: &NodeProto,
        trans_b: bool,
        alpha: f32,
        bias: Option<&str>,
        beta: f32,
    ) -> std::result::Result<(), String> {
        let what = describe(node);
        if !self.chain.shape().is_flat() {
            return Err(format!(
                "{what}: takes a {} tensor; flatten it first (Flatten or Reshape)",
                crate::arch::format_shape(self.chain.shape())
            ));
        }
        let name = node.input.get(1).map_or("", String::as_str);
        let (dims, values) = self.floats(name, &what)?;
        let n_in = self.chain.shape().len();
        let outputs = match (dims.as_slice(), trans_b) {
            ([o, i], true) if *i == n_in => *o,
            ([i, o], false) if *i == n_in => *o,
            _ => {
                return Err(format!(
                    "{what}: weight `{name}` has shape {dims:?}; the layer takes {n_in} features{}",
                    if trans_b { " (transB = 1: [out, in])" } else { " ([in, out])" }
                ));
            }
        };
        let mut weight = vec![0.0f32; outputs * n_in];
        for (o, row) in weight.chunks_exact_mut(n_in).enumerate() {
            for (i, w) in row.iter_mut().enumerate() {
                let v = if trans_b { values[o * n_in + i] } else { values[i * outputs + o] };
                *w = if alpha == 1.0 { v } else { alpha * v };
            }
        }
        let bias_name = bias.filter(|b| !b.is_empty());
        let bias = match bias_name {
            None => vec![0.0; outputs],
            Some(b) => {
                let (bdims, bvalues) = self.floats(b, &what)?;
                if bvalues.len() != outputs || !matches!(bdims.as_slice(), [_] | [1, _]) {
                    return Err(format!(
                        "{what}: bias `{b}` has shape {bdims:?}, expected [{outputs}] (no broadcasting)"
                    ));
                }
                bvalues.iter().map(|&v| if beta == 1.0 { v } else { beta * v }).collect()
            }
        };
        let layer = LayerSpec::Dense { outputs };
        let bias = (bias_name.unwrap_or(ZERO_BIAS), bias);
        self.chain.push_with_params(layer, (name, weight), bias, &what)
    }

    fn conv(
        &mut self,
        node: &NodeProto,
        attrs: &Attributes<'_>,
    ) -> std::result::Result<(), String> {
        let what = attrs.what;
        attrs.only(&["kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"])?;
        if attrs.int("group", 1)? != 1 {
            return Err(format!("{what}: group ≠ 1 is not supported"));
        }
        let name = node.input.get(1).map_or("", String::as_str);
        let (dims, values) = self.floats(name, what)?;
        let [out_channels, in_channels, kh, kw] = dims[..] else {
            return Err(format!(
                "{what}: weight `{name}` has shape {dims:?}; only 2-D convolutions are supported"
            ));
        };
        self.chain.check_channels(in_channels, &format!("weight `{name}`"), what)?;
        let kernel = attrs.pair("kernel_shape", [kh, kw])?;
        if kernel != [kh, kw] {
            return Err(format!(
                "{what}: kernel_shape {kernel:?} differs from the weight's {:?}",
                [kh, kw]
            ));
        }
        let (stride, padding) = attrs.window_geometry()?;
        let bias_name = node.input.get(2).map(String::as_str).filter(|b| !b.is_empty());
        let bias = match bias_name {
            None => vec![0.0; out_channels],
            Some(b) => {
                let (bdims, bvalues) = self.floats(b, what)?;
                if bdims != [out_channels] {
                    return Err(format!(
                        "{what}: bias `{b}` has shape {bdims:?}, expected [{out_channels}]"
                    ));
                }
                bvalues
            }
        };
        let window = Window { kernel, stride };
        let layer = LayerSpec::Conv2d { out_channels, window, padding };
        let bias = (bias_name.unwrap_or(ZERO_BIAS), bias);
        self.chain.push_with_params(layer, (name, values), bias, what)
    }

    fn pool(
        &mut self,
        node: &NodeProto,
        attrs: &Attributes<'_>,
    ) -> std::result::Result<(), String> {
        let what = attrs.what;
        let max = node.op_type == "MaxPool";
        let mut allowed =
            vec!["kernel_shape", "strides", "pads", "auto_pad", "ceil_mode", "dilations"];
        allowed.push(if max { "storage_order" } else { "count_include_pad" });
        attrs.only(&allowed)?;
        if attrs.int("ceil_mode", 0)? != 0 {
            return Err(format!("{what}: ceil_mode = 1 is not supported"));
        }
        if max && attrs.int("storage_order", 0)? != 0 {
            return Err(format!("{what}: storage_order = 1 is not supported"));
        }
        let Some(kernel) = attrs.get("kernel_shape") else {
            return Err(format!("{what}: kernel_shape is required"));
        };
        let kernel = to_pair(&kernel.ints)
            .ok_or_else(|| format!("{what}: kernel_shape {:?} is not 2-D", kernel.ints))?;
        let (stride, padding) = attrs.window_geometry()?;
        if padding != [0, 0] {
            return Err(format!("{what}: padded pooling is not supported"));
        }
        let window = Window { kernel, stride };
        let layer = if max { LayerSpec::MaxPool2d(window) } else { LayerSpec::AvgPool2d(window) };
        self.chain.push(layer, what)
    }

    /// A float32 constant: its dims and values.
    fn floats(
        &self,
        name: &str,
        what: &str,
    ) -> std::result::Result<(Vec<usize>, Vec<f32>), String> {
        let t = self.constant(name, what)?;
        let dims = dims(t, what)?;
        let count = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let count = count.ok_or_else(|| format!("{what}: tensor `{name}` is too large"))?;
        if t.data_type != DataType::FLOAT as i32 {
            return Err(format!(
                "{what}: tensor `{name}` is {}, not float32",
                type_name(t.data_type)
            ));
        }
        let values = if t.raw_data.is_empty() {
            t.float_data.clone()
        } else {
            t.raw_data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        if values.len() != count || (!t.raw_data.is_empty() && t.raw_data.len() != 4 * count) {
            return Err(format!(
                "{what}: tensor `{name}` holds {} values for shape {dims:?}",
                values.len()
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!("{what}: tensor `{name}` value {i} is not finite"));
        }
        Ok((dims, values))
    }

    /// An int64 constant (a `Reshape` shape).
    fn ints(&self, name: &str, what: &str) -> std::result::Result<Vec<i64>, String> {
        let t = self.constant(name, what)?;
        if t.data_type != DataType::INT64 as i32 {
            return Err(format!(
                "{what}: tensor `{name}` is {}, not int64",
                type_name(t.data_type)
            ));
        }
        Ok(if t.raw_data.is_empty() {
            t.int64_data.clone()
        } else {
            t.raw_data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect()
        })
    }

    fn constant(&self, name: &str, what: &str) -> std::result::Result<&'g TensorProto, String> {
        let t = self.constants.get(name).copied().ok_or_else(|| {
            format!(
                "{what}: input `{name}` is not a constant (an initializer): it must be a weight"
            )
        })?;
        Ok(t)
    }
}

/// The attributes of one node, read with checks.
struct Attributes<'a> {
    node: &'a NodeProto,
    what: &'a str,
}

impl Attributes<'_> {
    fn get(&self, name: &str) -> Option<&AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    /// Fails on an attribute not in `allowed`.
    fn only(&self, allowed: &[&str]) -> std::result::Result<(), String> {
        match self.node.attribute.iter().find(|a| !allowed.contains(&a.name.as_str())) {
            Some(a) => Err(format!("{}: attribute {} is not supported", self.what, a.name)),
            None => Ok(()),
        }
    }

    fn int(&self, name: &str, default: i64) -> std::result::Result<i64, String> {
        Ok(self.get(name).map_or(default, |a| a.i))
    }

    fn float(&self, name: &str, default: f32) -> std::result::Result<f32, String> {
        match self.get(name).map_or(default, |a| a.f) {
            v if v.is_finite() => Ok(v),
            v => Err(format!("{}: {name} = {v} is not finite", self.what)),
        }
    }

    /// A two-element `ints` attribute of positive values, or `default`.
    fn pair(&self, name: &str, default: [usize; 2]) -> std::result::Result<[usize; 2], String> {
        match self.get(name) {
            None => Ok(default),
            Some(a) => to_pair(&a.ints).ok_or_else(|| {
                format!("{}: {name} {:?} is not two positive values", self.what, a.ints)
            }),
        }
    }

    /// Strides and symmetric padding; dilations must be 1 and `auto_pad` NOTSET or VALID.
    fn window_geometry(&self) -> std::result::Result<([usize; 2], [usize; 2]), String> {
        let what = self.what;
        let auto_pad = self.get("auto_pad").map(|a| String::from_utf8_lossy(&a.s).into_owned());
        if let Some(p) = auto_pad.filter(|p| p != "NOTSET" && p != "VALID") {
            return Err(format!("{what}: auto_pad {p} is not supported (give explicit pads)"));
        }
        if self.pair("dilations", [1, 1])? != [1, 1] {
            return Err(format!("{what}: dilations ≠ 1 are not supported"));
        }
        let stride = self.pair("strides", [1, 1])?;
        let pads = match self.get("pads") {
            None => [0; 4],
            Some(a) => match a.ints[..] {
                [t, l, b, r] if a.ints.iter().all(|&p| p >= 0) => [t, l, b, r].map(|p| p as usize),
                _ => return Err(format!("{what}: pads {:?} are not 4 values ≥ 0", a.ints)),
            },
        };
        if pads[0] != pads[2] || pads[1] != pads[3] {
            return Err(format!("{what}: asymmetric pads {pads:?} are not supported"));
        }
        Ok((stride, [pads[0], pads[1]]))
    }
}

/// `[a, b]` from two positive values.
fn to_pair(values: &[i64]) -> Option<[usize; 2]> {
    match values {
        [a, b] if *a > 0 && *b > 0 => Some([usize::try_from(*a).ok()?, usize::try_from(*b).ok()?]),
        _ => None,
    }
}

/// The input's shape: `[N, D]` → `D`, `[N, C, H, W]` → `C×H×W`, float32, `N` 1 or symbolic.
fn input_shape(input: &ValueInfoProto) -> std::result::Result<Shape, String> {
    let name = &input.name;
    let tensor = match input.type_.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(t)) => t,
        _ => return Err(format!("input `{name}` is not a tensor")),
    };
    if tensor.elem_type != DataType::FLOAT as i32 {
        return Err(format!("input `{name}` is {}, not float32", type_name(tensor.elem_type)));
    }
    let dims: Vec<Option<i64>> = tensor
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(dimension::Value::DimValue(v)) => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let fixed = |d: &Option<i64>| d.and_then(|v| usize::try_from(v).ok()).filter(|&v| v > 0);
    let batch_ok = matches!(dims.first(), Some(None | Some(1)));
    let rest: Option<Vec<usize>> = dims.iter().skip(1).map(fixed).collect();
    match (batch_ok, rest.as_deref()) {
        (true, Some([d])) => Ok(Shape::flat(*d)),
        (true, Some([c, h, w])) => Ok(Shape::new(*c, *h, *w)),
        _ => Err(format!(
            "input `{name}` has shape {}: expected [N, D] or [N, C, H, W] with N 1 or symbolic and the rest fixed",
            format_dims(&dims)
        )),
    }
}

fn format_dims(dims: &[Option<i64>]) -> String {
    let parts: Vec<String> =
        dims.iter().map(|d| d.map_or("?".to_string(), |v| v.to_string())).collect();
    format!("[{}]", parts.join(", "))
}

/// A tensor's dims as sizes; fails on a negative one.
fn dims(t: &TensorProto, what: &str) -> std::result::Result<Vec<usize>, String> {
    t.dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| format!("{what}: tensor `{}` has a negative dim", t.name))
        })
        .collect()
}

fn type_name(code: i32) -> String {
    match DataType::from_i32(code) {
        Some(t) => format!("{t:?}").to_lowercase(),
        None => format!("data type {code}"),
    }
}

/// `node (op)` for messages: its name, or its first output when unnamed.
fn describe(node: &NodeProto) -> String {
    let name = if node.name.is_empty() {
        node.output.first().map_or("", String::as_str)
    } else {
        &node.name
    };
    format!("node `{name}` ({})", node.op_type)
}
