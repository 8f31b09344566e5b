//! The seed exercise's sections 2.A–2.C on its own numbers:
//! xA = [1,0,1,0,0,0] (class 0), xB = [0,1,0,1,0,0] (class 1), θ = [-1,1,-1,1,0,0], b = 0.
//!
//! Closed forms (discussion guide): ∇θ f = σ(θᵀx)(1−σ(θᵀx))·x, ∇x f = σ(θᵀx)(1−σ(θᵀx))·θ.
//! θᵀxA = −2, θᵀxB = 2, so f(xA) = σ(−2) ≈ 0.1192 and f(xB) = σ(2) ≈ 0.8808.

use nudge_core::attack::AttackScratch;
use nudge_core::{Attack, EarlyStop, Goal, GradientAscent, LogisticRegression};

const X_A: [f32; 6] = [1.0, 0.0, 1.0, 0.0, 0.0, 0.0];
const X_B: [f32; 6] = [0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
const THETA: [f32; 6] = [-1.0, 1.0, -1.0, 1.0, 0.0, 0.0];
/// Absolute tolerance for f32 results against f64 closed forms (libm's exp).
#[cfg(not(feature = "micromath"))]
const ATOL: f64 = 1e-6;
/// With micromath's exp (≈2.4e-3 relative), σ is off by up to ≈ 2.4e-3·σ(1−σ).
#[cfg(feature = "micromath")]
const ATOL: f64 = 5e-4;

fn model() -> LogisticRegression<6> {
    LogisticRegression::new(THETA, 0.0).unwrap()
}

fn sigma(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn cosine(a: &[f32; 6], b: &[f32; 6]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x * y)).sum();
    let na: f64 = a.iter().map(|x| f64::from(x * x)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(x * x)).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn assert_close(got: f32, want: f64, what: &str) {
    let delta = (f64::from(got) - want).abs();
    assert!(delta <= ATOL, "{what}: got {got}, want {want}, delta {delta}");
}

#[test]
fn section_2a_gradient_wrt_theta_is_closed_form_and_points_along_x() {
    for (x, z) in [(X_A, -2.0), (X_B, 2.0)] {
        let mut g = [0.0; 6];
        let f = model().gradient_wrt_theta(&x, &mut g).unwrap();
        assert_close(f, sigma(z), "f(x)");
        let scale = sigma(z) * (1.0 - sigma(z));
        for i in 0..6 {
            assert_close(g[i], scale * f64::from(x[i]), "∇θ f");
        }
        assert!((cosine(&g, &x) - 1.0).abs() < 1e-6, "∇θ f must point along x");
    }
}

#[test]
fn section_2b_gradient_wrt_input_is_closed_form_and_points_along_theta() {
    for (x, z) in [(X_A, -2.0), (X_B, 2.0)] {
        let mut g = [0.0; 6];
        model().gradient_wrt_input(&x, &mut g).unwrap();
        let scale = sigma(z) * (1.0 - sigma(z));
        for i in 0..6 {
            assert_close(g[i], scale * f64::from(THETA[i]), "∇x f");
        }
        assert!((cosine(&g, &THETA) - 1.0).abs() < 1e-6, "∇x f must point along θ");
    }
}

/// Runs the seed's gradient steps on `x` toward `target`, for exactly `iters` steps.
fn push(x: &[f32; 6], true_class: usize, target: usize, iters: u32) -> ([f32; 6], bool, f32) {
    let m = model();
    let attack = GradientAscent { early_stop: EarlyStop::Never, ..GradientAscent::new(0.1, iters) };
    let mut adv = [0.0; 6];
    let mut scratch = AttackScratch::<_, [f32; 6]>::for_model(&m);
    let goal = Goal::targeted(true_class, target);
    let report = attack.run(&m, x, goal, &mut adv, &mut scratch, &mut ()).unwrap();
    (adv, report.success, m.probability(&adv).unwrap())
}

#[test]
fn section_2c_gradient_steps_flip_the_decision_and_look_like_the_other_class() {
    // A few steps are not enough; enough steps flip the decision.
    let (early, flipped_early, _) = push(&X_A, 0, 1, 3);
    assert!(!flipped_early, "3 steps of 0.1 should not yet flip xA: {early:?}");
    let (a_to_b, flipped, f) = push(&X_A, 0, 1, 40);
    assert!(flipped && f > 0.5, "xA should be classified 1 after 40 steps (f = {f})");
    assert!(cosine(&a_to_b, &X_B) > cosine(&a_to_b, &X_A), "xA' = {a_to_b:?} should look like xB");
    assert!(cosine(&a_to_b, &X_B) > 0.99, "xA' = {a_to_b:?}");

    let (b_to_a, flipped, f) = push(&X_B, 1, 0, 40);
    assert!(flipped && f < 0.5, "xB should be classified 0 after 40 steps (f = {f})");
    assert!(cosine(&b_to_a, &X_A) > cosine(&b_to_a, &X_B), "xB' = {b_to_a:?} should look like xA");
    // Features θ ignores (indices 4, 5) never move.
    assert_eq!((a_to_b[4], a_to_b[5], b_to_a[4], b_to_a[5]), (0.0, 0.0, 0.0, 0.0));
}
