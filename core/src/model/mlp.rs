//! Two-layer perceptron: dense → ReLU → dense → softmax.
//!
//! Forward: `a = W₁x + b₁`, `h = max(a, 0)`, `z = W₂h + b₂`, `p = softmax(z)`.
//!
//! Backward, from `δz = ∂J/∂z` (see [`Objective`]):
//! `δh = W₂ᵀ δz`, `δa = δh ⊙ [a > 0]`, `∇ₓJ = W₁ᵀ δa`, and for the parameters
//! `∇W₂ = δz hᵀ`, `∇b₂ = δz`, `∇W₁ = δa xᵀ`, `∇b₁ = δa`.
//! One [`backward`](Mlp::backward) serves both the input gradient (attacks) and the parameter
//! gradient (training). Rows of `W₁` whose unit is off contribute nothing and are skipped.
//!
//! Weights use PyTorch's `nn.Linear` layout: `fc1.weight` is `[HIDDEN][IN]`, row-major.

use crate::error::Error;
use crate::linalg::{self, Matrix};
use crate::model::{
    Classifier, Evaluation, Prediction, as_array, as_array_mut, check_finite_input,
    check_finite_result,
};
use crate::objective::Objective;

/// The parameters of an [`Mlp`], owned, in the byte layout of [`Mlp::from_bytes`]
/// (`#[repr(C)]`, fields in this order, no padding between them).
///
/// The struct is aligned to 64 bytes (a cache line; it may end in padding to a multiple of
/// 64). Then no 8-float chunk of `fc1.weight` straddles two cache lines, which on x86 halves
/// the rate of the kernel's loads; a model borrowed from elsewhere (`from_bytes`,
/// `from_slices`) gives the same results, only more slowly if its weights are not aligned.
///
/// # Byte layout (what a build script writes)
/// Little-endian IEEE-754 f32, 4-byte aligned, no header, tensors back to back:
///
/// | tensor | shape | f32 values |
/// | --- | --- | --- |
/// | `fc1.weight` | `[HIDDEN][IN]`, row-major | `HIDDEN·IN` |
/// | `fc1.bias` | `[HIDDEN]` | `HIDDEN` |
/// | `fc2.weight` | `[OUT][HIDDEN]`, row-major | `OUT·HIDDEN` |
/// | `fc2.bias` | `[OUT]` | `OUT` |
///
/// At `784-64-10` the tensors are 203,560 bytes: allocate it on the heap on a host
/// (`bytemuck::zeroed_box`) or in a `static` on a device, not on a small stack.
#[repr(C, align(64))]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Zeroable)]
pub struct MlpParams<const IN: usize, const HIDDEN: usize, const OUT: usize> {
    /// `fc1.weight`, `[HIDDEN][IN]`.
    pub fc1_weight: Matrix<HIDDEN, IN>,
    /// `fc1.bias`, `[HIDDEN]`.
    pub fc1_bias: [f32; HIDDEN],
    /// `fc2.weight`, `[OUT][HIDDEN]`.
    pub fc2_weight: Matrix<OUT, HIDDEN>,
    /// `fc2.bias`, `[OUT]`.
    pub fc2_bias: [f32; OUT],
}

impl<const IN: usize, const HIDDEN: usize, const OUT: usize> MlpParams<IN, HIDDEN, OUT> {
    /// Number of f32 values in the parameters.
    pub const LEN: usize = HIDDEN * IN + HIDDEN + OUT * HIDDEN + OUT;

    /// A borrowed model over these parameters.
    pub fn as_model(&self) -> Mlp<'_, IN, HIDDEN, OUT> {
        Mlp {
            fc1_weight: &self.fc1_weight,
            fc1_bias: &self.fc1_bias,
            fc2_weight: &self.fc2_weight,
            fc2_bias: &self.fc2_bias,
        }
    }

    /// Sets every parameter to zero (e.g. to clear an accumulated gradient).
    pub fn fill_zero(&mut self) {
        self.for_each_slice_mut(|s| s.fill(0.0));
    }

    /// Calls `f` on each parameter tensor as a flat slice, in layout order.
    pub fn for_each_slice_mut(&mut self, mut f: impl FnMut(&mut [f32])) {
        f(self.fc1_weight.as_flattened_mut());
        f(&mut self.fc1_bias);
        f(self.fc2_weight.as_flattened_mut());
        f(&mut self.fc2_bias);
    }
}

/// A two-layer perceptron borrowing its weights (from an [`MlpParams`], from bytes in flash
/// via [`Mlp::from_bytes`], or from f32 slices via [`Mlp::from_slices`]). Cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct Mlp<'w, const IN: usize, const HIDDEN: usize, const OUT: usize> {
    pub(crate) fc1_weight: &'w Matrix<HIDDEN, IN>,
    pub(crate) fc1_bias: &'w [f32; HIDDEN],
    pub(crate) fc2_weight: &'w Matrix<OUT, HIDDEN>,
    pub(crate) fc2_bias: &'w [f32; OUT],
}

/// Scratch space for one pass of an [`Mlp`]: `HIDDEN` pre-activations, activations and
/// their gradient (`3·HIDDEN` floats) plus `OUT` logit gradients.
#[derive(Debug, Clone)]
pub struct MlpWorkspace<const HIDDEN: usize, const OUT: usize> {
    pub(super) pre_activation: [f32; HIDDEN],
    hidden: [f32; HIDDEN],
    pub(super) hidden_grad: [f32; HIDDEN],
    pub(super) logit_grad: [f32; OUT],
}

impl<const HIDDEN: usize, const OUT: usize> MlpWorkspace<HIDDEN, OUT> {
    /// A zeroed workspace.
    pub const fn new() -> Self {
        Self {
            pre_activation: [0.0; HIDDEN],
            hidden: [0.0; HIDDEN],
            hidden_grad: [0.0; HIDDEN],
            logit_grad: [0.0; OUT],
        }
    }

    /// The hidden activations `h` of the last forward pass.
    pub fn hidden(&self) -> &[f32; HIDDEN] {
        &self.hidden
    }
}

impl<const HIDDEN: usize, const OUT: usize> Default for MlpWorkspace<HIDDEN, OUT> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'w, const IN: usize, const HIDDEN: usize, const OUT: usize> Mlp<'w, IN, HIDDEN, OUT> {
    /// A model over four borrowed tensors. Fails if any weight is not finite.
    pub fn from_parts(
        fc1_weight: &'w Matrix<HIDDEN, IN>,
        fc1_bias: &'w [f32; HIDDEN],
        fc2_weight: &'w Matrix<OUT, HIDDEN>,
        fc2_bias: &'w [f32; OUT],
    ) -> Result<Self, Error> {
        let model = Self { fc1_weight, fc1_bias, fc2_weight, fc2_bias };
        model.check_finite()?;
        Ok(model)
    }

    /// The four tensors, in layout order.
    pub fn parts(&self) -> [&'w [f32]; 4] {
        [
            self.fc1_weight.as_flattened(),
            self.fc1_bias,
            self.fc2_weight.as_flattened(),
            self.fc2_bias,
        ]
    }

    /// `fc1.weight`, `[HIDDEN][IN]`.
    pub fn fc1_weight(&self) -> &'w Matrix<HIDDEN, IN> {
        self.fc1_weight
    }

    /// Fails with [`Error::NonFiniteWeight`] (flat index in layout order) on NaN or ∞.
    pub fn check_finite(&self) -> Result<(), Error> {
        let mut offset = 0;
        for part in self.parts() {
            if let Some(i) = linalg::first_non_finite(part) {
                return Err(Error::NonFiniteWeight { index: offset + i });
            }
            offset += part.len();
        }
        Ok(())
    }

    /// Forward pass: fills the workspace's activations and returns the prediction.
    pub(super) fn forward(
        &self,
        x: &[f32; IN],
        ws: &mut MlpWorkspace<HIDDEN, OUT>,
    ) -> Result<Prediction<OUT>, Error> {
        check_finite_input(x)?;
        linalg::matvec(self.fc1_weight, x, self.fc1_bias, &mut ws.pre_activation);
        self.forward_from_pre_activation(ws)
    }

    /// The rest of the forward pass once `ws.pre_activation = W₁x + b₁` is known.
    pub(super) fn forward_from_pre_activation(
        &self,
        ws: &mut MlpWorkspace<HIDDEN, OUT>,
    ) -> Result<Prediction<OUT>, Error> {
        for (h, &a) in ws.hidden.iter_mut().zip(&ws.pre_activation) {
            *h = linalg::relu(a);
        }
        let mut logits = [0.0; OUT];
        linalg::matvec(self.fc2_weight, &ws.hidden, self.fc2_bias, &mut logits);
        Prediction::from_logits(&logits)
    }

    /// Backpropagates `ws.logit_grad` from the last [`forward`](Self::forward) at `x`:
    /// writes `∇ₓJ` to `input_grad` and/or **adds** the parameter gradient to `param_grad`.
    pub(super) fn backward(
        &self,
        x: &[f32; IN],
        ws: &mut MlpWorkspace<HIDDEN, OUT>,
        input_grad: Option<&mut [f32; IN]>,
        param_grad: Option<&mut MlpParams<IN, HIDDEN, OUT>>,
    ) {
        self.backward_to_hidden(ws);
        if let Some(grad) = input_grad {
            linalg::transposed::matvec_transposed_batch(self.fc1_weight, [&ws.hidden_grad], [grad]);
        }
        if let Some(p) = param_grad {
            for ((row, b), &g) in p.fc2_weight.iter_mut().zip(&mut p.fc2_bias).zip(&ws.logit_grad) {
                if g != 0.0 {
                    linalg::add_scaled(row, g, &ws.hidden);
                    *b += g;
                }
            }
            for ((row, b), &g) in p.fc1_weight.iter_mut().zip(&mut p.fc1_bias).zip(&ws.hidden_grad)
            {
                if g != 0.0 {
                    linalg::add_scaled(row, g, x);
                    *b += g;
                }
            }
        }
    }

    /// `δa = (W₂ᵀ δz) ⊙ [a > 0]` into `ws.hidden_grad`, from `ws.logit_grad`.
    pub(super) fn backward_to_hidden(&self, ws: &mut MlpWorkspace<HIDDEN, OUT>) {
        ws.hidden_grad.fill(0.0);
        linalg::matvec_transposed_acc(self.fc2_weight, &ws.logit_grad, &mut ws.hidden_grad);
        for (g, &a) in ws.hidden_grad.iter_mut().zip(&ws.pre_activation) {
            if a <= 0.0 {
                *g = 0.0;
            }
        }
    }

    /// [`Classifier::input_gradient`] for `B` inputs at once, each with its own objective,
    /// workspace and gradient: the same bits as `B` single calls (tested), but `W₁` is
    /// streamed once per batch instead of once per input (see
    /// [`linalg::matvec_batch`]). Fails if any input fails; the error is the first one.
    pub fn input_gradients<const B: usize>(
        &self,
        xs: [&[f32; IN]; B],
        objectives: [Objective; B],
        ws: &mut [MlpWorkspace<HIDDEN, OUT>; B],
        gradients: [&mut [f32; IN]; B],
    ) -> Result<[Evaluation<OUT>; B], Error> {
        for x in xs {
            check_finite_input(x)?;
        }
        let pre = ws.each_mut().map(|w| &mut w.pre_activation);
        linalg::matvec_batch(self.fc1_weight, xs, self.fc1_bias, pre);
        let mut evaluations = [Evaluation::<OUT>::EMPTY; B];
        for ((w, objective), evaluation) in ws.iter_mut().zip(objectives).zip(&mut evaluations) {
            let prediction = self.forward_from_pre_activation(w)?;
            let value = objective.evaluate(&prediction, &mut w.logit_grad)?;
            self.backward_to_hidden(w);
            *evaluation = Evaluation { prediction, objective: value };
        }
        let mut gradients = gradients;
        let hidden_grads = ws.each_ref().map(|w| &w.hidden_grad);
        linalg::transposed::matvec_transposed_batch(
            self.fc1_weight,
            hidden_grads,
            gradients.each_mut().map(|g| &mut **g),
        );
        for g in &gradients {
            check_finite_result(&g[..])?;
        }
        Ok(evaluations)
    }

    /// Adds `∇_θ J` for `objective` at `x` to `grad` (so a mini-batch sums by repeated
    /// calls), and returns the prediction and `J`. Training minimises
    /// `Objective::Untargeted { true_class: label }`, the cross-entropy.
    pub fn accumulate_parameter_gradient(
        &self,
        x: &[f32; IN],
        objective: Objective,
        ws: &mut MlpWorkspace<HIDDEN, OUT>,
        grad: &mut MlpParams<IN, HIDDEN, OUT>,
    ) -> Result<Evaluation<OUT>, Error> {
        let evaluation = self.evaluate_objective_in(x, objective, ws)?;
        self.backward(x, ws, None, Some(grad));
        Ok(evaluation)
    }
}

impl<const IN: usize, const HIDDEN: usize, const OUT: usize> Classifier<OUT>
    for Mlp<'_, IN, HIDDEN, OUT>
{
    type Workspace = MlpWorkspace<HIDDEN, OUT>;

    fn input_len(&self) -> usize {
        IN
    }

    fn classes(&self) -> usize {
        OUT
    }

    fn workspace(&self) -> Self::Workspace {
        MlpWorkspace::new()
    }

    fn predict(&self, x: &[f32], ws: &mut Self::Workspace) -> Result<Prediction<OUT>, Error> {
        self.forward(as_array(x, "input")?, ws)
    }

    fn input_gradient(
        &self,
        x: &[f32],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32],
    ) -> Result<Evaluation<OUT>, Error> {
        let x = as_array(x, "input")?;
        let gradient = as_array_mut(gradient, "input gradient")?;
        let evaluation = self.evaluate_objective_in(x, objective, ws)?;
        self.backward(x, ws, Some(gradient), None);
        check_finite_result(gradient)?;
        Ok(evaluation)
    }

    fn evaluate_objective(
        &self,
        x: &[f32],
        objective: Objective,
        ws: &mut Self::Workspace,
    ) -> Result<Evaluation<OUT>, Error> {
        self.evaluate_objective_in(as_array(x, "input")?, objective, ws)
    }

    fn step_then_evaluate<U>(
        &self,
        x: &mut [f32],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32],
        elementwise: bool,
        update: U,
    ) -> Result<Evaluation<OUT>, Error>
    where
        U: FnMut(usize, &mut [f32], &[f32]),
    {
        let x = as_array_mut(x, "input")?;
        let gradient = as_array_mut(gradient, "input gradient")?;
        self.step_then_evaluate_in(x, objective, ws, gradient, elementwise, update)
    }
}
