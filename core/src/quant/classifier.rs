//! An int8 network as a [`Classifier`], so that every attack runs on the network that ships.
//!
//! An int8 network has no gradient: its roundings are flat almost everywhere. The
//! [`QuantClassifier`] pairs it with its float twin (straight-through estimation, or BPDA:
//! Athalye, Carlini & Wagner, 2018): every prediction, objective value, early stop and
//! report comes from the **int8** network — the dequantized int8 logits, exactly what the
//! device computes — and only the direction of each step comes from the twin's
//! `∇ₓJ`. A score-based attack ([`Square`](crate::Square)) uses predictions alone, so on
//! this classifier it is a pure black-box attack on the int8 network.
//!
//! ```text
//! predict(x)        = softmax(dequantize(int8(quantize(x))))
//! input_gradient(x) = ∇ₓ J(twin(x)),   with the evaluation at x from the int8 network
//! ```

use super::QuantNetwork;
use crate::error::Error;
use crate::model::{Classifier, Evaluation, Prediction};
use crate::network::NetworkClassifier;
use crate::objective::Objective;
use crate::storage::ArenaStorage;

/// Caller-owned int8 activations: a fixed array on a device, a heap buffer on a host.
pub trait Int8Storage {
    /// A zeroed arena of at least `len` elements, if this storage can hold that many.
    fn zeroed(len: usize) -> Self;
    /// The elements.
    fn as_mut_slice(&mut self) -> &mut [i8];
}

impl<const N: usize> Int8Storage for [i8; N] {
    fn zeroed(_len: usize) -> Self {
        [0; N]
    }
    fn as_mut_slice(&mut self) -> &mut [i8] {
        self
    }
}

/// A heap arena of exactly the length asked for (feature `alloc`).
#[cfg(feature = "alloc")]
impl Int8Storage for alloc::vec::Vec<i8> {
    fn zeroed(len: usize) -> Self {
        alloc::vec![0; len]
    }
    fn as_mut_slice(&mut self) -> &mut [i8] {
        self
    }
}

/// Scratch space of a [`QuantClassifier`]: the twin's workspace and the int8 arena.
#[derive(Debug, Clone)]
pub struct QuantWorkspace<W, B> {
    /// The float twin's workspace.
    pub twin: W,
    /// The int8 network's arena.
    pub arena: B,
}

/// The int8 network judges, its float twin supplies gradients; see the
/// [module docs](crate::quant::classifier).
#[derive(Debug, Clone)]
pub struct QuantClassifier<'w, 't, A, B, const OUT: usize> {
    int8: QuantNetwork<'w>,
    twin: NetworkClassifier<'t, A, OUT>,
    arena: core::marker::PhantomData<fn() -> B>,
}

impl<'w, 't, A: ArenaStorage, B: Int8Storage, const OUT: usize> QuantClassifier<'w, 't, A, B, OUT> {
    /// Pairs `int8` with `twin` (its [float twin](QuantNetwork::twin_layers), or any float
    /// network of the same input size and classes). Fails with [`Error::Length`] if the
    /// input sizes or the class counts differ.
    pub fn new(int8: QuantNetwork<'w>, twin: NetworkClassifier<'t, A, OUT>) -> Result<Self, Error> {
        let float = twin.network();
        if float.input_len() != int8.input_len() {
            let (expected, found) = (int8.input_len(), float.input_len());
            return Err(Error::Length { what: "twin input", expected, found });
        }
        if float.classes() != int8.classes() {
            let (expected, found) = (int8.classes(), float.classes());
            return Err(Error::Length { what: "twin classes", expected, found });
        }
        Ok(Self { int8, twin, arena: core::marker::PhantomData })
    }

    /// The int8 network.
    pub fn int8(&self) -> &QuantNetwork<'w> {
        &self.int8
    }

    /// The float twin.
    pub fn twin(&self) -> &NetworkClassifier<'t, A, OUT> {
        &self.twin
    }
}

impl<A: ArenaStorage, B: Int8Storage, const OUT: usize> Classifier<OUT>
    for QuantClassifier<'_, '_, A, B, OUT>
{
    type Workspace = QuantWorkspace<crate::network::NetworkWorkspace<A, OUT>, B>;

    fn input_len(&self) -> usize {
        self.int8.input_len()
    }

    fn classes(&self) -> usize {
        self.int8.classes()
    }

    fn workspace(&self) -> Self::Workspace {
        QuantWorkspace { twin: self.twin.workspace(), arena: B::zeroed(self.int8.arena_len()) }
    }

    fn predict(&self, x: &[f32], ws: &mut Self::Workspace) -> Result<Prediction<OUT>, Error> {
        let logits = self.int8.forward_f32(x, ws.arena.as_mut_slice())?;
        let mut real = [0.0f32; OUT];
        let real = real
            .get_mut(..logits.len())
            .ok_or(Error::ClassCapacity { classes: logits.len(), capacity: OUT })?;
        self.int8.dequantize_logits(logits, real)?;
        Prediction::from_logits(real)
    }

    fn input_gradient(
        &self,
        x: &[f32],
        objective: Objective,
        ws: &mut Self::Workspace,
        gradient: &mut [f32],
    ) -> Result<Evaluation<OUT>, Error> {
        self.twin.input_gradient(x, objective, &mut ws.twin, gradient)?;
        self.evaluate_objective(x, objective, ws)
    }
}
