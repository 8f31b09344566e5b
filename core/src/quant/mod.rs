//! int8 networks with TensorFlow Lite's integer arithmetic, bit for bit.
//!
//! The device runs TensorFlow Lite Micro, whose reference kernels are the oracle: every
//! function here states the TFLite source it follows. The pieces, one per file:
//!
//! * [`fixed_point`]: requantization of an int32 accumulator by a Q0.31 multiplier
//!   (`MultiplyByQuantizedMultiplier`), rounded twice as TFLM does or once
//!   ([`Rounding`]);
//! * [`multiplier`]: a real multiplier as a Q0.31 significand and a shift
//!   (`QuantizeMultiplier`);
//! * [`affine`]: f32 ↔ int8 (QUANTIZE, DEQUANTIZE);
//! * [`QuantNetwork`]: a sequential int8 network — FULLY_CONNECTED and CONV_2D with
//!   per-channel symmetric int8 weights and int32 biases, MAX_POOL_2D, AVERAGE_POOL_2D,
//!   flatten, fused NONE/RELU/RELU6/RELU_N1_TO_1 — validated once, weights viewed in place,
//!   one caller-owned int8 arena;
//! * its float twin (`twin` methods): the same layers with dequantized weights, a float
//!   [`Network`](crate::Network) for gradients;
//! * [`QuantClassifier`]: the int8 network as a [`Classifier`](crate::Classifier) whose
//!   gradients come from the twin (BPDA), so every attack runs on what ships.

pub mod affine;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
mod arm;
pub mod classifier;
mod conv;
mod dense;
pub mod fixed_point;
pub mod format;
pub mod multiplier;
pub mod network;
mod pool;
mod twin;

/// The int8 dot-product loops of dense and convolution layers on this target (for logs):
/// `"smlad"` (the DSP extension's dual 16-bit multiply-accumulate, on the hard-float Arm
/// targets: Cortex-M4F and M7; see `arm.rs`) or `"portable"`.
pub const DOT_KERNEL: &str =
    if cfg!(all(target_arch = "arm", target_abi = "eabihf")) { "smlad" } else { "portable" };

pub use affine::{Quantization, dequantize, quantize};
pub use classifier::{Int8Storage, QuantClassifier, QuantWorkspace};
pub use fixed_point::{
    Rounding, multiply_by_quantized_multiplier, multiply_by_quantized_multiplier_single,
    rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
};
pub use multiplier::{QuantizedMultiplier, effective_multiplier, quantize_multiplier};
pub use network::{Activation, Arithmetic, QuantLayer, QuantLayerSpec, QuantNetwork, QuantParams};
