//! A [`Network`] as a [`Classifier`], so that every attack runs on it unchanged.
//!
//! The trait's sizes are compile-time (`IN` inputs, `OUT` classes); a network's are checked
//! against them once, by [`Network::classifier`]. The workspace is an arena of the caller's
//! choosing ([`ArenaStorage`]): a fixed array on a device, a heap buffer on a host.

use core::marker::PhantomData;

use super::Network;
use crate::error::Error;
use crate::model::{Classifier, Evaluation, Prediction, check_finite_result};
use crate::objective::Objective;

/// Storage that can serve as a network's arena: `len` f32 elements, zeroed.
///
/// Implemented for `[f32; N]` (a fixed buffer: `zeroed` ignores `len`, and a pass fails with
/// [`Error::ArenaTooSmall`] if `N` is too small — [`Network::classifier`] checks that up
/// front), and with the `alloc` feature for `Vec<f32>` (exactly `len`).
pub trait ArenaStorage {
    /// A zeroed arena of at least `len` elements, if this storage can hold that many.
    fn zeroed(len: usize) -> Self;
    /// The elements.
    fn as_mut_slice(&mut self) -> &mut [f32];
    /// Whether `zeroed(len)` holds at least `len` elements.
    fn can_hold(len: usize) -> bool;
}

impl<const N: usize> ArenaStorage for [f32; N] {
    fn zeroed(_len: usize) -> Self {
        [0.0; N]
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        self
    }
    fn can_hold(len: usize) -> bool {
        len <= N
    }
}

/// A heap arena of exactly the length asked for (feature `alloc`).
#[cfg(feature = "alloc")]
impl ArenaStorage for alloc::vec::Vec<f32> {
    fn zeroed(len: usize) -> Self {
        alloc::vec![0.0; len]
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        self
    }
    fn can_hold(_len: usize) -> bool {
        true
    }
}

/// Scratch space of a [`NetworkClassifier`]: the arena and the logit gradient.
#[derive(Debug, Clone)]
pub struct NetworkWorkspace<A, const OUT: usize> {
    /// The network's arena.
    pub arena: A,
    logit_grad: [f32; OUT],
}

impl<A: ArenaStorage, const OUT: usize> NetworkWorkspace<A, OUT> {
    /// A zeroed workspace for `network`.
    pub fn new(network: &Network<'_>) -> Self {
        Self { arena: A::zeroed(network.arena_len()), logit_grad: [0.0; OUT] }
    }

    /// A workspace over `arena`, in a `const` context (a firmware `static`): size the array
    /// with the network's [`arena_len`](Network::arena_len), computed by a build script.
    pub const fn with_arena(arena: A) -> Self {
        Self { arena, logit_grad: [0.0; OUT] }
    }
}

/// A network of `IN` inputs and `OUT` classes, with arenas of type `A`; made by
/// [`Network::classifier`]. It holds a copy of the network (a few hundred bytes: the layer
/// list; the weights stay borrowed).
#[derive(Debug, Clone)]
pub struct NetworkClassifier<'w, A, const IN: usize, const OUT: usize> {
    network: Network<'w>,
    arena: PhantomData<fn() -> A>,
}

impl<'w> Network<'w> {
    /// This network as a [`Classifier<IN, OUT>`], with workspaces of arena type `A`. Fails
    /// with [`Error::Length`] if the network does not take `IN` inputs or give `OUT`
    /// logits, or [`Error::ArenaTooSmall`] if `A` cannot hold [`arena_len`](Self::arena_len).
    pub fn classifier<A: ArenaStorage, const IN: usize, const OUT: usize>(
        &self,
    ) -> Result<NetworkClassifier<'w, A, IN, OUT>, Error> {
        if self.input_len() != IN {
            return Err(Error::Length { what: "input", expected: self.input_len(), found: IN });
        }
        if self.classes() != OUT {
            return Err(Error::Length { what: "logits", expected: self.classes(), found: OUT });
        }
        if !A::can_hold(self.arena_len()) {
            return Err(Error::ArenaTooSmall { needed: self.arena_len(), found: 0 });
        }
        Ok(NetworkClassifier { network: self.clone(), arena: PhantomData })
    }
}

impl<'w, A: ArenaStorage, const IN: usize, const OUT: usize> NetworkClassifier<'w, A, IN, OUT> {
    /// The network.
    pub fn network(&self) -> &Network<'w> {
        &self.network
    }

    /// Adds `∇θJ` for `objective` at `x` to `grad` (the network's parameter layout), and
    /// returns the prediction and `J`. Training minimises `Objective::Untargeted`, the
    /// cross-entropy.
    pub fn accumulate_parameter_gradient(
        &self,
        x: &[f32; IN],
        objective: Objective,
        ws: &mut NetworkWorkspace<A, OUT>,
        grad: &mut [f32],
    ) -> Result<Evaluation<OUT>, Error> {
        let evaluation = self.evaluate(x, objective, ws)?;
        let arena = ws.arena.as_mut_slice();
        self.network.backward(x, arena, &ws.logit_grad, None, Some(grad))?;
        Ok(evaluation)
    }

    /// Forward pass and `J`, leaving `∂J/∂z` in the workspace.
    fn evaluate(
        &self,
        x: &[f32; IN],
        objective: Objective,
        ws: &mut NetworkWorkspace<A, OUT>,
    ) -> Result<Evaluation<OUT>, Error> {
        let prediction = self.predict(x, ws)?;
        let value = objective.evaluate(&prediction, &mut ws.logit_grad)?;
        Ok(Evaluation { prediction, objective: value })
    }
}

impl<A: ArenaStorage, const IN: usize, const OUT: usize> Classifier<IN, OUT>
    for NetworkClassifier<'_, A, IN, OUT>
{
    type Workspace = NetworkWorkspace<A, OUT>;

    fn workspace(&self) -> Self::Workspace {
        NetworkWorkspace::new(&self.network)
    }

    fn predict(&self, x: &[f32; IN], ws: &mut Self::Workspace) -> Result<Prediction<OUT>, Error> {
        let logits = self.network.forward(x, ws.arena.as_mut_slice())?;
        let mut z = [0.0; OUT];
        crate::linalg::copy(&mut z, logits);
        Prediction::from_logits(z)
    }

    fn input_gradient(
        &self,
        x: &[f32; IN],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32; IN],
    ) -> Result<Evaluation<OUT>, Error> {
        let evaluation = self.evaluate(x, objective, ws)?;
        let arena = ws.arena.as_mut_slice();
        self.network.backward(x, arena, &ws.logit_grad, Some(gradient), None)?;
        check_finite_result(gradient)?;
        Ok(evaluation)
    }

    /// Keeps `∂J/∂z` in the workspace, for [`step_then_evaluate`](Self::step_then_evaluate).
    fn evaluate_objective(
        &self,
        x: &[f32; IN],
        objective: Objective,
        ws: &mut Self::Workspace,
    ) -> Result<Evaluation<OUT>, Error> {
        self.evaluate(x, objective, ws)
    }

    /// The backward pass starts from the activations the last evaluation left in the
    /// arena (at `x`, as the trait requires), so a step costs one forward pass, not two.
    /// With AVX, an `elementwise` update and a dense first layer, the first layer's
    /// backward and forward passes are fused into one stream over its weights (see
    /// `network/step.rs`): the same bits.
    fn step_then_evaluate<U>(
        &self,
        x: &mut [f32; IN],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32; IN],
        elementwise: bool,
        mut update: U,
    ) -> Result<Evaluation<OUT>, Error>
    where
        U: FnMut(usize, &mut [f32], &[f32]),
    {
        if elementwise && self.network.can_fuse_step() {
            let arena = ws.arena.as_mut_slice();
            let logits =
                self.network.fused_step(x, arena, &ws.logit_grad, gradient, &mut update)?;
            let mut z = [0.0; OUT];
            crate::linalg::copy(&mut z, logits);
            let prediction = Prediction::from_logits(z)?;
            let value = objective.evaluate(&prediction, &mut ws.logit_grad)?;
            return Ok(Evaluation { prediction, objective: value });
        }
        let arena = ws.arena.as_mut_slice();
        self.network.backward(x, arena, &ws.logit_grad, Some(gradient), None)?;
        check_finite_result(gradient)?;
        update(0, x, gradient);
        self.evaluate(x, objective, ws)
    }
}
