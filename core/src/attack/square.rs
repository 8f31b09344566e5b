//! Square Attack in L∞ (Andriushchenko, Croce, Flammarion & Hein, 2020): a score-based
//! random search that needs only the model's logits, never a gradient.
//!
//! The input is seen as `C×H×W`. Start from vertical stripes, `xᵢ = clip(x⁰ᵢ ± ε)` with one
//! random sign per channel and column. Then, at each query, pick a random square window of
//! side `s` and set it to `clip(x⁰ ± ε)` with one random sign per channel (drawn again, up
//! to a few times, if that changes nothing); keep the change if it lowers the margin
//! `m = z_y − maxⱼ≠y zⱼ` (targeted: `maxⱼ≠t zⱼ − zₜ`) or meets the goal. The window covers
//! a fraction `p` of the pixels, `s = max(1, round(√(p·C·H·W / C)))` (at most `min(H, W) − 1`),
//! and `p` follows the reference code's schedule over the query budget `Q`: `p_init`, halved
//! after each of `0.001Q`, `0.005Q`, `0.02Q`, `0.05Q`, `0.1Q`, `0.2Q`, `0.4Q`, `0.6Q` and
//! `0.8Q` queries.
//!
//! Every iterate lies in the ε-ball and the bounds by construction. One query is one
//! forward pass; the attack stops on its [`EarlyStop`] rule (by default, success).

use super::{AttackReport, AttackScratch, Bounds, EarlyStop, checks};
use crate::error::Error;
use crate::linalg::{self, clamp_scalar};
use crate::model::{Classifier, Prediction};
use crate::network::Shape;
use crate::objective::Goal;
use crate::rng::SplitMix64;
use crate::storage::ArenaStorage;

/// Square Attack in L∞ (Andriushchenko et al., 2020): from random vertical stripes at
/// `x⁰ ± ε`, random square windows set to `x⁰ ± ε` (one sign per channel) are kept when
/// they lower the margin `z_y − maxⱼ≠y zⱼ`; the windows shrink over the query budget by
/// the reference schedule ([`Square::fraction`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Square {
    /// Budget ε (≥ 0) in L∞.
    pub epsilon: f32,
    /// Query budget after the start (≥ 1); 5,000 in AutoAttack.
    pub queries: u32,
    /// Initial fraction of the pixels a window covers, in `(0, 1]`; 0.8 in AutoAttack.
    pub p_init: f32,
    /// Seed of the stripes, windows and signs.
    pub seed: u64,
    /// How the input is laid out (`C·H·W` must be the model's input length).
    pub shape: Shape,
    /// When to stop before the budget is spent.
    pub early_stop: EarlyStop,
    /// Input bounds.
    pub bounds: Bounds,
}

/// Draws of a window's signs before a window that changes nothing is tried anyway.
const REDRAWS: u32 = 16;

impl Square {
    /// Scratch vectors (each as long as the input) that [`run`](Self::run) needs: the
    /// window's previous values.
    pub const SCRATCH_VECTORS: usize = 1;

    /// AutoAttack's settings for inputs of `shape`: `queries` queries within `epsilon`,
    /// `p_init = 0.8`, stopping on success.
    pub const fn new(epsilon: f32, queries: u32, shape: Shape, seed: u64) -> Self {
        Self {
            epsilon,
            queries,
            p_init: 0.8,
            seed,
            shape,
            early_stop: EarlyStop::OnSuccess,
            bounds: Bounds::UNIT,
        }
    }

    /// Fails on ε < 0, no queries, `p_init` outside `(0, 1]`, or an empty shape.
    pub fn validate(&self) -> Result<(), Error> {
        checks::non_negative("epsilon", self.epsilon)?;
        checks::at_least_one("queries", self.queries)?;
        if !(self.p_init > 0.0 && self.p_init <= 1.0) {
            return Err(Error::InvalidParameter { name: "p_init", expected: "in (0, 1]" });
        }
        if self.shape.checked_len().is_none() {
            return Err(Error::InvalidParameter { name: "shape", expected: "non-empty" });
        }
        self.bounds.validate()?;
        self.early_stop.validate()
    }

    /// The window fraction `p` at query `query` of `queries` (the reference schedule).
    pub fn fraction(p_init: f32, query: u32, queries: u32) -> f32 {
        let at = u64::from(query) * 10_000 / u64::from(queries.max(1));
        let halvings = match at {
            0..=10 => 0,
            11..=50 => 1,
            51..=200 => 2,
            201..=500 => 3,
            501..=1000 => 4,
            1001..=2000 => 5,
            2001..=4000 => 6,
            4001..=6000 => 7,
            6001..=8000 => 8,
            _ => 9,
        };
        p_init / (1u32 << halvings) as f32
    }

    /// The window side for fraction `p`: `max(1, round(√(p·H·W)))`, at most
    /// `min(H, W) − 1` (or 1 for a flat input).
    fn side(&self, p: f32) -> usize {
        let Shape { height, width, .. } = self.shape;
        let side = libm::roundf(crate::math::sqrt(p * (height * width) as f32)) as usize;
        side.clamp(1, height.min(width).saturating_sub(1).max(1))
    }

    /// Runs the attack on `original` toward `goal`, leaving the best point found in
    /// `adversarial`. `scratch` needs [`SCRATCH_VECTORS`](Self::SCRATCH_VECTORS) vectors.
    /// The report's `iterations` counts the queries after the start.
    ///
    /// Fails, before any work, on bad settings, a goal out of range, a shape that is not
    /// the model's input length, inputs of the wrong length or out of bounds.
    pub fn run<M, G, const OUT: usize>(
        &self,
        model: &M,
        original: &[f32],
        goal: Goal,
        adversarial: &mut [f32],
        scratch: &mut AttackScratch<M::Workspace, G>,
    ) -> Result<AttackReport, Error>
    where
        M: Classifier<OUT>,
        G: ArenaStorage,
    {
        self.validate()?;
        goal.validate(model.classes())?;
        let n = super::check_lengths(model.input_len(), original, adversarial)?;
        if self.shape.checked_len() != Some(n) {
            return Err(Error::Length {
                what: "square attack shape",
                expected: n,
                found: self.shape.checked_len().unwrap_or(0),
            });
        }
        let [saved] = super::scratch_vectors(scratch.gradient.as_mut_slice(), n)?;
        self.bounds.check(original)?;
        let ws = &mut scratch.model;
        let Shape { channels, height, width } = self.shape;
        let (lo, hi, eps) = (self.bounds.lo, self.bounds.hi, self.epsilon);
        let mut rng = SplitMix64::new(self.seed);

        let initial = model.predict(original, ws)?;
        // Vertical stripes: one sign per channel and column.
        for c in 0..channels {
            for col in 0..width {
                let sign = rng.sign();
                for row in 0..height {
                    let i = (c * height + row) * width + col;
                    if let (Some(a), Some(&x0)) = (adversarial.get_mut(i), original.get(i)) {
                        *a = clamp_scalar(x0 + sign * eps, lo, hi);
                    }
                }
            }
        }
        let mut best = model.predict(adversarial, ws)?;
        let mut best_margin = margin(&goal, &best);
        let mut query = 0;
        while query < self.queries && !self.early_stop.is_met(&goal, &best) {
            let side = self.side(Self::fraction(self.p_init, query, self.queries));
            let top = rng.below(height.saturating_sub(side) + 1);
            let left = rng.below(width.saturating_sub(side) + 1);
            let window = Window { channels, height, width, top, left, side };
            window.save(adversarial, saved);
            for _ in 0..REDRAWS {
                for c in 0..channels {
                    let sign = rng.sign();
                    window
                        .fill(c, adversarial, original, |x0| clamp_scalar(x0 + sign * eps, lo, hi));
                }
                if window.differs(adversarial, saved) {
                    break;
                }
            }
            let candidate = model.predict(adversarial, ws)?;
            query += 1;
            let candidate_margin = margin(&goal, &candidate);
            if candidate_margin < best_margin || goal.is_met(&candidate) {
                best = candidate;
                best_margin = candidate_margin;
            } else {
                window.restore(adversarial, saved);
            }
        }
        Ok(AttackReport::new(&goal, query, &initial, &best, original, adversarial))
    }
}

/// The margin the attack lowers: `z_y − maxⱼ≠y zⱼ`, or `maxⱼ≠t zⱼ − zₜ` toward a target.
fn margin<const OUT: usize>(goal: &Goal, prediction: &Prediction<OUT>) -> f32 {
    let z = prediction.logits();
    let class = goal.target.unwrap_or(goal.true_class);
    let own = z.get(class).copied().unwrap_or(0.0);
    let mut other = f32::NEG_INFINITY;
    for (i, &v) in z.iter().enumerate() {
        if i != class && v > other {
            other = v;
        }
    }
    if goal.target.is_some() { other - own } else { own - other }
}

/// A `side × side` square at (`top`, `left`) of every channel of a `C×H×W` input.
struct Window {
    channels: usize,
    height: usize,
    width: usize,
    top: usize,
    left: usize,
    side: usize,
}

impl Window {
    /// The index range of the window's row `r` in channel `c`.
    fn row(&self, c: usize, r: usize) -> core::ops::Range<usize> {
        let start = (c * self.height + self.top + r) * self.width + self.left;
        start..start + self.side.min(self.width)
    }

    /// The rows of the window, channel by channel: `(channel, index range)`.
    fn rows(&self) -> impl Iterator<Item = (usize, core::ops::Range<usize>)> + '_ {
        let rows = self.side.min(self.height);
        (0..self.channels).flat_map(move |c| (0..rows).map(move |r| (c, self.row(c, r))))
    }

    /// Copies the window of `x` into `saved` (packed at the front).
    fn save(&self, x: &[f32], saved: &mut [f32]) {
        let mut at = 0;
        for (_, range) in self.rows() {
            let len = range.len();
            if let (Some(dst), Some(src)) = (saved.get_mut(at..at + len), x.get(range)) {
                linalg::copy(dst, src);
            }
            at += len;
        }
    }

    /// Puts the values [`save`](Self::save) took back into `x`.
    fn restore(&self, x: &mut [f32], saved: &[f32]) {
        let mut at = 0;
        for (_, range) in self.rows() {
            let len = range.len();
            if let (Some(dst), Some(src)) = (x.get_mut(range), saved.get(at..at + len)) {
                linalg::copy(dst, src);
            }
            at += len;
        }
    }

    /// Sets channel `c` of the window of `x` to `value(x⁰)`.
    fn fill(&self, c: usize, x: &mut [f32], original: &[f32], value: impl Fn(f32) -> f32) {
        for (_, range) in self.rows().filter(|&(ch, _)| ch == c) {
            if let (Some(dst), Some(src)) = (x.get_mut(range.clone()), original.get(range)) {
                for (d, &x0) in dst.iter_mut().zip(src) {
                    *d = value(x0);
                }
            }
        }
    }

    /// Whether the window of `x` differs from the values [`save`](Self::save) took.
    fn differs(&self, x: &[f32], saved: &[f32]) -> bool {
        let mut at = 0;
        for (_, range) in self.rows() {
            let len = range.len();
            if let (Some(now), Some(before)) = (x.get(range), saved.get(at..at + len))
                && now != before
            {
                return true;
            }
            at += len;
        }
        false
    }
}
