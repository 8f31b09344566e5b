#![doc = include_str!("../README.md")]
#![no_std]
// The only `unsafe` is the Cortex-M4F inner loops in `linalg/arm.rs` (inline assembly,
// compiled for that target only); everything else is safe code.
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::pedantic)]
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::module_name_repetitions,
    clippy::must_use_candidate,
    clippy::similar_names,
    clippy::many_single_char_names,
    clippy::missing_errors_doc,
    // Prose names like PyTorch and ReLU are not code.
    clippy::doc_markdown,
    // Exact float comparison is deliberate here: bit-identity is the contract.
    clippy::float_cmp
)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod attack;
pub mod error;
pub mod linalg;
pub mod math;
pub mod model;
pub mod network;
pub mod objective;
pub mod quant;
pub mod rng;
pub mod storage;

pub use attack::{
    Apgd, ApgdL2, ApgdLinf, ApgdLoss, Attack, AttackReport, AutoAttack, Bounds, EarlyStop, Fgsm,
    GradientAscent, Pgd, PgdL2, PgdLinf, Square, TraceStep,
};
pub use error::Error;
pub use model::{Classifier, LogisticRegression, Mlp, MlpParams, MlpWorkspace, Prediction};
pub use network::{LayerSpec, Network, Shape, Window};
pub use objective::{Goal, Objective};
pub use storage::ArenaStorage;
