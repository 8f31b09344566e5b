//! The sequential-network kernel checked against references:
//! * a naive reference written from each layer's `//!` formula, generic over the float type:
//!   in f32 it must give the kernel's bits (same summation order), in f64 it is the
//!   function whose central finite differences check every input and parameter gradient;
//! * the 784-H-10 [`Mlp`] path, which a network of the same layers must match bit for bit;
//! * every malformed description, which must be a typed error.
//!
//! Finite differences: `(J(θ + h·eᵢ) − J(θ − h·eᵢ)) / 2h` with `h = 1e-5` in f64, for
//! `J = r·z` (a random direction `r` over the logits). A coordinate whose perturbation
//! changes a ReLU's sign or a max-pool's winner (the function is not differentiable
//! between) is skipped; at most a few per case are.

// The naive references index on purpose: they spell out the textbook loops.
#![allow(clippy::needless_range_loop)]

use nudge_core::network::NetworkProblem;
use nudge_core::network::{NetworkWorkspace, format};
use nudge_core::rng::SplitMix64;
use nudge_core::{
    Attack, Classifier, Error, Goal, GradientAscent, LayerSpec, Mlp, MlpParams, Network, Objective,
    PgdLinf, Shape, Window, attack::AttackScratch,
};
use proptest::prelude::*;

/// Finite-difference step (f64).
const H: f64 = 1e-5;
/// Gradient comparison: `|got − want| ≤ ATOL·scale + RTOL·|want|`, where `scale` is the
/// largest |want| of the case (the f32 kernel against the f64 function).
const ATOL: f64 = 2e-4;
const RTOL: f64 = 2e-3;

// ---------------------------------------------------------------------------------------
// The reference: the layers' formulas, literally.

trait Float: Copy + PartialOrd + core::ops::Add<Output = Self> + core::ops::Mul<Output = Self> {
    const ZERO: Self;
    fn div_count(self, n: usize) -> Self;
}
impl Float for f32 {
    const ZERO: Self = 0.0;
    fn div_count(self, n: usize) -> Self {
        self / n as f32
    }
}
impl Float for f64 {
    const ZERO: Self = 0.0;
    fn div_count(self, n: usize) -> Self {
        self / n as f64
    }
}

/// The kernel's dot product order: 8 lanes, then the fixed tree (`linalg::reduce`).
fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    let mut s = [T::ZERO; 8];
    for i in 0..a.len() {
        s[i % 8] = s[i % 8] + a[i] * b[i];
    }
    ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]))
}

/// Non-differentiable decisions of a forward pass: ReLU signs and max-pool winners.
#[derive(PartialEq, Debug, Default)]
struct Pattern(Vec<usize>);

/// The forward pass of `layers` with parameters `theta`; returns the logits.
fn reference<T: Float>(
    input: Shape,
    layers: &[LayerSpec],
    theta: &[T],
    x: &[T],
    pattern: &mut Pattern,
) -> Vec<T> {
    let (mut shape, mut a, mut offset) = (input, x.to_vec(), 0);
    for spec in layers {
        let (out, n_w, n_b) = spec.output_shape(shape).unwrap();
        let (w, b) = (&theta[offset..offset + n_w], &theta[offset + n_w..offset + n_w + n_b]);
        offset += n_w + n_b;
        let (c_in, h, wd) = (shape.channels, shape.height, shape.width);
        let mut y = vec![T::ZERO; out.len()];
        match *spec {
            LayerSpec::Dense { outputs } => {
                for r in 0..outputs {
                    y[r] = dot(&w[r * a.len()..(r + 1) * a.len()], &a) + b[r];
                }
            }
            LayerSpec::Conv2d { window, padding, .. } => {
                let [kh, kw] = window.kernel;
                for o in 0..out.channels {
                    for oy in 0..out.height {
                        for ox in 0..out.width {
                            let mut s = T::ZERO;
                            for c in 0..c_in {
                                for ky in 0..kh {
                                    for kx in 0..kw {
                                        let iy = (oy * window.stride[0] + ky) as isize
                                            - padding[0] as isize;
                                        let ix = (ox * window.stride[1] + kx) as isize
                                            - padding[1] as isize;
                                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize
                                        {
                                            continue;
                                        }
                                        let (iy, ix) = (iy as usize, ix as usize);
                                        s = s + w[((o * c_in + c) * kh + ky) * kw + kx]
                                            * a[(c * h + iy) * wd + ix];
                                    }
                                }
                            }
                            y[(o * out.height + oy) * out.width + ox] = s + b[o];
                        }
                    }
                }
            }
            LayerSpec::MaxPool2d(window) | LayerSpec::AvgPool2d(window) => {
                let is_max = matches!(spec, LayerSpec::MaxPool2d(_));
                let [kh, kw] = window.kernel;
                for c in 0..c_in {
                    for oy in 0..out.height {
                        for ox in 0..out.width {
                            let (mut best, mut arg, mut sum) = (None::<T>, 0, T::ZERO);
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let k = (c * h + oy * window.stride[0] + ky) * wd
                                        + ox * window.stride[1]
                                        + kx;
                                    if best.is_none_or(|v| a[k] > v) {
                                        (best, arg) = (Some(a[k]), k);
                                    }
                                    sum = sum + a[k];
                                }
                            }
                            let i = (c * out.height + oy) * out.width + ox;
                            if is_max {
                                y[i] = best.unwrap();
                                pattern.0.push(arg);
                            } else {
                                y[i] = sum.div_count(kh * kw);
                            }
                        }
                    }
                }
            }
            LayerSpec::Relu => {
                for i in 0..a.len() {
                    let on = a[i] > T::ZERO;
                    pattern.0.push(usize::from(on));
                    y[i] = if on { a[i] } else { T::ZERO };
                }
            }
            LayerSpec::Flatten => y.clone_from(&a),
        }
        (shape, a) = (out, y);
    }
    a
}

// ---------------------------------------------------------------------------------------
// Random networks.

/// A random network description over a random input shape, with random weights.
#[derive(Debug, Clone)]
struct Case {
    input: Shape,
    layers: Vec<LayerSpec>,
    theta: Vec<f32>,
    x: Vec<f32>,
    r: Vec<f32>,
}

fn random_case(seed: u64) -> Case {
    let mut rng = SplitMix64::new(seed);
    let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
    let input = Shape::new(1 + pick(3), 3 + pick(8), 3 + pick(8));
    let mut layers = Vec::new();
    let mut shape = input;
    // Up to three spatial stages, each a conv (any kernel, stride, padding) or a pool,
    // sometimes followed by a ReLU.
    for _ in 0..1 + pick(3) {
        let k = [1 + pick(3), 1 + pick(3)];
        let s = [1 + pick(2), 1 + pick(2)];
        let spec = match pick(4) {
            0 => LayerSpec::MaxPool2d(Window { kernel: k, stride: s }),
            1 => LayerSpec::AvgPool2d(Window { kernel: k, stride: s }),
            _ => LayerSpec::Conv2d {
                out_channels: 1 + pick(4),
                window: Window { kernel: k, stride: s },
                padding: [pick(k[0]), pick(k[1])],
            },
        };
        let Ok((out, _, _)) = spec.output_shape(shape) else { continue };
        layers.push(spec);
        shape = out;
        if pick(2) == 0 {
            layers.push(LayerSpec::Relu);
        }
    }
    layers.push(LayerSpec::Flatten);
    if pick(2) == 0 {
        layers.push(LayerSpec::Dense { outputs: 2 + pick(7) });
        layers.push(LayerSpec::Relu);
    }
    layers.push(LayerSpec::Dense { outputs: 2 + pick(5) });
    let n_params = count_params(input, &layers);
    let mut rng = SplitMix64::new(seed ^ 0xABCD);
    let theta = (0..n_params).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let x = (0..input.len()).map(|_| rng.uniform(0.0, 1.0)).collect();
    let classes = Network::new(input, &layers, &vec![0.0; n_params]).unwrap().classes();
    let r = (0..classes).map(|_| rng.uniform(-1.0, 1.0)).collect();
    Case { input, layers, theta, x, r }
}

fn count_params(input: Shape, layers: &[LayerSpec]) -> usize {
    nudge_core::network::param_count(input, layers).unwrap()
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// `J = r·z` in f64, with the pattern of the pass.
fn objective(case: &Case, theta: &[f64], x: &[f64]) -> (f64, Pattern) {
    let mut pattern = Pattern::default();
    let z = reference(case.input, &case.layers, theta, x, &mut pattern);
    (z.iter().zip(&case.r).map(|(z, &r)| z * f64::from(r)).sum(), pattern)
}

/// Central differences of `J` along each coordinate of `v` (`which` picks θ or x), `None`
/// where the perturbation crosses a kink.
fn finite_differences(case: &Case, perturb_theta: bool) -> Vec<Option<f64>> {
    let (theta, x) = (f64s(&case.theta), f64s(&case.x));
    let (_, base) = objective(case, &theta, &x);
    let n = if perturb_theta { theta.len() } else { x.len() };
    (0..n)
        .map(|i| {
            let eval = |d: f64| {
                let (mut t, mut xs) = (theta.clone(), x.clone());
                if perturb_theta {
                    t[i] += d
                } else {
                    xs[i] += d
                }
                objective(case, &t, &xs)
            };
            let ((plus, p1), (minus, p2)) = (eval(H), eval(-H));
            (p1 == base && p2 == base).then_some((plus - minus) / (2.0 * H))
        })
        .collect()
}

fn assert_close(what: &str, got: &[f32], want: &[Option<f64>], case: &Case) {
    let scale = want.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-3);
    let skipped = want.iter().filter(|w| w.is_none()).count();
    assert!(
        skipped <= 2 + want.len() / 20,
        "{what}: {skipped} of {} coordinates at kinks",
        want.len()
    );
    for (i, (&g, w)) in got.iter().zip(want).enumerate() {
        let Some(w) = *w else { continue };
        let delta = (f64::from(g) - w).abs();
        assert!(
            delta <= ATOL * scale + RTOL * w.abs(),
            "{what}[{i}]: got {g}, want {w}, delta {delta} (scale {scale}); layers {:?} input {:?}",
            case.layers,
            case.input
        );
    }
}

/// The kernel's logits, input gradient and parameter gradient for `J = r·z`.
fn kernel(case: &Case) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let net = Network::new(case.input, &case.layers, &case.theta).unwrap();
    let mut arena = vec![f32::NAN; net.arena_len()];
    let logits = net.forward(&case.x, &mut arena).unwrap().to_vec();
    let mut dx = vec![f32::NAN; case.x.len()];
    let mut dtheta = vec![0.0; net.param_count()];
    net.backward(&case.x, &mut arena, &case.r, Some(&mut dx), Some(&mut dtheta)).unwrap();
    (logits, dx, dtheta)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every layer kind, random shapes (odd sizes, strides, padding): the forward pass is
    /// the naive f32 reference bit for bit, and close to the f64 one.
    #[test]
    fn forward_is_the_reference_bit_for_bit(seed in any::<u64>()) {
        let case = random_case(seed);
        let (logits, _, _) = kernel(&case);
        let naive = reference(case.input, &case.layers, &case.theta, &case.x, &mut Pattern::default());
        prop_assert_eq!(
            logits.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            naive.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    /// ∇ₓJ against central differences of the f64 reference.
    #[test]
    fn input_gradient_matches_finite_differences(seed in any::<u64>()) {
        let case = random_case(seed);
        let (_, dx, _) = kernel(&case);
        assert_close("∇x", &dx, &finite_differences(&case, false), &case);
    }

    /// ∇θJ against central differences of the f64 reference.
    #[test]
    fn parameter_gradient_matches_finite_differences(seed in any::<u64>()) {
        let case = random_case(seed);
        let (_, _, dtheta) = kernel(&case);
        assert_close("∇θ", &dtheta, &finite_differences(&case, true), &case);
    }
}

#[test]
fn max_pool_ties_go_to_the_first_maximum_in_row_major_order() {
    // One 2×2 window of equal values: the gradient goes to (0, 0) only.
    let layers = [
        LayerSpec::MaxPool2d(Window::square(2, 2)),
        LayerSpec::Flatten,
        LayerSpec::Dense { outputs: 2 },
    ];
    let theta = [1.0, -1.0, 0.0, 0.0];
    let net = Network::new(Shape::new(1, 2, 2), &layers, &theta).unwrap();
    let x = [0.5; 4];
    let mut arena = vec![0.0; net.arena_len()];
    net.forward(&x, &mut arena).unwrap();
    let mut dx = [9.0; 4];
    net.backward(&x, &mut arena, &[1.0, 0.0], Some(&mut dx), None).unwrap();
    assert_eq!(dx, [1.0, 0.0, 0.0, 0.0]);
}

// ---------------------------------------------------------------------------------------
// The MLP as a network: the same bits as `Mlp`.

const IN: usize = 37;
const HIDDEN: usize = 9;
const OUT: usize = 5;

fn mlp_params(seed: u64) -> Box<MlpParams<IN, HIDDEN, OUT>> {
    let mut rng = SplitMix64::new(seed);
    let mut p: Box<MlpParams<IN, HIDDEN, OUT>> = bytemuck::zeroed_box();
    p.for_each_slice_mut(|s| s.iter_mut().for_each(|v| *v = rng.uniform(-0.5, 0.5)));
    p
}

fn mlp_layers() -> [LayerSpec; 3] {
    [LayerSpec::Dense { outputs: HIDDEN }, LayerSpec::Relu, LayerSpec::Dense { outputs: OUT }]
}

fn flat_params(p: &MlpParams<IN, HIDDEN, OUT>) -> Vec<f32> {
    p.as_model().parts().concat()
}

#[test]
fn an_mlp_network_gives_the_bits_of_mlp() {
    let p = mlp_params(3);
    let theta = flat_params(&p);
    let mlp: Mlp<'_, IN, HIDDEN, OUT> = p.as_model();
    let net = Network::new(Shape::flat(IN), &mlp_layers(), &theta).unwrap();
    let classifier = net.classifier::<HeapArena, OUT>().unwrap();
    let mut rng = SplitMix64::new(17);
    for k in 0..50 {
        let mut x: [f32; IN] = core::array::from_fn(|_| rng.uniform(0.0, 1.0));
        // Half the inputs have all-zero chunks of 8, which the first layer skips.
        if k % 2 == 0 {
            x.iter_mut().enumerate().filter(|(i, _)| (i / 8) % 3 != 1).for_each(|(_, v)| *v = 0.0);
        }
        let objective = Objective::Targeted { target: k % OUT };
        let (mut g_mlp, mut g_net) = ([0.0; IN], [0.0; IN]);
        let a = mlp.input_gradient(&x, objective, &mut mlp.workspace(), &mut g_mlp).unwrap();
        let b = classifier
            .input_gradient(&x, objective, &mut classifier.workspace(), &mut g_net)
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(g_mlp.map(f32::to_bits), g_net.map(f32::to_bits));

        let mut grad_mlp: Box<MlpParams<IN, HIDDEN, OUT>> = bytemuck::zeroed_box();
        mlp.accumulate_parameter_gradient(&x, objective, &mut mlp.workspace(), &mut grad_mlp)
            .unwrap();
        let mut grad_net = vec![0.0; net.param_count()];
        classifier
            .accumulate_parameter_gradient(
                &x,
                objective,
                &mut classifier.workspace(),
                &mut grad_net,
            )
            .unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&flat_params(&grad_mlp)), bits(&grad_net));
    }
}

/// The host's arena: a heap buffer (what `nudge-host` does with its own type).
#[derive(Debug, Clone)]
struct HeapArena(Vec<f32>);
impl nudge_core::network::ArenaStorage for HeapArena {
    fn zeroed(len: usize) -> Self {
        HeapArena(vec![0.0; len])
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.0
    }
    fn can_hold(_: usize) -> bool {
        true
    }
}

#[test]
fn every_attack_runs_on_a_network_with_the_bits_of_mlp() {
    let p = mlp_params(5);
    let theta = flat_params(&p);
    let mlp: Mlp<'_, IN, HIDDEN, OUT> = p.as_model();
    let net = Network::new(Shape::flat(IN), &mlp_layers(), &theta).unwrap();
    let classifier = net.classifier::<HeapArena, OUT>().unwrap();
    let x: [f32; IN] = core::array::from_fn(|i| (i as f32 * 0.37).sin().abs());
    let class = mlp.predict(&x, &mut mlp.workspace()).unwrap().class;
    let goal = Goal::targeted(class, (class + 1) % OUT);
    let gradient = GradientAscent::new(0.05, 60);
    let pgd = PgdLinf { random_start: Some(7), ..PgdLinf::new(0.2, 0.02, 40) };
    let fgsm = nudge_core::Fgsm::new(0.1);
    let pgd_l2 = nudge_core::PgdL2::new(1.0, 0.1, 30);
    assert_eq!(run(&gradient, &mlp, &x, goal), run(&gradient, &classifier, &x, goal));
    assert_eq!(run(&pgd, &mlp, &x, goal), run(&pgd, &classifier, &x, goal));
    assert_eq!(run(&fgsm, &mlp, &x, goal), run(&fgsm, &classifier, &x, goal));
    assert_eq!(run(&pgd_l2, &mlp, &x, goal), run(&pgd_l2, &classifier, &x, goal));
}

/// `attack` on `model` from `x`: its report and the adversarial image's bits.
fn run<A: Attack, M: Classifier<OUT>>(
    attack: &A,
    model: &M,
    x: &[f32; IN],
    goal: Goal,
) -> (nudge_core::AttackReport, [u32; IN]) {
    let mut adv = [0.0; IN];
    let mut scratch = AttackScratch::<_, [f32; IN]>::for_model(model);
    let report = attack.run(model, x, goal, &mut adv, &mut scratch, &mut ()).unwrap();
    (report, adv.map(f32::to_bits))
}

#[test]
fn a_cnn_is_attacked_through_the_same_trait() {
    let layers = [
        LayerSpec::Conv2d { out_channels: 3, window: Window::square(3, 1), padding: [1, 1] },
        LayerSpec::Relu,
        LayerSpec::MaxPool2d(Window::square(2, 2)),
        LayerSpec::Flatten,
        LayerSpec::Dense { outputs: 4 },
    ];
    let input = Shape::new(1, 6, 6);
    let mut rng = SplitMix64::new(11);
    let theta: Vec<f32> =
        (0..count_params(input, &layers)).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let net = Network::new(input, &layers, &theta).unwrap();
    // A fixed arena, as on a device.
    let classifier = net.classifier::<[f32; 512], 4>().unwrap();
    let x: [f32; 36] = core::array::from_fn(|_| rng.uniform(0.0, 1.0));
    let class = classifier.predict(&x, &mut classifier.workspace()).unwrap().class;
    let goal = Goal::untargeted(class);
    let mut adv = [0.0; 36];
    let mut scratch = AttackScratch::<_, [f32; 36]>::for_model(&classifier);
    let report = PgdLinf::new(0.5, 0.05, 100)
        .run(&classifier, &x, goal, &mut adv, &mut scratch, &mut ())
        .unwrap();
    assert!(report.success, "{report:?}");
    let after = classifier.predict(&adv, &mut classifier.workspace()).unwrap();
    assert_ne!(after.class, class);
    assert!(adv.iter().zip(&x).all(|(a, x)| (a - x).abs() <= 0.5 + 1e-6));
    // Too small a fixed arena is refused up front.
    assert!(matches!(net.classifier::<[f32; 8], 4>(), Err(Error::ArenaTooSmall { .. })));
    assert!(matches!(
        net.classifier::<[f32; 512], 3>(),
        Err(Error::ClassCapacity { classes: 4, capacity: 3 })
    ));
    // A capacity above the class count serves, and an input of the wrong length is a
    // typed error, not a panic.
    let roomy = net.classifier::<[f32; 512], 16>().unwrap();
    let mut ws = roomy.workspace();
    assert_eq!(roomy.predict(&x, &mut ws).unwrap().probabilities().len(), 4);
    assert!(matches!(
        roomy.predict(&x[..35], &mut ws),
        Err(Error::Length { what: "input", expected: 36, found: 35 })
    ));
    let _: NetworkWorkspace<[f32; 512], 4> = classifier.workspace();
}

/// A classifier with only the trait's required methods: attacks on it run the default,
/// unfused step (input gradient with its own forward pass, update, evaluation).
struct Unfused<'a, M>(&'a M);

impl<M: Classifier<O>, const O: usize> Classifier<O> for Unfused<'_, M> {
    type Workspace = M::Workspace;
    fn input_len(&self) -> usize {
        self.0.input_len()
    }
    fn classes(&self) -> usize {
        self.0.classes()
    }
    fn workspace(&self) -> M::Workspace {
        self.0.workspace()
    }
    fn predict(
        &self,
        x: &[f32],
        ws: &mut M::Workspace,
    ) -> Result<nudge_core::Prediction<O>, Error> {
        self.0.predict(x, ws)
    }
    fn input_gradient(
        &self,
        x: &[f32],
        objective: nudge_core::Objective,
        ws: &mut M::Workspace,
        gradient: &mut [f32],
    ) -> Result<nudge_core::model::Evaluation<O>, Error> {
        self.0.input_gradient(x, objective, ws, gradient)
    }
}

#[test]
fn a_network_step_reuses_the_last_forward_pass_with_the_same_bits() {
    let layers = [
        LayerSpec::Conv2d { out_channels: 3, window: Window::square(3, 1), padding: [1, 1] },
        LayerSpec::Relu,
        LayerSpec::AvgPool2d(Window::square(2, 2)),
        LayerSpec::Conv2d { out_channels: 2, window: Window::square(2, 1), padding: [0, 0] },
        LayerSpec::Relu,
        LayerSpec::Flatten,
        LayerSpec::Dense { outputs: 4 },
    ];
    let input = Shape::new(1, 6, 6);
    for seed in 0..6 {
        let mut rng = SplitMix64::new(100 + seed);
        let theta: Vec<f32> =
            (0..count_params(input, &layers)).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let net = Network::new(input, &layers, &theta).unwrap();
        let fused = net.classifier::<[f32; 512], 4>().unwrap();
        let unfused = Unfused(&fused);
        let x: [f32; 36] = core::array::from_fn(|_| rng.uniform(0.0, 1.0));
        assert_attacks_agree(&fused, &unfused, &x, seed);
    }
}

/// With AVX the step of a network whose first computing layer is dense streams that
/// layer's weights once (`network/step.rs`): the same bits as the unfused default, for
/// inputs of whole column blocks, leftover chunks and a tail, widths that are not a
/// multiple of the row blocks, with or without a Flatten first, sparse and dense inputs.
/// (Without AVX both sides take the unfused path and agree trivially.)
#[test]
fn a_dense_first_network_fuses_its_step_with_the_same_bits() {
    let hidden = [LayerSpec::Dense { outputs: 13 }, LayerSpec::Relu];
    let rest = [LayerSpec::Dense { outputs: 7 }, LayerSpec::Relu, LayerSpec::Dense { outputs: 4 }];
    let flat: Vec<LayerSpec> = hidden.iter().chain(&rest).copied().collect();
    let flattened: Vec<LayerSpec> =
        [LayerSpec::Flatten].iter().chain(&hidden).chain(&rest).copied().collect();
    // 205 inputs = 25 chunks of 8 (two blocks of 12 and one more with AVX) and a tail of 5.
    let cases = [(Shape::flat(205), &flat), (Shape::new(1, 5, 41), &flattened)];
    for (seed, (input, layers)) in (0..6).zip(cases.iter().cycle()) {
        let mut rng = SplitMix64::new(300 + seed);
        let theta: Vec<f32> =
            (0..count_params(*input, layers)).map(|_| rng.uniform(-0.3, 0.3)).collect();
        let net = Network::new(*input, layers, &theta).unwrap();
        let fused = net.classifier::<[f32; 1024], 4>().unwrap();
        let unfused = Unfused(&fused);
        let sparse = seed % 2 == 0;
        let x: [f32; 205] = core::array::from_fn(|i| {
            if sparse && (i / 20) % 3 == 0 { 0.0 } else { rng.uniform(0.0, 1.0) }
        });
        assert_attacks_agree(&fused, &unfused, &x, seed);
    }
}

/// Gradient ascent, PGD L∞ (random start from `seed`) and PGD L2 toward both goals from
/// `x` (untargeted, and the next class) give the same reports and adversarial bits on `a`
/// and on `b`.
fn assert_attacks_agree<const N: usize, A: Classifier<4>, B: Classifier<4>>(
    a: &A,
    b: &B,
    x: &[f32; N],
    seed: u64,
) {
    let class = a.predict(x, &mut a.workspace()).unwrap().class;
    for goal in [Goal::untargeted(class), Goal::targeted(class, (class + 1) % 4)] {
        let gradient = GradientAscent::new(0.05, 30);
        let pgd = PgdLinf { random_start: Some(seed), ..PgdLinf::new(0.3, 0.03, 25) };
        let pgd_l2 = nudge_core::PgdL2::new(1.0, 0.1, 20);
        assert_eq!(run_on(&gradient, a, x, goal), run_on(&gradient, b, x, goal));
        assert_eq!(run_on(&pgd, a, x, goal), run_on(&pgd, b, x, goal));
        assert_eq!(run_on(&pgd_l2, a, x, goal), run_on(&pgd_l2, b, x, goal));
    }
}

/// `attack` on an `N`-input, 4-class `model` from `x`: its report and the adversarial bits.
fn run_on<const N: usize, A: Attack, M: Classifier<4>>(
    attack: &A,
    model: &M,
    x: &[f32; N],
    goal: Goal,
) -> (nudge_core::AttackReport, [u32; N]) {
    let mut adv = [0.0; N];
    let mut scratch = AttackScratch::<_, [f32; N]>::for_model(model);
    let report = attack.run(model, x, goal, &mut adv, &mut scratch, &mut ()).unwrap();
    (report, adv.map(f32::to_bits))
}

// ---------------------------------------------------------------------------------------
// The byte format, and bad descriptions.

fn blob(net: &Network<'_>, theta: &[f32]) -> Vec<u32> {
    // u32 words keep the buffer 4-byte aligned.
    let mut header = vec![0u8; format::header_len(net.layers().len())];
    format::write_header(net, &mut header).unwrap();
    let mut words: Vec<u32> =
        header.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    words.extend(theta.iter().map(|v| v.to_bits()));
    words
}

fn bytes(words: &[u32]) -> &[u8] {
    bytemuck::cast_slice(words)
}

#[test]
fn the_byte_format_round_trips() {
    for seed in 0..20 {
        let case = random_case(seed);
        let net = Network::new(case.input, &case.layers, &case.theta).unwrap();
        let words = blob(&net, &case.theta);
        let back = Network::from_bytes(bytes(&words)).unwrap();
        let specs: Vec<_> = back.layers().iter().map(|l| l.spec).collect();
        assert_eq!(specs, case.layers);
        assert_eq!(back.input_shape(), case.input);
        let mut a1 = vec![0.0; net.arena_len()];
        let mut a2 = vec![0.0; back.arena_len()];
        let z1 = net.forward(&case.x, &mut a1).unwrap().to_vec();
        assert_eq!(z1, back.forward(&case.x, &mut a2).unwrap());
    }
}

#[test]
fn every_malformed_blob_is_a_typed_error() {
    let case = random_case(1);
    let net = Network::new(case.input, &case.layers, &case.theta).unwrap();
    let good = blob(&net, &case.theta);
    let invalid = |layer, problem| Err(Error::InvalidNetwork { layer, problem });
    let with = |i: usize, v: u32| {
        let mut w = good.clone();
        w[i] = v;
        w
    };
    let parse = |w: &[u32]| Network::from_bytes(bytes(w)).map(|_| ());
    assert_eq!(parse(&with(0, 0)), invalid(None, NetworkProblem::BadMagic));
    assert_eq!(parse(&with(1, 2)), invalid(None, NetworkProblem::UnsupportedVersion { found: 2 }));
    assert_eq!(parse(&with(2, 0)), invalid(None, NetworkProblem::NoLayers));
    assert_eq!(parse(&with(2, 33)), invalid(None, NetworkProblem::TooManyLayers));
    assert_eq!(parse(&with(7, 1)), invalid(None, NetworkProblem::UnusedFieldSet));
    assert_eq!(
        parse(&with(8, 99)),
        invalid(Some(0), NetworkProblem::UnknownLayerKind { kind: 99 })
    );
    assert_eq!(parse(&with(3, 0)), invalid(None, NetworkProblem::BadSize));
    let n = good.len();
    assert!(matches!(parse(&good[..n - 1]), Err(Error::ByteLength { .. })));
    assert!(matches!(parse(&good[..3]), Err(Error::ByteLength { .. })));
    assert!(matches!(
        parse(&with(6, 1)),
        Err(Error::InvalidNetwork { problem: NetworkProblem::ParameterCount { .. }, .. })
    ));
    let header_words = format::header_len(case.layers.len()) / 4;
    assert_eq!(
        parse(&with(header_words + 2, f32::NAN.to_bits())),
        Err(Error::NonFiniteWeight { index: 2 })
    );
    // Misaligned: the same bytes one byte later.
    let mut shifted = vec![0u8; n * 4 + 1];
    shifted[1..].copy_from_slice(bytes(&good));
    assert_eq!(
        Network::from_bytes(&shifted[1..]).map(|_| ()),
        Err(Error::Misaligned { required: 4 })
    );
    // Any truncation or corruption is an error or a valid network, never a panic.
    let raw = bytes(&good).to_vec();
    for cut in 0..raw.len().min(400) {
        let mut w = vec![0u32; cut.div_ceil(4)];
        bytemuck::cast_slice_mut::<u32, u8>(&mut w)[..cut].copy_from_slice(&raw[..cut]);
        let _ = Network::from_bytes(&bytemuck::cast_slice::<u32, u8>(&w)[..cut]);
    }
}

#[test]
fn inconsistent_descriptions_name_the_layer() {
    let flat = Shape::flat(4);
    let image = Shape::new(1, 4, 4);
    let dense = LayerSpec::Dense { outputs: 3 };
    let problem = |input, layers: &[LayerSpec], n| match Network::new(input, layers, &vec![0.0; n])
    {
        Err(Error::InvalidNetwork { layer, problem }) => Some((layer, problem)),
        _ => None,
    };
    assert_eq!(problem(image, &[dense], 51), Some((Some(0), NetworkProblem::NeedsFlatInput)));
    let big_pool = LayerSpec::MaxPool2d(Window::square(5, 1));
    assert_eq!(
        problem(image, &[big_pool], 0),
        Some((Some(0), NetworkProblem::KernelLargerThanInput))
    );
    let padded =
        LayerSpec::Conv2d { out_channels: 1, window: Window::square(2, 1), padding: [2, 0] };
    assert_eq!(
        problem(image, &[padded], 5),
        Some((Some(0), NetworkProblem::PaddingNotBelowKernel))
    );
    let zero_stride = LayerSpec::AvgPool2d(Window { kernel: [2, 2], stride: [0, 1] });
    assert_eq!(problem(image, &[zero_stride], 0), Some((Some(0), NetworkProblem::BadSize)));
    assert_eq!(
        problem(image, &[LayerSpec::Relu], 0),
        Some((Some(0), NetworkProblem::OutputNotFlat))
    );
    assert_eq!(
        problem(flat, &[LayerSpec::Dense { outputs: 1 }], 5),
        Some((Some(0), NetworkProblem::TooFewClasses))
    );
    assert_eq!(problem(flat, &[], 0), Some((None, NetworkProblem::NoLayers)));
    assert_eq!(problem(Shape::new(0, 1, 1), &[dense], 3), Some((None, NetworkProblem::BadSize)));
    let huge = LayerSpec::Dense { outputs: usize::MAX / 2 };
    assert_eq!(problem(flat, &[huge], 0), Some((Some(0), NetworkProblem::BadSize)));
    assert_eq!(
        Network::new(flat, &[dense], &[0.0; 14]).map(|_| ()),
        Err(Error::Length { what: "parameters", expected: 15, found: 14 })
    );
    let mut theta = [0.0; 15];
    theta[13] = f32::INFINITY;
    assert_eq!(
        Network::new(flat, &[dense], &theta).map(|_| ()),
        Err(Error::NonFiniteWeight { index: 13 })
    );
}

#[test]
fn passes_refuse_bad_buffers_with_typed_errors() {
    let theta = [0.5; 15];
    let net = Network::new(Shape::flat(4), &[LayerSpec::Dense { outputs: 3 }], &theta).unwrap();
    let mut arena = vec![0.0; net.arena_len()];
    assert_eq!(
        net.forward(&[0.0; 3], &mut arena).map(|_| ()),
        Err(Error::Length { what: "input", expected: 4, found: 3 })
    );
    assert_eq!(
        net.forward(&[0.0, f32::NAN, 0.0, 0.0], &mut arena).map(|_| ()),
        Err(Error::NonFiniteInput { index: 1 })
    );
    let mut small = vec![0.0; net.arena_len() - 1];
    assert!(matches!(net.forward(&[0.0; 4], &mut small), Err(Error::ArenaTooSmall { .. })));
    net.forward(&[0.0; 4], &mut arena).unwrap();
    assert!(matches!(
        net.backward(&[0.0; 4], &mut arena, &[1.0; 2], None, None),
        Err(Error::Length { .. })
    ));
    assert!(matches!(
        net.backward(&[0.0; 4], &mut arena, &[1.0; 3], Some(&mut [0.0; 5]), None),
        Err(Error::Length { .. })
    ));
    assert!(matches!(
        net.backward(&[0.0; 4], &mut arena, &[1.0; 3], None, Some(&mut [0.0; 14])),
        Err(Error::Length { .. })
    ));
}
