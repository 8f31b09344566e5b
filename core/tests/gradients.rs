//! Every gradient the kernel computes, checked three ways: the analytic formula (in the
//! model's docs), central finite differences of an f64 reference forward pass, and
//! property tests over random shapes and values.
//!
//! f64 reference: the same network evaluated in f64 from the f32 weights; finite differences
//! `(J(x + h·eᵢ) − J(x − h·eᵢ)) / 2h` with `h = 1e-4`. Cases where a ReLU pre-activation or
//! the two largest logits lie within `KINK` of each other are skipped (the function is not
//! differentiable there, and a finite difference across the kink is meaningless).

// The naive references index on purpose: they spell out the textbook loop.
#![allow(clippy::needless_range_loop)]

use nudge_core::model::Evaluation;
use nudge_core::rng::SplitMix64;
use nudge_core::{Classifier, Mlp, MlpParams, Objective};
use proptest::prelude::*;

const IN: usize = 7;
const HIDDEN: usize = 5;
const OUT: usize = 4;
/// Finite-difference step.
const H: f64 = 1e-4;
/// Distance to a non-differentiable point below which a case is skipped.
const KINK: f64 = 1e-2;
/// Gradient comparison: |got − want| ≤ ATOL + RTOL·|want|, with libm's exp/ln (≈1 ulp).
#[cfg(not(feature = "micromath"))]
const ATOL: f64 = 2e-4;
#[cfg(not(feature = "micromath"))]
const RTOL: f64 = 2e-3;
/// The documented bound with micromath's approximations (exp ≈ 2.4e-3 relative): the
/// probabilities, and so the gradients, are off by up to about 1% of their scale.
#[cfg(feature = "micromath")]
const ATOL: f64 = 1e-2;
#[cfg(feature = "micromath")]
const RTOL: f64 = 2e-2;

type Params = MlpParams<IN, HIDDEN, OUT>;

fn params(seed: u64) -> Params {
    let mut rng = SplitMix64::new(seed);
    let mut p: Params = bytemuck::Zeroable::zeroed();
    p.for_each_slice_mut(|s| s.iter_mut().for_each(|v| *v = rng.uniform(-1.0, 1.0)));
    p
}

/// Flat f64 copy of the parameters, in layout order.
fn flat(p: &Params) -> Vec<f64> {
    p.as_model().parts().iter().flat_map(|s| s.iter().map(|&v| f64::from(v))).collect()
}

/// f64 forward pass: returns (pre-activations, logits).
fn reference(theta: &[f64], x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (w1, rest) = theta.split_at(HIDDEN * IN);
    let (b1, rest) = rest.split_at(HIDDEN);
    let (w2, b2) = rest.split_at(OUT * HIDDEN);
    let pre: Vec<f64> =
        (0..HIDDEN).map(|j| b1[j] + (0..IN).map(|i| w1[j * IN + i] * x[i]).sum::<f64>()).collect();
    let logits = (0..OUT)
        .map(|o| b2[o] + (0..HIDDEN).map(|j| w2[o * HIDDEN + j] * pre[j].max(0.0)).sum::<f64>())
        .collect();
    (pre, logits)
}

fn objective_value(objective: Objective, z: &[f64]) -> f64 {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
    let best_other = |c: usize| {
        z.iter()
            .enumerate()
            .filter(|&(i, _)| i != c)
            .map(|(_, &v)| v)
            .fold(f64::NEG_INFINITY, f64::max)
    };
    match objective {
        Objective::Targeted { target } => z[target] - lse,
        Objective::Untargeted { true_class } => lse - z[true_class],
        Objective::TargetedMargin { target, kappa } => {
            (z[target] - best_other(target)).min(f64::from(kappa))
        }
        Objective::UntargetedMargin { true_class, kappa } => {
            (best_other(true_class) - z[true_class]).min(f64::from(kappa))
        }
        // Croce & Hein's DLR losses, with the sorted logits π₁ ≥ π₂ ≥ ….
        Objective::Dlr { true_class } => {
            let s = sorted_descending(z);
            -(z[true_class] - best_other(true_class)) / (s[0] - s[2] + 1e-12)
        }
        Objective::DlrTargeted { true_class, target } => {
            let s = sorted_descending(z);
            -(z[true_class] - z[target]) / (s[0] - 0.5 * (s[2] + s[3]) + 1e-12)
        }
    }
}

fn sorted_descending(z: &[f64]) -> Vec<f64> {
    let mut sorted = z.to_vec();
    sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
    sorted
}

/// Whether the reference is smooth around (θ, x) for this objective.
fn smooth(objective: Objective, pre: &[f64], z: &[f64]) -> bool {
    if pre.iter().any(|a| a.abs() < KINK) {
        return false;
    }
    let mut sorted = z.to_vec();
    sorted.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let margin_kink = match objective {
        Objective::TargetedMargin { .. } | Objective::UntargetedMargin { .. } => {
            // Kinks where the best other class changes, or where the margin meets κ.
            let c = objective.class();
            let others: Vec<f64> =
                z.iter().enumerate().filter(|&(i, _)| i != c).map(|(_, &v)| v).collect();
            let mut o = others.clone();
            o.sort_by(|a, b| b.partial_cmp(a).unwrap());
            let (unclipped, kappa) = match objective {
                Objective::TargetedMargin { target, kappa } => (z[target] - o[0], kappa),
                Objective::UntargetedMargin { kappa, .. } => (o[0] - z[c], kappa),
                _ => unreachable!("a margin objective"),
            };
            // Either side of κ: just below it, the step up crosses it too.
            (o[0] - o[1]).abs() < KINK || (unclipped - f64::from(kappa)).abs() < KINK
        }
        // Kinks where the order of the logits changes (the DLR denominators and the best
        // other class follow it).
        Objective::Dlr { .. } | Objective::DlrTargeted { .. } => {
            sorted.windows(2).any(|w| w[0] - w[1] < KINK)
        }
        _ => false,
    };
    !margin_kink
}

fn check(got: f32, want: f64, what: &str) -> Result<(), TestCaseError> {
    let delta = (f64::from(got) - want).abs();
    prop_assert!(
        delta <= ATOL + RTOL * want.abs(),
        "{what}: got {got}, want {want}, delta {delta}"
    );
    Ok(())
}

fn objectives() -> impl Strategy<Value = Objective> {
    (0..OUT, 0..6u8, 0.0f32..3.0, 1..OUT).prop_map(|(c, kind, kappa, shift)| match kind {
        0 => Objective::Targeted { target: c },
        1 => Objective::Untargeted { true_class: c },
        2 => Objective::TargetedMargin { target: c, kappa },
        3 => Objective::UntargetedMargin { true_class: c, kappa },
        4 => Objective::Dlr { true_class: c },
        _ => Objective::DlrTargeted { true_class: c, target: (c + shift) % OUT },
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn input_gradient_matches_f64_finite_differences(
        seed in any::<u64>(), x in prop::array::uniform7(0.0f32..1.0), objective in objectives()
    ) {
        let p = params(seed);
        let model = p.as_model();
        let theta = flat(&p);
        let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let (pre, z) = reference(&theta, &x64);
        prop_assume!(smooth(objective, &pre, &z));
        let mut grad = [0.0f32; IN];
        let Evaluation { objective: value, .. } =
            model.input_gradient(&x, objective, &mut model.workspace(), &mut grad).unwrap();
        check(value, objective_value(objective, &z), "J")?;
        for i in 0..IN {
            let (mut up, mut down) = (x64.clone(), x64.clone());
            up[i] += H;
            down[i] -= H;
            let want = (objective_value(objective, &reference(&theta, &up).1)
                - objective_value(objective, &reference(&theta, &down).1)) / (2.0 * H);
            check(grad[i], want, &format!("∂J/∂x[{i}]"))?;
        }
    }

    #[test]
    fn parameter_gradient_matches_f64_finite_differences(
        seed in any::<u64>(), x in prop::array::uniform7(0.0f32..1.0), objective in objectives()
    ) {
        let p = params(seed);
        let model = p.as_model();
        let theta = flat(&p);
        let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let (pre, z) = reference(&theta, &x64);
        prop_assume!(smooth(objective, &pre, &z));
        let mut grad: Params = bytemuck::Zeroable::zeroed();
        model.accumulate_parameter_gradient(&x, objective, &mut model.workspace(), &mut grad).unwrap();
        let analytic: Vec<f32> = grad.as_model().parts().iter().flat_map(|s| s.iter().copied()).collect();
        for k in 0..theta.len() {
            let (mut up, mut down) = (theta.clone(), theta.clone());
            up[k] += H;
            down[k] -= H;
            let want = (objective_value(objective, &reference(&up, &x64).1)
                - objective_value(objective, &reference(&down, &x64).1)) / (2.0 * H);
            check(analytic[k], want, &format!("∂J/∂θ[{k}]"))?;
        }
    }
}

#[test]
fn parameter_gradients_accumulate_across_calls() {
    let p = params(1);
    let model = p.as_model();
    let x = [0.5f32; IN];
    let objective = Objective::Untargeted { true_class: 2 };
    let mut once: Params = bytemuck::Zeroable::zeroed();
    model.accumulate_parameter_gradient(&x, objective, &mut model.workspace(), &mut once).unwrap();
    let mut twice = once;
    model.accumulate_parameter_gradient(&x, objective, &mut model.workspace(), &mut twice).unwrap();
    let a = once.as_model().parts().concat();
    let b = twice.as_model().parts().concat();
    assert!(a.iter().zip(&b).all(|(a, b)| *b == 2.0 * a));
}

/// The kernel against a naive sequential f32 forward pass on a 784-64-10 network:
/// equal within a stated tolerance (the summation orders differ), and identical run to run.
#[test]
fn kernel_matches_naive_reference_and_repeats_bit_for_bit() {
    const TOL: f32 = 1e-4;
    let mut p: Box<MlpParams<784, 64, 10>> = bytemuck::zeroed_box();
    let mut rng = SplitMix64::new(99);
    p.for_each_slice_mut(|s| s.iter_mut().for_each(|v| *v = rng.uniform(-0.1, 0.1)));
    let model: Mlp<'_, 784, 64, 10> = p.as_model();
    let x: [f32; 784] = core::array::from_fn(|_| rng.unit());
    let mut ws = model.workspace();
    let first = model.predict(&x, &mut ws).unwrap();
    let again = model.predict(&x, &mut ws).unwrap();
    assert!(
        first.logits().iter().map(|z| z.to_bits()).eq(again.logits().iter().map(|z| z.to_bits()))
    );

    let mut naive = [0.0f32; 10];
    let hidden: Vec<f32> = (0..64)
        .map(|j| {
            let mut s = 0.0f32;
            for i in 0..784 {
                s += p.fc1_weight[j][i] * x[i];
            }
            (s + p.fc1_bias[j]).max(0.0)
        })
        .collect();
    for (o, out) in naive.iter_mut().enumerate() {
        let mut s = 0.0f32;
        for j in 0..64 {
            s += p.fc2_weight[o][j] * hidden[j];
        }
        *out = s + p.fc2_bias[o];
    }
    for (got, want) in first.logits().iter().zip(naive) {
        let delta = (got - want).abs();
        assert!(delta <= TOL * (1.0 + want.abs()), "got {got} want {want} delta {delta}");
    }
}

/// Batched input gradients equal single calls bit for bit: on a 784-64-10 network with
/// sparse, MNIST-like inputs, and on odd shapes that exercise every tail.
#[test]
fn batched_input_gradients_equal_single_calls_bit_for_bit() {
    fn check<const I: usize, const H: usize, const O: usize, const B: usize>(seed: u64) {
        let mut p: Box<MlpParams<I, H, O>> = bytemuck::zeroed_box();
        let mut rng = SplitMix64::new(seed);
        p.for_each_slice_mut(|s| s.iter_mut().for_each(|v| *v = rng.uniform(-0.2, 0.2)));
        let model = p.as_model();
        // Inputs with runs of zeros (whole zero chunks) and a few dense ones.
        let xs: Vec<[f32; I]> = (0..B)
            .map(|b| {
                core::array::from_fn(|i| {
                    let zero_run = (i / 24 + b) % 3 == 0 && b % 4 != 3;
                    if zero_run { 0.0 } else { rng.unit() }
                })
            })
            .collect();
        let objectives: [Objective; B] = core::array::from_fn(|b| match b % 3 {
            0 => Objective::Targeted { target: b % O },
            1 => Objective::Untargeted { true_class: b % O },
            _ => Objective::TargetedMargin { target: b % O, kappa: 1.0 },
        });
        let mut ws: [_; B] = core::array::from_fn(|_| model.workspace());
        let mut batch_grads = vec![[0.0f32; I]; B];
        let refs: [&[f32; I]; B] = core::array::from_fn(|b| &xs[b]);
        let mut grad_refs = batch_grads.iter_mut();
        let grads: [&mut [f32; I]; B] = core::array::from_fn(|_| grad_refs.next().unwrap());
        let evals = model.input_gradients(refs, objectives, &mut ws, grads).unwrap();
        for b in 0..B {
            let mut single = [0.0f32; I];
            let want = model
                .input_gradient(&xs[b], objectives[b], &mut model.workspace(), &mut single)
                .unwrap();
            assert_eq!(evals[b], want, "evaluation {b}");
            assert_eq!(batch_grads[b].map(f32::to_bits), single.map(f32::to_bits), "gradient {b}");
        }
    }
    check::<784, 64, 10, 5>(1);
    check::<784, 64, 10, 8>(2);
    check::<37, 13, 4, 3>(3);
    check::<5, 2, 3, 1>(4);
}
