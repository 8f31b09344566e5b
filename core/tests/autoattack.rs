//! APGD, Square and the AutoAttack ensemble on small random networks: every result lies in
//! its ε-ball and the bounds, success is what an independent prediction says, a seed gives
//! the same bits, and bad settings are typed errors.

use nudge_core::attack::{AttackScratch, EnsembleReport, L2, Linf, Norm, Stage};
use nudge_core::rng::SplitMix64;
use nudge_core::{
    Apgd, ApgdLoss, AttackReport, AutoAttack, Classifier, EarlyStop, Error, Goal, Mlp, MlpParams,
    PgdLinf, Shape, Square, TraceStep,
};

/// Inputs are 1×4×4 images.
const IN: usize = 16;
const HIDDEN: usize = 12;
const OUT: usize = 5;
const SHAPE: Shape = Shape::new(1, 4, 4);
/// Slack for the ball checks: projections compute `x⁰ ± ε` in f32.
const BALL_SLACK: f32 = 1e-6;

/// Scratch in a fixed array, as on a device: the ensemble's five vectors.
type Scratch = AttackScratch<nudge_core::MlpWorkspace<HIDDEN, OUT>, [f32; 5 * IN]>;

fn params(seed: u64) -> MlpParams<IN, HIDDEN, OUT> {
    let mut rng = SplitMix64::new(seed);
    let mut p: MlpParams<IN, HIDDEN, OUT> = bytemuck::Zeroable::zeroed();
    p.for_each_slice_mut(|s| s.iter_mut().for_each(|v| *v = rng.uniform(-1.0, 1.0)));
    p
}

fn input(seed: u64) -> [f32; IN] {
    let mut rng = SplitMix64::new(seed);
    core::array::from_fn(|_| rng.unit())
}

fn scratch(model: &Mlp<'_, IN, HIDDEN, OUT>) -> Scratch {
    AttackScratch::with_vectors(model, AutoAttack::<Linf>::SCRATCH_VECTORS)
}

fn class_of(model: &Mlp<'_, IN, HIDDEN, OUT>, x: &[f32]) -> usize {
    model.predict(x, &mut model.workspace()).unwrap().class
}

/// The result is in the ball of radius `eps` (L∞ or L2) and in [0, 1], and the report's
/// success is what a fresh prediction says.
fn check_valid(
    model: &Mlp<'_, IN, HIDDEN, OUT>,
    x: &[f32],
    adv: &[f32],
    report: &AttackReport,
    norm: &str,
    eps: f32,
) {
    assert!(adv.iter().all(|v| (0.0..=1.0).contains(v)), "out of [0, 1]: {adv:?}");
    let distance = match norm {
        "linf" => x.iter().zip(adv).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max),
        _ => x.iter().zip(adv).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt(),
    };
    assert!(distance <= eps + BALL_SLACK, "{norm} distance {distance} > ε = {eps}");
    let predicted = class_of(model, adv);
    assert_eq!(report.final_class, predicted, "the report's class is the prediction's");
    assert_eq!(report.success, predicted != report.true_class, "success is misclassification");
}

#[test]
fn apgd_in_both_norms_and_every_loss_stays_valid() {
    for seed in 0..12 {
        let p = params(seed);
        let model = p.as_model();
        let x = input(1000 + seed);
        let y = class_of(&model, &x);
        let goal = Goal::untargeted(y);
        let mut s = scratch(&model);
        for loss in
            [ApgdLoss::CrossEntropy, ApgdLoss::Dlr, ApgdLoss::DlrTargeted { target: (y + 1) % OUT }]
        {
            let mut adv = [0.0; IN];
            let linf = Apgd::<Linf>::new(0.05, 20, loss, seed);
            let r = linf.run(&model, &x, goal, &mut adv, &mut s, &mut ()).unwrap();
            check_valid(&model, &x, &adv, &r, "linf", 0.05);
            let l2 = Apgd::<L2>::new(0.3, 20, loss, seed);
            let r = l2.run(&model, &x, goal, &mut adv, &mut s, &mut ()).unwrap();
            check_valid(&model, &x, &adv, &r, "l2", 0.3);
        }
    }
}

#[test]
fn apgd_without_early_stop_returns_its_best_point() {
    let p = params(3);
    let model = p.as_model();
    let mut s = scratch(&model);
    for seed in 0..8 {
        let x = input(50 + seed);
        let goal = Goal::untargeted(class_of(&model, &x));
        let attack = Apgd {
            early_stop: EarlyStop::Never,
            ..Apgd::<Linf>::new(0.1, 30, ApgdLoss::CrossEntropy, seed)
        };
        let mut adv = [0.0; IN];
        let mut trace: heapless::Vec<TraceStep, 64> = heapless::Vec::new();
        let r = attack.run(&model, &x, goal, &mut adv, &mut s, &mut trace).unwrap();
        assert_eq!((r.iterations, trace.len()), (30, 31), "every step is taken and traced");
        let best = trace.iter().map(|t| t.objective).fold(f32::NEG_INFINITY, f32::max);
        let objective = goal.objective();
        let mut grad = [0.0; IN];
        let at_result =
            model.input_gradient(&adv, objective, &mut model.workspace(), &mut grad).unwrap();
        assert_eq!(at_result.objective, best, "the result is the highest-loss iterate");
    }
}

#[test]
fn apgd_reaches_at_least_pgd_on_random_networks() {
    // Over many inputs, APGD-CE with 40 steps breaks at least as many as PGD-40 with
    // Madry's step 2.5ε/40 (a one-sided check: either may win an input).
    let (mut apgd_broken, mut pgd_broken, mut tried) = (0, 0, 0);
    for seed in 0..40 {
        let p = params(seed);
        let model = p.as_model();
        let mut s = scratch(&model);
        let x = input(500 + seed);
        let goal = Goal::untargeted(class_of(&model, &x));
        let eps = 0.06;
        let mut adv = [0.0; IN];
        let apgd = Apgd::<Linf>::new(eps, 40, ApgdLoss::CrossEntropy, seed);
        apgd_broken +=
            usize::from(apgd.run(&model, &x, goal, &mut adv, &mut s, &mut ()).unwrap().success);
        let pgd =
            PgdLinf { early_stop: EarlyStop::OnSuccess, ..PgdLinf::new(eps, 2.5 * eps / 40.0, 40) };
        let r = nudge_core::Attack::run(&pgd, &model, &x, goal, &mut adv, &mut s, &mut ()).unwrap();
        pgd_broken += usize::from(r.success);
        tried += 1;
    }
    assert!(
        pgd_broken > 0 && pgd_broken < tried,
        "the budget leaves work to do: {pgd_broken}/{tried}"
    );
    assert!(apgd_broken >= pgd_broken, "APGD {apgd_broken} < PGD {pgd_broken} of {tried}");
}

#[test]
fn square_stays_valid_and_uses_only_its_queries() {
    let mut broken = 0;
    for seed in 0..12 {
        let p = params(seed);
        let model = p.as_model();
        let mut s = scratch(&model);
        let x = input(2000 + seed);
        let goal = Goal::untargeted(class_of(&model, &x));
        let mut adv = [0.0; IN];
        let square = Square::new(0.1, 300, SHAPE, seed);
        let r = square.run(&model, &x, goal, &mut adv, &mut s).unwrap();
        check_valid(&model, &x, &adv, &r, "linf", 0.1);
        assert!(r.iterations <= 300);
        assert!(r.success || r.iterations == 300, "stops early only on success");
        broken += usize::from(r.success);
    }
    assert!(broken > 0, "Square breaks some inputs at ε = 0.1");
}

#[test]
fn square_fraction_follows_the_reference_schedule() {
    let q = 10_000;
    for (query, want) in
        [(0, 0.8), (10, 0.8), (11, 0.4), (51, 0.2), (201, 0.1), (501, 0.05), (8001, 0.8 / 512.0)]
    {
        assert_eq!(Square::fraction(0.8, query, q), want, "query {query}");
    }
    // The schedule scales with the budget: at 5,000 queries, query 6 is 0.0012Q.
    assert_eq!(Square::fraction(0.8, 6, 5000), 0.4);
}

fn ensemble_on(seed: u64, norm_is_linf: bool) -> (EnsembleReport, [f32; IN], [f32; IN], usize) {
    let p = params(seed);
    let model = p.as_model();
    let mut s = scratch(&model);
    let x = input(3000 + seed);
    let y = class_of(&model, &x);
    let mut adv = [0.0; IN];
    let report = if norm_is_linf {
        let aa = AutoAttack {
            iterations: 20,
            queries: 200,
            ..AutoAttack::<Linf>::standard(0.08, SHAPE, 9)
        };
        aa.run(&model, &x, y, &Stage::STANDARD, seed, &mut adv, &mut s).unwrap()
    } else {
        let aa = AutoAttack { iterations: 20, ..AutoAttack::<L2>::standard(0.4, SHAPE, 9) };
        aa.run(&model, &x, y, &[Stage::ApgdCe, Stage::ApgdT], seed, &mut adv, &mut s).unwrap()
    };
    (report, x, adv, y)
}

#[test]
fn the_ensemble_breaks_what_it_says_and_is_repeatable() {
    let mut by_stage = [0usize; 3];
    for seed in 0..30 {
        for linf in [true, false] {
            let (report, x, adv, y) = ensemble_on(seed, linf);
            let p = params(seed);
            let model = p.as_model();
            assert!(report.clean_correct);
            match report.broken_by {
                Some(stage) => {
                    check_valid(
                        &model,
                        &x,
                        &adv,
                        &report.report,
                        if linf { "linf" } else { "l2" },
                        if linf { 0.08 } else { 0.4 },
                    );
                    assert_ne!(class_of(&model, &adv), y);
                    by_stage[Stage::STANDARD.iter().position(|&s| s == stage).unwrap()] += 1;
                }
                None => assert_eq!(adv, x, "a robust input leaves the original"),
            }
            let again = ensemble_on(seed, linf);
            assert_eq!((again.0, again.2), (report, adv), "same seed, same bits");
        }
    }
    assert!(by_stage[0] > 0, "APGD-CE breaks some inputs: {by_stage:?}");
}

#[test]
fn a_misclassified_input_is_not_attacked() {
    let p = params(4);
    let model = p.as_model();
    let x = input(77);
    let wrong = (class_of(&model, &x) + 1) % OUT;
    let mut adv = [0.5; IN];
    let aa = AutoAttack::<Linf>::standard(0.1, SHAPE, 1);
    let r = aa.run(&model, &x, wrong, &Stage::STANDARD, 0, &mut adv, &mut scratch(&model)).unwrap();
    assert!(!r.clean_correct && !r.robust() && r.broken_by.is_none());
    assert_eq!((r.gradients, r.forward_passes, adv), (0, 1, x));
}

#[test]
fn bad_settings_are_typed_errors() {
    let p = params(5);
    let model = p.as_model();
    let x = input(9);
    let y = class_of(&model, &x);
    let mut adv = [0.0; IN];
    let mut s = scratch(&model);
    let invalid = |name| Err(Error::InvalidParameter { name, expected: "" });
    let name_of = |r: Result<EnsembleReport, Error>| match r {
        Err(Error::InvalidParameter { name, .. }) => invalid(name),
        other => other,
    };
    let l2 = AutoAttack::<L2>::standard(0.5, SHAPE, 0);
    assert_eq!(
        name_of(l2.run(&model, &x, y, &Stage::STANDARD, 0, &mut adv, &mut s)),
        invalid("stages")
    );
    let negative = AutoAttack::<Linf>::standard(-0.1, SHAPE, 0);
    assert_eq!(
        name_of(negative.run(&model, &x, y, &Stage::STANDARD, 0, &mut adv, &mut s)),
        invalid("epsilon")
    );
    let flat = AutoAttack::<Linf>::standard(0.1, Shape::new(1, 3, 3), 0);
    assert!(matches!(
        flat.run(&model, &x, y, &Stage::STANDARD, 0, &mut adv, &mut s),
        Err(Error::Length { what: "square attack shape", expected: IN, found: 9 })
    ));
    let mut short: AttackScratch<_, [f32; IN]> = AttackScratch::for_model(&model);
    let apgd = Apgd::<Linf>::new(0.1, 10, ApgdLoss::CrossEntropy, 0);
    assert!(matches!(
        apgd.run(&model, &x, Goal::untargeted(y), &mut adv, &mut short, &mut ()),
        Err(Error::Length { what: "attack scratch", expected: 80, found: 16 })
    ));
    let to_self = Apgd::<Linf>::new(0.1, 10, ApgdLoss::DlrTargeted { target: y }, 0);
    assert_eq!(
        to_self.run(&model, &x, Goal::untargeted(y), &mut adv, &mut s, &mut ()),
        Err(Error::TargetIsTrueClass { class: y })
    );
    assert!(Square { p_init: 0.0, ..Square::new(0.1, 10, SHAPE, 0) }.validate().is_err());
    assert_eq!(<Linf as Norm>::NAME, "linf");
}

#[test]
fn a_larger_scratch_gives_the_same_bits() {
    let p = params(6);
    let model = p.as_model();
    let x = input(12);
    let y = class_of(&model, &x);
    let mut s = AttackScratch::<_, [f32; 7 * IN]>::with_vectors(&model, 7);
    let mut adv = [0.0; IN];
    let aa =
        AutoAttack { iterations: 10, queries: 50, ..AutoAttack::<Linf>::standard(0.1, SHAPE, 3) };
    let fixed = aa.run(&model, &x, y, &Stage::STANDARD, 1, &mut adv, &mut s).unwrap();
    let mut adv_heap = [0.0; IN];
    let heap =
        aa.run(&model, &x, y, &Stage::STANDARD, 1, &mut adv_heap, &mut scratch(&model)).unwrap();
    assert_eq!((fixed, adv), (heap, adv_heap));
}
