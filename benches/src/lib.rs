//! Shared set-up for the nudge benchmarks: models, inputs, FLOP counts and the baselines.
//!
//! Everything here is deterministic so that two runs, or two machines, time exactly the
//! same work. The inputs are the MNIST test digits when the data set is present
//! ([`mnist_dir`]; it is never committed), else synthetic "digits" with MNIST's statistics
//! that matter for speed (784 values in `[0, 1]`, ~19% nonzero): the kernel skips the
//! all-zero 8-pixel chunks of the input in the first layer, so sparsity matters. The weights
//! are random (seeded [`SplitMix64`]) with the shapes of a trained `784-H-10` MLP, scaled
//! so that about half of the hidden units are active (the backward pass skips the others);
//! nothing else depends on their values.
//!
//! The [baselines](naive_forward_input_grad) compute the same gradient as the kernel in a
//! different summation order, so they agree to rounding, not bit for bit; [`check_close`]
//! states the tolerance.

// The naive baseline indexes on purpose: it spells out the textbook loop.
#![allow(clippy::needless_range_loop)]

use nudge_core::model::Evaluation;
use nudge_core::rng::SplitMix64;
use nudge_core::{Classifier, Mlp, MlpParams, Objective};

/// Input size: a 28×28 image.
pub const IN: usize = 784;
/// Number of classes.
pub const OUT: usize = 10;
/// The class whose log-probability is differentiated in the kernel benchmarks.
pub const TARGET: usize = 3;
/// Seed of the benchmark model's weights.
pub const MODEL_SEED: u64 = 0x5EED_0001;
/// Seed of the first benchmark image (image `i` uses `IMAGE_SEED + i`).
pub const IMAGE_SEED: u64 = 0x1A6E_0000;

/// The benchmark model's parameters, `784-H-10`.
pub type Params<const H: usize> = MlpParams<IN, H, OUT>;

/// FLOPs of one forward pass (`2·(IN·H + H·OUT)`: a multiply and an add per weight; biases,
/// ReLU and softmax are not counted).
pub const fn forward_flops(hidden: usize) -> u64 {
    (2 * (IN * hidden + hidden * OUT)) as u64
}

/// FLOPs of one forward pass plus the input gradient (`4·(IN·H + H·OUT)`: the backward pass
/// reads every weight once more). 203,264 at `H = 64`. The kernel skips the rows of `W₁`
/// whose ReLU is off, so it does fewer; this is the work a dense implementation does, and
/// the figure the issue's anchors use.
pub const fn forward_input_grad_flops(hidden: usize) -> u64 {
    2 * forward_flops(hidden)
}

/// Random parameters of a `784-H-10` MLP, on the heap (they are ~200 KB at `H = 64`).
///
/// `W₁ ~ U(−a, a)` with `a = √(3/IN)·4` and `b₁ ~ U(−0.05, 0.05)`: zero-mean, so on a
/// nonnegative image about half of the pre-activations are positive (see
/// [`active_fraction`]); `W₂ ~ U(−√(3/H), √(3/H))`, `b₂ = 0`.
pub fn random_params<const H: usize>(seed: u64) -> Box<Params<H>> {
    let mut rng = SplitMix64::new(seed);
    let mut p: Box<Params<H>> = bytemuck::zeroed_box();
    let a = (3.0 / IN as f32).sqrt() * 4.0;
    let c = (3.0 / H as f32).sqrt();
    for row in p.fc1_weight.iter_mut() {
        row.iter_mut().for_each(|w| *w = rng.uniform(-a, a));
    }
    p.fc1_bias.iter_mut().for_each(|b| *b = rng.uniform(-0.05, 0.05));
    for row in p.fc2_weight.iter_mut() {
        row.iter_mut().for_each(|w| *w = rng.uniform(-c, c));
    }
    p
}

/// A deterministic digit-like 28×28 image: a ring (a "0") with a random centre, radii and
/// stroke width, anti-aliased, values in `[0, 1]`, about 19% of the pixels nonzero on
/// average (MNIST's test set: 19.3%).
pub fn digit_like_image(seed: u64) -> [f32; IN] {
    let mut rng = SplitMix64::new(seed);
    let cx = 13.5 + rng.uniform(-2.0, 2.0);
    let cy = 13.5 + rng.uniform(-2.0, 2.0);
    let rx = rng.uniform(4.5, 7.0);
    let ry = rng.uniform(7.0, 9.0);
    let width = rng.uniform(0.4, 1.0);
    core::array::from_fn(|i| {
        let (x, y) = ((i % 28) as f32, (i / 28) as f32);
        let (dx, dy) = ((x - cx) / rx, (y - cy) / ry);
        // Distance to the ellipse, in pixels (approximately).
        let d = ((dx * dx + dy * dy).sqrt() - 1.0).abs() * rx.min(ry);
        (1.0 - (d - width).max(0.0)).clamp(0.0, 1.0)
    })
}

/// `n` synthetic digit-like images, image `i` from seed `IMAGE_SEED + i`.
pub fn synthetic_images(n: usize) -> Vec<[f32; IN]> {
    (0..n as u64).map(|i| digit_like_image(IMAGE_SEED + i)).collect()
}

/// Where the MNIST files are looked for: `$NUDGE_MNIST_DIR`, else `shared/data/mnist`
/// beside the repository (as on the project's machines).
pub fn mnist_dir() -> std::path::PathBuf {
    std::env::var_os("NUDGE_MNIST_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist"),
        std::path::PathBuf::from,
    )
}

/// The first `n` MNIST test images scaled to `[0, 1]`, or `None` if the file is missing or
/// malformed.
pub fn mnist_images(n: usize) -> Option<Vec<[f32; IN]>> {
    use std::io::Read;
    let file = std::fs::File::open(mnist_dir().join("t10k-images-idx3-ubyte.gz")).ok()?;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(file).read_to_end(&mut bytes).ok()?;
    // IDX header: magic 0x00000803, count, rows, cols (big-endian u32).
    let header: Vec<u32> =
        bytes.get(..16)?.chunks(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])).collect();
    if header != [0x803, header[1], 28, 28] || (header[1] as usize) < n {
        return None;
    }
    let pixels = bytes.get(16..16 + n * IN)?;
    Some(
        pixels
            .chunks_exact(IN)
            .map(|img| core::array::from_fn(|i| f32::from(img[i]) / 255.0))
            .collect(),
    )
}

/// The benchmark inputs: `n` MNIST test images if available, else synthetic ones; and a
/// name for the source, to print.
pub fn images(n: usize) -> (Vec<[f32; IN]>, &'static str) {
    match mnist_images(n) {
        Some(xs) => (xs, "MNIST test images"),
        None => (synthetic_images(n), "synthetic digits (MNIST not found)"),
    }
}

/// The single-image benchmarks' input: MNIST test image 1 (a "2": 21% nonzero pixels, 39%
/// nonzero 8-pixel chunks, close to the test set's means of 19.3% and 39.6%), or a
/// synthetic digit; with the name of its source.
pub fn bench_image() -> ([f32; IN], &'static str) {
    match mnist_images(2) {
        Some(xs) => (xs[1], "MNIST test image 1"),
        None => (digit_like_image(IMAGE_SEED), "a synthetic digit (MNIST not found)"),
    }
}

/// Fraction of the chunks of 8 values ([`nudge_core::linalg::LANES`]) that are not all zero.
pub fn nonzero_chunk_fraction(x: &[f32]) -> f64 {
    let chunks = x.chunks(nudge_core::linalg::LANES);
    let n = chunks.len();
    chunks.filter(|c| c.iter().any(|&v| v != 0.0)).count() as f64 / n as f64
}

/// Fraction of nonzero values of `x`.
pub fn nonzero_fraction(x: &[f32]) -> f64 {
    x.iter().filter(|&&v| v != 0.0).count() as f64 / x.len() as f64
}

/// Fraction of hidden units whose ReLU is on (pre-activation `> 0`) at `x`.
pub fn active_fraction<const H: usize>(p: &Params<H>, x: &[f32; IN]) -> f64 {
    let model = p.as_model();
    let mut ws = model.workspace();
    // `predict` only fails on non-finite input or output, which the set-up never makes.
    model.predict(x, &mut ws).expect("benchmark model and input are finite");
    nonzero_fraction(ws.hidden())
}

/// The kernel: forward pass and `∇ₓ log softmax(z)[TARGET]` (what `gradient_kernel` times).
pub fn kernel_forward_input_grad<const H: usize>(
    model: &Mlp<'_, IN, H, OUT>,
    x: &[f32; IN],
    ws: &mut <Mlp<'_, IN, H, OUT> as Classifier<OUT>>::Workspace,
    grad: &mut [f32; IN],
) -> Evaluation<OUT> {
    model
        .input_gradient(x, Objective::Targeted { target: TARGET }, ws, grad)
        .expect("benchmark model and input are finite")
}

/// Scratch space of [`naive_forward_input_grad`].
#[derive(Debug, Clone)]
pub struct NaiveScratch<const H: usize> {
    pre: [f32; H],
    hidden: [f32; H],
    delta: [f32; H],
}

impl<const H: usize> Default for NaiveScratch<H> {
    fn default() -> Self {
        Self { pre: [0.0; H], hidden: [0.0; H], delta: [0.0; H] }
    }
}

/// Baseline 1, the textbook loop: every dot product with one accumulator in increasing
/// index (so the compiler may not vectorise it: that would reorder the sum), the backward
/// pass as dense row `axpy`s (every row, even those whose ReLU is off), `f32::exp`/`ln`.
/// Returns `log p[TARGET]`.
pub fn naive_forward_input_grad<const H: usize>(
    p: &Params<H>,
    x: &[f32; IN],
    s: &mut NaiveScratch<H>,
    grad: &mut [f32; IN],
) -> f32 {
    for j in 0..H {
        let mut acc = p.fc1_bias[j];
        for i in 0..IN {
            acc += p.fc1_weight[j][i] * x[i];
        }
        s.pre[j] = acc;
        s.hidden[j] = acc.max(0.0);
    }
    let mut z = [0.0f32; OUT];
    for k in 0..OUT {
        let mut acc = p.fc2_bias[k];
        for j in 0..H {
            acc += p.fc2_weight[k][j] * s.hidden[j];
        }
        z[k] = acc;
    }
    let m = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let sum: f32 = z.iter().map(|&v| (v - m).exp()).sum();
    let mut dz = [0.0f32; OUT];
    for k in 0..OUT {
        let p_k = (z[k] - m).exp() / sum;
        dz[k] = if k == TARGET { 1.0 - p_k } else { -p_k };
    }
    for j in 0..H {
        let mut acc = 0.0;
        for k in 0..OUT {
            acc += p.fc2_weight[k][j] * dz[k];
        }
        s.delta[j] = if s.pre[j] > 0.0 { acc } else { 0.0 };
    }
    grad.fill(0.0);
    for j in 0..H {
        let d = s.delta[j];
        for i in 0..IN {
            grad[i] += d * p.fc1_weight[j][i];
        }
    }
    (z[TARGET] - m) - sum.ln()
}

/// Baseline 2: the same computation with nalgebra's matrix-vector products
/// (`gemv_tr` forward, `gemv` backward) on heap matrices, buffers allocated once.
#[derive(Debug, Clone)]
pub struct NalgebraMlp {
    /// `W₁ᵀ`, `IN × H` (column `j` is row `j` of `fc1.weight`: nalgebra is column-major).
    w1t: nalgebra::DMatrix<f32>,
    b1: nalgebra::DVector<f32>,
    /// `W₂ᵀ`, `H × OUT`.
    w2t: nalgebra::DMatrix<f32>,
    b2: nalgebra::DVector<f32>,
    x: nalgebra::DVector<f32>,
    pre: nalgebra::DVector<f32>,
    hidden: nalgebra::DVector<f32>,
    z: nalgebra::DVector<f32>,
    dz: nalgebra::DVector<f32>,
    delta: nalgebra::DVector<f32>,
    /// The input gradient of the last [`NalgebraMlp::forward_input_grad`].
    pub grad: nalgebra::DVector<f32>,
}

impl NalgebraMlp {
    /// Copies the parameters into nalgebra matrices.
    pub fn new<const H: usize>(p: &Params<H>) -> Self {
        use nalgebra::{DMatrix, DVector};
        Self {
            w1t: DMatrix::from_column_slice(IN, H, p.fc1_weight.as_flattened()),
            b1: DVector::from_column_slice(&p.fc1_bias),
            w2t: DMatrix::from_column_slice(H, OUT, p.fc2_weight.as_flattened()),
            b2: DVector::from_column_slice(&p.fc2_bias),
            x: DVector::zeros(IN),
            pre: DVector::zeros(H),
            hidden: DVector::zeros(H),
            z: DVector::zeros(OUT),
            dz: DVector::zeros(OUT),
            delta: DVector::zeros(H),
            grad: DVector::zeros(IN),
        }
    }

    /// Forward pass and `∇ₓ log softmax(z)[TARGET]` into [`Self::grad`]; returns
    /// `log p[TARGET]`.
    pub fn forward_input_grad(&mut self, x: &[f32; IN]) -> f32 {
        self.x.copy_from_slice(x);
        self.pre.copy_from(&self.b1);
        self.pre.gemv_tr(1.0, &self.w1t, &self.x, 1.0);
        self.hidden.zip_apply(&self.pre, |h, a| *h = a.max(0.0));
        self.z.copy_from(&self.b2);
        self.z.gemv_tr(1.0, &self.w2t, &self.hidden, 1.0);
        let m = self.z.max();
        let sum: f32 = self.z.iter().map(|&v| (v - m).exp()).sum();
        self.dz.zip_apply(&self.z, |d, v| *d = -(v - m).exp() / sum);
        self.dz[TARGET] += 1.0;
        self.delta.gemv(1.0, &self.w2t, &self.dz, 0.0);
        self.delta.zip_apply(&self.pre, |d, a| {
            if a <= 0.0 {
                *d = 0.0;
            }
        });
        self.grad.gemv(1.0, &self.w1t, &self.delta, 0.0);
        (self.z[TARGET] - m) - sum.ln()
    }
}

/// How far a baseline's gradient may be from the kernel's: the sums run in another order,
/// so each element may differ by a few ulps of the sum's magnitude. Bound:
/// `|got − want| ≤ GRAD_RTOL_OF_MAX · maxᵢ |wantᵢ|` for every element.
pub const GRAD_RTOL_OF_MAX: f32 = 1e-4;
/// Absolute tolerance on the log-probability.
pub const LOG_PROB_ATOL: f32 = 1e-4;

/// Panics with the worst element (got, want, delta) unless `got` is within
/// [`GRAD_RTOL_OF_MAX`] of `want`; `what` names the baseline.
pub fn check_close(what: &str, got: &[f32], want: &[f32]) {
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: the kernel's gradient is zero: nothing to compare");
    let (i, delta) = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .enumerate()
        .fold((0, 0.0f32), |best, (i, d)| if d > best.1 { (i, d) } else { best });
    assert!(
        delta <= GRAD_RTOL_OF_MAX * scale,
        "{what}: element {i}: got {} want {} delta {delta} > {} (max |want| = {scale})",
        got[i],
        want[i],
        GRAD_RTOL_OF_MAX * scale
    );
}

/// Runs the kernel and both baselines on `x` and panics unless they agree (see
/// [`check_close`]). Called by the `baseline` benchmarks before timing.
pub fn check_baselines_agree<const H: usize>(p: &Params<H>, x: &[f32; IN]) {
    let model = p.as_model();
    let mut ws = model.workspace();
    let mut want = [0.0f32; IN];
    let eval = kernel_forward_input_grad(&model, x, &mut ws, &mut want);
    let want_lp = eval.prediction.log_probabilities()[TARGET];

    let mut got = [0.0f32; IN];
    let lp = naive_forward_input_grad(p, x, &mut NaiveScratch::default(), &mut got);
    check_close("naive loop", &got, &want);
    assert!((lp - want_lp).abs() <= LOG_PROB_ATOL, "naive log p: got {lp} want {want_lp}");

    let mut nal = NalgebraMlp::new(p);
    let lp = nal.forward_input_grad(x);
    check_close("nalgebra", nal.grad.as_slice(), &want);
    assert!((lp - want_lp).abs() <= LOG_PROB_ATOL, "nalgebra log p: got {lp} want {want_lp}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_images_look_like_mnist() {
        let xs = synthetic_images(1000);
        let mean = xs.iter().map(|x| nonzero_fraction(x)).sum::<f64>() / xs.len() as f64;
        assert!((0.15..=0.23).contains(&mean), "nonzero fraction {mean}");
        assert!(xs.iter().flatten().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn about_half_of_the_hidden_units_are_active() {
        let p = random_params::<64>(MODEL_SEED);
        let (xs, _) = images(200);
        let mean = xs.iter().map(|x| active_fraction(&p, x)).sum::<f64>() / xs.len() as f64;
        assert!((0.4..=0.6).contains(&mean), "active fraction {mean}");
    }

    #[test]
    fn baselines_agree_with_the_kernel() {
        let p = random_params::<32>(MODEL_SEED);
        for x in images(20).0 {
            check_baselines_agree(&p, &x);
        }
    }

    #[test]
    fn flop_count_matches_the_issue() {
        assert_eq!(forward_input_grad_flops(64), 203_264);
    }
}
