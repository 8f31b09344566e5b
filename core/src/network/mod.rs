//! Any sequential network as a value: layers whose shapes are checked once, weights viewed
//! in place, and one caller-owned arena for every intermediate value.
//!
//! ```text
//! description (LayerSpec list + input Shape) ─┐
//! weights (one f32 slice, layer order)        ├─► Network::new / Network::from_bytes (validate once)
//! or one byte blob (format module)           ─┘        │
//!                          forward(x, arena) · backward(x, arena, ∂J/∂z → ∇ₓJ, ∇θJ)
//! ```
//!
//! # Layout: NCHW, as PyTorch
//! An activation of [`Shape`] `(C, H, W)` is `C·H·W` f32 values, channel-major then row-major:
//! element `(c, y, x)` is at `(c·H + y)·W + x`. A flat vector of `n` features is `(n, 1, 1)`.
//! [`Flatten`](LayerSpec::Flatten) is therefore free (it only renames the shape), and a dense
//! layer after it sees features in PyTorch's `nn.Flatten` order `c, y, x`. Importers of NHWC
//! models (TFLite) permute their weights to this layout.
//!
//! # Parameters
//! Every layer's parameters lie in one flat f32 slice, layer after layer, weight then bias:
//!
//! | layer | weight | bias |
//! | --- | --- | --- |
//! | [`Dense`](LayerSpec::Dense) | `[out][in]`, row-major (`nn.Linear.weight`) | `[out]` |
//! | [`Conv2d`](LayerSpec::Conv2d) | `[out_c][in_c][kh][kw]` (`nn.Conv2d.weight`) | `[out_c]` |
//!
//! Pooling, ReLU and Flatten have none. [`Network::backward`] adds `∇θJ` to a slice of the
//! same layout, so an optimiser treats the network as one vector.
//!
//! # Arena
//! [`Network::arena_len`] f32 elements hold every layer's output (ReLU works in place on
//! its input's slot and Flatten shares it, so they cost nothing) and two gradient buffers of
//! the largest activation. The caller owns it — a `static` array on a device (its length
//! can be computed on the host by a build script), a `Vec` on a host — and one arena serves
//! any number of passes.
//!
//! Each layer's file gives its formula and summation order; the order is the same on every
//! target, so a network gives the same bits on x86_64 and on the Cortex-M4F.

mod classifier;
mod conv;
mod dense;
pub mod format;
mod pool;
mod problem;
mod relu;
mod step;

pub use crate::storage::ArenaStorage;
pub use classifier::{NetworkClassifier, NetworkWorkspace};
pub use problem::NetworkProblem;

use crate::error::Error;
use crate::linalg;

/// Most layers a [`Network`] can have (the layer list lives inline, without a heap).
pub const MAX_LAYERS: usize = 32;

/// Largest number of f32 values in one activation or one parameter tensor (2²⁸): keeps
/// every size computation far from overflow, also on 32-bit targets.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// The shape of an activation: channels × height × width (see the [layout](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Shape {
    /// Channels `C` (the features of a flat vector).
    pub channels: usize,
    /// Height `H` (1 for a flat vector).
    pub height: usize,
    /// Width `W` (1 for a flat vector).
    pub width: usize,
}

impl Shape {
    /// `C × H × W`.
    pub const fn new(channels: usize, height: usize, width: usize) -> Self {
        Self { channels, height, width }
    }

    /// A flat vector of `n` features, `n × 1 × 1`.
    pub const fn flat(n: usize) -> Self {
        Self::new(n, 1, 1)
    }

    /// Whether this is a flat vector (`H = W = 1`).
    pub const fn is_flat(&self) -> bool {
        self.height == 1 && self.width == 1
    }

    /// `C·H·W`, or `None` if a dimension is 0 or the product exceeds [`MAX_ELEMENTS`].
    pub fn checked_len(&self) -> Option<usize> {
        let n = self.channels.checked_mul(self.height)?.checked_mul(self.width)?;
        (n > 0 && n <= MAX_ELEMENTS).then_some(n)
    }

    /// `C·H·W` (for a shape a [`Network`] has validated).
    pub const fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether `C·H·W` is 0 (never, for a validated shape).
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A 2-D window: kernel size and stride, `[along height, along width]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Window {
    /// Kernel size `[kh, kw]` (≥ 1).
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]` (≥ 1).
    pub stride: [usize; 2],
}

impl Window {
    /// A square `k × k` window with stride `s`.
    pub const fn square(k: usize, s: usize) -> Self {
        Self { kernel: [k, k], stride: [s, s] }
    }
}

/// One layer of a network, without its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LayerSpec {
    /// `y = W x + b` on a flat input (`nn.Linear`).
    Dense {
        /// Output features.
        outputs: usize,
    },
    /// 2-D cross-correlation with zero padding (`nn.Conv2d`, `groups = 1`, no dilation).
    Conv2d {
        /// Output channels.
        out_channels: usize,
        /// Kernel size and stride.
        window: Window,
        /// Zero padding `[ph, pw]` on both sides of each axis (each below the kernel size).
        padding: [usize; 2],
    },
    /// Maximum over each window, no padding, floor division (`nn.MaxPool2d`).
    MaxPool2d(Window),
    /// Mean over each window, no padding, floor division (`nn.AvgPool2d`).
    AvgPool2d(Window),
    /// `max(x, 0)`, element-wise.
    Relu,
    /// `(C, H, W)` → `(C·H·W, 1, 1)`; the data does not move.
    Flatten,
}

impl LayerSpec {
    /// A short lower-case name: `dense`, `conv2d`, `maxpool2d`, `avgpool2d`, `relu`, `flatten`.
    pub const fn name(&self) -> &'static str {
        match self {
            LayerSpec::Dense { .. } => "dense",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::MaxPool2d(_) => "maxpool2d",
            LayerSpec::AvgPool2d(_) => "avgpool2d",
            LayerSpec::Relu => "relu",
            LayerSpec::Flatten => "flatten",
        }
    }

    /// The output shape for `input`, and the weight and bias lengths; fails on a shape this
    /// layer cannot take.
    pub fn output_shape(&self, input: Shape) -> Result<(Shape, usize, usize), NetworkProblem> {
        let n_in = input.checked_len().ok_or(NetworkProblem::BadSize)?;
        let (out, weights, biases) = match *self {
            LayerSpec::Dense { outputs } => {
                if !input.is_flat() {
                    return Err(NetworkProblem::NeedsFlatInput);
                }
                (Shape::flat(outputs), outputs.checked_mul(n_in), outputs)
            }
            LayerSpec::Conv2d { out_channels, window, padding } => {
                let [ph, pw] = padding;
                if ph >= window.kernel[0] || pw >= window.kernel[1] {
                    return Err(NetworkProblem::PaddingNotBelowKernel);
                }
                let [oh, ow] = window_output(input, window, padding)?;
                let per_output = input.channels.checked_mul(window.kernel[0] * window.kernel[1]);
                let weights = per_output.and_then(|k| k.checked_mul(out_channels));
                (Shape::new(out_channels, oh, ow), weights, out_channels)
            }
            LayerSpec::MaxPool2d(window) | LayerSpec::AvgPool2d(window) => {
                let [oh, ow] = window_output(input, window, [0, 0])?;
                (Shape::new(input.channels, oh, ow), Some(0), 0)
            }
            LayerSpec::Relu => (input, Some(0), 0),
            LayerSpec::Flatten => (Shape::flat(n_in), Some(0), 0),
        };
        out.checked_len().ok_or(NetworkProblem::BadSize)?;
        let weights = weights.filter(|&w| w <= MAX_ELEMENTS).ok_or(NetworkProblem::BadSize)?;
        Ok((out, weights, biases))
    }
}

/// Output height and width of a window sliding over `input` with `padding`: PyTorch's
/// `⌊(n + 2p − k)/s⌋ + 1`.
fn window_output(
    input: Shape,
    w: Window,
    padding: [usize; 2],
) -> Result<[usize; 2], NetworkProblem> {
    let mut out = [0; 2];
    for (axis, o) in out.iter_mut().enumerate() {
        let n = if axis == 0 { input.height } else { input.width };
        let (k, s, p) = (w.kernel[axis], w.stride[axis], padding[axis]);
        if k == 0 || s == 0 || k > MAX_ELEMENTS || s > MAX_ELEMENTS {
            return Err(NetworkProblem::BadSize);
        }
        let padded = n + 2 * p;
        if padded < k {
            return Err(NetworkProblem::KernelLargerThanInput);
        }
        *o = (padded - k) / s + 1;
    }
    Ok(out)
}

/// Parameters that `layers` on inputs of shape `input` need (what [`Network::new`] expects
/// as the length of its slice). Fails like `Network::new` on a shape that does not chain.
pub fn param_count(input: Shape, layers: &[LayerSpec]) -> Result<usize, Error> {
    let mut shape = input;
    let mut count = 0usize;
    for (i, spec) in layers.iter().enumerate() {
        let (output, n_weight, n_bias) = spec
            .output_shape(shape)
            .map_err(|problem| Error::InvalidNetwork { layer: Some(i), problem })?;
        count += n_weight + n_bias;
        shape = output;
    }
    Ok(count)
}

/// Where an activation lives: the caller's input, or `len` elements at `start` in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Input,
    Arena { start: usize, len: usize },
}

/// A validated layer: its description, shapes, weights and where its input and output live.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'w> {
    /// The description.
    pub spec: LayerSpec,
    /// Input shape.
    pub input: Shape,
    /// Output shape.
    pub output: Shape,
    /// Weight tensor (empty for layers without parameters).
    pub weight: &'w [f32],
    /// Bias (empty for layers without parameters).
    pub bias: &'w [f32],
    /// Index of the weight's first value in the network's parameter slice.
    pub param_offset: usize,
    source: Slot,
    target: Slot,
}

impl Layer<'_> {
    /// Parameters of this layer (weight and bias).
    pub fn param_count(&self) -> usize {
        self.weight.len() + self.bias.len()
    }

    /// Multiply-accumulates of one forward pass (0 for pooling, ReLU and Flatten).
    pub fn macs(&self) -> usize {
        match self.spec {
            LayerSpec::Dense { .. } => self.weight.len(),
            LayerSpec::Conv2d { .. } => self.output.height * self.output.width * self.weight.len(),
            _ => 0,
        }
    }
}

/// A sequential network viewing its weights in place; see the [module docs](self).
///
/// Built once by [`Network::new`] or [`Network::from_bytes`], which check every shape,
/// length and weight; the passes then trust them. Cheap to copy (a few hundred bytes).
#[derive(Debug, Clone)]
pub struct Network<'w> {
    input: Shape,
    layers: heapless::Vec<Layer<'w>, MAX_LAYERS>,
    params: usize,
    activations_len: usize,
    gradient_len: usize,
}

impl<'w> Network<'w> {
    /// A network of `layers` on inputs of shape `input`, viewing `params` (every layer's
    /// weight then bias, in order; see the [module docs](self)).
    ///
    /// Fails with [`Error::InvalidNetwork`] naming the first layer whose shape does not
    /// chain (or whose output, for the last, is not a flat vector of at least two classes),
    /// [`Error::Length`] if `params` is not exactly as long as the layers need, and
    /// [`Error::NonFiniteWeight`] on a NaN or infinite weight.
    pub fn new(input: Shape, layers: &[LayerSpec], params: &'w [f32]) -> Result<Self, Error> {
        let invalid = |layer, problem| Error::InvalidNetwork { layer, problem };
        if layers.is_empty() {
            return Err(invalid(None, NetworkProblem::NoLayers));
        }
        if layers.len() > MAX_LAYERS {
            return Err(invalid(None, NetworkProblem::TooManyLayers));
        }
        let input_len = input.checked_len().ok_or(invalid(None, NetworkProblem::BadSize))?;
        let mut network = Network {
            input,
            layers: heapless::Vec::new(),
            params: 0,
            activations_len: 0,
            gradient_len: 0,
        };
        // First the shapes alone, so that a wrong parameter count can name the right one.
        let expected = param_count(input, layers)?;
        if params.len() != expected {
            return Err(Error::Length { what: "parameters", expected, found: params.len() });
        }
        let (mut shape, mut source) = (input, Slot::Input);
        let mut rest = params;
        for (i, spec) in layers.iter().enumerate() {
            let (output, n_weight, n_bias) =
                spec.output_shape(shape).map_err(|p| invalid(Some(i), p))?;
            let n = output.len();
            let target = match (spec, source) {
                (LayerSpec::Flatten, _) | (LayerSpec::Relu, Slot::Arena { .. }) => source,
                _ => {
                    let start = network.activations_len;
                    network.activations_len += n;
                    Slot::Arena { start, len: n }
                }
            };
            let length_error = Error::Length { what: "parameters", expected, found: params.len() };
            let (weight, tail) = rest.split_at_checked(n_weight).ok_or(length_error)?;
            let (bias, tail) = tail.split_at_checked(n_bias).ok_or(length_error)?;
            if let Some(k) = linalg::first_non_finite(weight) {
                return Err(Error::NonFiniteWeight { index: network.params + k });
            }
            if let Some(k) = linalg::first_non_finite(bias) {
                return Err(Error::NonFiniteWeight { index: network.params + n_weight + k });
            }
            let layer = Layer {
                spec: *spec,
                input: shape,
                output,
                weight,
                bias,
                param_offset: network.params,
                source,
                target,
            };
            network.params += n_weight + n_bias;
            network.gradient_len = network.gradient_len.max(n);
            if network.layers.push(layer).is_err() {
                return Err(invalid(None, NetworkProblem::TooManyLayers));
            }
            rest = tail;
            (shape, source) = (output, target);
        }
        if !shape.is_flat() {
            return Err(invalid(Some(layers.len() - 1), NetworkProblem::OutputNotFlat));
        }
        if shape.channels < 2 {
            return Err(invalid(Some(layers.len() - 1), NetworkProblem::TooFewClasses));
        }
        // Too large for any arena (the sums above stay far below usize::MAX: at most 32
        // activations of 2²⁸ elements each).
        if network.arena_len() > MAX_ELEMENTS.saturating_mul(4) || input_len > MAX_ELEMENTS {
            return Err(invalid(None, NetworkProblem::BadSize));
        }
        Ok(network)
    }

    /// The shape of an input.
    pub fn input_shape(&self) -> Shape {
        self.input
    }

    /// Elements of an input, `C·H·W`.
    pub fn input_len(&self) -> usize {
        self.input.len()
    }

    /// Number of classes (logits).
    pub fn classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.output.len())
    }

    /// The validated layers, first to last.
    pub fn layers(&self) -> &[Layer<'w>] {
        &self.layers
    }

    /// Number of parameters (the length of the slice [`backward`](Self::backward) adds to).
    pub fn param_count(&self) -> usize {
        self.params
    }

    /// Multiply-accumulates of one forward pass.
    pub fn macs(&self) -> usize {
        self.layers.iter().map(Layer::macs).sum()
    }

    /// f32 elements of arena every pass needs: the layers' outputs and two gradient buffers.
    pub fn arena_len(&self) -> usize {
        self.activations_len + 2 * self.gradient_len
    }

    /// Forward pass: writes every layer's output to `arena` and returns the logits (a slice
    /// of it). Fails on an input of the wrong length ([`Error::Length`]) or with a NaN or
    /// infinity ([`Error::NonFiniteInput`]), or an arena shorter than
    /// [`arena_len`](Self::arena_len).
    pub fn forward<'a>(&self, input: &'a [f32], arena: &'a mut [f32]) -> Result<&'a [f32], Error> {
        self.check_buffers(input, arena)?;
        crate::model::check_finite_input(input)?;
        for layer in &self.layers {
            forward_layer(layer, input, arena)?;
        }
        let logits = self.layers.last().map(|l| l.target).ok_or(Error::NonFiniteResult)?;
        slot(logits, input, arena).ok_or(Error::NonFiniteResult)
    }

    /// Backpropagates `logit_grad = ∂J/∂z` through the pass that the last
    /// [`forward`](Self::forward) with this `input` and `arena` left there: writes `∇ₓJ` to
    /// `input_grad` and **adds** `∇θJ` to `param_grad` (the [parameter layout](self)), each if
    /// given. Fails on a buffer of the wrong length; the result is meaningless if `arena`
    /// no longer holds that forward pass.
    pub fn backward(
        &self,
        input: &[f32],
        arena: &mut [f32],
        logit_grad: &[f32],
        input_grad: Option<&mut [f32]>,
        param_grad: Option<&mut [f32]>,
    ) -> Result<(), Error> {
        self.backward_layers(input, arena, logit_grad, 0, input_grad, param_grad).map(|_| ())
    }

    /// [`backward`](Self::backward) through the layers from `first` on: with `first > 0`,
    /// leaves `∂J/∂y` for the output `y` of layer `first − 1` in the arena, at the offset
    /// returned.
    fn backward_layers(
        &self,
        input: &[f32],
        arena: &mut [f32],
        logit_grad: &[f32],
        first: usize,
        mut input_grad: Option<&mut [f32]>,
        mut param_grad: Option<&mut [f32]>,
    ) -> Result<usize, Error> {
        self.check_buffers(input, arena)?;
        check_len("logit gradient", logit_grad, self.classes())?;
        if let Some(g) = input_grad.as_deref() {
            check_len("input gradient", g, self.input_len())?;
        }
        if let Some(g) = param_grad.as_deref() {
            check_len("parameter gradient", g, self.params)?;
        }
        let internal = Error::ArenaTooSmall { needed: self.arena_len(), found: arena.len() };
        let (activations, grads) =
            arena.split_at_mut_checked(self.activations_len).ok_or(internal)?;
        let (mut current, mut other) =
            grads.split_at_mut_checked(self.gradient_len).ok_or(internal)?;
        linalg::copy(current.get_mut(..logit_grad.len()).ok_or(internal)?, logit_grad);
        // Where `current` starts in the arena: it and `other` swap after every layer.
        let mut offset = [self.activations_len, self.activations_len + self.gradient_len];
        for (i, layer) in self.layers.iter().enumerate().skip(first).rev() {
            let first = i == 0;
            let dout = current.get(..layer.output.len()).ok_or(internal)?;
            let x = slot(layer.source, input, activations).ok_or(internal)?;
            let y = slot(layer.target, input, activations).ok_or(internal)?;
            let din: Option<&mut [f32]> = if first {
                input_grad.as_deref_mut()
            } else {
                Some(other.get_mut(..layer.input.len()).ok_or(internal)?)
            };
            let params = match param_grad.as_deref_mut() {
                Some(g) if layer.param_count() > 0 => {
                    let range = layer.param_offset..layer.param_offset + layer.param_count();
                    let g = g.get_mut(range).ok_or(internal)?;
                    Some(g.split_at_mut_checked(layer.weight.len()).ok_or(internal)?)
                }
                _ => None,
            };
            match layer.spec {
                LayerSpec::Dense { .. } => dense::backward(layer, x, dout, din, params),
                LayerSpec::Conv2d { .. } => conv::backward(layer, x, dout, din, params),
                LayerSpec::MaxPool2d(w) => pool::max_backward(layer, w, x, dout, din),
                LayerSpec::AvgPool2d(w) => pool::avg_backward(layer, w, dout, din),
                LayerSpec::Relu => relu::backward(y, dout, din),
                LayerSpec::Flatten => {
                    if let Some(din) = din {
                        linalg::copy(din, dout);
                    }
                }
            }
            core::mem::swap(&mut current, &mut other);
            offset.swap(0, 1);
        }
        Ok(offset[0])
    }

    fn check_buffers(&self, input: &[f32], arena: &[f32]) -> Result<(), Error> {
        check_len("input", input, self.input_len())?;
        if arena.len() < self.arena_len() {
            return Err(Error::ArenaTooSmall { needed: self.arena_len(), found: arena.len() });
        }
        Ok(())
    }
}

fn check_len(what: &'static str, buffer: &[f32], expected: usize) -> Result<(), Error> {
    if buffer.len() == expected {
        Ok(())
    } else {
        Err(Error::Length { what, expected, found: buffer.len() })
    }
}

/// The activation in `slot`.
fn slot<'a>(slot: Slot, input: &'a [f32], arena: &'a [f32]) -> Option<&'a [f32]> {
    match slot {
        Slot::Input => Some(input),
        Slot::Arena { start, len } => arena.get(start..start.checked_add(len)?),
    }
}

/// One layer's forward pass, from its source slot to its target slot.
fn forward_layer(layer: &Layer<'_>, input: &[f32], arena: &mut [f32]) -> Result<(), Error> {
    let internal = Error::ArenaTooSmall { needed: usize::MAX, found: arena.len() };
    let Slot::Arena { start, len } = layer.target else {
        return Ok(()); // Flatten of the input: nothing to compute.
    };
    if layer.source == layer.target {
        // In place: ReLU on an arena slot, or Flatten (nothing to do).
        let y = arena.get_mut(start..start + len).ok_or(internal)?;
        if layer.spec == LayerSpec::Relu {
            relu::forward_in_place(y);
        }
        return Ok(());
    }
    // Outputs are laid out in layer order, so a source in the arena lies before the target.
    let (before, after) = arena.split_at_mut_checked(start).ok_or(internal)?;
    let y = after.get_mut(..len).ok_or(internal)?;
    let x = slot(layer.source, input, before).ok_or(internal)?;
    match layer.spec {
        LayerSpec::Dense { .. } => dense::forward(layer, x, y),
        LayerSpec::Conv2d { .. } => conv::forward(layer, x, y),
        LayerSpec::MaxPool2d(w) => pool::max_forward(layer, w, x, y),
        LayerSpec::AvgPool2d(w) => pool::avg_forward(layer, w, x, y),
        LayerSpec::Relu => relu::forward(x, y),
        LayerSpec::Flatten => linalg::copy(y, x),
    }
    Ok(())
}
