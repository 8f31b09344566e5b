//! A sequential int8 network as a value, like the float [`Network`](crate::Network): the
//! description is checked once, the weights are viewed in place, and every activation lives
//! in one caller-owned int8 arena.
//!
//! # Layout: CHW, as the float network
//! An activation of [`Shape`] `(C, H, W)` is `C·H·W` int8 values, channel-major: element
//! `(c, y, x)` at `(c·H + y)·W + x`. TFLite computes in NHWC; importers permute weights to
//! this layout (a convolution's filter `[O][H][W][I]` → `[O][I][H][W]`, a dense layer after
//! a flatten by its columns). This is exact: every kernel here sums integers, and integer
//! sums do not depend on their order (the int32 accumulator wraps in two's complement, as
//! on the device, so even an overflowing sum is order-free).
//!
//! # Quantization
//! Every activation has one [`Quantization`] (scale, zero point). The input's is given;
//! dense and convolution layers set their output's; pooling and flatten keep their input's
//! (TFLite requires it). Weights are symmetric int8 (zero point 0) with one f32 scale per
//! output channel (a per-tensor scale repeated), biases int32 with scale
//! `input scale · weight scale` and zero point 0.
//!
//! # Parameters
//! [`QuantParams`] holds three slices, each layer after layer: `weights` (dense `[out][in]`,
//! convolution `[out][in][kh][kw]`), `biases` (`[out]`) and `weight_scales` (`[out]`).
//!
//! # Arena
//! [`QuantNetwork::arena_len`] int8 elements: the quantized input, then every layer's
//! output (flatten shares its input's).

use super::affine::Quantization;
use super::fixed_point::Rounding;
use super::multiplier::{QuantizedMultiplier, effective_multiplier, quantize_multiplier};
use super::{conv, dense, pool};
use crate::error::Error;
use crate::network::{LayerSpec, MAX_ELEMENTS, MAX_LAYERS, NetworkProblem, Shape, Window};

/// A fused activation: the output is clamped to the quantized range of the real interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Activation {
    /// No clamp beyond int8's `[−128, 127]`.
    #[default]
    None,
    /// `[0, ∞)`.
    Relu,
    /// `[0, 6]`.
    Relu6,
    /// `[−1, 1]`.
    ReluN1To1,
}

impl Activation {
    /// The int8 range `[min, max]` of this activation on an output quantized by `q`:
    /// TFLite's `CalculateActivationRangeQuantized`, each bound `zero_point +
    /// round(bound / scale)` (f32 division, half away from zero) intersected with
    /// `[−128, 127]`.
    pub fn range(self, q: Quantization) -> (i32, i32) {
        let bound = |real: f32| q.zero_point.saturating_add(libm::roundf(real / q.scale) as i32);
        let (lo, hi) = (i32::from(i8::MIN), i32::from(i8::MAX));
        match self {
            Activation::None => (lo, hi),
            Activation::Relu => (lo.max(bound(0.0)), hi),
            Activation::Relu6 => (lo.max(bound(0.0)), hi.min(bound(6.0))),
            Activation::ReluN1To1 => (lo.max(bound(-1.0)), hi.min(bound(1.0))),
        }
    }
}

/// Which runtime's arithmetic a [`QuantNetwork`] reproduces bit for bit. They differ only
/// in how FULLY_CONNECTED rounds its requantization (by one step on some outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Arithmetic {
    /// TensorFlow Lite Micro's reference kernels (the device): every layer rounds twice,
    /// [`Rounding::Double`].
    #[default]
    Tflm,
    /// LiteRT's reference kernels (`BUILTIN_REF`, the ai-edge-litert 2.3 wheel):
    /// FULLY_CONNECTED rounds once ([`Rounding::Single`]), CONV_2D twice (measured; see
    /// [`fixed_point`](super::fixed_point)).
    LiteRt,
}

impl Arithmetic {
    /// The rounding of a dense layer's requantization.
    pub const fn dense(self) -> Rounding {
        match self {
            Arithmetic::Tflm => Rounding::Double,
            Arithmetic::LiteRt => Rounding::Single,
        }
    }

    /// The rounding of a convolution's requantization.
    pub const fn conv(self) -> Rounding {
        Rounding::Double
    }
}

/// One layer of an int8 network, without its weights.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum QuantLayerSpec {
    /// FULLY_CONNECTED on a flat input.
    Dense {
        /// Output features.
        outputs: usize,
        /// The output's quantization.
        output: Quantization,
        /// The fused activation.
        activation: Activation,
    },
    /// CONV_2D (`groups = 1`, no dilation) with symmetric zero padding; padded taps count
    /// as real zeros (they are skipped, as in TFLite).
    Conv2d {
        /// Output channels.
        out_channels: usize,
        /// Kernel size and stride.
        window: Window,
        /// Zero padding `[ph, pw]` on both sides (each below the kernel size).
        padding: [usize; 2],
        /// The output's quantization.
        output: Quantization,
        /// The fused activation.
        activation: Activation,
    },
    /// MAX_POOL_2D without padding; the output keeps the input's quantization.
    MaxPool2d {
        /// Kernel size and stride.
        window: Window,
        /// The fused activation.
        activation: Activation,
    },
    /// AVERAGE_POOL_2D without padding; the output keeps the input's quantization.
    AvgPool2d {
        /// Kernel size and stride.
        window: Window,
        /// The fused activation.
        activation: Activation,
    },
    /// `(C, H, W)` → `(C·H·W, 1, 1)` (RESHAPE); the data does not move.
    Flatten,
}

impl QuantLayerSpec {
    /// The float layer of the same shape (what the shapes are checked with).
    pub const fn float_spec(&self) -> LayerSpec {
        match *self {
            QuantLayerSpec::Dense { outputs, .. } => LayerSpec::Dense { outputs },
            QuantLayerSpec::Conv2d { out_channels, window, padding, .. } => {
                LayerSpec::Conv2d { out_channels, window, padding }
            }
            QuantLayerSpec::MaxPool2d { window, .. } => LayerSpec::MaxPool2d(window),
            QuantLayerSpec::AvgPool2d { window, .. } => LayerSpec::AvgPool2d(window),
            QuantLayerSpec::Flatten => LayerSpec::Flatten,
        }
    }

    /// The fused activation (none for flatten).
    pub const fn activation(&self) -> Activation {
        match *self {
            QuantLayerSpec::Dense { activation, .. }
            | QuantLayerSpec::Conv2d { activation, .. }
            | QuantLayerSpec::MaxPool2d { activation, .. }
            | QuantLayerSpec::AvgPool2d { activation, .. } => activation,
            QuantLayerSpec::Flatten => Activation::None,
        }
    }
}

/// The parameters of every layer, each slice layer after layer (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default)]
pub struct QuantParams<'w> {
    /// Symmetric int8 weights.
    pub weights: &'w [i8],
    /// int32 biases, one per output channel.
    pub biases: &'w [i32],
    /// f32 weight scales, one per output channel.
    pub weight_scales: &'w [f32],
}

/// Where an activation lives in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    start: usize,
    len: usize,
}

/// A validated int8 layer.
#[derive(Debug, Clone, Copy)]
pub struct QuantLayer<'w> {
    /// The description.
    pub spec: QuantLayerSpec,
    /// Input shape.
    pub input: Shape,
    /// Output shape.
    pub output: Shape,
    /// The input's quantization.
    pub input_quantization: Quantization,
    /// The output's quantization.
    pub output_quantization: Quantization,
    /// Weights (empty for layers without parameters).
    pub weight: &'w [i8],
    /// Biases (empty for layers without parameters).
    pub bias: &'w [i32],
    /// Weight scales, one per output channel (empty for layers without parameters).
    pub weight_scales: &'w [f32],
    /// The fused activation's int8 range `[min, max]`.
    pub clamp: (i32, i32),
    /// Every output channel's multiplier, if computed once ([`QuantNetwork::prepare_multipliers`]);
    /// empty otherwise.
    multipliers: &'w [QuantizedMultiplier],
    source: Slot,
    target: Slot,
}

impl QuantLayer<'_> {
    /// Output channel `o`'s requantization multiplier (checked when the network was built),
    /// computed from the scales as TFLM's `Prepare` does, in f64 (soft-float on a Cortex-M4F:
    /// once per output channel and pass, outside the multiply-accumulate loops, unless the
    /// network keeps a table of them: [`QuantNetwork::prepare_multipliers`]).
    pub fn multiplier(&self, o: usize) -> QuantizedMultiplier {
        if let Some(&m) = self.multipliers.get(o) {
            return m;
        }
        self.compute_multiplier(o)
    }

    /// [`multiplier`](Self::multiplier), computed from the scales.
    fn compute_multiplier(&self, o: usize) -> QuantizedMultiplier {
        let scale = self.weight_scales.get(o).copied().unwrap_or(0.0);
        let real = effective_multiplier(
            self.input_quantization.scale,
            scale,
            self.output_quantization.scale,
        );
        quantize_multiplier(real).unwrap_or(QuantizedMultiplier { multiplier: 0, shift: 0 })
    }

    /// Multiply-accumulates of one forward pass (0 for pooling and flatten).
    pub fn macs(&self) -> usize {
        match self.spec {
            QuantLayerSpec::Dense { .. } => self.weight.len(),
            QuantLayerSpec::Conv2d { .. } => {
                self.output.height * self.output.width * self.weight.len()
            }
            _ => 0,
        }
    }
}

/// A sequential int8 network viewing its weights in place; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct QuantNetwork<'w> {
    input: Shape,
    input_quantization: Quantization,
    layers: heapless::Vec<QuantLayer<'w>, MAX_LAYERS>,
    arena_len: usize,
    arithmetic: Arithmetic,
}

impl<'w> QuantNetwork<'w> {
    /// A network of `layers` on inputs of shape `input` quantized by `input_quantization`,
    /// viewing `params`, computing with TFLM's arithmetic ([`Arithmetic::Tflm`]).
    ///
    /// Fails with [`Error::InvalidNetwork`] naming the first layer whose shape does not
    /// chain, whose quantization is not valid int8 ([`NetworkProblem::BadQuantization`]:
    /// also a weight scale that is not finite and positive) or whose multiplier TFLite
    /// cannot apply ([`NetworkProblem::MultiplierOutOfRange`]), or if the output is not a
    /// flat vector of at least two classes; with [`Error::Length`] if a parameter slice is
    /// not exactly as long as the layers need.
    pub fn new(
        input: Shape,
        input_quantization: Quantization,
        layers: &[QuantLayerSpec],
        params: QuantParams<'w>,
    ) -> Result<Self, Error> {
        let invalid = |layer, problem| Error::InvalidNetwork { layer, problem };
        if layers.is_empty() {
            return Err(invalid(None, NetworkProblem::NoLayers));
        }
        if layers.len() > MAX_LAYERS {
            return Err(invalid(None, NetworkProblem::TooManyLayers));
        }
        let input_len = input.checked_len().ok_or(invalid(None, NetworkProblem::BadSize))?;
        if !input_quantization.is_valid_int8() {
            return Err(invalid(None, NetworkProblem::BadQuantization));
        }
        // The lengths first, so that a wrong slice is named before any layer is looked at.
        let (mut n_weights, mut n_channels, mut shape) = (0usize, 0usize, input);
        for (i, spec) in layers.iter().enumerate() {
            let (output, w, b) =
                spec.float_spec().output_shape(shape).map_err(|p| invalid(Some(i), p))?;
            // Saturating: 32 layers of up to 2²⁸ weights overflow a 32-bit usize.
            n_weights = n_weights.saturating_add(w);
            n_channels = n_channels.saturating_add(b);
            shape = output;
        }
        check_len("weights", params.weights.len(), n_weights)?;
        check_len("biases", params.biases.len(), n_channels)?;
        check_len("weight scales", params.weight_scales.len(), n_channels)?;

        let mut network = QuantNetwork {
            input,
            input_quantization,
            layers: heapless::Vec::new(),
            arena_len: input_len,
            arithmetic: Arithmetic::Tflm,
        };
        let (mut shape, mut quant) = (input, input_quantization);
        let mut source = Slot { start: 0, len: input_len };
        let (mut weights, mut biases, mut scales) =
            (params.weights, params.biases, params.weight_scales);
        for (i, spec) in layers.iter().enumerate() {
            let (output, n_weight, n_bias) =
                spec.float_spec().output_shape(shape).map_err(|p| invalid(Some(i), p))?;
            let output_quantization = match *spec {
                QuantLayerSpec::Dense { output, .. } | QuantLayerSpec::Conv2d { output, .. } => {
                    output
                }
                _ => quant,
            };
            if !output_quantization.is_valid_int8() {
                return Err(invalid(Some(i), NetworkProblem::BadQuantization));
            }
            let internal = Error::Length { what: "weights", expected: n_weights, found: 0 };
            let (weight, rest) = weights.split_at_checked(n_weight).ok_or(internal)?;
            let (bias, rest_b) = biases.split_at_checked(n_bias).ok_or(internal)?;
            let (weight_scales, rest_s) = scales.split_at_checked(n_bias).ok_or(internal)?;
            (weights, biases, scales) = (rest, rest_b, rest_s);
            let target = if *spec == QuantLayerSpec::Flatten {
                source
            } else {
                let start = network.arena_len;
                network.arena_len = network.arena_len.saturating_add(output.len());
                Slot { start, len: output.len() }
            };
            let layer = QuantLayer {
                spec: *spec,
                input: shape,
                output,
                input_quantization: quant,
                output_quantization,
                weight,
                bias,
                weight_scales,
                clamp: spec.activation().range(output_quantization),
                multipliers: &[],
                source,
                target,
            };
            for (o, &s) in weight_scales.iter().enumerate() {
                if !(s.is_finite() && s > 0.0) {
                    return Err(invalid(Some(i), NetworkProblem::BadQuantization));
                }
                let real = effective_multiplier(quant.scale, s, output_quantization.scale);
                if quantize_multiplier(real).is_none() {
                    return Err(invalid(
                        Some(i),
                        NetworkProblem::MultiplierOutOfRange { channel: o },
                    ));
                }
            }
            if layer.clamp.0 > layer.clamp.1 {
                return Err(invalid(Some(i), NetworkProblem::BadQuantization));
            }
            network.layers.push(layer).map_err(|_| invalid(None, NetworkProblem::TooManyLayers))?;
            (shape, quant, source) = (output, output_quantization, target);
        }
        let last = Some(layers.len() - 1);
        if !shape.is_flat() {
            return Err(invalid(last, NetworkProblem::OutputNotFlat));
        }
        if shape.channels < 2 {
            return Err(invalid(last, NetworkProblem::TooFewClasses));
        }
        if network.arena_len > MAX_ELEMENTS.saturating_mul(4) {
            return Err(invalid(None, NetworkProblem::BadSize));
        }
        Ok(network)
    }

    /// The same network computing with `arithmetic`'s rounding.
    #[must_use]
    pub fn with_arithmetic(mut self, arithmetic: Arithmetic) -> Self {
        self.arithmetic = arithmetic;
        self
    }

    /// Output channels of all dense and convolution layers: the length of a multiplier table
    /// ([`prepare_multipliers`](Self::prepare_multipliers)).
    pub fn channels(&self) -> usize {
        self.layers.iter().map(|l| l.bias.len()).sum()
    }

    /// Computes every output channel's requantization multiplier once, into `table` (layer
    /// after layer), and reads them from there from now on, as TFLM's `Prepare` does;
    /// otherwise each pass computes them again, hundreds of soft-float f64 instructions each
    /// on a Cortex-M4F. The outputs are the same. In place (a network is kilobytes: no
    /// copy on a small stack). Fails with [`Error::Length`] unless `table` has
    /// [`channels`](Self::channels) entries, and then leaves the network as it was.
    pub fn prepare_multipliers(
        &mut self,
        table: &'w mut [QuantizedMultiplier],
    ) -> Result<(), Error> {
        check_len("multipliers", table.len(), self.channels())?;
        let mut rest = &mut table[..];
        for layer in &mut self.layers {
            let short = Error::Length { what: "multipliers", expected: 0, found: 0 };
            let (mine, tail) =
                core::mem::take(&mut rest).split_at_mut_checked(layer.bias.len()).ok_or(short)?;
            for (o, m) in mine.iter_mut().enumerate() {
                *m = layer.compute_multiplier(o);
            }
            layer.multipliers = mine;
            rest = tail;
        }
        Ok(())
    }

    /// Whose arithmetic the passes reproduce.
    pub fn arithmetic(&self) -> Arithmetic {
        self.arithmetic
    }

    /// The shape of an input.
    pub fn input_shape(&self) -> Shape {
        self.input
    }

    /// Elements of an input, `C·H·W`.
    pub fn input_len(&self) -> usize {
        self.input.len()
    }

    /// The input's quantization (what [`forward_f32`](Self::forward_f32) quantizes with).
    pub fn input_quantization(&self) -> Quantization {
        self.input_quantization
    }

    /// The logits' quantization (what [`dequantize_logits`](Self::dequantize_logits) uses).
    pub fn output_quantization(&self) -> Quantization {
        self.layers.last().map_or(self.input_quantization, |l| l.output_quantization)
    }

    /// Number of classes (logits).
    pub fn classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.output.len())
    }

    /// The validated layers, first to last.
    pub fn layers(&self) -> &[QuantLayer<'w>] {
        &self.layers
    }

    /// Multiply-accumulates of one forward pass.
    pub fn macs(&self) -> usize {
        self.layers.iter().map(QuantLayer::macs).sum()
    }

    /// int8 elements of arena a pass needs: the input and every layer's output.
    pub fn arena_len(&self) -> usize {
        self.arena_len
    }

    /// Forward pass of an int8 input: copies it to the arena, writes every layer's output
    /// there and returns the int8 logits (a slice of it). Fails on an input of the wrong
    /// length ([`Error::Length`]) or an arena shorter than [`arena_len`](Self::arena_len)
    /// ([`Error::Int8ArenaTooSmall`]).
    pub fn forward<'a>(&self, input: &[i8], arena: &'a mut [i8]) -> Result<&'a [i8], Error> {
        check_len("input", input.len(), self.input_len())?;
        self.check_arena(arena)?;
        arena
            .get_mut(..input.len())
            .ok_or(Error::Int8ArenaTooSmall { needed: self.arena_len, found: 0 })?
            .copy_from_slice(input);
        self.run(arena)
    }

    /// Forward pass of an f32 input, quantized first with the input's quantization
    /// (TFLite's QUANTIZE: [`quantize`](super::quantize)). Fails like
    /// [`forward`](Self::forward), and with [`Error::NonFiniteInput`] on a NaN or infinity.
    pub fn forward_f32<'a>(&self, input: &[f32], arena: &'a mut [i8]) -> Result<&'a [i8], Error> {
        check_len("input", input.len(), self.input_len())?;
        self.check_arena(arena)?;
        crate::model::check_finite_input(input)?;
        let q = self.input_quantization;
        for (a, &x) in arena.iter_mut().zip(input) {
            *a = q.quantize(x);
        }
        self.run(arena)
    }

    /// `logits` dequantized into `out` (TFLite's DEQUANTIZE, the same bits). Fails with
    /// [`Error::Length`] unless both have [`classes`](Self::classes) elements.
    pub fn dequantize_logits(&self, logits: &[i8], out: &mut [f32]) -> Result<(), Error> {
        check_len("int8 logits", logits.len(), self.classes())?;
        check_len("logits", out.len(), self.classes())?;
        let q = self.output_quantization();
        for (o, &l) in out.iter_mut().zip(logits) {
            *o = q.dequantize(l);
        }
        Ok(())
    }

    fn check_arena(&self, arena: &[i8]) -> Result<(), Error> {
        if arena.len() < self.arena_len {
            return Err(Error::Int8ArenaTooSmall { needed: self.arena_len, found: arena.len() });
        }
        Ok(())
    }

    /// Every layer, from the input already in the arena.
    fn run<'a>(&self, arena: &'a mut [i8]) -> Result<&'a [i8], Error> {
        let internal = Error::Int8ArenaTooSmall { needed: self.arena_len, found: arena.len() };
        for layer in &self.layers {
            if layer.source == layer.target {
                continue; // Flatten: nothing moves.
            }
            // Outputs are laid out in layer order: the source lies before the target.
            let (before, after) = arena.split_at_mut_checked(layer.target.start).ok_or(internal)?;
            let x = before.get(layer.source.start..layer.source.start + layer.source.len);
            let y = after.get_mut(..layer.target.len);
            let (Some(x), Some(y)) = (x, y) else { return Err(internal) };
            match layer.spec {
                QuantLayerSpec::Dense { .. } => {
                    dense::forward(layer, self.arithmetic.dense(), x, y);
                }
                QuantLayerSpec::Conv2d { .. } => conv::forward(layer, self.arithmetic.conv(), x, y),
                QuantLayerSpec::MaxPool2d { window, .. } => pool::max_forward(layer, window, x, y),
                QuantLayerSpec::AvgPool2d { window, .. } => pool::avg_forward(layer, window, x, y),
                QuantLayerSpec::Flatten => {
                    for (y, &x) in y.iter_mut().zip(x) {
                        *y = x;
                    }
                }
            }
        }
        let out = self.layers.last().map(|l| l.target).ok_or(internal)?;
        arena.get(out.start..out.start + out.len).ok_or(internal)
    }
}

fn check_len(what: &'static str, found: usize, expected: usize) -> Result<(), Error> {
    if found == expected { Ok(()) } else { Err(Error::Length { what, expected, found }) }
}

#[cfg(test)]
mod tests;
