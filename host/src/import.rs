//! What the ONNX and TFLite importers share: the network they build layer by layer while
//! they walk a file's graph, each layer checked against the shape before it.

use nudge_core::{LayerSpec, Shape};

use crate::checkpoint::Matched;
use crate::model::Model;

/// The layers imported so far, their parameters and the file's names for them.
pub(crate) struct LayerChain {
    input: Shape,
    /// The shape the next layer takes.
    shape: Shape,
    layers: Vec<LayerSpec>,
    params: Vec<f32>,
    tensors: Vec<String>,
}

impl LayerChain {
    /// An empty chain on `input`.
    pub(crate) fn new(input: Shape) -> Self {
        LayerChain {
            input,
            shape: input,
            layers: Vec::new(),
            params: Vec::new(),
            tensors: Vec::new(),
        }
    }

    /// The shape the next layer takes.
    pub(crate) fn shape(&self) -> Shape {
        self.shape
    }

    /// Fails unless the current tensor has `in_channels` channels, what `weight` (a
    /// convolution's weight, named for the message) takes.
    pub(crate) fn check_channels(
        &self,
        in_channels: usize,
        weight: &str,
        what: &str,
    ) -> Result<(), String> {
        if in_channels == self.shape.channels {
            return Ok(());
        }
        Err(format!(
            "{what}: {weight} takes {in_channels} channels; its input is {}",
            crate::arch::format_shape(self.shape)
        ))
    }

    /// Appends a layer without parameters; `what` (the node or op) prefixes the error when
    /// `layer` does not take the current shape.
    pub(crate) fn push(&mut self, layer: LayerSpec, what: &str) -> Result<(), String> {
        let (shape, _, _) = layer.output_shape(self.shape).map_err(|e| {
            format!("{what}: {e} (input {})", crate::arch::format_shape(self.shape))
        })?;
        self.shape = shape;
        self.layers.push(layer);
        Ok(())
    }

    /// Appends a layer with its weight and bias in nudge's layout, each named by the file's
    /// tensor it came from.
    pub(crate) fn push_with_params(
        &mut self,
        layer: LayerSpec,
        (weight_name, weight): (&str, Vec<f32>),
        (bias_name, bias): (&str, Vec<f32>),
        what: &str,
    ) -> Result<(), String> {
        self.push(layer, what)?;
        self.params.extend(weight);
        self.params.extend(bias);
        self.tensors.push(weight_name.to_string());
        self.tensors.push(bias_name.to_string());
        Ok(())
    }

    /// The network, checked as a whole.
    pub(crate) fn finish(self) -> Result<Matched, String> {
        let model = Model::new(self.input, self.layers, self.params)
            .map_err(|e| format!("the imported layers do not form a network: {e}"))?;
        Ok(Matched { model, tensors: self.tensors })
    }
}
