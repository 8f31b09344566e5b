//! The one error type of the kernel.
//!
//! Every way the kernel can be handed bad input maps to a variant here, so that firmware
//! and host alike get a value to report instead of a panic.

use core::fmt;

use crate::network::NetworkProblem;

/// Everything that can go wrong in the kernel.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// An input element is NaN or infinite.
    NonFiniteInput {
        /// Index of the first offending element.
        index: usize,
    },
    /// An input element lies outside the attack's bounds.
    InputOutOfBounds {
        /// Index of the first offending element.
        index: usize,
    },
    /// A model parameter is NaN or infinite.
    NonFiniteWeight {
        /// Index of the first offending value in the model's flat layout.
        index: usize,
    },
    /// A class index is not below the number of classes.
    ClassOutOfRange {
        /// The class asked for.
        class: usize,
        /// How many classes the model has.
        classes: usize,
    },
    /// A targeted attack was asked to reach the class the input already belongs to.
    TargetIsTrueClass {
        /// The class given as both source and target.
        class: usize,
    },
    /// A hyperparameter is out of its valid range (e.g. step ≤ 0, ε < 0, iterations = 0).
    InvalidParameter {
        /// The parameter's name, as in the API.
        name: &'static str,
        /// What it must satisfy.
        expected: &'static str,
    },
    /// A computed value (logit, probability or gradient) is not finite.
    NonFiniteResult,
    /// A byte buffer has the wrong length for the model it should hold.
    ByteLength {
        /// The length the layout needs.
        expected: usize,
        /// The length that was given.
        found: usize,
    },
    /// A byte buffer does not start on the alignment the layout needs.
    Misaligned {
        /// The alignment the layout needs, in bytes.
        required: usize,
    },
    /// A network description is inconsistent (see [`NetworkProblem`]).
    InvalidNetwork {
        /// The offending layer (0-based), or `None` for the header or the network as a whole.
        layer: Option<usize>,
        /// What is wrong.
        problem: NetworkProblem,
    },
    /// A buffer handed to a network has the wrong number of elements.
    Length {
        /// Which buffer: `"input"`, `"logit gradient"`, `"input gradient"`, ….
        what: &'static str,
        /// The number of elements the network needs.
        expected: usize,
        /// The number of elements given.
        found: usize,
    },
    /// A model has more classes than the predictions' capacity (`OUT` of
    /// [`Prediction`](crate::Prediction)), or none.
    ClassCapacity {
        /// How many classes the model has.
        classes: usize,
        /// How many a prediction can hold.
        capacity: usize,
    },
    /// The caller's arena is smaller than the network's
    /// [`arena_len`](crate::network::Network::arena_len).
    ArenaTooSmall {
        /// f32 elements needed.
        needed: usize,
        /// f32 elements given.
        found: usize,
    },
    /// The caller's int8 arena is smaller than the int8 network's
    /// [`arena_len`](crate::quant::QuantNetwork::arena_len).
    Int8ArenaTooSmall {
        /// int8 elements needed.
        needed: usize,
        /// int8 elements given.
        found: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NonFiniteInput { index } => write!(f, "input element {index} is not finite"),
            Error::InputOutOfBounds { index } => {
                write!(f, "input element {index} lies outside the attack bounds")
            }
            Error::NonFiniteWeight { index } => {
                write!(f, "model parameter {index} is not finite")
            }
            Error::ClassOutOfRange { class, classes } => {
                write!(f, "class {class} is out of range (the model has {classes} classes)")
            }
            Error::TargetIsTrueClass { class } => {
                write!(f, "target class {class} is the input's own class")
            }
            Error::InvalidParameter { name, expected } => {
                write!(f, "parameter `{name}` must be {expected}")
            }
            Error::NonFiniteResult => write!(f, "a logit, probability or gradient is not finite"),
            Error::ByteLength { expected, found } => {
                write!(f, "model bytes have length {found}, expected {expected}")
            }
            Error::Misaligned { required } => {
                write!(f, "model bytes are not aligned to {required} bytes")
            }
            Error::InvalidNetwork { layer: Some(layer), problem } => {
                write!(f, "layer {layer}: {problem}")
            }
            Error::InvalidNetwork { layer: None, problem } => write!(f, "network: {problem}"),
            Error::Length { what, expected, found } => {
                write!(f, "{what} has {found} elements, the model needs {expected}")
            }
            Error::ClassCapacity { classes, capacity } => {
                write!(f, "the model has {classes} classes; predictions hold from 1 to {capacity}")
            }
            Error::ArenaTooSmall { needed, found } => {
                write!(f, "arena has {found} f32 elements, the network needs {needed}")
            }
            Error::Int8ArenaTooSmall { needed, found } => {
                write!(f, "int8 arena has {found} elements, the network needs {needed}")
            }
        }
    }
}

impl core::error::Error for Error {}
