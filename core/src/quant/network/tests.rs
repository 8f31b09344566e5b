//! The int8 network against naive references: NHWC loops over an explicitly padded input
//! (padding holds the input's zero point, instead of skipped taps), i64 sums, f64 means.

extern crate std;

use super::*;
use crate::quant::fixed_point::multiply_by_quantized_multiplier;
use proptest::prelude::*;
use std::{vec, vec::Vec};

const Q_IN: Quantization = Quantization::new(0.02, -7);

/// Requantizes with the primitive (tested against i128 in `fixed_point`).
fn requant(acc: i64, m: QuantizedMultiplier, zp: i32, (lo, hi): (i32, i32)) -> i8 {
    let acc = i32::try_from(acc).unwrap();
    (multiply_by_quantized_multiplier(acc, m.multiplier, m.shift) + zp).clamp(lo, hi) as i8
}

fn multiplier(input: Quantization, w: f32, output: Quantization) -> QuantizedMultiplier {
    quantize_multiplier(f64::from(input.scale) * f64::from(w) / f64::from(output.scale)).unwrap()
}

#[test]
fn activation_ranges_follow_tflite() {
    let q = Quantization::new(6.0 / 255.0, -128);
    assert_eq!(Activation::None.range(q), (-128, 127));
    assert_eq!(Activation::Relu.range(q), (-128, 127));
    assert_eq!(Activation::Relu6.range(q), (-128, 127)); // 6 / (6/255) = 255 → −128 + 255
    let q = Quantization::new(0.1, 3);
    assert_eq!(Activation::Relu.range(q), (3, 127));
    assert_eq!(Activation::Relu6.range(q), (3, 63));
    assert_eq!(Activation::ReluN1To1.range(q), (-7, 13));
}

fn dense_net(
    inputs: usize,
    outputs: usize,
    out_q: Quantization,
    activation: Activation,
    params: QuantParams<'_>,
) -> Result<QuantNetwork<'_>, Error> {
    let layers = [QuantLayerSpec::Dense { outputs, output: out_q, activation }];
    QuantNetwork::new(Shape::flat(inputs), Q_IN, &layers, params)
}

proptest! {
    #[test]
    fn dense_matches_a_naive_reference(
        (inputs, outputs, weights, x) in (1usize..40, 2usize..8).prop_flat_map(|(i, o)| (
            Just(i), Just(o),
            proptest::collection::vec(-127i8..=127, i * o),
            proptest::collection::vec(any::<i8>(), i),
        )),
        bias_seed in any::<i32>(),
        out_scale in 0.01f32..0.5,
        out_zp in -128i32..=127,
        relu in any::<bool>(),
    ) {
        let biases: Vec<i32> = (1..=outputs).map(|o| (bias_seed >> 12).wrapping_mul(i32::try_from(o).unwrap()) % 5000).collect();
        let scales: Vec<f32> = (0..outputs).map(|o| 0.001 + 0.002 * o as f32).collect();
        let out_q = Quantization::new(out_scale, out_zp);
        let act = if relu { Activation::Relu } else { Activation::None };
        let params = QuantParams { weights: &weights, biases: &biases, weight_scales: &scales };
        let net = dense_net(inputs, outputs, out_q, act, params).unwrap();
        let mut arena = vec![0i8; net.arena_len()];
        let got = net.forward(&x, &mut arena).unwrap().to_vec();
        for o in 0..outputs {
            let acc: i64 = (0..inputs)
                .map(|i| i64::from(weights[o * inputs + i]) * (i64::from(x[i]) - i64::from(Q_IN.zero_point)))
                .sum::<i64>() + i64::from(biases[o]);
            let want = requant(acc, multiplier(Q_IN, scales[o], out_q), out_zp, act.range(out_q));
            prop_assert_eq!(got[o], want, "output {}", o);
        }
    }

    #[test]
    fn conv_pool_flatten_match_nhwc_references(
        c in 1usize..3, h in 4usize..8, w in 4usize..8, oc in 1usize..4,
        k in 1usize..4, s in 1usize..3, pad in 0usize..2,
        seed in any::<u64>(),
        avg in any::<bool>(),
    ) {
        prop_assume!(pad < k && h + 2 * pad > k && w + 2 * pad > k);
        let mut state = seed | 1;
        let mut next = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
        let x: Vec<i8> = (0..c * h * w).map(|_| next() as i8).collect();
        let weights: Vec<i8> = (0..oc * c * k * k).map(|_| (next() % 255) as i8).collect();
        let biases: Vec<i32> = (0..oc).map(|_| (next() % 2001) as i32 - 1000).collect();
        let scales: Vec<f32> = (0..oc).map(|o| 0.003 + 0.001 * o as f32).collect();
        let conv_q = Quantization::new(0.05, -20);
        let dense_q = Quantization::new(0.2, 5);
        let window = Window::square(k, s);
        let (oh, ow) = ((h + 2 * pad - k) / s + 1, (w + 2 * pad - k) / s + 1);
        prop_assume!(oh >= 2 && ow >= 2);
        let pool = Window::square(2, 1);
        let pool_spec = if avg {
            QuantLayerSpec::AvgPool2d { window: pool, activation: Activation::None }
        } else {
            QuantLayerSpec::MaxPool2d { window: pool, activation: Activation::Relu }
        };
        let (ph_, pw_) = (oh - 1, ow - 1);
        let features = oc * ph_ * pw_;
        let dense_w: Vec<i8> = (0..2 * features).map(|_| (next() % 255) as i8).collect();
        let all_w: Vec<i8> = weights.iter().chain(&dense_w).copied().collect();
        let all_b: Vec<i32> = biases.iter().copied().chain([100, -100]).collect();
        let all_s: Vec<f32> = scales.iter().copied().chain([0.004, 0.005]).collect();
        let layers = [
            QuantLayerSpec::Conv2d { out_channels: oc, window, padding: [pad, pad], output: conv_q, activation: Activation::Relu6 },
            pool_spec,
            QuantLayerSpec::Flatten,
            QuantLayerSpec::Dense { outputs: 2, output: dense_q, activation: Activation::None },
        ];
        let params = QuantParams { weights: &all_w, biases: &all_b, weight_scales: &all_s };
        let net = QuantNetwork::new(Shape::new(c, h, w), Q_IN, &layers, params).unwrap();
        let mut arena = vec![0i8; net.arena_len()];
        let got = net.forward(&x, &mut arena).unwrap().to_vec();

        // NHWC input, padded with the zero point.
        let (hp, wp) = (h + 2 * pad, w + 2 * pad);
        let mut padded = vec![i64::from(Q_IN.zero_point); hp * wp * c];
        for ci in 0..c { for y in 0..h { for xx in 0..w {
            padded[((y + pad) * wp + xx + pad) * c + ci] = i64::from(x[(ci * h + y) * w + xx]);
        }}}
        // Convolution, NHWC output.
        let mut conv = vec![0i8; oh * ow * oc];
        for oy in 0..oh { for ox in 0..ow { for o in 0..oc {
            let mut acc = i64::from(biases[o]);
            for ky in 0..k { for kx in 0..k { for ci in 0..c {
                let v = padded[((oy * s + ky) * wp + ox * s + kx) * c + ci] - i64::from(Q_IN.zero_point);
                acc += i64::from(weights[((o * c + ci) * k + ky) * k + kx]) * v;
            }}}
            conv[(oy * ow + ox) * oc + o] =
                requant(acc, multiplier(Q_IN, scales[o], conv_q), conv_q.zero_point, Activation::Relu6.range(conv_q));
        }}}
        // 2×2 stride-1 pool, NHWC.
        let mut pooled = vec![0i8; ph_ * pw_ * oc];
        for py in 0..ph_ { for px in 0..pw_ { for o in 0..oc {
            let vals: Vec<i64> = [(0, 0), (0, 1), (1, 0), (1, 1)].iter()
                .map(|(dy, dx)| i64::from(conv[((py + dy) * ow + px + dx) * oc + o])).collect();
            pooled[(py * pw_ + px) * oc + o] = if avg {
                let mean = vals.iter().sum::<i64>() as f64 / 4.0;
                mean.abs().add(0.5).floor().copysign(mean) as i8 // half away from zero
            } else {
                let (lo, _) = Activation::Relu.range(conv_q);
                (*vals.iter().max().unwrap()).max(i64::from(lo)) as i8
            };
        }}}
        // Flatten in CHW order (nudge's), dense.
        for j in 0..2 {
            let mut acc = i64::from(all_b[oc + j]);
            for o in 0..oc { for py in 0..ph_ { for px in 0..pw_ {
                let feature = (o * ph_ + py) * pw_ + px;
                let v = i64::from(pooled[(py * pw_ + px) * oc + o]) - i64::from(conv_q.zero_point);
                acc += i64::from(dense_w[j * features + feature]) * v;
            }}}
            let want = requant(acc, multiplier(conv_q, all_s[oc + j], dense_q), dense_q.zero_point, (-128, 127));
            prop_assert_eq!(got[j], want, "logit {}", j);
        }
    }
}

trait Add {
    fn add(self, v: f64) -> f64;
}
impl Add for f64 {
    fn add(self, v: f64) -> f64 {
        self + v
    }
}

#[test]
fn f32_input_is_quantized_and_logits_dequantized() {
    let weights = [1i8, 0, 0, 1];
    let (biases, scales) = ([0i32, 0], [1.0f32, 1.0]);
    let params = QuantParams { weights: &weights, biases: &biases, weight_scales: &scales };
    // Output scale = input scale: the multiplier is 1, so the logits are x − zp + zp.
    let net = dense_net(2, 2, Q_IN, Activation::None, params).unwrap();
    let mut arena = vec![0i8; net.arena_len()];
    let x = [0.1f32, -0.25];
    let logits = net.forward_f32(&x, &mut arena).unwrap().to_vec();
    assert_eq!(logits, [Q_IN.quantize(0.1), Q_IN.quantize(-0.25)]);
    let mut out = [0.0f32; 2];
    net.dequantize_logits(&logits, &mut out).unwrap();
    assert_eq!(out, [0.1, -0.25].map(|v: f32| Q_IN.dequantize(Q_IN.quantize(v))));
    assert_eq!(
        net.forward_f32(&[f32::NAN, 0.0], &mut arena),
        Err(Error::NonFiniteInput { index: 0 })
    );
}

#[test]
fn lite_rt_rounds_dense_once() {
    // acc = 3, multiplier 0.5 · 2⁻² (weight scale chosen so): 0.375 → TFLM 1, LiteRT 0.
    let weights = [3i8, 0, 0, 0];
    let (biases, scales) = ([0i32, 0], [0.125f32, 0.125]);
    let params = QuantParams { weights: &weights, biases: &biases, weight_scales: &scales };
    let q = Quantization::new(1.0, 0);
    let layers = [QuantLayerSpec::Dense { outputs: 2, output: q, activation: Activation::None }];
    let net = QuantNetwork::new(Shape::flat(2), q, &layers, params).unwrap();
    let mut arena = vec![0i8; net.arena_len()];
    assert_eq!(net.forward(&[1, 0], &mut arena).unwrap(), [1, 0]);
    let lite = net.with_arithmetic(Arithmetic::LiteRt);
    assert_eq!(lite.forward(&[1, 0], &mut arena).unwrap(), [0, 0]);
}

#[test]
fn bad_descriptions_are_refused_with_the_layer() {
    let weights = [1i8; 6];
    let (biases, scales) = ([0i32; 2], [0.01f32; 2]);
    let params = QuantParams { weights: &weights, biases: &biases, weight_scales: &scales };
    let ok = Quantization::new(0.1, 0);
    assert!(dense_net(3, 2, ok, Activation::None, params).is_ok());
    let err = |net: Result<QuantNetwork<'_>, Error>| net.err();
    let invalid = |layer, problem| Some(Error::InvalidNetwork { layer, problem });
    assert_eq!(
        err(dense_net(3, 2, Quantization::new(0.0, 0), Activation::None, params)),
        invalid(Some(0), NetworkProblem::BadQuantization)
    );
    assert_eq!(
        err(dense_net(3, 2, Quantization::new(0.1, 128), Activation::None, params)),
        invalid(Some(0), NetworkProblem::BadQuantization)
    );
    assert_eq!(
        err(dense_net(4, 2, ok, Activation::None, params)),
        Some(Error::Length { what: "weights", expected: 8, found: 6 })
    );
    let huge = [0.01f32, 1e12];
    let p = QuantParams { weight_scales: &huge, ..params };
    assert_eq!(
        err(dense_net(3, 2, ok, Activation::None, p)),
        invalid(Some(0), NetworkProblem::MultiplierOutOfRange { channel: 1 })
    );
    let nan = [0.01f32, f32::NAN];
    let p = QuantParams { weight_scales: &nan, ..params };
    assert_eq!(
        err(dense_net(3, 2, ok, Activation::None, p)),
        invalid(Some(0), NetworkProblem::BadQuantization)
    );
    let p = QuantParams { biases: &biases[..1], ..params };
    assert_eq!(
        err(dense_net(3, 2, ok, Activation::None, p)),
        Some(Error::Length { what: "biases", expected: 2, found: 1 })
    );
    let net = dense_net(3, 2, ok, Activation::None, params).unwrap();
    let mut small = vec![0i8; net.arena_len() - 1];
    assert_eq!(
        net.forward(&[0, 0, 0], &mut small),
        Err(Error::Int8ArenaTooSmall { needed: net.arena_len(), found: net.arena_len() - 1 })
    );
    let mut arena = vec![0i8; net.arena_len()];
    assert_eq!(
        net.forward(&[0, 0], &mut arena),
        Err(Error::Length { what: "input", expected: 3, found: 2 })
    );
}

#[test]
fn a_multiplier_table_gives_the_same_outputs() {
    // Per-channel scales, two layers: the table is filled layer after layer.
    let layers = [
        QuantLayerSpec::Dense {
            outputs: 3,
            output: Quantization::new(0.05, 4),
            activation: Activation::Relu,
        },
        QuantLayerSpec::Dense {
            outputs: 2,
            output: Quantization::new(0.1, -3),
            activation: Activation::None,
        },
    ];
    let weights: Vec<i8> = (0..4 * 3 + 3 * 2).map(|k| ((k * 37) % 255 - 127) as i8).collect();
    let biases = [100i32, -250, 7, 40, -90];
    let scales = [0.003f32, 0.011, 0.007, 0.02, 0.013];
    let params = QuantParams { weights: &weights, biases: &biases, weight_scales: &scales };
    let net = QuantNetwork::new(Shape::flat(4), Q_IN, &layers, params).unwrap();
    assert_eq!(net.channels(), 5);
    let mut short = [QuantizedMultiplier { multiplier: 0, shift: 0 }; 4];
    let mut table = [QuantizedMultiplier { multiplier: 0, shift: 0 }; 5];
    let mut prepared = net.clone();
    assert_eq!(
        prepared.prepare_multipliers(&mut short),
        Err(Error::Length { what: "multipliers", expected: 5, found: 4 })
    );
    prepared.prepare_multipliers(&mut table).unwrap();
    let mut arena = vec![0i8; net.arena_len()];
    let mut arena2 = arena.clone();
    for seed in 0..64i32 {
        let x: Vec<i8> = (0..4).map(|k| ((seed * 53 + k * 91) % 256 - 128) as i8).collect();
        let want = net.forward(&x, &mut arena).unwrap();
        assert_eq!(prepared.forward(&x, &mut arena2).unwrap(), want, "input {x:?}");
    }
    for (l, layer) in prepared.layers().iter().enumerate() {
        for o in 0..layer.bias.len() {
            assert_eq!(
                layer.multiplier(o),
                net.layers()[l].multiplier(o),
                "layer {l}, channel {o}"
            );
        }
    }
}
