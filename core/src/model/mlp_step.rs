//! The attack step of an [`Mlp`]: backward pass, update and the next forward pass, fused.
//!
//! A step needs `∇ₓJ = W₁ᵀ δa` (reading the active rows of `W₁`) and then, at the updated
//! input, `W₁x + b₁` (reading all of it). `W₁` is 200 KB at `784-64-10`: more than L1, so
//! done one after the other the two passes each stream it from L2. When the update is
//! element-wise, both are done one block of columns at a time instead — the gradient of
//! the block, its update, and its share of every row's lane sums — and the block of `W₁`
//! (24 KB) is still in L1 for the forward pass. Every sum is accumulated in the order
//! documented in [`linalg`](crate::linalg), so the result is the same bits (tested). Only
//! with AVX; other targets do the passes one after the other.

use super::mlp::{Mlp, MlpWorkspace};
use super::{Evaluation, check_finite_input, check_finite_result};
use crate::error::Error;
use crate::linalg::matvec::{accumulate_columns, accumulate_tail};
use crate::linalg::reduce::combine_lanes_of_rows;
use crate::linalg::transposed::{
    ActiveRows, BLOCK_CHUNKS, Start, add_rows_to_columns, add_rows_to_tail,
};
use crate::linalg::{self, LANES};
use crate::objective::Objective;

impl<const IN: usize, const HIDDEN: usize, const OUT: usize> Mlp<'_, IN, HIDDEN, OUT> {
    /// [`Classifier::evaluate_objective`](crate::Classifier::evaluate_objective): the
    /// forward pass, keeping `∂J/∂z` in the workspace.
    pub(super) fn evaluate_objective_in(
        &self,
        x: &[f32; IN],
        objective: Objective,
        ws: &mut MlpWorkspace<HIDDEN, OUT>,
    ) -> Result<Evaluation<OUT>, Error> {
        let prediction = self.forward(x, ws)?;
        let objective = objective.evaluate(&prediction, &mut ws.logit_grad)?;
        Ok(Evaluation { prediction, objective })
    }

    /// [`Classifier::step_then_evaluate`](crate::Classifier::step_then_evaluate).
    pub(super) fn step_then_evaluate_in(
        &self,
        x: &mut [f32; IN],
        objective: Objective,
        ws: &mut MlpWorkspace<HIDDEN, OUT>,
        gradient: &mut [f32; IN],
        elementwise: bool,
        mut update: impl FnMut(usize, &mut [f32], &[f32]),
    ) -> Result<Evaluation<OUT>, Error> {
        // The fused loops pay only with AVX's sixteen 8-float registers: with 16-byte
        // registers their per-block overhead costs more than the second stream of `W₁`
        // (100 steps at 784-64-10: 706 µs fused, 614 µs in separate passes), and without
        // a cache (the Cortex-M4F) there is nothing to save.
        if !elementwise || !cfg!(target_feature = "avx") {
            self.backward(x, ws, Some(gradient), None);
            check_finite_result(gradient)?;
            update(0, x, gradient);
            return self.evaluate_objective_in(x, objective, ws);
        }
        self.backward_to_hidden(ws);
        let active = ActiveRows::of(self.fc1_weight, &ws.hidden_grad);
        let mut lane_sums = [[0.0f32; LANES]; HIDDEN];
        let whole_chunks = IN / LANES;
        let mut first = 0;
        while first < whole_chunks {
            let end = (first + BLOCK_CHUNKS).min(whole_chunks);
            add_rows_to_columns(&active, 0..active.len, first..end, gradient, Start::Zero);
            update_block(x, gradient, first * LANES..end * LANES, &mut update)?;
            accumulate_columns(self.fc1_weight, x, first..end, &mut lane_sums);
            first = end;
        }
        add_rows_to_tail(&active, 0..active.len, gradient, Start::Zero);
        update_block(x, gradient, whole_chunks * LANES..IN, &mut update)?;
        accumulate_tail(self.fc1_weight, x, &mut lane_sums);
        check_finite_input(x)?;
        let sums = combine_lanes_of_rows(lane_sums);
        for ((a, s), b) in ws.pre_activation.iter_mut().zip(sums).zip(self.fc1_bias) {
            *a = s + b;
        }
        let prediction = self.forward_from_pre_activation(ws)?;
        let objective = objective.evaluate(&prediction, &mut ws.logit_grad)?;
        Ok(Evaluation { prediction, objective })
    }
}

/// Checks the gradient of `x[range]` and hands both to `update` (also the fused step of a
/// [`Network`](crate::Network)).
pub(crate) fn update_block(
    x: &mut [f32],
    gradient: &[f32],
    range: core::ops::Range<usize>,
    update: &mut impl FnMut(usize, &mut [f32], &[f32]),
) -> Result<(), Error> {
    let start = range.start;
    let g = gradient.get(range.clone()).unwrap_or(&[]);
    if linalg::first_non_finite(g).is_some() {
        return Err(Error::NonFiniteResult);
    }
    update(start, x.get_mut(range).unwrap_or(&mut []), g);
    Ok(())
}
