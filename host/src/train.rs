//! Deterministic, data-parallel mini-batch training of any network with cross-entropy.
//!
//! Each mini-batch is cut into [`SHARDS`] contiguous slices. Every slice accumulates
//! `Σ ∇θ CE` of its examples into its own gradient buffer with the kernel's
//! [`NetworkClassifier::accumulate_parameter_gradient`](nudge_core::network::NetworkClassifier::accumulate_parameter_gradient)
//! (the objective `Untargeted { true_class: label }` *is* the cross-entropy); the slices run
//! on up to [`SHARDS`] threads. The buffers are then summed element-wise in slice order `g₀ + g₁`, so the result
//! does not depend on thread count or timing: the same seed gives byte-identical weights on
//! the same machine.
//!
//! Updates (`g` = batch-mean gradient, `η` = learning rate after the schedule, `λ` = weight
//! decay, decoupled as in AdamW, Loshchilov & Hutter 2019):
//! * Adam (Kingma & Ba 2015): `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
//!   `θ ← θ − ηλθ − η·m̂/(√v̂ + ε)` with bias-corrected `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`.
//! * SGD with momentum `μ`: `b ← μb + g`, `θ ← θ − ηλθ − ηb`.
//!
//! Adversarial training ([`Adversarial`], optional): every example of a mini-batch is
//! replaced by an adversarial example made against the current weights with nudge-core's
//! attacks, inside the shard that owns it (so in parallel, and deterministically: the random
//! start of example `i` at step `t` is seeded from `(seed, t, i)`), and the step minimises the
//! cross-entropy on those (Madry et al., 2018): `min_θ E max_{‖δ‖∞≤ε} CE(f(x + δ), y)`. The
//! inner maximisation is PGD-k with a random start and `α = 2.5ε/k`, or FGSM with a random
//! start and `α = 1.25ε` ("fast is better than free", Wong et al., 2020). ε ramps up linearly
//! over the first `warmup` epochs: at full ε from the first step, the network collapses to
//! the uniform prediction (measured: the loss stays at ln 10).
//!
//! Initialisation is PyTorch's `nn.Linear`/`nn.Conv2d` default, `U(−1/√fan_in, 1/√fan_in)`
//! for weights and biases ([`Model::init`]), drawn from the kernel's SplitMix64. Augmentation (optional) shifts each image
//! by a random whole number of pixels in each direction, drawn from the same seeded stream.

use std::time::Instant;

use nudge_core::attack::AttackScratch;
use nudge_core::network::NetworkWorkspace;
use nudge_core::rng::SplitMix64;
use nudge_core::{Attack, EarlyStop, Goal, Network, Objective, PgdLinf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use crate::MAX_CLASSES;
use crate::arch::Arch;
use crate::data::Split;
use crate::error::{Error, Result};
use crate::model::Model;
use nudge_core::Shape;

/// Slices per mini-batch (fixed, so results do not depend on the number of threads).
pub const SHARDS: usize = 4;

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// Adam with β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    Adam,
    /// Stochastic gradient descent with this momentum (0 for plain SGD).
    Sgd {
        /// Momentum μ in `[0, 1)`.
        momentum: f32,
    },
}

/// How the learning rate changes over training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The same rate throughout.
    Constant,
    /// Cosine decay from the rate to 0 over all steps: `η·(1 + cos(π·t/T))/2`.
    Cosine,
}

/// The inner maximisation of adversarial training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdversarialMethod {
    /// PGD L∞ with this many steps of `α = 2.5ε/steps`, from a random start (Madry et al.).
    Pgd {
        /// Steps per example.
        steps: u32,
    },
    /// One signed step of `α = 1.25ε` from a random start, projected (Wong et al., 2020).
    FgsmRandomStart,
}

/// Adversarial training settings (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adversarial {
    /// How each example is perturbed.
    pub method: AdversarialMethod,
    /// L∞ budget ε (pixels in `[0, 1]`).
    pub eps: f32,
    /// Epochs over which ε ramps up linearly from `ε/warmup` (0: full ε at once).
    pub warmup: u32,
}

impl Adversarial {
    /// Checks ranges; the error names the command-line flag.
    pub fn validate(&self) -> Result<()> {
        if !(self.eps > 0.0 && self.eps <= 1.0) {
            return Err(Error::argument("--eps", "must be in (0, 1] for adversarial training"));
        }
        if let AdversarialMethod::Pgd { steps: 0 } = self.method {
            return Err(Error::argument("--pgd-steps", "must be ≥ 1"));
        }
        Ok(())
    }

    /// ε during `epoch` (from 1).
    pub fn eps_at(&self, epoch: u32) -> f32 {
        if self.warmup == 0 {
            self.eps
        } else {
            self.eps * (epoch as f32 / self.warmup as f32).min(1.0)
        }
    }

    /// The attack that perturbs an example at budget `eps`, with random start `seed`.
    pub fn attack(&self, eps: f32, seed: u64) -> PgdLinf {
        let (alpha, steps) = match self.method {
            AdversarialMethod::Pgd { steps } => (2.5 * eps / steps as f32, steps),
            AdversarialMethod::FgsmRandomStart => (1.25 * eps, 1),
        };
        PgdLinf {
            random_start: Some(seed),
            early_stop: EarlyStop::Never,
            ..PgdLinf::new(eps, alpha, steps)
        }
    }

    /// A one-line description for model metadata.
    pub fn recipe(&self) -> String {
        let method = match self.method {
            AdversarialMethod::Pgd { steps } => format!("pgd-{steps}"),
            AdversarialMethod::FgsmRandomStart => "fgsm-rs".to_string(),
        };
        format!("adversarial={method} eps={} warmup={}", self.eps, self.warmup)
    }
}

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training examples.
    pub epochs: u32,
    /// Examples per mini-batch.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f32,
    /// Update rule.
    pub optimizer: Optimizer,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Decoupled weight decay λ (0 = none).
    pub weight_decay: f32,
    /// Largest random shift in pixels for augmentation (0 = none).
    pub shift: u8,
    /// Seed of every random choice (initialisation, shuffling, augmentation).
    pub seed: u64,
    /// Examples held out from the end of the training data for validation.
    pub validation: usize,
}

impl TrainConfig {
    /// Checks ranges; the error names the command-line flag.
    pub fn validate(&self, examples: usize) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::argument("--epochs", "must be ≥ 1"));
        }
        if self.batch == 0 {
            return Err(Error::argument("--batch", "must be ≥ 1"));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::argument("--lr", "must be finite and > 0"));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(Error::argument("--weight-decay", "must be finite and ≥ 0"));
        }
        if let Optimizer::Sgd { momentum } = self.optimizer
            && !(0.0..1.0).contains(&momentum)
        {
            return Err(Error::argument("--momentum", "must be in [0, 1)"));
        }
        if self.shift > 4 {
            return Err(Error::argument("--shift", "must be at most 4 pixels"));
        }
        if self.validation >= examples {
            return Err(Error::argument(
                "--validation",
                format!("{} leaves no training examples (there are {examples})", self.validation),
            ));
        }
        Ok(())
    }

    /// A one-line description for model metadata.
    pub fn recipe(&self) -> String {
        let opt = match self.optimizer {
            Optimizer::Adam => "adam".to_string(),
            Optimizer::Sgd { momentum } => format!("sgd(momentum={momentum})"),
        };
        let sched = match self.schedule {
            Schedule::Constant => "constant",
            Schedule::Cosine => "cosine",
        };
        format!(
            "{opt} lr={} schedule={sched} weight_decay={} batch={} epochs={} shift={} validation={}",
            self.lr, self.weight_decay, self.batch, self.epochs, self.shift, self.validation
        )
    }
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochStats {
    /// Epoch number, from 1.
    pub epoch: u32,
    /// Mean cross-entropy over the epoch's (augmented) training examples.
    pub loss: f64,
    /// Accuracy on those examples, as predicted before each update.
    pub train_accuracy: f64,
    /// Accuracy on the validation examples after the epoch.
    pub val_accuracy: f64,
    /// Learning rate at the epoch's last step.
    pub lr: f32,
    /// Wall time since training started, in seconds.
    pub seconds: f64,
}

/// Per-slice state: a gradient buffer, a workspace and running sums.
struct Shard {
    grad: Vec<f32>,
    ws: NetworkWorkspace<Vec<f32>, MAX_CLASSES>,
    loss: f64,
    correct: usize,
    error: Option<nudge_core::Error>,
}

impl Shard {
    fn new(network: &Network<'_>) -> Self {
        Shard {
            grad: vec![0.0; network.param_count()],
            ws: NetworkWorkspace::new(network),
            loss: 0.0,
            correct: 0,
            error: None,
        }
    }
}

/// Draws from `rng` an integer uniform on `0..n` (multiply-shift; `n` < 2³²).
fn below(rng: &mut SplitMix64, n: usize) -> usize {
    (((rng.next_u64() >> 32) * n as u64) >> 32) as usize
}

/// Input `x` of `shape` shifted by `(dx, dy)` pixels (right, down) in every channel,
/// zero-filled, written to `out` (as long as `x`).
pub fn shifted_input(x: &[f32], shape: Shape, dx: i8, dy: i8, out: &mut [f32]) {
    out.fill(0.0);
    let (h, w) = (shape.height, shape.width);
    let (dx, dy) = (isize::from(dx), isize::from(dy));
    for (plane_in, plane_out) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(h * w)) {
        for (r, row_out) in plane_out.chunks_exact_mut(w).enumerate() {
            let Some(row_in) =
                r.checked_add_signed(-dy).and_then(|sr| plane_in.get(sr * w..(sr + 1) * w))
            else {
                continue;
            };
            for (c, v) in row_out.iter_mut().enumerate() {
                if let Some(&p) = c.checked_add_signed(-dx).and_then(|sc| row_in.get(sc)) {
                    *v = p;
                }
            }
        }
    }
}

/// Trains a network of architecture `arch` on `data` (the last `cfg.validation` examples
/// held out).
/// `on_batch(done, total)` is called after each step, `on_epoch` after each epoch, both on
/// the calling thread.
///
/// The shards run on `min(SHARDS, rayon::current_num_threads())` threads: the caller and
/// scoped helpers that spin-wait for the next mini-batch. (Parking and waking a thread per
/// mini-batch, as a fork-join pool does, cost more than the work itself on a 2-core VM.)
/// Threads *claim* shards from a per-batch counter, so a helper that the OS has descheduled
/// (a busy machine) delays nothing: the caller runs the unclaimed shards itself. Shard `s`
/// always covers the same examples and writes buffer `s`, so who ran it does not matter.
pub fn train(
    data: &Split,
    arch: &Arch,
    cfg: &TrainConfig,
    on_batch: &mut dyn FnMut(u64, u64),
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<(Model, Vec<EpochStats>)> {
    train_robust(data, arch, cfg, None, on_batch, on_epoch)
}

/// [`train`], optionally on adversarial examples (see the [module docs](self)). With
/// `adversarial`, [`EpochStats::loss`] and [`EpochStats::train_accuracy`] are measured on the
/// adversarial examples; validation stays clean.
pub fn train_robust(
    data: &Split,
    arch: &Arch,
    cfg: &TrainConfig,
    adversarial: Option<Adversarial>,
    on_batch: &mut dyn FnMut(u64, u64),
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<(Model, Vec<EpochStats>)> {
    cfg.validate(data.len())?;
    if let Some(a) = &adversarial {
        a.validate()?;
    }
    let n_train = data.len() - cfg.validation;
    let (train_set, val_set) = data.split_at(n_train);
    let start = Instant::now();
    let mut rng = SplitMix64::new(cfg.seed);
    let model = Model::init(arch, &mut rng)?;
    crate::model::check_data(&model.classifier("--arch")?, data, "--arch")?;
    let network = model.network()?;
    let shards = (0..SHARDS).map(|_| Mutex::new(Shard::new(&network))).collect();
    drop(network);
    let threads = rayon::current_num_threads().clamp(1, SHARDS);
    let shared = Shared {
        params: RwLock::new(model),
        job: Mutex::new(Vec::new()),
        shards,
        generation: AtomicU64::new(0),
        claim: AtomicU64::new(0),
        finished: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        adversarial,
        eps_bits: AtomicU32::new(0),
        seed: cfg.seed,
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            let (shared, train_set) = (&shared, &train_set);
            scope.spawn(move || helper(shared, train_set));
        }
        let result =
            run_epochs(&shared, &train_set, &val_set, cfg, &mut rng, start, on_batch, on_epoch);
        shared.stop.store(true, Ordering::Release);
        result
    })
    .map(|history| (shared.params.into_inner().unwrap_or_else(PoisonError::into_inner), history))
}

/// State shared by the caller and the helper threads.
struct Shared {
    /// Read by every shard during a step, written by the caller between steps.
    params: RwLock<Model>,
    /// The current mini-batch: (example index, shift x, shift y).
    job: Mutex<Vec<(usize, i8, i8)>>,
    shards: Vec<Mutex<Shard>>,
    /// Incremented by the caller when a mini-batch is ready.
    generation: AtomicU64,
    /// `generation << 8 | next unclaimed shard` of the current mini-batch.
    claim: AtomicU64,
    /// Shards completed, over all mini-batches.
    finished: AtomicU64,
    /// Set when training ends (or fails).
    stop: AtomicBool,
    /// Adversarial training, if any.
    adversarial: Option<Adversarial>,
    /// The current epoch's ε (f32 bits), set by the caller before each epoch.
    eps_bits: AtomicU32,
    /// The training seed (random starts derive from it).
    seed: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Spins (then yields) until `ready` returns `Some`.
fn wait_for<T>(mut ready: impl FnMut() -> Option<T>) -> T {
    let mut spins = 0u32;
    loop {
        if let Some(v) = ready() {
            return v;
        }
        spins = spins.saturating_add(1);
        if spins < 1 << 14 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// A helper thread: claims and runs shards of every mini-batch until training stops.
fn helper(shared: &Shared, train_set: &Split) {
    let mut seen = 0;
    loop {
        let generation = wait_for(|| {
            let g = shared.generation.load(Ordering::Acquire);
            (g != seen || shared.stop.load(Ordering::Acquire)).then_some(g)
        });
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        seen = generation;
        run_claimed(shared, train_set, generation);
    }
}

/// Claims the next unclaimed shard of mini-batch `generation`, if any.
fn claim_shard(shared: &Shared, generation: u64) -> Option<usize> {
    shared
        .claim
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
            (c >> 8 == generation && ((c & 0xff) as usize) < SHARDS).then_some(c + 1)
        })
        .ok()
        .map(|c| (c & 0xff) as usize)
}

/// Claims and runs shards of mini-batch `generation` until none is left.
fn run_claimed(shared: &Shared, train_set: &Split, generation: u64) {
    while let Some(s) = claim_shard(shared, generation) {
        run_shard(shared, train_set, s);
        shared.finished.fetch_add(1, Ordering::AcqRel);
    }
}

/// Runs shard `s` of the current mini-batch.
fn run_shard(shared: &Shared, train_set: &Split, s: usize) {
    let params = shared.params.read().unwrap_or_else(PoisonError::into_inner);
    let model = match Network::new(params.input(), params.layers(), params.params())
        .and_then(|n| n.classifier::<Vec<f32>, MAX_CLASSES>())
    {
        Ok(model) => model,
        Err(e) => {
            lock(&shared.shards[s]).error.get_or_insert(e);
            return;
        }
    };
    // A copy, so that the shards do not hold the lock while they work.
    let job = lock(&shared.job).clone();
    let per = job.len().div_ceil(SHARDS);
    {
        let mut shard = lock(&shared.shards[s]);
        let shard = &mut *shard;
        shard.grad.fill(0.0);
        shard.loss = 0.0;
        shard.correct = 0;
        let lo = (s * per).min(job.len());
        let hi = ((s + 1) * per).min(job.len());
        let mut x = vec![0.0f32; train_set.input_len()];
        let mut adv = vec![0.0f32; train_set.input_len()];
        let mut scratch =
            shared.adversarial.map(|_| AttackScratch::<_, Vec<f32>>::for_model(&model));
        let eps = f32::from_bits(shared.eps_bits.load(Ordering::Acquire));
        let generation = shared.generation.load(Ordering::Acquire);
        for &(i, dx, dy) in &job[lo..hi] {
            shifted_input(train_set.input(i).unwrap_or(&[]), train_set.shape, dx, dy, &mut x);
            let label = train_set.labels[i];
            if let (Some(a), Some(scratch)) = (&shared.adversarial, scratch.as_mut()) {
                let seed = shared.seed ^ (generation << 20) ^ (i as u64).wrapping_mul(0x9E37_79B9);
                let attack = a.attack(eps, seed);
                match attack.run(&model, &x, Goal::untargeted(label), &mut adv, scratch, &mut ()) {
                    Ok(_) => x.copy_from_slice(&adv),
                    Err(e) => {
                        shard.error.get_or_insert(e);
                        continue;
                    }
                }
            }
            match model.accumulate_parameter_gradient(
                &x,
                Objective::Untargeted { true_class: label },
                &mut shard.ws,
                &mut shard.grad,
            ) {
                Ok(eval) => {
                    shard.loss += f64::from(eval.objective);
                    shard.correct += usize::from(eval.prediction.class == label);
                }
                Err(e) => {
                    shard.error.get_or_insert(e);
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run_epochs(
    shared: &Shared,
    train_set: &Split,
    val_set: &Split,
    cfg: &TrainConfig,
    rng: &mut SplitMix64,
    start: Instant,
    on_batch: &mut dyn FnMut(u64, u64),
    on_epoch: &mut dyn FnMut(&EpochStats),
) -> Result<Vec<EpochStats>> {
    let n_train = train_set.len();
    let len = shared.params.read().unwrap_or_else(PoisonError::into_inner).params().len();
    let mut m = vec![0.0f32; len];
    let mut v = vec![0.0f32; len];
    let mut g = vec![0.0f32; len];
    let steps_per_epoch = n_train.div_ceil(cfg.batch) as u64;
    let total_steps = steps_per_epoch * u64::from(cfg.epochs);
    let mut order: Vec<usize> = (0..n_train).collect();
    let mut shifts: Vec<(i8, i8)> = vec![(0, 0); n_train];
    let mut step: u64 = 0;
    let mut history = Vec::new();
    let (mut beta1_t, mut beta2_t) = (1.0f64, 1.0f64);
    let mut lr = cfg.lr;
    let mut generation: u64 = 0;

    for epoch in 1..=cfg.epochs {
        for i in (1..n_train).rev() {
            order.swap(i, below(rng, i + 1));
        }
        if cfg.shift > 0 {
            let span = 2 * usize::from(cfg.shift) + 1;
            let s = i8::try_from(cfg.shift).unwrap_or(0);
            for d in &mut shifts {
                *d = (below(rng, span) as i8 - s, below(rng, span) as i8 - s);
            }
        }
        if let Some(a) = &shared.adversarial {
            shared.eps_bits.store(a.eps_at(epoch).to_bits(), Ordering::Release);
        }
        let (mut epoch_loss, mut epoch_correct) = (0.0f64, 0usize);
        for batch in order.chunks(cfg.batch) {
            {
                let mut job = lock(&shared.job);
                job.clear();
                job.extend(batch.iter().map(|&i| (i, shifts[i].0, shifts[i].1)));
            }
            generation += 1;
            shared.claim.store(generation << 8, Ordering::Release);
            shared.generation.store(generation, Ordering::Release);
            run_claimed(shared, train_set, generation);
            let all = generation * SHARDS as u64;
            wait_for(|| (shared.finished.load(Ordering::Acquire) >= all).then_some(()));
            let shards: Vec<_> = shared.shards.iter().map(lock).collect();
            for shard in &shards {
                if let Some(e) = shard.error {
                    return Err(Error::kernel(format!("training step {step}"), e));
                }
                epoch_loss += shard.loss;
                epoch_correct += shard.correct;
            }
            lr = match cfg.schedule {
                Schedule::Constant => cfg.lr,
                Schedule::Cosine => {
                    let t = step as f64 / total_steps as f64;
                    (f64::from(cfg.lr) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())) as f32
                }
            };
            step += 1;
            beta1_t *= 0.9;
            beta2_t *= 0.999;
            let update = Update {
                optimizer: cfg.optimizer,
                lr,
                decay: lr * cfg.weight_decay,
                scale: 1.0 / batch.len() as f32,
                c1: (1.0 - beta1_t) as f32,
                c2: (1.0 - beta2_t) as f32,
            };
            let grads: Vec<&[f32]> = shards.iter().map(|s| s.grad.as_slice()).collect();
            let mut params = shared.params.write().unwrap_or_else(PoisonError::into_inner);
            apply(params.params_mut(), &mut m, &mut v, &mut g, &grads, &update);
            drop(params);
            drop(shards);
            on_batch(step, total_steps);
        }
        let params = shared.params.read().unwrap_or_else(PoisonError::into_inner);
        if params.network().is_err() {
            return Err(Error::argument(
                "--lr",
                format!(
                    "training diverged in epoch {epoch} (weights became non-finite); try a smaller rate"
                ),
            ));
        }
        let scores =
            crate::model::evaluate(&params.classifier("validation")?, val_set, "validation")?;
        drop(params);
        let stats = EpochStats {
            epoch,
            loss: epoch_loss / n_train as f64,
            train_accuracy: epoch_correct as f64 / n_train as f64,
            val_accuracy: scores.accuracy(),
            lr,
            seconds: start.elapsed().as_secs_f64(),
        };
        on_epoch(&stats);
        history.push(stats);
    }
    Ok(history)
}

/// One step's constants.
struct Update {
    optimizer: Optimizer,
    lr: f32,
    decay: f32,
    scale: f32,
    c1: f32,
    c2: f32,
}

/// Sums the shard gradients in shard order (`(0 + g₀) + g₁ + …`, then `× 1/batch`) and
/// applies the update, element by element. Written as straight zips over slices, with the
/// optimizer chosen outside the loops, so that the compiler vectorises both passes.
fn apply(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &mut [f32], grads: &[&[f32]], u: &Update) {
    g.fill(0.0);
    for shard in grads {
        for (gi, &si) in g.iter_mut().zip(*shard) {
            *gi += si;
        }
    }
    for gi in g.iter_mut() {
        *gi *= u.scale;
    }
    match u.optimizer {
        Optimizer::Adam => {
            for (((w, m), v), &g) in p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g.iter())
            {
                *m = 0.9 * *m + 0.1 * g;
                *v = 0.999 * *v + 0.001 * g * g;
                let m_hat = *m / u.c1;
                let v_hat = *v / u.c2;
                *w = *w - u.decay * *w - u.lr * m_hat / (v_hat.sqrt() + 1e-8);
            }
        }
        Optimizer::Sgd { momentum } => {
            for ((w, b), &g) in p.iter_mut().zip(m.iter_mut()).zip(g.iter()) {
                *b = momentum * *b + g;
                *w = *w - u.decay * *w - u.lr * *b;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_moves_pixels_and_fills_zeros() {
        let mnist = Shape::new(1, 28, 28);
        let mut img = [0.0f32; 784];
        img[0] = 1.0;
        let mut out = [0.0; 784];
        shifted_input(&img, mnist, 1, 2, &mut out);
        assert_eq!(out[2 * 28 + 1], 1.0);
        assert_eq!(out.iter().filter(|&&v| v != 0.0).count(), 1);
        shifted_input(&img, mnist, -1, 0, &mut out);
        assert!(out.iter().all(|&v| v == 0.0));
        // Two channels of 3×5: each plane shifts on its own.
        let x: Vec<f32> = (1..=30).map(|v| v as f32).collect();
        let mut out = vec![0.0; 30];
        shifted_input(&x, Shape::new(2, 3, 5), -1, 1, &mut out);
        assert_eq!(&out[..5], &[0.0; 5]);
        assert_eq!(&out[5..10], &[2.0, 3.0, 4.0, 5.0, 0.0]);
        assert_eq!(&out[20..25], &[17.0, 18.0, 19.0, 20.0, 0.0]);
    }

    #[test]
    fn adversarial_eps_ramps_up_and_steps_follow_the_recipes() {
        let a = Adversarial { method: AdversarialMethod::Pgd { steps: 10 }, eps: 0.1, warmup: 4 };
        a.validate().unwrap();
        let eps: Vec<f32> = (1..=6).map(|e| a.eps_at(e)).collect();
        assert_eq!(eps, [0.025, 0.05, 0.075, 0.1, 0.1, 0.1]);
        let pgd = a.attack(0.1, 7);
        assert_eq!((pgd.iterations, pgd.random_start), (10, Some(7)));
        assert!((pgd.alpha - 0.025).abs() < 1e-7);
        let fast = Adversarial { method: AdversarialMethod::FgsmRandomStart, warmup: 0, ..a };
        assert_eq!(fast.eps_at(1), 0.1);
        let f = fast.attack(0.1, 1);
        assert!(f.iterations == 1 && (f.alpha - 0.125).abs() < 1e-7);
        let bad = Adversarial { eps: 0.0, ..a };
        assert!(bad.validate().unwrap_err().to_string().starts_with("--eps"));
        let bad = Adversarial { method: AdversarialMethod::Pgd { steps: 0 }, ..a };
        assert!(bad.validate().unwrap_err().to_string().starts_with("--pgd-steps"));
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SplitMix64::new(1);
        assert!((0..1000).all(|_| below(&mut rng, 7) < 7));
    }
}
