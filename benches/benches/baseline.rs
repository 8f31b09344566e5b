//! The kernel's `forward_input_grad/64` next to two baselines computing the same gradient,
//! in one run so the ratios come from the same conditions:
//! * `naive_loop/64`: the textbook loop (one accumulator per dot product, dense backward);
//! * `nalgebra/64`: nalgebra's `gemv_tr`/`gemv`;
//! * `kernel/64`: nudge-core, the same call as `gradient_kernel/forward_input_grad/64`.
//!
//! Before timing, [`check_baselines_agree`] asserts that both baselines give the kernel's
//! gradient within [`nudge_benches::GRAD_RTOL_OF_MAX`] (they sum in another order, so they
//! are not bit-equal). Throughput is in dense FLOPs, as in `gradient_kernel`.

use criterion::{BenchmarkId, Criterion, Throughput};
use nudge_benches::{
    IN, MODEL_SEED, NaiveScratch, NalgebraMlp, bench_image, check_baselines_agree,
    forward_input_grad_flops, kernel_forward_input_grad, naive_forward_input_grad, random_params,
};
use nudge_core::Classifier;
use std::hint::black_box;

const H: usize = 64;

fn baseline(c: &mut Criterion) {
    let params = random_params::<H>(MODEL_SEED);
    let (x, _) = bench_image();
    check_baselines_agree(&params, &x);

    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(forward_input_grad_flops(H)));
    let model = params.as_model();
    let mut ws = model.workspace();
    let mut grad = [0.0f32; IN];
    group.bench_function(BenchmarkId::new("kernel", H), |b| {
        b.iter(|| {
            kernel_forward_input_grad(&model, black_box(&x), &mut ws, &mut grad);
            black_box(&grad);
        });
    });
    let mut scratch = NaiveScratch::<H>::default();
    group.bench_function(BenchmarkId::new("naive_loop", H), |b| {
        b.iter(|| {
            naive_forward_input_grad(&params, black_box(&x), &mut scratch, &mut grad);
            black_box(&grad);
        });
    });
    let mut nal = NalgebraMlp::new(&params);
    group.bench_function(BenchmarkId::new("nalgebra", H), |b| {
        b.iter(|| {
            nal.forward_input_grad(black_box(&x));
            black_box(&nal.grad);
        });
    });
    group.finish();
}

criterion::criterion_group!(benches, baseline);
criterion::criterion_main!(benches);
