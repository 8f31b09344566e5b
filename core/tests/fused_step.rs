//! `Classifier::step_then_evaluate` — the gradient, the update and the next evaluation,
//! fused — gives the same bits as the three done one after the other, for every model,
//! shape and kind of update; and fails, like `input_gradient`, on a non-finite gradient.

use nudge_core::rng::SplitMix64;
use nudge_core::{Classifier, Error, LogisticRegression, MlpParams, Objective};

/// A random `I-H-O` model and `B` random inputs in `[0, 1]` with whole runs of zeros.
fn model<const I: usize, const H: usize, const O: usize>(seed: u64) -> Box<MlpParams<I, H, O>> {
    let mut p: Box<MlpParams<I, H, O>> = bytemuck::zeroed_box();
    let mut rng = SplitMix64::new(seed);
    p.for_each_slice_mut(|s| s.iter_mut().for_each(|v| *v = rng.uniform(-0.3, 0.3)));
    p
}

fn input<const I: usize>(rng: &mut SplitMix64) -> [f32; I] {
    core::array::from_fn(|i| if (i / 20) % 3 == 0 { 0.0 } else { rng.unit() })
}

/// A gradient-ascent update, element by element (it reads `original` by index, as PGD's
/// projection does).
fn ascent(original: &[f32], start: usize, x: &mut [f32], g: &[f32]) {
    for ((xi, gi), x0) in x.iter_mut().zip(g).zip(&original[start..]) {
        let moved = *xi + 0.05 * gi;
        *xi = moved.clamp(x0 - 0.3, x0 + 0.3).clamp(0.0, 1.0);
    }
}

/// `steps` steps both ways from the same input; every gradient, iterate and evaluation must
/// agree bit for bit.
fn check_same_bits<M, const I: usize, const O: usize>(
    model: &M,
    x0: [f32; I],
    objective: Objective,
    elementwise: bool,
    steps: usize,
) where
    M: Classifier<O>,
{
    let (mut ws_fused, mut ws_plain) = (model.workspace(), model.workspace());
    let (mut x_fused, mut x_plain) = (x0, x0);
    let (mut g_fused, mut g_plain) = ([0.0f32; I], [0.0f32; I]);
    let mut fused = model.evaluate_objective(&x_fused, objective, &mut ws_fused).unwrap();
    for step in 0..steps {
        let plain = model.input_gradient(&x_plain, objective, &mut ws_plain, &mut g_plain).unwrap();
        assert_eq!(fused, plain, "evaluation before step {step}");
        ascent(&x0, 0, &mut x_plain, &g_plain);
        fused = model
            .step_then_evaluate(
                &mut x_fused,
                objective,
                &mut ws_fused,
                &mut g_fused,
                elementwise,
                |start, x, g| ascent(&x0, start, x, g),
            )
            .unwrap();
        assert_eq!(g_fused.map(f32::to_bits), g_plain.map(f32::to_bits), "gradient {step}");
        assert_eq!(x_fused.map(f32::to_bits), x_plain.map(f32::to_bits), "iterate {step}");
    }
    let last = model.evaluate_objective(&x_plain, objective, &mut ws_plain).unwrap();
    assert_eq!(fused, last, "final evaluation");
}

#[test]
fn mlp_fused_step_gives_the_bits_of_the_separate_passes() {
    let mut rng = SplitMix64::new(9);
    let p = model::<784, 64, 10>(1);
    let objectives = [
        Objective::Targeted { target: 3 },
        Objective::Untargeted { true_class: 7 },
        Objective::TargetedMargin { target: 1, kappa: 0.5 },
    ];
    for objective in objectives {
        for elementwise in [true, false] {
            check_same_bits(&p.as_model(), input::<784>(&mut rng), objective, elementwise, 12);
        }
    }
    // Shapes with leftover chunks, a tail, and hidden sizes that are not whole row blocks.
    let p = model::<203, 13, 4>(2);
    check_same_bits(&p.as_model(), input::<203>(&mut rng), objectives[0], true, 12);
    let p = model::<5, 3, 2>(3);
    check_same_bits(&p.as_model(), input::<5>(&mut rng), objectives[2], true, 12);
}

#[test]
fn the_default_step_serves_other_classifiers() {
    let mut rng = SplitMix64::new(4);
    let theta: [f32; 9] = core::array::from_fn(|_| rng.uniform(-1.0, 1.0));
    let model = LogisticRegression::new(theta, 0.1).unwrap();
    let x0: [f32; 9] = core::array::from_fn(|_| rng.unit());
    check_same_bits(&model, x0, Objective::Targeted { target: 1 }, true, 8);
}

#[test]
fn updates_cover_the_input_once_in_increasing_blocks() {
    let p = model::<203, 13, 4>(5);
    let m = p.as_model();
    let mut rng = SplitMix64::new(6);
    let mut x: [f32; 203] = input(&mut rng);
    let (mut ws, mut g) = (m.workspace(), [0.0f32; 203]);
    let objective = Objective::Targeted { target: 2 };
    for elementwise in [true, false] {
        m.evaluate_objective(&x, objective, &mut ws).unwrap();
        let mut next = 0;
        let mut calls = 0;
        m.step_then_evaluate(&mut x, objective, &mut ws, &mut g, elementwise, |start, xs, gs| {
            assert_eq!(start, next, "blocks are consecutive");
            assert_eq!(xs.len(), gs.len());
            next += xs.len();
            calls += 1;
        })
        .unwrap();
        assert_eq!(next, 203, "every element once");
        if !elementwise {
            assert_eq!(calls, 1, "one whole-vector update");
        }
    }
}

#[test]
fn a_non_finite_gradient_is_an_error() {
    // Huge weights overflow the gradient to infinity.
    let mut p = model::<16, 4, 3>(7);
    p.fc1_weight.iter_mut().flatten().for_each(|w| *w = 3e38);
    p.fc2_weight.iter_mut().flatten().for_each(|w| *w *= 1e3);
    let m = p.as_model();
    let x = [0.0f32; 16];
    let (mut ws, mut g) = (m.workspace(), [0.0f32; 16]);
    let objective = Objective::Targeted { target: 0 };
    let plain = m.input_gradient(&x, objective, &mut ws, &mut g);
    assert_eq!(plain.unwrap_err(), Error::NonFiniteResult, "the plain pass fails too");
    m.evaluate_objective(&x, objective, &mut ws).unwrap();
    let mut x = x;
    let got = m.step_then_evaluate(&mut x, objective, &mut ws, &mut g, true, |_, _, _| {});
    assert_eq!(got.unwrap_err(), Error::NonFiniteResult);
}
