//! `nudge toy` and `nudge train --arch logreg`.

use clap::{Args, ValueEnum};
use nudge_host::toy::{self, N, THETA, XA, XB};

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct ToyArgs {
    /// Which input to push toward the other class.
    #[arg(long, value_enum, default_value_t = Input::A)]
    input: Input,
    /// Gradient steps.
    #[arg(long, default_value_t = 20)]
    iters: u32,
    /// Step size.
    #[arg(long, default_value_t = 0.5)]
    step: f32,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Input {
    /// xA = [1, 0, 1, 0, 0, 0], class 0.
    A,
    /// xB = [0, 1, 0, 1, 0, 0], class 1.
    B,
}

fn v(x: &[f32; N]) -> String {
    let parts: Vec<String> = x.iter().map(|v| format!("{v:6.3}")).collect();
    format!("[{}]", parts.join(","))
}

pub fn run(a: &ToyArgs) -> anyhow::Result<()> {
    let start_b = a.input == Input::B;
    let path = toy::descend(start_b, a.iters, a.step)?;
    let ga = toy::gradients(&XA)?;
    let gb = toy::gradients(&XB)?;
    if a.json {
        let j = serde_json::json!({
            "theta": THETA,
            "f_a": ga.f, "f_b": gb.f,
            "grad_theta_a": ga.grad_theta, "grad_theta_b": gb.grad_theta,
            "grad_x_a": ga.grad_x, "grad_x_b": gb.grad_x,
            "trajectory": path.iter().map(|s| serde_json::json!({
                "iteration": s.iteration, "x": s.x, "f": s.f, "class": s.class,
                "cos_a": s.cos_a, "cos_b": s.cos_b})).collect::<Vec<_>>(),
        });
        println!("{j:#}");
        return Ok(());
    }
    println!("Seed section 2: logistic regression f(x) = σ(θᵀx), θ = {}", v(&THETA));
    println!("  xA = {} (class 0)   xB = {} (class 1)\n", v(&XA), v(&XB));
    println!("f(xA) = {:.4}   f(xB) = {:.4}\n", ga.f, gb.f);
    println!("2.A  ∇θ f(x) = σ(θᵀx)(1 − σ(θᵀx))·x");
    for (name, x, g) in [("xA", &XA, &ga), ("xB", &XB, &gb)] {
        println!(
            "     at {name}: {}   cosine with {name} = {:.3}: points along x",
            v(&g.grad_theta),
            toy::cosine(&g.grad_theta, x)
        );
    }
    println!("2.B  ∇x f(x) = σ(θᵀx)(1 − σ(θᵀx))·θ");
    for (name, g) in [("xA", &ga), ("xB", &gb)] {
        println!(
            "     at {name}: {}   cosine with θ = {:.3}: points along θ",
            v(&g.grad_x),
            toy::cosine(&g.grad_x, &THETA)
        );
    }
    let (from, to, target) = if start_b { ("xB", "class 0", 0) } else { ("xA", "class 1", 1) };
    println!(
        "\n2.C  gradient ascent on {from} toward {to} (step {}, {} iterations, x kept in [0, 1])",
        a.step, a.iters
    );
    println!(
        "     {:>4}  {:<45} {:>7}  {:>8}  {:>7}  {:>7}",
        "iter", "x", "f(x)", "decision", "cos xA", "cos xB"
    );
    let every = (a.iters / 10).max(1);
    let mut flipped = None;
    for s in &path {
        if flipped.is_none() && s.class == target {
            flipped = Some(s.iteration);
        }
        if s.iteration % every == 0 || s.iteration == a.iters || Some(s.iteration) == flipped {
            println!(
                "     {:>4}  {:<45} {:>7.4}  {:>8}  {:>7.3}  {:>7.3}",
                s.iteration,
                v(&s.x),
                s.f,
                format!("class {}", s.class),
                s.cos_a,
                s.cos_b
            );
        }
    }
    match (flipped, path.last()) {
        (Some(i), Some(last)) => println!(
            "\nThe decision flips at iteration {i}. The final input is {} to xA and {} to xB: it looks like the\ntarget class, not the input class (seed 2.C).",
            if last.cos_a > 0.5 {
                format!("close ({:.2})", last.cos_a)
            } else {
                format!("far ({:.2})", last.cos_a)
            },
            if last.cos_b > 0.5 {
                format!("close ({:.2})", last.cos_b)
            } else {
                format!("far ({:.2})", last.cos_b)
            },
        ),
        _ => println!("\nThe decision did not flip; try more --iters or a larger --step."),
    }
    Ok(())
}

pub fn train_logreg(epochs: u32, lr: f32, json: bool) -> anyhow::Result<()> {
    let (m, losses) = toy::train_logreg(epochs, lr)?;
    let cos = toy::cosine(&m.theta, &THETA);
    if json {
        let j = serde_json::json!({"theta": m.theta, "bias": m.bias, "losses": losses, "cosine_with_seed_theta": cos});
        println!("{j:#}");
    } else {
        println!(
            "trained the seed's logistic regression on xA (class 0), xB (class 1): {epochs} epochs, lr {lr}"
        );
        println!("loss {:.4} → {:.4}", losses[0], losses[losses.len() - 1]);
        println!("θ = {}, b = {:.4}", v(&m.theta), m.bias);
        println!("cosine with the seed's θ = [-1, 1, -1, 1, 0, 0]: {cos:.4}");
    }
    Ok(())
}

impl Default for ToyArgs {
    fn default() -> Self {
        ToyArgs { input: Input::A, iters: 20, step: 0.5, json: false }
    }
}
