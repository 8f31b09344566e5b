//! The attack driver (`Attack::run`, which fuses each step with the model's next
//! evaluation when the update is element-wise) gives the bits of the plain loop it
//! replaces: gradient at the iterate, stop if the goal is met, whole-vector step, repeat,
//! and a final prediction — for every attack, stopping rule and a random start.

use nudge_core::attack::{AttackReport, AttackScratch};
use nudge_core::rng::SplitMix64;
use nudge_core::{
    Attack, Classifier, EarlyStop, Fgsm, Goal, GradientAscent, Mlp, MlpParams, PgdL2, PgdLinf,
};

const IN: usize = 784;
const HIDDEN: usize = 32;
const OUT: usize = 10;

/// The driver as a plain loop over `input_gradient`, `step` on whole vectors and `predict`.
fn plain_loop<A: Attack>(
    attack: &A,
    model: &Mlp<'_, IN, HIDDEN, OUT>,
    original: &[f32; IN],
    goal: Goal,
) -> (AttackReport, [f32; IN]) {
    let mut ws = model.workspace();
    let initial = model.predict(original, &mut ws).unwrap();
    let mut x = [0.0; IN];
    attack.start(original, &mut x);
    let mut gradient = [0.0; IN];
    let mut iterations = 0;
    let mut stopped_at = None;
    while iterations < attack.iterations() {
        let eval = model.input_gradient(&x, goal.objective(), &mut ws, &mut gradient).unwrap();
        if attack.early_stop().is_met(&goal, &eval.prediction) {
            stopped_at = Some(eval.prediction);
            break;
        }
        attack.step(original, &mut x, &gradient);
        iterations += 1;
    }
    let last = stopped_at.unwrap_or_else(|| model.predict(&x, &mut ws).unwrap());
    (AttackReport::new(&goal, iterations, &initial, &last, original, &x), x)
}

fn check<A: Attack + core::fmt::Debug>(
    attack: &A,
    model: &Mlp<'_, IN, HIDDEN, OUT>,
    x: &[f32; IN],
    goal: Goal,
) {
    let (want, want_x) = plain_loop(attack, model, x, goal);
    let mut got_x = [0.0; IN];
    let mut scratch = AttackScratch::<_, [f32; IN]>::for_model(model);
    let got = attack.run(model, x, goal, &mut got_x, &mut scratch, &mut ()).unwrap();
    assert_eq!(got, want, "{attack:?}");
    assert_eq!(got_x.map(f32::to_bits), want_x.map(f32::to_bits), "{attack:?}");
}

#[test]
fn the_driver_gives_the_plain_loops_bits() {
    let mut p: Box<MlpParams<IN, HIDDEN, OUT>> = bytemuck::zeroed_box();
    let mut rng = SplitMix64::new(17);
    p.for_each_slice_mut(|s| s.iter_mut().for_each(|v| *v = rng.uniform(-0.2, 0.2)));
    let model = p.as_model();
    for image in 0..4u64 {
        let x: [f32; IN] =
            core::array::from_fn(|i| if (i / 28 + i % 28) % 5 == 0 { 0.0 } else { rng.unit() });
        let class = model.predict(&x, &mut model.workspace()).unwrap().class;
        let goal = Goal::targeted(class, (class + 3) % OUT);
        for early_stop in [EarlyStop::Never, EarlyStop::OnSuccess, EarlyStop::Confidence(0.6)] {
            check(
                &GradientAscent { early_stop, ..GradientAscent::new(0.05, 30) },
                &model,
                &x,
                goal,
            );
            check(&Fgsm { early_stop, ..Fgsm::new(0.1) }, &model, &x, goal);
            let linf =
                PgdLinf { early_stop, random_start: Some(image), ..PgdLinf::new(0.1, 0.02, 20) };
            check(&linf, &model, &x, goal);
            check(
                &PgdL2 { early_stop, ..PgdL2::new(2.0, 0.3, 20) },
                &model,
                &x,
                Goal::untargeted(class),
            );
        }
    }
}
