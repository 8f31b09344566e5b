//! What an attack (or training) pushes on: objectives over a classifier's logits.
//!
//! Every objective is a scalar `J(z)` of the logits `z` that attacks **maximise**, with its
//! gradient `∂J/∂z` (the model backpropagates it to the input):
//!
//! | objective | `J(z)` | `∂J/∂z` |
//! | --- | --- | --- |
//! | `Targeted { target: t }` | `log pₜ` | `eₜ − p` |
//! | `Untargeted { true_class: y }` (cross-entropy) | `−log p_y` | `p − e_y` |
//! | `TargetedMargin { target: t, kappa: κ }` | `min(zₜ − maxⱼ≠ₜ zⱼ, κ)` | `eₜ − e_k` while below κ, else 0 |
//! | `UntargetedMargin { true_class: y, kappa: κ }` | `min(maxⱼ≠y zⱼ − z_y, κ)` | `e_k − e_y` while below κ, else 0 |
//!
//! `p = softmax(z)`, `eᵢ` the i-th unit vector, `k` the best other class (lowest index on
//! ties). The margins are the Carlini–Wagner `f₆` loss (2017) with confidence κ, negated.
//! Training minimises `Untargeted`, which is the cross-entropy loss.

use crate::error::Error;
use crate::model::Prediction;

/// A differentiable objective over logits; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Objective {
    /// Maximise `log p(target)`.
    Targeted {
        /// The class to reach.
        target: usize,
    },
    /// Maximise the cross-entropy `−log p(true_class)`.
    Untargeted {
        /// The class to leave.
        true_class: usize,
    },
    /// Maximise `min(z_target − max_{j≠target} z_j, kappa)`.
    TargetedMargin {
        /// The class to reach.
        target: usize,
        /// Confidence margin κ ≥ 0 beyond which the objective stops rewarding.
        kappa: f32,
    },
    /// Maximise `min(max_{j≠true} z_j − z_true, kappa)`.
    UntargetedMargin {
        /// The class to leave.
        true_class: usize,
        /// Confidence margin κ ≥ 0 beyond which the objective stops rewarding.
        kappa: f32,
    },
    /// Maximise the difference of logits ratio `−(z_y − max_{j≠y} z_j)/(z_π₁ − z_π₃)`.
    Dlr {
        /// The class to leave.
        true_class: usize,
    },
    /// Maximise the targeted difference of logits ratio
    /// `−(z_y − z_t)/(z_π₁ − (z_π₃ + z_π₄)/2)`: leave `true_class` by way of `target`.
    DlrTargeted {
        /// The class to leave.
        true_class: usize,
        /// The class pushed up.
        target: usize,
    },
}

/// Added to the DLR denominators, as in Croce & Hein's code, so that equal top logits do
/// not divide by zero.
const DLR_GUARD: f32 = 1e-12;

impl Objective {
    /// The class the objective is about.
    pub fn class(&self) -> usize {
        match *self {
            Objective::Targeted { target } | Objective::TargetedMargin { target, .. } => target,
            Objective::Untargeted { true_class }
            | Objective::UntargetedMargin { true_class, .. }
            | Objective::Dlr { true_class }
            | Objective::DlrTargeted { true_class, .. } => true_class,
        }
    }

    /// Checks the class index and κ against a model with `classes` outputs.
    pub fn validate(&self, classes: usize) -> Result<(), Error> {
        let class = self.class();
        if class >= classes {
            return Err(Error::ClassOutOfRange { class, classes });
        }
        let kappa = match *self {
            Objective::TargetedMargin { kappa, .. } | Objective::UntargetedMargin { kappa, .. } => {
                kappa
            }
            Objective::Dlr { .. } if classes < 3 => {
                return Err(Error::InvalidParameter {
                    name: "objective",
                    expected: "the DLR loss needs at least 3 classes",
                });
            }
            Objective::DlrTargeted { true_class, target } => {
                if target >= classes {
                    return Err(Error::ClassOutOfRange { class: target, classes });
                }
                if target == true_class {
                    return Err(Error::TargetIsTrueClass { class: target });
                }
                if classes < 4 {
                    return Err(Error::InvalidParameter {
                        name: "objective",
                        expected: "the targeted DLR loss needs at least 4 classes",
                    });
                }
                0.0
            }
            Objective::Targeted { .. } | Objective::Untargeted { .. } | Objective::Dlr { .. } => {
                0.0
            }
        };
        if !(kappa >= 0.0 && kappa.is_finite()) {
            return Err(Error::InvalidParameter { name: "kappa", expected: "finite and ≥ 0" });
        }
        Ok(())
    }

    /// `J(z)`, and `∂J/∂z` written to `dz`. The class must be in range ([`Self::validate`]);
    /// an out-of-range class yields an error rather than a panic.
    pub fn evaluate<const OUT: usize>(
        &self,
        prediction: &Prediction<OUT>,
        dz: &mut [f32],
    ) -> Result<f32, Error> {
        let p = prediction;
        self.evaluate_logits(p.logits(), p.probabilities(), p.log_probabilities(), dz)
    }

    /// [`evaluate`](Self::evaluate) for a class count known at run time: the logits `z`, their
    /// softmax and log-softmax ([`math::softmax`](crate::math::softmax)) and `dz`, all as
    /// long as the model has classes.
    pub fn evaluate_logits(
        &self,
        z: &[f32],
        probabilities: &[f32],
        log_probabilities: &[f32],
        dz: &mut [f32],
    ) -> Result<f32, Error> {
        self.validate(z.len())?;
        let class = self.class();
        match *self {
            Objective::Targeted { .. } => {
                for ((d, &p), i) in dz.iter_mut().zip(probabilities).zip(0..) {
                    *d = if i == class { 1.0 - p } else { -p };
                }
                Ok(log_probabilities.get(class).copied().unwrap_or(0.0))
            }
            Objective::Untargeted { .. } => {
                for ((d, &p), i) in dz.iter_mut().zip(probabilities).zip(0..) {
                    *d = if i == class { p - 1.0 } else { p };
                }
                Ok(-log_probabilities.get(class).copied().unwrap_or(0.0))
            }
            Objective::TargetedMargin { kappa, .. } | Objective::UntargetedMargin { kappa, .. } => {
                dz.fill(0.0);
                let (other, other_logit) = best_other(z, class);
                let own = z.get(class).copied().unwrap_or(0.0);
                let targeted = matches!(self, Objective::TargetedMargin { .. });
                let margin = if targeted { own - other_logit } else { other_logit - own };
                if margin < kappa {
                    let sign = if targeted { 1.0 } else { -1.0 };
                    if let Some(d) = dz.get_mut(class) {
                        *d = sign;
                    }
                    if let Some(d) = dz.get_mut(other) {
                        *d = -sign;
                    }
                    Ok(margin)
                } else {
                    Ok(kappa)
                }
            }
            Objective::Dlr { .. } => {
                let (other, _) = best_other(z, class);
                let [first, _, third, _] = top_four(z);
                Ok(dlr(z, dz, (class, other), &[(first, 1.0), (third, -1.0)]))
            }
            Objective::DlrTargeted { target, .. } => {
                let [first, _, third, fourth] = top_four(z);
                Ok(dlr(z, dz, (class, target), &[(first, 1.0), (third, -0.5), (fourth, -0.5)]))
            }
        }
    }
}

/// `J = −(z_a − z_b)/D` with `D = Σ wᵢ·z_{cᵢ} + 10⁻¹²` over `spread = [(cᵢ, wᵢ)]`, and
/// `∂J/∂z = −(e_a − e_b)/D + (z_a − z_b)·Σ wᵢ e_{cᵢ}/D²` written to `dz`.
fn dlr(z: &[f32], dz: &mut [f32], (a, b): (usize, usize), spread: &[(usize, f32)]) -> f32 {
    let logit = |i: usize| z.get(i).copied().unwrap_or(0.0);
    let margin = logit(a) - logit(b);
    let mut denominator = 0.0;
    for &(c, w) in spread {
        denominator += w * logit(c);
    }
    denominator += DLR_GUARD;
    dz.fill(0.0);
    let mut add = |i: usize, v: f32| {
        if let Some(d) = dz.get_mut(i) {
            *d += v;
        }
    };
    add(a, -1.0 / denominator);
    add(b, 1.0 / denominator);
    let scale = margin / (denominator * denominator);
    for &(c, w) in spread {
        add(c, w * scale);
    }
    -margin / denominator
}

/// The classes of the four highest logits, highest first (lowest index first on ties);
/// with fewer classes the missing places repeat the last class.
fn top_four(z: &[f32]) -> [usize; 4] {
    let mut top: [Option<(usize, f32)>; 4] = [None; 4];
    for (i, &v) in z.iter().enumerate() {
        // Strictly greater moves ahead, so an equal logit stays behind the lower index.
        let place = top.iter().position(|held| held.is_none_or(|(_, w)| v > w));
        if let Some(place) = place {
            top.copy_within(place..3, place + 1);
            if let Some(slot) = top.get_mut(place) {
                *slot = Some((i, v));
            }
        }
    }
    let mut out = [0; 4];
    let mut last = 0;
    for (o, held) in out.iter_mut().zip(top) {
        last = held.map_or(last, |(i, _)| i);
        *o = last;
    }
    out
}

/// The highest logit other than `class` (lowest index on ties), and its value.
fn best_other(z: &[f32], class: usize) -> (usize, f32) {
    let mut best = (usize::MAX, f32::NEG_INFINITY);
    for (i, &v) in z.iter().enumerate() {
        if i != class && (best.0 == usize::MAX || v > best.1) {
            best = (i, v);
        }
    }
    best
}

/// What an attack is after: leave `true_class`, or reach `target`, by cross-entropy or by a
/// confidence margin.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Goal {
    /// The input's true class (what the model should say).
    pub true_class: usize,
    /// The class to reach, or `None` for an untargeted attack (any other class).
    pub target: Option<usize>,
    /// `Some(κ)` attacks the Carlini–Wagner logit margin with confidence κ instead of the
    /// (log-)probability.
    pub margin: Option<f32>,
}

impl Goal {
    /// Reach `target` starting from an input of class `true_class`.
    pub const fn targeted(true_class: usize, target: usize) -> Self {
        Self { true_class, target: Some(target), margin: None }
    }

    /// Leave `true_class` for any other class.
    pub const fn untargeted(true_class: usize) -> Self {
        Self { true_class, target: None, margin: None }
    }

    /// The same goal, pursued through the logit margin with confidence `kappa`.
    #[must_use]
    pub const fn with_margin(self, kappa: f32) -> Self {
        Self { margin: Some(kappa), ..self }
    }

    /// The objective the attack maximises.
    pub fn objective(&self) -> Objective {
        match (self.target, self.margin) {
            (Some(target), None) => Objective::Targeted { target },
            (Some(target), Some(kappa)) => Objective::TargetedMargin { target, kappa },
            (None, None) => Objective::Untargeted { true_class: self.true_class },
            (None, Some(kappa)) => {
                Objective::UntargetedMargin { true_class: self.true_class, kappa }
            }
        }
    }

    /// The class whose probability reports follow: the target, or the true class when
    /// untargeted.
    pub fn watched_class(&self) -> usize {
        self.target.unwrap_or(self.true_class)
    }

    /// Whether `prediction` meets the goal (predicts the target / anything but the true
    /// class).
    pub fn is_met<const OUT: usize>(&self, prediction: &Prediction<OUT>) -> bool {
        match self.target {
            Some(target) => prediction.class == target,
            None => prediction.class != self.true_class,
        }
    }

    /// Checks classes and κ for a model with `classes` outputs, and that a targeted goal
    /// does not aim at the true class.
    pub fn validate(&self, classes: usize) -> Result<(), Error> {
        if self.true_class >= classes {
            return Err(Error::ClassOutOfRange { class: self.true_class, classes });
        }
        if self.target == Some(self.true_class) {
            return Err(Error::TargetIsTrueClass { class: self.true_class });
        }
        self.objective().validate(classes)
    }
}
