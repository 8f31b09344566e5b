//! Attack invariants on a small random network: bounds, ε-balls, FGSM = one PGD step,
//! determinism, early stopping, and typed errors for bad settings.

use super::*;
use crate::model::{Mlp, MlpParams};
use crate::rng::SplitMix64;

const IN: usize = 20;
const HIDDEN: usize = 12;
const OUT: usize = 4;

fn random_params(seed: u64) -> MlpParams<IN, HIDDEN, OUT> {
    let mut rng = SplitMix64::new(seed);
    let mut p = MlpParams {
        fc1_weight: [[0.0; IN]; HIDDEN],
        fc1_bias: [0.0; HIDDEN],
        fc2_weight: [[0.0; HIDDEN]; OUT],
        fc2_bias: [0.0; OUT],
    };
    p.for_each_slice_mut(|s| s.iter_mut().for_each(|v| *v = rng.uniform(-1.0, 1.0)));
    p
}

fn random_input(seed: u64) -> [f32; IN] {
    let mut rng = SplitMix64::new(seed);
    core::array::from_fn(|_| rng.unit())
}

fn run<A: Attack>(
    attack: &A,
    model: &Mlp<'_, IN, HIDDEN, OUT>,
    x: &[f32; IN],
    goal: Goal,
) -> (Result<AttackReport, Error>, [f32; IN]) {
    let mut adv = [0.0; IN];
    let mut scratch = AttackScratch::<_, [f32; IN]>::for_model(model);
    let report = attack.run(model, x, goal, &mut adv, &mut scratch, &mut ());
    (report, adv)
}

fn goal_for(model: &Mlp<'_, IN, HIDDEN, OUT>, x: &[f32; IN]) -> (usize, Goal) {
    let class = model.predict(x, &mut model.workspace()).unwrap().class;
    (class, Goal::targeted(class, (class + 1) % OUT))
}

#[test]
fn every_attack_stays_in_bounds_and_in_its_ball() {
    let params = random_params(1);
    let model = params.as_model();
    for seed in 0..20 {
        let x = random_input(100 + seed);
        let (_, goal) = goal_for(&model, &x);
        let eps = 0.05;
        let linf = PgdLinf {
            random_start: Some(seed),
            early_stop: EarlyStop::Never,
            ..PgdLinf::new(eps, 0.01, 15)
        };
        let l2 = PgdL2 {
            random_start: Some(seed),
            early_stop: EarlyStop::Never,
            ..PgdL2::new(0.5, 0.1, 15)
        };
        for (report, adv, radius_linf, radius_l2) in [
            {
                let (r, a) = run(&linf, &model, &x, goal);
                (r, a, eps, f32::INFINITY)
            },
            {
                let (r, a) = run(&l2, &model, &x, goal);
                (r, a, f32::INFINITY, 0.5)
            },
            {
                let (r, a) = run(&Fgsm::new(eps), &model, &x, goal);
                (r, a, eps, f32::INFINITY)
            },
            {
                let (r, a) = run(&GradientAscent::new(0.5, 30), &model, &x, goal);
                (r, a, f32::INFINITY, f32::INFINITY)
            },
        ] {
            let report = report.unwrap();
            assert!(adv.iter().all(|v| (0.0..=1.0).contains(v)), "left [0,1]: {adv:?}");
            assert!(
                report.linf <= radius_linf * (1.0 + 1e-6),
                "linf {} > {radius_linf}",
                report.linf
            );
            assert!(report.l2 <= radius_l2 * (1.0 + 1e-5), "l2 {} > {radius_l2}", report.l2);
            assert_eq!(report.linf, linalg::linf_distance(&adv, &x));
        }
    }
}

#[test]
fn fgsm_equals_one_pgd_step_without_random_start() {
    let params = random_params(2);
    let model = params.as_model();
    for seed in 0..20 {
        let x = random_input(200 + seed);
        let (_, goal) = goal_for(&model, &x);
        let (fgsm, a) = run(&Fgsm::new(0.1), &model, &x, goal);
        let pgd = PgdLinf { early_stop: EarlyStop::Never, ..PgdLinf::new(0.1, 0.1, 1) };
        let (pgd, b) = run(&pgd, &model, &x, goal);
        assert_eq!(a.map(f32::to_bits), b.map(f32::to_bits));
        assert_eq!(fgsm.unwrap(), pgd.unwrap());
    }
}

#[test]
fn attacks_are_deterministic_for_a_fixed_seed() {
    let params = random_params(3);
    let model = params.as_model();
    let x = random_input(3);
    let (_, goal) = goal_for(&model, &x);
    let attack = PgdLinf { random_start: Some(9), ..PgdLinf::new(0.2, 0.02, 25) };
    let (r1, a1) = run(&attack, &model, &x, goal);
    let (r2, a2) = run(&attack, &model, &x, goal);
    assert_eq!(a1.map(f32::to_bits), a2.map(f32::to_bits));
    assert_eq!(r1.unwrap(), r2.unwrap());
    let other = PgdLinf { random_start: Some(10), ..attack };
    let (_, a3) = run(&other, &model, &x, goal);
    assert_ne!(a1, a3, "a different seed should start elsewhere");
}

#[test]
fn early_stop_stops_at_the_first_successful_iterate() {
    let params = random_params(4);
    let model = params.as_model();
    let mut checked = 0;
    for seed in 0..30 {
        let x = random_input(400 + seed);
        let (_, goal) = goal_for(&model, &x);
        let never =
            GradientAscent { early_stop: EarlyStop::Never, ..GradientAscent::new(0.05, 200) };
        let on_success = GradientAscent { early_stop: EarlyStop::OnSuccess, ..never };
        let mut trace: heapless::Vec<TraceStep, 256> = heapless::Vec::new();
        let mut adv = [0.0; IN];
        let mut scratch = AttackScratch::<_, [f32; IN]>::for_model(&model);
        let full = never.run(&model, &x, goal, &mut adv, &mut scratch, &mut trace).unwrap();
        assert_eq!(full.iterations, 200);
        let Some(first) = trace.iter().position(|s| Some(s.class) == goal.target) else {
            continue;
        };
        let (stopped, _) = run(&on_success, &model, &x, goal);
        let stopped = stopped.unwrap();
        assert!(stopped.success);
        assert_eq!(stopped.iterations as usize, first, "should stop at the first success");
        checked += 1;
    }
    assert!(checked >= 5, "too few cases reached the target to test early stopping ({checked})");
}

#[test]
fn trace_is_bounded_and_records_iterations_in_order() {
    let params = random_params(5);
    let model = params.as_model();
    let x = random_input(5);
    let (_, goal) = goal_for(&model, &x);
    let attack = GradientAscent { early_stop: EarlyStop::Never, ..GradientAscent::new(0.01, 50) };
    let mut trace: heapless::Vec<TraceStep, 8> = heapless::Vec::new();
    let mut adv = [0.0; IN];
    let mut scratch = AttackScratch::<_, [f32; IN]>::for_model(&model);
    attack.run(&model, &x, goal, &mut adv, &mut scratch, &mut trace).unwrap();
    assert_eq!(trace.len(), 8);
    assert!(trace.iter().enumerate().all(|(i, s)| s.iteration as usize == i));
    assert_eq!(trace[0].linf, 0.0);
}

#[test]
fn bad_settings_and_inputs_are_typed_errors() {
    let params = random_params(6);
    let model = params.as_model();
    let x = random_input(6);
    let goal = Goal::targeted(0, 1);
    // The name of the rejected parameter, or None when the run was not rejected for one.
    let name_of = |r: Result<AttackReport, Error>| match r {
        Err(Error::InvalidParameter { name, .. }) => Some(name),
        _ => None,
    };
    let invalid = Some;
    assert_eq!(name_of(run(&GradientAscent::new(0.0, 5), &model, &x, goal).0), invalid("step"));
    assert_eq!(
        name_of(run(&GradientAscent::new(f32::NAN, 5), &model, &x, goal).0),
        invalid("step")
    );
    assert_eq!(
        name_of(run(&GradientAscent::new(0.1, 0), &model, &x, goal).0),
        invalid("iterations")
    );
    assert_eq!(name_of(run(&Fgsm::new(-0.1), &model, &x, goal).0), invalid("epsilon"));
    assert_eq!(name_of(run(&PgdLinf::new(0.1, 0.0, 5), &model, &x, goal).0), invalid("alpha"));
    assert_eq!(name_of(run(&PgdL2::new(0.1, 0.1, 0), &model, &x, goal).0), invalid("iterations"));
    let bad_stop =
        GradientAscent { early_stop: EarlyStop::Confidence(1.5), ..GradientAscent::new(0.1, 5) };
    assert_eq!(name_of(run(&bad_stop, &model, &x, goal).0), invalid("early_stop"));
    let bad_bounds = Fgsm { bounds: Bounds { lo: 1.0, hi: 0.0 }, ..Fgsm::new(0.1) };
    assert_eq!(name_of(run(&bad_bounds, &model, &x, goal).0), invalid("bounds"));

    let fgsm = Fgsm::new(0.1);
    assert_eq!(
        run(&fgsm, &model, &x, Goal::targeted(0, 4)).0,
        Err(Error::ClassOutOfRange { class: 4, classes: 4 })
    );
    assert_eq!(
        run(&fgsm, &model, &x, Goal::targeted(9, 1)).0,
        Err(Error::ClassOutOfRange { class: 9, classes: 4 })
    );
    assert_eq!(
        run(&fgsm, &model, &x, Goal::targeted(2, 2)).0,
        Err(Error::TargetIsTrueClass { class: 2 })
    );
    assert_eq!(
        run(&fgsm, &model, &x, Goal::targeted(0, 1).with_margin(-1.0)).0,
        Err(Error::InvalidParameter { name: "kappa", expected: "finite and ≥ 0" })
    );
    let mut nan = x;
    nan[3] = f32::NAN;
    assert_eq!(run(&fgsm, &model, &nan, goal).0, Err(Error::NonFiniteInput { index: 3 }));
    let mut outside = x;
    outside[7] = 1.5;
    assert_eq!(run(&fgsm, &model, &outside, goal).0, Err(Error::InputOutOfBounds { index: 7 }));
}

#[test]
fn untargeted_and_margin_goals_report_against_the_true_class() {
    let params = random_params(7);
    let model = params.as_model();
    let mut successes = 0;
    for seed in 0..20 {
        let x = random_input(700 + seed);
        let (class, _) = goal_for(&model, &x);
        for goal in [Goal::untargeted(class), Goal::untargeted(class).with_margin(1.0)] {
            let (report, _) = run(&PgdLinf::new(0.3, 0.03, 40), &model, &x, goal);
            let report = report.unwrap();
            assert_eq!(report.success, report.final_class != class);
            assert_eq!(report.target, None);
            if report.success {
                successes += 1;
                assert!(report.final_watched_probability < report.initial_watched_probability);
            }
        }
    }
    assert!(successes > 0, "no untargeted attack succeeded at ε = 0.3");
}
