//! Fixed-size f32 linear algebra with a fixed summation order.
//!
//! # Storage order
//! A [`Matrix<R, C>`] is `R` rows of `C` columns, **row-major**: element `(r, c)` is
//! `m[r][c]`, and the rows are contiguous in memory. This is PyTorch's `nn.Linear.weight`
//! layout (`[out_features, in_features]`).
//!
//! # Summation order (the contract that makes host and device agree bit for bit)
//! * A dot product of length `N` keeps [`LANES`] independent partial sums: element `i` is
//!   added to partial sum `i % LANES`, in increasing `i`. The partial sums are then combined
//!   by the fixed tree in [`reduce::combine_lanes`]. See [`reduce::dot`].
//! * A transposed product `out += Mᵀ v` adds the rows of `M`, scaled by `v[r]`, in increasing
//!   row order `r`; rows with `v[r] == 0` are skipped (exact: adding `±0` to a sum that
//!   started at `+0` never changes it). See [`transposed`].
//! * Nothing uses fused multiply-add: every product is rounded to f32 before it is added,
//!   exactly as Rust's `a * b + c` specifies, on every target.
//!
//! Loops may be blocked (several rows at a time) for speed, but blocking never changes the
//! order in which any one sum is accumulated, so results do not depend on the target.

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
mod arm;
pub mod elementwise;
pub mod matvec;
pub mod norms;
pub mod reduce;
pub mod transposed;

pub use elementwise::{add_scaled, clamp, clamp_scalar, copy, first_non_finite, relu, sign};
pub use matvec::{matvec, matvec_batch};
pub use norms::{l0_distance, l2_distance, l2_norm, linf_distance};
pub use reduce::{LANES, dot, sum_squares};
pub use transposed::{matvec_transposed_acc, matvec_transposed_acc_batch};

/// A row-major matrix of `R` rows and `C` columns; see the [module docs](self).
pub type Matrix<const R: usize, const C: usize> = [[f32; C]; R];
