//! The headline: one forward pass, and one forward pass plus `∇ₓ log softmax(z)[TARGET]`,
//! of a `784-H-10` MLP on one image, for `H ∈ {32, 64, 128}`.
//!
//! Throughput is in FLOPs (criterion's "elements"), counted densely
//! ([`forward_input_grad_flops`]), so `elem/s` reads as FLOP/s.
//!
//! The input is a clean digit (MNIST test image 1 when available), whose all-zero pixel
//! chunks the first layer skips. `forward_input_grad_dense/64` times the same call on that
//! digit plus uniform noise in `[0, 0.05]` (no zero pixels), the state of an image a few
//! steps into an attack, where nothing can be skipped in the first layer.
//! `step_then_evaluate_dense/64` is the attack loop's kernel on that input: the gradient
//! and the next forward pass fused into one stream over `W₁`
//! ([`Classifier::step_then_evaluate`]), with an update that leaves `x` as it is so every
//! iteration does the same work.
//!
//! The sequential-network kernel ([`nudge_core::Network`]) on the same image:
//! `network_forward_input_grad/64` is the `784-64-10` MLP above run as a network (the same
//! bits; the ratio to `forward_input_grad/64` is the price of runtime shapes), and
//! `forward_input_grad/cnn` a small CNN, `conv8k3 → relu → maxpool2 → conv16k3 → relu →
//! maxpool2 → dense10` (FLOPs: `4·MACs`, a multiply and an add per weight use, forward and
//! backward).

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, measurement::WallTime};
use nudge_benches::{
    IN, MODEL_SEED, OUT, TARGET, active_fraction, bench_image, forward_flops,
    forward_input_grad_flops, kernel_forward_input_grad, nonzero_chunk_fraction, nonzero_fraction,
    random_params,
};
use nudge_core::network::{Network, NetworkClassifier, NetworkWorkspace};
use nudge_core::rng::SplitMix64;
use nudge_core::{Classifier, LayerSpec, Objective, Shape, Window};
use std::hint::black_box;

fn for_hidden<const H: usize>(group: &mut BenchmarkGroup<'_, WallTime>) {
    let params = random_params::<H>(MODEL_SEED);
    let model = params.as_model();
    let (x, source) = bench_image();
    let mut ws = model.workspace();
    let mut grad = [0.0f32; IN];
    eprintln!(
        "H={H}: input {source}: {:.1}% nonzero pixels, {:.1}% nonzero 8-pixel chunks; \
         {:.1}% of hidden units active",
        100.0 * nonzero_fraction(&x),
        100.0 * nonzero_chunk_fraction(&x),
        100.0 * active_fraction(&params, &x)
    );

    group.throughput(Throughput::Elements(forward_flops(H)));
    group.bench_function(BenchmarkId::new("forward", H), |b| {
        b.iter(|| model.predict(black_box(&x), &mut ws).expect("finite"));
    });
    group.throughput(Throughput::Elements(forward_input_grad_flops(H)));
    group.bench_function(BenchmarkId::new("forward_input_grad", H), |b| {
        b.iter(|| {
            kernel_forward_input_grad(&model, black_box(&x), &mut ws, &mut grad);
            black_box(&grad);
        });
    });
    if H == 64 {
        let mut rng = SplitMix64::new(0xD3_05E);
        let noisy: [f32; IN] = core::array::from_fn(|i| x[i] + rng.uniform(0.0, 0.05));
        eprintln!(
            "H={H}: dense input: {:.1}% nonzero pixels; {:.1}% of hidden units active",
            100.0 * nonzero_fraction(&noisy),
            100.0 * active_fraction(&params, &noisy)
        );
        group.bench_function(BenchmarkId::new("forward_input_grad_dense", H), |b| {
            b.iter(|| {
                kernel_forward_input_grad(&model, black_box(&noisy), &mut ws, &mut grad);
                black_box(&grad);
            });
        });
        let objective = Objective::Targeted { target: TARGET };
        let mut x = noisy;
        model.evaluate_objective(&x, objective, &mut ws).expect("finite");
        group.bench_function(BenchmarkId::new("step_then_evaluate_dense", H), |b| {
            b.iter(|| {
                let keep = |_: usize, _: &mut [f32], _: &[f32]| {};
                let step =
                    model.step_then_evaluate(&mut x, objective, &mut ws, &mut grad, true, keep);
                black_box(step.expect("finite"))
            });
        });
    }
}

/// `∇ₓ log p(TARGET)` through a network's classifier (forward and backward, a heap arena).
fn network_forward_input_grad(
    classifier: &NetworkClassifier<'_, Vec<f32>, OUT>,
    x: &[f32; IN],
    ws: &mut NetworkWorkspace<Vec<f32>, OUT>,
    grad: &mut [f32; IN],
) {
    let objective = Objective::Targeted { target: TARGET };
    classifier.input_gradient(x, objective, ws, grad).expect("finite");
}

/// The MLP of `for_hidden::<64>` as a network, and a small CNN with random weights.
fn networks(group: &mut BenchmarkGroup<'_, WallTime>) {
    let (x, _) = bench_image();
    let mut grad = [0.0f32; IN];
    let params = random_params::<64>(MODEL_SEED);
    let theta = params.as_model().parts().concat();
    let mlp =
        [LayerSpec::Dense { outputs: 64 }, LayerSpec::Relu, LayerSpec::Dense { outputs: OUT }];
    let network = Network::new(Shape::flat(IN), &mlp, &theta).expect("valid MLP");
    let classifier = network.classifier::<Vec<f32>, OUT>().expect("784 in, 10 out");
    let mut ws = classifier.workspace();
    group.throughput(Throughput::Elements(forward_input_grad_flops(64)));
    group.bench_function(BenchmarkId::new("network_forward_input_grad", 64), |b| {
        b.iter(|| {
            network_forward_input_grad(&classifier, black_box(&x), &mut ws, &mut grad);
            black_box(&grad);
        });
    });

    let cnn = [
        LayerSpec::Conv2d { out_channels: 8, window: Window::square(3, 1), padding: [0, 0] },
        LayerSpec::Relu,
        LayerSpec::MaxPool2d(Window::square(2, 2)),
        LayerSpec::Conv2d { out_channels: 16, window: Window::square(3, 1), padding: [0, 0] },
        LayerSpec::Relu,
        LayerSpec::MaxPool2d(Window::square(2, 2)),
        LayerSpec::Flatten,
        LayerSpec::Dense { outputs: OUT },
    ];
    let input = Shape::new(1, 28, 28);
    let count = nudge_core::network::param_count(input, &cnn).expect("valid CNN");
    let mut rng = SplitMix64::new(MODEL_SEED);
    let theta: Vec<f32> = (0..count).map(|_| rng.uniform(-0.3, 0.3)).collect();
    let network = Network::new(input, &cnn, &theta).expect("valid CNN");
    eprintln!(
        "cnn: {} parameters, {} MACs per forward pass, arena {} f32",
        network.param_count(),
        network.macs(),
        network.arena_len()
    );
    let classifier = network.classifier::<Vec<f32>, OUT>().expect("784 in, 10 out");
    let mut ws = classifier.workspace();
    group.throughput(Throughput::Elements(4 * network.macs() as u64));
    group.bench_function(BenchmarkId::new("forward_input_grad", "cnn"), |b| {
        b.iter(|| {
            network_forward_input_grad(&classifier, black_box(&x), &mut ws, &mut grad);
            black_box(&grad);
        });
    });
}

fn gradient_kernel(c: &mut Criterion) {
    let mut group = c.benchmark_group("gradient_kernel");
    for_hidden::<32>(&mut group);
    for_hidden::<64>(&mut group);
    for_hidden::<128>(&mut group);
    networks(&mut group);
    group.finish();
}

criterion::criterion_group!(benches, gradient_kernel);
criterion::criterion_main!(benches);
