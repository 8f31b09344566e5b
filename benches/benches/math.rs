//! `exp` backends over 1,024 values in `[−20, 0]` (the range softmax feeds it: `zᵢ − max z`):
//! libm's `expf` (the kernel's default) and micromath's approximation (the `micromath`
//! feature). Throughput is in values.

use criterion::{Criterion, Throughput};
use nudge_core::rng::SplitMix64;
use std::hint::black_box;

const N: usize = 1024;

fn math(c: &mut Criterion) {
    let mut rng = SplitMix64::new(0xE4_0001);
    let xs: Vec<f32> = (0..N).map(|_| rng.uniform(-20.0, 0.0)).collect();
    let mut out = vec![0.0f32; N];

    let mut group = c.benchmark_group("math");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("exp_libm", |b| {
        b.iter(|| {
            for (o, &x) in out.iter_mut().zip(black_box(&xs)) {
                *o = libm::expf(x);
            }
            black_box(&out);
        });
    });
    group.bench_function("exp_micromath", |b| {
        b.iter(|| {
            for (o, &x) in out.iter_mut().zip(black_box(&xs)) {
                *o = micromath::F32Ext::exp(x);
            }
            black_box(&out);
        });
    });
    group.finish();
}

criterion::criterion_group!(benches, math);
criterion::criterion_main!(benches);
