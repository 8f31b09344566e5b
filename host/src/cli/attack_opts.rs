//! The attack flags shared by `nudge attack` and `nudge demo`: method, budget and step.

use clap::{Args, ValueEnum};
use nudge_host::attack::{Method, Settings};

/// Which attack and its budget; unset numbers take the method's defaults.
#[derive(Debug, Clone, Args)]
pub struct AttackOpts {
    /// The attack.
    #[arg(long, value_enum, default_value_t = MethodArg::Gradient)]
    method: MethodArg,
    /// Iteration budget [default: gradient 200, pgd 100, pgd-l2 100].
    #[arg(long)]
    iters: Option<u32>,
    /// Step size [default: gradient 0.01, pgd 0.01, pgd-l2 0.1].
    #[arg(long)]
    step: Option<f32>,
    /// Budget ε: L∞ for fgsm/pgd, L2 for pgd-l2 [default: fgsm 0.15, pgd 0.2, pgd-l2 2].
    #[arg(long)]
    eps: Option<f32>,
}

impl AttackOpts {
    /// The method's default settings with the flags given on the command line applied (not
    /// yet validated).
    pub fn settings(&self) -> Settings {
        let d = Settings::defaults(self.method.method());
        Settings {
            iters: self.iters.unwrap_or(d.iters),
            step: self.step.unwrap_or(d.step),
            eps: self.eps.unwrap_or(d.eps),
            ..d
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// The seed's gradient ascent on the input (no budget).
    Gradient,
    /// Fast gradient sign method, one step of size ε.
    Fgsm,
    /// Projected gradient descent in L∞.
    Pgd,
    /// Projected gradient descent in L2.
    PgdL2,
}

impl MethodArg {
    pub fn method(self) -> Method {
        match self {
            MethodArg::Gradient => Method::Gradient,
            MethodArg::Fgsm => Method::Fgsm,
            MethodArg::Pgd => Method::Pgd,
            MethodArg::PgdL2 => Method::PgdL2,
        }
    }
}
