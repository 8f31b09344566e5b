//! Proof by linking that the kernel cannot panic.
//!
//! This binary calls every kernel entry point the firmware uses — the checked byte view of
//! a model, the forward pass, the input gradient, and each attack, and the same for a
//! network read from a blob — on inputs the optimizer
//! cannot see (`black_box`), so no check can be folded away. Its panic handler calls a
//! function that exists nowhere: if any panic path (bounds check, `unwrap`, overflow, division)
//! is still reachable after optimisation, the link fails with
//! `undefined symbol: nudge_kernel_can_panic`. `.ci/run` builds it for the Cortex-M4F.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;
use nudge_core::attack::{AttackScratch, Linf, Stage};
use nudge_core::quant::{QuantClassifier, QuantNetwork};
use nudge_core::{
    Apgd, ApgdL2, ApgdLoss, Attack, AutoAttack, Classifier, Fgsm, Goal, GradientAscent, Mlp,
    Network, Objective, PgdL2, PgdLinf, Shape,
};

type Model<'w> = Mlp<'w, 784, 64, 10>;

/// Model bytes with the alignment the view needs; contents are hidden behind `black_box`.
#[repr(C, align(4))]
struct Aligned([u8; Model::BYTES]);

static MODEL: Aligned = Aligned([0; Model::BYTES]);

/// Runs everything once; the results go to `black_box` so nothing is dead code.
fn exercise() {
    let bytes: &[u8] = black_box(&MODEL.0[..]);
    let Ok(model) = Model::from_bytes(bytes) else { return };
    let x: [f32; 784] = black_box([0.5f32; 784]);
    let mut ws = model.workspace();
    let _ = black_box(model.predict(&x, &mut ws));
    let mut grad = [0.0f32; 784];
    let objective = Objective::TargetedMargin { target: black_box(3), kappa: black_box(0.5) };
    let _ = black_box(model.input_gradient(&x, objective, &mut ws, &mut grad));
    let _ = black_box(model.input_gradient(
        &x,
        black_box(Objective::Targeted { target: black_box(11) }),
        &mut ws,
        &mut grad,
    ));

    let goal =
        Goal { true_class: black_box(1), target: black_box(Some(7)), margin: black_box(None) };
    let mut adversarial = [0.0f32; 784];
    let mut scratch = AttackScratch::<_, [f32; 784]>::for_model(&model);
    let gradient = black_box(GradientAscent::new(black_box(0.1), black_box(100)));
    let _ = black_box(gradient.run(&model, &x, goal, &mut adversarial, &mut scratch, &mut ()));
    let fgsm = black_box(Fgsm::new(black_box(0.1)));
    let _ = black_box(fgsm.run(&model, &x, goal, &mut adversarial, &mut scratch, &mut ()));
    let pgd =
        black_box(PgdLinf { random_start: black_box(Some(7)), ..PgdLinf::new(0.1, 0.01, 40) });
    let mut trace = heapless::Vec::<nudge_core::TraceStep, 16>::new();
    let _ = black_box(pgd.run(&model, &x, goal, &mut adversarial, &mut scratch, &mut trace));
    let pgd2 = black_box(PgdL2::new(black_box(1.0), 0.1, 40));
    let _ = black_box(pgd2.run(&model, &x, goal, &mut adversarial, &mut scratch, &mut ()));
    black_box(&adversarial);
    exercise_network();
}

/// A network from a blob: the view, both passes, and an attack through the classifier.
fn exercise_network() {
    let bytes: &[u8] = black_box(&MODEL.0[..]);
    let Ok(network) = Network::from_bytes(bytes) else { return };
    let mut arena = [0.0f32; 4096];
    let x: [f32; 784] = black_box([0.5f32; 784]);
    let _ = black_box(network.forward(&x, &mut arena).map(|z| z.len()));
    let mut dx = [0.0f32; 784];
    let mut dtheta = [0.0f32; 64];
    let logit_grad: [f32; 10] = black_box([0.1; 10]);
    let _ =
        black_box(network.backward(&x, &mut arena, &logit_grad, Some(&mut dx), Some(&mut dtheta)));
    let Ok(classifier) = network.classifier::<[f32; 4096], 10>() else { return };
    let goal = Goal::untargeted(black_box(3));
    let mut adversarial = [0.0f32; 784];
    let mut scratch = AttackScratch::<_, [f32; 784]>::for_model(&classifier);
    let pgd = black_box(PgdLinf::new(0.1, 0.01, 40));
    let _ = black_box(pgd.run(&classifier, &x, goal, &mut adversarial, &mut scratch, &mut ()));
    black_box(&adversarial);
    exercise_autoattack(&classifier, &x);
    exercise_int8(&classifier, &x);
}

/// An int8 network from a blob: its forward pass, and AutoAttack on it with a float
/// network's gradients (the classifier every int8 attack runs on).
fn exercise_int8(twin: &nudge_core::network::NetworkClassifier<'_, [f32; 4096], 10>, x: &[f32]) {
    let bytes: &[u8] = black_box(&MODEL.0[..]);
    let Ok(int8) = QuantNetwork::from_bytes(bytes) else { return };
    let mut arena = [0i8; 4096];
    let _ = black_box(int8.forward_f32(x, &mut arena).map(|z| z.len()));
    let Ok(judged) = QuantClassifier::<_, [i8; 4096], 10>::new(int8, twin.clone()) else { return };
    exercise_autoattack(&judged, x);
}

/// AutoAttack's ensemble (APGD-CE, APGD-T with the DLR losses, Square) and APGD in L2.
fn exercise_autoattack<M: Classifier<10>>(model: &M, x: &[f32]) {
    let mut adversarial = [0.0f32; 784];
    let mut scratch = AttackScratch::<_, [f32; 5 * 784]>::with_vectors(model, 5);
    let shape = black_box(Shape::new(1, 28, 28));
    let ensemble: AutoAttack<Linf> =
        black_box(AutoAttack::standard(black_box(0.1), shape, black_box(0)));
    let stages = black_box(&Stage::STANDARD[..]);
    let _ =
        black_box(ensemble.run(model, x, black_box(3), stages, 7, &mut adversarial, &mut scratch));
    let loss = black_box(ApgdLoss::Dlr);
    let apgd: ApgdL2 = black_box(Apgd::new(black_box(1.0), black_box(100), loss, 1));
    let goal = Goal::untargeted(black_box(3));
    let _ = black_box(apgd.run(model, x, goal, &mut adversarial, &mut scratch, &mut ()));
    black_box(&adversarial);
}

/// Entry point for the linker; never runs.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    exercise();
    loop {
        core::hint::spin_loop();
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    unsafe extern "C" {
        /// Deliberately undefined: referencing it fails the link.
        fn nudge_kernel_can_panic() -> !;
    }
    // SAFETY: never linked, so never called; a reachable panic fails the build instead.
    unsafe { nudge_kernel_can_panic() }
}
