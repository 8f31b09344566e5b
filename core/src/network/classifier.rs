//! A [`Network`] as a [`Classifier`], so that every attack runs on it unchanged.
//!
//! Sizes are the network's own, known at run time; `OUT` is only the capacity of its
//! predictions, checked once by [`Network::classifier`]. The workspace is an arena of the
//! caller's choosing ([`ArenaStorage`]): a fixed array on a device, a heap buffer on a host.

use core::marker::PhantomData;

use super::Network;
use crate::error::Error;
use crate::model::{Classifier, Evaluation, Prediction, check_finite_result};
use crate::objective::Objective;
use crate::storage::ArenaStorage;

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

    /// The arena and `∂J/∂z` of the last evaluation, for a network of `classes` classes
    /// (≤ `OUT`).
    fn arena_and_logit_grad(&mut self, classes: usize) -> (&mut [f32], &[f32]) {
        let dz = self.logit_grad.get(..classes).unwrap_or(&self.logit_grad);
        (self.arena.as_mut_slice(), dz)
    }

    /// A workspace over `arena`, in a `const` context (a firmware `static`): size the array
    /// with the network's [`arena_len`](Network::arena_len), computed by a build script.
    pub const fn with_arena(arena: A) -> Self {
        Self { arena, logit_grad: [0.0; OUT] }
    }
}

/// A network as a classifier whose predictions hold up to `OUT` classes, with arenas of
/// type `A`; made by [`Network::classifier`]. It holds a copy of the network (a few hundred bytes: the layer
/// list; the weights stay borrowed).
#[derive(Debug, Clone)]
pub struct NetworkClassifier<'w, A, const OUT: usize> {
    network: Network<'w>,
    arena: PhantomData<fn() -> A>,
}

impl<'w> Network<'w> {
    /// This network as a [`Classifier<OUT>`], with workspaces of arena type `A`. Fails
    /// with [`Error::ClassCapacity`] if the network has more than `OUT` classes, or
    /// [`Error::ArenaTooSmall`] if `A` cannot hold [`arena_len`](Self::arena_len).
    pub fn classifier<A: ArenaStorage, const OUT: usize>(
        &self,
    ) -> Result<NetworkClassifier<'w, A, OUT>, Error> {
        if self.classes() > OUT {
            return Err(Error::ClassCapacity { classes: self.classes(), capacity: OUT });
        }
        if !A::can_hold(self.arena_len()) {
            return Err(Error::ArenaTooSmall { needed: self.arena_len(), found: 0 });
        }
        Ok(NetworkClassifier { network: self.clone(), arena: PhantomData })
    }
}

impl<'w, A: ArenaStorage, const OUT: usize> NetworkClassifier<'w, A, OUT> {
    /// The network.
    pub fn network(&self) -> &Network<'w> {
        &self.network
    }

    /// Adds `∇θJ` for `objective` at `x` to `grad` (the network's parameter layout), and
    /// returns the prediction and `J`. Training minimises `Objective::Untargeted`, the
    /// cross-entropy.
    pub fn accumulate_parameter_gradient(
        &self,
        x: &[f32],
        objective: Objective,
        ws: &mut NetworkWorkspace<A, OUT>,
        grad: &mut [f32],
    ) -> Result<Evaluation<OUT>, Error> {
        let evaluation = self.evaluate(x, objective, ws)?;
        let (arena, dz) = ws.arena_and_logit_grad(self.network.classes());
        self.network.backward(x, arena, dz, None, Some(grad))?;
        Ok(evaluation)
    }

    /// Forward pass and `J`, leaving `∂J/∂z` in the workspace.
    fn evaluate(
        &self,
        x: &[f32],
        objective: Objective,
        ws: &mut NetworkWorkspace<A, OUT>,
    ) -> Result<Evaluation<OUT>, Error> {
        let prediction = self.predict(x, ws)?;
        let value = objective.evaluate(&prediction, &mut ws.logit_grad)?;
        Ok(Evaluation { prediction, objective: value })
    }
}

impl<A: ArenaStorage, const OUT: usize> Classifier<OUT> for NetworkClassifier<'_, A, OUT> {
    type Workspace = NetworkWorkspace<A, OUT>;

    fn input_len(&self) -> usize {
        self.network.input_len()
    }

    fn classes(&self) -> usize {
        self.network.classes()
    }

    fn workspace(&self) -> Self::Workspace {
        NetworkWorkspace::new(&self.network)
    }

    fn predict(&self, x: &[f32], ws: &mut Self::Workspace) -> Result<Prediction<OUT>, Error> {
        let logits = self.network.forward(x, ws.arena.as_mut_slice())?;
        Prediction::from_logits(logits)
    }

    fn input_gradient(
        &self,
        x: &[f32],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32],
    ) -> Result<Evaluation<OUT>, Error> {
        let evaluation = self.evaluate(x, objective, ws)?;
        let (arena, dz) = ws.arena_and_logit_grad(self.network.classes());
        self.network.backward(x, arena, dz, Some(gradient), None)?;
        check_finite_result(gradient)?;
        Ok(evaluation)
    }

    /// Keeps `∂J/∂z` in the workspace, for [`step_then_evaluate`](Self::step_then_evaluate).
    fn evaluate_objective(
        &self,
        x: &[f32],
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
        x: &mut [f32],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32],
        elementwise: bool,
        mut update: U,
    ) -> Result<Evaluation<OUT>, Error>
    where
        U: FnMut(usize, &mut [f32], &[f32]),
    {
        if elementwise && self.network.can_fuse_step() {
            let (arena, dz) = ws.arena_and_logit_grad(self.network.classes());
            let logits = self.network.fused_step(x, arena, dz, gradient, &mut update)?;
            let prediction = Prediction::from_logits(logits)?;
            let value = objective.evaluate(&prediction, &mut ws.logit_grad)?;
            return Ok(Evaluation { prediction, objective: value });
        }
        let (arena, dz) = ws.arena_and_logit_grad(self.network.classes());
        self.network.backward(x, arena, dz, Some(gradient), None)?;
        check_finite_result(gradient)?;
        update(0, x, gradient);
        self.evaluate(x, objective, ws)
    }
}
