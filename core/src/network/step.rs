//! The attack step of a network whose first layer is dense, fused as [`Mlp`](crate::Mlp)'s.
//!
//! A step needs `∇ₓJ = W₁ᵀ δ` (`δ = ∂J/∂y₁` at the first layer's output, reading the rows of
//! `W₁` with `δ ≠ 0`) and then, at the updated input, `y₁ = W₁x + b₁` (reading all of
//! `W₁`). When the update is element-wise both are done one block of columns at a time —
//! the block's gradient, its update, and its share of every row's lane sums — so the block
//! of `W₁` is still in L1 for the forward pass, and `W₁` is streamed once per step instead
//! of twice (see `model/mlp_step.rs`). Every sum is accumulated in the order of the dense
//! layer's own passes, so the result is the same bits (tested). Only with AVX, as `Mlp`'s.

use super::{LayerSpec, Network, Slot, forward_layer, slot};
use crate::error::Error;
use crate::linalg::LANES;
use crate::linalg::matvec::{accumulate_columns_slice, accumulate_tail_slice};
use crate::linalg::reduce::{combine_lanes, combine_lanes_of_rows};
use crate::linalg::transposed::{
    ActiveRows, BLOCK_CHUNKS, Start, add_rows_to_columns, add_rows_to_tail,
};
use crate::model::check_finite_input;
use crate::model::mlp_step::update_block;

/// Most outputs of a first dense layer that the fused step takes: its lane sums and active
/// rows live on the stack (8 KB and 5 KB at this size).
const MAX_FUSED_ROWS: usize = 256;

impl Network<'_> {
    /// Whether [`fused_step`](Self::fused_step) applies: with AVX, the first layer that
    /// computes anything is dense on the input and has at most [`MAX_FUSED_ROWS`] outputs.
    pub(super) fn can_fuse_step(&self) -> bool {
        cfg!(target_feature = "avx") && self.fused_layer().is_some()
    }

    /// The index of the dense layer the step fuses: the first after any Flatten of the input.
    fn fused_layer(&self) -> Option<usize> {
        let index = self.layers.iter().position(|l| l.spec != LayerSpec::Flatten)?;
        let layer = self.layers.get(index)?;
        let dense = matches!(layer.spec, LayerSpec::Dense { .. });
        (dense && layer.source == Slot::Input && layer.output.len() <= MAX_FUSED_ROWS)
            .then_some(index)
    }

    /// From the forward pass at `x` that `arena` holds and `logit_grad = ∂J/∂z`: writes
    /// `∇ₓJ` to `gradient`, lets `update` change `x` block by block (as
    /// [`Classifier::step_then_evaluate`](crate::Classifier::step_then_evaluate) with
    /// `elementwise`), and leaves the forward pass at the updated `x` in `arena`; returns the
    /// logits. Fails with [`Error::InvalidParameter`] if the step cannot be fused
    /// ([`can_fuse_step`](Self::can_fuse_step)), else like the separate passes.
    pub(super) fn fused_step<'a>(
        &self,
        x: &'a mut [f32],
        arena: &'a mut [f32],
        logit_grad: &[f32],
        gradient: &mut [f32],
        update: &mut impl FnMut(usize, &mut [f32], &[f32]),
    ) -> Result<&'a [f32], Error> {
        let not_fusable = Error::InvalidParameter { name: "network", expected: "a fusable step" };
        let index = self.fused_layer().ok_or(not_fusable)?;
        let layer = self.layers.get(index).ok_or(not_fusable)?;
        let Slot::Arena { start, len: rows } = layer.target else {
            return Err(not_fusable);
        };
        let internal = Error::ArenaTooSmall { needed: self.arena_len(), found: arena.len() };
        if gradient.len() != x.len() {
            return Err(Error::Length {
                what: "gradient",
                expected: x.len(),
                found: gradient.len(),
            });
        }
        let offset = self.backward_layers(x, arena, logit_grad, index + 1, None, None)?;
        let (activations, grads) = arena.split_at_mut_checked(offset).ok_or(internal)?;
        let delta = grads.get(..rows).ok_or(internal)?;

        let n = x.len();
        let mut active = layer.weight.chunks_exact(n.max(1)).zip(delta);
        let active = ActiveRows::<MAX_FUSED_ROWS>::next(&mut active);
        let mut all_sums = [[0.0f32; LANES]; MAX_FUSED_ROWS];
        let sums = all_sums.get_mut(..rows).ok_or(not_fusable)?;
        let whole_chunks = n / LANES;
        let mut first = 0;
        while first < whole_chunks {
            let end = (first + BLOCK_CHUNKS).min(whole_chunks);
            add_rows_to_columns(&active, 0..active.len, first..end, gradient, Start::Zero);
            update_block(x, gradient, first * LANES..end * LANES, update)?;
            accumulate_columns_slice(layer.weight, x, first..end, sums);
            first = end;
        }
        add_rows_to_tail(&active, 0..active.len, gradient, Start::Zero);
        update_block(x, gradient, whole_chunks * LANES..n, update)?;
        accumulate_tail_slice(layer.weight, x, sums);
        check_finite_input(x)?;

        let y = activations.get_mut(start..start + rows).ok_or(internal)?;
        let (y_blocks, y_tail) = y.as_chunks_mut::<8>();
        let (sum_blocks, sum_tail) = sums.as_chunks::<8>();
        for (y, s) in y_blocks.iter_mut().zip(sum_blocks) {
            *y = combine_lanes_of_rows(*s);
        }
        for (y, &s) in y_tail.iter_mut().zip(sum_tail) {
            *y = combine_lanes(s);
        }
        for (y, b) in y.iter_mut().zip(layer.bias) {
            *y += b;
        }
        for later in self.layers.iter().skip(index + 1) {
            forward_layer(later, x, activations)?;
        }
        let logits = self.layers.last().map(|l| l.target).ok_or(internal)?;
        slot(logits, x, activations).ok_or(internal)
    }
}
