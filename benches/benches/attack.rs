//! Whole attacks at `H = 64` through the shared driver, every iteration spent
//! (`EarlyStop::Never`), so each run does a fixed amount of work.
//!
//! Throughput is in FLOPs (criterion's "elements"): `steps` forward-plus-gradient passes and
//! two forward passes (the prediction before and after).
//!
//! `network_gradient_100/64` is `gradient_100/64` on the same MLP run as a
//! [`Network`](nudge_core::Network) (the same bits; what the CLI runs since models became
//! networks). Where there is AVX both fuse each step with the next forward pass (the
//! network through its dense first layer, `core/src/network/step.rs`), so the ratio of the
//! two is the price of runtime shapes.
//!
//! `apgd_ce_100/64` and `square_1000/64` are AutoAttack's attacks with every step spent:
//! APGD on the cross-entropy (100 forward-plus-gradient passes from a random start, with
//! its momentum, projections and best-point copies) and Square Attack (1,000 queries, one
//! forward pass each, plus its window bookkeeping), untargeted at ε = 0.1. Neither asserts
//! success: the work is fixed, whatever the image does.

use criterion::{BenchmarkId, Criterion, Throughput};
use nudge_benches::{
    IN, MODEL_SEED, TARGET, bench_image, forward_flops, forward_input_grad_flops, random_params,
};
use nudge_core::attack::AttackScratch;
use nudge_core::{
    Apgd, ApgdLoss, Attack, Classifier, EarlyStop, Fgsm, Goal, GradientAscent, LayerSpec, Network,
    PgdLinf, Shape, Square, attack::Linf,
};
use std::hint::black_box;

const H: usize = 64;

fn flops(steps: u32) -> u64 {
    u64::from(steps) * forward_input_grad_flops(H) + 2 * forward_flops(H)
}

fn attack(c: &mut Criterion) {
    let params = random_params::<H>(MODEL_SEED);
    let model = params.as_model();
    let (x, _) = bench_image();
    let mut ws = model.workspace();
    let true_class = model.predict(&x, &mut ws).expect("finite").class;
    let target = if true_class == TARGET { (TARGET + 1) % 10 } else { TARGET };
    let goal = Goal::targeted(true_class, target);
    let mut scratch = AttackScratch::<_, Vec<f32>>::for_model(&model);
    let mut adversarial = [0.0f32; IN];

    let mut group = c.benchmark_group("attack");
    let seed = GradientAscent { early_stop: EarlyStop::Never, ..GradientAscent::new(0.01, 100) };
    group.throughput(Throughput::Elements(flops(100)));
    group.bench_function(BenchmarkId::new("gradient_100", H), |b| {
        b.iter(|| {
            seed.run(&model, black_box(&x), goal, &mut adversarial, &mut scratch, &mut ())
                .expect("valid attack")
        });
    });
    let theta = params.as_model().parts().concat();
    let layers =
        [LayerSpec::Dense { outputs: H }, LayerSpec::Relu, LayerSpec::Dense { outputs: 10 }];
    let network = Network::new(Shape::flat(IN), &layers, &theta).expect("valid MLP");
    let net = network.classifier::<Vec<f32>, 10>().expect("784 in, 10 out");
    let mut net_scratch = AttackScratch::<_, Vec<f32>>::for_model(&net);
    group.bench_function(BenchmarkId::new("network_gradient_100", H), |b| {
        b.iter(|| {
            seed.run(&net, black_box(&x), goal, &mut adversarial, &mut net_scratch, &mut ())
                .expect("valid attack")
        });
    });
    let fgsm = Fgsm::new(0.1);
    group.throughput(Throughput::Elements(flops(1)));
    group.bench_function(BenchmarkId::new("fgsm", H), |b| {
        b.iter(|| {
            fgsm.run(&model, black_box(&x), goal, &mut adversarial, &mut scratch, &mut ())
                .expect("valid attack")
        });
    });
    let pgd = PgdLinf { early_stop: EarlyStop::Never, ..PgdLinf::new(0.1, 0.01, 40) };
    group.throughput(Throughput::Elements(flops(40)));
    group.bench_function(BenchmarkId::new("pgd40", H), |b| {
        b.iter(|| {
            pgd.run(&model, black_box(&x), goal, &mut adversarial, &mut scratch, &mut ())
                .expect("valid attack")
        });
    });

    let untargeted = Goal::untargeted(true_class);
    let mut aa_scratch = AttackScratch::<_, Vec<f32>>::with_vectors(&model, 5);
    let apgd = Apgd {
        early_stop: EarlyStop::Never,
        ..Apgd::<Linf>::new(0.1, 100, ApgdLoss::CrossEntropy, 0)
    };
    group.throughput(Throughput::Elements(flops(101)));
    group.bench_function(BenchmarkId::new("apgd_ce_100", H), |b| {
        b.iter(|| {
            apgd.run(&model, black_box(&x), untargeted, &mut adversarial, &mut aa_scratch, &mut ())
                .expect("valid attack")
        });
    });
    let square =
        Square { early_stop: EarlyStop::Never, ..Square::new(0.1, 1000, Shape::new(1, 28, 28), 0) };
    group.throughput(Throughput::Elements(1002 * forward_flops(H)));
    group.bench_function(BenchmarkId::new("square_1000", H), |b| {
        b.iter(|| {
            square
                .run(&model, black_box(&x), untargeted, &mut adversarial, &mut aa_scratch)
                .expect("valid attack")
        });
    });
    group.finish();
}

criterion::criterion_group!(benches, attack);
criterion::criterion_main!(benches);
