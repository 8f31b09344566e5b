//! What can be wrong with a network description, as a value (no strings, no allocation).

use core::fmt;

/// Why a network description was refused; carried by
/// [`Error::InvalidNetwork`](crate::Error::InvalidNetwork) with the layer it concerns.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NetworkProblem {
    /// The bytes do not start with the nudge network magic `NDGN`.
    BadMagic,
    /// The format version is not one this kernel reads.
    UnsupportedVersion {
        /// The version in the header.
        found: u32,
    },
    /// The network has no layers.
    NoLayers,
    /// More layers than [`MAX_LAYERS`](super::MAX_LAYERS).
    TooManyLayers,
    /// A layer record has a kind this kernel does not know.
    UnknownLayerKind {
        /// The kind code in the record.
        kind: u32,
    },
    /// A layer record sets a field its kind does not use (must be 0).
    UnusedFieldSet,
    /// A size is 0, or so large that it exceeds [`MAX_ELEMENTS`](super::MAX_ELEMENTS).
    BadSize,
    /// A dense layer follows a layer whose output is not flat (add a flatten layer).
    NeedsFlatInput,
    /// A window (kernel) is larger than its padded input.
    KernelLargerThanInput,
    /// A convolution's padding is not smaller than its kernel.
    PaddingNotBelowKernel,
    /// The last layer's output is not a flat vector of logits.
    OutputNotFlat,
    /// The last layer has fewer than two outputs.
    TooFewClasses,
    /// A quantization is not valid for int8: a scale that is not finite and positive, or a
    /// zero point outside `−128..=127`.
    BadQuantization,
    /// An output channel's requantization multiplier `input scale · weight scale / output
    /// scale` is 2³⁰ or more (TFLite's kernels cannot apply it).
    MultiplierOutOfRange {
        /// The output channel.
        channel: usize,
    },
    /// An int8 layer has a fused activation the float network cannot express
    /// (RELU_N1_TO_1), so the int8 network has no float twin.
    NoFloatTwin,
    /// The parameter count in the header is not what the layers need.
    ParameterCount {
        /// What the layers need.
        expected: usize,
        /// What the header says.
        found: usize,
    },
}

impl fmt::Display for NetworkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NetworkProblem::BadMagic => write!(f, "not a nudge network (magic `NDGN` missing)"),
            NetworkProblem::UnsupportedVersion { found } => {
                write!(f, "format version {found} is not supported (this kernel reads 1)")
            }
            NetworkProblem::NoLayers => write!(f, "no layers"),
            NetworkProblem::TooManyLayers => {
                write!(f, "more than {} layers", super::MAX_LAYERS)
            }
            NetworkProblem::UnknownLayerKind { kind } => write!(f, "unknown layer kind {kind}"),
            NetworkProblem::UnusedFieldSet => {
                write!(f, "a field this layer kind does not use is set")
            }
            NetworkProblem::BadSize => write!(f, "a size is zero or too large"),
            NetworkProblem::NeedsFlatInput => {
                write!(f, "a dense layer needs a flat input (add a flatten layer before it)")
            }
            NetworkProblem::KernelLargerThanInput => {
                write!(f, "the window is larger than the (padded) input")
            }
            NetworkProblem::PaddingNotBelowKernel => {
                write!(f, "padding must be smaller than the kernel")
            }
            NetworkProblem::OutputNotFlat => {
                write!(f, "the last layer's output is not flat (end with a dense layer or flatten)")
            }
            NetworkProblem::TooFewClasses => write!(f, "the network has fewer than 2 outputs"),
            NetworkProblem::BadQuantization => write!(
                f,
                "a quantization scale is not finite and positive, or a zero point is outside -128..=127"
            ),
            NetworkProblem::MultiplierOutOfRange { channel } => write!(
                f,
                "output channel {channel}: input scale x weight scale / output scale is 2^30 or more"
            ),
            NetworkProblem::NoFloatTwin => {
                write!(f, "a fused RELU_N1_TO_1 has no float layer: no float twin")
            }
            NetworkProblem::ParameterCount { expected, found } => {
                write!(f, "the header counts {found} parameters, the layers need {expected}")
            }
        }
    }
}
