//! Per-image input gradients for 1,000 images at `H = 64`.
//!
//! * `input_grads_1000/64`: one thread, [`Mlp::input_gradients`] on batches of
//!   [`BATCH`] images (each block of `W₁` serves the whole batch while it is in L1).
//! * `input_grads_1000_one_by_one/64`: one thread, one `input_gradient` call per image
//!   (`W₁` streamed from L2 twice per image) — the same bits, for comparison.
//! * `input_grads_1000_par/64`: both cores (rayon, one chunk of batches per thread).
//!
//! Throughput is in images (criterion's "elements"), so `elem/s` reads as images/s.

use criterion::{BenchmarkId, Criterion, Throughput};
use nudge_benches::{
    IN, MODEL_SEED, OUT, TARGET, images, kernel_forward_input_grad, random_params,
};
use nudge_core::model::MlpWorkspace;
use nudge_core::{Classifier, Mlp, Objective};
use rayon::prelude::*;
use std::hint::black_box;

const H: usize = 64;
const N: usize = 1000;
/// Images per `input_gradients` call.
const BATCH: usize = 8;

/// Input gradients of every image in `xs` into `grads`, `BATCH` at a time.
fn batched(
    model: &Mlp<'_, IN, H, OUT>,
    xs: &[[f32; IN]],
    grads: &mut [[f32; IN]],
    ws: &mut [MlpWorkspace<H, OUT>; BATCH],
) {
    let objectives = [Objective::Targeted { target: TARGET }; BATCH];
    let (x_blocks, x_tail) = xs.as_chunks::<BATCH>();
    let (g_blocks, g_tail) = grads.as_chunks_mut::<BATCH>();
    for (x, g) in x_blocks.iter().zip(g_blocks) {
        let x = x.each_ref();
        let g = g.each_mut();
        black_box(model.input_gradients(x, objectives, ws, g).expect("finite model and input"));
    }
    for (x, g) in x_tail.iter().zip(g_tail) {
        kernel_forward_input_grad(model, x, &mut ws[0], g);
    }
}

fn batch(c: &mut Criterion) {
    let params = random_params::<H>(MODEL_SEED);
    let model = params.as_model();
    let (xs, source) = images(N);
    eprintln!("batch input: {N} {source}");
    let mut grads = vec![[0.0f32; IN]; N];
    let threads = rayon::current_num_threads().max(1);

    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function(BenchmarkId::new("input_grads_1000", H), |b| {
        let mut ws = core::array::from_fn(|_| model.workspace());
        b.iter(|| {
            batched(&model, black_box(&xs), &mut grads, &mut ws);
            black_box(&grads);
        });
    });
    group.bench_function(BenchmarkId::new("input_grads_1000_one_by_one", H), |b| {
        let mut ws = model.workspace();
        b.iter(|| {
            for (x, g) in black_box(&xs).iter().zip(grads.iter_mut()) {
                kernel_forward_input_grad(&model, x, &mut ws, g);
            }
            black_box(&grads);
        });
    });
    let chunk = N.div_ceil(threads).next_multiple_of(BATCH);
    group.bench_function(BenchmarkId::new("input_grads_1000_par", H), |b| {
        b.iter(|| {
            black_box(&xs).par_chunks(chunk).zip(grads.par_chunks_mut(chunk)).for_each(
                |(xs, gs)| {
                    let mut ws = core::array::from_fn(|_| model.workspace());
                    batched(&model, xs, gs, &mut ws);
                },
            );
            black_box(&grads);
        });
    });
    group.finish();
}

criterion::criterion_group!(benches, batch);
criterion::criterion_main!(benches);
