//! The float "twin" of an int8 network: the same layers with dequantized weights, as a
//! float [`Network`](crate::Network). The twin supplies gradients (an int8 network has
//! none); the int8 network judges whether an attack succeeded.
//!
//! ```text
//! weight[o][…] = weight_scale[o] · W[o][…]                   (f32 product; weights are symmetric)
//! bias[o]      = input_scale · weight_scale[o] · b[o]         (TFLite's bias scale; f64, then f32)
//! ```
//!
//! The twin takes the real input (what [`QuantNetwork::forward_f32`] quantizes) and its
//! logits approximate the dequantized int8 logits: it leaves out every rounding and
//! saturation of the int8 pass. Fused activations become layers: RELU a
//! [`Relu`](crate::LayerSpec::Relu), RELU6 a `Relu` too (the float network has no upper
//! clamp: the twin differs where an activation exceeds 6, and so does its gradient there);
//! a network with RELU_N1_TO_1 has no twin ([`NetworkProblem::NoFloatTwin`]).

use super::network::{Activation, QuantLayerSpec, QuantNetwork};
use crate::error::Error;
use crate::network::{LayerSpec, MAX_LAYERS, NetworkProblem};

impl QuantNetwork<'_> {
    /// The twin's layers (a fused RELU or RELU6 becomes a `Relu` after its layer). Fails
    /// with [`NetworkProblem::NoFloatTwin`] on RELU_N1_TO_1 or
    /// [`NetworkProblem::TooManyLayers`] if the ReLUs take the list over [`MAX_LAYERS`].
    pub fn twin_layers(&self) -> Result<heapless::Vec<LayerSpec, MAX_LAYERS>, Error> {
        let mut out = heapless::Vec::new();
        let too_many =
            Error::InvalidNetwork { layer: None, problem: NetworkProblem::TooManyLayers };
        for (i, layer) in self.layers().iter().enumerate() {
            out.push(layer.spec.float_spec()).map_err(|_| too_many)?;
            match layer.spec.activation() {
                Activation::None => {}
                Activation::Relu | Activation::Relu6 => {
                    out.push(LayerSpec::Relu).map_err(|_| too_many)?;
                }
                Activation::ReluN1To1 => {
                    let problem = NetworkProblem::NoFloatTwin;
                    return Err(Error::InvalidNetwork { layer: Some(i), problem });
                }
            }
        }
        Ok(out)
    }

    /// Parameters of the twin (every weight and bias).
    pub fn twin_param_count(&self) -> usize {
        self.layers().iter().map(|l| l.weight.len() + l.bias.len()).sum()
    }

    /// Writes the twin's parameters (the [float network's layout](crate::network): each
    /// layer's weight, then its bias) to `out`, which must hold exactly
    /// [`twin_param_count`](Self::twin_param_count) values ([`Error::Length`]).
    pub fn twin_params(&self, out: &mut [f32]) -> Result<(), Error> {
        let expected = self.twin_param_count();
        if out.len() != expected {
            return Err(Error::Length { what: "twin parameters", expected, found: out.len() });
        }
        let found = out.len();
        let mut rest = out;
        for layer in self.layers() {
            if !matches!(layer.spec, QuantLayerSpec::Dense { .. } | QuantLayerSpec::Conv2d { .. }) {
                continue;
            }
            let short = Error::Length { what: "twin parameters", expected, found };
            let (weight, tail) = rest.split_at_mut_checked(layer.weight.len()).ok_or(short)?;
            let (bias, tail) = tail.split_at_mut_checked(layer.bias.len()).ok_or(short)?;
            rest = tail;
            let per_output = layer.weight.len() / layer.bias.len().max(1);
            let input_scale = f64::from(layer.input_quantization.scale);
            for (o, (&s, (b_out, &b))) in
                layer.weight_scales.iter().zip(bias.iter_mut().zip(layer.bias)).enumerate()
            {
                let rows = o * per_output..(o + 1) * per_output;
                let (Some(w_out), Some(w)) = (weight.get_mut(rows.clone()), layer.weight.get(rows))
                else {
                    continue;
                };
                for (y, &q) in w_out.iter_mut().zip(w) {
                    *y = s * f32::from(q);
                }
                *b_out = (input_scale * f64::from(s) * f64::from(b)) as f32;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::network::{Network, Shape, Window};
    use crate::quant::{QuantParams, Quantization};
    use std::vec;

    #[test]
    fn the_twin_has_dequantized_weights_and_relu_layers() {
        let q_in = Quantization::new(0.5, 0);
        let conv_q = Quantization::new(0.25, -128);
        let out_q = Quantization::new(0.125, 3);
        let layers = [
            QuantLayerSpec::Conv2d {
                out_channels: 2,
                window: Window::square(2, 1),
                padding: [0, 0],
                output: conv_q,
                activation: Activation::Relu6,
            },
            QuantLayerSpec::MaxPool2d {
                window: Window::square(2, 1),
                activation: Activation::None,
            },
            QuantLayerSpec::Flatten,
            QuantLayerSpec::Dense { outputs: 2, output: out_q, activation: Activation::None },
        ];
        let weights = [1i8, 2, 3, 4, -1, -2, -3, -4, 5, -5, 7, -7];
        let biases = [10i32, -10, 100, -100];
        let scales = [0.5f32, 0.25, 0.1, 2.0];
        let params = QuantParams { weights: &weights, biases: &biases, weight_scales: &scales };
        let net = QuantNetwork::new(Shape::new(1, 3, 3), q_in, &layers, params).unwrap();
        let specs = net.twin_layers().unwrap();
        assert_eq!(
            specs.as_slice(),
            [
                LayerSpec::Conv2d {
                    out_channels: 2,
                    window: Window::square(2, 1),
                    padding: [0, 0]
                },
                LayerSpec::Relu,
                LayerSpec::MaxPool2d(Window::square(2, 1)),
                LayerSpec::Flatten,
                LayerSpec::Dense { outputs: 2 },
            ]
        );
        let mut p = vec![0.0f32; net.twin_param_count()];
        net.twin_params(&mut p).unwrap();
        #[rustfmt::skip]
        let want = [
            0.5, 1.0, 1.5, 2.0,   -0.25, -0.5, -0.75, -1.0,   // conv weight · scale
            0.5 * 0.5 * 10.0, 0.5 * 0.25 * -10.0,              // conv bias · in · w scale
            0.5, -0.5, 2.0 * 7.0, 2.0 * -7.0,                   // dense weight · scale
            0.25 * 0.1 * 100.0, 0.25 * 2.0 * -100.0,            // dense bias (input scale 0.25)
        ];
        assert_eq!(p.len(), want.len());
        for (k, (&g, &w)) in p.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "param {k}: {g} vs {w}");
        }
        assert!(Network::new(net.input_shape(), &specs, &p).is_ok());
        assert_eq!(
            net.twin_params(&mut p[1..]),
            Err(Error::Length { what: "twin parameters", expected: want.len(), found: 15 })
        );
    }

    #[test]
    fn relu_n1_to_1_has_no_twin() {
        let q = Quantization::new(0.1, 0);
        let layers =
            [QuantLayerSpec::Dense { outputs: 2, output: q, activation: Activation::ReluN1To1 }];
        let (w, b, s) = ([1i8, 1], [0i32, 0], [0.1f32, 0.1]);
        let params = QuantParams { weights: &w, biases: &b, weight_scales: &s };
        let net = QuantNetwork::new(Shape::flat(1), q, &layers, params).unwrap();
        assert_eq!(
            net.twin_layers(),
            Err(Error::InvalidNetwork { layer: Some(0), problem: NetworkProblem::NoFloatTwin })
        );
    }
}
