//! Per-image input gradients for 1,000 images at `H = 64`: one thread, and both cores
//! (rayon, the images split in one chunk per thread, one workspace per chunk).
//!
//! Throughput is in images (criterion's "elements"), so `elem/s` reads as images/s.

use criterion::{BenchmarkId, Criterion, Throughput};
use nudge_benches::{IN, MODEL_SEED, images, kernel_forward_input_grad, random_params};
use nudge_core::Classifier;
use rayon::prelude::*;
use std::hint::black_box;

const H: usize = 64;
const N: usize = 1000;

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
        let mut ws = model.workspace();
        b.iter(|| {
            for (x, g) in black_box(&xs).iter().zip(grads.iter_mut()) {
                kernel_forward_input_grad(&model, x, &mut ws, g);
            }
            black_box(&grads);
        });
    });
    let chunk = N.div_ceil(threads);
    group.bench_function(BenchmarkId::new("input_grads_1000_par", H), |b| {
        b.iter(|| {
            black_box(&xs).par_chunks(chunk).zip(grads.par_chunks_mut(chunk)).for_each(
                |(xs, gs)| {
                    let mut ws = model.workspace();
                    for (x, g) in xs.iter().zip(gs) {
                        kernel_forward_input_grad(&model, x, &mut ws, g);
                    }
                },
            );
            black_box(&grads);
        });
    });
    group.finish();
}

criterion::criterion_group!(benches, batch);
criterion::criterion_main!(benches);
