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

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, measurement::WallTime};
use nudge_benches::{
    IN, MODEL_SEED, TARGET, active_fraction, bench_image, forward_flops, forward_input_grad_flops,
    kernel_forward_input_grad, nonzero_chunk_fraction, nonzero_fraction, random_params,
};
use nudge_core::rng::SplitMix64;
use nudge_core::{Classifier, Objective};
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

fn gradient_kernel(c: &mut Criterion) {
    let mut group = c.benchmark_group("gradient_kernel");
    for_hidden::<32>(&mut group);
    for_hidden::<64>(&mut group);
    for_hidden::<128>(&mut group);
    group.finish();
}

criterion::criterion_group!(benches, gradient_kernel);
criterion::criterion_main!(benches);
